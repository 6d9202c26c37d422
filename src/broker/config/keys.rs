//! THE table of broker configuration keys rk acts on (Kafka's names, types, defaults and
//! documentation). Parsing, validation messages, `rk server start --help` and
//! DescribeConfigs of a broker all come from it; topic-config defaults (`log.*`) come from
//! the topic-config table through their broker synonyms.

use crate::broker::topic_config::Kind;

/// How a key may change (Kafka's ConfigDef / DynamicBrokerConfig): read-only keys need a
/// restart; rk does not yet take dynamic updates, so all report read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ReadOnly,
}

#[derive(Debug)]
pub struct BrokerKey {
    pub name: &'static str,
    pub kind: Kind,
    /// "" means no default (null).
    pub default: &'static str,
    pub doc: &'static str,
    pub mode: Mode,
}

const fn key(name: &'static str, kind: Kind, default: &'static str, doc: &'static str) -> BrokerKey {
    BrokerKey { name, kind, default, doc, mode: Mode::ReadOnly }
}

const I32_MAX: i64 = i32::MAX as i64;

pub const BROKER_KEYS: &[BrokerKey] = &[
    // Identity, listeners and roles.
    key("node.id", Kind::Int { min: 0 }, "1", "The node id of this server (broker.id is a synonym)."),
    key("broker.id", Kind::Int { min: -1 }, "", "Synonym of node.id."),
    key("process.roles", Kind::List(&["broker", "controller"]), "broker,controller", "The roles this process plays in KRaft mode."),
    key(
        "listeners",
        Kind::Str,
        "PLAINTEXT://127.0.0.1:9092",
        "Comma-separated NAME://host:port listeners; NAME maps to a security protocol through listener.security.protocol.map.",
    ),
    key("advertised.listeners", Kind::Str, "", "Listeners to publish to clients, when different from listeners."),
    key(
        "listener.security.protocol.map",
        Kind::Str,
        "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
        "Map between listener names and security protocols.",
    ),
    key("inter.broker.listener.name", Kind::Str, "", "Listener used between brokers."),
    key("controller.listener.names", Kind::Str, "", "Listeners used by the controller quorum."),
    key("controller.quorum.voters", Kind::Str, "", "The controller quorum: id@host:port,..."),
    key("controller.quorum.bootstrap.servers", Kind::Str, "", "host:port of controllers to bootstrap from."),
    key("cluster.id", Kind::Str, "", "Accepted for compatibility; the cluster id lives in meta.properties."),
    // Storage.
    key("log.dirs", Kind::Str, "", "The directory holding the log data (the first is used; default: rk's data dir)."),
    key("log.dir", Kind::Str, "", "Synonym of log.dirs."),
    key("log.retention.check.interval.ms", Kind::Long { min: 1 }, "300000", "How often retention is enforced."),
    key("log.retention.hours", Kind::Int { min: -1 }, "168", "Synonym of log.retention.ms in hours."),
    key("log.retention.minutes", Kind::Int { min: -1 }, "", "Synonym of log.retention.ms in minutes."),
    key("log.roll.hours", Kind::Int { min: 1 }, "168", "Synonym of log.roll.ms in hours."),
    key("log.cleaner.enable", Kind::Bool, "true", "Whether compacted topics are cleaned."),
    key("log.cleaner.threads", Kind::Int { min: 0 }, "1", "Accepted; rk cleans on one background thread."),
    key("log.cleaner.backoff.ms", Kind::Long { min: 0 }, "15000", "Sleep between cleaner passes."),
    key(
        "log.cleaner.dedupe.buffer.size",
        Kind::Long { min: 1_048_576 },
        "134217728",
        "Memory for the cleaner's key → offset map; a pass covers what fits.",
    ),
    key("log.cleaner.io.buffer.size", Kind::Int { min: 512 }, "524288", "The cleaner's read and write buffers."),
    key("num.recovery.threads.per.data.dir", Kind::Int { min: 1 }, "2", "Accepted for compatibility."),
    key(
        "replica.high.watermark.checkpoint.interval.ms",
        Kind::Long { min: 1 },
        "5000",
        "How often the high watermarks are written to replication-offset-checkpoint.",
    ),
    key(
        "metadata.log.max.record.bytes.between.snapshots",
        Kind::Long { min: 1 },
        "20971520",
        "Metadata log bytes after which a new metadata snapshot is written.",
    ),
    key(
        "metadata.log.max.snapshot.interval.ms",
        Kind::Long { min: 0 },
        "3600000",
        "Time after which a metadata snapshot is written if records were appended.",
    ),
    // Network.
    key("socket.request.max.bytes", Kind::Int { min: 1 }, "104857600", "The largest request the broker accepts."),
    key("max.connections", Kind::Int { min: 0 }, "2147483647", "Most client connections at once; more wait in the listen backlog."),
    key("max.connections.per.ip", Kind::Int { min: 0 }, "2147483647", "Most connections from one address; excess ones are closed."),
    key("max.connections.per.ip.overrides", Kind::Str, "", "Per-address limits: host:count,ip:count."),
    key("connections.max.idle.ms", Kind::Long { min: 1 }, "600000", "Close connections idle this long."),
    key(
        "queued.max.request.bytes",
        Kind::Long { min: -1 },
        "-1",
        "Bytes of request bodies held at once (-1: unbounded); connections wait, unread, while the pool is empty.",
    ),
    key(
        "request.read.timeout.ms",
        Kind::Long { min: 1 },
        "10000",
        "rk: a request that has started to arrive must be complete within this time, or the connection is closed.",
    ),
    key("max.incremental.fetch.session.cache.slots", Kind::Int { min: 0 }, "1000", "Incremental fetch sessions (KIP-227) kept at once."),
    key("num.network.threads", Kind::Int { min: 1 }, "3", "Accepted; rk uses one async runtime."),
    key("num.io.threads", Kind::Int { min: 1 }, "8", "Accepted; rk uses one async runtime."),
    key("socket.send.buffer.bytes", Kind::Int { min: -1 }, "102400", "Accepted for compatibility."),
    key("socket.receive.buffer.bytes", Kind::Int { min: -1 }, "102400", "Accepted for compatibility."),
    // Cluster: quorum, brokers, replication.
    key("broker.rack", Kind::Str, "", "The rack of this broker (rack-aware replica placement)."),
    key("broker.session.timeout.ms", Kind::Int { min: 1 }, "9000", "A broker that has not heart-beaten for this long is fenced."),
    key("broker.heartbeat.interval.ms", Kind::Int { min: 1 }, "2000", "How often a broker heart-beats to the active controller."),
    key("controlled.shutdown.enable", Kind::Bool, "true", "On SIGTERM, move leadership away before stopping."),
    key("controller.quorum.election.timeout.ms", Kind::Int { min: 1 }, "1000", "Raft election timeout of the metadata quorum."),
    key("controller.quorum.fetch.timeout.ms", Kind::Int { min: 1 }, "2000", "Accepted for compatibility (rk's quorum uses heartbeats)."),
    key("replica.lag.time.max.ms", Kind::Long { min: 1 }, "30000", "A follower not caught up for this long leaves the ISR."),
    key("replica.fetch.max.bytes", Kind::Int { min: 1 }, "1048576", "Bytes a follower fetches per partition per request."),
    key("replica.fetch.response.max.bytes", Kind::Int { min: 1 }, "10485760", "Bytes a follower fetches per request."),
    key("replica.fetch.wait.max.ms", Kind::Int { min: 0 }, "500", "How long a follower's fetch waits for data at the leader."),
    key("replica.fetch.min.bytes", Kind::Int { min: 1 }, "1", "Bytes a follower's fetch waits for."),
    key("replica.fetch.backoff.ms", Kind::Int { min: 0 }, "1000", "A follower's pause after a fetch error."),
    key("num.replica.fetchers", Kind::Int { min: 1 }, "1", "Accepted; rk runs one fetcher per source broker."),
    key(
        "leader.replication.throttled.rate",
        Kind::Long { min: 0 },
        "9223372036854775807",
        "Bytes/s this broker sends to followers of throttled replicas (dynamic: reassignments).",
    ),
    key(
        "follower.replication.throttled.rate",
        Kind::Long { min: 0 },
        "9223372036854775807",
        "Bytes/s throttled followers fetch (dynamic; accepted, the leader side enforces rk's throttle).",
    ),
    key(
        "replica.alter.log.dirs.io.max.bytes.per.second",
        Kind::Long { min: 0 },
        "9223372036854775807",
        "Accepted (dynamic): rk has one log dir.",
    ),
    key("auto.leader.rebalance.enable", Kind::Bool, "true", "Move leadership back to preferred replicas periodically."),
    key("leader.imbalance.check.interval.seconds", Kind::Long { min: 1 }, "300", "How often preferred leaders are checked."),
    key("leader.imbalance.per.broker.percentage", Kind::Int { min: 0 }, "10", "Accepted for compatibility."),
    // Topics.
    key("num.partitions", Kind::Int { min: 1 }, "1", "Default number of partitions of a new topic."),
    key("default.replication.factor", Kind::Short { min: 1 }, "1", "Default replication factor of a new topic."),
    key("auto.create.topics.enable", Kind::Bool, "true", "Create a topic when a client asks for its metadata."),
    key("delete.topic.enable", Kind::Bool, "true", "Whether DeleteTopics may delete topics."),
    // Groups and offsets.
    key("group.initial.rebalance.delay.ms", Kind::Int { min: 0 }, "3000", "Delay of the first rebalance of a new group."),
    key("group.min.session.timeout.ms", Kind::Int { min: 0 }, "6000", "Smallest session timeout a member may ask for."),
    key("group.max.session.timeout.ms", Kind::Int { min: 0 }, "1800000", "Largest session timeout a member may ask for."),
    key("group.max.size", Kind::Int { min: 1 }, "2147483647", "Most members a group may have."),
    // The consumer group protocol (KIP-848).
    key("group.consumer.heartbeat.interval.ms", Kind::Int { min: 1 }, "5000", "Heartbeat interval given to consumer-protocol members."),
    key("group.consumer.session.timeout.ms", Kind::Int { min: 1 }, "45000", "Session timeout of consumer-protocol members."),
    key("group.consumer.max.size", Kind::Int { min: 1 }, "2147483647", "Most members a consumer-protocol group may have."),
    key(
        "group.consumer.assignors",
        Kind::List(&["uniform", "range"]),
        "uniform,range",
        "Server-side assignors of consumer-protocol groups; the first is the default.",
    ),
    // Share groups (KIP-932).
    key("group.share.heartbeat.interval.ms", Kind::Int { min: 1 }, "5000", "Heartbeat interval given to share group members."),
    key("group.share.session.timeout.ms", Kind::Int { min: 1 }, "45000", "Session timeout of share group members."),
    key("group.share.max.size", Kind::IntRange { min: 1, max: 1000 }, "200", "Most members a share group may have."),
    key(
        "group.share.record.lock.duration.ms",
        Kind::IntRange { min: 1000, max: 3_600_000 },
        "30000",
        "How long a share group member holds the records it acquired before they are available again.",
    ),
    key(
        "group.share.delivery.count.limit",
        Kind::IntRange { min: 2, max: 10 },
        "5",
        "Deliveries of a record to share group members before it is archived.",
    ),
    key(
        "group.share.partition.max.record.locks",
        Kind::IntRange { min: 100, max: 10_000 },
        "2000",
        "Records of one share partition in flight (acquired or awaiting redelivery) at most.",
    ),
    key("offsets.topic.num.partitions", Kind::IntRange { min: 1, max: 10_000 }, "50", "Partitions of __consumer_offsets."),
    key(
        "offsets.topic.replication.factor",
        Kind::Short { min: 1 },
        "3",
        "Replication factor of __consumer_offsets (capped by the brokers).",
    ),
    key("offsets.retention.minutes", Kind::Int { min: 1 }, "10080", "How long committed offsets of empty groups are kept."),
    key("offsets.retention.check.interval.ms", Kind::Long { min: 1 }, "600000", "How often expired offsets are removed."),
    key("offset.metadata.max.bytes", Kind::Int { min: 0 }, "4096", "Largest metadata string of a committed offset."),
    // Idempotence and transactions.
    key("transaction.state.log.num.partitions", Kind::IntRange { min: 1, max: 10_000 }, "50", "Partitions of __transaction_state."),
    key("transaction.state.log.replication.factor", Kind::Short { min: 1 }, "3", "Replication factor of __transaction_state."),
    key("transaction.state.log.min.isr", Kind::Int { min: 1 }, "2", "min.insync.replicas of __transaction_state."),
    key("transaction.state.log.segment.bytes", Kind::Int { min: 1 }, "104857600", "Segment size of __transaction_state."),
    key("transaction.max.timeout.ms", Kind::Int { min: 1 }, "900000", "The largest transaction timeout a producer may ask for."),
    key("transactional.id.expiration.ms", Kind::Int { min: 1 }, "604800000", "How long an idle transactional id is kept."),
    key(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        Kind::Int { min: 1 },
        "10000",
        "How often transactions open past their timeout are aborted.",
    ),
    key(
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        Kind::Int { min: 1 },
        "3600000",
        "How often expired transactional ids are removed.",
    ),
    key(
        "transaction.partition.verification.enable",
        Kind::Bool,
        "true",
        "Refuse transactional writes to partitions not added to the transaction (KIP-890).",
    ),
    key("producer.id.expiration.ms", Kind::Int { min: 1 }, "86400000", "How long an idle producer's state is kept per partition."),
    key("producer.id.expiration.check.interval.ms", Kind::Int { min: 1 }, "600000", "How often idle producers are forgotten."),
    key("share.coordinator.state.topic.replication.factor", Kind::Short { min: 1 }, "3", "Accepted for compatibility."),
    key("share.coordinator.state.topic.min.isr", Kind::Int { min: 1 }, "2", "Accepted for compatibility."),
    key("zookeeper.connect", Kind::Str, "", "Ignored: rk has no ZooKeeper mode."),
    // Security: TLS. Each may also be set per listener as listener.name.<listener>.<key>.
    key("ssl.keystore.type", Kind::Str, "PEM", "Key store format: rk reads PEM."),
    key("ssl.keystore.location", Kind::Str, "", "PEM file with the private key and its certificate chain."),
    key("ssl.keystore.certificate.chain", Kind::Str, "", "The certificate chain as inline PEM."),
    key("ssl.keystore.key", Kind::Str, "", "The private key as inline PEM."),
    key("ssl.key.password", Kind::Str, "", "Password of an encrypted (PKCS#8) private key."),
    key("ssl.keystore.password", Kind::Str, "", "Accepted for compatibility (PEM key stores have none)."),
    key("ssl.truststore.type", Kind::Str, "PEM", "Trust store format: rk reads PEM."),
    key("ssl.truststore.location", Kind::Str, "", "PEM file with the CA certificates trusted for client certificates."),
    key("ssl.truststore.certificates", Kind::Str, "", "Trusted CA certificates as inline PEM."),
    key("ssl.truststore.password", Kind::Str, "", "Accepted for compatibility (PEM trust stores have none)."),
    key("ssl.client.auth", Kind::Enum(&["required", "requested", "none"]), "none", "Whether clients must present a certificate (mTLS)."),
    key("ssl.enabled.protocols", Kind::Str, "TLSv1.2,TLSv1.3", "TLS versions served (TLSv1.2 and TLSv1.3 only)."),
    key("ssl.protocol", Kind::Str, "TLSv1.3", "Accepted for compatibility."),
    key(
        "ssl.endpoint.identification.algorithm",
        Kind::Str,
        "https",
        "Host name verification when this broker connects to others (empty: off).",
    ),
    key(
        "ssl.principal.mapping.rules",
        Kind::Str,
        "DEFAULT",
        "Rules mapping a client certificate's distinguished name to a principal name (RULE:pattern/replacement/[LU], DEFAULT).",
    ),
    // Security: SASL.
    key("sasl.enabled.mechanisms", Kind::Str, "GSSAPI", "SASL mechanisms served: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER."),
    // Kerberos (GSSAPI): rk does not offer the mechanism; the keys are accepted (and may be
    // set dynamically, as in Kafka) so existing configurations and tools keep working.
    key("sasl.kerberos.service.name", Kind::Str, "", "Kerberos service name (GSSAPI, not offered by rk)."),
    key("sasl.kerberos.kinit.cmd", Kind::Str, "/usr/bin/kinit", "Kerberos kinit command (GSSAPI, not offered by rk)."),
    key("sasl.kerberos.min.time.before.relogin", Kind::Long { min: 0 }, "60000", "Kerberos relogin wait (GSSAPI, not offered by rk)."),
    key("sasl.kerberos.ticket.renew.jitter", Kind::Str, "0.05", "Kerberos ticket renew jitter (GSSAPI, not offered by rk)."),
    key("sasl.kerberos.ticket.renew.window.factor", Kind::Str, "0.8", "Kerberos renew window factor (GSSAPI, not offered by rk)."),
    key("sasl.kerberos.principal.to.local.rules", Kind::Str, "DEFAULT", "Kerberos principal mapping rules (GSSAPI, not offered by rk)."),
    key("sasl.mechanism.inter.broker.protocol", Kind::Str, "GSSAPI", "SASL mechanism brokers use with each other."),
    key("sasl.mechanism.controller.protocol", Kind::Str, "GSSAPI", "SASL mechanism used towards controllers."),
    key("sasl.jaas.config", Kind::Str, "", "JAAS login config (per listener and mechanism: listener.name.<l>.<mech>.sasl.jaas.config)."),
    key(
        "connections.max.reauth.ms",
        Kind::Long { min: 0 },
        "0",
        "Most time a SASL session lasts before the client must re-authenticate (0: forever).",
    ),
    key("sasl.server.max.receive.size", Kind::Int { min: 1 }, "524288", "Largest SASL token accepted before authentication."),
    key(
        "sasl.oauthbearer.jwks.endpoint.url",
        Kind::Str,
        "",
        "JWKS with the keys that sign OAUTHBEARER tokens (file:// URL or path); unset: unsecured tokens (development).",
    ),
    key("sasl.oauthbearer.expected.audience", Kind::Str, "", "Audiences a token must name (comma-separated)."),
    key("sasl.oauthbearer.expected.issuer", Kind::Str, "", "Issuer a token must name."),
    key("sasl.oauthbearer.sub.claim.name", Kind::Str, "sub", "Claim naming the principal."),
    key("sasl.oauthbearer.scope.claim.name", Kind::Str, "scope", "Claim holding the scopes."),
    key("sasl.oauthbearer.clock.skew.seconds", Kind::Int { min: 0 }, "30", "Clock skew allowed for exp/iat/nbf."),
    // Security: authorization.
    key(
        "authorizer.class.name",
        Kind::Str,
        "",
        "Set to org.apache.kafka.metadata.authorizer.StandardAuthorizer (or any non-empty value) to enforce ACLs.",
    ),
    key("super.users", Kind::Str, "", "Principals allowed everything: User:admin;User:broker."),
    key("allow.everyone.if.no.acl.found", Kind::Bool, "false", "Allow access to resources no ACL matches."),
    key("principal.builder.class", Kind::Str, "", "Accepted for compatibility (rk builds Kafka's default principals)."),
    // Metrics.
    key("metrics.listener", Kind::Str, "", "http://host:port serving Prometheus /metrics, /health/live and /health/ready (unset: off)."),
    key(
        "client.telemetry.enable",
        Kind::Bool,
        "true",
        "Serve KIP-714 client telemetry (GetTelemetrySubscriptions, PushTelemetry): pushed client metrics appear on /metrics.",
    ),
    key("telemetry.max.bytes", Kind::Int { min: 1 }, "1048576", "The largest PushTelemetry metrics payload accepted (bytes, compressed)."),
    // Quotas.
    key("quota.window.num", Kind::Int { min: 1 }, "11", "Samples kept for client quota rates."),
    key("quota.window.size.seconds", Kind::Int { min: 1 }, "1", "Time span of one quota sample."),
    key("controller.quota.window.num", Kind::Int { min: 1 }, "11", "Samples kept for controller mutation rates."),
    key("controller.quota.window.size.seconds", Kind::Int { min: 1 }, "1", "Time span of one controller mutation sample."),
];

pub fn broker_key(name: &str) -> Option<&'static BrokerKey> {
    BROKER_KEYS.iter().find(|k| k.name == name)
}

/// Range of an integer kind, for messages.
pub fn int_range(kind: Kind) -> Option<(i64, i64)> {
    match kind {
        Kind::Int { min } => Some((min, I32_MAX)),
        Kind::IntRange { min, max } => Some((min, max)),
        Kind::Short { min } => Some((min, i16::MAX as i64)),
        Kind::Long { min } => Some((min, i64::MAX)),
        _ => None,
    }
}

/// The key list for `rk server start --help`, generated from the tables.
pub fn help_text() -> String {
    let mut out = String::from("Broker properties (server.properties or --override KEY=VALUE), with their defaults:\n");
    let mut rows: Vec<(&str, &str, &str)> = BROKER_KEYS.iter().map(|k| (k.name, k.default, k.doc)).collect();
    rows.extend(crate::broker::topic_config::TOPIC_CONFIGS.iter().map(|d| (d.broker_key, d.default, d.doc)));
    rows.sort_by_key(|r| r.0);
    rows.dedup_by_key(|r| r.0);
    for (name, default, doc) in rows {
        let d = if default.is_empty() { "null".to_string() } else { default.to_string() };
        out.push_str(&format!("  {name} = {d}\n      {doc}\n"));
    }
    out
}
