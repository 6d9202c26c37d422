//! Metadata: brokers, cluster id, controller and topics (by name or topic id), with
//! auto-creation when both the broker and the request allow it.

use super::topics::{TopicSpec, commit, plan_create};
use super::{Ctx, code, sb};
use crate::broker::metadata::TopicImage;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic};
use kafka_protocol::messages::*;
use std::collections::BTreeMap;
use uuid::Uuid;

fn describe_topic(t: &TopicImage) -> MetadataResponseTopic {
    let partitions = t
        .partitions
        .iter()
        .map(|(idx, p)| {
            MetadataResponsePartition::default()
                .with_partition_index(*idx)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().map(|r| BrokerId(*r)).collect())
                .with_isr_nodes(p.isr.iter().map(|r| BrokerId(*r)).collect())
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(sb(t.name.clone()))))
        .with_topic_id(t.id)
        .with_is_internal(t.is_internal())
        .with_partitions(partitions)
}

fn missing(name: Option<String>, id: Uuid, error: E) -> MetadataResponseTopic {
    MetadataResponseTopic::default().with_name(name.map(|n| TopicName(sb(n)))).with_topic_id(id).with_error_code(code(error))
}

pub async fn handle(ctx: &Ctx<'_>, req: MetadataRequest) -> MetadataResponse {
    let b = ctx.broker;
    // v0: an empty list means all topics; v1+: null means all topics.
    let requested = match req.topics {
        Some(t) if !(ctx.version == 0 && t.is_empty()) => Some(t),
        _ => None,
    };
    let allow_auto = ctx.version < 4 || req.allow_auto_topic_creation;
    let mut topics = Vec::new();
    match requested {
        None => {
            topics.extend(b.controller.image().topics.values().map(|t| describe_topic(t)));
        }
        Some(list) => {
            for t in list {
                let image = b.controller.image();
                // By id when the name is null (or empty with an id set).
                let name = t.name.map(|n| n.0.to_string()).filter(|n| !n.is_empty() || t.topic_id.is_nil());
                match name {
                    None => topics.push(match image.topic_by_id(&t.topic_id) {
                        Some(found) => describe_topic(found),
                        None => missing(None, t.topic_id, E::UnknownTopicId),
                    }),
                    Some(name) => {
                        if let Some(found) = image.topic(&name) {
                            topics.push(describe_topic(found));
                            continue;
                        }
                        if let Err(e) = crate::broker::metadata::validate_topic_name(&name) {
                            tracing::debug!("metadata for invalid topic name: {e}");
                            topics.push(missing(Some(name), Uuid::nil(), E::InvalidTopicException));
                            continue;
                        }
                        if !(allow_auto && b.config.auto_create_topics) {
                            topics.push(missing(Some(name), Uuid::nil(), E::UnknownTopicOrPartition));
                            continue;
                        }
                        let spec = TopicSpec {
                            name: name.clone(),
                            partitions: b.config.num_partitions,
                            replication_factor: b.config.default_replication_factor.min(1),
                            assignment: None,
                            configs: BTreeMap::new(),
                        };
                        let created = commit(b, |img| if img.topic(&name).is_some() { Ok(vec![]) } else { plan_create(b, img, &spec) });
                        let image = b.controller.image();
                        topics.push(match (created, image.topic(&name)) {
                            (Ok(()), Some(found)) => describe_topic(found),
                            (Err(e), _) => {
                                tracing::warn!(topic = %name, "auto-create failed: {}", e.1);
                                missing(Some(name), Uuid::nil(), E::UnknownTopicOrPartition)
                            }
                            _ => missing(Some(name), Uuid::nil(), E::UnknownTopicOrPartition),
                        });
                    }
                }
            }
        }
    }
    let broker = MetadataResponseBroker::default()
        .with_node_id(BrokerId(b.config.node_id))
        .with_host(sb(b.config.advertised_host.clone()))
        .with_port(b.config.advertised_port as i32);
    MetadataResponse::default()
        .with_brokers(vec![broker])
        .with_cluster_id(Some(sb(b.cluster_id.clone())))
        .with_controller_id(BrokerId(b.config.node_id))
        .with_topics(topics)
}
