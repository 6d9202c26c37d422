//! Kafka's sequence, epoch and transaction rules, snapshots, and the marker format.

use super::*;
use crate::broker::log::batch::BatchHeader;

fn batch(pid: i64, epoch: i16, seq: i32, n: i32, offset: i64, txn: bool) -> BatchHeader {
    BatchHeader {
        base_offset: offset,
        size: 100,
        leader_epoch: 0,
        attributes: if txn { 0x10 } else { 0 },
        last_offset_delta: n - 1,
        base_timestamp: 1000,
        max_timestamp: 1000,
        producer_id: pid,
        producer_epoch: epoch,
        base_sequence: seq,
        record_count: n,
    }
}

fn marker(pid: i64, epoch: i16, offset: i64) -> BatchHeader {
    let mut h = batch(pid, epoch, -1, 1, offset, true);
    h.attributes = 0x30;
    h
}

fn code(r: Result<Option<BatchMetadata>, LogError>) -> i16 {
    match r {
        Ok(None) => 0,
        Ok(Some(_)) => -100,
        Err(e) => e.code(),
    }
}

#[test]
fn sequences_duplicates_and_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = ProducerStateManager::new(dir.path());
    // Unknown producer: any sequence (KIP-360).
    assert_eq!(code(m.check_client_batch(&batch(7, 0, 42, 3, 0, false))), 0);
    m.update(&batch(7, 0, 0, 3, 0, false), None);
    m.update(&batch(7, 0, 3, 2, 3, false), None);
    // A retry of a stored batch is a duplicate with the original offsets.
    let dup = m.check_client_batch(&batch(7, 0, 0, 3, 99, false)).unwrap().unwrap();
    assert_eq!((dup.first_offset(), dup.last_offset), (0, 2));
    // Next in sequence is fine; a gap or a repeat of part of a batch is out of order.
    assert_eq!(code(m.check_client_batch(&batch(7, 0, 5, 1, 5, false))), 0);
    assert_eq!(code(m.check_client_batch(&batch(7, 0, 7, 1, 5, false))), E::OutOfOrderSequenceNumber.code());
    assert_eq!(code(m.check_client_batch(&batch(7, 0, 1, 1, 5, false))), E::OutOfOrderSequenceNumber.code());
    // A new epoch starts at sequence 0; an old epoch is refused.
    assert_eq!(code(m.check_client_batch(&batch(7, 1, 3, 1, 5, false))), E::OutOfOrderSequenceNumber.code());
    assert_eq!(code(m.check_client_batch(&batch(7, 1, 0, 1, 5, false))), 0);
    m.update(&batch(7, 1, 0, 1, 5, false), None);
    assert_eq!(code(m.check_client_batch(&batch(7, 0, 6, 1, 6, false))), E::InvalidProducerEpoch.code());
    // Only the last five batches are remembered.
    for i in 1..=6 {
        m.update(&batch(7, 1, i, 1, 5 + i as i64, false), None);
    }
    assert!(m.check_client_batch(&batch(7, 1, 1, 1, 0, false)).is_err(), "batch 1 fell out of the window");
    assert!(m.check_client_batch(&batch(7, 1, 6, 1, 0, false)).unwrap().is_some());
    // Sequences wrap at i32::MAX.
    m.update(&batch(8, 0, i32::MAX - 1, 2, 100, false), None);
    assert_eq!(code(m.check_client_batch(&batch(8, 0, 0, 1, 102, false))), 0);
}

#[test]
fn transactions_set_the_first_unstable_offset_until_their_marker_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = ProducerStateManager::new(dir.path());
    m.update(&batch(1, 0, 0, 2, 10, true), None);
    m.update(&batch(2, 0, 0, 1, 12, true), None);
    assert_eq!(m.first_unstable_offset(), Some(10));
    // A non-transactional write while the transaction is open is refused.
    assert_eq!(code(m.check_client_batch(&batch(1, 0, 2, 1, 13, false))), E::InvalidTxnState.code());
    let done = m.update(&marker(1, 0, 13), Some(EndMarker { commit: false, coordinator_epoch: 3 })).unwrap();
    assert_eq!(done, CompletedTxn { producer_id: 1, first_offset: 10, marker_offset: 13, aborted: true });
    assert_eq!(m.last_stable_offset_after(&done), 12, "producer 2's open transaction");
    assert_eq!(m.first_unstable_offset(), Some(10), "until the HW passes the marker");
    m.on_high_watermark(14);
    assert_eq!(m.first_unstable_offset(), Some(12));
    // A marker from an older coordinator epoch is fenced.
    let err = m.check_marker(&marker(1, 0, 20), &EndMarker { commit: true, coordinator_epoch: 2 }).unwrap_err();
    assert_eq!(err.code(), E::TransactionCoordinatorFenced.code());
    m.update(&marker(2, 0, 14), Some(EndMarker { commit: true, coordinator_epoch: 3 }));
    m.on_high_watermark(15);
    assert_eq!(m.first_unstable_offset(), None);
}

#[test]
fn snapshots_round_trip_and_damage_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = ProducerStateManager::new(dir.path());
    m.update(&batch(1, 2, 0, 3, 0, false), None);
    m.update(&batch(5, 0, 0, 1, 3, true), None);
    m.take_snapshot(true).unwrap();
    assert!(dir.path().join("00000000000000000004.snapshot").exists());
    let mut n = ProducerStateManager::new(dir.path());
    assert_eq!(n.load_snapshot(100), Some(4));
    assert_eq!(n.get(1).unwrap().epoch, 2);
    assert!(n.check_client_batch(&batch(1, 2, 0, 3, 9, false)).unwrap().is_some(), "the last batch is remembered");
    assert_eq!(n.first_unstable_offset(), Some(3), "the open transaction came back");
    // A damaged newer snapshot is deleted and the older one used.
    m.update(&batch(1, 2, 3, 1, 4, false), None);
    m.take_snapshot(true).unwrap();
    let newer = dir.path().join("00000000000000000005.snapshot");
    let mut bytes = std::fs::read(&newer).unwrap();
    bytes[12] ^= 1;
    std::fs::write(&newer, bytes).unwrap();
    let mut n = ProducerStateManager::new(dir.path());
    assert_eq!(n.load_snapshot(100), Some(4));
    assert!(!newer.exists());
}

#[test]
fn marker_batches_parse_back() {
    let b = end_marker_batch(77, 3, EndMarker { commit: true, coordinator_epoch: 9 }, 1234);
    assert_eq!(b.len(), 78);
    let h = crate::broker::log::batch::validate(&b).unwrap();
    assert!(h.is_control() && h.is_transactional());
    assert_eq!((h.producer_id, h.producer_epoch), (77, 3));
    assert_eq!(parse_end_marker(&b), Some(EndMarker { commit: true, coordinator_epoch: 9 }));
}
