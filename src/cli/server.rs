//! `rk server start` (kafka-server-start.sh): server.properties + `--override k=v` +
//! convenience flags, a printed data dir and one "ready" line; SIGINT/SIGTERM stop it
//! cleanly.

use crate::broker::Broker;
use crate::broker::config::{BrokerConfig, parse_properties};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ServerCommand {
    /// Start a broker (single node). With no arguments it serves 127.0.0.1:9092 on the
    /// default data dir.
    Start(StartArgs),
}

#[derive(Args, Debug)]
#[command(after_long_help = crate::broker::config::keys::help_text())]
pub struct StartArgs {
    /// A Kafka server.properties file.
    pub properties: Option<PathBuf>,
    /// Override a property: --override key=value (repeatable; wins over the file).
    #[arg(long = "override", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Data directory (log.dirs).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Listen address host:port (listeners).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Node id (node.id).
    #[arg(long, value_name = "ID")]
    pub node_id: Option<i32>,
}

fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("RK_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=off"));
    // Colours only on a terminal: a log redirected to a file stays plain text.
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).with_target(false).try_init();
}

/// Collects (key, value) pairs: file first, then flags, then --override (last wins).
fn config_pairs(a: &StartArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    if let Some(p) = &a.properties {
        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        pairs.extend(parse_properties(&text));
    }
    if let Some(d) = &a.data_dir {
        pairs.push(("log.dirs".into(), d.display().to_string()));
    }
    if let Some(l) = &a.listen {
        pairs.push(("listeners".into(), format!("PLAINTEXT://{l}")));
    }
    if let Some(n) = a.node_id {
        pairs.push(("node.id".into(), n.to_string()));
    }
    for o in &a.overrides {
        let (k, v) = o.split_once('=').with_context(|| format!("--override expects key=value, got '{o}'"))?;
        pairs.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(pairs)
}

pub fn run(cmd: ServerCommand) -> anyhow::Result<i32> {
    let ServerCommand::Start(args) = cmd;
    let started = std::time::Instant::now();
    init_logging();
    let (config, warnings) = BrokerConfig::from_pairs(config_pairs(&args)?).map_err(anyhow::Error::msg)?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        println!("rk: data dir {}", config.data_dir.display());
        let running = Broker::start(config).await?;
        if running.recovered {
            tracing::info!("recovered the data dir after an unclean shutdown");
        }
        println!(
            "rk: broker ready on {} (node {}, cluster {}) in {} ms",
            running.addr,
            running.broker.config.node_id,
            running.broker.cluster_id,
            started.elapsed().as_millis()
        );
        wait_for_signal().await?;
        tracing::info!("shutting down");
        running.shutdown().await?;
        tracing::info!("stopped cleanly");
        Ok(0)
    })
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
