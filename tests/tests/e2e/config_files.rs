//! Every shipped configuration file parses (a broken example is a bug users hit first).

use std::path::Path;

#[test]
fn every_simulator_config_in_config_dir_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("config dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with("sim") && name.ends_with(".toml") {
            let text = std::fs::read_to_string(&path).expect("readable");
            assets_sim::config::SimConfig::from_toml(&text)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            n += 1;
        }
    }
    assert!(n >= 1, "no simulator config found in {}", dir.display());
}

#[test]
fn bad_simulator_configs_are_refused_with_every_problem() {
    let err = assets_sim::config::SimConfig::from_toml(
        "[rate_limits]\nscale = 0\n[faults]\nerror_rate = 2.0\n[[sites]]\nname = \"a b\"\nemail = \"x\"\ntoken = \"\"\n",
    )
    .unwrap_err()
    .to_string();
    for fragment in ["scale", "error_rate", "site name", "token"] {
        assert!(err.contains(fragment), "{fragment} missing from: {err}");
    }
    assert!(assets_sim::config::SimConfig::from_toml("listen = 5").is_err());
    assert!(assets_sim::config::SimConfig::from_toml("unknown_key = true").is_err());
}

/// The systemd unit: `systemd-analyze verify` where systemd's tools exist (with `ExecStart`
/// pointed at an executable that exists here), and always a check of the keys the hardening
/// and the daemon's shutdown depend on.
#[test]
fn the_systemd_unit_is_valid_and_hardened() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/assetark.service");
    let text = std::fs::read_to_string(&path).expect("config/assetark.service");
    let mut section = String::new();
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
            continue;
        }
        let (k, v) = line.split_once('=').expect("key=value line");
        keys.push((section.clone(), k.to_owned(), v.to_owned()));
    }
    let get = |s: &str, k: &str| {
        keys.iter()
            .find(|(sec, key, _)| sec == s && key == k)
            .map(|(_, _, v)| v.as_str())
    };
    for (s, k, v) in [
        ("Service", "Type", "notify"),
        ("Service", "Restart", "on-failure"),
        ("Service", "NoNewPrivileges", "yes"),
        ("Service", "ProtectSystem", "strict"),
        ("Service", "StateDirectory", "assetark"),
        ("Service", "RuntimeDirectory", "assetark"),
        ("Service", "UMask", "0077"),
        ("Install", "WantedBy", "multi-user.target"),
    ] {
        assert_eq!(get(s, k), Some(v), "[{s}] {k}");
    }
    assert!(
        get("Service", "MemoryDenyWriteExecute").is_none(),
        "wasmtime needs W+X memory"
    );
    let exec = get("Service", "ExecStart").expect("ExecStart");
    assert!(exec.contains(" serve --config "), "{exec}");

    // The daemon drains within 20 s (SHUTDOWN_GRACE); systemd must wait longer than that.
    let stop = get("Service", "TimeoutStopSec").expect("TimeoutStopSec");
    let secs: u64 = stop.trim_end_matches('s').parse().expect("seconds");
    assert!(secs > 20, "TimeoutStopSec {secs}");

    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("systemd-analyze not installed: key check only");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = dir.path().join("assetark.service");
    let binary = std::env::current_exe().expect("test binary");
    let first = exec.split_whitespace().next().expect("a command");
    std::fs::write(&unit, text.replace(first, &binary.display().to_string())).expect("write");
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze verify runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("assetark.service"))
        .collect();
    assert!(
        out.status.success() && about_unit.is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}

/// The production example (`config/assetark.toml`) parses as a daemon config, has a schedule,
/// and keeps its store in the unit's StateDirectory and its socket in its RuntimeDirectory.
#[test]
fn the_production_config_matches_the_unit() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let unit = std::fs::read_to_string(dir.join("assetark.service")).expect("unit");
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} in the unit"))
            .to_owned()
    };
    let state = Path::new("/var/lib").join(value("StateDirectory"));
    let runtime = Path::new("/run").join(value("RuntimeDirectory"));
    let exec = value("ExecStart");
    let path = Path::new(exec.rsplit(' ').next().expect("--config FILE"));
    assert_eq!(path.file_name(), Some("assetark.toml".as_ref()), "{exec}");

    let text = std::fs::read_to_string(dir.join("assetark.toml")).expect("config");
    let sources = assetark::config::Sources {
        env: &|_| Some("token-for-the-test".to_owned()),
        read: &|_| Ok("token-for-the-test".to_owned()),
    };
    let config = assetark::config::Config::parse(&text, path, &sources).expect("parses");
    assert!(
        config.store.path.starts_with(&state),
        "{:?}",
        config.store.path
    );
    assert!(
        config.store.key_file.starts_with(&state),
        "{:?}",
        config.store.key_file
    );
    assert!(
        config.control.socket.starts_with(&runtime),
        "{:?}",
        config.control.socket
    );
    assert!(!config.schedules.is_empty(), "a commented schedule");
    assert!(config.schedules.iter().all(|s| !s.policy.is_empty()));
}
