//! The types are lossless: the blobs of a store written by older code
//! (`tests/fixtures/store-v3/store.db`) decode into them and encode back to the same canonical
//! JSON, byte for byte — the bytes a backup stores must not change with this code. (Real
//! simulator responses get the same check in `assets::tests`, where API paths belong.)

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::*;
use crate::store::blob::canonical_json;
use crate::store::{SqliteStore, Store, kind};

/// Decodes `bytes` as `T` and checks that `T` encodes to the canonical JSON of `bytes`.
pub(crate) fn assert_lossless<T: DeserializeOwned + Serialize>(what: &str, bytes: &[u8]) -> T {
    let plain: Value = serde_json::from_slice(bytes).expect("JSON");
    let typed: T = serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{what} does not decode: {e}: {plain}"));
    let back = serde_json::to_value(&typed).expect("encode");
    assert_eq!(
        String::from_utf8(canonical_json(&back)).unwrap(),
        String::from_utf8(canonical_json(&plain)).unwrap(),
        "{what} changed in a round trip"
    );
    typed
}

/// Every element of a JSON array, each checked on its own.
pub(crate) fn assert_each<T: DeserializeOwned + Serialize>(what: &str, bytes: &[u8]) -> usize {
    let list: Vec<Value> = serde_json::from_slice(bytes).expect("a JSON array");
    for v in &list {
        assert_lossless::<T>(what, &serde_json::to_vec(v).unwrap());
    }
    // The whole list at once too: this is how the client decodes it.
    let _: Vec<T> = serde_json::from_slice(bytes).expect("list decodes");
    list.len()
}

#[test]
fn the_fixture_stores_blobs_round_trip_byte_identically() {
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v3/store.db");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("store.db");
    std::fs::copy(&fixture, &copy).unwrap();
    let sqlite = SqliteStore::open_without_recovery(&copy).expect("fixture store opens");
    let store: &dyn Store = &sqlite;
    let mut seen = std::collections::BTreeMap::<&str, u64>::new();
    for backup in [1, 2] {
        for kind in [
            kind::SCHEMA,
            kind::CONFIG,
            kind::STATUS_TYPE,
            kind::REFERENCE_TYPE,
            kind::ICON,
            kind::ICON_PNG,
            kind::OBJECT_TYPE,
            kind::ATTRIBUTE,
            kind::OBJECT,
            kind::HISTORY,
            kind::ISSUE,
            crate::backup::PHASE_KIND,
        ] {
            let n = store
                .for_each_entry(backup, kind, |e| {
                    let what = format!("backup {backup} {kind} {}", e.original_id);
                    let stored = String::from_utf8(e.json.clone()).unwrap();
                    let check = |again: Value| {
                        assert_eq!(
                            String::from_utf8(canonical_json(&again)).unwrap(),
                            stored,
                            "{what}"
                        );
                    };
                    let bytes = e.json.as_slice();
                    match kind {
                        kind::SCHEMA => check(to(assert_lossless::<ObjectSchema>(&what, bytes))),
                        kind::CONFIG => check(to(assert_lossless::<SchemaConfig>(&what, bytes))),
                        kind::STATUS_TYPE => check(to(assert_lossless::<StatusType>(&what, bytes))),
                        kind::REFERENCE_TYPE => {
                            check(to(assert_lossless::<ReferenceType>(&what, bytes)))
                        }
                        kind::ICON => check(to(assert_lossless::<Icon>(&what, bytes))),
                        kind::ICON_PNG => {
                            let png = assert_lossless::<IconPng>(&what, bytes);
                            assert!(png.bytes().unwrap().starts_with(b"\x89PNG"), "{what}");
                            check(to(png));
                        }
                        kind::OBJECT_TYPE => check(to(assert_lossless::<ObjectType>(&what, bytes))),
                        kind::ATTRIBUTE => {
                            check(to(assert_lossless::<ObjectTypeAttribute>(&what, bytes)))
                        }
                        kind::OBJECT => check(to(assert_lossless::<Object>(&what, bytes))),
                        kind::HISTORY => check(to(assert_lossless::<ObjectHistory>(&what, bytes))),
                        kind::ISSUE => check(to(assert_lossless::<StoredIssue>(&what, bytes))),
                        _ => check(to(assert_lossless::<crate::backup::PhaseEntry>(
                            &what, bytes,
                        ))),
                    }
                    Ok::<(), crate::store::Error>(())
                })
                .unwrap();
            *seen.entry(kind).or_default() += n;
        }
    }
    // Everything the fixture holds was visited (its README lists these counts).
    assert_eq!(seen[kind::OBJECT], 200, "{seen:?}");
    assert_eq!(seen[kind::HISTORY], 200, "{seen:?}");
    assert_eq!(seen[kind::ATTRIBUTE], 116, "{seen:?}");
    assert!(seen.values().all(|n| *n > 0), "{seen:?}");
}

pub(crate) fn to<T: Serialize>(t: T) -> Value {
    serde_json::to_value(t).unwrap()
}

#[test]
fn nulls_numbers_and_unknown_fields_are_kept_as_they_came() {
    // Data Center spells ids as numbers; a real API may send nulls and fields we do not model.
    let raw = json!({
        "id": 88, "objectKey": "ITSM-88", "label": null, "timestamp": 1613505881527_i64,
        "objectType": {"id": 23, "name": "Office", "position": 2, "parentObjectTypeId": null,
                        "futureFlag": {"nested": [1, 2.5, -3, 1e300, true, null]}},
        "attributes": [{"objectTypeAttributeId": "135", "objectAttributeValues": [
            {"value": 42, "displayValue": "42", "referencedType": false},
            {"value": 4.25, "displayValue": null},
            {"value": true},
            {"value": null, "status": {"id": 7, "name": "Active", "category": 1, "objectSchemaId": null}},
            {"value": "x", "somethingNew": {"a": 1}},
        ]}],
        "unmodelled": "kept",
    });
    let bytes = serde_json::to_vec(&raw).unwrap();
    let o: Object = assert_lossless("object", &bytes);
    assert_eq!(o.id, "88");
    assert!(o.id.is_number());
    assert_eq!(o.label, Nullable::Null);
    assert_eq!(o.extra["unmodelled"], "kept");
    let values = o.attributes()[0].values();
    assert_eq!(
        values[0].kind(&AttributeKind::Default(1)),
        ValueKind::Plain(&Scalar::Number(42.into()))
    );
    assert_eq!(
        values[3].kind(&AttributeKind::Status),
        ValueKind::Status("7")
    );
    assert_eq!(Scalar::Number(42.into()).to_text(), "42");
    let t: &ObjectType = o.object_type.get().unwrap();
    assert_eq!(t.parent(), None);
    assert_eq!(t.parent_object_type_id, Nullable::Null);
    // An attribute's kind, from its definition.
    let attr: ObjectTypeAttribute = serde_json::from_value(json!({"id": "144", "type": 1,
        "referenceObjectTypeId": "24", "referenceType": {"id": "4"}, "typeValueMulti": ["1", 2]}))
    .unwrap();
    assert_eq!(
        attr.kind(),
        AttributeKind::Object {
            target: "24".into(),
            ref_type: Some("4".into())
        }
    );
    assert_eq!(attr.type_values().collect::<Vec<_>>(), ["1", "2"]);
    let select: ObjectTypeAttribute =
        serde_json::from_value(json!({"id": "1", "type": 0, "defaultType": {"id": 10}})).unwrap();
    assert_eq!(select.kind().name(), "Select");
    let status: ObjectTypeAttribute =
        serde_json::from_value(json!({"id": "1", "type": 7})).unwrap();
    assert_eq!(status.kind(), AttributeKind::Status);
    assert_eq!(AttributeKind::Other(6).name(), "Type 6");
    // A media token never shows in Debug output.
    let m: MediaClientConfig =
        serde_json::from_value(json!({"mediaJwtToken": "eyJsecret", "fileId": "f"})).unwrap();
    assert!(!format!("{m:?}").contains("eyJsecret"));
}
