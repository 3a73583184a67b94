//! AQL (Assets Query Language) engine: parsing (`parser`), evaluation against a `Workspace`
//! (`eval`), `search` with ORDER BY, and a small result `Cache` for paging through big results.
//!
//! Supported: `<field> <op> <value>` joined by AND / OR (AND binds tighter), NOT, parentheses;
//! operators `= == != < > <= >= LIKE, NOT LIKE, IN (..), NOT IN (..), STARTSWITH, ENDSWITH,
//! IS EMPTY, IS NOT EMPTY`; special fields `objectType objectTypeId objectSchema objectSchemaId
//! Key objectId Label Created Updated`; attribute names (bare or quoted) with one level of
//! `"Ref".Attr` traversal; functions `objectTypeAndChildren(..)` and `currentUser()`;
//! a trailing `ORDER BY <field> [ASC|DESC]`.

mod eval;
mod parser;

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

pub use eval::Matcher;
pub use parser::parse;

use crate::model::Object;
use crate::ws::Workspace;

/// A field on the left of an operator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Special(Special),
    /// An attribute, by name; `sub` is the attribute of the referenced objects (`"Owner".Name`).
    Attr {
        name: String,
        sub: Option<Box<Field>>,
    },
}

/// The built-in fields (matched case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    ObjectType,
    ObjectTypeId,
    ObjectSchema,
    ObjectSchemaId,
    Key,
    ObjectId,
    Label,
    Created,
    Updated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    EqCase,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
    NotLike,
    In,
    NotIn,
    StartsWith,
    EndsWith,
    IsEmpty,
    IsNotEmpty,
}

/// A function used as a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Func {
    /// `objectTypeAndChildren(name or id)`.
    TypeAndChildren(String),
    /// `currentUser()`: the account id of the caller.
    CurrentUser,
}

#[derive(Debug, Clone)]
pub(crate) struct Cond {
    pub field: Field,
    pub op: Op,
    pub lits: Vec<parser::Lit>,
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// The empty query.
    All,
    /// Index into `Query::conds`.
    Cond(usize),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) struct OrderBy {
    pub field: Field,
    pub desc: bool,
}

/// A parsed AQL query: conditions plus an optional ORDER BY.
#[derive(Debug, Clone)]
pub struct Query {
    text: String,
    pub(crate) expr: Expr,
    pub(crate) conds: Vec<Cond>,
    pub(crate) order: Option<OrderBy>,
}

impl Query {
    /// The text the query was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether one object matches. To test many objects, build a `Matcher` once instead.
    pub fn matches(&self, ws: &Workspace, o: &Object) -> bool {
        Matcher::new(ws, self).matches(o)
    }

    /// The query resolved against `ws`, for testing many objects.
    pub fn matcher<'a>(&'a self, ws: &'a Workspace) -> Matcher<'a> {
        Matcher::new(ws, self)
    }
}

/// All matching object ids, ordered by ORDER BY (ties and no ORDER BY: ascending object id;
/// objects without a value for the order field come last in both directions).
pub fn search(ws: &Workspace, q: &Query) -> Vec<u32> {
    if matches!(q.expr, Expr::All) && q.order.is_none() {
        return ws.objects().map(|o| o.id).collect();
    }
    let m = Matcher::new(ws, q);
    match m.order() {
        None => ws
            .objects()
            .filter(|o| m.matches(o))
            .map(|o| o.id)
            .collect(),
        Some(desc) => {
            let keyed = ws
                .objects()
                .filter(|o| m.matches(o))
                .map(|o| (m.sort_key(o), o.id));
            let mut keyed: Vec<_> = keyed.collect();
            if keyed
                .iter()
                .all(|(k, _)| k.as_ref().is_none_or(|k| k.0 < 2))
            {
                // Numbers and date-times only: sort packed keys, much faster than `cmp_keyed`.
                let pack = |(k, id): &(Option<eval::SortKey>, u32)| match k {
                    None => (3, 0, *id),
                    Some((rank, v, _)) if desc => (2 - rank, !v, *id),
                    Some((rank, v, _)) => (*rank, *v, *id),
                };
                let mut packed: Vec<(u8, i64, u32)> = keyed.iter().map(pack).collect();
                packed.sort_unstable();
                return packed.into_iter().map(|p| p.2).collect();
            }
            keyed.sort_unstable_by(|a, b| eval::cmp_keyed(a, b, desc));
            keyed.into_iter().map(|(_, id)| id).collect()
        }
    }
}

/// How many results the cache keeps.
const CACHE_ENTRIES: usize = 16;

struct Entry {
    ws_id: String,
    generation: u64,
    object_count: usize,
    text: String,
    ids: Arc<Vec<u32>>,
}

/// An LRU of search results keyed by (workspace, query text, `ws.generation`), so that paging
/// through a big result does not rescan the workspace for every page.
pub struct Cache {
    entries: Mutex<VecDeque<Entry>>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::new()
    }
}

impl Cache {
    pub fn new() -> Cache {
        Cache {
            entries: Mutex::new(VecDeque::with_capacity(CACHE_ENTRIES)),
        }
    }

    /// Parses and runs `text`, or returns the result of an identical earlier search of the same
    /// workspace state. Parse errors are returned (and not cached).
    pub fn search(&self, ws: &Workspace, text: &str) -> Result<Arc<Vec<u32>>, String> {
        let hit = |e: &Entry| {
            e.generation == ws.generation
                && e.object_count == ws.object_count()
                && e.text == text
                && e.ws_id == ws.ws_id
        };
        {
            let mut entries = self.entries.lock();
            if let Some(i) = entries.iter().position(hit) {
                let e = entries.remove(i).expect("found above");
                let ids = e.ids.clone();
                entries.push_front(e);
                return Ok(ids);
            }
        }
        // Run without the lock: other searches go on meanwhile.
        let q = parse(text)?;
        let ids = Arc::new(search(ws, &q));
        let mut entries = self.entries.lock();
        // Results for an older state of this workspace can never be hit again.
        entries
            .retain(|e| e.ws_id != ws.ws_id || (e.generation == ws.generation && e.text != text));
        entries.push_front(Entry {
            ws_id: ws.ws_id.clone(),
            generation: ws.generation,
            object_count: ws.object_count(),
            text: text.to_string(),
            ids: ids.clone(),
        });
        entries.truncate(CACHE_ENTRIES);
        Ok(ids)
    }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Cache>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Group, User};
    use crate::ws::{AttrInput, AttrSpec, TypeSpec};

    /// 2024-01-01T00:00:00Z; object `n` is created `n - 1` days later.
    const T0: i64 = 1_704_067_200_000;
    const DAY: i64 = 86_400_000;

    fn attr(ws: &Workspace, type_id: u32, name: &str) -> String {
        let id = ws
            .visible_attrs(type_id)
            .into_iter()
            .find(|a| ws.attrs[a].name == name)
            .expect(name);
        id.to_string()
    }

    fn new_type(ws: &mut Workspace, schema_id: u32, name: &str, parent: Option<u32>) -> u32 {
        let t = TypeSpec {
            schema_id,
            name: name.into(),
            description: None,
            icon_id: 1,
            parent,
            inherited: true,
            abstract_type: false,
        };
        ws.create_type(t, T0).unwrap()
    }

    /// Objects as `Type|Attr=v1,v2|...`.
    const OBJECTS: [&str; 7] = [
        "Person|Name=Alice",
        "Person|Name=Bob",
        "Host|Name=web-01|Serial Number=SN-100a|RAM=16|Price=99.5|Purchased=2023-01-15|\
         Seen=2024-03-01T10:00:00Z|Owner=1|State=5|Admin=acc-alice|Tags=red,green",
        "Host|Name=Web-02|Serial Number=sn-200|RAM=8|Price=10|Purchased=2023-06-01|\
         Owner=ITSM-1,ITSM-2|State=6|Admin=acc-bob|Tags=blue",
        "Host|Name=db main|RAM=64",
        "Server|Name=srv-a|RAM=32|Rack=R1|Owner=2",
        "Employee|Name=Carol",
    ];

    /// Persons Alice (1) and Bob (2); Hosts web-01 (3), Web-02 (4), db main (5); Server srv-a (6)
    /// (a Host child); Employee Carol (7) in schema HR.
    fn fixture() -> Workspace {
        let user = |id: &str, name: &str| User {
            account_id: id.into(),
            username: id.into(),
            display_name: name.into(),
            email: None,
            active: true,
            groups: vec![],
        };
        let users = vec![
            user("acc-alice", "Alice Smith"),
            user("acc-bob", "Bob Jones"),
        ];
        let mut ws = Workspace::new("ws-1".into(), users, Vec::<Group>::new(), 0);
        let it = ws.create_schema("IT Assets", "ITSM", None, T0).unwrap();
        let hr = ws.create_schema("HR", "HR", None, T0).unwrap();
        let person = new_type(&mut ws, it, "Person", None);
        let host = new_type(&mut ws, it, "Host", None);
        let server = new_type(&mut ws, it, "Server", Some(host));
        new_type(&mut ws, hr, "Employee", None);
        let many = Some(-1);
        let attrs = [
            ("Serial Number", 0, Some(0), None, None),
            ("RAM", 0, Some(1), None, None),
            ("Price", 0, Some(3), None, None),
            ("Purchased", 0, Some(4), None, None),
            ("Seen", 0, Some(6), None, None),
            ("State", 7, None, None, None),
            ("Admin", 2, None, None, None),
            ("Owner", 1, None, Some(person.to_string()), many),
            ("Tags", 0, Some(10), None, many),
        ];
        for (name, code, default_type, target, max) in attrs {
            let spec = AttrSpec {
                name: Some(name.into()),
                type_code: Some(code),
                default_type_id: default_type,
                additional_value: target.is_some().then(|| "6".into()),
                type_value: target,
                max_cardinality: max,
                options: (name == "Tags").then(|| "red,green,blue".into()),
                ..Default::default()
            };
            ws.create_attr(host, spec).unwrap();
        }
        let rack = AttrSpec {
            name: Some("Rack".into()),
            type_code: Some(0),
            ..Default::default()
        };
        ws.create_attr(
            server,
            AttrSpec {
                default_type_id: Some(0),
                ..rack
            },
        )
        .unwrap();
        for (i, line) in OBJECTS.iter().enumerate() {
            let mut parts = line.split('|');
            let tname = parts.next().unwrap();
            let t = ws.types.values().find(|t| t.name == tname).unwrap().id;
            let inputs: Vec<AttrInput> = parts
                .map(|p| p.split_once('=').unwrap())
                .map(|(n, v)| AttrInput {
                    attr_id: attr(&ws, t, n),
                    values: v.split(',').map(str::to_string).collect(),
                })
                .collect();
            ws.create_object(t, &inputs, 0, T0 + i as i64 * DAY)
                .unwrap();
        }
        ws
    }

    fn ids(ws: &Workspace, q: &str) -> Vec<u32> {
        search(ws, &parse(q).unwrap_or_else(|e| panic!("{q}: {e}")))
    }

    fn check(ws: &Workspace, cases: &[(&str, &[u32])]) {
        for (q, want) in cases {
            assert_eq!(ids(ws, q), *want, "{q}");
        }
    }

    #[test]
    fn special_fields() {
        let ws = fixture();
        check(
            &ws,
            &[
                ("", &[1, 2, 3, 4, 5, 6, 7]),
                ("objectSchemaId = 1", &[1, 2, 3, 4, 5, 6]),
                ("objectschema = hr", &[7]),
                (
                    "objectSchema = \"IT Assets\" AND objectType = person",
                    &[1, 2],
                ),
                ("objectType = Host", &[3, 4, 5]),
                ("objectType IN objectTypeAndChildren(Host)", &[3, 4, 5, 6]),
                (
                    "objectType = objectTypeAndChildren(\"host\")",
                    &[3, 4, 5, 6],
                ),
                (
                    "objectTypeId IN (objectTypeAndChildren(2), 1)",
                    &[1, 2, 3, 4, 5, 6],
                ),
                ("objectType != Host", &[1, 2, 6, 7]),
                ("objectType NOT IN objectTypeAndChildren(Host)", &[1, 2, 7]),
                ("objectType IN (Person, Employee)", &[1, 2, 7]),
                ("objectTypeId = 3", &[6]),
                ("objectType IS EMPTY", &[]),
                ("Key = ITSM-3", &[3]),
                ("key = itsm-3 OR KEY = HR-7", &[3, 7]),
                ("Key == itsm-3", &[]),
                ("Key = HR-3", &[]),
                ("Key LIKE HR", &[7]),
                ("objectId = 4", &[4]),
                ("objectId > 5", &[6, 7]),
                ("objectId IN (1, 7, 99)", &[1, 7]),
                ("objectId NOT IN (1, 7)", &[2, 3, 4, 5, 6]),
                ("Label = alice", &[1]),
                ("Label == alice", &[]),
                ("Label == Alice", &[1]),
                ("Label STARTSWITH web", &[3, 4]),
                ("Label ENDSWITH 01", &[3]),
                ("Label LIKE EB", &[3, 4]),
                ("Label NOT LIKE web", &[1, 2, 5, 6, 7]),
                ("Label < bob", &[1]),
                ("Created < 2024-01-02", &[1]),
                ("Created = 2024-01-02", &[2]),
                ("Created >= \"2024-01-06\"", &[6, 7]),
                ("Created > 2024-01-06T00:00:00.000Z", &[7]),
                ("Created <= 2024-01-02T00:00Z", &[1, 2]),
                ("Updated > 2024-01-06", &[7]),
                ("Created LIKE 2024-01-07", &[7]),
            ],
        );
    }

    #[test]
    fn attributes_by_kind() {
        let ws = fixture();
        check(
            &ws,
            &[
                ("Name = web-01", &[3]),
                ("name != web-01", &[1, 2, 4, 5, 6, 7]),
                ("\"Serial Number\" = sn-100A", &[3]),
                ("\"serial number\" == SN-100a", &[3]),
                ("\"Serial Number\" == sn-100a", &[]),
                ("\"Serial Number\" != sn-200", &[3, 5, 6]),
                ("\"Serial Number\" IS EMPTY", &[1, 2, 5, 6, 7]),
                ("\"Serial Number\" IS NOT EMPTY", &[3, 4]),
                ("\"Serial Number\" > sn-1", &[3, 4]),
                ("Rack = R1", &[6]),
                ("Rack IS EMPTY", &[1, 2, 3, 4, 5, 7]),
                ("RAM > 9", &[3, 5, 6]),
                ("RAM >= 16", &[3, 5, 6]),
                ("RAM < 16", &[4]),
                ("RAM <= 16", &[3, 4]),
                ("RAM = 16.0", &[3]),
                ("RAM > abc", &[]),
                ("RAM LIKE 6", &[3, 5]),
                ("Price < 50", &[4]),
                ("Price = 99.5", &[3]),
                ("Purchased < 2023-03-01", &[3]),
                ("Purchased = 2023-06-01", &[4]),
                ("Purchased >= 2023-01-15", &[3, 4]),
                ("Seen = 2024-03-01", &[3]),
                ("Seen > \"2024-03-01 09:00\"", &[3]),
                ("Seen > 2024-03-01T10:00Z", &[]),
                ("Seen >= 2024-03-01T10:00:00Z", &[3]),
                ("Seen = \"2024-03-01T11:00:00+01:00\"", &[3]),
                ("Owner = Alice", &[3, 4]),
                ("Owner = ITSM-2", &[4, 6]),
                ("Owner = 2", &[4, 6]),
                ("Owner != Alice", &[5, 6]),
                ("Owner IN (bob)", &[4, 6]),
                ("Owner IS EMPTY", &[1, 2, 5, 7]),
                ("Owner LIKE ali", &[3, 4]),
                ("Owner.Name = bob", &[4, 6]),
                ("\"Owner\".Label STARTSWITH A", &[3, 4]),
                ("Owner.Name != Alice", &[5, 6]),
                ("Owner.Key = ITSM-1", &[3, 4]),
                ("State = running", &[3]),
                ("State IN (Stopped, 5)", &[3, 4]),
                ("State != Running", &[4, 5, 6]),
                ("Admin = acc-alice", &[3]),
                ("Admin = \"bob jones\"", &[4]),
                ("Admin LIKE smith", &[3]),
                ("Admin = currentUser()", &[3]),
                ("Tags = green", &[3]),
                ("Tags IN (blue, green)", &[3, 4]),
                ("Tags != red", &[4, 5, 6]),
                ("Tags NOT IN (red, blue)", &[5, 6]),
                ("NoSuchAttr = 1", &[]),
                ("NoSuchAttr != 1", &[]),
                ("NoSuchAttr IS EMPTY", &[1, 2, 3, 4, 5, 6, 7]),
            ],
        );
    }

    #[test]
    fn boolean_structure() {
        let ws = fixture();
        check(
            &ws,
            &[
                ("Name = Alice OR Name = Bob AND objectId = 1", &[1]),
                ("Name = Alice or Name = Bob and objectId = 2", &[1, 2]),
                ("(Name = Alice OR Name = Bob) AND objectId = 2", &[2]),
                ("name = alice or NAME = bob", &[1, 2]),
                ("NOT objectType = Host", &[1, 2, 6, 7]),
                (
                    "objectSchemaId = 1 AND NOT (RAM > 10 OR objectType = Person)",
                    &[4],
                ),
                ("((objectId = 1))", &[1]),
            ],
        );
        let q = parse("objectType = Host AND RAM > 10").unwrap();
        let o3 = ws.get_object(3).unwrap();
        let o4 = ws.get_object(4).unwrap();
        assert!(q.matches(&ws, o3) && !q.matches(&ws, o4));
        assert_eq!(q.text(), "objectType = Host AND RAM > 10");
    }

    #[test]
    fn order_by() {
        let ws = fixture();
        check(
            &ws,
            &[
                ("objectType = Host ORDER BY RAM", &[4, 3, 5]),
                (
                    "objectType IN objectTypeAndChildren(Host) ORDER BY ram DESC",
                    &[5, 6, 3, 4],
                ),
                ("ORDER BY Name", &[1, 2, 7, 5, 6, 3, 4]),
                ("order by Name desc", &[4, 3, 6, 5, 7, 2, 1]),
                ("ORDER BY Label ASC", &[1, 2, 7, 5, 6, 3, 4]),
                ("ORDER BY \"Serial Number\"", &[3, 4, 1, 2, 5, 6, 7]),
                ("ORDER BY \"Serial Number\" DESC", &[4, 3, 1, 2, 5, 6, 7]),
                ("ORDER BY Owner", &[3, 4, 6, 1, 2, 5, 7]),
                ("ORDER BY Created DESC", &[7, 6, 5, 4, 3, 2, 1]),
                ("ORDER BY objectType", &[7, 3, 4, 5, 1, 2, 6]),
                ("objectId > 1 ORDER BY Key DESC", &[7, 6, 5, 4, 3, 2]),
                ("ORDER BY State", &[3, 4, 1, 2, 5, 6, 7]),
                ("ORDER BY Admin DESC", &[4, 3, 1, 2, 5, 6, 7]),
            ],
        );
    }

    #[test]
    fn cache_reuses_results_until_the_workspace_changes() {
        let mut ws = fixture();
        let cache = Cache::new();
        let a = cache.search(&ws, "RAM > 9").unwrap();
        let b = cache.search(&ws, "RAM > 9").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*a, [3, 5, 6]);
        let other = cache.search(&ws, "RAM > 10").unwrap();
        assert!(!Arc::ptr_eq(&a, &other));
        assert!(
            cache
                .search(&ws, "RAM >")
                .unwrap_err()
                .starts_with("AQL: unexpected end")
        );
        let ram = attr(&ws, 2, "RAM");
        ws.update_object(
            4,
            None,
            &[AttrInput {
                attr_id: ram,
                values: vec!["12".into()],
            }],
            0,
            T0,
        )
        .unwrap();
        let c = cache.search(&ws, "RAM > 9").unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(*c, [3, 4, 5, 6]);
        assert!(Arc::ptr_eq(&c, &cache.search(&ws, "RAM > 9").unwrap()));
        for i in 0..40 {
            cache.search(&ws, &format!("objectId = {i}")).unwrap();
        }
        assert!(cache.entries.lock().len() <= CACHE_ENTRIES);
    }
}
