//! A fake cluster for the cluster-tool tests (`rk metadata-quorum`, `rk reassign-partitions`):
//! one fake broker (txn_support/fake_broker.rs) per node id, sharing a state with topics,
//! ongoing reassignments (the controller's rules: removing = current − target, adding =
//! target − current, replicas = target ++ removing), replica log dirs and a canned
//! DescribeQuorum answer. Every config change and reassignment request is logged.
#![allow(dead_code)]

#[path = "../txn_support/fake_broker.rs"]
pub mod fake_broker;

use fake_broker::{FakeRequest, api_versions, encode};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

pub type Tp = (String, i32);
/// An ongoing reassignment: (replicas, adding, removing).
pub type Ongoing = (Vec<i32>, Vec<i32>, Vec<i32>);
/// A broker's log dirs: [(dir, [(topic, partition, is_future)])].
pub type LogDirs = Vec<(String, Vec<(String, i32, bool)>)>;

#[derive(Default)]
pub struct State {
    pub cluster_id: String,
    pub controller: i32,
    /// (id, rack, port) in the order DescribeCluster lists them.
    pub brokers: Vec<(i32, Option<String>, u16)>,
    pub topics: BTreeMap<String, Vec<Vec<i32>>>,
    /// partition → (replicas, adding, removing).
    pub ongoing: BTreeMap<Tp, Ongoing>,
    /// Errors AlterPartitionReassignments answers for a partition: (code, message).
    pub alter_errors: BTreeMap<Tp, (i16, Option<String>)>,
    /// broker → [(dir, [(topic, partition, is_future)])].
    pub log_dirs: BTreeMap<i32, LogDirs>,
    /// The codes AlterReplicaLogDirs answers per (topic, partition, broker) (default 0).
    pub alter_dir_codes: BTreeMap<(String, i32, i32), i16>,
    pub quorum: Option<DescribeQuorumResponse>,
    /// How many ListPartitionReassignments answers are NOT_CONTROLLER before a real one.
    pub not_controller: u32,
    /// API keys the brokers do not advertise.
    pub without: Vec<i16>,
    /// One line per config change / reassignment request, in arrival order.
    pub log: Vec<String>,
}

pub struct FakeCluster {
    pub state: Arc<Mutex<State>>,
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl FakeCluster {
    /// Brokers with the given ids and racks; the first is the controller.
    pub fn start(brokers: &[(i32, Option<&str>)]) -> FakeCluster {
        let state =
            Arc::new(Mutex::new(State { cluster_id: "fake-cluster-id-00000000".into(), controller: brokers[0].0, ..Default::default() }));
        for (id, rack) in brokers {
            let (st, id) = (state.clone(), *id);
            let (_, port) = fake_broker::start_with(move |_| Arc::new(move |r: &mut FakeRequest| handle(&st, id, r)));
            state.lock().unwrap().brokers.push((id, rack.map(str::to_string), port));
        }
        FakeCluster { state }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.state.lock().unwrap().brokers[0].2)
    }

    pub fn topic(&self, name: &str, partitions: &[&[i32]]) {
        self.state.lock().unwrap().topics.insert(name.into(), partitions.iter().map(|p| p.to_vec()).collect());
    }

    /// Every ongoing reassignment finishes: the replicas become the targets.
    pub fn complete_all(&self) {
        let mut st = self.state.lock().unwrap();
        let done: Vec<_> = std::mem::take(&mut st.ongoing).into_iter().collect();
        for ((t, p), (replicas, _, removing)) in done {
            let target: Vec<i32> = replicas.into_iter().filter(|r| !removing.contains(r)).collect();
            st.topics.get_mut(&t).unwrap()[p as usize] = target;
        }
    }

    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// Runs `rk <args>` against this cluster; returns (stdout, stderr, exit code).
    pub fn rk(&self, args: &[&str]) -> (String, String, i32) {
        let out = rk(args);
        (String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into(), out.status.code().unwrap_or(-1))
    }
}

pub fn rk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rk")).args(args).env_remove("RK_BROKERS").output().unwrap()
}

fn handle(st: &Mutex<State>, me: i32, r: &mut FakeRequest) -> Option<bytes::BytesMut> {
    let v = r.version;
    let mut st = st.lock().unwrap();
    match r.api {
        ApiKey::ApiVersions => {
            let all = [(18, 0, 3), (3, 0, 12), (60, 0, 1), (55, 0, 2), (46, 0, 0), (45, 0, 1), (44, 0, 1), (35, 1, 4), (34, 1, 2)];
            let keys: Vec<(i16, i16, i16)> = all.into_iter().filter(|(k, _, _)| !st.without.contains(k)).collect();
            api_versions(&keys, v)
        }
        ApiKey::Metadata => {
            let req: MetadataRequest = r.decode();
            let brokers = st
                .brokers
                .iter()
                .map(|(id, rack, port)| {
                    metadata_response::MetadataResponseBroker::default()
                        .with_node_id(BrokerId(*id))
                        .with_host(sb("127.0.0.1"))
                        .with_port(*port as i32)
                        .with_rack(rack.as_deref().map(sb))
                })
                .collect();
            let names: Vec<String> = match req.topics {
                Some(ts) => ts.into_iter().filter_map(|t| t.name.map(|n| n.0.to_string())).collect(),
                None => st.topics.keys().cloned().collect(),
            };
            let topics = names
                .iter()
                .map(|n| {
                    let t = metadata_response::MetadataResponseTopic::default().with_name(Some(TopicName(sb(n))));
                    match st.topics.get(n) {
                        None => t.with_error_code(3),
                        Some(ps) => t.with_partitions(
                            ps.iter()
                                .enumerate()
                                .map(|(i, rs)| {
                                    let ids: Vec<BrokerId> = rs.iter().map(|b| BrokerId(*b)).collect();
                                    metadata_response::MetadataResponsePartition::default()
                                        .with_partition_index(i as i32)
                                        .with_leader_id(ids[0])
                                        .with_replica_nodes(ids.clone())
                                        .with_isr_nodes(ids)
                                })
                                .collect(),
                        ),
                    }
                })
                .collect();
            let resp = MetadataResponse::default()
                .with_cluster_id(Some(sb(&st.cluster_id)))
                .with_controller_id(BrokerId(st.controller))
                .with_brokers(brokers)
                .with_topics(topics);
            encode(&resp, v)
        }
        ApiKey::DescribeCluster => {
            let brokers = st
                .brokers
                .iter()
                .map(|(id, rack, port)| {
                    describe_cluster_response::DescribeClusterBroker::default()
                        .with_broker_id(BrokerId(*id))
                        .with_host(sb("127.0.0.1"))
                        .with_port(*port as i32)
                        .with_rack(rack.as_deref().map(sb))
                })
                .collect();
            let resp = DescribeClusterResponse::default()
                .with_cluster_id(sb(&st.cluster_id))
                .with_controller_id(BrokerId(st.controller))
                .with_brokers(brokers);
            encode(&resp, v)
        }
        ApiKey::DescribeQuorum => encode(&st.quorum.clone().unwrap_or_default(), v),
        ApiKey::ListPartitionReassignments => {
            let req: ListPartitionReassignmentsRequest = r.decode();
            if st.not_controller > 0 {
                st.not_controller -= 1;
                return encode(&ListPartitionReassignmentsResponse::default().with_error_code(41), v);
            }
            let wanted = |t: &str, p: i32| match &req.topics {
                None => true,
                Some(ts) => ts.iter().any(|x| x.name.0.as_str() == t && x.partition_indexes.contains(&p)),
            };
            let mut by_topic: BTreeMap<String, Vec<list_partition_reassignments_response::OngoingPartitionReassignment>> = BTreeMap::new();
            for ((t, p), (replicas, adding, removing)) in &st.ongoing {
                if wanted(t, *p) {
                    let ids = |v: &Vec<i32>| v.iter().map(|b| BrokerId(*b)).collect();
                    by_topic.entry(t.clone()).or_default().push(
                        list_partition_reassignments_response::OngoingPartitionReassignment::default()
                            .with_partition_index(*p)
                            .with_replicas(ids(replicas))
                            .with_adding_replicas(ids(adding))
                            .with_removing_replicas(ids(removing)),
                    );
                }
            }
            let topics = by_topic
                .into_iter()
                .map(|(t, ps)| {
                    list_partition_reassignments_response::OngoingTopicReassignment::default()
                        .with_name(TopicName(sb(&t)))
                        .with_partitions(ps)
                })
                .collect();
            encode(&ListPartitionReassignmentsResponse::default().with_topics(topics), v)
        }
        ApiKey::AlterPartitionReassignments => {
            let req: AlterPartitionReassignmentsRequest = r.decode();
            let mut responses = Vec::new();
            for t in req.topics {
                let name = t.name.0.to_string();
                let mut parts = Vec::new();
                for p in t.partitions {
                    let tp = (name.clone(), p.partition_index);
                    let target: Option<Vec<i32>> = p.replicas.map(|rs| rs.iter().map(|b| b.0).collect());
                    st.log.push(format!("alter {}-{} {:?}", tp.0, tp.1, target));
                    let (code, msg) = match st.alter_errors.get(&tp).cloned() {
                        Some(e) => e,
                        None => reassign(&mut st, &tp, target),
                    };
                    parts.push(
                        alter_partition_reassignments_response::ReassignablePartitionResponse::default()
                            .with_partition_index(tp.1)
                            .with_error_code(code)
                            .with_error_message(msg.as_deref().map(sb)),
                    );
                }
                responses.push(
                    alter_partition_reassignments_response::ReassignableTopicResponse::default()
                        .with_name(TopicName(sb(&name)))
                        .with_partitions(parts),
                );
            }
            encode(&AlterPartitionReassignmentsResponse::default().with_responses(responses), v)
        }
        ApiKey::IncrementalAlterConfigs => {
            let req: IncrementalAlterConfigsRequest = r.decode();
            let mut responses = Vec::new();
            for res in req.resources {
                let kind = if res.resource_type == 4 { "broker" } else { "topic" };
                for c in &res.configs {
                    let op = if c.config_operation == 0 { "SET" } else { "DELETE" };
                    let val = c.value.as_ref().map(|v| format!("={}", v.as_str())).unwrap_or_default();
                    st.log.push(format!("config@{me} {kind} {} {op} {}{val}", res.resource_name.as_str(), c.name.as_str()));
                }
                responses.push(
                    incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                        .with_resource_type(res.resource_type)
                        .with_resource_name(res.resource_name),
                );
            }
            encode(&IncrementalAlterConfigsResponse::default().with_responses(responses), v)
        }
        ApiKey::DescribeLogDirs => {
            let results = st
                .log_dirs
                .get(&me)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|(dir, replicas)| {
                    let mut by_topic: BTreeMap<String, Vec<describe_log_dirs_response::DescribeLogDirsPartition>> = BTreeMap::new();
                    for (t, p, future) in replicas {
                        by_topic.entry(t).or_default().push(
                            describe_log_dirs_response::DescribeLogDirsPartition::default()
                                .with_partition_index(p)
                                .with_is_future_key(future),
                        );
                    }
                    let topics = by_topic
                        .into_iter()
                        .map(|(t, ps)| {
                            describe_log_dirs_response::DescribeLogDirsTopic::default().with_name(TopicName(sb(&t))).with_partitions(ps)
                        })
                        .collect();
                    describe_log_dirs_response::DescribeLogDirsResult::default().with_log_dir(sb(&dir)).with_topics(topics)
                })
                .collect();
            encode(&DescribeLogDirsResponse::default().with_results(results), v)
        }
        ApiKey::AlterReplicaLogDirs => {
            let req: AlterReplicaLogDirsRequest = r.decode();
            let mut results = Vec::new();
            for d in req.dirs {
                for t in d.topics {
                    let mut parts = Vec::new();
                    for p in t.partitions {
                        let code = st.alter_dir_codes.get(&(t.name.0.to_string(), p, me)).copied().unwrap_or(0);
                        st.log.push(format!("move {}-{}-{me} to {} -> {code}", t.name.0.as_str(), p, d.path.as_str()));
                        parts.push(
                            alter_replica_log_dirs_response::AlterReplicaLogDirPartitionResult::default()
                                .with_partition_index(p)
                                .with_error_code(code),
                        );
                    }
                    results.push(
                        alter_replica_log_dirs_response::AlterReplicaLogDirTopicResult::default()
                            .with_topic_name(t.name)
                            .with_partitions(parts),
                    );
                }
            }
            encode(&AlterReplicaLogDirsResponse::default().with_results(results), v)
        }
        _ => None,
    }
}

/// The controller's reassignment rules, simplified: start, complete at once when nothing is
/// added or removed, or cancel (revert to the original replicas).
fn reassign(st: &mut State, tp: &Tp, target: Option<Vec<i32>>) -> (i16, Option<String>) {
    let Some(current) = st.topics.get(&tp.0).and_then(|ps| ps.get(tp.1 as usize)).cloned() else {
        return (3, None);
    };
    match target {
        None => match st.ongoing.remove(tp) {
            Some((replicas, adding, _)) => {
                st.topics.get_mut(&tp.0).unwrap()[tp.1 as usize] = replicas.into_iter().filter(|r| !adding.contains(r)).collect();
                (0, None)
            }
            None => (85, None),
        },
        Some(target) => {
            let base = st.ongoing.get(tp).map(|(r, a, _)| r.iter().filter(|x| !a.contains(x)).copied().collect()).unwrap_or(current);
            let removing: Vec<i32> = base.iter().filter(|r| !target.contains(r)).copied().collect();
            let adding: Vec<i32> = target.iter().filter(|r| !base.contains(r)).copied().collect();
            if adding.is_empty() && removing.is_empty() {
                st.ongoing.remove(tp);
                st.topics.get_mut(&tp.0).unwrap()[tp.1 as usize] = target;
            } else {
                // During a reassignment the partition's replicas are target ++ removing.
                let replicas: Vec<i32> = target.iter().chain(&removing).copied().collect();
                st.topics.get_mut(&tp.0).unwrap()[tp.1 as usize] = replicas.clone();
                st.ongoing.insert(tp.clone(), (replicas, adding, removing));
            }
            (0, None)
        }
    }
}
