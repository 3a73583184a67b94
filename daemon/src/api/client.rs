//! [`ControlClient`]: a small HTTP/1.1 client of the control API over the Unix socket.
//!
//! reqwest 0.12 cannot dial Unix sockets, so this speaks hyper directly: one connection per
//! request (the CLI makes a handful), JSON in and out. A non-2xx answer becomes
//! [`ClientError::Api`] with the daemon's own `{"error": {"code", "message"}}`. Long answers
//! (live events, the full restore log) are read chunk by chunk with [`ControlClient::stream`].
//! Every request has a timeout (a hung daemon must not hang the CLI); a stream's body is not
//! timed once its answer started.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::net::UnixStream;

use super::wire::ErrorBody;

/// Why a call to the daemon failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The socket does not accept connections: no daemon, or the wrong path.
    #[error("cannot reach the assetark daemon at {}: {source}; is `assetark serve` running?", socket.display())]
    Connect {
        /// The socket path.
        socket: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed half-way (the daemon went away).
    #[error("the daemon closed the connection")]
    Http(#[from] hyper::Error),
    /// The request could not be built (a bug in the CLI).
    #[error("bad request")]
    Request(#[from] hyper::http::Error),
    /// The daemon answered with an error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// The daemon's message.
        message: String,
    },
    /// The daemon's answer was not JSON.
    #[error("the daemon sent a response that is not JSON (status {status})")]
    NotJson {
        /// HTTP status.
        status: u16,
    },
    /// The daemon's answer is JSON, but not of the shape this client expects (a daemon of
    /// another version, or a bug).
    #[error("the daemon's answer (status {status}) is not the expected {what}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// The wire type expected.
        what: &'static str,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// The daemon did not answer in time.
    #[error("the daemon did not answer within {} s", after.as_secs_f32())]
    Timeout {
        /// How long the client waited.
        after: Duration,
    },
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status (2xx).
    pub status: u16,
    /// The `Location` header, when the daemon started a job.
    pub location: Option<String>,
    /// The JSON body, as sent (`--json` prints it as is).
    pub body: Value,
}

impl Reply {
    /// The body as its wire type (see `crate::api::wire`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Unexpected`] when the body does not have that shape.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        T::deserialize(&self.body).map_err(|source| ClientError::Unexpected {
            status: self.status,
            what: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("answer"),
            source,
        })
    }
}

/// Client of one daemon's control socket.
#[derive(Debug, Clone)]
pub struct ControlClient {
    socket: PathBuf,
    timeout: Duration,
}

/// How long a client waits for an answer unless told otherwise: the daemon's default request
/// timeout plus a margin, so that the daemon's own timeout answer arrives first.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(150);

impl ControlClient {
    /// A client of the socket at `socket` that waits [`DEFAULT_TIMEOUT`] for an answer.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self::with_timeout(socket, DEFAULT_TIMEOUT)
    }

    /// A client that waits at most `timeout` for an answer to start (streams then take as
    /// long as they take).
    pub fn with_timeout(socket: impl Into<PathBuf>, timeout: Duration) -> Self {
        ControlClient {
            socket: socket.into(),
            timeout,
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `GET path`.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn get(&self, path: &str) -> Result<Reply, ClientError> {
        self.call_text(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body (one of the wire types).
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn post<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Reply, ClientError> {
        let body = serde_json::to_string(body).map_err(|source| ClientError::Unexpected {
            status: 0,
            what: "request body",
            source,
        })?;
        self.call_text(Method::POST, path, Some(body)).await
    }

    /// `POST path` without a body.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn post_empty(&self, path: &str) -> Result<Reply, ClientError> {
        self.call_text(Method::POST, path, None).await
    }

    /// `DELETE path`.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn delete(&self, path: &str) -> Result<Reply, ClientError> {
        self.call_text(Method::DELETE, path, None).await
    }

    /// `GET path`, handing the body to `on_chunk` as it arrives (server-sent events, large
    /// downloads); `on_chunk` returns `false` to stop reading. A non-2xx answer is read whole
    /// and becomes [`ClientError::Api`].
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn stream(
        &self,
        path: &str,
        mut on_chunk: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), ClientError> {
        let mut sender = self.connect().await?;
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(hyper::header::HOST, "assetark")
            .body(Full::new(Bytes::new()))?;
        let resp = self.timed(sender.send_request(req)).await??;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        if !(200..300).contains(&status) {
            let raw = body.collect().await?.to_bytes();
            return Err(api_error(status, &raw));
        }
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data()
                && !on_chunk(&data)
            {
                break;
            }
        }
        Ok(())
    }

    async fn connect(
        &self,
    ) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, ClientError> {
        let stream = self
            .timed(UnixStream::connect(&self.socket))
            .await?
            .map_err(|source| ClientError::Connect {
                socket: self.socket.clone(),
                source,
            })?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends when the response is read and the sender is dropped.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends one request with an optional JSON text body; a non-2xx answer is
    /// [`ClientError::Api`].
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn call_text(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Reply, ClientError> {
        let (status, location, raw) = self.send_raw(method, path, body).await?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &raw));
        }
        let body: Value = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).map_err(|_| ClientError::NotJson { status })?
        };
        Ok(Reply {
            status,
            location,
            body,
        })
    }

    /// Sends a request with a raw body (any text, for tests of malformed input) and returns
    /// status, `Location` and the raw response body, whatever the status.
    ///
    /// # Errors
    ///
    /// [`ClientError::Connect`], [`ClientError::Http`], [`ClientError::Request`].
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, Option<String>, Bytes), ClientError> {
        let mut sender = self.connect().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "assetark");
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        // The whole exchange is timed: these answers are small JSON documents.
        self.timed(async {
            let resp = sender.send_request(req).await?;
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let raw = resp.into_body().collect().await?.to_bytes();
            Ok((status, location, raw))
        })
        .await?
    }

    /// Runs `f` within the client's timeout.
    async fn timed<T>(&self, f: impl std::future::Future<Output = T>) -> Result<T, ClientError> {
        tokio::time::timeout(self.timeout, f)
            .await
            .map_err(|_| ClientError::Timeout {
                after: self.timeout,
            })
    }
}

/// [`ClientError::Api`] from an error answer: the daemon's `{"error": {"code", "message"}}`,
/// or just the status when the body is not that.
fn api_error(status: u16, raw: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(raw) {
        Ok(body) => ClientError::Api {
            status,
            code: body.error.code,
            message: body.error.message,
        },
        Err(_) => ClientError::Api {
            status,
            code: "unknown".to_owned(),
            message: format!("the daemon answered {status}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_daemon_that_never_answers_times_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mute.sock");
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        // Accepts connections and reads nothing, answers nothing.
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                open.push(conn);
            }
        });
        let client = ControlClient::with_timeout(&path, Duration::from_millis(200));
        let err = client.get("/healthz").await.expect_err("no answer");
        assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}: {err}");
        assert_eq!(err.to_string(), "the daemon did not answer within 0.2 s");
        let err = client.stream("/x", |_| true).await.expect_err("no answer");
        assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
        held.abort();
    }
}
