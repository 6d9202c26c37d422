//! The quorum's Raft log (openraft's RaftLogStorage) kept as Kafka keeps KRaft's:
//! `__cluster_metadata-0` is a PartitionLog in which each Raft entry is one record at the
//! offset equal to its index (the record's batch carries the term as its leader epoch),
//! and `quorum-state` holds the vote. Appends are fsynced before openraft hears they are
//! durable; truncation and purging use the log's own truncate and log-start moves.

// openraft's StorageError is what its traits return; the helpers return it as it is.
#![allow(clippy::result_large_err)]

use super::TypeConfig;
use crate::broker::log::batch::{self, BatchHeader};
use crate::broker::log::{AppendOrigin, PartitionLog};
use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{Entry, LogId, LogState, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

type NodeId = u64;

const VOTE_FILE: &str = "quorum-state";
const PURGED_FILE: &str = "quorum-purged";
const COMMITTED_FILE: &str = "quorum-committed";

use crate::broker::metadata::log::log_config;

struct Inner {
    dir: PathBuf,
    log: PartitionLog,
    last_purged: Option<LogId<NodeId>>,
}

/// The Raft log; cheap to clone (openraft takes a reader copy).
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_logs(&e).into()
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read_logs(&e).into()
}

/// Writes `value` as JSON to `dir/name`, durably (tmp file, fsync, rename).
fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T, sync: bool) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec(value).map_err(std::io::Error::other)?)?;
    if sync {
        f.sync_all()?;
    }
    std::fs::rename(tmp, dir.join(name))?;
    if sync {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn read_json<T: for<'de> Deserialize<'de>>(dir: &Path, name: &str) -> std::io::Result<Option<T>> {
    match std::fs::read(dir.join(name)) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl LogStore {
    pub fn open(dir: &Path, clean_shutdown: bool) -> std::io::Result<LogStore> {
        let (log, _) = PartitionLog::open(dir, log_config(), clean_shutdown)?;
        let last_purged = read_json(dir, PURGED_FILE)?;
        Ok(LogStore { inner: Arc::new(Mutex::new(Inner { dir: dir.to_path_buf(), log, last_purged })) })
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Entries with index in [start, end) (observers fetch committed ones).
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        self.inner().read(start, end)
    }

    /// Flushes the log (clean shutdown).
    pub fn flush(&self) -> std::io::Result<()> {
        self.inner().log.flush()
    }
}

impl Inner {
    /// Entries with index in [start, end).
    fn read(&self, start: u64, end: u64) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let mut out = Vec::new();
        let mut next = start.max(self.log.log_start_offset() as u64);
        let end = end.min(self.log.log_end_offset() as u64);
        while next < end {
            let read = self.log.read(next as i64, 1 << 20, true).map_err(read_err)?;
            if read.records.is_empty() {
                break;
            }
            let mut buf: Bytes = read.records;
            while !buf.is_empty() && next < end {
                let h = BatchHeader::parse(&buf).map_err(read_err)?;
                if h.size > buf.len() {
                    break;
                }
                let one = buf.split_to(h.size);
                if !batch::crc_ok(&one) {
                    return Err(read_err(std::io::Error::other(format!("corrupt Raft entry batch at offset {}", h.base_offset))));
                }
                let set = RecordBatchDecoder::decode(&mut one.clone()).map_err(|e| read_err(std::io::Error::other(e.to_string())))?;
                for r in set.records {
                    if (r.offset as u64) < next || r.offset as u64 >= end {
                        continue;
                    }
                    let v = r.value.ok_or_else(|| read_err(std::io::Error::other("Raft entry without a value")))?;
                    let e: Entry<TypeConfig> = serde_json::from_slice(&v).map_err(read_err)?;
                    next = e.log_id.index + 1;
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    fn last_log_id(&self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        let end = self.log.log_end_offset();
        if end <= self.log.log_start_offset() {
            return Ok(self.last_purged);
        }
        Ok(self.read(end as u64 - 1, end as u64)?.pop().map(|e| e.log_id).or(self.last_purged))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let start = match range.start_bound() {
            Bound::Included(s) => *s,
            Bound::Excluded(s) => s + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(e) => e + 1,
            Bound::Excluded(e) => *e,
            Bound::Unbounded => u64::MAX,
        };
        self.inner().read(start, end)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let inner = self.inner();
        Ok(LogState { last_purged_log_id: inner.last_purged, last_log_id: inner.last_log_id()? })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let inner = self.inner();
        write_json(&inner.dir, VOTE_FILE, vote, true).map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        let inner = self.inner();
        read_json(&inner.dir, VOTE_FILE).map_err(|e| StorageIOError::read_vote(&e).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), StorageError<NodeId>> {
        // Advisory (lets a restart re-apply committed entries at once): no fsync needed.
        let inner = self.inner();
        write_json(&inner.dir, COMMITTED_FILE, &committed, false).map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        let inner = self.inner();
        Ok(read_json::<Option<LogId<NodeId>>>(&inner.dir, COMMITTED_FILE).map_err(read_err)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut inner = self.inner();
        for e in entries {
            let index = e.log_id.index as i64;
            let end = inner.log.log_end_offset();
            if index != end {
                if end == inner.log.log_start_offset() {
                    // An empty log (new, or purged by a snapshot) continues at the entry.
                    inner.log.truncate_fully_and_start_at(index).map_err(write_err)?;
                } else {
                    return Err(write_err(std::io::Error::other(format!("Raft entry {index} does not follow the log end {end}"))));
                }
            }
            let value = serde_json::to_vec(&e).map_err(write_err)?;
            let mut buf = batch::encode_records(std::iter::once((None, Some(Bytes::from(value)))), crate::broker::log::now_ms());
            let term = e.log_id.leader_id.term.min(i32::MAX as u64) as i32;
            inner.log.append(&mut buf, term, AppendOrigin::Coordinator).map_err(write_err)?;
        }
        let flushed = inner.log.flush();
        drop(inner);
        match flushed {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner();
        inner.log.truncate_to(log_id.index as i64).map_err(write_err)?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner();
        write_json(&inner.dir, PURGED_FILE, &log_id, true).map_err(write_err)?;
        inner.last_purged = Some(log_id);
        let end = inner.log.log_end_offset();
        let target = (log_id.index as i64 + 1).min(end);
        if target > inner.log.log_start_offset() {
            inner.log.delete_records_before(target, end).map_err(write_err)?;
        }
        Ok(())
    }
}
