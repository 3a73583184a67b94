//! A dataset **without reference cycles**, built through the Assets API on a simulator site
//! (the simulator's cmdb dataset always closes cycles — servers hosting each other in rings,
//! `Server.Runs` <-> `Application.Runs on` — and has no setting to leave them out).
//!
//! Six object types in one schema, created in this order, each referencing only types created
//! before it, so every reference of an object points at an object created earlier:
//!
//! | type        | share | attributes besides Name                                        |
//! |-------------|-------|----------------------------------------------------------------|
//! | Location    | 1%    | Code, Country (select), Established (date)                     |
//! | Department  | 2%    | Location ->, Budget (integer), Cost centre                     |
//! | Person      | 35%   | Email, Department ->, Location ->, Status, Start date          |
//! | Server      | 20%   | IP address, Location ->, Owner -> Person, RAM GB, Virtual, Status |
//! | Application | 12%   | URL, Runs on -> Server (1-3), Owner -> Person, Version         |
//! | Laptop      | 30%   | Serial, Assigned to -> Person, Purchased (date), Notes (30%)   |
//!
//! The restore planner puts them in 5 waves. Objects of one type are created concurrently
//! (plain reqwest, `concurrency` in flight); values are derived from a hash of the index, so
//! the dataset is the same on every run.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use serde_json::{Value, json};

use super::sim::SiteInfo;

/// Kinds of attributes of the dataset.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Textarea,
    Int,
    Bool,
    Date,
    Email,
    Url,
    Ip,
    /// Comma-separated options.
    Select(&'static str),
    Status,
    /// Reference to the type at this index, at most this many values.
    Ref(usize, i64),
}

struct TypeSpec {
    name: &'static str,
    weight: u64,
    attrs: &'static [(&'static str, Kind)],
}

const COUNTRIES: &str = "Australia,Germany,Japan,Kenya,Brazil,Canada,India,Ireland";

#[rustfmt::skip]
const TYPES: [TypeSpec; 6] = [
    TypeSpec { name: "Location", weight: 1, attrs: &[
        ("Code", Kind::Text), ("Country", Kind::Select(COUNTRIES)), ("Established", Kind::Date)] },
    TypeSpec { name: "Department", weight: 2, attrs: &[
        ("Location", Kind::Ref(0, 1)), ("Budget", Kind::Int), ("Cost centre", Kind::Text)] },
    TypeSpec { name: "Person", weight: 35, attrs: &[
        ("Email", Kind::Email), ("Department", Kind::Ref(1, 1)), ("Location", Kind::Ref(0, 1)),
        ("Status", Kind::Status), ("Start date", Kind::Date)] },
    TypeSpec { name: "Server", weight: 20, attrs: &[
        ("IP address", Kind::Ip), ("Location", Kind::Ref(0, 1)), ("Owner", Kind::Ref(2, 1)),
        ("RAM GB", Kind::Int), ("Virtual", Kind::Bool), ("Status", Kind::Status)] },
    TypeSpec { name: "Application", weight: 12, attrs: &[
        ("URL", Kind::Url), ("Runs on", Kind::Ref(3, 3)), ("Owner", Kind::Ref(2, 1)),
        ("Version", Kind::Text)] },
    TypeSpec { name: "Laptop", weight: 30, attrs: &[
        ("Serial", Kind::Text), ("Assigned to", Kind::Ref(2, 1)), ("Purchased", Kind::Date),
        ("Notes", Kind::Textarea)] },
];

const WORDS: [&str; 12] = [
    "asset",
    "quarterly",
    "review",
    "migrated",
    "legacy",
    "owner",
    "confirmed",
    "audit",
    "replacement",
    "scheduled",
    "vendor",
    "spare",
];

/// What [`build`] made.
#[derive(Debug, Clone)]
pub struct Built {
    /// Id of the new schema.
    pub schema_id: String,
    /// Objects created.
    pub objects: usize,
    /// Objects per type, in creation order.
    pub per_type: Vec<(&'static str, usize)>,
    /// Wall time of the whole build.
    pub secs: f64,
}

/// splitmix64: a well-mixed hash of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Objects per type for `n` objects: by weight, the remainder to the heaviest type.
fn counts(n: usize) -> Vec<usize> {
    let total: u64 = TYPES.iter().map(|t| t.weight).sum();
    let mut c: Vec<usize> = TYPES
        .iter()
        .map(|t| (n as u64 * t.weight / total) as usize)
        .collect();
    let heaviest = (0..TYPES.len())
        .max_by_key(|i| TYPES[*i].weight)
        .unwrap_or(0);
    c[heaviest] += n - c.iter().sum::<usize>();
    c
}

/// Plain HTTP to one site.
#[derive(Clone)]
struct Http {
    http: reqwest::Client,
    site: SiteInfo,
}

impl Http {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.site.api_url))
            .basic_auth(&self.site.email, Some(&self.site.token));
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().await?;
        let status = r.status();
        let bytes = r.bytes().await?;
        if !status.is_success() {
            bail!("{path}: {status} {}", String::from_utf8_lossy(&bytes));
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

fn id_of(v: &Value) -> Result<String> {
    match &v["id"] {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => bail!("no id in {other}"),
    }
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| id_of(x).ok())
        .collect()
}

/// An attribute definition for `POST /objecttypeattribute/{typeId}`.
fn attr_body(name: &str, kind: Kind, type_ids: &[String], ref_type: &str) -> Value {
    let default = |d: i64| json!({"name": name, "type": 0, "defaultTypeId": d});
    match kind {
        Kind::Text => default(0),
        Kind::Int => default(1),
        Kind::Bool => default(2),
        Kind::Date => default(4),
        Kind::Url => default(7),
        Kind::Email => default(8),
        Kind::Textarea => default(9),
        Kind::Ip => default(11),
        Kind::Select(options) => {
            json!({"name": name, "type": 0, "defaultTypeId": 10, "options": options})
        }
        Kind::Status => json!({"name": name, "type": 7}),
        Kind::Ref(t, max) => json!({
            "name": name, "type": 1, "typeValue": type_ids[t], "additionalValue": ref_type,
            "maximumCardinality": max,
        }),
    }
}

/// The values of attribute `a` of object `i` of type `t`; empty to leave it unset.
fn values(kind: Kind, t: usize, i: usize, a: usize, ctx: &Shared) -> Vec<String> {
    let h = mix(((t as u64) << 48) ^ ((a as u64) << 40) ^ i as u64);
    match kind {
        Kind::Text => vec![format!("{}-{:06X}", &TYPES[t].name[..3], h % 0xFF_FFFF)],
        Kind::Textarea if h % 10 < 3 => {
            let n = 4 + (h % 8) as usize;
            let words: Vec<&str> = (0..n)
                .map(|k| WORDS[(mix(h + k as u64) % WORDS.len() as u64) as usize])
                .collect();
            vec![words.join(" ")]
        }
        Kind::Textarea => Vec::new(),
        Kind::Int => vec![(h % 100_000).to_string()],
        Kind::Bool => vec![h.is_multiple_of(2).to_string()],
        Kind::Date => vec![format!(
            "20{:02}-{:02}-{:02}",
            10 + h % 15,
            1 + (h >> 8) % 12,
            1 + (h >> 16) % 28
        )],
        Kind::Email => vec![format!("person{i}@example.com")],
        Kind::Url => vec![format!("https://app{i}.example.com")],
        Kind::Ip => vec![format!(
            "10.{}.{}.{}",
            h % 256,
            (h >> 8) % 256,
            1 + (h >> 16) % 254
        )],
        Kind::Select(options) => {
            let o: Vec<&str> = options.split(',').collect();
            vec![o[(h % o.len() as u64) as usize].to_owned()]
        }
        Kind::Status => vec![ctx.statuses[(h % ctx.statuses.len() as u64) as usize].clone()],
        Kind::Ref(target, max) => {
            let pool = &ctx.objects[target];
            if pool.is_empty() {
                return Vec::new();
            }
            let k = 1 + (h % max.max(1) as u64) as usize;
            let mut out: Vec<String> = (0..k)
                .map(|j| pool[(mix(h ^ j as u64) % pool.len() as u64) as usize].clone())
                .collect();
            out.sort();
            out.dedup();
            out
        }
    }
}

/// What object creation tasks share.
struct Shared {
    statuses: Vec<String>,
    /// Ids of the objects created so far, per type.
    objects: Vec<Vec<String>>,
}

/// Builds schema `name`/`key` with `objects` objects on `site` (see the module docs).
pub async fn build(
    site: &SiteInfo,
    name: &str,
    key: &str,
    objects: usize,
    concurrency: usize,
) -> Result<Built> {
    let started = Instant::now();
    let http = Http {
        http: reqwest::Client::new(),
        site: site.clone(),
    };
    let schema = http
        .post(
            "/objectschema/create",
            &json!({"name": name, "objectSchemaKey": key, "description": "restore-bench"}),
        )
        .await?;
    let schema_id = id_of(&schema)?;
    let ref_type = ids(&http.get("/config/referencetype").await?)
        .into_iter()
        .next()
        .context("no global reference type")?;
    let statuses = ids(&http.get("/config/statustype").await?);
    if statuses.is_empty() {
        bail!("no global status type");
    }
    // Types and their attributes: (type id, Name attribute id, attribute ids).
    let mut type_ids: Vec<String> = Vec::new();
    let mut defs: Vec<(String, String, Vec<String>)> = Vec::new();
    for (n, t) in TYPES.iter().enumerate() {
        let created = http
            .post(
                "/objecttype/create",
                &json!({"name": t.name, "objectSchemaId": schema_id, "iconId": (n + 1).to_string()}),
            )
            .await?;
        let tid = id_of(&created)?;
        type_ids.push(tid.clone());
        let own = http.get(&format!("/objecttype/{tid}/attributes")).await?;
        let name_attr = own
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == "Name")
            .map(id_of)
            .context("no Name attribute")??;
        let mut attrs = Vec::new();
        for (aname, kind) in t.attrs {
            let body = attr_body(aname, *kind, &type_ids, &ref_type);
            let a = http
                .post(&format!("/objecttypeattribute/{tid}"), &body)
                .await
                .with_context(|| format!("attribute {}.{aname}", t.name))?;
            attrs.push(id_of(&a)?);
        }
        defs.push((tid, name_attr, attrs));
    }
    let mut shared = Shared {
        statuses,
        objects: vec![Vec::new(); TYPES.len()],
    };
    let counts = counts(objects);
    for (t, count) in counts.iter().copied().enumerate() {
        let ctx = Arc::new(std::mem::take(&mut shared));
        let def = Arc::new(defs[t].clone());
        let created: Vec<Result<String>> = futures::stream::iter(0..count)
            .map(|i| {
                let (http, ctx, def) = (http.clone(), ctx.clone(), def.clone());
                async move {
                    let (tid, name_attr, attrs) = &*def;
                    let mut values_json = vec![json!({
                        "objectTypeAttributeId": name_attr,
                        "objectAttributeValues": [{"value": format!("{} {i:06}", TYPES[t].name)}],
                    })];
                    for (a, (aid, (_, kind))) in attrs.iter().zip(TYPES[t].attrs).enumerate() {
                        let v = values(*kind, t, i, a, &ctx);
                        if v.is_empty() {
                            continue;
                        }
                        let vals: Vec<Value> = v.into_iter().map(|x| json!({"value": x})).collect();
                        values_json.push(
                            json!({"objectTypeAttributeId": aid, "objectAttributeValues": vals}),
                        );
                    }
                    let body = json!({"objectTypeId": tid, "attributes": values_json});
                    let o = http.post("/object/create", &body).await?;
                    id_of(&o)
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        shared = Arc::try_unwrap(ctx).map_err(|_| anyhow::anyhow!("dataset context shared"))?;
        let mut made = Vec::with_capacity(count);
        for r in created {
            made.push(r.with_context(|| format!("creating a {}", TYPES[t].name))?);
        }
        made.sort_by_key(|s| s.parse::<u64>().unwrap_or(u64::MAX));
        shared.objects[t] = made;
    }
    Ok(Built {
        schema_id,
        objects: counts.iter().sum(),
        per_type: TYPES.iter().map(|t| t.name).zip(counts).collect(),
        secs: started.elapsed().as_secs_f64(),
    })
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            statuses: Vec::new(),
            objects: vec![Vec::new(); TYPES.len()],
        }
    }
}
