//! Planning a restore into an object schema that exists on the target
//! ([`Destination::ExistingSchema`]).
//!
//! - Object types are matched by their path of names (`Parent/Child`), attributes by name
//!   among those the target type sees (its own and those inherited); what is missing is
//!   created (with `ORIGINAL_ID` / `ORIGINAL_KEY` where the target type lacks them). An
//!   attribute whose name exists with another type is left as it is: its values are skipped,
//!   and the plan ([`AttrAction::Conflict`]) and the log say so. The schema's own status and
//!   reference types are matched by name too.
//! - Duplicates (the seed: "Object IDs are used for matching"): a backup object whose identity
//!   (its `ORIGINAL_ID`, else its id) equals the `ORIGINAL_ID` of an object in the target
//!   schema — or, on the backup's own site, the id of an object there — is skipped, and
//!   references to it point at that object; `duplicates` creates it anyway. So a second
//!   restore of the same backup creates nothing.
//! - Icons (`--with-icons`): an object type that exists in the target schema keeps its own
//!   icon (a user's existing types are not changed); each whose icon differs from the target
//!   global icon the backup type's icon matched by name is listed as kept ([`IconKept`], in
//!   the plan and the log). New types get the matched icon.
//! - Cost: the target schema is read once — its object types, one attribute list per type,
//!   then every object by AQL pages of [`SCAN_PAGE`] — not one request per object.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::entities::same_name;
use super::order::ObjectGraph;
use super::plan::{AttrAction, RestorePlan};
use super::source::{ORIGINAL_ID, Source};
use super::unique::{self, Taken, UniqueTaken};
use super::{Destination, Error, Stage};
use crate::assets::{AqlPager, AssetsApi};
use crate::model::{Object, ObjectSchema, ObjectType, ObjectTypeAttribute, Scalar};
use crate::store::{AsyncStore, kind};

/// Objects per AQL page of the target scan (the API's maximum).
pub const SCAN_PAGE: usize = 1000;

/// What a restore into an existing schema found there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingPlan {
    /// The schema's id on the target.
    pub schema_id: String,
    /// Its name.
    pub schema_name: String,
    /// `--duplicates`: duplicates are created anyway.
    pub create_duplicates: bool,
    /// Backup objects already in the schema: skipped (unless `create_duplicates`), references
    /// to them pointing at the existing object.
    pub duplicates: Vec<DuplicatePlan>,
    /// New object types the target will place elsewhere than the backup had them (among the
    /// siblings already there), each moved after its create.
    pub type_moves: u64,
    /// What reading the target cost.
    pub scan: ScanCost,
    /// Backup objects whose value of a unique attribute an object of the schema holds
    /// already: the target would refuse their create, so they are skipped and mapped to that
    /// object (see `unique`).
    #[serde(default)]
    pub unique_taken: Vec<UniqueTaken>,
}

impl ExistingPlan {
    /// Whether duplicates are skipped.
    pub fn skips(&self) -> bool {
        !self.create_duplicates
    }

    /// Identities of the backup objects the restore does not create: the duplicates it skips
    /// and those whose unique value the schema holds.
    pub fn skipped_identities(&self) -> impl Iterator<Item = &str> {
        let duplicates = self.duplicates.iter().filter(|_| self.skips());
        let duplicates = duplicates.map(|d| d.identity.as_str());
        duplicates.chain(self.unique_taken.iter().map(|u| u.identity.as_str()))
    }
}

/// One backup object already in the target schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicatePlan {
    /// Its identity (`ORIGINAL_ID`, else its id in the backup).
    pub identity: String,
    /// Its key in the backup.
    pub key: String,
    /// The target object it duplicates.
    pub existing_id: String,
    /// That object's key.
    pub existing_key: String,
}

/// An object type of the target schema that keeps its own icon although the backup type's
/// icon matched another of the target's global icons (`--with-icons`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IconKept {
    /// The type's path of names in the backup (`Parent/Child`).
    pub object_type: String,
    /// The type's id on the target.
    pub existing_id: String,
    /// The icon it keeps: its id and name.
    pub icon_id: String,
    /// That icon's name.
    pub icon: String,
    /// The backup type's icon name.
    pub backup_icon: String,
    /// The target global icon that name matched (what a new type gets): its id.
    pub matched_icon_id: String,
    /// That icon's name.
    pub matched_icon: String,
}

/// Requests the plan spent reading the target schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanCost {
    /// Object types listed (1) plus one attribute list per type.
    pub definition_requests: u64,
    /// AQL pages read.
    pub aql_pages: u64,
    /// Objects read.
    pub objects: u64,
}

/// The target schema's definitions, read once.
struct Target {
    types: Vec<ObjectType>,
    /// Own attributes per type id.
    attrs: HashMap<String, Vec<ObjectTypeAttribute>>,
}

impl Target {
    fn parent<'a>(&'a self, t: &ObjectType) -> Option<&'a ObjectType> {
        let p = t.parent_object_type_id.get()?.non_empty()?;
        self.types.iter().find(|x| x.id.as_str() == p)
    }

    /// The path of names of a target type (`Parent/Child`).
    fn path(&self, t: &ObjectType) -> String {
        let mut names = vec![t.name.as_deref().unwrap_or_default().trim().to_lowercase()];
        let mut cur = t;
        for _ in 0..self.types.len() {
            let Some(p) = self.parent(cur) else { break };
            names.push(p.name.as_deref().unwrap_or_default().trim().to_lowercase());
            cur = p;
        }
        names.reverse();
        names.join("/")
    }

    /// The attributes a target type sees: its own, then those its ancestors pass down.
    fn visible(&self, t: &ObjectType) -> Vec<&ObjectTypeAttribute> {
        let mut out: Vec<&ObjectTypeAttribute> = Vec::new();
        let mut cur = Some(t);
        let mut first = true;
        for _ in 0..=self.types.len() {
            let Some(c) = cur else { break };
            if !first && !c.inherited.get().copied().unwrap_or(false) {
                break;
            }
            out.extend(self.attrs.get(c.id.as_str()).into_iter().flatten());
            first = false;
            cur = self.parent(c);
        }
        out
    }
}

/// The path of names of a backup type.
fn source_path(source: &Source, id: &str) -> String {
    let mut names = Vec::new();
    let mut cur = source.object_type(id);
    for _ in 0..=source.types.len() {
        let Some(t) = cur else { break };
        names.push(t.name.trim().to_lowercase());
        cur = t.parent.as_deref().and_then(|p| source.object_type(p));
    }
    names.reverse();
    names.join("/")
}

/// The schema with `key` among the target's.
pub(super) fn find_schema<'s>(
    schemas: &'s [ObjectSchema],
    key: &str,
) -> Result<&'s ObjectSchema, Error> {
    schemas
        .iter()
        .find(|s| s.key() == key)
        .ok_or_else(|| Error::Destination {
            reason: format!(
                "no object schema with the key {key:?} exists on the target; list them with \
                 `assetark schemas list --site SITE --live`"
            ),
        })
}

/// Turns `plan` (built as for a new schema) into the plan of a restore into the existing
/// schema `schema`: matches, duplicates and the requests that remain.
pub(super) async fn apply(
    store: &AsyncStore,
    api: &dyn AssetsApi,
    source: &Source,
    graph: &ObjectGraph,
    schema: &ObjectSchema,
    plan: &mut RestorePlan,
) -> Result<(), Error> {
    let Destination::ExistingSchema { duplicates, .. } = &plan.destination else {
        return Ok(());
    };
    let create_duplicates = *duplicates;
    let schema_id = schema.id.as_str().to_owned();
    let types = api.list_object_types(&schema_id).await?;
    let mut attrs = HashMap::new();
    for t in &types {
        attrs.insert(
            t.id.as_str().to_owned(),
            api.list_attributes(t.id.as_str()).await?,
        );
    }
    let target = Target { types, attrs };
    let mut scan = ScanCost {
        definition_requests: 1 + target.types.len() as u64,
        ..ScanCost::default()
    };
    match_types(source, &target, plan);
    if plan.with_icons {
        plan.icons_kept = icons_kept(source, &target, plan);
    }
    match_schema_entities(api, &schema_id, plan).await?;
    let same_site = plan.source.site == plan.target_site;
    let mut taken = Taken::new(unique::unique_attributes(plan, &target.attrs));
    let found = scan_objects(api, &schema_id, &target, same_site, &mut scan, &mut taken).await?;
    let dups = duplicates_of(store, source, graph, &found).await?;
    let skipped: HashSet<&str> = if create_duplicates {
        HashSet::new()
    } else {
        dups.iter().map(|d| d.identity.as_str()).collect()
    };
    let unique_taken = taken.refusals(store, source, graph, &skipped).await?;
    let type_moves = moves(source, &target, plan);
    plan.existing = Some(ExistingPlan {
        schema_id,
        schema_name: schema.name().to_owned(),
        create_duplicates,
        duplicates: dups,
        type_moves,
        scan,
        unique_taken,
    });
    Ok(())
}

/// Object types by path of names; attributes by name (see the module doc).
fn match_types(source: &Source, target: &Target, plan: &mut RestorePlan) {
    let by_path: HashMap<String, &ObjectType> =
        target.types.iter().map(|t| (target.path(t), t)).collect();
    for tp in &mut plan.object_types {
        tp.existing_id = by_path
            .get(&source_path(source, &tp.old_id))
            .map(|t| t.id.as_str().to_owned());
    }
    let matched: HashMap<&str, &ObjectType> = plan
        .object_types
        .iter()
        .filter_map(|tp| {
            let id = tp.existing_id.as_deref()?;
            let t = target.types.iter().find(|t| t.id.as_str() == id)?;
            Some((tp.old_id.as_str(), t))
        })
        .collect();
    for ap in &mut plan.attributes {
        let Some(t) = matched.get(ap.object_type.as_str()) else {
            continue;
        };
        if ap.action == AttrAction::Drop {
            continue;
        }
        let visible = target.visible(t);
        let Some(found) = visible.iter().find(|a| same_name(a.name(), &ap.name)) else {
            continue;
        };
        let theirs = found.kind().name();
        if theirs == ap.type_name {
            ap.action = AttrAction::Existing;
            ap.existing_id = Some(found.id.as_str().to_owned());
        } else {
            ap.action = AttrAction::Conflict;
            ap.reason = Some(format!(
                "an attribute {:?} of type {theirs} exists on the target's object type (the \
                 backup's is {}): left as it is, its values are skipped",
                found.name(),
                ap.type_name
            ));
        }
    }
}

/// The matched object types whose own icon differs from the target global icon their backup
/// type's icon matched by name (an icon without a match takes the default icon on a new type:
/// nothing of the backup is lost by keeping the existing icon then, so it is not listed).
fn icons_kept(source: &Source, target: &Target, plan: &RestorePlan) -> Vec<IconKept> {
    plan.object_types
        .iter()
        .filter_map(|tp| {
            let existing = tp.existing_id.as_deref()?;
            let theirs = target.types.iter().find(|t| t.id.as_str() == existing)?;
            let backup_icon = source.object_type(&tp.old_id)?.icon_id.as_deref()?;
            let matched = plan
                .icons
                .iter()
                .find(|i| i.old_id == backup_icon && i.matched)?;
            let matched_id = matched.target_id.as_deref()?;
            let own = theirs.icon.get();
            let own_id = own.map_or("", |i| i.id.as_str());
            (own_id != matched_id).then(|| IconKept {
                object_type: source.path(&tp.old_id),
                existing_id: existing.to_owned(),
                icon_id: own_id.to_owned(),
                icon: own.map_or("", |i| i.name()).to_owned(),
                backup_icon: matched.name.clone(),
                matched_icon_id: matched_id.to_owned(),
                matched_icon: matched.target_name.clone(),
            })
        })
        .collect()
}

/// New object types that will need a move: the target appends a new type to its siblings,
/// which in an existing schema may include types the backup does not have.
fn moves(source: &Source, target: &Target, plan: &RestorePlan) -> u64 {
    let existing: HashMap<&str, &str> = plan
        .object_types
        .iter()
        .filter_map(|t| Some((t.old_id.as_str(), t.existing_id.as_deref()?)))
        .collect();
    // Children per target parent ("" = the schema's root), counted as creates go.
    let mut children: HashMap<String, i64> = HashMap::new();
    for t in &target.types {
        let p = t
            .parent_object_type_id
            .get()
            .and_then(|p| p.non_empty())
            .unwrap_or("");
        *children.entry(p.to_owned()).or_default() += 1;
    }
    let mut n = 0;
    for t in source
        .types
        .iter()
        .filter(|t| !existing.contains_key(t.id.as_str()))
    {
        // A new type's parent is matched (a target id) or new (keyed by its backup id).
        let parent = match t.parent.as_deref() {
            None => String::new(),
            Some(p) => existing
                .get(p)
                .map_or_else(|| format!("new:{p}"), |id| (*id).to_owned()),
        };
        let c = children.entry(parent).or_default();
        if *c != t.position {
            n += 1;
        }
        *c += 1;
    }
    n
}

/// The schema's own status and reference types, matched by name in the target schema.
async fn match_schema_entities(
    api: &dyn AssetsApi,
    schema: &str,
    plan: &mut RestorePlan,
) -> Result<(), Error> {
    let (statuses, refs) = tokio::try_join!(
        api.list_status_types(Some(schema)),
        api.list_reference_types(Some(schema), false),
    )?;
    for e in plan.status_types.iter_mut().filter(|e| !e.global) {
        e.existing_id =
            super::entities::id_by_name(statuses.iter().filter(|s| !s.is_global()), &e.name);
    }
    for e in plan.reference_types.iter_mut().filter(|e| !e.global) {
        e.existing_id =
            super::entities::id_by_name(refs.iter().filter(|r| !r.is_global()), &e.name);
    }
    Ok(())
}

/// Identity -> (id, key) of the target schema's objects: their `ORIGINAL_ID`, and on the
/// backup's own site their ids too. One AQL scan.
async fn scan_objects(
    api: &dyn AssetsApi,
    schema: &str,
    target: &Target,
    same_site: bool,
    cost: &mut ScanCost,
    taken: &mut Taken,
) -> Result<HashMap<String, (String, String)>, Error> {
    let id_attrs: HashSet<&str> = target
        .attrs
        .values()
        .flatten()
        .filter(|a| a.name() == ORIGINAL_ID)
        .map(|a| a.id.as_str())
        .collect();
    let mut out: HashMap<String, (String, String)> = HashMap::new();
    let mut pager = AqlPager::new(api, &format!("objectSchemaId = {schema}"), SCAN_PAGE);
    while let Some(page) = pager.next_page().await? {
        cost.aql_pages += 1;
        cost.objects += page.values.len() as u64;
        for o in &page.values {
            taken.note(o);
            let here = (o.id.as_str().to_owned(), o.key().to_owned());
            if let Some(orig) = original_id(o, &id_attrs) {
                out.entry(orig.to_owned()).or_insert_with(|| here.clone());
            }
            if same_site {
                out.entry(here.0.clone()).or_insert(here);
            }
        }
    }
    Ok(out)
}

fn original_id<'o>(o: &'o Object, id_attrs: &HashSet<&str>) -> Option<&'o str> {
    o.attributes()
        .iter()
        .filter(|a| id_attrs.contains(a.object_type_attribute_id.as_str()))
        .find_map(|a| a.values().first()?.value.get().and_then(Scalar::as_str))
}

/// The backup objects whose identity the target schema holds, with their backup keys.
async fn duplicates_of(
    store: &AsyncStore,
    source: &Source,
    graph: &ObjectGraph,
    found: &HashMap<String, (String, String)>,
) -> Result<Vec<DuplicatePlan>, Error> {
    let hits: Vec<String> = (0..graph.len() as u32)
        .map(|i| graph.orig_id(i))
        .filter(|id| found.contains_key(*id))
        .map(str::to_owned)
        .collect();
    let mut out = Vec::with_capacity(hits.len());
    for chunk in hits.chunks(super::objects::CHUNK) {
        let entries = store
            .entries_by_id(source.backup.id, kind::OBJECT, chunk.to_vec())
            .await?;
        for e in entries {
            let obj: Object = serde_json::from_slice(&e.json)?;
            let (existing_id, existing_key) = found[&e.original_id].clone();
            out.push(DuplicatePlan {
                identity: e.original_id,
                key: obj.key().to_owned(),
                existing_id,
                existing_key,
            });
        }
    }
    Ok(out)
}

/// The requests of the stages that differ from a new schema: no schema and no config; only
/// the object types and attributes not matched; no create for a skipped duplicate or an
/// object whose unique value is taken.
pub(super) fn adjust_estimate(source: &Source, graph: &ObjectGraph, plan: &mut RestorePlan) {
    let Some(existing) = &plan.existing else {
        return;
    };
    let skipped: HashSet<&str> = existing.skipped_identities().collect();
    let new_types = plan
        .object_types
        .iter()
        .filter(|t| t.existing_id.is_none())
        .count();
    let moves = existing.type_moves as usize;
    let writes = |a: &&super::plan::AttrPlan| {
        matches!(
            a.action,
            AttrAction::Create | AttrAction::Added | AttrAction::UpdateName
        )
    };
    let attr_writes = plan.attributes.iter().filter(writes).count();
    // A root type with something to create or update lists its attributes first.
    let listed: HashSet<&str> = plan
        .attributes
        .iter()
        .filter(writes)
        .map(|a| a.object_type.as_str())
        .filter(|t| source.attr_root(t) == *t)
        .collect();
    let live = |i: u32| !skipped.contains(graph.orig_id(i));
    let creates = (0..graph.len() as u32).filter(|i| live(*i)).count();
    let updates = (0..graph.len() as u32)
        .filter(|i| graph.has_deferred(*i) && live(*i))
        .count();
    for s in &mut plan.requests.per_stage {
        s.requests = match s.stage {
            Stage::Schema | Stage::GlobalConfig | Stage::Icons => 0,
            Stage::ObjectTypes => (new_types + moves) as u64,
            Stage::Attributes => (attr_writes + listed.len()) as u64,
            Stage::ObjectEntries => creates as u64,
            Stage::ObjectReferences => updates as u64,
            _ => s.requests,
        };
    }
    plan.requests.total = plan.requests.per_stage.iter().map(|s| s.requests).sum();
}
