//! A schema on another site that this store has no restore record of, matched by the
//! `ORIGINAL_ID`s its objects carry there (what any restore writes): one AQL scan gives
//! `ORIGINAL_ID` -> the object's id on the target, and the `ORIGINAL_KEY`s name the source
//! schema's key, by which the newest complete backup of it from the restored backup's site is
//! found in this store, if there is one: its reference attributes say what its objects
//! referenced (the task's inbound references). Object types and reference types of such a
//! schema are matched by the backup's ids in their descriptions (the `object-type-ids` task
//! writes them), else by name.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::super::{Ctx, Error};
use super::AQL_PAGE;
use crate::assets::AqlPager;
use crate::model::{Id, ObjectType, Scalar};
use crate::store::{Backup, BackupFilter, BackupId, BackupStatus, PageRequest, kind};

/// The attribute a restore gives every object: its id on the source.
const ORIGINAL_ID: &str = "ORIGINAL_ID";
/// The attribute holding its key there.
const ORIGINAL_KEY: &str = "ORIGINAL_KEY";

/// What the scan of such a schema found.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// `ORIGINAL_ID` -> the object's id on the target.
    pub ids: HashMap<String, String>,
    /// Source schema key (of the `ORIGINAL_KEY`s) -> how many objects name it.
    pub keys: BTreeMap<String, u64>,
}

/// Scans `schema` on the target (one AQL scan; the attributes are found by name in each
/// page's attribute definitions, or in a value's own definition where the site nests it).
pub(super) async fn scan(ctx: &Ctx<'_>, schema: &str) -> Result<Scan, Error> {
    let mut attrs: HashMap<String, &'static str> = HashMap::new();
    let mut out = Scan::default();
    let ql = format!("objectSchemaId = {schema}");
    let mut pager = AqlPager::new(ctx.target, &ql, AQL_PAGE);
    while let Some(page) = pager.next_page().await? {
        for a in &page.object_type_attributes {
            for name in [ORIGINAL_ID, ORIGINAL_KEY] {
                if a.name() == name {
                    attrs.insert(a.id.as_str().to_owned(), name);
                }
            }
        }
        for o in &page.values {
            let value = |name: &str| {
                o.attributes()
                    .iter()
                    .filter(|a| {
                        attrs.get(a.object_type_attribute_id.as_str()) == Some(&name)
                            || a.object_type_attribute
                                .get()
                                .is_some_and(|d| d.name() == name)
                    })
                    .find_map(|a| a.values().first()?.value.get().map(Scalar::to_text))
                    .filter(|t| !t.is_empty())
            };
            let Some(id) = o.id.non_empty() else { continue };
            if let Some(orig) = value(ORIGINAL_ID) {
                // Two objects with one ORIGINAL_ID: the first one listed is taken.
                out.ids.entry(orig).or_insert_with(|| id.to_owned());
            }
            if let Some((key, _)) = value(ORIGINAL_KEY)
                .as_deref()
                .and_then(|k| k.rsplit_once('-'))
            {
                *out.keys.entry(key.to_owned()).or_default() += 1;
            }
        }
    }
    Ok(out)
}

/// The newest complete backup in this store of the schema most `ORIGINAL_KEY`s name, from
/// `own`'s site (not `own`'s schema).
pub(super) async fn backup(
    ctx: &Ctx<'_>,
    own: &Backup,
    scan: &Scan,
) -> Result<Option<Backup>, Error> {
    let Some((key, _)) = scan.keys.iter().max_by_key(|(_, n)| **n) else {
        return Ok(None);
    };
    let filter = BackupFilter {
        site: Some(own.site.clone()),
        schema_key: Some(key.clone()),
        ..BackupFilter::default()
    };
    let page = PageRequest {
        limit: 1000,
        offset: 0,
    };
    let found = ctx.store.list_backups(filter, page).await?.items;
    Ok(found
        .into_iter()
        .filter(|b| b.status == BackupStatus::Complete && b.schema_id != own.schema_id)
        .max_by_key(|b| b.id))
}

/// An object type or reference type of a backup: id and name.
#[derive(Deserialize)]
pub(super) struct Named {
    id: Id,
    #[serde(default)]
    name: Option<String>,
}

/// Backup type id -> target type id for the types (old id, name) named in `old`: the target
/// type whose description is the old id, else the only one with that name.
pub(super) fn match_types<'a>(
    old: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    types: &[ObjectType],
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (id, name) in old {
        if out.contains_key(id) {
            continue;
        }
        let by_description = types.iter().find(|t| t.description.non_empty() == Some(id));
        let by_name = || {
            let mut named = types.iter().filter(|t| name.is_some_and(|n| t.name() == n));
            match (named.next(), named.next()) {
                (Some(t), None) => Some(t),
                _ => None,
            }
        };
        if let Some(new) = by_description
            .or_else(by_name)
            .and_then(|t| t.id.non_empty())
        {
            out.insert(id.to_owned(), new.to_owned());
        }
    }
    out
}

/// Backup type id -> target type id for every object type of `backup`, among `types`.
pub(super) async fn backup_types(
    ctx: &Ctx<'_>,
    backup: BackupId,
    types: &[ObjectType],
) -> Result<HashMap<String, String>, Error> {
    let mut named: Vec<Named> = Vec::new();
    ctx.for_each_entry(backup, kind::OBJECT_TYPE, |_, t: Named| {
        named.push(t);
        Ok(())
    })
    .await?;
    Ok(match_types(
        named.iter().map(|t| (t.id.as_str(), t.name.as_deref())),
        types,
    ))
}

/// Backup reference type id -> the target's reference type of that name (the schema's own or
/// a global one).
pub(super) async fn reference_types(
    ctx: &Ctx<'_>,
    backup: BackupId,
    schema: &str,
) -> Result<HashMap<String, String>, Error> {
    let mut named: Vec<Named> = Vec::new();
    ctx.for_each_entry(backup, kind::REFERENCE_TYPE, |_, t: Named| {
        named.push(t);
        Ok(())
    })
    .await?;
    let target = ctx.target.list_reference_types(Some(schema), true).await?;
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &target {
        if let (Some(name), Some(id)) = (r.name.non_empty(), r.id.non_empty()) {
            by_name.entry(name).or_default().push(id);
        }
    }
    Ok(named
        .iter()
        .filter_map(|t| {
            let ids = by_name.get(t.name.as_deref()?)?;
            (ids.len() == 1).then(|| (t.id.as_str().to_owned(), ids[0].to_owned()))
        })
        .collect())
}
