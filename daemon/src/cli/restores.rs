//! The restore commands: `restore start` (with `--dry-run` and `--wait`) and `restores list |
//! show | stop | log`, plus `sites add | remove`, which prepare restore targets.
//!
//! `--wait` polls `GET /v1/restores/{id}` (the row plus the live progress) and shows each
//! stage's `done/total`; `restores log --follow` reads the server-sent events of
//! `/v1/restores/{id}/events` as they arrive and ends with the restore.

use std::io::{BufRead, Write};

use serde_json::{Value, json};

use super::args::{AddSiteArgs, RestoreArgs, RestoresCmd};
use super::output::{self, print_json};
use super::util::{Failure, absolute, confirm, emit, segment};
use super::wait::{Display, POLL_INTERVAL};
use crate::api::client::ControlClient;
use crate::restore::Stage;

/// `sites add`.
pub(super) async fn add_site(
    client: &ControlClient,
    args: &AddSiteArgs,
    json: bool,
) -> Result<(), Failure> {
    let mut body = json!({
        "name": args.name,
        "api_url": args.api_url,
        "site_url": args.site_url,
        "email": args.email,
    });
    if let Some(var) = &args.token_env {
        body["token_env"] = json!(var);
    }
    if let Some(path) = &args.token_file {
        // The daemon reads the file, from its own working directory.
        body["token_file"] = json!(absolute(path)?);
    }
    if let Some(token) = &args.token {
        let token = if token == "-" {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Failure::error(format!("cannot read the token from stdin: {e}")))?;
            line.trim().to_owned()
        } else {
            token.clone()
        };
        body["token"] = json!(token);
    }
    let added = client.post("/v1/sites", Some(&body)).await?.body;
    emit(json, &added, || {
        format!(
            "site {} added (connection tested; token from {})",
            args.name,
            added["token_source"].as_str().unwrap_or("?")
        )
    })
}

/// `sites remove`.
pub(super) async fn remove_site(
    client: &ControlClient,
    name: &str,
    yes: bool,
    json: bool,
) -> Result<(), Failure> {
    if !yes {
        confirm(
            &format!("refusing to remove site {name} without --yes: stdin is not a terminal"),
            &format!("Remove site {name}? [y/N] "),
            &format!("site {name} not removed"),
        )?;
    }
    let body = client
        .delete(&format!("/v1/sites/{}", segment(name)))
        .await?
        .body;
    emit(json, &body, || format!("site {name} removed"))
}

/// `restore start`.
pub(super) async fn start(
    client: &ControlClient,
    args: &RestoreArgs,
    json: bool,
) -> Result<(), Failure> {
    let mut body = json!({
        "backup_id": args.backup_id,
        "to": "new-schema",
        "name": args.name,
        "key": args.key,
        "dry_run": args.dry_run,
    });
    if let Some(site) = &args.site {
        body["site"] = json!(site);
    }
    let reply = client.post("/v1/restores", Some(&body)).await?.body;
    if args.dry_run {
        return emit(json, &reply["plan"], || {
            output::restore_plan(&reply["plan"])
        });
    }
    let id = reply["restore_id"]
        .as_i64()
        .ok_or_else(|| Failure::error("the daemon did not return a restore id"))?;
    if !args.wait {
        return emit(json, &reply, || {
            format!(
                "restore {id} of backup {} queued as job {} (pending)",
                args.backup_id, reply["job_id"]
            )
        });
    }
    let job_id = reply["job_id"].as_i64();
    let last = wait_for_restore(client, id, job_id).await?;
    if json {
        print_json(&last);
    } else {
        println!("{}", output::restore_result(&last));
    }
    match last["status"].as_str() {
        Some("completed") => Ok(()),
        _ => Err(Failure::error(format!(
            "restore {id} {}: {}",
            last["status"].as_str().unwrap_or("ended"),
            last["result"].as_str().unwrap_or("no result")
        ))),
    }
}

/// Polls a restore until it ends, showing the stage in flight. A restore whose row says it
/// ended while its job still runs is not over: the job may run it again after a temporary
/// failure, so the wait also needs the job to have ended.
async fn wait_for_restore(
    client: &ControlClient,
    id: i64,
    job_id: Option<i64>,
) -> Result<Value, Failure> {
    let mut display = Display::new();
    loop {
        let r = client.get(&format!("/v1/restores/{id}")).await?.body;
        if let Some((name, done, total)) = current_progress(&r) {
            display.update(&name, done, total);
        }
        if matches!(
            r["status"].as_str(),
            Some("completed" | "error" | "stopped")
        ) {
            let job_over = match job_id {
                Some(job) => {
                    let j = client.get(&format!("/v1/jobs/{job}")).await?.body;
                    matches!(j["status"].as_str(), Some("done" | "failed"))
                }
                None => true,
            };
            if job_over {
                display.finish();
                // The row as the job left it.
                return Ok(client.get(&format!("/v1/restores/{id}")).await?.body);
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The stage in flight with its count: the live progress, else the row's counts.
fn current_progress(r: &Value) -> Option<(String, u64, u64)> {
    let p = &r["progress"];
    if let (Some(name), Some(done)) = (p["stage_name"].as_str(), p["done"].as_u64()) {
        return Some((name.to_owned(), done, p["total"].as_u64().unwrap_or(0)));
    }
    let stage = r["stage"].as_str()?;
    let c = r["counts"]
        .as_array()?
        .iter()
        .find(|c| c["stage"] == stage)?;
    Some((
        c["name"].as_str()?.to_owned(),
        c["done"].as_u64().unwrap_or(0),
        c["total"].as_u64().unwrap_or(0),
    ))
}

/// `restores ...`.
pub(super) async fn restores(
    client: &ControlClient,
    cmd: &RestoresCmd,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        RestoresCmd::List { site } => {
            let path = match site {
                Some(s) => format!(
                    "/v1/restores?{}",
                    serde_urlencoded::to_string([("site", s)]).unwrap_or_default()
                ),
                None => "/v1/restores".to_owned(),
            };
            let body = client.get(&path).await?.body;
            emit(json, &body, || output::restores(&body))
        }
        RestoresCmd::Show { id } => {
            let body = client.get(&format!("/v1/restores/{id}")).await?.body;
            emit(json, &body, || output::restore(&body))
        }
        RestoresCmd::Stop { id, yes } => {
            if !yes {
                let r = client.get(&format!("/v1/restores/{id}")).await?.body;
                confirm(
                    &format!(
                        "refusing to stop restore {id} without --yes: stdin is not a terminal"
                    ),
                    &format!(
                        "Stop restore {id} to {} on site {} ({})? [y/N] ",
                        r["destination"]["schema_key"].as_str().unwrap_or("?"),
                        r["destination"]["site"].as_str().unwrap_or("?"),
                        r["status_text"].as_str().unwrap_or("?"),
                    ),
                    &format!("restore {id} not stopped"),
                )?;
            }
            let body = client
                .post(&format!("/v1/restores/{id}/stop"), None)
                .await?
                .body;
            emit(json, &body, || match body["status"].as_str() {
                Some("stopping") => format!(
                    "restore {id} stopping: the stage in flight ends cleanly \
                     (see `assetark restores show {id}`)"
                ),
                _ => format!("restore {id} stopped"),
            })
        }
        RestoresCmd::Log { id, full: true, .. } => full_log(client, *id).await,
        RestoresCmd::Log { id, follow, .. } => events(client, *id, *follow, json).await,
    }
}

/// `restores log --full`: the daemon's JSON array, copied to stdout as it arrives.
async fn full_log(client: &ControlClient, id: i64) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let mut failed = None;
    client
        .stream(&format!("/v1/restores/{id}/log"), |chunk| {
            match out.write_all(chunk) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })
        .await?;
    match failed {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::error(format!("cannot write the log: {e}")))
        }
        _ => Ok(()),
    }
}

/// `restores log` and `restores log --follow`: server-sent events, one line each.
async fn events(client: &ControlClient, id: i64, follow: bool, json: bool) -> Result<(), Failure> {
    let path = format!("/v1/restores/{id}/events?follow={follow}");
    let mut parser = SseParser::default();
    let mut last_kind = String::new();
    client
        .stream(&path, |chunk| {
            for (kind, data) in parser.feed(chunk) {
                let v: Value = serde_json::from_str(&data).unwrap_or(Value::String(data));
                if json {
                    println!("{v}");
                } else {
                    println!("{}", event_line(&kind, &v));
                }
                last_kind = kind;
            }
            true
        })
        .await?;
    if follow && last_kind == "shutdown" {
        return Err(Failure::error(format!(
            "the daemon shut down before restore {id} ended; it resumes when the daemon starts again"
        )));
    }
    Ok(())
}

/// A stage key as its name ("Restoring object entries").
fn stage_name(v: &Value) -> String {
    serde_json::from_value::<Stage>(v.clone())
        .map(|s| s.to_string())
        .unwrap_or_else(|_| v.as_str().unwrap_or("?").to_owned())
}

/// One event as a line of text.
fn event_line(kind: &str, v: &Value) -> String {
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    match kind {
        "stage_started" => format!("{} started ({} items)", stage_name(&v["stage"]), n("total")),
        "progress" => format!("{} {}/{}", stage_name(&v["stage"]), n("done"), n("total")),
        "stage_finished" => format!(
            "{} finished {}/{}",
            stage_name(&v["stage"]),
            n("done"),
            n("total")
        ),
        "object" if v["result"] == true => format!("{} OK", v["key"].as_str().unwrap_or("?")),
        "object" => format!(
            "{} FAILED {}",
            v["key"].as_str().unwrap_or("?"),
            v["message"]
        ),
        "log" => format!(
            "[{}] {}",
            v["level"].as_str().unwrap_or("info"),
            v["message"].as_str().unwrap_or("")
        ),
        "end" => format!(
            "restore ended: {} ({})",
            v["status"].as_str().unwrap_or("?"),
            v["result"].as_str().unwrap_or("-")
        ),
        "shutdown" => "the daemon is shutting down".to_owned(),
        other => format!("{other} {v}"),
    }
}

/// Splits a server-sent event stream into `(event, data)` pairs, across chunk boundaries.
#[derive(Default)]
struct SseParser {
    buf: Vec<u8>,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    fn feed(&mut self, chunk: &[u8]) -> Vec<(String, String)> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    let kind = std::mem::take(&mut self.event);
                    let kind = if kind.is_empty() {
                        "message".to_owned()
                    } else {
                        kind
                    };
                    out.push((kind, self.data.join("\n")));
                    self.data.clear();
                }
                self.event.clear();
            } else if let Some(v) = line.strip_prefix("event:") {
                self.event = v.trim_start().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                self.data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
            }
            // `id:`, `retry:` and `:` comments (keep-alives, skip notes) need no action.
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_is_parsed_across_chunks_and_rendered_as_lines() {
        let mut p = SseParser::default();
        let text = "event: progress\nid: 3\ndata: {\"event\":\"progress\",\"stage\":\"object_entries\",\"done\":120,\"total\":400}\n\n: keep-alive\n\nevent: end\ndata: {\"event\":\"end\",\"status\":\"completed\",\"result\":\"completed\"}\n\n";
        let (a, b) = text.as_bytes().split_at(30);
        let mut got = p.feed(a);
        got.extend(p.feed(b));
        assert_eq!(got.len(), 2);
        let v: Value = serde_json::from_str(&got[0].1).unwrap();
        assert_eq!(
            event_line(&got[0].0, &v),
            "Restoring object entries 120/400"
        );
        assert_eq!(got[1].0, "end");
        let obj = json!({"key": "ITSM-1", "result": false, "message": {"errors": {}}});
        assert!(event_line("object", &obj).starts_with("ITSM-1 FAILED"));
    }
}
