//! Broker metrics in the Prometheus / OpenMetrics text format, named as the common JMX
//! exporter rules render Kafka's MBeans (`kafka.server:type=BrokerTopicMetrics,
//! name=MessagesInPerSec,topic=t` → `kafka_server_brokertopicmetrics_messagesin_total{topic="t"}`),
//! so existing Kafka dashboards work. Counters and histograms are updated on the request
//! path (atomics, no locks held across requests); gauges (partitions, log sizes, ISR state,
//! purgatory, groups and their lag, connections, the process) are read at scrape time.
//! `http.rs` serves them on `metrics.listener`.

pub mod http;

use crate::broker::Broker;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    pub topic: String,
}

/// API names are static: counting a request allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub request: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub request: &'static str,
    pub error: String,
}

fn latency_histogram() -> Histogram {
    // 0.05 ms .. ~1.6 s in doublings: request times in ms, as Kafka's TotalTimeMs.
    Histogram::new(exponential_buckets(0.05, 2.0, 16))
}

/// The metrics updated as requests are served.
pub struct BrokerMetrics {
    registry: Registry,
    messages_in: Family<TopicLabels, Counter>,
    bytes_in: Family<TopicLabels, Counter>,
    bytes_out: Family<TopicLabels, Counter>,
    produce_requests: Family<TopicLabels, Counter>,
    failed_produce: Family<TopicLabels, Counter>,
    fetch_requests: Family<TopicLabels, Counter>,
    failed_fetch: Family<TopicLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    total_time: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl Default for BrokerMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let m = BrokerMetrics {
            messages_in: Family::default(),
            bytes_in: Family::default(),
            bytes_out: Family::default(),
            produce_requests: Family::default(),
            failed_produce: Family::default(),
            fetch_requests: Family::default(),
            failed_fetch: Family::default(),
            requests: Family::default(),
            errors: Family::default(),
            total_time: Family::new_with_constructor(latency_histogram),
            registry: Registry::default(),
        };
        let topic = "kafka_server_brokertopicmetrics_";
        registry.register(format!("{topic}messagesin"), "Records appended, per topic (MessagesInPerSec)", m.messages_in.clone());
        registry.register(format!("{topic}bytesin"), "Bytes produced, per topic (BytesInPerSec)", m.bytes_in.clone());
        registry.register(
            format!("{topic}bytesout"),
            "Bytes fetched by consumers and followers, per topic (BytesOutPerSec)",
            m.bytes_out.clone(),
        );
        registry.register(format!("{topic}totalproducerequests"), "Produce requests, per topic partition", m.produce_requests.clone());
        registry.register(
            format!("{topic}failedproducerequests"),
            "Refused produce requests, per topic partition",
            m.failed_produce.clone(),
        );
        registry.register(format!("{topic}totalfetchrequests"), "Fetch requests, per topic partition", m.fetch_requests.clone());
        registry.register(format!("{topic}failedfetchrequests"), "Failed fetch requests, per topic partition", m.failed_fetch.clone());
        registry.register("kafka_network_requestmetrics_requests", "Requests served, per API (RequestsPerSec)", m.requests.clone());
        registry.register("kafka_network_requestmetrics_errors", "Error codes answered, per API (ErrorsPerSec)", m.errors.clone());
        registry.register(
            "kafka_network_requestmetrics_totaltimems",
            "Request handling time in ms, per API (TotalTimeMs)",
            m.total_time.clone(),
        );
        BrokerMetrics { registry, ..m }
    }
}

fn topic(t: &str) -> TopicLabels {
    TopicLabels { topic: t.to_string() }
}

/// Kafka's name for an error code (NONE, NOT_LEADER_OR_FOLLOWER, ...).
pub fn error_name(code: i16) -> String {
    if code == 0 {
        return "NONE".into();
    }
    match kafka_protocol::error::ResponseError::try_from_code(code) {
        Some(e) => {
            let camel = format!("{e:?}");
            let mut out = String::new();
            for (i, c) in camel.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            out
        }
        None => format!("UNKNOWN_{code}"),
    }
}

impl BrokerMetrics {
    /// One request of `api` answered in `ms`.
    pub fn request(&self, api: &'static str, ms: f64) {
        let l = RequestLabels { request: api };
        self.requests.get_or_create(&l).inc();
        self.total_time.get_or_create(&l).observe(ms);
    }

    /// An error code in an answer of `api` (per partition for Produce and Fetch).
    pub fn error(&self, api: &'static str, code: i16) {
        self.errors.get_or_create(&ErrorLabels { request: api, error: error_name(code) }).inc();
    }

    /// A partition's produce outcome: records and bytes appended, or the error.
    pub fn produced(&self, t: &str, result: Result<(i64, usize), i16>) {
        let l = topic(t);
        self.produce_requests.get_or_create(&l).inc();
        match result {
            Ok((records, bytes)) => {
                self.messages_in.get_or_create(&l).inc_by(records.max(0) as u64);
                self.bytes_in.get_or_create(&l).inc_by(bytes as u64);
            }
            Err(code) => {
                self.failed_produce.get_or_create(&l).inc();
                self.error("Produce", code);
            }
        }
    }

    /// A partition's fetch outcome: bytes sent, or the error.
    pub fn fetched(&self, t: &str, bytes: usize, code: i16) {
        let l = topic(t);
        self.fetch_requests.get_or_create(&l).inc();
        if code == 0 {
            self.bytes_out.get_or_create(&l).inc_by(bytes as u64);
        } else {
            self.failed_fetch.get_or_create(&l).inc();
            self.error("Fetch", code);
        }
    }

    /// The whole exposition: the request-path metrics, then the gauges read now.
    pub fn render(&self, broker: &Broker) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &gauges(broker));
        // KIP-714: what clients pushed, under their own metric names.
        out.push_str(&broker.telemetry.render());
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    topic: String,
    partition: String,
}

/// Kafka's MBean key is `delayedOperation`; the label keeps its spelling.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PurgatoryLabels {
    delayedOperation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LagLabels {
    consumergroup: String,
    topic: String,
    partition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

fn gauge(registry: &mut Registry, name: &str, help: &str, v: i64) {
    let g: Gauge = Gauge::default();
    g.set(v);
    registry.register(name, help, g);
}

/// Gauges read at scrape time from the replica manager, the metadata image, the group
/// coordinator, the connection quotas and /proc.
fn gauges(b: &Broker) -> Registry {
    let mut r = Registry::default();
    let partitions = b.replicas.all();
    let leaders: Vec<_> = partitions.iter().filter(|p| p.is_leader()).collect();
    let under = leaders.iter().filter(|p| p.state().isr.len() < p.state().replicas.len()).count();
    let under_min = leaders.iter().filter(|p| p.state().isr.len() < p.min_insync_replicas()).count();
    gauge(&mut r, "kafka_server_replicamanager_partitioncount", "Partitions hosted on this broker", partitions.len() as i64);
    gauge(&mut r, "kafka_server_replicamanager_leadercount", "Partitions this broker leads", leaders.len() as i64);
    gauge(
        &mut r,
        "kafka_server_replicamanager_underreplicatedpartitions",
        "Led partitions whose ISR is smaller than the replica set",
        under as i64,
    );
    gauge(&mut r, "kafka_cluster_partition_underminisr", "Led partitions whose ISR is below min.insync.replicas", under_min as i64);
    let img = b.image();
    let active = b.controller_id() == b.config.node_id;
    let offline = img.topics.values().flat_map(|t| t.partitions.values()).filter(|p| p.leader < 0).count();
    gauge(&mut r, "kafka_controller_kafkacontroller_activecontrollercount", "1 on the active controller", active as i64);
    gauge(
        &mut r,
        "kafka_controller_kafkacontroller_offlinepartitionscount",
        "Partitions without a leader (active controller)",
        if active { offline as i64 } else { 0 },
    );
    gauge(&mut r, "kafka_controller_kafkacontroller_globaltopiccount", "Topics in the cluster", img.topics.len() as i64);
    gauge(
        &mut r,
        "kafka_controller_kafkacontroller_globalpartitioncount",
        "Partitions in the cluster",
        img.topics.values().map(|t| t.partitions.len() as i64).sum(),
    );
    let size: Family<PartitionLabels, Gauge> = Family::default();
    let hw: Family<PartitionLabels, Gauge> = Family::default();
    for p in &partitions {
        let l = PartitionLabels { topic: p.topic.clone(), partition: p.index.to_string() };
        size.get_or_create(&l).set(p.size_bytes() as i64);
        hw.get_or_create(&l).set(p.high_watermark());
    }
    let flushes: Counter = Counter::default();
    flushes.inc_by(crate::broker::log::partition::LOG_FLUSHES.load(std::sync::atomic::Ordering::Relaxed));
    r.register("kafka_log_logflushstats_logflushrateandtimems", "Log flushes (fsyncs of partition data)", flushes);
    r.register("kafka_log_log_size", "Bytes of a partition's log on this broker", size);
    r.register("kafka_log_log_logendoffset", "A partition's high watermark on this broker", hw);
    let purgatory: Family<PurgatoryLabels, Gauge> = Family::default();
    for (op, n) in [("Produce", &b.replicas.waiting_produce), ("Fetch", &b.replicas.waiting_fetch)] {
        let l = PurgatoryLabels { delayedOperation: op.into() };
        purgatory.get_or_create(&l).set(n.load(std::sync::atomic::Ordering::Relaxed) as i64);
    }
    r.register("kafka_server_delayedoperationpurgatory_purgatorysize", "Requests waiting in the purgatory", purgatory);
    // Groups this broker coordinates, by state, and their lag on partitions led here.
    let groups = b.groups.list();
    let by_state: Family<StateLabels, Gauge> = Family::default();
    let lag: Family<LagLabels, Gauge> = Family::default();
    for g in &groups {
        let id = &g.id;
        by_state.get_or_create(&StateLabels { state: g.state.to_string() }).inc();
        for ((t, p), committed) in b.groups.fetch_offsets(id, None).unwrap_or_default() {
            let (Some(c), Some(part)) = (committed, b.replicas.get(&t, p)) else { continue };
            if part.is_leader() {
                let l = LagLabels { consumergroup: id.clone(), topic: t, partition: p.to_string() };
                lag.get_or_create(&l).set((part.high_watermark() - c.offset).max(0));
            }
        }
    }
    gauge(&mut r, "kafka_coordinator_group_groupmetadatamanager_numgroups", "Groups this broker coordinates", groups.len() as i64);
    r.register("kafka_coordinator_group_groupmetadatamanager_numgroups_state", "Groups this broker coordinates, by state", by_state);
    r.register("kafka_consumergroup_lag", "High watermark minus committed offset (kafka_exporter's name)", lag);
    gauge(&mut r, "kafka_server_socket_server_metrics_connection_count", "Open client connections", b.quotas.connections() as i64);
    process(&mut r);
    r
}

/// The standard process metrics from /proc/self (Linux).
fn process(r: &mut Registry) {
    let ticks = 100.0; // USER_HZ on Linux
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r)
    {
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // Fields after the command: state is 0, utime 11, stime 12, rss 21 (pages).
        let cpu: Counter<f64, std::sync::atomic::AtomicU64> = Counter::default();
        cpu.inc_by((num(11) + num(12)) / ticks);
        r.register("process_cpu_seconds", "CPU time of the broker process in seconds", cpu);
        gauge(r, "process_resident_memory_bytes", "Resident memory of the broker process", (num(21) * 4096.0) as i64);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge(r, "process_open_fds", "Open file descriptors", fds.count() as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(error_name(0), "NONE");
        assert_eq!(error_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(error_name(29), "TOPIC_AUTHORIZATION_FAILED");
    }

    #[test]
    fn request_path_metrics_render_with_kafka_names() {
        let m = BrokerMetrics::default();
        m.produced("orders", Ok((10, 1000)));
        m.produced("orders", Err(6));
        m.request("Produce", 0.7);
        let mut out = String::new();
        prometheus_client::encoding::text::encode_registry(&mut out, &m.registry).unwrap();
        assert!(out.contains("kafka_server_brokertopicmetrics_messagesin_total{topic=\"orders\"} 10"), "{out}");
        assert!(out.contains("kafka_server_brokertopicmetrics_bytesin_total{topic=\"orders\"} 1000"), "{out}");
        assert!(out.contains("kafka_network_requestmetrics_errors_total{request=\"Produce\",error=\"NOT_LEADER_OR_FOLLOWER\"} 1"), "{out}");
        assert!(out.contains("kafka_network_requestmetrics_totaltimems_count{request=\"Produce\"} 1"), "{out}");
    }
}
