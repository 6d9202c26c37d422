//! PartitionLog (Kafka's UnifiedLog): the ordered segments of one partition, offset
//! assignment on append (by origin), the leader epoch cache, reads by offset (bounded by a
//! max offset: the HW for consumers) and by timestamp, rolling, retention, DeleteRecords,
//! truncation and crash recovery. Replication state (HW, ISR) lives above it.

use super::batch::{self, BatchHeader};
use super::epoch_cache::LeaderEpochCache;
use super::segment::LogSegment;
use super::{AppendOrigin, Clock, LogError};
use crate::broker::topic_config::LogConfig;
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::RecordBatchDecoder;
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const LOG_START_FILE: &str = "log-start-offset";

/// Log flushes (fsyncs of a partition's data) since start: Kafka's LogFlushStats.
pub static LOG_FLUSHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub struct PartitionLog {
    dir: PathBuf,
    config: LogConfig,
    pub(super) segments: BTreeMap<i64, LogSegment>,
    pub(super) log_start_offset: i64,
    next_offset: i64,
    unflushed: i64,
    /// Written since the last fsync (an idle partition costs nothing at shutdown).
    dirty: bool,
    last_flush_ms: i64,
    epochs: LeaderEpochCache,
    clock: Clock,
    pub(super) producers: super::producer_state::ProducerStateManager,
    /// Aborted transactions (segment base, entry) from the `.txnindex` files, by marker offset.
    pub(super) aborted: Vec<(i64, super::producer_state::AbortedTxn)>,
}

/// What an append assigned.
#[derive(Debug, Clone, Copy)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker time stamped on the batches, or -1 for CreateTime topics.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    pub record_count: i64,
}

/// Raw batches read for a fetch.
pub struct ReadResult {
    pub records: Bytes,
}

/// Bytes of a segment file: what a fetch sends with sendfile(2) instead of copying.
#[derive(Debug, Clone)]
pub struct FileRegion {
    pub file: Arc<File>,
    pub pos: u64,
    pub len: usize,
    /// The offset after the last batch in the region.
    pub next_offset: i64,
}

impl PartitionLog {
    /// Opens (or creates) the log in `dir`. Without a clean-shutdown marker the newest
    /// segments are CRC-verified and a torn tail is truncated.
    pub fn open(dir: &Path, config: LogConfig, clean_shutdown: bool) -> io::Result<(PartitionLog, u64)> {
        Self::open_with_clock(dir, config, clean_shutdown, Clock::System)
    }

    pub fn open_with_clock(dir: &Path, config: LogConfig, clean_shutdown: bool, clock: Clock) -> io::Result<(PartitionLog, u64)> {
        // A directory made just now holds nothing to read: skip every lookup (each file
        // operation costs a fraction of a millisecond, and topics have thousands).
        let fresh = match std::fs::create_dir(dir) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)?;
                true
            }
            Err(e) => return Err(e),
        };
        if fresh {
            let now = clock.now_ms();
            let mut segments = BTreeMap::new();
            segments.insert(0, LogSegment::create(dir, 0)?);
            let log = PartitionLog {
                dir: dir.to_path_buf(),
                config,
                segments,
                log_start_offset: 0,
                next_offset: 0,
                unflushed: 0,
                dirty: false,
                last_flush_ms: now,
                epochs: LeaderEpochCache::empty(dir),
                clock,
                producers: super::producer_state::ProducerStateManager::new(dir),
                aborted: Vec::new(),
            };
            return Ok((log, 0));
        }
        let mut bases = Vec::new();
        for e in std::fs::read_dir(dir)?.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().to_string();
            if name.ends_with(".cleaned") {
                // A cleaner pass that did not finish: the original segment is intact.
                std::fs::remove_file(e.path())?;
            } else if let Some(base) = name.strip_suffix(".log").and_then(|b| b.parse::<i64>().ok()) {
                bases.push(base);
            }
        }
        bases.sort_unstable();
        let checkpoint = std::fs::read_to_string(dir.join(LOG_START_FILE)).ok().and_then(|s| s.trim().parse::<i64>().ok());
        let mut segments = BTreeMap::new();
        let mut truncated = 0;
        let n = bases.len();
        let mut damaged_at: Option<(i64, u64)> = None;
        for (i, base) in bases.into_iter().enumerate() {
            if let Some((at_base, at_pos)) = damaged_at {
                // Kafka keeps a log contiguous: everything after the first damaged batch goes.
                tracing::error!(dir = %dir.display(), segment = base, "deleting a segment after the damage found in segment {at_base} at byte {at_pos}");
                for ext in ["log", "index", "timeindex"] {
                    let _ = std::fs::remove_file(dir.join(super::segment::file_name(base, ext)));
                }
                continue;
            }
            let recover = !clean_shutdown && i + 2 >= n;
            let (seg, report) = LogSegment::open(dir, base, recover, i + 1 == n)?;
            if report.truncated_bytes > 0 {
                tracing::error!(dir = %dir.display(), segment = base, position = report.valid_bytes, bytes = report.truncated_bytes,
                    "truncated a torn or damaged log from this position on (recovery)");
                if i + 1 < n {
                    damaged_at = Some((base, report.valid_bytes));
                }
            }
            truncated += report.truncated_bytes;
            segments.insert(base, seg);
        }
        // The active segment is the last one: a damaged middle segment left a sealed one last.
        if damaged_at.is_some()
            && let Some((&last, _)) = segments.iter().next_back()
        {
            let seg = segments.remove(&last).expect("present");
            drop(seg);
            let (seg, _) = LogSegment::open(dir, last, false, true)?;
            segments.insert(last, seg);
        }
        if segments.is_empty() {
            let base = checkpoint.unwrap_or(0).max(0);
            segments.insert(base, LogSegment::create(dir, base)?);
        }
        let next_offset = segments.values().next_back().map(|s| s.next_offset).unwrap_or(0);
        let first_base = *segments.keys().next().unwrap_or(&0);
        let log_start_offset = checkpoint.unwrap_or(first_base).max(first_base).min(next_offset);
        let mut epochs = LeaderEpochCache::load(dir);
        // Entries past the recovered end belong to a tail that is gone.
        epochs.truncate_from_end(next_offset)?;
        let now = clock.now_ms();
        let mut log = PartitionLog {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset,
            next_offset,
            unflushed: 0,
            dirty: false,
            last_flush_ms: now,
            epochs,
            clock,
            producers: super::producer_state::ProducerStateManager::new(dir),
            aborted: Vec::new(),
        };
        log.load_txn_state(clean_shutdown).map_err(|e| match e {
            LogError::Io(e) => e,
            other => io::Error::other(other.to_string()),
        })?;
        Ok((log, truncated))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn config(&self) -> &LogConfig {
        &self.config
    }
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }
    pub fn log_end_offset(&self) -> i64 {
        self.next_offset
    }
    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.size()).sum()
    }
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }
    pub fn epochs(&self) -> &LeaderEpochCache {
        &self.epochs
    }
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The file of the segment holding `offset` (for messages naming where damage is).
    pub fn segment_path(&self, offset: i64) -> PathBuf {
        let base = self.segments.range(..=offset).next_back().map(|(k, _)| *k).unwrap_or(self.log_start_offset);
        self.dir.join(super::segment::file_name(base, "log"))
    }

    /// OffsetForLeaderEpoch: (epoch, end offset) of the largest epoch <= `epoch`.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.epochs.end_offset_for(epoch, self.next_offset)
    }

    /// A new leader epoch starts at the log end even before anything is appended in it.
    pub fn assign_epoch_start(&mut self, epoch: i32) -> io::Result<()> {
        if self.epochs.latest_epoch().is_none_or(|e| e < epoch) {
            // An empty log loses nothing if this entry is lost: the leader assigns it again.
            let empty = self.next_offset == self.log_start_offset;
            self.epochs.assign_with(epoch, self.next_offset, !empty)?;
        }
        Ok(())
    }

    fn active(&mut self) -> &mut LogSegment {
        self.segments.values_mut().next_back().expect("a log always has an active segment")
    }

    /// Validates every batch of a payload, then appends them atomically (all or none).
    /// Client and coordinator appends get offsets assigned and the leader epoch stamped;
    /// replicated batches keep the leader's offsets and epochs.
    pub fn append(&mut self, payload: &mut BytesMut, leader_epoch: i32, origin: AppendOrigin) -> Result<AppendInfo, LogError> {
        self.append_guarded(payload, leader_epoch, origin, None)
    }

    /// `append`, for a client's transactional write verified with its coordinator under
    /// `guard` (see ProducerStateManager::txn_guard).
    pub fn append_guarded(
        &mut self,
        payload: &mut BytesMut,
        leader_epoch: i32,
        origin: AppendOrigin,
        guard: Option<u64>,
    ) -> Result<AppendInfo, LogError> {
        let now = self.clock.now_ms();
        let cfg = &self.config;
        if payload.len() as u64 > cfg.segment_bytes {
            return Err(LogError::RecordListTooLarge { size: payload.len(), max: cfg.segment_bytes });
        }
        let mut headers: Vec<(usize, BatchHeader)> = Vec::new();
        if origin == AppendOrigin::Client {
            // Produce v3+: exactly one batch per partition, every record checked.
            let h = BatchHeader::parse(payload)?;
            if h.size < payload.len() {
                return Err(LogError::InvalidRecord(
                    "Produce requests are only allowed to contain exactly one record batch per partition".into(),
                ));
            }
            let v = super::validator::validate_client_batch(payload, &cfg.limits(), now)?;
            let mut h = v.header;
            if let Some(g) = guard {
                self.producers.check_guard(&h, g)?;
            }
            if let Some(dup) = self.check_producer(&h)? {
                // A retry of a batch already stored: its original offsets, nothing written.
                return Ok(AppendInfo {
                    base_offset: dup.first_offset(),
                    last_offset: dup.last_offset,
                    log_append_time: -1,
                    log_start_offset: self.log_start_offset,
                    record_count: 0,
                });
            }
            if !cfg.log_append_time && v.max_timestamp != h.max_timestamp {
                // The header must say what the records say (the time index trusts it).
                batch::set_max_timestamp(payload, v.max_timestamp);
                h.max_timestamp = v.max_timestamp;
            }
            headers.push((0, h));
        } else {
            let mut pos = 0;
            while pos < payload.len() {
                let h = BatchHeader::parse(&payload[pos..])?;
                if pos + h.size > payload.len() {
                    return Err(batch::BatchError::Truncated.into());
                }
                batch::validate(&payload[pos..pos + h.size])?;
                headers.push((pos, h));
                pos += h.size;
            }
        }
        if headers.is_empty() {
            return Err(LogError::InvalidRecord("produce request carried no record batch".into()));
        }
        if origin == AppendOrigin::Replication {
            return self.append_replicated(payload, headers, now);
        }
        if origin == AppendOrigin::Coordinator {
            self.check_markers(payload, &headers)?;
        }
        if origin == AppendOrigin::Client
            && let Some(target) = super::codec::target_codec(&cfg.compression_type)
            && let Some(re) = super::codec::recompress(payload, target)?
        {
            *payload = re;
            headers = batch::walk(payload).collect();
        }
        // Offsets are assigned only after every batch passed validation.
        let base_offset = self.next_offset;
        let mut next = base_offset;
        let mut count = 0i64;
        for (pos, h) in headers.iter_mut() {
            let b = &mut payload[*pos..*pos + h.size];
            batch::patch_offset_and_epoch(b, next, leader_epoch);
            h.base_offset = next;
            h.leader_epoch = leader_epoch;
            if self.config.log_append_time {
                batch::set_log_append_time(b, now);
                h.max_timestamp = now;
                h.attributes |= 0x08;
            }
            next = h.next_offset();
            count += h.record_count as i64;
        }
        if self.epochs.latest_epoch().is_none_or(|e| e < leader_epoch) {
            self.epochs.assign(leader_epoch, base_offset)?;
        }
        self.write(payload, &headers, next, count, now)?;
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time: if self.config.log_append_time { now } else { -1 },
            log_start_offset: self.log_start_offset,
            record_count: count,
        })
    }

    /// A follower's append: the batches continue the log at their own offsets and epochs.
    fn append_replicated(&mut self, payload: &BytesMut, headers: Vec<(usize, BatchHeader)>, now: i64) -> Result<AppendInfo, LogError> {
        let first = headers[0].1.base_offset;
        if first < self.next_offset || (first > self.next_offset && self.next_offset != self.log_start_offset) {
            return Err(LogError::UnexpectedAppendOffset { expected: self.next_offset, got: first });
        }
        if first > self.next_offset {
            // An empty log meeting a leader whose log starts later (truncated from the front).
            self.truncate_fully_and_start_at(first)?;
        }
        let mut next = first;
        let mut count = 0i64;
        for (_, h) in &headers {
            if h.base_offset < next {
                return Err(LogError::UnexpectedAppendOffset { expected: next, got: h.base_offset });
            }
            if self.epochs.latest_epoch().is_none_or(|e| e < h.leader_epoch) {
                self.epochs.assign(h.leader_epoch, h.base_offset)?;
            }
            next = h.next_offset();
            count += h.record_count as i64;
        }
        self.write(payload, &headers, next, count, now)?;
        if !self.config.write_caching {
            // The next fetch tells the leader this replica has it: on disk first.
            self.flush()?;
        }
        Ok(AppendInfo {
            base_offset: first,
            last_offset: next - 1,
            log_append_time: -1,
            log_start_offset: self.log_start_offset,
            record_count: count,
        })
    }

    fn write(&mut self, payload: &[u8], headers: &[(usize, BatchHeader)], next: i64, count: i64, now: i64) -> Result<(), LogError> {
        // The chaos suite's slow disk (RK_FAULTS=log.write.jitter.ms=N).
        crate::broker::faults::jitter("log.write.jitter.ms");
        self.epochs.make_durable()?;
        self.maybe_roll(payload.len() as u64, next, now)?;
        self.active().append(payload, headers, now)?;
        self.track_producers(payload, headers)?;
        self.next_offset = next;
        self.unflushed += count;
        self.dirty = true;
        if self.unflushed >= self.config.flush_messages {
            self.flush()?;
        }
        Ok(())
    }

    fn maybe_roll(&mut self, incoming: u64, new_next: i64, now: i64) -> io::Result<()> {
        let cfg = self.config.clone();
        let active = self.active();
        let full = active.size() + incoming > cfg.segment_bytes;
        let aged = active.roll_base_ms.is_some_and(|t| now - t >= cfg.segment_ms);
        // Relative offsets in the index are 32-bit.
        let offsets_overflow = new_next - active.base_offset > i32::MAX as i64;
        if !active.is_empty() && (full || aged || offsets_overflow) {
            self.roll()?;
        }
        Ok(())
    }

    /// Starts a new active segment at the log end offset; the old one is flushed.
    pub fn roll(&mut self) -> io::Result<()> {
        let base = self.next_offset;
        if self.segments.contains_key(&base) {
            return Ok(());
        }
        self.active().flush()?;
        self.active().seal()?;
        self.snapshot_producers(false)?;
        let seg = LogSegment::create(&self.dir, base)?;
        self.segments.insert(base, seg);
        Ok(())
    }

    /// Finds whole batches starting at the batch holding `offset`, up to `max_bytes` (the
    /// first batch whole even if larger when `min_one`): the segment file, position and
    /// length, for reading or for sending straight from the page cache. Reads never cross a
    /// segment boundary, like Kafka's.
    /// None when there is nothing to read at `offset` (the log end, or nothing fits).
    /// Only batches that end before `max_offset` are returned (the HW for consumers, the
    /// log end for followers and the broker's own readers).
    pub fn read_region(&self, offset: i64, max_bytes: usize, min_one: bool, max_offset: i64) -> Result<Option<FileRegion>, LogError> {
        if offset < self.log_start_offset || offset > self.next_offset {
            return Err(LogError::OffsetOutOfRange { offset, start: self.log_start_offset, end: self.next_offset });
        }
        let start_key = self.segments.range(..=offset).next_back().map(|(k, _)| *k).unwrap_or(i64::MIN);
        if offset < self.next_offset.min(max_offset) {
            for seg in self.segments.range(start_key..).map(|(_, s)| s) {
                let Some((pos, h)) = seg.find_batch(offset)? else { continue };
                if h.last_offset() >= max_offset {
                    return Ok(None);
                }
                let (len, next_offset) = seg.extent(pos, max_bytes, min_one, max_offset)?;
                return Ok(if len > 0 { Some(FileRegion { file: seg.file()?, pos, len, next_offset }) } else { None });
            }
        }
        Ok(None)
    }

    /// Like `read_region` up to the log end, with the bytes read into memory.
    pub fn read(&self, offset: i64, max_bytes: usize, min_one: bool) -> Result<ReadResult, LogError> {
        let Some(r) = self.read_region(offset, max_bytes, min_one, i64::MAX)? else { return Ok(ReadResult { records: Bytes::new() }) };
        let mut buf = vec![0u8; r.len];
        r.file.read_exact_at(&mut buf, r.pos)?;
        Ok(ReadResult { records: Bytes::from(buf) })
    }

    /// Reads and decodes the single batch at `pos` of the segment with base `seg_base`.
    fn decode_batch_at(&self, seg_base: i64, pos: u64, size: usize) -> Result<Vec<kafka_protocol::records::Record>, LogError> {
        let seg = &self.segments[&seg_base];
        let mut bytes = Bytes::from(seg.read(pos, size)?);
        let set = RecordBatchDecoder::decode(&mut bytes).map_err(|e| LogError::InvalidRecord(e.to_string()))?;
        Ok(set.records)
    }

    /// ListOffsets by timestamp: the earliest offset whose timestamp is >= `ts`, with that
    /// record's timestamp; None when no record qualifies.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        for (base, seg) in &self.segments {
            if seg.max_timestamp < ts || seg.next_offset <= self.log_start_offset {
                continue;
            }
            let mut cursor = None;
            seg.scan_headers(0, |pos, h| {
                if h.max_timestamp >= ts && h.last_offset() >= self.log_start_offset {
                    cursor = Some((pos, *h));
                    return false;
                }
                true
            })?;
            let Some((pos, h)) = cursor else { continue };
            if h.is_log_append_time() {
                return Ok(Some((h.base_offset.max(self.log_start_offset), h.max_timestamp)));
            }
            for r in self.decode_batch_at(*base, pos, h.size)? {
                if r.timestamp >= ts && r.offset >= self.log_start_offset {
                    return Ok(Some((r.offset, r.timestamp)));
                }
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP: the offset and timestamp of the record with the largest
    /// timestamp (the first such record), None for an empty log.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, LogError> {
        let best = self.segments.iter().filter(|(_, s)| !s.is_empty() && s.next_offset > self.log_start_offset).fold(
            None::<(i64, i64)>,
            |acc, (b, s)| match acc {
                Some((_, ts)) if ts >= s.max_timestamp => acc,
                _ => Some((*b, s.max_timestamp)),
            },
        );
        let Some((base, ts)) = best else { return Ok(None) };
        let seg = &self.segments[&base];
        let Some(batch_offset) = seg.max_timestamp_batch()? else { return Ok(None) };
        let Some((pos, h)) = seg.find_batch(batch_offset)? else {
            return Ok(None);
        };
        if h.is_log_append_time() {
            return Ok(Some((h.base_offset, ts)));
        }
        let recs = self.decode_batch_at(base, pos, h.size)?;
        Ok(recs.iter().find(|r| r.timestamp == ts).map(|r| (r.offset, ts)).or(Some((h.last_offset(), ts))))
    }

    /// DeleteRecords: moves the log start offset forward to `offset` (at most the end) and
    /// deletes segments that fall entirely below it.
    pub fn delete_records_before(&mut self, offset: i64, high_watermark: i64) -> Result<i64, LogError> {
        if offset < 0 || offset > high_watermark {
            return Err(LogError::OffsetOutOfRange { offset, start: self.log_start_offset, end: high_watermark });
        }
        if offset > self.log_start_offset {
            self.log_start_offset = offset;
            self.write_log_start_checkpoint()?;
            self.delete_segments_below_start()?;
            self.epochs.truncate_from_start(offset)?;
            self.txn_start_moved()?;
        }
        Ok(self.log_start_offset)
    }

    fn delete_segments_below_start(&mut self) -> io::Result<()> {
        let active = *self.segments.keys().next_back().expect("active segment");
        let doomed: Vec<i64> =
            self.segments.iter().filter(|(b, s)| **b != active && s.next_offset <= self.log_start_offset).map(|(b, _)| *b).collect();
        for b in doomed {
            if let Some(seg) = self.segments.remove(&b) {
                seg.delete()?;
            }
        }
        Ok(())
    }

    fn write_log_start_checkpoint(&self) -> io::Result<()> {
        let tmp = self.dir.join(format!("{LOG_START_FILE}.tmp"));
        std::fs::write(&tmp, format!("{}\n", self.log_start_offset))?;
        std::fs::rename(tmp, self.dir.join(LOG_START_FILE))
    }

    /// Applies retention.ms / retention.bytes by deleting whole old segments; returns how
    /// many were deleted. An expired active segment is rolled first so it can go too.
    pub fn enforce_retention(&mut self, now: i64) -> Result<usize, LogError> {
        if !self.config.delete {
            return Ok(0);
        }
        let (retention_ms, retention_bytes) = (self.config.retention_ms, self.config.retention_bytes);
        let mut excess = if retention_bytes >= 0 { self.size_bytes() as i64 - retention_bytes } else { -1 };
        let mut doomed = Vec::new();
        for (base, seg) in &self.segments {
            if seg.is_empty() {
                break;
            }
            let ts = if seg.max_timestamp >= 0 { seg.max_timestamp } else { seg.modified_ms() };
            let expired = retention_ms >= 0 && now - ts > retention_ms;
            let oversize = retention_bytes >= 0 && excess - seg.size() as i64 >= 0;
            if !(expired || oversize) {
                break;
            }
            excess -= seg.size() as i64;
            doomed.push(*base);
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        if doomed.len() == self.segments.len() {
            self.roll()?;
        }
        for b in &doomed {
            if let Some(seg) = self.segments.remove(b) {
                seg.delete()?;
            }
        }
        let first = *self.segments.keys().next().expect("active segment");
        if first > self.log_start_offset {
            self.log_start_offset = first;
            self.write_log_start_checkpoint()?;
            self.epochs.truncate_from_start(first)?;
            self.txn_start_moved()?;
        }
        Ok(doomed.len())
    }

    /// fsyncs the active segment (older ones were flushed when they rolled).
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.snapshot_producers(true)?;
        crate::broker::faults::jitter("log.flush.jitter.ms");
        self.active().flush()?;
        LOG_FLUSHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.dirty = false;
        self.unflushed = 0;
        self.last_flush_ms = self.clock.now_ms();
        Ok(())
    }

    /// Removes everything at and after `offset` (a follower whose log diverged from the
    /// leader's). A batch holding `offset` goes as a whole, as in Kafka, so the new end may
    /// be below `offset`. Returns the new log end offset.
    pub fn truncate_to(&mut self, offset: i64) -> Result<i64, LogError> {
        if offset >= self.next_offset {
            // No data to cut, but the epoch cache may end with an entry this broker assigned
            // as leader without appending anything in that epoch before another leader was
            // elected: it would make every fetch look diverged again (as Kafka does, drop it).
            self.epochs.truncate_from_end(self.next_offset)?;
            return Ok(self.next_offset);
        }
        if offset <= self.log_start_offset {
            self.truncate_fully_and_start_at(offset.max(0))?;
            return Ok(self.next_offset);
        }
        let doomed: Vec<i64> = self.segments.keys().copied().filter(|b| *b >= offset).collect();
        for b in doomed {
            if self.segments.len() == 1 {
                break;
            }
            if let Some(seg) = self.segments.remove(&b) {
                seg.delete()?;
            }
        }
        let active = self.active();
        active.truncate_to(offset)?;
        self.next_offset = self.active().next_offset.max(self.active().base_offset);
        self.epochs.truncate_from_end(self.next_offset)?;
        self.txn_truncated(self.next_offset)?;
        Ok(self.next_offset)
    }

    /// Drops every segment and starts an empty log at `offset` (a follower far behind a
    /// leader whose log starts later).
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<(), LogError> {
        for (_, seg) in std::mem::take(&mut self.segments) {
            seg.delete()?;
        }
        self.segments.insert(offset, LogSegment::create(&self.dir, offset)?);
        self.next_offset = offset;
        self.log_start_offset = offset;
        self.write_log_start_checkpoint()?;
        self.epochs.clear()?;
        self.aborted.clear();
        self.producers.clear(offset);
        self.producers.delete_snapshots_outside(offset, offset);
        Ok(())
    }

    /// Flushes when `flush.ms` has elapsed with unflushed data.
    pub fn flush_if_due(&mut self, now: i64) -> io::Result<()> {
        if self.unflushed > 0 && now - self.last_flush_ms >= self.config.flush_ms {
            self.flush()?;
        }
        Ok(())
    }

    /// Removes the partition directory entirely (topic deletion).
    pub fn delete_all(self) -> io::Result<()> {
        let dir = self.dir.clone();
        drop(self);
        std::fs::remove_dir_all(dir)
    }
}
