//! Broker: owns and wires the controller (metadata), the replica manager (logs) and the
//! network listener; start-up (lock, meta.properties, recovery) and graceful stop (flush,
//! clean-shutdown marker).

pub mod apis;
pub mod config;
pub mod controller;
pub mod fetch_session;
pub mod log;
pub mod metadata;
pub mod network;
pub mod replica;
pub mod topic_config;

use config::BrokerConfig;
use controller::Controller;
use replica::ReplicaManager;
use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
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
}

pub struct Broker {
    pub config: Arc<BrokerConfig>,
    pub cluster_id: String,
    pub controller: Controller,
    pub replicas: ReplicaManager,
    pub fetch_sessions: std::sync::Mutex<fetch_session::FetchSessionCache>,
    _lock: File,
}

/// A started broker: its bound address and the handle that stops it.
pub struct RunningBroker {
    pub broker: Arc<Broker>,
    pub addr: SocketAddr,
    pub recovered: bool,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn read_or_create_meta(dir: &Path, node_id: i32) -> std::io::Result<String> {
    use base64::Engine;
    let path = dir.join("meta.properties");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(props) = config::parse_properties(&text)
        && let Some((_, id)) = props.iter().find(|(k, _)| k == "cluster.id")
    {
        return Ok(id.clone());
    }
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
    let text = format!("#\n#rk broker metadata\nversion=1\nnode.id={node_id}\ncluster.id={id}\n");
    let tmp = dir.join("meta.properties.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)?;
    Ok(id)
}

impl Broker {
    /// Opens the data dir (recovering after a crash), binds the listener and starts the
    /// background tasks.
    pub async fn start(config: BrokerConfig) -> Result<RunningBroker, BrokerError> {
        let dir = config.data_dir.clone();
        let dir_err = |source| BrokerError::DataDir { dir: dir.display().to_string(), source };
        std::fs::create_dir_all(&dir).map_err(dir_err)?;
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
        let cluster_id = read_or_create_meta(&dir, config.node_id).map_err(dir_err)?;
        let config = Arc::new(config);
        let controller = Controller::open(&dir, clean)?;
        let replicas = ReplicaManager::new(config.clone(), clean);
        replicas.reconcile(&controller.image())?;
        replicas.remove_strays();
        let listener = TcpListener::bind(config.listen).await.map_err(|source| BrokerError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| BrokerError::Bind { addr: config.listen, source })?;
        let broker = Arc::new(Broker { config, cluster_id, controller, replicas, fetch_sessions: Default::default(), _lock: lock });
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = vec![tokio::spawn(network::serve(listener, broker.clone(), stop_rx.clone()))];
        tasks.push(tokio::spawn(housekeeping(broker.clone(), stop_rx)));
        Ok(RunningBroker { broker, addr, recovered: !clean && !fresh, stop, tasks })
    }
}

/// Periodic retention and time-based flushing.
async fn housekeeping(broker: Arc<Broker>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let retention_every = Duration::from_millis(broker.config.retention_check_interval_ms);
    let mut retention = tokio::time::interval(retention_every);
    let mut flush = tokio::time::interval(Duration::from_millis(1000));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = retention.tick() => {
                let n = broker.replicas.run_retention(log::now_ms());
                if n > 0 {
                    tracing::info!(segments = n, "retention deleted old log segments");
                }
            }
            _ = flush.tick() => broker.replicas.flush_due(log::now_ms()),
        }
    }
}

impl RunningBroker {
    /// Stops accepting, flushes every log and writes the clean-shutdown marker so the
    /// next start skips recovery.
    pub async fn shutdown(self) -> Result<(), BrokerError> {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.broker.replicas.flush_all()?;
        self.broker.controller.flush()?;
        let dir = &self.broker.config.data_dir;
        std::fs::write(dir.join(CLEAN_SHUTDOWN_FILE), b"")
            .map_err(|source| BrokerError::DataDir { dir: dir.display().to_string(), source })?;
        Ok(())
    }
}
