//! `[[hooks]]`: the hooks of restores (issue #12's contract). Read like the rest of the file:
//! serde first ([`RawHook`], unknown keys are errors; `point`, `kind` and `on_error` are enums,
//! so a misspelt value names the line), then each hook is compiled — a script that does not
//! compile is a problem naming the script and the line — and registered in file order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{Problems, Sources, resolve, valid_site_name};
use crate::hooks::rhai_host::{self, RhaiEngine, RhaiLimits};
use crate::hooks::wasm::{self as wasm_host, WasmEngine, WasmLimits};
use crate::hooks::{
    HookKind, HookPoint, HookRegistry, HookSpec, OnError, RegisteredHook, Settings,
};

/// One `[[hooks]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHook {
    name: String,
    point: HookPoint,
    kind: HookKind,
    path: PathBuf,
    #[serde(default)]
    on_error: OnError,
    sites: Option<Vec<String>>,
    enabled: Option<bool>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    settings: toml::Table,
}

/// Checks and compiles every hook; scripts are read through `src` relative to `base`. Returns
/// the registry and, when a WASM hook is configured, the WASM engine (the daemon connects its
/// sites to it for the `attachments` capability).
pub(super) fn hooks(
    p: &mut Problems,
    raw: Vec<RawHook>,
    base: &Path,
    src: &Sources<'_>,
) -> (HookRegistry, Option<Arc<WasmEngine>>) {
    let mut registry = HookRegistry::new();
    // One WASM engine for every WASM hook (its epoch ticker thread starts with it).
    let mut wasm: Option<Arc<WasmEngine>> = None;
    // One engine for every Rhai hook of the daemon (its threads start on the first call).
    let mut rhai: Option<Arc<RhaiEngine>> = None;
    let mut names = std::collections::BTreeSet::new();
    for (i, r) in raw.into_iter().enumerate() {
        let key = format!("hooks[{i}]");
        if !names.insert(r.name.clone()) {
            p.add(
                format!("{key}.name"),
                format!("duplicate hook name {:?}; hook names are unique", r.name),
            );
            continue;
        }
        if !valid_site_name(&r.name) {
            p.add(
                format!("{key}.name"),
                format!(
                    "{:?} is not a valid hook name (1-64 letters, digits, '-', '_' or '.', \
                     starting with a letter or digit)",
                    r.name
                ),
            );
            continue;
        }
        if r.path.as_os_str().is_empty() {
            p.add(format!("{key}.path"), "must not be empty");
            continue;
        }
        if r.kind == HookKind::Rhai && !r.capabilities.is_empty() {
            p.add(
                format!("{key}.capabilities"),
                "capabilities are granted to wasm hooks only; a Rhai script has none",
            );
            continue;
        }
        let spec = HookSpec {
            name: r.name,
            point: r.point,
            kind: r.kind,
            path: resolve(base, &r.path),
            on_error: r.on_error,
            sites: r.sites,
            enabled: r.enabled.unwrap_or(true),
            capabilities: r.capabilities,
            settings: settings(r.settings),
        };
        let loaded = match spec.kind {
            HookKind::Rhai => {
                let engine =
                    rhai.get_or_insert_with(|| Arc::new(RhaiEngine::new(RhaiLimits::default())));
                rhai_host::load(engine, &spec, src.read).map_err(|e| e.to_string())
            }
            HookKind::Wasm => match &wasm {
                Some(engine) => wasm_host::load(engine, &spec).map_err(|e| e.to_string()),
                None => match WasmEngine::new(WasmLimits::default()) {
                    Ok(engine) => {
                        let engine = Arc::new(engine);
                        wasm = Some(Arc::clone(&engine));
                        wasm_host::load(&engine, &spec).map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                },
            },
        };
        match loaded {
            Ok(hook) => {
                if let Err(e) = registry.register(RegisteredHook { spec, hook }) {
                    p.add(format!("{key}.name"), e.to_string());
                }
            }
            Err(message) => p.add(format!("{key}.path"), message),
        }
    }
    (registry, wasm)
}

/// `[hooks.settings]` as the JSON the hook receives (dates as their TOML text).
fn settings(table: toml::Table) -> Settings {
    table.into_iter().map(|(k, v)| (k, json(v))).collect()
}

fn json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(json).collect()),
        toml::Value::Table(t) => Value::Object(settings(t)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError, Sources};
    use crate::hooks::{HookKind, HookPoint, OnError};

    const BASE: &str = r#"
[store]
path = "/var/lib/assetark/assetark.db"
[control]
socket = "/run/assetark.sock"
"#;

    fn read(path: &Path) -> std::io::Result<String> {
        match path.to_str() {
            Some("/etc/assetark/scripts/t2t.rhai") => {
                Ok("fn transform_attribute(event) { () }".into())
            }
            Some("/etc/assetark/scripts/bad.rhai") => {
                Ok("fn match_user(event) {\n  let x = ;\n}".into())
            }
            Some("/etc/assetark/scripts/two.rhai") => Ok("fn match_user(a, b) { () }".into()),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file",
            )),
        }
    }

    fn parse(hooks: &str) -> Result<Config, ConfigError> {
        let sources = Sources {
            env: &|_| None,
            read: &read,
        };
        let text = format!("{BASE}{hooks}");
        Config::parse(&text, Path::new("/etc/assetark/assetark.toml"), &sources)
    }

    fn problems(hooks: &str) -> Vec<String> {
        match parse(hooks) {
            Err(ConfigError::Invalid { problems, .. }) => {
                problems.iter().map(ToString::to_string).collect()
            }
            Err(e) => vec![e.to_string()],
            Ok(_) => panic!("expected problems"),
        }
    }

    #[test]
    fn hooks_are_read_as_the_issue_spells_them() {
        let cfg = parse(
            r#"
[[hooks]]
name = "t2t"
point = "transform_attribute"
kind = "rhai"
path = "scripts/t2t.rhai"
on_error = "skip"
sites = ["cloud"]
[hooks.settings]
limit = 255
names = ["a", "b"]
[hooks.settings.map]
old = "new"

[[hooks]]
name = "off"
point = "transform_attribute"
kind = "rhai"
path = "/etc/assetark/scripts/t2t.rhai"
enabled = false
"#,
        )
        .expect("valid");
        let hooks: Vec<_> = cfg.hooks.iter().collect();
        assert_eq!(hooks.len(), 2);
        let t2t = &hooks[0].spec;
        assert_eq!(t2t.name, "t2t");
        assert_eq!(t2t.point, HookPoint::TransformAttribute);
        assert_eq!(t2t.kind, HookKind::Rhai);
        assert_eq!(t2t.path, Path::new("/etc/assetark/scripts/t2t.rhai"));
        assert_eq!(t2t.on_error, OnError::Skip);
        assert_eq!(t2t.sites.as_deref(), Some(&["cloud".to_owned()][..]));
        assert!(t2t.enabled);
        assert_eq!(
            serde_json::Value::Object(t2t.settings.clone()),
            serde_json::json!({"limit": 255, "names": ["a", "b"], "map": {"old": "new"}})
        );
        assert_eq!(hooks[1].spec.on_error, OnError::Fail, "fail is the default");
        assert!(!hooks[1].spec.enabled);
    }

    #[test]
    fn broken_hooks_are_config_errors_naming_file_and_line() {
        let p = problems(
            r#"
[[hooks]]
name = "bad"
point = "match_user"
kind = "rhai"
path = "scripts/bad.rhai"

[[hooks]]
name = "bad"
point = "match_user"
kind = "rhai"
path = "scripts/t2t.rhai"

[[hooks]]
name = "two"
point = "match_user"
kind = "rhai"
path = "scripts/two.rhai"

[[hooks]]
name = "gone"
point = "match_user"
kind = "rhai"
path = "scripts/missing.rhai"

[[hooks]]
name = "w"
point = "match_user"
kind = "rhai"
path = "scripts/t2t.rhai"
capabilities = ["attachments"]
"#,
        );
        assert_eq!(p.len(), 5, "{p:#?}");
        assert!(
            p[0].starts_with("hooks[0].path: /etc/assetark/scripts/bad.rhai line 2: "),
            "{}",
            p[0]
        );
        assert_eq!(
            p[1],
            "hooks[1].name: duplicate hook name \"bad\"; hook names are unique"
        );
        assert!(
            p[2].contains("fn match_user takes 2 parameter(s)"),
            "{}",
            p[2]
        );
        assert!(
            p[3].contains("cannot read /etc/assetark/scripts/missing.rhai"),
            "{}",
            p[3]
        );
        assert!(p[4].starts_with("hooks[4].capabilities: "), "{}", p[4]);

        let p = problems(
            "[[hooks]]\nname = \"x\"\npoint = \"transform_everything\"\nkind = \"rhai\"\npath = \"a.rhai\"\n",
        );
        assert!(p[0].contains("line 8"), "{}", p[0]);
        assert!(p[0].contains("transform_everything"), "{}", p[0]);
    }
}
