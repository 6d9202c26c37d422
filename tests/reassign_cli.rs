//! `rk reassign-partitions` against a fake cluster: Kafka's exact texts for --list,
//! --execute (rollback JSON, throttles, errors), --verify (blank line, clearing throttles),
//! --cancel (no trailing newline), --generate, log-directory moves and usage errors.

mod cluster_support;

use cluster_support::{FakeCluster, rk};

const FOO0_BAR0: &str = "{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[0,1,3]},\
                         {\"topic\":\"bar\",\"partition\":0,\"replicas\":[3,2,1],\"log_dirs\":[\"any\",\"any\",\"any\"]}]}";

const ROLLBACK_FOO0_BAR0: &str = "Current partition replica assignment\n\n\
{\"version\":1,\"partitions\":[{\"topic\":\"bar\",\"partition\":0,\"replicas\":[2,3,0],\"log_dirs\":[\"any\",\"any\",\"any\"]},\
{\"topic\":\"foo\",\"partition\":0,\"replicas\":[0,1,2],\"log_dirs\":[\"any\",\"any\",\"any\"]}]}\n\n\
Save this to use as the --reassignment-json-file option during rollback\n";

const CLEARING: &str = "Clearing broker-level throttles on brokers 0,1,2,3\nClearing topic-level throttles on topics bar,foo\n";

struct Env {
    c: FakeCluster,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let c = FakeCluster::start(&[(0, None), (1, None), (2, None), (3, None)]);
        c.topic("foo", &[&[0, 1, 2], &[1, 2, 3]]);
        c.topic("bar", &[&[2, 3, 0]]);
        Env { c, dir: tempfile::tempdir().unwrap() }
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn run(&self, args: &[&str]) -> (String, String, i32) {
        let addr = self.c.addr();
        let mut all = vec!["reassign-partitions", "--bootstrap-server", &addr];
        all.extend_from_slice(args);
        self.c.rk(&all)
    }

    fn with_file(&self, action: &str, json: &str, extra: &[&str]) -> (String, String, i32) {
        let f = self.file("r.json", json);
        let mut args = vec![action, "--reassignment-json-file", &f];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

#[test]
fn execute_list_verify_and_clear_throttles() {
    let e = Env::new();
    assert_eq!(e.run(&["--list"]), ("No partition reassignments found.\n".into(), String::new(), 0));

    let (out, err, code) = e.with_file("--execute", FOO0_BAR0, &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, format!("{ROLLBACK_FOO0_BAR0}Successfully started partition reassignments for bar-0,foo-0\n"));
    assert_eq!(e.c.log(), ["alter bar-0 Some([3, 2, 1])", "alter foo-0 Some([0, 1, 3])"]);

    assert_eq!(
        e.run(&["--list"]).0,
        "Current partition reassignments:\nbar-0: replicas: 3,2,1,0. adding: 1. removing: 0.\nfoo-0: replicas: 0,1,3,2. adding: 3. removing: 2.\n"
    );
    // The controller accepts the same list through --bootstrap-controller.
    let addr = e.c.addr();
    let (out, _, code) = e.c.rk(&["reassign-partitions", "--bootstrap-controller", &addr, "--list"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Current partition reassignments:\n"));

    // A second --execute needs --additional.
    let (out, err, code) = e.with_file("--execute", FOO0_BAR0, &[]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new \
         partition assignment in addition to the existing one. The --additional flag can also be used to change the throttle by \
         resubmitting the current reassignment.\n"
    );

    // In progress: the move states print as an empty line and throttles stay.
    let (out, _, code) = e.with_file("--verify", FOO0_BAR0, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "Status of partition reassignment:\nReassignment of partition bar-0 is still in progress.\n\
         Reassignment of partition foo-0 is still in progress.\n\n"
    );
    assert!(!e.c.log().iter().any(|l| l.starts_with("config")));

    e.c.complete_all();
    let (out, _, code) = e.with_file("--verify", FOO0_BAR0, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "Status of partition reassignment:\nReassignment of partition bar-0 is completed.\nReassignment of partition foo-0 is completed.\n\n{CLEARING}"
        )
    );
    let log = e.c.log();
    for b in 0..4 {
        for key in
            ["leader.replication.throttled.rate", "follower.replication.throttled.rate", "replica.alter.log.dirs.io.max.bytes.per.second"]
        {
            assert!(log.contains(&format!("config@{b} broker {b} DELETE {key}")), "{b} {key}: {log:?}");
        }
    }
    for t in ["foo", "bar"] {
        assert!(log.iter().any(|l| l.ends_with(&format!("topic {t} DELETE leader.replication.throttled.replicas"))), "{log:?}");
        assert!(log.iter().any(|l| l.ends_with(&format!("topic {t} DELETE follower.replication.throttled.replicas"))), "{log:?}");
    }

    // The replica set differs from the file's target and nothing is ongoing.
    let (out, _, _) = e.with_file(
        "--verify",
        "{\"partitions\":[{\"topic\":\"foo\",\"partition\":1,\"replicas\":[3,4]},{\"topic\":\"gone\",\"partition\":0,\"replicas\":[1]}]}",
        &["--preserve-throttles"],
    );
    assert_eq!(
        out,
        "Status of partition reassignment:\nThere is no active reassignment of partition foo-1, but replica set is 1,2,3 rather than 3,4.\n\
         There is no active reassignment of partition gone-0, but replica set is  rather than 1.\n\n"
    );
}

#[test]
fn cancel_prints_kafkas_texts() {
    let e = Env::new();
    let one = "{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[0,1,3]}]}";
    assert_eq!(e.with_file("--execute", one, &[]).2, 0);
    let (out, err, code) = e.with_file("--cancel", FOO0_BAR0, &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        format!("Successfully cancelled partition reassignment for: foo-0\nNone of the specified partition moves are active.{CLEARING}")
    );
    assert!(e.c.log().contains(&"alter foo-0 None".to_string()));
    assert_eq!(e.run(&["--list"]).0, "No partition reassignments found.\n");
    assert_eq!(e.c.state.lock().unwrap().topics["foo"][0], vec![0, 1, 2], "reverted");

    // Nothing active, throttles kept: the output ends without a newline.
    let (out, _, code) = e.with_file("--cancel", FOO0_BAR0, &["--preserve-throttles"]);
    assert_eq!(code, 0);
    assert_eq!(out, "None of the specified partition reassignments are active.\nNone of the specified partition moves are active.");

    // A failed cancellation lists each partition's error.
    assert_eq!(e.with_file("--execute", FOO0_BAR0, &[]).2, 0);
    e.c.state.lock().unwrap().alter_errors.insert(("foo".into(), 0), (85, None));
    let (out, err, code) = e.with_file("--cancel", FOO0_BAR0, &[]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "Error cancelling partition reassignment for:\nfoo-0: No partition reassignment is in progress.\n");
}

#[test]
fn execute_with_throttles_sets_kafkas_configs() {
    let e = Env::new();
    let json = "{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[3,1,2]}]}";
    let (out, err, code) = e.with_file("--execute", json, &["--throttle", "1000"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "Current partition replica assignment\n\n\
         {\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[0,1,2],\"log_dirs\":[\"any\",\"any\",\"any\"]}]}\n\n\
         Save this to use as the --reassignment-json-file option during rollback\n\
         Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n\
         The inter-broker throttle limit was set to 1000 B/s\n\
         Successfully started partition reassignment for foo-0\n"
    );
    let log = e.c.log();
    assert!(log.iter().any(|l| l.ends_with("topic foo SET leader.replication.throttled.replicas=0:0,0:1,0:2")), "{log:?}");
    assert!(log.iter().any(|l| l.ends_with("topic foo SET follower.replication.throttled.replicas=0:3")), "{log:?}");
    for b in 0..4 {
        assert!(log.contains(&format!("config@{b} broker {b} SET leader.replication.throttled.rate=1000")), "{log:?}");
        assert!(log.contains(&format!("config@{b} broker {b} SET follower.replication.throttled.rate=1000")), "{log:?}");
    }
    // Throttles are set before the reassignment starts.
    let first_alter = log.iter().position(|l| l.starts_with("alter")).unwrap();
    assert!(log[..first_alter].iter().filter(|l| l.starts_with("config")).count() == 10);
}

#[test]
fn execute_errors_use_kafkas_messages() {
    let e = Env::new();
    let cases = [
        ("{\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[0,9]}]}", "Error: Unknown broker id 9\n"),
        ("{\"partitions\":[{\"topic\":\"quux\",\"partition\":0,\"replicas\":[0,1]}]}", "Error: Topic quux not found.\n"),
        ("{\"partitions\":[{\"topic\":\"foo\",\"partition\":10,\"replicas\":[0,1]}]}", "Error: Unable to find partition: foo-10\n"),
        ("{\"version\":1,\"partitions\":[]}", "Error: Partition reassignment list cannot be empty\n"),
        (
            "{\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[0,0]}]}",
            "Error: Partition replica lists may not contain duplicate entries: foo-0 contains multiple entries for 0\n",
        ),
    ];
    for (json, msg) in cases {
        let (out, err, code) = e.with_file("--execute", json, &[]);
        assert_eq!((code, out.as_str(), err.as_str()), (1, "", msg), "{json}");
    }
    assert!(e.c.log().is_empty(), "nothing was sent: {:?}", e.c.log());

    e.c.state.lock().unwrap().alter_errors.insert(
        ("foo".into(), 0),
        (39, Some("The manual partition assignment includes broker 3, but no such broker is registered.".into())),
    );
    let (out, err, code) = e.with_file("--execute", FOO0_BAR0, &[]);
    assert_eq!(code, 1);
    assert!(out.ends_with("during rollback\n"), "{out}");
    assert_eq!(
        err,
        "Error reassigning partition(s):\nfoo-0: The manual partition assignment includes broker 3, but no such broker is registered.\n"
    );
}

#[test]
fn generate_prints_current_and_proposed_assignments() {
    let e = Env::new();
    e.c.topic("one", &[&[0], &[1]]);
    let topics = e.file("t.json", "{\"topics\":[{\"topic\":\"one\"}],\"version\":1}");
    let (out, err, code) = e.run(&["--generate", "--topics-to-move-json-file", &topics, "--broker-list", "3"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "Current partition replica assignment\n\
         {\"version\":1,\"partitions\":[{\"topic\":\"one\",\"partition\":0,\"replicas\":[0],\"log_dirs\":[\"any\"]},\
         {\"topic\":\"one\",\"partition\":1,\"replicas\":[1],\"log_dirs\":[\"any\"]}]}\n\n\
         Proposed partition reassignment configuration\n\
         {\"version\":1,\"partitions\":[{\"topic\":\"one\",\"partition\":0,\"replicas\":[3],\"log_dirs\":[\"any\"]},\
         {\"topic\":\"one\",\"partition\":1,\"replicas\":[3],\"log_dirs\":[\"any\"]}]}\n"
    );

    let topics = e.file("t.json", "{\"topics\":[{\"topic\":\"foo\"},{\"topic\":\"bar\"}]}");
    let (out, _, code) = e.run(&["--generate", "--topics-to-move-json-file", &topics, "--broker-list", "0,1,3"]);
    assert_eq!(code, 0);
    let proposed = out.split("Proposed partition reassignment configuration\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(proposed.trim_end()).unwrap();
    let parts = v["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    for p in parts {
        let replicas: Vec<i64> = p["replicas"].as_array().unwrap().iter().map(|r| r.as_i64().unwrap()).collect();
        assert_eq!(replicas.len(), 3);
        assert!(replicas.iter().all(|r| [0, 1, 3].contains(r)), "{replicas:?}");
    }

    let cases: [(&[&str], &str); 3] = [
        (&["--broker-list", "0,1"], "Error: Replication factor: 3 larger than available brokers: 2.\n"),
        (&["--broker-list", "0,1,1"], "Error: Broker list contains duplicate entries: [1]\n"),
        (&["--broker-list", "0,x"], "Error: For input string: \"x\"\n"),
    ];
    for (extra, msg) in cases {
        let mut args = vec!["--generate", "--topics-to-move-json-file", &topics];
        args.extend_from_slice(extra);
        let (out, err, code) = e.run(&args);
        assert_eq!((code, out.as_str(), err.as_str()), (1, "", msg), "{extra:?}");
    }
    let missing = e.file("m.json", "{\"topics\":[{\"topic\":\"foo\"},{\"topic\":\"quux\"}]}");
    let (_, err, code) = e.run(&["--generate", "--topics-to-move-json-file", &missing, "--broker-list", "0,1,2"]);
    assert_eq!((code, err.as_str()), (1, "Error: Topic quux not found.\n"));
}

#[test]
fn generate_checks_rack_information() {
    let c = FakeCluster::start(&[(0, Some("rack0")), (1, Some("rack0")), (2, None), (3, Some("rack1"))]);
    c.topic("foo", &[&[0, 1, 2], &[1, 2, 3]]);
    let dir = tempfile::tempdir().unwrap();
    let topics = dir.path().join("t.json");
    std::fs::write(&topics, "{\"topics\":[{\"topic\":\"foo\"}]}").unwrap();
    let (t, addr) = (topics.to_string_lossy().into_owned(), c.addr());
    let base =
        ["reassign-partitions", "--bootstrap-server", &addr, "--generate", "--topics-to-move-json-file", &t, "--broker-list", "0,1,2,3"];
    let (_, err, code) = c.rk(&base);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Error: Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.\n"
    );
    let mut args = base.to_vec();
    args.push("--disable-rack-aware");
    assert_eq!(c.rk(&args).2, 0);
}

#[test]
fn log_directory_moves() {
    let e = Env::new();
    let json = "{\"partitions\":[{\"topic\":\"foo\",\"partition\":1,\"replicas\":[1,2,3],\"log_dirs\":[\"/d1\",\"any\",\"any\"]}]}";
    let (out, err, code) = e.with_file("--execute", json, &["--replica-alter-log-dirs-throttle", "500"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        out.ends_with(
            "during rollback\n\
             Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n\
             The replica-alter-dir throttle limit was set to 500 B/s\n\
             Successfully started partition reassignment for foo-1\n\
             Successfully started moving log directory to /d1 for replica foo-1 with broker 1 \n"
        ),
        "{out}"
    );
    let log = e.c.log();
    assert!(log.contains(&"config@1 broker 1 SET replica.alter.log.dirs.io.max.bytes.per.second=500".to_string()), "{log:?}");
    assert!(log.contains(&"move foo-1-1 to /d1 -> 0".to_string()), "{log:?}");

    // The replica is not on the broker yet: asked again until --timeout.
    e.c.state.lock().unwrap().alter_dir_codes.insert(("foo".into(), 1, 1), 9);
    let (_, err, code) = e.with_file("--execute", json, &["--timeout", "300"]);
    assert_eq!((code, err.as_str()), (1, "Timed out before log directory move could be started for: foo-1-1\n"));
    assert!(e.c.log().iter().filter(|l| l.starts_with("move foo-1-1") && l.ends_with("-> 9")).count() >= 2);

    // --verify reports the move; an ongoing move keeps the throttles.
    e.c.state
        .lock()
        .unwrap()
        .log_dirs
        .insert(1, vec![("/d0".into(), vec![("foo".into(), 1, false)]), ("/d1".into(), vec![("foo".into(), 1, true)])]);
    let (out, _, _) = e.with_file("--verify", json, &[]);
    assert_eq!(
        out,
        "Status of partition reassignment:\nReassignment of partition foo-1 is completed.\nReassignment of replica foo-1-1 is still in progress.\n"
    );
    e.c.state.lock().unwrap().log_dirs.insert(1, vec![("/d1".into(), vec![("foo".into(), 1, false)])]);
    let (out, _, _) = e.with_file("--verify", json, &[]);
    assert!(out.ends_with("Reassignment of replica foo-1-1 completed successfully.\nClearing broker-level throttles on brokers 0,1,2,3\nClearing topic-level throttles on topic foo\n"), "{out}");
}

#[test]
fn usage_errors_exit_2_with_kafkas_messages() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"),
        (
            &["--execute", "--verify", "--reassignment-json-file", "f"],
            "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list",
        ),
        (&["--execute"], "Missing required argument \"[reassignment-json-file]\""),
        (&["--generate", "--broker-list", "1"], "Missing required argument \"[topics-to-move-json-file]\""),
        (
            &["--generate", "--broker-list", "1", "--topics-to-move-json-file", "f", "--throttle", "100"],
            "Option \"[throttle]\" can't be used with action \"[generate]\"",
        ),
        (
            &["--verify", "--reassignment-json-file", "f", "--broker-list", "1"],
            "Option \"[broker-list]\" can't be used with action \"[verify]\"",
        ),
        (&["--list", "--bootstrap-controller", "localhost:1"], "Please don't specify both --bootstrap-server and --bootstrap-controller"),
    ];
    for (args, msg) in cases {
        let mut all = vec!["reassign-partitions", "--bootstrap-server", "localhost:1"];
        all.extend_from_slice(args);
        let out = rk(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), format!("{msg}\n"), "{args:?}");
    }
    let out = rk(&["reassign-partitions", "--bootstrap-controller", "localhost:1", "--execute", "--reassignment-json-file", "f"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Option \"[bootstrap-controller]\" can't be used with action \"[execute]\"\n");
}

#[test]
fn a_moved_controller_is_found_again() {
    let e = Env::new();
    e.c.state.lock().unwrap().not_controller = 2;
    assert_eq!(e.run(&["--list"]), ("No partition reassignments found.\n".into(), String::new(), 0));
    assert_eq!(e.c.state.lock().unwrap().not_controller, 0);
    e.c.state.lock().unwrap().not_controller = 100;
    let (out, err, code) = e.run(&["--list"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "Error: This is not the correct controller for this cluster.\n");
}

#[test]
fn kafka_reassign_partitions_alias() {
    let e = Env::new();
    let link = e.dir.path().join("kafka-reassign-partitions.sh");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rk"), &link).unwrap();
    let out = std::process::Command::new(&link).args(["--bootstrap-server", &e.c.addr(), "--list"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "No partition reassignments found.\n");
}
