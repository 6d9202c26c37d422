//! The share-group offset APIs of the group coordinator (KIP-932): DescribeShareGroupOffsets,
//! AlterShareGroupOffsets and DeleteShareGroupOffsets (kafka-share-groups.sh --describe,
//! --reset-offsets and --delete-offsets). The start offsets live with the group's other
//! records in `__consumer_offsets`; altering or deleting them needs an empty group, and the
//! partitions' leaders pick the change up when the group's next share session opens.

use super::{Ctx, code, sb};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use std::collections::BTreeMap;
use uuid::Uuid;

/// DescribeShareGroupOffsets: each group's stored start offsets (-1 where none is).
pub async fn describe_offsets(ctx: &Ctx<'_>, req: DescribeShareGroupOffsetsRequest) -> DescribeShareGroupOffsetsResponse {
    use kafka_protocol::messages::describe_share_group_offsets_response as d;
    let b = ctx.broker;
    let acl = ctx.acl();
    let image = b.image();
    let groups = req
        .groups
        .into_iter()
        .map(|g| {
            let base = d::DescribeShareGroupOffsetsResponseGroup::default().with_group_id(g.group_id.clone());
            if !acl.allowed(Op::Describe, Resource::Group(&g.group_id.0)) {
                return base.with_error_code(code(E::GroupAuthorizationFailed));
            }
            match b.groups.share_describe(&g.group_id.0) {
                Err((c, msg)) => return base.with_error_code(c).with_error_message(msg.map(sb)),
                Ok(None) => {
                    return base
                        .with_error_code(code(E::GroupIdNotFound))
                        .with_error_message(Some(sb(format!("Group {} not found.", g.group_id.0))));
                }
                Ok(Some(_)) => {}
            }
            let stored: BTreeMap<(String, i32), i64> = b
                .groups
                .fetch_offsets(&g.group_id.0, None)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v.offset)))
                .collect();
            let wanted: Vec<(String, Vec<i32>)> = match g.topics {
                Some(ts) => ts.into_iter().map(|t| (t.topic_name.0.to_string(), t.partitions)).collect(),
                None => {
                    let mut m: BTreeMap<String, Vec<i32>> = BTreeMap::new();
                    for (t, p) in stored.keys() {
                        m.entry(t.clone()).or_default().push(*p);
                    }
                    m.into_iter().collect()
                }
            };
            let topics = wanted
                .into_iter()
                .filter(|(t, _)| acl.allowed(Op::Describe, Resource::Topic(t)))
                .map(|(t, ps)| {
                    let id = image.topic(&t).map_or(Uuid::nil(), |x| x.id);
                    let partitions = ps
                        .into_iter()
                        .map(|p| {
                            let part = d::DescribeShareGroupOffsetsResponsePartition::default().with_partition_index(p);
                            if id.is_nil() {
                                return part.with_error_code(code(E::UnknownTopicOrPartition)).with_start_offset(-1).with_leader_epoch(-1);
                            }
                            part.with_start_offset(stored.get(&(t.clone(), p)).copied().unwrap_or(-1)).with_leader_epoch(-1)
                        })
                        .collect();
                    d::DescribeShareGroupOffsetsResponseTopic::default()
                        .with_topic_name(TopicName(sb(t)))
                        .with_topic_id(id)
                        .with_partitions(partitions)
                })
                .collect();
            base.with_topics(topics)
        })
        .collect();
    DescribeShareGroupOffsetsResponse::default().with_groups(groups)
}

/// (partition, new start offset, its own error: 0 when it is to be written).
type PartitionCheck = (i32, i64, i16);

/// AlterShareGroupOffsets: new start offsets for partitions of an empty share group. Needs
/// READ on the group and on each topic (as committing offsets does).
pub async fn alter_offsets(ctx: &Ctx<'_>, req: AlterShareGroupOffsetsRequest) -> AlterShareGroupOffsetsResponse {
    use kafka_protocol::messages::alter_share_group_offsets_response as a;
    let b = ctx.broker;
    let group = req.group_id.0.to_string();
    let top =
        |e: E, msg: Option<String>| AlterShareGroupOffsetsResponse::default().with_error_code(code(e)).with_error_message(msg.map(sb));
    if !ctx.authorize(Op::Read, Resource::Group(&group)) {
        return top(E::GroupAuthorizationFailed, None);
    }
    let acl = ctx.acl();
    let image = b.image();
    // Each partition's own error (0: to be written).
    let mut checked: Vec<(String, Uuid, Vec<PartitionCheck>)> = Vec::new();
    for t in &req.topics {
        let name = t.topic_name.0.to_string();
        let topic = image.topic(&name);
        let parts = t
            .partitions
            .iter()
            .map(|p| {
                let e = if !acl.allowed(Op::Read, Resource::Topic(&name)) {
                    code(E::TopicAuthorizationFailed)
                } else if topic.is_none_or(|x| !x.partitions.contains_key(&p.partition_index)) {
                    code(E::UnknownTopicOrPartition)
                } else if p.start_offset < 0 {
                    code(E::InvalidRequest)
                } else {
                    0
                };
                (p.partition_index, p.start_offset, e)
            })
            .collect();
        checked.push((name, topic.map_or(Uuid::nil(), |x| x.id), parts));
    }
    let starts: Vec<(String, i32, Option<i64>)> =
        checked.iter().flat_map(|(t, _, ps)| ps.iter().filter(|p| p.2 == 0).map(move |p| (t.clone(), p.0, Some(p.1)))).collect();
    let outcome = super::on_disk(|| b.groups.share_set_starts(&b.replicas, &group, starts));
    let (group_error, message) = match outcome {
        Ok(()) => (0, None),
        Err((c, m)) => (c, m),
    };
    let responses = checked
        .into_iter()
        .map(|(name, id, parts)| {
            let partitions = parts
                .into_iter()
                .map(|(p, _, e)| {
                    let e = if e == 0 { group_error } else { e };
                    a::AlterShareGroupOffsetsResponsePartition::default().with_partition_index(p).with_error_code(e)
                })
                .collect();
            a::AlterShareGroupOffsetsResponseTopic::default()
                .with_topic_name(TopicName(sb(name)))
                .with_topic_id(id)
                .with_partitions(partitions)
        })
        .collect();
    AlterShareGroupOffsetsResponse::default().with_error_code(group_error).with_error_message(message.map(sb)).with_responses(responses)
}

/// DeleteShareGroupOffsets: forgets the start offsets of whole topics for an empty share
/// group (its next member starts where share.auto.offset.reset says). Needs DELETE on the
/// group and READ on each topic (as OffsetDelete does).
pub async fn delete_offsets(ctx: &Ctx<'_>, req: DeleteShareGroupOffsetsRequest) -> DeleteShareGroupOffsetsResponse {
    use kafka_protocol::messages::delete_share_group_offsets_response as d;
    let b = ctx.broker;
    let group = req.group_id.0.to_string();
    let top =
        |e: E, msg: Option<String>| DeleteShareGroupOffsetsResponse::default().with_error_code(code(e)).with_error_message(msg.map(sb));
    if !ctx.authorize(Op::Delete, Resource::Group(&group)) {
        return top(E::GroupAuthorizationFailed, None);
    }
    let acl = ctx.acl();
    let image = b.image();
    let checked: Vec<(String, Uuid, i16, i32)> = req
        .topics
        .iter()
        .map(|t| {
            let name = t.topic_name.0.to_string();
            let topic = image.topic(&name);
            let e = if !acl.allowed(Op::Read, Resource::Topic(&name)) {
                code(E::TopicAuthorizationFailed)
            } else if topic.is_none() {
                code(E::UnknownTopicOrPartition)
            } else {
                0
            };
            (name, topic.map_or(Uuid::nil(), |x| x.id), e, topic.map_or(0, |x| x.partitions.len() as i32))
        })
        .collect();
    let starts: Vec<(String, i32, Option<i64>)> =
        checked.iter().filter(|c| c.2 == 0).flat_map(|(t, _, _, n)| (0..*n).map(move |p| (t.clone(), p, None))).collect();
    let (group_error, message) = match super::on_disk(|| b.groups.share_set_starts(&b.replicas, &group, starts)) {
        Ok(()) => (0, None),
        Err((c, m)) => (c, m),
    };
    let responses = checked
        .into_iter()
        .map(|(name, id, e, _)| {
            d::DeleteShareGroupOffsetsResponseTopic::default()
                .with_topic_name(TopicName(sb(name)))
                .with_topic_id(id)
                .with_error_code(if e == 0 { group_error } else { e })
        })
        .collect();
    DeleteShareGroupOffsetsResponse::default().with_error_code(group_error).with_error_message(message.map(sb)).with_responses(responses)
}
