//! `rk console`: the web console (kafka-map's job) for any Kafka-compatible cluster.
//! Flags here; the server is in `crate::console`.

use super::common::ClientArgs;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Where the console listens (loopback by default).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9001")]
    pub listen: String,
    /// Several clusters to switch between: a properties file of `<name>.bootstrap.servers=…`
    /// and any other client property as `<name>.<key>=…`.
    #[arg(long, value_name = "FILE")]
    pub clusters: Option<PathBuf>,
    /// The login user name (kafka-map's DEFAULT_USERNAME).
    #[arg(long, env = "RK_CONSOLE_USERNAME", default_value = "admin")]
    pub username: String,
    /// The login password (kafka-map's DEFAULT_PASSWORD); or --password-file.
    #[arg(long, env = "RK_CONSOLE_PASSWORD", conflicts_with = "password_file")]
    pub password: Option<String>,
    /// A file whose first line is the login password.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// The brokers' metrics endpoints (rk's metrics.listener, comma-separated) for the live
    /// throughput and lag charts of the cluster given with --bootstrap-server.
    #[arg(long, value_name = "URL")]
    pub metrics_url: Option<String>,
    /// Show everything, change nothing.
    #[arg(long)]
    pub read_only: bool,
}

pub fn run(a: ConsoleArgs) -> anyhow::Result<i32> {
    let password = match (&a.password, &a.password_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?.lines().next().unwrap_or("").to_string()
        }
        (None, None) => {
            return super::common::usage_error("rk console needs a login password: --password, --password-file or $RK_CONSOLE_PASSWORD");
        }
    };
    if password.is_empty() {
        return super::common::usage_error("the console password must not be empty");
    }
    let clusters = match &a.clusters {
        Some(f) => crate::console::clusters_from_file(f).map_err(anyhow::Error::msg)?,
        None => {
            let extra: Vec<String> = a.metrics_url.iter().map(|u| format!("metrics.url={u}")).collect();
            vec![crate::console::ClusterEntry::new("default", a.client.config_with("rk-console", &[], &extra)?)]
        }
    };
    if clusters.is_empty() {
        return super::common::usage_error("the clusters file names no cluster");
    }
    let cfg = crate::console::ConsoleConfig { clusters, username: a.username.clone(), password, read_only: a.read_only };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&a.listen).await.with_context(|| format!("cannot listen on {}", a.listen))?;
        println!("rk console on http://{}/ (log in as {})", listener.local_addr()?, a.username);
        tokio::select! {
            r = crate::console::serve(listener, cfg) => r.context("the console stopped")?,
            r = super::server::wait_for_signal(None) => r?,
        }
        Ok(0)
    })
}
