//! The requests both clients send, over the shared layers of [`Core`] (retry → rate → HTTP):
//! a JSON call decoded into a model type, a call whose answer is not read, reads of the
//! Assets base and of Jira, and creates that are never repeated blindly. Also the path and
//! query encoding every path goes through.

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::http::{JSON, Mode, Request, Target};
use super::{Core, Error};
use crate::model::Entity;

/// A path segment from an id: ids are digits (or simple names), but nothing an id holds may
/// change which resource a path names.
pub(super) fn seg(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query string.
pub(super) fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

impl Core {
    /// Sends one request and decodes its JSON answer as `T` (an empty body decodes as `null`).
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        target: Target,
        path: &str,
        body: Option<&(dyn ErasedBody + Sync)>,
        mode: Mode,
        what: &'static str,
    ) -> Result<T, Error> {
        let bytes = self.send(method.clone(), target, path, body, mode).await?;
        let decoded = if bytes.iter().all(u8::is_ascii_whitespace) {
            T::deserialize(Value::Null)
        } else {
            serde_json::from_slice(&bytes)
        };
        decoded.map_err(|e| Error::Decode {
            method: method.to_string(),
            path: path.to_owned(),
            what,
            source: Some(e),
        })
    }

    /// Sends one request whose answer is not needed.
    pub(super) async fn send(
        &self,
        method: Method,
        target: Target,
        path: &str,
        body: Option<&(dyn ErasedBody + Sync)>,
        mode: Mode,
    ) -> Result<bytes::Bytes, Error> {
        let body = body
            .map(|b| b.encode())
            .transpose()
            .map_err(|source| Error::Encode {
                method: method.to_string(),
                path: path.to_owned(),
                source,
            })?;
        let req = Request {
            method,
            target,
            path,
            body: body.map(bytes::Bytes::from),
            mode,
            accept: JSON,
            content_type: None,
            spool: None,
        };
        self.transport.send(&req).await
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &'static str,
    ) -> Result<T, Error> {
        self.call(
            Method::GET,
            Target::Assets,
            path,
            None,
            Mode::Idempotent,
            what,
        )
        .await
    }

    pub(super) async fn jira_get<T: DeserializeOwned>(
        &self,
        path: &str,
        what: &'static str,
    ) -> Result<T, Error> {
        self.call(
            Method::GET,
            Target::Jira,
            path,
            None,
            Mode::Idempotent,
            what,
        )
        .await
    }

    /// A create: POSTed once ([`Error::Ambiguous`] when it may have been applied). The answer
    /// must carry the new entity's id.
    pub(super) async fn create<T: DeserializeOwned + Entity>(
        &self,
        path: &str,
        body: &(dyn ErasedBody + Sync),
        what: &'static str,
    ) -> Result<T, Error> {
        let created: T = self
            .call(
                Method::POST,
                Target::Assets,
                path,
                Some(body),
                Mode::Once,
                what,
            )
            .await?;
        if created.id().non_empty().is_none() {
            return Err(Error::Decode {
                method: Method::POST.to_string(),
                path: path.to_owned(),
                what,
                source: None,
            });
        }
        Ok(created)
    }
}

/// A request body of any model type (the trait methods are object-safe, the bodies typed).
pub(super) trait ErasedBody {
    fn encode(&self) -> Result<Vec<u8>, serde_json::Error>;
}

impl<T: Serialize> ErasedBody for T {
    fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}
