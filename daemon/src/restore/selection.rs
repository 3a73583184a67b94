//! Specific object types (`--types NAME[,NAME...]`): which of the backup's object types a
//! restore takes, and the backup's type tree a person picks them from (`backups types`).
//!
//! A name is a type's name, its path of names from the schema's root (`Parent/Child`, for a
//! name several types share; a trailing part of the path is enough when it is unique) or its
//! id in the backup. Selecting a type brings in all its parents (the target needs them to hold
//! the child) and their objects; every other type is left out with its objects, and an
//! attribute referencing a type left out is dropped (the plan and the log name each one).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::entities::same_name;
use super::source::Source;
use super::{Error, RestoreRequest};
use crate::model::Object;
use crate::store::{AsyncStore, BackupId, kind};

/// What `--types` decided, in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypesPlan {
    /// The names as given.
    pub asked: Vec<String>,
    /// The types they name.
    pub selected: Vec<TypeRef>,
    /// Parents of those, restored with their objects so the selected types have their place.
    pub parents: Vec<TypeRef>,
    /// The backup's other types, not restored (nor their objects).
    pub left_out: Vec<TypeRef>,
}

impl TypesPlan {
    /// The ids of the types restored (selected and their parents).
    pub fn restored(&self) -> HashSet<String> {
        self.selected
            .iter()
            .chain(&self.parents)
            .map(|t| t.id.clone())
            .collect()
    }

    /// The selected types' paths (the restore record's `specific_types`).
    pub fn paths(&self) -> Vec<String> {
        self.selected.iter().map(|t| t.path.clone()).collect()
    }
}

/// An object type of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRef {
    /// Its id in the backup.
    pub id: String,
    /// Its path of names (`Parent/Child`).
    pub path: String,
}

/// Resolves `asked` against the backup's types.
///
/// # Errors
///
/// [`Error::Types`] naming every name that matches no type or several.
pub(crate) fn resolve(source: &Source, asked: &[String]) -> Result<TypesPlan, Error> {
    let mut problems = Vec::new();
    let mut selected: Vec<String> = Vec::new();
    for name in asked {
        match find(source, name) {
            Ok(id) if !selected.contains(&id) => selected.push(id),
            Ok(_) => {}
            Err(p) => problems.push(p),
        }
    }
    if asked.is_empty() {
        problems.push("name at least one object type".to_owned());
    }
    if !problems.is_empty() {
        return Err(Error::Types {
            backup: source.backup.id,
            reason: problems.join("; "),
        });
    }
    let mut parents: Vec<String> = Vec::new();
    for id in &selected {
        let mut cur = source.object_type(id).and_then(|t| t.parent.clone());
        for _ in 0..=source.types.len() {
            let Some(p) = cur else { break };
            if !selected.contains(&p) && !parents.contains(&p) {
                parents.push(p.clone());
            }
            cur = source.object_type(&p).and_then(|t| t.parent.clone());
        }
    }
    let keep: HashSet<&String> = selected.iter().chain(&parents).collect();
    let r = |id: &String| TypeRef {
        id: id.clone(),
        path: source.path(id),
    };
    // Parents and the left out in creation order (parents first), the selected as asked.
    let in_order = |pick: &dyn Fn(&String) -> bool| {
        source
            .types
            .iter()
            .filter(|t| pick(&t.id))
            .map(|t| r(&t.id))
            .collect::<Vec<_>>()
    };
    Ok(TypesPlan {
        asked: asked.to_vec(),
        selected: selected.iter().map(r).collect(),
        parents: in_order(&|id| parents.contains(id)),
        left_out: in_order(&|id| !keep.contains(id)),
    })
}

/// The one type `name` names: by path of names (whole, or its trailing parts), else by id.
fn find(source: &Source, name: &str) -> Result<String, String> {
    let wanted: Vec<&str> = name.split('/').map(str::trim).collect();
    if wanted.iter().any(|p| p.is_empty()) {
        return Err(format!("{name:?} is not an object type name or path"));
    }
    let hits: Vec<String> = source
        .types
        .iter()
        .filter(|t| {
            let path = source.path(&t.id);
            let parts: Vec<&str> = path.split('/').collect();
            parts.len() >= wanted.len()
                && parts[parts.len() - wanted.len()..]
                    .iter()
                    .zip(&wanted)
                    .all(|(a, b)| same_name(a, b))
        })
        .map(|t| t.id.clone())
        .collect();
    match hits.as_slice() {
        [one] => Ok(one.clone()),
        [] => match source.object_type(name.trim()) {
            Some(t) => Ok(t.id.clone()),
            None => Err(format!(
                "no object type {name:?} in backup {} (`assetark backups types {}` lists them)",
                source.backup.id, source.backup.id
            )),
        },
        many => Err(format!(
            "{name:?} names {} object types ({}): give its path or id",
            many.len(),
            many.iter()
                .map(|id| format!("{} (id {id})", source.path(id)))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Loads the backup's definitions for `req`, limited to its `--types` (if any).
pub(super) async fn source_for(
    store: &AsyncStore,
    req: &RestoreRequest,
    backup: crate::store::Backup,
) -> Result<(Source, Option<TypesPlan>), Error> {
    let mut source = Source::load(store, backup).await?;
    if req.types.is_empty() {
        return Ok((source, None));
    }
    let plan = resolve(&source, &req.types)?;
    source.restrict(&plan.restored());
    Ok((source, Some(plan)))
}

/// The paths of the types `names` select in backup `backup` (what the restore record keeps as
/// `specific_types`), checked before a restore is stored.
///
/// # Errors
///
/// [`Error::Types`] for names that match no type or several; [`Error::Store`] for an unknown
/// backup; [`Error::InvalidBackup`].
pub async fn resolve_names(
    store: &AsyncStore,
    backup: BackupId,
    names: &[String],
) -> Result<Vec<String>, Error> {
    let source = Source::load(store, store.get_backup(backup).await?).await?;
    Ok(resolve(&source, names)?.paths())
}

/// One object type of a backup, as `backups types` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TypeNode {
    /// Its id in the backup (what `--types` also takes).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its path of names (`Parent/Child`).
    pub path: String,
    /// Its parent's id (`None` at the schema's root).
    pub parent_id: Option<String>,
    /// Depth in the tree (0 at the root).
    pub depth: u32,
    /// Its own objects in the backup.
    pub objects: u64,
    /// Its objects and those of all its descendants.
    pub objects_with_children: u64,
    /// It cannot hold objects.
    pub abstract_object_type: bool,
}

/// The backup's object types as a tree: depth first, siblings by position, each with its object
/// counts (one pass over the backup's objects).
///
/// # Errors
///
/// [`Error::Store`] for an unknown backup, [`Error::InvalidBackup`], [`Error::Json`].
pub async fn type_tree(store: &AsyncStore, backup: BackupId) -> Result<Vec<TypeNode>, Error> {
    let source = Source::load(store, store.get_backup(backup).await?).await?;
    let mut own: HashMap<String, u64> = HashMap::new();
    store
        .for_each_entry_as(backup, kind::OBJECT, |_, o: Object| {
            if let Some(t) = o.type_id() {
                *own.entry(t.to_owned()).or_default() += 1;
            }
            Ok::<_, Error>(())
        })
        .await?;
    // `types` is ordered parents first, siblings by position: children keep that order.
    let mut children: BTreeMap<Option<&str>, Vec<&str>> = BTreeMap::new();
    for t in &source.types {
        let parent = t
            .parent
            .as_deref()
            .filter(|p| source.object_type(p).is_some());
        children.entry(parent).or_default().push(&t.id);
    }
    fn total(
        id: &str,
        own: &HashMap<String, u64>,
        kids: &BTreeMap<Option<&str>, Vec<&str>>,
    ) -> u64 {
        let below: u64 = kids
            .get(&Some(id))
            .into_iter()
            .flatten()
            .map(|c| total(c, own, kids))
            .sum();
        own.get(id).copied().unwrap_or(0) + below
    }
    let mut out = Vec::with_capacity(source.types.len());
    let mut stack: Vec<(&str, u32)> = children
        .get(&None)
        .into_iter()
        .flatten()
        .rev()
        .map(|id| (*id, 0))
        .collect();
    while let Some((id, depth)) = stack.pop() {
        let Some(t) = source.object_type(id) else {
            continue;
        };
        out.push(TypeNode {
            id: t.id.clone(),
            name: t.name.clone(),
            path: source.path(id),
            parent_id: t.parent.clone(),
            depth,
            objects: own.get(id).copied().unwrap_or(0),
            objects_with_children: total(id, &own, &children),
            abstract_object_type: t.abstract_type,
        });
        if depth as usize > source.types.len() {
            continue;
        }
        for c in children.get(&Some(id)).into_iter().flatten().rev() {
            stack.push((c, depth + 1));
        }
    }
    Ok(out)
}
