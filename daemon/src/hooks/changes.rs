//! What a `transform_object` hook changed in an object, attribute by attribute ([`ValueChange`]):
//! the typed detail of a [`super::DecisionOutcome::Changed`] decision, so the plan (`--dry-run`)
//! and the restore log say which values go from what to what, not only how many changed.

use serde::{Deserialize, Serialize};

use crate::model::{AttributeValue, Object, ObjectAttribute, Scalar};

/// One attribute whose values a hook changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueChange {
    /// The attribute's id in the backup.
    pub attribute_id: String,
    /// Its name (filled in by the restore from the backup's definitions; empty when the
    /// backup has no such attribute).
    #[serde(default)]
    pub attribute: String,
    /// Its values before the hook, as text (empty: the hook added the attribute).
    pub from: Vec<String>,
    /// Its values after the hook, as text (empty: the hook removed the attribute or its
    /// values).
    pub to: Vec<String>,
}

/// A value as text: the plain value, else the referenced object's id, the status id, the
/// group's name, the display value.
pub fn value_text(v: &AttributeValue) -> String {
    if let Some(s) = v.value.get() {
        return match s {
            Scalar::Text(t) => t.clone(),
            other => other.to_text(),
        };
    }
    v.referenced_id()
        .or_else(|| v.status_id())
        .or_else(|| v.group_name())
        .or_else(|| v.display_value.get().map(String::as_str))
        .unwrap_or_default()
        .to_owned()
}

fn texts(a: &ObjectAttribute) -> Vec<String> {
    a.values().iter().map(value_text).collect()
}

/// The attributes whose values differ between `old` and `new`: those of `new` in its order,
/// then those only `old` has (removed).
pub fn value_changes(old: &Object, new: &Object) -> Vec<ValueChange> {
    let find = |o: &'_ Object, id: &str| {
        o.attributes()
            .iter()
            .find(|a| a.object_type_attribute_id.as_str() == id)
            .map(texts)
    };
    let mut out = Vec::new();
    for b in new.attributes() {
        let id = b.object_type_attribute_id.as_str();
        let (from, to) = (find(old, id).unwrap_or_default(), texts(b));
        if from != to {
            out.push(ValueChange {
                attribute_id: id.to_owned(),
                attribute: String::new(),
                from,
                to,
            });
        }
    }
    for a in old.attributes() {
        let id = a.object_type_attribute_id.as_str();
        let from = texts(a);
        if find(new, id).is_none() && !from.is_empty() {
            out.push(ValueChange {
                attribute_id: id.to_owned(),
                attribute: String::new(),
                from,
                to: Vec::new(),
            });
        }
    }
    out
}

/// `Name: ["a  b"] -> ["a b"]` for a log line; each value cut at 80 characters (the typed
/// change in the plan keeps them whole).
pub fn describe(changes: &[ValueChange]) -> String {
    let list = |v: &[String]| {
        let items: Vec<String> = v.iter().map(|s| format!("{:?}", cut(s))).collect();
        format!("[{}]", items.join(", "))
    };
    changes
        .iter()
        .map(|c| {
            let name = match c.attribute.as_str() {
                "" => format!("attribute {}", c.attribute_id),
                n => n.to_owned(),
            };
            format!("{name}: {} -> {}", list(&c.from), list(&c.to))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn cut(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(attrs: serde_json::Value) -> Object {
        serde_json::from_value(json!({"id": "1", "objectKey": "K-1", "attributes": attrs})).unwrap()
    }

    #[test]
    fn changes_list_each_changed_added_and_removed_attribute() {
        let old = object(json!([
            {"objectTypeAttributeId": "10", "objectAttributeValues": [{"value": "  a  b "}]},
            {"objectTypeAttributeId": "11", "objectAttributeValues": [{"value": "same"}]},
            {"objectTypeAttributeId": "12", "objectAttributeValues": [{"value": "gone"}]},
            {"objectTypeAttributeId": "13", "objectAttributeValues": [
                {"referencedObject": {"id": "77"}}]}
        ]));
        let new = object(json!([
            {"objectTypeAttributeId": "10", "objectAttributeValues": [{"value": "a b"}]},
            {"objectTypeAttributeId": "11", "objectAttributeValues": [{"value": "same"}]},
            {"objectTypeAttributeId": "13", "objectAttributeValues": [
                {"referencedObject": {"id": "78"}}]},
            {"objectTypeAttributeId": "14", "objectAttributeValues": [{"value": "new"}]}
        ]));
        let changes = value_changes(&old, &new);
        let got: Vec<(&str, Vec<String>, Vec<String>)> = changes
            .iter()
            .map(|c| (c.attribute_id.as_str(), c.from.clone(), c.to.clone()))
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                ("10", s(&["  a  b "]), s(&["a b"])),
                ("13", s(&["77"]), s(&["78"])),
                ("14", s(&[]), s(&["new"])),
                ("12", s(&["gone"]), s(&[])),
            ]
        );
        assert!(value_changes(&old, &old).is_empty());
        let mut named = changes[0].clone();
        named.attribute = "Name".into();
        assert_eq!(
            describe(&[named, changes[3].clone()]),
            r#"Name: ["  a  b "] -> ["a b"]; attribute 12: ["gone"] -> []"#
        );
        assert_eq!(cut(&"x".repeat(100)), format!("{}...", "x".repeat(80)));
    }
}
