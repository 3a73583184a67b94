//! Time: the clock the simulator stamps entities with, and the API's timestamp formats.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;
use time::macros::format_description;

use crate::model::Millis;

/// Source of "now". Real time by default; tests may pin or advance it.
#[derive(Clone, Default)]
pub struct Clock {
    /// When set (non-zero), the fixed time in epoch milliseconds.
    fixed: Arc<AtomicI64>,
    offset: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> Millis {
        let f = self.fixed.load(Ordering::Relaxed);
        if f != 0 {
            return f;
        }
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        d.as_millis() as Millis + self.offset.load(Ordering::Relaxed)
    }
    /// Moves real time forward by `ms` (the admin API's virtual clock).
    pub fn advance(&self, ms: Millis) {
        self.offset.fetch_add(ms, Ordering::Relaxed);
    }
    /// Pins the clock (0 returns to real time).
    pub fn set_fixed(&self, ms: Millis) {
        self.fixed.store(ms, Ordering::Relaxed);
    }
}

fn datetime(ms: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// ISO-8601 UTC with milliseconds, e.g. `2021-02-16T20:04:41.527Z`. Written by hand: it runs
/// several times per object on every page of results.
pub fn iso(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `X-RateLimit-Reset` format: `yyyy-MM-ddTHH:mmZ`.
pub fn iso_minutes(ms: Millis) -> String {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]Z");
    datetime(ms).format(&f).unwrap_or_default()
}

/// The user-formatted display of a date-time, e.g. `16/Feb/21 8:04 PM`.
pub fn display_datetime(ms: Millis) -> String {
    let d = datetime(ms);
    let (h12, ampm) = match d.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{} {}:{:02} {}",
        display_date_parts(d.year(), d.month() as u8, d.day()),
        h12,
        d.minute(),
        ampm
    )
}

/// `16/Feb/21` for a year, month (1-12) and day.
pub fn display_date_parts(year: i32, month: u8, day: u8) -> String {
    const M: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = M[(month.clamp(1, 12) - 1) as usize];
    format!("{:02}/{}/{:02}", day, m, year.rem_euclid(100))
}

/// Parses an ISO-8601 date-time (`2023-02-13T04:06:00.000Z`, offsets allowed, seconds and
/// fraction optional) into epoch milliseconds.
pub fn parse_datetime(s: &str) -> Option<Millis> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(d) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some((d.unix_timestamp_nanos() / 1_000_000) as Millis);
    }
    // Without seconds, or with a `+0000` offset: normalise and retry.
    let t = s.trim();
    let (date_time, offset) = split_offset(t)?;
    let dt = if date_time.len() == 16 {
        format!("{date_time}:00")
    } else {
        date_time.to_string()
    };
    let normal = format!("{dt}{offset}");
    OffsetDateTime::parse(&normal, &Rfc3339)
        .ok()
        .map(|d| (d.unix_timestamp_nanos() / 1_000_000) as Millis)
}

fn split_offset(s: &str) -> Option<(&str, String)> {
    if let Some(p) = s.strip_suffix('Z') {
        return Some((p, "Z".into()));
    }
    let idx = s.rfind(['+', '-']).filter(|&i| i > 10)?;
    let (a, off) = s.split_at(idx);
    let off = if off.len() == 5 {
        format!("{}:{}", &off[..3], &off[3..])
    } else {
        off.to_string()
    };
    Some((a, off))
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<(i32, u8, u8)> {
    let f = format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &f)
        .ok()
        .map(|d| (d.year(), d.month() as u8, d.day()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(iso(1613505881527), "2021-02-16T20:04:41.527Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso_minutes(1613505881527), "2021-02-16T20:04Z");
        assert_eq!(display_datetime(1613505881527), "16/Feb/21 8:04 PM");
        assert_eq!(
            parse_datetime("2021-02-16T20:04:41.527Z"),
            Some(1613505881527)
        );
        assert_eq!(
            parse_datetime("2021-02-16T21:04:41.527+01:00"),
            Some(1613505881527)
        );
        assert_eq!(parse_datetime("2021-02-16T20:04Z"), Some(1613505840000));
        assert_eq!(parse_datetime("2021-02-16"), None);
        assert_eq!(parse_date("2023-02-13"), Some((2023, 2, 13)));
        assert_eq!(parse_date("2023-02-30"), None);
    }
}
