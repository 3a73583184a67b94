//! Entries whose blob was encoded into a file (large attachments): stored in pieces (migration
//! 0011), deduplicated with blobs stored the usual way, read back and verified byte for byte,
//! and their pieces freed with the last backup that uses them.

use serde_json::json;
use time::macros::datetime;

use super::SqliteStore;
use crate::store::{
    BackupType, NewBackup, NewEntry, Store, canonical_json, encode_base64_object, kind,
};

fn attachment_json(bytes: &[u8]) -> serde_json::Value {
    json!({ "base64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes) })
}

#[test]
fn a_spooled_blob_is_stored_whole_and_deduplicated_with_the_usual_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("store.db")).unwrap();
    assert_eq!(store.scratch_dir(), dir.path());
    let begin = |at| {
        store
            .begin_backup(&NewBackup {
                site: "dc".into(),
                schema_key: "ITSM".into(),
                schema_id: "1".into(),
                backup_type: BackupType::Manual,
                description: String::new(),
                started_at: at,
            })
            .unwrap()
    };
    let known: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
    // Random (xorshift): its compressed bytes take several pieces.
    let mut x: u64 = 88_172_645_463_325_252;
    let fresh: Vec<u8> = (0..(5 << 20) + 1)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let first = begin(datetime!(2025-03-01 12:00 UTC));
    let put = store
        .put_entries(
            first,
            &[NewEntry {
                kind: kind::ATTACHMENT_BYTES.into(),
                original_id: "known".into(),
                value: attachment_json(&known),
            }],
        )
        .unwrap();
    assert_eq!(put.blobs_added, 1);
    store
        .complete_backup(first, datetime!(2025-03-01 12:01 UTC))
        .unwrap();

    let second = begin(datetime!(2025-03-02 12:00 UTC));
    let spool = |bytes: &[u8]| {
        encode_base64_object("base64", bytes, tempfile::tempfile_in(dir.path()).unwrap()).unwrap()
    };
    let mut same = spool(&known);
    let again = store
        .put_spooled_entry(second, kind::ATTACHMENT_BYTES, "known", &mut same)
        .unwrap();
    assert_eq!(
        (again.entries, again.blobs_added, again.bytes_added),
        (1, 0, 0)
    );
    let mut new = spool(&fresh);
    let data_len = new.data_len;
    let added = store
        .put_spooled_entry(second, kind::ATTACHMENT_BYTES, "fresh", &mut new)
        .unwrap();
    assert_eq!(
        (added.entries, added.blobs_added, added.bytes_added),
        (1, 1, data_len)
    );
    let pieces = |hash: &str| -> (i64, i64) {
        let conn = store.conn.lock();
        conn.query_row(
            "SELECT count(*), coalesce(sum(length(p.data)), 0) FROM blob_parts p \
             WHERE p.hash = ?1",
            [hash],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    assert_eq!(
        pieces(&new.hash),
        (data_len.div_ceil(1 << 20) as i64, data_len as i64)
    );
    assert_eq!(pieces(&same.hash), (0, 0), "stored whole, the usual way");
    let done = store
        .complete_backup(second, datetime!(2025-03-02 12:01 UTC))
        .unwrap();
    assert_eq!(done.bytes_added, data_len);

    assert!(store.verify(second).unwrap().is_empty());
    let page = store
        .entry_page(second, kind::ATTACHMENT_BYTES, None, 10)
        .unwrap();
    let got: Vec<(&str, bool)> = page
        .iter()
        .map(|e| {
            let want = if e.original_id == "known" {
                &known
            } else {
                &fresh
            };
            (
                e.original_id.as_str(),
                e.json == canonical_json(&attachment_json(want)),
            )
        })
        .collect();
    assert_eq!(got, [("fresh", true), ("known", true)]);
    // Streamed out, piece by piece, or whole: the same JSON.
    for (hash, bytes) in [(&new.hash, &fresh), (&same.hash, &known)] {
        let mut out = Vec::new();
        let n = store.write_blob(hash, &mut out).unwrap();
        assert_eq!(n, out.len() as u64);
        assert!(out == canonical_json(&attachment_json(bytes)));
    }

    // A piece changed behind our back (one bit of its middle), then the last one missing:
    // verify names the blob, and a streamed read fails rather than end quietly. Both are put
    // back afterwards.
    let sql = |q: &str, p: &[&dyn rusqlite::ToSql]| {
        store.conn.lock().execute(q, p).unwrap();
    };
    let piece_at = |seq: i64| -> Vec<u8> {
        store
            .conn
            .lock()
            .query_row(
                "SELECT data FROM blob_parts WHERE hash = ?1 AND seq = ?2",
                rusqlite::params![new.hash, seq],
                |r| r.get(0),
            )
            .unwrap()
    };
    let last = (data_len.div_ceil(1 << 20) - 1) as i64;
    let (middle, end) = (piece_at(2), piece_at(last));
    let mut flipped = middle.clone();
    flipped[1000] ^= 0x10;
    let set = "UPDATE blob_parts SET data = ?2 WHERE hash = ?1 AND seq = 2";
    sql(set, &[&new.hash, &flipped]);
    let bad = store.verify(second).unwrap();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].hash, new.hash);
    let err = store
        .write_blob(&new.hash, &mut std::io::sink())
        .unwrap_err();
    assert!(
        matches!(err, crate::store::Error::Corrupt { .. }),
        "{err:?}"
    );
    sql(set, &[&new.hash, &middle]);
    sql(
        "DELETE FROM blob_parts WHERE hash = ?1 AND seq = ?2",
        &[&new.hash, &last],
    );
    assert_eq!(store.verify(second).unwrap().len(), 1);
    sql(
        "INSERT INTO blob_parts (hash, seq, data) VALUES (?1, ?2, ?3)",
        &[&new.hash, &last, &end],
    );
    assert!(store.verify(second).unwrap().is_empty());

    // The second backup alone uses the spooled blob: deleting it frees the pieces.
    let deleted = store.delete_backup(second).unwrap();
    assert_eq!((deleted.blobs_removed, deleted.bytes_freed), (1, data_len));
    assert_eq!(pieces(&new.hash), (0, 0));
    assert!(store.verify(first).unwrap().is_empty());
}
