//! `assets-sim --config FILE`: runs the simulator and prints one JSON line describing it.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// A simulator of the Jira Service Management Assets Cloud REST API.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// TOML configuration (see sim/README.md); without it, one site with the cmdb dataset.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    let cfg = match &args.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            assets_sim::config::SimConfig::from_toml(&text)
                .with_context(|| format!("in {}", p.display()))?
        }
        None => assets_sim::config::SimConfig::demo(),
    };
    let handle = assets_sim::server::start(cfg).await?;
    println!("{}", serde_json::to_string(&handle.ready)?);
    tokio::select! {
        r = handle.wait() => r?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
