//! Object schema rules: name and key validation, uniqueness, and cascading delete.

use super::{Workspace, check_name};
use crate::error::{ApiError, ApiResult};
use crate::model::*;

fn check_key(key: &str) -> ApiResult<()> {
    let ok = (2..=10).contains(&key.len())
        && key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "objectSchemaKey",
            format!(
                "The object schema key {key:?} is invalid: use 2 to 10 uppercase letters and digits, starting with a letter"
            ),
        ))
    }
}

impl Workspace {
    fn check_schema_unique(
        &self,
        id: Option<u32>,
        name: Option<&str>,
        key: Option<&str>,
    ) -> ApiResult<()> {
        for s in self.schemas.values().filter(|s| Some(s.id) != id) {
            if let Some(n) = name
                && s.name.eq_ignore_ascii_case(n.trim())
            {
                return Err(ApiError::field(
                    "name",
                    format!("An object schema with the name {n:?} already exists"),
                ));
            }
            if let Some(k) = key
                && s.key == k
            {
                return Err(ApiError::field(
                    "objectSchemaKey",
                    format!("An object schema with the key {k:?} already exists"),
                ));
            }
        }
        Ok(())
    }

    pub fn create_schema(
        &mut self,
        name: &str,
        key: &str,
        description: Option<String>,
        now: Millis,
    ) -> ApiResult<u32> {
        check_name("name", "object schema", name)?;
        check_key(key)?;
        self.check_schema_unique(None, Some(name), Some(key))?;
        self.next.schema += 1;
        let id = self.next.schema;
        self.schemas.insert(
            id,
            Schema {
                id,
                name: name.trim().to_string(),
                key: key.to_string(),
                description,
                created: now,
                updated: now,
                config: SchemaConfig::default(),
            },
        );
        self.touch();
        Ok(id)
    }

    pub fn update_schema(
        &mut self,
        id: u32,
        name: Option<&str>,
        key: Option<&str>,
        description: Option<Option<String>>,
        now: Millis,
    ) -> ApiResult<()> {
        self.schema(id)?;
        if let Some(n) = name {
            check_name("name", "object schema", n)?;
        }
        if let Some(k) = key {
            check_key(k)?;
        }
        self.check_schema_unique(Some(id), name, key)?;
        let s = self.schemas.get_mut(&id).expect("checked above");
        if let Some(n) = name {
            s.name = n.trim().to_string();
        }
        if let Some(k) = key {
            s.key = k.to_string();
        }
        if let Some(d) = description {
            s.description = d;
        }
        s.updated = now;
        self.touch();
        Ok(())
    }

    pub fn set_schema_config(
        &mut self,
        id: u32,
        f: impl FnOnce(&mut SchemaConfig),
    ) -> ApiResult<()> {
        self.schema(id)?;
        f(&mut self.schemas.get_mut(&id).expect("checked above").config);
        self.touch();
        Ok(())
    }

    /// Deletes a schema with its types, attributes, objects, statuses, reference types and
    /// custom icons; returns the deleted schema.
    pub fn delete_schema(&mut self, id: u32) -> ApiResult<Schema> {
        self.schema(id)?;
        let roots: Vec<u32> = self
            .types
            .values()
            .filter(|t| t.schema_id == id && t.parent.is_none())
            .map(|t| t.id)
            .collect();
        for r in roots {
            self.delete_type_tree(r);
        }
        self.statuses.retain(|_, s| s.schema_id != Some(id));
        self.ref_types.retain(|_, r| r.schema_id != Some(id));
        self.icons.retain(|_, i| i.schema_id != Some(id));
        self.touch();
        Ok(self.schemas.remove(&id).expect("checked above"))
    }
}
