//! Exactly-once through rk's own client against the real binary: the transactional
//! producer (commit, abort, fencing), read_committed consumption, consume-transform-produce
//! with offsets in the transaction, and the tools that use them (perf-test producer,
//! console-producer with transactional.id, console-consumer --isolation-level).

mod common;

use common::*;
use rk::client::consumer::{Consumer, ConsumerConfig, StartAt};
use rk::client::producer::{Producer, ProducerConfig, ProducerRecord};
use rk::client::{ClientConfig, Cluster};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const FAST: &[&str] = &["group.initial.rebalance.delay.ms=0", "offsets.topic.num.partitions=2", "transaction.state.log.num.partitions=2"];

fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn cluster(b: &TestBroker) -> Arc<Cluster> {
    Cluster::connect(ClientConfig::new(Some(&b.addr()), vec![], "txn-test").unwrap()).await.unwrap()
}

async fn txn_producer(b: &TestBroker, id: &str) -> Producer {
    let cfg = ProducerConfig::from_props(&props(&[("transactional.id", id), ("linger.ms", "2")])).unwrap();
    let p = Producer::new(cluster(b).await, cfg).await.unwrap();
    p.init_transactions().await.unwrap();
    p
}

fn rec(topic: &str, partition: i32, v: &str) -> ProducerRecord {
    ProducerRecord { topic: topic.into(), partition: Some(partition), value: Some(v.to_string().into()), ..Default::default() }
}

/// Every value readable from `topic` (all partitions, from the start) at an isolation
/// level, per partition in offset order; stops after `quiet` without new records.
async fn read_all(b: &TestBroker, topic: &str, partitions: i32, isolation: &str) -> BTreeMap<i32, Vec<String>> {
    let cfg = ConsumerConfig::from_props(&props(&[("isolation.level", isolation)])).unwrap();
    let mut c = Consumer::new(cluster(b).await, cfg);
    c.assign((0..partitions).map(|p| (topic.to_string(), p, StartAt::Earliest)).collect()).await.unwrap();
    let mut out: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    let mut last_new = Instant::now();
    while last_new.elapsed() < Duration::from_millis(1500) {
        let recs = c.poll(Duration::from_millis(200)).await.unwrap();
        if !recs.is_empty() {
            last_new = Instant::now();
        }
        for r in recs {
            out.entry(r.partition).or_default().push(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).to_string());
        }
    }
    out
}

#[tokio::test]
async fn committed_and_aborted_transactions_are_read_as_kafka_reads_them() {
    let b = TestBroker::start_with(FAST);
    let mut c = b.connect().await;
    create_topic(&mut c, "tx-out", 2, &[]).await;
    let p = txn_producer(&b, "tx-a").await;
    // Interleave: committed, aborted, committed; an aborted transaction spans both
    // partitions.
    for (round, commit) in [(0, true), (1, false), (2, true), (3, false), (4, true)] {
        p.begin_transaction().unwrap();
        let ds: Vec<_> = (0..10).map(|i| p.send(rec("tx-out", i % 2, &format!("r{round}-{i}")))).collect();
        if commit {
            p.commit_transaction().await.unwrap();
        } else {
            p.abort_transaction().await.unwrap();
        }
        for d in ds {
            d.wait().await.unwrap();
        }
    }
    // A non-transactional, idempotent producer's records in between are always visible.
    let plain = Producer::new(cluster(&b).await, ProducerConfig::default()).await.unwrap();
    plain.send(rec("tx-out", 0, "plain")).wait().await.unwrap();

    let committed = read_all(&b, "tx-out", 2, "read_committed").await;
    let expect = |q: i32| -> Vec<String> {
        let mut v: Vec<String> =
            [0, 2, 4].iter().flat_map(|r| (0..10).filter(move |i| i % 2 == q).map(move |i| format!("r{r}-{i}"))).collect();
        if q == 0 {
            v.push("plain".into());
        }
        v
    };
    assert_eq!(committed.get(&0).cloned().unwrap_or_default(), expect(0));
    assert_eq!(committed.get(&1).cloned().unwrap_or_default(), expect(1));
    let all = read_all(&b, "tx-out", 2, "read_uncommitted").await;
    assert_eq!(all.values().map(|v| v.len()).sum::<usize>(), 51, "read_uncommitted sees aborted records too: {all:?}");
}

#[tokio::test]
async fn a_zombie_is_fenced_and_its_open_transaction_aborted() {
    let b = TestBroker::start_with(FAST);
    let mut c = b.connect().await;
    create_topic(&mut c, "fence", 1, &[]).await;
    let old = txn_producer(&b, "tx-z").await;
    old.begin_transaction().unwrap();
    old.send(rec("fence", 0, "zombie")).wait().await.unwrap();
    // The new instance's init_transactions aborts the open transaction and fences `old`.
    let new = txn_producer(&b, "tx-z").await;
    new.begin_transaction().unwrap();
    new.send(rec("fence", 0, "fresh")).wait().await.unwrap();
    new.commit_transaction().await.unwrap();
    let e = old.commit_transaction().await.expect_err("the zombie's commit must fail");
    let fenced =
        [kafka_protocol::error::ResponseError::ProducerFenced.code(), kafka_protocol::error::ResponseError::InvalidProducerEpoch.code()];
    assert!(e.code().is_some_and(|c| fenced.contains(&c)) || e.to_string().contains("fenced"), "{e}");
    assert!(old.begin_transaction().is_err(), "a fenced producer cannot start another transaction");
    let committed = read_all(&b, "fence", 1, "read_committed").await;
    assert_eq!(committed.get(&0).cloned().unwrap_or_default(), vec!["fresh".to_string()]);
}

#[tokio::test]
async fn consume_transform_produce_copies_exactly_once_with_offsets_in_the_transaction() {
    let b = TestBroker::start_with(FAST);
    let mut c = b.connect().await;
    create_topic(&mut c, "ctp-src", 2, &[]).await;
    create_topic(&mut c, "ctp-dst", 2, &[]).await;
    let input = Producer::new(cluster(&b).await, ProducerConfig::default()).await.unwrap();
    let n: usize = 300;
    let ds: Vec<_> = (0..n).map(|i| input.send(rec("ctp-src", (i % 2) as i32, &format!("v{i}")))).collect();
    for d in ds {
        d.wait().await.unwrap();
    }
    let ccfg = ConsumerConfig::from_props(&props(&[
        ("group.id", "ctp"),
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
        ("isolation.level", "read_committed"),
    ]))
    .unwrap();
    let mut consumer = Consumer::new(cluster(&b).await, ccfg);
    consumer.subscribe(vec!["ctp-src".into()]).unwrap();
    let p = txn_producer(&b, "tx-ctp").await;
    let (mut copied, mut round) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while copied < n && Instant::now() < deadline {
        let recs = consumer.poll(Duration::from_millis(200)).await.unwrap();
        if recs.is_empty() {
            continue;
        }
        round += 1;
        p.begin_transaction().unwrap();
        for r in &recs {
            let v = format!("out:{}", String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()));
            p.send(rec("ctp-dst", r.partition, &v));
        }
        let offsets: BTreeMap<(String, i32), i64> = recs.iter().map(|r| ((r.topic.clone(), r.partition), r.offset + 1)).collect();
        p.send_offsets_to_transaction(&offsets, &consumer.group_metadata().unwrap()).await.unwrap();
        // Every third round is aborted: its records must not appear and its offsets must
        // not count, so the consumer goes back to the last committed position.
        if round % 3 == 0 {
            p.abort_transaction().await.unwrap();
            let committed = rk::client::admin::Admin::new(cluster(&b).await).group_offsets("ctp").await.unwrap();
            for (t, q) in offsets.keys() {
                consumer.seek(t, *q, committed.get(&(t.clone(), *q)).copied().unwrap_or(0));
            }
        } else {
            p.commit_transaction().await.unwrap();
            copied += recs.len();
        }
    }
    assert_eq!(copied, n, "the loop copied every input record once");
    // The last commit's offsets are materialized when its marker reaches
    // __consumer_offsets, which may be a moment after EndTxn answered (as in Kafka).
    let admin = rk::client::admin::Admin::new(cluster(&b).await);
    let mut committed = admin.group_offsets("ctp").await.unwrap();
    let settle = Instant::now() + Duration::from_secs(10);
    while committed.values().sum::<i64>() < n as i64 && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(50)).await;
        committed = admin.group_offsets("ctp").await.unwrap();
    }
    assert_eq!(committed.get(&("ctp-src".to_string(), 0)), Some(&150));
    assert_eq!(committed.get(&("ctp-src".to_string(), 1)), Some(&150));
    let out = read_all(&b, "ctp-dst", 2, "read_committed").await;
    for q in 0..2 {
        let expect: Vec<String> = (0..n).filter(|i| i % 2 == q).map(|i| format!("out:v{i}")).collect();
        assert_eq!(out.get(&(q as i32)).cloned().unwrap_or_default(), expect, "partition {q}");
    }
}

fn rk(args: &[&str]) -> std::process::Output {
    Command::new(rk_bin()).args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_produce_transactionally_and_read_committed() {
    let b = TestBroker::start_with(FAST);
    let bs = b.addr();
    let o = rk(&["topics", "--bootstrap-server", &bs, "--create", "--topic", "tools-tx", "--partitions", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // perf-test: 2000 records in 50 ms transactions.
    let o = rk(&[
        "perf-test",
        "producer",
        "--bootstrap-server",
        &bs,
        "--topic",
        "tools-tx",
        "--num-records",
        "2000",
        "--record-size",
        "50",
        "--throughput",
        "-1",
        "--transactional-id",
        "perf-tx",
        "--transaction-duration-ms",
        "50",
    ]);
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("2000 records sent"), "{}", String::from_utf8_lossy(&o.stdout));
    // console-producer with transactional.id: the input is one transaction.
    let mut child = Command::new(rk_bin())
        .args(["console-producer", "--bootstrap-server", &bs, "--topic", "tools-tx", "--producer-property", "transactional.id=console-tx"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"a\nb\nc\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = rk(&[
        "console-consumer",
        "--bootstrap-server",
        &bs,
        "--topic",
        "tools-tx",
        "--from-beginning",
        "--isolation-level",
        "read_committed",
        "--max-messages",
        "2003",
        "--timeout-ms",
        "10000",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2003, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(&lines[2000..], ["a", "b", "c"]);
    // Commit markers take offsets: the log end is past the record count.
    let mut c = b.connect().await;
    let (err, end, _) = list_offset(&mut c, "tools-tx", 0, -1).await;
    assert_eq!(err, 0);
    assert!(end > 2003, "commit markers are in the log (end offset {end})");
}

#[tokio::test]
async fn offset_fetch_require_stable_waits_for_pending_transactional_offsets() {
    use kafka_protocol::messages::*;
    let b = TestBroker::start_with(FAST);
    let mut c = b.connect().await;
    create_topic(&mut c, "stable", 1, &[]).await;
    let p = txn_producer(&b, "tx-stable").await;
    p.begin_transaction().unwrap();
    let offsets: BTreeMap<(String, i32), i64> = [(("stable".to_string(), 0), 42)].into();
    p.send_offsets_to_transaction(&offsets, &rk::client::producer::GroupMetadata::for_group("g-stable")).await.unwrap();
    let fetch = |stable: bool| {
        OffsetFetchRequest::default().with_require_stable(stable).with_groups(vec![
            offset_fetch_request::OffsetFetchRequestGroup::default().with_group_id(GroupId(sb("g-stable"))).with_topics(Some(vec![
                offset_fetch_request::OffsetFetchRequestTopics::default().with_name(tn("stable")).with_partition_indexes(vec![0]),
            ])),
        ])
    };
    let part = |r: OffsetFetchResponse| {
        let p = &r.groups[0].topics[0].partitions[0];
        (p.error_code, p.committed_offset)
    };
    assert_eq!(part(c.send(&fetch(true)).await.unwrap()), (kafka_protocol::error::ResponseError::UnstableOffsetCommit.code(), -1));
    assert_eq!(part(c.send(&fetch(false)).await.unwrap()), (0, -1), "nothing is committed yet");
    p.commit_transaction().await.unwrap();
    // EndTxn returns once the commit is decided; the marker reaches the group a moment
    // later, and until then the offset is still unstable (as in Kafka).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = part(c.send(&fetch(true)).await.unwrap());
        if got == (0, 42) || Instant::now() > deadline {
            assert_eq!(got, (0, 42));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn list_transactions_patterns_match_whole_ids_and_bad_ones_are_refused() {
    use kafka_protocol::messages::*;
    let b = TestBroker::start_with(FAST);
    let mut c = b.connect().await;
    create_topic(&mut c, "pat", 1, &[]).await;
    let p = txn_producer(&b, "orders-1").await;
    p.begin_transaction().unwrap();
    p.send(rec("pat", 0, "x")).wait().await.unwrap();
    let list = |pattern: &str| ListTransactionsRequest::default().with_transactional_id_pattern(Some(sb(pattern)));
    let ids = |r: ListTransactionsResponse| -> (i16, Vec<String>) {
        (r.error_code, r.transaction_states.iter().map(|t| t.transactional_id.0.to_string()).collect())
    };
    assert_eq!(ids(c.send(&list("orders-.*")).await.unwrap()), (0, vec!["orders-1".to_string()]));
    assert_eq!(ids(c.send(&list("orders")).await.unwrap()), (0, vec![]), "a pattern matches the whole id");
    let bad = c.send(&list("orders-(")).await.unwrap();
    assert_eq!(bad.error_code, kafka_protocol::error::ResponseError::InvalidRegularExpression.code());
    p.abort_transaction().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_idempotent_default_producer_survives_a_broker_crash_exactly_once_in_order() {
    let mut b = TestBroker::start_with(FAST);
    let mut c = b.connect().await;
    create_topic(&mut c, "crash", 2, &[]).await;
    drop(c);
    // rk's client with its defaults: idempotent, acks=all, unlimited retries within
    // delivery.timeout.ms.
    let p = Producer::new(cluster(&b).await, ProducerConfig::default()).await.unwrap();
    let n = 6000;
    let mut deliveries = Vec::new();
    for i in 0..n {
        deliveries.push(p.send(ProducerRecord {
            topic: "crash".into(),
            key: Some(format!("k{}", i % 2).into()),
            value: Some(format!("v{i}").into()),
            ..Default::default()
        }));
        if i == n / 2 {
            // Mid-stream: some batches are acknowledged, some in flight, some queued.
            b.kill9();
            std::thread::sleep(Duration::from_millis(300));
            b.start_again();
        }
        if i % 500 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for d in deliveries {
        d.wait().await.expect("every record is delivered");
    }
    let got = read_all(&b, "crash", 2, "read_uncommitted").await;
    let total: usize = got.values().map(|v| v.len()).sum();
    assert_eq!(total, n, "exactly once: no record lost or duplicated");
    for vs in got.values() {
        let nums: Vec<usize> = vs.iter().map(|v| v[1..].parse().unwrap()).collect();
        assert!(nums.windows(2).all(|w| w[0] < w[1]), "in order per partition");
    }
}
