//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and the broker:
//! effective values with Kafka's config sources and synonyms, validation through the one
//! topic-config table, changes written as metadata records. Describing needs
//! DESCRIBE_CONFIGS and altering ALTER_CONFIGS, on the topic or (broker configs) the cluster.

use super::{Ctx, code, sb};
use crate::broker::config::BrokerConfig;
use crate::broker::controller::{ConfigEdit, Outcome, TopicError};
use crate::broker::security::acl::{AclCheck, Op, Resource};
use crate::broker::topic_config::{ConfigDef, Kind, TOPIC_CONFIGS};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym};
use kafka_protocol::messages::*;
use std::collections::{BTreeMap, HashSet};

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
pub const RESOURCE_GROUP: i8 = 32;
/// A KIP-714 client-metrics subscription.
pub const RESOURCE_CLIENT_METRICS: i8 = 16;
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
        Kind::Int { .. } | Kind::IntRange { .. } => 3,
        Kind::Short { .. } => 4,
        Kind::Str => 2,
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

/// DescribeConfigs source of a config set dynamically for this broker (and for all).
const SOURCE_DYNAMIC_BROKER: i8 = 2;
const SOURCE_DYNAMIC_DEFAULT_BROKER: i8 = 3;
/// DescribeConfigs source of a group's own config (ConfigSource.GROUP_CONFIG).
const SOURCE_GROUP: i8 = 8;
const TYPE_INT: i8 = 3;
const TYPE_STRING: i8 = 2;

/// A group's configs: its own values, else the broker's group.consumer.* / group.share.*
/// defaults.
fn group_entries(b: &crate::broker::Broker, image: &crate::broker::metadata::MetadataImage, group: &str) -> Vec<Entry> {
    use crate::broker::controller::configs::{GROUP_CONFIGS, GroupConfigKind};
    let c = &b.groups.cfg;
    GROUP_CONFIGS
        .iter()
        .map(|(name, kind, broker_key)| {
            let default = match *name {
                "consumer.session.timeout.ms" => c.consumer_session_timeout_ms.to_string(),
                "consumer.heartbeat.interval.ms" => c.consumer_heartbeat_interval_ms.to_string(),
                "share.session.timeout.ms" => c.share_session_timeout_ms.to_string(),
                "share.heartbeat.interval.ms" => c.share_heartbeat_interval_ms.to_string(),
                "share.record.lock.duration.ms" => c.share_record_lock_duration_ms.to_string(),
                _ => match kind {
                    GroupConfigKind::Choice(values) => values[0].to_string(),
                    GroupConfigKind::Int { min, .. } => min.to_string(),
                },
            };
            let own = image.group_configs.get(&(group.to_string(), name.to_string()));
            let mut synonyms: Vec<(String, String, i8)> = own.iter().map(|v| (name.to_string(), (*v).clone(), SOURCE_GROUP)).collect();
            if !broker_key.is_empty() {
                synonyms.push((broker_key.to_string(), default.clone(), SOURCE_DEFAULT));
            }
            let (value, source) = match own {
                Some(v) => (v.clone(), SOURCE_GROUP),
                None => (default, SOURCE_DEFAULT),
            };
            let doc = match *name {
                "consumer.session.timeout.ms" => "The timeout to detect client failures when using the consumer group protocol.",
                "consumer.heartbeat.interval.ms" => "The heartbeat interval given to the members of a consumer group.",
                "share.session.timeout.ms" => "The timeout to detect client failures when using the share group protocol.",
                "share.heartbeat.interval.ms" => "The heartbeat interval given to the members of a share group.",
                "share.record.lock.duration.ms" => "The record acquisition lock duration in milliseconds for share groups.",
                "share.auto.offset.reset" => "The strategy to initialize the share-partition start offset.",
                _ => "Controls how to read records written transactionally (share groups).",
            };
            let config_type = if matches!(kind, GroupConfigKind::Int { .. }) { TYPE_INT } else { TYPE_STRING };
            Entry { name: name.to_string(), value: Some(value), source, synonyms, config_type, doc, read_only: false }
        })
        .collect()
}

/// DescribeConfigs source of a client-metrics subscription's own value.
const SOURCE_CLIENT_METRICS: i8 = 7;
const TYPE_LIST: i8 = 7;

/// A client-metrics subscription's three configs: its own values, else the defaults
/// (Kafka describes a subscription that does not exist with its defaults too).
fn client_metrics_entries(image: &crate::broker::metadata::MetadataImage, name: &str) -> Vec<Entry> {
    use crate::broker::telemetry::subscription::{self as sub, CONFIGS};
    let own = sub::configs_of(image, name);
    CONFIGS
        .iter()
        .map(|k| {
            let default = if *k == sub::INTERVAL_MS { sub::DEFAULT_INTERVAL_MS.to_string() } else { String::new() };
            let (value, source) = match own.get(*k) {
                Some(v) => (v.clone(), SOURCE_CLIENT_METRICS),
                None => (default, SOURCE_DEFAULT),
            };
            let doc = match *k {
                sub::METRICS => "Subscription metrics list",
                sub::INTERVAL_MS => "Push interval in milliseconds",
                _ => "Client match pattern list",
            };
            let config_type = if sub::is_list(k) { TYPE_LIST } else { TYPE_INT };
            let synonyms = vec![(k.to_string(), value.clone(), source)];
            Entry { name: k.to_string(), value: Some(value), source, synonyms, config_type, doc, read_only: false }
        })
        .collect()
}

fn broker_entries(broker: &BrokerConfig, image: &crate::broker::metadata::MetadataImage) -> Vec<Entry> {
    broker
        .describe()
        .into_iter()
        .map(|(name, value, set, kind, doc)| {
            let dynamic = crate::broker::controller::configs::DYNAMIC_BROKER_KEYS.contains(&name.as_str());
            let mine = image.broker_configs.get(&(broker.node_id, name.clone()));
            let all = image.broker_configs.get(&(-1, name.clone()));
            let (value, source) = match (mine, all) {
                (Some(v), _) => (Some(v.clone()), SOURCE_DYNAMIC_BROKER),
                (None, Some(v)) => (Some(v.clone()), SOURCE_DYNAMIC_DEFAULT_BROKER),
                // An unset key without a default is null, as Kafka reports it.
                _ => ((set || !value.is_empty()).then_some(value), if set { SOURCE_STATIC_BROKER } else { SOURCE_DEFAULT }),
            };
            let synonyms = value.iter().map(|v| (name.clone(), v.clone(), source)).collect();
            Entry { synonyms, name, value, source, config_type: config_type(kind), doc, read_only: !dynamic }
        })
        .collect()
}

/// `op` on the resource a config resource stands for: Err is the refusal to answer.
fn authorize(acl: &AclCheck<'_>, op: Op, resource_type: i8, name: &str) -> Result<(), TopicError> {
    let (r, e) = match resource_type {
        RESOURCE_TOPIC => (Resource::Topic(name), E::TopicAuthorizationFailed),
        RESOURCE_BROKER => (Resource::Cluster, E::ClusterAuthorizationFailed),
        RESOURCE_GROUP => (Resource::Group(name), E::GroupAuthorizationFailed),
        RESOURCE_CLIENT_METRICS => (Resource::Cluster, E::ClusterAuthorizationFailed),
        _ => return Ok(()),
    };
    if acl.allowed(op, r) { Ok(()) } else { Err(TopicError(code(e), e.to_string())) }
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
    let image = b.image();
    let acl = ctx.acl();
    let results = req
        .resources
        .iter()
        .map(|r| {
            let name = r.resource_name.to_string();
            let base = DescribeConfigsResult::default().with_resource_type(r.resource_type).with_resource_name(r.resource_name.clone());
            let entries = match r.resource_type {
                _ if let Err(e) = authorize(&acl, Op::DescribeConfigs, r.resource_type, &name) => Err(e),
                RESOURCE_TOPIC => match image.topic(&name) {
                    Some(t) => Ok(topic_entries(&b.config, &t.configs)),
                    None => Err(TopicError(code(E::UnknownTopicOrPartition), format!("Topic '{name}' does not exist."))),
                },
                RESOURCE_BROKER => check_broker_name(&b.config, &name).map(|_| broker_entries(&b.config, &image)),
                RESOURCE_GROUP if name.is_empty() => Err(TopicError(code(E::InvalidRequest), "Group name can't be empty.".into())),
                RESOURCE_GROUP => Ok(group_entries(b, &image, &name)),
                RESOURCE_CLIENT_METRICS if name.is_empty() => {
                    Err(TopicError(code(E::InvalidRequest), "Client metrics subscription name must not be empty".into()))
                }
                RESOURCE_CLIENT_METRICS => Ok(client_metrics_entries(&image, &name)),
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

fn duplicate_keys<'a>(names: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut seen = HashSet::new();
    names.into_iter().find(|n| !seen.insert(*n)).map(str::to_string)
}

/// A resource's answer: (resource type, name, outcome).
type Altered = (i8, String, Result<(), TopicError>);

/// Shared driver of both alter APIs: checks each resource, sends the topic edits to the
/// controller as one command and answers (resource type, name, outcome) in request order.
async fn alter(ctx: &Ctx<'_>, validate_only: bool, resources: Vec<(i8, String, Result<ConfigEdit, TopicError>)>) -> Vec<Altered> {
    let b = ctx.broker;
    // An outcome of None: the controller decides.
    let mut out: Vec<(i8, String, Option<Outcome<()>>)> = Vec::new();
    let mut edits = Vec::new();
    let acl = ctx.acl();
    for (rt, name, edit) in resources {
        let early = match (rt, edit) {
            (_, Err(e)) => Some(Err(e)),
            _ if let Err(e) = authorize(&acl, Op::AlterConfigs, rt, &name) => Some(Err(e)),
            (RESOURCE_TOPIC, Ok(edit)) => {
                edits.push((name.clone(), edit));
                None
            }
            // Dynamic broker configs (the replication throttles): an id, or "" for all.
            (RESOURCE_BROKER, Ok(edit)) => Some(match check_broker_name(&b.config, &name) {
                Err(e) => Err(e),
                Ok(()) => {
                    let id = if name.is_empty() { -1 } else { b.config.node_id };
                    b.controller.alter_broker_configs(id, edit, validate_only).await
                }
            }),
            (RESOURCE_GROUP, Ok(_)) if name.is_empty() => {
                Some(Err(TopicError(code(E::InvalidRequest), "Group name can't be empty.".into())))
            }
            (RESOURCE_GROUP, Ok(edit)) => Some(b.controller.alter_group_configs(name.clone(), edit, validate_only).await),
            (RESOURCE_CLIENT_METRICS, Ok(edit)) => Some(b.controller.alter_client_metrics(name.clone(), edit, validate_only).await),
            (other, Ok(_)) => Some(Err(TopicError(code(E::InvalidRequest), format!("Unsupported resource type {other}")))),
        };
        out.push((rt, name, early));
    }
    let mut results = b.controller.alter_topic_configs(edits, validate_only).await.into_iter();
    out.into_iter().map(|(rt, name, early)| (rt, name, early.unwrap_or_else(|| results.next().unwrap_or(Ok(()))))).collect()
}

fn result(resource_type: i8, name: &str, outcome: Result<(), TopicError>) -> alter_configs_response::AlterConfigsResourceResponse {
    let r = alter_configs_response::AlterConfigsResourceResponse::default().with_resource_type(resource_type).with_resource_name(sb(name));
    match outcome {
        Ok(()) => r,
        Err(TopicError(c, m)) => r.with_error_code(c).with_error_message(Some(sb(m))),
    }
}

pub async fn alter_configs(ctx: &Ctx<'_>, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let resources = req
        .resources
        .iter()
        .map(|r| {
            let edit = match duplicate_keys(r.configs.iter().map(|c| c.name.as_str())) {
                Some(k) => Err(TopicError(code(E::InvalidRequest), format!("Error due to duplicate config keys: {k}"))),
                None => r
                    .configs
                    .iter()
                    .map(|c| match &c.value {
                        Some(v) => Ok((c.name.to_string(), v.to_string())),
                        None => Err(TopicError(code(E::InvalidConfig), format!("Null value not supported for topic configs: {}", c.name))),
                    })
                    .collect::<Result<_, _>>()
                    .map(ConfigEdit::Replace),
            };
            (r.resource_type, r.resource_name.to_string(), edit)
        })
        .collect();
    let responses = alter(ctx, req.validate_only, resources).await.into_iter().map(|(rt, name, o)| result(rt, &name, o)).collect();
    AlterConfigsResponse::default().with_responses(responses)
}

pub async fn incremental_alter_configs(ctx: &Ctx<'_>, req: IncrementalAlterConfigsRequest) -> IncrementalAlterConfigsResponse {
    let resources = req
        .resources
        .iter()
        .map(|r| {
            let edit = match duplicate_keys(r.configs.iter().map(|c| c.name.as_str())) {
                Some(k) => Err(TopicError(code(E::InvalidRequest), format!("Error due to duplicate config keys: {k}"))),
                None => Ok(ConfigEdit::Incremental(
                    r.configs.iter().map(|c| (c.name.to_string(), c.config_operation, c.value.as_ref().map(|v| v.to_string()))).collect(),
                )),
            };
            (r.resource_type, r.resource_name.to_string(), edit)
        })
        .collect();
    let responses = alter(ctx, req.validate_only, resources)
        .await
        .into_iter()
        .map(|(rt, name, o)| {
            let x = result(rt, &name, o);
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(x.error_code)
                .with_error_message(x.error_message)
                .with_resource_type(x.resource_type)
                .with_resource_name(x.resource_name)
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// ListConfigResources (KIP-1142; v0 was ListClientMetricsResources): the resources that
/// configs can be described for. v0 lists client-metrics subscriptions; v1 the
/// asked types, all of topic, broker, broker logger, client metrics and group when none
/// is named. Needs DESCRIBE_CONFIGS on the cluster.
pub async fn list_config_resources(ctx: &Ctx<'_>, req: ListConfigResourcesRequest) -> ListConfigResourcesResponse {
    use kafka_protocol::messages::list_config_resources_response::ConfigResource;
    const TOPIC: i8 = 2;
    const BROKER: i8 = 4;
    const BROKER_LOGGER: i8 = 8;
    const CLIENT_METRICS: i8 = 16;
    const GROUP: i8 = 32;
    if !ctx.authorize(Op::DescribeConfigs, Resource::Cluster) {
        return ListConfigResourcesResponse::default().with_error_code(code(E::ClusterAuthorizationFailed));
    }
    let types: Vec<i8> = match (ctx.version, req.resource_types.is_empty()) {
        (0, _) => vec![CLIENT_METRICS],
        (_, true) => vec![TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP],
        (_, false) => req.resource_types.clone(),
    };
    if types.iter().any(|t| ![TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP].contains(t)) {
        return ListConfigResourcesResponse::default().with_error_code(code(E::UnsupportedVersion));
    }
    let image = ctx.broker.image();
    let mut out = Vec::new();
    for t in types {
        let names: Vec<String> = match t {
            TOPIC => image.topics.keys().filter(|n| ctx.authorize(Op::DescribeConfigs, Resource::Topic(n))).cloned().collect(),
            BROKER | BROKER_LOGGER => ctx.broker.endpoints_for(&ctx.conn.listener).iter().map(|e| e.id.to_string()).collect(),
            GROUP => {
                let mut gs: Vec<String> = image.group_configs.keys().map(|(g, _)| g.clone()).collect();
                gs.dedup();
                gs.into_iter().filter(|g| ctx.authorize(Op::DescribeConfigs, Resource::Group(g))).collect()
            }
            _ => {
                let mut names: Vec<String> = image.client_metrics.keys().map(|(s, _)| s.clone()).collect();
                names.dedup();
                names
            }
        };
        out.extend(names.into_iter().map(|n| ConfigResource::default().with_resource_name(sb(n)).with_resource_type(t)));
    }
    ListConfigResourcesResponse::default().with_config_resources(out)
}
