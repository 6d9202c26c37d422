//! The log cleaner (cleanup.policy=compact): keeps the latest record per key in the
//! segments below the active one, drops tombstones older than delete.retention.ms,
//! honours min.cleanable.dirty.ratio and min.compaction.lag.ms, and never changes the
//! offsets of what it keeps (so cleaned logs have gaps).

use super::batch::{self, BatchHeader};
use super::partition::PartitionLog;
use super::segment::{LogSegment, file_name};
use super::{LogError, now_ms};
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions};
use std::collections::HashMap;
use std::io::Write;

const CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";

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

    /// Runs one cleaning pass when the dirty ratio calls for it (or `force`).
    pub fn clean(&mut self, force: bool) -> Result<Option<CleanStats>, LogError> {
        if !self.config().compact {
            return Ok(None);
        }
        let now = now_ms();
        let bases = self.cleanable_bases(now);
        let Some(last) = bases.last() else { return Ok(None) };
        let clean_end = self.segments[last].next_offset;
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
            return Ok(None);
        }
        // Pass 1: the latest offset of every key in the cleanable range.
        let mut latest: HashMap<Bytes, i64> = HashMap::new();
        for b in &bases {
            let data = self.segments[b].read(0, self.segments[b].size() as usize)?;
            for (pos, h) in batch::walk(&data) {
                if h.is_control() {
                    continue;
                }
                for r in decode_batch(&data[pos..pos + h.size])? {
                    if let Some(k) = r.key {
                        latest.insert(k, r.offset);
                    }
                }
            }
        }
        // Pass 2: rewrite each segment with only the survivors.
        let tombstone_horizon = now.saturating_sub(self.config().delete_retention_ms);
        let mut stats = CleanStats::default();
        for b in bases {
            let seg = &self.segments[&b];
            let data = seg.read(0, seg.size() as usize)?;
            let mut out = BytesMut::with_capacity(data.len());
            for (pos, h) in batch::walk(&data) {
                let raw = &data[pos..pos + h.size];
                if h.is_control() {
                    out.extend_from_slice(raw);
                    continue;
                }
                let records = decode_batch(raw)?;
                let n = records.len();
                let keep: Vec<Record> = records
                    .into_iter()
                    .filter(|r| match &r.key {
                        None => true,
                        Some(k) => latest.get(k) == Some(&r.offset) && (r.value.is_some() || h.max_timestamp >= tombstone_horizon),
                    })
                    .collect();
                stats.records_removed += n - keep.len();
                if keep.len() == n {
                    out.extend_from_slice(raw);
                } else if !keep.is_empty() {
                    reencode(&mut out, &h, keep)?;
                }
            }
            stats.segments += 1;
            stats.bytes_before += data.len() as u64;
            stats.bytes_after += out.len() as u64;
            if out.len() != data.len() {
                self.replace_segment(b, &out)?;
            }
        }
        self.write_cleaner_checkpoint(clean_end)?;
        Ok(Some(stats))
    }

    /// Swaps a segment's content for its cleaned version: the new file is written and
    /// synced beside it, the old indexes go, the rename is atomic, indexes are rebuilt.
    fn replace_segment(&mut self, base: i64, content: &[u8]) -> Result<(), LogError> {
        let dir = self.dir().to_path_buf();
        let cleaned = dir.join(format!("{}.cleaned", file_name(base, "log")));
        let mut f = std::fs::File::create(&cleaned)?;
        f.write_all(content)?;
        f.sync_all()?;
        drop(f);
        self.segments.remove(&base);
        for ext in ["index", "timeindex"] {
            let _ = std::fs::remove_file(dir.join(file_name(base, ext)));
        }
        std::fs::rename(&cleaned, dir.join(file_name(base, "log")))?;
        let (seg, _) = LogSegment::open(&dir, base, true)?;
        if seg.is_empty() && base != self.log_start_offset {
            seg.delete()?;
        } else {
            self.segments.insert(base, seg);
        }
        Ok(())
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
        append(&mut log, &[rec(0, "k4", None)], Compression::None);
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
}
