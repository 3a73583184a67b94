-- 0007_tasks: post-restore tasks (cross-schema references, original object type ids, objects in
-- Jira issues) and their per-item results. A task belongs to a restore and runs as a job (the
-- job's spec names the task); the row is the task's record: kind, options, status, start, end,
-- result message and the kind's summary, so that it survives a restart and shows with its
-- restore. Applied inside one transaction by store/sqlite/migrate.rs (user_version = 7).
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC), as in 0001.

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    restore_id  INTEGER NOT NULL REFERENCES restores (id),
    -- "references", "object-type-ids", "issues" (free text: a new kind needs no migration).
    kind        TEXT    NOT NULL,
    -- The request as JSON (`{"kind": ..., <the kind's options>}`).
    options     TEXT    NOT NULL,
    status      TEXT    NOT NULL
                CHECK (status IN ('pending', 'in_progress', 'success', 'error')),
    -- The job running it (NULL until enqueued).
    job_id      INTEGER,
    -- Result message.
    result      TEXT,
    -- The kind's own summary as JSON (referenced schemas, per-field results, counts).
    summary     TEXT    NOT NULL DEFAULT 'null',
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    ended_at    INTEGER
);

CREATE INDEX tasks_by_restore ON tasks (restore_id, id);

-- One line of a task's per-item report, keyed by the item (an object type, an issue field, an
-- object, an attribute), so a resumed task overwrites what it redoes instead of adding a line.
CREATE TABLE task_items (
    task_id  INTEGER NOT NULL REFERENCES tasks (id),
    item     TEXT    NOT NULL,
    -- Order of first report.
    seq      INTEGER NOT NULL,
    outcome  TEXT    NOT NULL
             CHECK (outcome IN ('updated', 'unchanged', 'skipped', 'failed')),
    message  TEXT    NOT NULL,
    PRIMARY KEY (task_id, item)
) WITHOUT ROWID;

CREATE INDEX task_items_by_seq ON task_items (task_id, seq);
