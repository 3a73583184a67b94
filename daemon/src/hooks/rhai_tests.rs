//! The Rhai host against the hostile fixtures of `daemon/tests/fixtures/hooks/`: each is
//! stopped by its own limit with a typed error, and the engine keeps answering afterwards.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::hooks::messages::{
    HookContext, HookInput, ObjectInput, StageInput, TypeRef, UserInput, UserToMatch,
};
use crate::hooks::{Decision, HookKind, OnError, StageDecision, UserDecision};
use crate::model::{Id, Object};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hooks")
        .join(name)
}

fn spec(path: PathBuf, point: HookPoint) -> HookSpec {
    HookSpec {
        name: "h".into(),
        point,
        kind: HookKind::Rhai,
        path,
        on_error: OnError::Fail,
        sites: None,
        enabled: true,
        capabilities: vec![],
        settings: Settings::new(),
    }
}

fn hook_from(engine: &Arc<RhaiEngine>, file: &str, point: HookPoint) -> SharedHook {
    load(engine, &spec(fixture(file), point), &|p| {
        std::fs::read_to_string(p)
    })
    .unwrap()
}

fn hook_text(engine: &Arc<RhaiEngine>, text: &str, point: HookPoint) -> SharedHook {
    let text = text.to_owned();
    load(engine, &spec("inline.rhai".into(), point), &move |_| {
        Ok(text.clone())
    })
    .unwrap()
}

fn context() -> HookContext {
    HookContext {
        restore_id: Some(1),
        source_site: "dc".into(),
        target_site: "cloud".into(),
        target_flavor: "cloud".into(),
        dry_run: false,
    }
}

fn object_call() -> HookCall {
    let object: Object = serde_json::from_value(serde_json::json!({
        "id": "7", "objectKey": "LAP-7", "label": "Laptop 7", "attributes": []
    }))
    .unwrap();
    HookCall {
        context: context(),
        input: HookInput::TransformObject(ObjectInput {
            object_type: TypeRef {
                id: Id::new("1"),
                name: "Laptop".into(),
            },
            object,
        }),
    }
}

fn stage_call() -> HookCall {
    HookCall {
        context: context(),
        input: HookInput::BeforeStage(StageInput {
            stage: "object_entries".into(),
            done: 0,
            total: 3,
        }),
    }
}

fn user_call() -> HookCall {
    HookCall {
        context: context(),
        input: HookInput::MatchUser(
            UserInput {
                user: UserToMatch {
                    account_id: None,
                    display_name: Some("Ann".into()),
                    email: None,
                    key: Some("ann".into()),
                },
                candidates: vec![],
            }
            .into(),
        ),
    }
}

/// After a hostile call, the same engine still runs a well-behaved hook.
async fn still_answers(engine: &Arc<RhaiEngine>) {
    let ok = hook_text(
        engine,
        r#"fn before_stage(event) { #{ abort: "stage " + event.input.stage } }"#,
        HookPoint::BeforeStage,
    );
    let reply = ok.call(&stage_call()).await.unwrap();
    assert_eq!(
        reply.decision,
        Some(Decision::Stage(StageDecision {
            abort: "stage object_entries".into()
        }))
    );
}

#[tokio::test]
async fn an_endless_loop_ends_at_the_deadline() {
    let limits = RhaiLimits {
        timeout: Duration::from_millis(300),
        ..RhaiLimits::default()
    };
    let engine = Arc::new(RhaiEngine::new(limits));
    let hook = hook_from(&engine, "endless_loop.rhai", HookPoint::TransformObject);
    let started = Instant::now();
    let e = hook.call(&object_call()).await.unwrap_err();
    assert_eq!(e, HookError::Timeout { limit_ms: 300 });
    assert!(started.elapsed() >= Duration::from_millis(300));
    still_answers(&engine).await;
}

#[tokio::test]
async fn an_endless_loop_ends_at_the_operations_limit_when_that_is_lower() {
    let limits = RhaiLimits {
        max_operations: 50_000,
        timeout: Duration::from_secs(3600),
        ..RhaiLimits::default()
    };
    let engine = Arc::new(RhaiEngine::new(limits));
    let hook = hook_from(&engine, "endless_loop.rhai", HookPoint::BeforeStage);
    let e = hook.call(&stage_call()).await.unwrap_err();
    assert_eq!(
        e,
        HookError::Limit {
            what: "operations (50000)".into()
        }
    );
}

#[tokio::test]
async fn memory_hogs_hit_the_size_limits() {
    // No deadline in the way: the size limits must stop the hogs by themselves.
    let limits = RhaiLimits {
        timeout: Duration::from_secs(3600),
        ..RhaiLimits::default()
    };
    let engine = Arc::new(RhaiEngine::new(limits));
    let strings = hook_from(&engine, "memory_hog.rhai", HookPoint::TransformObject);
    let e = strings.call(&object_call()).await.unwrap_err();
    assert!(
        matches!(&e, HookError::Limit { what } if what.contains("Length of string")),
        "{e:?}"
    );
    let arrays = hook_from(&engine, "memory_hog.rhai", HookPoint::MatchUser);
    let e = arrays.call(&user_call()).await.unwrap_err();
    assert!(
        matches!(&e, HookError::Limit { what } if what.contains("Size of array")),
        "{e:?}"
    );
    still_answers(&engine).await;
}

#[tokio::test]
async fn deep_recursion_hits_the_call_depth_limit() {
    let engine = Arc::new(RhaiEngine::new(RhaiLimits::default()));
    let hook = hook_from(&engine, "deep_recursion.rhai", HookPoint::TransformObject);
    let e = hook.call(&object_call()).await.unwrap_err();
    assert_eq!(
        e,
        HookError::Limit {
            what: "call depth (32)".into()
        }
    );
    still_answers(&engine).await;
}

#[tokio::test]
async fn huge_and_wrong_answers_are_output_errors() {
    let engine = Arc::new(RhaiEngine::new(RhaiLimits::default()));
    let huge = hook_from(&engine, "huge_output.rhai", HookPoint::TransformObject);
    let e = huge.call(&object_call()).await.unwrap_err();
    assert!(
        matches!(&e, HookError::Output { message } if message.contains("at most 262144")),
        "{e:?}"
    );
    let wrong = hook_from(&engine, "wrong_answer.rhai", HookPoint::BeforeStage);
    let e = wrong.call(&stage_call()).await.unwrap_err();
    assert!(
        matches!(&e, HookError::Output { message } if message.contains("because")),
        "{e:?}"
    );
    let wrong = hook_from(&engine, "wrong_answer.rhai", HookPoint::TransformObject);
    let e = wrong.call(&object_call()).await.unwrap_err();
    assert!(matches!(e, HookError::Output { .. }), "{e:?}");
    still_answers(&engine).await;
}

#[tokio::test]
async fn script_errors_carry_the_line_and_missing_functions_mean_default() {
    let engine = Arc::new(RhaiEngine::new(RhaiLimits::default()));
    let failing = hook_text(
        &engine,
        "fn before_stage(event) {\n  let x = 1;\n  x.nope()\n}",
        HookPoint::BeforeStage,
    );
    let e = failing.call(&stage_call()).await.unwrap_err();
    assert!(
        matches!(&e, HookError::Script { line: Some(3), .. }),
        "{e:?}"
    );
    let other = hook_text(
        &engine,
        "fn after_stage(event) { () }",
        HookPoint::BeforeStage,
    );
    assert_eq!(
        other.call(&stage_call()).await.unwrap(),
        HookReply::default()
    );
    let noted = hook_text(
        &engine,
        r#"fn before_stage(event) { #{ note: "seen " + event.settings.len() } }"#,
        HookPoint::BeforeStage,
    );
    let reply = noted.call(&stage_call()).await.unwrap();
    assert_eq!(reply.decision, None);
    assert_eq!(reply.note.as_deref(), Some("seen 0"));
}

#[test]
fn compile_errors_name_the_line_and_imports_do_not_exist() {
    let engine = Arc::new(RhaiEngine::new(RhaiLimits::default()));
    let text = "fn before_stage(event) {\n  let = 2;\n}".to_owned();
    let e = load(
        &engine,
        &spec("s.rhai".into(), HookPoint::BeforeStage),
        &move |_| Ok(text.clone()),
    )
    .unwrap_err();
    assert!(
        matches!(e, HookLoadError::Compile { line: Some(2), .. }),
        "{e:?}"
    );
    let text = "import \"fs\" as fs;\nfn before_stage(event) { () }".to_owned();
    let e = load(
        &engine,
        &spec("s.rhai".into(), HookPoint::BeforeStage),
        &move |_| Ok(text.clone()),
    )
    .unwrap_err();
    assert!(
        matches!(e, HookLoadError::Compile { line: Some(1), .. }),
        "{e:?}"
    );
}

fn shipped(
    engine: &Arc<RhaiEngine>,
    file: &str,
    point: HookPoint,
    settings: serde_json::Value,
) -> SharedHook {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(file);
    let mut spec = spec(path, point);
    if let serde_json::Value::Object(m) = settings {
        spec.settings = m;
    }
    load(engine, &spec, &|p| std::fs::read_to_string(p)).unwrap()
}

fn attribute_call(longest: u64, default_type: i64) -> HookCall {
    let attribute = serde_json::from_value(serde_json::json!({
        "id": "5", "name": "Notes", "type": 0,
        "defaultType": {"id": default_type, "name": "Text"}
    }))
    .unwrap();
    HookCall {
        context: context(),
        input: HookInput::TransformAttribute(crate::hooks::AttributeInput {
            object_type: TypeRef {
                id: Id::new("1"),
                name: "Laptop".into(),
            },
            attribute,
            stats: crate::hooks::AttributeStats {
                count: 3,
                longest_text: longest,
                distinct: 3,
            },
        }),
    }
}

#[tokio::test]
async fn text_to_textarea_converts_only_long_text() {
    let engine = Arc::new(RhaiEngine::new(RhaiLimits::default()));
    let hook = shipped(
        &engine,
        "text_to_textarea.rhai",
        HookPoint::TransformAttribute,
        serde_json::json!({}),
    );
    let reply = hook.call(&attribute_call(1204, 0)).await.unwrap();
    let Some(Decision::Attribute(crate::hooks::AttributeDecision::Attribute(a))) = reply.decision
    else {
        panic!("{reply:?}");
    };
    let t = a.default_type.get().unwrap();
    assert_eq!(
        (t.id, t.name.get().map(String::as_str)),
        (9, Some("Textarea"))
    );
    assert_eq!(
        a.name.get().map(String::as_str),
        Some("Notes"),
        "the rest stays"
    );
    assert_eq!(
        reply.note.as_deref(),
        Some("Text -> Textarea: longest value 1204 characters")
    );
    for (longest, kind) in [(255, 0), (1204, 1)] {
        let reply = hook.call(&attribute_call(longest, kind)).await.unwrap();
        assert_eq!(reply, HookReply::default(), "{longest} {kind}");
    }
}

fn match_call(
    account: Option<&str>,
    name: &str,
    email: Option<&str>,
    candidates: &[(&str, &str)],
) -> HookCall {
    HookCall {
        context: context(),
        input: HookInput::MatchUser(
            UserInput {
                user: UserToMatch {
                    account_id: account.map(str::to_owned),
                    display_name: Some(name.into()),
                    email: email.map(str::to_owned),
                    key: None,
                },
                candidates: candidates
                    .iter()
                    .map(|(id, n)| crate::hooks::UserCandidate {
                        account_id: (*id).into(),
                        display_name: (*n).into(),
                        email: Some(format!("{id}@t.example")),
                    })
                    .collect(),
            }
            .into(),
        ),
    }
}

fn account_of(reply: &HookReply) -> Option<&str> {
    match &reply.decision {
        Some(Decision::User(crate::hooks::UserDecision::AccountId(a))) => Some(a),
        _ => None,
    }
}

#[tokio::test]
async fn user_match_uses_the_table_then_the_display_name() {
    let engine = Arc::new(RhaiEngine::new(RhaiLimits::default()));
    let settings =
        serde_json::json!({"map": {"old-1": "new-1", "ann@s.example": "new-2", "Bo": "new-3"}});
    let hook = shipped(&engine, "user_match.rhai", HookPoint::MatchUser, settings);
    let r = hook
        .call(&match_call(Some("old-1"), "Ann", None, &[]))
        .await
        .unwrap();
    assert_eq!(account_of(&r), Some("new-1"));
    assert_eq!(r.note.as_deref(), Some("mapped from old-1"));
    let r = hook
        .call(&match_call(None, "Ann", Some("ann@s.example"), &[]))
        .await
        .unwrap();
    assert_eq!(account_of(&r), Some("new-2"));
    let r = hook.call(&match_call(None, "Bo", None, &[])).await.unwrap();
    assert_eq!(account_of(&r), Some("new-3"));
    let r = hook
        .call(&match_call(
            None,
            "Cy",
            None,
            &[("c1", "Cy"), ("c2", "Cyd")],
        ))
        .await
        .unwrap();
    assert_eq!(account_of(&r), Some("c1"));
    assert_eq!(r.note.as_deref(), Some("by display name"));
    let r = hook
        .call(&match_call(None, "Di", None, &[("d1", "Di"), ("d2", "Di")]))
        .await
        .unwrap();
    assert_eq!(
        r,
        HookReply::decide(Decision::User(UserDecision::None(
            "not in the mapping table; 2 target accounts are named \"Di\"".into()
        ))),
        "two of that name: none, saying why"
    );
    let r = hook.call(&match_call(None, "Ed", None, &[])).await.unwrap();
    assert_eq!(
        r,
        HookReply::decide(Decision::User(UserDecision::None(
            "not in the mapping table; no target account is named \"Ed\"".into()
        ))),
    );
}

fn laptop_call(label: &str, text: &str) -> HookCall {
    let object: Object = serde_json::from_value(serde_json::json!({
        "id": "7", "objectKey": "LAP-7", "label": label,
        "attributes": [
            {"objectTypeAttributeId": "5", "objectAttributeValues": [{"value": text}]},
            {"objectTypeAttributeId": "6", "objectAttributeValues": [{"value": 12}]}
        ]
    }))
    .unwrap();
    HookCall {
        context: context(),
        input: HookInput::TransformObject(ObjectInput {
            object_type: TypeRef {
                id: Id::new("1"),
                name: "Laptop".into(),
            },
            object,
        }),
    }
}

#[tokio::test]
async fn the_transform_object_example_skips_retired_and_normalises_text() {
    let engine = Arc::new(RhaiEngine::new(RhaiLimits::default()));
    let hook = shipped(
        &engine,
        "examples/normalise_and_skip_retired.rhai",
        HookPoint::TransformObject,
        serde_json::json!({}),
    );
    let r = hook
        .call(&laptop_call("Old one (retired)", "x"))
        .await
        .unwrap();
    assert_eq!(
        r.decision,
        Some(Decision::Object(crate::hooks::ObjectDecision::Skip(
            "retired: label contains (retired)".into()
        )))
    );
    let r = hook.call(&laptop_call("New", "  a   b  ")).await.unwrap();
    let Some(Decision::Object(crate::hooks::ObjectDecision::Object(o))) = r.decision else {
        panic!("{r:?}");
    };
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(
        json["attributes"][0]["objectAttributeValues"][0]["value"],
        "a b"
    );
    assert_eq!(
        json["attributes"][1]["objectAttributeValues"][0]["value"],
        12
    );
    assert_eq!(json["objectKey"], "LAP-7");
    let r = hook.call(&laptop_call("New", "a b")).await.unwrap();
    assert_eq!(r, HookReply::default(), "nothing to change");
}

#[tokio::test]
async fn the_match_user_example_matches_by_email() {
    let engine = Arc::new(RhaiEngine::new(RhaiLimits::default()));
    let hook = shipped(
        &engine,
        "examples/match_user_by_email.rhai",
        HookPoint::MatchUser,
        serde_json::json!({}),
    );
    let r = hook
        .call(&match_call(
            None,
            "Ann",
            Some("C2@T.example"),
            &[("c1", "Ann"), ("c2", "X")],
        ))
        .await
        .unwrap();
    assert_eq!(account_of(&r), Some("c2"));
    let r = hook
        .call(&match_call(
            None,
            "Ann",
            Some("zz@t.example"),
            &[("c1", "Ann")],
        ))
        .await
        .unwrap();
    assert!(matches!(
        r.decision,
        Some(Decision::User(crate::hooks::UserDecision::None(_)))
    ));
    let r = hook
        .call(&match_call(None, "Ann", None, &[("c1", "Ann")]))
        .await
        .unwrap();
    assert_eq!(r, HookReply::default());
}

/// Every script shipped under `scripts/` (and `scripts/examples/`) compiles for each point it
/// defines a function of, and defines at least one (a broken example is a bug users hit
/// first).
#[test]
fn every_shipped_script_compiles_for_its_points() {
    let engine = Arc::new(RhaiEngine::new(RhaiLimits::default()));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    let mut scripts = 0;
    for dir in [root.clone(), root.join("examples")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("rhai") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let points: Vec<HookPoint> = HookPoint::ALL
                .into_iter()
                .filter(|p| text.contains(&format!("fn {}(", p.as_str())))
                .collect();
            assert!(!points.is_empty(), "{} defines no hook", path.display());
            for point in points {
                load(&engine, &spec(path.clone(), point), &|p| {
                    std::fs::read_to_string(p)
                })
                .unwrap_or_else(|e| panic!("{} at {point}: {e}", path.display()));
            }
            scripts += 1;
        }
    }
    assert!(scripts >= 4, "{scripts} scripts found");
}
