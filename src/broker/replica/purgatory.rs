//! The purgatory (Kafka's DelayedProduce / DelayedFetch): the one place where requests
//! wait for a partition to change. Operations register a Notify on each partition they
//! watch before checking their condition, so a change in between is never missed; appends
//! and high-watermark moves wake them. Appends themselves run on blocking threads, never
//! on the async workers.

use super::ReplicaManager;
use super::partition::Partition;
use crate::broker::log::partition::AppendInfo;
use crate::broker::log::{AppendOrigin, LogError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One partition's batches to append, and the outcome once appended.
pub struct PendingAppend {
    pub partition: Arc<Partition>,
    pub buf: bytes::BytesMut,
    pub result: Option<Result<AppendInfo, LogError>>,
    /// A verified transactional write's guard (KIP-890).
    pub guard: Option<u64>,
}

/// Counts an operation as waiting in the purgatory while it lives (metrics).
struct Waiting<'a>(&'a std::sync::atomic::AtomicU64);

impl<'a> Waiting<'a> {
    fn new(n: &'a std::sync::atomic::AtomicU64) -> Waiting<'a> {
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Below this many bytes a request's appends run one after another: threads cost more
/// than they save.
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// Appends each partition's batches. A large request spanning several partitions is
/// spread over the cores: most of an append is the kernel copying into new page-cache
/// pages, which scales with cores (measured: one `dd` into a new file ~500 MB/s, two at
/// once ~1.2 GB/s together), and partitions are independent logs with their own locks.
fn run_appends(appends: &mut [PendingAppend], origin: AppendOrigin) {
    let run = |chunk: &mut [PendingAppend]| {
        for a in chunk {
            a.result = Some(a.partition.append_guarded(&mut a.buf, origin, a.guard));
        }
    };
    let bytes: usize = appends.iter().map(|a| a.buf.len()).sum();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if appends.len() < 2 || bytes < PARALLEL_MIN_BYTES || cores < 2 {
        return run(appends);
    }
    let per = appends.len().div_ceil(cores.min(appends.len()));
    std::thread::scope(|s| {
        let mut chunks = appends.chunks_mut(per);
        let first = chunks.next();
        for c in chunks {
            s.spawn(move || run(c));
        }
        if let Some(c) = first {
            run(c);
        }
    });
}

/// write.caching=false: an acks=all write is fsynced before it is acknowledged. Concurrent
/// producers share fsyncs: a flush finds the partition clean when an earlier one covered it.
fn flush_uncached(appends: &mut [PendingAppend]) {
    for a in appends.iter_mut() {
        if matches!(a.result, Some(Ok(_)))
            && !a.partition.write_caching()
            && let Err(e) = a.partition.with_log(|l| l.flush().map_err(LogError::from))
        {
            a.result = Some(Err(e));
        }
    }
}

impl ReplicaManager {
    /// Appends every partition's batches (off the async workers), then, for acks=all,
    /// waits until each partition's high watermark covers what was appended (DelayedProduce)
    /// or `timeout` passes (REQUEST_TIMED_OUT for that partition).
    pub async fn append_records(
        &self,
        mut appends: Vec<PendingAppend>,
        acks: i16,
        timeout: Duration,
        origin: AppendOrigin,
    ) -> Vec<PendingAppend> {
        if appends.is_empty() {
            return appends;
        }
        appends = match tokio::task::spawn_blocking(move || {
            run_appends(&mut appends, origin);
            if acks == -1 {
                flush_uncached(&mut appends);
            }
            appends
        })
        .await
        {
            Ok(a) => a,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        if acks != -1 {
            return appends;
        }
        let deadline = Instant::now() + timeout;
        let mut counted = None;
        loop {
            let notify = Arc::new(Notify::new());
            let mut waiting = false;
            for a in appends.iter_mut() {
                let Some(Ok(info)) = &a.result else { continue };
                a.partition.watch(&notify);
                // Kafka's checkEnoughReplicasReachOffset: leadership lost while waiting means
                // the records may be truncated; reached, but by fewer in-sync replicas than
                // min.insync.replicas, is acknowledged with NOT_ENOUGH_REPLICAS_AFTER_APPEND.
                if !a.partition.is_leader() {
                    a.result = Some(Err(LogError::NotLeaderOrFollower));
                } else if a.partition.high_watermark() <= info.last_offset {
                    waiting = true;
                } else if a.partition.state().isr.len() < a.partition.min_insync_replicas() {
                    a.result = Some(Err(LogError::NotEnoughReplicasAfterAppend));
                }
            }
            if !waiting {
                return appends;
            }
            let now = Instant::now();
            if now >= deadline {
                for a in appends.iter_mut() {
                    if let Some(Ok(info)) = &a.result
                        && a.partition.high_watermark() <= info.last_offset
                    {
                        a.result = Some(Err(LogError::RequestTimedOut));
                    }
                }
                return appends;
            }
            counted.get_or_insert_with(|| Waiting::new(&self.waiting_produce));
            let _ = tokio::time::timeout(deadline - now, notify.notified()).await;
        }
    }

    /// A long poll (DelayedFetch): runs `read` until it reports enough bytes, an error, or
    /// the deadline; between reads it waits for any of `watched` to change. `read` returns
    /// (its result, bytes found, whether to answer now regardless).
    pub async fn wait_for_data<T, F: std::future::Future<Output = (T, usize, bool)>>(
        &self,
        watched: &[Arc<Partition>],
        min_bytes: usize,
        deadline: Instant,
        mut read: impl FnMut() -> F,
    ) -> T {
        let mut counted = None;
        loop {
            // Register for wake-ups before reading so an append in between is not missed.
            let notify = Arc::new(Notify::new());
            for p in watched {
                p.watch(&notify);
            }
            let (result, bytes, answer_now) = read().await;
            let now = Instant::now();
            let stopping = *self.stopping.borrow();
            if bytes >= min_bytes.max(1) || answer_now || now >= deadline || stopping {
                return result;
            }
            counted.get_or_insert_with(|| Waiting::new(&self.waiting_fetch));
            let mut stop = self.stopping.subscribe();
            tokio::select! {
                _ = tokio::time::timeout(deadline - now, notify.notified()) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
            if *self.stopping.borrow() {
                let (result, _, _) = read().await;
                return result;
            }
            if Instant::now() >= deadline {
                // One last read after the wait so data that arrived at the very end is served.
                let (result, _, _) = read().await;
                return result;
            }
        }
    }
}
