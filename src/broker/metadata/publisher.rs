//! MetadataPublisher (Kafka's MetadataLoader + MetadataPublisher shape): the one place
//! that applies committed metadata batches, strictly in log order, to the image and then
//! to every listener (the replica manager's partitions, the group coordinator, ...). No
//! caller reconciles on its own, so two changes racing in the handlers cannot be applied
//! out of order. It runs on its own thread because listeners create and delete
//! directories; callers await `wait_for(offset)` to see their change applied.

use super::log::MetadataLog;
use super::{MetadataDelta, MetadataImage, MetadataRecord};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A listener of published metadata. Called on the publisher thread, in log order, once per
/// committed batch; it must not block on anything that waits for the publisher.
pub trait MetadataListener: Send + Sync {
    fn name(&self) -> &'static str;
    fn on_metadata_update(&self, delta: &MetadataDelta<'_>);
}

/// A committed batch: its records and the log offset after it.
pub struct Committed {
    pub end_offset: i64,
    pub records: Vec<MetadataRecord>,
}

/// When to write a snapshot (Kafka's metadata.log.max.record.bytes.between.snapshots and
/// metadata.log.max.snapshot.interval.ms).
#[derive(Debug, Clone, Copy)]
pub struct SnapshotPolicy {
    pub max_bytes_between: u64,
    pub max_interval: Duration,
}

/// What the publisher thread is handed.
enum Publish {
    Batch(Committed),
    /// A whole new image (a Raft snapshot installed): every listener reconciles.
    Reset(Box<MetadataImage>),
}

pub struct MetadataPublisher {
    image: RwLock<Arc<MetadataImage>>,
    applied: watch::Sender<i64>,
    queue: Mutex<Option<mpsc::Sender<Publish>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl MetadataPublisher {
    /// Publishes `initial` (everything replayed at start-up) to the listeners, then starts the
    /// thread that publishes each later committed batch.
    pub fn start(
        initial: MetadataImage,
        listeners: Vec<Arc<dyn MetadataListener>>,
        log: Option<Arc<Mutex<MetadataLog>>>,
        policy: SnapshotPolicy,
    ) -> Arc<MetadataPublisher> {
        let empty = MetadataImage::default();
        let initial = Arc::new(initial);
        notify(&listeners, &MetadataDelta { prev: &empty, next: &initial, records: &[] });
        let (tx, rx) = mpsc::channel::<Publish>();
        let offset = initial.offset;
        let p = Arc::new(MetadataPublisher {
            image: RwLock::new(initial),
            applied: watch::channel(offset).0,
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(None),
        });
        let me = p.clone();
        let handle = std::thread::Builder::new()
            .name("rk-metadata-publisher".into())
            .spawn(move || me.run(rx, listeners, log, policy))
            .expect("spawn the metadata publisher thread");
        *p.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        p
    }

    fn run(
        &self,
        rx: mpsc::Receiver<Publish>,
        listeners: Vec<Arc<dyn MetadataListener>>,
        log: Option<Arc<Mutex<MetadataLog>>>,
        policy: SnapshotPolicy,
    ) {
        let mut last_snapshot = Instant::now();
        while let Ok(item) = rx.recv() {
            // Fault injection: a slow publisher must still apply everything in log order.
            crate::broker::faults::jitter("metadata.publish.jitter.ms");
            let prev = self.image();
            let batch = match item {
                Publish::Batch(b) => b,
                Publish::Reset(image) => {
                    let next = Arc::new(*image);
                    notify(&listeners, &MetadataDelta { prev: &prev, next: &next, records: &[] });
                    let offset = next.offset;
                    *self.image.write().unwrap_or_else(|e| e.into_inner()) = next;
                    self.applied.send_replace(offset);
                    continue;
                }
            };
            if batch.records.is_empty() {
                // A Raft entry without metadata (leader change, membership): nothing for
                // the listeners, but waiters on its offset go on.
                let mut next = (*prev).clone();
                next.offset = batch.end_offset;
                *self.image.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
                self.applied.send_replace(batch.end_offset);
                continue;
            }
            let mut next = (*prev).clone();
            for r in &batch.records {
                next.apply(r);
            }
            next.offset = batch.end_offset;
            let next = Arc::new(next);
            notify(&listeners, &MetadataDelta { prev: &prev, next: &next, records: &batch.records });
            // Handlers see the new image only once every listener has acted on it, so the
            // image never names a partition the replica manager does not host yet.
            *self.image.write().unwrap_or_else(|e| e.into_inner()) = next.clone();
            self.applied.send_replace(batch.end_offset);
            // Under Raft the quorum snapshots its own log.
            let Some(log) = &log else { continue };
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            let due = log.bytes_since_snapshot >= policy.max_bytes_between
                || (log.bytes_since_snapshot > 0 && last_snapshot.elapsed() >= policy.max_interval);
            // Only when the log holds nothing beyond this image (the controller appends under
            // the same lock, so this is exact).
            if due && log.end_offset() == next.offset {
                match log.write_snapshot(&next) {
                    Ok(path) => tracing::info!(file = %path.display(), "wrote a metadata snapshot"),
                    Err(e) => tracing::error!("could not write a metadata snapshot: {e}"),
                }
                last_snapshot = Instant::now();
            }
        }
    }

    /// Hands a committed batch to the publisher thread (in commit order).
    pub fn publish(&self, batch: Committed) {
        if let Some(q) = self.queue.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = q.send(Publish::Batch(batch));
        }
    }

    /// Replaces the whole image (after a Raft snapshot was installed), in order with the
    /// batches around it.
    pub fn reset(&self, image: MetadataImage) {
        if let Some(q) = self.queue.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = q.send(Publish::Reset(Box::new(image)));
        }
    }

    /// The newest published image (cheap: an Arc clone).
    pub fn image(&self) -> Arc<MetadataImage> {
        self.image.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until the batch ending at `offset` has been applied by every listener.
    pub async fn wait_for(&self, offset: i64) {
        let mut rx = self.applied.subscribe();
        let _ = rx.wait_for(|o| *o >= offset).await;
    }

    /// Publishes what is queued, then stops the thread.
    pub fn stop(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

/// Calls every listener; a panicking listener is logged and does not stop the others or the
/// publisher (which every later metadata change depends on).
fn notify(listeners: &[Arc<dyn MetadataListener>], delta: &MetadataDelta<'_>) {
    for l in listeners {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l.on_metadata_update(delta))).is_err() {
            tracing::error!(listener = l.name(), offset = delta.next.offset, "metadata listener panicked");
        }
    }
}
