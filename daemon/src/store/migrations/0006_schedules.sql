-- 0006_schedules: cron schedules added through the control API, and the firing state of every
-- schedule (from the config file or the API), so that schedules and their next, last and
-- missed firings survive a restart. Schedules of the config file are never stored in
-- `schedules`; their state is, keyed like the API's by site and schema.
-- Applied inside one transaction by store/sqlite/migrate.rs, which then sets user_version = 6.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC), as in 0001.

CREATE TABLE schedules (
    site         TEXT    NOT NULL,
    schema_key   TEXT    NOT NULL,
    -- Six fields with seconds, as tokio-cron-scheduler reads them: "0 0 2 * * *".
    cron         TEXT    NOT NULL,
    -- IANA time zone name the cron expression and the retention periods are read in.
    tz           TEXT    NOT NULL,
    enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- Retention (0 = the rule is off; all 0 = keep everything).
    keep_last    INTEGER NOT NULL DEFAULT 0 CHECK (keep_last >= 0),
    keep_hourly  INTEGER NOT NULL DEFAULT 0 CHECK (keep_hourly >= 0),
    keep_daily   INTEGER NOT NULL DEFAULT 0 CHECK (keep_daily >= 0),
    keep_weekly  INTEGER NOT NULL DEFAULT 0 CHECK (keep_weekly >= 0),
    keep_monthly INTEGER NOT NULL DEFAULT 0 CHECK (keep_monthly >= 0),
    -- Every N-th scheduled backup reads everything (incremental capture, issue 14).
    full_every   INTEGER NOT NULL DEFAULT 7 CHECK (full_every >= 1),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (site, schema_key)
) WITHOUT ROWID;

CREATE TABLE schedule_state (
    site          TEXT    NOT NULL,
    schema_key    TEXT    NOT NULL,
    -- "cron|tz|enabled" that next_fire_at was computed from: when the schedule changes, the
    -- next firing is computed afresh instead of counting as missed.
    timing        TEXT    NOT NULL,
    -- The firing the scheduler waits for; NULL while disabled. Found in the past at start-up,
    -- it is a missed run: fired once.
    next_fire_at  INTEGER,
    last_fired_at INTEGER,
    -- Why the last firing happened and what it did.
    last_reason   TEXT CHECK (last_reason IN ('cron', 'missed', 'manual')),
    last_outcome  TEXT CHECK (last_outcome IN ('enqueued', 'skipped', 'error')),
    -- The job the last firing queued, or the queued or running one it was skipped for.
    last_job_id   INTEGER,
    last_note     TEXT,
    fired         INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, schema_key)
) WITHOUT ROWID;
