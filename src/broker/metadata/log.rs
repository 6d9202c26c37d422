//! The metadata log `__cluster_metadata-0` and its snapshots: appending record batches
//! (fsynced before anything is published), replaying the newest snapshot plus the log tail
//! at start-up, and writing `<end offset>-<epoch>.checkpoint` snapshots so start-up does not
//! replay the whole history. A record that cannot be read stops start-up with the file and
//! offset: under Raft, skipping a record would be silent divergence.

use super::{MetadataImage, MetadataRecord};
use crate::broker::log::batch::{self, BatchHeader};
use crate::broker::log::{LogError, PartitionLog};
use crate::broker::topic_config::LogConfig;
use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;
use std::io;
use std::path::{Path, PathBuf};

pub const METADATA_DIR: &str = "__cluster_metadata-0";
const SNAPSHOT_EXT: &str = "checkpoint";
/// Snapshots kept besides the newest (in case the newest is found damaged by hand).
const SNAPSHOTS_KEPT: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum MetadataLogError {
    #[error(
        "corrupt metadata log: {file} at offset {offset}: {reason}; refusing to start (a skipped record would diverge from the quorum)"
    )]
    Corrupt { file: String, offset: i64, reason: String },
    #[error("metadata log starts at offset {log_start} but the newest snapshot ends at {snapshot}: records in between are missing")]
    Gap { log_start: i64, snapshot: i64 },
    #[error(transparent)]
    Log(#[from] LogError),
}

impl From<io::Error> for MetadataLogError {
    fn from(e: io::Error) -> Self {
        MetadataLogError::Log(LogError::Io(e))
    }
}

pub struct MetadataLog {
    dir: PathBuf,
    log: PartitionLog,
    /// Record bytes appended since the newest snapshot.
    pub bytes_since_snapshot: u64,
}

/// `__cluster_metadata`'s log settings (one node's metadata log and the Raft log alike):
/// nothing is ever deleted by retention, and no record size or timestamp limit applies.
pub(crate) fn log_config() -> LogConfig {
    let mut c = LogConfig::defaults();
    c.delete = false;
    c.retention_ms = -1;
    c.retention_bytes = -1;
    c.max_message_bytes = usize::MAX;
    c.timestamp_after_max_ms = i64::MAX;
    c
}

fn snapshot_name(end_offset: i64, epoch: i32) -> String {
    format!("{end_offset:020}-{epoch:010}.{SNAPSHOT_EXT}")
}

/// Snapshot files in `dir`, oldest first: (end offset, path).
fn snapshots(dir: &Path) -> io::Result<Vec<(i64, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(&format!(".{SNAPSHOT_EXT}"))
            && let Some((offset, _epoch)) = stem.split_once('-')
            && let Ok(offset) = offset.parse::<i64>()
        {
            out.push((offset, e.path()));
        } else if name.ends_with(".checkpoint.part") {
            // A snapshot whose write did not finish.
            let _ = std::fs::remove_file(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Encodes records as one uncompressed batch (the broker's own write format).
pub fn encode(records: &[MetadataRecord]) -> bytes::BytesMut {
    let values = records.iter().map(|r| (None, Some(Bytes::from(r.encode()))));
    batch::encode_records(values, crate::broker::log::now_ms())
}

/// Decodes every record of the batches in `buf`, which was read at `offset` of `file`.
/// `each` gets (record offset, record).
fn decode_batches(mut buf: Bytes, file: &Path, mut each: impl FnMut(i64, MetadataRecord)) -> Result<Option<i64>, MetadataLogError> {
    let mut last = None;
    let corrupt = |offset: i64, reason: String| MetadataLogError::Corrupt { file: file.display().to_string(), offset, reason };
    while !buf.is_empty() {
        let h = BatchHeader::parse(&buf).map_err(|e| corrupt(last.map_or(-1, |l: i64| l + 1), e.to_string()))?;
        if h.size > buf.len() {
            return Err(corrupt(h.base_offset, "batch runs past the end of the file".into()));
        }
        let one = buf.split_to(h.size);
        if !batch::crc_ok(&one) {
            return Err(corrupt(h.base_offset, "batch CRC mismatch".into()));
        }
        let set = RecordBatchDecoder::decode(&mut one.clone()).map_err(|e| corrupt(h.base_offset, e.to_string()))?;
        for r in set.records {
            let Some(v) = r.value else { return Err(corrupt(r.offset, "record without a value".into())) };
            let rec = MetadataRecord::decode(&v).map_err(|e| corrupt(r.offset, e.to_string()))?;
            each(r.offset, rec);
        }
        last = Some(h.last_offset());
    }
    Ok(last)
}

impl MetadataLog {
    /// Opens the log and rebuilds the image: the newest snapshot, then every record after it.
    pub fn open(data_dir: &Path, clean_shutdown: bool) -> Result<(MetadataLog, MetadataImage), MetadataLogError> {
        let dir = data_dir.join(METADATA_DIR);
        let (log, _) = PartitionLog::open(&dir, log_config(), clean_shutdown)?;
        let mut image = MetadataImage::default();
        let mut offset = log.log_start_offset();
        if let Some((end, path)) = snapshots(&dir)?.pop() {
            let bytes = Bytes::from(std::fs::read(&path)?);
            decode_batches(bytes, &path, |_, r| image.apply(&r))?;
            if end < log.log_start_offset() {
                return Err(MetadataLogError::Gap { log_start: log.log_start_offset(), snapshot: end });
            }
            offset = end;
        }
        let mut bytes_since_snapshot = 0;
        while offset < log.log_end_offset() {
            let read = log.read(offset, 1 << 20, true)?;
            if read.records.is_empty() {
                break;
            }
            bytes_since_snapshot += read.records.len() as u64;
            let file = log.segment_path(offset);
            let last = decode_batches(read.records, &file, |o, r| {
                if o >= offset {
                    image.apply(&r)
                }
            })?;
            match last {
                Some(l) => offset = l + 1,
                None => break,
            }
        }
        image.offset = offset.max(log.log_end_offset().min(offset));
        Ok((MetadataLog { dir, log, bytes_since_snapshot }, image))
    }

    /// Appends records as one batch and fsyncs it; returns the offset after the batch.
    pub fn append(&mut self, records: &[MetadataRecord]) -> Result<i64, LogError> {
        let mut buf = encode(records);
        self.bytes_since_snapshot += buf.len() as u64;
        let info = self.log.append(&mut buf, 0, crate::broker::log::AppendOrigin::Coordinator)?;
        self.log.flush()?;
        Ok(info.last_offset + 1)
    }

    pub fn end_offset(&self) -> i64 {
        self.log.log_end_offset()
    }

    pub fn flush(&mut self) -> Result<(), LogError> {
        Ok(self.log.flush()?)
    }

    /// Writes a snapshot of `image` (which covers the log up to `image.offset`), then
    /// drops log segments and snapshots it makes unnecessary.
    pub fn write_snapshot(&mut self, image: &MetadataImage) -> Result<PathBuf, MetadataLogError> {
        let end = image.offset;
        let path = self.dir.join(snapshot_name(end, 0));
        let part = self.dir.join(format!("{}.part", snapshot_name(end, 0)));
        let mut data = Vec::new();
        for chunk in image.to_records().chunks(1000) {
            data.extend_from_slice(&encode(chunk));
        }
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&part)?;
            f.write_all(&data)?;
            f.sync_all()?;
        }
        std::fs::rename(&part, &path)?;
        self.bytes_since_snapshot = 0;
        let all = snapshots(&self.dir)?;
        for (_, old) in all.iter().rev().skip(SNAPSHOTS_KEPT + 1) {
            let _ = std::fs::remove_file(old);
        }
        // The log before the oldest kept snapshot is no longer needed to rebuild the image.
        if let Some((oldest, _)) = all.get(all.len().saturating_sub(SNAPSHOTS_KEPT + 1)) {
            let target = (*oldest).min(self.log.log_end_offset());
            self.log.delete_records_before(target, self.log.log_end_offset())?;
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn topic(name: &str) -> Vec<MetadataRecord> {
        let id = Uuid::new_v4();
        vec![MetadataRecord::Topic { name: name.into(), id }, MetadataRecord::new_partition(id, 0, vec![1])]
    }

    #[test]
    fn replay_and_snapshot_give_the_same_image() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, img) = MetadataLog::open(dir.path(), true).unwrap();
        assert!(img.topics.is_empty());
        let mut image = img;
        for i in 0..5 {
            let recs = topic(&format!("t{i}"));
            let end = log.append(&recs).unwrap();
            for r in &recs {
                image.apply(r);
            }
            image.offset = end;
        }
        log.write_snapshot(&image).unwrap();
        let recs = topic("after");
        image.offset = log.append(&recs).unwrap();
        drop(log);
        let (_, again) = MetadataLog::open(dir.path(), false).unwrap();
        assert_eq!(again.topics.len(), 6);
        assert_eq!(again.offset, image.offset);
        assert!(again.topic("after").is_some() && again.topic("t3").is_some());
    }

    #[test]
    fn a_corrupt_record_stops_start_up_naming_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = MetadataLog::open(dir.path(), true).unwrap();
        log.append(&topic("a")).unwrap();
        log.append(&topic("b")).unwrap();
        drop(log);
        // Flip a byte inside the second batch's records (CRC no longer matches).
        let file = dir.path().join(METADATA_DIR).join("00000000000000000000.log");
        let mut bytes = std::fs::read(&file).unwrap();
        let n = bytes.len();
        bytes[n - 5] ^= 0x55;
        std::fs::write(&file, bytes).unwrap();
        let err = MetadataLog::open(dir.path(), true).err().expect("must refuse");
        let msg = err.to_string();
        assert!(msg.contains("00000000000000000000.log") && msg.contains("offset 2"), "{msg}");
    }
}
