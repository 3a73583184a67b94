//! The WASM host against the real plugins and hostile fixtures of `plugins/` (built by the
//! test kit): each fixture is stopped with its typed error inside its limit, and the same
//! engine goes on serving afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use assetark_tests::kit::plugin_wasm;
use serde_json::{Value, json};

use super::attachments::Sites;
use super::*;

fn engine(limits: WasmLimits) -> Arc<WasmEngine> {
    Arc::new(WasmEngine::new(limits).expect("engine"))
}

fn quick() -> WasmLimits {
    WasmLimits {
        deadline: Duration::from_millis(200),
        memory_bytes: 16 << 20,
        ..WasmLimits::default()
    }
}

fn load(
    engine: &Arc<WasmEngine>,
    krate: &str,
    point: &str,
    granted: &[&str],
) -> Result<WasmModule, LoadError> {
    let bytes = std::fs::read(plugin_wasm(krate)).expect("module file");
    let granted: Vec<String> = granted.iter().map(|s| (*s).to_owned()).collect();
    WasmModule::load(engine, krate, point, &granted, &bytes)
}

fn t2t_request(longest: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "abi": 1, "point": "transform_attribute", "hook": "t2t", "settings": {},
        "context": {"restore_id": 1, "source_site": "dc", "target_site": "cloud",
                    "target_flavor": "cloud", "dry_run": false},
        "input": {"object_type": {"id": "12", "name": "Laptop"},
                  "attribute": {"id": "7", "name": "Notes", "type": 0,
                                "defaultType": {"id": 0, "name": "Text"}, "position": 3},
                  "stats": {"count": 10, "longest_text": longest, "distinct": 4}}
    }))
    .unwrap()
}

fn answer(out: &RawOutput) -> Value {
    serde_json::from_slice(&out.bytes).expect("answer JSON")
}

#[test]
fn text_to_textarea_turns_long_text_into_textarea() {
    let e = engine(WasmLimits::default());
    let m = load(&e, "text_to_textarea", "transform_attribute", &[]).unwrap();
    assert_eq!(m.manifest().name, "text-to-textarea");
    assert_eq!(m.manifest().abi, ABI_VERSION);
    let out = answer(&m.call_raw(&t2t_request(1204), None).unwrap());
    assert_eq!(out["abi"], 1);
    assert_eq!(out["decision"]["attribute"]["defaultType"]["id"], 9);
    assert_eq!(out["decision"]["attribute"]["position"], 3);
    let out = answer(&m.call_raw(&t2t_request(100), None).unwrap());
    assert_eq!(out["decision"], Value::Null);
}

#[test]
fn a_point_the_manifest_does_not_list_is_refused_at_load() {
    let e = engine(WasmLimits::default());
    let err = load(&e, "text_to_textarea", "match_user", &[]).unwrap_err();
    assert!(err.to_string().contains("not match_user"), "{err}");
}

#[test]
fn endless_loop_is_stopped_at_its_deadline() {
    let e = engine(quick());
    let m = load(&e, "fixture_endless_loop", "transform_attribute", &[]).unwrap();
    let started = Instant::now();
    let err = m.call_raw(&t2t_request(1), None).unwrap_err();
    let took = started.elapsed();
    assert_eq!(err, CallError::Timeout { limit_ms: 200 });
    // Stopped by the deadline, not before it, and within a few ticks after it.
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(
        took < Duration::from_millis(200) + 50 * EPOCH_TICK,
        "{took:?}"
    );
    still_serves(&e);
}

#[test]
fn memory_hog_hits_the_memory_cap() {
    let e = engine(quick());
    let m = load(&e, "fixture_memory_hog", "transform_attribute", &[]).unwrap();
    let err = m.call_raw(&t2t_request(1), None).unwrap_err();
    assert_eq!(
        err,
        CallError::Memory {
            limit_bytes: 16 << 20
        }
    );
    still_serves(&e);
}

#[test]
fn deep_recursion_exhausts_the_wasm_stack() {
    let e = engine(quick());
    let m = load(&e, "fixture_deep_recursion", "transform_attribute", &[]).unwrap();
    let err = m.call_raw(&t2t_request(1), None).unwrap_err();
    assert_eq!(
        err,
        CallError::Stack {
            limit_bytes: WasmLimits::default().stack_bytes
        }
    );
    still_serves(&e);
}

#[test]
fn huge_output_is_refused_and_its_log_flood_bounded() {
    let e = engine(WasmLimits::default());
    let m = load(&e, "fixture_huge_output", "transform_attribute", &[]).unwrap();
    let err = m.call_raw(&t2t_request(1), None).unwrap_err();
    let CallError::Output { message } = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("more than the limit of 1048576"),
        "{message}"
    );
    still_serves(&e);
}

#[test]
fn log_lines_are_cut_and_counted() {
    // The same fixture with a large output limit: the answer passes and the logs show.
    let e = engine(WasmLimits {
        output_bytes: 8 << 20,
        ..WasmLimits::default()
    });
    let m = load(&e, "fixture_huge_output", "transform_attribute", &[]).unwrap();
    let out = m.call_raw(&t2t_request(1), None).unwrap();
    let limits = WasmLimits::default();
    assert_eq!(out.logs.len(), limits.log_lines);
    assert_eq!(out.logs_dropped, 10_000 - limits.log_lines as u64);
    assert!(
        out.logs
            .iter()
            .all(|l| l.message.len() <= limits.log_line_bytes + 3)
    );
}

#[test]
fn wrong_abi_version_is_refused_at_load_saying_so() {
    let e = engine(WasmLimits::default());
    let err = load(&e, "fixture_wrong_abi", "transform_attribute", &[]).unwrap_err();
    let LoadError::Invalid { message } = &err else {
        panic!("{err:?}");
    };
    assert!(message.contains("ABI version 2"), "{message}");
    assert!(message.contains("speaks version 1"), "{message}");
}

#[test]
fn an_ungranted_capability_is_refused_at_load_and_a_granted_one_loads() {
    let e = engine(WasmLimits::default());
    let err = load(
        &e,
        "fixture_ungranted_capability",
        "after_object_restored",
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"attachments\""), "{err}");
    assert!(err.to_string().contains("does not grant"), "{err}");
    let m = load(
        &e,
        "fixture_ungranted_capability",
        "after_object_restored",
        &[CAP_ATTACHMENTS],
    )
    .unwrap();
    assert_eq!(m.manifest().capabilities, vec![CAP_ATTACHMENTS.to_owned()]);
    let err = load(&e, "text_to_textarea", "transform_attribute", &["network"]).unwrap_err();
    assert!(
        err.to_string().contains("\"network\" is not a capability"),
        "{err}"
    );
}

#[test]
fn garbage_is_a_compile_error() {
    let e = engine(WasmLimits::default());
    let err = WasmModule::load(&e, "x", "transform_attribute", &[], b"not wasm").unwrap_err();
    assert!(matches!(err, LoadError::Compile { .. }), "{err:?}");
}

fn still_serves(e: &Arc<WasmEngine>) {
    let m = load(e, "text_to_textarea", "transform_attribute", &[]).unwrap();
    let out = answer(&m.call_raw(&t2t_request(300), None).unwrap());
    assert_eq!(out["decision"]["attribute"]["defaultType"]["id"], 9);
}

/// A site with attachments in memory (the capability's plumbing; the wire is tested end to
/// end against the simulator).
struct MemorySite {
    offered: bool,
    uploads: parking_lot::Mutex<Vec<(String, NewAttachment)>>,
}

#[async_trait::async_trait]
impl AttachmentSite for MemorySite {
    async fn list(&self, object_id: &str) -> Result<Vec<AttachmentInfo>, AttachmentError> {
        if !self.offered {
            return Err(AttachmentError::NotOffered {
                message: "site \"cloud\": object attachments not offered by the cloud API".into(),
            });
        }
        Ok(vec![AttachmentInfo {
            id: format!("{object_id}-a"),
            filename: "manual.txt".into(),
            mime_type: Some("text/plain".into()),
            size_bytes: Some(5),
            comment: None,
        }])
    }

    async fn download(&self, _id: &str) -> Result<Vec<u8>, AttachmentError> {
        Ok(b"hello".to_vec())
    }

    async fn upload(
        &self,
        object_id: &str,
        file: NewAttachment,
    ) -> Result<AttachmentInfo, AttachmentError> {
        if !self.offered {
            return Err(AttachmentError::NotOffered {
                message: "site \"cloud\": object attachments not offered by the cloud API".into(),
            });
        }
        let info = AttachmentInfo {
            id: "new".into(),
            filename: file.filename.clone(),
            mime_type: file.mime_type.clone(),
            size_bytes: Some(file.bytes.len() as u64),
            comment: None,
        };
        self.uploads.lock().push((object_id.to_owned(), file));
        Ok(info)
    }
}

struct TwoSites {
    dc: Arc<MemorySite>,
    cloud: Arc<MemorySite>,
}

impl SiteLookup for TwoSites {
    fn attachment_site(&self, name: &str) -> Option<Arc<dyn AttachmentSite>> {
        match name {
            "dc" => Some(Arc::clone(&self.dc) as Arc<dyn AttachmentSite>),
            "cloud" => Some(Arc::clone(&self.cloud) as Arc<dyn AttachmentSite>),
            _ => None,
        }
    }
}

fn restored_request(target: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "abi": 1, "point": "after_object_restored", "hook": "att", "settings": {},
        "context": {"restore_id": 3, "source_site": "dc", "target_site": target,
                    "target_flavor": "cloud", "dry_run": false},
        "input": {"object_type": {"id": "1", "name": "Laptop"},
                  "old": {"id": "41", "objectKey": "IT-41", "attributes": []},
                  "new": {"id": "900", "objectKey": "NEW-900"}}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_travel_through_the_capability_and_cloud_says_not_offered() {
    let e = engine(WasmLimits::default());
    let m = Arc::new(
        load(
            &e,
            "attachments",
            "after_object_restored",
            &[CAP_ATTACHMENTS],
        )
        .unwrap(),
    );
    let lookup = Arc::new(TwoSites {
        dc: Arc::new(MemorySite {
            offered: true,
            uploads: Default::default(),
        }),
        cloud: Arc::new(MemorySite {
            offered: false,
            uploads: Default::default(),
        }),
    });
    let call = |target: &'static str| {
        let m = Arc::clone(&m);
        let sites = Sites {
            lookup: Some(Arc::clone(&lookup) as Arc<dyn SiteLookup>),
            source: "dc".into(),
            target: target.into(),
            runtime: Some(tokio::runtime::Handle::current()),
        };
        tokio::task::spawn_blocking(move || m.call_raw(&restored_request(target), Some(sites)))
    };
    // DC to DC: the file arrives on the new object.
    let out = answer(&call("dc").await.unwrap().unwrap());
    assert_eq!(out["note"], "IT-41: 1 attachment(s) carried");
    {
        let uploads = lookup.dc.uploads.lock();
        assert_eq!(uploads.len(), 1);
        assert_eq!(uploads[0].0, "900");
        assert_eq!(uploads[0].1.bytes, b"hello");
    }
    // DC to Cloud: said plainly, no failure.
    let out = answer(&call("cloud").await.unwrap().unwrap());
    assert_eq!(out["decision"], Value::Null);
    let note = out["note"].as_str().unwrap();
    assert!(
        note.contains("target site 'cloud' offers no attachments"),
        "{note}"
    );
    assert!(note.contains("not offered by the cloud API"), "{note}");
    // A site the daemon does not know: the plugin fails, on_error decides.
    let out = answer(&call("elsewhere").await.unwrap().unwrap());
    assert!(out["error"].as_str().unwrap().contains("NoSite"), "{out}");
}

mod config {
    //! `kind = "wasm"` through the config loader: modules load at config time, and every
    //! refusal is a config problem naming the file.

    use std::path::Path;

    use assetark_tests::kit::plugin_wasm;

    use crate::config::{Config, ConfigError, Sources};

    fn parse(hooks: &str) -> Result<Config, ConfigError> {
        let text = format!(
            "[store]\npath = \"/var/lib/assetark/a.db\"\n[control]\nsocket = \"/run/a.sock\"\n{hooks}"
        );
        let sources = Sources {
            env: &|_| None,
            read: &|p: &Path| std::fs::read_to_string(p),
        };
        Config::parse(&text, Path::new("/etc/assetark/assetark.toml"), &sources)
    }

    fn hook(name: &str, point: &str, krate: &str, extra: &str) -> String {
        format!(
            "[[hooks]]\nname = \"{name}\"\npoint = \"{point}\"\nkind = \"wasm\"\npath = {:?}\n{extra}\n",
            plugin_wasm(krate).display().to_string()
        )
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
    fn wasm_hooks_load_with_the_config_and_share_one_engine() {
        let cfg = parse(&format!(
            "{}{}",
            hook("t2t", "transform_attribute", "text_to_textarea", ""),
            hook(
                "att",
                "after_object_restored",
                "attachments",
                "capabilities = [\"attachments\"]"
            ),
        ))
        .expect("valid");
        assert_eq!(cfg.hooks.iter().count(), 2);
        assert!(cfg.wasm.is_some());
    }

    #[test]
    fn refused_modules_are_config_problems_naming_the_file() {
        let p = problems(&format!(
            "{}{}{}",
            hook("abi", "transform_attribute", "fixture_wrong_abi", ""),
            hook(
                "cap",
                "after_object_restored",
                "fixture_ungranted_capability",
                ""
            ),
            hook("att", "after_object_restored", "attachments", ""),
        ));
        assert_eq!(p.len(), 3, "{p:#?}");
        assert!(p[0].starts_with("hooks[0].path: "), "{}", p[0]);
        assert!(p[0].contains("fixture_wrong_abi.wasm"), "{}", p[0]);
        assert!(p[0].contains("ABI version 2"), "{}", p[0]);
        assert!(
            p[1].contains("fixture_ungranted_capability.wasm"),
            "{}",
            p[1]
        );
        assert!(p[1].contains("\"attachments\""), "{}", p[1]);
        assert!(p[2].contains("attachments.wasm"), "{}", p[2]);
        assert!(p[2].contains("does not grant"), "{}", p[2]);
    }
}
