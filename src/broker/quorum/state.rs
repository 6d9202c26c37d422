//! The quorum's state machine (openraft's RaftStateMachine): committed entries are applied
//! in log order to the metadata image and handed to the MetadataPublisher (which applies
//! them to the listeners: replica manager, coordinators). Snapshots are the image's records
//! as JSON (`quorum-snapshot.json`), built by openraft's policy and sent to lagging nodes.

use super::{Applied, TypeConfig};
use crate::broker::metadata::publisher::{Committed, MetadataPublisher};
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use openraft::storage::RaftStateMachine;
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership,
};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

type NodeId = u64;
const SNAPSHOT_FILE: &str = "quorum-snapshot.json";

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta<NodeId, BasicNode>,
    records: Vec<MetadataRecord>,
}

struct Inner {
    image: MetadataImage,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
}

/// What the state machine and its users (the controller planning on the leader) share.
pub struct SmShared {
    dir: PathBuf,
    inner: Mutex<Inner>,
    publisher: OnceLock<Arc<MetadataPublisher>>,
    /// The image's offset after each apply: observers' fetches wait on it.
    applied: tokio::sync::watch::Sender<i64>,
}

impl SmShared {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The image with every applied entry (what the active controller plans against).
    pub fn image(&self) -> MetadataImage {
        self.inner().image.clone()
    }

    pub fn set_publisher(&self, p: Arc<MetadataPublisher>) {
        let _ = self.publisher.set(p);
    }

    /// Waits (at most `wait`) until an entry at or past `offset` is applied.
    pub async fn wait_applied(&self, offset: i64, wait: std::time::Duration) {
        let mut rx = self.applied.subscribe();
        let _ = tokio::time::timeout(wait, rx.wait_for(|o| *o >= offset)).await;
    }

    /// The committed entries an observer asks for: (end offset, records) of entries from
    /// index `next` (at most `max`), or None when they are no longer in the log (then the
    /// image is sent instead).
    pub(super) fn committed_since(&self, log: &super::store::LogStore, next: u64, max: u64) -> Option<Vec<(i64, Vec<MetadataRecord>)>> {
        let applied = self.inner().image.offset as u64;
        if next >= applied {
            return Some(Vec::new());
        }
        let entries = log.entries(next, applied.min(next + max)).ok()?;
        if entries.first().map(|e| e.log_id.index) != Some(next) {
            return None;
        }
        let records = |e: Entry<TypeConfig>| match e.payload {
            EntryPayload::Normal(p) => p.records,
            _ => Vec::new(),
        };
        Some(entries.into_iter().map(|e| (e.log_id.index as i64 + 1, records(e))).collect())
    }

    /// The image as records and its offset (what an observer starts from).
    pub(super) fn image_records(&self) -> (Vec<MetadataRecord>, i64) {
        let inner = self.inner();
        (inner.image.to_records(), inner.image.offset)
    }

    /// An observer (a broker-only node) applies what it fetched from a voter: the same
    /// image and publisher path as a voter's state machine.
    pub(super) fn observe(&self, reset: Option<(Vec<MetadataRecord>, i64)>, batches: Vec<(i64, Vec<MetadataRecord>)>) {
        let mut published = Vec::new();
        let mut reset_image = None;
        {
            let mut inner = self.inner();
            if let Some((records, end)) = reset {
                let mut image = MetadataImage::default();
                for r in &records {
                    image.apply(r);
                }
                image.offset = end;
                inner.image = image.clone();
                reset_image = Some(image);
            }
            for (end, records) in batches {
                if end <= inner.image.offset {
                    continue;
                }
                for r in &records {
                    inner.image.apply(r);
                }
                inner.image.offset = end;
                published.push(Committed { end_offset: end, records });
            }
        }
        if let Some(p) = self.publisher.get() {
            if let Some(image) = reset_image {
                p.reset(image);
            }
            for b in published {
                p.publish(b);
            }
        }
        self.applied.send_replace(self.inner().image.offset);
    }
}

/// Loads the newest snapshot (if any): the state the log is replayed on.
pub fn load(dir: &Path) -> std::io::Result<Arc<SmShared>> {
    let (image, last_applied, membership) = match std::fs::read(dir.join(SNAPSHOT_FILE)) {
        Ok(bytes) => {
            let snap: SnapshotFile = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
            let image = image_of(&snap.records, snap.meta.last_log_id);
            (image, snap.meta.last_log_id, snap.meta.last_membership)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (MetadataImage::default(), None, StoredMembership::default()),
        Err(e) => return Err(e),
    };
    Ok(Arc::new(SmShared {
        dir: dir.to_path_buf(),
        applied: tokio::sync::watch::channel(image.offset).0,
        inner: Mutex::new(Inner { image, last_applied, membership }),
        publisher: OnceLock::new(),
    }))
}

fn image_of(records: &[MetadataRecord], last: Option<LogId<NodeId>>) -> MetadataImage {
    let mut image = MetadataImage::default();
    for r in records {
        image.apply(r);
    }
    image.offset = last.map_or(0, |l| l.index as i64 + 1);
    image
}

fn sm_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_state_machine(&e).into()
}

/// The state machine handed to openraft.
pub struct StateMachine {
    pub shared: Arc<SmShared>,
}

pub struct SnapshotBuilder {
    shared: Arc<SmShared>,
}

fn snapshot_id(last: &Option<LogId<NodeId>>) -> String {
    match last {
        Some(l) => format!("{}-{}", l.leader_id.term, l.index),
        None => "empty".into(),
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let (records, meta) = {
            let inner = self.shared.inner();
            let meta = SnapshotMeta {
                last_log_id: inner.last_applied,
                last_membership: inner.membership.clone(),
                snapshot_id: snapshot_id(&inner.last_applied),
            };
            (inner.image.to_records(), meta)
        };
        let file = SnapshotFile { meta: meta.clone(), records };
        let bytes = serde_json::to_vec(&file).map_err(sm_err)?;
        write_snapshot(&self.shared.dir, &bytes).map_err(sm_err)?;
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(bytes)) })
    }
}

fn write_snapshot(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, dir.join(SNAPSHOT_FILE))
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>> {
        let inner = self.shared.inner();
        Ok((inner.last_applied, inner.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut replies = Vec::new();
        let mut batches = Vec::new();
        {
            let mut inner = self.shared.inner();
            for e in entries {
                let end = e.log_id.index as i64 + 1;
                let records = match e.payload {
                    EntryPayload::Blank => Vec::new(),
                    EntryPayload::Normal(p) => p.records,
                    EntryPayload::Membership(m) => {
                        inner.membership = StoredMembership::new(Some(e.log_id), m);
                        Vec::new()
                    }
                };
                for r in &records {
                    inner.image.apply(r);
                }
                inner.image.offset = end;
                inner.last_applied = Some(e.log_id);
                replies.push(Applied { end_offset: end });
                batches.push(Committed { end_offset: end, records });
            }
        }
        if let Some(p) = self.shared.publisher.get() {
            for b in batches {
                p.publish(b);
            }
        }
        self.shared.applied.send_replace(self.shared.inner().image.offset);
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder { shared: self.shared.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let file: SnapshotFile = serde_json::from_slice(&bytes).map_err(sm_err)?;
        let image = image_of(&file.records, meta.last_log_id);
        write_snapshot(&self.shared.dir, &bytes).map_err(sm_err)?;
        {
            let mut inner = self.shared.inner();
            inner.image = image.clone();
            inner.last_applied = meta.last_log_id;
            inner.membership = meta.last_membership.clone();
        }
        let offset = image.offset;
        if let Some(p) = self.shared.publisher.get() {
            p.reset(image);
        }
        self.shared.applied.send_replace(offset);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        match std::fs::read(self.shared.dir.join(SNAPSHOT_FILE)) {
            Ok(bytes) => {
                let file: SnapshotFile = serde_json::from_slice(&bytes).map_err(sm_err)?;
                Ok(Some(Snapshot { meta: file.meta, snapshot: Box::new(Cursor::new(bytes)) }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(sm_err(e)),
        }
    }
}
