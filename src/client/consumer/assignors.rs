//! Client-side partition assignors of the classic consumer protocol (the group leader runs
//! them): range and roundrobin, with Kafka's algorithms, plus the consumer protocol's
//! subscription/assignment encodings.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTp;
use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::collections::{BTreeMap, BTreeSet};

/// member id → topic → partitions.
pub type Assignment = BTreeMap<String, BTreeMap<String, Vec<i32>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    Range,
    RoundRobin,
}

impl Assignor {
    pub fn name(&self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
        }
    }

    pub fn parse(s: &str) -> Result<Assignor, String> {
        let last = s.rsplit('.').next().unwrap_or(s).to_ascii_lowercase();
        match last.as_str() {
            "range" | "rangeassignor" => Ok(Assignor::Range),
            "roundrobin" | "roundrobinassignor" => Ok(Assignor::RoundRobin),
            _ => Err(format!("unsupported partition.assignment.strategy '{s}' (rk supports range and roundrobin)")),
        }
    }

    /// Assigns `partitions` (topic → count) to `members` (id → subscribed topics).
    pub fn assign(&self, members: &BTreeMap<String, Vec<String>>, partitions: &BTreeMap<String, i32>) -> Assignment {
        let mut out: Assignment = members.keys().map(|m| (m.clone(), BTreeMap::new())).collect();
        match self {
            Assignor::Range => {
                for (topic, count) in partitions {
                    let subs: Vec<&String> = members.iter().filter(|(_, t)| t.contains(topic)).map(|(m, _)| m).collect();
                    if subs.is_empty() {
                        continue;
                    }
                    let per = *count as usize / subs.len();
                    let extra = *count as usize % subs.len();
                    let mut next = 0i32;
                    for (i, m) in subs.iter().enumerate() {
                        let n = (per + usize::from(i < extra)) as i32;
                        let ps: Vec<i32> = (next..next + n).collect();
                        next += n;
                        if !ps.is_empty() {
                            out.get_mut(*m).expect("member").insert(topic.clone(), ps);
                        }
                    }
                }
            }
            Assignor::RoundRobin => {
                let ids: Vec<&String> = members.keys().collect();
                let mut cursor = 0usize;
                for (topic, count) in partitions {
                    for p in 0..*count {
                        // Next member (circularly) subscribed to this topic.
                        for _ in 0..ids.len() {
                            let m = ids[cursor % ids.len()];
                            cursor += 1;
                            if members[m].contains(topic) {
                                out.get_mut(m).expect("member").entry(topic.clone()).or_default().push(p);
                                break;
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

const PROTOCOL_VERSION: i16 = 0;

pub fn encode_subscription(topics: &[String]) -> Bytes {
    let sub = ConsumerProtocolSubscription::default().with_topics(topics.iter().map(|t| StrBytes::from_string(t.clone())).collect());
    let mut b = BytesMut::new();
    b.put_i16(PROTOCOL_VERSION);
    sub.encode(&mut b, PROTOCOL_VERSION).expect("subscription encodes");
    b.freeze()
}

/// Decodes a member's subscription (any version 0-3; newer versions are read as 3).
pub fn decode_subscription(mut b: Bytes) -> Option<Vec<String>> {
    if b.remaining() < 2 {
        return None;
    }
    let v = b.get_i16().clamp(0, 3);
    ConsumerProtocolSubscription::decode(&mut b, v).ok().map(|s| s.topics.iter().map(|t| t.to_string()).collect())
}

pub fn encode_assignment(a: &BTreeMap<String, Vec<i32>>) -> Bytes {
    let asg = ConsumerProtocolAssignment::default().with_assigned_partitions(
        a.iter()
            .map(|(t, ps)| AssignedTp::default().with_topic(TopicName(StrBytes::from_string(t.clone()))).with_partitions(ps.clone()))
            .collect(),
    );
    let mut b = BytesMut::new();
    b.put_i16(PROTOCOL_VERSION);
    asg.encode(&mut b, PROTOCOL_VERSION).expect("assignment encodes");
    b.freeze()
}

pub fn decode_assignment(mut b: Bytes) -> Option<BTreeSet<(String, i32)>> {
    if b.remaining() < 2 {
        return Some(BTreeSet::new());
    }
    let v = b.get_i16().clamp(0, 3);
    let a = ConsumerProtocolAssignment::decode(&mut b, v).ok()?;
    Some(a.assigned_partitions.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic.0.to_string(), *p))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(n: usize, topics: &[&str]) -> BTreeMap<String, Vec<String>> {
        (0..n).map(|i| (format!("m{i}"), topics.iter().map(|t| t.to_string()).collect())).collect()
    }

    #[test]
    fn range_splits_consecutively() {
        let parts: BTreeMap<String, i32> = [("t".to_string(), 7)].into();
        let a = Assignor::Range.assign(&members(3, &["t"]), &parts);
        assert_eq!(a["m0"]["t"], vec![0, 1, 2]);
        assert_eq!(a["m1"]["t"], vec![3, 4]);
        assert_eq!(a["m2"]["t"], vec![5, 6]);
    }

    #[test]
    fn roundrobin_interleaves_and_round_trips() {
        let parts: BTreeMap<String, i32> = [("a".to_string(), 3), ("b".to_string(), 2)].into();
        let a = Assignor::RoundRobin.assign(&members(2, &["a", "b"]), &parts);
        assert_eq!(a["m0"]["a"], vec![0, 2]);
        assert_eq!(a["m1"]["a"], vec![1]);
        assert_eq!(a["m0"]["b"], vec![1]);
        assert_eq!(a["m1"]["b"], vec![0]);
        let enc = encode_assignment(&a["m0"]);
        let dec = decode_assignment(enc).unwrap();
        assert_eq!(dec.len(), 3);
        assert_eq!(decode_subscription(encode_subscription(&["x".into()])).unwrap(), vec!["x"]);
    }
}
