//! Deterministic site datasets: the user directory and groups (`directory`), the Assets
//! "cmdb" schemas (`cmdb`) and objects (`objects`), and the Jira fields and issues (`issues`).
//!
//! Everything is derived from the site's configuration and seed: timestamps are a fixed base
//! plus seeded offsets, never the wall clock, so the same configuration builds the same state.

mod cmdb;
mod dc_extras;
pub mod directory;
pub mod issues;
mod objects;

use crate::config::{DatasetKind, Flavor, SiteConfig};
use crate::model::Millis;
use crate::ws::Workspace;

/// 2024-01-01T00:00:00Z: dataset objects are created from this instant on.
pub const BASE_MILLIS: Millis = 1_704_067_200_000;
/// Objects' creation times spread over two years after `BASE_MILLIS`.
pub const SPAN_MILLIS: Millis = 2 * 365 * 86_400_000;

/// Builds a site's workspace: its user directory, groups, Jira fields, and the dataset.
pub fn build(site: &SiteConfig, ws_id: &str) -> Workspace {
    let (users, groups, actor) = directory::directory(site);
    let mut ws = Workspace::new(ws_id.to_string(), users, groups, actor);
    ws.flavor = site.flavor;
    issues::add_fields(&mut ws);
    let cfg = &site.dataset;
    match cfg.kind {
        DatasetKind::Empty => {}
        DatasetKind::Cmdb => {
            let plan = cmdb::build_schema(&mut ws);
            objects::populate(&mut ws, &plan, cfg);
            issues::add_issues(&mut ws, cfg.objects, cfg.seed);
            if site.flavor == Flavor::Dc {
                dc_extras::add(&mut ws, cfg.seed);
            }
        }
    }
    ws
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::config::{DatasetConfig, Flavor};
    use crate::model::{AttrKind, DefaultType, Val, history_kind};

    fn site(dataset: DatasetConfig) -> SiteConfig {
        SiteConfig {
            name: "acme".into(),
            email: "site-admin@example.com".into(),
            token: "t".into(),
            password: None,
            extra_tokens: vec![],
            workspace_id: None,
            cloud_id: None,
            flavor: crate::config::Flavor::Cloud,
            rate_limits: None,
            dataset,
            users: vec![],
        }
    }

    fn cmdb(objects: u32, seed: u64, from_data_center: bool) -> Workspace {
        let cfg = DatasetConfig {
            kind: DatasetKind::Cmdb,
            objects,
            seed,
            from_data_center,
            history_updates: 1,
            ..DatasetConfig::default()
        };
        build(&site(cfg), "ws-1")
    }

    fn schema_id(ws: &Workspace, key: &str) -> u32 {
        ws.schemas
            .values()
            .find(|s| s.key == key)
            .map(|s| s.id)
            .expect("schema")
    }

    fn dump(ws: &Workspace, id: u32) -> String {
        let o = ws.get_object(id).expect("object");
        format!(
            "{} {} {} {} {:?} {:?}",
            ws.object_label(o),
            o.type_id,
            o.created,
            o.updated,
            o.values,
            ws.history.get(&id)
        )
    }

    #[test]
    fn dataset_is_deterministic() {
        let (a, b) = (cmdb(400, 7, true), cmdb(400, 7, true));
        assert_eq!(a.object_count(), b.object_count());
        for id in 1..=400 {
            assert_eq!(dump(&a, id), dump(&b, id));
        }
        let hist = |ws: &Workspace| ws.history.values().map(Vec::len).sum::<usize>();
        assert_eq!(hist(&a), hist(&b));
        assert_eq!(format!("{:?}", a.issues), format!("{:?}", b.issues));
        assert_eq!(format!("{:?}", a.users), format!("{:?}", b.users));
        let c = cmdb(400, 8, true);
        assert!(
            (1..=400).any(|id| dump(&a, id) != dump(&c, id)),
            "another seed gives other data"
        );
    }

    #[test]
    fn dataset_empty_site() {
        let ws = build(&site(DatasetConfig::default()), "ws-0");
        assert!(ws.schemas.is_empty());
        assert_eq!(ws.object_count(), 0);
        assert!(ws.issues.is_empty());
        assert_eq!(ws.users[ws.actor as usize].display_name, "Site Admin");
        let f: Vec<(&str, u32, &str)> = ws
            .fields
            .iter()
            .map(|f| (f.id.as_str(), f.custom_id, f.name.as_str()))
            .collect();
        assert_eq!(
            f,
            [
                ("customfield_10191", 10191, "Affected assets"),
                ("customfield_10192", 10192, "Owner asset")
            ]
        );
    }

    #[test]
    fn dataset_object_counts_exact() {
        for n in [0, 1, 5, 13, 14, 97, 250] {
            let ws = cmdb(n, 3, false);
            assert_eq!(ws.object_count(), n as usize, "N = {n}");
            assert_eq!(ws.issues.len() as u32, issues::issue_count(n));
        }
    }

    #[test]
    fn dataset_schema_covers_every_kind() {
        let ws = cmdb(200, 1, false);
        let itsm = schema_id(&ws, "ITSM");
        let loc = schema_id(&ws, "LOC");
        assert!(ws.schemas[&loc].config.allow_other_object_schema);
        let in_itsm: Vec<_> = ws
            .attrs
            .values()
            .filter(|a| ws.types[&a.object_type_id].schema_id == itsm)
            .collect();
        let codes: HashSet<i64> = in_itsm.iter().map(|a| a.kind.type_code()).collect();
        assert_eq!(codes, HashSet::from([0, 1, 2, 4, 7]));
        for id in 0..=11 {
            let dt = DefaultType::from_id(id).expect("default type");
            assert!(
                in_itsm.iter().any(|a| a.kind == AttrKind::Default(dt)),
                "{dt:?}"
            );
        }
        let has = |f: &dyn Fn(&crate::model::Attribute) -> bool| in_itsm.iter().any(|a| f(a));
        assert!(has(&|a| a.unique));
        assert!(has(
            &|a| a.max_cardinality == -1 && a.kind.default_type() == Some(DefaultType::Select)
        ));
        assert!(has(
            &|a| a.include_child_object_types && matches!(a.kind, AttrKind::Object { .. })
        ));
        assert!(has(&|a| a.min_cardinality >= 1
            && !a.label
            && a.system.is_none()));
        assert!(has(&|a| a.suffix.as_deref() == Some("GB")));
        assert!(has(&|a| a.summable));
        assert!(has(
            &|a| a.kind == AttrKind::Status && !a.type_value_multi.is_empty()
        ));
        assert!(ws.attrs.values().any(|a| a.regex_validation.is_some()));
        assert!(ws.types.values().any(|t| t.abstract_type && t.inherited));
        assert!(
            ws.icons
                .values()
                .filter(|i| i.schema_id == Some(itsm))
                .count()
                == 2
        );
        let custom: HashSet<u32> = ws
            .icons
            .values()
            .filter(|i| i.schema_id.is_some())
            .map(|i| i.id)
            .collect();
        assert!(ws.types.values().any(|t| custom.contains(&t.icon_id)));
        assert_eq!(
            ws.statuses
                .values()
                .filter(|s| s.schema_id == Some(itsm))
                .count(),
            2
        );
        assert_eq!(
            ws.statuses
                .values()
                .filter(|s| s.schema_id == Some(loc))
                .count(),
            1
        );
        assert!(
            ws.ref_types
                .values()
                .any(|r| r.schema_id == Some(itsm) && r.name == "Hosted on")
        );
        for o in ws.objects() {
            let label = ws.object_label(o);
            assert!(
                !label.is_empty() && !label.contains(crate::ws::RESERVED_CHARS),
                "{label:?}"
            );
        }
    }

    #[test]
    fn dataset_values_revalidate() {
        // Every stored value passes the Cloud rules again (the API wrote them), and unique
        // values are unique; only forced Data Center text is over-long.
        let ws = cmdb(500, 11, true);
        let mut seen = HashSet::new();
        for o in ws.objects() {
            for av in &o.values {
                let a = &ws.attrs[&av.attr_id];
                for v in av.vals.iter() {
                    let raw = match v {
                        Val::Text(t) if t.chars().count() > 255 => continue,
                        Val::Text(t) => t.to_string(),
                        Val::Ref(id) | Val::Status(id) => id.to_string(),
                    };
                    assert_eq!(
                        ws.parse_value(a, &raw).as_ref(),
                        Ok(v),
                        "{} {raw:?}",
                        a.name
                    );
                    if a.unique {
                        assert!(seen.insert((a.id, raw.to_lowercase())), "duplicate {raw}");
                    }
                }
            }
        }
        assert!(seen.len() > 100);
    }

    fn refs(ws: &Workspace, o: u32, attr: u32) -> Vec<u32> {
        let vals = ws
            .get_object(o)
            .map(|o| o.values_of(attr).to_vec())
            .unwrap_or_default();
        vals.into_iter()
            .filter_map(|v| if let Val::Ref(r) = v { Some(r) } else { None })
            .collect()
    }

    fn attr_named(ws: &Workspace, type_name: &str, name: &str) -> u32 {
        let t = ws
            .types
            .values()
            .find(|t| t.name == type_name)
            .expect("type")
            .id;
        ws.visible_attrs(t)
            .into_iter()
            .find(|a| ws.attrs[a].name == name)
            .expect("attribute")
    }

    #[test]
    fn dataset_cross_schema_and_cycles() {
        let ws = cmdb(600, 5, false);
        let loc = schema_id(&ws, "LOC");
        let cross: Vec<u32> = ws
            .attrs
            .values()
            .filter(|a| matches!(a.kind, AttrKind::Object { target_type, .. } if ws.types[&target_type].schema_id == loc))
            .filter(|a| ws.types[&a.object_type_id].schema_id != loc)
            .map(|a| a.id)
            .collect();
        assert!(!cross.is_empty());
        assert!(
            ws.objects()
                .any(|o| cross.iter().any(|a| !o.values_of(*a).is_empty()))
        );
        // Application.Runs on -> Server and back through Server.Runs.
        let (runs_on, runs) = (
            attr_named(&ws, "Application", "Runs on"),
            attr_named(&ws, "Server", "Runs"),
        );
        let app_cycle = ws.objects().any(|a| {
            refs(&ws, a.id, runs_on)
                .iter()
                .any(|s| refs(&ws, *s, runs).contains(&a.id))
        });
        assert!(app_cycle);
        // Servers hosted on each other.
        let hosted = attr_named(&ws, "Server", "Hosted on");
        let ring = ws.objects().any(|s| {
            let mut cur = s.id;
            (0..3).all(|_| match refs(&ws, cur, hosted).first() {
                Some(n) => {
                    cur = *n;
                    true
                }
                None => false,
            }) && cur == s.id
        });
        assert!(ring);
        // Cycle references were written as updates, so history shows them.
        let mut kinds: HashMap<u8, usize> = HashMap::new();
        for e in ws.history.values().flatten() {
            *kinds.entry(e.kind).or_default() += 1;
        }
        assert_eq!(kinds[&history_kind::CREATED], 600);
        assert!(kinds[&history_kind::VALUE_CHANGED] > 50);
        assert!(kinds[&history_kind::VALUE_ADDED] > 0);
    }

    fn longest_text(ws: &Workspace) -> usize {
        let text: HashSet<u32> = ws
            .attrs
            .values()
            .filter(|a| a.kind == AttrKind::Default(DefaultType::Text))
            .map(|a| a.id)
            .collect();
        ws.objects()
            .flat_map(|o| o.values.iter().filter(|v| text.contains(&v.attr_id)))
            .flat_map(|v| v.vals.iter())
            .map(|v| {
                if let Val::Text(t) = v {
                    t.chars().count()
                } else {
                    0
                }
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn dataset_data_center_long_text() {
        assert!(longest_text(&cmdb(300, 2, true)) > 255);
        assert!(longest_text(&cmdb(300, 2, false)) <= 255);
    }

    #[test]
    fn dataset_twin_users_are_used() {
        let ws = cmdb(200, 4, false);
        let alex: Vec<&str> = ws
            .users
            .iter()
            .filter(|u| u.display_name == "Alex Morgan")
            .map(|u| u.account_id.as_str())
            .collect();
        assert_eq!(alex.len(), 2);
        let user_attrs: HashSet<u32> = ws
            .attrs
            .values()
            .filter(|a| a.kind == AttrKind::User)
            .map(|a| a.id)
            .collect();
        let used: HashSet<String> = ws
            .objects()
            .flat_map(|o| o.values.iter().filter(|v| user_attrs.contains(&v.attr_id)))
            .flat_map(|v| v.vals.iter())
            .filter_map(|v| {
                if let Val::Text(t) = v {
                    Some(t.to_string())
                } else {
                    None
                }
            })
            .collect();
        assert!(alex.iter().all(|a| used.contains(*a)));
    }

    #[test]
    fn dataset_issues_point_at_objects() {
        let ws = cmdb(300, 9, false);
        assert_eq!(ws.issues.len(), 15);
        let keys: Vec<&str> = ws.issues.values().map(|i| i.key.as_str()).collect();
        assert_eq!(keys[0], "ITSM-1");
        assert_eq!(keys[14], "ITSM-15");
        for i in ws.issues.values() {
            let affected = &i
                .assets
                .iter()
                .find(|(f, _)| f == issues::AFFECTED_ASSETS)
                .expect("field")
                .1;
            assert!((1..=3).contains(&affected.len()));
            assert!(
                affected
                    .iter()
                    .all(|id| ws.get_object(*id).is_some_and(|o| o.created < i.created))
            );
            assert!(i.updated >= i.created && i.created >= BASE_MILLIS);
        }
        assert!(
            ws.issues
                .values()
                .any(|i| i.assets.iter().any(|(f, _)| f == issues::OWNER_ASSET))
        );
    }

    #[test]
    fn dataset_data_center_extras() {
        let mut cfg = site(DatasetConfig {
            kind: DatasetKind::Cmdb,
            objects: 600,
            seed: 4,
            from_data_center: false,
            history_updates: 1,
            ..DatasetConfig::default()
        });
        let cloud = build(&cfg, "ws-c");
        cfg.flavor = Flavor::Dc;
        let dc = build(&cfg, "ws-d");
        // The same schemas and object counts per type as a Cloud site.
        assert_eq!(dc.object_count(), 600);
        for t in cloud.types.keys() {
            assert_eq!(cloud.type_object_count(*t), dc.type_object_count(*t));
        }
        let share = |n: usize| n as f64 / 600.0;
        let commented = share(dc.comments.len());
        let attached = share(dc.attachments.len());
        assert!((0.27..0.40).contains(&commented), "{commented}");
        assert!((0.14..0.26).contains(&attached), "{attached}");
        assert!(cloud.comments.is_empty() && cloud.attachments.is_empty());
        let files: Vec<_> = dc.attachments.values().flatten().collect();
        assert!(
            files
                .iter()
                .all(|a| !a.bytes.is_empty() && a.bytes.len() < 64 * 1024)
        );
        let distinct: HashSet<&[u8]> = files.iter().map(|a| a.bytes.as_ref()).collect();
        assert!(distinct.len() < files.len(), "some files are shared");
        assert!(files.iter().any(|a| a.mime_type == "image/png"));
        for c in dc.comments.values().flatten() {
            assert!(c.created > dc.get_object(c.object_id).unwrap().created);
        }
        let longest = longest_text(&dc);
        assert!(longest > 255 && longest <= 450, "{longest}");
        assert!(
            dc.users
                .iter()
                .all(|u| u.account_id.starts_with("JIRAUSER"))
        );
        assert_eq!(dc.text_max_chars(), 450);
    }
}
