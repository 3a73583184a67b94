//! Reading a blob stored in pieces (a large attachment; migration 0011) as a stream: one piece
//! in memory at a time, each read under its own short lock, decompressed and hashed as it goes.

use std::io::{Read, Write};

use rusqlite::{OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};

use super::SqliteStore;
use crate::store::blob::decode_blob;
use crate::store::error::{BlobProblem, Error, Result};

/// Bytes decompressed per write to the caller's writer.
const CHUNK: usize = 64 * 1024;

/// The compressed bytes of a pieced blob, fetched one piece at a time. A store error is kept
/// here (the `Read` it goes through only carries an `io::Error`), so that it is reported as
/// itself rather than as a corrupt blob.
struct Pieces<'a> {
    store: &'a SqliteStore,
    hash: &'a str,
    seq: i64,
    piece: Vec<u8>,
    pos: usize,
    failed: Option<Error>,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.piece.len() {
            // Blobs are immutable under their hash: a lock per piece lets writers in between
            // without changing what is read (a blob deleted meanwhile ends short, and its
            // length check fails).
            let (hash, seq) = (self.hash, self.seq);
            let next = self.store.read(|tx| {
                Ok(tx
                    .prepare_cached("SELECT data FROM blob_parts WHERE hash = ?1 AND seq = ?2")?
                    .query_row(params![hash, seq], |r| r.get::<_, Vec<u8>>(0))
                    .optional()?)
            });
            match next {
                Ok(Some(piece)) => {
                    self.piece = piece;
                    self.pos = 0;
                    self.seq += 1;
                }
                Ok(None) => return Ok(0),
                Err(e) => {
                    self.failed = Some(e);
                    return Err(std::io::Error::other("reading a blob piece failed"));
                }
            }
        }
        let n = buf.len().min(self.piece.len() - self.pos);
        buf[..n].copy_from_slice(&self.piece[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl SqliteStore {
    /// Writes the canonical JSON of the blob `hash` into `out`; returns its length. A blob
    /// stored in pieces is decompressed and hashed as its pieces are read, so memory stays
    /// flat whatever its size; its length and hash are checked at its end, after `out` has
    /// had its bytes (a caller keeps nothing of a failed read).
    pub(super) fn stream_blob(&self, hash: &str, out: &mut dyn Write) -> Result<u64> {
        let (data, raw_len): (Vec<u8>, i64) = self.read(|tx| {
            tx.prepare_cached("SELECT data, raw_len FROM blobs WHERE hash = ?1")?
                .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or_else(|| Error::not_found("blob", hash))
        })?;
        if !data.is_empty() {
            let raw = decode_blob(hash, &data, raw_len)?;
            out.write_all(&raw)?;
            return Ok(raw.len() as u64);
        }
        let corrupt = |problem, source| Error::Corrupt {
            hash: hash.to_owned(),
            problem,
            source,
        };
        let raw_len =
            u64::try_from(raw_len).map_err(|_| corrupt(BlobProblem::LengthMismatch, None))?;
        let mut pieces = Pieces {
            store: self,
            hash,
            seq: 0,
            piece: Vec::new(),
            pos: 0,
            failed: None,
        };
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        {
            let decoder = zstd::stream::read::Decoder::new(&mut pieces)
                .map_err(|e| corrupt(BlobProblem::Undecodable, Some(e)))?;
            // One byte past the recorded length is enough to tell a longer blob.
            let mut decoder = decoder.take(raw_len + 1);
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = match decoder.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let failed = decoder.get_mut().get_mut().get_mut().failed.take();
                        return Err(
                            failed.unwrap_or_else(|| corrupt(BlobProblem::Undecodable, Some(e)))
                        );
                    }
                };
                hasher.update(&buf[..n]);
                len += n as u64;
                if len > raw_len {
                    return Err(corrupt(BlobProblem::LengthMismatch, None));
                }
                out.write_all(&buf[..n])?;
            }
        }
        if len != raw_len {
            return Err(corrupt(BlobProblem::LengthMismatch, None));
        }
        if hex::encode(hasher.finalize()) != hash {
            return Err(corrupt(BlobProblem::HashMismatch, None));
        }
        Ok(len)
    }
}
