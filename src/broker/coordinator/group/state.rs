//! ClassicGroup state: members, generations, protocol selection and the state machine's
//! states (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead). Pure data and
//! rules; timers, persistence and replies live in the coordinator.

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// Kafka's state names, as clients and tools print them.
    pub fn name(&self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// What a JoinGroup caller receives.
#[derive(Debug, Clone, Default)]
pub struct JoinOutcome {
    pub error: i16,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// (member id, group instance id, metadata) — only for the leader.
    pub members: Vec<(String, Option<String>, Bytes)>,
    pub skip_assignment: bool,
}

/// What a SyncGroup caller receives.
#[derive(Debug, Clone, Default)]
pub struct SyncOutcome {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub join_waiter: Option<(oneshot::Sender<JoinOutcome>, i16)>,
    pub sync_waiter: Option<oneshot::Sender<SyncOutcome>>,
    pub last_heartbeat: Instant,
    /// Order of first join: the earliest member still present leads when the old leader left.
    pub join_order: u64,
}

impl Member {
    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols.iter().find(|(n, _)| n == protocol).map(|(_, m)| m.clone()).unwrap_or_default()
    }
    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(n, _)| n == protocol)
    }
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    pub commit_timestamp: i64,
}

pub struct Group {
    pub id: String,
    pub state: GroupState,
    /// Wall-clock ms when the group entered its current state (for offset expiry).
    pub state_since_ms: i64,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// Members told MEMBER_ID_REQUIRED that have not joined again yet, with their deadline.
    pub pending: HashMap<String, Instant>,
    /// group.instance.id → member id.
    pub static_members: HashMap<String, String>,
    pub offsets: BTreeMap<(String, i32), CommittedOffset>,
    /// Offsets committed in open transactions (TxnOffsetCommit), by producer id: applied by
    /// the COMMIT marker, dropped by ABORT.
    pub txn_offsets: HashMap<i64, BTreeMap<(String, i32), CommittedOffset>>,
    /// When the current join phase ends at the latest.
    pub join_deadline: Option<Instant>,
    pub rebalance_started: Option<Instant>,
    pub initial_join: bool,
    pub sync_deadline: Option<Instant>,
    pub next_join_order: u64,
    /// Set when the group speaks the consumer group protocol (KIP-848); the classic fields
    /// then stay empty.
    pub consumer: Option<Box<super::consumer::ConsumerGroup>>,
    /// Set for a share group (KIP-932).
    pub share: Option<Box<super::share::ShareGroup>>,
}

impl Group {
    pub fn new(id: &str, now_ms: i64) -> Group {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            state_since_ms: now_ms,
            protocol_type: None,
            protocol_name: None,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            pending: HashMap::new(),
            static_members: HashMap::new(),
            offsets: BTreeMap::new(),
            txn_offsets: HashMap::new(),
            join_deadline: None,
            rebalance_started: None,
            initial_join: false,
            sync_deadline: None,
            next_join_order: 0,
            consumer: None,
            share: None,
        }
    }

    pub fn set_state(&mut self, s: GroupState, now_ms: i64) {
        if self.state != s {
            self.state = s;
            self.state_since_ms = now_ms;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
            && self.consumer.as_ref().is_none_or(|c| c.members.is_empty())
            && self.share.as_ref().is_none_or(|s| s.members.is_empty())
    }

    /// Can a member with these protocols join? (Same protocol type; at least one protocol
    /// every member supports.)
    pub fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type) && protocols.iter().any(|(p, _)| self.members.values().all(|m| m.supports(p)))
    }

    /// Kafka's selection: among protocols all members support, each member votes for its
    /// most preferred; the most votes wins (ties: the leader's / first member's order).
    pub fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().min_by_key(|m| m.join_order)?;
        let candidates: Vec<&String> =
            first.protocols.iter().map(|(n, _)| n).filter(|p| self.members.values().all(|m| m.supports(p))).collect();
        let mut votes: Vec<(usize, &String)> = candidates.iter().map(|c| (0, *c)).collect();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n))
                && let Some(v) = votes.iter_mut().find(|(_, c)| *c == name)
            {
                v.0 += 1;
            }
        }
        let best = votes.iter().map(|(n, _)| *n).max()?;
        votes.into_iter().find(|(n, _)| *n == best).map(|(_, c)| c.clone())
    }

    pub fn max_rebalance_timeout_ms(&self) -> u64 {
        self.members.values().map(|m| m.rebalance_timeout_ms.max(0) as u64).max().unwrap_or(0)
    }

    /// Static-membership fencing: the instance id is mapped to another member id.
    pub fn is_fenced(&self, member_id: &str, instance_id: Option<&str>) -> bool {
        match instance_id {
            Some(iid) => self.static_members.get(iid).is_some_and(|m| m != member_id),
            None => false,
        }
    }

    /// Topics the members subscribe to (for OffsetDelete), decoded from the consumer
    /// protocol metadata of the selected protocol.
    pub fn subscribed_topics(&self) -> Option<std::collections::HashSet<String>> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut out = std::collections::HashSet::new();
        for m in self.members.values() {
            let mut md = m.metadata_for(protocol);
            if md.len() < 2 {
                continue;
            }
            let version = i16::from_be_bytes([md[0], md[1]]);
            bytes::Buf::advance(&mut md, 2);
            if let Ok(sub) = ConsumerProtocolSubscription::decode(&mut md, version.clamp(0, 3)) {
                out.extend(sub.topics.iter().map(|t| t.to_string()));
            }
        }
        Some(out)
    }
}
