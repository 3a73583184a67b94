//! Issue #12 through the daemon (in-process, real HTTP to the simulator, a real SQLite file):
//!
//! - text-to-textarea: a `from_data_center = true` backup of `s1` restored to the Cloud site
//!   `s2` with the hook: every object restored, each long-text attribute Textarea
//!   (`defaultType.id` 9) on the target, every value whole; without the hook (`--no-hook`)
//!   those objects fail with the API's 255-character message in the log. The hook's kind and
//!   path are parameters ([`HookConfig`]) so the WASM variant runs the same test;
//! - hostile scripts: an endless loop, a memory hog, deep recursion and a huge output, each
//!   stopped with its typed error, `on_error` applied, the daemon serving meanwhile and after.

use std::path::{Path, PathBuf};

use assetark::api::wire::StartRestoreRequest;
use assetark::config::{Config, Sources};
use assetark_tests::kit::{self, InProcessDaemon};
use assets_sim::server::SimHandle;
use serde_json::Value;

use crate::restore::support::{self, Raw, backup, client, config};

/// One `[[hooks]]` table.
pub struct HookConfig {
    /// `name`.
    pub name: &'static str,
    /// `point`.
    pub point: &'static str,
    /// `kind`: `rhai` or `wasm`.
    pub kind: &'static str,
    /// `path`, absolute.
    pub path: PathBuf,
    /// `on_error`.
    pub on_error: &'static str,
    /// More lines of the table (`enabled = false`, `[hooks.settings]` ...), appended as is.
    pub extra: String,
}

impl HookConfig {
    pub fn toml(&self) -> String {
        format!(
            "[[hooks]]\nname = \"{}\"\npoint = \"{}\"\nkind = \"{}\"\npath = \"{}\"\non_error = \"{}\"\n{}\n",
            self.name,
            self.point,
            self.kind,
            self.path.display(),
            self.on_error,
            self.extra
        )
    }
}

/// The shipped Rhai text-to-textarea script.
pub fn rhai_text_to_textarea() -> HookConfig {
    HookConfig {
        name: "t2t",
        point: "transform_attribute",
        kind: "rhai",
        path: Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/text_to_textarea.rhai"),
        on_error: "fail",
        extra: String::new(),
    }
}

/// A daemon on `sim` (sites `s1` and `s2`) with `hooks`, its store the file of `dir`.
pub async fn daemon(sim: &SimHandle, dir: &Path, hooks: &[HookConfig]) -> InProcessDaemon {
    let mut text = String::from("[store]\npath = \"store.db\"\n[control]\nsocket = \"ctl.sock\"\n");
    for name in ["s1", "s2"] {
        let s = sim.site(name).expect("site");
        text.push_str(&format!(
            "[[sites]]\nname = \"{name}\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
             token = \"{}\"\n[sites.limits]\nobject_per_minute = 1000000\naql_per_minute = 1000000\n\
             other_per_minute = 1000000\njira_per_minute = 1000000\n",
            s.api_url, s.site_url, s.email, s.token
        ));
    }
    text.push_str("[jobs]\nmax_retries = 0\n");
    for h in hooks {
        text.push_str(&h.toml());
    }
    let path = dir.join("assetark.toml");
    std::fs::write(&path, &text).expect("config");
    let cfg = Config::parse(&text, &path, &Sources::process()).expect("valid config");
    InProcessDaemon::start(cfg).await
}

/// The request restoring backup 1 into a new schema `key` of `s2`, with `--hook` / `--no-hook`.
pub fn request(key: &str, hooks: &[&str], no_hooks: &[&str]) -> StartRestoreRequest {
    StartRestoreRequest {
        backup_id: 1,
        to: "new-schema".into(),
        name: format!("Schema {key}"),
        key: key.into(),
        site: Some("s2".into()),
        dry_run: false,
        schema: None,
        duplicates: false,
        hooks: hooks.iter().map(|s| (*s).to_owned()).collect(),
        no_hooks: no_hooks.iter().map(|s| (*s).to_owned()).collect(),
        history: false,
        with_icons: false,
        ..Default::default()
    }
}

/// Starts a restore of backup 1 into a new schema of `s2`; returns its id.
pub async fn start(d: &InProcessDaemon, key: &str, hooks: &[&str], no_hooks: &[&str]) -> u64 {
    let request = request(key, hooks, no_hooks);
    let reply = d
        .client()
        .post("/v1/restores", &request)
        .await
        .expect("start");
    reply.body["restore_id"].as_u64().expect("restore id")
}

/// Waits until restore `id` ends; returns its row as the API shows it.
pub async fn ended(d: &InProcessDaemon, id: u64) -> Value {
    kit::wait_for("the restore to end", || async {
        let r = d
            .client()
            .get(&format!("/v1/restores/{id}"))
            .await
            .ok()?
            .body;
        matches!(
            r["status"].as_str(),
            Some("completed" | "error" | "stopped")
        )
        .then_some(r)
    })
    .await
}

/// The full log of restore `id`.
pub async fn log(d: &InProcessDaemon, id: u64) -> Vec<Value> {
    let body = d
        .client()
        .get(&format!("/v1/restores/{id}/log"))
        .await
        .expect("log")
        .body;
    body.as_array().cloned().unwrap_or_default()
}

/// The messages of log entries.
pub fn messages(log: &[Value]) -> Vec<String> {
    log.iter()
        .map(|e| match &e["Message"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// The Text values of the backup longer than 255 characters, by `ORIGINAL_KEY`-less object
/// key: checked whole on the target.
async fn long_values(raw: &Raw, schema_key: &str) -> Vec<String> {
    let schema = support::schema_id(raw, schema_key).await;
    let mut out: Vec<String> = raw
        .objects(&format!("objectSchemaId = {schema}"))
        .await
        .iter()
        .flat_map(|o| o["attributes"].as_array().cloned().unwrap_or_default())
        .flat_map(|a| {
            a["objectAttributeValues"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|v| v["value"].as_str().map(str::to_owned))
        .filter(|v| v.chars().count() > 255)
        .collect();
    out.sort();
    out
}

/// The text-to-textarea case with `hook` (Rhai here; the WASM host passes its module).
pub async fn text_to_textarea_case(hook: HookConfig) {
    let sim = support::start(&config(120, true)).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = kit::pipeline::store(dir.path());
        backup(&client(&sim, "s1"), &store, "ITSM").await;
    }
    let name = hook.name;
    let d = daemon(&sim, dir.path(), &[hook]).await;
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));
    let source_long = long_values(&raw1, "ITSM").await;
    assert!(!source_long.is_empty(), "the dataset has long texts");

    // Without the hook: the objects holding long texts fail with the API's message.
    let without = start(&d, "NOHOOK", &[], &[name]).await;
    let row = ended(&d, without).await;
    assert_eq!(row["status"], "completed", "{row}");
    let refused = messages(&log(&d, without).await)
        .into_iter()
        .filter(|m| m.contains("less than 255 characters"))
        .count();
    assert!(refused > 0, "objects with long texts fail without the hook");

    // With it: every object restored, the attributes Textarea, every value whole.
    let with = start(&d, "WITHHOOK", &[], &[]).await;
    let row = ended(&d, with).await;
    assert_eq!(row["status"], "completed", "{row}");
    let entries = log(&d, with).await;
    let failed: Vec<_> = entries.iter().filter(|e| e["Result"] == false).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let texts = messages(&entries);
    assert!(
        texts.iter().any(
            |m| m.contains(&format!("Hook {name} at transform_attribute"))
                && m.contains("Text -> Textarea")
        ),
        "the decision is in the log"
    );
    let src = raw1.originals("ITSM").await.len();
    assert_eq!(
        raw2.originals("WITHHOOK").await.len(),
        src,
        "every object restored"
    );
    assert_eq!(
        long_values(&raw2, "WITHHOOK").await,
        source_long,
        "every value whole"
    );
    let schema = support::schema_id(&raw2, "WITHHOOK").await;
    let mut holding_long = 0;
    for t in raw2
        .list(&format!("/objectschema/{schema}/objecttypes/flat"))
        .await
    {
        let id = t["id"].as_str().unwrap().to_owned();
        let attrs = raw2.list(&format!("/objecttype/{id}/attributes")).await;
        let objects = raw2.objects(&format!("objectTypeId = {id}")).await;
        for a in &attrs {
            let long = objects.iter().any(|o| {
                o["attributes"].as_array().into_iter().flatten().any(|v| {
                    v["objectTypeAttributeId"] == a["id"]
                        && v["objectAttributeValues"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|x| x["value"].as_str().is_some_and(|s| s.chars().count() > 255))
                })
            });
            if long {
                holding_long += 1;
                assert_eq!(a["defaultType"]["id"], 9, "{a}");
            }
        }
    }
    assert!(holding_long > 0);
    d.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_to_textarea_as_rhai_restores_every_long_text_whole() {
    text_to_textarea_case(rhai_text_to_textarea()).await;
}

/// A hostile Rhai fixture of `daemon/tests/fixtures/hooks`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hooks")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_scripts_are_stopped_and_the_daemon_keeps_serving() {
    let sim = support::start(&config(20, false)).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = kit::pipeline::store(dir.path());
        backup(&client(&sim, "s1"), &store, "ITSM").await;
    }
    let hook = |name, point, file: &str, on_error| HookConfig {
        name,
        point,
        kind: "rhai",
        path: fixture(file),
        on_error,
        extra: String::new(),
    };
    let hooks = [
        hook(
            "recursion",
            "transform_object",
            "deep_recursion.rhai",
            "ignore",
        ),
        hook("hog", "transform_object", "memory_hog.rhai", "ignore"),
        hook("huge", "transform_object", "huge_output.rhai", "skip"),
        hook("loop", "before_stage", "endless_loop.rhai", "ignore"),
    ];
    let d = daemon(&sim, dir.path(), &hooks).await;

    // An unknown hook name is a 400 naming it.
    let bad = StartRestoreRequest {
        backup_id: 1,
        to: "new-schema".into(),
        name: "Bad".into(),
        key: "BAD".into(),
        site: Some("s2".into()),
        dry_run: false,
        schema: None,
        duplicates: false,
        hooks: vec!["nope".into()],
        no_hooks: vec![],
        history: false,
        with_icons: false,
        ..Default::default()
    };
    let e = d.client().post("/v1/restores", &bad).await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("no hook named \"nope\""), "{text}");

    let id = start(&d, "HOSTILE", &[], &[]).await;
    // While the endless loops run out their deadlines, the daemon answers.
    kit::wait_for("a stage hook to have run", || async {
        let r = d
            .client()
            .get(&format!("/v1/restores/{id}"))
            .await
            .ok()?
            .body;
        (r["status"] == "in_progress").then_some(())
    })
    .await;
    assert_eq!(
        d.client().get("/healthz").await.expect("healthz").status,
        200
    );
    let row = ended(&d, id).await;
    assert_eq!(row["status"], "completed", "{row}");
    let texts = messages(&log(&d, id).await);
    let count = |needle: &str| texts.iter().filter(|m| m.contains(needle)).count();
    // Each object met the three object hooks: two failures ignored, the third skipped it.
    let objects = Raw::new(&sim, "s1").originals("ITSM").await.len();
    assert_eq!(count("Hook recursion at transform_object"), objects);
    assert_eq!(count("hit its limit on call depth (32)"), objects);
    assert_eq!(
        count("hit its limit on data size: Length of string"),
        objects
    );
    assert_eq!(count("invalid answer: the answer is"), objects);
    assert_eq!(count("; skipped"), objects);
    // The loop at every stage: stopped at its deadline, default behaviour.
    assert_eq!(count("ran past its deadline of 1000 ms"), 11);
    assert!(Raw::new(&sim, "s2").originals("HOSTILE").await.is_empty());

    // Still serving: the same backup without the hostile hooks restores completely.
    let clean = start(&d, "CLEAN", &[], &["recursion", "hog", "huge", "loop"]).await;
    let row = ended(&d, clean).await;
    assert_eq!(row["status"], "completed", "{row}");
    assert_eq!(Raw::new(&sim, "s2").originals("CLEAN").await.len(), objects);
    d.stop().await;
    sim.shutdown().await;
}
