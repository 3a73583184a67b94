//! Pruning: a schedule's retention [`Policy`] applied to the store. [`plan`] reads the
//! candidates (the complete *scheduled* backups of the schedule's site and schema; manual
//! backups are never candidates) and the newest complete backup of the schema (never
//! removed), and decides with [`retention::plan`] in the schedule's time zone; [`execute`]
//! deletes what the plan removes, one backup per transaction, each freeing the blobs no
//! remaining backup uses (the store's delete does that).
//!
//! A backup that a pending or running restore reads is kept (rule `restoring`) whatever the
//! policy says, so pruning never pulls a backup from under a restore.

use std::collections::BTreeSet;

use chrono_tz::Tz;
use serde::Serialize;

use super::ScheduleKey;
use super::retention::{self, Candidate, Policy, PrunePlan, Rule};
use crate::store::{
    self, AsyncStore, BackupFilter, BackupId, BackupType, DeleteStats, PageRequest, RestoreStatus,
};

/// Backups read per page while collecting candidates.
const PAGE: u32 = 500;

/// What pruning one schedule's backups did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneDone {
    /// Backups deleted.
    pub removed: u64,
    /// Blobs no remaining backup used.
    pub blobs_removed: u64,
    /// Their compressed bytes.
    pub bytes_freed: u64,
}

/// Decides what `policy` keeps of the schedule's backups (nothing is changed).
///
/// # Errors
///
/// A store error.
pub async fn plan(
    store: &AsyncStore,
    key: &ScheduleKey,
    policy: Policy,
    tz: Tz,
) -> Result<PrunePlan, store::Error> {
    let key = key.clone();
    let (candidates, newest, restoring) = store
        .run(move |s| {
            let mut candidates = Vec::new();
            let filter = BackupFilter {
                site: Some(key.site.clone()),
                schema_key: Some(key.schema.clone()),
                backup_type: Some(BackupType::Scheduled),
                ..BackupFilter::default()
            };
            let mut offset = 0;
            loop {
                let page = s.list_backups(
                    &filter,
                    PageRequest {
                        limit: PAGE,
                        offset,
                    },
                )?;
                let n = page.items.len();
                candidates.extend(page.items.into_iter().map(|b| Candidate {
                    id: b.id,
                    taken_at: b.started_at,
                }));
                if n < PAGE as usize {
                    break;
                }
                offset += u64::from(PAGE);
            }
            let any = BackupFilter {
                site: Some(key.site.clone()),
                schema_key: Some(key.schema.clone()),
                ..BackupFilter::default()
            };
            let newest = s
                .list_backups(
                    &any,
                    PageRequest {
                        limit: 1,
                        offset: 0,
                    },
                )?
                .items
                .first()
                .map(|b| b.id);
            let mut restoring = BTreeSet::new();
            let mut offset = 0;
            loop {
                let page = s.list_restores(
                    None,
                    PageRequest {
                        limit: PAGE,
                        offset,
                    },
                )?;
                let n = page.len();
                restoring.extend(
                    page.iter()
                        .filter(|r| {
                            matches!(r.status, RestoreStatus::Pending | RestoreStatus::InProgress)
                        })
                        .map(|r| r.backup_id),
                );
                if n < PAGE as usize {
                    break;
                }
                offset += u64::from(PAGE);
            }
            Ok((candidates, newest, restoring))
        })
        .await?;
    let mut plan = retention::plan(&policy, tz, &candidates, newest);
    keep_restoring(&mut plan, &restoring);
    Ok(plan)
}

/// Moves the backups pending or running restores read from `remove` to `keep`.
fn keep_restoring(plan: &mut PrunePlan, restoring: &BTreeSet<BackupId>) {
    let (used, remove): (Vec<_>, Vec<_>) = std::mem::take(&mut plan.remove)
        .into_iter()
        .partition(|v| restoring.contains(&v.id));
    plan.remove = remove;
    for mut v in used {
        v.kept_by.push(Rule::Restoring);
        plan.keep.push(v);
    }
    plan.keep
        .sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then(b.id.cmp(&a.id)));
}

/// Deletes what `plan` removes. A backup already gone (deleted meanwhile) or in use since the
/// plan was made is skipped.
///
/// # Errors
///
/// A store error; backups deleted before it stay deleted.
pub async fn execute(store: &AsyncStore, plan: &PrunePlan) -> Result<PruneDone, store::Error> {
    let mut done = PruneDone::default();
    for v in &plan.remove {
        match store.delete_backup(v.id).await {
            Ok(DeleteStats {
                blobs_removed,
                bytes_freed,
            }) => {
                done.removed += 1;
                done.blobs_removed += blobs_removed;
                done.bytes_freed += bytes_freed;
                tracing::info!(backup_id = v.id, blobs_removed, "Backup pruned.");
            }
            Err(store::Error::NotFound { .. }) => {}
            // A restore, export or verification started since the plan was made: the backup
            // stays, and the next prune looks at it again.
            Err(e @ store::Error::InUse { .. }) => {
                tracing::info!(backup_id = v.id, reason = %e, "Backup kept: in use.");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::datetime;

    use super::*;
    use crate::store::{NewBackup, SqliteStore, Store};

    fn backup(
        s: &SqliteStore,
        schema: &str,
        t: time::OffsetDateTime,
        kind: BackupType,
    ) -> BackupId {
        let id = s
            .begin_backup(&NewBackup {
                site: "prod".into(),
                schema_key: schema.into(),
                schema_id: "1".into(),
                backup_type: kind,
                description: String::new(),
                started_at: t,
            })
            .unwrap();
        s.put_entries(
            id,
            &[crate::store::NewEntry {
                kind: crate::store::kind::OBJECT.into(),
                original_id: "1".into(),
                value: serde_json::json!({"at": t.unix_timestamp()}),
            }],
        )
        .unwrap();
        s.complete_backup(id, t).unwrap();
        id
    }

    /// The same policy computed another way: for each rule, the newest backup of every
    /// period (formatted in the zone), the N newest periods; plus the newest of the schema.
    fn independent(
        policy: &Policy,
        tz: Tz,
        scheduled: &[(BackupId, time::OffsetDateTime)],
        newest: BackupId,
    ) -> std::collections::BTreeSet<BackupId> {
        use std::collections::{BTreeMap, BTreeSet};
        let mut keep = BTreeSet::from([newest]);
        let mut by_time = scheduled.to_vec();
        by_time.sort_by_key(|(id, t)| (*t, *id));
        keep.extend(
            by_time
                .iter()
                .rev()
                .take(policy.keep_last as usize)
                .map(|(id, _)| *id),
        );
        for (n, pattern) in [
            (policy.keep_hourly, "%Y-%m-%d %H"),
            (policy.keep_daily, "%Y-%m-%d"),
            (policy.keep_weekly, "%G-W%V"),
            (policy.keep_monthly, "%Y-%m"),
        ] {
            let mut newest_of: BTreeMap<String, (time::OffsetDateTime, BackupId)> = BTreeMap::new();
            for (id, t) in &by_time {
                let local = crate::schedules::cron::to_chrono(*t).with_timezone(&tz);
                newest_of.insert(local.format(pattern).to_string(), (*t, *id));
            }
            let mut periods: Vec<_> = newest_of.into_values().collect();
            periods.sort_by(|a, b| b.cmp(a));
            keep.extend(periods.into_iter().take(n as usize).map(|(_, id)| id));
        }
        keep
    }

    #[tokio::test]
    async fn a_few_hundred_backups_across_months_keep_exactly_what_the_policy_says() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path().join("s.db")).unwrap();
        // 300 scheduled backups 1 to 36 hours apart (a fixed pseudo-random walk), from
        // September to the next spring, and a manual backup every 25th step.
        let mut t = datetime!(2025-09-01 00:00 UTC);
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let (mut scheduled, mut manual) = (Vec::new(), Vec::new());
        for i in 0..300 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            t += time::Duration::minutes(60 + (seed >> 33) as i64 % (35 * 60));
            scheduled.push((backup(&s, "ITSM", t, BackupType::Scheduled), t));
            if i % 25 == 0 {
                manual.push(backup(
                    &s,
                    "ITSM",
                    t + time::Duration::minutes(1),
                    BackupType::Manual,
                ));
            }
        }
        // The last step (299) has no manual backup: the newest of the schema is scheduled.
        let newest = scheduled[299].0;
        let store = AsyncStore::new(Arc::new(s));
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let policy = Policy {
            keep_last: 3,
            keep_hourly: 5,
            keep_daily: 10,
            keep_weekly: 6,
            keep_monthly: 4,
        };
        let key = ScheduleKey::new("prod", "ITSM");
        let p = plan(&store, &key, policy, tz).await.unwrap();
        let done = execute(&store, &p).await.unwrap();
        let expected = independent(&policy, tz, &scheduled, newest);
        let left = store
            .list_backups(
                BackupFilter {
                    backup_type: Some(BackupType::Scheduled),
                    from: Some(datetime!(2000-01-01 00:00 UTC)),
                    ..BackupFilter::default()
                },
                PageRequest {
                    limit: 1000,
                    offset: 0,
                },
            )
            .await
            .unwrap();
        let left: std::collections::BTreeSet<BackupId> = left.items.iter().map(|b| b.id).collect();
        assert_eq!(left, expected);
        assert_eq!(done.removed as usize, 300 - expected.len());
        assert_eq!(done.blobs_removed, done.removed, "each held its own blob");
        for id in manual {
            store.get_backup(id).await.expect("manual backups stay");
        }
    }

    #[tokio::test]
    async fn manual_backups_and_other_schemas_are_never_candidates_and_blobs_are_freed() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path().join("s.db")).unwrap();
        let day = |d: i64| datetime!(2026-01-01 02:00 UTC) + time::Duration::days(d);
        let scheduled: Vec<BackupId> = (0..5)
            .map(|d| backup(&s, "ITSM", day(d), BackupType::Scheduled))
            .collect();
        let manual = backup(
            &s,
            "ITSM",
            day(2) + time::Duration::hours(1),
            BackupType::Manual,
        );
        let other = backup(&s, "HR", day(0), BackupType::Scheduled);
        let store = AsyncStore::new(Arc::new(s));
        let key = ScheduleKey::new("prod", "ITSM");
        let policy = Policy {
            keep_last: 2,
            ..Policy::default()
        };
        let p = plan(&store, &key, policy, Tz::UTC).await.unwrap();
        let kept: Vec<BackupId> = p.keep.iter().map(|v| v.id).collect();
        let removed: Vec<BackupId> = p.remove.iter().map(|v| v.id).collect();
        assert_eq!(kept, [scheduled[4], scheduled[3]]);
        assert_eq!(removed, [scheduled[2], scheduled[1], scheduled[0]]);
        let done = execute(&store, &p).await.unwrap();
        assert_eq!(done.removed, 3);
        // Day 0's object blob is also HR's (same content): it stays.
        assert_eq!(done.blobs_removed, 2);
        store.get_backup(manual).await.unwrap();
        store.get_backup(other).await.unwrap();
        // Again: nothing left to remove; a second run of the same plan skips the gone ones.
        assert_eq!(execute(&store, &p).await.unwrap().removed, 0);
    }
}
