//! Admin operations on consumer groups: list, describe (members and assignments),
//! committed offsets, standalone commits (offset resets), delete groups and offsets.

use super::admin::Admin;
use super::connection::ClientError;
use super::consumer::assignors;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

#[derive(Debug, Clone)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: String,
    pub group_type: String,
}

#[derive(Debug, Clone)]
pub struct MemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    pub assignment: BTreeSet<(String, i32)>,
    /// Consumer-protocol groups (KIP-848): the member's epoch and target assignment.
    pub epoch: Option<i32>,
    pub target_assignment: Option<BTreeSet<(String, i32)>>,
}

#[derive(Debug, Clone)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    pub assignment_strategy: String,
    pub members: Vec<MemberDescription>,
    pub coordinator: (i32, String, i32),
    pub error: i16,
    /// "classic" or "consumer".
    pub group_type: String,
    /// Consumer-protocol groups: (group epoch, target assignment epoch).
    pub epochs: Option<(i32, i32)>,
}

impl Admin {
    pub async fn list_groups(&self, states: &[String], types: &[String]) -> Result<Vec<GroupListing>, ClientError> {
        let meta = self.cluster.metadata();
        let mut out = BTreeMap::new();
        for node in meta.brokers.keys() {
            let v = self.cluster.version_for::<ListGroupsRequest>(Some(*node)).await?;
            let mut req = ListGroupsRequest::default();
            if v >= 4 {
                req = req.with_states_filter(states.iter().map(|s| sb(s)).collect());
            }
            if v >= 5 {
                req = req.with_types_filter(types.iter().map(|s| sb(s)).collect());
            }
            let resp = self.cluster.send(Some(*node), &req).await?;
            if resp.error_code != 0 {
                return Err(ClientError::kafka(resp.error_code));
            }
            for g in resp.groups {
                let listing = GroupListing {
                    group_id: g.group_id.0.to_string(),
                    protocol_type: g.protocol_type.to_string(),
                    state: g.group_state.to_string(),
                    group_type: if g.group_type.is_empty() { "classic".into() } else { g.group_type.to_string() },
                };
                out.insert(listing.group_id.clone(), listing);
            }
        }
        Ok(out.into_values().collect())
    }

    /// Describes a group: with ConsumerGroupDescribe first where the coordinator serves it
    /// (a consumer-protocol group), else — or for a classic group — with DescribeGroups,
    /// as Kafka's admin client does.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription, ClientError> {
        let coord = self.cluster.coordinator(group).await?;
        if self.cluster.version_for::<ConsumerGroupDescribeRequest>(Some(coord)).await.is_ok()
            && let Some(d) = self.describe_consumer_group(group, coord).await?
        {
            return Ok(d);
        }
        let resp = self.cluster.send(Some(coord), &DescribeGroupsRequest::default().with_groups(vec![GroupId(sb(group))])).await?;
        let g = resp.groups.into_iter().next().ok_or_else(|| ClientError::Protocol("empty DescribeGroups response".into()))?;
        let (host, port) = self.cluster.metadata().brokers.get(&coord).cloned().unwrap_or_default();
        let consumer = g.protocol_type.as_str() == "consumer" || g.protocol_type.is_empty();
        Ok(GroupDescription {
            group_id: group.to_string(),
            state: g.group_state.to_string(),
            protocol_type: g.protocol_type.to_string(),
            assignment_strategy: g.protocol_data.to_string(),
            members: g
                .members
                .iter()
                .map(|m| MemberDescription {
                    member_id: m.member_id.to_string(),
                    instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
                    client_id: m.client_id.to_string(),
                    host: m.client_host.to_string(),
                    assignment: if consumer {
                        assignors::decode_assignment(m.member_assignment.clone()).unwrap_or_default()
                    } else {
                        BTreeSet::new()
                    },
                    epoch: None,
                    target_assignment: None,
                })
                .collect(),
            coordinator: (coord, host, port),
            error: g.error_code,
            group_type: "classic".into(),
            epochs: None,
        })
    }

    /// ConsumerGroupDescribe; None when the group is not a consumer-protocol group.
    async fn describe_consumer_group(&self, group: &str, coord: i32) -> Result<Option<GroupDescription>, ClientError> {
        let req = ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(sb(group))]);
        let resp = self.cluster.send(Some(coord), &req).await?;
        let Some(g) = resp.groups.into_iter().next() else { return Ok(None) };
        if g.error_code == kafka_protocol::error::ResponseError::GroupIdNotFound.code() {
            return Ok(None);
        }
        if g.error_code != 0 {
            return Err(ClientError::kafka(g.error_code));
        }
        let parts = |a: &consumer_group_describe_response::Assignment| -> BTreeSet<(String, i32)> {
            a.topic_partitions.iter().flat_map(|t| t.partitions.iter().map(|p| (t.topic_name.0.to_string(), *p))).collect()
        };
        let (host, port) = self.cluster.metadata().brokers.get(&coord).cloned().unwrap_or_default();
        Ok(Some(GroupDescription {
            group_id: group.to_string(),
            state: g.group_state.to_string(),
            protocol_type: "consumer".into(),
            assignment_strategy: g.assignor_name.to_string(),
            members: g
                .members
                .iter()
                .map(|m| MemberDescription {
                    member_id: m.member_id.to_string(),
                    instance_id: m.instance_id.as_ref().map(|s| s.to_string()),
                    client_id: m.client_id.to_string(),
                    host: m.client_host.to_string(),
                    assignment: parts(&m.assignment),
                    epoch: Some(m.member_epoch),
                    target_assignment: Some(parts(&m.target_assignment)),
                })
                .collect(),
            coordinator: (coord, host, port),
            error: 0,
            group_type: "consumer".into(),
            epochs: Some((g.group_epoch, g.assignment_epoch)),
        }))
    }

    /// Every committed offset of a group: (topic, partition) → (offset, metadata).
    pub async fn group_offsets(&self, group: &str) -> Result<BTreeMap<(String, i32), i64>, ClientError> {
        let coord = self.cluster.coordinator(group).await?;
        let v = self.cluster.version_for::<OffsetFetchRequest>(Some(coord)).await?;
        let mut out = BTreeMap::new();
        if v >= 8 {
            let req = OffsetFetchRequest::default().with_groups(vec![
                offset_fetch_request::OffsetFetchRequestGroup::default().with_group_id(GroupId(sb(group))).with_topics(None),
            ]);
            let resp = self.cluster.send(Some(coord), &req).await?;
            for g in resp.groups {
                if g.error_code != 0 {
                    return Err(ClientError::kafka(g.error_code));
                }
                for t in g.topics {
                    for p in t.partitions.iter().filter(|p| p.committed_offset >= 0) {
                        out.insert((t.name.0.to_string(), p.partition_index), p.committed_offset);
                    }
                }
            }
        } else {
            let resp =
                self.cluster.send(Some(coord), &OffsetFetchRequest::default().with_group_id(GroupId(sb(group))).with_topics(None)).await?;
            if resp.error_code != 0 {
                return Err(ClientError::kafka(resp.error_code));
            }
            for t in resp.topics {
                for p in t.partitions.iter().filter(|p| p.committed_offset >= 0) {
                    out.insert((t.name.0.to_string(), p.partition_index), p.committed_offset);
                }
            }
        }
        Ok(out)
    }

    /// Commits offsets as an admin (generation -1, no member): only for inactive groups.
    pub async fn commit_group_offsets(&self, group: &str, offsets: &BTreeMap<(String, i32), i64>) -> Result<(), ClientError> {
        let coord = self.cluster.coordinator(group).await?;
        let mut by_topic: BTreeMap<&str, Vec<offset_commit_request::OffsetCommitRequestPartition>> = BTreeMap::new();
        for ((t, p), o) in offsets {
            by_topic
                .entry(t)
                .or_default()
                .push(offset_commit_request::OffsetCommitRequestPartition::default().with_partition_index(*p).with_committed_offset(*o));
        }
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(sb(group)))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(sb(""))
            .with_topics(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        offset_commit_request::OffsetCommitRequestTopic::default().with_name(TopicName(sb(t))).with_partitions(ps)
                    })
                    .collect(),
            );
        let resp = self.cluster.send(Some(coord), &req).await?;
        for t in resp.topics {
            for p in t.partitions {
                if p.error_code != 0 {
                    return Err(ClientError::kafka(p.error_code));
                }
            }
        }
        Ok(())
    }

    /// DeleteGroups: one result per group.
    pub async fn delete_groups(&self, groups: &[String]) -> Result<Vec<(String, i16)>, ClientError> {
        let mut out = Vec::new();
        for g in groups {
            let coord = match self.cluster.coordinator(g).await {
                Ok(c) => c,
                Err(e) => {
                    out.push((g.clone(), e.code().unwrap_or(-1)));
                    continue;
                }
            };
            let resp = self.cluster.send(Some(coord), &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb(g))])).await?;
            for r in resp.results {
                out.push((r.group_id.0.to_string(), r.error_code));
            }
        }
        Ok(out)
    }

    /// OffsetDelete: Err is a group-level error; Ok gives (topic, partition, code).
    pub async fn delete_group_offsets(&self, group: &str, partitions: &[(String, i32)]) -> Result<Vec<(String, i32, i16)>, ClientError> {
        let coord = self.cluster.coordinator(group).await?;
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in partitions {
            by_topic.entry(t).or_default().push(*p);
        }
        let req = OffsetDeleteRequest::default().with_group_id(GroupId(sb(group))).with_topics(
            by_topic
                .into_iter()
                .map(|(t, ps)| {
                    offset_delete_request::OffsetDeleteRequestTopic::default().with_name(TopicName(sb(t))).with_partitions(
                        ps.into_iter()
                            .map(|p| offset_delete_request::OffsetDeleteRequestPartition::default().with_partition_index(p))
                            .collect(),
                    )
                })
                .collect(),
        );
        let resp = self.cluster.send(Some(coord), &req).await?;
        if resp.error_code != 0 {
            return Err(ClientError::kafka(resp.error_code));
        }
        Ok(resp
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |p| (t.name.0.to_string(), p.partition_index, p.error_code)))
            .collect())
    }
}
