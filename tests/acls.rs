//! ACL authorization end to end against the real binary: SECURITY_DISABLED without an
//! authorizer, the ACL APIs, a matrix of API families refused with Kafka's
//! *_AUTHORIZATION_FAILED codes and allowed once an ACL grants them (prefixed and DENY
//! rules, Metadata hiding topics), super users, and the `rk acls` text round trip. Every
//! connection is User:ANONYMOUS; other principals ("User:bob") only make resources have
//! ACLs that ANONYMOUS is not in.

mod common;

use common::*;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use rk::broker::security::acl::{AclBinding, AclFilter, Op, pattern, permission, resource};
use rk::client::admin::Admin;
use rk::client::{ClientConfig, Cluster, Connection};

const AUTHORIZER: &str = "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer";
const ANON: &str = "User:ANONYMOUS";

fn c(e: E) -> i16 {
    e.code()
}

fn acl(rt: i8, name: &str, pt: i8, principal: &str, op: Op, allow: bool) -> AclBinding {
    AclBinding {
        resource_type: rt,
        resource_name: name.into(),
        pattern_type: pt,
        principal: principal.into(),
        host: "*".into(),
        operation: op.code(),
        permission: if allow { permission::ALLOW } else { permission::DENY },
    }
}

async fn admin(b: &TestBroker) -> Admin {
    let cfg = ClientConfig::new(Some(&b.addr()), Vec::new(), "acl-test").unwrap();
    Admin::new(Cluster::connect(cfg).await.unwrap())
}

async fn grant(a: &Admin, acls: &[AclBinding]) {
    for r in a.create_acls(acls).await.unwrap() {
        r.unwrap();
    }
}

async fn metadata(conn: &Connection, topics: Option<&[&str]>) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(topics.map(|ts| ts.iter().map(|t| metadata_request::MetadataRequestTopic::default().with_name(Some(tn(t)))).collect()))
        .with_allow_auto_topic_creation(true)
        .with_include_topic_authorized_operations(true);
    conn.send(&req).await.unwrap()
}

async fn describe_config(conn: &Connection, rt: i8, name: &str) -> i16 {
    let req = DescribeConfigsRequest::default().with_resources(vec![
        describe_configs_request::DescribeConfigsResource::default().with_resource_type(rt).with_resource_name(sb(name)),
    ]);
    conn.send(&req).await.unwrap().results[0].error_code
}

async fn heartbeat(conn: &Connection, group: &str) -> i16 {
    let req = HeartbeatRequest::default().with_group_id(GroupId(sb(group))).with_generation_id(1).with_member_id(sb("m"));
    conn.send(&req).await.unwrap().error_code
}

async fn commit(conn: &Connection, group: &str, topic: &str) -> i16 {
    let req = OffsetCommitRequest::default().with_group_id(GroupId(sb(group))).with_generation_id_or_member_epoch(-1).with_topics(vec![
        offset_commit_request::OffsetCommitRequestTopic::default().with_name(tn(topic)).with_partitions(vec![
            offset_commit_request::OffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(1),
        ]),
    ]);
    conn.send_at(&req, 8).await.unwrap().topics[0].partitions[0].error_code
}

async fn init_pid(conn: &Connection, txn: Option<&str>) -> i16 {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(txn.map(|t| TransactionalId(sb(t))))
        .with_transaction_timeout_ms(10_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    // The transaction coordinator may still be loading its partition.
    for _ in 0..100 {
        let e = conn.send(&req).await.unwrap().error_code;
        if ![c(E::CoordinatorLoadInProgress), c(E::CoordinatorNotAvailable), c(E::NotCoordinator)].contains(&e) {
            return e;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the transaction coordinator never became available")
}

/// The names Metadata lists for "all topics", internal ones left out.
fn listed(m: &MetadataResponse) -> Vec<String> {
    let mut names: Vec<String> =
        m.topics.iter().filter_map(|t| t.name.as_ref().map(|n| n.0.to_string())).filter(|n| !n.starts_with("__")).collect();
    names.sort();
    names
}

async fn find_coordinator(conn: &Connection, key_type: i8, key: &str) -> i16 {
    let req = FindCoordinatorRequest::default().with_key_type(key_type).with_coordinator_keys(vec![sb(key)]);
    conn.send(&req).await.unwrap().coordinators[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_authorizer_the_acl_apis_answer_security_disabled() {
    let b = TestBroker::start();
    let conn = b.connect().await;
    let d = conn
        .send(
            &DescribeAclsRequest::default()
                .with_resource_type_filter(1)
                .with_pattern_type_filter(1)
                .with_operation(1)
                .with_permission_type(1),
        )
        .await
        .unwrap();
    assert_eq!(d.error_code, c(E::SecurityDisabled));
    let a = admin(&b).await;
    let created = a.create_acls(&[acl(resource::TOPIC, "t", pattern::LITERAL, ANON, Op::Read, true)]).await.unwrap();
    assert_eq!(created[0].as_ref().unwrap_err().code(), Some(c(E::SecurityDisabled)));
    let deleted = a.delete_acls(&[AclFilter::any()]).await.unwrap();
    assert_eq!(deleted[0].as_ref().unwrap_err().code(), Some(c(E::SecurityDisabled)));
    // The connection stays open and everything is allowed.
    assert_eq!(create_topic(&mut b.connect().await, "t", 1, &[]).await, 0);
    assert_eq!(metadata(&conn, None).await.topics.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_acls_nothing_is_allowed_but_super_users_may_do_anything() {
    let b = TestBroker::start_with(&[AUTHORIZER]);
    let conn = b.connect().await;
    let a = admin(&b).await;
    let created = a.create_acls(&[acl(resource::TOPIC, "t", pattern::LITERAL, ANON, Op::Read, true)]).await.unwrap();
    assert_eq!(created[0].as_ref().unwrap_err().code(), Some(c(E::ClusterAuthorizationFailed)));
    assert_eq!(a.describe_acls(&AclFilter::any()).await.unwrap_err().code(), Some(c(E::ClusterAuthorizationFailed)));
    assert_eq!(create_topic(&mut b.connect().await, "t", 1, &[]).await, c(E::TopicAuthorizationFailed));
    let m = metadata(&conn, Some(&["t"])).await;
    assert_eq!(m.topics[0].error_code, c(E::TopicAuthorizationFailed), "no auto-creation without CREATE");
    drop(b);

    // A super user ignores every ACL, DENY included.
    let b = TestBroker::start_with(&[AUTHORIZER, "super.users=User:admin;User:ANONYMOUS"]);
    let a = admin(&b).await;
    grant(&a, &[acl(resource::TOPIC, "t", pattern::LITERAL, ANON, Op::All, false)]).await;
    let mut conn = b.connect().await;
    assert_eq!(create_topic(&mut conn, "t", 1, &[]).await, 0);
    assert_eq!(produce(&mut conn, "t", 0, simple_batch(0, 1), 1).await.0, 0);
    assert_eq!(a.describe_acls(&AclFilter::any()).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_matrix_refuses_without_and_allows_with_the_permission() {
    // Resources without ACLs are open; an ACL for someone else closes one to ANONYMOUS.
    let b = TestBroker::start_with(&[AUTHORIZER, "allow.everyone.if.no.acl.found=true"]);
    let mut conn = b.connect().await;
    for t in ["t", "hidden", "app-1", "app-secret"] {
        assert_eq!(create_topic(&mut conn, t, 1, &[]).await, 0);
    }
    let a = admin(&b).await;
    let bob = "User:bob";
    grant(
        &a,
        &[
            acl(resource::TOPIC, "t", pattern::LITERAL, bob, Op::All, true),
            acl(resource::TOPIC, "hidden", pattern::LITERAL, bob, Op::All, true),
            acl(resource::TOPIC, "app-", pattern::PREFIXED, bob, Op::All, true),
            acl(resource::TOPIC, "new-", pattern::PREFIXED, bob, Op::Create, true),
            acl(resource::GROUP, "g", pattern::LITERAL, bob, Op::All, true),
            acl(resource::TRANSACTIONAL_ID, "tx", pattern::LITERAL, bob, Op::All, true),
            // Keeps ACL management (ALTER implies DESCRIBE) and closes the cluster.
            acl(resource::CLUSTER, "kafka-cluster", pattern::LITERAL, ANON, Op::Alter, true),
        ],
    )
    .await;
    let taf = c(E::TopicAuthorizationFailed);
    let gaf = c(E::GroupAuthorizationFailed);
    // Topics.
    assert_eq!(produce(&mut conn, "t", 0, simple_batch(0, 1), 1).await.0, taf);
    assert_eq!(fetch(&mut conn, "t", 0, 0, 0).await.error_code, taf);
    assert_eq!(list_offset(&mut conn, "t", 0, -1).await.0, taf);
    assert_eq!(describe_config(&conn, 2, "t").await, taf);
    assert_eq!(create_topic(&mut conn, "new-x", 1, &[]).await, taf);
    assert_eq!(metadata(&conn, Some(&["t"])).await.topics[0].error_code, taf);
    assert_eq!(metadata(&conn, Some(&["new-auto"])).await.topics[0].error_code, taf, "auto-create needs CREATE");
    assert!(listed(&metadata(&conn, None).await).is_empty(), "undescribable topics are hidden");
    // Groups, transactional ids, the cluster.
    assert_eq!(heartbeat(&conn, "g").await, gaf);
    assert_eq!(find_coordinator(&conn, 0, "g").await, gaf);
    assert_eq!(commit(&conn, "open-group", "t").await, taf, "the group is open, the topic is not");
    assert_eq!(init_pid(&conn, Some("tx")).await, c(E::TransactionalIdAuthorizationFailed));
    assert_eq!(find_coordinator(&conn, 1, "tx").await, c(E::TransactionalIdAuthorizationFailed));
    assert_eq!(describe_config(&conn, 4, "").await, c(E::ClusterAuthorizationFailed));
    let dg = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb("g"))]);
    assert_eq!(conn.send(&dg).await.unwrap().results[0].error_code, gaf);

    // Granted: the same calls pass.
    grant(
        &a,
        &[
            acl(resource::TOPIC, "t", pattern::LITERAL, ANON, Op::All, true),
            acl(resource::TOPIC, "app-", pattern::PREFIXED, ANON, Op::All, true),
            acl(resource::TOPIC, "app-secret", pattern::LITERAL, ANON, Op::Write, false),
            acl(resource::GROUP, "g", pattern::LITERAL, ANON, Op::Read, true),
            acl(resource::TRANSACTIONAL_ID, "tx", pattern::LITERAL, ANON, Op::Write, true),
            acl(resource::CLUSTER, "kafka-cluster", pattern::LITERAL, ANON, Op::DescribeConfigs, true),
        ],
    )
    .await;
    assert_eq!(produce(&mut conn, "t", 0, simple_batch(0, 1), 1).await.0, 0);
    assert_eq!(fetch(&mut conn, "t", 0, 0, 0).await.error_code, 0);
    assert_eq!(list_offset(&mut conn, "t", 0, -1).await.0, 0);
    assert_eq!(describe_config(&conn, 2, "t").await, 0);
    assert_eq!(commit(&conn, "g", "t").await, 0);
    assert_ne!(heartbeat(&conn, "g").await, gaf, "READ on the group lets the heartbeat reach the coordinator");
    assert_eq!(conn.send(&dg).await.unwrap().results[0].error_code, gaf, "READ does not imply DELETE");
    assert_eq!(init_pid(&conn, Some("tx")).await, 0);
    assert_eq!(describe_config(&conn, 4, "").await, 0);
    // Prefixed ALLOW with a literal DENY: the DENY wins, for WRITE only.
    assert_eq!(produce(&mut conn, "app-1", 0, simple_batch(0, 1), 1).await.0, 0);
    assert_eq!(produce(&mut conn, "app-secret", 0, simple_batch(0, 1), 1).await.0, taf);
    assert_eq!(fetch(&mut conn, "app-secret", 0, 0, 0).await.error_code, 0);
    let m = metadata(&conn, None).await;
    assert_eq!(listed(&m), ["app-1", "app-secret", "t"], "only `hidden` stays hidden");
    let t = m.topics.iter().find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "t")).unwrap();
    assert_eq!(t.topic_authorized_operations, 0b1101_1111_1000, "every topic operation (codes 3..=11 but 9)");
    let dc = conn.send(&DescribeClusterRequest::default().with_include_cluster_authorized_operations(true)).await.unwrap();
    assert_eq!(dc.cluster_authorized_operations, (1 << 7) | (1 << 8) | (1 << 10), "ALTER, DESCRIBE, DESCRIBE_CONFIGS");

    // DescribeAcls filters; DeleteAcls reports what it removed.
    let mine = AclFilter { principal: Some(ANON.into()), ..AclFilter::any() };
    assert_eq!(a.describe_acls(&mine).await.unwrap().len(), 7);
    let matching = AclFilter {
        resource_type: resource::TOPIC,
        resource_name: Some("app-secret".into()),
        pattern_type: pattern::MATCH,
        ..AclFilter::any()
    };
    assert_eq!(a.describe_acls(&matching).await.unwrap().len(), 3, "bob's and ANONYMOUS's app- prefix, the literal deny");
    let removed = a.delete_acls(&[AclFilter { resource_type: resource::TOPIC, ..mine.clone() }]).await.unwrap();
    assert_eq!(removed[0].as_ref().unwrap().len(), 3);
    assert_eq!(produce(&mut conn, "t", 0, simple_batch(1, 1), 1).await.0, taf);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_acls_are_refused_with_a_message() {
    let b = TestBroker::start_with(&[AUTHORIZER, "super.users=User:ANONYMOUS"]);
    let a = admin(&b).await;
    let mut bad_principal = acl(resource::TOPIC, "t", pattern::LITERAL, ANON, Op::Read, true);
    bad_principal.principal = "alice".into();
    let mut bad_cluster = acl(resource::CLUSTER, "other", pattern::LITERAL, ANON, Op::Alter, true);
    bad_cluster.host = "*".into();
    let mut bad_op = acl(resource::TOPIC, "t", pattern::LITERAL, ANON, Op::Read, true);
    bad_op.operation = 1;
    let r = a
        .create_acls(&[bad_principal, bad_cluster, bad_op, acl(resource::TOPIC, "ok", pattern::PREFIXED, ANON, Op::Read, true)])
        .await
        .unwrap();
    for e in &r[..3] {
        assert_eq!(e.as_ref().unwrap_err().code(), Some(c(E::InvalidRequest)), "{e:?}");
    }
    assert!(r[3].is_ok());
    assert!(r[1].as_ref().unwrap_err().to_string().contains("kafka-cluster"));
    let bad_filter = AclFilter { pattern_type: 0, ..AclFilter::any() };
    assert_eq!(a.describe_acls(&bad_filter).await.unwrap_err().code(), Some(c(E::InvalidRequest)));
}

fn rk_acls(b: &TestBroker, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(rk_bin()).arg("acls").args(["--bootstrap-server", &b.addr()]).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn rk_acls_add_list_remove_round_trip() {
    let b = TestBroker::start_with(&[AUTHORIZER, "super.users=User:ANONYMOUS"]);
    let pattern = "ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)";
    let entry = "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)";
    let (code, out, err) = rk_acls(&b, &["--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "t"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, format!("Adding ACLs for resource `{pattern}`: \n \t{entry} \n\n"));
    let (code, out, _) = rk_acls(&b, &["--list", "--topic", "t"]);
    assert_eq!(code, 0);
    assert_eq!(out, format!("Current ACLs for resource `{pattern}`: \n \t{entry} \n\n"));
    let (_, out, _) = rk_acls(&b, &["--list", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["operation"], "READ");
    assert_eq!(v[0]["principal"], "User:alice");
    let (_, out, _) = rk_acls(&b, &["--list", "--principal", "User:bob"]);
    assert_eq!(out, "ACLs for principal `User:bob`\n");
    let (code, _, err) = rk_acls(&b, &["--add", "--topic", "t"]);
    assert_eq!((code, err.trim()), (2, "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs."));
    let (code, _, err) = rk_acls(&b, &["--add", "--group", "g", "--allow-principal", "User:a", "--operation", "Write"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("ResourceType GROUP only supports operations"), "{err}");
    let (code, _, _) = rk_acls(&b, &["--remove", "--force", "--topic", "t"]);
    assert_eq!(code, 0);
    let (code, out, _) = rk_acls(&b, &["--list"]);
    assert_eq!((code, out.as_str()), (0, ""));
}
