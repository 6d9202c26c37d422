//! The consumer group protocol (KIP-848) against the real binary, with raw requests: join,
//! the revoke-before-assign reconciliation between two members, leave, fencing of stale
//! epochs, session expiry, commits checked against the member epoch, regex subscriptions
//! that pick up new topics, ConsumerGroupDescribe / ListGroups, the offline upgrade from a
//! classic group and Kafka's request validation errors.

mod common;

use common::*;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use rk::client::Connection;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use uuid::Uuid;

const FAST: &[&str] = &[
    "offsets.topic.num.partitions=1",
    "group.consumer.heartbeat.interval.ms=200",
    "group.consumer.session.timeout.ms=1500",
    "group.initial.rebalance.delay.ms=0",
];

fn hb(group: &str, member: &str, epoch: i32) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(sb(group)))
        .with_member_id(sb(member))
        .with_member_epoch(epoch)
        .with_rebalance_timeout_ms(-1)
}

fn join(group: &str, member: &str, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
    hb(group, member, 0)
        .with_rebalance_timeout_ms(5000)
        .with_subscribed_topic_names(Some(topics.iter().map(|t| tn(t)).collect()))
        .with_topic_partitions(Some(vec![]))
}

fn owned(parts: &BTreeSet<(Uuid, i32)>) -> Option<Vec<consumer_group_heartbeat_request::TopicPartitions>> {
    let mut by: std::collections::BTreeMap<Uuid, Vec<i32>> = Default::default();
    for (t, p) in parts {
        by.entry(*t).or_default().push(*p);
    }
    Some(
        by.into_iter()
            .map(|(t, ps)| consumer_group_heartbeat_request::TopicPartitions::default().with_topic_id(t).with_partitions(ps))
            .collect(),
    )
}

fn parts(r: &ConsumerGroupHeartbeatResponse) -> Option<BTreeSet<(Uuid, i32)>> {
    r.assignment.as_ref().map(|a| a.topic_partitions.iter().flat_map(|t| t.partitions.iter().map(|p| (t.topic_id, *p))).collect())
}

/// A member as a client keeps it: id, epoch and what it owns.
struct M {
    id: String,
    epoch: i32,
    owns: BTreeSet<(Uuid, i32)>,
}

impl M {
    async fn beat(&mut self, c: &Connection, group: &str) -> ConsumerGroupHeartbeatResponse {
        let r = c.send_at(&hb(group, &self.id, self.epoch).with_topic_partitions(owned(&self.owns)), 1).await.unwrap();
        assert_eq!(r.error_code, 0, "{:?}", r.error_message);
        self.epoch = r.member_epoch;
        if let Some(p) = parts(&r) {
            self.owns = p;
        }
        r
    }
}

async fn start_member(c: &Connection, group: &str, topics: &[&str]) -> M {
    let id = Uuid::new_v4().to_string();
    let r = c.send_at(&join(group, &id, topics), 1).await.unwrap();
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert_eq!(r.member_id.as_deref(), Some(id.as_str()));
    assert!(r.heartbeat_interval_ms > 0);
    M { id, epoch: r.member_epoch, owns: parts(&r).expect("a join answer carries the assignment") }
}

async fn describe(c: &Connection, group: &str) -> consumer_group_describe_response::DescribedGroup {
    let r = c.send_at(&ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(sb(group))]), 1).await.unwrap();
    r.groups.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_reconcile_revoking_before_assigning() {
    let b = TestBroker::start_with(FAST);
    let mut admin = b.connect().await;
    assert_eq!(create_topic(&mut admin, "t", 4, &[]).await, 0);
    let c = b.connect().await;
    let mut a = start_member(&c, "g", &["t"]).await;
    assert_eq!(a.owns.len(), 4, "a lone member gets every partition");
    assert_eq!(a.epoch, 1);
    // b joins: the group epoch moves to 2; b waits for partitions a still owns.
    let mut bm = start_member(&c, "g", &["t"]).await;
    assert_eq!(bm.epoch, 2);
    assert!(bm.owns.is_empty(), "nothing is free yet: {:?}", bm.owns);
    assert_eq!(describe(&c, "g").await.group_state.as_str(), "Reconciling");
    // a is asked to revoke two partitions and stays at epoch 1 until it has.
    let r = a.beat(&c, "g").await;
    assert_eq!(r.member_epoch, 1);
    assert_eq!(a.owns.len(), 2);
    // b still gets nothing: a did not confirm (it reports the old set when it next beats).
    let r = c.send_at(&hb("g", &bm.id, bm.epoch).with_topic_partitions(owned(&BTreeSet::new())), 1).await.unwrap();
    assert!(parts(&r).is_none_or(|p| p.is_empty()));
    // a confirms the revocation by reporting only what it kept: epoch 2.
    a.beat(&c, "g").await;
    assert_eq!(a.epoch, 2);
    // Now b's partitions are released to it.
    bm.beat(&c, "g").await;
    assert_eq!(bm.owns.len(), 2);
    assert!(a.owns.is_disjoint(&bm.owns));
    assert_eq!(a.owns.len() + bm.owns.len(), 4);
    let d = describe(&c, "g").await;
    assert_eq!(d.group_state.as_str(), "Stable");
    assert_eq!((d.group_epoch, d.assignment_epoch), (2, 2));
    assert_eq!(d.assignor_name.as_str(), "uniform");
    assert_eq!(d.members.len(), 2);
    for m in &d.members {
        assert_eq!(m.member_epoch, 2);
        assert_eq!(m.assignment.topic_partitions[0].topic_name.0.as_str(), "t");
    }
    // ListGroups says it is a consumer group.
    let l = c.send_at(&ListGroupsRequest::default(), 5).await.unwrap();
    let g = l.groups.iter().find(|g| g.group_id.0.as_str() == "g").unwrap();
    assert_eq!((g.group_type.as_str(), g.group_state.as_str(), g.protocol_type.as_str()), ("consumer", "Stable", "consumer"));
    let l = c.send_at(&ListGroupsRequest::default().with_types_filter(vec![sb("classic")]), 5).await.unwrap();
    assert!(l.groups.iter().all(|g| g.group_id.0.as_str() != "g"));
    // A commit needs the current member epoch.
    let commit = |member: &str, epoch: i32| {
        OffsetCommitRequest::default()
            .with_group_id(GroupId(sb("g")))
            .with_member_id(sb(member))
            .with_generation_id_or_member_epoch(epoch)
            .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default().with_name(tn("t")).with_partitions(vec![
                offset_commit_request::OffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(5),
            ])])
    };
    let r = c.send_at(&commit(&a.id, 2), 9).await.unwrap();
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let r = c.send_at(&commit(&a.id, 1), 9).await.unwrap();
    assert_eq!(r.topics[0].partitions[0].error_code, E::StaleMemberEpoch.code());
    let r = c.send_at(&commit("stranger", 2), 9).await.unwrap();
    assert_eq!(r.topics[0].partitions[0].error_code, E::UnknownMemberId.code());
    // A classic member cannot join a live consumer group.
    let j = JoinGroupRequest::default()
        .with_group_id(GroupId(sb("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(sb(""))
        .with_protocol_type(sb("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default().with_name(sb("range"))]);
    assert_eq!(c.send_at(&j, 5).await.unwrap().error_code, E::InconsistentGroupProtocol.code());
    // a leaves: b is given everything.
    let r = c.send_at(&hb("g", &a.id, -1), 1).await.unwrap();
    assert_eq!((r.error_code, r.member_epoch), (0, -1));
    bm.beat(&c, "g").await;
    assert_eq!(bm.owns.len(), 4);
    assert_eq!(bm.epoch, 3);
    // A fenced epoch: higher than the coordinator's.
    let r = c.send_at(&hb("g", &bm.id, 9).with_topic_partitions(owned(&bm.owns)), 1).await.unwrap();
    assert_eq!(r.error_code, E::FencedMemberEpoch.code());
    // A member that stops heartbeating is removed after the session timeout.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let d = describe(&c, "g").await;
    assert_eq!(d.group_state.as_str(), "Empty", "members: {:?}", d.members.iter().map(|m| &m.member_id).collect::<Vec<_>>());
    let r = c.send_at(&hb("g", &bm.id, bm.epoch), 1).await.unwrap();
    assert_eq!(r.error_code, E::UnknownMemberId.code());
    // The empty group still has its committed offsets; anyone may commit to it.
    let r = c.send_at(&commit("", -1), 9).await.unwrap();
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_subscriptions_pick_up_new_topics_and_range_assigns_ranges() {
    let b = TestBroker::start_with(FAST);
    let mut admin = b.connect().await;
    assert_eq!(create_topic(&mut admin, "orders-eu", 3, &[]).await, 0);
    assert_eq!(create_topic(&mut admin, "other", 3, &[]).await, 0);
    let c = b.connect().await;
    let id = Uuid::new_v4().to_string();
    let req = hb("rg", &id, 0)
        .with_rebalance_timeout_ms(5000)
        .with_subscribed_topic_regex(Some(sb("orders-.*")))
        .with_server_assignor(Some(sb("range")))
        .with_topic_partitions(Some(vec![]));
    let r = c.send_at(&req, 1).await.unwrap();
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    let mut m = M { id, epoch: r.member_epoch, owns: parts(&r).unwrap() };
    // As in Kafka, a new regex is resolved after the heartbeat that brought it: the
    // matching topics come with a following heartbeat.
    assert!(m.owns.is_empty(), "a new regex is resolved for the next heartbeat: {:?}", m.owns);
    m.beat(&c, "rg").await;
    m.beat(&c, "rg").await;
    assert_eq!(m.owns.len(), 3, "only orders-eu matches");
    // A topic created later that matches is assigned on a following heartbeat.
    assert_eq!(create_topic(&mut admin, "orders-us", 2, &[]).await, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.owns.len() < 5 {
        assert!(Instant::now() < deadline, "orders-us never assigned: {:?}", m.owns);
        tokio::time::sleep(Duration::from_millis(100)).await;
        m.beat(&c, "rg").await;
    }
    let d = describe(&c, "rg").await;
    assert_eq!(d.assignor_name.as_str(), "range");
    assert_eq!(d.members[0].subscribed_topic_regex.as_deref(), Some("orders-.*"));
    // A bad regex and an unknown assignor are refused as Kafka refuses them.
    let bad = hb("rg2", &Uuid::new_v4().to_string(), 0)
        .with_rebalance_timeout_ms(5000)
        .with_subscribed_topic_regex(Some(sb("orders-(")))
        .with_topic_partitions(Some(vec![]));
    assert_eq!(c.send_at(&bad, 1).await.unwrap().error_code, E::InvalidRegularExpression.code());
    let bad = join("rg2", &Uuid::new_v4().to_string(), &["other"]).with_server_assignor(Some(sb("sticky")));
    assert_eq!(c.send_at(&bad, 1).await.unwrap().error_code, E::UnsupportedAssignor.code());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_and_the_offline_upgrade_from_a_classic_group() {
    let b = TestBroker::start_with(FAST);
    let mut admin = b.connect().await;
    assert_eq!(create_topic(&mut admin, "u", 2, &[]).await, 0);
    let c = b.connect().await;
    let invalid = |r: ConsumerGroupHeartbeatResponse| {
        assert_eq!(r.error_code, E::InvalidRequest.code(), "{:?}", r.error_message);
        r.error_message.map(|m| m.to_string()).unwrap_or_default()
    };
    // v1: the client generates the member id.
    let m = invalid(c.send_at(&join("x", "", &["u"]), 1).await.unwrap());
    assert_eq!(m, "MemberId can't be empty.");
    let m = invalid(c.send_at(&join("x", "m", &["u"]).with_rebalance_timeout_ms(-1), 1).await.unwrap());
    assert_eq!(m, "RebalanceTimeoutMs must be provided in first request.");
    // A join with owned partitions is refused; a null list is taken as none (Kafka refuses
    // it too, but librdkafka sends it when it subscribes right after an unsubscribe).
    let owned = vec![consumer_group_heartbeat_request::TopicPartitions::default().with_topic_id(Uuid::new_v4()).with_partitions(vec![0])];
    let m = invalid(c.send_at(&join("x", "m", &["u"]).with_topic_partitions(Some(owned)), 1).await.unwrap());
    assert_eq!(m, "TopicPartitions must be empty when (re-)joining.");
    let r = c.send_at(&join("x-null", "m", &["u"]).with_topic_partitions(None), 1).await.unwrap();
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    let m = invalid(c.send_at(&join("x", "m", &["u"]).with_subscribed_topic_names(None), 1).await.unwrap());
    assert_eq!(m, "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.");
    // An empty subscription is a member subscribed to nothing (Kafka 4.0 accepts it).
    let r = c.send_at(&join("x", "empty-sub", &[]), 1).await.unwrap();
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert!(parts(&r).is_some_and(|p| p.is_empty()));
    invalid(c.send_at(&hb("x", "m", -7), 1).await.unwrap());
    invalid(c.send_at(&join("", "m", &["u"]), 1).await.unwrap());
    // v0 generates the member id for the client.
    let r = c.send_at(&join("v0", "", &["u"]), 0).await.unwrap();
    assert_eq!(r.error_code, 0);
    assert!(r.member_id.as_deref().is_some_and(|m| !m.is_empty()));
    // A heartbeat for a member the coordinator does not know.
    assert_eq!(c.send_at(&hb("nobody", "m", 3), 1).await.unwrap().error_code, E::UnknownMemberId.code());

    // A classic group with committed offsets and no members becomes a consumer group on
    // the first consumer-protocol join, offsets kept.
    let commit = OffsetCommitRequest::default().with_group_id(GroupId(sb("old"))).with_generation_id_or_member_epoch(-1).with_topics(vec![
        offset_commit_request::OffsetCommitRequestTopic::default().with_name(tn("u")).with_partitions(vec![
            offset_commit_request::OffsetCommitRequestPartition::default().with_partition_index(1).with_committed_offset(42),
        ]),
    ]);
    assert_eq!(c.send_at(&commit, 8).await.unwrap().topics[0].partitions[0].error_code, 0);
    let m = start_member(&c, "old", &["u"]).await;
    assert_eq!(m.owns.len(), 2);
    let fetch = OffsetFetchRequest::default().with_group_id(GroupId(sb("old"))).with_topics(None);
    let f = c.send_at(&fetch, 7).await.unwrap();
    let p1 = f.topics.iter().flat_map(|t| &t.partitions).find(|p| p.partition_index == 1).unwrap();
    assert_eq!(p1.committed_offset, 42);
    // DescribeGroups does not describe it as a classic group; deleting it needs it empty.
    let del = c.send_at(&DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb("old"))]), 2).await.unwrap();
    assert_eq!(del.results[0].error_code, E::NonEmptyGroup.code());
    // Once it is empty again, a classic member may take the group back.
    assert_eq!(c.send_at(&hb("old", &m.id, -1), 1).await.unwrap().error_code, 0);
    let j = JoinGroupRequest::default()
        .with_group_id(GroupId(sb("old")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(sb(""))
        .with_protocol_type(sb("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default().with_name(sb("range"))]);
    assert_eq!(c.send_at(&j, 5).await.unwrap().error_code, E::MemberIdRequired.code());
    let f = c.send_at(&fetch, 7).await.unwrap();
    assert!(f.topics.iter().flat_map(|t| &t.partitions).any(|p| p.partition_index == 1 && p.committed_offset == 42));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_comes_back_to_its_partitions_without_a_rebalance() {
    let b = TestBroker::start_with(FAST);
    let mut admin = b.connect().await;
    assert_eq!(create_topic(&mut admin, "s", 4, &[]).await, 0);
    let c = b.connect().await;
    let static_join = |member: &str| join("sg", member, &["s"]).with_instance_id(Some(sb("instance-1")));
    let first = Uuid::new_v4().to_string();
    let r = c.send_at(&static_join(&first), 1).await.unwrap();
    assert_eq!(r.error_code, 0);
    let mut a = M { id: first.clone(), epoch: r.member_epoch, owns: parts(&r).unwrap() };
    let mut other = start_member(&c, "sg", &["s"]).await;
    a.beat(&c, "sg").await;
    a.beat(&c, "sg").await;
    other.beat(&c, "sg").await;
    assert_eq!((a.owns.len(), other.owns.len()), (2, 2));
    let epoch_before = describe(&c, "sg").await.group_epoch;
    // Another member with the same instance id is refused while the first is in.
    let r = c.send_at(&static_join(&Uuid::new_v4().to_string()), 1).await.unwrap();
    assert_eq!(r.error_code, E::UnreleasedInstanceId.code());
    // A static leave (-2) keeps its partitions for it...
    let r = c.send_at(&hb("sg", &first, -2).with_instance_id(Some(sb("instance-1"))), 1).await.unwrap();
    assert_eq!((r.error_code, r.member_epoch), (0, -2));
    // ...and the instance, restarted with a new member id, gets them straight back.
    let second = Uuid::new_v4().to_string();
    let r = c.send_at(&static_join(&second), 1).await.unwrap();
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert_eq!(parts(&r).unwrap(), a.owns);
    assert!(r.member_epoch > 0);
    let d = describe(&c, "sg").await;
    assert_eq!(d.group_epoch, epoch_before, "the return of a static member is not a rebalance");
    assert_eq!(d.members.len(), 2);
    assert!(d.members.iter().any(|m| m.member_id.as_str() == second && m.instance_id.as_deref() == Some("instance-1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_configs_are_described_altered_and_used() {
    let b = TestBroker::start_with(FAST);
    let mut admin = b.connect().await;
    assert_eq!(create_topic(&mut admin, "gc", 1, &[]).await, 0);
    let c = b.connect().await;
    let describe = || {
        DescribeConfigsRequest::default().with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(32)
                .with_resource_name(sb("cfg"))
                .with_configuration_keys(None),
        ])
    };
    let value = |r: &DescribeConfigsResponse, key: &str| {
        let e = r.results[0].configs.iter().find(|e| e.name.as_str() == key).unwrap();
        (e.value.as_ref().map(|v| v.to_string()), e.config_source)
    };
    // A group without configs of its own (or not existing at all) shows the broker's.
    let r = c.send_at(&describe(), 4).await.unwrap();
    assert_eq!(r.results[0].error_code, 0);
    assert_eq!(value(&r, "consumer.heartbeat.interval.ms"), (Some("200".into()), 5));
    let alter = |key: &str, v: &str| {
        IncrementalAlterConfigsRequest::default().with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(32)
                .with_resource_name(sb("cfg"))
                .with_configs(vec![
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(sb(key))
                        .with_config_operation(0)
                        .with_value(Some(sb(v))),
                ]),
        ])
    };
    let r = c.send_at(&alter("consumer.heartbeat.interval.ms", "7000"), 1).await.unwrap();
    assert_eq!(r.responses[0].error_code, 0, "{:?}", r.responses[0].error_message);
    for (k, v) in [("consumer.heartbeat.interval.ms", "100"), ("consumer.session.timeout.ms", "x"), ("no.such.config", "1")] {
        let r = c.send_at(&alter(k, v), 1).await.unwrap();
        assert_eq!(r.responses[0].error_code, E::InvalidConfig.code(), "{k}={v}");
    }
    let r = c.send_at(&describe(), 4).await.unwrap();
    assert_eq!(value(&r, "consumer.heartbeat.interval.ms"), (Some("7000".into()), 8));
    // The coordinator hands the group's interval to its members.
    let r = c.send_at(&join("cfg", &Uuid::new_v4().to_string(), &["gc"]), 1).await.unwrap();
    assert_eq!((r.error_code, r.heartbeat_interval_ms), (0, 7000));
}
