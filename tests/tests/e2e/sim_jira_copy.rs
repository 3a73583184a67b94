//! `[sites.dataset] jira_issues_from`: a site whose Jira holds a copy of another site's issues
//! (same keys, same Assets field values), as after a Jira migration; a site reset copies again.

use assetark_tests::kit::*;
use reqwest::Method;
use serde_json::{Value, json};

const TWO_SITES: &str = r#"
admin_api = true
[rate_limits]
enabled = false
[[sites]]
name = "old"
email = "admin@old.example"
token = "tok-old"
[sites.dataset]
kind = "cmdb"
objects = 120
seed = 5
[[sites]]
name = "new"
email = "admin@new.example"
token = "tok-new"
[sites.dataset]
kind = "empty"
jira_issues_from = "old"
"#;

/// Every issue of a site: key -> Assets field values (field id -> object ids).
async fn issues(api: &Api) -> Vec<(String, Value)> {
    let body = json!({"jql": "project = ITSM", "fields": ["customfield_10191", "customfield_10192"], "maxResults": 100});
    let page = api
        .jira(Method::POST, "/rest/api/3/search/jql", Some(&body))
        .await
        .expect(200);
    let list = page["issues"].as_array().expect("issues");
    assert!(page["nextPageToken"].is_null(), "one page holds them");
    list.iter()
        .map(|i| {
            let ids = |f: &str| -> Vec<Value> {
                i["fields"][f]
                    .as_array()
                    .map(|a| a.iter().map(|v| v["objectId"].clone()).collect())
                    .unwrap_or_default()
            };
            let fields =
                json!({"affected": ids("customfield_10191"), "owner": ids("customfield_10192")});
            (i["key"].as_str().expect("key").to_owned(), fields)
        })
        .collect()
}

#[tokio::test]
async fn a_site_can_hold_a_copy_of_another_sites_issues() {
    let sim = start_sim(TWO_SITES).await;
    let old = Api::for_site(&sim, "old");
    let new = Api::for_site(&sim, "new");
    let from_old = issues(&old).await;
    assert!(from_old.len() >= 5, "{from_old:?}");
    assert!(
        from_old
            .iter()
            .all(|(_, f)| !f["affected"].as_array().unwrap().is_empty()),
        "every issue points at objects: {from_old:?}"
    );
    assert_eq!(issues(&new).await, from_old);

    // Changing an issue on the copy leaves the original alone, and a reset copies again.
    let key = &from_old[0].0;
    let edit = json!({"fields": {"customfield_10191": []}});
    let path = format!("/rest/api/3/issue/{key}");
    let r = new.jira(Method::PUT, &path, Some(&edit)).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(issues(&old).await, from_old);
    assert_ne!(issues(&new).await, from_old);
    admin(&sim, Method::POST, "sites/new/reset", None).await;
    assert_eq!(issues(&new).await, from_old);
}

#[test]
fn the_copy_must_name_another_site_of_the_same_flavor() {
    let cfg = |from: &str| {
        TWO_SITES.replace(
            "jira_issues_from = \"old\"",
            &format!("jira_issues_from = \"{from}\""),
        )
    };
    for (from, fragment) in [("nope", "names no site"), ("new", "names the site itself")] {
        let err = assets_sim::config::SimConfig::from_toml(&cfg(from))
            .unwrap_err()
            .to_string();
        assert!(err.contains(fragment), "{from}: {err}");
    }
}
