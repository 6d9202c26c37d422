//! Malformed batches over the wire: each is refused with Kafka's error (and nothing of it
//! is stored), record-level errors come back in `record_errors`, and afterwards the
//! partition reads through cleanly from offset 0 — no reader stalls at a poisoned offset.

mod common;

use common::*;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use rk::broker::log::batch::{assemble, raw_record};

async fn produce_raw(c: &rk::client::Connection, topic: &str, raw: Vec<u8>, version: i16) -> produce_response::PartitionProduceResponse {
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        produce_request::TopicProduceData::default()
            .with_name(tn(topic))
            .with_partition_data(vec![produce_request::PartitionProduceData::default().with_index(0).with_records(Some(raw.into()))]),
    ]);
    let resp = c.send_at(&req, version).await.unwrap();
    resp.responses[0].partition_responses[0].clone()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn malformed_batches_get_kafkas_errors_and_the_partition_stays_readable() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "v", 1, &[]).await, 0);
    let now = now_ms();
    let good = raw_record(0, 1, b"k", 1, b"v");
    let mut two = good.clone();
    two.extend(raw_record(1, 1, b"k", 1, b"v"));
    let bad_len = |prefix: &[u8]| {
        let mut r = prefix.to_vec();
        r.extend_from_slice(&good[1..]);
        r
    };
    let cases: Vec<(&str, Vec<u8>, E)> = vec![
        ("negative record length", assemble(0, 0, 1, now, &bad_len(&[0x01])), E::InvalidRecord),
        ("record length 2^31", assemble(0, 0, 1, now, &bad_len(&[0x80, 0x80, 0x80, 0x80, 0x10])), E::InvalidRecord),
        ("record length past the batch", assemble(0, 0, 1, now, &bad_len(&[0xd0, 0x0f])), E::InvalidRecord),
        ("key length 2^30", assemble(0, 0, 1, now, &raw_record(0, 1 << 30, b"k", 1, b"v")), E::InvalidRecord),
        ("value length past the end", assemble(0, 0, 1, now, &raw_record(0, 1, b"k", 900, b"v")), E::InvalidRecord),
        ("count 1 with two records", assemble(0, 0, 1, now, &two), E::InvalidRecord),
        ("offset delta 5 in a one-record batch", assemble(0, 0, 1, now, &raw_record(5, 1, b"k", 1, b"v")), E::InvalidRecord),
        ("gzip that does not decompress", assemble(1, 0, 1, now, &[7u8; 40]), E::CorruptMessage),
        ("snappy that does not decompress", assemble(2, 0, 1, now, &[7u8; 40]), E::CorruptMessage),
        ("lz4 that does not decompress", assemble(3, 0, 1, now, &[7u8; 40]), E::CorruptMessage),
        ("zstd that does not decompress", assemble(4, 0, 1, now, &[7u8; 40]), E::CorruptMessage),
        ("codec id 5", assemble(5, 0, 1, now, &good), E::CorruptMessage),
        ("codec id 7", assemble(7, 0, 1, now, &good), E::CorruptMessage),
    ];
    for (what, raw, expected) in cases {
        let p = produce_raw(&c, "v", raw, 7).await;
        assert_eq!(p.error_code, expected.code(), "{what}");
        assert_eq!(p.base_offset, -1, "{what}");
    }
    // A gzip batch that inflates to garbage is refused too (by its structure).
    let p = produce_raw(&c, "v", assemble(1, 0, 1, now, &gzip(&[0xee; 500])), 7).await;
    assert_ne!(p.error_code, 0);
    // Nothing was stored: the first good batch gets offset 0 and reads back.
    let p = produce_raw(&c, "v", assemble(1, 0, 1, now, &gzip(&good)), 7).await;
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    let p = produce_raw(&c, "v", assemble(0, 1, 2, now, &two), 7).await;
    assert_eq!((p.error_code, p.base_offset), (0, 1));
    let d = fetch(&mut c, "v", 0, 0, 0).await;
    assert_eq!(d.error_code, 0);
    let offsets: Vec<i64> = decode(&d.records).iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![0, 1, 2]);
}

#[tokio::test]
async fn record_errors_name_each_refused_record() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "compacted", 1, &[("cleanup.policy", "compact")]).await, 0);
    let mut recs = raw_record(0, 1, b"k", 1, b"v");
    recs.extend(raw_record(1, -1, b"", 1, b"v"));
    recs.extend(raw_record(2, -1, b"", 1, b"w"));
    let p = produce_raw(&c, "compacted", assemble(0, 2, 3, now_ms(), &recs), 8).await;
    assert_eq!(p.error_code, E::InvalidRecord.code());
    let idx: Vec<i32> = p.record_errors.iter().map(|e| e.batch_index).collect();
    assert_eq!(idx, vec![1, 2]);
    assert!(p.record_errors[0].batch_index_error_message.as_ref().unwrap().contains("without key"));
    assert!(p.error_message.as_ref().unwrap().contains("2 record errors"));
    // Out-of-range timestamps: INVALID_TIMESTAMP.
    let p = produce_raw(&c, "compacted", assemble(0, 0, 1, now_ms() + 7_200_000, &raw_record(0, 1, b"k", 1, b"v")), 8).await;
    assert_eq!(p.error_code, E::InvalidTimestamp.code());
    // Still empty.
    assert_eq!(list_offset(&mut c, "compacted", 0, -1).await.1, 0);
}
