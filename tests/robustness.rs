//! Bad input from the network: oversized frames, garbage, unknown API keys and versions
//! must close only the offending connection (or get Kafka's answer) while the broker keeps
//! serving everyone else.

mod common;

use bytes::{BufMut, BytesMut};
use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn raw(b: &TestBroker) -> TcpStream {
    let s = TcpStream::connect(b.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// True when the broker closed the connection (EOF) rather than answering or hanging.
fn closed(mut s: TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(0)) || matches!(s.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
}

fn api_versions_frame(version: i16, correlation: i32) -> Vec<u8> {
    let header = RequestHeader::default().with_request_api_key(18).with_request_api_version(version).with_correlation_id(correlation);
    let mut body = BytesMut::new();
    let hv = if version >= 3 { 2 } else { 1 };
    header.encode(&mut body, hv).unwrap();
    // A version newer than ours: the body layout is unknown to us; send v3's.
    ApiVersionsRequest::default().encode(&mut body, version.min(4)).unwrap();
    let mut out = BytesMut::new();
    out.put_i32(body.len() as i32);
    out.extend_from_slice(&body);
    out.to_vec()
}

fn read_frame(s: &mut TcpStream) -> bytes::Bytes {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).unwrap();
    bytes::Bytes::from(buf)
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let b = TestBroker::start_with(&["socket.request.max.bytes=1000"]);
    let mut healthy = b.connect().await;
    assert_eq!(create_topic(&mut healthy, "ok", 1, &[]).await, 0);

    // Oversized frame: refused before allocating, connection closed.
    let mut s = raw(&b);
    s.write_all(&(10_000_000i32).to_be_bytes()).unwrap();
    assert!(closed(s));
    // Negative size.
    let mut s = raw(&b);
    s.write_all(&(-5i32).to_be_bytes()).unwrap();
    assert!(closed(s));
    // Garbage body with an unknown api key.
    let mut s = raw(&b);
    s.write_all(&[0, 0, 0, 12, 0x7f, 0x7f, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]).unwrap();
    assert!(closed(s));
    // Known key, unsupported version (Produce v1 is advertised-min 0 but not served).
    let mut s = raw(&b);
    s.write_all(&[0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 7, 0xff, 0xff]).unwrap();
    assert!(closed(s));
    // Known key and version with a truncated body.
    let mut s = raw(&b);
    s.write_all(&[0, 0, 0, 10, 0, 3, 0, 12, 0, 0, 0, 7, 0, 0]).unwrap();
    assert!(closed(s));

    // Lying array lengths (found by the fuzzer): a 14-byte Metadata v8 request whose topic
    // array claims 2^31-1 entries (~170 GB of structs) must be refused, not allocated.
    let mut s = raw(&b);
    s.write_all(&[0, 0, 0, 14, 0x0, 0x3, 0x0, 0x8, 0, 0, 0, 1, 0, 0, 0x7f, 0xff, 0xff, 0xff]).unwrap();
    assert!(closed(s));

    // Everyone else is still served.
    let (err, base) = produce(&mut healthy, "ok", 0, simple_batch(0, 2), 1).await;
    assert_eq!((err, base), (0, 0));
    let mut fresh = b.connect().await;
    assert_eq!(list_offset(&mut fresh, "ok", 0, -1).await.1, 2);
}

#[tokio::test]
async fn api_versions_fallback_for_newer_clients() {
    let b = TestBroker::start();
    let mut s = raw(&b);
    s.write_all(&api_versions_frame(9, 42)).unwrap();
    let mut f = read_frame(&mut s);
    // KIP-511: v0 response header and body, UNSUPPORTED_VERSION, and our ranges.
    let h = ResponseHeader::decode(&mut f, 0).unwrap();
    assert_eq!(h.correlation_id, 42);
    let r = ApiVersionsResponse::decode(&mut f, 0).unwrap();
    assert_eq!(r.error_code, 35);
    let av = r.api_keys.iter().find(|k| k.api_key == 18).unwrap();
    assert_eq!((av.min_version, av.max_version), (0, 4));
    // And every version we advertise answers normally.
    for v in 0..=4 {
        let mut s = raw(&b);
        s.write_all(&api_versions_frame(v, v as i32)).unwrap();
        let mut f = read_frame(&mut s);
        let h = ResponseHeader::decode(&mut f, 0).unwrap();
        assert_eq!(h.correlation_id, v as i32);
        let r = ApiVersionsResponse::decode(&mut f, v).unwrap();
        assert_eq!(r.error_code, 0, "v{v}");
        let produce = r.api_keys.iter().find(|k| k.api_key == 0).unwrap();
        assert_eq!(produce.min_version, 0, "Produce advertises min 0 for librdkafka (KAFKA-18659)");
    }
}

#[tokio::test]
async fn acks_zero_gets_no_response_but_is_written() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "a0", 1, &[]).await;
    // The negotiated Produce version is 13, which names topics by id.
    let md = c.send(&MetadataRequest::default().with_topics(None)).await.unwrap();
    let id = md.topics[0].topic_id;
    let req = ProduceRequest::default().with_acks(0).with_timeout_ms(1000).with_topic_data(vec![
        produce_request::TopicProduceData::default().with_topic_id(id).with_partition_data(vec![
            produce_request::PartitionProduceData::default().with_index(0).with_records(Some(simple_batch(0, 3))),
        ]),
    ]);
    c.send_no_response(&req).await.unwrap();
    // The next request on the same connection gets its own answer (no stray response).
    assert_eq!(list_offset(&mut c, "a0", 0, -1).await, (0, 3, -1));
}

#[tokio::test]
async fn client_connections_pipeline_and_survive_timeouts() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "pipe", 1, &[]).await;
    produce(&mut c, "pipe", 0, simple_batch(0, 3), 1).await;
    // Many requests in flight on one connection, answered by correlation id.
    let c = std::sync::Arc::new(c);
    let mut tasks = Vec::new();
    for ts in [-1i64, -2, -1, -2, -1, -2, -1, -2] {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
                list_offsets_request::ListOffsetsTopic::default().with_name(tn("pipe")).with_partitions(vec![
                    list_offsets_request::ListOffsetsPartition::default().with_partition_index(0).with_timestamp(ts),
                ]),
            ]);
            (ts, c.send(&req).await.unwrap().topics[0].partitions[0].offset)
        }));
    }
    for t in tasks {
        let (ts, offset) = t.await.unwrap();
        assert_eq!(offset, if ts == -1 { 3 } else { 0 });
    }
    // A request that times out client-side does not poison the connection: its late
    // answer is dropped and the next request gets its own.
    let mut slow = b.connect().await;
    slow.set_timeout(std::time::Duration::from_millis(200));
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(1000)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default().with_topic(tn("pipe")).with_partitions(vec![
            fetch_request::FetchPartition::default().with_partition(0).with_fetch_offset(3).with_partition_max_bytes(1 << 20),
        ])]);
    assert!(matches!(slow.send_at(&req, 12).await, Err(rk::client::ClientError::Timeout(_))));
    slow.set_timeout(std::time::Duration::from_secs(10));
    assert_eq!(list_offset(&mut slow, "pipe", 0, -1).await, (0, 3, -1));
}
