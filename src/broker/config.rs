//! Broker configuration: server.properties-compatible keys (Kafka names are the source of
//! truth), defaults, `--override key=value`, validation with messages naming the key, and
//! warnings for keys rk does not know.

use crate::broker::topic_config::{self, TOPIC_CONFIGS};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Broker keys rk acts on, with their defaults.
pub const BROKER_KEYS: &[(&str, &str)] = &[
    ("listeners", "PLAINTEXT://127.0.0.1:9092"),
    ("advertised.listeners", ""),
    ("log.dirs", ""),
    ("node.id", "1"),
    ("num.partitions", "1"),
    ("default.replication.factor", "1"),
    ("auto.create.topics.enable", "true"),
    ("log.retention.check.interval.ms", "300000"),
    ("socket.request.max.bytes", "104857600"),
    ("delete.topic.enable", "true"),
    ("log.retention.hours", "168"),
    ("log.retention.minutes", ""),
    ("log.roll.hours", "168"),
    ("group.initial.rebalance.delay.ms", "3000"),
    ("group.min.session.timeout.ms", "6000"),
    ("group.max.session.timeout.ms", "1800000"),
    ("group.max.size", "2147483647"),
    ("offsets.topic.num.partitions", "50"),
    ("offsets.retention.minutes", "10080"),
    ("offsets.retention.check.interval.ms", "600000"),
    ("offset.metadata.max.bytes", "4096"),
    ("log.cleaner.backoff.ms", "15000"),
];

/// Kafka keys that are accepted without a warning although rk has nothing to tune with
/// them (KRaft wiring, thread pools, socket buffers, ...).
const ACCEPTED_KEYS: &[&str] = &[
    "process.roles",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "controller.listener.names",
    "inter.broker.listener.name",
    "listener.security.protocol.map",
    "num.network.threads",
    "num.io.threads",
    "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes",
    "num.recovery.threads.per.data.dir",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "broker.id",
    "log.dir",
    "zookeeper.connect",
    "cluster.id",
    "log.cleaner.enable",
    "log.cleaner.threads",
];

/// The parsed broker configuration.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Every key explicitly set (file or --override), after validation.
    pub props: BTreeMap<String, String>,
    pub node_id: i32,
    pub listen: SocketAddr,
    /// host:port advertised to clients.
    pub advertised_host: String,
    pub advertised_port: u16,
    pub data_dir: PathBuf,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics: bool,
    pub retention_check_interval_ms: u64,
    pub socket_request_max_bytes: usize,
    pub offsets_retention_check_interval_ms: u64,
    pub cleaner_backoff_ms: u64,
    group: crate::broker::coordinator::group::GroupConfig,
}

/// Parses a Java .properties text (key=value or key:value, # and ! comments, trailing-
/// backslash continuation lines).
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let split = full.find(['=', ':']);
        let (k, v) = match split {
            Some(i) => (full[..i].trim(), full[i + 1..].trim()),
            None => (full.trim(), ""),
        };
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Default data dir when none is configured: `$RK_DATA_DIR`, else `$XDG_DATA_HOME/rk`,
/// else `~/.local/share/rk`, else `./rk-data`.
pub fn default_data_dir() -> PathBuf {
    if let Ok(d) = std::env::var("RK_DATA_DIR") {
        return PathBuf::from(d);
    }
    if let Ok(d) = std::env::var("XDG_DATA_HOME") {
        return PathBuf::from(d).join("rk");
    }
    if let Ok(h) = std::env::var("HOME") {
        return PathBuf::from(h).join(".local/share/rk/data");
    }
    PathBuf::from("rk-data")
}

fn parse_listener(v: &str, key: &str) -> Result<(String, u16), String> {
    let first = v.split(',').next().unwrap_or("").trim();
    let hostport = first.rsplit("://").next().unwrap_or(first);
    let (host, port) =
        hostport.rsplit_once(':').ok_or_else(|| format!("Invalid value {v} for configuration {key}: expected [PLAINTEXT://]host:port"))?;
    let port: u16 = port.parse().map_err(|_| format!("Invalid value {v} for configuration {key}: bad port '{port}'"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_string(), port))
}

impl BrokerConfig {
    /// Builds the config from ordered (key, value) pairs; later pairs win. Unknown keys
    /// are returned as warnings; invalid values are errors naming the key.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<(BrokerConfig, Vec<String>), String> {
        let mut props = BTreeMap::new();
        let mut warnings = Vec::new();
        for (k, v) in pairs {
            let known = BROKER_KEYS.iter().any(|(n, _)| *n == k)
                || ACCEPTED_KEYS.contains(&k.as_str())
                || TOPIC_CONFIGS.iter().any(|d| d.broker_key == k);
            if !known {
                warnings.push(format!("Unknown configuration '{k}' was supplied but isn't a known config; it is ignored."));
            }
            props.insert(k, v);
        }
        // Kafka's hour/minute synonyms fold into the ms keys.
        let synonym = |props: &mut BTreeMap<String, String>, ms: &str, unit: &str, factor: i64| -> Result<(), String> {
            if props.contains_key(ms) {
                return Ok(());
            }
            if let Some(v) = props.get(unit) {
                let n: i64 =
                    v.trim().parse().map_err(|_| format!("Invalid value {v} for configuration {unit}: Not a number of type LONG"))?;
                let ms_val = if n < 0 { -1 } else { n.saturating_mul(factor) };
                props.insert(ms.to_string(), ms_val.to_string());
            }
            Ok(())
        };
        synonym(&mut props, "log.retention.ms", "log.retention.minutes", 60_000)?;
        synonym(&mut props, "log.retention.ms", "log.retention.hours", 3_600_000)?;
        synonym(&mut props, "log.roll.ms", "log.roll.hours", 3_600_000)?;
        if !props.contains_key("log.dirs")
            && let Some(d) = props.get("log.dir").cloned()
        {
            props.insert("log.dirs".into(), d);
        }
        if !props.contains_key("node.id")
            && let Some(d) = props.get("broker.id").cloned()
        {
            props.insert("node.id".into(), d);
        }
        // Broker values that are topic defaults use the topic validators.
        for def in TOPIC_CONFIGS {
            if let Some(v) = props.get(def.broker_key) {
                topic_config::validate_value(def, v).map_err(|e| e.replace(def.name, def.broker_key))?;
            }
        }
        let get = |k: &str| -> String {
            props
                .get(k)
                .cloned()
                .unwrap_or_else(|| BROKER_KEYS.iter().find(|(n, _)| *n == k).map(|(_, d)| d.to_string()).unwrap_or_default())
        };
        let int = |k: &str, min: i64, max: i64| -> Result<i64, String> {
            let v = get(k);
            match v.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                Ok(_) => Err(format!("Invalid value {v} for configuration {k}: Value must be between {min} and {max}")),
                Err(_) => Err(format!("Invalid value {v} for configuration {k}: Not a number of type INT")),
            }
        };
        let boolean = |k: &str| -> Result<bool, String> {
            match get(k).trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                v => Err(format!("Invalid value {v} for configuration {k}: Expected value to be either true or false")),
            }
        };
        let (lhost, lport) = parse_listener(&get("listeners"), "listeners")?;
        let lhost_ip = if lhost.is_empty() { "0.0.0.0".to_string() } else { lhost.clone() };
        let listen: SocketAddr = format!("{lhost_ip}:{lport}")
            .parse()
            .or_else(|_| {
                use std::net::ToSocketAddrs;
                (lhost_ip.as_str(), lport).to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or(())
            })
            .map_err(|_| format!("Invalid value {} for configuration listeners: cannot resolve host '{lhost}'", get("listeners")))?;
        let adv = get("advertised.listeners");
        let (advertised_host, advertised_port) = if adv.trim().is_empty() {
            let h = if lhost.is_empty() || lhost == "0.0.0.0" || lhost == "::" { "localhost".to_string() } else { lhost };
            (h, lport)
        } else {
            parse_listener(&adv, "advertised.listeners")?
        };
        let dirs = get("log.dirs");
        let data_dir = match dirs.split(',').next().map(str::trim) {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => default_data_dir(),
        };
        let cfg = BrokerConfig {
            node_id: int("node.id", 0, i32::MAX as i64)? as i32,
            listen,
            advertised_host,
            advertised_port,
            data_dir,
            num_partitions: int("num.partitions", 1, i32::MAX as i64)? as i32,
            default_replication_factor: int("default.replication.factor", 1, i16::MAX as i64)? as i16,
            auto_create_topics: boolean("auto.create.topics.enable")?,
            retention_check_interval_ms: int("log.retention.check.interval.ms", 1, i64::MAX)? as u64,
            socket_request_max_bytes: int("socket.request.max.bytes", 1, i32::MAX as i64)? as usize,
            offsets_retention_check_interval_ms: int("offsets.retention.check.interval.ms", 1, i64::MAX)? as u64,
            cleaner_backoff_ms: int("log.cleaner.backoff.ms", 1, i64::MAX)? as u64,
            group: crate::broker::coordinator::group::GroupConfig {
                initial_rebalance_delay_ms: int("group.initial.rebalance.delay.ms", 0, i32::MAX as i64)? as u64,
                min_session_timeout_ms: int("group.min.session.timeout.ms", 0, i32::MAX as i64)? as i32,
                max_session_timeout_ms: int("group.max.session.timeout.ms", 0, i32::MAX as i64)? as i32,
                max_size: int("group.max.size", 1, i32::MAX as i64)? as usize,
                offsets_partitions: int("offsets.topic.num.partitions", 1, 10_000)? as i32,
                offsets_retention_ms: int("offsets.retention.minutes", 1, i32::MAX as i64)? * 60_000,
                offset_metadata_max_bytes: int("offset.metadata.max.bytes", 0, i32::MAX as i64)? as usize,
            },
            props,
        };
        Ok((cfg, warnings))
    }

    pub fn group_config(&self) -> crate::broker::coordinator::group::GroupConfig {
        self.group.clone()
    }

    /// The broker-level value for a topic config: (value, explicitly set in the file?).
    pub fn topic_default(&self, def: &topic_config::ConfigDef) -> (String, bool) {
        match self.props.get(def.broker_key) {
            Some(v) => (v.trim().to_string(), true),
            None => (def.default.to_string(), false),
        }
    }

    /// Every broker config rk reports for DescribeConfigs on the broker resource:
    /// (name, value, explicitly set?).
    pub fn describe(&self) -> Vec<(String, String, bool)> {
        let mut out: BTreeMap<String, (String, bool)> = BTreeMap::new();
        for (k, d) in BROKER_KEYS {
            out.insert(k.to_string(), (d.to_string(), false));
        }
        for def in TOPIC_CONFIGS {
            out.insert(def.broker_key.to_string(), (def.default.to_string(), false));
        }
        out.insert("log.dirs".into(), (self.data_dir.display().to_string(), false));
        for (k, v) in &self.props {
            out.insert(k.clone(), (v.clone(), true));
        }
        out.into_iter().map(|(k, (v, s))| (k, v, s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let (c, w) = BrokerConfig::from_pairs(pairs(&[("listeners", "PLAINTEXT://127.0.0.1:0"), ("num.partitions", "3")])).unwrap();
        assert!(w.is_empty());
        assert_eq!(c.num_partitions, 3);
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.advertised_host, "127.0.0.1");
    }

    #[test]
    fn invalid_values_name_the_key_and_unknown_keys_warn() {
        let e = BrokerConfig::from_pairs(pairs(&[("num.partitions", "zero")])).unwrap_err();
        assert!(e.contains("num.partitions"), "{e}");
        let e = BrokerConfig::from_pairs(pairs(&[("log.retention.ms", "-7")])).unwrap_err();
        assert!(e.contains("log.retention.ms"), "{e}");
        let (_, w) = BrokerConfig::from_pairs(pairs(&[("bogus.key", "1")])).unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("bogus.key"));
    }

    #[test]
    fn properties_parser() {
        let p = parse_properties("# c\nlisteners=PLAINTEXT://:9092\nlog.dirs = /tmp/x\nmulti=a,\\\n  b\n").unwrap();
        assert_eq!(p[0], ("listeners".into(), "PLAINTEXT://:9092".into()));
        assert_eq!(p[1], ("log.dirs".into(), "/tmp/x".into()));
        assert_eq!(p[2], ("multi".into(), "a,b".into()));
    }
}
