//! Raw transactional requests for the `rk transactions` tests: InitProducerId (with or
//! without a transactional id), AddPartitionsToTxn, transactional Produce, EndTxn, and the
//! read_committed end offset (LSO). Plus a fake broker without the transaction APIs.
#![allow(dead_code)]

pub mod fake_broker;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::*;
use rk::client::Connection;
use std::time::Duration;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn tn(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// Retries a coordinator request while the coordinator is loading or moving.
pub async fn retrying<T>(mut f: impl AsyncFnMut() -> (i16, T)) -> T {
    for _ in 0..100 {
        let (code, v) = f().await;
        match code {
            0 => return v,
            14 | 15 | 16 | 51 => tokio::time::sleep(Duration::from_millis(100)).await,
            c => panic!("coordinator error {c}"),
        }
    }
    panic!("coordinator never became ready")
}

/// InitProducerId: transactional when `id` is given, else an idempotent producer id.
pub async fn init_producer(c: &Connection, id: Option<&str>) -> (i64, i16) {
    if let Some(id) = id {
        let find = FindCoordinatorRequest::default().with_key_type(1).with_coordinator_keys(vec![sb(id)]);
        retrying(async || (c.send(&find).await.unwrap().coordinators[0].error_code, ())).await;
    }
    let req = InitProducerIdRequest::default()
        .with_transactional_id(id.map(|s| TransactionalId(sb(s))))
        .with_transaction_timeout_ms(300_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    retrying(async || {
        let r = c.send(&req).await.unwrap();
        (r.error_code, (r.producer_id.0, r.producer_epoch))
    })
    .await
}

pub async fn add_partition(c: &Connection, id: &str, (pid, epoch): (i64, i16), topic: &str, partition: i32) {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(sb(id)))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![
            add_partitions_to_txn_request::AddPartitionsToTxnTopic::default().with_name(tn(topic)).with_partitions(vec![partition]),
        ]);
    retrying(async || {
        let r = c.send_at(&req, 3).await.unwrap();
        (r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code, ())
    })
    .await
}

pub async fn end_txn(c: &Connection, id: &str, (pid, epoch): (i64, i16), commit: bool) {
    let req = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(sb(id)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    retrying(async || (c.send(&req).await.unwrap().error_code, ())).await;
}

/// Produces `n` transactional records (sequence from 0) stamped `ts`; returns the base
/// offset. `id` is the transactional id the request carries.
pub async fn produce_txn(c: &Connection, id: &str, (pid, epoch): (i64, i16), topic: &str, n: usize, ts: i64) -> i64 {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            transactional: true,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: ts,
            key: None,
            value: Some(Bytes::from(format!("txn-{i}"))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
    let req =
        ProduceRequest::default().with_transactional_id(Some(TransactionalId(sb(id)))).with_acks(-1).with_timeout_ms(5000).with_topic_data(
            vec![produce_request::TopicProduceData::default().with_name(tn(topic)).with_partition_data(vec![
                produce_request::PartitionProduceData::default().with_index(0).with_records(Some(buf.freeze())),
            ])],
        );
    let resp = c.send_at(&req, 12).await.unwrap();
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 0, "transactional produce refused: {:?}", p.error_message);
    p.base_offset
}

/// The last stable offset of partition 0: ListOffsets(latest) under read_committed.
pub async fn lso(c: &Connection, topic: &str) -> i64 {
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_isolation_level(1).with_topics(vec![
        list_offsets_request::ListOffsetsTopic::default()
            .with_name(tn(topic))
            .with_partitions(vec![list_offsets_request::ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1)]),
    ]);
    let p = &c.send(&req).await.unwrap().topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}
