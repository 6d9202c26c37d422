//! Partition (Kafka's Partition + the UnifiedLog it owns): the log, the replication state
//! the metadata gives it (leader, leader epoch, replicas, ISR) and the offsets derived from
//! it, each with one rule: the log end offset moves on append and truncation; the high
//! watermark moves only forward, to the smallest log end among the ISR; the last stable
//! offset never passes the high watermark. Consumers read below the HW only.

use crate::broker::log::partition::AppendInfo;
use crate::broker::log::{AppendOrigin, FileRegion, LogError, PartitionLog, ReadResult};
use crate::broker::topic_config::LogConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;
use uuid::Uuid;

/// The replication state of a partition, as the metadata says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// Offsets that describe a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    pub log_start: i64,
    pub high_watermark: i64,
    pub last_stable: i64,
    pub log_end: i64,
}

/// How far a read may go (Kafka's FetchIsolation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchIsolation {
    /// Followers and the broker's own readers: to the log end.
    LogEnd,
    /// Consumers with read_uncommitted: to the high watermark.
    HighWatermark,
    /// Consumers with read_committed: to the last stable offset.
    Committed,
}

/// What the leader knows of a follower (replication fills it in).
#[derive(Debug, Clone, Copy, Default)]
pub struct FollowerState {
    pub log_end: i64,
    pub last_caught_up_ms: i64,
}

pub struct Partition {
    pub topic: String,
    pub topic_id: Uuid,
    pub index: i32,
    local_id: i32,
    inner: Mutex<Inner>,
    watchers: Mutex<Vec<Arc<Notify>>>,
}

struct Inner {
    log: PartitionLog,
    high_watermark: i64,
    state: PartitionState,
    followers: HashMap<i32, FollowerState>,
    /// Set once the topic is deleted: every later append or read is refused.
    deleted: bool,
}

impl Inner {
    fn is_leader(&self, local: i32) -> bool {
        self.state.leader == local
    }

    fn offsets(&self) -> Offsets {
        let hw = self.high_watermark;
        // The LSO: the first offset of a transaction not yet decided (or whose marker is not
        // yet below the HW), never above the HW.
        let lso = self.log.first_unstable_offset().map_or(hw, |o| o.min(hw));
        Offsets { log_start: self.log.log_start_offset(), high_watermark: hw, last_stable: lso, log_end: self.log.log_end_offset() }
    }

    /// The HW rule on a leader: the smallest log end among the ISR (followers report theirs
    /// when they fetch), never moving backwards. Returns true when it moved.
    fn maybe_increment_hw(&mut self, local: i32) -> bool {
        if !self.is_leader(local) {
            return false;
        }
        let mut hw = self.log.log_end_offset();
        for r in self.state.isr.iter().filter(|r| **r != local) {
            hw = hw.min(self.followers.get(r).map_or(0, |f| f.log_end));
        }
        if hw > self.high_watermark {
            self.high_watermark = hw;
            self.log.on_high_watermark(hw);
            return true;
        }
        false
    }
}

impl Partition {
    /// Opens the partition's log in `dir`; `checkpointed_hw` is the last checkpointed high
    /// watermark (a leader's moves up to what its ISR holds at once).
    pub fn open(
        dir: &std::path::Path,
        config: LogConfig,
        clean_shutdown: bool,
        ids: (&str, Uuid, i32),
        local_id: i32,
        state: PartitionState,
        checkpointed_hw: Option<i64>,
    ) -> Result<Partition, LogError> {
        let (mut log, _) = PartitionLog::open(dir, config, clean_shutdown)?;
        if state.leader == local_id {
            log.assign_epoch_start(state.leader_epoch)?;
        }
        let hw = checkpointed_hw.unwrap_or(0).clamp(log.log_start_offset(), log.log_end_offset());
        let mut inner = Inner { log, high_watermark: hw, state, followers: HashMap::new(), deleted: false };
        inner.maybe_increment_hw(local_id);
        Ok(Partition {
            topic: ids.0.to_string(),
            topic_id: ids.1,
            index: ids.2,
            local_id,
            inner: Mutex::new(inner),
            watchers: Mutex::new(Vec::new()),
        })
    }

    /// The partition lock; a panic elsewhere must not make the partition unusable, and the
    /// state it guards is consistent between statements.
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn leader_epoch(&self) -> i32 {
        self.inner().state.leader_epoch
    }

    pub fn state(&self) -> PartitionState {
        self.inner().state.clone()
    }

    pub fn is_leader(&self) -> bool {
        self.inner().is_leader(self.local_id)
    }

    /// Appends batches. Client and coordinator appends need this broker to lead; the HW
    /// then moves per its rule and waiters (delayed produce and fetch) are woken.
    pub fn append(&self, payload: &mut bytes::BytesMut, origin: AppendOrigin) -> Result<AppendInfo, LogError> {
        self.append_guarded(payload, origin, None)
    }

    /// The guard for verifying `pid`'s transactional write here (None: no verification
    /// needed, a transaction is already open on this partition).
    pub fn txn_guard(&self, pid: i64) -> Option<u64> {
        self.inner().log.producer_state().txn_guard(pid)
    }

    pub fn append_guarded(&self, payload: &mut bytes::BytesMut, origin: AppendOrigin, guard: Option<u64>) -> Result<AppendInfo, LogError> {
        let info = {
            let mut inner = self.inner();
            if inner.deleted {
                return Err(LogError::Deleted);
            }
            if origin != AppendOrigin::Replication && !inner.is_leader(self.local_id) {
                return Err(LogError::NotLeaderOrFollower);
            }
            let epoch = inner.state.leader_epoch;
            let info = inner.log.append_guarded(payload, epoch, origin, guard)?;
            inner.maybe_increment_hw(self.local_id);
            info
        };
        self.wake();
        Ok(info)
    }

    fn wake(&self) {
        let waiters = std::mem::take(&mut *self.watchers.lock().unwrap_or_else(|e| e.into_inner()));
        for w in waiters {
            w.notify_one();
        }
    }

    /// Registers a one-shot wake-up for the next change of data or offsets (the purgatory's
    /// watch key).
    pub fn watch(&self, n: &Arc<Notify>) {
        let mut w = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        // Drop registrations whose operation already finished (only this list holds them).
        w.retain(|x| Arc::strong_count(x) > 1);
        w.push(n.clone());
    }

    pub fn offsets(&self) -> Offsets {
        self.inner().offsets()
    }

    fn max_offset(inner: &Inner, isolation: FetchIsolation) -> i64 {
        match isolation {
            FetchIsolation::LogEnd => i64::MAX,
            FetchIsolation::HighWatermark => inner.high_watermark,
            FetchIsolation::Committed => inner.offsets().last_stable,
        }
    }

    /// Locates whole batches from `offset` (for sendfile); the lock is held just for that.
    pub fn read_region(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one: bool,
        isolation: FetchIsolation,
    ) -> Result<(Option<FileRegion>, Offsets), LogError> {
        let inner = self.inner();
        if inner.deleted {
            return Err(LogError::Deleted);
        }
        let r = inner.log.read_region(offset, max_bytes, min_one, Self::max_offset(&inner, isolation))?;
        Ok((r, inner.offsets()))
    }

    /// Like `read_region`, with the bytes in memory.
    pub fn read(&self, offset: i64, max_bytes: usize, isolation: FetchIsolation) -> Result<(ReadResult, Offsets), LogError> {
        let Some(region) = self.read_region(offset, max_bytes, true, isolation)?.0 else {
            return Ok((ReadResult { records: bytes::Bytes::new() }, self.offsets()));
        };
        let mut buf = vec![0u8; region.len];
        std::os::unix::fs::FileExt::read_exact_at(&*region.file, &mut buf, region.pos)?;
        Ok((ReadResult { records: bytes::Bytes::from(buf) }, self.offsets()))
    }

    /// Applies the metadata's view of leadership. A new leader epoch starts at the log end.
    pub fn update_state(&self, state: PartitionState) -> Result<(), LogError> {
        let changed = {
            let mut inner = self.inner();
            if inner.state == state {
                return Ok(());
            }
            if state.leader == self.local_id && state.leader_epoch > inner.state.leader_epoch {
                inner.log.assign_epoch_start(state.leader_epoch)?;
            }
            inner.followers.retain(|r, _| state.replicas.contains(r));
            inner.state = state;
            inner.maybe_increment_hw(self.local_id)
        };
        // Fetchers with a stale epoch and delayed produces must re-check.
        let _ = changed;
        self.wake();
        Ok(())
    }

    /// Aborted transactions overlapping [from, to) as (producer id, first offset).
    pub fn aborted_txns(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        self.inner().log.aborted_txns(from, to)
    }

    /// Runs `f` on the producer state (DescribeProducers).
    pub fn with_producers<T>(&self, f: impl FnOnce(&crate::broker::log::producer_state::ProducerStateManager) -> T) -> T {
        f(self.inner().log.producer_state())
    }

    /// OffsetForLeaderEpoch: (epoch, end offset) of the largest epoch <= `epoch`.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.inner().log.end_offset_for_epoch(epoch)
    }

    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        self.inner().log.offset_for_timestamp(ts)
    }
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, LogError> {
        self.inner().log.max_timestamp()
    }

    /// DeleteRecords: the log start moves to `offset` (-1: the HW), never past the HW.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, LogError> {
        let start = {
            let mut inner = self.inner();
            if !inner.is_leader(self.local_id) {
                return Err(LogError::NotLeaderOrFollower);
            }
            let hw = inner.high_watermark;
            let target = if offset == -1 { hw } else { offset };
            inner.log.delete_records_before(target, hw)?
        };
        self.wake();
        Ok(start)
    }

    pub fn size_bytes(&self) -> u64 {
        self.inner().log.size_bytes()
    }
    pub fn min_insync_replicas(&self) -> usize {
        self.inner().log.config().min_insync_replicas
    }
    pub fn config(&self) -> LogConfig {
        self.inner().log.config().clone()
    }
    pub fn set_config(&self, cfg: LogConfig) {
        let mut inner = self.inner();
        if *inner.log.config() != cfg {
            inner.log.set_config(cfg);
        }
    }

    /// Runs `f` on the log under the partition lock (retention, cleaning, flushing). A
    /// deleted partition's log is never touched again: its directory may already hold a
    /// new topic of the same name.
    pub fn with_log<T>(&self, f: impl FnOnce(&mut PartitionLog) -> Result<T, LogError>) -> Result<T, LogError> {
        let mut inner = self.inner();
        if inner.deleted {
            return Err(LogError::Deleted);
        }
        f(&mut inner.log)
    }

    /// Marks the partition deleted (its topic is gone) and returns its directory. Appends
    /// and reads that still hold the partition fail from now on; waiters are woken.
    pub fn mark_deleted(&self) -> std::path::PathBuf {
        let dir = {
            let mut inner = self.inner();
            inner.deleted = true;
            inner.log.dir().to_path_buf()
        };
        self.wake();
        dir
    }

    /// A follower reported its log end (replication's fetch); the HW may move.
    pub fn update_follower_log_end(&self, replica: i32, log_end: i64, now_ms: i64) {
        let moved = {
            let mut inner = self.inner();
            let leo = inner.log.log_end_offset();
            let f = inner.followers.entry(replica).or_default();
            f.log_end = log_end;
            if log_end >= leo {
                f.last_caught_up_ms = now_ms;
            }
            inner.maybe_increment_hw(self.local_id)
        };
        if moved {
            self.wake();
        }
    }

    pub fn high_watermark(&self) -> i64 {
        self.inner().high_watermark
    }
}
