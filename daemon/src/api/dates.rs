//! Date filters of the backup list: `YYYY-MM-DD` (a whole UTC day) or an RFC 3339 time.
//!
//! A bare date in `to` means "through the end of that day", because that is what a person
//! typing `--from 2025-01-01 --to 2025-01-31` means; the store's range is half-open
//! (`started_at < to`), so `to` becomes the start of the next day.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

/// Which end of the range a date is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// `from`: inclusive start.
    From,
    /// `to`: exclusive end.
    To,
}

/// Parses a date filter; `Err` holds the message for a 400.
pub(super) fn parse(name: &str, text: &str, end: End) -> Result<OffsetDateTime, String> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let day = Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
        format!(
            "{name}: {text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time \
             (2025-01-31T12:00:00Z)"
        )
    })?;
    let day = match end {
        End::From => day,
        End::To => day
            .next_day()
            .ok_or_else(|| format!("{name}: {text:?} is out of range"))?,
    };
    Ok(day.with_time(Time::MIDNIGHT).assume_utc())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn dates_and_times_parse_and_a_bare_to_date_includes_its_day() {
        assert_eq!(
            parse("from", "2025-01-31", End::From),
            Ok(datetime!(2025-01-31 00:00 UTC))
        );
        assert_eq!(
            parse("to", "2025-01-31", End::To),
            Ok(datetime!(2025-02-01 00:00 UTC))
        );
        assert_eq!(
            parse("to", "2025-01-31T10:00:00+01:00", End::To),
            Ok(datetime!(2025-01-31 09:00 UTC))
        );
        for bad in [
            "2025-13-01",
            "2025-02-30",
            "yesterday",
            "",
            "2025-1-1",
            "9999-12-31x",
        ] {
            let err = parse("from", bad, End::From).expect_err(bad);
            assert!(err.starts_with("from:"), "{err}");
        }
        assert!(
            parse("to", "9999-12-31", End::To).is_err(),
            "no day after the last"
        );
    }
}
