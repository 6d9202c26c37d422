//! The client side of the classic group protocol: FindCoordinator, JoinGroup (with the
//! MEMBER_ID_REQUIRED retry), leader-side assignment, SyncGroup, heartbeats, commits,
//! committed-offset lookups and LeaveGroup.

use super::assignors::{self, Assignor};
use crate::client::cluster::Cluster;
use crate::client::connection::ClientError;
use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub struct GroupMember {
    pub group_id: String,
    pub instance_id: Option<String>,
    pub member_id: String,
    pub generation: i32,
    pub coordinator: Option<i32>,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub assignors: Vec<Assignor>,
}

/// What a heartbeat tells the member to do.
#[derive(Debug, PartialEq, Eq)]
pub enum HeartbeatOutcome {
    Ok,
    Rejoin,
}

impl GroupMember {
    pub fn new(group_id: String, instance_id: Option<String>, session_timeout: Duration, assignors: Vec<Assignor>) -> GroupMember {
        GroupMember {
            group_id,
            instance_id,
            member_id: String::new(),
            generation: -1,
            coordinator: None,
            session_timeout,
            rebalance_timeout: Duration::from_secs(300),
            assignors,
        }
    }

    pub(super) async fn coordinator(&mut self, cluster: &Cluster) -> Result<i32, ClientError> {
        if let Some(c) = self.coordinator {
            return Ok(c);
        }
        let mut last = None;
        for attempt in 0..20u64 {
            match cluster.coordinator(&self.group_id).await {
                Ok(c) => {
                    self.coordinator = Some(c);
                    return Ok(c);
                }
                Err(e) if e.code().is_some_and(retriable) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(100 * (attempt + 1).min(10))).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Protocol("no coordinator".into())))
    }

    /// Joins (or rejoins) the group and returns this member's assignment.
    /// Joins (or rejoins) the group; `owned` are the partitions held now (cooperative
    /// rebalancing keeps them). Returns the assignment and whether the chosen protocol
    /// is cooperative.
    pub async fn join(
        &mut self,
        cluster: &Cluster,
        topics: &[String],
        owned: &BTreeSet<(String, i32)>,
    ) -> Result<(BTreeSet<(String, i32)>, bool), ClientError> {
        let metadata = assignors::encode_subscription(topics, owned);
        loop {
            let coord = self.coordinator(cluster).await?;
            let req = JoinGroupRequest::default()
                .with_group_id(GroupId(sb(&self.group_id)))
                .with_session_timeout_ms(self.session_timeout.as_millis() as i32)
                .with_rebalance_timeout_ms(self.rebalance_timeout.as_millis() as i32)
                .with_member_id(sb(&self.member_id))
                .with_group_instance_id(self.instance_id.as_deref().map(sb))
                .with_protocol_type(sb("consumer"))
                .with_protocols(
                    self.assignors
                        .iter()
                        .map(|a| {
                            join_group_request::JoinGroupRequestProtocol::default().with_name(sb(a.name())).with_metadata(metadata.clone())
                        })
                        .collect(),
                );
            let resp = cluster.send(Some(coord), &req).await?;
            match resp.error_code {
                0 => {}
                c if c == E::MemberIdRequired.code() => {
                    self.member_id = resp.member_id.to_string();
                    continue;
                }
                c if c == E::UnknownMemberId.code() || c == E::IllegalGeneration.code() => {
                    self.member_id.clear();
                    continue;
                }
                c if c == E::NotCoordinator.code()
                    || c == E::CoordinatorNotAvailable.code()
                    || c == E::CoordinatorLoadInProgress.code() =>
                {
                    self.coordinator = None;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                c if c == E::RebalanceInProgress.code() => continue,
                c => return Err(ClientError::kafka(c)),
            }
            self.member_id = resp.member_id.to_string();
            self.generation = resp.generation_id;
            let protocol = resp.protocol_name.as_ref().map(|p| p.to_string()).unwrap_or_default();
            let assignments: Vec<(String, Bytes)> = if resp.leader == resp.member_id && !resp.skip_assignment {
                self.leader_assign(cluster, &protocol, &resp.members).await?
            } else {
                Vec::new()
            };
            let v5 = cluster.version_for::<SyncGroupRequest>(Some(coord)).await? >= 5;
            let sync = SyncGroupRequest::default()
                .with_group_id(GroupId(sb(&self.group_id)))
                .with_generation_id(self.generation)
                .with_member_id(sb(&self.member_id))
                .with_group_instance_id(self.instance_id.as_deref().map(sb))
                .with_protocol_type(v5.then(|| sb("consumer")))
                .with_protocol_name(v5.then(|| sb(&protocol)))
                .with_assignments(
                    assignments
                        .into_iter()
                        .map(|(m, a)| sync_group_request::SyncGroupRequestAssignment::default().with_member_id(sb(&m)).with_assignment(a))
                        .collect(),
                );
            let s = cluster.send(Some(coord), &sync).await?;
            match s.error_code {
                0 => {
                    let cooperative = self.assignors.iter().any(|a| a.name() == protocol && a.is_cooperative());
                    return Ok((assignors::decode_assignment(s.assignment).unwrap_or_default(), cooperative));
                }
                c if c == E::RebalanceInProgress.code() => continue,
                c if c == E::UnknownMemberId.code() || c == E::IllegalGeneration.code() => {
                    self.member_id.clear();
                    continue;
                }
                c => return Err(ClientError::kafka(c)),
            }
        }
    }

    async fn leader_assign(
        &self,
        cluster: &Cluster,
        protocol: &str,
        members: &[join_group_response::JoinGroupResponseMember],
    ) -> Result<Vec<(String, Bytes)>, ClientError> {
        let assignor = self.assignors.iter().find(|a| a.name() == protocol).copied().unwrap_or(Assignor::Range);
        let subs: BTreeMap<String, assignors::MemberSubscription> = members
            .iter()
            .map(|m| (m.member_id.to_string(), assignors::decode_subscription(m.metadata.clone()).unwrap_or_default()))
            .collect();
        let all: Vec<String> = subs.values().flat_map(|s| s.topics.iter().cloned()).collect::<BTreeSet<_>>().into_iter().collect();
        let meta = cluster.refresh(Some(&all)).await?;
        let partitions: BTreeMap<String, i32> = all
            .iter()
            .filter_map(|t| meta.topics.get(t).filter(|m| m.error == 0).map(|m| (t.clone(), m.partitions.len() as i32)))
            .collect();
        let plan = assignor.assign_members(&subs, &partitions);
        Ok(plan.into_iter().map(|(m, a)| (m, assignors::encode_assignment(&a))).collect())
    }

    pub async fn heartbeat(&mut self, cluster: &Cluster) -> Result<HeartbeatOutcome, ClientError> {
        let coord = self.coordinator(cluster).await?;
        let req = HeartbeatRequest::default()
            .with_group_id(GroupId(sb(&self.group_id)))
            .with_generation_id(self.generation)
            .with_member_id(sb(&self.member_id))
            .with_group_instance_id(self.instance_id.as_deref().map(sb));
        let resp = cluster.send(Some(coord), &req).await?;
        Ok(match resp.error_code {
            0 => HeartbeatOutcome::Ok,
            c if c == E::UnknownMemberId.code() || c == E::IllegalGeneration.code() => {
                self.member_id.clear();
                HeartbeatOutcome::Rejoin
            }
            c if c == E::FencedInstanceId.code() => return Err(ClientError::kafka(c)),
            c if c == E::NotCoordinator.code() || c == E::CoordinatorNotAvailable.code() => {
                self.coordinator = None;
                HeartbeatOutcome::Rejoin
            }
            _ => HeartbeatOutcome::Rejoin,
        })
    }

    /// Commits offsets (as this member, or as a standalone commit when not joined).
    pub async fn commit(&mut self, cluster: &Cluster, offsets: &BTreeMap<(String, i32), i64>) -> Result<(), ClientError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let coord = self.coordinator(cluster).await?;
        let mut by_topic: BTreeMap<&str, Vec<offset_commit_request::OffsetCommitRequestPartition>> = BTreeMap::new();
        for ((t, p), o) in offsets {
            by_topic
                .entry(t)
                .or_default()
                .push(offset_commit_request::OffsetCommitRequestPartition::default().with_partition_index(*p).with_committed_offset(*o));
        }
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(sb(&self.group_id)))
            .with_generation_id_or_member_epoch(self.generation)
            .with_member_id(sb(&self.member_id))
            .with_group_instance_id(self.instance_id.as_deref().map(sb))
            .with_topics(
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        offset_commit_request::OffsetCommitRequestTopic::default().with_name(TopicName(sb(t))).with_partitions(ps)
                    })
                    .collect(),
            );
        let resp = cluster.send(Some(coord), &req).await?;
        for t in resp.topics {
            for p in t.partitions {
                if p.error_code != 0 {
                    return Err(ClientError::kafka(p.error_code));
                }
            }
        }
        Ok(())
    }

    /// Committed offsets for the given partitions (None where nothing is committed).
    /// `require_stable` (read_committed consumers, as Java's): offsets still pending in an
    /// open transaction are waited for (UNSTABLE_OFFSET_COMMIT is retried).
    pub async fn committed(
        &mut self,
        cluster: &Cluster,
        tps: &BTreeSet<(String, i32)>,
        require_stable: bool,
    ) -> Result<BTreeMap<(String, i32), Option<i64>>, ClientError> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match self.committed_once(cluster, tps, require_stable).await {
                Err(e) if e.code() == Some(E::UnstableOffsetCommit.code()) && std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }

    async fn committed_once(
        &mut self,
        cluster: &Cluster,
        tps: &BTreeSet<(String, i32)>,
        require_stable: bool,
    ) -> Result<BTreeMap<(String, i32), Option<i64>>, ClientError> {
        let coord = self.coordinator(cluster).await?;
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (t, p) in tps {
            by_topic.entry(t).or_default().push(*p);
        }
        let mut out = BTreeMap::new();
        let mut add = |t: &str, p: i32, offset: i64, err: i16| -> Result<(), ClientError> {
            if err != 0 {
                return Err(ClientError::kafka(err));
            }
            out.insert((t.to_string(), p), (offset >= 0).then_some(offset));
            Ok(())
        };
        let v = cluster.version_for::<OffsetFetchRequest>(Some(coord)).await?;
        if v >= 8 {
            let req = OffsetFetchRequest::default().with_require_stable(require_stable).with_groups(vec![
                offset_fetch_request::OffsetFetchRequestGroup::default().with_group_id(GroupId(sb(&self.group_id))).with_topics(Some(
                    by_topic
                        .iter()
                        .map(|(t, ps)| {
                            offset_fetch_request::OffsetFetchRequestTopics::default()
                                .with_name(TopicName(sb(t)))
                                .with_partition_indexes(ps.clone())
                        })
                        .collect(),
                )),
            ]);
            let resp = cluster.send(Some(coord), &req).await?;
            for g in resp.groups {
                if g.error_code != 0 {
                    return Err(ClientError::kafka(g.error_code));
                }
                for t in g.topics {
                    for p in t.partitions {
                        add(&t.name.0, p.partition_index, p.committed_offset, p.error_code)?;
                    }
                }
            }
        } else {
            let req = OffsetFetchRequest::default()
                .with_require_stable(require_stable && v >= 7)
                .with_group_id(GroupId(sb(&self.group_id)))
                .with_topics(Some(
                    by_topic
                        .iter()
                        .map(|(t, ps)| {
                            offset_fetch_request::OffsetFetchRequestTopic::default()
                                .with_name(TopicName(sb(t)))
                                .with_partition_indexes(ps.clone())
                        })
                        .collect(),
                ));
            let resp = cluster.send(Some(coord), &req).await?;
            for t in resp.topics {
                for p in t.partitions {
                    add(&t.name.0, p.partition_index, p.committed_offset, p.error_code)?;
                }
            }
        }
        Ok(out)
    }

    pub async fn leave(&mut self, cluster: &Cluster) -> Result<(), ClientError> {
        if self.member_id.is_empty() || self.instance_id.is_some() {
            // Static members keep their place across restarts (no LeaveGroup, like Java).
            return Ok(());
        }
        let coord = self.coordinator(cluster).await?;
        // v3+ names leaving members in a list; older versions have one member_id field.
        let req = LeaveGroupRequest::default().with_group_id(GroupId(sb(&self.group_id)));
        let req = if cluster.version_for::<LeaveGroupRequest>(Some(coord)).await? >= 3 {
            req.with_members(vec![leave_group_request::MemberIdentity::default().with_member_id(sb(&self.member_id))])
        } else {
            req.with_member_id(sb(&self.member_id))
        };
        cluster.send(Some(coord), &req).await?;
        self.member_id.clear();
        Ok(())
    }
}

fn retriable(code: i16) -> bool {
    E::try_from_code(code).is_some_and(|e| e.is_retriable())
}
