//! `[[schedules]]`: cron backups of a site's schema, with their retention. Read like the rest
//! of the file: serde first ([`RawSchedule`], unknown keys are reported with the other problems), then every value is
//! checked (`crate::schedules::ScheduleInput`) and every problem reported at once: a bad cron
//! expression or time zone, an unknown site, a second schedule for one schema.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::Problems;
use crate::schedules::{Origin, Policy, Schedule, ScheduleInput};

/// One `[[schedules]]` table as written.
#[derive(Debug, Deserialize)]
pub(super) struct RawSchedule {
    site: String,
    schema: String,
    cron: String,
    tz: Option<String>,
    enabled: Option<bool>,
    #[serde(default)]
    keep_last: u32,
    #[serde(default)]
    keep_hourly: u32,
    #[serde(default)]
    keep_daily: u32,
    #[serde(default)]
    keep_weekly: u32,
    #[serde(default)]
    keep_monthly: u32,
    full_every: Option<u32>,
}

/// Checks every schedule against the site names of the file.
pub(super) fn schedules(
    p: &mut Problems,
    raw: Vec<RawSchedule>,
    site_names: &BTreeSet<String>,
) -> Vec<Schedule> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let key = format!("schedules[{i}]");
        let mut ok = true;
        if !site_names.contains(&r.site) {
            p.add(
                format!("{key}.site"),
                format!("no site named {:?} is configured in [[sites]]", r.site),
            );
            ok = false;
        }
        if !seen.insert((r.site.clone(), r.schema.clone())) {
            p.add(
                format!("{key}.schema"),
                format!(
                    "a second schedule for schema {:?} of site {:?}; one schema has one schedule",
                    r.schema, r.site
                ),
            );
            ok = false;
        }
        let input = ScheduleInput {
            site: r.site,
            schema: r.schema,
            cron: r.cron,
            tz: r.tz,
            enabled: r.enabled,
            policy: Policy {
                keep_last: r.keep_last,
                keep_hourly: r.keep_hourly,
                keep_daily: r.keep_daily,
                keep_weekly: r.keep_weekly,
                keep_monthly: r.keep_monthly,
            },
            full_every: r.full_every,
        };
        match input.check(Origin::Config) {
            Ok(s) if ok => out.push(s),
            Ok(_) => {}
            Err(fields) => {
                for (field, message) in fields {
                    // Sites are checked above, with the file's own wording.
                    if field != "site" || ok {
                        p.add(format!("{key}.{field}"), message);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Config, ConfigError, Sources};

    const SITES: &str = "[store]\npath = \"s.db\"\n[control]\nsocket = \"s.sock\"\n\
        [[sites]]\nname = \"prod\"\napi_url = \"https://h/a\"\nsite_url = \"https://h\"\n\
        email = \"e@x\"\ntoken = \"t\"\n";

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let sources = Sources {
            env: &|_| None,
            read: &|_| Ok(String::new()),
        };
        Config::parse(text, Path::new("/etc/assetark/assetark.toml"), &sources)
    }

    #[test]
    fn schedules_parse_with_defaults() {
        let cfg = parse(&format!(
            "{SITES}[[schedules]]\nsite = \"prod\"\nschema = \"ITSM\"\ncron = \"0 0 2 * * *\"\n\
             tz = \"Europe/Berlin\"\nkeep_daily = 7\nkeep_monthly = 12\n\
             [[schedules]]\nsite = \"prod\"\nschema = \"HR\"\ncron = \"*/10 * * * * *\"\n\
             enabled = false\nfull_every = 3\n"
        ))
        .expect("valid");
        assert_eq!(cfg.schedules.len(), 2);
        let itsm = &cfg.schedules[0];
        assert_eq!(itsm.timing.tz().name(), "Europe/Berlin");
        assert_eq!((itsm.policy.keep_daily, itsm.policy.keep_monthly), (7, 12));
        assert!(itsm.enabled);
        assert_eq!(itsm.full_every, 7);
        let hr = &cfg.schedules[1];
        assert_eq!((hr.enabled, hr.full_every), (false, 3));
        assert_eq!(hr.timing.tz().name(), "UTC");
    }

    #[test]
    fn every_problem_of_every_schedule_is_reported_at_once() {
        let text = format!(
            "{SITES}[[schedules]]\nsite = \"nope\"\nschema = \"ITSM\"\ncron = \"0 2 * * *\"\n\
             tz = \"Moon/Base\"\n\
             [[schedules]]\nsite = \"prod\"\nschema = \"ITSM\"\ncron = \"0 0 2 * * *\"\n\
             [[schedules]]\nsite = \"prod\"\nschema = \"ITSM\"\ncron = \"0 0 3 * * *\"\nfull_every = 0\n"
        );
        let Err(ConfigError::Invalid { problems, .. }) = parse(&text) else {
            panic!("expected problems");
        };
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "schedules[0].site",
                "schedules[0].cron",
                "schedules[0].tz",
                "schedules[2].schema",
                "schedules[2].full_every",
            ],
            "{problems:?}"
        );
        let Err(ConfigError::Invalid { problems, .. }) = parse(&format!(
            "{SITES}[[schedules]]\nsite = \"prod\"\nschema = \"A\"\ncron = \"0 0 2 * * *\"\nkeep = 1\n"
        )) else {
            panic!("an unknown key is a problem");
        };
        assert_eq!(problems[0].key, "schedules[0].keep", "{problems:?}");
    }
}
