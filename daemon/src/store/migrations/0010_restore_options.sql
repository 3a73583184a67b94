-- 0010_restore_options: the seed's detail fields of a restore, as columns of its row.
-- destination_kind: 'new-schema' | 'existing-schema' | 'another-site' (either destination on a
--   site other than the backup's). specific_types: JSON list of the object types asked for
--   (`--types`, as their paths of names), '[]' for all. duplicates: `--duplicates`.
-- history_restored / icons_restored: whether the restore restored object history and object
--   icons (set by those stages; 0 until then).
-- Rows written before this migration get their kind and duplicates from their stored request
-- (options) and the source site of their plan, else of their backup.
ALTER TABLE restores ADD COLUMN destination_kind TEXT;
ALTER TABLE restores ADD COLUMN specific_types TEXT NOT NULL DEFAULT '[]';
ALTER TABLE restores ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
ALTER TABLE restores ADD COLUMN history_restored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE restores ADD COLUMN icons_restored INTEGER NOT NULL DEFAULT 0;
UPDATE restores SET
    duplicates = COALESCE(json_extract(options, '$.destination.duplicates'), 0) = 1,
    destination_kind = CASE
        WHEN COALESCE(json_extract(plan, '$.source.site'),
                      (SELECT b.site FROM backups b WHERE b.id = restores.backup_id),
                      target_site) <> target_site THEN 'another-site'
        WHEN json_extract(options, '$.destination.type') = 'existing_schema'
            THEN 'existing-schema'
        ELSE 'new-schema'
    END;
