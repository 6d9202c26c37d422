//! The follower side of replication (Kafka's ReplicaFetcherManager and ReplicaFetcherThread):
//! one task per leader broker fetches, over the Kafka protocol with this broker's replica
//! id, every partition this broker follows there; appends what it gets at the leader's
//! offsets and epochs, takes the leader's high watermark, truncates when the leader says
//! its log diverged (KIP-320 diverging epoch) or starts over below the leader's log start.

use super::Partition;
use crate::broker::log::LogError;
use crate::client::Connection;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ReplicaState};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// replica.fetch.* settings.
#[derive(Debug, Clone, Copy)]
pub struct FetchConfig {
    pub max_bytes: i32,
    pub partition_max_bytes: i32,
    pub wait_ms: i32,
    pub backoff: Duration,
}

#[derive(Clone)]
struct Follow {
    partition: Arc<Partition>,
    leader_epoch: i32,
    retry_at: Option<Instant>,
}

struct Fetcher {
    addr: Mutex<String>,
    parts: Mutex<HashMap<(String, i32), Follow>>,
    wake: Notify,
    stopped: AtomicBool,
}

pub struct FetcherManager {
    node_id: i32,
    cfg: FetchConfig,
    /// How to reach leaders (the inter-broker listener's TLS/SASL).
    security: Arc<crate::client::security::Security>,
    /// The runtime fetchers run on (the publisher thread that calls `follow` is not one).
    rt: Option<tokio::runtime::Handle>,
    fetchers: Mutex<HashMap<i32, Arc<Fetcher>>>,
}

impl FetcherManager {
    pub fn new(
        node_id: i32,
        cfg: FetchConfig,
        security: crate::client::security::Security,
        rt: Option<tokio::runtime::Handle>,
    ) -> FetcherManager {
        FetcherManager { node_id, cfg, security: Arc::new(security), rt, fetchers: Mutex::new(HashMap::new()) }
    }

    fn fetchers(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Arc<Fetcher>>> {
        self.fetchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows `p` at `leader` (reachable at `addr`) in `leader_epoch`; a partition moves
    /// between fetchers when its leader changes.
    pub fn follow(&self, p: Arc<Partition>, leader: i32, leader_epoch: i32, addr: String) {
        let key = (p.topic.clone(), p.index);
        let mut fetchers = self.fetchers();
        for (l, f) in fetchers.iter() {
            if *l != leader {
                f.parts.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
            }
        }
        let f = fetchers.entry(leader).or_insert_with(|| {
            let f = Arc::new(Fetcher {
                addr: Mutex::new(addr.clone()),
                parts: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                stopped: AtomicBool::new(false),
            });
            match &self.rt {
                Some(rt) => drop(rt.spawn(run(f.clone(), self.node_id, self.cfg, self.security.clone()))),
                None => tracing::error!("no async runtime to run the replica fetcher on"),
            }
            f
        });
        *f.addr.lock().unwrap_or_else(|e| e.into_inner()) = addr;
        f.parts.lock().unwrap_or_else(|e| e.into_inner()).insert(key, Follow { partition: p, leader_epoch, retry_at: None });
        f.wake.notify_one();
    }

    /// Stops following a partition (this broker leads it now, or no longer hosts it).
    pub fn unfollow(&self, topic: &str, partition: i32) {
        let key = (topic.to_string(), partition);
        for f in self.fetchers().values() {
            f.parts.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
        }
    }

    /// Stops every fetcher (shutdown).
    pub fn shutdown(&self) {
        for (_, f) in self.fetchers().drain() {
            f.stopped.store(true, Ordering::Relaxed);
            f.wake.notify_one();
        }
    }
}

/// How soon a partition is fetched again when the leader was not yet ready for it.
const LEADERSHIP_RETRY: Duration = Duration::from_millis(20);

async fn run(f: Arc<Fetcher>, node_id: i32, cfg: FetchConfig, security: Arc<crate::client::security::Security>) {
    let mut conn: Option<(Connection, String)> = None;
    while !f.stopped.load(Ordering::Relaxed) {
        let now = Instant::now();
        let due: Vec<((String, i32), Follow)> = f
            .parts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, x)| x.retry_at.is_none_or(|t| t <= now))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if due.is_empty() {
            let _ = tokio::time::timeout(Duration::from_millis(100), f.wake.notified()).await;
            continue;
        }
        let addr = f.addr.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let reused = conn.as_ref().is_some_and(|(_, a)| *a == addr);
        if !reused {
            match Connection::connect_with(&addr, "rk-replica-fetcher", &security).await {
                Ok(c) => conn = Some((c, addr.clone())),
                Err(e) => {
                    tracing::debug!("replica fetcher cannot reach the leader at {addr}: {e}");
                    conn = None;
                    tokio::time::sleep(cfg.backoff).await;
                    continue;
                }
            }
        }
        let (c, _) = conn.as_ref().expect("connected above");
        let version = c.version_for::<FetchRequest>().unwrap_or(12);
        let req = build(&due, node_id, cfg, version);
        let resp = match c.send_at(&req, version).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!("replica fetch from {addr} failed: {e}");
                conn = None;
                // A connection kept from earlier may be to a leader process that restarted
                // since: try a new one at once; back off only when a fresh one fails.
                if !reused {
                    tokio::time::sleep(cfg.backoff).await;
                }
                continue;
            }
        };
        let retry = tokio::task::spawn_blocking(move || apply(due, resp, version)).await.unwrap_or_default();
        if !retry.is_empty() {
            let mut parts = f.parts.lock().unwrap_or_else(|e| e.into_inner());
            for (k, soon) in retry {
                if let Some(x) = parts.get_mut(&k) {
                    x.retry_at = Some(Instant::now() + if soon { LEADERSHIP_RETRY.min(cfg.backoff) } else { cfg.backoff });
                }
            }
        }
    }
}

fn build(due: &[((String, i32), Follow)], node_id: i32, cfg: FetchConfig, version: i16) -> FetchRequest {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for ((topic, idx), x) in due {
        let (fetch_offset, last_epoch, log_start) = x.partition.fetch_position();
        let part = FetchPartition::default()
            .with_partition(*idx)
            .with_current_leader_epoch(x.leader_epoch)
            .with_fetch_offset(fetch_offset)
            .with_last_fetched_epoch(last_epoch)
            .with_log_start_offset(log_start)
            .with_partition_max_bytes(cfg.partition_max_bytes);
        let same =
            topics.last().is_some_and(|t| if version >= 13 { t.topic_id == x.partition.topic_id } else { t.topic.0.as_str() == topic });
        if !same {
            let t = FetchTopic::default();
            topics.push(if version >= 13 {
                t.with_topic_id(x.partition.topic_id)
            } else {
                t.with_topic(TopicName(StrBytes::from_string(topic.clone())))
            });
        }
        topics.last_mut().expect("pushed").partitions.push(part);
    }
    let req = FetchRequest::default()
        .with_max_wait_ms(cfg.wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(cfg.max_bytes)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics);
    if version >= 15 {
        req.with_replica_state(ReplicaState::default().with_replica_id(BrokerId(node_id)).with_replica_epoch(-1))
    } else {
        req.with_replica_id(BrokerId(node_id))
    }
}

/// Applies a fetch response (on a blocking thread: appends write to disk). Returns the
/// partitions to retry later.
fn apply(due: Vec<((String, i32), Follow)>, resp: FetchResponse, version: i16) -> Vec<((String, i32), bool)> {
    let mut by_key: HashMap<(String, i32), Follow> = due.into_iter().collect();
    let mut retry = Vec::new();
    for t in resp.responses {
        for p in t.partitions {
            let key = if version >= 13 {
                let name = by_key.iter().find(|(_, x)| x.partition.topic_id == t.topic_id).map(|((n, _), _)| n.clone());
                (name.unwrap_or_default(), p.partition_index)
            } else {
                (t.topic.0.to_string(), p.partition_index)
            };
            let Some(x) = by_key.remove(&key) else { continue };
            let part = &x.partition;
            let result = match p.error_code {
                0 if p.diverging_epoch.epoch >= 0 => {
                    // Our log holds batches of an epoch the leader ended earlier: cut them.
                    let (_, local_end) = part.epoch_end(p.diverging_epoch.epoch);
                    let target = p.diverging_epoch.end_offset.min(local_end);
                    let (fetch_offset, last_epoch, _) = part.fetch_position();
                    tracing::info!(
                        topic = %part.topic,
                        partition = part.index,
                        offset = target,
                        fetch_offset,
                        last_epoch,
                        leader_epoch = p.diverging_epoch.epoch,
                        leader_end = p.diverging_epoch.end_offset,
                        local_end,
                        "truncating a diverged follower log"
                    );
                    part.truncate_as_follower(target, false, x.leader_epoch).map(|_| ())
                }
                0 => {
                    let mut buf = bytes::BytesMut::from(p.records.as_deref().unwrap_or_default());
                    part.append_as_follower(&mut buf, p.high_watermark, p.log_start_offset, x.leader_epoch)
                }
                c if c == E::OffsetOutOfRange.code() => {
                    let (fetch_offset, _, _) = part.fetch_position();
                    if fetch_offset < p.log_start_offset {
                        part.truncate_as_follower(p.log_start_offset, true, x.leader_epoch).map(|_| ())
                    } else {
                        // Ahead of the leader (an unclean election): back to what it holds.
                        part.truncate_as_follower(p.high_watermark.max(0), false, x.leader_epoch).map(|_| ())
                    }
                }
                c => {
                    // The leader has not yet applied the metadata that made it leader (or
                    // us its follower in this epoch): it will in moments, not in
                    // replica.fetch.backoff.ms.
                    let soon = [E::UnknownLeaderEpoch, E::NotLeaderOrFollower, E::FencedLeaderEpoch].iter().any(|e| e.code() == c);
                    retry.push((key, soon));
                    continue;
                }
            };
            match result {
                Ok(()) => {}
                // The fetcher is re-pointed by the metadata that changed the leadership.
                Err(LogError::Deleted | LogError::StaleFetch(_)) => {}
                Err(e) => {
                    tracing::warn!(topic = %part.topic, partition = part.index, "follower cannot apply fetched data: {e}");
                    retry.push((key, false));
                }
            }
        }
    }
    retry
}
