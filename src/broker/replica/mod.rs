//! ReplicaManager: the partitions this broker hosts, each a log plus the waiters of long
//! polls (Kafka's fetch purgatory, done with tokio Notify). It follows the metadata image:
//! `reconcile` creates, reconfigures and deletes partition logs to match it.

use crate::broker::config::BrokerConfig;
use crate::broker::controller::METADATA_DIR;
use crate::broker::log::partition::AppendInfo;
use crate::broker::log::{FileRegion, LogError, PartitionLog, ReadResult};
use crate::broker::metadata::{MetadataImage, TopicImage};
use crate::broker::topic_config::LogConfig;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::Notify;
use uuid::Uuid;

pub struct Partition {
    pub topic: String,
    pub topic_id: Uuid,
    pub index: i32,
    leader_epoch: AtomicI32,
    log: Mutex<PartitionLog>,
    waiters: Mutex<Vec<Arc<Notify>>>,
}

/// Offsets that describe a partition's state.
#[derive(Debug, Clone, Copy)]
pub struct Offsets {
    pub log_start: i64,
    pub high_watermark: i64,
    pub log_end: i64,
}

impl Partition {
    fn log(&self) -> std::sync::MutexGuard<'_, PartitionLog> {
        self.log.lock().expect("partition log lock")
    }

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch.load(Ordering::Relaxed)
    }

    /// Appends a produce payload and wakes long-polling fetchers.
    pub fn append(&self, payload: &mut bytes::BytesMut) -> Result<AppendInfo, LogError> {
        let info = self.log().append(payload, self.leader_epoch())?;
        self.wake();
        Ok(info)
    }

    fn wake(&self) {
        let waiters = std::mem::take(&mut *self.waiters.lock().expect("waiters lock"));
        for w in waiters {
            w.notify_one();
        }
    }

    /// Registers a one-shot wake-up for the next append.
    pub fn watch(&self, n: &Arc<Notify>) {
        let mut w = self.waiters.lock().expect("waiters lock");
        // Drop registrations whose fetch already finished (only this list still holds them).
        w.retain(|x| Arc::strong_count(x) > 1);
        w.push(n.clone());
    }

    /// On a single node every appended record is committed: HW == LEO.
    pub fn offsets(&self) -> Offsets {
        let log = self.log();
        Offsets { log_start: log.log_start_offset(), high_watermark: log.log_end_offset(), log_end: log.log_end_offset() }
    }

    pub fn read(&self, offset: i64, max_bytes: usize, min_one: bool) -> Result<(ReadResult, Offsets), LogError> {
        let log = self.log();
        let r = log.read(offset, max_bytes, min_one)?;
        let o = Offsets { log_start: log.log_start_offset(), high_watermark: log.log_end_offset(), log_end: log.log_end_offset() };
        Ok((r, o))
    }

    /// Like `read`, but only locates the bytes (for sendfile); the lock is held just for that.
    pub fn read_region(&self, offset: i64, max_bytes: usize, min_one: bool) -> Result<(Option<FileRegion>, Offsets), LogError> {
        let log = self.log();
        let r = log.read_region(offset, max_bytes, min_one)?;
        let o = Offsets { log_start: log.log_start_offset(), high_watermark: log.log_end_offset(), log_end: log.log_end_offset() };
        Ok((r, o))
    }

    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
        self.log().offset_for_timestamp(ts)
    }
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, LogError> {
        self.log().max_timestamp()
    }
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, LogError> {
        let mut log = self.log();
        let hw = log.log_end_offset();
        let target = if offset == -1 { hw } else { offset };
        log.delete_records_before(target, hw)
    }
    pub fn size_bytes(&self) -> u64 {
        self.log().size_bytes()
    }
    pub fn min_insync_replicas(&self) -> usize {
        self.log().config().min_insync_replicas
    }

    pub fn config(&self) -> LogConfig {
        self.log().config().clone()
    }
}

pub struct ReplicaManager {
    data_dir: PathBuf,
    broker: Arc<BrokerConfig>,
    clean_shutdown: bool,
    partitions: RwLock<HashMap<(String, i32), Arc<Partition>>>,
}

pub fn log_config_for(broker: &BrokerConfig, topic: &TopicImage) -> LogConfig {
    LogConfig::resolve(|d| topic.configs.get(d.name).cloned().unwrap_or_else(|| broker.topic_default(d).0))
}

impl ReplicaManager {
    pub fn new(broker: Arc<BrokerConfig>, clean_shutdown: bool) -> ReplicaManager {
        ReplicaManager { data_dir: broker.data_dir.clone(), broker, clean_shutdown, partitions: RwLock::new(HashMap::new()) }
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        self.partitions.read().expect("partitions lock").get(&(topic.to_string(), partition)).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().expect("partitions lock").values().cloned().collect()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Makes the hosted partitions match the image: opens new ones, applies config
    /// changes, deletes the logs of removed topics (and stray directories at start-up).
    pub fn reconcile(&self, image: &MetadataImage) -> Result<(), LogError> {
        let mut map = self.partitions.write().expect("partitions lock");
        let stale: Vec<(String, i32)> = map
            .iter()
            .filter(|(_, p)| image.topic(&p.topic).is_none_or(|t| t.id != p.topic_id || !t.partitions.contains_key(&p.index)))
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            if let Some(p) = map.remove(&key) {
                p.wake();
                let dir = p.log().dir().to_path_buf();
                drop(p);
                std::fs::remove_dir_all(&dir).or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })?;
            }
        }
        for topic in image.topics.values() {
            let cfg = log_config_for(&self.broker, topic);
            for idx in topic.partitions.keys() {
                let key = (topic.name.clone(), *idx);
                if let Some(p) = map.get(&key) {
                    let mut log = p.log();
                    if *log.config() != cfg {
                        log.set_config(cfg.clone());
                    }
                    continue;
                }
                let dir = self.data_dir.join(format!("{}-{}", topic.name, idx));
                let (log, _) = PartitionLog::open(&dir, cfg.clone(), self.clean_shutdown)?;
                let epoch = topic.partitions[idx].leader_epoch;
                map.insert(
                    key,
                    Arc::new(Partition {
                        topic: topic.name.clone(),
                        topic_id: topic.id,
                        index: *idx,
                        leader_epoch: AtomicI32::new(epoch),
                        log: Mutex::new(log),
                        waiters: Mutex::new(Vec::new()),
                    }),
                );
            }
        }
        Ok(())
    }

    /// Removes partition directories that belong to no topic in the image (left behind
    /// by a crash during deletion).
    pub fn remove_strays(&self) {
        let map = self.partitions.read().expect("partitions lock");
        let Ok(entries) = std::fs::read_dir(&self.data_dir) else { return };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name == METADATA_DIR || !e.path().is_dir() {
                continue;
            }
            let Some((topic, idx)) = name.rsplit_once('-') else { continue };
            let Ok(idx) = idx.parse::<i32>() else { continue };
            if !map.contains_key(&(topic.to_string(), idx)) {
                tracing::info!(dir = %e.path().display(), "removing stray partition directory");
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// One pass of the retention task; returns the number of deleted segments.
    pub fn run_retention(&self, now: i64) -> usize {
        let mut deleted = 0;
        for p in self.all() {
            match p.log().enforce_retention(now) {
                Ok(n) => deleted += n,
                Err(e) => tracing::error!(topic = %p.topic, partition = p.index, "retention failed: {e}"),
            }
        }
        deleted
    }

    /// One pass of the log cleaner over compacted partitions; returns records removed.
    pub fn run_cleaner(&self) -> usize {
        let mut removed = 0;
        for p in self.all() {
            if !p.log().config().compact {
                continue;
            }
            match p.log().clean(false) {
                Ok(Some(s)) => {
                    tracing::debug!(topic = %p.topic, partition = p.index, "cleaned {} segments: {} -> {} bytes", s.segments, s.bytes_before, s.bytes_after);
                    removed += s.records_removed;
                }
                Ok(None) => {}
                Err(e) => tracing::error!(topic = %p.topic, partition = p.index, "log cleaner failed: {e}"),
            }
        }
        removed
    }

    pub fn flush_due(&self, now: i64) {
        for p in self.all() {
            if let Err(e) = p.log().flush_if_due(now) {
                tracing::error!(topic = %p.topic, partition = p.index, "flush failed: {e}");
            }
        }
    }

    pub fn flush_all(&self) -> Result<(), LogError> {
        for p in self.all() {
            p.log().flush()?;
        }
        Ok(())
    }
}
