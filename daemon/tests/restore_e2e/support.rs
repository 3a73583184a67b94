//! Harness of the restore e2e tests: simulators, clients, a real SQLite store, backup and
//! restore helpers, and an independent reader of the simulator (plain reqwest, not the code
//! under test) that snapshots a schema and compares a restored schema with its source.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use assetark::assets::{AssetsClient, Limits, Secret, SiteConn};
use assetark::backup::{self, BackupRequest, Progress};
use assetark::clock::SharedClock;
use assetark::restore::{
    self, AttrAction, Destination, RestoreEvent, RestoreOutcome, RestorePlan, RestoreRequest,
};
use assetark::store::{AsyncStore, BackupId, BackupType, LogEntry, RestoreId, SqliteStore};
use assets_sim::server::SimHandle;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The users of site `s2`: some of the standard display names, "Priya Natarajan" twice, and
/// "Chen Wei" outside `it-operations` (so the target refuses him where that group is
/// required).
const S2_USERS: &str = r#"
[[sites.users]]
display_name = "Priya Natarajan"
email = "priya@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Priya Natarajan"
email = "priya.n@s2.example"
groups = ["hr"]
[[sites.users]]
display_name = "Jordan Lee"
email = "jordan@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Sam Okafor"
email = "sam@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Chen Wei"
email = "chen@s2.example"
groups = ["finance"]
[[sites.users]]
display_name = "Lukas Becker"
email = "lukas@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Kenji Tanaka"
email = "kenji@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Mia Krystof"
email = "mia@s2.example"
[[sites.users]]
display_name = "Sofia Rossi"
email = "sofia@s2.example"
groups = ["finance"]
"#;

/// Site `s1` with a cmdb dataset (schemas ITSM and LOC, standard users) and site `s2`, empty,
/// with its own user directory. Rate limits off: the client's governor still paces.
pub fn config(objects: u32, from_data_center: bool) -> String {
    format!(
        r#"
admin_api = true
[rate_limits]
enabled = false
[[sites]]
name = "s1"
email = "admin@s1.example"
token = "tok-s1"
[sites.dataset]
kind = "cmdb"
objects = {objects}
seed = 7
from_data_center = {from_data_center}
[[sites]]
name = "s2"
email = "admin@s2.example"
token = "tok-s2"
{S2_USERS}"#
    )
}

pub async fn start(toml: &str) -> SimHandle {
    let cfg = assets_sim::config::SimConfig::from_toml(toml).expect("config");
    assets_sim::server::start(cfg).await.expect("simulator")
}

/// A client of `site` with the documented limits ×10 and short backoffs.
pub fn client(sim: &SimHandle, site: &str) -> AssetsClient {
    let s = sim.site(site).expect("site");
    let d = Limits::default();
    AssetsClient::new(SiteConn {
        name: s.name.clone(),
        api_url: s.api_url.clone(),
        site_url: s.site_url.clone(),
        email: s.email.clone(),
        tokens: vec![Secret::from(s.token.as_str())],
        limits: Limits {
            aql_legacy_per_minute: d.aql_legacy_per_minute * 10,
            aql_per_minute: d.aql_per_minute * 10,
            object_per_minute: d.object_per_minute * 10,
            other_per_minute: d.other_per_minute * 10,
            jira_per_minute: d.jira_per_minute * 10,
            retry_base_ms: 20,
            retry_max_ms: 500,
            max_retries: 10,
            ..d
        },
    })
    .expect("client")
}

pub fn store(dir: &Path) -> AsyncStore {
    AsyncStore::new(Arc::new(
        SqliteStore::open(dir.join("store.db")).expect("store"),
    ))
}

/// The clock the pipelines take.
pub fn clock() -> SharedClock {
    assetark::clock::system()
}

/// Backs up schema `key` of the client's site.
pub async fn backup(client: &AssetsClient, store: &AsyncStore, key: &str) -> BackupId {
    let req = BackupRequest {
        site: client.site().name.clone(),
        schema_key: key.into(),
        backup_type: BackupType::Manual,
        description: None,
    };
    backup::run(
        client,
        store,
        &req,
        &|_: Progress| {},
        CancellationToken::new(),
        &clock(),
    )
    .await
    .expect("backup")
}

/// Plans a restore of `backup` into a new schema on the client's site and stores it.
pub async fn plan(
    store: &AsyncStore,
    client: &AssetsClient,
    backup: BackupId,
    name: &str,
    key: &str,
) -> (RestorePlan, RestoreId) {
    let req = RestoreRequest {
        backup_id: backup,
        target_site: client.site().name.clone(),
        destination: Destination::NewSchema {
            name: name.into(),
            key: key.into(),
        },
    };
    let plan = restore::plan(store, client, &req).await.expect("plan");
    let id = restore::create(store, &req, &plan, &clock())
        .await
        .expect("create");
    (plan, id)
}

/// Events of one execution.
pub type Events = Arc<Mutex<Vec<RestoreEvent>>>;

/// Executes a restore on a spawned task (which also proves the future is `Send`).
pub async fn execute(
    store: &AsyncStore,
    client: &AssetsClient,
    id: RestoreId,
    plan: &RestorePlan,
    cancel: CancellationToken,
) -> (Result<RestoreOutcome, restore::Error>, Events) {
    let events: Events = Arc::default();
    let (store, client, plan, ev) = (store.clone(), client.clone(), plan.clone(), events.clone());
    let r = tokio::spawn(async move {
        let sink = move |e: RestoreEvent| ev.lock().unwrap().push(e);
        restore::execute(&store, &client, id, &plan, &sink, cancel, &clock()).await
    })
    .await
    .expect("restore task");
    (r, events)
}

/// The whole log of a restore.
pub async fn full_log(store: &AsyncStore, id: RestoreId) -> Vec<LogEntry> {
    let mut out: Vec<LogEntry> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.seq);
        let page = store.restore_log(id, after, 500).await.expect("log");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// Plain HTTP to one site of the simulator.
pub struct Raw {
    http: reqwest::Client,
    api: String,
    site: String,
    email: String,
    token: String,
}

impl Raw {
    pub fn new(sim: &SimHandle, site: &str) -> Raw {
        let s = sim.site(site).expect("site");
        Raw {
            http: reqwest::Client::new(),
            api: s.api_url.clone(),
            site: s.site_url.clone(),
            email: s.email.clone(),
            token: s.token.clone(),
        }
    }

    async fn send(&self, method: reqwest::Method, url: String, body: Option<&Value>) -> Value {
        let mut rb = self
            .http
            .request(method, &url)
            .basic_auth(&self.email, Some(&self.token));
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().await.expect("raw request");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        let b = r.bytes().await.expect("raw body");
        serde_json::from_slice(&b).unwrap_or(Value::Null)
    }

    pub async fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, format!("{}{path}", self.api), None)
            .await
    }

    pub async fn list(&self, path: &str) -> Vec<Value> {
        match self.get(path).await {
            Value::Array(a) => a,
            other => panic!("{path}: expected an array, got {other}"),
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.send(
            reqwest::Method::POST,
            format!("{}{path}", self.api),
            Some(&body),
        )
        .await
    }

    pub async fn jira(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, format!("{}{path}", self.site), None)
            .await
    }

    /// Every object matching `ql`, with attributes.
    pub async fn objects(&self, ql: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let page = self
                .post(
                    &format!("/object/aql?startAt={}&maxResults=500", out.len()),
                    json!({ "qlQuery": ql }),
                )
                .await;
            let values = page["values"].as_array().cloned().unwrap_or_default();
            let n = values.len();
            out.extend(values);
            if page["isLast"].as_bool().unwrap_or(true) || n == 0 {
                return out;
            }
        }
    }

    /// Schemas of the site.
    pub async fn schemas(&self) -> Vec<Value> {
        let page = self
            .get("/objectschema/list?startAt=0&maxResults=100")
            .await;
        page["values"].as_array().cloned().unwrap_or_default()
    }

    /// Accounts whose display name is exactly `name`.
    pub async fn accounts(&self, name: &str) -> Vec<String> {
        let q = serde_urlencoded::to_string([("query", name), ("maxResults", "1000")]).unwrap();
        let found = self.jira(&format!("/rest/api/3/user/search?{q}")).await;
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| u["displayName"] == name)
            .filter_map(|u| u["accountId"].as_str().map(str::to_owned))
            .collect()
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A schema as the API shows it.
pub struct Snapshot {
    pub config: Value,
    pub statuses: Vec<Value>,
    pub types: Vec<Value>,
    /// Own attributes per type id, in position order.
    pub attrs: BTreeMap<String, Vec<Value>>,
    pub attr_by_id: HashMap<String, Value>,
    pub objects: Vec<Value>,
    status_names: HashMap<String, String>,
    type_names: HashMap<String, String>,
    global_icons: BTreeSet<String>,
}

impl Snapshot {
    pub async fn read(raw: &Raw, schema_id: &str) -> Snapshot {
        let types = raw
            .list(&format!("/objectschema/{schema_id}/objecttypes/flat"))
            .await;
        let mut attrs = BTreeMap::new();
        let mut attr_by_id = HashMap::new();
        for t in &types {
            let tid = s(&t["id"]);
            let own = raw
                .list(&format!(
                    "/objecttype/{tid}/attributes?excludeParentAttributes=true"
                ))
                .await;
            for a in &own {
                attr_by_id.insert(s(&a["id"]), a.clone());
            }
            attrs.insert(tid, own);
        }
        let mut statuses = raw.list("/config/statustype").await;
        let schema_statuses = raw
            .list(&format!("/config/statustype?objectSchemaId={schema_id}"))
            .await;
        statuses.extend(schema_statuses.iter().cloned());
        Snapshot {
            config: raw
                .get(&format!("/global/config/objectschema/{schema_id}"))
                .await,
            status_names: statuses
                .iter()
                .map(|x| (s(&x["id"]), s(&x["name"])))
                .collect(),
            statuses: schema_statuses,
            type_names: types.iter().map(|t| (s(&t["id"]), s(&t["name"]))).collect(),
            types,
            attrs,
            attr_by_id,
            objects: raw.objects(&format!("objectSchemaId = {schema_id}")).await,
            global_icons: raw
                .list("/icon/global")
                .await
                .iter()
                .map(|i| s(&i["name"]))
                .collect(),
        }
    }

    /// `"{owner type}.{attribute}"` of an attribute id.
    fn attr_key(&self, id: &str) -> Option<String> {
        let a = self.attr_by_id.get(id)?;
        Some(format!("{}.{}", s(&a["objectType"]["name"]), s(&a["name"])))
    }

    /// An attribute's configuration, with ids replaced by names.
    fn attr_config(&self, a: &Value) -> Value {
        let tvm: BTreeSet<String> = a["typeValueMulti"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| {
                let x = s(x);
                if a["type"] == 7 {
                    self.status_names.get(&x).cloned().unwrap_or(x)
                } else {
                    x
                }
            })
            .collect();
        json!({
            "name": a["name"], "type": a["type"], "defaultType": a["defaultType"]["id"],
            "label": a["label"], "system": a["system"], "editable": a["editable"],
            "min": a["minimumCardinality"], "max": a["maximumCardinality"],
            "unique": a["uniqueAttribute"], "regex": a["regexValidation"], "options": a["options"],
            "suffix": a["suffix"], "summable": a["summable"], "hidden": a["hidden"],
            "children": a["includeChildObjectTypes"], "description": a["description"],
            "ql": a["qlQuery"],
            "additional": if a["type"] == 1 { Value::Null } else { a["additionalValue"].clone() },
            "refType": a["referenceType"]["name"], "refTarget": a["referenceObjectType"]["name"],
            "typeValueMulti": tvm,
        })
    }

    /// An object's values by attribute key; `map` turns (attribute key, kind, value) into the
    /// comparable text (or drops it).
    fn values(
        &self,
        obj: &Value,
        map: &dyn Fn(&str, i64, &Value) -> Option<String>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for a in obj["attributes"].as_array().into_iter().flatten() {
            let id = s(&a["objectTypeAttributeId"]);
            let def = &self.attr_by_id[&id];
            if def["system"] == true {
                continue;
            }
            let key = self.attr_key(&id).unwrap();
            let kind = def["type"].as_i64().unwrap_or(0);
            let mut vals: Vec<String> = a["objectAttributeValues"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| map(&key, kind, v))
                .collect();
            vals.sort();
            if !vals.is_empty() {
                out.insert(key, vals);
            }
        }
        out
    }
}

/// Who a backup user becomes on the target: `(attribute key, display name) -> account`.
pub type UserRule = dyn Fn(&str, &str) -> Option<String> + Sync;

/// Asserts that `dst` (a restore of `src` per `plan`) holds the same types, attributes,
/// statuses, configuration and objects with the same values, references compared through
/// `ORIGINAL_ID`, statuses by name and users per `users`.
pub fn assert_restored(src: &Snapshot, dst: &Snapshot, plan: &RestorePlan, users: &UserRule) {
    let dropped: BTreeSet<String> = plan
        .attributes
        .iter()
        .filter(|a| a.action == AttrAction::Drop)
        .map(|a| format!("{}.{}", a.object_type_name, a.name))
        .collect();
    let identity = |n: &Value| n == "ORIGINAL_ID" || n == "ORIGINAL_KEY";
    assert_eq!(src.config, dst.config, "schema configuration");
    let st = |x: &Snapshot| -> BTreeSet<(String, String)> {
        x.statuses
            .iter()
            .map(|v| (s(&v["name"]), s(&v["category"])))
            .collect()
    };
    assert_eq!(st(src), st(dst), "schema status types");
    // Types: hierarchy, positions, flags, descriptions, icons (global ones by name).
    assert_eq!(src.types.len(), dst.types.len(), "object type count");
    let by_name = |x: &Snapshot| -> BTreeMap<String, Value> {
        x.types.iter().map(|t| (s(&t["name"]), t.clone())).collect()
    };
    let (st_, dt_) = (by_name(src), by_name(dst));
    for (name, t) in &st_ {
        let d = dt_
            .get(name)
            .unwrap_or_else(|| panic!("type {name} missing"));
        let parent =
            |x: &Snapshot, t: &Value| x.type_names.get(&s(&t["parentObjectTypeId"])).cloned();
        assert_eq!(parent(src, t), parent(dst, d), "parent of {name}");
        for f in [
            "position",
            "inherited",
            "abstractObjectType",
            "description",
            "parentObjectTypeInherited",
        ] {
            assert_eq!(t[f], d[f], "{f} of type {name}");
        }
        if dst.global_icons.contains(&s(&t["icon"]["name"])) {
            assert_eq!(t["icon"]["name"], d["icon"]["name"], "icon of {name}");
        }
        // Attributes: the same configuration in the same order, minus dropped ones; root
        // types gain the identity attributes.
        let own = |x: &Snapshot, t: &Value| x.attrs[&s(&t["id"])].clone();
        let expected: Vec<Value> = own(src, t)
            .iter()
            .filter(|a| !dropped.contains(&format!("{name}.{}", s(&a["name"]))))
            .map(|a| src.attr_config(a))
            .collect();
        let got = own(dst, d);
        let got_cfg: Vec<Value> = got
            .iter()
            .filter(|a| !identity(&a["name"]))
            .map(|a| dst.attr_config(a))
            .collect();
        assert_eq!(expected, got_cfg, "attributes of {name}");
        if d["parentObjectTypeInherited"] != true {
            let ids = got.iter().filter(|a| identity(&a["name"])).count();
            assert_eq!(ids, 2, "identity attributes on root type {name}");
        }
    }
    // Objects: each source object exactly once, found by ORIGINAL_ID.
    let orig_of = |o: &Value, n: &str| -> Option<String> {
        o["attributes"].as_array()?.iter().find_map(|a| {
            let def = dst.attr_by_id.get(&s(&a["objectTypeAttributeId"]))?;
            (def["name"] == n).then(|| s(&a["objectAttributeValues"][0]["value"]))
        })
    };
    let mut by_orig: HashMap<String, &Value> = HashMap::new();
    let mut orig_of_id: HashMap<String, String> = HashMap::new();
    for o in &dst.objects {
        let orig = orig_of(o, "ORIGINAL_ID").expect("restored object without ORIGINAL_ID");
        assert!(
            by_orig.insert(orig.clone(), o).is_none(),
            "ORIGINAL_ID {orig} twice"
        );
        orig_of_id.insert(s(&o["id"]), orig);
    }
    assert_eq!(src.objects.len(), dst.objects.len(), "object count");
    let mut compared = 0;
    for o in &src.objects {
        let id = s(&o["id"]);
        let d = by_orig
            .get(&id)
            .unwrap_or_else(|| panic!("object {id} missing"));
        assert_eq!(o["label"], d["label"], "label of {id}");
        assert_eq!(
            o["objectType"]["name"], d["objectType"]["name"],
            "type of {id}"
        );
        assert_eq!(
            orig_of(d, "ORIGINAL_KEY"),
            Some(s(&o["objectKey"])),
            "ORIGINAL_KEY of {id}"
        );
        let want = src.values(o, &|key, kind, v| {
            if dropped.contains(key) {
                return None;
            }
            match kind {
                1 => Some(s(&v["referencedObject"]["id"])),
                2 => users(key, v["user"]["displayName"].as_str()?),
                7 => Some(s(&v["status"]["name"])),
                _ => Some(s(&v["value"])),
            }
        });
        let got = dst.values(d, &|key, kind, v| {
            if key.ends_with(".ORIGINAL_ID") || key.ends_with(".ORIGINAL_KEY") {
                return None;
            }
            match kind {
                1 => orig_of_id.get(&s(&v["referencedObject"]["id"])).cloned(),
                7 => Some(s(&v["status"]["name"])),
                _ => Some(s(&v["value"])),
            }
        });
        assert_eq!(want, got, "values of object {id} ({})", o["label"]);
        compared += want.values().map(Vec::len).sum::<usize>();
    }
    assert!(compared > src.objects.len(), "{compared} values compared");
}

/// The rule of the restore for users: the target account with exactly this display name,
/// when there is exactly one.
pub async fn user_rule(raw: &Raw, plan: &RestorePlan) -> HashMap<String, Option<String>> {
    let mut out = HashMap::new();
    for u in &plan.users {
        let found = raw.accounts(&u.display_name).await;
        out.insert(
            u.display_name.clone(),
            (found.len() == 1).then(|| found[0].clone()),
        );
    }
    out
}

/// The id of the schema with `key` on the site.
pub async fn schema_id(raw: &Raw, key: &str) -> String {
    raw.schemas()
        .await
        .iter()
        .find(|x| x["objectSchemaKey"] == key)
        .map(|x| s(&x["id"]))
        .unwrap_or_else(|| panic!("no schema {key}"))
}
