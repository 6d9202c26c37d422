//! Broker: owns and wires the metadata log, the controller (the one writer of metadata),
//! the publisher (which applies committed metadata, in order, to the image and to the
//! listeners: replica manager, group coordinator), and the network listener; start-up
//! (lock, meta.properties, recovery) and graceful stop (in-flight requests finish, flush,
//! high-watermark checkpoint, clean-shutdown marker).

pub mod apis;
pub mod config;
pub mod controller;
pub mod coordinator;
pub mod faults;
pub mod fetch_session;
pub mod interbroker;
pub mod lifecycle;
pub mod log;
pub mod metadata;
pub mod metrics;
pub mod network;
pub mod quorum;
pub mod replica;
pub mod security;
pub mod share;
pub mod telemetry;
pub mod topic_config;

use config::BrokerConfig;
use controller::Controller;
use metadata::MetadataImage;
use metadata::log::{MetadataLog, MetadataLogError};
use metadata::publisher::{MetadataListener, MetadataPublisher, SnapshotPolicy};
use replica::ReplicaManager;
use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

const CLEAN_SHUTDOWN_FILE: &str = ".rk_clean_shutdown";
const LOCK_FILE: &str = ".lock";

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("data directory {dir}: {source}")]
    DataDir { dir: String, source: std::io::Error },
    #[error("data directory {0} is in use by another rk process")]
    Locked(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Log(#[from] log::LogError),
    #[error(transparent)]
    Metadata(#[from] MetadataLogError),
    #[error(transparent)]
    Quorum(#[from] quorum::QuorumError),
    #[error("{0}")]
    Config(String),
}

pub struct Broker {
    pub config: Arc<BrokerConfig>,
    pub cluster_id: String,
    pub controller: Arc<Controller>,
    pub metadata: Arc<MetadataPublisher>,
    /// One node: the local metadata log. KRaft: None (the quorum holds the log).
    metadata_log: Option<Arc<Mutex<MetadataLog>>>,
    /// KRaft mode: the metadata quorum.
    pub quorum: Option<Arc<quorum::Quorum>>,
    pub replicas: Arc<ReplicaManager>,
    pub fetch_sessions: std::sync::Mutex<fetch_session::FetchSessionCache>,
    /// Share partitions led here and the share sessions of their consumers (KIP-932).
    pub share: share::ShareManager,
    pub groups: Arc<coordinator::group::GroupCoordinator>,
    pub txns: Arc<coordinator::txn::TransactionCoordinator>,
    pub quotas: Arc<network::quotas::ConnectionQuotas>,
    /// Client quotas (produce/fetch bytes, request time, controller mutations).
    pub client_quotas: Arc<security::quota::ClientQuotaManager>,
    /// ACL enforcement (a no-op without `authorizer.class.name`).
    pub authorizer: security::acl::Authorizer,
    /// ISR proposals to the controller (leaders).
    pub isr: replica::isr::IsrManager,
    /// Requests to other brokers (transaction markers, verification).
    pub interbroker: interbroker::InterBroker,
    /// Whether this broker has caught up with the metadata (KRaft: unfenced once).
    caught_up: tokio::sync::watch::Sender<bool>,
    /// The client listeners as bound and advertised.
    pub listeners: Vec<BoundListener>,
    /// Request-path metrics (`/metrics` on metrics.listener).
    pub metrics: metrics::BrokerMetrics,
    /// KIP-714 client telemetry: subscriptions answered, pushed metrics kept for /metrics.
    pub telemetry: telemetry::ClientMetricsManager,
    _lock: File,
}

/// A client listener after binding: its advertised endpoint (port 0 resolved).
#[derive(Debug, Clone)]
pub struct BoundListener {
    pub name: String,
    pub protocol: String,
    pub bound: SocketAddr,
    pub host: String,
    pub port: u16,
}

/// A started broker: its bound address and the handle that stops it.
pub struct RunningBroker {
    pub broker: Arc<Broker>,
    pub addr: SocketAddr,
    /// Where /metrics is served (metrics.listener), if it is.
    pub metrics_addr: Option<SocketAddr>,
    pub recovered: bool,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    lifecycle: Option<Arc<lifecycle::BrokerLifecycle>>,
}

/// The cluster id a new data dir gets: `cluster.id` when configured (what
/// `kafka-storage format --cluster-id` writes), else one derived from the voter set so
/// every node of a KRaft cluster agrees without a format step, else a random one.
fn new_cluster_id(config: &BrokerConfig) -> String {
    use base64::Engine;
    if let Some(id) = config.props.get("cluster.id").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        return id.to_string();
    }
    let bytes = match &config.kraft {
        Some(k) if !k.voters.is_empty() => {
            let text: Vec<String> = k.voters.iter().map(|(id, a)| format!("{id}@{a}")).collect();
            let mut h = [0u8; 16];
            h[..4].copy_from_slice(&crc32c::crc32c(text.join(",").as_bytes()).to_be_bytes());
            h[4..8].copy_from_slice(&crc32c::crc32c(format!("rk:{}", text.join(";")).as_bytes()).to_be_bytes());
            h[8..12].copy_from_slice(&(text.len() as u32).to_be_bytes());
            h[12..16].copy_from_slice(&crc32c::crc32c(text.concat().as_bytes()).to_be_bytes());
            h
        }
        _ => *uuid::Uuid::new_v4().as_bytes(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn read_or_create_meta(dir: &Path, config: &BrokerConfig) -> std::io::Result<String> {
    let node_id = config.node_id;
    let path = dir.join("meta.properties");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let props = config::parse_properties(&text)
        && let Some((_, id)) = props.iter().find(|(k, _)| k == "cluster.id")
    {
        return Ok(id.clone());
    }
    let id = new_cluster_id(config);
    let text = format!("#\n#rk broker metadata\nversion=1\nnode.id={node_id}\ncluster.id={id}\n");
    let tmp = dir.join("meta.properties.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)?;
    Ok(id)
}

/// A broker as clients reach it.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl Broker {
    /// The newest published metadata image (cheap: an Arc clone).
    pub fn image(&self) -> Arc<MetadataImage> {
        self.metadata.image()
    }

    /// Waits until this broker serves clients: at once for one node; in KRaft mode once it
    /// caught up with the metadata (its first unfencing), at most 30 s.
    pub async fn wait_caught_up(&self) {
        if *self.caught_up.borrow() {
            return;
        }
        let mut rx = self.caught_up.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|v| *v)).await;
    }

    /// Whether this broker serves clients (readiness).
    pub fn is_caught_up(&self) -> bool {
        *self.caught_up.borrow()
    }

    pub(crate) fn set_caught_up(&self) {
        self.caught_up.send_replace(true);
    }

    /// The brokers as other brokers reach them (the inter-broker listener).
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.endpoints_for(&self.config.inter_broker_listener)
    }

    /// The brokers clients of `listener` may use: the registered, unfenced ones (KRaft),
    /// or this one, each at its endpoint on that listener (Kafka answers Metadata with the
    /// endpoints of the listener the request came on; brokers without it are left out).
    pub fn endpoints_for(&self, listener: &str) -> Vec<Endpoint> {
        if self.quorum.is_none() {
            let l = self.listeners.iter().find(|l| l.name == listener).or(self.listeners.first());
            return match l {
                Some(l) => vec![Endpoint { id: self.config.node_id, host: l.host.clone(), port: l.port as i32, rack: None }],
                None => vec![Endpoint {
                    id: self.config.node_id,
                    host: self.config.advertised_host.clone(),
                    port: self.config.advertised_port as i32,
                    rack: None,
                }],
            };
        }
        let img = self.image();
        img.brokers
            .values()
            .filter(|b| !b.fenced)
            .filter_map(|b| {
                let (host, port) = if b.listeners.is_empty() {
                    (b.host.clone(), b.port)
                } else {
                    let (_, h, p) = b.listeners.iter().find(|(n, _, _)| n == listener)?;
                    (h.clone(), *p)
                };
                Some(Endpoint { id: b.id, host, port: port as i32, rack: b.rack.clone() })
            })
            .collect()
    }

    /// The controller id clients are told (admin requests to any broker are forwarded).
    pub fn controller_id(&self) -> i32 {
        match &self.quorum {
            None => self.config.node_id,
            Some(q) => {
                let live = self.endpoints();
                match q.leader() {
                    Some(l) if live.iter().any(|e| e.id == l) => l,
                    _ => live.first().map_or(self.config.node_id, |e| e.id),
                }
            }
        }
    }

    /// Where the coordinator of `partition` of an internal topic is: its leader, if live.
    pub fn coordinator_of(&self, topic: &str, partition: i32) -> Option<Endpoint> {
        self.coordinator_on(topic, partition, &self.config.inter_broker_listener)
    }

    /// `coordinator_of` as clients of `listener` reach it.
    pub fn coordinator_on(&self, topic: &str, partition: i32, listener: &str) -> Option<Endpoint> {
        if self.quorum.is_none() {
            return self.endpoints_for(listener).pop();
        }
        let leader = self.image().topic(topic)?.partitions.get(&partition)?.leader;
        self.endpoints_for(listener).into_iter().find(|e| e.id == leader)
    }

    /// The replication factor of an internal topic: its config, capped by the brokers that
    /// can host it (one node: 1), so a small cluster still gets its coordinators.
    fn internal_replication(&self, key: &str) -> i16 {
        if self.quorum.is_none() {
            return 1;
        }
        let wanted = self.config.props.get(key).and_then(|v| v.trim().parse::<i16>().ok()).unwrap_or(3);
        let usable = self.image().usable_brokers().count().max(1) as i16;
        wanted.min(usable).max(1)
    }

    /// Creates `__consumer_offsets` (compacted, `offsets.topic.num.partitions`) the first
    /// time a group needs it, as Kafka does on the first FindCoordinator.
    pub async fn ensure_offsets_topic(&self) -> Result<(), String> {
        use coordinator::group::store::OFFSETS_TOPIC;
        if self.image().topic(OFFSETS_TOPIC).is_some() {
            return Ok(());
        }
        let spec = controller::TopicSpec {
            name: OFFSETS_TOPIC.to_string(),
            partitions: self.groups.cfg.offsets_partitions,
            replication_factor: self.internal_replication("offsets.topic.replication.factor"),
            assignment: None,
            configs: [("cleanup.policy", "compact"), ("segment.bytes", "104857600"), ("compression.type", "producer")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        match self.controller.create_topics(vec![spec], false, true).await.pop() {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(format!("cannot create {OFFSETS_TOPIC}: {}", e.1)),
            None => Err(format!("cannot create {OFFSETS_TOPIC}: no answer from the controller")),
        }
    }

    /// Creates `__transaction_state` (compacted, `transaction.state.log.num.partitions`) the
    /// first time a transactional producer needs a coordinator.
    pub async fn ensure_txn_topic(&self) -> Result<(), String> {
        use coordinator::txn::store::TXN_TOPIC;
        if self.image().topic(TXN_TOPIC).is_some() {
            return Ok(());
        }
        let rf = self.internal_replication("transaction.state.log.replication.factor");
        let min_isr = self.config.props.get("transaction.state.log.min.isr").and_then(|v| v.trim().parse::<i16>().ok()).unwrap_or(2);
        let spec = controller::TopicSpec {
            name: TXN_TOPIC.to_string(),
            partitions: self.config.txn.partitions,
            replication_factor: rf,
            assignment: None,
            configs: [
                ("min.insync.replicas", min_isr.min(rf).max(1).to_string()),
                ("cleanup.policy", "compact".to_string()),
                ("compression.type", "uncompressed".to_string()),
                ("segment.bytes", self.config.txn_segment_bytes.to_string()),
                ("unclean.leader.election.enable", "false".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        };
        match self.controller.create_topics(vec![spec], false, true).await.pop() {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(format!("cannot create {TXN_TOPIC}: {}", e.1)),
            None => Err(format!("cannot create {TXN_TOPIC}: no answer from the controller")),
        }
    }

    /// Opens the data dir (recovering after a crash), replays the metadata, binds the
    /// listener and starts the background tasks.
    pub async fn start(config: BrokerConfig) -> Result<RunningBroker, BrokerError> {
        let dir = config.data_dir.clone();
        let dir_err = |source| BrokerError::DataDir { dir: dir.display().to_string(), source };
        std::fs::create_dir_all(&dir).map_err(dir_err)?;
        for d in config.log_dirs.iter().skip(1) {
            std::fs::create_dir_all(d).map_err(|source| BrokerError::DataDir { dir: d.display().to_string(), source })?;
        }
        let lock = File::create(dir.join(LOCK_FILE)).map_err(dir_err)?;
        if lock.try_lock().is_err() {
            return Err(BrokerError::Locked(dir.display().to_string()));
        }
        let marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let clean = marker.exists();
        let fresh = std::fs::read_dir(&dir).map(|d| d.count() <= 2).unwrap_or(true);
        if clean {
            std::fs::remove_file(&marker).map_err(dir_err)?;
        }
        let cluster_id = read_or_create_meta(&dir, &config).map_err(dir_err)?;
        let config = Arc::new(config);
        let (metadata_log, loaded, image) = if config.kraft.is_some() {
            let loaded = quorum::load(&dir, clean)?;
            let image = loaded.image.clone();
            (None, Some(loaded), image)
        } else {
            let (log, image) = MetadataLog::open(&dir, clean)?;
            (Some(Arc::new(Mutex::new(log))), None, image)
        };
        let replicas = Arc::new(ReplicaManager::new(config.clone(), clean));
        let groups = Arc::new(coordinator::group::GroupCoordinator::new(config.group_config()));
        let producer_ids: Arc<_> = coordinator::txn::producer_ids::ProducerIdManager::new(config.node_id).into();
        let txns =
            Arc::new(coordinator::txn::TransactionCoordinator::new(config.txn.clone(), replicas.clone(), groups.clone(), producer_ids));
        let client_quotas = Arc::new(security::quota::ClientQuotaManager::from_props(&config.props));
        let listeners: Vec<Arc<dyn MetadataListener>> = vec![
            replicas.clone(),
            client_quotas.clone(),
            Arc::new(coordinator::group::GroupListener { groups: groups.clone(), replicas: replicas.clone() }),
            Arc::new(coordinator::txn::TxnListener { txns: txns.clone(), local: config.node_id }),
        ];
        let policy = SnapshotPolicy {
            max_bytes_between: config.metadata_snapshot_max_bytes,
            max_interval: Duration::from_millis(config.metadata_snapshot_interval_ms),
        };
        let publisher = MetadataPublisher::start(image.clone(), listeners, metadata_log.clone(), policy);
        if config.kraft.is_some() && config.controller_protocol == "SSL" {
            quorum_tls(&config)?;
        }
        let quorum = match (loaded, &config.kraft) {
            (Some(l), Some(k)) => Some(quorum::Quorum::start(config.node_id, k, l, publisher.clone()).await?),
            _ => {
                // Under Raft the image at start is only the snapshot's: directories of
                // partitions created since would look like strays.
                replicas.remove_strays();
                None
            }
        };
        let controller = Controller::start(config.clone(), metadata_log.clone(), quorum.clone(), image, publisher.clone());
        txns.producer_ids.set_controller(controller.clone());
        // A controller-only node serves the quorum's CONTROLLER listener and no clients.
        let controller_only = config.kraft.as_ref().filter(|k| !k.broker).and_then(|k| k.controller_listen);
        let mut listeners = Vec::new();
        let addr = match controller_only {
            Some(addr) => addr,
            None => {
                // Every client listener with its security; the first bound address is the
                // primary (inter-broker) one.
                let mut primary = None;
                for l in &config.client_listeners {
                    let spec =
                        network::ListenerSpec::new(&l.name, &l.protocol, &config.listener_props(&l.name)).map_err(BrokerError::Config)?;
                    let sock = TcpListener::bind(l.bind).await.map_err(|source| BrokerError::Bind { addr: l.bind, source })?;
                    let bound = sock.local_addr().map_err(|source| BrokerError::Bind { addr: l.bind, source })?;
                    if l.name == config.inter_broker_listener || primary.is_none() {
                        primary = primary.filter(|_| l.name != config.inter_broker_listener).or(Some(bound));
                    }
                    listeners.push((sock, Arc::new(spec), bound));
                }
                primary.ok_or_else(|| BrokerError::Config("no client listener is configured".into()))?
            }
        };
        let bound_listeners: Vec<BoundListener> = listeners
            .iter()
            .map(|(_, spec, bound)| {
                let cl = config.client_listeners.iter().find(|c| c.name == spec.name);
                let host = cl.map(|c| c.advertised_host.clone()).unwrap_or_else(|| bound.ip().to_string());
                let port = cl.map(|c| c.advertised_port).filter(|p| *p != 0).unwrap_or(bound.port());
                BoundListener { name: spec.name.clone(), protocol: spec.protocol.clone(), bound: *bound, host, port }
            })
            .collect();
        let fetch_sessions = std::sync::Mutex::new(fetch_session::FetchSessionCache::new(config.fetch_session_cache_slots));
        let quotas = network::quotas::ConnectionQuotas::new(
            config.max_connections,
            config.max_connections_per_ip,
            config.max_connections_per_ip_overrides.clone(),
            config.queued_max_request_bytes,
        );
        let serves_at_once = !config.kraft.as_ref().is_some_and(|k| k.broker);
        let telemetry = telemetry::ClientMetricsManager::new(config.telemetry_max_bytes);
        let broker = Arc::new(Broker {
            groups,
            txns,
            authorizer: security::acl::Authorizer::from_config(&config),
            config,
            cluster_id,
            controller,
            metadata: publisher,
            metadata_log,
            quorum,
            replicas,
            fetch_sessions,
            share: share::ShareManager::default(),
            quotas,
            client_quotas,
            isr: replica::isr::IsrManager::default(),
            interbroker: interbroker::InterBroker::default(),
            caught_up: tokio::sync::watch::channel(serves_at_once).0,
            listeners: bound_listeners,
            metrics: metrics::BrokerMetrics::default(),
            telemetry,
            _lock: lock,
        });
        let _ = broker.interbroker.security.set(broker.config.inter_broker_security.clone());
        broker.isr.start(Arc::downgrade(&broker));
        let _ = broker.txns.broker.set(Arc::downgrade(&broker));
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(housekeeping(broker.clone(), stop_rx.clone())),
            tokio::spawn(coordinator_timers(broker.clone(), stop_rx.clone())),
            tokio::spawn(log_cleaner(broker.clone(), stop_rx.clone())),
        ];
        for (sock, spec, _) in listeners {
            tasks.push(tokio::spawn(network::serve(sock, spec, broker.clone(), stop_rx.clone())));
        }
        let mut metrics_addr = None;
        if let Some(v) = broker.config.props.get("metrics.listener").filter(|v| !v.trim().is_empty()) {
            let addr = metrics::http::parse_listener(v).map_err(BrokerError::Config)?;
            let sock = TcpListener::bind(addr).await.map_err(|source| BrokerError::Bind { addr, source })?;
            metrics_addr = sock.local_addr().ok();
            tasks.push(tokio::spawn(metrics::http::serve(sock, Arc::downgrade(&broker), stop_rx.clone())));
        }
        let lifecycle = match &broker.quorum {
            Some(q) if broker.config.kraft.as_ref().is_some_and(|k| k.broker) => {
                Some(lifecycle::BrokerLifecycle::start(broker.clone(), q.clone(), addr.port(), stop_rx))
            }
            _ => None,
        };
        Ok(RunningBroker { broker, addr, metrics_addr, recovered: !clean && !fresh, stop, tasks, lifecycle })
    }
}

/// TLS for the quorum's connections (the controller listener mapped to SSL): the server
/// side where this node is a controller, the client side everywhere.
fn quorum_tls(config: &BrokerConfig) -> Result<(), BrokerError> {
    let name = config.props.get("controller.listener.names").and_then(|n| n.split(',').next()).unwrap_or("CONTROLLER").trim().to_string();
    let props = config.listener_props(&name);
    let err = |e: String| BrokerError::Config(format!("controller listener {name}: {e}"));
    let server = match config.kraft.as_ref().and_then(|k| k.controller_listen) {
        Some(_) => Some(crate::security::tls::ReloadingServerConfig::new(props.clone()).map_err(err)?),
        None => None,
    };
    let client = Arc::new(crate::security::tls::client_config(&props).map_err(err)?);
    let _ = quorum::net::TLS.set(quorum::net::QuorumTls { server, client });
    Ok(())
}

/// The group coordinator's timers (session expiry, join and sync deadlines) and the
/// transaction timeouts, on their own task: a slow disk job (a cleaner pass, retention)
/// must not delay them — a member whose session ended is gone at its deadline, as in
/// Kafka's timer wheel.
async fn coordinator_timers(broker: Arc<Broker>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut groups = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = groups.tick() => apis::on_disk(|| broker.groups.tick(&broker.replicas)),
        }
    }
}

/// Retention and the log cleaner's passes (they read and rewrite whole segments), one
/// after the other on their own task.
async fn log_cleaner(broker: Arc<Broker>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut retention = tokio::time::interval(Duration::from_millis(broker.config.retention_check_interval_ms));
    let mut cleaner = tokio::time::interval(Duration::from_millis(broker.config.cleaner_backoff_ms));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = retention.tick() => {
                let b = broker.clone();
                let n = tokio::task::spawn_blocking(move || b.replicas.run_retention(log::now_ms())).await.unwrap_or(0);
                if n > 0 {
                    tracing::info!(segments = n, "retention deleted old log segments");
                }
            }
            _ = cleaner.tick(), if broker.config.cleaner_enabled => {
                // Cleaning reads and rewrites whole segments: keep it off the async workers.
                let b = broker.clone();
                let removed = tokio::task::spawn_blocking(move || b.replicas.run_cleaner()).await.unwrap_or(0);
                if removed > 0 {
                    tracing::info!(records = removed, "log cleaner removed superseded records");
                }
            }
        }
    }
}

/// Time-based flushing, checkpoints, ISR shrinking and expiries.
async fn housekeeping(broker: Arc<Broker>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut flush = tokio::time::interval(Duration::from_millis(1000));
    // Like Kafka's scheduler, the first expiry check runs one interval after start.
    let expiry_every = Duration::from_millis(broker.config.offsets_retention_check_interval_ms);
    let mut offsets_expiry = tokio::time::interval_at(tokio::time::Instant::now() + expiry_every, expiry_every);
    let mut hw_checkpoint = tokio::time::interval(Duration::from_millis(broker.config.hw_checkpoint_interval_ms));
    let mut txn_timeouts = tokio::time::interval(Duration::from_millis(broker.config.txn.abort_interval_ms));
    let mut txn_expiry = tokio::time::interval(Duration::from_millis(broker.config.txn.expiration_check_interval_ms));
    let mut producer_expiry = tokio::time::interval(Duration::from_millis(broker.config.producer_id_expiration_check_ms));
    let lag_ms = broker.config.replica_lag_time_max_ms as i64;
    let mut isr_shrink = tokio::time::interval(Duration::from_millis((lag_ms / 2).max(10) as u64));
    let mut heap_trim = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = heap_trim.tick() => {
                let _ = tokio::task::spawn_blocking(crate::alloc::release_free_memory).await;
            }
            _ = isr_shrink.tick(), if broker.quorum.is_some() => {
                // Kafka's isr-expiration task: followers not caught up for
                // replica.lag.time.max.ms leave the ISR.
                let now = log::now_ms();
                for p in broker.replicas.all() {
                    if let Some(isr) = p.isr_shrink(now, lag_ms) {
                        tracing::info!(topic = %p.topic, partition = p.index, ?isr, "shrinking the ISR");
                        broker.isr.propose(p, isr);
                    }
                }
            }
            _ = txn_timeouts.tick() => broker.txns.abort_timed_out().await,
            _ = txn_expiry.tick() => broker.txns.expire_ids().await,
            _ = producer_expiry.tick() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.expire_producers(log::now_ms(), b.config.txn.producer_id_expiration_ms)).await;
            }
            _ = hw_checkpoint.tick() => {
                let b = broker.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || b.replicas.checkpoint_high_watermarks()).await {
                    tracing::error!("cannot write the high-watermark checkpoint: {e}");
                }
            }
            _ = flush.tick() => {
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.replicas.flush_due(log::now_ms())).await;
            }
            _ = offsets_expiry.tick() => {
                let b = broker.clone();
                let n = tokio::task::spawn_blocking(move || b.groups.expire_offsets(&b.replicas, log::now_ms())).await.unwrap_or(0);
                if n > 0 {
                    tracing::info!(offsets = n, "expired committed offsets");
                }
            }
        }
    }
}

impl RunningBroker {
    /// Stops accepting, flushes every log and writes the clean-shutdown marker so the
    /// next start skips recovery.
    pub async fn shutdown(self) -> Result<(), BrokerError> {
        let started = std::time::Instant::now();
        if let Some(l) = &self.lifecycle {
            // Controlled shutdown: leaderships move away while this broker still serves.
            l.controlled_shutdown().await;
        }
        self.broker.replicas.begin_stop();
        let _ = self.stop.send(true);
        // The network task returns once every connection finished its in-flight request.
        for t in self.tasks {
            let _ = t.await;
        }
        self.broker.replicas.fetchers.shutdown();
        if let Some(q) = &self.broker.quorum {
            q.shutdown().await;
        }
        let b = self.broker.clone();
        tokio::task::spawn_blocking(move || -> Result<(), BrokerError> {
            b.controller.stop();
            b.metadata.stop();
            b.replicas.flush_all()?;
            b.replicas.checkpoint_high_watermarks().map_err(log::LogError::Io)?;
            if let Some(log) = &b.metadata_log {
                log.lock().unwrap_or_else(|e| e.into_inner()).flush()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| BrokerError::Log(log::LogError::Io(std::io::Error::other(e.to_string()))))??;
        tracing::info!(ms = started.elapsed().as_millis() as u64, "stopped: logs flushed");
        let dir = &self.broker.config.data_dir;
        std::fs::write(dir.join(CLEAN_SHUTDOWN_FILE), b"")
            .map_err(|source| BrokerError::DataDir { dir: dir.display().to_string(), source })?;
        Ok(())
    }
}
