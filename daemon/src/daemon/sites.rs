//! [`Sites`]: the configured Assets sites with one [`AssetsClient`] each, built once at startup
//! and shared by the control API and every job on that site, so all of them draw on the same
//! rate budget (the client's governor lives inside it).

use serde::Serialize;

use crate::assets::{self, AssetsClient};
use crate::config::SiteConfig;

/// One site: what the API may show about it, and its client.
pub struct Site {
    info: SiteInfo,
    client: AssetsClient,
}

/// The public face of a site: everything but its tokens (only their number).
#[derive(Debug, Clone, Serialize)]
pub struct SiteInfo {
    /// Name from the config.
    pub name: String,
    /// "cloud".
    pub flavor: String,
    /// Assets REST base URL.
    pub api_url: String,
    /// Jira site URL.
    pub site_url: String,
    /// Account e-mail.
    pub email: String,
    /// Size of the credential pool.
    pub tokens: usize,
}

impl Site {
    /// The public description.
    pub fn info(&self) -> &SiteInfo {
        &self.info
    }

    /// The shared client.
    pub fn client(&self) -> &AssetsClient {
        &self.client
    }
}

/// Every configured site, in config order.
#[derive(Default)]
pub struct Sites {
    sites: Vec<Site>,
}

impl Sites {
    /// Builds one client per configured site.
    ///
    /// # Errors
    ///
    /// The first client that cannot be built (e.g. its TLS backend fails to initialise), with
    /// the site's name.
    pub fn from_config(sites: &[SiteConfig]) -> Result<Sites, (String, assets::Error)> {
        let sites = sites
            .iter()
            .map(|cfg| {
                let client = AssetsClient::new(cfg.conn()).map_err(|e| (cfg.name.clone(), e))?;
                Ok(Site {
                    info: SiteInfo {
                        name: cfg.name.clone(),
                        flavor: cfg.flavor.clone(),
                        api_url: cfg.api_url.clone(),
                        site_url: cfg.site_url.clone(),
                        email: cfg.email.clone(),
                        tokens: cfg.tokens.len(),
                    },
                    client,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Sites { sites })
    }

    /// A site by name.
    pub fn get(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.info.name == name)
    }

    /// Every site, in config order.
    pub fn iter(&self) -> impl Iterator<Item = &Site> {
        self.sites.iter()
    }
}
