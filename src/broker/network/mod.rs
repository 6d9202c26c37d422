//! The listener and one task per connection: size-prefixed frames (refused above
//! `socket.request.max.bytes` before allocating), requests handled one at a time per
//! connection as Kafka does, so responses go out in request order.

pub mod frame;

use crate::broker::Broker;
use crate::broker::apis::{self, ApiError};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a stopping broker waits for in-flight requests before it closes anyway.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Accepts connections until `stop`; then stops accepting, lets every connection finish
/// the request it is handling (each stops reading new ones) and returns when all are done.
pub async fn serve(listener: TcpListener, broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        // Reap finished connections so the set stays as large as the live ones.
        while conns.try_join_next().is_some() {}
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let broker = broker.clone();
                    let stop = stop.clone();
                    conns.spawn(async move {
                        if let Err(e) = connection(stream, broker, stop).await {
                            tracing::warn!(%peer, "closing connection: {e}");
                        }
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
}

async fn connection(stream: TcpStream, broker: Arc<Broker>, mut stop: watch::Receiver<bool>) -> Result<(), ConnError> {
    let peer = stream.peer_addr()?;
    let (r, w) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, r);
    let mut writer = BufWriter::with_capacity(64 * 1024, w);
    let max = broker.config.socket_request_max_bytes;
    let ctx = apis::ConnectionInfo { client_host: peer.ip().to_string() };
    loop {
        let size = tokio::select! {
            _ = stop.changed() => return Ok(()),
            s = reader.read_i32() => match s {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e.into()),
            },
        };
        if size < 8 || size as usize > max {
            return Err(ConnError::FrameSize(size as i64, max));
        }
        let frame = crate::frame::read_body(&mut reader, size as usize).await?;
        if let Some(resp) = apis::dispatch(&broker, &ctx, frame.freeze()).await? {
            frame::write_frame(&mut writer, resp).await?;
        }
        // Coalesce pipelined responses: flush only when no further request is buffered.
        if reader.buffer().is_empty() && !writer.buffer().is_empty() {
            writer.flush().await?;
        }
    }
}
