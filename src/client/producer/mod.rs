//! The producer: per-partition batching (`batch.size`, `linger.ms`), compression,
//! acks 0/1/all, retries of retriable errors with metadata refresh, the Java
//! partitioner, and idempotence (InitProducerId + sequences) whenever the broker offers
//! it (on by default, as in Kafka 3+).

pub mod partitioner;

use super::cluster::Cluster;
use super::connection::ClientError;
use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub acks: i16,
    pub linger: Duration,
    pub batch_size: usize,
    pub compression: Compression,
    pub retries: u32,
    pub retry_backoff: Duration,
    /// None: on when the broker supports it (Kafka 3+ default); Some(true): required.
    pub idempotence: Option<bool>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: -1,
            linger: Duration::from_millis(5),
            batch_size: 16384,
            compression: Compression::None,
            retries: 5,
            retry_backoff: Duration::from_millis(100),
            idempotence: None,
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
        if let Some(v) = props.get("compression.type") {
            c.compression = parse_compression(v)?;
        }
        if let Some(v) = props.get("enable.idempotence") {
            c.idempotence = Some(v.trim().eq_ignore_ascii_case("true"));
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

type Ack = oneshot::Sender<Result<RecordMetadata, ClientError>>;

enum Msg {
    Send(ProducerRecord, Ack),
    Flush(oneshot::Sender<()>),
}

/// A handle to the producer's background sender.
pub struct Producer {
    tx: mpsc::UnboundedSender<Msg>,
    task: tokio::task::JoinHandle<()>,
}

/// A pending delivery; await it for the record's metadata.
pub struct Delivery(oneshot::Receiver<Result<RecordMetadata, ClientError>>);

impl Delivery {
    pub async fn wait(self) -> Result<RecordMetadata, ClientError> {
        self.0.await.unwrap_or_else(|_| Err(ClientError::Protocol("producer closed before the record was sent".into())))
    }
}

impl Producer {
    pub async fn new(cluster: Arc<Cluster>, cfg: ProducerConfig) -> Result<Producer, ClientError> {
        let idem = init_idempotence(&cluster, &cfg).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let sender = Sender {
            cluster,
            cfg,
            idem,
            batches: BTreeMap::new(),
            sticky: HashMap::new(),
            sequences: HashMap::new(),
            partition_counts: HashMap::new(),
        };
        let task = tokio::spawn(sender.run(rx));
        Ok(Producer { tx, task })
    }

    /// Queues a record; the returned delivery completes when the broker acknowledged it.
    pub fn send(&self, record: ProducerRecord) -> Delivery {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(Msg::Send(_, ack))) = self.tx.send(Msg::Send(record, tx)) {
            let _ = ack.send(Err(ClientError::Protocol("producer is closed".into())));
        }
        Delivery(rx)
    }

    /// Sends everything queued now and waits until it is acknowledged (or failed).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Flushes and stops the sender.
    pub async fn close(self) {
        self.flush().await;
        drop(self.tx);
        let _ = self.task.await;
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
            let req =
                InitProducerIdRequest::default().with_transaction_timeout_ms(-1).with_producer_id(ProducerId(-1)).with_producer_epoch(-1);
            let resp = cluster.send(None, &req).await?;
            if resp.error_code != 0 {
                return Err(ClientError::kafka(resp.error_code));
            }
            Ok(Some((resp.producer_id.0, resp.producer_epoch)))
        }
        Err(ClientError::Unsupported(_)) if cfg.idempotence.is_none() => Ok(None),
        Err(e) => Err(e),
    }
}

type TopicPartition = (String, i32);
/// (error code, base offset, log append time, error message) from a Produce response.
type PartitionResult = (i16, i64, i64, Option<String>);

struct Pending {
    record: ProducerRecord,
    timestamp: i64,
    ack: Ack,
}

struct Batch {
    records: Vec<Pending>,
    bytes: usize,
    created: Instant,
    attempts: u32,
}

struct Sender {
    cluster: Arc<Cluster>,
    cfg: ProducerConfig,
    idem: Option<(i64, i16)>,
    batches: BTreeMap<(String, i32), Batch>,
    sticky: HashMap<String, i32>,
    sequences: HashMap<(String, i32), i32>,
    partition_counts: HashMap<String, i32>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Sender {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        let mut flush_waiters: Vec<oneshot::Sender<()>> = Vec::new();
        loop {
            let deadline = self.batches.values().map(|b| b.created + self.cfg.linger).min();
            let msg = match deadline {
                Some(d) => tokio::select! {
                    m = rx.recv() => m.map(Some),
                    _ = tokio::time::sleep_until(d.into()) => Some(None),
                },
                None => rx.recv().await.map(Some),
            };
            let mut flush_all = false;
            let closed = msg.is_none();
            let mut full = false;
            match msg {
                None => flush_all = true,
                Some(Some(Msg::Send(r, ack))) => full = self.append(r, ack).await,
                Some(Some(Msg::Flush(w))) => {
                    flush_waiters.push(w);
                    flush_all = true;
                }
                Some(None) => {}
            }
            // Take whatever else is already queued before sending (bigger batches), until a
            // batch reaches batch.size.
            while !flush_all && !full {
                match rx.try_recv() {
                    Ok(Msg::Send(r, ack)) => full = self.append(r, ack).await,
                    Ok(Msg::Flush(w)) => {
                        flush_waiters.push(w);
                        flush_all = true;
                    }
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            let ready: Vec<(String, i32)> = self
                .batches
                .iter()
                .filter(|(_, b)| flush_all || b.bytes >= self.cfg.batch_size || now >= b.created + self.cfg.linger)
                .map(|(k, _)| k.clone())
                .collect();
            if !ready.is_empty() {
                self.send_ready(ready).await;
            }
            if flush_all && self.batches.is_empty() {
                for w in flush_waiters.drain(..) {
                    let _ = w.send(());
                }
            }
            if closed && self.batches.is_empty() {
                return;
            }
        }
    }

    async fn partition_count(&mut self, topic: &str) -> Result<i32, ClientError> {
        // Hot path: a cached count (metadata refreshes on retriable errors clear it).
        if let Some(n) = self.partition_counts.get(topic) {
            return Ok(*n);
        }
        for attempt in 0..10 {
            if let Some(t) = self.cluster.topic(topic)
                && !t.partitions.is_empty()
            {
                self.partition_counts.insert(topic.to_string(), t.partitions.len() as i32);
                return Ok(t.partitions.len() as i32);
            }
            self.cluster.refresh_with(Some(&[topic.to_string()]), true).await?;
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
        }
        Err(ClientError::kafka_msg(ResponseError::UnknownTopicOrPartition.code(), Some(&format!("Topic {topic} not present in metadata"))))
    }

    /// Adds a record to its partition's batch; true when that batch reached batch.size.
    async fn append(&mut self, record: ProducerRecord, ack: Ack) -> bool {
        let count = match self.partition_count(&record.topic).await {
            Ok(n) => n,
            Err(e) => {
                let _ = ack.send(Err(e));
                return false;
            }
        };
        let partition = match (record.partition, &record.key) {
            (Some(p), _) if p >= count || p < 0 => {
                let msg = format!("Invalid partition given with record: {p} is not in the range [0...{count}).");
                let _ = ack.send(Err(ClientError::kafka_msg(ResponseError::UnknownTopicOrPartition.code(), Some(&msg))));
                return false;
            }
            (Some(p), _) => p,
            (None, Some(k)) => partitioner::partition_for_key(k, count),
            (None, None) => *self.sticky.entry(record.topic.clone()).or_insert_with(|| rand::random_range(0..count)),
        };
        let size = record.key.as_ref().map_or(0, |k| k.len()) + record.value.as_ref().map_or(0, |v| v.len()) + 16;
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let key = (record.topic.clone(), partition);
        let b = self.batches.entry(key).or_insert_with(|| Batch { records: Vec::new(), bytes: 0, created: Instant::now(), attempts: 0 });
        b.records.push(Pending { record, timestamp, ack });
        b.bytes += size;
        b.bytes >= self.cfg.batch_size
    }

    fn encode(&mut self, key: &(String, i32), batch: &Batch) -> Bytes {
        let (pid, epoch, base_seq) = match self.idem {
            Some((pid, epoch)) => {
                let seq = self.sequences.entry(key.clone()).or_insert(0);
                let base = *seq;
                if batch.attempts == 0 {
                    *seq = seq.wrapping_add(batch.records.len() as i32);
                }
                (pid, epoch, Some(base))
            }
            None => (-1, -1, None),
        };
        let records: Vec<Record> = batch
            .records
            .iter()
            .enumerate()
            .map(|(i, p)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: pid,
                producer_epoch: epoch,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: match base_seq {
                    Some(b) => b.wrapping_add(i as i32),
                    None => i as i32 - 1,
                },
                timestamp: p.timestamp,
                key: p.record.key.clone(),
                value: p.record.value.clone(),
                headers: p.record.headers.iter().map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone())).collect(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression: self.cfg.compression })
            .expect("encoding records into a batch cannot fail");
        buf.freeze()
    }

    /// Sends the ready batches, one Produce request per leader; retriable failures are
    /// put back (after a metadata refresh) until `retries` is exhausted.
    async fn send_ready(&mut self, ready: Vec<(String, i32)>) {
        let mut by_leader: BTreeMap<i32, Vec<(TopicPartition, Batch)>> = BTreeMap::new();
        for key in ready {
            let Some(batch) = self.batches.remove(&key) else { continue };
            if batch.records.is_empty() {
                continue;
            }
            // A sent batch ends the sticky partition for keyless records.
            if self.sticky.get(&key.0) == Some(&key.1) {
                self.sticky.remove(&key.0);
            }
            match self.cluster.leader(&key.0, key.1).await {
                Ok(l) => by_leader.entry(l).or_default().push((key, batch)),
                Err(e) => self.retry_or_fail(key, batch, e),
            }
        }
        for (leader, batches) in by_leader {
            let version = self.cluster.version_for::<ProduceRequest>(Some(leader)).await.unwrap_or(9);
            let mut topics: BTreeMap<String, Vec<produce_request::PartitionProduceData>> = BTreeMap::new();
            for (key, batch) in &batches {
                let data = self.encode(key, batch);
                topics
                    .entry(key.0.clone())
                    .or_default()
                    .push(produce_request::PartitionProduceData::default().with_index(key.1).with_records(Some(data)));
            }
            let topic_data = topics
                .into_iter()
                .map(|(t, parts)| {
                    let d = produce_request::TopicProduceData::default().with_partition_data(parts);
                    if version >= 13 {
                        d.with_topic_id(self.cluster.topic(&t).map(|m| m.id).unwrap_or_default())
                    } else {
                        d.with_name(TopicName(StrBytes::from_string(t)))
                    }
                })
                .collect();
            let req = ProduceRequest::default().with_acks(self.cfg.acks).with_timeout_ms(30_000).with_topic_data(topic_data);
            if self.cfg.acks == 0 {
                let sent = self.cluster.send_no_response(leader, &req).await;
                for (key, batch) in batches {
                    for p in batch.records {
                        let r = sent.as_ref().map_err(|e| ClientError::Protocol(e.to_string()));
                        let _ = p.ack.send(r.map(|_| RecordMetadata {
                            topic: key.0.clone(),
                            partition: key.1,
                            offset: -1,
                            timestamp: p.timestamp,
                        }));
                    }
                }
                continue;
            }
            match self.cluster.send(Some(leader), &req).await {
                Err(e) => {
                    for (key, batch) in batches {
                        self.retry_or_fail(key, batch, ClientError::Protocol(e.to_string()));
                    }
                }
                Ok(resp) => {
                    let mut results: HashMap<TopicPartition, PartitionResult> = HashMap::new();
                    for t in resp.responses {
                        let name = if version >= 13 {
                            self.cluster.metadata().topics.values().find(|m| m.id == t.topic_id).map(|m| m.name.clone()).unwrap_or_default()
                        } else {
                            t.name.0.to_string()
                        };
                        for p in t.partition_responses {
                            results.insert(
                                (name.clone(), p.index),
                                (p.error_code, p.base_offset, p.log_append_time_ms, p.error_message.map(|m| m.to_string())),
                            );
                        }
                    }
                    for (key, batch) in batches {
                        match results.remove(&key) {
                            Some((0, base, log_append_time, _)) => {
                                for (i, p) in batch.records.into_iter().enumerate() {
                                    let ts = if log_append_time >= 0 { log_append_time } else { p.timestamp };
                                    let _ = p.ack.send(Ok(RecordMetadata {
                                        topic: key.0.clone(),
                                        partition: key.1,
                                        offset: base + i as i64,
                                        timestamp: ts,
                                    }));
                                }
                            }
                            Some((code, _, _, msg)) => self.retry_or_fail(key, batch, ClientError::kafka_msg(code, msg.as_deref())),
                            None => {
                                self.retry_or_fail(key, batch, ClientError::Protocol("partition missing from the Produce response".into()))
                            }
                        }
                    }
                }
            }
        }
    }

    fn retry_or_fail(&mut self, key: (String, i32), mut batch: Batch, err: ClientError) {
        let retriable = match err.code() {
            Some(c) => ResponseError::try_from_code(c).is_some_and(|e| e.is_retriable()),
            None => matches!(err, ClientError::Io(_) | ClientError::Timeout(_) | ClientError::Protocol(_)),
        };
        if retriable && batch.attempts < self.cfg.retries {
            batch.attempts += 1;
            batch.created = Instant::now() + self.cfg.retry_backoff;
            // Leaders or partition counts may have changed: forget cached metadata.
            self.partition_counts.remove(&key.0);
            let cluster = self.cluster.clone();
            let topic = key.0.clone();
            tokio::spawn(async move {
                let _ = cluster.refresh(Some(&[topic])).await;
            });
            self.batches.insert(key, batch);
            return;
        }
        for p in batch.records {
            let _ = p.ack.send(Err(match &err {
                ClientError::Kafka { code, message } => ClientError::Kafka { code: *code, message: message.clone() },
                other => ClientError::Protocol(other.to_string()),
            }));
        }
    }
}
