//! The coordinator's half of the consumer group protocol (KIP-848): ConsumerGroupHeartbeat
//! (join, heartbeat, leave, static leave; subscriptions by name or by regex resolved here
//! against the metadata image; the target assignment recomputed whenever the group epoch
//! moves; each member reconciled towards it), ConsumerGroupDescribe, and the timers that
//! expire silent members and fence those that do not revoke in their rebalance timeout.
//! Empty classic groups become consumer groups on the first consumer-protocol join (and
//! back, `membership.rs`), keeping their committed offsets — Kafka's offline upgrade.
//! The group's members live in memory only: after a coordinator move its members are
//! unknown to the new coordinator and rejoin (UNKNOWN_MEMBER_ID), committed offsets kept.

use super::assignor::{self, MemberSpec};
use super::consumer::{Assignment, ConsumerGroup, ConsumerGroupState, ConsumerMember, MemberState, is_subset, reconcile};
use super::state::{Group, GroupState};
use super::{GroupCoordinator, code};
use crate::broker::log::now_ms;
use crate::broker::metadata::MetadataImage;
use kafka_protocol::error::ResponseError as E;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use uuid::Uuid;

const LEAVE_EPOCH: i32 = -1;
const STATIC_LEAVE_EPOCH: i32 = -2;

/// A ConsumerGroupHeartbeat, decoded. `None` fields are "unchanged since the last one".
#[derive(Debug, Default)]
pub struct HeartbeatParams {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub owned: Option<Assignment>,
    pub client_id: String,
    pub client_host: String,
    pub version: i16,
}

/// A heartbeat's answer (consumer and share groups alike).
#[derive(Debug, Default)]
pub struct HeartbeatOutcome {
    pub error: i16,
    pub message: Option<String>,
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    pub assignment: Option<Assignment>,
}

pub(super) fn fail(e: E, msg: impl Into<String>) -> HeartbeatOutcome {
    HeartbeatOutcome { error: code(e), message: Some(msg.into()), ..Default::default() }
}

/// ConsumerGroupDescribe for one group.
pub struct ConsumerGroupDescription {
    pub state: &'static str,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: String,
    /// Each member with its current and target assignments.
    pub members: Vec<(ConsumerMember, Assignment)>,
}

/// Kafka's request checks (throwIfConsumerGroupHeartbeatRequestIsInvalid).
fn validate(p: &HeartbeatParams, assignors: &[String]) -> Result<(), HeartbeatOutcome> {
    let empty = |s: &Option<String>| s.as_deref().is_some_and(|s| s.trim().is_empty());
    if p.group_id.trim().is_empty() {
        return Err(fail(E::InvalidRequest, "GroupId can't be empty."));
    }
    if empty(&p.instance_id) {
        return Err(fail(E::InvalidRequest, "InstanceId can't be empty."));
    }
    if empty(&p.rack_id) {
        return Err(fail(E::InvalidRequest, "RackId can't be empty."));
    }
    match p.member_epoch {
        e if e > 0 || e == LEAVE_EPOCH => {
            if p.member_id.trim().is_empty() {
                return Err(fail(E::InvalidRequest, "MemberId can't be empty."));
            }
        }
        0 => {
            // v1 (KIP-1082): the client generates its member id.
            if p.version >= 1 && p.member_id.trim().is_empty() {
                return Err(fail(E::InvalidRequest, "MemberId can't be empty."));
            }
            if p.rebalance_timeout_ms == -1 {
                return Err(fail(E::InvalidRequest, "RebalanceTimeoutMs must be provided in first request."));
            }
            // Kafka also refuses a null list here; rk takes null as the empty list a joining
            // member means: librdkafka 2.12 sends null when it subscribes right after an
            // unsubscribe (its leave still in flight), and stops heartbeating on the error.
            if p.owned.as_ref().is_some_and(|o| !o.is_empty()) {
                return Err(fail(E::InvalidRequest, "TopicPartitions must be empty when (re-)joining."));
            }
            // An empty list of names is accepted (Kafka 4.0): the member is in the group,
            // subscribed to nothing.
            if p.subscribed_topic_names.is_none() && p.subscribed_topic_regex.is_none() {
                return Err(fail(
                    E::InvalidRequest,
                    "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.",
                ));
            }
        }
        STATIC_LEAVE_EPOCH => {
            if p.member_id.trim().is_empty() {
                return Err(fail(E::InvalidRequest, "MemberId can't be empty."));
            }
            if p.instance_id.is_none() {
                return Err(fail(E::InvalidRequest, "InstanceId can't be null."));
            }
        }
        _ => return Err(fail(E::InvalidRequest, "MemberEpoch is invalid.")),
    }
    if let Some(a) = &p.server_assignor
        && !assignors.contains(a)
    {
        return Err(fail(
            E::UnsupportedAssignor,
            format!("ServerAssignor {a} is not supported. Supported assignors: {}.", assignors.join(", ")),
        ));
    }
    if let Some(re) = &p.subscribed_topic_regex {
        compile(re).map_err(|e| {
            fail(E::InvalidRegularExpression, format!("SubscribedTopicRegex `{re}` is not a valid regular expression: {e}."))
        })?;
    }
    Ok(())
}

/// A subscription regex matches whole topic names (RE2/J `matches()`).
fn compile(re: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{re})$"))
}

/// The subscribed topics of every member, resolved against the image: name → (id, partitions).
fn resolve_subscriptions(g: &ConsumerGroup, image: &MetadataImage, visible: &dyn Fn(&str) -> bool) -> BTreeMap<String, (Uuid, i32)> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut regexes = Vec::new();
    for m in g.members.values() {
        names.extend(m.subscribed_topic_names.iter().map(String::as_str));
        if let Some(re) = &m.subscribed_topic_regex
            && g.resolved_regexes.contains(re)
            && let Ok(r) = compile(re)
        {
            regexes.push(r);
        }
    }
    let mut out = BTreeMap::new();
    for n in names {
        if let Some(t) = image.topic(n) {
            out.insert(n.to_string(), (t.id, t.partitions.len() as i32));
        }
    }
    if !regexes.is_empty() {
        for t in image.topics.values().filter(|t| !t.is_internal() && visible(&t.name)) {
            if regexes.iter().any(|r| r.is_match(&t.name)) {
                out.insert(t.name.clone(), (t.id, t.partitions.len() as i32));
            }
        }
    }
    out
}

/// The topic ids a member subscribes to, among the resolved ones.
fn member_topics(m: &ConsumerMember, resolved: &BTreeMap<String, (Uuid, i32)>, regexes: &BTreeSet<String>) -> BTreeSet<Uuid> {
    let re = m.subscribed_topic_regex.as_deref().filter(|r| regexes.contains(*r)).and_then(|r| compile(r).ok());
    resolved
        .iter()
        .filter(|(name, _)| m.subscribed_topic_names.iter().any(|n| n == *name) || re.as_ref().is_some_and(|r| r.is_match(name)))
        .map(|(_, (id, _))| *id)
        .collect()
}

fn compute_target(g: &mut ConsumerGroup, assignor_name: &str) {
    let partitions: BTreeMap<Uuid, i32> = g.subscription_metadata.values().copied().collect();
    let specs: Vec<MemberSpec<'_>> = g
        .members
        .values()
        .map(|m| MemberSpec {
            member_id: &m.member_id,
            instance_id: m.instance_id.as_deref(),
            topics: member_topics(m, &g.subscription_metadata, &g.resolved_regexes),
            previous: g.target.get(&m.member_id),
        })
        .collect();
    let target = assignor::assign(assignor_name, &specs, &partitions);
    g.target = target;
    g.assignment_epoch = g.group_epoch;
}

impl GroupCoordinator {
    /// ConsumerGroupHeartbeat. `visible` says which topics the principal may describe (a
    /// regex subscription only sees those).
    pub fn consumer_heartbeat(&self, image: &MetadataImage, visible: &dyn Fn(&str) -> bool, p: HeartbeatParams) -> HeartbeatOutcome {
        if let Err(e) = validate(&p, &self.cfg.consumer_assignors) {
            return e;
        }
        let shard = match self.shard(&p.group_id) {
            Ok(s) => s,
            Err(c) => return HeartbeatOutcome { error: c, ..Default::default() },
        };
        let mut groups = shard.lock();
        let now = Instant::now();
        let joining = p.member_epoch == 0;
        if !groups.contains_key(&p.group_id) {
            if !joining {
                // The member is not known here (the group is gone, or moved coordinators:
                // rk keeps members in memory only). It rejoins.
                return fail(E::UnknownMemberId, format!("Member {} is not a member of group {}.", p.member_id, p.group_id));
            }
            groups.insert(p.group_id.clone(), Group::new(&p.group_id, now_ms()));
        }
        let g = groups.get_mut(&p.group_id).expect("present");
        if g.consumer.is_none() {
            // An empty classic group (committed offsets only) becomes a consumer group.
            if !joining || !g.members.is_empty() || g.state != GroupState::Empty {
                return fail(E::GroupIdNotFound, format!("Group {} is not a consumer group.", p.group_id));
            }
            g.consumer = Some(Box::default());
            g.protocol_type = Some("consumer".into());
            g.protocol_name = None;
        }
        let default_assignor = self.cfg.consumer_assignors.first().cloned().unwrap_or_else(|| "uniform".into());
        // The group's own configs (IncrementalAlterConfigs on the GROUP resource) win.
        let own = |name: &str| image.group_configs.get(&(p.group_id.clone(), name.to_string())).and_then(|v| v.parse::<i32>().ok());
        let interval = own("consumer.heartbeat.interval.ms").unwrap_or(self.cfg.consumer_heartbeat_interval_ms);
        let cg = g.consumer.as_mut().expect("consumer group");
        cg.session_timeout_ms = own("consumer.session.timeout.ms").unwrap_or(0);
        let was_empty = cg.members.is_empty();
        let out = match heartbeat(cg, image, visible, &p, now, self.cfg.consumer_max_size, &default_assignor) {
            Ok(mut o) => {
                o.heartbeat_interval_ms = if o.member_epoch < 0 { 0 } else { interval };
                o
            }
            Err(e) => e,
        };
        if cg.members.is_empty() != was_empty {
            // Offsets of an empty group expire counted from when it became empty.
            g.state_since_ms = now_ms();
        }
        out
    }

    /// ConsumerGroupDescribe: Ok(None) for an unknown group, Err(GROUP_ID_NOT_FOUND) with a
    /// message for a classic one.
    pub fn consumer_describe(&self, group_id: &str) -> Result<Option<ConsumerGroupDescription>, (i16, Option<String>)> {
        let shard = self.shard(group_id).map_err(|c| (c, None))?;
        let groups = shard.lock();
        let Some(g) = groups.get(group_id).filter(|g| g.state != GroupState::Dead) else { return Ok(None) };
        let Some(cg) = &g.consumer else {
            return Err((code(E::GroupIdNotFound), Some(format!("Group {group_id} is not a consumer group."))));
        };
        let default = self.cfg.consumer_assignors.first().map(String::as_str).unwrap_or("uniform");
        Ok(Some(ConsumerGroupDescription {
            state: cg.state().name(),
            group_epoch: cg.group_epoch,
            assignment_epoch: cg.assignment_epoch,
            assignor: cg.assignor(default).to_string(),
            members: cg.members.values().map(|m| (m.clone(), cg.target.get(&m.member_id).cloned().unwrap_or_default())).collect(),
        }))
    }

    /// Timer work for a consumer group: members silent past the session timeout leave,
    /// members that did not revoke within their rebalance timeout are fenced.
    pub(super) fn tick_consumer(&self, g: &mut Group, now: Instant) {
        let Some(cg) = g.consumer.as_mut() else { return };
        let ms = if cg.session_timeout_ms > 0 { cg.session_timeout_ms } else { self.cfg.consumer_session_timeout_ms };
        let session = Duration::from_millis(ms.max(0) as u64);
        let gone: Vec<(String, &'static str)> = cg
            .members
            .values()
            .filter_map(|m| {
                if now.duration_since(m.last_heartbeat) > session {
                    Some((m.member_id.clone(), "session timeout expired"))
                } else if m.revocation_deadline.is_some_and(|d| now >= d) {
                    Some((m.member_id.clone(), "did not revoke its partitions within the rebalance timeout"))
                } else {
                    None
                }
            })
            .collect();
        let departed = !gone.is_empty();
        for (id, why) in gone {
            tracing::info!(group = %g.id, member = %id, "consumer group member removed: {why}");
            cg.remove_member(&id);
        }
        if departed && cg.members.is_empty() {
            g.state_since_ms = now_ms();
        }
    }
}

/// One heartbeat against the group; Err carries the error answer.
fn heartbeat(
    cg: &mut ConsumerGroup,
    image: &MetadataImage,
    visible: &dyn Fn(&str) -> bool,
    p: &HeartbeatParams,
    now: Instant,
    max_size: usize,
    default_assignor: &str,
) -> Result<HeartbeatOutcome, HeartbeatOutcome> {
    let mut member_id = p.member_id.clone();
    if member_id.is_empty() {
        member_id = Uuid::new_v4().to_string();
    }
    if !cg.members.contains_key(&member_id) && cg.members.len() >= max_size && p.member_epoch == 0 {
        return Err(fail(E::GroupMaxSizeReached, format!("The consumer group has reached its maximum capacity of {max_size} members.")));
    }
    let unknown = || fail(E::UnknownMemberId, format!("Member {member_id} is not a member of group {}.", p.group_id));
    // Leaving.
    if p.member_epoch == LEAVE_EPOCH || p.member_epoch == STATIC_LEAVE_EPOCH {
        let Some(m) = cg.members.get(&member_id) else { return Err(unknown()) };
        if p.member_epoch == LEAVE_EPOCH {
            cg.remove_member(&member_id);
        } else {
            // A static member leaving for a while keeps its partitions until its session
            // expires or its instance comes back.
            let mut m = m.clone();
            m.previous_epoch = m.epoch;
            m.epoch = STATIC_LEAVE_EPOCH;
            cg.update_member(m);
        }
        return Ok(HeartbeatOutcome { member_id, member_epoch: p.member_epoch, ..Default::default() });
    }
    // Known: already a member, or a static member's instance taking its place back.
    let mut known = cg.members.contains_key(&member_id);
    let mut member = if p.member_epoch == 0 {
        let m = join_member(cg, p, &member_id, now)?;
        known = cg.members.contains_key(&member_id);
        m
    } else {
        let Some(m) = cg.members.get(&member_id) else { return Err(unknown()) };
        check_epoch(m, p.member_epoch, p.owned.as_ref())?;
        m.clone()
    };
    let before = member.clone();
    // Fields left null are unchanged.
    if let Some(iid) = &p.instance_id {
        member.instance_id = Some(iid.clone());
    }
    if let Some(r) = &p.rack_id {
        member.rack_id = Some(r.clone());
    }
    if p.rebalance_timeout_ms != -1 {
        member.rebalance_timeout_ms = p.rebalance_timeout_ms;
    }
    if let Some(a) = &p.server_assignor {
        member.server_assignor = Some(a.clone());
    }
    if let Some(n) = &p.subscribed_topic_names {
        member.subscribed_topic_names = n.clone();
    }
    if let Some(r) = &p.subscribed_topic_regex {
        // An empty regex clears it (the member subscribes by names again).
        member.subscribed_topic_regex = if r.is_empty() { None } else { Some(r.clone()) };
    }
    member.client_id = p.client_id.clone();
    member.client_host = p.client_host.clone();
    member.last_heartbeat = now;
    let mut bump = !known || !before.same_subscription(&member);
    cg.update_member(member.clone());
    // Subscribed topics resolved again when a subscription or the metadata changed.
    if bump || cg.metadata_offset != image.offset {
        let resolved = resolve_subscriptions(cg, image, visible);
        cg.metadata_offset = image.offset;
        if resolved != cg.subscription_metadata {
            cg.subscription_metadata = resolved;
            bump = true;
        }
    }
    if bump {
        cg.group_epoch += 1;
    }
    if cg.group_epoch > cg.assignment_epoch {
        let name = cg.assignor(default_assignor).to_string();
        compute_target(cg, &name);
    }
    // Regexes new to the group are resolved for the next heartbeat (Kafka resolves them in
    // the background, so literal topics are assigned first); ones nobody uses are dropped.
    let used: BTreeSet<String> = cg.members.values().filter_map(|m| m.subscribed_topic_regex.clone()).collect();
    let fresh = used.iter().any(|r| !cg.resolved_regexes.contains(r));
    if fresh || used.len() != cg.resolved_regexes.len() {
        cg.resolved_regexes = used;
        // Resolve again at the next heartbeat of any member.
        cg.metadata_offset = -1;
    }
    let target = cg.target.get(&member_id).cloned().unwrap_or_default();
    let next = reconcile(&member, cg.assignment_epoch, &target, |t, p| cg.partition_epoch(t, p), p.owned.as_ref());
    let mut next = next;
    if next.state == MemberState::UnrevokedPartitions {
        if member.state != MemberState::UnrevokedPartitions || member.epoch != next.epoch || next.revocation_deadline.is_none() {
            next.revocation_deadline = Some(now + Duration::from_millis(next.rebalance_timeout_ms.max(0) as u64));
        }
    } else {
        next.revocation_deadline = None;
    }
    let changed = next.assigned != before.assigned || p.member_epoch == 0;
    cg.update_member(next.clone());
    let full = p.member_epoch == 0 || (p.rebalance_timeout_ms != -1 && p.subscribed_topic_names.is_some() && p.owned.is_some());
    Ok(HeartbeatOutcome {
        member_id,
        member_epoch: next.epoch,
        assignment: (full || changed).then(|| next.assigned.clone()),
        ..Default::default()
    })
}

/// A member joining (epoch 0): new, rejoining after losing its partitions, or a static
/// member's instance coming back under a new member id.
fn join_member(cg: &mut ConsumerGroup, p: &HeartbeatParams, member_id: &str, now: Instant) -> Result<ConsumerMember, HeartbeatOutcome> {
    if let Some(iid) = &p.instance_id
        && let Some(old_id) = cg.static_members.get(iid).cloned()
        && old_id != member_id
    {
        let old = cg.members.get(&old_id).cloned();
        match old {
            Some(old) if old.epoch == STATIC_LEAVE_EPOCH => {
                // The instance is back: the new member takes over the old one's epoch and
                // partitions, with no rebalance.
                cg.members.remove(&old_id);
                let target = cg.target.remove(&old_id);
                // The epoch it had when it left (kept in previous_epoch by the static leave).
                let mut m = old;
                m.member_id = member_id.to_string();
                m.epoch = m.previous_epoch.max(0);
                if let Some(t) = target {
                    cg.target.insert(member_id.to_string(), t);
                }
                cg.update_member(m.clone());
                return Ok(m);
            }
            Some(_) => {
                return Err(fail(
                    E::UnreleasedInstanceId,
                    format!("Static member {old_id} with instance id {iid} is still in the group; it must leave first."),
                ));
            }
            None => {
                cg.static_members.remove(iid);
            }
        }
    }
    // A known member rejoining with epoch 0 has given up its partitions.
    let mut m = ConsumerMember::new(member_id.to_string(), now);
    if let Some(old) = cg.members.get(member_id) {
        m.subscribed_topic_names = old.subscribed_topic_names.clone();
        m.subscribed_topic_regex = old.subscribed_topic_regex.clone();
        m.server_assignor = old.server_assignor.clone();
        m.instance_id = old.instance_id.clone();
        m.rack_id = old.rack_id.clone();
    }
    Ok(m)
}

/// Kafka's throwIfConsumerGroupMemberEpochIsInvalid: a smaller epoch is accepted only as
/// the previous one with a subset of the current partitions (the answer that bumped the
/// epoch may have been lost).
fn check_epoch(m: &ConsumerMember, received: i32, owned: Option<&Assignment>) -> Result<(), HeartbeatOutcome> {
    if received > m.epoch {
        return Err(fail(
            E::FencedMemberEpoch,
            format!(
                "The consumer group member has a greater member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                m.epoch
            ),
        ));
    }
    if received < m.epoch && (received != m.previous_epoch || !owned.is_some_and(|o| is_subset(o, &m.assigned))) {
        return Err(fail(
            E::FencedMemberEpoch,
            format!(
                "The consumer group member has a smaller member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                m.epoch
            ),
        ));
    }
    Ok(())
}

impl ConsumerGroupState {
    /// Kafka's lower-case names, as ListGroups' states filter compares them.
    pub fn matches(&self, filter: &str) -> bool {
        self.name().eq_ignore_ascii_case(filter)
    }
}
