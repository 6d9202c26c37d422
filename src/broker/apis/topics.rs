//! CreateTopics, DeleteTopics and CreatePartitions (and the topic-creation planning that
//! Metadata's auto-create shares): validation with Kafka's error codes and messages, then
//! metadata records written through the controller.

use super::{Ctx, code, configs, sb};
use crate::broker::Broker;
use crate::broker::log::LogError;
use crate::broker::metadata::{MetadataImage, MetadataRecord, validate_topic_name};
use crate::broker::topic_config;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

/// A refused topic operation: Kafka error code and message.
#[derive(Debug)]
pub struct TopicError(pub i16, pub String);

impl From<LogError> for TopicError {
    fn from(e: LogError) -> Self {
        TopicError(e.code(), e.to_string())
    }
}

/// A topic to create, after defaults were filled in.
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Explicit assignment: partition index → replica broker ids.
    pub assignment: Option<BTreeMap<i32, Vec<i32>>>,
    pub configs: BTreeMap<String, String>,
}

fn check_replicas(broker: &Broker, replicas: &[i32]) -> Result<(), TopicError> {
    let mut seen = HashSet::new();
    for r in replicas {
        if !seen.insert(*r) {
            return Err(TopicError(code(E::InvalidReplicaAssignment), format!("Duplicate replica assignment found: {replicas:?}")));
        }
        if *r != broker.config.node_id {
            return Err(TopicError(code(E::InvalidReplicaAssignment), format!("Replica assignment contains unknown broker id {r}")));
        }
    }
    if replicas.is_empty() {
        return Err(TopicError(code(E::InvalidReplicaAssignment), "The replica assignment is empty.".into()));
    }
    Ok(())
}

/// Validates a creation against the image and returns the records that perform it.
pub fn plan_create(broker: &Broker, image: &MetadataImage, spec: &TopicSpec) -> Result<Vec<MetadataRecord>, TopicError> {
    validate_topic_name(&spec.name).map_err(|m| TopicError(code(E::InvalidTopicException), m))?;
    if image.topic(&spec.name).is_some() {
        return Err(TopicError(code(E::TopicAlreadyExists), format!("Topic '{}' already exists.", spec.name)));
    }
    let live_brokers = 1;
    let assignment: BTreeMap<i32, Vec<i32>> = match &spec.assignment {
        Some(a) => {
            for (i, (p, replicas)) in a.iter().enumerate() {
                if *p != i as i32 {
                    return Err(TopicError(
                        code(E::InvalidReplicaAssignment),
                        "Partitions should be a consecutive 0-based integer sequence".into(),
                    ));
                }
                check_replicas(broker, replicas)?;
            }
            a.clone()
        }
        None => {
            if spec.partitions <= 0 {
                return Err(TopicError(
                    code(E::InvalidPartitions),
                    "Number of partitions was set to an invalid non-positive value.".into(),
                ));
            }
            if spec.replication_factor <= 0 {
                return Err(TopicError(
                    code(E::InvalidReplicationFactor),
                    "Replication factor must be larger than 0, or -1 to use the default value.".into(),
                ));
            }
            if spec.replication_factor as i32 > live_brokers {
                return Err(TopicError(
                    code(E::InvalidReplicationFactor),
                    format!(
                        "Unable to replicate the partition {} time(s): The target replication factor of {} cannot be reached because only {live_brokers} broker(s) are registered.",
                        spec.replication_factor, spec.replication_factor
                    ),
                ));
            }
            (0..spec.partitions).map(|p| (p, vec![broker.config.node_id])).collect()
        }
    };
    topic_config::validate_overrides(spec.configs.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))))
        .map_err(|m| TopicError(code(E::InvalidConfig), m))?;
    let id = Uuid::new_v4();
    let mut recs = vec![MetadataRecord::Topic { name: spec.name.clone(), id }];
    for (k, v) in &spec.configs {
        recs.push(MetadataRecord::TopicConfig { topic_id: id, name: k.clone(), value: Some(v.clone()) });
    }
    for (p, replicas) in assignment {
        let leader = replicas[0];
        recs.push(MetadataRecord::Partition { topic_id: id, partition: p, isr: replicas.clone(), replicas, leader, leader_epoch: 0 });
    }
    Ok(recs)
}

/// Writes a planned change and makes the replica manager follow it.
pub fn commit(
    broker: &Arc<Broker>,
    decide: impl FnOnce(&MetadataImage) -> Result<Vec<MetadataRecord>, TopicError>,
) -> Result<(), TopicError> {
    let image = broker.controller.update(decide)?;
    broker.replicas.reconcile(&image)?;
    Ok(())
}

pub async fn create_topics(ctx: &Ctx<'_>, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let b = ctx.broker;
    let mut seen = HashSet::new();
    let dups: HashSet<String> = req.topics.iter().filter(|t| !seen.insert(t.name.0.to_string())).map(|t| t.name.0.to_string()).collect();
    let mut results = Vec::new();
    for t in &req.topics {
        let name = t.name.0.to_string();
        let fail = |c: i16, m: String| {
            CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_error_code(c)
                .with_error_message(Some(sb(m)))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
        };
        if dups.contains(&name) {
            results.push(fail(code(E::InvalidRequest), format!("Create topics request from client contains duplicate topic {name}")));
            continue;
        }
        if !t.assignments.is_empty() && (t.num_partitions != -1 || t.replication_factor != -1) {
            results.push(fail(
                code(E::InvalidRequest),
                "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into(),
            ));
            continue;
        }
        let mut configs = BTreeMap::new();
        let mut null_config = None;
        for c in &t.configs {
            match &c.value {
                Some(v) => {
                    configs.insert(c.name.to_string(), v.to_string());
                }
                None => null_config = Some(c.name.to_string()),
            }
        }
        if let Some(k) = null_config {
            results.push(fail(code(E::InvalidConfig), format!("Null value not supported for topic configs: {k}")));
            continue;
        }
        let spec = TopicSpec {
            name: name.clone(),
            partitions: if t.num_partitions == -1 { b.config.num_partitions } else { t.num_partitions },
            replication_factor: if t.replication_factor == -1 { b.config.default_replication_factor } else { t.replication_factor },
            assignment: (!t.assignments.is_empty())
                .then(|| t.assignments.iter().map(|a| (a.partition_index, a.broker_ids.iter().map(|x| x.0).collect())).collect()),
            configs,
        };
        let outcome = if req.validate_only {
            plan_create(b, &b.controller.image(), &spec).map(|_| ())
        } else {
            commit(b, |img| plan_create(b, img, &spec))
        };
        match outcome {
            Err(TopicError(c, m)) => results.push(fail(c, m)),
            Ok(()) => {
                let image = b.controller.image();
                let id = image.topic(&name).map(|t| t.id).unwrap_or(Uuid::nil());
                let parts = spec.assignment.as_ref().map(|a| a.len() as i32).unwrap_or(spec.partitions);
                let rf =
                    spec.assignment.as_ref().and_then(|a| a.values().next()).map(|r| r.len() as i16).unwrap_or(spec.replication_factor);
                let entries = configs::topic_entries(&b.config, &spec.configs)
                    .into_iter()
                    .map(|e| {
                        CreatableTopicConfigs::default()
                            .with_name(sb(e.name))
                            .with_value(e.value.map(sb))
                            .with_config_source(e.source)
                            .with_read_only(false)
                    })
                    .collect();
                results.push(
                    CreatableTopicResult::default()
                        .with_name(t.name.clone())
                        .with_topic_id(id)
                        .with_num_partitions(parts)
                        .with_replication_factor(rf)
                        .with_configs((ctx.version >= 5).then_some(entries)),
                );
            }
        }
    }
    CreateTopicsResponse::default().with_topics(results)
}

pub async fn delete_topics(ctx: &Ctx<'_>, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let b = ctx.broker;
    // v6 names topics by name or id; v1-5 by name only.
    let targets: Vec<(Option<String>, Uuid)> = if ctx.version >= 6 {
        req.topics.iter().map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id)).collect()
    } else {
        req.topic_names.iter().map(|n| (Some(n.0.to_string()), Uuid::nil())).collect()
    };
    let enabled = b.config.props.get("delete.topic.enable").is_none_or(|v| v.trim().eq_ignore_ascii_case("true"));
    let mut out = Vec::new();
    for (name, id) in targets {
        // Resolve both name and id up front so the answer carries both, like Kafka's.
        let before = b.controller.image();
        let known = match &name {
            Some(n) => before.topic(n).map(|t| (t.name.clone(), t.id)),
            None => before.topic_by_id(&id).map(|t| (t.name.clone(), t.id)),
        };
        let result = DeletableTopicResult::default()
            .with_name(name.clone().or_else(|| known.as_ref().map(|k| k.0.clone())).map(|n| TopicName(sb(n))))
            .with_topic_id(if ctx.version >= 6 { known.as_ref().map(|k| k.1).unwrap_or(id) } else { id });
        let outcome = commit(b, |img| {
            if !enabled {
                return Err(TopicError(code(E::TopicDeletionDisabled), "Topic deletion is disabled.".into()));
            }
            let topic = match (&name, id.is_nil()) {
                (Some(_), false) => {
                    return Err(TopicError(code(E::InvalidRequest), "Topic name and topic id cannot both be set.".into()));
                }
                (Some(n), true) => img.topic(n).ok_or_else(|| {
                    TopicError(code(E::UnknownTopicOrPartition), "This server does not host this topic-partition.".into())
                })?,
                (None, false) => img
                    .topic_by_id(&id)
                    .ok_or_else(|| TopicError(code(E::UnknownTopicId), "This server does not host this topic ID.".into()))?,
                (None, true) => return Err(TopicError(code(E::InvalidRequest), "Neither topic name nor id was set.".into())),
            };
            Ok(vec![MetadataRecord::RemoveTopic { id: topic.id }])
        });
        out.push(match outcome {
            Ok(()) => result,
            Err(TopicError(c, m)) => result.with_error_code(c).with_error_message(Some(sb(m))),
        });
    }
    DeleteTopicsResponse::default().with_responses(out)
}

fn plan_partitions(
    b: &Broker,
    img: &MetadataImage,
    t: &create_partitions_request::CreatePartitionsTopic,
) -> Result<Vec<MetadataRecord>, TopicError> {
    let name = t.name.0.to_string();
    let topic =
        img.topic(&name).ok_or_else(|| TopicError(code(E::UnknownTopicOrPartition), format!("The topic '{name}' does not exist.")))?;
    let current = topic.partitions.len() as i32;
    if t.count < current {
        return Err(TopicError(
            code(E::InvalidPartitions),
            format!("Topic currently has {current} partitions, which is higher than the requested {}.", t.count),
        ));
    }
    if t.count == current {
        return Err(TopicError(code(E::InvalidPartitions), format!("Topic already has {current} partitions.")));
    }
    let added = t.count - current;
    // An empty list is treated like null (automatic placement).
    let assignments: Vec<Vec<i32>> = match t.assignments.as_ref().filter(|a| !a.is_empty()) {
        Some(a) => {
            if a.len() as i32 != added {
                return Err(TopicError(
                    code(E::InvalidReplicaAssignment),
                    format!("Attempted to add {added} additional partition(s), but only {} assignment(s) were specified.", a.len()),
                ));
            }
            let lists: Vec<Vec<i32>> = a.iter().map(|x| x.broker_ids.iter().map(|b| b.0).collect()).collect();
            for l in &lists {
                check_replicas(b, l)?;
            }
            lists
        }
        None => (0..added).map(|_| vec![b.config.node_id]).collect(),
    };
    Ok(assignments
        .into_iter()
        .enumerate()
        .map(|(i, replicas)| MetadataRecord::Partition {
            topic_id: topic.id,
            partition: current + i as i32,
            isr: replicas.clone(),
            leader: replicas[0],
            replicas,
            leader_epoch: 0,
        })
        .collect())
}

pub async fn create_partitions(ctx: &Ctx<'_>, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let b = ctx.broker;
    let mut seen = HashSet::new();
    let dups: HashSet<String> = req.topics.iter().filter(|t| !seen.insert(t.name.0.to_string())).map(|t| t.name.0.to_string()).collect();
    let mut results = Vec::new();
    for t in &req.topics {
        let outcome = if dups.contains(t.name.0.as_str()) {
            Err(TopicError(code(E::InvalidRequest), "Duplicate topic in request.".into()))
        } else if req.validate_only {
            plan_partitions(b, &b.controller.image(), t).map(|_| ())
        } else {
            commit(b, |img| plan_partitions(b, img, t))
        };
        let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
        results.push(match outcome {
            Ok(()) => r,
            Err(TopicError(c, m)) => r.with_error_code(c).with_error_message(Some(sb(m))),
        });
    }
    CreatePartitionsResponse::default().with_results(results)
}
