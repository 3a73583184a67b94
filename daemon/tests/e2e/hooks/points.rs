//! Issue #7: a Rust hook registered at each of the six hook points changes a restore as
//! expected, over real HTTP to the simulator and a real SQLite store. One migration of a
//! Data Center-like backup (Text values over 255 characters) from `s1` to `s2`:
//!
//! - `transform_attribute`: Text whose longest value exceeds 255 characters -> Textarea, so no
//!   object fails and the target's attribute is Textarea;
//! - `transform_object`: objects whose key ends in 7 are skipped (absent on the target, a note
//!   in the log);
//! - `match_user`: every user becomes one target account (the plan says so);
//! - `after_object_restored`: sees every created object once, with its new id;
//! - `before_stage` / `after_stage`: see every stage in order; a second restore whose
//!   `after_stage` hook aborts after the object types ends in error naming the hook, with no
//!   object created.

use std::sync::{Arc, Mutex};

use assetark::hooks::{
    AttributeDecision, Decision, Hook, HookCall, HookError, HookInput, HookKind, HookPoint,
    HookRegistry, HookReply, HookSelection, HookSpec, ObjectDecision, OnError, RegisteredHook,
    Settings, StageDecision, UserDecision,
};
use assetark::model::{DefaultType, Nullable};
use assetark::restore::{self, Destination, HookSetup, RestoreRequest, Run};
use assetark::store::LogLevel;
use tokio_util::sync::CancellationToken;

use crate::restore::support::{self, Raw, backup, client, clock, config, full_log};

/// What the Rust hooks saw.
#[derive(Debug, Default)]
struct Seen {
    stages: Vec<(HookPoint, String)>,
    restored: Vec<(String, String)>,
}

/// One Rust hook for every point, behaving per point as the module doc says.
#[derive(Debug)]
struct RustHook {
    name: String,
    seen: Arc<Mutex<Seen>>,
    account: String,
    abort_after: Option<String>,
}

#[async_trait::async_trait]
impl Hook for RustHook {
    fn name(&self) -> &str {
        &self.name
    }

    async fn call(&self, call: &HookCall) -> Result<HookReply, HookError> {
        let point = call.point();
        Ok(match &call.input {
            HookInput::BeforeStage(s) | HookInput::AfterStage(s) => {
                self.seen
                    .lock()
                    .unwrap()
                    .stages
                    .push((point, s.stage.clone()));
                if point == HookPoint::AfterStage && self.abort_after.as_deref() == Some(&s.stage) {
                    HookReply::decide(Decision::Stage(StageDecision {
                        abort: "enough".into(),
                    }))
                } else {
                    HookReply {
                        decision: None,
                        note: Some(format!("{} done {} of {}", s.stage, s.done, s.total)),
                    }
                }
            }
            HookInput::TransformAttribute(a) => {
                let text = a.attribute.default_type.get().is_some_and(|d| d.id == 0);
                if text && a.stats.longest_text > 255 {
                    let mut new = a.attribute.clone();
                    new.default_type = Nullable::Value(DefaultType {
                        id: 9,
                        name: Nullable::Value("Textarea".into()),
                        extra: Default::default(),
                    });
                    HookReply::decide(Decision::Attribute(AttributeDecision::Attribute(Box::new(
                        new,
                    ))))
                } else {
                    HookReply::default()
                }
            }
            HookInput::TransformObject(o) if o.object.key().ends_with('7') => HookReply::decide(
                Decision::Object(ObjectDecision::Skip("keys ending in 7 stay behind".into())),
            ),
            HookInput::TransformObject(_) => HookReply::default(),
            HookInput::MatchUser(_) => HookReply::decide(Decision::User(UserDecision::AccountId(
                self.account.clone(),
            ))),
            HookInput::AfterObjectRestored(r) => {
                let pair = (r.old.key().to_owned(), r.new.id.as_str().to_owned());
                self.seen.lock().unwrap().restored.push(pair);
                HookReply::default()
            }
        })
    }
}

fn registry(seen: &Arc<Mutex<Seen>>, account: &str, abort_after: Option<&str>) -> HookRegistry {
    let mut r = HookRegistry::new();
    for point in HookPoint::ALL {
        let name = format!("rust-{point}");
        let hook = RustHook {
            name: name.clone(),
            seen: Arc::clone(seen),
            account: account.to_owned(),
            abort_after: abort_after.map(str::to_owned),
        };
        let spec = HookSpec {
            name,
            point,
            kind: HookKind::Rhai,
            path: "rust".into(),
            on_error: OnError::Fail,
            sites: None,
            enabled: true,
            capabilities: vec![],
            settings: Settings::new(),
        };
        r.register(RegisteredHook {
            spec,
            hook: Arc::new(hook),
        })
        .expect("register");
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_hook_at_each_point_changes_the_restore() {
    let sim = support::start(&config(200, true)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let raw2 = Raw::new(&sim, "s2");
    let account = raw2.accounts("Jordan Lee").await.remove(0);
    let b = backup(&s1, &store, "ITSM").await;

    let seen = Arc::new(Mutex::new(Seen::default()));
    let hooks = registry(&seen, &account, None);
    let req = RestoreRequest {
        backup_id: b,
        target_site: "s2".into(),
        destination: Destination::NewSchema {
            name: "Hooked".into(),
            key: "HOOKED".into(),
        },
        hooks: hooks.select("s2", &[], &[]).expect("select"),
        history: false,
        with_icons: false,
        types: Vec::new(),
    };
    let setup = HookSetup {
        registry: &hooks,
        restore_id: None,
    };
    let plan = restore::plan_with(&store, &s2, &req, setup)
        .await
        .expect("plan");
    // The plan shows the attribute and user decisions.
    let converted: Vec<_> = plan
        .hooks
        .attributes
        .iter()
        .map(|o| o.old_id.clone())
        .collect();
    assert!(!converted.is_empty(), "the dataset has long texts");
    for id in &converted {
        let a = plan
            .attributes
            .iter()
            .find(|a| a.old_id.as_ref() == Some(id))
            .unwrap();
        assert_eq!(a.type_name, "Textarea");
    }
    assert!(plan.attributes.iter().all(|a| a.long_text_values == 0));
    assert!(!plan.users.is_empty());
    for u in &plan.users {
        assert_eq!(u.account_id.as_deref(), Some(account.as_str()), "{u:?}");
        assert_eq!(u.reason, "matched by hook rust-match_user");
    }
    let decided: Vec<HookPoint> = plan.hooks.decisions.iter().map(|d| d.point).collect();
    assert!(decided.contains(&HookPoint::TransformAttribute));
    assert!(decided.contains(&HookPoint::MatchUser));

    let id = restore::create(&store, &req, &plan, &clock())
        .await
        .expect("create");
    let run = Run {
        on_event: &|_| {},
        cancel: CancellationToken::new(),
        clock: &clock(),
        hooks: &hooks,
    };
    let sent = || s2.stats().sent.values().sum::<u64>();
    let before = sent();
    let out = restore::execute_with(&store, &s2, id, &plan, run)
        .await
        .expect("restore");
    // Every request is the plan's: the skipped objects cost neither a create nor a PUT of
    // their references in cycles.
    assert_eq!(sent() - before, plan.requests.total, "{:?}", plan.requests);

    // transform_object: keys ending in 7 skipped; nothing else fails (the long texts fit).
    let log = full_log(&store, id).await;
    let skipped: Vec<_> = log
        .iter()
        .filter(|e| {
            e.message
                .as_str()
                .is_some_and(|m| m.contains("keys ending in 7"))
        })
        .map(|e| e.object_key.clone())
        .collect();
    assert!(!skipped.is_empty());
    let logged = |needle: &str| {
        log.iter()
            .any(|e| e.message.as_str().is_some_and(|m| m.contains(needle)))
    };
    assert!(logged(
        "Hook rust-transform_attribute at transform_attribute on "
    ));
    assert!(logged("Hook rust-match_user at match_user on "));
    assert!(skipped.iter().all(|k| k.ends_with('7')));
    assert_eq!(
        out.objects_failed,
        skipped.len() as u64,
        "only the skipped are not created"
    );
    assert_eq!(out.objects_created + out.objects_failed, plan.order.objects);
    let restored = raw2.originals("HOOKED").await;
    assert_eq!(restored.len() as u64, out.objects_created);

    // after_object_restored: every created object once, with its id on the target.
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let mut new_ids: Vec<&str> = seen.restored.iter().map(|(_, n)| n.as_str()).collect();
    new_ids.sort_unstable();
    let mut on_target: Vec<&str> = restored.iter().map(|(id, _)| id.as_str()).collect();
    on_target.sort_unstable();
    assert_eq!(new_ids, on_target);
    assert!(seen.restored.iter().all(|(old, _)| !old.ends_with('7')));

    // before_stage / after_stage: each stage, in order, before and after.
    let expected: Vec<(HookPoint, String)> = restore::Stage::ALL
        .iter()
        .flat_map(|s| {
            [
                (HookPoint::BeforeStage, s.key().to_owned()),
                (HookPoint::AfterStage, s.key().to_owned()),
            ]
        })
        .collect();
    assert_eq!(seen.stages, expected);
    let stage_notes = log
        .iter()
        .filter(|e| e.level == Some(LogLevel::Info))
        .filter(|e| {
            e.message
                .as_str()
                .is_some_and(|m| m.contains("at after_stage on stage"))
        })
        .count();
    assert_eq!(stage_notes, restore::Stage::ALL.len());

    // transform_attribute: the converted attributes are Textarea on the target.
    let schema = support::schema_id(&raw2, "HOOKED").await;
    let types = raw2
        .list(&format!("/objectschema/{schema}/objecttypes/flat"))
        .await;
    let mut textareas = 0;
    for t in &types {
        for a in raw2
            .list(&format!(
                "/objecttype/{}/attributes",
                t["id"].as_str().unwrap()
            ))
            .await
        {
            if a["defaultType"]["id"] == 9 {
                textareas += 1;
            }
        }
    }
    assert!(
        textareas >= converted.len(),
        "{textareas} Textarea attributes"
    );

    // An after_stage abort ends a second restore in error, naming the hook, before objects.
    let seen2 = Arc::new(Mutex::new(Seen::default()));
    let hooks = registry(&seen2, &account, Some("object_types"));
    let req = RestoreRequest {
        destination: Destination::NewSchema {
            name: "Stopped".into(),
            key: "STOPPED".into(),
        },
        hooks: HookSelection {
            names: vec!["rust-after_stage".into()],
        },
        ..req
    };
    let setup = HookSetup {
        registry: &hooks,
        restore_id: None,
    };
    let plan = restore::plan_with(&store, &s2, &req, setup)
        .await
        .expect("plan");
    let id = restore::create(&store, &req, &plan, &clock())
        .await
        .expect("create");
    let run = Run {
        on_event: &|_| {},
        cancel: CancellationToken::new(),
        clock: &clock(),
        hooks: &hooks,
    };
    let e = restore::execute_with(&store, &s2, id, &plan, run)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "hook \"rust-after_stage\" aborted the restore at after_stage: enough"
    );
    let row = store.get_restore(id).await.unwrap();
    assert_eq!(row.status, assetark::store::RestoreStatus::Error);
    assert!(row.result.unwrap().contains("rust-after_stage"));
    assert!(raw2.originals("STOPPED").await.is_empty());
    sim.shutdown().await;
}
