//! Issue #12: user matching on a migration to a site whose users differ, through the daemon,
//! once with the WASM plugin `plugins/user-match` and once with `scripts/user_match.rhai`,
//! both with the same mapping table in `[hooks.settings.map]`:
//!
//! - Tom Nguyen is mapped by his old account id, Olivia Brown by her e-mail and Fatima Zahra
//!   by her display name, each to a target account of another name;
//! - users the table does not name become the target account with their display name when
//!   there is exactly one (the fallback);
//! - the rest (Alex Morgan, two of them in the backup; Hannah Schmidt, who left) get none.
//!
//! The dry run's plan shows each decision (hook decisions and the users' reasons), so does
//! the restore log, and the restored objects' User values, read through the target's Assets
//! API, are the accounts the decisions name.
//!
//! A third test hands a Rhai hook that only notes what it receives: for each display name it
//! sees every account of the backup under that name (account id, e-mail, number of values),
//! exactly as read independently from `s1`'s objects, two of them for Alex Morgan.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use assetark::api::wire::DryRun;
use assetark::hooks::{DecisionOutcome, HookPoint};
use assetark::restore::RestorePlan;
use assetark_tests::kit;
use assets_sim::dataset::directory::account_id;
use serde_json::Value;

use super::plugins::{HookConfig, daemon, ended, log, messages, request, start};
use crate::restore::support::{self, Raw, Snapshot, assert_restored, backup, client, schema_id};

/// Target accounts of the mapping table.
const THOMAS: &str = "712020:thomas-nguyen";
const OLIVIA: &str = "712020:olivia-brown-smith";
const FATIMA: &str = "712020:fatima-zahra-khan";

/// `s1`: the cmdb dataset with the standard users; `s2`: other accounts (other e-mails, so
/// other account ids), some under the same display names, three under new names.
fn sim_config() -> String {
    let mut users = String::new();
    for (name, email) in [
        ("Priya Natarajan", "priya@s2.example"),
        ("Jordan Lee", "jordan@s2.example"),
        ("Sam Okafor", "sam@s2.example"),
        ("Chen Wei", "chen@s2.example"),
        ("Lukas Becker", "lukas@s2.example"),
        ("Kenji Tanaka", "kenji@s2.example"),
        ("Mia Krystof", "mia@s2.example"),
        ("Sofia Rossi", "sofia@s2.example"),
    ] {
        users.push_str(&format!(
            "[[sites.users]]\ndisplay_name = \"{name}\"\nemail = \"{email}\"\n\
             groups = [\"it-operations\"]\n"
        ));
    }
    for (name, email, id) in [
        ("Thomas Nguyen", "thomas@s2.example", THOMAS),
        ("Olivia Brown-Smith", "olivia@s2.example", OLIVIA),
        ("Fatima Zahra-Khan", "fatima@s2.example", FATIMA),
    ] {
        users.push_str(&format!(
            "[[sites.users]]\ndisplay_name = \"{name}\"\nemail = \"{email}\"\n\
             account_id = \"{id}\"\ngroups = [\"it-operations\"]\n"
        ));
    }
    format!(
        r#"
admin_api = true
[rate_limits]
enabled = false
[[sites]]
name = "s1"
email = "admin@s1.example"
token = "tok-s1"
[sites.dataset]
kind = "cmdb"
objects = 150
seed = 7
[[sites]]
name = "s2"
email = "admin@s2.example"
token = "tok-s2"
{users}"#
    )
}

/// Tom Nguyen's account id on `s1` (the simulator derives it from name and e-mail).
fn tom_on_s1() -> String {
    account_id("Tom Nguyen", Some("tom.nguyen@example.com"))
}

/// The `[hooks.settings.map]` table: by old account id, by e-mail, by display name.
fn settings() -> String {
    format!(
        "[hooks.settings.map]\n\"{}\" = \"{THOMAS}\"\n\"olivia.brown@example.com\" = \
         \"{OLIVIA}\"\n\"Fatima Zahra\" = \"{FATIMA}\"\n",
        tom_on_s1()
    )
}

/// The user-match hook of `kind` at `path`.
fn hook(kind: &'static str, path: std::path::PathBuf) -> HookConfig {
    HookConfig {
        name: "um",
        point: "match_user",
        kind,
        path,
        on_error: "fail",
        extra: settings(),
    }
}

/// Who each backup display name becomes: the table's account, else the only target account
/// of that name, else none.
fn expected(name: &str, target_by_name: &HashMap<String, Vec<String>>) -> Option<String> {
    match name {
        "Tom Nguyen" => Some(THOMAS.into()),
        "Olivia Brown" => Some(OLIVIA.into()),
        "Fatima Zahra" => Some(FATIMA.into()),
        _ => match target_by_name.get(name).map(Vec::as_slice) {
            Some([one]) => Some(one.clone()),
            _ => None,
        },
    }
}

async fn user_match_case(hook: HookConfig) {
    let sim = support::start(&sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = kit::pipeline::store(dir.path());
        backup(&client(&sim, "s1"), &store, "ITSM").await;
    }
    let d = daemon(&sim, dir.path(), &[hook]).await;
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));

    // The plan (a dry run): every backup user has a decision of the hook.
    let mut dry = request("MIGRATED", &[], &[]);
    dry.dry_run = true;
    let reply = d
        .client()
        .post("/v1/restores", &dry)
        .await
        .expect("dry run");
    let plan: RestorePlan = serde_json::from_value::<DryRun>(reply.body)
        .expect("a dry run answers the plan")
        .plan;
    let mut target_by_name = HashMap::new();
    for u in &plan.users {
        target_by_name.insert(u.display_name.clone(), raw2.accounts(&u.display_name).await);
    }
    let (mut mapped, mut fallback, mut none) = (0, 0, 0);
    for u in &plan.users {
        let want = expected(&u.display_name, &target_by_name);
        assert_eq!(u.account_id, want, "plan: {u:?}");
        let d = plan
            .hooks
            .decisions
            .iter()
            .find(|d| d.point == HookPoint::MatchUser && d.subject == u.display_name)
            .unwrap_or_else(|| panic!("no decision for {}", u.display_name));
        assert_eq!(d.hook, "um");
        let note = d.note.as_deref().unwrap_or_default();
        match (&d.outcome, want) {
            (DecisionOutcome::Matched { account_id }, Some(want)) => {
                assert_eq!(account_id, &want);
                assert_eq!(u.reason, "matched by hook um");
                if [THOMAS, OLIVIA, FATIMA].contains(&want.as_str()) {
                    mapped += 1;
                    assert!(note.contains("mapp"), "{d:?}");
                } else {
                    fallback += 1;
                    assert!(note.contains("display name"), "{d:?}");
                }
            }
            (DecisionOutcome::Unmatched { .. }, None) => {
                none += 1;
                assert!(u.reason.starts_with("left empty by hook um"), "{u:?}");
            }
            (outcome, want) => panic!("{}: {outcome:?}, expected {want:?}", u.display_name),
        }
    }
    assert!(
        mapped >= 2 && fallback >= 2 && none >= 1,
        "the dataset shows each rule: {mapped} mapped, {fallback} by display name, {none} none"
    );

    // The restore: the same decisions in its log, every object restored, and each User value
    // on the target the decided account.
    let id = start(&d, "MIGRATED", &[], &[]).await;
    let row = ended(&d, id).await;
    assert_eq!(row["status"], "completed", "{row}");
    let entries = log(&d, id).await;
    let failed: Vec<_> = entries.iter().filter(|e| e["Result"] == false).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let texts = messages(&entries);
    for u in &plan.users {
        let line = format!("Hook um at match_user on {}: ", u.display_name);
        let found = texts.iter().find(|m| m.starts_with(&line));
        let found = found.unwrap_or_else(|| panic!("no log line for {}", u.display_name));
        match &u.account_id {
            Some(a) => assert!(found.contains(&format!("matched to {a}")), "{found}"),
            None => assert!(found.contains("no user: "), "{found}"),
        }
    }
    let src = Snapshot::read(&raw1, &schema_id(&raw1, "ITSM").await).await;
    let dst = Snapshot::read(&raw2, &schema_id(&raw2, "MIGRATED").await).await;
    assert_restored(&src, &dst, &plan, &move |_, name| {
        expected(name, &target_by_name)
    });
    let on_target: usize = dst
        .objects
        .iter()
        .flat_map(|o| o["attributes"].as_array().cloned().unwrap_or_default())
        .flat_map(|a| {
            a["objectAttributeValues"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|v| [THOMAS, OLIVIA, FATIMA].iter().any(|m| v["value"] == *m))
        .count();
    assert!(on_target > 0, "mapped accounts are set on the target");
    d.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_match_as_wasm_maps_falls_back_and_leaves_the_rest_empty() {
    user_match_case(hook("wasm", kit::plugin_wasm("user_match"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_match_as_rhai_maps_falls_back_and_leaves_the_rest_empty() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/user_match.rhai");
    user_match_case(hook("rhai", script)).await;
}

/// Per display name, the backup's accounts as `account_id|email|values`, sorted, read from the
/// User values of schema `key` on `raw`.
async fn accounts_by_name(raw: &Raw, key: &str) -> BTreeMap<String, Vec<String>> {
    let schema = schema_id(raw, key).await;
    let mut counts: BTreeMap<String, BTreeMap<(String, String), u64>> = BTreeMap::new();
    for o in raw.objects(&format!("objectSchemaId = {schema}")).await {
        for a in o["attributes"].as_array().into_iter().flatten() {
            for v in a["objectAttributeValues"].as_array().into_iter().flatten() {
                let Some(user) = v["user"].as_object() else {
                    continue;
                };
                let name = user["displayName"].as_str().expect("name").to_owned();
                let account = v["value"].as_str().unwrap_or("-").to_owned();
                let email = user
                    .get("emailAddress")
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_owned();
                *counts
                    .entry(name)
                    .or_default()
                    .entry((account, email))
                    .or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .map(|(name, accounts)| {
            let list = accounts
                .into_iter()
                .map(|((a, e), n)| format!("{a}|{e}|{n}"))
                .collect();
            (name, list)
        })
        .collect()
}

/// Notes every account it is handed; decides nothing.
const NOTE_ACCOUNTS: &str = r#"
fn match_user(event) {
    let out = "";
    for a in event.input.user.accounts {
        let id = if type_of(a.account_id) == "()" { "-" } else { a.account_id };
        let email = if type_of(a.email) == "()" { "-" } else { a.email };
        if out != "" {
            out += ";";
        }
        out += `${id}|${email}|${a.values}`;
    }
    #{ note: out }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_user_hooks_see_every_backup_account_under_a_display_name() {
    let sim = support::start(&sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = kit::pipeline::store(dir.path());
        backup(&client(&sim, "s1"), &store, "ITSM").await;
    }
    let script = dir.path().join("note_accounts.rhai");
    std::fs::write(&script, NOTE_ACCOUNTS).expect("script");
    let hook = HookConfig {
        name: "seen",
        point: "match_user",
        kind: "rhai",
        path: script,
        on_error: "fail",
        extra: String::new(),
    };
    let d = daemon(&sim, dir.path(), &[hook]).await;
    let want = accounts_by_name(&Raw::new(&sim, "s1"), "ITSM").await;
    assert!(
        want.get("Alex Morgan").is_some_and(|a| a.len() == 2),
        "two people named Alex Morgan in the backup: {want:?}"
    );
    let mut dry = request("SEEN", &[], &[]);
    dry.dry_run = true;
    let reply = d
        .client()
        .post("/v1/restores", &dry)
        .await
        .expect("dry run");
    let plan: RestorePlan = serde_json::from_value::<DryRun>(reply.body)
        .expect("a dry run answers the plan")
        .plan;
    let mut got = BTreeMap::new();
    for dec in plan
        .hooks
        .decisions
        .iter()
        .filter(|d| d.point == HookPoint::MatchUser)
    {
        assert_eq!(dec.outcome, DecisionOutcome::Noted, "{dec:?}");
        let mut seen: Vec<String> = dec
            .note
            .as_deref()
            .unwrap_or_default()
            .split(';')
            .map(str::to_owned)
            .collect();
        seen.sort();
        got.insert(dec.subject.clone(), seen);
    }
    assert_eq!(got, want, "what the hook was handed, per display name");
    d.stop().await;
    sim.shutdown().await;
}

/// The two people of the backup named Alex Morgan, mapped by their old account ids to two
/// different target accounts (`[hooks.settings.map]`): the hook is asked once per account,
/// the plan lists both decisions, and every User value on the target follows its own account.
async fn per_account_case(kind: &'static str, path: std::path::PathBuf) {
    let sim = support::start(&sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = kit::pipeline::store(dir.path());
        backup(&client(&sim, "s1"), &store, "ITSM").await;
    }
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));
    let alex: Vec<String> = accounts_by_name(&raw1, "ITSM")
        .await
        .remove("Alex Morgan")
        .expect("Alex Morgan in the backup")
        .iter()
        .map(|a| a.split('|').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(alex.len(), 2, "two people named Alex Morgan: {alex:?}");
    let target = |account: &str| if account == alex[0] { THOMAS } else { OLIVIA };
    let hook = HookConfig {
        name: "um",
        point: "match_user",
        kind,
        path,
        on_error: "fail",
        extra: format!(
            "[hooks.settings.map]\n\"{}\" = \"{THOMAS}\"\n\"{}\" = \"{OLIVIA}\"\n",
            alex[0], alex[1]
        ),
    };
    let d = daemon(&sim, dir.path(), &[hook]).await;

    let mut dry = request("MIGRATED", &[], &[]);
    dry.dry_run = true;
    let reply = d
        .client()
        .post("/v1/restores", &dry)
        .await
        .expect("dry run");
    let plan: RestorePlan = serde_json::from_value::<DryRun>(reply.body)
        .expect("a dry run answers the plan")
        .plan;
    let mut decided: Vec<(String, String, Option<String>, String)> = plan
        .hooks
        .accounts
        .iter()
        .map(|a| {
            let row = (a.account.clone(), a.display_name.clone());
            (row.0, row.1, a.account_id.clone(), a.reason.clone())
        })
        .collect();
    decided.sort();
    let want: Vec<_> = alex
        .iter()
        .map(|a| {
            let t = Some(target(a).to_owned());
            (
                a.clone(),
                "Alex Morgan".into(),
                t,
                "matched by hook um".into(),
            )
        })
        .collect();
    assert_eq!(decided, want);
    let row = plan
        .users
        .iter()
        .find(|u| u.display_name == "Alex Morgan")
        .expect("Alex Morgan's row");
    assert_eq!(row.account_id, None);
    assert_eq!(
        row.reason,
        "2 backup accounts share this display name: decided per account by hook"
    );

    let id = start(&d, "MIGRATED", &[], &[]).await;
    let ended_row = ended(&d, id).await;
    assert_eq!(ended_row["status"], "completed", "{ended_row}");
    // Per source object id: the target accounts its Alex Morgan values must become.
    let mut expected: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let src = schema_id(&raw1, "ITSM").await;
    for o in raw1.objects(&format!("objectSchemaId = {src}")).await {
        for a in o["attributes"].as_array().into_iter().flatten() {
            for v in a["objectAttributeValues"].as_array().into_iter().flatten() {
                if v["user"]["displayName"] == "Alex Morgan" {
                    let account = v["value"].as_str().expect("account id");
                    let id = o["id"].as_str().expect("id").to_owned();
                    expected.entry(id).or_default().push(target(account));
                }
            }
        }
    }
    let original: HashMap<String, String> = raw2
        .originals("MIGRATED")
        .await
        .into_iter()
        .filter_map(|(id, orig)| Some((id, orig?)))
        .collect();
    let mut got: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let dst = schema_id(&raw2, "MIGRATED").await;
    for o in raw2.objects(&format!("objectSchemaId = {dst}")).await {
        for a in o["attributes"].as_array().into_iter().flatten() {
            for v in a["objectAttributeValues"].as_array().into_iter().flatten() {
                if let Some(t) = [THOMAS, OLIVIA].into_iter().find(|t| v["value"] == *t) {
                    let id = o["id"].as_str().expect("id");
                    got.entry(original[id].clone()).or_default().push(t);
                }
            }
        }
    }
    for list in expected.values_mut().chain(got.values_mut()) {
        list.sort();
    }
    let both = expected
        .values()
        .flatten()
        .collect::<std::collections::HashSet<_>>();
    assert_eq!(
        both.len(),
        2,
        "values of both people in the dataset: {expected:?}"
    );
    assert_eq!(got, expected, "each value follows its own account");
    d.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_sharing_a_display_name_are_matched_per_account_as_rhai() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/user_match.rhai");
    per_account_case("rhai", script).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_sharing_a_display_name_are_matched_per_account_as_wasm() {
    per_account_case("wasm", kit::plugin_wasm("user_match")).await;
}
