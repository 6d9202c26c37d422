//! GroupCoordinator: the classic group protocol's state machine (join with the
//! MEMBER_ID_REQUIRED handshake, sync, heartbeats, leave, static membership, session and
//! rebalance timeouts, the initial rebalance delay) and committed offsets, persisted to
//! `__consumer_offsets`. Groups live in one shard per `__consumer_offsets` partition: a
//! shard is loaded when this broker starts leading its partition and dropped when it stops
//! (Kafka's onElection / onResignation), each with its own lock.

pub mod assignor;
pub mod consumer;
mod membership;
pub mod modern;
pub mod share;
pub mod state;
pub mod store;

use crate::broker::log::now_ms;
use crate::broker::replica::ReplicaManager;
use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::records::RecordBatchDecoder;
use state::{CommittedOffset, Group, GroupState};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use store::{GroupValue, Key, MemberValue, OFFSETS_TOPIC, OffsetValue};

pub use membership::{JoinParams, SyncParams};

/// Coordinator settings (Kafka's group.* and offsets.* broker keys).
#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub initial_rebalance_delay_ms: u64,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub max_size: usize,
    /// KIP-848 groups: group.consumer.heartbeat.interval.ms, .session.timeout.ms,
    /// .max.size and .assignors (the first is the default).
    pub consumer_heartbeat_interval_ms: i32,
    pub consumer_session_timeout_ms: i32,
    pub consumer_max_size: usize,
    pub consumer_assignors: Vec<String>,
    /// Share groups (KIP-932): group.share.session.timeout.ms, .heartbeat.interval.ms,
    /// .max.size, .record.lock.duration.ms, .delivery.count.limit,
    /// .partition.max.record.locks.
    pub share_session_timeout_ms: i32,
    pub share_heartbeat_interval_ms: i32,
    pub share_max_size: usize,
    pub share_record_lock_duration_ms: i32,
    pub share_delivery_count_limit: i16,
    pub share_partition_max_record_locks: i32,
    pub offsets_partitions: i32,
    pub offsets_retention_ms: i64,
    pub offset_metadata_max_bytes: usize,
}

/// A reply available now or once the rebalance completes.
pub enum Reply<T> {
    Now(T),
    Later(tokio::sync::oneshot::Receiver<T>),
}

/// An offset to commit.
pub struct OffsetToCommit {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// OffsetFetch's answer: each partition and its committed offset, if any.
pub type FetchedOffsets = Vec<((String, i32), Option<CommittedOffset>)>;

/// Who commits: generation and member (-1 and "" for standalone commits), and for
/// TxnOffsetCommit the transactional producer (id, epoch).
pub struct Committer<'a> {
    pub generation: i32,
    pub member_id: &'a str,
    pub instance_id: Option<&'a str>,
    pub transactional: Option<(i64, i16)>,
}

/// What ListGroups reports of a group.
pub struct GroupListing {
    pub id: String,
    pub protocol_type: String,
    pub state: &'static str,
    /// "classic" or "consumer" (KIP-848).
    pub group_type: &'static str,
}

/// What DescribeGroups reports.
pub struct GroupDescription {
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, instance id, client id, host, metadata, assignment)
    pub members: Vec<(String, Option<String>, String, String, Bytes, Bytes)>,
}

/// The groups of one `__consumer_offsets` partition.
pub struct Shard {
    pub partition: i32,
    groups: Mutex<HashMap<String, Group>>,
}

impl Shard {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Group>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }
}

enum Slot {
    Loading,
    Active(Arc<Shard>),
}

pub struct GroupCoordinator {
    shards: RwLock<HashMap<i32, Slot>>,
    pub cfg: GroupConfig,
}

fn code(e: E) -> i16 {
    e.code()
}

/// Kafka's ConsumerGroup.validateOffsetCommit: anyone may commit to an empty group; a
/// transactional commit may leave the member fields out; otherwise the member must be
/// known and commit with its current epoch (STALE_MEMBER_EPOCH when not).
fn consumer_commit_allowed(cg: &consumer::ConsumerGroup, by: &Committer<'_>) -> Result<(), i16> {
    if by.generation < 0 && cg.members.is_empty() {
        return Ok(());
    }
    if by.transactional.is_some() && by.generation < 0 && by.member_id.is_empty() && by.instance_id.is_none() {
        return Ok(());
    }
    let m = cg.members.get(by.member_id).ok_or(code(E::UnknownMemberId))?;
    if by.generation != m.epoch {
        return Err(code(E::StaleMemberEpoch));
    }
    Ok(())
}

impl GroupCoordinator {
    pub fn new(cfg: GroupConfig) -> GroupCoordinator {
        GroupCoordinator { shards: RwLock::new(HashMap::new()), cfg }
    }

    /// The shard holding `group`: NOT_COORDINATOR when this broker does not lead its
    /// partition, COORDINATOR_LOAD_IN_PROGRESS while the partition is being loaded.
    pub(crate) fn shard(&self, group: &str) -> Result<Arc<Shard>, i16> {
        let p = store::partition_for(group, self.cfg.offsets_partitions);
        match self.shards.read().unwrap_or_else(|e| e.into_inner()).get(&p) {
            Some(Slot::Active(s)) => Ok(s.clone()),
            Some(Slot::Loading) => Err(code(E::CoordinatorLoadInProgress)),
            None => Err(code(E::NotCoordinator)),
        }
    }

    fn active_shards(&self) -> Vec<Arc<Shard>> {
        let shards = self.shards.read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<Arc<Shard>> = shards.values().filter_map(|s| if let Slot::Active(a) = s { Some(a.clone()) } else { None }).collect();
        v.sort_by_key(|s| s.partition);
        v
    }

    /// onElection: starts hosting the groups of `partition`. Small partitions (a new
    /// `__consumer_offsets`, light use) load at once; bigger ones on a background thread,
    /// and their requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS (clients retry it).
    pub fn on_election(self: &Arc<Self>, replicas: &Arc<ReplicaManager>, partitions: Vec<i32>) {
        const LOAD_INLINE_BYTES: u64 = 1 << 20;
        let fresh: Vec<i32> = {
            let mut shards = self.shards.write().unwrap_or_else(|e| e.into_inner());
            let fresh: Vec<i32> = partitions.into_iter().filter(|p| !shards.contains_key(p)).collect();
            for p in &fresh {
                shards.insert(*p, Slot::Loading);
            }
            fresh
        };
        let (small, big): (Vec<i32>, Vec<i32>) =
            fresh.into_iter().partition(|p| replicas.get(OFFSETS_TOPIC, *p).is_none_or(|x| x.size_bytes() < LOAD_INLINE_BYTES));
        let mut records: usize = small.iter().map(|p| self.load_shard(replicas, *p)).sum();
        if big.is_empty() {
            if records > 0 {
                tracing::info!(records, "loaded consumer groups and offsets");
            }
            return;
        }
        let me = self.clone();
        let replicas = replicas.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            for p in &big {
                records += me.load_shard(&replicas, *p);
            }
            tracing::info!(
                partitions = big.len(),
                records,
                ms = started.elapsed().as_millis() as u64,
                "loaded consumer groups and offsets"
            );
        });
    }

    /// Loads one partition's groups and activates its shard (unless it was resigned
    /// meanwhile); returns the records applied.
    pub(crate) fn load_shard(&self, replicas: &ReplicaManager, partition: i32) -> usize {
        let shard = Arc::new(Shard { partition, groups: Mutex::new(HashMap::new()) });
        let records = self.load(replicas, &shard);
        let mut shards = self.shards.write().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = shards.get_mut(&partition) {
            *slot = Slot::Active(shard);
        }
        records
    }

    /// Starts hosting `partition` and loads it on this thread (tests, and callers that
    /// must see the groups at once).
    pub fn host_now(&self, replicas: &ReplicaManager, partition: i32) -> usize {
        self.shards.write().unwrap_or_else(|e| e.into_inner()).insert(partition, Slot::Loading);
        self.load_shard(replicas, partition)
    }

    /// onResignation: stops hosting the groups of these partitions. Requests still
    /// waiting for a rebalance get NOT_COORDINATOR when their channel closes.
    pub fn on_resignation(&self, partitions: &[i32]) {
        let mut shards = self.shards.write().unwrap_or_else(|e| e.into_inner());
        for p in partitions {
            shards.remove(p);
        }
    }

    /// The partitions whose groups are hosted (loaded or loading).
    pub fn hosted_partitions(&self) -> Vec<i32> {
        self.shards.read().unwrap_or_else(|e| e.into_inner()).keys().copied().collect()
    }

    /// True once every hosted partition has finished loading.
    pub fn is_loaded(&self) -> bool {
        self.shards.read().unwrap_or_else(|e| e.into_inner()).values().all(|s| matches!(s, Slot::Active(_)))
    }

    /// Appends records for one group to its `__consumer_offsets` partition.
    pub(crate) fn persist(&self, replicas: &ReplicaManager, group: &str, records: Vec<(Bytes, Option<Bytes>)>) -> Result<(), i16> {
        self.persist_as(replicas, group, records, None)
    }

    /// `persist`; with a producer (id, epoch) the records are a transactional batch of that
    /// producer (TxnOffsetCommit), settled by the transaction's marker.
    pub(crate) fn persist_as(
        &self,
        replicas: &ReplicaManager,
        group: &str,
        records: Vec<(Bytes, Option<Bytes>)>,
        transactional: Option<(i64, i16)>,
    ) -> Result<(), i16> {
        if records.is_empty() {
            return Ok(());
        }
        let p = store::partition_for(group, self.cfg.offsets_partitions);
        let partition = replicas.get(OFFSETS_TOPIC, p).ok_or(code(E::CoordinatorNotAvailable))?;
        let mut buf = crate::broker::log::batch::encode_records_as(records.into_iter().map(|(k, v)| (Some(k), v)), now_ms(), transactional);
        // Written with acks=all, as Kafka's coordinator does: a commit is answered once the
        // ISR holds it, so it survives the coordinator's broker.
        partition
            .append(&mut buf, crate::broker::log::AppendOrigin::Coordinator)
            .and_then(|info| partition.wait_replicated_blocking(info.last_offset, std::time::Duration::from_secs(5)))
            .map_err(|e| match e.code() {
                // Kafka maps a too-large group record to UNKNOWN_SERVER_ERROR for the caller.
                c if c == code(E::MessageTooLarge) || c == code(E::RecordListTooLarge) => code(E::UnknownServerError),
                c if c == code(E::NotLeaderOrFollower) || c == code(E::UnknownTopicOrPartition) => code(E::NotCoordinator),
                _ => code(E::CoordinatorNotAvailable),
            })
    }

    pub(crate) fn group_record(g: &Group) -> (Bytes, Option<Bytes>) {
        let value = GroupValue {
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            generation: g.generation,
            protocol: g.protocol_name.clone(),
            leader: g.leader.clone(),
            current_state_timestamp: g.state_since_ms,
            members: g
                .members
                .values()
                .map(|m| MemberValue {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout_ms,
                    session_timeout: m.session_timeout_ms,
                    subscription: g.protocol_name.as_deref().map(|p| m.metadata_for(p)).unwrap_or_default(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        };
        (Key::Group { group: g.id.clone() }.encode(), Some(value.encode()))
    }

    /// Replays one `__consumer_offsets` partition into its shard; returns records applied.
    fn load(&self, replicas: &ReplicaManager, shard: &Shard) -> usize {
        let mut groups = shard.lock();
        let mut applied = 0;
        let p = shard.partition;
        if let Some(part) = replicas.get(OFFSETS_TOPIC, p) {
            let mut offset = part.offsets().log_start;
            loop {
                let Ok((read, o)) = part.read(offset, 1 << 20, crate::broker::replica::FetchIsolation::LogEnd) else { break };
                if read.records.is_empty() || offset >= o.log_end {
                    break;
                }
                let mut buf = read.records;
                let Ok(sets) = RecordBatchDecoder::decode_all(&mut buf) else { break };
                for r in sets.into_iter().flat_map(|s| s.records) {
                    offset = r.offset + 1;
                    let Some(k) = r.key else { continue };
                    if r.control {
                        // A transaction marker settles that producer's pending offsets.
                        if k.len() >= 4 {
                            let commit = i16::from_be_bytes([k[2], k[3]]) == 1;
                            for g in groups.values_mut() {
                                Self::settle_txn(g, r.producer_id, commit);
                            }
                        }
                        continue;
                    }
                    match Key::decode(k) {
                        Ok(k) => {
                            let txn = r.transactional.then_some(r.producer_id);
                            self.apply_loaded(&mut groups, k, r.value, txn);
                            applied += 1;
                        }
                        Err(e) => tracing::warn!(partition = p, offset = r.offset, "{e}"),
                    }
                }
            }
        }
        groups.retain(|_, g| !(g.is_empty() && g.offsets.is_empty() && g.txn_offsets.is_empty() && g.protocol_type.is_none()));
        applied
    }

    fn apply_loaded(&self, groups: &mut HashMap<String, Group>, key: Key, value: Option<Bytes>, txn: Option<i64>) {
        let now = now_ms();
        match key {
            Key::Offset { group, topic, partition } => {
                let g = groups.entry(group.clone()).or_insert_with(|| Group::new(&group, now));
                match value.map(OffsetValue::decode) {
                    Some(Ok(v)) => {
                        let metadata = v.metadata;
                        let c = CommittedOffset {
                            offset: v.offset,
                            leader_epoch: v.leader_epoch,
                            metadata,
                            commit_timestamp: v.commit_timestamp,
                        };
                        match txn {
                            Some(pid) => g.txn_offsets.entry(pid).or_default().insert((topic, partition), c),
                            None => g.offsets.insert((topic, partition), c),
                        };
                    }
                    Some(Err(e)) => tracing::warn!("{e}"),
                    None => {
                        g.offsets.remove(&(topic, partition));
                    }
                }
            }
            Key::Group { group } => match value.map(GroupValue::decode) {
                None => {
                    groups.remove(&group);
                }
                Some(Err(e)) => tracing::warn!("{e}"),
                Some(Ok(v)) => {
                    let g = groups.entry(group.clone()).or_insert_with(|| Group::new(&group, now));
                    self.restore(g, v);
                }
            },
        }
    }

    /// Restores a group from its metadata record: members come back Stable and must
    /// heartbeat within their session timeout.
    fn restore(&self, g: &mut Group, v: GroupValue) {
        let now = std::time::Instant::now();
        g.protocol_type = (!v.protocol_type.is_empty()).then_some(v.protocol_type);
        if g.protocol_type.as_deref() == Some(share::PROTOCOL_TYPE) {
            g.share.get_or_insert_with(Box::default);
        }
        g.generation = v.generation;
        g.protocol_name = v.protocol.clone();
        g.leader = v.leader;
        g.members.clear();
        g.static_members.clear();
        for (i, m) in v.members.into_iter().enumerate() {
            if let Some(iid) = &m.group_instance_id {
                g.static_members.insert(iid.clone(), m.member_id.clone());
            }
            let protocols = v.protocol.iter().map(|p| (p.clone(), m.subscription.clone())).collect();
            g.members.insert(
                m.member_id.clone(),
                state::Member {
                    member_id: m.member_id,
                    group_instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout_ms: m.session_timeout,
                    rebalance_timeout_ms: m.rebalance_timeout,
                    protocols,
                    assignment: m.assignment,
                    join_waiter: None,
                    sync_waiter: None,
                    last_heartbeat: now,
                    join_order: i as u64,
                },
            );
        }
        g.next_join_order = g.members.len() as u64;
        let s = if g.members.is_empty() { GroupState::Empty } else { GroupState::Stable };
        g.state = s;
        if v.current_state_timestamp > 0 {
            g.state_since_ms = v.current_state_timestamp;
        }
    }

    /// OffsetCommit for one group; Err is a group-level error for every partition.
    pub fn commit_offsets(
        &self,
        replicas: &ReplicaManager,
        group_id: &str,
        by: &Committer<'_>,
        offsets: Vec<OffsetToCommit>,
        known_partition: impl Fn(&str, i32) -> bool,
    ) -> Result<Vec<i16>, i16> {
        if group_id.is_empty() {
            return Err(code(E::InvalidGroupId));
        }
        let (generation, member_id, instance_id) = (by.generation, by.member_id, by.instance_id);
        let shard = self.shard(group_id)?;
        let mut groups = shard.lock();
        let now = now_ms();
        if !groups.contains_key(group_id) {
            if generation >= 0 {
                return Err(code(E::IllegalGeneration));
            }
            groups.insert(group_id.to_string(), Group::new(group_id, now));
        }
        let g = groups.get_mut(group_id).expect("present");
        let simple = generation < 0 && g.state == GroupState::Empty;
        if g.share.is_some() {
            // A share group's offsets are its partitions' start offsets, kept by the
            // partition leaders; OffsetCommit does not apply (Kafka: GROUP_ID_NOT_FOUND).
            return Err(code(E::GroupIdNotFound));
        }
        if let Some(cg) = &g.consumer {
            consumer_commit_allowed(cg, by)?;
        } else if !simple {
            if g.state == GroupState::Dead {
                return Err(code(E::CoordinatorNotAvailable));
            }
            if g.is_fenced(member_id, instance_id) {
                return Err(code(E::FencedInstanceId));
            }
            if !g.members.contains_key(member_id) {
                return Err(code(E::UnknownMemberId));
            }
            if generation != g.generation {
                return Err(code(E::IllegalGeneration));
            }
            // Kafka's validateOffsetCommit: a valid member of the current generation may
            // commit while the group prepares a rebalance; only a group completing one
            // (assignments not yet synced) answers REBALANCE_IN_PROGRESS.
            if g.state == GroupState::CompletingRebalance {
                return Err(code(E::RebalanceInProgress));
            }
            if let Some(m) = g.members.get_mut(member_id) {
                m.last_heartbeat = std::time::Instant::now();
            }
        }
        let mut results = Vec::with_capacity(offsets.len());
        let mut records = Vec::new();
        let mut accepted = Vec::new();
        for mut o in offsets {
            if !known_partition(&o.topic, o.partition) {
                results.push(code(E::UnknownTopicOrPartition));
                continue;
            }
            if o.metadata.as_ref().is_some_and(|m| m.len() > self.cfg.offset_metadata_max_bytes) {
                results.push(code(E::OffsetMetadataTooLarge));
                continue;
            }
            // Kafka stores a null commit metadata as "" (OffsetAndMetadata.NO_METADATA).
            o.metadata.get_or_insert_with(String::new);
            let v = OffsetValue { offset: o.offset, leader_epoch: o.leader_epoch, metadata: o.metadata.clone(), commit_timestamp: now };
            records
                .push((Key::Offset { group: group_id.into(), topic: o.topic.clone(), partition: o.partition }.encode(), Some(v.encode())));
            results.push(0);
            accepted.push(o);
        }
        if let Err(c) = self.persist_as(replicas, group_id, records, by.transactional) {
            return Ok(results.into_iter().map(|r| if r == 0 { c } else { r }).collect());
        }
        for o in accepted {
            let c = CommittedOffset { offset: o.offset, leader_epoch: o.leader_epoch, metadata: o.metadata, commit_timestamp: now };
            match by.transactional {
                // Held until the transaction's marker: applied on COMMIT, dropped on ABORT.
                Some((pid, _)) => g.txn_offsets.entry(pid).or_default().insert((o.topic, o.partition), c),
                None => g.offsets.insert((o.topic, o.partition), c),
            };
        }
        Ok(results)
    }

    /// A transaction's marker reached `__consumer_offsets` partition `partition`: the
    /// producer's pending offsets in every group there are applied (commit) or dropped.
    pub fn complete_txn(&self, partition: i32, pid: i64, commit: bool) {
        let Some(shard) = self.shards.read().unwrap_or_else(|e| e.into_inner()).get(&partition).and_then(|s| match s {
            Slot::Active(s) => Some(s.clone()),
            Slot::Loading => None,
        }) else {
            return;
        };
        for g in shard.lock().values_mut() {
            Self::settle_txn(g, pid, commit);
        }
    }

    fn settle_txn(g: &mut Group, pid: i64, commit: bool) {
        if let Some(pending) = g.txn_offsets.remove(&pid)
            && commit
        {
            g.offsets.extend(pending);
        }
    }

    /// Whether a partition of a group has offsets waiting in an open transaction (OffsetFetch
    /// with require_stable answers UNSTABLE_OFFSET_COMMIT for it).
    pub fn has_pending_txn_offset(&self, group_id: &str, topic: &str, partition: i32) -> bool {
        let Ok(shard) = self.shard(group_id) else { return false };
        let groups = shard.lock();
        let key = (topic.to_string(), partition);
        groups.get(group_id).is_some_and(|g| g.txn_offsets.values().any(|m| m.contains_key(&key)))
    }

    /// OffsetFetch: the requested partitions (or all with a committed offset); Err is a
    /// group-level error.
    pub fn fetch_offsets(&self, group_id: &str, partitions: Option<Vec<(String, i32)>>) -> Result<FetchedOffsets, i16> {
        let shard = self.shard(group_id)?;
        let groups = shard.lock();
        let g = groups.get(group_id);
        Ok(match partitions {
            Some(ps) => ps.into_iter().map(|k| (k.clone(), g.and_then(|g| g.offsets.get(&k).cloned()))).collect(),
            None => g.map(|g| g.offsets.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect()).unwrap_or_default(),
        })
    }

    /// ListGroups: every live group.
    pub fn list(&self) -> Vec<GroupListing> {
        let mut out: Vec<_> = Vec::new();
        for shard in self.active_shards() {
            out.extend(shard.lock().values().filter(|g| g.state != GroupState::Dead).map(|g| GroupListing {
                id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: match (&g.consumer, &g.share) {
                    (Some(c), _) => c.state().name(),
                    (None, Some(s)) => s.state(),
                    (None, None) => g.state.name(),
                },
                group_type: match (&g.consumer, &g.share) {
                    (Some(_), _) => "consumer",
                    (None, Some(_)) => "share",
                    (None, None) => "classic",
                },
            }));
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// DescribeGroups for one group: Ok(None) when it does not exist (Kafka describes it as
    /// Dead), Err for a coordinator error.
    pub fn describe(&self, group_id: &str) -> Result<Option<GroupDescription>, i16> {
        let shard = self.shard(group_id)?;
        let groups = shard.lock();
        let Some(g) = groups.get(group_id).filter(|g| g.state != GroupState::Dead && g.consumer.is_none() && g.share.is_none()) else {
            return Ok(None);
        };
        // Like Kafka: member metadata and assignments only once the group is Stable.
        let stable = g.state == GroupState::Stable;
        let protocol = if stable { g.protocol_name.clone().unwrap_or_default() } else { String::new() };
        let mut members: Vec<&state::Member> = g.members.values().collect();
        members.sort_by_key(|m| m.join_order);
        Ok(Some(GroupDescription {
            state: g.state.name(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            members: members
                .into_iter()
                .map(|m| {
                    let (md, asg) = if stable { (m.metadata_for(&protocol), m.assignment.clone()) } else { (Bytes::new(), Bytes::new()) };
                    (m.member_id.clone(), m.group_instance_id.clone(), m.client_id.clone(), m.client_host.clone(), md, asg)
                })
                .collect(),
            protocol,
        }))
    }

    /// DeleteGroups for one group: only Empty groups can go (NON_EMPTY_GROUP otherwise).
    pub fn delete_group(&self, replicas: &ReplicaManager, group_id: &str) -> i16 {
        let shard = match self.shard(group_id) {
            Ok(s) => s,
            Err(c) => return c,
        };
        let mut groups = shard.lock();
        // Members whose session ended a moment ago are gone now, not at the next tick.
        if let Some(g) = groups.get_mut(group_id) {
            self.tick_group(replicas, g, std::time::Instant::now());
        }
        let Some(g) = groups.get(group_id).filter(|g| g.state != GroupState::Dead) else { return code(E::GroupIdNotFound) };
        if g.state != GroupState::Empty || !g.is_empty() {
            return code(E::NonEmptyGroup);
        }
        let mut records: Vec<(Bytes, Option<Bytes>)> = g
            .offsets
            .keys()
            .map(|(t, p)| (Key::Offset { group: group_id.into(), topic: t.clone(), partition: *p }.encode(), None))
            .collect();
        records.push((Key::Group { group: group_id.into() }.encode(), None));
        if let Err(c) = self.persist(replicas, group_id, records) {
            return c;
        }
        groups.remove(group_id);
        0
    }

    /// OffsetDelete: Err is a group-level error; Ok has one code per partition.
    pub fn delete_offsets(&self, replicas: &ReplicaManager, group_id: &str, partitions: &[(String, i32)]) -> Result<Vec<i16>, i16> {
        let shard = self.shard(group_id)?;
        let mut groups = shard.lock();
        let g = groups.get_mut(group_id).filter(|g| g.state != GroupState::Dead).ok_or(code(E::GroupIdNotFound))?;
        let subscribed = if let Some(cg) = &g.consumer {
            cg.subscription_metadata.keys().cloned().collect()
        } else if g.state == GroupState::Empty {
            Default::default()
        } else {
            match g.subscribed_topics() {
                Some(s) => s,
                None => return Err(code(E::NonEmptyGroup)),
            }
        };
        let mut results = Vec::new();
        let mut records = Vec::new();
        for (t, p) in partitions {
            if subscribed.contains(t) {
                results.push(code(E::GroupSubscribedToTopic));
                continue;
            }
            results.push(0);
            if g.offsets.contains_key(&(t.clone(), *p)) {
                records.push((Key::Offset { group: group_id.into(), topic: t.clone(), partition: *p }.encode(), None));
            }
        }
        self.persist(replicas, group_id, records)?;
        for ((t, p), r) in partitions.iter().zip(&results) {
            if *r == 0 {
                g.offsets.remove(&(t.clone(), *p));
            }
        }
        Ok(results)
    }

    /// Expires offsets past `offsets.retention.minutes`: for Empty consumer groups counted
    /// from when the group became empty, for standalone (no protocol) commits from the
    /// commit time. Empty groups left without offsets are removed.
    pub fn expire_offsets(&self, replicas: &ReplicaManager, now: i64) -> usize {
        self.active_shards().iter().map(|s| self.expire_shard(replicas, s, now)).sum()
    }

    fn expire_shard(&self, replicas: &ReplicaManager, shard: &Shard, now: i64) -> usize {
        let retention = self.cfg.offsets_retention_ms;
        let mut groups = shard.lock();
        let mut expired = 0;
        let ids: Vec<String> = groups.keys().cloned().collect();
        for id in ids {
            let g = groups.get_mut(&id).expect("present");
            if g.state != GroupState::Empty || !g.is_empty() {
                continue;
            }
            let doomed: Vec<(String, i32)> = g
                .offsets
                .iter()
                .filter(|(_, o)| {
                    let since = if g.protocol_type.is_some() { g.state_since_ms } else { o.commit_timestamp };
                    now - since >= retention
                })
                .map(|(k, _)| k.clone())
                .collect();
            let mut records: Vec<(Bytes, Option<Bytes>)> =
                doomed.iter().map(|(t, p)| (Key::Offset { group: id.clone(), topic: t.clone(), partition: *p }.encode(), None)).collect();
            // A member mid-handshake (MEMBER_ID_REQUIRED handed out, rejoin to come) keeps
            // the group: removing it would answer that rejoin UNKNOWN_MEMBER_ID.
            let remove_group = g.offsets.len() == doomed.len() && g.pending.is_empty();
            if remove_group {
                records.push((Key::Group { group: id.clone() }.encode(), None));
            }
            if doomed.is_empty() && !remove_group {
                continue;
            }
            if self.persist(replicas, &id, records).is_err() {
                continue;
            }
            expired += doomed.len();
            for k in &doomed {
                g.offsets.remove(k);
            }
            if remove_group {
                groups.remove(&id);
            }
        }
        expired
    }
}

/// Moves group shards with the leadership of `__consumer_offsets` partitions.
pub struct GroupListener {
    pub groups: Arc<GroupCoordinator>,
    pub replicas: Arc<ReplicaManager>,
}

impl crate::broker::metadata::publisher::MetadataListener for GroupListener {
    fn name(&self) -> &'static str {
        "group-coordinator"
    }

    fn on_metadata_update(&self, delta: &crate::broker::metadata::MetadataDelta<'_>) {
        let local = self.replicas.node_id();
        let led: Vec<i32> = delta
            .next
            .topic(OFFSETS_TOPIC)
            .map(|t| t.partitions.iter().filter(|(_, p)| p.leader == local).map(|(i, _)| *i).collect())
            .unwrap_or_default();
        let hosted = self.groups.hosted_partitions();
        let resigned: Vec<i32> = hosted.iter().copied().filter(|p| !led.contains(p)).collect();
        if !resigned.is_empty() {
            self.groups.on_resignation(&resigned);
        }
        let elected: Vec<i32> = led.into_iter().filter(|p| !hosted.contains(p)).collect();
        if !elected.is_empty() {
            self.groups.on_election(&self.replicas, elected);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::config::BrokerConfig;
    use crate::broker::metadata::{MetadataImage, MetadataRecord};
    use std::sync::Arc;

    fn setup(dir: &std::path::Path) -> (ReplicaManager, GroupConfig) {
        use crate::broker::metadata::publisher::MetadataListener;
        let (cfg, _) = BrokerConfig::from_pairs(vec![("log.dirs".into(), dir.display().to_string())]).unwrap();
        let replicas = ReplicaManager::new(Arc::new(cfg), true);
        let mut img = MetadataImage::default();
        let id = uuid::Uuid::new_v4();
        img.apply(&MetadataRecord::Topic { name: OFFSETS_TOPIC.into(), id });
        img.apply(&MetadataRecord::new_partition(id, 0, vec![1]));
        img.apply(&MetadataRecord::TopicConfig { topic_id: id, name: "cleanup.policy".into(), value: Some("compact".into()) });
        let empty = MetadataImage::default();
        replicas.on_metadata_update(&crate::broker::metadata::MetadataDelta { prev: &empty, next: &Arc::new(img), records: &[] });
        let gcfg = GroupConfig {
            initial_rebalance_delay_ms: 0,
            min_session_timeout_ms: 10,
            max_session_timeout_ms: 100_000,
            max_size: 100,
            consumer_heartbeat_interval_ms: 100,
            consumer_session_timeout_ms: 1000,
            consumer_max_size: 100,
            consumer_assignors: vec!["uniform".into(), "range".into()],
            share_session_timeout_ms: 1000,
            share_heartbeat_interval_ms: 100,
            share_max_size: 100,
            share_record_lock_duration_ms: 30_000,
            share_delivery_count_limit: 5,
            share_partition_max_record_locks: 2000,
            offsets_partitions: 1,
            offsets_retention_ms: 1000,
            offset_metadata_max_bytes: 10,
        };
        (replicas, gcfg)
    }

    fn offset(topic: &str, o: i64, md: Option<&str>) -> OffsetToCommit {
        OffsetToCommit { topic: topic.into(), partition: 0, offset: o, leader_epoch: 3, metadata: md.map(str::to_string) }
    }

    #[test]
    fn standalone_offsets_persist_expire_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let (replicas, gcfg) = setup(dir.path());
        let gc = GroupCoordinator::new(gcfg.clone());
        gc.host_now(&replicas, 0);
        let by = Committer { generation: -1, member_id: "", instance_id: None, transactional: None };
        let r = gc.commit_offsets(
            &replicas,
            "g",
            &by,
            vec![offset("a", 5, Some("m")), offset("b", 6, Some("far-too-long-metadata"))],
            |_, _| true,
        );
        assert_eq!(r.unwrap(), vec![0, E::OffsetMetadataTooLarge.code()]);
        gc.commit_offsets(&replicas, "h", &by, vec![offset("a", 9, None)], |_, _| true).unwrap();
        // A fresh coordinator loads what was committed.
        let reloaded = GroupCoordinator::new(gcfg.clone());
        assert_eq!(reloaded.host_now(&replicas, 0), 2);
        let got = reloaded.fetch_offsets("g", None).unwrap();
        assert_eq!(got.len(), 1);
        let c = got[0].1.clone().unwrap();
        assert_eq!((c.offset, c.leader_epoch, c.metadata.as_deref()), (5, 3, Some("m")));
        assert_eq!(reloaded.fetch_offsets("h", None).unwrap()[0].1.as_ref().unwrap().metadata.as_deref(), Some(""));
        // Nothing expires before offsets.retention; everything after, and empty groups go.
        let now = now_ms();
        assert_eq!(gc.expire_offsets(&replicas, now), 0);
        assert_eq!(gc.expire_offsets(&replicas, now + 5000), 2);
        assert!(gc.list().is_empty());
        let after = GroupCoordinator::new(gcfg);
        after.host_now(&replicas, 0);
        assert!(after.list().is_empty(), "tombstones were persisted");
    }

    #[test]
    fn an_empty_group_mid_handshake_survives_offset_expiry() {
        use super::membership::JoinParams;
        let dir = tempfile::tempdir().unwrap();
        let (replicas, gcfg) = setup(dir.path());
        let gc = GroupCoordinator::new(gcfg);
        gc.host_now(&replicas, 0);
        let params = |member: &str| JoinParams {
            group_id: "g".into(),
            member_id: member.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::new())],
            require_known_member_id: true,
            version: 9,
        };
        let Reply::Now(first) = gc.join(&replicas, params("")) else { panic!("MEMBER_ID_REQUIRED is answered at once") };
        assert_eq!(first.error, E::MemberIdRequired.code());
        // The expiry check runs between the two joins: the group has no offsets, but a
        // member is about to join it.
        gc.expire_offsets(&replicas, now_ms() + 1_000_000_000);
        match gc.join(&replicas, params(&first.member_id)) {
            Reply::Later(_) => {}
            Reply::Now(o) => panic!("the rejoin was answered {} instead of joining", o.error),
        }
    }
}
