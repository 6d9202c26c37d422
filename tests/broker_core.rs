//! Integration tests for the broker core: the real `rk` binary driven through rk's own
//! protocol client (topics, produce/fetch, offsets, configs, records, sessions).

mod common;

use common::*;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use std::time::{Duration, Instant};

#[tokio::test]
async fn produce_fetch_round_trip_with_every_codec() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "codecs", 1, &[]).await, 0);
    let mut expected_base = 0;
    for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
        let ts = now_ms();
        let recs: Vec<_> = (0..5).map(|i| record(i, Some(&format!("k{i}")), Some(&format!("{codec:?}-{i}")), ts)).collect();
        let (err, base) = produce(&mut c, "codecs", 0, batch(&recs, codec), -1).await;
        assert_eq!((err, base), (0, expected_base), "{codec:?}");
        expected_base += 5;
    }
    let p = fetch(&mut c, "codecs", 0, 0, 0).await;
    assert_eq!(p.error_code, 0);
    assert_eq!(p.high_watermark, 25, "HW counts records, not batches");
    let recs = decode(&p.records);
    assert_eq!(recs.len(), 25);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
    }
    assert_eq!(value_str(&recs[7]), "Gzip-2");
    assert_eq!(value_str(&recs[24]), "Zstd-4");
    // Fetching from the middle of a batch returns that batch (clients skip earlier offsets).
    let p = fetch(&mut c, "codecs", 0, 12, 0).await;
    let recs = decode(&p.records);
    assert_eq!(recs.first().unwrap().offset, 10);
}

#[tokio::test]
async fn offsets_out_of_range_and_unknown_partitions() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "t", 2, &[]).await;
    produce(&mut c, "t", 1, simple_batch(0, 3), 1).await;
    assert_eq!(fetch(&mut c, "t", 1, 4, 0).await.error_code, E::OffsetOutOfRange.code());
    assert_eq!(fetch(&mut c, "t", 1, 3, 0).await.error_code, 0);
    assert_eq!(fetch(&mut c, "t", 5, 0, 0).await.error_code, E::UnknownTopicOrPartition.code());
    let (err, _) = produce(&mut c, "t", 9, simple_batch(0, 1), 1).await;
    assert_eq!(err, E::UnknownTopicOrPartition.code());
}

#[tokio::test]
async fn list_offsets_earliest_latest_timestamp_and_max() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "lo", 1, &[]).await;
    let base = now_ms() - 10_000;
    for i in 0..4 {
        let recs = vec![record(0, None, Some("a"), base + i * 1000), record(1, None, Some("b"), base + i * 1000 + 500)];
        produce(&mut c, "lo", 0, batch(&recs, Compression::Lz4), 1).await;
    }
    assert_eq!(list_offset(&mut c, "lo", 0, -2).await, (0, 0, -1));
    assert_eq!(list_offset(&mut c, "lo", 0, -1).await, (0, 8, -1));
    // Earliest offset whose timestamp is >= target, inside a compressed batch.
    assert_eq!(list_offset(&mut c, "lo", 0, base + 2100).await, (0, 5, base + 2500));
    assert_eq!(list_offset(&mut c, "lo", 0, base).await, (0, 0, base));
    assert_eq!(list_offset(&mut c, "lo", 0, base + 99_000).await, (0, -1, -1));
    assert_eq!(list_offset(&mut c, "lo", 0, -3).await, (0, 7, base + 3500));
}

#[tokio::test]
async fn create_topic_errors_match_kafka() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "dup", 1, &[]).await, 0);
    assert_eq!(create_topic(&mut c, "dup", 1, &[]).await, E::TopicAlreadyExists.code());
    assert_eq!(create_topic(&mut c, "zero", 0, &[]).await, E::InvalidPartitions.code());
    assert_eq!(create_topic(&mut c, "bad name!", 1, &[]).await, E::InvalidTopicException.code());
    assert_eq!(create_topic(&mut c, "cfg", 1, &[("retention.ms", "soon")]).await, E::InvalidConfig.code());
    assert_eq!(create_topic(&mut c, "cfg", 1, &[("no.such.config", "1")]).await, E::InvalidConfig.code());
    let rf3 = create_topics_request::CreatableTopic::default().with_name(tn("rf3")).with_num_partitions(1).with_replication_factor(3);
    let r = c.send(&CreateTopicsRequest::default().with_topics(vec![rf3])).await.unwrap();
    assert_eq!(r.topics[0].error_code, E::InvalidReplicationFactor.code());
    // validate_only validates but creates nothing.
    let t = create_topics_request::CreatableTopic::default().with_name(tn("dry")).with_num_partitions(3).with_replication_factor(1);
    let r = c.send(&CreateTopicsRequest::default().with_topics(vec![t]).with_validate_only(true)).await.unwrap();
    assert_eq!((r.topics[0].error_code, r.topics[0].num_partitions), (0, 3));
    let md = c.send(&MetadataRequest::default().with_topics(None)).await.unwrap();
    let names: Vec<String> = md.topics.iter().map(|t| t.name.as_ref().unwrap().0.to_string()).collect();
    assert_eq!(names, vec!["dup"]);
    // Explicit replica assignment.
    let t = create_topics_request::CreatableTopic::default()
        .with_name(tn("assigned"))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
        .with_assignments(
            (0..2)
                .map(|p| {
                    create_topics_request::CreatableReplicaAssignment::default().with_partition_index(p).with_broker_ids(vec![BrokerId(1)])
                })
                .collect(),
        );
    let r = c.send(&CreateTopicsRequest::default().with_topics(vec![t])).await.unwrap();
    assert_eq!((r.topics[0].error_code, r.topics[0].num_partitions), (0, 2));
    let t = create_topics_request::CreatableTopic::default()
        .with_name(tn("badassign"))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
        .with_assignments(vec![
            create_topics_request::CreatableReplicaAssignment::default().with_partition_index(0).with_broker_ids(vec![BrokerId(7)]),
        ]);
    let r = c.send(&CreateTopicsRequest::default().with_topics(vec![t])).await.unwrap();
    assert_eq!(r.topics[0].error_code, E::InvalidReplicaAssignment.code());
}

#[tokio::test]
async fn delete_topics_by_name_and_id_and_create_partitions() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "a", 1, &[]).await;
    create_topic(&mut c, "b", 1, &[]).await;
    let md = c.send(&MetadataRequest::default().with_topics(None)).await.unwrap();
    let id_b = md.topics.iter().find(|t| t.name.as_ref().unwrap().0.as_str() == "b").unwrap().topic_id;
    let req = DeleteTopicsRequest::default().with_topics(vec![
        delete_topics_request::DeleteTopicState::default().with_name(Some(tn("a"))),
        delete_topics_request::DeleteTopicState::default().with_topic_id(id_b),
        delete_topics_request::DeleteTopicState::default().with_name(Some(tn("nope"))),
    ]);
    let r = c.send(&req).await.unwrap();
    let codes: Vec<i16> = r.responses.iter().map(|x| x.error_code).collect();
    assert_eq!(codes, vec![0, 0, E::UnknownTopicOrPartition.code()]);
    assert_eq!(r.responses[1].name.as_ref().map(|n| n.0.to_string()), Some("b".to_string()), "{r:?}");
    assert!(!b.data_dir().join("a-0").exists(), "partition directory removed");

    create_topic(&mut c, "grow", 2, &[]).await;
    let grow = |n: i32| {
        CreatePartitionsRequest::default()
            .with_topics(vec![create_partitions_request::CreatePartitionsTopic::default().with_name(tn("grow")).with_count(n)])
    };
    assert_eq!(c.send(&grow(1)).await.unwrap().results[0].error_code, E::InvalidPartitions.code());
    assert_eq!(c.send(&grow(2)).await.unwrap().results[0].error_code, E::InvalidPartitions.code());
    assert_eq!(c.send(&grow(5)).await.unwrap().results[0].error_code, 0);
    let (err, _) = produce(&mut c, "grow", 4, simple_batch(0, 1), 1).await;
    assert_eq!(err, 0);
}

#[tokio::test]
async fn configs_describe_sources_and_alter() {
    let b = TestBroker::start_with(&["log.retention.ms=3600000"]);
    let mut c = b.connect().await;
    create_topic(&mut c, "cfg", 1, &[("cleanup.policy", "delete"), ("max.message.bytes", "2000")]).await;
    async fn describe(c: &mut rk::client::Connection) -> describe_configs_response::DescribeConfigsResult {
        let req = DescribeConfigsRequest::default().with_include_synonyms(true).with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default().with_resource_type(2).with_resource_name(sb("cfg")),
        ]);
        c.send(&req).await.unwrap().results.remove(0)
    }
    let r = describe(&mut c).await;
    let get = |r: &describe_configs_response::DescribeConfigsResult, k: &str| {
        let e = r.configs.iter().find(|e| e.name.as_str() == k).unwrap_or_else(|| panic!("{k} missing: {r:?}"));
        (e.value.as_ref().unwrap().to_string(), e.config_source)
    };
    assert_eq!(get(&r, "max.message.bytes"), ("2000".into(), 1));
    assert_eq!(get(&r, "retention.ms"), ("3600000".into(), 4), "static broker config");
    assert_eq!(get(&r, "segment.bytes"), ("1073741824".into(), 5), "default");
    // Incremental: SET, DELETE, APPEND.
    let ops = vec![
        incremental_alter_configs_request::AlterableConfig::default()
            .with_name(sb("retention.ms"))
            .with_config_operation(0)
            .with_value(Some(sb("1000"))),
        incremental_alter_configs_request::AlterableConfig::default().with_name(sb("max.message.bytes")).with_config_operation(1),
        incremental_alter_configs_request::AlterableConfig::default()
            .with_name(sb("cleanup.policy"))
            .with_config_operation(2)
            .with_value(Some(sb("compact"))),
    ];
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(sb("cfg"))
            .with_configs(ops),
    ]);
    assert_eq!(c.send(&req).await.unwrap().responses[0].error_code, 0);
    let r = describe(&mut c).await;
    assert_eq!(get(&r, "retention.ms"), ("1000".into(), 1));
    assert_eq!(get(&r, "max.message.bytes"), ("1048588".into(), 5));
    assert_eq!(get(&r, "cleanup.policy"), ("delete,compact".into(), 1));
    // Invalid value: refused and nothing changes.
    let bad = IncrementalAlterConfigsRequest::default().with_resources(vec![
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(sb("cfg"))
            .with_configs(vec![
                incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(sb("segment.ms"))
                    .with_config_operation(0)
                    .with_value(Some(sb("-4"))),
            ]),
    ]);
    assert_eq!(c.send(&bad).await.unwrap().responses[0].error_code, E::InvalidConfig.code());
    // Legacy AlterConfigs replaces the whole override set.
    let legacy = AlterConfigsRequest::default().with_resources(vec![
        alter_configs_request::AlterConfigsResource::default().with_resource_type(2).with_resource_name(sb("cfg")).with_configs(vec![
            alter_configs_request::AlterableConfig::default().with_name(sb("segment.ms")).with_value(Some(sb("60000"))),
        ]),
    ]);
    assert_eq!(c.send(&legacy).await.unwrap().responses[0].error_code, 0);
    let r = describe(&mut c).await;
    assert_eq!(get(&r, "segment.ms"), ("60000".into(), 1));
    assert_eq!(get(&r, "retention.ms"), ("3600000".into(), 4));
    // Configs survive a restart (metadata log replay).
    let mut b = b;
    b.restart();
    let mut c = b.connect().await;
    let r = describe(&mut c).await;
    assert_eq!(get(&r, "segment.ms"), ("60000".into(), 1));
}

#[tokio::test]
async fn message_too_large_and_corrupt_batches_are_refused() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "small", 1, &[("max.message.bytes", "200")]).await;
    let big = "x".repeat(500);
    let (err, _) = produce(&mut c, "small", 0, batch(&[record(0, None, Some(&big), now_ms())], Compression::None), 1).await;
    assert_eq!(err, E::MessageTooLarge.code());
    let mut corrupt = simple_batch(0, 2).to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x55;
    let (err, _) = produce(&mut c, "small", 0, corrupt.into(), 1).await;
    assert_eq!(err, E::CorruptMessage.code());
    // Nothing was appended by the refused requests.
    assert_eq!(list_offset(&mut c, "small", 0, -1).await.1, 0);
}

#[tokio::test]
async fn long_poll_returns_when_data_arrives() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "lp", 1, &[]).await;
    let addr = b.addr();
    let producer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut p = rk::client::Connection::connect(&addr, "p").await.unwrap();
        produce(&mut p, "lp", 0, simple_batch(0, 1), 1).await
    });
    let started = Instant::now();
    let p = fetch(&mut c, "lp", 0, 0, 10_000).await;
    assert_eq!(decode(&p.records).len(), 1, "woken by the append, not by the timeout");
    assert!(started.elapsed() < Duration::from_secs(9));
    assert_eq!(producer.await.unwrap().0, 0);
    // With no data the wait lasts max_wait_ms and returns empty.
    let started = Instant::now();
    let p = fetch(&mut c, "lp", 0, 1, 300).await;
    assert!(decode(&p.records).is_empty());
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn incremental_fetch_sessions() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "s", 2, &[]).await;
    produce(&mut c, "s", 0, simple_batch(0, 2), 1).await;
    produce(&mut c, "s", 1, simple_batch(0, 2), 1).await;
    let part = |p: i32, off: i64| {
        fetch_request::FetchPartition::default().with_partition(p).with_fetch_offset(off).with_partition_max_bytes(1 << 20)
    };
    let full = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(1 << 20)
        .with_session_id(0)
        .with_session_epoch(0)
        .with_topics(vec![fetch_request::FetchTopic::default().with_topic(tn("s")).with_partitions(vec![part(0, 0), part(1, 0)])]);
    let r = c.send_at(&full, 12).await.unwrap();
    assert_ne!(r.session_id, 0, "a session was created");
    assert_eq!(r.responses[0].partitions.len(), 2);
    // Incremental: only partition 0 moves forward; partition 1 has no news and is omitted.
    produce(&mut c, "s", 0, simple_batch(2, 1), 1).await;
    let inc = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(1 << 20)
        .with_session_id(r.session_id)
        .with_session_epoch(1)
        .with_topics(vec![fetch_request::FetchTopic::default().with_topic(tn("s")).with_partitions(vec![part(0, 2), part(1, 2)])]);
    let r2 = c.send_at(&inc, 12).await.unwrap();
    assert_eq!(r2.error_code, 0);
    let parts: Vec<i32> = r2.responses.iter().flat_map(|t| t.partitions.iter().map(|p| p.partition_index)).collect();
    assert_eq!(parts, vec![0]);
    assert_eq!(decode(&r2.responses[0].partitions[0].records)[0].offset, 2);
    // A wrong epoch is refused.
    let stale = inc.clone().with_session_epoch(7);
    assert_eq!(c.send_at(&stale, 12).await.unwrap().error_code, E::InvalidFetchSessionEpoch.code());
}

#[tokio::test]
async fn delete_records_moves_log_start() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "dr", 1, &[]).await;
    for i in 0..5 {
        produce(&mut c, "dr", 0, simple_batch(i * 2, 2), 1).await;
    }
    let del = |off: i64| {
        DeleteRecordsRequest::default().with_topics(vec![
            delete_records_request::DeleteRecordsTopic::default()
                .with_name(tn("dr"))
                .with_partitions(vec![delete_records_request::DeleteRecordsPartition::default().with_partition_index(0).with_offset(off)]),
        ])
    };
    let r = c.send(&del(4)).await.unwrap();
    assert_eq!((r.topics[0].partitions[0].error_code, r.topics[0].partitions[0].low_watermark), (0, 4));
    assert_eq!(list_offset(&mut c, "dr", 0, -2).await.1, 4);
    assert_eq!(fetch(&mut c, "dr", 0, 2, 0).await.error_code, E::OffsetOutOfRange.code());
    let r = c.send(&del(99)).await.unwrap();
    assert_eq!(r.topics[0].partitions[0].error_code, E::OffsetOutOfRange.code());
    let mut b = b;
    b.restart();
    let mut c = b.connect().await;
    assert_eq!(list_offset(&mut c, "dr", 0, -2).await.1, 4, "log start offset is checkpointed");
}

#[tokio::test]
async fn segments_roll_and_retention_deletes_them() {
    let b = TestBroker::start_with(&["log.retention.check.interval.ms=100"]);
    let mut c = b.connect().await;
    create_topic(&mut c, "ret", 1, &[("segment.bytes", "1000"), ("retention.bytes", "3000")]).await;
    for i in 0..40 {
        produce(&mut c, "ret", 0, simple_batch(i * 5, 5), 1).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut start = 0;
    while Instant::now() < deadline {
        start = list_offset(&mut c, "ret", 0, -2).await.1;
        if start > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(start > 0, "retention moved the log start offset");
    assert_eq!(list_offset(&mut c, "ret", 0, -1).await.1, 200);
    let logs = std::fs::read_dir(b.data_dir().join("ret-0"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "log"))
        .count();
    assert!((2..=6).contains(&logs), "segments rolled and old ones deleted: {logs}");
    let p = fetch(&mut c, "ret", 0, start, 0).await;
    assert_eq!(decode(&p.records)[0].offset, start);
}

#[tokio::test]
async fn data_survives_restart_and_crash_with_torn_tail() {
    let mut b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "dur", 1, &[("segment.bytes", "2000")]).await;
    for i in 0..20 {
        assert_eq!(produce(&mut c, "dur", 0, simple_batch(i * 3, 3), -1).await.0, 0);
    }
    b.restart();
    let mut c = b.connect().await;
    assert_eq!(list_offset(&mut c, "dur", 0, -1).await.1, 60);
    b.kill9();
    // Simulate a torn write at the end of the active segment.
    let dir = b.data_dir().join("dur-0");
    let mut logs: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "log")).collect();
    logs.sort();
    let active = logs.last().unwrap().clone();
    let mut bytes = std::fs::read(&active).unwrap();
    bytes.extend_from_slice(&simple_batch(99, 3)[..30]);
    std::fs::write(&active, &bytes).unwrap();
    // And damage an index of an older segment: it must be rebuilt.
    let idx = logs[0].with_extension("index");
    std::fs::write(&idx, b"garbage").unwrap();
    b.start_again();
    let mut c = b.connect().await;
    assert_eq!(list_offset(&mut c, "dur", 0, -1).await.1, 60, "torn tail truncated, nothing acknowledged lost");
    let (err, base) = produce(&mut c, "dur", 0, simple_batch(60, 2), -1).await;
    assert_eq!((err, base), (0, 60));
    let mut all = Vec::new();
    let mut off = 0;
    while off < 62 {
        let p = fetch(&mut c, "dur", 0, off, 0).await;
        let recs = decode(&p.records);
        assert!(!recs.is_empty());
        off = recs.last().unwrap().offset + 1;
        let have = all.len() as i64;
        all.extend(recs.into_iter().filter(|r| r.offset >= have));
    }
    let values: Vec<String> = all.iter().map(value_str).collect();
    let expected: Vec<String> = (0..62).map(|i| format!("v{i}")).collect();
    assert_eq!(values, expected);
}

#[tokio::test]
async fn log_append_time_topics_stamp_broker_time() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "lat", 1, &[("message.timestamp.type", "LogAppendTime")]).await;
    let before = now_ms();
    let req = ProduceRequest::default().with_acks(1).with_timeout_ms(5000).with_topic_data(vec![
        produce_request::TopicProduceData::default().with_name(tn("lat")).with_partition_data(vec![
            produce_request::PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch(&[record(0, None, Some("x"), 5)], Compression::None))),
        ]),
    ]);
    let r = c.send_at(&req, 12).await.unwrap();
    let t = r.responses[0].partition_responses[0].log_append_time_ms;
    assert!(t >= before, "log_append_time_ms {t}");
    // LogAppendTime lives in the batch header (max timestamp + attribute bit).
    let raw = fetch(&mut c, "lat", 0, 0, 0).await.records.unwrap();
    let h = rk::broker::log::batch::BatchHeader::parse(&raw).unwrap();
    assert!(h.is_log_append_time());
    assert_eq!(h.max_timestamp, t);
}

#[tokio::test]
async fn metadata_auto_create_and_topic_ids() {
    let b = TestBroker::start_with(&["num.partitions=3"]);
    let c = b.connect().await;
    let req = MetadataRequest::default()
        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default().with_name(Some(tn("auto")))]))
        .with_allow_auto_topic_creation(true);
    let r = c.send(&req).await.unwrap();
    assert_eq!((r.topics[0].error_code, r.topics[0].partitions.len()), (0, 3));
    let id = r.topics[0].topic_id;
    assert!(!id.is_nil());
    let no_auto = MetadataRequest::default()
        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default().with_name(Some(tn("manual")))]))
        .with_allow_auto_topic_creation(false);
    assert_eq!(c.send(&no_auto).await.unwrap().topics[0].error_code, E::UnknownTopicOrPartition.code());
    let by_id = MetadataRequest::default()
        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default().with_name(None).with_topic_id(id)]));
    let r = c.send(&by_id).await.unwrap();
    assert_eq!(r.topics[0].name.as_ref().unwrap().0.as_str(), "auto");
    assert_eq!(r.brokers[0].port as u16, b.port);
    let dc = c.send(&DescribeClusterRequest::default()).await.unwrap();
    assert_eq!(dc.brokers.len(), 1);
    assert_eq!(dc.cluster_id.as_str(), r.cluster_id.unwrap().as_str());
}

#[tokio::test]
async fn offset_for_leader_epoch_and_log_dirs() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "ep", 1, &[]).await;
    produce(&mut c, "ep", 0, simple_batch(0, 4), 1).await;
    let req = OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        offset_for_leader_epoch_request::OffsetForLeaderTopic::default().with_topic(tn("ep")).with_partitions(vec![
            offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_leader_epoch(0)
                .with_current_leader_epoch(-1),
        ]),
    ]);
    let r = c.send(&req).await.unwrap();
    let p = &r.topics[0].partitions[0];
    assert_eq!((p.error_code, p.leader_epoch, p.end_offset), (0, 0, 4));
    let r = c.send(&DescribeLogDirsRequest::default().with_topics(None)).await.unwrap();
    let t = r.results[0].topics.iter().find(|t| t.name.0.as_str() == "ep").unwrap();
    assert!(t.partitions[0].partition_size > 0);
}

#[tokio::test]
async fn topic_compression_type_recompresses_other_codecs() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "z", 1, &[("compression.type", "zstd")]).await;
    create_topic(&mut c, "p", 1, &[]).await;
    let recs: Vec<_> = (0..3).map(|i| record(i, Some("k"), Some(&format!("v{i}")), now_ms())).collect();
    produce(&mut c, "z", 0, batch(&recs, Compression::Gzip), 1).await;
    produce(&mut c, "p", 0, batch(&recs, Compression::Gzip), 1).await;
    let header = |records: Option<bytes::Bytes>| rk::broker::log::batch::BatchHeader::parse(&records.unwrap()).unwrap();
    let z = fetch(&mut c, "z", 0, 0, 0).await;
    assert_eq!(header(z.records.clone()).compression(), 4, "stored as zstd");
    assert_eq!(decode(&z.records).iter().map(value_str).collect::<Vec<_>>(), vec!["v0", "v1", "v2"]);
    let p = fetch(&mut c, "p", 0, 0, 0).await;
    assert_eq!(header(p.records).compression(), 1, "producer: stored as sent");
}

/// Fetch responses carry the records straight from the segment files (sendfile): several
/// partitions in one response, at non-compact (v4, v11) and compact (v12, v13) versions,
/// with partition_max_bytes cutting at whole batches.
#[tokio::test]
async fn zero_copy_fetch_of_several_partitions_at_every_encoding() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "zc", 3, &[]).await;
    for p in 0..3 {
        for i in 0..4 {
            produce(&mut c, "zc", p, simple_batch(p as usize * 100 + i * 10, 10), 1).await;
        }
    }
    let one_batch = simple_batch(0, 10).len() as i32;
    let id = c
        .send(
            &MetadataRequest::default()
                .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default().with_name(Some(tn("zc")))])),
        )
        .await
        .unwrap()
        .topics[0]
        .topic_id;
    for version in [4i16, 11, 12, 13] {
        let parts = (0..3)
            .map(|p| {
                // Partition 1 gets room for two batches and a half: exactly two come back.
                let max = if p == 1 { one_batch * 5 / 2 } else { 10 << 20 };
                fetch_request::FetchPartition::default().with_partition(p).with_fetch_offset(0).with_partition_max_bytes(max)
            })
            .collect();
        let topic = if version >= 13 {
            fetch_request::FetchTopic::default().with_topic_id(id)
        } else {
            fetch_request::FetchTopic::default().with_topic(tn("zc"))
        };
        let req = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_bytes(50 << 20)
            .with_min_bytes(1)
            .with_session_epoch(-1)
            .with_topics(vec![topic.with_partitions(parts)]);
        let resp = c.send_at(&req, version).await.unwrap();
        let ps = &resp.responses[0].partitions;
        assert_eq!(ps.len(), 3, "v{version}");
        for p in ps {
            let recs = decode(&p.records);
            let want = if p.partition_index == 1 { 20 } else { 40 };
            assert_eq!(recs.len(), want, "v{version} partition {}", p.partition_index);
            let base = p.partition_index as usize * 100;
            assert_eq!(value_str(&recs[0]), format!("v{base}"));
            assert_eq!(value_str(recs.last().unwrap()), format!("v{}", base + want - 1));
            assert_eq!(p.high_watermark, 40);
        }
    }
    // Regions of 64 KiB and more go out with sendfile(2) rather than a copy.
    create_topic(&mut c, "zc-big", 2, &[]).await;
    let ts = now_ms();
    for p in 0..2 {
        for round in 0..3 {
            let recs: Vec<_> = (0..8).map(|i| record(i, None, Some(&format!("{p}-{round}-{i}-{}", "x".repeat(20_000))), ts)).collect();
            assert_eq!(produce(&mut c, "zc-big", p, batch(&recs, Compression::None), 1).await.0, 0);
        }
    }
    for version in [4i16, 12] {
        let parts = (0..2)
            .map(|p| fetch_request::FetchPartition::default().with_partition(p).with_fetch_offset(8).with_partition_max_bytes(10 << 20))
            .collect();
        let req = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_bytes(50 << 20)
            .with_min_bytes(1)
            .with_session_epoch(-1)
            .with_topics(vec![fetch_request::FetchTopic::default().with_topic(tn("zc-big")).with_partitions(parts)]);
        let resp = c.send_at(&req, version).await.unwrap();
        for p in &resp.responses[0].partitions {
            assert!(p.records.as_ref().unwrap().len() > 300_000, "v{version}");
            let recs = decode(&p.records);
            assert_eq!(recs.len(), 16, "v{version}");
            assert!(value_str(&recs[0]).starts_with(&format!("{}-1-0-x", p.partition_index)));
            assert!(value_str(&recs[15]).starts_with(&format!("{}-2-7-x", p.partition_index)));
        }
    }
}

/// A large Produce request over several partitions is appended on several threads; each
/// answer still lands in its own slot (including a refused partition between them).
#[tokio::test]
async fn large_multi_partition_produce_answers_every_partition_in_place() {
    let b = TestBroker::start();
    let mut c = b.connect().await;
    create_topic(&mut c, "par", 3, &[]).await;
    produce(&mut c, "par", 1, simple_batch(0, 5), 1).await;
    let ts = now_ms();
    let big = |p: i32| {
        let recs: Vec<_> = (0..10).map(|i| record(i, None, Some(&format!("{p}-{i}-{}", "y".repeat(15_000))), ts)).collect();
        batch(&recs, Compression::None)
    };
    let parts = [0, 7, 1, 2]
        .into_iter()
        .map(|p| produce_request::PartitionProduceData::default().with_index(p).with_records(Some(big(p))))
        .collect();
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![produce_request::TopicProduceData::default().with_name(tn("par")).with_partition_data(parts)]);
    let resp = c.send_at(&req, 12).await.unwrap();
    let got: Vec<(i32, i16, i64)> = resp.responses[0].partition_responses.iter().map(|p| (p.index, p.error_code, p.base_offset)).collect();
    assert_eq!(got, vec![(0, 0, 0), (7, E::UnknownTopicOrPartition.code(), -1), (1, 0, 5), (2, 0, 0)]);
    for p in [0, 1, 2] {
        let recs = decode(&fetch(&mut c, "par", p, 0, 0).await.records);
        let skip = if p == 1 { 5 } else { 0 };
        assert_eq!(recs.len(), 10 + skip);
        assert!(value_str(&recs[skip + 9]).starts_with(&format!("{p}-9-y")));
    }
}
