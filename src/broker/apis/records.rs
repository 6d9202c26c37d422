//! DeleteRecords (moves log start offsets) and OffsetForLeaderEpoch (end offset of a leader
//! epoch, from the leader epoch cache). DeleteRecords needs DELETE on the topic,
//! OffsetForLeaderEpoch CLUSTER_ACTION (followers) or DESCRIBE on the topic.

use super::{Ctx, code};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::*;

pub async fn delete_records(ctx: &Ctx<'_>, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let allowed = acl.allowed(Op::Delete, Resource::Topic(&name));
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index).with_low_watermark(-1);
                    if !allowed {
                        return r.with_error_code(code(E::TopicAuthorizationFailed));
                    }
                    match b.replicas.get(&name, p.partition_index) {
                        None => r.with_error_code(code(E::UnknownTopicOrPartition)),
                        Some(part) => match part.delete_records_before(p.offset) {
                            Ok(lw) => r.with_low_watermark(lw),
                            Err(e) => r.with_error_code(e.code()),
                        },
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}

pub async fn offset_for_leader_epoch(ctx: &Ctx<'_>, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    let cluster_action = acl.allowed(Op::ClusterAction, Resource::Cluster);
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.0.to_string();
            let allowed = cluster_action || acl.allowed(Op::Describe, Resource::Topic(&name));
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = EpochEndOffset::default().with_partition(p.partition).with_leader_epoch(-1).with_end_offset(-1);
                    if !allowed {
                        return r.with_error_code(code(E::TopicAuthorizationFailed));
                    }
                    let Some(part) = b.replicas.get(&name, p.partition) else {
                        return r.with_error_code(code(E::UnknownTopicOrPartition));
                    };
                    let epoch = part.leader_epoch();
                    if p.current_leader_epoch >= 0 && p.current_leader_epoch != epoch {
                        let e = if p.current_leader_epoch < epoch { E::FencedLeaderEpoch } else { E::UnknownLeaderEpoch };
                        return r.with_error_code(code(e));
                    }
                    if !part.is_leader() {
                        return r.with_error_code(code(E::NotLeaderOrFollower));
                    }
                    // The leader epoch cache: the largest epoch <= the requested one and
                    // where it ended (the log end for the current epoch).
                    let (e, end) = part.end_offset_for_epoch(p.leader_epoch);
                    r.with_leader_epoch(e).with_end_offset(end)
                })
                .collect();
            OffsetForLeaderTopicResult::default().with_topic(t.topic).with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
