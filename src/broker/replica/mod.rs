//! ReplicaManager: the partitions this broker hosts. It is a metadata listener: the
//! publisher hands it every committed change in log order and it opens, reconfigures,
//! re-leads and deletes partitions to match (it never reads the image on its own). It also
//! owns the purgatory (`purgatory.rs`) where acks=all produces and long-polling fetches
//! wait, the HW checkpoint, and the periodic log maintenance.

pub mod checkpoint;
pub mod fetcher;
pub mod isr;
pub mod log_dirs;
pub mod partition;
mod purgatory;
pub mod throttle;

pub use partition::{FetchIsolation, IsrChange, Offsets, Partition, PartitionState};
pub use purgatory::PendingAppend;

use crate::broker::config::BrokerConfig;
use crate::broker::log::LogError;
use crate::broker::metadata::log::METADATA_DIR;
use crate::broker::metadata::publisher::MetadataListener;
use crate::broker::metadata::{MetadataDelta, MetadataRecord, PartitionImage, TopicImage};
use crate::broker::topic_config::LogConfig;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use uuid::Uuid;

const PARTITION_METADATA_FILE: &str = "partition.metadata";

/// A partition opened, or why not.
type Opened = Result<Arc<Partition>, LogError>;

pub struct ReplicaManager {
    data_dir: PathBuf,
    /// Every log dir and where each partition lives.
    pub log_dirs: log_dirs::LogDirs,
    broker: Arc<BrokerConfig>,
    clean_shutdown: bool,
    partitions: RwLock<HashMap<(String, i32), Arc<Partition>>>,
    /// High watermarks read from the checkpoint at start-up, used as partitions open.
    checkpointed_hw: Mutex<HashMap<(String, i32), i64>>,
    /// Partitions whose storage could not be opened: (topic, partition) → why.
    offline: Mutex<HashMap<(String, i32), String>>,
    /// The follower side of replication.
    pub fetchers: fetcher::FetcherManager,
    /// The leader's replication throttle (reassignments).
    pub throttle: throttle::Throttle,
    /// Set when the broker stops: long polls answer at once instead of holding the
    /// shutdown (and the clients waiting for the connection to close) for their max wait.
    stopping: tokio::sync::watch::Sender<bool>,
    /// Produce (acks=all) and fetch (long poll) requests waiting in the purgatory now.
    pub waiting_produce: std::sync::atomic::AtomicU64,
    pub waiting_fetch: std::sync::atomic::AtomicU64,
}

pub fn log_config_for(broker: &BrokerConfig, topic: &TopicImage) -> LogConfig {
    LogConfig::resolve(|d| topic.configs.get(d.name).cloned().unwrap_or_else(|| broker.topic_default(d).0))
}

fn state_of(p: &PartitionImage) -> PartitionState {
    PartitionState {
        leader: p.leader,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
        replicas: p.replicas.clone(),
        isr: p.isr.clone(),
    }
}

/// Kafka's `partition.metadata`: which topic (id) a partition directory belongs to, so a
/// directory left by a deleted topic is never mistaken for a new topic of the same name.
fn read_topic_id(dir: &Path) -> Option<Uuid> {
    let text = std::fs::read_to_string(dir.join(PARTITION_METADATA_FILE)).ok()?;
    let id = text.lines().find_map(|l| l.strip_prefix("topic_id:"))?.trim();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id).ok()?;
    Uuid::from_slice(&bytes).ok()
}

fn write_topic_id(dir: &Path, id: Uuid) -> std::io::Result<()> {
    use base64::Engine;
    let text = format!("version: 0\ntopic_id: {}\n", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes()));
    // Written in place and not fsynced (creating thousands of partitions would wait on as
    // many journal commits): a lost or torn file only means the directory's topic id is
    // unknown after a crash, and a directory is adopted then, as it was written by the
    // newest incarnation.
    std::fs::write(dir.join(PARTITION_METADATA_FILE), text)
}

impl ReplicaManager {
    /// The broker is stopping: waiting fetches answer now.
    pub fn begin_stop(&self) {
        self.stopping.send_replace(true);
    }

    pub fn new(broker: Arc<BrokerConfig>, clean_shutdown: bool) -> ReplicaManager {
        let path = broker.data_dir.join(checkpoint::HW_CHECKPOINT_FILE);
        let hw = checkpoint::read_offsets(&path).unwrap_or_else(|e| {
            tracing::warn!("ignoring the high-watermark checkpoint: {e}");
            HashMap::new()
        });
        let cfg = fetcher::FetchConfig {
            max_bytes: broker.replica_fetch_response_max_bytes,
            partition_max_bytes: broker.replica_fetch_max_bytes,
            wait_ms: broker.replica_fetch_wait_max_ms,
            backoff: std::time::Duration::from_millis(broker.replica_fetch_backoff_ms),
        };
        ReplicaManager {
            throttle: throttle::Throttle::default(),
            stopping: tokio::sync::watch::channel(false).0,
            waiting_produce: Default::default(),
            waiting_fetch: Default::default(),
            fetchers: fetcher::FetcherManager::new(
                broker.node_id,
                cfg,
                broker.inter_broker_security.clone(),
                tokio::runtime::Handle::try_current().ok(),
            ),
            data_dir: broker.data_dir.clone(),
            log_dirs: log_dirs::LogDirs::new(broker.log_dirs.clone()),
            broker,
            clean_shutdown,
            partitions: RwLock::new(HashMap::new()),
            checkpointed_hw: Mutex::new(hw),
            offline: Mutex::new(HashMap::new()),
        }
    }

    pub fn node_id(&self) -> i32 {
        self.broker.node_id
    }

    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        self.partitions.read().unwrap_or_else(|e| e.into_inner()).get(&(topic.to_string(), partition)).cloned()
    }

    /// Why a partition of the metadata is not served here, if its storage failed.
    pub fn offline_reason(&self, topic: &str, partition: i32) -> Option<String> {
        self.offline.lock().unwrap_or_else(|e| e.into_inner()).get(&(topic.to_string(), partition)).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn partition_dir(&self, topic: &str, index: i32) -> PathBuf {
        self.log_dirs.place(topic, index)
    }

    /// Opens a partition of `topic` hosted here; a directory of another topic id (a deleted
    /// incarnation of the same name) is removed first.
    fn open_partition(&self, topic: &TopicImage, index: i32) -> Result<Arc<Partition>, LogError> {
        let dir = self.partition_dir(&topic.name, index);
        let known = read_topic_id(&dir);
        if known.is_some_and(|id| id != topic.id) {
            tracing::info!(dir = %dir.display(), "removing the directory of a deleted topic with the same name");
            std::fs::remove_dir_all(&dir)?;
        }
        let hw = self.checkpointed_hw.lock().unwrap_or_else(|e| e.into_inner()).remove(&(topic.name.clone(), index));
        let p = Partition::open(
            &dir,
            log_config_for(&self.broker, topic),
            self.clean_shutdown,
            (&topic.name, topic.id, index),
            self.broker.node_id,
            state_of(&topic.partitions[&index]),
            hw,
        )?;
        if known != Some(topic.id) {
            write_topic_id(&dir, topic.id)?;
        }
        Ok(Arc::new(p))
    }

    /// Opens partitions, on several threads when there are many.
    fn open_many(&self, which: &[(&Arc<TopicImage>, i32)]) -> Vec<Opened> {
        const THREADS: usize = 8;
        if which.len() < 2 * THREADS {
            return which.iter().map(|(t, i)| self.open_partition(t, *i)).collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<Mutex<Option<Opened>>> = which.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((t, idx)) = which.get(i) else { break };
                        *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(self.open_partition(t, *idx));
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|r| {
                r.into_inner().unwrap_or_else(|e| e.into_inner()).unwrap_or_else(|| Err(LogError::Io(std::io::Error::other("not opened"))))
            })
            .collect()
    }

    /// Deletes a removed partition: refused to every later request at once, its directory
    /// renamed out of the way (a new topic of the same name may be created right after) and
    /// then removed.
    fn delete_partition(&self, p: &Partition) {
        let dir = p.mark_deleted();
        self.log_dirs.forget(&dir);
        let doomed = dir.with_file_name(format!(
            "{}.{}-delete",
            dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default(),
            p.topic_id.simple()
        ));
        let target = match std::fs::rename(&dir, &doomed) {
            Ok(()) => doomed,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => dir,
        };
        if let Err(e) = std::fs::remove_dir_all(&target) {
            tracing::error!(dir = %target.display(), "could not remove a deleted partition: {e}");
        }
    }

    /// Removes directories that belong to no hosted partition (left by a crash during
    /// deletion, or renamed for deletion).
    pub fn remove_strays(&self) {
        let map = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        for dir in &self.log_dirs.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name == METADATA_DIR || !e.path().is_dir() {
                    continue;
                }
                // A partition directory is a stray when nobody hosts it, or when the hosted
                // partition lives in another log dir (a move interrupted between renames).
                let stray = log_dirs::is_stray_suffix(&name)
                    || match name.rsplit_once('-') {
                        Some((topic, idx)) => {
                            idx.parse::<i32>().is_ok_and(|i| map.get(&(topic.to_string(), i)).is_none_or(|p| p.dir() != e.path()))
                        }
                        None => false,
                    };
                if stray {
                    tracing::info!(dir = %e.path().display(), "removing stray partition directory");
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }

    /// One pass of the retention task; returns the number of deleted segments.
    pub fn run_retention(&self, now: i64) -> usize {
        let mut deleted = 0;
        for p in self.all() {
            match p.with_log(|l| l.enforce_retention(now)) {
                Ok(n) => deleted += n,
                Err(LogError::Deleted) => {}
                Err(e) => tracing::error!(topic = %p.topic, partition = p.index, "retention failed: {e}"),
            }
        }
        deleted
    }

    /// One pass of the log cleaner over compacted partitions; returns records removed.
    pub fn run_cleaner(&self) -> usize {
        let mut removed = 0;
        for p in self.all() {
            if !p.config().compact {
                continue;
            }
            // Plan and install under the partition lock; the reading and rewriting between
            // them runs without it, so producers and consumers are not held up.
            let hw = p.high_watermark();
            let cleaned = p.with_log(|l| Ok(l.plan_clean_below(false, hw))).and_then(|plan| match plan {
                None => Ok(None),
                Some(plan) => {
                    let result = plan.execute(&self.broker.cleaner_config())?;
                    p.with_log(|l| l.install_clean(result))
                }
            });
            match cleaned {
                Ok(Some(s)) => {
                    tracing::debug!(topic = %p.topic, partition = p.index, "cleaned {} segments: {} -> {} bytes", s.segments, s.bytes_before, s.bytes_after);
                    removed += s.records_removed;
                }
                Ok(None) | Err(LogError::Deleted) => {}
                Err(e) => tracing::error!(topic = %p.topic, partition = p.index, "log cleaner failed: {e}"),
            }
        }
        removed
    }

    pub fn flush_due(&self, now: i64) {
        for p in self.all() {
            match p.with_log(|l| Ok(l.flush_if_due(now)?)) {
                Ok(()) | Err(LogError::Deleted) => {}
                Err(e) => tracing::error!(topic = %p.topic, partition = p.index, "flush failed: {e}"),
            }
        }
    }

    /// fsyncs every partition written since its last flush (idle ones cost nothing), on
    /// several threads: a stop with thousands of busy partitions is bounded by the disk.
    pub fn flush_all(&self) -> Result<(), LogError> {
        const THREADS: usize = 8;
        let all = self.all();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let failed: Mutex<Option<LogError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..THREADS.min(all.len()) {
                s.spawn(|| {
                    while let Some(p) = all.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        match p.with_log(|l| Ok(l.flush()?)) {
                            Ok(()) | Err(LogError::Deleted) => {}
                            Err(e) => *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e),
                        }
                    }
                });
            }
        });
        match failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Forgets producers idle past `producer.id.expiration.ms` in every partition.
    pub fn expire_producers(&self, now: i64, expiration_ms: i64) -> usize {
        self.all().iter().map(|p| p.with_log(|l| Ok(l.expire_producers(now, expiration_ms))).unwrap_or(0)).sum()
    }

    /// Writes every hosted partition's high watermark to `replication-offset-checkpoint`.
    pub fn checkpoint_high_watermarks(&self) -> std::io::Result<()> {
        let mut all: Vec<(String, i32, i64)> = self.all().iter().map(|p| (p.topic.clone(), p.index, p.high_watermark())).collect();
        all.sort();
        checkpoint::write_offsets(&self.data_dir.join(checkpoint::HW_CHECKPOINT_FILE), &all)
    }
}

impl MetadataListener for ReplicaManager {
    fn name(&self) -> &'static str {
        "replica-manager"
    }

    /// Follows one committed change: deleted partitions first (a topic may be deleted and
    /// re-created with the same name in one batch), then new, re-configured or re-led ones.
    fn on_metadata_update(&self, delta: &MetadataDelta<'_>) {
        let local = self.broker.node_id;
        // The topics this batch touched (all of them on the first publication).
        let touched: Option<HashSet<Uuid>> = (!delta.records.is_empty()).then(|| {
            delta
                .records
                .iter()
                .filter_map(|r| match r {
                    MetadataRecord::Topic { id, .. } | MetadataRecord::RemoveTopic { id } => Some(*id),
                    MetadataRecord::Partition { topic_id, .. } | MetadataRecord::TopicConfig { topic_id, .. } => Some(*topic_id),
                    MetadataRecord::ProducerIds { .. }
                    | MetadataRecord::RegisterBroker { .. }
                    | MetadataRecord::BrokerChange { .. }
                    | MetadataRecord::UnregisterBroker { .. }
                    | MetadataRecord::BrokerConfig { .. }
                    | MetadataRecord::GroupConfig { .. }
                    | MetadataRecord::ClientMetricsConfig { .. }
                    | MetadataRecord::AccessControlEntry { .. }
                    | MetadataRecord::RemoveAccessControlEntry { .. }
                    | MetadataRecord::UserScramCredential { .. }
                    | MetadataRecord::RemoveUserScramCredential { .. }
                    | MetadataRecord::ClientQuota { .. } => None,
                })
                .collect()
        });
        let is_touched = |id: &Uuid| touched.as_ref().is_none_or(|t| t.contains(id));
        let hosted_here = |p: &PartitionImage| p.replicas.contains(&local);
        let mut map = self.partitions.write().unwrap_or_else(|e| e.into_inner());
        let stale: Vec<(String, i32)> = map
            .iter()
            .filter(|(_, p)| is_touched(&p.topic_id))
            .filter(|(_, p)| delta.next.topic_by_id(&p.topic_id).and_then(|t| t.partitions.get(&p.index)).is_none_or(|s| !hosted_here(s)))
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            if let Some(p) = map.remove(&key) {
                self.fetchers.unfollow(&p.topic, p.index);
                self.delete_partition(&p);
            }
        }
        let topics: Vec<&Arc<TopicImage>> = match &touched {
            None => delta.next.topics.values().collect(),
            Some(ids) => ids.iter().filter_map(|id| delta.next.topic_by_id(id)).collect(),
        };
        let mut to_open: Vec<(&Arc<TopicImage>, i32)> = Vec::new();
        for topic in topics {
            let cfg = log_config_for(&self.broker, topic);
            for (idx, pstate) in topic.partitions.iter().filter(|(_, s)| hosted_here(s)) {
                match map.get(&(topic.name.clone(), *idx)) {
                    Some(p) => {
                        p.set_config(cfg.clone());
                        if let Err(e) = p.update_state(state_of(pstate)) {
                            tracing::error!(topic = %topic.name, partition = idx, "cannot apply the new partition state: {e}");
                        }
                    }
                    None => to_open.push((topic, *idx)),
                }
            }
        }
        // Opening is file-system latency (directories, files, checkpoints): many at once
        // go to a few threads.
        let opened = self.open_many(&to_open);
        let mut offline = self.offline.lock().unwrap_or_else(|e| e.into_inner());
        for ((topic, idx), result) in to_open.into_iter().zip(opened) {
            let key = (topic.name.clone(), idx);
            match result {
                Ok(p) => {
                    offline.remove(&key);
                    map.insert(key, p);
                }
                Err(e) => {
                    tracing::error!(topic = %topic.name, partition = idx, "cannot open the partition's log: {e}");
                    offline.insert(key, e.to_string());
                }
            }
        }
        drop(offline);
        let mut offline = self.offline.lock().unwrap_or_else(|e| e.into_inner());
        offline.retain(|(t, i), _| delta.next.topic(t).is_some_and(|t| t.partitions.contains_key(i)));
        drop(offline);
        // Followers fetch from their leader; leaders (and leaderless partitions) do not.
        let touched_topics: Vec<&Arc<TopicImage>> = match &touched {
            None => delta.next.topics.values().collect(),
            Some(ids) => ids.iter().filter_map(|id| delta.next.topic_by_id(id)).collect(),
        };
        let brokers_changed = delta.records.iter().any(|r| matches!(r, MetadataRecord::RegisterBroker { .. }));
        for topic in delta.next.topics.values().filter(|t| brokers_changed || touched_topics.iter().any(|x| x.id == t.id)) {
            for (idx, pstate) in topic.partitions.iter().filter(|(_, s)| hosted_here(s)) {
                let Some(p) = map.get(&(topic.name.clone(), *idx)) else { continue };
                let leader = delta.next.brokers.get(&pstate.leader);
                match leader {
                    Some(b) if pstate.leader != local => {
                        self.fetchers.follow(p.clone(), pstate.leader, pstate.leader_epoch, format!("{}:{}", b.host, b.port))
                    }
                    _ => self.fetchers.unfollow(&topic.name, *idx),
                }
            }
        }
    }
}
