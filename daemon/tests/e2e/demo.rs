//! `assetark demo` (README's first command) exits 0 and leaves nothing behind; with `--keep
//! DIR` it keeps a store the daemon can serve, a config that parses and a simulator config,
//! and says how to use them. Its migration carries the objects' history (`--history`): every
//! migrated object has `OBJECT_HISTORY` on the second site.

use std::process::Stdio;

use assetark::config::Config;
use tokio::process::Command;

async fn demo(args: &[&str], tmp: &std::path::Path) -> std::process::Output {
    Command::new(crate::BIN)
        .arg("demo")
        .args(args)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("demo runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_exits_0_leaves_nothing_and_keeps_what_it_is_told() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = demo(&["--objects", "150"], tmp.path()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for part in [
        "back up",
        "restore to a new schema",
        "migrate to the second site",
        "fire the schedule once",
        "Done in",
    ] {
        assert!(stdout.contains(part), "{part:?} missing: {stdout}");
    }
    // The migration ran with --history, and the demo read OBJECT_HISTORY back from the second
    // site's Assets API on every migrated object.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("migrate to the second site"))
        .expect("migration line");
    let (migrated, with_history) = {
        let n: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        (n[0], n[1])
    };
    assert!(line.contains("with --history"), "{line}");
    assert!(migrated > 0 && with_history == migrated, "{line}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmp").collect();
    assert!(left.is_empty(), "the demo left {left:?}");

    let keep = tmp.path().join("kept");
    let out = demo(
        &[
            "--objects",
            "60",
            "--json",
            "--keep",
            &keep.display().to_string(),
        ],
        tmp.path(),
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(
        summary["backups"].as_array().map(Vec::len),
        Some(2),
        "{summary}"
    );
    assert!(summary["restored_objects"].as_u64() > Some(0), "{summary}");
    assert_eq!(summary["restored_objects"], summary["migrated_objects"]);
    assert_eq!(summary["history_migrated"], true, "{summary}");
    assert_eq!(
        summary["objects_with_history"], summary["migrated_objects"],
        "{summary}"
    );
    for f in ["assetark.toml", "assetark.db", "sim.toml"] {
        assert!(keep.join(f).exists(), "{f} kept");
    }
    let config = Config::load(&keep.join("assetark.toml")).expect("the kept config parses");
    assert_eq!(config.schedules.len(), 1);
    assets_sim::config::SimConfig::from_toml(
        &std::fs::read_to_string(keep.join("sim.toml")).expect("sim.toml"),
    )
    .expect("the kept simulator config parses");
}
