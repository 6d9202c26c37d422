//! A broker that only knows ApiVersions and Metadata (one node, no topics): the tools
//! must report the missing APIs, not panic.

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

pub fn start() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().map_while(Result::ok) {
            std::thread::spawn(move || serve(s, port));
        }
    });
    format!("127.0.0.1:{port}")
}

fn serve(mut s: TcpStream, port: u16) {
    loop {
        let mut len = [0u8; 4];
        if s.read_exact(&mut len).is_err() {
            return;
        }
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        if s.read_exact(&mut body).is_err() {
            return;
        }
        let mut buf = bytes::Bytes::from(body);
        let (key, version) = (i16::from_be_bytes([buf[0], buf[1]]), i16::from_be_bytes([buf[2], buf[3]]));
        let api = ApiKey::try_from(key).unwrap();
        let header = RequestHeader::decode(&mut buf, api.request_header_version(version)).unwrap();
        let mut out = BytesMut::new();
        out.put_i32(0);
        ResponseHeader::default()
            .with_correlation_id(header.correlation_id)
            .encode(&mut out, api.response_header_version(version))
            .unwrap();
        match api {
            ApiKey::ApiVersions => ApiVersionsResponse::default()
                .with_api_keys(vec![
                    api_versions_response::ApiVersion::default().with_api_key(18).with_min_version(0).with_max_version(3),
                    api_versions_response::ApiVersion::default().with_api_key(3).with_min_version(0).with_max_version(12),
                ])
                .encode(&mut out, version)
                .unwrap(),
            ApiKey::Metadata => MetadataResponse::default()
                .with_controller_id(BrokerId(1))
                .with_brokers(vec![
                    metadata_response::MetadataResponseBroker::default()
                        .with_node_id(BrokerId(1))
                        .with_host(StrBytes::from_static_str("127.0.0.1"))
                        .with_port(port as i32),
                ])
                .encode(&mut out, version)
                .unwrap(),
            _ => return,
        }
        let n = (out.len() - 4) as i32;
        out[0..4].copy_from_slice(&n.to_be_bytes());
        if s.write_all(out.chunk()).is_err() {
            return;
        }
    }
}
