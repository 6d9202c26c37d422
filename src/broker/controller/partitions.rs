//! Partition-state commands of the controller (Kafka's ReplicationControlManager): ISR
//! changes a leader proposes (AlterPartition), validated against the partition's epochs so
//! a stale leader or a stale proposal is refused, and never adding a replica that is
//! fenced or shutting down.

use super::{Outcome, TopicError};
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use kafka_protocol::error::ResponseError as E;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A leader's ISR proposal for one partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlterIsr {
    pub broker: i32,
    pub broker_epoch: i64,
    pub topic_id: Uuid,
    pub partition: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub isr: Vec<i32>,
}

fn err<T>(e: E, msg: impl Into<String>) -> Outcome<T> {
    Err(TopicError(e.code(), msg.into()))
}

/// Validates an ISR change; returns the new partition epoch and the record.
pub(super) fn plan_alter(img: &MetadataImage, a: &AlterIsr) -> Outcome<(i64, Vec<MetadataRecord>)> {
    let Some(topic) = img.topic_by_id(&a.topic_id) else { return err(E::UnknownTopicId, "The topic id is not known.") };
    let Some(p) = topic.partitions.get(&a.partition) else {
        return err(E::UnknownTopicOrPartition, "This server does not host this topic-partition.");
    };
    if let Some(b) = img.brokers.get(&a.broker)
        && a.broker_epoch >= 0
        && b.epoch != a.broker_epoch
    {
        return err(E::StaleBrokerEpoch, format!("Expected broker epoch {}, but got broker epoch {}", b.epoch, a.broker_epoch));
    }
    if p.leader != a.broker {
        return err(E::NotLeaderOrFollower, format!("Broker {} is not the leader of the partition", a.broker));
    }
    if a.leader_epoch < p.leader_epoch {
        return err(E::FencedLeaderEpoch, "The leader epoch in the request is older than the partition's.");
    }
    if a.leader_epoch > p.leader_epoch {
        return err(E::UnknownLeaderEpoch, "The leader epoch in the request is newer than the partition's.");
    }
    if a.partition_epoch != p.partition_epoch {
        return err(E::InvalidUpdateVersion, "The partition epoch in the request is not the partition's.");
    }
    if !a.isr.contains(&p.leader) || a.isr.iter().any(|r| !p.replicas.contains(r)) {
        return err(E::InvalidRequest, format!("The ISR {:?} must hold the leader and only replicas of {:?}", a.isr, p.replicas));
    }
    for r in a.isr.iter().filter(|r| !p.isr.contains(r)) {
        let usable = img.brokers.get(r).is_some_and(|b| !b.fenced && !b.in_controlled_shutdown);
        if !usable {
            return err(E::IneligibleReplica, format!("Replica {r} is fenced or shutting down and cannot join the ISR."));
        }
    }
    let mut isr = a.isr.clone();
    isr.sort_by_key(|r| p.replicas.iter().position(|x| x == r));
    isr.dedup();
    if isr == p.isr {
        return Ok((p.partition_epoch as i64, Vec::new()));
    }
    let mut next = p.clone();
    next.isr = isr;
    next.partition_epoch += 1;
    // A reassignment whose target is now in sync completes with this change.
    let usable = |b: i32| img.brokers.get(&b).is_some_and(|x| !x.fenced && !x.in_controlled_shutdown);
    if let Some(mut done) = super::reassign::maybe_complete(&next, &usable) {
        done.partition_epoch = next.partition_epoch;
        next = done;
    }
    Ok((next.partition_epoch as i64, vec![MetadataRecord::partition(topic.id, a.partition, &next)]))
}

pub const PREFERRED: i8 = 0;
pub const UNCLEAN: i8 = 1;

/// One partition's election outcome: (topic, partition, error code, message).
pub type Elected = (String, i32, i16, Option<String>);

/// ElectLeaders (Kafka's ReplicationControlManager.electLeaders): the preferred replica
/// when it is in sync and usable, or (unclean) any usable replica of a leaderless one.
pub(super) fn plan_elect(img: &MetadataImage, election: i8, partitions: &[(String, i32)]) -> (Vec<Elected>, Vec<MetadataRecord>) {
    let usable = |b: i32| img.brokers.get(&b).is_some_and(|x| !x.fenced && !x.in_controlled_shutdown);
    let mut results = Vec::new();
    let mut records = Vec::new();
    for (topic, idx) in partitions {
        let Some((t, p)) = img.topic(topic).and_then(|t| t.partitions.get(idx).map(|p| (t, p))) else {
            let msg = format!("The partition {topic}-{idx} does not exist.");
            results.push((topic.clone(), *idx, E::UnknownTopicOrPartition.code(), Some(msg)));
            continue;
        };
        let not_needed =
            || (topic.clone(), *idx, E::ElectionNotNeeded.code(), Some("Leader election not needed for topic partition.".into()));
        let mut next = p.clone();
        if election == PREFERRED {
            let preferred = p.replicas.first().copied().unwrap_or(-1);
            if p.leader == preferred && preferred >= 0 {
                results.push(not_needed());
                continue;
            }
            if !(p.isr.contains(&preferred) && usable(preferred)) {
                let msg = format!(
                    "Failed to elect leader for partition {topic}-{idx} under strategy PreferredReplicaPartitionLeaderElectionStrategy"
                );
                results.push((topic.clone(), *idx, E::PreferredLeaderNotAvailable.code(), Some(msg)));
                continue;
            }
            next.leader = preferred;
        } else {
            if p.leader >= 0 {
                results.push(not_needed());
                continue;
            }
            match p
                .replicas
                .iter()
                .copied()
                .find(|r| p.isr.contains(r) && usable(*r))
                .or_else(|| p.replicas.iter().copied().find(|r| usable(*r)))
            {
                Some(r) => {
                    if !p.isr.contains(&r) {
                        next.isr = vec![r];
                    }
                    next.leader = r;
                }
                None => {
                    let msg = format!("Failed to elect leader for partition {topic}-{idx} under strategy UncleanLeaderElectionStrategy");
                    results.push((topic.clone(), *idx, E::EligibleLeadersNotAvailable.code(), Some(msg)));
                    continue;
                }
            }
        }
        next.leader_epoch += 1;
        next.partition_epoch += 1;
        records.push(MetadataRecord::partition(t.id, *idx, &next));
        results.push((topic.clone(), *idx, 0, None));
    }
    (results, records)
}

/// Partitions whose preferred replica is in sync and usable but does not lead (the
/// auto leader rebalance's work), at most `limit`.
pub(super) fn imbalanced(img: &MetadataImage, limit: usize) -> Vec<(String, i32)> {
    let usable = |b: i32| img.brokers.get(&b).is_some_and(|x| !x.fenced && !x.in_controlled_shutdown);
    let mut out = Vec::new();
    for t in img.topics.values() {
        for (i, p) in &t.partitions {
            let preferred = p.replicas.first().copied().unwrap_or(-1);
            if p.leader != preferred && p.isr.contains(&preferred) && usable(preferred) {
                out.push((t.name.clone(), *i));
                if out.len() >= limit {
                    return out;
                }
            }
        }
    }
    out
}
