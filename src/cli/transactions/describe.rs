//! The read-only views of `rk transactions`: `list` (every broker's transactions),
//! `describe` (one transactional id at its coordinator) and `describe-producers` (the
//! active producers of one partition), in Kafka's columns.

use super::{fail, now_ms, pretty_table, print_json};
use crate::cli::common::{OutputFormat, usage_error};
use crate::client::admin::Admin;
use crate::client::admin_txn::{ListTransactionsFilter, TRANSACTION_STATES, tp_string};
use clap::Args;
use serde_json::json;

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Duration (in millis) to filter by: if < 0, all transactions will be returned;
    /// otherwise, only transactions running longer than this duration will be returned.
    #[arg(long, value_name = "MS", allow_hyphen_values = true)]
    pub duration_filter: Option<i64>,
    /// Transactional id regular expression pattern to filter by (brokers with
    /// ListTransactions v2, KIP-1152).
    #[arg(long, value_name = "REGEX")]
    pub transactional_id_pattern: Option<String>,
    /// Only transactions in these states, comma-separated (e.g. Ongoing,PrepareAbort;
    /// an rk extension).
    #[arg(long, value_name = "STATES", value_delimiter = ',')]
    pub state_filter: Vec<String>,
    /// Only transactions of these producer ids, comma-separated (an rk extension).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub producer_id_filter: Vec<i64>,
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// Transactional id.
    #[arg(long, value_name = "ID")]
    pub transactional_id: String,
}

#[derive(Args, Debug)]
pub struct DescribeProducersArgs {
    /// Optional broker id to describe the producer state on a specific replica.
    #[arg(long, value_name = "ID")]
    pub broker_id: Option<i32>,
    /// Topic name.
    #[arg(long)]
    pub topic: String,
    /// Partition number.
    #[arg(long)]
    pub partition: i32,
}

const LIST_HEADERS: [&str; 4] = ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"];

pub async fn list(admin: &Admin, a: &ListArgs, out: OutputFormat) -> anyhow::Result<i32> {
    if let Some(p) = &a.transactional_id_pattern
        && let Err(e) = regex::Regex::new(p)
    {
        return usage_error(&format!("Invalid --transactional-id-pattern '{p}': {e}"));
    }
    for s in &a.state_filter {
        if !TRANSACTION_STATES.contains(&s.trim()) {
            eprintln!("WARNING: '{}' is not a transaction state ({}); it matches nothing", s.trim(), TRANSACTION_STATES.join(", "));
        }
    }
    let filter = ListTransactionsFilter {
        states: a.state_filter.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        producer_ids: a.producer_id_filter.clone(),
        duration_ms: a.duration_filter,
        transactional_id_pattern: a.transactional_id_pattern.clone(),
    };
    let result = match admin.list_transactions(&filter).await {
        Ok(r) => r,
        Err(e) => return fail("Failed to list transactions", &e),
    };
    let rows: Vec<(i32, &crate::client::admin_txn::TransactionListing)> =
        result.iter().flat_map(|(broker, ls)| ls.iter().map(move |l| (*broker, l))).collect();
    if out == OutputFormat::Json {
        let v: Vec<_> = rows
            .iter()
            .map(|(b, l)| json!({"transactional_id": l.transactional_id, "coordinator": b, "producer_id": l.producer_id, "state": l.state}))
            .collect();
        print_json(&json!(v))?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> =
        rows.iter().map(|(b, l)| vec![l.transactional_id.clone(), b.to_string(), l.producer_id.to_string(), l.state.clone()]).collect();
    print!("{}", pretty_table(&LIST_HEADERS, &rows));
    Ok(0)
}

const DESCRIBE_HEADERS: [&str; 9] = [
    "CoordinatorId",
    "TransactionalId",
    "ProducerId",
    "ProducerEpoch",
    "TransactionState",
    "TransactionTimeoutMs",
    "CurrentTransactionStartTimeMs",
    "TransactionDurationMs",
    "TopicPartitions",
];

pub async fn describe(admin: &Admin, a: &DescribeArgs, out: OutputFormat) -> anyhow::Result<i32> {
    let id = &a.transactional_id;
    let mut results = admin.describe_transactions(std::slice::from_ref(id)).await;
    let d = match results.remove(id) {
        Some(Ok(d)) => d,
        Some(Err(e)) => return fail(&format!("Failed to describe transaction state of transactional-id `{id}`"), &e),
        None => anyhow::bail!("no DescribeTransactions result for `{id}`"),
    };
    let duration = d.start_time_ms.map(|s| now_ms() - s);
    if out == OutputFormat::Json {
        print_json(&json!({
            "coordinator_id": d.coordinator_id,
            "transactional_id": d.transactional_id,
            "producer_id": d.producer_id,
            "producer_epoch": d.producer_epoch,
            "state": d.state,
            "timeout_ms": d.timeout_ms,
            "start_time_ms": d.start_time_ms,
            "duration_ms": duration,
            "topic_partitions": d.partitions.iter().map(|(t, p)| json!({"topic": t, "partition": p})).collect::<Vec<_>>(),
        }))?;
        return Ok(0);
    }
    let none = || "None".to_string();
    let row = vec![
        d.coordinator_id.to_string(),
        d.transactional_id.clone(),
        d.producer_id.to_string(),
        d.producer_epoch.to_string(),
        d.state.clone(),
        d.timeout_ms.to_string(),
        d.start_time_ms.map_or_else(none, |s| s.to_string()),
        duration.map_or_else(none, |s| s.to_string()),
        d.partitions.iter().map(tp_string).collect::<Vec<_>>().join(","),
    ];
    print!("{}", pretty_table(&DESCRIBE_HEADERS, &[row]));
    Ok(0)
}

const PRODUCER_HEADERS: [&str; 6] =
    ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"];

pub async fn describe_producers(admin: &Admin, a: &DescribeProducersArgs, out: OutputFormat) -> anyhow::Result<i32> {
    let tp = (a.topic.clone(), a.partition);
    let mut results = admin.describe_producers(std::slice::from_ref(&tp), a.broker_id).await;
    let producers = match results.remove(&tp) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            let on = a.broker_id.map_or_else(|| "leader".to_string(), |b| format!("broker {b}"));
            return fail(&format!("Failed to describe producers for partition {} on {on}", tp_string(&tp)), &e);
        }
        None => anyhow::bail!("no DescribeProducers result for {}", tp_string(&tp)),
    };
    if out == OutputFormat::Json {
        let v: Vec<_> = producers
            .iter()
            .map(|p| {
                json!({
                    "producer_id": p.producer_id,
                    "producer_epoch": p.producer_epoch,
                    "coordinator_epoch": p.coordinator_epoch,
                    "last_sequence": p.last_sequence,
                    "last_timestamp": p.last_timestamp,
                    "current_transaction_start_offset": p.current_txn_start_offset,
                })
            })
            .collect();
        print_json(&json!(v))?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = producers
        .iter()
        .map(|p| {
            vec![
                p.producer_id.to_string(),
                p.producer_epoch.to_string(),
                p.coordinator_epoch.unwrap_or(-1).to_string(),
                p.last_sequence.to_string(),
                p.last_timestamp.to_string(),
                p.current_txn_start_offset.map_or_else(|| "None".to_string(), |o| o.to_string()),
            ]
        })
        .collect();
    print!("{}", pretty_table(&PRODUCER_HEADERS, &rows));
    Ok(0)
}
