//! The sender task (Kafka's Sender): drains sendable batches from the accumulator, groups
//! them by partition leader into Produce requests of at most `max.request.size`, keeps up
//! to `max.in.flight.requests.per.connection` requests outstanding per broker (connections
//! are pipelined, so they stay in order), completes deliveries from the responses and puts
//! retriable failures back at the head of their partition's queue.

use super::ProducerConfig;
use super::accumulator::Accumulator;
use super::batch::{Codec, ProducerBatch};
use super::txn::TxnManager;
use crate::client::cluster::Cluster;
use crate::client::connection::ClientError;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// What `send()` and the sender share.
pub(crate) struct Shared {
    pub acc: Mutex<Accumulator>,
    pub wake: Notify,
    /// Set for a transactional producer.
    pub txn: Option<Arc<TxnManager>>,
}

impl Shared {
    pub fn acc(&self) -> std::sync::MutexGuard<'_, Accumulator> {
        // A panic while holding the lock cannot leave the accumulator half-updated in a way
        // that matters more than losing the producer, so a poisoned lock is used as is.
        self.acc.lock().unwrap_or_else(|p| p.into_inner())
    }
}

use super::batch::BatchOutcome as BatchResult;

/// One Produce request's outcome.
struct Flight {
    leader: i32,
    batches: Vec<ProducerBatch>,
    results: Vec<BatchResult>,
    /// KIP-951: partitions refused NOT_LEADER_OR_FOLLOWER with their new leader (and its
    /// epoch) named.
    moved: HashMap<(String, i32), (i32, i32)>,
}

pub(crate) struct Sender {
    cluster: Arc<Cluster>,
    cfg: ProducerConfig,
    shared: Arc<Shared>,
    /// (producer id, epoch) when idempotence is on.
    idem: Option<(i64, i16)>,
    /// Next sequence number per partition (idempotence).
    sequences: HashMap<(Arc<str>, i32), i32>,
    leaders: HashMap<(Arc<str>, i32), i32>,
    /// Produce requests outstanding per broker.
    inflight: HashMap<i32, usize>,
    /// Topics whose metadata must be reloaded before the next round.
    refresh: HashSet<String>,
    /// Topics to reload again when their retried batches become due: a refresh right after
    /// a broker died may still name it (the controller has not fenced it yet).
    refresh_later: Vec<(Instant, String)>,
    tasks: JoinSet<Flight>,
}

/// The cached leader of a partition (-1 when unknown).
fn leader_of(cache: &mut HashMap<(Arc<str>, i32), i32>, cluster: &Cluster, topic: &Arc<str>, p: i32) -> i32 {
    if let Some(l) = cache.get(&(topic.clone(), p)) {
        return *l;
    }
    let Some(t) = cluster.topic(topic) else { return -1 };
    for pm in &t.partitions {
        cache.insert((topic.clone(), pm.index), pm.leader);
    }
    cache.get(&(topic.clone(), p)).copied().unwrap_or(-1)
}

impl Sender {
    pub fn new(cluster: Arc<Cluster>, cfg: ProducerConfig, shared: Arc<Shared>, idem: Option<(i64, i16)>) -> Sender {
        Sender {
            cluster,
            cfg,
            shared,
            idem,
            sequences: HashMap::new(),
            leaders: HashMap::new(),
            inflight: HashMap::new(),
            refresh: HashSet::new(),
            refresh_later: Vec::new(),
            tasks: JoinSet::new(),
        }
    }

    pub async fn run(mut self) {
        loop {
            self.resolve_waiting().await;
            self.refresh_metadata().await;
            self.dispatch().await;
            let (idle, closed, deadline) = {
                let mut acc = self.shared.acc();
                let idle = acc.is_empty() && self.tasks.is_empty();
                if idle {
                    for w in acc.flush_waiters.drain(..) {
                        let _ = w.send(());
                    }
                }
                (idle, acc.closed, acc.next_deadline(self.cfg.linger))
            };
            if idle && closed {
                return;
            }
            // A due batch still queued is waiting for a free in-flight slot: the next
            // completion wakes us, so never spin on a deadline in the past.
            let deadline = deadline.map(|d| d.max(Instant::now() + Duration::from_millis(1)));
            tokio::select! {
                _ = self.shared.wake.notified() => {}
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Ok(f) = done {
                        self.on_flight(f);
                    }
                    while let Some(Ok(f)) = self.tasks.try_join_next() {
                        self.on_flight(f);
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now).into()), if deadline.is_some() => {}
            }
        }
    }

    /// Loads metadata for topics that records wait for (auto-creating them, as producers
    /// do), then lets those records into their batches.
    async fn resolve_waiting(&mut self) {
        let topics = self.shared.acc().waiting_topics();
        for topic in topics {
            let count = self.partition_count(&topic).await;
            self.shared.acc().resolve(&topic, count);
        }
    }

    async fn partition_count(&self, topic: &str) -> Result<i32, ClientError> {
        for attempt in 0..10u64 {
            if let Some(t) = self.cluster.topic(topic)
                && !t.partitions.is_empty()
            {
                return Ok(t.partitions.len() as i32);
            }
            if let Err(e) = self.cluster.refresh_with(Some(&[topic.to_string()]), true).await
                && attempt == 9
            {
                return Err(e);
            }
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
        }
        Err(ClientError::kafka_msg(ResponseError::UnknownTopicOrPartition.code(), Some(&format!("Topic {topic} not present in metadata"))))
    }

    /// After retriable errors: new leaders, and partitions that may have been added.
    async fn refresh_metadata(&mut self) {
        let now = Instant::now();
        for (_, t) in self.refresh_later.extract_if(.., |(at, _)| *at <= now) {
            self.refresh.insert(t);
        }
        if self.refresh.is_empty() {
            return;
        }
        let topics: Vec<String> = self.refresh.drain().collect();
        if self.cluster.refresh(Some(&topics)).await.is_ok() {
            // Leaders cached from the metadata before this refresh are stale now.
            self.leaders.retain(|(t, _), _| !topics.iter().any(|x| **x == **t));
            let mut acc = self.shared.acc();
            for t in &topics {
                if let Some(m) = self.cluster.topic(t) {
                    acc.set_count(t, m.partitions.len() as i32);
                }
            }
        }
    }

    async fn dispatch(&mut self) {
        let max_inflight = self.cfg.max_in_flight.max(1);
        loop {
            let drained = {
                let mut acc = self.shared.acc();
                let (leaders, inflight, cluster) = (&mut self.leaders, &self.inflight, &self.cluster);
                acc.drain(self.cfg.linger, |t, p| {
                    let l = leader_of(leaders, cluster, t, p);
                    l < 0 || inflight.get(&l).copied().unwrap_or(0) < max_inflight
                })
            };
            if drained.is_empty() {
                return;
            }
            // A transaction's partitions must be known to its coordinator before their
            // first batch is written (the leader refuses it otherwise, KIP-890).
            let drained = match self.add_to_transaction(drained).await {
                Some(d) => d,
                None => continue,
            };
            let mut by_leader: BTreeMap<i32, Vec<ProducerBatch>> = BTreeMap::new();
            for mut b in drained {
                let leader = leader_of(&mut self.leaders, &self.cluster, &b.topic, b.partition);
                if leader < 0 {
                    let msg = format!("no leader for {}-{}", b.topic, b.partition);
                    self.retry_or_fail(b, ClientError::kafka_msg(ResponseError::LeaderNotAvailable.code(), Some(&msg)), None);
                    continue;
                }
                if self.producer_id().is_some() && b.base_sequence < 0 {
                    let seq = self.sequences.entry((b.topic.clone(), b.partition)).or_insert(0);
                    b.base_sequence = *seq;
                    *seq = seq.wrapping_add(b.record_count());
                }
                by_leader.entry(leader).or_default().push(b);
            }
            for (leader, batches) in by_leader {
                // Split into requests of at most max.request.size (each holds at least one).
                let mut request: Vec<ProducerBatch> = Vec::new();
                let mut bytes = 0;
                for b in batches {
                    if !request.is_empty() && bytes + b.size() > self.cfg.max_request_size {
                        self.spawn(leader, std::mem::take(&mut request)).await;
                        bytes = 0;
                    }
                    bytes += b.size();
                    request.push(b);
                }
                if !request.is_empty() {
                    self.spawn(leader, request).await;
                }
            }
        }
    }

    async fn spawn(&mut self, leader: i32, batches: Vec<ProducerBatch>) {
        *self.inflight.entry(leader).or_insert(0) += 1;
        let version = self.cluster.version_for::<ProduceRequest>(Some(leader)).await.unwrap_or(9);
        let ids: HashMap<Arc<str>, uuid::Uuid> = if version >= 13 {
            batches.iter().map(|b| (b.topic.clone(), self.cluster.topic(&b.topic).map(|m| m.id).unwrap_or_default())).collect()
        } else {
            HashMap::new()
        };
        let txn_id = self.shared.txn.as_ref().map(|t| t.txn_id.clone());
        let mut batches = batches;
        let (req, early) = build_produce(&self.cfg, (self.producer_id(), txn_id.as_deref()), version, &ids, &mut batches);
        if self.cfg.acks == 0 {
            let results = match self.cluster.send_no_response(leader, &req).await {
                Ok(()) => fill(early, &|| Ok((-1, -1))),
                Err(e) => fill(early, &|| Err(ClientError::Protocol(e.to_string()))),
            };
            self.tasks.spawn(async move { Flight { leader, batches, results, moved: HashMap::new() } });
            return;
        }
        // The request is written here, in the sender's order, so a partition's batches
        // reach the broker in sequence order; only the answer is awaited in the task.
        let pending = self.cluster.write_ordered(leader, &req).await;
        let cluster = self.cluster.clone();
        self.tasks.spawn(async move {
            let mut moved = HashMap::new();
            let results = match pending {
                Ok(p) => match p.response().await {
                    Ok(resp) => {
                        moved = new_leaders(&resp, version, &ids);
                        read_produce(resp, version, &ids, &batches, early)
                    }
                    Err(e) => {
                        cluster.answer_failed(leader, &e).await;
                        fill(early, &|| Err(super::batch::dup_error(&e)))
                    }
                },
                Err(e) => fill(early, &|| Err(super::batch::dup_error(&e))),
            };
            Flight { leader, batches, results, moved }
        });
    }

    fn on_flight(&mut self, f: Flight) {
        if let Some(n) = self.inflight.get_mut(&f.leader) {
            *n = n.saturating_sub(1);
        }
        let known = self.cluster.metadata().brokers;
        for ((topic, partition), (leader, epoch)) in &f.moved {
            if known.contains_key(leader) {
                self.cluster.set_leader(topic, *partition, *leader, *epoch);
            }
        }
        for (b, r) in f.batches.into_iter().zip(f.results) {
            match r {
                Ok(r) => b.complete(Ok(r)),
                Err(e) => {
                    // A leader the response named (and whose address we know) takes the
                    // retry at once, without a metadata refresh or a backoff (KIP-951).
                    let to = f.moved.get(&(b.topic.to_string(), b.partition)).map(|m| m.0).filter(|l| known.contains_key(l));
                    self.retry_or_fail(b, e, to)
                }
            }
        }
    }

    fn retry_or_fail(&mut self, mut batch: ProducerBatch, err: ClientError, moved_to: Option<i32>) {
        let retriable = match err.code() {
            // An idempotent batch refused for its sequence was not written: it follows a
            // batch that is being retried, and goes again after it.
            Some(c) if c == ResponseError::OutOfOrderSequenceNumber.code() => self.producer_id().is_some(),
            Some(c) => ResponseError::try_from_code(c).is_some_and(|e| e.is_retriable()),
            None => matches!(err, ClientError::Io(_) | ClientError::Timeout(_) | ClientError::Protocol(_) | ClientError::Connect { .. }),
        };
        let age = batch.created.elapsed();
        if retriable && batch.attempts < self.cfg.retries && age < self.cfg.delivery_timeout {
            if let Some(leader) = moved_to {
                batch.attempts += 1;
                batch.retry_at = None;
                self.leaders.insert((batch.topic.clone(), batch.partition), leader);
                self.shared.acc().requeue(batch);
                return;
            }
            // Exponential backoff (KIP-580), never past the delivery deadline.
            let backoff = self.cfg.retry_backoff.saturating_mul(1 << batch.attempts.min(16)).min(self.cfg.retry_backoff_max);
            batch.attempts += 1;
            batch.retry_at = Some(Instant::now() + backoff.min(self.cfg.delivery_timeout - age));
            // Leaders or partition counts may have changed: reload now and again when the
            // retry is due.
            self.leaders.retain(|(t, _), _| *t != batch.topic);
            self.refresh.insert(batch.topic.to_string());
            if let Some(at) = batch.retry_at {
                self.refresh_later.push((at, batch.topic.to_string()));
            }
            self.shared.acc().requeue(batch);
            return;
        }
        let err = if retriable && age >= self.cfg.delivery_timeout {
            let (n, ms) = (batch.record_count(), age.as_millis());
            let msg = format!(
                "Expiring {n} record(s) for {}-{}: {ms} ms has passed since batch creation (last error: {err})",
                batch.topic, batch.partition
            );
            ClientError::kafka_msg(ResponseError::RequestTimedOut.code(), Some(&msg))
        } else {
            err
        };
        if let Some(t) = &self.shared.txn {
            t.fail_abortable(&err);
        }
        batch.complete(Err(err));
    }

    /// (producer id, epoch): the transactional producer's once initialised, else the
    /// idempotent one's.
    fn producer_id(&self) -> Option<(i64, i16)> {
        match &self.shared.txn {
            Some(t) => t.producer(),
            None => self.idem,
        }
    }

    /// Adds the drained batches' partitions to the open transaction; when that fails the
    /// batches fail with it (None) and the transaction can only be aborted.
    async fn add_to_transaction(&mut self, drained: Vec<ProducerBatch>) -> Option<Vec<ProducerBatch>> {
        let Some(txn) = self.shared.txn.clone() else { return Some(drained) };
        let parts: Vec<(Arc<str>, i32)> = drained.iter().map(|b| (b.topic.clone(), b.partition)).collect();
        match txn.add_partitions(&self.cluster, &parts).await {
            Ok(()) => Some(drained),
            Err(e) => {
                txn.fail_abortable(&e);
                for b in drained {
                    b.complete(Err(super::batch::dup_error(&e)));
                }
                None
            }
        }
    }
}

/// Fills the batches without an early outcome.
fn fill(results: Vec<Option<BatchResult>>, f: &dyn Fn() -> BatchResult) -> Vec<BatchResult> {
    results.into_iter().map(|r| r.unwrap_or_else(f)).collect()
}

/// Seals the batches into one Produce request; a batch that cannot be sealed gets its
/// outcome now (and is left out of the request).
fn build_produce(
    cfg: &ProducerConfig,
    (idem, txn_id): (Option<(i64, i16)>, Option<&str>),
    version: i16,
    ids: &HashMap<Arc<str>, uuid::Uuid>,
    batches: &mut [ProducerBatch],
) -> (ProduceRequest, Vec<Option<BatchResult>>) {
    let (pid, epoch) = idem.unwrap_or((-1, -1));
    let codec = Codec { compression: cfg.compression, level: cfg.compression_level, transactional: txn_id.is_some() };
    let mut results: Vec<Option<BatchResult>> = (0..batches.len()).map(|_| None).collect();
    let mut topics: BTreeMap<Arc<str>, Vec<produce_request::PartitionProduceData>> = BTreeMap::new();
    for (i, b) in batches.iter_mut().enumerate() {
        match b.seal(codec, pid, epoch) {
            Ok(data) => topics
                .entry(b.topic.clone())
                .or_default()
                .push(produce_request::PartitionProduceData::default().with_index(b.partition).with_records(Some(data))),
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let topic_data = topics
        .into_iter()
        .map(|(t, parts)| {
            let d = produce_request::TopicProduceData::default().with_partition_data(parts);
            if version >= 13 {
                d.with_topic_id(ids.get(&t).copied().unwrap_or_default())
            } else {
                d.with_name(TopicName(StrBytes::from_string(t.to_string())))
            }
        })
        .collect();
    let req = ProduceRequest::default()
        .with_transactional_id(txn_id.map(|t| TransactionalId(StrBytes::from_string(t.to_string()))))
        .with_acks(cfg.acks)
        .with_timeout_ms(cfg.request_timeout_ms)
        .with_topic_data(topic_data);
    (req, results)
}

/// Maps a Produce answer back to each batch.
/// KIP-951 (Produce v10+): the current leader of each partition refused with
/// NOT_LEADER_OR_FOLLOWER, when the broker named one.
fn new_leaders(resp: &ProduceResponse, version: i16, ids: &HashMap<Arc<str>, uuid::Uuid>) -> HashMap<(String, i32), (i32, i32)> {
    let mut out = HashMap::new();
    if version < 10 {
        return out;
    }
    let names: HashMap<uuid::Uuid, &Arc<str>> = ids.iter().map(|(t, id)| (*id, t)).collect();
    for t in &resp.responses {
        let name = if version >= 13 { names.get(&t.topic_id).map(|n| n.to_string()).unwrap_or_default() } else { t.name.0.to_string() };
        for p in &t.partition_responses {
            if p.error_code == ResponseError::NotLeaderOrFollower.code() && p.current_leader.leader_id.0 >= 0 {
                out.insert((name.clone(), p.index), (p.current_leader.leader_id.0, p.current_leader.leader_epoch));
            }
        }
    }
    out
}

fn read_produce(
    resp: ProduceResponse,
    version: i16,
    ids: &HashMap<Arc<str>, uuid::Uuid>,
    batches: &[ProducerBatch],
    early: Vec<Option<BatchResult>>,
) -> Vec<BatchResult> {
    let names: HashMap<uuid::Uuid, &Arc<str>> = ids.iter().map(|(t, id)| (*id, t)).collect();
    let mut answers: HashMap<(String, i32), BatchResult> = HashMap::new();
    for t in resp.responses {
        let name = if version >= 13 { names.get(&t.topic_id).map(|n| n.to_string()).unwrap_or_default() } else { t.name.0.to_string() };
        for p in t.partition_responses {
            let r = if p.error_code == 0 {
                Ok((p.base_offset, p.log_append_time_ms))
            } else {
                Err(ClientError::kafka_msg(p.error_code, p.error_message.as_deref()))
            };
            answers.insert((name.clone(), p.index), r);
        }
    }
    batches
        .iter()
        .zip(early)
        .map(|(b, r)| {
            r.unwrap_or_else(|| {
                answers
                    .remove(&(b.topic.to_string(), b.partition))
                    .unwrap_or_else(|| Err(ClientError::Protocol("partition missing from the Produce response".into())))
            })
        })
        .collect()
}
