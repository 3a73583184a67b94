//! Issue 9's `--history` and `--with-icons` through the daemon and the CLI as real processes:
//! `restore start` is refused at once (exit 1, the daemon's 409 message, exact; nothing
//! stored, nothing created on the target) while the backup's history phase runs (held by a
//! simulator barrier), and once the phase is done the same restore completes with every
//! object's source history in `OBJECT_HISTORY`; refused with `--with-icons` on the backup's own
//! site, and for a backup recorded as written by another storage backend; the dry run shows
//! history on and the icon matches, and the migration it planned carries every object's
//! `OBJECT_HISTORY` on the target (read through the target's Assets API).

use assetark::api::client::ClientError;
use assetark_tests::kit::{s, wait_for};
use assets_sim::barrier::BarrierSpec;
use serde_json::{Value, json};

use super::support::Env;
use crate::restore::support::expected_history;

/// The backup with id `id` as `backups list --json` shows it.
async fn listed(env: &Env, id: i64) -> Option<Value> {
    let list = env.cli_json(&["backups", "list"]).await;
    list["items"]
        .as_array()?
        .iter()
        .find(|b| b["id"] == id)
        .cloned()
}

/// Runs the CLI with `args`.
async fn run(env: &Env, args: Vec<String>) -> assetark_tests::kit::Out {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    env.cli(&refs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_icons_are_refused_or_restored_through_the_cli() {
    let mut env = Env::new(60).await;
    env.start().await;
    env.add_s2().await;

    // Hold the first history read: the backup completes, its history phase keeps running.
    let held = env
        .sim
        .barrier(
            BarrierSpec::new("GET", "/object/{id}/history")
                .site("s1")
                .nth(1),
        )
        .expect("barrier");
    let job = env
        .cli_json(&["backup", "run", "--site", "s1", "--schema", "ITSM"])
        .await;
    assert!(job["job_id"].as_i64().is_some(), "{job}");
    held.wait_held(1).await;
    let b = wait_for("the backup to be listed", || async {
        let list = env.cli_json(&["backups", "list"]).await;
        list["items"].as_array()?.first().cloned()
    })
    .await;
    let id = b["id"].as_i64().expect("id");
    assert_eq!(b["history"]["status"], "running", "{b}");
    let bid = id.to_string();
    let start = |extra: &[&str]| {
        let mut args = vec!["restore", "start", bid.as_str(), "--to", "new-schema"];
        args.extend_from_slice(extra);
        args.iter()
            .map(|a| (*a).to_owned())
            .collect::<Vec<String>>()
    };
    let s1_schemas = env.site("s1").schema_ids().await;
    let refusal = format!(
        "--history cannot be used yet: the object history of backup {id} is still being taken \
         (its history phase is running); start the restore again once `assetark backups show \
         {id}` shows the history phase done, or restore without --history"
    );
    let early = ["--name", "Early", "--key", "EARLY", "--history"];
    for dry in [false, true] {
        let mut args = start(&early);
        if dry {
            args.push("--dry-run".to_owned());
        }
        run(&env, args).await.fails(1, &refusal);
    }
    // The API's answer: 409 with its stable code and the same message.
    let body = json!({
        "backup_id": id, "to": "new-schema", "name": "Early", "key": "EARLY", "history": true,
    });
    match env.client().post("/v1/restores", &body).await {
        Err(ClientError::Api {
            status,
            code,
            message,
        }) => {
            assert_eq!((status, code.as_str()), (409, "history_phase_running"));
            assert_eq!(message, refusal);
        }
        other => panic!("{other:?}"),
    }
    let same = run(
        &env,
        start(&["--name", "Icons", "--key", "ICONS", "--with-icons"]),
    )
    .await;
    assert_eq!(same.code, 1, "{same:?}");
    assert!(same.stderr.contains("needless"), "{same:?}");
    let restores = env.cli_json(&["restores", "list"]).await;
    assert_eq!(
        restores["items"].as_array().map(Vec::len),
        Some(0),
        "a refused start stores nothing: {restores}"
    );
    // Nothing was created on the target (the backup's own site).
    assert_eq!(env.site("s1").schema_ids().await, s1_schemas);
    held.release_all();
    drop(held);
    wait_for("the history phase to end", || async {
        let b = listed(&env, id).await?;
        (b["history"]["status"] == "done").then_some(())
    })
    .await;

    // The same restore is accepted now, and every object carries its source history.
    let mut again = start(&early);
    again.push("--wait".to_owned());
    let refs: Vec<&str> = again.iter().map(String::as_str).collect();
    let done = env.cli_json(&refs).await;
    assert_eq!(done["status"], "completed", "{done}");
    let shown = env.show(done["id"].as_i64().expect("restore id")).await;
    assert_eq!(shown["history_restored"], true, "{shown}");
    let s1 = env.site("s1");
    let restored = s1.named_objects("EARLY").await;
    assert_eq!(
        restored.len() as u64,
        b["object_count"].as_u64().expect("object_count")
    );
    for o in &restored {
        let orig = s(&o.values("ORIGINAL_ID")[0]["value"]);
        let text = o.values("OBJECT_HISTORY");
        assert_eq!(text.len(), 1, "object {}: {text:?}", o.id);
        assert_eq!(
            s(&text[0]["value"]),
            expected_history(&s1, &orig).await,
            "object {} (source {orig})",
            o.id
        );
    }

    // The migration with both options: planned, then run.
    let both = [
        "--name",
        "Both",
        "--key",
        "BOTH",
        "--site",
        "s2",
        "--history",
        "--with-icons",
    ];
    let mut dry = start(&both);
    dry.push("--dry-run".to_owned());
    let refs: Vec<&str> = dry.iter().map(String::as_str).collect();
    let plan = env.cli_json(&refs).await;
    assert_eq!(plan["history"], true, "{plan}");
    assert_eq!(plan["with_icons"], true, "{plan}");
    let icons = plan["icons"].as_array().expect("icons");
    assert!(icons.iter().any(|i| i["matched"] == true), "{plan}");
    assert!(icons.iter().any(|i| i["matched"] == false), "{plan}");
    let mut real = start(&both);
    real.push("--wait".to_owned());
    let refs: Vec<&str> = real.iter().map(String::as_str).collect();
    let done = env.cli_json(&refs).await;
    assert_eq!(done["status"], "completed", "{done}");
    let shown = env.show(done["id"].as_i64().expect("restore id")).await;
    assert_eq!(shown["history_restored"], true, "{shown}");
    assert_eq!(shown["icons_restored"], true, "{shown}");
    assert_eq!(shown["destination_kind"], "another-site", "{shown}");

    // Every migrated object carries its history on s2.
    let s2 = env.site("s2");
    let schema = assetark_tests::kit::schema_id(&s2, "BOTH").await;
    let page = s2
        .post(
            "/object/aql?startAt=0&maxResults=500&includeAttributes=true",
            json!({ "qlQuery": format!("objectSchemaId = {schema}") }),
        )
        .await;
    let history_attrs: Vec<String> = page["objectTypeAttributes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["name"] == "OBJECT_HISTORY")
        .map(|d| s(&d["id"]))
        .collect();
    let objects = page["values"].as_array().expect("objects");
    assert_eq!(
        objects.len() as u64,
        plan["order"]["objects"].as_u64().unwrap()
    );
    for o in objects {
        let text = o["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| history_attrs.contains(&s(&a["objectTypeAttributeId"])))
            .map(|a| s(&a["objectAttributeValues"][0]["value"]))
            .unwrap_or_default();
        assert!(
            text.contains("object created")
                && (text.contains(" CET |") || text.contains(" CEST |")),
            "{}: {text:?}",
            s(&o["objectKey"])
        );
    }

    // The daemon moved to another storage backend: its backups are refused.
    env.stop().await;
    {
        let conn = rusqlite::Connection::open(env.db()).expect("db");
        conn.execute("UPDATE backups SET storage = 'tape' WHERE id = ?1", [id])
            .expect("update");
    }
    env.start().await;
    let moved = run(&env, start(&["--name", "Moved", "--key", "MOVED"])).await;
    assert_eq!(moved.code, 1, "{moved:?}");
    assert!(
        moved.stderr.contains("another storage backend") && moved.stderr.contains("\"tape\""),
        "{moved:?}"
    );
}
