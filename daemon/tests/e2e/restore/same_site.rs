//! User values restored onto the backup's own site keep their accountId: two users sharing a
//! display name keep their own values (the display-name rule would leave both empty), and only
//! an account the site no longer has falls back to the display-name rule, logged as such.
//!
//! "The site no longer has it" is a second simulator serving a site of the same name whose
//! directory lacks that account (and has a new account of the same display name).

use std::collections::{BTreeMap, BTreeSet};

use assetark::restore::UserLookupMethod;
use serde_json::Value;

use super::support::{self, Raw, Snapshot, assert_restored, backup, client, full_log, plan};
use super::{complete, rule};

const LEAVER: &str = "leaver-1";
const LEAVER_NEW: &str = "leaver-2";

/// Site `s1` whose directory has two "Alex Morgan" accounts and, on the first simulator, the
/// account [`LEAVER`]; on the second, [`LEAVER_NEW`] of the same display name instead.
fn config(leaver_account: &str) -> String {
    let people = [
        ("Alex Morgan", "alex-1"),
        ("Alex Morgan", "alex-2"),
        ("Lea Ver", leaver_account),
        ("Jordan Lee", "jordan-1"),
        ("Sam Okafor", "sam-1"),
        ("Chen Wei", "chen-1"),
        ("Priya Natarajan", "priya-1"),
    ];
    let users: String = people
        .iter()
        .map(|(name, acc)| {
            format!(
                "[[sites.users]]\ndisplay_name = \"{name}\"\naccount_id = \"{acc}\"\n\
                 email = \"{acc}@s1.example\"\ngroups = [\"it-operations\", \"hr\", \"finance\"]\n"
            )
        })
        .collect();
    format!(
        r#"
admin_api = true
[rate_limits]
enabled = false
[[sites]]
name = "s1"
email = "admin@s1.example"
token = "tok-s1"
{users}
[sites.dataset]
kind = "cmdb"
objects = 300
seed = 7
"#
    )
}

/// (ORIGINAL_ID or id, attribute name) -> accountIds of the User values, read through the API.
fn user_values(snap: &Snapshot, restored: bool) -> BTreeMap<(String, String), Vec<String>> {
    let s = |v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    };
    let mut out = BTreeMap::new();
    for o in &snap.objects {
        let attrs = o["attributes"].as_array().cloned().unwrap_or_default();
        let name_of = |a: &Value| snap.attr_by_id.get(&s(&a["objectTypeAttributeId"]));
        let id = if restored {
            attrs
                .iter()
                .find(|a| name_of(a).is_some_and(|d| d["name"] == "ORIGINAL_ID"))
                .map(|a| s(&a["objectAttributeValues"][0]["value"]))
                .expect("ORIGINAL_ID")
        } else {
            s(&o["id"])
        };
        for a in &attrs {
            let Some(def) = name_of(a).filter(|d| d["type"] == 2) else {
                continue;
            };
            let mut accounts: Vec<String> = a["objectAttributeValues"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| s(&v["value"]))
                .collect();
            accounts.sort();
            out.insert((id.clone(), s(&def["name"])), accounts);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_site_keeps_every_account_and_only_a_gone_one_is_matched_by_name() {
    let sim = support::start(&config(LEAVER)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let raw = Raw::new(&sim, "s1");
    let b = backup(&s1, &store, "ITSM").await;
    let src = Snapshot::read(&raw, &support::schema_id(&raw, "ITSM").await).await;
    let src_users = user_values(&src, false);
    let held: BTreeSet<&str> = src_users.values().flatten().map(String::as_str).collect();
    assert!(
        held.contains("alex-1") && held.contains("alex-2") && held.contains(LEAVER),
        "the dataset holds both namesakes and the leaver: {held:?}"
    );

    // The backup's own site: every account kept, nothing matched by name.
    let jira = |c: &assetark::assets::AssetsClient| c.stats().sent["jira"];
    let before = jira(&s1);
    let (p, id) = plan(&store, &s1, b, "IT Assets Same", "ITSAME").await;
    let lookups = p.lookups.unwrap();
    let accounts = lookups.accounts.expect("the own site checks accounts");
    assert_eq!(accounts.requests, 1, "one read of the directory");
    assert_eq!(accounts.missing, 0);
    assert_eq!(accounts.accounts as usize, held.len());
    assert!(
        p.users.is_empty(),
        "no display-name matching: {:?}",
        p.users
    );
    assert_eq!(lookups.users.requests, 0);
    assert_eq!(
        jira(&s1) - before,
        accounts.requests + lookups.users.requests + lookups.groups.requests
    );
    let new = complete(&store, &s1, id, &p).await;
    let dst = Snapshot::read(&raw, &new).await;
    assert_eq!(user_values(&dst, true), src_users, "every user value kept");
    assert_restored(&src, &dst, &p, &rule(Default::default(), &[]));
    assert!(
        full_log(&store, id)
            .await
            .iter()
            .all(|e| !e.message.to_string().contains("User ")),
        "no user notes"
    );

    // The same site after the leaver's account is gone (a namesake account exists now).
    let later = support::start(&config(LEAVER_NEW)).await;
    let s1_later = client(&later, "s1");
    let raw_later = Raw::new(&later, "s1");
    let directory = raw_later
        .jira("/rest/api/3/users/search?maxResults=1000")
        .await;
    let present: BTreeSet<&str> = directory
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["accountId"].as_str())
        .collect();
    assert!(!present.contains(LEAVER) && present.contains(LEAVER_NEW));
    let (p2, id2) = plan(&store, &s1_later, b, "IT Assets Later", "ITLATER").await;
    for a in &p2.accounts {
        assert_eq!(a.exists, present.contains(a.account_id.as_str()), "{a:?}");
    }
    let users: Vec<(&str, Option<&str>)> = p2
        .users
        .iter()
        .map(|u| (u.display_name.as_str(), u.account_id.as_deref()))
        .collect();
    assert_eq!(users, [("Lea Ver", Some(LEAVER_NEW))]);
    assert_eq!(p2.lookups.unwrap().users.method, UserLookupMethod::Search);
    let new2 = complete(&store, &s1_later, id2, &p2).await;
    let dst2 = Snapshot::read(&raw_later, &new2).await;
    let expected: BTreeMap<_, _> = src_users
        .iter()
        .map(|(k, accs)| {
            let mut accs: Vec<String> = accs
                .iter()
                .map(|a| {
                    if a == LEAVER {
                        LEAVER_NEW.to_owned()
                    } else {
                        a.clone()
                    }
                })
                .collect();
            accs.sort();
            (k.clone(), accs)
        })
        .collect();
    assert_eq!(user_values(&dst2, true), expected);
    let gone_values = p2
        .accounts
        .iter()
        .find(|a| a.account_id == LEAVER)
        .unwrap()
        .values;
    let notes = full_log(&store, id2)
        .await
        .iter()
        .filter(|e| {
            let m = e.message.to_string();
            m.contains(LEAVER) && m.contains("no longer exists on this site")
        })
        .count();
    assert_eq!(
        notes as u64, gone_values,
        "one note per value of the gone account"
    );
    later.shutdown().await;
    sim.shutdown().await;
}
