//! ProducerStateManager (Kafka's, per partition): for each producer id the epoch, the last
//! five batches' sequence ranges and offsets, the coordinator epoch of its last marker and
//! its open transaction. It decides a client batch's fate before the append (a retry of a
//! stored batch gets its original offsets back; gaps, old epochs and stray transactional
//! writes are refused with Kafka's errors) and tracks transactions for the last stable
//! offset. Its state survives restarts in `<offset>.snapshot` files (Kafka's format) plus
//! a replay of the log after the newest snapshot.

use super::LogError;
use super::batch::BatchHeader;
use kafka_protocol::error::ResponseError as E;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};

pub const NUM_BATCHES_TO_RETAIN: usize = 5;
pub const SNAPSHOT_EXT: &str = "snapshot";

/// One stored batch of a producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub last_seq: i32,
    pub last_offset: i64,
    pub offset_delta: i32,
    pub timestamp: i64,
}

impl BatchMetadata {
    pub fn first_seq(&self) -> i32 {
        decrement_sequence(self.last_seq, self.offset_delta)
    }
    pub fn first_offset(&self) -> i64 {
        self.last_offset - self.offset_delta as i64
    }
}

#[derive(Debug, Clone)]
pub struct ProducerStateEntry {
    pub producer_id: i64,
    pub epoch: i16,
    pub coordinator_epoch: i32,
    pub last_timestamp: i64,
    pub current_txn_first_offset: Option<i64>,
    pub batches: VecDeque<BatchMetadata>,
    /// Markers seen for this producer: the guard of a produce verified with the transaction
    /// coordinator (a marker in between means the verified transaction is over).
    pub markers: u64,
}

impl ProducerStateEntry {
    fn new(producer_id: i64) -> Self {
        ProducerStateEntry {
            producer_id,
            epoch: -1,
            coordinator_epoch: -1,
            last_timestamp: -1,
            current_txn_first_offset: None,
            batches: VecDeque::new(),
            markers: 0,
        }
    }
    pub fn last_seq(&self) -> i32 {
        self.batches.back().map_or(-1, |b| b.last_seq)
    }
    fn set_epoch(&mut self, epoch: i16) {
        if epoch != self.epoch {
            // A new epoch restarts sequences: what was retained no longer applies.
            self.batches.clear();
            self.epoch = epoch;
        }
    }
}

/// A transaction that ended on this partition (its marker was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub marker_offset: i64,
    pub aborted: bool,
}

/// An aborted transaction as the `.txnindex` keeps it (Kafka's AbortedTxn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

/// A transaction marker: the control record of a control batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndMarker {
    pub commit: bool,
    pub coordinator_epoch: i32,
}

pub fn increment_sequence(seq: i32, delta: i32) -> i32 {
    if seq > i32::MAX - delta { delta - (i32::MAX - seq) - 1 } else { seq + delta }
}

pub fn decrement_sequence(seq: i32, delta: i32) -> i32 {
    if seq < delta { i32::MAX - (delta - seq) + 1 } else { seq - delta }
}

fn in_sequence(last: i32, next: i32) -> bool {
    next as i64 == last as i64 + 1 || (next == 0 && last == i32::MAX)
}

fn invalid_epoch(epoch: i16, current: i16) -> LogError {
    LogError::Producer(
        E::InvalidProducerEpoch.code(),
        format!("Epoch of producer {epoch} is older than the current epoch {current} of this partition"),
    )
}

fn out_of_order(msg: String) -> LogError {
    LogError::Producer(E::OutOfOrderSequenceNumber.code(), msg)
}

/// Reads the transaction marker of an (uncompressed) control batch.
pub fn parse_end_marker(raw: &[u8]) -> Option<EndMarker> {
    // After the 61-byte header: length varint, attributes, ts delta, offset delta, key length (4),
    // key [version i16, type i16], value length (6), value [version i16, coordinator epoch i32].
    let mut p = super::batch::HEADER_LEN;
    let read_var = |at: &mut usize| -> Option<i64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = *raw.get(*at)?;
            *at += 1;
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Some(((v >> 1) as i64) ^ -((v & 1) as i64));
            }
        }
        None
    };
    read_var(&mut p)?; // record length
    p += 1; // attributes
    read_var(&mut p)?; // timestamp delta
    read_var(&mut p)?; // offset delta
    if read_var(&mut p)? < 4 {
        return None;
    }
    let kind = i16::from_be_bytes([*raw.get(p + 2)?, *raw.get(p + 3)?]);
    p += 4;
    let value_len = read_var(&mut p)?;
    let coordinator_epoch =
        if value_len >= 6 { i32::from_be_bytes([*raw.get(p + 2)?, *raw.get(p + 3)?, *raw.get(p + 4)?, *raw.get(p + 5)?]) } else { -1 };
    match kind {
        0 => Some(EndMarker { commit: false, coordinator_epoch }),
        1 => Some(EndMarker { commit: true, coordinator_epoch }),
        _ => None,
    }
}

/// Builds the 78-byte control batch of a transaction marker (attributes 0x30), offsets and
/// leader epoch to be assigned by the log.
pub fn end_marker_batch(producer_id: i64, epoch: i16, marker: EndMarker, timestamp: i64) -> bytes::BytesMut {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&(if marker.commit { 1i16 } else { 0 }).to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
    let record = super::batch::raw_record(0, 4, &key, 6, &value);
    let mut b = super::batch::assemble(0x30, 0, 1, timestamp, &record);
    b[43..51].copy_from_slice(&producer_id.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    bytes::BytesMut::from(&b[..])
}

pub struct ProducerStateManager {
    dir: PathBuf,
    producers: HashMap<i64, ProducerStateEntry>,
    /// Open transactions by first offset → producer id.
    ongoing: BTreeMap<i64, i64>,
    /// Completed transactions whose marker is not yet below the high watermark:
    /// first offset → marker offset.
    unreplicated: BTreeMap<i64, i64>,
    /// The state covers the log below this offset.
    pub map_end_offset: i64,
    last_snapshot_offset: i64,
}

impl ProducerStateManager {
    pub fn new(dir: &Path) -> ProducerStateManager {
        ProducerStateManager {
            dir: dir.to_path_buf(),
            producers: HashMap::new(),
            ongoing: BTreeMap::new(),
            unreplicated: BTreeMap::new(),
            map_end_offset: 0,
            last_snapshot_offset: -1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    pub fn producers(&self) -> impl Iterator<Item = &ProducerStateEntry> {
        self.producers.values()
    }

    pub fn get(&self, pid: i64) -> Option<&ProducerStateEntry> {
        self.producers.get(&pid)
    }

    /// The guard for verifying a transactional write of `pid` with its coordinator: None
    /// when it already has a transaction open here (no verification needed).
    pub fn txn_guard(&self, pid: i64) -> Option<u64> {
        match self.producers.get(&pid) {
            Some(e) if e.current_txn_first_offset.is_some() => None,
            Some(e) => Some(e.markers),
            None => Some(0),
        }
    }

    /// A verified transactional write may start a transaction here only if no marker for the
    /// producer arrived since it was verified (KIP-890: no hanging transactions).
    pub fn check_guard(&self, h: &BatchHeader, guard: u64) -> Result<(), LogError> {
        let open = self.producers.get(&h.producer_id).is_some_and(|e| e.current_txn_first_offset.is_some());
        let markers = self.producers.get(&h.producer_id).map_or(0, |e| e.markers);
        if h.is_transactional() && !open && markers != guard {
            return Err(LogError::Producer(E::InvalidTxnState.code(), "Record was not part of an ongoing transaction".into()));
        }
        Ok(())
    }

    /// Checks a client's batch before it is appended. Ok(Some(batch)) is a retry of a batch
    /// already stored (answer with its offsets, write nothing).
    pub fn check_client_batch(&self, h: &BatchHeader) -> Result<Option<BatchMetadata>, LogError> {
        if h.producer_id < 0 {
            return Ok(None);
        }
        let entry = self.producers.get(&h.producer_id);
        let first_seq = h.base_sequence;
        let last_seq = increment_sequence(first_seq, h.last_offset_delta);
        if let Some(e) = entry
            && e.epoch == h.producer_epoch
            && let Some(dup) = e.batches.iter().find(|b| b.first_seq() == first_seq && b.last_seq == last_seq)
        {
            return Ok(Some(*dup));
        }
        let Some(e) = entry else {
            // Unknown producer (new, or its state expired or was removed with the data): any
            // sequence is accepted, as Kafka does since KIP-360.
            return Ok(None);
        };
        if h.producer_epoch < e.epoch {
            return Err(invalid_epoch(h.producer_epoch, e.epoch));
        }
        if h.producer_epoch != e.epoch {
            if first_seq != 0 && e.epoch != -1 {
                return Err(out_of_order(format!(
                    "Invalid sequence number for new epoch of producer {}: {first_seq} (request epoch), 0 (expected)",
                    h.producer_id
                )));
            }
        } else if !in_sequence(e.last_seq(), first_seq) {
            return Err(out_of_order(format!(
                "Out of order sequence number for producer {} at offset {}: {first_seq} (incoming seq. number), {} (current end sequence number)",
                h.producer_id,
                h.base_offset,
                e.last_seq()
            )));
        }
        if e.current_txn_first_offset.is_some() && !h.is_transactional() && h.producer_epoch == e.epoch {
            return Err(LogError::Producer(
                E::InvalidTxnState.code(),
                format!("Expected transactional write from producer {} at offset {}", h.producer_id, h.base_offset),
            ));
        }
        Ok(None)
    }

    /// Checks a coordinator's marker (its epoch and coordinator epoch must not go backwards).
    pub fn check_marker(&self, h: &BatchHeader, marker: &EndMarker) -> Result<(), LogError> {
        let Some(e) = self.producers.get(&h.producer_id) else { return Ok(()) };
        if h.producer_epoch < e.epoch {
            return Err(invalid_epoch(h.producer_epoch, e.epoch));
        }
        if marker.coordinator_epoch < e.coordinator_epoch {
            return Err(LogError::Producer(
                E::TransactionCoordinatorFenced.code(),
                format!("Invalid coordinator epoch {} (zombie), {} (current)", marker.coordinator_epoch, e.coordinator_epoch),
            ));
        }
        Ok(())
    }

    /// Records an appended batch (offsets assigned). `marker` is set for control batches.
    /// Returns the transaction a marker completed.
    pub fn update(&mut self, h: &BatchHeader, marker: Option<EndMarker>) -> Option<CompletedTxn> {
        self.map_end_offset = self.map_end_offset.max(h.next_offset());
        if h.producer_id < 0 {
            return None;
        }
        let e = self.producers.entry(h.producer_id).or_insert_with(|| ProducerStateEntry::new(h.producer_id));
        if let Some(m) = marker {
            if h.producer_epoch > e.epoch {
                e.set_epoch(h.producer_epoch);
            }
            e.coordinator_epoch = m.coordinator_epoch;
            e.last_timestamp = h.max_timestamp;
            e.markers += 1;
            let first = e.current_txn_first_offset.take()?;
            self.ongoing.remove(&first);
            self.unreplicated.insert(first, h.base_offset);
            return Some(CompletedTxn {
                producer_id: h.producer_id,
                first_offset: first,
                marker_offset: h.base_offset,
                aborted: !m.commit,
            });
        }
        if h.producer_epoch > e.epoch || e.epoch == -1 {
            e.set_epoch(h.producer_epoch);
        }
        if e.batches.len() == NUM_BATCHES_TO_RETAIN {
            e.batches.pop_front();
        }
        if h.base_sequence >= 0 {
            e.batches.push_back(BatchMetadata {
                last_seq: increment_sequence(h.base_sequence, h.last_offset_delta),
                last_offset: h.last_offset(),
                offset_delta: h.last_offset_delta,
                timestamp: h.max_timestamp,
            });
        }
        e.last_timestamp = h.max_timestamp;
        if h.is_transactional() && e.current_txn_first_offset.is_none() {
            e.current_txn_first_offset = Some(h.base_offset);
            self.ongoing.insert(h.base_offset, h.producer_id);
        }
        None
    }

    /// The offset of the first message of an open (or not yet replicated) transaction.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        let a = self.ongoing.keys().next().copied();
        let b = self.unreplicated.keys().next().copied();
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (x, y) => x.or(y),
        }
    }

    /// The LSO an aborted transaction's index entry records: the first open transaction of
    /// another producer, else just after the marker.
    pub fn last_stable_offset_after(&self, txn: &CompletedTxn) -> i64 {
        self.ongoing.iter().find(|(_, pid)| **pid != txn.producer_id).map_or(txn.marker_offset + 1, |(first, _)| *first)
    }

    /// The high watermark moved: completed transactions below it are stable.
    pub fn on_high_watermark(&mut self, hw: i64) {
        self.unreplicated.retain(|_, marker| *marker >= hw);
    }

    /// Producers idle longer than `expiration_ms` with no open transaction are forgotten.
    pub fn remove_expired(&mut self, now: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers.retain(|_, e| e.current_txn_first_offset.is_some() || now.saturating_sub(e.last_timestamp) < expiration_ms);
        before - self.producers.len()
    }

    /// Forgets everything (before a reload from a snapshot or a full truncation).
    pub fn clear(&mut self, offset: i64) {
        self.producers.clear();
        self.ongoing.clear();
        self.unreplicated.clear();
        self.map_end_offset = offset;
    }

    fn snapshot_path(&self, offset: i64) -> PathBuf {
        self.dir.join(format!("{offset:020}.{SNAPSHOT_EXT}"))
    }

    /// Snapshot files in the directory, oldest first.
    pub fn snapshot_offsets(&self) -> Vec<i64> {
        let mut v: Vec<i64> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".snapshot")?.parse().ok())
            .collect();
        v.sort_unstable();
        v
    }

    /// Writes `<map end offset>.snapshot` (Kafka's ProducerSnapshot v1) unless there is
    /// nothing new since the last one; an empty state writes nothing.
    pub fn take_snapshot(&mut self, sync: bool) -> io::Result<()> {
        if self.map_end_offset <= self.last_snapshot_offset || (self.producers.is_empty() && self.snapshot_offsets().is_empty()) {
            return Ok(());
        }
        let mut b = Vec::with_capacity(10 + self.producers.len() * 46);
        b.extend_from_slice(&1i16.to_be_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&(self.producers.len() as i32).to_be_bytes());
        for e in self.producers.values() {
            let last = e.batches.back();
            b.extend_from_slice(&e.producer_id.to_be_bytes());
            b.extend_from_slice(&e.epoch.to_be_bytes());
            b.extend_from_slice(&last.map_or(-1, |x| x.last_seq).to_be_bytes());
            b.extend_from_slice(&last.map_or(-1, |x| x.last_offset).to_be_bytes());
            b.extend_from_slice(&last.map_or(0, |x| x.offset_delta).to_be_bytes());
            b.extend_from_slice(&e.last_timestamp.to_be_bytes());
            b.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
            b.extend_from_slice(&e.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
        }
        let crc = crc32c::crc32c(&b[6..]);
        b[2..6].copy_from_slice(&crc.to_be_bytes());
        crate::broker::replica::checkpoint::write_replacing(&self.snapshot_path(self.map_end_offset), &b, sync)?;
        self.last_snapshot_offset = self.map_end_offset;
        Ok(())
    }

    /// Loads the newest valid snapshot at or below `max_offset` (damaged ones are deleted);
    /// returns its offset, the point from which the log must be replayed.
    pub fn load_snapshot(&mut self, max_offset: i64) -> Option<i64> {
        for offset in self.snapshot_offsets().into_iter().rev() {
            let path = self.snapshot_path(offset);
            if offset > max_offset {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            match std::fs::read(&path).ok().and_then(|d| parse_snapshot(&d)) {
                Some(entries) => {
                    self.clear(offset);
                    for e in entries {
                        if let Some(first) = e.current_txn_first_offset {
                            self.ongoing.insert(first, e.producer_id);
                        }
                        self.producers.insert(e.producer_id, e);
                    }
                    self.last_snapshot_offset = offset;
                    return Some(offset);
                }
                None => {
                    tracing::warn!(file = %path.display(), "deleting a damaged producer-state snapshot");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        None
    }

    /// Deletes snapshots below `offset` but the newest of them (segments were deleted) and
    /// above `end` (the log was truncated).
    pub fn delete_snapshots_outside(&mut self, start: i64, end: i64) {
        let all = self.snapshot_offsets();
        let keep_below = all.iter().copied().filter(|o| *o <= start).max();
        for o in all {
            if (o < start && Some(o) != keep_below) || o > end {
                let _ = std::fs::remove_file(self.snapshot_path(o));
                if o > end {
                    self.last_snapshot_offset = self.last_snapshot_offset.min(end);
                }
            }
        }
    }
}

fn parse_snapshot(d: &[u8]) -> Option<Vec<ProducerStateEntry>> {
    if d.len() < 10 || i16::from_be_bytes([d[0], d[1]]) != 1 {
        return None;
    }
    let crc = u32::from_be_bytes(d[2..6].try_into().ok()?);
    if crc32c::crc32c(&d[6..]) != crc {
        return None;
    }
    let n = i32::from_be_bytes(d[6..10].try_into().ok()?);
    if n < 0 || d.len() != 10 + n as usize * 46 {
        return None;
    }
    let i64_at = |p: usize| i64::from_be_bytes(d[p..p + 8].try_into().expect("8 bytes"));
    let i32_at = |p: usize| i32::from_be_bytes(d[p..p + 4].try_into().expect("4 bytes"));
    Some(
        (0..n as usize)
            .map(|i| {
                let p = 10 + i * 46;
                let last_seq = i32_at(p + 10);
                let last_offset = i64_at(p + 14);
                let txn = i64_at(p + 38);
                let mut e = ProducerStateEntry::new(i64_at(p));
                e.epoch = i16::from_be_bytes([d[p + 8], d[p + 9]]);
                e.last_timestamp = i64_at(p + 26);
                e.coordinator_epoch = i32_at(p + 34);
                e.current_txn_first_offset = (txn >= 0).then_some(txn);
                if last_offset >= 0 {
                    e.batches.push_back(BatchMetadata { last_seq, last_offset, offset_delta: i32_at(p + 22), timestamp: e.last_timestamp });
                }
                e
            })
            .collect(),
    )
}

#[cfg(test)]
#[path = "producer_state_tests.rs"]
mod tests;
