//! The calls Assets Cloud and Data Center spell alike (same path, same body, same answer), each
//! written once over [`Core`] and called by both implementations of
//! [`super::AssetsApi`]: schemas, status and reference types, icons, object types, attributes,
//! objects and their history, and the Jira issue calls that differ only by the REST version
//! (`jira` is `/rest/api/3` on Cloud, `/rest/api/2` on Data Center).
//!
//! They are free functions, not `Core` methods, because the clients deref to `Core` and a
//! method of the same name as the trait's would be shadowed by it inside the trait impls.

use reqwest::Method;

use super::calls::{query, seg};
use super::http::{Mode, Request, Target};
use super::{Core, Error};
use crate::model::{
    AttributeIn, Group, GroupPicker, HistoryEntry, Icon, Issue, IssueEdit, JiraField, Object,
    ObjectIn, ObjectSchema, ObjectSchemaIn, ObjectType, ObjectTypeAttribute, ObjectTypeIn,
    ObjectTypePosition, ObjectTypeUpdate, ReferenceType, ReferenceTypeIn, StatusType, StatusTypeIn,
};

const STATUS_TYPES: &str = "/config/statustype";
const REFERENCE_TYPES: &str = "/config/referencetype";

/// A write whose answer is not read and which is safe to repeat (the same body twice gives
/// the same state), so retried like a read.
async fn idempotent(
    core: &Core,
    method: Method,
    target: Target,
    path: &str,
    body: &(dyn super::calls::ErasedBody + Sync),
) -> Result<(), Error> {
    core.send(method, target, path, Some(body), Mode::Idempotent)
        .await
        .map(drop)
}

/// A GET whose answer is bytes, not JSON (icons, attachment downloads), spooled into `spool`
/// as it streams when given.
fn bytes_get<'a>(target: Target, path: &'a str, spool: Option<&'a std::path::Path>) -> Request<'a> {
    Request {
        method: Method::GET,
        target,
        path,
        body: None,
        mode: Mode::Idempotent,
        accept: "*/*",
        content_type: None,
        spool,
    }
}

/// A GET whose answer is bytes, not JSON (icons, attachment downloads).
pub(super) async fn raw_get(core: &Core, target: Target, path: &str) -> Result<Vec<u8>, Error> {
    let req = bytes_get(target, path, None);
    Ok(core.transport().send(&req).await?.to_vec())
}

/// [`raw_get`] with the body spooled into `dir` as it streams (see [`super::Download`]).
pub(super) async fn spooled_get(
    core: &Core,
    target: Target,
    path: &str,
    dir: &std::path::Path,
) -> Result<super::Download, Error> {
    let req = bytes_get(target, path, Some(dir));
    core.transport().download(&req).await
}

pub(super) async fn get_schema(core: &Core, id: &str) -> Result<ObjectSchema, Error> {
    core.get(&format!("/objectschema/{}", seg(id)), "an object schema")
        .await
}

pub(super) async fn create_schema(
    core: &Core,
    body: &ObjectSchemaIn,
) -> Result<ObjectSchema, Error> {
    core.create("/objectschema/create", body, "the created schema")
        .await
}

pub(super) async fn list_status_types(
    core: &Core,
    schema: Option<&str>,
) -> Result<Vec<StatusType>, Error> {
    let path = match schema {
        None => STATUS_TYPES.to_owned(),
        Some(s) => format!("{STATUS_TYPES}?{}", query([("objectSchemaId", s)])),
    };
    core.get(&path, "a list of status types").await
}

pub(super) async fn create_status_type(
    core: &Core,
    body: &StatusTypeIn,
) -> Result<StatusType, Error> {
    core.create(STATUS_TYPES, body, "the created status type")
        .await
}

pub(super) async fn list_reference_types(
    core: &Core,
    schema: Option<&str>,
    include_global: bool,
) -> Result<Vec<ReferenceType>, Error> {
    let path = match (schema, include_global) {
        (None, _) => REFERENCE_TYPES.to_owned(),
        (Some(s), false) => format!("{REFERENCE_TYPES}?{}", query([("objectSchemaId", s)])),
        (Some(s), true) => format!(
            "{REFERENCE_TYPES}?{}",
            query([("objectSchemaId", s), ("includeAll", "true")])
        ),
    };
    core.get(&path, "a list of reference types").await
}

pub(super) async fn create_reference_type(
    core: &Core,
    body: &ReferenceTypeIn,
) -> Result<ReferenceType, Error> {
    core.create(REFERENCE_TYPES, body, "the created reference type")
        .await
}

pub(super) async fn global_icons(core: &Core) -> Result<Vec<Icon>, Error> {
    core.get("/icon/global", "a list of icons").await
}

pub(super) async fn get_icon(core: &Core, id: &str) -> Result<Icon, Error> {
    core.get(&format!("/icon/{}", seg(id)), "an icon").await
}

pub(super) async fn icon_png(core: &Core, id: &str, size: u32) -> Result<Vec<u8>, Error> {
    let path = format!("/icon/{}/icon.png?size={size}", seg(id));
    raw_get(core, Target::Assets, &path).await
}

pub(super) async fn list_object_types(core: &Core, schema: &str) -> Result<Vec<ObjectType>, Error> {
    let path = format!("/objectschema/{}/objecttypes/flat", seg(schema));
    core.get(&path, "a list of object types").await
}

pub(super) async fn create_object_type(
    core: &Core,
    body: &ObjectTypeIn,
) -> Result<ObjectType, Error> {
    core.create("/objecttype/create", body, "the created object type")
        .await
}

/// Setting a position twice gives the same tree: retried like a read.
pub(super) async fn move_object_type(
    core: &Core,
    id: &str,
    body: &ObjectTypePosition,
) -> Result<(), Error> {
    let path = format!("/objecttype/{}/position", seg(id));
    idempotent(core, Method::POST, Target::Assets, &path, body).await
}

pub(super) async fn update_object_type(
    core: &Core,
    id: &str,
    body: &ObjectTypeUpdate,
) -> Result<(), Error> {
    let path = format!("/objecttype/{}", seg(id));
    idempotent(core, Method::PUT, Target::Assets, &path, body).await
}

pub(super) async fn list_attributes(
    core: &Core,
    object_type: &str,
) -> Result<Vec<ObjectTypeAttribute>, Error> {
    let path = format!(
        "/objecttype/{}/attributes?excludeParentAttributes=true",
        seg(object_type)
    );
    core.get(&path, "a list of attributes").await
}

pub(super) async fn create_attribute(
    core: &Core,
    object_type: &str,
    body: &AttributeIn,
) -> Result<ObjectTypeAttribute, Error> {
    let path = format!("/objecttypeattribute/{}", seg(object_type));
    core.create(&path, body, "the created attribute").await
}

pub(super) async fn update_attribute(
    core: &Core,
    object_type: &str,
    id: &str,
    body: &AttributeIn,
) -> Result<(), Error> {
    let path = format!("/objecttypeattribute/{}/{}", seg(object_type), seg(id));
    idempotent(core, Method::PUT, Target::Assets, &path, body).await
}

pub(super) async fn get_object(core: &Core, id: &str) -> Result<Object, Error> {
    core.get(&format!("/object/{}", seg(id)), "an object").await
}

pub(super) async fn create_object(core: &Core, body: &ObjectIn) -> Result<Object, Error> {
    core.create("/object/create", body, "the created object")
        .await
}

pub(super) async fn update_object(core: &Core, id: &str, body: &ObjectIn) -> Result<(), Error> {
    let path = format!("/object/{}", seg(id));
    idempotent(core, Method::PUT, Target::Assets, &path, body).await
}

pub(super) async fn object_history(core: &Core, id: &str) -> Result<Vec<HistoryEntry>, Error> {
    let path = format!("/object/{}/history?asc=true", seg(id));
    core.get(&path, "a list of history entries").await
}

/// Groups whose name contains `q`, through Jira's picker.
pub(super) async fn pick_groups(
    core: &Core,
    jira: &str,
    q: &str,
    max: usize,
) -> Result<Vec<Group>, Error> {
    let max = max.to_string();
    let path = format!(
        "{jira}/groups/picker?{}",
        query([("query", q), ("maxResults", max.as_str())])
    );
    let picked: GroupPicker = core.jira_get(&path, "a group picker result").await?;
    Ok(picked.groups)
}

pub(super) async fn fields(core: &Core, jira: &str) -> Result<Vec<JiraField>, Error> {
    core.jira_get(&format!("{jira}/field"), "a list of fields")
        .await
}

pub(super) async fn get_issue(
    core: &Core,
    jira: &str,
    key: &str,
    fields: &[String],
) -> Result<Issue, Error> {
    let fields = fields.join(",");
    let path = format!(
        "{jira}/issue/{}?{}",
        seg(key),
        query([("fields", fields.as_str())])
    );
    core.jira_get(&path, "an issue").await
}

pub(super) async fn edit_issue(
    core: &Core,
    jira: &str,
    key: &str,
    body: &IssueEdit,
) -> Result<(), Error> {
    let path = format!("{jira}/issue/{}", seg(key));
    idempotent(core, Method::PUT, Target::Jira, &path, body).await
}

/// The [`super::AssetsApi`] impl of a client: the methods both products answer alike (each
/// delegating to this module, so each is written once) and the client's own methods, given as
/// `{ ... }`, in one `#[async_trait]` impl. `jira` is the client's Jira REST prefix.
macro_rules! impl_assets_api {
    ($client:ty, jira = $jira:expr, { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl $crate::assets::AssetsApi for $client {
            fn site_name(&self) -> &str {
                &self.site().name
            }

            fn max_concurrency(&self) -> usize {
                self.site().limits.max_concurrency.max(1)
            }

            async fn get_schema(&self, id: &str) -> Result<$crate::model::ObjectSchema, $crate::assets::Error> {
                $crate::assets::common::get_schema(self, id).await
            }

            async fn create_schema(&self, body: &$crate::model::ObjectSchemaIn) -> Result<$crate::model::ObjectSchema, $crate::assets::Error> {
                $crate::assets::common::create_schema(self, body).await
            }

            async fn list_status_types(&self, schema: Option<&str>) -> Result<Vec<$crate::model::StatusType>, $crate::assets::Error> {
                $crate::assets::common::list_status_types(self, schema).await
            }

            async fn create_status_type(&self, body: &$crate::model::StatusTypeIn) -> Result<$crate::model::StatusType, $crate::assets::Error> {
                $crate::assets::common::create_status_type(self, body).await
            }

            async fn list_reference_types(&self, schema: Option<&str>, include_global: bool) -> Result<Vec<$crate::model::ReferenceType>, $crate::assets::Error> {
                $crate::assets::common::list_reference_types(self, schema, include_global).await
            }

            async fn create_reference_type(&self, body: &$crate::model::ReferenceTypeIn) -> Result<$crate::model::ReferenceType, $crate::assets::Error> {
                $crate::assets::common::create_reference_type(self, body).await
            }

            async fn global_icons(&self) -> Result<Vec<$crate::model::Icon>, $crate::assets::Error> {
                $crate::assets::common::global_icons(self).await
            }

            async fn get_icon(&self, id: &str) -> Result<$crate::model::Icon, $crate::assets::Error> {
                $crate::assets::common::get_icon(self, id).await
            }

            async fn icon_png(&self, id: &str, size: u32) -> Result<Vec<u8>, $crate::assets::Error> {
                $crate::assets::common::icon_png(self, id, size).await
            }

            async fn list_object_types(&self, schema: &str) -> Result<Vec<$crate::model::ObjectType>, $crate::assets::Error> {
                $crate::assets::common::list_object_types(self, schema).await
            }

            async fn create_object_type(&self, body: &$crate::model::ObjectTypeIn) -> Result<$crate::model::ObjectType, $crate::assets::Error> {
                $crate::assets::common::create_object_type(self, body).await
            }

            async fn move_object_type(&self, id: &str, body: &$crate::model::ObjectTypePosition) -> Result<(), $crate::assets::Error> {
                $crate::assets::common::move_object_type(self, id, body).await
            }

            async fn update_object_type(&self, id: &str, body: &$crate::model::ObjectTypeUpdate) -> Result<(), $crate::assets::Error> {
                $crate::assets::common::update_object_type(self, id, body).await
            }

            async fn list_attributes(&self, object_type: &str) -> Result<Vec<$crate::model::ObjectTypeAttribute>, $crate::assets::Error> {
                $crate::assets::common::list_attributes(self, object_type).await
            }

            async fn create_attribute(&self, object_type: &str, body: &$crate::model::AttributeIn) -> Result<$crate::model::ObjectTypeAttribute, $crate::assets::Error> {
                $crate::assets::common::create_attribute(self, object_type, body).await
            }

            async fn update_attribute(&self, object_type: &str, id: &str, body: &$crate::model::AttributeIn) -> Result<(), $crate::assets::Error> {
                $crate::assets::common::update_attribute(self, object_type, id, body).await
            }

            async fn get_object(&self, id: &str) -> Result<$crate::model::Object, $crate::assets::Error> {
                $crate::assets::common::get_object(self, id).await
            }

            async fn create_object(&self, body: &$crate::model::ObjectIn) -> Result<$crate::model::Object, $crate::assets::Error> {
                $crate::assets::common::create_object(self, body).await
            }

            async fn update_object(&self, id: &str, body: &$crate::model::ObjectIn) -> Result<(), $crate::assets::Error> {
                $crate::assets::common::update_object(self, id, body).await
            }

            async fn object_history(&self, id: &str) -> Result<Vec<$crate::model::HistoryEntry>, $crate::assets::Error> {
                $crate::assets::common::object_history(self, id).await
            }

            async fn pick_groups(&self, q: &str, max: usize) -> Result<Vec<$crate::model::Group>, $crate::assets::Error> {
                $crate::assets::common::pick_groups(self, $jira, q, max).await
            }

            async fn fields(&self) -> Result<Vec<$crate::model::JiraField>, $crate::assets::Error> {
                $crate::assets::common::fields(self, $jira).await
            }

            async fn get_issue(&self, key: &str, fields: &[String]) -> Result<$crate::model::Issue, $crate::assets::Error> {
                $crate::assets::common::get_issue(self, $jira, key, fields).await
            }

            async fn edit_issue(&self, key: &str, body: &$crate::model::IssueEdit) -> Result<(), $crate::assets::Error> {
                $crate::assets::common::edit_issue(self, $jira, key, body).await
            }

            $($own)*
        }
    };
}
pub(super) use impl_assets_api;
