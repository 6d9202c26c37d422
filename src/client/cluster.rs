//! Cluster view for clients: bootstrap, a metadata cache (brokers, topics, leaders),
//! one connection per broker opened on demand, and request routing with a reconnect on
//! broken connections. Only the Kafka wire protocol is used, so it works against any
//! Kafka-compatible broker.

use super::config::ClientConfig;
use super::connection::{ClientError, Connection, PendingResponse};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Request, StrBytes};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use tokio::sync::Mutex;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct PartitionMeta {
    pub index: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline: Vec<i32>,
    pub error: i16,
}

#[derive(Debug, Clone)]
pub struct TopicMeta {
    pub name: String,
    pub id: Uuid,
    pub internal: bool,
    pub error: i16,
    pub partitions: Vec<PartitionMeta>,
}

#[derive(Debug, Clone, Default)]
pub struct ClusterMeta {
    pub cluster_id: Option<String>,
    pub controller: i32,
    /// node id → (host, port)
    pub brokers: BTreeMap<i32, (String, i32)>,
    pub topics: BTreeMap<String, TopicMeta>,
}

type Conn = Arc<Connection>;

pub struct Cluster {
    pub cfg: ClientConfig,
    bootstrap: Mutex<Option<Conn>>,
    conns: Mutex<HashMap<i32, Conn>>,
    meta: RwLock<ClusterMeta>,
}

impl Cluster {
    /// Connects to the first reachable bootstrap server and loads cluster metadata.
    pub async fn connect(cfg: ClientConfig) -> Result<Arc<Cluster>, ClientError> {
        let c = Arc::new(Cluster {
            cfg,
            bootstrap: Mutex::new(None),
            conns: Mutex::new(HashMap::new()),
            meta: RwLock::new(ClusterMeta::default()),
        });
        c.refresh(None).await?;
        Ok(c)
    }

    async fn open(&self, addr: &str) -> Result<Connection, ClientError> {
        let mut conn = Connection::connect_with(addr, &self.cfg.client_id, &self.cfg.security).await?;
        conn.set_timeout(self.cfg.request_timeout);
        Ok(conn)
    }

    /// A connection to any broker (the bootstrap one, reopened if it broke).
    async fn any(&self) -> Result<Conn, ClientError> {
        let mut slot = self.bootstrap.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.reauth_due()) {
            return Ok(c.clone());
        }
        let mut last = None;
        let known: Vec<String> = self.meta.read().expect("meta lock").brokers.values().map(|(h, p)| format!("{h}:{p}")).collect();
        for addr in self.cfg.bootstrap.iter().chain(known.iter()) {
            match self.open(addr).await {
                Ok(c) => {
                    let c = Arc::new(c);
                    *slot = Some(c.clone());
                    return Ok(c);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Protocol("no bootstrap servers given".into())))
    }

    /// The connection to a specific broker.
    pub async fn broker(&self, node: i32) -> Result<Conn, ClientError> {
        let mut conns = self.conns.lock().await;
        // A SASL session near its end is replaced by a fresh, authenticated connection.
        if let Some(c) = conns.get(&node).filter(|c| !c.reauth_due()) {
            return Ok(c.clone());
        }
        let addr = {
            let meta = self.meta.read().expect("meta lock");
            let (h, p) = meta.brokers.get(&node).ok_or_else(|| ClientError::Protocol(format!("unknown broker id {node}")))?;
            format!("{h}:{p}")
        };
        let c = Arc::new(self.open(&addr).await?);
        conns.insert(node, c.clone());
        Ok(c)
    }

    async fn forget(&self, node: Option<i32>) {
        match node {
            Some(n) => {
                self.conns.lock().await.remove(&n);
            }
            None => *self.bootstrap.lock().await = None,
        }
    }

    /// Sends to `node` (None = any broker); a broken connection is reopened once.
    pub async fn send<R: Request>(&self, node: Option<i32>, req: &R) -> Result<R::Response, ClientError> {
        self.send_at_most(node, req, R::VERSIONS.max).await
    }

    /// Like `send`, at no higher version than `max` (for APIs whose newer versions are
    /// meant for brokers only, such as AddPartitionsToTxn v4+).
    pub async fn send_at_most<R: Request>(&self, node: Option<i32>, req: &R, max: i16) -> Result<R::Response, ClientError> {
        for attempt in 0..2 {
            let conn = match node {
                Some(n) => self.broker(n).await?,
                None => self.any().await?,
            };
            // Pipelined: no lock is held while waiting for the answer.
            let result = conn.send_at(req, conn.version_for::<R>()?.min(max)).await;
            match result {
                Err(ClientError::Io(_)) if attempt == 0 => self.forget(node).await,
                Err(e @ (ClientError::Timeout(_) | ClientError::Io(_) | ClientError::Protocol(_))) => {
                    // A late or garbled answer would be read by the next request: drop the
                    // connection so the next call opens a fresh one.
                    self.forget(node).await;
                    return Err(e);
                }
                other => return other,
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Writes a request to `node` now and returns its pending answer (see
    /// `Connection::write_at`): calls made in turn reach the broker in that order.
    pub async fn write_ordered<R: Request>(&self, node: i32, req: &R) -> Result<PendingResponse<R::Response>, ClientError> {
        let conn = self.broker(node).await?;
        let v = conn.version_for::<R>()?;
        match conn.write_at(req, v).await {
            Err(e) => {
                self.forget(Some(node)).await;
                Err(e)
            }
            ok => ok,
        }
    }

    /// After a pending answer failed: a late or garbled answer would be read by the next
    /// request, so the connection is dropped and the next call opens a fresh one.
    pub async fn answer_failed(&self, node: i32, e: &ClientError) {
        if matches!(e, ClientError::Timeout(_) | ClientError::Io(_) | ClientError::Protocol(_)) {
            self.forget(Some(node)).await;
        }
    }

    /// Sends a request that gets no response (Produce with acks=0).
    pub async fn send_no_response<R: Request>(&self, node: i32, req: &R) -> Result<(), ClientError> {
        let conn = self.broker(node).await?;
        conn.send_no_response(req).await
    }

    /// The version `node` (None = any broker) would use for `R`.
    pub async fn version_for<R: Request>(&self, node: Option<i32>) -> Result<i16, ClientError> {
        let conn = match node {
            Some(n) => self.broker(n).await?,
            None => self.any().await?,
        };
        conn.version_for::<R>()
    }

    /// Reloads metadata for `topics` (None = all topics).
    pub async fn refresh(&self, topics: Option<&[String]>) -> Result<ClusterMeta, ClientError> {
        self.refresh_with(topics, false).await
    }

    /// Like `refresh`, optionally letting the broker auto-create the topics (producers).
    pub async fn refresh_with(&self, topics: Option<&[String]>, auto_create: bool) -> Result<ClusterMeta, ClientError> {
        let req = MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(t.clone())))))
                    .collect()
            }))
            .with_allow_auto_topic_creation(auto_create);
        let resp = self.send(None, &req).await?;
        let mut meta = self.meta.write().expect("meta lock");
        meta.cluster_id = resp.cluster_id.map(|s| s.to_string());
        meta.controller = resp.controller_id.0;
        meta.brokers = resp.brokers.iter().map(|b| (b.node_id.0, (b.host.to_string(), b.port))).collect();
        if topics.is_none() {
            meta.topics.clear();
        }
        for t in resp.topics {
            let name = t.name.map(|n| n.0.to_string()).unwrap_or_default();
            let mut partitions: Vec<PartitionMeta> = t
                .partitions
                .iter()
                .map(|p| PartitionMeta {
                    index: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                    offline: p.offline_replicas.iter().map(|b| b.0).collect(),
                    error: p.error_code,
                })
                .collect();
            partitions.sort_by_key(|p| p.index);
            // A broker that has not yet applied a leadership change answers with an older
            // leader epoch: keep the newer leader we already know (as the Java client does).
            if let Some(old) = meta.topics.get(&name) {
                for p in partitions.iter_mut() {
                    if let Some(o) = old.partitions.iter().find(|o| o.index == p.index)
                        && o.leader_epoch > p.leader_epoch
                        && p.leader_epoch >= 0
                    {
                        p.leader = o.leader;
                        p.leader_epoch = o.leader_epoch;
                    }
                }
            }
            if t.error_code != 0 {
                meta.topics.remove(&name);
                if topics.is_some() {
                    meta.topics
                        .insert(name.clone(), TopicMeta { name, id: t.topic_id, internal: t.is_internal, error: t.error_code, partitions });
                }
                continue;
            }
            meta.topics.insert(name.clone(), TopicMeta { name, id: t.topic_id, internal: t.is_internal, error: 0, partitions });
        }
        Ok(meta.clone())
    }

    /// A leader learnt outside a metadata refresh (a Produce or Fetch answer naming it,
    /// KIP-951), kept unless the cache already has a newer epoch.
    pub fn set_leader(&self, topic: &str, partition: i32, leader: i32, leader_epoch: i32) {
        let mut meta = self.meta.write().expect("meta lock");
        if let Some(p) = meta.topics.get_mut(topic).and_then(|t| t.partitions.iter_mut().find(|p| p.index == partition))
            && leader_epoch >= p.leader_epoch
        {
            p.leader = leader;
            p.leader_epoch = leader_epoch;
        }
    }

    pub fn metadata(&self) -> ClusterMeta {
        self.meta.read().expect("meta lock").clone()
    }

    pub fn topic(&self, name: &str) -> Option<TopicMeta> {
        self.meta.read().expect("meta lock").topics.get(name).filter(|t| t.error == 0).cloned()
    }

    /// The leader of a partition, refreshing metadata once if unknown.
    pub async fn leader(&self, topic: &str, partition: i32) -> Result<i32, ClientError> {
        for attempt in 0..2 {
            if let Some(p) = self.topic(topic).and_then(|t| t.partitions.into_iter().find(|p| p.index == partition))
                && p.leader >= 0
            {
                return Ok(p.leader);
            }
            if attempt == 0 {
                self.refresh(Some(&[topic.to_string()])).await?;
            }
        }
        Err(ClientError::Kafka {
            code: kafka_protocol::error::ResponseError::LeaderNotAvailable.code(),
            message: format!("no leader for {topic}-{partition}"),
        })
    }

    /// The group coordinator's node id.
    pub async fn coordinator(&self, group: &str) -> Result<i32, ClientError> {
        self.find_coordinator(0, group).await
    }

    /// The transaction coordinator's node id for a transactional id (key type 1).
    pub async fn txn_coordinator(&self, transactional_id: &str) -> Result<i32, ClientError> {
        self.find_coordinator(1, transactional_id).await
    }

    /// The coordinator's node id for a key: key_type 0 is a group, 1 a transactional id.
    pub async fn find_coordinator(&self, key_type: i8, key: &str) -> Result<i32, ClientError> {
        let v = self.version_for::<FindCoordinatorRequest>(None).await?;
        if key_type != 0 && v < 1 {
            return Err(ClientError::Unsupported(ApiKey::FindCoordinator));
        }
        let req = if v >= 4 {
            FindCoordinatorRequest::default().with_key_type(key_type).with_coordinator_keys(vec![StrBytes::from_string(key.to_string())])
        } else {
            FindCoordinatorRequest::default().with_key_type(key_type).with_key(StrBytes::from_string(key.to_string()))
        };
        let resp = self.send(None, &req).await?;
        let (err, node, host, port) = match resp.coordinators.first() {
            Some(c) => (c.error_code, c.node_id.0, c.host.to_string(), c.port),
            None => (resp.error_code, resp.node_id.0, resp.host.to_string(), resp.port),
        };
        if err != 0 {
            return Err(ClientError::kafka(err));
        }
        self.meta.write().expect("meta lock").brokers.entry(node).or_insert((host, port));
        Ok(node)
    }
}
