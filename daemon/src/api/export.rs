//! `GET /v1/backups/{id}/export`: the portable export of a backup as a tar stream, which the
//! CLI unpacks (`backups export ID --out DIR`), so the daemon never writes a path a caller
//! names.
//!
//! The export is written first into a private temporary directory of the daemon (the format
//! of `backup::export`, files 0600), then streamed as a tar of regular files and directories
//! only. While that takes less than the dry-run bound, failures get their proper answer (404,
//! 409 `backup_corrupt` naming the bad blobs); a longer export answers 200 at the bound and
//! streams once ready, and a failure after that ends the stream early (the CLI then keeps
//! nothing).

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use tokio::sync::mpsc;

use super::ApiState;
use super::error::{ApiError, ApiPath, ApiResult, parse_id};
use crate::backup::ExportSummary;
use crate::error::error_chain;

/// Bytes per chunk of the stream.
const CHUNK: usize = 64 * 1024;

type Built = Result<Result<ExportSummary, crate::backup::Error>, tokio::task::JoinError>;

#[utoipa::path(get, path = "/v1/backups/{id}/export", tag = "backups", params(("id" = String, Path, description = "Backup id (a positive integer)")), responses((status = 200, description = "The export as a tar stream (`manifest.json`, the JSON files, `icons/`)", content_type = "application/x-tar", body = Vec<u8>), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(backup_id = %id))]
pub(super) async fn export(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let id = parse_id("backup", &id)?;
    state.store.get_backup(id).await?;
    let tmp = tempfile::Builder::new()
        .prefix("assetark-export-")
        .tempdir()
        .map_err(|e| ApiError::internal(&e))?;
    let dir = tmp.path().join("export");
    let mut build = tokio::spawn({
        let store = state.store.clone();
        let dir = dir.clone();
        async move { crate::backup::export(&store, id, &dir).await }
    });
    let built: Option<Built> = tokio::select! {
        built = &mut build => Some(built),
        () = tokio::time::sleep(state.limits.plan_timeout) => None,
    };
    if let Some(built) = &built {
        match built {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(failed(&state, id, e).await),
            Err(e) => return Err(ApiError::internal(e)),
        }
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::spawn(async move {
        let ready = match built {
            Some(_) => true,
            None => match build.await {
                Ok(Ok(_)) => true,
                Ok(Err(e)) => {
                    tracing::warn!(backup_id = id, error = %error_chain(&e), "The export failed after its answer started.");
                    false
                }
                Err(e) => {
                    tracing::warn!(backup_id = id, error = %e, "The export task failed.");
                    false
                }
            },
        };
        if !ready {
            let _ = tx
                .send(Err(std::io::Error::other("the export failed")))
                .await;
            return;
        }
        let sender = tx.clone();
        let written = tokio::task::spawn_blocking(move || {
            // The temporary directory lives until the tar is written.
            let _tmp = tmp;
            write_tar(&dir, ChannelWriter::new(sender))
        })
        .await;
        let failure = match written {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(e) => Some(std::io::Error::other(e)),
        };
        if let Some(e) = failure {
            tracing::warn!(backup_id = id, error = %e, "Streaming the export failed.");
            let _ = tx.send(Err(e)).await;
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/x-tar")
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::internal(&e))
}

/// The answer for an export that failed before its answer started.
async fn failed(state: &ApiState, id: i64, e: &crate::backup::Error) -> ApiError {
    if let Some(first) = super::restores::corrupt_blob(e) {
        return super::restores::backup_corrupt(state, id, first).await;
    }
    match e {
        crate::backup::Error::Store(s @ crate::store::Error::NotFound { .. }) => {
            ApiError::not_found("backup_not_found", s.to_string())
        }
        other => ApiError::internal(other),
    }
}

/// Writes `dir` as a tar: regular files and directories, names relative to `dir`, in name
/// order (anything else in the directory is skipped: the export writes nothing else).
fn write_tar(dir: &Path, out: impl Write) -> std::io::Result<()> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    add_dir(&mut tar, dir, Path::new(""))?;
    tar.into_inner()?.flush()
}

fn add_dir<W: Write>(tar: &mut tar::Builder<W>, dir: &Path, rel: &Path) -> std::io::Result<()> {
    let mut entries: Vec<(PathBuf, std::fs::FileType, std::ffi::OsString)> =
        std::fs::read_dir(dir)?
            .map(|e| e.and_then(|e| Ok((e.path(), e.file_type()?, e.file_name()))))
            .collect::<Result<_, _>>()?;
    entries.sort_by(|a, b| a.2.cmp(&b.2));
    for (path, kind, name) in entries {
        let name = rel.join(name);
        if kind.is_dir() {
            tar.append_dir(&name, &path)?;
            add_dir(tar, &path, &name)?;
        } else if kind.is_file() {
            tar.append_path_with_name(&path, &name)?;
        }
    }
    Ok(())
}

/// A `Write` that sends what it is given, in chunks, to the response stream.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn new(tx: mpsc::Sender<Result<Bytes, std::io::Error>>) -> Self {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}
