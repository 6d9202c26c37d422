//! The coordinator's half of share groups (KIP-932): ShareGroupHeartbeat (join, heartbeat,
//! leave), ShareGroupDescribe, the session timer, and Kafka's simple assignor. Unlike a
//! consumer group, a share group needs no revocation: several members may read one
//! partition (the partition leader hands each record to one member under a lock), so a new
//! target assignment is given to every member at once with the new epoch.
//! Members live in memory; the group's existence (a group record with protocol type
//! "share") and its partitions' start offsets are persisted in `__consumer_offsets`.

use super::consumer::Assignment;
use super::modern::{HeartbeatOutcome, fail};
use super::state::Group;
use super::{GroupCoordinator, code};
use crate::broker::log::now_ms;
use crate::broker::metadata::MetadataImage;
use kafka_protocol::error::ResponseError as E;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const PROTOCOL_TYPE: &str = "share";
const LEAVE_EPOCH: i32 = -1;

#[derive(Debug, Clone)]
pub struct ShareMember {
    pub member_id: String,
    pub epoch: i32,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub assigned: Assignment,
    pub last_heartbeat: Instant,
}

#[derive(Debug, Default)]
pub struct ShareGroup {
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ShareMember>,
    pub target: BTreeMap<String, Assignment>,
    /// The session timeout the last heartbeat found (the group's config or the broker's).
    pub session_timeout_ms: i32,
    /// Partition counts of the subscribed topics when the target was computed: a change
    /// (a topic created, deleted or grown) bumps the group epoch.
    subscribed_metadata: BTreeMap<String, (Uuid, usize)>,
}

impl ShareGroup {
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.assignment_epoch < self.group_epoch {
            "Assigning"
        } else {
            "Stable"
        }
    }

    fn metadata(&self, image: &MetadataImage) -> BTreeMap<String, (Uuid, usize)> {
        let names: BTreeSet<&String> = self.members.values().flat_map(|m| m.subscribed_topic_names.iter()).collect();
        names.into_iter().filter_map(|n| image.topic(n).map(|t| (n.clone(), (t.id, t.partitions.len())))).collect()
    }

    /// Kafka's SimpleAssignor (homogeneous or not): each subscribed topic's partitions are
    /// spread over the members subscribed to it; with more members than partitions the
    /// partitions are shared, every member getting at least one.
    fn assign(&mut self) {
        let mut target: BTreeMap<String, Assignment> = self.members.keys().map(|m| (m.clone(), Assignment::new())).collect();
        for (topic, (id, count)) in &self.subscribed_metadata {
            let subs: Vec<&String> =
                self.members.values().filter(|m| m.subscribed_topic_names.contains(topic)).map(|m| &m.member_id).collect();
            if subs.is_empty() || *count == 0 {
                continue;
            }
            let n = (*count).max(subs.len());
            for i in 0..n {
                let member = subs[i % subs.len()];
                let partition = (i % count) as i32;
                target.get_mut(member).expect("member").entry(*id).or_default().insert(partition);
            }
        }
        self.target = target;
        self.assignment_epoch = self.group_epoch;
    }
}

pub struct ShareHeartbeat {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub rack_id: Option<String>,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub client_id: String,
    pub client_host: String,
}

/// ShareGroupDescribe for one group.
pub struct ShareGroupDescription {
    pub state: &'static str,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: Vec<ShareMember>,
}

/// The share group settings of one group: its own group configs, else the broker's.
pub struct ShareTimeouts {
    pub session_timeout_ms: i32,
    pub heartbeat_interval_ms: i32,
}

impl GroupCoordinator {
    fn share_timeouts(&self, image: &MetadataImage, group: &str) -> ShareTimeouts {
        let own = |name: &str| image.group_configs.get(&(group.to_string(), name.to_string())).and_then(|v| v.parse::<i32>().ok());
        ShareTimeouts {
            session_timeout_ms: own("share.session.timeout.ms").unwrap_or(self.cfg.share_session_timeout_ms),
            heartbeat_interval_ms: own("share.heartbeat.interval.ms").unwrap_or(self.cfg.share_heartbeat_interval_ms),
        }
    }

    /// ShareGroupHeartbeat. The group record is persisted when the group is created so
    /// that it is listed as a share group after a restart.
    pub fn share_heartbeat(
        &self,
        replicas: &crate::broker::replica::ReplicaManager,
        image: &MetadataImage,
        p: ShareHeartbeat,
    ) -> HeartbeatOutcome {
        if p.member_id.is_empty() {
            return fail(E::InvalidRequest, "MemberId can't be empty.");
        }
        if p.member_epoch == 0 && p.subscribed_topic_names.as_ref().is_none_or(|s| s.is_empty()) {
            return fail(E::InvalidRequest, "SubscribedTopicNames must be set in first request.");
        }
        if p.member_epoch < LEAVE_EPOCH {
            return fail(E::InvalidRequest, format!("MemberEpoch is {}, but must be greater than or equal to -1.", p.member_epoch));
        }
        let shard = match self.shard(&p.group_id) {
            Ok(s) => s,
            Err(c) => return HeartbeatOutcome { error: c, ..Default::default() },
        };
        let mut groups = shard.lock();
        let now = Instant::now();
        let timeouts = self.share_timeouts(image, &p.group_id);
        if !groups.contains_key(&p.group_id) {
            if p.member_epoch != 0 {
                return fail(E::UnknownMemberId, format!("Member {} is not a member of group {}.", p.member_id, p.group_id));
            }
            groups.insert(p.group_id.clone(), Group::new(&p.group_id, now_ms()));
        }
        let g = groups.get_mut(&p.group_id).expect("present");
        if g.share.is_none() {
            let other = !g.members.is_empty()
                || g.consumer.is_some()
                || !g.offsets.is_empty()
                || g.protocol_type.as_deref().is_some_and(|t| t != PROTOCOL_TYPE);
            if other {
                return fail(E::GroupIdNotFound, format!("Group {} is not a share group.", p.group_id));
            }
            let fresh = g.protocol_type.is_none();
            g.share = Some(Box::default());
            g.protocol_type = Some(PROTOCOL_TYPE.into());
            if fresh {
                let rec = Self::group_record(g);
                if let Err(c) = self.persist(replicas, &p.group_id, vec![rec]) {
                    g.share = None;
                    g.protocol_type = None;
                    return HeartbeatOutcome { error: c, ..Default::default() };
                }
            }
        }
        let sg = g.share.as_mut().expect("share group");
        sg.session_timeout_ms = timeouts.session_timeout_ms;
        if p.member_epoch == LEAVE_EPOCH {
            if sg.members.remove(&p.member_id).is_some() {
                sg.group_epoch += 1;
                if sg.members.is_empty() {
                    g.state_since_ms = now_ms();
                }
            }
            return HeartbeatOutcome { member_id: p.member_id, member_epoch: LEAVE_EPOCH, ..Default::default() };
        }
        let joining = p.member_epoch == 0;
        let mut changed = false;
        match sg.members.get_mut(&p.member_id) {
            None if !joining => {
                return fail(E::UnknownMemberId, format!("Member {} is not a member of group {}.", p.member_id, p.group_id));
            }
            Some(m) if !joining && p.member_epoch != m.epoch => {
                return fail(
                    E::FencedMemberEpoch,
                    format!("The share group member has an epoch {} that is not the group's {}.", p.member_epoch, m.epoch),
                );
            }
            None => {
                if sg.members.len() >= self.cfg.share_max_size {
                    return fail(
                        E::GroupMaxSizeReached,
                        format!("The share group has reached its maximum capacity of {} members.", self.cfg.share_max_size),
                    );
                }
                sg.members.insert(
                    p.member_id.clone(),
                    ShareMember {
                        member_id: p.member_id.clone(),
                        epoch: 0,
                        rack_id: p.rack_id.clone(),
                        client_id: p.client_id.clone(),
                        client_host: p.client_host.clone(),
                        subscribed_topic_names: p.subscribed_topic_names.clone().unwrap_or_default(),
                        assigned: Assignment::new(),
                        last_heartbeat: now,
                    },
                );
                changed = true;
            }
            Some(m) => {
                if joining {
                    // A member that rejoins (its epoch reset) is sent its assignment again.
                    m.epoch = 0;
                    m.assigned.clear();
                }
                if let Some(names) = &p.subscribed_topic_names
                    && *names != m.subscribed_topic_names
                {
                    m.subscribed_topic_names = names.clone();
                    changed = true;
                }
            }
        }
        let meta = sg.metadata(image);
        if meta != sg.subscribed_metadata {
            sg.subscribed_metadata = meta;
            changed = true;
        }
        if changed {
            sg.group_epoch += 1;
        }
        if sg.assignment_epoch < sg.group_epoch {
            sg.assign();
        }
        let epoch = sg.assignment_epoch;
        let target = sg.target.get(&p.member_id).cloned().unwrap_or_default();
        let m = sg.members.get_mut(&p.member_id).expect("member");
        m.last_heartbeat = now;
        let send = m.epoch != epoch || m.assigned != target || joining;
        m.epoch = epoch;
        let assignment = send.then(|| {
            m.assigned = target.clone();
            target
        });
        HeartbeatOutcome {
            member_id: p.member_id,
            member_epoch: epoch,
            heartbeat_interval_ms: timeouts.heartbeat_interval_ms,
            assignment,
            ..Default::default()
        }
    }

    /// ShareGroupDescribe: Ok(None) for an unknown group, Err with a message for a group of
    /// another type.
    pub fn share_describe(&self, group_id: &str) -> Result<Option<ShareGroupDescription>, (i16, Option<String>)> {
        let shard = self.shard(group_id).map_err(|c| (c, None))?;
        let groups = shard.lock();
        let Some(g) = groups.get(group_id).filter(|g| g.state != super::state::GroupState::Dead) else { return Ok(None) };
        let Some(sg) = &g.share else {
            return Err((code(E::GroupIdNotFound), Some(format!("Group {group_id} is not a share group."))));
        };
        Ok(Some(ShareGroupDescription {
            state: sg.state(),
            group_epoch: sg.group_epoch,
            assignment_epoch: sg.assignment_epoch,
            members: sg.members.values().cloned().collect(),
        }))
    }

    /// Whether `member` is in share group `group` here (the share partitions' leader asks
    /// when it is also the coordinator).
    pub fn share_member_known(&self, group: &str, member: &str) -> Option<bool> {
        let shard = self.shard(group).ok()?;
        let groups = shard.lock();
        Some(groups.get(group).and_then(|g| g.share.as_ref()).is_some_and(|sg| sg.members.contains_key(member)))
    }

    /// Persists a share partition's start offset (the group's offset record for the
    /// partition, which DescribeShareGroupOffsets reports). Err when this broker is not the
    /// group's coordinator or the write failed.
    pub fn share_store_start(
        &self,
        replicas: &crate::broker::replica::ReplicaManager,
        group: &str,
        topic: &str,
        partition: i32,
        start: i64,
    ) -> Result<(), i16> {
        let shard = self.shard(group)?;
        let mut groups = shard.lock();
        let Some(g) = groups.get_mut(group).filter(|g| g.share.is_some()) else { return Err(code(E::GroupIdNotFound)) };
        let now = now_ms();
        let v = super::store::OffsetValue { offset: start, leader_epoch: -1, metadata: Some(String::new()), commit_timestamp: now };
        let key = super::store::Key::Offset { group: group.into(), topic: topic.into(), partition };
        self.persist(replicas, group, vec![(key.encode(), Some(v.encode()))])?;
        let c = super::state::CommittedOffset { offset: start, leader_epoch: -1, metadata: Some(String::new()), commit_timestamp: now };
        g.offsets.insert((topic.to_string(), partition), c);
        Ok(())
    }

    /// AlterShareGroupOffsets / DeleteShareGroupOffsets: replaces (`Some`) or removes
    /// (`None`) stored start offsets of an empty share group in one write. The partitions'
    /// leaders pick the change up when the group's next share session opens. Err: the
    /// group-level error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, the coordinator's errors).
    pub fn share_set_starts(
        &self,
        replicas: &crate::broker::replica::ReplicaManager,
        group: &str,
        starts: Vec<(String, i32, Option<i64>)>,
    ) -> Result<(), (i16, Option<String>)> {
        let shard = self.shard(group).map_err(|c| (c, None))?;
        let mut groups = shard.lock();
        let Some(g) = groups.get_mut(group).filter(|g| g.state != super::state::GroupState::Dead) else {
            return Err((code(E::GroupIdNotFound), Some(format!("Group {group} not found."))));
        };
        let Some(sg) = &g.share else {
            return Err((code(E::GroupIdNotFound), Some(format!("Group {group} is not a share group."))));
        };
        if !sg.members.is_empty() {
            return Err((code(E::NonEmptyGroup), Some(format!("Share group {group} is not empty."))));
        }
        let now = now_ms();
        let records = starts
            .iter()
            .map(|(topic, partition, start)| {
                let key = super::store::Key::Offset { group: group.into(), topic: topic.clone(), partition: *partition };
                let value = start.map(|offset| {
                    super::store::OffsetValue { offset, leader_epoch: -1, metadata: Some(String::new()), commit_timestamp: now }.encode()
                });
                (key.encode(), value)
            })
            .collect();
        self.persist(replicas, group, records).map_err(|c| (c, None))?;
        for (topic, partition, start) in starts {
            match start {
                Some(offset) => {
                    let c =
                        super::state::CommittedOffset { offset, leader_epoch: -1, metadata: Some(String::new()), commit_timestamp: now };
                    g.offsets.insert((topic, partition), c);
                }
                None => {
                    g.offsets.remove(&(topic, partition));
                }
            }
        }
        Ok(())
    }

    /// The persisted start offset of a share partition (None: none written); Err when this
    /// broker does not coordinate the group (or is loading it).
    pub fn share_load_start(&self, group: &str, topic: &str, partition: i32) -> Result<Option<i64>, i16> {
        let shard = self.shard(group)?;
        let groups = shard.lock();
        Ok(groups.get(group).and_then(|g| g.offsets.get(&(topic.to_string(), partition))).map(|c| c.offset))
    }

    /// Timer work: members silent past the session timeout leave the group.
    pub(super) fn tick_share(&self, g: &mut Group, now: Instant) {
        let Some(sg) = g.share.as_mut() else { return };
        let ms = if sg.session_timeout_ms > 0 { sg.session_timeout_ms } else { self.cfg.share_session_timeout_ms };
        let session = Duration::from_millis(ms.max(0) as u64);
        let gone: Vec<String> =
            sg.members.values().filter(|m| now.duration_since(m.last_heartbeat) > session).map(|m| m.member_id.clone()).collect();
        if gone.is_empty() {
            return;
        }
        for id in gone {
            tracing::info!(group = %g.id, member = %id, "share group member removed: session timeout expired");
            sg.members.remove(&id);
        }
        sg.group_epoch += 1;
        if sg.members.is_empty() {
            g.state_since_ms = now_ms();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str]) -> ShareMember {
        ShareMember {
            member_id: id.into(),
            epoch: 0,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            subscribed_topic_names: topics.iter().map(|s| s.to_string()).collect(),
            assigned: Assignment::new(),
            last_heartbeat: Instant::now(),
        }
    }

    #[test]
    fn simple_assignor_spreads_and_shares_partitions() {
        let t = Uuid::from_u128(7);
        let mut g = ShareGroup::default();
        for id in ["a", "b"] {
            g.members.insert(id.into(), member(id, &["t"]));
        }
        g.subscribed_metadata.insert("t".into(), (t, 4));
        g.assign();
        assert_eq!(g.target["a"][&t], BTreeSet::from([0, 2]));
        assert_eq!(g.target["b"][&t], BTreeSet::from([1, 3]));
        // More members than partitions: every member gets one, partitions are shared.
        for id in ["c", "d", "e"] {
            g.members.insert(id.into(), member(id, &["t"]));
        }
        g.subscribed_metadata.insert("t".into(), (t, 2));
        g.assign();
        let all: Vec<usize> = g.target.values().map(|a| a[&t].len()).collect();
        assert_eq!(all, vec![1; 5]);
        let covered: BTreeSet<i32> = g.target.values().flat_map(|a| a[&t].iter().copied()).collect();
        assert_eq!(covered, BTreeSet::from([0, 1]));
    }
}
