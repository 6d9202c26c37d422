//! An in-test broker that answers over the real wire framing with canned responses.
//! `start()` only knows ApiVersions and Metadata (one node, no topics): the tools must
//! report the missing APIs, not panic. `start_with` serves any handler (the cluster-tool
//! tests build a small fake cluster on it).
#![allow(dead_code)]

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// One decoded request header and its still-encoded body.
pub struct FakeRequest {
    pub api: ApiKey,
    pub version: i16,
    pub body: Bytes,
}

impl FakeRequest {
    pub fn decode<T: Decodable>(&mut self) -> T {
        T::decode(&mut self.body, self.version).unwrap()
    }
}

/// Answers a request with its encoded response body, or None to close the connection.
pub type Handler = Arc<dyn Fn(&mut FakeRequest) -> Option<BytesMut> + Send + Sync>;

/// Encodes a response at the request's version.
pub fn encode<T: Encodable>(resp: &T, version: i16) -> Option<BytesMut> {
    let mut out = BytesMut::new();
    resp.encode(&mut out, version).unwrap();
    Some(out)
}

/// An ApiVersions answer for (key, min, max) triples.
pub fn api_versions(keys: &[(i16, i16, i16)], version: i16) -> Option<BytesMut> {
    let keys = keys
        .iter()
        .map(|(k, min, max)| api_versions_response::ApiVersion::default().with_api_key(*k).with_min_version(*min).with_max_version(*max))
        .collect();
    encode(&ApiVersionsResponse::default().with_api_keys(keys), version)
}

pub fn start() -> String {
    let (addr, _) = start_with(|port| {
        Arc::new(move |r: &mut FakeRequest| match r.api {
            ApiKey::ApiVersions => api_versions(&[(18, 0, 3), (3, 0, 12)], r.version),
            ApiKey::Metadata => encode(
                &MetadataResponse::default().with_controller_id(BrokerId(1)).with_brokers(vec![
                    metadata_response::MetadataResponseBroker::default()
                        .with_node_id(BrokerId(1))
                        .with_host(StrBytes::from_static_str("127.0.0.1"))
                        .with_port(port as i32),
                ]),
                r.version,
            ),
            _ => None,
        })
    });
    addr
}

/// Serves `make(port)`'s handler on a fresh local port; returns "127.0.0.1:port" and the port.
pub fn start_with(make: impl FnOnce(u16) -> Handler) -> (String, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let handler = make(port);
    std::thread::spawn(move || {
        for s in l.incoming().map_while(Result::ok) {
            let h = handler.clone();
            std::thread::spawn(move || serve(s, h));
        }
    });
    (format!("127.0.0.1:{port}"), port)
}

fn serve(mut s: TcpStream, handler: Handler) {
    loop {
        let mut len = [0u8; 4];
        if s.read_exact(&mut len).is_err() {
            return;
        }
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        if s.read_exact(&mut body).is_err() {
            return;
        }
        let mut buf = Bytes::from(body);
        let (key, version) = (i16::from_be_bytes([buf[0], buf[1]]), i16::from_be_bytes([buf[2], buf[3]]));
        let api = ApiKey::try_from(key).unwrap();
        let header = RequestHeader::decode(&mut buf, api.request_header_version(version)).unwrap();
        let mut req = FakeRequest { api, version, body: buf };
        let Some(resp) = handler(&mut req) else { return };
        let mut out = BytesMut::new();
        out.put_i32(0);
        ResponseHeader::default()
            .with_correlation_id(header.correlation_id)
            .encode(&mut out, api.response_header_version(version))
            .unwrap();
        out.extend_from_slice(&resp);
        let n = (out.len() - 4) as i32;
        out[0..4].copy_from_slice(&n.to_be_bytes());
        if s.write_all(out.chunk()).is_err() {
            return;
        }
    }
}
