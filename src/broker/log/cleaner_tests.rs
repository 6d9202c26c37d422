//! The log cleaner's tests: latest value per key, tombstones, bounded passes, and
//! transactions (aborted data, markers, open transactions, producers' last batches).

use super::*;
use crate::broker::topic_config::LogConfig;

fn rec(i: i64, key: &str, value: Option<&str>) -> Record {
    batch::plain_record(i, now_ms(), Some(Bytes::from(key.to_string())), value.map(|v| Bytes::from(v.to_string())))
}

fn append(log: &mut PartitionLog, recs: &[Record], c: Compression) {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, recs, &RecordEncodeOptions { version: 2, compression: c }).unwrap();
    log.append(&mut buf, 0, crate::broker::log::AppendOrigin::Coordinator).unwrap();
}

fn all_records(log: &PartitionLog) -> Vec<Record> {
    let mut out = Vec::new();
    let mut off = log.log_start_offset();
    while off < log.log_end_offset() {
        let r = log.read(off, 1 << 20, true).unwrap();
        if r.records.is_empty() {
            break;
        }
        let mut b = r.records;
        let recs: Vec<Record> = RecordBatchDecoder::decode_all(&mut b).unwrap().into_iter().flat_map(|s| s.records).collect();
        off = recs.last().unwrap().offset + 1;
        let last = out.last().map(|l: &Record| l.offset).unwrap_or(-1);
        out.extend(recs.into_iter().filter(|r| r.offset > last));
    }
    out
}

fn compacted_log(delete_retention_ms: i64) -> (tempfile::TempDir, PartitionLog, CleanStats) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LogConfig::defaults();
    cfg.compact = true;
    cfg.delete = false;
    cfg.segment_bytes = 600;
    cfg.delete_retention_ms = delete_retention_ms;
    let (mut log, _) = PartitionLog::open(dir.path(), cfg, true).unwrap();
    // 5 keys updated 20 times each, in batches of 2 with alternating codecs; k4 deleted.
    let mut n = 0;
    for round in 0..20 {
        let recs: Vec<Record> = (0..5).map(|k| rec(k, &format!("k{k}"), Some(&format!("v{round}-{k}")))).collect();
        for pair in recs.chunks(2) {
            let pair: Vec<Record> =
                pair.iter().enumerate().map(|(i, r)| Record { offset: i as i64, sequence: i as i32 - 1, ..r.clone() }).collect();
            append(&mut log, &pair, if n % 2 == 0 { Compression::None } else { Compression::Lz4 });
            n += 1;
        }
    }
    // The tombstone is 10 s old, so delete.retention.ms = 0 has certainly passed.
    let mut tombstone = rec(0, "k4", None);
    tombstone.timestamp -= 10_000;
    append(&mut log, &[tombstone], Compression::None);
    // Push the tombstone out of the active segment.
    for i in 0..10 {
        append(&mut log, &[rec(0, "other", Some(&format!("{i}")))], Compression::None);
    }
    let before = log.size_bytes();
    let stats = log.clean(false).unwrap().expect("dirty log gets cleaned");
    assert!(stats.bytes_before > stats.bytes_after);
    assert!(log.size_bytes() < before);
    (dir, log, stats)
}

#[test]
fn keeps_latest_per_key_with_offsets_and_tombstones() {
    let (_d, log, stats) = compacted_log(i64::MAX / 2);
    assert!(stats.records_removed > 80, "{stats:?}");
    let recs = all_records(&log);
    let latest = |k: &str| recs.iter().filter(|r| r.key.as_deref() == Some(k.as_bytes())).collect::<Vec<_>>();
    for k in 0..4 {
        let v = latest(&format!("k{k}"));
        assert_eq!(v.len(), 1, "one record per live key");
        assert_eq!(v[0].value.as_deref(), Some(format!("v19-{k}").as_bytes()));
        assert_eq!(v[0].offset, 95 + k, "offsets never change");
    }
    let t = latest("k4");
    assert_eq!((t.len(), t[0].value.is_none(), t[0].offset), (1, true, 100), "tombstone kept within delete.retention.ms");
    // Offsets are strictly increasing with gaps.
    assert!(recs.windows(2).all(|w| w[0].offset < w[1].offset));
    assert!(recs.first().unwrap().offset > 0);
    assert_eq!(log.log_end_offset(), 111);
}

#[test]
fn expired_tombstones_are_removed_and_cleaning_is_idempotent() {
    let (_d, mut log, _) = compacted_log(0);
    let recs = all_records(&log);
    assert!(!recs.iter().any(|r| r.key.as_deref() == Some(&b"k4"[..])), "tombstone removed after delete.retention.ms");
    // Nothing new is dirty: a second pass does nothing.
    assert_eq!(log.clean(false).unwrap(), None);
    // Reopening (index rebuild) sees the same cleaned log.
    let dir = log.dir().to_path_buf();
    let cfg = log.config().clone();
    drop(log);
    let (log, _) = PartitionLog::open(&dir, cfg, true).unwrap();
    assert_eq!(all_records(&log).len(), recs.len());
}

/// One transactional batch from `pid` (client origin, as a producer writes it).
fn append_txn(log: &mut PartitionLog, pid: i64, seq: i32, recs: &[(&str, &str)]) {
    let recs: Vec<Record> = recs
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: true,
            producer_id: pid,
            producer_epoch: 0,
            sequence: seq + i as i32,
            ..rec(i as i64, k, Some(v))
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &recs, &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
    log.append(&mut buf, 0, crate::broker::log::AppendOrigin::Client).unwrap();
}

fn append_marker(log: &mut PartitionLog, pid: i64, commit: bool) {
    use crate::broker::log::producer_state::{EndMarker, end_marker_batch};
    let mut m = end_marker_batch(pid, 0, EndMarker { commit, coordinator_epoch: 0 }, now_ms());
    log.append(&mut m, 0, crate::broker::log::AppendOrigin::Coordinator).unwrap();
}

#[test]
fn aborted_data_goes_markers_stay_and_open_transactions_are_not_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LogConfig::defaults();
    cfg.compact = true;
    cfg.delete = false;
    let (mut log, _) = PartitionLog::open(dir.path(), cfg, true).unwrap();
    append(&mut log, &[rec(0, "k1", Some("plain-1")), rec(1, "k2", Some("plain-2"))], Compression::None); // 0-1
    append_txn(&mut log, 5, 0, &[("k1", "aborted-1"), ("k3", "aborted-3")]); // 2-3
    append_marker(&mut log, 5, false); // 4
    append_txn(&mut log, 6, 0, &[("k2", "committed-2")]); // 5
    append_marker(&mut log, 6, true); // 6
    log.roll().unwrap();
    append_txn(&mut log, 7, 0, &[("k1", "open-1")]); // 7: an open transaction
    log.roll().unwrap();
    append(&mut log, &[rec(0, "k9", Some("x"))], Compression::None); // 8, active segment
    log.on_high_watermark(log.log_end_offset());
    assert_eq!(log.first_unstable_offset(), Some(7));

    log.clean(true).unwrap().expect("the stable segment is cleaned");
    let got: Vec<(i64, String, bool)> = all_records(&log)
        .into_iter()
        .map(|r| (r.offset, String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).to_string(), r.control))
        .collect();
    let offsets: Vec<i64> = got.iter().map(|g| g.0).collect();
    // k1: the aborted value never counted as latest, so plain-1 stays; k2: the
    // committed value replaces plain-2; k3: only an aborted value, gone. Markers stay.
    // The open transaction's segment was not touched.
    assert!(!got.iter().any(|g| g.1.starts_with("aborted")), "{got:?}");
    // Producer 5's last batch stays as an empty batch: its offsets 2-3 are a gap for
    // readers, and its sequence state survives a rebuild from the log.
    let mut raw = log.read(2, 1 << 20, true).unwrap().records;
    let first = BatchHeader::parse(&raw).unwrap();
    assert_eq!((first.base_offset, first.last_offset(), first.record_count, first.producer_id), (2, 3, 0, 5));
    assert!(RecordBatchDecoder::decode_all(&mut raw).is_ok(), "an empty batch decodes");
    // Recovery after a crash verifies the cleaned segment, empty batch included, and
    // rebuilds the same producer state.
    let cfg = log.config().clone();
    drop(log);
    let (log, truncated) = PartitionLog::open(dir.path(), cfg, false).unwrap();
    assert_eq!(truncated, 0, "nothing was cut off");
    assert_eq!(all_records(&log).iter().map(|r| r.offset).collect::<Vec<_>>(), offsets);
    assert_eq!(log.first_unstable_offset(), Some(7));
    assert_eq!(log.producer_state().get(5).map(|p| p.last_seq()), Some(1));
    assert!(got.iter().any(|g| g.0 == 0 && g.1 == "plain-1"), "{got:?}");
    assert!(!offsets.contains(&1), "plain-2 was superseded: {got:?}");
    assert!(got.iter().any(|g| g.0 == 5 && g.1 == "committed-2"), "{got:?}");
    assert!(offsets.contains(&4) && offsets.contains(&6), "markers are kept: {got:?}");
    assert!(got.iter().any(|g| g.0 == 7 && g.1 == "open-1"), "{got:?}");
}

#[test]
fn a_small_offset_map_cleans_in_several_bounded_passes() {
    let (_d, mut log, _) = compacted_log(i64::MAX / 2);
    // More updates, then passes with room for only 3 keys at a time.
    for round in 20..30 {
        let recs: Vec<Record> = (0..5).map(|k| rec(k, &format!("k{k}"), Some(&format!("v{round}-{k}")))).collect();
        for r in recs {
            append(&mut log, &[Record { offset: 0, sequence: -1, ..r }], Compression::None);
        }
    }
    let tiny = CleanerConfig { dedupe_buffer_bytes: 3 * MAP_ENTRY_BYTES, io_buffer_bytes: 512 };
    let mut passes = 0;
    while let Some(plan) = log.plan_clean(true) {
        let result = plan.execute(&tiny).unwrap();
        let done = result.stats.records_removed == 0;
        log.install_clean(result).unwrap();
        passes += 1;
        assert!(passes < 100, "passes must converge");
        if done {
            break;
        }
    }
    assert!(passes > 2, "a full map would have needed one pass, the tiny one needs several ({passes})");
    let recs = all_records(&log);
    let active_base = *log.segments.keys().next_back().unwrap();
    for k in 0..4 {
        let key = format!("k{k}");
        let live: Vec<_> = recs.iter().filter(|r| r.key.as_deref() == Some(key.as_bytes()) && r.offset < active_base).collect();
        assert!(live.len() <= 1, "{key}: at most one record below the active segment, got {}", live.len());
    }
}
