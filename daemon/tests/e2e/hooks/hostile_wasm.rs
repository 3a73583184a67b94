//! Issue #12: the hostile WASM fixtures of `plugins/fixtures` (built by the test kit) as hooks
//! of restores the daemon runs over its HTTP API:
//!
//! - with `on_error = "fail"`, each (endless loop, memory hog, deep recursion, huge output)
//!   ends its restore in `error`, the row's result naming the hook, the point and the reason;
//! - with `skip` / `ignore`, the restore completes: failures ignored are logged as warnings
//!   with default behaviour, a failure with `skip` leaves its object out;
//! - the daemon answers meanwhile and a following restore without them is complete;
//! - a module asking for a capability the config does not grant, or speaking another ABI, is
//!   refused when the config loads, naming the file.
//!
//! Every hook is `enabled = false` and selected per restore (`hooks`), so one daemon runs them
//! all. No sleeps: the test waits on restore status.

use std::path::Path;

use assetark::config::{Config, Sources};
use assetark_tests::kit;
use serde_json::Value;

use super::plugins::{HookConfig, daemon, ended, log, messages, request, start};
use crate::restore::support::{self, Raw, backup, client, config};

/// A disabled WASM hook running the fixture crate `krate`.
fn hostile(
    name: &'static str,
    point: &'static str,
    krate: &str,
    on_error: &'static str,
) -> HookConfig {
    HookConfig {
        name,
        point,
        kind: "wasm",
        path: kit::plugin_wasm(krate),
        on_error,
        extra: "enabled = false".into(),
    }
}

fn result(row: &Value) -> String {
    row["result"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_wasm_hooks_fail_or_are_tolerated_and_the_daemon_keeps_serving() {
    let sim = support::start(&config(20, false)).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = kit::pipeline::store(dir.path());
        backup(&client(&sim, "s1"), &store, "ITSM").await;
    }
    let point = "transform_object";
    let hooks = [
        hostile("loop-fail", point, "fixture_endless_loop", "fail"),
        hostile("hog-fail", point, "fixture_memory_hog", "fail"),
        hostile("deep-fail", point, "fixture_deep_recursion", "fail"),
        hostile("huge-fail", point, "fixture_huge_output", "fail"),
        hostile("hog-ignore", point, "fixture_memory_hog", "ignore"),
        hostile("deep-ignore", point, "fixture_deep_recursion", "ignore"),
        hostile("huge-skip", point, "fixture_huge_output", "skip"),
        hostile(
            "loop-ignore",
            "before_stage",
            "fixture_endless_loop",
            "ignore",
        ),
    ];
    let d = daemon(&sim, dir.path(), &hooks).await;
    let objects = Raw::new(&sim, "s1").originals("ITSM").await.len();
    assert!(objects > 0);

    // on_error = "fail": the restore ends in error naming the hook, the point and the reason.
    let cases = [
        ("loop-fail", "the hook ran past its deadline of 2000 ms"),
        ("hog-fail", "the hook hit its limit on memory (64 MiB)"),
        ("deep-fail", "the hook hit its limit on WASM stack (512 KiB"),
        ("huge-fail", "more than the limit of 1048576"),
    ];
    for (i, (name, reason)) in cases.iter().enumerate() {
        let id = start(&d, &format!("FAIL{i}"), &[name], &[]).await;
        let row = ended(&d, id).await;
        assert_eq!(row["status"], "error", "{name}: {row}");
        let text = result(&row);
        assert!(
            text.contains(&format!("hook \"{name}\" failed at transform_object")),
            "{name}: {text}"
        );
        assert!(text.contains(reason), "{name}: {text}");
        // Stopped at the first object: nothing after it was created.
        let made = Raw::new(&sim, "s2").originals(&format!("FAIL{i}")).await;
        assert!(made.len() < objects, "{name}: {} created", made.len());
    }

    // skip / ignore: the restore completes; the loop at every stage runs out its deadline
    // while the daemon answers.
    let tolerated = ["hog-ignore", "deep-ignore", "huge-skip", "loop-ignore"];
    let id = start(&d, "TOLERATED", &tolerated, &[]).await;
    kit::wait_for("the tolerated restore to run", || async {
        let r = d
            .client()
            .get(&format!("/v1/restores/{id}"))
            .await
            .ok()?
            .body;
        (r["status"] != "pending").then_some(())
    })
    .await;
    assert_eq!(
        d.client().get("/healthz").await.expect("healthz").status,
        200
    );
    let row = ended(&d, id).await;
    assert_eq!(row["status"], "completed", "{row}");
    let entries = log(&d, id).await;
    let texts = messages(&entries);
    let count = |needle: &str| texts.iter().filter(|m| m.contains(needle)).count();
    assert_eq!(
        count("Hook hog-ignore at transform_object"),
        objects,
        "{texts:#?}"
    );
    assert_eq!(count("hit its limit on memory (64 MiB)"), objects);
    assert_eq!(count("hit its limit on WASM stack"), objects);
    assert_eq!(count("more than the limit of 1048576"), objects);
    assert_eq!(count("; default behaviour"), 2 * objects + 11);
    assert_eq!(count("; skipped"), objects);
    assert_eq!(count("ran past its deadline of 2000 ms"), 11);
    let warnings = entries.iter().filter(|e| e["Level"] == "warn").count();
    assert!(warnings >= 3 * objects + 11, "{warnings} warnings");
    assert!(Raw::new(&sim, "s2").originals("TOLERATED").await.is_empty());

    // Still serving: the same backup without hostile hooks restores completely.
    let clean = start(&d, "CLEAN", &[], &[]).await;
    let row = ended(&d, clean).await;
    assert_eq!(row["status"], "completed", "{row}");
    assert_eq!(Raw::new(&sim, "s2").originals("CLEAN").await.len(), objects);
    // An unknown hook is refused before anything runs.
    let e = d
        .client()
        .post("/v1/restores", &request("NOPE", &["loop"], &[]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no hook named \"loop\""), "{e}");
    d.stop().await;
    sim.shutdown().await;
}

#[test]
fn modules_asking_too_much_or_speaking_another_abi_are_refused_at_config_load() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = [
        HookConfig {
            extra: String::new(),
            ..hostile(
                "cap",
                "after_object_restored",
                "fixture_ungranted_capability",
                "fail",
            )
        },
        hostile("abi", "transform_attribute", "fixture_wrong_abi", "fail"),
    ];
    let mut text = String::from("[store]\npath = \"store.db\"\n[control]\nsocket = \"ctl.sock\"\n");
    for h in &hooks {
        text.push_str(&h.toml());
    }
    let path = dir.path().join("assetark.toml");
    let e = Config::parse(&text, Path::new(&path), &Sources::process()).unwrap_err();
    let e = e.to_string();
    assert!(e.contains("fixture_ungranted_capability.wasm"), "{e}");
    assert!(e.contains("\"attachments\""), "{e}");
    assert!(e.contains("fixture_wrong_abi.wasm"), "{e}");
    assert!(e.contains("ABI"), "{e}");
}
