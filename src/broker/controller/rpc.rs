//! The controller's calls between nodes (over the quorum's CONTROLLER listener): commands
//! forwarded to the active controller, and broker heartbeats (registration included). On
//! the active controller, `Liveness` remembers each broker's last heartbeat: a broker
//! silent for `broker.session.timeout.ms`, or whose heartbeat connection closed (a crashed
//! process's sockets close at once), is fenced and its leaderships move.

use super::brokers::{BrokerCommand, BrokerHeartbeat, HeartbeatReply};
use super::{COMMAND_TIMEOUT, Command, Controller, Reply, TopicError, not_controller};
use crate::broker::quorum::Quorum;
use crate::broker::quorum::net::{ControllerRpc, Session};
use kafka_protocol::error::ResponseError as E;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

#[derive(Serialize, Deserialize)]
enum Call {
    Command(Command),
    Heartbeat(BrokerHeartbeat),
    DescribeQuorum,
}

#[derive(Serialize, Deserialize)]
enum Answer {
    Command { reply: Reply, offset: i64 },
    Heartbeat(HeartbeatReply),
    Quorum(Option<crate::broker::quorum::QuorumInfo>),
}

/// Runs `cmd` on the active controller `leader` (another voter).
pub(super) async fn forward(q: &Quorum, leader: i32, cmd: &Command) -> (Reply, i64) {
    let Ok(v) = serde_json::to_value(Call::Command(cmd.clone())) else {
        return (Reply::Refused(TopicError(E::UnknownServerError.code(), "cannot encode a controller command".into())), 0);
    };
    match q.call(leader, v, COMMAND_TIMEOUT, false).await.map(serde_json::from_value::<Answer>) {
        Ok(Ok(Answer::Command { reply, offset })) => (reply, offset),
        Ok(_) => (Reply::Refused(TopicError(E::UnknownServerError.code(), "unexpected controller answer".into())), 0),
        // Unreachable or gone: an election may be on; the caller retries.
        Err(_) => (Reply::Refused(not_controller()), 0),
    }
}

/// Sends a heartbeat to voter `node`.
pub async fn heartbeat(q: &Quorum, node: i32, hb: &BrokerHeartbeat, timeout: Duration) -> HeartbeatReply {
    let Ok(v) = serde_json::to_value(Call::Heartbeat(hb.clone())) else { return HeartbeatReply::Error("cannot encode".into()) };
    match q.call(node, v, timeout, true).await.map(serde_json::from_value::<Answer>) {
        Ok(Ok(Answer::Heartbeat(r))) => r,
        Ok(_) => HeartbeatReply::Error("unexpected controller answer".into()),
        Err(e) => HeartbeatReply::Error(e),
    }
}

/// The active controller's view of broker liveness (not replicated: a new active
/// controller starts every broker's session afresh).
#[derive(Default)]
pub struct Liveness {
    last: Mutex<HashMap<i32, Instant>>,
}

impl Liveness {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Instant>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn seen(&self, id: i32) {
        self.map().insert(id, Instant::now());
    }

    /// The broker is known gone: the next check fences it.
    fn expire(&self, id: i32, session: Duration) {
        if let Some(t) = Instant::now().checked_sub(session + Duration::from_millis(1)) {
            self.map().insert(id, t);
        }
    }
}

impl Controller {
    /// The quorum as the active controller sees it (asked of it when it is elsewhere).
    pub async fn describe_quorum(&self) -> Option<crate::broker::quorum::QuorumInfo> {
        let q = self.quorum.as_ref()?;
        if q.is_leader() {
            return Some(q.describe());
        }
        let leader = q.leader()?;
        let v = serde_json::to_value(Call::DescribeQuorum).ok()?;
        match q.call(leader, v, Duration::from_secs(5), false).await.map(serde_json::from_value::<Answer>) {
            Ok(Ok(Answer::Quorum(i))) => i,
            _ => None,
        }
    }

    fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.config.kraft.as_ref().map_or(9000, |k| k.session_timeout_ms))
    }

    async fn on_heartbeat(&self, hb: BrokerHeartbeat, session: &mut Session) -> HeartbeatReply {
        let Some(q) = &self.quorum else { return HeartbeatReply::Error("not in KRaft mode".into()) };
        if !q.is_leader() {
            return HeartbeatReply::NotController(q.leader());
        }
        let mut img = q.applied_image();
        let mut epoch = hb.epoch;
        if img.brokers.get(&hb.id).is_none_or(|b| b.epoch != hb.epoch) {
            let cmd = BrokerCommand::Register {
                id: hb.id,
                host: hb.host.clone(),
                port: hb.port,
                rack: hb.rack.clone(),
                listeners: hb.listeners.clone(),
            };
            match self.submit_local(Command::Broker(cmd)).await {
                (Reply::Broker(Ok(e)), _) => epoch = e,
                (Reply::Refused(_), _) => return HeartbeatReply::NotController(q.leader()),
                (r, _) => return HeartbeatReply::Error(format!("registration failed: {:?}", super::error_of(r))),
            }
            img = q.applied_image();
        }
        session.broker = Some((hb.id, epoch));
        self.liveness.seen(hb.id);
        let Some(b) = img.brokers.get(&hb.id).cloned() else { return HeartbeatReply::Error("registration not applied".into()) };
        let change = if hb.want_shutdown && !b.fenced && !b.in_controlled_shutdown {
            Some(BrokerCommand::ControlledShutdown { id: hb.id, epoch })
        } else if !hb.want_shutdown && b.fenced && hb.metadata_offset >= b.epoch {
            Some(BrokerCommand::Unfence { id: hb.id, epoch })
        } else {
            None
        };
        if let Some(cmd) = change {
            let _ = self.submit_local(Command::Broker(cmd)).await;
            img = q.applied_image();
        }
        let b = img.brokers.get(&hb.id).cloned().unwrap_or(b);
        let leads = img.topics.values().any(|t| t.partitions.values().any(|p| p.leader == hb.id));
        HeartbeatReply::Ok { epoch, fenced: b.fenced, should_shutdown: hb.want_shutdown && (b.fenced || !leads) }
    }
}

impl ControllerRpc for Controller {
    fn call(
        &self,
        request: serde_json::Value,
        session: Session,
    ) -> Pin<Box<dyn Future<Output = (serde_json::Value, Session)> + Send + '_>> {
        Box::pin(async move {
            let mut session = session;
            let answer = match serde_json::from_value::<Call>(request) {
                Err(e) => Answer::Heartbeat(HeartbeatReply::Error(format!("bad controller call: {e}"))),
                Ok(Call::Command(cmd)) => match &self.quorum {
                    Some(q) if q.is_leader() => {
                        let (reply, offset) = self.submit_local(cmd).await;
                        Answer::Command { reply, offset }
                    }
                    _ => Answer::Command { reply: Reply::Refused(not_controller()), offset: 0 },
                },
                Ok(Call::Heartbeat(hb)) => Answer::Heartbeat(self.on_heartbeat(hb, &mut session).await),
                Ok(Call::DescribeQuorum) => Answer::Quorum(self.quorum.as_ref().filter(|q| q.is_leader()).map(|q| q.describe())),
            };
            (serde_json::to_value(answer).unwrap_or(serde_json::Value::Null), session)
        })
    }

    fn disconnected(&self, session: &Session) {
        if let Some((id, _)) = session.broker {
            self.liveness.expire(id, self.session_timeout());
        }
    }
}

/// On the active controller: fences brokers whose session expired, one per check (as
/// Kafka does), so a mass failure moves leaderships step by step.
pub(super) async fn liveness_task(c: Weak<Controller>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut was_leader = false;
    let mut last_rebalance = Instant::now();
    loop {
        tick.tick().await;
        let Some(c) = c.upgrade() else { return };
        let Some(q) = c.quorum.clone() else { return };
        if c.tx.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            return;
        }
        let leader = q.is_leader();
        if !leader || !was_leader {
            // A new active controller gives every broker a full session from now.
            c.liveness.map().clear();
        }
        was_leader = leader;
        if !leader {
            continue;
        }
        let img = q.applied_image();
        let timeout = c.session_timeout();
        // A broker that is also a voter and whose node refuses connections is gone (its
        // heartbeat connection, if it had one here, closed too): no need to wait.
        let node_down = |id: i32| {
            q.voters()
                .get(&id)
                .and_then(|a| crate::broker::quorum::net::HEALTH.down_for(a))
                .is_some_and(|d| d >= Duration::from_millis(200))
        };
        let expired = {
            let mut last = c.liveness.map();
            let now = Instant::now();
            img.brokers
                .values()
                .filter(|b| !b.fenced)
                .find(|b| now.duration_since(*last.entry(b.id).or_insert(now)) > timeout || (b.id != q.node_id && node_down(b.id)))
                .map(|b| (b.id, b.epoch))
        };
        if let Some((id, epoch)) = expired {
            tracing::info!(broker = id, "fencing a broker whose session expired");
            let _ = c.submit_local(Command::Broker(BrokerCommand::Fence { id, epoch })).await;
            continue;
        }
        // auto.leader.rebalance.enable: leadership goes back to preferred replicas that are
        // in sync again (a restarted broker), up to 1000 partitions a round.
        let every = c.config.props.get("leader.imbalance.check.interval.seconds").and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(300);
        if c.config.flag("auto.leader.rebalance.enable") && last_rebalance.elapsed() >= Duration::from_secs(every) {
            last_rebalance = Instant::now();
            let partitions = super::partitions::imbalanced(&img, 1000);
            if !partitions.is_empty() {
                tracing::info!(partitions = partitions.len(), "moving leadership back to preferred replicas");
                let _ = c.submit_local(Command::ElectLeaders { election: super::partitions::PREFERRED, partitions }).await;
            }
        }
    }
}
