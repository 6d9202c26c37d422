//! Resource bounds: more partitions than file descriptors (`ulimit -n 256`) work, survive a
//! restart and read back whole; the broker's descriptor count stays under the limit.

mod common;

use common::*;
use kafka_protocol::messages::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_partitions_than_descriptors() {
    let mut b = TestBroker::start_with_nofile(&[], 256);
    let mut c = b.connect().await;
    let topics = ["fd-a", "fd-b", "fd-c"];
    for t in topics {
        assert_eq!(create_topic(&mut c, t, 100, &[]).await, 0, "create {t}");
    }
    for round in 0..2 {
        for t in topics {
            for p in 0..100 {
                let (err, base) = produce(&mut c, t, p, simple_batch(round * 10, 3), -1).await;
                assert_eq!((err, base), (0, round as i64 * 3), "{t}-{p} round {round}");
            }
        }
    }
    let fds = b.open_fds();
    assert!(fds < 256, "the broker holds {fds} descriptors");
    b.restart();
    let mut c = b.connect().await;
    for t in topics {
        for p in 0..100 {
            let d = fetch(&mut c, t, p, 0, 0).await;
            assert_eq!(d.error_code, 0, "{t}-{p}");
            let values: Vec<String> = decode(&d.records).iter().map(value_str).collect();
            assert_eq!(values, vec!["v0", "v1", "v2", "v10", "v11", "v12"], "{t}-{p}");
        }
    }
    // And it keeps taking writes to all of them after the restart.
    for t in topics {
        for p in 0..100 {
            assert_eq!(produce(&mut c, t, p, simple_batch(20, 1), 1).await.0, 0);
        }
    }
    let md = c.send(&MetadataRequest::default().with_topics(None)).await.unwrap();
    assert_eq!(md.topics.iter().map(|t| t.partitions.len()).sum::<usize>(), 300);
}

#[tokio::test]
async fn a_topic_whose_storage_cannot_be_created_is_refused_and_rolled_back() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    // A plain file where the partition's directory must go: its log cannot be opened.
    std::fs::write(b.data_dir().join("blocked-0"), b"not a directory").unwrap();
    let topic = create_topics_request::CreatableTopic::default().with_name(tn("blocked")).with_num_partitions(1).with_replication_factor(1);
    let resp = c.send(&CreateTopicsRequest::default().with_topics(vec![topic]).with_timeout_ms(5000)).await.unwrap();
    let r = &resp.topics[0];
    assert_eq!(r.error_code, kafka_protocol::error::ResponseError::KafkaStorageError.code());
    assert!(r.error_message.as_ref().unwrap().contains("storage"), "{:?}", r.error_message);
    // Metadata does not claim it, and the name can be used once the obstacle is gone.
    let md = c.send(&MetadataRequest::default().with_topics(None)).await.unwrap();
    assert!(md.topics.iter().all(|t| t.name.as_ref().map(|n| n.as_str()) != Some("blocked")));
    std::fs::remove_file(b.data_dir().join("blocked-0")).unwrap();
    assert_eq!(create_topic(&mut c, "blocked", 1, &[]).await, 0);
    assert_eq!(produce(&mut c, "blocked", 0, simple_batch(0, 1), 1).await, (0, 0));
}

fn raw(b: &TestBroker) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(b.addr()).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    s
}

/// Sends an ApiVersions v0 request and waits for the answer (false: closed or no answer).
fn api_versions_answered(s: &mut std::net::TcpStream) -> bool {
    use std::io::{Read, Write};
    let frame = [0u8, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0, 0];
    if s.write_all(&frame).is_err() {
        return false;
    }
    let mut len = [0u8; 4];
    if s.read_exact(&mut len).is_err() {
        return false;
    }
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).is_ok()
}

fn closed_by_broker(s: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 8];
    matches!(s.read(&mut buf), Ok(0)) || matches!(s.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
}

#[test]
fn connection_quotas_per_ip_and_total() {
    let b = TestBroker::start_with(&["max.connections.per.ip=5"]);
    let mut conns: Vec<_> = (0..8).map(|_| raw(&b)).collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let answered = conns.iter_mut().map(api_versions_answered).filter(|ok| *ok).count();
    assert_eq!(answered, 5, "excess connections from one address are closed");
    drop(conns);

    let b = TestBroker::start_with(&["max.connections=3"]);
    let mut first: Vec<_> = (0..3).map(|_| raw(&b)).collect();
    for s in first.iter_mut() {
        assert!(api_versions_answered(s));
    }
    let mut fourth = raw(&b);
    fourth.set_read_timeout(Some(std::time::Duration::from_millis(500))).unwrap();
    assert!(!api_versions_answered(&mut fourth), "the fourth waits in the backlog");
    drop(first.pop());
    fourth.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    let mut len = [0u8; 4];
    assert!(std::io::Read::read_exact(&mut fourth, &mut len).is_ok(), "served once a slot is free");
}

#[test]
fn half_sent_frames_and_idle_connections_are_closed() {
    use std::io::Write;
    let b = TestBroker::start_with(&["request.read.timeout.ms=1000", "connections.max.idle.ms=1500"]);
    let started = std::time::Instant::now();
    // 200 connections declare a 100 MB frame and send 1 KiB of it.
    let mut stalled: Vec<_> = (0..200)
        .map(|_| {
            let mut s = raw(&b);
            s.write_all(&100_000_000i32.to_be_bytes()).unwrap();
            s.write_all(&[0u8; 1024]).unwrap();
            s
        })
        .collect();
    let mut idle = raw(&b);
    assert!(api_versions_answered(&mut idle));
    for s in stalled.iter_mut() {
        assert!(closed_by_broker(s), "a stalled half-sent frame is closed");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(closed_by_broker(&mut idle), "an idle connection is closed after connections.max.idle.ms");
    // Everyone else is still served.
    let mut fresh = raw(&b);
    assert!(api_versions_answered(&mut fresh));
    assert!(b.log().contains("request.read.timeout.ms"));
}

#[test]
fn a_storm_of_thousands_of_connections_is_served_and_released() {
    // 3000 connections at once (the test process has 20000 descriptors here; fewer where
    // the limit is lower), each asking ApiVersions: all answered; once they close, the
    // broker's descriptors are back where they were.
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid in/out parameters; the soft limit is raised to the hard one, as the
    // broker does for itself.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur = lim.rlim_max.min(1 << 20);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
    let n = (lim.rlim_cur as usize).saturating_sub(200).min(3000);
    assert!(n >= 500, "too few descriptors for a storm test: {}", lim.rlim_cur);
    let b = TestBroker::start();
    let baseline = b.open_fds();
    let mut conns: Vec<_> = (0..n).map(|_| raw(&b)).collect();
    let answered = conns.iter_mut().map(api_versions_answered).filter(|ok| *ok).count();
    assert_eq!(answered, n, "every connection of the storm is served");
    assert!(b.open_fds() >= baseline + n, "the broker holds the connections");
    drop(conns);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.open_fds() > baseline + 10 {
        assert!(std::time::Instant::now() < deadline, "descriptors not released: {} (baseline {baseline})", b.open_fds());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut fresh = raw(&b);
    assert!(api_versions_answered(&mut fresh));
}
