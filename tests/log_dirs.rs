//! Several `log.dirs`: partitions spread over them, DescribeLogDirs per dir, and
//! AlterReplicaLogDirs moving a partition while a producer keeps writing to it — every
//! acknowledged record reads back from the new dir, also after a restart; an unknown dir
//! is LOG_DIR_NOT_FOUND.

mod common;

use common::*;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use rk::client::Connection;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// log dir → topic partitions in it (future copies marked with a trailing '*').
async fn layout(c: &Connection) -> BTreeMap<String, Vec<String>> {
    let r = c.send_at(&DescribeLogDirsRequest::default().with_topics(None), 4).await.unwrap();
    assert_eq!(r.error_code, 0);
    r.results
        .iter()
        .map(|d| {
            let mut ps: Vec<String> = d
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(move |p| format!("{}-{}{}", t.name.0, p.partition_index, if p.is_future_key { "*" } else { "" }))
                })
                .collect();
            ps.sort();
            (d.log_dir.to_string(), ps)
        })
        .collect()
}

fn alter(dir: &str, topic: &str, partition: i32) -> AlterReplicaLogDirsRequest {
    AlterReplicaLogDirsRequest::default().with_dirs(vec![
        alter_replica_log_dirs_request::AlterReplicaLogDir::default().with_path(sb(dir)).with_topics(vec![
            alter_replica_log_dirs_request::AlterReplicaLogDirTopic::default().with_name(tn(topic)).with_partitions(vec![partition]),
        ]),
    ])
}

async fn count(c: &mut Connection, topic: &str, partition: i32) -> usize {
    let mut n = 0;
    loop {
        let p = fetch(c, topic, partition, n as i64, 50).await;
        assert_eq!(p.error_code, 0);
        let recs = decode(&p.records);
        if recs.is_empty() {
            return n;
        }
        assert!(recs.iter().all(|r| r.offset >= n as i64));
        n = recs.last().unwrap().offset as usize + 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_spread_over_log_dirs_and_move_between_them_under_load() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a").display().to_string(), root.path().join("b").display().to_string());
    let dirs = format!("log.dirs={a},{b}");
    let mut broker = TestBroker::start_with(&[&dirs, "log.segment.bytes=65536"]);
    let mut c = broker.connect().await;
    assert_eq!(create_topic(&mut c, "j", 4, &[]).await, 0);
    let l = layout(&c).await;
    assert_eq!(l.len(), 2, "one result per log dir: {l:?}");
    assert_eq!(l[&a].len(), 2, "{l:?}");
    assert_eq!(l[&b].len(), 2, "{l:?}");
    for p in 0..4 {
        for i in 0..20 {
            assert_eq!(produce(&mut c, "j", p, simple_batch(i * 10, 10), -1).await.0, 0);
        }
    }
    // Move the partition 0 to the other dir while a producer keeps writing to it.
    let from = if l[&a].contains(&"j-0".to_string()) { &a } else { &b };
    let to = if from == &a { b.clone() } else { a.clone() };
    let addr = broker.addr();
    let writer = tokio::spawn(async move {
        let mut c = Connection::connect(&addr, "writer").await.unwrap();
        let mut acked = 0;
        for i in 0..300 {
            if produce(&mut c, "j", 0, simple_batch(10_000 + i * 5, 5), -1).await.0 == 0 {
                acked += 5;
            }
        }
        acked
    });
    let r = c.send_at(&alter(&to, "j", 0), 2).await.unwrap();
    assert_eq!(r.results[0].partitions[0].error_code, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let l = layout(&c).await;
        if l[&to].contains(&"j-0".to_string()) && !l[from].contains(&"j-0".to_string()) {
            break;
        }
        assert!(Instant::now() < deadline, "the move did not finish: {l:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acked = writer.await.unwrap();
    assert_eq!(acked, 1500, "a produce failed during the move");
    assert_eq!(count(&mut c, "j", 0).await, 200 + acked);
    assert!(std::path::Path::new(&to).join("j-0").is_dir());
    assert!(!std::path::Path::new(from).join("j-0").exists());
    // Unknown dirs are refused; a partition already there is a no-op.
    let r = c.send_at(&alter("/nowhere", "j", 1), 2).await.unwrap();
    assert_eq!(r.results[0].partitions[0].error_code, E::LogDirNotFound.code());
    let r = c.send_at(&alter(&to, "j", 0), 2).await.unwrap();
    assert_eq!(r.results[0].partitions[0].error_code, 0);
    // After a restart every partition is found where it lives, with all its records.
    broker.restart();
    let mut c = broker.connect().await;
    let l = layout(&c).await;
    assert!(l[&to].contains(&"j-0".to_string()), "{l:?}");
    assert_eq!(count(&mut c, "j", 0).await, 200 + acked);
    for p in 1..4 {
        assert_eq!(count(&mut c, "j", p).await, 200);
    }
}
