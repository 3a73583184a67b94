//! `transform_object` decisions in the plan, through the daemon and the CLI as real processes:
//! the shipped `normalise` example (trim text values, collapse runs of spaces, skip objects
//! whose label says "(retired)"), once as Rhai (`scripts/examples/`) and once as WASM
//! (`plugins/examples/normalise`), with an `after_stage` Rhai hook beside it.
//!
//! On `s1`, one object gets a label and a second Text value with stray spaces, another a
//! "(retired)" label. Then:
//! - `restore start ... --dry-run --json`: the plan's `transform_object` decisions are exactly
//!   the ones computed independently from `s1`'s objects (per object key: the skip with its
//!   reason, or each attribute's values from and to), and the stage hook is listed as running
//!   at execute time with its decisions in the restore log;
//! - the text dry run shows each of those decisions and the execute-time hook;
//! - the restore (`--wait`) to `s2`: read through `s2`'s Assets API, every changed attribute
//!   holds exactly the planned values, skipped objects are absent and every other object is
//!   there; the log holds each planned decision word for word, the stage hook's notes, and no
//!   warning that execution decided otherwise than the plan.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use assetark::hooks::{DecisionOutcome, HookPoint};
use assetark::restore::{
    DecisionRecord, ExecuteEffect, ExecuteInput, ExecuteTimeHook, RestorePlan,
};
use assetark_tests::kit::{self, SiteReader};
use serde_json::{Value, json};

use crate::proc::Daemon;
use crate::restore::support;

/// What the plan must say about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// Left out, for this reason.
    Skip(String),
    /// (attribute name, values from, values to), in the object's attribute order.
    Change(Vec<(String, Vec<String>, Vec<String>)>),
}

/// The example's rule: trimmed, runs of spaces collapsed to one.
fn normalise(text: &str) -> String {
    let mut out = text.trim().to_owned();
    while out.contains("  ") {
        out = out.replace("  ", " ");
    }
    out
}

fn text(v: &Value) -> Option<String> {
    v["value"].as_str().map(str::to_owned)
}

/// Per object key of schema `key` on `raw`, what the example decides (objects it leaves as
/// they are are not listed).
async fn expected(raw: &SiteReader, key: &str) -> BTreeMap<String, Expect> {
    let schema = support::schema_id(raw, key).await;
    let mut names: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut out = BTreeMap::new();
    for o in raw.objects(&format!("objectSchemaId = {schema}")).await {
        let object_key = o["objectKey"].as_str().expect("key").to_owned();
        if o["label"].as_str().is_some_and(|l| l.contains("(retired)")) {
            let reason = "retired: label contains (retired)".to_owned();
            out.insert(object_key, Expect::Skip(reason));
            continue;
        }
        let type_id = o["objectType"]["id"].as_str().expect("type").to_owned();
        if !names.contains_key(&type_id) {
            let attrs = raw.list(&format!("/objecttype/{type_id}/attributes")).await;
            let by_id = attrs
                .iter()
                .map(|a| (a["id"].as_str().unwrap().to_owned(), s(&a["name"])))
                .collect();
            names.insert(type_id.clone(), by_id);
        }
        let mut changes = Vec::new();
        for a in o["attributes"].as_array().into_iter().flatten() {
            let values = a["objectAttributeValues"].as_array().cloned();
            let from: Vec<String> = values.iter().flatten().filter_map(text).collect();
            let to: Vec<String> = from.iter().map(|t| normalise(t)).collect();
            if from != to {
                let id = s(&a["objectTypeAttributeId"]);
                changes.push((names[&type_id][&id].clone(), from, to));
            }
        }
        if !changes.is_empty() {
            out.insert(object_key, Expect::Change(changes));
        }
    }
    out
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Gives the first object of schema `key` a label and a second Text value with stray spaces
/// (when its type has a second Text attribute), and the second object a "(retired)" label.
/// Returns their keys.
async fn seed(raw: &SiteReader, api_url: &str, key: &str) -> (String, String) {
    let schema = support::schema_id(raw, key).await;
    let objects = raw.objects(&format!("objectSchemaId = {schema}")).await;
    let mut keys = Vec::new();
    for (n, o) in objects.iter().take(2).enumerate() {
        let type_id = s(&o["objectType"]["id"]);
        let attrs = raw.list(&format!("/objecttype/{type_id}/attributes")).await;
        let is_text = |a: &&Value| a["defaultType"]["id"] == 0 && a["system"] != true;
        let label = attrs
            .iter()
            .find(|a| a["label"] == true)
            .expect("a label attribute");
        let label_text = s(&o["label"]);
        let mut inputs = Vec::new();
        if n == 0 {
            let spaced = format!("  Spaced   {label_text}  ");
            inputs.push(json!({"objectTypeAttributeId": label["id"],
                               "objectAttributeValues": [{"value": spaced}]}));
            if let Some(other) = attrs.iter().filter(is_text).find(|a| a["label"] != true) {
                inputs.push(json!({"objectTypeAttributeId": other["id"],
                                   "objectAttributeValues": [{"value": "two  spaces "}]}));
            }
        } else {
            let retired = format!("{label_text} (retired)");
            inputs.push(json!({"objectTypeAttributeId": label["id"],
                               "objectAttributeValues": [{"value": retired}]}));
        }
        let body = json!({"objectTypeId": type_id, "attributes": inputs});
        let id = s(&o["id"]);
        raw.send(
            reqwest::Method::PUT,
            format!("{api_url}/object/{id}"),
            Some(&body),
        )
        .await;
        keys.push(s(&o["objectKey"]));
    }
    (keys[0].clone(), keys[1].clone())
}

/// The daemon's config for sites `s1` and `s2` of `sim`, with `hooks`.
fn daemon(sim: &assets_sim::server::SimHandle, hooks: &str) -> Daemon {
    let mut text = String::new();
    for name in ["s1", "s2"] {
        let site = sim.site(name).expect("site");
        text.push_str(&format!(
            "[[sites]]\nname = \"{name}\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
             token = \"{}\"\n[sites.limits]\nobject_per_minute = 1000000\naql_per_minute = 1000000\n\
             other_per_minute = 1000000\njira_per_minute = 1000000\n",
            site.api_url, site.site_url, site.email, site.token
        ));
    }
    text.push_str("[jobs]\nmax_retries = 0\n");
    text.push_str(hooks);
    let stage = "fn after_stage(event) {\n    #{ note: `stage ${event.input.stage} seen` }\n}\n";
    Daemon::new(&[("stages.rhai", stage)], &text)
}

async fn object_plan_case(kind: &str, path: PathBuf) {
    let sim = support::start(&support::config(150, false)).await;
    let (raw1, raw2) = (SiteReader::new(&sim, "s1"), SiteReader::new(&sim, "s2"));
    let api1 = sim.site("s1").expect("s1").api_url.clone();
    let (changed_key, retired_key) = seed(&raw1, &api1, "ITSM").await;
    let want = expected(&raw1, "ITSM").await;
    assert!(
        matches!(want.get(&changed_key), Some(Expect::Change(c)) if !c.is_empty()),
        "{want:?}"
    );
    assert!(
        matches!(want.get(&retired_key), Some(Expect::Skip(_))),
        "{want:?}"
    );
    let hooks = format!(
        "[[hooks]]\nname = \"norm\"\npoint = \"transform_object\"\nkind = \"{kind}\"\n\
         path = \"{}\"\non_error = \"fail\"\n\
         [[hooks]]\nname = \"stages\"\npoint = \"after_stage\"\nkind = \"rhai\"\n\
         path = \"stages.rhai\"\n",
        path.display()
    );
    let mut d = daemon(&sim, &hooks);
    d.start().await;
    let job = d
        .cli_json(&[
            "backup", "run", "--site", "s1", "--schema", "ITSM", "--wait",
        ])
        .await;
    assert_eq!(job["status"], "done", "{job}");
    let backup = job["result"]["backup"]["id"]
        .as_i64()
        .expect("id")
        .to_string();
    let start = |extra: &str| {
        let mut args: Vec<String> = [
            "restore",
            "start",
            &backup,
            "--to",
            "new-schema",
            "--name",
            "Normalised",
            "--key",
            "NORM",
            "--site",
            "s2",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        args.push(extra.to_owned());
        args
    };

    // The typed plan: exactly the expected decisions, and the stage hook at execute time.
    let dry = start("--dry-run");
    let args: Vec<&str> = dry.iter().map(String::as_str).collect();
    let plan: RestorePlan = serde_json::from_value(d.cli_json(&args).await).expect("a plan");
    let mut got = BTreeMap::new();
    let object_decisions: Vec<_> = plan
        .hooks
        .decisions
        .iter()
        .filter(|d| d.point == HookPoint::TransformObject)
        .collect();
    for dec in &object_decisions {
        assert_eq!(dec.hook, "norm", "{dec:?}");
        let e = match &dec.outcome {
            DecisionOutcome::Skipped { reason } => Expect::Skip(reason.clone()),
            DecisionOutcome::Changed { values, .. } => Expect::Change(
                values
                    .iter()
                    .map(|v| (v.attribute.clone(), v.from.clone(), v.to.clone()))
                    .collect(),
            ),
            other => panic!("{}: {other:?}", dec.subject),
        };
        assert!(
            got.insert(dec.subject.clone(), e).is_none(),
            "two decisions on {}",
            dec.subject
        );
    }
    assert_eq!(got, want, "the plan's transform_object decisions");
    assert_eq!(
        plan.hooks.at_execute,
        vec![ExecuteTimeHook {
            hook: "stages".into(),
            point: HookPoint::AfterStage,
            needs: ExecuteInput::StageProgress,
            effect: ExecuteEffect::MayAbort,
            decisions_in: DecisionRecord::RestoreLog,
        }]
    );
    let skipped = want
        .values()
        .filter(|e| matches!(e, Expect::Skip(_)))
        .count() as u64;
    assert_eq!(
        plan.summary.objects_created,
        plan.order.objects - skipped,
        "skipped objects are not created"
    );

    // The text dry run shows the same decisions and the execute-time hook.
    let out = d.cli(&args).await;
    out.ok(&["restore", "start", "--dry-run"]);
    for dec in &object_decisions {
        assert!(out.stdout.contains(&dec.message()), "{}", out.stdout);
    }
    assert!(
        out.stdout.contains(
            "Hook stages at after_stage runs while the restore executes (it needs a stage's \
             progress; it may abort the restore): its decisions appear in the restore log"
        ),
        "{}",
        out.stdout
    );

    // The restore produces exactly the planned values.
    let run = start("--wait");
    let args: Vec<&str> = run.iter().map(String::as_str).collect();
    let done = d.cli_json(&args).await;
    assert_eq!(done["status"], "completed", "{done}");
    let on_target: HashMap<String, kit::NamedObject> = raw2
        .named_objects("NORM")
        .await
        .into_iter()
        .map(|o| (text(o.values("ORIGINAL_KEY")[0]).expect("key"), o))
        .collect();
    assert_eq!(on_target.len() as u64, plan.order.objects - skipped);
    for (key, e) in &want {
        match e {
            Expect::Skip(_) => assert!(!on_target.contains_key(key), "{key} was skipped"),
            Expect::Change(changes) => {
                let o = &on_target[key];
                for (name, _, to) in changes {
                    let values: Vec<String> = o.values(name).into_iter().filter_map(text).collect();
                    assert_eq!(&values, to, "{key}.{name} on the target");
                }
            }
        }
    }
    let id = done["id"].as_i64().expect("id").to_string();
    let log = d.cli(&["restores", "log", &id, "--full"]).await;
    log.ok(&["restores", "log", "--full"]);
    let entries: Vec<Value> = serde_json::from_str(&log.stdout).expect("log JSON");
    let logged = |key: &str, message: &str| {
        entries
            .iter()
            .any(|e| e["ObjectKey"] == key && e["Message"] == message)
    };
    for dec in &object_decisions {
        assert!(
            logged(&dec.subject, &dec.message()),
            "{dec:?} not in the log"
        );
    }
    assert!(logged(
        "",
        "Hook stages at after_stage on stage object_entries: default (stage object_entries seen)"
    ));
    let differs = entries
        .iter()
        .filter(|e| s(&e["Message"]).contains("decided otherwise than the plan"))
        .count();
    assert_eq!(differs, 0, "execution matches the plan");
    d.term().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transform_object_decisions_are_planned_and_executed_as_rhai() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/examples/normalise_and_skip_retired.rhai");
    object_plan_case("rhai", script).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transform_object_decisions_are_planned_and_executed_as_wasm() {
    object_plan_case("wasm", kit::plugin_wasm("example_normalise")).await;
}
