//! The consumer group protocol's APIs (KIP-848): ConsumerGroupHeartbeat and
//! ConsumerGroupDescribe. The rules live in `coordinator::group::modern`; this file maps
//! requests onto them, with authorization and topic ids ⇄ names.

use super::{Ctx, code, sb};
use crate::broker::coordinator::group::consumer::Assignment;
use crate::broker::coordinator::group::modern::HeartbeatParams;
use crate::broker::metadata::MetadataImage;
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::consumer_group_describe_response::{self as cgd, DescribedGroup};
use kafka_protocol::messages::consumer_group_heartbeat_response as cgh;
use kafka_protocol::messages::*;

/// Kafka's MemberType in ConsumerGroupDescribe v1: 1 for a consumer-protocol member.
const MEMBER_TYPE_CONSUMER: i8 = 1;

pub async fn heartbeat(ctx: &Ctx<'_>, req: ConsumerGroupHeartbeatRequest) -> ConsumerGroupHeartbeatResponse {
    let b = ctx.broker;
    let err =
        |e: E, msg: Option<String>| ConsumerGroupHeartbeatResponse::default().with_error_code(code(e)).with_error_message(msg.map(sb));
    if !ctx.authorize(Op::Read, Resource::Group(&req.group_id.0)) {
        return err(E::GroupAuthorizationFailed, None);
    }
    let acl = ctx.acl();
    // Topics named in the subscription must be describable (a regex only sees those that are).
    if let Some(names) = &req.subscribed_topic_names
        && names.iter().any(|n| !acl.allowed(Op::Describe, Resource::Topic(&n.0)))
    {
        return err(E::TopicAuthorizationFailed, None);
    }
    if let Err(e) = b.ensure_offsets_topic().await {
        tracing::warn!("{e}");
        return err(E::CoordinatorNotAvailable, None);
    }
    let owned = req.topic_partitions.map(|tps| {
        let mut a = Assignment::new();
        for tp in tps {
            a.entry(tp.topic_id).or_default().extend(tp.partitions);
        }
        a
    });
    let p = HeartbeatParams {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        instance_id: req.instance_id.map(|s| s.to_string()),
        rack_id: req.rack_id.map(|s| s.to_string()),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req.subscribed_topic_names.map(|ns| ns.into_iter().map(|n| n.0.to_string()).collect()),
        subscribed_topic_regex: req.subscribed_topic_regex.map(|s| s.to_string()),
        server_assignor: req.server_assignor.map(|s| s.to_string()),
        owned,
        client_id: ctx.header.client_id.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        client_host: format!("/{}", ctx.conn.client_host),
        version: ctx.version,
    };
    let image = b.image();
    let visible = |t: &str| acl.allowed(Op::Describe, Resource::Topic(t));
    tracing::debug!(group = %p.group_id, member = %p.member_id, epoch = p.member_epoch, subscribed = ?p.subscribed_topic_names, owned = ?p.owned, "consumer group heartbeat");
    let o = b.groups.consumer_heartbeat(&image, &visible, p);
    tracing::debug!(member = %o.member_id, error = o.error, epoch = o.member_epoch, assignment = ?o.assignment, "consumer group heartbeat answered");
    if o.error != 0 {
        return ConsumerGroupHeartbeatResponse::default().with_error_code(o.error).with_error_message(o.message.map(sb));
    }
    let assignment = o.assignment.map(|a| {
        cgh::Assignment::default().with_topic_partitions(
            a.into_iter()
                .map(|(t, ps)| cgh::TopicPartitions::default().with_topic_id(t).with_partitions(ps.into_iter().collect()))
                .collect(),
        )
    });
    ConsumerGroupHeartbeatResponse::default()
        .with_member_id(Some(sb(o.member_id)))
        .with_member_epoch(o.member_epoch)
        .with_heartbeat_interval_ms(o.heartbeat_interval_ms)
        .with_assignment(assignment)
}

fn described_assignment(image: &MetadataImage, a: &Assignment) -> cgd::Assignment {
    cgd::Assignment::default().with_topic_partitions(
        a.iter()
            .map(|(t, ps)| {
                let name = image.ids.get(t).cloned().unwrap_or_default();
                cgd::TopicPartitions::default()
                    .with_topic_id(*t)
                    .with_topic_name(TopicName(sb(name)))
                    .with_partitions(ps.iter().copied().collect())
            })
            .collect(),
    )
}

pub async fn describe(ctx: &Ctx<'_>, req: ConsumerGroupDescribeRequest) -> ConsumerGroupDescribeResponse {
    let acl = ctx.acl();
    let image = ctx.broker.image();
    let groups = req
        .group_ids
        .into_iter()
        .map(|id| {
            let base = DescribedGroup::default().with_group_id(id.clone());
            if !acl.allowed(Op::Describe, Resource::Group(&id.0)) {
                return base.with_error_code(code(E::GroupAuthorizationFailed));
            }
            let base = if req.include_authorized_operations {
                base.with_authorized_operations(acl.authorized_ops(Resource::Group(&id.0)))
            } else {
                base
            };
            match ctx.broker.groups.consumer_describe(&id.0) {
                Err((c, msg)) => base.with_error_code(c).with_error_message(msg.map(sb)),
                Ok(None) => base
                    .with_error_code(code(E::GroupIdNotFound))
                    .with_error_message(Some(sb(format!("Group {} not found.", id.0))))
                    .with_group_state(sb("Dead")),
                Ok(Some(d)) => base
                    .with_group_state(sb(d.state))
                    .with_group_epoch(d.group_epoch)
                    .with_assignment_epoch(d.assignment_epoch)
                    .with_assignor_name(sb(d.assignor))
                    .with_members(
                        d.members
                            .iter()
                            .map(|(m, target)| {
                                cgd::Member::default()
                                    .with_member_id(sb(m.member_id.clone()))
                                    .with_instance_id(m.instance_id.clone().map(sb))
                                    .with_rack_id(m.rack_id.clone().map(sb))
                                    .with_member_epoch(m.epoch)
                                    .with_client_id(sb(m.client_id.clone()))
                                    .with_client_host(sb(m.client_host.clone()))
                                    .with_subscribed_topic_names(
                                        m.subscribed_topic_names.iter().map(|n| TopicName(sb(n.clone()))).collect(),
                                    )
                                    .with_subscribed_topic_regex(m.subscribed_topic_regex.clone().map(sb))
                                    .with_assignment(described_assignment(&image, &m.assigned))
                                    .with_target_assignment(described_assignment(&image, target))
                                    .with_member_type(if ctx.version >= 1 { MEMBER_TYPE_CONSUMER } else { -1 })
                            })
                            .collect(),
                    ),
            }
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
