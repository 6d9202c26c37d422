//! One connection to a broker: size-prefixed frames, correlation ids, and API version
//! negotiation from ApiVersions (each request goes out at the highest version both sides
//! support).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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

pub struct Connection {
    stream: BufReader<TcpStream>,
    next_correlation: i32,
    client_id: String,
    /// Broker's supported (min, max) per api key.
    versions: HashMap<i16, (i16, i16)>,
    timeout: Duration,
}

impl Connection {
    /// Connects and negotiates versions with ApiVersions.
    pub async fn connect(addr: &str, client_id: &str) -> Result<Connection, ClientError> {
        let timeout = Duration::from_secs(30);
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
            .map_err(|source| ClientError::Connect { addr: addr.to_string(), source })?;
        stream.set_nodelay(true)?;
        let mut conn = Connection {
            stream: BufReader::new(stream),
            next_correlation: 0,
            client_id: client_id.to_string(),
            versions: HashMap::new(),
            timeout,
        };
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("rk"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let resp: ApiVersionsResponse = conn.send_at(&req, 3).await?;
        if resp.error_code != 0 {
            return Err(ClientError::Protocol(format!("ApiVersions failed with error code {}", resp.error_code)));
        }
        conn.versions = resp.api_keys.iter().map(|k| (k.api_key, (k.min_version, k.max_version))).collect();
        Ok(conn)
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
    pub async fn send<R: Request>(&mut self, req: &R) -> Result<R::Response, ClientError> {
        let v = self.version_for::<R>()?;
        self.send_at(req, v).await
    }

    /// Sends a request that gets no response (Produce with acks=0).
    pub async fn send_no_response<R: Request>(&mut self, req: &R) -> Result<(), ClientError> {
        let v = self.version_for::<R>()?;
        self.write_request(req, v).await.map(|_| ())
    }

    async fn write_request<R: Request>(&mut self, req: &R, version: i16) -> Result<i32, ClientError> {
        let correlation = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
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
        self.stream.get_mut().write_all(&buf).await?;
        Ok(correlation)
    }

    /// Sends at an explicit version.
    pub async fn send_at<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response, ClientError> {
        let correlation = self.write_request(req, version).await?;
        let timeout = self.timeout;
        let frame = tokio::time::timeout(timeout, self.read_frame()).await.map_err(|_| ClientError::Timeout(timeout))??;
        let mut frame = frame;
        let header = ResponseHeader::decode(&mut frame, <R::Response as HeaderVersion>::header_version(version))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        if header.correlation_id != correlation {
            return Err(ClientError::Protocol(format!("correlation id mismatch: sent {correlation}, got {}", header.correlation_id)));
        }
        R::Response::decode(&mut frame, version).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    async fn read_frame(&mut self) -> Result<Bytes, ClientError> {
        let len = self.stream.read_i32().await?;
        if !(0..=512 * 1024 * 1024).contains(&len) {
            return Err(ClientError::Protocol(format!("invalid response size {len}")));
        }
        let mut buf = BytesMut::zeroed(len as usize);
        self.stream.read_exact(&mut buf).await?;
        Ok(buf.freeze())
    }

    /// Sends raw bytes (already framed) and reads one raw response frame; for tests of
    /// malformed input.
    pub async fn raw_round_trip(&mut self, framed: &[u8]) -> Result<Bytes, ClientError> {
        self.stream.get_mut().write_all(framed).await?;
        let mut f = self.read_frame().await?;
        if f.remaining() < 4 {
            return Err(ClientError::Protocol("short frame".into()));
        }
        Ok(f.split_off(0))
    }
}
