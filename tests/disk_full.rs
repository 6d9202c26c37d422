//! A full disk (#17): with `log.dirs` on a small tmpfs filled up, produce answers
//! KAFKA_STORAGE_ERROR (no hang, no crash), what is on disk stays readable, and once space
//! is freed the broker takes writes again with nothing torn in between — also after a
//! restart. Needs `mount -t tmpfs` (root); where that is not permitted the test says so
//! and returns.

mod common;

use common::*;
use kafka_protocol::error::ResponseError as E;
use std::io::Write;
use std::path::Path;
use std::process::Command;

struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(mb: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(dir))
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// Writes zeros into `dir/filler` until the file system is full.
fn fill(dir: &Path) {
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0u8; 64 << 10];
    while f.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
}

fn values(recs: &[kafka_protocol::records::Record]) -> Vec<String> {
    recs.iter().map(value_str).collect()
}

async fn read_all(c: &mut rk::client::Connection, topic: &str) -> Vec<kafka_protocol::records::Record> {
    let mut out = Vec::new();
    loop {
        let p = fetch(c, topic, 0, out.len() as i64, 100).await;
        assert_eq!(p.error_code, 0);
        let recs = decode(&p.records);
        if recs.is_empty() {
            return out;
        }
        let from = out.len() as i64;
        out.extend(recs.into_iter().filter(|r| r.offset >= from));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers() {
    let Some(fs) = Tmpfs::mount(16) else {
        eprintln!("SKIPPED: mount -t tmpfs is not permitted here (needs root); the disk-full test did not run");
        return;
    };
    let dirs = format!("log.dirs={}", fs.path().display());
    let mut b = TestBroker::start_with(&[&dirs, "log.segment.bytes=1048576"]);
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "d", 1, &[]).await, 0);
    for i in 0..50 {
        assert_eq!(produce(&mut c, "d", 0, simple_batch(i * 10, 10), -1).await.0, 0);
    }
    fill(fs.path());
    // Writes fail with KAFKA_STORAGE_ERROR, promptly.
    let mut refused = 0;
    for i in 50..100 {
        let t = std::time::Instant::now();
        let (err, _) = produce(&mut c, "d", 0, simple_batch(i * 10, 200), -1).await;
        assert!(t.elapsed() < std::time::Duration::from_secs(6), "a produce on a full disk hung");
        if err != 0 {
            assert_eq!(err, E::KafkaStorageError.code(), "produce on a full disk");
            refused += 1;
        }
    }
    assert!(refused > 0, "the disk never filled up");
    assert!(b.is_running(), "the broker died on a full disk");
    // The metadata log is on the same disk: a topic cannot be created, and nothing hangs.
    let t = std::time::Instant::now();
    let created = create_topic(&mut c, "later", 1, &[]).await;
    assert!(t.elapsed() < std::time::Duration::from_secs(10), "CreateTopics on a full disk hung");
    assert!(b.is_running(), "the broker died writing metadata to a full disk");
    eprintln!("CreateTopics on a full disk: error {created}");
    // Everything acknowledged reads back.
    let before = read_all(&mut c, "d").await;
    assert!(before.len() >= 500);
    assert!(before.iter().enumerate().all(|(i, r)| r.offset == i as i64));
    // Space comes back: writes are taken again, appended right after what was there.
    std::fs::remove_file(fs.path().join("filler")).unwrap();
    let mut ok = false;
    for _ in 0..50 {
        if produce(&mut c, "d", 0, simple_batch(100_000, 10), -1).await.0 == 0 {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(ok, "writes were not taken after space was freed");
    if created != 0 {
        assert_eq!(create_topic(&mut c, "later", 1, &[]).await, 0, "topics can be created again");
    }
    let after = read_all(&mut c, "d").await;
    assert_eq!(after.len(), before.len() + 10);
    assert!(after.iter().enumerate().all(|(i, r)| r.offset == i as i64), "offsets have a gap or a torn batch");
    assert_eq!(values(&after[before.len()..]), (100_000..100_010).map(|i| format!("v{i}")).collect::<Vec<_>>());
    // And after a restart the log recovers to the same records.
    b.restart();
    let mut c = b.connect().await;
    let again = read_all(&mut c, "d").await;
    assert_eq!(values(&again), values(&after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_log_dirs_a_full_one_does_not_stop_the_others() {
    let Some(fs) = Tmpfs::mount(8) else {
        eprintln!("SKIPPED: mount -t tmpfs is not permitted here (needs root); the disk-full test did not run");
        return;
    };
    let other = tempfile::tempdir().unwrap();
    // The metadata log lives in the first dir: the healthy one.
    let dirs = format!("log.dirs={},{}", other.path().display(), fs.path().display());
    let mut b = TestBroker::start_with(&[&dirs]);
    let mut c = b.connect().await;
    assert_eq!(create_topic(&mut c, "two", 2, &[]).await, 0);
    let on_tmpfs = (0..2).find(|p| fs.path().join(format!("two-{p}")).is_dir()).expect("a partition on the tmpfs");
    let healthy = 1 - on_tmpfs;
    fill(fs.path());
    let mut refused = false;
    for i in 0..20 {
        if produce(&mut c, "two", on_tmpfs, simple_batch(i * 200, 200), -1).await.0 == E::KafkaStorageError.code() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the partition on the full dir kept taking writes");
    // The other dir's partition is served as before, and new topics can still be created.
    for i in 0..20 {
        assert_eq!(produce(&mut c, "two", healthy, simple_batch(i * 10, 10), -1).await.0, 0);
    }
    assert_eq!(read_all_partition(&mut c, "two", healthy).await, 200);
    assert_eq!(create_topic(&mut c, "fresh", 1, &[]).await, 0);
    assert!(b.is_running());
}

async fn read_all_partition(c: &mut rk::client::Connection, topic: &str, partition: i32) -> usize {
    let mut n = 0i64;
    loop {
        let p = fetch(c, topic, partition, n, 50).await;
        let recs = decode(&p.records);
        match recs.last() {
            Some(r) => n = r.offset + 1,
            None => return n as usize,
        }
    }
}
