//! Data Center sites beyond Cloud's surface: the dc dataset's comments, attachments and long
//! Text; comments and attachments round trips (bytes included) and their checks; the Jira side
//! (users by key and username, group members, JQL paging, Assets field values as object keys).

use std::collections::HashSet;

use assetark_tests::kit::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn dc_dataset_holds_comments_attachments_and_long_text() {
    let sim = start_sim(&dc_config(120)).await;
    let api = DcApi::for_site(&sim, "d1");
    let ids = dc_all_ids(&api, "objectId > 0", 200).await;
    assert_eq!(ids.len(), 120);
    let (mut commented, mut attached, mut files) = (0, 0, Vec::new());
    for id in &ids {
        let c = api.get(&format!("/comment/object/{id}")).await.expect(200);
        let a = api
            .get(&format!("/attachments/object/{id}"))
            .await
            .expect(200);
        let c = c.as_array().unwrap();
        let a = a.as_array().unwrap();
        commented += usize::from(!c.is_empty());
        attached += usize::from(!a.is_empty());
        for x in c {
            assert!(x["actor"]["key"].as_str().unwrap().starts_with("JIRAUSER"));
            assert!(!x["comment"].as_str().unwrap().is_empty());
        }
        files.extend(a.iter().cloned());
        let o = api.get(&format!("/object/{id}")).await.expect(200);
        assert_eq!(o["extendedInfo"]["attachmentsExists"], !a.is_empty());
    }
    assert!(
        (30..=50).contains(&commented),
        "{commented} of 120 commented"
    );
    assert!(
        (14..=34).contains(&attached),
        "{attached} of 120 with attachments"
    );
    let mut distinct = HashSet::new();
    for f in &files {
        let got = api.get_url(f["url"].as_str().unwrap()).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.header("content-type"), f["mimeType"].as_str());
        assert!(!got.raw.is_empty());
        distinct.insert(got.raw);
    }
    assert!(
        distinct.len() < files.len(),
        "some files are shared between objects"
    );
    let long = api
        .get(&format!(
            "/aql/objects?qlQuery={}&resultPerPage=500",
            urlencode("objectId > 0")
        ))
        .await
        .expect(200);
    let longest = attribute_values(&long["objectEntries"])
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap();
    assert!((256..=450).contains(&longest), "{longest}");
}

/// `GET {base_url}{path}`.
async fn jira(api: &DcApi, path: &str) -> Resp {
    api.send(Method::GET, path, None).await
}

async fn some_object(api: &DcApi) -> u64 {
    dc_all_ids(api, "objectType = Laptop", 5).await[0]
}

#[tokio::test]
async fn dc_comments_round_trip_and_checks() {
    let sim = start_sim(&dc_config(30)).await;
    let api = DcApi::for_site(&sim, "d1");
    let id = some_object(&api).await;
    let before = api.get(&format!("/comment/object/{id}")).await.expect(200);
    let n = before.as_array().unwrap().len();
    for text in ["First <b>note</b> & more", "Second note"] {
        let c = api
            .post(
                "/comment/create",
                json!({"objectId": id, "comment": text, "role": 0}),
            )
            .await
            .expect(201);
        assert!(c["id"].is_u64());
        assert_eq!(c["objectId"].as_u64(), Some(id));
        assert_eq!(c["comment"], text);
    }
    let asc = api.get(&format!("/comment/object/{id}")).await.expect(200);
    let asc = asc.as_array().unwrap();
    assert_eq!(asc.len(), n + 2);
    assert_eq!(
        asc[n]["commentOutput"],
        "First &lt;b&gt;note&lt;/b&gt; &amp; more"
    );
    assert_eq!(asc[n]["actor"]["name"], "admin");
    let desc = api
        .get(&format!("/comment/object/{id}?asc=false"))
        .await
        .expect(200);
    assert_eq!(desc[0]["comment"], "Second note");
    for (body, status) in [
        (json!({"objectId": id, "comment": "   "}), 400),
        (json!({"objectId": id, "comment": "x", "role": 7}), 400),
        (json!({"comment": "x"}), 400),
        (json!({"objectId": 999999, "comment": "x"}), 404),
    ] {
        let r = api.post("/comment/create", body.clone()).await;
        assert_eq!(r.status, status, "{body}");
        assert!(r.body["errorMessages"].is_array());
    }
    assert_eq!(api.get("/comment/object/999999").await.status, 404);
    // Comments go with their object.
    api.delete(&format!("/object/{id}")).await.expect(200);
    assert_eq!(api.get(&format!("/comment/object/{id}")).await.status, 404);
}

#[tokio::test]
async fn dc_attachments_bytes_round_trip() {
    let sim = start_sim(&dc_config(30)).await;
    let api = DcApi::for_site(&sim, "d1");
    let id = some_object(&api).await;
    let n = api
        .get(&format!("/attachments/object/{id}"))
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .len();
    let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let files: [(&str, &str, &[u8]); 2] = [
        ("wiring.bin", "application/octet-stream", &binary),
        ("readme.txt", "text/plain", b"plug it in\n"),
    ];
    let r = api
        .upload(id, &files, Some("from the audit"), true)
        .await
        .expect(200);
    let up = r.as_array().unwrap();
    assert_eq!(up.len(), 2);
    assert!(
        up[0]["created"]["seconds"].is_u64(),
        "upload's created is {{seconds, nanos}}"
    );
    assert_eq!(up[0]["comment"], "from the audit");
    let list = api
        .get(&format!("/attachments/object/{id}"))
        .await
        .expect(200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), n + 2);
    let wiring = list.iter().find(|a| a["filename"] == "wiring.bin").unwrap();
    assert_eq!(wiring["filesize"], "4.9 kB");
    assert_eq!(
        wiring["author"],
        api.send(Method::GET, "/rest/api/2/myself", None).await.body["key"]
    );
    assert!(wiring["created"].is_string());
    let got = api.get_url(wiring["url"].as_str().unwrap()).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.raw, binary);
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"wiring.bin\"")
    );
    let legacy = api
        .send(
            Method::GET,
            &format!("/rest/insight/1.0/attachments/{}", wiring["id"]),
            None,
        )
        .await;
    assert_eq!(legacy.raw, binary);
    let o = api.get(&format!("/object/{id}")).await.expect(200);
    assert_eq!(o["extendedInfo"]["attachmentsExists"], true);
    // The XSRF header is required; the body must be multipart with a file.
    let r = api.upload(id, &files, None, false).await;
    assert_eq!(r.status, 403);
    let r = api.upload(id, &[], Some("no file"), true).await;
    assert_eq!(r.status, 400);
    let nameless: [(&str, &str, &[u8]); 2] =
        [("ok.txt", "text/plain", b"ok"), ("", "text/plain", b"x")];
    let r = api.upload(id, &nameless, None, true).await;
    assert_eq!(r.status, 400, "a file without a name");
    let r = api
        .send(
            Method::POST,
            &format!("/rest/assets/1.0/attachments/object/{id}"),
            Some(&json!({})),
        )
        .await;
    assert!(r.status == 400 || r.status == 403, "{}", r.status);
    assert_eq!(api.upload(999999, &files, None, true).await.status, 404);
    // Delete answers the attachment; it is gone afterwards.
    let d = api
        .delete(&format!("/attachments/{}", wiring["id"]))
        .await
        .expect(200);
    assert_eq!(d["filename"], "wiring.bin");
    assert_eq!(
        api.get_url(wiring["url"].as_str().unwrap()).await.status,
        404
    );
    assert_eq!(
        api.delete(&format!("/attachments/{}", wiring["id"]))
            .await
            .status,
        404
    );
    let after = api
        .get(&format!("/attachments/object/{id}"))
        .await
        .expect(200);
    assert_eq!(after.as_array().unwrap().len(), n + 1);
}

#[tokio::test]
async fn dc_jira_users_groups_issues() {
    let sim = start_sim(&dc_config(100)).await;
    let api = DcApi::for_site(&sim, "d1");
    let me = jira(&api, "/rest/api/2/myself").await.expect(200);
    assert_eq!(
        (me["name"].as_str(), me["emailAddress"].as_str()),
        (Some("admin"), Some("admin@d1.example"))
    );
    let latest = jira(&api, "/rest/api/latest/myself").await.expect(200);
    assert_eq!(latest, me);
    let info = jira(&api, "/rest/api/2/serverInfo").await.expect(200);
    assert_eq!(info["deploymentType"], "Server");
    let by_key = jira(
        &api,
        &format!("/rest/api/2/user?key={}", me["key"].as_str().unwrap()),
    )
    .await
    .expect(200);
    assert_eq!(by_key["name"], "admin");
    let alex = jira(&api, "/rest/api/2/user/search?username=alex")
        .await
        .expect(200);
    let alex = alex.as_array().unwrap();
    assert_eq!(alex.len(), 2, "two people called Alex Morgan");
    assert_ne!(alex[0]["key"], alex[1]["key"]);
    let by_name = jira(
        &api,
        &format!(
            "/rest/api/2/user?username={}",
            alex[1]["name"].as_str().unwrap()
        ),
    )
    .await
    .expect(200);
    assert_eq!(by_name["key"], alex[1]["key"]);
    assert_eq!(
        jira(&api, "/rest/api/2/user?username=nobody").await.status,
        404
    );
    assert_eq!(jira(&api, "/rest/api/2/user").await.status, 400);
    let all = jira(
        &api,
        "/rest/api/2/user/search?username=.&includeInactive=true&maxResults=1000",
    )
    .await
    .expect(200);
    let active = jira(&api, "/rest/api/2/user/search?username=.&maxResults=1000")
        .await
        .expect(200);
    assert_eq!(
        all.as_array().unwrap().len(),
        active.as_array().unwrap().len() + 1
    );
    let p1 = jira(
        &api,
        "/rest/api/2/group/member?groupname=it-operations&maxResults=3",
    )
    .await
    .expect(200);
    assert_eq!(
        (p1["startAt"].as_u64(), p1["isLast"].as_bool()),
        (Some(0), Some(false))
    );
    let total = p1["total"].as_u64().unwrap();
    let rest = jira(
        &api,
        &format!("/rest/api/2/group/member?groupname=it-operations&startAt=3&maxResults={total}"),
    )
    .await
    .expect(200);
    assert_eq!(rest["values"].as_array().unwrap().len() as u64, total - 3);
    assert_eq!(
        jira(&api, "/rest/api/2/group/member?groupname=nope")
            .await
            .status,
        404
    );
    let fields = jira(&api, "/rest/api/2/field").await.expect(200);
    let assets: Vec<&Value> = fields
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["custom"] == true)
        .collect();
    assert!(assets.iter().all(|f| f["schema"]["custom"]
        == "com.riadalabs.jira.plugins.insight:rlabs-customfield-default-object"));

    // JQL with startAt/maxResults/total; Assets values are object keys.
    let page = api
        .send(Method::POST, "/rest/api/2/search", Some(&json!({"jql": "project = ITSM", "startAt": 2, "maxResults": 2, "fields": ["customfield_10191"]})))
        .await
        .expect(200);
    assert_eq!(
        (page["startAt"].as_u64(), page["maxResults"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(page["total"].as_u64(), Some(5));
    let issue = &page["issues"][0];
    let key = issue["key"].as_str().unwrap();
    let values = issue["fields"]["customfield_10191"].as_array().unwrap();
    assert!(
        values
            .iter()
            .all(|v| v["key"].as_str().unwrap().starts_with("ITSM-"))
    );
    let laptop = dc_all_ids(&api, "objectType = Laptop", 5).await[0];
    let laptop = api.get(&format!("/object/{laptop}")).await.expect(200)["objectKey"].clone();
    let r = api
        .send(
            Method::PUT,
            &format!("/rest/api/2/issue/{key}"),
            Some(&json!({"update": {"customfield_10191": [{"add": {"key": laptop}}]}})),
        )
        .await;
    assert_eq!(r.status, 204);
    let got = jira(
        &api,
        &format!("/rest/api/2/issue/{key}?fields=customfield_10191"),
    )
    .await
    .expect(200);
    let after = got["fields"]["customfield_10191"].as_array().unwrap();
    assert_eq!(after.len(), values.len() + 1);
    assert_eq!(after.last().unwrap()["key"], laptop);
    let r = api
        .send(
            Method::PUT,
            &format!("/rest/api/2/issue/{key}"),
            Some(&json!({"fields": {"customfield_10191": [{"key": "ITSM-999999"}]}})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .send(
            Method::GET,
            &format!(
                "/rest/api/2/search?jql={}&fields=summary",
                urlencode("project = ITSM AND issuekey = ITSM-1")
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(r["total"], 1);
}

#[tokio::test]
async fn dc_attachment_over_the_body_limit_is_refused_whole() {
    let sim = start_sim(&dc_config(10).replace(
        "admin_api = true",
        "admin_api = true\nmax_body_bytes = 4096",
    ))
    .await;
    let api = DcApi::for_site(&sim, "d1");
    let id = some_object(&api).await;
    let before = api
        .get(&format!("/attachments/object/{id}"))
        .await
        .expect(200);
    let big = vec![7u8; 10_000];
    let r = api
        .upload(
            id,
            &[("big.bin", "application/octet-stream", &big)],
            None,
            true,
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body["errorMessages"].is_array());
    let after = api
        .get(&format!("/attachments/object/{id}"))
        .await
        .expect(200);
    assert_eq!(before, after, "nothing was attached");
}
