//! Tests of [`SqliteStore`]'s backup side against a real SQLite file in a temp dir: dedup,
//! incremental cost, visibility and crash recovery, delete, verify, listing, streaming, and a
//! model test that runs random operation sequences against a plain in-memory model.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::SqliteStore;
use crate::store::{
    BackupFilter, BackupId, BackupStatus, BackupType, BlobProblem, Error, NewBackup, NewEntry,
    PageRequest, Phase, PhaseState, PhaseStatus, Store, canonical_json, content_hash, kind,
};

const T0: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);
const ALL: PageRequest = PageRequest {
    limit: 1000,
    offset: 0,
};

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("store.db")).unwrap()
}

fn new_backup(site: &str, key: &str, backup_type: BackupType, at: OffsetDateTime) -> NewBackup {
    NewBackup {
        site: site.into(),
        schema_key: key.into(),
        schema_id: "7".into(),
        backup_type,
        description: format!("{key} at {at}"),
        started_at: at,
    }
}

fn entry(kind: &str, id: impl ToString, value: Value) -> NewEntry {
    NewEntry {
        kind: kind.into(),
        original_id: id.to_string(),
        value,
    }
}

/// A realistic-ish object: a few KiB of attribute values, different per id and version.
fn object(id: u64, version: u64) -> Value {
    json!({
        "id": id.to_string(),
        "objectKey": format!("ITSM-{id}"),
        "label": format!("Laptop {id} v{version}"),
        "attributes": (0..20).map(|a| json!({
            "objectTypeAttributeId": a.to_string(),
            "objectAttributeValues": [{"value": format!("value {a} of {id} at {version}")}],
        })).collect::<Vec<_>>(),
    })
}

/// Runs a complete backup of `objects` and returns its id.
fn backup_of(store: &SqliteStore, at: OffsetDateTime, objects: &[NewEntry]) -> BackupId {
    let id = store
        .begin_backup(&new_backup("cloud", "ITSM", BackupType::Scheduled, at))
        .unwrap();
    store.put_entries(id, objects).unwrap();
    store
        .complete_backup(id, at + Duration::minutes(1))
        .unwrap();
    id
}

fn blob_count(store: &SqliteStore) -> i64 {
    let conn = store.conn.lock();
    conn.query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .unwrap()
}

fn blob_hashes(store: &SqliteStore) -> BTreeSet<String> {
    let conn = store.conn.lock();
    let mut stmt = conn.prepare("SELECT hash FROM blobs").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn open_refuses_a_database_from_a_newer_build() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(&dir));
    {
        let conn = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
        conn.pragma_update(None, "user_version", SqliteStore::schema_version() + 5)
            .unwrap();
    }
    let err = SqliteStore::open(dir.path().join("store.db")).unwrap_err();
    assert!(
        matches!(err, Error::NewerSchema { found, supported }
            if found == SqliteStore::schema_version() + 5
            && supported == SqliteStore::schema_version()),
        "{err:?}"
    );
}

#[test]
fn the_same_json_twice_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = store
        .begin_backup(&new_backup("cloud", "ITSM", BackupType::Manual, T0))
        .unwrap();
    // Same content, different key order and whitespace: one blob, two manifest rows.
    let a: Value = serde_json::from_str(r#"{"name": "x", "id": "1", "attrs": [1, 2]}"#).unwrap();
    let b: Value = serde_json::from_str(r#"{"attrs":[1,2],"id":"1","name":"x"}"#).unwrap();
    let first = store.put_entries(id, &[entry(kind::OBJECT, 1, a)]).unwrap();
    let second = store
        .put_entries(id, &[entry(kind::OBJECT, 2, b.clone())])
        .unwrap();
    assert_eq!((first.blobs_added, second.blobs_added), (1, 0));
    assert!(first.bytes_added > 0);
    assert_eq!(second.bytes_added, 0);
    assert_eq!(blob_count(&store), 1);

    let done = store.complete_backup(id, T0).unwrap();
    assert_eq!(done.object_count, 2);
    assert_eq!(done.bytes_added, first.bytes_added);
    let hash = content_hash(&canonical_json(&b));
    assert_eq!(store.get_blob(&hash).unwrap(), canonical_json(&b));
    assert!(matches!(
        store.get_blob(&content_hash(b"nope")),
        Err(Error::NotFound { what: "blob", .. })
    ));
}

#[test]
fn an_incremental_backup_of_unchanged_data_adds_almost_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    // More than BATCH_SIZE, so the batching path is exercised too.
    let first: Vec<_> = (1..=2000)
        .map(|i| entry(kind::OBJECT, i, object(i, 0)))
        .collect();
    let a = backup_of(&store, T0, &first);

    // Next day: 10 of 2000 objects changed (0.5%).
    let second: Vec<_> = (1..=2000)
        .map(|i| entry(kind::OBJECT, i, object(i, u64::from(i % 200 == 0))))
        .collect();
    let b = backup_of(&store, T0 + Duration::days(1), &second);

    let (a, b) = (store.get_backup(a).unwrap(), store.get_backup(b).unwrap());
    assert_eq!((a.object_count, b.object_count), (2000, 2000));
    assert!(a.bytes_added > 100_000, "first backup: {}", a.bytes_added);
    let ratio = b.bytes_added as f64 / a.bytes_added as f64;
    assert!(ratio < 0.02, "incremental added {ratio:.4} of the first");
    assert!(b.bytes_added > 0, "changed objects must be stored");
    assert_eq!(blob_count(&store), 2010);

    // And an identical third backup costs exactly nothing.
    let c = backup_of(&store, T0 + Duration::days(2), &second);
    assert_eq!(store.get_backup(c).unwrap().bytes_added, 0);
}

#[test]
fn a_running_backup_is_invisible_and_gone_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let kept = backup_of(&store, T0, &[entry(kind::OBJECT, 1, object(1, 0))]);

    let running = store
        .begin_backup(&new_backup("cloud", "ITSM", BackupType::Manual, T0))
        .unwrap();
    store
        .put_entries(
            running,
            &[
                entry(kind::OBJECT, 1, object(1, 0)), // shared with `kept`
                entry(kind::OBJECT, 2, object(2, 0)), // only here
            ],
        )
        .unwrap();
    assert!(matches!(
        store.get_backup(running),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(store.verify(running), Err(Error::NotFound { .. })));
    let listed = store.list_backups(&BackupFilter::default(), ALL).unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].id, kept);
    assert_eq!(blob_count(&store), 2);

    // "SIGKILL": drop without completing, then open again as the daemon would.
    drop(store);
    let store = SqliteStore::open_without_recovery(dir.path().join("store.db")).unwrap();
    let stats = store.recover().unwrap();
    assert_eq!((stats.backups_removed, stats.blobs_removed), (1, 1));
    assert_eq!(store.count_entries(running, kind::OBJECT).unwrap(), 0);
    assert_eq!(blob_count(&store), 1);
    assert!(store.verify(kept).unwrap().is_empty());
    // Ids are never reused, so a stale id can't point at a new backup.
    let next = store
        .begin_backup(&new_backup("cloud", "ITSM", BackupType::Manual, T0))
        .unwrap();
    assert!(next > running);
}

#[test]
fn a_failed_backup_drops_its_entries_and_takes_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = store
        .begin_backup(&new_backup("cloud", "ITSM", BackupType::Manual, T0))
        .unwrap();
    store
        .put_entries(id, &[entry(kind::OBJECT, 1, object(1, 0))])
        .unwrap();
    store.fail_backup(id, T0).unwrap();
    assert_eq!(blob_count(&store), 0);
    assert!(matches!(
        store.put_entries(id, &[entry(kind::OBJECT, 2, object(2, 0))]),
        Err(Error::BackupState {
            status: BackupStatus::Failed,
            ..
        })
    ));
    assert!(matches!(
        store.complete_backup(id, T0),
        Err(Error::BackupState { .. })
    ));
    assert_eq!(store.recover().unwrap().backups_removed, 1);
}

#[test]
fn delete_removes_only_blobs_no_other_backup_uses() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a = backup_of(
        &store,
        T0,
        &[
            entry(kind::OBJECT, 1, object(1, 0)),
            entry(kind::OBJECT, 2, object(2, 0)),
        ],
    );
    let b = backup_of(
        &store,
        T0 + Duration::hours(1),
        &[
            entry(kind::OBJECT, 1, object(1, 0)),
            entry(kind::OBJECT, 2, object(2, 1)),
        ],
    );
    let shared = content_hash(&canonical_json(&object(1, 0)));
    let only_a = content_hash(&canonical_json(&object(2, 0)));
    let only_b = content_hash(&canonical_json(&object(2, 1)));
    assert_eq!(blob_count(&store), 3);

    let stats = store.delete_backup(a).unwrap();
    assert_eq!(stats.blobs_removed, 1);
    assert!(stats.bytes_freed > 0);
    assert_eq!(blob_hashes(&store), BTreeSet::from([shared, only_b]));
    assert!(!blob_hashes(&store).contains(&only_a));
    assert!(matches!(store.get_backup(a), Err(Error::NotFound { .. })));
    assert!(matches!(
        store.delete_backup(a),
        Err(Error::NotFound { .. })
    ));
    assert!(store.verify(b).unwrap().is_empty());

    store.delete_backup(b).unwrap();
    assert_eq!(blob_count(&store), 0);
}

#[test]
fn verify_finds_a_blob_corrupted_behind_our_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let objects: Vec<_> = (1..=5)
        .map(|i| entry(kind::OBJECT, i, object(i, 0)))
        .collect();
    let id = backup_of(&store, T0, &objects);
    assert!(store.verify(id).unwrap().is_empty());

    let flipped = content_hash(&canonical_json(&object(2, 0)));
    let swapped = content_hash(&canonical_json(&object(3, 0)));
    let missing = content_hash(&canonical_json(&object(4, 0)));
    {
        let conn = store.conn.lock();
        // Valid zstd, wrong content: decodes, but hashes to something else.
        let other = zstd::bulk::compress(&canonical_json(&object(99, 0)), 3).unwrap();
        conn.execute(
            "UPDATE blobs SET data = ?2, raw_len = ?3 WHERE hash = ?1",
            rusqlite::params![swapped, other, canonical_json(&object(99, 0)).len() as i64],
        )
        .unwrap();
        // Bit rot: a zstd magic number followed by garbage.
        conn.execute(
            "UPDATE blobs SET data = x'28b52ffd00ff00ff' WHERE hash = ?1",
            [&flipped],
        )
        .unwrap();
        // A blob deleted with the foreign keys off.
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        conn.execute("DELETE FROM blobs WHERE hash = ?1", [&missing])
            .unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
    }

    let mut bad = store.verify(id).unwrap();
    bad.sort_by(|a, b| a.hash.cmp(&b.hash));
    let mut expected = vec![
        (flipped.clone(), BlobProblem::Undecodable),
        (swapped.clone(), BlobProblem::HashMismatch),
        (missing.clone(), BlobProblem::Missing),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        bad.into_iter()
            .map(|b| (b.hash, b.problem))
            .collect::<Vec<_>>(),
        expected
    );
    // Reads refuse the corrupt data instead of handing it to a restore.
    assert!(matches!(
        store.get_blob(&swapped),
        Err(Error::Corrupt {
            problem: BlobProblem::HashMismatch,
            ..
        })
    ));
    assert!(matches!(
        store.entry_page(id, kind::OBJECT, None, 10),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn list_filters_and_pages_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut ids = Vec::new();
    for day in 0..10 {
        let at = T0 + Duration::days(day);
        let (site, key) = if day % 2 == 0 {
            ("a", "ITSM")
        } else {
            ("b", "HR")
        };
        let backup_type = if day < 5 {
            BackupType::Manual
        } else {
            BackupType::Scheduled
        };
        let id = store
            .begin_backup(&new_backup(site, key, backup_type, at))
            .unwrap();
        store.complete_backup(id, at).unwrap();
        ids.push(id);
    }
    // A running one never shows up, whatever the filter.
    store
        .begin_backup(&new_backup("a", "ITSM", BackupType::Manual, T0))
        .unwrap();

    let ids_of = |filter: BackupFilter, page: PageRequest| {
        let page = store.list_backups(&filter, page).unwrap();
        (
            page.total,
            page.items.into_iter().map(|b| b.id).collect::<Vec<_>>(),
        )
    };
    let all = ids_of(BackupFilter::default(), ALL);
    assert_eq!(all.0, 10);
    assert_eq!(all.1, ids.iter().rev().copied().collect::<Vec<_>>());

    let page2 = ids_of(
        BackupFilter::default(),
        PageRequest {
            limit: 3,
            offset: 3,
        },
    );
    assert_eq!(page2, (10, vec![ids[6], ids[5], ids[4]]));
    let past_end = ids_of(
        BackupFilter::default(),
        PageRequest {
            limit: 3,
            offset: 30,
        },
    );
    assert_eq!(past_end, (10, vec![]));

    let site_a = ids_of(
        BackupFilter {
            site: Some("a".into()),
            ..Default::default()
        },
        ALL,
    );
    assert_eq!(site_a, (5, vec![ids[8], ids[6], ids[4], ids[2], ids[0]]));
    let hr_scheduled = ids_of(
        BackupFilter {
            schema_key: Some("HR".into()),
            backup_type: Some(BackupType::Scheduled),
            ..Default::default()
        },
        ALL,
    );
    assert_eq!(hr_scheduled, (3, vec![ids[9], ids[7], ids[5]]));
    // Half-open date range [day 2, day 5).
    let range = ids_of(
        BackupFilter {
            from: Some(T0 + Duration::days(2)),
            to: Some(T0 + Duration::days(5)),
            ..Default::default()
        },
        ALL,
    );
    assert_eq!(range, (3, vec![ids[4], ids[3], ids[2]]));

    let one = store.get_backup(ids[3]).unwrap();
    assert_eq!(
        (
            one.site.as_str(),
            one.schema_key.as_str(),
            one.storage.as_str()
        ),
        ("b", "HR", "sqlite")
    );
    assert_eq!(one.started_at, T0 + Duration::days(3));
    assert_eq!(one.status, BackupStatus::Complete);
}

#[test]
fn entries_stream_in_id_order_a_page_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    // Inserted in scrambled order; numeric ids must come back numerically (9 before 10).
    let mut objects: Vec<_> = (1..=2500u64)
        .map(|i| entry(kind::OBJECT, i, json!({"id": i})))
        .collect();
    objects.reverse();
    objects.swap(0, 1234);
    objects.push(entry(kind::ATTRIBUTE, 5, json!({"attr": 5})));
    let id = backup_of(&store, T0, &objects);

    let page = store.entry_page(id, kind::OBJECT, None, 3).unwrap();
    let ids: Vec<_> = page.iter().map(|e| e.original_id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let page = store.entry_page(id, kind::OBJECT, Some("9"), 3).unwrap();
    let ids: Vec<_> = page.iter().map(|e| e.original_id.as_str()).collect();
    assert_eq!(ids, ["10", "11", "12"]);
    assert_eq!(page[0].json, br#"{"id":10}"#);

    let mut seen = Vec::new();
    let visited = (&store as &dyn Store)
        .for_each_entry(id, kind::OBJECT, |e| {
            seen.push(e.original_id.parse::<u64>().unwrap());
            Ok::<_, Error>(())
        })
        .unwrap();
    assert_eq!(visited, 2500);
    assert_eq!(seen, (1..=2500).collect::<Vec<_>>());
    assert_eq!(store.count_entries(id, kind::ATTRIBUTE).unwrap(), 1);

    // The page query is a range scan of the clustered key: no sort, no temp b-tree, so a
    // deep page costs the same as the first.
    let conn = store.conn.lock();
    let plan: Vec<String> = conn
        .prepare(&format!(
            "EXPLAIN QUERY PLAN {}",
            super::backups::entry_page_sql(true)
        ))
        .unwrap()
        .query_map(rusqlite::params![id, kind::OBJECT, 10, "9"], |r| {
            r.get::<_, String>(3)
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        plan.iter().all(|step| !step.contains("TEMP B-TREE")),
        "{plan:?}"
    );
}

#[test]
fn background_phases_write_to_a_complete_backup_and_rerun_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = backup_of(&store, T0, &[entry(kind::OBJECT, 1, object(1, 0))]);
    assert_eq!(
        store.get_backup(id).unwrap().history,
        PhaseState::new(PhaseStatus::Pending)
    );

    // The main pass is sealed once complete.
    assert!(matches!(
        store.put_entries(id, &[entry(kind::OBJECT, 2, object(2, 0))]),
        Err(Error::BackupState {
            status: BackupStatus::Complete,
            ..
        })
    ));

    store
        .set_phase(
            id,
            Phase::Issues,
            &PhaseState {
                status: PhaseStatus::NotOffered,
                note: Some("Data Center has no issue search".into()),
            },
        )
        .unwrap();
    // A Cloud source: comments and attachments are not offered.
    for phase in [Phase::Comments, Phase::Attachments] {
        store
            .set_phase(id, phase, &PhaseState::new(PhaseStatus::NotOffered))
            .unwrap();
    }
    store
        .set_phase(id, Phase::History, &PhaseState::new(PhaseStatus::Running))
        .unwrap();
    store
        .put_entries(id, &[entry(kind::HISTORY, 1, json!([{"id": 1}]))])
        .unwrap();
    assert_eq!(store.count_entries(id, kind::HISTORY).unwrap(), 1);

    // The backup's job was running: after a crash it is requeued and resumes the phase.
    let job = match store
        .enqueue_job(
            &crate::store::NewJob {
                kind: "backup".into(),
                payload: json!({}),
                queue_key: None,
                unique: false,
            },
            T0,
        )
        .unwrap()
    {
        crate::store::Enqueued::Added(j) | crate::store::Enqueued::Active(j) => j,
    };
    assert_eq!(store.claim_next_job(T0).unwrap().map(|j| j.id), Some(job));
    let origin = crate::store::BackupOrigin {
        job: Some(job),
        parent: None,
    };
    store.set_backup_origin(id, &origin).unwrap();
    assert_eq!(store.backup_of_job(job).unwrap().map(|b| b.id), Some(id));
    assert_eq!(store.backup_of_job(job + 1).unwrap(), None);

    // Crash mid-phase: the phase is pending again, the histories written stay (each is one
    // object's whole history), the job is queued to resume it.
    drop(store);
    let store = SqliteStore::open_without_recovery(dir.path().join("store.db")).unwrap();
    let stats = store.recover().unwrap();
    assert_eq!(
        (stats.phases_reset, stats.jobs_requeued, stats.phases_failed),
        (1, 1, 0)
    );
    let backup = store.get_backup(id).unwrap();
    assert_eq!(backup.history.status, PhaseStatus::Pending);
    assert!(backup.history.note.is_some());
    assert_eq!(backup.phase(Phase::Issues).status, PhaseStatus::NotOffered);
    assert_eq!(store.count_entries(id, kind::HISTORY).unwrap(), 1);
    assert_eq!(store.count_entries(id, kind::OBJECT).unwrap(), 1);
    assert_eq!(
        store
            .existing_entries(id, kind::HISTORY, &["1".into(), "2".into()])
            .unwrap(),
        ["1"]
    );

    // Without a job to resume it (the job failed for good), the phase fails at the next
    // start instead of staying pending for ever.
    let failed = crate::store::JobUpdate {
        status: Some(crate::store::JobStatus::Failed),
        ..Default::default()
    };
    store.update_job(job, &failed, T0).unwrap();
    let stats = store.recover().unwrap();
    assert_eq!(stats.phases_failed, 1);
    let backup = store.get_backup(id).unwrap();
    assert_eq!(backup.history.status, PhaseStatus::Failed);
    assert!(
        backup
            .history
            .note
            .is_some_and(|n| n.contains("will not run again"))
    );
    assert!(matches!(
        store.set_phase(999, Phase::History, &PhaseState::new(PhaseStatus::Done)),
        Err(Error::NotFound { .. })
    ));
}

/// A tiny deterministic PRNG (xorshift64*), so the model test needs no extra crate and every
/// run explores the same sequences.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[derive(Debug)]
struct ModelBackup {
    status: BackupStatus,
    entries: BTreeMap<(String, String), Value>,
}

/// Random sequences of begin / put / complete / fail / delete / crash against a model that is
/// just a map of backups to their entries. After every step the visible backups and their
/// entries must match the model, every referenced blob must exist, and after a crash the
/// blob table must hold exactly the referenced blobs (no leak, no loss).
#[test]
fn store_matches_a_simple_model_under_random_operations() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let mut model: HashMap<BackupId, ModelBackup> = HashMap::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let value = |id: u64, v: u64| json!({"id": id, "v": v});
    // How often each interesting thing happened, so the test can't pass by doing nothing.
    let (mut puts_to_complete, mut crashes, mut deletes, mut fails) = (0, 0, 0, 0);

    for step in 0..400 {
        let mut crashed = false;
        let ids: Vec<BackupId> = {
            let mut ids: Vec<_> = model.keys().copied().collect();
            ids.sort_unstable();
            ids
        };
        let pick = |rng: &mut Rng, want: BackupStatus| {
            let some: Vec<_> = ids
                .iter()
                .copied()
                .filter(|id| model[id].status == want)
                .collect();
            (!some.is_empty()).then(|| some[rng.below(some.len() as u64) as usize])
        };
        match rng.below(10) {
            0 | 1 => {
                let id = store
                    .begin_backup(&new_backup("s", "K", BackupType::Manual, T0))
                    .unwrap();
                model.insert(
                    id,
                    ModelBackup {
                        status: BackupStatus::Running,
                        entries: BTreeMap::new(),
                    },
                );
            }
            2..=4 => {
                // Running backups take objects; complete ones only background-phase kinds.
                let (id, kind) = match (rng.below(4), pick(&mut rng, BackupStatus::Running)) {
                    (0, _) | (_, None) => match pick(&mut rng, BackupStatus::Complete) {
                        Some(id) => (id, kind::HISTORY),
                        None => continue,
                    },
                    (_, Some(id)) => (id, kind::OBJECT),
                };
                let batch: Vec<_> = (0..rng.below(6))
                    .map(|_| {
                        let oid = rng.below(12);
                        entry(kind, oid, value(oid, rng.below(3)))
                    })
                    .collect();
                store.put_entries(id, &batch).unwrap();
                puts_to_complete += usize::from(kind == kind::HISTORY);
                let entries = &mut model.get_mut(&id).unwrap().entries;
                for e in batch {
                    entries.insert((e.kind, e.original_id), e.value);
                }
            }
            5 | 6 => {
                if let Some(id) = pick(&mut rng, BackupStatus::Running) {
                    store.complete_backup(id, T0).unwrap();
                    model.get_mut(&id).unwrap().status = BackupStatus::Complete;
                }
            }
            7 => {
                if let Some(id) = pick(&mut rng, BackupStatus::Running) {
                    store.fail_backup(id, T0).unwrap();
                    fails += 1;
                    let b = model.get_mut(&id).unwrap();
                    b.status = BackupStatus::Failed;
                    b.entries.clear();
                }
            }
            8 => {
                if !ids.is_empty() {
                    let id = ids[rng.below(ids.len() as u64) as usize];
                    store.delete_backup(id).unwrap();
                    deletes += 1;
                    model.remove(&id);
                }
            }
            _ => {
                drop(store);
                store = open(&dir);
                model.retain(|_, b| b.status == BackupStatus::Complete);
                crashed = true;
                crashes += 1;
            }
        }

        // Visible backups = complete ones in the model, with the same entries.
        let listed = store.list_backups(&BackupFilter::default(), ALL).unwrap();
        let mut visible: Vec<_> = listed.items.iter().map(|b| b.id).collect();
        visible.sort_unstable();
        let mut complete: Vec<_> = model
            .iter()
            .filter(|(_, b)| b.status == BackupStatus::Complete)
            .map(|(id, _)| *id)
            .collect();
        complete.sort_unstable();
        assert_eq!(visible, complete, "step {step}");
        for id in &complete {
            for kind in [kind::OBJECT, kind::HISTORY] {
                let mut got = Vec::new();
                (&store as &dyn Store)
                    .for_each_entry(*id, kind, |e| {
                        got.push((e.original_id, e.json));
                        Ok::<_, Error>(())
                    })
                    .unwrap();
                let mut want: Vec<_> = model[id]
                    .entries
                    .iter()
                    .filter(|((k, _), _)| k == kind)
                    .map(|((_, oid), v)| (oid.clone(), canonical_json(v)))
                    .collect();
                want.sort_by_key(|(oid, _)| (oid.len(), oid.clone()));
                assert_eq!(got, want, "step {step}, backup {id}, {kind}");
            }
        }

        // No referenced blob is ever lost; after a crash none is left over either.
        let referenced: BTreeSet<String> = model
            .values()
            .flat_map(|b| b.entries.values())
            .map(|v| content_hash(&canonical_json(v)))
            .collect();
        let stored = blob_hashes(&store);
        assert!(
            referenced.is_subset(&stored),
            "step {step}: a blob was lost"
        );
        let idle = model.values().all(|b| b.status == BackupStatus::Complete);
        if crashed || (idle && step % 50 == 49) {
            store.recover().unwrap();
            assert_eq!(blob_hashes(&store), referenced, "step {step}: blobs leaked");
        }
    }
    assert!(
        puts_to_complete > 5 && crashes > 5 && deletes > 5 && fails > 5,
        "too few interesting steps: {puts_to_complete} {crashes} {deletes} {fails}"
    );
}
