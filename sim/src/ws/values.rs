//! Attribute value validation: turns the strings a client sends into stored values, with the
//! API's messages for every type rule (Text length, numbers, dates, selects, references, users,
//! groups, statuses, regexes).

use std::net::Ipv4Addr;

use compact_str::{CompactString, ToCompactString};

use super::{Workspace, parse_id};
use crate::clock;
use crate::model::*;

/// Cloud's limit on Text values.
pub const TEXT_MAX_CHARS: usize = 255;
/// Data Center's limit on Text values.
pub const DC_TEXT_MAX_CHARS: usize = 450;

/// The key of a value in the unique index.
pub fn unique_key(v: &Val) -> CompactString {
    match v {
        Val::Text(t) => t.to_lowercase().to_compact_string(),
        Val::Ref(id) | Val::Status(id) => id.to_compact_string(),
    }
}

fn invalid(a: &Attribute, raw: &str) -> String {
    format!(
        "Invalid values: [{raw}] for attribute {} ({})",
        a.name,
        super::attrs::kind_name(&a.kind)
    )
}

impl Workspace {
    /// Validates one raw value of attribute `a` for an object in `schema_id`.
    pub fn parse_value(&self, a: &Attribute, raw: &str) -> Result<Val, String> {
        let v = raw.trim();
        match &a.kind {
            AttrKind::Default(dt) => self.parse_default(a, *dt, raw, v).map(Val::Text),
            AttrKind::Object { target_type, .. } => {
                let o = self
                    .resolve_object(v)
                    .ok_or_else(|| format!("{v} is not valid Object id or key"))?;
                let allowed = o.type_id == *target_type
                    || (a.include_child_object_types
                        && self.type_and_descendants(*target_type).contains(&o.type_id));
                if !allowed {
                    let tn = self
                        .types
                        .get(target_type)
                        .map(|t| t.name.as_str())
                        .unwrap_or("?");
                    return Err(format!(
                        "The object {} is not of object type {tn}, which {} refers to",
                        self.object_key(o),
                        a.name
                    ));
                }
                Ok(Val::Ref(o.id))
            }
            AttrKind::User => {
                let u = self
                    .user(v)
                    .ok_or_else(|| format!("User(s) [{v}] not found in Jira"))?;
                if !a.type_value_multi.is_empty()
                    && !u.groups.iter().any(|g| a.type_value_multi.contains(g))
                {
                    return Err(format!(
                        "User(s) [{v}] are not members of the groups allowed for {}",
                        a.name
                    ));
                }
                Ok(Val::Text(v.to_compact_string()))
            }
            AttrKind::Group => {
                self.group(v)
                    .ok_or_else(|| "Invalid Group(s)".to_string())?;
                Ok(Val::Text(v.to_compact_string()))
            }
            AttrKind::Status => {
                let schema_id = self.types.get(&a.object_type_id).map(|t| t.schema_id);
                let st = parse_id(v)
                    .and_then(|id| self.statuses.get(&id))
                    .filter(|s| s.schema_id.is_none() || s.schema_id == schema_id)
                    .ok_or_else(|| {
                        format!(
                            "Invalid values: [{v}] for attribute {}: no such status",
                            a.name
                        )
                    })?;
                if !a.type_value_multi.is_empty()
                    && !a.type_value_multi.iter().any(|x| x == &st.id.to_string())
                {
                    return Err(format!(
                        "The status {} is not allowed for attribute {}",
                        st.name, a.name
                    ));
                }
                Ok(Val::Status(st.id))
            }
        }
    }

    fn parse_default(
        &self,
        a: &Attribute,
        dt: DefaultType,
        raw: &str,
        v: &str,
    ) -> Result<CompactString, String> {
        let out = match dt {
            DefaultType::Text => {
                let max = self.text_max_chars();
                if raw.chars().count() > max {
                    return Err(format!("{} must be less than {max} characters", a.name));
                }
                raw.to_compact_string()
            }
            DefaultType::Textarea => raw.to_compact_string(),
            DefaultType::Integer => v
                .parse::<i32>()
                .map_err(|_| invalid(a, raw))?
                .to_compact_string(),
            DefaultType::Double => {
                let d = v
                    .parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite())
                    .ok_or_else(|| invalid(a, raw))?;
                d.to_compact_string()
            }
            DefaultType::Boolean => match v.to_ascii_lowercase().as_str() {
                "true" => CompactString::const_new("true"),
                "false" => CompactString::const_new("false"),
                _ => return Err(invalid(a, raw)),
            },
            DefaultType::Date => {
                let d = v
                    .get(..10)
                    .filter(|_| v.len() == 10 || v.as_bytes().get(10) == Some(&b'T'))
                    .ok_or_else(|| invalid(a, raw))?;
                clock::parse_date(d).ok_or_else(|| invalid(a, raw))?;
                d.to_compact_string()
            }
            DefaultType::DateTime => {
                clock::iso(clock::parse_datetime(v).ok_or_else(|| invalid(a, raw))?)
                    .to_compact_string()
            }
            DefaultType::Time => {
                let parts: Vec<&str> = v.split(':').collect();
                let ok = (2..=3).contains(&parts.len())
                    && parts
                        .iter()
                        .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
                    && parts[0].parse::<u8>().is_ok_and(|h| h < 24)
                    && parts[1..]
                        .iter()
                        .all(|p| p.parse::<u8>().is_ok_and(|m| m < 60));
                if !ok {
                    return Err(invalid(a, raw));
                }
                v.to_compact_string()
            }
            DefaultType::Url => {
                let lower = v.to_ascii_lowercase();
                let rest = lower
                    .strip_prefix("http://")
                    .or_else(|| lower.strip_prefix("https://"));
                if !rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace)) {
                    return Err(invalid(a, raw));
                }
                v.to_compact_string()
            }
            DefaultType::Email => {
                let ok = v.split_once('@').is_some_and(|(l, d)| {
                    !l.is_empty()
                        && d.contains('.')
                        && !d.starts_with('.')
                        && !d.ends_with('.')
                        && !v.contains(char::is_whitespace)
                }) && v.matches('@').count() == 1;
                if !ok {
                    return Err(invalid(a, raw));
                }
                v.to_compact_string()
            }
            DefaultType::IpAddress => v
                .parse::<Ipv4Addr>()
                .map_err(|_| invalid(a, raw))?
                .to_compact_string(),
            DefaultType::Select => {
                if !a.option_list().any(|o| o == v) {
                    return Err(format!(
                        "Invalid values: [{raw}] for attribute {}: allowed options are {}",
                        a.name, a.options
                    ));
                }
                v.to_compact_string()
            }
        };
        if let Some(re) = &a.regex_validation
            && !re.is_match(&out)
        {
            return Err(format!(
                "The value provided is invalid due to restrictions: {} must match {}",
                a.name,
                re.as_str()
            ));
        }
        Ok(out)
    }

    /// How a stored value reads in history entries and `displayValue`.
    pub fn display_value(&self, v: &Val) -> String {
        match v {
            Val::Text(t) => t.to_string(),
            Val::Ref(id) => self
                .get_object(*id)
                .map(|o| self.object_label(o))
                .unwrap_or_default(),
            Val::Status(id) => self
                .statuses
                .get(id)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
        }
    }
}
