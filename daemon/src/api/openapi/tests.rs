//! The document and the router agree: every route the router serves (read from the
//! `.route(...)` calls of `api/`) is an operation of the document, and every operation of
//! the document is served (a request to it reaches a handler: no "no such route", no 405).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;
use utoipa::OpenApi as _;

use super::ApiDoc;
use crate::api::{ApiLimits, ApiState, router};
use crate::jobs::{Jobs, JobsOptions};
use crate::schedules::{BackupQueue, Scheduler};
use crate::sites::Sites;
use crate::store::{AsyncStore, SqliteStore};

/// `(METHOD, path)` of every operation in the document.
fn documented() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// `(METHOD, path)` of every `.route("path", get(..).post(..))` in the API's sources.
fn routed() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("api dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(\"") {
            rest = &rest[i + ".route(\"".len()..];
            let end = rest.find('"').expect("closing quote");
            let route = rest[..end].to_owned();
            // The methods: the chained calls up to the end of this `.route(...)`.
            let mut depth = 1;
            let mut close = end;
            for (j, c) in rest[end..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            close = end + j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let args = &rest[end..close];
            for method in ["get", "post", "put", "delete", "patch"] {
                let bare = format!(" {method}(");
                let chained = format!(".{method}(");
                if args.contains(&bare) || args.contains(&chained) {
                    out.insert((method.to_uppercase(), route.clone()));
                }
            }
        }
    }
    assert!(out.len() > 20, "the route scan found too little: {out:?}");
    out
}

#[test]
fn every_route_of_the_router_is_in_the_document_and_back() {
    let documented = documented();
    let routed = routed();
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes without an operation in openapi.json: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        extra.is_empty(),
        "operations in openapi.json that no .route() serves: {extra:?}"
    );
}

#[tokio::test]
async fn every_documented_operation_reaches_a_handler() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = AsyncStore::new(Arc::new(
        SqliteStore::open(dir.path().join("s.db")).expect("store"),
    ));
    let sites = Arc::new(Sites::default());
    let stop = CancellationToken::new();
    let jobs = Jobs::new(
        store.clone(),
        Arc::clone(&sites),
        stop.clone(),
        TaskTracker::new(),
        crate::clock::system(),
        JobsOptions::default(),
    );
    let queue: Arc<dyn BackupQueue> = jobs.clone();
    let schedules = Scheduler::new(store.clone(), crate::clock::system(), queue, Vec::new());
    let app = router(ApiState {
        store,
        sites,
        jobs,
        schedules,
        clock: crate::clock::system(),
        limits: ApiLimits::default(),
    });
    for (method, path) in documented() {
        let uri = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(&uri)
            .body(Body::empty())
            .expect("request");
        let resp = app.clone().oneshot(req).await.expect("answer");
        let status = resp.status().as_u16();
        // Streams (SSE of a job that does not exist still answers JSON 404).
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        let code = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
        assert_ne!(status, 405, "{method} {uri}: method not allowed");
        assert!(
            !(status == 404 && code.as_deref() == Some("not_found")),
            "{method} {uri}: no such route"
        );
    }
    stop.cancel();
}

#[test]
fn the_document_is_openapi_3_1_with_the_error_body_and_bearer_auth() {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let backups = &doc["paths"]["/v1/backups"]["get"]["responses"];
    assert!(
        backups["200"].is_object() && backups["422"].is_object(),
        "{backups}"
    );
    // Every reference resolves.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling {r}"
        );
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
