//! What the `comments` and `attachments` tasks share: their summary, the check that the backup
//! holds the phase they carry, and the backup's per-object entries of that phase joined with
//! the restore's id map (which object each went to on the target).

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Ctx, Error};
use crate::restore::id_kinds;
use crate::store::{Phase, PhaseStatus, kind};

/// What a `comments` or `attachments` task found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExtrasSummary {
    /// Where they went on the target: `comments`, `attribute OBJECT_COMMENTS`, `attachments`,
    /// or `not offered` (the target's API has no such resource; nothing was written).
    pub into: String,
    /// Objects of the backup holding at least one comment (attachment).
    pub objects: u64,
    /// Comments (attachments) in the backup.
    pub entries: u64,
    /// Comments (attachments) written to the target by this run.
    pub written: u64,
    /// Objects whose comments (attachments) this run wrote.
    pub updated: u64,
    /// Objects that held them already (an earlier run).
    pub unchanged: u64,
    /// Objects left alone (not restored; not offered by the target).
    pub skipped: u64,
    /// Objects the target refused.
    pub failed: u64,
}

impl ExtrasSummary {
    /// Counts one object's outcome.
    pub(super) fn count(&mut self, outcome: crate::store::ItemOutcome) {
        use crate::store::ItemOutcome as O;
        match outcome {
            O::Updated => self.updated += 1,
            O::Unchanged => self.unchanged += 1,
            O::Skipped => self.skipped += 1,
            O::Failed => self.failed += 1,
        }
    }

    /// `N objects updated, ...` for the result message.
    pub(super) fn counts(&self) -> String {
        format!(
            "{} objects updated, {} unchanged, {} skipped, {} failed",
            self.updated, self.unchanged, self.skipped, self.failed
        )
    }
}

/// One object of the backup with its phase entry, and where it went.
pub(super) struct Carried<T> {
    /// The object's identity in the backup (its manifest id).
    pub identity: String,
    /// Its key at the source, for the report.
    pub key: String,
    /// The phase's entry of the object.
    pub entry: T,
    /// Its id on the target (`None`: not restored).
    pub new_id: Option<String>,
}

impl<T> Carried<T> {
    /// The report's name of the object.
    pub fn item(&self) -> String {
        if self.key.is_empty() {
            format!("object {}", self.identity)
        } else {
            format!("object {} ({})", self.key, self.identity)
        }
    }
}

/// A backup object's key.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Keyed {
    #[serde(default)]
    object_key: Option<String>,
}

/// Why the backup holds nothing of `phase` (`Some(message)`: a source that does not offer it,
/// which is no failure), or `None` when the phase is done.
///
/// # Errors
///
/// [`Error::Invalid`] when the phase is not done (pending, running, failed).
pub(super) async fn phase_ready(ctx: &Ctx<'_>, phase: Phase) -> Result<Option<String>, Error> {
    let backup = ctx.store.get_backup(ctx.backup()).await?;
    let state = backup.phase(phase);
    let note = state
        .note
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    match state.status {
        PhaseStatus::Done => Ok(None),
        PhaseStatus::NotOffered => Ok(Some(format!(
            "backup {} holds no {phase}: its source site {} does not offer them{note}",
            backup.id, backup.site
        ))),
        other => Err(Error::Invalid(format!(
            "backup {} holds no {phase}: its {phase} phase is {other}{note}",
            backup.id
        ))),
    }
}

/// Every entry of `entry_kind` of the backup that `keep` accepts (objects holding something),
/// with its object's key and new id.
///
/// # Errors
///
/// The store's, [`Error::Json`] for entries that cannot be read.
pub(super) async fn carried<T: DeserializeOwned>(
    ctx: &Ctx<'_>,
    entry_kind: &str,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<Carried<T>>, Error> {
    let backup = ctx.backup();
    let mut entries: Vec<(String, T)> = Vec::new();
    ctx.for_each_entry(backup, entry_kind, |identity, e: T| {
        if keep(&e) {
            entries.push((identity, e));
        }
        Ok(())
    })
    .await?;
    let wanted: std::collections::HashSet<&str> = entries.iter().map(|(i, _)| i.as_str()).collect();
    let mut keys: HashMap<String, String> = HashMap::new();
    ctx.for_each_entry(backup, kind::OBJECT, |identity, o: Keyed| {
        if wanted.contains(identity.as_str()) {
            keys.insert(identity, o.object_key.unwrap_or_default());
        }
        Ok(())
    })
    .await?;
    let ids = ctx.id_map(ctx.restore.id, id_kinds::OBJECT).await?;
    Ok(entries
        .into_iter()
        .map(|(identity, entry)| Carried {
            key: keys.get(&identity).cloned().unwrap_or_default(),
            new_id: ids.get(&identity).filter(|n| !n.is_empty()).cloned(),
            identity,
            entry,
        })
        .collect())
}

/// The report line of a permanent refusal: the error and the API's answer.
pub(super) fn refusal(what: &str, e: &crate::assets::Error) -> String {
    format!(
        "{what}: {}{}",
        crate::error::error_chain(e),
        e.api_body().map(|b| format!(": {b}")).unwrap_or_default()
    )
}
