//! The independent reader of a site: plain HTTP (reqwest with the site's credentials), not
//! the code under test. [`SiteReader`] reads what a site holds; [`Snapshot`] captures a schema
//! as the API shows it, and [`assert_restored`] compares a restored schema with its source
//! (references through `ORIGINAL_ID`, statuses by name, users by a rule);
//! [`assert_each_object_once`] counts a restored schema's objects by `ORIGINAL_ID`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use assetark::restore::{AttrAction, RestorePlan};
use assets_sim::server::SimHandle;
use serde_json::{Value, json};

/// Plain HTTP to one site of the simulator, independent of the code under test.
#[derive(Clone)]
pub struct SiteReader {
    http: reqwest::Client,
    api: String,
    site: String,
    email: String,
    token: String,
}

impl SiteReader {
    pub fn new(sim: &SimHandle, site: &str) -> SiteReader {
        let s = sim.site(site).expect("site");
        SiteReader {
            http: reqwest::Client::new(),
            api: s.api_url.clone(),
            site: s.site_url.clone(),
            email: s.email.clone(),
            token: s.token.clone(),
        }
    }

    /// Sends to an absolute URL, asserts success, returns the body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<&Value>,
    ) -> Vec<u8> {
        let mut rb = self
            .http
            .request(method, &url)
            .basic_auth(&self.email, Some(&self.token));
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().await.expect("site request");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.expect("site body").to_vec()
    }

    /// `GET {api}{path}` as JSON (`Null` when the body is not JSON).
    pub async fn get(&self, path: &str) -> Value {
        let b = self
            .send(reqwest::Method::GET, format!("{}{path}", self.api), None)
            .await;
        serde_json::from_slice(&b).unwrap_or(Value::Null)
    }

    /// `GET {api}{path}` as bytes.
    pub async fn bytes(&self, path: &str) -> Vec<u8> {
        self.send(reqwest::Method::GET, format!("{}{path}", self.api), None)
            .await
    }

    /// `GET {api}{path}`, a JSON array.
    pub async fn list(&self, path: &str) -> Vec<Value> {
        match self.get(path).await {
            Value::Array(a) => a,
            other => panic!("{path}: expected an array, got {other}"),
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let b = self
            .send(
                reqwest::Method::POST,
                format!("{}{path}", self.api),
                Some(&body),
            )
            .await;
        serde_json::from_slice(&b).unwrap_or(Value::Null)
    }

    /// `GET {site}{path}` (a Jira endpoint).
    pub async fn jira(&self, path: &str) -> Value {
        self.jira_call(reqwest::Method::GET, path, None).await
    }

    /// Any method to a Jira endpoint.
    pub async fn jira_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let b = self
            .send(method, format!("{}{path}", self.site), body.as_ref())
            .await;
        serde_json::from_slice(&b).unwrap_or(Value::Null)
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

    /// Every schema: key -> id.
    pub async fn schema_ids(&self) -> HashMap<String, String> {
        self.schemas()
            .await
            .iter()
            .map(|x| (s(&x["objectSchemaKey"]), s(&x["id"])))
            .collect()
    }

    /// Objects of schema `key`: per object, its id and its `ORIGINAL_ID` value (if any).
    pub async fn originals(&self, key: &str) -> Vec<(String, Option<String>)> {
        self.named_objects(key)
            .await
            .into_iter()
            .map(|o| {
                let original = o.values("ORIGINAL_ID").first().map(|v| s(&v["value"]));
                (o.id, original)
            })
            .collect()
    }

    /// Objects of schema `key` with their attribute values by attribute name (AQL pages of
    /// 500, with attributes; empty when the schema does not exist).
    pub async fn named_objects(&self, key: &str) -> Vec<NamedObject> {
        let Some(schema) = self.schema_ids().await.remove(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        loop {
            let page = self
                .post(
                    &format!(
                        "/object/aql?startAt={}&maxResults=500&includeAttributes=true",
                        out.len()
                    ),
                    json!({ "qlQuery": format!("objectSchemaId = {schema}") }),
                )
                .await;
            let names: HashMap<String, String> = page["objectTypeAttributes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| (s(&d["id"]), s(&d["name"])))
                .collect();
            let values = page["values"].as_array().cloned().unwrap_or_default();
            let n = values.len();
            for o in values {
                let attrs = o["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| {
                        let name = names.get(&s(&a["objectTypeAttributeId"]))?;
                        Some((name.clone(), a.clone()))
                    })
                    .collect();
                out.push(NamedObject {
                    id: s(&o["id"]),
                    attrs,
                });
            }
            if page["isLast"].as_bool().unwrap_or(true) || n == 0 {
                return out;
            }
        }
    }

    /// Accounts whose display name is exactly `name`.
    pub async fn accounts(&self, name: &str) -> Vec<String> {
        let q =
            serde_urlencoded::to_string([("query", name), ("maxResults", "1000")]).expect("query");
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

/// Asserts that schema `key` on `dst` holds each object of schema `source_key` on `src`
/// exactly once (by `ORIGINAL_ID`); returns how many.
pub async fn assert_each_object_once(
    src: &SiteReader,
    source_key: &str,
    dst: &SiteReader,
    key: &str,
) -> usize {
    let source: BTreeSet<String> = src
        .originals(source_key)
        .await
        .into_iter()
        .map(|(id, orig)| orig.unwrap_or(id))
        .collect();
    let restored = dst.originals(key).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (id, orig) in &restored {
        let orig = orig
            .clone()
            .unwrap_or_else(|| panic!("object {id} without ORIGINAL_ID"));
        *seen.entry(orig).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "duplicated objects in {key}: {twice:?}");
    let got: BTreeSet<String> = seen.into_keys().collect();
    let missing: Vec<_> = source.difference(&got).collect();
    assert!(missing.is_empty(), "objects missing in {key}: {missing:?}");
    assert_eq!(got, source);
    source.len()
}

/// A JSON string or number as text (`""` for null).
pub fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An object as AQL shows it, its attributes by name ([`SiteReader::named_objects`]).
pub struct NamedObject {
    /// Its id.
    pub id: String,
    /// (attribute name, the attribute with its `objectAttributeValues`).
    pub attrs: Vec<(String, Value)>,
}

impl NamedObject {
    /// The values of attribute `name` (none when it holds none).
    pub fn values(&self, name: &str) -> Vec<&Value> {
        self.attrs
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, a)| a["objectAttributeValues"].as_array().into_iter().flatten())
            .collect()
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
    pub async fn read(raw: &SiteReader, schema_id: &str) -> Snapshot {
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
/// `ORIGINAL_ID`, statuses by name and users per `users` — except, on the backup's own site,
/// values whose account the plan found there, which keep it.
pub fn assert_restored(src: &Snapshot, dst: &Snapshot, plan: &RestorePlan, users: &UserRule) {
    let dropped: BTreeSet<String> = plan
        .attributes
        .iter()
        .filter(|a| a.action == AttrAction::Drop)
        .map(|a| format!("{}.{}", a.object_type_name, a.name))
        .collect();
    let identity = |n: &Value| n == "ORIGINAL_ID" || n == "ORIGINAL_KEY";
    let kept: BTreeSet<&str> = plan
        .accounts
        .iter()
        .filter(|a| a.exists)
        .map(|a| a.account_id.as_str())
        .collect();
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
        // Icons are matched by name on the backup's own site and with `--with-icons`; a
        // migration without it gives every new type the target's default icon.
        let by_icon_name = plan.with_icons || plan.source.site == plan.target_site;
        if by_icon_name && dst.global_icons.contains(&s(&t["icon"]["name"])) {
            assert_eq!(t["icon"]["name"], d["icon"]["name"], "icon of {name}");
        } else if !by_icon_name && plan.existing.is_none() {
            assert_eq!(
                Some(s(&d["icon"]["id"])),
                plan.default_icon,
                "default icon of {name} (no --with-icons)"
            );
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
            .filter(|a| !identity(&a["name"]) && a["name"] != "OBJECT_HISTORY")
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
                // On the backup's own site a value keeps its account while the site has it;
                // only a gone account follows the rule by display name.
                2 if kept.contains(v["value"].as_str().unwrap_or_default()) => Some(s(&v["value"])),
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
pub async fn user_rule(raw: &SiteReader, plan: &RestorePlan) -> HashMap<String, Option<String>> {
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
pub async fn schema_id(raw: &SiteReader, key: &str) -> String {
    raw.schemas()
        .await
        .iter()
        .find(|x| x["objectSchemaKey"] == key)
        .map(|x| s(&x["id"]))
        .unwrap_or_else(|| panic!("no schema {key}"))
}
