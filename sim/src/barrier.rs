//! Request barriers: hold chosen requests until a test releases them.
//!
//! A barrier matches requests by site, method and a pattern on the public API path (the path
//! the API documents: `/object/create`, `/object/{id}/history`, `/rest/api/3/myself`), and holds
//! the matching requests whose occurrence number falls in `from..=to` ("the 3rd to 5th
//! matching request"). A held request waits, in arrival order, until it is released; a test can
//! wait for a condition on the counters (`held >= 2`) instead of sleeping.
//!
//! Where the hold sits in the gate (see `http::gate`): after the request is routed,
//! authenticated and counted in the statistics, and before forced responses, fault decisions,
//! latency, the rate limiter and the handler (stage `before`: the request has not been
//! processed while it is held); or after the handler ran and before the response is sent (stage
//! `after`: the change is made, the client has not seen the answer). A held request therefore
//! takes no rate-limit token and draws no fault until it is released. If the client goes away
//! while its request is held, the request is never processed (stage `before`) and counts as
//! `abandoned`. Removing a barrier releases everything it holds.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use regex::Regex;
use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};

/// Where a barrier holds its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Before the request is processed (nothing has changed yet).
    #[default]
    Before,
    /// After it was processed, before the response is sent.
    After,
}

/// Which requests a barrier holds (the admin API's JSON body, too).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarrierSpec {
    /// Only requests to this site (any site when absent).
    #[serde(default)]
    pub site: Option<String>,
    /// Only this HTTP method, case-insensitive (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Pattern on the public API path: `*` matches within one segment, `**` across segments,
    /// `{name}` one whole segment; the query string is not part of the path.
    pub path: String,
    /// First matching occurrence to hold, counting from 1.
    #[serde(default = "first")]
    pub from: u64,
    /// Last matching occurrence to hold (every later one when absent).
    #[serde(default)]
    pub to: Option<u64>,
    #[serde(default)]
    pub stage: Stage,
}

fn first() -> u64 {
    1
}

impl BarrierSpec {
    /// Holds every request matching `method` and `path` (on any site) until released.
    pub fn new(method: &str, path: &str) -> BarrierSpec {
        BarrierSpec {
            site: None,
            method: Some(method.to_string()),
            path: path.to_string(),
            from: 1,
            to: None,
            stage: Stage::Before,
        }
    }
    pub fn site(mut self, name: &str) -> Self {
        self.site = Some(name.to_string());
        self
    }
    /// Holds only the `from`-th to `to`-th matching requests (1-based, inclusive).
    pub fn occurrences(mut self, r: std::ops::RangeInclusive<u64>) -> Self {
        self.from = *r.start();
        self.to = Some(*r.end());
        self
    }
    /// Holds only the `n`-th matching request.
    pub fn nth(self, n: u64) -> Self {
        self.occurrences(n..=n)
    }
    pub fn stage(mut self, stage: Stage) -> Self {
        self.stage = stage;
        self
    }
}

/// A barrier's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BarrierCounts {
    pub id: u64,
    /// Requests that matched so far (held or not).
    pub matched: u64,
    /// Requests waiting now.
    pub held: u64,
    /// Requests let through after a hold.
    pub released: u64,
    /// Held requests whose client went away before they were released.
    pub abandoned: u64,
}

/// A minimum for each counter; a condition holds when every given minimum is reached.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default)]
    pub matched: Option<u64>,
    #[serde(default)]
    pub held: Option<u64>,
    #[serde(default)]
    pub released: Option<u64>,
    #[serde(default)]
    pub abandoned: Option<u64>,
}

impl Condition {
    pub fn held(n: u64) -> Condition {
        Condition {
            held: Some(n),
            ..Condition::default()
        }
    }
    pub fn met(&self, c: &BarrierCounts) -> bool {
        let at_least = |want: Option<u64>, have: u64| want.is_none_or(|w| have >= w);
        at_least(self.matched, c.matched)
            && at_least(self.held, c.held)
            && at_least(self.released, c.released)
            && at_least(self.abandoned, c.abandoned)
    }
}

/// Why a barrier could not be created.
#[derive(Debug, thiserror::Error)]
pub enum BarrierError {
    #[error("path pattern {0:?} is invalid: {1}")]
    Pattern(String, String),
    #[error("from must be at least 1 and to (when given) at least from")]
    Occurrences,
    #[error("no barrier with id {0}")]
    Unknown(u64),
}

struct Queue {
    matched: u64,
    waiting: VecDeque<(u64, oneshot::Sender<()>)>,
    next_ticket: u64,
    removed: bool,
}

/// One barrier: its matcher and its queue of held requests.
pub struct Entry {
    id: u64,
    spec: BarrierSpec,
    pattern: Regex,
    method: Option<axum::http::Method>,
    queue: Mutex<Queue>,
    counts: watch::Sender<BarrierCounts>,
}

impl Entry {
    pub fn id(&self) -> u64 {
        self.id
    }
    pub fn spec(&self) -> &BarrierSpec {
        &self.spec
    }
    pub fn counts(&self) -> BarrierCounts {
        *self.counts.borrow()
    }

    fn matches(&self, site: &str, method: &axum::http::Method, path: &str) -> bool {
        self.spec.site.as_deref().is_none_or(|s| s == site)
            && self.method.as_ref().is_none_or(|m| m == method)
            && self.pattern.is_match(path)
    }

    /// Counts a matching request; says whether its occurrence is to be held.
    fn arrive(&self) -> bool {
        let mut q = self.queue.lock();
        if q.removed {
            return false;
        }
        q.matched += 1;
        let n = q.matched;
        self.publish(&q, |c| c.matched = n);
        n >= self.spec.from && self.spec.to.is_none_or(|t| n <= t)
    }

    /// Puts a request in the queue of held requests.
    pub fn hold(self: &Arc<Self>) -> Hold {
        let mut q = self.queue.lock();
        let (tx, rx) = oneshot::channel();
        q.next_ticket += 1;
        let ticket = q.next_ticket;
        if q.removed {
            // Removed in the meantime: nothing will release it, so it passes at once.
            let _ = tx.send(());
        } else {
            q.waiting.push_back((ticket, tx));
        }
        self.publish(&q, |_| {});
        Hold {
            entry: self.clone(),
            ticket,
            rx: Some(rx),
        }
    }

    fn publish(&self, q: &Queue, f: impl FnOnce(&mut BarrierCounts)) {
        self.counts.send_modify(|c| {
            f(c);
            c.held = q.waiting.len() as u64;
        });
    }

    /// Releases up to `n` held requests, oldest first; returns how many.
    pub fn release(&self, n: usize) -> usize {
        let mut q = self.queue.lock();
        let (mut done, mut gone) = (0, 0);
        while done < n {
            let Some((_, tx)) = q.waiting.pop_front() else {
                break;
            };
            // A closed receiver is a client that left in the meantime.
            match tx.send(()) {
                Ok(()) => done += 1,
                Err(()) => gone += 1,
            }
        }
        self.publish(&q, |c| {
            c.released += done as u64;
            c.abandoned += gone;
        });
        done
    }

    pub fn release_all(&self) -> usize {
        self.release(usize::MAX)
    }

    /// Waits until `cond` holds, or `timeout` passes (then returns the counts in `Err`).
    pub async fn wait(
        &self,
        cond: Condition,
        timeout: Duration,
    ) -> Result<BarrierCounts, BarrierCounts> {
        let mut rx = self.counts.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|c| cond.met(c))).await;
        match reached {
            Ok(Ok(c)) => Ok(*c),
            _ => Err(self.counts()),
        }
    }

    fn abandon(&self, ticket: u64) {
        let mut q = self.queue.lock();
        let before = q.waiting.len();
        q.waiting.retain(|(t, _)| *t != ticket);
        if q.waiting.len() < before {
            self.publish(&q, |c| c.abandoned += 1);
        }
    }
}

/// A request held by a barrier; `wait` returns once it is released.
#[must_use = "a hold does nothing until waited on"]
pub struct Hold {
    entry: Arc<Entry>,
    ticket: u64,
    rx: Option<oneshot::Receiver<()>>,
}

impl Hold {
    pub fn stage(&self) -> Stage {
        self.entry.spec.stage
    }
    /// Waits for the release (or the barrier's removal, which releases too).
    pub async fn wait(mut self) {
        if let Some(rx) = self.rx.as_mut() {
            let _ = rx.await;
        }
        self.rx = None;
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // Dropped while still waiting: the connection went away.
        if self.rx.is_some() {
            self.entry.abandon(self.ticket);
        }
    }
}

/// Every barrier of a simulator.
#[derive(Default)]
pub struct Barriers {
    list: RwLock<Vec<Arc<Entry>>>,
    /// Number of barriers, read without a lock on every request.
    active: AtomicUsize,
    next_id: AtomicU64,
}

impl Barriers {
    pub fn add(&self, spec: BarrierSpec) -> Result<Arc<Entry>, BarrierError> {
        if spec.from == 0 || spec.to.is_some_and(|t| t < spec.from) {
            return Err(BarrierError::Occurrences);
        }
        let pattern = compile(&spec.path)
            .map_err(|e| BarrierError::Pattern(spec.path.clone(), e.to_string()))?;
        let method = match &spec.method {
            None => None,
            Some(m) => Some(
                axum::http::Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes())
                    .map_err(|e| BarrierError::Pattern(m.clone(), e.to_string()))?,
            ),
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = Arc::new(Entry {
            id,
            spec,
            pattern,
            method,
            queue: Mutex::new(Queue {
                matched: 0,
                waiting: VecDeque::new(),
                next_ticket: 0,
                removed: false,
            }),
            counts: watch::Sender::new(BarrierCounts {
                id,
                ..BarrierCounts::default()
            }),
        });
        let mut list = self.list.write();
        list.push(entry.clone());
        self.active.store(list.len(), Ordering::Release);
        Ok(entry)
    }

    pub fn get(&self, id: u64) -> Result<Arc<Entry>, BarrierError> {
        self.list
            .read()
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .ok_or(BarrierError::Unknown(id))
    }

    pub fn all(&self) -> Vec<Arc<Entry>> {
        self.list.read().clone()
    }

    /// Removes a barrier, releasing what it holds; returns its final counts.
    pub fn remove(&self, id: u64) -> Result<BarrierCounts, BarrierError> {
        let entry = {
            let mut list = self.list.write();
            let i = list
                .iter()
                .position(|e| e.id == id)
                .ok_or(BarrierError::Unknown(id))?;
            let e = list.remove(i);
            self.active.store(list.len(), Ordering::Release);
            e
        };
        entry.queue.lock().removed = true;
        entry.release_all();
        Ok(entry.counts())
    }

    /// Counts a request against every matching barrier; returns the barriers that hold it
    /// (each at its own stage: `Entry::hold` puts it in the queue).
    pub fn arrive(&self, site: &str, method: &axum::http::Method, path: &str) -> Vec<Arc<Entry>> {
        if self.active.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let list = self.list.read();
        list.iter()
            .filter(|e| e.matches(site, method, path) && e.arrive())
            .cloned()
            .collect()
    }
}

/// Turns a path pattern into an anchored regex.
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    let p = pattern.trim();
    let p = p.split('?').next().unwrap_or(p);
    let mut out = String::from("^");
    if !p.starts_with('/') {
        out.push('/');
    }
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str(".*");
            }
            '*' => out.push_str("[^/]*"),
            '{' => {
                for x in chars.by_ref() {
                    if x == '}' {
                        break;
                    }
                }
                out.push_str("[^/]+");
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    let trimmed = out.trim_end_matches('/').len();
    out.truncate(trimmed.max(2));
    out.push_str("/?$");
    Regex::new(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn patterns() {
        let m = |p: &str, path: &str| compile(p).unwrap().is_match(path);
        assert!(m("/object/create", "/object/create"));
        assert!(m("object/create", "/object/create"));
        assert!(!m("/object/create", "/object/create/x"));
        assert!(m("/object/{id}", "/object/17"));
        assert!(!m("/object/{id}", "/object/17/history"));
        assert!(m("/object/*/history", "/object/17/history"));
        assert!(m("/object/**", "/object/17/history"));
        assert!(m("/rest/api/*/myself", "/rest/api/3/myself"));
        assert!(!m("/object/aql", "/object/aqlx"));
        assert!(m("/object.aql", "/object.aql") && !m("/object.aql", "/objectxaql"));
    }

    #[tokio::test]
    async fn holds_the_chosen_occurrences_and_releases_in_order() {
        let b = Barriers::default();
        let e = b
            .add(BarrierSpec::new("post", "/object/create").occurrences(2..=3))
            .unwrap();
        let post = Method::POST;
        assert!(b.arrive("s", &post, "/object/create").is_empty());
        assert!(b.arrive("s", &Method::GET, "/object/create").is_empty());
        let h2 = b.arrive("s", &post, "/object/create").pop().unwrap().hold();
        let h3 = b.arrive("s", &post, "/object/create").pop().unwrap().hold();
        assert!(b.arrive("s", &post, "/object/create").is_empty());
        assert_eq!(
            e.wait(Condition::held(2), Duration::from_secs(5)).await,
            Ok(BarrierCounts {
                id: e.id(),
                matched: 4,
                held: 2,
                released: 0,
                abandoned: 0
            })
        );
        let first = tokio::spawn(h2.wait());
        assert_eq!(e.release(1), 1);
        first.await.unwrap();
        drop(h3); // its client went away
        let c = e.counts();
        assert_eq!((c.held, c.released, c.abandoned), (0, 1, 1));
        assert_eq!(b.remove(e.id()).unwrap().matched, 4);
        assert!(b.arrive("s", &post, "/object/create").is_empty());
    }

    #[test]
    fn bad_specs_are_refused() {
        let b = Barriers::default();
        let mut s = BarrierSpec::new("GET", "/x").nth(3);
        s.to = Some(2);
        assert!(b.add(s).is_err());
        let mut s = BarrierSpec::new("GET", "/x");
        s.from = 0;
        assert!(b.add(s).is_err());
        assert!(b.add(BarrierSpec::new("G ET", "/x")).is_err());
        assert!(b.remove(99).is_err());
    }
}
