//! Measurement 6, a Data Center backup (issue 13): a release `assets-sim` child serving one
//! Data Center site whose cmdb dataset holds `--dc-objects` objects (comments on about a
//! third, attachments — small generated files, some shared by several objects — on about a
//! fifth), backed up by `DcClient` (Bearer PAT, rate limits off as Data Center's default)
//! into a fresh SQLite store: objects per second of the objects stage and of the main pass,
//! MiB/s of attachment bytes over the attachments phase's window, and the store's bytes per
//! attachment after deduplication (the zstd-compressed blobs of the distinct files, read from
//! the store file, over the attachments listed).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use assetark::assets::{AssetsApi, DcClient, DcConn, Limits, Secret};
use assetark::backup::{self, BackupRequest, Progress, stage};
use assetark::model::ObjectAttachments;
use assetark::store::{BackupType, kind};
use tokio_util::sync::CancellationToken;

use super::{SCHEMA, open_store, spawn_sim};

/// A Data Center site of the simulator's ready line.
#[derive(Debug, Clone, serde::Deserialize)]
struct DcSite {
    name: String,
    base_url: String,
    token: String,
}

/// A release simulator child with one Data Center site; killed on drop.
struct DcSim {
    child: std::process::Child,
    site: DcSite,
    _dir: tempfile::TempDir,
}

impl Drop for DcSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DcSim {
    fn start(objects: u32) -> Result<DcSim> {
        let (child, ready, dir) = spawn_sim(&format!(
            "admin_api = true\n[rate_limits]\nenabled = false\n[[sites]]\nname = \"dc\"\n\
             flavor = \"dc\"\nemail = \"bench@example.com\"\ntoken = \"bench\"\n\
             [sites.dataset]\nkind = \"cmdb\"\nobjects = {objects}\nseed = 1\n"
        ))?;
        let site = serde_json::from_value(ready["sites"][0].clone()).context("ready site")?;
        Ok(DcSim {
            child,
            site,
            _dir: dir,
        })
    }
}

/// First and last progress instant of each stage.
type Windows = BTreeMap<String, (Instant, Instant)>;

/// Seconds between the first and the last progress of `stage`.
fn window(w: &Windows, stage: &str) -> f64 {
    w.get(stage)
        .map_or(0.0, |(a, b)| (*b - *a).as_secs_f64().max(1e-9))
}

pub(super) async fn dc(objects: u32) -> Result<()> {
    println!(
        "\n[6] Data Center backup, rate limits off (Data Center's default), cmdb dataset of {objects} objects with comments and attachments"
    );
    let sim = DcSim::start(objects)?;
    let client = DcClient::new(DcConn {
        name: sim.site.name.clone(),
        base_url: sim.site.base_url.clone(),
        email: None,
        tokens: vec![Secret::from(sim.site.token.as_str())],
        limits: Limits {
            rate_limited: false,
            ..Limits::default()
        },
        legacy_insight: false,
    })?;
    let dir = tempfile::tempdir()?;
    let store = open_store(dir.path())?;
    let marks: Arc<Mutex<Windows>> = Arc::default();
    let main_end: Arc<Mutex<Option<Instant>>> = Arc::default();
    let started = Instant::now();
    let on_progress = |p: Progress| {
        let now = Instant::now();
        let mut m = marks.lock().expect("marks");
        m.entry(p.stage.clone())
            .and_modify(|w| w.1 = now)
            .or_insert((now, now));
        if p.stage == stage::HISTORY {
            main_end.lock().expect("main").get_or_insert(now);
        }
    };
    let req = BackupRequest {
        site: client.site_name().to_owned(),
        schema_key: SCHEMA.into(),
        backup_type: BackupType::Manual,
        description: Some("backup-bench dc".into()),
    };
    let id = backup::run(
        &client,
        &store,
        &req,
        &on_progress,
        CancellationToken::new(),
        &assetark::clock::system(),
    )
    .await
    .context("dc backup")?;
    let total = started.elapsed().as_secs_f64();
    let b = store.get_backup(id).await?;
    let marks = marks.lock().expect("marks").clone();
    let main = main_end
        .lock()
        .expect("main")
        .map_or(total, |t| (t - started).as_secs_f64());

    // What the attachments phase stored: every listed file, and the distinct ones.
    let (mut files, mut listed_bytes) = (0u64, 0u64);
    let mut after: Option<String> = None;
    loop {
        let page = store
            .entry_page(id, kind::ATTACHMENTS, after.as_deref(), 1000)
            .await?;
        after = page.last().map(|e| e.original_id.clone());
        for e in &page {
            let a: ObjectAttachments = serde_json::from_slice(&e.json)?;
            files += a.attachments.len() as u64;
            listed_bytes += a.attachments.iter().map(|x| x.size).sum::<u64>();
        }
        if page.len() < 1000 {
            break;
        }
    }
    let (distinct, stored, raw) = stored_attachment_bytes(&dir.path().join("store.db"), id)?;
    let mib = |n: u64| n as f64 / (1024.0 * 1024.0);
    let objects_window = window(&marks, stage::OBJECTS);
    let attach_window = window(&marks, stage::ATTACHMENTS);
    println!(
        "  {} objects backed up; comments phase: {}; attachments phase: {}",
        b.object_count,
        b.comments.note.as_deref().unwrap_or(""),
        b.attachments.note.as_deref().unwrap_or("")
    );
    println!(
        "  objects stage {:.2} s = {:.0} objects/s; main pass {:.2} s = {:.0} objects/s; whole backup with history, comments and attachments {:.2} s",
        objects_window,
        b.object_count as f64 / objects_window,
        main,
        b.object_count as f64 / main.max(1e-9),
        total
    );
    println!(
        "  attachments: {files} files, {:.2} MiB listed, phase window {:.2} s = {:.2} MiB/s ({:.0} files/s)",
        mib(listed_bytes),
        attach_window,
        mib(listed_bytes) / attach_window,
        files as f64 / attach_window
    );
    println!(
        "  store after dedup: {distinct} distinct files, {stored} bytes of compressed blobs ({raw} raw JSON) = {:.0} bytes per attachment (files average {:.0} bytes)",
        stored as f64 / files.max(1) as f64,
        listed_bytes as f64 / files.max(1) as f64
    );
    Ok(())
}

/// (distinct blobs, their stored bytes, their raw bytes) of the attachment files of backup
/// `id`, read from the store file itself.
fn stored_attachment_bytes(db: &std::path::Path, id: i64) -> Result<(u64, u64, u64)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let row = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(length(data)), 0), COALESCE(SUM(raw_len), 0) FROM blobs \
         WHERE hash IN (SELECT hash FROM manifest WHERE backup_id = ?1 AND kind = ?2)",
        rusqlite::params![id, kind::ATTACHMENT_BYTES],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    Ok((row.0 as u64, row.1 as u64, row.2 as u64))
}
