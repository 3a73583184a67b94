//! User values on the backup's own site: the accounts exist there, so every value keeps its
//! accountId (the display-name rule of `users` is for *another* site, where accounts differ —
//! and it leaves users who share a display name empty).
//!
//! The plan reads the site's users directory once (`GET /rest/api/3/users/search`, 1,000
//! accounts a page, active or not) and checks each accountId the backup's values hold. Only an
//! accountId that no longer exists there falls back to the display-name rule; the object stage
//! logs each such value ("no longer exists on this site: matched by display name").

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::Error;
use crate::assets::AssetsApi;
use crate::assets::paging::all_users;
use crate::model::{AttributeValue, Scalar};

/// An accountId of the backup's user values, on the backup's own site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMatch {
    /// The accountId the values hold.
    pub account_id: String,
    /// Its display name in the backup.
    pub display_name: String,
    /// Whether the site still has this account (then the values keep it); otherwise the
    /// display-name rule applies.
    pub exists: bool,
    /// Values in the backup holding it.
    pub values: u64,
}

/// The accountId lookup of a plan on the backup's own site and its cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLookup {
    /// Distinct accountIds checked.
    pub accounts: u64,
    /// Of those, gone from the site.
    pub missing: u64,
    /// Jira requests it took (reads of the users directory).
    pub requests: u64,
}

/// The accountId a User value holds: `value` (Cloud: the accountId), else `user.key`.
pub(crate) fn account_of(v: &AttributeValue) -> Option<&str> {
    v.value
        .get()
        .and_then(Scalar::as_str)
        .or_else(|| v.user.get().and_then(|u| u.key.as_deref()))
        .filter(|s| !s.is_empty())
}

/// What the plan's scan collects about user values: per accountId its display name and
/// number of values, and the display names of values that hold no accountId.
#[derive(Debug, Default)]
pub(crate) struct UserValues {
    /// Display name -> values (every user value; the rule for another site).
    pub by_name: BTreeMap<String, u64>,
    /// accountId -> (display name, values).
    pub by_account: BTreeMap<String, (String, u64)>,
    /// Display name -> values without an accountId.
    pub unkeyed: BTreeMap<String, u64>,
}

impl UserValues {
    /// Counts one user value.
    pub fn add(&mut self, v: &AttributeValue) {
        let Some(name) = v.user_name() else { return };
        *self.by_name.entry(name.to_owned()).or_default() += 1;
        match account_of(v) {
            Some(acc) => {
                let e = self
                    .by_account
                    .entry(acc.to_owned())
                    .or_insert_with(|| (name.to_owned(), 0));
                e.1 += 1;
            }
            None => *self.unkeyed.entry(name.to_owned()).or_default() += 1,
        }
    }
}

/// On the backup's own site: which accountIds still exist (one read of the directory), and the
/// display names (with their values) that still need the display-name rule — those of gone
/// accounts and of values without an accountId.
pub(crate) async fn check(
    api: &dyn AssetsApi,
    values: &UserValues,
) -> Result<(Vec<AccountMatch>, BTreeMap<String, u64>, AccountLookup), Error> {
    if values.by_account.is_empty() {
        return Ok((Vec::new(), values.unkeyed.clone(), AccountLookup::default()));
    }
    let (users, requests) = all_users(api).await?;
    let known: HashSet<&str> = users.iter().filter_map(|u| u.id()).collect();
    Ok(decide(values, &known, requests))
}

fn decide(
    values: &UserValues,
    known: &HashSet<&str>,
    requests: u64,
) -> (Vec<AccountMatch>, BTreeMap<String, u64>, AccountLookup) {
    let mut fallback = values.unkeyed.clone();
    let matches: Vec<AccountMatch> = values
        .by_account
        .iter()
        .map(|(acc, (name, n))| {
            let exists = known.contains(acc.as_str());
            if !exists {
                *fallback.entry(name.clone()).or_default() += n;
            }
            AccountMatch {
                account_id: acc.clone(),
                display_name: name.clone(),
                exists,
                values: *n,
            }
        })
        .collect();
    let lookup = AccountLookup {
        accounts: matches.len() as u64,
        missing: matches.iter().filter(|m| !m.exists).count() as u64,
        requests,
    };
    (matches, fallback, lookup)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn value(v: serde_json::Value) -> AttributeValue {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn kept_accounts_skip_the_display_name_rule_and_gone_ones_fall_back() {
        let mut uv = UserValues::default();
        for v in [
            json!({"value": "a1", "user": {"displayName": "Alex Morgan", "key": "a1"}}),
            json!({"value": "a2", "user": {"displayName": "Alex Morgan", "key": "a2"}}),
            json!({"value": "a2", "user": {"displayName": "Alex Morgan", "key": "a2"}}),
            json!({"value": "gone", "user": {"displayName": "Leaver", "key": "gone"}}),
            json!({"displayValue": "No Account"}),
        ] {
            uv.add(&value(v));
        }
        assert_eq!(uv.by_name["Alex Morgan"], 3);
        let known: HashSet<&str> = ["a1", "a2"].into_iter().collect();
        let (m, fallback, lookup) = decide(&uv, &known, 1);
        assert_eq!(
            lookup,
            AccountLookup {
                accounts: 3,
                missing: 1,
                requests: 1
            }
        );
        let a2 = m.iter().find(|x| x.account_id == "a2").unwrap();
        assert!(a2.exists && a2.values == 2);
        assert!(!m.iter().find(|x| x.account_id == "gone").unwrap().exists);
        // Only the gone account's name and the value without an account are matched by name.
        assert_eq!(
            fallback,
            BTreeMap::from([("Leaver".to_owned(), 1), ("No Account".to_owned(), 1)])
        );
        // The account is read from `user.key` when `value` is absent.
        let v = value(json!({"user": {"displayName": "X", "key": "k"}}));
        assert_eq!(account_of(&v), Some("k"));
    }
}
