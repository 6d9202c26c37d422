//! SharePartition (KIP-932): the delivery state of one topic partition for one share
//! group, kept by the partition's leader. Records from the share-partition start offset
//! (SPSO) to the end offset (SPEO, `next`) are "in flight": each is available, acquired by
//! one member under a time-limited lock, or finished (acknowledged or archived, and then
//! forgotten). The SPSO moves past finished records; a record released or whose lock
//! expired becomes available again until its delivery count reaches the limit, when it is
//! archived.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Acknowledgement types of ShareFetch/ShareAcknowledge (AcknowledgeType on the wire).
pub const ACK_GAP: i8 = 0;
pub const ACK_ACCEPT: i8 = 1;
pub const ACK_RELEASE: i8 = 2;
pub const ACK_REJECT: i8 = 3;

#[derive(Debug, Clone, PartialEq)]
enum State {
    Available,
    Acquired { member: String, deadline: Instant },
}

#[derive(Debug, Clone)]
struct InFlight {
    state: State,
    delivery_count: i16,
}

/// A run of acquired offsets with their delivery count (ShareFetch's AcquiredRecords).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acquired {
    pub first: i64,
    pub last: i64,
    pub delivery_count: i16,
}

/// One batch as the log holds it: its offsets and whether it is a control batch
/// (transaction markers are never delivered to share consumers).
#[derive(Debug, Clone, Copy)]
pub struct LogBatch {
    pub base: i64,
    pub last: i64,
    pub control: bool,
}

#[derive(Debug)]
pub struct SharePartition {
    /// SPSO: every offset below is finished.
    start: i64,
    /// SPEO: the first offset never acquired.
    next: i64,
    /// Offsets in [start, next) still to be finished; absent ones are finished.
    in_flight: BTreeMap<i64, InFlight>,
    /// The start offset last handed to the persister.
    pub persisted_start: i64,
}

/// Limits for one acquisition.
pub struct AcquireLimits {
    pub max_records: usize,
    /// group.share.partition.max.record.locks: in-flight records at most.
    pub max_in_flight: i64,
    pub lock: Duration,
    pub delivery_limit: i16,
}

impl SharePartition {
    pub fn new(start: i64) -> SharePartition {
        SharePartition { start, next: start, in_flight: BTreeMap::new(), persisted_start: start }
    }

    pub fn start_offset(&self) -> i64 {
        self.start
    }

    /// Offsets in flight (acquired or available for redelivery).
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether a member holds any record under a lock.
    pub fn any_acquired(&self) -> bool {
        self.in_flight.values().any(|r| matches!(r.state, State::Acquired { .. }))
    }

    /// Where the next acquisition reads the log: the first available offset, else the end.
    pub fn read_from(&self) -> i64 {
        self.in_flight.iter().find(|(_, r)| r.state == State::Available).map_or(self.next, |(o, _)| *o)
    }

    /// Whether an acquisition could hand out anything below `hw` (new records, or ones
    /// available again).
    pub fn has_work(&self, hw: i64) -> bool {
        self.next < hw || self.in_flight.values().any(|r| r.state == State::Available)
    }

    fn advance_start(&mut self) {
        self.start = self.in_flight.keys().next().copied().unwrap_or(self.next);
    }

    /// The log's start moved past records (retention, DeleteRecords): they are gone.
    pub fn truncate_below(&mut self, log_start: i64) {
        if log_start > self.start {
            self.in_flight = self.in_flight.split_off(&log_start);
            self.next = self.next.max(log_start);
            self.advance_start();
        }
    }

    /// Locks that expired make their records available again (or archive them at the
    /// delivery limit).
    pub fn expire_locks(&mut self, now: Instant, delivery_limit: i16) {
        let expired: Vec<i64> = self
            .in_flight
            .iter()
            .filter(|(_, r)| matches!(&r.state, State::Acquired { deadline, .. } if *deadline <= now))
            .map(|(o, _)| *o)
            .collect();
        for o in expired {
            self.release_one(o, delivery_limit);
        }
        self.advance_start();
    }

    fn release_one(&mut self, offset: i64, delivery_limit: i16) {
        let archive = self.in_flight.get(&offset).is_some_and(|r| r.delivery_count >= delivery_limit);
        if archive {
            self.in_flight.remove(&offset);
        } else if let Some(r) = self.in_flight.get_mut(&offset) {
            r.state = State::Available;
        }
    }

    /// Releases every record `member` holds (its share session closed).
    pub fn release_member(&mut self, member: &str, delivery_limit: i16) {
        let held: Vec<i64> = self
            .in_flight
            .iter()
            .filter(|(_, r)| matches!(&r.state, State::Acquired { member: m, .. } if m == member))
            .map(|(o, _)| *o)
            .collect();
        for o in held {
            self.release_one(o, delivery_limit);
        }
        self.advance_start();
    }

    /// Acquires records for `member` from the batches of a log read that started at
    /// `read_from()`, below `hw`. Returns the acquired runs, in offset order.
    pub fn acquire(&mut self, member: &str, batches: &[LogBatch], hw: i64, now: Instant, lim: &AcquireLimits) -> Vec<Acquired> {
        let deadline = now + lim.lock;
        let mut out: Vec<Acquired> = Vec::new();
        let mut taken = 0usize;
        let push = |out: &mut Vec<Acquired>, o: i64, count: i16| match out.last_mut() {
            Some(a) if a.last + 1 == o && a.delivery_count == count => a.last = o,
            _ => out.push(Acquired { first: o, last: o, delivery_count: count }),
        };
        'batches: for b in batches {
            // Offsets between batches (compacted away) and control batches are finished.
            if b.base > self.next && b.base <= hw {
                self.next = b.base;
            }
            for o in b.base..=b.last {
                if o >= hw || taken >= lim.max_records {
                    break 'batches;
                }
                if o < self.start {
                    continue;
                }
                if o < self.next {
                    if let Some(r) = self.in_flight.get_mut(&o)
                        && r.state == State::Available
                        && !b.control
                    {
                        r.delivery_count += 1;
                        r.state = State::Acquired { member: member.to_string(), deadline };
                        push(&mut out, o, r.delivery_count);
                        taken += 1;
                    }
                    continue;
                }
                // A new offset, the next after SPEO.
                if b.control {
                    self.next = o + 1;
                    continue;
                }
                if o - self.start >= lim.max_in_flight {
                    break 'batches;
                }
                self.in_flight.insert(o, InFlight { state: State::Acquired { member: member.to_string(), deadline }, delivery_count: 1 });
                self.next = o + 1;
                push(&mut out, o, 1);
                taken += 1;
            }
        }
        self.advance_start();
        out
    }

    /// Applies one acknowledgement batch from `member`: `types` has one type for the whole
    /// range or one per offset. Every offset must be acquired by `member` (Kafka answers
    /// INVALID_RECORD_STATE otherwise, and applies none of the batch).
    pub fn acknowledge(&mut self, member: &str, first: i64, last: i64, types: &[i8], delivery_limit: i16) -> Result<(), AckError> {
        if last < first || (types.len() != 1 && types.len() as i64 != last - first + 1) || types.is_empty() {
            return Err(AckError::InvalidRequest);
        }
        let type_of = |o: i64| if types.len() == 1 { types[0] } else { types[(o - first) as usize] };
        for o in first..=last {
            let t = type_of(o);
            if !(ACK_GAP..=ACK_REJECT).contains(&t) {
                return Err(AckError::InvalidRequest);
            }
            let held = matches!(self.in_flight.get(&o), Some(InFlight { state: State::Acquired { member: m, .. }, .. }) if m == member);
            // A gap may name an offset the log does not hold (compacted): nothing to check.
            let finished_gap = t == ACK_GAP && o >= self.start && o < self.next && !self.in_flight.contains_key(&o);
            if !(held || finished_gap) {
                return Err(AckError::InvalidRecordState);
            }
        }
        for o in first..=last {
            match type_of(o) {
                ACK_RELEASE => self.release_one(o, delivery_limit),
                _ => {
                    self.in_flight.remove(&o);
                }
            }
        }
        self.advance_start();
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckError {
    InvalidRequest,
    InvalidRecordState,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(max_records: usize) -> AcquireLimits {
        AcquireLimits { max_records, max_in_flight: 1000, lock: Duration::from_secs(30), delivery_limit: 3 }
    }
    fn batch(base: i64, last: i64) -> LogBatch {
        LogBatch { base, last, control: false }
    }

    #[test]
    fn acquire_acknowledge_and_the_start_offset() {
        let mut sp = SharePartition::new(0);
        let now = Instant::now();
        let a = sp.acquire("m1", &[batch(0, 4), batch(5, 9)], 10, now, &lim(6));
        assert_eq!(a, vec![Acquired { first: 0, last: 5, delivery_count: 1 }]);
        let b = sp.acquire("m2", &[batch(5, 9)], 10, now, &lim(100));
        assert_eq!(b, vec![Acquired { first: 6, last: 9, delivery_count: 1 }]);
        // m2 cannot acknowledge m1's records.
        assert_eq!(sp.acknowledge("m2", 0, 1, &[ACK_ACCEPT], 3), Err(AckError::InvalidRecordState));
        sp.acknowledge("m1", 0, 2, &[ACK_ACCEPT], 3).unwrap();
        assert_eq!(sp.start_offset(), 3);
        // A release makes 3 available again; reject archives 4.
        sp.acknowledge("m1", 3, 4, &[ACK_RELEASE, ACK_REJECT], 3).unwrap();
        assert_eq!(sp.start_offset(), 3);
        assert_eq!(sp.read_from(), 3);
        let c = sp.acquire("m2", &[batch(0, 4), batch(5, 9)], 10, now, &lim(100));
        assert_eq!(c, vec![Acquired { first: 3, last: 3, delivery_count: 2 }]);
        sp.acknowledge("m2", 3, 3, &[ACK_ACCEPT], 3).unwrap();
        sp.acknowledge("m1", 5, 5, &[ACK_ACCEPT], 3).unwrap();
        sp.acknowledge("m2", 6, 9, &[ACK_ACCEPT], 3).unwrap();
        assert_eq!(sp.start_offset(), 10);
        assert_eq!(sp.in_flight(), 0);
    }

    #[test]
    fn expired_locks_redeliver_until_the_delivery_limit() {
        let mut sp = SharePartition::new(0);
        let t0 = Instant::now();
        let l = lim(10);
        for round in 1..=3 {
            let now = t0 + Duration::from_secs(31 * (round - 1));
            sp.expire_locks(now, l.delivery_limit);
            let a = sp.acquire("m", &[batch(0, 1)], 2, now, &l);
            assert_eq!(a, vec![Acquired { first: 0, last: 1, delivery_count: round as i16 }]);
        }
        sp.expire_locks(t0 + Duration::from_secs(200), l.delivery_limit);
        assert_eq!(sp.start_offset(), 2, "archived after 3 deliveries");
        assert!(sp.acquire("m", &[batch(0, 1)], 2, t0, &l).is_empty());
    }

    #[test]
    fn control_batches_gaps_and_the_in_flight_limit() {
        let mut sp = SharePartition::new(0);
        let now = Instant::now();
        let mut l = lim(100);
        l.max_in_flight = 4;
        let batches = [batch(0, 1), LogBatch { base: 2, last: 2, control: true }, batch(5, 9)];
        let a = sp.acquire("m", &batches, 10, now, &l);
        // 5 would span 6 offsets from the start 0: past the limit of 4.
        assert_eq!(a, vec![Acquired { first: 0, last: 1, delivery_count: 1 }]);
        sp.acknowledge("m", 0, 1, &[ACK_ACCEPT], 3).unwrap();
        assert_eq!(sp.start_offset(), 5, "the control record and the compacted gap are finished");
        let b = sp.acquire("m", &[batch(5, 9)], 10, now, &l);
        assert_eq!(b, vec![Acquired { first: 5, last: 8, delivery_count: 1 }]);
        // Below the start offset nothing can be acknowledged.
        assert_eq!(sp.acknowledge("m", 3, 3, &[ACK_GAP], 3), Err(AckError::InvalidRecordState));
        sp.release_member("m", 3);
        assert_eq!(sp.read_from(), 5);
        sp.truncate_below(7);
        assert_eq!(sp.start_offset(), 7);
        assert_eq!(sp.acknowledge("m", 1, 0, &[ACK_ACCEPT], 3), Err(AckError::InvalidRequest));
    }
}
