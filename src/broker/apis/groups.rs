//! Group APIs (classic protocol): FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup, ListGroups, DescribeGroups, DeleteGroups. The state machine lives in
//! `coordinator::group`; this file maps requests and versions onto it.

use super::{Ctx, code, sb};
use crate::broker::coordinator::group::state::{JoinOutcome, SyncOutcome};
use crate::broker::coordinator::group::{JoinParams, Reply, SyncParams};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::*;

const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;

pub async fn find_coordinator(ctx: &Ctx<'_>, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let b = ctx.broker;
    // The coordinators' internal topic is created on the first request for it, as Kafka does.
    let ready = match req.key_type {
        KEY_TYPE_GROUP => b.ensure_offsets_topic().await,
        KEY_TYPE_TRANSACTION => b.ensure_txn_topic().await,
        _ => Ok(()),
    };
    // The coordinator is the leader of the key's partition of the internal topic.
    let answer = |key: &str| -> Result<crate::broker::Endpoint, (i16, Option<String>)> {
        if req.key_type != KEY_TYPE_GROUP && req.key_type != KEY_TYPE_TRANSACTION {
            return Err((code(E::InvalidRequest), Some(format!("Unknown coordinator key type {}", req.key_type))));
        }
        // DESCRIBE on the group or transactional id the coordinator is asked for.
        let (resource, denied) = if req.key_type == KEY_TYPE_GROUP {
            (Resource::Group(key), E::GroupAuthorizationFailed)
        } else {
            (Resource::TransactionalId(key), E::TransactionalIdAuthorizationFailed)
        };
        if !ctx.authorize(Op::Describe, resource) {
            return Err((code(denied), None));
        }
        if key.is_empty() && ctx.version < 4 {
            let e = if req.key_type == KEY_TYPE_GROUP { E::InvalidGroupId } else { E::InvalidRequest };
            return Err((code(e), None));
        }
        if let Err(e) = &ready {
            return Err((code(E::CoordinatorNotAvailable), Some(e.clone())));
        }
        let (topic, partition) = if req.key_type == KEY_TYPE_GROUP {
            let n = b.groups.cfg.offsets_partitions;
            (crate::broker::coordinator::group::store::OFFSETS_TOPIC, crate::broker::coordinator::group::store::partition_for(key, n))
        } else {
            let n = b.config.txn.partitions;
            (crate::broker::coordinator::txn::store::TXN_TOPIC, crate::broker::coordinator::txn::store::partition_for(key, n))
        };
        b.coordinator_on(topic, partition, &ctx.conn.listener).ok_or((code(E::CoordinatorNotAvailable), None))
    };
    if ctx.version >= 4 {
        let coordinators = req
            .coordinator_keys
            .iter()
            .map(|k| {
                let c = Coordinator::default().with_key(k.clone());
                match answer(k.as_str()) {
                    Ok(e) => c.with_node_id(BrokerId(e.id)).with_host(sb(e.host)).with_port(e.port),
                    Err((err, msg)) => c.with_error_code(err).with_error_message(msg.map(sb)).with_node_id(BrokerId(-1)).with_port(-1),
                }
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    match answer(req.key.as_str()) {
        Ok(e) => FindCoordinatorResponse::default().with_node_id(BrokerId(e.id)).with_host(sb(e.host)).with_port(e.port),
        Err((err, msg)) => {
            let r = FindCoordinatorResponse::default().with_error_code(err).with_node_id(BrokerId(-1)).with_port(-1);
            if ctx.version >= 1 { r.with_error_message(msg.map(sb)) } else { r }
        }
    }
}

/// Awaits a coordinator reply; a dropped waiter means the member was removed meanwhile.
async fn settle<T>(reply: Reply<T>, dropped: T) -> T {
    match reply {
        Reply::Now(t) => t,
        Reply::Later(rx) => rx.await.unwrap_or(dropped),
    }
}

fn join_response(ctx: &Ctx<'_>, o: JoinOutcome) -> JoinGroupResponse {
    let r = JoinGroupResponse::default()
        .with_error_code(o.error)
        .with_generation_id(o.generation)
        .with_protocol_name(if ctx.version >= 7 { o.protocol_name } else { Some(o.protocol_name.unwrap_or_default()) }.map(sb))
        .with_leader(sb(o.leader))
        .with_member_id(sb(o.member_id))
        .with_members(
            o.members
                .into_iter()
                .map(|(id, iid, md)| {
                    JoinGroupResponseMember::default().with_member_id(sb(id)).with_group_instance_id(iid.map(sb)).with_metadata(md)
                })
                .collect(),
        );
    let r = if ctx.version >= 7 { r.with_protocol_type(o.protocol_type.map(sb)) } else { r };
    if ctx.version >= 9 { r.with_skip_assignment(o.skip_assignment) } else { r }
}

pub async fn join_group(ctx: &Ctx<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    let b = ctx.broker;
    if !ctx.authorize(Op::Read, Resource::Group(&req.group_id.0)) {
        return join_response(ctx, JoinOutcome { error: code(E::GroupAuthorizationFailed), generation: -1, ..Default::default() });
    }
    if let Err(e) = b.ensure_offsets_topic().await {
        tracing::warn!("{e}");
        return join_response(ctx, JoinOutcome { error: code(E::CoordinatorNotAvailable), generation: -1, ..Default::default() });
    }
    let p = JoinParams {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.map(|s| s.to_string()),
        client_id: ctx.header.client_id.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        client_host: format!("/{}", ctx.conn.client_host),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if ctx.version >= 1 { req.rebalance_timeout_ms } else { req.session_timeout_ms },
        protocol_type: req.protocol_type.to_string(),
        protocols: req.protocols.into_iter().map(|p| (p.name.to_string(), p.metadata)).collect(),
        require_known_member_id: ctx.version >= 4,
        version: ctx.version,
    };
    let member = p.member_id.clone();
    let reply = super::on_disk(|| b.groups.join(&b.replicas, p));
    let dropped = JoinOutcome { error: code(E::UnknownMemberId), generation: -1, member_id: member, ..Default::default() };
    join_response(ctx, settle(reply, dropped).await)
}

pub async fn sync_group(ctx: &Ctx<'_>, req: SyncGroupRequest) -> SyncGroupResponse {
    let b = ctx.broker;
    if !ctx.authorize(Op::Read, Resource::Group(&req.group_id.0)) {
        return SyncGroupResponse::default().with_error_code(code(E::GroupAuthorizationFailed));
    }
    let p = SyncParams {
        group_id: req.group_id.0.to_string(),
        generation: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.map(|s| s.to_string()),
        protocol_type: req.protocol_type.map(|s| s.to_string()),
        protocol_name: req.protocol_name.map(|s| s.to_string()),
        assignments: req.assignments.into_iter().map(|a| (a.member_id.to_string(), a.assignment)).collect(),
    };
    let o =
        settle(super::on_disk(|| b.groups.sync(&b.replicas, p)), SyncOutcome { error: code(E::RebalanceInProgress), ..Default::default() })
            .await;
    let r = SyncGroupResponse::default().with_error_code(o.error).with_assignment(o.assignment);
    if ctx.version >= 5 { r.with_protocol_type(o.protocol_type.map(sb)).with_protocol_name(o.protocol_name.map(sb)) } else { r }
}

pub async fn heartbeat(ctx: &Ctx<'_>, req: HeartbeatRequest) -> HeartbeatResponse {
    if !ctx.authorize(Op::Read, Resource::Group(&req.group_id.0)) {
        return HeartbeatResponse::default().with_error_code(code(E::GroupAuthorizationFailed));
    }
    let err = ctx.broker.groups.heartbeat(&req.group_id.0, req.generation_id, &req.member_id, req.group_instance_id.as_deref());
    HeartbeatResponse::default().with_error_code(err)
}

pub async fn leave_group(ctx: &Ctx<'_>, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let b = ctx.broker;
    if !ctx.authorize(Op::Read, Resource::Group(&req.group_id.0)) {
        return LeaveGroupResponse::default().with_error_code(code(E::GroupAuthorizationFailed));
    }
    let leaving: Vec<(String, Option<String>)> = if ctx.version >= 3 {
        req.members.iter().map(|m| (m.member_id.to_string(), m.group_instance_id.as_ref().map(|s| s.to_string()))).collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    let codes = super::on_disk(|| b.groups.leave(&b.replicas, &req.group_id.0, &leaving));
    if ctx.version < 3 {
        return LeaveGroupResponse::default().with_error_code(codes.first().copied().unwrap_or(0));
    }
    let members = leaving
        .into_iter()
        .zip(codes)
        .map(|((id, iid), c)| MemberResponse::default().with_member_id(sb(id)).with_group_instance_id(iid.map(sb)).with_error_code(c))
        .collect();
    LeaveGroupResponse::default().with_members(members)
}

pub async fn list_groups(ctx: &Ctx<'_>, req: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = if ctx.version >= 4 { req.states_filter.iter().map(|s| s.to_ascii_lowercase()).collect() } else { vec![] };
    let types: Vec<String> = if ctx.version >= 5 { req.types_filter.iter().map(|s| s.to_ascii_lowercase()).collect() } else { vec![] };
    // DESCRIBE on the cluster lists every group; otherwise those the principal may describe.
    let acl = ctx.acl();
    let all = acl.allowed(Op::Describe, Resource::Cluster);
    let groups = ctx
        .broker
        .groups
        .list()
        .into_iter()
        .filter(|g| states.is_empty() || states.contains(&g.state.to_ascii_lowercase()))
        .filter(|g| types.is_empty() || types.iter().any(|t| t == g.group_type))
        .filter(|g| all || acl.allowed(Op::Describe, Resource::Group(&g.id)))
        .map(|g| {
            let l = ListedGroup::default().with_group_id(GroupId(sb(g.id))).with_protocol_type(sb(g.protocol_type));
            let l = if ctx.version >= 4 { l.with_group_state(sb(g.state)) } else { l };
            if ctx.version >= 5 { l.with_group_type(sb(g.group_type)) } else { l }
        })
        .collect();
    // Kafka answers COORDINATOR_LOAD_IN_PROGRESS (with what it has) while a partition loads.
    let err = if ctx.broker.groups.is_loaded() { 0 } else { code(E::CoordinatorLoadInProgress) };
    ListGroupsResponse::default().with_error_code(err).with_groups(groups)
}

pub async fn describe_groups(ctx: &Ctx<'_>, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let acl = ctx.acl();
    let groups = req
        .groups
        .into_iter()
        .map(|id| {
            let base = DescribedGroup::default().with_group_id(id.clone());
            if !acl.allowed(Op::Describe, Resource::Group(&id.0)) {
                return base
                    .with_error_code(code(E::GroupAuthorizationFailed))
                    .with_group_state(sb(""))
                    .with_protocol_type(sb(""))
                    .with_protocol_data(sb(""));
            }
            // v3+ (KIP-430): what the principal may do with the group, when asked.
            let base = if req.include_authorized_operations {
                base.with_authorized_operations(acl.authorized_ops(Resource::Group(&id.0)))
            } else {
                base
            };
            match ctx.broker.groups.describe(&id.0) {
                Err(c) => base.with_error_code(c).with_group_state(sb("")).with_protocol_type(sb("")).with_protocol_data(sb("")),
                Ok(None) => {
                    let g = base.with_group_state(sb("Dead")).with_protocol_type(sb("")).with_protocol_data(sb(""));
                    // v6 (KIP-1043) reports a missing group as GROUP_ID_NOT_FOUND.
                    if ctx.version >= 6 {
                        g.with_error_code(code(E::GroupIdNotFound)).with_error_message(Some(sb(format!("Group {} not found.", id.0))))
                    } else {
                        g
                    }
                }
                Ok(Some(d)) => base
                    .with_group_state(sb(d.state))
                    .with_protocol_type(sb(d.protocol_type))
                    .with_protocol_data(sb(d.protocol))
                    .with_members(
                        d.members
                            .into_iter()
                            .map(|(mid, iid, cid, host, md, asg)| {
                                let m = DescribedGroupMember::default()
                                    .with_member_id(sb(mid))
                                    .with_client_id(sb(cid))
                                    .with_client_host(sb(host))
                                    .with_member_metadata(md)
                                    .with_member_assignment(asg);
                                if ctx.version >= 4 { m.with_group_instance_id(iid.map(sb)) } else { m }
                            })
                            .collect(),
                    ),
            }
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

pub async fn delete_groups(ctx: &Ctx<'_>, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let b = ctx.broker;
    let results = req
        .groups_names
        .into_iter()
        .map(|g| {
            let c = if ctx.authorize(Op::Delete, Resource::Group(&g.0)) {
                let c = super::on_disk(|| b.groups.delete_group(&b.replicas, &g.0));
                if c == 0 {
                    // A share group's partitions led here start over with a new group.
                    b.share.forget_group(&g.0);
                }
                c
            } else {
                code(E::GroupAuthorizationFailed)
            };
            delete_groups_response::DeletableGroupResult::default().with_group_id(g).with_error_code(c)
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
