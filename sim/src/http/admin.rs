//! The `/__sim/` admin API (only with `admin_api = true`): counters, fault switches, forced
//! responses, rate-limit settings and site resets. No auth: it binds where the simulator does.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::assets_schemas::ok;
use super::{App, JsonBody, Stats};
use crate::barrier::{BarrierError, BarrierSpec, Condition, Entry};
use crate::config::{FaultConfig, RateLimitConfig};
use crate::error::{ApiError, ApiResult};
use crate::faults::Forced;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/__sim/stats", get(stats))
        .route("/__sim/stats/reset", post(reset_stats))
        .route("/__sim/faults", get(get_faults).put(put_faults))
        .route("/__sim/force", post(force))
        .route("/__sim/rate_limits", get(get_limits).put(put_limits))
        .route("/__sim/sites/{name}/reset", post(reset_site))
        .route("/__sim/clock/advance", post(advance_clock))
        .route("/__sim/barriers", get(list_barriers).post(add_barrier))
        .route(
            "/__sim/barriers/{id}",
            get(get_barrier).delete(remove_barrier),
        )
        .route("/__sim/barriers/{id}/wait", post(wait_barrier))
        .route("/__sim/barriers/{id}/release", post(release_barrier))
}

fn stats_json(app: &App) -> Value {
    let st = app.stats.lock();
    json!({
        "requests_by_class": st.by_class,
        "requests_by_endpoint": st.by_endpoint,
        "requests_by_site": st.by_site,
        "responses_by_status": st.by_status.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        "rate_limited": app.limiter.denied(),
        "faults": app.faults.counts(),
    })
}

async fn stats(State(app): State<Arc<App>>) -> ApiResult<Response> {
    ok(stats_json(&app))
}

async fn reset_stats(State(app): State<Arc<App>>) -> ApiResult<Response> {
    *app.stats.lock() = Stats::default();
    ok(stats_json(&app))
}

fn from_body<T: serde::de::DeserializeOwned>(b: serde_json::Map<String, Value>) -> ApiResult<T> {
    serde_json::from_value(Value::Object(b))
        .map_err(|e| ApiError::bad_request(format!("Invalid settings: {e}")))
}

async fn get_faults(State(app): State<Arc<App>>) -> Json<FaultConfig> {
    Json(app.faults.config())
}

async fn put_faults(State(app): State<Arc<App>>, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let cfg: FaultConfig = from_body(b)?;
    for v in [cfg.error_rate, cfg.drop_rate, cfg.lost_response_rate] {
        if !(0.0..=1.0).contains(&v) {
            return Err(ApiError::bad_request("rates must be within 0.0..=1.0"));
        }
    }
    app.faults.set_config(cfg.clone());
    ok(serde_json::to_value(cfg).unwrap_or_default())
}

async fn force(State(app): State<Arc<App>>, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let f: Forced = from_body(b)?;
    // An oversized body may come with any status; a plain forced answer is an error.
    let lowest = if f.body_bytes.is_some() { 200 } else { 400 };
    if !(lowest..=599).contains(&f.status) || f.count == 0 {
        return Err(ApiError::bad_request(format!(
            "status must be {lowest}..=599 and count at least 1"
        )));
    }
    app.faults.force(f);
    ok(json!({"queued": f.count}))
}

async fn get_limits(State(app): State<Arc<App>>) -> ApiResult<Response> {
    let c = app.limiter.config();
    ok(
        json!({"enabled": c.enabled, "scale": c.scale, "default_per_minute": c.default_per_minute, "burst_seconds": c.burst_seconds}),
    )
}

async fn put_limits(State(app): State<Arc<App>>, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let mut merged =
        serde_json::to_value(LimitsView::from(app.limiter.config())).unwrap_or_default();
    for (k, v) in b {
        merged[k] = v;
    }
    let Value::Object(m) = merged else {
        unreachable!("serialized a struct")
    };
    let c: RateLimitConfig = from_body(m)?;
    if c.scale.is_nan() || c.scale <= 0.0 || c.burst_seconds.is_nan() || c.burst_seconds <= 0.0 {
        return Err(ApiError::bad_request("scale and burst_seconds must be > 0"));
    }
    app.limiter.set_config(c);
    get_limits(State(app)).await
}

#[derive(serde::Serialize)]
struct LimitsView {
    enabled: bool,
    scale: f64,
    default_per_minute: u32,
    burst_seconds: f64,
}

impl From<RateLimitConfig> for LimitsView {
    fn from(c: RateLimitConfig) -> Self {
        LimitsView {
            enabled: c.enabled,
            scale: c.scale,
            default_per_minute: c.default_per_minute,
            burst_seconds: c.burst_seconds,
        }
    }
}

async fn reset_site(State(app): State<Arc<App>>, Path(name): Path<String>) -> ApiResult<Response> {
    let site = app
        .site_by_name(&name)
        .ok_or_else(|| ApiError::not_found(format!("No site named {name}")))?
        .clone();
    let fresh = tokio::task::spawn_blocking({
        let cfg = site.cfg.clone();
        let ws = site.ws_id.clone();
        move || crate::dataset::build(&cfg, &ws)
    })
    .await
    .map_err(|_| {
        ApiError::status(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "reset failed",
        )
    })?;
    let objects = fresh.object_count();
    *site.data.write() = fresh;
    super::copy_jira_issues(&app.sites, &site);
    ok(json!({"site": name, "objects": objects}))
}

/// Moves the simulator's clocks forward (`{"seconds": 1.5}`): a client honouring Retry-After can
/// be tested without waiting in real time.
async fn advance_clock(State(app): State<Arc<App>>, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let secs = b
        .get("seconds")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e7);
    let secs =
        secs.ok_or_else(|| ApiError::bad_request("seconds must be a non-negative number"))?;
    let d = std::time::Duration::from_secs_f64(secs);
    app.limiter.advance(d);
    app.clock.advance(d.as_millis() as i64);
    ok(json!({"advanced_seconds": secs}))
}

fn barrier_error(e: BarrierError) -> ApiError {
    match e {
        BarrierError::Unknown(_) => ApiError::not_found(e.to_string()),
        _ => ApiError::bad_request(e.to_string()),
    }
}

fn barrier_json(e: &Entry) -> Value {
    json!({"spec": e.spec(), "counts": e.counts()})
}

async fn list_barriers(State(app): State<Arc<App>>) -> ApiResult<Response> {
    let all: Vec<Value> = app.barriers.all().iter().map(|e| barrier_json(e)).collect();
    ok(Value::Array(all))
}

async fn add_barrier(State(app): State<Arc<App>>, JsonBody(b): JsonBody) -> ApiResult<Response> {
    let spec: BarrierSpec = from_body(b)?;
    let e = app.barriers.add(spec).map_err(barrier_error)?;
    super::assets_schemas::created(barrier_json(&e))
}

async fn get_barrier(State(app): State<Arc<App>>, Path(id): Path<u64>) -> ApiResult<Response> {
    let e = app.barriers.get(id).map_err(barrier_error)?;
    ok(barrier_json(&e))
}

async fn remove_barrier(State(app): State<Arc<App>>, Path(id): Path<u64>) -> ApiResult<Response> {
    let counts = app.barriers.remove(id).map_err(barrier_error)?;
    ok(json!({"counts": counts}))
}

/// The body of `POST /__sim/barriers/{id}/wait`: minimums of the counters and a time limit.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitBody {
    #[serde(default)]
    matched: Option<u64>,
    #[serde(default)]
    held: Option<u64>,
    #[serde(default)]
    released: Option<u64>,
    #[serde(default)]
    abandoned: Option<u64>,
    #[serde(default = "default_wait_seconds")]
    timeout_seconds: f64,
}

fn default_wait_seconds() -> f64 {
    60.0
}

/// Answers once the condition holds (200) or the time limit passed (408 with the counts).
async fn wait_barrier(
    State(app): State<Arc<App>>,
    Path(id): Path<u64>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let w: WaitBody = from_body(b)?;
    if !(w.timeout_seconds.is_finite() && (0.0..=3600.0).contains(&w.timeout_seconds)) {
        return Err(ApiError::bad_request(
            "timeout_seconds must be within 0..=3600",
        ));
    }
    let e = app.barriers.get(id).map_err(barrier_error)?;
    let until = Condition {
        matched: w.matched,
        held: w.held,
        released: w.released,
        abandoned: w.abandoned,
    };
    let limit = std::time::Duration::from_secs_f64(w.timeout_seconds);
    match e.wait(until, limit).await {
        Ok(c) => ok(json!({"counts": c})),
        Err(c) => {
            let mut err = ApiError::status(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                format!("barrier {id}: the condition was not met in time"),
            );
            err.body["counts"] = json!(c);
            Err(err)
        }
    }
}

/// The body of `POST /__sim/barriers/{id}/release`: `{"count": n}` (default 1) or `{"all": true}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseBody {
    #[serde(default)]
    count: Option<usize>,
    #[serde(default)]
    all: bool,
}

async fn release_barrier(
    State(app): State<Arc<App>>,
    Path(id): Path<u64>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    // An empty body releases one request.
    let r: ReleaseBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReleaseBody {
            count: None,
            all: false,
        }
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("Invalid release body: {e}")))?
    };
    let e = app.barriers.get(id).map_err(barrier_error)?;
    let released = if r.all {
        e.release_all()
    } else {
        e.release(r.count.unwrap_or(1))
    };
    ok(json!({"released": released, "counts": e.counts()}))
}
