//! The controller (Kafka's QuorumController shape): the only writer of metadata records.
//! Handlers send typed commands and await their result; one thread takes the commands in
//! arrival order, validates each against the newest image (including what it wrote just
//! before), turns it into records, appends them to `__cluster_metadata` (one fsync for
//! everything queued: group commit) and hands the batch to the publisher. A Raft quorum
//! replaces the local append later without touching the handlers or the commands.

mod configs;
mod topics;

pub use configs::ConfigEdit;
pub use topics::{CreatedTopic, DeletedTopic, NewPartitions, TopicRef, TopicSpec};

use crate::broker::config::BrokerConfig;
use crate::broker::log::LogError;
use crate::broker::metadata::log::MetadataLog;
use crate::broker::metadata::publisher::{Committed, MetadataPublisher};
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use kafka_protocol::error::ResponseError as E;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// A refused metadata change: Kafka error code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicError(pub i16, pub String);

impl From<LogError> for TopicError {
    fn from(e: LogError) -> Self {
        TopicError(e.code(), e.to_string())
    }
}

pub type Outcome<T> = Result<T, TopicError>;

/// Producer ids are handed out in blocks (Kafka's AllocateProducerIds, 1000 per block).
pub const PRODUCER_ID_BLOCK: i64 = 1000;

/// The typed commands, one per kind of metadata change.
enum Command {
    CreateTopics { topics: Vec<TopicSpec>, validate_only: bool, if_not_exists: bool },
    DeleteTopics { topics: Vec<TopicRef> },
    CreatePartitions { topics: Vec<NewPartitions>, validate_only: bool },
    AlterTopicConfigs { topics: Vec<(String, ConfigEdit)>, validate_only: bool },
    AllocateProducerIds { broker: i32 },
}

enum Reply {
    Created(Vec<Outcome<CreatedTopic>>),
    Deleted(Vec<Outcome<DeletedTopic>>),
    Done(Vec<Outcome<()>>),
    ProducerIds(Outcome<std::ops::Range<i64>>),
}

struct Request {
    cmd: Command,
    reply: oneshot::Sender<(Reply, i64)>,
}

/// The handle handlers use. Cheap to share.
pub struct Controller {
    tx: Mutex<Option<mpsc::UnboundedSender<Request>>>,
    publisher: Arc<MetadataPublisher>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What command planning may consult besides the image.
pub(crate) struct PlanContext<'a> {
    pub config: &'a BrokerConfig,
}

impl PlanContext<'_> {
    /// Brokers that can host replicas (one node until the cluster lands).
    pub fn live_brokers(&self) -> Vec<i32> {
        vec![self.config.node_id]
    }
}

impl Controller {
    /// Starts the controller thread on the newest image (`latest`, what the log holds).
    pub fn start(
        config: Arc<BrokerConfig>,
        log: Arc<Mutex<MetadataLog>>,
        latest: MetadataImage,
        publisher: Arc<MetadataPublisher>,
    ) -> Controller {
        let (tx, rx) = mpsc::unbounded_channel();
        let p = publisher.clone();
        let thread = std::thread::Builder::new()
            .name("rk-controller".into())
            .spawn(move || run(rx, config, log, latest, p))
            .expect("spawn the controller thread");
        Controller { tx: Mutex::new(Some(tx)), publisher, thread: Mutex::new(Some(thread)) }
    }

    async fn submit(&self, cmd: Command) -> Reply {
        let (tx, rx) = oneshot::channel();
        let unavailable = || TopicError(E::NotController.code(), "The controller is shutting down.".into());
        let sent = match self.tx.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(q) => q.send(Request { cmd, reply: tx }).is_ok(),
            None => false,
        };
        if !sent {
            return Reply::ProducerIds(Err(unavailable()));
        }
        match rx.await {
            Ok((reply, offset)) => {
                // The change is durable; answer once every listener has applied it, so the
                // client's next request sees it (a produce right after CreateTopics works).
                self.publisher.wait_for(offset).await;
                reply
            }
            Err(_) => Reply::ProducerIds(Err(unavailable())),
        }
    }

    pub async fn create_topics(&self, topics: Vec<TopicSpec>, validate_only: bool, if_not_exists: bool) -> Vec<Outcome<CreatedTopic>> {
        let n = topics.len();
        match self.submit(Command::CreateTopics { topics, validate_only, if_not_exists }).await {
            Reply::Created(r) => r,
            other => vec![Err(error_of(other)); n],
        }
    }

    pub async fn delete_topics(&self, topics: Vec<TopicRef>) -> Vec<Outcome<DeletedTopic>> {
        let n = topics.len();
        match self.submit(Command::DeleteTopics { topics }).await {
            Reply::Deleted(r) => r,
            other => vec![Err(error_of(other)); n],
        }
    }

    pub async fn create_partitions(&self, topics: Vec<NewPartitions>, validate_only: bool) -> Vec<Outcome<()>> {
        let n = topics.len();
        match self.submit(Command::CreatePartitions { topics, validate_only }).await {
            Reply::Done(r) => r,
            other => vec![Err(error_of(other)); n],
        }
    }

    pub async fn alter_topic_configs(&self, topics: Vec<(String, ConfigEdit)>, validate_only: bool) -> Vec<Outcome<()>> {
        let n = topics.len();
        match self.submit(Command::AlterTopicConfigs { topics, validate_only }).await {
            Reply::Done(r) => r,
            other => vec![Err(error_of(other)); n],
        }
    }

    /// A block of producer ids that no other caller ever gets (persisted in the metadata log).
    pub async fn allocate_producer_ids(&self, broker: i32) -> Outcome<std::ops::Range<i64>> {
        match self.submit(Command::AllocateProducerIds { broker }).await {
            Reply::ProducerIds(r) => r,
            other => Err(error_of(other)),
        }
    }

    /// Stops taking commands; what was queued is finished first.
    pub fn stop(&self) {
        // Dropping the sender ends the thread's loop once the queue is drained.
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

fn error_of(r: Reply) -> TopicError {
    match r {
        Reply::ProducerIds(Err(e)) => e,
        _ => TopicError(E::UnknownServerError.code(), "unexpected controller reply".into()),
    }
}

/// The controller thread: takes every queued command, plans each against the newest image,
/// writes all their records in one batch, publishes it, then answers.
fn run(
    mut rx: mpsc::UnboundedReceiver<Request>,
    config: Arc<BrokerConfig>,
    log: Arc<Mutex<MetadataLog>>,
    mut latest: MetadataImage,
    publisher: Arc<MetadataPublisher>,
) {
    let ctx = PlanContext { config: &config };
    while let Some(first) = rx.blocking_recv() {
        let mut queued = vec![first];
        while queued.len() < 256 {
            match rx.try_recv() {
                Ok(r) => queued.push(r),
                Err(_) => break,
            }
        }
        let before = latest.clone();
        let mut records: Vec<MetadataRecord> = Vec::new();
        let mut replies = Vec::with_capacity(queued.len());
        for req in queued {
            let reply = plan(&ctx, &mut latest, req.cmd, &mut records);
            replies.push((req.reply, reply));
        }
        let mut offset = latest.offset;
        if !records.is_empty() {
            let appended = log.lock().unwrap_or_else(|e| e.into_inner()).append(&records);
            match appended {
                Ok(end) => {
                    latest.offset = end;
                    offset = end;
                    publisher.publish(Committed { end_offset: end, records });
                }
                Err(e) => {
                    // Nothing of this batch is durable: every command in it failed.
                    tracing::error!("cannot write the metadata log: {e}");
                    latest = before;
                    let err = TopicError(e.code(), format!("The metadata log could not be written: {e}"));
                    for (tx, reply) in replies {
                        let _ = tx.send((fail_all(reply, &err), latest.offset));
                    }
                    continue;
                }
            }
        }
        for (tx, reply) in replies {
            let _ = tx.send((reply, offset));
        }
    }
}

/// Turns every success of a reply into `err` (its records were not written).
fn fail_all(reply: Reply, err: &TopicError) -> Reply {
    fn map<T>(v: Vec<Outcome<T>>, err: &TopicError) -> Vec<Outcome<T>> {
        v.into_iter().map(|r| r.and(Err(err.clone()))).collect()
    }
    match reply {
        Reply::Created(v) => Reply::Created(map(v, err)),
        Reply::Deleted(v) => Reply::Deleted(map(v, err)),
        Reply::Done(v) => Reply::Done(map(v, err)),
        Reply::ProducerIds(r) => Reply::ProducerIds(r.and(Err(err.clone()))),
    }
}

/// Validates one command against `img` and appends the records that perform it. Within one
/// command, items are validated one after another against the image as the earlier items
/// left it (two CreateTopics of the same name in one queue: the second fails).
fn plan(ctx: &PlanContext<'_>, img: &mut MetadataImage, cmd: Command, out: &mut Vec<MetadataRecord>) -> Reply {
    let mut apply_item = |img: &mut MetadataImage, recs: Vec<MetadataRecord>, dry_run: bool| {
        if !dry_run {
            for r in &recs {
                img.apply(r);
            }
            out.extend(recs);
        }
    };
    match cmd {
        Command::CreateTopics { topics, validate_only, if_not_exists } => Reply::Created(
            topics
                .iter()
                .map(|spec| {
                    if if_not_exists && let Some(t) = img.topic(&spec.name) {
                        return Ok(CreatedTopic::existing(t));
                    }
                    let (created, recs) = topics::plan_create(ctx, img, spec)?;
                    apply_item(img, recs, validate_only);
                    Ok(created)
                })
                .collect(),
        ),
        Command::DeleteTopics { topics } => Reply::Deleted(
            topics
                .iter()
                .map(|t| {
                    let (deleted, recs) = topics::plan_delete(ctx, img, t)?;
                    apply_item(img, recs, false);
                    Ok(deleted)
                })
                .collect(),
        ),
        Command::CreatePartitions { topics, validate_only } => Reply::Done(
            topics
                .iter()
                .map(|np| {
                    let recs = topics::plan_partitions(ctx, img, &np.topic, np.count, np.assignment.as_deref())?;
                    apply_item(img, recs, validate_only);
                    Ok(())
                })
                .collect(),
        ),
        Command::AlterTopicConfigs { topics, validate_only } => Reply::Done(
            topics
                .iter()
                .map(|(name, edit)| {
                    let recs = configs::plan_alter(img, name, edit)?;
                    apply_item(img, recs, validate_only);
                    Ok(())
                })
                .collect(),
        ),
        Command::AllocateProducerIds { broker } => {
            let start = img.next_producer_id;
            let Some(end) = start.checked_add(PRODUCER_ID_BLOCK) else {
                return Reply::ProducerIds(Err(TopicError(E::UnknownServerError.code(), "producer ids are exhausted".into())));
            };
            apply_item(img, vec![MetadataRecord::ProducerIds { broker, next_producer_id: end }], false);
            Reply::ProducerIds(Ok(start..end))
        }
    }
}
