//! Item 17 (the last sentence): a response body read from a site is capped. The simulator
//! streams a body far over the cap (without a `Content-Length`, so only reading tells its
//! size); the backup ends in error naming the path and the cap, the daemon's memory never held
//! the body, the process lives on and the next backup works.

use assets_sim::barrier::BarrierSpec;
use serde_json::json;

use super::OBJECTS;
use crate::restore_daemon::support::{Env, S1_TOKEN, wait_for};

/// The cap the test configures, in MiB.
const CAP_MB: u64 = 1;
/// What the simulator offers: far more than the daemon may read.
const OFFERED: u64 = 1 << 30;

/// Peak resident memory of a process (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"));
    kib * 1024
}

/// The simulator's next answer: a gibibyte, streamed.
async fn force_oversized(env: &Env) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sim/force", env.sim.url()))
        .json(&json!({ "status": 200, "count": 1, "body_bytes": OFFERED }))
        .send()
        .await
        .expect("admin call");
    assert!(r.status().is_success(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_site_response_ends_the_job_not_the_daemon() {
    let mut env = Env::new(OBJECTS).await;
    // `[sites.limits]` is the config's last table: the key lands in it.
    let config = env.dir.path().join("assetark.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!("max_response_mb = {CAP_MB}\n"));
    std::fs::write(&config, text).expect("config");
    env.start().await;
    let pid = env.daemon_pid().expect("pid");

    // At the start, the schema lookup answered in the request: the CLI says why.
    force_oversized(&env).await;
    let out = env
        .cli(&["backup", "run", "--site", "s1", "--schema", "ITSM"])
        .await;
    let cap = (CAP_MB << 20).to_string();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("larger than the cap of") && out.stderr.contains(&cap),
        "names the cap: {out:?}"
    );

    // Inside the job: the first page of objects is the oversized one.
    let held = env
        .sim
        .barrier(BarrierSpec::new("POST", "/object/aql").site("s1").nth(1))
        .expect("barrier");
    let started = env
        .cli_json(&["backup", "run", "--site", "s1", "--schema", "ITSM"])
        .await;
    held.wait_held(1).await;
    force_oversized(&env).await;
    held.release_all();
    let job = started["job_id"].as_i64().expect("job id");
    let done = wait_for("the backup job ends", || async {
        let v = env
            .client()
            .get(&format!("/v1/jobs/{job}"))
            .await
            .ok()?
            .body;
        matches!(v["status"].as_str(), Some("done" | "failed")).then_some(v)
    })
    .await;
    assert_eq!(done["status"], "failed", "{done}");
    let text = done.to_string();
    assert!(
        text.contains("larger than the cap of") && text.contains(&cap),
        "names the cap: {done}"
    );
    assert!(
        text.contains("POST /object/aql"),
        "names the request's path: {done}"
    );
    assert!(!text.contains(S1_TOKEN), "no secret: {done}");

    // The daemon read at most the cap: a gibibyte read whole would show in its peak memory.
    let peak = peak_rss(pid);
    assert!(
        peak < OFFERED / 2,
        "peak resident memory {peak} bytes: the body was read past the cap"
    );
    assert!(env.client().get("/healthz").await.is_ok(), "still serving");
    assert_eq!(env.daemon_pid(), Some(pid), "the same process");
    let backup = env.backup("ITSM").await;
    assert!(backup > 0);
    env.stop().await;
}
