//! Membership half of the coordinator: JoinGroup (MEMBER_ID_REQUIRED handshake, static
//! members, protocol checks), SyncGroup, Heartbeat, LeaveGroup, and the timer tick that
//! ends join phases, enforces rebalance/sync timeouts and expires silent members.

use super::state::{Group, GroupState, JoinOutcome, Member, SyncOutcome};
use super::{GroupCoordinator, Reply, code};
use crate::broker::log::now_ms;
use crate::broker::replica::ReplicaManager;
use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub struct JoinParams {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// v4+ clients get MEMBER_ID_REQUIRED on their first join.
    pub require_known_member_id: bool,
    /// Request version (the reply carries version-specific fields).
    pub version: i16,
}

pub struct SyncParams {
    pub group_id: String,
    pub generation: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignments: Vec<(String, Bytes)>,
}

fn join_error(e: E, member_id: &str) -> JoinOutcome {
    JoinOutcome { error: code(e), generation: -1, member_id: member_id.to_string(), ..Default::default() }
}

fn sync_error(e: E) -> SyncOutcome {
    SyncOutcome { error: code(e), ..Default::default() }
}

/// The JoinGroup answer for `member_id` in the group's current generation.
fn current_generation(g: &Group, member_id: &str, skip_assignment: bool) -> JoinOutcome {
    let protocol = g.protocol_name.clone().unwrap_or_default();
    let is_leader = g.leader.as_deref() == Some(member_id);
    let members = if is_leader {
        let mut ms: Vec<&Member> = g.members.values().collect();
        ms.sort_by_key(|m| m.join_order);
        ms.iter().map(|m| (m.member_id.clone(), m.group_instance_id.clone(), m.metadata_for(&protocol))).collect()
    } else {
        Vec::new()
    };
    JoinOutcome {
        error: 0,
        generation: g.generation,
        protocol_type: g.protocol_type.clone(),
        protocol_name: g.protocol_name.clone(),
        leader: g.leader.clone().unwrap_or_default(),
        member_id: member_id.to_string(),
        members,
        skip_assignment: skip_assignment && is_leader,
    }
}

impl GroupCoordinator {
    pub fn join(&self, replicas: &ReplicaManager, p: JoinParams) -> Reply<JoinOutcome> {
        if p.group_id.is_empty() {
            return Reply::Now(join_error(E::InvalidGroupId, &p.member_id));
        }
        if p.session_timeout_ms < self.cfg.min_session_timeout_ms || p.session_timeout_ms > self.cfg.max_session_timeout_ms {
            return Reply::Now(join_error(E::InvalidSessionTimeout, &p.member_id));
        }
        let shard = match self.shard(&p.group_id) {
            Ok(s) => s,
            Err(c) => return Reply::Now(JoinOutcome { error: c, generation: -1, member_id: p.member_id.clone(), ..Default::default() }),
        };
        let mut groups = shard.lock();
        let now = Instant::now();
        let g = groups.entry(p.group_id.clone()).or_insert_with(|| Group::new(&p.group_id, now_ms()));
        if g.state == GroupState::Dead {
            return Reply::Now(join_error(E::CoordinatorNotAvailable, &p.member_id));
        }
        if g.share.is_some() {
            return Reply::Now(join_error(E::InconsistentGroupProtocol, &p.member_id));
        }
        if let Some(cg) = &g.consumer {
            // Consumer-protocol members are in the group: a classic member cannot join it.
            if !cg.members.is_empty() {
                return Reply::Now(join_error(E::InconsistentGroupProtocol, &p.member_id));
            }
            // An empty consumer group becomes a classic group again, offsets kept.
            g.consumer = None;
            g.protocol_type = None;
        }
        if !g.supports(&p.protocol_type, &p.protocols) {
            return Reply::Now(join_error(E::InconsistentGroupProtocol, &p.member_id));
        }
        let iid = p.group_instance_id.clone();
        if p.member_id.is_empty() {
            if let Some(old_id) = iid.as_ref().and_then(|i| g.static_members.get(i)).cloned() {
                return self.rejoin_static(replicas, g, old_id, p, now);
            }
            if g.members.len() + g.pending.len() >= self.cfg.max_size {
                return Reply::Now(join_error(E::GroupMaxSizeReached, ""));
            }
            let new_id = format!("{}-{}", p.client_id, uuid::Uuid::new_v4());
            if iid.is_none() && p.require_known_member_id {
                // KIP-394: hand out the id first; the member joins again with it.
                let deadline = now + Duration::from_millis(p.session_timeout_ms as u64);
                g.pending.insert(new_id.clone(), deadline);
                return Reply::Now(join_error(E::MemberIdRequired, &new_id));
            }
            return self.add_member_and_wait(g, new_id, p, now);
        }
        if g.pending.remove(&p.member_id).is_some() {
            let id = p.member_id.clone();
            return self.add_member_and_wait(g, id, p, now);
        }
        if g.is_fenced(&p.member_id, iid.as_deref()) {
            return Reply::Now(join_error(E::FencedInstanceId, &p.member_id));
        }
        if !g.members.contains_key(&p.member_id) {
            return Reply::Now(join_error(E::UnknownMemberId, &p.member_id));
        }
        let changed = {
            let m = g.members.get_mut(&p.member_id).expect("present");
            let changed = m.protocols != p.protocols;
            m.protocols = p.protocols.clone();
            m.session_timeout_ms = p.session_timeout_ms;
            m.rebalance_timeout_ms = p.rebalance_timeout_ms;
            m.last_heartbeat = now;
            changed
        };
        let is_leader = g.leader.as_deref() == Some(p.member_id.as_str());
        match g.state {
            GroupState::CompletingRebalance if !changed => Reply::Now(current_generation(g, &p.member_id, false)),
            GroupState::Stable if !changed && !is_leader => Reply::Now(current_generation(g, &p.member_id, false)),
            GroupState::Empty | GroupState::Dead => Reply::Now(join_error(E::UnknownMemberId, &p.member_id)),
            _ => {
                let rx = Self::set_join_waiter(g, &p.member_id, p.version);
                if g.state != GroupState::PreparingRebalance {
                    let why = if changed { "a member rejoined with changed protocol metadata" } else { "the leader rejoined" };
                    self.prepare_rebalance(g, now, why);
                }
                self.maybe_complete_join(replicas, g, now);
                Reply::Later(rx)
            }
        }
    }

    fn set_join_waiter(g: &mut Group, member_id: &str, version: i16) -> oneshot::Receiver<JoinOutcome> {
        let (tx, rx) = oneshot::channel();
        if let Some(m) = g.members.get_mut(member_id) {
            m.join_waiter = Some((tx, version));
        }
        rx
    }

    fn add_member_and_wait(&self, g: &mut Group, member_id: String, p: JoinParams, now: Instant) -> Reply<JoinOutcome> {
        if g.is_empty() {
            g.protocol_type = Some(p.protocol_type.clone());
        }
        if let Some(iid) = &p.group_instance_id {
            g.static_members.insert(iid.clone(), member_id.clone());
        }
        let order = g.next_join_order;
        g.next_join_order += 1;
        g.members.insert(
            member_id.clone(),
            Member {
                member_id: member_id.clone(),
                group_instance_id: p.group_instance_id,
                client_id: p.client_id,
                client_host: p.client_host,
                session_timeout_ms: p.session_timeout_ms,
                rebalance_timeout_ms: p.rebalance_timeout_ms,
                protocols: p.protocols,
                assignment: Bytes::new(),
                join_waiter: None,
                sync_waiter: None,
                last_heartbeat: now,
                join_order: order,
            },
        );
        let rx = Self::set_join_waiter(g, &member_id, p.version);
        if g.state == GroupState::PreparingRebalance {
            if g.initial_join {
                // Each new member during the initial delay extends it, bounded by the
                // rebalance timeout (Kafka's InitialDelayedJoin).
                let cap = g.rebalance_started.unwrap_or(now) + Duration::from_millis(g.max_rebalance_timeout_ms());
                g.join_deadline = Some((now + Duration::from_millis(self.cfg.initial_rebalance_delay_ms)).min(cap));
            }
        } else {
            self.prepare_rebalance(g, now, "new member joined");
        }
        Reply::Later(rx)
    }

    /// A static member rejoined with an empty member id: it gets a new id, the old one is
    /// fenced, and a Stable group with unchanged protocols does not rebalance.
    fn rejoin_static(&self, replicas: &ReplicaManager, g: &mut Group, old_id: String, p: JoinParams, now: Instant) -> Reply<JoinOutcome> {
        let Some(mut m) = g.members.remove(&old_id) else {
            g.static_members.remove(p.group_instance_id.as_deref().unwrap_or_default());
            let id = format!("{}-{}", p.client_id, uuid::Uuid::new_v4());
            return self.add_member_and_wait(g, id, p, now);
        };
        let new_id = format!("{}-{}", p.client_id, uuid::Uuid::new_v4());
        if let Some((tx, _)) = m.join_waiter.take() {
            let _ = tx.send(join_error(E::FencedInstanceId, &old_id));
        }
        if let Some(tx) = m.sync_waiter.take() {
            let _ = tx.send(sync_error(E::FencedInstanceId));
        }
        m.member_id = new_id.clone();
        m.protocols = p.protocols.clone();
        m.session_timeout_ms = p.session_timeout_ms;
        m.rebalance_timeout_ms = p.rebalance_timeout_ms;
        m.client_host = p.client_host.clone();
        m.last_heartbeat = now;
        g.members.insert(new_id.clone(), m);
        if let Some(iid) = &p.group_instance_id {
            g.static_members.insert(iid.clone(), new_id.clone());
        }
        if g.leader.as_deref() == Some(old_id.as_str()) {
            g.leader = Some(new_id.clone());
        }
        // Kafka rebalances a returning static member only when the protocol the group
        // would select changes; new metadata bytes alone (e.g. sticky owned partitions)
        // are just stored.
        let same_protocol = g.select_protocol() == g.protocol_name;
        match g.state {
            GroupState::Stable if same_protocol => {
                let (k, v) = Self::group_record(g);
                if let Err(c) = self.persist(replicas, &g.id, vec![(k, v)]) {
                    return Reply::Now(JoinOutcome { error: c, member_id: new_id, generation: -1, ..Default::default() });
                }
                // A returning static leader gets the member list (v9+: with skip_assignment).
                // Kafka sends older clients an empty list; clients such as kafka-python then
                // see changed metadata and rejoin, so rk keeps the list: the SyncGroup that
                // follows in Stable returns the stored assignments either way.
                Reply::Now(current_generation(g, &new_id, p.version >= 9))
            }
            _ => {
                let rx = Self::set_join_waiter(g, &new_id, p.version);
                if g.state != GroupState::PreparingRebalance {
                    self.prepare_rebalance(g, now, "static member rejoined with another protocol");
                }
                self.maybe_complete_join(replicas, g, now);
                Reply::Later(rx)
            }
        }
    }

    /// Enters PreparingRebalance; members waiting for a sync learn a rebalance started.
    pub(crate) fn prepare_rebalance(&self, g: &mut Group, now: Instant, why: &str) {
        tracing::info!(group = %g.id, generation = g.generation, "preparing rebalance: {why}");
        let initial = g.state == GroupState::Empty;
        for m in g.members.values_mut() {
            if let Some(tx) = m.sync_waiter.take() {
                let _ = tx.send(sync_error(E::RebalanceInProgress));
            }
        }
        if g.state == GroupState::CompletingRebalance {
            for m in g.members.values_mut() {
                m.assignment = Bytes::new();
            }
        }
        g.set_state(GroupState::PreparingRebalance, now_ms());
        g.rebalance_started = Some(now);
        g.initial_join = initial;
        g.sync_deadline = None;
        let wait =
            if initial { self.cfg.initial_rebalance_delay_ms.min(g.max_rebalance_timeout_ms()) } else { g.max_rebalance_timeout_ms() };
        g.join_deadline = Some(now + Duration::from_millis(wait));
    }

    /// Ends the join phase when everyone has rejoined (or on the deadline): members that
    /// did not rejoin are dropped, the generation advances, the protocol and leader are
    /// chosen and every waiting member gets its JoinGroup answer.
    pub(crate) fn maybe_complete_join(&self, replicas: &ReplicaManager, g: &mut Group, now: Instant) {
        if g.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = g.pending.is_empty() && g.members.values().all(|m| m.join_waiter.is_some());
        let due = g.join_deadline.is_none_or(|d| now >= d);
        if !(due || (all_joined && !g.initial_join)) {
            return;
        }
        let gone: Vec<String> = g.members.values().filter(|m| m.join_waiter.is_none()).map(|m| m.member_id.clone()).collect();
        for id in gone {
            Self::remove_member(g, &id);
        }
        g.pending.clear();
        g.generation += 1;
        g.join_deadline = None;
        g.initial_join = false;
        if g.members.is_empty() {
            g.protocol_name = None;
            g.leader = None;
            g.set_state(GroupState::Empty, now_ms());
            let (k, v) = Self::group_record(g);
            if let Err(c) = self.persist(replicas, &g.id, vec![(k, v)]) {
                tracing::warn!(group = %g.id, "could not store group metadata (error {c})");
            }
            return;
        }
        g.protocol_name = g.select_protocol();
        if !g.leader.as_ref().is_some_and(|l| g.members.contains_key(l)) {
            g.leader = g.members.values().min_by_key(|m| m.join_order).map(|m| m.member_id.clone());
        }
        g.set_state(GroupState::CompletingRebalance, now_ms());
        g.sync_deadline = Some(now + Duration::from_millis(g.max_rebalance_timeout_ms()));
        let ids: Vec<String> = g.members.keys().cloned().collect();
        for id in ids {
            let outcome = current_generation(g, &id, false);
            let m = g.members.get_mut(&id).expect("present");
            m.last_heartbeat = now;
            if let Some((tx, _)) = m.join_waiter.take() {
                let _ = tx.send(outcome);
            }
        }
    }

    /// Removes a member, answering any request it still has waiting.
    pub(crate) fn remove_member(g: &mut Group, member_id: &str) {
        if let Some(mut m) = g.members.remove(member_id) {
            if let Some(iid) = &m.group_instance_id
                && g.static_members.get(iid).map(String::as_str) == Some(member_id)
            {
                g.static_members.remove(iid);
            }
            if let Some((tx, _)) = m.join_waiter.take() {
                let _ = tx.send(join_error(E::UnknownMemberId, member_id));
            }
            if let Some(tx) = m.sync_waiter.take() {
                let _ = tx.send(sync_error(E::UnknownMemberId));
            }
        }
    }

    /// After members left or expired: rebalance, or finish a join phase they blocked.
    fn after_departure(&self, replicas: &ReplicaManager, g: &mut Group, now: Instant) {
        match g.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(g, now, "member left or expired");
                self.maybe_complete_join(replicas, g, now);
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(replicas, g, now),
            _ => {}
        }
    }

    pub fn sync(&self, replicas: &ReplicaManager, p: SyncParams) -> Reply<SyncOutcome> {
        let shard = match self.shard(&p.group_id) {
            Ok(s) => s,
            Err(c) => return Reply::Now(SyncOutcome { error: c, ..Default::default() }),
        };
        let mut groups = shard.lock();
        let Some(g) = groups.get_mut(&p.group_id) else { return Reply::Now(sync_error(E::UnknownMemberId)) };
        if g.is_fenced(&p.member_id, p.group_instance_id.as_deref()) {
            return Reply::Now(sync_error(E::FencedInstanceId));
        }
        if !g.members.contains_key(&p.member_id) {
            return Reply::Now(sync_error(E::UnknownMemberId));
        }
        if p.generation != g.generation {
            return Reply::Now(sync_error(E::IllegalGeneration));
        }
        if p.protocol_type.as_ref().is_some_and(|t| Some(t) != g.protocol_type.as_ref())
            || p.protocol_name.as_ref().is_some_and(|n| Some(n) != g.protocol_name.as_ref())
        {
            return Reply::Now(sync_error(E::InconsistentGroupProtocol));
        }
        let now = Instant::now();
        g.members.get_mut(&p.member_id).expect("present").last_heartbeat = now;
        let ok = |g: &Group, a: Bytes| SyncOutcome {
            error: 0,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol_name.clone(),
            assignment: a,
        };
        match g.state {
            GroupState::Empty | GroupState::Dead => Reply::Now(sync_error(E::UnknownMemberId)),
            GroupState::PreparingRebalance => Reply::Now(sync_error(E::RebalanceInProgress)),
            GroupState::Stable => Reply::Now(ok(g, g.members[&p.member_id].assignment.clone())),
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                g.members.get_mut(&p.member_id).expect("present").sync_waiter = Some(tx);
                if g.leader.as_deref() == Some(p.member_id.as_str()) {
                    for m in g.members.values_mut() {
                        m.assignment = p.assignments.iter().find(|(id, _)| *id == m.member_id).map(|(_, a)| a.clone()).unwrap_or_default();
                    }
                    let (k, v) = Self::group_record(g);
                    match self.persist(replicas, &g.id, vec![(k, v)]) {
                        Ok(()) => {
                            g.set_state(GroupState::Stable, now_ms());
                            g.sync_deadline = None;
                            let proto = (g.protocol_type.clone(), g.protocol_name.clone());
                            for m in g.members.values_mut() {
                                if let Some(tx) = m.sync_waiter.take() {
                                    let _ = tx.send(SyncOutcome {
                                        error: 0,
                                        protocol_type: proto.0.clone(),
                                        protocol_name: proto.1.clone(),
                                        assignment: m.assignment.clone(),
                                    });
                                }
                            }
                        }
                        Err(c) => {
                            for m in g.members.values_mut() {
                                m.assignment = Bytes::new();
                                if let Some(tx) = m.sync_waiter.take() {
                                    let _ = tx.send(SyncOutcome { error: c, ..Default::default() });
                                }
                            }
                            self.prepare_rebalance(g, now, "storing the assignment failed");
                        }
                    }
                }
                Reply::Later(rx)
            }
        }
    }

    pub fn heartbeat(&self, group_id: &str, generation: i32, member_id: &str, instance_id: Option<&str>) -> i16 {
        let shard = match self.shard(group_id) {
            Ok(s) => s,
            Err(c) => return c,
        };
        let mut groups = shard.lock();
        let Some(g) = groups.get_mut(group_id) else { return code(E::UnknownMemberId) };
        if g.is_fenced(member_id, instance_id) {
            return code(E::FencedInstanceId);
        }
        let Some(m) = g.members.get_mut(member_id) else { return code(E::UnknownMemberId) };
        m.last_heartbeat = Instant::now();
        if generation != g.generation {
            return code(E::IllegalGeneration);
        }
        match g.state {
            GroupState::PreparingRebalance => code(E::RebalanceInProgress),
            GroupState::Empty | GroupState::Dead => code(E::UnknownMemberId),
            _ => 0,
        }
    }

    /// LeaveGroup for several members; returns one code per member.
    pub fn leave(&self, replicas: &ReplicaManager, group_id: &str, leaving: &[(String, Option<String>)]) -> Vec<i16> {
        let shard = match self.shard(group_id) {
            Ok(s) => s,
            Err(c) => return vec![c; leaving.len()],
        };
        let mut groups = shard.lock();
        let Some(g) = groups.get_mut(group_id) else { return vec![code(E::UnknownMemberId); leaving.len()] };
        let now = Instant::now();
        let mut results = Vec::new();
        let mut departed = false;
        for (member_id, iid) in leaving {
            let resolved =
                if member_id.is_empty() { iid.as_ref().and_then(|i| g.static_members.get(i).cloned()) } else { Some(member_id.clone()) };
            let Some(id) = resolved else {
                results.push(code(E::UnknownMemberId));
                continue;
            };
            if g.is_fenced(&id, iid.as_deref()) {
                results.push(code(E::FencedInstanceId));
                continue;
            }
            if g.pending.remove(&id).is_some() {
                results.push(0);
                continue;
            }
            if !g.members.contains_key(&id) {
                results.push(code(E::UnknownMemberId));
                continue;
            }
            Self::remove_member(g, &id);
            departed = true;
            results.push(0);
        }
        if departed {
            self.after_departure(replicas, g, now);
        }
        results
    }

    /// Timer work: join deadlines, sync deadlines, session expiry, pending handshakes.
    pub fn tick(&self, replicas: &ReplicaManager) {
        for shard in self.active_shards() {
            self.tick_shard(replicas, &shard);
        }
    }

    fn tick_shard(&self, replicas: &ReplicaManager, shard: &super::Shard) {
        let mut groups = shard.lock();
        let now = Instant::now();
        for g in groups.values_mut() {
            self.tick_group(replicas, g, now);
        }
    }

    /// One group's timers; also run on demand (DeleteGroups) so an answer never depends on
    /// whether the periodic tick has come round since a deadline passed.
    pub(crate) fn tick_group(&self, replicas: &ReplicaManager, g: &mut Group, now: Instant) {
        self.tick_consumer(g, now);
        self.tick_share(g, now);
        g.pending.retain(|_, deadline| *deadline > now);
        let expired: Vec<String> = g
            .members
            .values()
            .filter(|m| m.join_waiter.is_none() && m.sync_waiter.is_none())
            .filter(|m| now.duration_since(m.last_heartbeat) > Duration::from_millis(m.session_timeout_ms.max(0) as u64))
            .map(|m| m.member_id.clone())
            .collect();
        let mut departed = !expired.is_empty();
        for id in expired {
            tracing::info!(group = %g.id, member = %id, "member session expired");
            Self::remove_member(g, &id);
        }
        if g.state == GroupState::CompletingRebalance && g.sync_deadline.is_some_and(|d| now >= d) {
            let silent: Vec<String> = g.members.values().filter(|m| m.sync_waiter.is_none()).map(|m| m.member_id.clone()).collect();
            for id in silent {
                Self::remove_member(g, &id);
                departed = true;
            }
        }
        if departed {
            self.after_departure(replicas, g, now);
        } else {
            self.maybe_complete_join(replicas, g, now);
        }
    }
}
