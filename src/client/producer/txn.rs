//! The producer's TransactionManager: InitProducerId with a transactional id, the
//! transaction state machine (ready → in transaction → committing/aborting → ready),
//! AddPartitionsToTxn before a partition's first batch, AddOffsetsToTxn + TxnOffsetCommit
//! for consume-transform-produce, EndTxn, and the coordinator lookups with Kafka's retry
//! rules (CONCURRENT_TRANSACTIONS and coordinator moves are retried; fencing is fatal).

use crate::client::cluster::Cluster;
use crate::client::connection::ClientError;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one transactional call keeps retrying (Java's max.block.ms default).
const MAX_BLOCK: Duration = Duration::from_secs(60);

/// A consumer group member's identity, for offsets committed inside a transaction
/// (KIP-447: the group coordinator fences commits from stale generations).
#[derive(Debug, Clone)]
pub struct GroupMetadata {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

impl GroupMetadata {
    /// A group id only (no member): what a standalone consumer commits as.
    pub fn for_group(group_id: &str) -> GroupMetadata {
        GroupMetadata { group_id: group_id.to_string(), generation_id: -1, member_id: String::new(), group_instance_id: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Uninitialized,
    Ready,
    InTransaction,
    /// A send or offset commit failed: only abort_transaction() is allowed.
    Abortable(String),
    /// Fenced or otherwise unusable: the producer must be closed.
    Fatal(String),
}

struct State {
    phase: Phase,
    coordinator: Option<i32>,
    /// Partitions the coordinator knows are in the current transaction.
    added: HashSet<(Arc<str>, i32)>,
    /// The coordinator has this transaction (a partition or offsets were added), so
    /// ending it needs an EndTxn.
    started: bool,
}

pub(crate) struct TxnManager {
    pub txn_id: String,
    timeout_ms: i32,
    st: Mutex<State>,
    /// (producer id, epoch) once initialised; shared with the sender.
    pub producer: Mutex<Option<(i64, i16)>>,
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn code_is(code: i16, errs: &[E]) -> bool {
    errs.iter().any(|e| e.code() == code)
}

/// Errors that end the producer (Java's fatal errors).
fn is_fatal(code: i16) -> bool {
    code_is(
        code,
        &[
            E::ProducerFenced,
            E::InvalidProducerEpoch,
            E::TransactionalIdAuthorizationFailed,
            E::InvalidTxnState,
            E::UnsupportedForMessageFormat,
            E::UnsupportedVersion,
            E::InvalidProducerIdMapping,
        ],
    )
}

/// Errors after which the same call is simply tried again (after a coordinator lookup
/// for the coordinator ones).
pub(super) fn is_retriable(code: i16) -> bool {
    code_is(
        code,
        &[
            E::ConcurrentTransactions,
            E::CoordinatorLoadInProgress,
            E::NotCoordinator,
            E::CoordinatorNotAvailable,
            E::RequestTimedOut,
            E::UnknownTopicOrPartition,
            E::NotEnoughReplicas,
            E::NotEnoughReplicasAfterAppend,
            E::NetworkException,
        ],
    )
}

fn moved(code: i16) -> bool {
    code_is(code, &[E::NotCoordinator, E::CoordinatorNotAvailable])
}

impl TxnManager {
    pub fn new(txn_id: String, timeout_ms: i32) -> TxnManager {
        TxnManager {
            txn_id,
            timeout_ms,
            st: Mutex::new(State { phase: Phase::Uninitialized, coordinator: None, added: HashSet::new(), started: false }),
            producer: Mutex::new(None),
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn producer(&self) -> Option<(i64, i16)> {
        *self.producer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn id_and_epoch(&self) -> Result<(i64, i16), ClientError> {
        self.producer().ok_or_else(|| ClientError::Protocol("init_transactions() has not been called".into()))
    }

    /// Why a send cannot be part of a transaction now, if it cannot.
    pub fn check_send(&self) -> Result<(), ClientError> {
        match &self.st().phase {
            Phase::InTransaction => Ok(()),
            Phase::Abortable(why) => {
                Err(ClientError::Protocol(format!("Cannot perform send because a previous transactional request failed: {why}")))
            }
            Phase::Fatal(why) => Err(ClientError::Protocol(format!("The producer is fenced or failed: {why}"))),
            other => Err(ClientError::Protocol(format!("Cannot call send in state {other:?}: begin_transaction() first"))),
        }
    }

    /// A batch of the transaction failed for good: the transaction can only be aborted.
    pub fn fail_abortable(&self, why: &ClientError) {
        let mut st = self.st();
        if let Some(code) = why.code()
            && is_fatal(code)
        {
            st.phase = Phase::Fatal(why.to_string());
        } else if st.phase == Phase::InTransaction {
            st.phase = Phase::Abortable(why.to_string());
        }
    }

    fn fail(&self, e: ClientError) -> ClientError {
        if e.code().is_some_and(is_fatal) {
            self.st().phase = Phase::Fatal(e.to_string());
        }
        e
    }

    /// Runs `call` against the transaction coordinator until it answers something other
    /// than a retriable error (looking the coordinator up again when it moved).
    async fn with_coordinator<T, F, Fut>(&self, cluster: &Cluster, mut call: F) -> Result<T, ClientError>
    where
        F: FnMut(i32) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let deadline = Instant::now() + MAX_BLOCK;
        let mut backoff = Duration::from_millis(20);
        loop {
            let coordinator = self.st().coordinator;
            let node = match coordinator {
                Some(n) => Ok(n),
                None => cluster.find_coordinator(1, &self.txn_id).await,
            };
            let r = match node {
                Ok(n) => {
                    self.st().coordinator = Some(n);
                    call(n).await
                }
                Err(e) => Err(e),
            };
            let e = match r {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let retriable = match e.code() {
                Some(c) => is_retriable(c),
                None => matches!(e, ClientError::Io(_) | ClientError::Timeout(_) | ClientError::Connect { .. }),
            };
            if !retriable || Instant::now() >= deadline {
                return Err(self.fail(e));
            }
            if e.code().is_none_or(moved) {
                self.st().coordinator = None;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
        }
    }

    /// InitProducerId with the transactional id: fences older producers with the same id
    /// and makes the coordinator finish (abort) a transaction they left open.
    pub async fn init(&self, cluster: &Cluster) -> Result<(), ClientError> {
        if !matches!(self.st().phase, Phase::Uninitialized) {
            return Err(ClientError::Protocol("init_transactions() was already called".into()));
        }
        let (id, epoch) = self
            .with_coordinator(cluster, |node| async move {
                let req = InitProducerIdRequest::default()
                    .with_transactional_id(Some(TransactionalId(sb(&self.txn_id))))
                    .with_transaction_timeout_ms(self.timeout_ms)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1);
                let resp = cluster.send(Some(node), &req).await?;
                if resp.error_code != 0 {
                    return Err(ClientError::kafka(resp.error_code));
                }
                Ok((resp.producer_id.0, resp.producer_epoch))
            })
            .await?;
        *self.producer.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, epoch));
        self.st().phase = Phase::Ready;
        Ok(())
    }

    pub fn begin(&self) -> Result<(), ClientError> {
        let mut st = self.st();
        match &st.phase {
            Phase::Ready => {
                st.phase = Phase::InTransaction;
                st.added.clear();
                st.started = false;
                Ok(())
            }
            Phase::Uninitialized => Err(ClientError::Protocol("init_transactions() has not been called".into())),
            Phase::InTransaction => Err(ClientError::Protocol("a transaction is already in progress".into())),
            Phase::Abortable(why) => Err(ClientError::Protocol(format!("the current transaction must be aborted: {why}"))),
            Phase::Fatal(why) => Err(ClientError::Protocol(format!("the producer is fenced or failed: {why}"))),
        }
    }

    /// Partitions of `parts` the coordinator does not know yet are added to the
    /// transaction; returns when all of them are in it.
    pub async fn add_partitions(&self, cluster: &Cluster, parts: &[(Arc<str>, i32)]) -> Result<(), ClientError> {
        let new: Vec<(Arc<str>, i32)> = {
            let st = self.st();
            let mut seen = HashSet::new();
            parts.iter().filter(|k| !st.added.contains(*k) && seen.insert((*k).clone())).cloned().collect()
        };
        if new.is_empty() {
            return Ok(());
        }
        let (id, epoch) = self.id_and_epoch()?;
        let mut topics: BTreeMap<Arc<str>, Vec<i32>> = BTreeMap::new();
        for (t, p) in &new {
            topics.entry(t.clone()).or_default().push(*p);
        }
        self.with_coordinator(cluster, |node| {
            let topics = &topics;
            async move {
                // Versions 4+ are the brokers' batched verification form: clients use 3.
                let v = cluster.version_for::<AddPartitionsToTxnRequest>(Some(node)).await?.min(3);
                let topic_list: Vec<add_partitions_to_txn_request::AddPartitionsToTxnTopic> = topics
                    .iter()
                    .map(|(t, ps)| {
                        add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                            .with_name(TopicName(sb(t)))
                            .with_partitions(ps.clone())
                    })
                    .collect();
                let req = if v >= 4 {
                    AddPartitionsToTxnRequest::default().with_transactions(vec![
                        add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                            .with_transactional_id(TransactionalId(sb(&self.txn_id)))
                            .with_producer_id(ProducerId(id))
                            .with_producer_epoch(epoch)
                            .with_verify_only(false)
                            .with_topics(topic_list),
                    ])
                } else {
                    AddPartitionsToTxnRequest::default()
                        .with_v3_and_below_transactional_id(TransactionalId(sb(&self.txn_id)))
                        .with_v3_and_below_producer_id(ProducerId(id))
                        .with_v3_and_below_producer_epoch(epoch)
                        .with_v3_and_below_topics(topic_list)
                };
                let resp = cluster.send_at_most(Some(node), &req, 3).await?;
                if resp.error_code != 0 {
                    return Err(ClientError::kafka(resp.error_code));
                }
                let results = if v >= 4 {
                    resp.results_by_transaction.into_iter().flat_map(|t| t.topic_results).collect::<Vec<_>>()
                } else {
                    resp.results_by_topic_v3_and_below
                };
                // The worst partition error decides: a retriable one retries them all,
                // OPERATION_NOT_ATTEMPTED only reflects another partition's failure.
                let mut worst: Option<i16> = None;
                for t in results {
                    for p in t.results_by_partition {
                        let c = p.partition_error_code;
                        if c != 0 && c != E::OperationNotAttempted.code() && (worst.is_none() || !is_retriable(c)) {
                            worst = Some(c);
                        }
                    }
                }
                match worst {
                    Some(c) => Err(ClientError::kafka(c)),
                    None => Ok(()),
                }
            }
        })
        .await?;
        let mut st = self.st();
        st.added.extend(new);
        st.started = true;
        Ok(())
    }

    /// AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator: the offsets become
    /// the group's committed offsets when (and only if) the transaction commits.
    pub async fn send_offsets(
        &self,
        cluster: &Cluster,
        offsets: &BTreeMap<(String, i32), i64>,
        group: &GroupMetadata,
    ) -> Result<(), ClientError> {
        self.check_send()?;
        let (id, epoch) = self.id_and_epoch()?;
        let r = self
            .with_coordinator(cluster, |node| async move {
                let req = AddOffsetsToTxnRequest::default()
                    .with_transactional_id(TransactionalId(sb(&self.txn_id)))
                    .with_producer_id(ProducerId(id))
                    .with_producer_epoch(epoch)
                    .with_group_id(GroupId(sb(&group.group_id)));
                let resp = cluster.send(Some(node), &req).await?;
                if resp.error_code != 0 {
                    return Err(ClientError::kafka(resp.error_code));
                }
                Ok(())
            })
            .await;
        if let Err(e) = r {
            self.fail_abortable(&e);
            return Err(e);
        }
        self.st().started = true;
        if let Err(e) = self.txn_offset_commit(cluster, offsets, group, id, epoch).await {
            self.fail_abortable(&e);
            return Err(e);
        }
        Ok(())
    }

    async fn txn_offset_commit(
        &self,
        cluster: &Cluster,
        offsets: &BTreeMap<(String, i32), i64>,
        group: &GroupMetadata,
        id: i64,
        epoch: i16,
    ) -> Result<(), ClientError> {
        let mut by_topic: BTreeMap<&str, Vec<txn_offset_commit_request::TxnOffsetCommitRequestPartition>> = BTreeMap::new();
        for ((t, p), o) in offsets {
            by_topic.entry(t).or_default().push(
                txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                    .with_partition_index(*p)
                    .with_committed_offset(*o)
                    .with_committed_leader_epoch(-1),
            );
        }
        let topics: Vec<_> = by_topic
            .into_iter()
            .map(|(t, ps)| {
                txn_offset_commit_request::TxnOffsetCommitRequestTopic::default().with_name(TopicName(sb(t))).with_partitions(ps)
            })
            .collect();
        let req = TxnOffsetCommitRequest::default()
            .with_transactional_id(TransactionalId(sb(&self.txn_id)))
            .with_group_id(GroupId(sb(&group.group_id)))
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch)
            .with_generation_id(group.generation_id)
            .with_member_id(sb(&group.member_id))
            .with_group_instance_id(group.group_instance_id.as_deref().map(sb))
            .with_topics(topics);
        let deadline = Instant::now() + MAX_BLOCK;
        let mut coordinator: Option<i32> = None;
        loop {
            let node = match coordinator {
                Some(n) => Ok(n),
                None => cluster.find_coordinator(0, &group.group_id).await,
            };
            let r = match node {
                Ok(n) => {
                    coordinator = Some(n);
                    cluster.send(Some(n), &req).await.and_then(|resp| {
                        let worst = resp.topics.iter().flat_map(|t| t.partitions.iter()).map(|p| p.error_code).find(|c| *c != 0);
                        match worst {
                            Some(c) => Err(ClientError::kafka(c)),
                            None => Ok(()),
                        }
                    })
                }
                Err(e) => Err(e),
            };
            let e = match r {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let retriable =
                e.code().map_or(matches!(e, ClientError::Io(_) | ClientError::Timeout(_) | ClientError::Connect { .. }), is_retriable);
            if !retriable || Instant::now() >= deadline {
                return Err(e);
            }
            if e.code().is_none_or(moved) {
                coordinator = None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the current transaction may be committed (no send failed).
    pub fn check_commit(&self) -> Result<(), ClientError> {
        match &self.st().phase {
            Phase::InTransaction => Ok(()),
            Phase::Abortable(why) => {
                Err(ClientError::Protocol(format!("Cannot commit: a send in this transaction failed ({why}); abort it")))
            }
            Phase::Fatal(why) => Err(ClientError::Protocol(format!("The producer is fenced or failed: {why}"))),
            other => Err(ClientError::Protocol(format!("Cannot commit in state {other:?}: no transaction in progress"))),
        }
    }

    /// EndTxn (commit or abort). A transaction the coordinator never heard of ends here.
    pub async fn end(&self, cluster: &Cluster, commit: bool) -> Result<(), ClientError> {
        {
            let st = self.st();
            match &st.phase {
                Phase::InTransaction => {}
                Phase::Abortable(_) if !commit => {}
                Phase::Fatal(why) => return Err(ClientError::Protocol(format!("The producer is fenced or failed: {why}"))),
                other => return Err(ClientError::Protocol(format!("Cannot end a transaction in state {other:?}"))),
            }
        }
        let started = self.st().started;
        if started {
            let (id, epoch) = self.id_and_epoch()?;
            self.with_coordinator(cluster, |node| async move {
                let req = EndTxnRequest::default()
                    .with_transactional_id(TransactionalId(sb(&self.txn_id)))
                    .with_producer_id(ProducerId(id))
                    .with_producer_epoch(epoch)
                    .with_committed(commit);
                let resp = cluster.send(Some(node), &req).await?;
                if resp.error_code != 0 {
                    return Err(ClientError::kafka(resp.error_code));
                }
                Ok(())
            })
            .await?;
        }
        let mut st = self.st();
        st.phase = Phase::Ready;
        st.added.clear();
        st.started = false;
        Ok(())
    }
}
