//! One producer batch for one partition (Kafka's ProducerBatch). Records are encoded in the
//! v2 wire format as they are appended, so a full batch needs no second pass; it is sealed
//! once (compressed, header written, CRC computed) and the sealed bytes are reused on
//! retries, which keeps idempotent sequence numbers stable.
//!
//! Why not kafka-protocol's RecordBatchEncoder here: it needs every record as an owned
//! `Record` up front (clones and a header map per record) and cannot tell how large a
//! batch is while it grows, and this is the producer's hottest path.

use super::{Delivery, RecordMetadata};
use crate::client::connection::ClientError;
use crate::frame::{put_uvarint, uvarint_size};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Gzip, Snappy, Zstd};
use kafka_protocol::records::Compression;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::{Notify, oneshot};

/// Fixed v2 batch header: baseOffset(8) length(4) epoch(4) magic(1) crc(4) attributes(2)
/// lastOffsetDelta(4) baseTimestamp(8) maxTimestamp(8) producerId(8) producerEpoch(2)
/// baseSequence(4) recordCount(4).
pub const HEADER_LEN: usize = 61;

/// A zig-zag varint (Kafka's record fields).
fn put_varlong(buf: &mut BytesMut, v: i64) {
    put_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

fn varlong_size(v: i64) -> usize {
    uvarint_size(((v << 1) ^ (v >> 63)) as u64)
}

fn put_bytes(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            put_varlong(buf, b.len() as i64);
            buf.put_slice(b);
        }
        None => put_varlong(buf, -1),
    }
}

fn bytes_size(b: Option<&[u8]>) -> usize {
    b.map_or(1, |b| varlong_size(b.len() as i64) + b.len())
}

/// The fields of one record as the batch encodes them.
pub struct RecordRef<'a> {
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(String, Option<Bytes>)],
}

/// Compression settings: the codec and its level (None = the codec's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    pub compression: Compression,
    pub level: Option<i32>,
    /// Sets the batch's transactional attribute (bit 4).
    pub transactional: bool,
}

/// (base offset or -1 with acks=0, log append time or -1), or why the batch failed.
pub type BatchOutcome = Result<(i64, i64), ClientError>;

/// How a batch ended; shared by every record's [`Delivery`].
pub(crate) struct BatchDone {
    pub topic: Arc<str>,
    pub partition: i32,
    /// (base offset or -1 with acks=0, log append time or -1) and when the answer arrived.
    result: OnceLock<(BatchOutcome, Instant)>,
    notify: Notify,
}

impl BatchDone {
    pub fn is_done(&self) -> bool {
        self.result.get().is_some()
    }

    /// Waits until the batch is complete.
    pub async fn wait(&self) -> &(BatchOutcome, Instant) {
        loop {
            // Created before the check, so a completion in between still wakes it.
            let notified = self.notify.notified();
            if let Some(r) = self.result.get() {
                return r;
            }
            notified.await;
        }
    }
}

/// Copies an error for each record of a failed batch (ClientError holds io::Error, which
/// is not Clone).
pub fn dup_error(e: &ClientError) -> ClientError {
    match e {
        ClientError::Kafka { code, message } => ClientError::Kafka { code: *code, message: message.clone() },
        ClientError::Timeout(d) => ClientError::Timeout(*d),
        other => ClientError::Protocol(other.to_string()),
    }
}

type Forward = (u32, i64, oneshot::Sender<Result<RecordMetadata, ClientError>>);

pub struct ProducerBatch {
    pub topic: Arc<str>,
    pub partition: i32,
    /// HEADER_LEN reserved bytes, then the encoded records.
    buf: BytesMut,
    count: i32,
    base_ts: i64,
    max_ts: i64,
    pub created: Instant,
    pub attempts: u32,
    /// Not before this instant (retry backoff).
    pub retry_at: Option<Instant>,
    /// Assigned when first drained with idempotence on; -1 otherwise.
    pub base_sequence: i32,
    sealed: Option<Bytes>,
    done: Arc<BatchDone>,
    /// Records that waited for metadata answer through their own channel.
    forwards: Vec<Forward>,
}

impl ProducerBatch {
    pub fn new(topic: Arc<str>, partition: i32, capacity: usize) -> ProducerBatch {
        let mut buf = BytesMut::with_capacity(capacity.clamp(HEADER_LEN + 64, 1 << 20));
        buf.put_bytes(0, HEADER_LEN);
        let done = Arc::new(BatchDone { topic: topic.clone(), partition, result: OnceLock::new(), notify: Notify::new() });
        ProducerBatch {
            topic,
            partition,
            buf,
            count: 0,
            base_ts: 0,
            max_ts: -1,
            created: Instant::now(),
            attempts: 0,
            retry_at: None,
            base_sequence: -1,
            sealed: None,
            done,
            forwards: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    pub fn is_sealed(&self) -> bool {
        self.sealed.is_some()
    }
    pub fn record_count(&self) -> i32 {
        self.count
    }
    /// Uncompressed size so far, header included.
    pub fn size(&self) -> usize {
        self.buf.len()
    }

    fn body_size(&self, r: &RecordRef) -> usize {
        let ts_delta = if self.count == 0 { 0 } else { r.timestamp - self.base_ts };
        let headers: usize = r.headers.iter().map(|(k, v)| bytes_size(Some(k.as_bytes())) + bytes_size(v.as_deref())).sum();
        1 + varlong_size(ts_delta)
            + varlong_size(self.count as i64)
            + bytes_size(r.key)
            + bytes_size(r.value)
            + varlong_size(r.headers.len() as i64)
            + headers
    }

    /// Whether `r` fits within `limit` bytes. The exact size is only computed near the
    /// limit: a record's varints and attributes take at most 61 bytes, a header's 20.
    /// Whether `r` can still go into this batch: never once it has been sealed (sent),
    /// even when a retry puts it back as its partition's last batch; its bytes, CRC and
    /// sequence numbers are fixed.
    pub fn fits(&self, r: &RecordRef, limit: usize) -> bool {
        if self.sealed.is_some() {
            return false;
        }
        let payload = r.key.map_or(0, |k| k.len()) + r.value.map_or(0, |v| v.len());
        let headers: usize = r.headers.iter().map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()) + 20).sum();
        self.size() + payload + headers + 61 <= limit || self.size() + self.record_size(r) <= limit
    }

    /// Bytes `r` would add to this batch.
    pub fn record_size(&self, r: &RecordRef) -> usize {
        let body = self.body_size(r);
        varlong_size(body as i64) + body
    }

    /// Appends a record; the returned delivery completes with the batch.
    pub fn append(&mut self, r: &RecordRef) -> Delivery {
        if self.count == 0 {
            self.base_ts = r.timestamp;
        }
        let body = self.body_size(r);
        let b = &mut self.buf;
        b.reserve(body + 5);
        put_varlong(b, body as i64);
        b.put_u8(0); // record attributes
        put_varlong(b, r.timestamp - self.base_ts);
        put_varlong(b, self.count as i64);
        put_bytes(b, r.key);
        put_bytes(b, r.value);
        put_varlong(b, r.headers.len() as i64);
        for (k, v) in r.headers {
            put_bytes(b, Some(k.as_bytes()));
            put_bytes(b, v.as_deref());
        }
        self.max_ts = self.max_ts.max(r.timestamp);
        let index = self.count as u32;
        self.count += 1;
        Delivery::batch(self.done.clone(), index, r.timestamp)
    }

    /// Appends a record that answers through its own channel (it waited for metadata).
    pub fn append_forwarded(&mut self, r: &RecordRef, tx: oneshot::Sender<Result<RecordMetadata, ClientError>>) {
        let index = self.count as u32;
        drop(self.append(r));
        self.forwards.push((index, r.timestamp, tx));
    }

    /// The wire bytes: compressed, header and CRC filled in. Done once; retries resend the
    /// same bytes.
    pub fn seal(&mut self, codec: Codec, producer_id: i64, producer_epoch: i16) -> Result<Bytes, ClientError> {
        if let Some(b) = &self.sealed {
            return Ok(b.clone());
        }
        let mut out = match codec.compression {
            Compression::None => std::mem::take(&mut self.buf),
            c => {
                let records = &self.buf[HEADER_LEN..];
                let mut out = BytesMut::with_capacity(HEADER_LEN + records.len() / 2);
                out.put_bytes(0, HEADER_LEN);
                compress(&mut out, records, c, codec.level)
                    .map_err(|e| ClientError::Protocol(format!("cannot compress a batch with {c:?}: {e}")))?;
                out
            }
        };
        let batch_len = (out.len() - 12) as i32;
        let h = &mut out[..HEADER_LEN];
        h[0..8].copy_from_slice(&0i64.to_be_bytes());
        h[8..12].copy_from_slice(&batch_len.to_be_bytes());
        h[12..16].copy_from_slice(&(-1i32).to_be_bytes());
        h[16] = 2;
        let attributes = codec.compression as i16 | if codec.transactional { 0x10 } else { 0 };
        h[21..23].copy_from_slice(&attributes.to_be_bytes());
        h[23..27].copy_from_slice(&(self.count - 1).to_be_bytes());
        h[27..35].copy_from_slice(&self.base_ts.to_be_bytes());
        h[35..43].copy_from_slice(&self.max_ts.to_be_bytes());
        h[43..51].copy_from_slice(&producer_id.to_be_bytes());
        h[51..53].copy_from_slice(&producer_epoch.to_be_bytes());
        h[53..57].copy_from_slice(&self.base_sequence.to_be_bytes());
        h[57..61].copy_from_slice(&self.count.to_be_bytes());
        let crc = crc32c::crc32c(&out[21..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        let bytes = out.freeze();
        self.buf = BytesMut::new();
        self.sealed = Some(bytes.clone());
        Ok(bytes)
    }

    /// Completes every record of the batch.
    pub fn complete(mut self, result: BatchOutcome) {
        self.finish(result);
    }

    fn finish(&mut self, result: BatchOutcome) {
        for (index, ts, tx) in std::mem::take(&mut self.forwards) {
            let r = match &result {
                Ok((base, append_time)) => Ok(RecordMetadata {
                    topic: self.topic.to_string(),
                    partition: self.partition,
                    offset: if *base < 0 { -1 } else { base + index as i64 },
                    timestamp: if *append_time >= 0 { *append_time } else { ts },
                }),
                Err(e) => Err(dup_error(e)),
            };
            let _ = tx.send(r);
        }
        let _ = self.done.result.set((result, Instant::now()));
        self.done.notify.notify_waiters();
    }
}

impl Drop for ProducerBatch {
    /// A batch dropped unanswered (its producer or runtime went away) still answers its
    /// records, so no delivery waits forever.
    fn drop(&mut self) {
        if self.done.result.get().is_none() {
            self.finish(Err(ClientError::Protocol("the producer stopped before the record was sent".into())));
        }
    }
}

fn compress(out: &mut BytesMut, records: &[u8], c: Compression, level: Option<i32>) -> anyhow::Result<()> {
    let copy = |tmp: &mut BytesMut| {
        tmp.put_slice(records);
        Ok(())
    };
    match c {
        Compression::Gzip => <Gzip as Compressor<BytesMut>>::compress(out, copy),
        Compression::Snappy => <Snappy as Compressor<BytesMut>>::compress(out, copy),
        Compression::Zstd => <Zstd as Compressor<BytesMut>>::compress(out, copy),
        Compression::Lz4 => {
            // Our own frame writer so the level can be chosen: kafka-protocol fixes level 4,
            // which is LZ4-HC and several times slower than the fast mode Kafka and
            // librdkafka use by default. No frame content checksum either (librdkafka writes
            // none): the batch CRC-32C already covers the bytes, and xxHash over every
            // byte was a quarter of the producer's CPU.
            let level = level.unwrap_or(0).clamp(0, 12) as u32;
            let mut enc = lz4::EncoderBuilder::new()
                .level(level)
                .block_mode(lz4::BlockMode::Independent)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .build(std::mem::take(out).writer())?;
            enc.write_all(records)?;
            let (w, r) = enc.finish();
            r?;
            *out = w.into_inner();
            Ok(())
        }
        Compression::None => {
            out.put_slice(records);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::RecordBatchDecoder;

    fn sample(codec: Compression) -> (ProducerBatch, Bytes) {
        let mut b = ProducerBatch::new("t".into(), 0, 1024);
        let h = vec![("h".to_string(), Some(Bytes::from_static(b"x"))), ("n".to_string(), None)];
        for i in 0..3i64 {
            let v = format!("v{i}");
            let r = RecordRef {
                timestamp: 1000 + i * 300,
                key: if i == 1 { None } else { Some(b"k") },
                value: Some(v.as_bytes()),
                headers: if i == 2 { &h } else { &[] },
            };
            let predicted = b.record_size(&r);
            assert!(b.fits(&r, b.size() + predicted) && !b.fits(&r, b.size() + predicted - 1));
            let before = b.size();
            drop(b.append(&r));
            assert_eq!(b.size() - before, predicted, "size prediction");
        }
        let sealed = b.seal(Codec { compression: codec, level: None, transactional: false }, -1, -1).unwrap();
        (b, sealed)
    }

    #[test]
    fn sealed_batches_decode_with_every_codec() {
        for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let (mut b, sealed) = sample(codec);
            // Resealing returns the very same bytes (retries keep sequences and CRC).
            assert_eq!(b.seal(Codec { compression: Compression::None, level: None, transactional: false }, 5, 5).unwrap(), sealed);
            let h = crate::broker::log::batch::validate(&sealed).unwrap();
            assert_eq!((h.record_count, h.last_offset_delta, h.compression()), (3, 2, codec as i16));
            assert_eq!((h.base_timestamp, h.max_timestamp), (1000, 1600));
            let mut bytes = sealed.clone();
            let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
            let r = &set.records;
            assert_eq!(r.len(), 3);
            assert_eq!(r[1].key, None);
            assert_eq!(r[2].value.as_deref(), Some(&b"v2"[..]));
            assert_eq!(r[2].timestamp, 1600);
            assert_eq!(r[2].headers.len(), 2);
            assert_eq!(r[2].headers.get(&kafka_protocol::protocol::StrBytes::from_static_str("n")).unwrap(), &None);
        }
    }

    #[tokio::test]
    async fn completion_reaches_every_delivery() {
        let mut b = ProducerBatch::new("t".into(), 3, 128);
        let r = RecordRef { timestamp: 7, key: None, value: Some(b"a"), headers: &[] };
        let d0 = b.append(&r);
        let d1 = b.append(&r);
        let (tx, rx) = oneshot::channel();
        b.append_forwarded(&r, tx);
        b.complete(Ok((40, -1)));
        assert_eq!(d0.wait().await.unwrap().offset, 40);
        let m = d1.wait().await.unwrap();
        assert_eq!((m.topic.as_str(), m.partition, m.offset, m.timestamp), ("t", 3, 41, 7));
        assert_eq!(rx.await.unwrap().unwrap().offset, 42);
    }
}
