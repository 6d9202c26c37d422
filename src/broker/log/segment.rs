//! LogSegment: one `<base offset>.log` file of v2 batches plus its sparse `.index`
//! (relative offset → file position) and `.timeindex` (max timestamp before → relative
//! offset) files. A segment knows nothing about retention or which segment is active.

use super::batch::{self, BatchHeader, HEADER_LEN};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Add a sparse index entry every this many bytes (Kafka's `index.interval.bytes`).
pub const INDEX_INTERVAL: u64 = 4096;
const SCAN_CHUNK: usize = 64 * 1024;
const LOOKUP_CHUNK: usize = 4 * 1024;

pub fn file_name(base: i64, ext: &str) -> String {
    format!("{base:020}.{ext}")
}

#[derive(Debug, Clone, Copy)]
struct IndexEntry {
    rel_offset: u32,
    position: u32,
    /// Largest batch timestamp strictly before this position (-1 if none).
    max_ts_before: i64,
}

pub struct LogSegment {
    pub base_offset: i64,
    dir: PathBuf,
    log: Arc<File>,
    index_file: File,
    time_file: File,
    size: u64,
    index: Vec<IndexEntry>,
    bytes_since_index: u64,
    /// Offset one past the last batch in this segment (== base_offset when empty).
    pub next_offset: i64,
    /// Largest batch max-timestamp in this segment (-1 when empty).
    pub max_timestamp: i64,
    /// Base offset of the batch holding `max_timestamp`.
    pub max_timestamp_batch: i64,
    /// Wall-clock (or first-batch) time used for `segment.ms` rolling.
    pub roll_base_ms: Option<i64>,
}

/// What recovery found in one segment.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    pub valid_bytes: u64,
    pub truncated_bytes: u64,
    pub batches: usize,
}

impl LogSegment {
    fn path(&self, ext: &str) -> PathBuf {
        self.dir.join(file_name(self.base_offset, ext))
    }

    /// Creates a new empty segment.
    pub fn create(dir: &Path, base_offset: i64) -> io::Result<LogSegment> {
        let open =
            |ext: &str| OpenOptions::new().create(true).truncate(true).read(true).write(true).open(dir.join(file_name(base_offset, ext)));
        let log = open("log")?;
        Ok(LogSegment {
            base_offset,
            dir: dir.to_path_buf(),
            log: Arc::new(log),
            index_file: open("index")?,
            time_file: open("timeindex")?,
            size: 0,
            index: Vec::new(),
            bytes_since_index: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            max_timestamp_batch: base_offset,
            roll_base_ms: None,
        })
    }

    /// Opens an existing segment. With `recover`, every batch is CRC-checked and a torn or
    /// corrupt tail is truncated; indexes are rebuilt when missing, damaged or recovered.
    pub fn open(dir: &Path, base_offset: i64, recover: bool) -> io::Result<(LogSegment, RecoveryReport)> {
        let rw =
            |ext: &str| OpenOptions::new().create(true).truncate(false).read(true).write(true).open(dir.join(file_name(base_offset, ext)));
        let log = rw("log")?;
        let size = log.metadata()?.len();
        let mut seg = LogSegment {
            base_offset,
            dir: dir.to_path_buf(),
            log: Arc::new(log),
            index_file: rw("index")?,
            time_file: rw("timeindex")?,
            size,
            index: Vec::new(),
            bytes_since_index: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            max_timestamp_batch: base_offset,
            roll_base_ms: None,
        };
        let mut report = RecoveryReport { valid_bytes: size, ..Default::default() };
        if recover || !seg.load_index()? {
            report = seg.rebuild(recover)?;
        } else {
            // Index is trusted: only walk the tail after the last entry.
            let from = seg.index.last().map(|e| e.position as u64).unwrap_or(0);
            let mut max_ts = seg.index.last().map(|e| e.max_ts_before).unwrap_or(-1);
            let mut max_batch = base_offset;
            let mut next = seg.index.last().map(|e| base_offset + e.rel_offset as i64).unwrap_or(base_offset);
            let mut end = from;
            seg.scan_headers(from, |pos, h| {
                if h.max_timestamp > max_ts {
                    max_ts = h.max_timestamp;
                    max_batch = h.base_offset;
                }
                next = h.next_offset();
                end = pos + h.size as u64;
                true
            })?;
            if end != size {
                // The tail does not parse: the index cannot be trusted either.
                report = seg.rebuild(true)?;
            } else {
                seg.next_offset = next;
                seg.max_timestamp = max_ts;
                seg.max_timestamp_batch = max_batch;
                seg.bytes_since_index = size - from;
            }
        }
        if seg.size > 0 {
            let mut first = [0u8; HEADER_LEN];
            if seg.log.read_exact_at(&mut first, 0).is_ok() {
                seg.roll_base_ms = BatchHeader::parse(&first).ok().map(|h| h.max_timestamp);
            }
        }
        Ok((seg, report))
    }

    /// Loads and sanity-checks both index files; false means they must be rebuilt.
    fn load_index(&mut self) -> io::Result<bool> {
        let read_all = |f: &File| -> io::Result<Vec<u8>> {
            let len = f.metadata()?.len() as usize;
            let mut buf = vec![0u8; len];
            f.read_exact_at(&mut buf, 0)?;
            Ok(buf)
        };
        let idx = read_all(&self.index_file)?;
        let tix = read_all(&self.time_file)?;
        if idx.len() % 8 != 0 || tix.len() % 12 != 0 || idx.len() / 8 != tix.len() / 12 {
            return Ok(false);
        }
        let mut entries = Vec::with_capacity(idx.len() / 8);
        let (mut last_rel, mut last_pos, mut last_ts) = (0u32, 0u32, i64::MIN);
        for (i, (o, t)) in idx.chunks_exact(8).zip(tix.chunks_exact(12)).enumerate() {
            let rel = u32::from_be_bytes(o[0..4].try_into().expect("4"));
            let pos = u32::from_be_bytes(o[4..8].try_into().expect("4"));
            let ts = i64::from_be_bytes(t[0..8].try_into().expect("8"));
            let trel = u32::from_be_bytes(t[8..12].try_into().expect("4"));
            let monotonic = i == 0 || (rel > last_rel && pos > last_pos && ts >= last_ts);
            if trel != rel || !monotonic || pos as u64 >= self.size {
                return Ok(false);
            }
            (last_rel, last_pos, last_ts) = (rel, pos, ts);
            entries.push(IndexEntry { rel_offset: rel, position: pos, max_ts_before: ts });
        }
        self.index = entries;
        Ok(true)
    }

    /// Rebuilds the indexes by scanning the whole log; with `verify`, CRCs are checked and
    /// the file is truncated at the first invalid batch.
    fn rebuild(&mut self, verify: bool) -> io::Result<RecoveryReport> {
        self.index.clear();
        self.index_file.set_len(0)?;
        self.time_file.set_len(0)?;
        self.bytes_since_index = 0;
        self.next_offset = self.base_offset;
        self.max_timestamp = -1;
        self.max_timestamp_batch = self.base_offset;
        let mut pos = 0u64;
        let mut batches = 0;
        let mut buf = Vec::new();
        loop {
            let mut head = [0u8; HEADER_LEN];
            if pos + HEADER_LEN as u64 > self.size || self.log.read_exact_at(&mut head, pos).is_err() {
                break;
            }
            let Ok(h) = BatchHeader::parse(&head) else { break };
            if pos + h.size as u64 > self.size || h.base_offset < self.next_offset {
                break;
            }
            if verify {
                buf.resize(h.size, 0);
                self.log.read_exact_at(&mut buf, pos)?;
                if !batch::crc_ok(&buf) {
                    break;
                }
            }
            self.track_batch(pos, &h)?;
            pos += h.size as u64;
            batches += 1;
        }
        let truncated = self.size - pos;
        if truncated > 0 {
            self.log.set_len(pos)?;
            self.size = pos;
        }
        Ok(RecoveryReport { valid_bytes: pos, truncated_bytes: truncated, batches })
    }

    /// Updates in-memory state and indexes for a batch written at `pos`.
    fn track_batch(&mut self, pos: u64, h: &BatchHeader) -> io::Result<()> {
        if pos == 0 || self.bytes_since_index >= INDEX_INTERVAL {
            if pos > 0 {
                let e = IndexEntry {
                    rel_offset: (h.base_offset - self.base_offset) as u32,
                    position: pos as u32,
                    max_ts_before: self.max_timestamp,
                };
                let mut o = [0u8; 8];
                o[0..4].copy_from_slice(&e.rel_offset.to_be_bytes());
                o[4..8].copy_from_slice(&e.position.to_be_bytes());
                let mut t = [0u8; 12];
                t[0..8].copy_from_slice(&e.max_ts_before.to_be_bytes());
                t[8..12].copy_from_slice(&e.rel_offset.to_be_bytes());
                let n = self.index.len() as u64;
                self.index_file.write_all_at(&o, n * 8)?;
                self.time_file.write_all_at(&t, n * 12)?;
                self.index.push(e);
            }
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += h.size as u64;
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
            self.max_timestamp_batch = h.base_offset;
        }
        self.next_offset = h.next_offset();
        Ok(())
    }

    /// Appends already-validated, offset-assigned batches (`headers` describe `data`).
    pub fn append(&mut self, data: &[u8], headers: &[(usize, BatchHeader)], now_ms: i64) -> io::Result<()> {
        self.log.write_all_at(data, self.size)?;
        let start = self.size;
        self.size += data.len() as u64;
        for (pos, h) in headers {
            self.track_batch(start + *pos as u64, h)?;
        }
        if self.roll_base_ms.is_none() {
            self.roll_base_ms = Some(now_ms);
        }
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn file(&self) -> Arc<File> {
        self.log.clone()
    }
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Walks batch headers from `pos`, calling `f(pos, header)` until it returns false.
    pub fn scan_headers(&self, pos: u64, f: impl FnMut(u64, &BatchHeader) -> bool) -> io::Result<()> {
        self.scan_headers_with(pos, SCAN_CHUNK, f)
    }

    /// `scan_headers` reading `chunk` bytes at a time: small chunks for lookups that stop
    /// after a few batches (a 64 KiB read per header would cost more than the lookup).
    fn scan_headers_with(&self, mut pos: u64, chunk: usize, mut f: impl FnMut(u64, &BatchHeader) -> bool) -> io::Result<()> {
        let mut buf = vec![0u8; chunk];
        while pos + HEADER_LEN as u64 <= self.size {
            let want = ((self.size - pos) as usize).min(chunk);
            self.log.read_exact_at(&mut buf[..want], pos)?;
            let mut o = 0usize;
            while o + HEADER_LEN <= want {
                let Ok(h) = BatchHeader::parse(&buf[o..]) else { return Ok(()) };
                if !f(pos + o as u64, &h) {
                    return Ok(());
                }
                o += h.size;
            }
            pos += o as u64;
        }
        Ok(())
    }

    /// Finds the first batch whose last offset is >= `offset`: (position, header).
    pub fn find_batch(&self, offset: i64) -> io::Result<Option<(u64, BatchHeader)>> {
        let rel = (offset - self.base_offset).max(0);
        let i = self.index.partition_point(|e| (e.rel_offset as i64) <= rel);
        let from = if i == 0 { 0 } else { self.index[i - 1].position as u64 };
        let mut found = None;
        self.scan_headers_with(from, LOOKUP_CHUNK, |pos, h| {
            if h.last_offset() >= offset {
                found = Some((pos, *h));
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// Finds the first batch whose max timestamp is >= `ts`.
    pub fn find_batch_by_time(&self, ts: i64) -> io::Result<Option<(u64, BatchHeader)>> {
        let i = self.index.partition_point(|e| e.max_ts_before < ts);
        let from = if i == 0 { 0 } else { self.index[i - 1].position as u64 };
        let mut found = None;
        self.scan_headers(from, |pos, h| {
            if h.max_timestamp >= ts {
                found = Some((pos, *h));
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// How many bytes of whole batches from `pos` fit in `max_bytes` (KIP-74: the first
    /// batch whole even if larger, when `min_one`), stopping before the first batch that
    /// reaches `max_offset`. Reads headers only.
    pub fn extent(&self, pos: u64, max_bytes: usize, min_one: bool, max_offset: i64) -> io::Result<usize> {
        let mut len = 0usize;
        let mut first = 0usize;
        self.scan_headers_with(pos, LOOKUP_CHUNK, |_, h| {
            if h.last_offset() >= max_offset {
                return false;
            }
            if first == 0 {
                first = h.size;
            }
            if len + h.size > max_bytes || pos + (len + h.size) as u64 > self.size {
                return false;
            }
            len += h.size;
            true
        })?;
        if len == 0 && min_one && pos + first as u64 <= self.size {
            len = first;
        }
        Ok(len)
    }

    /// Removes the batch holding `offset` and everything after it; indexes follow.
    pub fn truncate_to(&mut self, offset: i64) -> io::Result<()> {
        let Some((pos, _)) = self.find_batch(offset)? else { return Ok(()) };
        self.log.set_len(pos)?;
        self.size = pos;
        self.rebuild(false)?;
        Ok(())
    }

    pub fn read(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.log.read_exact_at(&mut buf, pos)?;
        Ok(buf)
    }

    pub fn flush(&self) -> io::Result<()> {
        self.log.sync_data()?;
        self.index_file.sync_data()?;
        self.time_file.sync_data()
    }

    /// Time of last modification, used for retention when batches carry no timestamps.
    pub fn modified_ms(&self) -> i64 {
        self.log
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// Removes the segment's files.
    pub fn delete(self) -> io::Result<()> {
        for ext in ["log", "index", "timeindex"] {
            match std::fs::remove_file(self.path(ext)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}
