//! Replication across real `rk` processes: acknowledged records survive leaders killed
//! with SIGKILL, restarted brokers rejoin the ISR, preferred-leader election moves
//! leadership back, and a follower stopped with SIGSTOP leaves the ISR and comes back.

mod common;

use common::cluster::{TestCluster, partitions};
use rk::client::consumer::{Consumer, ConsumerConfig, StartAt};
use rk::client::producer::{Producer, ProducerConfig, ProducerRecord};
use rk::client::{ClientConfig, Cluster};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn rk(args: &[&str]) -> std::process::Output {
    Command::new(common::rk_bin()).args(args).output().unwrap()
}

async fn cluster(bootstrap: &str) -> Arc<Cluster> {
    Cluster::connect(ClientConfig::new(Some(bootstrap), vec![], "repl-test").unwrap()).await.unwrap()
}

/// Every record of `topic` from the start: partition → (offset, value) in offset order.
async fn read_all(bootstrap: &str, topic: &str, n: i32, expect: usize) -> BTreeMap<i32, Vec<(i64, String)>> {
    let mut c = Consumer::new(cluster(bootstrap).await, ConsumerConfig::from_props(&Default::default()).unwrap());
    // Right after a broker restarts, a partition may be between leaders: retry as clients do.
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = c.assign((0..n).map(|p| (topic.to_string(), p, StartAt::Earliest)).collect()).await {
        assert!(Instant::now() < deadline, "cannot assign: {e}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut out: BTreeMap<i32, Vec<(i64, String)>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut quiet = Instant::now();
    while Instant::now() < deadline && (out.values().map(Vec::len).sum::<usize>() < expect || quiet.elapsed() < Duration::from_secs(2)) {
        match c.poll(Duration::from_millis(200)).await {
            Ok(recs) => {
                if !recs.is_empty() {
                    quiet = Instant::now();
                }
                for r in recs {
                    out.entry(r.partition)
                        .or_default()
                        .push((r.offset, String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).to_string()));
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_killed_leaders_and_leadership_returns() {
    let mut c = TestCluster::start(3, &["min.insync.replicas=2"]);
    let bs = c.bootstrap();
    let o = rk(&["topics", "--bootstrap-server", &bs, "--create", "--topic", "durable", "--partitions", "3", "--replication-factor", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A producer with default settings (idempotent, acks=all) writes until told to stop;
    // every acknowledged value is remembered.
    let acked: Arc<Mutex<Vec<(i32, i64, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let (acked, stop, bs) = (acked.clone(), stop.clone(), bs.clone());
        tokio::spawn(async move {
            let p = Producer::new(cluster(&bs).await, ProducerConfig::default()).await.unwrap();
            let mut i = 0u64;
            let mut pending = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let v = format!("v{i:08}");
                let d = p.send(ProducerRecord {
                    topic: "durable".into(),
                    partition: Some((i % 3) as i32),
                    value: Some(v.clone().into()),
                    ..Default::default()
                });
                pending.push((v, d));
                i += 1;
                if i.is_multiple_of(200) {
                    for (v, d) in pending.drain(..) {
                        if let Ok(m) = d.wait().await {
                            acked.lock().unwrap().push((m.partition, m.offset, v));
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            for (v, d) in pending {
                if let Ok(m) = d.wait().await {
                    acked.lock().unwrap().push((m.partition, m.offset, v));
                }
            }
        })
    };
    let progress = |n: usize| {
        let acked = acked.clone();
        async move {
            let start = acked.lock().unwrap().len();
            let deadline = Instant::now() + Duration::from_secs(60);
            while acked.lock().unwrap().len() < start + n && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(acked.lock().unwrap().len() >= start + n, "the producer made no progress");
        }
    };
    progress(2000).await;
    // Kill the leader of partition 0, then bring it back.
    let first = partitions(&c.any_addr(), "durable").unwrap()[0].1;
    c.node(first).kill9();
    progress(2000).await;
    c.node(first).start_again();
    c.wait_for(Duration::from_secs(60), "the restarted broker back in every ISR", |c| {
        c.nodes
            .iter()
            .find(|n| n.addr() != "")
            .and_then(|n| partitions(&n.addr(), "durable"))
            .is_some_and(|ps| ps.iter().all(|p| p.3.len() == 3))
    });
    progress(2000).await;
    // Another broker dies; with min.insync.replicas=2 the other two keep taking writes.
    let second = c.ids.iter().copied().find(|i| *i != first).unwrap();
    c.node(second).kill9();
    progress(2000).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    producer.await.unwrap();
    c.node(second).start_again();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 8000);

    // Every acknowledged record is there, once, at its acknowledged offset, in order.
    let expect = acked.len();
    let got = read_all(&c.bootstrap(), "durable", 3, expect).await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (p, recs) in &got {
        assert!(recs.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1), "partition {p} out of order");
        for (_, v) in recs {
            *seen.entry(v.clone()).or_default() += 1;
        }
    }
    let by_offset: BTreeMap<(i32, i64), &String> = got.iter().flat_map(|(p, rs)| rs.iter().map(move |(o, v)| ((*p, *o), v))).collect();
    for (p, o, v) in &acked {
        assert_eq!(seen.get(v), Some(&1), "acknowledged {v} must be read exactly once");
        assert_eq!(by_offset.get(&(*p, *o)), Some(&v), "{v} at its acknowledged offset {p}/{o}");
    }

    // Everyone back in sync; preferred-leader election gives each partition its first replica.
    c.wait_for(Duration::from_secs(60), "every ISR full again", |c| {
        partitions(&c.nodes[0].addr(), "durable").is_some_and(|ps| ps.iter().all(|p| p.3.len() == 3))
    });
    let o = rk(&["leader-election", "--bootstrap-server", &c.bootstrap(), "--election-type", "preferred", "--all-topic-partitions"]);
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    c.wait_for(Duration::from_secs(10), "preferred leaders", |c| {
        partitions(&c.nodes[0].addr(), "durable").is_some_and(|ps| ps.iter().all(|p| p.1 == p.2[0]))
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_follower_leaves_the_isr_and_returns_after_sigcont() {
    // A long session: only the ISR lag rule may act on the stopped broker.
    let mut c = TestCluster::start(3, &["replica.lag.time.max.ms=1500", "broker.session.timeout.ms=120000"]);
    let bs = c.bootstrap();
    let o = rk(&["topics", "--bootstrap-server", &bs, "--create", "--topic", "lag", "--partitions", "1", "--replication-factor", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = partitions(bs.split(',').next().unwrap(), "lag").unwrap()[0].clone();
    let controller = c.controller();
    let follower =
        p.2.iter()
            .copied()
            .find(|r| *r != p.1 && Some(*r) != controller)
            .unwrap_or_else(|| p.2.iter().copied().find(|r| *r != p.1).unwrap());
    let leader_addr = c.node(p.1).addr();
    c.node(follower).signal(libc::SIGSTOP);
    let producer =
        Producer::new(cluster(&leader_addr).await, ProducerConfig::from_props(&[("acks".to_string(), "1".to_string())].into()).unwrap())
            .await
            .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        producer.send(ProducerRecord { topic: "lag".into(), value: Some("x".into()), ..Default::default() }).wait().await.unwrap();
        let isr = partitions(&leader_addr, "lag").unwrap()[0].3.clone();
        if !isr.contains(&follower) {
            break;
        }
        if Instant::now() >= deadline {
            let logs: Vec<String> = c.nodes.iter().map(|n| n.log()).collect();
            panic!(
                "the stopped follower {follower} never left the ISR {isr:?} (leader {}, controller {controller:?})\n{}",
                p.1,
                logs.join("\n-----\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.node(follower).signal(libc::SIGCONT);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !partitions(&leader_addr, "lag").unwrap()[0].3.contains(&follower) {
        assert!(Instant::now() < deadline, "the follower did not rejoin the ISR");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_stay_atomic_across_a_killed_leader() {
    let mut c =
        TestCluster::start(3, &["min.insync.replicas=2", "transaction.state.log.num.partitions=3", "offsets.topic.num.partitions=3"]);
    let bs = c.bootstrap();
    let o = rk(&["topics", "--bootstrap-server", &bs, "--create", "--topic", "txc", "--partitions", "3", "--replication-factor", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let props = |id: &str| {
        ProducerConfig::from_props(&[("transactional.id".to_string(), id.to_string()), ("linger.ms".into(), "2".into())].into()).unwrap()
    };
    let new_producer = || async {
        let p = Producer::new(cluster(&bs).await, props("txc-1")).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Err(e) = p.init_transactions().await {
            assert!(Instant::now() < deadline, "init_transactions: {e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        p
    };
    let mut p = new_producer().await;
    // Outcome of every transaction: Some(true) committed, Some(false) aborted, None unknown
    // (the commit call failed: it may or may not have happened, but all or nothing).
    let mut outcomes: Vec<(Vec<String>, Option<bool>)> = Vec::new();
    let mut killed = None;
    for t in 0..60 {
        if t == 20 {
            let leader = partitions(&c.any_addr(), "txc").unwrap()[0].1;
            c.node(leader).kill9();
            killed = Some(leader);
        }
        if t == 40
            && let Some(k) = killed.take()
        {
            c.node(k).start_again();
        }
        let values: Vec<String> = (0..30).map(|i| format!("t{t:03}-{i:02}")).collect();
        let ok = p.begin_transaction().is_ok();
        let mut sends = Vec::new();
        for (i, v) in values.iter().enumerate() {
            sends.push(p.send(ProducerRecord {
                topic: "txc".into(),
                partition: Some((i % 3) as i32),
                value: Some(v.clone().into()),
                ..Default::default()
            }));
        }
        let abort = t % 5 == 4;
        let outcome = if !ok {
            None
        } else if abort {
            p.abort_transaction().await.ok().map(|_| false)
        } else {
            p.commit_transaction().await.ok().map(|_| true)
        };
        for d in sends {
            let _ = d.wait().await;
        }
        if outcome.is_none() {
            // The documented recovery: a new producer with the same transactional id fences
            // the old one and finishes what it left open.
            let _ = p.abort_transaction().await;
            p = new_producer().await;
        }
        outcomes.push((values, outcome));
    }
    assert!(outcomes.iter().filter(|o| o.1 == Some(true)).count() >= 30, "most transactions commit");

    // read_committed sees each committed transaction whole, once, and nothing aborted.
    let mut consumer = Consumer::new(
        cluster(&c.bootstrap()).await,
        ConsumerConfig::from_props(&[("isolation.level".to_string(), "read_committed".to_string())].into()).unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumer.assign((0..3).map(|q| ("txc".to_string(), q, StartAt::Earliest)).collect()).await.is_err() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(3) && Instant::now() < deadline + Duration::from_secs(30) {
        if let Ok(recs) = consumer.poll(Duration::from_millis(200)).await {
            if !recs.is_empty() {
                quiet = Instant::now();
            }
            for r in recs {
                *seen.entry(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).to_string()).or_default() += 1;
            }
        }
    }
    for (values, outcome) in &outcomes {
        let present = values.iter().filter(|v| seen.contains_key(*v)).count();
        match outcome {
            Some(true) => assert_eq!(present, values.len(), "a committed transaction is visible whole ({})", values[0]),
            Some(false) => assert_eq!(present, 0, "an aborted transaction is invisible ({})", values[0]),
            None => assert!(present == 0 || present == values.len(), "all or nothing ({}: {present})", values[0]),
        }
        assert!(values.iter().all(|v| seen.get(v).copied().unwrap_or(0) <= 1), "no duplicates ({})", values[0]);
    }
}
