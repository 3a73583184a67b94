//! [`TokenKey`]: the daemon's key file and the authenticated encryption of site tokens that
//! were given inline through the API (`assetark sites add --token ...`).
//!
//! Such a token must survive a restart, so it goes into the store, but never in plaintext:
//! it is sealed with ChaCha20-Poly1305 under a 32-byte key kept in a separate file
//! (`[store] key_file`, mode 0600), with a fresh random 96-bit nonce per secret. The site's
//! name is the associated data, so a ciphertext copied onto another site's row fails to open
//! instead of lending that site someone else's credentials. A copy of the database alone
//! reveals no token; the key file is what an operator must guard (and back up).

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;

use crate::assets::Secret;

/// Length of the key in the key file.
pub const KEY_BYTES: usize = 32;
/// Length of a nonce stored beside each ciphertext.
pub const NONCE_BYTES: usize = 12;

/// Why the key file cannot be used, or a sealed token cannot be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading, creating or protecting the key file failed.
    #[error("key file {}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The key file does not hold exactly [`KEY_BYTES`] bytes.
    #[error("key file {} holds {len} bytes, expected {KEY_BYTES}", path.display())]
    BadLength {
        /// The key file.
        path: PathBuf,
        /// What it holds.
        len: usize,
    },
    /// The key file can be read by other users; a token key must be private.
    #[error("key file {} has mode {mode:o}; it must not be readable by others (chmod 600)", path.display())]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A sealed token does not open with this key: another key file, or a damaged row.
    #[error("the stored token cannot be decrypted with this key file")]
    Open,
}

/// The token key. Its `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct TokenKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

/// A sealed token: nonce and ciphertext (with its tag), as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The random nonce used for this secret.
    pub nonce: Vec<u8>,
    /// Ciphertext followed by the Poly1305 tag.
    pub ciphertext: Vec<u8>,
}

impl TokenKey {
    /// Loads the key file, creating it with [`KEY_BYTES`] random bytes and mode 0600 when it
    /// does not exist.
    ///
    /// # Errors
    ///
    /// [`KeyError`] when the file cannot be read or written, has the wrong size, or is
    /// readable by group or others.
    pub fn load_or_create(path: &Path) -> Result<TokenKey, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyError::TooOpen {
                        path: path.to_path_buf(),
                        mode,
                    });
                }
                Self::from_bytes(&bytes).ok_or(KeyError::BadLength {
                    path: path.to_path_buf(),
                    len: bytes.len(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; KEY_BYTES];
                rand::rng().fill_bytes(&mut key);
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                // `create_new` + mode 0600 at creation: the key is never readable by others,
                // not even for a moment, and a file created meanwhile is never overwritten.
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                file.write_all(&key).map_err(io)?;
                file.sync_all().map_err(io)?;
                tracing::info!(key_file = %path.display(), "Token key file created.");
                Self::from_bytes(&key).ok_or(KeyError::Open)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A key from raw bytes; `None` unless there are exactly [`KEY_BYTES`].
    pub fn from_bytes(bytes: &[u8]) -> Option<TokenKey> {
        (bytes.len() == KEY_BYTES).then(|| TokenKey {
            cipher: ChaCha20Poly1305::new(Key::from_slice(bytes)),
        })
    }

    /// Seals `token` for site `site` with a fresh random nonce.
    pub fn seal(&self, site: &str, token: &Secret) -> Sealed {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: token.expose().as_bytes(),
            aad: site.as_bytes(),
        };
        // Encryption only fails for messages beyond ChaCha20's 256 GiB limit.
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    /// Opens a token sealed for site `site`.
    ///
    /// # Errors
    ///
    /// [`KeyError::Open`] when the key, the site or the bytes do not match.
    pub fn open(&self, site: &str, sealed: &Sealed) -> Result<Secret, KeyError> {
        if sealed.nonce.len() != NONCE_BYTES {
            return Err(KeyError::Open);
        }
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: site.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), payload)
            .map_err(|_| KeyError::Open)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| KeyError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/k.key");
        let key = TokenKey::load_or_create(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), KEY_BYTES as u64);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let sealed = key.seal("s2", &Secret::new("tok-123"));
        let again = TokenKey::load_or_create(&path).unwrap();
        assert_eq!(again.open("s2", &sealed).unwrap().expose(), "tok-123");
        assert_eq!(format!("{again:?}"), "TokenKey(***)");
    }

    #[test]
    fn sealing_uses_fresh_nonces_and_binds_the_site() {
        let key = TokenKey::from_bytes(&[7; KEY_BYTES]).unwrap();
        let token = Secret::new("tok-abcdef");
        let a = key.seal("s2", &token);
        let b = key.seal("s2", &token);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert!(
            !a.ciphertext
                .windows(token.expose().len())
                .any(|w| w == token.expose().as_bytes())
        );
        assert!(matches!(key.open("s3", &a), Err(KeyError::Open)));
        let other = TokenKey::from_bytes(&[8; KEY_BYTES]).unwrap();
        assert!(matches!(other.open("s2", &a), Err(KeyError::Open)));
        let mut bad = a.clone();
        bad.ciphertext[0] ^= 1;
        assert!(matches!(key.open("s2", &bad), Err(KeyError::Open)));
    }

    #[test]
    fn a_wrong_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.key");
        std::fs::write(&short, b"abc").unwrap();
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            TokenKey::load_or_create(&short),
            Err(KeyError::BadLength { len: 3, .. })
        ));
        let open = dir.path().join("open.key");
        std::fs::write(&open, [1u8; KEY_BYTES]).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            TokenKey::load_or_create(&open),
            Err(KeyError::TooOpen { .. })
        ));
    }
}
