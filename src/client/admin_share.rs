//! Admin operations on share groups (KIP-932): describe a group with ShareGroupDescribe,
//! read, alter and delete its share-partition start offsets (Describe/Alter/
//! DeleteShareGroupOffsets), all at the group's coordinator. Listing and deleting use ListGroups and DeleteGroups
//! (`admin_groups`).

use super::admin::Admin;
use super::admin_groups::{GroupDescription, MemberDescription};
use super::connection::ClientError;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl Admin {
    /// ShareGroupDescribe; None when the group does not exist (or is not a share group).
    pub async fn describe_share_group(&self, group: &str) -> Result<Option<GroupDescription>, ClientError> {
        let coord = self.cluster.coordinator(group).await?;
        let req = ShareGroupDescribeRequest::default().with_group_ids(vec![GroupId(sb(group))]);
        let resp = self.cluster.send(Some(coord), &req).await?;
        let Some(g) = resp.groups.into_iter().next() else { return Ok(None) };
        if g.error_code == E::GroupIdNotFound.code() {
            return Ok(None);
        }
        if g.error_code != 0 {
            return Err(ClientError::kafka(g.error_code));
        }
        let (host, port) = self.cluster.metadata().brokers.get(&coord).cloned().unwrap_or_default();
        Ok(Some(GroupDescription {
            group_id: group.to_string(),
            state: g.group_state.to_string(),
            protocol_type: "share".into(),
            assignment_strategy: g.assignor_name.to_string(),
            members: g
                .members
                .iter()
                .map(|m| MemberDescription {
                    member_id: m.member_id.to_string(),
                    instance_id: None,
                    client_id: m.client_id.to_string(),
                    host: m.client_host.to_string(),
                    assignment: m
                        .assignment
                        .topic_partitions
                        .iter()
                        .flat_map(|t| t.partitions.iter().map(|p| (t.topic_name.0.to_string(), *p)))
                        .collect::<BTreeSet<_>>(),
                    epoch: Some(m.member_epoch),
                    target_assignment: None,
                })
                .collect(),
            coordinator: (coord, host, port),
            error: 0,
            group_type: "share".into(),
            epochs: Some((g.group_epoch, g.assignment_epoch)),
        }))
    }

    /// The share-partition start offsets of a share group: (topic, partition) → offset
    /// (-1 where the partition has none yet).
    pub async fn share_group_offsets(&self, group: &str) -> Result<BTreeMap<(String, i32), i64>, ClientError> {
        use describe_share_group_offsets_request as rq;
        let coord = self.cluster.coordinator(group).await?;
        let req = DescribeShareGroupOffsetsRequest::default()
            .with_groups(vec![rq::DescribeShareGroupOffsetsRequestGroup::default().with_group_id(GroupId(sb(group))).with_topics(None)]);
        let resp = self.cluster.send(Some(coord), &req).await?;
        let mut out = BTreeMap::new();
        for g in resp.groups {
            if g.error_code != 0 {
                return Err(ClientError::kafka(g.error_code));
            }
            for t in g.topics {
                for p in t.partitions.iter().filter(|p| p.error_code == 0) {
                    out.insert((t.topic_name.0.to_string(), p.partition_index), p.start_offset);
                }
            }
        }
        Ok(out)
    }

    /// AlterShareGroupOffsets: new start offsets for an empty share group. Ok: each
    /// partition's error code; Err: the group's (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, ...).
    pub async fn alter_share_group_offsets(
        &self,
        group: &str,
        plan: &BTreeMap<(String, i32), i64>,
    ) -> Result<BTreeMap<(String, i32), i16>, ClientError> {
        use alter_share_group_offsets_request as rq;
        let mut by_topic: BTreeMap<&str, Vec<rq::AlterShareGroupOffsetsRequestPartition>> = BTreeMap::new();
        for ((t, p), o) in plan {
            by_topic
                .entry(t)
                .or_default()
                .push(rq::AlterShareGroupOffsetsRequestPartition::default().with_partition_index(*p).with_start_offset(*o));
        }
        let topics = by_topic
            .into_iter()
            .map(|(t, ps)| rq::AlterShareGroupOffsetsRequestTopic::default().with_topic_name(TopicName(sb(t))).with_partitions(ps))
            .collect();
        let coord = self.cluster.coordinator(group).await?;
        let req = AlterShareGroupOffsetsRequest::default().with_group_id(GroupId(sb(group))).with_topics(topics);
        let resp = self.cluster.send(Some(coord), &req).await?;
        if resp.error_code != 0 {
            return Err(ClientError::kafka(resp.error_code));
        }
        Ok(resp
            .responses
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |p| ((t.topic_name.0.to_string(), p.partition_index), p.error_code)))
            .collect())
    }

    /// DeleteShareGroupOffsets: forgets whole topics' start offsets of an empty share group.
    /// Ok: each topic's error code; Err: the group's.
    pub async fn delete_share_group_offsets(&self, group: &str, topics: &[String]) -> Result<BTreeMap<String, i16>, ClientError> {
        use delete_share_group_offsets_request as rq;
        let coord = self.cluster.coordinator(group).await?;
        let req = DeleteShareGroupOffsetsRequest::default().with_group_id(GroupId(sb(group))).with_topics(
            topics.iter().map(|t| rq::DeleteShareGroupOffsetsRequestTopic::default().with_topic_name(TopicName(sb(t)))).collect(),
        );
        let resp = self.cluster.send(Some(coord), &req).await?;
        if resp.error_code != 0 {
            return Err(ClientError::kafka(resp.error_code));
        }
        Ok(resp.responses.iter().map(|t| (t.topic_name.0.to_string(), t.error_code)).collect())
    }
}
