//! `rk metadata-quorum` against a fake broker answering DescribeQuorum: Kafka's exact
//! `describe --status` lines and `--replication` table, `--human-readable`, JSON, the
//! argument errors of MetadataQuorumCommand and a broker without the API.

mod cluster_support;

use cluster_support::{FakeCluster, rk};
use kafka_protocol::messages::describe_quorum_response::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn replica(id: i32, dir: [u8; 16], leo: i64, fetch: i64, caught_up: i64) -> ReplicaState {
    ReplicaState::default()
        .with_replica_id(BrokerId(id))
        .with_replica_directory_id(uuid::Uuid::from_bytes(dir))
        .with_log_end_offset(leo)
        .with_last_fetch_timestamp(fetch)
        .with_last_caught_up_timestamp(caught_up)
}

fn node(id: i32, host: &str, port: u16) -> Node {
    Node::default().with_node_id(BrokerId(id)).with_listeners(vec![
        Listener::default()
            .with_name(StrBytes::from_static_str("CONTROLLER"))
            .with_host(StrBytes::from_string(host.into()))
            .with_port(port),
    ])
}

/// Leader 1 at LEO 1234; voter 2 trails by 34 (caught up 2000 ms earlier); voter 3 has no
/// directory id and no endpoint; observers 4 and 5.
fn quorum(t: i64) -> DescribeQuorumResponse {
    let partition = PartitionData::default()
        .with_partition_index(0)
        .with_leader_id(BrokerId(1))
        .with_leader_epoch(5)
        .with_high_watermark(1230)
        .with_current_voters(vec![
            replica(1, [1; 16], 1234, t, t),
            replica(2, [0xff; 16], 1200, t - 500, t - 2000),
            replica(3, [0; 16], 1234, -1, -1),
        ])
        .with_observers(vec![replica(4, [2; 16], 1100, t - 100, t - 100), replica(5, [0; 16], 0, -1, -1)]);
    DescribeQuorumResponse::default()
        .with_topics(vec![
            TopicData::default()
                .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
                .with_partitions(vec![partition]),
        ])
        .with_nodes(vec![node(1, "localhost", 9093), node(2, "::1", 9094)])
}

fn cluster(q: DescribeQuorumResponse) -> FakeCluster {
    let c = FakeCluster::start(&[(1, None)]);
    c.state.lock().unwrap().quorum = Some(q);
    c
}

const STATUS: &str = "ClusterId:              fake-cluster-id-00000000\n\
LeaderId:               1\n\
LeaderEpoch:            5\n\
HighWatermark:          1230\n\
MaxFollowerLag:         34\n\
MaxFollowerLagTimeMs:   2000\n\
CurrentVoters:          [{\"id\": 1, \"directoryId\": \"AQEBAQEBAQEBAQEBAQEBAQ\", \"endpoints\": [\"CONTROLLER://localhost:9093\"]}, \
{\"id\": 2, \"directoryId\": \"_____________________w\", \"endpoints\": [\"CONTROLLER://[::1]:9094\"]}, {\"id\": 3, \"directoryId\": null}]\n\
CurrentObservers:       [{\"id\": 4, \"directoryId\": \"AgICAgICAgICAgICAgICAg\"}, {\"id\": 5, \"directoryId\": null}]\n";

#[test]
fn describe_status_prints_kafkas_lines() {
    let c = cluster(quorum(1_700_000_000_000));
    for flag in ["--bootstrap-server", "--bootstrap-controller"] {
        let (out, err, code) = c.rk(&["metadata-quorum", flag, &c.addr(), "describe", "--status"]);
        assert_eq!((code, err.as_str()), (0, ""), "{flag}");
        assert_eq!(out, STATUS, "{flag}");
    }
}

#[test]
fn describe_replication_prints_kafkas_table() {
    let t = 1_700_000_000_000i64;
    let c = cluster(quorum(t));
    let (out, err, code) = c.rk(&["metadata-quorum", "--bootstrap-server", &c.addr(), "describe", "--replication"]);
    assert_eq!((code, err.as_str()), (0, ""));
    // Every cell is padded to its column's widest entry and followed by a tab; the Lag
    // column is 4 wide because of "1234".
    let row = |c: [&str; 7]| format!("{:<6}\t{:<22}\t{:<12}\t{:<4}\t{:<18}\t{:<21}\t{:<8}\t\n", c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
    let (t0, t500, t2000, t100) = (t.to_string(), (t - 500).to_string(), (t - 2000).to_string(), (t - 100).to_string());
    let expected = [
        row(["NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"]),
        row(["1", "AQEBAQEBAQEBAQEBAQEBAQ", "1234", "0", &t0, &t0, "Leader"]),
        row(["2", "_____________________w", "1200", "34", &t500, &t2000, "Follower"]),
        row(["3", "AAAAAAAAAAAAAAAAAAAAAA", "1234", "0", "-1", "-1", "Follower"]),
        row(["4", "AgICAgICAgICAgICAgICAg", "1100", "134", &t100, &t100, "Observer"]),
        row(["5", "AAAAAAAAAAAAAAAAAAAAAA", "0", "1234", "-1", "-1", "Observer"]),
    ]
    .concat();
    assert!(expected.starts_with("NodeId\tDirectoryId           \tLogEndOffset\tLag \tLastFetchTimestamp\t"));
    assert_eq!(out, expected);
}

#[test]
fn human_readable_times_are_relative_and_refuse_the_future() {
    let t = now_ms() - 1000;
    let c = cluster(quorum(t));
    // Abbreviated flags work as with argparse4j.
    let (out, _, code) = c.rk(&["metadata-quorum", "--bootstrap-server", &c.addr(), "describe", "--re", "--hu"]);
    assert_eq!(code, 0);
    let row: Vec<&str> = out.lines().nth(1).unwrap().split('\t').collect();
    for cell in [row[4], row[5]] {
        let ms: i64 = cell.trim().strip_suffix(" ms ago").unwrap_or_else(|| panic!("{cell:?}")).parse().unwrap();
        assert!((1000..60_000).contains(&ms), "{cell}");
    }
    assert_eq!(out.lines().nth(3).unwrap().split('\t').nth(4).unwrap().trim(), "-1");

    let future = now_ms() + 86_400_000;
    let c = cluster(quorum(future));
    let (out, err, code) = c.rk(&["metadata-quorum", "--bootstrap-server", &c.addr(), "describe", "--replication", "--human-readable"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("Error while computing relative time, possible drift in system clock.\nCurrent timestamp is "), "{err}");
    assert!(err.contains(&format!(", last fetch timestamp is {future}")), "{err}");
}

#[test]
fn json_output_has_snake_case_keys() {
    let t = 1_700_000_000_000i64;
    let c = cluster(quorum(t));
    let (out, _, code) = c.rk(&["metadata-quorum", "--bootstrap-server", &c.addr(), "--output", "json", "describe", "--status"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["cluster_id"], "fake-cluster-id-00000000");
    assert_eq!(v["max_follower_lag"], 34);
    assert_eq!(v["max_follower_lag_time_ms"], 2000);
    assert_eq!(v["current_voters"][0]["endpoints"][0], "CONTROLLER://localhost:9093");
    assert_eq!(v["current_voters"][2]["directory_id"], serde_json::Value::Null);
    assert_eq!(v["current_observers"].as_array().unwrap().len(), 2);
    let (out, _, code) = c.rk(&["metadata-quorum", "--bootstrap-server", &c.addr(), "describe", "--replication", "--output", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let statuses: Vec<&str> = v.as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["leader", "follower", "follower", "observer", "observer"]);
    assert_eq!(v[1]["lag"], 34);
    assert_eq!(v[1]["last_caught_up_timestamp"], t - 2000);
    assert_eq!(v[2]["last_fetch_timestamp"], serde_json::Value::Null);
}

#[test]
fn argument_errors_use_kafkas_messages() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["describe"], 2, "One of --status or --replication must be specified with describe sub-command\n"),
        (
            &["describe", "--status", "--replication"],
            2,
            "Only one of --status or --replication should be specified with describe sub-command\n",
        ),
        (&["describe", "--status", "--human-readable"], 2, "The option --human-readable is only supported along with --replication\n"),
        (
            &["--bootstrap-controller", "localhost:1", "describe", "--status"],
            2,
            "argument --bootstrap-controller: not allowed with argument --bootstrap-server\n",
        ),
        (&["--command-config", "admin.properties", "describe"], 1, "Properties file admin.properties does not exists!\n"),
    ];
    for (args, code, msg) in cases {
        let mut all = vec!["metadata-quorum", "--bootstrap-server", "localhost:1"];
        all.extend_from_slice(args);
        let out = rk(&all);
        assert_eq!(out.status.code(), Some(*code), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), *msg, "{args:?}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(rk(&["metadata-quorum", "--bootstrap-server", "localhost:1"]).status.code(), Some(2), "a subcommand is required");
}

#[test]
fn broker_errors_and_a_broker_without_the_api_fail_with_exit_1() {
    let c = cluster(
        DescribeQuorumResponse::default()
            .with_error_code(31)
            .with_error_message(Some(StrBytes::from_static_str("not allowed to describe"))),
    );
    let (out, err, code) = c.rk(&["metadata-quorum", "--bootstrap-server", &c.addr(), "describe", "--replication"]);
    assert_eq!((code, out.as_str(), err.as_str()), (1, "", "not allowed to describe\n"));

    let c = cluster(quorum(1));
    c.state.lock().unwrap().without.push(55);
    let (_, err, code) = c.rk(&["metadata-quorum", "--bootstrap-server", &c.addr(), "describe", "--status"]);
    assert_eq!(code, 1);
    assert!(err.contains("DescribeQuorum"), "{err}");
}

#[test]
fn kafka_metadata_quorum_alias() {
    let c = cluster(quorum(1_700_000_000_000));
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("kafka-metadata-quorum.sh");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rk"), &link).unwrap();
    let out = std::process::Command::new(&link).args(["--bootstrap-server", &c.addr(), "describe", "--status"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), STATUS);
}
