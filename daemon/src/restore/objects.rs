//! Stage "Restoring object entries": every object, created once, in reference order.
//!
//! Objects go wave by wave (see `order`): a wave only references objects of earlier waves, so
//! each reference is set in the create call itself (`POST /object/create`) and only references
//! inside cycles wait for the object references stage — about one request per object. Within a
//! wave, creates run concurrently ([`Ctx::fan_out`] in flight; the client's governor paces
//! them). Object JSON is read from the store in small batches; memory holds the compact graph,
//! one new id per object and at most a few hundred objects in flight.
//!
//! Results are recorded in batches (id mapping + log line in one store transaction); a batch
//! is flushed at the latest when its wave ends, so an object's mapping is durable before any
//! object referencing it is created.
//!
//! Never twice:
//! - every restored object carries `ORIGINAL_ID`, its identity in the backup;
//! - a create whose outcome is unknown ([`assets::Error::Ambiguous`]: a 5xx or a connection
//!   lost after the request was sent) is resolved by looking that `ORIGINAL_ID` up in the new
//!   schema (AQL) before the create is tried again;
//! - a resumed stage (an earlier run started it and may have died with creates in flight or
//!   mappings unflushed) first pages through the new schema and maps every object found by its
//!   `ORIGINAL_ID`, then creates only what is still missing;
//! - the STOP token only stops *starting* creates: those in flight finish and are recorded.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;

use super::ctx::{Ctx, Flow, ObjectIds};
use super::duplicates;
use super::idmap::{self, kinds};
use super::options::{self, HISTORY_MAX_CHARS};
use super::order::ObjectGraph;
use super::source::ORIGINAL_ID;
use super::values::Lookup;
use super::{Error, Stage, log};
use super::{hook_objects, hooks};
use crate::assets::{self, AqlPager, AqlQuery, AssetsApi};
use crate::hooks::{ActiveHooks, HookPoint, TypeRef};
use crate::model::{ApiErrors, Object, ObjectIn, ValueIn};
use crate::store::{IdMapping, LogLevel, NewLogEntry, kind};
use serde::Deserialize;

/// Objects read from the store per query.
pub(super) const CHUNK: usize = 128;
/// Results recorded per store transaction.
const FLUSH: usize = 256;
/// Objects per AQL page when reconciling with the target.
const SCAN_PAGE: usize = 1000;
/// Tries of one create that keep coming back ambiguous (each followed by a lookup).
const AMBIGUOUS_TRIES: u32 = 8;
/// Creates retried after removing refused user/group values (a second round catches values
/// the first message did not quote).
const DROP_ROUNDS: u32 = 2;
/// Prefix of the API's per-attribute error keys.
const ATTR_ERROR_PREFIX: &str = "rlabs-insight-attribute-";

/// Which objects earlier runs (or stages) created or saw refused: taken from the context
/// when an earlier stage of this execution loaded them, else read from the id map. A stage
/// hands them back with [`Ctx::objects`] when it ends.
pub(super) async fn load_ids(ctx: &mut Ctx<'_>, g: &ObjectGraph) -> Result<ObjectIds, Error> {
    if let Some(ids) = ctx.objects.take() {
        return Ok(ids);
    }
    let mut new_ids = vec![0u64; g.len()];
    let mut failed = vec![false; g.len()];
    idmap::for_each(ctx.store, ctx.id, kinds::OBJECT, |old, new| {
        if let (Some(i), Ok(n)) = (g.index_of_orig(&old), new.parse::<u64>()) {
            new_ids[i as usize] = n;
        }
    })
    .await?;
    idmap::for_each(ctx.store, ctx.id, kinds::OBJECT_FAILED, |old, _| {
        if let Some(i) = g.index_of_orig(&old) {
            failed[i as usize] = true;
        }
    })
    .await?;
    let mut ids = ObjectIds {
        new_ids,
        failed,
        skipped: vec![false; g.len()],
    };
    duplicates::load(ctx, g, &mut ids).await?;
    Ok(ids)
}

/// Reads objects `idx` from the backup.
pub(super) async fn fetch(
    ctx: &Ctx<'_>,
    g: &ObjectGraph,
    idx: &[u32],
) -> Result<Vec<(u32, Object)>, Error> {
    let origs: Vec<String> = idx.iter().map(|i| g.orig_id(*i).to_owned()).collect();
    let entries = ctx
        .store
        .entries_by_id(ctx.source.backup.id, kind::OBJECT, origs)
        .await?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        if let Some(i) = g.index_of_orig(&e.original_id) {
            out.push((i, serde_json::from_slice(&e.json)?));
        }
    }
    if out.len() < idx.len() {
        // The backup lost entries since the restore started (deleted, or its store changed
        // under it): creating the others and finishing the stage would report a restore
        // complete that is not. End it in error, naming what is gone.
        let found: std::collections::HashSet<u32> = out.iter().map(|(i, _)| *i).collect();
        let missing: Vec<String> = idx
            .iter()
            .filter(|i| !found.contains(i))
            .map(|i| g.orig_id(*i).to_owned())
            .collect();
        return Err(Error::MissingEntries {
            backup: ctx.source.backup.id,
            kind: kind::OBJECT,
            ids: missing,
        });
    }
    Ok(out)
}

/// The objects of the graph that are neither created nor refused (the object entries stage
/// must leave none behind before it is recorded as finished).
pub(super) fn unsettled(g: &ObjectGraph, ids: &ObjectIds) -> Vec<String> {
    (0..g.len() as u32)
        .filter(|i| !settled(ids, *i))
        .map(|i| g.orig_id(i).to_owned())
        .collect()
}

/// What a create task needs, shared by all of them.
struct Env<'a> {
    api: &'a dyn AssetsApi,
    /// The restore's hooks (`after_object_restored` runs in the create task).
    hooks: ActiveHooks,
    schema: String,
    /// New ids of User and Group attributes -> their names.
    droppable: HashMap<String, String>,
    /// Target account id -> display name, for notes.
    users: HashMap<String, String>,
    /// Objects of an existing schema that carry a backup identity already: never ours.
    preexisting: HashSet<u64>,
    /// The plan's `transform_object` decisions, which execution's are compared with.
    planned: hook_objects::Planned,
}

/// One object to create (or refused before it was sent).
struct Job {
    i: u32,
    key: String,
    orig: String,
    notes: Vec<String>,
    /// The backup object and its type, for `after_object_restored` (only when a hook runs
    /// there).
    old: Option<(TypeRef, Object)>,
    /// Key of the created object.
    new_key: String,
    /// Hook decisions about this object, for the log.
    hook_log: Vec<NewLogEntry>,
}

impl Job {
    fn new(i: u32, key: String, orig: String) -> Job {
        Job {
            i,
            key,
            orig,
            notes: Vec::new(),
            old: None,
            new_key: String::new(),
            hook_log: Vec::new(),
        }
    }
}

/// How one create ended.
enum Outcome {
    Created(u64),
    /// The API refused it (4xx); its error body.
    Refused(Value),
    /// A `transform_object` hook left it out (its decision is in the job's log).
    Skipped,
}

/// Results not yet in the store.
#[derive(Default)]
struct Batch {
    ids: Vec<IdMapping>,
    log: Vec<NewLogEntry>,
    done: u64,
}

impl Batch {
    fn push_log(&mut self, ctx: &Ctx<'_>, e: NewLogEntry) {
        ctx.event(log::event(&e));
        self.log.push(e);
    }

    fn settle(&mut self, ctx: &mut Ctx<'_>, objects: &mut ObjectIds, job: Job, outcome: Outcome) {
        let entry = match outcome {
            Outcome::Created(id) => {
                objects.new_ids[job.i as usize] = id;
                self.ids
                    .push(mapping(kinds::OBJECT, &job.orig, &id.to_string()));
                Some(log::object_ok(&job.key))
            }
            Outcome::Refused(body) => {
                objects.failed[job.i as usize] = true;
                self.ids.push(mapping(kinds::OBJECT_FAILED, &job.orig, ""));
                Some(log::object_failed(&job.key, body))
            }
            // Settled like a refusal, so a resumed run does not ask again; its log line is
            // the hook's decision.
            Outcome::Skipped => {
                objects.failed[job.i as usize] = true;
                self.ids.push(mapping(kinds::OBJECT_FAILED, &job.orig, ""));
                None
            }
        };
        if let Some(entry) = entry {
            self.push_log(ctx, entry);
        }
        for e in job.hook_log {
            self.push_log(ctx, e);
        }
        for n in job.notes {
            self.push_log(ctx, log::note(LogLevel::Warn, &job.key, n));
        }
        self.done += 1;
        ctx.progress(Stage::ObjectEntries, self.done);
    }

    async fn flush(&mut self, ctx: &Ctx<'_>) -> Result<(), Error> {
        if self.ids.is_empty() && self.log.is_empty() {
            return Ok(());
        }
        let (ids, log) = (std::mem::take(&mut self.ids), std::mem::take(&mut self.log));
        ctx.record_batch(ids, log).await?;
        ctx.checkpoint().await
    }
}

fn mapping(kind: &str, old: &str, new: &str) -> IdMapping {
    IdMapping {
        kind: kind.to_owned(),
        old_id: old.to_owned(),
        new_id: new.to_owned(),
    }
}

pub(super) async fn run(ctx: &mut Ctx<'_>) -> Result<Flow, Error> {
    let g = ctx.graph().await?;
    let mut ids = load_ids(ctx, &g).await?;
    let flow = run_with(ctx, &g, &mut ids).await;
    ctx.objects = Some(ids);
    flow
}

/// Whether object `i` is done with: created, or refused by the API.
fn settled(ids: &ObjectIds, i: u32) -> bool {
    ids.new_ids[i as usize] != 0 || ids.failed[i as usize]
}

async fn run_with(ctx: &mut Ctx<'_>, g: &ObjectGraph, ids: &mut ObjectIds) -> Result<Flow, Error> {
    let count = |ids: &ObjectIds| (0..g.len() as u32).filter(|i| settled(ids, *i)).count() as u64;
    let resumed = ctx
        .start(Stage::ObjectEntries, count(ids), g.len() as u64)
        .await?;
    let lookup = Lookup::new(ctx);
    let env = Arc::new(Env {
        api: ctx.api,
        hooks: ctx.hooks.clone(),
        schema: ctx.schema_id()?,
        droppable: lookup.droppable.clone(),
        users: ctx
            .plan
            .users
            .iter()
            .filter_map(|u| Some((u.account_id.clone()?, u.display_name.clone())))
            .chain(
                ctx.plan
                    .accounts
                    .iter()
                    .map(|a| (a.account_id.clone(), a.display_name.clone())),
            )
            .collect(),
        preexisting: duplicates::preexisting(ctx),
        planned: hook_objects::Planned::of(ctx.plan),
    });
    if resumed {
        reconcile(ctx, g, &env, ids).await?;
    }
    duplicates::skip(ctx, g, ids).await?;
    let mut batch = Batch {
        done: count(ids),
        ..Batch::default()
    };
    ctx.progress(Stage::ObjectEntries, batch.done);
    for w in 0..g.waves() {
        let todo: VecDeque<u32> = g
            .wave(w)
            .iter()
            .copied()
            .filter(|i| !settled(ids, *i))
            .collect();
        if todo.is_empty() {
            continue;
        }
        let flow = create_wave(ctx, g, &lookup, &env, todo, &mut batch, ids).await;
        // Durable before the next wave references these objects, and before any return.
        batch.flush(ctx).await?;
        if flow? == Flow::Stopped {
            return Ok(Flow::Stopped);
        }
    }
    Ok(Flow::Continue)
}

/// Creates the objects `todo` of one wave, up to [`Ctx::fan_out`] at a time.
async fn create_wave(
    ctx: &mut Ctx<'_>,
    g: &ObjectGraph,
    lookup: &Lookup,
    env: &Arc<Env<'_>>,
    mut todo: VecDeque<u32>,
    batch: &mut Batch,
    ids: &mut ObjectIds,
) -> Result<Flow, Error> {
    let limit = ctx.fan_out();
    // `--history`: each chunk's histories are read with its objects (one store query, no
    // request to the target) and go into the create call.
    let history_attrs = options::history_attrs(ctx);
    let mut histories: HashMap<String, (String, usize)> = HashMap::new();
    let mut ready: VecDeque<(u32, Object)> = VecDeque::new();
    let mut in_flight = FuturesUnordered::new();
    let (mut stop, mut fatal) = (ctx.cancel.is_cancelled(), None::<Error>);
    loop {
        while !stop && in_flight.len() < limit {
            let Some((i, mut obj)) = ready.pop_front() else {
                if todo.is_empty() {
                    break;
                }
                let chunk: Vec<u32> = todo.drain(..CHUNK.min(todo.len())).collect();
                let fetched = match fetch(ctx, g, &chunk).await {
                    Ok(v) if ctx.plan.history => {
                        let origs = chunk.iter().map(|i| g.orig_id(*i).to_owned()).collect();
                        options::load_histories(ctx, origs).await.map(|h| {
                            histories.extend(h);
                            v
                        })
                    }
                    other => other,
                };
                match fetched {
                    Ok(v) => ready.extend(v),
                    Err(e) => {
                        (stop, fatal) = (true, Some(e));
                    }
                }
                continue;
            };
            let mut job = Job::new(i, obj.key().to_owned(), g.orig_id(i).to_owned());
            if ctx.hooks.has(HookPoint::TransformObject) {
                match hook_objects::transform(ctx, &env.planned, &job.key, obj).await {
                    Ok((result, entries)) => {
                        job.hook_log = entries;
                        let Some(changed) = result else {
                            batch.settle(ctx, ids, job, Outcome::Skipped);
                            continue;
                        };
                        obj = changed;
                    }
                    Err(e) => {
                        (stop, fatal) = (true, Some(e));
                        continue;
                    }
                }
            }
            match lookup.create_body(g, ids, i, &obj) {
                Ok(mut built) => {
                    let history = histories.remove(g.orig_id(i));
                    let attr = obj.type_id().and_then(|t| history_attrs.get(t));
                    if let (Some((text, omitted)), Some(attr)) = (history, attr) {
                        options::attach_history(&mut built.body, attr, text);
                        if omitted > 0 {
                            built.notes.push(format!(
                                "OBJECT_HISTORY holds the newest entries only: {omitted} \
                                 older ones did not fit in {HISTORY_MAX_CHARS} characters"
                            ));
                        }
                    }
                    job.notes = built.notes;
                    if ctx.hooks.has(HookPoint::AfterObjectRestored) {
                        job.old = Some((hooks::type_ref(&ctx.source, &obj), obj));
                    }
                    in_flight.push(create(env.clone(), job, built.body));
                }
                Err(why) => {
                    batch.settle(ctx, ids, job, Outcome::Refused(why.to_value()));
                }
            }
        }
        let Some((job, result)) = in_flight.next().await else {
            break;
        };
        match result {
            Ok(outcome) => batch.settle(ctx, ids, job, outcome),
            Err(e) => {
                // Exhausted retries: stop starting creates, let the others finish and be
                // recorded, then end the restore in error (a rerun resumes from here).
                tracing::warn!(restore_id = ctx.id, key = %job.key, error = %crate::error::error_chain(&e), "Object create failed.");
                stop = true;
                fatal.get_or_insert(e);
            }
        }
        if ctx.cancel.is_cancelled() {
            stop = true;
        }
        if batch.ids.len() >= FLUSH {
            batch.flush(ctx).await?;
        }
    }
    match fatal {
        Some(e) => Err(e),
        None if stop => Ok(Flow::Stopped),
        None => Ok(Flow::Continue),
    }
}

/// Creates one object; returns the job back with what happened.
async fn create(
    env: Arc<Env<'_>>,
    mut job: Job,
    mut body: ObjectIn,
) -> (Job, Result<Outcome, Error>) {
    let mut r = create_once(&env, &mut job, &mut body).await;
    if let (Ok(Outcome::Created(id)), Some((object_type, old))) = (&r, job.old.take()) {
        let input = hooks::restored(object_type, old, *id, job.new_key.clone());
        match env.hooks.after_object_restored(input).await {
            Ok(decisions) => job
                .hook_log
                .extend(hooks::object_notes(&job.key, &decisions)),
            // The object exists: it is recorded with the rest, then the restore ends.
            Err(e) => {
                job.hook_log
                    .push(log::note(LogLevel::Error, &job.key, e.to_string()));
                r = Err(e.into());
            }
        }
    }
    (job, r)
}

async fn create_once(env: &Env<'_>, job: &mut Job, body: &mut ObjectIn) -> Result<Outcome, Error> {
    let (mut ambiguous, mut dropped) = (0u32, 0u32);
    loop {
        match env.api.create_object(body).await {
            Ok(created) => {
                created.key().clone_into(&mut job.new_key);
                return new_id(&created).map(Outcome::Created);
            }
            Err(e @ assets::Error::Ambiguous { .. }) => {
                if let Some(id) = find(env, &job.orig).await? {
                    return Ok(Outcome::Created(id));
                }
                ambiguous += 1;
                if ambiguous >= AMBIGUOUS_TRIES {
                    return Err(e.into());
                }
            }
            Err(e) if e.is_refusal() => {
                let refusal = e.api_body().cloned().unwrap_or_default();
                // A user outside an attribute's allowed groups (or a group the target lacks)
                // is refused by the API; the rule for users is "leave empty and log", so the
                // object is created without those values.
                if dropped < DROP_ROUNDS
                    && let Some(notes) = drop_refused(env, body, &refusal)
                {
                    dropped += 1;
                    job.notes.extend(notes);
                    continue;
                }
                return Ok(Outcome::Refused(refusal));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The numeric id of a created object (object ids are kept as numbers for compactness).
fn new_id(created: &Object) -> Result<u64, Error> {
    created
        .id
        .as_str()
        .parse()
        .map_err(|_| Error::UnexpectedResponse {
            what: format!(
                "a created object with the id {:?}, not a number",
                created.id.as_str()
            ),
        })
}

/// Removes the values an error body refuses when every refused attribute is a User or Group
/// attribute: the values the message quotes (an account id, a group name), or all values of
/// the attribute when it quotes none. Returns a note per removed value, naming the user by
/// display name; `None` when the refusal is about anything else.
fn drop_refused(env: &Env<'_>, body: &mut ObjectIn, error: &Value) -> Option<Vec<String>> {
    let error = ApiErrors::deserialize(error).ok()?;
    if error.errors.is_empty() || !error.error_messages.is_empty() {
        return None;
    }
    let refused: HashMap<&str, &str> = error
        .errors
        .iter()
        .map(|(k, v)| Some((k.strip_prefix(ATTR_ERROR_PREFIX)?, v.as_str().unwrap_or(""))))
        .collect::<Option<_>>()?;
    if !refused.keys().all(|id| env.droppable.contains_key(*id)) {
        return None;
    }
    let mut notes = Vec::new();
    for a in &mut body.attributes {
        let id = a.object_type_attribute_id.as_str();
        let Some(msg) = refused.get(id) else {
            continue;
        };
        let name = &env.droppable[id];
        let values = &mut a.object_attribute_values;
        let quoted = |v: &ValueIn| msg.contains(v.value.as_str());
        let all = !values.iter().any(quoted);
        values.retain(|v| {
            let drop = all || quoted(v);
            if drop {
                let who = env.users.get(&v.value).unwrap_or(&v.value);
                notes.push(format!(
                    "User or group {who:?} of attribute {name:?} was refused by the target and \
                     left empty: {msg}"
                ));
            }
            !drop
        });
    }
    body.attributes
        .retain(|a| !a.object_attribute_values.is_empty());
    Some(notes)
}

/// Quotes a value for AQL.
fn aql_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The target object carrying `ORIGINAL_ID = orig` in the new schema, if any.
async fn find(env: &Env<'_>, orig: &str) -> Result<Option<u64>, assets::Error> {
    let ql = format!(
        "objectSchemaId = {} AND {} = {}",
        env.schema,
        aql_quote(ORIGINAL_ID),
        aql_quote(orig)
    );
    let query = AqlQuery {
        ql: &ql,
        start_at: 0,
        page_size: 50,
        include_attributes: false,
    };
    let mut found = env.api.aql(&query).await?.values;
    found.retain(|o| {
        o.id.as_str()
            .parse::<u64>()
            .is_ok_and(|id| !env.preexisting.contains(&id))
    });
    if found.len() > 1 {
        tracing::warn!(orig, "Two objects carry one ORIGINAL_ID in the new schema.");
    }
    Ok(found.first().and_then(|o| o.id.as_str().parse().ok()))
}

/// Maps every object of the new schema that an interrupted run created but did not record,
/// by its `ORIGINAL_ID`, and logs it as created.
async fn reconcile(
    ctx: &mut Ctx<'_>,
    g: &ObjectGraph,
    env: &Env<'_>,
    ids: &mut ObjectIds,
) -> Result<(), Error> {
    let id_attrs: HashSet<String> = ctx
        .plan
        .attributes
        .iter()
        .filter(|p| p.identity && p.name == ORIGINAL_ID)
        .filter_map(|p| ctx.ids.get(kinds::ATTR, &p.map_key()).map(str::to_owned))
        .collect();
    let api = ctx.api;
    let mut pager = AqlPager::new(api, &format!("objectSchemaId = {}", env.schema), SCAN_PAGE);
    let mut found: Vec<u32> = Vec::new();
    while let Some(page) = pager.next_page().await? {
        for o in &page.values {
            let Ok(new) = o.id.as_str().parse::<u64>() else {
                continue;
            };
            if env.preexisting.contains(&new) {
                continue;
            }
            let orig = o
                .attributes()
                .iter()
                .filter(|a| id_attrs.contains(a.object_type_attribute_id.as_str()))
                .find_map(|a| a.values().first()?.value.get()?.as_str());
            let Some(i) = orig.and_then(|o| g.index_of_orig(o)) else {
                continue;
            };
            let slot = &mut ids.new_ids[i as usize];
            if *slot == 0 {
                *slot = new;
                ids.failed[i as usize] = false;
                found.push(i);
            } else if *slot != new {
                tracing::warn!(
                    restore_id = ctx.id,
                    orig = g.orig_id(i),
                    "Object exists twice on the target."
                );
            }
        }
    }
    tracing::info!(
        restore_id = ctx.id,
        found = found.len(),
        "Objects of an interrupted run reconciled."
    );
    for chunk in found.chunks(CHUNK) {
        let objs = fetch(ctx, g, chunk).await?;
        let mut batch = Batch::default();
        let pairs: Vec<(u32, String, u64)> = objs
            .iter()
            .map(|(i, o)| (*i, o.key().to_owned(), ids.new_ids[*i as usize]))
            .collect();
        for (i, key, new) in pairs {
            batch
                .ids
                .push(mapping(kinds::OBJECT, g.orig_id(i), &new.to_string()));
            batch.push_log(ctx, log::object_ok(&key));
        }
        batch.flush(ctx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::assets::AssetsClient;

    #[test]
    fn refused_user_and_group_values_are_dropped_and_nothing_else() {
        let client = AssetsClient::new(crate::assets::SiteConn {
            name: "t".into(),
            api_url: "http://127.0.0.1:9/v1".into(),
            site_url: "http://127.0.0.1:9".into(),
            email: "e".into(),
            tokens: vec!["t".into()],
            limits: Default::default(),
        })
        .unwrap();
        let env = Env {
            api: &client,
            hooks: ActiveHooks::default(),
            schema: "1".into(),
            droppable: HashMap::from([("7".into(), "Administrators".into())]),
            users: HashMap::from([("acc".into(), "Chen Wei".into())]),
            preexisting: HashSet::new(),
            planned: Default::default(),
        };
        let mut body: ObjectIn = serde_json::from_value(json!({"objectTypeId": "3", "attributes": [
            {"objectTypeAttributeId": "7", "objectAttributeValues": [{"value": "acc"}, {"value": "ok"}]},
            {"objectTypeAttributeId": "8", "objectAttributeValues": [{"value": "x"}]},
        ]}))
        .unwrap();
        let err = json!({"errorMessages": [], "errors": {"rlabs-insight-attribute-7": "User(s) [acc] are not members"}});
        let notes = drop_refused(&env, &mut body, &err).unwrap();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("\"Chen Wei\"") && notes[0].contains("Administrators"));
        assert_eq!(
            serde_json::to_value(&body.attributes[0].object_attribute_values).unwrap(),
            json!([{"value": "ok"}])
        );
        // Nothing quoted: every value of the attribute goes.
        let err = json!({"errorMessages": [], "errors": {"rlabs-insight-attribute-7": "Invalid"}});
        assert_eq!(drop_refused(&env, &mut body, &err).unwrap().len(), 1);
        assert_eq!(body.attributes.len(), 1);
        let other =
            json!({"errorMessages": [], "errors": {"rlabs-insight-attribute-8": "too long"}});
        assert!(drop_refused(&env, &mut body, &other).is_none());
        assert_eq!(aql_quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
