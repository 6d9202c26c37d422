//! The fsync-on-ack mode (`write.caching=false`, Redpanda's knob): acks=all writes to such
//! a topic are fsynced before they are acknowledged, counted by the broker's log-flush
//! metric; a topic with the default (Kafka's page-cache acknowledgement) and acks=1
//! writes cause no fsync.

mod common;

use common::*;
use std::io::{Read, Write};

fn flushes(metrics: &str) -> u64 {
    let mut s = std::net::TcpStream::connect(metrics).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body.lines()
        .find(|l| l.starts_with("kafka_log_logflushstats_logflushrateandtimems_total "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no flush counter in {body}")) as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_caching_false_fsyncs_acks_all_writes_before_the_answer() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let listener = format!("metrics.listener=http://{metrics}");
    let b = TestBroker::start_with(&[&listener]);
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "cached", 1, &[]).await, 0);
    assert_eq!(create_topic(&mut c, "synced", 1, &[("write.caching", "false")]).await, 0);
    let before = flushes(&metrics);
    for i in 0..20 {
        assert_eq!(produce(&mut c, "cached", 0, simple_batch(i, 1), -1).await.0, 0);
        assert_eq!(produce(&mut c, "synced", 0, simple_batch(i, 1), 1).await.0, 0);
    }
    assert_eq!(flushes(&metrics), before, "page-cache acknowledgements must not fsync");
    for i in 0..20 {
        assert_eq!(produce(&mut c, "synced", 0, simple_batch(20 + i, 1), -1).await.0, 0);
    }
    let after = flushes(&metrics);
    // One fsync per acknowledged write (the acks=1 data before them rides on the first).
    assert!(after - before >= 20, "{} fsyncs for 20 acks=all writes", after - before);
    // Everything reads back.
    let p = fetch(&mut c, "synced", 0, 0, 100).await;
    assert_eq!(decode(&p.records).len(), 40);
}
