//! Tests of the restore state in the SQLite store.

use std::sync::Arc;

use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::store::{BackupType, NewBackup, NewEntry, Store, kind};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("store.db")).unwrap();
    (dir, s)
}

fn new_restore() -> NewRestore {
    NewRestore {
        backup_id: 1,
        target_site: "s2".into(),
        options: json!({"destination": {"type": "new_schema"}}),
        plan: json!({"objects": 3}),
        details: RestoreDetails::default(),
        created_at: datetime!(2025-01-01 00:00 UTC),
    }
}

#[test]
fn the_detail_fields_are_kept_and_history_and_icons_are_set_later() {
    let (_d, s) = store();
    let details = RestoreDetails {
        destination_kind: DestinationKind::ExistingSchema,
        specific_types: vec!["Hardware/Laptop".into(), "Location".into()],
        duplicates: true,
        // Ignored at creation: nothing is restored yet.
        history_restored: true,
        icons_restored: true,
    };
    let id = s
        .create_restore(&NewRestore {
            details: details.clone(),
            ..new_restore()
        })
        .unwrap();
    let r = s.get_restore(id).unwrap();
    assert_eq!(
        r.details,
        RestoreDetails {
            history_restored: false,
            icons_restored: false,
            ..details.clone()
        }
    );
    s.update_restore(
        id,
        &RestoreUpdate {
            history_restored: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    s.update_restore(
        id,
        &RestoreUpdate {
            icons_restored: Some(true),
            status: Some(RestoreStatus::Completed),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.get_restore(id).unwrap().details, details);
    let json = serde_json::to_value(s.get_restore(id).unwrap()).unwrap();
    assert_eq!(json["destination_kind"], "existing-schema");
    assert_eq!(
        json["specific_types"],
        json!(["Hardware/Laptop", "Location"])
    );
}

#[test]
fn a_restore_row_moves_through_its_states() {
    let (_d, s) = store();
    let id = s.create_restore(&new_restore()).unwrap();
    let r = s.get_restore(id).unwrap();
    assert_eq!(r.status, RestoreStatus::Pending);
    assert_eq!(r.plan, json!({"objects": 3}));
    assert_eq!(r.started_at, None);
    let t1 = datetime!(2025-01-01 00:01 UTC);
    s.update_restore(
        id,
        &RestoreUpdate {
            status: Some(RestoreStatus::InProgress),
            stage: Some("schema".into()),
            started_at: Some(t1),
            new_schema: Some(("9".into(), "NEW".into())),
            ..Default::default()
        },
    )
    .unwrap();
    // started_at is set once: a resumed restore keeps its first start.
    s.update_restore(
        id,
        &RestoreUpdate {
            status: Some(RestoreStatus::Error),
            result: Some(Some("boom".into())),
            started_at: Some(datetime!(2025-01-02 00:00 UTC)),
            ended_at: Some(Some(t1)),
            counts: Some(json!({"schema": {"done": 1}})),
            ..Default::default()
        },
    )
    .unwrap();
    let r = s.get_restore(id).unwrap();
    assert_eq!(r.status, RestoreStatus::Error);
    assert_eq!(r.stage.as_deref(), Some("schema"));
    assert_eq!(r.started_at, Some(t1));
    assert_eq!(r.ended_at, Some(t1));
    assert_eq!(r.result.as_deref(), Some("boom"));
    assert_eq!(r.new_schema_key.as_deref(), Some("NEW"));
    assert_eq!(r.counts, json!({"schema": {"done": 1}}));
    s.update_restore(
        id,
        &RestoreUpdate {
            result: Some(None),
            ended_at: Some(None),
            ..Default::default()
        },
    )
    .unwrap();
    let r = s.get_restore(id).unwrap();
    assert_eq!((r.result, r.ended_at), (None, None));
    assert!(matches!(s.get_restore(id + 1), Err(Error::NotFound { .. })));
    let all = s
        .list_restores(
            Some("s2"),
            PageRequest {
                limit: 10,
                offset: 0,
            },
        )
        .unwrap();
    assert_eq!(all.len(), 1);
    assert!(
        s.list_restores(
            Some("other"),
            PageRequest {
                limit: 10,
                offset: 0
            }
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn ids_and_log_are_recorded_together_and_listed_in_order() {
    let (_d, s) = store();
    let id = s.create_restore(&new_restore()).unwrap();
    let map = |o: &str, n: &str| IdMapping {
        kind: "object".into(),
        old_id: o.into(),
        new_id: n.into(),
    };
    let ok = |k: &str| NewLogEntry {
        level: None,
        object_key: k.into(),
        result: true,
        message: json!("{ message: 'OK' }"),
    };
    s.record_restore(
        id,
        &[map("1", "10"), map("2", "20")],
        &[ok("A-1"), ok("A-2")],
    )
    .unwrap();
    // A replayed mapping is harmless; the log keeps appending.
    s.record_restore(id, &[map("2", "20")], &[ok("A-3")])
        .unwrap();
    let ids = s.restore_ids(id, "object", None, 10).unwrap();
    assert_eq!(
        ids,
        vec![("1".into(), "10".into()), ("2".into(), "20".into())]
    );
    assert_eq!(s.restore_ids(id, "object", Some("1"), 10).unwrap().len(), 1);
    let log = s.restore_log(id, 0, 2).unwrap();
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    let rest = s.restore_log(id, 2, 10).unwrap();
    assert_eq!(rest[0].object_key, "A-3");
    assert_eq!(
        serde_json::to_value(&rest[0]).unwrap(),
        json!({"ObjectKey": "A-3", "Result": true, "Message": "{ message: 'OK' }"})
    );
    assert!(matches!(
        s.record_restore(id + 5, &[map("1", "1")], &[]),
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn entries_by_id_returns_the_asked_entries_in_order() {
    let (_d, s) = store();
    let store = AsyncStore::new(Arc::new(s));
    let b = store
        .begin_backup(NewBackup {
            site: "s1".into(),
            schema_key: "ITSM".into(),
            schema_id: "1".into(),
            backup_type: BackupType::Manual,
            description: String::new(),
            started_at: datetime!(2025-01-01 00:00 UTC),
        })
        .await
        .unwrap();
    let entries = ["1", "10", "2"]
        .iter()
        .map(|i| NewEntry {
            kind: kind::OBJECT.into(),
            original_id: (*i).into(),
            value: json!({"id": i}),
        })
        .collect();
    store.put_entries(b, entries).await.unwrap();
    let got = store
        .entries_by_id(
            b,
            kind::OBJECT,
            vec!["10".into(), "nope".into(), "1".into()],
        )
        .await
        .unwrap();
    let ids: Vec<&str> = got.iter().map(|e| e.original_id.as_str()).collect();
    assert_eq!(ids, ["10", "1"]);
    assert_eq!(got[0].json, br#"{"id":"10"}"#);
    let _: &dyn Store = &**store.blocking();
}
