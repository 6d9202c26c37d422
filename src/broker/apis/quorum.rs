//! DescribeQuorum (KIP-595/642): the metadata quorum's leader, epoch, high watermark and
//! each voter's log end and fetch times, as the active controller sees them (a broker
//! that is not the controller asks it). One node without a quorum describes itself.

use super::{Ctx, code, sb};
use crate::broker::quorum::{QuorumInfo, ReplicaInfo};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_quorum_response::{Listener, Node, PartitionData, ReplicaState, TopicData};
use kafka_protocol::messages::*;

const METADATA_TOPIC: &str = "__cluster_metadata";

fn replica(r: &ReplicaInfo, version: i16) -> ReplicaState {
    let s = ReplicaState::default().with_replica_id(BrokerId(r.id)).with_log_end_offset(r.log_end_offset);
    if version >= 1 { s.with_last_fetch_timestamp(r.last_fetch_ms).with_last_caught_up_timestamp(r.last_caught_up_ms) } else { s }
}

pub async fn describe_quorum(ctx: &Ctx<'_>, req: DescribeQuorumRequest) -> DescribeQuorumResponse {
    let b = ctx.broker;
    if !ctx.authorize(Op::Describe, Resource::Cluster) {
        return DescribeQuorumResponse::default().with_error_code(code(E::ClusterAuthorizationFailed));
    }
    let asked_metadata =
        req.topics.iter().any(|t| t.topic_name.0.as_str() == METADATA_TOPIC && t.partitions.iter().any(|p| p.partition_index == 0));
    if !asked_metadata {
        return DescribeQuorumResponse::default().with_error_code(code(E::InvalidRequest));
    }
    let (info, nodes): (QuorumInfo, Vec<(i32, String)>) = match &b.quorum {
        Some(q) => match b.controller.describe_quorum().await {
            Some(i) => (i, q.voters().into_iter().collect()),
            None => return DescribeQuorumResponse::default().with_error_code(code(E::NotLeaderOrFollower)),
        },
        None => {
            let end = b.image().offset;
            let now = crate::broker::log::now_ms();
            let me = ReplicaInfo { id: b.config.node_id, log_end_offset: end, last_fetch_ms: now, last_caught_up_ms: now };
            let addr = format!("{}:{}", b.config.advertised_host, b.config.advertised_port);
            (
                QuorumInfo { leader: Some(b.config.node_id), epoch: 1, high_watermark: end, voters: vec![me], observers: Vec::new() },
                vec![(b.config.node_id, addr)],
            )
        }
    };
    let partition = PartitionData::default()
        .with_partition_index(0)
        .with_leader_id(BrokerId(info.leader.unwrap_or(-1)))
        .with_leader_epoch(info.epoch)
        .with_high_watermark(info.high_watermark)
        .with_current_voters(info.voters.iter().map(|r| replica(r, ctx.version)).collect())
        .with_observers(info.observers.iter().map(|r| replica(r, ctx.version)).collect());
    let resp = DescribeQuorumResponse::default()
        .with_topics(vec![TopicData::default().with_topic_name(TopicName(sb(METADATA_TOPIC))).with_partitions(vec![partition])]);
    if ctx.version < 2 {
        return resp;
    }
    let nodes = nodes
        .into_iter()
        .filter_map(|(id, addr)| {
            let (host, port) = addr.rsplit_once(':')?;
            let listener = Listener::default().with_name(sb("CONTROLLER")).with_host(sb(host)).with_port(port.parse().ok()?);
            Some(Node::default().with_node_id(BrokerId(id)).with_listeners(vec![listener]))
        })
        .collect();
    resp.with_nodes(nodes)
}
