//! Client quota commands of the controller (Kafka's ClientQuotaControlManager): each
//! entity's changes validated (entity types and names, keys per entity kind, values), then
//! written as ClientQuota records (only values that change).

use super::{Outcome, TopicError};
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use kafka_protocol::error::ResponseError as E;
use serde::{Deserialize, Serialize};

/// One entity's changes (AlterClientQuotas entry): value None removes the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuotaAlteration {
    pub entity: Vec<(String, Option<String>)>,
    pub ops: Vec<(String, Option<f64>)>,
}

#[derive(Clone, Copy)]
enum ValueType {
    Long,
    Int,
    Double,
}

/// QuotaConfig.userAndClientQuotaConfigs().
const CLIENT_KEYS: &[(&str, ValueType)] = &[
    ("producer_byte_rate", ValueType::Long),
    ("consumer_byte_rate", ValueType::Long),
    ("request_percentage", ValueType::Double),
    ("controller_mutation_rate", ValueType::Double),
];
/// QuotaConfig.ipConfigs().
const IP_KEYS: &[(&str, ValueType)] = &[("connection_creation_rate", ValueType::Int)];

fn invalid(m: String) -> TopicError {
    TopicError(E::InvalidRequest.code(), m)
}

/// How Kafka prints a ClientQuotaEntity in messages.
pub fn entity_string(entity: &[(String, Option<String>)]) -> String {
    let parts: Vec<String> = entity.iter().map(|(t, n)| format!("{t}={}", n.as_deref().unwrap_or("null"))).collect();
    format!("ClientQuotaEntity(entries={{{}}})", parts.join(", "))
}

fn valid_ip_entity(ip: &str) -> bool {
    use std::net::ToSocketAddrs;
    ip.parse::<std::net::IpAddr>().is_ok() || (ip, 0).to_socket_addrs().is_ok_and(|mut a| a.next().is_some())
}

/// The config keys of an entity kind, with their value types.
type Keys = &'static [(&'static str, ValueType)];
/// (entity type, name; None = default) pairs.
type Entity = Vec<(String, Option<String>)>;

/// validateEntity + configKeysForEntityType: the entity sorted by type, and its keys.
fn check_entity(entity: &[(String, Option<String>)]) -> Outcome<(Entity, Keys)> {
    if entity.is_empty() {
        return Err(invalid("Invalid empty client quota entity".into()));
    }
    let mut sorted: Entity = Vec::new();
    for (t, n) in entity {
        if sorted.iter().any(|(x, _)| x == t) {
            return Err(invalid(format!("Invalid client quota entity, duplicate entity entry {t}")));
        }
        if !matches!(t.as_str(), "user" | "client-id" | "ip") {
            return Err(invalid(format!("Unhandled client quota entity type: {t}")));
        }
        if n.as_deref() == Some("") {
            return Err(invalid(format!("Empty {t} not supported")));
        }
        sorted.push((t.clone(), n.clone()));
    }
    sorted.sort();
    let ip = sorted.iter().find(|(t, _)| t == "ip");
    let keys = match ip {
        Some(_) if sorted.len() > 1 => {
            // Kafka's message, missing space included.
            return Err(invalid("Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId".into()));
        }
        Some((_, Some(name))) if !valid_ip_entity(name) => return Err(invalid(format!("{name} is not a valid IP or resolvable host."))),
        Some(_) => IP_KEYS,
        None => CLIENT_KEYS,
    };
    Ok((sorted, keys))
}

/// validateQuotaKeyValue.
fn check_value(keys: &[(&str, ValueType)], key: &str, value: f64) -> Outcome<()> {
    let Some((_, ty)) = keys.iter().find(|(k, _)| *k == key) else {
        return Err(invalid(format!("Invalid configuration key {key}")));
    };
    if value <= 0.0 || value.is_nan() {
        return Err(invalid(format!("Quota {key} must be greater than 0")));
    }
    let integral = |max: f64, what: &str| {
        if value > max {
            Err(invalid(format!("Proposed value for {key} is too large for {what}.")))
        } else if (value % 1.0).abs() > 1e-6 {
            Err(invalid(format!("{key} cannot be a fractional value.")))
        } else {
            Ok(())
        }
    };
    match ty {
        ValueType::Double => Ok(()),
        ValueType::Int => integral(i32::MAX as f64, "an INT"),
        ValueType::Long => integral(i64::MAX as f64, "a LONG"),
    }
}

/// The records of one entity's alteration, after validating all of it.
pub(super) fn plan_alter(img: &MetadataImage, a: &QuotaAlteration) -> Outcome<Vec<MetadataRecord>> {
    let mut seen = std::collections::HashSet::new();
    if let Some((k, _)) = a.ops.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        return Err(invalid(format!("Duplicate quota key {k} not updating quota for this entity {}", entity_string(&a.entity))));
    }
    let (entity, keys) = check_entity(&a.entity)?;
    let current = img.client_quotas.get(&entity);
    let mut recs = Vec::new();
    for (key, value) in &a.ops {
        let now = current.and_then(|m| m.get(key)).copied();
        match value {
            None if now.is_some() => recs.push(MetadataRecord::ClientQuota { entity: entity.clone(), key: key.clone(), value: None }),
            None => {}
            Some(v) => {
                check_value(keys, key, *v)?;
                if now != Some(*v) {
                    recs.push(MetadataRecord::ClientQuota { entity: entity.clone(), key: key.clone(), value: Some(*v) });
                }
            }
        }
    }
    Ok(recs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alter(entity: &[(&str, Option<&str>)], ops: &[(&str, Option<f64>)]) -> Outcome<Vec<MetadataRecord>> {
        let a = QuotaAlteration {
            entity: entity.iter().map(|(t, n)| (t.to_string(), n.map(str::to_string))).collect(),
            ops: ops.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        };
        plan_alter(&MetadataImage::default(), &a)
    }

    #[test]
    fn validates_like_kafka() {
        let msg = |r: Outcome<Vec<MetadataRecord>>| r.unwrap_err().1;
        assert_eq!(msg(alter(&[], &[])), "Invalid empty client quota entity");
        assert_eq!(msg(alter(&[("user", Some("a"))], &[("bogus", Some(1.0))])), "Invalid configuration key bogus");
        assert_eq!(
            msg(alter(&[("user", Some("a"))], &[("producer_byte_rate", Some(0.0))])),
            "Quota producer_byte_rate must be greater than 0"
        );
        assert_eq!(
            msg(alter(&[("user", Some("a"))], &[("producer_byte_rate", Some(1.5))])),
            "producer_byte_rate cannot be a fractional value."
        );
        assert_eq!(msg(alter(&[("group", Some("a"))], &[])), "Unhandled client quota entity type: group");
        assert_eq!(msg(alter(&[("user", Some(""))], &[])), "Empty user not supported");
        assert!(msg(alter(&[("ip", Some("1.2.3.4")), ("user", None)], &[])).starts_with("Invalid quota entity combination"));
        assert_eq!(msg(alter(&[("ip", None)], &[("producer_byte_rate", Some(1.0))])), "Invalid configuration key producer_byte_rate");
        assert!(alter(&[("ip", None)], &[("connection_creation_rate", Some(10.0))]).is_ok());
        assert!(alter(&[("user", Some("a"))], &[("request_percentage", Some(12.5))]).is_ok());
        let dup = msg(alter(&[("user", Some("a"))], &[("request_percentage", Some(1.0)), ("request_percentage", None)]));
        assert!(dup.starts_with("Duplicate quota key request_percentage"), "{dup}");
    }

    #[test]
    fn entity_is_sorted_and_unchanged_values_write_nothing() {
        let recs = alter(&[("user", Some("a")), ("client-id", None)], &[("producer_byte_rate", Some(10.0))]).unwrap();
        let MetadataRecord::ClientQuota { entity, .. } = &recs[0] else { panic!("{recs:?}") };
        assert_eq!(entity, &vec![("client-id".to_string(), None), ("user".to_string(), Some("a".to_string()))]);
        // Removing a key that is not set writes nothing.
        assert!(alter(&[("user", Some("a"))], &[("producer_byte_rate", None)]).unwrap().is_empty());
    }
}
