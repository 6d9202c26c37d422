//! `rk server start --nodes N`: a local cluster on loopback without containers (what
//! `rpk container start -n 3` gives, in milliseconds). It spawns N `rk server start`
//! processes in combined mode (broker + quorum voter), each with its own data dir
//! (`<dir>/node-<i>`), client port and CONTROLLER port, prints the bootstrap string and
//! supervises them: node logs are forwarded with a `node-<i> |` prefix, a node that dies
//! (say, killed to try a failover) is reported while the others go on, and SIGINT/SIGTERM
//! stops every node with a controlled shutdown.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Controller ports sit this far above the client ports (client 9092.. → 9192..).
const CONTROLLER_PORT_OFFSET: u16 = 100;
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What the supervisor is told about.
enum Event {
    Ready(usize, String),
    /// Every broker is registered and unfenced (node 1's Metadata lists them all).
    Registered(String),
    Signal,
}

struct Node {
    id: usize,
    client: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// Everything a node needs beyond the generated cluster settings.
pub struct Plan {
    pub nodes: usize,
    pub host: String,
    pub base_port: u16,
    pub data_dir: PathBuf,
    pub properties: Option<PathBuf>,
    pub overrides: Vec<String>,
}

/// The client and controller port of each node: consecutive from the base port (and
/// +100 for the controllers), or free ephemeral ports when the base is 0.
fn ports(plan: &Plan) -> anyhow::Result<Vec<(u16, u16)>> {
    if plan.base_port == 0 {
        // Hold every socket until all are chosen, so no port is handed out twice.
        let socks: Vec<TcpListener> = (0..plan.nodes * 2).map(|_| TcpListener::bind((plan.host.as_str(), 0))).collect::<Result<_, _>>()?;
        let p: Vec<u16> = socks.iter().map(|s| s.local_addr().map(|a| a.port())).collect::<Result<_, _>>()?;
        return Ok(p.chunks(2).map(|c| (c[0], c[1])).collect());
    }
    let mut out = Vec::new();
    for i in 0..plan.nodes as u16 {
        let (Some(client), Some(controller)) = (plan.base_port.checked_add(i), plan.base_port.checked_add(i + CONTROLLER_PORT_OFFSET))
        else {
            bail!("ports from {} for {} nodes run past 65535: pick a lower base with --listen", plan.base_port, plan.nodes);
        };
        for port in [client, controller] {
            if TcpListener::bind((plan.host.as_str(), port)).is_err() {
                bail!("port {port} on {} is in use: pick another base port with --listen HOST:PORT (or HOST:0 for free ports)", plan.host);
            }
        }
        out.push((client, controller));
    }
    Ok(out)
}

/// Starts the nodes and supervises them until a signal; returns the exit code.
pub fn run(plan: Plan) -> anyhow::Result<i32> {
    let started = Instant::now();
    if plan.data_dir.join("meta.properties").exists() {
        bail!("{} holds a single broker's data; give --nodes a directory of its own with --data-dir", plan.data_dir.display());
    }
    let ports = ports(&plan)?;
    let voters: Vec<String> = ports.iter().enumerate().map(|(i, (_, c))| format!("{}@{}:{c}", i + 1, plan.host)).collect();
    let voters = voters.join(",");
    let exe = std::env::current_exe().context("cannot find the rk binary to start the nodes")?;
    let (tx, rx) = mpsc::channel();
    let mut nodes = Vec::new();
    for (i, (client, controller)) in ports.iter().enumerate() {
        let id = i + 1;
        let dir = plan.data_dir.join(format!("node-{id}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut cmd = Command::new(&exe);
        cmd.args(["server", "start"]);
        if let Some(p) = &plan.properties {
            cmd.arg(p);
        }
        cmd.arg("--data-dir").arg(&dir).args(["--node-id", &id.to_string(), "--supervised"]);
        let generated = [
            format!("listeners=PLAINTEXT://{h}:{client},CONTROLLER://{h}:{controller}", h = plan.host),
            "controller.listener.names=CONTROLLER".to_string(),
            format!("controller.quorum.voters={voters}"),
        ];
        for o in generated.iter().chain(&plan.overrides) {
            cmd.arg("--override").arg(o);
        }
        let mut child = match cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
            Ok(c) => c,
            Err(e) => {
                stop_all(&mut nodes);
                bail!("cannot start node {id}: {e}");
            }
        };
        forward(id, child.stdout.take(), Some(tx.clone()));
        forward(id, child.stderr.take(), None);
        nodes.push(Node { id, client: *client, dir, child: Some(child) });
    }
    watch_signals(tx.clone());
    let code = supervise(&plan, &mut nodes, (&tx, &rx), started);
    stop_all(&mut nodes);
    code
}

/// Forwards a node's output line by line with its name; stdout's "ready" line is also
/// reported to the supervisor.
fn forward(id: usize, pipe: Option<impl std::io::Read + Send + 'static>, ready: Option<mpsc::Sender<Event>>) {
    let Some(pipe) = pipe else { return };
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            match &ready {
                Some(tx) if line.contains(" ready on ") => {
                    let _ = tx.send(Event::Ready(id, line));
                }
                Some(_) => println!("node-{id} | {line}"),
                None => eprintln!("node-{id} | {line}"),
            }
        }
    });
}

fn watch_signals(tx: mpsc::Sender<Event>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        if rt.block_on(super::server::wait_for_signal(None)).is_ok() {
            let _ = tx.send(Event::Signal);
        }
    });
}

/// Reports once `addr`'s Metadata lists `n` brokers: registered with the active
/// controller and unfenced, so clients can use all of them.
fn wait_registered(addr: String, n: usize, cluster: String, tx: mpsc::Sender<Event>) {
    use kafka_protocol::messages::MetadataRequest;
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(async {
            let deadline = Instant::now() + READY_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(c) = crate::client::Connection::connect(&addr, "rk-server").await
                    && let Ok(r) = c.send(&MetadataRequest::default().with_topics(Some(vec![]))).await
                    && r.brokers.len() >= n
                {
                    let _ = tx.send(Event::Registered(cluster));
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    });
}

/// The cluster id in a node's ready line: "… (node 1, cluster <id>) in …".
fn cluster_id(line: &str) -> Option<&str> {
    line.split("cluster ").nth(1)?.split(')').next()
}

fn supervise(
    plan: &Plan,
    nodes: &mut [Node],
    (tx, rx): (&mpsc::Sender<Event>, &mpsc::Receiver<Event>),
    started: Instant,
) -> anyhow::Result<i32> {
    let (mut ready, mut registered) = (0, false);
    let mut out = std::io::stdout();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Signal) => return Ok(0),
            Ok(Event::Ready(id, line)) => {
                ready += 1;
                let cluster = cluster_id(&line).unwrap_or_default();
                let n = &nodes[id - 1];
                let pid = n.child.as_ref().map_or(0, |c| c.id());
                let _ = writeln!(out, "rk: node {id} listening on {}:{} (pid {pid}, data dir {})", plan.host, n.client, n.dir.display());
                let _ = out.flush();
                if ready == nodes.len() {
                    wait_registered(format!("{}:{}", plan.host, nodes[0].client), nodes.len(), cluster.to_string(), tx.clone());
                }
            }
            Ok(Event::Registered(cluster)) => {
                let bootstrap: Vec<String> = nodes.iter().map(|n| format!("{}:{}", plan.host, n.client)).collect();
                let _ = writeln!(
                    out,
                    "rk: cluster {cluster} of {} nodes ready in {} ms\nrk: bootstrap servers {}",
                    nodes.len(),
                    started.elapsed().as_millis(),
                    bootstrap.join(",")
                );
                let _ = out.flush();
                registered = true;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(1),
        }
        if !registered && started.elapsed() > READY_TIMEOUT {
            eprintln!("rk: the cluster did not become ready within {} s", READY_TIMEOUT.as_secs());
            return Ok(1);
        }
        let exited: Vec<(usize, std::process::ExitStatus)> = nodes
            .iter_mut()
            .filter_map(|n| {
                let status = n.child.as_mut()?.try_wait().ok().flatten()?;
                n.child = None;
                Some((n.id, status))
            })
            .collect();
        for (id, status) in exited {
            let left = nodes.iter().filter(|n| n.child.is_some()).count();
            if !registered {
                eprintln!("rk: node {id} exited before the cluster was ready ({status}); stopping");
                return Ok(1);
            }
            eprintln!("rk: node {id} exited ({status}); {left} of {} nodes still running", nodes.len());
            if left == 0 {
                return Ok(1);
            }
        }
    }
}

/// Closing a node's stdin asks it for a controlled shutdown (`--supervised`); a node still
/// running after STOP_TIMEOUT is killed.
fn stop_all(nodes: &mut [Node]) {
    for n in nodes.iter_mut() {
        if let Some(c) = n.child.as_mut() {
            drop(c.stdin.take());
        }
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    for n in nodes.iter_mut() {
        let Some(c) = n.child.as_mut() else { continue };
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Ok(None) = c.try_wait() {
            eprintln!("rk: node {} did not stop within {} s; killing it", n.id, STOP_TIMEOUT.as_secs());
            let _ = c.kill();
            let _ = c.wait();
        }
        n.child = None;
    }
}

/// The default home of a local cluster: beside the single-node data dir, never inside it
/// (a single broker would take `node-*` for stray directories).
pub fn default_dir(single: &Path) -> PathBuf {
    let name = single.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "rk".into());
    single.with_file_name(format!("{name}-cluster"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_names_the_cluster() {
        let line = "rk: broker ready on 127.0.0.1:9092 (node 1, cluster AbC-12) in 40 ms";
        assert_eq!(cluster_id(line), Some("AbC-12"));
        assert_eq!(default_dir(Path::new("/x/rk/data")), PathBuf::from("/x/rk/data-cluster"));
    }

    #[test]
    fn free_ports_are_distinct() {
        let plan = Plan { nodes: 3, host: "127.0.0.1".into(), base_port: 0, data_dir: PathBuf::new(), properties: None, overrides: vec![] };
        let p = ports(&plan).unwrap();
        let mut all: Vec<u16> = p.iter().flat_map(|(a, b)| [*a, *b]).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 6);
    }
}
