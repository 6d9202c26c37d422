//! The coordinator's requests: InitProducerId (with Kafka's epoch-bump, KIP-360 and
//! fencing rules), AddPartitionsToTxn, EndTxn, the produce-path verification of KIP-890,
//! and what DescribeTransactions / ListTransactions read.

use super::state::{EPOCH_EXHAUSTED, TxnMetadata, TxnState};
use super::{TransactionCoordinator, TxnResult, TxnShard, code};
use crate::broker::log::now_ms;
use kafka_protocol::error::ResponseError as E;
use std::sync::Arc;

impl TransactionCoordinator {
    /// InitProducerId. Without a transactional id: a fresh producer id at epoch 0. With one:
    /// the id's producer with its epoch bumped (a new id when the epoch is exhausted), an open
    /// transaction of the previous producer aborted first (CONCURRENT_TRANSACTIONS meanwhile).
    pub async fn init_producer_id(
        self: &Arc<Self>,
        transactional_id: Option<&str>,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> TxnResult<(i64, i16)> {
        let Some(id) = transactional_id else {
            return Ok((self.producer_ids.next().await?, 0));
        };
        if id.is_empty() {
            return Err(code(E::InvalidRequest));
        }
        if timeout_ms <= 0 || timeout_ms > self.cfg.max_timeout_ms {
            return Err(code(E::InvalidTransactionTimeout));
        }
        let shard = self.shard(id)?;
        // A producer id may be needed (a new id, or a rotation): taken before the lock.
        let needs_id = shard.lock().get(id).is_none_or(|m| m.producer_epoch >= EPOCH_EXHAUSTED);
        let fresh = if needs_id { Some(self.producer_ids.next().await?) } else { None };
        let now = now_ms();
        let mut fence = false;
        let result = self
            .transition(&shard, id, |current| {
                let Some(m) = current else {
                    let mut m = TxnMetadata::new(id, fresh.expect("allocated"), timeout_ms, now);
                    m.producer_epoch = 0;
                    return Ok(Some(m));
                };
                if let Some((pid, epoch)) = expected {
                    let valid = m.producer_epoch == -1 || pid == m.producer_id || (pid == m.last_producer_id && epoch >= EPOCH_EXHAUSTED);
                    if !valid {
                        return Err(code(E::ProducerFenced));
                    }
                }
                match m.state {
                    TxnState::PrepareCommit | TxnState::PrepareAbort => Err(code(E::ConcurrentTransactions)),
                    TxnState::Ongoing => {
                        fence = true;
                        Err(code(E::ConcurrentTransactions))
                    }
                    TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                        let mut next = m.prepare(TxnState::Empty, now).map_err(|_| code(E::InvalidTxnState))?;
                        next.timeout_ms = timeout_ms;
                        let exhausted = m.producer_epoch >= EPOCH_EXHAUSTED;
                        if exhausted && expected.is_none_or(|(_, e)| e == m.producer_epoch) {
                            next.last_producer_id = m.producer_id;
                            next.producer_id = fresh.ok_or(code(E::ConcurrentTransactions))?;
                            next.last_producer_epoch = if expected.is_some() { m.producer_epoch } else { -1 };
                            next.producer_epoch = 0;
                        } else {
                            match expected {
                                None => {
                                    next.producer_epoch = m.producer_epoch + 1;
                                    next.last_producer_epoch = -1;
                                }
                                Some((_, e)) if m.producer_epoch == -1 || e == m.producer_epoch => {
                                    next.producer_epoch = m.producer_epoch + 1;
                                    next.last_producer_epoch = m.producer_epoch;
                                }
                                // A retry of a bump that succeeded: the current epoch again.
                                Some((_, e)) if e == m.last_producer_epoch => return Ok(None),
                                Some(_) => return Err(code(E::ProducerFenced)),
                            }
                        }
                        Ok(Some(next))
                    }
                    TxnState::Dead | TxnState::PrepareEpochFence => Err(code(E::ConcurrentTransactions)),
                }
            })
            .await;
        if fence {
            // The previous producer's open transaction is aborted with a bumped epoch, which
            // fences it; this caller retries and then gets its epoch.
            let me = self.clone();
            let id = id.to_string();
            tokio::spawn(async move {
                if let Err(c) = me.fence_and_abort(&shard, &id).await {
                    tracing::warn!(transactional_id = %id, "could not fence the previous producer (error {c})");
                }
            });
        }
        result.map(|m| (m.producer_id, m.producer_epoch))
    }

    /// Checks a request's producer id and epoch against the id's metadata.
    fn check_producer(m: Option<&TxnMetadata>, pid: i64, epoch: i16) -> TxnResult<&TxnMetadata> {
        let m = m.ok_or(code(E::InvalidProducerIdMapping))?;
        if m.producer_id != pid {
            return Err(code(E::InvalidProducerIdMapping));
        }
        if m.producer_epoch != epoch {
            return Err(code(E::ProducerFenced));
        }
        Ok(m)
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn's `__consumer_offsets` partition): the one
    /// outcome applies to every partition.
    pub async fn add_partitions(&self, id: &str, pid: i64, epoch: i16, partitions: Vec<(String, i32)>) -> TxnResult<()> {
        if id.is_empty() {
            return Err(code(E::InvalidRequest));
        }
        let shard = self.shard(id)?;
        let now = now_ms();
        self.transition(&shard, id, |current| {
            let m = Self::check_producer(current, pid, epoch)?;
            match m.state {
                TxnState::PrepareCommit | TxnState::PrepareAbort => Err(code(E::ConcurrentTransactions)),
                TxnState::Ongoing if partitions.iter().all(|p| m.partitions.contains(p)) => Ok(None),
                _ => {
                    let mut next = m.prepare(TxnState::Ongoing, now).map_err(|_| code(E::InvalidTxnState))?;
                    next.partitions.extend(partitions.iter().cloned());
                    Ok(Some(next))
                }
            }
        })
        .await
        .map(|_| ())
    }

    /// EndTxn: PrepareCommit/PrepareAbort is written, then the answer; markers and the
    /// Complete state follow in the background. Retries of a finished end are answered as
    /// they were.
    pub async fn end_txn(self: &Arc<Self>, id: &str, pid: i64, epoch: i16, commit: bool) -> TxnResult<()> {
        if id.is_empty() {
            return Err(code(E::InvalidRequest));
        }
        let shard = self.shard(id)?;
        let now = now_ms();
        let target = if commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort };
        let mut wrote = false;
        let m = self
            .transition(&shard, id, |current| {
                let m = Self::check_producer(current, pid, epoch)?;
                match (m.state, commit) {
                    (TxnState::Ongoing, _) => {
                        wrote = true;
                        m.prepare(target, now).map(Some).map_err(|_| code(E::InvalidTxnState))
                    }
                    (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(None),
                    (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => Err(code(E::ConcurrentTransactions)),
                    _ => Err(code(E::InvalidTxnState)),
                }
            })
            .await?;
        if wrote {
            self.spawn_completion(shard, m);
        }
        Ok(())
    }

    /// Aborts an open transaction on the coordinator's own initiative (timeout, or a new
    /// producer for the id): the epoch goes up by one, so the old producer is fenced.
    pub(super) async fn fence_and_abort(self: &Arc<Self>, shard: &Arc<TxnShard>, id: &str) -> TxnResult<()> {
        let now = now_ms();
        let m = self
            .transition(shard, id, |current| {
                let m = current.ok_or(code(E::InvalidProducerIdMapping))?;
                if m.state != TxnState::Ongoing {
                    return Err(code(E::InvalidTxnState));
                }
                let mut next = m.prepare(TxnState::PrepareAbort, now).map_err(|_| code(E::InvalidTxnState))?;
                if m.producer_epoch < i16::MAX {
                    next.last_producer_epoch = m.producer_epoch;
                    next.producer_epoch = m.producer_epoch + 1;
                }
                Ok(Some(next))
            })
            .await?;
        self.spawn_completion(shard.clone(), m);
        Ok(())
    }

    /// KIP-890 part 1: may producer `pid`/`epoch` of `id` write transactional data to this
    /// partition? (It must have been added to the transaction.)
    pub fn verify(&self, id: &str, pid: i64, epoch: i16, topic: &str, partition: i32) -> TxnResult<()> {
        let shard = self.shard(id)?;
        let txns = shard.lock();
        let m = Self::check_producer(txns.get(id), pid, epoch)?;
        match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => Err(code(E::ConcurrentTransactions)),
            _ if m.partitions.contains(&(topic.to_string(), partition)) => Ok(()),
            _ => Err(code(E::TransactionAbortable)),
        }
    }

    /// DescribeTransactions for one id (TRANSACTIONAL_ID_NOT_FOUND when unknown or dead).
    pub fn describe(&self, id: &str) -> TxnResult<TxnMetadata> {
        if id.is_empty() {
            return Err(code(E::InvalidRequest));
        }
        let shard = self.shard(id)?;
        let txns = shard.lock();
        txns.get(id).filter(|m| m.state != TxnState::Dead && m.producer_epoch >= 0).cloned().ok_or(code(E::TransactionalIdNotFound))
    }

    /// ListTransactions: (id, producer id, state) matching the filters; unknown state names
    /// are returned apart (they match nothing).
    pub fn list(&self, states: &[String], pids: &[i64], min_duration_ms: i64) -> (Vec<(String, i64, &'static str)>, Vec<String>) {
        let unknown: Vec<String> = states.iter().filter(|s| TxnState::from_name(s).is_none()).cloned().collect();
        let wanted: Vec<TxnState> = states.iter().filter_map(|s| TxnState::from_name(s)).collect();
        let now = now_ms();
        let mut out = Vec::new();
        for shard in self.active_shards() {
            for m in shard.lock().values() {
                let keep = m.state != TxnState::Dead
                    && m.producer_epoch >= 0
                    && (states.is_empty() || wanted.contains(&m.state))
                    && (pids.is_empty() || pids.contains(&m.producer_id))
                    && (min_duration_ms < 0 || m.start_ms < 0 || now - m.start_ms > min_duration_ms);
                if keep {
                    out.push((m.transactional_id.clone(), m.producer_id, m.state.name()));
                }
            }
        }
        out.sort();
        (out, unknown)
    }
}
