//! The backup as the restore sees it: everything except the objects, read once from the store
//! into small typed definitions (a schema has at most a few hundred types and attributes), in
//! creation order — object types parents first, attributes by type and position. Objects are
//! streamed separately (see `order`), never held all at once.

use std::collections::HashMap;

use serde_json::Value;

use super::Error;
use crate::store::{AsyncStore, Backup, BackupId, ENTRY_PAGE_SIZE, kind};

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

/// A reference type of the backup.
#[derive(Debug, Clone)]
pub(crate) struct RefTypeDef {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub color: Option<String>,
    pub global: bool,
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

/// What an attribute holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttrKind {
    /// `type` 0 with its `defaultType.id` (0 Text, 1 Integer ... 9 Textarea, 10 Select).
    Default(i64),
    /// `type` 1: a reference to objects of `target` through reference type `ref_type`.
    Object {
        target: String,
        ref_type: Option<String>,
    },
    /// `type` 2.
    User,
    /// `type` 4.
    Group,
    /// `type` 7.
    Status,
    /// Any other type code (Confluence, Version, Project ...).
    Other(i64),
}

/// Default type id of Text.
pub(crate) const TEXT: i64 = 0;

impl AttrKind {
    fn parse(a: &Value) -> AttrKind {
        match a["type"].as_i64().unwrap_or(0) {
            0 => AttrKind::Default(a["defaultType"]["id"].as_i64().unwrap_or(TEXT)),
            1 => AttrKind::Object {
                target: sid(&a["referenceObjectTypeId"])
                    .or_else(|| sid(&a["typeValue"]))
                    .unwrap_or_default(),
                ref_type: sid(&a["referenceType"]["id"]).or_else(|| sid(&a["additionalValue"])),
            },
            2 => AttrKind::User,
            4 => AttrKind::Group,
            7 => AttrKind::Status,
            n => AttrKind::Other(n),
        }
    }

    /// A human name for plans and notes.
    pub fn name(&self) -> String {
        const DEFAULT: [&str; 12] = [
            "Text",
            "Integer",
            "Boolean",
            "Double",
            "Date",
            "Time",
            "DateTime",
            "URL",
            "Email",
            "Textarea",
            "Select",
            "IP Address",
        ];
        match self {
            AttrKind::Default(d) => usize::try_from(*d)
                .ok()
                .and_then(|i| DEFAULT.get(i))
                .map_or_else(|| format!("Default({d})"), |s| (*s).to_owned()),
            AttrKind::Object { .. } => "Object".into(),
            AttrKind::User => "User".into(),
            AttrKind::Group => "Group".into(),
            AttrKind::Status => "Status".into(),
            AttrKind::Other(n) => format!("Type {n}"),
        }
    }
}

/// An attribute of the backup, with its full definition as the API returned it.
#[derive(Debug, Clone)]
pub(crate) struct AttrDef {
    pub id: String,
    pub type_id: String,
    pub name: String,
    pub kind: AttrKind,
    pub label: bool,
    pub system: bool,
    pub raw: Value,
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
    pub schema: Value,
    pub config: Option<Value>,
    pub statuses: Vec<StatusDef>,
    pub ref_types: Vec<RefTypeDef>,
    pub icons: Vec<IconDef>,
    /// Parents first, siblings by position.
    pub types: Vec<TypeDef>,
    /// By type (in `types` order), then position.
    pub attrs: Vec<AttrDef>,
    type_ix: HashMap<String, usize>,
    attr_ix: HashMap<String, usize>,
}

/// An API id as a string (`"12"`, or a number for Data Center-style ids).
pub(crate) fn sid(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Every entry of one kind of a backup (the small kinds only).
async fn load_all(store: &AsyncStore, backup: BackupId, kind: &str) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .entry_page(backup, kind, after.as_deref(), ENTRY_PAGE_SIZE)
            .await?;
        let full = page.len() == ENTRY_PAGE_SIZE;
        after = page.last().map(|e| e.original_id.clone());
        for e in page {
            out.push(serde_json::from_slice(&e.json)?);
        }
        if !full {
            return Ok(out);
        }
    }
}

impl Source {
    /// Reads a complete backup's definitions.
    pub async fn load(store: &AsyncStore, backup: Backup) -> Result<Source, Error> {
        let id = backup.id;
        let invalid = |reason: &str| Error::InvalidBackup {
            backup: id,
            reason: reason.to_owned(),
        };
        let schema = load_all(store, id, kind::SCHEMA)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| invalid("it has no schema entry"))?;
        let config = load_all(store, id, kind::CONFIG).await?.into_iter().next();
        let statuses = load_all(store, id, kind::STATUS_TYPE)
            .await?
            .iter()
            .filter_map(|s| {
                Some(StatusDef {
                    id: sid(&s["id"])?,
                    name: text(&s["name"])?,
                    description: text(&s["description"]),
                    category: s["category"].as_i64().unwrap_or(1),
                    global: sid(&s["objectSchemaId"]).is_none(),
                })
            })
            .collect();
        let ref_types = load_all(store, id, kind::REFERENCE_TYPE)
            .await?
            .iter()
            .filter_map(|r| {
                Some(RefTypeDef {
                    id: sid(&r["id"])?,
                    name: text(&r["name"])?,
                    description: text(&r["description"]),
                    color: text(&r["color"]),
                    global: sid(&r["objectSchemaId"]).is_none(),
                })
            })
            .collect();
        let icons = load_all(store, id, kind::ICON)
            .await?
            .iter()
            .filter_map(|i| {
                Some(IconDef {
                    id: sid(&i["id"])?,
                    name: text(&i["name"]).unwrap_or_default(),
                })
            })
            .collect();
        let types = order_types(
            load_all(store, id, kind::OBJECT_TYPE)
                .await?
                .iter()
                .filter_map(|t| {
                    Some(TypeDef {
                        id: sid(&t["id"])?,
                        name: text(&t["name"])?,
                        description: text(&t["description"]),
                        icon_id: sid(&t["icon"]["id"]),
                        parent: sid(&t["parentObjectTypeId"]),
                        position: t["position"].as_i64().unwrap_or(0),
                        inherited: t["inherited"].as_bool().unwrap_or(false),
                        abstract_type: t["abstractObjectType"].as_bool().unwrap_or(false),
                    })
                })
                .collect(),
        );
        let type_ix: HashMap<String, usize> = types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let mut attrs: Vec<(usize, i64, AttrDef)> = load_all(store, id, kind::ATTRIBUTE)
            .await?
            .into_iter()
            .filter_map(|a| {
                let type_id = sid(&a["objectType"]["id"])?;
                let t = *type_ix.get(&type_id)?;
                let def = AttrDef {
                    id: sid(&a["id"])?,
                    name: text(&a["name"])?,
                    kind: AttrKind::parse(&a),
                    label: a["label"].as_bool().unwrap_or(false),
                    system: a["system"].as_bool().unwrap_or(false),
                    type_id,
                    raw: a,
                };
                Some((t, def.raw["position"].as_i64().unwrap_or(i64::MAX), def))
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
        })
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

    #[test]
    fn attribute_kinds_parse_from_api_definitions() {
        let k = AttrKind::parse(
            &serde_json::json!({"type": 1, "referenceObjectTypeId": "24",
            "referenceType": {"id": "4"}}),
        );
        assert_eq!(
            k,
            AttrKind::Object {
                target: "24".into(),
                ref_type: Some("4".into())
            }
        );
        let k = AttrKind::parse(&serde_json::json!({"type": 0, "defaultType": {"id": 10}}));
        assert_eq!(k.name(), "Select");
        assert_eq!(
            AttrKind::parse(&serde_json::json!({"type": 7})),
            AttrKind::Status
        );
    }
}
