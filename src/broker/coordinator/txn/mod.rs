//! TransactionCoordinator: producer ids (InitProducerId), the transaction state machine of
//! each transactional id, and its durable state in `__transaction_state` (one shard per
//! partition, loaded when this broker starts leading it, as the group coordinator does).
//! Ending a transaction writes PrepareCommit/PrepareAbort, answers, then writes the
//! markers to every partition of the transaction (`markers.rs`) and CompleteCommit/Abort.
//! Open transactions past their timeout are aborted with a bumped epoch (fencing the
//! producer); idle transactional ids expire.

mod markers;
mod ops;
pub mod producer_ids;
pub mod state;
pub mod store;

use crate::broker::coordinator::group::GroupCoordinator;
use crate::broker::log::AppendOrigin;
use crate::broker::replica::{FetchIsolation, PendingAppend, ReplicaManager};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::records::RecordBatchDecoder;
use producer_ids::ProducerIdManager;
use state::{TxnMetadata, TxnState};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use store::TXN_TOPIC;

/// Kafka's transaction.* broker settings.
#[derive(Debug, Clone)]
pub struct TxnConfig {
    pub partitions: i32,
    pub max_timeout_ms: i32,
    pub id_expiration_ms: i64,
    pub abort_interval_ms: u64,
    pub expiration_check_interval_ms: u64,
    pub producer_id_expiration_ms: i64,
    pub verification: bool,
}

/// The transactions of one `__transaction_state` partition.
pub struct TxnShard {
    pub partition: i32,
    /// The leader epoch of the partition when it was loaded (markers carry it).
    pub coordinator_epoch: i32,
    txns: Mutex<HashMap<String, TxnMetadata>>,
}

impl TxnShard {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TxnMetadata>> {
        self.txns.lock().unwrap_or_else(|e| e.into_inner())
    }
}

enum Slot {
    Loading,
    Active(Arc<TxnShard>),
}

pub struct TransactionCoordinator {
    pub cfg: TxnConfig,
    /// Markers are written by tasks started from the publisher's loading thread too.
    runtime: tokio::runtime::Handle,
    shards: RwLock<HashMap<i32, Slot>>,
    replicas: Arc<ReplicaManager>,
    groups: Arc<GroupCoordinator>,
    pub producer_ids: Arc<ProducerIdManager>,
    /// The broker (set once built): where partitions led elsewhere get their markers.
    pub broker: std::sync::OnceLock<std::sync::Weak<crate::broker::Broker>>,
}

fn code(e: E) -> i16 {
    e.code()
}

/// The outcome of a coordinator request: Kafka's error code on failure.
pub type TxnResult<T> = Result<T, i16>;

impl TransactionCoordinator {
    pub fn new(cfg: TxnConfig, replicas: Arc<ReplicaManager>, groups: Arc<GroupCoordinator>, producer_ids: Arc<ProducerIdManager>) -> Self {
        TransactionCoordinator {
            cfg,
            runtime: tokio::runtime::Handle::current(),
            shards: RwLock::new(HashMap::new()),
            replicas,
            groups,
            producer_ids,
            broker: std::sync::OnceLock::new(),
        }
    }

    /// The shard holding `transactional_id`: NOT_COORDINATOR when this broker does not lead
    /// its partition, COORDINATOR_LOAD_IN_PROGRESS while it loads.
    pub fn shard(&self, transactional_id: &str) -> TxnResult<Arc<TxnShard>> {
        let p = store::partition_for(transactional_id, self.cfg.partitions);
        match self.shards.read().unwrap_or_else(|e| e.into_inner()).get(&p) {
            Some(Slot::Active(s)) => Ok(s.clone()),
            Some(Slot::Loading) => Err(code(E::CoordinatorLoadInProgress)),
            None => Err(code(E::NotCoordinator)),
        }
    }

    fn active_shards(&self) -> Vec<Arc<TxnShard>> {
        let shards = self.shards.read().unwrap_or_else(|e| e.into_inner());
        shards.values().filter_map(|s| if let Slot::Active(a) = s { Some(a.clone()) } else { None }).collect()
    }

    pub fn is_loaded(&self) -> bool {
        self.shards.read().unwrap_or_else(|e| e.into_inner()).values().all(|s| matches!(s, Slot::Active(_)))
    }

    pub fn hosted_partitions(&self) -> Vec<i32> {
        self.shards.read().unwrap_or_else(|e| e.into_inner()).keys().copied().collect()
    }

    /// onElection: loads the transactions of these partitions, then finishes any that were
    /// between PrepareCommit/PrepareAbort and their Complete state.
    pub fn on_election(self: &Arc<Self>, partitions: Vec<(i32, i32)>) {
        {
            let mut shards = self.shards.write().unwrap_or_else(|e| e.into_inner());
            for (p, _) in &partitions {
                shards.entry(*p).or_insert(Slot::Loading);
            }
        }
        for (p, epoch) in partitions {
            let shard = Arc::new(TxnShard { partition: p, coordinator_epoch: epoch, txns: Mutex::new(self.load(p)) });
            let unfinished: Vec<TxnMetadata> =
                shard.lock().values().filter(|m| matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort)).cloned().collect();
            if let Some(slot) = self.shards.write().unwrap_or_else(|e| e.into_inner()).get_mut(&p) {
                *slot = Slot::Active(shard.clone());
            }
            for m in unfinished {
                self.spawn_completion(shard.clone(), m);
            }
        }
    }

    pub fn on_resignation(&self, partitions: &[i32]) {
        let mut shards = self.shards.write().unwrap_or_else(|e| e.into_inner());
        for p in partitions {
            shards.remove(p);
        }
    }

    /// Replays one `__transaction_state` partition: the newest record per id wins, a
    /// tombstone removes it.
    fn load(&self, partition: i32) -> HashMap<String, TxnMetadata> {
        let mut txns = HashMap::new();
        let Some(part) = self.replicas.get(TXN_TOPIC, partition) else { return txns };
        let mut offset = part.offsets().log_start;
        loop {
            let Ok((read, o)) = part.read(offset, 1 << 20, FetchIsolation::LogEnd) else { break };
            if read.records.is_empty() || offset >= o.log_end {
                break;
            }
            let mut buf = read.records;
            let Ok(sets) = RecordBatchDecoder::decode_all(&mut buf) else { break };
            for r in sets.into_iter().flat_map(|s| s.records) {
                offset = r.offset + 1;
                let Some(k) = r.key else { continue };
                let Ok(id) = store::decode_key(k) else { continue };
                match r.value {
                    None => {
                        txns.remove(&id);
                    }
                    Some(v) => match store::decode_value(&id, v) {
                        Ok(m) => {
                            txns.insert(id, m);
                        }
                        Err(e) => tracing::warn!(partition, offset = r.offset, "{e}"),
                    },
                }
            }
        }
        txns
    }

    /// Writes a transactional id's new state (or a tombstone) to its partition, waiting for
    /// the in-sync replicas. Errors are mapped as Kafka's coordinator maps them.
    async fn persist(&self, shard: &TxnShard, id: &str, m: Option<&TxnMetadata>) -> TxnResult<()> {
        let Some(part) = self.replicas.get(TXN_TOPIC, shard.partition) else { return Err(code(E::NotCoordinator)) };
        let value = m.map(store::encode_value);
        let buf = crate::broker::log::batch::encode_records([(Some(store::encode_key(id)), value)], crate::broker::log::now_ms());
        let timeout = Duration::from_millis(m.map_or(30_000, |m| m.timeout_ms.max(1000) as u64));
        let appended = self
            .replicas
            .append_records(vec![PendingAppend { partition: part, buf, result: None, guard: None }], -1, timeout, AppendOrigin::Coordinator)
            .await;
        match appended.into_iter().next().and_then(|a| a.result) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(match e.code() {
                c if c == code(E::NotLeaderOrFollower) || c == code(E::KafkaStorageError) => code(E::NotCoordinator),
                c if c == code(E::MessageTooLarge) || c == code(E::RecordListTooLarge) => code(E::UnknownServerError),
                _ => code(E::CoordinatorNotAvailable),
            }),
            None => Err(code(E::CoordinatorNotAvailable)),
        }
    }

    /// Prepares, writes and completes one transition: `decide` sees the current metadata
    /// (None for an unknown id) and returns the metadata to write, or Ok(None) when no
    /// write is needed. While the write is in flight the id is `pending`.
    async fn transition(
        &self,
        shard: &Arc<TxnShard>,
        id: &str,
        decide: impl FnOnce(Option<&TxnMetadata>) -> TxnResult<Option<TxnMetadata>>,
    ) -> TxnResult<TxnMetadata> {
        let next = {
            let mut txns = shard.lock();
            let current = txns.get(id);
            if current.is_some_and(|m| m.pending.is_some()) {
                return Err(code(E::ConcurrentTransactions));
            }
            match decide(current)? {
                None => return current.cloned().ok_or(code(E::InvalidProducerIdMapping)),
                Some(next) => {
                    match txns.get_mut(id) {
                        Some(m) => m.pending = Some(next.state),
                        None => {
                            let mut placeholder = next.clone();
                            placeholder.state = TxnState::Empty;
                            placeholder.pending = Some(next.state);
                            txns.insert(id.to_string(), placeholder);
                        }
                    }
                    next
                }
            }
        };
        let written = self.persist(shard, id, Some(&next)).await;
        let mut txns = shard.lock();
        match written {
            Ok(()) => {
                txns.insert(id.to_string(), next.clone());
                Ok(next)
            }
            Err(c) => {
                if let Some(m) = txns.get_mut(id) {
                    m.pending = None;
                    if m.producer_epoch < 0 && m.state == TxnState::Empty && next.producer_epoch == 0 {
                        // The id never existed durably.
                        txns.remove(id);
                    }
                }
                Err(c)
            }
        }
    }

    /// Periodic work: abort transactions open past their timeout (bumping the epoch, which
    /// fences the producer) and, every `expiration_check_interval_ms`, expire idle ids.
    pub async fn abort_timed_out(self: &Arc<Self>) {
        let now = crate::broker::log::now_ms();
        for shard in self.active_shards() {
            let late: Vec<String> = shard
                .lock()
                .values()
                .filter(|m| m.state == TxnState::Ongoing && m.pending.is_none() && m.start_ms + m.timeout_ms as i64 <= now)
                .map(|m| m.transactional_id.clone())
                .collect();
            for id in late {
                tracing::info!(transactional_id = %id, "aborting a transaction open past its timeout");
                if let Err(c) = self.fence_and_abort(&shard, &id).await {
                    tracing::warn!(transactional_id = %id, "could not abort a timed-out transaction (error {c})");
                }
            }
        }
    }

    /// Removes transactional ids idle past `transactional.id.expiration.ms` (never open ones).
    pub async fn expire_ids(&self) {
        let now = crate::broker::log::now_ms();
        for shard in self.active_shards() {
            let idle: Vec<String> = shard
                .lock()
                .values()
                .filter(|m| {
                    m.pending.is_none()
                        && matches!(m.state, TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort)
                        && m.last_update_ms <= now - self.cfg.id_expiration_ms
                })
                .map(|m| m.transactional_id.clone())
                .collect();
            for id in idle {
                if let Some(m) = shard.lock().get_mut(&id) {
                    m.pending = Some(TxnState::Dead);
                }
                let written = self.persist(&shard, &id, None).await;
                let mut txns = shard.lock();
                match written {
                    Ok(()) => {
                        txns.remove(&id);
                    }
                    Err(_) => {
                        if let Some(m) = txns.get_mut(&id) {
                            m.pending = None;
                        }
                    }
                }
            }
        }
    }
}

/// Moves transaction shards with the leadership of `__transaction_state` partitions.
pub struct TxnListener {
    pub txns: Arc<TransactionCoordinator>,
    pub local: i32,
}

impl crate::broker::metadata::publisher::MetadataListener for TxnListener {
    fn name(&self) -> &'static str {
        "transaction-coordinator"
    }

    fn on_metadata_update(&self, delta: &crate::broker::metadata::MetadataDelta<'_>) {
        let led: Vec<(i32, i32)> = delta
            .next
            .topic(TXN_TOPIC)
            .map(|t| t.partitions.iter().filter(|(_, p)| p.leader == self.local).map(|(i, p)| (*i, p.leader_epoch)).collect())
            .unwrap_or_default();
        let hosted = self.txns.hosted_partitions();
        let resigned: Vec<i32> = hosted.iter().copied().filter(|p| !led.iter().any(|(l, _)| l == p)).collect();
        if !resigned.is_empty() {
            self.txns.on_resignation(&resigned);
        }
        let elected: Vec<(i32, i32)> = led.into_iter().filter(|(p, _)| !hosted.contains(p)).collect();
        if !elected.is_empty() {
            let txns = self.txns.clone();
            // Loading reads the partitions and may write markers: not on the publisher thread.
            std::thread::spawn(move || txns.on_election(elected));
        }
    }
}
