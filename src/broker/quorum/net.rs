//! The quorum's transport on the CONTROLLER listener: length-prefixed JSON frames carrying
//! openraft's RPCs (AppendEntries, Vote, InstallSnapshot) and the controller's own calls
//! (commands forwarded to the active controller, broker registration and heartbeats).
//! Only rk nodes speak it; Kafka clients never reach this listener. With the controller
//! listener mapped to SSL, every connection is TLS (`TLS`): servers present the listener's
//! certificate and, with `ssl.client.auth=required`, accept only peers whose certificates
//! the listener's trust store signs.

use super::{Raft, TypeConfig};
use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type NodeId = u64;

/// A quorum connection: plain TCP or TLS.
pub trait QuorumStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> QuorumStream for T {}
type Stream = Box<dyn QuorumStream>;

/// TLS of the controller listener (None: PLAINTEXT): the server side where this node is a
/// controller, the client side for every node that connects to controllers. Set once at
/// start (one broker per process).
pub struct QuorumTls {
    pub server: Option<Arc<crate::security::tls::ReloadingServerConfig>>,
    pub client: Arc<rustls::ClientConfig>,
}

pub static TLS: OnceLock<QuorumTls> = OnceLock::new();

const TLS_HANDSHAKE: Duration = Duration::from_secs(10);
/// The largest frame accepted (a snapshot chunk is at most a few MiB).
const MAX_FRAME: usize = 64 << 20;

#[derive(Serialize, Deserialize)]
pub enum Request {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A controller call (its own JSON; the quorum layer only carries it).
    Controller(serde_json::Value),
    /// An observer (broker-only node) fetching committed metadata.
    FetchMetadata(super::observer::FetchMetadata),
}

#[derive(Serialize, Deserialize)]
pub enum Response {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    InstallSnapshot(Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>),
    Controller(serde_json::Value),
    MetadataFetched(super::observer::MetadataFetched),
    Error(String),
}

/// Who answers controller calls on this node (the Controller, once the broker is built).
pub trait ControllerRpc: Send + Sync {
    /// Answers a call; the connection's session goes in and comes back updated.
    fn call(&self, request: serde_json::Value, session: Session)
    -> Pin<Box<dyn Future<Output = (serde_json::Value, Session)> + Send + '_>>;
    /// The connection a broker heart-beat on closed: that broker is gone (a crashed
    /// process's sockets close at once), unless it said goodbye first.
    fn disconnected(&self, session: &Session);
}

/// Per-connection state the controller keeps (which broker heart-beats on it).
#[derive(Default, Debug, Clone, Copy)]
pub struct Session {
    pub broker: Option<(i32, i64)>,
}

async fn write_frame(s: &mut Stream, body: &[u8]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(body);
    s.write_all(&buf).await
}

async fn read_frame(s: &mut Stream) -> std::io::Result<Vec<u8>> {
    let n = s.read_u32().await? as usize;
    if n > MAX_FRAME {
        return Err(std::io::Error::other(format!("quorum frame of {n} bytes is larger than {MAX_FRAME}")));
    }
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).await?;
    Ok(body)
}

/// Serves the CONTROLLER listener until the task is dropped.
pub async fn serve(listener: TcpListener, quorum: std::sync::Weak<super::Quorum>) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else { continue };
        let _ = tcp.set_nodelay(true);
        let Some(q) = quorum.upgrade() else { return };
        let (raft, controller) = (q.raft.clone(), q.controller.clone());
        drop(q);
        let quorum = quorum.clone();
        tokio::spawn(async move {
            let mut sock: Stream = match TLS.get().and_then(|t| t.server.as_ref()) {
                None => Box::new(tcp),
                Some(cfg) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(cfg.current());
                    match tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => Box::new(s),
                        Ok(Err(e)) => return tracing::warn!(%peer, "controller listener: TLS handshake failed: {e}"),
                        Err(_) => return tracing::warn!(%peer, "controller listener: no TLS handshake within 10 s"),
                    }
                }
            };
            let mut session = Session::default();
            while let Ok(frame) = read_frame(&mut sock).await {
                let resp = match serde_json::from_slice::<Request>(&frame) {
                    Err(e) => Response::Error(format!("bad quorum request: {e}")),
                    Ok(Request::FetchMetadata(f)) => match quorum.upgrade() {
                        Some(q) => q.serve_fetch(f).await,
                        None => break,
                    },
                    Ok(req) => handle(req, &raft, &controller, &mut session).await,
                };
                let Ok(body) = serde_json::to_vec(&resp) else { break };
                if write_frame(&mut sock, &body).await.is_err() {
                    break;
                }
            }
            if let Some(c) = controller.get() {
                c.disconnected(&session);
            }
        });
    }
}

async fn handle(req: Request, raft: &OnceLock<Raft>, controller: &OnceLock<Arc<dyn ControllerRpc>>, session: &mut Session) -> Response {
    // A peer may call while this node's Raft is still being built: wait a moment for it.
    for _ in 0..500 {
        if raft.get().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let not_ready = || Response::Error("the quorum is starting".into());
    match req {
        Request::AppendEntries(r) => match raft.get() {
            Some(raft) => Response::AppendEntries(raft.append_entries(r).await),
            None => not_ready(),
        },
        Request::Vote(r) => match raft.get() {
            Some(raft) => Response::Vote(raft.vote(r).await),
            None => not_ready(),
        },
        Request::InstallSnapshot(r) => match raft.get() {
            Some(raft) => Response::InstallSnapshot(raft.install_snapshot(r).await),
            None => not_ready(),
        },
        Request::Controller(v) => match controller.get() {
            Some(c) => {
                let (answer, s) = c.call(v, *session).await;
                *session = s;
                Response::Controller(answer)
            }
            None => Response::Error("the controller is starting".into()),
        },
        Request::FetchMetadata(_) => Response::Error("unexpected metadata fetch".into()),
    }
}

/// One connection to a peer's CONTROLLER listener, one call at a time, reopened after
/// an error.
pub struct PeerConn {
    addr: String,
    sock: tokio::sync::Mutex<Option<Stream>>,
}

/// When each peer was first found unreachable (connection refused: its process is gone),
/// cleared by the next successful connection. The active controller fences a broker whose
/// node is down without waiting for its session to expire.
#[derive(Default)]
pub struct Health {
    down: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl Health {
    fn mark(&self, addr: &str, up: bool) {
        let mut d = self.down.lock().unwrap_or_else(|e| e.into_inner());
        if up {
            d.remove(addr);
        } else {
            d.entry(addr.to_string()).or_insert_with(std::time::Instant::now);
        }
    }

    /// How long the peer at `addr` has been unreachable, if it is.
    pub fn down_for(&self, addr: &str) -> Option<Duration> {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).get(addr).map(|t| t.elapsed())
    }
}

pub static HEALTH: std::sync::LazyLock<Health> = std::sync::LazyLock::new(Health::default);

impl PeerConn {
    pub fn new(addr: String) -> PeerConn {
        PeerConn { addr, sock: tokio::sync::Mutex::new(None) }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends a request and reads its answer within `timeout`. Err(true) when the peer
    /// could not be reached at all (nothing was sent).
    pub async fn call(&self, req: &Request, timeout: Duration) -> Result<Response, (bool, String)> {
        let body = serde_json::to_vec(req).map_err(|e| (false, e.to_string()))?;
        let mut guard = self.sock.lock().await;
        if guard.is_none() {
            let s = tokio::time::timeout(timeout, TcpStream::connect(&self.addr))
                .await
                .map_err(|_| (true, format!("connecting to {} timed out", self.addr)))?
                .map_err(|e| {
                    if e.kind() == std::io::ErrorKind::ConnectionRefused {
                        HEALTH.mark(&self.addr, false);
                    }
                    (true, format!("cannot connect to {}: {e}", self.addr))
                })?;
            HEALTH.mark(&self.addr, true);
            let _ = s.set_nodelay(true);
            *guard = Some(match TLS.get() {
                None => Box::new(s),
                Some(tls) => {
                    let host =
                        self.addr.rsplit_once(':').map_or(self.addr.as_str(), |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
                    let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| (true, e.to_string()))?;
                    let connect = tokio_rustls::TlsConnector::from(tls.client.clone()).connect(name, s);
                    let tls_stream = tokio::time::timeout(timeout, connect)
                        .await
                        .map_err(|_| (true, format!("TLS handshake with {} timed out", self.addr)))?
                        .map_err(|e| (true, format!("TLS handshake with {} failed: {e}", self.addr)))?;
                    Box::new(tls_stream)
                }
            });
        }
        let sock = guard.as_mut().expect("connected above");
        let answer = tokio::time::timeout(timeout, async {
            write_frame(sock, &body).await?;
            read_frame(sock).await
        })
        .await;
        match answer {
            Ok(Ok(frame)) => serde_json::from_slice(&frame).map_err(|e| (false, format!("bad quorum response: {e}"))),
            Ok(Err(e)) => {
                *guard = None;
                Err((false, format!("{}: {e}", self.addr)))
            }
            Err(_) => {
                *guard = None;
                Err((false, format!("{}: no answer within {timeout:?}", self.addr)))
            }
        }
    }
}

/// openraft's network factory: a client per target node.
pub struct NetFactory;

pub struct NetClient {
    target: NodeId,
    conn: PeerConn,
}

impl RaftNetworkFactory<TypeConfig> for NetFactory {
    type Network = NetClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> NetClient {
        NetClient { target, conn: PeerConn::new(node.addr.clone()) }
    }
}

impl NetClient {
    async fn rpc<E: std::error::Error>(&self, req: Request, option: &RPCOption) -> Result<Response, RPCError<NodeId, BasicNode, E>> {
        match self.conn.call(&req, option.hard_ttl()).await {
            Ok(Response::Error(e)) => Err(RPCError::Network(NetworkError::new(&std::io::Error::other(e)))),
            Ok(r) => Ok(r),
            Err((true, e)) => Err(RPCError::Unreachable(Unreachable::new(&std::io::Error::other(e)))),
            Err((false, e)) => Err(RPCError::Network(NetworkError::new(&std::io::Error::other(e)))),
        }
    }

    fn unexpected<E: std::error::Error>() -> RPCError<NodeId, BasicNode, E> {
        RPCError::Network(NetworkError::new(&std::io::Error::other("unexpected quorum response")))
    }
}

impl RaftNetwork<TypeConfig> for NetClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        match self.rpc(Request::AppendEntries(rpc), &option).await? {
            Response::AppendEntries(r) => r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e))),
            _ => Err(Self::unexpected()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>> {
        match self.rpc(Request::InstallSnapshot(rpc), &option).await? {
            Response::InstallSnapshot(r) => r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e))),
            _ => Err(Self::unexpected()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        match self.rpc(Request::Vote(rpc), &option).await? {
            Response::Vote(r) => r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e))),
            _ => Err(Self::unexpected()),
        }
    }
}
