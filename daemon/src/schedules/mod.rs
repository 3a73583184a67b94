//! Schedules: cron-driven backups of a site's schema and the retention policy that prunes
//! what they leave behind.
//!
//! - [`retention`]: which backups a policy keeps (pure; restic `forget` semantics).

pub mod retention;
