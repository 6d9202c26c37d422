//! The producer: per-partition batching (`batch.size`, `linger.ms`), compression,
//! acks 0/1/all, retries of retriable errors with metadata refresh, the Java
//! partitioner, and idempotence (InitProducerId + sequences) whenever the broker offers
//! it (on by default, as in Kafka 3+).

mod accumulator;
mod batch;
pub mod partitioner;
mod sender;
mod txn;

pub use txn::GroupMetadata;

use super::cluster::Cluster;
use super::connection::ClientError;
use accumulator::Accumulator;
use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};

#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub acks: i16,
    pub linger: Duration,
    pub batch_size: usize,
    pub compression: Compression,
    /// retries (Kafka's default: unlimited, bounded by delivery.timeout.ms).
    pub retries: u32,
    pub retry_backoff: Duration,
    /// retry.backoff.max.ms: retries back off exponentially up to this (KIP-580).
    pub retry_backoff_max: Duration,
    /// delivery.timeout.ms: how long a record may take from send() to its outcome,
    /// retries included.
    pub delivery_timeout: Duration,
    /// None: on when the broker supports it (Kafka 3+ default); Some(true): required.
    pub idempotence: Option<bool>,
    /// max.in.flight.requests.per.connection
    pub max_in_flight: usize,
    /// max.request.size: the largest Produce request (batches per request are capped by it).
    pub max_request_size: usize,
    pub request_timeout_ms: i32,
    /// compression.lz4.level (None: LZ4's fast mode, as Kafka and librdkafka default to).
    pub compression_level: Option<i32>,
    /// buffer.memory: how much unacknowledged data a caller should allow before waiting.
    pub buffer_memory: usize,
    /// transactional.id: makes the producer transactional (init_transactions() first).
    pub transactional_id: Option<String>,
    /// transaction.timeout.ms: how long the coordinator lets a transaction stay open.
    pub transaction_timeout_ms: i32,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: -1,
            linger: Duration::from_millis(5),
            batch_size: 16384,
            compression: Compression::None,
            retries: i32::MAX as u32,
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1000),
            delivery_timeout: Duration::from_millis(120_000),
            idempotence: None,
            max_in_flight: 5,
            max_request_size: 1 << 20,
            request_timeout_ms: 30_000,
            compression_level: None,
            buffer_memory: 32 << 20,
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        }
    }
}

pub fn parse_compression(s: &str) -> Result<Compression, String> {
    match s.to_ascii_lowercase().as_str() {
        "none" | "uncompressed" | "" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "snappy" => Ok(Compression::Snappy),
        "lz4" => Ok(Compression::Lz4),
        "zstd" => Ok(Compression::Zstd),
        other => {
            Err(format!("Invalid value {other} for configuration compression.type: String must be one of: none, gzip, snappy, lz4, zstd"))
        }
    }
}

impl ProducerConfig {
    /// Reads Kafka producer property names (acks, linger.ms, batch.size, …).
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<ProducerConfig, String> {
        let mut c = ProducerConfig::default();
        let num = |k: &str| -> Result<Option<u64>, String> {
            props.get(k).map(|v| v.trim().parse::<u64>().map_err(|_| format!("Invalid value {v} for configuration {k}"))).transpose()
        };
        if let Some(a) = props.get("acks") {
            c.acks = match a.trim() {
                "all" | "-1" => -1,
                "0" => 0,
                "1" => 1,
                other => return Err(format!("Invalid value {other} for configuration acks: String must be one of: all, -1, 0, 1")),
            };
        }
        if let Some(v) = num("linger.ms")? {
            c.linger = Duration::from_millis(v);
        }
        if let Some(v) = num("batch.size")? {
            c.batch_size = v as usize;
        }
        if let Some(v) = num("retries")? {
            c.retries = v.min(u32::MAX as u64) as u32;
        }
        if let Some(v) = num("retry.backoff.ms")? {
            c.retry_backoff = Duration::from_millis(v);
        }
        if let Some(v) = num("retry.backoff.max.ms")? {
            c.retry_backoff_max = Duration::from_millis(v);
        }
        if let Some(v) = props.get("compression.type") {
            c.compression = parse_compression(v)?;
        }
        if let Some(v) = num("max.in.flight.requests.per.connection")? {
            if v < 1 {
                return Err(format!("Invalid value {v} for configuration max.in.flight.requests.per.connection: Value must be at least 1"));
            }
            c.max_in_flight = v as usize;
        }
        if let Some(v) = num("max.request.size")? {
            c.max_request_size = v.max(1) as usize;
        }
        if let Some(v) = num("request.timeout.ms")? {
            c.request_timeout_ms = v.min(i32::MAX as u64) as i32;
        }
        if let Some(v) = num("buffer.memory")? {
            c.buffer_memory = v as usize;
        }
        if let Some(v) = num("compression.lz4.level")? {
            if !(1..=17).contains(&v) {
                return Err(format!("Invalid value {v} for configuration compression.lz4.level: Value must be in [1, 17]"));
            }
            c.compression_level = Some(v as i32);
        }
        if let Some(v) = props.get("enable.idempotence") {
            c.idempotence = Some(v.trim().eq_ignore_ascii_case("true"));
        }
        // As Java's: an explicit delivery.timeout.ms must cover linger.ms + request.timeout.ms;
        // the default grows to cover them.
        let floor = c.linger + Duration::from_millis(c.request_timeout_ms.max(0) as u64);
        match num("delivery.timeout.ms")? {
            Some(v) if Duration::from_millis(v) < floor => {
                return Err(format!(
                    "Invalid value {v} for configuration delivery.timeout.ms: should be equal to or larger than linger.ms + request.timeout.ms"
                ));
            }
            Some(v) => c.delivery_timeout = Duration::from_millis(v),
            None => c.delivery_timeout = c.delivery_timeout.max(floor),
        }
        if let Some(v) = props.get("transactional.id").filter(|v| !v.trim().is_empty()) {
            c.transactional_id = Some(v.trim().to_string());
        }
        if let Some(v) = num("transaction.timeout.ms")? {
            c.transaction_timeout_ms = v.min(i32::MAX as u64) as i32;
        }
        if c.transactional_id.is_some() {
            if c.idempotence == Some(false) {
                return Err("Cannot set a transactional.id without also enabling idempotence.".into());
            }
            c.idempotence = Some(true);
        }
        if c.idempotence == Some(true) && c.acks != -1 {
            return Err("Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence.".into());
        }
        if c.idempotence == Some(true) && c.max_in_flight > 5 {
            return Err("Must set max.in.flight.requests.per.connection to at most 5 when using the idempotent producer.".into());
        }
        Ok(c)
    }
}

/// A record to send.
#[derive(Debug, Clone, Default)]
pub struct ProducerRecord {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub timestamp: Option<i64>,
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: String,
    pub partition: i32,
    /// -1 with acks=0.
    pub offset: i64,
    pub timestamp: i64,
}

/// A pending delivery; await it for the record's metadata.
pub struct Delivery(DeliveryState);

enum DeliveryState {
    /// The usual case: one shared completion per batch.
    Batch {
        done: Arc<batch::BatchDone>,
        index: u32,
        timestamp: i64,
    },
    /// A record that waited for its topic's metadata.
    Single(oneshot::Receiver<Result<RecordMetadata, ClientError>>),
    Failed(ClientError),
}

impl Delivery {
    pub(crate) fn batch(done: Arc<batch::BatchDone>, index: u32, timestamp: i64) -> Delivery {
        Delivery(DeliveryState::Batch { done, index, timestamp })
    }
    pub(crate) fn single(rx: oneshot::Receiver<Result<RecordMetadata, ClientError>>) -> Delivery {
        Delivery(DeliveryState::Single(rx))
    }
    pub(crate) fn failed(e: ClientError) -> Delivery {
        Delivery(DeliveryState::Failed(e))
    }

    /// True once the outcome is known (waiting would not block).
    pub fn is_done(&self) -> bool {
        match &self.0 {
            DeliveryState::Batch { done, .. } => done.is_done(),
            DeliveryState::Single(rx) => !rx.is_empty() || rx.is_terminated(),
            DeliveryState::Failed(_) => true,
        }
    }

    pub async fn wait(self) -> Result<RecordMetadata, ClientError> {
        self.wait_timed().await.0
    }

    /// The outcome and when the broker's answer arrived (for latency measurements that
    /// must not depend on when the caller gets round to looking).
    pub async fn wait_timed(self) -> (Result<RecordMetadata, ClientError>, Instant) {
        match self.0 {
            DeliveryState::Batch { done, index, timestamp } => {
                let (r, at) = done.wait().await;
                let r = match r {
                    Ok((base, append_time)) => Ok(RecordMetadata {
                        topic: done.topic.to_string(),
                        partition: done.partition,
                        offset: if *base < 0 { -1 } else { base + index as i64 },
                        timestamp: if *append_time >= 0 { *append_time } else { timestamp },
                    }),
                    Err(e) => Err(batch::dup_error(e)),
                };
                (r, *at)
            }
            DeliveryState::Single(rx) => {
                let r = rx.await.unwrap_or_else(|_| Err(ClientError::Protocol("producer closed before the record was sent".into())));
                (r, Instant::now())
            }
            DeliveryState::Failed(e) => (Err(e), Instant::now()),
        }
    }

    /// Like `wait_timed` without building the metadata (the perf test's hot path).
    pub async fn acknowledged(self) -> (Result<(), ClientError>, Instant) {
        match self.0 {
            DeliveryState::Batch { done, .. } => {
                let (r, at) = done.wait().await;
                (r.as_ref().map(|_| ()).map_err(batch::dup_error), *at)
            }
            other => {
                let (r, at) = Delivery(other).wait_timed().await;
                (r.map(|_| ()), at)
            }
        }
    }
}

/// A handle to the producer: `send()` appends to the accumulator; a background sender
/// task ships batches.
pub struct Producer {
    shared: Arc<sender::Shared>,
    task: Option<tokio::task::JoinHandle<()>>,
    cluster: Arc<Cluster>,
}

impl Producer {
    pub async fn new(cluster: Arc<Cluster>, cfg: ProducerConfig) -> Result<Producer, ClientError> {
        // A transactional producer gets its id from init_transactions(); an idempotent one
        // here, as Java's does on its first send.
        let (txn, idem) = match &cfg.transactional_id {
            Some(id) => (Some(Arc::new(txn::TxnManager::new(id.clone(), cfg.transaction_timeout_ms))), None),
            None => (None, init_idempotence(&cluster, &cfg).await?),
        };
        let shared = Arc::new(sender::Shared { acc: Mutex::new(Accumulator::new(cfg.batch_size)), wake: Notify::new(), txn });
        let sender = sender::Sender::new(cluster.clone(), cfg, shared.clone(), idem);
        let task = tokio::spawn(sender.run());
        Ok(Producer { shared, task: Some(task), cluster })
    }

    /// Queues a record; the returned delivery completes when the broker acknowledged it.
    /// A transactional producer accepts records only inside a transaction.
    pub fn send(&self, record: ProducerRecord) -> Delivery {
        if let Some(t) = &self.shared.txn
            && let Err(e) = t.check_send()
        {
            return Delivery::failed(e);
        }
        let (d, wake) = self.shared.acc().append(record);
        if wake {
            self.shared.wake.notify_one();
        }
        d
    }

    fn txn(&self) -> Result<&txn::TxnManager, ClientError> {
        self.shared.txn.as_deref().ok_or_else(|| ClientError::Protocol("the producer has no transactional.id".into()))
    }

    /// Registers the transactional id with its coordinator: older producers with the
    /// same id are fenced and a transaction they left open is finished.
    pub async fn init_transactions(&self) -> Result<(), ClientError> {
        self.txn()?.init(&self.cluster).await
    }

    pub fn begin_transaction(&self) -> Result<(), ClientError> {
        self.txn()?.begin()
    }

    /// Adds a consumer group's offsets to the transaction (consume-transform-produce).
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &BTreeMap<(String, i32), i64>,
        group: &GroupMetadata,
    ) -> Result<(), ClientError> {
        self.txn()?.send_offsets(&self.cluster, offsets, group).await
    }

    /// Sends everything queued, then commits. Fails (and the transaction must be
    /// aborted) when any record of it could not be written.
    pub async fn commit_transaction(&self) -> Result<(), ClientError> {
        let t = self.txn()?;
        self.flush().await;
        t.check_commit()?;
        t.end(&self.cluster, true).await
    }

    /// Waits for what is in flight, then aborts: read_committed consumers never see the
    /// transaction's records.
    pub async fn abort_transaction(&self) -> Result<(), ClientError> {
        let t = self.txn()?;
        self.flush().await;
        t.end(&self.cluster, false).await
    }

    /// Sends everything queued now and waits until it is acknowledged (or failed).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        self.shared.acc().flush_waiters.push(tx);
        self.shared.wake.notify_one();
        let _ = rx.await;
    }

    /// Flushes and stops the sender.
    pub async fn close(mut self) {
        self.flush().await;
        self.shared.acc().closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Producer {
    /// Without close(): the sender still sends what is queued, then stops.
    fn drop(&mut self) {
        self.shared.acc().closed = true;
        self.shared.wake.notify_one();
    }
}

/// (producer id, epoch) when idempotence is on.
async fn init_idempotence(cluster: &Cluster, cfg: &ProducerConfig) -> Result<Option<(i64, i16)>, ClientError> {
    if cfg.idempotence == Some(false) || cfg.acks != -1 {
        if cfg.idempotence == Some(true) {
            return Err(ClientError::Protocol("enable.idempotence=true requires acks=all".into()));
        }
        return Ok(None);
    }
    match cluster.version_for::<InitProducerIdRequest>(None).await {
        Ok(_) => {
            let req = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(-1)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
            // As the Java client: retriable errors and timeouts (a broker waiting for its
            // next block of ids from a controller that is failing over) are tried again,
            // within delivery.timeout.ms.
            let deadline = std::time::Instant::now() + cfg.delivery_timeout;
            let mut backoff = cfg.retry_backoff;
            loop {
                let failure = match cluster.send(None, &req).await {
                    Ok(resp) if resp.error_code == 0 => return Ok(Some((resp.producer_id.0, resp.producer_epoch))),
                    Ok(resp) if txn::is_retriable(resp.error_code) => ClientError::kafka(resp.error_code),
                    Ok(resp) => return Err(ClientError::kafka(resp.error_code)),
                    Err(e @ (ClientError::Timeout(_) | ClientError::Io(_))) => e,
                    Err(e) => return Err(e),
                };
                if std::time::Instant::now() + backoff >= deadline {
                    return Err(failure);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(cfg.retry_backoff_max);
            }
        }
        Err(ClientError::Unsupported(_)) if cfg.idempotence.is_none() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn bad_in_flight_and_lz4_level_are_refused_with_kafkas_words() {
        let e = ProducerConfig::from_props(&props(&[("max.in.flight.requests.per.connection", "0")])).unwrap_err();
        assert!(e.contains("Value must be at least 1"), "{e}");
        let e = ProducerConfig::from_props(&props(&[("enable.idempotence", "true"), ("max.in.flight.requests.per.connection", "6")]))
            .unwrap_err();
        assert!(e.contains("at most 5"), "{e}");
        assert!(ProducerConfig::from_props(&props(&[("compression.lz4.level", "18")])).is_err());
        let c = ProducerConfig::from_props(&props(&[("max.in.flight.requests.per.connection", "2"), ("buffer.memory", "1024")])).unwrap();
        assert_eq!((c.max_in_flight, c.buffer_memory), (2, 1024));
    }
}
