//! Broker lifecycle commands of the controller (Kafka's ClusterControlManager and the
//! election half of ReplicationControlManager): registration (a new incarnation starts
//! fenced), fencing (a broker that stopped heart-beating leaves every ISR and loses its
//! leaderships), unfencing (leaderless partitions get a leader again) and controlled
//! shutdown (leaderships move away while the broker still runs). Leaders are elected from
//! the ISR in replica order; an unclean election (topic or broker config) may pick an
//! out-of-sync replica when no in-sync one is left.

use super::{Outcome, PlanContext, TopicError};
use crate::broker::metadata::{MetadataImage, MetadataRecord, PartitionImage, TopicImage};
use kafka_protocol::error::ResponseError as E;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum BrokerCommand {
    Register {
        id: i32,
        host: String,
        port: u16,
        rack: Option<String>,
        #[serde(default)]
        listeners: Vec<(String, String, u16)>,
    },
    Fence {
        id: i32,
        epoch: i64,
    },
    Unfence {
        id: i32,
        epoch: i64,
    },
    ControlledShutdown {
        id: i32,
        epoch: i64,
    },
}

/// A broker's heartbeat to the active controller (registration included: epoch -1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrokerHeartbeat {
    pub id: i32,
    pub epoch: i64,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    /// Every client listener: (name, advertised host, port).
    #[serde(default)]
    pub listeners: Vec<(String, String, u16)>,
    /// The metadata offset this broker has applied.
    pub metadata_offset: i64,
    pub want_shutdown: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum HeartbeatReply {
    Ok {
        epoch: i64,
        fenced: bool,
        should_shutdown: bool,
    },
    /// Not the active controller; the leader if known.
    NotController(Option<i32>),
    Error(String),
}

/// Whether `topic` allows unclean leader election (topic override, else broker default).
fn unclean(ctx: &PlanContext<'_>, topic: &TopicImage) -> bool {
    match topic.configs.get("unclean.leader.election.enable") {
        Some(v) => v.trim().eq_ignore_ascii_case("true"),
        None => ctx.config.flag("unclean.leader.election.enable"),
    }
}

/// The partition after `gone` may no longer be in sync or lead, with a leader elected
/// from what is left (`usable`: brokers that may lead). None when nothing changes.
pub(super) fn elect(p: &PartitionImage, gone: Option<i32>, usable: &dyn Fn(i32) -> bool, unclean: bool) -> Option<PartitionImage> {
    let mut next = p.clone();
    if let Some(g) = gone {
        let isr: Vec<i32> = p.isr.iter().copied().filter(|r| *r != g).collect();
        // The last in-sync replica stays in the ISR (it alone has every acknowledged
        // record): the partition waits, leaderless, for it to come back.
        if !isr.is_empty() {
            next.isr = isr;
        }
    }
    let leader_ok = |l: i32| l >= 0 && usable(l) && next.isr.contains(&l) && Some(l) != gone;
    if !leader_ok(next.leader) {
        next.leader = p.replicas.iter().copied().find(|r| leader_ok(*r)).unwrap_or(-1);
        if next.leader < 0
            && unclean
            && let Some(r) = p.replicas.iter().copied().find(|r| usable(*r) && Some(*r) != gone)
        {
            // Unclean: an out-of-sync replica leads; acknowledged records may be lost.
            next.leader = r;
            next.isr = vec![r];
        }
    }
    if next == *p {
        return None;
    }
    if next.leader != p.leader {
        next.leader_epoch += 1;
    }
    next.partition_epoch += 1;
    Some(next)
}

/// Partition changes for every partition that `broker` is a replica of.
fn reelect(
    ctx: &PlanContext<'_>,
    img: &MetadataImage,
    gone: Option<i32>,
    usable: &dyn Fn(i32) -> bool,
    touches: i32,
) -> Vec<MetadataRecord> {
    let mut out = Vec::new();
    for t in img.topics.values() {
        let unclean = unclean(ctx, t);
        for (i, p) in &t.partitions {
            if !p.replicas.contains(&touches) {
                continue;
            }
            if let Some(next) = elect(p, gone, usable, unclean) {
                out.push(MetadataRecord::partition(t.id, *i, &next));
            }
        }
    }
    out
}

fn registered(img: &MetadataImage, id: i32, epoch: i64) -> Outcome<()> {
    match img.brokers.get(&id) {
        Some(b) if b.epoch == epoch => Ok(()),
        Some(b) => Err(TopicError(E::StaleBrokerEpoch.code(), format!("Expected broker epoch {}, but got broker epoch {epoch}", b.epoch))),
        None => Err(TopicError(E::BrokerIdNotRegistered.code(), format!("Broker {id} is not registered"))),
    }
}

/// Plans one lifecycle command: the broker epoch it concerns and the records.
pub(super) fn plan(ctx: &PlanContext<'_>, img: &MetadataImage, cmd: BrokerCommand) -> Outcome<(i64, Vec<MetadataRecord>)> {
    let usable_except = |gone: i32| move |b: i32| b != gone && img.brokers.get(&b).is_some_and(|x| !x.fenced && !x.in_controlled_shutdown);
    match cmd {
        BrokerCommand::Register { id, host, port, rack, listeners } => {
            // A new incarnation: the old one (if it still counted) leaves ISRs and
            // leaderships first; the new one starts fenced until it caught up.
            // Unique per incarnation: past the metadata offset and every epoch handed out
            // (two registrations planned in one batch see the same offset).
            let epoch = img.brokers.values().map(|b| b.epoch + 1).fold(img.offset, i64::max);
            let mut recs = Vec::new();
            if img.brokers.contains_key(&id) {
                recs.extend(reelect(ctx, img, Some(id), &usable_except(id), id));
            }
            recs.push(MetadataRecord::RegisterBroker { id, epoch, host, port, rack, listeners });
            Ok((epoch, recs))
        }
        BrokerCommand::Fence { id, epoch } => {
            registered(img, id, epoch)?;
            let mut recs = vec![MetadataRecord::BrokerChange { id, epoch, fenced: Some(true), in_controlled_shutdown: None }];
            recs.extend(reelect(ctx, img, Some(id), &usable_except(id), id));
            Ok((epoch, recs))
        }
        BrokerCommand::ControlledShutdown { id, epoch } => {
            registered(img, id, epoch)?;
            let mut recs = vec![MetadataRecord::BrokerChange { id, epoch, fenced: None, in_controlled_shutdown: Some(true) }];
            recs.extend(reelect(ctx, img, Some(id), &usable_except(id), id));
            Ok((epoch, recs))
        }
        BrokerCommand::Unfence { id, epoch } => {
            registered(img, id, epoch)?;
            let recs = vec![MetadataRecord::BrokerChange { id, epoch, fenced: Some(false), in_controlled_shutdown: Some(false) }];
            let mut after = img.clone();
            for r in &recs {
                after.apply(r);
            }
            let usable = |b: i32| after.brokers.get(&b).is_some_and(|x| !x.fenced && !x.in_controlled_shutdown);
            let mut out = recs;
            out.extend(reelect(ctx, &after, None, &usable, id));
            Ok((epoch, out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(replicas: &[i32], isr: &[i32], leader: i32) -> PartitionImage {
        PartitionImage {
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            leader,
            leader_epoch: 5,
            partition_epoch: 7,
            adding: vec![],
            removing: vec![],
        }
    }

    #[test]
    fn a_fenced_leader_is_replaced_from_the_isr_in_replica_order() {
        let p = part(&[1, 2, 3], &[1, 2, 3], 1);
        let n = elect(&p, Some(1), &|b| b != 1, false).unwrap();
        assert_eq!((n.leader, n.isr.clone(), n.leader_epoch, n.partition_epoch), (2, vec![2, 3], 6, 8));
        // A follower leaving changes the ISR, not the leader or its epoch.
        let n = elect(&p, Some(3), &|b| b != 3, false).unwrap();
        assert_eq!((n.leader, n.isr, n.leader_epoch), (1, vec![1, 2], 5));
    }

    #[test]
    fn the_last_isr_member_stays_and_unclean_election_is_opt_in() {
        let p = part(&[1, 2], &[1], 1);
        let n = elect(&p, Some(1), &|b| b == 2, false).unwrap();
        assert_eq!((n.leader, n.isr.clone()), (-1, vec![1]), "clean: wait for broker 1");
        let n = elect(&p, Some(1), &|b| b == 2, true).unwrap();
        assert_eq!((n.leader, n.isr), (2, vec![2]), "unclean: the out-of-sync replica leads");
        // Broker 1 back: the leaderless partition gets it as leader.
        let waiting = part(&[1, 2], &[1], -1);
        assert_eq!(elect(&waiting, None, &|_| true, false).unwrap().leader, 1);
        assert!(elect(&part(&[1, 2], &[1, 2], 1), None, &|_| true, false).is_none(), "nothing to change");
    }
}
