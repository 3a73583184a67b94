//! The command line's arguments (clap derive): every subcommand and option of `assetark`.
//! Commands and their output live in the sibling modules; this file only says what a user
//! may type.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "assetark",
    version,
    about = "Back up and restore Jira Service Management Assets schemas",
    after_help = "Every command but `serve` and `demo` talks to a running daemon over its control socket."
)]
pub struct Cli {
    /// Daemon config file; the CLI reads only its [control].socket.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Control socket of the daemon, when no --config is given.
    #[arg(long, global = true, value_name = "PATH", env = "ASSETARK_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (needs --config).
    Serve,
    /// Sites ("target instances"): list, test, add, remove.
    #[command(subcommand)]
    Sites(SitesCmd),
    /// Schemas of a site.
    #[command(subcommand)]
    Schemas(SchemasCmd),
    /// Start a backup.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Stored backups.
    #[command(subcommand)]
    Backups(BackupsCmd),
    /// Start a restore.
    #[command(subcommand)]
    Restore(RestoreCmd),
    /// Restore history: list, show, stop, log.
    #[command(subcommand)]
    Restores(RestoresCmd),
    /// Cron schedules of backups, with their retention: list, set, remove, run.
    #[command(subcommand)]
    Schedules(SchedulesCmd),
    /// Post-restore tasks of a restore: start, list, show.
    #[command(subcommand)]
    Tasks(TasksCmd),
    /// Back up a simulated site end to end, with no config and nothing left behind.
    Demo(DemoArgs),
}

/// `sites ...`.
#[derive(Debug, Subcommand)]
pub enum SitesCmd {
    /// List the sites, from the config and added ones (never their tokens).
    List,
    /// Test the connection and credentials of a site.
    Test {
        /// Site name.
        name: String,
    },
    /// Add a site; it is tested first and saved only if the test passes.
    Add(AddSiteArgs),
    /// Remove a site added with `sites add` (config sites are removed in the config file).
    Remove {
        /// Site name.
        name: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Stop the queued and running restores to the site first (they end `stopped`).
        #[arg(long)]
        force: bool,
    },
}

/// `sites add` options.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("token_source").required(true).args(["token_env", "token_file", "token"])))]
pub struct AddSiteArgs {
    /// Site name (letters, digits, '-', '_', '.').
    pub name: String,
    /// `cloud` (default) or `dc` (Jira Service Management Data Center / Server).
    #[arg(long, value_name = "FLAVOR")]
    pub flavor: Option<String>,
    /// Cloud: Assets REST base, e.g. https://api.atlassian.com/jsm/assets/workspace/ID/v1.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Cloud: Jira site, e.g. https://example.atlassian.net.
    #[arg(long, value_name = "URL")]
    pub site_url: Option<String>,
    /// Data Center: the Jira base URL, e.g. https://jira.example.com.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Account e-mail (Cloud: required; Data Center: Basic auth's user, else the token is a
    /// personal access token).
    #[arg(long)]
    pub email: Option<String>,
    /// Environment variable of the daemon that holds the API token.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// File (readable by the daemon) that holds the API token.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// The API token itself, stored encrypted; `-` reads it from stdin (keeps it out of the
    /// process list and shell history).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// `restore ...`.
#[derive(Debug, Subcommand)]
pub enum RestoreCmd {
    /// Restore a backup (runs as a job in the daemon).
    Start(RestoreArgs),
}

/// Restore destinations.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ToArg {
    /// A new schema; its name and key must be unused on the target site.
    NewSchema,
    /// A schema that exists on the target site (`--schema KEY`; see `schemas list --live`).
    ExistingSchema,
}

/// `restore start` options.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore.
    #[arg(value_parser = clap::value_parser!(i64).range(1..))]
    pub backup_id: i64,
    /// Where to restore to.
    #[arg(long, value_enum)]
    pub to: ToArg,
    /// Name of the new schema (--to new-schema).
    #[arg(long, required_if_eq("to", "new-schema"), conflicts_with = "schema")]
    pub name: Option<String>,
    /// Key of the new schema, 2-10 uppercase letters and digits (--to new-schema).
    #[arg(long, required_if_eq("to", "new-schema"), conflicts_with = "schema")]
    pub key: Option<String>,
    /// Key of the existing schema to restore into (--to existing-schema).
    #[arg(long, value_name = "KEY", required_if_eq("to", "existing-schema"))]
    pub schema: Option<String>,
    /// Create objects that are already in the existing schema anyway (by default they are
    /// skipped and logged as duplicates).
    #[arg(long, requires = "schema")]
    pub duplicates: bool,
    /// Target site (default: the backup's own site).
    #[arg(long, value_name = "TARGET_SITE")]
    pub site: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,
    /// Wait for the restore to end, showing stage progress.
    #[arg(long)]
    pub wait: bool,
    /// Also run this configured hook (e.g. one with `enabled = false`); repeatable.
    #[arg(long = "hook", value_name = "NAME")]
    pub hooks: Vec<String>,
    /// Leave this configured hook out of the restore; repeatable.
    #[arg(long = "no-hook", value_name = "NAME")]
    pub no_hooks: Vec<String>,
    /// Restore each object's history into a Textarea attribute OBJECT_HISTORY (times in
    /// Europe/Berlin), set in the same create call; refused while the backup's history phase
    /// is still running.
    #[arg(long)]
    pub history: bool,
    /// On another site: object types take the target's global icon of the same name (object
    /// avatars follow them; no match: the default icon). Refused on the backup's own site.
    #[arg(long)]
    pub with_icons: bool,
    /// Only these object types and their objects (names, paths `Parent/Child` when a name is
    /// ambiguous, or ids; see `backups types`); a type's parents come along.
    #[arg(long, value_name = "NAME[,NAME...]", value_delimiter = ',')]
    pub types: Vec<String>,
}

/// `restores ...`.
#[derive(Debug, Subcommand)]
pub enum RestoresCmd {
    /// Restore history, newest first.
    List {
        /// Only restores to this target site.
        #[arg(long)]
        site: Option<String>,
    },
    /// One restore with its per-stage counts.
    Show {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        id: i64,
    },
    /// Stop a restore: the stage in flight ends cleanly; a pending one never starts.
    Stop {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        id: i64,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Resume a failed or stopped restore from where it stopped (nothing is created twice).
    Resume {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        id: i64,
        /// Wait until it ends, showing progress.
        #[arg(long)]
        wait: bool,
    },
    /// The last events of a restore; --follow streams them live, --full prints the whole log.
    Log {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        id: i64,
        /// Stream events until the restore ends.
        #[arg(long, conflicts_with = "full")]
        follow: bool,
        /// The full per-object log as JSON.
        #[arg(long)]
        full: bool,
    },
}

/// `tasks ...`.
#[derive(Debug, Subcommand)]
pub enum TasksCmd {
    /// Start a post-restore task of a restore (runs as a job in the daemon).
    #[command(subcommand)]
    Start(TaskStartCmd),
    /// The tasks of a restore, oldest first.
    List {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        restore_id: i64,
    },
    /// One task with its per-item report.
    Show {
        /// Task id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        task_id: i64,
    },
}

/// `tasks start ...`: one subcommand per kind.
#[derive(Debug, Subcommand)]
pub enum TaskStartCmd {
    /// Write each restored object type's original id into its description (overwriting it).
    ObjectTypeIds {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        restore_id: i64,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Wait for the task to end, showing its progress.
        #[arg(long)]
        wait: bool,
    },
    /// Create the cross-schema reference attributes between the restored schema and schemas
    /// of the target site, and set their values (old ids mapped through those schemas'
    /// restores).
    References {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        restore_id: i64,
        /// Keys of schemas on the target site, comma separated (on another site: schemas
        /// restored there); they must allow others to select objects from them.
        #[arg(long, value_delimiter = ',', required = true, num_args = 1)]
        from_schema: Vec<String>,
        /// Also set the references the restored schema's objects hold into them.
        #[arg(long)]
        outbound: bool,
        /// Wait for the task to end, showing its progress.
        #[arg(long)]
        wait: bool,
    },
    /// Point the Assets fields of the Jira issues (matched by key on the target) at the
    /// restored objects, keeping their other values.
    Issues {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        restore_id: i64,
        /// Wait for the task to end, showing its progress.
        #[arg(long)]
        wait: bool,
    },
    /// Carry the backup's object comments onto the restored objects (Data Center: comments
    /// with their original author and time; Assets Cloud: the Textarea `OBJECT_COMMENTS`).
    Comments {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        restore_id: i64,
        /// Wait for the task to end, showing its progress.
        #[arg(long)]
        wait: bool,
    },
    /// Upload the backup's object attachments onto the restored objects (Data Center
    /// targets; Assets Cloud offers no attachments API).
    Attachments {
        /// Restore id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        restore_id: i64,
        /// Wait for the task to end, showing its progress.
        #[arg(long)]
        wait: bool,
    },
}

/// `schemas ...`.
#[derive(Debug, Subcommand)]
pub enum SchemasCmd {
    /// Fetch the schema list of a site and store it.
    Sync {
        /// Site name.
        #[arg(long)]
        site: String,
    },
    /// Show the synced schemas of a site with their last backup.
    List {
        /// Site name.
        #[arg(long)]
        site: String,
        /// Read the list from the site now instead (not stored): the schemas a restore
        /// `--to existing-schema` can choose from.
        #[arg(long)]
        live: bool,
    },
}

/// `backup ...`.
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Back up one schema (runs as a job in the daemon).
    Run(RunArgs),
}

/// `backup run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Site name.
    #[arg(long)]
    pub site: String,
    /// Schema key, e.g. ITSM.
    #[arg(long, value_name = "KEY")]
    pub schema: String,
    /// Free text stored with the backup.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Wait for the backup to finish, showing progress.
    #[arg(long)]
    pub wait: bool,
    /// Stream the backup's live events (server-sent events) until it ends.
    #[arg(long, conflicts_with = "wait")]
    pub follow: bool,
    /// Read everything (history of every object), taking nothing over from the previous
    /// backup.
    #[arg(long)]
    pub full: bool,
}

/// Backup types, as the API spells them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TypeArg {
    /// Started by a user.
    Manual,
    /// Started by a schedule.
    Scheduled,
}

/// `backups ...`.
#[derive(Debug, Subcommand)]
pub enum BackupsCmd {
    /// List backups, newest first, 20 a page (without dates: the newest 50).
    List(ListArgs),
    /// Show one backup.
    Show {
        /// Backup id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        id: i64,
    },
    /// Delete a backup and the data only it uses.
    Delete {
        /// Backup id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        id: i64,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// The backup's object types as a tree with object counts (to pick `restore --types`).
    Types {
        /// Backup id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        id: i64,
    },
    /// Re-hash every blob of a backup; exits 1 if any is corrupt.
    Verify {
        /// Backup id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        id: i64,
    },
    /// Apply the schedules' retention: delete the scheduled backups no rule keeps (manual
    /// backups and each schema's newest backup are never pruned).
    Prune {
        /// Only the schedules of this site.
        #[arg(long)]
        site: Option<String>,
        /// Only the schedules of this schema key.
        #[arg(long, value_name = "KEY")]
        schema: Option<String>,
        /// Show what would be kept (and by which rule) and removed; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a backup as plain JSON files into a directory.
    Export {
        /// Backup id.
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        id: i64,
        /// Target directory: new or empty (the CLI writes it; the daemon streams the export).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Replace a non-empty target directory whole.
        #[arg(long)]
        force: bool,
    },
}

/// `backups list` filters.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this site.
    #[arg(long)]
    pub site: Option<String>,
    /// Only this schema key.
    #[arg(long, value_name = "KEY")]
    pub schema: Option<String>,
    /// Only this type.
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub backup_type: Option<TypeArg>,
    /// Started on or after (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Started on or before this day (YYYY-MM-DD), or before this time (RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Page number, from 1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub page: Option<u64>,
}

/// `schedules ...`.
#[derive(Debug, Subcommand)]
pub enum SchedulesCmd {
    /// Every schedule with its next firing, last firing and last result.
    List,
    /// Add or change the schedule of a schema (config-file schedules are changed in the file).
    Set(SetScheduleArgs),
    /// Remove the schedule of a schema (its backups stay).
    Remove {
        /// Site name.
        #[arg(long)]
        site: String,
        /// Schema key.
        #[arg(long, value_name = "KEY")]
        schema: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Fire a schedule now: queue its scheduled backup.
    Run {
        /// Site name.
        #[arg(long)]
        site: String,
        /// Schema key.
        #[arg(long, value_name = "KEY")]
        schema: String,
    },
}

/// `schedules set` options.
#[derive(Debug, Args)]
pub struct SetScheduleArgs {
    /// Site name.
    #[arg(long)]
    pub site: String,
    /// Schema key.
    #[arg(long, value_name = "KEY")]
    pub schema: String,
    /// Cron expression, six fields with seconds: "0 0 2 * * *" is 02:00 every day.
    #[arg(long, value_name = "EXPR")]
    pub cron: String,
    /// IANA time zone of the expression and the retention periods (default UTC).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Store the schedule but do not fire it.
    #[arg(long)]
    pub disabled: bool,
    /// Keep the newest N scheduled backups.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N hours.
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    /// Keep the newest backup of each of the last N days.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N ISO weeks.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Every N-th backup of the schema, scheduled or manual, reads everything (default 7).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub full_every: Option<u32>,
}

/// `demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Objects in the simulated schema.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    pub objects: u32,
    /// Keep the store and the config in DIR (created if missing) and print how to start the
    /// daemon on them.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn documented_command_lines_parse() {
        for line in [
            "assetark --config f serve",
            "assetark serve --config f",
            "assetark --config f sites list",
            "assetark --config f sites test prod",
            "assetark --config f sites add s2 --api-url http://h/a --site-url http://h --email e --token-env V",
            "assetark --config f sites add s2 --api-url http://h/a --site-url http://h --email e --token-file p",
            "assetark --config f sites add s2 --api-url http://h/a --site-url http://h --email e --token t",
            "assetark --config f sites remove s2 --yes",
            "assetark --config f sites remove s2 --yes --force",
            "assetark --config f restore start 1 --to new-schema --name N --key NK --site s2 --dry-run --json",
            "assetark --config f restore start 1 --to new-schema --name N --key NK --wait",
            "assetark --config f restores list --site s --json",
            "assetark --config f restores show 1 --json",
            "assetark --config f restores stop 1 --yes",
            "assetark --config f restores resume 1 --wait --json",
            "assetark --config f restores log 1 --follow",
            "assetark --config f restores log 1 --full",
            "assetark --config f restores log 1",
            "assetark --config f schemas sync --site s",
            "assetark --config f schemas list --site s",
            "assetark --config f schemas list --site s --live",
            "assetark --config f restore start 1 --to existing-schema --schema ITSM --site s2 --dry-run --json",
            "assetark --config f restore start 1 --to existing-schema --schema ITSM --duplicates --wait",
            "assetark --config f backup run --site s --schema K --description d --wait --json",
            "assetark --config f backups list --site s --schema K --type manual --from 2025-01-01 --to 2025-02-01 --page 2 --json",
            "assetark --config f backups show 1",
            "assetark --config f backups delete 1 --yes",
            "assetark --config f backups verify 1",
            "assetark --config f backups export 1 --out d",
            "assetark --config f backups export 1 --out d --force --json",
            "assetark demo",
            "assetark demo --keep /tmp/d --objects 300",
            "assetark --config f schedules list --json",
            "assetark --config f schedules set --site S --schema KEY --cron 0_0_2_*_*_* --tz Europe/Berlin --disabled --keep-last 1 --keep-hourly 2 --keep-daily 3 --keep-weekly 4 --keep-monthly 5 --full-every 7",
            "assetark --config f schedules remove --site S --schema KEY --yes",
            "assetark --config f schedules run --site S --schema KEY",
            "assetark --config f backups prune --site S --schema KEY --dry-run --json",
            "assetark --config f backups prune",
            "assetark --config f backup run --site s --schema K --follow",
            "assetark --config f tasks start object-type-ids 1 --yes --wait --json",
            "assetark --config f tasks start object-type-ids 1",
            "assetark --config f tasks start issues 1 --wait --json",
            "assetark --config f tasks start references 1 --from-schema LOC,HR --outbound --wait --json",
            "assetark --config f tasks start references 1 --from-schema LOC",
            "assetark --config f tasks start comments 1 --wait --json",
            "assetark --config f tasks start attachments 1",
            "assetark --config f tasks list 1 --json",
            "assetark --config f tasks show 1 --json",
        ] {
            // `_` stands for a space inside one argument (a cron expression).
            let args: Vec<String> = line.split(' ').map(|a| a.replace('_', " ")).collect();
            if let Err(e) = Cli::try_parse_from(args) {
                panic!("{line}: {e}");
            }
        }
        for bad in [
            "assetark backups show abc",
            "assetark backups show 0",
            "assetark backups list --page 0",
            "assetark backups list --type weekly",
            "assetark backup run --site s",
            "assetark sites add s2 --api-url u --site-url u --email e",
            "assetark sites add s2 --api-url u --site-url u --email e --token-env V --token t",
            "assetark restore start 1 --to existing --name N --key K",
            "assetark restore start 1 --to new-schema --name N --key K --dry-run --wait",
            "assetark restores log 1 --follow --full",
            "assetark backup run --site s --schema K --wait --follow",
            "assetark schedules set --site s --schema K",
            "assetark schedules set --site s --schema K --cron x --full-every 0",
            "assetark schedules remove --site s",
            "assetark tasks start object-type-ids",
            "assetark tasks start comments",
            "assetark tasks start attachments 0",
            "assetark tasks start history 1",
            "assetark tasks start issues 1 --yes",
            "assetark tasks start references 1",
            "assetark tasks start references 1 --outbound",
            "assetark tasks show 0",
        ] {
            let err = Cli::try_parse_from(bad.split(' ')).expect_err(bad);
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }
}
