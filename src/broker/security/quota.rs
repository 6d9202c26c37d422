//! Client quotas (Kafka's ClientQuotaManager, ClientRequestQuotaManager and
//! ControllerMutationQuotaManager): the quotas configured in the metadata image, resolved
//! per (user, client-id) with Kafka's precedence, rates measured over Kafka's sample windows
//! (a `Rate` of a windowed sum) or a token bucket (controller mutations), and the throttle
//! time that brings a client back under its quota.
//!
//! With no quota of a type configured, every call is one relaxed atomic load (fast path).

use crate::broker::metadata::publisher::MetadataListener;
use crate::broker::metadata::{MetadataDelta, MetadataImage, QuotaEntity};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The four client quota kinds, with their config key (Kafka's QuotaConfig names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaType {
    Produce,
    Fetch,
    Request,
    ControllerMutation,
}

impl QuotaType {
    pub const ALL: [QuotaType; 4] = [QuotaType::Produce, QuotaType::Fetch, QuotaType::Request, QuotaType::ControllerMutation];
    pub fn key(self) -> &'static str {
        match self {
            QuotaType::Produce => "producer_byte_rate",
            QuotaType::Fetch => "consumer_byte_rate",
            QuotaType::Request => "request_percentage",
            QuotaType::ControllerMutation => "controller_mutation_rate",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// An entity side: absent, the `<default>` entity, or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Side {
    Absent,
    Default,
    Name(String),
}

/// Which sensor a client's usage is recorded in (Kafka's quota metric tags: "" = not part
/// of the key). Clients with equal tags share one rate.
pub type Tags = (String, String);

/// The quotas of one type: (user side, client-id side) → bound.
pub type QuotaMap = HashMap<(Side, Side), f64>;

/// Which tags a matched level records under, from (user, client id).
type TagsOf = fn(&str, &str) -> Tags;

/// Kafka's precedence (DefaultQuotaCallback.quotaMetricTags and quotaLimit):
/// 1 user+client-id, 2 user+default client-id, 3 user, 4 default user+client-id,
/// 5 default user+default client-id, 6 default user, 7 client-id, 8 default client-id.
/// Returns the sensor tags and the bound, None when no quota applies.
pub fn resolve(quotas: &QuotaMap, user: &str, client_id: &str) -> Option<(Tags, f64)> {
    let (u, c) = (Side::Name(user.to_string()), Side::Name(client_id.to_string()));
    let get = |a: &Side, b: &Side| quotas.get(&(a.clone(), b.clone())).copied();
    let candidates: [(Side, Side, TagsOf); 8] = [
        (u.clone(), c.clone(), |u, c| (u.into(), c.into())),
        (u.clone(), Side::Default, |u, c| (u.into(), c.into())),
        (u.clone(), Side::Absent, |u, _| (u.into(), String::new())),
        (Side::Default, c.clone(), |u, c| (u.into(), c.into())),
        (Side::Default, Side::Default, |u, c| (u.into(), c.into())),
        (Side::Default, Side::Absent, |u, _| (u.into(), String::new())),
        (Side::Absent, c.clone(), |_, c| (String::new(), c.into())),
        (Side::Absent, Side::Default, |_, c| (String::new(), c.into())),
    ];
    candidates.iter().find_map(|(a, b, tags)| get(a, b).map(|q| (tags(user, client_id), q)))
}

/// The user/client-id quotas of one type in an image (ip entities are connection quotas).
pub fn quotas_of(image: &MetadataImage, t: QuotaType) -> QuotaMap {
    let mut out = QuotaMap::new();
    for (entity, values) in &image.client_quotas {
        if let (Some(v), Some(key)) = (values.get(t.key()), entity_sides(entity)) {
            out.insert(key, *v);
        }
    }
    out
}

fn entity_sides(entity: &QuotaEntity) -> Option<(Side, Side)> {
    let (mut user, mut client) = (Side::Absent, Side::Absent);
    for (ty, name) in entity {
        let side = name.as_ref().map_or(Side::Default, |n| Side::Name(n.clone()));
        match ty.as_str() {
            "user" => user = side,
            "client-id" => client = side,
            _ => return None,
        }
    }
    (user != Side::Absent || client != Side::Absent).then_some((user, client))
}

/// Sample windows of a rate (Kafka's MetricConfig: samples and time window).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub samples: usize,
    pub window_ms: i64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    value: f64,
    start_ms: i64,
    last_event_ms: i64,
}

/// Kafka's `Rate` over a `WindowedSum`: samples of `window_ms`, samples+1 kept (one
/// overlapping the monitored window), rate = sum / window size.
#[derive(Debug, Clone, Default)]
pub struct Rate {
    samples: Vec<Sample>,
    current: usize,
}

impl Rate {
    pub fn record(&mut self, w: Window, value: f64, now: i64) {
        if self.samples.is_empty() {
            self.samples.push(Sample { value: 0.0, start_ms: now, last_event_ms: now });
        }
        if now - self.samples[self.current].start_ms >= w.window_ms {
            self.current = (self.current + 1) % (w.samples + 1);
            let fresh = Sample { value: 0.0, start_ms: now, last_event_ms: now };
            if self.current >= self.samples.len() {
                self.samples.push(fresh);
            } else {
                self.samples[self.current] = fresh;
            }
        }
        let s = &mut self.samples[self.current];
        s.value += value;
        s.last_event_ms = now;
    }

    /// Samples without events within the monitored span start over (purgeObsoleteSamples).
    fn purge(&mut self, w: Window, now: i64) {
        let expire = w.samples as i64 * w.window_ms;
        for s in &mut self.samples {
            if now - s.last_event_ms >= expire {
                *s = Sample { value: 0.0, start_ms: now, last_event_ms: now };
            }
        }
    }

    /// The span the rate is measured over: from the oldest sample, but at least
    /// samples-1 full windows (so a young sensor does not report a huge rate), at least 1 ms.
    pub fn window_size(&mut self, w: Window, now: i64) -> i64 {
        self.purge(w, now);
        let oldest = self.samples.iter().map(|s| s.start_ms).min().unwrap_or(now);
        let mut elapsed = now - oldest;
        let full = elapsed / w.window_ms;
        let min_full = w.samples as i64 - 1;
        if full < min_full {
            elapsed += (min_full - full) * w.window_ms;
        }
        elapsed.max(1)
    }

    /// Units per second.
    pub fn measure(&mut self, w: Window, now: i64) -> f64 {
        let size = self.window_size(w, now);
        let sum: f64 = self.samples.iter().map(|s| s.value).sum();
        sum / (size as f64 / 1000.0)
    }
}

/// Kafka's ClientQuotaManager throttle time (QuotaUtils.throttleTime): how long until the
/// measured rate falls back to the quota, (observed - quota) / quota * window.
pub fn throttle_time(observed: f64, quota: f64, window_ms: i64) -> i64 {
    if quota <= 0.0 || observed <= quota {
        return 0;
    }
    ((observed - quota) / quota * window_ms as f64).round() as i64
}

/// Kafka's TokenBucket (controller mutations): `quota` tokens a second, at most
/// samples * window seconds worth; a record may take it below zero.
#[derive(Debug, Clone, Default)]
pub struct TokenBucket {
    tokens: f64,
    last_update_ms: i64,
}

impl TokenBucket {
    fn refill(&mut self, w: Window, quota: f64, now: i64) {
        let burst = w.samples as f64 * (w.window_ms as f64 / 1000.0) * quota;
        self.tokens = burst.min(self.tokens + quota * ((now - self.last_update_ms) as f64 / 1000.0));
        self.last_update_ms = now;
    }
    pub fn tokens(&mut self, w: Window, quota: f64, now: i64) -> f64 {
        self.refill(w, quota, now);
        self.tokens
    }
    pub fn take(&mut self, w: Window, quota: f64, permits: f64, now: i64) {
        self.refill(w, quota, now);
        let burst = w.samples as f64 * (w.window_ms as f64 / 1000.0) * quota;
        self.tokens = burst.min(self.tokens - permits);
    }
}

/// ControllerMutationQuotaManager.throttleTimeMs: time until the bucket is back to zero.
pub fn bucket_throttle_time(tokens: f64, quota: f64) -> i64 {
    if tokens >= 0.0 || quota <= 0.0 { 0 } else { (-tokens / quota * 1000.0).round() as i64 }
}

#[derive(Default)]
struct Sensor {
    rate: Rate,
    bucket: TokenBucket,
    last_used_ms: i64,
}

/// Sensors idle this long are dropped (Kafka's InactiveSensorExpirationTimeSeconds).
const SENSOR_EXPIRY_MS: i64 = 3_600_000;

#[derive(Default)]
struct PerType {
    quotas: QuotaMap,
    sensors: HashMap<Tags, Sensor>,
    last_purge_ms: i64,
}

/// The broker's client quota manager; a metadata listener, so quota changes apply at once.
pub struct ClientQuotaManager {
    enabled: [AtomicBool; 4],
    state: [Mutex<PerType>; 4],
    window: Window,
    controller_window: Window,
}

/// The outcome of a controller mutation check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// Recorded; the client should back off this long (0: not at all).
    Allowed(i64),
    /// Strict quota exceeded: refuse with THROTTLING_QUOTA_EXCEEDED, throttle this long.
    Refused(i64),
}

impl ClientQuotaManager {
    pub fn new(window: Window, controller_window: Window) -> ClientQuotaManager {
        ClientQuotaManager { enabled: Default::default(), state: Default::default(), window, controller_window }
    }

    /// Windows from the broker properties (quota.window.*, controller.quota.window.*).
    pub fn from_props(props: &std::collections::BTreeMap<String, String>) -> ClientQuotaManager {
        let get = |k: &str, d: i64| props.get(k).and_then(|v| v.trim().parse::<i64>().ok()).filter(|v| *v >= 1).unwrap_or(d);
        let w = |n: &str, s: &str| Window { samples: get(n, 11) as usize, window_ms: get(s, 1) * 1000 };
        ClientQuotaManager::new(
            w("quota.window.num", "quota.window.size.seconds"),
            w("controller.quota.window.num", "controller.quota.window.size.seconds"),
        )
    }

    pub fn window(&self) -> Window {
        self.window
    }

    /// True when some quota of this type is configured (the fast-path check).
    #[inline]
    pub fn enabled(&self, t: QuotaType) -> bool {
        self.enabled[t.index()].load(Ordering::Relaxed)
    }

    fn lock(&self, t: QuotaType) -> std::sync::MutexGuard<'_, PerType> {
        self.state[t.index()].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the quotas (from the image).
    pub fn update(&self, image: &MetadataImage) {
        for t in QuotaType::ALL {
            let quotas = quotas_of(image, t);
            let mut s = self.lock(t);
            self.enabled[t.index()].store(!quotas.is_empty(), Ordering::Relaxed);
            s.quotas = quotas;
        }
    }

    /// Records `value` for the client and returns the throttle time in ms (0: within quota).
    /// Kafka's recordAndGetThrottleTimeMs: record, then compare the rate with the quota.
    pub fn record(&self, t: QuotaType, user: &str, client_id: &str, value: f64, now: i64) -> i64 {
        if !self.enabled(t) {
            return 0;
        }
        let w = self.window;
        let mut s = self.lock(t);
        let Some((tags, quota)) = resolve(&s.quotas, user, client_id) else { return 0 };
        s.purge_idle(now);
        let sensor = s.sensors.entry(tags).or_default();
        sensor.last_used_ms = now;
        sensor.rate.record(w, value, now);
        let observed = sensor.rate.measure(w, now);
        let throttle = throttle_time(observed, quota, sensor.rate.window_size(w, now));
        // The request quota throttles for at most one window (ClientRequestQuotaManager).
        if t == QuotaType::Request { throttle.min(w.window_ms) } else { throttle }
    }

    /// Takes back a recorded value (a throttled fetch sends no data: unrecordQuotaSensor).
    pub fn unrecord(&self, t: QuotaType, user: &str, client_id: &str, value: f64, now: i64) {
        if !self.enabled(t) {
            return;
        }
        let w = self.window;
        let mut s = self.lock(t);
        if let Some((tags, _)) = resolve(&s.quotas, user, client_id)
            && let Some(sensor) = s.sensors.get_mut(&tags)
        {
            sensor.rate.record(w, -value, now);
        }
    }

    /// The most a client can take at once without being throttled for sure
    /// (getMaxValueInQuotaWindow: quota * (samples - 1) * window seconds); None: unlimited.
    pub fn max_value_in_window(&self, t: QuotaType, user: &str, client_id: &str) -> Option<f64> {
        if !self.enabled(t) {
            return None;
        }
        let s = self.lock(t);
        let w = self.window;
        resolve(&s.quotas, user, client_id).map(|(_, q)| q * (w.samples as f64 - 1.0) * (w.window_ms as f64 / 1000.0))
    }

    /// Records `permits` partition mutations. Strict (the newer request versions): refused
    /// when the bucket is already empty, else taken. Permissive: always taken, the client
    /// is only throttled.
    pub fn mutation(&self, user: &str, client_id: &str, permits: f64, strict: bool, now: i64) -> Mutation {
        let t = QuotaType::ControllerMutation;
        if !self.enabled(t) {
            return Mutation::Allowed(0);
        }
        let w = self.controller_window;
        let mut s = self.lock(t);
        let Some((tags, quota)) = resolve(&s.quotas, user, client_id) else { return Mutation::Allowed(0) };
        s.purge_idle(now);
        let sensor = s.sensors.entry(tags).or_default();
        sensor.last_used_ms = now;
        let before = sensor.bucket.tokens(w, quota, now);
        if strict && before < 0.0 {
            return Mutation::Refused(bucket_throttle_time(before, quota));
        }
        sensor.bucket.take(w, quota, permits, now);
        Mutation::Allowed(bucket_throttle_time(sensor.bucket.tokens(w, quota, now), quota))
    }

    /// Gives back permits taken for a mutation that did not happen.
    pub fn mutation_refund(&self, user: &str, client_id: &str, permits: f64, now: i64) {
        let t = QuotaType::ControllerMutation;
        if !self.enabled(t) {
            return;
        }
        let w = self.controller_window;
        let mut s = self.lock(t);
        if let Some((tags, quota)) = resolve(&s.quotas, user, client_id)
            && let Some(sensor) = s.sensors.get_mut(&tags)
        {
            sensor.bucket.take(w, quota, -permits, now);
        }
    }
}

impl PerType {
    fn purge_idle(&mut self, now: i64) {
        if now - self.last_purge_ms < 60_000 {
            return;
        }
        self.last_purge_ms = now;
        self.sensors.retain(|_, s| now - s.last_used_ms < SENSOR_EXPIRY_MS);
    }
}

impl MetadataListener for ClientQuotaManager {
    fn name(&self) -> &'static str {
        "client-quotas"
    }
    fn on_metadata_update(&self, delta: &MetadataDelta<'_>) {
        if delta.prev.client_quotas != delta.next.client_quotas || delta.records.is_empty() {
            self.update(delta.next);
        }
    }
}

#[cfg(test)]
mod tests;
