//! The clap root, the argv[0] alias table and dispatch. Subcommand files own their flags
//! and rendering; exit codes are 0 success, 1 operation failed, 2 usage error.

pub mod acls;
pub mod client_metrics;
pub mod common;
pub mod completions;
pub mod configs;
pub mod console;
pub mod console_consumer;
pub mod console_producer;
pub mod consumer_groups;
pub mod dump_log;
pub mod leader_election;
pub mod local_cluster;
pub mod metadata_quorum;
pub mod perf_test;
pub mod reassign;
pub mod server;
pub mod share_groups;
pub mod topics;
pub mod transactions;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;

#[derive(Parser, Debug)]
#[command(
    name = "rk",
    version,
    about = "A Kafka-compatible broker and the Kafka command-line tools in one binary",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a Kafka-compatible broker (kafka-server-start.sh).
    #[command(subcommand)]
    Server(server::ServerCommand),
    /// Create, list, describe, alter and delete topics (kafka-topics.sh).
    Topics(topics::TopicsArgs),
    /// Describe and alter topic and broker configs, client quotas and SCRAM credentials
    /// (kafka-configs.sh).
    Configs(configs::ConfigsArgs),
    /// Add, remove and list ACLs (kafka-acls.sh).
    Acls(acls::AclsArgs),
    /// List, describe, alter and delete client-metrics subscriptions, KIP-714
    /// (kafka-client-metrics.sh).
    ClientMetrics(client_metrics::ClientMetricsArgs),
    /// A web console for any Kafka-compatible cluster: topics, messages, groups, lag (kafka-map).
    Console(console::ConsoleArgs),
    /// Read lines from stdin and produce them as records (kafka-console-producer.sh).
    ConsoleProducer(console_producer::ConsoleProducerArgs),
    /// Consume records and print them (kafka-console-consumer.sh).
    ConsoleConsumer(console_consumer::ConsoleConsumerArgs),
    /// List, describe, reset and delete consumer groups (kafka-consumer-groups.sh).
    ConsumerGroups(consumer_groups::ConsumerGroupsArgs),
    /// List, describe and delete share groups (kafka-share-groups.sh).
    ShareGroups(share_groups::ShareGroupsArgs),
    /// Print the batches and records of log segments and metadata snapshots (kafka-dump-log.sh).
    DumpLog(dump_log::DumpLogArgs),
    /// List, describe, abort and find hanging transactions (kafka-transactions.sh).
    Transactions(transactions::TransactionsArgs),
    /// Elect preferred or unclean partition leaders (kafka-leader-election.sh).
    LeaderElection(leader_election::LeaderElectionArgs),
    /// Describe the KRaft metadata quorum: status and replication (kafka-metadata-quorum.sh).
    MetadataQuorum(metadata_quorum::MetadataQuorumArgs),
    /// Generate, execute, verify, cancel and list partition reassignments
    /// (kafka-reassign-partitions.sh).
    ReassignPartitions(reassign::ReassignArgs),
    /// Producer, consumer and end-to-end latency benchmarks (kafka-*-perf-test.sh).
    #[command(subcommand)]
    PerfTest(perf_test::PerfTestCommand),
    /// Print a shell completion script for bash, zsh or fish.
    Completions(completions::CompletionsArgs),
    /// Write man pages for rk and every subcommand.
    Man(completions::ManArgs),
    /// Create kafka-*.sh style links to this binary in a directory.
    Links(completions::LinksArgs),
}

/// argv[0] names (with or without `.sh`) and the rk arguments they stand for.
pub const ALIASES: &[(&str, &[&str])] = &[
    ("kafka-server-start", &["server", "start"]),
    ("kafka-topics", &["topics"]),
    ("kafka-configs", &["configs"]),
    ("kafka-acls", &["acls"]),
    ("kafka-client-metrics", &["client-metrics"]),
    ("kafka-console-producer", &["console-producer"]),
    ("kafka-console-consumer", &["console-consumer"]),
    ("kafka-leader-election", &["leader-election"]),
    ("kafka-consumer-groups", &["consumer-groups"]),
    ("kafka-share-groups", &["share-groups"]),
    ("kafka-dump-log", &["dump-log"]),
    ("kafka-transactions", &["transactions"]),
    ("kafka-metadata-quorum", &["metadata-quorum"]),
    ("kafka-reassign-partitions", &["reassign-partitions"]),
    ("kafka-producer-perf-test", &["perf-test", "producer"]),
    ("kafka-consumer-perf-test", &["perf-test", "consumer"]),
];

/// Rewrites the argument list when invoked under an alias name.
pub fn expand_alias(args: Vec<OsString>) -> Vec<OsString> {
    let Some(first) = args.first() else { return args };
    let name = std::path::Path::new(first).file_name().and_then(|s| s.to_str()).unwrap_or("");
    let name = name.strip_suffix(".sh").unwrap_or(name);
    match ALIASES.iter().find(|(alias, _)| *alias == name) {
        Some((_, sub)) => {
            let mut out = vec![OsString::from("rk")];
            out.extend(sub.iter().map(OsString::from));
            out.extend(args.into_iter().skip(1));
            out
        }
        None => args,
    }
}

/// Runs the CLI and returns the process exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let args = expand_alias(args);
    let matches = match Cli::command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return 2;
        }
    };
    let result = match cli.command {
        Command::Server(cmd) => server::run(cmd),
        Command::Topics(a) => topics::run(a),
        Command::Configs(a) => configs::run(a),
        Command::Acls(a) => acls::run(a),
        Command::ClientMetrics(a) => client_metrics::run(a),
        Command::Console(a) => console::run(a),
        Command::ConsoleProducer(a) => console_producer::run(a),
        Command::ConsoleConsumer(a) => console_consumer::run(a),
        Command::LeaderElection(a) => leader_election::run(a),
        Command::MetadataQuorum(a) => metadata_quorum::run(a),
        Command::ReassignPartitions(a) => reassign::run(a),
        Command::ConsumerGroups(a) => consumer_groups::run(a),
        Command::ShareGroups(a) => share_groups::run(a),
        Command::Transactions(a) => transactions::run(a),
        Command::DumpLog(a) => dump_log::run(a),
        Command::PerfTest(c) => perf_test::run(c),
        Command::Completions(a) => completions::run_completions(a),
        Command::Man(a) => completions::run_man(a),
        Command::Links(a) => completions::run_links(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return 0;
            }
            eprintln!("Error: {e:#}");
            1
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
