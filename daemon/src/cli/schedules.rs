//! The schedule commands (`schedules list | set | remove | run`) and `backups prune`, with
//! their text rendering. Requests and answers are the wire types of
//! `crate::api::wire` (`SetScheduleRequest`, `ScheduleList`, `PruneReport`, ...).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::args::{SchedulesCmd, SetScheduleArgs};
use super::util::{Failure, confirm, emit, segment};
use crate::api::client::ControlClient;
use crate::api::wire::{
    JobStarted, PruneReport, PruneRequest, Retention, RunResult, ScheduleList, ScheduleRemoved,
    ScheduleView, SetScheduleRequest, Verdict,
};

/// `schedules ...`.
pub(super) async fn schedules(
    client: &ControlClient,
    cmd: &SchedulesCmd,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        SchedulesCmd::List => {
            let reply = client.get("/v1/schedules").await?;
            let list: ScheduleList = reply.parse()?;
            emit(json, &reply.body, || list_text(&list))
        }
        SchedulesCmd::Set(args) => {
            let reply = client.post("/v1/schedules", &set_request(args)).await?;
            let view: ScheduleView = reply.parse()?;
            emit(json, &reply.body, || {
                let next = match (view.enabled, view.next_fire_at) {
                    (false, _) => "disabled".to_owned(),
                    (true, Some(t)) => format!("next firing {}", time(t)),
                    (true, None) => "never fires again".to_owned(),
                };
                format!(
                    "schedule of {} on {} saved: {} ({}), {next}; retention {}",
                    view.schema,
                    view.site,
                    view.cron,
                    view.tz,
                    retention(&view.retention)
                )
            })
        }
        SchedulesCmd::Remove { site, schema, yes } => {
            if !yes {
                confirm(
                    &format!(
                        "refusing to remove the schedule of {schema} on {site} without --yes: \
                         stdin is not a terminal"
                    ),
                    &format!(
                        "Remove the schedule of schema {schema} on site {site}? Its backups stay. [y/N] "
                    ),
                    &format!("schedule of {schema} on {site} not removed"),
                )?;
            }
            let reply = client
                .delete(&format!(
                    "/v1/schedules/{}/{}",
                    segment(site),
                    segment(schema)
                ))
                .await?;
            let _removed: ScheduleRemoved = reply.parse()?;
            emit(json, &reply.body, || {
                format!("schedule of {schema} on {site} removed (its backups stay)")
            })
        }
        SchedulesCmd::Run { site, schema } => {
            let reply = client
                .post_empty(&format!(
                    "/v1/schedules/{}/{}/run",
                    segment(site),
                    segment(schema)
                ))
                .await?;
            let started: JobStarted = reply.parse()?;
            emit(json, &reply.body, || {
                format!(
                    "scheduled backup of {schema} on {site} queued as job {} \
                     (follow it with `assetark schedules list`)",
                    started.job_id
                )
            })
        }
    }
}

fn set_request(args: &SetScheduleArgs) -> SetScheduleRequest {
    SetScheduleRequest {
        site: args.site.clone(),
        schema: args.schema.clone(),
        cron: args.cron.clone(),
        tz: args.tz.clone(),
        enabled: Some(!args.disabled),
        keep_last: args.keep_last,
        keep_hourly: args.keep_hourly,
        keep_daily: args.keep_daily,
        keep_weekly: args.keep_weekly,
        keep_monthly: args.keep_monthly,
        full_every: args.full_every,
    }
}

/// `backups prune`.
pub(super) async fn prune(
    client: &ControlClient,
    site: Option<&str>,
    schema: Option<&str>,
    dry_run: bool,
    json: bool,
) -> Result<(), Failure> {
    let request = PruneRequest {
        site: site.map(str::to_owned),
        schema: schema.map(str::to_owned),
        dry_run,
    };
    let reply = client.post("/v1/backups/prune", &request).await?;
    let report: PruneReport = reply.parse()?;
    emit(json, &reply.body, || prune_text(&report))
}

/// A time as the API spells it.
fn time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// `last=3 daily=7`, or `keep all`.
fn retention(p: &Retention) -> String {
    let parts: Vec<String> = [
        ("last", p.keep_last),
        ("hourly", p.keep_hourly),
        ("daily", p.keep_daily),
        ("weekly", p.keep_weekly),
        ("monthly", p.keep_monthly),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{k}={n}"))
    .collect();
    if parts.is_empty() {
        "keep all".to_owned()
    } else {
        parts.join(" ")
    }
}

/// The last firing and result of a schedule, in a few words.
fn last_text(s: &ScheduleView) -> (String, String) {
    let fired = match (s.last_fired_at, s.last_reason, s.last_firing) {
        (Some(at), Some(reason), Some(outcome)) => format!("{} ({reason}, {outcome})", time(at)),
        (Some(at), _, _) => time(at),
        _ => "-".to_owned(),
    };
    let result = match &s.last_result {
        None => "-".to_owned(),
        Some(r) => match (r.status, r.backup_id) {
            (RunResult::Succeeded, Some(b)) => format!("succeeded: backup {b}"),
            (RunResult::Failed, _) => format!("FAILED (job {})", r.job_id),
            (status, _) => format!("{} (job {})", status.as_str(), r.job_id),
        },
    };
    (fired, result)
}

fn list_text(list: &ScheduleList) -> String {
    if list.items.is_empty() {
        return "no schedules; add one with `assetark schedules set` or [[schedules]] in the config"
            .to_owned();
    }
    let header = [
        "SITE",
        "SCHEMA",
        "CRON",
        "TZ",
        "ENABLED",
        "NEXT",
        "LAST FIRED",
        "LAST RESULT",
        "RETENTION",
        "FAILED",
        "SOURCE",
    ];
    let rows: Vec<Vec<String>> = list
        .items
        .iter()
        .map(|s| {
            let (fired, result) = last_text(s);
            vec![
                s.site.clone(),
                s.schema.clone(),
                s.cron.clone(),
                s.tz.clone(),
                if s.enabled { "yes" } else { "no" }.to_owned(),
                s.next_fire_at.map_or_else(|| "-".to_owned(), time),
                fired,
                result,
                retention(&s.retention),
                s.failed.to_string(),
                s.source.as_str().to_owned(),
            ]
        })
        .collect();
    let mut out = table(&header, &rows);
    // Failures get a line of their own: the reason is what an operator needs.
    for s in &list.items {
        if let Some(r) = &s.last_result
            && r.status == RunResult::Failed
        {
            out.push_str(&format!(
                "{}/{}: last scheduled backup failed after {} run(s): {}\n",
                s.site,
                s.schema,
                r.attempts,
                r.error.as_deref().unwrap_or("unknown error")
            ));
        }
        if let Some(note) = &s.last_note {
            out.push_str(&format!(
                "{}/{}: last firing queued nothing: {note}\n",
                s.site, s.schema
            ));
        }
    }
    out
}

fn verdict_line(v: &Verdict) -> String {
    let rules: Vec<&str> = v.kept_by.iter().map(|r| r.as_str()).collect();
    if rules.is_empty() {
        format!("  remove  backup {:<6} {}", v.id, time(v.taken_at))
    } else {
        format!(
            "  keep    backup {:<6} {}  ({})",
            v.id,
            time(v.taken_at),
            rules.join(", ")
        )
    }
}

fn prune_text(r: &PruneReport) -> String {
    if r.schedules.is_empty() {
        return "no schedules to prune".to_owned();
    }
    let mut out = String::new();
    for s in &r.schedules {
        out.push_str(&format!(
            "{}/{} ({}, {}): keep {}, remove {}\n",
            s.site,
            s.schema,
            retention(&s.retention),
            s.tz,
            s.keep.len(),
            s.remove.len()
        ));
        for v in s.keep.iter().chain(&s.remove) {
            out.push_str(&verdict_line(v));
            out.push('\n');
        }
    }
    if r.dry_run {
        out.push_str(&format!(
            "dry run: {} backup(s) would be removed; nothing changed\n",
            r.removed
        ));
    } else {
        out.push_str(&format!(
            "removed {} backup(s), freed {} blob(s), {} bytes\n",
            r.removed, r.blobs_removed, r.bytes_freed
        ));
    }
    out
}

/// Left-aligned columns separated by two spaces.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
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
    let mut out = line(&header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}
