//! Admin operations over the wire protocol: topics (create, delete, partitions, describe),
//! configs, offsets and records. Errors carry the broker's code and message.

use super::cluster::{Cluster, TopicMeta};
use super::connection::ClientError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::sync::Arc;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn check(code: i16, message: Option<&StrBytes>) -> Result<(), ClientError> {
    if code == 0 { Ok(()) } else { Err(ClientError::kafka_msg(code, message.map(|m| m.as_str()))) }
}

/// A topic to create.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    pub name: String,
    /// -1: the broker's default.
    pub partitions: i32,
    pub replication_factor: i16,
    /// partition → replica broker ids.
    pub assignment: Option<BTreeMap<i32, Vec<i32>>>,
    pub configs: Vec<(String, String)>,
}

/// One config entry as described by the broker.
#[derive(Debug, Clone)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
    pub read_only: bool,
    pub sensitive: bool,
}

impl ConfigEntry {
    /// Kafka's DEFAULT_CONFIG source: not an override.
    pub fn is_default(&self) -> bool {
        self.source == 5
    }
}

/// Offset query for ListOffsets.
#[derive(Debug, Clone, Copy)]
pub enum OffsetSpec {
    Earliest,
    Latest,
    MaxTimestamp,
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Latest => -1,
            OffsetSpec::Earliest => -2,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

pub struct Admin {
    pub cluster: Arc<Cluster>,
}

impl Admin {
    pub fn new(cluster: Arc<Cluster>) -> Admin {
        Admin { cluster }
    }

    /// Topic names (sorted), with or without internal topics.
    pub async fn list_topics(&self, include_internal: bool) -> Result<Vec<String>, ClientError> {
        let meta = self.cluster.refresh(None).await?;
        Ok(meta.topics.values().filter(|t| include_internal || !t.internal).map(|t| t.name.clone()).collect())
    }

    /// Metadata of every topic (sorted by name).
    pub async fn describe_topics(&self) -> Result<Vec<TopicMeta>, ClientError> {
        Ok(self.cluster.refresh(None).await?.topics.into_values().collect())
    }

    pub async fn create_topic(&self, t: &NewTopic, validate_only: bool) -> Result<(), ClientError> {
        let mut topic = create_topics_request::CreatableTopic::default()
            .with_name(TopicName(sb(&t.name)))
            .with_num_partitions(t.partitions)
            .with_replication_factor(t.replication_factor)
            .with_configs(
                t.configs
                    .iter()
                    .map(|(k, v)| create_topics_request::CreatableTopicConfig::default().with_name(sb(k)).with_value(Some(sb(v))))
                    .collect(),
            );
        if let Some(a) = &t.assignment {
            topic = topic.with_num_partitions(-1).with_replication_factor(-1).with_assignments(
                a.iter()
                    .map(|(p, rs)| {
                        create_topics_request::CreatableReplicaAssignment::default()
                            .with_partition_index(*p)
                            .with_broker_ids(rs.iter().map(|r| BrokerId(*r)).collect())
                    })
                    .collect(),
            );
        }
        let req =
            CreateTopicsRequest::default().with_topics(vec![topic]).with_timeout_ms(self.timeout_ms()).with_validate_only(validate_only);
        let resp = self.cluster.send(self.controller(), &req).await?;
        let r = resp.topics.first().ok_or_else(|| ClientError::Protocol("empty CreateTopics response".into()))?;
        check(r.error_code, r.error_message.as_ref())
    }

    pub async fn delete_topic(&self, name: &str) -> Result<(), ClientError> {
        let v = self.cluster.version_for::<DeleteTopicsRequest>(self.controller()).await?;
        let req = if v >= 6 {
            DeleteTopicsRequest::default()
                .with_topics(vec![delete_topics_request::DeleteTopicState::default().with_name(Some(TopicName(sb(name))))])
        } else {
            DeleteTopicsRequest::default().with_topic_names(vec![TopicName(sb(name))])
        };
        let resp = self.cluster.send(self.controller(), &req.with_timeout_ms(self.timeout_ms())).await?;
        let r = resp.responses.first().ok_or_else(|| ClientError::Protocol("empty DeleteTopics response".into()))?;
        check(r.error_code, r.error_message.as_ref())
    }

    pub async fn create_partitions(&self, name: &str, count: i32, assignment: Option<Vec<Vec<i32>>>) -> Result<(), ClientError> {
        let t = create_partitions_request::CreatePartitionsTopic::default()
            .with_name(TopicName(sb(name)))
            .with_count(count)
            .with_assignments(assignment.map(|a| {
                a.into_iter()
                    .map(|rs| {
                        create_partitions_request::CreatePartitionsAssignment::default()
                            .with_broker_ids(rs.into_iter().map(BrokerId).collect())
                    })
                    .collect()
            }));
        let req = CreatePartitionsRequest::default().with_topics(vec![t]).with_timeout_ms(self.timeout_ms());
        let resp = self.cluster.send(self.controller(), &req).await?;
        let r = resp.results.first().ok_or_else(|| ClientError::Protocol("empty CreatePartitions response".into()))?;
        check(r.error_code, r.error_message.as_ref())
    }

    /// DescribeConfigs for topics (resource type 2); one result per topic, in order.
    pub async fn describe_topic_configs(&self, topics: &[String]) -> Result<Vec<Result<Vec<ConfigEntry>, ClientError>>, ClientError> {
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let req = DescribeConfigsRequest::default().with_resources(
            topics
                .iter()
                .map(|t| {
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(sb(t))
                        .with_configuration_keys(None)
                })
                .collect(),
        );
        let resp = self.cluster.send(None, &req).await?;
        Ok(resp
            .results
            .into_iter()
            .map(|r| {
                check(r.error_code, r.error_message.as_ref())?;
                Ok(r.configs
                    .into_iter()
                    .map(|c| ConfigEntry {
                        name: c.name.to_string(),
                        value: c.value.map(|v| v.to_string()),
                        source: c.config_source,
                        read_only: c.read_only,
                        sensitive: c.is_sensitive,
                    })
                    .collect())
            })
            .collect())
    }

    /// ListOffsets for partitions of one topic, sent to each partition's leader.
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: &[i32],
        spec: OffsetSpec,
    ) -> Result<Vec<(i32, Result<(i64, i64), ClientError>)>, ClientError> {
        let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for p in partitions {
            by_leader.entry(self.cluster.leader(topic, *p).await?).or_default().push(*p);
        }
        let mut out = Vec::new();
        for (leader, ps) in by_leader {
            let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
                list_offsets_request::ListOffsetsTopic::default().with_name(TopicName(sb(topic))).with_partitions(
                    ps.iter()
                        .map(|p| list_offsets_request::ListOffsetsPartition::default().with_partition_index(*p).with_timestamp(spec.wire()))
                        .collect(),
                ),
            ]);
            let resp = self.cluster.send(Some(leader), &req).await?;
            for t in resp.topics {
                for p in t.partitions {
                    let r = check(p.error_code, None).map(|_| (p.offset, p.timestamp));
                    out.push((p.partition_index, r));
                }
            }
        }
        out.sort_by_key(|(p, _)| *p);
        Ok(out)
    }

    /// DeleteRecords before `offset` (-1: the high watermark); returns the low watermark.
    pub async fn delete_records(&self, topic: &str, partition: i32, offset: i64) -> Result<i64, ClientError> {
        let leader = self.cluster.leader(topic, partition).await?;
        let req = DeleteRecordsRequest::default().with_timeout_ms(self.timeout_ms()).with_topics(vec![
            delete_records_request::DeleteRecordsTopic::default().with_name(TopicName(sb(topic))).with_partitions(vec![
                delete_records_request::DeleteRecordsPartition::default().with_partition_index(partition).with_offset(offset),
            ]),
        ]);
        let resp = self.cluster.send(Some(leader), &req).await?;
        let p = resp
            .topics
            .first()
            .and_then(|t| t.partitions.first())
            .ok_or_else(|| ClientError::Protocol("empty DeleteRecords response".into()))?;
        check(p.error_code, None)?;
        Ok(p.low_watermark)
    }

    /// Admin requests that change metadata go to the controller when it is known.
    fn controller(&self) -> Option<i32> {
        let c = self.cluster.metadata().controller;
        (c >= 0).then_some(c)
    }

    fn timeout_ms(&self) -> i32 {
        self.cluster.cfg.request_timeout.as_millis().min(i32::MAX as u128) as i32
    }
}
