//! Simulator rate limits and faults: the 429 headers, a client that honours Retry-After (on the
//! simulator's virtual clock, advanced through the admin API instead of waiting), each fault
//! kind, determinism by seed, and the admin counters.

use assetark_tests::kit::*;
use reqwest::Method;
use serde_json::json;

fn limited_config() -> String {
    // scale 0.03: GET /object/{id} allows 60/min = 1/s with a 10 s burst (10 requests).
    cmdb_config(20, true).replace("enabled = true", "enabled = true\nscale = 0.03")
}

async fn any_object(api: &Api) -> String {
    let p = api
        .post(
            "/object/aql?maxResults=1",
            json!({"qlQuery": "objectType = Laptop"}),
        )
        .await
        .expect(200);
    p["values"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn rate_limit_headers_and_retry_after() {
    let sim = start_sim(&limited_config()).await;
    let api = Api::for_site(&sim, "s1");
    let id = any_object(&api).await;
    let path = format!("/object/{id}");
    let first = api.get(&path).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-ratelimit-limit"), Some("60"));
    assert!(first.header("x-ratelimit-remaining").is_some());
    let reset = first.header("x-ratelimit-reset").unwrap();
    assert!(
        reset.len() == 17 && reset.ends_with('Z'),
        "yyyy-MM-ddTHH:mmZ, got {reset}"
    );
    let mut allowed = 1;
    let mut near = first.header("x-ratelimit-nearlimit").is_some();
    let denied = loop {
        let r = api.get(&path).await;
        if r.status == 429 {
            break r;
        }
        assert_eq!(r.status, 200);
        near |= r.header("x-ratelimit-nearlimit") == Some("true");
        allowed += 1;
        assert!(allowed <= 10, "the burst is 10 requests");
    };
    assert_eq!(allowed, 10);
    assert!(
        near,
        "X-RateLimit-NearLimit appears on 2xx under 20% remaining"
    );
    assert_eq!(denied.header("retry-after"), Some("1"));
    assert_eq!(denied.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(denied.header("x-ratelimit-limit"), Some("60"));
    assert_eq!(denied.header("ratelimit-reason"), Some("jira-quota-based"));
    assert!(denied.header("x-ratelimit-reset").is_some());
    assert!(denied.body["errorMessages"].is_array());
    // Another credential of the pool, and another endpoint, have budgets of their own.
    let mut other = api.clone();
    other.token = "tok-s1-b".into();
    assert_eq!(other.get(&path).await.status, 200);
    assert_eq!(api.get("/objectschema/list").await.status, 200);
    // A client that honours Retry-After never gets a second 429 in a row.
    let mut served_429 = 1;
    for _ in 0..40 {
        let r = api.get(&path).await;
        if r.status == 429 {
            served_429 += 1;
            let wait: f64 = r.header("retry-after").unwrap().parse().unwrap();
            admin(
                &sim,
                Method::POST,
                "clock/advance",
                Some(json!({"seconds": wait})),
            )
            .await;
            let again = api.get(&path).await;
            assert_eq!(
                again.status, 200,
                "a retry after Retry-After must not be rejected"
            );
        }
    }
    let stats = admin(&sim, Method::GET, "stats", None).await;
    assert_eq!(stats["rate_limited"], served_429);
    assert!(stats["requests_by_class"]["object"].as_u64().unwrap() >= 50);
    sim.shutdown().await;
}

#[tokio::test]
async fn each_fault_kind() {
    let sim = start_sim(&cmdb_config(20, false)).await;
    let api = Api::for_site(&sim, "s1");
    let id = any_object(&api).await;
    let path = format!("/object/{id}");
    // Errors only for the "object" class: 500/502/503, 503 with Retry-After.
    admin(
        &sim,
        Method::PUT,
        "faults",
        Some(json!({"seed": 3, "error_rate": 1.0, "classes": ["object"]})),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let r = api.get(&path).await;
        assert!([500, 502, 503].contains(&r.status), "{}", r.status);
        if r.status == 503 {
            assert_eq!(r.header("retry-after"), Some("1"));
        }
        statuses.push(r.status);
    }
    assert!(statuses.contains(&500) && statuses.contains(&502) && statuses.contains(&503));
    assert_eq!(
        api.get("/objectschema/list").await.status,
        200,
        "other classes are untouched"
    );
    // The same seed replays the same sequence.
    admin(
        &sim,
        Method::PUT,
        "faults",
        Some(json!({"seed": 3, "error_rate": 1.0, "classes": ["object"]})),
    )
    .await;
    let mut again = Vec::new();
    for _ in 0..30 {
        again.push(api.get(&path).await.status);
    }
    assert_eq!(statuses, again);
    // Dropped connections: the client sees a transport error, nothing is processed.
    admin(&sim, Method::PUT, "faults", Some(json!({"drop_rate": 1.0}))).await;
    let url = format!("{}{path}", api.base);
    assert!(api.send_url(Method::GET, &url, None).await.is_err());
    assert!(api.send_url(Method::DELETE, &url, None).await.is_err());
    admin(&sim, Method::PUT, "faults", Some(json!({}))).await;
    assert_eq!(
        api.get(&path).await.status,
        200,
        "the dropped DELETE was not processed"
    );
    // Lost responses: the change is made but the answer never arrives.
    let sid = schema(&api, "Faults", "FLT").await;
    let thing = object_type(&api, &sid, "Thing", None).await;
    let name = attr_id(&api, &thing, "Name").await;
    let q = json!({"qlQuery": "objectType = Thing"});
    let before = api
        .post("/object/aql/totalcount", q.clone())
        .await
        .expect(200)["totalCount"]
        .as_u64()
        .unwrap();
    let body = json!({"objectTypeId": thing, "attributes": [av(&name, &["Lost Response Thing"])]});
    admin(
        &sim,
        Method::PUT,
        "faults",
        Some(json!({"lost_response_rate": 1.0, "classes": ["object"]})),
    )
    .await;
    let create_url = format!("{}/object/create", api.base);
    assert!(
        api.send_url(Method::POST, &create_url, Some(&body))
            .await
            .is_err()
    );
    admin(&sim, Method::PUT, "faults", Some(json!({}))).await;
    let after = api.post("/object/aql/totalcount", q).await.expect(200)["totalCount"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before + 1, "the lost response's create happened");
    // Latency is added to every request.
    admin(
        &sim,
        Method::PUT,
        "faults",
        Some(json!({"latency_ms": 150})),
    )
    .await;
    let t = std::time::Instant::now();
    assert_eq!(api.get("/objectschema/list").await.status, 200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(150));
    admin(&sim, Method::PUT, "faults", Some(json!({}))).await;
    // Forced responses: a chosen 429 with its Retry-After, then back to normal.
    admin(
        &sim,
        Method::POST,
        "force",
        Some(json!({"status": 429, "retry_after": 7, "count": 2})),
    )
    .await;
    for _ in 0..2 {
        let r = api.get("/objectschema/list").await;
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("7"));
    }
    assert_eq!(api.get("/objectschema/list").await.status, 200);
    let stats = admin(&sim, Method::GET, "stats", None).await;
    assert_eq!(stats["faults"]["forced"], 2);
    assert!(stats["faults"]["errors"].as_u64().unwrap() >= 60);
    assert!(stats["faults"]["drops"].as_u64().unwrap() >= 2);
    assert_eq!(stats["faults"]["lost_responses"], 1);
    // Bad fault settings are refused.
    let r = reqwest::Client::new()
        .put(format!("{}/__sim/faults", sim.url()))
        .json(&json!({"error_rate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn site_reset_restores_the_dataset() {
    let sim = start_sim(&cmdb_config(40, false)).await;
    let api = Api::for_site(&sim, "s1");
    let q = json!({"qlQuery": "objectType = Laptop"});
    let n = api
        .post("/object/aql/totalcount", q.clone())
        .await
        .expect(200)["totalCount"]
        .as_u64()
        .unwrap();
    let id = any_object(&api).await;
    api.delete(&format!("/object/{id}")).await.expect(200);
    assert_eq!(
        api.post("/object/aql/totalcount", q.clone())
            .await
            .expect(200)["totalCount"],
        n - 1
    );
    let r = admin(&sim, Method::POST, "sites/s1/reset", None).await;
    assert_eq!(r["site"], "s1");
    assert_eq!(
        api.post("/object/aql/totalcount", q).await.expect(200)["totalCount"],
        n
    );
    assert_eq!(api.get(&format!("/object/{id}")).await.status, 200);
}
