//! ElectLeaders (preferred and unclean), run by the active controller (controller/
//! partitions.rs): the preferred replica takes over when in sync, an unclean election
//! revives a leaderless partition from an out-of-sync replica.

use super::{Ctx, code, sb};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::*;
use std::collections::BTreeMap;

use crate::broker::controller::partitions::{PREFERRED, UNCLEAN};

pub async fn elect_leaders(ctx: &Ctx<'_>, req: ElectLeadersRequest) -> ElectLeadersResponse {
    let election_type = if ctx.version >= 1 { req.election_type } else { PREFERRED };
    if election_type != PREFERRED && election_type != UNCLEAN {
        return ElectLeadersResponse::default().with_error_code(if ctx.version >= 1 { code(E::InvalidRequest) } else { 0 });
    }
    let image = ctx.broker.image();
    // ALTER on the cluster; refused: every partition asked for says so.
    if !ctx.authorize(Op::Alter, Resource::Cluster) {
        let denied = code(E::ClusterAuthorizationFailed);
        let results = req
            .topic_partitions
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let ps = t.partitions.iter().map(|p| PartitionResult::default().with_partition_id(*p).with_error_code(denied)).collect();
                ReplicaElectionResult::default().with_topic(t.topic).with_partition_result(ps)
            })
            .collect();
        let r = ElectLeadersResponse::default().with_replica_election_results(results);
        return if ctx.version >= 1 { r.with_error_code(denied) } else { r };
    }
    let asked_all = req.topic_partitions.is_none();
    let wanted: BTreeMap<String, Vec<i32>> = match req.topic_partitions {
        Some(tps) => {
            let mut m: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for t in tps {
                m.entry(t.topic.0.to_string()).or_default().extend(t.partitions);
            }
            m
        }
        // null = every partition of every topic.
        None => image.topics.values().map(|t| (t.name.clone(), t.partitions.keys().copied().collect())).collect(),
    };
    let list: Vec<(String, i32)> = wanted.into_iter().flat_map(|(t, ps)| ps.into_iter().map(move |p| (t.clone(), p))).collect();
    let outcomes = match ctx.broker.controller.elect_leaders(election_type, list).await {
        Ok(r) => r,
        Err(e) => return ElectLeadersResponse::default().with_error_code(if ctx.version >= 1 { e.0 } else { 0 }),
    };
    let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
    for (topic, p, c, msg) in outcomes {
        // Asked for every partition: those that needed nothing are left out, as Kafka does.
        if asked_all && c == code(E::ElectionNotNeeded) {
            continue;
        }
        by_topic
            .entry(topic)
            .or_default()
            .push(PartitionResult::default().with_partition_id(p).with_error_code(c).with_error_message(msg.map(sb)));
    }
    let results = by_topic
        .into_iter()
        .map(|(topic, partition_result)| {
            ReplicaElectionResult::default().with_topic(TopicName(sb(topic))).with_partition_result(partition_result)
        })
        .collect();
    ElectLeadersResponse::default().with_replica_election_results(results)
}
