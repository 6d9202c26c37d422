//! DescribeCluster: the cluster id, controller and the brokers with their endpoints.

use super::{Ctx, sb};
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::*;

pub async fn describe_cluster(ctx: &Ctx<'_>, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let b = ctx.broker;
    // endpoint_type 2 (controller endpoints, v1+) is for controller clients: rk's
    // combined node answers with the same listener.
    let broker = DescribeClusterBroker::default()
        .with_broker_id(BrokerId(b.config.node_id))
        .with_host(sb(b.config.advertised_host.clone()))
        .with_port(b.config.advertised_port as i32);
    DescribeClusterResponse::default()
        .with_endpoint_type(if ctx.version >= 1 { req.endpoint_type } else { 1 })
        .with_cluster_id(sb(b.cluster_id.clone()))
        .with_controller_id(BrokerId(b.config.node_id))
        .with_brokers(vec![broker])
}
