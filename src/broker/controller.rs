//! The controller: the only writer of metadata records. On a single node it appends them
//! to the local `__cluster_metadata-0` log (fsynced before the change is visible) and swaps
//! in a new image; a Raft quorum can later replicate the very same records.

use crate::broker::log::{LogError, PartitionLog};
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use crate::broker::topic_config::LogConfig;
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::RecordBatchDecoder;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

pub const METADATA_DIR: &str = "__cluster_metadata-0";

pub struct Controller {
    log: Mutex<PartitionLog>,
    image: RwLock<Arc<MetadataImage>>,
}

fn metadata_log_config() -> LogConfig {
    let mut c = LogConfig::defaults();
    c.delete = false;
    c.retention_ms = -1;
    c.retention_bytes = -1;
    c.max_message_bytes = usize::MAX;
    c.timestamp_after_max_ms = i64::MAX;
    c
}

impl Controller {
    /// Opens the metadata log and replays it into an image.
    pub fn open(data_dir: &Path, clean_shutdown: bool) -> Result<Controller, LogError> {
        let (log, _) = PartitionLog::open(&data_dir.join(METADATA_DIR), metadata_log_config(), clean_shutdown)?;
        let mut image = MetadataImage::default();
        let mut offset = log.log_start_offset();
        while offset < log.log_end_offset() {
            let read = log.read(offset, 1 << 20, true)?;
            if read.records.is_empty() {
                break;
            }
            let mut buf = read.records;
            let sets = RecordBatchDecoder::decode_all(&mut buf).map_err(|e| LogError::InvalidRecord(e.to_string()))?;
            for set in sets {
                for r in set.records {
                    offset = r.offset + 1;
                    let Some(v) = r.value else { continue };
                    match serde_json::from_slice::<MetadataRecord>(&v) {
                        Ok(rec) => image.apply(&rec),
                        Err(e) => tracing::warn!(offset = r.offset, "skipping unreadable metadata record: {e}"),
                    }
                }
            }
        }
        image.offset = offset;
        Ok(Controller { log: Mutex::new(log), image: RwLock::new(Arc::new(image)) })
    }

    /// The current metadata image (cheap: an Arc clone).
    pub fn image(&self) -> Arc<MetadataImage> {
        self.image.read().expect("image lock").clone()
    }

    /// Atomically decides and writes a change: `decide` sees the current image and returns
    /// the records to append (or an error, leaving metadata untouched). Writes are
    /// serialised, so check-then-write is race free.
    pub fn update<E: From<LogError>>(
        &self,
        decide: impl FnOnce(&MetadataImage) -> Result<Vec<MetadataRecord>, E>,
    ) -> Result<Arc<MetadataImage>, E> {
        let mut log = self.log.lock().expect("metadata log lock");
        let current = self.image();
        let records = decide(&current)?;
        if records.is_empty() {
            return Ok(current);
        }
        let mut batch = encode_batch(&records);
        let info = log.append(&mut batch, 0)?;
        log.flush().map_err(LogError::Io)?;
        let mut next = (*current).clone();
        for r in &records {
            next.apply(r);
        }
        next.offset = info.last_offset + 1;
        let next = Arc::new(next);
        *self.image.write().expect("image lock") = next.clone();
        Ok(next)
    }

    pub fn flush(&self) -> Result<(), LogError> {
        Ok(self.log.lock().expect("metadata log lock").flush()?)
    }
}

fn encode_batch(records: &[MetadataRecord]) -> BytesMut {
    let values = records.iter().map(|r| (None, Some(Bytes::from(serde_json::to_vec(r).expect("metadata records serialise")))));
    crate::broker::log::batch::encode_records(values, crate::broker::log::now_ms())
}
