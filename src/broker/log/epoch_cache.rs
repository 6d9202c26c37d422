//! LeaderEpochCache (Kafka's LeaderEpochFileCache): for each leader epoch, the first
//! offset written in it, kept in `leader-epoch-checkpoint` in Kafka's text format. It
//! answers OffsetForLeaderEpoch (where an epoch ended), which is how a follower finds the
//! point where its log diverged from the leader's and truncates.

use std::io;
use std::path::{Path, PathBuf};

pub const CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

#[derive(Debug)]
pub struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<EpochEntry>,
    /// The file was written without an fsync; the first append makes it durable.
    not_synced: bool,
}

/// Kafka's "unknown" answer for an epoch lookup.
pub const UNDEFINED: (i32, i64) = (-1, -1);

impl LeaderEpochCache {
    /// Loads the checkpoint in `dir`; a missing file is an empty cache and an unreadable
    /// one is logged and dropped (it is rebuilt from the batches on the next appends).
    pub fn load(dir: &Path) -> LeaderEpochCache {
        let path = dir.join(CHECKPOINT_FILE);
        let entries = match std::fs::read_to_string(&path) {
            Ok(text) => parse(&text).unwrap_or_else(|| {
                tracing::warn!(file = %path.display(), "ignoring an unreadable leader-epoch checkpoint");
                Vec::new()
            }),
            Err(_) => Vec::new(),
        };
        LeaderEpochCache { path, entries, not_synced: false }
    }

    /// The cache of a new, empty log (nothing to read).
    pub fn empty(dir: &Path) -> LeaderEpochCache {
        LeaderEpochCache { path: dir.join(CHECKPOINT_FILE), entries: Vec::new(), not_synced: false }
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset`. Entries that this one contradicts
    /// (an epoch at or above it, or an offset at or past it) are dropped first, as Kafka does.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> io::Result<()> {
        self.assign_with(epoch, start_offset, true)
    }

    /// `assign`; `durable: false` skips the fsync (an empty log's first epoch, which a
    /// restarted leader assigns again).
    pub fn assign_with(&mut self, epoch: i32, start_offset: i64, durable: bool) -> io::Result<()> {
        if epoch < 0 {
            return Ok(());
        }
        if let Some(last) = self.entries.last() {
            if last.epoch == epoch && last.start_offset <= start_offset {
                return Ok(());
            }
            if last.epoch > epoch && last.start_offset <= start_offset {
                // An older epoch after a newer one: a stale write; keep the newer entry.
                return Ok(());
            }
        }
        self.entries.retain(|e| e.epoch < epoch && e.start_offset < start_offset);
        self.entries.push(EpochEntry { epoch, start_offset });
        self.flush_with(durable)
    }

    /// OffsetForLeaderEpoch: (the largest epoch <= `requested`, the offset where it ended).
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> (i32, i64) {
        let Some(latest) = self.latest_epoch() else { return UNDEFINED };
        if requested < 0 {
            return UNDEFINED;
        }
        if requested == latest {
            return (requested, log_end_offset);
        }
        let Some(higher) = self.entries.iter().find(|e| e.epoch > requested) else {
            return UNDEFINED;
        };
        match self.entries.iter().rev().find(|e| e.epoch <= requested) {
            Some(floor) => (floor.epoch, higher.start_offset),
            None => (requested, higher.start_offset),
        }
    }

    /// Drops entries starting at or after `end_offset` (the log was truncated to it).
    pub fn truncate_from_end(&mut self, end_offset: i64) -> io::Result<()> {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end_offset);
        if self.entries.len() != before { self.flush() } else { Ok(()) }
    }

    /// The log start moved to `start_offset`: entries before it collapse into one at it.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> io::Result<()> {
        let Some(last) = self.entries.iter().rposition(|e| e.start_offset <= start_offset) else { return Ok(()) };
        if last == 0 && self.entries[0].start_offset == start_offset {
            return Ok(());
        }
        self.entries.drain(..last);
        self.entries[0].start_offset = start_offset;
        self.flush()
    }

    pub fn clear(&mut self) -> io::Result<()> {
        self.entries.clear();
        self.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_with(true)
    }

    /// Fsyncs the checkpoint if its last write skipped that (before data depends on it).
    pub fn make_durable(&mut self) -> io::Result<()> {
        if self.not_synced { self.flush() } else { Ok(()) }
    }

    fn flush_with(&mut self, durable: bool) -> io::Result<()> {
        self.not_synced = !durable;
        if !durable {
            // Written (durably) before the first record depends on it: see make_durable.
            return Ok(());
        }
        let mut text = format!("0\n{}\n", self.entries.len());
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        crate::broker::replica::checkpoint::write_replacing(&self.path, text.as_bytes(), durable)
    }
}

fn parse(text: &str) -> Option<Vec<EpochEntry>> {
    let mut lines = text.lines();
    if lines.next()?.trim() != "0" {
        return None;
    }
    let n: usize = lines.next()?.trim().parse().ok()?;
    let mut out = Vec::with_capacity(n.min(10_000));
    for _ in 0..n {
        let mut parts = lines.next()?.split_whitespace();
        let epoch = parts.next()?.parse().ok()?;
        let start_offset = parts.next()?.parse().ok()?;
        out.push(EpochEntry { epoch, start_offset });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_lookup_truncate_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path());
        assert_eq!(c.end_offset_for(0, 10), UNDEFINED);
        c.assign(0, 0).unwrap();
        c.assign(0, 5).unwrap(); // same epoch later: no new entry
        c.assign(2, 10).unwrap();
        c.assign(4, 20).unwrap();
        assert_eq!(c.entries().len(), 3);
        assert_eq!(c.end_offset_for(4, 30), (4, 30));
        assert_eq!(c.end_offset_for(2, 30), (2, 20));
        // Epoch 3 never led: the answer is the largest epoch below it and where it ended.
        assert_eq!(c.end_offset_for(3, 30), (2, 20));
        assert_eq!(c.end_offset_for(1, 30), (0, 10));
        assert_eq!(c.end_offset_for(7, 30), UNDEFINED);
        let again = LeaderEpochCache::load(dir.path());
        assert_eq!(again.entries(), c.entries());
        c.truncate_from_end(15).unwrap();
        assert_eq!(c.latest_epoch(), Some(2));
        c.truncate_from_start(12).unwrap();
        assert_eq!(c.entries(), &[EpochEntry { epoch: 2, start_offset: 12 }]);
        // A new leader's epoch replaces entries it contradicts.
        c.assign(5, 12).unwrap();
        assert_eq!(c.entries(), &[EpochEntry { epoch: 5, start_offset: 12 }]);
        assert_eq!(LeaderEpochCache::load(dir.path()).entries(), c.entries());
    }

    #[test]
    fn a_damaged_checkpoint_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CHECKPOINT_FILE), "0\n3\n1 0\n").unwrap();
        assert!(LeaderEpochCache::load(dir.path()).entries().is_empty());
    }
}
