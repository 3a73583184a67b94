//! user-match (`match_user`): picks the target account of a backup user by a mapping table,
//! and, for users the table does not name, by a unique display-name match among the target's
//! candidates. Every decision carries a note saying which rule made it, for the plan.
//!
//! Settings:
//! ```toml
//! [hooks.settings]
//! display_name_fallback = true          # default true
//! [hooks.settings.map]                  # old accountId, user key, e-mail or display name
//! "5b10ac8d82e05b22cc7d4ef5" = "712020:0e2c1d"
//! "jsmith" = "712020:77aa01"
//! "alex.morgan@example.com" = "712020:0e2c1d"
//! "Hannah Schmidt" = "712020:31bb02"
//! ```
//! The table is looked up by account id, then key, then e-mail (case-insensitive), then
//! display name; the first hit wins.

use std::collections::BTreeMap;

use assetark_sdk::model::{BackupUser, Candidate};
use assetark_sdk::{Decision, Input, PluginError, Request, Response};
use serde::Deserialize;

assetark_sdk::plugin! {
    name: "user-match",
    points: [MatchUser],
    capabilities: [],
    handler: handle,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    map: BTreeMap<String, String>,
    #[serde(default = "yes")]
    display_name_fallback: bool,
}

fn yes() -> bool {
    true
}

/// The hook.
///
/// # Errors
/// When the settings do not parse.
pub fn handle(req: &Request) -> Result<Response, PluginError> {
    let settings: Settings = req.settings()?;
    let Input::MatchUser { user, candidates } = &req.input else {
        return Ok(Response::default_behaviour());
    };
    let who = describe(user);
    if let Some((rule, target)) = from_table(&settings.map, user) {
        return Ok(Response::decide(Decision::AccountId(target.clone()))
            .with_note(format!("{who} -> {target} (mapping table, by {rule})")));
    }
    if !settings.display_name_fallback {
        return Ok(Response::decide(Decision::NoUser(format!(
            "{who} is not in the mapping table"
        ))));
    }
    let Some(name) = user
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return Ok(Response::decide(Decision::NoUser(format!(
            "{who}: not in the mapping table and no display name to match"
        ))));
    };
    let same: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| {
            c.display_name
                .as_deref()
                .is_some_and(|d| d.trim().eq_ignore_ascii_case(name))
        })
        .collect();
    Ok(match same.as_slice() {
        [one] => Response::decide(Decision::AccountId(one.account_id.clone()))
            .with_note(format!("{who} -> {} (unique display name)", one.account_id)),
        [] => Response::decide(Decision::NoUser(format!(
            "{who}: no target account is named \"{name}\""
        ))),
        many => Response::decide(Decision::NoUser(format!(
            "{who}: {} target accounts are named \"{name}\"",
            many.len()
        ))),
    })
}

fn describe(user: &BackupUser) -> String {
    match (&user.display_name, &user.account_id, &user.key) {
        (Some(n), Some(id), _) => format!("\"{n}\" ({id})"),
        (Some(n), None, Some(k)) => format!("\"{n}\" (key {k})"),
        (Some(n), None, None) => format!("\"{n}\""),
        (None, Some(id), _) => id.clone(),
        (None, None, Some(k)) => format!("key {k}"),
        (None, None, None) => "a user without id".to_owned(),
    }
}

fn from_table<'a>(
    map: &'a BTreeMap<String, String>,
    user: &BackupUser,
) -> Option<(&'static str, &'a String)> {
    let exact = |rule: &'static str, v: &Option<String>| {
        v.as_deref().and_then(|v| map.get(v)).map(|t| (rule, t))
    };
    exact("account id", &user.account_id)
        .or_else(|| exact("user key", &user.key))
        .or_else(|| {
            let email = user.email.as_deref()?;
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(email))
                .map(|(_, t)| ("e-mail", t))
        })
        .or_else(|| exact("display name", &user.display_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use assetark_sdk::testing;

    const SETTINGS: &str = r#"{"map":{"old-1":"new-1","jsmith":"new-2",
        "Alex.Morgan@example.com":"new-3","Hannah Schmidt":"new-4"}}"#;

    fn request(user: &str, settings: &str) -> String {
        format!(
            r#"{{"abi":1,"point":"match_user","hook":"um","settings":{settings},"context":{{}},
            "input":{{"user":{user},"candidates":[
              {{"account_id":"c-1","display_name":"Jordan Lee"}},
              {{"account_id":"c-2","display_name":"Alex Morgan"}},
              {{"account_id":"c-3","display_name":"Alex Morgan"}}]}}}}"#
        )
    }

    #[test]
    fn the_table_matches_by_each_key() {
        let cases = [
            (
                r#"{"account_id":"old-1","display_name":"X"}"#,
                "new-1",
                "account id",
            ),
            (
                r#"{"key":"jsmith","display_name":"X"}"#,
                "new-2",
                "user key",
            ),
            (r#"{"email":"alex.morgan@example.com"}"#, "new-3", "e-mail"),
            (
                r#"{"display_name":"Hannah Schmidt"}"#,
                "new-4",
                "display name",
            ),
        ];
        for (user, target, rule) in cases {
            let out = testing::run(handle, &request(user, SETTINGS));
            assert_eq!(out["decision"]["account_id"], target, "{user}");
            assert!(out["note"].as_str().unwrap().contains(rule), "{out}");
        }
    }

    #[test]
    fn display_name_fallback_needs_a_unique_match() {
        let out = testing::run(
            handle,
            &request(r#"{"display_name":"jordan lee"}"#, SETTINGS),
        );
        assert_eq!(out["decision"]["account_id"], "c-1");
        assert!(
            out["note"]
                .as_str()
                .unwrap()
                .contains("unique display name")
        );
        let out = testing::run(
            handle,
            &request(r#"{"display_name":"Alex Morgan"}"#, SETTINGS),
        );
        assert!(
            out["decision"]["none"]
                .as_str()
                .unwrap()
                .contains("2 target accounts")
        );
        let out = testing::run(handle, &request(r#"{"display_name":"Nobody"}"#, SETTINGS));
        assert!(
            out["decision"]["none"]
                .as_str()
                .unwrap()
                .contains("no target account")
        );
    }

    #[test]
    fn without_fallback_unmapped_users_get_none() {
        let s = r#"{"map":{},"display_name_fallback":false}"#;
        let out = testing::run(handle, &request(r#"{"display_name":"Jordan Lee"}"#, s));
        assert!(
            out["decision"]["none"]
                .as_str()
                .unwrap()
                .contains("mapping table")
        );
    }
}
