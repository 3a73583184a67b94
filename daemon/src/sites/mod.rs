//! The site registry. [`Sites`]: the Assets sites the daemon knows, with one [`AssetsClient`]
//! each, shared by the control API and every job on that site, so all of them draw on the
//! same rate budget (the client's governor lives inside it).
//!
//! Sites come from two places: the config file (fixed for the life of the process) and the
//! control API (`assetark sites add`), which stores them (see `store::sites`) so they survive
//! a restart. An added site is tested against its API before anything is saved; its token is
//! kept as an environment variable name, a file path, or, when given inline, sealed with the
//! daemon's key (see `secrets`). Lookups hand out `Arc<Site>`, so a job keeps its client even
//! if the site is removed while it runs.
//!
//! The registry depends only on the client, the config, the store and the clock: the control
//! API and the job runner both use it, and it uses neither.

mod secrets;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::assets::{
    self, AssetsApi, ClientStats, DcConn, Flavor, Limits, Secret, SiteClient, SiteConn, SiteSpec,
};
use crate::clock::SharedClock;
use crate::config::{SiteConfig, check_http_url, valid_site_name};
use crate::error::error_chain;
use crate::store::{self, AsyncStore, StoredSite, StoredToken};

pub use secrets::{KEY_BYTES, KeyError, NONCE_BYTES, Sealed, TokenKey};

/// Where a site is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The config file; removed only by editing it.
    Config,
    /// Added through the control API; stored in the store.
    Api,
}

/// One site: what the API may show about it, and its client.
pub struct Site {
    info: SiteInfo,
    client: SiteClient,
}

impl Origin {
    /// `config` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Api => "api",
        }
    }
}

/// Where the token of a site added through the API comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// An environment variable of the daemon.
    Env,
    /// A file the daemon reads.
    File,
    /// Given inline; stored sealed with the daemon's key.
    Inline,
}

impl TokenSource {
    fn of(token: &StoredToken) -> TokenSource {
        match token {
            StoredToken::Env(_) => TokenSource::Env,
            StoredToken::File(_) => TokenSource::File,
            StoredToken::Inline { .. } => TokenSource::Inline,
        }
    }

    /// `env`, `file` or `inline`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Env => "env",
            TokenSource::File => "file",
            TokenSource::Inline => "inline",
        }
    }
}

/// The public face of a site: everything but its tokens (only their number and source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteInfo {
    /// Unique name.
    pub name: String,
    /// "cloud" or "dc".
    pub flavor: String,
    /// Assets REST base URL.
    pub api_url: String,
    /// Jira site URL.
    pub site_url: String,
    /// Account e-mail.
    pub email: String,
    /// Size of the credential pool.
    pub tokens: usize,
    /// Config file or API.
    pub source: Origin,
    /// For an added site: `env`, `file` or `inline` (sealed in the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_source: Option<TokenSource>,
}

impl Site {
    /// The public description.
    pub fn info(&self) -> &SiteInfo {
        &self.info
    }

    /// The site's API (its shared client).
    pub fn client(&self) -> &dyn AssetsApi {
        self.client.api()
    }

    /// The site's API as a shared handle.
    pub fn shared_client(&self) -> std::sync::Arc<dyn AssetsApi> {
        self.client.shared()
    }

    /// The client's counters.
    pub fn stats(&self) -> ClientStats {
        self.client.core().stats()
    }
}

/// Where the token of a site being added comes from.
pub enum TokenInput {
    /// An environment variable of the daemon.
    Env(String),
    /// A file readable by the daemon (absolute path).
    File(PathBuf),
    /// The token itself; stored sealed.
    Inline(Secret),
}

/// A site to add through the API.
pub struct NewSite {
    /// Unique name.
    pub name: String,
    /// Cloud or Data Center.
    pub flavor: Flavor,
    /// Cloud: the Assets REST base URL.
    pub api_url: Option<String>,
    /// Cloud: the Jira site URL.
    pub site_url: Option<String>,
    /// Data Center: the Jira base URL.
    pub base_url: Option<String>,
    /// Account e-mail (Cloud: required; Data Center: Basic auth's user, else the token is a
    /// personal access token).
    pub email: Option<String>,
    /// The token's source.
    pub token: TokenInput,
}

/// Where a site points: its URLs as stored, and its account.
struct Endpoint {
    flavor: Flavor,
    api_url: String,
    site_url: String,
    email: String,
}

impl Endpoint {
    /// The URLs of `new` for its flavor, recording what is wrong in `fields`.
    fn of(new: &NewSite, fields: &mut BTreeMap<String, String>) -> Option<Endpoint> {
        let mut url = |name: &str, value: &Option<String>| match value {
            Some(v) => check_http_url(v)
                .map_err(|m| fields.insert(name.to_owned(), m))
                .ok(),
            None => {
                fields.insert(name.to_owned(), "is required for this flavor".to_owned());
                None
            }
        };
        let email = new.email.as_deref().map(str::trim).unwrap_or("");
        match new.flavor {
            Flavor::Cloud => {
                let api_url = url("api_url", &new.api_url);
                let site_url = url("site_url", &new.site_url);
                if email.is_empty() {
                    fields.insert("email".to_owned(), "must not be empty".to_owned());
                }
                Some(Endpoint {
                    flavor: Flavor::Cloud,
                    api_url: api_url?,
                    site_url: site_url?,
                    email: email.to_owned(),
                })
            }
            Flavor::Dc => {
                let base = url("base_url", &new.base_url)?;
                Some(Endpoint {
                    flavor: Flavor::Dc,
                    api_url: format!("{base}{}", assets::dc::ASSETS_PATH),
                    site_url: base,
                    email: email.to_owned(),
                })
            }
        }
    }

    /// How the client reaches it.
    fn spec(&self, name: &str, token: Secret) -> SiteSpec {
        match self.flavor {
            Flavor::Cloud => SiteSpec::Cloud(SiteConn {
                name: name.to_owned(),
                api_url: self.api_url.clone(),
                site_url: self.site_url.clone(),
                email: self.email.clone(),
                tokens: vec![token],
                limits: Limits::default(),
            }),
            Flavor::Dc => SiteSpec::Dc(DcConn {
                name: name.to_owned(),
                base_url: self.site_url.clone(),
                email: (!self.email.is_empty()).then(|| self.email.clone()),
                tokens: vec![token],
                limits: Limits {
                    rate_limited: false,
                    ..Limits::default()
                },
                legacy_insight: self.api_url.ends_with(assets::dc::INSIGHT_PATH),
            }),
        }
    }
}

/// Why a site cannot be added or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SiteError {
    /// Values are wrong; one message per field.
    #[error("invalid site")]
    Invalid(BTreeMap<String, String>),
    /// A site of that name exists already.
    #[error("a site named {0:?} exists already")]
    Exists(String),
    /// No site of that name.
    #[error("no site named {0:?} is configured")]
    NotFound(String),
    /// The site comes from the config file.
    #[error("site {0:?} is defined in the config file; remove it there and restart the daemon")]
    FromConfig(String),
    /// The token names an environment variable or file of the daemon, which
    /// `[control] allow_token_sources` does not allow.
    #[error(
        "{0}: the daemon takes only inline tokens through the API (stored sealed); \
         a token from the daemon's environment or files needs `allow_token_sources = true` \
         in [control] of its config"
    )]
    SourceNotAllowed(&'static str),
    /// The connection test failed: nothing was saved.
    #[error("site {site}: the connection test failed; nothing was saved")]
    Test {
        /// Site name.
        site: String,
        /// The client's error (with the API's body for a 4xx).
        #[source]
        source: assets::Error,
    },
    /// The token key is missing or cannot seal/open.
    #[error("token key")]
    Key(#[from] KeyError),
    /// The store failed.
    #[error("site store")]
    Store(#[from] store::Error),
}

/// Every site the daemon knows: the config's, in file order, then the added ones by name.
pub struct Sites {
    sites: RwLock<Vec<Arc<Site>>>,
    key: Option<TokenKey>,
    /// Serialises adds, so two requests for one name can't both pass the "exists?" check.
    add_lock: tokio::sync::Mutex<()>,
    clock: SharedClock,
    /// Whether an added site's token may come from the daemon's environment or files.
    token_sources: bool,
}

impl Default for Sites {
    /// No sites, no key, the system clock.
    fn default() -> Self {
        Sites {
            sites: RwLock::default(),
            key: None,
            add_lock: tokio::sync::Mutex::new(()),
            clock: crate::clock::system(),
            token_sources: false,
        }
    }
}

impl Sites {
    /// Builds one client per configured site; `key` seals and opens inline tokens of sites
    /// added through the API (without it, such sites cannot be added or loaded).
    ///
    /// # Errors
    ///
    /// The first client that cannot be built (e.g. its TLS backend fails to initialise), with
    /// the site's name.
    pub fn from_config(
        sites: &[SiteConfig],
        key: Option<TokenKey>,
        clock: SharedClock,
    ) -> Result<Sites, (String, assets::Error)> {
        let sites = sites
            .iter()
            .map(|cfg| {
                let client = cfg.client().map_err(|e| (cfg.name.clone(), e))?;
                Ok(Arc::new(Site {
                    info: SiteInfo {
                        name: cfg.name.clone(),
                        flavor: cfg.flavor.clone(),
                        api_url: cfg.api_url.clone(),
                        site_url: cfg.site_url.clone(),
                        email: cfg.email.clone(),
                        tokens: cfg.tokens.len(),
                        source: Origin::Config,
                        token_source: None,
                    },
                    client,
                }))
            })
            .collect::<Result<_, _>>()?;
        Ok(Sites {
            sites: RwLock::new(sites),
            key,
            add_lock: tokio::sync::Mutex::new(()),
            clock,
            token_sources: false,
        })
    }

    /// Lets [`Sites::add`] take a token from an environment variable or a file of the daemon
    /// (`[control] allow_token_sources`); by default only inline tokens are taken.
    #[must_use]
    pub fn with_token_sources(mut self, allow: bool) -> Self {
        self.token_sources = allow;
        self
    }

    /// Adds the sites stored by earlier `sites add` calls. A stored site whose token can no
    /// longer be found (variable unset, file gone, other key file) or whose name the config
    /// now uses is skipped with a warning: the daemon still serves everything else.
    ///
    /// # Errors
    ///
    /// A store error.
    pub async fn load_stored(&self, store: &AsyncStore) -> Result<usize, store::Error> {
        let mut loaded = 0;
        for stored in store.list_sites().await? {
            if self.get(&stored.name).is_some() {
                tracing::warn!(site = %stored.name, "A stored site has the name of a config site; the config's is used.");
                continue;
            }
            let token = match self.resolve_stored(&stored) {
                Ok(t) => t,
                Err(message) => {
                    tracing::warn!(site = %stored.name, problem = %message, "A stored site was skipped.");
                    continue;
                }
            };
            let source = TokenSource::of(&stored.token);
            let endpoint = Endpoint {
                flavor: stored.flavor.parse().unwrap_or(Flavor::Cloud),
                api_url: stored.api_url.clone(),
                site_url: stored.site_url.clone(),
                email: stored.email.clone(),
            };
            match build(&stored.name, &endpoint, token, source) {
                Ok(site) => {
                    self.sites.write().push(Arc::new(site));
                    loaded += 1;
                }
                Err(e) => {
                    tracing::warn!(site = %stored.name, error = %error_chain(&e), "A stored site was skipped.");
                }
            }
        }
        Ok(loaded)
    }

    fn resolve_stored(&self, stored: &StoredSite) -> Result<Secret, String> {
        match &stored.token {
            StoredToken::Env(var) => env_token(var),
            StoredToken::File(path) => file_token(&PathBuf::from(path)),
            StoredToken::Inline { nonce, sealed } => {
                let key = self.key.as_ref().ok_or("the daemon has no token key")?;
                let sealed = Sealed {
                    nonce: nonce.clone(),
                    ciphertext: sealed.clone(),
                };
                key.open(&stored.name, &sealed).map_err(|e| error_chain(&e))
            }
        }
    }

    /// A site by name.
    pub fn get(&self, name: &str) -> Option<Arc<Site>> {
        self.sites
            .read()
            .iter()
            .find(|s| s.info.name == name)
            .cloned()
    }

    /// Every site: the config's in file order, then the added ones.
    pub fn list(&self) -> Vec<Arc<Site>> {
        self.sites.read().clone()
    }

    /// Checks a new site, tests its connection, then stores it (an inline token sealed) and
    /// makes it available. Nothing is saved when any step fails.
    ///
    /// # Errors
    ///
    /// [`SiteError::Invalid`], [`SiteError::Exists`], [`SiteError::Test`] with the API's
    /// error, [`SiteError::Key`], [`SiteError::Store`].
    pub async fn add(&self, store: &AsyncStore, new: NewSite) -> Result<SiteInfo, SiteError> {
        let _guard = self.add_lock.lock().await;
        let mut fields = BTreeMap::new();
        if !self.token_sources {
            let field = match &new.token {
                TokenInput::Env(_) => Some("token_env"),
                TokenInput::File(_) => Some("token_file"),
                TokenInput::Inline(_) => None,
            };
            if let Some(field) = field {
                return Err(SiteError::SourceNotAllowed(field));
            }
        }
        if !valid_site_name(&new.name) {
            fields.insert(
                "name".to_owned(),
                format!(
                    "{:?} is not a valid site name (1-64 letters, digits, '-', '_' or '.', \
                     starting with a letter or digit)",
                    new.name
                ),
            );
        }
        let endpoint = Endpoint::of(&new, &mut fields);
        let (token, stored_token) = match &new.token {
            TokenInput::Env(var) => (
                env_token(var).map_err(|m| fields.insert("token_env".into(), m)),
                StoredToken::Env(var.clone()),
            ),
            TokenInput::File(path) => {
                let token = if path.is_absolute() {
                    file_token(path)
                } else {
                    Err(format!("{} is not an absolute path", path.display()))
                };
                (
                    token.map_err(|m| fields.insert("token_file".into(), m)),
                    StoredToken::File(path.display().to_string()),
                )
            }
            TokenInput::Inline(secret) => {
                let token = if secret.expose().trim().is_empty() {
                    fields.insert("token".into(), "must not be empty".into());
                    Err(None)
                } else {
                    Ok(Secret::new(secret.expose().trim()))
                };
                // Sealed below, once the site passed its test.
                (
                    token,
                    StoredToken::Inline {
                        nonce: Vec::new(),
                        sealed: Vec::new(),
                    },
                )
            }
        };
        let (Some(endpoint), Ok(token), true) = (endpoint, token, fields.is_empty()) else {
            return Err(SiteError::Invalid(fields));
        };
        if self.get(&new.name).is_some() {
            return Err(SiteError::Exists(new.name));
        }
        let stored_token = match stored_token {
            StoredToken::Inline { .. } => {
                let key = self.key.as_ref().ok_or(KeyError::Open)?;
                let sealed = key.seal(&new.name, &token);
                StoredToken::Inline {
                    nonce: sealed.nonce,
                    sealed: sealed.ciphertext,
                }
            }
            other => other,
        };
        let source = TokenSource::of(&stored_token);
        let site =
            build(&new.name, &endpoint, token, source).map_err(|source| SiteError::Test {
                site: new.name.clone(),
                source,
            })?;
        site.client()
            .test_connection()
            .await
            .map_err(|source| SiteError::Test {
                site: new.name.clone(),
                source,
            })?;
        let stored = StoredSite {
            name: new.name.clone(),
            flavor: endpoint.flavor.as_str().to_owned(),
            api_url: endpoint.api_url,
            site_url: endpoint.site_url,
            email: endpoint.email,
            token: stored_token,
            created_at: self.clock.now(),
        };
        if !store.add_site(stored).await? {
            return Err(SiteError::Exists(new.name));
        }
        let info = site.info.clone();
        self.sites.write().push(Arc::new(site));
        tracing::info!(site = %info.name, token_source = source.as_str(), "Site added.");
        Ok(info)
    }

    /// Whether [`Sites::remove`] may remove `name`: a site added through the API, loaded or
    /// not (a stored site whose token cannot be opened any more must still be removable).
    ///
    /// # Errors
    ///
    /// [`SiteError::NotFound`], [`SiteError::FromConfig`], [`SiteError::Store`].
    pub async fn check_removable(&self, store: &AsyncStore, name: &str) -> Result<(), SiteError> {
        match self.get(name) {
            Some(site) if site.info.source == Origin::Config => {
                Err(SiteError::FromConfig(name.to_owned()))
            }
            Some(_) => Ok(()),
            None if store.list_sites().await?.iter().any(|s| s.name == name) => Ok(()),
            None => Err(SiteError::NotFound(name.to_owned())),
        }
    }

    /// Removes a site added through the API (from the store and from memory). Jobs that
    /// already hold its client finish with it.
    ///
    /// # Errors
    ///
    /// [`SiteError::NotFound`], [`SiteError::FromConfig`], [`SiteError::Store`].
    pub async fn remove(&self, store: &AsyncStore, name: &str) -> Result<(), SiteError> {
        let _guard = self.add_lock.lock().await;
        self.check_removable(store, name).await?;
        store.remove_site(name).await?;
        self.sites.write().retain(|s| s.info.name != name);
        tracing::info!(site = %name, "Site removed.");
        Ok(())
    }
}

/// A site with the flavor's default limits and a client for it.
fn build(
    name: &str,
    endpoint: &Endpoint,
    token: Secret,
    source: TokenSource,
) -> Result<Site, assets::Error> {
    let client = SiteClient::new(endpoint.spec(name, token))?;
    Ok(Site {
        info: SiteInfo {
            name: name.to_owned(),
            flavor: endpoint.flavor.as_str().to_owned(),
            api_url: endpoint.api_url.clone(),
            site_url: endpoint.site_url.clone(),
            email: endpoint.email.clone(),
            tokens: 1,
            source: Origin::Api,
            token_source: Some(source),
        },
        client,
    })
}

fn env_token(var: &str) -> Result<Secret, String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
        Ok(_) => Err(format!("environment variable {var} of the daemon is empty")),
        Err(_) => Err(format!(
            "environment variable {var} is not set for the daemon"
        )),
    }
}

fn file_token(path: &std::path::Path) -> Result<Secret, String> {
    // The first line, as for `token_file` in the config.
    match std::fs::read_to_string(path) {
        Ok(t) if !crate::config::first_line(&t).is_empty() => {
            Ok(Secret::new(crate::config::first_line(&t)))
        }
        Ok(_) => Err(format!(
            "first line of token file {} is empty",
            path.display()
        )),
        Err(e) => Err(format!("cannot read token file {}: {e}", path.display())),
    }
}
