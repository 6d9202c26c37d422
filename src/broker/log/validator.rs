//! LogValidator: every record of every batch a client produces is checked before it is
//! acknowledged. Uncompressed batches are walked in place; compressed ones through a
//! streaming decompressor with a bounded output (a bomb is refused, never inflated in
//! memory). Errors are Kafka's: CORRUPT_MESSAGE for bytes that cannot be a batch (CRC,
//! framing, unknown codec, undecompressable payload), INVALID_RECORD for structure, counts
//! and offsets, and per-record errors (null keys on compacted topics, timestamps out of
//! range) collected into ProduceResponse's `record_errors`.

use super::LogError;
use super::batch::{self, BatchHeader, HEADER_LEN};
use std::io::{BufRead, BufReader, Read};

/// What validation needs to know about the topic.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub compact: bool,
    pub log_append_time: bool,
    pub max_message_bytes: usize,
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
}

impl Limits {
    /// The most bytes a compressed batch may inflate to: generous for any real producer
    /// (whose batches are at most a few MiB uncompressed), bounded for a bomb.
    pub fn max_decompressed(&self) -> u64 {
        (self.max_message_bytes as u64).saturating_mul(16).max(64 << 20)
    }
}

/// What a valid batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validated {
    pub header: BatchHeader,
    /// The largest record timestamp (what the batch header's max timestamp must say).
    pub max_timestamp: i64,
}

/// The smallest record body: attributes, timestamp delta, offset delta, key length, value
/// length and header count, one byte each.
const MIN_BODY: i64 = 6;

#[derive(Debug)]
enum Stop {
    /// The bytes cannot be read as records at all (CORRUPT_MESSAGE).
    Corrupt(String),
    /// Structure or counts are wrong (INVALID_RECORD).
    Invalid(String),
}

type Step<T> = Result<T, Stop>;

/// A source of record bytes: the batch itself, or a decompressing stream.
trait Source {
    fn byte(&mut self) -> Step<u8>;
    /// Skips `n` bytes (all must exist).
    fn skip(&mut self, n: u64) -> Step<()>;
    fn consumed(&self) -> u64;
    fn at_end(&mut self) -> Step<bool>;

    fn varlong(&mut self) -> Step<i64> {
        let mut raw: u64 = 0;
        for i in 0..10 {
            let b = self.byte()?;
            raw |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err(Stop::Invalid("Found invalid record structure: varlong is too long".into()))
    }

    fn varint(&mut self) -> Step<i32> {
        let mut raw: u32 = 0;
        for i in 0..5 {
            let b = self.byte()?;
            raw |= ((b & 0x7f) as u32) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32));
            }
        }
        Err(Stop::Invalid("Found invalid record structure: varint is too long".into()))
    }
}

struct SliceSource<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn eof() -> Stop {
    Stop::Invalid("Incorrect declared batch size, premature EOF reached".into())
}

impl Source for SliceSource<'_> {
    fn byte(&mut self) -> Step<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(eof)?;
        self.pos += 1;
        Ok(b)
    }
    fn skip(&mut self, n: u64) -> Step<()> {
        if (self.buf.len() - self.pos) as u64 >= n {
            self.pos += n as usize;
            Ok(())
        } else {
            Err(eof())
        }
    }
    fn consumed(&self) -> u64 {
        self.pos as u64
    }
    fn at_end(&mut self) -> Step<bool> {
        Ok(self.pos == self.buf.len())
    }
}

/// Decompressed bytes, read as they come, never more than `budget` in total.
struct StreamSource<R: Read> {
    inner: BufReader<R>,
    consumed: u64,
    budget: u64,
}

fn decompress_error(e: std::io::Error) -> Stop {
    Stop::Corrupt(format!("the compressed records cannot be decompressed: {e}"))
}

impl<R: Read> StreamSource<R> {
    fn over_budget(&self) -> Stop {
        Stop::Corrupt(format!("the compressed records inflate past the limit of {} bytes", self.budget))
    }
}

impl<R: Read> Source for StreamSource<R> {
    fn byte(&mut self) -> Step<u8> {
        if self.consumed >= self.budget {
            return Err(self.over_budget());
        }
        let buf = self.inner.fill_buf().map_err(decompress_error)?;
        let b = *buf.first().ok_or_else(eof)?;
        self.inner.consume(1);
        self.consumed += 1;
        Ok(b)
    }
    fn skip(&mut self, mut n: u64) -> Step<()> {
        if self.consumed.saturating_add(n) > self.budget {
            return Err(self.over_budget());
        }
        while n > 0 {
            let buf = self.inner.fill_buf().map_err(decompress_error)?;
            if buf.is_empty() {
                return Err(eof());
            }
            let k = (buf.len() as u64).min(n) as usize;
            self.inner.consume(k);
            self.consumed += k as u64;
            n -= k as u64;
        }
        Ok(())
    }
    fn consumed(&self) -> u64 {
        self.consumed
    }
    fn at_end(&mut self) -> Step<bool> {
        Ok(self.inner.fill_buf().map_err(decompress_error)?.is_empty())
    }
}

/// Kafka's xerial/Java snappy framing (8-byte magic, version, compat, then length-prefixed
/// raw blocks) or, without the magic, one raw snappy block.
struct SnappyReader<'a> {
    input: &'a [u8],
    pos: usize,
    framed: bool,
    block: Vec<u8>,
    block_pos: usize,
    max_block: u64,
}

const XERIAL_MAGIC: &[u8] = &[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

impl<'a> SnappyReader<'a> {
    fn new(input: &'a [u8], max_block: u64) -> SnappyReader<'a> {
        let framed = input.len() >= 16 && &input[..8] == XERIAL_MAGIC;
        SnappyReader { input, pos: if framed { 16 } else { 0 }, framed, block: Vec::new(), block_pos: 0, max_block }
    }

    fn next_block(&mut self) -> std::io::Result<bool> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        if self.pos >= self.input.len() {
            return Ok(false);
        }
        let compressed = if self.framed {
            let len_bytes: [u8; 4] =
                self.input.get(self.pos..self.pos + 4).ok_or_else(|| bad("truncated block length"))?.try_into().expect("4");
            let len = u32::from_be_bytes(len_bytes) as usize;
            let start = self.pos + 4;
            let block = self.input.get(start..start.saturating_add(len)).ok_or_else(|| bad("block runs past the batch"))?;
            self.pos = start + len;
            block
        } else {
            self.pos = self.input.len();
            self.input
        };
        let n = snap::raw::decompress_len(compressed).map_err(|e| bad(&e.to_string()))?;
        if n as u64 > self.max_block {
            return Err(bad("a snappy block inflates past the limit"));
        }
        self.block.resize(n, 0);
        snap::raw::Decoder::new().decompress(compressed, &mut self.block).map_err(|e| bad(&e.to_string()))?;
        self.block_pos = 0;
        Ok(true)
    }
}

impl Read for SnappyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.block_pos >= self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.block.len() - self.block_pos);
        out[..n].copy_from_slice(&self.block[self.block_pos..self.block_pos + n]);
        self.block_pos += n;
        Ok(n)
    }
}

/// Reads a whole compressed payload (codec ids as in a batch's attributes: 1 gzip, 2 snappy,
/// 3 lz4, 4 zstd), never more than `budget` bytes: the legacy message sets' wrapper
/// messages (`message_set`, which refuses zstd first) and pushed client telemetry
/// decompress with the same readers as v2 batches.
pub(crate) fn decompress_all(codec: i16, body: &[u8], budget: u64) -> Result<Vec<u8>, LogError> {
    let corrupt = |e: std::io::Error| LogError::CorruptMessage(format!("the compressed records cannot be decompressed: {e}"));
    let reader: Box<dyn Read + '_> = match codec {
        1 => Box::new(flate2::read::GzDecoder::new(body)),
        2 => Box::new(SnappyReader::new(body, budget)),
        3 => Box::new(lz4::Decoder::new(body).map_err(corrupt)?),
        4 => Box::new(zstd::stream::read::Decoder::with_buffer(body).map_err(corrupt)?),
        other => return Err(LogError::CorruptMessage(format!("Unknown compression type id: {other}"))),
    };
    let mut out = Vec::new();
    reader.take(budget + 1).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() as u64 > budget {
        return Err(LogError::CorruptMessage(format!("the compressed records inflate past the limit of {budget} bytes")));
    }
    Ok(out)
}

/// A refused record: (index in the batch, message, is it a timestamp error).
pub type RecordError = (i32, String, bool);

/// Walks exactly `count` records, checking their structure; returns the largest timestamp
/// and the per-record errors (index, message, is it a timestamp error).
fn walk_records(src: &mut impl Source, h: &BatchHeader, limits: &Limits, now: i64) -> Step<(i64, Vec<RecordError>)> {
    let mut max_ts = -1i64;
    let mut errors = Vec::new();
    for index in 0..h.record_count {
        let len = src.varint()? as i64;
        if len < MIN_BODY {
            return Err(Stop::Invalid(format!("Invalid record size {len} of record {index}")));
        }
        let start = src.consumed();
        let end = start + len as u64;
        // A field must end within the record's declared body.
        let within = |at: u64, n: u64| -> Step<()> {
            if at.saturating_add(n) > end {
                Err(Stop::Invalid(format!("Invalid record size: record {index} claims {len} bytes but its fields need more")))
            } else {
                Ok(())
            }
        };
        src.byte()?; // attributes (unused in v2)
        let ts_delta = src.varlong()?;
        let offset_delta = src.varint()?;
        if offset_delta != index {
            return Err(Stop::Invalid(format!(
                "Record {index} has offset delta {offset_delta}; a batch's records must be numbered 0..{}",
                h.record_count
            )));
        }
        let key_len = src.varint()?;
        if key_len < -1 {
            return Err(Stop::Invalid(format!("Invalid negative key size {key_len} in record {index}")));
        }
        if key_len > 0 {
            within(src.consumed(), key_len as u64)?;
            src.skip(key_len as u64)?;
        }
        let value_len = src.varint()?;
        if value_len < -1 {
            return Err(Stop::Invalid(format!("Invalid negative value size {value_len} in record {index}")));
        }
        if value_len > 0 {
            within(src.consumed(), value_len as u64)?;
            src.skip(value_len as u64)?;
        }
        let headers = src.varint()?;
        if headers < 0 || headers as u64 > end.saturating_sub(src.consumed()) {
            return Err(Stop::Invalid(format!("Found invalid number of record headers {headers} in record {index}")));
        }
        for _ in 0..headers {
            let k = src.varint()?;
            if k < 0 {
                return Err(Stop::Invalid(format!("Invalid negative header key size {k} in record {index}")));
            }
            within(src.consumed(), k as u64)?;
            src.skip(k as u64)?;
            let v = src.varint()?;
            if v < -1 {
                return Err(Stop::Invalid(format!("Invalid negative header value size {v} in record {index}")));
            }
            if v > 0 {
                within(src.consumed(), v as u64)?;
                src.skip(v as u64)?;
            }
        }
        if src.consumed() != end {
            return Err(Stop::Invalid(format!(
                "Invalid record size: expected to read {len} bytes in record {index}, but instead read {}",
                src.consumed() - start
            )));
        }
        if limits.compact && key_len < 0 {
            errors.push((index, "Compacted topic cannot accept message without key".to_string(), false));
        }
        let ts = h.base_timestamp.wrapping_add(ts_delta);
        max_ts = max_ts.max(ts);
        if h.is_log_append_time() {
            errors.push((
                index,
                "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.".into(),
                true,
            ));
        } else if !limits.log_append_time && ts != -1 {
            let behind = now.saturating_sub(ts);
            let ahead = ts.saturating_sub(now);
            if behind > limits.timestamp_before_max_ms || ahead > limits.timestamp_after_max_ms {
                let lo = now.saturating_sub(limits.timestamp_before_max_ms);
                let hi = now.saturating_add(limits.timestamp_after_max_ms);
                errors.push((
                    index,
                    format!(
                        "Timestamp {ts} of message with offset {offset_delta} is out of range. The timestamp should be within [{lo}, {hi}]"
                    ),
                    true,
                ));
            }
        }
    }
    if !src.at_end()? {
        return Err(Stop::Invalid("Incorrect declared batch size, records still remaining in file".into()));
    }
    Ok((max_ts, errors))
}

/// Validates one batch a client produced (framing, CRC, header fields, every record).
pub fn validate_client_batch(raw: &[u8], limits: &Limits, now: i64) -> Result<Validated, LogError> {
    let h = batch::validate_framing(raw)?;
    if h.size > limits.max_message_bytes {
        return Err(LogError::MessageTooLarge { size: h.size, max: limits.max_message_bytes });
    }
    if !batch::crc_ok(raw) {
        return Err(batch::BatchError::BadCrc.into());
    }
    let invalid = |m: String| Err(LogError::InvalidRecord(m));
    if h.base_offset != 0 {
        return invalid(format!("The base offset of a produced batch must be 0, not {}", h.base_offset));
    }
    if h.record_count <= 0 {
        return invalid(format!("Invalid reported count for record batch: {}", h.record_count));
    }
    if h.last_offset_delta + 1 != h.record_count {
        return invalid(format!("Inconsistent batch offset range [0, {}] and count of records {}", h.last_offset_delta, h.record_count));
    }
    if h.is_control() {
        return invalid("Clients are not allowed to write control records".into());
    }
    if h.producer_id >= 0 && h.base_sequence < 0 {
        return invalid("Invalid sequence number".into());
    }
    let body = &raw[HEADER_LEN..];
    let budget = limits.max_decompressed();
    let walked = match h.compression() {
        0 => {
            // Each record takes at least 7 bytes: a larger count is a lie.
            if h.record_count as usize > body.len() / 7 {
                return invalid(format!("Record count {} does not fit in {} bytes", h.record_count, body.len()));
            }
            walk_records(&mut SliceSource { buf: body, pos: 0 }, &h, limits, now)
        }
        1 => {
            let d = flate2::read::GzDecoder::new(body);
            walk_records(&mut StreamSource { inner: BufReader::with_capacity(16 << 10, d), consumed: 0, budget }, &h, limits, now)
        }
        2 => {
            let d = SnappyReader::new(body, budget);
            walk_records(&mut StreamSource { inner: BufReader::with_capacity(16 << 10, d), consumed: 0, budget }, &h, limits, now)
        }
        3 => match lz4::Decoder::new(body) {
            Ok(d) => walk_records(&mut StreamSource { inner: BufReader::with_capacity(16 << 10, d), consumed: 0, budget }, &h, limits, now),
            Err(e) => Err(decompress_error(e)),
        },
        4 => match zstd::stream::read::Decoder::with_buffer(body) {
            Ok(d) => walk_records(&mut StreamSource { inner: BufReader::with_capacity(16 << 10, d), consumed: 0, budget }, &h, limits, now),
            Err(e) => Err(decompress_error(e)),
        },
        other => return Err(LogError::CorruptMessage(format!("Unknown compression type id: {other}"))),
    };
    match walked {
        Err(Stop::Corrupt(m)) => Err(LogError::CorruptMessage(m)),
        Err(Stop::Invalid(m)) => Err(LogError::InvalidRecord(m)),
        Ok((_, errors)) if !errors.is_empty() => Err(LogError::record_errors(errors)),
        Ok((max_timestamp, _)) => Ok(Validated { header: h, max_timestamp }),
    }
}

#[cfg(test)]
#[path = "validator_tests.rs"]
mod tests;
