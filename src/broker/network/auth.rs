//! SASL authentication of a connection (Kafka's SaslServerAuthenticator): before anything
//! else only ApiVersions, SaslHandshake and SaslAuthenticate are served. SaslHandshake v1
//! is followed by SaslAuthenticate requests; v0 by raw size-prefixed tokens (the legacy
//! framing). A failed exchange gets SASL_AUTHENTICATION_FAILED with Kafka's message and the
//! connection is closed. Re-authentication (KIP-368) runs the same exchange again on a
//! live connection; the principal and mechanism may not change.

use super::{ConnError, read_frame};
use crate::broker::Broker;
use crate::broker::apis::{self, encode_response};
use crate::broker::security::sasl::{SaslConfig, SaslServer, Step};
use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse};
use kafka_protocol::protocol::{Decodable, StrBytes, decode_request_header_from_buffer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::watch;

pub const SASL_HANDSHAKE: i16 = 17;
const SASL_AUTHENTICATE: i16 = 36;
const API_VERSIONS: i16 = 18;
/// How long an unauthenticated connection may stay silent.
const AUTH_IDLE: Duration = Duration::from_secs(30);

/// Who a connection is, and until when (re-authentication due).
pub struct Session {
    pub principal: String,
    mechanism: Option<String>,
    expires_at: Option<Instant>,
}

impl Session {
    pub fn unauthenticated(principal: String) -> Session {
        Session { principal, mechanism: None, expires_at: None }
    }

    pub fn expired(&self) -> bool {
        self.expires_at.is_some_and(|t| Instant::now() >= t)
    }
}

/// The exchange in progress: the mechanism, its server, and whether tokens come raw (v0).
struct Exchange {
    mechanism: String,
    server: Box<dyn SaslServer>,
    raw_tokens: bool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

async fn send<W: super::frame::Sink>(w: &mut BufWriter<W>, frame: BytesMut) -> Result<(), ConnError> {
    w.write_all(&frame).await?;
    w.flush().await?;
    Ok(())
}

/// A raw (v0) token: size prefix and bytes, no Kafka header.
async fn send_raw<W: super::frame::Sink>(w: &mut BufWriter<W>, token: &[u8]) -> Result<(), ConnError> {
    w.write_all(&(token.len() as u32).to_be_bytes()).await?;
    w.write_all(token).await?;
    w.flush().await?;
    Ok(())
}

/// Runs one authentication exchange. `client`: its address and the software it names in an
/// ApiVersions before authenticating; `reauth`: the live session and the SaslHandshake
/// frame that started re-authentication. Ok(None): the client went away (or the broker
/// stops) before finishing.
pub async fn authenticate<R: AsyncRead + Unpin + Send, W: super::frame::Sink>(
    reader: &mut BufReader<R>,
    writer: &mut BufWriter<W>,
    sasl: &SaslConfig,
    broker: &Arc<Broker>,
    client: (std::net::SocketAddr, &apis::ClientSoftware),
    stop: &mut watch::Receiver<bool>,
    reauth: Option<(&Session, BytesMut)>,
) -> Result<Option<Session>, ConnError> {
    let (peer, software) = client;
    let max = sasl.max_receive.min(broker.config.socket_request_max_bytes);
    let (previous, mut pending) = match reauth {
        Some((s, f)) => (Some(s), Some(f)),
        None => (None, None),
    };
    let mut exchange: Option<Exchange> = None;
    loop {
        let frame = match pending.take() {
            Some(f) => f,
            None => {
                let ready = tokio::select! {
                    _ = stop.changed() => return Ok(None),
                    r = tokio::time::timeout(AUTH_IDLE, reader.fill_buf()) => r,
                };
                match ready {
                    Err(_) => return Err(ConnError::Auth("no SASL request within 30 s".into())),
                    Ok(Ok([])) => return Ok(None),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e.into()),
                }
                match read_frame(reader, max, broker).await? {
                    Some(f) => f,
                    None => return Ok(None),
                }
            }
        };
        if let Some(ex) = exchange.as_mut().filter(|e| e.raw_tokens) {
            // Legacy framing: the frame is the token itself.
            match ex.server.step(&frame) {
                Ok(Step::Challenge(c)) => send_raw(writer, &c).await?,
                Ok(Step::Done { response, user, .. }) => {
                    send_raw(writer, &response).await?;
                    tracing::debug!(%peer, user, mechanism = ex.mechanism, "authenticated (SaslHandshake v0)");
                    return Ok(Some(Session {
                        principal: format!("User:{user}"),
                        mechanism: Some(ex.mechanism.clone()),
                        expires_at: None,
                    }));
                }
                Err(e) => return Err(ConnError::Auth(e.0)),
            }
            continue;
        }
        if frame.len() < 8 {
            return Err(ConnError::FrameSize(frame.len() as i64, max));
        }
        let key = i16::from_be_bytes([frame[0], frame[1]]);
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        match key {
            API_VERSIONS if exchange.is_none() => {
                let ctx = apis::ConnectionInfo {
                    client_host: peer.ip().to_string(),
                    listener: String::new(),
                    security_protocol: String::new(),
                    principal: crate::broker::security::ANONYMOUS.into(),
                    client_port: peer.port(),
                    software: software.clone(),
                    throttle_ms: Default::default(),
                };
                if let Some(apis_frame) = apis::dispatch(broker, &ctx, frame.freeze()).await? {
                    super::frame::write_frame(writer, apis_frame).await?;
                    writer.flush().await?;
                }
            }
            SASL_HANDSHAKE if exchange.is_none() => {
                let mut body = frame.freeze();
                let header =
                    decode_request_header_from_buffer(&mut body).map_err(|e| ConnError::Auth(format!("bad SaslHandshake: {e}")))?;
                let req =
                    SaslHandshakeRequest::decode(&mut body, version).map_err(|e| ConnError::Auth(format!("bad SaslHandshake: {e}")))?;
                let mechanism = req.mechanism.to_string().to_ascii_uppercase();
                let enabled: Vec<StrBytes> = sasl.mechanisms.iter().map(|m| StrBytes::from_string(m.clone())).collect();
                let same_as_before = previous.is_none_or(|p| p.mechanism.as_deref() == Some(mechanism.as_str()));
                let server = if same_as_before { sasl.server(&mechanism, broker.image()) } else { None };
                let mut resp = SaslHandshakeResponse::default().with_mechanisms(enabled);
                let Some(server) = server else {
                    resp = resp.with_error_code(E::UnsupportedSaslMechanism.code());
                    send(writer, encode_response(ApiKey::SaslHandshake, version, header.correlation_id, &resp)?).await?;
                    return Err(ConnError::Auth(format!("Unsupported SASL mechanism {mechanism}")));
                };
                send(writer, encode_response(ApiKey::SaslHandshake, version, header.correlation_id, &resp)?).await?;
                exchange = Some(Exchange { mechanism, server, raw_tokens: version == 0 && previous.is_none() });
            }
            SASL_AUTHENTICATE => {
                let mut body = frame.freeze();
                let header =
                    decode_request_header_from_buffer(&mut body).map_err(|e| ConnError::Auth(format!("bad SaslAuthenticate: {e}")))?;
                let req = SaslAuthenticateRequest::decode(&mut body, version)
                    .map_err(|e| ConnError::Auth(format!("bad SaslAuthenticate: {e}")))?;
                let reply = |r: &SaslAuthenticateResponse| encode_response(ApiKey::SaslAuthenticate, version, header.correlation_id, r);
                let Some(ex) = exchange.as_mut() else {
                    let resp = SaslAuthenticateResponse::default()
                        .with_error_code(E::IllegalSaslState.code())
                        .with_error_message(Some(StrBytes::from_static_str("SaslAuthenticate before SaslHandshake")));
                    send(writer, reply(&resp)?).await?;
                    return Err(ConnError::Auth("SaslAuthenticate before SaslHandshake".into()));
                };
                let outcome = ex.server.step(&req.auth_bytes).and_then(|step| match (step, previous) {
                    (Step::Done { user, .. }, Some(p)) if p.principal != format!("User:{user}") => {
                        Err(crate::broker::security::sasl::AuthFailure("Cannot change principals during re-authentication".into()))
                    }
                    (step, _) => Ok(step),
                });
                match outcome {
                    Ok(Step::Challenge(c)) => {
                        send(writer, reply(&SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(c)))?).await?;
                    }
                    Ok(Step::Done { response, user, expires_at_ms }) => {
                        // KIP-368: with connections.max.reauth.ms set, the session lasts at
                        // most that long (and never past the token's expiry).
                        let lifetime_ms = match (sasl.reauth_ms, expires_at_ms) {
                            (r, _) if r <= 0 || version == 0 => 0,
                            (r, Some(exp)) => r.min((exp - now_ms()).max(1)),
                            (r, None) => r,
                        };
                        let resp = SaslAuthenticateResponse::default()
                            .with_auth_bytes(Bytes::from(response))
                            .with_session_lifetime_ms(lifetime_ms);
                        send(writer, reply(&resp)?).await?;
                        tracing::debug!(%peer, user, mechanism = ex.mechanism, lifetime_ms, "authenticated");
                        let expires_at = (lifetime_ms > 0).then(|| Instant::now() + Duration::from_millis(lifetime_ms as u64));
                        return Ok(Some(Session { principal: format!("User:{user}"), mechanism: Some(ex.mechanism.clone()), expires_at }));
                    }
                    Err(e) => {
                        tracing::info!(%peer, mechanism = ex.mechanism, "Failed authentication: {e}");
                        let resp = SaslAuthenticateResponse::default()
                            .with_error_code(E::SaslAuthenticationFailed.code())
                            .with_error_message(Some(StrBytes::from_string(e.0.clone())));
                        send(writer, reply(&resp)?).await?;
                        // Kafka delays the close of a failed authentication (100 ms) so a
                        // client cannot hammer the broker with guesses.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        return Err(ConnError::Auth(e.0));
                    }
                }
            }
            other => {
                let name = ApiKey::try_from(other).map(|k| format!("{k:?}")).unwrap_or_else(|_| other.to_string());
                return Err(ConnError::Auth(format!("Unexpected Kafka request of type {name} during SASL handshake.")));
            }
        }
    }
}
