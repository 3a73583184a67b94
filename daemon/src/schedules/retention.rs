//! Retention: which backups of a schedule to keep, in the style of restic's `forget`.
//!
//! A [`Policy`] keeps the last N backups and the newest backup of each of the last N hours,
//! days, ISO weeks and months, periods taken in the schedule's time zone. A backup kept by any
//! rule is kept, and the reasons are recorded ([`Rule`]). As in restic, a period rule counts
//! periods that *have* a backup, newest first: `keep_daily = 7` keeps the newest backup of
//! each of the seven most recent days on which a backup was taken, not of the last seven
//! calendar days.
//!
//! [`plan`] is a pure function over the candidates (the complete scheduled backups of one
//! site and schema); the caller decides what the candidates are (manual backups are never
//! candidates) and passes the newest complete backup of the schema, which is always kept
//! ([`Rule::Newest`]). A policy without any rule keeps everything: an empty policy is "no
//! retention", never "delete all".

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::store::BackupId;

/// How many backups of each kind a schedule keeps (0 = the rule is off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// The newest N backups.
    pub keep_last: u32,
    /// The newest backup of each of the last N hours that have one.
    pub keep_hourly: u32,
    /// The newest backup of each of the last N days that have one.
    pub keep_daily: u32,
    /// The newest backup of each of the last N ISO weeks that have one.
    pub keep_weekly: u32,
    /// The newest backup of each of the last N months that have one.
    pub keep_monthly: u32,
}

impl Policy {
    /// Whether no rule is set (then nothing is pruned).
    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(_, n)| *n == 0)
    }

    /// The period rules with their counts, in the order reasons are reported.
    fn counts(&self) -> [(Rule, u32); 5] {
        [
            (Rule::Last, self.keep_last),
            (Rule::Hourly, self.keep_hourly),
            (Rule::Daily, self.keep_daily),
            (Rule::Weekly, self.keep_weekly),
            (Rule::Monthly, self.keep_monthly),
        ]
    }
}

/// Why a backup is kept.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// One of the newest `keep_last`.
    Last,
    /// The newest of its hour.
    Hourly,
    /// The newest of its day.
    Daily,
    /// The newest of its ISO week.
    Weekly,
    /// The newest of its month.
    Monthly,
    /// The newest complete backup of the schema: never pruned.
    Newest,
    /// The policy is empty: nothing is pruned.
    NoPolicy,
    /// A pending or running restore reads it: kept until the restore ends (not a policy
    /// rule; added by the pruner, see `prune`).
    Restoring,
}

impl Rule {
    /// The spelling in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Last => "last",
            Rule::Hourly => "hourly",
            Rule::Daily => "daily",
            Rule::Weekly => "weekly",
            Rule::Monthly => "monthly",
            Rule::Newest => "newest",
            Rule::NoPolicy => "no_policy",
            Rule::Restoring => "restoring",
        }
    }

    /// The period a time falls in for this rule, as comparable numbers (local time of `tz`).
    /// `None` for rules that are not about periods.
    fn period(self, t: &DateTime<Tz>) -> Option<(i32, u32, u32, u32)> {
        match self {
            Rule::Hourly => Some((t.year(), t.month(), t.day(), t.hour())),
            Rule::Daily => Some((t.year(), t.month(), t.day(), 0)),
            Rule::Weekly => {
                let w = t.iso_week();
                Some((w.year(), w.week(), 0, 0))
            }
            Rule::Monthly => Some((t.year(), t.month(), 0, 0)),
            Rule::Last | Rule::Newest | Rule::NoPolicy | Rule::Restoring => None,
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A backup the policy may prune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The backup.
    pub id: BackupId,
    /// When it was taken (its start).
    pub taken_at: OffsetDateTime,
}

/// The verdict on one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Verdict {
    /// The backup.
    pub id: BackupId,
    /// When it was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
    /// The rules that keep it; empty for a backup to remove.
    pub kept_by: Vec<Rule>,
}

/// What a policy keeps and removes, newest first in each list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunePlan {
    /// Backups kept, with the rules that keep them.
    pub keep: Vec<Verdict>,
    /// Backups to remove.
    pub remove: Vec<Verdict>,
}

/// Decides which `candidates` `policy` keeps. `newest` is the newest complete backup of the
/// schema (of any type); it is kept whatever the policy says.
pub fn plan(
    policy: &Policy,
    tz: Tz,
    candidates: &[Candidate],
    newest: Option<BackupId>,
) -> PrunePlan {
    let mut sorted: Vec<Candidate> = candidates.to_vec();
    // Newest first; the id breaks ties so equal times give one answer every run.
    sorted.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then(b.id.cmp(&a.id)));
    sorted.dedup_by_key(|c| c.id);
    let mut verdicts: Vec<Verdict> = sorted
        .iter()
        .map(|c| Verdict {
            id: c.id,
            taken_at: c.taken_at,
            kept_by: Vec::new(),
        })
        .collect();
    if policy.is_empty() {
        for v in &mut verdicts {
            v.kept_by.push(Rule::NoPolicy);
        }
    } else {
        let local: Vec<DateTime<Tz>> = sorted.iter().map(|c| to_local(c.taken_at, tz)).collect();
        for (rule, count) in policy.counts() {
            let mut left = count;
            let mut last_period = None;
            for (v, t) in verdicts.iter_mut().zip(&local) {
                if left == 0 {
                    break;
                }
                let period = rule.period(t);
                // `Last` has no period: every backup is a new one.
                if period.is_none() || period != last_period {
                    v.kept_by.push(rule);
                    left -= 1;
                    last_period = period;
                }
            }
        }
    }
    if let Some(v) = verdicts.iter_mut().find(|v| Some(v.id) == newest) {
        v.kept_by.push(Rule::Newest);
    }
    let (keep, remove) = verdicts.into_iter().partition(|v| !v.kept_by.is_empty());
    PrunePlan { keep, remove }
}

/// A UTC timestamp in the zone `tz`.
fn to_local(t: OffsetDateTime, tz: Tz) -> DateTime<Tz> {
    let utc = Utc
        .timestamp_opt(t.unix_timestamp(), t.nanosecond())
        .single()
        .unwrap_or_default();
    utc.with_timezone(&tz)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;

    fn cand(id: BackupId, t: OffsetDateTime) -> Candidate {
        Candidate { id, taken_at: t }
    }

    fn ids(v: &[Verdict]) -> Vec<BackupId> {
        v.iter().map(|v| v.id).collect()
    }

    #[test]
    fn an_empty_policy_keeps_everything() {
        let c = [
            cand(1, datetime!(2026-01-01 02:00 UTC)),
            cand(2, datetime!(2026-01-02 02:00 UTC)),
        ];
        let p = plan(&Policy::default(), Tz::UTC, &c, Some(2));
        assert_eq!(ids(&p.keep), vec![2, 1]);
        assert!(p.remove.is_empty());
        assert_eq!(p.keep[0].kept_by, vec![Rule::NoPolicy, Rule::Newest]);
    }

    #[test]
    fn daily_keeps_the_newest_of_each_day_and_last_adds_to_it() {
        // Three backups a day for four days, 02:00, 10:00, 18:00 UTC.
        let mut c = Vec::new();
        for day in 0..4u8 {
            for (i, hour) in [2u8, 10, 18].into_iter().enumerate() {
                let t = datetime!(2026-03-01 00:00 UTC)
                    + time::Duration::days(day.into())
                    + time::Duration::hours(hour.into());
                c.push(cand(i64::from(day) * 3 + i as i64 + 1, t));
            }
        }
        let policy = Policy {
            keep_last: 2,
            keep_daily: 3,
            ..Policy::default()
        };
        let p = plan(&policy, Tz::UTC, &c, Some(12));
        // Newest two (12, 11); the newest of the three newest days (12, 9, 6).
        assert_eq!(ids(&p.keep), vec![12, 11, 9, 6]);
        assert_eq!(
            p.keep[0].kept_by,
            vec![Rule::Last, Rule::Daily, Rule::Newest]
        );
        assert_eq!(p.keep[1].kept_by, vec![Rule::Last]);
        assert_eq!(ids(&p.remove), vec![10, 8, 7, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn periods_are_taken_in_the_schedules_time_zone() {
        // 23:30 UTC on 1 March is 00:30 on 2 March in Berlin: in UTC the two backups share a
        // day, in Berlin they do not.
        let c = [
            cand(1, datetime!(2026-03-01 08:00 UTC)),
            cand(2, datetime!(2026-03-01 23:30 UTC)),
        ];
        let daily = Policy {
            keep_daily: 5,
            ..Policy::default()
        };
        assert_eq!(ids(&plan(&daily, Tz::UTC, &c, None).keep), vec![2]);
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(ids(&plan(&daily, berlin, &c, None).keep), vec![2, 1]);
    }

    #[test]
    fn weeks_are_iso_weeks_and_the_newest_backup_is_never_removed() {
        // Sunday 2026-01-04 and Monday 2026-01-05 are in ISO weeks 1 and 2.
        let c = [
            cand(1, datetime!(2026-01-04 12:00 UTC)),
            cand(2, datetime!(2026-01-05 12:00 UTC)),
            cand(3, datetime!(2026-01-06 12:00 UTC)),
        ];
        let weekly = Policy {
            keep_weekly: 1,
            ..Policy::default()
        };
        let p = plan(&weekly, Tz::UTC, &c, Some(3));
        assert_eq!(ids(&p.keep), vec![3]);
        let p = plan(
            &Policy {
                keep_weekly: 2,
                ..Policy::default()
            },
            Tz::UTC,
            &c,
            None,
        );
        assert_eq!(ids(&p.keep), vec![3, 1]);
        // A policy that keeps nothing of a newer backup still keeps the schema's newest.
        let monthly = Policy {
            keep_monthly: 1,
            ..Policy::default()
        };
        let p = plan(&monthly, Tz::UTC, &c[..2], Some(1));
        assert_eq!(ids(&p.keep), vec![2, 1]);
        assert_eq!(p.keep[1].kept_by, vec![Rule::Newest]);
    }

    /// The same policy computed another way: for each rule, the newest backup of every
    /// period, the N newest periods.
    fn independent(policy: &Policy, tz: Tz, c: &[Candidate]) -> BTreeSet<BackupId> {
        let mut keep = BTreeSet::new();
        let mut by_time: Vec<&Candidate> = c.iter().collect();
        by_time.sort_by_key(|c| (c.taken_at, c.id));
        for c in by_time.iter().rev().take(policy.keep_last as usize) {
            keep.insert(c.id);
        }
        let fmt =
            |c: &Candidate, pattern: &str| to_local(c.taken_at, tz).format(pattern).to_string();
        for (n, pattern) in [
            (policy.keep_hourly, "%Y-%m-%d %H"),
            (policy.keep_daily, "%Y-%m-%d"),
            (policy.keep_weekly, "%G-W%V"),
            (policy.keep_monthly, "%Y-%m"),
        ] {
            // period -> newest backup of it
            let mut newest: BTreeMap<String, &Candidate> = BTreeMap::new();
            for c in &by_time {
                newest.insert(fmt(c, pattern), c);
            }
            let mut periods: Vec<&&Candidate> = newest.values().collect();
            periods.sort_by_key(|c| std::cmp::Reverse((c.taken_at, c.id)));
            for c in periods.into_iter().take(n as usize) {
                keep.insert(c.id);
            }
        }
        keep
    }

    proptest! {
        #[test]
        fn matches_an_independent_computation_over_months_of_backups(
            gaps in proptest::collection::vec(1u32..(36 * 3600), 200..400),
            last in 0u32..5, hourly in 0u32..30, daily in 0u32..10,
            weekly in 0u32..6, monthly in 0u32..8,
            zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
        ) {
            let tz: Tz = zone.parse().unwrap();
            let mut t = datetime!(2025-09-01 00:00 UTC);
            let mut c = Vec::new();
            for (i, gap) in gaps.iter().enumerate() {
                t += time::Duration::seconds(i64::from(*gap));
                c.push(cand(i as BackupId + 1, t));
            }
            let policy = Policy { keep_last: last, keep_hourly: hourly, keep_daily: daily, keep_weekly: weekly, keep_monthly: monthly };
            let p = plan(&policy, tz, &c, None);
            let kept: BTreeSet<BackupId> = p.keep.iter().map(|v| v.id).collect();
            let expected = if policy.is_empty() {
                c.iter().map(|c| c.id).collect()
            } else {
                independent(&policy, tz, &c)
            };
            prop_assert_eq!(&kept, &expected);
            prop_assert_eq!(p.keep.len() + p.remove.len(), c.len());
        }
    }
}
