//! `sim-bench`: the simulator's benchmark (not a timed test). Starts the release `assets-sim`
//! binary as a child process with limits off and prints: object creates per second, objects
//! per second served by AQL paging at maxResults=1000, and the simulator's peak RSS holding a
//! 1,000,000-object dataset.
//!
//! Run: `cargo build --release -p assets-sim -p assetark-tests && target/release/sim-bench`
//! (`--objects N` to change the dataset size, `--creates N` the number of creates).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use serde_json::{Value, json};

struct Sim {
    child: Child,
    ready: Value,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim_binary() -> Result<std::path::PathBuf> {
    if let Ok(p) = std::env::var("ASSETS_SIM_BIN") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe()?;
    let p = exe.parent().context("exe dir")?.join("assets-sim");
    if !p.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p assets-sim`",
            p.display()
        );
    }
    Ok(p)
}

fn start(objects: u32) -> Result<Sim> {
    let dir = std::env::temp_dir().join(format!("sim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cfg = dir.join(format!("sim-{objects}.toml"));
    let kind = if objects == 0 { "empty" } else { "cmdb" };
    std::fs::write(
        &cfg,
        format!(
            "admin_api = true\n[rate_limits]\nenabled = false\n[[sites]]\nname = \"bench\"\nemail = \"bench@example.com\"\ntoken = \"bench\"\n[sites.dataset]\nkind = \"{kind}\"\nobjects = {objects}\nseed = 1\nhistory_updates = 0\n"
        ),
    )?;
    let mut child = Command::new(sim_binary()?)
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let ready: Value =
        serde_json::from_str(&line).with_context(|| format!("ready line: {line:?}"))?;
    Ok(Sim { child, ready })
}

/// Peak resident set size of a process, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmHWM")?;
    Ok(kb * 1024)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    start_at: usize,
    max_results: usize,
    total: usize,
    is_last: bool,
}

struct Page {
    values: usize,
    is_last: bool,
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(sim: &Sim) -> Client {
        let s = &sim.ready["sites"][0];
        Client {
            http: reqwest::Client::new(),
            base: s["api_url"].as_str().unwrap_or_default().to_string(),
        }
    }
    async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth("bench@example.com", Some("bench"))
            .json(body)
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await?;
        if !status.is_success() {
            bail!("{path}: {status} {v}");
        }
        Ok(v)
    }
    /// One AQL page. The figure is the simulator's, not a JSON parser's: the body is read
    /// whole, but only its paging header (`startAt`, `maxResults`, `total`, `isLast`, which the
    /// simulator writes before `values`) is parsed.
    async fn page(&self, start: usize) -> Result<Page> {
        let r = self
            .http
            .post(format!(
                "{}/object/aql?startAt={start}&maxResults=1000",
                self.base
            ))
            .basic_auth("bench@example.com", Some("bench"))
            .json(&json!({"qlQuery": "objectSchemaId = 1"}))
            .send()
            .await?
            .error_for_status()?;
        let body = r.bytes().await?;
        let head = body
            .windows(10)
            .position(|w| w == b",\"values\":")
            .context("no values in the page")?;
        let mut header = body[..head].to_vec();
        header.push(b'}');
        let h: Header = serde_json::from_slice(&header)?;
        let n = h.total.saturating_sub(h.start_at).min(h.max_results);
        Ok(Page {
            values: n,
            is_last: h.is_last,
        })
    }
    async fn get(&self, path: &str) -> Result<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .basic_auth("bench@example.com", Some("bench"))
            .send()
            .await?;
        Ok(r.error_for_status()?.json().await?)
    }
}

async fn bench_creates(n: usize, concurrency: usize) -> Result<f64> {
    let sim = start(0)?;
    let c = Arc::new(Client::new(&sim));
    let schema = c
        .post(
            "/objectschema/create",
            &json!({"name": "Bench", "objectSchemaKey": "BENCH"}),
        )
        .await?;
    let t = c
        .post(
            "/objecttype/create",
            &json!({"name": "Thing", "objectSchemaId": schema["id"], "iconId": "1"}),
        )
        .await?;
    let type_id = t["id"].as_str().unwrap_or_default().to_string();
    let attrs = c.get(&format!("/objecttype/{type_id}/attributes")).await?;
    let name = attrs
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "Name"))
        .context("Name")?["id"]
        .clone();
    let size = c
        .post(
            &format!("/objecttypeattribute/{type_id}"),
            &json!({"name": "Size", "type": 0, "defaultTypeId": 1}),
        )
        .await?["id"]
        .clone();
    let started = Instant::now();
    let results: Vec<Result<Value>> = futures::stream::iter(0..n)
        .map(|i| {
            let c = c.clone();
            let body = json!({"objectTypeId": type_id, "attributes": [
                {"objectTypeAttributeId": name, "objectAttributeValues": [{"value": format!("thing {i}")}]},
                {"objectTypeAttributeId": size, "objectAttributeValues": [{"value": (i % 1000).to_string()}]},
            ]});
            async move { c.post("/object/create", &body).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        bail!("{failed} creates failed");
    }
    Ok(n as f64 / secs)
}

async fn bench_paging(objects: u32) -> Result<(f64, f64, u64)> {
    let built = Instant::now();
    let sim = start(objects)?;
    let build_secs = built.elapsed().as_secs_f64();
    let c = Client::new(&sim);
    let started = Instant::now();
    let mut start = 0usize;
    let mut seen = 0usize;
    loop {
        let p = c.page(start).await?;
        seen += p.values;
        start += p.values;
        if p.is_last || p.values == 0 {
            break;
        }
    }
    let rate = seen as f64 / started.elapsed().as_secs_f64();
    Ok((rate, build_secs, peak_rss(sim.child.id())?))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let objects = arg("--objects", 1_000_000) as u32;
    let creates = arg("--creates", 20_000) as usize;
    println!(
        "sim-bench: limits off, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let rate = bench_creates(creates, 16).await?;
    println!(
        "creates: {creates} objects, 16 concurrent clients: {rate:.0} creates/s (target >= 5,000)"
    );
    let (paged, build, rss) = bench_paging(objects).await?;
    println!("dataset: {objects} objects built in {build:.1} s");
    println!("aql paging: maxResults=1000 over schema 1: {paged:.0} objects/s (target >= 50,000)");
    println!(
        "memory: peak RSS with {objects} objects: {:.0} MiB (target < 2048 MiB)",
        rss as f64 / 1048576.0
    );
    Ok(())
}
