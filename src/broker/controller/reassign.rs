//! Partition reassignment on the controller (Kafka's ReplicationControlManager
//! alterPartitionReassignments / listPartitionReassignments, KIP-455): a reassignment
//! adds the target's new replicas first (replicas = target ++ removing); the new ones
//! fetch and join the ISR, and when the ISR holds the whole target the old replicas go and
//! leadership moves into the target if it has to. A cancel reverts to the original replicas.

use super::{Outcome, PlanContext, TopicError, brokers};
use crate::broker::metadata::{MetadataImage, MetadataRecord, PartitionImage};
use kafka_protocol::error::ResponseError as E;
use std::collections::HashSet;

/// One partition's reassignment request: a new replica list, or None to cancel.
pub type Reassignment = (String, i32, Option<Vec<i32>>);

fn err<T>(e: E, msg: impl Into<String>) -> Outcome<T> {
    Err(TopicError(e.code(), msg.into()))
}

/// The target replicas of a partition under reassignment (replicas without `removing`).
fn target(p: &PartitionImage) -> Vec<i32> {
    p.replicas.iter().copied().filter(|r| !p.removing.contains(r)).collect()
}

/// Finishes a reassignment whose target is entirely in sync: the target becomes the
/// replica set, the ISR keeps only target members, a leader outside the target hands over.
pub(super) fn maybe_complete(p: &PartitionImage, usable: &dyn Fn(i32) -> bool) -> Option<PartitionImage> {
    if p.adding.is_empty() && p.removing.is_empty() {
        return None;
    }
    let t = target(p);
    if !t.iter().all(|r| p.isr.contains(r)) {
        return None;
    }
    let mut next = p.clone();
    next.replicas = t.clone();
    next.isr = p.isr.iter().copied().filter(|r| t.contains(r)).collect();
    next.adding.clear();
    next.removing.clear();
    if !t.contains(&p.leader) {
        next.leader = t.iter().copied().find(|r| next.isr.contains(r) && usable(*r)).unwrap_or(-1);
        next.leader_epoch += 1;
    }
    next.partition_epoch += 1;
    Some(next)
}

fn plan_one(
    ctx: &PlanContext<'_>,
    img: &MetadataImage,
    topic: &str,
    idx: i32,
    replicas: &Option<Vec<i32>>,
) -> Outcome<Vec<MetadataRecord>> {
    let Some(t) = img.topic(topic) else { return err(E::UnknownTopicOrPartition, "The partition does not exist.") };
    let Some(p) = t.partitions.get(&idx) else { return err(E::UnknownTopicOrPartition, "The partition does not exist.") };
    let usable = |b: i32| img.brokers.get(&b).is_some_and(|x| !x.fenced && !x.in_controlled_shutdown);
    let Some(wanted) = replicas else {
        if p.adding.is_empty() && p.removing.is_empty() {
            return err(E::NoReassignmentInProgress, format!("No ongoing reassignment for partition {topic}-{idx}."));
        }
        // Cancel: back to the original replicas (what was there before the adding).
        let mut next = p.clone();
        next.replicas = p.replicas.iter().copied().filter(|r| !p.adding.contains(r)).collect();
        next.isr = p.isr.iter().copied().filter(|r| next.replicas.contains(r)).collect();
        next.adding.clear();
        next.removing.clear();
        if next.isr.is_empty() {
            next.isr = vec![p.leader];
        }
        if !next.replicas.contains(&p.leader) {
            next.leader = next.replicas.iter().copied().find(|r| next.isr.contains(r) && usable(*r)).unwrap_or(-1);
            next.leader_epoch += 1;
        }
        next.partition_epoch += 1;
        return Ok(vec![MetadataRecord::partition(t.id, idx, &next)]);
    };
    if wanted.is_empty() {
        return err(E::InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list.");
    }
    let mut seen = HashSet::new();
    for r in wanted {
        if !seen.insert(*r) {
            return err(E::InvalidReplicaAssignment, format!("The manual partition assignment includes the broker {r} more than once."));
        }
        if !img.brokers.contains_key(r) && ctx.kraft {
            return err(
                E::InvalidReplicaAssignment,
                format!("The manual partition assignment includes broker {r}, but no broker with that id is registered."),
            );
        }
    }
    // A new reassignment replaces one in progress: start from the original replicas.
    let original: Vec<i32> = p.replicas.iter().copied().filter(|r| !p.adding.contains(r)).collect();
    if *wanted == original && p.adding.is_empty() && p.removing.is_empty() {
        return Ok(Vec::new());
    }
    let mut next = p.clone();
    next.adding = wanted.iter().copied().filter(|r| !original.contains(r)).collect();
    next.removing = original.iter().copied().filter(|r| !wanted.contains(r)).collect();
    next.replicas = wanted.iter().copied().chain(next.removing.iter().copied()).collect();
    next.isr = p.isr.iter().copied().filter(|r| next.replicas.contains(r)).collect();
    next.partition_epoch += 1;
    // Nothing to add (only removals): done at once.
    let done = maybe_complete(&next, &usable);
    let next = match done {
        Some(mut d) => {
            d.partition_epoch = next.partition_epoch;
            if d.leader < 0 {
                d.leader = brokers::elect(&d, None, &usable, false).map_or(-1, |x| x.leader);
            }
            d
        }
        None => next,
    };
    Ok(vec![MetadataRecord::partition(t.id, idx, &next)])
}

/// AlterPartitionReassignments: each partition's outcome and the records.
pub(super) fn plan_alter(
    ctx: &PlanContext<'_>,
    img: &mut MetadataImage,
    items: &[Reassignment],
) -> (Vec<Outcome<()>>, Vec<MetadataRecord>) {
    let mut out = Vec::new();
    let mut records = Vec::new();
    for (topic, idx, replicas) in items {
        match plan_one(ctx, img, topic, *idx, replicas) {
            Ok(recs) => {
                for r in &recs {
                    img.apply(r);
                }
                records.extend(recs);
                out.push(Ok(()));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    (out, records)
}

/// A reassignment in progress: (topic, partition, replicas, adding, removing).
pub type Ongoing = (String, i32, Vec<i32>, Vec<i32>, Vec<i32>);

/// ListPartitionReassignments: every partition (of `only`, when given) with a
/// reassignment in progress.
pub fn list(img: &MetadataImage, only: Option<&[(String, i32)]>) -> Vec<Ongoing> {
    let mut out = Vec::new();
    for t in img.topics.values() {
        for (i, p) in &t.partitions {
            if (p.adding.is_empty() && p.removing.is_empty()) || only.is_some_and(|o| !o.iter().any(|(n, x)| *n == t.name && x == i)) {
                continue;
            }
            out.push((t.name.clone(), *i, p.replicas.clone(), p.adding.clone(), p.removing.clone()));
        }
    }
    out
}
