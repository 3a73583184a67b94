//! Simulator paging in all three styles: startAt/maxResults/isLast (schemas, AQL), the
//! deprecated page/resultPerPage (aql/objects, navlist), and JSM start/limit (discovery).

use std::collections::HashSet;

use assetark_tests::kit::*;
use serde_json::json;

#[tokio::test]
async fn aql_pages_cover_every_object_once() {
    let sim = start_sim(&cmdb_config(230, false)).await;
    let api = Api::for_site(&sim, "s1");
    let schemas = api
        .get("/objectschema/list?includeCounts=true")
        .await
        .expect(200);
    let itsm = schemas["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["objectSchemaKey"] == "ITSM")
        .unwrap()
        .clone();
    let q = json!({"qlQuery": format!("objectSchemaId = {}", itsm["id"].as_str().unwrap())});
    let total = api
        .post("/object/aql/totalcount", q.clone())
        .await
        .expect(200)["totalCount"]
        .as_u64()
        .unwrap();
    assert_eq!(total, itsm["objectCount"].as_u64().unwrap());
    let mut seen = HashSet::new();
    let mut start = 0;
    let mut pages = 0;
    loop {
        let p = api
            .post(
                &format!("/object/aql?startAt={start}&maxResults=50"),
                q.clone(),
            )
            .await
            .expect(200);
        pages += 1;
        let vals = p["values"].as_array().unwrap();
        assert!(vals.len() <= 50);
        assert_eq!(p["startAt"], start);
        assert_eq!(p["isLast"], p["last"]);
        for v in vals {
            assert!(
                seen.insert(v["id"].as_str().unwrap().to_string()),
                "duplicate {}",
                v["id"]
            );
            assert!(v["attributes"].is_array());
            assert!(
                v["attributes"][0].get("objectTypeAttribute").is_none(),
                "AQL attributes carry no definitions"
            );
        }
        assert!(!p["objectTypeAttributes"].as_array().unwrap().is_empty());
        if p["isLast"] == true {
            break;
        }
        start += vals.len();
    }
    assert_eq!(seen.len() as u64, total);
    assert_eq!(pages, total.div_ceil(50));
    // Past the end: empty and last.
    let p = api
        .post(
            &format!("/object/aql?startAt={}&maxResults=50", total + 10),
            q.clone(),
        )
        .await
        .expect(200);
    assert_eq!(p["values"].as_array().unwrap().len(), 0);
    assert_eq!(p["isLast"], true);
    // includeAttributes=false leaves attributes out.
    let p = api
        .post("/object/aql?maxResults=3&includeAttributes=false", q)
        .await
        .expect(200);
    assert!(p["values"][0].get("attributes").is_none());
}

#[tokio::test]
async fn schema_list_pages() {
    let sim = start_sim(&empty_config()).await;
    let api = Api::for_site(&sim, "s1");
    for i in 0..23 {
        schema(&api, &format!("Schema {i}"), &format!("SC{i}")).await;
    }
    let mut keys = Vec::new();
    let mut start = 0;
    loop {
        let p = api
            .get(&format!("/objectschema/list?startAt={start}&maxResults=10"))
            .await
            .expect(200);
        assert_eq!(p["total"], 23);
        let vals = p["values"].as_array().unwrap();
        keys.extend(
            vals.iter()
                .map(|v| v["objectSchemaKey"].as_str().unwrap().to_string()),
        );
        if p["isLast"] == true {
            break;
        }
        start += vals.len();
    }
    assert_eq!(keys.len(), 23);
    let default = api.get("/objectschema/list").await.expect(200);
    assert_eq!(default["maxResults"], 25);
    assert_eq!(default["values"].as_array().unwrap().len(), 23);
}

#[tokio::test]
async fn deprecated_page_styles() {
    let sim = start_sim(&cmdb_config(120, false)).await;
    let api = Api::for_site(&sim, "s1");
    let schemas = api.get("/objectschema/list").await.expect(200);
    let sid = schemas["values"][0]["id"].as_str().unwrap().to_string();
    let q = format!("objectSchemaId = {sid}");
    let total = api
        .post("/object/aql/totalcount", json!({"qlQuery": q}))
        .await
        .expect(200)["totalCount"]
        .as_u64()
        .unwrap() as usize;
    let mut seen = HashSet::new();
    for page in 1.. {
        let p = api
            .get(&format!(
                "/aql/objects?qlQuery={}&page={page}&resultPerPage=25",
                urlencode(&q)
            ))
            .await
            .expect(200);
        let entries = p["objectEntries"].as_array().unwrap();
        assert_eq!(p["pageNumber"], page);
        assert_eq!(p["startIndex"].as_u64().unwrap() as usize, (page - 1) * 25);
        assert_eq!(
            p["pageObjectSize"].as_u64().unwrap() as usize,
            entries.len()
        );
        if entries.is_empty() {
            break;
        }
        seen.extend(
            entries
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen.len(), total);
    // navlist: the object type is ANDed to the query.
    let types = api
        .get(&format!(
            "/objectschema/{sid}/objecttypes/flat?includeObjectCounts=true"
        ))
        .await
        .expect(200);
    let t = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["objectCount"].as_u64().unwrap_or(0) > 0)
        .unwrap();
    let body = json!({"qlQuery": q, "objectTypeId": t["id"], "resultsPerPage": 5, "objectSchemaId": sid, "page": 1});
    let p = api.post("/object/navlist/aql", body).await.expect(200);
    assert_eq!(p["totalFilterCount"], t["objectCount"]);
    assert!(
        p["objectEntries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["objectType"]["id"] == t["id"])
    );
}
