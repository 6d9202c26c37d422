//! DescribeCluster: the cluster id, controller and the brokers with their endpoints.

use super::{Ctx, sb};
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::*;

pub async fn describe_cluster(ctx: &Ctx<'_>, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let b = ctx.broker;
    // endpoint_type 2 (controller endpoints, v1+) is for controller clients: rk's
    // combined node answers with the same listener.
    let brokers = b
        .endpoints()
        .into_iter()
        .map(|e| {
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(e.id))
                .with_host(sb(e.host))
                .with_port(e.port)
                .with_rack(e.rack.map(sb))
        })
        .collect();
    DescribeClusterResponse::default()
        .with_endpoint_type(if ctx.version >= 1 { req.endpoint_type } else { 1 })
        .with_cluster_id(sb(b.cluster_id.clone()))
        .with_controller_id(BrokerId(b.controller_id()))
        .with_brokers(brokers)
}
