//! The innermost layer: one HTTP exchange with a site, nothing else — no waiting, no retry.
//! [`Http`] owns the site's reqwest client (rustls, connect timeout, User-Agent), its two base
//! URLs (Assets workspace, Jira site) and its credentials; [`Request`] says what to send and
//! where a download's body goes (memory, or spooled through [`Download`]).

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};

use super::download::{Download, Spooler};
use super::governor::{Class, classify};
use super::{Secret, SiteConn};

/// User-Agent of every request.
const USER_AGENT: &str = concat!("assetark/", env!("CARGO_PKG_VERSION"));
/// Connect timeout: a site that does not accept a TCP connection in this time is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Accept header of JSON calls; also the content type of bodies.
pub(super) const JSON: &str = "application/json";

/// Where a path is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The Assets workspace base (`api_url`).
    Assets,
    /// The Jira site (`site_url`).
    Jira,
}

/// How requests prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Auth {
    /// `email:token` (Cloud API tokens; Data Center passwords or tokens).
    Basic,
    /// `Bearer token` (Data Center personal access tokens).
    Bearer,
}

/// Whether a request may be repeated freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Reads, searches, PUTs: the same request twice gives the same state.
    Idempotent,
    /// Creates: repeated only when the server surely did not process it.
    Once,
}

/// One logical request.
#[derive(Debug, Clone)]
pub(super) struct Request<'a> {
    pub method: Method,
    pub target: Target,
    /// Relative to the target's base, query included.
    pub path: &'a str,
    /// A body, already encoded: JSON unless `content_type` says otherwise.
    pub body: Option<Bytes>,
    /// The body's content type when it is not JSON (a multipart upload); such a request also
    /// carries `X-Atlassian-Token: no-check`, which Jira wants on form posts.
    pub content_type: Option<&'a str>,
    pub mode: Mode,
    pub accept: &'static str,
    /// A download whose 2xx body is spooled ([`Download`]: hashed as it streams, a temporary
    /// file in this directory once it is large) instead of held in memory.
    pub spool: Option<&'a Path>,
}

impl Request<'_> {
    /// The endpoint class the rate governor counts this request in.
    pub fn class(&self) -> Class {
        match self.target {
            Target::Assets => classify(&self.method, self.path),
            Target::Jira => Class::Jira,
        }
    }
}

/// Why an exchange gave no [`Reply`].
#[derive(Debug)]
pub(super) enum Failure {
    /// The transport failed (connect, timeout, reset, truncated body).
    Transport(reqwest::Error),
    /// The body is longer than the cap of its kind; reading stopped there, so at most `cap`
    /// bytes of it were ever held. Permanent: the same request gets the same body.
    TooLarge {
        /// The status the answer came with.
        status: u16,
        /// The cap in bytes.
        cap: u64,
    },
    /// A spooled body could not be written to its temporary file.
    Spool(std::io::Error),
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        Failure::Transport(e)
    }
}

/// What came back.
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Body,
}

/// A body as read: in memory (JSON, error answers, unspooled downloads) or spooled.
#[derive(Debug)]
pub(super) enum Body {
    Bytes(Bytes),
    Spooled(Download),
}

impl Body {
    /// The bytes of an in-memory body; a spooled one (only ever a 2xx download) has none to
    /// show in an error.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Body::Bytes(b) => b,
            Body::Spooled(_) => &[],
        }
    }
}

/// The HTTP transport of one site.
pub(super) struct Http {
    client: reqwest::Client,
    api_url: String,
    site_url: String,
    email: String,
    tokens: Vec<Secret>,
    auth: Auth,
    timeout: Duration,
    /// Cap of a JSON body (pages, entities, error bodies).
    json_cap: u64,
    /// Cap of a file body (attachment and icon downloads).
    file_cap: u64,
}

impl Http {
    /// The transport of `site`.
    pub fn new(site: &SiteConn, auth: Auth) -> Result<Http, reqwest::Error> {
        Ok(Http {
            client: site_http()?,
            api_url: site.api_url.trim_end_matches('/').to_owned(),
            site_url: site.site_url.trim_end_matches('/').to_owned(),
            email: site.email.clone(),
            tokens: site.tokens.clone(),
            auth,
            timeout: Duration::from_secs(site.limits.request_timeout_secs.max(1)),
            json_cap: mib(site.limits.max_response_mb),
            file_cap: mib(site.limits.max_download_mb),
        })
    }

    /// Sends `req` once with credential `credential` of the pool.
    pub async fn exchange(&self, req: &Request<'_>, credential: usize) -> Result<Reply, Failure> {
        let base = match req.target {
            Target::Assets => &self.api_url,
            Target::Jira => &self.site_url,
        };
        let token = self.tokens.get(credential).or_else(|| self.tokens.first());
        let rb = self
            .client
            .request(req.method.clone(), format!("{base}{}", req.path));
        let token = token.map_or("", Secret::expose);
        let mut rb = match self.auth {
            Auth::Basic => rb.basic_auth(&self.email, Some(token)),
            // `bearer_auth` marks the header sensitive too.
            Auth::Bearer => rb.bearer_auth(token),
        }
        .header(ACCEPT, req.accept)
        .timeout(self.timeout);
        if let Some(body) = &req.body {
            rb = match req.content_type {
                None => rb.header(CONTENT_TYPE, JSON),
                Some(ct) => rb
                    .header(CONTENT_TYPE, ct)
                    .header("X-Atlassian-Token", "no-check"),
            }
            .body(body.clone());
        }
        let r = rb.send().await?;
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        // Only a download asks for something other than JSON.
        let cap = if req.accept == JSON {
            self.json_cap
        } else {
            self.file_cap
        };
        let body = match req.spool {
            Some(dir) if (200..300).contains(&status) => {
                Body::Spooled(read_spooled(r, cap, dir).await?)
            }
            _ => Body::Bytes(read_capped(r, cap).await?),
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// Reads the body of `r`, piece by piece, and stops as soon as it would pass `cap` bytes: a
/// site (or anything posing as one) cannot make the daemon hold more than that.
async fn read_capped(mut r: reqwest::Response, cap: u64) -> Result<Bytes, Failure> {
    let status = r.status().as_u16();
    let too_large = Failure::TooLarge { status, cap };
    // A declared length over the cap is refused before a byte of the body is read.
    let declared = r.content_length().unwrap_or(0);
    if declared > cap {
        return Err(too_large);
    }
    let mut body = bytes::BytesMut::with_capacity(usize::try_from(declared).unwrap_or(0));
    while let Some(piece) = r.chunk().await? {
        if (body.len() + piece.len()) as u64 > cap {
            return Err(too_large);
        }
        body.extend_from_slice(&piece);
    }
    Ok(body.freeze())
}

/// [`read_capped`] into a [`Spooler`]: the same cap, checked before each chunk is taken, and
/// the body never held whole.
async fn read_spooled(mut r: reqwest::Response, cap: u64, dir: &Path) -> Result<Download, Failure> {
    let status = r.status().as_u16();
    let too_large = Failure::TooLarge { status, cap };
    if r.content_length().unwrap_or(0) > cap {
        return Err(too_large);
    }
    let mut spool = Spooler::new(dir);
    while let Some(piece) = r.chunk().await? {
        if spool.len() + piece.len() as u64 > cap {
            return Err(too_large);
        }
        spool.push(&piece).await.map_err(Failure::Spool)?;
    }
    spool.finish().await.map_err(Failure::Spool)
}

/// `n` MiB in bytes (saturating).
fn mib(n: u64) -> u64 {
    n.saturating_mul(1024 * 1024)
}

/// The reqwest client of one site. One per site rather than per process: a pooled
/// connection belongs to the tokio runtime that opened it, and sites (and tests) that outlive
/// each other's runtimes must not share one; within a site every job shares it.
fn site_http() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::Limits;

    /// A JSON answer is held to `max_response_mb`, a download to `max_download_mb`; a body
    /// within its cap is read whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_kind_of_body_has_its_cap() {
        let cfg = assets_sim::config::SimConfig::from_toml(
            "admin_api = true\n[rate_limits]\nenabled = false\n[[sites]]\nname = \"s1\"\n\
             email = \"a@s1.example\"\ntoken = \"tok\"\n[sites.dataset]\nkind = \"empty\"\n",
        )
        .expect("sim config");
        let sim = assets_sim::server::start(cfg).await.expect("sim");
        let site = sim.site("s1").expect("s1").clone();
        let http = Http::new(
            &SiteConn {
                name: "s1".into(),
                api_url: site.api_url.clone(),
                site_url: site.site_url.clone(),
                email: site.email.clone(),
                tokens: vec![Secret::new("tok")],
                limits: Limits {
                    max_response_mb: 1,
                    max_download_mb: 2,
                    ..Limits::default()
                },
            },
            Auth::Basic,
        )
        .expect("client");
        let admin = reqwest::Client::new();
        let spool_dir = tempfile::tempdir().expect("spool dir");
        let exchange = |accept: &'static str, len: u64, spool: bool| {
            let (http, admin, url) = (&http, &admin, sim.url().to_owned());
            let spool = spool.then_some(spool_dir.path());
            async move {
                let forced = serde_json::json!({"status": 200, "body_bytes": len});
                admin
                    .post(format!("{url}/__sim/force"))
                    .json(&forced)
                    .send()
                    .await
                    .expect("admin call");
                let req = Request {
                    method: Method::GET,
                    target: Target::Assets,
                    path: "/objectschema/list",
                    body: None,
                    content_type: None,
                    mode: Mode::Idempotent,
                    accept,
                    spool,
                };
                http.exchange(&req, 0).await
            }
        };
        const MIB: u64 = 1 << 20;
        let cap_of = |r: Result<Reply, Failure>| match r {
            Err(Failure::TooLarge { cap, status }) => {
                assert_eq!(status, 200);
                cap
            }
            other => panic!("not refused: {other:?}"),
        };
        let in_memory = |r: Reply| match r.body {
            Body::Bytes(b) => b.len() as u64,
            Body::Spooled(d) => panic!("spooled: {d:?}"),
        };
        assert_eq!(cap_of(exchange(JSON, MIB + 1, false).await), MIB);
        let within = exchange(JSON, MIB, false).await.expect("at the cap");
        assert_eq!(in_memory(within), MIB);
        let download = exchange("*/*", MIB + MIB / 2, false)
            .await
            .expect("a download");
        assert_eq!(in_memory(download), MIB + MIB / 2);
        assert_eq!(cap_of(exchange("*/*", 2 * MIB + 1, false).await), 2 * MIB);
        // Spooled: the same cap; within it, the length and hash of every byte.
        assert_eq!(cap_of(exchange("*/*", 2 * MIB + 1, true).await), 2 * MIB);
        let Body::Spooled(d) = exchange("*/*", 2 * MIB, true).await.expect("spooled").body else {
            panic!("not spooled");
        };
        let (len, sha) = (d.len(), d.sha256().to_owned());
        let bytes = d.into_vec().expect("read back");
        assert_eq!((len, bytes.len() as u64), (2 * MIB, 2 * MIB));
        assert_eq!(sha, crate::model::sha256_hex(&bytes));
        sim.shutdown().await;
    }
}
