//! TLS and SASL on the real broker with rk's client: SSL with and without client
//! certificates, untrusted certificates and plaintext clients refused, SASL PLAIN and
//! OAUTHBEARER (unsecured tokens, expiry), legacy v0 SASL framing, unsupported mechanisms,
//! and session expiry with re-authentication (KIP-368).

mod common;

use common::{TestBroker, free_port};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use rk::client::{ClientConfig, ClientError, Cluster, Connection};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A test PKI: a CA, a server certificate for localhost/127.0.0.1, client certificates
/// (subjects in the usual most-general-first order, which Java prints as
/// "CN=alice,OU=eng,O=acme"), and an unrelated CA nobody trusts.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let ca_params = |cn: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(DnType::CommonName, cn);
            p
        };
        let ca = CertifiedIssuer::self_signed(ca_params("rk-test-ca"), KeyPair::generate().unwrap()).unwrap();
        let other = CertifiedIssuer::self_signed(ca_params("untrusted-ca"), KeyPair::generate().unwrap()).unwrap();
        let leaf = |sans: Vec<String>, dn: &[(DnType, &str)], client: bool, issuer: &rcgen::Issuer<'_, KeyPair>| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(sans).unwrap();
            for (t, v) in dn {
                p.distinguished_name.push(t.clone(), *v);
            }
            p.extended_key_usages = vec![if client { ExtendedKeyUsagePurpose::ClientAuth } else { ExtendedKeyUsagePurpose::ServerAuth }];
            let cert = p.signed_by(&key, issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (srv, srv_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()], &[(DnType::CommonName, "localhost")], false, &ca);
        let (cli, cli_key) = leaf(
            vec![],
            &[(DnType::OrganizationName, "acme"), (DnType::OrganizationalUnitName, "eng"), (DnType::CommonName, "alice")],
            true,
            &ca,
        );
        let (bad, bad_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()], &[(DnType::CommonName, "mallory")], true, &other);
        let (bob, bob_key) = leaf(vec![], &[(DnType::OrganizationName, "acme"), (DnType::CommonName, "bob")], true, &ca);
        // A second server certificate, from the other CA: what a renewal swaps in.
        let (srv2, srv2_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()], &[(DnType::CommonName, "renewed")], false, &other);
        let d = dir.path();
        std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(d.join("other-ca.pem"), other.pem()).unwrap();
        std::fs::write(d.join("server.pem"), format!("{srv_key}{srv}")).unwrap();
        std::fs::write(d.join("client.pem"), &cli).unwrap();
        std::fs::write(d.join("client.key"), &cli_key).unwrap();
        std::fs::write(d.join("mallory.pem"), &bad).unwrap();
        std::fs::write(d.join("mallory.key"), &bad_key).unwrap();
        std::fs::write(d.join("bob.pem"), &bob).unwrap();
        std::fs::write(d.join("bob.key"), &bob_key).unwrap();
        std::fs::write(d.join("server-renewed.pem"), format!("{srv2_key}{srv2}")).unwrap();
        Pki { dir }
    }

    fn path(&self, f: &str) -> String {
        self.dir.path().join(f).display().to_string()
    }
}

const PLAIN_JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";"#;

/// A broker with PLAINTEXT (the harness's port), SSL (client certificates requested),
/// MTLS (required), SASL_PLAINTEXT (PLAIN, SCRAM; sessions of `reauth_ms`) and SASL_SSL
/// (PLAIN, OAUTHBEARER unsecured) listeners. Returns the broker and the ports by name.
fn secure_broker(pki: &Pki, reauth_ms: u64) -> (TestBroker, std::collections::HashMap<&'static str, u16>) {
    let ports: std::collections::HashMap<&str, u16> =
        ["SSL", "MTLS", "SASL_PLAINTEXT", "SASL_SSL"].into_iter().map(|n| (n, free_port())).collect();
    let port = free_port();
    let listeners = format!(
        "listeners=PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:{},MTLS://127.0.0.1:{},SASL_PLAINTEXT://127.0.0.1:{},SASL_SSL://127.0.0.1:{}",
        ports["SSL"], ports["MTLS"], ports["SASL_PLAINTEXT"], ports["SASL_SSL"]
    );
    let overrides = vec![
        listeners,
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL".into(),
        format!("ssl.keystore.location={}", pki.path("server.pem")),
        format!("ssl.truststore.location={}", pki.path("ca.pem")),
        "listener.name.ssl.ssl.client.auth=requested".into(),
        "listener.name.mtls.ssl.client.auth=required".into(),
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512".into(),
        format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}"),
        format!("listener.name.sasl_plaintext.connections.max.reauth.ms={reauth_ms}"),
        "listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,OAUTHBEARER".into(),
        format!("listener.name.sasl_ssl.plain.sasl.jaas.config={PLAIN_JAAS}"),
        "listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope=\"kafka\";".into(),
    ];
    (TestBroker::start_on(port, &overrides, &[]), ports)
}

async fn cluster(port: u16, props: &[(&str, &str)]) -> Result<std::sync::Arc<Cluster>, ClientError> {
    let props = props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let cfg = ClientConfig::new(Some(&format!("127.0.0.1:{port}")), props, "rk-security-test").map_err(ClientError::Config)?;
    Cluster::connect(cfg).await
}

/// Creates a topic through `c` and reads the topic list back (one admin round trip, one
/// metadata round trip over the secured connection).
async fn create_and_list(c: &Cluster, topic: &str) -> Vec<String> {
    let t = create_topics_request::CreatableTopic::default().with_num_partitions(1).with_replication_factor(1);
    let req = CreateTopicsRequest::default()
        .with_topics(vec![t.with_name(TopicName(StrBytes::from_string(topic.into())))])
        .with_timeout_ms(10_000);
    let resp = c.send(None, &req).await.expect("CreateTopics");
    assert_eq!(resp.topics[0].error_code, 0, "{:?}", resp.topics[0].error_message);
    let md = c.send(None, &MetadataRequest::default().with_topics(None)).await.expect("Metadata");
    md.topics.iter().filter_map(|t| t.name.as_ref().map(|n| n.to_string())).collect()
}

fn ssl_props<'a>(pki: &'a Pki, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, String)> {
    let mut v = vec![("security.protocol", "SSL".to_string()), ("ssl.truststore.location", pki.path("ca.pem"))];
    v.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    v
}

fn refs<'a>(v: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_serves_trusted_clients_and_refuses_untrusted_and_plaintext_ones() {
    let pki = Pki::new();
    let (_b, ports) = secure_broker(&pki, 0);
    let ok = ssl_props(&pki, &[]);
    let c = cluster(ports["SSL"], &refs(&ok)).await.expect("SSL with the CA trusted");
    assert!(create_and_list(&c, "over-tls").await.contains(&"over-tls".to_string()));
    let meta = c.send(None, &MetadataRequest::default().with_topics(Some(vec![]))).await.unwrap();
    assert_eq!(meta.brokers[0].port, ports["SSL"] as i32, "Metadata names the endpoint of the listener asked");

    // A client that does not trust the server's CA refuses the handshake.
    let untrusted = vec![("security.protocol", "SSL".to_string()), ("ssl.truststore.location", pki.path("other-ca.pem"))];
    let e = cluster(ports["SSL"], &refs(&untrusted)).await.err().expect("untrusted server certificate");
    assert!(e.to_string().contains("SSL handshake") && e.to_string().to_lowercase().contains("certificate"), "{e}");
    // A plaintext client on the TLS port gets nothing served.
    let e = cluster(ports["SSL"], &[]).await.err().expect("plaintext on a TLS port");
    assert!(!matches!(e, ClientError::Kafka { .. }), "no Kafka answer to a plaintext client: {e}");

    // Fetch responses larger than the sendfile threshold go through the TLS writer: a
    // consumer reads a whole eight-partition topic back. (A release build once stalled
    // here when a response's last bytes stayed in the TLS stream's buffer unflushed.)
    let cfg = pki.dir.path().join("ssl.properties");
    std::fs::write(&cfg, format!("security.protocol=SSL\nssl.truststore.location={}\n", pki.path("ca.pem"))).unwrap();
    let (cfg, bs) = (cfg.display().to_string(), format!("127.0.0.1:{}", ports["SSL"]));
    let rk = |args: &[&str]| std::process::Command::new(common::rk_bin()).args(args).output().unwrap();
    let t = rk(&["topics", "--bootstrap-server", &bs, "--command-config", &cfg, "--create", "--topic", "bulk", "--partitions", "8"]);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let p = rk(&[
        "perf-test",
        "producer",
        "--bootstrap-server",
        &bs,
        "--producer.config",
        &cfg,
        "--topic",
        "bulk",
        "--num-records",
        "40000",
        "--record-size",
        "1000",
        "--throughput",
        "-1",
    ]);
    assert!(String::from_utf8_lossy(&p.stdout).contains("40000 records sent"), "{}", String::from_utf8_lossy(&p.stderr));
    let c = rk(&[
        "perf-test",
        "consumer",
        "--bootstrap-server",
        &bs,
        "--consumer.config",
        &cfg,
        "--topic",
        "bulk",
        "--messages",
        "40000",
        "--timeout",
        "15000",
        "--hide-header",
    ]);
    let line = String::from_utf8_lossy(&c.stdout);
    assert_eq!(
        line.split(',').nth(4).map(str::trim),
        Some("40000"),
        "all records read back over TLS: {line} {}",
        String::from_utf8_lossy(&c.stderr)
    );

    // The same settings through a bare connection (what the replica fetcher uses).
    let security = rk::client::security::Security::from_props(&props(&ok)).unwrap();
    assert!(Connection::connect_with(&format!("127.0.0.1:{}", ports["SSL"]), "x", &security).await.is_ok());
}

fn props(v: &[(&str, String)]) -> std::collections::BTreeMap<String, String> {
    v.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_certificate_signed_by_the_trusted_ca() {
    let pki = Pki::new();
    let (_b, ports) = secure_broker(&pki, 0);
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let with_cert = ssl_props(&pki, &[("ssl.certificate.location", &cert), ("ssl.key.location", &key)]);
    let c = cluster(ports["MTLS"], &refs(&with_cert)).await.expect("a trusted client certificate");
    assert!(create_and_list(&c, "mtls").await.contains(&"mtls".to_string()));
    let none = ssl_props(&pki, &[]);
    assert!(cluster(ports["MTLS"], &refs(&none)).await.is_err(), "ssl.client.auth=required refuses clients without a certificate");
    let (bad_cert, bad_key) = (pki.path("mallory.pem"), pki.path("mallory.key"));
    let forged = ssl_props(&pki, &[("ssl.certificate.location", &bad_cert), ("ssl.key.location", &bad_key)]);
    assert!(cluster(ports["MTLS"], &refs(&forged)).await.is_err(), "a certificate from another CA is refused");
    // requested: both are served.
    assert!(cluster(ports["SSL"], &refs(&with_cert)).await.is_ok());
    assert!(cluster(ports["SSL"], &refs(&none)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plain_accepts_jaas_users_and_refuses_wrong_passwords_and_mechanisms() {
    let pki = Pki::new();
    let (_b, ports) = secure_broker(&pki, 0);
    let p = ports["SASL_PLAINTEXT"];
    let good = [
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "PLAIN"),
        ("sasl.username", "alice"),
        ("sasl.password", "alice-secret"),
    ];
    let c = cluster(p, &good).await.expect("alice authenticates");
    assert!(create_and_list(&c, "sasl-plain").await.contains(&"sasl-plain".to_string()));
    let bad = [("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "PLAIN"), ("sasl.username", "alice"), ("sasl.password", "nope")];
    match cluster(p, &bad).await.err().expect("wrong password") {
        ClientError::Kafka { code, message } => {
            assert_eq!(code, 58, "SASL_AUTHENTICATION_FAILED");
            assert_eq!(message, "Authentication failed: Invalid username or password");
        }
        e => panic!("expected SASL_AUTHENTICATION_FAILED, got {e}"),
    }
    let oauth =
        [("security.protocol", "SASL_PLAINTEXT"), ("sasl.mechanism", "OAUTHBEARER"), ("sasl.oauthbearer.config", "principal=alice")];
    match cluster(p, &oauth).await.err().expect("OAUTHBEARER is not enabled on this listener") {
        ClientError::Kafka { code, message } => {
            assert_eq!(code, 33, "UNSUPPORTED_SASL_MECHANISM");
            assert!(message.contains("PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"), "{message}");
        }
        e => panic!("expected UNSUPPORTED_SASL_MECHANISM, got {e}"),
    }
    // Before authenticating, only ApiVersions and the SASL requests are served.
    let mut raw = tokio::net::TcpStream::connect(format!("127.0.0.1:{p}")).await.unwrap();
    raw.write_all(&request_frame(&MetadataRequest::default().with_topics(None), 3, 1)).await.unwrap();
    let mut buf = [0u8; 4];
    let r = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buf)).await.expect("closed, not hung");
    assert!(matches!(r, Ok(0) | Err(_)), "the connection is closed without an answer: {r:?}");
    // And a SASL_SSL listener with PLAIN works end to end.
    let ssl_sasl = vec![
        ("security.protocol", "SASL_SSL".to_string()),
        ("ssl.truststore.location", pki.path("ca.pem")),
        ("sasl.mechanism", "PLAIN".to_string()),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";"#.to_string(),
        ),
    ];
    assert!(cluster(ports["SASL_SSL"], &refs(&ssl_sasl)).await.is_ok());
}

/// Encodes a request frame (size prefix, header v1/v2 by api, body).
fn request_frame<R: kafka_protocol::protocol::Request + Encodable>(req: &R, version: i16, correlation: i32) -> Vec<u8> {
    use bytes::BufMut;
    let mut b = bytes::BytesMut::new();
    b.put_i32(0);
    RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("raw")))
        .encode(&mut b, R::header_version(version))
        .unwrap();
    req.encode(&mut b, version).unwrap();
    let n = (b.len() - 4) as i32;
    b[..4].copy_from_slice(&n.to_be_bytes());
    b.to_vec()
}

async fn read_raw(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    let n = s.read_i32().await.unwrap() as usize;
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).await.unwrap();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_v0_handshake_takes_raw_tokens() {
    let pki = Pki::new();
    let (_b, ports) = secure_broker(&pki, 0);
    let mut s = tokio::net::TcpStream::connect(format!("127.0.0.1:{}", ports["SASL_PLAINTEXT"])).await.unwrap();
    s.write_all(&request_frame(&SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")), 0, 7)).await.unwrap();
    let resp = read_raw(&mut s).await;
    assert_eq!(&resp[..4], &7i32.to_be_bytes());
    assert_eq!(&resp[4..6], &0i16.to_be_bytes(), "handshake accepted");
    // The token goes without a Kafka header; the answer is a raw (empty) token.
    let token = b"\0alice\0alice-secret";
    s.write_all(&(token.len() as i32).to_be_bytes()).await.unwrap();
    s.write_all(token).await.unwrap();
    assert!(read_raw(&mut s).await.is_empty());
    s.write_all(&request_frame(&MetadataRequest::default().with_topics(Some(vec![])), 1, 8)).await.unwrap();
    let md = read_raw(&mut s).await;
    assert_eq!(&md[..4], &8i32.to_be_bytes(), "authenticated: Metadata is served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_unsecured_tokens_with_scope_and_expiry() {
    let pki = Pki::new();
    let (_b, ports) = secure_broker(&pki, 0);
    let base = vec![
        ("security.protocol", "SASL_SSL".to_string()),
        ("ssl.truststore.location", pki.path("ca.pem")),
        ("sasl.mechanism", "OAUTHBEARER".to_string()),
    ];
    let with = |extra: (&'static str, String)| {
        let mut v = base.clone();
        v.push(extra);
        v
    };
    let good = with(("sasl.oauthbearer.config", "principal=bob scope=kafka".into()));
    assert!(cluster(ports["SASL_SSL"], &refs(&good)).await.is_ok(), "a fresh token with the required scope");
    let no_scope = with(("sasl.oauthbearer.config", "principal=bob".into()));
    let e = cluster(ports["SASL_SSL"], &refs(&no_scope)).await.err().expect("the required scope is missing");
    assert!(e.to_string().contains("scope"), "{e}");
    let expired = rk::client::security::unsecured_token("bob", Some("kafka"), -60);
    let e = cluster(ports["SASL_SSL"], &refs(&with(("sasl.oauthbearer.token", expired)))).await.err().expect("expired token");
    assert_eq!(e.code(), Some(58), "{e}");
    assert!(e.to_string().contains("expired"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_and_clients_reauthenticate() {
    let pki = Pki::new();
    let (_b, ports) = secure_broker(&pki, 1500);
    let p = ports["SASL_PLAINTEXT"];
    let security = rk::client::security::Security::from_props(&props(&[
        ("security.protocol", "SASL_PLAINTEXT".into()),
        ("sasl.mechanism", "PLAIN".into()),
        ("sasl.username", "alice".into()),
        ("sasl.password", "alice-secret".into()),
    ]))
    .unwrap();
    let conn = Connection::connect_with(&format!("127.0.0.1:{p}"), "reauth", &security).await.unwrap();
    assert!(conn.send(&MetadataRequest::default().with_topics(Some(vec![]))).await.is_ok());
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert!(conn.reauth_due());
    assert!(conn.send(&MetadataRequest::default().with_topics(Some(vec![]))).await.is_err(), "the broker closes an expired session");
    // The cluster client replaces connections whose session is ending.
    let c = cluster(
        p,
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "alice"),
            ("sasl.password", "alice-secret"),
        ],
    )
    .await
    .unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        c.send(None, &MetadataRequest::default().with_topics(Some(vec![]))).await.expect("served across session lifetimes");
    }
}

#[test]
fn bad_security_settings_are_refused_at_start_with_the_key_named() {
    let pki = Pki::new();
    let port = free_port();
    let out = std::process::Command::new(common::rk_bin())
        .args(["server", "start", "--data-dir"])
        .arg(pki.dir.path().join("data"))
        .args(["--override", &format!("listeners=SSL://127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ssl.keystore.location"), "{err}");
    let sasl = std::process::Command::new(common::rk_bin())
        .args(["server", "start", "--data-dir"])
        .arg(pki.dir.path().join("data2"))
        .args(["--override", &format!("listeners=SASL_PLAINTEXT://127.0.0.1:{port}"), "--override", "sasl.enabled.mechanisms=GSSAPI"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&sasl.stderr);
    assert!(err.contains("GSSAPI is not supported"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_name_principals_through_the_mapping_rules() {
    let pki = Pki::new();
    let port = free_port();
    let overrides = vec![
        format!("listeners=SSL://127.0.0.1:{port}"),
        format!("ssl.keystore.location={}", pki.path("server.pem")),
        format!("ssl.truststore.location={}", pki.path("ca.pem")),
        "ssl.client.auth=required".into(),
        "ssl.principal.mapping.rules=RULE:^.*CN=([^,]+).*$/$1/L,DEFAULT".into(),
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer".into(),
        "super.users=User:alice".into(),
    ];
    let _b = TestBroker::start_on(port, &overrides, &[]);
    let as_user = |who: &str| {
        ssl_props(&pki, &[])
            .into_iter()
            .chain([("ssl.certificate.location", pki.path(&format!("{who}.pem"))), ("ssl.key.location", pki.path(&format!("{who}.key")))])
            .collect::<Vec<_>>()
    };
    let alice = as_user("client");
    let c = cluster(port, &refs(&alice)).await.expect("alice's certificate");
    assert!(create_and_list(&c, "by-alice").await.contains(&"by-alice".to_string()), "CN=alice,... maps to User:alice, a super user");
    let bob = as_user("bob");
    let c = cluster(port, &refs(&bob)).await.expect("bob's certificate is trusted");
    let t = create_topics_request::CreatableTopic::default()
        .with_num_partitions(1)
        .with_replication_factor(1)
        .with_name(TopicName(StrBytes::from_static_str("by-bob")));
    let resp = c.send(None, &CreateTopicsRequest::default().with_topics(vec![t]).with_timeout_ms(5000)).await.unwrap();
    assert_eq!(resp.topics[0].error_code, 29, "User:bob has no ACL: TOPIC_AUTHORIZATION_FAILED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let pki = Pki::new();
    let port = free_port();
    let keystore = pki.path("live.pem");
    std::fs::copy(pki.path("server.pem"), &keystore).unwrap();
    let _b = TestBroker::start_on(port, &[format!("listeners=SSL://127.0.0.1:{port}"), format!("ssl.keystore.location={keystore}")], &[]);
    let old_ca = ssl_props(&pki, &[]);
    let new_ca = vec![("security.protocol", "SSL".to_string()), ("ssl.truststore.location", pki.path("other-ca.pem"))];
    assert!(cluster(port, &refs(&old_ca)).await.is_ok());
    assert!(cluster(port, &refs(&new_ca)).await.is_err());
    // Renewal: the file is replaced (write then rename, as cert managers do).
    std::fs::copy(pki.path("server-renewed.pem"), pki.path("live.tmp")).unwrap();
    std::fs::rename(pki.path("live.tmp"), &keystore).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while cluster(port, &refs(&new_ca)).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the renewed certificate was not picked up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(cluster(port, &refs(&old_ca)).await.is_err(), "new connections get the new certificate");
}
