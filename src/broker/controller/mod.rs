//! The controller (Kafka's QuorumController shape): the only writer of metadata records.
//! Handlers send typed commands and await their result; one thread takes the commands in
//! arrival order, validates each against the newest image (including what it wrote just
//! before), turns it into records and commits them: one node appends them to
//! `__cluster_metadata` (one fsync for everything queued: group commit) and hands the batch
//! to the publisher; in KRaft mode the Raft leader (the active controller) writes them as
//! one quorum entry, and the other nodes forward their commands to it (rpc.rs).

pub mod acls;
mod brokers;
pub mod configs;
pub mod partitions;
mod placement;
pub mod quotas;
pub mod reassign;
pub mod rpc;
pub mod scram;
mod topics;

pub use brokers::{BrokerHeartbeat, HeartbeatReply};
pub use configs::ConfigEdit;
pub use topics::{CreatedTopic, DeletedTopic, NewPartitions, TopicRef, TopicSpec};

use crate::broker::config::BrokerConfig;
use crate::broker::log::LogError;
use crate::broker::metadata::log::MetadataLog;
use crate::broker::metadata::publisher::{Committed, MetadataPublisher};
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use crate::broker::quorum::{Quorum, WriteError};
use crate::broker::security::acl::{AclBinding, AclFilter};
use kafka_protocol::error::ResponseError as E;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// A refused metadata change: Kafka error code and message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicError(pub i16, pub String);

impl From<LogError> for TopicError {
    fn from(e: LogError) -> Self {
        TopicError(e.code(), e.to_string())
    }
}

pub type Outcome<T> = Result<T, TopicError>;

/// Producer ids are handed out in blocks (Kafka's AllocateProducerIds, 1000 per block).
pub const PRODUCER_ID_BLOCK: i64 = 1000;

/// How long a command may wait for an active controller (an election, a forward).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The typed commands, one per kind of metadata change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Command {
    CreateTopics {
        topics: Vec<TopicSpec>,
        validate_only: bool,
        if_not_exists: bool,
    },
    DeleteTopics {
        topics: Vec<TopicRef>,
    },
    CreatePartitions {
        topics: Vec<NewPartitions>,
        validate_only: bool,
    },
    AlterTopicConfigs {
        topics: Vec<(String, ConfigEdit)>,
        validate_only: bool,
    },
    AllocateProducerIds {
        broker: i32,
    },
    /// Broker lifecycle (brokers.rs): registration, fencing, controlled shutdown.
    Broker(brokers::BrokerCommand),
    /// A leader's ISR change (partitions.rs).
    AlterPartition(partitions::AlterIsr),
    /// ElectLeaders: preferred (0) or unclean (1) for these partitions.
    ElectLeaders {
        election: i8,
        partitions: Vec<(String, i32)>,
    },
    /// AlterPartitionReassignments (reassign.rs).
    Reassign {
        items: Vec<reassign::Reassignment>,
    },
    /// Dynamic broker configs (configs.rs).
    AlterBrokerConfigs {
        broker: i32,
        edit: ConfigEdit,
        validate_only: bool,
    },
    /// Group configs (configs.rs).
    AlterGroupConfigs {
        group: String,
        edit: ConfigEdit,
        validate_only: bool,
    },
    /// Client-metrics subscriptions (configs.rs).
    AlterClientMetrics {
        subscription: String,
        edit: ConfigEdit,
        validate_only: bool,
    },
    /// CreateAcls / DeleteAcls (acls.rs).
    CreateAcls {
        acls: Vec<AclBinding>,
    },
    DeleteAcls {
        filters: Vec<AclFilter>,
    },
    /// AlterClientQuotas (quotas.rs).
    AlterClientQuotas {
        alterations: Vec<quotas::QuotaAlteration>,
        validate_only: bool,
    },
    /// AlterUserScramCredentials (scram.rs).
    AlterScram {
        deletions: Vec<scram::ScramDelete>,
        upsertions: Vec<scram::ScramUpsert>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Reply {
    Created(Vec<Outcome<CreatedTopic>>),
    Deleted(Vec<Outcome<DeletedTopic>>),
    Done(Vec<Outcome<()>>),
    ProducerIds(Outcome<std::ops::Range<i64>>),
    Broker(Outcome<i64>),
    Elected(Vec<partitions::Elected>),
    /// DeleteAcls: per filter, the ACLs it removed.
    AclsDeleted(Vec<Outcome<Vec<AclBinding>>>),
    /// Per user: AlterUserScramCredentials.
    Users(Vec<(String, Outcome<()>)>),
    /// The whole command was not taken (no active controller here, shutting down).
    Refused(TopicError),
}

struct Request {
    cmd: Command,
    reply: oneshot::Sender<(Reply, i64)>,
}

/// Where committed metadata goes: the local log (one node), or the Raft quorum.
enum Backend {
    Local(Arc<Mutex<MetadataLog>>),
    Raft(Arc<Quorum>),
}

/// The handle handlers use. Cheap to share.
pub struct Controller {
    tx: Mutex<Option<mpsc::UnboundedSender<Request>>>,
    publisher: Arc<MetadataPublisher>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub(crate) quorum: Option<Arc<Quorum>>,
    pub(crate) config: Arc<BrokerConfig>,
    /// Leader-side broker liveness (heartbeats), used in KRaft mode.
    pub(crate) liveness: rpc::Liveness,
}

/// What command planning may consult besides the image.
pub(crate) struct PlanContext<'a> {
    pub config: &'a BrokerConfig,
    pub kraft: bool,
}

impl PlanContext<'_> {
    /// Brokers that can host new replicas: the registered, usable ones (KRaft), or this
    /// node on its own.
    pub fn candidates(&self, img: &MetadataImage) -> Vec<placement::Candidate> {
        if !self.kraft {
            return vec![placement::Candidate { id: self.config.node_id, rack: None }];
        }
        img.usable_brokers().map(|b| placement::Candidate { id: b.id, rack: b.rack.clone() }).collect()
    }
}

fn not_controller() -> TopicError {
    TopicError(E::NotController.code(), "This is not the correct controller for this cluster.".into())
}

impl Controller {
    /// Starts the controller thread. Single node: `log` is the metadata log and `latest`
    /// its image. KRaft: commands are planned on the Raft leader and written through it.
    pub fn start(
        config: Arc<BrokerConfig>,
        log: Option<Arc<Mutex<MetadataLog>>>,
        quorum: Option<Arc<Quorum>>,
        latest: MetadataImage,
        publisher: Arc<MetadataPublisher>,
    ) -> Arc<Controller> {
        let (tx, rx) = mpsc::unbounded_channel();
        let backend = match (&quorum, log) {
            (Some(q), _) => Backend::Raft(q.clone()),
            (None, Some(l)) => Backend::Local(l),
            (None, None) => panic!("a controller needs a metadata log or a quorum"),
        };
        let (p, cfg) = (publisher.clone(), config.clone());
        let handle = tokio::runtime::Handle::current();
        let thread = std::thread::Builder::new()
            .name("rk-controller".into())
            .spawn(move || run(rx, cfg, backend, latest, p, handle))
            .expect("spawn the controller thread");
        let c = Arc::new(Controller {
            tx: Mutex::new(Some(tx)),
            publisher,
            thread: Mutex::new(Some(thread)),
            quorum,
            liveness: rpc::Liveness::default(),
            config,
        });
        if let Some(q) = &c.quorum {
            q.set_controller(c.clone());
            tokio::spawn(rpc::liveness_task(Arc::downgrade(&c)));
        }
        c
    }

    /// Queues a command for this node's planning thread (no forwarding): its reply and the
    /// metadata offset after it.
    pub(crate) async fn submit_local(&self, cmd: Command) -> (Reply, i64) {
        let (tx, rx) = oneshot::channel();
        let unavailable = || TopicError(E::NotController.code(), "The controller is shutting down.".into());
        let sent = match self.tx.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(q) => q.send(Request { cmd, reply: tx }).is_ok(),
            None => false,
        };
        if !sent {
            return (Reply::Refused(unavailable()), 0);
        }
        rx.await.unwrap_or_else(|_| (Reply::Refused(unavailable()), 0))
    }

    /// Runs a command on the active controller (here, or forwarded to it) and returns once
    /// this node has applied it, so the caller's next request sees it.
    async fn submit(&self, cmd: Command) -> Reply {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let (reply, offset) = match &self.quorum {
                None => self.submit_local(cmd.clone()).await,
                Some(q) if q.is_leader() => self.submit_local(cmd.clone()).await,
                Some(q) => match q.leader() {
                    // A leader that stopped answering (SIGSTOP, a partition) is replaced by
                    // an election: stop waiting for it then.
                    Some(l) => tokio::select! {
                        r = rpc::forward(q, l, &cmd) => r,
                        _ = q.leader_moved_from(l) => (Reply::Refused(not_controller()), 0),
                    },
                    None => (Reply::Refused(not_controller()), 0),
                },
            };
            let retry = matches!(&reply, Reply::Refused(e) if e.0 == E::NotController.code()) && self.quorum.is_some();
            if retry && Instant::now() < deadline && self.tx.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            self.publisher.wait_for(offset).await;
            return reply;
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

    /// AlterPartition: a leader's ISR change; the new partition epoch.
    pub async fn alter_partition(&self, a: partitions::AlterIsr) -> Outcome<i64> {
        match self.submit(Command::AlterPartition(a)).await {
            Reply::Broker(r) => r,
            other => Err(error_of(other)),
        }
    }

    /// ElectLeaders for `partitions`: each one's outcome.
    pub async fn elect_leaders(&self, election: i8, partitions: Vec<(String, i32)>) -> Outcome<Vec<partitions::Elected>> {
        match self.submit(Command::ElectLeaders { election, partitions }).await {
            Reply::Elected(r) => Ok(r),
            other => Err(error_of(other)),
        }
    }

    /// Alters dynamic configs of `broker` (-1: every broker).
    pub async fn alter_broker_configs(&self, broker: i32, edit: ConfigEdit, validate_only: bool) -> Outcome<()> {
        match self.submit(Command::AlterBrokerConfigs { broker, edit, validate_only }).await {
            Reply::Done(mut r) => r.pop().unwrap_or(Ok(())),
            other => Err(error_of(other)),
        }
    }

    /// Alters a group's configs.
    pub async fn alter_group_configs(&self, group: String, edit: ConfigEdit, validate_only: bool) -> Outcome<()> {
        match self.submit(Command::AlterGroupConfigs { group, edit, validate_only }).await {
            Reply::Done(mut r) => r.pop().unwrap_or(Ok(())),
            other => Err(error_of(other)),
        }
    }

    /// Alters a client-metrics subscription (KIP-714); all its configs removed deletes it.
    pub async fn alter_client_metrics(&self, subscription: String, edit: ConfigEdit, validate_only: bool) -> Outcome<()> {
        match self.submit(Command::AlterClientMetrics { subscription, edit, validate_only }).await {
            Reply::Done(mut r) => r.pop().unwrap_or(Ok(())),
            other => Err(error_of(other)),
        }
    }

    /// AlterPartitionReassignments: each partition's outcome.
    pub async fn reassign(&self, items: Vec<reassign::Reassignment>) -> Vec<Outcome<()>> {
        let n = items.len();
        match self.submit(Command::Reassign { items }).await {
            Reply::Done(r) => r,
            other => vec![Err(error_of(other)); n],
        }
    }

    /// CreateAcls: each ACL's outcome.
    pub async fn create_acls(&self, acls: Vec<AclBinding>) -> Vec<Outcome<()>> {
        let n = acls.len();
        match self.submit(Command::CreateAcls { acls }).await {
            Reply::Done(r) => r,
            other => vec![Err(error_of(other)); n],
        }
    }

    /// DeleteAcls: per filter, the ACLs it removed.
    pub async fn delete_acls(&self, filters: Vec<AclFilter>) -> Vec<Outcome<Vec<AclBinding>>> {
        let n = filters.len();
        match self.submit(Command::DeleteAcls { filters }).await {
            Reply::AclsDeleted(r) => r,
            other => vec![Err(error_of(other)); n],
        }
    }

    /// AlterClientQuotas: each entity's outcome, in order.
    pub async fn alter_client_quotas(&self, alterations: Vec<quotas::QuotaAlteration>, validate_only: bool) -> Vec<Outcome<()>> {
        let n = alterations.len();
        match self.submit(Command::AlterClientQuotas { alterations, validate_only }).await {
            Reply::Done(r) => r,
            other => vec![Err(error_of(other)); n],
        }
    }

    /// AlterUserScramCredentials: each user's outcome (first mention order).
    pub async fn alter_scram(
        &self,
        deletions: Vec<scram::ScramDelete>,
        upsertions: Vec<scram::ScramUpsert>,
    ) -> Outcome<Vec<(String, Outcome<()>)>> {
        match self.submit(Command::AlterScram { deletions, upsertions }).await {
            Reply::Users(r) => Ok(r),
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
        Reply::ProducerIds(Err(e)) | Reply::Broker(Err(e)) | Reply::Refused(e) => e,
        _ => TopicError(E::UnknownServerError.code(), "unexpected controller reply".into()),
    }
}

/// The controller thread: takes every queued command, plans each against the newest image,
/// writes all their records in one batch (the local log, or one Raft entry on the leader),
/// publishes it, then answers.
fn run(
    mut rx: mpsc::UnboundedReceiver<Request>,
    config: Arc<BrokerConfig>,
    backend: Backend,
    mut latest: MetadataImage,
    publisher: Arc<MetadataPublisher>,
    rt: tokio::runtime::Handle,
) {
    let ctx = PlanContext { config: &config, kraft: matches!(backend, Backend::Raft(_)) };
    let mut synced_term: Option<u64> = None;
    while let Some(first) = rx.blocking_recv() {
        let mut queued = vec![first];
        while queued.len() < 256 {
            match rx.try_recv() {
                Ok(r) => queued.push(r),
                Err(_) => break,
            }
        }
        if let Backend::Raft(q) = &backend {
            // Only the active controller plans, on everything committed before it.
            let term = q.term();
            let ready = q.is_leader()
                && (synced_term == Some(term)
                    || rt.block_on(q.sync_leader()).is_ok_and(|_| {
                        synced_term = Some(term);
                        true
                    }));
            if !ready {
                for r in queued {
                    let _ = r.reply.send((Reply::Refused(not_controller()), 0));
                }
                continue;
            }
            latest = q.applied_image();
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
            let written = match &backend {
                Backend::Local(log) => {
                    let appended = log.lock().unwrap_or_else(|e| e.into_inner()).append(&records);
                    if let Ok(end) = appended {
                        publisher.publish(Committed { end_offset: end, records });
                    }
                    appended.map_err(TopicError::from)
                }
                Backend::Raft(q) => rt.block_on(q.write(records)).map_err(|e| match e {
                    WriteError::NotLeader(_) => not_controller(),
                    WriteError::Failed(m) => TopicError(E::UnknownServerError.code(), format!("The metadata quorum failed: {m}")),
                }),
            };
            match written {
                Ok(end) => {
                    latest.offset = end;
                    offset = end;
                }
                Err(err) => {
                    // Nothing of this batch is committed: every command in it failed.
                    tracing::error!("cannot write the metadata: {}", err.1);
                    latest = before;
                    synced_term = None;
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
        Reply::Broker(r) => Reply::Broker(r.and(Err(err.clone()))),
        Reply::Elected(v) => Reply::Elected(v.into_iter().map(|(t, p, _, _)| (t, p, err.0, Some(err.1.clone()))).collect()),
        Reply::AclsDeleted(v) => Reply::AclsDeleted(map(v, err)),
        Reply::Users(v) => Reply::Users(v.into_iter().map(|(u, r)| (u, r.and(Err(err.clone())))).collect()),
        Reply::Refused(e) => Reply::Refused(e),
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
        Command::Broker(cmd) => Reply::Broker(brokers::plan(ctx, img, cmd).map(|(epoch, recs)| {
            apply_item(img, recs, false);
            epoch
        })),
        Command::AlterPartition(a) => Reply::Broker(partitions::plan_alter(img, &a).map(|(epoch, recs)| {
            apply_item(img, recs, false);
            epoch
        })),
        Command::AlterGroupConfigs { group, edit, validate_only } => {
            Reply::Done(vec![configs::plan_group_alter(img, &group, &edit).map(|recs| {
                apply_item(img, recs, validate_only);
            })])
        }
        Command::AlterClientMetrics { subscription, edit, validate_only } => {
            Reply::Done(vec![configs::plan_client_metrics_alter(img, &subscription, &edit).map(|recs| {
                apply_item(img, recs, validate_only);
            })])
        }
        Command::AlterBrokerConfigs { broker, edit, validate_only } => {
            Reply::Done(vec![configs::plan_broker_alter(img, broker, &edit).map(|recs| {
                apply_item(img, recs, validate_only);
            })])
        }
        Command::Reassign { items } => {
            let (results, recs) = reassign::plan_alter(ctx, img, &items);
            // plan_alter applied its records to `img` already (items build on each other).
            out.extend(recs);
            Reply::Done(results)
        }
        Command::CreateAcls { acls } => Reply::Done(
            acls.iter()
                .map(|b| {
                    let rec = acls::plan_create(img, b)?;
                    apply_item(img, rec.into_iter().collect(), false);
                    Ok(())
                })
                .collect(),
        ),
        Command::DeleteAcls { filters } => {
            let (results, recs) = acls::plan_delete(img, &filters);
            apply_item(img, recs, false);
            Reply::AclsDeleted(results)
        }
        Command::ElectLeaders { election, partitions } => {
            let (results, recs) = partitions::plan_elect(img, election, &partitions);
            apply_item(img, recs, false);
            Reply::Elected(results)
        }
        Command::AlterClientQuotas { alterations, validate_only } => Reply::Done(
            alterations
                .iter()
                .map(|a| {
                    let recs = quotas::plan_alter(img, a)?;
                    apply_item(img, recs, validate_only);
                    Ok(())
                })
                .collect(),
        ),
        Command::AlterScram { deletions, upsertions } => {
            let (results, recs) = scram::plan_alter(img, &deletions, &upsertions);
            apply_item(img, recs, false);
            Reply::Users(results)
        }
    }
}
