//! GetTelemetrySubscriptions and PushTelemetry (KIP-714): the request context a client is
//! matched on, handed to the broker's ClientMetricsManager. With client.telemetry.enable
//! off the two APIs are not advertised, and a client that sends them anyway is told
//! UNSUPPORTED_VERSION, as Kafka answers without a telemetry receiver.

use super::{Ctx, code, sb};
use crate::broker::telemetry::{ACCEPTED_COMPRESSION, Push, subscription::ClientInfo};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;

/// What a client is matched on: its request header and connection.
fn client_info(ctx: &Ctx<'_>) -> ClientInfo {
    let (software_name, software_version) = ctx.conn.software.get().cloned().unwrap_or_default();
    ClientInfo {
        instance_id: String::new(),
        client_id: ctx.header.client_id.as_ref().map(|c| c.to_string()).unwrap_or_default(),
        software_name,
        software_version,
        source_address: ctx.conn.client_host.clone(),
        source_port: ctx.conn.client_port.to_string(),
    }
}

pub async fn get_subscriptions(ctx: &Ctx<'_>, req: GetTelemetrySubscriptionsRequest) -> GetTelemetrySubscriptionsResponse {
    let b = ctx.broker;
    if !b.config.client_telemetry {
        return GetTelemetrySubscriptionsResponse::default().with_error_code(code(E::UnsupportedVersion));
    }
    match b.telemetry.get_subscriptions(&b.image(), req.client_instance_id, client_info(ctx)) {
        Ok(a) => GetTelemetrySubscriptionsResponse::default()
            .with_client_instance_id(a.instance_id)
            .with_subscription_id(a.subscription_id)
            .with_accepted_compression_types(ACCEPTED_COMPRESSION.to_vec())
            .with_push_interval_ms(a.interval_ms)
            .with_telemetry_max_bytes(b.telemetry.max_bytes())
            .with_delta_temporality(true)
            .with_requested_metrics(a.metrics.into_iter().map(sb).collect()),
        Err((error, message)) => {
            tracing::debug!(client = ?req.client_instance_id, "GetTelemetrySubscriptions refused: {message}");
            GetTelemetrySubscriptionsResponse::default().with_error_code(error)
        }
    }
}

pub async fn push(ctx: &Ctx<'_>, req: PushTelemetryRequest) -> PushTelemetryResponse {
    let b = ctx.broker;
    if !b.config.client_telemetry {
        return PushTelemetryResponse::default().with_error_code(code(E::UnsupportedVersion));
    }
    let image = b.image();
    let push = Push {
        instance_id: req.client_instance_id,
        subscription_id: req.subscription_id,
        terminating: req.terminating,
        compression: req.compression_type,
        payload: &req.metrics,
    };
    let outcome = b.telemetry.push(&image, push, client_info(ctx));
    match outcome {
        Ok(()) => {
            tracing::debug!(client = %req.client_instance_id, bytes = req.metrics.len(), terminating = req.terminating, "PushTelemetry accepted");
            PushTelemetryResponse::default()
        }
        Err((error, message)) => {
            tracing::debug!(client = %req.client_instance_id, "PushTelemetry refused: {message}");
            PushTelemetryResponse::default().with_error_code(error)
        }
    }
}
