//! The client tools against the real broker: `rk topics`, `rk console-producer` and
//! `rk console-consumer`, checking Kafka's output text exactly.

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn rk(b: &TestBroker, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(rk_bin());
    cmd.args(args).arg("--bootstrap-server").arg(b.addr());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn topics_create_list_describe_alter_delete() {
    let b = TestBroker::start();
    let o = rk(&b, &["topics", "--create", "--topic", "orders", "--partitions", "3", "--config", "retention.ms=60000"], None);
    assert_eq!((o.status.code(), out(&o).as_str()), (Some(0), "Created topic orders.\n"), "{}", err(&o));
    let o = rk(&b, &["topics", "--create", "--topic", "my_topic.v1"], None);
    assert!(out(&o).starts_with("WARNING: Due to limitations in metric names"));
    let o = rk(&b, &["topics", "--create", "--topic", "orders"], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o).trim(), "Error while executing topic command : Topic 'orders' already exists.");
    assert_eq!(rk(&b, &["topics", "--create", "--topic", "orders", "--if-not-exists"], None).status.code(), Some(0));
    let o = rk(&b, &["topics", "--create", "--topic", "bad", "--config", "retention.ms=soon"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("retention.ms"), "{}", err(&o));

    assert_eq!(out(&rk(&b, &["topics", "--list"], None)), "my_topic.v1\norders\n");
    let o = rk(&b, &["topics", "--describe", "--topic", "orders"], None);
    let text = out(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    let head: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(head[0], "Topic: orders");
    assert!(head[1].starts_with("TopicId: ") && head[1].len() == "TopicId: ".len() + 22, "{}", head[1]);
    assert_eq!(&head[2..], &["PartitionCount: 3", "ReplicationFactor: 1", "Configs: retention.ms=60000"]);
    assert_eq!(lines[1], "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: N/A\tLastKnownElr: N/A");
    assert!(lines[3].starts_with("\tTopic: orders\tPartition: 2\t"));
    // --topic is a regex (Kafka's semantics), '.' matches any character.
    let o = rk(&b, &["topics", "--describe", "--topic", "my.topic.*", "--topics-with-overrides"], None);
    assert_eq!(out(&o), "");
    let o = rk(&b, &["topics", "--describe", "--topics-with-overrides"], None);
    assert_eq!(out(&o).lines().count(), 1);
    let o = rk(&b, &["topics", "--describe", "--topic", "nope"], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o).trim(), "Error while executing topic command : Topic 'nope' does not exist as expected");
    assert_eq!(rk(&b, &["topics", "--describe", "--topic", "nope", "--if-exists"], None).status.code(), Some(0));
    let j: serde_json::Value =
        serde_json::from_str(&out(&rk(&b, &["topics", "--describe", "--topic", "orders", "--output", "json"], None))).unwrap();
    assert_eq!(j[0]["partition_count"], 3);
    assert_eq!(j[0]["configs"]["retention.ms"], "60000");

    assert_eq!(rk(&b, &["topics", "--alter", "--topic", "orders", "--partitions", "5"], None).status.code(), Some(0));
    let o = rk(&b, &["topics", "--alter", "--topic", "orders", "--partitions", "2"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("Topic currently has 5 partitions, which is higher than the requested 2."), "{}", err(&o));
    assert_eq!(rk(&b, &["topics", "--alter", "--topic", "orders", "--config", "a=b", "--partitions", "6"], None).status.code(), Some(2));
    assert_eq!(rk(&b, &["topics", "--delete", "--topic", "orders"], None).status.code(), Some(0));
    assert_eq!(out(&rk(&b, &["topics", "--list"], None)), "my_topic.v1\n");
    let o = rk(&b, &["topics", "--list", "--create"], None);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err(&o).trim(), "Command must include exactly one action: --list, --describe, --create, --alter or --delete");
}

#[test]
fn console_round_trip_with_keys_headers_and_nulls() {
    let b = TestBroker::start();
    rk(&b, &["topics", "--create", "--topic", "rt", "--partitions", "1"], None);
    let input = "h1:v1,h2:v2\tk1\tvalue one\nNO\tk2\tNULL\nh3:NULL\tNULL\tv3\n";
    let o = rk(
        &b,
        &[
            "console-producer",
            "--topic",
            "rt",
            "--property",
            "parse.key=true",
            "--property",
            "parse.headers=true",
            "--property",
            "null.marker=NULL",
            "--timeout",
            "10",
        ],
        Some(&input.replace("NO\t", "\t")),
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = rk(
        &b,
        &[
            "console-consumer",
            "--topic",
            "rt",
            "--from-beginning",
            "--max-messages",
            "3",
            "--property",
            "print.key=true",
            "--property",
            "print.headers=true",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        out(&o),
        "Partition:0\tOffset:0\th1:v1,h2:v2\tk1\tvalue one\nPartition:0\tOffset:1\tNO_HEADERS\tk2\tnull\nPartition:0\tOffset:2\th3:null\tnull\tv3\n"
    );
    assert!(err(&o).contains("Processed a total of 3 messages"));
    // Explicit partition + offset, timeout as a clean exit.
    let o = rk(&b, &["console-consumer", "--topic", "rt", "--partition", "0", "--offset", "1", "--timeout-ms", "500"], None);
    assert_eq!((o.status.code(), out(&o).as_str()), (Some(0), "null\nv3\n"));
    let o = rk(
        &b,
        &["console-consumer", "--topic", "rt", "--partition", "0", "--offset", "earliest", "--exit-at-end", "--format", "%o:%k=%v\\n"],
        None,
    );
    assert_eq!(out(&o), "0:k1=value one\n1:k2=\n2:=v3\n");
    let o = rk(&b, &["console-producer", "--topic", "rt", "--property", "parse.key=true"], Some("no separator here\n"));
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("No key separator found on line number 1: 'no separator here'"), "{}", err(&o));
    let o = rk(&b, &["console-consumer", "--topic", "rt", "--include", "rt"], None);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn keyed_records_land_on_the_java_partitioner_partition() {
    let b = TestBroker::start();
    rk(&b, &["topics", "--create", "--topic", "keys", "--partitions", "7"], None);
    let keys: Vec<String> = (0..30).map(|i| format!("key-{i}")).collect();
    let input: String = keys.iter().map(|k| format!("{k}\tv\n")).collect();
    let o = rk(&b, &["console-producer", "--topic", "keys", "--property", "parse.key=true", "--timeout", "10"], Some(&input));
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = rk(&b, &["console-consumer", "--topic", "keys", "--from-beginning", "--max-messages", "30", "--format", "%k %p\\n"], None);
    let mut seen = 0;
    for line in out(&o).lines() {
        let (k, p) = line.split_once(' ').unwrap();
        let want = rk::client::producer::partitioner::partition_for_key(k.as_bytes(), 7);
        assert_eq!(p.parse::<i32>().unwrap(), want, "{k}");
        seen += 1;
    }
    assert_eq!(seen, 30);
}

#[test]
fn consumer_groups_commit_and_resume() {
    let b = TestBroker::start_with(&["group.initial.rebalance.delay.ms=0"]);
    rk(&b, &["topics", "--create", "--topic", "gt", "--partitions", "2"], None);
    let input: String = (0..10).map(|i| format!("m{i}\n")).collect();
    rk(&b, &["console-producer", "--topic", "gt", "--timeout", "10"], Some(&input));
    let o = rk(&b, &["console-consumer", "--topic", "gt", "--group", "cg", "--from-beginning", "--max-messages", "4"], None);
    assert_eq!(out(&o).lines().count(), 4, "{}", err(&o));
    // The rest, exactly once, from the committed offsets.
    let o = rk(&b, &["console-consumer", "--topic", "gt", "--group", "cg", "--timeout-ms", "2000"], None);
    let mut first: Vec<String> = Vec::new();
    let o1 = rk(&b, &["console-consumer", "--topic", "gt", "--partition", "0", "--offset", "earliest", "--exit-at-end"], None);
    let o2 = rk(&b, &["console-consumer", "--topic", "gt", "--partition", "1", "--offset", "earliest", "--exit-at-end"], None);
    first.extend(out(&o1).lines().map(String::from));
    first.extend(out(&o2).lines().map(String::from));
    assert_eq!(first.len(), 10);
    assert_eq!(out(&o).lines().count(), 6, "{}", err(&o));
}

#[tokio::test]
async fn client_consumer_uses_incremental_fetch_sessions() {
    use rk::client::consumer::{Consumer, ConsumerConfig, StartAt};
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "sess", 3, &[]).await;
    for p in 0..3 {
        produce(&mut c, "sess", p, simple_batch(0, 5), 1).await;
    }
    let cfg = rk::client::ClientConfig::new(Some(&b.addr()), vec![], "t").unwrap();
    let cluster = rk::client::Cluster::connect(cfg).await.unwrap();
    let mut consumer = Consumer::new(cluster, ConsumerConfig::from_props(&Default::default()).unwrap());
    consumer.assign((0..3).map(|p| ("sess".to_string(), p, StartAt::Earliest)).collect()).await.unwrap();
    let mut got = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while got < 15 && std::time::Instant::now() < deadline {
        got += consumer.poll(std::time::Duration::from_millis(200)).await.unwrap().len();
    }
    assert_eq!(got, 15);
    assert!(consumer.fetch_session(1).is_some_and(|id| id > 0), "a session was established");
    // New data on one partition arrives through the incremental session.
    produce(&mut c, "sess", 1, simple_batch(5, 2), 1).await;
    let mut more = Vec::new();
    while more.len() < 2 && std::time::Instant::now() < deadline {
        more.extend(consumer.poll(std::time::Duration::from_millis(200)).await.unwrap());
    }
    assert_eq!(more.iter().map(|r| (r.partition, r.offset)).collect::<Vec<_>>(), vec![(1, 5), (1, 6)]);
}
