//! Data Center sites through the daemon and the CLI as real processes (issue 13): the
//! simulator in-process (real HTTP) with Data Center sites `d1` (CMDB with long Text values,
//! comments and attachments) and `d2` (empty), and a Cloud site `c1` (empty).
//!
//! Tests:
//! - `dc_sites_are_configured_added_tested_and_backed_up`: `d1` from the config (personal
//!   access token from a file, Bearer), `d2` added with `sites add --flavor dc` (Basic, email
//!   and password), both tested; `sites list` shows their flavor; a backup of `d1` holds every
//!   object the site's own API counts.

mod support;

use support::{Env, dc_schema};

/// Objects in `d1`'s CMDB (over all its schemas).
const OBJECTS: u32 = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_sites_are_configured_added_tested_and_backed_up() {
    let mut env = Env::new(OBJECTS, "").await;
    env.start().await;
    let tested = env.cli_json(&["sites", "test", "d1"]).await;
    assert_eq!(tested["ok"], true, "{tested}");
    env.add_d2().await;
    let tested = env.cli_json(&["sites", "test", "d2"]).await;
    assert_eq!(tested["ok"], true, "{tested}");
    // A wrong password saves nothing.
    let d2 = env.sim.dc_site("d2").expect("d2").clone();
    let bad = env
        .cli(&[
            "sites",
            "add",
            "d3",
            "--flavor",
            "dc",
            "--base-url",
            &d2.base_url,
            "--email",
            &d2.email,
            "--token",
            "wrong",
        ])
        .await;
    assert_ne!(bad.code, 0, "{bad:?}");
    let sites = env.cli_json(&["sites", "list"]).await;
    let flavors: Vec<(String, String)> = sites["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("").to_owned(),
                s["flavor"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        flavors,
        [("d1", "dc"), ("c1", "cloud"), ("d2", "dc")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let job = env.backup("d1", "ITSM").await;
    let backup = &job["result"]["backup"];
    let itsm = dc_schema(&env.dc("d1"), "ITSM").await;
    assert_eq!(backup["object_count"], itsm["objectCount"], "{job}");
    assert_eq!(backup["site"], "d1");
    env.stop().await;
}
