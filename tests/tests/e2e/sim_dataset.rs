//! The cmdb dataset seen through the API: every attribute type, inheritance with an abstract
//! type, references inside the schema (with a cycle) and across schemas, statuses, reference
//! types, icons, history; every response checked against the OpenAPI document on the way.

use std::collections::HashSet;

use assetark_tests::kit::*;
use serde_json::{Value, json};

#[tokio::test]
async fn cmdb_dataset_has_every_feature_a_backup_must_carry() {
    let sim = start_sim(&cmdb_config(400, false)).await;
    let api = Api::for_site(&sim, "s1");
    let list = api
        .get("/objectschema/list?includeCounts=true")
        .await
        .expect(200);
    let schemas = list["values"].as_array().unwrap();
    assert!(schemas.len() >= 2);
    let itsm = schemas
        .iter()
        .find(|s| s["objectSchemaKey"] == "ITSM")
        .unwrap();
    let sid = itsm["id"].as_str().unwrap();
    let loc = schemas.iter().find(|s| s["id"] != itsm["id"]).unwrap();
    let loc_cfg = api
        .get(&format!(
            "/global/config/objectschema/{}",
            loc["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert_eq!(loc_cfg["allowOtherObjectSchema"], true);
    let total: u64 = schemas
        .iter()
        .map(|s| s["objectCount"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 400);
    let types = api
        .get(&format!("/objectschema/{sid}/objecttypes/flat"))
        .await
        .expect(200);
    let types = types.as_array().unwrap();
    assert!(types.iter().any(|t| t["abstractObjectType"] == true));
    assert!(types.iter().any(|t| t["parentObjectTypeInherited"] == true));
    let attrs = api
        .get(&format!("/objectschema/{sid}/attributes"))
        .await
        .expect(200);
    let attrs = attrs.as_array().unwrap();
    let codes: HashSet<i64> = attrs.iter().map(|a| a["type"].as_i64().unwrap()).collect();
    for c in [0, 1, 2, 4, 7] {
        assert!(codes.contains(&c), "attribute type {c} missing");
    }
    let defaults: HashSet<i64> = attrs
        .iter()
        .filter_map(|a| a["defaultType"]["id"].as_i64())
        .collect();
    for d in 0..=11 {
        assert!(defaults.contains(&d), "default type {d} missing");
    }
    assert!(attrs.iter().any(|a| a["uniqueAttribute"] == true));
    assert!(attrs.iter().any(|a| a["maximumCardinality"] == -1));
    // A reference attribute pointing at the other schema.
    let loc_types = api
        .get(&format!(
            "/objectschema/{}/objecttypes",
            loc["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    let loc_ids: HashSet<&str> = loc_types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(
        attrs.iter().any(|a| a["type"] == 1
            && loc_ids.contains(a["referenceObjectTypeId"].as_str().unwrap_or("")))
    );
    // Per-type attribute lists, statuses, reference types and icons all validate.
    for t in types {
        api.get(&format!(
            "/objecttype/{}/attributes",
            t["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
        api.get(&format!("/objecttype/{}", t["id"].as_str().unwrap()))
            .await
            .expect(200);
        api.get(&format!("/icon/{}", t["icon"]["id"].as_str().unwrap()))
            .await
            .expect(200);
    }
    let schema_statuses = api
        .get(&format!("/config/statustype?objectSchemaId={sid}"))
        .await
        .expect(200);
    assert!(!schema_statuses.as_array().unwrap().is_empty());
    assert!(
        api.get("/config/statustype")
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len()
            >= 7
    );
    let refs = api
        .get(&format!(
            "/config/referencetype?objectSchemaId={sid}&includeAll=true"
        ))
        .await
        .expect(200);
    assert!(
        refs.as_array()
            .unwrap()
            .iter()
            .any(|r| r.get("objectSchemaId").is_some())
    );
    assert!(
        refs.as_array()
            .unwrap()
            .iter()
            .any(|r| r.get("objectSchemaId").is_none())
    );
    // Objects: full reads, history with updates, reference info; a reference cycle exists.
    let page = api
        .post(
            "/object/aql?maxResults=400",
            json!({"qlQuery": format!("objectSchemaId = {sid}")}),
        )
        .await
        .expect(200);
    let mut edges: Vec<(String, String)> = Vec::new();
    for o in page["values"].as_array().unwrap() {
        let id = o["id"].as_str().unwrap().to_string();
        for a in o["attributes"].as_array().unwrap() {
            for v in a["objectAttributeValues"].as_array().unwrap() {
                if let Some(r) = v["referencedObject"]["id"].as_str() {
                    edges.push((id.clone(), r.to_string()));
                }
            }
        }
    }
    assert!(has_cycle(&edges), "the dataset holds a reference cycle");
    let with_updates = page["values"]
        .as_array()
        .unwrap()
        .iter()
        .take(40)
        .map(|o| o["id"].as_str().unwrap().to_string());
    let mut changed = 0;
    for id in with_updates {
        api.get(&format!("/object/{id}")).await.expect(200);
        api.get(&format!("/object/{id}/referenceinfo"))
            .await
            .expect(200);
        let h = api.get(&format!("/object/{id}/history")).await.expect(200);
        changed += h
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == 2)
            .count();
    }
    assert!(changed > 0, "some history entries record value changes");
    api.get("/global/config").await.expect(200);
    api.get("/usage").await.expect(200);
}

fn has_cycle(edges: &[(String, String)]) -> bool {
    // Kahn's algorithm: a cycle exists when not every node can be removed.
    let mut nodes: HashSet<&str> = HashSet::new();
    for (a, b) in edges {
        nodes.insert(a);
        nodes.insert(b);
    }
    let mut indeg: std::collections::HashMap<&str, usize> = nodes.iter().map(|n| (*n, 0)).collect();
    for (_, b) in edges {
        *indeg.get_mut(b.as_str()).unwrap() += 1;
    }
    let mut queue: Vec<&str> = indeg
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(n, _)| *n)
        .collect();
    let mut removed = 0;
    while let Some(n) = queue.pop() {
        removed += 1;
        for (a, b) in edges {
            if a == n {
                let d = indeg.get_mut(b.as_str()).unwrap();
                *d -= 1;
                if *d == 0 {
                    queue.push(b);
                }
            }
        }
    }
    removed < nodes.len()
}

#[tokio::test]
async fn data_center_export_holds_long_text() {
    let cfg = cmdb_config(300, false).replace("seed = 7", "seed = 7\nfrom_data_center = true");
    let sim = start_sim(&cfg).await;
    let api = Api::for_site(&sim, "s1");
    let page = api
        .post(
            "/object/aql?maxResults=1000",
            json!({"qlQuery": "objectSchemaId = 1"}),
        )
        .await
        .expect(200);
    let long = attribute_values(&page["values"])
        .iter()
        .filter(|v| v.chars().count() > 255)
        .count();
    assert!(
        long > 0,
        "from_data_center stores Text values over 255 characters"
    );
    let _: Value = page;
}
