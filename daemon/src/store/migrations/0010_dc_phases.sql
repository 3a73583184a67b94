-- 0010_dc_phases: two more background phases of a backup, with their own status like history
-- and issues: object comments and object attachments (issue 13; offered by Data Center sites,
-- not by Assets Cloud). Backups made before this migration came from Cloud sites, whose API
-- offers neither: they are marked so, as those backups said in their `phase` entries.
-- Applied inside one transaction by store/sqlite/migrate.rs, which then sets user_version = 10.
ALTER TABLE backups ADD COLUMN comments_status TEXT NOT NULL DEFAULT 'pending'
    CHECK (comments_status IN ('pending', 'running', 'done', 'failed', 'not_offered'));
ALTER TABLE backups ADD COLUMN comments_note TEXT;
ALTER TABLE backups ADD COLUMN attachments_status TEXT NOT NULL DEFAULT 'pending'
    CHECK (attachments_status IN ('pending', 'running', 'done', 'failed', 'not_offered'));
ALTER TABLE backups ADD COLUMN attachments_note TEXT;
UPDATE backups
   SET comments_status = 'not_offered',
       comments_note = 'not offered by this source (Assets Cloud)',
       attachments_status = 'not_offered',
       attachments_note = 'not offered by this source (Assets Cloud)';
