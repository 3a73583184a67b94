//! Issue 8, "every fault ends clean": the daemon as a process (simulator in-process, real
//! SQLite file, the CLI as a process), attacked the way the hostile probe did. Each test names
//! the item it covers and fails on the code before the fix.
//!
//! - `a_backup_in_use_cannot_be_deleted` (item 1a): a running restore and a queued
//!   verification are named in the 409; once they ended the delete works;
//! - `sites_remove_names_restores_and_force_stops_them` (item 5);
//! - `a_corrupt_blob_answers_backup_corrupt` (item 9): a dry run answers 409 naming every
//!   bad blob, a restore ends `error` naming the blob;
//! - `oversized_and_hostile_requests_end_clean` (items 15 and 11): JSON 414 and 413, also
//!   for every request of one kept-alive connection, which goes on serving; a newline, a NUL or a megabyte in a request value neither forges nor floods the log;
//! - `files_are_private_whatever_the_umask` (item 12);
//! - `api_sites_take_inline_tokens_only` (item 16);
//! - `a_lost_key_file_stops_the_start_naming_sealed_sites` (item 13);
//! - `a_stopped_restore_resumes_without_duplicates` (item 7): `restores resume --wait`
//!   completes it with every object once; a completed restore is refused (409);
//! - `a_store_deleted_under_the_daemon_refuses_work` (item 3): 503 `store_replaced`, and
//!   no backup is declared complete into the deleted file;
//! - `an_export_is_streamed_and_written_only_where_and_when_it_should` (item 10): the CLI
//!   writes the stream; a non-empty directory needs `--force`, which replaces it whole (a
//!   planted link is never followed); a link as target is refused; a failed export leaves
//!   nothing.
//! - `responses` (item 17): a site's oversized answer ends the job, not the daemon;
//! - `identities` (item 18): a restored schema over three pages with an identity claimed
//!   twice across pages: both objects kept, every identity once;
//! - `kills`: the fault suite's backup half, a SIGKILL in every main-pass stage.
//!
//! No sleeps: barriers hold the requests a test needs held, and every wait polls a condition.

mod identities;
mod kills;
mod responses;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assetark::restore::Stage;
use assetark_tests::kit;
use hyper::Method;
use serde_json::{Value, json};

use crate::restore_daemon::support::{Env, ended, wait_for};

/// Objects in the simulated CMDB of `s1`.
const OBJECTS: u32 = 60;

/// Holds the first request of a restore's schema stage on `s2`: the restore is then
/// `in_progress` and stays so until the barrier lets go.
fn hold_schema_create(env: &Env) -> assets_sim::server::Barrier {
    env.sim
        .barrier(
            kit::restore_stage_barrier(Stage::Schema, "s2")
                .expect("the schema stage sends a request")
                .nth(1),
        )
        .expect("barrier")
}

async fn start_restore(env: &Env, backup: i64, key: &str) -> i64 {
    let backup = backup.to_string();
    let started = env
        .cli_json(&[
            "restore",
            "start",
            &backup,
            "--to",
            "new-schema",
            "--name",
            key,
            "--key",
            key,
            "--site",
            "s2",
        ])
        .await;
    started["restore_id"].as_i64().expect("restore id")
}

/// Status and JSON body of a request sent as is.
async fn raw(env: &Env, method: Method, path: &str, body: Option<String>) -> (u16, Value) {
    let (status, _, bytes) = env
        .client()
        .send_raw(method, path, body)
        .await
        .expect("request");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {bytes:?}"));
    (status, body)
}

/// Status and JSON body of bytes written as they are on a fresh connection to the control
/// socket (the HTTP client refuses to send a 100 KB URL at all).
async fn raw_bytes(env: &Env, request: &[u8]) -> (u16, Value) {
    let request = request.to_vec();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let conn = tokio::net::UnixStream::connect(env.socket())
        .await
        .expect("connect");
    let (mut read, mut write) = conn.into_split();
    // The daemon may answer and close before it has read everything: the answer counts, a
    // broken pipe on the rest does not.
    let send = async move {
        let _ = write.write_all(&request).await;
    };
    let mut answer = Vec::new();
    let (_, got) = tokio::join!(send, read.read_to_end(&mut answer));
    // Closed with our bytes unread, the socket reports a reset once the answer is read.
    if let Err(e) = got {
        assert!(!answer.is_empty(), "no answer: {e}");
    }
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head}"));
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{head}: {e}: {body:?}"));
    (status, body)
}

/// One kept-alive connection to the control socket: requests go out one after the other,
/// each answer is read whole (by its `Content-Length`) before the next request is written.
struct KeepAlive {
    read: tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>,
    write: tokio::net::unix::OwnedWriteHalf,
}

impl KeepAlive {
    async fn connect(env: &Env) -> KeepAlive {
        let conn = tokio::net::UnixStream::connect(env.socket())
            .await
            .expect("connect");
        let (read, write) = conn.into_split();
        KeepAlive {
            read: tokio::io::BufReader::new(read),
            write,
        }
    }

    /// Sends `request` (written while the answer is read: the daemon may answer first) and
    /// returns the answer's status and JSON body.
    async fn send(&mut self, request: &[u8]) -> (u16, Value) {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let (read, write) = (&mut self.read, &mut self.write);
        let send = async move {
            // The daemon may answer and close before it read everything: the answer counts,
            // a broken pipe on the rest does not (a closed connection fails the next request).
            let _ = write.write_all(request).await;
        };
        let answer = async move {
            let mut head = String::new();
            loop {
                let mut line = String::new();
                let n = read.read_line(&mut line).await.expect("answer");
                assert!(n > 0, "the connection closed after: {head:?}");
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let status: u16 = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no status: {head}"));
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or_else(|| panic!("no content-length: {head}"));
            let mut body = vec![0; length];
            read.read_exact(&mut body).await.expect("body");
            let body: Value =
                serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{head}: {e}: {body:?}"));
            (status, body)
        };
        tokio::join!(send, answer).1
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_in_use_cannot_be_deleted() {
    // One job at a time: while the restore runs, the verification waits in the queue.
    let mut env = Env::with_control(OBJECTS, "[jobs]\nmax_concurrent = 1").await;
    env.start().await;
    env.add_s2().await;
    let backup = env.backup("ITSM").await;
    let held = hold_schema_create(&env);
    let restore = start_restore(&env, backup, "INUSE").await;
    held.wait_held(1).await;
    let verify = env
        .client()
        .post_empty(&format!("/v1/backups/{backup}/verify"))
        .await
        .expect("verify queued");
    let verify_job = verify.body["job_id"].as_i64().expect("job id");

    let (status, body) = raw(&env, Method::DELETE, &format!("/v1/backups/{backup}"), None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "backup_in_use", "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("restore {restore}"))
            && message.contains(&format!("verify job {verify_job}")),
        "{message}"
    );
    env.cli(&["backups", "delete", &backup.to_string(), "--yes"])
        .await
        .fails(1, &format!("restore {restore}"));

    held.release_all();
    drop(held);
    let r = env.wait_restore(restore, "the restore ends", ended).await;
    assert_eq!(r["status"], "completed", "{r}");
    wait_for("the verification ends", || async {
        let job = env
            .client()
            .get(&format!("/v1/jobs/{verify_job}"))
            .await
            .expect("job");
        (job.body["status"] == "done").then_some(())
    })
    .await;
    env.cli(&["backups", "delete", &backup.to_string(), "--yes"])
        .await
        .ok(&["backups delete after its users ended"]);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sites_remove_names_restores_and_force_stops_them() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    let backup = env.backup("ITSM").await;
    let held = hold_schema_create(&env);
    let running = start_restore(&env, backup, "RUNS").await;
    held.wait_held(1).await;
    // Queued behind the first: restores of one site run one after another.
    let pending = start_restore(&env, backup, "WAITS").await;
    assert_eq!(env.show(pending).await["status"], "pending");

    let refused = env.cli(&["sites", "remove", "s2", "--yes"]).await;
    refused.fails(1, "is the target of");
    for want in [
        format!("restore {running} (in_progress)"),
        format!("restore {pending} (pending)"),
    ] {
        assert!(refused.stderr.contains(&want), "{want}: {refused:?}");
    }
    assert_eq!(env.show(running).await["status"], "in_progress");

    // --force stops both (the pending one at once, the running one once its held request is
    // answered), then removes the site.
    let remove = env.cli(&["sites", "remove", "s2", "--yes", "--force"]);
    let release = async {
        env.wait_restore(pending, "the pending restore is stopped", |r| {
            r["status"] == "stopped"
        })
        .await;
        held.release_all();
    };
    let (out, ()) = tokio::join!(remove, release);
    out.ok(&["sites remove --force"]);
    assert!(
        out.stdout
            .contains(&format!("restores stopped first: {running}, {pending}")),
        "{out:?}"
    );
    drop(held);
    for id in [running, pending] {
        let r = env.show(id).await;
        assert_eq!(r["status"], "stopped", "{r}");
    }
    let sites = env.cli_json(&["sites", "list"]).await;
    assert!(!sites.to_string().contains("\"s2\""), "{sites}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_blob_answers_backup_corrupt() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    let backup = env.backup("ITSM").await;
    // Two blobs go bad behind the daemon's back: the schema's and one object's.
    let db = rusqlite::Connection::open(env.db()).expect("store");
    let mut bad = Vec::new();
    for kind in ["schema", "object"] {
        let hash: String = db
            .query_row(
                "SELECT hash FROM manifest WHERE backup_id = ?1 AND kind = ?2 LIMIT 1",
                rusqlite::params![backup, kind],
                |r| r.get(0),
            )
            .expect("a blob of that kind");
        db.execute(
            "UPDATE blobs SET data = x'00' WHERE hash = ?1",
            rusqlite::params![hash],
        )
        .expect("corrupt");
        bad.push(hash);
    }
    drop(db);

    let request = json!({
        "backup_id": backup, "to": "new-schema", "name": "Corrupt", "key": "CORRUPT",
        "site": "s2", "dry_run": true,
    });
    let (status, body) = raw(
        &env,
        Method::POST,
        "/v1/restores",
        Some(request.to_string()),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "backup_corrupt", "{body}");
    for hash in &bad {
        assert!(body.to_string().contains(hash.as_str()), "{hash}: {body}");
    }

    let id = start_restore(&env, backup, "CORRUPT").await;
    let r = env.wait_restore(id, "the restore ends", ended).await;
    assert_eq!(r["status"], "error", "{r}");
    assert!(
        r.to_string().contains(bad[0].as_str()),
        "names the blob: {r}"
    );
    assert!(
        env.site("s2").schema_ids().await.is_empty(),
        "nothing was created"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_hostile_requests_end_clean() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;

    // A 100 KB URL: 414 in the API's error format.
    let long = format!(
        "GET /v1/backups?site={} HTTP/1.1\r\nhost: assetark\r\n\r\n",
        "a".repeat(100_000)
    );
    let (status, body) = raw_bytes(&env, long.as_bytes()).await;
    assert_eq!(status, 414, "{body}");
    assert_eq!(body["error"]["code"], "uri_too_long", "{body}");
    // A 3 MB body: 413, not a syntax error.
    let big = format!("{{\"site\": \"{}\"}}", "b".repeat(3 << 20));
    let request = format!(
        "POST /v1/backups HTTP/1.1\r\nhost: assetark\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{big}",
        big.len()
    );
    let (status, body) = raw_bytes(&env, request.as_bytes()).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");

    // On one kept-alive connection, every oversized request gets its JSON answer and the
    // requests between them are served.
    let mut conn = KeepAlive::connect(&env).await;
    let health = b"GET /healthz HTTP/1.1\r\nhost: assetark\r\n\r\n";
    let long = format!(
        "GET /v1/backups?site={} HTTP/1.1\r\nhost: assetark\r\n\r\n",
        "a".repeat(100_000)
    );
    let big_post = format!(
        "POST /v1/backups HTTP/1.1\r\nhost: assetark\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{big}",
        big.len()
    );
    for round in 0..3 {
        let (status, body) = conn.send(health).await;
        assert_eq!(status, 200, "round {round}: {body}");
        let (status, body) = conn.send(long.as_bytes()).await;
        assert_eq!(status, 414, "round {round}: {body}");
        assert_eq!(
            body["error"]["code"], "uri_too_long",
            "round {round}: {body}"
        );
    }
    // A body over the limit is answered in JSON too; hyper then closes the connection rather
    // than read megabytes nobody wants, so it comes last.
    let (status, body) = conn.send(big_post.as_bytes()).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    drop(conn);

    // Values that could forge or flood the log: a newline, a NUL, a megabyte.
    let before = std::fs::metadata(env.log()).expect("log").len();
    let hostile = json!({
        "site": "s9\n2026-01-01T00:00:00.000000Z  INFO FORGED: backup deleted",
        "schema": "A\u{0}B",
        "description": "d".repeat(1 << 20),
    });
    let (status, body) = raw(&env, Method::POST, "/v1/backups", Some(hostile.to_string())).await;
    assert_eq!(status, 422, "{body}");
    assert!(env.client().get("/healthz").await.is_ok(), "still serving");
    env.stop().await;
    let log = std::fs::read(env.log()).expect("log");
    let added = &log[usize::try_from(before).expect("size")..];
    assert!(!added.contains(&0), "a raw NUL reached the log");
    let text = String::from_utf8_lossy(added);
    assert!(
        !text
            .lines()
            .any(|l| l.contains("FORGED") && !l.contains("s9")),
        "a forged line: {text:.3000}"
    );
    assert!(
        added.len() < 64 * 1024,
        "{} bytes logged for one request",
        added.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_private_whatever_the_umask() {
    let mut env = Env::new(OBJECTS).await;
    env.umask(0o000);
    env.start().await;
    let backup = env.backup("ITSM").await;
    let db = env.db();
    assert_eq!(mode(db.parent().expect("store dir")), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        assert_eq!(mode(Path::new(&path)), 0o600, "{path}");
    }
    let out = env.dir.path().join("exports/one");
    env.cli(&[
        "backups",
        "export",
        &backup.to_string(),
        "--out",
        out.to_str().expect("utf-8"),
    ])
    .await
    .ok(&["backups export"]);
    let mut seen = 0;
    let mut dirs = vec![out.clone()];
    while let Some(dir) = dirs.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).expect("export dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 10, "{seen} files exported");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_sites_take_inline_tokens_only() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    let s2 = env.sim.site("s2").expect("s2").clone();
    let secret = env.dir.path().join("assetark.toml");
    let secret = secret.to_str().expect("utf-8");
    for source in [["--token-env", "HOME"], ["--token-file", secret]] {
        let out = env
            .cli(&[
                "sites",
                "add",
                "s2",
                "--api-url",
                &s2.api_url,
                "--site-url",
                &s2.site_url,
                "--email",
                &s2.email,
                source[0],
                source[1],
            ])
            .await;
        out.fails(1, "allow_token_sources");
    }
    env.add_s2().await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_key_file_stops_the_start_naming_sealed_sites() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    env.stop().await;
    let key = env.db().with_file_name("assetark.key");
    std::fs::remove_file(&key).expect("key file");
    let code = env.start_fails().await;
    assert_ne!(code, 0);
    let log = std::fs::read_to_string(env.log()).expect("log");
    assert!(
        log.contains("assetark.key is missing") && log.contains("site(s) s2 are sealed"),
        "{log}"
    );
    assert!(!key.exists(), "no new key was made");

    // The way out the message gives: a new key, then the site that cannot be opened goes.
    std::fs::write(&key, [7u8; 32]).expect("new key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    env.start().await;
    let sites = env.cli_json(&["sites", "list"]).await;
    assert!(!sites.to_string().contains("\"s2\""), "{sites}");
    env.cli(&["sites", "remove", "s2", "--yes"])
        .await
        .ok(&["sites remove of a site sealed with the lost key"]);
    env.add_s2().await;
    env.cli(&["sites", "test", "s2"]).await.ok(&["sites test"]);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_restore_resumes_without_duplicates() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    let backup = env.backup("ITSM").await;
    let backup_arg = backup.to_string();
    let plan: assetark::restore::RestorePlan = serde_json::from_value(
        env.cli_json(&[
            "restore",
            "start",
            &backup_arg,
            "--to",
            "new-schema",
            "--name",
            "RESUME",
            "--key",
            "RESUME",
            "--site",
            "s2",
            "--dry-run",
        ])
        .await,
    )
    .expect("a plan");
    let half = (plan.requests_of(Stage::ObjectEntries) / 2).max(1);
    let held = env
        .sim
        .barrier(
            kit::restore_stage_barrier(Stage::ObjectEntries, "s2")
                .expect("objects are created")
                .nth(half),
        )
        .expect("barrier");
    let id = start_restore(&env, backup, "RESUME").await;
    held.wait_held(1).await;
    env.cli(&["restores", "stop", &id.to_string(), "--yes"])
        .await
        .ok(&["restores stop"]);
    held.release_all();
    drop(held);
    let r = env.wait_restore(id, "the restore stops", ended).await;
    assert_eq!(r["status"], "stopped", "{r}");

    let resumed = env
        .cli_json(&["restores", "resume", &id.to_string(), "--wait"])
        .await;
    assert_eq!(resumed["status"], "completed", "{resumed}");
    crate::restore_daemon::support::assert_each_object_once(&env, "ITSM", "s2", "RESUME").await;
    env.cli(&["restores", "resume", &id.to_string()])
        .await
        .fails(1, "nothing to resume");
    let (status, body) = raw(
        &env,
        Method::POST,
        &format!("/v1/restores/{id}/resume"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("restore_completed"))
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_deleted_under_the_daemon_refuses_work() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.backup("ITSM").await;
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", env.db().display())).expect("remove");
    }
    env.cli(&[
        "backup", "run", "--site", "s1", "--schema", "ITSM", "--wait",
    ])
    .await
    .fails(1, "was deleted or replaced since the daemon opened it");
    let (status, body) = raw(&env, Method::GET, "/v1/backups", None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "store_replaced", "{body}");
    env.kill().await;
    // After the restart the daemon opens a new, empty store: no backup was reported complete
    // that is not in it.
    env.start().await;
    let list = env.cli_json(&["backups", "list"]).await;
    assert_eq!(list["total"], 0, "{list}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_is_streamed_and_written_only_where_and_when_it_should() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    let backup = env.backup("ITSM").await.to_string();
    let root = env.dir.path().join("exports");
    std::fs::create_dir_all(&root).expect("exports dir");
    let out = root.join("one");
    let out_arg = out.to_str().expect("utf-8").to_owned();
    let export = |extra: &'static [&'static str]| {
        let mut args = vec![
            "backups",
            "export",
            backup.as_str(),
            "--out",
            out_arg.as_str(),
        ];
        args.extend_from_slice(extra);
        let env = &env;
        async move { env.cli(&args).await }
    };
    export(&[]).await.ok(&["export into a new directory"]);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    assert!(manifest.contains("\"format_version\": 1"), "{manifest}");
    let objects = std::fs::read_to_string(out.join("objects.jsonl")).expect("objects");
    assert!(objects.lines().count() > 0);

    // A non-empty directory is refused; --force replaces it whole: a stale file goes, and a
    // link planted inside it is never followed.
    let victim = env.dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").expect("victim");
    std::fs::write(out.join("stale.txt"), "old").expect("stale");
    std::fs::remove_file(out.join("schema.json")).expect("remove");
    std::os::unix::fs::symlink(&victim, out.join("schema.json")).expect("symlink");
    export(&[]).await.fails(1, "is not empty; use --force");
    export(&["--force"]).await.ok(&["export --force"]);
    assert!(!out.join("stale.txt").exists(), "a stale file stayed");
    assert!(
        !std::fs::symlink_metadata(out.join("schema.json"))
            .expect("schema.json")
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "keep me");

    // A link as the target itself is refused.
    let link = root.join("link");
    std::os::unix::fs::symlink(env.dir.path().join("elsewhere"), &link).expect("symlink");
    env.cli(&[
        "backups",
        "export",
        &backup,
        "--out",
        link.to_str().expect("utf-8"),
    ])
    .await
    .fails(1, "symbolic link");
    assert!(!env.dir.path().join("elsewhere").exists());

    // A failed export (a corrupt blob) leaves nothing: no directory, no temporary one.
    let db = rusqlite::Connection::open(env.db()).expect("store");
    db.execute(
        "UPDATE blobs SET data = x'00' WHERE hash = \
         (SELECT hash FROM manifest WHERE backup_id = ?1 AND kind = 'object' LIMIT 1)",
        [backup.parse::<i64>().expect("id")],
    )
    .expect("corrupt");
    drop(db);
    let two = root.join("two");
    env.cli(&[
        "backups",
        "export",
        &backup,
        "--out",
        two.to_str().expect("utf-8"),
    ])
    .await
    .fails(1, "is corrupt");
    let left: Vec<String> = std::fs::read_dir(&root)
        .expect("exports dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let mut left_sorted = left.clone();
    left_sorted.sort();
    assert_eq!(left_sorted, ["link", "one"], "{left:?}");
    env.stop().await;
}
