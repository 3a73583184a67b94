//! A download read as it streams: hashed (SHA-256) chunk by chunk, kept in memory while it is
//! small, moved to an unnamed temporary file once it passes [`IN_MEMORY`], so a large
//! attachment costs disk, not memory. The cap of the site (`max_download_mb`) is enforced by
//! the reader in `http`, which feeds this one chunk at a time.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

/// A body up to this size stays in memory; a larger one goes to a temporary file.
pub const IN_MEMORY: usize = 1 << 20;

/// A downloaded body: its length, its SHA-256, and the bytes (in memory or in a file).
#[derive(Debug)]
pub struct Download {
    len: u64,
    sha256: String,
    held: Held,
}

#[derive(Debug)]
enum Held {
    Memory(Vec<u8>),
    /// An unnamed temporary file (gone when closed), positioned anywhere.
    File(std::fs::File),
}

impl Download {
    /// A download held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Download {
        Download {
            len: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            held: Held::Memory(bytes),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Lower-case hex SHA-256 of the bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The bytes if they are in memory, else a reader of the temporary file from its start.
    ///
    /// # Errors
    ///
    /// Seeking the file failed.
    pub fn into_parts(self) -> std::io::Result<Result<Vec<u8>, std::fs::File>> {
        match self.held {
            Held::Memory(v) => Ok(Ok(v)),
            Held::File(mut f) => {
                f.seek(SeekFrom::Start(0))?;
                Ok(Err(f))
            }
        }
    }

    /// The bytes in memory, read back from the file when they were spooled (for callers that
    /// need them whole).
    ///
    /// # Errors
    ///
    /// Reading the file failed.
    pub fn into_vec(self) -> std::io::Result<Vec<u8>> {
        match self.into_parts()? {
            Ok(v) => Ok(v),
            Err(mut f) => {
                let mut v = Vec::new();
                f.read_to_end(&mut v)?;
                Ok(v)
            }
        }
    }
}

/// Builds a [`Download`] from the chunks of a body.
pub(super) struct Spooler {
    dir: PathBuf,
    hasher: Sha256,
    len: u64,
    memory: Vec<u8>,
    file: Option<tokio::fs::File>,
}

impl Spooler {
    /// A spooler whose temporary file, if one is needed, goes in `dir`.
    pub fn new(dir: &Path) -> Spooler {
        Spooler {
            dir: dir.to_path_buf(),
            hasher: Sha256::new(),
            len: 0,
            memory: Vec::new(),
            file: None,
        }
    }

    /// Bytes taken so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Takes the next chunk.
    ///
    /// # Errors
    ///
    /// The temporary file could not be made or written.
    pub async fn push(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        if self.file.is_none() && self.memory.len() + chunk.len() <= IN_MEMORY {
            self.memory.extend_from_slice(chunk);
            return Ok(());
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let dir = self.dir.clone();
                let std_file = tokio::task::spawn_blocking(move || tempfile::tempfile_in(dir))
                    .await
                    .map_err(std::io::Error::other)??;
                let mut f = tokio::fs::File::from_std(std_file);
                f.write_all(&std::mem::take(&mut self.memory)).await?;
                self.file.insert(f)
            }
        };
        file.write_all(chunk).await
    }

    /// The download.
    ///
    /// # Errors
    ///
    /// Flushing the temporary file failed.
    pub async fn finish(self) -> std::io::Result<Download> {
        let sha256 = hex::encode(self.hasher.finalize());
        let held = match self.file {
            None => Held::Memory(self.memory),
            Some(mut f) => {
                f.flush().await?;
                Held::File(f.into_std().await)
            }
        };
        Ok(Download {
            len: self.len,
            sha256,
            held,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn spool(chunks: &[&[u8]]) -> Download {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = Spooler::new(dir.path());
        for c in chunks {
            s.push(c).await.expect("push");
        }
        s.finish().await.expect("finish")
    }

    #[tokio::test]
    async fn small_bodies_stay_in_memory_large_ones_go_to_a_file() {
        let small = spool(&[b"abc", b"def"]).await;
        assert_eq!(
            (small.len(), small.sha256()),
            (
                6,
                "bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721"
            )
        );
        assert_eq!(
            small.into_parts().expect("parts").expect("memory"),
            b"abcdef"
        );

        let a = vec![7u8; IN_MEMORY - 1];
        let b = vec![9u8; 3];
        let large = spool(&[&a, &b]).await;
        let mut whole = a.clone();
        whole.extend_from_slice(&b);
        assert_eq!(large.len(), whole.len() as u64);
        assert_eq!(large.sha256(), hex::encode(Sha256::digest(&whole)));
        let Err(mut f) = large.into_parts().expect("parts") else {
            panic!("a body over IN_MEMORY is spooled");
        };
        let mut back = Vec::new();
        f.read_to_end(&mut back).expect("read");
        assert!(back == whole, "the file holds the body");
    }
}
