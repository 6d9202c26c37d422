//! Replica log directories, as Kafka's Admin client reads and moves them:
//! `describeReplicaLogDirs` (DescribeLogDirs to each broker: the current and the future
//! directory of each replica) and `alterReplicaLogDirs` (AlterReplicaLogDirs, key 34).

use super::admin::Admin;
use super::admin_reassign::java_error;
use super::connection::ClientError;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A replica of a partition on a broker: (topic, partition, broker), printed by Kafka as
/// `topic-partition-broker`.
pub type TopicPartitionReplica = (String, i32, i32);

pub fn tpr_string(r: &TopicPartitionReplica) -> String {
    format!("{}-{}-{}", r.0, r.1, r.2)
}

/// Where a replica lives: its current directory and, while moving, its future one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaLogDirInfo {
    pub current: Option<String>,
    pub future: Option<String>,
}

impl Admin {
    /// The log directories of each replica (a replica no live directory holds has neither).
    pub async fn describe_replica_log_dirs(
        &self,
        replicas: &[TopicPartitionReplica],
    ) -> Result<BTreeMap<TopicPartitionReplica, ReplicaLogDirInfo>, ClientError> {
        let mut by_broker: BTreeMap<i32, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
        for (t, p, b) in replicas {
            by_broker.entry(*b).or_default().entry(t.clone()).or_default().push(*p);
        }
        let mut out = BTreeMap::new();
        for (broker, topics) in by_broker {
            let req = DescribeLogDirsRequest::default().with_topics(Some(
                topics
                    .iter()
                    .map(|(t, ps)| {
                        describe_log_dirs_request::DescribableLogDirTopic::default()
                            .with_topic(TopicName(sb(t)))
                            .with_partitions(ps.clone())
                    })
                    .collect(),
            ));
            let resp = self.cluster.send(Some(broker), &req).await?;
            if resp.error_code != 0 {
                return Err(java_error(resp.error_code));
            }
            for (t, ps) in &topics {
                for p in ps {
                    out.insert((t.clone(), *p, broker), ReplicaLogDirInfo::default());
                }
            }
            for dir in resp.results {
                // An offline directory reports no replicas.
                if dir.error_code == E::KafkaStorageError.code() {
                    continue;
                }
                if dir.error_code != 0 {
                    return Err(java_error(dir.error_code));
                }
                for t in dir.topics {
                    for p in t.partitions {
                        if let Some(info) = out.get_mut(&(t.name.0.to_string(), p.partition_index, broker)) {
                            let slot = if p.is_future_key { &mut info.future } else { &mut info.current };
                            *slot = Some(dir.log_dir.to_string());
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Asks each broker to move replicas to the given directories; returns each replica's
    /// error code (0 = the move started).
    pub async fn alter_replica_log_dirs(
        &self,
        moves: &BTreeMap<TopicPartitionReplica, String>,
    ) -> Result<BTreeMap<TopicPartitionReplica, i16>, ClientError> {
        let mut by_broker: BTreeMap<i32, BTreeMap<&str, BTreeMap<&str, Vec<i32>>>> = BTreeMap::new();
        for ((t, p, b), dir) in moves {
            by_broker.entry(*b).or_default().entry(dir).or_default().entry(t).or_default().push(*p);
        }
        let mut out = BTreeMap::new();
        for (broker, dirs) in by_broker {
            let req = AlterReplicaLogDirsRequest::default().with_dirs(
                dirs.iter()
                    .map(|(dir, topics)| {
                        alter_replica_log_dirs_request::AlterReplicaLogDir::default().with_path(sb(dir)).with_topics(
                            topics
                                .iter()
                                .map(|(t, ps)| {
                                    alter_replica_log_dirs_request::AlterReplicaLogDirTopic::default()
                                        .with_name(TopicName(sb(t)))
                                        .with_partitions(ps.clone())
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            );
            let resp = self.cluster.send(Some(broker), &req).await?;
            for t in resp.results {
                for p in t.partitions {
                    out.insert((t.topic_name.0.to_string(), p.partition_index, broker), p.error_code);
                }
            }
        }
        Ok(out)
    }
}
