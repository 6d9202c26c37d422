//! Admin operations on transactions, as Kafka's Admin client does them: ListTransactions on
//! every broker, DescribeTransactions at each id's transaction coordinator,
//! DescribeProducers at partition leaders (or one chosen broker), and aborting an open
//! transaction with a WriteTxnMarkers ABORT to the partition leader. Retriable errors
//! (loading coordinators, moved leaders) are retried until the request timeout; error
//! messages are the Java admin client's.

mod producers;

use super::admin::Admin;
use super::connection::ClientError;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A broker error with the Java client's message (the code's own text when `msg` is None).
fn err(e: E, msg: Option<String>) -> ClientError {
    ClientError::Kafka { code: e.code(), message: msg.unwrap_or_else(|| e.to_string()) }
}

fn is(code: i16, errors: &[E]) -> bool {
    errors.iter().any(|e| e.code() == code)
}

/// A topic partition, printed as Kafka prints it (`topic-partition`).
pub type TopicPartition = (String, i32);

pub fn tp_string(tp: &TopicPartition) -> String {
    format!("{}-{}", tp.0, tp.1)
}

/// One transaction in a ListTransactions answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionListing {
    pub transactional_id: String,
    pub producer_id: i64,
    pub state: String,
}

/// DescribeTransactions for one transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionDescription {
    pub coordinator_id: i32,
    pub transactional_id: String,
    pub state: String,
    pub timeout_ms: i32,
    /// None when no transaction is running (the broker sends -1).
    pub start_time_ms: Option<i64>,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub partitions: BTreeSet<TopicPartition>,
}

/// One active producer of a partition (DescribeProducers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerState {
    pub producer_id: i64,
    pub producer_epoch: i32,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    /// None when no marker was seen yet (the broker sends -1).
    pub coordinator_epoch: Option<i32>,
    /// The first offset of the producer's open transaction, None when it has none.
    pub current_txn_start_offset: Option<i64>,
}

/// The transaction to abort on one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortSpec {
    pub partition: TopicPartition,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
}

impl std::fmt::Display for AbortSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AbortTransactionSpec(topicPartition={}, producerId={}, producerEpoch={}, coordinatorEpoch={})",
            tp_string(&self.partition),
            self.producer_id,
            self.producer_epoch,
            self.coordinator_epoch
        )
    }
}

/// ListTransactions filters (empty / None: no filter).
#[derive(Debug, Clone, Default)]
pub struct ListTransactionsFilter {
    pub states: Vec<String>,
    pub producer_ids: Vec<i64>,
    /// Only transactions running longer than this (v1+).
    pub duration_ms: Option<i64>,
    /// Only transactional ids matching this regular expression (v2+, KIP-1152).
    pub transactional_id_pattern: Option<String>,
}

/// The transaction states Kafka's admin client knows (TransactionState).
pub const TRANSACTION_STATES: [&str; 7] =
    ["Ongoing", "PrepareAbort", "PrepareCommit", "CompleteAbort", "CompleteCommit", "Empty", "PrepareEpochFence"];

/// A state as Kafka's admin client reports it: a name it does not know is `Unknown`.
pub fn state_name(s: &str) -> String {
    TRANSACTION_STATES.iter().find(|k| **k == s).map_or("Unknown", |k| k).to_string()
}

/// Retries until the request timeout, with a growing pause.
struct Backoff {
    deadline: Instant,
    attempt: u32,
}

impl Backoff {
    fn new(timeout: Duration) -> Backoff {
        Backoff { deadline: Instant::now() + timeout, attempt: 0 }
    }

    /// Sleeps before the next attempt; false once the time is up.
    async fn again(&mut self) -> bool {
        self.attempt += 1;
        let pause = Duration::from_millis(50 * u64::from(self.attempt.min(10)));
        if Instant::now() + pause >= self.deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        true
    }
}

impl Admin {
    fn backoff(&self) -> Backoff {
        Backoff::new(self.cluster.cfg.request_timeout)
    }

    /// ListTransactions on every broker: broker id → its listings (in its order).
    pub async fn list_transactions(&self, f: &ListTransactionsFilter) -> Result<BTreeMap<i32, Vec<TransactionListing>>, ClientError> {
        let brokers: Vec<i32> = self.cluster.refresh(Some(&[])).await?.brokers.into_keys().collect();
        let mut out = BTreeMap::new();
        for node in brokers {
            let v = self.cluster.version_for::<ListTransactionsRequest>(Some(node)).await?;
            let mut req = ListTransactionsRequest::default()
                .with_state_filters(f.states.iter().map(|s| sb(s)).collect())
                .with_producer_id_filters(f.producer_ids.iter().map(|p| ProducerId(*p)).collect());
            if let Some(d) = f.duration_ms.filter(|d| *d >= 0) {
                if v < 1 {
                    return Err(err(
                        E::UnsupportedVersion,
                        Some("Duration filter can be set only when using API version 1 or higher. If client is connected to an older broker, do not specify duration filter or set duration filter to -1.".into()),
                    ));
                }
                req = req.with_duration_filter(d);
            }
            if let Some(p) = &f.transactional_id_pattern {
                if v < 2 {
                    return Err(err(
                        E::UnsupportedVersion,
                        Some("Transactional ID pattern filter can be set only when using API version 2 or higher.".into()),
                    ));
                }
                req = req.with_transactional_id_pattern(Some(sb(p)));
            }
            let mut backoff = self.backoff();
            let resp = loop {
                let resp = self.cluster.send(Some(node), &req).await?;
                if resp.error_code == E::CoordinatorLoadInProgress.code() && backoff.again().await {
                    continue;
                }
                break resp;
            };
            match resp.error_code {
                0 => {}
                c if c == E::CoordinatorNotAvailable.code() => {
                    return Err(err(
                        E::CoordinatorNotAvailable,
                        Some(format!("ListTransactions request sent to broker {node} failed because the coordinator is shutting down")),
                    ));
                }
                c => {
                    let e = E::try_from_code(c).unwrap_or(E::UnknownServerError);
                    return Err(ClientError::Kafka {
                        code: c,
                        message: format!("ListTransactions request sent to broker {node} failed with an unexpected exception ({e})"),
                    });
                }
            }
            let listings = resp
                .transaction_states
                .into_iter()
                .map(|t| TransactionListing {
                    transactional_id: t.transactional_id.0.to_string(),
                    producer_id: t.producer_id.0,
                    state: state_name(&t.transaction_state),
                })
                .collect();
            out.insert(node, listings);
        }
        Ok(out)
    }

    /// DescribeTransactions: one result per id, asked of each id's transaction coordinator.
    pub async fn describe_transactions(&self, ids: &[String]) -> BTreeMap<String, Result<TransactionDescription, ClientError>> {
        let mut out = BTreeMap::new();
        for id in ids {
            if !out.contains_key(id) {
                let r = self.describe_transaction(id).await;
                out.insert(id.clone(), r);
            }
        }
        out
    }

    async fn describe_transaction(&self, id: &str) -> Result<TransactionDescription, ClientError> {
        let mut backoff = self.backoff();
        loop {
            let coordinator = match self.cluster.txn_coordinator(id).await {
                Ok(c) => c,
                Err(e) if e.code().is_some_and(|c| is(c, &[E::CoordinatorNotAvailable, E::CoordinatorLoadInProgress])) => {
                    if backoff.again().await {
                        continue;
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(sb(id))]);
            let resp = self.cluster.send(Some(coordinator), &req).await?;
            let s =
                resp.transaction_states.into_iter().find(|s| s.transactional_id.0.as_str() == id).ok_or_else(|| {
                    ClientError::Protocol(format!("DescribeTransactions response did not include transactional id `{id}`"))
                })?;
            let c = s.error_code;
            if c == 0 {
                let partitions = s.topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic.0.to_string(), *p))).collect();
                return Ok(TransactionDescription {
                    coordinator_id: coordinator,
                    transactional_id: id.to_string(),
                    state: state_name(&s.transaction_state),
                    timeout_ms: s.transaction_timeout_ms,
                    start_time_ms: (s.transaction_start_time_ms >= 0).then_some(s.transaction_start_time_ms),
                    producer_id: s.producer_id.0,
                    producer_epoch: s.producer_epoch,
                    partitions,
                });
            }
            if is(c, &[E::CoordinatorLoadInProgress, E::NotCoordinator, E::CoordinatorNotAvailable]) && backoff.again().await {
                continue;
            }
            let request = format!("DescribeTransactions request for transactionalId `{id}`");
            let msg = match E::try_from_code(c) {
                Some(E::TransactionalIdAuthorizationFailed) => format!("{request} failed due to authorization failure"),
                Some(E::TransactionalIdNotFound) => format!("{request} failed because the ID could not be found"),
                _ => format!("{request} failed due to unexpected error"),
            };
            return Err(ClientError::Kafka { code: c, message: msg });
        }
    }

    /// Aborts an open transaction on one partition: WriteTxnMarkers (ABORT) to its leader.
    pub async fn abort_transaction(&self, spec: &AbortSpec) -> Result<(), ClientError> {
        let mut backoff = self.backoff();
        loop {
            let leader = self.wait_for_leader(&spec.partition, &mut backoff).await?;
            let marker = write_txn_markers_request::WritableTxnMarker::default()
                .with_producer_id(ProducerId(spec.producer_id))
                .with_producer_epoch(spec.producer_epoch)
                .with_transaction_result(false)
                .with_coordinator_epoch(spec.coordinator_epoch)
                .with_topics(vec![
                    write_txn_markers_request::WritableTxnMarkerTopic::default()
                        .with_name(TopicName(sb(&spec.partition.0)))
                        .with_partition_indexes(vec![spec.partition.1]),
                ]);
            let resp = self.cluster.send(Some(leader), &WriteTxnMarkersRequest::default().with_markers(vec![marker])).await?;
            let c = single_marker_result(&resp, spec)?;
            let msg = match E::try_from_code(c) {
                None => return Ok(()),
                Some(E::NotLeaderOrFollower | E::ReplicaNotAvailable | E::BrokerNotAvailable | E::UnknownTopicOrPartition)
                    if backoff.again().await =>
                {
                    continue;
                }
                Some(E::ClusterAuthorizationFailed) => {
                    format!("WriteTxnMarkers request with {spec} failed due to cluster authorization error")
                }
                Some(E::InvalidProducerEpoch) => format!("WriteTxnMarkers request with {spec} failed due an invalid producer epoch"),
                Some(E::TransactionCoordinatorFenced) => format!(
                    "WriteTxnMarkers request with {spec} failed since the provided coordinator epoch {} has been fenced by the active coordinator",
                    spec.coordinator_epoch
                ),
                Some(e) => format!("WriteTxnMarkers request with {spec} failed due to unexpected error: {e}"),
            };
            return Err(ClientError::Kafka { code: c, message: msg });
        }
    }
}

/// The error code of the one partition a WriteTxnMarkers answer must hold.
fn single_marker_result(resp: &WriteTxnMarkersResponse, spec: &AbortSpec) -> Result<i16, ClientError> {
    let bad = |what: &str| ClientError::Protocol(format!("WriteTxnMarkers response included unexpected {what} entries (expected {spec})"));
    let [m] = resp.markers.as_slice() else { return Err(bad("marker")) };
    if m.producer_id.0 != spec.producer_id {
        return Err(bad("marker"));
    }
    let [t] = m.topics.as_slice() else { return Err(bad("topic")) };
    if t.name.0.as_str() != spec.partition.0 {
        return Err(bad("topic"));
    }
    let [p] = t.partitions.as_slice() else { return Err(bad("partition")) };
    if p.partition_index != spec.partition.1 {
        return Err(bad("partition"));
    }
    Ok(p.error_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_and_spec_text_are_the_java_ones() {
        assert_eq!(state_name("Ongoing"), "Ongoing");
        assert_eq!(state_name("Dead"), "Unknown");
        let spec = AbortSpec { partition: ("t".into(), 3), producer_id: 7, producer_epoch: 1, coordinator_epoch: 0 };
        assert_eq!(spec.to_string(), "AbortTransactionSpec(topicPartition=t-3, producerId=7, producerEpoch=1, coordinatorEpoch=0)");
    }

    #[test]
    fn marker_answers_must_be_for_the_spec() {
        let spec = AbortSpec { partition: ("t".into(), 0), producer_id: 7, producer_epoch: 1, coordinator_epoch: 0 };
        let answer = |pid: i64, topic: &str, p: i32, code: i16| {
            WriteTxnMarkersResponse::default().with_markers(vec![
                write_txn_markers_response::WritableTxnMarkerResult::default().with_producer_id(ProducerId(pid)).with_topics(vec![
                    write_txn_markers_response::WritableTxnMarkerTopicResult::default().with_name(TopicName(sb(topic))).with_partitions(
                        vec![
                            write_txn_markers_response::WritableTxnMarkerPartitionResult::default()
                                .with_partition_index(p)
                                .with_error_code(code),
                        ],
                    ),
                ]),
            ])
        };
        assert_eq!(single_marker_result(&answer(7, "t", 0, 47), &spec).unwrap(), 47);
        assert!(single_marker_result(&answer(8, "t", 0, 0), &spec).is_err());
        assert!(single_marker_result(&answer(7, "u", 0, 0), &spec).is_err());
        assert!(single_marker_result(&answer(7, "t", 1, 0), &spec).is_err());
        assert!(single_marker_result(&WriteTxnMarkersResponse::default(), &spec).is_err());
    }
}
