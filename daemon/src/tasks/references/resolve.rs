//! The schemas named by `--from-schema`, found on the target site: each is either the
//! destination of an earlier completed restore to that site (its ids map through that
//! restore's id map), or, on the backup's own site only, a schema that was never restored (the
//! original, whose ids are the backup's own), or, on another site, a schema this store has no
//! restore record of (put there by another store or tool): its objects are matched by their
//! `ORIGINAL_ID` (`resolved_by_original_id`; see `original`: its own references into the
//! restored schema only when this store holds a backup of it). It must allow others to select
//! objects from it.
//! What cannot be used says why: not on the target (restore it there first, then run the task
//! again), restored from another site, or not allowing others to select its objects.
//!
//! Requests: one `list_schemas` of the target, one `get_schema_config` per schema found.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::super::{Ctx, Error};
use super::original;
use crate::model::ObjectSchema;
use crate::store::{Backup, BackupId, PageRequest, RestoreId, RestoreStatus};

/// How a named schema stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SchemaState {
    /// Found and usable: its references were set (see the counts).
    Resolved,
    /// On another site without a restore record in this store: its objects were matched by
    /// their `ORIGINAL_ID`.
    ResolvedByOriginalId,
    /// Not on the target site: restore it there, then run the task again.
    Missing,
    /// On the target but it cannot take part (see the message).
    Refused,
}

impl SchemaState {
    /// The spelling of JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaState::Resolved => "resolved",
            SchemaState::ResolvedByOriginalId => "resolved_by_original_id",
            SchemaState::Missing => "missing",
            SchemaState::Refused => "refused",
        }
    }

    /// Whether the schema takes part (either way of resolving).
    pub fn is_resolved(self) -> bool {
        matches!(
            self,
            SchemaState::Resolved | SchemaState::ResolvedByOriginalId
        )
    }
}

/// One schema named by `--from-schema`, as the task found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReferencedSchema {
    /// Its key on the target, as named.
    pub key: String,
    /// How it stands.
    pub state: SchemaState,
    /// Its id on the target (when it is there).
    pub schema_id: Option<String>,
    /// The restore that created it there (`None`: the original schema on the backup's own
    /// site, whose ids are those of the backup).
    pub restore_id: Option<RestoreId>,
    /// What the task found (why it is missing or refused).
    pub message: String,
    /// Cross-schema reference attributes between it and the restored schema.
    pub attributes: u64,
    /// Its objects on the target that carry an `ORIGINAL_ID` (one AQL scan), when it was
    /// resolved by `ORIGINAL_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_by_original_id: Option<u64>,
    /// The backup in this store whose references of that schema's objects were used, when it
    /// was resolved by `ORIGINAL_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_id_backup: Option<BackupId>,
}

/// How a resolved schema's old ids become ids on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mapping {
    /// Through the id map of this restore of this backup.
    Restore {
        /// The restore.
        restore: RestoreId,
        /// Its backup (boxed: a backup row is large next to the other variant).
        backup: Box<Backup>,
    },
    /// The schema itself, on the backup's own site: ids are kept.
    Original,
    /// A schema on another site this store did not restore: its objects' `ORIGINAL_ID`s name
    /// the backup's ids.
    OriginalId {
        /// `ORIGINAL_ID` -> its object's id on the target.
        ids: HashMap<String, String>,
        /// This store's backup of it, when there is one (boxed as above).
        backup: Option<Box<Backup>>,
    },
}

/// A schema that takes part.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    /// Index into the summary's `referenced_schemas`.
    pub index: usize,
    /// Its key.
    pub key: String,
    /// Its id on the target.
    pub schema_id: String,
    /// How ids map.
    pub mapping: Mapping,
}

/// A restore of the target site that created a schema there.
struct Candidate {
    restore: RestoreId,
    schema_id: String,
    key: String,
    backup: Backup,
}

/// Looks up every key of `keys` on the target. Returns the report rows (one per key, in the
/// order named) and the schemas that take part.
pub(super) async fn resolve(
    ctx: &Ctx<'_>,
    own: &Backup,
    keys: &[String],
    outbound: bool,
) -> Result<(Vec<ReferencedSchema>, Vec<Resolved>), Error> {
    let site = &ctx.restore.target_site;
    let same_site = *site == own.site;
    let schemas = ctx.target.list_schemas().await?;
    let candidates = candidates(ctx).await?;
    let listing = || {
        let l: Vec<String> = candidates
            .iter()
            .filter(|c| c.restore != ctx.restore.id)
            .map(|c| format!("{} (restore {})", c.key, c.restore))
            .collect();
        if l.is_empty() {
            "none".to_owned()
        } else {
            l.join(", ")
        }
    };
    let own_schema = ctx.new_schema_id()?;
    let mut rows = Vec::new();
    let mut resolved = Vec::new();
    for key in keys {
        let mut row = ReferencedSchema {
            key: key.clone(),
            state: SchemaState::Refused,
            schema_id: None,
            restore_id: None,
            message: String::new(),
            attributes: 0,
            objects_by_original_id: None,
            original_id_backup: None,
        };
        let found: Option<&ObjectSchema> = schemas
            .iter()
            .find(|s| s.object_schema_key.as_deref() == Some(key.as_str()));
        let Some(schema) = found.and_then(|s| Some((s, s.id.non_empty()?))) else {
            row.state = SchemaState::Missing;
            row.message = format!(
                "schema {key} is not on site {site} yet: restore it there, then run this task \
                 again (schemas restored on {site}: {})",
                listing()
            );
            rows.push(row);
            continue;
        };
        let (_, schema_id) = schema;
        row.schema_id = Some(schema_id.to_owned());
        let candidate = candidates.iter().find(|c| c.schema_id == schema_id);
        let mapping = if schema_id == own_schema {
            row.message = format!("schema {key} is the schema this restore created");
            None
        } else if let Some(c) = candidate {
            row.restore_id = Some(c.restore);
            if c.backup.site == own.site {
                Some(Mapping::Restore {
                    restore: c.restore,
                    backup: Box::new(c.backup.clone()),
                })
            } else {
                row.message = format!(
                    "schema {key} was restored (restore {}) from a backup of site {}, this \
                     restore's backup is of site {}: their ids cannot be matched",
                    c.restore, c.backup.site, own.site
                );
                None
            }
        } else if same_site {
            Some(Mapping::Original)
        } else {
            Some(Mapping::OriginalId {
                ids: HashMap::new(),
                backup: None,
            })
        };
        let Some(mut mapping) = mapping else {
            rows.push(row);
            continue;
        };
        let allows = ctx
            .target
            .get_schema_config(schema_id)
            .await?
            .and_then(|c| c.allow_other_object_schema.get().copied())
            .unwrap_or(false);
        if !allows {
            row.message = format!(
                "schema {key} does not allow others to select objects from it (its \
                 configuration on site {site})"
            );
            rows.push(row);
            continue;
        }
        row.state = SchemaState::Resolved;
        if let Mapping::OriginalId { ids, backup } = &mut mapping {
            let scan = original::scan(ctx, schema_id).await?;
            *backup = original::backup(ctx, own, &scan).await?.map(Box::new);
            *ids = scan.ids;
            row.state = SchemaState::ResolvedByOriginalId;
            row.objects_by_original_id = Some(ids.len() as u64);
            row.original_id_backup = backup.as_ref().map(|b| b.id);
        }
        row.message = match &mapping {
            Mapping::Restore { restore, backup } => format!(
                "schema {key} ({schema_id}) restored by restore {restore} from backup {} of {} \
                 on site {}",
                backup.id, backup.schema_key, backup.site
            ),
            Mapping::Original => format!(
                "schema {key} ({schema_id}), never restored: the backup's own site keeps its ids"
            ),
            Mapping::OriginalId { ids, backup } => format!(
                "schema {key} ({schema_id}) on site {site} has no restore record in this store \
                 (schemas restored on {site}: {}): its {} objects with an ORIGINAL_ID are \
                 matched by it; {}",
                listing(),
                ids.len(),
                match backup {
                    Some(b) => format!(
                        "what its objects reference comes from backup {} of {} on site {}",
                        b.id, b.schema_key, b.site
                    ),
                    None => format!(
                        "this store holds no backup of its source schema from site {}, so its \
                         own references into the restored schema are not known{}",
                        own.site,
                        if outbound {
                            ""
                        } else {
                            " (--outbound sets the restored schema's references into it)"
                        }
                    ),
                }
            ),
        };
        resolved.push(Resolved {
            index: rows.len(),
            key: key.clone(),
            schema_id: schema_id.to_owned(),
            mapping,
        });
        rows.push(row);
    }
    Ok((rows, resolved))
}

/// The completed restores to the target site that created (or filled) a schema there, newest
/// first, with their backups (a backup deleted since is left out: its ids are gone).
async fn candidates(ctx: &Ctx<'_>) -> Result<Vec<Candidate>, Error> {
    // Restores per site are few; one generous page covers them.
    let page = PageRequest {
        limit: 10_000,
        offset: 0,
    };
    let mut out: Vec<Candidate> = Vec::new();
    for r in ctx
        .store
        .list_restores(Some(&ctx.restore.target_site), page)
        .await?
    {
        let (Some(schema_id), RestoreStatus::Completed) = (r.new_schema_id.clone(), r.status)
        else {
            continue;
        };
        if out.iter().any(|c| c.schema_id == schema_id) {
            continue;
        }
        let Ok(backup) = ctx.store.get_backup(r.backup_id).await else {
            continue;
        };
        out.push(Candidate {
            restore: r.id,
            key: r
                .new_schema_key
                .clone()
                .unwrap_or_else(|| schema_id.clone()),
            schema_id,
            backup,
        });
    }
    Ok(out)
}
