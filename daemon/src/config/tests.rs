//! Config parsing and validation: every shipped example parses, every problem is reported at
//! once, and no secret reaches `Debug` output or error messages.

use std::path::{Path, PathBuf};

use super::*;

const TOKEN: &str = "s3cr3t-token-value";
const FILE_TOKEN: &str = "file-token-value";
const API_TOKEN: &str = "api-bearer-value";

fn fake_env(name: &str) -> Option<String> {
    match name {
        "EMPTY" => Some("  ".into()),
        "UNSET" => None,
        "API" => Some(API_TOKEN.into()),
        _ => Some(TOKEN.into()),
    }
}

fn fake_read(path: &Path) -> std::io::Result<String> {
    if path.ends_with("two-lines.txt") {
        Ok(format!("  {FILE_TOKEN}  \nthe second line is a note\n"))
    } else if path.ends_with("missing.txt") {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ))
    } else {
        Ok(format!("{FILE_TOKEN}\n"))
    }
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    let sources = Sources {
        env: &fake_env,
        read: &fake_read,
    };
    Config::parse(text, Path::new("/etc/assetark/assetark.toml"), &sources)
}

fn problems(text: &str) -> Vec<Problem> {
    match parse(text) {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        Err(e) => panic!("expected validation problems, got {e}"),
        Ok(_) => panic!("expected validation problems, got a config"),
    }
}

const GOOD: &str = r#"
[store]
path = "data/assetark.db"
[control]
socket = "/run/assetark.sock"
tcp = "127.0.0.1:7878"
token_env = "API"
[[sites]]
name = "prod"
api_url = "https://api.atlassian.com/jsm/assets/workspace/ws/v1/"
site_url = "https://example.atlassian.net"
email = "bot@example.com"
token_env = ["A", "B"]
token_file = "token.txt"
token = "literal-token-value"
[sites.limits]
aql_per_minute = 10
max_concurrency = 2
"#;

#[test]
fn a_good_config_resolves_paths_tokens_and_limits() {
    let cfg = parse(GOOD).expect("valid");
    assert_eq!(cfg.store.kind, StoreKind::Sqlite);
    assert_eq!(
        cfg.store.path,
        PathBuf::from("/etc/assetark/data/assetark.db")
    );
    assert_eq!(cfg.control.socket, PathBuf::from("/run/assetark.sock"));
    assert_eq!(
        cfg.store.key_file,
        PathBuf::from("/etc/assetark/data/assetark.key"),
        "the token key defaults to the database's directory"
    );
    let tcp = cfg.control.tcp.as_ref().expect("tcp");
    assert_eq!(tcp.addr.port(), 7878);
    assert_eq!(tcp.token.expose(), API_TOKEN);
    let site = cfg.site("prod").expect("site");
    assert_eq!(
        site.api_url,
        "https://api.atlassian.com/jsm/assets/workspace/ws/v1"
    );
    let tokens: Vec<&str> = site.tokens.iter().map(|t| t.expose()).collect();
    assert_eq!(
        tokens,
        [TOKEN, TOKEN, FILE_TOKEN, "literal-token-value"],
        "env list, then file, then literal: one pool"
    );
    assert_eq!(site.limits.aql_per_minute, 10);
    assert_eq!(site.limits.max_concurrency, 2);
    let defaults = crate::assets::Limits::default();
    assert_eq!(site.limits.object_per_minute, defaults.object_per_minute);
    assert_eq!(site.conn().tokens.len(), 4);
}

#[test]
fn debug_output_of_a_parsed_config_holds_no_secret() {
    let cfg = parse(GOOD).expect("valid");
    let debug = format!("{cfg:?} {:?}", cfg.sites[0].conn());
    for secret in [TOKEN, FILE_TOKEN, API_TOKEN, "literal-token-value"] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
    assert!(
        debug.contains("prod"),
        "Debug still shows the non-secret fields"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
[store]
kind = "postgres"
path = ""
[control]
socket = "/run/a.sock"
tcp = "0.0.0.0:80"
[[sites]]
name = "bad name!"
flavor = "server"
api_url = "ftp://x"
site_url = "not a url"
email = ""
[sites.limits]
aql_per_minute = 0
retry_base_ms = 5000
retry_max_ms = 10
[[sites]]
name = "b"
api_url = "https://b.example"
site_url = "https://b.example"
email = "b@example.com"
token_env = ["UNSET", "EMPTY"]
token_file = "missing.txt"
token = ""
[[sites]]
name = "b"
api_url = "https://b.example"
site_url = "https://b.example"
email = "b@example.com"
token = "x"
"#;
    let keys: Vec<String> = problems(text).into_iter().map(|p| p.key).collect();
    for key in [
        "store.kind",
        "store.path",
        "control.tcp",
        "control.token_env",
        "sites[0].name",
        "sites[0].flavor",
        "sites[0].api_url",
        "sites[0].site_url",
        "sites[0].email",
        "sites[0]",
        "sites[0].limits.aql_per_minute",
        "sites[0].limits.retry_base_ms",
        "sites[1].token_env[0]",
        "sites[1].token_env[1]",
        "sites[1].token_file[0]",
        "sites[1].token[0]",
        "sites[2].name",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
}

/// Issue 8 item 14: every unknown key is reported, with the other problems, not only the first.
#[test]
fn every_unknown_key_is_reported_with_the_other_problems() {
    let text = r#"
[store]
path = "a"
colour = 1
[control]
socket = "s"
tcp = "0.0.0.0:1"
token_env = "API"
[jobs]
max_concurent = 2
[[sites]]
name = "x"
api_url = "https://x.example"
site_url = "https://x.example"
email = "x@example.com"
token = "t"
tokne = "t"
[sites.limits]
aql_per_minut = 3
[[schedules]]
site = "x"
schema = "ITSM"
cron = "0 3 * * *"
keep_dayly = 7
[extra]
a = 1
"#;
    let found = problems(text);
    let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "store.colour",
        "jobs.max_concurent",
        "sites[0].tokne",
        "sites[0].limits.aql_per_minut",
        "schedules[0].keep_dayly",
        "extra",
        "control.tcp",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    let unknown = found.iter().filter(|p| p.message.contains("unknown key"));
    assert_eq!(unknown.count(), 6, "{found:?}");
}

/// Issue 8 item 14: a token file's first line is the token, as the example config says.
#[test]
fn a_token_file_gives_its_first_line() {
    let text = "[store]\npath = \"a\"\n[control]\nsocket = \"s\"\n[[sites]]\nname = \"x\"\n\
         api_url = \"https://x.example\"\nsite_url = \"https://x.example\"\n\
         email = \"x@example.com\"\ntoken_file = \"two-lines.txt\"\n";
    let cfg = parse(text).expect("valid");
    let tokens: Vec<&str> = cfg.sites[0].tokens.iter().map(|t| t.expose()).collect();
    assert_eq!(tokens, [FILE_TOKEN]);
}

#[test]
fn wrong_types_are_parse_errors_with_a_position() {
    let err = parse("[store]\npath = 5\n[control]\nsocket = \"s\"\n")
        .expect_err("wrong type")
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(
        parse("[store]\npath = \"a\"\n").is_err(),
        "[control] is required"
    );
}

#[test]
fn a_parse_error_on_a_token_line_does_not_quote_the_token() {
    let text = format!(
        "[store]\npath = \"a\"\n[control]\nsocket = \"s\"\n[[sites]]\nname = \"x\"\n\
         token = [\"{TOKEN}\", 5]\n"
    );
    let err = parse(&text).expect_err("mixed list").to_string();
    assert!(!err.contains(TOKEN), "{err}");
}

#[test]
fn token_env_without_tcp_is_a_problem() {
    let p = problems("[store]\npath = \"a\"\n[control]\nsocket = \"s\"\ntoken_env = \"API\"\n");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].key, "control.token_env");
}

#[test]
fn the_cli_reads_only_the_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.toml");
    // Sites whose tokens are unset must not stop the CLI from finding the socket.
    std::fs::write(
        &path,
        "[store]\npath = \"a\"\n[control]\nsocket = \"run/a.sock\"\n[[sites]]\nname = \"x\"\n",
    )
    .expect("write");
    assert_eq!(
        control_socket(&path).expect("socket"),
        dir.path().join("run/a.sock")
    );
    let settings = client_settings(&path).expect("settings");
    assert_eq!(
        settings.timeout,
        DEFAULT_REQUEST_TIMEOUT + CLIENT_TIMEOUT_MARGIN
    );
    std::fs::write(
        &path,
        "[control]\nsocket = \"a.sock\"\nrequest_timeout_secs = 5\ntcp = \"x\"\n",
    )
    .expect("write");
    let settings = client_settings(&path).expect("settings");
    assert_eq!(
        settings.timeout,
        Duration::from_secs(5) + CLIENT_TIMEOUT_MARGIN
    );
    std::fs::write(&path, "[store]\npath = \"a\"\n").expect("write");
    assert!(control_socket(&path).is_err());
}

/// Every `config/assetark*.toml` shipped in the repository parses and validates (with every
/// env var and token file resolving to a dummy value).
#[test]
fn every_shipped_daemon_config_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("config dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if name.starts_with("assetark") && name.ends_with(".toml") {
            let text = std::fs::read_to_string(&path).expect("readable");
            let sources = Sources {
                env: &|_| Some(TOKEN.to_owned()),
                read: &|_| Ok(TOKEN.to_owned()),
            };
            Config::parse(&text, &path, &sources).unwrap_or_else(|e| panic!("{name}: {e}"));
            n += 1;
        }
    }
    assert!(
        n >= 1,
        "no config/assetark*.toml found in {}",
        dir.display()
    );
}

#[test]
fn the_token_key_file_is_configurable() {
    let cfg =
        parse("[store]\npath = \"db/s.db\"\nkey_file = \"keys/k\"\n[control]\nsocket = \"s\"\n")
            .expect("valid");
    assert_eq!(cfg.store.key_file, PathBuf::from("/etc/assetark/keys/k"));
    let found = problems("[store]\npath = \"a\"\nkey_file = \"\"\n[control]\nsocket = \"s\"\n");
    assert_eq!(found[0].key, "store.key_file");
}

#[test]
fn the_jobs_section_is_optional_and_checked() {
    let cfg = parse(GOOD).expect("valid");
    assert_eq!(cfg.jobs, JobsConfig::default());
    let with_jobs = format!(
        "{GOOD}\n[jobs]\nmax_concurrent = 2\nmax_retries = 0\nretry_base_ms = 50\nretry_max_ms = 400\n"
    );
    let cfg = parse(&with_jobs).expect("valid");
    assert_eq!(
        cfg.jobs,
        JobsConfig {
            max_concurrent: 2,
            max_retries: 0,
            retry_base: Duration::from_millis(50),
            retry_max: Duration::from_millis(400),
        }
    );
    let bad =
        format!("{GOOD}\n[jobs]\nmax_concurrent = 0\nretry_base_ms = 500\nretry_max_ms = 400\n");
    let keys: Vec<String> = problems(&bad).into_iter().map(|p| p.key).collect();
    assert_eq!(keys, ["jobs.max_concurrent", "jobs.retry_base_ms"]);
}

#[test]
fn data_center_sites_take_a_base_url_and_leave_rate_limits_off() {
    let text = r#"
[store]
path = "data/assetark.db"
[control]
socket = "/run/assetark.sock"
[[sites]]
name = "dc-pat"
flavor = "dc"
base_url = "https://jira.example.com/"
token = "pat"
[[sites]]
name = "dc-basic"
flavor = "dc"
base_url = "https://old.example.com"
email = "admin"
token = "password"
legacy_insight = true
[sites.limits]
rate_limited = true
"#;
    let cfg = parse(text).expect("valid");
    let pat = cfg.site("dc-pat").expect("site");
    assert_eq!(pat.flavor(), crate::assets::Flavor::Dc);
    assert_eq!(pat.api_url, "https://jira.example.com/rest/assets/1.0");
    assert_eq!(pat.site_url, "https://jira.example.com");
    assert!(pat.email.is_empty() && !pat.limits.rate_limited);
    let basic = cfg.site("dc-basic").expect("site");
    assert_eq!(basic.api_url, "https://old.example.com/rest/insight/1.0");
    assert!(basic.limits.rate_limited && basic.email == "admin");
    match basic.spec() {
        crate::assets::SiteSpec::Dc(conn) => {
            assert!(conn.legacy_insight);
            assert_eq!(conn.email.as_deref(), Some("admin"));
        }
        other => panic!("{other:?}"),
    }
    let wrong = r#"
[store]
path = "data/assetark.db"
[control]
socket = "/run/assetark.sock"
[[sites]]
name = "d"
flavor = "dc"
api_url = "https://x.example"
token = "pat"
[[sites]]
name = "c"
base_url = "https://x.example"
email = "e@example.com"
token = "t"
"#;
    let keys: Vec<String> = problems(wrong).into_iter().map(|p| p.key).collect();
    for key in [
        "sites[0].api_url",
        "sites[0].base_url",
        "sites[1].base_url",
        "sites[1].api_url",
        "sites[1].site_url",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
}
