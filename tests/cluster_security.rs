//! A three-node cluster whose brokers replicate over a SASL_SSL inter-broker listener with
//! ACLs enforced: followers must authenticate as the broker user (a super user) for their
//! fetches to be allowed, so acks=all writes with min.insync.replicas=3 succeed only when
//! inter-broker security works. Clients use the same secured listener; an anonymous
//! PLAINTEXT client sees no topics.

mod common;

use common::{TestBroker, free_port};
use std::time::Duration;

const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" user_broker="broker-secret" user_alice="alice-secret";"#;

fn pki(dir: &std::path::Path) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "cluster-ca");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "broker");
    let cert = p.signed_by(&key, &ca).unwrap();
    let (ks, ts) = (dir.join("broker.pem"), dir.join("ca.pem"));
    std::fs::write(&ks, format!("{}{}", key.serialize_pem(), cert.pem())).unwrap();
    std::fs::write(&ts, ca.pem()).unwrap();
    (ks.display().to_string(), ts.display().to_string())
}

fn rk(args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::rk_bin()).args(args).output().unwrap()
}

#[test]
fn brokers_replicate_over_sasl_ssl_with_acls_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let (keystore, truststore) = pki(dir.path());
    let ports: Vec<(u16, u16, u16)> = (0..3).map(|_| (free_port(), free_port(), free_port())).collect();
    let voters: Vec<String> = ports.iter().enumerate().map(|(i, (_, _, c))| format!("{}@127.0.0.1:{c}", i + 1)).collect();
    let mut nodes = Vec::new();
    for (i, (plain, internal, ctl)) in ports.iter().enumerate() {
        let o: Vec<String> = vec![
            format!("node.id={}", i + 1),
            format!("listeners=PLAINTEXT://127.0.0.1:{plain},INTERNAL://127.0.0.1:{internal},CONTROLLER://127.0.0.1:{ctl}"),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT".into(),
            "inter.broker.listener.name=INTERNAL".into(),
            "controller.listener.names=CONTROLLER".into(),
            format!("controller.quorum.voters={}", voters.join(",")),
            format!("ssl.keystore.location={keystore}"),
            format!("ssl.truststore.location={truststore}"),
            "sasl.enabled.mechanisms=PLAIN".into(),
            "sasl.mechanism.inter.broker.protocol=PLAIN".into(),
            format!("listener.name.internal.plain.sasl.jaas.config={JAAS}"),
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer".into(),
            "super.users=User:broker".into(),
        ];
        nodes.push(TestBroker::start_on(*plain, &o, &[]));
    }
    let internal = ports.iter().map(|(_, i, _)| format!("127.0.0.1:{i}")).collect::<Vec<_>>().join(",");
    let cfg = dir.path().join("client.properties");
    std::fs::write(
        &cfg,
        format!(
            "security.protocol=SASL_SSL\nssl.truststore.location={truststore}\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"broker\" password=\"broker-secret\";\n"
        ),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    // Wait until all three brokers are registered (as seen on the secured listener).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = rk(&[
            "topics",
            "--bootstrap-server",
            &internal,
            "--command-config",
            &cfg,
            "--create",
            "--if-not-exists",
            "--topic",
            "sec",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
            "--config",
            "min.insync.replicas=3",
        ]);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "topic creation over SASL_SSL failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            nodes[0].log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = rk(&[
        "perf-test",
        "producer",
        "--bootstrap-server",
        &internal,
        "--command-config",
        &cfg,
        "--topic",
        "sec",
        "--num-records",
        "3000",
        "--record-size",
        "100",
        "--throughput",
        "-1",
        "--producer-props",
        "acks=all",
        "--producer.config",
        &cfg,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("3000 records sent"),
        "acks=all with min.insync=3 over SASL_SSL replication: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let describe = rk(&["topics", "--bootstrap-server", &internal, "--command-config", &cfg, "--describe", "--topic", "sec"]);
    let d = String::from_utf8_lossy(&describe.stdout);
    assert_eq!(
        d.lines().filter(|l| l.contains("Isr: ") && l.split("Isr: ").nth(1).is_some_and(|i| i.split(',').count() == 3)).count(),
        3,
        "{d}"
    );
    // An anonymous PLAINTEXT client is not allowed to see the topic.
    let plain = format!("127.0.0.1:{}", ports[0].0);
    let list = rk(&["topics", "--bootstrap-server", &plain, "--list"]);
    assert!(!String::from_utf8_lossy(&list.stdout).contains("sec"), "anonymous clients see no topic");
}

#[test]
fn the_quorum_runs_over_mutual_tls_on_an_ssl_controller_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (keystore, truststore) = pki(dir.path());
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let voters: Vec<String> = ports.iter().enumerate().map(|(i, (_, c))| format!("{}@127.0.0.1:{c}", i + 1)).collect();
    let mut nodes = Vec::new();
    for (i, (client, ctl)) in ports.iter().enumerate() {
        let o: Vec<String> = vec![
            format!("node.id={}", i + 1),
            format!("listeners=PLAINTEXT://127.0.0.1:{client},CONTROLLER://127.0.0.1:{ctl}"),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SSL".into(),
            "controller.listener.names=CONTROLLER".into(),
            format!("controller.quorum.voters={}", voters.join(",")),
            format!("listener.name.controller.ssl.keystore.location={keystore}"),
            format!("listener.name.controller.ssl.truststore.location={truststore}"),
            "listener.name.controller.ssl.client.auth=required".into(),
        ];
        nodes.push(TestBroker::start_on(*client, &o, &[]));
    }
    let bootstrap = ports.iter().map(|(c, _)| format!("127.0.0.1:{c}")).collect::<Vec<_>>().join(",");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out =
            rk(&["topics", "--bootstrap-server", &bootstrap, "--create", "--if-not-exists", "--topic", "q", "--replication-factor", "3"]);
        if out.status.success() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no quorum over TLS: {}\n{}", String::from_utf8_lossy(&out.stderr), nodes[0].log());
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = rk(&["metadata-quorum", "--bootstrap-server", &bootstrap, "describe", "--status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("CurrentVoters"), "{text}");
    // Something that is not a TLS peer gets no quorum answer on the controller port.
    use std::io::{Read, Write};
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", ports[0].1)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let body = br#"{"Controller":null}"#;
    raw.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    raw.write_all(body).unwrap();
    let mut buf = [0u8; 64];
    let n = raw.read(&mut buf).unwrap_or(0);
    assert!(n == 0 || buf[0] == 0x15, "a plaintext peer gets a TLS alert or a closed connection, not a quorum frame");
}
