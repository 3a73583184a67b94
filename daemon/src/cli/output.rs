//! Text rendering of API answers for people: aligned tables and `key: value` lines. `--json`
//! bypasses all of this and prints the API's JSON as is.

use serde_json::Value;

/// Prints JSON, pretty, on stdout.
pub(super) fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// A JSON value as a table cell: strings bare, null as "-".
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
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

fn items(body: &Value) -> &[Value] {
    body["items"].as_array().map_or(&[], Vec::as_slice)
}

/// `sites list`.
pub(super) fn sites(body: &Value) -> String {
    let rows: Vec<Vec<String>> = items(body)
        .iter()
        .map(|s| {
            vec![
                cell(&s["name"]),
                cell(&s["flavor"]),
                cell(&s["site_url"]),
                cell(&s["email"]),
                cell(&s["tokens"]),
                match s["token_source"].as_str() {
                    Some(t) => format!("{} ({t} token)", cell(&s["source"])),
                    None => cell(&s["source"]),
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
pub(super) fn site_test(body: &Value) -> String {
    let user = &body["user"];
    let who = user["displayName"]
        .as_str()
        .or_else(|| user["accountId"].as_str())
        .unwrap_or("an unnamed account");
    format!("site {} ok: connected as {who}", cell(&body["site"]))
}

/// `schemas list` and `schemas sync`.
pub(super) fn schemas(body: &Value) -> String {
    let rows: Vec<Vec<String>> = items(body)
        .iter()
        .map(|s| {
            let last = &s["last_backup"];
            let last = if last.is_null() {
                "-".to_owned()
            } else {
                format!("#{} {}", cell(&last["id"]), cell(&last["time"]))
            };
            vec![
                cell(&s["key"]),
                cell(&s["name"]),
                cell(&s["object_count"]),
                last,
            ]
        })
        .collect();
    if rows.is_empty() {
        return format!(
            "no synced schemas for site {}; run `assetark schemas sync --site {}`",
            cell(&body["site"]),
            cell(&body["site"])
        );
    }
    table(&["KEY", "NAME", "OBJECTS", "LAST BACKUP"], &rows)
}

/// `backups list`.
pub(super) fn backups(body: &Value) -> String {
    let rows: Vec<Vec<String>> = items(body)
        .iter()
        .map(|b| {
            vec![
                cell(&b["id"]),
                cell(&b["type"]),
                cell(&b["site"]),
                cell(&b["schema_key"]),
                cell(&b["object_count"]),
                cell(&b["started_at"]),
                cell(&b["description"]),
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
        cell(&body["page"]),
        body["pages"].as_u64().unwrap_or(0).max(1),
        cell(&body["total"]),
    ));
    if body["matching"].as_u64() > body["total"].as_u64() {
        out.push_str(&format!(
            "; newest {} of {} shown, use --from/--to for older ones",
            cell(&body["total"]),
            cell(&body["matching"])
        ));
    }
    out.push(')');
    out
}

/// `backups show`.
pub(super) fn backup(b: &Value) -> String {
    let mut out = String::new();
    for (label, key) in [
        ("id", "id"),
        ("site", "site"),
        ("schema", "schema_key"),
        ("schema id", "schema_id"),
        ("type", "type"),
        ("description", "description"),
        ("objects", "object_count"),
        ("started", "started_at"),
        ("ended", "ended_at"),
        ("storage", "storage"),
        ("bytes added", "bytes_added"),
    ] {
        out.push_str(&format!("{label:<12} {}\n", cell(&b[key])));
    }
    for phase in ["history", "issues"] {
        let p = &b[phase];
        let note = p["note"]
            .as_str()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        out.push_str(&format!("{phase:<12} {}{note}\n", cell(&p["status"])));
    }
    if let Some(entries) = b["entries"].as_object() {
        let counts: Vec<String> = entries
            .iter()
            .filter(|(_, n)| n.as_u64().unwrap_or(0) > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        out.push_str(&format!("{:<12} {}\n", "entries", counts.join(", ")));
    }
    out
}

/// `backups export`: where it went and what each file holds.
pub(super) fn export_summary(v: &Value) -> String {
    let mut out = format!(
        "exported backup {} to {} ({} bytes)\n",
        cell(&v["backup"]),
        cell(&v["dir"]),
        cell(&v["bytes"])
    );
    if let Some(counts) = v["counts"].as_object() {
        for (file, n) in counts {
            out.push_str(&format!("  {file:<20} {}\n", cell(n)));
        }
    }
    out
}

/// `restore start --dry-run`: what the plan decided, in numbers.
pub(super) fn restore_plan(p: &Value) -> String {
    let len = |k: &str| p[k].as_array().map_or(0, Vec::len);
    let dest = &p["destination"];
    let mut out = format!(
        "dry run: restore backup {} ({} {} on site {}, {} objects) to a new schema {} \"{}\" \
         on site {}; nothing was changed\n",
        cell(&p["backup_id"]),
        cell(&p["source"]["key"]),
        cell(&p["source"]["name"]),
        cell(&p["source"]["site"]),
        cell(&p["source"]["objects"]),
        cell(&dest["key"]),
        cell(&dest["name"]),
        cell(&p["target_site"]),
    );
    if let Some(c) = p["conflict"].as_str() {
        out.push_str(&format!("CONFLICT     {c}\n"));
    }
    let dropped = p["attributes"]
        .as_array()
        .map_or(0, |a| a.iter().filter(|x| x["action"] == "drop").count());
    let unmatched_users = p["users"].as_array().map_or(0, |a| {
        a.iter().filter(|u| u["account_id"].is_null()).count()
    });
    for (label, value) in [
        ("object types", len("object_types").to_string()),
        (
            "attributes",
            format!("{} ({dropped} dropped)", len("attributes")),
        ),
        ("statuses", len("status_types").to_string()),
        ("ref. types", len("reference_types").to_string()),
        ("icons", len("icons").to_string()),
        (
            "users",
            format!("{} ({unmatched_users} without a match)", len("users")),
        ),
        ("objects", cell(&p["order"]["objects"])),
        (
            "waves",
            p["order"]["waves"]
                .as_array()
                .map_or(0, Vec::len)
                .to_string(),
        ),
        ("deferred refs", cell(&p["order"]["deferred_references"])),
        ("requests", cell(&p["requests"]["total"])),
    ] {
        out.push_str(&format!("{label:<12} {value}\n"));
    }
    out
}

/// The last line of `restore start --wait`.
pub(super) fn restore_result(r: &Value) -> String {
    let dest = &r["destination"];
    let objects = r["counts"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["stage"] == "object_entries"))
        .map(|c| format!(", objects {}/{}", cell(&c["done"]), cell(&c["total"])))
        .unwrap_or_default();
    let link = dest["link"]
        .as_str()
        .map(|l| format!(" {l}"))
        .unwrap_or_default();
    format!(
        "restore {} {}: schema {} \"{}\" on site {}{objects} ({}){link}",
        cell(&r["id"]),
        cell(&r["status"]),
        cell(&dest["schema_key"]),
        cell(&dest["schema_name"]),
        cell(&dest["site"]),
        cell(&r["result"]),
    )
}

/// `restores list`.
pub(super) fn restores(body: &Value) -> String {
    let rows: Vec<Vec<String>> = items(body)
        .iter()
        .map(|r| {
            let (s, d) = (&r["source"], &r["destination"]);
            vec![
                cell(&r["id"]),
                cell(&r["status_text"]),
                format!("{}/{}", cell(&s["site"]), cell(&s["schema_key"])),
                format!(
                    "{}/{} {}",
                    cell(&d["site"]),
                    cell(&d["schema_key"]),
                    cell(&d["schema_name"])
                ),
                cell(&d["kind"]),
                cell(&r["started_at"]),
                cell(&r["ended_at"]),
                cell(&r["result"]),
                cell(&d["link"]),
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
pub(super) fn restore(r: &Value) -> String {
    let (s, d) = (&r["source"], &r["destination"]);
    let mut out = String::new();
    for (label, value) in [
        ("id", cell(&r["id"])),
        ("status", cell(&r["status_text"])),
        ("backup", cell(&r["backup_id"])),
        (
            "source",
            format!(
                "{} {} \"{}\"",
                cell(&s["site"]),
                cell(&s["schema_key"]),
                cell(&s["schema_name"])
            ),
        ),
        (
            "destination",
            format!(
                "{} {} \"{}\" ({})",
                cell(&d["site"]),
                cell(&d["schema_key"]),
                cell(&d["schema_name"]),
                cell(&d["kind"])
            ),
        ),
        ("link", cell(&d["link"])),
        ("created", cell(&r["created_at"])),
        ("started", cell(&r["started_at"])),
        ("ended", cell(&r["ended_at"])),
        ("result", cell(&r["result"])),
    ] {
        out.push_str(&format!("{label:<12} {value}\n"));
    }
    if let Some(c) = r["plan"]["conflict"].as_str() {
        out.push_str(&format!("{:<12} {c}\n", "conflict"));
    }
    let live = &r["progress"];
    for c in r["counts"].as_array().map_or(&[][..], Vec::as_slice) {
        let (mut done, mut total) = (cell(&c["done"]), cell(&c["total"]));
        if live["stage"] == c["stage"] {
            (done, total) = (cell(&live["done"]), cell(&live["total"]));
        }
        let state = match (c["finished"].as_bool(), c["started"].as_bool()) {
            (Some(true), _) => "done",
            (_, Some(true)) => "started",
            _ => "-",
        };
        out.push_str(&format!(
            "  {:<34} {done:>7}/{total:<7} {state}\n",
            cell(&c["name"])
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tables_align_and_lists_say_when_they_are_capped() {
        let body = json!({
            "items": [
                {"id": 7, "type": "manual", "site": "prod", "schema_key": "ITSM", "object_count": 5000,
                 "started_at": "2025-01-01T00:00:00Z", "description": ""},
                {"id": 12, "type": "scheduled", "site": "prod", "schema_key": "HR", "object_count": 3,
                 "started_at": "2025-01-02T00:00:00Z", "description": "nightly"},
            ],
            "page": 1, "pages": 3, "total": 50, "matching": 70,
        });
        let text = backups(&body);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID  TYPE       SITE"), "{text}");
        assert!(lines[1].starts_with("7   manual     prod"), "{text}");
        assert!(
            text.contains("page 1 of 3 (50 backup(s); newest 50 of 70 shown"),
            "{text}"
        );
    }
}
