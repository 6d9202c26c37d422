//! Metadata: brokers, cluster id, controller and topics (by name or topic id), with
//! auto-creation when both the broker and the request allow it. Topics the principal may
//! not DESCRIBE are left out of "all topics" and refused by name; auto-creation needs
//! CREATE on the cluster or the topic.

use super::{Ctx, code, sb};
use crate::broker::controller::TopicSpec;
use crate::broker::metadata::TopicImage;
use crate::broker::security::acl::{AclCheck, Op, Resource};
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
                .with_error_code(if p.leader < 0 { code(E::LeaderNotAvailable) } else { 0 })
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

/// With the topic's authorized operations when the client asked for them (v8+).
fn with_ops(t: MetadataResponseTopic, acl: &AclCheck<'_>, asked: bool, name: &str) -> MetadataResponseTopic {
    if asked { t.with_topic_authorized_operations(acl.authorized_ops(Resource::Topic(name))) } else { t }
}

pub async fn handle(ctx: &Ctx<'_>, req: MetadataRequest) -> MetadataResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    let ops = req.include_topic_authorized_operations;
    let may_create = |name: &str| acl.allowed(Op::Create, Resource::Cluster) || acl.allowed(Op::Create, Resource::Topic(name));
    // v0: an empty list means all topics; v1+: null means all topics.
    let requested = match req.topics {
        Some(t) if !(ctx.version == 0 && t.is_empty()) => Some(t),
        _ => None,
    };
    let allow_auto = ctx.version < 4 || req.allow_auto_topic_creation;
    let mut topics = Vec::new();
    match requested {
        None => {
            let image = b.image();
            let visible = image.topics.values().filter(|t| acl.allowed(Op::Describe, Resource::Topic(&t.name)));
            topics.extend(visible.map(|t| with_ops(describe_topic(t), &acl, ops, &t.name)));
        }
        Some(list) => {
            // Unknown names that may be auto-created go to the controller as one command.
            let image = b.image();
            let mut to_create = Vec::new();
            for t in &list {
                // By id when the name is null (or empty with an id set).
                let name = t.name.as_ref().map(|n| n.0.to_string()).filter(|n| !n.is_empty() || t.topic_id.is_nil());
                if let Some(name) = name
                    && image.topic(&name).is_none()
                    && crate::broker::metadata::validate_topic_name(&name).is_ok()
                    && allow_auto
                    && b.config.auto_create_topics
                    && acl.allowed(Op::Describe, Resource::Topic(&name))
                    && may_create(&name)
                    && !to_create.iter().any(|s: &TopicSpec| s.name == name)
                {
                    to_create.push(TopicSpec {
                        name,
                        partitions: b.config.num_partitions,
                        // One node: one replica, whatever the default says.
                        replication_factor: if b.quorum.is_some() { b.config.default_replication_factor } else { 1 },
                        assignment: None,
                        configs: BTreeMap::new(),
                    });
                }
            }
            let mut failed = std::collections::HashSet::new();
            if !to_create.is_empty() {
                let names: Vec<String> = to_create.iter().map(|s| s.name.clone()).collect();
                for (n, outcome) in names.into_iter().zip(b.controller.create_topics(to_create, false, true).await) {
                    if let Err(e) = outcome {
                        tracing::warn!(topic = %n, "auto-create failed: {}", e.1);
                        failed.insert(n);
                    }
                }
            }
            let image = b.image();
            for t in list {
                let name = t.name.map(|n| n.0.to_string()).filter(|n| !n.is_empty() || t.topic_id.is_nil());
                topics.push(match name {
                    None => match image.topic_by_id(&t.topic_id) {
                        // Topic ids are not secret: a refused one is named by id only.
                        Some(found) if !acl.allowed(Op::Describe, Resource::Topic(&found.name)) => {
                            missing(None, t.topic_id, E::TopicAuthorizationFailed)
                        }
                        Some(found) => with_ops(describe_topic(found), &acl, ops, &found.name),
                        None => missing(None, t.topic_id, E::UnknownTopicId),
                    },
                    // Whether a refused topic exists is not disclosed.
                    Some(name) if !acl.allowed(Op::Describe, Resource::Topic(&name)) => {
                        missing(Some(name), Uuid::nil(), E::TopicAuthorizationFailed)
                    }
                    Some(name) => match image.topic(&name) {
                        Some(found) if !failed.contains(&name) => with_ops(describe_topic(found), &acl, ops, &name),
                        None if allow_auto && b.config.auto_create_topics && !may_create(&name) => {
                            missing(Some(name), Uuid::nil(), E::TopicAuthorizationFailed)
                        }
                        _ if crate::broker::metadata::validate_topic_name(&name).is_err() => {
                            missing(Some(name), Uuid::nil(), E::InvalidTopicException)
                        }
                        _ => missing(Some(name), Uuid::nil(), E::UnknownTopicOrPartition),
                    },
                });
            }
        }
    }
    let brokers = b
        .endpoints_for(&ctx.conn.listener)
        .into_iter()
        .map(|e| {
            MetadataResponseBroker::default().with_node_id(BrokerId(e.id)).with_host(sb(e.host)).with_port(e.port).with_rack(e.rack.map(sb))
        })
        .collect();
    // v8-10: the cluster's authorized operations (0 without DESCRIBE on it, as Kafka).
    let cluster_ops = match req.include_cluster_authorized_operations {
        true if acl.allowed(Op::Describe, Resource::Cluster) => acl.authorized_ops(Resource::Cluster),
        true => 0,
        false => i32::MIN,
    };
    MetadataResponse::default()
        .with_cluster_authorized_operations(cluster_ops)
        .with_brokers(brokers)
        .with_cluster_id(Some(sb(b.cluster_id.clone())))
        .with_controller_id(BrokerId(b.controller_id()))
        .with_topics(topics)
}
