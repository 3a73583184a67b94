//! [`RestorePlan`]: every decision of a restore that can be made without writing, as a value —
//! shown as a dry run, stored with the restore row, and followed by `execute`.
//!
//! A stored plan carries its format version ([`PLAN_FORMAT_VERSION`]); [`RestorePlan::from_stored`]
//! reads plans of every earlier format (migrating them) and refuses newer ones.
//!
//! Building it reads the backup (one streaming pass over the objects for users, groups, long
//! texts and the creation order) and the target (schema list, global statuses, reference
//! types and icons, user and group lookups). It changes nothing.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::accounts::{self, AccountLookup, AccountMatch, UserValues};
use super::entities::{id_by_name, same_name};
use super::existing::{self, ExistingPlan, IconKept};
use super::hooks::{self, HookPlan, HookScan, HookSetup};
use super::options;
use super::order::{self, OrderStats};
use super::selection::{self, TypesPlan};
use super::source::{AttrDef, ORIGINAL_ID, ORIGINAL_KEY, Source};
use super::summary::PlanSummary;
use super::users::{GroupLookup, UserLookup, UserLookupMethod};
use super::{Destination, Error, RestoreRequest, Stage, users};
use crate::assets::AssetsApi;
use crate::model::{AttributeKind, Icon, Id, Named, Object, ObjectSchema, TEXT};
use crate::store::{AsyncStore, BackupId};

/// The format of the plans this code writes. 1: the first restores' plans, which carry no
/// version (nor `lookups`); 2: `format_version` and `lookups`; 3: `accounts` (user values
/// keep their accountId on the backup's own site); 4: `with_icons` and `history` (issue 9);
/// 5: `types` (`--types`: a plan with them must not run on code that would restore every
/// type) and `summary`.
pub const PLAN_FORMAT_VERSION: u32 = 5;

/// The plan of one restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestorePlan {
    /// Format of this plan ([`PLAN_FORMAT_VERSION`]; 1 when absent: written before formats
    /// had versions).
    #[serde(default = "first_format")]
    pub format_version: u32,
    /// The backup restored.
    pub backup_id: BackupId,
    /// Where the backup came from.
    pub source: SchemaRef,
    /// Site name of the target.
    pub target_site: String,
    /// Where on the target.
    pub destination: Destination,
    /// Why the destination cannot be created as asked (name or key in use on the target);
    /// executing anyway ends in error with the API's own message, creating nothing.
    pub conflict: Option<String>,
    /// Backup icons -> target global icons.
    pub icons: Vec<IconPlan>,
    /// The global icon used for icons without a counterpart.
    pub default_icon: Option<String>,
    /// `--with-icons`: icons matched by name on another site (on the backup's own site they
    /// always are: the same global icons); without it another site's types take
    /// `default_icon`.
    #[serde(default)]
    pub with_icons: bool,
    /// Icons the backup's object types use that the backup does not hold (its icon capture
    /// had not finished): those types take `default_icon`, and the restore's result says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub icons_missing: Vec<String>,
    /// `--with-icons` into an existing schema: its object types that keep their own icon
    /// instead of the one the backup's icon matched (existing types are not changed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub icons_kept: Vec<IconKept>,
    /// `--history`: an added Textarea `OBJECT_HISTORY` per attribute root type, set with each
    /// object's rendered history in its create call.
    #[serde(default)]
    pub history: bool,
    /// Status types: global ones matched by name or created; the schema's own created.
    pub status_types: Vec<EntityPlan>,
    /// Reference types, likewise.
    pub reference_types: Vec<EntityPlan>,
    /// `--types`: the types asked for, the parents they bring in and the types left out
    /// (`None`: every type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<TypesPlan>,
    /// Object types, in creation order (parents first).
    pub object_types: Vec<TypePlan>,
    /// The attribute mapping, in creation order, incl. the added identity attributes.
    pub attributes: Vec<AttrPlan>,
    /// On the backup's own site: the accountIds of the backup's user values and whether each
    /// still exists there (then its values keep it). Empty on another site, and in plans of
    /// formats 1 and 2 (which matched every user by display name).
    #[serde(default)]
    pub accounts: Vec<AccountMatch>,
    /// Backup display names -> target accounts: every user on another site; on the backup's
    /// own site only those of gone accounts (and of values without an accountId).
    pub users: Vec<UserMatch>,
    /// Group names used by values or allowed-group settings, and whether the target has them.
    pub groups: Vec<GroupMatch>,
    /// How users and groups were looked up on the target, and the Jira requests it took
    /// (planning requests; `requests` counts those of `execute`). `None` in plans of format 1,
    /// which did not record it.
    #[serde(default)]
    pub lookups: Option<Lookups>,
    /// The order of object creation in numbers.
    pub order: OrderSummary,
    /// Into an existing schema: what the plan found there (duplicates, the scan's cost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<ExistingPlan>,
    /// Requests `execute` sends to the target when nothing goes wrong.
    pub requests: RequestEstimate,
    /// The restore's hooks and what they decided (absent when no hook takes part).
    #[serde(default, skip_serializing_if = "HookPlan::is_empty")]
    pub hooks: HookPlan,
    /// What the plan leaves out or skips, listed, and its requests (from the rest of the
    /// plan; empty in plans of formats up to 3).
    #[serde(default)]
    pub summary: PlanSummary,
}

fn first_format() -> u32 {
    1
}

/// What a stored plan says about itself before it is read whole.
#[derive(Deserialize)]
struct StoredHeader {
    #[serde(default)]
    format_version: Option<u32>,
}

impl RestorePlan {
    /// Reads a plan as the store holds it, migrating older formats to the current one.
    ///
    /// # Errors
    ///
    /// [`Error::PlanVersion`] for a format this code does not know (written by a newer
    /// assetark); [`Error::Json`] for a plan that is not one.
    pub fn from_stored(stored: serde_json::Value) -> Result<RestorePlan, Error> {
        let header = StoredHeader::deserialize(&stored)?;
        let found = header.format_version.unwrap_or_else(first_format);
        if found == 0 || found > PLAN_FORMAT_VERSION {
            return Err(Error::PlanVersion {
                found,
                supported: PLAN_FORMAT_VERSION,
            });
        }
        let mut plan: RestorePlan = serde_json::from_value(stored)?;
        // 1 -> 2: nothing changes meaning; the lookups of a format-1 plan were not recorded
        // (`None`). 2 -> 3: no `accounts`, so every user value follows `users` (the display
        // name), as that plan said. 3 -> 4: such plans matched icons by name on every site,
        // which is `with_icons` on another site now; they had no history. 4 -> 5: no `types`
        // (every type); the summary is derived from the rest. The version is the current one
        // from now on.
        if found < 4 && plan.source.site != plan.target_site {
            plan.with_icons = true;
        }
        if found < 5 {
            plan.summary = super::summary::of(&plan);
        }
        plan.format_version = PLAN_FORMAT_VERSION;
        Ok(plan)
    }

    /// Whether group `name` exists on the target.
    pub fn group_exists(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g.name == name && g.exists)
    }

    /// The planned requests of one stage.
    pub fn requests_of(&self, stage: Stage) -> u64 {
        self.requests
            .per_stage
            .iter()
            .find(|s| s.stage == stage)
            .map_or(0, |s| s.requests)
    }
}

/// The user and group lookups of a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookups {
    /// Users: by search or by directory.
    pub users: UserLookup,
    /// Groups.
    pub groups: GroupLookup,
    /// On the backup's own site: the check of the values' accountIds (`None` elsewhere, and
    /// in plans of formats up to 2).
    #[serde(default)]
    pub accounts: Option<AccountLookup>,
}

/// The schema a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaRef {
    /// Site it was backed up from.
    pub site: String,
    /// Its id there.
    pub id: String,
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Objects in the backup.
    pub objects: u64,
}

/// One icon of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IconPlan {
    /// Backup icon id.
    pub old_id: String,
    /// Its name.
    pub name: String,
    /// The target global icon used (`None`: the target has no global icons).
    pub target_id: Option<String>,
    /// That icon's name.
    pub target_name: String,
    /// Whether the names match (otherwise the default icon stands in).
    pub matched: bool,
}

/// A status or reference type of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityPlan {
    /// Backup id.
    pub old_id: String,
    /// Name.
    pub name: String,
    /// Global rather than the schema's own.
    pub global: bool,
    /// The target's global entity of the same name (then nothing is created).
    pub existing_id: Option<String>,
}

/// An object type to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypePlan {
    /// Backup id.
    pub old_id: String,
    /// Name.
    pub name: String,
    /// Backup id of the parent.
    pub parent: Option<String>,
    /// Name of the parent.
    pub parent_name: Option<String>,
    /// Position among its siblings.
    pub position: i64,
    /// Children inherit its attributes.
    pub inherited: bool,
    /// It cannot hold objects.
    pub abstract_object_type: bool,
    /// Into an existing schema: the target's type of the same path of names (then nothing is
    /// created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
    /// Its objects in the backup (0 in plans of formats up to 3, which did not count them).
    #[serde(default)]
    pub objects: u64,
}

/// What happens to one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrAction {
    /// Created with its configuration.
    Create,
    /// The label ("Name") the target creates with a root type, updated with this config.
    UpdateName,
    /// A system attribute (Key, Created, Updated) the target creates itself: only mapped.
    System,
    /// An added Text attribute (`ORIGINAL_ID` / `ORIGINAL_KEY`).
    Added,
    /// Not restored; see the reason.
    Drop,
    /// Into an existing schema: the target type's attribute of this name and type (mapped,
    /// nothing created).
    Existing,
    /// Into an existing schema: the name exists there with another type; left as it is, the
    /// values are skipped (see the reason).
    Conflict,
}

/// One attribute of the mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrPlan {
    /// Backup id (`None` for an added attribute).
    pub old_id: Option<String>,
    /// Backup id of its object type.
    pub object_type: String,
    /// Name of its object type.
    pub object_type_name: String,
    /// Name.
    pub name: String,
    /// Kind: "Text", "Object", "User", "Status", ...
    pub type_name: String,
    /// What happens to it.
    pub action: AttrAction,
    /// It carries the objects' `ORIGINAL_ID` / `ORIGINAL_KEY`.
    pub identity: bool,
    /// Why it is dropped.
    pub reason: Option<String>,
    /// Values longer than the target's Text limit (`Flavor::text_max_chars`: 255 on Assets
    /// Cloud, 450 on Data Center); those objects fail until a `transform_attribute` hook
    /// converts the attribute to Textarea.
    pub long_text_values: u64,
    /// With [`AttrAction::Existing`]: the target attribute's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
}

impl AttrPlan {
    /// The key of this attribute in the restore's id map.
    pub fn map_key(&self) -> String {
        match &self.old_id {
            Some(id) => id.clone(),
            None => format!("{}@{}", self.name, self.object_type),
        }
    }
}

/// A backup user and its target account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMatch {
    /// Display name in the backup.
    pub display_name: String,
    /// The target account with exactly this display name; `None` for no or several.
    pub account_id: Option<String>,
    /// Why.
    pub reason: String,
    /// Values in the backup holding this user.
    pub values: u64,
}

/// A group name and whether the target has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMatch {
    /// Group name.
    pub name: String,
    /// Whether the target has a group of exactly this name.
    pub exists: bool,
}

/// The order of object creation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    /// Objects in the backup.
    pub objects: u64,
    /// Objects per wave (a wave only references earlier waves).
    pub waves: Vec<u64>,
    /// References set by the object references stage (cycles, incl. self references).
    pub deferred_references: u64,
    /// Of those, objects referencing themselves.
    pub self_references: u64,
    /// Objects updated by the object references stage.
    pub objects_with_deferred_references: u64,
    /// Deferred references per attribute.
    pub deferred_by_attribute: Vec<DeferredAttr>,
    /// References to objects not in the backup (left out, with a note).
    pub dangling_references: u64,
}

/// Deferred references of one attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferredAttr {
    /// Backup attribute id.
    pub attribute: String,
    /// Its name.
    pub name: String,
    /// Its object type's name.
    pub object_type_name: String,
    /// References deferred.
    pub references: u64,
}

/// Requests per stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEstimate {
    /// Per stage, in stage order.
    pub per_stage: Vec<StageRequests>,
    /// Sum.
    pub total: u64,
}

/// Requests of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRequests {
    /// The stage.
    pub stage: Stage,
    /// Requests `execute` sends in it when nothing goes wrong.
    pub requests: u64,
}

/// Builds the plan (see [`super::plan`]).
pub(super) async fn build(
    store: &AsyncStore,
    target: &dyn AssetsApi,
    req: &RestoreRequest,
    setup: HookSetup<'_>,
) -> Result<RestorePlan, Error> {
    let backup = store.get_backup(req.backup_id).await?;
    options::check(&backup, req, store.blocking().backend())?;
    let (source, types) = selection::source_for(store, req, backup).await?;
    let active = hooks::activate(setup, &req.hooks, &source.backup.site, target)?;
    let mut hook_plan = HookPlan {
        selection: req.hooks.clone(),
        ..HookPlan::default()
    };
    let (schemas, statuses, ref_types, icons) = tokio::try_join!(
        target.list_schemas(),
        target.list_status_types(None),
        target.list_reference_types(None, false),
        target.global_icons(),
    )?;
    // The Text limit is the target's: a Data Center backup's long texts fit another Data
    // Center site, not Assets Cloud.
    let text_max = target.flavor().text_max_chars();
    let mut scan = Scan::new(&source, HookScan::new(&active), text_max);
    let graph = order::build(store, &source, |o| scan.visit(o)).await?;
    let mut attributes = plan_attributes(&source, &scan.long_text);
    hooks::transform_attributes(
        &active,
        &source,
        &scan.hooks,
        &mut attributes,
        &mut hook_plan,
    )
    .await?;
    if req.history {
        options::add_history_attrs(&source, &mut attributes);
    }
    // On the backup's own site the accounts exist: values keep them, and only gone ones are
    // matched by display name.
    let (accounts, names, account_lookup) = if source.backup.site == req.target_site {
        let (m, names, lookup) = accounts::check(target, &scan.users).await?;
        (m, names, Some(lookup))
    } else {
        (Vec::new(), scan.users.by_name.clone(), None)
    };
    let method = UserLookupMethod::choose(names.len());
    let keep = active.has(crate::hooks::HookPoint::MatchUser);
    let (mut users, user_lookup) = users::match_users_with(target, &names, method, keep).await?;
    hooks::match_users(&active, &scan.hooks, &mut users, &mut hook_plan).await?;
    let users = users.into_iter().map(|(m, _)| m).collect();
    let (groups, group_lookup) = users::match_groups(target, &scan.groups).await?;
    // Only global entities are shared; the schema's own are always new.
    let global_statuses: Vec<_> = statuses.iter().filter(|s| s.is_global()).collect();
    let global_ref_types: Vec<_> = ref_types.iter().filter(|r| r.is_global()).collect();
    let same_site = source.backup.site == req.target_site;
    let (icon_plans, default_icon) = plan_icons(&source, &icons, same_site || req.with_icons);
    let order = summary(&source, graph.len() as u64, &graph.stats);
    let mut plan = RestorePlan {
        format_version: PLAN_FORMAT_VERSION,
        backup_id: req.backup_id,
        source: SchemaRef {
            site: source.backup.site.clone(),
            id: source.backup.schema_id.clone(),
            key: source.backup.schema_key.clone(),
            name: source.schema.name().to_owned(),
            objects: graph.len() as u64,
        },
        target_site: req.target_site.clone(),
        destination: req.destination.clone(),
        conflict: conflict(&schemas, &req.destination),
        types,
        icons: icon_plans,
        default_icon,
        with_icons: req.with_icons,
        icons_missing: options::icons_missing(&source),
        icons_kept: Vec::new(),
        history: req.history,
        status_types: source
            .statuses
            .iter()
            .map(|s| entity(&s.id, &s.name, s.global, &global_statuses))
            .collect(),
        reference_types: source
            .ref_types
            .iter()
            .map(|r| entity(&r.id, &r.name, r.global, &global_ref_types))
            .collect(),
        object_types: source
            .types
            .iter()
            .map(|t| TypePlan {
                old_id: t.id.clone(),
                name: t.name.clone(),
                parent: t.parent.clone(),
                parent_name: t
                    .parent
                    .as_deref()
                    .and_then(|p| source.object_type(p))
                    .map(|p| p.name.clone()),
                position: t.position,
                inherited: t.inherited,
                abstract_object_type: t.abstract_type,
                existing_id: None,
                objects: scan.per_type.get(&t.id).copied().unwrap_or(0),
            })
            .collect(),
        attributes,
        accounts,
        users,
        groups,
        lookups: Some(Lookups {
            users: user_lookup,
            groups: group_lookup,
            accounts: account_lookup,
        }),
        order,
        existing: None,
        requests: RequestEstimate::default(),
        hooks: hook_plan,
        summary: PlanSummary::default(),
    };
    if let Destination::ExistingSchema { key, .. } = &req.destination {
        let schema = existing::find_schema(&schemas, key)?;
        existing::apply(store, target, &source, &graph, schema, &mut plan).await?;
    }
    let left = super::hook_objects::plan(&active, store, &source, &graph, &mut plan).await?;
    plan.requests = super::estimate::estimate(&source, &plan);
    existing::adjust_estimate(&source, &graph, &mut plan);
    super::hook_objects::adjust_estimate(&mut plan, left);
    plan.summary = super::summary::of(&plan);
    Ok(plan)
}

/// Why a new schema with this name and key cannot be created on the target.
fn conflict(schemas: &[ObjectSchema], dest: &Destination) -> Option<String> {
    let Destination::NewSchema { name, key } = dest else {
        return None;
    };
    schemas.iter().find_map(|s| {
        let (n, k) = (s.name(), s.key());
        if same_name(n, name) {
            Some(format!("an object schema named {n:?} exists on the target"))
        } else if k == key {
            Some(format!(
                "an object schema with the key {k:?} exists on the target"
            ))
        } else {
            None
        }
    })
}

fn entity<T: Named>(old_id: &str, name: &str, global: bool, target_globals: &[&T]) -> EntityPlan {
    EntityPlan {
        old_id: old_id.to_owned(),
        name: name.to_owned(),
        global,
        // Only global entities are shared; the schema's own are always new.
        existing_id: global
            .then(|| id_by_name(target_globals.iter().copied(), name))
            .flatten(),
    }
}

/// Icons by name among the target's global icons (when `match_names`); the lowest-id global
/// icon stands in for the rest.
fn plan_icons(
    source: &Source,
    target: &[Icon],
    match_names: bool,
) -> (Vec<IconPlan>, Option<String>) {
    let fallback = target
        .iter()
        .filter_map(|i| Some((i.id.non_empty()?.to_owned(), i.name().to_owned())))
        .min_by_key(|(id, _)| (id.len(), id.clone()));
    let plans = source
        .icons
        .iter()
        .map(|icon| {
            let hit = target
                .iter()
                .filter(|_| match_names)
                .find(|t| t.name.as_deref().is_some_and(|n| same_name(n, &icon.name)))
                .and_then(|t| Some((t.id.non_empty()?.to_owned(), t.name.get()?.clone())));
            let matched = hit.is_some();
            let (target_id, target_name) = match hit.or_else(|| fallback.clone()) {
                Some((id, name)) => (Some(id), name),
                None => (None, String::new()),
            };
            IconPlan {
                old_id: icon.id.clone(),
                name: icon.name.clone(),
                target_id,
                target_name,
                matched,
            }
        })
        .collect();
    (plans, fallback.map(|(id, _)| id))
}

/// The attribute mapping: per object type (parents first), its own attributes in position
/// order, then the identity attributes it needs.
fn plan_attributes(source: &Source, long_text: &HashMap<String, u64>) -> Vec<AttrPlan> {
    let mut out = Vec::new();
    for t in &source.types {
        let root = source.attr_root(&t.id) == t.id;
        // The label the target creates with a root type takes the backup's "Name" (or, when
        // the label was renamed, the backup's label attribute).
        let name_attr = root
            .then(|| {
                let own = || source.own_attrs(&t.id).filter(|a| !a.system);
                own()
                    .find(|a| a.name == "Name")
                    .or_else(|| own().find(|a| a.label))
                    .map(|a| a.id.clone())
            })
            .flatten();
        for a in source.own_attrs(&t.id) {
            let (action, reason) = if a.system {
                (AttrAction::System, None)
            } else if name_attr.as_deref() == Some(a.id.as_str()) {
                (AttrAction::UpdateName, None)
            } else {
                match drop_reason(source, a) {
                    Some(r) => (AttrAction::Drop, Some(r)),
                    None => (AttrAction::Create, None),
                }
            };
            out.push(AttrPlan {
                old_id: Some(a.id.clone()),
                object_type: t.id.clone(),
                object_type_name: t.name.clone(),
                name: a.name.clone(),
                type_name: a.kind.name(),
                action,
                identity: root && a.is_identity(),
                reason,
                long_text_values: long_text.get(&a.id).copied().unwrap_or(0),
                existing_id: None,
            });
        }
        if root {
            for name in [ORIGINAL_ID, ORIGINAL_KEY] {
                if source.own_named(&t.id, name).is_none() {
                    out.push(AttrPlan {
                        old_id: None,
                        object_type: t.id.clone(),
                        object_type_name: t.name.clone(),
                        name: name.to_owned(),
                        type_name: AttributeKind::Default(TEXT).name(),
                        action: AttrAction::Added,
                        identity: true,
                        reason: None,
                        long_text_values: 0,
                        existing_id: None,
                    });
                }
            }
        }
    }
    out
}

/// Why an attribute cannot be restored here, if it cannot.
fn drop_reason(source: &Source, a: &AttrDef) -> Option<String> {
    match &a.kind {
        AttributeKind::Object { target, .. } if source.left_out(target).is_some() => Some(format!(
            "it references object type {:?}, which this restore leaves out (--types)",
            source.left_out(target).unwrap_or_default()
        )),
        AttributeKind::Object { target, .. } if source.object_type(target).is_none() => {
            let referenced = a.def.reference_object_type.get();
            Some(cross_schema_reason(
                target,
                referenced.and_then(|t| t.name.non_empty()),
                referenced.and_then(|t| t.object_schema_id.get().and_then(Id::non_empty)),
            ))
        }
        AttributeKind::Other(n) => Some(format!(
            "attribute type {n} is not restored to Assets Cloud"
        )),
        _ => None,
    }
}

/// The drop reason of a reference into another schema: the restore cannot set it (that
/// schema is not part of the backup), the post-restore references task does, once both
/// schemas are on the target; the text names the command.
pub(crate) fn cross_schema_reason(
    target: &str,
    target_name: Option<&str>,
    schema: Option<&str>,
) -> String {
    let name = target_name.map(|n| format!(" ({n})")).unwrap_or_default();
    let schema = schema
        .map(|s| format!("another schema (schema {s} on the backup's site)"))
        .unwrap_or_else(|| "another schema".to_owned());
    format!(
        "the reference goes to object type {target}{name} of {schema}, which this restore \
         does not create: the references task creates the attribute and sets its values once \
         that schema is on the target too (`assetark tasks start references RESTORE_ID \
         --from-schema KEY --outbound`, KEY being that schema's key on the target)"
    )
}

fn summary(source: &Source, objects: u64, s: &OrderStats) -> OrderSummary {
    OrderSummary {
        objects,
        waves: s.waves.clone(),
        deferred_references: s.deferred_edges,
        self_references: s.self_edges,
        objects_with_deferred_references: s.objects_with_deferred,
        deferred_by_attribute: s
            .deferred_by_attr
            .iter()
            .map(|(ax, n)| {
                let a = &source.attrs[*ax];
                DeferredAttr {
                    attribute: a.id.clone(),
                    name: a.name.clone(),
                    object_type_name: source
                        .object_type(&a.type_id)
                        .map(|t| t.name.clone())
                        .unwrap_or_default(),
                    references: *n,
                }
            })
            .collect(),
        dangling_references: s.dangling_edges,
    }
}

/// What the plan collects from the objects in its one pass.
struct Scan<'s> {
    source: &'s Source,
    users: UserValues,
    groups: BTreeMap<String, u64>,
    long_text: HashMap<String, u64>,
    /// Objects per type id.
    per_type: HashMap<String, u64>,
    /// The target's Text limit in characters.
    text_max: usize,
    hooks: HookScan,
}

impl<'s> Scan<'s> {
    fn new(source: &'s Source, hooks: HookScan, text_max: usize) -> Scan<'s> {
        // Groups that User attributes allow must exist too (or be left out of the config).
        let mut groups = BTreeMap::new();
        for a in source
            .attrs
            .iter()
            .filter(|a| a.kind == AttributeKind::User)
        {
            for g in a.def.type_values() {
                groups.entry(g.to_owned()).or_insert(0);
            }
        }
        Scan {
            source,
            users: UserValues::default(),
            groups,
            long_text: HashMap::new(),
            per_type: HashMap::new(),
            text_max,
            hooks,
        }
    }

    fn visit(&mut self, obj: &Object) {
        if let Some(t) = obj.type_id() {
            *self.per_type.entry(t.to_owned()).or_default() += 1;
        }
        for a in obj.attributes() {
            let id = a.object_type_attribute_id.as_str();
            let Some(def) = self.source.attr(id) else {
                continue;
            };
            for v in a.values() {
                self.hooks.visit(id, &def.kind, v);
                match def.kind {
                    AttributeKind::User => self.users.add(v),
                    AttributeKind::Group => {
                        if let Some(n) = v.group_name() {
                            *self.groups.entry(n.to_owned()).or_default() += 1;
                        }
                    }
                    AttributeKind::Default(TEXT)
                        if v.value
                            .get()
                            .and_then(|x| x.as_str())
                            .is_some_and(|s| s.chars().count() > self.text_max) =>
                    {
                        *self.long_text.entry(id.to_owned()).or_default() += 1;
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
