//! RecordAccumulator: the producer's queue of batches per partition. `send()` appends here
//! under a short lock (partitioning and record encoding included); the sender drains at most
//! one batch per partition per round, so a partition's batches leave in order. Records for
//! a topic whose metadata is not known yet wait in arrival order until the sender has it.

use super::batch::{ProducerBatch, RecordRef};
use super::{Delivery, ProducerRecord, RecordMetadata, partitioner};
use crate::client::connection::ClientError;
use kafka_protocol::error::ResponseError;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

type Waiting = (ProducerRecord, i64, oneshot::Sender<Result<RecordMetadata, ClientError>>);

struct TopicState {
    name: Arc<str>,
    count: i32,
    /// Where keyless records go until their batch fills up (KIP-480).
    sticky: Option<i32>,
    parts: Vec<VecDeque<ProducerBatch>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn record_ref(r: &ProducerRecord, timestamp: i64) -> RecordRef<'_> {
    RecordRef { timestamp, key: r.key.as_deref(), value: r.value.as_deref(), headers: &r.headers }
}

impl TopicState {
    fn choose(&mut self, r: &RecordRef, explicit: Option<i32>, batch_size: usize) -> Result<i32, ClientError> {
        let count = self.count;
        match (explicit, r.key) {
            (Some(p), _) if p >= count || p < 0 => {
                let msg = format!("Invalid partition given with record: {p} is not in the range [0...{count}).");
                Err(ClientError::kafka_msg(ResponseError::UnknownTopicOrPartition.code(), Some(&msg)))
            }
            (Some(p), _) => Ok(p),
            (None, Some(k)) => Ok(partitioner::partition_for_key(k, count)),
            (None, None) => {
                let p = *self.sticky.get_or_insert_with(|| rand::random_range(0..count));
                // A record that would start a new batch moves the sticky partition first.
                if count > 1 && self.parts[p as usize].back().is_some_and(|b| !b.is_empty() && !b.fits(r, batch_size)) {
                    let next = (p + rand::random_range(1..count)) % count;
                    self.sticky = Some(next);
                    return Ok(next);
                }
                Ok(p)
            }
        }
    }

    /// Appends to partition `p`'s last batch, or a new one when it is full. True when the
    /// sender has something new to look at (a batch filled up or started its linger).
    fn append(&mut self, p: i32, r: &RecordRef, batch_size: usize) -> (&mut ProducerBatch, bool) {
        let q = &mut self.parts[p as usize];
        let mut wake = false;
        if q.back().is_none_or(|b| !b.fits(r, batch_size) && (!b.is_empty() || b.is_sealed())) {
            q.push_back(ProducerBatch::new(self.name.clone(), p, batch_size));
            wake = true;
        }
        let b = q.back_mut().expect("a batch was just ensured");
        (b, wake)
    }
}

pub(crate) struct Accumulator {
    topics: HashMap<String, TopicState>,
    waiting: VecDeque<Waiting>,
    pub flush_waiters: Vec<oneshot::Sender<()>>,
    pub closed: bool,
    batch_size: usize,
}

impl Accumulator {
    pub fn new(batch_size: usize) -> Accumulator {
        Accumulator {
            topics: HashMap::new(),
            waiting: VecDeque::new(),
            flush_waiters: Vec::new(),
            closed: false,
            batch_size: batch_size.max(1),
        }
    }

    /// Queues a record. The bool asks the sender to wake up.
    pub fn append(&mut self, record: ProducerRecord) -> (Delivery, bool) {
        let ts = record.timestamp.unwrap_or_else(now_ms);
        let Some(t) = self.topics.get_mut(record.topic.as_str()) else {
            let (tx, rx) = oneshot::channel();
            self.waiting.push_back((record, ts, tx));
            return (Delivery::single(rx), true);
        };
        let r = record_ref(&record, ts);
        let p = match t.choose(&r, record.partition, self.batch_size) {
            Ok(p) => p,
            Err(e) => return (Delivery::failed(e), false),
        };
        let (batch, new_batch) = t.append(p, &r, self.batch_size);
        let d = batch.append(&r);
        (d, new_batch || batch.size() >= self.batch_size)
    }

    /// Topics that records are waiting for.
    pub fn waiting_topics(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for (r, _, _) in &self.waiting {
            if !v.contains(&r.topic) {
                v.push(r.topic.clone());
            }
        }
        v
    }

    /// Metadata for a waiting topic arrived (its partition count) or failed: the records
    /// waiting for it are appended in order, or failed.
    pub fn resolve(&mut self, topic: &str, count: Result<i32, ClientError>) {
        let (mine, rest): (VecDeque<Waiting>, VecDeque<Waiting>) = self.waiting.drain(..).partition(|(r, _, _)| r.topic == topic);
        self.waiting = rest;
        match count {
            Ok(n) => {
                self.set_count(topic, n);
                let t = self.topics.get_mut(topic).expect("set_count inserts the topic");
                for (record, ts, tx) in mine {
                    let r = record_ref(&record, ts);
                    match t.choose(&r, record.partition, self.batch_size) {
                        Ok(p) => t.append(p, &r, self.batch_size).0.append_forwarded(&r, tx),
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                }
            }
            Err(e) => {
                for (_, _, tx) in mine {
                    let _ = tx.send(Err(super::batch::dup_error(&e)));
                }
            }
        }
    }

    /// Records a topic's partition count (new topic, or partitions added).
    pub fn set_count(&mut self, topic: &str, n: i32) {
        let t = self.topics.entry(topic.to_string()).or_insert_with(|| TopicState {
            name: Arc::from(topic),
            count: 0,
            sticky: None,
            parts: Vec::new(),
        });
        if n > t.count {
            t.count = n;
            t.parts.resize_with(n as usize, VecDeque::new);
        }
    }

    /// Takes at most one sendable batch per partition (full, lingered, retrying, or
    /// everything on flush/close) whose leader `can_send` accepts.
    pub fn drain(&mut self, linger: Duration, mut can_send: impl FnMut(&Arc<str>, i32) -> bool) -> Vec<ProducerBatch> {
        let now = Instant::now();
        let force = self.closed || !self.flush_waiters.is_empty();
        let mut out = Vec::new();
        for t in self.topics.values_mut() {
            for (p, q) in t.parts.iter_mut().enumerate() {
                let Some(front) = q.front() else { continue };
                if front.retry_at.is_some_and(|at| at > now) {
                    continue;
                }
                let due = force || q.len() > 1 || front.size() >= self.batch_size || front.attempts > 0 || front.created + linger <= now;
                if due && can_send(&t.name, p as i32) {
                    out.extend(q.pop_front());
                    if q.is_empty() && t.sticky == Some(p as i32) {
                        t.sticky = None;
                    }
                }
            }
        }
        out
    }

    /// The earliest moment a queued batch that is not sendable yet becomes due.
    pub fn next_deadline(&self, linger: Duration) -> Option<Instant> {
        self.topics.values().flat_map(|t| t.parts.iter()).filter_map(|q| q.front()).map(|b| b.retry_at.unwrap_or(b.created + linger)).min()
    }

    /// Puts a batch back at the head of its partition's queue (a retry). Batches with
    /// sequence numbers go back in sequence order, whatever order their failures arrived
    /// in, so the retries reach the broker in order (Java's insertInSequenceOrder).
    pub fn requeue(&mut self, batch: ProducerBatch) {
        self.set_count(&batch.topic, batch.partition + 1);
        if let Some(t) = self.topics.get_mut(&*batch.topic) {
            let q = &mut t.parts[batch.partition as usize];
            // An unsequenced batch goes before the other unsequenced ones (it is older)
            // but after every sequenced one.
            let seq = batch.base_sequence;
            let at = q.iter().position(|b| b.base_sequence < 0 || (seq >= 0 && b.base_sequence > seq)).unwrap_or(q.len());
            q.insert(at, batch);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.topics.values().all(|t| t.parts.iter().all(|q| q.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Failures of pipelined batches arrive in any order; the retries must leave in
    /// sequence order or the broker refuses all but the first (OUT_OF_ORDER_SEQUENCE).
    #[test]
    fn retried_batches_go_back_in_sequence_order() {
        let mut acc = Accumulator::new(1024);
        let t: Arc<str> = Arc::from("t");
        acc.set_count("t", 1);
        let fresh = ProducerBatch::new(t.clone(), 0, 1024);
        acc.requeue(fresh); // not yet sequenced: stays behind the retries
        let mut b = ProducerBatch::new(t.clone(), 0, 1024);
        b.base_sequence = 40;
        acc.requeue(b);
        acc.requeue(ProducerBatch::new(t.clone(), 0, 1024)); // after 40, before the fresh one
        for seq in [20, 0, 30, 10] {
            let mut b = ProducerBatch::new(t.clone(), 0, 1024);
            b.base_sequence = seq;
            acc.requeue(b);
        }
        let order: Vec<i32> = acc.topics["t"].parts[0].iter().map(|b| b.base_sequence).collect();
        assert_eq!(order, vec![0, 10, 20, 30, 40, -1, -1]);
    }

    /// A sent batch that comes back for a retry must not take new records: its bytes are
    /// sealed, so they would be acknowledged without ever being sent (a lost-data bug
    /// found with a broker killed mid-stream).
    #[test]
    fn a_retried_batch_takes_no_new_records() {
        let mut acc = Accumulator::new(1 << 20);
        acc.set_count("t", 1);
        let rec =
            |v: &str| ProducerRecord { topic: "t".into(), partition: Some(0), value: Some(v.to_string().into()), ..Default::default() };
        drop(acc.append(rec("a")));
        let mut sent = acc.drain(Duration::ZERO, |_, _| true);
        assert_eq!(sent.len(), 1);
        let mut b = sent.pop().unwrap();
        b.base_sequence = 0;
        let codec =
            super::super::batch::Codec { compression: kafka_protocol::records::Compression::None, level: None, transactional: false };
        b.seal(codec, 1, 0).unwrap();
        acc.requeue(b);
        drop(acc.append(rec("b")));
        let q = &acc.topics["t"].parts[0];
        assert_eq!(q.len(), 2, "the new record starts a batch of its own");
        assert_eq!((q[0].record_count(), q[1].record_count()), (1, 1));
    }
}
