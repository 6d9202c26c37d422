//! `rk server start --nodes 3`: one command starts a local cluster, prints its bootstrap
//! servers, survives the loss of a node and stops every node on SIGTERM.

mod common;

use common::cluster::{metadata_brokers, partitions};
use common::rk_bin;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn nodes_flag_starts_supervises_and_stops_a_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = Command::new(rk_bin())
        .args(["server", "start", "--nodes", "3", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--override", "group.initial.rebalance.delay.ms=0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = sup.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let stderr = sup.stderr.take().unwrap();
    let (etx, erx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = etx.send(line);
        }
    });
    let (mut pids, mut bootstrap) = (Vec::new(), None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while bootstrap.is_none() {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("the cluster's bootstrap line");
        // "rk: node <id> listening on <addr> (pid <pid>, data dir …)"
        if let Some(pid) = line.split("(pid ").nth(1).and_then(|r| r.split(',').next()) {
            let node: usize = line.split_whitespace().nth(2).unwrap().parse().unwrap();
            pids.push((node, pid.parse::<i32>().unwrap()));
        }
        if let Some(b) = line.strip_prefix("rk: bootstrap servers ") {
            bootstrap = Some(b.to_string());
        }
    }
    let bootstrap = bootstrap.unwrap();
    let addrs: Vec<&str> = bootstrap.split(',').collect();
    assert_eq!(addrs.len(), 3);
    assert_eq!(pids.len(), 3);
    for n in 1..=3 {
        assert!(dir.path().join(format!("node-{n}/meta.properties")).exists());
    }
    // Every broker is registered by the time the bootstrap line is printed.
    assert_eq!(metadata_brokers(addrs[0]), Some(vec![1, 2, 3]));

    let out = Command::new(rk_bin())
        .args(["topics", "--bootstrap-server", &bootstrap, "--create", "--topic", "lc", "--partitions", "3"])
        .args(["--replication-factor", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let parts = partitions(addrs[1], "lc").expect("the topic on node 2");
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|(_, _, replicas, _)| replicas.len() == 3));

    // A node killed (a failover try-out) is reported; the others go on.
    pids.sort();
    unsafe { libc::kill(pids[2].1, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let line = erx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("the supervisor reports the dead node");
        if line.starts_with("rk: node 3 exited") {
            assert!(line.contains("2 of 3"), "{line}");
            break;
        }
    }
    assert!(sup.try_wait().unwrap().is_none(), "the supervisor keeps running");

    // SIGTERM stops every node with a controlled shutdown, and the supervisor with 0.
    unsafe { libc::kill(sup.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = sup.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the supervisor did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(pids.iter().all(|(_, p)| !alive(*p)), "every node stopped");
    assert!(dir.path().join("node-1/.rk_clean_shutdown").exists(), "node 1 shut down cleanly");
}

#[test]
fn nodes_refuses_settings_it_generates() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(rk_bin())
        .args(["server", "start", "--nodes", "3", "--override", "node.id=4", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("node.id"));
    let out = Command::new(rk_bin()).args(["server", "start", "--nodes", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
