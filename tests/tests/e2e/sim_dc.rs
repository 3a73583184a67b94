//! Data Center sites: the ready line, routes (current and legacy Assets paths, nothing of
//! Cloud's), auth both ways, integer ids and Data Center shapes, page/resultPerPage paging,
//! validation with Data Center's Text limit, rate limits off by default, barriers on dc paths.

use assetark_tests::kit::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn dc_ready_line_lists_both_flavors_in_order() {
    let sim = start_sim(&dc_config(0)).await;
    let line: Value = serde_json::to_value(&sim.ready).unwrap();
    let sites = line["sites"].as_array().unwrap();
    let d1 = sites[0].as_object().unwrap();
    let mut keys: Vec<&str> = d1.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["base_url", "email", "flavor", "name", "token"]);
    assert_eq!(sites[0]["flavor"], "dc");
    assert_eq!(sites[0]["base_url"], format!("{}/site/d1", sim.url()));
    assert_eq!(sites[0]["token"], "pat-d1");
    // The Cloud line keeps its exact fields.
    let mut cloud: Vec<&str> = sites[1]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    cloud.sort_unstable();
    assert_eq!(
        cloud,
        [
            "api_url",
            "cloud_id",
            "email",
            "name",
            "site_url",
            "token",
            "workspace_id"
        ]
    );
    assert_eq!(sim.ready.sites.len(), 1);
    assert_eq!(sim.dc_site("d1").unwrap().email, "admin@d1.example");
}

#[tokio::test]
async fn dc_routes_current_and_legacy_but_none_of_clouds() {
    let sim = start_sim(&dc_config(20)).await;
    let api = DcApi::for_site(&sim, "d1");
    let current = api.get("/objectschema/list").await.expect(200);
    let legacy = api
        .send(Method::GET, "/rest/insight/1.0/objectschema/list", None)
        .await
        .expect(200);
    assert_eq!(current, legacy);
    for (method, path) in [
        (Method::POST, "/rest/assets/1.0/object/aql"),
        (Method::POST, "/rest/assets/1.0/object/aql/totalcount"),
        (Method::GET, "/rest/assets/1.0/global/config"),
        (Method::GET, "/rest/assets/1.0/usage"),
        (Method::GET, "/rest/assets/1.0/objectschema/1/objecttypes"),
        (Method::GET, "/rest/api/3/myself"),
        (Method::GET, "/rest/servicedeskapi/assets/workspace"),
        (Method::GET, "/secure/Dashboard.jspa"),
    ] {
        let r = api
            .send(method.clone(), path, Some(&json!({"qlQuery": ""})))
            .await;
        // 405 where a route of the same shape exists (`POST /object/{id}`), as on a real server.
        assert!(
            matches!(r.status, 404 | 405),
            "{method} {path}: {}",
            r.status
        );
    }
    // A Cloud site has no Data Center paths, and Cloud paths do not reach a dc site.
    let cloud = Api::for_site(&sim, "c1");
    let r = cloud
        .send_url(
            Method::GET,
            &format!("{}/site/c1/rest/assets/1.0/objectschema/list", sim.url()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let r = api
        .send(Method::GET, "/rest/assets/1.0/comment/object/1", None)
        .await;
    assert_eq!(r.status, 200);
    let r = cloud.get("/comment/object/1").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn dc_auth_bearer_pat_and_basic() {
    let sim = start_sim(&dc_config(5)).await;
    let api = DcApi::for_site(&sim, "d1");
    let basic = |u: &str, p: &str| api.with_auth(DcAuth::Basic(u.into(), p.into()));
    for ok in [
        api.clone(),
        basic("admin@d1.example", "pat-d1"),
        basic("ADMIN@d1.example", "pw-d1"),
        basic("admin", "pw-d1"),
    ] {
        assert_eq!(
            ok.get("/objectschema/list").await.status,
            200,
            "{:?}",
            ok.auth
        );
    }
    for bad in [
        api.with_auth(DcAuth::Bearer("pw-d1".into())),
        api.with_auth(DcAuth::Bearer("nope".into())),
        basic("admin@d1.example", "nope"),
        basic("someone@else", "pat-d1"),
    ] {
        let r = bad.get("/objectschema/list").await;
        assert_eq!(r.status, 401, "{:?}", bad.auth);
        assert!(r.messages().contains("not authenticated"), "{}", r.body);
    }
    let r = api
        .send(Method::GET, "/rest/api/2/myself", None)
        .await
        .expect(200);
    assert_eq!(r["name"], "admin");
}

#[tokio::test]
async fn dc_entities_have_integer_ids_and_no_workspace() {
    let sim = start_sim(&dc_config(40)).await;
    let api = DcApi::for_site(&sim, "d1");
    let list = api.get("/objectschema/list").await.expect(200);
    let schemas = list["objectschemas"].as_array().unwrap();
    assert_eq!(schemas.len(), 2);
    for s in schemas {
        assert!(s["id"].is_u64() && s.get("workspaceId").is_none() && s.get("globalId").is_none());
        assert!(s["objectCount"].as_u64().unwrap() > 0);
    }
    let filtered = api.get("/objectschema/list?query=locat").await.expect(200);
    assert_eq!(filtered["objectschemas"].as_array().unwrap().len(), 1);
    let itsm = schemas
        .iter()
        .find(|s| s["objectSchemaKey"] == "ITSM")
        .unwrap();
    let types = api
        .get(&format!("/objectschema/{}/objecttypes/flat", itsm["id"]))
        .await
        .expect(200);
    let t = &types[0];
    assert!(t["id"].is_u64() && t["objectSchemaId"] == itsm["id"] && t["icon"]["id"].is_u64());
    let ids = dc_all_ids(&api, "objectType = Employee", 50).await;
    let o = api.get(&format!("/object/{}", ids[0])).await.expect(200);
    assert!(o["id"].is_u64() && o.get("workspaceId").is_none());
    assert_eq!(o["avatar"]["objectId"], o["id"]);
    for a in o["attributes"].as_array().unwrap() {
        assert!(
            a["id"].is_u64() && a["objectTypeAttributeId"].is_u64() && a["objectId"] == o["id"]
        );
        assert!(a["objectTypeAttribute"]["id"].is_u64());
    }
    // User values are Jira user keys, rendered with key and username.
    let users: Vec<&Value> = o["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["objectTypeAttribute"]["type"] == 2)
        .flat_map(|a| a["objectAttributeValues"].as_array().unwrap())
        .collect();
    assert!(!users.is_empty());
    for u in users {
        let key = u["value"].as_str().unwrap();
        assert!(key.starts_with("JIRAUSER"), "{key}");
        assert_eq!(u["user"]["key"], key);
        assert!(u["user"]["name"].as_str().unwrap().contains('.'));
    }
    let hist = api
        .get(&format!("/object/{}/history", ids[0]))
        .await
        .expect(200);
    assert!(hist[0]["id"].is_u64() && hist[0]["objectId"] == o["id"]);
    let statuses = api.get("/config/statustype").await.expect(200);
    assert!(statuses[0]["id"].is_u64());
    let refs = api.get("/config/referencetype").await.expect(200);
    assert!(refs[0]["id"].is_u64());
    let icons = api.get("/icon/global").await.expect(200);
    assert!(icons[0]["id"].is_u64());
    // Deleting an object answers the deleted object.
    let gone = api.delete(&format!("/object/{}", ids[1])).await.expect(200);
    assert_eq!(gone["id"].as_u64(), Some(ids[1]));
    assert_eq!(api.get(&format!("/object/{}", ids[1])).await.status, 404);
}

#[tokio::test]
async fn dc_paging_page_and_result_per_page() {
    let sim = start_sim(&dc_config(150)).await;
    let api = DcApi::for_site(&sim, "d1");
    let q = "objectType = Laptop";
    let first = api
        .get(&format!(
            "/aql/objects?qlQuery={}&resultPerPage=7",
            urlencode(q)
        ))
        .await
        .expect(200);
    let total = first["totalFilterCount"].as_u64().unwrap();
    assert!(total > 14);
    assert_eq!(first["pageNumber"], 1);
    assert_eq!(first["pageSize"].as_u64().unwrap(), total.div_ceil(7));
    assert_eq!(
        (first["startIndex"].as_u64(), first["toIndex"].as_u64()),
        (Some(0), Some(7))
    );
    assert!(
        first["objectTypeAttributes"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    let ids = dc_all_ids(&api, q, 7).await;
    assert_eq!(ids.len() as u64, total);
    let mut sorted = ids.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "no object twice");
    let past = api
        .get(&format!(
            "/aql/objects?qlQuery={}&page=99&resultPerPage=7",
            urlencode(q)
        ))
        .await
        .expect(200);
    assert_eq!(past["objectEntries"], json!([]));
    let r = api.get("/aql/objects?qlQuery=&page=0").await;
    assert_eq!(r.status, 400);
    let r = api.get("/aql/objects?qlQuery=objectType%20%3D").await;
    assert_eq!(r.status, 400);
    // Legacy IQL on the legacy path, and the navigation list.
    let legacy = api
        .send(
            Method::GET,
            &format!(
                "/rest/insight/1.0/iql/objects?iql={}&resultPerPage=500",
                urlencode(q)
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(legacy["totalFilterCount"].as_u64(), Some(total));
    let laptop = &first["objectEntries"][0]["objectType"];
    let nav = api
        .post(
            "/object/navlist/aql",
            json!({"objectTypeId": laptop["id"], "objectSchemaId": laptop["objectSchemaId"], "qlQuery": "", "resultsPerPage": 5, "page": 2}),
        )
        .await
        .expect(200);
    assert_eq!(nav["objectTypeId"], laptop["id"]);
    assert_eq!(nav["pageNumber"], 2);
    assert_eq!(nav["objectEntries"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn dc_validation_takes_text_up_to_450_characters() {
    let sim = start_sim(&dc_config(0)).await;
    let api = DcApi::for_site(&sim, "d1");
    let s = api
        .post(
            "/objectschema/create",
            json!({"name": "Migrated", "objectSchemaKey": "MIG"}),
        )
        .await
        .expect(201);
    let t = api
        .post(
            "/objecttype/create",
            json!({"name": "Box", "objectSchemaId": s["id"], "iconId": 1}),
        )
        .await
        .expect(201);
    let attrs = api
        .get(&format!("/objecttype/{}/attributes", t["id"]))
        .await
        .expect(200);
    let name = id_named(&attrs, "Name");
    let notes = api
        .post(
            &format!("/objecttypeattribute/{}", t["id"]),
            json!({"name": "Notes", "type": 0, "defaultTypeId": 0}),
        )
        .await
        .expect(201);
    let owner = api
        .post(
            &format!("/objecttypeattribute/{}", t["id"]),
            json!({"name": "Owner", "type": 2}),
        )
        .await
        .expect(201);
    let create = |text: String, user: &str| {
        json!({"objectTypeId": t["id"], "attributes": [
            {"objectTypeAttributeId": name, "objectAttributeValues": [{"value": "box"}]},
            {"objectTypeAttributeId": notes["id"], "objectAttributeValues": [{"value": text}]},
            {"objectTypeAttributeId": owner["id"], "objectAttributeValues": [{"value": user}]},
        ]})
    };
    let me = api
        .send(Method::GET, "/rest/api/2/myself", None)
        .await
        .expect(200);
    let key = me["key"].as_str().unwrap();
    let o = api
        .post("/object/create", create("x".repeat(450), key))
        .await
        .expect(201);
    assert!(o["id"].is_u64());
    let r = api
        .post("/object/create", create("x".repeat(451), key))
        .await;
    assert_eq!(r.status, 400);
    let field = format!("rlabs-insight-attribute-{}", notes["id"]);
    assert_eq!(r.errors()[&field], "Notes must be less than 450 characters");
    // Users are identified by key: a Cloud account id or a username is not a user here.
    for who in ["5b10a2844c20165700ede21g", "admin"] {
        let r = api.post("/object/create", create("ok".into(), who)).await;
        assert_eq!(r.status, 400, "{who}");
        assert!(r.messages().contains("not found in Jira"), "{}", r.body);
    }
}

#[tokio::test]
async fn dc_rate_limits_off_by_default_and_configurable() {
    let sim = start_sim(&dc_config(5).replace(
        "admin_api = true",
        "admin_api = true\n[rate_limits]\nscale = 0.01",
    ))
    .await;
    let api = DcApi::for_site(&sim, "d1");
    // scale 0.01 would allow 30 requests a minute with a 5-request burst.
    for _ in 0..20 {
        let r = api.get("/objectschema/list").await;
        assert_eq!(r.status, 200);
        assert!(r.header("x-ratelimit-limit").is_none());
    }
    let limited = dc_config(5)
        .replace(
            "admin_api = true",
            "admin_api = true\n[rate_limits]\nscale = 0.01",
        )
        .replace(
            "password = \"pw-d1\"",
            "password = \"pw-d1\"\nrate_limits = true",
        );
    let sim = start_sim(&limited).await;
    let api = DcApi::for_site(&sim, "d1");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(api.get("/objectschema/list").await.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
}

#[tokio::test]
async fn dc_barrier_matches_the_documented_path() {
    let sim = start_sim(&dc_config(5)).await;
    let api = DcApi::for_site(&sim, "d1");
    let barrier = sim
        .barrier(BarrierSpec::new("GET", "/objectschema/list").site("d1"))
        .unwrap();
    let task = {
        let api = api.clone();
        tokio::spawn(async move {
            api.send(Method::GET, "/rest/insight/1.0/objectschema/list", None)
                .await
                .status
        })
    };
    barrier.wait_held(1).await;
    assert!(barrier.release_one());
    assert_eq!(task.await.unwrap(), 200);
}
