//! One connection to a broker: TLS and SASL authentication where the security settings
//! ask for them (`security.rs`), size-prefixed frames, pipelined in-flight requests matched
//! by correlation id, and API version negotiation from ApiVersions (each request goes out
//! at the highest version both sides support).

use super::security::{SaslCredentials, Security};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

type Reader = Box<dyn AsyncRead + Send + Unpin>;
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("the broker does not support {0:?} at any version this client knows")]
    Unsupported(ApiKey),
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("SSL handshake with {addr} failed: {message}")]
    Tls { addr: String, message: String },
    #[error("{0}")]
    Config(String),
    /// An error code from the broker, with its message when it sent one.
    #[error("{message}")]
    Kafka { code: i16, message: String },
}

impl ClientError {
    /// A broker error code without a message: described by the code's name.
    pub fn kafka(code: i16) -> ClientError {
        ClientError::kafka_msg(code, None)
    }

    /// A broker error code with the broker's message (used when it is non-empty).
    pub fn kafka_msg(code: i16, message: Option<&str>) -> ClientError {
        let message = match message {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => match kafka_protocol::error::ResponseError::try_from_code(code) {
                Some(e) => format!("{e} (error code {code})"),
                None => "no error".to_string(),
            },
        };
        ClientError::Kafka { code, message }
    }

    /// The Kafka error code, if this is a broker error.
    pub fn code(&self) -> Option<i16> {
        match self {
            ClientError::Kafka { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Responses waiting for their request, by correlation id.
type Waiters = std::sync::Mutex<(HashMap<i32, oneshot::Sender<Bytes>>, bool)>;

/// A pipelined connection: any number of requests may be in flight; a reader task hands
/// each response to its request by correlation id, so a late answer to a timed-out
/// request is simply dropped.
pub struct Connection {
    writer: tokio::sync::Mutex<Writer>,
    waiters: Arc<Waiters>,
    next_correlation: AtomicI32,
    client_id: String,
    /// Broker's supported (min, max) per api key.
    versions: HashMap<i16, (i16, i16)>,
    timeout: Duration,
    reader: tokio::task::JoinHandle<()>,
    /// When the broker's SASL session ends (KIP-368 session lifetime): past about 85% of
    /// it the connection is replaced rather than re-authenticated in place.
    reauth_at: Option<std::time::Instant>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_frames(mut r: BufReader<Reader>, waiters: Arc<Waiters>) {
    loop {
        let len = match r.read_i32().await {
            Ok(l) if (4..=512 * 1024 * 1024).contains(&l) => l,
            _ => break,
        };
        let Ok(buf) = crate::frame::read_body(&mut r, len as usize).await else {
            break;
        };
        let frame = buf.freeze();
        let correlation = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let tx = waiters.lock().expect("waiters lock").0.remove(&correlation);
        if let Some(tx) = tx {
            let _ = tx.send(frame);
        }
    }
    // Closed or garbled: every waiting request fails (its sender is dropped).
    let mut w = waiters.lock().expect("waiters lock");
    w.0.clear();
    w.1 = true;
}

impl Connection {
    /// Connects over PLAINTEXT and negotiates versions with ApiVersions.
    pub async fn connect(addr: &str, client_id: &str) -> Result<Connection, ClientError> {
        Connection::connect_with(addr, client_id, &Security::plaintext()).await
    }

    /// Connects (TLS handshake and SASL authentication as `security` asks) and negotiates
    /// versions with ApiVersions.
    pub async fn connect_with(addr: &str, client_id: &str, security: &Security) -> Result<Connection, ClientError> {
        let timeout = Duration::from_secs(30);
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
            .map_err(|source| ClientError::Connect { addr: addr.to_string(), source })?;
        stream.set_nodelay(true)?;
        let (r, w): (Reader, Writer) = match &security.tls {
            None => {
                let (r, w) = stream.into_split();
                (Box::new(r), Box::new(w))
            }
            Some(cfg) => {
                let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
                let name = rustls::pki_types::ServerName::try_from(host.to_string())
                    .map_err(|e| ClientError::Tls { addr: addr.to_string(), message: e.to_string() })?;
                let tls = tokio::time::timeout(timeout, tokio_rustls::TlsConnector::from(cfg.clone()).connect(name, stream))
                    .await
                    .map_err(|_| ClientError::Timeout(timeout))?
                    .map_err(|e| ClientError::Tls { addr: addr.to_string(), message: e.to_string() })?;
                let (r, w) = tokio::io::split(tls);
                (Box::new(r), Box::new(w))
            }
        };
        let waiters: Arc<Waiters> = Arc::new(std::sync::Mutex::new((HashMap::new(), false)));
        let reader = tokio::spawn(read_frames(BufReader::with_capacity(64 * 1024, r), waiters.clone()));
        let mut conn = Connection {
            writer: tokio::sync::Mutex::new(w),
            waiters,
            next_correlation: AtomicI32::new(0),
            client_id: client_id.to_string(),
            versions: HashMap::new(),
            timeout,
            reader,
            reauth_at: None,
        };
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("rk"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let resp: ApiVersionsResponse = conn.send_at(&req, 3).await?;
        if resp.error_code != 0 {
            return Err(ClientError::Protocol(format!("ApiVersions failed with error code {}", resp.error_code)));
        }
        conn.versions = resp.api_keys.iter().map(|k| (k.api_key, (k.min_version, k.max_version))).collect();
        if let Some(creds) = &security.sasl {
            conn.authenticate(creds).await?;
        }
        Ok(conn)
    }

    /// SaslHandshake v1 and SaslAuthenticate until the broker accepts (or refuses, with
    /// its message: SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM).
    async fn authenticate(&mut self, creds: &SaslCredentials) -> Result<(), ClientError> {
        let mechanism = creds.mechanism();
        let hs: SaslHandshakeResponse =
            self.send_at(&SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)), 1).await?;
        if hs.error_code != 0 {
            let offered: Vec<String> = hs.mechanisms.iter().map(|m| m.to_string()).collect();
            let msg = format!("Unsupported SASL mechanism {mechanism}; the broker offers [{}]", offered.join(", "));
            return Err(ClientError::kafka_msg(hs.error_code, Some(&msg)));
        }
        let v = self.version_for::<SaslAuthenticateRequest>()?;
        let (first, mut scram) = creds.start();
        let mut token = bytes::Bytes::from(first);
        for round in 0.. {
            let resp: SaslAuthenticateResponse = self.send_at(&SaslAuthenticateRequest::default().with_auth_bytes(token), v).await?;
            if resp.error_code != 0 {
                return Err(ClientError::kafka_msg(resp.error_code, resp.error_message.as_deref()));
            }
            if resp.session_lifetime_ms > 0 {
                let due = Duration::from_millis((resp.session_lifetime_ms as u64).saturating_mul(85) / 100);
                self.reauth_at = Some(std::time::Instant::now() + due);
            }
            let server = String::from_utf8_lossy(&resp.auth_bytes).into_owned();
            match (scram.as_mut(), round) {
                (Some(c), 0) => token = bytes::Bytes::from(c.client_final(&server).map_err(ClientError::Protocol)?),
                (Some(c), _) => return c.verify_server_final(&server).map_err(ClientError::Protocol),
                (None, _) => return Ok(()),
            }
        }
        Ok(())
    }

    /// Whether the SASL session is near its end (the connection should be replaced).
    pub fn reauth_due(&self) -> bool {
        self.reauth_at.is_some_and(|t| std::time::Instant::now() >= t)
    }

    pub fn set_timeout(&mut self, t: Duration) {
        self.timeout = t;
    }

    /// The version a request will use: the highest both sides support.
    pub fn version_for<R: Request>(&self) -> Result<i16, ClientError> {
        let key = ApiKey::try_from(R::KEY).map_err(|_| ClientError::Protocol(format!("unknown api key {}", R::KEY)))?;
        let (bmin, bmax) = *self.versions.get(&R::KEY).ok_or(ClientError::Unsupported(key))?;
        let v = bmax.min(R::VERSIONS.max);
        if v < bmin.max(R::VERSIONS.min) {
            return Err(ClientError::Unsupported(key));
        }
        Ok(v)
    }

    /// Sends a request at the negotiated version and waits for its response.
    pub async fn send<R: Request>(&self, req: &R) -> Result<R::Response, ClientError> {
        let v = self.version_for::<R>()?;
        self.send_at(req, v).await
    }

    /// Sends a request that gets no response (Produce with acks=0).
    pub async fn send_no_response<R: Request>(&self, req: &R) -> Result<(), ClientError> {
        let v = self.version_for::<R>()?;
        let (_, frame) = self.frame(req, v)?;
        write_flushed(&mut *self.writer.lock().await, &frame).await?;
        Ok(())
    }

    fn frame<R: Request>(&self, req: &R, version: i16) -> Result<(i32, BytesMut), ClientError> {
        let correlation = self.next_correlation.fetch_add(1, Ordering::Relaxed);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header.encode(&mut buf, R::header_version(version)).map_err(|e| ClientError::Protocol(e.to_string()))?;
        req.encode(&mut buf, version).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let len = (buf.len() - 4) as i32;
        buf[0..4].copy_from_slice(&len.to_be_bytes());
        Ok((correlation, buf))
    }

    /// Sends at an explicit version; other requests may be in flight meanwhile.
    pub async fn send_at<R: Request>(&self, req: &R, version: i16) -> Result<R::Response, ClientError> {
        self.write_at(req, version).await?.response().await
    }

    /// Writes the request and returns its pending answer: requests written by one task in
    /// turn reach the broker in that order (idempotent produce depends on it), while the
    /// answers can be awaited anywhere.
    pub async fn write_at<R: Request>(&self, req: &R, version: i16) -> Result<PendingResponse<R::Response>, ClientError> {
        let (correlation, frame) = self.frame(req, version)?;
        let (tx, rx) = oneshot::channel();
        {
            let mut w = self.waiters.lock().expect("waiters lock");
            if w.1 {
                return Err(ClientError::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection closed")));
            }
            w.0.insert(correlation, tx);
        }
        if let Err(e) = write_flushed(&mut *self.writer.lock().await, &frame).await {
            self.waiters.lock().expect("waiters lock").0.remove(&correlation);
            return Err(e.into());
        }
        Ok(PendingResponse {
            correlation,
            version,
            header_version: <R::Response as HeaderVersion>::header_version(version),
            rx,
            waiters: self.waiters.clone(),
            timeout: self.timeout,
            _response: std::marker::PhantomData,
        })
    }
}

/// Writes a whole frame and flushes it: a TLS stream keeps encrypted records it could not
/// send yet until it is written to or flushed again (plain sockets: flush is free).
async fn write_flushed(w: &mut Writer, frame: &[u8]) -> std::io::Result<()> {
    w.write_all(frame).await?;
    w.flush().await
}

/// A request on the wire whose answer has not been read yet.
pub struct PendingResponse<T> {
    correlation: i32,
    version: i16,
    header_version: i16,
    rx: oneshot::Receiver<Bytes>,
    waiters: Arc<Waiters>,
    timeout: Duration,
    _response: std::marker::PhantomData<fn() -> T>,
}

impl<T: Decodable> PendingResponse<T> {
    pub async fn response(self) -> Result<T, ClientError> {
        let mut frame = match tokio::time::timeout(self.timeout, self.rx).await {
            Ok(Ok(f)) => f,
            Ok(Err(_)) => return Err(ClientError::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection closed"))),
            Err(_) => {
                self.waiters.lock().expect("waiters lock").0.remove(&self.correlation);
                return Err(ClientError::Timeout(self.timeout));
            }
        };
        let header = ResponseHeader::decode(&mut frame, self.header_version).map_err(|e| ClientError::Protocol(e.to_string()))?;
        if header.correlation_id != self.correlation {
            return Err(ClientError::Protocol(format!(
                "correlation id mismatch: sent {}, got {}",
                self.correlation, header.correlation_id
            )));
        }
        T::decode(&mut frame, self.version).map_err(|e| ClientError::Protocol(e.to_string()))
    }
}
