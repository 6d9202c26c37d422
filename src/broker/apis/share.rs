//! Share group APIs (KIP-932): ShareGroupHeartbeat and ShareGroupDescribe (the group
//! coordinator, `coordinator::group::share`), ShareFetch and ShareAcknowledge (the
//! partition leaders, `broker::share`), and the share-state APIs between brokers.

use super::{Ctx, code, sb};
use crate::broker::coordinator::group::consumer::Assignment;
use crate::broker::coordinator::group::share::ShareHeartbeat;
use crate::broker::metadata::MetadataImage;
use crate::broker::replica::Partition;
use crate::broker::security::acl::{Op, Resource};
use crate::broker::share::{FINAL_EPOCH, INITIAL_EPOCH, SessionKey};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::messages::{share_acknowledge_response as sar, share_fetch_response as sfr};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub async fn heartbeat(ctx: &Ctx<'_>, req: ShareGroupHeartbeatRequest) -> ShareGroupHeartbeatResponse {
    use kafka_protocol::messages::share_group_heartbeat_response as sgh;
    let b = ctx.broker;
    let err = |e: E, msg: Option<String>| ShareGroupHeartbeatResponse::default().with_error_code(code(e)).with_error_message(msg.map(sb));
    if !ctx.authorize(Op::Read, Resource::Group(&req.group_id.0)) {
        return err(E::GroupAuthorizationFailed, None);
    }
    let acl = ctx.acl();
    if let Some(names) = &req.subscribed_topic_names
        && names.iter().any(|n| !acl.allowed(Op::Describe, Resource::Topic(&n.0)))
    {
        return err(E::TopicAuthorizationFailed, None);
    }
    if let Err(e) = b.ensure_offsets_topic().await {
        tracing::warn!("{e}");
        return err(E::CoordinatorNotAvailable, None);
    }
    let p = ShareHeartbeat {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        rack_id: req.rack_id.map(|s| s.to_string()),
        subscribed_topic_names: req.subscribed_topic_names.map(|ns| ns.into_iter().map(|n| n.0.to_string()).collect()),
        client_id: ctx.header.client_id.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        client_host: format!("/{}", ctx.conn.client_host),
    };
    let image = b.image();
    // A new group's record is written with acks=all: off the async workers, as commits are.
    let o = super::on_disk(|| b.groups.share_heartbeat(&b.replicas, &image, p));
    tracing::debug!(group = %req.group_id.0, member = %o.member_id, epoch = o.member_epoch, error = o.error, assignment = ?o.assignment, "share heartbeat");
    if o.error != 0 {
        return err_code(o.error, o.message);
    }
    let assignment = o.assignment.map(|a| {
        sgh::Assignment::default().with_topic_partitions(
            a.into_iter()
                .map(|(t, ps)| sgh::TopicPartitions::default().with_topic_id(t).with_partitions(ps.into_iter().collect()))
                .collect(),
        )
    });
    ShareGroupHeartbeatResponse::default()
        .with_member_id(Some(sb(o.member_id)))
        .with_member_epoch(o.member_epoch)
        .with_heartbeat_interval_ms(o.heartbeat_interval_ms)
        .with_assignment(assignment)
}

fn err_code(c: i16, msg: Option<String>) -> ShareGroupHeartbeatResponse {
    ShareGroupHeartbeatResponse::default().with_error_code(c).with_error_message(msg.map(sb))
}

fn described(image: &MetadataImage, a: &Assignment) -> share_group_describe_response::Assignment {
    use kafka_protocol::messages::share_group_describe_response as sgd;
    sgd::Assignment::default().with_topic_partitions(
        a.iter()
            .map(|(t, ps)| {
                sgd::TopicPartitions::default()
                    .with_topic_id(*t)
                    .with_topic_name(TopicName(sb(image.ids.get(t).cloned().unwrap_or_default())))
                    .with_partitions(ps.iter().copied().collect())
            })
            .collect(),
    )
}

pub async fn describe(ctx: &Ctx<'_>, req: ShareGroupDescribeRequest) -> ShareGroupDescribeResponse {
    use kafka_protocol::messages::share_group_describe_response as sgd;
    let acl = ctx.acl();
    let image = ctx.broker.image();
    let groups = req
        .group_ids
        .into_iter()
        .map(|id| {
            let base = sgd::DescribedGroup::default().with_group_id(id.clone());
            if !acl.allowed(Op::Describe, Resource::Group(&id.0)) {
                return base.with_error_code(code(E::GroupAuthorizationFailed));
            }
            let base = if req.include_authorized_operations {
                base.with_authorized_operations(acl.authorized_ops(Resource::Group(&id.0)))
            } else {
                base
            };
            match ctx.broker.groups.share_describe(&id.0) {
                Err((c, msg)) => base.with_error_code(c).with_error_message(msg.map(sb)),
                Ok(None) => base
                    .with_error_code(code(E::GroupIdNotFound))
                    .with_error_message(Some(sb(format!("Group {} not found.", id.0))))
                    .with_group_state(sb("Dead")),
                Ok(Some(d)) => base
                    .with_group_state(sb(d.state))
                    .with_group_epoch(d.group_epoch)
                    .with_assignment_epoch(d.assignment_epoch)
                    .with_assignor_name(sb("simple"))
                    .with_members(
                        d.members
                            .iter()
                            .map(|m| {
                                sgd::Member::default()
                                    .with_member_id(sb(m.member_id.clone()))
                                    .with_rack_id(m.rack_id.clone().map(sb))
                                    .with_member_epoch(m.epoch)
                                    .with_client_id(sb(m.client_id.clone()))
                                    .with_client_host(sb(m.client_host.clone()))
                                    .with_subscribed_topic_names(
                                        m.subscribed_topic_names.iter().map(|n| TopicName(sb(n.clone()))).collect(),
                                    )
                                    .with_assignment(described(&image, &m.assigned))
                            })
                            .collect(),
                    ),
            }
        })
        .collect();
    ShareGroupDescribeResponse::default().with_groups(groups)
}

/// Acknowledgement batches of one partition as the share manager takes them.
type AckBatches = Vec<(i64, i64, Vec<i8>)>;

/// Applies acknowledgements; returns the code per (topic id, partition) and the partitions
/// whose state changed (to persist).
async fn apply_acks(
    ctx: &Ctx<'_>,
    group: &str,
    member: &str,
    acks: Vec<(SessionKey, AckBatches)>,
) -> (BTreeMap<(Uuid, i32), i16>, Vec<Arc<Partition>>) {
    let b = ctx.broker;
    let acl = ctx.acl();
    let mut out = BTreeMap::new();
    let mut touched = Vec::new();
    for ((id, topic, p), batches) in acks {
        let c = if topic.is_empty() {
            code(E::UnknownTopicId)
        } else if !acl.allowed(Op::Read, Resource::Topic(&topic)) {
            code(E::TopicAuthorizationFailed)
        } else {
            match b.replicas.get(&topic, p).filter(|x| x.is_leader()) {
                Some(part) => match b.share.ensure(b, group, &part, false).await {
                    Ok(()) => {
                        let c = b.share.acknowledge(b, group, member, &part, &batches);
                        touched.push(part);
                        c
                    }
                    Err(c) => c,
                },
                None => code(E::NotLeaderOrFollower),
            }
        };
        out.insert((id, p), c);
    }
    (out, touched)
}

fn leader_of(image: &MetadataImage, topic: &str, p: i32) -> (i32, i32) {
    image.topic(topic).and_then(|t| t.partitions.get(&p)).map_or((-1, -1), |x| (x.leader, x.leader_epoch))
}

pub async fn fetch(ctx: &Ctx<'_>, req: ShareFetchRequest) -> ShareFetchResponse {
    let b = ctx.broker;
    let top = |e: E| ShareFetchResponse::default().with_error_code(code(e));
    let group = req.group_id.map(|g| g.0.to_string()).unwrap_or_default();
    let member = req.member_id.map(|m| m.to_string()).unwrap_or_default();
    if group.is_empty() || member.is_empty() {
        return top(E::InvalidRequest);
    }
    if !ctx.authorize(Op::Read, Resource::Group(&group)) {
        return top(E::GroupAuthorizationFailed);
    }
    let image = b.image();
    let name = |id: &Uuid| image.ids.get(id).cloned().unwrap_or_default();
    let mut add: Vec<SessionKey> = Vec::new();
    let mut acks: Vec<(SessionKey, AckBatches)> = Vec::new();
    for t in &req.topics {
        let topic = name(&t.topic_id);
        for p in &t.partitions {
            let key = (t.topic_id, topic.clone(), p.partition_index);
            if !p.acknowledgement_batches.is_empty() {
                let batches =
                    p.acknowledgement_batches.iter().map(|a| (a.first_offset, a.last_offset, a.acknowledge_types.clone())).collect();
                acks.push((key.clone(), batches));
            }
            add.push(key);
        }
    }
    let epoch = req.share_session_epoch;
    if epoch == INITIAL_EPOCH && !acks.is_empty() {
        // Nothing can be acknowledged before a session delivered it.
        return top(E::InvalidRequest);
    }
    let forget: Vec<(Uuid, i32)> =
        req.forgotten_topics_data.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p))).collect();
    let session_add = if epoch == FINAL_EPOCH { Vec::new() } else { add };
    let partitions = match b.share.session(&group, &member, epoch, session_add, &forget) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(group, member, epoch, ?e, "share fetch session refused");
            return ShareFetchResponse::default().with_error_code(e.code());
        }
    };
    tracing::debug!(group, member, epoch, ?partitions, "share fetch");
    let (ack_codes, mut touched) = apply_acks(ctx, &group, &member, acks).await;
    let lock_ms = image
        .group_configs
        .get(&(group.clone(), "share.record.lock.duration.ms".to_string()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(b.groups.cfg.share_record_lock_duration_ms);
    let mut by_part: BTreeMap<(Uuid, i32), sfr::PartitionData> = BTreeMap::new();
    for ((id, p), c) in &ack_codes {
        by_part.insert((*id, *p), sfr::PartitionData::default().with_partition_index(*p).with_acknowledge_error_code(*c));
    }
    if epoch == FINAL_EPOCH {
        b.share.release_member(b, &group, &member, &partitions).await;
    } else {
        let acl = ctx.acl();
        let mut readable = Vec::new();
        for (id, topic, p) in &partitions {
            let entry = by_part.entry((*id, *p)).or_insert_with(|| sfr::PartitionData::default().with_partition_index(*p));
            let e = if topic.is_empty() {
                Some(E::UnknownTopicId)
            } else if !acl.allowed(Op::Read, Resource::Topic(topic)) {
                Some(E::TopicAuthorizationFailed)
            } else {
                match b.replicas.get(topic, *p).filter(|x| x.is_leader()) {
                    Some(part) => match b.share.ensure(b, &group, &part, epoch == INITIAL_EPOCH).await {
                        Ok(()) => {
                            readable.push(part);
                            None
                        }
                        Err(c) => E::try_from_code(c).or(Some(E::CoordinatorNotAvailable)),
                    },
                    None if image.topic(topic).is_some_and(|t| t.partitions.contains_key(p)) => Some(E::NotLeaderOrFollower),
                    None => Some(E::UnknownTopicOrPartition),
                }
            };
            if let Some(e) = e {
                let (leader, le) = leader_of(&image, topic, *p);
                entry.error_code = code(e);
                entry.current_leader = sfr::LeaderIdAndEpoch::default().with_leader_id(leader).with_leader_epoch(le);
            }
        }
        let max_records = if req.max_records > 0 { req.max_records as usize } else { 500 };
        let max_bytes = if req.max_bytes > 0 { req.max_bytes as usize } else { 50 << 20 };
        let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
        let min_bytes = req.min_bytes.max(1) as usize;
        let fetched = b
            .replicas
            .wait_for_data(&readable, min_bytes, deadline, || {
                // Each pass reads segment files: off the async workers, as fetch's passes are.
                std::future::ready(super::on_disk(|| acquire_pass(b, &group, &member, &readable, max_records, max_bytes)))
            })
            .await;
        touched.extend(readable.iter().cloned());
        for (id, p, f) in fetched {
            let (leader, le) = leader_of(&image, &name(&id), p);
            let entry = by_part.entry((id, p)).or_insert_with(|| sfr::PartitionData::default().with_partition_index(p));
            entry.current_leader = sfr::LeaderIdAndEpoch::default().with_leader_id(leader).with_leader_epoch(le);
            entry.records = Some(f.records);
            entry.acquired_records = f
                .acquired
                .iter()
                .map(|a| {
                    sfr::AcquiredRecords::default()
                        .with_first_offset(a.first)
                        .with_last_offset(a.last)
                        .with_delivery_count(a.delivery_count)
                })
                .collect();
        }
    }
    for part in &touched {
        b.share.persist(b, &group, part).await;
    }
    // A new session hears about every partition; later requests only about those with
    // records, errors or acknowledgement results.
    let full = epoch == INITIAL_EPOCH;
    let mut responses: Vec<sfr::ShareFetchableTopicResponse> = Vec::new();
    for ((id, _), mut data) in by_part {
        let news = data.error_code != 0 || !data.acquired_records.is_empty() || ack_codes.contains_key(&(id, data.partition_index));
        if !(full || news) {
            continue;
        }
        if data.records.is_none() {
            data.records = Some(bytes::Bytes::new());
        }
        match responses.last_mut() {
            Some(t) if t.topic_id == id => t.partitions.push(data),
            _ => responses.push(sfr::ShareFetchableTopicResponse::default().with_topic_id(id).with_partitions(vec![data])),
        }
    }
    ShareFetchResponse::default().with_acquisition_lock_timeout_ms(lock_ms).with_responses(responses)
}

pub async fn acknowledge(ctx: &Ctx<'_>, req: ShareAcknowledgeRequest) -> ShareAcknowledgeResponse {
    let b = ctx.broker;
    let top = |c: i16| ShareAcknowledgeResponse::default().with_error_code(c);
    let group = req.group_id.map(|g| g.0.to_string()).unwrap_or_default();
    let member = req.member_id.map(|m| m.to_string()).unwrap_or_default();
    if group.is_empty() || member.is_empty() {
        return top(code(E::InvalidRequest));
    }
    if !ctx.authorize(Op::Read, Resource::Group(&group)) {
        return top(code(E::GroupAuthorizationFailed));
    }
    if req.share_session_epoch == INITIAL_EPOCH {
        return top(code(E::InvalidShareSessionEpoch));
    }
    let image = b.image();
    let partitions = match b.share.session(&group, &member, req.share_session_epoch, Vec::new(), &[]) {
        Ok(p) => p,
        Err(e) => return top(e.code()),
    };
    let mut acks = Vec::new();
    for t in &req.topics {
        let topic = image.ids.get(&t.topic_id).cloned().unwrap_or_default();
        for p in &t.partitions {
            let batches = p.acknowledgement_batches.iter().map(|a| (a.first_offset, a.last_offset, a.acknowledge_types.clone())).collect();
            acks.push(((t.topic_id, topic.clone(), p.partition_index), batches));
        }
    }
    let (codes, touched) = apply_acks(ctx, &group, &member, acks).await;
    for part in &touched {
        b.share.persist(b, &group, part).await;
    }
    if req.share_session_epoch == FINAL_EPOCH {
        b.share.release_member(b, &group, &member, &partitions).await;
    }
    let mut responses: Vec<sar::ShareAcknowledgeTopicResponse> = Vec::new();
    for ((id, p), c) in codes {
        let mut data = sar::PartitionData::default().with_partition_index(p).with_error_code(c);
        if c == code(E::NotLeaderOrFollower) {
            let (leader, le) = leader_of(&image, &image.ids.get(&id).cloned().unwrap_or_default(), p);
            data.current_leader = sar::LeaderIdAndEpoch::default().with_leader_id(leader).with_leader_epoch(le);
        }
        match responses.last_mut() {
            Some(t) if t.topic_id == id => t.partitions.push(data),
            _ => responses.push(sar::ShareAcknowledgeTopicResponse::default().with_topic_id(id).with_partitions(vec![data])),
        }
    }
    ShareAcknowledgeResponse::default().with_responses(responses)
}

/// ReadShareGroupState (inter-broker): a share partition's leader asks this coordinator for
/// the start offset it persisted (-1: none).
pub async fn read_state(ctx: &Ctx<'_>, req: ReadShareGroupStateRequest) -> ReadShareGroupStateResponse {
    use kafka_protocol::messages::read_share_group_state_response as r;
    let b = ctx.broker;
    let allowed = ctx.authorize(Op::ClusterAction, Resource::Cluster);
    let image = b.image();
    let group = req.group_id.to_string();
    let results = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = image.ids.get(&t.topic_id).cloned();
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let base = r::PartitionResult::default().with_partition(p.partition).with_start_offset(-1);
                    let found = match (&topic, allowed) {
                        (_, false) => Err(code(E::ClusterAuthorizationFailed)),
                        (None, _) => Err(code(E::UnknownTopicOrPartition)),
                        (Some(name), _) => b.groups.share_load_start(&group, name, p.partition),
                    };
                    match found {
                        Ok(start) => base.with_start_offset(start.unwrap_or(-1)),
                        Err(c) => base.with_error_code(c),
                    }
                })
                .collect();
            r::ReadStateResult::default().with_topic_id(t.topic_id).with_partitions(partitions)
        })
        .collect();
    ReadShareGroupStateResponse::default().with_results(results)
}

/// WriteShareGroupState (inter-broker): stores a share partition's start offset.
pub async fn write_state(ctx: &Ctx<'_>, req: WriteShareGroupStateRequest) -> WriteShareGroupStateResponse {
    use kafka_protocol::messages::write_share_group_state_response as w;
    let b = ctx.broker;
    let allowed = ctx.authorize(Op::ClusterAction, Resource::Cluster);
    let image = b.image();
    let group = req.group_id.to_string();
    let mut results = Vec::new();
    for t in req.topics {
        let topic = image.ids.get(&t.topic_id).cloned();
        let mut partitions = Vec::new();
        for p in t.partitions {
            let c = match (&topic, allowed) {
                (_, false) => code(E::ClusterAuthorizationFailed),
                (None, _) => code(E::UnknownTopicOrPartition),
                (Some(name), _) => {
                    match super::on_disk(|| b.groups.share_store_start(&b.replicas, &group, name, p.partition, p.start_offset)) {
                        Ok(()) => 0,
                        Err(c) => c,
                    }
                }
            };
            partitions.push(w::PartitionResult::default().with_partition(p.partition).with_error_code(c));
        }
        results.push(w::WriteStateResult::default().with_topic_id(t.topic_id).with_partitions(partitions));
    }
    WriteShareGroupStateResponse::default().with_results(results)
}

/// One acquisition pass over the session's readable partitions, up to `max_records` and
/// `max_bytes` in all: what was acquired per partition, the bytes, and "answer now" (never:
/// the long poll decides).
fn acquire_pass(
    b: &crate::broker::Broker,
    group: &str,
    member: &str,
    readable: &[Arc<Partition>],
    max_records: usize,
    max_bytes: usize,
) -> (Vec<(Uuid, i32, crate::broker::share::Fetched)>, usize, bool) {
    let mut left_records = max_records;
    let mut left_bytes = max_bytes;
    let mut got = Vec::new();
    let mut bytes = 0;
    for part in readable {
        if left_records == 0 {
            break;
        }
        let f = b.share.acquire(b, group, member, part, left_records, left_bytes);
        let n: usize = f.acquired.iter().map(|a| (a.last - a.first + 1) as usize).sum();
        left_records = left_records.saturating_sub(n);
        left_bytes = left_bytes.saturating_sub(f.records.len()).max(1);
        bytes += f.records.len();
        if !f.acquired.is_empty() {
            got.push((part.topic_id, part.index, f));
        }
    }
    (got, bytes, false)
}
