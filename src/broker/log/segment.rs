//! LogSegment: one `<base offset>.log` file of v2 batches plus its sparse `.index`
//! (relative offset → file position) and `.timeindex` (max timestamp before → relative
//! offset). The `.log` is opened through the descriptor budget (`file_cache.rs`). Index
//! files hold no descriptor: the active segment keeps its entries in memory and writes
//! them out on flush, roll and close; sealed segments map their files on first lookup, so
//! their indexes live in the page cache, not on the heap. A segment knows nothing about
//! retention or which segment is active.

use super::batch::{self, BatchHeader, HEADER_LEN};
use super::file_cache::SegmentFile;
use memmap2::Mmap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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

/// A sealed segment's index, as found on first use.
enum Sealed {
    Mapped(Mmap, Mmap),
    /// Mapping failed (e.g. vm.max_map_count): entries read onto the heap instead.
    Heap(Vec<IndexEntry>),
}

enum Entries {
    /// The active segment: in memory; `persisted` of them are in the files already.
    Loaded { entries: Vec<IndexEntry>, persisted: usize },
    /// A sealed segment: the files, mapped on first lookup.
    Sealed(OnceLock<Sealed>),
}

pub struct LogSegment {
    pub base_offset: i64,
    dir: PathBuf,
    file: SegmentFile,
    size: u64,
    index: Entries,
    bytes_since_index: u64,
    /// Offset one past the last batch in this segment (== base_offset when empty).
    pub next_offset: i64,
    /// Largest batch max-timestamp in this segment (-1 when empty).
    pub max_timestamp: i64,
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

fn corrupt(path: &Path, pos: u64, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("corrupt record batch in {} at position {pos}: {why}", path.display()))
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn entry_bytes(e: &IndexEntry) -> ([u8; 8], [u8; 12]) {
    let mut o = [0u8; 8];
    o[0..4].copy_from_slice(&e.rel_offset.to_be_bytes());
    o[4..8].copy_from_slice(&e.position.to_be_bytes());
    let mut t = [0u8; 12];
    t[0..8].copy_from_slice(&e.max_ts_before.to_be_bytes());
    t[8..12].copy_from_slice(&e.rel_offset.to_be_bytes());
    (o, t)
}

fn parse_entry(idx: &[u8], tix: &[u8], i: usize) -> IndexEntry {
    let u32_at = |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    IndexEntry {
        rel_offset: u32_at(idx, i * 8),
        position: u32_at(idx, i * 8 + 4),
        max_ts_before: i64::from_be_bytes(tix[i * 12..i * 12 + 8].try_into().expect("8 bytes")),
    }
}

impl Sealed {
    fn len(&self) -> usize {
        match self {
            Sealed::Mapped(i, t) => (i.len() / 8).min(t.len() / 12),
            Sealed::Heap(v) => v.len(),
        }
    }
    fn get(&self, i: usize) -> IndexEntry {
        match self {
            Sealed::Mapped(idx, tix) => parse_entry(idx, tix, i),
            Sealed::Heap(v) => v[i],
        }
    }
}

impl LogSegment {
    fn path(&self, ext: &str) -> PathBuf {
        self.dir.join(file_name(self.base_offset, ext))
    }

    fn blank(dir: &Path, base_offset: i64, file: SegmentFile, size: u64) -> LogSegment {
        LogSegment {
            base_offset,
            dir: dir.to_path_buf(),
            file,
            size,
            index: Entries::Loaded { entries: Vec::new(), persisted: 0 },
            bytes_since_index: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            roll_base_ms: None,
        }
    }

    /// Creates a new empty (active) segment. Its index files appear with the first entry.
    pub fn create(dir: &Path, base_offset: i64) -> io::Result<LogSegment> {
        for ext in ["index", "timeindex"] {
            remove_if_exists(&dir.join(file_name(base_offset, ext)))?;
        }
        let file = SegmentFile::new(&dir.join(file_name(base_offset, "log")), true)?;
        Ok(Self::blank(dir, base_offset, file, 0))
    }

    /// Opens an existing segment. With `recover`, every batch is CRC-checked and a torn or
    /// corrupt tail is truncated; indexes are rebuilt when missing, damaged or recovered.
    /// Without it the index files are trusted (Kafka's choice) and only the batches after
    /// the last index entry are walked, which also finds a damaged tail. `active` keeps the
    /// entries in memory for appends; otherwise they are mapped when first needed.
    pub fn open(dir: &Path, base_offset: i64, recover: bool, active: bool) -> io::Result<(LogSegment, RecoveryReport)> {
        let path = dir.join(file_name(base_offset, "log"));
        let size = std::fs::metadata(&path)?.len();
        let mut seg = Self::blank(dir, base_offset, SegmentFile::new(&path, false)?, size);
        let mut report = RecoveryReport { valid_bytes: size, ..Default::default() };
        let trusted = !recover && seg.load_from_index(active)?;
        if !trusted {
            report = seg.rebuild(recover)?;
        }
        if !active {
            seg.seal()?;
        }
        if seg.size > 0 {
            let mut first = [0u8; HEADER_LEN];
            if seg.file.get()?.read_exact_at(&mut first, 0).is_ok() {
                seg.roll_base_ms = BatchHeader::parse(&first).ok().map(|h| h.max_timestamp);
            }
        }
        Ok((seg, report))
    }

    /// Trusts the index files (sizes consistent, last entry inside the log): reads their
    /// last entry (all of them for an active segment) and walks the batches after it.
    /// False means they cannot be trusted and the segment must be rebuilt.
    fn load_from_index(&mut self, active: bool) -> io::Result<bool> {
        let (ip, tp) = (self.path("index"), self.path("timeindex"));
        let len = |p: &Path| match std::fs::metadata(p) {
            Ok(m) => Some(m.len()),
            // Index files appear with the first entry: none yet is an empty index.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some(0),
            Err(_) => None,
        };
        let (Some(il), Some(tl)) = (len(&ip), len(&tp)) else {
            return Ok(false);
        };
        if il == 0 && tl == 0 && self.size > 2 * SCAN_CHUNK as u64 {
            // No entries for a big segment (they were never written out): rebuild them.
            return Ok(false);
        }
        if il % 8 != 0 || tl % 12 != 0 || il / 8 != tl / 12 {
            return Ok(false);
        }
        let n = (il / 8) as usize;
        let entries: Vec<IndexEntry> = if active && n > 0 {
            let (idx, tix) = (std::fs::read(&ip)?, std::fs::read(&tp)?);
            (0..n).map(|i| parse_entry(&idx, &tix, i)).collect()
        } else if n > 0 {
            let mut o = [0u8; 8];
            let mut t = [0u8; 12];
            File::open(&ip)?.read_exact_at(&mut o, il - 8)?;
            File::open(&tp)?.read_exact_at(&mut t, tl - 12)?;
            vec![parse_entry(&o, &t, 0)]
        } else {
            Vec::new()
        };
        // Cheap sanity: monotonic, inside the log, time index pointing at the same offsets.
        let mut prev: Option<IndexEntry> = None;
        for e in &entries {
            if e.position as u64 >= self.size
                || prev.is_some_and(|p| e.rel_offset <= p.rel_offset || e.position <= p.position || e.max_ts_before < p.max_ts_before)
            {
                return Ok(false);
            }
            prev = Some(*e);
        }
        let last = entries.last().copied();
        let from = last.map_or(0, |e| e.position as u64);
        let mut max_ts = last.map_or(-1, |e| e.max_ts_before);
        let mut next = last.map_or(self.base_offset, |e| self.base_offset + e.rel_offset as i64);
        let mut end = from;
        let walked = self.scan_headers(from, |pos, h| {
            max_ts = max_ts.max(h.max_timestamp);
            next = h.next_offset();
            end = pos + h.size as u64;
            true
        });
        if walked.is_err() || end != self.size {
            // The tail does not parse: the index cannot be trusted either.
            return Ok(false);
        }
        self.next_offset = next;
        self.max_timestamp = max_ts;
        self.bytes_since_index = self.size - from;
        let persisted = entries.len();
        self.index = Entries::Loaded { entries, persisted };
        Ok(true)
    }

    /// Rebuilds the indexes by scanning the whole log; with `verify`, CRCs are checked and
    /// the file is truncated at the first invalid batch. The index files are rewritten.
    fn rebuild(&mut self, verify: bool) -> io::Result<RecoveryReport> {
        self.index = Entries::Loaded { entries: Vec::new(), persisted: 0 };
        self.bytes_since_index = 0;
        self.next_offset = self.base_offset;
        self.max_timestamp = -1;
        let file = self.file.get()?;
        let mut pos = 0u64;
        let mut batches = 0;
        let mut buf = Vec::new();
        loop {
            let mut head = [0u8; HEADER_LEN];
            if pos + HEADER_LEN as u64 > self.size || file.read_exact_at(&mut head, pos).is_err() {
                break;
            }
            let Ok(h) = BatchHeader::parse(&head) else { break };
            if pos + h.size as u64 > self.size || h.base_offset < self.next_offset {
                break;
            }
            if verify {
                buf.resize(h.size, 0);
                file.read_exact_at(&mut buf, pos)?;
                if !batch::crc_ok(&buf) {
                    break;
                }
            }
            self.track_batch(pos, &h);
            pos += h.size as u64;
            batches += 1;
        }
        let truncated = self.size - pos;
        if truncated > 0 {
            file.set_len(pos)?;
            self.size = pos;
        }
        for ext in ["index", "timeindex"] {
            remove_if_exists(&self.path(ext))?;
        }
        self.persist_index(false)?;
        Ok(RecoveryReport { valid_bytes: pos, truncated_bytes: truncated, batches })
    }

    /// Updates in-memory state and index entries for a batch written at `pos`.
    fn track_batch(&mut self, pos: u64, h: &BatchHeader) {
        if pos == 0 || self.bytes_since_index >= INDEX_INTERVAL {
            if pos > 0
                && let Entries::Loaded { entries, .. } = &mut self.index
            {
                entries.push(IndexEntry {
                    rel_offset: (h.base_offset - self.base_offset) as u32,
                    position: pos as u32,
                    max_ts_before: self.max_timestamp,
                });
            }
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += h.size as u64;
        self.max_timestamp = self.max_timestamp.max(h.max_timestamp);
        self.next_offset = h.next_offset();
    }

    /// Writes index entries not yet in the files (optionally fsynced). The files are opened
    /// just for this: an index holds no descriptor between writes.
    fn persist_index(&mut self, sync: bool) -> io::Result<()> {
        let Entries::Loaded { entries, persisted } = &mut self.index else { return Ok(()) };
        if *persisted == entries.len() && (!sync || entries.is_empty()) {
            return Ok(());
        }
        let (mut o, mut t) = (Vec::new(), Vec::new());
        for e in &entries[*persisted..] {
            let (a, b) = entry_bytes(e);
            o.extend_from_slice(&a);
            t.extend_from_slice(&b);
        }
        for (ext, bytes, width) in [("index", &o, 8u64), ("timeindex", &t, 12u64)] {
            let f = OpenOptions::new().write(true).create(true).truncate(false).open(self.dir.join(file_name(self.base_offset, ext)))?;
            f.write_all_at(bytes, *persisted as u64 * width)?;
            if sync {
                f.sync_data()?;
            }
        }
        *persisted = entries.len();
        Ok(())
    }

    /// Seals the segment (it stops being the active one): entries go to the files and the
    /// heap copy is dropped; lookups map the files from now on.
    pub fn seal(&mut self) -> io::Result<()> {
        if matches!(self.index, Entries::Loaded { .. }) {
            self.persist_index(false)?;
            self.index = Entries::Sealed(OnceLock::new());
        }
        Ok(())
    }

    fn sealed_index<'a>(&self, lock: &'a OnceLock<Sealed>) -> &'a Sealed {
        lock.get_or_init(|| {
            let map = |ext: &str| -> io::Result<Option<Mmap>> {
                let f = match File::open(self.path(ext)) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    other => other?,
                };
                if f.metadata()?.len() == 0 {
                    return Ok(None);
                }
                // SAFETY: index files of sealed segments are never written again while mapped
                // (a rebuild replaces the segment object, dropping the mapping first).
                unsafe { Mmap::map(&f) }.map(Some)
            };
            match (map("index"), map("timeindex")) {
                (Ok(Some(i)), Ok(Some(t))) => Sealed::Mapped(i, t),
                (Ok(None), _) | (_, Ok(None)) => Sealed::Heap(Vec::new()),
                _ => {
                    let idx = std::fs::read(self.path("index")).unwrap_or_default();
                    let tix = std::fs::read(self.path("timeindex")).unwrap_or_default();
                    let n = (idx.len() / 8).min(tix.len() / 12);
                    Sealed::Heap((0..n).map(|i| parse_entry(&idx, &tix, i)).collect())
                }
            }
        })
    }

    /// The position to start scanning from for the first entry failing `before`.
    fn index_floor(&self, before: impl Fn(&IndexEntry) -> bool) -> u64 {
        let (len, get): (usize, Box<dyn Fn(usize) -> IndexEntry + '_>) = match &self.index {
            Entries::Loaded { entries, .. } => (entries.len(), Box::new(|i| entries[i])),
            Entries::Sealed(lock) => {
                let s = self.sealed_index(lock);
                (s.len(), Box::new(move |i| s.get(i)))
            }
        };
        let (mut lo, mut hi) = (0usize, len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if before(&get(mid)) { lo = mid + 1 } else { hi = mid }
        }
        if lo == 0 { 0 } else { get(lo - 1).position as u64 }
    }

    /// Appends already-validated, offset-assigned batches (`headers` describe `data`).
    pub fn append(&mut self, data: &[u8], headers: &[(usize, BatchHeader)], now_ms: i64) -> io::Result<()> {
        self.file.get()?.write_all_at(data, self.size)?;
        let start = self.size;
        self.size += data.len() as u64;
        for (pos, h) in headers {
            self.track_batch(start + *pos as u64, h);
        }
        if self.roll_base_ms.is_none() {
            self.roll_base_ms = Some(now_ms);
        }
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn file(&self) -> io::Result<Arc<File>> {
        self.file.get()
    }
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Walks batch headers from `pos`, calling `f(pos, header)` until it returns false.
    pub fn scan_headers(&self, pos: u64, f: impl FnMut(u64, &BatchHeader) -> bool) -> io::Result<()> {
        self.scan_headers_with(pos, SCAN_CHUNK, f)
    }

    /// `scan_headers` reading `chunk` bytes at a time: small chunks for lookups that stop
    /// after a few batches (a 64 KiB read per header would cost more than the lookup). A
    /// header that cannot be valid (bad magic or length, or a batch running past the end of
    /// the segment) is damage: an InvalidData error naming the file and position, never a
    /// silent end that would stall readers.
    fn scan_headers_with(&self, mut pos: u64, chunk: usize, mut f: impl FnMut(u64, &BatchHeader) -> bool) -> io::Result<()> {
        let file = self.file.get()?;
        let mut buf = vec![0u8; chunk];
        while pos < self.size {
            if pos + HEADER_LEN as u64 > self.size {
                return Err(self.damage(pos, "a partial batch header at the end of the segment"));
            }
            let want = ((self.size - pos) as usize).min(chunk);
            file.read_exact_at(&mut buf[..want], pos)?;
            let mut o = 0usize;
            while o + HEADER_LEN <= want {
                let at = pos + o as u64;
                let h = BatchHeader::parse(&buf[o..]).map_err(|e| self.damage(at, &e.to_string()))?;
                if at + h.size as u64 > self.size {
                    return Err(self.damage(at, &format!("a batch of {} bytes runs past the end of the segment", h.size)));
                }
                if !f(at, &h) {
                    return Ok(());
                }
                o += h.size;
            }
            pos += o as u64;
        }
        Ok(())
    }

    /// Logs damage once per place and returns the error for the caller.
    fn damage(&self, pos: u64, why: &str) -> io::Error {
        let path = self.path("log");
        static SEEN: std::sync::Mutex<Option<std::collections::HashSet<(PathBuf, u64)>>> = std::sync::Mutex::new(None);
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get_or_insert_with(Default::default).insert((path.clone(), pos)) {
            tracing::error!(file = %path.display(), position = pos, "corrupt record batch: {why}");
        }
        corrupt(&path, pos, why)
    }

    /// Finds the first batch whose last offset is >= `offset`: (position, header).
    pub fn find_batch(&self, offset: i64) -> io::Result<Option<(u64, BatchHeader)>> {
        let rel = (offset - self.base_offset).max(0);
        let from = self.index_floor(|e| (e.rel_offset as i64) <= rel);
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
        let from = self.index_floor(|e| e.max_ts_before < ts);
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
    /// reaches `max_offset`; and the offset after the last batch included. Reads headers only.
    pub fn extent(&self, pos: u64, max_bytes: usize, min_one: bool, max_offset: i64) -> io::Result<(usize, i64)> {
        let mut len = 0usize;
        let mut next = -1i64;
        let mut first: Option<(usize, i64)> = None;
        let scanned = self.scan_headers_with(pos, LOOKUP_CHUNK, |_, h| {
            if h.last_offset() >= max_offset {
                return false;
            }
            if first.is_none() {
                first = Some((h.size, h.next_offset()));
            }
            if len + h.size > max_bytes {
                return false;
            }
            len += h.size;
            next = h.next_offset();
            true
        });
        match scanned {
            // Damage further on: serve the good batches before it; the next read fails.
            Err(e) if e.kind() == io::ErrorKind::InvalidData && len > 0 => return Ok((len, next)),
            other => other?,
        }
        if len == 0
            && min_one
            && let Some((size, after)) = first
            && pos + size as u64 <= self.size
        {
            return Ok((size, after));
        }
        Ok((len, next))
    }

    /// Removes the batch holding `offset` and everything after it; indexes follow.
    pub fn truncate_to(&mut self, offset: i64) -> io::Result<()> {
        let Some((pos, _)) = self.find_batch(offset)? else { return Ok(()) };
        let sealed = matches!(self.index, Entries::Sealed(_));
        // Drop any mapping before the index files are rewritten.
        self.index = Entries::Loaded { entries: Vec::new(), persisted: 0 };
        self.file.get()?.set_len(pos)?;
        self.size = pos;
        self.rebuild(false)?;
        if sealed {
            self.seal()?;
        }
        Ok(())
    }

    pub fn read(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file.get()?.read_exact_at(&mut buf, pos)?;
        Ok(buf)
    }

    /// fsyncs the data and the index entries written so far.
    pub fn flush(&mut self) -> io::Result<()> {
        self.file.get()?.sync_data()?;
        self.persist_index(true)
    }

    /// Time of last modification, used for retention when batches carry no timestamps.
    pub fn modified_ms(&self) -> i64 {
        std::fs::metadata(self.path("log"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// The first batch with the largest timestamp: (its base offset, that timestamp).
    pub fn max_timestamp_batch(&self) -> io::Result<Option<i64>> {
        let from = self.index_floor(|e| e.max_ts_before < self.max_timestamp);
        let mut found = None;
        self.scan_headers(from, |_, h| {
            if h.max_timestamp == self.max_timestamp {
                found = Some(h.base_offset);
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// Removes the segment's files.
    pub fn delete(mut self) -> io::Result<()> {
        // Nothing may be written back once the files are gone.
        self.index = Entries::Sealed(OnceLock::new());
        self.file.forget();
        for ext in ["log", "index", "timeindex", "txnindex"] {
            remove_if_exists(&self.path(ext))?;
        }
        Ok(())
    }

    /// Writes out index entries (a clean close).
    pub fn close(mut self) -> io::Result<()> {
        self.persist_index(true)
    }
}

impl Drop for LogSegment {
    fn drop(&mut self) {
        // Index entries of the active segment are a cache of the log: written on a best
        // effort when the segment goes away (recovery rebuilds them otherwise).
        let _ = self.persist_index(false);
    }
}
