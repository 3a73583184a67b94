-- 0009_backup_origin: where a backup came from.
-- job_id: the job that made it, so that the job, requeued after a crash, finds its backup and
--   resumes that backup's background phases instead of starting a second backup.
-- parent_id: the complete backup an incremental backup took unchanged objects' captures from
--   (by reference to the same blobs, so the parent can be deleted without damaging it); NULL
--   for a full backup. Not a foreign key: a parent may be deleted, the id stays as history.
ALTER TABLE backups ADD COLUMN job_id INTEGER;
ALTER TABLE backups ADD COLUMN parent_id INTEGER;
CREATE INDEX backups_by_job ON backups (job_id) WHERE job_id IS NOT NULL;
