//! Request barriers: the chosen occurrences are held before (or after) processing, released one
//! at a time or all at once, counted, and abandoned when their client leaves; the same through
//! the admin API.

use assetark_tests::kit::*;
use reqwest::Method;
use serde_json::{Value, json};

/// A site with one schema and a type `Box` whose Name attribute is known.
async fn setup() -> (assets_sim::server::SimHandle, Api, String, String) {
    let sim = start_sim(&empty_config()).await;
    let api = Api::for_site(&sim, "s1");
    let schema = schema(&api, "Barriers", "BAR").await;
    let ty = object_type(&api, &schema, "Box", None).await;
    let name = attr_id(&api, &ty, "Name").await;
    (sim, api, ty, name)
}

fn create_body(ty: &str, name_attr: &str, label: &str) -> Value {
    json!({"objectTypeId": ty, "attributes": [av(name_attr, &[label])]})
}

async fn boxes(api: &Api) -> u64 {
    let r = api
        .post(
            "/object/aql/totalcount",
            json!({"qlQuery": "objectType = Box"}),
        )
        .await
        .expect(200);
    r["totalCount"].as_u64().expect("count")
}

/// Sends a create in the background; the task yields the status.
fn spawn_create(api: &Api, ty: &str, name_attr: &str, label: &str) -> tokio::task::JoinHandle<u16> {
    let (api, body) = (api.clone(), create_body(ty, name_attr, label));
    tokio::spawn(async move { api.post("/object/create", body).await.status })
}

#[tokio::test]
async fn barrier_holds_the_third_to_fifth_create_before_processing() {
    let (sim, api, ty, name) = setup().await;
    let barrier = sim
        .barrier(BarrierSpec::new("POST", "/object/create").occurrences(3..=5))
        .expect("barrier");
    for i in 0..2 {
        assert_eq!(
            spawn_create(&api, &ty, &name, &format!("pass-{i}"))
                .await
                .unwrap(),
            201
        );
    }
    let held: Vec<_> = (0..3)
        .map(|i| spawn_create(&api, &ty, &name, &format!("held-{i}")))
        .collect();
    let c = barrier.wait_held(3).await;
    assert_eq!((c.matched, c.held, c.released), (5, 3, 0));
    // Held before processing: nothing of theirs exists yet, and the 6th create is not held.
    assert_eq!(boxes(&api).await, 2);
    assert_eq!(spawn_create(&api, &ty, &name, "sixth").await.unwrap(), 201);
    assert_eq!(boxes(&api).await, 3);
    // Other requests to the site pass freely.
    assert_eq!(api.get("/objectschema/list").await.status, 200);

    assert!(barrier.release_one());
    let c = barrier
        .wait(Condition {
            released: Some(1),
            ..Condition::default()
        })
        .await;
    assert_eq!((c.held, c.released), (2, 1));
    assert_eq!(barrier.release_all(), 2);
    for h in held {
        assert_eq!(h.await.unwrap(), 201);
    }
    assert_eq!(boxes(&api).await, 6);
    let c = barrier.counts();
    assert_eq!((c.matched, c.held, c.released, c.abandoned), (6, 0, 3, 0));
    assert!(!barrier.release_one(), "nothing left to release");
}

#[tokio::test]
async fn barrier_after_processing_holds_the_response_of_a_made_change() {
    let (sim, api, ty, name) = setup().await;
    let barrier = sim
        .barrier(
            BarrierSpec::new("post", "/object/create")
                .site("s1")
                .nth(1)
                .stage(Stage::After),
        )
        .expect("barrier");
    let task = spawn_create(&api, &ty, &name, "made");
    barrier.wait_held(1).await;
    assert_eq!(
        boxes(&api).await,
        1,
        "the change is made while the answer waits"
    );
    assert!(!task.is_finished());
    assert!(barrier.release_one());
    assert_eq!(task.await.unwrap(), 201);
}

#[tokio::test]
async fn barrier_request_whose_client_leaves_is_abandoned_unprocessed() {
    let (sim, api, ty, name) = setup().await;
    let barrier = sim
        .barrier(BarrierSpec::new("POST", "/object/{anything}"))
        .expect("barrier");
    let task = spawn_create(&api, &ty, &name, "gone");
    barrier.wait_held(1).await;
    task.abort();
    let c = barrier
        .wait(Condition {
            abandoned: Some(1),
            ..Condition::default()
        })
        .await;
    assert_eq!((c.held, c.released), (0, 0));
    assert_eq!(barrier.release_all(), 0);
    assert_eq!(
        boxes(&api).await,
        0,
        "an abandoned request is never processed"
    );
}

#[tokio::test]
async fn barrier_dropped_handle_releases_what_it_holds() {
    let (sim, api, ty, name) = setup().await;
    let barrier = sim
        .barrier(BarrierSpec::new("POST", "/object/create"))
        .expect("barrier");
    let task = spawn_create(&api, &ty, &name, "freed");
    barrier.wait_held(1).await;
    drop(barrier);
    assert_eq!(task.await.unwrap(), 201);
    assert_eq!(spawn_create(&api, &ty, &name, "free").await.unwrap(), 201);
}

#[tokio::test]
async fn barrier_matches_jira_paths_and_other_sites_not() {
    let sim = start_sim(&cmdb_config(5, false)).await;
    let api = Api::for_site(&sim, "s1");
    let other = sim
        .barrier(BarrierSpec::new("GET", "/rest/api/*/myself").site("elsewhere"))
        .expect("barrier");
    let mine = sim
        .barrier(BarrierSpec::new("GET", "/rest/api/3/myself").site("s1"))
        .expect("barrier");
    let task = {
        let api = api.clone();
        tokio::spawn(async move {
            api.jira(Method::GET, "/rest/api/3/myself", None)
                .await
                .status
        })
    };
    mine.wait_held(1).await;
    assert_eq!(other.counts().matched, 0);
    mine.release_all();
    assert_eq!(task.await.unwrap(), 200);
}

#[tokio::test]
async fn barrier_admin_api_drives_a_barrier_from_outside() {
    let (sim, api, ty, name) = setup().await;
    let b = RemoteBarrier::add(
        sim.url(),
        &BarrierSpec::new("POST", "/object/create").occurrences(1..=2),
    )
    .await;
    let tasks: Vec<_> = (0..2)
        .map(|i| spawn_create(&api, &ty, &name, &format!("remote-{i}")))
        .collect();
    let c = b.wait_held(2).await;
    assert_eq!((c.matched, c.held), (2, 2));
    assert_eq!(boxes(&api).await, 0);
    let listed = admin(&sim, Method::GET, "barriers", None).await;
    assert_eq!(listed[0]["spec"]["path"], "/object/create");
    assert_eq!(listed[0]["counts"]["held"], 2);
    let c = b.release(1).await;
    assert_eq!((c.held, c.released), (1, 1));
    let c = b.release_all().await;
    assert_eq!((c.held, c.released), (0, 2));
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    assert_eq!(b.counts().await.matched, 2);
    let id = b.id;
    assert_eq!(b.remove().await.released, 2);

    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}/__sim/barriers{p}", sim.url());
    let status = |r: reqwest::Response| r.status().as_u16();
    let r = client.get(url(&format!("/{id}"))).send().await.unwrap();
    assert_eq!(status(r), 404, "a removed barrier is gone");
    for bad in [
        json!({"path": "/x", "from": 0}),
        json!({"path": "/x", "from": 3, "to": 2}),
        json!({"path": "/x", "stage": "during"}),
        json!({"method": "GET"}),
        json!({"path": "/x", "colour": "red"}),
    ] {
        let r = client.post(url("")).json(&bad).send().await.unwrap();
        assert_eq!(status(r), 400, "{bad}");
    }
    let quiet = RemoteBarrier::add(sim.url(), &BarrierSpec::new("GET", "/never")).await;
    let r = client
        .post(url(&format!("/{}/wait", quiet.id)))
        .json(&json!({"held": 1, "timeout_seconds": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 408);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["counts"]["held"], 0);
    let r = client
        .post(url(&format!("/{}/wait", quiet.id)))
        .json(&json!({"helt": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "a misspelt counter is refused");
}

#[tokio::test]
async fn barrier_shutdown_releases_held_requests() {
    let (sim, api, ty, name) = setup().await;
    let barrier = sim
        .barrier(BarrierSpec::new("POST", "/object/create"))
        .expect("barrier");
    let task = spawn_create(&api, &ty, &name, "late");
    barrier.wait_held(1).await;
    std::mem::forget(barrier); // a handle that is never dropped must not block the shutdown
    sim.shutdown().await;
    assert_eq!(task.await.unwrap(), 201);
}
