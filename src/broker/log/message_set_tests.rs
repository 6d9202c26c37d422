use super::*;
use crate::broker::log::batch;
use std::io::Write;

/// One legacy entry as an old client writes it.
fn message(offset: i64, magic: i8, attributes: i8, ts: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
    let mut m = BytesMut::new();
    m.put_u32(0);
    m.put_i8(magic);
    m.put_i8(attributes);
    if magic == 1 {
        m.put_i64(ts);
    }
    for b in [key, value] {
        match b {
            Some(b) => {
                m.put_i32(b.len() as i32);
                m.put_slice(b);
            }
            None => m.put_i32(-1),
        }
    }
    let crc = crc32fast::hash(&m[4..]);
    m[..4].copy_from_slice(&crc.to_be_bytes());
    let mut e = Vec::new();
    e.extend_from_slice(&offset.to_be_bytes());
    e.extend_from_slice(&(m.len() as i32).to_be_bytes());
    e.extend_from_slice(&m);
    e
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    w.write_all(b).unwrap();
    w.finish().unwrap()
}

fn decode(b: BytesMut) -> kafka_protocol::records::RecordSet {
    let h = batch::validate(&b).unwrap();
    assert_eq!(h.record_count as usize, h.last_offset_delta as usize + 1);
    RecordBatchDecoder::decode(&mut b.freeze()).unwrap()
}

#[test]
fn up_converts_uncompressed_magic_0() {
    let mut set = message(0, 0, 0, 0, Some(b"k1"), Some(b"v1"));
    set.extend(message(1, 0, 0, 0, None, Some(b"v2")));
    set.extend(message(2, 0, 0, 0, Some(b"k3"), None));
    let recs = decode(up_convert(Bytes::from(set), 1 << 20).unwrap()).records;
    assert_eq!(recs.len(), 3);
    assert_eq!(recs.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert!(recs.iter().all(|r| r.timestamp == -1));
    assert_eq!(recs[0].key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(recs[1].key, None);
    assert_eq!(recs[2].value, None);
}

#[test]
fn up_converts_a_gzip_wrapper_of_magic_1_and_keeps_the_codec() {
    let mut inner = message(0, 1, 0, 1000, Some(b"a"), Some(b"x"));
    inner.extend(message(1, 1, 0, 1001, Some(b"b"), Some(b"y")));
    let mut set = message(1, 1, 1, 1001, None, Some(&gzip(&inner)));
    set.extend(message(0, 1, 0, 1002, Some(b"c"), Some(b"z")));
    let out = up_convert(Bytes::from(set), 1 << 20).unwrap();
    assert_eq!(batch::validate(&out).unwrap().compression(), 1);
    let recs = decode(out).records;
    assert_eq!(recs.iter().map(|r| r.timestamp).collect::<Vec<_>>(), vec![1000, 1001, 1002]);
    assert_eq!(recs.iter().map(|r| r.value.clone().unwrap()).collect::<Vec<_>>(), vec!["x", "y", "z"]);
}

#[test]
fn refuses_bad_message_sets() {
    let good = message(0, 1, 0, 5, Some(b"k"), Some(b"v"));
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    assert!(matches!(up_convert(Bytes::from(bad_crc), 1 << 20), Err(LogError::CorruptMessage(m)) if m.contains("crc")));
    assert!(matches!(up_convert(Bytes::from(good[..good.len() - 1].to_vec()), 1 << 20), Err(LogError::CorruptMessage(_))));
    assert!(matches!(up_convert(Bytes::new(), 1 << 20), Err(LogError::InvalidRecord(_))));
    let zstd = message(0, 1, 4, 5, None, Some(b"xx"));
    assert!(matches!(up_convert(Bytes::from(zstd), 1 << 20), Err(LogError::CorruptMessage(_))));
    let mut magic2 = good.clone();
    magic2[16] = 2;
    assert!(up_convert(Bytes::from(magic2), 1 << 20).is_err());
    // A wrapper inside a wrapper, and inner messages of another magic.
    let nested = message(0, 1, 1, 5, None, Some(&gzip(&message(0, 1, 1, 5, None, Some(b"q")))));
    assert!(matches!(up_convert(Bytes::from(nested), 1 << 20), Err(LogError::InvalidRecord(_))));
    let mixed = message(0, 1, 1, 5, None, Some(&gzip(&message(0, 0, 0, 0, None, Some(b"q")))));
    assert!(matches!(up_convert(Bytes::from(mixed), 1 << 20), Err(LogError::InvalidRecord(_))));
    // A wrapper that inflates past the budget.
    let big = message(0, 1, 1, 5, None, Some(&gzip(&message(0, 1, 0, 5, None, Some(&[7u8; 4096])))));
    assert!(matches!(up_convert(Bytes::from(big), 1024), Err(LogError::CorruptMessage(m)) if m.contains("limit")));
}

#[test]
fn down_converts_v2_batches_from_the_fetch_offset() {
    let recs: Vec<Record> = (0..5)
        .map(|i| batch::plain_record(10 + i, 500 + i, Some(Bytes::from(format!("k{i}"))), Some(Bytes::from(format!("v{i}")))))
        .collect();
    let mut stored = BytesMut::new();
    RecordBatchEncoder::encode(&mut stored, &recs, &RecordEncodeOptions { version: 2, compression: Compression::Lz4 }).unwrap();
    // A control batch (a transaction marker) follows; old clients never see it.
    let mut ctrl = batch::plain_record(15, 600, Some(Bytes::from_static(&[0, 0, 0, 0])), Some(Bytes::from_static(&[0, 0, 0, 0, 0, 0])));
    ctrl.control = true;
    ctrl.transactional = true;
    ctrl.producer_id = 7;
    ctrl.producer_epoch = 0;
    ctrl.sequence = -1;
    RecordBatchEncoder::encode(&mut stored, &[ctrl], &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
    for magic in [0i8, 1] {
        let out = down_convert(&stored, 12, magic).unwrap().freeze();
        let msgs = entries(&out).unwrap();
        assert_eq!(msgs.len(), 3, "magic {magic}");
        assert!(msgs.iter().all(|m| m.magic == magic && m.attributes == 0));
        let ts: Vec<i64> = msgs.iter().map(|m| m.timestamp).collect();
        assert_eq!(ts, if magic == 1 { vec![502, 503, 504] } else { vec![-1, -1, -1] });
        assert_eq!(msgs[0].key.as_deref(), Some(&b"k2"[..]));
        let offsets: Vec<i64> = (0..3).map(|i| i64::from_be_bytes(out[..8].try_into().unwrap()) + i).collect();
        assert_eq!(offsets[0], 12);
        // Up-converting it again gives the same keys and values (a round trip).
        let back = decode(up_convert(out.clone(), 1 << 20).unwrap()).records;
        assert_eq!(back.iter().map(|r| r.value.clone().unwrap()).collect::<Vec<_>>(), vec!["v2", "v3", "v4"]);
    }
    // A batch cut short at the end is left out.
    assert_eq!(down_convert(&stored[..stored.len() - 3], 0, 1).unwrap().len(), down_convert(&stored, 0, 1).unwrap().len());
}

#[test]
fn a_stored_batch_with_an_impossible_record_count_is_damage() {
    // CRC-valid but claiming 2^30 records: the fuzzer's out-of-memory (the decoder
    // reserves for the stated count before reading).
    let recs = vec![batch::plain_record(0, 1, None, Some(Bytes::from_static(b"v")))];
    for compression in [Compression::None, Compression::Gzip] {
        let mut b = BytesMut::new();
        RecordBatchEncoder::encode(&mut b, &recs, &RecordEncodeOptions { version: 2, compression }).unwrap();
        b[57..61].copy_from_slice(&(1i32 << 30).to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(down_convert(&b, 0, 1), Err(LogError::CorruptMessage(m)) if m.contains("claims")));
    }
}
