//! Starting the simulator: bind, build the sites, serve, and describe the result as the one
//! JSON line the binary prints (`{"url", "sites": [...]}`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util_shutdown::Shutdown;

use crate::barrier::{BarrierCounts, BarrierError, BarrierSpec, Condition, Entry};
use crate::config::{Flavor, SimConfig};
use crate::http::{self, App};

/// What a client needs to reach one site.
#[derive(Debug, Clone, Serialize)]
pub struct SiteInfo {
    pub name: String,
    pub workspace_id: String,
    pub cloud_id: String,
    pub api_url: String,
    pub site_url: String,
    pub email: String,
    pub token: String,
}

/// What a client needs to reach one Data Center site: Assets at `base_url + /rest/assets/1.0`,
/// Jira at `base_url + /rest/api/2`; the token works as a Bearer personal access token and as
/// the Basic password with the email.
#[derive(Debug, Clone, Serialize)]
pub struct DcSiteInfo {
    pub name: String,
    pub flavor: Flavor,
    pub base_url: String,
    pub email: String,
    pub token: String,
}

/// The line printed once the simulator listens: `{"url", "sites": [...]}`, the sites in
/// configuration order (Cloud sites as `SiteInfo`, Data Center sites as `DcSiteInfo`).
#[derive(Debug, Clone)]
pub struct Ready {
    pub url: String,
    /// The Cloud sites.
    pub sites: Vec<SiteInfo>,
    /// The Data Center sites.
    pub dc_sites: Vec<DcSiteInfo>,
    /// Configuration order: (flavor, index into `sites` or `dc_sites`).
    order: Vec<(Flavor, usize)>,
}

impl Serialize for Ready {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Line<'a> {
            Cloud(&'a SiteInfo),
            Dc(&'a DcSiteInfo),
        }
        #[derive(Serialize)]
        struct Out<'a> {
            url: &'a str,
            sites: Vec<Line<'a>>,
        }
        let sites = self
            .order
            .iter()
            .filter_map(|(f, i)| match f {
                Flavor::Cloud => self.sites.get(*i).map(Line::Cloud),
                Flavor::Dc => self.dc_sites.get(*i).map(Line::Dc),
            })
            .collect();
        Out {
            url: &self.url,
            sites,
        }
        .serialize(ser)
    }
}

/// A running simulator. Dropping it does not stop it; call `shutdown`.
pub struct SimHandle {
    pub ready: Ready,
    pub addr: SocketAddr,
    pub app: Arc<App>,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    pub fn url(&self) -> &str {
        &self.ready.url
    }
    /// A Cloud site.
    pub fn site(&self, name: &str) -> Option<&SiteInfo> {
        self.ready.sites.iter().find(|s| s.name == name)
    }
    /// A Data Center site.
    pub fn dc_site(&self, name: &str) -> Option<&DcSiteInfo> {
        self.ready.dc_sites.iter().find(|s| s.name == name)
    }
    /// Adds a request barrier (see `barrier`); dropping the returned handle removes it and
    /// releases what it holds.
    pub fn barrier(&self, spec: BarrierSpec) -> Result<Barrier, BarrierError> {
        let entry = self.app.barriers.add(spec)?;
        Ok(Barrier {
            app: self.app.clone(),
            entry,
        })
    }
    /// Stops serving and waits for the server task. Barriers are removed first: a held request
    /// would keep its connection, and the server, from finishing.
    pub async fn shutdown(self) {
        for e in self.app.barriers.all() {
            let _ = self.app.barriers.remove(e.id());
        }
        self.shutdown.trigger();
        let _ = self.task.await;
    }
    /// Waits until the server stops (for the binary).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// A barrier of an in-process simulator (`SimHandle::barrier`).
pub struct Barrier {
    app: Arc<App>,
    entry: Arc<Entry>,
}

impl Barrier {
    pub fn id(&self) -> u64 {
        self.entry.id()
    }
    pub fn counts(&self) -> BarrierCounts {
        self.entry.counts()
    }
    /// Waits until `n` requests are held. Panics after 60 s: a test waiting that long is stuck.
    pub async fn wait_held(&self, n: u64) -> BarrierCounts {
        self.wait(Condition::held(n)).await
    }
    /// Waits until `cond` holds. Panics after 60 s: a test waiting that long is stuck.
    pub async fn wait(&self, cond: Condition) -> BarrierCounts {
        match self
            .entry
            .wait(cond, std::time::Duration::from_secs(60))
            .await
        {
            Ok(c) => c,
            Err(c) => panic!(
                "barrier {}: {cond:?} not met within 60 s ({c:?})",
                self.id()
            ),
        }
    }
    /// Releases the oldest held request; false when none is held.
    pub fn release_one(&self) -> bool {
        self.entry.release(1) == 1
    }
    /// Releases every held request; returns how many.
    pub fn release_all(&self) -> usize {
        self.entry.release_all()
    }
}

impl Drop for Barrier {
    fn drop(&mut self) {
        let _ = self.app.barriers.remove(self.entry.id());
    }
}

/// Binds `cfg.listen`, builds every site's dataset and serves in the background.
pub async fn start(cfg: SimConfig) -> anyhow::Result<SimHandle> {
    cfg.validate()?;
    let listener = TcpListener::bind(&cfg.listen).await?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let app = {
        let cfg = cfg.clone();
        let url = url.clone();
        tokio::task::spawn_blocking(move || http::build_app(&cfg, &url)).await?
    };
    let (mut sites, mut dc_sites, mut order) = (Vec::new(), Vec::new(), Vec::new());
    for s in &app.sites {
        match s.flavor {
            Flavor::Cloud => {
                order.push((Flavor::Cloud, sites.len()));
                sites.push(SiteInfo {
                    name: s.name.clone(),
                    workspace_id: s.ws_id.clone(),
                    cloud_id: s.cloud_id.clone(),
                    api_url: format!("{url}/jsm/assets/workspace/{}/v1", s.ws_id),
                    site_url: s.site_url.clone(),
                    email: s.cfg.email.clone(),
                    token: s.cfg.token.clone(),
                });
            }
            Flavor::Dc => {
                order.push((Flavor::Dc, dc_sites.len()));
                dc_sites.push(DcSiteInfo {
                    name: s.name.clone(),
                    flavor: Flavor::Dc,
                    base_url: s.site_url.clone(),
                    email: s.cfg.email.clone(),
                    token: s.cfg.token.clone(),
                });
            }
        }
    }
    let svc = http::service(app.clone(), cfg.max_body_bytes);
    // Without TCP_NODELAY the last segment of a large page waits for the client's delayed ACK
    // (~40 ms a request): a real server does not stall like that.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let shutdown = Shutdown::default();
    let signal = shutdown.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, tower::make::Shared::new(svc))
            .with_graceful_shutdown(async move { signal.wait().await })
            .await
    });
    Ok(SimHandle {
        ready: Ready {
            url,
            sites,
            dc_sites,
            order,
        },
        addr,
        app,
        shutdown,
        task,
    })
}

/// A tiny one-shot shutdown signal.
mod tokio_util_shutdown {
    use std::sync::Arc;
    use tokio::sync::Notify;

    #[derive(Clone, Default)]
    pub struct Shutdown {
        notify: Arc<Notify>,
        fired: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Shutdown {
        pub fn trigger(&self) {
            self.fired.store(true, std::sync::atomic::Ordering::SeqCst);
            self.notify.notify_waiters();
        }
        pub async fn wait(&self) {
            loop {
                let n = self.notify.notified();
                if self.fired.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                n.await;
            }
        }
    }
}
