//! The descriptor budget: segment `.log` files are opened through one process-wide LRU of
//! handles, so the number of partitions is bounded by disk and memory, not `ulimit -n`.
//! Segments being written and read now stay open (they are the recently used ones);
//! idle segments are closed and reopened on demand. A handle in use (a sendfile in flight)
//! stays valid after eviction: it is an `Arc<File>` that closes when its last user drops it.
//! Index files hold no descriptor at all (`segment.rs`).

use lru::LruCache;
use std::fs::{File, OpenOptions};
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Descriptors kept free for sockets, the listener, checkpoints and directory scans.
const RESERVED: u64 = 64;

pub struct FileCache {
    open: Mutex<LruCache<u64, Arc<File>>>,
    next_id: AtomicU64,
    capacity: usize,
}

/// The soft RLIMIT_NOFILE, after raising it to the hard limit (as the JVM does for Kafka).
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid out-parameter for getrlimit/setrlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

fn cache() -> &'static FileCache {
    static CACHE: OnceLock<FileCache> = OnceLock::new();
    CACHE.get_or_init(|| {
        let limit = raise_nofile_limit();
        // Half of what is left after the reserve: connections need descriptors too.
        let capacity = (limit.saturating_sub(RESERVED) / 2).clamp(16, 1 << 20) as usize;
        FileCache { open: Mutex::new(LruCache::new(NonZeroUsize::new(capacity).expect("non-zero"))), next_id: AtomicU64::new(1), capacity }
    })
}

/// How many segment files may be open at once.
pub fn capacity() -> usize {
    cache().capacity
}

/// How many are open now (for metrics and tests).
pub fn open_count() -> usize {
    cache().open.lock().unwrap_or_else(|e| e.into_inner()).len()
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// A segment file opened through the cache.
#[derive(Debug)]
pub struct SegmentFile {
    path: PathBuf,
    id: u64,
}

impl SegmentFile {
    /// A handle for `path`, which exists or is created by `create`.
    pub fn new(path: &Path, create: bool) -> io::Result<SegmentFile> {
        let f = SegmentFile { path: path.to_path_buf(), id: cache().next_id.fetch_add(1, Ordering::Relaxed) };
        if create {
            let file = f.open_with(|o| o.create(true).truncate(true))?;
            cache().open.lock().unwrap_or_else(|e| e.into_inner()).put(f.id, Arc::new(file));
        }
        Ok(f)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_with(&self, extra: impl Fn(&mut OpenOptions) -> &mut OpenOptions) -> io::Result<File> {
        let open = || extra(OpenOptions::new().read(true).write(true)).open(&self.path);
        match open() {
            Err(e) if is_fd_exhaustion(&e) => {
                // Out of descriptors: close idle segments and try once more.
                let mut lru = cache().open.lock().unwrap_or_else(|e| e.into_inner());
                let n = lru.len() / 2;
                for _ in 0..n.max(1) {
                    lru.pop_lru();
                }
                drop(lru);
                open().map_err(|e| {
                    if is_fd_exhaustion(&e) {
                        io::Error::new(
                            e.kind(),
                            format!("too many open files opening {} (raise RLIMIT_NOFILE with `ulimit -n`): {e}", self.path.display()),
                        )
                    } else {
                        e
                    }
                })
            }
            other => other,
        }
    }

    /// The open file (opened now if it was closed to stay within the budget).
    pub fn get(&self) -> io::Result<Arc<File>> {
        if let Some(f) = cache().open.lock().unwrap_or_else(|e| e.into_inner()).get(&self.id) {
            return Ok(f.clone());
        }
        let f = Arc::new(self.open_with(|o| o)?);
        cache().open.lock().unwrap_or_else(|e| e.into_inner()).put(self.id, f.clone());
        Ok(f)
    }

    /// Closes the cached handle (before the file is deleted or replaced).
    pub fn forget(&self) {
        cache().open.lock().unwrap_or_else(|e| e.into_inner()).pop(&self.id);
    }
}

impl Drop for SegmentFile {
    fn drop(&mut self) {
        self.forget();
    }
}
