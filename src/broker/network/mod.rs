//! The listeners and one task per connection: size-prefixed frames (refused above
//! `socket.request.max.bytes` before allocating), requests handled one at a time per
//! connection as Kafka does, so responses go out in request order. Each listener has its
//! security protocol: PLAINTEXT, SSL (rustls; the principal comes from the client
//! certificate), SASL_PLAINTEXT and SASL_SSL (`auth.rs` authenticates before any other
//! request is served). Bounds: connection quotas and the request byte pool (`quotas.rs`),
//! `connections.max.idle.ms` between requests, and `request.read.timeout.ms` for a frame
//! that has started to arrive (a client that declares a large frame and stalls is closed).

pub mod auth;
pub mod frame;
pub mod quotas;

use crate::broker::Broker;
use crate::broker::apis::{self, ApiError};
use crate::broker::security::principal::PrincipalMapper;
use crate::broker::security::sasl::SaslConfig;
use crate::security::tls::ReloadingServerConfig;
use bytes::BytesMut;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a stopping broker waits for in-flight requests before it closes anyway.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One listener's security: its name and protocol, TLS and SASL settings.
pub struct ListenerSpec {
    pub name: String,
    pub protocol: String,
    pub tls: Option<Arc<ReloadingServerConfig>>,
    pub sasl: Option<Arc<SaslConfig>>,
    /// ssl.principal.mapping.rules, for SSL client certificates.
    pub mapper: Arc<PrincipalMapper>,
}

impl ListenerSpec {
    /// Builds a listener's security from its properties; errors name the listener.
    pub fn new(name: &str, protocol: &str, props: &std::collections::BTreeMap<String, String>) -> Result<ListenerSpec, String> {
        let tls = match protocol {
            "SSL" | "SASL_SSL" => Some(ReloadingServerConfig::new(props.clone()).map_err(|e| format!("listener {name}: {e}"))?),
            _ => None,
        };
        let sasl = match protocol {
            "SASL_PLAINTEXT" | "SASL_SSL" => Some(Arc::new(SaslConfig::from_props(name, props)?)),
            _ => None,
        };
        let rules = props.get("ssl.principal.mapping.rules").map(String::as_str).unwrap_or("DEFAULT");
        let mapper = Arc::new(PrincipalMapper::parse(rules)?);
        Ok(ListenerSpec { name: name.to_string(), protocol: protocol.to_string(), tls, sasl, mapper })
    }
}

/// Accepts connections until `stop`; then stops accepting, lets every connection finish
/// the request it is handling (each stops reading new ones) and returns when all are done.
pub async fn serve(listener: TcpListener, spec: Arc<ListenerSpec>, broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
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
                    let spec = spec.clone();
                    conns.spawn(async move {
                        match connection(stream, spec, broker, stop).await {
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
pub enum ConnError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("request size {0} is outside 0..={1} (socket.request.max.bytes)")]
    FrameSize(i64, usize),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the request did not arrive within request.read.timeout.ms ({0} ms)")]
    SlowRequest(u64),
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    #[error("authentication failed: {0}")]
    Auth(String),
}

/// One accepted connection: TLS first where the listener has it, then the requests.
async fn connection(stream: TcpStream, spec: Arc<ListenerSpec>, broker: Arc<Broker>, stop: watch::Receiver<bool>) -> Result<(), ConnError> {
    let peer = stream.peer_addr()?;
    let Some(tls) = &spec.tls else {
        let (r, w) = stream.into_split();
        let principal = crate::broker::security::ANONYMOUS.to_string();
        return requests(
            BufReader::with_capacity(64 * 1024, r),
            BufWriter::with_capacity(64 * 1024, w),
            peer,
            principal,
            &spec,
            broker,
            stop,
        )
        .await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
    let tls_stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Err(_) => return Err(ConnError::Tls("no handshake within 10 s".into())),
        Ok(Err(e)) => return Err(ConnError::Tls(e.to_string())),
        Ok(Ok(s)) => s,
    };
    // SSL: the client certificate (if any) names the principal; SASL_SSL: SASL does.
    let principal = match tls_stream.get_ref().1.peer_certificates().and_then(|c| c.first()) {
        Some(cert) if spec.sasl.is_none() => {
            let dn =
                crate::security::tls::subject_dn(cert.as_ref()).ok_or_else(|| ConnError::Tls("unreadable client certificate".into()))?;
            let name = spec.mapper.map(&dn).ok_or_else(|| ConnError::Auth(format!("no ssl.principal.mapping.rules rule matches {dn}")))?;
            format!("User:{name}")
        }
        _ => crate::broker::security::ANONYMOUS.to_string(),
    };
    let (r, w) = tokio::io::split(tls_stream);
    requests(BufReader::with_capacity(64 * 1024, r), BufWriter::with_capacity(64 * 1024, w), peer, principal, &spec, broker, stop).await
}

/// Reads a frame's size prefix within request.read.timeout.ms, refusing sizes outside
/// 0..=max before anything is allocated; None at a clean end of stream.
async fn read_size<R: AsyncRead + Unpin>(reader: &mut BufReader<R>, max: usize, broker: &Broker) -> Result<Option<usize>, ConnError> {
    let read_timeout_ms = broker.config.request_read_timeout_ms;
    let size = match tokio::time::timeout(Duration::from_millis(read_timeout_ms), reader.read_i32()).await {
        Err(_) => return Err(ConnError::SlowRequest(read_timeout_ms)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Ok(r) => r?,
    };
    if size < 0 || size as usize > max {
        return Err(ConnError::FrameSize(size as i64, max));
    }
    Ok(Some(size as usize))
}

/// Reads a frame body of `size` bytes within request.read.timeout.ms.
async fn read_body<R: AsyncRead + Unpin>(reader: &mut BufReader<R>, size: usize, broker: &Broker) -> Result<BytesMut, ConnError> {
    let read_timeout_ms = broker.config.request_read_timeout_ms;
    match tokio::time::timeout(Duration::from_millis(read_timeout_ms), crate::frame::read_body(reader, size)).await {
        Err(_) => Err(ConnError::SlowRequest(read_timeout_ms)),
        Ok(r) => Ok(r?),
    }
}

/// Reads one whole frame (size, then body); None at a clean end of stream.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    max: usize,
    broker: &Broker,
) -> Result<Option<BytesMut>, ConnError> {
    match read_size(reader, max, broker).await? {
        None => Ok(None),
        Some(size) => read_body(reader, size, broker).await.map(Some),
    }
}

/// Waits for the next frame's first byte, at most connections.max.idle.ms; false when
/// the connection ended, went idle or the broker stops.
async fn next_request<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    idle: Duration,
    stop: &mut watch::Receiver<bool>,
) -> Result<bool, ConnError> {
    let ready = tokio::select! {
        _ = stop.changed() => return Ok(false),
        r = tokio::time::timeout(idle, reader.fill_buf()) => r,
    };
    match ready {
        Err(_) => Ok(false),
        Ok(Ok([])) => Ok(false),
        Ok(Ok(_)) => Ok(true),
        // A TLS client that closes without close_notify (most do) ends the connection.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Ok(Err(e)) => Err(e.into()),
    }
}

/// The request loop of an established (and, on SASL listeners, authenticated) connection.
async fn requests<R: AsyncRead + Unpin + Send, W: frame::Sink>(
    mut reader: BufReader<R>,
    mut writer: BufWriter<W>,
    peer: std::net::SocketAddr,
    principal: String,
    spec: &ListenerSpec,
    broker: Arc<Broker>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ConnError> {
    let max = broker.config.socket_request_max_bytes;
    let idle = Duration::from_millis(broker.config.connections_max_idle_ms);
    let software = apis::ClientSoftware::default();
    let mut session = match &spec.sasl {
        None => auth::Session::unauthenticated(principal),
        Some(sasl) => match auth::authenticate(&mut reader, &mut writer, sasl, &broker, (peer, &software), &mut stop, None).await? {
            Some(s) => s,
            None => return Ok(()),
        },
    };
    let ctx = apis::ConnectionInfo {
        client_host: peer.ip().to_string(),
        listener: spec.name.clone(),
        security_protocol: spec.protocol.clone(),
        principal: session.principal.clone(),
        client_port: peer.port(),
        software,
        throttle_ms: Default::default(),
    };
    loop {
        if !next_request(&mut reader, idle, &mut stop).await? {
            tracing::debug!(%peer, "closing a connection: it ended, went idle (connections.max.idle.ms) or the broker stops");
            return Ok(());
        }
        // A frame has started: its size and body must arrive within request.read.timeout.ms,
        // not counting a wait for the request byte pool (queued.max.request.bytes).
        let Some(size) = read_size(&mut reader, max, &broker).await? else { return Ok(()) };
        if size < 8 {
            return Err(ConnError::FrameSize(size as i64, max));
        }
        let permit = tokio::select! {
            _ = stop.changed() => return Ok(()),
            p = broker.quotas.reserve(size) => p,
        };
        let frame = read_body(&mut reader, size, &broker).await?;
        if let Some(sasl) = &spec.sasl {
            // Re-authentication (KIP-368): a SaslHandshake on an authenticated connection
            // starts a new exchange; past the session's lifetime nothing else is served.
            if i16::from_be_bytes([frame[0], frame[1]]) == auth::SASL_HANDSHAKE {
                drop(permit);
                match auth::authenticate(&mut reader, &mut writer, sasl, &broker, (peer, &ctx.software), &mut stop, Some((&session, frame)))
                    .await?
                {
                    Some(s) => session = s,
                    None => return Ok(()),
                }
                continue;
            }
            if session.expired() {
                return Err(ConnError::Auth("the session expired without re-authentication (connections.max.reauth.ms)".into()));
            }
        }
        let resp = apis::dispatch(&broker, &ctx, frame.freeze()).await?;
        drop(permit);
        if let Some(resp) = resp {
            frame::write_frame(&mut writer, resp).await?;
        }
        // Coalesce pipelined responses: flush only when no further request is buffered.
        // Always then, even with the BufWriter empty: large writes bypass it, and a TLS
        // stream keeps encrypted records of its own until flushed.
        let mute_ms = ctx.throttle_ms.swap(0, std::sync::atomic::Ordering::Relaxed);
        if reader.buffer().is_empty() || mute_ms > 0 {
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
