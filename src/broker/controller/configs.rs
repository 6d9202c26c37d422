//! Config commands of the controller (Kafka's ConfigurationControlManager): a topic's
//! overrides replaced as a whole (AlterConfigs) or edited by operations
//! (IncrementalAlterConfigs: SET, DELETE, APPEND, SUBTRACT), validated before any record.

use super::{Outcome, TopicError};
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use crate::broker::topic_config::{self, Kind};
use kafka_protocol::error::ResponseError as E;
use std::collections::BTreeMap;

/// How a topic's overrides change.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum ConfigEdit {
    /// AlterConfigs: the new complete set of overrides.
    Replace(BTreeMap<String, String>),
    /// IncrementalAlterConfigs: (name, operation, value) applied in order.
    Incremental(Vec<(String, i8, Option<String>)>),
}

/// Applies one IncrementalAlterConfigs operation (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT).
/// `list_default`: for a list config, the value APPEND and SUBTRACT start from when it is
/// unset; other configs refuse them, with Kafka's messages.
fn apply_op(map: &mut BTreeMap<String, String>, name: &str, op: i8, value: Option<&str>, list_default: Option<&str>) -> Outcome<()> {
    let invalid = |m: String| TopicError(E::InvalidConfig.code(), m);
    match op {
        0 => {
            let v = value.ok_or_else(|| invalid(format!("Null value not supported for : {name}")))?;
            map.insert(name.to_string(), v.to_string());
        }
        1 => {
            map.remove(name);
        }
        2 | 3 => {
            let Some(default) = list_default else {
                let verb = if op == 2 { "append" } else { "subtract" };
                return Err(invalid(format!("Config value {verb} is not allowed for config key: {name}")));
            };
            let current = map.get(name).map(String::as_str).unwrap_or(default);
            let mut items: Vec<String> = current.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            for v in value.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if op == 2 {
                    if !items.iter().any(|i| i == v) {
                        items.push(v.to_string());
                    }
                } else {
                    items.retain(|i| i != v);
                }
            }
            map.insert(name.to_string(), items.join(","));
        }
        other => return Err(TopicError(E::InvalidRequest.code(), format!("Unknown config operation {other}"))),
    }
    Ok(())
}

/// The configs after an AlterConfigs (the new set) or IncrementalAlterConfigs (operations
/// in order) edit; `list_default` as in `apply_op`.
fn edited(
    current: &BTreeMap<String, String>,
    edit: &ConfigEdit,
    list_default: impl Fn(&str) -> Outcome<Option<&'static str>>,
) -> Outcome<BTreeMap<String, String>> {
    match edit {
        ConfigEdit::Replace(m) => Ok(m.clone()),
        ConfigEdit::Incremental(ops) => {
            let mut next = current.clone();
            for (k, op, v) in ops {
                apply_op(&mut next, k, *op, v.as_deref(), list_default(k)?)?;
            }
            Ok(next)
        }
    }
}

/// Records that turn the topic's overrides into the edited ones, after validating them all.
pub(super) fn plan_alter(image: &MetadataImage, name: &str, edit: &ConfigEdit) -> Outcome<Vec<MetadataRecord>> {
    let topic =
        image.topic(name).ok_or_else(|| TopicError(E::UnknownTopicOrPartition.code(), format!("Topic '{name}' does not exist.")))?;
    let new = edited(&topic.configs, edit, |name| {
        let def = topic_config::topic_config_def(name)
            .ok_or_else(|| TopicError(E::InvalidConfig.code(), format!("Unknown topic config name: {name}")))?;
        Ok(matches!(def.kind, Kind::List(_)).then_some(def.default))
    })?;
    topic_config::validate_overrides(new.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))))
        .map_err(|m| TopicError(E::InvalidConfig.code(), m))?;
    let mut recs = Vec::new();
    for k in topic.configs.keys().filter(|k| !new.contains_key(*k)) {
        recs.push(MetadataRecord::TopicConfig { topic_id: topic.id, name: k.clone(), value: None });
    }
    for (k, v) in new.iter().filter(|(k, v)| topic.configs.get(*k) != Some(v)) {
        recs.push(MetadataRecord::TopicConfig { topic_id: topic.id, name: k.clone(), value: Some(v.clone()) });
    }
    Ok(recs)
}

/// Broker configs rk lets change at run time: Kafka's replication throttles, and the
/// Kerberos settings Kafka reconfigures per listener (stored; rk offers no GSSAPI).
pub const DYNAMIC_BROKER_KEYS: &[&str] = &[
    "leader.replication.throttled.rate",
    "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
    "sasl.kerberos.service.name",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.principal.to.local.rules",
];

/// A dynamic value checked against the key's kind: the throttles and counts are
/// non-negative numbers, the Kerberos factors fractions, the rest free text.
fn check_dynamic_value(name: &str, v: &str) -> Result<(), String> {
    let numeric = name.ends_with(".rate") || name.ends_with(".per.second") || name.ends_with(".relogin");
    let fraction = name.ends_with(".jitter") || name.ends_with(".factor");
    if numeric && v.trim().parse::<i64>().map_or(true, |n| n < 0) {
        return Err(format!("Invalid value {v} for configuration {name}: Value must be at least 0"));
    }
    if fraction && v.trim().parse::<f64>().map_or(true, |x| !(0.0..=1.0).contains(&x)) {
        return Err(format!("Invalid value {v} for configuration {name}: Value must be between 0 and 1"));
    }
    Ok(())
}

/// Dynamic broker config changes for `broker` (-1: every broker): SET/DELETE only.
pub(super) fn plan_broker_alter(img: &MetadataImage, broker: i32, edit: &ConfigEdit) -> Outcome<Vec<MetadataRecord>> {
    let invalid = |m: String| TopicError(E::InvalidConfig.code(), m);
    let mut changes: Vec<(String, Option<String>)> = Vec::new();
    match edit {
        ConfigEdit::Replace(map) => {
            for k in DYNAMIC_BROKER_KEYS {
                changes.push((k.to_string(), map.get(*k).cloned()));
            }
            if let Some(k) = map.keys().find(|k| !DYNAMIC_BROKER_KEYS.contains(&k.as_str())) {
                return Err(invalid(format!("Cannot update these configs dynamically: [{k}]")));
            }
        }
        ConfigEdit::Incremental(ops) => {
            for (name, op, value) in ops {
                if !DYNAMIC_BROKER_KEYS.contains(&name.as_str()) {
                    return Err(invalid(format!("Cannot update these configs dynamically: [{name}]")));
                }
                match op {
                    0 => changes.push((name.clone(), value.clone())),
                    1 => changes.push((name.clone(), None)),
                    _ => return Err(invalid(format!("Config value append/subtract is not allowed for config key {name}"))),
                }
            }
        }
    }
    let mut out = Vec::new();
    for (name, value) in changes {
        if let Some(v) = &value {
            check_dynamic_value(&name, v).map_err(invalid)?;
        }
        let current = img.broker_configs.get(&(broker, name.clone()));
        if current != value.as_ref() {
            out.push(MetadataRecord::BrokerConfig { broker, name, value });
        }
    }
    Ok(out)
}

/// What values a group config takes.
#[derive(Debug, Clone, Copy)]
pub enum GroupConfigKind {
    Int { min: i64, max: i64 },
    Choice(&'static [&'static str]),
}

/// The configs a group may have (Kafka's GroupConfig for consumer and share groups) with
/// their allowed values (the group.consumer.* / group.share.* min and max bounds at their
/// defaults), and the broker key that gives the default.
pub const GROUP_CONFIGS: &[(&str, GroupConfigKind, &str)] = &[
    ("consumer.session.timeout.ms", GroupConfigKind::Int { min: 45_000, max: 60_000 }, "group.consumer.session.timeout.ms"),
    ("consumer.heartbeat.interval.ms", GroupConfigKind::Int { min: 5_000, max: 15_000 }, "group.consumer.heartbeat.interval.ms"),
    ("share.session.timeout.ms", GroupConfigKind::Int { min: 45_000, max: 60_000 }, "group.share.session.timeout.ms"),
    ("share.heartbeat.interval.ms", GroupConfigKind::Int { min: 5_000, max: 15_000 }, "group.share.heartbeat.interval.ms"),
    ("share.record.lock.duration.ms", GroupConfigKind::Int { min: 15_000, max: 60_000 }, "group.share.record.lock.duration.ms"),
    // rk serves the two reset policies; Kafka 4.1's by_duration:<ISO-8601> is refused.
    ("share.auto.offset.reset", GroupConfigKind::Choice(&["latest", "earliest"]), ""),
    // Share consumers read uncommitted data: read_committed delivery is not served yet.
    ("share.isolation.level", GroupConfigKind::Choice(&["read_uncommitted"]), ""),
];

/// Group config changes, validated (Kafka's GroupConfig.validate).
pub(super) fn plan_group_alter(img: &MetadataImage, group: &str, edit: &ConfigEdit) -> Outcome<Vec<MetadataRecord>> {
    let invalid = |m: String| TopicError(E::InvalidConfig.code(), m);
    let current: BTreeMap<String, String> =
        img.group_configs.iter().filter(|((g, _), _)| g == group).map(|((_, n), v)| (n.clone(), v.clone())).collect();
    let next = edited(&current, edit, |_| Ok(None))?;
    for (name, v) in &next {
        let Some((_, kind, _)) = GROUP_CONFIGS.iter().find(|(n, _, _)| n == name) else {
            return Err(invalid(format!("Unknown group config name: {name}")));
        };
        match *kind {
            GroupConfigKind::Int { min, max } => match v.trim().parse::<i64>() {
                Ok(x) if x < min => return Err(invalid(format!("{name} must be greater than or equal to {min}"))),
                Ok(x) if x > max => return Err(invalid(format!("{name} must be less than or equal to {max}"))),
                Ok(_) => {}
                Err(_) => return Err(invalid(format!("Invalid value {v} for configuration {name}: Not a number of type INT"))),
            },
            GroupConfigKind::Choice(allowed) => {
                if !allowed.contains(&v.trim()) {
                    return Err(invalid(format!("Invalid value {v} for configuration {name}: rk accepts one of {}", allowed.join(", "))));
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((g, name), _) in img.group_configs.iter().filter(|((g, n), _)| g == group && !next.contains_key(n)) {
        out.push(MetadataRecord::GroupConfig { group: g.clone(), name: name.clone(), value: None });
    }
    for (name, v) in next {
        if img.group_configs.get(&(group.to_string(), name.clone())) != Some(&v) {
            out.push(MetadataRecord::GroupConfig { group: group.to_string(), name, value: Some(v) });
        }
    }
    Ok(out)
}

/// Client-metrics subscription changes (KIP-714), validated as Kafka's ClientMetricsConfigs
/// does; APPEND and SUBTRACT work on the two list configs. Removing every config deletes
/// the subscription.
pub(super) fn plan_client_metrics_alter(img: &MetadataImage, name: &str, edit: &ConfigEdit) -> Outcome<Vec<MetadataRecord>> {
    use crate::broker::telemetry::subscription as sub;
    let current = sub::configs_of(img, name);
    let next = edited(&current, edit, |k| Ok(sub::is_list(k).then_some("")))?;
    if name.is_empty() {
        return Err(TopicError(E::InvalidRequest.code(), "Subscription name can't be empty".into()));
    }
    if !next.is_empty() {
        sub::parse(name, &next).map_err(|(c, m)| TopicError(c, m))?;
    }
    let mut out = Vec::new();
    for k in current.keys().filter(|k| !next.contains_key(*k)) {
        out.push(MetadataRecord::ClientMetricsConfig { subscription: name.to_string(), name: k.clone(), value: None });
    }
    for (k, v) in next.into_iter().filter(|(k, v)| current.get(k) != Some(v)) {
        out.push(MetadataRecord::ClientMetricsConfig { subscription: name.to_string(), name: k, value: Some(v) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incremental(ops: &[(&str, i8, Option<&str>)]) -> ConfigEdit {
        ConfigEdit::Incremental(ops.iter().map(|(k, op, v)| (k.to_string(), *op, v.map(str::to_string))).collect())
    }

    fn values(recs: &[MetadataRecord]) -> Vec<(String, Option<String>)> {
        recs.iter()
            .filter_map(|r| match r {
                MetadataRecord::ClientMetricsConfig { name, value, .. } | MetadataRecord::GroupConfig { name, value, .. } => {
                    Some((name.clone(), value.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn client_metrics_lists_take_append_and_subtract_and_an_empty_subscription_is_deleted() {
        let mut img = MetadataImage::default();
        let recs =
            plan_client_metrics_alter(&img, "s", &incremental(&[("metrics", 0, Some("a.,b.")), ("interval.ms", 0, Some("1000"))])).unwrap();
        assert_eq!(values(&recs), vec![("interval.ms".into(), Some("1000".into())), ("metrics".into(), Some("a.,b.".into()))]);
        for r in &recs {
            img.apply(r);
        }
        let recs =
            plan_client_metrics_alter(&img, "s", &incremental(&[("metrics", 2, Some("c.,a.")), ("metrics", 3, Some("b."))])).unwrap();
        assert_eq!(values(&recs), vec![("metrics".into(), Some("a.,c.".into()))]);
        let refused = plan_client_metrics_alter(&img, "s", &incremental(&[("interval.ms", 2, Some("5"))])).unwrap_err();
        assert_eq!(refused.1, "Config value append is not allowed for config key: interval.ms");
        let recs = plan_client_metrics_alter(&img, "s", &incremental(&[("metrics", 1, None), ("interval.ms", 1, None)])).unwrap();
        assert_eq!(values(&recs), vec![("interval.ms".into(), None), ("metrics".into(), None)]);
        assert_eq!(
            plan_client_metrics_alter(&img, "", &incremental(&[("metrics", 0, Some("*"))])).unwrap_err().0,
            E::InvalidRequest.code()
        );
    }

    #[test]
    fn group_configs_refuse_append_with_kafkas_message() {
        let img = MetadataImage::default();
        let e = plan_group_alter(&img, "g", &incremental(&[("consumer.session.timeout.ms", 3, Some("50000"))])).unwrap_err();
        assert_eq!(e.1, "Config value subtract is not allowed for config key: consumer.session.timeout.ms");
        let recs = plan_group_alter(&img, "g", &incremental(&[("consumer.session.timeout.ms", 0, Some("50000"))])).unwrap();
        assert_eq!(values(&recs), vec![("consumer.session.timeout.ms".into(), Some("50000".into()))]);
    }
}
