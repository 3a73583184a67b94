//! Stage `attributes`: every object type's own attributes with their full configuration
//! (`GET /objecttype/{id}/attributes?excludeParentAttributes=true`). Inherited attributes keep
//! the parent's ids, so excluding them stores each attribute exactly once, under its owner.
//!
//! Returns the facts the objects stage needs: which attribute ids exist (to add the AQL
//! page's definitions that are missing) and which carry an object's original identity
//! (`ORIGINAL_ID`, `ORIGINAL_KEY`, written by an earlier restore).

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};

use super::objecttypes::TypeInfo;
use super::{Ctx, Error, entries_by_id, stage};
use crate::model::ObjectTypeAttribute;
use crate::store::kind;

/// Name of the attribute holding an object's first id across restores (DESIGN §4).
pub const ORIGINAL_ID: &str = "ORIGINAL_ID";
/// Name of the attribute holding an object's first key across restores.
pub const ORIGINAL_KEY: &str = "ORIGINAL_KEY";

/// Attribute facts for the objects stage.
#[derive(Debug, Default)]
pub(super) struct AttrIndex {
    /// Every attribute id stored so far.
    pub known: HashSet<String>,
    /// Ids of attributes named [`ORIGINAL_ID`].
    pub original_id: HashSet<String>,
    /// Ids of attributes named [`ORIGINAL_KEY`].
    pub original_key: HashSet<String>,
}

impl AttrIndex {
    /// Records one attribute definition.
    pub fn add(&mut self, attr: &ObjectTypeAttribute) {
        let id = attr.id.as_str().to_owned();
        match attr.name() {
            ORIGINAL_ID => {
                self.original_id.insert(id.clone());
            }
            ORIGINAL_KEY => {
                self.original_key.insert(id.clone());
            }
            _ => {}
        }
        self.known.insert(id);
    }
}

pub(super) async fn run(ctx: &Ctx<'_>, types: &[TypeInfo]) -> Result<AttrIndex, Error> {
    let total = types.len() as u64;
    ctx.report(stage::ATTRIBUTES, 0, total);
    // Owned ids: a stream over borrowed ones makes the future not provably `Send`.
    let ids: Vec<String> = types.iter().map(|t| t.id.clone()).collect();
    let mut lists = futures::stream::iter(ids)
        .map(|id: String| async move { ctx.api(ctx.api.list_attributes(&id)).await })
        .buffer_unordered(ctx.fan_out());
    let mut index = AttrIndex::default();
    let mut done = 0;
    while let Some(list) = lists.try_next().await? {
        // A defensive dedup: an attribute listed under two types is stored once.
        let list: Vec<ObjectTypeAttribute> = list
            .into_iter()
            .filter(|a| !index.known.contains(a.id.as_str()))
            .collect();
        let entries = entries_by_id(kind::ATTRIBUTE, &list, |a| &a.id, &mut HashSet::new())?;
        list.iter().for_each(|a| index.add(a));
        ctx.put(entries).await?;
        done += 1;
        ctx.report(stage::ATTRIBUTES, done, total);
    }
    Ok(index)
}
