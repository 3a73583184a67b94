//! The restore options that decide whether a restore may run at all, and the object history a
//! `--history` restore writes:
//!
//! - [`check`]: `--history` needs the backup's history phase done (refused while it is still
//!   pending or running); `--with-icons` is needless on the backup's own site (its object types
//!   keep their icons there); a backup written by another storage backend than the daemon's
//!   own cannot be restored. The API refuses such a start at once (409), and planning refuses
//!   it too (a dry run, or a job planning a restore queued earlier).
//! - [`render_history`]: one object's history as the text of its `OBJECT_HISTORY` Textarea,
//!   one line per entry, times in Europe/Berlin with the zone shown. Assets documents Textarea
//!   as unlimited, but a value of megabytes would make every create of that object a huge
//!   request; a history longer than [`HISTORY_MAX_CHARS`] keeps its newest entries and says in
//!   its first line how many older ones were left out (the backup still holds them all).

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use chrono_tz::Europe::Berlin;

use std::collections::{HashMap, HashSet};

use super::ctx::Ctx;
use super::idmap::kinds;
use super::plan::{AttrAction, AttrPlan};
use super::source::Source;
use super::{Error, RestoreRequest};
use crate::model::{
    AttributeKind, HistoryEntry, Id, ObjectAttributeIn, ObjectHistory, ObjectIn, TEXTAREA, ValueIn,
};
use crate::store::{Backup, BackupId, PhaseStatus, kind};

/// Name of the Textarea attribute holding an object's rendered history.
pub const OBJECT_HISTORY: &str = "OBJECT_HISTORY";
/// Longest rendered history set on one object (characters): Jira's own limit of a long text
/// field (32,767), rounded down so the omission line fits.
pub const HISTORY_MAX_CHARS: usize = 32_000;
/// History entry kind of an object's creation (`ObjectHistory.type`).
const CREATED: i64 = 0;

/// Why a restore cannot run with the options it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// `--history` while the backup's history phase has not finished.
    #[error(
        "--history cannot be used yet: the object history of backup {backup} is still being \
         taken (its history phase is {status}); start the restore again once `assetark \
         backups show {backup}` shows the history phase done, or restore without --history"
    )]
    HistoryRunning {
        /// The backup.
        backup: BackupId,
        /// `pending` or `running`.
        status: PhaseStatus,
    },
    /// `--history` for a backup whose history phase ended without the history.
    #[error(
        "--history cannot be used: backup {backup} holds no complete object history (its \
         history phase is {status}{}); restore without --history",
        note.as_deref().map(|n| format!(": {n}")).unwrap_or_default()
    )]
    HistoryUnavailable {
        /// The backup.
        backup: BackupId,
        /// `failed` or `not_offered`.
        status: PhaseStatus,
        /// The phase's note.
        note: Option<String>,
    },
    /// `--with-icons` onto the backup's own site.
    #[error(
        "--with-icons is needless on the backup's own site {site:?}: restored object types \
         keep their icons there (and object avatars follow them); leave the option out"
    )]
    IconsNeedless {
        /// The site.
        site: String,
    },
    /// The backup was written by another storage backend than the daemon's.
    #[error(
        "backup {backup} was written by the {wrote:?} storage backend, but this daemon now \
         stores on {current:?}: a backup cannot be restored after the daemon moved to another \
         storage backend; restore it with a daemon that uses the {wrote:?} backend"
    )]
    StorageBackend {
        /// The backup.
        backup: BackupId,
        /// The backend recorded with the backup.
        wrote: String,
        /// The daemon's backend now.
        current: String,
    },
}

impl Refusal {
    /// A stable code for the API's error answer.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::HistoryRunning { .. } => "history_phase_running",
            Refusal::HistoryUnavailable { .. } => "history_unavailable",
            Refusal::IconsNeedless { .. } => "icons_needless",
            Refusal::StorageBackend { .. } => "storage_backend_changed",
        }
    }
}

/// Whether `req` may restore `backup` with a daemon whose store backend is `backend`.
///
/// # Errors
///
/// The first [`Refusal`] that applies.
pub fn check(backup: &Backup, req: &RestoreRequest, backend: &str) -> Result<(), Refusal> {
    if backup.storage != backend {
        return Err(Refusal::StorageBackend {
            backup: backup.id,
            wrote: backup.storage.clone(),
            current: backend.to_owned(),
        });
    }
    if req.with_icons && backup.site == req.target_site {
        return Err(Refusal::IconsNeedless {
            site: backup.site.clone(),
        });
    }
    if req.history {
        let phase = &backup.history;
        match phase.status {
            PhaseStatus::Done => {}
            PhaseStatus::Pending | PhaseStatus::Running => {
                return Err(Refusal::HistoryRunning {
                    backup: backup.id,
                    status: phase.status,
                });
            }
            PhaseStatus::Failed | PhaseStatus::NotOffered => {
                return Err(Refusal::HistoryUnavailable {
                    backup: backup.id,
                    status: phase.status,
                    note: phase.note.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Adds the Textarea `OBJECT_HISTORY` to every attribute root type (children inherit it, as
/// they do `ORIGINAL_ID`), after that type's other attributes. A type that already has one
/// (its objects came from an earlier `--history` restore) keeps its own: the earlier text is
/// kept in front of the new lines (see [`attach_history`]).
pub(super) fn add_history_attrs(source: &Source, attrs: &mut Vec<AttrPlan>) {
    for t in &source.types {
        if source.attr_root(&t.id) != t.id || source.own_named(&t.id, OBJECT_HISTORY).is_some() {
            continue;
        }
        let at = attrs
            .iter()
            .rposition(|a| a.object_type == t.id)
            .map_or(attrs.len(), |p| p + 1);
        attrs.insert(
            at,
            AttrPlan {
                old_id: None,
                object_type: t.id.clone(),
                object_type_name: t.name.clone(),
                name: OBJECT_HISTORY.to_owned(),
                type_name: AttributeKind::Default(TEXTAREA).name(),
                action: AttrAction::Added,
                identity: false,
                reason: None,
                long_text_values: 0,
                existing_id: None,
            },
        );
    }
}

/// Icon ids the backup's object types use that the backup holds no icon entry for.
pub(super) fn icons_missing(source: &Source) -> Vec<String> {
    let held: HashSet<&str> = source.icons.iter().map(|i| i.id.as_str()).collect();
    let mut out: Vec<String> = source
        .types
        .iter()
        .filter_map(|t| t.icon_id.clone())
        .filter(|id| !held.contains(id.as_str()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Per backup object type: the target's `OBJECT_HISTORY` attribute its objects get (that of
/// its attribute root).
pub(super) fn history_attrs(ctx: &Ctx<'_>) -> HashMap<String, String> {
    if !ctx.plan.history {
        return HashMap::new();
    }
    let src = &ctx.source;
    src.types
        .iter()
        .filter_map(|t| {
            let root = src.attr_root(&t.id);
            let p = ctx.plan.attributes.iter().find(|p| {
                p.object_type == root
                    && p.name == OBJECT_HISTORY
                    && matches!(
                        p.action,
                        AttrAction::Added | AttrAction::Create | AttrAction::Existing
                    )
            })?;
            let id = ctx.ids.get(kinds::ATTR, &p.map_key())?;
            Some((t.id.clone(), id.to_owned()))
        })
        .collect()
}

/// The rendered histories of the backup objects `identities` (those the backup holds), with
/// how many older entries each left out.
pub(super) async fn load_histories(
    ctx: &Ctx<'_>,
    identities: Vec<String>,
) -> Result<HashMap<String, (String, usize)>, Error> {
    let entries = ctx
        .store
        .entries_by_id(ctx.source.backup.id, kind::HISTORY, identities)
        .await?;
    let mut out = HashMap::with_capacity(entries.len());
    for e in entries {
        let h: ObjectHistory = serde_json::from_slice(&e.json)?;
        out.insert(e.original_id, render_history(&h));
    }
    Ok(out)
}

/// Sets `text` as the value of attribute `attr` in a create body; an earlier history the
/// backup object carried in that attribute stays in front of it.
pub(super) fn attach_history(body: &mut ObjectIn, attr: &str, text: String) {
    match body
        .attributes
        .iter_mut()
        .find(|a| a.object_type_attribute_id.as_str() == attr)
    {
        Some(a) => {
            let earlier = a
                .object_attribute_values
                .first()
                .map(|v| v.value.clone())
                .unwrap_or_default();
            let value = match earlier.is_empty() {
                true => text,
                false => format!("{earlier}\n{text}"),
            };
            a.object_attribute_values = vec![ValueIn { value }];
        }
        None => body.attributes.push(ObjectAttributeIn {
            object_type_attribute_id: Id::new(attr),
            object_attribute_values: vec![ValueIn { value: text }],
        }),
    }
}

/// One object's history as `OBJECT_HISTORY` holds it, and how many older entries did not fit
/// in [`HISTORY_MAX_CHARS`]. Lines are oldest first:
/// `2024-03-01 15:05:33 CET | Priya Natarajan | Lifecycle Status | In use -> Retired`.
pub fn render_history(history: &ObjectHistory) -> (String, usize) {
    let lines: Vec<String> = history.entries.iter().map(history_line).collect();
    // Newest entries first into the budget; the newest entry always goes in.
    let mut kept = 0usize;
    let mut chars = 0usize;
    for line in lines.iter().rev() {
        let n = line.chars().count() + 1;
        if kept > 0 && chars + n > HISTORY_MAX_CHARS {
            break;
        }
        chars += n;
        kept += 1;
    }
    let omitted = lines.len() - kept;
    let mut out = String::with_capacity(chars + 80);
    if omitted > 0 {
        out.push_str(&format!(
            "({omitted} older entries left out: longer than {HISTORY_MAX_CHARS} characters)\n"
        ));
    }
    out.push_str(&lines[omitted..].join("\n"));
    (out, omitted)
}

/// One entry: time (Europe/Berlin, zone shown), actor, attribute, old -> new.
pub fn history_line(e: &HistoryEntry) -> String {
    let time = e
        .created
        .non_empty()
        .map(berlin_time)
        .unwrap_or_else(|| "(no time)".to_owned());
    let actor = e.actor.get();
    let actor = actor
        .and_then(|a| a.display_name.non_empty())
        .or_else(|| actor.and_then(|a| a.key.non_empty()))
        .unwrap_or("(unknown)");
    match e.affected_attribute.non_empty() {
        Some(attr) => {
            let old = e.old_value.non_empty().unwrap_or("");
            let new = e.new_value.non_empty().unwrap_or("");
            format!("{time} | {actor} | {attr} | {old} -> {new}")
        }
        None => {
            let what = match e.r#type.get().copied() {
                Some(CREATED) | None => "object created".to_owned(),
                Some(k) => format!("change of kind {k}"),
            };
            format!("{time} | {actor} | {what}")
        }
    }
}

/// An API timestamp in Europe/Berlin, `YYYY-MM-DD HH:MM:SS CET|CEST`; a timestamp that does
/// not parse is kept as it is (its own zone, if any, is in the text).
fn berlin_time(raw: &str) -> String {
    let parsed = DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::<FixedOffset>::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.with_timezone(&Berlin))
        .or_else(|_| {
            // Data Center may send no zone at all: the server's time, taken as UTC.
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|t| t.and_utc().with_timezone(&Berlin))
        });
    match parsed {
        Ok(t) => t.format("%Y-%m-%d %H:%M:%S %Z").to_string(),
        Err(_) => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn history(entries: serde_json::Value) -> ObjectHistory {
        serde_json::from_value(json!({"objectId": "1", "entries": entries})).unwrap()
    }

    #[test]
    fn lines_carry_berlin_time_actor_attribute_and_values() {
        let h = history(json!([
            {"id": "1", "type": 0, "created": "2024-01-15T10:00:00.000Z",
             "actor": {"displayName": "Priya Natarajan", "key": "a1"}},
            {"id": "2", "type": 1, "created": "2024-07-01T10:00:00.000Z",
             "actor": {"key": "a2"}, "affectedAttribute": "Status",
             "oldValue": "Running", "newValue": "Stopped"},
        ]));
        let (text, omitted) = render_history(&h);
        assert_eq!(omitted, 0);
        assert_eq!(
            text,
            "2024-01-15 11:00:00 CET | Priya Natarajan | object created\n\
             2024-07-01 12:00:00 CEST | a2 | Status | Running -> Stopped"
        );
    }

    #[test]
    fn a_long_history_keeps_its_newest_entries() {
        let entries: Vec<serde_json::Value> = (0..2000)
            .map(|i| {
                json!({"id": i.to_string(), "type": 1, "created": "2024-01-15T10:00:00Z",
                       "affectedAttribute": "Description", "oldValue": "x".repeat(20),
                       "newValue": format!("v{i}")})
            })
            .collect();
        let (text, omitted) = render_history(&history(json!(entries)));
        assert!(omitted > 0);
        assert!(text.chars().count() <= HISTORY_MAX_CHARS + 100);
        assert!(text.starts_with(&format!("({omitted} older entries left out")));
        assert!(text.ends_with("-> v1999"));
        assert_eq!(text.lines().count(), 2000 - omitted + 1);
    }

    #[test]
    fn unparsable_times_stay_as_they_are() {
        assert_eq!(berlin_time("yesterday"), "yesterday");
        assert_eq!(
            berlin_time("2024-01-15T10:00:00"),
            "2024-01-15 11:00:00 CET"
        );
    }
}
