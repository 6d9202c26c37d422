//! AlterPartitionReassignments and ListPartitionReassignments (KIP-455), planned by the
//! active controller (controller/reassign.rs). Altering needs ALTER on the cluster,
//! listing DESCRIBE.

use super::{Ctx, code, sb};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::alter_partition_reassignments_response::{ReassignablePartitionResponse, ReassignableTopicResponse};
use kafka_protocol::messages::list_partition_reassignments_response::{OngoingPartitionReassignment, OngoingTopicReassignment};
use kafka_protocol::messages::*;

pub async fn alter(ctx: &Ctx<'_>, req: AlterPartitionReassignmentsRequest) -> AlterPartitionReassignmentsResponse {
    if !ctx.authorize(Op::Alter, Resource::Cluster) {
        let e = E::ClusterAuthorizationFailed;
        return AlterPartitionReassignmentsResponse::default().with_error_code(code(e)).with_error_message(Some(sb(e.to_string())));
    }
    let items: Vec<(String, i32, Option<Vec<i32>>)> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name.0.to_string(), p.partition_index, p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect())))
        })
        .collect();
    let mut outcomes = ctx.broker.controller.reassign(items.clone()).await.into_iter();
    let mut topics: Vec<ReassignableTopicResponse> = Vec::new();
    for (topic, idx, _) in items {
        let r = ReassignablePartitionResponse::default().with_partition_index(idx);
        let r = match outcomes.next().unwrap_or(Ok(())) {
            Ok(()) => r,
            Err(e) => r.with_error_code(e.0).with_error_message(Some(sb(e.1))),
        };
        match topics.last_mut().filter(|t| t.name.0.as_str() == topic) {
            Some(t) => t.partitions.push(r),
            None => topics.push(ReassignableTopicResponse::default().with_name(TopicName(sb(topic))).with_partitions(vec![r])),
        }
    }
    AlterPartitionReassignmentsResponse::default().with_responses(topics)
}

pub async fn list(ctx: &Ctx<'_>, req: ListPartitionReassignmentsRequest) -> ListPartitionReassignmentsResponse {
    if !ctx.authorize(Op::Describe, Resource::Cluster) {
        let e = E::ClusterAuthorizationFailed;
        return ListPartitionReassignmentsResponse::default().with_error_code(code(e)).with_error_message(Some(sb(e.to_string())));
    }
    let image = ctx.broker.image();
    let only: Option<Vec<(String, i32)>> =
        req.topics.as_ref().map(|ts| ts.iter().flat_map(|t| t.partition_indexes.iter().map(move |p| (t.name.0.to_string(), *p))).collect());
    let mut topics: Vec<OngoingTopicReassignment> = Vec::new();
    for (topic, idx, replicas, adding, removing) in crate::broker::controller::reassign::list(&image, only.as_deref()) {
        let ids = |v: Vec<i32>| v.into_iter().map(BrokerId).collect::<Vec<_>>();
        let p = OngoingPartitionReassignment::default()
            .with_partition_index(idx)
            .with_replicas(ids(replicas))
            .with_adding_replicas(ids(adding))
            .with_removing_replicas(ids(removing));
        match topics.last_mut().filter(|t| t.name.0.as_str() == topic) {
            Some(t) => t.partitions.push(p),
            None => topics.push(OngoingTopicReassignment::default().with_name(TopicName(sb(topic))).with_partitions(vec![p])),
        }
    }
    ListPartitionReassignmentsResponse::default().with_topics(topics)
}
