//! DescribeTopicPartitions (KIP-966): topics and their partitions in name order, at most
//! `response_partition_limit` partitions (capped at 2000, Kafka's
//! max.request.partition.size.limit) per response, with a cursor to continue from. Topics
//! the principal may not DESCRIBE are refused by name and left out of "all topics".

use super::{Ctx, code, sb};
use crate::broker::metadata::TopicImage;
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::*;
use uuid::Uuid;

const MAX_PARTITIONS: i32 = 2000;

fn error_topic(name: &str, e: E) -> DescribeTopicPartitionsResponseTopic {
    DescribeTopicPartitionsResponseTopic::default()
        .with_error_code(code(e))
        .with_name(Some(TopicName(sb(name))))
        .with_topic_id(Uuid::nil())
        .with_is_internal(name.starts_with("__"))
}

/// The partitions of `t` from `start`, at most `room`; and the next index when some remain.
fn partitions(t: &TopicImage, start: i32, room: usize) -> (Vec<DescribeTopicPartitionsResponsePartition>, Option<i32>) {
    let mut out = Vec::new();
    for (idx, p) in t.partitions.range(start..) {
        if out.len() == room {
            return (out, Some(*idx));
        }
        let offline: Vec<BrokerId> = Vec::new();
        out.push(
            DescribeTopicPartitionsResponsePartition::default()
                .with_error_code(if p.leader < 0 { code(E::LeaderNotAvailable) } else { 0 })
                .with_partition_index(*idx)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().map(|r| BrokerId(*r)).collect())
                .with_isr_nodes(p.isr.iter().map(|r| BrokerId(*r)).collect())
                .with_eligible_leader_replicas(Some(Vec::new()))
                .with_last_known_elr(Some(Vec::new()))
                .with_offline_replicas(offline),
        );
    }
    (out, None)
}

pub async fn handle(ctx: &Ctx<'_>, req: DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse {
    let image = ctx.broker.image();
    let acl = ctx.acl();
    let all = req.topics.is_empty();
    let (cursor_topic, cursor_partition) =
        req.cursor.as_ref().map_or((String::new(), 0), |c| (c.topic_name.to_string(), c.partition_index));
    let mut names: Vec<String> = if all {
        image.topics.keys().filter(|n| **n >= cursor_topic).cloned().collect()
    } else {
        req.topics.iter().map(|t| t.name.to_string()).filter(|n| *n >= cursor_topic).collect()
    };
    names.sort();
    names.dedup();
    let invalid = req.cursor.is_some() && (cursor_partition < 0 || (!all && !names.contains(&cursor_topic)));
    if invalid {
        let topics = req.topics.iter().map(|t| error_topic(t.name.as_str(), E::InvalidRequest)).collect();
        return DescribeTopicPartitionsResponse::default().with_topics(topics);
    }
    let mut remaining = req.response_partition_limit.clamp(1, MAX_PARTITIONS) as usize;
    let mut topics = Vec::new();
    let mut refused = Vec::new();
    let mut next_cursor = None;
    for name in names {
        if !acl.allowed(Op::Describe, Resource::Topic(&name)) {
            if !all {
                refused.push(error_topic(&name, E::TopicAuthorizationFailed));
            }
            continue;
        }
        if remaining == 0 {
            next_cursor = Some(Cursor::default().with_topic_name(TopicName(sb(name))).with_partition_index(0));
            break;
        }
        let Some(t) = image.topic(&name) else {
            if !all {
                topics.push(error_topic(&name, E::UnknownTopicOrPartition));
            }
            continue;
        };
        let start = if name == cursor_topic { cursor_partition } else { 0 };
        let (parts, next) = partitions(t, start, remaining);
        remaining -= parts.len();
        topics.push(
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(TopicName(sb(name.clone()))))
                .with_topic_id(t.id)
                .with_is_internal(t.is_internal())
                .with_partitions(parts)
                .with_topic_authorized_operations(acl.authorized_ops(Resource::Topic(&name))),
        );
        if let Some(n) = next {
            next_cursor = Some(Cursor::default().with_topic_name(TopicName(sb(name))).with_partition_index(n));
            break;
        }
    }
    topics.extend(refused);
    DescribeTopicPartitionsResponse::default().with_topics(topics).with_next_cursor(next_cursor)
}
