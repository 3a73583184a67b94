//! User matching of a restore when the backup holds many distinct users: one read of the
//! target's users directory instead of a search per display name, the same matching rule
//! (exact display name; none, several or only inactive accounts leave the value empty), and
//! the requests it took shown in the plan.

use std::collections::HashMap;
use std::fmt::Write;

use assetark::restore::{DIRECTORY_MIN_NAMES, UserLookupMethod};
use serde_json::Value;

use super::support::{self, Raw, Snapshot, assert_restored, backup, client, plan};
use super::{complete, rule};

/// People on both sites; every one in `it-operations`, so restricted User attributes take
/// them all.
const PEOPLE: usize = 70;

fn person(i: usize) -> String {
    format!("Person {i:02}")
}

fn user(out: &mut String, name: &str, email: &str, active: bool) {
    let _ = write!(
        out,
        "[[sites.users]]\ndisplay_name = \"{name}\"\nemail = \"{email}\"\n\
         groups = [\"it-operations\"]\nactive = {active}\n"
    );
}

/// `s1`: the cmdb dataset over [`PEOPLE`] people. `s2`: the same names with other accounts,
/// except Person 02 twice, no Person 03, Person 04 inactive, Person 05 twice of whom one is
/// inactive.
fn config() -> String {
    let mut s1 = String::new();
    let mut s2 = String::new();
    for i in 1..=PEOPLE {
        let name = person(i);
        user(&mut s1, &name, &format!("p{i}@s1.example"), true);
        match i {
            2 => {
                user(&mut s2, &name, "p2a@s2.example", true);
                user(&mut s2, &name, "p2b@s2.example", true);
            }
            3 => {}
            4 => user(&mut s2, &name, "p4@s2.example", false),
            5 => {
                user(&mut s2, &name, "p5a@s2.example", false);
                user(&mut s2, &name, "p5b@s2.example", true);
            }
            _ => user(&mut s2, &name, &format!("p{i}@s2.example"), true),
        }
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
{s1}
[sites.dataset]
kind = "cmdb"
objects = 400
seed = 7
[[sites]]
name = "s2"
email = "admin@s2.example"
token = "tok-s2"
{s2}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_users_are_matched_through_one_read_of_the_directory() {
    let sim = support::start(&config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let b = backup(&s1, &store, "ITSM").await;
    let jira = |c: &assetark::assets::AssetsClient| c.stats().sent["jira"];
    let before = jira(&s2);
    let (p, id) = plan(&store, &s2, b, "IT Assets", "ITSM").await;
    let lookups = p.lookups.expect("a new plan records its lookups");
    let lookup = lookups.users;
    assert_eq!(lookup.method, UserLookupMethod::Directory, "{lookup:?}");
    assert_eq!(lookup.names, p.users.len() as u64);
    assert!(p.users.len() >= DIRECTORY_MIN_NAMES, "{}", p.users.len());
    // ~75 accounts: one short page, instead of one search per name.
    assert_eq!(lookup.requests, 1);
    assert_eq!(
        jira(&s2) - before,
        lookup.requests + lookups.groups.requests,
        "the plan shows every Jira request it made"
    );
    // The rule, checked against the target's directory read independently.
    let raw2 = Raw::new(&sim, "s2");
    let directory = raw2.jira("/rest/api/3/users/search?maxResults=1000").await;
    let active = |name: &str| -> Vec<String> {
        directory
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["displayName"] == name && u["active"] != Value::Bool(false))
            .map(|u| u["accountId"].as_str().unwrap().to_owned())
            .collect()
    };
    let expected: HashMap<String, Option<String>> = p
        .users
        .iter()
        .map(|u| {
            let found = active(&u.display_name);
            (
                u.display_name.clone(),
                (found.len() == 1).then(|| found[0].clone()),
            )
        })
        .collect();
    for u in &p.users {
        assert_eq!(u.account_id, expected[&u.display_name], "{u:?}");
    }
    let by_name = |i: usize| p.users.iter().find(|u| u.display_name == person(i));
    for i in [2, 3, 4] {
        if let Some(u) = by_name(i) {
            assert_eq!(u.account_id, None, "{u:?}");
        }
    }
    if let Some(u) = by_name(5) {
        assert!(u.account_id.is_some(), "the active namesake matches: {u:?}");
    }
    // And the restored values follow it.
    let new = complete(&store, &s2, id, &p).await;
    let raw1 = Raw::new(&sim, "s1");
    let src = Snapshot::read(&raw1, &support::schema_id(&raw1, "ITSM").await).await;
    assert_restored(
        &src,
        &Snapshot::read(&raw2, &new).await,
        &p,
        &rule(expected, &[]),
    );
    sim.shutdown().await;
}
