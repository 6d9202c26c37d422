//! The metrics listener (`metrics.listener=http://127.0.0.1:9308`, off by default): an
//! axum server with `/metrics` (OpenMetrics text, which Prometheus scrapes), `/health/live`
//! (the process answers) and `/health/ready` (503 until the broker serves clients: a KRaft
//! broker has caught up with the metadata).

use crate::broker::Broker;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Weak;

/// Parses `http://host:port` (or `host:port`) into the address to bind.
pub fn parse_listener(v: &str) -> Result<SocketAddr, String> {
    let hostport = v.trim().strip_prefix("http://").unwrap_or(v.trim()).trim_end_matches('/');
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or_else(|| format!("Invalid value {v} for configuration metrics.listener: expected http://host:port"))?;
    let port: u16 = port.parse().map_err(|_| format!("Invalid value {v} for configuration metrics.listener: bad port '{port}'"))?;
    crate::broker::config::resolve(host.trim_start_matches('[').trim_end_matches(']'), port)
        .ok_or_else(|| format!("Invalid value {v} for configuration metrics.listener: cannot resolve '{host}'"))
}

async fn metrics(State(b): State<Weak<Broker>>) -> impl IntoResponse {
    let Some(b) = b.upgrade() else { return (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/plain")], String::new()) };
    let text = tokio::task::spawn_blocking(move || b.metrics.render(&b)).await.unwrap_or_default();
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
}

async fn ready(State(b): State<Weak<Broker>>) -> impl IntoResponse {
    match b.upgrade() {
        Some(b) if b.is_caught_up() => (StatusCode::OK, "ready\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
    }
}

/// Serves until `stop` changes.
pub async fn serve(listener: tokio::net::TcpListener, broker: Weak<Broker>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/health/live", get(|| async { "ok\n" }))
        .route("/health/ready", get(ready))
        .with_state(broker);
    let shutdown = async move {
        let _ = stop.changed().await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        tracing::warn!("metrics listener stopped: {e}");
    }
}
