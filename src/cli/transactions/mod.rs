//! `rk transactions` (kafka-transactions.sh): list, describe, describe-producers, abort and
//! find-hanging, with Kafka's flags, tab-terminated tables and error texts; `--output json`
//! for scripts. Flags shared by every command, dispatch and the table printer live here.

mod abort;
mod describe;
mod hanging;

use super::common::{ClientArgs, OutputFormat};
use crate::client::admin::Admin;
use crate::client::{ClientError, Cluster};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The help heading of the flags every command takes.
const CLIENT: &str = "Client options";

#[derive(Args, Debug)]
pub struct TransactionsArgs {
    /// The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS,
    /// then localhost:9092.
    #[arg(long, global = true, value_name = "HOST:PORT", help_heading = CLIENT)]
    pub bootstrap_server: Option<String>,
    /// A Java properties file with admin client configs (bootstrap.servers, client.id,
    /// request.timeout.ms, …).
    #[arg(long, global = true, value_name = "FILE", help_heading = CLIENT)]
    pub command_config: Option<PathBuf>,
    /// An admin client property: key=value (repeatable; wins over --command-config).
    #[arg(long = "command-property", global = true, value_name = "KEY=VALUE", help_heading = CLIENT)]
    pub command_properties: Vec<String>,
    /// Output format: Kafka's text tables, or JSON.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text, help_heading = CLIENT)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: TxnCommand,
}

#[derive(Subcommand, Debug)]
pub enum TxnCommand {
    /// List transactions.
    List(describe::ListArgs),
    /// Describe the state of an active transactional-id.
    Describe(describe::DescribeArgs),
    /// Describe the states of active producers for a topic partition.
    DescribeProducers(describe::DescribeProducersArgs),
    /// Abort a hanging transaction (requires administrative privileges).
    Abort(abort::AbortArgs),
    /// Find hanging transactions.
    FindHanging(hanging::FindHangingArgs),
}

/// Prints Kafka's `ToolsUtils.prettyPrintTable`: every cell left-aligned to its column's
/// width and followed by a tab (the last one too); the header line first.
pub(crate) fn pretty_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        for (w, cell) in widths.iter().zip(row) {
            out.push_str(cell);
            out.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
            out.push('\t');
        }
        out.push('\n');
    }
    out
}

/// The cause text Kafka prints after a failed call: the exception's message.
pub(crate) fn cause(e: &ClientError) -> String {
    match e {
        ClientError::Kafka { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Kafka's `printErrorAndExit(message, cause)`: one line on stderr, exit code 1.
pub(crate) fn fail(message: &str, e: &ClientError) -> anyhow::Result<i32> {
    eprintln!("{message}: {}. Enable debug logging for additional detail.", cause(e));
    Ok(1)
}

/// Kafka's `printErrorAndExit(message)` for an operation that failed: exit code 1.
pub(crate) fn fail_plain(message: &str) -> anyhow::Result<i32> {
    eprintln!("{message}");
    Ok(1)
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn run(a: TransactionsArgs) -> anyhow::Result<i32> {
    // Flag combinations are checked before connecting: usage errors exit 2.
    if let Some(code) = match &a.command {
        TxnCommand::Abort(x) => abort::check(x),
        TxnCommand::FindHanging(x) => hanging::check(x),
        _ => None,
    } {
        return Ok(code);
    }
    let client = ClientArgs {
        bootstrap_server: a.bootstrap_server.clone(),
        command_config: a.command_config.clone(),
        command_properties: a.command_properties.clone(),
    };
    let cfg = client.config("rk-transactions")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let admin = Admin::new(cluster);
        let out = a.output;
        match &a.command {
            TxnCommand::List(x) => describe::list(&admin, x, out).await,
            TxnCommand::Describe(x) => describe::describe(&admin, x, out).await,
            TxnCommand::DescribeProducers(x) => describe::describe_producers(&admin, x, out).await,
            TxnCommand::Abort(x) => abort::run(&admin, x, out).await,
            TxnCommand::FindHanging(x) => hanging::run(&admin, x, out).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_are_padded_and_tab_terminated() {
        let t = pretty_table(&["ProducerId", "State"], &[vec!["1234567890123".into(), "Ongoing".into()], vec!["7".into(), "Empty".into()]]);
        assert_eq!(t, "ProducerId   \tState  \t\n1234567890123\tOngoing\t\n7            \tEmpty  \t\n");
        assert_eq!(pretty_table(&["A", "Bc"], &[]), "A\tBc\t\n");
    }
}
