//! `rk transactions find-hanging`: open transactions on the selected partitions (one
//! broker's replicas, a topic, or one partition) that have run longer than the largest
//! transaction timeout and that no coordinator will finish, because their producer id has
//! no transactional id, the id is unknown, or its transaction no longer includes the
//! partition. Same steps, batches and columns as Kafka's tool.

use super::{fail, now_ms, pretty_table, print_json};
use crate::cli::common::{OutputFormat, usage_error};
use crate::client::ClientError;
use crate::client::admin::Admin;
use crate::client::admin_txn::{ListTransactionsFilter, ProducerState, TopicPartition};
use clap::Args;
use kafka_protocol::error::ResponseError as E;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// Partitions per DescribeProducers request (Kafka's MAX_BATCH_SIZE).
const MAX_BATCH_SIZE: usize = 500;

#[derive(Args, Debug)]
pub struct FindHangingArgs {
    /// Broker id to search for hanging transactions.
    #[arg(long, value_name = "ID")]
    pub broker_id: Option<i32>,
    /// Maximum transaction timeout in minutes to limit the scope of the search (15 minutes
    /// by default).
    #[arg(long, value_name = "MINUTES", default_value_t = 15)]
    pub max_transaction_timeout: i32,
    /// Topic name to limit search to (required if --partition is specified).
    #[arg(long)]
    pub topic: Option<String>,
    /// Partition number.
    #[arg(long)]
    pub partition: Option<i32>,
}

pub fn check(a: &FindHangingArgs) -> Option<i32> {
    if a.topic.is_none() && a.broker_id.is_none() {
        return usage_error("The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search").ok();
    }
    if a.partition.is_some() && a.topic.is_none() {
        return usage_error("The --partition argument requires --topic to be provided").ok();
    }
    None
}

/// An open transaction found on a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenTxn {
    pub tp: TopicPartition,
    pub producer: ProducerState,
}

/// A candidate: a producer with an open transaction whose last write is older than the
/// largest transaction timeout.
pub(crate) fn is_candidate(p: &ProducerState, now_ms: i64, max_timeout_ms: i64) -> bool {
    p.current_txn_start_offset.is_some() && now_ms - p.last_timestamp > max_timeout_ms
}

/// Which candidates hang. `ids`: producer id → transactional id (from ListTransactions);
/// `descriptions`: transactional id → the partitions of its current transaction, None
/// when the coordinator does not know the id.
pub(crate) fn filter_hanging(
    candidates: Vec<OpenTxn>,
    ids: &HashMap<i64, String>,
    descriptions: &HashMap<String, Option<BTreeSet<TopicPartition>>>,
) -> Vec<OpenTxn> {
    candidates
        .into_iter()
        .filter(|c| match ids.get(&c.producer.producer_id).and_then(|id| descriptions.get(id)) {
            // No transactional id, or the coordinator does not know it: nothing will write
            // the marker.
            None | Some(None) => true,
            // Ongoing, or PrepareCommit/PrepareAbort still owing this partition its marker:
            // the coordinator will finish it.
            Some(Some(parts)) => !parts.contains(&c.tp),
        })
        .collect()
}

const HEADERS: [&str; 8] =
    ["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp", "Duration(min)"];

pub async fn run(admin: &Admin, a: &FindHangingArgs, out: OutputFormat) -> anyhow::Result<i32> {
    let partitions = match partitions_to_search(admin, a).await {
        Ok(p) => p,
        Err((msg, e)) => return fail(&msg, &e),
    };
    let max_timeout_ms = i64::from(a.max_transaction_timeout) * 60_000;
    let mut candidates = Vec::new();
    for batch in partitions.chunks(MAX_BATCH_SIZE) {
        let results = admin.describe_producers(batch, a.broker_id).await;
        let now = now_ms();
        for (tp, r) in results {
            match r {
                Ok(producers) => candidates.extend(
                    producers
                        .into_iter()
                        .filter(|p| is_candidate(p, now, max_timeout_ms))
                        .map(|producer| OpenTxn { tp: tp.clone(), producer }),
                ),
                Err(e) => {
                    // Kafka prints the Optional it holds: Optional[1] or Optional.empty.
                    let broker = a.broker_id.map_or_else(|| "Optional.empty".to_string(), |b| format!("Optional[{b}]"));
                    return fail(&format!("Failed to describe producers for {} partitions on broker {broker}", batch.len()), &e);
                }
            }
        }
    }
    let mut hanging = Vec::new();
    if !candidates.is_empty() {
        let pids: BTreeSet<i64> = candidates.iter().map(|c| c.producer.producer_id).collect();
        let filter = ListTransactionsFilter { producer_ids: pids.iter().copied().collect(), ..Default::default() };
        let listings = match admin.list_transactions(&filter).await {
            Ok(l) => l,
            Err(e) => return fail(&format!("Failed to list transactions for {} producers", pids.len()), &e),
        };
        let ids: HashMap<i64, String> = listings
            .into_values()
            .flatten()
            .filter(|l| pids.contains(&l.producer_id))
            .map(|l| (l.producer_id, l.transactional_id))
            .collect();
        let wanted: Vec<String> = ids.values().cloned().collect();
        let mut descriptions = HashMap::new();
        for (id, r) in admin.describe_transactions(&wanted).await {
            match r {
                Ok(d) => descriptions.insert(id, Some(d.partitions)),
                Err(e) if e.code() == Some(E::TransactionalIdNotFound.code()) => descriptions.insert(id, None),
                Err(e) => return fail(&format!("Failed to describe {} transactions", wanted.len()), &e),
            };
        }
        hanging = filter_hanging(candidates, &ids, &descriptions);
    }
    hanging.sort_by(|x, y| (&x.tp, x.producer.producer_id).cmp(&(&y.tp, y.producer.producer_id)));
    print_hanging(&hanging, out)
}

/// The partitions to look at: the one given, a topic's, or every partition (internal
/// topics too) with a replica on --broker-id.
async fn partitions_to_search(admin: &Admin, a: &FindHangingArgs) -> Result<Vec<TopicPartition>, (String, ClientError)> {
    if let (Some(t), Some(p)) = (&a.topic, a.partition) {
        return Ok(vec![(t.clone(), p)]);
    }
    let meta = match &a.topic {
        Some(t) => admin.cluster.refresh(Some(std::slice::from_ref(t))).await,
        None => admin.cluster.refresh(None).await,
    };
    let meta = meta.map_err(|e| ("Failed to list topics".to_string(), e))?;
    let topics: Vec<String> = match &a.topic {
        Some(t) => vec![t.clone()],
        None => meta.topics.keys().cloned().collect(),
    };
    let mut out = Vec::new();
    for t in &topics {
        let found = meta.topics.get(t).filter(|m| m.error == 0);
        let Some(m) = found else {
            let e = ClientError::Kafka { code: E::UnknownTopicOrPartition.code(), message: format!("Topic {t} not found.") };
            return Err((format!("Failed to describe {} topics", topics.len()), e));
        };
        out.extend(m.partitions.iter().filter(|p| a.broker_id.is_none_or(|b| p.replicas.contains(&b))).map(|p| (t.clone(), p.index)));
    }
    Ok(out)
}

fn print_hanging(hanging: &[OpenTxn], out: OutputFormat) -> anyhow::Result<i32> {
    let now = now_ms();
    let minutes = |p: &ProducerState| (now - p.last_timestamp) / 60_000;
    if out == OutputFormat::Json {
        let v: Vec<_> = hanging
            .iter()
            .map(|h| {
                json!({
                    "topic": h.tp.0,
                    "partition": h.tp.1,
                    "producer_id": h.producer.producer_id,
                    "producer_epoch": h.producer.producer_epoch,
                    "coordinator_epoch": h.producer.coordinator_epoch,
                    "start_offset": h.producer.current_txn_start_offset,
                    "last_timestamp": h.producer.last_timestamp,
                    "duration_min": minutes(&h.producer),
                })
            })
            .collect();
        print_json(&json!(v))?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = hanging
        .iter()
        .map(|h| {
            let p = &h.producer;
            vec![
                h.tp.0.clone(),
                h.tp.1.to_string(),
                p.producer_id.to_string(),
                p.producer_epoch.to_string(),
                p.coordinator_epoch.unwrap_or(-1).to_string(),
                p.current_txn_start_offset.unwrap_or(-1).to_string(),
                p.last_timestamp.to_string(),
                minutes(p).to_string(),
            ]
        })
        .collect();
    print!("{}", pretty_table(&HEADERS, &rows));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn by_partition(v: &[OpenTxn]) -> BTreeMap<TopicPartition, Vec<i64>> {
        let mut m: BTreeMap<TopicPartition, Vec<i64>> = BTreeMap::new();
        for o in v {
            m.entry(o.tp.clone()).or_default().push(o.producer.producer_id);
        }
        m
    }

    fn producer(pid: i64, start: Option<i64>, last_ts: i64) -> ProducerState {
        ProducerState {
            producer_id: pid,
            producer_epoch: 0,
            last_sequence: 0,
            last_timestamp: last_ts,
            coordinator_epoch: None,
            current_txn_start_offset: start,
        }
    }

    fn open(topic: &str, p: i32, pid: i64) -> OpenTxn {
        OpenTxn { tp: (topic.into(), p), producer: producer(pid, Some(0), 0) }
    }

    #[test]
    fn candidates_are_open_and_older_than_the_timeout() {
        let max = 15 * 60_000;
        let now = 100 * 60_000;
        assert!(is_candidate(&producer(1, Some(5), now - max - 1), now, max));
        assert!(!is_candidate(&producer(1, Some(5), now - max), now, max), "exactly the timeout is not past it");
        assert!(!is_candidate(&producer(1, None, 0), now, max), "no open transaction");
    }

    #[test]
    fn hanging_unless_the_coordinator_still_owes_the_partition_a_marker() {
        let candidates = vec![open("t", 0, 1), open("t", 0, 2), open("t", 1, 3), open("t", 2, 4), open("t", 0, 5)];
        let ids: HashMap<i64, String> = [(2, "gone".to_string()), (3, "other".to_string()), (4, "live".to_string())].into();
        let descriptions: HashMap<String, Option<BTreeSet<TopicPartition>>> = [
            ("gone".to_string(), None),
            ("other".to_string(), Some([("t".to_string(), 9)].into())),
            ("live".to_string(), Some([("t".to_string(), 2)].into())),
        ]
        .into();
        let hanging = filter_hanging(candidates, &ids, &descriptions);
        // 1 and 5: no transactional id; 2: id unknown to its coordinator; 3: its current
        // transaction is on another partition; 4: still part of its transaction.
        let want: BTreeMap<TopicPartition, Vec<i64>> = [(("t".into(), 0), vec![1, 2, 5]), (("t".into(), 1), vec![3])].into();
        assert_eq!(by_partition(&hanging), want);
    }
}
