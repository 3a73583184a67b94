//! Schedules in the store: the cron schedules added through the control API
//! ([`StoredSchedule`]) and the firing state of every schedule ([`ScheduleState`]), from the
//! config file or the API, so that a restart knows each schedule's next firing (and so its
//! missed runs), last firing and counts. The schema is `migrations/0006_schedules.sql`.
//!
//! The store keeps plain values: the cron expression and the time zone are text here; the
//! scheduler (`crate::schedules`) parses and checks them before anything is written.

use rusqlite::{OptionalExtension as _, Row, params};
use time::OffsetDateTime;

use super::{SqliteStore, from_millis, to_millis, to_u64};
use crate::store::{AsyncStore, JobId, Result};

/// A schedule added through the control API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema_key: String,
    /// Cron expression, six fields with seconds.
    pub cron: String,
    /// IANA time zone name.
    pub tz: String,
    /// Whether it fires.
    pub enabled: bool,
    /// Retention: the newest N backups.
    pub keep_last: u32,
    /// Retention: the newest backup of each of N hours.
    pub keep_hourly: u32,
    /// Retention: the newest backup of each of N days.
    pub keep_daily: u32,
    /// Retention: the newest backup of each of N ISO weeks.
    pub keep_weekly: u32,
    /// Retention: the newest backup of each of N months.
    pub keep_monthly: u32,
    /// Every N-th scheduled backup reads everything.
    pub full_every: u32,
    /// When it was first stored.
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
}

/// Why a schedule fired.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FireReason {
    /// Its cron expression came due.
    Cron,
    /// A firing came due while the daemon was down: run once at start-up.
    Missed,
    /// A user asked (`schedules run`).
    Manual,
}

/// What a firing did.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FireOutcome {
    /// A scheduled backup job was queued.
    Enqueued,
    /// A backup of the schema was already queued or running: nothing was queued.
    Skipped,
    /// The job could not be queued (the store failed, or the daemon was stopping).
    Error,
}

macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// The spelling in the store and in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
text_enum!(FireReason { Cron => "cron", Missed => "missed", Manual => "manual" });
text_enum!(FireOutcome { Enqueued => "enqueued", Skipped => "skipped", Error => "error" });

/// The firing state of one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleState {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema_key: String,
    /// What `next_fire_at` was computed from (cron, zone, enabled): a schedule that changed
    /// gets a fresh next firing rather than a missed run.
    pub timing: String,
    /// The firing the scheduler waits for; `None` while disabled.
    pub next_fire_at: Option<OffsetDateTime>,
    /// When it last fired.
    pub last_fired_at: Option<OffsetDateTime>,
    /// Why it last fired.
    pub last_reason: Option<FireReason>,
    /// What the last firing did.
    pub last_outcome: Option<FireOutcome>,
    /// The job the last firing queued, or the one it was skipped for.
    pub last_job_id: Option<JobId>,
    /// What went wrong when the last firing could not queue its job.
    pub last_note: Option<String>,
    /// Firings that queued a job.
    pub fired: u64,
    /// Firings skipped because a backup of the schema was queued or running.
    pub skipped: u64,
}

impl ScheduleState {
    /// A state that has never fired.
    pub fn new(site: &str, schema_key: &str, timing: String) -> Self {
        ScheduleState {
            site: site.to_owned(),
            schema_key: schema_key.to_owned(),
            timing,
            next_fire_at: None,
            last_fired_at: None,
            last_reason: None,
            last_outcome: None,
            last_job_id: None,
            last_note: None,
            fired: 0,
            skipped: 0,
        }
    }
}

/// Schedules and their state. Calls block; see [`AsyncStore`] for async code.
pub trait ScheduleStore {
    /// Adds a schedule or replaces the one of the same site and schema (keeping its
    /// `created_at`).
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::store::Error::Sqlite).
    fn put_schedule(&self, schedule: &StoredSchedule) -> Result<()>;

    /// Removes a schedule and its state; `false` when there was none.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::store::Error::Sqlite).
    fn remove_schedule(&self, site: &str, schema_key: &str) -> Result<bool>;

    /// Every stored schedule, by site and schema.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::store::Error::Sqlite).
    fn list_schedules(&self) -> Result<Vec<StoredSchedule>>;

    /// Writes the state of a schedule.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::store::Error::Sqlite).
    fn put_schedule_state(&self, state: &ScheduleState) -> Result<()>;

    /// The state of every schedule that has one.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::store::Error::Sqlite).
    fn list_schedule_states(&self) -> Result<Vec<ScheduleState>>;
}

fn schedule_from_row(row: &Row<'_>) -> rusqlite::Result<StoredSchedule> {
    let n = |i: usize| -> rusqlite::Result<u32> {
        Ok(u32::try_from(row.get::<_, i64>(i)?).unwrap_or(0))
    };
    Ok(StoredSchedule {
        site: row.get(0)?,
        schema_key: row.get(1)?,
        cron: row.get(2)?,
        tz: row.get(3)?,
        enabled: row.get(4)?,
        keep_last: n(5)?,
        keep_hourly: n(6)?,
        keep_daily: n(7)?,
        keep_weekly: n(8)?,
        keep_monthly: n(9)?,
        full_every: n(10)?,
        created_at: from_millis(row.get(11)?)?,
        updated_at: from_millis(row.get(12)?)?,
    })
}

fn opt_time(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<OffsetDateTime>> {
    row.get::<_, Option<i64>>(i)?.map(from_millis).transpose()
}

fn state_from_row(row: &Row<'_>) -> rusqlite::Result<ScheduleState> {
    // An unknown spelling (a newer build's) reads as "unknown" rather than failing the list.
    let reason: Option<String> = row.get(5)?;
    let outcome: Option<String> = row.get(6)?;
    Ok(ScheduleState {
        site: row.get(0)?,
        schema_key: row.get(1)?,
        timing: row.get(2)?,
        next_fire_at: opt_time(row, 3)?,
        last_fired_at: opt_time(row, 4)?,
        last_reason: reason.as_deref().and_then(FireReason::parse),
        last_outcome: outcome.as_deref().and_then(FireOutcome::parse),
        last_job_id: row.get(7)?,
        last_note: row.get(8)?,
        fired: to_u64(row.get(9)?),
        skipped: to_u64(row.get(10)?),
    })
}

impl ScheduleStore for SqliteStore {
    fn put_schedule(&self, s: &StoredSchedule) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO schedules (site, schema_key, cron, tz, enabled, keep_last, \
                 keep_hourly, keep_daily, keep_weekly, keep_monthly, full_every, created_at, \
                 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                 ON CONFLICT (site, schema_key) DO UPDATE SET cron = excluded.cron, \
                 tz = excluded.tz, enabled = excluded.enabled, keep_last = excluded.keep_last, \
                 keep_hourly = excluded.keep_hourly, keep_daily = excluded.keep_daily, \
                 keep_weekly = excluded.keep_weekly, keep_monthly = excluded.keep_monthly, \
                 full_every = excluded.full_every, updated_at = excluded.updated_at",
                params![
                    s.site,
                    s.schema_key,
                    s.cron,
                    s.tz,
                    s.enabled,
                    s.keep_last,
                    s.keep_hourly,
                    s.keep_daily,
                    s.keep_weekly,
                    s.keep_monthly,
                    s.full_every,
                    to_millis(s.created_at),
                    to_millis(s.updated_at),
                ],
            )?;
            Ok(())
        })
    }

    fn remove_schedule(&self, site: &str, schema_key: &str) -> Result<bool> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM schedule_state WHERE site = ?1 AND schema_key = ?2",
                [site, schema_key],
            )?;
            let removed = tx.execute(
                "DELETE FROM schedules WHERE site = ?1 AND schema_key = ?2",
                [site, schema_key],
            )?;
            Ok(removed == 1)
        })
    }

    fn list_schedules(&self) -> Result<Vec<StoredSchedule>> {
        self.read(|tx| {
            let rows = tx
                .prepare_cached(
                    "SELECT site, schema_key, cron, tz, enabled, keep_last, keep_hourly, \
                     keep_daily, keep_weekly, keep_monthly, full_every, created_at, updated_at \
                     FROM schedules ORDER BY site, schema_key",
                )?
                .query_map([], schedule_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn put_schedule_state(&self, s: &ScheduleState) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO schedule_state (site, schema_key, timing, next_fire_at, \
                 last_fired_at, last_reason, last_outcome, last_job_id, last_note, fired, \
                 skipped) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                 ON CONFLICT (site, schema_key) DO UPDATE SET timing = excluded.timing, \
                 next_fire_at = excluded.next_fire_at, last_fired_at = excluded.last_fired_at, \
                 last_reason = excluded.last_reason, last_outcome = excluded.last_outcome, \
                 last_job_id = excluded.last_job_id, last_note = excluded.last_note, \
                 fired = excluded.fired, skipped = excluded.skipped",
                params![
                    s.site,
                    s.schema_key,
                    s.timing,
                    s.next_fire_at.map(to_millis),
                    s.last_fired_at.map(to_millis),
                    s.last_reason.map(FireReason::as_str),
                    s.last_outcome.map(FireOutcome::as_str),
                    s.last_job_id,
                    s.last_note,
                    i64::try_from(s.fired).unwrap_or(i64::MAX),
                    i64::try_from(s.skipped).unwrap_or(i64::MAX),
                ],
            )?;
            Ok(())
        })
    }

    fn list_schedule_states(&self) -> Result<Vec<ScheduleState>> {
        self.read(|tx| {
            let rows = tx
                .prepare_cached(
                    "SELECT site, schema_key, timing, next_fire_at, last_fired_at, last_reason, \
                     last_outcome, last_job_id, last_note, fired, skipped FROM schedule_state \
                     ORDER BY site, schema_key",
                )?
                .query_map([], state_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}

/// The state of one schedule, if it has one (used by tests and tools).
///
/// # Errors
///
/// [`Error::Sqlite`](crate::store::Error::Sqlite).
pub fn schedule_state(
    store: &SqliteStore,
    site: &str,
    schema_key: &str,
) -> Result<Option<ScheduleState>> {
    store.read(|tx| {
        Ok(tx
            .prepare_cached(
                "SELECT site, schema_key, timing, next_fire_at, last_fired_at, last_reason, \
                 last_outcome, last_job_id, last_note, fired, skipped FROM schedule_state \
                 WHERE site = ?1 AND schema_key = ?2",
            )?
            .query_row([site, schema_key], state_from_row)
            .optional()?)
    })
}

/// Async mirrors of [`ScheduleStore`] (see there for errors), run on the blocking pool.
impl AsyncStore {
    /// See [`ScheduleStore::put_schedule`].
    pub async fn put_schedule(&self, schedule: StoredSchedule) -> Result<()> {
        self.run(move |s| s.put_schedule(&schedule)).await
    }

    /// See [`ScheduleStore::remove_schedule`].
    pub async fn remove_schedule(&self, site: &str, schema_key: &str) -> Result<bool> {
        let (site, schema_key) = (site.to_owned(), schema_key.to_owned());
        self.run(move |s| s.remove_schedule(&site, &schema_key))
            .await
    }

    /// See [`ScheduleStore::list_schedules`].
    pub async fn list_schedules(&self) -> Result<Vec<StoredSchedule>> {
        self.run(|s| s.list_schedules()).await
    }

    /// See [`ScheduleStore::put_schedule_state`].
    pub async fn put_schedule_state(&self, state: ScheduleState) -> Result<()> {
        self.run(move |s| s.put_schedule_state(&state)).await
    }

    /// See [`ScheduleStore::list_schedule_states`].
    pub async fn list_schedule_states(&self) -> Result<Vec<ScheduleState>> {
        self.run(|s| s.list_schedule_states()).await
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn schedule(site: &str, cron: &str) -> StoredSchedule {
        StoredSchedule {
            site: site.into(),
            schema_key: "ITSM".into(),
            cron: cron.into(),
            tz: "Europe/Berlin".into(),
            enabled: true,
            keep_last: 3,
            keep_hourly: 0,
            keep_daily: 7,
            keep_weekly: 4,
            keep_monthly: 6,
            full_every: 7,
            created_at: datetime!(2026-01-01 00:00 UTC),
            updated_at: datetime!(2026-01-01 00:00 UTC),
        }
    }

    #[test]
    fn schedules_and_their_state_survive_a_reopen_and_go_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let s = SqliteStore::open(&path).unwrap();
            s.put_schedule(&schedule("a", "0 0 2 * * *")).unwrap();
            let mut changed = schedule("a", "0 30 3 * * *");
            changed.created_at = datetime!(2026-02-01 00:00 UTC);
            changed.updated_at = datetime!(2026-02-01 00:00 UTC);
            s.put_schedule(&changed).unwrap();
            s.put_schedule(&schedule("b", "*/10 * * * * *")).unwrap();
            let mut state = ScheduleState::new("a", "ITSM", "0 30 3 * * *|Europe/Berlin|on".into());
            state.next_fire_at = Some(datetime!(2026-02-02 02:30 UTC));
            state.last_fired_at = Some(datetime!(2026-02-01 02:30 UTC));
            state.last_reason = Some(FireReason::Missed);
            state.last_outcome = Some(FireOutcome::Skipped);
            state.last_job_id = Some(9);
            state.skipped = 2;
            s.put_schedule_state(&state).unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        let all = s.list_schedules().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].cron, "0 30 3 * * *");
        assert_eq!(all[0].created_at, datetime!(2026-01-01 00:00 UTC), "kept");
        assert_eq!(all[0].updated_at, datetime!(2026-02-01 00:00 UTC));
        let state = schedule_state(&s, "a", "ITSM").unwrap().unwrap();
        assert_eq!(state.last_reason, Some(FireReason::Missed));
        assert_eq!(state.last_outcome, Some(FireOutcome::Skipped));
        assert_eq!((state.last_job_id, state.skipped), (Some(9), 2));
        assert!(s.remove_schedule("a", "ITSM").unwrap());
        assert!(!s.remove_schedule("a", "ITSM").unwrap());
        assert!(s.list_schedule_states().unwrap().is_empty());
        assert_eq!(s.list_schedules().unwrap().len(), 1);
    }
}
