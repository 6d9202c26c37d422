//! The log cleaner (cleanup.policy=compact): keeps the latest record per key in the
//! segments below the active one, drops tombstones older than delete.retention.ms,
//! honours min.cleanable.dirty.ratio and min.compaction.lag.ms, and never changes the
//! offsets of what it keeps (so cleaned logs have gaps).
//!
//! Transactions as Kafka's cleaner treats them: nothing at or above the last stable
//! offset is cleaned (an open transaction may still abort); records of aborted
//! transactions are removed and never count as a key's latest value; commit/abort
//! markers are kept; and the last batch of each producer is kept whole, so idempotent
//! producers' sequence state survives compaction.
//!
//! It works in bounded memory and takes the partition lock only to plan and to swap, as
//! Kafka's does: `plan` (locked) picks the sealed segments; `execute` (unlocked) builds an
//! offset map of at most `log.cleaner.dedupe.buffer.size` bytes (a 128-bit key hash →
//! latest offset; when it is full, only the range it covers is cleaned this round) and
//! writes each segment's survivors to a `.cleaned` file, reading one batch at a time;
//! `install` (locked) swaps the files in if the segments are unchanged.

use super::batch::{self, BatchHeader, HEADER_LEN};
use super::partition::PartitionLog;
use super::segment::{LogSegment, file_name};
use super::{LogError, now_ms};
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufReader, Read, Write};
use std::path::PathBuf;

const CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
/// Bytes an offset-map entry costs (hash, offset, and the hash table's own overhead).
const MAP_ENTRY_BYTES: usize = 40;

/// The cleaner's memory bounds (log.cleaner.dedupe.buffer.size, log.cleaner.io.buffer.size).
#[derive(Debug, Clone, Copy)]
pub struct CleanerConfig {
    pub dedupe_buffer_bytes: usize,
    pub io_buffer_bytes: usize,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig { dedupe_buffer_bytes: 128 << 20, io_buffer_bytes: 512 << 10 }
    }
}

/// What one cleaning pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanStats {
    pub segments: usize,
    pub records_removed: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

fn decode_batch(raw: &[u8]) -> Result<Vec<Record>, LogError> {
    let mut b = Bytes::copy_from_slice(raw);
    RecordBatchDecoder::decode(&mut b).map(|s| s.records).map_err(|e| LogError::InvalidRecord(e.to_string()))
}

fn codec(id: i16) -> Compression {
    match id {
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        _ => Compression::None,
    }
}

/// A 128-bit hash of a key (two independently keyed SipHashes): collisions, which would
/// drop a record, are as unlikely as with Kafka's MD5.
fn key_hash(k: &[u8]) -> u128 {
    static KEYS: std::sync::OnceLock<(std::hash::RandomState, std::hash::RandomState)> = std::sync::OnceLock::new();
    let (a, b) = KEYS.get_or_init(|| (std::hash::RandomState::new(), std::hash::RandomState::new()));
    let h = |s: &std::hash::RandomState| {
        let mut x = s.build_hasher();
        x.write(k);
        x.finish()
    };
    ((h(a) as u128) << 64) | h(b) as u128
}

/// Sealed segments chosen for a pass, read and rewritten without the partition lock.
pub struct CleanPlan {
    dir: PathBuf,
    /// (base offset, size when planned).
    segments: Vec<(i64, u64)>,
    first_dirty: i64,
    /// The offset after the last planned segment.
    clean_end: i64,
    tombstone_horizon: i64,
    /// Aborted transactions in the planned range: producer id → [(first, marker offset)].
    aborted: HashMap<i64, Vec<(i64, i64)>>,
    /// Each known producer's last batch (its last offset): kept whole.
    producer_last: HashMap<i64, i64>,
}

impl CleanPlan {
    /// Whether a record of a transactional batch belongs to an aborted transaction.
    fn is_aborted(&self, h: &BatchHeader, offset: i64) -> bool {
        h.is_transactional()
            && self.aborted.get(&h.producer_id).is_some_and(|ts| ts.iter().any(|(first, marker)| *first <= offset && offset < *marker))
    }
}

/// The cleaned files of a pass, waiting to be swapped in.
pub struct CleanResult {
    /// (base, size when planned, the `.cleaned` file or None when nothing changed).
    segments: Vec<(i64, u64, Option<PathBuf>)>,
    checkpoint: i64,
    pub stats: CleanStats,
}

/// Reads a segment file one batch at a time through a bounded buffer.
struct BatchReader {
    inner: BufReader<std::fs::File>,
    left: u64,
}

impl BatchReader {
    fn open(path: &std::path::Path, size: u64, io_buffer: usize) -> std::io::Result<BatchReader> {
        Ok(BatchReader { inner: BufReader::with_capacity(io_buffer.max(HEADER_LEN), std::fs::File::open(path)?), left: size })
    }

    fn next(&mut self) -> Result<Option<(BatchHeader, Vec<u8>)>, LogError> {
        if self.left < HEADER_LEN as u64 {
            return Ok(None);
        }
        let mut raw = vec![0u8; HEADER_LEN];
        self.inner.read_exact(&mut raw)?;
        let h = BatchHeader::parse(&raw)?;
        if h.size as u64 > self.left {
            return Err(batch::BatchError::Truncated.into());
        }
        raw.resize(h.size, 0);
        self.inner.read_exact(&mut raw[HEADER_LEN..])?;
        self.left -= h.size as u64;
        Ok(Some((h, raw)))
    }
}

impl PartitionLog {
    fn cleaner_checkpoint(&self) -> i64 {
        std::fs::read_to_string(self.dir().join(CHECKPOINT_FILE)).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
    }

    fn write_cleaner_checkpoint(&self, offset: i64) -> std::io::Result<()> {
        let tmp = self.dir().join(format!("{CHECKPOINT_FILE}.tmp"));
        std::fs::write(&tmp, format!("{offset}\n"))?;
        std::fs::rename(tmp, self.dir().join(CHECKPOINT_FILE))
    }

    /// Segments eligible for cleaning: all but the active one, stopping at the first
    /// segment holding records younger than min.compaction.lag.ms or reaching `stable`
    /// (the last stable offset: an open transaction's records may still be aborted).
    fn cleanable_bases(&self, now: i64, stable: i64) -> Vec<i64> {
        let active = *self.segments.keys().next_back().expect("active segment");
        let lag = self.config().min_compaction_lag_ms;
        self.segments
            .iter()
            .filter(|(b, _)| **b != active)
            .take_while(|(_, s)| lag <= 0 || s.max_timestamp < 0 || now - s.max_timestamp >= lag)
            .take_while(|(_, s)| s.next_offset <= stable)
            .map(|(b, _)| *b)
            .collect()
    }

    /// Decides whether a pass is due (the dirty ratio, or `force`) and what it covers.
    pub fn plan_clean(&self, force: bool) -> Option<CleanPlan> {
        self.plan_clean_below(force, i64::MAX)
    }

    /// `plan_clean` that never reaches `limit` (the high watermark: only replicated data
    /// is cleaned, as Kafka bounds the cleaner by the last stable offset).
    pub fn plan_clean_below(&self, force: bool, limit: i64) -> Option<CleanPlan> {
        if !self.config().compact {
            return None;
        }
        let now = now_ms();
        let stable = self.first_unstable_offset().unwrap_or(i64::MAX).min(limit);
        let bases = self.cleanable_bases(now, stable);
        bases.last()?;
        let checkpoint = self.cleaner_checkpoint();
        let (mut dirty, mut total) = (0u64, 0u64);
        for b in &bases {
            let s = &self.segments[b];
            total += s.size();
            if s.next_offset > checkpoint {
                dirty += s.size();
            }
        }
        if dirty == 0 || total == 0 || (!force && (dirty as f64 / total as f64) < self.config().min_cleanable_dirty_ratio) {
            return None;
        }
        let clean_end = bases.last().map_or(checkpoint, |b| self.segments[b].next_offset);
        let mut aborted: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        for t in self.aborted_in(self.log_start_offset, clean_end) {
            aborted.entry(t.producer_id).or_default().push((t.first_offset, t.last_offset));
        }
        let producer_last =
            self.producer_state().producers().filter_map(|p| p.batches.back().map(|b| (p.producer_id, b.last_offset))).collect();
        Some(CleanPlan {
            dir: self.dir().to_path_buf(),
            segments: bases.iter().map(|b| (*b, self.segments[b].size())).collect(),
            first_dirty: checkpoint,
            clean_end,
            tombstone_horizon: now.saturating_sub(self.config().delete_retention_ms),
            aborted,
            producer_last,
        })
    }

    /// Swaps a pass's cleaned files in, unless a segment changed meanwhile (truncation,
    /// retention): then the pass is dropped and runs again later.
    pub fn install_clean(&mut self, result: CleanResult) -> Result<Option<CleanStats>, LogError> {
        let unchanged = result.segments.iter().all(|(b, size, _)| self.segments.get(b).is_some_and(|s| s.size() == *size));
        if !unchanged {
            for (_, _, f) in &result.segments {
                if let Some(f) = f {
                    let _ = std::fs::remove_file(f);
                }
            }
            return Ok(None);
        }
        let dir = self.dir().to_path_buf();
        for (base, _, cleaned) in result.segments {
            let Some(cleaned) = cleaned else { continue };
            if let Some(old) = self.segments.remove(&base) {
                drop(old);
            }
            for ext in ["index", "timeindex"] {
                let _ = std::fs::remove_file(dir.join(file_name(base, ext)));
            }
            std::fs::rename(&cleaned, dir.join(file_name(base, "log")))?;
            let (seg, _) = LogSegment::open(&dir, base, false, false)?;
            if seg.is_empty() && base != self.log_start_offset {
                seg.delete()?;
            } else {
                self.segments.insert(base, seg);
            }
        }
        self.write_cleaner_checkpoint(result.checkpoint)?;
        Ok(Some(result.stats))
    }

    /// One whole pass on this thread (tests; the broker runs the phases itself so the
    /// partition lock is held only to plan and to install).
    pub fn clean(&mut self, force: bool) -> Result<Option<CleanStats>, LogError> {
        let Some(plan) = self.plan_clean(force) else { return Ok(None) };
        let result = plan.execute(&CleanerConfig::default())?;
        self.install_clean(result)
    }
}

impl CleanPlan {
    fn path(&self, base: i64) -> PathBuf {
        self.dir.join(file_name(base, "log"))
    }

    /// Builds the offset map over the dirty range and writes the survivors of every
    /// planned segment to `.cleaned` files. Reads the (sealed, immutable) segment files
    /// directly; no partition lock is held.
    pub fn execute(&self, cfg: &CleanerConfig) -> Result<CleanResult, LogError> {
        // Pass 1: latest offset per key hash, from the first dirty offset on, until the map's
        // memory budget is spent.
        let capacity = (cfg.dedupe_buffer_bytes / MAP_ENTRY_BYTES).max(1);
        let mut latest: HashMap<u128, i64> = HashMap::new();
        let mut end = i64::MAX;
        'map: for (base, size) in &self.segments {
            let mut r = BatchReader::open(&self.path(*base), *size, cfg.io_buffer_bytes)?;
            while let Some((h, raw)) = r.next()? {
                if h.is_control() || h.last_offset() < self.first_dirty {
                    continue;
                }
                for rec in decode_batch(&raw)? {
                    let Some(k) = rec.key.as_deref() else { continue };
                    // An aborted record is never a key's latest value.
                    if rec.offset < self.first_dirty || self.is_aborted(&h, rec.offset) {
                        continue;
                    }
                    let hk = key_hash(k);
                    if latest.len() >= capacity && !latest.contains_key(&hk) {
                        // Full: this round cleans what the map covers.
                        end = rec.offset;
                        break 'map;
                    }
                    latest.insert(hk, rec.offset);
                }
            }
        }
        let checkpoint = if end == i64::MAX { self.clean_end } else { end };
        // Pass 2: rewrite each segment that starts below the covered end.
        let mut stats = CleanStats::default();
        let mut segments = Vec::new();
        for (base, size) in self.segments.iter().filter(|(b, _)| *b < end) {
            let mut r = BatchReader::open(&self.path(*base), *size, cfg.io_buffer_bytes)?;
            let cleaned_path = self.dir.join(format!("{}.cleaned", file_name(*base, "log")));
            let mut out = std::io::BufWriter::with_capacity(cfg.io_buffer_bytes.max(4096), std::fs::File::create(&cleaned_path)?);
            let mut written = 0u64;
            let mut removed = 0usize;
            while let Some((h, raw)) = r.next()? {
                if h.is_control() {
                    out.write_all(&raw)?;
                    written += raw.len() as u64;
                    continue;
                }
                let records = decode_batch(&raw)?;
                let n = records.len();
                // A producer's last batch stays whole: its sequence numbers are what a
                // restarted broker rebuilds the producer's state from.
                let last_of_producer = h.producer_id >= 0 && self.producer_last.get(&h.producer_id) == Some(&h.last_offset());
                // Aborted data goes even from a producer's last batch, which then stays
                // as an empty batch (Kafka's RETAIN_EMPTY) so the sequence state holds.
                if h.last_offset() < end && self.is_aborted(&h, h.base_offset) {
                    removed += n;
                    if last_of_producer {
                        let empty = empty_batch(&h);
                        out.write_all(&empty)?;
                        written += empty.len() as u64;
                    }
                    continue;
                }
                let keep: Vec<Record> = records
                    .into_iter()
                    .filter(|rec| {
                        if last_of_producer || rec.offset >= end {
                            return true;
                        }
                        match &rec.key {
                            None => true,
                            Some(k) => {
                                latest.get(&key_hash(k)).is_none_or(|l| rec.offset >= *l)
                                    && (rec.value.is_some() || h.max_timestamp >= self.tombstone_horizon)
                            }
                        }
                    })
                    .collect();
                removed += n - keep.len();
                if keep.len() == n {
                    out.write_all(&raw)?;
                    written += raw.len() as u64;
                } else if !keep.is_empty() {
                    let mut buf = BytesMut::new();
                    reencode(&mut buf, &h, keep)?;
                    out.write_all(&buf)?;
                    written += buf.len() as u64;
                }
            }
            out.flush()?;
            stats.segments += 1;
            stats.bytes_before += size;
            stats.bytes_after += written;
            stats.records_removed += removed;
            if removed == 0 {
                drop(out);
                let _ = std::fs::remove_file(&cleaned_path);
                segments.push((*base, *size, None));
            } else {
                out.get_ref().sync_all()?;
                segments.push((*base, *size, Some(cleaned_path)));
            }
        }
        Ok(CleanResult { segments, checkpoint, stats })
    }
}

/// A batch with the header of `h` and no records: its offsets, producer id, epoch and
/// sequences stay in the log for the producer state (Kafka's writeEmptyHeader).
fn empty_batch(h: &BatchHeader) -> BytesMut {
    let mut b = BytesMut::zeroed(HEADER_LEN);
    b[0..8].copy_from_slice(&h.base_offset.to_be_bytes());
    b[8..12].copy_from_slice(&((HEADER_LEN - 12) as i32).to_be_bytes());
    b[12..16].copy_from_slice(&h.leader_epoch.to_be_bytes());
    b[16] = 2;
    // Timestamp type, transactional and control bits; no compression for no records.
    let attributes = h.attributes & 0x38;
    b[21..23].copy_from_slice(&attributes.to_be_bytes());
    b[23..27].copy_from_slice(&h.last_offset_delta.to_be_bytes());
    b[27..35].copy_from_slice(&h.base_timestamp.to_be_bytes());
    b[35..43].copy_from_slice(&h.max_timestamp.to_be_bytes());
    b[43..51].copy_from_slice(&h.producer_id.to_be_bytes());
    b[51..53].copy_from_slice(&h.producer_epoch.to_be_bytes());
    b[53..57].copy_from_slice(&h.base_sequence.to_be_bytes());
    b[57..61].copy_from_slice(&0i32.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Re-encodes the surviving records of one batch with the same codec and producer fields;
/// offsets (and so gaps) are preserved.
fn reencode(out: &mut BytesMut, h: &BatchHeader, mut keep: Vec<Record>) -> Result<(), LogError> {
    let first = keep[0].offset;
    if h.base_sequence < 0 {
        // offset - sequence must be constant for the encoder to produce a single batch.
        for r in keep.iter_mut() {
            r.sequence = (r.offset - first) as i32 - 1;
        }
    }
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &keep, &RecordEncodeOptions { version: 2, compression: codec(h.compression()) })
        .map_err(|e| LogError::InvalidRecord(e.to_string()))?;
    // The encoder writes the first record's offset as base offset; keep the epoch too.
    batch::patch_offset_and_epoch(&mut buf, first, h.leader_epoch);
    out.extend_from_slice(&buf);
    Ok(())
}

#[cfg(test)]
#[path = "cleaner_tests.rs"]
mod tests;
