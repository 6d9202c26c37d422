//! `--verify`, `--cancel` and `--list`: the state of each partition reassignment and
//! log-directory move as Kafka words it, and clearing the throttles when all are done.

use super::execute::{
    FOLLOWER_THROTTLED_RATE, FOLLOWER_THROTTLED_REPLICAS, LEADER_THROTTLED_RATE, LEADER_THROTTLED_REPLICAS, LOG_DIRS_THROTTLE,
    execute_moves,
};
use super::java_order::hash_set_order;
use super::{emit, json, plural, terse};
use crate::client::admin::Admin;
use crate::client::admin_logdirs::TopicPartitionReplica;
use crate::client::admin_reassign::{ConfigOp, PartitionReassignment, ResourceType};
use crate::client::admin_txn::{TopicPartition, tp_string};
use std::collections::{BTreeMap, BTreeSet};

/// Where a partition stands against its target (`done`: no reassignment is ongoing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub current: Vec<i32>,
    pub target: Vec<i32>,
    pub done: bool,
}

/// Where a replica's log directory move stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveState {
    /// The broker does not report the replica in any live directory.
    MissingLogDir,
    /// The broker does not report the replica at all.
    MissingReplica,
    Active {
        current: String,
        target: String,
        future: String,
    },
    Cancelled {
        current: String,
        target: String,
    },
    Completed,
}

impl MoveState {
    fn done(&self) -> bool {
        matches!(self, MoveState::Cancelled { .. } | MoveState::Completed)
    }
}

fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Kafka's `partitionReassignmentStatesToString`.
pub fn partition_states_text(states: &BTreeMap<TopicPartition, PartitionState>) -> String {
    let mut lines = vec!["Status of partition reassignment:".to_string()];
    for (tp, s) in states {
        let name = tp_string(tp);
        lines.push(if !s.done {
            format!("Reassignment of partition {name} is still in progress.")
        } else if s.current == s.target {
            format!("Reassignment of partition {name} is completed.")
        } else {
            format!(
                "There is no active reassignment of partition {name}, but replica set is {} rather than {}.",
                ids(&s.current),
                ids(&s.target)
            )
        });
    }
    lines.join("\n")
}

/// Kafka's `replicaMoveStatesToString`: sorted by broker, topic, partition.
pub fn move_states_text(states: &BTreeMap<TopicPartitionReplica, MoveState>) -> String {
    let mut keys: Vec<&TopicPartitionReplica> = states.keys().collect();
    keys.sort_by(|a, b| (a.2, &a.0, a.1).cmp(&(b.2, &b.0, b.1)));
    let lines: Vec<String> = keys
        .into_iter()
        .map(|r| {
            let (t, p, b) = (&r.0, r.1, r.2);
            match &states[r] {
                MoveState::MissingLogDir => format!(
                    "Partition {t}-{p} is not found in any live log dir on broker {b}. There is likely an offline log directory on the broker."
                ),
                MoveState::MissingReplica => format!("Partition {t}-{p} cannot be found in any live log directory on broker {b}."),
                MoveState::Active { target, future, .. } if target == future => format!("Reassignment of replica {t}-{p}-{b} is still in progress."),
                MoveState::Active { target, future, .. } => {
                    format!("Partition {t}-{p} on broker {b} is being moved to log dir {future} instead of {target}.")
                }
                MoveState::Cancelled { current, target } => {
                    format!("Partition {t}-{p} on broker {b} is not being moved from log dir {current} to {target}.")
                }
                MoveState::Completed => format!("Reassignment of replica {t}-{p}-{b} completed successfully."),
            }
        })
        .collect();
    lines.join("\n")
}

/// Kafka's `curReassignmentsToString`.
pub fn list_text(ongoing: &BTreeMap<TopicPartition, PartitionReassignment>) -> String {
    if ongoing.is_empty() {
        return "No partition reassignments found.".into();
    }
    let lines: Vec<String> = ongoing
        .iter()
        .map(|(tp, r)| {
            let adding = if r.adding.is_empty() { String::new() } else { format!(" adding: {}.", ids(&r.adding)) };
            let removing = if r.removing.is_empty() { String::new() } else { format!(" removing: {}.", ids(&r.removing)) };
            format!("{}: replicas: {}.{adding}{removing}", tp_string(tp), ids(&r.replicas))
        })
        .collect();
    format!("Current partition reassignments:\n{}", lines.join("\n"))
}

/// Kafka's `findPartitionReassignmentStates`: in progress when listed, else the replicas
/// the topic has now (none when the topic or partition is unknown).
async fn partition_states(
    admin: &Admin,
    targets: &[(TopicPartition, Vec<i32>)],
) -> anyhow::Result<(BTreeMap<TopicPartition, PartitionState>, bool)> {
    let ongoing = admin.list_partition_reassignments(None).await?;
    let lookup: BTreeSet<String> = targets.iter().filter(|(tp, _)| !ongoing.contains_key(tp)).map(|((t, _), _)| t.clone()).collect();
    let mut described: BTreeMap<String, Vec<Vec<i32>>> = BTreeMap::new();
    if !lookup.is_empty() {
        let names: Vec<String> = lookup.into_iter().collect();
        let meta = admin.cluster.refresh(Some(&names)).await?;
        for n in names {
            match meta.topics.get(&n) {
                Some(t) if t.error == 0 => {
                    described.insert(n, t.partitions.iter().map(|p| p.replicas.clone()).collect());
                }
                Some(t) if t.error != 3 => return Err(crate::client::admin_reassign::java_error(t.error).into()),
                _ => {}
            }
        }
    }
    let mut states = BTreeMap::new();
    for (tp, target) in targets {
        let state = match ongoing.get(tp) {
            Some(r) => PartitionState { current: r.replicas.clone(), target: target.clone(), done: false },
            None => {
                let current =
                    described.get(&tp.0).and_then(|ps| usize::try_from(tp.1).ok().and_then(|i| ps.get(i))).cloned().unwrap_or_default();
                PartitionState { current, target: target.clone(), done: true }
            }
        };
        states.insert(tp.clone(), state);
    }
    Ok((states, !ongoing.is_empty()))
}

/// Kafka's `findLogDirMoveStates`.
async fn move_states(
    admin: &Admin,
    targets: &BTreeMap<TopicPartitionReplica, String>,
) -> anyhow::Result<BTreeMap<TopicPartitionReplica, MoveState>> {
    if targets.is_empty() {
        return Ok(BTreeMap::new());
    }
    let replicas: Vec<TopicPartitionReplica> = targets.keys().cloned().collect();
    let infos = admin.describe_replica_log_dirs(&replicas).await?;
    Ok(targets
        .iter()
        .map(|(r, target)| {
            let state = match infos.get(r) {
                None => MoveState::MissingReplica,
                Some(i) => match (&i.current, &i.future) {
                    (None, _) => MoveState::MissingLogDir,
                    (Some(c), None) if c == target => MoveState::Completed,
                    (Some(c), None) => MoveState::Cancelled { current: c.clone(), target: target.clone() },
                    (Some(c), Some(f)) => MoveState::Active { current: c.clone(), target: target.clone(), future: f.clone() },
                },
            };
            (r.clone(), state)
        })
        .collect())
}

pub async fn verify(admin: &Admin, text: &str, preserve_throttles: bool) -> anyhow::Result<i32> {
    let file = json::parse_reassignment(text).map_err(anyhow::Error::msg)?;
    let (states, parts_ongoing) = partition_states(admin, &file.partitions).await?;
    emit(&format!("{}\n", partition_states_text(&states)))?;
    let moves = move_states(admin, &file.log_dirs).await?;
    emit(&format!("{}\n", move_states_text(&moves)))?;
    let moves_ongoing = !moves.values().all(MoveState::done);
    if !parts_ongoing && !moves_ongoing && !preserve_throttles {
        clear_all_throttles(admin, &file.partitions).await?;
    }
    Ok(0)
}

pub async fn cancel(admin: &Admin, text: &str, preserve_throttles: bool, timeout_ms: i64) -> anyhow::Result<i32> {
    let file = json::parse_reassignment(text).map_err(anyhow::Error::msg)?;
    let targets: BTreeSet<TopicPartition> = file.partitions.iter().map(|(tp, _)| tp.clone()).collect();
    // Every listed reassignment is cancelled (Kafka's filter skips pure additions; a bug).
    let active = admin.list_partition_reassignments(Some(&targets)).await?;
    if active.is_empty() {
        emit("None of the specified partition reassignments are active.\n")?;
    } else {
        let changes = active.keys().map(|tp| (tp.clone(), None)).collect();
        let results = admin.alter_partition_reassignments(&changes).await?;
        let errors: Vec<String> =
            results.iter().filter_map(|(tp, r)| r.as_ref().err().map(|m| format!("{}: {m}", tp_string(tp)))).collect();
        if !errors.is_empty() {
            return terse(&format!("Error cancelling partition reassignment{} for:\n{}", plural(errors.len()), errors.join("\n")));
        }
        let names: Vec<String> = active.keys().map(tp_string).collect();
        emit(&format!("Successfully cancelled partition reassignment{} for: {}\n", plural(active.len()), names.join(",")))?;
    }
    let moving: BTreeMap<TopicPartitionReplica, String> = move_states(admin, &file.log_dirs)
        .await?
        .into_iter()
        .filter_map(|(r, s)| match s {
            MoveState::Active { current, .. } => Some((r, current)),
            _ => None,
        })
        .collect();
    if moving.is_empty() {
        // Kafka prints this without a newline.
        emit("None of the specified partition moves are active.")?;
    } else {
        let code = execute_moves(admin, moving, timeout_ms).await?;
        if code != 0 {
            return Ok(code);
        }
    }
    if !preserve_throttles {
        clear_all_throttles(admin, &file.partitions).await?;
    }
    Ok(0)
}

pub async fn list(admin: &Admin) -> anyhow::Result<i32> {
    let ongoing = admin.list_partition_reassignments(None).await?;
    emit(&format!("{}\n", list_text(&ongoing)))?;
    Ok(0)
}

/// Kafka's `clearAllThrottles`: the rate configs off every broker of the cluster and of
/// the file, the replica lists off every topic of the file, each announced first.
async fn clear_all_throttles(admin: &Admin, targets: &[(TopicPartition, Vec<i32>)]) -> anyhow::Result<()> {
    let nodes = admin.describe_cluster_nodes().await?;
    let brokers = hash_set_order(nodes.iter().map(|n| n.id).chain(targets.iter().flat_map(|(_, rs)| rs.iter().copied())));
    emit(&format!("Clearing broker-level throttles on broker{} {}\n", plural(brokers.len()), ids(&brokers)))?;
    let changes = brokers
        .iter()
        .map(|b| {
            let ops = [LEADER_THROTTLED_RATE, FOLLOWER_THROTTLED_RATE, LOG_DIRS_THROTTLE]
                .iter()
                .map(|k| ConfigOp::Delete(k.to_string()))
                .collect();
            ((ResourceType::Broker, b.to_string()), ops)
        })
        .collect();
    admin.incremental_alter_configs(&changes).await?;
    let topics = hash_set_order(targets.iter().map(|((t, _), _)| t.clone()));
    emit(&format!("Clearing topic-level throttles on topic{} {}\n", plural(topics.len()), topics.join(",")))?;
    let changes = topics
        .iter()
        .map(|t| {
            let ops = [LEADER_THROTTLED_REPLICAS, FOLLOWER_THROTTLED_REPLICAS].iter().map(|k| ConfigOp::Delete(k.to_string())).collect();
            ((ResourceType::Topic, t.clone()), ops)
        })
        .collect();
    admin.incremental_alter_configs(&changes).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(current: &[i32], target: &[i32], done: bool) -> PartitionState {
        PartitionState { current: current.to_vec(), target: target.to_vec(), done }
    }

    #[test]
    fn partition_states_text_matches_kafka() {
        let states: BTreeMap<TopicPartition, PartitionState> = [
            (("foo".to_string(), 0), st(&[1, 2, 3], &[1, 2, 3], true)),
            (("foo".to_string(), 1), st(&[1, 2, 3], &[1, 2, 4], false)),
            (("bar".to_string(), 0), st(&[1, 2, 3], &[1, 2, 4], false)),
            (("baz".to_string(), 2), st(&[1, 2], &[3, 4], true)),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            partition_states_text(&states),
            "Status of partition reassignment:\n\
             Reassignment of partition bar-0 is still in progress.\n\
             There is no active reassignment of partition baz-2, but replica set is 1,2 rather than 3,4.\n\
             Reassignment of partition foo-0 is completed.\n\
             Reassignment of partition foo-1 is still in progress."
        );
    }

    #[test]
    fn move_states_text_matches_kafka() {
        let r = |t: &str, p: i32, b: i32| (t.to_string(), p, b);
        let s = |x: &str| x.to_string();
        let states: BTreeMap<TopicPartitionReplica, MoveState> = [
            (r("bar", 0, 0), MoveState::Completed),
            (
                r("foo", 0, 0),
                MoveState::Active { current: s("/tmp/kafka-logs0"), target: s("/tmp/kafka-logs1"), future: s("/tmp/kafka-logs1") },
            ),
            (r("foo", 1, 0), MoveState::Cancelled { current: s("/tmp/kafka-logs0"), target: s("/tmp/kafka-logs1") }),
            (r("quux", 0, 0), MoveState::MissingReplica),
            (
                r("quux", 1, 1),
                MoveState::Active { current: s("/tmp/kafka-logs0"), target: s("/tmp/kafka-logs1"), future: s("/tmp/kafka-logs2") },
            ),
            (r("quux", 2, 1), MoveState::MissingLogDir),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            move_states_text(&states),
            "Reassignment of replica bar-0-0 completed successfully.\n\
             Reassignment of replica foo-0-0 is still in progress.\n\
             Partition foo-1 on broker 0 is not being moved from log dir /tmp/kafka-logs0 to /tmp/kafka-logs1.\n\
             Partition quux-0 cannot be found in any live log directory on broker 0.\n\
             Partition quux-1 on broker 1 is being moved to log dir /tmp/kafka-logs2 instead of /tmp/kafka-logs1.\n\
             Partition quux-2 is not found in any live log dir on broker 1. There is likely an offline log directory on the broker."
        );
        assert_eq!(move_states_text(&BTreeMap::new()), "");
    }

    #[test]
    fn list_text_matches_kafka() {
        assert_eq!(list_text(&BTreeMap::new()), "No partition reassignments found.");
        let ra = |r: &[i32], a: &[i32], d: &[i32]| PartitionReassignment { replicas: r.to_vec(), adding: a.to_vec(), removing: d.to_vec() };
        let ongoing: BTreeMap<TopicPartition, PartitionReassignment> = [
            (("foo".to_string(), 1), ra(&[1, 2, 3], &[4, 5], &[1, 2])),
            (("foo".to_string(), 0), ra(&[0, 1, 2], &[4], &[])),
            (("bar".to_string(), 0), ra(&[2, 3, 0], &[], &[0])),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            list_text(&ongoing),
            "Current partition reassignments:\n\
             bar-0: replicas: 2,3,0. removing: 0.\n\
             foo-0: replicas: 0,1,2. adding: 4.\n\
             foo-1: replicas: 1,2,3. adding: 4,5. removing: 1,2."
        );
    }
}
