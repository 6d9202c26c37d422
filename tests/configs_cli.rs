//! `rk configs` (kafka-configs.sh) against the real broker: SCRAM credentials, client
//! quotas of users, clients and IPs, topic and broker configs, with ConfigCommand's text;
//! and the SCRAM credential APIs' validation on the wire.

mod common;

use common::*;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use std::process::{Command, Output, Stdio};

fn rk(b: &TestBroker, args: &[&str]) -> Output {
    let mut cmd = Command::new(rk_bin());
    cmd.arg("configs").args(args).arg("--bootstrap-server").arg(b.addr());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs and expects exit 0; returns stdout.
fn ok(b: &TestBroker, args: &[&str]) -> String {
    let o = rk(b, args);
    assert_eq!(o.status.code(), Some(0), "rk configs {args:?}: {}{}", out(&o), err(&o));
    out(&o)
}

#[test]
fn scram_credentials_round_trip() {
    let b = TestBroker::start();
    let user = ["--alter", "--entity-type", "users", "--entity-name", "alice"];
    let add = [&user[..], &["--add-config", "SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=alice-secret]"]]
        .concat();
    assert_eq!(ok(&b, &add), "Completed updating config for user alice.\n");
    let describe = ["--describe", "--entity-type", "users", "--entity-name", "alice"];
    assert_eq!(
        ok(&b, &describe),
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096\n"
    );
    // All users (no name): the same line.
    assert_eq!(
        ok(&b, &["--describe", "--entity-type", "users"]),
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096\n"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&b, &[&describe[..], &["--output", "json"]].concat())).unwrap();
    assert_eq!(json["scram_credentials"][0]["credentials"][0]["iterations"], 8192);

    assert_eq!(ok(&b, &[&user[..], &["--delete-config", "SCRAM-SHA-512"]].concat()), "Completed updating config for user alice.\n");
    assert_eq!(ok(&b, &describe), "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192\n");

    // Deleting what does not exist: the broker's RESOURCE_NOT_FOUND, exit 1.
    let o = rk(&b, &[&user[..], &["--delete-config", "SCRAM-SHA-512"]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("Attempt to delete a user credential that does not exist"), "{}", err(&o));
    // Too few iterations is refused before anything is sent (usage error).
    let o = rk(&b, &[&user[..], &["--add-config", "SCRAM-SHA-256=[iterations=100,password=x]"]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err(&o), "Iterations 100 is less than the minimum 4096 required for SCRAM-SHA-256\n");
    // Not with the default user, nor together with quotas.
    let o = rk(&b, &["--alter", "--entity-type", "users", "--entity-default", "--add-config", "SCRAM-SHA-256=[password=x]"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--entity-default or --user-defaults is not allowed"), "{}", err(&o));
    // Users without a credential print nothing.
    assert_eq!(ok(&b, &["--describe", "--entity-type", "users", "--entity-name", "nobody"]), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_apis_validate_like_kafka() {
    use alter_user_scram_credentials_request::{ScramCredentialDeletion, ScramCredentialUpsertion};
    let b = TestBroker::start();
    let c = b.connect().await;
    let up = |name: &str, mechanism: i8, iterations: i32| {
        ScramCredentialUpsertion::default()
            .with_name(sb(name))
            .with_mechanism(mechanism)
            .with_iterations(iterations)
            .with_salt(vec![1u8; 16].into())
            .with_salted_password(vec![2u8; 32].into())
    };
    let req = AlterUserScramCredentialsRequest::default()
        .with_upsertions(vec![
            up("ok", 1, 4096),
            up("", 1, 4096),
            up("few", 1, 4095),
            up("many", 2, 16385),
            up("mech", 9, 4096),
            up("dup", 1, 4096),
        ])
        .with_deletions(vec![ScramCredentialDeletion::default().with_name(sb("dup")).with_mechanism(1)]);
    let resp = c.send(&req).await.unwrap();
    let code_of = |u: &str| resp.results.iter().find(|r| r.user.as_str() == u).map(|r| r.error_code);
    assert_eq!(code_of("ok"), Some(0));
    assert_eq!(code_of(""), Some(E::UnacceptableCredential.code()));
    assert_eq!(code_of("few"), Some(E::UnacceptableCredential.code()));
    assert_eq!(code_of("many"), Some(E::UnacceptableCredential.code()));
    assert_eq!(code_of("mech"), Some(E::UnsupportedSaslMechanism.code()));
    // Deleting a credential that does not exist fails first, the duplicate after it.
    assert!(matches!(code_of("dup"), Some(c) if c == E::ResourceNotFound.code() || c == E::DuplicateResource.code()));

    // Upsert then delete the same user and mechanism in one request: DUPLICATE_RESOURCE.
    let req = AlterUserScramCredentialsRequest::default()
        .with_upsertions(vec![up("ok", 1, 8192)])
        .with_deletions(vec![ScramCredentialDeletion::default().with_name(sb("ok")).with_mechanism(1)]);
    let resp = c.send(&req).await.unwrap();
    assert_eq!(resp.results[0].error_code, E::DuplicateResource.code());

    let users = |names: &[&str]| {
        DescribeUserScramCredentialsRequest::default()
            .with_users(Some(names.iter().map(|n| describe_user_scram_credentials_request::UserName::default().with_name(sb(n))).collect()))
    };
    let resp = c.send(&users(&["ok", "ghost", "ok"])).await.unwrap();
    assert_eq!(resp.results.len(), 2);
    let ok = resp.results.iter().find(|r| r.user.as_str() == "ok").unwrap();
    assert_eq!(ok.error_code, E::DuplicateResource.code());
    let ghost = resp.results.iter().find(|r| r.user.as_str() == "ghost").unwrap();
    assert_eq!(ghost.error_code, E::ResourceNotFound.code());
    assert_eq!(ghost.error_message.as_deref(), Some("Attempt to describe a user credential that does not exist: ghost"));
    let resp = c.send(&users(&["ok"])).await.unwrap();
    assert_eq!(resp.results[0].credential_infos.len(), 1);
    assert_eq!((resp.results[0].credential_infos[0].mechanism, resp.results[0].credential_infos[0].iterations), (1, 4096));
}

#[test]
fn client_quotas_for_users_clients_and_ips() {
    let b = TestBroker::start();
    let alice = ["--entity-type", "users", "--entity-name", "alice"];
    assert_eq!(
        ok(&b, &[&["--alter"], &alice[..], &["--add-config", "producer_byte_rate=1024,consumer_byte_rate=2048"]].concat()),
        "Completed updating config for user alice.\n"
    );
    assert_eq!(
        ok(&b, &[&["--describe"], &alice[..]].concat()),
        "Quota configs for user-principal 'alice' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0\n"
    );
    // Defaults, by --entity-default and by the shorthand flags.
    assert_eq!(
        ok(&b, &["--alter", "--entity-type", "clients", "--entity-default", "--add-config", "consumer_byte_rate=4096"]),
        "Completed updating default config for clients in the cluster.\n"
    );
    assert_eq!(ok(&b, &["--describe", "--client-defaults"]), "Quota configs for the default client-id are consumer_byte_rate=4096.0\n");
    assert_eq!(
        ok(&b, &["--alter", "--user-defaults", "--add-config", "request_percentage=12.5"]),
        "Completed updating default config for users in the cluster.\n"
    );
    // A user's client: both entity types, in command-line order.
    let both = ["--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients", "--entity-default"];
    assert_eq!(
        ok(&b, &[&["--alter"], &both[..], &["--add-config", "controller_mutation_rate=10"]].concat()),
        "Completed updating config for user alice.\n"
    );
    assert_eq!(
        ok(&b, &[&["--describe"], &both[..]].concat()),
        "Quota configs for user-principal 'alice', the default client-id are controller_mutation_rate=10.0\n"
    );
    // Every user entity (strict: user only), the default among them.
    let all = ok(&b, &["--describe", "--entity-type", "users"]);
    assert!(all.contains("Quota configs for user-principal 'alice' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0\n"), "{all}");
    assert!(all.contains("Quota configs for the default user-principal are request_percentage=12.5\n"), "{all}");
    assert!(!all.contains("client-id"), "{all}");
    let table = ok(&b, &[&["--describe"], &alice[..], &["--output", "table"]].concat());
    assert!(table.contains("producer_byte_rate") && table.contains("1024.0"), "{table}");

    assert_eq!(
        ok(&b, &[&["--alter"], &alice[..], &["--delete-config", "producer_byte_rate"]].concat()),
        "Completed updating config for user alice.\n"
    );
    assert_eq!(ok(&b, &[&["--describe"], &alice[..]].concat()), "Quota configs for user-principal 'alice' are consumer_byte_rate=2048.0\n");
    let o = rk(&b, &[&["--alter"], &alice[..], &["--delete-config", "producer_byte_rate"]].concat());
    assert_eq!((o.status.code(), err(&o)), (Some(1), "Invalid config(s): producer_byte_rate\n".to_string()));
    let o = rk(&b, &[&["--alter"], &alice[..], &["--add-config", "bogus=1"]].concat());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        err(&o),
        "Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: Set(bogus)\n"
    );
    let o = rk(&b, &[&["--alter"], &alice[..], &["--add-config", "producer_byte_rate=1.5"]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("producer_byte_rate cannot be a fractional value."), "{}", err(&o));

    // IPs: connection quotas only.
    assert_eq!(
        ok(&b, &["--alter", "--ip-defaults", "--add-config", "connection_creation_rate=10"]),
        "Completed updating default config for ips in the cluster.\n"
    );
    assert_eq!(
        ok(&b, &["--alter", "--ip", "10.1.2.3", "--add-config", "connection_creation_rate=5"]),
        "Completed updating config for ip 10.1.2.3.\n"
    );
    assert_eq!(
        ok(&b, &["--describe", "--entity-type", "ips", "--entity-default"]),
        "Quota configs for the default ip are connection_creation_rate=10.0\n"
    );
    assert_eq!(ok(&b, &["--describe", "--ip", "10.1.2.3"]), "Quota configs for ip '10.1.2.3' are connection_creation_rate=5.0\n");
    let o = rk(&b, &["--alter", "--ip-defaults", "--add-config", "producer_byte_rate=10"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn topic_and_broker_configs() {
    let b = TestBroker::start();
    let o = Command::new(rk_bin())
        .args(["topics", "--create", "--topic", "t", "--partitions", "1", "--bootstrap-server", &b.addr()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let t = ["--entity-type", "topics", "--entity-name", "t"];
    assert_eq!(
        ok(&b, &[&["--alter"], &t[..], &["--add-config", "retention.ms=1000,cleanup.policy=[compact,delete]"]].concat()),
        "Completed updating config for topic t.\n"
    );
    let described = ok(&b, &[&["--describe"], &t[..]].concat());
    let lines: Vec<&str> = described.lines().collect();
    assert_eq!(lines[0], "Dynamic configs for topic t are:");
    assert_eq!(lines.len(), 3, "{described}");
    assert!(lines[1].starts_with("  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}"), "{described}");
    assert!(lines[2].starts_with("  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000"), "{described}");
    let all = ok(&b, &[&["--describe", "--all"], &t[..]].concat());
    assert!(all.starts_with("All configs for topic t are:\n") && all.contains("  segment.bytes="), "{all}");
    let json: serde_json::Value = serde_json::from_str(&ok(&b, &[&["--describe", "--output", "json"], &t[..]].concat())).unwrap();
    assert_eq!(json[0]["configs"][1]["value"], "1000");

    assert_eq!(
        ok(&b, &["--alter", "--topic", "t", "--delete-config", "retention.ms,cleanup.policy"]),
        "Completed updating config for topic t.\n"
    );
    assert_eq!(ok(&b, &["--describe", "--topic", "t"]), "Dynamic configs for topic t are:\n");
    let o = rk(&b, &["--alter", "--topic", "t", "--delete-config", "retention.ms"]);
    assert_eq!((o.status.code(), err(&o)), (Some(1), "Invalid config(s): retention.ms\n".to_string()));
    let o = rk(&b, &["--alter", "--topic", "t", "--add-config", "retention.ms=abc"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));

    // Brokers: the cluster default, then broker 1 itself.
    assert_eq!(
        ok(&b, &["--alter", "--entity-type", "brokers", "--entity-default", "--add-config", "leader.replication.throttled.rate=1000"]),
        "Completed updating default config for brokers in the cluster.\n"
    );
    assert_eq!(
        ok(&b, &["--describe", "--broker-defaults"]),
        "Default configs for brokers in the cluster are:\n  leader.replication.throttled.rate=1000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:leader.replication.throttled.rate=1000}\n"
    );
    assert_eq!(
        ok(&b, &["--alter", "--broker", "1", "--add-config", "follower.replication.throttled.rate=500"]),
        "Completed updating config for broker 1.\n"
    );
    assert_eq!(
        ok(&b, &["--describe", "--broker", "1"]),
        "Dynamic configs for broker 1 are:\n  follower.replication.throttled.rate=500 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:follower.replication.throttled.rate=500}\n"
    );
    let every = ok(&b, &["--describe", "--entity-type", "brokers"]);
    assert!(
        every.starts_with("Dynamic configs for broker 1 are:\n") && every.contains("Default configs for brokers in the cluster are:\n"),
        "{every}"
    );
    let o = rk(&b, &["--alter", "--broker", "1", "--add-config", "log.retention.ms=5"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("Cannot update these configs dynamically"), "{}", err(&o));
}

#[test]
fn usage_errors_exit_2() {
    let b = TestBroker::start();
    let cases: &[(&[&str], &str)] = &[
        (&["--entity-type", "topics"], "Command must include exactly one action: --describe, --alter\n"),
        (
            &["--alter", "--entity-type", "topics", "--entity-name", "t"],
            "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter\n",
        ),
        (
            &["--describe", "--entity-type", "widgets"],
            "Invalid entity type widgets, the entity type must be one of topics, clients, users, brokers, ips, client-metrics, groups with a --bootstrap-server argument\n",
        ),
        (
            &["--describe", "--entity-type", "topics", "--entity-type", "users"],
            "Only 'users' and 'clients' entity types may be specified together\n",
        ),
        (
            &["--describe", "--entity-type", "brokers", "--entity-name", "x"],
            "The entity name for brokers must be a valid integer broker id, but it is: x\n",
        ),
        (
            &["--describe", "--topic", "t", "--entity-name", "t"],
            "--entity-{type,name,default} should not be used in conjunction with specific entity flags\n",
        ),
        (
            &["--alter", "--topic", "t", "--add-config", "a=1=2"],
            "Invalid entity config: all configs to be added must be in the format \"key=val\".\n",
        ),
    ];
    for (args, msg) in cases {
        let o = rk(&b, args);
        assert_eq!((o.status.code(), err(&o)), (Some(2), msg.to_string()), "{args:?}");
    }
}
