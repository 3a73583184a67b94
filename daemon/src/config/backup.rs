//! `[backup]`: how backups are taken when no schedule says otherwise. `full_every` is read as
//! any TOML value and checked here, so a wrong type or a value out of range is a problem named
//! `backup.full_every` with the others, not a bare parse error.

use serde::Deserialize;

use super::Problems;
use crate::backup::DEFAULT_FULL_EVERY;

/// `[backup]` as written.
#[derive(Default, Deserialize)]
pub(super) struct RawBackup {
    full_every: Option<toml::Value>,
}

/// `[backup]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupConfig {
    /// Every N-th backup of a site and schema is full, for a manual backup of a schema that
    /// no schedule covers (a covered one follows its schedule's `full_every`). Default
    /// [`DEFAULT_FULL_EVERY`].
    pub full_every: u32,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            full_every: DEFAULT_FULL_EVERY,
        }
    }
}

/// Checks `[backup]`, recording a problem per bad key (and keeping the default for it).
pub(super) fn backup_config(p: &mut Problems, raw: &RawBackup) -> BackupConfig {
    let mut cfg = BackupConfig::default();
    match &raw.full_every {
        None => {}
        Some(toml::Value::Integer(n)) => match u32::try_from(*n) {
            Ok(n) if n >= 1 => cfg.full_every = n,
            _ => p.add(
                "backup.full_every",
                format!("{n} is not a whole number from 1 to {}", u32::MAX),
            ),
        },
        Some(other) => p.add(
            "backup.full_every",
            format!(
                "a {} is not a whole number from 1 to {}",
                other.type_str(),
                u32::MAX
            ),
        ),
    }
    cfg
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Config, ConfigError, Sources};
    use super::BackupConfig;

    const BASE: &str = "[store]\npath = \"s.db\"\n[control]\nsocket = \"s.sock\"\n";

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        let sources = Sources {
            env: &|_| None,
            read: &|_| Err(std::io::Error::other("no files")),
        };
        Config::parse(
            &format!("{BASE}{extra}"),
            Path::new("/etc/a.toml"),
            &sources,
        )
    }

    #[test]
    fn full_every_defaults_to_seven_and_takes_a_value() {
        let cfg = parse("").expect("valid");
        assert_eq!(cfg.backup, BackupConfig { full_every: 7 });
        let cfg = parse("[backup]\nfull_every = 2\n").expect("valid");
        assert_eq!(cfg.backup, BackupConfig { full_every: 2 });
    }

    #[test]
    fn bad_full_every_values_are_problems_naming_the_key() {
        for (value, message) in [
            ("0", "0 is not a whole number from 1 to 4294967295"),
            ("-3", "-3 is not a whole number from 1 to 4294967295"),
            (
                "4294967296",
                "4294967296 is not a whole number from 1 to 4294967295",
            ),
            (
                "\"7\"",
                "a string is not a whole number from 1 to 4294967295",
            ),
            ("2.5", "a float is not a whole number from 1 to 4294967295"),
        ] {
            let text = format!("[backup]\nfull_every = {value}\nfull_evry = 1\n");
            let Err(ConfigError::Invalid { problems, .. }) = parse(&text) else {
                panic!("{value}: expected problems");
            };
            let got: Vec<(&str, &str)> = problems
                .iter()
                .map(|p| (p.key.as_str(), p.message.as_str()))
                .collect();
            assert_eq!(
                got,
                [
                    (
                        "backup.full_evry",
                        "unknown key (misspelt, or not in this version)"
                    ),
                    ("backup.full_every", message),
                ],
                "{value}"
            );
        }
    }
}
