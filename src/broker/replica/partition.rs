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
    /// The leader's log end and the time at the follower's previous fetch (Kafka's
    /// lastFetchLeaderLogEndOffset / lastFetchTimeMs).
    pub prev_fetch_leader_end: i64,
    pub prev_fetch_ms: i64,
}

/// What a follower's fetch means for the ISR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IsrChange {
    None,
    /// The follower caught up: propose this ISR (with it).
    Expand(Vec<i32>),
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
    /// The log end when this broker's current leadership began (a follower must reach it
    /// to join the ISR).
    epoch_start: i64,
    /// An ISR change this leader proposed and the controller has not answered yet.
    pending_isr: Option<Vec<i32>>,
    /// Set once the topic is deleted: every later append or read is refused.
    deleted: bool,
}

/// A leadership's view of its followers at its start: nothing fetched yet, every one
/// caught up as of now (the ISR lag rule counts from here, even for a follower that never
/// fetches).
fn fresh_followers(state: &PartitionState, local: i32) -> HashMap<i32, FollowerState> {
    let now = crate::broker::log::now_ms();
    state.replicas.iter().filter(|r| **r != local).map(|r| (*r, FollowerState { last_caught_up_ms: now, ..Default::default() })).collect()
}

impl Inner {
    fn is_leader(&self, local: i32) -> bool {
        self.state.leader == local
    }

    /// A follower's HW is the leader's, capped by its own log end; the log start follows
    /// the leader's (retention, DeleteRecords).
    fn follow_leader_offsets(&mut self, leader_hw: i64, leader_log_start: i64) -> Result<(), LogError> {
        let hw = leader_hw.min(self.log.log_end_offset());
        if hw > self.high_watermark {
            self.high_watermark = hw;
            self.log.on_high_watermark(hw);
        }
        if leader_log_start > self.log.log_start_offset() && leader_log_start <= self.high_watermark {
            self.log.delete_records_before(leader_log_start, self.high_watermark)?;
        }
        Ok(())
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
        let epoch_start = log.log_end_offset();
        let followers = if state.leader == local_id { fresh_followers(&state, local_id) } else { HashMap::new() };
        let mut inner = Inner { log, high_watermark: hw, state, followers, epoch_start, pending_isr: None, deleted: false };
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

    /// The partition's directory (in one of the log dirs).
    pub fn dir(&self) -> std::path::PathBuf {
        self.inner().log.dir().to_path_buf()
    }

    /// The topic's write.caching (false: acks=all writes are fsynced before the answer).
    pub fn write_caching(&self) -> bool {
        self.inner().log.config().write_caching
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
            let becomes_leader =
                state.leader == self.local_id && (inner.state.leader != self.local_id || state.leader_epoch > inner.state.leader_epoch);
            if state.leader == self.local_id && state.leader_epoch > inner.state.leader_epoch {
                inner.log.assign_epoch_start(state.leader_epoch)?;
            }
            if becomes_leader {
                // A new leadership: what followers had fetched from an earlier leader (or
                // from us in an earlier epoch) says nothing now; the epoch starts at our
                // log end, and followers are caught up as of now.
                inner.followers = fresh_followers(&state, self.local_id);
                inner.epoch_start = inner.log.log_end_offset();
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
        let _ = self.follower_fetched(replica, log_end, now_ms, false);
    }

    /// A follower fetched from `fetch_offset` (its log end): Kafka's updateFetchState —
    /// it was caught up at this fetch if it reached our log end, or at the previous fetch
    /// if it reached the log end we had then. The HW may move; a follower outside the ISR
    /// that reached the HW and this leadership's start may join it.
    /// `may_join`: the follower's broker may be added to the ISR at all (registered,
    /// unfenced, not shutting down: Kafka's canAddReplicaToIsr).
    pub fn follower_fetched(&self, replica: i32, fetch_offset: i64, now_ms: i64, may_join: bool) -> IsrChange {
        let (moved, change) = {
            let mut inner = self.inner();
            if !inner.is_leader(self.local_id) || !inner.state.replicas.contains(&replica) {
                return IsrChange::None;
            }
            let leo = inner.log.log_end_offset();
            let f = inner.followers.entry(replica).or_default();
            if fetch_offset >= leo {
                f.last_caught_up_ms = now_ms;
            } else if fetch_offset >= f.prev_fetch_leader_end && f.prev_fetch_ms > 0 {
                f.last_caught_up_ms = f.last_caught_up_ms.max(f.prev_fetch_ms);
            }
            f.log_end = fetch_offset;
            f.prev_fetch_leader_end = leo;
            f.prev_fetch_ms = now_ms;
            let moved = inner.maybe_increment_hw(self.local_id);
            let joins = may_join
                && !inner.state.isr.contains(&replica)
                && inner.pending_isr.is_none()
                && fetch_offset >= inner.high_watermark
                && fetch_offset >= inner.epoch_start;
            let change = if joins {
                let mut isr = inner.state.isr.clone();
                isr.push(replica);
                inner.pending_isr = Some(isr.clone());
                IsrChange::Expand(isr)
            } else {
                IsrChange::None
            };
            (moved, change)
        };
        if moved {
            self.wake();
        }
        change
    }

    /// On the leader: the ISR without followers not caught up for `lag_ms` (Kafka's ISR
    /// shrink), if that changes it and no change is pending. Marked pending.
    pub fn isr_shrink(&self, now_ms: i64, lag_ms: i64) -> Option<Vec<i32>> {
        let mut inner = self.inner();
        if !inner.is_leader(self.local_id) || inner.pending_isr.is_some() || inner.deleted {
            return None;
        }
        let leo = inner.log.log_end_offset();
        let local = self.local_id;
        let isr: Vec<i32> = inner
            .state
            .isr
            .iter()
            .copied()
            .filter(|r| *r == local || inner.followers.get(r).is_none_or(|f| f.log_end >= leo || now_ms - f.last_caught_up_ms <= lag_ms))
            .collect();
        if isr.len() == inner.state.isr.len() {
            return None;
        }
        inner.pending_isr = Some(isr.clone());
        Some(isr)
    }

    /// The controller answered (or refused) the pending ISR change.
    pub fn isr_change_done(&self) {
        self.inner().pending_isr = None;
        self.wake();
    }

    /// (leader epoch, partition epoch) for an AlterPartition request.
    pub fn epochs(&self) -> (i32, i32) {
        let inner = self.inner();
        (inner.state.leader_epoch, inner.state.partition_epoch)
    }

    /// The follower's side of a fetch: where to fetch from (our log end and the epoch of
    /// its last batch) and the log start.
    pub fn fetch_position(&self) -> (i64, i32, i64) {
        let inner = self.inner();
        (inner.log.log_end_offset(), inner.log.epochs().latest_epoch().unwrap_or(-1), inner.log.log_start_offset())
    }

    /// OffsetForLeaderEpoch / diverging-epoch check on the leader: (epoch, end offset).
    pub fn epoch_end(&self, epoch: i32) -> (i32, i64) {
        self.inner().log.end_offset_for_epoch(epoch)
    }

    /// A fetch answer applies only while this broker still follows the leadership it was
    /// sent to (Kafka checks the same under the partition lock): one that arrives after
    /// this broker became leader would write the old leader's batches past the start of
    /// its own epoch, and followers would then see a log that contradicts its epochs.
    fn still_following(&self, inner: &Inner, fetch_epoch: i32) -> Result<(), LogError> {
        if inner.state.leader == self.local_id || inner.state.leader_epoch != fetch_epoch {
            return Err(LogError::StaleFetch(fetch_epoch));
        }
        Ok(())
    }

    /// A follower appends what it fetched: batches at the leader's offsets and epochs,
    /// then takes the leader's high watermark (capped by what it holds) and log start.
    pub fn append_as_follower(
        &self,
        payload: &mut bytes::BytesMut,
        leader_hw: i64,
        leader_log_start: i64,
        fetch_epoch: i32,
    ) -> Result<(), LogError> {
        let mut inner = self.inner();
        if inner.deleted {
            return Err(LogError::Deleted);
        }
        self.still_following(&inner, fetch_epoch)?;
        if !payload.is_empty() {
            let epoch = inner.state.leader_epoch;
            inner.log.append_guarded(payload, epoch, AppendOrigin::Replication, None)?;
        }
        inner.follow_leader_offsets(leader_hw, leader_log_start)
    }

    /// A follower whose log diverged from the leader's (or fell behind its log start)
    /// cuts its log: to `offset`, or (below the leader's log start) starts over there.
    pub fn truncate_as_follower(&self, offset: i64, start_over: bool, fetch_epoch: i32) -> Result<i64, LogError> {
        let mut inner = self.inner();
        if inner.deleted {
            return Err(LogError::Deleted);
        }
        self.still_following(&inner, fetch_epoch)?;
        if start_over {
            inner.log.truncate_fully_and_start_at(offset)?;
        } else {
            inner.log.truncate_to(offset)?;
        }
        let end = inner.log.log_end_offset();
        inner.high_watermark = inner.high_watermark.min(end);
        Ok(end)
    }

    pub fn high_watermark(&self) -> i64 {
        self.inner().high_watermark
    }

    /// For writers on a blocking thread (the group coordinator): waits until the ISR has
    /// `last_offset` (acks=all), at most `timeout`.
    pub fn wait_replicated_blocking(&self, last_offset: i64, timeout: std::time::Duration) -> Result<(), LogError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            {
                let inner = self.inner();
                if !inner.is_leader(self.local_id) {
                    return Err(LogError::NotLeaderOrFollower);
                }
                if inner.high_watermark > last_offset {
                    return Ok(());
                }
            }
            if std::time::Instant::now() >= deadline {
                return Err(LogError::RequestTimedOut);
            }
            std::thread::sleep(std::time::Duration::from_micros(500));
        }
    }
}
