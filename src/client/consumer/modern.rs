//! The client side of the consumer group protocol (KIP-848, `group.protocol=consumer`):
//! ConsumerGroupHeartbeat with a client-generated member id, the full request on (re)join
//! and the changed fields after, owned partitions reported on each heartbeat (reporting a
//! partition no longer is how a revocation is acknowledged), the coordinator's assignment
//! translated from topic ids to names, and leaving with epoch -1 (-2 for static members).
//! Coordinator lookup, commits (the member epoch as generation) and committed offsets are
//! the classic member's (`group.rs`).

use super::group::GroupMember;
use crate::client::cluster::Cluster;
use crate::client::connection::ClientError;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use uuid::Uuid;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// What the member subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModernSubscription {
    Topics(Vec<String>),
    Regex(String),
}

/// A heartbeat's outcome for the consumer.
#[derive(Debug, PartialEq, Eq)]
pub enum Beat {
    /// Nothing changed.
    Same,
    /// The member's assignment is now this.
    Assigned(BTreeSet<(String, i32)>),
    /// The member was fenced or is unknown: its partitions are lost; it rejoins with epoch 0.
    Lost,
}

pub struct ModernMember {
    pub epoch: i32,
    pub interval: Duration,
    assignor: Option<String>,
    rebalance_timeout_ms: i32,
    /// The subscription the coordinator has (None: send it in full).
    sent: Option<ModernSubscription>,
}

impl ModernMember {
    /// `group` gets the member id this member keeps for its lifetime (KIP-1082).
    pub fn new(group: &mut GroupMember, assignor: Option<String>, rebalance_timeout: Duration) -> ModernMember {
        group.member_id = Uuid::new_v4().to_string();
        group.generation = 0;
        ModernMember {
            epoch: 0,
            interval: Duration::from_millis(500),
            assignor,
            rebalance_timeout_ms: rebalance_timeout.as_millis().min(i32::MAX as u128) as i32,
            sent: None,
        }
    }

    /// One heartbeat reporting `owned`.
    pub async fn heartbeat(
        &mut self,
        group: &mut GroupMember,
        cluster: &Cluster,
        subscription: &ModernSubscription,
        owned: &BTreeSet<(String, i32)>,
    ) -> Result<Beat, ClientError> {
        let coord = group.coordinator(cluster).await?;
        let meta = cluster.metadata();
        let mut by_topic: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
        for (t, p) in owned {
            if let Some(tm) = meta.topics.get(t) {
                by_topic.entry(tm.id).or_default().push(*p);
            }
        }
        let mut req = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(sb(&group.group_id)))
            .with_member_id(sb(&group.member_id))
            .with_member_epoch(self.epoch)
            .with_instance_id(group.instance_id.as_deref().map(sb))
            .with_rebalance_timeout_ms(-1)
            .with_topic_partitions(Some(
                by_topic.into_iter().map(|(t, ps)| TopicPartitions::default().with_topic_id(t).with_partitions(ps)).collect(),
            ));
        if self.epoch == 0 || self.sent.as_ref() != Some(subscription) {
            // A full request: joining, or the subscription changed.
            req = req.with_rebalance_timeout_ms(self.rebalance_timeout_ms).with_server_assignor(self.assignor.as_deref().map(sb));
            req = match subscription {
                ModernSubscription::Topics(ts) => req.with_subscribed_topic_names(Some(ts.iter().map(|t| TopicName(sb(t))).collect())),
                ModernSubscription::Regex(re) => req.with_subscribed_topic_regex(Some(sb(re))),
            };
            if self.epoch == 0 {
                req = req.with_topic_partitions(Some(vec![]));
            }
        }
        let resp = cluster.send(Some(coord), &req).await?;
        match resp.error_code {
            0 => {}
            c if c == E::UnknownMemberId.code() || c == E::FencedMemberEpoch.code() => {
                self.rejoin(group);
                return Ok(Beat::Lost);
            }
            c if c == E::NotCoordinator.code() || c == E::CoordinatorNotAvailable.code() || c == E::CoordinatorLoadInProgress.code() => {
                group.coordinator = None;
                return Ok(Beat::Same);
            }
            c => return Err(ClientError::kafka(c)),
        }
        self.sent = Some(subscription.clone());
        self.epoch = resp.member_epoch;
        group.generation = resp.member_epoch;
        if resp.heartbeat_interval_ms > 0 {
            self.interval = Duration::from_millis(resp.heartbeat_interval_ms as u64);
        }
        let Some(a) = resp.assignment else { return Ok(Beat::Same) };
        let mut meta = cluster.metadata();
        if a.topic_partitions.iter().any(|tp| !meta.topics.values().any(|t| t.id == tp.topic_id)) {
            // A topic this client has not seen yet (created after its last metadata).
            meta = cluster.refresh(None).await?;
        }
        let mut out = BTreeSet::new();
        for tp in a.topic_partitions {
            if let Some(t) = meta.topics.values().find(|t| t.id == tp.topic_id) {
                out.extend(tp.partitions.iter().map(|p| (t.name.clone(), *p)));
            }
        }
        Ok(Beat::Assigned(out))
    }

    fn rejoin(&mut self, group: &mut GroupMember) {
        self.epoch = 0;
        group.generation = 0;
        self.sent = None;
    }

    /// Leaves the group (-1), or for a static member leaves for a while (-2).
    pub async fn leave(&mut self, group: &mut GroupMember, cluster: &Cluster) -> Result<(), ClientError> {
        if self.epoch <= 0 {
            return Ok(());
        }
        let coord = group.coordinator(cluster).await?;
        let epoch = if group.instance_id.is_some() { -2 } else { -1 };
        let req = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(sb(&group.group_id)))
            .with_member_id(sb(&group.member_id))
            .with_member_epoch(epoch)
            .with_instance_id(group.instance_id.as_deref().map(sb))
            .with_rebalance_timeout_ms(-1);
        cluster.send(Some(coord), &req).await?;
        self.epoch = epoch;
        Ok(())
    }
}
