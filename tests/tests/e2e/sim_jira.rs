//! The simulated Jira side of a site: users (two share a display name), groups, the Assets
//! custom fields, JQL with aqlFunction, and reading and writing Assets values on issues.

use assetark_tests::kit::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn users_groups_and_fields() {
    let sim = start_sim(&cmdb_config(60, false)).await;
    let api = Api::for_site(&sim, "s1");
    let me = api
        .jira(Method::GET, "/rest/api/3/myself", None)
        .await
        .expect(200);
    assert_eq!(me["emailAddress"], "admin@s1.example");
    let alex = api
        .jira(
            Method::GET,
            "/rest/api/3/user/search?query=Alex%20Morgan",
            None,
        )
        .await
        .expect(200);
    let alex = alex.as_array().unwrap();
    assert_eq!(alex.len(), 2, "two users share the display name: {alex:?}");
    assert_ne!(alex[0]["accountId"], alex[1]["accountId"]);
    let one = api
        .jira(
            Method::GET,
            &format!(
                "/rest/api/3/user?accountId={}",
                alex[0]["accountId"].as_str().unwrap()
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(one["displayName"], "Alex Morgan");
    assert_eq!(
        api.jira(Method::GET, "/rest/api/3/user?accountId=nobody", None)
            .await
            .status,
        404
    );
    assert_eq!(
        api.jira(Method::GET, "/rest/api/3/user/search", None)
            .await
            .status,
        400
    );
    let groups = api
        .jira(Method::GET, "/rest/api/3/groups/picker?query=jira", None)
        .await
        .expect(200);
    assert!(groups["total"].as_u64().unwrap() >= 2);
    assert!(groups["groups"][0]["groupId"].is_string());
    let fields = api
        .jira(Method::GET, "/rest/api/3/field", None)
        .await
        .expect(200);
    let cmdb: Vec<&Value> = fields
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["schema"]["custom"] == "com.atlassian.jira.plugins.cmdb:cmdb-object-cftype")
        .collect();
    assert_eq!(cmdb.len(), 2);
    assert!(
        cmdb.iter()
            .any(|f| f["name"] == "Affected assets" && f["id"] == "customfield_10191")
    );
}

#[tokio::test]
async fn jql_with_aql_function_and_issue_fields() {
    let sim = start_sim(&cmdb_config(80, false)).await;
    let api = Api::for_site(&sim, "s1");
    let all = api.jira(Method::POST, "/rest/api/3/search/jql", Some(&json!({"jql": "project = ITSM", "fields": ["summary", "customfield_10191"], "maxResults": 2}))).await.expect(200);
    assert_eq!(all["issues"].as_array().unwrap().len(), 2);
    assert_eq!(all["isLast"], false);
    // Page through with nextPageToken.
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body =
            json!({"jql": "project = ITSM", "fields": ["customfield_10191"], "maxResults": 3});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let p = api
            .jira(Method::POST, "/rest/api/3/search/jql", Some(&body))
            .await
            .expect(200);
        keys.extend(
            p["issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["key"].as_str().unwrap().to_string()),
        );
        match p["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert!(keys.len() >= 5);
    // An issue's Assets field points at an object; aqlFunction finds it by that object's key.
    let issue = api
        .jira(
            Method::GET,
            &format!("/rest/api/3/issue/{}?fields=customfield_10191", keys[0]),
            None,
        )
        .await
        .expect(200);
    let refs = issue["fields"]["customfield_10191"]
        .as_array()
        .expect("the dataset links objects")
        .clone();
    let oid = refs[0]["objectId"].as_str().unwrap().to_string();
    assert_eq!(refs[0]["id"], format!("{}:{oid}", api.workspace_id));
    let obj = api.get(&format!("/object/{oid}")).await.expect(200);
    let jql = format!(
        r#""Affected assets" IN aqlFunction("Key = \"{}\"")"#,
        obj["objectKey"].as_str().unwrap()
    );
    let hits = api
        .jira(
            Method::POST,
            "/rest/api/3/search/jql",
            Some(&json!({"jql": jql, "maxResults": 100})),
        )
        .await
        .expect(200);
    assert!(
        hits["issues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["key"] == keys[0].as_str())
    );
    // The object side: connected tickets.
    let t = api
        .get(&format!("/objectconnectedtickets/{oid}/tickets"))
        .await
        .expect(200);
    assert!(
        t["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["key"] == keys[0].as_str())
    );
    // Writing: set the field to another object (update form), then with the fields form.
    let other = api
        .post(
            "/object/aql?maxResults=1",
            json!({"qlQuery": format!("objectId != {oid}")}),
        )
        .await
        .expect(200)["values"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let set = json!({"update": {"customfield_10191": [{"set": [{"workspaceId": api.workspace_id, "id": format!("{}:{other}", api.workspace_id), "objectId": other}]}]}});
    assert_eq!(
        api.jira(
            Method::PUT,
            &format!("/rest/api/3/issue/{}", keys[0]),
            Some(&set)
        )
        .await
        .status,
        204
    );
    let issue = api
        .jira(Method::GET, &format!("/rest/api/3/issue/{}", keys[0]), None)
        .await
        .expect(200);
    assert_eq!(
        issue["fields"]["customfield_10191"][0]["objectId"],
        other.as_str()
    );
    let fields = json!({"fields": {"customfield_10192": [{"workspaceId": api.workspace_id, "objectId": oid}]}});
    assert_eq!(
        api.jira(
            Method::PUT,
            &format!("/rest/api/3/issue/{}", keys[0]),
            Some(&fields)
        )
        .await
        .status,
        204
    );
    // Invalid: an object that does not exist, a foreign workspace, an unknown field, bad JQL.
    for body in [
        json!({"fields": {"customfield_10191": [{"objectId": "99999999"}]}}),
        json!({"fields": {"customfield_10191": [{"workspaceId": "other", "objectId": oid}]}}),
        json!({"fields": {"customfield_99999": []}}),
    ] {
        let r = api
            .jira(
                Method::PUT,
                &format!("/rest/api/3/issue/{}", keys[0]),
                Some(&body),
            )
            .await;
        assert_eq!(r.status, 400, "{body}");
        assert!(
            r.body["errors"].as_object().is_some_and(|e| !e.is_empty()),
            "{}",
            r.body
        );
    }
    let issue = api
        .jira(Method::GET, &format!("/rest/api/3/issue/{}", keys[0]), None)
        .await
        .expect(200);
    assert_eq!(
        issue["fields"]["customfield_10191"][0]["objectId"],
        other.as_str(),
        "failed edits change nothing"
    );
    assert_eq!(
        api.jira(
            Method::POST,
            "/rest/api/3/search/jql",
            Some(&json!({"jql": "project ~ X"}))
        )
        .await
        .status,
        400
    );
    assert_eq!(
        api.jira(Method::GET, "/rest/api/3/issue/NOPE-1", None)
            .await
            .status,
        404
    );
}

/// `GET /rest/api/3/users/search`: the whole directory (inactive accounts too), a bare array
/// paged by `startAt`/`maxResults` (capped at 1000), short last page; bad paging is a 400.
#[tokio::test]
async fn the_users_directory_pages_through_every_account() {
    let sim = start_sim(&cmdb_config(20, false)).await;
    let api = Api::for_site(&sim, "s1");
    let everyone = api
        .jira(
            Method::GET,
            "/rest/api/3/users/search?maxResults=1000",
            None,
        )
        .await
        .expect(200);
    let everyone = everyone.as_array().unwrap().clone();
    // The standard directory (16 people, one inactive) plus the site's own account.
    assert_eq!(everyone.len(), 17, "{everyone:?}");
    assert!(everyone.iter().any(|u| u["active"] == false));
    assert!(everyone.iter().all(|u| u["accountId"].is_string()
        && u["displayName"].is_string()
        && u["accountType"] == "atlassian"));
    // Page by 5: the same accounts in the same order, the last page short.
    let mut paged = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let page = api
            .jira(
                Method::GET,
                &format!(
                    "/rest/api/3/users/search?startAt={}&maxResults=5",
                    paged.len()
                ),
                None,
            )
            .await
            .expect(200);
        let page = page.as_array().unwrap().clone();
        sizes.push(page.len());
        let n = page.len();
        paged.extend(page);
        if n < 5 {
            break;
        }
    }
    assert_eq!(sizes, [5, 5, 5, 2]);
    assert_eq!(paged, everyone);
    // The default page is 50; past the end is an empty page.
    let default = api
        .jira(Method::GET, "/rest/api/3/users/search", None)
        .await
        .expect(200);
    assert_eq!(default.as_array().unwrap().len(), 17);
    let past = api
        .jira(Method::GET, "/rest/api/3/users/search?startAt=500", None)
        .await
        .expect(200);
    assert_eq!(past, json!([]));
    for bad in ["startAt=-1", "maxResults=x", "maxResults=0", "startAt=1.5"] {
        let r = api
            .jira(
                Method::GET,
                &format!("/rest/api/3/users/search?{bad}"),
                None,
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(!r.messages().is_empty(), "{bad}");
    }
}

/// `GET /rest/api/3/group/bulk`: a PageBean of `{name, groupId}`, filtered by any number of
/// exact `groupName` / `groupId` parameters (unknown ones left out), `isLast` and `nextPage`.
#[tokio::test]
async fn groups_come_in_bulk_by_name_or_id() {
    let sim = start_sim(&cmdb_config(20, false)).await;
    let api = Api::for_site(&sim, "s1");
    let all = api
        .jira(Method::GET, "/rest/api/3/group/bulk", None)
        .await
        .expect(200);
    assert_eq!(
        (
            &all["startAt"],
            &all["maxResults"],
            &all["total"],
            &all["isLast"]
        ),
        (&json!(0), &json!(50), &json!(5), &json!(true))
    );
    let groups = all["values"].as_array().unwrap().clone();
    assert!(
        groups
            .iter()
            .all(|g| g["name"].is_string() && g["groupId"].is_string())
    );
    assert!(all.get("nextPage").is_none());
    // Two pages of 3 and 2.
    let first = api
        .jira(Method::GET, "/rest/api/3/group/bulk?maxResults=3", None)
        .await
        .expect(200);
    assert_eq!(
        (first["isLast"].clone(), first["total"].clone()),
        (json!(false), json!(5))
    );
    assert!(first["nextPage"].as_str().unwrap().contains("startAt=3"));
    let second = api
        .jira(
            Method::GET,
            "/rest/api/3/group/bulk?startAt=3&maxResults=3",
            None,
        )
        .await
        .expect(200);
    assert_eq!(second["isLast"], true);
    let both: Vec<Value> = first["values"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["values"].as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(both, groups);
    // Exact names (case and all), ids, unknown ones left out.
    let hr_id = groups.iter().find(|g| g["name"] == "hr").unwrap()["groupId"].clone();
    let picked = api
        .jira(
            Method::GET,
            &format!(
                "/rest/api/3/group/bulk?groupName=finance&groupName=IT-OPERATIONS&groupName=nope&groupId={}",
                hr_id.as_str().unwrap()
            ),
            None,
        )
        .await
        .expect(200);
    let mut names: Vec<&str> = picked["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["finance", "hr"]);
    assert_eq!(picked["total"], 2);
    let none = api
        .jira(Method::GET, "/rest/api/3/group/bulk?groupName=nope", None)
        .await
        .expect(200);
    assert_eq!(
        (none["total"].clone(), none["values"].clone()),
        (json!(0), json!([]))
    );
    for bad in ["startAt=-3", "maxResults=0", "maxResults=many"] {
        let r = api
            .jira(Method::GET, &format!("/rest/api/3/group/bulk?{bad}"), None)
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
}
