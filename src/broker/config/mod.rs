//! Broker configuration: server.properties-compatible keys (Kafka names are the source of
//! truth, one table in `keys.rs`), defaults, `--override key=value`, validation with
//! messages naming the key, warnings for keys rk does not know, and the listeners (refused
//! when their security protocol is not served yet).

pub mod keys;
pub mod kraft;

use crate::broker::topic_config::{self, TOPIC_CONFIGS};
use keys::{BROKER_KEYS, broker_key};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use crate::properties::parse_properties;

/// One listener: its name, security protocol and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub protocol: String,
    pub host: String,
    pub port: u16,
}

/// A listener serving Kafka clients: where it binds and what it advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientListener {
    pub name: String,
    pub protocol: String,
    pub bind: SocketAddr,
    pub advertised_host: String,
    pub advertised_port: u16,
}

/// The parsed broker configuration.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Every key explicitly set (file or --override), after validation.
    pub props: BTreeMap<String, String>,
    /// KRaft mode (a metadata quorum); None: one node on its own.
    pub kraft: Option<kraft::KraftConfig>,
    pub replica_lag_time_max_ms: u64,
    pub replica_fetch_max_bytes: i32,
    pub replica_fetch_response_max_bytes: i32,
    pub replica_fetch_wait_max_ms: i32,
    pub replica_fetch_backoff_ms: u64,
    pub node_id: i32,
    /// The address the (first) client listener binds.
    pub listen: SocketAddr,
    pub listeners: Vec<Listener>,
    /// The listeners serving Kafka clients (every listener but the controller ones).
    pub client_listeners: Vec<ClientListener>,
    /// The listener brokers use with each other (`inter.broker.listener.name`, else the
    /// first client listener).
    pub inter_broker_listener: String,
    /// The controller listener's protocol (PLAINTEXT or SSL), for the quorum's connections.
    pub controller_protocol: String,
    /// How this broker connects to others (replication, transaction markers): the
    /// inter-broker listener's protocol, its ssl.* settings, and for SASL
    /// `sasl.mechanism.inter.broker.protocol` with the username/password of that
    /// mechanism's JAAS entry, as Kafka's brokers log in.
    pub inter_broker_security: crate::client::security::Security,
    /// host:port advertised to clients.
    pub advertised_host: String,
    pub advertised_port: u16,
    pub data_dir: PathBuf,
    /// Every directory of `log.dirs` (the first is `data_dir`, which also holds the
    /// metadata log and the checkpoints); partitions are spread over all of them.
    pub log_dirs: Vec<PathBuf>,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics: bool,
    pub retention_check_interval_ms: u64,
    pub socket_request_max_bytes: usize,
    pub offsets_retention_check_interval_ms: u64,
    pub cleaner_backoff_ms: u64,
    pub hw_checkpoint_interval_ms: u64,
    pub metadata_snapshot_max_bytes: u64,
    pub metadata_snapshot_interval_ms: u64,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub max_connections_per_ip_overrides: std::collections::HashMap<std::net::IpAddr, usize>,
    pub connections_max_idle_ms: u64,
    /// queued.max.request.bytes; None: unbounded.
    pub queued_max_request_bytes: Option<usize>,
    pub request_read_timeout_ms: u64,
    pub fetch_session_cache_slots: usize,
    pub cleaner_enabled: bool,
    /// client.telemetry.enable: KIP-714's two APIs served and advertised.
    pub client_telemetry: bool,
    pub telemetry_max_bytes: i32,
    pub txn: crate::broker::coordinator::txn::TxnConfig,
    pub txn_segment_bytes: i64,
    pub producer_id_expiration_check_ms: u64,
    cleaner: crate::broker::log::cleaner::CleanerConfig,
    group: crate::broker::coordinator::group::GroupConfig,
}

/// Default data dir when none is configured: `$RK_DATA_DIR`, else `$XDG_DATA_HOME/rk`,
/// else `~/.local/share/rk/data`, else `./rk-data`.
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

/// Parses `NAME://host:port,...` with the protocol map; listeners whose protocol rk does
/// not serve yet are refused rather than silently served as plaintext.
fn parse_listeners(v: &str, key: &str, map: &BTreeMap<String, String>, controller_names: &[String]) -> Result<Vec<Listener>, String> {
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, hostport) = match item.split_once("://") {
            Some((n, hp)) => (n.trim().to_ascii_uppercase(), hp),
            None => ("PLAINTEXT".to_string(), item),
        };
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or_else(|| format!("Invalid value {v} for configuration {key}: expected NAME://host:port, got '{item}'"))?;
        let port: u16 = port.parse().map_err(|_| format!("Invalid value {v} for configuration {key}: bad port '{port}'"))?;
        // A controller listener missing from the map is PLAINTEXT, as Kafka assumes.
        let implied = controller_names.contains(&name).then(|| "PLAINTEXT".to_string());
        let protocol = map.get(&name).cloned().or(implied).ok_or_else(|| {
            format!("Invalid value {v} for configuration {key}: No security protocol defined for listener {name} (listener.security.protocol.map)")
        })?;
        if out.iter().any(|l: &Listener| l.name == name) {
            return Err(format!("Invalid value {v} for configuration {key}: Each listener must have a different name, {name} is repeated"));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        out.push(Listener { name, protocol, host, port });
    }
    if out.is_empty() {
        return Err(format!("Invalid value {v} for configuration {key}: no listener given"));
    }
    Ok(out)
}

fn parse_protocol_map(v: &str) -> Result<BTreeMap<String, String>, String> {
    const PROTOCOLS: [&str; 4] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
    let mut map = BTreeMap::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, proto) = item.split_once(':').ok_or_else(|| {
            format!("Invalid value {v} for configuration listener.security.protocol.map: expected NAME:PROTOCOL, got '{item}'")
        })?;
        let proto = proto.trim().to_ascii_uppercase();
        if !PROTOCOLS.contains(&proto.as_str()) {
            return Err(format!("Invalid value {v} for configuration listener.security.protocol.map: unknown security protocol {proto}"));
        }
        map.insert(name.trim().to_ascii_uppercase(), proto);
    }
    Ok(map)
}

/// host:port as a socket address (an IP, or a name resolved now).
pub(crate) fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    format!("{host}:{port}").parse().ok().or_else(|| (host, port).to_socket_addrs().ok().and_then(|mut a| a.next()))
}

impl BrokerConfig {
    /// Builds the config from ordered (key, value) pairs; later pairs win. Unknown keys
    /// are returned as warnings; invalid values are errors naming the key.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<(BrokerConfig, Vec<String>), String> {
        let mut props = BTreeMap::new();
        let mut warnings = Vec::new();
        for (k, v) in pairs {
            let known = broker_key(&k).is_some()
                || TOPIC_CONFIGS.iter().any(|d| d.broker_key == k)
                // Per-listener settings: listener.name.<l>.<key> (and .<mechanism>.<key>).
                || k.starts_with("listener.name.");
            if !known {
                warnings.push(format!("Unknown configuration '{k}' was supplied but isn't a known config; it is ignored."));
            }
            props.insert(k, v);
        }
        for k in BROKER_KEYS {
            if let Some(v) = props.get(k.name) {
                topic_config::validate_kind(k.name, k.kind, v)?;
            }
        }
        // Kafka's hour/minute synonyms fold into the ms keys.
        let synonym = |props: &mut BTreeMap<String, String>, ms: &str, unit: &str, factor: i64| {
            if props.contains_key(ms) {
                return;
            }
            if let Some(n) = props.get(unit).and_then(|v| v.trim().parse::<i64>().ok()) {
                let ms_val = if n < 0 { -1 } else { n.saturating_mul(factor) };
                props.insert(ms.to_string(), ms_val.to_string());
            }
        };
        synonym(&mut props, "log.retention.ms", "log.retention.minutes", 60_000);
        synonym(&mut props, "log.retention.ms", "log.retention.hours", 3_600_000);
        synonym(&mut props, "log.roll.ms", "log.roll.hours", 3_600_000);
        if !props.contains_key("log.dirs")
            && let Some(d) = props.get("log.dir").cloned()
        {
            props.insert("log.dirs".into(), d);
        }
        if !props.contains_key("node.id")
            && let Some(d) = props.get("broker.id").cloned().filter(|d| d.trim() != "-1")
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
            props.get(k).cloned().unwrap_or_else(|| broker_key(k).map(|d| d.default.to_string()).unwrap_or_default())
        };
        // Every value was validated against the table above; defaults are valid by construction.
        let num = |k: &str| -> i64 { get(k).trim().parse::<i64>().unwrap_or(0) };
        let boolean = |k: &str| -> bool { get(k).trim().eq_ignore_ascii_case("true") };
        let map = parse_protocol_map(&get("listener.security.protocol.map"))?;
        let controller_names: Vec<String> =
            get("controller.listener.names").split(',').map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect();
        let listeners = parse_listeners(&get("listeners"), "listeners", &map, &controller_names)?;
        // The quorum speaks rk's own protocol: TLS (with client certificates for mutual
        // authentication) secures it; SASL does not apply.
        let controller_protocol = controller_names.first().and_then(|n| map.get(n)).cloned().unwrap_or_else(|| "PLAINTEXT".into());
        if controller_protocol.starts_with("SASL") {
            return Err(format!(
                "Invalid value {} for configuration listener.security.protocol.map: the controller listener uses {controller_protocol}; rk's controller quorum serves PLAINTEXT or SSL (use ssl.client.auth=required to authenticate peers)",
                get("listener.security.protocol.map"),
            ));
        }
        let inter = get("inter.broker.listener.name").trim().to_ascii_uppercase();
        if !inter.is_empty() && !listeners.iter().any(|l| l.name == inter && !controller_names.contains(&l.name)) {
            return Err(format!(
                "Invalid value {inter} for configuration inter.broker.listener.name: it must be a listener name defined in listeners (and not a controller listener)"
            ));
        }
        let advertised = match get("advertised.listeners") {
            a if a.trim().is_empty() => Vec::new(),
            a => parse_listeners(&a, "advertised.listeners", &map, &controller_names)?,
        };
        let mut client_listeners = Vec::new();
        for l in listeners.iter().filter(|l| !controller_names.contains(&l.name)) {
            let bind_host = if l.host.is_empty() { "0.0.0.0".to_string() } else { l.host.clone() };
            let bind = resolve(&bind_host, l.port).ok_or_else(|| {
                format!("Invalid value {} for configuration listeners: cannot resolve host '{}'", get("listeners"), l.host)
            })?;
            let (advertised_host, advertised_port) = match advertised.iter().find(|a| a.name == l.name) {
                Some(a) => (a.host.clone(), a.port),
                None if advertised.len() == 1 && listeners.len() == 1 => (advertised[0].host.clone(), advertised[0].port),
                None => {
                    let h =
                        if l.host.is_empty() || l.host == "0.0.0.0" || l.host == "::" { "localhost".to_string() } else { l.host.clone() };
                    (h, l.port)
                }
            };
            client_listeners.push(ClientListener {
                name: l.name.clone(),
                protocol: l.protocol.clone(),
                bind,
                advertised_host,
                advertised_port,
            });
        }
        // Brokers reach each other on the inter-broker listener (default: the first client
        // listener); it is also the endpoint registered as the broker's own.
        let primary = client_listeners.iter().find(|l| !inter.is_empty() && l.name == inter).or_else(|| client_listeners.first()).cloned();
        let (listen, advertised_host, advertised_port) = match &primary {
            Some(p) => (p.bind, p.advertised_host.clone(), p.advertised_port),
            None => {
                let l = &listeners[0];
                let bind = resolve(if l.host.is_empty() { "0.0.0.0" } else { &l.host }, l.port).ok_or_else(|| {
                    format!("Invalid value {} for configuration listeners: cannot resolve host '{}'", get("listeners"), l.host)
                })?;
                (bind, l.host.clone(), l.port)
            }
        };
        let inter_broker_listener = primary.as_ref().map(|p| p.name.clone()).unwrap_or_default();
        let dirs = get("log.dirs");
        let mut log_dirs: Vec<PathBuf> = Vec::new();
        for d in dirs.split(',').map(str::trim).filter(|d| !d.is_empty()).map(PathBuf::from) {
            if !log_dirs.contains(&d) {
                log_dirs.push(d);
            }
        }
        if log_dirs.is_empty() {
            log_dirs.push(default_data_dir());
        }
        let data_dir = log_dirs[0].clone();
        let kraft = kraft::parse(&get, num("node.id") as i32, &listeners, &controller_names)?;
        let cfg = BrokerConfig {
            kraft,
            replica_lag_time_max_ms: num("replica.lag.time.max.ms") as u64,
            replica_fetch_max_bytes: num("replica.fetch.max.bytes") as i32,
            replica_fetch_response_max_bytes: num("replica.fetch.response.max.bytes") as i32,
            replica_fetch_wait_max_ms: num("replica.fetch.wait.max.ms") as i32,
            replica_fetch_backoff_ms: num("replica.fetch.backoff.ms") as u64,
            node_id: num("node.id") as i32,
            listen,
            listeners,
            client_listeners,
            inter_broker_listener,
            controller_protocol,
            inter_broker_security: crate::client::security::Security::plaintext(),
            advertised_host,
            advertised_port,
            data_dir,
            log_dirs,
            num_partitions: num("num.partitions") as i32,
            default_replication_factor: num("default.replication.factor") as i16,
            auto_create_topics: boolean("auto.create.topics.enable"),
            retention_check_interval_ms: num("log.retention.check.interval.ms") as u64,
            socket_request_max_bytes: num("socket.request.max.bytes") as usize,
            offsets_retention_check_interval_ms: num("offsets.retention.check.interval.ms") as u64,
            cleaner_backoff_ms: num("log.cleaner.backoff.ms").max(1) as u64,
            hw_checkpoint_interval_ms: num("replica.high.watermark.checkpoint.interval.ms") as u64,
            metadata_snapshot_max_bytes: num("metadata.log.max.record.bytes.between.snapshots") as u64,
            metadata_snapshot_interval_ms: num("metadata.log.max.snapshot.interval.ms").max(1) as u64,
            max_connections: num("max.connections") as usize,
            max_connections_per_ip: num("max.connections.per.ip") as usize,
            max_connections_per_ip_overrides: crate::broker::network::quotas::parse_overrides(&get("max.connections.per.ip.overrides"))
                .map_err(|e| format!("Invalid value for configuration max.connections.per.ip.overrides: {e}"))?,
            connections_max_idle_ms: num("connections.max.idle.ms") as u64,
            queued_max_request_bytes: usize::try_from(num("queued.max.request.bytes")).ok().filter(|n| *n > 0),
            request_read_timeout_ms: num("request.read.timeout.ms") as u64,
            fetch_session_cache_slots: num("max.incremental.fetch.session.cache.slots") as usize,
            cleaner_enabled: boolean("log.cleaner.enable"),
            client_telemetry: boolean("client.telemetry.enable"),
            telemetry_max_bytes: num("telemetry.max.bytes").clamp(1, i32::MAX as i64) as i32,
            txn: crate::broker::coordinator::txn::TxnConfig {
                partitions: num("transaction.state.log.num.partitions") as i32,
                max_timeout_ms: num("transaction.max.timeout.ms") as i32,
                id_expiration_ms: num("transactional.id.expiration.ms"),
                abort_interval_ms: num("transaction.abort.timed.out.transaction.cleanup.interval.ms") as u64,
                expiration_check_interval_ms: num("transaction.remove.expired.transaction.cleanup.interval.ms") as u64,
                producer_id_expiration_ms: num("producer.id.expiration.ms"),
                verification: boolean("transaction.partition.verification.enable"),
            },
            txn_segment_bytes: num("transaction.state.log.segment.bytes"),
            producer_id_expiration_check_ms: num("producer.id.expiration.check.interval.ms") as u64,
            cleaner: crate::broker::log::cleaner::CleanerConfig {
                dedupe_buffer_bytes: num("log.cleaner.dedupe.buffer.size") as usize,
                io_buffer_bytes: num("log.cleaner.io.buffer.size") as usize,
            },
            group: crate::broker::coordinator::group::GroupConfig {
                initial_rebalance_delay_ms: num("group.initial.rebalance.delay.ms") as u64,
                min_session_timeout_ms: num("group.min.session.timeout.ms") as i32,
                max_session_timeout_ms: num("group.max.session.timeout.ms") as i32,
                max_size: num("group.max.size") as usize,
                consumer_heartbeat_interval_ms: num("group.consumer.heartbeat.interval.ms") as i32,
                consumer_session_timeout_ms: num("group.consumer.session.timeout.ms") as i32,
                consumer_max_size: num("group.consumer.max.size") as usize,
                consumer_assignors: get("group.consumer.assignors")
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                share_session_timeout_ms: num("group.share.session.timeout.ms") as i32,
                share_heartbeat_interval_ms: num("group.share.heartbeat.interval.ms") as i32,
                share_max_size: num("group.share.max.size") as usize,
                share_record_lock_duration_ms: num("group.share.record.lock.duration.ms") as i32,
                share_delivery_count_limit: num("group.share.delivery.count.limit") as i16,
                share_partition_max_record_locks: num("group.share.partition.max.record.locks") as i32,
                offsets_partitions: num("offsets.topic.num.partitions") as i32,
                offsets_retention_ms: num("offsets.retention.minutes") * 60_000,
                offset_metadata_max_bytes: num("offset.metadata.max.bytes") as usize,
            },
            props,
        };
        let mut cfg = cfg;
        cfg.inter_broker_security = cfg.build_inter_broker_security()?;
        Ok((cfg, warnings))
    }

    pub fn cleaner_config(&self) -> crate::broker::log::cleaner::CleanerConfig {
        self.cleaner
    }

    pub fn group_config(&self) -> crate::broker::coordinator::group::GroupConfig {
        self.group.clone()
    }

    /// The properties in force on one listener: every broker property, with Kafka's
    /// per-listener overrides `listener.name.<listener>.<key>` (lower-case listener name)
    /// applied on top, prefix removed. Mechanism-scoped keys such as
    /// `listener.name.sasl_ssl.plain.sasl.jaas.config` become `plain.sasl.jaas.config`.
    pub fn listener_props(&self, listener: &str) -> BTreeMap<String, String> {
        let prefix = format!("listener.name.{}.", listener.to_ascii_lowercase());
        let mut out: BTreeMap<String, String> =
            self.props.iter().filter(|(k, _)| !k.starts_with("listener.name.")).map(|(k, v)| (k.clone(), v.clone())).collect();
        for (k, v) in &self.props {
            if let Some(rest) = k.strip_prefix(&prefix) {
                out.insert(rest.to_string(), v.clone());
            }
        }
        out
    }

    fn build_inter_broker_security(&self) -> Result<crate::client::security::Security, String> {
        let Some(l) = self.client_listeners.iter().find(|l| l.name == self.inter_broker_listener) else {
            return Ok(crate::client::security::Security::plaintext());
        };
        let mut props = self.listener_props(&l.name);
        props.insert("security.protocol".into(), l.protocol.clone());
        if l.protocol.starts_with("SASL") {
            let mech = props.get("sasl.mechanism.inter.broker.protocol").cloned().unwrap_or_else(|| "GSSAPI".into()).to_ascii_uppercase();
            let jaas =
                props.get(&format!("{}.sasl.jaas.config", mech.to_ascii_lowercase())).or_else(|| props.get("sasl.jaas.config")).cloned();
            props.insert("sasl.mechanism".into(), mech);
            if let Some(j) = jaas {
                props.insert("sasl.jaas.config".into(), j);
            }
        }
        crate::client::security::Security::from_props(&props)
            .map_err(|e| format!("inter-broker listener {}: {e} (brokers connect to each other with it)", l.name))
    }

    /// A boolean key's value in force (set or default).
    pub fn flag(&self, key: &str) -> bool {
        self.props
            .get(key)
            .map(String::as_str)
            .or_else(|| broker_key(key).map(|k| k.default))
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// The broker-level value for a topic config: (value, explicitly set in the file?).
    pub fn topic_default(&self, def: &topic_config::ConfigDef) -> (String, bool) {
        match self.props.get(def.broker_key) {
            Some(v) => (v.trim().to_string(), true),
            None => (def.default.to_string(), false),
        }
    }

    /// Every broker config rk reports for DescribeConfigs on the broker resource:
    /// (name, value, explicitly set?, type kind, doc).
    pub fn describe(&self) -> Vec<(String, String, bool, topic_config::Kind, &'static str)> {
        let mut out: BTreeMap<String, (String, bool, topic_config::Kind, &'static str)> = BTreeMap::new();
        for k in BROKER_KEYS {
            out.insert(k.name.to_string(), (k.default.to_string(), false, k.kind, k.doc));
        }
        for def in TOPIC_CONFIGS {
            out.insert(def.broker_key.to_string(), (def.default.to_string(), false, def.kind, def.doc));
        }
        if let Some(e) = out.get_mut("log.dirs") {
            e.0 = self.data_dir.display().to_string();
        }
        for (k, v) in &self.props {
            let e = out.entry(k.clone()).or_insert((String::new(), true, topic_config::Kind::Str, ""));
            e.0 = v.clone();
            e.1 = true;
        }
        out.into_iter().map(|(k, (v, s, kind, doc))| (k, v, s, kind, doc)).collect()
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
        assert_eq!(c.hw_checkpoint_interval_ms, 5000);
    }

    #[test]
    fn invalid_values_name_the_key_and_unknown_keys_warn() {
        let e = BrokerConfig::from_pairs(pairs(&[("inter.broker.listener.name", "INTERNAL")])).unwrap_err();
        assert!(e.contains("inter.broker.listener.name"), "{e}");
        let ok = [("listeners", "PLAINTEXT://127.0.0.1:0"), ("inter.broker.listener.name", "plaintext")];
        assert!(BrokerConfig::from_pairs(pairs(&ok)).is_ok());
        let e = BrokerConfig::from_pairs(pairs(&[("num.partitions", "zero")])).unwrap_err();
        assert!(e.contains("num.partitions") && e.contains("INT"), "{e}");
        let e = BrokerConfig::from_pairs(pairs(&[("log.retention.ms", "-7")])).unwrap_err();
        assert!(e.contains("log.retention.ms"), "{e}");
        let e = BrokerConfig::from_pairs(pairs(&[("offsets.topic.num.partitions", "20000")])).unwrap_err();
        assert!(e.contains("between 1 and 10000"), "{e}");
        let (_, w) = BrokerConfig::from_pairs(pairs(&[("bogus.key", "1")])).unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("bogus.key"));
    }

    #[test]
    fn listeners_follow_the_protocol_map_and_per_listener_settings_apply() {
        let (c, _) = BrokerConfig::from_pairs(pairs(&[
            ("listeners", "CLIENT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"),
            ("listener.security.protocol.map", "CLIENT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
            ("controller.listener.names", "CONTROLLER"),
        ]))
        .unwrap();
        assert_eq!(c.listeners.len(), 2);
        assert_eq!(c.listeners[0].name, "CLIENT");
        // Several client listeners; the inter-broker one is the primary endpoint.
        let (c, _) = BrokerConfig::from_pairs(pairs(&[
            ("listeners", "PLAINTEXT://127.0.0.1:9092,INTERNAL://127.0.0.1:9093"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT"),
            ("inter.broker.listener.name", "INTERNAL"),
            ("advertised.listeners", "PLAINTEXT://kafka.example:19092,INTERNAL://127.0.0.1:9093"),
            ("sasl.enabled.mechanisms", "PLAIN"),
            ("sasl.mechanism.inter.broker.protocol", "PLAIN"),
            (
                "listener.name.internal.plain.sasl.jaas.config",
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="b" password="p" user_b="p";"#,
            ),
        ]))
        .unwrap();
        assert_eq!(c.client_listeners.len(), 2);
        assert_eq!((c.client_listeners[0].advertised_host.as_str(), c.client_listeners[0].advertised_port), ("kafka.example", 19092));
        assert_eq!((c.advertised_port, c.inter_broker_listener.as_str()), (9093, "INTERNAL"));
        assert!(c.listener_props("INTERNAL").contains_key("plain.sasl.jaas.config"));
        assert!(!c.listener_props("PLAINTEXT").contains_key("plain.sasl.jaas.config"));
        assert!(c.inter_broker_security.sasl.is_some(), "brokers log in with the JAAS username/password");
        // The controller quorum listener may be PLAINTEXT or SSL, not SASL.
        let e = BrokerConfig::from_pairs(pairs(&[
            ("listeners", "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL"),
            ("controller.listener.names", "CONTROLLER"),
        ]))
        .unwrap()
        .0;
        assert_eq!(e.controller_protocol, "SSL", "an SSL controller listener is accepted");
        let e = BrokerConfig::from_pairs(pairs(&[
            ("listeners", "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_SSL"),
            ("controller.listener.names", "CONTROLLER"),
        ]))
        .unwrap_err();
        assert!(e.contains("controller quorum serves PLAINTEXT or SSL"), "{e}");
        let e = BrokerConfig::from_pairs(pairs(&[("listeners", "FOO://127.0.0.1:9093")])).unwrap_err();
        assert!(e.contains("No security protocol defined for listener FOO"), "{e}");
    }

    #[test]
    fn every_default_in_the_table_is_valid() {
        for k in BROKER_KEYS.iter().filter(|k| !k.default.is_empty()) {
            topic_config::validate_kind(k.name, k.kind, k.default).unwrap();
        }
    }
}
