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
