//! A broker-only node (`process.roles=broker`) is an observer of the metadata quorum, as
//! in KRaft: it votes for nothing and stores no Raft log; it fetches the committed
//! metadata from the voters (the active controller when it is known), long-polling on
//! the CONTROLLER listener, and applies it to its image and publisher like a voter's
//! state machine. It starts from the voter's image when it is new or fell behind the
//! voter's log (the voter snapshotted past it).

use super::net::{PeerConn, Request, Response};
use super::state::SmShared;
use crate::broker::metadata::MetadataRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long a voter holds a fetch that has nothing new.
pub const FETCH_WAIT: Duration = Duration::from_millis(500);
/// The most entries one fetch returns.
pub const FETCH_MAX_ENTRIES: u64 = 2000;

/// An observer's fetch of committed metadata entries from index `next`.
#[derive(Debug, Serialize, Deserialize)]
pub struct FetchMetadata {
    pub node: i32,
    pub next: u64,
}

/// A voter's answer: who leads, the voters, and what was committed since `next` (or, when
/// that is no longer in its log, its whole image).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MetadataFetched {
    pub leader: Option<i32>,
    pub epoch: u64,
    pub voters: BTreeMap<i32, String>,
    pub image: Option<(Vec<MetadataRecord>, i64)>,
    pub batches: Vec<(i64, Vec<MetadataRecord>)>,
}

pub struct Observer {
    pub leader: tokio::sync::watch::Sender<Option<i32>>,
    pub epoch: AtomicU64,
    /// The voters (from controller.quorum.voters, or learnt from a bootstrap server).
    pub voters: RwLock<BTreeMap<i32, String>>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Observer {
    pub fn start(node: i32, voters: BTreeMap<i32, String>, bootstrap: Vec<String>, sm: Arc<SmShared>) -> Arc<Observer> {
        let o = Arc::new(Observer {
            leader: tokio::sync::watch::channel(None).0,
            epoch: AtomicU64::new(0),
            voters: RwLock::new(voters),
            task: std::sync::Mutex::new(None),
        });
        let task = tokio::spawn(o.clone().run(node, bootstrap, sm));
        *o.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        o
    }

    pub fn voters(&self) -> BTreeMap<i32, String> {
        self.voters.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Where to fetch from: the leader when known, else the voters (or bootstrap servers)
    /// in turn.
    fn target(&self, bootstrap: &[String], turn: usize) -> Option<String> {
        let voters = self.voters();
        if let Some(addr) = self.leader.borrow().and_then(|l| voters.get(&l).cloned()) {
            return Some(addr);
        }
        let all: Vec<String> = if voters.is_empty() { bootstrap.to_vec() } else { voters.into_values().collect() };
        (!all.is_empty()).then(|| all[turn % all.len()].clone())
    }

    async fn run(self: Arc<Self>, node: i32, bootstrap: Vec<String>, sm: Arc<SmShared>) {
        let mut conns: BTreeMap<String, Arc<PeerConn>> = BTreeMap::new();
        let mut turn = 0usize;
        loop {
            let Some(addr) = self.target(&bootstrap, turn) else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            let conn = conns.entry(addr.clone()).or_insert_with(|| Arc::new(PeerConn::new(addr.clone()))).clone();
            let req = Request::FetchMetadata(FetchMetadata { node, next: sm.image().offset.max(0) as u64 });
            match conn.call(&req, FETCH_WAIT + Duration::from_secs(5)).await {
                Ok(Response::MetadataFetched(f)) => {
                    if !f.voters.is_empty() {
                        *self.voters.write().unwrap_or_else(|e| e.into_inner()) = f.voters;
                    }
                    self.epoch.fetch_max(f.epoch, Ordering::Relaxed);
                    self.leader.send_if_modified(|l| {
                        let changed = *l != f.leader;
                        if changed {
                            match f.leader {
                                Some(id) => tracing::info!(leader = id, epoch = f.epoch, "the active controller is node {id}"),
                                None => tracing::info!("no active controller (election)"),
                            }
                        }
                        *l = f.leader;
                        changed
                    });
                    if f.leader.is_none() {
                        // The voter knows no leader either: ask the next one shortly.
                        turn += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    sm.observe(f.image, f.batches);
                }
                Ok(other) => {
                    if let Response::Error(e) = other {
                        tracing::debug!("metadata fetch from {addr}: {e}");
                    }
                    self.lost(&mut turn).await;
                }
                Err((_, e)) => {
                    tracing::debug!("metadata fetch from {addr} failed: {e}");
                    self.lost(&mut turn).await;
                }
            }
        }
    }

    /// The voter asked did not answer: forget the leader (so forwarded commands wait for
    /// the next one) and try another voter.
    async fn lost(&self, turn: &mut usize) {
        self.leader.send_if_modified(|l| l.take().is_some());
        *turn += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    pub fn stop(&self) {
        if let Some(t) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.abort();
        }
    }
}
