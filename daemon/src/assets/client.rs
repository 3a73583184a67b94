//! [`SiteClient`]: the client of one site, whichever product it runs — what the site registry
//! holds. Pipelines see it as `&dyn AssetsApi`; diagnostics (counters, the governor) come from
//! the layers both clients share ([`Core`]).

use std::sync::Arc;

use super::{AssetsApi, AssetsClient, Core, DcClient, DcConn, Error, SiteConn};

/// How to reach a site of either flavor.
#[derive(Debug, Clone)]
pub enum SiteSpec {
    /// An Assets Cloud site.
    Cloud(SiteConn),
    /// A Data Center site.
    Dc(DcConn),
}

/// The client of one site: Cloud or Data Center. Cheap to clone.
#[derive(Debug, Clone)]
pub enum SiteClient {
    /// Assets Cloud.
    Cloud(AssetsClient),
    /// Data Center.
    Dc(DcClient),
}

impl SiteClient {
    /// Builds the client `spec` describes.
    ///
    /// # Errors
    ///
    /// See [`AssetsClient::new`] and [`DcClient::new`].
    pub fn new(spec: SiteSpec) -> Result<SiteClient, Error> {
        Ok(match spec {
            SiteSpec::Cloud(conn) => SiteClient::Cloud(AssetsClient::new(conn)?),
            SiteSpec::Dc(conn) => SiteClient::Dc(DcClient::new(conn)?),
        })
    }

    /// The site's API.
    pub fn api(&self) -> &dyn AssetsApi {
        match self {
            SiteClient::Cloud(c) => c,
            SiteClient::Dc(c) => c,
        }
    }

    /// The site's API as a shared handle (for tasks that outlive a borrow).
    pub fn shared(&self) -> Arc<dyn AssetsApi> {
        match self {
            SiteClient::Cloud(c) => Arc::new(c.clone()),
            SiteClient::Dc(c) => Arc::new(c.clone()),
        }
    }

    /// The layers underneath: counters, the governor, the connection settings.
    pub fn core(&self) -> &Core {
        match self {
            SiteClient::Cloud(c) => c,
            SiteClient::Dc(c) => c,
        }
    }
}
