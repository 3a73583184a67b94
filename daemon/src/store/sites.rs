//! Sites added through the control API (`assetark sites add`), kept so they survive a
//! restart. Sites of the config file are never stored; the daemon merges both lists.
//!
//! The store keeps what it is given and knows nothing of cryptography: an inline token
//! arrives here already sealed (nonce + ciphertext, see `daemon::secrets`); an env or file
//! token is stored as the variable name or path, never the secret. The schema is
//! `migrations/0003_sites.sql`.

use rusqlite::types::Type;
use rusqlite::{Row, params};
use time::OffsetDateTime;

use super::sqlite::to_millis;
use super::{AsyncStore, Result, SqliteStore};

/// Where a stored site's API token comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredToken {
    /// An environment variable of the daemon, by name.
    Env(String),
    /// A file holding the token, by absolute path.
    File(String),
    /// The token itself, sealed: a random nonce and the ciphertext with its tag.
    Inline {
        /// The 12-byte nonce.
        nonce: Vec<u8>,
        /// Ciphertext + tag.
        sealed: Vec<u8>,
    },
}

impl std::fmt::Debug for StoredToken {
    // The sealed bytes are harmless without the key, but there is no reason to print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredToken::Env(v) => write!(f, "Env({v:?})"),
            StoredToken::File(p) => write!(f, "File({p:?})"),
            StoredToken::Inline { .. } => f.write_str("Inline(sealed)"),
        }
    }
}

impl StoredToken {
    /// `env`, `file` or `inline`, as stored.
    pub fn source(&self) -> &'static str {
        match self {
            StoredToken::Env(_) => "env",
            StoredToken::File(_) => "file",
            StoredToken::Inline { .. } => "inline",
        }
    }
}

/// A site added through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSite {
    /// Unique name (also unique against the config's sites; the daemon checks that).
    pub name: String,
    /// "cloud".
    pub flavor: String,
    /// Assets REST base URL.
    pub api_url: String,
    /// Jira site URL.
    pub site_url: String,
    /// Account e-mail for Basic auth.
    pub email: String,
    /// Where the token comes from.
    pub token: StoredToken,
    /// When it was added.
    pub created_at: OffsetDateTime,
}

/// Sites added through the API. Calls block; see [`AsyncStore`] for async code.
pub trait SiteStore {
    /// Adds a site; `false` (and nothing written) when the name is taken.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](super::Error::Sqlite).
    fn add_site(&self, site: &StoredSite) -> Result<bool>;

    /// Removes a site; `false` when there was none of that name.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](super::Error::Sqlite).
    fn remove_site(&self, name: &str) -> Result<bool>;

    /// Every stored site, by name.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](super::Error::Sqlite).
    fn list_sites(&self) -> Result<Vec<StoredSite>>;
}

fn site_from_row(row: &Row<'_>) -> rusqlite::Result<StoredSite> {
    let source: String = row.get(5)?;
    let token = match source.as_str() {
        "env" => StoredToken::Env(row.get(6)?),
        "file" => StoredToken::File(row.get(6)?),
        "inline" => StoredToken::Inline {
            nonce: row.get(7)?,
            sealed: row.get(8)?,
        },
        _ => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                5,
                Type::Text,
                format!("unknown token source {source:?}").into(),
            ));
        }
    };
    let ms: i64 = row.get(9)?;
    let created_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(9, Type::Integer, Box::new(e)))?;
    Ok(StoredSite {
        name: row.get(0)?,
        flavor: row.get(1)?,
        api_url: row.get(2)?,
        site_url: row.get(3)?,
        email: row.get(4)?,
        token,
        created_at,
    })
}

impl SiteStore for SqliteStore {
    fn add_site(&self, site: &StoredSite) -> Result<bool> {
        let (token_ref, nonce, sealed) = match &site.token {
            StoredToken::Env(v) | StoredToken::File(v) => (Some(v.as_str()), None, None),
            StoredToken::Inline { nonce, sealed } => {
                (None, Some(nonce.as_slice()), Some(sealed.as_slice()))
            }
        };
        self.write(|tx| {
            let added = tx.execute(
                "INSERT INTO sites (name, flavor, api_url, site_url, email, token_source, \
                 token_ref, token_nonce, token_sealed, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (name) DO NOTHING",
                params![
                    site.name,
                    site.flavor,
                    site.api_url,
                    site.site_url,
                    site.email,
                    site.token.source(),
                    token_ref,
                    nonce,
                    sealed,
                    to_millis(site.created_at),
                ],
            )?;
            Ok(added == 1)
        })
    }

    fn remove_site(&self, name: &str) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM sites WHERE name = ?1", [name])? == 1))
    }

    fn list_sites(&self) -> Result<Vec<StoredSite>> {
        self.read(|tx| {
            let rows = tx
                .prepare_cached(
                    "SELECT name, flavor, api_url, site_url, email, token_source, token_ref, \
                     token_nonce, token_sealed, created_at FROM sites ORDER BY name",
                )?
                .query_map([], site_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}

/// Async mirrors of [`SiteStore`] (see there for errors), run on the blocking pool.
impl AsyncStore {
    /// See [`SiteStore::add_site`].
    pub async fn add_site(&self, site: StoredSite) -> Result<bool> {
        self.run(move |s| s.add_site(&site)).await
    }

    /// See [`SiteStore::remove_site`].
    pub async fn remove_site(&self, name: &str) -> Result<bool> {
        let name = name.to_owned();
        self.run(move |s| s.remove_site(&name)).await
    }

    /// See [`SiteStore::list_sites`].
    pub async fn list_sites(&self) -> Result<Vec<StoredSite>> {
        self.run(|s| s.list_sites()).await
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn site(name: &str, token: StoredToken) -> StoredSite {
        StoredSite {
            name: name.into(),
            flavor: "cloud".into(),
            api_url: "http://127.0.0.1:1/a".into(),
            site_url: "http://127.0.0.1:1".into(),
            email: "a@b.example".into(),
            token,
            created_at: datetime!(2025-01-01 00:00 UTC),
        }
    }

    #[test]
    fn sites_are_added_once_listed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path().join("s.db")).unwrap();
        let inline = StoredToken::Inline {
            nonce: vec![1; 12],
            sealed: vec![2; 30],
        };
        assert!(s.add_site(&site("b", inline.clone())).unwrap());
        assert!(
            s.add_site(&site("a", StoredToken::Env("TOK".into())))
                .unwrap()
        );
        assert!(
            !s.add_site(&site("a", StoredToken::File("/x".into())))
                .unwrap()
        );
        let all = s.list_sites().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].token, StoredToken::Env("TOK".into()));
        assert_eq!(all[1].token, inline);
        assert_eq!(all[1].created_at, datetime!(2025-01-01 00:00 UTC));
        assert_eq!(format!("{:?}", all[1].token), "Inline(sealed)");
        assert!(s.remove_site("a").unwrap());
        assert!(!s.remove_site("a").unwrap());
        let names: Vec<String> = s
            .list_sites()
            .unwrap()
            .into_iter()
            .map(|x| x.name)
            .collect();
        assert_eq!(names, ["b"]);
    }
}
