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
    /// Incremental (KIP-429): sticky balancing, and a partition that changes owner is
    /// first revoked by its old owner and handed over in the follow-up rebalance.
    CooperativeSticky,
}

/// A member's subscription as the leader sees it.
#[derive(Debug, Clone, Default)]
pub struct MemberSubscription {
    pub topics: Vec<String>,
    pub owned: BTreeSet<(String, i32)>,
}

impl Assignor {
    pub fn name(&self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// Cooperative assignors never take partitions away and give them out in one step.
    pub fn is_cooperative(&self) -> bool {
        matches!(self, Assignor::CooperativeSticky)
    }

    pub fn parse(s: &str) -> Result<Assignor, String> {
        let last = s.rsplit('.').next().unwrap_or(s).to_ascii_lowercase();
        match last.as_str() {
            "range" | "rangeassignor" => Ok(Assignor::Range),
            "roundrobin" | "roundrobinassignor" => Ok(Assignor::RoundRobin),
            "cooperative-sticky" | "cooperativestickyassignor" => Ok(Assignor::CooperativeSticky),
            _ => Err(format!("unsupported partition.assignment.strategy '{s}' (rk supports range, roundrobin and cooperative-sticky)")),
        }
    }

    /// Assigns `partitions` (topic → count) to members (id → subscription).
    pub fn assign_members(&self, members: &BTreeMap<String, MemberSubscription>, partitions: &BTreeMap<String, i32>) -> Assignment {
        match self {
            Assignor::CooperativeSticky => cooperative_sticky(members, partitions),
            _ => self.assign(&members.iter().map(|(m, s)| (m.clone(), s.topics.clone())).collect(), partitions),
        }
    }

    /// Assigns `partitions` (topic → count) to `members` (id → subscribed topics).
    pub fn assign(&self, members: &BTreeMap<String, Vec<String>>, partitions: &BTreeMap<String, i32>) -> Assignment {
        let mut out: Assignment = members.keys().map(|m| (m.clone(), BTreeMap::new())).collect();
        match self {
            Assignor::CooperativeSticky => {
                let subs =
                    members.iter().map(|(m, t)| (m.clone(), MemberSubscription { topics: t.clone(), owned: BTreeSet::new() })).collect();
                return cooperative_sticky(&subs, partitions);
            }
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

/// Sticky and balanced: members keep what they own up to their fair share, the rest goes
/// to the least-loaded eligible member; a partition owned by someone else is withheld this
/// round (its owner revokes it first, the next rebalance hands it over).
fn cooperative_sticky(members: &BTreeMap<String, MemberSubscription>, partitions: &BTreeMap<String, i32>) -> Assignment {
    let mut out: Assignment = members.keys().map(|m| (m.clone(), BTreeMap::new())).collect();
    let all: Vec<(String, i32)> = partitions
        .iter()
        .filter(|(t, _)| members.values().any(|s| s.topics.contains(t)))
        .flat_map(|(t, n)| (0..*n).map(move |p| (t.clone(), p)))
        .collect();
    let quota = all.len().div_ceil(members.len().max(1));
    let mut owner: BTreeMap<(String, i32), String> = BTreeMap::new();
    let mut load: BTreeMap<&String, usize> = members.keys().map(|m| (m, 0)).collect();
    for (m, s) in members {
        for tp in &s.owned {
            let valid = s.topics.contains(&tp.0) && partitions.get(&tp.0).is_some_and(|n| tp.1 < *n);
            if valid && !owner.contains_key(tp) && load[m] < quota {
                owner.insert(tp.clone(), m.clone());
                *load.get_mut(m).expect("member") += 1;
            }
        }
    }
    for tp in &all {
        if owner.contains_key(tp) {
            continue;
        }
        let target = members.iter().filter(|(_, s)| s.topics.contains(&tp.0)).map(|(m, _)| m).min_by_key(|m| (load[*m], (*m).clone()));
        if let Some(m) = target {
            owner.insert(tp.clone(), m.clone());
            *load.get_mut(m).expect("member") += 1;
        }
    }
    let previous: BTreeMap<&(String, i32), &String> = members.iter().flat_map(|(m, s)| s.owned.iter().map(move |tp| (tp, m))).collect();
    for (tp, m) in owner {
        // Withhold a partition still owned by another member until it is revoked.
        if previous.get(&tp).is_some_and(|prev| **prev != m) {
            continue;
        }
        out.get_mut(&m).expect("member").entry(tp.0).or_default().push(tp.1);
    }
    out
}

/// Version 1 carries the partitions the member owns (needed by cooperative rebalancing).
const PROTOCOL_VERSION: i16 = 1;

pub fn encode_subscription(topics: &[String], owned: &BTreeSet<(String, i32)>) -> Bytes {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in owned {
        by_topic.entry(t).or_default().push(*p);
    }
    let sub = ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| StrBytes::from_string(t.clone())).collect())
        .with_owned_partitions(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    kafka_protocol::messages::consumer_protocol_subscription::TopicPartition::default()
                        .with_topic(TopicName(StrBytes::from_string(t.to_string())))
                        .with_partitions(ps)
                })
                .collect(),
        );
    let mut b = BytesMut::new();
    b.put_i16(PROTOCOL_VERSION);
    sub.encode(&mut b, PROTOCOL_VERSION).expect("subscription encodes");
    b.freeze()
}

/// Decodes a member's subscription (any version 0-3; newer versions are read as 3).
pub fn decode_subscription(mut b: Bytes) -> Option<MemberSubscription> {
    if b.remaining() < 2 {
        return None;
    }
    let v = b.get_i16().clamp(0, 3);
    ConsumerProtocolSubscription::decode(&mut b, v).ok().map(|s| MemberSubscription {
        topics: s.topics.iter().map(|t| t.to_string()).collect(),
        owned: s.owned_partitions.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic.0.to_string(), *p))).collect(),
    })
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
        let owned: BTreeSet<(String, i32)> = [("x".to_string(), 2)].into();
        let sub = decode_subscription(encode_subscription(&["x".into()], &owned)).unwrap();
        assert_eq!((sub.topics, sub.owned), (vec!["x".to_string()], owned));
    }

    #[test]
    fn cooperative_sticky_withholds_moving_partitions() {
        let parts: BTreeMap<String, i32> = [("t".to_string(), 4)].into();
        let mut members: BTreeMap<String, MemberSubscription> = BTreeMap::new();
        let owned_all: BTreeSet<(String, i32)> = (0..4).map(|p| ("t".to_string(), p)).collect();
        members.insert("a".into(), MemberSubscription { topics: vec!["t".into()], owned: owned_all });
        members.insert("b".into(), MemberSubscription { topics: vec!["t".into()], owned: BTreeSet::new() });
        // Round 1: a keeps its fair share; the two moving to b are withheld (a revokes them).
        let r1 = Assignor::CooperativeSticky.assign_members(&members, &parts);
        assert_eq!(r1["a"]["t"], vec![0, 1]);
        assert!(r1["b"].is_empty());
        // Round 2: a owns [0, 1] now; b gets the freed partitions.
        members.get_mut("a").unwrap().owned = [("t".to_string(), 0), ("t".to_string(), 1)].into();
        let r2 = Assignor::CooperativeSticky.assign_members(&members, &parts);
        assert_eq!(r2["a"]["t"], vec![0, 1]);
        assert_eq!(r2["b"]["t"], vec![2, 3]);
    }
}
