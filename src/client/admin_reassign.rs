//! Admin operations for partition reassignment, as Kafka's Admin client does them:
//! ListPartitionReassignments (key 46) and AlterPartitionReassignments (key 45) at the
//! controller, the cluster's brokers with their racks (DescribeCluster, else Metadata), the
//! replicas of topics (Metadata), and IncrementalAlterConfigs for the throttle configs.
//! Per-partition errors carry the Java client's message.

use super::admin::Admin;
use super::admin_txn::TopicPartition;
use super::connection::ClientError;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// The default messages of Kafka's `Errors` for the codes these calls can answer.
fn default_message(code: i16) -> Option<&'static str> {
    Some(match code {
        -1 => "The server experienced an unexpected error when processing the request.",
        3 => "This server does not host this topic-partition.",
        5 => "There is no leader for this topic-partition as we are in the middle of a leadership election.",
        6 => {
            "For requests intended only for the leader, this error indicates that the broker is not the current leader. \
             For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition."
        }
        7 => "The request timed out.",
        29 => "Topic authorization failed.",
        31 => "Cluster authorization failed.",
        35 => "The version of API is not supported.",
        37 => "Number of partitions is below 1.",
        38 => "Replication factor is below 1 or larger than the number of available brokers.",
        39 => "Replica assignment is invalid.",
        40 => "Configuration is invalid.",
        41 => "This is not the correct controller for this cluster.",
        56 => "Disk error when trying to access log file on the disk.",
        60 => "A partition reassignment is in progress.",
        85 => "No partition reassignment is in progress.",
        _ => return None,
    })
}

/// The message of the exception Kafka's `ApiError(code, message).exception()` builds: the
/// broker's message when it sent one, else the error's default text. An empty message
/// counts as none (brokers built on kafka-protocol's defaults send "" for "no message").
pub fn java_message(code: i16, message: Option<&str>) -> String {
    match (message, default_message(code)) {
        (Some(m), _) if !m.is_empty() => m.to_string(),
        (_, Some(d)) => d.to_string(),
        (_, None) => match E::try_from_code(code) {
            Some(E::Unknown(_)) | None => format!("Unknown error code: {code}"),
            Some(e) => format!("{e} (error code {code})"),
        },
    }
}

/// A broker error code as the Java client reports it (the code's default message).
pub fn java_error(code: i16) -> ClientError {
    ClientError::Kafka { code, message: java_message(code, None) }
}

/// An ongoing reassignment (ListPartitionReassignments).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionReassignment {
    /// The full replica set (targets first, then the replicas being removed).
    pub replicas: Vec<i32>,
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// A broker as `describeCluster().nodes()` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerNode {
    pub id: i32,
    pub rack: Option<String>,
}

/// A config change of IncrementalAlterConfigs: SET a value or DELETE the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    Set(String, String),
    Delete(String),
}

/// Kafka's config resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceType {
    Topic = 2,
    Broker = 4,
}

impl Admin {
    /// Reassignment requests go to the controller when it is known, else to any broker.
    fn reassign_target(&self) -> Option<i32> {
        let c = self.cluster.metadata().controller;
        (c >= 0).then_some(c)
    }

    /// Sends to the controller; a NOT_CONTROLLER answer (the controller moved) reloads the
    /// metadata and tries again, as the Java client's ControllerNodeProvider does.
    async fn send_to_controller<R: kafka_protocol::protocol::Request>(
        &self,
        req: &R,
        top_error: fn(&R::Response) -> i16,
    ) -> Result<R::Response, ClientError> {
        for _ in 0..10 {
            let resp = self.cluster.send(self.reassign_target(), req).await?;
            if top_error(&resp) != E::NotController.code() {
                return Ok(resp);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            self.cluster.refresh(Some(&[])).await?;
        }
        self.cluster.send(self.reassign_target(), req).await
    }

    fn reassign_timeout_ms(&self) -> i32 {
        self.cluster.cfg.request_timeout.as_millis().min(i32::MAX as u128) as i32
    }

    /// The ongoing reassignments, of `partitions` only when given (None = all).
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<&BTreeSet<TopicPartition>>,
    ) -> Result<BTreeMap<TopicPartition, PartitionReassignment>, ClientError> {
        let topics = partitions.map(|ps| {
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for (t, p) in ps {
                by_topic.entry(t).or_default().push(*p);
            }
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                        .with_name(TopicName(sb(t)))
                        .with_partition_indexes(ps)
                })
                .collect()
        });
        let req = ListPartitionReassignmentsRequest::default().with_timeout_ms(self.reassign_timeout_ms()).with_topics(topics);
        let resp = self.send_to_controller(&req, |r| r.error_code).await?;
        if resp.error_code != 0 {
            return Err(ClientError::Kafka {
                code: resp.error_code,
                message: java_message(resp.error_code, resp.error_message.as_deref()),
            });
        }
        let mut out = BTreeMap::new();
        for t in resp.topics {
            for p in t.partitions {
                let ids = |v: Vec<BrokerId>| v.into_iter().map(|b| b.0).collect();
                out.insert(
                    (t.name.0.to_string(), p.partition_index),
                    PartitionReassignment { replicas: ids(p.replicas), adding: ids(p.adding_replicas), removing: ids(p.removing_replicas) },
                );
            }
        }
        Ok(out)
    }

    /// Starts (Some(target replicas)) or cancels (None) reassignments in one request.
    /// Returns each partition's outcome: Err holds the Java client's exception message.
    pub async fn alter_partition_reassignments(
        &self,
        changes: &BTreeMap<TopicPartition, Option<Vec<i32>>>,
    ) -> Result<BTreeMap<TopicPartition, Result<(), String>>, ClientError> {
        let mut out = BTreeMap::new();
        let mut by_topic: BTreeMap<&str, Vec<alter_partition_reassignments_request::ReassignablePartition>> = BTreeMap::new();
        for ((t, p), target) in changes {
            if *p < 0 {
                out.insert((t.clone(), *p), Err(format!("The given partition index {p} is not valid.")));
                continue;
            }
            by_topic.entry(t).or_default().push(
                alter_partition_reassignments_request::ReassignablePartition::default()
                    .with_partition_index(*p)
                    .with_replicas(target.as_ref().map(|rs| rs.iter().map(|r| BrokerId(*r)).collect())),
            );
        }
        if by_topic.is_empty() {
            return Ok(out);
        }
        let topics = by_topic
            .into_iter()
            .map(|(t, ps)| {
                alter_partition_reassignments_request::ReassignableTopic::default().with_name(TopicName(sb(t))).with_partitions(ps)
            })
            .collect();
        let req = AlterPartitionReassignmentsRequest::default().with_timeout_ms(self.reassign_timeout_ms()).with_topics(topics);
        let resp = self.send_to_controller(&req, |r| r.error_code).await?;
        let top = (resp.error_code != 0).then(|| java_message(resp.error_code, resp.error_message.as_deref()));
        let mut received = 0;
        for t in resp.responses {
            for p in t.partitions {
                received += 1;
                let r = match (&top, p.error_code) {
                    (Some(m), _) => Err(m.clone()),
                    (None, 0) => Ok(()),
                    (None, c) => Err(java_message(c, p.error_message.as_deref())),
                };
                out.insert((t.name.0.to_string(), p.partition_index), r);
            }
        }
        let expected = changes.keys().filter(|(_, p)| *p >= 0).count();
        if top.is_none() && out.values().all(|r| r.is_ok()) && received != expected {
            let quantifier = if received > expected { "many" } else { "less" };
            return Err(ClientError::Kafka {
                code: E::UnknownServerError.code(),
                message: format!("The server returned too {quantifier} results.Expected {expected} but received {received}"),
            });
        }
        // A partition the answer left out failed the way Java's unfinished future does.
        for tp in changes.keys() {
            out.entry(tp.clone()).or_insert_with(|| Err(java_message(E::UnknownServerError.code(), None)));
        }
        Ok(out)
    }

    /// The brokers of `describeCluster()`, in the answer's order, with their racks.
    pub async fn describe_cluster_nodes(&self) -> Result<Vec<BrokerNode>, ClientError> {
        if self.cluster.version_for::<DescribeClusterRequest>(None).await.is_ok() {
            let resp = self.cluster.send(None, &DescribeClusterRequest::default()).await?;
            if resp.error_code != 0 {
                return Err(ClientError::Kafka {
                    code: resp.error_code,
                    message: java_message(resp.error_code, resp.error_message.as_deref()),
                });
            }
            return Ok(resp
                .brokers
                .iter()
                .map(|b| BrokerNode { id: b.broker_id.0, rack: b.rack.as_ref().map(|r| r.to_string()) })
                .collect());
        }
        let resp = self.cluster.send(None, &MetadataRequest::default().with_topics(Some(Vec::new()))).await?;
        Ok(resp.brokers.iter().map(|b| BrokerNode { id: b.node_id.0, rack: b.rack.as_ref().map(|r| r.to_string()) }).collect())
    }

    /// The replicas of every partition of `topics`; a missing topic fails with Kafka's
    /// `Topic X not found.` (the first missing one in the given order).
    pub async fn replica_assignment(&self, topics: &[String]) -> Result<BTreeMap<TopicPartition, Vec<i32>>, ClientError> {
        let meta = self.cluster.refresh(Some(topics)).await?;
        let mut out = BTreeMap::new();
        for name in topics {
            match meta.topics.get(name) {
                Some(t) if t.error == 0 => {
                    for p in &t.partitions {
                        out.insert((name.clone(), p.index), p.replicas.clone());
                    }
                }
                Some(t) if t.error != E::UnknownTopicOrPartition.code() => return Err(java_error(t.error)),
                _ => {
                    return Err(ClientError::Kafka {
                        code: E::UnknownTopicOrPartition.code(),
                        message: format!("Topic {name} not found."),
                    });
                }
            }
        }
        Ok(out)
    }

    /// IncrementalAlterConfigs for topic and broker resources; the first failed resource
    /// fails the call with its message (Kafka's `all().get()`).
    pub async fn incremental_alter_configs(&self, changes: &BTreeMap<(ResourceType, String), Vec<ConfigOp>>) -> Result<(), ClientError> {
        if changes.is_empty() {
            return Ok(());
        }
        // A broker's own configs must be altered on that broker; topics go to any broker.
        let mut by_node: BTreeMap<Option<i32>, Vec<incremental_alter_configs_request::AlterConfigsResource>> = BTreeMap::new();
        for ((ty, name), ops) in changes {
            let node = match ty {
                ResourceType::Broker => name.parse::<i32>().ok(),
                ResourceType::Topic => None,
            };
            let configs = ops
                .iter()
                .map(|op| {
                    let (key, value, op) = match op {
                        ConfigOp::Set(k, v) => (k, Some(sb(v)), 0),
                        ConfigOp::Delete(k) => (k, None, 1),
                    };
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(sb(key))
                        .with_config_operation(op)
                        .with_value(value)
                })
                .collect();
            by_node.entry(node).or_default().push(
                incremental_alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(*ty as i8)
                    .with_resource_name(sb(name))
                    .with_configs(configs),
            );
        }
        for (node, resources) in by_node {
            let req = IncrementalAlterConfigsRequest::default().with_resources(resources);
            let resp = self.cluster.send(node, &req).await?;
            if let Some(r) = resp.responses.iter().find(|r| r.error_code != 0) {
                return Err(ClientError::Kafka { code: r.error_code, message: java_message(r.error_code, r.error_message.as_deref()) });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_messages_prefer_the_brokers_text() {
        assert_eq!(java_message(3, None), "This server does not host this topic-partition.");
        assert_eq!(java_message(85, Some("none here")), "none here");
        assert_eq!(java_message(85, None), "No partition reassignment is in progress.");
        assert_eq!(java_message(85, Some("")), "No partition reassignment is in progress.");
        assert_eq!(java_message(-2, None), "Unknown error code: -2");
    }
}
