//! The old -> new id map of a restore, in memory for the small kinds (schema, icons, statuses,
//! reference types, object types, attributes: a few hundred entries) and paged from the store
//! for objects. The store is the record; this is a cache of it that every write goes through
//! (see `Ctx::record`), so the two never disagree.

use std::collections::HashMap;

use super::Error;
use crate::store::{AsyncStore, RestoreId};

/// Id map kinds. Plain strings in the store, so a new kind needs no migration.
pub(crate) mod kinds {
    /// The schema (backup schema id -> new schema id).
    pub const SCHEMA: &str = "schema";
    /// Icons (backup icon -> target global icon).
    pub const ICON: &str = "icon";
    /// Status types.
    pub const STATUS: &str = "statustype";
    /// Reference types.
    pub const REF_TYPE: &str = "referencetype";
    /// Object types.
    pub const TYPE: &str = "objecttype";
    /// Attributes; the added identity attributes use `"ORIGINAL_ID@{old type id}"`.
    pub const ATTR: &str = "attribute";
    /// Objects, keyed by manifest id (the object's `ORIGINAL_ID`).
    pub const OBJECT: &str = "object";
    /// Objects the API refused (new id empty): not retried when the restore resumes.
    pub const OBJECT_FAILED: &str = "object_failed";
    /// Objects skipped as duplicates of an object of an existing schema (new id: that object).
    pub const OBJECT_SKIPPED: &str = "object_skipped";

    /// The kinds kept in memory.
    pub const SMALL: [&str; 6] = [SCHEMA, ICON, STATUS, REF_TYPE, TYPE, ATTR];
}

/// Rows per store page when loading a kind.
const PAGE: usize = 5000;

/// The small kinds of a restore's id map.
#[derive(Debug, Default)]
pub(crate) struct IdMap {
    maps: HashMap<&'static str, HashMap<String, String>>,
}

impl IdMap {
    /// Loads the small kinds from the store.
    pub async fn load(store: &AsyncStore, restore: RestoreId) -> Result<IdMap, Error> {
        let mut map = IdMap::default();
        for kind in kinds::SMALL {
            let m = map.maps.entry(kind).or_default();
            for_each(store, restore, kind, |old, new| {
                m.insert(old, new);
            })
            .await?;
        }
        Ok(map)
    }

    /// The new id of `old`.
    pub fn get(&self, kind: &str, old: &str) -> Option<&str> {
        self.maps.get(kind)?.get(old).map(String::as_str)
    }

    /// Caches a mapping (the caller has written it to the store).
    pub fn insert(&mut self, kind: &'static str, old: String, new: String) {
        self.maps.entry(kind).or_default().insert(old, new);
    }
}

/// Calls `f` for every mapping of `kind`, one store page at a time.
pub(crate) async fn for_each(
    store: &AsyncStore,
    restore: RestoreId,
    kind: &str,
    mut f: impl FnMut(String, String) + Send,
) -> Result<u64, Error> {
    let mut after: Option<String> = None;
    let mut n = 0;
    loop {
        let page = store
            .restore_ids(restore, kind, after.as_deref(), PAGE)
            .await?;
        let full = page.len() == PAGE;
        after = page.last().map(|(o, _)| o.clone());
        for (old, new) in page {
            f(old, new);
            n += 1;
        }
        if !full {
            return Ok(n);
        }
    }
}
