//! AQL evaluation: a `Matcher` resolves a parsed query against one workspace once (field names to
//! attribute ids per object type, type-level conditions to a flag per type, functions to values)
//! so that testing an object is a few array lookups and value comparisons.

use std::cell::OnceCell;
use std::cmp::Ordering;
use std::collections::HashMap;

use super::parser::{Lit, days_from_civil};
use super::{Cond, Expr, Field, Func, Op, Query, Special};
use crate::clock;
use crate::model::*;
use crate::ws::Workspace;

fn is_order(op: Op) -> bool {
    matches!(op, Op::Lt | Op::Gt | Op::Le | Op::Ge)
}

fn is_eq(op: Op) -> bool {
    matches!(op, Op::Eq | Op::EqCase)
}

/// Whether `value.cmp(literal)` satisfies a comparison operator.
fn ord_ok(op: Op, o: Ordering) -> bool {
    match op {
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        _ => o == Ordering::Equal,
    }
}

/// How an attribute's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AKind {
    Text,
    Num,
    Date,
    Ref,
    Status,
    User,
}

fn akind(k: &AttrKind) -> AKind {
    match k {
        AttrKind::Default(DefaultType::Integer | DefaultType::Double) => AKind::Num,
        AttrKind::Default(DefaultType::Date | DefaultType::DateTime) => AKind::Date,
        AttrKind::Default(_) | AttrKind::Group => AKind::Text,
        AttrKind::Object { .. } => AKind::Ref,
        AttrKind::User => AKind::User,
        AttrKind::Status => AKind::Status,
    }
}

/// Type-level fields: the same for every object of a type.
#[derive(Debug, Clone, Copy)]
enum Tl {
    TypeName,
    TypeId,
    SchemaName,
    SchemaId,
}

#[derive(Debug)]
enum CField {
    Tl(Tl),
    Key,
    ObjectId,
    Label,
    Created,
    Updated,
    /// `slot` indexes `TypeInfo::slots`.
    Attr {
        slot: usize,
        sub: Option<Box<CField>>,
    },
}

/// One value of a field, borrowed from the workspace.
#[derive(Debug, Clone, Copy)]
enum Atom<'a> {
    Text(&'a str),
    Num(&'a str),
    Date(&'a str),
    Millis(Millis),
    Id(u32),
    /// Schema key and object id.
    Key(&'a str, u32),
    Ref(u32),
    Status(u32),
    User(&'a str),
}

/// A literal with its function resolved; for `objectTypeAndChildren(..)`, the sorted type ids it
/// stands for.
struct CLit(Lit, Option<Vec<u32>>);

struct CCond {
    field: CField,
    /// The positive comparison (or IS [NOT] EMPTY).
    op: Op,
    negate: bool,
    lits: Vec<CLit>,
}

struct TypeInfo<'a> {
    name: &'a str,
    schema_name: &'a str,
    schema_key: &'a str,
    schema_id: u32,
    label_attr: Option<u32>,
    /// Per attribute name slot: the attribute of that name visible on this type.
    slots: Vec<Option<(u32, AKind)>>,
    /// Per condition: the result of a type-level condition for this type.
    tl: Vec<bool>,
}

/// Sort key of ORDER BY: (rank, number, text); numbers (rank 0) before date-times (1) before
/// text (2).
pub(crate) type SortKey = (u8, i64, String);

fn num_key(f: f64) -> SortKey {
    // The order of `f64::total_cmp` as an integer.
    let b = f.to_bits() as i64;
    (0, b ^ ((((b >> 63) as u64) >> 1) as i64), String::new())
}

fn text_key(s: &str) -> SortKey {
    (2, 0, s.to_lowercase())
}

/// Compares `(key, id)` pairs: by key (missing keys last in both directions), then by id.
pub(crate) fn cmp_keyed(
    a: &(Option<SortKey>, u32),
    b: &(Option<SortKey>, u32),
    desc: bool,
) -> Ordering {
    let by_key = match (&a.0, &b.0) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) if desc => y.cmp(x),
        (Some(x), Some(y)) => x.cmp(y),
    };
    by_key.then(a.1.cmp(&b.1))
}

fn tl_atom<'a>(tl: Tl, type_id: u32, info: &TypeInfo<'a>) -> Atom<'a> {
    match tl {
        Tl::TypeName => Atom::Text(info.name),
        Tl::TypeId => Atom::Id(type_id),
        Tl::SchemaName => Atom::Text(info.schema_name),
        Tl::SchemaId => Atom::Id(info.schema_id),
    }
}

/// A query resolved against one workspace; build once, test many objects.
pub struct Matcher<'a> {
    ws: &'a Workspace,
    expr: &'a Expr,
    conds: Vec<CCond>,
    order: Option<(CField, bool)>,
    /// Indexed by object type id.
    types: Vec<Option<TypeInfo<'a>>>,
    users: OnceCell<HashMap<&'a str, &'a str>>,
}

fn compile_field(f: &Field, slots: &mut Vec<String>) -> CField {
    match f {
        Field::Special(s) => match s {
            Special::ObjectType => CField::Tl(Tl::TypeName),
            Special::ObjectTypeId => CField::Tl(Tl::TypeId),
            Special::ObjectSchema => CField::Tl(Tl::SchemaName),
            Special::ObjectSchemaId => CField::Tl(Tl::SchemaId),
            Special::Key => CField::Key,
            Special::ObjectId => CField::ObjectId,
            Special::Label => CField::Label,
            Special::Created => CField::Created,
            Special::Updated => CField::Updated,
        },
        Field::Attr { name, sub } => {
            let lower = name.trim().to_lowercase();
            let slot = slots.iter().position(|s| *s == lower).unwrap_or_else(|| {
                slots.push(lower);
                slots.len() - 1
            });
            CField::Attr {
                slot,
                sub: sub.as_ref().map(|s| Box::new(compile_field(s, slots))),
            }
        }
    }
}

/// The comparison behind an operator, and whether the result over all values is negated.
fn positive(op: Op) -> (Op, bool) {
    match op {
        Op::Ne | Op::NotIn => (Op::Eq, true),
        Op::In => (Op::Eq, false),
        Op::NotLike => (Op::Like, true),
        op => (op, false),
    }
}

impl<'a> Matcher<'a> {
    pub fn new(ws: &'a Workspace, q: &'a Query) -> Matcher<'a> {
        let mut slots = Vec::new();
        let conds: Vec<CCond> = q
            .conds
            .iter()
            .map(|c| Self::compile_cond(ws, c, &mut slots))
            .collect();
        let order = q
            .order
            .as_ref()
            .map(|o| (compile_field(&o.field, &mut slots), o.desc));
        let max_type = ws.types.keys().next_back().copied().unwrap_or(0) as usize;
        let mut m = Matcher {
            ws,
            expr: &q.expr,
            conds,
            order,
            types: Vec::new(),
            users: OnceCell::new(),
        };
        m.types.resize_with(max_type + 1, || None);
        for t in ws.types.values() {
            let schema = ws.schemas.get(&t.schema_id);
            let visible: Vec<&Attribute> = ws
                .visible_attrs(t.id)
                .iter()
                .filter_map(|a| ws.attrs.get(a))
                .collect();
            let lower: Vec<String> = visible.iter().map(|a| a.name.to_lowercase()).collect();
            let slots = slots
                .iter()
                .map(|s| {
                    lower
                        .iter()
                        .position(|n| n == s)
                        .map(|i| (visible[i].id, akind(&visible[i].kind)))
                })
                .collect();
            let mut info = TypeInfo {
                name: &t.name,
                schema_name: schema.map_or("", |s| s.name.as_str()),
                schema_key: schema.map_or("", |s| s.key.as_str()),
                schema_id: t.schema_id,
                label_attr: visible.iter().find(|a| a.label).map(|a| a.id),
                slots,
                tl: Vec::new(),
            };
            info.tl = m
                .conds
                .iter()
                .map(|c| matches!(c.field, CField::Tl(_)) && m.eval_tl(c, t.id, &info))
                .collect();
            m.types[t.id as usize] = Some(info);
        }
        m
    }

    fn compile_cond(ws: &Workspace, c: &Cond, slots: &mut Vec<String>) -> CCond {
        let (op, negate) = positive(c.op);
        let lits = c.lits.iter().map(|l| match &l.func {
            None => CLit(l.clone(), None),
            Some(Func::CurrentUser) => {
                let me = ws.users.get(ws.actor as usize);
                CLit(Lit::new(me.map_or("", |u| u.account_id.as_str())), None)
            }
            Some(Func::TypeAndChildren(name)) => {
                let id = Lit::new(name).id();
                let roots = ws.types.values();
                let roots =
                    roots.filter(|t| t.name.eq_ignore_ascii_case(name.trim()) || Some(t.id) == id);
                let mut set: Vec<u32> = roots.flat_map(|t| ws.type_and_descendants(t.id)).collect();
                set.sort_unstable();
                set.dedup();
                CLit(l.clone(), Some(set))
            }
        });
        CCond {
            field: compile_field(&c.field, slots),
            op,
            negate,
            lits: lits.collect(),
        }
    }
    fn info(&self, type_id: u32) -> Option<&TypeInfo<'a>> {
        self.types.get(type_id as usize).and_then(Option::as_ref)
    }

    /// A type-level condition on one type.
    fn eval_tl(&self, c: &CCond, type_id: u32, info: &TypeInfo<'a>) -> bool {
        let CField::Tl(tl) = c.field else {
            return false;
        };
        if matches!(c.op, Op::IsEmpty | Op::IsNotEmpty) {
            return c.op == Op::IsNotEmpty;
        }
        let atom = tl_atom(tl, type_id, info);
        let any = c.lits.iter().any(|CLit(l, types)| match types {
            Some(set) => set.binary_search(&type_id).is_ok(),
            None => self.match_atom(atom, c.op, l),
        });
        any != c.negate
    }

    /// Whether the object matches the query.
    pub fn matches(&self, o: &'a Object) -> bool {
        self.eval(self.expr, o)
    }

    fn eval(&self, e: &Expr, o: &'a Object) -> bool {
        match e {
            Expr::All => true,
            Expr::Cond(i) => self.eval_cond(&self.conds[*i], *i, o),
            Expr::And(v) => v.iter().all(|e| self.eval(e, o)),
            Expr::Or(v) => v.iter().any(|e| self.eval(e, o)),
            Expr::Not(e) => !self.eval(e, o),
        }
    }

    fn eval_cond(&self, c: &CCond, i: usize, o: &'a Object) -> bool {
        if let CField::Tl(_) = c.field {
            return self.info(o.type_id).is_some_and(|t| t.tl[i]);
        }
        match c.op {
            Op::IsEmpty | Op::IsNotEmpty => match self.any_atom(&c.field, o, &mut |_| true) {
                None => c.op == Op::IsEmpty,
                Some(any) => any == (c.op == Op::IsNotEmpty),
            },
            _ => {
                let hit = &mut |a: Atom<'a>| c.lits.iter().any(|l| self.match_atom(a, c.op, &l.0));
                match self.any_atom(&c.field, o, hit) {
                    None => false,
                    Some(any) => any != c.negate,
                }
            }
        }
    }

    fn label_of(&self, o: &'a Object) -> Option<&'a str> {
        let a = self.info(o.type_id)?.label_attr?;
        match o.values_of(a).first() {
            Some(Val::Text(t)) => Some(t.as_str()),
            _ => None,
        }
    }

    /// Calls `f` on the field's values until it returns true; `None` when the object's type has
    /// no attribute of that name, else whether `f` accepted a value.
    fn any_atom(
        &self,
        f: &CField,
        o: &'a Object,
        cb: &mut dyn FnMut(Atom<'a>) -> bool,
    ) -> Option<bool> {
        let info = self.info(o.type_id);
        Some(match f {
            CField::Tl(tl) => cb(tl_atom(*tl, o.type_id, info?)),
            CField::Key => cb(Atom::Key(info.map_or("", |i| i.schema_key), o.id)),
            CField::ObjectId => cb(Atom::Id(o.id)),
            CField::Label => self
                .label_of(o)
                .filter(|l| !l.is_empty())
                .is_some_and(|l| cb(Atom::Text(l))),
            CField::Created => cb(Atom::Millis(o.created)),
            CField::Updated => cb(Atom::Millis(o.updated)),
            CField::Attr { slot, sub } => {
                let (aid, kind) = info?.slots[*slot]?;
                let vals = o.values_of(aid);
                match sub {
                    None => vals.iter().any(|v| {
                        cb(match v {
                            Val::Ref(r) => Atom::Ref(*r),
                            Val::Status(s) => Atom::Status(*s),
                            Val::Text(t) => match kind {
                                AKind::Num => Atom::Num(t),
                                AKind::Date => Atom::Date(t),
                                AKind::User => Atom::User(t),
                                _ => Atom::Text(t),
                            },
                        })
                    }),
                    Some(_) if kind != AKind::Ref => return None,
                    Some(sub) => vals.iter().any(|v| match v {
                        Val::Ref(r) => self
                            .ws
                            .get_object(*r)
                            .is_some_and(|ro| self.any_atom(sub, ro, cb) == Some(true)),
                        _ => false,
                    }),
                }
            }
        })
    }

    fn display_name(&self, account_id: &str) -> Option<&'a str> {
        let users = self.users.get_or_init(|| {
            self.ws
                .users
                .iter()
                .map(|u| (u.account_id.as_str(), u.display_name.as_str()))
                .collect()
        });
        users.get(account_id).copied()
    }

    fn match_atom(&self, a: Atom<'a>, op: Op, l: &Lit) -> bool {
        match a {
            Atom::Text(s) => str_op(s, op, l),
            Atom::Num(s) => match s.trim().parse::<f64>() {
                Ok(v) => num_op(v, op, l, || s.to_string()),
                Err(_) => !is_order(op) && str_op(s, op, l),
            },
            Atom::Id(n) => num_op(f64::from(n), op, l, || n.to_string()),
            Atom::Date(s) => match (fast_millis(s), l.date) {
                (Some(v), Some(r)) if is_eq(op) || is_order(op) => date_op(v, op, r),
                _ => !is_order(op) && str_op(s, op, l),
            },
            Atom::Millis(v) => match l.date {
                Some(r) if is_eq(op) || is_order(op) => date_op(v, op, r),
                _ => !is_order(op) && str_op(&clock::iso(v), op, l),
            },
            Atom::Key(k, id) => match (op, &l.key) {
                (Op::Eq, Some((lk, lid))) => *lid == id && ieq(lk, k),
                (Op::EqCase, Some((lk, lid))) => *lid == id && lk == k,
                (Op::Eq | Op::EqCase, None) => false,
                _ => str_op(&format!("{k}-{id}"), op, l),
            },
            Atom::Ref(id) => {
                let Some(ro) = self.ws.get_object(id) else {
                    return false;
                };
                let label = self.label_of(ro).unwrap_or("");
                let key = || Atom::Key(self.info(ro.type_id).map_or("", |i| i.schema_key), id);
                match op {
                    Op::Eq | Op::EqCase => {
                        l.id() == Some(id) || self.match_atom(key(), op, l) || str_op(label, op, l)
                    }
                    _ if is_order(op) => str_op(label, op, l),
                    _ => str_op(label, op, l) || self.match_atom(key(), op, l),
                }
            }
            Atom::Status(id) => {
                let name = self.ws.statuses.get(&id).map_or("", |s| s.name.as_str());
                (is_eq(op) && l.id() == Some(id)) || str_op(name, op, l)
            }
            Atom::User(acc) => {
                let name = self.display_name(acc);
                if is_order(op) {
                    str_op(name.unwrap_or(acc), op, l)
                } else {
                    str_op(acc, op, l) || name.is_some_and(|n| str_op(n, op, l))
                }
            }
        }
    }

    /// The ORDER BY key of an object (its first value of the order field).
    pub(crate) fn sort_key(&self, o: &'a Object) -> Option<SortKey> {
        let (f, _) = self.order.as_ref()?;
        let mut first = None;
        self.any_atom(f, o, &mut |a| {
            first = Some(a);
            true
        });
        let text = text_key;
        Some(match first? {
            Atom::Text(s) => text(s),
            Atom::Num(s) => s.trim().parse::<f64>().map_or_else(|_| text(s), num_key),
            Atom::Date(s) => fast_millis(s).map_or_else(|| text(s), |t| (1, t, String::new())),
            Atom::Millis(v) => (1, v, String::new()),
            Atom::Id(n) | Atom::Key(_, n) => num_key(n.into()),
            Atom::Ref(id) => text(
                self.ws
                    .get_object(id)
                    .and_then(|ro| self.label_of(ro))
                    .unwrap_or(""),
            ),
            Atom::Status(id) => text(self.ws.statuses.get(&id).map_or("", |s| s.name.as_str())),
            Atom::User(acc) => text(self.display_name(acc).unwrap_or(acc)),
        })
    }

    /// Whether the query has an ORDER BY, and whether it is descending.
    pub(crate) fn order(&self) -> Option<bool> {
        self.order.as_ref().map(|o| o.1)
    }
}

fn num_op(v: f64, op: Op, l: &Lit, text: impl FnOnce() -> String) -> bool {
    match (op, l.num) {
        (Op::Like | Op::StartsWith | Op::EndsWith, _) => str_op(&text(), op, l),
        (_, Some(n)) => ord_ok(op, v.partial_cmp(&n).unwrap_or(Ordering::Less)),
        (_, None) => false,
    }
}

fn date_op(v: Millis, op: Op, (start, end): (Millis, Millis)) -> bool {
    match op {
        Op::Lt => v < start,
        Op::Le => v < end,
        Op::Gt => v >= end,
        Op::Ge => v >= start,
        _ => start <= v && v < end,
    }
}

fn str_op(s: &str, op: Op, l: &Lit) -> bool {
    match op {
        Op::Eq => ieq(s, &l.text),
        Op::EqCase => s == l.text,
        Op::Lt | Op::Le | Op::Gt | Op::Ge => ord_ok(op, icmp(s, &l.text)),
        Op::Like | Op::StartsWith | Op::EndsWith if s.is_ascii() && l.lower.is_ascii() => {
            let (h, n) = (s.as_bytes(), l.lower.as_bytes());
            let eq = |w: &[u8]| w.eq_ignore_ascii_case(n);
            match op {
                Op::Like => n.is_empty() || h.windows(n.len()).any(eq),
                Op::StartsWith => h.get(..n.len()).is_some_and(eq),
                _ => h.len() >= n.len() && eq(&h[h.len() - n.len()..]),
            }
        }
        Op::Like => s.to_lowercase().contains(&l.lower),
        Op::StartsWith => s.to_lowercase().starts_with(&l.lower),
        Op::EndsWith => s.to_lowercase().ends_with(&l.lower),
        _ => false,
    }
}

fn ieq(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

fn icmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
    }
}

/// Epoch ms of a stored Date (`2024-01-31`) or DateTime (`2024-01-31T10:00:00.000Z`) value,
/// without the general parser for the canonical forms.
pub(crate) fn fast_millis(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0i64, |n, c| n * 10 + i64::from(c - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = days_from_civil(y, m, d) * 86_400_000;
    if b.len() == 10 {
        return Some(day);
    }
    let canonical = b.len() == 24
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z';
    if canonical {
        let (h, mi, sec, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
        return Some(day + ((h * 60 + mi) * 60 + sec) * 1000 + ms);
    }
    clock::parse_datetime(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_millis_agrees_with_clock() {
        for s in [
            "2021-02-16T20:04:41.527Z",
            "1970-01-01T00:00:00.000Z",
            "2000-02-29T23:59:59.999Z",
            "1969-12-31T23:59:59.000Z",
        ] {
            assert_eq!(fast_millis(s), clock::parse_datetime(s), "{s}");
        }
        assert_eq!(fast_millis("2021-02-16"), Some(1613433600000));
        assert_eq!(
            fast_millis("2021-02-16T21:04:41.527+01:00"),
            Some(1613505881527)
        );
        assert_eq!(fast_millis("hello"), None);
        assert_eq!(fast_millis("2021-13-01"), None);
    }

    #[test]
    fn string_helpers() {
        let l = Lit::new("AbC");
        assert!(str_op("xxabcxx", Op::Like, &l));
        assert!(str_op("ABCd", Op::StartsWith, &l));
        assert!(str_op("dabc", Op::EndsWith, &l));
        assert!(!str_op("ab", Op::EndsWith, &l));
        assert!(str_op("abc", Op::Eq, &l) && !str_op("abc", Op::EqCase, &l));
        assert!(str_op("ÄBC", Op::Eq, &Lit::new("äbc")));
        assert!(str_op("xÄBCx", Op::Like, &Lit::new("äb")));
        assert!(
            str_op("abd", Op::Gt, &l) && str_op("abb", Op::Lt, &l) && str_op("ABC", Op::Le, &l)
        );
        assert!(num_op(10.0, Op::Gt, &Lit::new("9"), String::new));
        assert!(!num_op(10.0, Op::Gt, &Lit::new("x"), String::new));
        assert!(num_op(10.0, Op::Like, &Lit::new("1"), || "10".into()));
        let k = |a, b| cmp_keyed(&(a, 2), &(b, 1), false);
        assert_eq!(k(None, Some(num_key(1.0))), Ordering::Greater);
        assert_eq!(k(Some(num_key(1.0)), Some(text_key("a"))), Ordering::Less);
        assert_eq!(k(Some(num_key(1.0)), Some(num_key(1.0))), Ordering::Greater);
        assert!(num_key(-2.0) < num_key(-1.5) && num_key(-1.5) < num_key(0.0));
        assert!(num_key(0.0) < num_key(0.5) && num_key(0.5) < num_key(1e9));
    }
}
