//! `rk server start` (kafka-server-start.sh): server.properties + `--override k=v` +
//! convenience flags, a printed data dir and one "ready" line; SIGINT/SIGTERM stop it
//! cleanly.

use crate::broker::Broker;
use crate::broker::config::{BrokerConfig, parse_properties};
use crate::cli::common::usage_error;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ServerCommand {
    /// Start a broker (single node), or with --nodes N a local cluster. With no arguments
    /// it serves 127.0.0.1:9092 on the default data dir.
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
    #[arg(long, value_name = "ID", conflicts_with = "nodes")]
    pub node_id: Option<i32>,
    /// Start a local cluster of N nodes (broker + controller each) on consecutive ports
    /// from --listen (controllers 100 above; port 0: free ports), data in <data-dir>/node-<i>,
    /// and print its bootstrap servers.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=32))]
    pub nodes: Option<u16>,
    /// Stop (controlled shutdown) when stdin closes: how `--nodes` supervises its nodes.
    #[arg(long, hide = true)]
    pub supervised: bool,
}

fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("RK_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=off"));
    // Colours only on a terminal: a log redirected to a file stays plain text.
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| LogWriter).with_ansi(ansi).with_target(false).try_init();
}

/// stderr for the log, where a failed write is dropped: a broker whose log reader went
/// away (a closed pipe, the `--nodes` supervisor killed) keeps serving and still shuts
/// down cleanly, instead of panicking in the logger.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
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

/// `--nodes N`: the settings each node gets are generated; the user's own pass through.
fn local_cluster(a: &StartArgs, nodes: u16) -> anyhow::Result<i32> {
    const GENERATED: [&str; 4] = ["node.id", "listeners", "controller.listener.names", "controller.quorum.voters"];
    for o in &a.overrides {
        let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k).trim();
        if GENERATED.contains(&key) {
            return usage_error(&format!("--nodes sets {key} for each node; do not override it"));
        }
    }
    let (host, base_port) = match &a.listen {
        None => ("127.0.0.1".to_string(), 9092),
        Some(l) => match l.rsplit_once(':').map(|(h, p)| (h, p.parse::<u16>())) {
            Some((h, Ok(p))) if !h.is_empty() => (h.trim_matches(['[', ']']).to_string(), p),
            _ => return usage_error(&format!("--listen expects HOST:PORT, got '{l}'")),
        },
    };
    let data_dir = a.data_dir.clone().unwrap_or_else(|| super::local_cluster::default_dir(&crate::broker::config::default_data_dir()));
    super::local_cluster::run(super::local_cluster::Plan {
        nodes: nodes as usize,
        host,
        base_port,
        data_dir,
        properties: a.properties.clone(),
        overrides: a.overrides.clone(),
    })
}

pub fn run(cmd: ServerCommand) -> anyhow::Result<i32> {
    let ServerCommand::Start(args) = cmd;
    if let Some(n) = args.nodes {
        return local_cluster(&args, n);
    }
    let started = std::time::Instant::now();
    init_logging();
    // Before any thread allocates: a broker on a few cores needs a few arenas.
    crate::alloc::limit_arenas(4);
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
        let role = if running.broker.config.kraft.as_ref().is_some_and(|k| !k.broker) { "controller" } else { "broker" };
        if let Some(m) = running.metrics_addr {
            println!("rk: metrics on http://{m}/metrics");
        }
        for l in &running.broker.listeners {
            println!("rk: listener {}://{} ({}, advertised {}:{})", l.name, l.bound, l.protocol, l.host, l.port);
        }
        println!(
            "rk: {role} ready on {} (node {}, cluster {}) in {} ms",
            running.addr,
            running.broker.config.node_id,
            running.broker.cluster_id,
            started.elapsed().as_millis()
        );
        // Supervised by `--nodes`: a closed stdin (the supervisor stopped or died) is a stop.
        let stdin_closed = args.supervised.then(|| {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
                let _ = tx.send(());
            });
            rx
        });
        wait_for_signal(stdin_closed).await?;
        tracing::info!("shutting down");
        running.shutdown().await?;
        tracing::info!("stopped cleanly");
        Ok(0)
    })
}

/// Returns on SIGTERM or SIGINT (or when `also` fires).
pub(crate) async fn wait_for_signal(also: Option<tokio::sync::oneshot::Receiver<()>>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let also = async move {
        match also {
            Some(rx) => {
                let _ = rx.await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        _ = also => {}
    }
    Ok(())
}
