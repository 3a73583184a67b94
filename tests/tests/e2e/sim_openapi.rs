//! Every operation the simulator implements, called once and validated against Atlassian's
//! OpenAPI document (the harness validates each response); the set of operations hit must be
//! every documented operation except the import API, which the simulator does not offer.

use std::collections::BTreeSet;

use assetark_tests::kit::*;
use assetark_tests::openapi::Spec;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_implemented_operation_validates() {
    let sim = start_sim(&cmdb_config(60, false)).await;
    let api = Api::for_site(&sim, "s1");
    let mut hit: Vec<(Method, String)> = Vec::new();
    macro_rules! call {
        ($m:expr, $p:expr) => {
            call!($m, $p, None)
        };
        ($m:expr, $p:expr, $b:expr) => {{
            let path: String = $p;
            let body: Option<serde_json::Value> = $b;
            let r = api.call($m, &path, body.as_ref()).await;
            assert!(r.status < 300, "{} {path}: {} {}", $m, r.status, r.body);
            hit.push(($m, path));
            r.body
        }};
    }
    let sid = call!(
        Method::POST,
        "/objectschema/create".into(),
        Some(json!({"name": "Cover", "objectSchemaKey": "COV"}))
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    call!(Method::GET, "/objectschema/list".into());
    call!(Method::GET, format!("/objectschema/{sid}"));
    call!(
        Method::PUT,
        format!("/objectschema/{sid}"),
        Some(json!({"description": "covered"}))
    );
    let parent = call!(
        Method::POST,
        "/objecttype/create".into(),
        Some(json!({"name": "Parent", "objectSchemaId": sid, "iconId": "1", "inherited": true}))
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let child = call!(Method::POST, "/objecttype/create".into(), Some(json!({"name": "Child", "objectSchemaId": sid, "iconId": "1", "parentObjectTypeId": parent})))["id"].as_str().unwrap().to_string();
    call!(Method::GET, format!("/objecttype/{child}"));
    call!(
        Method::PUT,
        format!("/objecttype/{child}"),
        Some(json!({"description": "child"}))
    );
    call!(
        Method::POST,
        format!("/objecttype/{child}/position"),
        Some(json!({"toObjectTypeId": parent, "position": 0}))
    );
    call!(Method::GET, format!("/objecttype/{child}/attributes"));
    call!(Method::GET, format!("/objectschema/{sid}/objecttypes"));
    call!(Method::GET, format!("/objectschema/{sid}/objecttypes/flat"));
    let status = call!(
        Method::POST,
        "/config/statustype".into(),
        Some(json!({"name": "Cov", "category": 1, "objectSchemaId": sid}))
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    call!(Method::GET, "/config/statustype".into());
    call!(Method::GET, format!("/config/statustype/{status}"));
    call!(
        Method::PUT,
        format!("/config/statustype/{status}"),
        Some(json!({"name": "Cov2", "category": 2}))
    );
    call!(
        Method::POST,
        "/config/referencetype".into(),
        Some(json!({"name": "Covers", "objectSchemaId": sid}))
    );
    call!(
        Method::GET,
        format!("/config/referencetype?objectSchemaId={sid}&includeAll=true")
    );
    let attr = call!(
        Method::POST,
        format!("/objecttypeattribute/{parent}"),
        Some(json!({"name": "Size", "type": 0, "defaultTypeId": 1}))
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    call!(
        Method::PUT,
        format!("/objecttypeattribute/{parent}/{attr}"),
        Some(json!({"description": "GB"}))
    );
    call!(Method::GET, format!("/objectschema/{sid}/attributes"));
    let name = attr_id(&api, &child, "Name").await;
    let obj = call!(
        Method::POST,
        "/object/create".into(),
        Some(
            json!({"objectTypeId": child, "attributes": [av(&name, &["one"]), av(&attr, &["4"])]})
        )
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    call!(Method::GET, format!("/object/{obj}"));
    call!(
        Method::PUT,
        format!("/object/{obj}"),
        Some(json!({"objectTypeId": child, "attributes": [av(&attr, &["8"])]}))
    );
    call!(Method::GET, format!("/object/{obj}/attributes"));
    call!(Method::GET, format!("/object/{obj}/history"));
    call!(Method::GET, format!("/object/{obj}/referenceinfo"));
    call!(
        Method::GET,
        format!("/objectconnectedtickets/{obj}/tickets")
    );
    let q = format!("objectSchemaId = {sid}");
    call!(
        Method::POST,
        "/object/aql".into(),
        Some(json!({"qlQuery": q}))
    );
    call!(
        Method::POST,
        "/object/aql/totalcount".into(),
        Some(json!({"qlQuery": q}))
    );
    call!(
        Method::GET,
        format!("/aql/objects?qlQuery=objectSchemaId%20%3D%20{sid}")
    );
    call!(
        Method::GET,
        format!("/iql/objects?iql=objectSchemaId%20%3D%20{sid}")
    );
    let nav =
        json!({"qlQuery": q, "objectTypeId": child, "resultsPerPage": 5, "objectSchemaId": sid});
    call!(
        Method::POST,
        "/object/navlist/aql".into(),
        Some(nav.clone())
    );
    call!(Method::POST, "/object/navlist/iql".into(), Some(nav));
    call!(Method::GET, "/icon/global".into());
    call!(Method::GET, "/icon/1".into());
    call!(Method::GET, "/icon/1/icon.png?size=16".into());
    call!(Method::GET, "/global/config".into());
    call!(Method::GET, format!("/global/config/objectschema/{sid}"));
    call!(
        Method::POST,
        format!("/global/config/objectschema/{sid}/property"),
        Some(json!({"allowOtherObjectSchema": true}))
    );
    call!(Method::GET, "/usage".into());
    call!(Method::DELETE, format!("/object/{obj}"));
    call!(Method::DELETE, format!("/objecttypeattribute/{attr}"));
    call!(Method::DELETE, format!("/config/statustype/{status}"));
    call!(Method::DELETE, format!("/objecttype/{child}"));
    call!(Method::DELETE, format!("/objectschema/{sid}"));

    let spec = Spec::load();
    let covered: BTreeSet<(String, String)> = hit
        .iter()
        .map(|(m, p)| {
            let path = p.split('?').next().unwrap();
            let t = spec
                .template(m.as_str(), path)
                .unwrap_or_else(|| panic!("{m} {path} is not a documented operation"));
            (m.to_string(), t.to_string())
        })
        .collect();
    let expected: BTreeSet<(String, String)> = spec
        .operations()
        .into_iter()
        .filter(|(_, t)| {
            !t.starts_with("/importsource")
                && !t.starts_with("/import/")
                && !t.starts_with("/progress/")
        })
        .collect();
    let missing: Vec<_> = expected.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "documented operations not exercised: {missing:?}"
    );
    assert_eq!(covered.len(), 45);
}
