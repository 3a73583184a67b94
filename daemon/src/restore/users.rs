//! Users and groups of the target, matched at plan time.
//!
//! A User value is matched by **display name** only (no email matching, for GDPR):
//! `GET /rest/api/3/user/search?query=` (a fuzzy search over names and emails) is asked once
//! per distinct display name of the backup, and only results whose `displayName` equals it
//! exactly count. One such user is a match; none or several leave the value empty, and the
//! object stage logs the user by name. Groups are matched by exact name through
//! `GET /rest/api/3/groups/picker`.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::Error;
use super::plan::{GroupMatch, UserMatch};
use crate::assets::AssetsClient;

/// Lookups in flight at once (they are Jira calls with their own budget).
const PARALLEL: usize = 8;
/// Results asked per search; Jira caps user search at 1000.
const MAX_RESULTS: &str = "1000";

fn query(path: &str, q: &str) -> String {
    let qs = serde_urlencoded::to_string([("query", q), ("maxResults", MAX_RESULTS)])
        .unwrap_or_default();
    format!("{path}?{qs}")
}

/// The reason of a user match, as the plan and the log show it.
pub(super) fn reason(matches: usize) -> String {
    match matches {
        0 => "no user with this display name on the target".to_owned(),
        1 => "matched by display name".to_owned(),
        n => format!("{n} users share this display name on the target"),
    }
}

/// Matches every display name (with its number of values) on the target.
pub(super) async fn match_users(
    client: &AssetsClient,
    names: &BTreeMap<String, u64>,
) -> Result<Vec<UserMatch>, Error> {
    let names: Vec<(String, u64)> = names.iter().map(|(n, c)| (n.clone(), *c)).collect();
    let mut out: Vec<UserMatch> = futures::stream::iter(names)
        .map(|(name, values)| async move {
            let found = client
                .jira_get(&query("/rest/api/3/user/search", &name))
                .await?;
            let hits: Vec<&Value> = found
                .as_array()
                .into_iter()
                .flatten()
                .filter(|u| u["displayName"].as_str() == Some(name.as_str()))
                .collect();
            let account_id = match hits.as_slice() {
                [one] => one["accountId"].as_str().map(str::to_owned),
                _ => None,
            };
            Ok::<_, Error>(UserMatch {
                reason: reason(hits.len()),
                display_name: name,
                account_id,
                values,
            })
        })
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
    out.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    Ok(out)
}

/// Checks which group names exist on the target.
pub(super) async fn match_groups(
    client: &AssetsClient,
    names: &BTreeMap<String, u64>,
) -> Result<Vec<GroupMatch>, Error> {
    let names: Vec<String> = names.keys().cloned().collect();
    let mut out: Vec<GroupMatch> = futures::stream::iter(names)
        .map(|name| async move {
            let found = client
                .jira_get(&query("/rest/api/3/groups/picker", &name))
                .await?;
            let exists = found["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| g["name"].as_str() == Some(name.as_str()));
            Ok::<_, Error>(GroupMatch { name, exists })
        })
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_url_encoded() {
        assert_eq!(
            query("/rest/api/3/user/search", "Diego Hernández & Co"),
            "/rest/api/3/user/search?query=Diego+Hern%C3%A1ndez+%26+Co&maxResults=1000"
        );
        assert_eq!(reason(2), "2 users share this display name on the target");
    }
}
