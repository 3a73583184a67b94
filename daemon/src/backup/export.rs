//! The portable export of a backup: a directory of plain JSON files anyone can read without
//! assetark.
//!
//! # Format (version 1)
//!
//! | file                  | content                                                              |
//! |-----------------------|----------------------------------------------------------------------|
//! | `manifest.json`       | `{"format_version": 1, "backup": {...}, "counts": {file: n}, "phases": {...}}` — backup metadata (id, site, schema key/id, type, description, storage, object count, start/end, bytes added), entity counts per file, and the status of every background phase (`history`, `issues`, `comments`, `attachments`) as `{"status", "note"}` |
//! | `schema.json`         | the object schema as `GET /objectschema/{id}` returns it              |
//! | `config.json`         | `GET /global/config/objectschema/{id}` plus `"objectSchemaId"`        |
//! | `statustypes.json`    | array: global (`objectSchemaId` null) and schema status types         |
//! | `referencetypes.json` | array: global (`objectSchemaId` null) and schema reference types      |
//! | `icons.json`          | array: `GET /icon/{id}` of every icon the object types use            |
//! | `icons/{id}.png`      | that icon's 48 px PNG                                                 |
//! | `objecttypes.json`    | array: `GET /objectschema/{id}/objecttypes/flat`                      |
//! | `attributes.json`     | array: every type's own attributes (`excludeParentAttributes=true`)  |
//! | `objects.jsonl`       | one object a line, as `POST /object/aql` returns it with attributes (without the per-response `mediaJwtToken` of avatars) |
//! | `history.jsonl`       | one `{"objectId", "entries"}` a line (`entries` = `GET /object/{id}/history?asc=true`) |
//! | `issues.jsonl`        | one `{"key", "id", "fields": {fieldId: [...]}}` a line (Jira issues whose Assets fields point at the schema) |
//! | `comments.jsonl`      | one `{"objectId", "comments"}` a line for every object read (`comments` = `GET /comment/object/{id}?asc=true`: author in `actor`, time in `created`, text in `comment`; empty when none); Data Center sources only |
//! | `attachments.jsonl`   | one `{"objectId", "attachments": [{"attachment", "sha256", "size"}]}` a line for every object read (`attachment` = as `GET /attachments/object/{id}` lists it); Data Center sources only |
//! | `attachments/{sha256}`| the bytes of each distinct attachment file, named by their SHA-256   |
//! | `attachments/manifest.json` | array: `{"sha256", "size", "file"}` of every file in `attachments/` (`file` relative to the export) |
//!
//! Arrays hold one element a line; every element and line is canonical JSON (sorted keys, no
//! insignificant whitespace), in the backup's id order. JSONL files are streamed from the
//! store one page at a time, so exporting needs flat memory whatever the schema size.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, json};

use super::export_body::Base64Body;
use super::{Error, PHASE_KIND, PhaseEntry};
use crate::model::IconPng;
use crate::store::{AsyncStore, BackupId, Phase, Store, kind};

/// Version of the export format written here.
pub const FORMAT_VERSION: u32 = 1;

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// The export directory.
    pub dir: PathBuf,
    /// The backup exported.
    pub backup: BackupId,
    /// Entities written per file name.
    pub counts: BTreeMap<String, u64>,
    /// Bytes written in total.
    pub bytes: u64,
}

/// How a kind is laid out in its file.
#[derive(Clone, Copy)]
enum Layout {
    /// One JSON value (the first entry).
    Single,
    /// A JSON array, one element a line.
    Array,
    /// One JSON value a line.
    Lines,
}

/// Kind → file, in the order they are written.
const FILES: [(&str, &str, Layout); 12] = [
    (kind::SCHEMA, "schema.json", Layout::Single),
    (kind::CONFIG, "config.json", Layout::Single),
    (kind::STATUS_TYPE, "statustypes.json", Layout::Array),
    (kind::REFERENCE_TYPE, "referencetypes.json", Layout::Array),
    (kind::ICON, "icons.json", Layout::Array),
    (kind::OBJECT_TYPE, "objecttypes.json", Layout::Array),
    (kind::ATTRIBUTE, "attributes.json", Layout::Array),
    (kind::OBJECT, "objects.jsonl", Layout::Lines),
    (kind::HISTORY, "history.jsonl", Layout::Lines),
    (kind::ISSUE, "issues.jsonl", Layout::Lines),
    (kind::COMMENTS, "comments.jsonl", Layout::Lines),
    (kind::ATTACHMENTS, "attachments.jsonl", Layout::Lines),
];

/// Writes the export of a complete backup into `dir` (created if missing; files replaced).
///
/// # Errors
///
/// [`Error::Store`] (e.g. `NotFound` for an unknown or incomplete backup, `Corrupt` for a bad
/// blob), [`Error::Io`], [`Error::Json`].
pub async fn export(store: &AsyncStore, id: BackupId, dir: &Path) -> Result<ExportSummary, Error> {
    let store = Arc::clone(store.blocking());
    let dir = dir.to_path_buf();
    // SQLite reads and file writes both block: one blocking task does the whole export.
    tokio::task::spawn_blocking(move || export_blocking(&*store, id, &dir))
        .await
        .map_err(|e| Error::Store(e.into()))?
}

fn export_blocking(store: &dyn Store, id: BackupId, dir: &Path) -> Result<ExportSummary, Error> {
    let backup = store.get_backup(id)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    private_dir(dir).map_err(io(dir))?;
    private_dir(&dir.join("icons")).map_err(io(dir))?;
    let mut summary = ExportSummary {
        dir: dir.to_path_buf(),
        backup: id,
        counts: BTreeMap::new(),
        bytes: 0,
    };
    for (kind, file, layout) in FILES {
        let path = dir.join(file);
        let (n, bytes) = write_kind(store, id, kind, &path, layout)?;
        summary.counts.insert(file.to_owned(), n);
        summary.bytes += bytes;
    }
    let mut icons = 0;
    store.for_each_entry(id, kind::ICON_PNG, |e| {
        let stored: IconPng = serde_json::from_slice(&e.json)?;
        let png = stored.bytes().map_err(|e| Error::Io {
            path: dir.join("icons"),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        let path = dir
            .join("icons")
            .join(format!("{}.png", safe_name(&e.original_id)));
        write_private(&path, &png).map_err(io(&path))?;
        summary.bytes += png.len() as u64;
        icons += 1;
        Ok::<(), Error>(())
    })?;
    summary.counts.insert("icons/".to_owned(), icons);
    let (files, bytes) = write_attachments(store, id, dir)?;
    summary.counts.insert("attachments/".to_owned(), files);
    summary.bytes += bytes;

    let mut phases = Map::new();
    for phase in Phase::ALL {
        let state = backup.phase(phase);
        phases.insert(
            phase.as_str().to_owned(),
            json!({"status": state.status, "note": state.note}),
        );
    }
    // Backups made before the store had comment and attachment columns recorded those phases
    // as entries; such an entry wins.
    store.for_each_entry(id, PHASE_KIND, |e| {
        let p: PhaseEntry = serde_json::from_slice(&e.json)?;
        phases.insert(e.original_id, json!({"status": p.status, "note": p.note}));
        Ok::<(), Error>(())
    })?;
    let manifest = json!({
        "format_version": FORMAT_VERSION,
        "backup": backup,
        "counts": summary.counts,
        "phases": phases,
    });
    let path = dir.join("manifest.json");
    let mut text = serde_json::to_vec_pretty(&manifest)?;
    text.push(b'\n');
    write_private(&path, &text).map_err(io(&path))?;
    summary.bytes += text.len() as u64;
    Ok(summary)
}

/// One file of `attachments/`, as `attachments/manifest.json` lists it.
#[derive(Serialize)]
struct AttachmentFile {
    sha256: String,
    size: u64,
    file: String,
}

/// Writes every distinct attachment file into `attachments/` (named by its SHA-256) and their
/// list into `attachments/manifest.json`; returns (files, bytes).
fn write_attachments(store: &dyn Store, id: BackupId, dir: &Path) -> Result<(u64, u64), Error> {
    let sub = dir.join("attachments");
    private_dir(&sub).map_err(|source| Error::Io {
        path: sub.clone(),
        source,
    })?;
    let (mut listed, mut bytes) = (Vec::new(), 0u64);
    let mut after: Option<String> = None;
    loop {
        // Hashes only: each file's blob is then streamed from the store through a base64
        // decoder into its file, so a large attachment is never held whole.
        let page = store.entry_hashes(
            id,
            kind::ATTACHMENT_BYTES,
            after.as_deref(),
            crate::store::ENTRY_PAGE_SIZE,
        )?;
        let full = page.len() == crate::store::ENTRY_PAGE_SIZE;
        after = page.last().map(|(original_id, _)| original_id.clone());
        for (original_id, hash) in page {
            let name = safe_name(&original_id);
            let path = sub.join(&name);
            let size = write_attachment(store, &hash, &path)?;
            bytes += size;
            listed.push(AttachmentFile {
                sha256: original_id,
                size,
                file: format!("attachments/{name}"),
            });
        }
        if !full {
            break;
        }
    }
    let path = sub.join("manifest.json");
    let mut text = serde_json::to_vec_pretty(&listed)?;
    text.push(b'\n');
    write_private(&path, &text).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok((listed.len() as u64, bytes + text.len() as u64))
}

/// Writes the bytes of the attachment blob `hash` (`{"base64": ...}`) into `path` as the
/// store decompresses it; returns their length.
fn write_attachment(store: &dyn Store, hash: &str, path: &Path) -> Result<u64, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut body = Base64Body::new(BufWriter::new(private_file(path).map_err(io)?));
    match store.write_blob(hash, &mut body) {
        Ok(_) => {}
        Err(crate::store::Error::Io(source)) => return Err(io(source)),
        Err(e) => return Err(e.into()),
    }
    body.finish().map_err(io)
}

/// Streams one kind into its file; returns (entities, bytes).
fn write_kind(
    store: &dyn Store,
    id: BackupId,
    kind: &str,
    path: &Path,
    layout: Layout,
) -> Result<(u64, u64), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = CountingWriter {
        inner: BufWriter::new(private_file(path).map_err(io)?),
        bytes: 0,
    };
    let mut n = 0u64;
    if let Layout::Array = layout {
        out.write_all(b"[").map_err(io)?;
    }
    store.for_each_entry(id, kind, |e| {
        match layout {
            // A schema backup holds one schema and one config; a second is impossible, and
            // writing it would make the file invalid JSON.
            Layout::Single if n > 0 => return Ok(()),
            Layout::Single => out.write_all(&e.json),
            Layout::Array => out
                .write_all(if n == 0 { b"\n" } else { b",\n" })
                .and_then(|()| out.write_all(&e.json)),
            Layout::Lines => out.write_all(&e.json).and_then(|()| out.write_all(b"\n")),
        }
        .map_err(io)?;
        n += 1;
        Ok::<(), Error>(())
    })?;
    match layout {
        Layout::Single if n == 0 => out.write_all(b"null\n"),
        Layout::Single => out.write_all(b"\n"),
        Layout::Array => out.write_all(if n == 0 { b"]\n" } else { b"\n]\n" }),
        Layout::Lines => Ok(()),
    }
    .and_then(|()| out.inner.flush())
    .map_err(io)?;
    Ok((n, out.bytes))
}

/// A directory only its owner can enter (0700 whatever the umask): an export holds every
/// object of the schema.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A file created (or truncated) readable by its owner only, 0600 whatever the umask.
fn private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    private_file(path)?.write_all(bytes)
}

/// Counts bytes on their way to the file.
struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// An id as a file name: ids are digits on Cloud; anything else is replaced, so a hostile id
/// cannot point outside `icons/`.
fn safe_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
