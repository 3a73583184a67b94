//! An independent view of a schema's objects on either product (plain HTTP, `GET /object/{id}`
//! for each object, as the site itself shows it), reduced to what a migration must keep:
//! per object (by identity: its id on the source, its `ORIGINAL_ID` on a restored copy) and
//! attribute (`Type.Attribute`), its values — references by the identity of the object they
//! point at, users by display name, statuses and groups by name, every other value as it is.

use std::collections::{BTreeMap, HashMap};

use assetark_tests::kit::{DcApi, SiteReader, dc_all_ids};
use serde_json::{Value, json};

/// A site of either product, read as its own API answers.
pub enum Reader {
    Dc(DcApi),
    Cloud(SiteReader),
}

/// Per object identity: its object type and key, and its values by `Type.Attribute`.
pub type Objects = BTreeMap<String, Obj>;

/// One object, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obj {
    pub key: String,
    pub values: BTreeMap<String, Vec<String>>,
}

/// Attributes every object type has, set by the site itself.
const SYSTEM: [&str; 5] = ["Key", "Created", "Updated", "ORIGINAL_ID", "ORIGINAL_KEY"];

impl Reader {
    /// The id of schema `key`.
    pub async fn schema_id(&self, key: &str) -> String {
        let list = match self {
            Reader::Dc(api) => {
                api.get("/objectschema/list").await.expect(200)["objectschemas"].clone()
            }
            Reader::Cloud(r) => Value::Array(r.schemas().await),
        };
        list.as_array()
            .into_iter()
            .flatten()
            .find(|s| s["objectSchemaKey"] == key)
            .map(|s| text(&s["id"]))
            .unwrap_or_else(|| panic!("no schema {key}: {list}"))
    }

    /// Every object of schema `key`, each as `GET /object/{id}` returns it.
    pub async fn full_objects(&self, key: &str) -> Vec<Value> {
        let schema = self.schema_id(key).await;
        let ql = format!("objectSchemaId = {schema}");
        let ids: Vec<String> = match self {
            Reader::Dc(api) => dc_all_ids(api, &ql, 50)
                .await
                .into_iter()
                .map(|i| i.to_string())
                .collect(),
            Reader::Cloud(r) => r
                .objects(&ql)
                .await
                .iter()
                .map(|o| text(&o["id"]))
                .collect(),
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.object(&id).await);
        }
        out
    }

    /// One object.
    pub async fn object(&self, id: &str) -> Value {
        match self {
            Reader::Dc(api) => api.get(&format!("/object/{id}")).await.expect(200),
            Reader::Cloud(r) => r.get(&format!("/object/{id}")).await,
        }
    }

    /// Display names held by exactly one active account of the site (the names a User value
    /// can be matched by).
    pub async fn unique_names(&self) -> Vec<String> {
        let users = match self {
            Reader::Dc(api) => api
                .send(
                    reqwest::Method::GET,
                    "/rest/api/2/user/search?username=.&maxResults=1000&includeInactive=true",
                    None,
                )
                .await
                .expect(200),
            Reader::Cloud(r) => {
                r.jira("/rest/api/3/users/search?startAt=0&maxResults=1000")
                    .await
            }
        };
        let mut count: HashMap<String, usize> = HashMap::new();
        for u in users.as_array().into_iter().flatten() {
            if u["active"] == json!(true) {
                *count.entry(text(&u["displayName"])).or_default() += 1;
            }
        }
        count
            .into_iter()
            .filter(|(_, n)| *n == 1)
            .map(|(n, _)| n)
            .collect()
    }
}

/// A JSON string or number as text.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The attribute named `name` of an object (`GET /object/{id}` shape), its first value.
pub fn value_of(o: &Value, name: &str) -> Option<String> {
    o["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["objectTypeAttribute"]["name"] == name)
        .map(|a| text(&a["objectAttributeValues"][0]["value"]))
}

/// Reduces `objects` (one schema's, `GET /object/{id}` shapes). `restored`: identities are
/// the `ORIGINAL_ID` values; otherwise the ids. References to objects outside the list (other
/// schemas) are left out, as a restore leaves them to the cross-schema task.
pub fn reduce(objects: &[Value], restored: bool) -> Objects {
    let identity: HashMap<String, String> = objects
        .iter()
        .map(|o| {
            let id = text(&o["id"]);
            let ident = if restored {
                value_of(o, "ORIGINAL_ID").unwrap_or_else(|| panic!("{id} without ORIGINAL_ID"))
            } else {
                id.clone()
            };
            (id, ident)
        })
        .collect();
    let mut out = Objects::new();
    for o in objects {
        let type_name = text(&o["objectType"]["name"]);
        let mut values = BTreeMap::new();
        for a in o["attributes"].as_array().into_iter().flatten() {
            let name = text(&a["objectTypeAttribute"]["name"]);
            if SYSTEM.contains(&name.as_str()) {
                continue;
            }
            let mut vals: Vec<String> = a["objectAttributeValues"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| {
                    if let Some(r) = v.get("referencedObject").filter(|r| !r.is_null()) {
                        identity.get(&text(&r["id"])).map(|i| format!("ref:{i}"))
                    } else if let Some(u) = v.get("user").filter(|u| !u.is_null()) {
                        Some(format!("user:{}", text(&u["displayName"])))
                    } else if let Some(s) = v.get("status").filter(|s| !s.is_null()) {
                        Some(format!("status:{}", text(&s["name"])))
                    } else if let Some(g) = v.get("group").filter(|g| !g.is_null()) {
                        Some(format!("group:{}", text(&g["name"])))
                    } else {
                        Some(text(&v["value"]))
                    }
                })
                .collect();
            vals.sort();
            if !vals.is_empty() {
                values.insert(format!("{type_name}.{name}"), vals);
            }
        }
        out.insert(
            identity[&text(&o["id"])].clone(),
            Obj {
                key: text(&o["objectKey"]),
                values,
            },
        );
    }
    out
}

/// What `source` becomes on a target whose unique active display names are `names`: user
/// values of other names are left empty by the display-name rule.
pub fn expected_on(source: &Objects, names: &[String]) -> Objects {
    let mut out = source.clone();
    for o in out.values_mut() {
        for vals in o.values.values_mut() {
            vals.retain(|v| {
                v.strip_prefix("user:")
                    .is_none_or(|n| names.iter().any(|x| x == n))
            });
        }
        o.values.retain(|_, v| !v.is_empty());
        o.key.clear();
    }
    out
}

/// `objects` without their keys (a restored copy has keys of its own).
pub fn without_keys(mut objects: Objects) -> Objects {
    for o in objects.values_mut() {
        o.key.clear();
    }
    objects
}

/// Source objects holding a Text value over `max` characters, by key.
pub fn long_text_keys(objects: &[Value], max: usize) -> std::collections::BTreeSet<String> {
    objects
        .iter()
        .filter(|o| {
            o["attributes"].as_array().into_iter().flatten().any(|a| {
                a["objectTypeAttribute"]["defaultType"]["id"] == 0
                    && a["objectAttributeValues"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|v| v["value"].as_str().is_some_and(|s| s.chars().count() > max))
            })
        })
        .map(|o| text(&o["objectKey"]))
        .collect()
}
