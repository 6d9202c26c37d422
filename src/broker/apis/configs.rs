//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and the broker:
//! effective values with Kafka's config sources and synonyms, validation through the one
//! topic-config table, changes written as metadata records.

use super::topics::{TopicError, commit};
use super::{Ctx, code, sb};
use crate::broker::config::BrokerConfig;
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use crate::broker::topic_config::{self, ConfigDef, Kind, TOPIC_CONFIGS};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym};
use kafka_protocol::messages::*;
use std::collections::{BTreeMap, HashSet};

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
pub const SOURCE_TOPIC: i8 = 1;
pub const SOURCE_STATIC_BROKER: i8 = 4;
pub const SOURCE_DEFAULT: i8 = 5;

/// One described config value.
pub struct Entry {
    pub name: String,
    /// None for a broker config with no value (Kafka answers null).
    pub value: Option<String>,
    pub source: i8,
    pub synonyms: Vec<(String, String, i8)>,
    pub config_type: i8,
    pub doc: &'static str,
    pub read_only: bool,
}

fn config_type(kind: Kind) -> i8 {
    match kind {
        Kind::Bool => 1,
        Kind::Int { .. } => 3,
        Kind::Long { .. } => 5,
        Kind::Double { .. } => 6,
        Kind::List(_) => 7,
        Kind::Enum(_) => 2,
    }
}

/// The effective value of every topic config given a topic's overrides.
pub fn topic_entries(broker: &BrokerConfig, overrides: &BTreeMap<String, String>) -> Vec<Entry> {
    TOPIC_CONFIGS
        .iter()
        .map(|d: &ConfigDef| {
            let (broker_value, broker_set) = broker.topic_default(d);
            let mut synonyms = Vec::new();
            if let Some(v) = overrides.get(d.name) {
                synonyms.push((d.name.to_string(), v.clone(), SOURCE_TOPIC));
            }
            if broker_set {
                synonyms.push((d.broker_key.to_string(), broker_value.clone(), SOURCE_STATIC_BROKER));
            }
            synonyms.push((d.broker_key.to_string(), d.default.to_string(), SOURCE_DEFAULT));
            let (value, source) = match overrides.get(d.name) {
                Some(v) => (v.clone(), SOURCE_TOPIC),
                None if broker_set => (broker_value, SOURCE_STATIC_BROKER),
                None => (d.default.to_string(), SOURCE_DEFAULT),
            };
            Entry {
                name: d.name.to_string(),
                value: Some(value),
                source,
                synonyms,
                config_type: config_type(d.kind),
                doc: d.doc,
                read_only: false,
            }
        })
        .collect()
}

fn broker_entries(broker: &BrokerConfig) -> Vec<Entry> {
    broker
        .describe()
        .into_iter()
        .map(|(name, value, set)| {
            let source = if set { SOURCE_STATIC_BROKER } else { SOURCE_DEFAULT };
            // Broker keys that are topic-config defaults share the topic config's type.
            let config_type = TOPIC_CONFIGS.iter().find(|d| d.broker_key == name).map(|d| config_type(d.kind)).unwrap_or(2);
            // An unset key without a default is null, as Kafka reports it.
            let value = (set || !value.is_empty()).then_some(value);
            let synonyms = value.iter().map(|v| (name.clone(), v.clone(), source)).collect();
            Entry { synonyms, name, value, source, config_type, doc: "", read_only: true }
        })
        .collect()
}

fn check_broker_name(broker: &BrokerConfig, name: &str) -> Result<(), TopicError> {
    if name.is_empty() || name == broker.node_id.to_string() {
        Ok(())
    } else {
        Err(TopicError(
            code(E::InvalidRequest),
            format!("Unexpected broker id, expected {} or empty string, but received {name}", broker.node_id),
        ))
    }
}

pub async fn describe_configs(ctx: &Ctx<'_>, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let b = ctx.broker;
    let image = b.controller.image();
    let results = req
        .resources
        .iter()
        .map(|r| {
            let name = r.resource_name.to_string();
            let base = DescribeConfigsResult::default().with_resource_type(r.resource_type).with_resource_name(r.resource_name.clone());
            let entries = match r.resource_type {
                RESOURCE_TOPIC => match image.topic(&name) {
                    Some(t) => Ok(topic_entries(&b.config, &t.configs)),
                    None => Err(TopicError(code(E::UnknownTopicOrPartition), format!("Topic '{name}' does not exist."))),
                },
                RESOURCE_BROKER => check_broker_name(&b.config, &name).map(|_| broker_entries(&b.config)),
                other => Err(TopicError(code(E::InvalidRequest), format!("Unsupported resource type {other}"))),
            };
            match entries {
                Err(TopicError(c, m)) => base.with_error_code(c).with_error_message(Some(sb(m))),
                Ok(entries) => {
                    // Null or empty key lists mean "all configs", as in Kafka's ConfigHelper.
                    let wanted: Option<HashSet<String>> =
                        r.configuration_keys.as_ref().filter(|k| !k.is_empty()).map(|k| k.iter().map(|s| s.to_string()).collect());
                    let configs = entries
                        .into_iter()
                        .filter(|e| wanted.as_ref().is_none_or(|w| w.contains(&e.name)))
                        .map(|e| {
                            let synonyms = if req.include_synonyms {
                                e.synonyms
                                    .iter()
                                    .map(|(n, v, s)| {
                                        DescribeConfigsSynonym::default()
                                            .with_name(sb(n.clone()))
                                            .with_value(Some(sb(v.clone())))
                                            .with_source(*s)
                                    })
                                    .collect()
                            } else {
                                Vec::new()
                            };
                            DescribeConfigsResourceResult::default()
                                .with_name(sb(e.name))
                                .with_value(e.value.map(sb))
                                .with_read_only(e.read_only)
                                .with_config_source(e.source)
                                .with_synonyms(synonyms)
                                .with_config_type(e.config_type)
                                .with_documentation(req.include_documentation.then(|| sb(e.doc)))
                        })
                        .collect();
                    base.with_configs(configs)
                }
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// Records that replace or edit a topic's overrides to `new`, after validating them all.
fn plan_topic_configs(image: &MetadataImage, name: &str, new: &BTreeMap<String, String>) -> Result<Vec<MetadataRecord>, TopicError> {
    let topic = image.topic(name).ok_or_else(|| TopicError(code(E::UnknownTopicOrPartition), format!("Topic '{name}' does not exist.")))?;
    topic_config::validate_overrides(new.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))))
        .map_err(|m| TopicError(code(E::InvalidConfig), m))?;
    let mut recs = Vec::new();
    for k in topic.configs.keys().filter(|k| !new.contains_key(*k)) {
        recs.push(MetadataRecord::TopicConfig { topic_id: topic.id, name: k.clone(), value: None });
    }
    for (k, v) in new.iter().filter(|(k, v)| topic.configs.get(*k) != Some(v)) {
        recs.push(MetadataRecord::TopicConfig { topic_id: topic.id, name: k.clone(), value: Some(v.clone()) });
    }
    Ok(recs)
}

/// Shared driver of both alter APIs: `edit` turns the current overrides into the new ones.
fn alter_topic(
    ctx: &Ctx<'_>,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    edit: impl Fn(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, TopicError>,
) -> Result<(), TopicError> {
    let b = ctx.broker;
    match resource_type {
        RESOURCE_TOPIC => {}
        RESOURCE_BROKER => {
            check_broker_name(&b.config, name)?;
            return Err(TopicError(
                code(E::InvalidRequest),
                "Dynamic broker configs are not supported by rk yet; set them in server.properties or with --override".into(),
            ));
        }
        other => return Err(TopicError(code(E::InvalidRequest), format!("Unsupported resource type {other}"))),
    }
    let plan = |img: &MetadataImage| {
        let current = img.topic(name).map(|t| t.configs.clone()).unwrap_or_default();
        plan_topic_configs(img, name, &edit(&current)?)
    };
    if validate_only { plan(&b.controller.image()).map(|_| ()) } else { commit(b, plan) }
}

fn duplicate_keys<'a>(names: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut seen = HashSet::new();
    names.into_iter().find(|n| !seen.insert(*n)).map(str::to_string)
}

fn result(resource_type: i8, name: &str, outcome: Result<(), TopicError>) -> alter_configs_response::AlterConfigsResourceResponse {
    let r = alter_configs_response::AlterConfigsResourceResponse::default().with_resource_type(resource_type).with_resource_name(sb(name));
    match outcome {
        Ok(()) => r,
        Err(TopicError(c, m)) => r.with_error_code(c).with_error_message(Some(sb(m))),
    }
}

pub async fn alter_configs(ctx: &Ctx<'_>, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let responses = req
        .resources
        .iter()
        .map(|r| {
            let name = r.resource_name.to_string();
            let outcome = match duplicate_keys(r.configs.iter().map(|c| c.name.as_str())) {
                Some(k) => Err(TopicError(code(E::InvalidRequest), format!("Error due to duplicate config keys: {k}"))),
                None => alter_topic(ctx, r.resource_type, &name, req.validate_only, |_| {
                    r.configs
                        .iter()
                        .map(|c| match &c.value {
                            Some(v) => Ok((c.name.to_string(), v.to_string())),
                            None => {
                                Err(TopicError(code(E::InvalidConfig), format!("Null value not supported for topic configs: {}", c.name)))
                            }
                        })
                        .collect()
                }),
            };
            result(r.resource_type, &name, outcome)
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

/// Applies one IncrementalAlterConfigs operation (SET, DELETE, APPEND, SUBTRACT).
fn apply_op(map: &mut BTreeMap<String, String>, name: &str, op: i8, value: Option<&str>) -> Result<(), TopicError> {
    let invalid = |m: String| TopicError(code(E::InvalidConfig), m);
    let def = topic_config::topic_config_def(name).ok_or_else(|| invalid(format!("Unknown topic config name: {name}")))?;
    match op {
        0 => {
            let v = value.ok_or_else(|| invalid(format!("Null value not supported for : {name}")))?;
            map.insert(name.to_string(), v.to_string());
        }
        1 => {
            map.remove(name);
        }
        2 | 3 => {
            if !matches!(def.kind, Kind::List(_)) {
                return Err(invalid(format!("Config value append is not allowed for config key: {name}")));
            }
            let current = map.get(name).cloned().unwrap_or_else(|| def.default.to_string());
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
        other => return Err(TopicError(code(E::InvalidRequest), format!("Unknown config operation {other}"))),
    }
    Ok(())
}

pub async fn incremental_alter_configs(ctx: &Ctx<'_>, req: IncrementalAlterConfigsRequest) -> IncrementalAlterConfigsResponse {
    let responses = req
        .resources
        .iter()
        .map(|r| {
            let name = r.resource_name.to_string();
            let outcome = match duplicate_keys(r.configs.iter().map(|c| c.name.as_str())) {
                Some(k) => Err(TopicError(code(E::InvalidRequest), format!("Error due to duplicate config keys: {k}"))),
                None => alter_topic(ctx, r.resource_type, &name, req.validate_only, |current| {
                    let mut next = current.clone();
                    for c in &r.configs {
                        apply_op(&mut next, c.name.as_str(), c.config_operation, c.value.as_deref())?;
                    }
                    Ok(next)
                }),
            };
            let x = result(r.resource_type, &name, outcome);
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(x.error_code)
                .with_error_message(x.error_message)
                .with_resource_type(x.resource_type)
                .with_resource_name(x.resource_name)
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
