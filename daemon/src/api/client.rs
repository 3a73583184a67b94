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
use serde_json::Value;
use tokio::net::UnixStream;

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
    /// The JSON body.
    pub body: Value,
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
        self.call(Method::GET, path, None).await
    }

    /// `POST path` with an optional JSON body.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Reply, ClientError> {
        self.call(Method::POST, path, body).await
    }

    /// `DELETE path`.
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn delete(&self, path: &str) -> Result<Reply, ClientError> {
        self.call(Method::DELETE, path, None).await
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

    /// Sends one request; a non-2xx answer is [`ClientError::Api`].
    ///
    /// # Errors
    ///
    /// [`ClientError`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, ClientError> {
        let (status, location, raw) = self
            .send_raw(method, path, body.map(Value::to_string))
            .await?;
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
    let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
    let err = &body["error"];
    ClientError::Api {
        status,
        code: err["code"].as_str().unwrap_or("unknown").to_owned(),
        message: err["message"]
            .as_str()
            .map_or_else(|| format!("the daemon answered {status}"), str::to_owned),
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
