//! The malformed batches that were once stored and acknowledged, each refused with Kafka's
//! error, and the valid ones of every codec accepted.

use super::*;
use crate::broker::log::batch::{assemble, plain_record, raw_record};
use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::records::{Compression, RecordBatchEncoder, RecordEncodeOptions};
use std::io::Write;

const NOW: i64 = 1_700_000_000_000;

fn limits() -> Limits {
    Limits {
        compact: false,
        log_append_time: false,
        max_message_bytes: 1 << 20,
        timestamp_before_max_ms: i64::MAX,
        timestamp_after_max_ms: 3_600_000,
    }
}

fn code(r: Result<Validated, LogError>) -> i16 {
    match r {
        Ok(_) => 0,
        Err(e) => e.code(),
    }
}

fn encoded(n: usize, compression: Compression) -> BytesMut {
    let recs: Vec<_> =
        (0..n).map(|i| plain_record(i as i64, NOW, Some(Bytes::from(format!("k{i}"))), Some(Bytes::from("v".repeat(50))))).collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &recs, &RecordEncodeOptions { version: 2, compression }).unwrap();
    buf
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn valid_batches_of_every_codec_pass() {
    for c in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
        let b = encoded(20, c);
        let v = validate_client_batch(&b, &limits(), NOW).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!((v.header.record_count, v.max_timestamp), (20, NOW));
    }
}

#[test]
fn lying_lengths_are_invalid_records() {
    let ok = raw_record(0, 1, b"k", 1, b"v");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("negative record length", {
            let mut r = vec![0x01];
            r.extend_from_slice(&ok[1..]);
            r
        }),
        ("record length 2^31", {
            let mut r = vec![0x80, 0x80, 0x80, 0x80, 0x10];
            r.extend_from_slice(&ok[1..]);
            r
        }),
        ("record length past the batch", {
            let mut r = vec![0xd0, 0x0f];
            r.extend_from_slice(&ok[1..]);
            r
        }),
        ("key length 2^30", raw_record(0, 1 << 30, b"k", 1, b"v")),
        ("value length past the end", raw_record(0, 1, b"k", 500, b"v")),
        ("negative key length below -1", raw_record(0, -7, b"", 1, b"v")),
    ];
    for (what, rec) in cases {
        let b = assemble(0, 0, 1, NOW, &rec);
        assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::InvalidRecord.code(), "{what}");
    }
}

#[test]
fn counts_and_offset_deltas_must_match_the_records() {
    let mut two = raw_record(0, 1, b"a", 1, b"v");
    two.extend(raw_record(1, 1, b"b", 1, b"v"));
    // Declared one record, two inside: they would share an offset.
    let b = assemble(0, 0, 1, NOW, &two);
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::InvalidRecord.code());
    // Offset delta 5 in a one-record batch: offsets would go backwards.
    let b = assemble(0, 0, 1, NOW, &raw_record(5, 1, b"a", 1, b"v"));
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::InvalidRecord.code());
    // Declared two, one inside.
    let b = assemble(0, 1, 2, NOW, &raw_record(0, 1, b"a", 1, b"v"));
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::InvalidRecord.code());
    // last offset delta and count disagree.
    let b = assemble(0, 3, 2, NOW, &two);
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::InvalidRecord.code());
}

#[test]
fn undecompressable_payloads_and_unknown_codecs_are_corrupt() {
    let garbage = vec![0x55u8; 64];
    for codec in [1i16, 2, 3, 4] {
        let b = assemble(codec, 0, 1, NOW, &garbage);
        assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::CorruptMessage.code(), "codec {codec}");
    }
    for codec in [5i16, 7] {
        let b = assemble(codec, 0, 1, NOW, &raw_record(0, 1, b"k", 1, b"v"));
        assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::CorruptMessage.code(), "codec {codec}");
    }
    // A gzip stream that inflates to garbage is refused (not a record structure).
    let b = assemble(1, 0, 1, NOW, &gzip(&[0xffu8; 300]));
    assert_ne!(code(validate_client_batch(&b, &limits(), NOW)), 0);
    // Gzip of a valid record is fine.
    let b = assemble(1, 0, 1, NOW, &gzip(&raw_record(0, 1, b"k", 1, b"v")));
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), 0);
}

#[test]
fn a_decompression_bomb_is_refused_without_inflating_it() {
    // One record whose value is 200 MiB of zeros: a few hundred KiB compressed. Its
    // length prefix is honest, so only the decompressed size gives it away.
    let big: usize = 200 << 20;
    let head = raw_record(0, -1, b"", big as i32, b"");
    // raw_record's body: attributes, ts, offset, key len, value len (varint), header count.
    let body_head = &head[1..head.len() - 1]; // after the 1-byte length prefix
    let mut body = body_head.to_vec();
    body.extend(std::iter::repeat_n(0u8, big));
    body.push(0);
    let mut raw = Vec::new();
    let mut u = (body.len() as u64) << 1;
    while u >= 0x80 {
        raw.push((u as u8) | 0x80);
        u >>= 7;
    }
    raw.push(u as u8);
    raw.extend_from_slice(&body);
    drop(body);
    let compressed = zstd::bulk::compress(&raw, 1).unwrap();
    drop(raw);
    assert!(compressed.len() < limits().max_message_bytes);
    let b = assemble(4, 0, 1, NOW, &compressed);
    let err = validate_client_batch(&b, &limits(), NOW).unwrap_err();
    assert_eq!(err.code(), E::CorruptMessage.code());
    assert!(err.to_string().contains("inflate past the limit"), "{err}");
}

#[test]
fn null_keys_on_compacted_topics_and_bad_timestamps_list_each_record() {
    let mut recs = raw_record(0, 1, b"k", 1, b"v");
    recs.extend(raw_record(1, -1, b"", 1, b"v"));
    let b = assemble(0, 1, 2, NOW, &recs);
    let compact = Limits { compact: true, ..limits() };
    match validate_client_batch(&b, &compact, NOW) {
        Err(LogError::RecordErrors { code, errors, message }) => {
            assert_eq!(code, E::InvalidRecord.code());
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].0, 1);
            assert!(message.contains("batchIndex=1"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Two hours ahead of the broker's clock: INVALID_TIMESTAMP.
    let b = assemble(0, 0, 1, NOW + 7_200_000, &raw_record(0, 1, b"k", 1, b"v"));
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::InvalidTimestamp.code());
    // A client may not claim LogAppendTime.
    let b = assemble(0x08, 0, 1, NOW, &raw_record(0, 1, b"k", 1, b"v"));
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::InvalidTimestamp.code());
}

#[test]
fn header_fields_clients_may_not_set() {
    let rec = raw_record(0, 1, b"k", 1, b"v");
    let mut b = assemble(0, 0, 1, NOW, &rec);
    b[0..8].copy_from_slice(&7i64.to_be_bytes()); // base offset (not under the CRC)
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::InvalidRecord.code());
    let b = assemble(0x20, 0, 1, NOW, &rec); // control batch
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::InvalidRecord.code());
    let mut b = assemble(0, 0, 1, NOW, &rec);
    let n = b.len();
    b[n - 1] ^= 1; // CRC mismatch
    assert_eq!(code(validate_client_batch(&b, &limits(), NOW)), E::CorruptMessage.code());
}
