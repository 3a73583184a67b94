//! Objects, written straight into a JSON string. Paging serves up to 5,000 objects a page, each
//! with its type, attributes and referenced objects embedded, so this path avoids building
//! `serde_json::Value` trees and caches what repeats within a page (types, users, statuses).

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::Value;

use super::{AttrMode, Ctx};
use crate::clock::{self, iso};
use crate::model::*;

/// What repeats across the objects of one response, rendered once.
#[derive(Default)]
pub struct PageCache {
    types: HashMap<u32, String>,
    visible: HashMap<u32, std::rc::Rc<[u32]>>,
    labels: HashMap<u32, Option<u32>>,
    key_prefix: HashMap<u32, String>,
    statuses: HashMap<u32, String>,
    users: HashMap<String, String>,
    defs: HashMap<(u32, usize), String>,
}

/// Appends `s` as a JSON string literal.
fn jstr(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }
}

impl Ctx<'_> {
    fn visible(&self, c: &mut PageCache, type_id: u32) -> std::rc::Rc<[u32]> {
        c.visible
            .entry(type_id)
            .or_insert_with(|| self.ws.visible_attrs(type_id).into())
            .clone()
    }

    fn label_of(&self, c: &mut PageCache, o: &Object) -> String {
        let label = *c
            .labels
            .entry(o.type_id)
            .or_insert_with(|| self.ws.label_attr(o.type_id));
        match label.map(|a| o.values_of(a)) {
            Some([Val::Text(t), ..]) => t.to_string(),
            _ => String::new(),
        }
    }

    fn key_of(&self, c: &mut PageCache, o: &Object) -> String {
        let prefix = c.key_prefix.entry(o.type_id).or_insert_with(|| {
            let key = self
                .ws
                .schemas
                .get(&self.ws.object_schema_id(o))
                .map(|s| s.key.as_str())
                .unwrap_or("");
            format!("{key}-")
        });
        format!("{prefix}{}", o.id)
    }

    /// Writes one object in the API's shape.
    pub fn write_object(&self, out: &mut String, o: &Object, mode: AttrMode, c: &mut PageCache) {
        let ws = &self.ws.ws_id;
        let label = self.label_of(c, o);
        let key = self.key_of(c, o);
        let id = o.id;
        let dc = self.dc();
        if dc {
            let _ = write!(out, r#"{{"id":{id},"label":"#);
        } else {
            let _ = write!(
                out,
                r#"{{"workspaceId":"{ws}","globalId":"{ws}:{id}","id":"{id}","label":"#
            );
        }
        jstr(out, &label);
        out.push_str(r#","objectKey":"#);
        jstr(out, &key);
        let av = format!("{}/objecttype/{}/icon.png?size=", self.base, o.type_id);
        out.push_str(r#","avatar":{"#);
        if !dc {
            let _ = write!(
                out,
                r#""workspaceId":"{ws}","globalId":"{ws}:avatar:{id}","#
            );
        }
        let q = if dc { "" } else { "\"" };
        let _ = write!(
            out,
            r#""url16":"{av}16","url48":"{av}48","url72":"{av}72","url144":"{av}144","url288":"{av}288","objectId":{q}{id}{q}}},"objectType":"#
        );
        let ty = c.types.entry(o.type_id).or_insert_with(|| {
            self.ws
                .types
                .get(&o.type_id)
                .map(|t| self.object_type(t, 0).to_string())
                .unwrap_or_else(|| "null".into())
        });
        out.push_str(ty);
        let _ = write!(
            out,
            r#","created":"{}","updated":"{}","hasAvatar":false,"timestamp":{},"_links":{{"self":"{}/object/{id}"}},"name":"#,
            iso(o.created),
            iso(o.updated),
            o.updated,
            self.base
        );
        jstr(out, &label);
        if mode != AttrMode::None {
            out.push_str(r#","attributes":"#);
            self.write_attributes(out, o, mode == AttrMode::WithDefinitions, c);
        }
        out.push('}');
    }

    /// Writes the `ObjectAttribute[]` of an object: system values (Key, Created, Updated) and
    /// the stored ones, in the type's attribute order.
    pub fn write_attributes(
        &self,
        out: &mut String,
        o: &Object,
        with_defs: bool,
        c: &mut PageCache,
    ) {
        let ws = &self.ws.ws_id;
        let dc = self.dc();
        out.push('[');
        let visible = self.visible(c, o.type_id);
        let mut first = true;
        for (pos, &attr_id) in visible.iter().enumerate() {
            let Some(a) = self.ws.attrs.get(&attr_id) else {
                continue;
            };
            let vals = o.values_of(attr_id);
            if a.system.is_none() && vals.is_empty() {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            // The deprecated row id: stable and unique per (object, attribute).
            let row = (u64::from(o.id) << 20) | u64::from(attr_id);
            if dc {
                let _ = write!(
                    out,
                    r#"{{"id":{row},"objectTypeAttributeId":{attr_id},"objectAttributeValues":["#
                );
            } else {
                let _ = write!(
                    out,
                    r#"{{"workspaceId":"{ws}","globalId":"{ws}:{row}","id":"{row}","objectTypeAttributeId":"{attr_id}","objectAttributeValues":["#
                );
            }
            match a.system {
                Some(sys) => {
                    let (text, display) = match sys {
                        SystemAttr::Key => {
                            let k = self.key_of(c, o);
                            (k.clone(), k)
                        }
                        SystemAttr::Created => (iso(o.created), clock::display_datetime(o.created)),
                        SystemAttr::Updated => (iso(o.updated), clock::display_datetime(o.updated)),
                    };
                    text_value(out, &text, &display);
                }
                None => {
                    for (i, v) in vals.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        self.write_value(out, a, v, c);
                    }
                }
            }
            let q = if dc { "" } else { "\"" };
            let _ = write!(out, r#"],"objectId":{q}{}{q}"#, o.id);
            if with_defs {
                out.push_str(r#","objectTypeAttribute":"#);
                let def = c
                    .defs
                    .entry((attr_id, pos))
                    .or_insert_with(|| self.attribute(a, pos as i32, false).to_string());
                out.push_str(def);
            }
            out.push('}');
        }
        out.push(']');
    }

    fn write_value(&self, out: &mut String, a: &Attribute, v: &Val, c: &mut PageCache) {
        let ws = self.ws;
        match v {
            Val::Ref(id) => match ws.get_object(*id) {
                Some(r) => {
                    out.push_str(r#"{"referencedObject":"#);
                    self.write_object(out, r, AttrMode::None, c);
                    out.push_str(r#","displayValue":"#);
                    jstr(out, &self.label_of(c, r));
                    out.push_str(r#","searchValue":"#);
                    jstr(out, &self.key_of(c, r));
                    out.push_str(r#","referencedType":true}"#);
                }
                None => {
                    let _ = write!(
                        out,
                        r#"{{"displayValue":"","searchValue":"{id}","referencedType":true}}"#
                    );
                }
            },
            Val::Status(id) => match ws.statuses.get(id) {
                Some(s) => {
                    let st = c
                        .statuses
                        .entry(*id)
                        .or_insert_with(|| self.status(s, false).to_string());
                    out.push_str(r#"{"status":"#);
                    out.push_str(st);
                    out.push_str(r#","displayValue":"#);
                    jstr(out, &s.name);
                    let _ = write!(out, r#","searchValue":"{id}","referencedType":false}}"#);
                }
                None => {
                    let _ = write!(
                        out,
                        r#"{{"displayValue":"","searchValue":"{id}","referencedType":false}}"#
                    );
                }
            },
            Val::Text(t) => {
                let t = t.as_str();
                match &a.kind {
                    AttrKind::User => match ws.user(t) {
                        Some(u) => {
                            out.push_str(r#"{"value":"#);
                            jstr(out, t);
                            out.push_str(r#","displayValue":"#);
                            jstr(out, &u.display_name);
                            out.push_str(r#","searchValue":"#);
                            jstr(out, t);
                            out.push_str(r#","referencedType":false,"user":"#);
                            let uj = c
                                .users
                                .entry(t.to_string())
                                .or_insert_with(|| self.user(u).to_string());
                            out.push_str(uj);
                            out.push('}');
                        }
                        None => text_value(out, t, t),
                    },
                    AttrKind::Group => {
                        out.push_str(r#"{"value":"#);
                        jstr(out, t);
                        out.push_str(r#","displayValue":"#);
                        jstr(out, t);
                        out.push_str(r#","searchValue":"#);
                        jstr(out, t);
                        let _ = write!(
                            out,
                            r#","referencedType":false,"group":{{"avatarUrl":"{}/group-avatar","name":"#,
                            self.base
                        );
                        jstr(out, t);
                        out.push_str("}}");
                    }
                    AttrKind::Default(DefaultType::DateTime) => {
                        let display = clock::parse_datetime(t)
                            .map(clock::display_datetime)
                            .unwrap_or_else(|| t.to_string());
                        text_value(out, t, &display);
                    }
                    AttrKind::Default(DefaultType::Date) => {
                        let display = clock::parse_date(t)
                            .map(|(y, m, d)| clock::display_date_parts(y, m, d))
                            .unwrap_or_else(|| t.to_string());
                        text_value(out, t, &display);
                    }
                    _ => text_value(out, t, t),
                }
            }
        }
    }

    /// An object as a JSON value (single-object endpoints).
    pub fn object(&self, o: &Object, mode: AttrMode, c: &mut PageCache) -> Value {
        let mut s = String::with_capacity(2048);
        self.write_object(&mut s, o, mode, c);
        serde_json::from_str(&s).unwrap_or(Value::Null)
    }

    /// An object's attributes as JSON values.
    pub fn object_attributes(&self, o: &Object, with_defs: bool, c: &mut PageCache) -> Vec<Value> {
        let mut s = String::with_capacity(2048);
        self.write_attributes(&mut s, o, with_defs, c);
        match serde_json::from_str(&s) {
            Ok(Value::Array(a)) => a,
            _ => Vec::new(),
        }
    }
}

fn text_value(out: &mut String, value: &str, display: &str) {
    out.push_str(r#"{"value":"#);
    jstr(out, value);
    out.push_str(r#","displayValue":"#);
    jstr(out, display);
    out.push_str(r#","searchValue":"#);
    jstr(out, value);
    out.push_str(r#","referencedType":false}"#);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_only_when_needed() {
        let mut s = String::new();
        jstr(&mut s, "plain");
        jstr(&mut s, "q\"uote\\\n");
        assert_eq!(s, r#""plain""q\"uote\\\n""#);
    }
}
