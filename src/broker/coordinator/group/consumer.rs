//! ConsumerGroup (KIP-848): the consumer group protocol's model — group epoch, target
//! assignment epoch, members with their epochs and reconciliation states, and partition
//! ownership — and Kafka's CurrentAssignmentBuilder, which moves a member towards its
//! target assignment: partitions it must give up are revoked first (the member keeps its
//! epoch until it has), partitions still owned by another member are held back
//! ("unreleased") until that member has released them. Pure rules; the coordinator
//! (`modern.rs`) drives it from heartbeats and timers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;
use uuid::Uuid;

/// Partitions per topic id.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// Kafka's MemberState.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Stable,
    UnrevokedPartitions,
    UnreleasedPartitions,
}

#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub server_assignor: Option<String>,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: MemberState,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    pub last_heartbeat: Instant,
    /// Set while the member has partitions to revoke: past it, the member is fenced.
    pub revocation_deadline: Option<Instant>,
}

impl ConsumerMember {
    pub fn new(member_id: String, now: Instant) -> ConsumerMember {
        ConsumerMember {
            member_id,
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            rebalance_timeout_ms: -1,
            server_assignor: None,
            subscribed_topic_names: Vec::new(),
            subscribed_topic_regex: None,
            epoch: 0,
            previous_epoch: 0,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            last_heartbeat: now,
            revocation_deadline: None,
        }
    }

    /// The same subscription (what a bump of the group epoch depends on).
    pub fn same_subscription(&self, other: &ConsumerMember) -> bool {
        self.subscribed_topic_names == other.subscribed_topic_names
            && self.subscribed_topic_regex == other.subscribed_topic_regex
            && self.server_assignor == other.server_assignor
            && self.rack_id == other.rack_id
    }
}

/// Kafka's ConsumerGroupState.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerGroupState {
    Empty,
    Assigning,
    Reconciling,
    Stable,
}

impl ConsumerGroupState {
    pub fn name(&self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }
}

#[derive(Debug, Default)]
pub struct ConsumerGroup {
    /// Bumped whenever members or their subscriptions, or the subscribed topics, change.
    pub group_epoch: i32,
    /// The group epoch the target assignment was computed for.
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    pub target: HashMap<String, Assignment>,
    /// Owner epoch of every partition some member holds (assigned or pending revocation).
    pub partition_epochs: HashMap<(Uuid, i32), i32>,
    /// Subscribed topics as last resolved: name → (id, partition count). A change bumps
    /// the group epoch.
    pub subscription_metadata: BTreeMap<String, (Uuid, i32)>,
    /// The metadata image offset the subscription metadata was resolved at.
    pub metadata_offset: i64,
    /// instance id → member id.
    pub static_members: HashMap<String, String>,
    /// The group's consumer.session.timeout.ms (0: the broker's default).
    pub session_timeout_ms: i32,
    /// Subscription regexes resolved against the topics: a new one counts from the next
    /// heartbeat on, as Kafka resolves regexes in the background after the heartbeat that
    /// brought them (literal topics are assigned first).
    pub resolved_regexes: std::collections::BTreeSet<String>,
}

impl ConsumerGroup {
    pub fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            ConsumerGroupState::Assigning
        } else if self.members.values().any(|m| m.epoch != self.assignment_epoch || m.state != MemberState::Stable) {
            ConsumerGroupState::Reconciling
        } else {
            ConsumerGroupState::Stable
        }
    }

    /// The epoch of the member holding the partition, -1 when nobody does.
    pub fn partition_epoch(&self, topic: Uuid, partition: i32) -> i32 {
        self.partition_epochs.get(&(topic, partition)).copied().unwrap_or(-1)
    }

    fn release(&mut self, m: &ConsumerMember) {
        for (t, ps) in m.assigned.iter().chain(m.pending_revocation.iter()) {
            for p in ps {
                self.partition_epochs.remove(&(*t, *p));
            }
        }
    }

    fn hold(&mut self, m: &ConsumerMember) {
        for (t, ps) in m.assigned.iter().chain(m.pending_revocation.iter()) {
            for p in ps {
                self.partition_epochs.insert((*t, *p), m.epoch);
            }
        }
    }

    /// Puts `m` in place of the member with its id, keeping partition ownership in step.
    pub fn update_member(&mut self, m: ConsumerMember) {
        if let Some(old) = self.members.remove(&m.member_id) {
            self.release(&old);
        }
        self.hold(&m);
        if let Some(iid) = &m.instance_id {
            self.static_members.insert(iid.clone(), m.member_id.clone());
        }
        self.members.insert(m.member_id.clone(), m);
    }

    /// Removes a member: its partitions become free and the group epoch moves on.
    pub fn remove_member(&mut self, member_id: &str) -> Option<ConsumerMember> {
        let m = self.members.remove(member_id)?;
        self.release(&m);
        if let Some(iid) = &m.instance_id
            && self.static_members.get(iid).is_some_and(|id| id == member_id)
        {
            self.static_members.remove(iid);
        }
        self.target.remove(member_id);
        self.group_epoch += 1;
        // A regex nobody subscribes to any more is forgotten (resolved again if it returns).
        let used: std::collections::BTreeSet<&String> = self.members.values().filter_map(|m| m.subscribed_topic_regex.as_ref()).collect();
        self.resolved_regexes.retain(|r| used.contains(r));
        Some(m)
    }

    /// The assignor the group uses: the one most members ask for, else the default.
    pub fn assignor<'a>(&'a self, default: &'a str) -> &'a str {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = &m.server_assignor {
                *votes.entry(a.as_str()).or_default() += 1;
            }
        }
        votes.into_iter().max_by_key(|(_, n)| *n).map(|(a, _)| a).unwrap_or(default)
    }
}

/// True when every partition in `owned` is in `assignment`.
pub fn is_subset(owned: &Assignment, assignment: &Assignment) -> bool {
    owned.iter().all(|(t, ps)| assignment.get(t).is_some_and(|a| ps.is_subset(a)))
}

/// True when the member still owns a partition of `revoking` (None: it did not say).
fn owns_any(owned: Option<&Assignment>, revoking: &Assignment) -> bool {
    let Some(owned) = owned else { return true };
    owned.iter().any(|(t, ps)| revoking.get(t).is_some_and(|r| ps.iter().any(|p| r.contains(p))))
}

/// Kafka's CurrentAssignmentBuilder.build: the member's next state towards `target` at
/// `target_epoch`, given what it reports to own (None: the heartbeat did not say).
pub fn reconcile(
    member: &ConsumerMember,
    target_epoch: i32,
    target: &Assignment,
    partition_epoch: impl Fn(Uuid, i32) -> i32,
    owned: Option<&Assignment>,
) -> ConsumerMember {
    match member.state {
        MemberState::Stable if member.epoch == target_epoch => member.clone(),
        MemberState::Stable => next_assignment(member, member.epoch, target_epoch, target, &partition_epoch, owned),
        MemberState::UnrevokedPartitions => {
            if owns_any(owned, &member.pending_revocation) {
                return member.clone();
            }
            // Everything revoked: the member moves to the next epoch and on towards the target.
            next_assignment(member, member.epoch + 1, target_epoch, target, &partition_epoch, owned)
        }
        MemberState::UnreleasedPartitions => next_assignment(member, member.epoch, target_epoch, target, &partition_epoch, owned),
    }
}

fn next_assignment(
    member: &ConsumerMember,
    member_epoch: i32,
    target_epoch: i32,
    target: &Assignment,
    partition_epoch: &impl Fn(Uuid, i32) -> i32,
    owned: Option<&Assignment>,
) -> ConsumerMember {
    let mut assigned = Assignment::new();
    let mut revoking = Assignment::new();
    let mut pending = Assignment::new();
    let mut unreleased = false;
    let topics: BTreeSet<Uuid> = target.keys().chain(member.assigned.keys()).copied().collect();
    let empty = BTreeSet::new();
    for t in topics {
        let want = target.get(&t).unwrap_or(&empty);
        let have = member.assigned.get(&t).unwrap_or(&empty);
        let keep: BTreeSet<i32> = have.intersection(want).copied().collect();
        let revoke: BTreeSet<i32> = have.difference(&keep).copied().collect();
        let mut add: BTreeSet<i32> = want.difference(&keep).copied().collect();
        let before = add.len();
        add.retain(|p| partition_epoch(t, *p) == -1);
        unreleased |= add.len() != before;
        if !keep.is_empty() {
            assigned.insert(t, keep);
        }
        if !revoke.is_empty() {
            revoking.insert(t, revoke);
        }
        if !add.is_empty() {
            pending.insert(t, add);
        }
    }
    let mut next = member.clone();
    let set_epoch = |m: &mut ConsumerMember, e: i32| {
        if m.epoch != e {
            m.previous_epoch = m.epoch;
            m.epoch = e;
        }
    };
    if !revoking.is_empty() && owns_any(owned, &revoking) {
        // Partitions to give up first: the member keeps its epoch until it has.
        next.state = MemberState::UnrevokedPartitions;
        set_epoch(&mut next, member_epoch);
        next.assigned = assigned;
        next.pending_revocation = revoking;
        return next;
    }
    for (t, ps) in pending {
        assigned.entry(t).or_default().extend(ps);
    }
    next.state = if unreleased { MemberState::UnreleasedPartitions } else { MemberState::Stable };
    set_epoch(&mut next, target_epoch);
    next.assigned = assigned;
    next.pending_revocation = Assignment::new();
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asg(t: Uuid, ps: &[i32]) -> Assignment {
        Assignment::from([(t, ps.iter().copied().collect())])
    }

    #[test]
    fn revocation_comes_before_the_new_epoch_and_unreleased_partitions_wait() {
        let t = Uuid::new_v4();
        let now = Instant::now();
        let mut g = ConsumerGroup::default();
        let mut a = ConsumerMember::new("a".into(), now);
        a.epoch = 1;
        a.assigned = asg(t, &[0, 1, 2, 3]);
        g.update_member(a.clone());
        // Target epoch 2: a keeps 0,1; b gets 2,3.
        let a2 = reconcile(&a, 2, &asg(t, &[0, 1]), |tt, p| g.partition_epoch(tt, p), Some(&asg(t, &[0, 1, 2, 3])));
        assert_eq!(a2.state, MemberState::UnrevokedPartitions);
        assert_eq!(a2.epoch, 1);
        assert_eq!(a2.pending_revocation, asg(t, &[2, 3]));
        g.update_member(a2.clone());
        let b = ConsumerMember::new("b".into(), now);
        let b2 = reconcile(&b, 2, &asg(t, &[2, 3]), |tt, p| g.partition_epoch(tt, p), Some(&Assignment::new()));
        assert_eq!(b2.state, MemberState::UnreleasedPartitions, "2 and 3 are still a's");
        assert_eq!(b2.epoch, 2);
        assert!(b2.assigned.is_empty());
        g.update_member(b2.clone());
        // a still reports 2: nothing moves.
        let same = reconcile(&a2, 2, &asg(t, &[0, 1]), |tt, p| g.partition_epoch(tt, p), Some(&asg(t, &[0, 1, 2])));
        assert_eq!(same.epoch, 1);
        // a revoked: it reaches epoch 2, and b can take 2 and 3.
        let a3 = reconcile(&a2, 2, &asg(t, &[0, 1]), |tt, p| g.partition_epoch(tt, p), Some(&asg(t, &[0, 1])));
        assert_eq!((a3.state, a3.epoch), (MemberState::Stable, 2));
        g.update_member(a3);
        let b3 = reconcile(&b2, 2, &asg(t, &[2, 3]), |tt, p| g.partition_epoch(tt, p), None);
        assert_eq!((b3.state, b3.epoch), (MemberState::Stable, 2));
        assert_eq!(b3.assigned, asg(t, &[2, 3]));
    }

    #[test]
    fn group_states_follow_epochs() {
        let now = Instant::now();
        let mut g = ConsumerGroup::default();
        assert_eq!(g.state(), ConsumerGroupState::Empty);
        g.update_member(ConsumerMember::new("a".into(), now));
        g.group_epoch = 1;
        assert_eq!(g.state(), ConsumerGroupState::Assigning);
        g.assignment_epoch = 1;
        assert_eq!(g.state(), ConsumerGroupState::Reconciling);
        let mut a = g.members["a"].clone();
        a.epoch = 1;
        g.update_member(a);
        assert_eq!(g.state(), ConsumerGroupState::Stable);
        g.remove_member("a");
        assert_eq!((g.state(), g.group_epoch), (ConsumerGroupState::Empty, 2));
    }
}
