//! Bad input to the simulator — malformed JSON, wrong types, unknown ids, bad query values,
//! huge bodies — always gets a 4xx with an error body, never a 500, and changes nothing.

use assetark_tests::kit::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn bad_input_gets_4xx_with_error_bodies() {
    let sim = start_sim(&cmdb_config(20, false)).await;
    let api = Api::for_site(&sim, "s1");
    let count = |b: serde_json::Value| b["total"].as_u64().unwrap();
    let before = count(api.get("/objectschema/list").await.expect(200));
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", api.base);
    let raw = |method: Method, p: &str, body: &'static [u8]| {
        http.request(method, url(p))
            .basic_auth(&api.email, Some(&api.token))
            .header("content-type", "application/json")
            .body(body)
    };
    for (method, path, body, status) in [
        (Method::POST, "/objectschema/create", &b"{not json"[..], 400),
        (Method::POST, "/objectschema/create", &b"[1,2]"[..], 400),
        (Method::POST, "/objectschema/create", &b""[..], 400),
        (Method::POST, "/objectschema/create", &br#"{"name": 5, "objectSchemaKey": true}"#[..], 400),
        (Method::POST, "/objectschema/create", &br#"{"name": ["x"], "objectSchemaKey": "ABC"}"#[..], 400),
        (Method::POST, "/objecttype/create", &br#"{"name": "X", "objectSchemaId": "abc", "iconId": "1"}"#[..], 400),
        (Method::POST, "/objecttype/create", &br#"{"name": "X", "objectSchemaId": -3, "iconId": "1"}"#[..], 400),
        (Method::POST, "/object/create", &br#"{"objectTypeId": "1", "attributes": "x"}"#[..], 400),
        (Method::POST, "/object/create", &br#"{"objectTypeId": "1", "attributes": [{"objectTypeAttributeId": "1", "objectAttributeValues": [{"value": {"a": 1}}]}]}"#[..], 400),
        (Method::POST, "/object/create", &br#"{"attributes": []}"#[..], 400),
        (Method::POST, "/object/aql", &br#"{"qlQuery": "Name = \"unclosed"}"#[..], 400),
        (Method::POST, "/object/aql", &br#"{"qlQuery": "objectType = X AND AND"}"#[..], 400),
        (Method::POST, "/object/aql", &br#"{}"#[..], 400),
        (Method::POST, "/object/aql?startAt=-1", &br#"{"qlQuery": "objectId = 1"}"#[..], 400),
        (Method::POST, "/object/aql?maxResults=abc", &br#"{"qlQuery": "objectId = 1"}"#[..], 400),
        (Method::POST, "/object/aql?includeAttributes=maybe", &br#"{"qlQuery": "objectId = 1"}"#[..], 400),
        (Method::PUT, "/object/999999", &br#"{"objectTypeId": "1", "attributes": []}"#[..], 404),
        (Method::GET, "/object/not-an-id", &b""[..], 404),
        (Method::GET, "/objectschema/99999999999999999999", &b""[..], 404),
        (Method::DELETE, "/objecttype/0", &b""[..], 404),
        (Method::POST, "/objecttype/1/position", &br#"{"position": "first"}"#[..], 400),
        (Method::POST, "/config/statustype", &br#"{"name": "X"}"#[..], 400),
        (Method::PATCH, "/objectschema/list", &b""[..], 405),
    ] {
        let r = raw(method.clone(), path, body).send().await.unwrap();
        let st = r.status().as_u16();
        let b: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
        assert_eq!(st, status, "{method} {path} {}: {b}", String::from_utf8_lossy(body));
        assert!(b["errorMessages"].is_array() && b["errors"].is_object(), "{method} {path}: no error envelope: {b}");
    }
    // A huge body: 413 with an error body.
    let huge = format!(
        "{{\"name\": \"{}\", \"objectSchemaKey\": \"HUGE\"}}",
        "x".repeat(9 * 1024 * 1024)
    );
    let r = http
        .post(url("/objectschema/create"))
        .basic_auth(&api.email, Some(&api.token))
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let b: serde_json::Value = r.json().await.unwrap();
    assert!(b["errorMessages"].is_array());
    // Nothing changed, and the simulator still answers.
    assert_eq!(
        count(api.get("/objectschema/list").await.expect(200)),
        before
    );
    let stats = admin(&sim, Method::GET, "stats", None).await;
    assert!(
        stats["responses_by_status"].get("500").is_none(),
        "no 500 was served: {stats}"
    );
    let bad_admin = http
        .post(format!("{}/__sim/clock/advance", sim.url()))
        .json(&json!({"seconds": -1}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_admin.status(), 400);
}
