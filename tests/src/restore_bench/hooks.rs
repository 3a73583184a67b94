//! Measurements 4 and 5 of `restore-bench`: the cost of hooks.
//!
//! - [`HookSet`]: the shipped text-to-textarea (`transform_attribute`) and user-match
//!   (`match_user`) hooks as Rhai scripts or WASM modules, loaded the way the daemon loads
//!   them (`[[hooks]]` through `Config::parse`: compiled at load, one engine per host), for
//!   restores with the hooks on beside the same restore with none;
//! - [`calls_per_second`]: one host's calls at one point, back to back through the daemon's
//!   dispatcher (`ActiveHooks`, as a restore calls them: envelope, JSON both ways, `on_error`,
//!   the decision record).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use assetark::config::{Config, Sources};
use assetark::hooks::{
    ActiveHooks, AttributeStats, HookContext, HookRegistry, TypeRef, UserCandidate, UserInput,
    UserToMatch,
};
use assetark::model::{Id, Object, ObjectTypeAttribute};
use assets_sim::dataset::directory::account_id;

use crate::kit;

/// Which host runs the hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `kind = "rhai"`, the scripts of `scripts/`.
    Rhai,
    /// `kind = "wasm"`, the plugins of `plugins/` (built by the test kit).
    Wasm,
}

impl Host {
    /// `rhai` / `wasm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Host::Rhai => "rhai",
            Host::Wasm => "wasm",
        }
    }
}

/// The repository root (the tests crate's parent).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The script or module of a shipped hook: `script` under `scripts/`, `krate` built from
/// `plugins/`.
fn hook_path(host: Host, script: &str, krate: &str) -> PathBuf {
    match host {
        Host::Rhai => root().join("scripts").join(script),
        Host::Wasm => kit::plugin_wasm(krate),
    }
}

/// The daemon's registry for `[[hooks]]` tables, as its config loader builds it.
///
/// # Errors
/// When the config is refused (a script that does not compile, a module refused).
pub fn registry(hooks_toml: &str) -> Result<HookRegistry> {
    let text = format!(
        "[store]\npath = \"restore-bench.db\"\n[control]\nsocket = \"restore-bench.sock\"\n{hooks_toml}"
    );
    let path = std::env::temp_dir().join("restore-bench-hooks.toml");
    let cfg = Config::parse(&text, &path, &Sources::process())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the hooks' config")?;
    Ok(cfg.hooks)
}

fn table(name: &str, point: &str, host: Host, path: &Path, extra: &str) -> String {
    format!(
        "[[hooks]]\nname = \"{name}\"\npoint = \"{point}\"\nkind = \"{}\"\npath = \"{}\"\n\
         on_error = \"fail\"\n{extra}\n",
        host.as_str(),
        path.display()
    )
}

/// user-match's mapping table for the benchmarks: two standard users (one by display name,
/// one by e-mail) to other accounts of the standard directory, both in `it-operations`;
/// every other user falls back to the display name.
fn user_map() -> String {
    let jordan = account_id("Jordan Lee", Some("jordan.lee@example.com"));
    let sam = account_id("Sam Okafor", Some("sam.okafor@example.com"));
    format!(
        "[hooks.settings.map]\n\"Hannah Schmidt\" = \"{jordan}\"\n\
         \"tom.nguyen@example.com\" = \"{sam}\"\n"
    )
}

/// text-to-textarea and user-match on `host`.
///
/// # Errors
/// As [`registry`].
pub fn shipped(host: Host) -> Result<HookRegistry> {
    let t2t = hook_path(host, "text_to_textarea.rhai", "text_to_textarea");
    let um = hook_path(host, "user_match.rhai", "user_match");
    registry(&format!(
        "{}{}",
        table("t2t", "transform_attribute", host, &t2t, ""),
        table("um", "match_user", host, &um, &user_map())
    ))
}

/// The `transform_object` example on `host` (normalise text values, skip retired objects).
///
/// # Errors
/// As [`registry`].
pub fn normalise(host: Host) -> Result<HookRegistry> {
    let path = hook_path(
        host,
        "examples/normalise_and_skip_retired.rhai",
        "example_normalise",
    );
    registry(&table("normalise", "transform_object", host, &path, ""))
}

/// A point measured by [`calls_per_second`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// text-to-textarea on a Text attribute with a 300-character longest value (it converts).
    TransformAttribute,
    /// The normalise example on an object of 10 attributes, 2 of them with text to normalise.
    TransformObject,
    /// user-match on a user the table does not name, with one candidate (display name).
    MatchUser,
}

impl Point {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Point::TransformAttribute => "transform_attribute (text-to-textarea)",
            Point::TransformObject => "transform_object (normalise example)",
            Point::MatchUser => "match_user (user-match, display-name fallback)",
        }
    }
}

fn json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    Ok(serde_json::from_value(v)?)
}

/// Calls per second of `host` at `point`, over about `secs` seconds of back-to-back calls
/// (after 50 warm-up calls); returns (calls, calls per second).
///
/// # Errors
/// When the hooks do not load or a call fails.
pub async fn calls_per_second(host: Host, point: Point, secs: f64) -> Result<(u64, f64)> {
    let registry = match point {
        Point::TransformObject => normalise(host)?,
        _ => shipped(host)?,
    };
    let selection = registry.select("bench", &[], &[])?;
    let context = HookContext {
        restore_id: Some(1),
        source_site: "dc".into(),
        target_site: "bench".into(),
        target_flavor: "cloud".into(),
        dry_run: false,
    };
    let active = registry.activate(&selection, context)?;
    let object_type = TypeRef {
        id: Id::new("12".to_owned()),
        name: "Laptop".into(),
    };
    let attribute: ObjectTypeAttribute = json(serde_json::json!({
        "id": "140", "name": "Notes", "type": 0,
        "defaultType": {"id": 0, "name": "Text"}, "editable": true, "system": false,
        "minimumCardinality": 0, "maximumCardinality": 1, "position": 4
    }))?;
    let attributes: Vec<serde_json::Value> = (0..10)
        .map(|i| {
            let value = match i {
                0 => serde_json::json!("  padded   text "),
                1 => serde_json::json!("two  spaces"),
                n => serde_json::json!(format!("value {n}")),
            };
            serde_json::json!({"objectTypeAttributeId": format!("{}", 140 + i),
                "objectAttributeValues": [{"value": value, "displayValue": value}]})
        })
        .collect();
    let object: Object = json(serde_json::json!({
        "id": "4711", "objectKey": "LAP-4711", "label": "Laptop 4711",
        "objectType": {"id": "12", "name": "Laptop"}, "attributes": attributes
    }))?;
    let user = UserInput {
        user: UserToMatch {
            account_id: Some("5b10ac8d82e05b22cc7d4ef5".into()),
            display_name: Some("Jordan Lee".into()),
            email: Some("jordan.lee@example.com".into()),
            key: None,
        },
        candidates: vec![UserCandidate {
            account_id: "712020:jordan".into(),
            display_name: "Jordan Lee".into(),
            email: None,
        }],
    };
    let stats = AttributeStats {
        count: 2_000,
        longest_text: 300,
        distinct: 1_900,
    };
    let call = |active: &ActiveHooks| {
        let (attribute, object, user) = (attribute.clone(), object.clone(), user.clone());
        let (active, object_type) = (active.clone(), object_type.clone());
        async move {
            match point {
                Point::TransformAttribute => {
                    let a = active
                        .transform_attribute(&object_type, attribute, stats)
                        .await?;
                    anyhow::ensure!(a.result.is_some() && !a.decisions.is_empty());
                }
                Point::TransformObject => {
                    let a = active.transform_object(&object_type, object).await?;
                    anyhow::ensure!(a.result.is_some() && !a.decisions.is_empty());
                }
                Point::MatchUser => {
                    let a = active.match_user(user).await?;
                    anyhow::ensure!(!a.decisions.is_empty());
                }
            }
            anyhow::Ok(())
        }
    };
    for _ in 0..50 {
        call(&active).await?;
    }
    let budget = Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < budget {
        for _ in 0..20 {
            call(&active).await?;
        }
        calls += 20;
    }
    Ok((calls, calls as f64 / started.elapsed().as_secs_f64()))
}
