//! Offset APIs: OffsetCommit, OffsetFetch (single and multi-group) and OffsetDelete,
//! mapped onto the group coordinator. Committing needs READ on the group and each topic;
//! fetching DESCRIBE on both (undescribable topics are hidden from "all offsets"); deleting
//! DELETE on the group and READ on each topic.

use super::{Ctx, code, sb};
use crate::broker::coordinator::group::{Committer, OffsetToCommit};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::offset_fetch_response::*;
use kafka_protocol::messages::*;

pub async fn offset_commit(ctx: &Ctx<'_>, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    let group_denied = !acl.allowed(Op::Read, Resource::Group(&req.group_id.0));
    let topic_denied: std::collections::HashSet<String> =
        req.topics.iter().map(|t| t.name.0.to_string()).filter(|t| !acl.allowed(Op::Read, Resource::Topic(t))).collect();
    let ready = b.ensure_offsets_topic().await;
    let offsets: Vec<OffsetToCommit> = req
        .topics
        .iter()
        .filter(|t| !topic_denied.contains(t.name.0.as_str()))
        .flat_map(|t| {
            t.partitions.iter().map(move |p| OffsetToCommit {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if ctx.version >= 6 { p.committed_leader_epoch } else { -1 },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            })
        })
        .collect();
    let image = b.image();
    let known = |t: &str, p: i32| image.topic(t).is_some_and(|t| t.partitions.contains_key(&p));
    let results = match ready {
        _ if group_denied => Err(code(E::GroupAuthorizationFailed)),
        Err(_) => Err(code(E::CoordinatorNotAvailable)),
        // Every topic refused: nothing to write.
        Ok(()) if offsets.is_empty() && !topic_denied.is_empty() => Ok(Vec::new()),
        Ok(()) => super::on_disk(|| {
            b.groups.commit_offsets(
                &b.replicas,
                &req.group_id.0,
                &Committer {
                    generation: req.generation_id_or_member_epoch,
                    member_id: &req.member_id,
                    instance_id: req.group_instance_id.as_deref(),
                    transactional: None,
                },
                offsets,
                known,
            )
        }),
    };
    let mut codes = match &results {
        Ok(v) => v.clone().into_iter(),
        Err(_) => Vec::new().into_iter(),
    };
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let c = match &results {
                        Err(c) => *c,
                        Ok(_) if topic_denied.contains(t.name.0.as_str()) => code(E::TopicAuthorizationFailed),
                        Ok(_) => codes.next().unwrap_or(0),
                    };
                    OffsetCommitResponsePartition::default().with_partition_index(p.partition_index).with_error_code(c)
                })
                .collect();
            OffsetCommitResponseTopic::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// One group's offsets: (topic → [(partition, offset, epoch, metadata, error)]).
type Fetched = Vec<(String, Vec<(i32, i64, i32, Option<String>, i16)>)>;

/// Err is a group-level error (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS). With
/// `require_stable` (v7+), a partition whose offset waits in an open transaction answers
/// UNSTABLE_OFFSET_COMMIT so the consumer retries instead of starting from a stale one.
fn fetch_group(ctx: &Ctx<'_>, group: &str, topics: Option<Vec<(String, Vec<i32>)>>, require_stable: bool) -> Result<Fetched, i16> {
    let acl = ctx.acl();
    if !acl.allowed(Op::Describe, Resource::Group(group)) {
        return Err(code(E::GroupAuthorizationFailed));
    }
    let all = topics.is_none();
    let wanted = topics.map(|ts| ts.into_iter().flat_map(|(t, ps)| ps.into_iter().map(move |p| (t.clone(), p))).collect());
    let mut out: Fetched = Vec::new();
    for ((t, p), o) in ctx.broker.groups.fetch_offsets(group, wanted)? {
        let described = acl.allowed(Op::Describe, Resource::Topic(&t));
        if all && !described {
            continue;
        }
        // A missing offset is -1 with empty metadata, as Kafka answers.
        let (off, ep, md, err) = match o {
            _ if !described => (-1, -1, Some(String::new()), E::TopicAuthorizationFailed.code()),
            _ if require_stable && ctx.broker.groups.has_pending_txn_offset(group, &t, p) => {
                (-1, -1, Some(String::new()), E::UnstableOffsetCommit.code())
            }
            // Metadata comes back exactly as stored (a null commit was stored as "").
            Some(o) => (o.offset, o.leader_epoch, o.metadata, 0),
            None => (-1, -1, Some(String::new()), 0),
        };
        match out.last_mut() {
            Some((name, ps)) if *name == t => ps.push((p, off, ep, md, err)),
            _ => out.push((t, vec![(p, off, ep, md, err)])),
        }
    }
    Ok(out)
}

pub async fn offset_fetch(ctx: &Ctx<'_>, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let epoch = |e: i32| if ctx.version >= 5 { e } else { -1 };
    if ctx.version >= 8 {
        let groups = req
            .groups
            .iter()
            .map(|g| {
                let topics = g.topics.as_ref().map(|ts| ts.iter().map(|t| (t.name.0.to_string(), t.partition_indexes.clone())).collect());
                let (fetched, err) = match fetch_group(ctx, &g.group_id.0, topics, req.require_stable) {
                    Ok(f) => (f, 0),
                    Err(c) => (Vec::new(), c),
                };
                OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone()).with_error_code(err).with_topics(
                    fetched
                        .into_iter()
                        .map(|(t, ps)| {
                            OffsetFetchResponseTopics::default().with_name(TopicName(sb(t))).with_partitions(
                                ps.into_iter()
                                    .map(|(p, o, e, m, err)| {
                                        OffsetFetchResponsePartitions::default()
                                            .with_partition_index(p)
                                            .with_error_code(err)
                                            .with_committed_offset(o)
                                            .with_committed_leader_epoch(e)
                                            .with_metadata(m.map(sb))
                                    })
                                    .collect(),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    // v1 requires the topic list; v2+ accepts null for "all committed offsets".
    let topics = req.topics.as_ref().map(|ts| ts.iter().map(|t| (t.name.0.to_string(), t.partition_indexes.clone())).collect());
    let (fetched, err) = match fetch_group(ctx, &req.group_id.0, topics, ctx.version >= 7 && req.require_stable) {
        Ok(f) => (f, 0),
        Err(c) => (Vec::new(), c),
    };
    let topics = fetched
        .into_iter()
        .map(|(t, ps)| {
            OffsetFetchResponseTopic::default().with_name(TopicName(sb(t))).with_partitions(
                ps.into_iter()
                    .map(|(p, o, e, m, err)| {
                        OffsetFetchResponsePartition::default()
                            .with_partition_index(p)
                            .with_error_code(err)
                            .with_committed_offset(o)
                            .with_committed_leader_epoch(epoch(e))
                            .with_metadata(m.map(sb))
                    })
                    .collect(),
            )
        })
        .collect();
    // v2+ carries a top-level error; v1 clients only see partition errors.
    let r = OffsetFetchResponse::default().with_topics(topics);
    if ctx.version >= 2 { r.with_error_code(err) } else { r }
}

pub async fn offset_delete(ctx: &Ctx<'_>, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    if !acl.allowed(Op::Delete, Resource::Group(&req.group_id.0)) {
        return OffsetDeleteResponse::default().with_error_code(code(E::GroupAuthorizationFailed));
    }
    let readable = |t: &str| acl.allowed(Op::Read, Resource::Topic(t));
    let parts: Vec<(String, i32)> = req
        .topics
        .iter()
        .filter(|t| readable(&t.name.0))
        .flat_map(|t| t.partitions.iter().map(move |p| (t.name.0.to_string(), p.partition_index)))
        .collect();
    match super::on_disk(|| b.groups.delete_offsets(&b.replicas, &req.group_id.0, &parts)) {
        Err(c) => OffsetDeleteResponse::default().with_error_code(c),
        Ok(codes) => {
            let image = b.image();
            let mut codes = codes.into_iter();
            let topics = req
                .topics
                .into_iter()
                .map(|t| {
                    let exists = image.topic(&t.name.0).is_some();
                    let allowed = readable(&t.name.0);
                    let partitions = t
                        .partitions
                        .iter()
                        .map(|p| {
                            let c = if allowed { codes.next().unwrap_or(0) } else { code(E::TopicAuthorizationFailed) };
                            let c = if c == 0 && !exists { code(E::UnknownTopicOrPartition) } else { c };
                            OffsetDeleteResponsePartition::default().with_partition_index(p.partition_index).with_error_code(c)
                        })
                        .collect();
                    OffsetDeleteResponseTopic::default().with_name(t.name).with_partitions(partitions)
                })
                .collect();
            OffsetDeleteResponse::default().with_topics(topics)
        }
    }
}
