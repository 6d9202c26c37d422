//! The listener and one task per connection: size-prefixed frames (refused above
//! `socket.request.max.bytes` before allocating), requests handled one at a time per
//! connection as Kafka does, so responses go out in request order. Bounds: connection
//! quotas and the request byte pool (`quotas.rs`), `connections.max.idle.ms` between
//! requests, and `request.read.timeout.ms` for a frame that has started to arrive (a
//! client that declares a large frame and stalls is closed).

pub mod frame;
pub mod quotas;

use crate::broker::Broker;
use crate::broker::apis::{self, ApiError};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a stopping broker waits for in-flight requests before it closes anyway.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Accepts connections until `stop`; then stops accepting, lets every connection finish
/// the request it is handling (each stops reading new ones) and returns when all are done.
pub async fn serve(listener: TcpListener, broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut conns = tokio::task::JoinSet::new();
    let quotas = broker.quotas.clone();
    loop {
        // Reap finished connections so the set stays as large as the live ones. A handler
        // that panicked took only its own connection down (locks recover from poisoning).
        while let Some(done) = conns.try_join_next() {
            if let Err(e) = done
                && e.is_panic()
            {
                tracing::error!("a request handler panicked; its connection was closed");
            }
        }
        // max.connections: wait for a free slot before accepting more.
        tokio::select! {
            _ = stop.changed() => break,
            _ = quotas.wait_for_slot() => {}
        }
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some(slot) = quotas.admit(peer.ip()) else {
                        tracing::info!(%peer, "Rejected connection from {}, address already has the configured maximum of connections.", peer.ip());
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let broker = broker.clone();
                    let stop = stop.clone();
                    conns.spawn(async move {
                        match connection(stream, broker, stop).await {
                            Err(e) => tracing::warn!(%peer, "closing connection: {e}"),
                            Ok(()) => tracing::debug!(%peer, "connection ended"),
                        }
                        drop(slot);
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
    drop(listener);
    let in_flight = conns.len();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(connections = conns.len(), "closing connections whose requests did not finish in time");
        conns.shutdown().await;
    } else if in_flight > 0 {
        tracing::debug!(connections = in_flight, "connections drained");
    }
}

#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("request size {0} is outside 0..={1} (socket.request.max.bytes)")]
    FrameSize(i64, usize),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the request did not arrive within request.read.timeout.ms ({0} ms)")]
    SlowRequest(u64),
}

async fn connection(stream: TcpStream, broker: Arc<Broker>, mut stop: watch::Receiver<bool>) -> Result<(), ConnError> {
    let peer = stream.peer_addr()?;
    let (r, w) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, r);
    let mut writer = BufWriter::with_capacity(64 * 1024, w);
    let max = broker.config.socket_request_max_bytes;
    let idle = Duration::from_millis(broker.config.connections_max_idle_ms);
    let read_timeout_ms = broker.config.request_read_timeout_ms;
    let read_timeout = Duration::from_millis(read_timeout_ms);
    let ctx = apis::ConnectionInfo {
        client_host: peer.ip().to_string(),
        listener: "PLAINTEXT".into(),
        security_protocol: "PLAINTEXT".into(),
        principal: crate::broker::security::ANONYMOUS.into(),
        throttle_ms: Default::default(),
    };
    loop {
        // Between requests: wait for the next frame's first byte, at most connections.max.idle.ms.
        let ready = tokio::select! {
            _ = stop.changed() => {
                tracing::debug!(%peer, "closing a connection: the broker stops");
                return Ok(());
            }
            r = tokio::time::timeout(idle, reader.fill_buf()) => r,
        };
        match ready {
            Err(_) => {
                tracing::debug!(%peer, "closing a connection idle for connections.max.idle.ms");
                return Ok(());
            }
            Ok(Ok([])) => return Ok(()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.into()),
        }
        // A frame has started: its size and body must arrive within request.read.timeout.ms,
        // not counting a wait for the request byte pool (queued.max.request.bytes).
        let size = match tokio::time::timeout(read_timeout, reader.read_i32()).await {
            Err(_) => return Err(ConnError::SlowRequest(read_timeout_ms)),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(r) => r?,
        };
        if size < 8 || size as usize > max {
            return Err(ConnError::FrameSize(size as i64, max));
        }
        let permit = tokio::select! {
            _ = stop.changed() => return Ok(()),
            p = broker.quotas.reserve(size as usize) => p,
        };
        let frame = match tokio::time::timeout(read_timeout, crate::frame::read_body(&mut reader, size as usize)).await {
            Err(_) => return Err(ConnError::SlowRequest(read_timeout_ms)),
            Ok(r) => r?,
        };
        let resp = apis::dispatch(&broker, &ctx, frame.freeze()).await?;
        drop(permit);
        if let Some(resp) = resp {
            frame::write_frame(&mut writer, resp).await?;
        }
        // Coalesce pipelined responses: flush only when no further request is buffered.
        let mute_ms = ctx.throttle_ms.swap(0, std::sync::atomic::Ordering::Relaxed);
        if (reader.buffer().is_empty() || mute_ms > 0) && !writer.buffer().is_empty() {
            writer.flush().await?;
        }
        if mute_ms > 0 {
            // Quota exceeded: the channel is muted (nothing more is read) for the throttle time.
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                _ = tokio::time::sleep(Duration::from_millis(mute_ms)) => {}
            }
        }
    }
}
