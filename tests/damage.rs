//! Damage on disk is found and reported, never a silent stall: a damaged batch in a segment
//! after a clean shutdown answers CORRUPT_MESSAGE with a log line naming file and position;
//! after a crash, recovery truncates from the first damaged batch on (Kafka keeps a log
//! contiguous) and deletes the later segments, loudly, and consumers read everything before.

mod common;

use common::*;
use kafka_protocol::error::ResponseError as E;
use std::path::Path;

/// Positions of the batches in a segment file: (position, size).
fn batches(file: &Path) -> Vec<(usize, usize)> {
    let data = std::fs::read(file).unwrap();
    rk::broker::log::batch::walk(&data).map(|(pos, h)| (pos, h.size)).collect()
}

fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> =
        std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "log")).collect();
    v.sort();
    v
}

/// Reads the partition from offset 0 until the end or an error: (offsets read, last error).
async fn read_all(c: &mut rk::client::Connection, topic: &str) -> (Vec<i64>, i16) {
    let mut offsets = Vec::new();
    let mut next = 0;
    loop {
        let d = fetch(c, topic, 0, next, 0).await;
        if d.error_code != 0 {
            return (offsets, d.error_code);
        }
        let recs = decode(&d.records);
        if recs.is_empty() {
            return (offsets, 0);
        }
        for r in recs {
            offsets.push(r.offset);
            next = r.offset + 1;
        }
    }
}

async fn fill(c: &mut rk::client::Connection, topic: &str, batches: usize) {
    for i in 0..batches {
        // ~1.2 KiB per batch: index entries every 4 KiB.
        let recs: Vec<_> = (0..4).map(|j| record(j, Some("k"), Some(&"x".repeat(300)), now_ms())).collect();
        let (err, base) = produce(c, topic, 0, batch(&recs, kafka_protocol::records::Compression::None), 1).await;
        assert_eq!((err, base), (0, i as i64 * 4));
    }
}

#[tokio::test]
async fn a_damaged_batch_after_a_clean_shutdown_is_reported_not_a_stall() {
    let mut b = TestBroker::start();
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "dmg", 1, &[]).await, 0);
    fill(&mut c, "dmg", 20).await;
    b.stop();
    // Set the batch-length field of the third batch to 0x7fffffff.
    let file = segment_files(&b.data_dir().join("dmg-0")).pop().unwrap();
    let (pos, _) = batches(&file)[2];
    let mut data = std::fs::read(&file).unwrap();
    data[pos + 8..pos + 12].copy_from_slice(&0x7fff_ffffi32.to_be_bytes());
    std::fs::write(&file, data).unwrap();
    b.start_again();
    let mut c = b.connect().await;
    let (offsets, err) = read_all(&mut c, "dmg").await;
    assert_eq!(offsets, (0..8).collect::<Vec<i64>>(), "everything before the damage is served");
    assert_eq!(err, E::CorruptMessage.code(), "the damaged batch is an error, not an empty answer");
    let log = b.log();
    assert!(
        log.contains("corrupt record batch") && log.contains("00000000000000000000.log") && log.contains(&format!("position={pos}")),
        "the log names file and position:\n{log}"
    );
}

#[tokio::test]
async fn recovery_truncates_from_the_first_damaged_batch_and_drops_later_segments() {
    let mut b = TestBroker::start();
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "rec", 1, &[("segment.bytes", "6000")]).await, 0);
    fill(&mut c, "rec", 12).await;
    let files = segment_files(&b.data_dir().join("rec-0"));
    assert!(files.len() >= 3, "{files:?}");
    b.kill9();
    // Flip a record byte in the middle of the second-to-last segment (its CRC fails).
    let victim = &files[files.len() - 2];
    let (pos, size) = batches(victim)[1];
    let mut data = std::fs::read(victim).unwrap();
    data[pos + size - 3] ^= 0x5a;
    std::fs::write(victim, data).unwrap();
    let victim_base: i64 = victim.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    b.start_again();
    let mut c = b.connect().await;
    let (offsets, err) = read_all(&mut c, "rec").await;
    let damaged_at = victim_base + 4;
    assert_eq!(err, 0);
    assert_eq!(offsets, (0..damaged_at).collect::<Vec<i64>>(), "contiguous up to the damage, nothing after it");
    assert_eq!(list_offset(&mut c, "rec", 0, -1).await.1, damaged_at);
    assert_eq!(segment_files(&b.data_dir().join("rec-0")).len(), files.len() - 1, "the segment after the damage is gone");
    let log = b.log();
    assert!(log.contains("truncated a torn or damaged log") && log.contains("deleting a segment after the damage"), "{log}");
    // The log continues from the damage on.
    assert_eq!(produce(&mut c, "rec", 0, simple_batch(0, 1), 1).await, (0, damaged_at));
}
