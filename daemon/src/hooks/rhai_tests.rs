//! The Rhai host against the hostile fixtures of `daemon/tests/fixtures/hooks/`: each is
//! stopped by its own limit with a typed error, and the engine keeps answering afterwards.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::hooks::messages::{
    HookContext, HookInput, ObjectInput, StageInput, TypeRef, UserInput, UserToMatch,
};
use crate::hooks::{HookKind, OnError, StageDecision};
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
        input: HookInput::MatchUser(UserInput {
            user: UserToMatch {
                account_id: None,
                display_name: Some("Ann".into()),
                email: None,
                key: Some("ann".into()),
            },
            candidates: vec![],
        }),
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
