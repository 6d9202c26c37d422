//! Incremental fetch sessions (KIP-227): the broker remembers each session's partitions
//! and fetch positions so clients send only what changed, and responses carry only
//! partitions with news (data, offsets that moved, errors).

use std::collections::HashMap;
use uuid::Uuid;

pub const INITIAL_EPOCH: i32 = 0;
pub const FINAL_EPOCH: i32 = -1;
const MAX_SESSIONS: usize = 1000;

/// One partition of a fetch: what the client asked and what it was last told.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPartition {
    pub topic: String,
    pub topic_id: Uuid,
    pub partition: i32,
    pub fetch_offset: i64,
    pub max_bytes: i32,
    pub current_leader_epoch: i32,
    /// (high watermark, log start) last sent; None until sent once.
    pub last_sent: Option<(i64, i64)>,
}

#[derive(Debug, Default)]
pub struct FetchSession {
    pub next_epoch: i32,
    /// Insertion-ordered partitions.
    pub partitions: Vec<SessionPartition>,
}

impl FetchSession {
    /// Adds or updates a partition from an incremental request.
    pub fn upsert(&mut self, p: SessionPartition) {
        match self.partitions.iter_mut().find(|x| x.topic == p.topic && x.partition == p.partition) {
            Some(x) => {
                x.fetch_offset = p.fetch_offset;
                x.max_bytes = p.max_bytes;
                x.current_leader_epoch = p.current_leader_epoch;
            }
            None => self.partitions.push(p),
        }
    }
    pub fn forget(&mut self, topic: &str, partition: i32) {
        self.partitions.retain(|x| !(x.topic == topic && x.partition == partition));
    }
}

#[derive(Default)]
pub struct FetchSessionCache {
    sessions: HashMap<i32, FetchSession>,
    next_id: i32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SessionError {
    NotFound,
    InvalidEpoch,
}

impl FetchSessionCache {
    /// Creates a session; None when the cache is full (the client then fetches without one).
    pub fn create(&mut self, partitions: Vec<SessionPartition>) -> Option<i32> {
        if self.sessions.len() >= MAX_SESSIONS {
            return None;
        }
        loop {
            self.next_id = self.next_id.wrapping_add(1).max(1);
            if !self.sessions.contains_key(&self.next_id) {
                break;
            }
        }
        self.sessions.insert(self.next_id, FetchSession { next_epoch: 1, partitions });
        Some(self.next_id)
    }

    pub fn remove(&mut self, id: i32) {
        self.sessions.remove(&id);
    }

    /// Takes the session for an incremental fetch with `epoch`, checking the epoch.
    pub fn take(&mut self, id: i32, epoch: i32) -> Result<FetchSession, SessionError> {
        let s = self.sessions.get(&id).ok_or(SessionError::NotFound)?;
        if s.next_epoch != epoch {
            return Err(SessionError::InvalidEpoch);
        }
        Ok(self.sessions.remove(&id).expect("present"))
    }

    /// Puts a session back after a fetch, advancing its epoch.
    pub fn put_back(&mut self, id: i32, mut s: FetchSession) {
        s.next_epoch = if s.next_epoch == i32::MAX { 1 } else { s.next_epoch + 1 };
        self.sessions.insert(id, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(t: &str, p: i32) -> SessionPartition {
        SessionPartition {
            topic: t.into(),
            topic_id: Uuid::nil(),
            partition: p,
            fetch_offset: 0,
            max_bytes: 1,
            current_leader_epoch: -1,
            last_sent: None,
        }
    }

    #[test]
    fn session_epochs() {
        let mut c = FetchSessionCache::default();
        let id = c.create(vec![sp("a", 0)]).unwrap();
        assert_eq!(c.take(id, 2).unwrap_err(), SessionError::InvalidEpoch);
        let mut s = c.take(id, 1).unwrap();
        s.upsert(sp("b", 1));
        s.forget("a", 0);
        c.put_back(id, s);
        let s = c.take(id, 2).unwrap();
        assert_eq!(s.partitions.len(), 1);
        assert_eq!(c.take(99, 1).unwrap_err(), SessionError::NotFound);
    }
}
