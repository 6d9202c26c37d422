//! The log cleaner (cleanup.policy=compact): keeps the latest record per key in the
//! segments below the active one, drops tombstones older than delete.retention.ms,
//! honours min.cleanable.dirty.ratio and min.compaction.lag.ms, and never changes the
//! offsets of what it keeps (so cleaned logs have gaps).
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
    /// segment holding records younger than min.compaction.lag.ms.
    fn cleanable_bases(&self, now: i64) -> Vec<i64> {
        let active = *self.segments.keys().next_back().expect("active segment");
        let lag = self.config().min_compaction_lag_ms;
        self.segments
            .iter()
            .filter(|(b, _)| **b != active)
            .take_while(|(_, s)| lag <= 0 || s.max_timestamp < 0 || now - s.max_timestamp >= lag)
            .map(|(b, _)| *b)
            .collect()
    }

    /// Decides whether a pass is due (the dirty ratio, or `force`) and what it covers.
    pub fn plan_clean(&self, force: bool) -> Option<CleanPlan> {
        if !self.config().compact {
            return None;
        }
        let now = now_ms();
        let bases = self.cleanable_bases(now);
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
        Some(CleanPlan {
            dir: self.dir().to_path_buf(),
            segments: bases.iter().map(|b| (*b, self.segments[b].size())).collect(),
            first_dirty: checkpoint,
            clean_end: bases.last().map_or(checkpoint, |b| self.segments[b].next_offset),
            tombstone_horizon: now.saturating_sub(self.config().delete_retention_ms),
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
                    if rec.offset < self.first_dirty {
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
                let keep: Vec<Record> = records
                    .into_iter()
                    .filter(|rec| match &rec.key {
                        None => true,
                        Some(k) => {
                            rec.offset >= end
                                || (latest.get(&key_hash(k)).is_none_or(|l| rec.offset >= *l)
                                    && (rec.value.is_some() || h.max_timestamp >= self.tombstone_horizon))
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
mod tests {
    use super::*;
    use crate::broker::topic_config::LogConfig;

    fn rec(i: i64, key: &str, value: Option<&str>) -> Record {
        batch::plain_record(i, now_ms(), Some(Bytes::from(key.to_string())), value.map(|v| Bytes::from(v.to_string())))
    }

    fn append(log: &mut PartitionLog, recs: &[Record], c: Compression) {
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, recs, &RecordEncodeOptions { version: 2, compression: c }).unwrap();
        log.append(&mut buf, 0, crate::broker::log::AppendOrigin::Coordinator).unwrap();
    }

    fn all_records(log: &PartitionLog) -> Vec<Record> {
        let mut out = Vec::new();
        let mut off = log.log_start_offset();
        while off < log.log_end_offset() {
            let r = log.read(off, 1 << 20, true).unwrap();
            if r.records.is_empty() {
                break;
            }
            let mut b = r.records;
            let recs: Vec<Record> = RecordBatchDecoder::decode_all(&mut b).unwrap().into_iter().flat_map(|s| s.records).collect();
            off = recs.last().unwrap().offset + 1;
            let last = out.last().map(|l: &Record| l.offset).unwrap_or(-1);
            out.extend(recs.into_iter().filter(|r| r.offset > last));
        }
        out
    }

    fn compacted_log(delete_retention_ms: i64) -> (tempfile::TempDir, PartitionLog, CleanStats) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = LogConfig::defaults();
        cfg.compact = true;
        cfg.delete = false;
        cfg.segment_bytes = 600;
        cfg.delete_retention_ms = delete_retention_ms;
        let (mut log, _) = PartitionLog::open(dir.path(), cfg, true).unwrap();
        // 5 keys updated 20 times each, in batches of 2 with alternating codecs; k4 deleted.
        let mut n = 0;
        for round in 0..20 {
            let recs: Vec<Record> = (0..5).map(|k| rec(k, &format!("k{k}"), Some(&format!("v{round}-{k}")))).collect();
            for pair in recs.chunks(2) {
                let pair: Vec<Record> =
                    pair.iter().enumerate().map(|(i, r)| Record { offset: i as i64, sequence: i as i32 - 1, ..r.clone() }).collect();
                append(&mut log, &pair, if n % 2 == 0 { Compression::None } else { Compression::Lz4 });
                n += 1;
            }
        }
        // The tombstone is 10 s old, so delete.retention.ms = 0 has certainly passed.
        let mut tombstone = rec(0, "k4", None);
        tombstone.timestamp -= 10_000;
        append(&mut log, &[tombstone], Compression::None);
        // Push the tombstone out of the active segment.
        for i in 0..10 {
            append(&mut log, &[rec(0, "other", Some(&format!("{i}")))], Compression::None);
        }
        let before = log.size_bytes();
        let stats = log.clean(false).unwrap().expect("dirty log gets cleaned");
        assert!(stats.bytes_before > stats.bytes_after);
        assert!(log.size_bytes() < before);
        (dir, log, stats)
    }

    #[test]
    fn keeps_latest_per_key_with_offsets_and_tombstones() {
        let (_d, log, stats) = compacted_log(i64::MAX / 2);
        assert!(stats.records_removed > 80, "{stats:?}");
        let recs = all_records(&log);
        let latest = |k: &str| recs.iter().filter(|r| r.key.as_deref() == Some(k.as_bytes())).collect::<Vec<_>>();
        for k in 0..4 {
            let v = latest(&format!("k{k}"));
            assert_eq!(v.len(), 1, "one record per live key");
            assert_eq!(v[0].value.as_deref(), Some(format!("v19-{k}").as_bytes()));
            assert_eq!(v[0].offset, 95 + k, "offsets never change");
        }
        let t = latest("k4");
        assert_eq!((t.len(), t[0].value.is_none(), t[0].offset), (1, true, 100), "tombstone kept within delete.retention.ms");
        // Offsets are strictly increasing with gaps.
        assert!(recs.windows(2).all(|w| w[0].offset < w[1].offset));
        assert!(recs.first().unwrap().offset > 0);
        assert_eq!(log.log_end_offset(), 111);
    }

    #[test]
    fn expired_tombstones_are_removed_and_cleaning_is_idempotent() {
        let (_d, mut log, _) = compacted_log(0);
        let recs = all_records(&log);
        assert!(!recs.iter().any(|r| r.key.as_deref() == Some(&b"k4"[..])), "tombstone removed after delete.retention.ms");
        // Nothing new is dirty: a second pass does nothing.
        assert_eq!(log.clean(false).unwrap(), None);
        // Reopening (index rebuild) sees the same cleaned log.
        let dir = log.dir().to_path_buf();
        let cfg = log.config().clone();
        drop(log);
        let (log, _) = PartitionLog::open(&dir, cfg, true).unwrap();
        assert_eq!(all_records(&log).len(), recs.len());
    }

    #[test]
    fn a_small_offset_map_cleans_in_several_bounded_passes() {
        let (_d, mut log, _) = compacted_log(i64::MAX / 2);
        // More updates, then passes with room for only 3 keys at a time.
        for round in 20..30 {
            let recs: Vec<Record> = (0..5).map(|k| rec(k, &format!("k{k}"), Some(&format!("v{round}-{k}")))).collect();
            for r in recs {
                append(&mut log, &[Record { offset: 0, sequence: -1, ..r }], Compression::None);
            }
        }
        let tiny = CleanerConfig { dedupe_buffer_bytes: 3 * MAP_ENTRY_BYTES, io_buffer_bytes: 512 };
        let mut passes = 0;
        while let Some(plan) = log.plan_clean(true) {
            let result = plan.execute(&tiny).unwrap();
            let done = result.stats.records_removed == 0;
            log.install_clean(result).unwrap();
            passes += 1;
            assert!(passes < 100, "passes must converge");
            if done {
                break;
            }
        }
        assert!(passes > 2, "a full map would have needed one pass, the tiny one needs several ({passes})");
        let recs = all_records(&log);
        let active_base = *log.segments.keys().next_back().unwrap();
        for k in 0..4 {
            let key = format!("k{k}");
            let live: Vec<_> = recs.iter().filter(|r| r.key.as_deref() == Some(key.as_bytes()) && r.offset < active_base).collect();
            assert!(live.len() <= 1, "{key}: at most one record below the active segment, got {}", live.len());
        }
    }
}
