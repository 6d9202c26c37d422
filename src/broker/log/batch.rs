//! The v2 record-batch header: parsing, validation and in-place patching of raw batch
//! bytes. The broker never re-encodes records on the hot path; it only reads and rewrites
//! the fixed-position header fields (base offset, leader epoch, max timestamp, CRC).

/// Size of the fixed v2 batch header (up to and including the record count).
pub const HEADER_LEN: usize = 61;
/// Bytes before the batch-length field ends: baseOffset(8) + batchLength(4).
pub const LOG_OVERHEAD: usize = 12;
const MAGIC_POS: usize = 16;
const CRC_POS: usize = 17;
const ATTR_POS: usize = 21;
const LAST_DELTA_POS: usize = 23;
const BASE_TS_POS: usize = 27;
const MAX_TS_POS: usize = 35;
const PRODUCER_ID_POS: usize = 43;
const PRODUCER_EPOCH_POS: usize = 51;
const BASE_SEQ_POS: usize = 53;
const COUNT_POS: usize = 57;

/// Why a batch was refused; mapped to Kafka error codes by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("record batch is truncated")]
    Truncated,
    #[error("unsupported record batch magic {0} (only v2 is supported)")]
    BadMagic(i8),
    #[error("record batch CRC mismatch")]
    BadCrc,
    #[error("record batch length {0} is invalid")]
    BadLength(i32),
    #[error("record batch has inconsistent record count")]
    BadCount,
}

/// The parsed fixed header of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Total size of the batch on disk, including the 12-byte log overhead.
    pub size: usize,
    pub leader_epoch: i32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl BatchHeader {
    /// Parses the header at the start of `buf` without checking the CRC. `buf` needs only
    /// the first [`HEADER_LEN`] bytes.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::Truncated);
        }
        let batch_len = be_i32(buf, 8);
        if batch_len < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            return Err(BatchError::BadLength(batch_len));
        }
        let magic = buf[MAGIC_POS] as i8;
        if magic != 2 {
            return Err(BatchError::BadMagic(magic));
        }
        let h = BatchHeader {
            base_offset: be_i64(buf, 0),
            size: batch_len as usize + LOG_OVERHEAD,
            leader_epoch: be_i32(buf, 12),
            attributes: be_i16(buf, ATTR_POS),
            last_offset_delta: be_i32(buf, LAST_DELTA_POS),
            base_timestamp: be_i64(buf, BASE_TS_POS),
            max_timestamp: be_i64(buf, MAX_TS_POS),
            producer_id: be_i64(buf, PRODUCER_ID_POS),
            producer_epoch: be_i16(buf, PRODUCER_EPOCH_POS),
            base_sequence: be_i32(buf, BASE_SEQ_POS),
            record_count: be_i32(buf, COUNT_POS),
        };
        if h.last_offset_delta < 0 || h.record_count < 0 {
            return Err(BatchError::BadCount);
        }
        Ok(h)
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
    pub fn compression(&self) -> i16 {
        self.attributes & 0x07
    }
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & 0x08 != 0
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
}

/// Checks the CRC-32C of a complete batch (it covers attributes..end).
pub fn crc_ok(batch: &[u8]) -> bool {
    if batch.len() < HEADER_LEN {
        return false;
    }
    let stored = u32::from_be_bytes(batch[CRC_POS..CRC_POS + 4].try_into().expect("4 bytes"));
    crc32c::crc32c(&batch[ATTR_POS..]) == stored
}

/// Parses a complete batch's header and checks that its length matches the bytes.
pub fn validate_framing(batch: &[u8]) -> Result<BatchHeader, BatchError> {
    let h = BatchHeader::parse(batch)?;
    if h.size != batch.len() {
        return Err(BatchError::BadLength(h.size as i32 - LOG_OVERHEAD as i32));
    }
    Ok(h)
}

/// Parses and fully validates one complete batch (header, length, CRC, count sanity).
pub fn validate(batch: &[u8]) -> Result<BatchHeader, BatchError> {
    let h = validate_framing(batch)?;
    if !crc_ok(batch) {
        return Err(BatchError::BadCrc);
    }
    // An empty batch is only legal after compaction; a producer never sends one.
    if h.record_count == 0 || h.record_count != h.last_offset_delta + 1 {
        return Err(BatchError::BadCount);
    }
    // An uncompressed record takes at least 7 bytes: a count beyond that is a lie (and
    // decoders would size vectors from it).
    if h.compression() == 0 && h.record_count as usize > (h.size - HEADER_LEN) / 7 {
        return Err(BatchError::BadCount);
    }
    Ok(h)
}

/// A non-idempotent, non-transactional record at `offset` (relative to its batch).
pub fn plain_record(
    offset: i64,
    timestamp: i64,
    key: Option<bytes::Bytes>,
    value: Option<bytes::Bytes>,
) -> kafka_protocol::records::Record {
    kafka_protocol::records::Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: kafka_protocol::records::TimestampType::Creation,
        offset,
        // offset - sequence must stay constant for the encoder to emit one batch.
        sequence: offset as i32 - 1,
        timestamp,
        key,
        value,
        headers: Default::default(),
    }
}

/// Encodes (key, value) pairs as one uncompressed, non-transactional v2 batch with
/// offsets from 0 — the broker's own writes (metadata, group records).
pub fn encode_records(records: impl IntoIterator<Item = (Option<bytes::Bytes>, Option<bytes::Bytes>)>, timestamp: i64) -> bytes::BytesMut {
    encode_records_as(records, timestamp, None)
}

/// Like `encode_records`; with a producer (id, epoch) the batch is transactional (the
/// group coordinator's writes for TxnOffsetCommit), settled by a marker later.
pub fn encode_records_as(
    records: impl IntoIterator<Item = (Option<bytes::Bytes>, Option<bytes::Bytes>)>,
    timestamp: i64,
    transactional: Option<(i64, i16)>,
) -> bytes::BytesMut {
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions};
    let recs: Vec<Record> = records
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| {
            let mut r = plain_record(i as i64, timestamp, key, value);
            if let Some((pid, epoch)) = transactional {
                r.transactional = true;
                r.producer_id = pid;
                r.producer_epoch = epoch;
            }
            r
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &recs, &RecordEncodeOptions { version: 2, compression: Compression::None })
        .expect("encoding an uncompressed batch cannot fail");
    buf
}

/// Assembles a v2 batch around already-encoded (and possibly compressed) record bytes, with
/// a correct length and CRC whatever the records say: for tests and fuzzing of validation.
pub fn assemble(attributes: i16, last_offset_delta: i32, record_count: i32, timestamp: i64, records: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER_LEN + records.len());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((HEADER_LEN - LOG_OVERHEAD + records.len()) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&last_offset_delta.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&record_count.to_be_bytes());
    b.extend_from_slice(records);
    let crc = crc32c::crc32c(&b[ATTR_POS..]);
    b[CRC_POS..CRC_POS + 4].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Encodes one record's bytes (length-prefixed body) with the given fields; lengths are
/// written as given, so they may lie.
pub fn raw_record(offset_delta: i32, key_len: i32, key: &[u8], value_len: i32, value: &[u8]) -> Vec<u8> {
    fn zigzag(v: i64, out: &mut Vec<u8>) {
        let mut u = ((v << 1) ^ (v >> 63)) as u64;
        while u >= 0x80 {
            out.push((u as u8) | 0x80);
            u >>= 7;
        }
        out.push(u as u8);
    }
    let mut body = vec![0u8]; // attributes
    zigzag(0, &mut body); // timestamp delta
    zigzag(offset_delta as i64, &mut body);
    zigzag(key_len as i64, &mut body);
    body.extend_from_slice(key);
    zigzag(value_len as i64, &mut body);
    body.extend_from_slice(value);
    zigzag(0, &mut body); // headers
    let mut out = Vec::new();
    zigzag(body.len() as i64, &mut out);
    out.extend_from_slice(&body);
    out
}

/// Iterates over complete batches in a buffer: yields (position, header) and stops at the
/// first incomplete or unparsable batch. Used by fetch trimming and recovery.
pub fn walk(buf: &[u8]) -> impl Iterator<Item = (usize, BatchHeader)> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let rest = buf.get(pos..)?;
        let h = BatchHeader::parse(rest).ok()?;
        if rest.len() < h.size {
            return None;
        }
        let at = pos;
        pos += h.size;
        Some((at, h))
    })
}

/// Rewrites the base offset and partition leader epoch in place. Neither is covered by
/// the CRC, so the batch stays valid.
pub fn patch_offset_and_epoch(batch: &mut [u8], base_offset: i64, leader_epoch: i32) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
    batch[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
}

/// Rewrites a CreateTime batch's max timestamp (inside the CRC, so the CRC is recomputed).
pub fn set_max_timestamp(batch: &mut [u8], ts: i64) {
    batch[MAX_TS_POS..MAX_TS_POS + 8].copy_from_slice(&ts.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTR_POS..]);
    batch[CRC_POS..CRC_POS + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Switches a batch to LogAppendTime with the given broker time; this field is inside the
/// CRC, so the CRC is recomputed.
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attrs = be_i16(batch, ATTR_POS) | 0x08;
    batch[ATTR_POS..ATTR_POS + 2].copy_from_slice(&attrs.to_be_bytes());
    batch[MAX_TS_POS..MAX_TS_POS + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTR_POS..]);
    batch[CRC_POS..CRC_POS + 4].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::records::*;

    pub fn sample_batch(n: usize) -> BytesMut {
        let records: Vec<Record> = (0..n)
            .map(|i| {
                plain_record(
                    i as i64,
                    1000 + i as i64,
                    Some(bytes::Bytes::from(format!("k{i}"))),
                    Some(bytes::Bytes::from(format!("v{i}"))),
                )
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
        buf
    }

    #[test]
    fn parses_and_validates_encoder_output() {
        let b = sample_batch(3);
        let h = validate(&b).unwrap();
        assert_eq!(h.record_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.max_timestamp, 1002);
        assert_eq!(h.size, b.len());
    }

    #[test]
    fn patching_keeps_crc_valid_and_corruption_is_detected() {
        let mut b = sample_batch(2);
        patch_offset_and_epoch(&mut b, 42, 7);
        let h = validate(&b).unwrap();
        assert_eq!((h.base_offset, h.leader_epoch, h.last_offset()), (42, 7, 43));
        set_log_append_time(&mut b, 99);
        let h = validate(&b).unwrap();
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 99);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert_eq!(validate(&b), Err(BatchError::BadCrc));
    }

    #[test]
    fn walk_stops_at_torn_tail() {
        let mut two = sample_batch(1);
        two.extend_from_slice(&sample_batch(2));
        let full = two.len();
        two.extend_from_slice(&sample_batch(1)[..20]);
        let seen: Vec<_> = walk(&two).collect();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].0 + seen[1].1.size, full);
    }
}
