//! Integration tests for the group coordinator and the log cleaner, through rk's own
//! protocol client against the real binary.

mod common;

use bytes::Bytes;
use common::*;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use rk::client::Connection;
use std::time::{Duration, Instant};

const FAST: &[&str] = &["group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=100", "offsets.topic.num.partitions=3"];

fn join_req(group: &str, member: &str, instance: Option<&str>, session_ms: i32) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_session_timeout_ms(session_ms)
        // Generous: a test client stalled by a loaded machine must not be dropped from a
        // rebalance it is about to join (a 2 s timeout made one test flaky: the broker
        // rightly completed the rebalance without the stalled member).
        .with_rebalance_timeout_ms(60_000)
        .with_member_id(sb(member))
        .with_group_instance_id(instance.map(sb))
        .with_protocol_type(sb("consumer"))
        .with_protocols(vec![
            join_group_request::JoinGroupRequestProtocol::default().with_name(sb("range")).with_metadata(Bytes::from_static(b"meta-range")),
        ])
}

/// Full dynamic join: MEMBER_ID_REQUIRED, then the real join. Returns the response.
async fn join(c: &mut Connection, group: &str, session_ms: i32) -> JoinGroupResponse {
    let r = c.send(&join_req(group, "", None, session_ms)).await.unwrap();
    assert_eq!(r.error_code, E::MemberIdRequired.code());
    assert!(!r.member_id.is_empty());
    c.send(&join_req(group, &r.member_id, None, session_ms)).await.unwrap()
}

async fn sync(c: &mut Connection, group: &str, gen_id: i32, member: &str, assignments: Vec<(&str, &'static [u8])>) -> SyncGroupResponse {
    let req = SyncGroupRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_generation_id(gen_id)
        .with_member_id(sb(member))
        .with_protocol_type(Some(sb("consumer")))
        .with_protocol_name(Some(sb("range")))
        .with_assignments(
            assignments
                .into_iter()
                .map(|(m, a)| {
                    sync_group_request::SyncGroupRequestAssignment::default().with_member_id(sb(m)).with_assignment(Bytes::from_static(a))
                })
                .collect(),
        );
    c.send(&req).await.unwrap()
}

async fn heartbeat(c: &mut Connection, group: &str, gen_id: i32, member: &str) -> i16 {
    let req = HeartbeatRequest::default().with_group_id(GroupId(sb(group))).with_generation_id(gen_id).with_member_id(sb(member));
    c.send(&req).await.unwrap().error_code
}

async fn describe(c: &mut Connection, group: &str) -> describe_groups_response::DescribedGroup {
    c.send(&DescribeGroupsRequest::default().with_groups(vec![GroupId(sb(group))])).await.unwrap().groups.remove(0)
}

async fn commit(c: &mut Connection, group: &str, gen_id: i32, member: &str, topic: &str, offset: i64, md: Option<&str>) -> i16 {
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_generation_id_or_member_epoch(gen_id)
        .with_member_id(sb(member))
        .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default().with_name(tn(topic)).with_partitions(vec![
            offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)
                .with_committed_metadata(md.map(sb)),
        ])]);
    c.send(&req).await.unwrap().topics[0].partitions[0].error_code
}

async fn fetch_offset(c: &mut Connection, group: &str, topic: &str) -> (i64, Option<String>) {
    let req = OffsetFetchRequest::default().with_groups(vec![
        offset_fetch_request::OffsetFetchRequestGroup::default().with_group_id(GroupId(sb(group))).with_topics(Some(vec![
            offset_fetch_request::OffsetFetchRequestTopics::default().with_name(tn(topic)).with_partition_indexes(vec![0]),
        ])),
    ]);
    let r = c.send(&req).await.unwrap();
    let p = &r.groups[0].topics[0].partitions[0];
    (p.committed_offset, p.metadata.as_ref().map(|m| m.to_string()))
}

#[tokio::test]
async fn join_sync_heartbeat_commit_and_describe() {
    let mut b = TestBroker::start_with(FAST);
    let mut c = b.connect().await;
    create_topic(&mut c, "t", 1, &[]).await;
    let fc = c.send(&FindCoordinatorRequest::default().with_key_type(0).with_coordinator_keys(vec![sb("g")])).await.unwrap();
    assert_eq!((fc.coordinators[0].error_code, fc.coordinators[0].port as u16), (0, b.port));

    let j = join(&mut c, "g", 10_000).await;
    assert_eq!((j.error_code, j.generation_id), (0, 1));
    assert_eq!(j.leader, j.member_id, "the only member leads");
    assert_eq!(j.members.len(), 1);
    assert_eq!(&j.members[0].metadata[..], b"meta-range");
    assert_eq!(j.protocol_name.as_ref().map(|s| s.to_string()), Some("range".to_string()));
    let me = j.member_id.to_string();
    let s = sync(&mut c, "g", 1, &me, vec![(&me, b"assignment-1")]).await;
    assert_eq!((s.error_code, &s.assignment[..]), (0, &b"assignment-1"[..]));
    let d = describe(&mut c, "g").await;
    assert_eq!((d.group_state.as_str(), d.protocol_data.as_str(), d.members.len()), ("Stable", "range", 1));
    assert_eq!(&d.members[0].member_assignment[..], b"assignment-1");
    assert_eq!(heartbeat(&mut c, "g", 1, &me).await, 0);
    assert_eq!(heartbeat(&mut c, "g", 7, &me).await, E::IllegalGeneration.code());
    assert_eq!(heartbeat(&mut c, "g", 1, "stranger").await, E::UnknownMemberId.code());
    assert_eq!(heartbeat(&mut c, "nogroup", 1, &me).await, E::UnknownMemberId.code());

    assert_eq!(commit(&mut c, "g", 1, &me, "t", 42, Some("my-metadata")).await, 0);
    assert_eq!(commit(&mut c, "g", 1, &me, "nope", 1, None).await, E::UnknownTopicOrPartition.code());
    assert_eq!(commit(&mut c, "g", 9, &me, "t", 1, None).await, E::IllegalGeneration.code());
    assert_eq!(fetch_offset(&mut c, "g", "t").await, (42, Some("my-metadata".into())));
    let lg = c.send(&ListGroupsRequest::default().with_states_filter(vec![sb("stable")])).await.unwrap();
    assert_eq!(lg.groups.iter().map(|g| g.group_id.0.to_string()).collect::<Vec<_>>(), vec!["g"]);
    // Non-empty groups cannot be deleted.
    let del = c.send(&DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb("g"))])).await.unwrap();
    assert_eq!(del.results[0].error_code, E::NonEmptyGroup.code());

    // Offsets and group survive a restart.
    b.restart();
    let mut c = b.connect().await;
    assert_eq!(fetch_offset(&mut c, "g", "t").await, (42, Some("my-metadata".into())));
    let left = c
        .send(
            &LeaveGroupRequest::default()
                .with_group_id(GroupId(sb("g")))
                .with_members(vec![leave_group_request::MemberIdentity::default().with_member_id(sb(&me))]),
        )
        .await
        .unwrap();
    assert_eq!(left.members[0].error_code, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while describe(&mut c, "g").await.group_state.as_str() != "Empty" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(describe(&mut c, "g").await.group_state.as_str(), "Empty");
    let del = c.send(&DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb("g"))])).await.unwrap();
    assert_eq!(del.results[0].error_code, 0);
    assert_eq!(fetch_offset(&mut c, "g", "t").await.0, -1);
    let del = c.send(&DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb("g"))])).await.unwrap();
    assert_eq!(del.results[0].error_code, E::GroupIdNotFound.code());
}

#[tokio::test]
async fn second_member_triggers_rebalance_and_both_rejoin() {
    let b = TestBroker::start_with(FAST);
    let mut c1 = b.connect().await;
    let c2 = b.connect().await;
    assert_eq!(create_topic(&mut c1, "rb-t", 1, &[]).await, 0);
    let j1 = join(&mut c1, "rb", 10_000).await;
    assert_eq!((j1.error_code, j1.generation_id), (0, 1), "member 1 joins alone\n{}", b.log());
    let m1 = j1.member_id.to_string();
    let s1 = sync(&mut c1, "rb", 1, &m1, vec![(&m1, b"a")]).await;
    assert_eq!(s1.error_code, 0, "member 1 syncs\n{}", b.log());
    // Member 2 joins: its JoinGroup waits until member 1 rejoins.
    let first = c2.send(&join_req("rb", "", None, 10_000)).await.unwrap();
    assert_eq!(first.error_code, E::MemberIdRequired.code());
    let m2 = first.member_id.to_string();
    let pending = tokio::spawn(async move {
        let r = c2.send(&join_req("rb", &m2, None, 10_000)).await.unwrap();
        (c2, r)
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let hb = heartbeat(&mut c1, "rb", 1, &m1).await;
        if hb == E::RebalanceInProgress.code() {
            break;
        }
        assert_eq!(hb, 0, "member 1 was dropped from the group instead of being told about the rebalance\n{}", b.log());
        assert!(Instant::now() < deadline, "member 1 never told about the rebalance");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // While the group prepares the rebalance, a member of the current generation may still
    // commit (Kafka's validateOffsetCommit; librdkafka's 0113 commits then).
    assert_eq!(commit(&mut c1, "rb", 1, &m1, "rb-t", 5, None).await, 0, "commit during PreparingRebalance\n{}", b.log());
    let r1 = c1.send(&join_req("rb", &m1, None, 10_000)).await.unwrap();
    // Joined but not synced (CompletingRebalance): the new generation gets
    // REBALANCE_IN_PROGRESS, the old one ILLEGAL_GENERATION.
    assert_eq!(commit(&mut c1, "rb", 2, &m1, "rb-t", 6, None).await, E::RebalanceInProgress.code());
    assert_eq!(commit(&mut c1, "rb", 1, &m1, "rb-t", 6, None).await, E::IllegalGeneration.code());
    let (_c2, r2) = pending.await.unwrap();
    assert_eq!((r1.error_code, r2.error_code), (0, 0));
    assert_eq!((r1.generation_id, r2.generation_id), (2, 2));
    assert_eq!(r1.leader.to_string(), m1, "the old leader keeps leading");
    assert_eq!(r1.members.len(), 2);
    assert!(r2.members.is_empty(), "followers get no member list");
}

#[tokio::test]
async fn silent_members_expire_and_static_members_rejoin_without_rebalance() {
    let b = TestBroker::start_with(FAST);
    let mut c = b.connect().await;
    let j = join(&mut c, "exp", 300).await;
    let me = j.member_id.to_string();
    sync(&mut c, "exp", 1, &me, vec![(&me, b"x")]).await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(describe(&mut c, "exp").await.group_state.as_str(), "Empty", "session expired");
    assert_eq!(heartbeat(&mut c, "exp", 1, &me).await, E::UnknownMemberId.code());

    // Static member: joins directly (no MEMBER_ID_REQUIRED), then rejoins with an empty id.
    let j = c.send(&join_req("st", "", Some("instance-1"), 10_000)).await.unwrap();
    assert_eq!((j.error_code, j.generation_id), (0, 1));
    let old = j.member_id.to_string();
    sync(&mut c, "st", 1, &old, vec![(&old, b"static-assignment")]).await;
    let again = c.send(&join_req("st", "", Some("instance-1"), 10_000)).await.unwrap();
    assert_eq!((again.error_code, again.generation_id), (0, 1), "no rebalance for a returning static member");
    assert_ne!(again.member_id.as_str(), old);
    let s = sync(&mut c, "st", 1, &again.member_id, vec![]).await;
    assert_eq!(&s.assignment[..], b"static-assignment");
    // The old member id is fenced.
    let hb = HeartbeatRequest::default()
        .with_group_id(GroupId(sb("st")))
        .with_generation_id(1)
        .with_member_id(sb(&old))
        .with_group_instance_id(Some(sb("instance-1")));
    assert_eq!(c.send(&hb).await.unwrap().error_code, E::FencedInstanceId.code());
}

#[tokio::test]
async fn join_validation_errors() {
    let b = TestBroker::start_with(&["group.initial.rebalance.delay.ms=0"]);
    let mut c = b.connect().await;
    let r = c.send(&join_req("v", "", None, 10)).await.unwrap();
    assert_eq!(r.error_code, E::InvalidSessionTimeout.code());
    let r = c.send(&join_req("", "", None, 10_000)).await.unwrap();
    assert_eq!(r.error_code, E::InvalidGroupId.code());
    let r = c.send(&join_req("v", "made-up-id", None, 10_000)).await.unwrap();
    assert_eq!(r.error_code, E::UnknownMemberId.code());
    // A member with an incompatible protocol cannot join a non-empty group.
    join(&mut c, "v", 10_000).await;
    let other = join_req("v", "", None, 10_000).with_protocols(vec![
        join_group_request::JoinGroupRequestProtocol::default().with_name(sb("roundrobin")).with_metadata(Bytes::new()),
    ]);
    assert_eq!(c.send(&other).await.unwrap().error_code, E::InconsistentGroupProtocol.code());
    // A huge protocol metadata blob is carried (bounded only by the request size limit).
    let big = join_req("big", "", None, 10_000).with_protocols(vec![
        join_group_request::JoinGroupRequestProtocol::default().with_name(sb("range")).with_metadata(Bytes::from(vec![7u8; 2 << 20])),
    ]);
    let r = c.send(&big).await.unwrap();
    assert_eq!(r.error_code, E::MemberIdRequired.code());
    // Simple (standalone) commits work for a group with no members.
    create_topic(&mut c, "t", 1, &[]).await;
    assert_eq!(commit(&mut c, "standalone", -1, "", "t", 5, None).await, 0);
    assert_eq!(fetch_offset(&mut c, "standalone", "t").await, (5, Some(String::new())), "null metadata is stored as \"\" like Kafka");
}

#[tokio::test]
async fn compaction_keeps_latest_value_per_key() {
    let b = TestBroker::start_with(&["log.cleaner.backoff.ms=100"]);
    let mut c = b.connect().await;
    let cfgs =
        [("cleanup.policy", "compact"), ("segment.bytes", "2000"), ("min.cleanable.dirty.ratio", "0.01"), ("delete.retention.ms", "0")];
    assert_eq!(create_topic(&mut c, "compact", 1, &cfgs).await, 0);
    // A record without a key is refused by a compacted topic.
    let (err, _) = produce(&mut c, "compact", 0, batch(&[record(0, None, Some("x"), now_ms())], Compression::None), 1).await;
    assert_eq!(err, E::InvalidRecord.code());
    for round in 0..30 {
        let recs: Vec<_> = (0..4).map(|k| record(k, Some(&format!("key{k}")), Some(&format!("r{round}")), now_ms())).collect();
        produce(&mut c, "compact", 0, batch(&recs, Compression::Snappy), 1).await;
    }
    produce(&mut c, "compact", 0, batch(&[record(0, Some("key3"), None, now_ms())], Compression::None), 1).await;
    for i in 0..20 {
        produce(&mut c, "compact", 0, batch(&[record(0, Some("filler"), Some(&format!("{i}")), now_ms())], Compression::None), 1).await;
    }
    let dir = b.data_dir().join("compact-0");
    let size = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .map(|e| e.metadata().unwrap().len())
            .sum::<u64>()
    };
    let before = size();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut recs = Vec::new();
    while Instant::now() < deadline {
        recs.clear();
        let mut off = 0;
        loop {
            let p = fetch(&mut c, "compact", 0, off, 0).await;
            let got = decode(&p.records);
            let Some(last) = got.last() else { break };
            off = last.offset + 1;
            let seen = recs.last().map(|l: &kafka_protocol::records::Record| l.offset).unwrap_or(-1);
            recs.extend(got.into_iter().filter(|r| r.offset > seen));
        }
        let k0 = recs.iter().filter(|r| r.key.as_deref() == Some(&b"key0"[..])).count();
        if k0 == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for k in 0..3 {
        let v: Vec<_> = recs.iter().filter(|r| r.key.as_deref() == Some(format!("key{k}").as_bytes())).collect();
        assert_eq!(v.len(), 1, "one record for key{k}");
        assert_eq!(value_str(v[0]), "r29");
        assert_eq!(v[0].offset, 116 + k as i64, "offsets unchanged");
    }
    assert!(!recs.iter().any(|r| r.key.as_deref() == Some(&b"key3"[..])), "deleted key gone after delete.retention.ms");
    assert!(size() < before, "log shrank: {before} -> {}", size());
    assert_eq!(list_offset(&mut c, "compact", 0, -1).await.1, 141);
}
