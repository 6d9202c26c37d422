//! Several `log.dirs` (JBOD): where a partition's directory lives — found in whichever
//! log dir holds it, else placed in the one with the fewest partitions (Kafka's rule), or
//! where AlterReplicaLogDirs asked for it — and moving a hosted partition between log dirs
//! (AlterReplicaLogDirs): the files are copied to a `-future` directory while the partition
//! keeps serving, then, under the partition lock, flushed, what changed since is copied
//! again, the future directory renamed into place, the old one renamed for deletion and
//! the log reopened from its new home. A crash at any point leaves one complete copy: a
//! `-future` or `-delete` directory is a stray at the next start.

use super::Partition;
use crate::broker::log::LogError;
use crate::broker::log::partition::PartitionLog;
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Free bytes a log dir needs to be given a new partition (when another has them).
const MIN_FREE_FOR_NEW: i64 = 1 << 20;

pub struct LogDirs {
    pub dirs: Vec<PathBuf>,
    /// Partitions placed in each dir (index into `dirs`).
    counts: Mutex<Vec<usize>>,
    /// AlterReplicaLogDirs for partitions not hosted yet: created there when they are.
    preferred: Mutex<HashMap<(String, i32), PathBuf>>,
    /// Partitions being moved now.
    moving: Mutex<HashSet<(String, i32)>>,
}

impl LogDirs {
    pub fn new(dirs: Vec<PathBuf>) -> LogDirs {
        let counts = dirs
            .iter()
            .map(|d| {
                std::fs::read_dir(d)
                    .map(|es| es.flatten().filter(|e| is_partition_dir(&e.file_name().to_string_lossy())).count())
                    .unwrap_or(0)
            })
            .collect();
        LogDirs { dirs, counts: Mutex::new(counts), preferred: Mutex::default(), moving: Mutex::default() }
    }

    /// The directory of a partition: where it already is (the first log dir holding it),
    /// else where it was asked to go, else the log dir with the fewest partitions.
    pub fn place(&self, topic: &str, index: i32) -> PathBuf {
        let name = format!("{topic}-{index}");
        if let Some(d) = self.dirs.iter().map(|d| d.join(&name)).find(|p| p.is_dir()) {
            return d;
        }
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let wanted = self.preferred.lock().unwrap_or_else(|e| e.into_inner()).remove(&(topic.to_string(), index));
        // A full disk takes no new partitions while another dir has room (Kafka places
        // nothing in an offline log dir).
        let room: Vec<usize> = (0..self.dirs.len()).filter(|i| disk_space(&self.dirs[*i]).1 >= MIN_FREE_FOR_NEW).collect();
        let candidates = if room.is_empty() { (0..self.dirs.len()).collect() } else { room };
        let i = wanted
            .and_then(|w| self.dirs.iter().position(|d| *d == w))
            .unwrap_or_else(|| candidates.iter().copied().min_by_key(|i| counts[*i]).unwrap_or(0));
        counts[i] += 1;
        self.dirs[i].join(name)
    }

    /// The log dir a partition directory is in.
    pub fn log_dir_of(&self, partition_dir: &Path) -> Option<&PathBuf> {
        self.dirs.iter().find(|d| partition_dir.parent() == Some(d.as_path()))
    }

    pub fn prefer(&self, topic: &str, index: i32, dir: PathBuf) {
        self.preferred.lock().unwrap_or_else(|e| e.into_inner()).insert((topic.to_string(), index), dir);
    }

    /// Marks a partition as moving; false when it already is.
    pub fn start_move(&self, topic: &str, index: i32) -> bool {
        self.moving.lock().unwrap_or_else(|e| e.into_inner()).insert((topic.to_string(), index))
    }

    pub fn end_move(&self, topic: &str, index: i32) {
        self.moving.lock().unwrap_or_else(|e| e.into_inner()).remove(&(topic.to_string(), index));
    }

    pub fn is_moving(&self, topic: &str, index: i32) -> bool {
        self.moving.lock().unwrap_or_else(|e| e.into_inner()).contains(&(topic.to_string(), index))
    }

    /// A partition directory was deleted.
    pub fn forget(&self, dir: &Path) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = self.dirs.iter().position(|d| Some(d.as_path()) == dir.parent()) {
            counts[i] = counts[i].saturating_sub(1);
        }
    }

    fn moved(&self, from: &Path, to: &Path) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = self.dirs.iter().position(|d| Some(d.as_path()) == from.parent()) {
            counts[i] = counts[i].saturating_sub(1);
        }
        if let Some(i) = self.dirs.iter().position(|d| Some(d.as_path()) == to.parent()) {
            counts[i] += 1;
        }
    }
}

/// (total, usable) bytes of the file system holding `dir`.
pub fn disk_space(dir: &std::path::Path) -> (i64, i64) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return (-1, -1);
    };
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a properly sized out-parameter.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return (-1, -1);
    }
    let frsize = s.f_frsize as i64;
    (s.f_blocks as i64 * frsize, s.f_bavail as i64 * frsize)
}

/// `<topic>-<n>`: a partition directory (not the metadata log, not a stray).
pub fn is_partition_dir(name: &str) -> bool {
    name != crate::broker::metadata::log::METADATA_DIR
        && name.rsplit_once('-').is_some_and(|(t, i)| !t.is_empty() && i.parse::<i32>().is_ok())
}

/// A directory left by an interrupted move or deletion.
pub fn is_stray_suffix(name: &str) -> bool {
    name.ends_with("-delete") || name.ends_with("-future")
}

/// Copies every file of `from` into `to` that is missing there or differs in size or
/// modification time, and removes files of `to` that `from` no longer has.
fn sync_files(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut names = HashSet::new();
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if !e.file_type()?.is_file() {
            continue;
        }
        let name = e.file_name();
        names.insert(name.clone());
        let src = e.metadata()?;
        let dst = to.join(&name);
        let same = std::fs::metadata(&dst).is_ok_and(|d| d.len() == src.len() && d.modified().ok() >= src.modified().ok());
        if !same {
            std::fs::copy(e.path(), &dst)?;
        }
    }
    for e in std::fs::read_dir(to)? {
        let e = e?;
        if !names.contains(&e.file_name()) {
            std::fs::remove_file(e.path())?;
        }
    }
    Ok(())
}

fn fsync_all(dir: &Path) -> io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        std::fs::File::open(e?.path())?.sync_all()?;
    }
    std::fs::File::open(dir)?.sync_all()
}

/// Moves a hosted partition's log into log dir `target` (see the module doc).
pub fn relocate(dirs: &LogDirs, p: &Partition, target: &Path) -> Result<(), LogError> {
    let old = p.dir();
    let name = old.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let dest = target.join(&name);
    if old == dest {
        return Ok(());
    }
    let future = target.join(format!("{name}.{}-future", p.topic_id.simple()));
    let _ = std::fs::remove_dir_all(&future);
    // 1. Copy while the partition keeps serving.
    sync_files(&old, &future)?;
    // 2. Catch up and switch under the partition lock.
    let doomed = old.with_file_name(format!("{name}.{}-delete", p.topic_id.simple()));
    p.with_log(|log: &mut PartitionLog| {
        log.flush()?;
        sync_files(&old, &future)?;
        fsync_all(&future)?;
        std::fs::rename(&future, &dest)?;
        std::fs::rename(&old, &doomed)?;
        let (reopened, _) = PartitionLog::open(&dest, log.config().clone(), true)?;
        *log = reopened;
        Ok(())
    })?;
    dirs.moved(&old, &dest);
    if let Err(e) = std::fs::remove_dir_all(&doomed) {
        tracing::warn!(dir = %doomed.display(), "could not remove the moved partition's old directory: {e}");
    }
    tracing::info!(topic = %p.topic, partition = p.index, from = %old.display(), to = %dest.display(), "moved partition to another log dir");
    Ok(())
}
