//! `--execute`: checks, the rollback JSON, the inter-broker and log-dir throttles (Kafka's
//! move map), AlterPartitionReassignments, then log-directory moves until they start.

use super::java_order::hash_set_order;
use super::{emit, json, plural, terse};
use crate::client::admin::Admin;
use crate::client::admin_logdirs::{TopicPartitionReplica, tpr_string};
use crate::client::admin_reassign::{ConfigOp, PartitionReassignment, ResourceType};
use crate::client::admin_txn::{TopicPartition, tp_string};
use kafka_protocol::error::ResponseError as E;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

pub const LEADER_THROTTLED_RATE: &str = "leader.replication.throttled.rate";
pub const FOLLOWER_THROTTLED_RATE: &str = "follower.replication.throttled.rate";
pub const LOG_DIRS_THROTTLE: &str = "replica.alter.log.dirs.io.max.bytes.per.second";
pub const LEADER_THROTTLED_REPLICAS: &str = "leader.replication.throttled.replicas";
pub const FOLLOWER_THROTTLED_REPLICAS: &str = "follower.replication.throttled.replicas";

const CANNOT_EXECUTE: &str = "Cannot execute because there is an existing partition assignment.  Use --additional to override this and \
     create a new partition assignment in addition to the existing one. The --additional flag can also be used to change the \
     throttle by resubmitting the current reassignment.";
const RUN_VERIFY: &str =
    "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.";

pub struct ExecuteOpts {
    pub additional: bool,
    /// Bytes/s; negative = no throttle.
    pub throttle: i64,
    pub log_dir_throttle: i64,
    pub timeout_ms: i64,
}

/// The replicas a partition moves from (sources) and to (destinations).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionMove {
    pub sources: BTreeSet<i32>,
    pub destinations: BTreeSet<i32>,
}

pub type MoveMap = BTreeMap<String, BTreeMap<i32, PartitionMove>>;

/// Kafka's `calculateProposedMoveMap`: the ongoing moves (sources = replicas − adding,
/// destinations = adding), overlaid by the proposal, whose sources are the ongoing move's
/// when there is one, else the current replicas.
pub fn proposed_move_map(
    ongoing: &BTreeMap<TopicPartition, PartitionReassignment>,
    proposed: &BTreeMap<TopicPartition, Vec<i32>>,
    current: &BTreeMap<TopicPartition, Vec<i32>>,
) -> MoveMap {
    let mut map = MoveMap::new();
    for ((t, p), r) in ongoing {
        let sources = r.replicas.iter().filter(|b| !r.adding.contains(b)).copied().collect();
        map.entry(t.clone()).or_default().insert(*p, PartitionMove { sources, destinations: r.adding.iter().copied().collect() });
    }
    for ((t, p), replicas) in proposed {
        let moves = map.entry(t.clone()).or_default();
        let sources: BTreeSet<i32> = match moves.get(p) {
            Some(m) => m.sources.clone(),
            None => current.get(&(t.clone(), *p)).map(|c| c.iter().copied().collect()).unwrap_or_default(),
        };
        let destinations = replicas.iter().filter(|b| !sources.contains(b)).copied().collect();
        moves.insert(*p, PartitionMove { sources, destinations });
    }
    map
}

/// A throttle config value: `partition:broker` entries sorted as strings (a TreeSet).
fn throttle_value(entries: impl Iterator<Item = (i32, i32)>) -> String {
    let set: BTreeSet<String> = entries.map(|(p, b)| format!("{p}:{b}")).collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

/// Kafka's `calculateLeaderThrottles`: every source replica of every move, per topic.
pub fn leader_throttles(map: &MoveMap) -> BTreeMap<String, String> {
    map.iter().map(|(t, moves)| (t.clone(), throttle_value(moves.iter().flat_map(|(p, m)| m.sources.iter().map(|b| (*p, *b)))))).collect()
}

/// Kafka's `calculateFollowerThrottles`: every destination that is not a source.
pub fn follower_throttles(map: &MoveMap) -> BTreeMap<String, String> {
    map.iter()
        .map(|(t, moves)| {
            let entries = moves.iter().flat_map(|(p, m)| m.destinations.iter().filter(|d| !m.sources.contains(d)).map(|d| (*p, *d)));
            (t.clone(), throttle_value(entries))
        })
        .collect()
}

/// Every broker a move reads from or writes to.
pub fn reassigning_brokers(map: &MoveMap) -> BTreeSet<i32> {
    map.values().flat_map(|ms| ms.values()).flat_map(|m| m.sources.iter().chain(&m.destinations)).copied().collect()
}

/// The rollback text Kafka prints before starting.
pub fn current_assignment_text(proposed: &BTreeMap<TopicPartition, Vec<i32>>, current: &BTreeMap<TopicPartition, Vec<i32>>) -> String {
    let shown: BTreeMap<TopicPartition, Vec<i32>> =
        current.iter().filter(|(tp, _)| proposed.contains_key(*tp)).map(|(k, v)| (k.clone(), v.clone())).collect();
    format!(
        "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback",
        json::format_reassignment(&shown, &BTreeMap::new())
    )
}

pub async fn run(admin: &Admin, text: &str, o: &ExecuteOpts) -> anyhow::Result<i32> {
    let file = json::parse_reassignment(text).map_err(anyhow::Error::msg)?;
    let proposed = json::validate_for_execute(&file).map_err(anyhow::Error::msg)?;
    let ongoing = admin.list_partition_reassignments(None).await?;
    if !o.additional && !ongoing.is_empty() {
        return terse(CANNOT_EXECUTE);
    }
    let known: BTreeSet<i32> = admin.describe_cluster_nodes().await?.iter().map(|n| n.id).collect();
    let brokers = hash_set_order(proposed.values().flatten().copied());
    if let Some(b) = brokers.iter().find(|b| !known.contains(b)) {
        anyhow::bail!("Unknown broker id {b}");
    }
    let current = current_replicas(admin, &proposed).await?;
    emit(&format!("{}\n", current_assignment_text(&proposed, &current)))?;
    if o.throttle >= 0 || o.log_dir_throttle >= 0 {
        emit(&format!("{RUN_VERIFY}\n"))?;
        if o.throttle >= 0 {
            let map = proposed_move_map(&ongoing, &proposed, &current);
            let mut changes: BTreeMap<(ResourceType, String), Vec<ConfigOp>> = BTreeMap::new();
            let (leaders, followers) = (leader_throttles(&map), follower_throttles(&map));
            for (t, v) in leaders {
                changes.entry((ResourceType::Topic, t)).or_default().push(ConfigOp::Set(LEADER_THROTTLED_REPLICAS.into(), v));
            }
            for (t, v) in followers {
                changes.entry((ResourceType::Topic, t)).or_default().push(ConfigOp::Set(FOLLOWER_THROTTLED_REPLICAS.into(), v));
            }
            admin.incremental_alter_configs(&changes).await?;
            let rate = o.throttle.to_string();
            let brokers: BTreeMap<(ResourceType, String), Vec<ConfigOp>> = reassigning_brokers(&map)
                .iter()
                .map(|b| {
                    let ops = vec![
                        ConfigOp::Set(LEADER_THROTTLED_RATE.into(), rate.clone()),
                        ConfigOp::Set(FOLLOWER_THROTTLED_RATE.into(), rate.clone()),
                    ];
                    ((ResourceType::Broker, b.to_string()), ops)
                })
                .collect();
            admin.incremental_alter_configs(&brokers).await?;
            emit(&format!("The inter-broker throttle limit was set to {} B/s\n", o.throttle))?;
        }
        if o.log_dir_throttle >= 0 {
            let moving: BTreeSet<i32> = file.log_dirs.keys().map(|r| r.2).collect();
            let changes = moving
                .iter()
                .map(|b| {
                    ((ResourceType::Broker, b.to_string()), vec![ConfigOp::Set(LOG_DIRS_THROTTLE.into(), o.log_dir_throttle.to_string())])
                })
                .collect();
            admin.incremental_alter_configs(&changes).await?;
            emit(&format!("The replica-alter-dir throttle limit was set to {} B/s\n", o.log_dir_throttle))?;
        }
    }
    let changes = proposed.iter().map(|(tp, rs)| (tp.clone(), Some(rs.clone()))).collect();
    let results = admin.alter_partition_reassignments(&changes).await?;
    let errors: Vec<String> = results.iter().filter_map(|(tp, r)| r.as_ref().err().map(|m| format!("{}: {m}", tp_string(tp)))).collect();
    if !errors.is_empty() {
        return terse(&format!("Error reassigning partition(s):\n{}", errors.join("\n")));
    }
    let names: Vec<String> = proposed.keys().map(tp_string).collect();
    emit(&format!("Successfully started partition reassignment{} for {}\n", plural(proposed.len()), names.join(",")))?;
    if !file.log_dirs.is_empty() {
        return execute_moves(admin, file.log_dirs, o.timeout_ms).await;
    }
    Ok(0)
}

/// Kafka's `getReplicaAssignmentForPartitions`: the current replicas of the proposed
/// partitions; a missing topic or partition fails.
async fn current_replicas(
    admin: &Admin,
    proposed: &BTreeMap<TopicPartition, Vec<i32>>,
) -> anyhow::Result<BTreeMap<TopicPartition, Vec<i32>>> {
    let topics = hash_set_order(proposed.keys().map(|(t, _)| t.clone()));
    let all = admin.replica_assignment(&topics).await.map_err(anyhow::Error::msg)?;
    let current: BTreeMap<TopicPartition, Vec<i32>> = all.into_iter().filter(|(tp, _)| proposed.contains_key(tp)).collect();
    let missing: Vec<TopicPartition> = proposed.keys().filter(|tp| !current.contains_key(*tp)).cloned().collect();
    if !missing.is_empty() {
        let names: Vec<String> = hash_set_order(missing).iter().map(tp_string).collect();
        anyhow::bail!("Unable to find partition: {}", names.join(", "));
    }
    Ok(current)
}

/// Kafka's `executeMoves`: asks for the moves until every one has started (a replica not
/// yet on its broker answers REPLICA_NOT_AVAILABLE and is asked again every 100 ms).
pub async fn execute_moves(admin: &Admin, moves: BTreeMap<TopicPartitionReplica, String>, timeout_ms: i64) -> anyhow::Result<i32> {
    let start = Instant::now();
    let mut pending = moves;
    loop {
        let results = admin.alter_replica_log_dirs(&pending).await?;
        let mut started: Vec<TopicPartitionReplica> = Vec::new();
        for (r, code) in &results {
            if *code == 0 {
                started.push(r.clone());
            } else if *code != E::ReplicaNotAvailable.code() {
                anyhow::bail!("Failed to alter dir for {}", tpr_string(r));
            }
        }
        // Kafka sorts by broker, then topic, then partition.
        started.sort_by(|a, b| (a.2, &a.0, a.1).cmp(&(b.2, &b.0, b.1)));
        for r in &started {
            emit(&format!(
                "Successfully started moving log directory to {} for replica {}-{} with broker {} \n",
                pending[r], r.0, r.1, r.2
            ))?;
        }
        for r in &started {
            pending.remove(r);
        }
        if pending.is_empty() {
            return Ok(0);
        }
        if start.elapsed() >= Duration::from_millis(timeout_ms.max(0) as u64) {
            let mut left: Vec<&TopicPartitionReplica> = pending.keys().collect();
            left.sort_by(|a, b| (a.2, &a.0, a.1).cmp(&(b.2, &b.0, b.1)));
            let names: Vec<String> = left.into_iter().map(tpr_string).collect();
            return terse(&format!(
                "Timed out before log directory move{} could be started for: {}",
                plural(pending.len()),
                names.join(",")
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> TopicPartition {
        (t.to_string(), p)
    }

    fn ra(replicas: &[i32], adding: &[i32], removing: &[i32]) -> PartitionReassignment {
        PartitionReassignment { replicas: replicas.to_vec(), adding: adding.to_vec(), removing: removing.to_vec() }
    }

    /// ReassignPartitionsUnitTest.testMoveMap.
    #[test]
    fn move_map_and_throttles_match_kafka() {
        let ongoing: BTreeMap<TopicPartition, PartitionReassignment> = [
            (tp("foo", 0), ra(&[1, 2, 3, 4], &[4], &[3])),
            (tp("foo", 1), ra(&[4, 5, 6, 7, 8], &[7, 8], &[4, 5])),
            (tp("foo", 2), ra(&[1, 2, 3, 4], &[3, 4], &[1, 2])),
            (tp("foo", 3), ra(&[1, 2, 3, 4], &[3, 4], &[1, 2])),
            (tp("foo", 4), ra(&[1, 2, 3, 4], &[3, 4], &[1, 2])),
            (tp("foo", 5), ra(&[1, 2, 3, 4], &[3, 4], &[1, 2])),
        ]
        .into_iter()
        .collect();
        let proposed: BTreeMap<TopicPartition, Vec<i32>> = [
            (tp("foo", 0), vec![1, 2, 5]),
            (tp("foo", 2), vec![3, 4]),
            (tp("foo", 3), vec![5, 6]),
            (tp("foo", 4), vec![3]),
            (tp("foo", 5), vec![3, 4, 5, 6]),
            (tp("bar", 0), vec![1, 2, 3]),
        ]
        .into_iter()
        .collect();
        let current: BTreeMap<TopicPartition, Vec<i32>> = [
            (tp("foo", 0), vec![1, 2, 3, 4]),
            (tp("foo", 1), vec![4, 5, 6, 7, 8]),
            (tp("foo", 2), vec![1, 2, 3, 4]),
            (tp("foo", 3), vec![1, 2, 3, 4]),
            (tp("foo", 4), vec![1, 2, 3, 4]),
            (tp("foo", 5), vec![1, 2, 3, 4]),
            (tp("bar", 0), vec![2, 3, 4]),
            (tp("baz", 0), vec![1, 2, 3]),
        ]
        .into_iter()
        .collect();
        let map = proposed_move_map(&ongoing, &proposed, &current);
        let mv = |s: &[i32], d: &[i32]| PartitionMove { sources: s.iter().copied().collect(), destinations: d.iter().copied().collect() };
        assert_eq!(map["foo"][&0], mv(&[1, 2, 3], &[5]));
        assert_eq!(map["foo"][&1], mv(&[4, 5, 6], &[7, 8]));
        assert_eq!(map["foo"][&2], mv(&[1, 2], &[3, 4]));
        assert_eq!(map["foo"][&3], mv(&[1, 2], &[5, 6]));
        assert_eq!(map["foo"][&4], mv(&[1, 2], &[3]));
        assert_eq!(map["foo"][&5], mv(&[1, 2], &[3, 4, 5, 6]));
        assert_eq!(map["bar"][&0], mv(&[2, 3, 4], &[1]));
        let l = leader_throttles(&map);
        assert_eq!(l["foo"], "0:1,0:2,0:3,1:4,1:5,1:6,2:1,2:2,3:1,3:2,4:1,4:2,5:1,5:2");
        assert_eq!(l["bar"], "0:2,0:3,0:4");
        let f = follower_throttles(&map);
        assert_eq!(f["foo"], "0:5,1:7,1:8,2:3,2:4,3:5,3:6,4:3,5:3,5:4,5:5,5:6");
        assert_eq!(f["bar"], "0:1");
        assert_eq!(reassigning_brokers(&map).into_iter().collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn throttle_entries_sort_as_strings() {
        // A TreeSet<String>: '0' sorts before ':', so "10:1" comes before "1:10".
        assert_eq!(throttle_value([(10, 1), (2, 1), (1, 10), (1, 2)].into_iter()), "10:1,1:10,1:2,2:1");
    }

    /// ReassignPartitionsUnitTest.testCurrentPartitionReplicaAssignmentToString.
    #[test]
    fn rollback_text_matches_kafka() {
        let proposed: BTreeMap<TopicPartition, Vec<i32>> =
            [(tp("foo", 1), vec![1, 2, 3]), (tp("bar", 0), vec![7, 8, 9])].into_iter().collect();
        let current: BTreeMap<TopicPartition, Vec<i32>> =
            [(tp("foo", 0), vec![1, 2, 3]), (tp("foo", 1), vec![4, 5, 6]), (tp("bar", 0), vec![7, 8]), (tp("baz", 0), vec![10, 11, 12])]
                .into_iter()
                .collect();
        assert_eq!(
            current_assignment_text(&proposed, &current),
            "Current partition replica assignment\n\n{\"version\":1,\"partitions\":\
             [{\"topic\":\"bar\",\"partition\":0,\"replicas\":[7,8],\"log_dirs\":[\"any\",\"any\"]},\
             {\"topic\":\"foo\",\"partition\":1,\"replicas\":[4,5,6],\"log_dirs\":[\"any\",\"any\",\"any\"]}]}\n\n\
             Save this to use as the --reassignment-json-file option during rollback"
        );
    }
}
