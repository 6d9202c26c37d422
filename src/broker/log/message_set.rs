//! The legacy message formats, magic 0 and 1 ("message sets", Kafka before 0.11), which
//! the request versions Kafka 4.0 removed (KIP-896: Produce v0–2, Fetch v0–3) carry. A
//! produced message set is up-converted to one v2 record batch before it meets the
//! LogValidator, and stored v2 batches are down-converted for old fetch versions — what
//! Kafka 3.x did (LogValidator's conversion path, RecordsUtil.downConvert). Nothing is
//! ever stored in the old formats.
//!
//! Layout of one entry: offset i64, size i32, then the message: crc u32 (CRC-32 IEEE of
//! what follows), magic i8, attributes i8 (low 3 bits: codec; bit 3: LogAppendTime),
//! timestamp i64 (magic 1 only), key and value as i32-length-prefixed bytes (-1: null).
//! A compressed message ("wrapper") holds a whole inner message set in its value.

use super::LogError;
use super::validator::decompress_all;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

/// Offset and size, before each message.
const LOG_OVERHEAD: usize = 12;
/// crc, magic, attributes, key length, value length.
const MIN_MESSAGE_V0: usize = 4 + 1 + 1 + 4 + 4;
const CODEC_MASK: i8 = 0x07;
const LOG_APPEND_TIME: i8 = 0x08;
/// What a stored compressed batch inflates to at most: the LogValidator's floor for
/// `max.message.bytes` * 16 (`Limits::max_decompressed`).
const MAX_INFLATED: u64 = 64 << 20;

/// One parsed legacy message.
#[derive(Debug, PartialEq)]
struct Message {
    magic: i8,
    attributes: i8,
    /// -1 for magic 0 (no timestamp).
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
}

fn corrupt(m: impl Into<String>) -> LogError {
    LogError::CorruptMessage(m.into())
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// A length-prefixed byte field at `at`: (value, position after it).
fn field(m: &Bytes, at: usize) -> Result<(Option<Bytes>, usize), LogError> {
    if m.len() < at + 4 {
        return Err(corrupt("the message ends inside a length field"));
    }
    let len = be_i32(m, at);
    let start = at + 4;
    match len {
        -1 => Ok((None, start)),
        n if n < -1 => Err(corrupt(format!("invalid length {n} in a message"))),
        n if m.len() - start < n as usize => Err(corrupt("a key or value runs past the end of its message")),
        n => Ok((Some(m.slice(start..start + n as usize)), start + n as usize)),
    }
}

/// Parses and CRC-checks one message (the bytes after offset and size).
fn parse_message(m: Bytes) -> Result<Message, LogError> {
    if m.len() < MIN_MESSAGE_V0 {
        return Err(corrupt(format!("Message size {} is less than the minimum message size {MIN_MESSAGE_V0}", m.len())));
    }
    let stored = u32::from_be_bytes(m[..4].try_into().expect("4 bytes"));
    let computed = crc32fast::hash(&m[4..]);
    if stored != computed {
        return Err(corrupt(format!("Message is corrupt (stored crc = {stored}, computed crc = {computed})")));
    }
    let (magic, attributes) = (m[4] as i8, m[5] as i8);
    let (timestamp, at) = match magic {
        0 => (-1, 6),
        1 if m.len() >= MIN_MESSAGE_V0 + 8 => (i64::from_be_bytes(m[6..14].try_into().expect("8 bytes")), 14),
        1 => return Err(corrupt("a magic 1 message too short for its timestamp")),
        other => return Err(corrupt(format!("Invalid magic {other} in a legacy message set"))),
    };
    let (key, at) = field(&m, at)?;
    let (value, at) = field(&m, at)?;
    if at != m.len() {
        return Err(corrupt("a message has bytes after its value"));
    }
    Ok(Message { magic, attributes, timestamp, key, value })
}

/// The messages of a shallow message set, in order.
fn entries(set: &Bytes) -> Result<Vec<Message>, LogError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < set.len() {
        if set.len() - pos < LOG_OVERHEAD {
            return Err(corrupt("the message set ends inside a message header"));
        }
        let size = be_i32(set, pos + 8);
        let start = pos + LOG_OVERHEAD;
        if size < 0 || (set.len() - start) < size as usize {
            return Err(corrupt(format!("a message of {size} bytes runs past the end of the message set")));
        }
        out.push(parse_message(set.slice(start..start + size as usize))?);
        pos = start + size as usize;
    }
    Ok(out)
}

fn compression(codec: i8) -> Result<Compression, LogError> {
    match codec {
        0 => Ok(Compression::None),
        1 => Ok(Compression::Gzip),
        2 => Ok(Compression::Snappy),
        3 => Ok(Compression::Lz4),
        // zstd came with magic 2; Kafka refuses it in older formats.
        other => Err(corrupt(format!("compression codec {other} is not valid for message format v0/v1"))),
    }
}

/// Up-converts a produced message set (magic 0 or 1, compressed or not) to one v2 record
/// batch with offsets from 0, kept in the producer's codec. Magic 0 messages get no
/// timestamp (-1), as in Kafka. `budget` bounds what a compressed wrapper may inflate to.
pub fn up_convert(set: Bytes, budget: u64) -> Result<BytesMut, LogError> {
    let mut records: Vec<Record> = Vec::new();
    let mut codec = Compression::None;
    for m in entries(&set)? {
        let c = compression(m.attributes & CODEC_MASK)?;
        if matches!(c, Compression::None) {
            records.push(super::batch::plain_record(records.len() as i64, m.timestamp, m.key, m.value));
            continue;
        }
        codec = c;
        let compressed = m.value.ok_or_else(|| corrupt("a compressed wrapper message has no value"))?;
        let compressed = if m.magic == 0 && matches!(c, Compression::Lz4) { fix_lz4_header_checksum(&compressed) } else { compressed };
        let inner = Bytes::from(decompress_all((m.attributes & CODEC_MASK) as i16, &compressed, budget)?);
        for i in entries(&inner)? {
            if i.attributes & CODEC_MASK != 0 {
                return Err(LogError::InvalidRecord(
                    "Compressed outer record should not have an inner record with a compression attribute set".into(),
                ));
            }
            if i.magic != m.magic {
                return Err(LogError::InvalidRecord(format!(
                    "Compressed outer record has magic {} while inner record has magic {}",
                    m.magic, i.magic
                )));
            }
            records.push(super::batch::plain_record(records.len() as i64, i.timestamp, i.key, i.value));
        }
    }
    if records.is_empty() {
        return Err(LogError::InvalidRecord("the message set holds no message".into()));
    }
    let mut out = BytesMut::new();
    RecordBatchEncoder::encode(&mut out, &records, &RecordEncodeOptions { version: 2, compression: codec })
        .map_err(|e| LogError::InvalidRecord(e.to_string()))?;
    Ok(out)
}

/// Kafka before 0.10 wrote the LZ4 frame's header checksum over the wrong bytes (the magic
/// number too, KAFKA-3160) and so do clients speaking magic 0; Kafka ignores that byte for
/// magic 0. The frame decoder checks it, so it is rewritten as the LZ4 spec computes it.
fn fix_lz4_header_checksum(frame: &Bytes) -> Bytes {
    const MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];
    if frame.len() < 7 || frame[..4] != MAGIC {
        return frame.clone();
    }
    let flg = frame[4];
    let hc_at = 6 + if flg & 0x08 != 0 { 8 } else { 0 } + if flg & 0x01 != 0 { 4 } else { 0 };
    if frame.len() <= hc_at {
        return frame.clone();
    }
    let mut fixed = frame.to_vec();
    fixed[hc_at] = (xxhash_rust::xxh32::xxh32(&frame[4..hc_at], 0) >> 8) as u8;
    Bytes::from(fixed)
}

fn put_message(out: &mut BytesMut, offset: i64, magic: i8, r: &Record) {
    let len = |b: &Option<Bytes>| b.as_ref().map_or(0, |b| b.len());
    let size = MIN_MESSAGE_V0 + if magic == 1 { 8 } else { 0 } + len(&r.key) + len(&r.value);
    out.reserve(LOG_OVERHEAD + size);
    out.put_i64(offset);
    out.put_i32(size as i32);
    let crc_at = out.len();
    out.put_u32(0);
    out.put_i8(magic);
    let log_append = matches!(r.timestamp_type, TimestampType::LogAppend);
    out.put_i8(if magic == 1 && log_append { LOG_APPEND_TIME } else { 0 });
    if magic == 1 {
        out.put_i64(r.timestamp);
    }
    for b in [&r.key, &r.value] {
        match b {
            Some(b) => {
                out.put_i32(b.len() as i32);
                out.put_slice(b);
            }
            None => out.put_i32(-1),
        }
    }
    let crc = crc32fast::hash(&out[crc_at + 4..]);
    out[crc_at..crc_at + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Down-converts stored v2 batches to an uncompressed message set of `magic` (0 or 1) for
/// an old fetch version: control batches are left out, records before `from` (the fetch
/// offset, inside the first batch) are skipped, headers are dropped (the old formats have
/// none). A batch cut short at the end of `batches` (the fetch size limit) is left out.
pub fn down_convert(batches: &[u8], from: i64, magic: i8) -> Result<BytesMut, LogError> {
    let mut out = BytesMut::with_capacity(batches.len());
    for (pos, h) in super::batch::walk(batches) {
        if h.is_control() {
            continue;
        }
        // The decoder reserves room for the count the header states before reading a
        // record: a count no stored (validated) batch can have is damage, not a reservation.
        let body = h.size.saturating_sub(super::batch::HEADER_LEN) as u64;
        let most = if h.compression() == 0 { body / 7 } else { MAX_INFLATED / 7 };
        if h.record_count < 0 || h.record_count as u64 > most {
            return Err(corrupt(format!("a stored batch claims {} records", h.record_count)));
        }
        let mut raw = Bytes::copy_from_slice(&batches[pos..pos + h.size]);
        let set = RecordBatchDecoder::decode(&mut raw).map_err(|e| corrupt(format!("a stored batch cannot be read: {e}")))?;
        for r in set.records.iter().filter(|r| r.offset >= from) {
            put_message(&mut out, r.offset, magic, r);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "message_set_tests.rs"]
mod tests;
