//! `api-conformance`: schemathesis against the daemon's own OpenAPI document, over its TCP
//! listener (with the bearer token), as `dev/schemathesis.sh` runs it.
//!
//! The simulator (a cmdb site `s1`, an empty site `s2`) and the daemon run in this process:
//! the daemon says when it serves (no polling), with the TCP address it bound (port 0). A
//! schema is synced and backed up first, so that ids 1 exist. Then schemathesis (the path is
//! the first argument) runs every operation of `/v1/openapi.json` with the checks "no 5xx"
//! (`not_a_server_error`) and "no answer that breaks the document" (status codes, content
//! types, response schemas); its exit code is ours.
//!
//! Left out, because random input would reach outside this machine's test area: adding a site
//! (`POST /v1/sites` tests the connection to whatever URL it is given); exports
//! (`GET /v1/backups/{id}/export`, a binary tar stream that no response schema describes,
//! tested in the daemon's e2e suite). The live event
//! streams (`.../events`) are left out as well: a stream follows its job for as long as it
//! runs, which a request timeout would misread; their tests are in the daemon's e2e suite.

use std::process::ExitCode;
use std::time::Duration;

use assetark::api::client::ControlClient;
use assetark::clock::system;
use assetark::config::{Config, Sources};
use assetark::daemon::{ServeOptions, serve_with};
use assetark_tests::kit::{cmdb_config, start_sim};
use tokio_util::sync::CancellationToken;

/// The bearer token of the TCP listener (a test value, never a real secret).
const TOKEN: &str = "conformance-token-4f1c";

#[tokio::main]
async fn main() -> ExitCode {
    let Some(schemathesis) = std::env::args().nth(1) else {
        eprintln!("usage: api-conformance PATH_TO_SCHEMATHESIS [extra schemathesis args]");
        return ExitCode::from(2);
    };
    let extra: Vec<String> = std::env::args().skip(2).collect();
    let sim_toml = format!(
        "{}\n[[sites]]\nname = \"s2\"\nemail = \"admin@s2.example\"\ntoken = \"tok-s2\"\n",
        cmdb_config(200, false)
    );
    let sim = start_sim(&sim_toml).await;
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("api-conformance: no temp dir: {e}");
            return ExitCode::from(2);
        }
    };
    let mut sites = String::new();
    for name in ["s1", "s2"] {
        let Some(s) = sim.site(name) else {
            eprintln!("api-conformance: the simulator has no site {name}");
            return ExitCode::from(2);
        };
        sites.push_str(&format!(
            "[[sites]]\nname = \"{name}\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
             token = \"{}\"\n[sites.limits]\naql_legacy_per_minute = 100000\n\
             aql_per_minute = 100000\nobject_per_minute = 100000\nother_per_minute = 100000\n\
             jira_per_minute = 100000\nmax_retries = 1\n",
            s.api_url, s.site_url, s.email, s.token
        ));
    }
    let text = format!(
        "[store]\npath = \"assetark.db\"\n[control]\nsocket = \"ctl.sock\"\n\
         tcp = \"127.0.0.1:0\"\ntoken_env = \"ASSETARK_CONFORMANCE_TOKEN\"\n\
         request_timeout_secs = 20\n{sites}\
         [[schedules]]\nsite = \"s1\"\nschema = \"ITSM\"\ncron = \"0 0 2 * * *\"\nkeep_last = 5\n"
    );
    let path = dir.path().join("assetark.toml");
    let sources = Sources {
        env: &|var| (var == "ASSETARK_CONFORMANCE_TOKEN").then(|| TOKEN.to_owned()),
        read: &|p| std::fs::read_to_string(p),
    };
    let config = match Config::parse(&text, &path, &sources) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("api-conformance: config: {e}");
            return ExitCode::from(2);
        }
    };
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let options = ServeOptions {
        clock: system(),
        wall_clock_trigger: true,
        ready: Some(tx),
    };
    let daemon = tokio::spawn(serve_with(config, stop.clone(), options));
    let Ok(ready) = rx.await else {
        eprintln!(
            "api-conformance: the daemon did not start: {:?}",
            daemon.await
        );
        return ExitCode::from(2);
    };
    let Some(tcp) = ready.tcp else {
        eprintln!("api-conformance: the daemon has no TCP listener");
        return ExitCode::from(2);
    };

    // Data for ids 1: a synced schema and a complete backup.
    let client = ControlClient::new(ready.socket.clone());
    let prepared = async {
        client.post_empty("/v1/sites/s1/schemas/sync").await?;
        let started = client
            .post(
                "/v1/backups",
                &serde_json::json!({"site": "s1", "schema": "ITSM"}),
            )
            .await?;
        let job = started.body["job_id"].as_i64().unwrap_or(1);
        client
            .stream(&format!("/v1/jobs/{job}/events"), |_| true)
            .await?;
        Ok::<_, assetark::api::client::ClientError>(())
    };
    if let Err(e) = prepared.await {
        eprintln!("api-conformance: preparing data failed: {e}");
        return ExitCode::from(2);
    }

    let url = format!("http://{tcp}/v1/openapi.json");
    eprintln!("api-conformance: schemathesis against {url}");
    let status = tokio::process::Command::new(&schemathesis)
        .args(["run", &url])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--header",
            &format!("Authorization: Bearer {TOKEN}"),
            "--exclude-path",
            "/v1/sites",
            "--exclude-path",
            "/v1/backups/{id}/export",
            "--exclude-path-regex",
            "/events$",
            "--request-timeout",
            "30",
            "--seed",
            "1",
            "--max-examples",
            "25",
            "--workers",
            "1",
        ])
        .args(&extra)
        .status()
        .await;
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(30), daemon).await;
    sim.shutdown().await;
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("api-conformance: schemathesis exited with {s}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("api-conformance: cannot run {schemathesis}: {e}");
            ExitCode::from(2)
        }
    }
}
