//! Client-metrics subscriptions (KIP-714's CLIENT_METRICS config resources): their three
//! configs, validated as Kafka's ClientMetricsConfigs does, and the matching of a client
//! against their `match` selectors.

use crate::broker::metadata::MetadataImage;
use kafka_protocol::error::ResponseError as E;
use std::collections::BTreeMap;

/// Metric name prefixes the subscription asks for ("*": all).
pub const METRICS: &str = "metrics";
/// How often a matching client pushes.
pub const INTERVAL_MS: &str = "interval.ms";
/// `selector=regex` pairs a client must all match (none: every client).
pub const MATCH: &str = "match";
/// The configs a subscription has, in Kafka's ConfigDef order.
pub const CONFIGS: [&str; 3] = [METRICS, INTERVAL_MS, MATCH];
pub const DEFAULT_INTERVAL_MS: i32 = 5 * 60 * 1000;
const MIN_INTERVAL_MS: i64 = 100;
const MAX_INTERVAL_MS: i64 = 3_600_000;
/// The client attributes a `match` pattern may name.
pub const SELECTORS: [&str; 6] =
    ["client_instance_id", "client_id", "client_software_name", "client_software_version", "client_source_address", "client_source_port"];

/// The list configs (metrics, match) take comma-separated values.
pub fn is_list(name: &str) -> bool {
    name == METRICS || name == MATCH
}

pub fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A validated subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub name: String,
    pub metrics: Vec<String>,
    pub interval_ms: i32,
    /// (selector, anchored pattern): Kafka matches the whole attribute (Matcher.matches).
    pub matchers: Vec<(String, regex::Regex)>,
}

/// A refused subscription: (error code, message).
pub type Refusal = (i16, String);

/// Kafka's ClientMetricsConfigs.validate and parse: unknown configs and out-of-range
/// intervals are INVALID_REQUEST, patterns that do not parse INVALID_CONFIG.
pub fn parse(name: &str, configs: &BTreeMap<String, String>) -> Result<Subscription, Refusal> {
    if name.is_empty() {
        return Err((E::InvalidRequest.code(), "Subscription name can't be empty".into()));
    }
    if let Some(k) = configs.keys().find(|k| !CONFIGS.contains(&k.as_str())) {
        return Err((E::InvalidRequest.code(), format!("Unknown client metrics configuration: {k}")));
    }
    let interval_ms = match configs.get(INTERVAL_MS) {
        None => DEFAULT_INTERVAL_MS,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&n) => n as i32,
            Ok(n) => {
                return Err((
                    E::InvalidRequest.code(),
                    format!("Invalid value {n} for {INTERVAL_MS}, interval must be between 100 and 3600000 (1 hour)"),
                ));
            }
            Err(_) => {
                return Err((
                    E::InvalidConfig.code(),
                    format!("Invalid value {v} for configuration {INTERVAL_MS}: Not a number of type INT"),
                ));
            }
        },
    };
    let mut matchers = Vec::new();
    for pattern in configs.get(MATCH).map(|v| split_list(v)).unwrap_or_default() {
        let illegal = || (E::InvalidConfig.code(), format!("Illegal client matching pattern: {pattern}"));
        let parts: Vec<&str> = pattern.split('=').collect();
        let [selector, re] = parts[..] else { return Err(illegal()) };
        let selector = selector.trim();
        if !SELECTORS.contains(&selector) {
            return Err(illegal());
        }
        let re = regex::Regex::new(&format!("^(?:{})$", re.trim())).map_err(|_| illegal())?;
        matchers.push((selector.to_string(), re));
    }
    let metrics = configs.get(METRICS).map(|v| split_list(v)).unwrap_or_default();
    Ok(Subscription { name: name.to_string(), metrics, interval_ms, matchers })
}

/// A subscription's configs as stored in the image.
pub fn configs_of(image: &MetadataImage, name: &str) -> BTreeMap<String, String> {
    image.client_metrics.iter().filter(|((s, _), _)| s == name).map(|((_, k), v)| (k.clone(), v.clone())).collect()
}

/// Every subscription in the image (each was validated when it was written).
pub fn all(image: &MetadataImage) -> Vec<Subscription> {
    let mut names: Vec<&String> = image.client_metrics.keys().map(|(s, _)| s).collect();
    names.dedup();
    names.into_iter().filter_map(|n| parse(n, &configs_of(image, n)).ok()).collect()
}

/// What a client is matched on (Kafka's ClientMetricsInstanceMetadata).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub instance_id: String,
    pub client_id: String,
    pub software_name: String,
    pub software_version: String,
    pub source_address: String,
    pub source_port: String,
}

impl ClientInfo {
    fn attribute(&self, selector: &str) -> &str {
        match selector {
            "client_instance_id" => &self.instance_id,
            "client_id" => &self.client_id,
            "client_software_name" => &self.software_name,
            "client_software_version" => &self.software_version,
            "client_source_address" => &self.source_address,
            _ => &self.source_port,
        }
    }

    pub fn matches(&self, s: &Subscription) -> bool {
        s.matchers.iter().all(|(selector, re)| re.is_match(self.attribute(selector)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn validation_follows_kafkas_codes() {
        let bad = |pairs: &[(&str, &str)]| parse("s", &cfg(pairs)).unwrap_err();
        assert_eq!(bad(&[("metric", "x")]).0, E::InvalidRequest.code());
        assert_eq!(bad(&[("interval.ms", "99")]).0, E::InvalidRequest.code());
        assert_eq!(bad(&[("interval.ms", "3600001")]).0, E::InvalidRequest.code());
        assert_eq!(bad(&[("interval.ms", "soon")]).0, E::InvalidConfig.code());
        assert_eq!(bad(&[("match", "client_id")]).0, E::InvalidConfig.code());
        assert_eq!(bad(&[("match", "client_id=a=b")]).0, E::InvalidConfig.code());
        assert_eq!(bad(&[("match", "client_rack=a")]).0, E::InvalidConfig.code());
        assert_eq!(bad(&[("match", "client_id=(")]).0, E::InvalidConfig.code());
        assert_eq!(parse("", &cfg(&[])).unwrap_err().0, E::InvalidRequest.code());
        let s =
            parse("s", &cfg(&[("metrics", "org.apache.kafka.producer., org.apache.kafka.consumer."), ("interval.ms", "1000")])).unwrap();
        assert_eq!(s.metrics, vec!["org.apache.kafka.producer.", "org.apache.kafka.consumer."]);
        assert_eq!(s.interval_ms, 1000);
        assert_eq!(parse("s", &cfg(&[])).unwrap().interval_ms, DEFAULT_INTERVAL_MS);
    }

    #[test]
    fn patterns_match_whole_attributes_and_all_must_hold() {
        let s = parse("s", &cfg(&[("match", "client_id=app-.*,client_software_name=apache-kafka-java")])).unwrap();
        let mut c = ClientInfo { client_id: "app-1".into(), software_name: "apache-kafka-java".into(), ..Default::default() };
        assert!(c.matches(&s));
        c.client_id = "my-app-1".into();
        assert!(!c.matches(&s), "the pattern is anchored at both ends");
        c.client_id = "app-2".into();
        c.software_name = "librdkafka".into();
        assert!(!c.matches(&s));
        assert!(c.matches(&parse("all", &cfg(&[("metrics", "*")])).unwrap()), "no pattern: every client");
    }
}
