//! Simulator routing and auth: the path forms, workspace discovery, Basic and Bearer auth, the
//! client quirks (double slashes, Python booleans), and endpoints Cloud does not have.

use assetark_tests::kit::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn path_forms_and_auth() {
    let sim = start_sim(&cmdb_config(50, false)).await;
    let site = sim.site("s1").unwrap().clone();
    let api = Api::new(&site);
    assert_eq!(
        site.api_url,
        format!(
            "{}/jsm/assets/workspace/{}/v1",
            sim.url(),
            site.workspace_id
        )
    );
    assert_eq!(site.site_url, format!("{}/site/s1", sim.url()));
    let list = api.get("/objectschema/list").await.expect(200);
    assert!(list["total"].as_u64().unwrap() >= 2);
    // The OAuth gateway form and the legacy "insight" alias reach the same workspace.
    for url in [
        format!(
            "{}/ex/jira/{}/jsm/assets/workspace/{}/v1/objectschema/list",
            sim.url(),
            site.cloud_id,
            site.workspace_id
        ),
        format!(
            "{}/jsm/insight/workspace/{}/v1/objectschema/list",
            sim.url(),
            site.workspace_id
        ),
    ] {
        let r = api.send_url(Method::GET, &url, None).await.unwrap();
        assert_eq!(r.status, 200, "{url}");
        assert_eq!(r.body["total"], list["total"]);
    }
    // Jira through the gateway form.
    let me = api
        .send_url(
            Method::GET,
            &format!("{}/ex/jira/{}/rest/api/3/myself", sim.url(), site.cloud_id),
            None,
        )
        .await
        .unwrap();
    assert_eq!(me.status, 200);
    assert_eq!(me.body["emailAddress"], "admin@s1.example");
    // No credentials, a wrong token, a wrong email: 401 with the gateway's body.
    let http = reqwest::Client::new();
    for rb in [
        http.get(format!("{}/objectschema/list", site.api_url)),
        http.get(format!("{}/objectschema/list", site.api_url))
            .basic_auth("admin@s1.example", Some("wrong")),
        http.get(format!("{}/objectschema/list", site.api_url))
            .basic_auth("other@s1.example", Some("tok-s1")),
        http.get(format!("{}/objectschema/list", site.api_url))
            .bearer_auth("wrong"),
    ] {
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 401);
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(b, json!({"code": 401, "message": "Unauthorized"}));
    }
    // Bearer with the site token, and the pool's second token.
    for tok in ["tok-s1", "tok-s1-b"] {
        let r = http
            .get(format!("{}/objectschema/list", site.api_url))
            .bearer_auth(tok)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{tok}");
    }
    // Unknown workspace and unknown site are 404.
    let r = api
        .send_url(
            Method::GET,
            &format!(
                "{}/jsm/assets/workspace/nope/v1/objectschema/list",
                sim.url()
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let r = api
        .send_url(
            Method::GET,
            &format!("{}/site/nope/rest/api/3/myself", sim.url()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn workspace_discovery_uses_jsm_paging() {
    let sim = start_sim(&empty_config()).await;
    let api = Api::for_site(&sim, "s1");
    let r = api
        .jira(Method::GET, "/rest/servicedeskapi/assets/workspace", None)
        .await
        .expect(200);
    assert_eq!(r["values"][0]["workspaceId"], api.workspace_id.as_str());
    assert_eq!(
        (
            r["size"].as_u64(),
            r["start"].as_u64(),
            r["limit"].as_u64(),
            r["isLastPage"].as_bool()
        ),
        (Some(1), Some(0), Some(50), Some(true))
    );
    assert!(
        r["_links"]["base"]
            .as_str()
            .unwrap()
            .ends_with("/rest/servicedeskapi")
    );
    let r = api
        .jira(
            Method::GET,
            "/rest/servicedeskapi/assets/workspace?start=1&limit=1",
            None,
        )
        .await
        .expect(200);
    assert_eq!(r["size"], 0);
}

#[tokio::test]
async fn client_quirks_and_missing_cloud_endpoints() {
    let sim = start_sim(&cmdb_config(30, false)).await;
    let api = Api::for_site(&sim, "s1");
    let schemas = api
        .get("/objectschema/list?includeCounts=True")
        .await
        .expect(200);
    let sid = schemas["values"][0]["id"].as_str().unwrap().to_string();
    assert!(schemas["values"][0]["objectCount"].as_u64().unwrap() > 0);
    let zero = api.get("/objectschema/list").await.expect(200);
    assert_eq!(
        zero["values"][0]["objectCount"], 0,
        "includeCounts=false zeroes counts"
    );
    // A double slash, as atlassian-python-api sends for two paths.
    let flat = api
        .get(&format!("//objectschema/{sid}/objecttypes/flat"))
        .await
        .expect(200);
    assert!(!flat.as_array().unwrap().is_empty());
    // Comments and attachments do not exist on Cloud.
    for path in ["/comment/object/1", "/attachments/object/1"] {
        let r = api.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(r.body["errorMessages"].is_array());
    }
    let r = api
        .post("/comment/create", json!({"objectId": "1", "comment": "x"}))
        .await;
    assert_eq!(r.status, 404);
    // Icons: global list, one icon, and its PNG.
    let icons = api.get("/icon/global").await.expect(200);
    let first = icons[0]["id"].as_str().unwrap().to_string();
    let png = api.get(&format!("/icon/{first}/icon.png?size=48")).await;
    assert_eq!(png.status, 200);
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert_eq!(&png.raw[..4], b"\x89PNG");
}
