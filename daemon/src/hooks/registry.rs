//! The configured hooks in config order, and which of them a restore uses.
//!
//! A restore's selection is decided once, when it is planned, and stored with it
//! ([`HookSelection`]): a resumed restore (after a crash or STOP) uses the same hooks even if
//! `--hook` flags are not given again. Unknown names are refused with [`UnknownHook`] (a 400
//! from the API, an error from the CLI), never silently ignored.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::dispatch::ActiveHooks;
use super::{HookContext, HookPoint, HookSpec, OnError, SharedHook};

/// One hook with its configuration.
#[derive(Debug, Clone)]
pub struct RegisteredHook {
    /// The name, point, `on_error`, sites, settings ... of `[[hooks]]`.
    pub spec: HookSpec,
    /// What runs it.
    pub hook: SharedHook,
}

impl RegisteredHook {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Its point.
    pub fn point(&self) -> HookPoint {
        self.spec.point
    }

    /// Its `on_error`.
    pub fn on_error(&self) -> OnError {
        self.spec.on_error
    }

    /// Whether a restore to `site` selects it without `--hook`.
    fn selected_by_default(&self, site: &str) -> bool {
        self.spec.enabled
            && self
                .spec
                .sites
                .as_ref()
                .is_none_or(|sites| sites.iter().any(|s| s == site))
    }
}

/// The configured hooks, in config order.
#[derive(Debug, Clone, Default)]
pub struct HookRegistry {
    hooks: Vec<Arc<RegisteredHook>>,
}

/// A second hook with a name already registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hook named {0:?} is already registered; hook names are unique")]
pub struct RegisterError(pub String);

/// Names given to `--hook` / `--no-hook` (or stored with a restore) that no hook has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no hook named {} is configured{}", quoted(.names), known(.configured))]
pub struct UnknownHook {
    /// The unknown names.
    pub names: Vec<String>,
    /// The names that exist, for the message.
    pub configured: Vec<String>,
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn known(configured: &[String]) -> String {
    if configured.is_empty() {
        " (the config has no [[hooks]])".to_owned()
    } else {
        format!(" (configured: {})", configured.join(", "))
    }
}

/// The hooks a restore uses, by name in config order; stored with the restore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookSelection {
    /// Hook names, in config order.
    pub names: Vec<String>,
}

impl HookRegistry {
    /// An empty registry.
    pub fn new() -> HookRegistry {
        HookRegistry::default()
    }

    /// Adds a hook after the others (config order).
    ///
    /// # Errors
    ///
    /// [`RegisterError`] when the name is taken.
    pub fn register(&mut self, hook: RegisteredHook) -> Result<(), RegisterError> {
        if self.get(hook.name()).is_some() {
            return Err(RegisterError(hook.spec.name));
        }
        self.hooks.push(Arc::new(hook));
        Ok(())
    }

    /// The hook named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<RegisteredHook>> {
        self.hooks.iter().find(|h| h.name() == name)
    }

    /// Every hook, in config order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<RegisteredHook>> {
        self.hooks.iter()
    }

    /// Whether no hook is configured.
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    fn names(&self) -> Vec<String> {
        self.hooks.iter().map(|h| h.spec.name.clone()).collect()
    }

    fn check_known<'a>(&self, names: impl Iterator<Item = &'a String>) -> Result<(), UnknownHook> {
        let unknown: BTreeSet<String> = names.filter(|n| self.get(n).is_none()).cloned().collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(UnknownHook {
                names: unknown.into_iter().collect(),
                configured: self.names(),
            })
        }
    }

    /// The hooks of a restore to `target_site`: the enabled hooks whose `sites` include the
    /// target, plus `add` (`--hook`), minus `remove` (`--no-hook`), in config order.
    ///
    /// # Errors
    ///
    /// [`UnknownHook`] when a name in `add` or `remove` is not configured.
    pub fn select(
        &self,
        target_site: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<HookSelection, UnknownHook> {
        self.check_known(add.iter().chain(remove))?;
        let names = self
            .hooks
            .iter()
            .filter(|h| h.selected_by_default(target_site) || add.contains(&h.spec.name))
            .filter(|h| !remove.contains(&h.spec.name))
            .map(|h| h.spec.name.clone())
            .collect();
        Ok(HookSelection { names })
    }

    /// The selected hooks, ready to call for one restore.
    ///
    /// # Errors
    ///
    /// [`UnknownHook`] when a stored selection names a hook the config no longer has.
    pub fn activate(
        &self,
        selection: &HookSelection,
        context: HookContext,
    ) -> Result<ActiveHooks, UnknownHook> {
        self.check_known(selection.names.iter())?;
        let hooks = self
            .hooks
            .iter()
            .filter(|h| selection.names.contains(&h.spec.name))
            .cloned()
            .collect();
        Ok(ActiveHooks::new(hooks, context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::{HookCall, HookError, HookKind, HookReply};

    #[derive(Debug)]
    struct Nop(String);

    #[async_trait::async_trait]
    impl crate::hooks::Hook for Nop {
        fn name(&self) -> &str {
            &self.0
        }
        async fn call(&self, _: &HookCall) -> Result<HookReply, HookError> {
            Ok(HookReply::default())
        }
    }

    fn hook(name: &str, enabled: bool, sites: Option<&[&str]>) -> RegisteredHook {
        RegisteredHook {
            spec: HookSpec {
                name: name.into(),
                point: HookPoint::MatchUser,
                kind: HookKind::Rhai,
                path: "x.rhai".into(),
                on_error: OnError::Fail,
                sites: sites.map(|s| s.iter().map(|s| (*s).to_owned()).collect()),
                enabled,
                capabilities: vec![],
                settings: Default::default(),
            },
            hook: Arc::new(Nop(name.into())),
        }
    }

    fn registry() -> HookRegistry {
        let mut r = HookRegistry::new();
        r.register(hook("a", true, None)).unwrap();
        r.register(hook("b", true, Some(&["cloud"]))).unwrap();
        r.register(hook("c", false, None)).unwrap();
        r
    }

    #[test]
    fn selection_is_enabled_for_the_site_plus_added_minus_removed_in_config_order() {
        let r = registry();
        let names = |s: HookSelection| s.names;
        assert_eq!(names(r.select("cloud", &[], &[]).unwrap()), ["a", "b"]);
        assert_eq!(names(r.select("dc", &[], &[]).unwrap()), ["a"]);
        assert_eq!(
            names(
                r.select("dc", &["c".into(), "b".into()], &["a".into()])
                    .unwrap()
            ),
            ["b", "c"]
        );
    }

    #[test]
    fn unknown_and_duplicate_names_are_errors() {
        let mut r = registry();
        let e = r
            .select("cloud", &["zz".into()], &["yy".into()])
            .unwrap_err();
        assert_eq!(e.names, ["yy", "zz"]);
        assert_eq!(
            e.to_string(),
            "no hook named \"yy\", \"zz\" is configured (configured: a, b, c)"
        );
        assert!(r.register(hook("a", true, None)).is_err());
        let stored = HookSelection {
            names: vec!["gone".into()],
        };
        let context = HookContext {
            restore_id: None,
            source_site: "s".into(),
            target_site: "t".into(),
            target_flavor: "cloud".into(),
            dry_run: true,
        };
        assert!(r.activate(&stored, context).is_err());
    }
}
