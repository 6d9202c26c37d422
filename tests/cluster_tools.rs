//! The cluster tools against real `rk` processes: metadata-quorum over DescribeQuorum,
//! reassign-partitions (with a throttle) moving replicas and their data, and the
//! topics --describe report filters when a broker is down.

mod common;

use common::cluster::{TestCluster, partitions};
use std::process::Command;
use std::time::{Duration, Instant};

fn rk(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(common::rk_bin()).args(args).output().unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stdout).to_string(), String::from_utf8_lossy(&o.stderr).to_string())
}

#[test]
fn metadata_quorum_describes_the_voters() {
    let c = TestCluster::start(3, &[]);
    let bs = c.nodes[1].addr();
    let (ok, out, err) = rk(&["metadata-quorum", "--bootstrap-server", &bs, "describe", "--status"]);
    assert!(ok, "{err}");
    let leader: i32 = out.lines().find_map(|l| l.strip_prefix("LeaderId:")).unwrap().trim().parse().unwrap();
    assert!((1..=3).contains(&leader), "{out}");
    assert!(out.contains("\"id\": 1") && out.contains("\"id\": 2") && out.contains("\"id\": 3"), "{out}");
    let (ok, out, err) = rk(&["metadata-quorum", "--bootstrap-server", &bs, "describe", "--replication"]);
    assert!(ok, "{err}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert_eq!(rows.iter().filter(|r| r.contains("Leader")).count(), 1, "{out}");
    assert_eq!(rows.iter().filter(|r| r.contains("Follower")).count(), 2, "{out}");
}

#[test]
fn reassign_partitions_moves_replicas_and_their_data_under_a_throttle() {
    let c = TestCluster::start(3, &[]);
    let bs = c.bootstrap();
    let (ok, _, err) = rk(&["topics", "--bootstrap-server", &bs, "--create", "--topic", "mv", "--replica-assignment", "1"]);
    assert!(ok, "{err}");
    let (ok, _, err) = rk(&[
        "perf-test",
        "producer",
        "--bootstrap-server",
        &bs,
        "--topic",
        "mv",
        "--num-records",
        "50000",
        "--record-size",
        "100",
        "--throughput",
        "-1",
    ]);
    assert!(ok, "{err}");
    let plan = c.nodes[0].data_dir().join("plan.json");
    std::fs::write(&plan, r#"{"version":1,"partitions":[{"topic":"mv","partition":0,"replicas":[2,3]}]}"#).unwrap();
    let plan = plan.display().to_string();
    let (ok, out, err) =
        rk(&["reassign-partitions", "--bootstrap-server", &bs, "--reassignment-json-file", &plan, "--execute", "--throttle", "5000000"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Successfully started partition reassignment for mv-0"), "{out}");
    let (_, out, _) = rk(&["topics", "--bootstrap-server", &bs, "--describe", "--topic", "mv"]);
    assert!(out.contains("leader.replication.throttled.replicas"), "the throttle is set while moving: {out}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, out, _) = rk(&["reassign-partitions", "--bootstrap-server", &bs, "--reassignment-json-file", &plan, "--verify"]);
        if out.contains("Reassignment of partition mv-0 is completed.") {
            assert!(out.contains("Clearing topic-level throttles on topic mv"), "{out}");
            break;
        }
        assert!(Instant::now() < deadline, "the reassignment did not complete: {out}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let p = partitions(&c.nodes[1].addr(), "mv").unwrap()[0].clone();
    assert_eq!((p.2.clone(), p.3.len()), (vec![2, 3], 2), "{p:?}");
    assert!(p.1 == 2 || p.1 == 3);
    let (_, out, _) = rk(&["topics", "--bootstrap-server", &bs, "--describe", "--topic", "mv"]);
    assert!(!out.contains("throttled"), "throttles cleared: {out}");
    // The moved replicas hold every record: read them all from the new leader.
    let (ok, out, err) = rk(&[
        "console-consumer",
        "--bootstrap-server",
        &bs,
        "--topic",
        "mv",
        "--from-beginning",
        "--max-messages",
        "50000",
        "--timeout-ms",
        "20000",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 50000);
    c.wait_for(Duration::from_secs(20), "the old replica's directory removed", |c| !c.nodes[0].data_dir().join("mv-0").exists());
}

#[test]
fn topic_report_filters_follow_a_dead_broker() {
    let mut c = TestCluster::start(3, &["min.insync.replicas=2"]);
    let bs = c.bootstrap();
    assert!(rk(&["topics", "--bootstrap-server", &bs, "--create", "--topic", "r3", "--partitions", "3", "--replication-factor", "3"]).0);
    assert!(rk(&["topics", "--bootstrap-server", &bs, "--create", "--topic", "one", "--replica-assignment", "3"]).0);
    let (_, out, _) = rk(&["topics", "--bootstrap-server", &bs, "--describe", "--under-replicated-partitions"]);
    assert_eq!(out.trim(), "", "nothing under-replicated at first: {out}");
    c.node(3).kill9();
    let live = c.nodes[0].addr();
    c.wait_for(Duration::from_secs(20), "broker 3 out of the ISRs", |_| {
        partitions(&live, "r3").is_some_and(|ps| ps.iter().all(|p| !p.3.contains(&3)))
    });
    let (_, out, _) = rk(&["topics", "--bootstrap-server", &live, "--describe", "--under-replicated-partitions"]);
    assert_eq!(out.lines().filter(|l| l.contains("Topic: r3")).count(), 3, "{out}");
    let (_, out, _) = rk(&["topics", "--bootstrap-server", &live, "--describe", "--at-min-isr-partitions"]);
    assert_eq!(out.lines().filter(|l| l.contains("Topic: r3")).count(), 3, "{out}");
    let (_, out, _) = rk(&["topics", "--bootstrap-server", &live, "--describe", "--unavailable-partitions"]);
    assert!(out.lines().any(|l| l.contains("Topic: one") && l.contains("Leader: none")), "{out}");
}
