//! CreateTopics, DeleteTopics and CreatePartitions: request checks, then one typed
//! controller command per request (the controller validates against the image with Kafka's
//! error codes and messages), then the answer. CREATE on the cluster or the topic, DELETE
//! and ALTER on the topic are checked first; refused topics never reach the controller.

use super::{Ctx, code, configs, sb};
use crate::broker::controller::{CreatedTopic, NewPartitions, TopicError, TopicRef, TopicSpec};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::*;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

pub async fn create_topics(ctx: &Ctx<'_>, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let b = ctx.broker;
    let mut seen = HashSet::new();
    let dups: HashSet<String> = req.topics.iter().filter(|t| !seen.insert(t.name.0.to_string())).map(|t| t.name.0.to_string()).collect();
    // First the request-level checks; what passes goes to the controller as one command.
    let mut checked: Vec<Result<TopicSpec, TopicError>> = Vec::new();
    let acl = ctx.acl();
    let cluster_create = acl.allowed(Op::Create, Resource::Cluster);
    for t in &req.topics {
        let name = t.name.0.to_string();
        if dups.contains(&name) {
            checked.push(Err(TopicError(
                code(E::InvalidRequest),
                format!("Create topics request from client contains duplicate topic {name}"),
            )));
            continue;
        }
        if !cluster_create && !acl.allowed(Op::Create, Resource::Topic(&name)) {
            checked.push(Err(TopicError(code(E::TopicAuthorizationFailed), E::TopicAuthorizationFailed.to_string())));
            continue;
        }
        if !t.assignments.is_empty() && (t.num_partitions != -1 || t.replication_factor != -1) {
            checked.push(Err(TopicError(
                code(E::InvalidRequest),
                "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into(),
            )));
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
            checked.push(Err(TopicError(code(E::InvalidConfig), format!("Null value not supported for topic configs: {k}"))));
            continue;
        }
        checked.push(Ok(TopicSpec {
            name: name.clone(),
            partitions: if t.num_partitions == -1 { b.config.num_partitions } else { t.num_partitions },
            replication_factor: if t.replication_factor == -1 { b.config.default_replication_factor } else { t.replication_factor },
            assignment: (!t.assignments.is_empty())
                .then(|| t.assignments.iter().map(|a| (a.partition_index, a.broker_ids.iter().map(|x| x.0).collect())).collect()),
            configs,
        }));
    }
    let specs: Vec<TopicSpec> = checked.iter().filter_map(|c| c.as_ref().ok().cloned()).collect();
    let (outcomes, throttle) = super::quotas::create_topics(ctx, specs.clone(), req.validate_only).await;
    let mut outcomes = outcomes.into_iter().zip(specs);
    let mut results = Vec::new();
    for (t, c) in req.topics.iter().zip(checked) {
        let fail = |TopicError(c, m): TopicError| {
            CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_error_code(c)
                .with_error_message(Some(sb(m)))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
        };
        let outcome = match c {
            Err(e) => Err(e),
            Ok(_) => outcomes
                .next()
                .map(|(o, spec)| o.map(|created| (created, spec)))
                .unwrap_or_else(|| Err(TopicError(code(E::UnknownServerError), "no answer from the controller".into()))),
        };
        let outcome = match outcome {
            Ok((created, spec)) if !req.validate_only => match roll_back_if_offline(b, &t.name.0, &created).await {
                Some(e) => Err(e),
                None => Ok((created, spec)),
            },
            other => other,
        };
        results.push(match outcome {
            Err(e) => fail(e),
            Ok((created, spec)) => {
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
                CreatableTopicResult::default()
                    .with_name(t.name.clone())
                    .with_topic_id(if req.validate_only { Uuid::nil() } else { created.id })
                    .with_num_partitions(created.partitions)
                    .with_replication_factor(created.replication_factor)
                    .with_configs((ctx.version >= 5 && acl.allowed(Op::DescribeConfigs, Resource::Topic(&spec.name))).then_some(entries))
                    .with_topic_config_error_code(if ctx.version >= 5 && !acl.allowed(Op::DescribeConfigs, Resource::Topic(&spec.name)) {
                        code(E::TopicAuthorizationFailed)
                    } else {
                        0
                    })
            }
        });
    }
    CreateTopicsResponse::default().with_topics(results).with_throttle_time_ms(throttle)
}

/// A topic whose partitions could not get storage here (out of descriptors or disk) is
/// deleted again, so metadata never claims partitions nobody can serve; the client gets
/// KAFKA_STORAGE_ERROR with the reason.
async fn roll_back_if_offline(b: &std::sync::Arc<crate::broker::Broker>, name: &str, created: &CreatedTopic) -> Option<TopicError> {
    let why = (0..created.partitions).find_map(|p| b.replicas.offline_reason(name, p))?;
    tracing::error!(topic = name, "rolling back the creation of a topic whose storage could not be created: {why}");
    let _ = b.controller.delete_topics(vec![TopicRef { name: None, id: created.id }]).await;
    Some(TopicError(code(E::KafkaStorageError), format!("The topic's storage could not be created: {why}")))
}

pub async fn delete_topics(ctx: &Ctx<'_>, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let b = ctx.broker;
    // v6 names topics by name or id; v1-5 by name only.
    let targets: Vec<TopicRef> = if ctx.version >= 6 {
        req.topics.iter().map(|t| TopicRef { name: t.name.as_ref().map(|n| n.0.to_string()), id: t.topic_id }).collect()
    } else {
        req.topic_names.iter().map(|n| TopicRef { name: Some(n.0.to_string()), id: Uuid::nil() }).collect()
    };
    // DELETE on each topic (one named by an unknown id is the controller's to refuse);
    // refused ones never reach the controller and are answered after the others.
    let acl = ctx.acl();
    let image = b.image();
    let may_delete = |t: &TopicRef| match t.name.clone().or_else(|| image.topic_by_id(&t.id).map(|x| x.name.clone())) {
        Some(n) => acl.allowed(Op::Delete, Resource::Topic(&n)),
        None => true,
    };
    let (targets, refused): (Vec<TopicRef>, Vec<TopicRef>) = targets.into_iter().partition(|t| may_delete(t));
    // Resolve both name and id up front so the answer carries both, like Kafka's.
    let before = b.image();
    let (outcomes, throttle) = super::quotas::delete_topics(ctx, targets.clone()).await;
    let out: Vec<DeletableTopicResult> = targets
        .into_iter()
        .zip(outcomes)
        .map(|(t, outcome)| {
            let known = match &t.name {
                Some(n) => before.topic(n).map(|x| (x.name.clone(), x.id)),
                None => before.topic_by_id(&t.id).map(|x| (x.name.clone(), x.id)),
            };
            let result = DeletableTopicResult::default()
                .with_name(t.name.clone().or_else(|| known.as_ref().map(|k| k.0.clone())).map(|n| TopicName(sb(n))))
                .with_topic_id(if ctx.version >= 6 { known.as_ref().map(|k| k.1).unwrap_or(t.id) } else { t.id });
            match outcome {
                Ok(d) if ctx.version >= 6 => result.with_topic_id(d.id),
                Ok(_) => result,
                Err(TopicError(c, m)) => result.with_error_code(c).with_error_message(Some(sb(m))),
            }
        })
        .collect();
    let out: Vec<DeletableTopicResult> = out
        .into_iter()
        .chain(refused.into_iter().map(|t| {
            let name = t.name.or_else(|| image.topic_by_id(&t.id).map(|x| x.name.clone()));
            DeletableTopicResult::default()
                .with_name(name.map(|n| TopicName(sb(n))))
                .with_topic_id(t.id)
                .with_error_code(code(E::TopicAuthorizationFailed))
                .with_error_message(Some(sb(E::TopicAuthorizationFailed.to_string())))
        }))
        .collect();
    DeleteTopicsResponse::default().with_responses(out).with_throttle_time_ms(throttle)
}

pub async fn create_partitions(ctx: &Ctx<'_>, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mut seen = HashSet::new();
    let dups: HashSet<String> = req.topics.iter().filter(|t| !seen.insert(t.name.0.to_string())).map(|t| t.name.0.to_string()).collect();
    // ALTER on each topic; refused ones never reach the controller.
    let acl = ctx.acl();
    let refused: HashSet<String> =
        req.topics.iter().map(|t| t.name.0.to_string()).filter(|n| !acl.allowed(Op::Alter, Resource::Topic(n))).collect();
    let commands: Vec<NewPartitions> = req
        .topics
        .iter()
        .filter(|t| !dups.contains(t.name.0.as_str()) && !refused.contains(t.name.0.as_str()))
        .map(|t| {
            let a = t.assignments.as_ref().map(|a| a.iter().map(|x| x.broker_ids.iter().map(|b| b.0).collect()).collect());
            NewPartitions { topic: t.name.0.to_string(), count: t.count, assignment: a }
        })
        .collect();
    let (outcomes, throttle) = super::quotas::create_partitions(ctx, commands, req.validate_only).await;
    let mut outcomes = outcomes.into_iter();
    let results = req
        .topics
        .iter()
        .map(|t| {
            let outcome = if dups.contains(t.name.0.as_str()) {
                Err(TopicError(code(E::InvalidRequest), "Duplicate topic in request.".into()))
            } else if refused.contains(t.name.0.as_str()) {
                Err(TopicError(code(E::TopicAuthorizationFailed), "The topic authorization is failed.".into()))
            } else {
                outcomes.next().unwrap_or(Ok(()))
            };
            let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            match outcome {
                Ok(()) => r,
                Err(TopicError(c, m)) => r.with_error_code(c).with_error_message(Some(sb(m))),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results).with_throttle_time_ms(throttle)
}
