//! The metadata quorum with several real `rk` processes: every node serves the same
//! metadata, commands sent to any node reach the active controller, a killed controller
//! is replaced while two of three voters remain, and its partitions get new leaders.

mod common;

use common::cluster::{TestCluster, metadata_brokers};
use common::*;
use std::process::Command;
use std::time::Duration;

fn rk(args: &[&str]) -> std::process::Output {
    Command::new(rk_bin()).args(args).output().unwrap()
}

fn describe(addr: &str, topic: &str) -> String {
    let o = rk(&["topics", "--bootstrap-server", addr, "--describe", "--topic", topic]);
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// (leader, isr) of every partition, from a node's Metadata.
fn leaders(addr: &str, topic: &str) -> Vec<(i32, Vec<i32>)> {
    describe(addr, topic)
        .lines()
        .filter(|l| l.trim_start().starts_with("Topic:") && l.contains("Partition:"))
        .map(|l| {
            let field = |name: &str| l.split(&format!("{name}: ")).nth(1).and_then(|r| r.split('\t').next()).unwrap_or("").to_string();
            let isr = field("Isr").split(',').filter_map(|x| x.trim().parse().ok()).collect();
            (field("Leader").parse().unwrap_or(-9), isr)
        })
        .collect()
}

#[test]
fn every_node_serves_the_metadata_and_any_node_takes_commands() {
    let c = TestCluster::start(3, &[]);
    assert_eq!(metadata_brokers(&c.nodes[0].addr()).unwrap(), vec![1, 2, 3]);
    let o = rk(&[
        "topics",
        "--bootstrap-server",
        &c.nodes[1].addr(),
        "--create",
        "--topic",
        "q1",
        "--partitions",
        "6",
        "--replication-factor",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for n in &c.nodes {
        // Each node applies the committed metadata on its own: under load a node may be a
        // moment behind the CreateTopics answer.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while leaders(&n.addr(), "q1").len() < 6 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let parts = leaders(&n.addr(), "q1");
        assert_eq!(parts.len(), 6, "node {} sees the topic: {}", n.addr(), describe(&n.addr(), "q1"));
        let mut lead: Vec<i32> = parts.iter().map(|p| p.0).collect();
        lead.sort();
        lead.dedup();
        assert_eq!(lead, vec![1, 2, 3], "leaders spread over the brokers");
        assert!(parts.iter().all(|p| p.1.len() == 3));
    }
    // A command that fails on the controller fails the same way through any node.
    let o = rk(&["topics", "--bootstrap-server", &c.nodes[2].addr(), "--create", "--topic", "q1", "--partitions", "1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_killed_controller_is_replaced_and_its_broker_fenced() {
    let mut c = TestCluster::start(3, &[]);
    let o = rk(&[
        "topics",
        "--bootstrap-server",
        &c.bootstrap(),
        "--create",
        "--topic",
        "q2",
        "--partitions",
        "6",
        "--replication-factor",
        "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    c.wait_for(Duration::from_secs(10), "an active controller", |c| c.controller().is_some());
    let old = c.controller().unwrap();
    c.node(old).kill9();
    let survivor = c.ids.iter().copied().find(|i| *i != old).unwrap();
    let addr = c.node(survivor).addr();
    // A new active controller with two of three voters; the dead broker is fenced.
    c.wait_for(Duration::from_secs(15), "the dead broker fenced", |c| {
        metadata_brokers(&c.nodes[(survivor - 1) as usize].addr()).is_some_and(|b| !b.contains(&old) && b.len() == 2)
    });
    assert_ne!(c.controller(), Some(old), "a new controller was elected");
    let parts = leaders(&addr, "q2");
    assert!(parts.iter().all(|(l, isr)| *l != old && *l > 0 && !isr.contains(&old)), "{parts:?}");
    let o = rk(&["topics", "--bootstrap-server", &addr, "--create", "--topic", "q3", "--partitions", "2", "--replication-factor", "2"]);
    assert!(o.status.success(), "the quorum serves with 2 of 3: {}", String::from_utf8_lossy(&o.stderr));
    // The dead node comes back: it registers again and learns what it missed.
    c.node(old).start_again();
    let back = c.node(old).addr();
    c.wait_for(Duration::from_secs(20), "the restarted broker registered", |c| c.live_brokers().len() == 3);
    c.wait_for(Duration::from_secs(10), "the restarted node has the new topic", |_| leaders(&back, "q3").len() == 2);
}
