//! SharePartitionManager (KIP-932): the partition leader's side of share groups. It keeps
//! one [`SharePartition`] per (group, topic partition) led here and the share sessions of
//! the members fetching from this broker (Kafka's ShareSessionCache: epoch 0 opens a
//! session, -1 closes it and releases what the member holds, otherwise the epoch must be
//! the one expected). A share partition starts at the start offset persisted for the group
//! (in `__consumer_offsets`, through the group coordinator) or, the first time, where
//! `share.auto.offset.reset` says; the start offset is written back as it advances.

pub mod partition;
mod persister;

use crate::broker::Broker;
use crate::broker::log::batch::BatchHeader;
use crate::broker::replica::{FetchIsolation, Partition};
use kafka_protocol::error::ResponseError as E;
use partition::{AcquireLimits, Acquired, LogBatch, SharePartition};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const INITIAL_EPOCH: i32 = 0;
pub const FINAL_EPOCH: i32 = -1;
/// Sessions idle this long are dropped when room is needed (Kafka evicts idle sessions).
const SESSION_IDLE: Duration = Duration::from_secs(120);
/// group.share.max.share.sessions (Kafka 4.1's default).
const MAX_SESSIONS: usize = 2000;

/// A topic partition of a share session: (topic id, topic name, partition).
pub type SessionKey = (Uuid, String, i32);

struct ShareSession {
    /// The epoch the next request must carry.
    epoch: i32,
    partitions: BTreeSet<SessionKey>,
    last_used: Instant,
}

/// One share partition with the leader epoch it was initialized under: when leadership
/// moved away and back, the state is read again from what was persisted meanwhile.
struct Entry {
    sp: SharePartition,
    leader_epoch: i32,
    /// Start-offset writes under way: until they land the store lags `persisted_start`.
    writing: u32,
}

type PartitionKey = (String, String, i32);

#[derive(Default)]
pub struct ShareManager {
    sessions: Mutex<HashMap<(String, String), ShareSession>>,
    partitions: Mutex<HashMap<PartitionKey, Entry>>,
}

/// Why a share session request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionError {
    NotFound,
    InvalidEpoch,
    LimitReached,
}

impl SessionError {
    pub fn code(&self) -> i16 {
        match self {
            SessionError::NotFound => E::ShareSessionNotFound.code(),
            SessionError::InvalidEpoch => E::InvalidShareSessionEpoch.code(),
            SessionError::LimitReached => E::ShareSessionLimitReached.code(),
        }
    }
}

fn next_epoch(e: i32) -> i32 {
    if e < 0 {
        FINAL_EPOCH
    } else if e == i32::MAX {
        1
    } else {
        e + 1
    }
}

/// What one partition's acquisition produced.
pub struct Fetched {
    pub records: bytes::Bytes,
    pub acquired: Vec<Acquired>,
}

impl ShareManager {
    /// Opens (epoch 0), checks and advances (epoch > 0) or closes (-1) the session of
    /// `member`; returns the session's partitions after `add` and `forget`.
    pub fn session(
        &self,
        group: &str,
        member: &str,
        epoch: i32,
        add: Vec<SessionKey>,
        forget: &[(Uuid, i32)],
    ) -> Result<Vec<SessionKey>, SessionError> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let key = (group.to_string(), member.to_string());
        let now = Instant::now();
        match epoch {
            INITIAL_EPOCH => {
                sessions.remove(&key);
                if sessions.len() >= MAX_SESSIONS {
                    sessions.retain(|_, s| now.duration_since(s.last_used) < SESSION_IDLE);
                    if sessions.len() >= MAX_SESSIONS {
                        return Err(SessionError::LimitReached);
                    }
                }
                let partitions: BTreeSet<SessionKey> = add.into_iter().collect();
                let out = partitions.iter().cloned().collect();
                sessions.insert(key, ShareSession { epoch: next_epoch(INITIAL_EPOCH), partitions, last_used: now });
                Ok(out)
            }
            FINAL_EPOCH => {
                let s = sessions.remove(&key).ok_or(SessionError::NotFound)?;
                Ok(s.partitions.into_iter().collect())
            }
            e => {
                let s = sessions.get_mut(&key).ok_or(SessionError::NotFound)?;
                if s.epoch != e {
                    return Err(SessionError::InvalidEpoch);
                }
                s.partitions.retain(|(id, _, p)| !forget.contains(&(*id, *p)));
                s.partitions.extend(add);
                s.epoch = next_epoch(e);
                s.last_used = now;
                Ok(s.partitions.iter().cloned().collect())
            }
        }
    }

    /// Makes sure (group, partition) has its state here, reading the persisted start offset
    /// when the partition is new to this leader (or its leader epoch changed). With
    /// `reload` (a share session opens) a state nobody holds records of is checked against
    /// the persisted start too: AlterShareGroupOffsets / DeleteShareGroupOffsets (which need
    /// an empty group) change it at the coordinator, and the group's next session must see
    /// the change. Err: the group's coordinator could not say (the caller answers the
    /// partition with it).
    pub async fn ensure(&self, b: &Broker, group: &str, part: &Partition, reload: bool) -> Result<(), i16> {
        let key = (group.to_string(), part.topic.clone(), part.index);
        let epoch = part.leader_epoch();
        let fresh = |parts: &HashMap<PartitionKey, Entry>| parts.get(&key).is_some_and(|e| e.leader_epoch == epoch);
        // In sync with the store and nothing locked: the state the store may have replaced.
        let idle = |parts: &HashMap<PartitionKey, Entry>| {
            parts
                .get(&key)
                .filter(|e| e.writing == 0 && !e.sp.any_acquired() && e.sp.persisted_start == e.sp.start_offset())
                .map(|e| e.sp.persisted_start)
        };
        let known = {
            let parts = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
            match (fresh(&parts), reload) {
                (true, false) => return Ok(()),
                (true, true) => match idle(&parts) {
                    Some(start) => Some(start),
                    None => return Ok(()),
                },
                (false, _) => None,
            }
        };
        let persisted = persister::read_start(b, group, part).await?;
        if known.is_some() && persisted == known {
            return Ok(());
        }
        let o = part.offsets();
        let start = persisted.unwrap_or_else(|| {
            let reset = b.image().group_configs.get(&(group.to_string(), "share.auto.offset.reset".to_string())).cloned();
            if reset.as_deref() == Some("earliest") { o.log_start } else { o.high_watermark }
        });
        let start = start.clamp(o.log_start, o.high_watermark.max(o.log_start));
        tracing::debug!(group, topic = %part.topic, partition = part.index, ?persisted, start, epoch, "share partition initialized");
        let mut parts = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        if !fresh(&parts) || (known.is_some() && idle(&parts) == known) {
            let mut sp = SharePartition::new(start);
            if persisted.is_none() {
                // Nothing stored yet: store the reset position with the first change.
                sp.persisted_start = -1;
            }
            parts.insert(key, Entry { sp, leader_epoch: epoch, writing: 0 });
        }
        Ok(())
    }

    /// Runs `f` on the state of (group, partition) if [`ensure`](Self::ensure) set it up
    /// under the current leader epoch.
    fn with_partition<T>(&self, group: &str, part: &Partition, f: impl FnOnce(&mut SharePartition) -> T) -> Option<T> {
        let key = (group.to_string(), part.topic.clone(), part.index);
        let mut parts = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        let entry = parts.get_mut(&key).filter(|e| e.leader_epoch == part.leader_epoch())?;
        entry.sp.truncate_below(part.offsets().log_start);
        Some(f(&mut entry.sp))
    }

    /// Applies acknowledgement batches of `member` to one partition. Returns the error
    /// code for the partition's acknowledgements (0 when all applied).
    pub fn acknowledge(&self, b: &Broker, group: &str, member: &str, part: &Partition, batches: &[(i64, i64, Vec<i8>)]) -> i16 {
        let limit = b.groups.cfg.share_delivery_count_limit;
        tracing::debug!(group, member, topic = %part.topic, partition = part.index, ?batches, "share acknowledge");
        self.with_partition(group, part, |sp| {
            for (first, last, types) in batches {
                if let Err(e) = sp.acknowledge(member, *first, *last, types, limit) {
                    return match e {
                        partition::AckError::InvalidRequest => E::InvalidRequest.code(),
                        partition::AckError::InvalidRecordState => E::InvalidRecordState.code(),
                    };
                }
            }
            0
        })
        .unwrap_or(E::InvalidRecordState.code())
    }

    /// Acquires up to `max_records` records of one partition for `member` and reads the
    /// batches that hold them (at most `max_bytes`, at least one batch).
    pub fn acquire(&self, b: &Broker, group: &str, member: &str, part: &Partition, max_records: usize, max_bytes: usize) -> Fetched {
        let cfg = &b.groups.cfg;
        let lock_ms = group_int(b, group, "share.record.lock.duration.ms").unwrap_or(cfg.share_record_lock_duration_ms);
        let lim = AcquireLimits {
            max_records,
            max_in_flight: cfg.share_partition_max_record_locks as i64,
            lock: Duration::from_millis(lock_ms.max(0) as u64),
            delivery_limit: cfg.share_delivery_count_limit,
        };
        let hw = part.high_watermark();
        let now = Instant::now();
        let empty = Fetched { records: bytes::Bytes::new(), acquired: Vec::new() };
        let from = self.with_partition(group, part, |sp| {
            sp.expire_locks(now, lim.delivery_limit);
            sp.has_work(hw).then(|| sp.read_from())
        });
        let Some(Some(from)) = from else { return empty };
        let Ok((read, _)) = part.read(from, max_bytes.max(1), FetchIsolation::HighWatermark) else { return empty };
        let batches = parse_batches(&read.records);
        let log_batches: Vec<LogBatch> = batches.iter().map(|(_, lb)| *lb).collect();
        let acquired = self.with_partition(group, part, |sp| sp.acquire(member, &log_batches, hw, now, &lim)).unwrap_or_default();
        tracing::debug!(group, member, topic = %part.topic, partition = part.index, from, ?acquired, "share acquire");
        let Some(last) = acquired.last().map(|a| a.last) else { return empty };
        // Send the batches up to the one holding the last acquired offset.
        let end = batches.iter().find(|(_, lb)| lb.last >= last).map_or(read.records.len(), |(end, _)| *end);
        Fetched { records: read.records.slice(..end), acquired }
    }

    /// Releases what `member` holds in the given partitions (its share session closed).
    pub async fn release_member(&self, b: &Broker, group: &str, member: &str, partitions: &[SessionKey]) {
        for (_, topic, p) in partitions {
            if let Some(part) = b.replicas.get(topic, *p).filter(|x| x.is_leader()) {
                self.with_partition(group, &part, |sp| sp.release_member(member, b.groups.cfg.share_delivery_count_limit));
                self.persist(b, group, &part).await;
            }
        }
    }

    /// Forgets a deleted group's share partitions here.
    pub fn forget_group(&self, group: &str) {
        self.partitions.lock().unwrap_or_else(|e| e.into_inner()).retain(|(g, _, _), _| g != group);
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).retain(|(g, _), _| g != group);
    }

    /// Writes the partition's start offset to the group coordinator when it moved. Two
    /// writes racing can leave the older start stored: a restart then redelivers records
    /// (at least once), it never skips any.
    pub async fn persist(&self, b: &Broker, group: &str, part: &Partition) {
        let key = (group.to_string(), part.topic.clone(), part.index);
        let start = {
            let mut parts = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
            let Some(e) = parts.get_mut(&key) else { return };
            if e.sp.start_offset() == e.sp.persisted_start {
                return;
            }
            e.sp.persisted_start = e.sp.start_offset();
            e.writing += 1;
            e.sp.persisted_start
        };
        let written = persister::write_start(b, group, part, start).await;
        if let Some(e) = self.partitions.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&key) {
            e.writing = e.writing.saturating_sub(1);
            if let Err(c) = written {
                tracing::debug!(group, topic = %part.topic, partition = key.2, "could not persist the share-partition start offset (error {c})");
                // Try again with the next change.
                e.sp.persisted_start = -1;
            }
        }
    }

    /// The share partitions of `group` here: (topic, partition, start offset, in flight).
    pub fn describe(&self, group: &str) -> Vec<(String, i32, i64, usize)> {
        let parts = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = parts
            .iter()
            .filter(|((g, _, _), _)| g == group)
            .map(|((_, t, p), e)| (t.clone(), *p, e.sp.start_offset(), e.sp.in_flight()))
            .collect();
        v.sort();
        v
    }
}

fn group_int(b: &Broker, group: &str, name: &str) -> Option<i32> {
    b.image().group_configs.get(&(group.to_string(), name.to_string())).and_then(|v| v.parse().ok())
}

/// The batches of a log read: (byte offset after the batch, its offsets).
fn parse_batches(buf: &[u8]) -> Vec<(usize, LogBatch)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let Ok(h) = BatchHeader::parse(&buf[pos..]) else { break };
        if pos + h.size > buf.len() {
            break;
        }
        pos += h.size;
        out.push((pos, LogBatch { base: h.base_offset, last: h.last_offset(), control: h.attributes & 0x20 != 0 }));
    }
    out
}

/// A shared handle.
pub type SharedShareManager = Arc<ShareManager>;
