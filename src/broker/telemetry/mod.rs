//! KIP-714 client telemetry: Kafka's ClientMetricsManager with a built-in receiver. A client
//! asks which metrics to push (GetTelemetrySubscriptions: the subscriptions in the metadata
//! image that match it), then pushes them every interval (PushTelemetry: rate-limited,
//! size-checked, decompressed and decoded from OTLP); the latest values are kept per client
//! instance and rendered on `/metrics`. Client instances are forgotten after
//! max(60 s, 3 × their push interval) without a request, with their series.

pub mod otlp;
pub mod subscription;

use crate::broker::metadata::MetadataImage;
use kafka_protocol::error::ResponseError as E;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subscription::{ClientInfo, Subscription};
use uuid::Uuid;

/// Kafka's broker accepts these for PushTelemetry, in its order of preference.
pub const ACCEPTED_COMPRESSION: [i8; 4] = [4, 3, 1, 2];
/// Kafka's cap on cached client instances (16k active clients per broker).
const MAX_INSTANCES: usize = 16_384;
const MIN_EXPIRY: Duration = Duration::from_secs(60);
/// Series kept for /metrics across all clients: beyond it new series are dropped.
const MAX_SERIES: usize = 100_000;
/// A pushed payload may inflate to at most this many bytes.
const MAX_INFLATED: u64 = 32 << 20;

/// What GetTelemetrySubscriptions answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub instance_id: Uuid,
    pub subscription_id: i32,
    pub metrics: Vec<String>,
    pub interval_ms: i32,
}

struct Instance {
    info: ClientInfo,
    /// The subscriptions' fingerprint this instance was evaluated against.
    subs_key: u64,
    subscription_id: i32,
    metrics: Vec<String>,
    interval_ms: i32,
    last_get: Option<Instant>,
    last_push: Option<Instant>,
    terminating: bool,
    last_error: i16,
    seen: Instant,
}

impl Instance {
    fn expiry(&self) -> Duration {
        MIN_EXPIRY.max(Duration::from_millis(self.interval_ms as u64 * 3))
    }

    fn due(last: Option<Instant>, now: Instant, interval_ms: i32) -> bool {
        last.is_none_or(|t| now.duration_since(t) >= Duration::from_millis(interval_ms as u64))
    }

    /// A GetTelemetrySubscriptions is accepted once per push interval after the last request.
    fn accept_get(&mut self, now: Instant) -> bool {
        let last = self.last_get.max(self.last_push);
        let ok = Self::due(last, now, self.interval_ms);
        if ok {
            self.last_get = Some(now);
        }
        ok
    }

    /// A push right after a GetTelemetrySubscriptions is accepted at once (clients jitter the
    /// first push between 0.5 and 1.5 intervals); later ones once per interval.
    fn accept_push(&mut self, now: Instant) -> bool {
        let ok = self.last_get > self.last_push || Self::due(self.last_push, now, self.interval_ms);
        if ok {
            self.last_push = Some(now);
        }
        ok
    }
}

/// One exported series: (family name, instance, attribute labels).
type SeriesKey = (String, Uuid, Vec<(String, String)>);

#[derive(Default)]
struct Inner {
    instances: HashMap<Uuid, Instance>,
    subs_key: u64,
    subs: Vec<Subscription>,
    series: BTreeMap<SeriesKey, (otlp::Kind, f64)>,
    dropped_series: u64,
    last_sweep: Option<Instant>,
}

pub struct ClientMetricsManager {
    max_bytes: i32,
    inner: Mutex<Inner>,
}

/// Java's Uuid.hashCode, so a subscription id is the same on every broker.
fn uuid_hash(id: Uuid) -> i32 {
    let (hi, lo) = id.as_u64_pair();
    let h = hi ^ lo;
    ((h >> 32) as i32) ^ (h as i32)
}

/// Kafka's computeSubscriptionId: a CRC-32C of the metrics and interval, mixed with the
/// instance id. Deterministic, so a client that asked one broker may push to another.
fn subscription_id(metrics: &[String], interval_ms: i32, id: Uuid) -> i32 {
    let text = format!("[{}]{interval_ms}", metrics.join(", "));
    (crc32c::crc32c(text.as_bytes()) as i32) ^ uuid_hash(id)
}

fn fingerprint(image: &MetadataImage) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    image.client_metrics.hash(&mut h);
    h.finish()
}

impl Inner {
    fn refresh_subscriptions(&mut self, image: &MetadataImage) {
        let key = fingerprint(image);
        if key != self.subs_key {
            self.subs = subscription::all(image);
            self.subs_key = key;
        }
    }

    /// Kafka's createClientInstance: the union of the matching subscriptions' metrics ("*"
    /// alone when one asks for all) at the smallest of their intervals.
    fn evaluate(&self, id: Uuid, info: ClientInfo, now: Instant) -> Instance {
        let mut metrics: Vec<String> = Vec::new();
        let mut interval_ms = subscription::DEFAULT_INTERVAL_MS;
        for s in self.subs.iter().filter(|s| info.matches(s)) {
            metrics.extend(s.metrics.iter().cloned());
            interval_ms = interval_ms.min(s.interval_ms);
        }
        metrics.sort();
        metrics.dedup();
        if metrics.iter().any(|m| m == "*") {
            metrics = vec!["*".to_string()];
        }
        Instance {
            subscription_id: subscription_id(&metrics, interval_ms, id),
            info,
            subs_key: self.subs_key,
            metrics,
            interval_ms,
            last_get: None,
            last_push: None,
            terminating: false,
            last_error: 0,
            seen: now,
        }
    }

    /// The cached instance, re-evaluated when the subscriptions changed since.
    fn instance(&mut self, id: Uuid, mut info: ClientInfo, now: Instant) -> &mut Instance {
        self.sweep(now);
        let stale = self.instances.get(&id).is_none_or(|i| i.subs_key != self.subs_key);
        if stale {
            if self.instances.len() >= MAX_INSTANCES && !self.instances.contains_key(&id) {
                let oldest = self.instances.iter().min_by_key(|(_, i)| i.seen).map(|(k, _)| *k);
                if let Some(k) = oldest {
                    self.forget(k);
                }
            }
            // Kafka's form (Uuid.toString: base64), as clients print it and patterns match it.
            info.instance_id = crate::client::admin_quorum::kafka_uuid(&id);
            let fresh = self.evaluate(id, info, now);
            self.instances.insert(id, fresh);
        }
        let i = self.instances.get_mut(&id).expect("inserted above");
        i.seen = now;
        i
    }

    fn forget(&mut self, id: Uuid) {
        self.instances.remove(&id);
        self.series.retain(|(_, owner, _), _| *owner != id);
    }

    fn sweep(&mut self, now: Instant) {
        if self.last_sweep.is_some_and(|t| now.duration_since(t) < Duration::from_secs(5)) {
            return;
        }
        self.last_sweep = Some(now);
        let expired: Vec<Uuid> = self.instances.iter().filter(|(_, i)| now.duration_since(i.seen) > i.expiry()).map(|(k, _)| *k).collect();
        for id in expired {
            self.forget(id);
        }
    }

    fn record(&mut self, id: Uuid, points: Vec<otlp::Point>) {
        for p in points {
            let family = family_name(&p.name, p.kind);
            let mut labels: Vec<(String, String)> =
                p.attributes.into_iter().map(|(k, v)| (label_name(&k), v)).filter(|(k, _)| !CLIENT_LABELS.contains(&k.as_str())).collect();
            labels.sort();
            labels.dedup_by(|a, b| a.0 == b.0);
            let key = (family, id, labels);
            let full = self.series.len() >= MAX_SERIES;
            match self.series.get_mut(&key) {
                Some((kind, v)) if *kind == p.kind => *v = if p.delta { *v + p.value } else { p.value },
                Some(_) => {}
                None if full => self.dropped_series += 1,
                None => {
                    self.series.insert(key, (p.kind, p.value));
                }
            }
        }
    }
}

/// The labels every client series carries (from the client's instance, not its payload).
const CLIENT_LABELS: [&str; 4] = ["client_instance_id", "client_id", "client_software_name", "client_software_version"];

fn sanitize(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// An OTLP metric name as a Prometheus family (`org.apache.kafka.producer.record.send.total`
/// → `org_apache_kafka_producer_record_send`, a counter whose samples end in `_total`).
fn family_name(name: &str, kind: otlp::Kind) -> String {
    let s = sanitize(name);
    match kind {
        otlp::Kind::Counter => s.strip_suffix("_total").map(str::to_string).unwrap_or(s),
        otlp::Kind::Gauge => s,
    }
}

fn label_name(key: &str) -> String {
    sanitize(key).trim_start_matches("__").to_string()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A refused request: (error code, message).
pub type Refusal = (i16, String);

/// A PushTelemetry request's fields.
#[derive(Debug, Clone, Copy)]
pub struct Push<'a> {
    pub instance_id: Uuid,
    pub subscription_id: i32,
    pub terminating: bool,
    pub compression: i8,
    pub payload: &'a [u8],
}

impl ClientMetricsManager {
    pub fn new(max_bytes: i32) -> ClientMetricsManager {
        ClientMetricsManager { max_bytes, inner: Mutex::new(Inner::default()) }
    }

    pub fn max_bytes(&self) -> i32 {
        self.max_bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// GetTelemetrySubscriptions: a zero id gets a new one; a request sooner than the push
    /// interval after the last one is THROTTLING_QUOTA_EXCEEDED, unless the last push was
    /// refused for its subscription id or compression (the client must learn the new one).
    pub fn get_subscriptions(&self, image: &MetadataImage, requested: Uuid, info: ClientInfo) -> Result<Answer, Refusal> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.refresh_subscriptions(image);
        let id = if requested.is_nil() {
            let mut id = Uuid::new_v4();
            while inner.instances.contains_key(&id) {
                id = Uuid::new_v4();
            }
            id
        } else {
            requested
        };
        let i = inner.instance(id, info, now);
        let relearn = [E::UnknownSubscriptionId.code(), E::UnsupportedCompressionType.code()].contains(&i.last_error);
        if !i.accept_get(now) && !relearn {
            return Err((
                E::ThrottlingQuotaExceeded.code(),
                format!("Request from the client [{id}] arrived before the next push interval time"),
            ));
        }
        if relearn {
            i.last_get = Some(now);
        }
        i.last_error = 0;
        Ok(Answer { instance_id: id, subscription_id: i.subscription_id, metrics: i.metrics.clone(), interval_ms: i.interval_ms })
    }

    /// PushTelemetry, checked in Kafka's order (terminated, too early, subscription id,
    /// compression, size), then decoded and recorded; a payload that does not decode is
    /// INVALID_RECORD.
    pub fn push(&self, image: &MetadataImage, req: Push<'_>, info: ClientInfo) -> Result<(), Refusal> {
        let Push { instance_id: id, subscription_id, terminating, compression, payload } = req;
        if id.is_nil() || id == Uuid::max() {
            return Err((E::InvalidRequest.code(), format!("Invalid request from the client [{id}], invalid client instance id")));
        }
        let now = Instant::now();
        {
            let mut inner = self.lock();
            inner.refresh_subscriptions(image);
            let max_bytes = self.max_bytes;
            let i = inner.instance(id, info, now);
            let checked = (|| {
                if i.terminating {
                    return Err((
                        E::InvalidRequest.code(),
                        format!(
                            "Client [{id}] sent the previous request with state terminating to TRUE, can not accept any requests after that"
                        ),
                    ));
                }
                if !i.accept_push(now) && !terminating {
                    return Err((
                        E::ThrottlingQuotaExceeded.code(),
                        format!("Request from the client [{id}] arrived before the next push interval time"),
                    ));
                }
                if subscription_id != i.subscription_id {
                    return Err((E::UnknownSubscriptionId.code(), format!("Unknown client subscription id for the client [{id}]")));
                }
                if !(0..=4).contains(&compression) {
                    return Err((
                        E::UnsupportedCompressionType.code(),
                        format!("Unknown compression type [{compression}] is received in telemetry request from [{id}]"),
                    ));
                }
                if payload.len() > max_bytes as usize {
                    return Err((
                        E::TelemetryTooLarge.code(),
                        format!("Telemetry request from [{id}] is larger than the maximum allowed size [{max_bytes}]"),
                    ));
                }
                Ok(())
            })();
            i.terminating = terminating;
            if let Err((code, _)) = &checked {
                i.last_error = *code;
                return checked;
            }
        }
        // Decompressed and decoded without the lock: other clients' requests go on meanwhile.
        let decoded = if payload.is_empty() {
            Ok(Vec::new())
        } else {
            let inflated = match compression {
                0 => Ok(payload.to_vec()),
                c => crate::broker::log::validator::decompress_all(c as i16, payload, MAX_INFLATED).map_err(|e| e.to_string()),
            };
            inflated.and_then(|raw| otlp::decode(&raw).map_err(|e| e.to_string()))
        };
        let mut inner = self.lock();
        let code = if decoded.is_ok() { 0 } else { E::InvalidRecord.code() };
        if let Some(i) = inner.instances.get_mut(&id) {
            i.last_error = code;
        }
        match decoded {
            // The instance may have expired meanwhile: its points would belong to no one.
            Ok(points) if inner.instances.contains_key(&id) => {
                inner.record(id, points);
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err((E::InvalidRecord.code(), format!("The telemetry payload from [{id}] cannot be read: {e}"))),
        }
    }

    /// The pushed metrics in the OpenMetrics text format (no `# EOF`): one family per
    /// metric name, each series labelled with its client.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut inner = self.lock();
        inner.sweep(Instant::now());
        let mut out = String::new();
        let mut current: Option<(&str, otlp::Kind)> = None;
        for ((family, id, labels), (kind, value)) in &inner.series {
            match current {
                Some((f, k)) if f == family && k != *kind => continue,
                Some((f, _)) if f == family => {}
                _ => {
                    let t = if *kind == otlp::Kind::Counter { "counter" } else { "gauge" };
                    let _ = writeln!(out, "# TYPE {family} {t}");
                    current = Some((family, *kind));
                }
            }
            let Some(i) = inner.instances.get(id) else { continue };
            let client = [
                ("client_instance_id", i.info.instance_id.as_str()),
                ("client_id", &i.info.client_id),
                ("client_software_name", &i.info.software_name),
                ("client_software_version", &i.info.software_version),
            ];
            let all: Vec<String> = client
                .iter()
                .map(|(k, v)| (*k, *v))
                .chain(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let suffix = if *kind == otlp::Kind::Counter { "_total" } else { "" };
            let _ = writeln!(out, "{family}{suffix}{{{}}} {value}", all.join(","));
        }
        let _ = writeln!(out, "# TYPE rk_client_telemetry_instances gauge");
        let _ = writeln!(out, "rk_client_telemetry_instances {}", inner.instances.len());
        let _ = writeln!(out, "# TYPE rk_client_telemetry_dropped_series counter");
        let _ = writeln!(out, "rk_client_telemetry_dropped_series_total {}", inner.dropped_series);
        out
    }
}

#[cfg(test)]
mod tests;
