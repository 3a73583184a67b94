//! Where the control API listens: a Unix socket (mode 0600, only our own user may connect,
//! removed on exit) and optionally a loopback TCP port that requires a bearer token.
//!
//! The socket's permissions are the first line of defence; the peer-credential check on every
//! accepted connection closes the short window between `bind` and `chmod` and protects a
//! socket placed in a directory others can enter.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use super::error::{ApiError, ErrorKind};
use super::request_line::CappedListener;
use crate::assets::Secret;

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// Another process answers on the socket: probably a daemon already running.
    #[error("another daemon is already listening on {}", path.display())]
    InUse {
        /// The socket path.
        path: PathBuf,
    },
    /// Something that is not a socket is in the way; we never delete it.
    #[error("{} exists and is not a socket; remove it or choose another control.socket", path.display())]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// Binding, creating the directory or setting permissions failed.
    #[error("cannot listen on {what}")]
    Io {
        /// The socket path or TCP address.
        what: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

fn io_err(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> ListenError {
    let what = what.to_string();
    move |source| ListenError::Io { what, source }
}

/// The bound Unix socket; the file is removed when this is dropped.
pub struct ControlSocket {
    listener: Option<UnixListener>,
    path: PathBuf,
    uid: u32,
}

impl ControlSocket {
    /// Binds `path` with mode 0600, replacing a stale socket left by a crash (but never a live
    /// one or a file that is not a socket). Creates the parent directory (mode 0700) if needed.
    ///
    /// # Errors
    ///
    /// [`ListenError`].
    pub async fn bind(path: &Path) -> Result<ControlSocket, ListenError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_err(dir.display()))?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                if UnixStream::connect(path).await.is_ok() {
                    return Err(ListenError::InUse {
                        path: path.to_path_buf(),
                    });
                }
                tracing::info!(socket = %path.display(), "Removing a stale control socket.");
                std::fs::remove_file(path).map_err(io_err(path.display()))?;
            }
            Ok(_) => {
                return Err(ListenError::NotASocket {
                    path: path.to_path_buf(),
                });
            }
            Err(_) => {}
        }
        let listener = UnixListener::bind(path).map_err(io_err(path.display()))?;
        // From here on the guard owns the file, so any error below still removes it.
        let mut socket = ControlSocket {
            listener: Some(listener),
            path: path.to_path_buf(),
            uid: 0,
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err(path.display()))?;
        // The socket file is owned by our effective uid: reading it back avoids `getuid()`,
        // which would need `unsafe` (forbidden in this workspace).
        socket.uid = std::fs::metadata(path)
            .map_err(io_err(path.display()))?
            .uid();
        Ok(socket)
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn take_listener(&mut self) -> Option<PeerCheckedListener> {
        let uid = self.uid;
        self.listener
            .take()
            .map(|inner| PeerCheckedListener { inner, uid })
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(socket = %self.path.display(), error = %e, "Removing the control socket failed.");
        }
    }
}

/// A Unix listener that drops connections from users other than ours (and root).
struct PeerCheckedListener {
    inner: UnixListener,
    uid: u32,
}

impl axum::serve::Listener for PeerCheckedListener {
    type Io = UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, addr) = axum::serve::Listener::accept(&mut self.inner).await;
            match io.peer_cred() {
                Ok(cred) if cred.uid() == self.uid || cred.uid() == 0 => return (io, addr),
                Ok(cred) => {
                    tracing::warn!(
                        peer_uid = cred.uid(),
                        "Control connection from another user refused."
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Control connection without peer credentials refused.")
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Binds the optional TCP listener.
///
/// # Errors
///
/// [`ListenError::Io`].
pub async fn bind_tcp(addr: std::net::SocketAddr) -> Result<TcpListener, ListenError> {
    TcpListener::bind(addr).await.map_err(io_err(addr))
}

/// Serves `router` on the socket and, with a token, on `tcp`, until `shutdown` is cancelled;
/// then stops accepting and waits for in-flight requests.
///
/// # Errors
///
/// An I/O error of either server.
pub async fn serve(
    router: Router,
    socket: &mut ControlSocket,
    tcp: Option<(TcpListener, Secret)>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let unix = socket.take_listener().map(|listener| {
        let router = router.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(CappedListener(listener), router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        })
    });
    let tcp = tcp.map(|(listener, token)| {
        let router = router.layer(axum::middleware::from_fn_with_state(
            Arc::new(token),
            require_bearer,
        ));
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(CappedListener(listener), router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        })
    });
    for task in [unix, tcp].into_iter().flatten() {
        task.await.map_err(io::Error::other)??;
    }
    Ok(())
}

/// Rejects TCP requests without `Authorization: Bearer <token>` (except `/healthz`, which
/// tells nothing and lets a supervisor probe the port).
async fn require_bearer(State(token): State<Arc<Secret>>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if constant_time_eq(given.as_bytes(), token.expose().as_bytes()) {
        next.run(req).await
    } else {
        ApiError::new(
            ErrorKind::Unauthorized,
            "unauthorized",
            "a valid bearer token is required on the TCP listener",
        )
        .into_response()
    }
}

/// Compares without an early exit, so response timing does not reveal how much of a guessed
/// token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
