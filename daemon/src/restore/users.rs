//! Users and groups of the target, matched at plan time.
//!
//! A User value is matched by **display name** only (no email matching, for GDPR): a target
//! account whose display name equals it exactly is a match when it is the only one; none or
//! several leave the value empty, and the object stage logs the user by name. Inactive
//! accounts are no candidates (Jira's user search does not return them either).
//!
//! Two ways to find the candidates, chosen by the number of distinct display names `n`
//! ([`UserLookupMethod::choose`]): below [`DIRECTORY_MIN_NAMES`], one user search per name
//! (`GET /rest/api/3/user/search?query=`, fuzzy over names and emails; exact matches kept):
//! `n` requests; from there on, one read of the users directory (`GET /rest/api/3/users/
//! search`, 1,000 accounts a page): `accounts / 1000 + 1` requests, whatever `n` is. Both give
//! the same matches; the plan shows which ran and what it cost ([`UserLookup`]).
//!
//! Groups are matched by exact name with the bulk group read (`GET /rest/api/3/group/bulk`
//! with the names as filters): one request for up to 25 names.

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::Error;
use super::plan::{GroupMatch, UserMatch};
use crate::assets::AssetsApi;
use crate::assets::paging::{all_users, groups_named};
use crate::hooks::UserCandidate;
use crate::model::JiraUser;

/// Searches in flight at once (they are Jira calls with their own budget).
const PARALLEL: usize = 8;

/// Distinct display names from which one read of the users directory replaces the searches:
/// the directory costs one request per 1,000 accounts, so it is cheaper for sites of up to
/// ~50,000 accounts.
pub const DIRECTORY_MIN_NAMES: usize = 50;

/// How the plan looked the backup's users up on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserLookupMethod {
    /// One user search per display name.
    Search,
    /// One read of the users directory.
    Directory,
}

impl UserLookupMethod {
    /// The cheaper way for `names` distinct display names.
    pub fn choose(names: usize) -> UserLookupMethod {
        if names >= DIRECTORY_MIN_NAMES {
            UserLookupMethod::Directory
        } else {
            UserLookupMethod::Search
        }
    }
}

/// The user lookup of a plan and its cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLookup {
    /// Which way ran.
    pub method: UserLookupMethod,
    /// Distinct display names looked up.
    pub names: u64,
    /// Jira requests it took.
    pub requests: u64,
}

impl Default for UserLookup {
    fn default() -> Self {
        UserLookup {
            method: UserLookupMethod::Search,
            names: 0,
            requests: 0,
        }
    }
}

/// The group lookup of a plan and its cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupLookup {
    /// Distinct group names looked up.
    pub names: u64,
    /// Jira requests it took.
    pub requests: u64,
}

/// The reason of a user match, as the plan and the log show it.
pub(super) fn reason(matches: usize) -> String {
    match matches {
        0 => "no user with this display name on the target".to_owned(),
        1 => "matched by display name".to_owned(),
        n => format!("{n} users share this display name on the target"),
    }
}

/// The match of one display name among the candidate accounts.
#[cfg(test)]
fn user_match<'a>(
    name: String,
    values: u64,
    candidates: impl Iterator<Item = &'a JiraUser>,
) -> UserMatch {
    user_match_with(name, values, candidates, false).0
}

/// The match of one display name, and (when `keep`) the active accounts of that name for
/// `match_user` hooks.
fn user_match_with<'a>(
    name: String,
    values: u64,
    candidates: impl Iterator<Item = &'a JiraUser>,
    keep: bool,
) -> (UserMatch, Vec<UserCandidate>) {
    let hits: Vec<&JiraUser> = candidates
        .filter(|u| !u.is_inactive() && u.display_name() == name)
        .collect();
    let account_id = match hits.as_slice() {
        [one] => one.id().map(str::to_owned),
        _ => None,
    };
    let kept = if keep {
        super::hooks::candidates(hits.iter().copied())
    } else {
        Vec::new()
    };
    let m = UserMatch {
        reason: reason(hits.len()),
        display_name: name,
        account_id,
        values,
    };
    (m, kept)
}

/// Matches every display name (with its number of values) on the target, the way `method`
/// says.
#[cfg(test)]
pub(super) async fn match_users(
    api: &dyn AssetsApi,
    names: &BTreeMap<String, u64>,
    method: UserLookupMethod,
) -> Result<(Vec<UserMatch>, UserLookup), Error> {
    let (out, lookup) = match_users_with(api, names, method, false).await?;
    Ok((out.into_iter().map(|(m, _)| m).collect(), lookup))
}

/// [`match_users`], keeping each name's candidates (for `match_user` hooks) when `keep`.
pub(super) async fn match_users_with(
    api: &dyn AssetsApi,
    names: &BTreeMap<String, u64>,
    method: UserLookupMethod,
    keep: bool,
) -> Result<(Vec<(UserMatch, Vec<UserCandidate>)>, UserLookup), Error> {
    let (mut out, requests) = match method {
        UserLookupMethod::Search => {
            let names: Vec<(String, u64)> = names.iter().map(|(n, c)| (n.clone(), *c)).collect();
            let requests = names.len() as u64;
            let out: Vec<(UserMatch, Vec<UserCandidate>)> = futures::stream::iter(names)
                .map(|(name, values)| async move {
                    let found = api.search_users(&name).await?;
                    Ok::<_, Error>(user_match_with(name, values, found.iter(), keep))
                })
                .buffer_unordered(PARALLEL)
                .try_collect()
                .await?;
            (out, requests)
        }
        UserLookupMethod::Directory => {
            let (users, requests) = all_users(api).await?;
            let mut by_name: HashMap<&str, Vec<&JiraUser>> = HashMap::new();
            for u in &users {
                by_name.entry(u.display_name()).or_default().push(u);
            }
            let out = names
                .iter()
                .map(|(name, values)| {
                    let candidates = by_name.get(name.as_str()).into_iter().flatten().copied();
                    user_match_with(name.clone(), *values, candidates, keep)
                })
                .collect();
            (out, requests)
        }
    };
    out.sort_by(|a, b| a.0.display_name.cmp(&b.0.display_name));
    let lookup = UserLookup {
        method,
        names: names.len() as u64,
        requests,
    };
    Ok((out, lookup))
}

/// Checks which group names exist on the target.
pub(super) async fn match_groups(
    api: &dyn AssetsApi,
    names: &BTreeMap<String, u64>,
) -> Result<(Vec<GroupMatch>, GroupLookup), Error> {
    let wanted: Vec<String> = names.keys().cloned().collect();
    let (found, requests) = groups_named(api, &wanted).await?;
    let out = wanted
        .into_iter()
        .map(|name| GroupMatch {
            exists: found.iter().any(|g| g.name == name),
            name,
        })
        .collect();
    let lookup = GroupLookup {
        names: names.len() as u64,
        requests,
    };
    Ok((out, lookup))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::assets::{AssetsClient, SiteConn};

    /// A site whose directory has namesakes, an inactive namesake and an inactive loner.
    const SITE: &str = r#"
[rate_limits]
enabled = false
[[sites]]
name = "t"
email = "admin@t.example"
token = "tok"
[[sites.users]]
display_name = "Alex Morgan"
email = "a1@t.example"
[[sites.users]]
display_name = "Alex Morgan"
email = "a2@t.example"
[[sites.users]]
display_name = "Hannah Schmidt"
email = "h1@t.example"
active = false
[[sites.users]]
display_name = "Hannah Schmidt"
email = "h2@t.example"
[[sites.users]]
display_name = "Tom Nguyen"
email = "tom@t.example"
active = false
[[sites.users]]
display_name = "Chen Wei Jr"
email = "chen@t.example"
[[sites.users]]
display_name = "Diego Hernández"
email = "diego@t.example"
"#;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn search_and_directory_find_the_same_users_at_their_own_cost() {
        let cfg = assets_sim::config::SimConfig::from_toml(SITE).unwrap();
        let sim = assets_sim::server::start(cfg).await.unwrap();
        let site = &sim.ready.sites[0];
        let client = AssetsClient::new(SiteConn {
            name: site.name.clone(),
            api_url: site.api_url.clone(),
            site_url: site.site_url.clone(),
            email: site.email.clone(),
            tokens: vec![site.token.as_str().into()],
            limits: Default::default(),
        })
        .unwrap();
        let names: BTreeMap<String, u64> = [
            "Alex Morgan",
            "Hannah Schmidt",
            "Tom Nguyen",
            "Chen Wei",
            "Diego Hernández",
            "Nobody Here",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| ((*n).to_owned(), i as u64 + 1))
        .collect();
        let jira = |c: &AssetsClient| c.stats().sent["jira"];
        let before = jira(&client);
        let (by_search, search) = match_users(&client, &names, UserLookupMethod::Search)
            .await
            .unwrap();
        let mid = jira(&client);
        let (by_directory, directory) = match_users(&client, &names, UserLookupMethod::Directory)
            .await
            .unwrap();
        assert_eq!(by_search, by_directory, "both ways match alike");
        assert_eq!((search.requests, search.names), (6, 6));
        assert_eq!(mid - before, search.requests);
        // 7 accounts and the site's own: one short page.
        assert_eq!((directory.requests, directory.names), (1, 6));
        assert_eq!(jira(&client) - mid, directory.requests);
        let account = |name: &str| {
            by_search
                .iter()
                .find(|m| m.display_name == name)
                .unwrap()
                .clone()
        };
        assert_eq!(account("Alex Morgan").account_id, None);
        assert_eq!(account("Alex Morgan").values, 1);
        assert!(account("Hannah Schmidt").account_id.is_some());
        assert_eq!(account("Tom Nguyen").account_id, None);
        assert_eq!(account("Chen Wei").account_id, None);
        assert!(account("Diego Hernández").account_id.is_some());
        assert_eq!(account("Nobody Here").reason, reason(0));
        // Groups: one bulk request per 25 names, exact names only.
        let mut groups: BTreeMap<String, u64> = (0..28).map(|i| (format!("g{i}"), 1)).collect();
        groups.insert("finance".into(), 2);
        groups.insert("FINANCE".into(), 1);
        let before = jira(&client);
        let (found, lookup) = match_groups(&client, &groups).await.unwrap();
        assert_eq!((lookup.names, lookup.requests), (30, 2));
        assert_eq!(jira(&client) - before, 2);
        let existing: Vec<&str> = found
            .iter()
            .filter(|g| g.exists)
            .map(|g| g.name.as_str())
            .collect();
        assert_eq!(existing, ["finance"]);
        sim.shutdown().await;
    }

    #[test]
    fn the_cheaper_lookup_is_chosen_and_matching_is_exact() {
        assert_eq!(UserLookupMethod::choose(0), UserLookupMethod::Search);
        assert_eq!(
            UserLookupMethod::choose(DIRECTORY_MIN_NAMES - 1),
            UserLookupMethod::Search
        );
        assert_eq!(
            UserLookupMethod::choose(DIRECTORY_MIN_NAMES),
            UserLookupMethod::Directory
        );
        assert_eq!(reason(2), "2 users share this display name on the target");
        let users: Vec<JiraUser> = serde_json::from_value(json!([
            {"accountId": "a1", "displayName": "Alex Morgan", "active": true},
            {"accountId": "a2", "displayName": "Alex Morgan"},
            {"accountId": "h", "displayName": "Hannah Schmidt", "active": false},
            {"accountId": "h2", "displayName": "Hannah Schmidt", "active": true},
            {"accountId": "c", "displayName": "Chen Wei Jr"},
        ]))
        .unwrap();
        let m = user_match("Alex Morgan".into(), 3, users.iter());
        assert_eq!((m.account_id, m.values), (None, 3));
        // The inactive namesake is no candidate.
        let m = user_match("Hannah Schmidt".into(), 1, users.iter());
        assert_eq!(m.account_id.as_deref(), Some("h2"));
        // Fuzzy hits of a search do not count.
        let m = user_match("Chen Wei".into(), 1, users.iter());
        assert_eq!(m.account_id, None);
        assert_eq!(m.reason, reason(0));
    }
}
