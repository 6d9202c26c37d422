//! The broker side of KRaft membership (Kafka's BrokerLifecycleManager): register with the
//! active controller, heartbeat every `broker.heartbeat.interval.ms` (reporting how far
//! this broker has applied the metadata, which unfences it), follow the active controller
//! as it moves, and on SIGTERM ask for a controlled shutdown and wait until this broker
//! leads nothing before the process stops.

use super::Broker;
use super::controller::rpc::heartbeat;
use super::controller::{BrokerHeartbeat, HeartbeatReply};
use super::quorum::Quorum;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

pub struct BrokerLifecycle {
    broker: Weak<Broker>,
    quorum: Arc<Quorum>,
    port: u16,
    /// This incarnation's broker epoch (-1 until registered).
    pub epoch: AtomicI64,
    pub fenced: AtomicBool,
    want_shutdown: AtomicBool,
    shutdown_granted: AtomicBool,
    wake: Notify,
}

impl BrokerLifecycle {
    pub fn start(broker: Arc<Broker>, quorum: Arc<Quorum>, port: u16, stop: watch::Receiver<bool>) -> Arc<BrokerLifecycle> {
        let l = Arc::new(BrokerLifecycle {
            broker: Arc::downgrade(&broker),
            quorum,
            port,
            epoch: AtomicI64::new(-1),
            fenced: AtomicBool::new(true),
            want_shutdown: AtomicBool::new(false),
            shutdown_granted: AtomicBool::new(false),
            wake: Notify::new(),
        });
        tokio::spawn(l.clone().run(stop));
        l
    }

    fn interval(b: &Broker) -> Duration {
        Duration::from_millis(b.config.kraft.as_ref().map_or(2000, |k| k.heartbeat_interval_ms).max(10))
    }

    async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let Some(b) = self.broker.upgrade() else { return };
            let next = self.beat(&b).await;
            drop(b);
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(next) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// One heartbeat to the active controller; returns when the next one is due.
    async fn beat(&self, b: &Broker) -> Duration {
        let interval = Self::interval(b);
        let Some(leader) = self.quorum.leader() else { return Duration::from_millis(100) };
        let hb = BrokerHeartbeat {
            id: b.config.node_id,
            epoch: self.epoch.load(Ordering::Relaxed),
            host: b.config.advertised_host.clone(),
            port: if b.config.advertised_port == 0 { self.port } else { b.config.advertised_port },
            rack: b.config.kraft.as_ref().and_then(|k| k.rack.clone()),
            listeners: b.listeners.iter().map(|l| (l.name.clone(), l.host.clone(), l.port)).collect(),
            metadata_offset: b.image().offset,
            want_shutdown: self.want_shutdown.load(Ordering::Relaxed),
        };
        let reply = tokio::select! {
            r = heartbeat(&self.quorum, leader, &hb, interval.max(Duration::from_secs(5))) => r,
            _ = self.quorum.leader_moved_from(leader) => HeartbeatReply::NotController(self.quorum.leader()),
        };
        match reply {
            HeartbeatReply::Ok { epoch, fenced, should_shutdown } => {
                if self.epoch.swap(epoch, Ordering::Relaxed) != epoch {
                    tracing::info!(epoch, "registered with the active controller");
                }
                self.fenced.store(fenced, Ordering::Relaxed);
                if !fenced {
                    b.set_caught_up();
                }
                if should_shutdown {
                    self.shutdown_granted.store(true, Ordering::Relaxed);
                }
                // While fenced (catching up) or shutting down, beat faster.
                if fenced || hb.want_shutdown { Duration::from_millis(100).min(interval) } else { interval }
            }
            HeartbeatReply::NotController(_) => Duration::from_millis(50),
            HeartbeatReply::Error(e) => {
                tracing::debug!("heartbeat to the active controller failed: {e}");
                Duration::from_millis(200).min(interval)
            }
        }
    }

    /// Asks the active controller to move this broker's leaderships away and waits (at
    /// most 30 s) until it has; a broker that is not registered has nothing to hand over.
    pub async fn controlled_shutdown(&self) {
        let enabled = self.broker.upgrade().is_some_and(|b| b.config.flag("controlled.shutdown.enable"));
        if !enabled || self.epoch.load(Ordering::Relaxed) < 0 {
            return;
        }
        self.want_shutdown.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut no_controller_since: Option<Instant> = None;
        while !self.shutdown_granted.load(Ordering::Relaxed) && Instant::now() < deadline {
            // Without an active controller (the quorum lost its majority) nobody can move
            // the leaderships: do not hold the shutdown for long.
            match self.quorum.leader() {
                Some(_) => no_controller_since = None,
                None if no_controller_since.is_some_and(|t| t.elapsed() > Duration::from_secs(3)) => break,
                None => no_controller_since = no_controller_since.or(Some(Instant::now())),
            }
            self.wake.notify_one();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !self.shutdown_granted.load(Ordering::Relaxed) {
            tracing::warn!("controlled shutdown was not completed in time; stopping anyway");
        }
    }
}
