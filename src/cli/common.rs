//! Flags and helpers shared by the client tools: --bootstrap-server, --command-config,
//! --output, and usage errors (exit code 2).

use crate::client::ClientConfig;
use crate::client::config::{parse_key_value, read_properties};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS,
    /// then localhost:9092.
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    /// A Java properties file with client configs (bootstrap.servers, client.id,
    /// request.timeout.ms, …).
    #[arg(long, value_name = "FILE")]
    pub command_config: Option<PathBuf>,
    /// A client property (KIP-1147): key=value (repeatable; wins over --command-config).
    #[arg(long = "command-property", value_name = "KEY=VALUE")]
    pub command_properties: Vec<String>,
}

impl ClientArgs {
    pub fn config(&self, default_client_id: &str) -> anyhow::Result<ClientConfig> {
        self.config_with(default_client_id, &[], &[])
    }

    /// Builds the client config from the file(s), then the key=value properties.
    pub fn config_with(&self, default_client_id: &str, files: &[&PathBuf], props: &[String]) -> anyhow::Result<ClientConfig> {
        let mut pairs = Vec::new();
        for f in self.command_config.iter().chain(files.iter().copied()) {
            pairs.extend(read_properties(f).map_err(anyhow::Error::msg)?);
        }
        pairs.extend(self.command_properties.iter().chain(props).map(|p| parse_key_value(p)));
        let bootstrap = self.bootstrap_server.clone().or_else(|| {
            let from_props = pairs.iter().any(|(k, _)| k == "bootstrap.servers");
            (!from_props && std::env::var("RK_BROKERS").is_err()).then(|| "localhost:9092".to_string())
        });
        ClientConfig::new(bootstrap.as_deref(), pairs, default_client_id).map_err(anyhow::Error::msg)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// The output of tools that list things: Kafka's text, JSON, or an aligned table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListOutput {
    Text,
    Json,
    Table,
}

/// Prints a usage error to stderr and returns exit code 2.
pub fn usage_error(msg: &str) -> anyhow::Result<i32> {
    eprintln!("{msg}");
    Ok(2)
}
