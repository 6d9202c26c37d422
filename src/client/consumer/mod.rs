//! The consumer: explicit assignment or group subscription (classic protocol), a fetch
//! loop against partition leaders, `auto.offset.reset`, `isolation.level`, and auto or
//! manual commits.

pub mod assignors;
pub mod group;
pub mod modern;

use super::admin::{Admin, OffsetSpec};
use super::cluster::Cluster;
use super::connection::ClientError;
use assignors::Assignor;
use bytes::Bytes;
use group::{GroupMember, HeartbeatOutcome};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{RecordBatchDecoder, TimestampType};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    None,
}

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub group_id: Option<String>,
    pub group_instance_id: Option<String>,
    pub auto_offset_reset: OffsetReset,
    pub enable_auto_commit: bool,
    pub auto_commit_interval: Duration,
    pub isolation_level: i8,
    pub fetch_max_wait: Duration,
    pub max_partition_fetch_bytes: i32,
    pub fetch_max_bytes: i32,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub assignors: Vec<Assignor>,
    /// `group.protocol=consumer`: the KIP-848 protocol, with `group.remote.assignor`.
    pub consumer_protocol: bool,
    pub remote_assignor: Option<String>,
    pub max_poll_interval: Duration,
}

impl ConsumerConfig {
    pub fn from_props(p: &BTreeMap<String, String>) -> Result<ConsumerConfig, String> {
        let ms = |k: &str, d: u64| -> Result<Duration, String> {
            match p.get(k) {
                Some(v) => v.trim().parse().map(Duration::from_millis).map_err(|_| format!("Invalid value {v} for configuration {k}")),
                None => Ok(Duration::from_millis(d)),
            }
        };
        let int = |k: &str, d: i32| -> Result<i32, String> {
            match p.get(k) {
                Some(v) => v.trim().parse().map_err(|_| format!("Invalid value {v} for configuration {k}")),
                None => Ok(d),
            }
        };
        let auto_offset_reset = match p.get("auto.offset.reset").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("latest") => OffsetReset::Latest,
            Some("earliest") => OffsetReset::Earliest,
            Some("none") => OffsetReset::None,
            Some(o) => {
                return Err(format!(
                    "Invalid value {o} for configuration auto.offset.reset: String must be one of: latest, earliest, none"
                ));
            }
        };
        let isolation_level = match p.get("isolation.level").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("read_uncommitted") => 0,
            Some("read_committed") => 1,
            Some(o) => {
                return Err(format!(
                    "Invalid value {o} for configuration isolation.level: String must be one of: read_committed, read_uncommitted"
                ));
            }
        };
        let assignors = match p.get("partition.assignment.strategy") {
            Some(s) => s.split(',').map(|a| Assignor::parse(a.trim())).collect::<Result<Vec<_>, _>>()?,
            None => vec![Assignor::Range],
        };
        let consumer_protocol = match p.get("group.protocol").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("classic") => false,
            Some("consumer") => true,
            Some(o) => return Err(format!("Invalid value {o} for configuration group.protocol: String must be one of: classic, consumer")),
        };
        if consumer_protocol {
            // As Java's KafkaConsumer: the classic protocol's settings are the broker's now.
            for k in ["partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms"] {
                if p.contains_key(k) {
                    return Err(format!("{k} cannot be set when group.protocol=consumer"));
                }
            }
        }
        Ok(ConsumerConfig {
            consumer_protocol,
            remote_assignor: p.get("group.remote.assignor").cloned().filter(|a| !a.is_empty()),
            max_poll_interval: ms("max.poll.interval.ms", 300_000)?,
            group_id: p.get("group.id").cloned().filter(|g| !g.is_empty()),
            group_instance_id: p.get("group.instance.id").cloned().filter(|g| !g.is_empty()),
            auto_offset_reset,
            enable_auto_commit: p.get("enable.auto.commit").is_none_or(|v| v.trim().eq_ignore_ascii_case("true")),
            auto_commit_interval: ms("auto.commit.interval.ms", 5000)?,
            isolation_level,
            fetch_max_wait: ms("fetch.max.wait.ms", 500)?,
            max_partition_fetch_bytes: int("max.partition.fetch.bytes", 1 << 20)?,
            fetch_max_bytes: int("fetch.max.bytes", 50 << 20)?,
            session_timeout: ms("session.timeout.ms", 45_000)?,
            heartbeat_interval: ms("heartbeat.interval.ms", 3000)?,
            assignors,
        })
    }
}

/// One consumed record.
#[derive(Debug, Clone)]
pub struct ConsumedRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub log_append_time: bool,
    pub leader_epoch: i32,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Where an assigned partition starts.
#[derive(Debug, Clone, Copy)]
pub enum StartAt {
    Earliest,
    Latest,
    Offset(i64),
    /// The committed offset, else auto.offset.reset.
    Committed,
}

/// This consumer's fetch session with one broker.
#[derive(Default)]
struct FetchSessionState {
    id: i32,
    epoch: i32,
    /// Positions the broker last heard from us.
    sent: BTreeMap<(String, i32), i64>,
}

enum Subscription {
    Topics(Vec<String>),
    Pattern(regex::Regex),
}

pub struct Consumer {
    pub cluster: Arc<Cluster>,
    cfg: ConsumerConfig,
    positions: BTreeMap<(String, i32), i64>,
    buffer: VecDeque<ConsumedRecord>,
    group: Option<GroupMember>,
    /// Set with group.protocol=consumer: the KIP-848 member state (`group` still looks up
    /// the coordinator and commits).
    modern: Option<modern::ModernMember>,
    subscription: Option<Subscription>,
    needs_join: bool,
    last_heartbeat: Instant,
    last_commit: Instant,
    sessions: std::collections::HashMap<i32, FetchSessionState>,
}

impl Consumer {
    pub fn new(cluster: Arc<Cluster>, cfg: ConsumerConfig) -> Consumer {
        let mut group =
            cfg.group_id.clone().map(|g| GroupMember::new(g, cfg.group_instance_id.clone(), cfg.session_timeout, cfg.assignors.clone()));
        let modern = match (&mut group, cfg.consumer_protocol) {
            (Some(g), true) => Some(modern::ModernMember::new(g, cfg.remote_assignor.clone(), cfg.max_poll_interval)),
            _ => None,
        };
        Consumer {
            cluster,
            cfg,
            positions: BTreeMap::new(),
            buffer: VecDeque::new(),
            group,
            modern,
            subscription: None,
            needs_join: false,
            last_heartbeat: Instant::now(),
            last_commit: Instant::now(),
            sessions: Default::default(),
        }
    }

    /// Explicitly assigns partitions with their start positions.
    pub async fn assign(&mut self, parts: Vec<(String, i32, StartAt)>) -> Result<(), ClientError> {
        self.positions.clear();
        self.buffer.clear();
        for (t, p, start) in parts {
            let pos = self.resolve_start(&t, p, start).await?;
            self.positions.insert((t, p), pos);
        }
        Ok(())
    }

    /// Subscribes to topics (group management; requires group.id).
    pub fn subscribe(&mut self, topics: Vec<String>) -> Result<(), ClientError> {
        self.require_group()?;
        self.subscription = Some(Subscription::Topics(topics));
        self.needs_join = true;
        Ok(())
    }

    /// Subscribes to every topic matching a regex (whole-name match, like Java's).
    pub fn subscribe_pattern(&mut self, pattern: regex::Regex) -> Result<(), ClientError> {
        self.require_group()?;
        self.subscription = Some(Subscription::Pattern(pattern));
        self.needs_join = true;
        Ok(())
    }

    fn require_group(&self) -> Result<(), ClientError> {
        match self.group {
            Some(_) => Ok(()),
            None => Err(ClientError::Protocol("subscribe requires a group.id".into())),
        }
    }

    /// The fetch session id held with a broker (0 or None: sessionless).
    pub fn fetch_session(&self, broker: i32) -> Option<i32> {
        self.sessions.get(&broker).map(|s| s.id)
    }

    pub fn assignment(&self) -> BTreeSet<(String, i32)> {
        self.positions.keys().cloned().collect()
    }

    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.positions.get(&(topic.to_string(), partition)).copied()
    }

    /// Every assigned partition's position (the offsets a consume-transform-produce loop
    /// commits with its transaction).
    pub fn positions(&self) -> BTreeMap<(String, i32), i64> {
        self.positions.clone()
    }

    /// The group member's identity for send_offsets_to_transaction (None without group.id).
    pub fn group_metadata(&self) -> Option<crate::client::producer::GroupMetadata> {
        let g = self.group.as_ref()?;
        Some(crate::client::producer::GroupMetadata {
            group_id: g.group_id.clone(),
            generation_id: g.generation,
            member_id: g.member_id.clone(),
            group_instance_id: g.instance_id.clone(),
        })
    }

    async fn resolve_start(&mut self, topic: &str, partition: i32, start: StartAt) -> Result<i64, ClientError> {
        let admin = Admin::new(self.cluster.clone());
        let spec = match start {
            StartAt::Offset(o) => return Ok(o),
            StartAt::Earliest => OffsetSpec::Earliest,
            StartAt::Latest => OffsetSpec::Latest,
            StartAt::Committed => {
                if let Some(g) = self.group.as_mut() {
                    let tps: BTreeSet<(String, i32)> = [(topic.to_string(), partition)].into();
                    if let Some(Some(o)) =
                        g.committed(&self.cluster, &tps, self.cfg.isolation_level == 1).await?.remove(&(topic.to_string(), partition))
                    {
                        return Ok(o);
                    }
                }
                match self.cfg.auto_offset_reset {
                    OffsetReset::Earliest => OffsetSpec::Earliest,
                    OffsetReset::Latest => OffsetSpec::Latest,
                    OffsetReset::None => {
                        return Err(ClientError::Protocol(format!(
                            "Undefined offset with no reset policy for partitions: [{topic}-{partition}]"
                        )));
                    }
                }
            }
        };
        let r = admin.list_offsets(topic, &[partition], spec).await?;
        match r.into_iter().next() {
            Some((_, Ok((o, _)))) => Ok(o),
            Some((_, Err(e))) => Err(e),
            None => Err(ClientError::Protocol("empty ListOffsets answer".into())),
        }
    }

    fn subscribed_topics(&self) -> Vec<String> {
        let meta = self.cluster.metadata();
        match &self.subscription {
            Some(Subscription::Topics(t)) => t.clone(),
            Some(Subscription::Pattern(re)) => {
                meta.topics.values().filter(|t| !t.internal && re.is_match(&t.name)).map(|t| t.name.clone()).collect()
            }
            None => Vec::new(),
        }
    }

    /// Group upkeep: join when needed, heartbeat when due, auto-commit when due.
    async fn maintain_group(&mut self) -> Result<(), ClientError> {
        if self.group.is_none() || self.subscription.is_none() {
            return Ok(());
        }
        if self.modern.is_some() {
            return self.maintain_modern().await;
        }
        if !self.needs_join && self.last_heartbeat.elapsed() >= self.cfg.heartbeat_interval {
            self.last_heartbeat = Instant::now();
            let hb = self.group.as_mut().expect("group").heartbeat(&self.cluster).await?;
            if hb == HeartbeatOutcome::Rejoin {
                self.needs_join = true;
            }
        }
        if self.cfg.enable_auto_commit && !self.needs_join && self.last_commit.elapsed() >= self.cfg.auto_commit_interval {
            self.commit().await.ok();
        }
        if self.needs_join {
            if self.cfg.enable_auto_commit {
                // Eager protocol: commit what was consumed before giving partitions up.
                self.commit().await.ok();
            }
            if matches!(self.subscription, Some(Subscription::Pattern(_))) {
                self.cluster.refresh(None).await?;
            }
            let topics = self.subscribed_topics();
            let owned = self.assignment();
            let (assigned, cooperative) = self.group.as_mut().expect("group").join(&self.cluster, &topics, &owned).await?;
            self.needs_join = false;
            self.last_heartbeat = Instant::now();
            if cooperative {
                // Incremental: keep positions of partitions we still own; give up revoked
                // ones and rejoin so they can move (KIP-429's second round).
                let revoked: Vec<(String, i32)> = owned.iter().filter(|tp| !assigned.contains(*tp)).cloned().collect();
                for tp in &revoked {
                    self.positions.remove(tp);
                }
                self.buffer.retain(|r| assigned.contains(&(r.topic.clone(), r.partition)));
                if !revoked.is_empty() {
                    self.needs_join = true;
                }
            } else {
                self.positions.clear();
                self.buffer.clear();
            }
            for (t, p) in assigned {
                if self.positions.contains_key(&(t.clone(), p)) {
                    continue;
                }
                let pos = self.resolve_start(&t, p, StartAt::Committed).await?;
                self.positions.insert((t, p), pos);
            }
        }
        Ok(())
    }

    /// Group upkeep with the consumer protocol: heartbeat when due (at once while the
    /// assignment is moving), apply the assignment it returns, auto-commit when due.
    async fn maintain_modern(&mut self) -> Result<(), ClientError> {
        let interval = self.modern.as_ref().map(|m| m.interval).unwrap_or_default();
        if self.needs_join || self.last_heartbeat.elapsed() >= interval {
            self.last_heartbeat = Instant::now();
            let subscription = match &self.subscription {
                Some(Subscription::Pattern(re)) => modern::ModernSubscription::Regex(re.as_str().to_string()),
                _ => modern::ModernSubscription::Topics(self.subscribed_topics()),
            };
            let owned = self.assignment();
            let (m, g) = (self.modern.as_mut().expect("modern"), self.group.as_mut().expect("group"));
            match m.heartbeat(g, &self.cluster, &subscription, &owned).await? {
                modern::Beat::Same => self.needs_join = m.epoch == 0,
                modern::Beat::Lost => {
                    // Fenced: the partitions are gone without a commit; rejoin at once.
                    self.positions.clear();
                    self.buffer.clear();
                    self.needs_join = true;
                }
                modern::Beat::Assigned(next) => {
                    let revoked: Vec<(String, i32)> = owned.iter().filter(|tp| !next.contains(*tp)).cloned().collect();
                    if !revoked.is_empty() && self.cfg.enable_auto_commit {
                        // Commit what was consumed of the partitions given up.
                        self.commit().await.ok();
                    }
                    for tp in &revoked {
                        self.positions.remove(tp);
                    }
                    self.buffer.retain(|r| next.contains(&(r.topic.clone(), r.partition)));
                    for (t, p) in &next {
                        if !self.positions.contains_key(&(t.clone(), *p)) {
                            let pos = self.resolve_start(t, *p, StartAt::Committed).await?;
                            self.positions.insert((t.clone(), *p), pos);
                        }
                    }
                    // Acknowledge a change with the next heartbeat right away.
                    self.needs_join = next != owned;
                }
            }
        }
        if self.cfg.enable_auto_commit && self.last_commit.elapsed() >= self.cfg.auto_commit_interval {
            self.commit().await.ok();
        }
        Ok(())
    }

    /// Returns the next records, waiting up to `timeout` for some to arrive.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumedRecord>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.maintain_group().await?;
            if !self.buffer.is_empty() {
                return Ok(self.buffer.drain(..).collect());
            }
            let now = Instant::now();
            if now >= deadline && !timeout.is_zero() {
                return Ok(Vec::new());
            }
            let wait = self.cfg.fetch_max_wait.min(deadline.saturating_duration_since(now)).min(self.cfg.heartbeat_interval);
            if self.positions.is_empty() {
                tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
            } else {
                self.fetch_once(wait).await?;
            }
            if timeout.is_zero() {
                return Ok(self.buffer.drain(..).collect());
            }
        }
    }

    async fn fetch_once(&mut self, wait: Duration) -> Result<(), ClientError> {
        let mut by_leader: BTreeMap<i32, Vec<(String, i32, i64)>> = BTreeMap::new();
        for ((t, p), pos) in &self.positions {
            let leader = self.cluster.leader(t, *p).await?;
            by_leader.entry(leader).or_default().push((t.clone(), *p, *pos));
        }
        // One leader per call keeps long polls simple; rotate through leaders.
        for (leader, parts) in by_leader {
            let version = self.cluster.version_for::<FetchRequest>(Some(leader)).await?;
            let meta = self.cluster.metadata();
            // KIP-227 fetch sessions (v7+): after one full fetch, only partitions whose
            // position changed are sent, and dropped ones are listed as forgotten.
            let session = self.sessions.entry(leader).or_default();
            let full = version < 7 || session.id == 0;
            let changed: Vec<&(String, i32, i64)> =
                parts.iter().filter(|(t, p, pos)| full || session.sent.get(&(t.clone(), *p)) != Some(pos)).collect();
            let mut topics: BTreeMap<String, Vec<fetch_request::FetchPartition>> = BTreeMap::new();
            for (t, p, pos) in changed {
                topics.entry(t.clone()).or_default().push(
                    fetch_request::FetchPartition::default()
                        .with_partition(*p)
                        .with_fetch_offset(*pos)
                        .with_partition_max_bytes(self.cfg.max_partition_fetch_bytes),
                );
            }
            let mut forgotten: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            if !full {
                for (t, p) in session.sent.keys() {
                    if !parts.iter().any(|(pt, pp, _)| pt == t && pp == p) {
                        forgotten.entry(t.clone()).or_default().push(*p);
                    }
                }
            }
            let (session_id, epoch) = match (version >= 7, full) {
                (false, _) => (0, -1),
                (true, true) => (0, 0),
                (true, false) => (session.id, session.epoch),
            };
            let topic_ref = |t: String| -> (TopicName, uuid::Uuid) {
                if version >= 13 {
                    (TopicName(StrBytes::from_static_str("")), meta.topics.get(&t).map(|m| m.id).unwrap_or_default())
                } else {
                    (TopicName(StrBytes::from_string(t)), uuid::Uuid::nil())
                }
            };
            let req = FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(wait.as_millis() as i32)
                .with_min_bytes(1)
                .with_max_bytes(self.cfg.fetch_max_bytes)
                .with_isolation_level(self.cfg.isolation_level)
                .with_session_id(session_id)
                .with_session_epoch(epoch)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(t, ps)| {
                            let (name, id) = topic_ref(t);
                            fetch_request::FetchTopic::default().with_partitions(ps).with_topic(name).with_topic_id(id)
                        })
                        .collect(),
                )
                .with_forgotten_topics_data(
                    forgotten
                        .into_iter()
                        .map(|(t, ps)| {
                            let (name, id) = topic_ref(t);
                            fetch_request::ForgottenTopic::default().with_topic(name).with_topic_id(id).with_partitions(ps)
                        })
                        .collect(),
                );
            let resp = match self.cluster.send(Some(leader), &req).await {
                Ok(r) => r,
                Err(e) => {
                    self.sessions.remove(&leader);
                    return Err(e);
                }
            };
            if resp.error_code == E::FetchSessionIdNotFound.code() || resp.error_code == E::InvalidFetchSessionEpoch.code() {
                // The broker lost or rejected our session: start over with a full fetch.
                self.sessions.remove(&leader);
                continue;
            }
            if resp.error_code != 0 {
                return Err(ClientError::kafka(resp.error_code));
            }
            if version >= 7 {
                let session = self.sessions.entry(leader).or_default();
                session.id = resp.session_id;
                // Epochs run 1..=i32::MAX and wrap back to 1.
                session.epoch = if full || session.epoch == i32::MAX { 1 } else { session.epoch + 1 };
                session.sent = parts.iter().map(|(t, p, pos)| ((t.clone(), *p), *pos)).collect();
            }
            for t in resp.responses {
                let name = if version >= 13 {
                    meta.topics.values().find(|m| m.id == t.topic_id).map(|m| m.name.clone()).unwrap_or_default()
                } else {
                    t.topic.0.to_string()
                };
                for p in t.partitions {
                    self.handle_partition(&name, p).await?;
                }
            }
        }
        Ok(())
    }

    async fn handle_partition(&mut self, topic: &str, p: fetch_response::PartitionData) -> Result<(), ClientError> {
        let key = (topic.to_string(), p.partition_index);
        let Some(pos) = self.positions.get(&key).copied() else { return Ok(()) };
        match p.error_code {
            0 => {}
            c if c == E::OffsetOutOfRange.code() => {
                let start = match self.cfg.auto_offset_reset {
                    OffsetReset::Earliest => StartAt::Earliest,
                    OffsetReset::Latest => StartAt::Latest,
                    OffsetReset::None => return Err(ClientError::kafka(c)),
                };
                let new = self.resolve_start(topic, p.partition_index, start).await?;
                self.positions.insert(key, new);
                return Ok(());
            }
            c if E::try_from_code(c).is_some_and(|e| e.is_retriable()) => {
                self.cluster.refresh(Some(&[topic.to_string()])).await?;
                return Ok(());
            }
            c => return Err(ClientError::kafka(c)),
        }
        let mut data = p.records.unwrap_or_default();
        let mut next = pos;
        // read_committed: the broker lists the aborted transactions in this range; their
        // records are dropped here, from each one's first offset up to its abort marker.
        let mut aborted =
            AbortedFilter::new(if self.cfg.isolation_level == 1 { p.aborted_transactions.unwrap_or_default() } else { Vec::new() });
        while !data.is_empty() {
            // A partial batch at the end of a response is normal: stop there.
            let Ok(set) = RecordBatchDecoder::decode(&mut data) else { break };
            for r in set.records {
                if r.offset < pos {
                    continue;
                }
                next = r.offset + 1;
                if aborted.skip(&r) || r.control {
                    continue;
                }
                self.buffer.push_back(ConsumedRecord {
                    topic: topic.to_string(),
                    partition: p.partition_index,
                    offset: r.offset,
                    timestamp: r.timestamp,
                    log_append_time: r.timestamp_type == TimestampType::LogAppend,
                    leader_epoch: r.partition_leader_epoch,
                    key: r.key,
                    value: r.value,
                    headers: r.headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                });
            }
        }
        self.positions.insert(key, next);
        Ok(())
    }

    /// Commits the current positions (group members or standalone group.id users).
    pub async fn commit(&mut self) -> Result<(), ClientError> {
        self.last_commit = Instant::now();
        let Some(g) = self.group.as_mut() else { return Ok(()) };
        g.commit(&self.cluster, &self.positions).await
    }

    /// Commits (when auto commit is on) and leaves the group.
    pub async fn close(mut self) -> Result<(), ClientError> {
        if self.cfg.enable_auto_commit && self.group.is_some() && !self.positions.is_empty() {
            self.commit().await?;
        }
        match (self.modern.as_mut(), self.group.as_mut()) {
            (Some(m), Some(g)) => m.leave(g, &self.cluster).await?,
            (None, Some(g)) => g.leave(&self.cluster).await?,
            _ => {}
        }
        Ok(())
    }

    /// Rewinds positions to just after the given records (for records not handed out).
    pub fn seek(&mut self, topic: &str, partition: i32, offset: i64) {
        self.positions.insert((topic.to_string(), partition), offset);
    }

    /// The log end offsets of the assigned partitions (for stop-at-end).
    pub async fn end_offsets(&self) -> Result<BTreeMap<(String, i32), i64>, ClientError> {
        let admin = Admin::new(self.cluster.clone());
        let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for (t, p) in self.positions.keys() {
            by_topic.entry(t.clone()).or_default().push(*p);
        }
        let mut out = BTreeMap::new();
        for (t, ps) in by_topic {
            for (p, r) in admin.list_offsets(&t, &ps, OffsetSpec::Latest).await? {
                out.insert((t.clone(), p), r?.0);
            }
        }
        Ok(out)
    }
}

/// Drops the records of aborted transactions for a read_committed consumer (Java's
/// Fetcher logic): an aborted transaction becomes active at its first offset and stays
/// so for its producer until that producer's ABORT marker.
struct AbortedFilter {
    /// (first offset, producer id), latest first so the next one to activate is last.
    pending: Vec<(i64, i64)>,
    active: std::collections::HashSet<i64>,
}

impl AbortedFilter {
    fn new(list: Vec<fetch_response::AbortedTransaction>) -> AbortedFilter {
        let mut pending: Vec<(i64, i64)> = list.into_iter().map(|a| (a.first_offset, a.producer_id.0)).collect();
        pending.sort_unstable_by(|a, b| b.cmp(a));
        AbortedFilter { pending, active: Default::default() }
    }

    /// True when the record belongs to an aborted transaction.
    fn skip(&mut self, r: &kafka_protocol::records::Record) -> bool {
        while self.pending.last().is_some_and(|(first, _)| *first <= r.offset) {
            let (_, pid) = self.pending.pop().expect("checked");
            self.active.insert(pid);
        }
        if !r.transactional || !self.active.contains(&r.producer_id) {
            return false;
        }
        if r.control {
            // Key: version (i16), type (i16; 0 = ABORT, 1 = COMMIT).
            let is_abort = r.key.as_ref().is_some_and(|k| k.len() >= 4 && k[2..4] == [0, 0]);
            if is_abort {
                self.active.remove(&r.producer_id);
            }
        }
        true
    }
}
