//! Text rendering of API answers for people: aligned tables and `key: value` lines, from the
//! typed answers of `crate::api::wire`. `--json` bypasses all of this and prints the API's
//! JSON as is.

use std::fmt::Display;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::api::wire::{
    AttrAction, BackupDetail, BackupList, BackupObjectTypes, Destination, ExportReport,
    RestoreDetail, RestorePlan, RestoreView, SchemaList, SiteList, SiteTested,
};

/// Prints JSON, pretty, on stdout. Typed values go through a JSON value first, so their keys
/// come out in the same order as those of an answer printed as sent.
pub(super) fn print_json(v: &impl serde::Serialize) {
    match serde_json::to_value(v).and_then(|v| serde_json::to_string_pretty(&v)) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot print the answer as JSON: {e}"),
    }
}

/// An optional value as a table cell: "-" when absent.
fn opt<T: Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A time as the API spells it (RFC 3339).
fn time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Left-aligned columns separated by two spaces.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

/// `sites list`.
pub(super) fn sites(list: &SiteList) -> String {
    let rows: Vec<Vec<String>> = list
        .items
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.flavor.clone(),
                s.site_url.clone(),
                s.email.clone(),
                s.tokens.to_string(),
                match s.token_source {
                    Some(t) => format!("{} ({} token)", s.source.as_str(), t.as_str()),
                    None => s.source.as_str().to_owned(),
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no sites configured".to_owned();
    }
    table(
        &["NAME", "FLAVOR", "SITE", "EMAIL", "TOKENS", "SOURCE"],
        &rows,
    )
}

/// `sites test`.
pub(super) fn site_test(t: &SiteTested) -> String {
    let who = t
        .user
        .display_name
        .as_deref()
        .or(t.user.account_id.as_deref())
        .unwrap_or("an unnamed account");
    format!("site {} ok: connected as {who}", t.site)
}

/// `schemas list` and `schemas sync`.
pub(super) fn schemas(list: &SchemaList) -> String {
    let rows: Vec<Vec<String>> = list
        .items
        .iter()
        .map(|s| {
            let last = match &s.last_backup {
                None => "-".to_owned(),
                Some(b) => format!("#{} {}", b.id, time(b.time)),
            };
            vec![
                s.key.clone(),
                s.name.clone(),
                s.object_count.to_string(),
                last,
            ]
        })
        .collect();
    if rows.is_empty() {
        return format!(
            "no synced schemas for site {}; run `assetark schemas sync --site {}`",
            list.site, list.site
        );
    }
    table(&["KEY", "NAME", "OBJECTS", "LAST BACKUP"], &rows)
}

/// `backups list`.
pub(super) fn backups(list: &BackupList) -> String {
    let rows: Vec<Vec<String>> = list
        .items
        .iter()
        .map(|b| {
            vec![
                b.id.to_string(),
                b.backup_type.to_string(),
                b.site.clone(),
                b.schema_key.clone(),
                b.object_count.to_string(),
                time(b.started_at),
                b.description.clone(),
            ]
        })
        .collect();
    let mut out = if rows.is_empty() {
        "no backups\n".to_owned()
    } else {
        table(
            &[
                "ID",
                "TYPE",
                "SITE",
                "SCHEMA",
                "OBJECTS",
                "STARTED",
                "DESCRIPTION",
            ],
            &rows,
        )
    };
    out.push_str(&format!(
        "page {} of {} ({} backup(s)",
        list.page,
        list.pages.max(1),
        list.total,
    ));
    if list.matching > list.total {
        out.push_str(&format!(
            "; newest {} of {} shown, use --from/--to for older ones",
            list.total, list.matching
        ));
    }
    out.push(')');
    out
}

/// `backups show`.
/// `backups types`: the tree, indented, with own and subtree object counts.
pub(super) fn backup_types(t: &BackupObjectTypes) -> String {
    let mut out = format!(
        "object types of backup {} ({}): objects (with children), id\n",
        t.backup_id, t.schema_key
    );
    for n in &t.types {
        let name = format!("{}{}", "  ".repeat(n.depth as usize), n.name);
        let abstract_note = if n.abstract_object_type {
            " abstract"
        } else {
            ""
        };
        out.push_str(&format!(
            "{name:<40} {:>7} ({:>7})  id {}{abstract_note}\n",
            n.objects, n.objects_with_children, n.id
        ));
    }
    if t.types.is_empty() {
        out.push_str("no object types\n");
    }
    out
}

pub(super) fn backup(d: &BackupDetail) -> String {
    let b = &d.backup;
    let mut out = String::new();
    for (label, value) in [
        ("id", b.id.to_string()),
        ("site", b.site.clone()),
        ("schema", b.schema_key.clone()),
        ("schema id", b.schema_id.clone()),
        ("type", b.backup_type.to_string()),
        ("description", b.description.clone()),
        ("objects", b.object_count.to_string()),
        ("started", time(b.started_at)),
        ("ended", opt(b.ended_at.map(time))),
        ("storage", b.storage.clone()),
        ("bytes added", b.bytes_added.to_string()),
        (
            "capture",
            match b.parent_id {
                Some(p) => format!("incremental (unchanged objects' history from backup {p})"),
                None => "full".to_owned(),
            },
        ),
    ] {
        out.push_str(&format!("{label:<12} {value}\n"));
    }
    for (phase, p) in [
        ("history", &b.history),
        ("issues", &b.issues),
        ("comments", &b.comments),
        ("attachments", &b.attachments),
    ] {
        let note = p
            .note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        out.push_str(&format!("{phase:<12} {}{note}\n", p.status));
    }
    let counts: Vec<String> = d
        .entries
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    out.push_str(&format!("{:<12} {}\n", "entries", counts.join(", ")));
    out
}

/// `backups export`: where it went and what each file holds.
pub(super) fn export_summary(r: &ExportReport) -> String {
    let mut out = format!(
        "exported backup {} to {} ({} bytes)\n",
        r.backup,
        r.dir.display(),
        r.bytes
    );
    for (file, n) in &r.counts {
        out.push_str(&format!("  {file:<20} {n}\n"));
    }
    out
}

/// `restore start --dry-run`: what the plan decided, in numbers.
pub(super) fn restore_plan(p: &RestorePlan) -> String {
    let to = match (&p.destination, &p.existing) {
        (Destination::NewSchema { name, key }, _) => format!("a new schema {key} \"{name}\""),
        (Destination::ExistingSchema { key, .. }, Some(e)) => {
            format!("the existing schema {key} \"{}\"", e.schema_name)
        }
        (d, None) => format!("the schema {}", d.key()),
    };
    let mut out = format!(
        "dry run: restore backup {} ({} {} on site {}, {} objects) to {to} on site {}; \
         nothing was changed\n",
        p.backup_id, p.source.key, p.source.name, p.source.site, p.source.objects, p.target_site,
    );
    if let Some(c) = &p.conflict {
        out.push_str(&format!("CONFLICT     {c}\n"));
    }
    let dropped = p
        .attributes
        .iter()
        .filter(|a| a.action == AttrAction::Drop)
        .count();
    let unmatched_users = p.users.iter().filter(|u| u.account_id.is_none()).count();
    for (label, value) in [
        ("object types", p.object_types.len().to_string()),
        (
            "attributes",
            format!("{} ({dropped} dropped)", p.attributes.len()),
        ),
        ("statuses", p.status_types.len().to_string()),
        ("ref. types", p.reference_types.len().to_string()),
        ("icons", icons_line(p)),
        (
            "history",
            match p.history {
                true => "on (OBJECT_HISTORY, set in each create)".to_owned(),
                false => "off".to_owned(),
            },
        ),
        (
            "users",
            format!("{} ({unmatched_users} without a match)", p.users.len()),
        ),
        ("objects", p.order.objects.to_string()),
        ("waves", p.order.waves.len().to_string()),
        ("deferred refs", p.order.deferred_references.to_string()),
        ("requests", p.requests.total.to_string()),
    ] {
        out.push_str(&format!("{label:<12} {value}\n"));
    }
    if let Some(t) = &p.types {
        let paths = |l: &[crate::restore::TypeRef]| {
            l.iter()
                .map(|t| t.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("{:<12} {}\n", "only types", paths(&t.selected)));
        if !t.parents.is_empty() {
            out.push_str(&format!("{:<12} {}\n", "with parents", paths(&t.parents)));
        }
        out.push_str(&format!("{:<12} {} types\n", "left out", t.left_out.len()));
    }
    let s = &p.summary;
    for a in &s.dropped_attributes {
        out.push_str(&format!(
            "{:<12} {}.{}: {}\n",
            "dropped", a.object_type, a.name, a.reason
        ));
    }
    for a in &s.attribute_conflicts {
        out.push_str(&format!(
            "{:<12} {}.{}: {}\n",
            "conflict", a.object_type, a.name, a.reason
        ));
    }
    for k in &p.icons_kept {
        out.push_str(&format!(
            "{:<12} {}: {:?} (the backup's {:?} matched {:?}; existing types are not changed)\n",
            "icon kept", k.object_type, k.icon, k.backup_icon, k.matched_icon
        ));
    }
    if !s.unique_taken.is_empty() {
        let first: Vec<String> = s
            .unique_taken
            .iter()
            .take(3)
            .map(|u| {
                format!(
                    "{} ({} {:?} held by {})",
                    u.key, u.attribute, u.value, u.taken_by
                )
            })
            .collect();
        out.push_str(&format!(
            "{:<12} {} objects are skipped: the schema holds their unique attribute's value \
             already (the target would refuse them): {}{}\n",
            "unique",
            s.unique_taken.len(),
            first.join(", "),
            if s.unique_taken.len() > 3 {
                ", ..."
            } else {
                ""
            }
        ));
    }
    if !s.skipped_duplicates.is_empty() {
        out.push_str(&format!(
            "{:<12} {} objects already in the schema are skipped\n",
            "duplicates",
            s.skipped_duplicates.len()
        ));
    }
    for line in p.hooks.text_lines() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn yes_no(b: bool) -> String {
    match b {
        true => "yes".to_owned(),
        false => "no".to_owned(),
    }
}

/// The plan's icons: how many matched by name and what stands in for the rest.
fn icons_line(p: &RestorePlan) -> String {
    let matched = p.icons.iter().filter(|i| i.matched).count();
    let mode = match (p.source.site == p.target_site, p.with_icons) {
        (true, _) => "same site",
        (false, true) => "--with-icons",
        (false, false) => "not restored: default icon",
    };
    let missing = match p.icons_missing.len() {
        0 => String::new(),
        n => format!(", {n} missing from the backup"),
    };
    format!(
        "{} ({matched} matched by name, {mode}{missing})",
        p.icons.len()
    )
}

/// The last line of `restore start --wait`.
pub(super) fn restore_result(r: &RestoreDetail) -> String {
    let v = &r.view;
    let dest = &v.destination;
    let objects = r
        .counts
        .iter()
        .find(|c| c.stage == "object_entries")
        .map(|c| format!(", objects {}/{}", c.done, c.total))
        .unwrap_or_default();
    let link = dest
        .link
        .as_deref()
        .map(|l| format!(" {l}"))
        .unwrap_or_default();
    format!(
        "restore {} {}: schema {} \"{}\" on site {}{objects} ({}){link}",
        v.id,
        v.status,
        opt(dest.schema_key.as_deref()),
        opt(dest.schema_name.as_deref()),
        dest.site,
        opt(v.result.as_deref()),
    )
}

/// `restores list`.
pub(super) fn restores(items: &[RestoreView]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|r| {
            let (s, d) = (&r.source, &r.destination);
            vec![
                r.id.to_string(),
                r.status_text.clone(),
                format!(
                    "{}/{}",
                    opt(s.site.as_deref()),
                    opt(s.schema_key.as_deref())
                ),
                format!(
                    "{}/{} {}",
                    d.site,
                    opt(d.schema_key.as_deref()),
                    opt(d.schema_name.as_deref())
                ),
                opt(d.kind.as_deref()),
                opt(r.started_at.map(time)),
                opt(r.ended_at.map(time)),
                opt(r.result.as_deref()),
                opt(d.link.as_deref()),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no restores".to_owned();
    }
    table(
        &[
            "ID",
            "STATUS",
            "SOURCE",
            "DESTINATION",
            "KIND",
            "STARTED",
            "ENDED",
            "RESULT",
            "LINK",
        ],
        &rows,
    )
}

/// `restores show`.
pub(super) fn restore(r: &RestoreDetail) -> String {
    let v = &r.view;
    let (s, d) = (&v.source, &v.destination);
    let mut out = String::new();
    for (label, value) in [
        ("id", v.id.to_string()),
        ("status", v.status_text.clone()),
        ("backup", v.backup_id.to_string()),
        (
            "source",
            format!(
                "{} {} \"{}\"",
                opt(s.site.as_deref()),
                opt(s.schema_key.as_deref()),
                opt(s.schema_name.as_deref())
            ),
        ),
        (
            "destination",
            format!(
                "{} {} \"{}\" ({})",
                d.site,
                opt(d.schema_key.as_deref()),
                opt(d.schema_name.as_deref()),
                opt(d.kind.as_deref())
            ),
        ),
        ("link", opt(d.link.as_deref())),
        ("kind", v.destination_kind.to_string()),
        (
            "types",
            match v.specific_types.is_empty() {
                true => "all".to_owned(),
                false => v.specific_types.join(", "),
            },
        ),
        ("duplicates", yes_no(v.duplicates)),
        ("history", yes_no(v.history_restored)),
        ("icons", yes_no(v.icons_restored)),
        ("created", time(v.created_at)),
        ("started", opt(v.started_at.map(time))),
        ("ended", opt(v.ended_at.map(time))),
        ("result", opt(v.result.as_deref())),
    ] {
        out.push_str(&format!("{label:<12} {value}\n"));
    }
    if let Some(c) = &r.plan.conflict {
        out.push_str(&format!("{:<12} {c}\n", "conflict"));
    }
    for c in &r.counts {
        let (mut done, mut total) = (c.done, c.total);
        if let Some(live) = r.progress.as_ref().filter(|p| p.stage == c.stage) {
            (done, total) = (live.done, live.total);
        }
        let state = match (c.finished, c.started) {
            (true, _) => "done",
            (_, true) => "started",
            _ => "-",
        };
        out.push_str(&format!("  {:<34} {done:>7}/{total:<7} {state}\n", c.name));
    }
    if !r.tasks.is_empty() {
        out.push_str("tasks:\n");
        for t in &r.tasks {
            out.push_str(&format!("  {}\n", super::tasks::line(t)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::api::wire::{Backup, BackupStatus, BackupType, PhaseState, PhaseStatus};

    fn backup(id: i64, t: BackupType, schema: &str, objects: u64, desc: &str) -> Backup {
        Backup {
            id,
            site: "prod".into(),
            schema_key: schema.into(),
            schema_id: "1".into(),
            backup_type: t,
            description: desc.into(),
            storage: "sqlite".into(),
            status: BackupStatus::Complete,
            history: PhaseState::new(PhaseStatus::Done),
            issues: PhaseState::new(PhaseStatus::Done),
            comments: PhaseState::new(PhaseStatus::NotOffered),
            attachments: PhaseState::new(PhaseStatus::NotOffered),
            object_count: objects,
            started_at: datetime!(2025-01-01 00:00 UTC),
            ended_at: None,
            bytes_added: 0,
            incremental: false,
            parent_id: None,
        }
    }

    #[test]
    fn tables_align_and_lists_say_when_they_are_capped() {
        let list = BackupList {
            items: vec![
                backup(7, BackupType::Manual, "ITSM", 5000, ""),
                backup(12, BackupType::Scheduled, "HR", 3, "nightly"),
            ],
            page: 1,
            per_page: 20,
            pages: 3,
            total: 50,
            matching: 70,
        };
        let text = backups(&list);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID  TYPE       SITE"), "{text}");
        assert!(lines[1].starts_with("7   manual     prod"), "{text}");
        assert!(lines[1].contains("2025-01-01T00:00:00Z"), "{text}");
        assert!(
            text.contains("page 1 of 3 (50 backup(s); newest 50 of 70 shown"),
            "{text}"
        );
    }
}
