//! `Workspace`: the whole state of one simulated Assets workspace and its Jira site, with the
//! lookups every handler needs. Mutations with their validation rules live in the submodules.

mod attrs;
pub mod extras;
mod force;
mod objects;
mod schemas;
mod settings;
mod types;
pub mod values;

pub use attrs::AttrSpec;
pub use objects::AttrInput;
pub use types::{TypeSpec, TypeUpdate};

use std::collections::{BTreeMap, HashMap};

use compact_str::CompactString;

use crate::config::Flavor;
use crate::error::{ApiError, ApiResult};
use crate::model::*;

/// Global ("General configuration") switches: `GET /global/config`.
#[derive(Debug, Clone, Copy)]
pub struct GlobalConfig {
    pub allow_other_object_schema: bool,
    pub validate_quick_create: bool,
    pub quick_create_objects: bool,
}

#[derive(Debug, Clone, Default)]
struct Counters {
    schema: u32,
    object_type: u32,
    attribute: u32,
    object: u32,
    row: u32,
    history: u32,
    status: u32,
    ref_type: u32,
    comment: u32,
    attachment: u32,
}

/// The state of one site: its Assets workspace, user directory and Jira issues.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub ws_id: String,
    /// Cloud or Data Center: the rules (Text length) and JSON shapes that apply.
    pub flavor: Flavor,
    /// Bumped by every change; keys the AQL result cache.
    pub generation: u64,
    next: Counters,
    pub global_config: GlobalConfig,
    pub schemas: BTreeMap<u32, Schema>,
    pub types: BTreeMap<u32, ObjectType>,
    pub attrs: BTreeMap<u32, Attribute>,
    /// Own attribute ids of each type, in position order.
    pub type_attrs: HashMap<u32, Vec<u32>>,
    /// Objects by id (index = id; `None` = deleted or never used).
    objects: Vec<Option<Object>>,
    object_count: usize,
    type_object_counts: HashMap<u32, u32>,
    pub history: HashMap<u32, Vec<HistoryEntry>>,
    /// (attribute id, value) -> object id, for unique attributes only.
    unique_index: HashMap<(u32, CompactString), u32>,
    pub statuses: BTreeMap<u32, Status>,
    pub ref_types: BTreeMap<u32, ReferenceType>,
    pub icons: BTreeMap<u32, Icon>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// Index of the user the API credentials belong to (the actor of changes).
    pub actor: u32,
    pub fields: Vec<AssetsField>,
    pub issues: BTreeMap<u32, Issue>,
    /// Object comments and attachments, by object id (Data Center only; empty on Cloud).
    pub comments: HashMap<u32, Vec<Comment>>,
    pub attachments: HashMap<u32, Vec<Attachment>>,
}

impl Workspace {
    /// An empty workspace with the default global statuses, reference types and icons.
    pub fn new(ws_id: String, users: Vec<User>, groups: Vec<Group>, actor: u32) -> Workspace {
        let mut ws = Workspace {
            ws_id,
            flavor: Flavor::Cloud,
            generation: next_generation(),
            next: Counters::default(),
            global_config: GlobalConfig {
                allow_other_object_schema: false,
                validate_quick_create: false,
                quick_create_objects: true,
            },
            schemas: BTreeMap::new(),
            types: BTreeMap::new(),
            attrs: BTreeMap::new(),
            type_attrs: HashMap::new(),
            objects: vec![None],
            object_count: 0,
            type_object_counts: HashMap::new(),
            history: HashMap::new(),
            unique_index: HashMap::new(),
            statuses: BTreeMap::new(),
            ref_types: BTreeMap::new(),
            icons: BTreeMap::new(),
            users,
            groups,
            actor,
            fields: Vec::new(),
            issues: BTreeMap::new(),
            comments: HashMap::new(),
            attachments: HashMap::new(),
        };
        settings::seed_defaults(&mut ws);
        ws
    }

    /// The longest Text value this site takes (reference §19: 255 on Cloud, 450 on Data Center).
    pub fn text_max_chars(&self) -> usize {
        match self.flavor {
            Flavor::Cloud => values::TEXT_MAX_CHARS,
            Flavor::Dc => values::DC_TEXT_MAX_CHARS,
        }
    }

    /// Marks a change. Generations are unique across workspaces (a reset site gets a fresh
    /// one), so they can key caches.
    pub fn touch(&mut self) {
        self.generation = next_generation();
    }

    // ---- schemas -------------------------------------------------------------------------

    pub fn schema(&self, id: u32) -> ApiResult<&Schema> {
        self.schemas
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("No object schema found with id: {id}")))
    }

    pub fn schema_object_count(&self, schema_id: u32) -> u64 {
        self.types
            .values()
            .filter(|t| t.schema_id == schema_id)
            .map(|t| *self.type_object_counts.get(&t.id).unwrap_or(&0) as u64)
            .sum()
    }

    pub fn schema_type_count(&self, schema_id: u32) -> u64 {
        self.types
            .values()
            .filter(|t| t.schema_id == schema_id)
            .count() as u64
    }

    // ---- object types --------------------------------------------------------------------

    pub fn object_type(&self, id: u32) -> ApiResult<&ObjectType> {
        self.types
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("No object type found with id: {id}")))
    }

    pub fn type_object_count(&self, type_id: u32) -> u32 {
        *self.type_object_counts.get(&type_id).unwrap_or(&0)
    }

    /// Whether `t` inherits its parent's attributes.
    pub fn parent_inherited(&self, t: &ObjectType) -> bool {
        t.parent
            .and_then(|p| self.types.get(&p))
            .is_some_and(|p| p.inherited)
    }

    /// The type and its descendants, parents before children.
    pub fn type_and_descendants(&self, id: u32) -> Vec<u32> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            let cur = out[i];
            out.extend(
                self.types
                    .values()
                    .filter(|t| t.parent == Some(cur))
                    .map(|t| t.id),
            );
            i += 1;
        }
        out
    }

    /// Attribute ids visible on a type: inherited ancestors' attributes first, then its own.
    pub fn visible_attrs(&self, type_id: u32) -> Vec<u32> {
        let mut chain = vec![type_id];
        let mut cur = type_id;
        while let Some(t) = self.types.get(&cur) {
            if !self.parent_inherited(t) {
                break;
            }
            let Some(p) = t.parent else { break };
            if chain.contains(&p) {
                break;
            }
            chain.push(p);
            cur = p;
        }
        chain
            .iter()
            .rev()
            .flat_map(|t| self.type_attrs.get(t).into_iter().flatten().copied())
            .collect()
    }

    /// The label attribute of a type (the one with `label: true`).
    pub fn label_attr(&self, type_id: u32) -> Option<u32> {
        self.visible_attrs(type_id)
            .into_iter()
            .find(|a| self.attrs.get(a).is_some_and(|a| a.label))
    }

    pub fn attr(&self, id: u32) -> ApiResult<&Attribute> {
        self.attrs.get(&id).ok_or_else(|| {
            ApiError::not_found(format!("No object type attribute found with id: {id}"))
        })
    }

    // ---- objects -------------------------------------------------------------------------

    pub fn object(&self, id: u32) -> ApiResult<&Object> {
        self.get_object(id)
            .ok_or_else(|| ApiError::not_found(format!("No object found with id: {id}")))
    }

    pub fn get_object(&self, id: u32) -> Option<&Object> {
        self.objects.get(id as usize).and_then(|o| o.as_ref())
    }

    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.iter().flatten()
    }

    pub fn object_count(&self) -> usize {
        self.object_count
    }

    pub fn object_schema_id(&self, o: &Object) -> u32 {
        self.types.get(&o.type_id).map(|t| t.schema_id).unwrap_or(0)
    }

    /// `SCHEMAKEY-id`.
    pub fn object_key(&self, o: &Object) -> String {
        let key = self
            .schemas
            .get(&self.object_schema_id(o))
            .map(|s| s.key.as_str())
            .unwrap_or("");
        format!("{key}-{}", o.id)
    }

    /// The object's label: the first value of its type's label attribute.
    pub fn object_label(&self, o: &Object) -> String {
        match self.label_attr(o.type_id).map(|a| o.values_of(a)) {
            Some([Val::Text(t), ..]) => t.to_string(),
            _ => String::new(),
        }
    }

    /// Resolves an object by id (`"87"`) or key (`"ITSM-87"`).
    pub fn resolve_object(&self, id_or_key: &str) -> Option<&Object> {
        let s = id_or_key.trim();
        if let Ok(id) = s.parse::<u32>() {
            return self.get_object(id);
        }
        let (key, id) = s.rsplit_once('-')?;
        let o = self.get_object(id.parse().ok()?)?;
        let schema = self.schemas.get(&self.object_schema_id(o))?;
        (schema.key.eq_ignore_ascii_case(key)).then_some(o)
    }

    // ---- users and groups ----------------------------------------------------------------

    pub fn user(&self, account_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.account_id == account_id)
    }

    pub fn user_index(&self, account_id: &str) -> Option<u32> {
        self.users
            .iter()
            .position(|u| u.account_id == account_id)
            .map(|i| i as u32)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    // ---- statuses, reference types, icons ------------------------------------------------

    pub fn status(&self, id: u32) -> ApiResult<&Status> {
        self.statuses
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("No status type found with id: {id}")))
    }

    pub fn ref_type(&self, id: u32) -> ApiResult<&ReferenceType> {
        self.ref_types
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("No reference type found with id: {id}")))
    }

    pub fn icon(&self, id: u32) -> ApiResult<&Icon> {
        self.icons
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("No icon found with id: {id}")))
    }
}

fn next_generation() -> u64 {
    static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Reserved characters that names of schemas, object types and labels may not contain.
pub const RESERVED_CHARS: [char; 6] = ['=', ';', ':', '?', '.', '"'];

/// Checks a name for emptiness, length and reserved characters.
pub fn check_name(field: &str, what: &str, name: &str) -> ApiResult<()> {
    if name.trim().is_empty() {
        return Err(ApiError::field(
            field,
            format!("The {what} name must not be empty"),
        ));
    }
    if name.chars().count() > 255 {
        return Err(ApiError::field(
            field,
            format!("The {what} name must be less than 255 characters"),
        ));
    }
    if name.contains(RESERVED_CHARS) {
        return Err(ApiError::field(
            field,
            format!(
                "The {what} name contains reserved characters. The characters = ; : ? . \" are not allowed"
            ),
        ));
    }
    Ok(())
}

/// Parses an id given as a string or number ("23" or 23) in a path or body.
pub fn parse_id(s: &str) -> Option<u32> {
    s.trim().parse::<u32>().ok().filter(|&n| n > 0)
}
