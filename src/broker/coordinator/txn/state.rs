//! A transactional id's metadata and Kafka's transaction state machine (Empty, Ongoing,
//! PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead, PrepareEpochFence).
//! A change is prepared (`pending`), written to `__transaction_state`, then completed;
//! while one is pending, other requests for the id get CONCURRENT_TRANSACTIONS.

use std::collections::BTreeSet;

/// Epochs at or above this are exhausted: the producer gets a new id.
pub const EPOCH_EXHAUSTED: i16 = i16::MAX - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    Empty = 0,
    Ongoing = 1,
    PrepareCommit = 2,
    PrepareAbort = 3,
    CompleteCommit = 4,
    CompleteAbort = 5,
    Dead = 6,
    PrepareEpochFence = 7,
}

impl TxnState {
    pub fn from_id(id: i8) -> Option<TxnState> {
        use TxnState::*;
        Some(match id {
            0 => Empty,
            1 => Ongoing,
            2 => PrepareCommit,
            3 => PrepareAbort,
            4 => CompleteCommit,
            5 => CompleteAbort,
            6 => Dead,
            7 => PrepareEpochFence,
            _ => return None,
        })
    }

    /// Kafka's names (DescribeTransactions, ListTransactions, kafka-transactions.sh).
    pub fn name(self) -> &'static str {
        use TxnState::*;
        match self {
            Empty => "Empty",
            Ongoing => "Ongoing",
            PrepareCommit => "PrepareCommit",
            PrepareAbort => "PrepareAbort",
            CompleteCommit => "CompleteCommit",
            CompleteAbort => "CompleteAbort",
            Dead => "Dead",
            PrepareEpochFence => "PrepareEpochFence",
        }
    }

    pub fn from_name(name: &str) -> Option<TxnState> {
        (0..8).filter_map(TxnState::from_id).find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// The states a transition to `self` may start from.
    pub fn valid_previous(self) -> &'static [TxnState] {
        use TxnState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[Ongoing, PrepareEpochFence],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteAbort, CompleteCommit],
            PrepareEpochFence => &[Ongoing],
        }
    }

    pub fn is_complete(self) -> bool {
        matches!(self, TxnState::CompleteCommit | TxnState::CompleteAbort)
    }
}

#[derive(Debug, Clone)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    /// The producer id before the last rotation (KIP-360 retries), -1 if none.
    pub last_producer_id: i64,
    pub producer_epoch: i16,
    /// The epoch before the last bump (not persisted), -1 if none.
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<(String, i32)>,
    /// When the current transaction started, -1 if none.
    pub start_ms: i64,
    pub last_update_ms: i64,
    /// A transition written but not yet completed.
    pub pending: Option<TxnState>,
}

impl TxnMetadata {
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now: i64) -> TxnMetadata {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            last_producer_id: -1,
            producer_epoch: -1,
            last_producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now,
            pending: None,
        }
    }

    /// The metadata after a transition to `to` (what is written to the log); checks that
    /// the move is one Kafka allows.
    pub fn prepare(&self, to: TxnState, now: i64) -> Result<TxnMetadata, String> {
        if !to.valid_previous().contains(&self.state) {
            return Err(format!("transaction {} cannot move from {} to {}", self.transactional_id, self.state.name(), to.name()));
        }
        let mut next = self.clone();
        next.state = to;
        next.pending = None;
        next.last_update_ms = now;
        match to {
            TxnState::Empty => {
                next.partitions.clear();
                next.start_ms = -1;
            }
            TxnState::Ongoing if self.state != TxnState::Ongoing => next.start_ms = now,
            TxnState::CompleteCommit | TxnState::CompleteAbort => next.partitions.clear(),
            _ => {}
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_kafka() {
        let m = TxnMetadata::new("t", 1, 1000, 5);
        assert!(m.prepare(TxnState::PrepareCommit, 6).is_err(), "nothing to commit from Empty");
        let mut ongoing = m.prepare(TxnState::Ongoing, 7).unwrap();
        assert_eq!(ongoing.start_ms, 7);
        ongoing.partitions.insert(("a".into(), 0));
        let prep = ongoing.prepare(TxnState::PrepareAbort, 8).unwrap();
        assert_eq!(prep.partitions.len(), 1, "markers still to write");
        let done = prep.prepare(TxnState::CompleteAbort, 9).unwrap();
        assert!(done.partitions.is_empty());
        assert!(done.prepare(TxnState::PrepareCommit, 10).is_err());
        assert_eq!(TxnState::from_name("ongoing"), Some(TxnState::Ongoing));
        assert_eq!(TxnState::from_id(7).unwrap().name(), "PrepareEpochFence");
    }
}
