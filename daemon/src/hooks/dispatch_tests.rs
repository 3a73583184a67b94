//! Dispatch: config order, chaining, first match wins, abort, and `on_error` in its three
//! forms, with Rust hooks.

use std::sync::Arc;

use super::*;
use crate::hooks::messages::UserToMatch;
use crate::hooks::{Hook, HookKind, HookRegistry, HookSelection, HookSpec, Settings};
use crate::model::Id;

/// A Rust hook answering with a fixed reply or error.
#[derive(Debug)]
struct Fixed(String, Result<HookReply, HookError>);

#[async_trait::async_trait]
impl Hook for Fixed {
    fn name(&self) -> &str {
        &self.0
    }
    async fn call(&self, _: &HookCall) -> Result<HookReply, HookError> {
        self.1.clone()
    }
}

/// A Rust hook that appends a suffix to the attribute's name.
#[derive(Debug)]
struct Rename(&'static str);

#[async_trait::async_trait]
impl Hook for Rename {
    fn name(&self) -> &str {
        "rename"
    }
    async fn call(&self, call: &HookCall) -> Result<HookReply, HookError> {
        let HookInput::TransformAttribute(input) = &call.input else {
            return Ok(HookReply::default());
        };
        let mut a = input.attribute.clone();
        let name = format!("{}{}", a.name.get().cloned().unwrap_or_default(), self.0);
        a.name = crate::model::Nullable::Value(name);
        Ok(HookReply::decide(Decision::Attribute(
            AttributeDecision::Attribute(Box::new(a)),
        )))
    }
}

fn add(r: &mut HookRegistry, name: &str, point: HookPoint, on_error: OnError, hook: Arc<dyn Hook>) {
    r.register(RegisteredHook {
        spec: HookSpec {
            name: name.into(),
            point,
            kind: HookKind::Rhai,
            path: "x".into(),
            on_error,
            sites: None,
            enabled: true,
            capabilities: vec![],
            settings: Settings::new(),
        },
        hook,
    })
    .unwrap();
}

fn active(r: &HookRegistry) -> ActiveHooks {
    let names = r.iter().map(|h| h.spec.name.clone()).collect();
    let context = HookContext {
        restore_id: None,
        source_site: "a".into(),
        target_site: "b".into(),
        target_flavor: "cloud".into(),
        dry_run: true,
    };
    r.activate(&HookSelection { names }, context).unwrap()
}

fn attribute() -> ObjectTypeAttribute {
    serde_json::from_value(serde_json::json!({
        "id": "5", "name": "Notes", "type": 0, "defaultType": {"id": 0, "name": "Text"}
    }))
    .unwrap()
}

fn laptop() -> TypeRef {
    TypeRef {
        id: Id::new("1"),
        name: "Laptop".into(),
    }
}

fn failing(e: &str) -> Arc<dyn Hook> {
    Arc::new(Fixed(
        e.into(),
        Err(HookError::Script {
            line: Some(1),
            message: e.into(),
        }),
    ))
}

#[tokio::test]
async fn transforms_chain_in_config_order_and_record_each_change() {
    let mut r = HookRegistry::new();
    add(
        &mut r,
        "one",
        HookPoint::TransformAttribute,
        OnError::Fail,
        Arc::new(Rename("-1")),
    );
    add(
        &mut r,
        "two",
        HookPoint::TransformAttribute,
        OnError::Fail,
        Arc::new(Rename("-2")),
    );
    let out = active(&r)
        .transform_attribute(&laptop(), attribute(), AttributeStats::default())
        .await
        .unwrap();
    let name = out.result.unwrap().name.get().cloned();
    assert_eq!(name.as_deref(), Some("Notes-1-2"));
    let hooks: Vec<_> = out.decisions.iter().map(|d| d.hook.as_str()).collect();
    assert_eq!(hooks, ["one", "two"]);
    assert_eq!(out.decisions[0].subject, "Laptop.Notes");
}

#[tokio::test]
async fn on_error_fail_skip_and_ignore() {
    let mut r = HookRegistry::new();
    add(
        &mut r,
        "bad",
        HookPoint::TransformAttribute,
        OnError::Fail,
        failing("boom"),
    );
    let e = active(&r)
        .transform_attribute(&laptop(), attribute(), AttributeStats::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, HookFailed::Failed { ref hook, .. } if hook == "bad"),
        "{e:?}"
    );

    let mut r = HookRegistry::new();
    add(
        &mut r,
        "bad",
        HookPoint::TransformAttribute,
        OnError::Skip,
        failing("boom"),
    );
    add(
        &mut r,
        "next",
        HookPoint::TransformAttribute,
        OnError::Fail,
        Arc::new(Rename("!")),
    );
    let out = active(&r)
        .transform_attribute(&laptop(), attribute(), AttributeStats::default())
        .await
        .unwrap();
    assert_eq!(out.result, None, "skip leaves the attribute out");
    assert_eq!(out.decisions.len(), 1, "the chain ends at the skip");
    assert!(out.decisions[0].is_failure());

    let mut r = HookRegistry::new();
    add(
        &mut r,
        "bad",
        HookPoint::TransformAttribute,
        OnError::Ignore,
        failing("boom"),
    );
    add(
        &mut r,
        "next",
        HookPoint::TransformAttribute,
        OnError::Fail,
        Arc::new(Rename("!")),
    );
    let out = active(&r)
        .transform_attribute(&laptop(), attribute(), AttributeStats::default())
        .await
        .unwrap();
    assert_eq!(
        out.result.unwrap().name.get().map(String::as_str),
        Some("Notes!"),
        "ignore goes on with the default"
    );
    assert!(
        out.decisions[0]
            .message()
            .contains("failed (script error at line 1: boom)")
    );
}

#[tokio::test]
async fn the_first_user_decision_wins_and_stage_hooks_abort() {
    let mut r = HookRegistry::new();
    let quiet = HookReply::default();
    add(
        &mut r,
        "quiet",
        HookPoint::MatchUser,
        OnError::Fail,
        Arc::new(Fixed("q".into(), Ok(quiet))),
    );
    let matched = HookReply {
        decision: Some(Decision::User(UserDecision::AccountId("acc-9".into()))),
        note: Some("by table".into()),
    };
    add(
        &mut r,
        "table",
        HookPoint::MatchUser,
        OnError::Fail,
        Arc::new(Fixed("t".into(), Ok(matched))),
    );
    add(
        &mut r,
        "never",
        HookPoint::MatchUser,
        OnError::Fail,
        failing("not called"),
    );
    let abort = HookReply::decide(Decision::Stage(StageDecision { abort: "no".into() }));
    add(
        &mut r,
        "stop",
        HookPoint::AfterStage,
        OnError::Fail,
        Arc::new(Fixed("s".into(), Ok(abort))),
    );
    let hooks = active(&r);
    let input = UserInput {
        user: UserToMatch {
            account_id: None,
            display_name: Some("Ann".into()),
            email: None,
            key: None,
        },
        candidates: vec![],
    };
    let out = hooks.match_user(input).await.unwrap();
    assert_eq!(out.result, UserResult::Account("acc-9".into()));
    assert_eq!(out.decisions.len(), 1);
    assert_eq!(
        out.decisions[0].message(),
        "Hook table at match_user on Ann: matched to acc-9 (by table)"
    );
    let stage = StageInput {
        stage: "schema".into(),
        done: 1,
        total: 1,
    };
    assert!(
        hooks
            .stage(HookPoint::BeforeStage, stage.clone())
            .await
            .unwrap()
            .is_empty()
    );
    let e = hooks.stage(HookPoint::AfterStage, stage).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "hook \"stop\" aborted the restore at after_stage: no"
    );
}

#[tokio::test]
async fn a_decision_of_another_point_is_an_output_error() {
    let mut r = HookRegistry::new();
    let wrong = HookReply::decide(Decision::User(UserDecision::AccountId("x".into())));
    add(
        &mut r,
        "wrong",
        HookPoint::BeforeStage,
        OnError::Fail,
        Arc::new(Fixed("w".into(), Ok(wrong))),
    );
    let stage = StageInput {
        stage: "schema".into(),
        done: 0,
        total: 1,
    };
    let e = active(&r)
        .stage(HookPoint::BeforeStage, stage)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            HookFailed::Failed {
                source: HookError::Output { .. },
                ..
            }
        ),
        "{e:?}"
    );
}
