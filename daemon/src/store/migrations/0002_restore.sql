-- 0002_restore: restores, their old -> new id maps and their full per-object logs.
-- Applied inside one transaction by store/sqlite/migrate.rs, which then sets user_version = 2.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC), as in 0001.

-- A restore outlives its backup (the log and the id map still matter after the backup is
-- pruned), so backup_id has no foreign key. AUTOINCREMENT: a restore id is never reused.
CREATE TABLE restores (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    backup_id      INTEGER NOT NULL,
    target_site    TEXT    NOT NULL,
    status         TEXT    NOT NULL
        CHECK (status IN ('pending', 'in_progress', 'completed', 'error', 'stopped')),
    -- The stage in flight (its snake_case key) while in_progress; the last one afterwards.
    stage          TEXT,
    -- JSON: the request (destination ...) and the plan the restore executes, so a restart
    -- resumes with exactly the decisions the user saw.
    options        TEXT    NOT NULL,
    plan           TEXT    NOT NULL,
    -- JSON: {stage key: {"done", "total", "finished"}}; a stage present here has started.
    counts         TEXT    NOT NULL DEFAULT '{}',
    result         TEXT,
    new_schema_id  TEXT,
    new_schema_key TEXT,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    ended_at       INTEGER
);

-- "Restores that target the same site queue behind each other": the runner asks per site.
CREATE INDEX restores_by_site_status ON restores (target_site, status, id);

-- old -> new ids, written as entities are created; the key makes a replayed write harmless.
CREATE TABLE restore_ids (
    restore_id INTEGER NOT NULL REFERENCES restores (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    old_id     TEXT    NOT NULL,
    new_id     TEXT    NOT NULL,
    PRIMARY KEY (restore_id, kind, old_id)
) WITHOUT ROWID;

-- The full log, in order. level is NULL for a per-object result and 'info' / 'warn' /
-- 'error' for notes (a user left empty, an icon fallback ...). message is JSON.
CREATE TABLE restore_log (
    restore_id INTEGER NOT NULL REFERENCES restores (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    level      TEXT    CHECK (level IS NULL OR level IN ('info', 'warn', 'error')),
    object_key TEXT    NOT NULL,
    result     INTEGER NOT NULL,
    message    TEXT    NOT NULL,
    PRIMARY KEY (restore_id, seq)
) WITHOUT ROWID;
