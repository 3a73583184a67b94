//! Status types, reference types, icons and the defaults every workspace starts with.

use super::{Workspace, check_name};
use crate::error::{ApiError, ApiResult};
use crate::model::*;

const DEFAULT_STATUSES: [(&str, i64); 7] = [
    ("Action Needed", 2),
    ("Active", 1),
    ("Closed", 0),
    ("In Service", 2),
    ("Running", 1),
    ("Stopped", 0),
    ("Support Requested", 2),
];

const DEFAULT_REF_TYPES: [(&str, &str); 6] = [
    ("Dependency", "6a7ab7"),
    ("Installed", "f2c94c"),
    ("Link", "7b8794"),
    ("Reference", "49a6ed"),
    ("Location", "688e6e"),
    ("Owner", "c85c5c"),
];

/// The global icon catalogue (ids 1..).
pub const GLOBAL_ICONS: [&str; 32] = [
    "Application",
    "Building",
    "Business Service",
    "Cable",
    "Cloud",
    "Computer",
    "Contract",
    "Database",
    "Desktop",
    "Document",
    "Employee",
    "File System",
    "Firewall",
    "Hard Drive",
    "Headset",
    "Invoice",
    "Keyboard",
    "Laptop",
    "License",
    "Location",
    "Mac OS",
    "Monitor",
    "Network",
    "Office",
    "Phone",
    "Printer",
    "Router",
    "Server",
    "Software",
    "Switch",
    "Team",
    "Virtual Machine",
];

fn rgb_for(id: u32) -> [u8; 3] {
    let h = id.wrapping_mul(2_654_435_761);
    [
        (h >> 24) as u8 | 0x40,
        (h >> 16) as u8 | 0x40,
        (h >> 8) as u8 | 0x40,
    ]
}

pub(super) fn seed_defaults(ws: &mut Workspace) {
    for (name, cat) in DEFAULT_STATUSES {
        ws.next.status += 1;
        let id = ws.next.status;
        ws.statuses.insert(
            id,
            Status {
                id,
                name: name.into(),
                description: None,
                category: cat,
                schema_id: None,
            },
        );
    }
    for (name, color) in DEFAULT_REF_TYPES {
        ws.next.ref_type += 1;
        let id = ws.next.ref_type;
        ws.ref_types.insert(
            id,
            ReferenceType {
                id,
                name: name.into(),
                description: Some(name.into()),
                color: color.into(),
                schema_id: None,
                removable: false,
            },
        );
    }
    for (i, name) in GLOBAL_ICONS.iter().enumerate() {
        let id = i as u32 + 1;
        ws.icons.insert(
            id,
            Icon {
                id,
                name: (*name).into(),
                schema_id: None,
                rgb: rgb_for(id),
            },
        );
    }
}

fn check_category(c: i64) -> ApiResult<()> {
    if (0..=2).contains(&c) {
        Ok(())
    } else {
        Err(ApiError::field(
            "category",
            "category must be 0 (inactive), 1 (active) or 2 (pending)",
        ))
    }
}

impl Workspace {
    fn check_status_name(
        &self,
        name: &str,
        schema_id: Option<u32>,
        except: Option<u32>,
    ) -> ApiResult<()> {
        check_name("name", "status", name)?;
        let clash = self.statuses.values().any(|s| {
            Some(s.id) != except
                && s.schema_id == schema_id
                && s.name.eq_ignore_ascii_case(name.trim())
        });
        if clash {
            return Err(ApiError::field(
                "name",
                format!("A status with the name {name:?} already exists"),
            ));
        }
        Ok(())
    }

    fn check_scope(&self, schema_id: Option<u32>) -> ApiResult<()> {
        if let Some(s) = schema_id {
            self.schema(s).map_err(|_| {
                ApiError::field(
                    "objectSchemaId",
                    format!("No object schema found with id: {s}"),
                )
            })?;
        }
        Ok(())
    }

    pub fn create_status(
        &mut self,
        name: &str,
        description: Option<String>,
        category: i64,
        schema_id: Option<u32>,
    ) -> ApiResult<u32> {
        self.check_scope(schema_id)?;
        check_category(category)?;
        self.check_status_name(name, schema_id, None)?;
        self.next.status += 1;
        let id = self.next.status;
        self.statuses.insert(
            id,
            Status {
                id,
                name: name.trim().into(),
                description,
                category,
                schema_id,
            },
        );
        self.touch();
        Ok(id)
    }

    pub fn update_status(
        &mut self,
        id: u32,
        name: Option<&str>,
        description: Option<Option<String>>,
        category: Option<i64>,
    ) -> ApiResult<()> {
        let s = self.status(id)?.clone();
        if let Some(n) = name {
            self.check_status_name(n, s.schema_id, Some(id))?;
        }
        if let Some(c) = category {
            check_category(c)?;
        }
        let s = self.statuses.get_mut(&id).expect("checked above");
        if let Some(n) = name {
            s.name = n.trim().into();
        }
        if let Some(d) = description {
            s.description = d;
        }
        if let Some(c) = category {
            s.category = c;
        }
        self.touch();
        Ok(())
    }

    /// Deletes a status; values that pointed at it are cleared.
    pub fn delete_status(&mut self, id: u32) -> ApiResult<()> {
        self.status(id)?;
        self.statuses.remove(&id);
        for o in self.objects.iter_mut().flatten() {
            for av in o.values.iter_mut() {
                if av.vals.contains(&Val::Status(id)) {
                    av.vals = av
                        .vals
                        .iter()
                        .filter(|v| **v != Val::Status(id))
                        .cloned()
                        .collect();
                }
            }
            o.values.retain(|v| !v.vals.is_empty());
        }
        self.touch();
        Ok(())
    }

    pub fn create_ref_type(
        &mut self,
        name: &str,
        description: Option<String>,
        color: Option<String>,
        schema_id: Option<u32>,
    ) -> ApiResult<u32> {
        self.check_scope(schema_id)?;
        check_name("name", "reference type", name)?;
        if self
            .ref_types
            .values()
            .any(|r| r.schema_id == schema_id && r.name.eq_ignore_ascii_case(name.trim()))
        {
            return Err(ApiError::field(
                "name",
                format!("A reference type with the name {name:?} already exists"),
            ));
        }
        let color = color.unwrap_or_else(|| "49a6ed".into());
        let c = color.trim_start_matches('#');
        if c.len() != 6 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::field(
                "color",
                "color must be 6 hexadecimal digits, e.g. 49a6ed",
            ));
        }
        self.next.ref_type += 1;
        let id = self.next.ref_type;
        self.ref_types.insert(
            id,
            ReferenceType {
                id,
                name: name.trim().into(),
                description,
                color: c.into(),
                schema_id,
                removable: true,
            },
        );
        self.touch();
        Ok(id)
    }

    /// Adds a custom (schema) icon; the Cloud API cannot, but datasets model what sites hold.
    pub fn add_schema_icon(&mut self, name: &str, schema_id: u32) -> u32 {
        let id = self.icons.keys().next_back().copied().unwrap_or(0) + 1;
        self.icons.insert(
            id,
            Icon {
                id,
                name: name.into(),
                schema_id: Some(schema_id),
                rgb: rgb_for(id),
            },
        );
        id
    }
}
