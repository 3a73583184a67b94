//! The backup as the restore sees it: everything except the objects, read once from the store
//! into typed definitions (a schema has at most a few hundred types and attributes), in
//! creation order — object types parents first, attributes by type and position. Objects are
//! streamed separately (see `order`), never held all at once.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;

use super::Error;
use crate::model::{
    AttributeKind, Icon, ObjectSchema, ObjectType, ObjectTypeAttribute, ReferenceType,
    SchemaConfig, StatusType,
};
use crate::store::{AsyncStore, Backup, BackupId, kind};

/// Name of the attribute holding an object's first id across restores (DESIGN §4). The
/// backup's own constant lives in a private module; the spelling is the contract, not the
/// constant, and the backup tests pin it.
pub(crate) const ORIGINAL_ID: &str = "ORIGINAL_ID";
/// Name of the attribute holding an object's first key across restores.
pub(crate) const ORIGINAL_KEY: &str = "ORIGINAL_KEY";

/// A status type of the backup.
#[derive(Debug, Clone)]
pub(crate) struct StatusDef {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub category: i64,
    /// Global (no `objectSchemaId`) rather than the schema's own.
    pub global: bool,
}

impl StatusDef {
    fn from_model(s: &StatusType) -> Option<StatusDef> {
        Some(StatusDef {
            id: s.id.non_empty()?.to_owned(),
            name: s.name.non_empty()?.to_owned(),
            description: s.description.non_empty().map(str::to_owned),
            category: s.category.get().copied().unwrap_or(1),
            global: s.is_global(),
        })
    }
}

/// A reference type of the backup.
#[derive(Debug, Clone)]
pub(crate) struct RefTypeDef {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub color: Option<String>,
    pub global: bool,
}

impl RefTypeDef {
    fn from_model(r: &ReferenceType) -> Option<RefTypeDef> {
        Some(RefTypeDef {
            id: r.id.non_empty()?.to_owned(),
            name: r.name.non_empty()?.to_owned(),
            description: r.description.non_empty().map(str::to_owned),
            color: r.color.non_empty().map(str::to_owned),
            global: r.is_global(),
        })
    }
}

/// An icon used by the backup's object types.
#[derive(Debug, Clone)]
pub(crate) struct IconDef {
    pub id: String,
    pub name: String,
}

/// An object type of the backup.
#[derive(Debug, Clone)]
pub(crate) struct TypeDef {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub icon_id: Option<String>,
    pub parent: Option<String>,
    pub position: i64,
    /// Its children inherit its attributes.
    pub inherited: bool,
    pub abstract_type: bool,
}

/// An attribute of the backup, with its full definition as the API returned it.
#[derive(Debug, Clone)]
pub(crate) struct AttrDef {
    pub id: String,
    pub type_id: String,
    pub name: String,
    pub kind: AttributeKind,
    pub label: bool,
    pub system: bool,
    pub def: ObjectTypeAttribute,
}

impl AttrDef {
    /// Whether it carries an object's identity from an earlier restore.
    pub fn is_identity(&self) -> bool {
        self.name == ORIGINAL_ID || self.name == ORIGINAL_KEY
    }
}

/// The backup minus its objects.
#[derive(Debug)]
pub(crate) struct Source {
    pub backup: Backup,
    pub schema: ObjectSchema,
    pub config: Option<SchemaConfig>,
    pub statuses: Vec<StatusDef>,
    pub ref_types: Vec<RefTypeDef>,
    pub icons: Vec<IconDef>,
    /// Parents first, siblings by position.
    pub types: Vec<TypeDef>,
    /// By type (in `types` order), then position.
    pub attrs: Vec<AttrDef>,
    type_ix: HashMap<String, usize>,
    attr_ix: HashMap<String, usize>,
    /// Types of the backup this restore leaves out (`--types`): id -> path of names.
    left_out: HashMap<String, String>,
}

/// Every entry of one kind of a backup (the small kinds only), typed.
async fn load_all<T: DeserializeOwned>(
    store: &AsyncStore,
    backup: BackupId,
    kind: &str,
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    store
        .for_each_entry_as(backup, kind, |_, entry: T| {
            out.push(entry);
            Ok::<_, Error>(())
        })
        .await?;
    Ok(out)
}

impl Source {
    /// Reads a complete backup's definitions.
    pub async fn load(store: &AsyncStore, backup: Backup) -> Result<Source, Error> {
        let id = backup.id;
        let invalid = |reason: &str| Error::InvalidBackup {
            backup: id,
            reason: reason.to_owned(),
        };
        let schema = load_all::<ObjectSchema>(store, id, kind::SCHEMA)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| invalid("it has no schema entry"))?;
        // A config entry is `null` when the API answered the config read with nothing.
        let config = load_all::<Option<SchemaConfig>>(store, id, kind::CONFIG)
            .await?
            .into_iter()
            .next()
            .flatten();
        let statuses = load_all::<StatusType>(store, id, kind::STATUS_TYPE)
            .await?
            .iter()
            .filter_map(StatusDef::from_model)
            .collect();
        let ref_types = load_all::<ReferenceType>(store, id, kind::REFERENCE_TYPE)
            .await?
            .iter()
            .filter_map(RefTypeDef::from_model)
            .collect();
        let icons = load_all::<Icon>(store, id, kind::ICON)
            .await?
            .iter()
            .filter_map(|i| {
                Some(IconDef {
                    id: i.id.non_empty()?.to_owned(),
                    name: i.name().to_owned(),
                })
            })
            .collect();
        let types = order_types(
            load_all::<ObjectType>(store, id, kind::OBJECT_TYPE)
                .await?
                .iter()
                .filter_map(|t| {
                    Some(TypeDef {
                        id: t.id.non_empty()?.to_owned(),
                        name: t.name.non_empty()?.to_owned(),
                        description: t.description.non_empty().map(str::to_owned),
                        icon_id: t.icon_id().map(str::to_owned),
                        parent: t.parent().map(str::to_owned),
                        position: t.position.get().copied().unwrap_or(0),
                        inherited: t.inherited.is_true(),
                        abstract_type: t.abstract_object_type.is_true(),
                    })
                })
                .collect(),
        );
        let type_ix: HashMap<String, usize> = types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let mut attrs: Vec<(usize, i64, AttrDef)> =
            load_all::<ObjectTypeAttribute>(store, id, kind::ATTRIBUTE)
                .await?
                .into_iter()
                .filter_map(|a| {
                    let type_id = a.object_type_id()?.to_owned();
                    let t = *type_ix.get(&type_id)?;
                    let position = a.position.get().copied().unwrap_or(i64::MAX);
                    let def = AttrDef {
                        id: a.id.non_empty()?.to_owned(),
                        name: a.name.non_empty()?.to_owned(),
                        kind: a.kind(),
                        label: a.label.is_true(),
                        system: a.system.is_true(),
                        type_id,
                        def: a,
                    };
                    Some((t, position, def))
                })
                .collect();
        attrs.sort_by_key(|a| (a.0, a.1));
        let attrs: Vec<AttrDef> = attrs.into_iter().map(|(_, _, a)| a).collect();
        let attr_ix = attrs
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        Ok(Source {
            backup,
            schema,
            config,
            statuses,
            ref_types,
            icons,
            types,
            attrs,
            type_ix,
            attr_ix,
            left_out: HashMap::new(),
        })
    }

    /// Limits the backup to the object types `keep` (by id; `--types` with the parents of
    /// those asked for): the others, their attributes and (see `order`) their objects are
    /// left out, and attributes referencing them are dropped (see [`Source::left_out`]).
    pub fn restrict(&mut self, keep: &HashSet<String>) {
        let paths: HashMap<String, String> = self
            .types
            .iter()
            .filter(|t| !keep.contains(&t.id))
            .map(|t| (t.id.clone(), self.path(&t.id)))
            .collect();
        self.types.retain(|t| keep.contains(&t.id));
        self.attrs.retain(|a| keep.contains(&a.type_id));
        self.type_ix = index(self.types.iter().map(|t| &t.id));
        self.attr_ix = index(self.attrs.iter().map(|a| &a.id));
        self.left_out = paths;
    }

    /// The path of names of a type left out of this restore (`--types`), if it is one.
    pub fn left_out(&self, id: &str) -> Option<&str> {
        self.left_out.get(id).map(String::as_str)
    }

    /// Whether objects of type `id` are restored: every object, unless `--types` left its
    /// type out.
    pub fn restores_objects_of(&self, type_id: Option<&str>) -> bool {
        type_id.is_none_or(|t| !self.left_out.contains_key(t))
    }

    /// The path of names of a type (`Parent/Child`), as `--types` takes it.
    pub fn path(&self, id: &str) -> String {
        let mut names = Vec::new();
        let mut cur = self.object_type(id);
        // Bounded: a (corrupt) parent cycle cannot loop forever.
        for _ in 0..=self.types.len() {
            let Some(t) = cur else { break };
            names.push(t.name.as_str());
            cur = t.parent.as_deref().and_then(|p| self.object_type(p));
        }
        names.reverse();
        names.join("/")
    }

    /// An object type by its backup id.
    pub fn object_type(&self, id: &str) -> Option<&TypeDef> {
        self.type_ix.get(id).map(|i| &self.types[*i])
    }

    /// An attribute by its backup id.
    pub fn attr(&self, id: &str) -> Option<&AttrDef> {
        self.attr_ix.get(id).map(|i| &self.attrs[*i])
    }

    /// Index of an attribute in [`Source::attrs`].
    pub fn attr_index(&self, id: &str) -> Option<usize> {
        self.attr_ix.get(id).copied()
    }

    /// The type whose own attributes `type_id` starts from: itself, or the nearest ancestor
    /// reached through parents that pass their attributes down (`inherited`). Only such
    /// "attribute roots" get Key/Name/Created/Updated, and the added identity attributes.
    pub fn attr_root<'a>(&'a self, type_id: &'a str) -> &'a str {
        let mut cur = type_id;
        for _ in 0..self.types.len() {
            let Some(parent) = self.object_type(cur).and_then(|t| t.parent.as_deref()) else {
                break;
            };
            match self.object_type(parent) {
                Some(p) if p.inherited => cur = &p.id,
                _ => break,
            }
        }
        cur
    }

    /// The own attributes of a type, in position order.
    pub fn own_attrs<'a>(&'a self, type_id: &'a str) -> impl Iterator<Item = &'a AttrDef> + 'a {
        self.attrs.iter().filter(move |a| a.type_id == type_id)
    }

    /// The backup's own `name` attribute of an attribute root, if it has one.
    pub fn own_named(&self, type_id: &str, name: &str) -> Option<&AttrDef> {
        self.attrs
            .iter()
            .find(|a| a.type_id == type_id && a.name == name)
    }
}

fn index<'a>(ids: impl Iterator<Item = &'a String>) -> HashMap<String, usize> {
    ids.enumerate().map(|(i, id)| (id.clone(), i)).collect()
}

/// Sorts types parents first (by depth), then by position, then by id, so creating them in
/// this order always finds the parent and reproduces sibling positions.
fn order_types(types: Vec<TypeDef>) -> Vec<TypeDef> {
    let by_id: HashMap<&str, &TypeDef> = types.iter().map(|t| (t.id.as_str(), t)).collect();
    let depth = |t: &TypeDef| {
        let mut d = 0usize;
        let mut cur = t.parent.as_deref();
        // Bounded: a (corrupt) parent cycle cannot loop forever.
        while let Some(p) = cur.and_then(|p| by_id.get(p)) {
            d += 1;
            if d > types.len() {
                break;
            }
            cur = p.parent.as_deref();
        }
        d
    };
    let mut keyed: Vec<(usize, i64, u64, String, usize)> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let num = t.id.parse::<u64>().unwrap_or(u64::MAX);
            (depth(t), t.position, num, t.id.clone(), i)
        })
        .collect();
    keyed.sort();
    let mut slots: Vec<Option<TypeDef>> = types.into_iter().map(Some).collect();
    keyed
        .into_iter()
        .filter_map(|k| slots[k.4].take())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, parent: Option<&str>, position: i64) -> TypeDef {
        TypeDef {
            id: id.into(),
            name: format!("T{id}"),
            description: None,
            icon_id: None,
            parent: parent.map(str::to_owned),
            position,
            inherited: false,
            abstract_type: false,
        }
    }

    #[test]
    fn types_are_ordered_parents_first_then_by_position() {
        let out = order_types(vec![
            t("5", Some("2"), 0),
            t("2", None, 1),
            t("9", Some("2"), 1),
            t("1", None, 0),
            t("7", Some("5"), 0),
        ]);
        let ids: Vec<&str> = out.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "5", "9", "7"]);
    }
}
