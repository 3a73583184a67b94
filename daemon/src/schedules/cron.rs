//! [`Timing`]: when a schedule fires — a cron expression read exactly as tokio-cron-scheduler
//! reads it (croner, six fields with a required seconds field, day-of-month *and* day-of-week
//! both honoured) in an IANA time zone.
//!
//! The scheduler computes firings here, on its injected clock, rather than asking
//! tokio-cron-scheduler: that crate's loop reads `Utc::now()` (so it cannot run on a test's
//! clock) and, after the first firing, steps with the UTC offset the zone had when the job was
//! created (so it drifts by an hour across a daylight-saving change). croner, which it uses
//! underneath, finds occurrences in the zone itself.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use time::OffsetDateTime;

/// The time zone of a schedule that names none.
pub const DEFAULT_TZ: &str = "UTC";

/// A checked cron expression and time zone.
#[derive(Clone)]
pub struct Timing {
    text: String,
    cron: Cron,
    tz: Tz,
}

impl std::fmt::Debug for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timing")
            .field("cron", &self.text)
            .field("tz", &self.tz.name())
            .finish()
    }
}

impl PartialEq for Timing {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.tz == other.tz
    }
}

impl Eq for Timing {}

/// The parser tokio-cron-scheduler uses for `Job::new_async_tz` (same options).
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
}

/// Checks a cron expression; the message says what is wrong, for a config problem or a 422.
///
/// # Errors
///
/// The message.
pub fn check_cron(text: &str) -> Result<Cron, String> {
    let fields = text.split_whitespace().count();
    if fields != 6 {
        return Err(format!(
            "{text:?} has {fields} field(s); a schedule needs six, with seconds first: \
             \"0 0 2 * * *\" is 02:00:00 every day"
        ));
    }
    parser()
        .parse(text)
        .map_err(|e| format!("{text:?} is not a cron expression: {e}"))
}

/// Reads an IANA time zone name ("Europe/Berlin", "UTC").
///
/// # Errors
///
/// The message.
pub fn check_tz(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone name such as \"Europe/Berlin\""))
}

impl Timing {
    /// Checks `cron` and `tz`; every problem is returned, keyed `cron` and `tz`.
    ///
    /// # Errors
    ///
    /// `(key, message)` for each problem.
    pub fn new(cron: &str, tz: &str) -> Result<Timing, Vec<(&'static str, String)>> {
        let parsed = check_cron(cron.trim());
        let zone = check_tz(tz.trim());
        match (parsed, zone) {
            (Ok(c), Ok(z)) => Ok(Timing {
                text: cron.trim().to_owned(),
                cron: c,
                tz: z,
            }),
            (c, z) => {
                let mut problems = Vec::new();
                if let Err(m) = c {
                    problems.push(("cron", m));
                }
                if let Err(m) = z {
                    problems.push(("tz", m));
                }
                Err(problems)
            }
        }
    }

    /// The expression as given.
    pub fn cron(&self) -> &str {
        &self.text
    }

    /// The zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The first firing strictly after `t`; `None` when the expression never fires again.
    pub fn next_after(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        // Whole seconds: croner keeps a fraction, and "strictly after 00:00:05.5" is 00:00:10,
        // not 00:00:10.5.
        let whole = t.replace_nanosecond(0).unwrap_or(t);
        let local = to_chrono(whole).with_timezone(&self.tz);
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        from_chrono(next.with_timezone(&Utc))
    }
}

/// A `time` timestamp as a chrono UTC one.
pub fn to_chrono(t: OffsetDateTime) -> DateTime<Utc> {
    Utc.timestamp_opt(t.unix_timestamp(), t.nanosecond())
        .single()
        .unwrap_or_default()
}

/// A chrono UTC timestamp as a `time` one.
fn from_chrono(t: DateTime<Utc>) -> Option<OffsetDateTime> {
    let nanos = i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos());
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn six_fields_with_seconds_in_the_schedules_zone() {
        let t = Timing::new("0 0 2 * * *", "UTC").unwrap();
        assert_eq!(
            t.next_after(datetime!(2026-03-01 01:59:59 UTC)),
            Some(datetime!(2026-03-01 02:00 UTC))
        );
        assert_eq!(
            t.next_after(datetime!(2026-03-01 02:00 UTC)),
            Some(datetime!(2026-03-02 02:00 UTC)),
            "strictly after"
        );
        let every10 = Timing::new("*/10 * * * * *", "UTC").unwrap();
        assert_eq!(
            every10.next_after(datetime!(2026-03-01 00:00:05.5 UTC)),
            Some(datetime!(2026-03-01 00:00:10 UTC))
        );
        // 02:00 in Berlin is 01:00 UTC in winter and 00:00 UTC in summer: the zone's own
        // rules, across the change on 29 March 2026.
        let berlin = Timing::new("0 0 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            berlin.next_after(datetime!(2026-03-27 12:00 UTC)),
            Some(datetime!(2026-03-28 01:00 UTC))
        );
        assert_eq!(
            berlin.next_after(datetime!(2026-03-30 12:00 UTC)),
            Some(datetime!(2026-03-31 00:00 UTC))
        );
    }

    #[test]
    fn bad_expressions_and_zones_say_what_is_wrong() {
        let e = Timing::new("0 2 * * *", "Mars/Olympus").unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0, "cron");
        assert!(
            e[0].1.contains("five") || e[0].1.contains("5 field"),
            "{}",
            e[0].1
        );
        assert_eq!(e[1].0, "tz");
        assert!(Timing::new("61 * * * * *", "UTC").is_err());
        assert!(Timing::new("0 0 25 * * *", "UTC").is_err());
        assert!(Timing::new("", "UTC").is_err());
    }

    #[test]
    fn we_read_expressions_as_tokio_cron_scheduler_does() {
        for (text, ok) in [
            ("0 0 2 * * *", true),
            ("*/10 * * * * *", true),
            ("0 15 6,8,10 * Mar,Jun Fri", true),
            ("0 0 2 * * MON-FRI", true),
            ("0 2 * * *", false),
            ("61 * * * * *", false),
            ("x y z a b c", false),
        ] {
            let ours = Timing::new(text, "UTC").is_ok();
            let theirs =
                tokio_cron_scheduler::Job::new_async_tz(text, Utc, |_, _| Box::pin(async {}))
                    .is_ok();
            assert_eq!(ours, ok, "{text}");
            assert_eq!(theirs, ok, "tokio-cron-scheduler on {text}");
        }
    }
}
