//! Creating a named entity (schema, status type, reference type, object type, attribute)
//! exactly once. Creates are not idempotent, so the client sends them once; when it reports
//! [`assets::Error::Ambiguous`] (the request may or may not have been applied), the entity is
//! looked up on the target by its name (or, for a schema, its key) before the create is tried
//! again. Names are unique where these entities live, which makes the lookup exact.

use std::future::Future;

use crate::assets::{self, AssetsApi};
use crate::model::{Entity, Named};

/// Tries of one create that keep coming back ambiguous before giving up.
const AMBIGUOUS_TRIES: u32 = 8;

/// A list of named entities on the target.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listing<'b> {
    /// Global status types (`None`) or a schema's own.
    StatusTypes(Option<&'b str>),
    /// Global reference types (`None`) or a schema's own.
    ReferenceTypes(Option<&'b str>),
    /// A schema's object types.
    ObjectTypes(&'b str),
    /// An object type's own attributes.
    Attributes(&'b str),
}

/// How to find an entity on the target.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Finder<'b> {
    /// In `list`, the element whose name equals `name` (ignoring case and surrounding spaces,
    /// as Assets does for uniqueness).
    Named { list: Listing<'b>, name: &'b str },
    /// The schema with this key *and* this name (a schema that merely shares the key is
    /// somebody else's).
    Schema { key: &'b str, name: &'b str },
}

/// Whether two names are the same to Assets.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The id of the element of `list` named `name`.
pub(crate) fn id_by_name<'a, T: Named + 'a>(
    list: impl IntoIterator<Item = &'a T>,
    name: &str,
) -> Option<String> {
    list.into_iter()
        .find(|v| same_name(v.name(), name))
        .and_then(|v| v.id().non_empty())
        .map(str::to_owned)
}

impl Listing<'_> {
    /// Every element of the list as (name, id), in one request.
    pub async fn names(&self, api: &dyn AssetsApi) -> Result<Vec<(String, String)>, assets::Error> {
        fn pairs<T: Named>(list: Vec<T>) -> Vec<(String, String)> {
            list.iter()
                .filter_map(|v| {
                    let id = v.id().non_empty()?;
                    Some((v.name().to_owned(), id.to_owned()))
                })
                .collect()
        }
        Ok(match *self {
            Listing::StatusTypes(schema) => pairs(api.list_status_types(schema).await?),
            Listing::ReferenceTypes(schema) => {
                pairs(api.list_reference_types(schema, false).await?)
            }
            Listing::ObjectTypes(schema) => pairs(api.list_object_types(schema).await?),
            Listing::Attributes(object_type) => pairs(api.list_attributes(object_type).await?),
        })
    }
}

/// The id that `names` (as [`Listing::names`] returns them) holds for `name`.
pub(crate) fn id_in(names: &[(String, String)], name: &str) -> Option<String> {
    names
        .iter()
        .find(|(n, _)| same_name(n, name))
        .map(|(_, id)| id.clone())
}

impl Finder<'_> {
    /// Looks the entity up on the target.
    pub async fn find(&self, api: &dyn AssetsApi) -> Result<Option<String>, assets::Error> {
        match *self {
            Finder::Named { list, name } => Ok(id_in(&list.names(api).await?, name)),
            Finder::Schema { key, name } => Ok(api
                .list_schemas()
                .await?
                .iter()
                .find(|s| s.key() == key && same_name(s.name(), name))
                .and_then(|s| s.id.non_empty())
                .map(str::to_owned)),
        }
    }
}

/// What [`create_or_find`] ended with.
#[derive(Debug)]
pub(crate) enum Created<T> {
    /// Created now; the API's answer.
    New(T),
    /// An ambiguous create had been applied after all; its id.
    Found(String),
}

impl<T: Entity> Created<T> {
    /// The entity's id (the client checks that a create's answer has one).
    pub fn id(&self) -> String {
        match self {
            Created::New(v) => v.id().as_str().to_owned(),
            Created::Found(id) => id.clone(),
        }
    }
}

/// Runs `create` once; an ambiguous outcome is resolved with `finder` before trying again.
/// Other errors (a 4xx with the API's body, exhausted retries) are returned as they are.
pub(crate) async fn create_or_find<T, F, Fut>(
    api: &dyn AssetsApi,
    create: F,
    finder: Finder<'_>,
) -> Result<Created<T>, assets::Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, assets::Error>>,
{
    let mut tries = 0;
    loop {
        match create().await {
            Ok(v) => return Ok(Created::New(v)),
            Err(e @ assets::Error::Ambiguous { .. }) => {
                tracing::debug!(finder = ?finder, error = %crate::error::error_chain(&e), "Create was ambiguous; looking it up.");
                if let Some(id) = finder.find(api).await? {
                    return Ok(Created::Found(id));
                }
                tries += 1;
                if tries >= AMBIGUOUS_TRIES {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::StatusType;

    #[test]
    fn names_match_like_assets_uniqueness() {
        let list: Vec<StatusType> = serde_json::from_value(json!([
            {"id": "1", "name": "Active"},
            {"id": 2, "name": " In Repair "},
        ]))
        .unwrap();
        assert_eq!(id_by_name(&list, "active").as_deref(), Some("1"));
        assert_eq!(id_by_name(&list, "in repair").as_deref(), Some("2"));
        assert_eq!(id_by_name(&list, "Closed"), None);
    }
}
