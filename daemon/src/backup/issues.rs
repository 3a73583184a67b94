//! Background phase `issues` (objects in issues): the Jira issues whose Assets object fields
//! point at this schema's objects.
//!
//! 1. `GET /rest/api/3/field` → the fields whose `schema.custom` is the Assets object field
//!    type ([`CMDB_FIELD_TYPE`](crate::model::jira::CMDB_FIELD_TYPE)).
//! 2. Per field, `POST /rest/api/3/search/jql` with
//!    `"<field name>" IN aqlFunction("objectSchemaId = <id>")`, requesting that field.
//! 3. Each issue is stored once as a [`StoredIssue`] (`{"key", "id", "fields": {<fieldId>:
//!    [...]}}`) with every matching field merged in.
//!
//! The merge needs the issues of all fields together, so this phase keeps them in memory
//! until the end: issue descriptors (key, id, object references), far smaller and fewer than
//! objects. Written in batches afterwards.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Ctx, Error, new_entry, stage};
use crate::assets::JqlPager;
use crate::model::{Issue, StoredIssue};
use crate::store::kind;

/// Issues per search page.
const PAGE: usize = 100;
/// Entries per store write.
const BATCH: usize = 500;

/// Returns the phase note.
pub(super) async fn run(ctx: &Ctx<'_>) -> Result<String, Error> {
    let fields: Vec<(String, String)> = ctx
        .api(ctx.api.fields())
        .await?
        .into_iter()
        .filter(|f| f.is_assets())
        .filter_map(|f| Some((f.id, f.name?)))
        .collect();
    let total = fields.len() as u64;
    ctx.report(stage::ISSUES, 0, total);
    let mut issues: BTreeMap<String, StoredIssue> = BTreeMap::new();
    for (i, (field_id, name)) in fields.iter().enumerate() {
        let jql = format!(
            "{} IN aqlFunction({})",
            quote(name),
            quote(&format!("objectSchemaId = {}", ctx.schema_id))
        );
        let mut pager = JqlPager::new(ctx.api, &jql, vec![field_id.clone()], PAGE);
        while let Some(page) = ctx.api(pager.next_page()).await? {
            for issue in page {
                merge(&mut issues, issue, field_id);
            }
        }
        ctx.report(stage::ISSUES, i as u64 + 1, total);
    }
    let count = issues.len();
    let mut batch = Vec::with_capacity(BATCH.min(count));
    for (id, issue) in issues {
        batch.push(new_entry(kind::ISSUE, &id, &issue)?);
        if batch.len() == BATCH {
            ctx.put(std::mem::take(&mut batch)).await?;
        }
    }
    ctx.put(batch).await?;
    Ok(format!("{count} issues in {total} Assets fields"))
}

/// Adds `field_id`'s value of a search hit to the issue's stored form.
fn merge(issues: &mut BTreeMap<String, StoredIssue>, mut issue: Issue, field_id: &str) {
    let id = issue.id.as_str().to_owned();
    let value = issue.fields.remove(field_id).unwrap_or(Value::Null);
    let entry = issues.entry(id.clone()).or_insert_with(|| StoredIssue {
        key: issue.key.into_option(),
        id,
        fields: BTreeMap::new(),
    });
    entry.fields.insert(field_id.to_owned(), value);
}

/// A JQL string literal: double quotes, with `"` and `\` escaped.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn quotes_and_merges() {
        assert_eq!(quote(r#"a "b""#), r#""a \"b\"""#);
        let mut m = BTreeMap::new();
        let hit = |f: &str| {
            serde_json::from_value::<Issue>(
                json!({"id": "7", "key": "ITSM-7", "fields": {f: [{"objectId": "1"}]}}),
            )
            .unwrap()
        };
        merge(&mut m, hit("cf_1"), "cf_1");
        merge(&mut m, hit("cf_2"), "cf_2");
        assert_eq!(
            serde_json::to_value(&m["7"]).unwrap(),
            json!({"id": "7", "key": "ITSM-7", "fields": {"cf_1": [{"objectId": "1"}], "cf_2": [{"objectId": "1"}]}})
        );
    }
}
