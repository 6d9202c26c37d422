//! Topic-level `compression.type` other than `producer`: batches arriving with another
//! codec are decoded and re-encoded with the topic's codec (Kafka does the same). The
//! records, their offsets deltas, timestamps and producer fields are kept.

use super::LogError;
use super::batch::{self, BatchHeader};
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions};

/// The codec a topic's `compression.type` asks for; None means "as the producer sent it".
pub fn target_codec(compression_type: &str) -> Option<Compression> {
    match compression_type {
        "uncompressed" => Some(Compression::None),
        "gzip" => Some(Compression::Gzip),
        "snappy" => Some(Compression::Snappy),
        "lz4" => Some(Compression::Lz4),
        "zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

fn codec_id(c: Compression) -> i16 {
    c as i16
}

/// Re-encodes every batch of `payload` whose codec differs from `target`. Returns None when
/// nothing needed re-encoding (the common case, no copy made).
pub fn recompress(payload: &[u8], target: Compression) -> Result<Option<BytesMut>, LogError> {
    let batches: Vec<(usize, BatchHeader)> = batch::walk(payload).collect();
    if batches.iter().all(|(_, h)| h.compression() == codec_id(target)) {
        return Ok(None);
    }
    let mut out = BytesMut::with_capacity(payload.len());
    for (pos, h) in batches {
        let raw = &payload[pos..pos + h.size];
        if h.compression() == codec_id(target) {
            out.extend_from_slice(raw);
            continue;
        }
        let mut bytes = Bytes::copy_from_slice(raw);
        let set = RecordBatchDecoder::decode(&mut bytes).map_err(|e| LogError::InvalidRecord(e.to_string()))?;
        let mut records = set.records;
        for r in records.iter_mut() {
            r.offset -= h.base_offset;
            // Keep offset - sequence constant so the encoder emits exactly one batch.
            if h.base_sequence < 0 {
                r.sequence = r.offset as i32 - 1;
            }
        }
        let opts = RecordEncodeOptions { version: 2, compression: target };
        RecordBatchEncoder::encode(&mut out, &records, &opts).map_err(|e| LogError::InvalidRecord(e.to_string()))?;
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::Record;

    #[test]
    fn recompresses_and_keeps_records() {
        let recs: Vec<Record> = (0..4)
            .map(|i| batch::plain_record(i, 100 + i, Some(Bytes::from(format!("k{i}"))), Some(Bytes::from(format!("v{i}")))))
            .collect();
        let mut raw = BytesMut::new();
        RecordBatchEncoder::encode(&mut raw, &recs, &RecordEncodeOptions { version: 2, compression: Compression::Gzip }).unwrap();
        assert!(recompress(&raw, Compression::Gzip).unwrap().is_none());
        let out = recompress(&raw, Compression::Lz4).unwrap().unwrap();
        let h = batch::validate(&out).unwrap();
        assert_eq!((h.compression(), h.record_count, h.base_sequence), (3, 4, -1));
        let mut b = out.freeze();
        let back = RecordBatchDecoder::decode(&mut b).unwrap();
        assert_eq!(back.records.iter().map(|r| r.timestamp).collect::<Vec<_>>(), vec![100, 101, 102, 103]);
        assert_eq!(back.records[3].value.as_deref(), Some(&b"v3"[..]));
    }
}
