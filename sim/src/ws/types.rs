//! Object type rules: icons, hierarchy (parents, positions, moves), inheritance, abstract types,
//! the four system attributes of a root type, and cascading delete.

use super::{Workspace, check_name};
use crate::error::{ApiError, ApiResult};
use crate::model::*;

/// What `POST /objecttype/create` asks for.
#[derive(Debug, Clone)]
pub struct TypeSpec {
    pub schema_id: u32,
    pub name: String,
    pub description: Option<String>,
    pub icon_id: u32,
    pub parent: Option<u32>,
    pub inherited: bool,
    pub abstract_type: bool,
}

/// What `PUT /objecttype/{id}` may change; `None` = unchanged.
#[derive(Debug, Clone, Default)]
pub struct TypeUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub icon_id: Option<u32>,
    pub inherited: Option<bool>,
    pub abstract_type: Option<bool>,
}

impl Workspace {
    fn check_icon_usable(&self, icon_id: u32, schema_id: u32) -> ApiResult<()> {
        match self.icons.get(&icon_id) {
            Some(i) if i.schema_id.is_none() || i.schema_id == Some(schema_id) => Ok(()),
            _ => Err(ApiError::field(
                "iconId",
                format!("No icon found with id: {icon_id}"),
            )),
        }
    }

    fn check_type_name_unique(
        &self,
        schema_id: u32,
        name: &str,
        except: Option<u32>,
    ) -> ApiResult<()> {
        let clash = self.types.values().any(|t| {
            t.schema_id == schema_id
                && Some(t.id) != except
                && t.name.eq_ignore_ascii_case(name.trim())
        });
        if clash {
            return Err(ApiError::field(
                "name",
                format!("An object type with the name {name:?} already exists in this schema"),
            ));
        }
        Ok(())
    }

    fn sibling_count(&self, schema_id: u32, parent: Option<u32>, except: u32) -> i32 {
        self.types
            .values()
            .filter(|t| t.schema_id == schema_id && t.parent == parent && t.id != except)
            .count() as i32
    }

    pub fn create_type(&mut self, spec: TypeSpec, now: Millis) -> ApiResult<u32> {
        check_name("name", "object type", &spec.name)?;
        self.schema(spec.schema_id).map_err(|_| {
            ApiError::field(
                "objectSchemaId",
                format!("No object schema found with id: {}", spec.schema_id),
            )
        })?;
        self.check_icon_usable(spec.icon_id, spec.schema_id)?;
        if let Some(p) = spec.parent {
            match self.types.get(&p) {
                Some(pt) if pt.schema_id == spec.schema_id => {}
                Some(_) => {
                    return Err(ApiError::field(
                        "parentObjectTypeId",
                        "The parent object type belongs to another object schema",
                    ));
                }
                None => {
                    return Err(ApiError::field(
                        "parentObjectTypeId",
                        format!("No object type found with id: {p}"),
                    ));
                }
            }
        }
        self.check_type_name_unique(spec.schema_id, &spec.name, None)?;
        self.next.object_type += 1;
        let id = self.next.object_type;
        let position = self.sibling_count(spec.schema_id, spec.parent, id);
        let t = ObjectType {
            id,
            schema_id: spec.schema_id,
            name: spec.name.trim().to_string(),
            description: spec.description,
            icon_id: spec.icon_id,
            parent: spec.parent,
            position,
            inherited: spec.inherited,
            abstract_type: spec.abstract_type,
            created: now,
            updated: now,
        };
        let inherits = self.parent_inherited(&t);
        self.types.insert(id, t);
        self.type_attrs.insert(id, Vec::new());
        if !inherits {
            self.add_system_attrs(id);
        }
        self.touch();
        Ok(id)
    }

    /// Key, Name (the label), Created and Updated: what every new root type starts with.
    fn add_system_attrs(&mut self, type_id: u32) {
        let text = AttrKind::Default(DefaultType::Text);
        let dt = AttrKind::Default(DefaultType::DateTime);
        for (name, kind, system, label) in [
            ("Key", text.clone(), Some(SystemAttr::Key), false),
            ("Name", text, None, true),
            ("Created", dt.clone(), Some(SystemAttr::Created), false),
            ("Updated", dt, Some(SystemAttr::Updated), false),
        ] {
            let mut a = Attribute::plain(type_id, name, kind);
            a.system = system;
            a.label = label;
            a.min_cardinality = i64::from(label || system == Some(SystemAttr::Key));
            self.insert_attr(a);
        }
    }

    pub fn update_type(&mut self, id: u32, patch: TypeUpdate, now: Millis) -> ApiResult<()> {
        let TypeUpdate {
            name,
            description,
            icon_id,
            inherited,
            abstract_type,
        } = patch;
        let name = name.as_deref();
        let t = self.object_type(id)?.clone();
        if let Some(n) = name {
            check_name("name", "object type", n)?;
            self.check_type_name_unique(t.schema_id, n, Some(id))?;
        }
        if let Some(i) = icon_id {
            self.check_icon_usable(i, t.schema_id)?;
        }
        if abstract_type == Some(true) && !t.abstract_type && self.type_object_count(id) > 0 {
            return Err(ApiError::field(
                "abstractObjectType",
                "An object type that holds objects cannot be made abstract",
            ));
        }
        let t = self.types.get_mut(&id).expect("checked above");
        if let Some(n) = name {
            t.name = n.trim().to_string();
        }
        if let Some(d) = description {
            t.description = d;
        }
        if let Some(i) = icon_id {
            t.icon_id = i;
        }
        if let Some(v) = inherited {
            t.inherited = v;
        }
        if let Some(v) = abstract_type {
            t.abstract_type = v;
        }
        t.updated = now;
        self.touch();
        Ok(())
    }

    /// `POST /objecttype/{id}/position`: reparent (`to_parent`) and order among siblings.
    pub fn move_type(
        &mut self,
        id: u32,
        to_parent: Option<u32>,
        position: i32,
        now: Millis,
    ) -> ApiResult<()> {
        let t = self.object_type(id)?.clone();
        if let Some(p) = to_parent {
            let pt = self.types.get(&p).ok_or_else(|| {
                ApiError::field(
                    "toObjectTypeId",
                    format!("No object type found with id: {p}"),
                )
            })?;
            if pt.schema_id != t.schema_id {
                return Err(ApiError::field(
                    "toObjectTypeId",
                    "The new parent belongs to another object schema",
                ));
            }
            if self.type_and_descendants(id).contains(&p) {
                return Err(ApiError::field(
                    "toObjectTypeId",
                    "An object type cannot be moved below itself",
                ));
            }
        }
        if position < 0 {
            return Err(ApiError::field(
                "position",
                "The position must be 0 or greater",
            ));
        }
        // Close the gap among the old siblings, then open one among the new.
        let mut old: Vec<u32> = self.siblings(t.schema_id, t.parent, id);
        let mut new: Vec<u32> = if to_parent == t.parent {
            std::mem::take(&mut old)
        } else {
            self.siblings(t.schema_id, to_parent, id)
        };
        let at = (position as usize).min(new.len());
        new.insert(at, id);
        for (i, s) in old.iter().enumerate() {
            self.types.get_mut(s).expect("sibling").position = i as i32;
        }
        for (i, s) in new.iter().enumerate() {
            self.types.get_mut(s).expect("sibling").position = i as i32;
        }
        let t = self.types.get_mut(&id).expect("checked above");
        t.parent = to_parent;
        t.updated = now;
        self.touch();
        Ok(())
    }

    fn siblings(&self, schema_id: u32, parent: Option<u32>, except: u32) -> Vec<u32> {
        let mut v: Vec<&ObjectType> = self
            .types
            .values()
            .filter(|t| t.schema_id == schema_id && t.parent == parent && t.id != except)
            .collect();
        v.sort_by_key(|t| (t.position, t.id));
        v.into_iter().map(|t| t.id).collect()
    }

    /// Deletes a type with its descendants, their attributes and objects; returns the type.
    pub fn delete_type(&mut self, id: u32) -> ApiResult<ObjectType> {
        let t = self.object_type(id)?.clone();
        self.delete_type_tree(id);
        let rest = self.siblings(t.schema_id, t.parent, id);
        for (i, s) in rest.iter().enumerate() {
            self.types.get_mut(s).expect("sibling").position = i as i32;
        }
        self.touch();
        Ok(t)
    }

    pub(super) fn delete_type_tree(&mut self, id: u32) {
        let tree = self.type_and_descendants(id);
        let doomed: Vec<u32> = self
            .objects()
            .filter(|o| tree.contains(&o.type_id))
            .map(|o| o.id)
            .collect();
        for o in doomed {
            self.remove_object(o);
        }
        // Attributes of the tree, and reference attributes elsewhere that point into it.
        let attr_ids: Vec<u32> = self
            .attrs
            .values()
            .filter(|a| {
                tree.contains(&a.object_type_id)
                    || matches!(a.kind, AttrKind::Object { target_type, .. } if tree.contains(&target_type))
            })
            .map(|a| a.id)
            .collect();
        for a in attr_ids {
            self.remove_attr(a);
        }
        for t in tree {
            self.types.remove(&t);
            self.type_attrs.remove(&t);
            self.type_object_counts.remove(&t);
        }
    }
}
