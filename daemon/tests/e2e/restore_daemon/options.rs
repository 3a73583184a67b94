//! Restore options through the daemon and the CLI as real processes (issue 9): `backups types`
//! (text and `--json`, and `GET /v1/backups/{id}/objecttypes` with a clear 404), `restore start
//! --types` (a bad name refused at once naming it, the dry run's `summary`, the restore) and
//! the restore record's detail fields in `restores show` (text and `--json`); a name two
//! types share is refused naming both paths, and its path or id restores; `--with-icons`
//! into an existing schema keeps its types' icons and says so (dry run and log).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use assetark::api::client::ClientError;
use assetark::restore::RestorePlan;
use assetark::store::{AsyncStore, NewBackup, NewEntry, Phase, SqliteStore, kind};
use assetark_tests::kit;
use serde_json::Value;

use super::OBJECTS;
use super::support::Env;

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_are_listed_picked_and_recorded() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    let backup = env.backup("ITSM").await;
    let b = backup.to_string();

    // The tree: parents before their children, counts adding up.
    let tree = env.cli_json(&["backups", "types", &b]).await;
    assert_eq!(tree["backup_id"], backup, "{tree}");
    assert_eq!(tree["schema_key"], "ITSM");
    let types = tree["types"].as_array().expect("types").clone();
    let by_path: BTreeMap<String, &Value> = types
        .iter()
        .map(|t| (t["path"].as_str().expect("path").to_owned(), t))
        .collect();
    let server = by_path["Hardware/Server"];
    let vserver = by_path["Hardware/Server/Virtual Server"];
    assert_eq!(vserver["depth"], 2);
    assert_eq!(vserver["parent_id"], server["id"]);
    assert_eq!(
        server["objects_with_children"].as_u64(),
        Some(server["objects"].as_u64().unwrap() + vserver["objects"].as_u64().unwrap())
    );
    let pos = |p: &str| types.iter().position(|t| t["path"] == p).unwrap();
    assert!(pos("Hardware") < pos("Hardware/Server"));
    assert!(pos("Hardware/Server") < pos("Hardware/Server/Virtual Server"));
    let total: u64 = types.iter().map(|t| t["objects"].as_u64().unwrap()).sum();
    let show = env.cli_json(&["backups", "show", &b]).await;
    assert_eq!(Some(total), show["object_count"].as_u64(), "{show}");
    let text = env.cli(&["backups", "types", &b]).await;
    text.ok(&["backups", "types"]);
    assert!(
        text.stdout.contains("\n    Virtual Server"),
        "{}",
        text.stdout
    );

    // A bad id: 404 with the error body.
    match env.client().get("/v1/backups/999/objecttypes").await {
        Err(ClientError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (404, "backup_not_found"));
        }
        other => panic!("{other:?}"),
    }

    // A name no type has: refused before anything is stored, naming it.
    let start = |extra: &[&str]| {
        let mut args = vec![
            "restore",
            "start",
            b.as_str(),
            "--to",
            "new-schema",
            "--name",
            "Servers",
            "--key",
            "SRV",
            "--site",
            "s2",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let bad = start(&["--types", "Virtual Server,Spaceship"]);
    let out = env.cli(&as_strs(&bad)).await;
    out.fails(1, "no object type \"Spaceship\"");
    let list = env.cli_json(&["restores", "list"]).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");

    // The dry run lists what is dropped; the restore follows it.
    let dry = start(&["--types", "Virtual Server", "--dry-run"]);
    let plan = env.cli_json(&as_strs(&dry)).await;
    let dropped: Vec<String> = plan["summary"]["dropped_attributes"]
        .as_array()
        .expect("dropped")
        .iter()
        .map(|a| {
            format!(
                "{}.{}",
                a["object_type"].as_str().unwrap(),
                a["name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(dropped.contains(&"Server.Office".to_owned()), "{dropped:?}");
    assert!(dropped.contains(&"Server.Runs".to_owned()), "{dropped:?}");
    assert_eq!(plan["types"]["parents"][0]["path"], "Hardware", "{plan}");
    let run = start(&["--types", "Virtual Server", "--wait"]);
    let done = env.cli_json(&as_strs(&run)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let id = done["id"].as_i64().expect("id");
    let r = env.show(id).await;
    assert_eq!(r["destination_kind"], "another-site", "{r}");
    assert_eq!(
        r["specific_types"],
        serde_json::json!(["Hardware/Server/Virtual Server"])
    );
    assert_eq!(r["duplicates"], false);
    assert_eq!(r["history_restored"], false);
    assert_eq!(r["icons_restored"], false);
    let servers = server["objects_with_children"].as_u64().unwrap();
    let created = r["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stage"] == "object_entries")
        .and_then(|c| c["done"].as_u64());
    assert_eq!(created, Some(servers));
    let text = env.cli(&["restores", "show", &id.to_string()]).await;
    text.ok(&["restores", "show"]);
    for line in [
        "kind         another-site",
        "types        Hardware/Server/Virtual Server",
        "duplicates   no",
        "history      no",
        "icons        no",
    ] {
        assert!(text.stdout.contains(line), "{line}: {}", text.stdout);
    }
    // Through the target's API: the servers are there and nothing else.
    let originals = env.site("s2").originals("SRV").await;
    assert_eq!(originals.len() as u64, servers);
    env.stop().await;
}

/// Copies backup `from` of the store at `db` into a new complete backup in which the object
/// type `name` is called `new_name`, and returns its id. The simulator (like Assets) refuses
/// two types of one name in a schema, so a backup holding them is written here through the
/// store's own backup path (`begin_backup`, `put_entries`, `complete_backup`).
async fn copy_renaming_type(db: &Path, from: i64, name: &str, new_name: &str) -> i64 {
    let store = AsyncStore::new(Arc::new(SqliteStore::open(db).expect("store")));
    let b = store.get_backup(from).await.expect("backup");
    let to = store
        .begin_backup(NewBackup {
            site: b.site.clone(),
            schema_key: b.schema_key.clone(),
            schema_id: b.schema_id.clone(),
            backup_type: b.backup_type,
            description: "two types of one name".into(),
            started_at: b.started_at,
        })
        .await
        .expect("begin");
    let mut renamed = 0;
    for k in [
        kind::SCHEMA,
        kind::CONFIG,
        kind::STATUS_TYPE,
        kind::REFERENCE_TYPE,
        kind::ICON,
        kind::ICON_PNG,
        kind::OBJECT_TYPE,
        kind::ATTRIBUTE,
        kind::OBJECT,
        kind::HISTORY,
    ] {
        let mut after: Option<String> = None;
        loop {
            let page = store
                .entry_page(from, k, after.as_deref(), 500)
                .await
                .expect("page");
            let Some(last) = page.last() else { break };
            after = Some(last.original_id.clone());
            let entries = page
                .into_iter()
                .map(|e| {
                    let mut value: Value = serde_json::from_slice(&e.json).expect("json");
                    if k == kind::OBJECT_TYPE && value["name"] == name {
                        value["name"] = Value::from(new_name);
                        renamed += 1;
                    }
                    NewEntry {
                        kind: k.to_owned(),
                        original_id: e.original_id,
                        value,
                    }
                })
                .collect();
            store.put_entries(to, entries).await.expect("put");
        }
    }
    assert_eq!(renamed, 1, "one type {name:?} in backup {from}");
    store
        .complete_backup(to, b.ended_at.expect("ended"))
        .await
        .expect("complete");
    store
        .set_phase(to, Phase::History, b.history.clone())
        .await
        .expect("phase");
    to
}

/// Issue 9, `--types` with a name several object types share (`Laptop` under `Hardware` and
/// under `Network`): refused at once with the candidates as paths and ids, nothing stored and
/// nothing created on the target; the path form and the id form then each restore their
/// type with its parent and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_type_name_is_refused_and_its_path_or_id_restores() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    let first = env.backup("ITSM").await;
    env.stop().await;
    let backup = copy_renaming_type(&env.db(), first, "Switch", "Laptop").await;
    env.start().await;
    let b = backup.to_string();

    let tree = env.cli_json(&["backups", "types", &b]).await;
    let by_path: BTreeMap<String, Value> = tree["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (t["path"].as_str().expect("path").to_owned(), t.clone()))
        .collect();
    let (hw, net) = (&by_path["Hardware/Laptop"], &by_path["Network/Laptop"]);
    let (hw_id, net_id) = (
        hw["id"].as_str().expect("id").to_owned(),
        net["id"].as_str().expect("id").to_owned(),
    );
    let count = |t: &Value| t["objects"].as_u64().expect("objects");
    assert!(count(hw) > 0 && count(net) > 0, "{tree}");

    let start = |key: &str, types: &str| {
        [
            "restore",
            "start",
            b.as_str(),
            "--to",
            "new-schema",
            "--name",
            key,
            "--key",
            key,
            "--site",
            "s2",
            "--types",
            types,
            "--wait",
        ]
        .map(str::to_owned)
    };
    let ambiguous = format!(
        "\"Laptop\" names 2 object types (Hardware/Laptop (id {hw_id}), Network/Laptop (id \
         {net_id})): give its path or id"
    );
    env.cli(&as_strs(&start("AMB", "Laptop")))
        .await
        .fails(1, &ambiguous);
    // The dry run (planned, not stored) refuses it alike.
    let mut dry = start("AMB", "Laptop").to_vec();
    dry.pop();
    dry.push("--dry-run".to_owned());
    env.cli(&as_strs(&dry)).await.fails(1, &ambiguous);
    let list = env.cli_json(&["restores", "list"]).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
    assert!(
        env.site("s2").schema_ids().await.is_empty(),
        "nothing created on the target"
    );

    // The path: Network and its Laptops (the former switches), nothing else.
    let done = env
        .cli_json(&as_strs(&start("NETL", "Network/Laptop")))
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let r = env.show(done["id"].as_i64().expect("id")).await;
    assert_eq!(r["specific_types"], serde_json::json!(["Network/Laptop"]));
    let s2 = env.site("s2");
    let schema = kit::schema_id(&s2, "NETL").await;
    let types = |schema: String| {
        let s2 = s2.clone();
        async move {
            s2.list(&format!("/objectschema/{schema}/objecttypes/flat"))
                .await
                .iter()
                .map(|t| kit::s(&t["name"]))
                .collect::<BTreeSet<String>>()
        }
    };
    assert_eq!(
        types(schema).await,
        BTreeSet::from(["Network".to_owned(), "Laptop".to_owned()])
    );
    let network = count(&by_path["Network"]);
    assert_eq!(
        s2.originals("NETL").await.len() as u64,
        network + count(net)
    );

    // The id: Hardware and its Laptops.
    let done = env.cli_json(&as_strs(&start("HWL", &hw_id))).await;
    assert_eq!(done["status"], "completed", "{done}");
    let r = env.show(done["id"].as_i64().expect("id")).await;
    assert_eq!(r["specific_types"], serde_json::json!(["Hardware/Laptop"]));
    let schema = kit::schema_id(&s2, "HWL").await;
    assert_eq!(
        types(schema).await,
        BTreeSet::from(["Hardware".to_owned(), "Laptop".to_owned()])
    );
    let hardware = count(&by_path["Hardware"]);
    assert_eq!(s2.originals("HWL").await.len() as u64, hardware + count(hw));
    env.stop().await;
}

/// Name -> (icon id, icon name) of the object types of schema `key` on `site`.
async fn type_icons(env: &Env, site: &str, key: &str) -> BTreeMap<String, (String, String)> {
    let reader = env.site(site);
    let schema = kit::schema_id(&reader, key).await;
    reader
        .list(&format!("/objectschema/{schema}/objecttypes/flat"))
        .await
        .iter()
        .map(|t| {
            let icon = (kit::s(&t["icon"]["id"]), kit::s(&t["icon"]["name"]));
            (kit::s(&t["name"]), icon)
        })
        .collect()
}

/// Issue 9, `--with-icons` into an existing schema on another site: the types already there
/// keep their own icons; the dry run (`icons_kept`, JSON and text) and the restore log name
/// each one whose icon differs from the global icon its backup icon matched (not one whose
/// icon is that one, nor one whose backup icon matched nothing); the types the restore
/// creates get the matched icon. Checked through the target's Assets API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_types_keep_their_icons_and_the_plan_and_log_say_so() {
    let mut env = Env::new(60).await;
    env.start().await;
    env.add_s2().await;
    let backup = env.backup("ITSM").await;
    let b = backup.to_string();
    let source = type_icons(&env, "s1", "ITSM").await;
    assert_eq!(source["Laptop"].1, "Laptop");
    assert_eq!(source["Software"].1, "Software");

    // The existing schema on s2: Hardware/Laptop with another global icon than "Laptop",
    // Software with its matched one.
    let s2 = env.site("s2");
    let globals: BTreeMap<String, String> = s2
        .list("/icon/global")
        .await
        .iter()
        .map(|i| (kit::s(&i["name"]), kit::s(&i["id"])))
        .collect();
    let other = globals
        .keys()
        .find(|n| !source.values().any(|(_, i)| i == *n))
        .expect("a global icon no backup type uses")
        .clone();
    let schema = kit::s(
        &s2.post(
            "/objectschema/create",
            serde_json::json!({ "name": "Existing", "objectSchemaKey": "EXIST" }),
        )
        .await["id"],
    );
    let create = |name: &str, icon: &str, parent: Option<&str>, abstract_type: bool| {
        let mut body = serde_json::json!({
            "name": name, "objectSchemaId": schema, "iconId": globals[icon],
            "inherited": true, "abstractObjectType": abstract_type,
        });
        if let Some(p) = parent {
            body["parentObjectTypeId"] = Value::from(p);
        }
        let s2 = s2.clone();
        async move { kit::s(&s2.post("/objecttype/create", body).await["id"]) }
    };
    let hardware = create("Hardware", &other, None, true).await;
    let laptop = create("Laptop", &other, Some(&hardware), false).await;
    create("Software", "Software", None, false).await;
    let before = type_icons(&env, "s2", "EXIST").await;

    let args = |extra: &str| {
        [
            "restore",
            "start",
            b.as_str(),
            "--to",
            "existing-schema",
            "--schema",
            "EXIST",
            "--site",
            "s2",
            "--with-icons",
            extra,
        ]
        .map(str::to_owned)
    };
    let dry = env.cli_json(&as_strs(&args("--dry-run"))).await;
    let kept = serde_json::json!([{
        "object_type": "Hardware/Laptop",
        "existing_id": laptop,
        "icon_id": globals[&other],
        "icon": other,
        "backup_icon": "Laptop",
        "matched_icon_id": globals["Laptop"],
        "matched_icon": "Laptop",
    }]);
    assert_eq!(dry["icons_kept"], kept, "{dry}");
    let plan: RestorePlan = serde_json::from_value(dry.clone()).expect("a plan");
    assert_eq!(plan.icons_kept.len(), 1);
    assert_eq!(plan.icons_kept[0].existing_id, laptop);
    let text = env.cli(&as_strs(&args("--dry-run"))).await;
    text.ok(&["dry run text"]);
    let line = format!(
        "icon kept    Hardware/Laptop: {other:?} (the backup's \"Laptop\" matched \"Laptop\"; \
         existing types are not changed)\n"
    );
    assert!(text.stdout.contains(&line), "{line}{}", text.stdout);
    assert_eq!(
        text.stdout.matches("icon kept").count(),
        1,
        "{}",
        text.stdout
    );
    assert_eq!(type_icons(&env, "s2", "EXIST").await, before, "a dry run");

    let done = env.cli_json(&as_strs(&args("--wait"))).await;
    assert_eq!(done["status"], "completed", "{done}");
    let id = done["id"].as_i64().expect("id");

    // Through s2's API: the three types there keep their icons; every type the restore
    // created has the global icon of its backup icon's name, else the default (lowest id).
    let default = globals
        .iter()
        .min_by_key(|(_, id)| (id.len(), (*id).clone()))
        .map(|(n, _)| n.clone())
        .expect("globals");
    let after = type_icons(&env, "s2", "EXIST").await;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        source.keys().collect::<Vec<_>>()
    );
    for (name, (_, icon)) in &after {
        let want = match before.get(name) {
            Some((_, theirs)) => theirs.clone(),
            None if globals.contains_key(&source[name].1) => source[name].1.clone(),
            None => default.clone(),
        };
        assert_eq!(icon, &want, "type {name}");
    }
    assert_eq!(after["Laptop"].1, other);

    // The log names the kept icon once, and nothing else as kept.
    let notes: Vec<String> = super::support::full_log(&env, id)
        .await
        .iter()
        .filter(|e| e.get("Level").is_some())
        .filter_map(|e| e["Message"].as_str().map(str::to_owned))
        .filter(|m| m.starts_with("Icon kept"))
        .collect();
    assert_eq!(
        notes,
        [format!(
            "Icon kept: object type \"Hardware/Laptop\" exists in the target schema and keeps \
             its icon {other:?}; the backup's icon \"Laptop\" (the target's global icon \
             \"Laptop\") goes only to object types the restore creates: existing ones are not \
             changed."
        )]
    );
    env.stop().await;
}
