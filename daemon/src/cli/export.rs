//! `backups export ID --out DIR [--force]`: the CLI writes the export the daemon streams
//! (`GET /v1/backups/{id}/export`, a tar), so the daemon writes no path a caller names.
//!
//! - `DIR` must not exist, or be an empty directory; a non-empty one is refused unless
//!   `--force`, which replaces it whole (no stale file of an earlier export stays). A symbolic
//!   link as `DIR` is refused.
//! - Everything goes into a temporary directory beside `DIR` (mode 0700, files 0600 whatever
//!   the umask), renamed into place only once the whole stream is written: a failed export
//!   leaves nothing behind.
//! - Unpacking never follows a link: only regular files and directories are taken from the
//!   stream, with plain relative names; each file is created new (`O_EXCL`), so a link that
//!   appeared in the temporary directory cannot redirect it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::output;
use super::util::{Failure, absolute, emit};
use crate::api::client::ControlClient;
use crate::api::wire::ExportReport;

/// Name of the unpacked export inside the temporary directory.
const UNPACKED: &str = "export";
/// The stream as received, inside the temporary directory.
const STREAM: &str = "stream.tar";

/// `backups export`.
pub(super) async fn export(
    client: &ControlClient,
    id: i64,
    out: &Path,
    force: bool,
    json: bool,
) -> Result<(), Failure> {
    let out = absolute(out)?;
    let replace = check_target(&out, force)?;
    let parent = out
        .parent()
        .ok_or_else(|| Failure::error(format!("{} has no parent directory", out.display())))?;
    if !parent.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| io_failure(parent, &e))?;
    }
    // Removed with everything in it unless renamed into place.
    let tmp = tempfile::Builder::new()
        .prefix(".assetark-export-")
        .tempdir_in(parent)
        .map_err(|e| io_failure(parent, &e))?;
    let stream = tmp.path().join(STREAM);
    let mut file = BufWriter::new(new_file(&stream).map_err(|e| io_failure(&stream, &e))?);
    let mut failed = None;
    client
        .stream(&format!("/v1/backups/{id}/export"), |chunk| {
            match file.write_all(chunk) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })
        .await
        .map_err(|e| Failure::error(format!("export of backup {id} failed: {e}")))?;
    if let Some(e) = failed {
        return Err(io_failure(&stream, &e));
    }
    file.flush().map_err(|e| io_failure(&stream, &e))?;
    drop(file);
    let unpacked = tmp.path().join(UNPACKED);
    let bytes = unpack(&stream, &unpacked)?;
    std::fs::remove_file(&stream).map_err(|e| io_failure(&stream, &e))?;
    let counts = manifest_counts(&unpacked)?;
    if replace {
        // The old directory moves into the temporary one and goes with it.
        let old = tmp.path().join("replaced");
        std::fs::rename(&out, &old).map_err(|e| io_failure(&out, &e))?;
    }
    std::fs::rename(&unpacked, &out).map_err(|e| io_failure(&out, &e))?;
    let report = ExportReport {
        dir: out,
        backup: id,
        counts,
        bytes,
    };
    emit(json, &report, || output::export_summary(&report))
}

/// Checks `DIR`: returns whether an existing directory is to be replaced.
fn check_target(out: &Path, force: bool) -> Result<bool, Failure> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_failure(out, &e)),
    };
    if meta.file_type().is_symlink() {
        return Err(Failure::error(format!(
            "{} is a symbolic link; an export never follows links: give the real directory",
            out.display()
        )));
    }
    if !meta.is_dir() {
        return Err(Failure::error(format!(
            "{} exists and is not a directory",
            out.display()
        )));
    }
    let empty = std::fs::read_dir(out)
        .map_err(|e| io_failure(out, &e))?
        .next()
        .is_none();
    if !empty && !force {
        return Err(Failure::error(format!(
            "{} is not empty; use --force to replace it with the export",
            out.display()
        )));
    }
    Ok(true)
}

/// Unpacks the tar at `stream` into `dir` (created); returns the bytes of the files written.
fn unpack(stream: &Path, dir: &Path) -> Result<u64, Failure> {
    let bad = |what: String| Failure::error(format!("the export stream is not valid: {what}"));
    make_dir(dir).map_err(|e| io_failure(dir, &e))?;
    let mut archive = tar::Archive::new(File::open(stream).map_err(|e| io_failure(stream, &e))?);
    let mut bytes = 0;
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let name = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let rel = plain_relative(&name).ok_or_else(|| bad(format!("entry {}", name.display())))?;
        let path = dir.join(&rel);
        match entry.header().entry_type() {
            tar::EntryType::Directory => make_dir(&path).map_err(|e| io_failure(&path, &e))?,
            tar::EntryType::Regular => {
                let mut file = new_file(&path).map_err(|e| io_failure(&path, &e))?;
                bytes += std::io::copy(&mut entry, &mut file).map_err(|e| io_failure(&path, &e))?;
            }
            other => return Err(bad(format!("entry {} is a {other:?}", name.display()))),
        }
    }
    Ok(bytes)
}

/// `name` if it is a plain relative path (no root, no `..`), without `.` parts.
fn plain_relative(name: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in name.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// A new directory, 0700 whatever the umask; never an existing path.
fn make_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().mode(0o700).create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// A new file, 0600 whatever the umask; never an existing path (nor a link to one).
fn new_file(path: &Path) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// The entity counts of the unpacked `manifest.json`.
fn manifest_counts(dir: &Path) -> Result<BTreeMap<String, u64>, Failure> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        counts: BTreeMap<String, u64>,
    }
    let path = dir.join("manifest.json");
    let text = std::fs::read(&path).map_err(|e| io_failure(&path, &e))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| Failure::error(format!("{}: {e}", path.display())))?;
    Ok(manifest.counts)
}

fn io_failure(path: &Path, e: &std::io::Error) -> Failure {
    Failure::error(format!("{}: {e}", path.display()))
}
