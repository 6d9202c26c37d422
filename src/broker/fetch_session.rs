//! Incremental fetch sessions (KIP-227): the broker remembers each session's partitions
//! and fetch positions so clients send only what changed, and responses carry only
//! partitions with news (data, offsets that moved, errors). The cache holds
//! `max.incremental.fetch.session.cache.slots` sessions and evicts as Kafka's
//! FetchSessionCache does: a session idle for 2 minutes first, else the smallest one old
//! enough to be evictable, and only for a bigger (or a follower's) new session.

use std::collections::HashMap;
use uuid::Uuid;

pub const INITIAL_EPOCH: i32 = 0;
pub const FINAL_EPOCH: i32 = -1;
/// Kafka's min.incremental.fetch.session.eviction.ms (a constant there too).
const EVICTION_MS: i64 = 120_000;

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
    /// A follower's session (privileged in eviction).
    pub privileged: bool,
    created_ms: i64,
    last_used_ms: i64,
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

pub struct FetchSessionCache {
    sessions: HashMap<i32, FetchSession>,
    capacity: usize,
    evictions: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SessionError {
    NotFound,
    InvalidEpoch,
}

impl FetchSessionCache {
    pub fn new(capacity: usize) -> FetchSessionCache {
        FetchSessionCache { sessions: HashMap::new(), capacity, evictions: 0 }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Makes room for a new session of `size` partitions, as Kafka decides it; false when
    /// nothing may be evicted for it.
    fn make_room(&mut self, privileged: bool, size: usize, now: i64) -> bool {
        if self.sessions.len() < self.capacity {
            return true;
        }
        // An idle session goes first, whatever it is.
        if let Some((&id, _)) =
            self.sessions.iter().min_by_key(|(id, s)| (s.last_used_ms, **id)).filter(|(_, s)| now - s.last_used_ms > EVICTION_MS)
        {
            self.sessions.remove(&id);
            self.evictions += 1;
            return true;
        }
        // Else the smallest evictable one, only for a strictly bigger (or privileged) newcomer.
        let old = |s: &FetchSession| now - s.created_ms > EVICTION_MS;
        let victim = self
            .sessions
            .iter()
            .filter(|(_, s)| if privileged { !s.privileged || old(s) } else { old(s) })
            .min_by_key(|(id, s)| (s.privileged, s.partitions.len(), **id))
            .map(|(id, s)| (*id, s.privileged, s.partitions.len()));
        match victim {
            Some((id, p, n)) if (privileged, size) > (p, n) => {
                self.sessions.remove(&id);
                self.evictions += 1;
                true
            }
            _ => false,
        }
    }

    /// Creates a session; None when the cache is full and nothing may be evicted (the
    /// client then fetches without one, as with Kafka).
    pub fn create(&mut self, partitions: Vec<SessionPartition>, privileged: bool, now: i64) -> Option<i32> {
        if self.capacity == 0 || !self.make_room(privileged, partitions.len(), now) {
            return None;
        }
        let id = loop {
            let id: i32 = rand::random_range(1..i32::MAX);
            if !self.sessions.contains_key(&id) {
                break id;
            }
        };
        self.sessions.insert(id, FetchSession { next_epoch: 1, partitions, privileged, created_ms: now, last_used_ms: now });
        Some(id)
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
    pub fn put_back(&mut self, id: i32, mut s: FetchSession, now: i64) {
        s.next_epoch = if s.next_epoch == i32::MAX { 1 } else { s.next_epoch + 1 };
        s.last_used_ms = now;
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
    fn eviction_follows_kafka() {
        let mut c = FetchSessionCache::new(2);
        let a = c.create(vec![sp("a", 0)], false, 0).unwrap();
        let b = c.create(vec![sp("a", 0), sp("a", 1)], false, 0).unwrap();
        // Full, nothing old or idle enough: a new consumer session is not created.
        assert!(c.create(vec![sp("a", 0); 5], false, 1000).is_none());
        // A follower's (privileged) session evicts the smallest consumer session.
        let f = c.create(vec![sp("a", 0)], true, 1000).unwrap();
        assert!(c.take(a, 1).is_err() && c.len() == 2);
        let s = c.take(b, 1).unwrap();
        c.put_back(b, s, 150_000);
        let s = c.take(f, 1).unwrap();
        c.put_back(f, s, 150_000);
        // Past two minutes since creation: only a bigger newcomer evicts the smallest.
        assert!(c.create(vec![sp("a", 0)], false, 200_000).is_none(), "not bigger than the smallest evictable");
        let big = c.create(vec![sp("a", 0); 3], false, 200_000).unwrap();
        assert!(c.take(b, 2).is_err(), "the smaller, older consumer session went");
        // A session idle for over two minutes goes first, whatever it is.
        assert!(c.create(vec![sp("a", 0)], false, 400_000).is_some());
        assert!(c.take(f, 2).is_err(), "the idle follower session went");
        assert!(c.take(big, 1).is_ok());
        assert_eq!(c.evictions(), 3);
    }

    #[test]
    fn session_epochs() {
        let mut c = FetchSessionCache::new(10);
        let id = c.create(vec![sp("a", 0)], false, 0).unwrap();
        assert_eq!(c.take(id, 2).unwrap_err(), SessionError::InvalidEpoch);
        let mut s = c.take(id, 1).unwrap();
        s.upsert(sp("b", 1));
        s.forget("a", 0);
        c.put_back(id, s, 0);
        let s = c.take(id, 2).unwrap();
        assert_eq!(s.partitions.len(), 1);
        assert_eq!(c.take(99, 1).unwrap_err(), SessionError::NotFound);
    }
}
