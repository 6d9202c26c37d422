//! Topic commands of the controller (Kafka's ReplicationControlManager): creating topics
//! and partitions (with replica placement) and deleting topics, validated against the image
//! with Kafka's error codes and messages.

use super::{Outcome, PlanContext, TopicError};
use crate::broker::metadata::{MetadataImage, MetadataRecord, TopicImage, validate_topic_name};
use crate::broker::topic_config;
use kafka_protocol::error::ResponseError as E;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

fn err<T>(e: E, msg: impl Into<String>) -> Outcome<T> {
    Err(TopicError(e.code(), msg.into()))
}

/// A topic to create, after defaults were filled in.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Explicit assignment: partition index → replica broker ids.
    pub assignment: Option<BTreeMap<i32, Vec<i32>>>,
    pub configs: BTreeMap<String, String>,
}

/// What a creation produced (or found, for create-if-absent).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CreatedTopic {
    pub id: Uuid,
    pub partitions: i32,
    pub replication_factor: i16,
}

impl CreatedTopic {
    pub(super) fn existing(t: &TopicImage) -> CreatedTopic {
        let rf = t.partitions.values().next().map_or(0, |p| p.replicas.len() as i16);
        CreatedTopic { id: t.id, partitions: t.partitions.len() as i32, replication_factor: rf }
    }
}

/// CreatePartitions for one topic: the new total count and, optionally, the replicas of
/// each added partition.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NewPartitions {
    pub topic: String,
    pub count: i32,
    pub assignment: Option<Vec<Vec<i32>>>,
}

/// A topic to delete: by name, by id, or (invalid) both or neither.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TopicRef {
    pub name: Option<String>,
    pub id: Uuid,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeletedTopic {
    pub name: String,
    pub id: Uuid,
}

fn check_replicas(ctx: &PlanContext<'_>, img: &MetadataImage, replicas: &[i32]) -> Outcome<()> {
    let live: Vec<i32> = ctx.candidates(img).iter().map(|c| c.id).collect();
    let mut seen = HashSet::new();
    for r in replicas {
        if !seen.insert(*r) {
            return err(E::InvalidReplicaAssignment, format!("Duplicate replica assignment found: {replicas:?}"));
        }
        if !live.contains(r) {
            return err(E::InvalidReplicaAssignment, format!("Replica assignment contains unknown broker id {r}"));
        }
    }
    if replicas.is_empty() {
        return err(E::InvalidReplicaAssignment, "The replica assignment is empty.");
    }
    Ok(())
}

/// Places `count` partitions starting at index `first` with `rf` replicas each over the
/// usable brokers (placement.rs: Kafka's spread, rack-aware with `broker.rack`).
fn place(ctx: &PlanContext<'_>, img: &MetadataImage, first: i32, count: i32, rf: i16) -> Outcome<Vec<Vec<i32>>> {
    let live = ctx.candidates(img);
    if rf as usize > live.len() {
        return err(
            E::InvalidReplicationFactor,
            format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {} broker(s) are registered.",
                live.len()
            ),
        );
    }
    Ok(super::placement::assign(&live, first, count, rf as usize, None))
}

/// Validates a creation against the image; returns what it creates and the records.
pub(super) fn plan_create(ctx: &PlanContext<'_>, image: &MetadataImage, spec: &TopicSpec) -> Outcome<(CreatedTopic, Vec<MetadataRecord>)> {
    validate_topic_name(&spec.name).map_err(|m| TopicError(E::InvalidTopicException.code(), m))?;
    if image.topic(&spec.name).is_some() {
        return err(E::TopicAlreadyExists, format!("Topic '{}' already exists.", spec.name));
    }
    let assignment: Vec<Vec<i32>> = match &spec.assignment {
        Some(a) => {
            for (i, (p, replicas)) in a.iter().enumerate() {
                if *p != i as i32 {
                    return err(E::InvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence");
                }
                check_replicas(ctx, image, replicas)?;
            }
            a.values().cloned().collect()
        }
        None => {
            if spec.partitions <= 0 {
                return err(E::InvalidPartitions, "Number of partitions was set to an invalid non-positive value.");
            }
            if spec.replication_factor <= 0 {
                return err(E::InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.");
            }
            place(ctx, image, 0, spec.partitions, spec.replication_factor)?
        }
    };
    topic_config::validate_overrides(spec.configs.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))))
        .map_err(|m| TopicError(E::InvalidConfig.code(), m))?;
    let id = Uuid::new_v4();
    let created =
        CreatedTopic { id, partitions: assignment.len() as i32, replication_factor: assignment.first().map_or(0, |r| r.len() as i16) };
    let mut recs = vec![MetadataRecord::Topic { name: spec.name.clone(), id }];
    for (k, v) in &spec.configs {
        recs.push(MetadataRecord::TopicConfig { topic_id: id, name: k.clone(), value: Some(v.clone()) });
    }
    for (p, replicas) in assignment.into_iter().enumerate() {
        recs.push(MetadataRecord::new_partition(id, p as i32, replicas));
    }
    Ok((created, recs))
}

pub(super) fn plan_delete(ctx: &PlanContext<'_>, img: &MetadataImage, t: &TopicRef) -> Outcome<(DeletedTopic, Vec<MetadataRecord>)> {
    if !ctx.config.flag("delete.topic.enable") {
        return err(E::TopicDeletionDisabled, "Topic deletion is disabled.");
    }
    let topic = match (&t.name, t.id.is_nil()) {
        (Some(_), false) => return err(E::InvalidRequest, "Topic name and topic id cannot both be set."),
        (Some(n), true) => img
            .topic(n)
            .ok_or_else(|| TopicError(E::UnknownTopicOrPartition.code(), "This server does not host this topic-partition.".into()))?,
        (None, false) => {
            img.topic_by_id(&t.id).ok_or_else(|| TopicError(E::UnknownTopicId.code(), "This server does not host this topic ID.".into()))?
        }
        (None, true) => return err(E::InvalidRequest, "Neither topic name nor id was set."),
    };
    Ok((DeletedTopic { name: topic.name.clone(), id: topic.id }, vec![MetadataRecord::RemoveTopic { id: topic.id }]))
}

pub(super) fn plan_partitions(
    ctx: &PlanContext<'_>,
    img: &MetadataImage,
    name: &str,
    count: i32,
    assignments: Option<&[Vec<i32>]>,
) -> Outcome<Vec<MetadataRecord>> {
    let topic =
        img.topic(name).ok_or_else(|| TopicError(E::UnknownTopicOrPartition.code(), format!("The topic '{name}' does not exist.")))?;
    let current = topic.partitions.len() as i32;
    if count < current {
        return err(E::InvalidPartitions, format!("Topic currently has {current} partitions, which is higher than the requested {count}."));
    }
    if count == current {
        return err(E::InvalidPartitions, format!("Topic already has {current} partitions."));
    }
    let added = count - current;
    // An empty list is treated like null (automatic placement).
    let lists: Vec<Vec<i32>> = match assignments.filter(|a| !a.is_empty()) {
        Some(a) => {
            if a.len() as i32 != added {
                return err(
                    E::InvalidReplicaAssignment,
                    format!("Attempted to add {added} additional partition(s), but only {} assignment(s) were specified.", a.len()),
                );
            }
            for l in a {
                check_replicas(ctx, img, l)?;
            }
            a.to_vec()
        }
        None => {
            let rf = topic.partitions.values().next().map_or(1, |p| p.replicas.len() as i16);
            place(ctx, img, current, added, rf)?
        }
    };
    Ok(lists.into_iter().enumerate().map(|(i, replicas)| MetadataRecord::new_partition(topic.id, current + i as i32, replicas)).collect())
}
