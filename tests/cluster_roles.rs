//! KRaft's separate roles: three controller-only nodes (`process.roles=controller`) hold
//! the metadata quorum and serve no clients; two broker-only nodes
//! (`process.roles=broker`) observe the quorum (fetching the committed metadata), host
//! the partitions and go on through the loss of the active controller and of a broker.

mod common;

use common::cluster::{metadata_brokers, partitions};
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rk(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(rk_bin()).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn lines(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("{i}\n")).collect()
}

#[test]
fn controller_only_and_broker_only_nodes() {
    let cports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let voters: Vec<String> = cports.iter().enumerate().map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1)).collect();
    let voters = format!("controller.quorum.voters={}", voters.join(","));
    let mut controllers: Vec<TestBroker> = cports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let o = vec![
                format!("node.id={}", i + 1),
                "process.roles=controller".into(),
                format!("listeners=CONTROLLER://127.0.0.1:{p}"),
                "controller.listener.names=CONTROLLER".into(),
                voters.clone(),
            ];
            TestBroker::start_on(free_port(), &o, &[])
        })
        .collect();
    let mut brokers: Vec<TestBroker> = [4, 5]
        .iter()
        .map(|id| {
            let port = free_port();
            let o = vec![
                format!("node.id={id}"),
                "process.roles=broker".into(),
                format!("listeners=PLAINTEXT://127.0.0.1:{port}"),
                "controller.listener.names=CONTROLLER".into(),
                voters.clone(),
                "group.initial.rebalance.delay.ms=0".into(),
            ];
            TestBroker::start_on(port, &o, &[])
        })
        .collect();
    let (b4, b5) = (brokers[0].addr(), brokers[1].addr());
    wait_for("both brokers registered", Duration::from_secs(30), || metadata_brokers(&b4) == Some(vec![4, 5]));
    // A controller-only node has no client listener.
    assert!(std::net::TcpStream::connect(controllers[0].addr()).is_err(), "a controller-only node serves no clients");

    let o =
        rk(&["topics", "--bootstrap-server", &b4, "--create", "--topic", "roles", "--partitions", "2", "--replication-factor", "2"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    wait_for("the topic on broker 5", Duration::from_secs(10), || partitions(&b5, "roles").is_some_and(|p| p.len() == 2));

    // The observers show in DescribeQuorum, beside the three voters.
    let o = rk(&["metadata-quorum", "--bootstrap-server", &b5, "describe", "--replication"], None);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().filter(|l| l.contains("Observer")).count(), 2, "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("Leader") || l.contains("Follower")).count(), 3, "{text}");

    let produce = |brokers: &[TestBroker], controllers: &[TestBroker], addr: &str, from: usize, to: usize| {
        let o = rk(
            &["console-producer", "--bootstrap-server", addr, "--topic", "roles", "--producer-property", "acks=all"],
            Some(&lines(from, to)),
        );
        let logs: Vec<String> = brokers.iter().chain(controllers.iter()).map(|b| b.log()).collect();
        assert!(o.status.success(), "{}\nnode logs:\n{}", String::from_utf8_lossy(&o.stderr), logs.join("\n-----\n"));
    };
    produce(&brokers, &controllers, &b4, 0, 500);

    // The active controller dies: the two others elect a new one; the brokers follow it.
    let leader = {
        let o = rk(&["metadata-quorum", "--bootstrap-server", &b4, "describe", "--status"], None);
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        text.lines().find_map(|l| l.strip_prefix("LeaderId:").map(|v| v.trim().parse::<usize>().unwrap())).expect(&text)
    };
    controllers[leader - 1].kill9();
    produce(&brokers, &controllers, &b5, 500, 1000);
    let o = rk(
        &["topics", "--bootstrap-server", &b5, "--create", "--topic", "roles-after", "--partitions", "1", "--replication-factor", "2"],
        None,
    );
    assert!(o.status.success(), "a new topic after the controller failover: {}", String::from_utf8_lossy(&o.stderr));

    // Broker 4 dies: its partitions move to broker 5; it comes back and catches up.
    brokers[0].kill9();
    wait_for("broker 5 leads both partitions", Duration::from_secs(15), || {
        partitions(&b5, "roles").is_some_and(|p| p.iter().all(|(_, leader, _, _)| *leader == 5))
    });
    produce(&brokers, &controllers, &b5, 1000, 1500);
    brokers[0].start_again();
    wait_for("broker 4 back in every ISR", Duration::from_secs(30), || {
        partitions(&b5, "roles").is_some_and(|p| p.iter().all(|(_, _, _, isr)| isr.contains(&4)))
    });
    controllers[leader - 1].start_again();

    let o = rk(
        &[
            "console-consumer",
            "--bootstrap-server",
            &b4,
            "--topic",
            "roles",
            "--from-beginning",
            "--max-messages",
            "1500",
            "--timeout-ms",
            "20000",
        ],
        None,
    );
    let mut got: Vec<usize> = String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
    got.sort();
    assert_eq!(got, (0..1500).collect::<Vec<_>>(), "every acknowledged record, once");
}
