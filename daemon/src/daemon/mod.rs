//! `assetark serve`: wires the parts together and runs until a signal. This module only
//! assembles: the store, the site registry (`crate::sites`), the job runner (`crate::jobs`)
//! and the control API (`crate::api`) know nothing of it.
//!
//! Startup: open the store (which recovers from a crash: half-written backups go, running jobs
//! are requeued), load the token key (creating it on first start), build one Assets client
//! per site of the config and per site added through the API, bind the control socket (and
//! TCP), start the job runner (which resumes interrupted restores) and the scheduler (which
//! runs each missed schedule once), serve the API, and tell systemd `READY=1` (a no-op
//! outside systemd: see `notify`). Shutdown, on SIGTERM or SIGINT: systemd hears `STOPPING=1`,
//! the root token is cancelled, so the servers stop accepting, the scheduler stops (and with
//! it tokio-cron-scheduler) and every job's child token fires; the jobs get [`SHUTDOWN_GRACE`]
//! to clean up (a cancelled backup removes its partial data and requeues its job); then the
//! socket file is removed. A second signal exits at once.
//!
//! [`serve_with`] takes what a test or the demo injects: the clock, whether the wall-clock
//! cron trigger runs, and a channel that hears [`Ready`] once the API answers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod notify;

use crate::api::listen::{self, ControlSocket, ListenError};
use crate::api::{self, ApiLimits, ApiState};
use crate::assets;
use crate::clock::SharedClock;
use crate::config::{Config, StoreKind};
use crate::hooks::wasm::SitesByName;
use crate::jobs::{Jobs, JobsOptions, RetryPolicy};
use crate::schedules::{BackupQueue, Scheduler};
use crate::sites::{KeyError, Sites, TokenKey};
use crate::store::{self, AsyncStore, SqliteStore};

/// How long shutdown waits for in-flight requests and cancelled jobs before giving up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store could not be opened (or migrated, or recovered).
    #[error("cannot open the store at {}", path.display())]
    Store {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: store::Error,
    },
    /// The directory of the store could not be created.
    #[error("cannot create the store directory {}", path.display())]
    StoreDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A site's client could not be built.
    #[error("cannot set up the client of site {site}")]
    Client {
        /// Site name.
        site: String,
        /// Why.
        #[source]
        source: assets::Error,
    },
    /// The token key file cannot be read or created.
    #[error("cannot use the token key")]
    Key(#[from] KeyError),
    /// The token key file is gone while stored sites hold tokens sealed with it: a new key
    /// would silently orphan them.
    #[error(
        "the token key file {} is missing, but the tokens of site(s) {} are sealed with it; \
         put the key file back, or, if it is lost, create a new one \
         (`head -c 32 /dev/urandom > {0}; chmod 600 {0}`), start the daemon, remove those \
         sites (`assetark sites remove NAME --yes`) and add them again",
        key_file.display(),
        sites.join(", ")
    )]
    KeyMissing {
        /// The configured key file.
        key_file: PathBuf,
        /// The stored sites with sealed tokens.
        sites: Vec<String>,
    },
    /// The sites added through the API cannot be read from the store.
    #[error("cannot load the stored sites")]
    StoredSites(#[source] store::Error),
    /// The schedules cannot be read from the store.
    #[error("cannot load the schedules")]
    Schedules(#[source] store::Error),
    /// The control API could not listen.
    #[error("cannot start the control API")]
    Listen(#[from] ListenError),
    /// Serving failed.
    #[error("the control API failed")]
    Serve(#[source] std::io::Error),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers")]
    Signals(#[source] std::io::Error),
}

/// Opens the configured store on the blocking pool (opening runs migrations and recovery).
///
/// # Errors
///
/// [`Error::Store`], [`Error::StoreDir`].
pub async fn open_store(cfg: &crate::config::StoreConfig) -> Result<AsyncStore, Error> {
    match cfg.kind {
        StoreKind::Sqlite => {
            let path = cfg.path.clone();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                private_dir(dir).map_err(|source| Error::StoreDir {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            let opened = tokio::task::spawn_blocking({
                let path = path.clone();
                move || SqliteStore::open(path)
            })
            .await
            .map_err(store::Error::Task)
            .and_then(|r| r);
            let store = opened.map_err(|source| Error::Store { path, source })?;
            Ok(AsyncStore::new(Arc::new(store)))
        }
    }
}

/// How often an idle daemon checks that its store file is still the one it opened.
const STORE_CHECK_EVERY: Duration = Duration::from_secs(30);

/// Logs (once) when the store file is deleted or replaced, even while no request or job
/// touches it; every store call refuses work from then on (see `store::Error::Replaced`).
async fn watch_store(store: AsyncStore, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(STORE_CHECK_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(e) = store.run(|s| s.check()).await {
            tracing::error!(error = %e, "The store is gone; the daemon takes no work until it is restarted.");
            return;
        }
    }
}

/// Creates the store's directory (and missing parents) 0700 whatever the umask; an existing
/// directory is left as its owner set it (e.g. systemd's `StateDirectory`).
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// [`Error::KeyMissing`] when the key file does not exist but stored sites hold tokens sealed
/// with it (only then is making a new key harmless).
async fn refuse_lost_key(store: &AsyncStore, key_file: &std::path::Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(key_file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // Present (or unreadable, which loading the key reports).
        _ => return Ok(()),
    }
    let sealed: Vec<String> = store
        .list_sites()
        .await
        .map_err(Error::StoredSites)?
        .into_iter()
        .filter(|s| matches!(s.token, store::StoredToken::Inline { .. }))
        .map(|s| s.name)
        .collect();
    if sealed.is_empty() {
        return Ok(());
    }
    Err(Error::KeyMissing {
        key_file: key_file.to_path_buf(),
        sites: sealed,
    })
}

/// What a running daemon hands to whoever started it in-process (tests, the demo).
#[derive(Clone)]
pub struct Ready {
    /// The control socket.
    pub socket: PathBuf,
    /// The TCP listener's address, when configured.
    pub tcp: Option<std::net::SocketAddr>,
    /// The scheduler (tests wake it after moving a manual clock).
    pub scheduler: Arc<Scheduler>,
    /// The job runner.
    pub jobs: Arc<Jobs>,
}

/// How [`serve_with`] runs.
pub struct ServeOptions {
    /// The one clock of the daemon.
    pub clock: SharedClock,
    /// Whether tokio-cron-scheduler wakes the scheduler on the wall clock (off in tests that
    /// move a manual clock: its loop reads the system clock).
    pub wall_clock_trigger: bool,
    /// Hears [`Ready`] once the API is served.
    pub ready: Option<tokio::sync::oneshot::Sender<Ready>>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            clock: crate::clock::system(),
            wall_clock_trigger: true,
            ready: None,
        }
    }
}

/// Runs the daemon until SIGTERM/SIGINT (or until `stop` is cancelled, for in-process use).
///
/// # Errors
///
/// [`Error`] when startup fails or the API server fails.
pub async fn serve(config: Config, stop: CancellationToken) -> Result<(), Error> {
    serve_with(config, stop, ServeOptions::default()).await
}

/// [`serve`] with an injected clock, trigger choice and readiness channel.
///
/// # Errors
///
/// [`Error`] when startup fails or the API server fails.
pub async fn serve_with(
    config: Config,
    stop: CancellationToken,
    options: ServeOptions,
) -> Result<(), Error> {
    let store = open_store(&config.store).await?;
    refuse_lost_key(&store, &config.store.key_file).await?;
    let key = TokenKey::load_or_create(&config.store.key_file)?;
    let clock = options.clock;
    let sites = Sites::from_config(&config.sites, Some(key), Arc::clone(&clock))
        .map_err(|(site, source)| Error::Client { site, source })?
        .with_token_sources(config.control.allow_token_sources);
    sites
        .load_stored(&store)
        .await
        .map_err(Error::StoredSites)?;
    let sites = Arc::new(sites);
    if let Some(engine) = &config.wasm {
        // The `attachments` capability of WASM hooks reaches sites through this registry.
        let registry = Arc::clone(&sites);
        engine.connect_sites(Arc::new(SitesByName(move |name: &str| {
            registry.get(name).map(|site| site.shared_client())
        })));
    }

    let root = stop.child_token();
    let tracker = TaskTracker::new();
    let mut socket = ControlSocket::bind(&config.control.socket).await?;
    let tcp = match config.control.tcp {
        Some(t) => Some((listen::bind_tcp(t.addr).await?, t.token)),
        None => None,
    };
    watch_signals(root.clone(), socket.path().to_path_buf()).map_err(Error::Signals)?;

    let jobs_options = JobsOptions {
        hooks: Arc::new(config.hooks),
        max_concurrent: config.jobs.max_concurrent,
        retry: RetryPolicy {
            retries: config.jobs.max_retries,
            first_delay: config.jobs.retry_base,
            max_delay: config.jobs.retry_max,
        },
        full_every: config.backup.full_every,
    };
    let jobs = Jobs::new(
        store.clone(),
        Arc::clone(&sites),
        root.clone(),
        tracker.clone(),
        Arc::clone(&clock),
        jobs_options,
    );
    jobs.start();
    tracker.spawn(watch_store(store.clone(), root.clone()));
    let queue: Arc<dyn BackupQueue> = jobs.clone();
    let scheduler = Scheduler::new(store.clone(), Arc::clone(&clock), queue, config.schedules);
    scheduler
        .start(&tracker, root.clone(), options.wall_clock_trigger)
        .await
        .map_err(Error::Schedules)?;
    let router = api::router(ApiState {
        store,
        sites: Arc::clone(&sites),
        jobs: Arc::clone(&jobs),
        schedules: Arc::clone(&scheduler),
        clock,
        limits: ApiLimits::from_request_timeout(config.control.request_timeout),
    });
    let tcp_addr = tcp.as_ref().and_then(|(l, _)| l.local_addr().ok());
    tracing::info!(
        socket = %socket.path().display(),
        tcp = ?tcp_addr,
        sites = sites.list().len(),
        "Daemon started."
    );
    notify::ready();
    if let Some(ready) = options.ready {
        // Nobody waiting is fine.
        let _ = ready.send(Ready {
            socket: socket.path().to_path_buf(),
            tcp: tcp_addr,
            scheduler,
            jobs,
        });
    }

    let served = {
        let server = listen::serve(router, &mut socket, tcp, root.clone());
        tokio::pin!(server);
        tokio::select! {
            r = &mut server => r,
            () = async { root.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
                tracing::warn!("Requests still in flight after the grace period were abandoned.");
                Ok(())
            }
        }
    };
    // Whether a signal or a server error ended serving, everything else stops now.
    notify::stopping();
    root.cancel();
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("Jobs still running after the grace period were abandoned.");
    }
    drop(socket);
    tracing::info!("Daemon stopped.");
    served.map_err(Error::Serve)
}

/// First SIGTERM/SIGINT cancels `root` (graceful shutdown); a second one exits at once, after
/// removing the socket so the next start finds a clean path.
fn watch_signals(root: CancellationToken, socket: PathBuf) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        for round in 0..2 {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            if round == 0 {
                tracing::info!("Shutdown requested; stopping (signal again to quit at once).");
                root.cancel();
            } else {
                tracing::warn!("Second signal; quitting without waiting.");
                let _ = std::fs::remove_file(&socket);
                std::process::exit(130);
            }
        }
    });
    Ok(())
}
