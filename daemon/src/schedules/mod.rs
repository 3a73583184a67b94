//! Schedules: cron-driven backups of a site's schema and the retention policy that prunes
//! what they leave behind.
//!
//! - [`cron`]: [`Timing`], a cron expression (six fields, seconds first, as tokio-cron-scheduler
//!   reads it) in an IANA time zone, and its next firing after a moment;
//! - [`retention`]: which backups a policy keeps (pure; restic `forget` semantics);
//! - [`prune`]: a policy applied to the store (plan, then delete);
//! - [`scheduler`]: the [`Scheduler`], which fires due schedules on the injected clock (only
//!   ever enqueueing a `scheduled` backup job through a [`BackupQueue`]), runs a run missed
//!   while the daemon was down once at start-up, and keeps each schedule's firing state in
//!   the store; `trigger` wakes it on the wall clock through tokio-cron-scheduler.
//!
//! A [`Schedule`] comes from the config file (`[[schedules]]`, fixed for the life of the
//! process) or from the control API (stored, so it survives a restart); one site and schema
//! has at most one, and a config schedule cannot be changed or removed through the API.
//! This module sits below the job runner: the runner implements [`BackupQueue`] and prunes
//! after a scheduled backup with the policy the job carries.

pub mod cron;
pub mod prune;
pub mod retention;
pub mod scheduler;
#[cfg(test)]
mod tests;
mod trigger;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use cron::{DEFAULT_TZ, Timing};
pub use retention::Policy;
pub use scheduler::{
    BackupQueue, Fired, QueueRefusal, RemoveError, RunError, ScheduleEntry, Scheduler, SetError,
};

use crate::store::StoredSchedule;

/// `full_every` of a schedule that does not set it.
pub const DEFAULT_FULL_EVERY: u32 = 7;

/// Where a schedule is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The config file; changed only by editing it.
    Config,
    /// The control API; kept in the store.
    Api,
}

impl Origin {
    /// `config` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Api => "api",
        }
    }
}

/// Which schedule: one per site and schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScheduleKey {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema: String,
}

impl ScheduleKey {
    /// The key of `site` and `schema`.
    pub fn new(site: impl Into<String>, schema: impl Into<String>) -> Self {
        ScheduleKey {
            site: site.into(),
            schema: schema.into(),
        }
    }
}

impl std::fmt::Display for ScheduleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.site, self.schema)
    }
}

/// A checked schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Site and schema.
    pub key: ScheduleKey,
    /// When it fires.
    pub timing: Timing,
    /// Whether it fires.
    pub enabled: bool,
    /// What its backups keep.
    pub policy: Policy,
    /// Every N-th backup of the schema is full (reads every object's history); the others
    /// are incremental (see `backup::incremental`).
    pub full_every: u32,
    /// Config file or API.
    pub origin: Origin,
}

/// A schedule as given (config file or API), before it is checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScheduleInput {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema: String,
    /// Cron expression.
    pub cron: String,
    /// IANA zone; default [`DEFAULT_TZ`].
    pub tz: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Retention.
    pub policy: Policy,
    /// Default [`DEFAULT_FULL_EVERY`].
    pub full_every: Option<u32>,
}

impl ScheduleInput {
    /// Checks the input; every problem is returned at once, keyed by field name (`site`,
    /// `schema`, `cron`, `tz`, `full_every`). Whether the site exists is the caller's
    /// business (it knows the sites).
    ///
    /// # Errors
    ///
    /// One message per offending field.
    pub fn check(self, origin: Origin) -> Result<Schedule, BTreeMap<String, String>> {
        let mut problems = BTreeMap::new();
        if self.site.trim().is_empty() {
            problems.insert("site".to_owned(), "must not be empty".to_owned());
        }
        if self.schema.trim().is_empty() {
            problems.insert("schema".to_owned(), "must not be empty".to_owned());
        }
        let full_every = self.full_every.unwrap_or(DEFAULT_FULL_EVERY);
        if full_every == 0 {
            problems.insert("full_every".to_owned(), "must be at least 1".to_owned());
        }
        let tz = self.tz.as_deref().unwrap_or(DEFAULT_TZ);
        let timing = match Timing::new(&self.cron, tz) {
            Ok(t) => Some(t),
            Err(e) => {
                for (k, m) in e {
                    problems.insert(k.to_owned(), m);
                }
                None
            }
        };
        match timing {
            Some(timing) if problems.is_empty() => Ok(Schedule {
                key: ScheduleKey::new(self.site.trim(), self.schema.trim()),
                timing,
                enabled: self.enabled.unwrap_or(true),
                policy: self.policy,
                full_every,
                origin,
            }),
            _ => Err(problems),
        }
    }
}

impl Schedule {
    /// What the next firing depends on: when it changes, the next firing is computed afresh
    /// (a changed schedule has no missed run).
    pub fn timing_key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.timing.cron(),
            self.timing.tz().name(),
            if self.enabled { "on" } else { "off" }
        )
    }

    /// A stored schedule, checked. A row this build cannot read (a zone removed from the time
    /// zone database, a hand-edited expression) says why.
    ///
    /// # Errors
    ///
    /// The problems, keyed by field.
    pub fn from_stored(s: &StoredSchedule) -> Result<Schedule, BTreeMap<String, String>> {
        ScheduleInput {
            site: s.site.clone(),
            schema: s.schema_key.clone(),
            cron: s.cron.clone(),
            tz: Some(s.tz.clone()),
            enabled: Some(s.enabled),
            policy: Policy {
                keep_last: s.keep_last,
                keep_hourly: s.keep_hourly,
                keep_daily: s.keep_daily,
                keep_weekly: s.keep_weekly,
                keep_monthly: s.keep_monthly,
            },
            full_every: Some(s.full_every),
        }
        .check(Origin::Api)
    }

    /// The stored form, with the times given.
    pub fn to_stored(
        &self,
        created_at: time::OffsetDateTime,
        updated_at: time::OffsetDateTime,
    ) -> StoredSchedule {
        StoredSchedule {
            site: self.key.site.clone(),
            schema_key: self.key.schema.clone(),
            cron: self.timing.cron().to_owned(),
            tz: self.timing.tz().name().to_owned(),
            enabled: self.enabled,
            keep_last: self.policy.keep_last,
            keep_hourly: self.policy.keep_hourly,
            keep_daily: self.policy.keep_daily,
            keep_weekly: self.policy.keep_weekly,
            keep_monthly: self.policy.keep_monthly,
            full_every: self.full_every,
            created_at,
            updated_at,
        }
    }
}

#[cfg(test)]
mod input_tests {
    use super::*;

    #[test]
    fn input_is_checked_with_every_problem_at_once_and_defaults_filled() {
        let ok = ScheduleInput {
            site: "prod".into(),
            schema: "ITSM".into(),
            cron: "0 0 2 * * *".into(),
            ..ScheduleInput::default()
        }
        .check(Origin::Config)
        .unwrap();
        assert_eq!(ok.timing.tz().name(), "UTC");
        assert!(ok.enabled);
        assert_eq!(ok.full_every, 7);
        assert_eq!(ok.timing_key(), "0 0 2 * * *|UTC|on");
        let bad = ScheduleInput {
            site: String::new(),
            schema: "ITSM".into(),
            cron: "0 2 * * *".into(),
            tz: Some("Nowhere/City".into()),
            full_every: Some(0),
            ..ScheduleInput::default()
        }
        .check(Origin::Api)
        .unwrap_err();
        let keys: Vec<&str> = bad.keys().map(String::as_str).collect();
        assert_eq!(keys, ["cron", "full_every", "site", "tz"]);
        let stored = ok.to_stored(
            time::macros::datetime!(2026-01-01 00:00 UTC),
            time::macros::datetime!(2026-01-01 00:00 UTC),
        );
        let back = Schedule::from_stored(&stored).unwrap();
        assert_eq!(back.timing, ok.timing);
        assert_eq!(back.origin, Origin::Api);
    }
}
