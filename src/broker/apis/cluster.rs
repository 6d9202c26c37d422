//! DescribeCluster: the cluster id, controller and the brokers with their endpoints, and
//! (when asked) the cluster's authorized operations: 0 without DESCRIBE, as Kafka answers.

use super::{Ctx, sb};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::*;

pub async fn describe_cluster(ctx: &Ctx<'_>, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let b = ctx.broker;
    // endpoint_type 2 (controller endpoints, v1+) is for controller clients: rk's
    // combined node answers with the same listener.
    let brokers = b
        .endpoints_for(&ctx.conn.listener)
        .into_iter()
        .map(|e| {
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(e.id))
                .with_host(sb(e.host))
                .with_port(e.port)
                .with_rack(e.rack.map(sb))
        })
        .collect();
    let acl = ctx.acl();
    let ops = match req.include_cluster_authorized_operations {
        true if acl.allowed(Op::Describe, Resource::Cluster) => acl.authorized_ops(Resource::Cluster),
        true => 0,
        false => i32::MIN,
    };
    DescribeClusterResponse::default()
        .with_cluster_authorized_operations(ops)
        .with_endpoint_type(if ctx.version >= 1 { req.endpoint_type } else { 1 })
        .with_cluster_id(sb(b.cluster_id.clone()))
        .with_controller_id(BrokerId(b.controller_id()))
        .with_brokers(brokers)
}
