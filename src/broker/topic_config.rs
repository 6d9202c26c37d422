//! Topic-level configs: the one table of names, broker synonyms, defaults and validators
//! (what DescribeConfigs reports and CreateTopics/AlterConfigs validate), and `LogConfig`,
//! the parsed effective values a partition's log runs with.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Long { min: i64 },
    Int { min: i64 },
    IntRange { min: i64, max: i64 },
    Short { min: i64 },
    Str,
    Bool,
    Double { min: f64, max: f64 },
    Enum(&'static [&'static str]),
    List(&'static [&'static str]),
}

#[derive(Debug)]
pub struct ConfigDef {
    pub name: &'static str,
    /// The broker property whose value is this topic config's default.
    pub broker_key: &'static str,
    pub default: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
}

const LONG_MAX: &str = "9223372036854775807";

pub const TOPIC_CONFIGS: &[ConfigDef] = &[
    ConfigDef {
        name: "cleanup.policy",
        broker_key: "log.cleanup.policy",
        default: "delete",
        kind: Kind::List(&["delete", "compact"]),
        doc: "The retention policy to use on log segments: delete and/or compact.",
    },
    ConfigDef {
        name: "compression.type",
        broker_key: "compression.type",
        default: "producer",
        kind: Kind::Enum(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        doc: "The final compression type for a topic; 'producer' keeps the codec the producer used.",
    },
    ConfigDef {
        name: "delete.retention.ms",
        broker_key: "log.cleaner.delete.retention.ms",
        default: "86400000",
        kind: Kind::Long { min: 0 },
        doc: "How long delete tombstones are retained for compacted topics.",
    },
    ConfigDef {
        name: "file.delete.delay.ms",
        broker_key: "log.segment.delete.delay.ms",
        default: "60000",
        kind: Kind::Long { min: 0 },
        doc: "Time to wait before deleting a file from the filesystem.",
    },
    ConfigDef {
        name: "flush.messages",
        broker_key: "log.flush.interval.messages",
        default: LONG_MAX,
        kind: Kind::Long { min: 1 },
        doc: "Force an fsync after this many messages.",
    },
    ConfigDef {
        name: "flush.ms",
        broker_key: "log.flush.interval.ms",
        default: LONG_MAX,
        kind: Kind::Long { min: 0 },
        doc: "Force an fsync after this much time.",
    },
    // Redpanda's knob, not Kafka's: false makes acks=all durable on disk (fsync before the
    // acknowledgement on the leader, before the next fetch on followers).
    ConfigDef {
        name: "write.caching",
        broker_key: "write.caching.default",
        default: "true",
        kind: Kind::Bool,
        doc: "Acknowledge acks=all writes from the page cache (true, Kafka's behaviour) or only after an fsync (false).",
    },
    ConfigDef {
        name: "index.interval.bytes",
        broker_key: "log.index.interval.bytes",
        default: "4096",
        kind: Kind::Int { min: 0 },
        doc: "How often an offset index entry is added.",
    },
    ConfigDef {
        name: "max.compaction.lag.ms",
        broker_key: "log.cleaner.max.compaction.lag.ms",
        default: LONG_MAX,
        kind: Kind::Long { min: 1 },
        doc: "Maximum time a message stays ineligible for compaction.",
    },
    ConfigDef {
        name: "max.message.bytes",
        broker_key: "message.max.bytes",
        default: "1048588",
        kind: Kind::Int { min: 0 },
        doc: "The largest record batch size allowed.",
    },
    ConfigDef {
        name: "message.timestamp.after.max.ms",
        broker_key: "log.message.timestamp.after.max.ms",
        default: "3600000",
        kind: Kind::Long { min: 0 },
        doc: "Maximum allowed amount a CreateTime timestamp may be ahead of the broker's time.",
    },
    ConfigDef {
        name: "message.timestamp.before.max.ms",
        broker_key: "log.message.timestamp.before.max.ms",
        default: LONG_MAX,
        kind: Kind::Long { min: 0 },
        doc: "Maximum allowed amount a CreateTime timestamp may be behind the broker's time.",
    },
    ConfigDef {
        name: "message.timestamp.type",
        broker_key: "log.message.timestamp.type",
        default: "CreateTime",
        kind: Kind::Enum(&["CreateTime", "LogAppendTime"]),
        doc: "Whether record timestamps are the producer's CreateTime or the broker's LogAppendTime.",
    },
    ConfigDef {
        name: "min.cleanable.dirty.ratio",
        broker_key: "log.cleaner.min.cleanable.ratio",
        default: "0.5",
        kind: Kind::Double { min: 0.0, max: 1.0 },
        doc: "Minimum ratio of dirty log to total log for a log to be eligible for cleaning.",
    },
    ConfigDef {
        name: "min.compaction.lag.ms",
        broker_key: "log.cleaner.min.compaction.lag.ms",
        default: "0",
        kind: Kind::Long { min: 0 },
        doc: "Minimum time a message remains uncompacted.",
    },
    ConfigDef {
        name: "min.insync.replicas",
        broker_key: "min.insync.replicas",
        default: "1",
        kind: Kind::Int { min: 1 },
        doc: "Minimum number of in-sync replicas for an acks=all write.",
    },
    ConfigDef {
        name: "preallocate",
        broker_key: "log.preallocate",
        default: "false",
        kind: Kind::Bool,
        doc: "Preallocate the file on disk when creating a new segment.",
    },
    ConfigDef {
        name: "retention.bytes",
        broker_key: "log.retention.bytes",
        default: "-1",
        kind: Kind::Long { min: -1 },
        doc: "Maximum size a partition can grow to before old segments are deleted (-1: no limit).",
    },
    ConfigDef {
        name: "retention.ms",
        broker_key: "log.retention.ms",
        default: "604800000",
        kind: Kind::Long { min: -1 },
        doc: "Maximum time a segment is kept before it is deleted (-1: no limit).",
    },
    ConfigDef {
        name: "segment.bytes",
        broker_key: "log.segment.bytes",
        default: "1073741824",
        kind: Kind::Int { min: 14 },
        doc: "Segment file size.",
    },
    ConfigDef {
        name: "segment.index.bytes",
        broker_key: "log.index.size.max.bytes",
        default: "10485760",
        kind: Kind::Int { min: 4 },
        doc: "Size of the offset index.",
    },
    ConfigDef {
        name: "segment.jitter.ms",
        broker_key: "log.roll.jitter.ms",
        default: "0",
        kind: Kind::Long { min: 0 },
        doc: "Maximum random jitter subtracted from the scheduled segment roll time.",
    },
    ConfigDef {
        name: "segment.ms",
        broker_key: "log.roll.ms",
        default: "604800000",
        kind: Kind::Long { min: 1 },
        doc: "Time after which a segment is rolled even if not full.",
    },
    ConfigDef {
        name: "unclean.leader.election.enable",
        broker_key: "unclean.leader.election.enable",
        default: "false",
        kind: Kind::Bool,
        doc: "Whether an out-of-sync replica may be elected leader as a last resort.",
    },
    ConfigDef {
        name: "leader.replication.throttled.replicas",
        broker_key: "leader.replication.throttled.replicas",
        default: "",
        kind: Kind::Str,
        doc: "Replicas (partition:broker,... or *) whose leader-side replication is throttled.",
    },
    ConfigDef {
        name: "follower.replication.throttled.replicas",
        broker_key: "follower.replication.throttled.replicas",
        default: "",
        kind: Kind::Str,
        doc: "Replicas (partition:broker,... or *) whose follower-side replication is throttled.",
    },
];

pub fn topic_config_def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Checks a value against its definition; the error text names the key like Kafka does.
pub fn validate_value(def: &ConfigDef, value: &str) -> Result<(), String> {
    validate_kind(def.name, def.kind, value)
}

/// Checks a value of config `name` against `kind` (topic and broker configs alike).
pub fn validate_kind(name: &str, kind: Kind, value: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("Invalid value {value} for configuration {name}: {why}"));
    let v = value.trim();
    match kind {
        Kind::Long { min } | Kind::Int { min } | Kind::Short { min } | Kind::IntRange { min, .. } => {
            let (parsed, ty, max) = match kind {
                Kind::Int { .. } => (v.parse::<i32>().map(i64::from).map_err(|_| ()), "INT", i32::MAX as i64),
                Kind::IntRange { max, .. } => (v.parse::<i32>().map(i64::from).map_err(|_| ()), "INT", max),
                Kind::Short { .. } => (v.parse::<i16>().map(i64::from).map_err(|_| ()), "SHORT", i16::MAX as i64),
                _ => (v.parse::<i64>().map_err(|_| ()), "LONG", i64::MAX),
            };
            match parsed {
                Ok(n) if n >= min && n <= max => Ok(()),
                Ok(_) if max < i32::MAX as i64 => bad(&format!("Value must be between {min} and {max}")),
                Ok(_) => bad(&format!("Value must be at least {min}")),
                Err(_) => bad(&format!("Not a number of type {ty}")),
            }
        }
        Kind::Str => Ok(()),
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "true" | "false" => Ok(()),
            _ => bad("Expected value to be either true or false"),
        },
        Kind::Double { min, max } => match v.parse::<f64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(()),
            Ok(_) => bad(&format!("Value must be between {min} and {max}")),
            Err(_) => bad("Not a number of type DOUBLE"),
        },
        Kind::Enum(allowed) => {
            if allowed.iter().any(|a| a.eq_ignore_ascii_case(v)) {
                Ok(())
            } else {
                bad(&format!("String must be one of: {}", allowed.join(", ")))
            }
        }
        Kind::List(allowed) => {
            let items: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            if items.is_empty() && !v.is_empty() {
                return bad("empty list");
            }
            match items.iter().find(|i| !allowed.contains(&i.to_ascii_lowercase().as_str())) {
                Some(i) => bad(&format!("Invalid value {i}; must be one of {}", allowed.join(", "))),
                None => Ok(()),
            }
        }
    }
}

/// Validates a set of topic overrides (unknown keys are INVALID_CONFIG, as in Kafka).
pub fn validate_overrides<'a>(configs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Result<(), String> {
    for (k, v) in configs {
        let def = topic_config_def(k).ok_or_else(|| format!("Unknown topic config name: {k}"))?;
        match v {
            Some(v) => validate_value(def, v)?,
            None => return Err(format!("Null value not supported for topic configs: {k}")),
        }
    }
    Ok(())
}

/// Effective log settings for one topic: topic overrides over broker settings over defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    pub compact: bool,
    pub delete: bool,
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub segment_bytes: u64,
    pub segment_ms: i64,
    pub max_message_bytes: usize,
    pub log_append_time: bool,
    pub flush_messages: i64,
    pub flush_ms: i64,
    /// false: fsync acks=all writes before acknowledging them.
    pub write_caching: bool,
    pub timestamp_after_max_ms: i64,
    pub timestamp_before_max_ms: i64,
    pub delete_retention_ms: i64,
    pub min_compaction_lag_ms: i64,
    pub min_cleanable_dirty_ratio: f64,
    pub compression_type: String,
    pub min_insync_replicas: usize,
}

impl LogConfig {
    /// Resolves every topic config; `lookup` answers the value in force for a topic config
    /// name (override or broker value or default), which is always valid by then.
    pub fn resolve(lookup: impl Fn(&ConfigDef) -> String) -> LogConfig {
        let all: BTreeMap<&str, String> = TOPIC_CONFIGS.iter().map(|d| (d.name, lookup(d))).collect();
        let get = |k: &str| all.get(k).map(String::as_str).unwrap_or("");
        let long = |k: &str| get(k).trim().parse::<i64>().unwrap_or(i64::MAX);
        let policy = get("cleanup.policy").to_ascii_lowercase();
        LogConfig {
            compact: policy.contains("compact"),
            delete: policy.contains("delete"),
            retention_ms: long("retention.ms"),
            retention_bytes: long("retention.bytes"),
            segment_bytes: long("segment.bytes").max(14) as u64,
            segment_ms: long("segment.ms"),
            max_message_bytes: long("max.message.bytes").max(0) as usize,
            log_append_time: get("message.timestamp.type").eq_ignore_ascii_case("LogAppendTime"),
            flush_messages: long("flush.messages"),
            flush_ms: long("flush.ms"),
            write_caching: !get("write.caching").eq_ignore_ascii_case("false"),
            timestamp_after_max_ms: long("message.timestamp.after.max.ms"),
            timestamp_before_max_ms: long("message.timestamp.before.max.ms"),
            delete_retention_ms: long("delete.retention.ms"),
            min_compaction_lag_ms: long("min.compaction.lag.ms"),
            min_cleanable_dirty_ratio: get("min.cleanable.dirty.ratio").parse().unwrap_or(0.5),
            compression_type: get("compression.type").to_ascii_lowercase(),
            min_insync_replicas: long("min.insync.replicas").clamp(1, i32::MAX as i64) as usize,
        }
    }

    pub fn defaults() -> LogConfig {
        LogConfig::resolve(|d| d.default.to_string())
    }

    /// What validating a produced batch needs.
    pub fn limits(&self) -> crate::broker::log::validator::Limits {
        crate::broker::log::validator::Limits {
            compact: self.compact,
            log_append_time: self.log_append_time,
            max_message_bytes: self.max_message_bytes,
            timestamp_before_max_ms: self.timestamp_before_max_ms,
            timestamp_after_max_ms: self.timestamp_after_max_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_key() {
        let d = topic_config_def("retention.ms").unwrap();
        assert!(validate_value(d, "1000").is_ok());
        assert!(validate_value(d, "-1").is_ok());
        let e = validate_value(d, "-5").unwrap_err();
        assert!(e.contains("retention.ms"), "{e}");
        assert!(validate_value(d, "abc").is_err());
        let p = topic_config_def("cleanup.policy").unwrap();
        assert!(validate_value(p, "compact,delete").is_ok());
        assert!(validate_value(p, "shrink").is_err());
        assert!(validate_overrides([("no.such", Some("1"))]).is_err());
    }

    #[test]
    fn resolve_defaults() {
        let c = LogConfig::defaults();
        assert!(c.delete && !c.compact);
        assert_eq!(c.segment_bytes, 1 << 30);
        assert_eq!(c.max_message_bytes, 1048588);
        assert!(!c.log_append_time);
    }
}
