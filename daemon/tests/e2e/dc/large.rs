//! A large attachment streams through the daemon (issue 8's note: downloads were held in
//! memory up to `max_download_mb`). `d1` holds a 100 MiB file of random bytes; the daemon's
//! JSON cap is 1 MiB and its download cap 128 MiB. The backup stores the file whole (the
//! export's copy has its SHA-256 and size), the daemon's peak memory rises by far less than
//! the file's size over that of a backup without it, and a second backup of the unchanged
//! site adds no byte (the blob is deduplicated by its hash as before). Verifying and exporting
//! that backup stream the blob back out: the peak rises by far less than the file's size again.

use assetark::model::sha256_hex;
use assetark_tests::kit::dc_all_ids;
use serde_json::Value;

use super::support::{Env, dc_schema};

/// The file: over `max_response_mb`, within `max_download_mb`.
const SIZE: usize = 100 << 20;
/// The daemon's caps, in MiB.
const LIMITS: &str = "max_response_mb = 1\nmax_download_mb = 128\n";
/// The simulator takes uploads this large.
const SIM: &str = "max_body_bytes = 134217728";

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

/// `SIZE` bytes no compressor shrinks (xorshift64).
fn random_bytes() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(SIZE);
    while out.len() < SIZE {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(SIZE);
    out
}

/// Runs a backup of ITSM; returns `backups show` of it.
async fn backup(env: &Env) -> Value {
    let job = env.backup("d1", "ITSM").await;
    let id = job["result"]["backup"]["id"].as_i64().expect("backup id");
    let shown = env.cli_json(&["backups", "show", &id.to_string()]).await;
    assert_eq!(shown["attachments"]["status"], "done", "{shown}");
    shown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_attachment_is_stored_whole_without_being_held_in_memory() {
    let mut env = Env::with_d1_limits(20, SIM, LIMITS).await;
    env.start().await;
    let pid = env.pid().expect("pid");
    // The daemon's own peak (a debug build holds tens of MiB) over two backups of the site
    // without the file: what backups cost whatever their attachments.
    backup(&env).await;
    backup(&env).await;
    let base = peak_rss(pid);

    let d1 = env.dc("d1");
    let itsm = dc_schema(&d1, "ITSM").await;
    let ids = dc_all_ids(&d1, &format!("objectSchemaId = {}", itsm["id"]), 50).await;
    let object = ids[0];
    let bytes = random_bytes();
    let sha = sha256_hex(&bytes);
    let up = d1
        .upload(
            object,
            &[("big.bin", "application/octet-stream", &bytes)],
            None,
            true,
        )
        .await;
    assert!(up.status < 300, "upload: {} {}", up.status, up.body);
    drop(bytes);

    // One copy of the file held anywhere would raise the peak by its size (the old code
    // held several: the body, its base64, the JSON, the compressed blob); each backup that
    // reads it raises the peak by less than half of it (a debug daemon's peak also creeps a
    // few MiB a backup without it).
    let first = backup(&env).await;
    let peak = peak_rss(pid);
    eprintln!(
        "daemon peak RSS: {base} bytes before, {peak} bytes after a backup with a {SIZE}-byte attachment"
    );
    assert!(
        peak < base + SIZE as u64 / 2,
        "peak resident memory {peak} bytes (before: {base}): the {SIZE}-byte attachment was held"
    );
    // The compressed base64 of random bytes is about their size: the file is in the store.
    let added = first["bytes_added"].as_u64().expect("bytes_added");
    assert!(added > SIZE as u64, "{first}");

    // Unchanged: the same blobs, nothing added, the spooled one included.
    let second = backup(&env).await;
    assert_eq!(second["bytes_added"], 0, "{second}");
    let again = peak_rss(pid);
    eprintln!("daemon peak RSS after the second backup with it: {again} bytes");
    assert!(
        again < peak + SIZE as u64 / 2,
        "second backup: {again} bytes (before: {peak})"
    );

    // Reading it back streams too: verify (decompress + hash) and export (decompress, base64
    // decode, write the file) raise the peak by less than half the file (the old code held
    // its compressed blob, its JSON and its bytes at once: about 2.5 times its size).
    let id = second["id"].as_i64().expect("id").to_string();
    let verified = env.cli_json(&["backups", "verify", &id]).await;
    assert_eq!(
        verified["bad_blobs"],
        Value::Array(Vec::new()),
        "{verified}"
    );
    let out = tempfile::tempdir().expect("tempdir");
    env.cli_json(&[
        "backups",
        "export",
        &id,
        "--out",
        out.path().to_str().expect("utf-8"),
    ])
    .await;
    let read = peak_rss(pid);
    eprintln!("daemon peak RSS after verify and export: {read} bytes (before: {again})");
    assert!(
        read < again + SIZE as u64 / 2,
        "verify and export: peak resident memory {read} bytes (before: {again})"
    );
    let stored = std::fs::read(out.path().join("attachments").join(&sha)).expect("the file");
    assert_eq!(stored.len(), SIZE);
    assert_eq!(sha256_hex(&stored), sha);
    let listed = std::fs::read_to_string(out.path().join("attachments.jsonl")).expect("jsonl");
    let line: Value = listed
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .find(|l| l["objectId"].as_str() == Some(object.to_string().as_str()))
        .expect("the object's line");
    let big: Vec<(&Value, &Value)> = line["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .filter(|a| a["attachment"]["filename"] == "big.bin")
        .map(|a| (&a["sha256"], &a["size"]))
        .collect();
    assert_eq!(big, [(&Value::from(sha.clone()), &Value::from(SIZE))]);
    env.stop().await;
}
