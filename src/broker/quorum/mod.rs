//! The metadata quorum (KRaft's role), built on openraft: the voters of
//! `controller.quorum.voters` replicate `__cluster_metadata` (store.rs), apply committed
//! entries to the image and the publisher (state.rs), and talk over the CONTROLLER listener
//! (net.rs). The Raft leader is the active controller: only it plans and writes metadata
//! (`write`); the others forward their commands to it.

pub mod net;
pub mod observer;
mod state;
mod store;

use crate::broker::config::kraft::KraftConfig;
use crate::broker::metadata::publisher::MetadataPublisher;
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, ServerState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;

/// A batch of metadata records proposed by the active controller (one Raft entry).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Proposal {
    pub records: Vec<MetadataRecord>,
}

impl std::fmt::Display for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} metadata record(s)", self.records.len())
    }
}

/// What applying an entry answers: the metadata offset after it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Applied {
    pub end_offset: i64,
}

openraft::declare_raft_types!(
    pub TypeConfig:
        D = Proposal,
        R = Applied,
        NodeId = u64,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;

#[derive(Debug, thiserror::Error)]
pub enum QuorumError {
    #[error("cannot open the metadata quorum's log: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot listen on the controller listener {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("the metadata quorum failed: {0}")]
    Raft(String),
}

/// Why a write did not happen.
#[derive(Debug, Clone)]
pub enum WriteError {
    /// This node is not the active controller (the leader, if known).
    NotLeader(Option<i32>),
    Failed(String),
}

/// One voter's replication state, for DescribeQuorum.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaInfo {
    pub id: i32,
    pub log_end_offset: i64,
    pub last_fetch_ms: i64,
    pub last_caught_up_ms: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QuorumInfo {
    pub leader: Option<i32>,
    pub epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<ReplicaInfo>,
    /// Broker-only nodes fetching the metadata (as the leader saw them).
    #[serde(default)]
    pub observers: Vec<ReplicaInfo>,
}

pub struct Quorum {
    pub node_id: i32,
    voters: BTreeMap<i32, String>,
    raft: Arc<OnceLock<Raft>>,
    /// Broker-only nodes: the observer that fetches the metadata (no Raft here).
    observer: Option<Arc<observer::Observer>>,
    sm: Arc<state::SmShared>,
    log: store::LogStore,
    controller: Arc<OnceLock<Arc<dyn net::ControllerRpc>>>,
    /// Observers' fetch progress as this voter served it: id → (next offset, when).
    observers: Mutex<BTreeMap<i32, (i64, i64)>>,
    /// Connections to the voters for controller calls: forwarded commands, and (apart, so a
    /// slow command never delays one) heartbeats.
    peers: Mutex<HashMap<(i32, bool), Arc<net::PeerConn>>>,
    /// When each voter last acknowledged the leader (leader only, for DescribeQuorum).
    acked: Mutex<HashMap<i32, (i64, i64)>>,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The state a node starts from: the newest snapshot's image (the log is replayed on it).
pub struct Loaded {
    sm: Arc<state::SmShared>,
    log: store::LogStore,
    pub image: MetadataImage,
}

/// Opens the quorum's log and snapshot in `data_dir` (before the publisher exists).
pub fn load(data_dir: &Path, clean_shutdown: bool) -> Result<Loaded, QuorumError> {
    let dir = data_dir.join(crate::broker::metadata::log::METADATA_DIR);
    std::fs::create_dir_all(&dir)?;
    let log = store::LogStore::open(&dir, clean_shutdown)?;
    let sm = state::load(&dir)?;
    let image = sm.image();
    Ok(Loaded { sm, log, image })
}

fn now_ms() -> i64 {
    crate::broker::log::now_ms()
}

impl Quorum {
    /// Binds the CONTROLLER listener (controller role) and starts Raft on the loaded state;
    /// on a first start every voter initialises the same voter set. A broker-only node
    /// starts an observer instead.
    pub async fn start(
        node_id: i32,
        cfg: &KraftConfig,
        loaded: Loaded,
        publisher: Arc<MetadataPublisher>,
    ) -> Result<Arc<Quorum>, QuorumError> {
        loaded.sm.set_publisher(publisher);
        let observer =
            (!cfg.controller).then(|| observer::Observer::start(node_id, cfg.voters.clone(), cfg.bootstrap.clone(), loaded.sm.clone()));
        let q = Arc::new(Quorum {
            node_id,
            voters: cfg.voters.clone(),
            raft: Arc::new(OnceLock::new()),
            observer,
            sm: loaded.sm.clone(),
            log: loaded.log.clone(),
            controller: Arc::new(OnceLock::new()),
            observers: Mutex::new(BTreeMap::new()),
            peers: Mutex::new(HashMap::new()),
            acked: Mutex::new(HashMap::new()),
            server: Mutex::new(None),
        });
        if q.observer.is_some() {
            return Ok(q);
        }
        if let Some(addr) = cfg.controller_listen {
            let listener = TcpListener::bind(addr).await.map_err(|source| QuorumError::Bind { addr, source })?;
            let task = tokio::spawn(net::serve(listener, Arc::downgrade(&q)));
            *q.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        }
        // openraft waits a leader lease (election_timeout_max) plus a random timeout before
        // it calls an election: with Kafka's 1 s timeout as the maximum, a dead active
        // controller is replaced in 1.5-2 s.
        let election = cfg.election_timeout_ms.max(100);
        let config = openraft::Config {
            cluster_name: "rk".into(),
            heartbeat_interval: (election / 5).max(20),
            election_timeout_min: election / 2,
            election_timeout_max: election,
            install_snapshot_timeout: 10_000,
            ..Default::default()
        }
        .validate()
        .map_err(|e| QuorumError::Raft(e.to_string()))?;
        let sm = state::StateMachine { shared: loaded.sm };
        let raft = Raft::new(node_id as u64, Arc::new(config), net::NetFactory, loaded.log, sm)
            .await
            .map_err(|e| QuorumError::Raft(e.to_string()))?;
        let initialized = raft.is_initialized().await.map_err(|e| QuorumError::Raft(e.to_string()))?;
        if !initialized && cfg.voters.contains_key(&node_id) {
            let members: BTreeMap<u64, BasicNode> = cfg.voters.iter().map(|(id, a)| (*id as u64, BasicNode::new(a))).collect();
            // Every voter initialises the same set on first start: the first to win an
            // election decides, the others' identical proposal is refused harmlessly.
            if let Err(e) = raft.initialize(members).await {
                tracing::debug!("quorum initialisation: {e}");
            }
        }
        let mut metrics = raft.metrics();
        let _ = q.raft.set(raft);
        // The quorum's own events, in rk's words (openraft's log is off by default).
        tokio::spawn(async move {
            let mut last: Option<u64> = None;
            while metrics.changed().await.is_ok() {
                let (leader, term) = {
                    let m = metrics.borrow();
                    (m.current_leader, m.current_term)
                };
                if leader != last {
                    match leader {
                        Some(l) => tracing::info!(leader = l, epoch = term, "the active controller is node {l}"),
                        None => tracing::info!(epoch = term, "no active controller (election)"),
                    }
                    last = leader;
                }
            }
        });
        Ok(q)
    }

    fn raft(&self) -> &Raft {
        self.raft.get().expect("the quorum is started before it is used")
    }

    /// Who answers controller calls arriving on the CONTROLLER listener.
    pub fn set_controller(&self, c: Arc<dyn net::ControllerRpc>) {
        let _ = self.controller.set(c);
    }

    /// The voters: id → CONTROLLER host:port.
    pub fn voters(&self) -> BTreeMap<i32, String> {
        match &self.observer {
            Some(o) => o.voters(),
            None => self.voters.clone(),
        }
    }

    /// The active controller (the Raft leader), if one is known.
    pub fn leader(&self) -> Option<i32> {
        match &self.observer {
            Some(o) => *o.leader.borrow(),
            None => self.raft().metrics().borrow().current_leader.map(|l| l as i32),
        }
    }

    pub fn is_leader(&self) -> bool {
        if self.observer.is_some() {
            return false;
        }
        let m = self.raft().metrics();
        let m = m.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.node_id as u64)
    }

    pub fn term(&self) -> u64 {
        match &self.observer {
            Some(o) => o.epoch.load(std::sync::atomic::Ordering::Relaxed),
            None => self.raft().metrics().borrow().current_term,
        }
    }

    /// Waits until this node knows a leader (start-up), at most `timeout`.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Option<i32> {
        if let Some(o) = &self.observer {
            let mut rx = o.leader.subscribe();
            let found = tokio::time::timeout(timeout, rx.wait_for(|l| l.is_some())).await;
            return found.ok().and_then(|r| r.ok()).and_then(|l| *l);
        }
        let mut rx = self.raft().metrics();
        let found = tokio::time::timeout(timeout, rx.wait_for(|m| m.current_leader.is_some())).await;
        found.ok().and_then(|r| r.ok()).and_then(|m| m.current_leader.map(|l| l as i32))
    }

    /// Returns once the known leader is no longer `leader` (an election happened).
    pub async fn leader_moved_from(&self, leader: i32) {
        if let Some(o) = &self.observer {
            let mut rx = o.leader.subscribe();
            let _ = rx.wait_for(|l| *l != Some(leader)).await;
            return;
        }
        let mut rx = self.raft().metrics();
        let _ = rx.wait_for(|m| m.current_leader != Some(leader as u64)).await;
    }

    /// A voter answers an observer's fetch: committed entries from `next` (held up to
    /// FETCH_WAIT when there is nothing new), or its image when they were snapshotted away.
    pub(crate) async fn serve_fetch(&self, f: observer::FetchMetadata) -> net::Response {
        let Some(raft) = self.raft.get() else { return net::Response::Error("the quorum is starting".into()) };
        self.sm.wait_applied(f.next as i64 + 1, observer::FETCH_WAIT).await;
        let m = raft.metrics().borrow().clone();
        let mut out = observer::MetadataFetched {
            leader: m.current_leader.map(|l| l as i32),
            epoch: m.current_term,
            voters: self.voters.clone(),
            ..Default::default()
        };
        match self.sm.committed_since(&self.log, f.next, observer::FETCH_MAX_ENTRIES) {
            Some(batches) => out.batches = batches,
            None => out.image = Some(self.sm.image_records()),
        }
        let end = out.batches.last().map(|b| b.0).or(out.image.as_ref().map(|i| i.1)).unwrap_or(f.next as i64);
        self.observers.lock().unwrap_or_else(|e| e.into_inner()).insert(f.node, (end, now_ms()));
        net::Response::MetadataFetched(out)
    }

    /// The image with every entry this node applied.
    pub fn applied_image(&self) -> MetadataImage {
        self.sm.image()
    }

    /// On the leader: waits until everything committed before this call is applied here,
    /// so planning sees the newest metadata (after an election, entries of the previous
    /// term may still be arriving).
    pub async fn sync_leader(&self) -> Result<(), WriteError> {
        if self.observer.is_some() {
            return Err(WriteError::NotLeader(self.leader()));
        }
        match self.raft().ensure_linearizable().await {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(f))) => {
                Err(WriteError::NotLeader(f.leader_id.map(|l| l as i32)))
            }
            Err(RaftError::APIError(e)) => Err(WriteError::NotLeader(None)).inspect_err(|_| tracing::debug!("not the leader: {e}")),
            Err(e) => Err(WriteError::Failed(e.to_string())),
        }
    }

    /// Replicates `records` as one entry; returns the metadata offset after it once it is
    /// committed and applied here.
    pub async fn write(&self, records: Vec<MetadataRecord>) -> Result<i64, WriteError> {
        if self.observer.is_some() {
            return Err(WriteError::NotLeader(self.leader()));
        }
        match self.raft().client_write(Proposal { records }).await {
            Ok(r) => Ok(r.data.end_offset),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => Err(WriteError::NotLeader(f.leader_id.map(|l| l as i32))),
            Err(e) => Err(WriteError::Failed(e.to_string())),
        }
    }

    fn peer(&self, node: i32, heartbeat: bool) -> Option<Arc<net::PeerConn>> {
        let addr = self.voters().get(&node)?.clone();
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let conn = peers.entry((node, heartbeat)).or_insert_with(|| Arc::new(net::PeerConn::new(addr.clone())));
        if conn.addr() != addr {
            *conn = Arc::new(net::PeerConn::new(addr));
        }
        Some(conn.clone())
    }

    /// A controller call to voter `node`; `heartbeat` calls have their own connection (the
    /// controller treats its closing as the broker's death).
    pub async fn call(
        &self,
        node: i32,
        request: serde_json::Value,
        timeout: Duration,
        heartbeat: bool,
    ) -> Result<serde_json::Value, String> {
        let peer = self.peer(node, heartbeat).ok_or_else(|| format!("node {node} is not a voter"))?;
        match peer.call(&net::Request::Controller(request), timeout).await {
            Ok(net::Response::Controller(v)) => Ok(v),
            Ok(net::Response::Error(e)) => Err(e),
            Ok(_) => Err("unexpected quorum response".into()),
            Err((_, e)) => Err(e),
        }
    }

    /// DescribeQuorum's view: leader, epoch, high watermark and each voter's progress.
    pub fn describe(&self) -> QuorumInfo {
        let Some(raft) = self.raft.get() else {
            let offset = self.sm.image().offset;
            return QuorumInfo { leader: self.leader(), epoch: self.term() as i32, high_watermark: offset, ..Default::default() };
        };
        let m = raft.metrics().borrow().clone();
        let now = now_ms();
        let high_watermark = m.last_applied.map_or(0, |l| l.index as i64 + 1);
        let mut acked = self.acked.lock().unwrap_or_else(|e| e.into_inner());
        let voters = self
            .voters
            .keys()
            .map(|id| {
                let matched = match (&m.replication, *id == self.node_id) {
                    (_, true) => m.last_log_index.map(|i| i as i64 + 1),
                    (Some(r), false) => r.get(&(*id as u64)).map(|l| l.map_or(0, |l| l.index as i64 + 1)),
                    (None, false) => None,
                };
                let leo = matched.unwrap_or(-1);
                let entry = acked.entry(*id).or_insert((-1, -1));
                if matched.is_some() {
                    entry.0 = now;
                    if leo >= high_watermark {
                        entry.1 = now;
                    }
                }
                ReplicaInfo { id: *id, log_end_offset: leo, last_fetch_ms: entry.0, last_caught_up_ms: entry.1 }
            })
            .collect();
        // Observers whose last fetch is older than a few fetch waits are gone (Kafka keeps
        // them for a while too).
        let mut seen = self.observers.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, (_, at)| now - *at < 30_000);
        let observers = seen
            .iter()
            .map(|(id, (leo, at))| ReplicaInfo {
                id: *id,
                log_end_offset: *leo,
                last_fetch_ms: *at,
                last_caught_up_ms: if *leo >= high_watermark { *at } else { -1 },
            })
            .collect();
        QuorumInfo { leader: m.current_leader.map(|l| l as i32), epoch: m.current_term as i32, high_watermark, voters, observers }
    }

    /// Stops Raft and the listener; the log is flushed.
    pub async fn shutdown(&self) {
        if let Some(o) = &self.observer {
            o.stop();
        }
        if let Some(raft) = self.raft.get() {
            let _ = raft.shutdown().await;
        }
        if let Some(t) = self.server.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.abort();
        }
        let _ = self.log.flush();
    }
}
