//! Restore options through the daemon and the CLI as real processes (issue 9): `backups types`
//! (text and `--json`, and `GET /v1/backups/{id}/objecttypes` with a clear 404), `restore start
//! --types` (a bad name refused at once naming it, the dry run's `summary`, the restore) and
//! the restore record's detail fields in `restores show` (text and `--json`).

use std::collections::BTreeMap;

use assetark::api::client::ClientError;
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
