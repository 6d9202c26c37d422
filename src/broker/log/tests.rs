//! Storage-engine tests below the wire, on a manual clock: rolling by age, retention by
//! time, truncation (in a segment and across segments), the leader epoch cache, replicated
//! appends, and the partition state on top (HW rule, reads bounded by the HW, checkpointed
//! HW on reopen).

use super::batch::plain_record;
use super::{AppendOrigin, Clock, LogError, PartitionLog};
use crate::broker::replica::{FetchIsolation, Partition, PartitionState};
use crate::broker::topic_config::LogConfig;
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions};

const T0: i64 = 1_700_000_000_000;

fn batch(n: usize, ts: i64, tag: &str) -> BytesMut {
    let recs: Vec<_> = (0..n).map(|i| plain_record(i as i64, ts, None, Some(Bytes::from(format!("{tag}{i}"))))).collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &recs, &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
    buf
}

fn values(log: &PartitionLog, from: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut offset = from;
    loop {
        let r = log.read(offset, 1 << 20, true).unwrap();
        if r.records.is_empty() {
            return out;
        }
        for set in RecordBatchDecoder::decode_all(&mut r.records.clone()).unwrap() {
            for rec in set.records {
                offset = rec.offset + 1;
                out.push((rec.offset, String::from_utf8(rec.value.unwrap().to_vec()).unwrap()));
            }
        }
    }
}

fn open(dir: &std::path::Path, cfg: LogConfig, clock: Clock) -> PartitionLog {
    PartitionLog::open_with_clock(dir, cfg, true, clock).unwrap().0
}

#[test]
fn rolls_by_age_and_retention_deletes_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, now) = Clock::manual(T0);
    let mut cfg = LogConfig::defaults();
    cfg.segment_ms = 1000;
    cfg.retention_ms = 5000;
    let mut log = open(dir.path(), cfg, clock);
    log.append(&mut batch(2, T0, "a"), 0, AppendOrigin::Client).unwrap();
    now.store(T0 + 500, std::sync::atomic::Ordering::Relaxed);
    log.append(&mut batch(2, T0 + 500, "b"), 0, AppendOrigin::Client).unwrap();
    assert_eq!(log.segment_count(), 1, "younger than segment.ms: no roll");
    now.store(T0 + 1500, std::sync::atomic::Ordering::Relaxed);
    log.append(&mut batch(2, T0 + 1500, "c"), 0, AppendOrigin::Client).unwrap();
    assert_eq!(log.segment_count(), 2, "segment.ms passed: rolled");
    // Retention goes by the newest timestamp of a segment.
    assert_eq!(log.enforce_retention(T0 + 5400).unwrap(), 0);
    assert_eq!(log.enforce_retention(T0 + 5600).unwrap(), 1);
    assert_eq!(log.log_start_offset(), 4);
    assert_eq!(values(&log, 4), vec![(4, "c0".into()), (5, "c1".into())]);
}

#[test]
fn truncation_within_and_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LogConfig::defaults();
    cfg.segment_bytes = 200; // about two batches per segment
    let mut log = open(dir.path(), cfg, Clock::System);
    for tag in ["a", "b", "c", "d", "e"] {
        log.append(&mut batch(2, T0, tag), 0, AppendOrigin::Client).unwrap();
    }
    assert_eq!(log.log_end_offset(), 10);
    assert!(log.segment_count() >= 2);
    // Offset 7 is inside batch [6, 7]: the whole batch goes, as in Kafka.
    assert_eq!(log.truncate_to(7).unwrap(), 6);
    assert_eq!(values(&log, 0).last(), Some(&(5, "c1".to_string())));
    // Truncation across a segment boundary, then appends continue at the new end.
    assert_eq!(log.truncate_to(2).unwrap(), 2);
    log.append(&mut batch(1, T0, "z"), 0, AppendOrigin::Client).unwrap();
    assert_eq!(values(&log, 0), vec![(0, "a0".into()), (1, "a1".into()), (2, "z0".into())]);
    // Reopening finds the same log.
    drop(log);
    let log = open(dir.path(), LogConfig::defaults(), Clock::System);
    assert_eq!(log.log_end_offset(), 3);
    let mut log = log;
    log.truncate_fully_and_start_at(100).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (100, 100));
    let info = log.append(&mut batch(1, T0, "n"), 0, AppendOrigin::Client).unwrap();
    assert_eq!(info.base_offset, 100);
}

#[test]
fn leader_epochs_are_recorded_and_survive_truncation_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::defaults(), Clock::System);
    log.append(&mut batch(3, T0, "a"), 0, AppendOrigin::Client).unwrap();
    log.append(&mut batch(2, T0, "b"), 3, AppendOrigin::Client).unwrap();
    log.append(&mut batch(2, T0, "c"), 3, AppendOrigin::Client).unwrap();
    assert_eq!(log.end_offset_for_epoch(0), (0, 3));
    assert_eq!(log.end_offset_for_epoch(2), (0, 3));
    assert_eq!(log.end_offset_for_epoch(3), (3, 7));
    drop(log);
    let mut log = open(dir.path(), LogConfig::defaults(), Clock::System);
    assert_eq!(log.end_offset_for_epoch(1), (0, 3));
    log.truncate_to(3).unwrap();
    assert_eq!(log.end_offset_for_epoch(0), (0, 3));
    assert_eq!(log.end_offset_for_epoch(3), (-1, -1), "epoch 3's entries went with the truncated data");
    // A new leader epoch starts at the log end before anything is written in it.
    log.assign_epoch_start(5).unwrap();
    assert_eq!(log.end_offset_for_epoch(4), (0, 3));
    // Leadership moved before anything was written in epoch 5: the new leader says this
    // log diverged at its end, and truncating there must drop the data-less entry, or the
    // follower would send epoch 5 (and be told it diverged) forever.
    assert_eq!(log.truncate_to(3).unwrap(), 3);
    assert_eq!(log.epochs().latest_epoch(), Some(0), "the empty epoch's entry is gone");
}

#[test]
fn replicated_appends_keep_the_leaders_offsets_and_epochs() {
    let leader_dir = tempfile::tempdir().unwrap();
    let follower_dir = tempfile::tempdir().unwrap();
    let mut leader = open(leader_dir.path(), LogConfig::defaults(), Clock::System);
    leader.append(&mut batch(2, T0, "a"), 4, AppendOrigin::Client).unwrap();
    leader.append(&mut batch(3, T0, "b"), 6, AppendOrigin::Client).unwrap();
    let fetched = leader.read(0, 1 << 20, true).unwrap().records;
    let mut follower = open(follower_dir.path(), LogConfig::defaults(), Clock::System);
    let info = follower.append(&mut BytesMut::from(&fetched[..]), 99, AppendOrigin::Replication).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, 4));
    assert_eq!(follower.end_offset_for_epoch(4), (4, 2));
    assert_eq!(values(&follower, 0), values(&leader, 0));
    // The same batches again do not continue the log.
    let again = follower.append(&mut BytesMut::from(&fetched[..]), 0, AppendOrigin::Replication);
    assert!(matches!(again, Err(LogError::UnexpectedAppendOffset { expected: 5, got: 0 })));
}

fn state(isr: Vec<i32>) -> PartitionState {
    PartitionState { leader: 1, leader_epoch: 0, partition_epoch: 0, replicas: vec![1, 2], isr }
}

#[test]
fn high_watermark_follows_the_isr_and_bounds_consumer_reads() {
    let dir = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::new_v4();
    let p = Partition::open(dir.path(), LogConfig::defaults(), true, ("t", id, 0), 1, state(vec![1, 2]), None).unwrap();
    p.append(&mut batch(3, T0, "a"), AppendOrigin::Client).unwrap();
    let o = p.offsets();
    assert_eq!((o.log_end, o.high_watermark), (3, 0), "follower 2 has nothing yet");
    let (region, _) = p.read_region(0, 1 << 20, true, FetchIsolation::HighWatermark).unwrap();
    assert!(region.is_none(), "consumers read below the HW only");
    assert!(p.read_region(0, 1 << 20, true, FetchIsolation::LogEnd).unwrap().0.is_some(), "followers read to the log end");
    p.update_follower_log_end(2, 3, T0);
    assert_eq!(p.offsets().high_watermark, 3);
    p.update_follower_log_end(2, 1, T0);
    assert_eq!(p.offsets().high_watermark, 3, "the HW never moves back");
    // Shrinking the ISR to the leader alone lets the HW reach the log end.
    p.append(&mut batch(2, T0, "b"), AppendOrigin::Client).unwrap();
    assert_eq!(p.offsets().high_watermark, 3);
    p.update_state(state(vec![1])).unwrap();
    assert_eq!(p.offsets().high_watermark, 5);
    // A follower (not the leader) refuses client appends.
    let mut follower = state(vec![1, 2]);
    follower.leader = 2;
    follower.leader_epoch = 1;
    p.update_state(follower).unwrap();
    assert!(matches!(p.append(&mut batch(1, T0, "c"), AppendOrigin::Client), Err(LogError::NotLeaderOrFollower)));
    drop(p);
    // Reopened with a checkpointed HW beyond the log end: clamped.
    let p = Partition::open(dir.path(), LogConfig::defaults(), true, ("t", id, 0), 1, state(vec![1, 2]), Some(99)).unwrap();
    assert_eq!(p.offsets().high_watermark, 5);
    assert_eq!(p.mark_deleted(), dir.path());
    assert!(matches!(p.append(&mut batch(1, T0, "d"), AppendOrigin::Client), Err(LogError::Deleted)));
}
