-- 0001_init: backups, content-addressed blobs, manifests, synced schemas, jobs.
-- Applied inside one transaction by store/sqlite/migrate.rs, which then sets user_version = 1.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC): they compare and range-filter
-- correctly, unlike RFC 3339 text with varying fractional digits.

-- AUTOINCREMENT so an id is never handed out twice: an API client holding the id of a deleted
-- backup must get "not found", not somebody else's backup.
CREATE TABLE backups (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    site           TEXT    NOT NULL,
    schema_key     TEXT    NOT NULL,
    schema_id      TEXT    NOT NULL,
    backup_type    TEXT    NOT NULL CHECK (backup_type IN ('manual', 'scheduled')),
    description    TEXT    NOT NULL DEFAULT '',
    storage        TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
    history_status TEXT    NOT NULL DEFAULT 'pending'
        CHECK (history_status IN ('pending', 'running', 'done', 'failed', 'not_offered')),
    history_note   TEXT,
    issues_status  TEXT    NOT NULL DEFAULT 'pending'
        CHECK (issues_status IN ('pending', 'running', 'done', 'failed', 'not_offered')),
    issues_note    TEXT,
    object_count   INTEGER NOT NULL DEFAULT 0,
    started_at     INTEGER NOT NULL,
    ended_at       INTEGER,
    bytes_added    INTEGER NOT NULL DEFAULT 0
);

-- Serves the list page: visible backups, newest first, date-range filter.
CREATE INDEX backups_by_status_started ON backups (status, started_at);

-- A rowid table (not WITHOUT ROWID): rows hold compressed blobs that may be KiBs, and SQLite
-- advises rowid tables when rows are large. The hash PRIMARY KEY gives the lookup index.
CREATE TABLE blobs (
    hash    TEXT    PRIMARY KEY NOT NULL CHECK (length(hash) = 64),
    data    BLOB    NOT NULL,
    raw_len INTEGER NOT NULL
);

-- Clustered by (backup, kind, id order): reading one kind of one backup in id order is a
-- range scan of the table itself. id_len = length(original_id) leads the order so numeric ids
-- sort numerically ("9" < "10"); it is a function of original_id, so uniqueness is unchanged.
-- The blob foreign key is deferred so a delete can drop blobs before their manifest rows in
-- the same transaction.
CREATE TABLE manifest (
    backup_id   INTEGER NOT NULL REFERENCES backups (id),
    kind        TEXT    NOT NULL,
    id_len      INTEGER NOT NULL CHECK (id_len = length(original_id)),
    original_id TEXT    NOT NULL,
    hash        TEXT    NOT NULL REFERENCES blobs (hash) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (backup_id, kind, id_len, original_id)
) WITHOUT ROWID;

-- "Is this blob used by any (other) backup?" for delete and garbage collection.
CREATE INDEX manifest_by_hash ON manifest (hash, backup_id);
-- Distinct blobs of one backup, in hash order, for verify and delete.
CREATE INDEX manifest_by_backup_hash ON manifest (backup_id, hash);

CREATE TABLE synced_schemas (
    site         TEXT    NOT NULL,
    schema_id    TEXT    NOT NULL,
    schema_key   TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    object_count INTEGER NOT NULL,
    synced_at    INTEGER NOT NULL,
    PRIMARY KEY (site, schema_id)
) WITHOUT ROWID;

CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    error      TEXT
);

-- The runner's "oldest queued job" and the status filter of the job list.
CREATE INDEX jobs_by_status ON jobs (status, id);
