//! A cluster of real `rk` processes on loopback: every node a broker and a quorum voter
//! (combined mode), each with its own data dir, client port and CONTROLLER port.

use super::{TestBroker, free_port};
use std::time::{Duration, Instant};

pub struct TestCluster {
    pub nodes: Vec<TestBroker>,
    pub ids: Vec<i32>,
}

impl TestCluster {
    /// Starts `n` nodes (ids 1..=n) with extra overrides for every node.
    pub fn start(n: usize, overrides: &[&str]) -> TestCluster {
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let voters: Vec<String> = ports.iter().enumerate().map(|(i, (_, c))| format!("{}@127.0.0.1:{c}", i + 1)).collect();
        let voters = voters.join(",");
        let mut nodes = Vec::new();
        for (i, (p, c)) in ports.iter().enumerate() {
            let mut o: Vec<String> = vec![
                format!("node.id={}", i + 1),
                format!("listeners=PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}"),
                "controller.listener.names=CONTROLLER".into(),
                format!("controller.quorum.voters={voters}"),
                "group.initial.rebalance.delay.ms=0".into(),
            ];
            o.extend(overrides.iter().map(|s| s.to_string()));
            nodes.push(TestBroker::start_on(*p, &o, &[]));
        }
        let c = TestCluster { nodes, ids: (1..=n as i32).collect() };
        c.wait_for(Duration::from_secs(30), "every broker registered and unfenced", |c| c.live_brokers().len() == n);
        c
    }

    pub fn node(&mut self, id: i32) -> &mut TestBroker {
        &mut self.nodes[(id - 1) as usize]
    }

    /// Every running node's client address, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.nodes.iter().map(|n| n.addr()).collect::<Vec<_>>().join(",")
    }

    /// The active controller, as the node logs say (the last one any node announced).
    pub fn controller(&self) -> Option<i32> {
        let mut best: Option<(String, i32)> = None;
        for n in &self.nodes {
            for line in n.log().lines().filter(|l| l.contains("the active controller is node")) {
                let ts = line.split_whitespace().next().unwrap_or("").to_string();
                let id = line.split("is node ").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|x| x.parse().ok());
                if let Some(id) = id
                    && best.as_ref().is_none_or(|(t, _)| ts > *t)
                {
                    best = Some((ts, id));
                }
            }
        }
        best.map(|(_, id)| id)
    }

    /// The broker ids in Metadata, asked of the first running node that answers.
    pub fn live_brokers(&self) -> Vec<i32> {
        for n in &self.nodes {
            if let Some(ids) = metadata_brokers(&n.addr()) {
                return ids;
            }
        }
        Vec::new()
    }

    /// Polls `check` until it holds, failing the test with `what` after `timeout`.
    pub fn wait_for(&self, timeout: Duration, what: &str, check: impl Fn(&TestCluster) -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let logs: Vec<String> = self.nodes.iter().enumerate().map(|(i, n)| format!("--- node {} ---\n{}", i + 1, n.log())).collect();
        panic!("timed out waiting for {what}\n{}", logs.join("\n"));
    }
}

/// Broker ids a node lists in its Metadata response (None if it does not answer).
pub fn metadata_brokers(addr: &str) -> Option<Vec<i32>> {
    block(async {
        let c = rk::client::Connection::connect(addr, "rk-test").await.ok()?;
        let r = c.send(&kafka_protocol::messages::MetadataRequest::default().with_topics(Some(vec![]))).await.ok()?;
        let mut ids: Vec<i32> = r.brokers.iter().map(|b| b.node_id.0).collect();
        ids.sort();
        Some(ids)
    })
}

/// (partition, leader, replicas, isr).
pub type PartitionInfo = (i32, i32, Vec<i32>, Vec<i32>);

/// Every partition of a topic from a node's Metadata (None if the node does not answer or
/// does not know the topic).
pub fn partitions(addr: &str, topic: &str) -> Option<Vec<PartitionInfo>> {
    block(async {
        let c = rk::client::Connection::connect(addr, "rk-test").await.ok()?;
        let req = kafka_protocol::messages::MetadataRequest::default().with_topics(Some(vec![
            kafka_protocol::messages::metadata_request::MetadataRequestTopic::default().with_name(Some(super::tn(topic))),
        ]));
        let r = c.send(&req).await.ok()?;
        let t = r.topics.first()?;
        if t.error_code != 0 {
            return None;
        }
        let mut out: Vec<_> = t
            .partitions
            .iter()
            .map(|p| {
                (p.partition_index, p.leader_id.0, p.replica_nodes.iter().map(|b| b.0).collect(), p.isr_nodes.iter().map(|b| b.0).collect())
            })
            .collect();
        out.sort();
        Some(out)
    })
}

impl TestCluster {
    /// A running node's address (the first that is running).
    pub fn any_addr(&mut self) -> String {
        for n in self.nodes.iter_mut() {
            if n.is_running() {
                return n.addr();
            }
        }
        panic!("no node is running")
    }
}

/// Runs `f` on a runtime of its own, on a thread of its own (callers may be async tests).
fn block<T: Send>(f: impl std::future::Future<Output = Option<T>> + Send) -> Option<T> {
    std::thread::scope(|s| {
        s.spawn(|| tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?.block_on(f)).join().ok().flatten()
    })
}
