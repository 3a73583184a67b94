-- 0004_jobs: typed jobs. A job's typed outcome and failure are persisted (they used to live in
-- the daemon's memory only), retries are counted, and a queue key lets the claim query run the
-- jobs of one key (e.g. the restores of one target site) one at a time, in id order, so that
-- the queue lives in the store and several daemons could share it.
-- Applied inside one transaction by store/sqlite/migrate.rs, which then sets user_version = 4.
--
-- payload stays TEXT: the job spec as versioned JSON (`{"version": 1, "kind": ..., ...}`);
-- payloads written before this migration have no "version" and are read by the runner's
-- legacy decoder (jobs/spec.rs), so they are not rewritten here.

-- JSON of the job's typed outcome once it is done (`{"version": 1, "kind": ..., ...}`).
ALTER TABLE jobs ADD COLUMN outcome TEXT;
-- JSON of the typed failure of a failed job: kind (temporary / permanent / cancelled), message,
-- and the API's status and body where there was one. `error` keeps the message alone.
ALTER TABLE jobs ADD COLUMN failure TEXT;
-- Runs started so far (the first run and every retry).
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- Jobs with the same key never run at the same time; NULL = no such constraint.
ALTER TABLE jobs ADD COLUMN queue_key TEXT;

-- "Is a job of this key running?" (claim) and "is one queued or running?" (enqueue).
CREATE INDEX jobs_by_queue_key ON jobs (queue_key, status);

-- Keys of the jobs written before: a restore queues behind the restores of its target site;
-- a backup is unique per site and schema while queued or running.
UPDATE jobs SET queue_key = 'restore-site:' || json_extract(payload, '$.site')
 WHERE kind = 'restore' AND json_valid(payload)
   AND json_type(payload, '$.site') = 'text';
UPDATE jobs SET queue_key = 'backup:' || json_extract(payload, '$.site') || '/'
                             || json_extract(payload, '$.schema')
 WHERE kind = 'backup' AND json_valid(payload)
   AND json_type(payload, '$.site') = 'text' AND json_type(payload, '$.schema') = 'text';
