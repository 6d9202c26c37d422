//! `rk transactions` against the real broker: transactions are driven with raw requests
//! (InitProducerId, AddPartitionsToTxn, transactional Produce, EndTxn), hanging ones are
//! written with `transaction.partition.verification.enable=false` by producers the
//! coordinator never heard of; checks Kafka's tables, --output json, abort moving the LSO,
//! and the exit codes of errors.

mod common;
mod txn_support;

use common::*;
use std::process::{Command, Output};
use std::time::Duration;
use txn_support::*;

fn rk_txn(b: &TestBroker, args: &[&str]) -> Output {
    Command::new(rk_bin()).arg("transactions").args(args).arg("--bootstrap-server").arg(b.addr()).output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs a command that must succeed and returns its stdout.
fn ok(b: &TestBroker, args: &[&str]) -> String {
    let o = rk_txn(b, args);
    assert_eq!(o.status.code(), Some(0), "rk transactions {args:?}: {}", err(&o));
    out(&o)
}

/// A Kafka table: every line ends with a tab; the cells, trimmed, per line.
fn table(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            assert!(l.ends_with('\t'), "every table line ends with a tab: {l:?}");
            l.trim_end_matches('\t').split('\t').map(|c| c.trim_end().to_string()).collect()
        })
        .collect()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn list_describe_and_describe_producers_show_an_ongoing_transaction() {
    let b = TestBroker::start();
    let rt = rt();
    let c = rt.block_on(b.connect());
    let mut c2 = rt.block_on(b.connect());
    assert_eq!(rt.block_on(create_topic(&mut c2, "orders", 2, &[])), 0);
    // Two plain records first, so the transaction starts at offset 2.
    assert_eq!(rt.block_on(produce(&mut c2, "orders", 0, simple_batch(0, 2), -1)), (0, 0));

    // Nothing yet: only the header.
    assert_eq!(ok(&b, &["list"]), "TransactionalId\tCoordinator\tProducerId\tTransactionState\t\n");

    let ids = rt.block_on(init_producer(&c, Some("txn-a")));
    rt.block_on(add_partition(&c, "txn-a", ids, "orders", 0));
    let ts = now_ms();
    assert_eq!(rt.block_on(produce_txn(&c, "txn-a", ids, "orders", 3, ts)), 2);
    let (pid, epoch) = ids;

    // list: Kafka's columns, widths and trailing tabs.
    let text = ok(&b, &["list"]);
    let w = pid.to_string().len().max(10);
    let want = format!(
        "TransactionalId\tCoordinator\t{:<w$}\tTransactionState\t\n{:<15}\t{:<11}\t{:<w$}\t{:<16}\t\n",
        "ProducerId", "txn-a", 1, pid, "Ongoing"
    );
    assert_eq!(text, want);
    let j = json(&ok(&b, &["list", "--output", "json"]));
    assert_eq!(j, serde_json::json!([{"transactional_id": "txn-a", "coordinator": 1, "producer_id": pid, "state": "Ongoing"}]));
    // Filters: a young transaction is not older than an hour; states and producer ids.
    assert_eq!(table(&ok(&b, &["list", "--duration-filter", "3600000"])).len(), 1);
    assert_eq!(table(&ok(&b, &["list", "--duration-filter", "-1"])).len(), 2);
    assert_eq!(table(&ok(&b, &["list", "--state-filter", "CompleteCommit"])).len(), 1);
    assert_eq!(table(&ok(&b, &["list", "--state-filter", "Ongoing,Empty"])).len(), 2);
    assert_eq!(table(&ok(&b, &["list", "--producer-id-filter", &(pid + 1).to_string()])).len(), 1);
    assert_eq!(table(&ok(&b, &["list", "--transactional-id-pattern", "txn-.*"])).len(), 2);
    assert_eq!(table(&ok(&b, &["list", "--transactional-id-pattern", "other.*"])).len(), 1);

    // describe: state, ids, timeout, start time, partitions.
    let t = table(&ok(&b, &["describe", "--transactional-id", "txn-a"]));
    assert_eq!(
        t[0],
        [
            "CoordinatorId",
            "TransactionalId",
            "ProducerId",
            "ProducerEpoch",
            "TransactionState",
            "TransactionTimeoutMs",
            "CurrentTransactionStartTimeMs",
            "TransactionDurationMs",
            "TopicPartitions"
        ]
    );
    let row = &t[1];
    assert_eq!(&row[..6], ["1", "txn-a", &pid.to_string(), &epoch.to_string(), "Ongoing", "300000"]);
    let start: i64 = row[6].parse().unwrap();
    assert!((ts - 60_000..=now_ms()).contains(&start), "start {start} vs produce {ts}");
    assert!(row[7].parse::<i64>().unwrap() >= 0);
    assert_eq!(row[8], "orders-0");
    let j = json(&ok(&b, &["describe", "--transactional-id", "txn-a", "--output", "json"]));
    assert_eq!(j["state"], "Ongoing");
    assert_eq!(j["producer_id"], pid);
    assert_eq!(j["timeout_ms"], 300000);
    assert_eq!(j["start_time_ms"], start);
    assert_eq!(j["topic_partitions"], serde_json::json!([{"topic": "orders", "partition": 0}]));

    // describe-producers: the open transaction's start offset.
    let t = table(&ok(&b, &["describe-producers", "--topic", "orders", "--partition", "0"]));
    assert_eq!(
        t[0],
        ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"]
    );
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(t[1], [pid.to_string(), epoch.to_string(), "-1".into(), "2".into(), ts.to_string(), "2".into()]);
    let j = json(&ok(&b, &["describe-producers", "--topic", "orders", "--partition", "0", "--broker-id", "1", "--output", "json"]));
    assert_eq!(j[0]["current_transaction_start_offset"], 2);
    assert_eq!(j[0]["coordinator_epoch"], serde_json::Value::Null);
    assert_eq!(j[0]["last_sequence"], 2);
    assert_eq!(table(&ok(&b, &["describe-producers", "--topic", "orders", "--partition", "1"])).len(), 1);

    // Committed: the coordinator says so and the partition has no open transaction.
    rt.block_on(end_txn(&c, "txn-a", ids, true));
    let mut state = String::new();
    for _ in 0..100 {
        state = json(&ok(&b, &["describe", "--transactional-id", "txn-a", "--output", "json"]))["state"].as_str().unwrap().to_string();
        if state == "CompleteCommit" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(state, "CompleteCommit");
    let t = table(&ok(&b, &["describe", "--transactional-id", "txn-a"]));
    assert_eq!(&t[1][4..6], ["CompleteCommit", "300000"]);
    assert_eq!(t[1][8], "", "a completed transaction has no partitions: {t:?}");
    let t = table(&ok(&b, &["describe-producers", "--topic", "orders", "--partition", "0"]));
    assert_eq!(t[1][5], "None");
    assert_ne!(t[1][2], "-1", "the marker's coordinator epoch is known now");

    // Unknown ids fail with Kafka's message.
    let o = rk_txn(&b, &["describe", "--transactional-id", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "Failed to describe transaction state of transactional-id `nope`: DescribeTransactions request for transactionalId `nope` failed because the ID could not be found. Enable debug logging for additional detail.\n"
    );
}

#[test]
fn find_hanging_and_abort_move_the_last_stable_offset() {
    // Without KIP-890 verification a producer the coordinator does not know can open a
    // transaction on a partition: exactly how transactions came to hang.
    let b = TestBroker::start_with(&["transaction.partition.verification.enable=false"]);
    let rt = rt();
    let c = rt.block_on(b.connect());
    let mut c2 = rt.block_on(b.connect());
    assert_eq!(rt.block_on(create_topic(&mut c2, "h", 1, &[])), 0);
    let hour_ago = now_ms() - 3_600_000;

    let ghost1 = rt.block_on(init_producer(&c, None));
    let ghost2 = rt.block_on(init_producer(&c, None));
    assert_eq!(rt.block_on(produce_txn(&c, "ghost", ghost1, "h", 1, hour_ago)), 0);
    assert_eq!(rt.block_on(produce_txn(&c, "ghost", ghost2, "h", 1, hour_ago)), 1);
    // A live transaction, as old by its records but known to its coordinator.
    let live = rt.block_on(init_producer(&c, Some("live")));
    rt.block_on(add_partition(&c, "live", live, "h", 0));
    assert_eq!(rt.block_on(produce_txn(&c, "live", live, "h", 2, hour_ago)), 2);
    assert_eq!(rt.block_on(produce(&mut c2, "h", 0, simple_batch(0, 1), -1)).0, 0);
    assert_eq!(rt.block_on(lso(&c, "h")), 0);

    let headers =
        ["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp", "Duration(min)"];
    let row = |(pid, epoch): (i64, i16), start: i64| {
        vec![
            "h".to_string(),
            "0".into(),
            pid.to_string(),
            epoch.to_string(),
            "-1".into(),
            start.to_string(),
            hour_ago.to_string(),
            "60".into(),
        ]
    };
    let t = table(&ok(&b, &["find-hanging", "--topic", "h"]));
    assert_eq!(t, [headers.map(String::from).to_vec(), row(ghost1, 0), row(ghost2, 1)]);
    // By broker (every partition with a replica there, internal topics included).
    assert_eq!(table(&ok(&b, &["find-hanging", "--broker-id", "1"])), t);
    assert_eq!(table(&ok(&b, &["find-hanging", "--topic", "h", "--partition", "0"])), t);
    // A larger timeout: nothing is old enough.
    assert_eq!(table(&ok(&b, &["find-hanging", "--topic", "h", "--max-transaction-timeout", "120"])).len(), 1);
    assert_eq!(table(&ok(&b, &["find-hanging", "--broker-id", "2"])).len(), 1, "broker 2 holds no replicas");
    let j = json(&ok(&b, &["find-hanging", "--topic", "h", "--output", "json"]));
    assert_eq!(j.as_array().unwrap().len(), 2);
    assert_eq!(j[0]["producer_id"], ghost1.0);
    assert_eq!(j[0]["start_offset"], 0);
    assert_eq!(j[0]["coordinator_epoch"], serde_json::Value::Null);
    assert_eq!(j[0]["duration_min"], 60);

    // No open transaction starts at offset 3.
    let o = rk_txn(&b, &["abort", "--topic", "h", "--partition", "0", "--start-offset", "3"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o), "Could not find any open transactions starting at offset 3 on partition h-0\n");
    assert_eq!(rt.block_on(lso(&c, "h")), 0);

    // Abort by start offset: prints nothing; the LSO moves to the next open transaction.
    assert_eq!(ok(&b, &["abort", "--topic", "h", "--partition", "0", "--start-offset", "0"]), "");
    assert_eq!(rt.block_on(lso(&c, "h")), 1);
    // Abort by ids (coordinator epoch -1 as DescribeProducers shows it), with JSON.
    let (pid, epoch) = ghost2;
    let args = ["abort", "--topic", "h", "--partition", "0", "--producer-id", &pid.to_string(), "--producer-epoch", &epoch.to_string()];
    let j = json(&ok(&b, &[&args[..], &["--coordinator-epoch", "-1", "--output", "json"]].concat()));
    assert_eq!(
        j["aborted"],
        serde_json::json!({"topic": "h", "partition": 0, "producer_id": pid, "producer_epoch": epoch, "coordinator_epoch": 0})
    );
    assert_eq!(rt.block_on(lso(&c, "h")), 2, "only the live transaction holds the LSO back");

    // The live transaction is not hanging; once committed the LSO reaches the end.
    assert_eq!(table(&ok(&b, &["find-hanging", "--topic", "h"])).len(), 1);
    let t = table(&ok(&b, &["describe-producers", "--topic", "h", "--partition", "0"]));
    let open: Vec<&Vec<String>> = t[1..].iter().filter(|r| r[5] != "None").collect();
    assert_eq!(open.len(), 1, "{t:?}");
    assert_eq!(open[0][0], live.0.to_string());
    rt.block_on(end_txn(&c, "live", live, true));
    let mut end = 0;
    for _ in 0..100 {
        end = rt.block_on(lso(&c, "h"));
        if end > 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Plain record at 4, abort markers at 5 and 6, the commit marker at 7.
    assert_eq!(end, 8);
}

#[test]
fn usage_errors_exit_2_and_failures_exit_1() {
    let b = TestBroker::start();
    let rt = rt();
    let mut c = rt.block_on(b.connect());
    assert_eq!(rt.block_on(create_topic(&mut c, "t", 1, &[])), 0);
    for (args, msg) in [
        (&["find-hanging"][..], "The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search"),
        (&["find-hanging", "--broker-id", "1", "--partition", "0"], "The --partition argument requires --topic to be provided"),
        (
            &["abort", "--topic", "t", "--partition", "0"],
            "The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)",
        ),
        (&["abort", "--topic", "t", "--partition", "0", "--producer-id", "5"], "Missing required argument --producer-epoch"),
        (
            &["abort", "--topic", "t", "--partition", "0", "--producer-id", "5", "--producer-epoch", "0"],
            "Missing required argument --coordinator-epoch",
        ),
        (&["list", "--transactional-id-pattern", "("], "Invalid --transactional-id-pattern '('"),
    ] {
        let o = rk_txn(&b, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(err(&o).starts_with(msg), "{args:?}: {}", err(&o));
    }
    for args in
        [&["describe"][..], &["describe-producers", "--topic", "t"], &["list", "--bogus"], &["abort", "--partition", "x"], &["nope"]]
    {
        assert_eq!(rk_txn(&b, args).status.code(), Some(2), "{args:?}");
    }

    let o = rk_txn(&b, &["describe-producers", "--topic", "t", "--partition", "5"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "Failed to describe producers for partition t-5 on leader: Partition t-5 does not exist: topic `t` has 1 partitions. Enable debug logging for additional detail.\n"
    );
    let o = rk_txn(&b, &["describe-producers", "--topic", "nope", "--partition", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("because metadata for topic `nope` could not be found"), "{}", err(&o));
    let o = rk_txn(&b, &["describe-producers", "--topic", "t", "--partition", "0", "--broker-id", "7"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).starts_with("Failed to describe producers for partition t-0 on broker 7: "), "{}", err(&o));
    let o = rk_txn(&b, &["find-hanging", "--topic", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o), "Failed to describe 1 topics: Topic nope not found.. Enable debug logging for additional detail.\n");
    let o = rk_txn(
        &b,
        &["abort", "--topic", "nope", "--partition", "0", "--producer-id", "1", "--producer-epoch", "0", "--coordinator-epoch", "0"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).starts_with("Failed to abort transaction AbortTransactionSpec(topicPartition=nope-0, producerId=1, "), "{}", err(&o));

    // Invoked as kafka-transactions.sh, the binary is `rk transactions`.
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("kafka-transactions.sh");
    std::os::unix::fs::symlink(rk_bin(), &link).unwrap();
    let o = Command::new(&link).args(["--bootstrap-server", &b.addr(), "list"]).output().unwrap();
    assert_eq!((o.status.code(), out(&o).as_str()), (Some(0), "TransactionalId\tCoordinator\tProducerId\tTransactionState\t\n"));
}

#[test]
fn a_broker_without_the_transaction_apis_is_an_error_not_a_panic() {
    let addr = txn_support::fake_broker::start();
    let run = |args: &[&str]| Command::new(rk_bin()).arg("transactions").args(args).args(["--bootstrap-server", &addr]).output().unwrap();
    let o = run(&["list"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert_eq!(
        err(&o),
        "Failed to list transactions: the broker does not support ListTransactions at any version this client knows. Enable debug logging for additional detail.\n"
    );
    let o = run(&["describe", "--transactional-id", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("does not support FindCoordinator"), "{}", err(&o));
    let o = run(&["find-hanging", "--broker-id", "1"]);
    assert_eq!(o.status.code(), Some(0), "no partitions, nothing to ask: {}", err(&o));
}
