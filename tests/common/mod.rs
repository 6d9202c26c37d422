//! Test harness: starts the real `rk` binary on a free 127.0.0.1 port with a temp data
//! dir, waits for its ready line, and offers restart / kill -9 on the same data dir.
#![allow(dead_code)]

pub mod cluster;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::*;
use rk::client::Connection;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestBroker {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub extra: Vec<String>,
    /// Environment for the broker process (e.g. RK_FAULTS).
    pub env: Vec<(String, String)>,
    /// RLIMIT_NOFILE (soft and hard) for the broker process.
    pub nofile: Option<u64>,
    child: Option<Child>,
}

/// A port free now, below Linux's ephemeral range (32768+): a port from that range can be
/// taken by some client's outgoing connection before the broker meant for it binds it.
pub fn free_port() -> u16 {
    // Ports handed out in this process: tests running in parallel pick before they bind,
    // and two of them must not get the same one.
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1000 {
        let port = 20_000 + rand::random::<u16>() % 12_000;
        if !given.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn rk_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rk"))
}

impl TestBroker {
    pub fn start() -> TestBroker {
        Self::start_with(&[])
    }

    /// Starts with extra `--override k=v` pairs.
    pub fn start_with(overrides: &[&str]) -> TestBroker {
        let mut b = TestBroker {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            extra: overrides.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            nofile: None,
            child: None,
        };
        b.spawn();
        b
    }

    /// Starts with extra overrides and environment variables for the broker process.
    pub fn start_with_env(overrides: &[&str], env: &[(&str, &str)]) -> TestBroker {
        let mut b = TestBroker {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            extra: overrides.iter().map(|s| s.to_string()).collect(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            nofile: None,
            child: None,
        };
        b.spawn();
        b
    }

    /// Starts on a given client port (a cluster node, whose ports are chosen up front).
    pub fn start_on(port: u16, overrides: &[String], env: &[(&str, &str)]) -> TestBroker {
        let mut b = TestBroker {
            dir: tempfile::tempdir().unwrap(),
            port,
            extra: overrides.to_vec(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            nofile: None,
            child: None,
        };
        b.spawn();
        b
    }

    /// Sends a signal (SIGSTOP, SIGCONT, ...) to the broker process.
    pub fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            unsafe { libc::kill(pid as i32, sig) };
        }
    }

    /// Starts with a descriptor limit (`ulimit -n`) for the broker process.
    pub fn start_with_nofile(overrides: &[&str], nofile: u64) -> TestBroker {
        let mut b = TestBroker {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            extra: overrides.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            nofile: Some(nofile),
            child: None,
        };
        b.spawn();
        b
    }

    /// Where the broker's stderr (its log) goes: a file in the data dir, kept across restarts.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("rk-test-broker.log")
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The broker's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// How many descriptors the broker process has open now.
    pub fn open_fds(&self) -> usize {
        self.pid().map_or(0, |p| std::fs::read_dir(format!("/proc/{p}/fd")).map(|d| d.count()).unwrap_or(0))
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(rk_bin());
        cmd.args(["server", "start", "--listen", &self.addr()]).arg("--data-dir").arg(self.dir.path());
        for o in &self.extra {
            cmd.args(["--override", o]);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(n) = self.nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit { rlim_cur: n, rlim_max: n };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("broker log file");
        let mut child = cmd.stdout(Stdio::piped()).stderr(log).spawn().expect("spawn rk");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("ready on") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            panic!("broker did not print its ready line:\n{}", self.log());
        }
        self.child = Some(child);
    }

    /// SIGTERM and wait (a clean shutdown).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if c.try_wait().unwrap().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            panic!("broker did not stop on SIGTERM");
        }
    }

    /// kill -9 (a crash).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn start_again(&mut self) {
        assert!(self.child.is_none());
        self.spawn();
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    pub async fn connect(&self) -> Connection {
        Connection::connect(&self.addr(), "rk-test").await.expect("connect")
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub fn tn(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// A record for the encoder: the broker's own non-idempotent record shape.
pub fn record(i: i64, key: Option<&str>, value: Option<&str>, ts: i64) -> Record {
    rk::broker::log::batch::plain_record(i, ts, key.map(|k| Bytes::from(k.to_string())), value.map(|v| Bytes::from(v.to_string())))
}

pub fn batch(records: &[Record], compression: Compression) -> Bytes {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records, &RecordEncodeOptions { version: 2, compression }).unwrap();
    buf.freeze()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// n records "v{start}".."v{start+n-1}" with keys, one batch.
pub fn simple_batch(start: usize, n: usize) -> Bytes {
    let ts = now_ms();
    let recs: Vec<Record> = (0..n)
        .map(|i| {
            let k = format!("k{}", start + i);
            let v = format!("v{}", start + i);
            record(i as i64, Some(&k), Some(&v), ts)
        })
        .collect();
    batch(&recs, Compression::None)
}

pub async fn create_topic(c: &mut Connection, name: &str, partitions: i32, configs: &[(&str, &str)]) -> i16 {
    let topic = create_topics_request::CreatableTopic::default()
        .with_name(tn(name))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| create_topics_request::CreatableTopicConfig::default().with_name(sb(k)).with_value(Some(sb(v))))
                .collect(),
        );
    let resp = c.send(&CreateTopicsRequest::default().with_topics(vec![topic]).with_timeout_ms(5000)).await.unwrap();
    resp.topics[0].error_code
}

/// Produces raw batch bytes to one partition; returns (error code, base offset).
pub async fn produce(c: &mut Connection, topic: &str, partition: i32, records: Bytes, acks: i16) -> (i16, i64) {
    let req = ProduceRequest::default().with_acks(acks).with_timeout_ms(5000).with_topic_data(vec![
        produce_request::TopicProduceData::default()
            .with_name(tn(topic))
            .with_partition_data(vec![produce_request::PartitionProduceData::default().with_index(partition).with_records(Some(records))]),
    ]);
    // v12 addresses topics by name (v13 needs topic ids).
    let resp = c.send_at(&req, 12).await.unwrap();
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// Fetches from one partition (v12); returns the partition data.
pub async fn fetch(c: &mut Connection, topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> fetch_response::PartitionData {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default().with_topic(tn(topic)).with_partitions(vec![
            fetch_request::FetchPartition::default().with_partition(partition).with_fetch_offset(offset).with_partition_max_bytes(10 << 20),
        ])]);
    let resp = c.send_at(&req, 12).await.unwrap();
    resp.responses[0].partitions[0].clone()
}

/// Decodes all records of a fetch answer.
pub fn decode(records: &Option<Bytes>) -> Vec<Record> {
    let mut b = records.clone().unwrap_or_default();
    RecordBatchDecoder::decode_all(&mut b).unwrap().into_iter().flat_map(|s| s.records).collect()
}

pub fn value_str(r: &Record) -> String {
    String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap()
}

pub async fn list_offset(c: &mut Connection, topic: &str, partition: i32, ts: i64) -> (i16, i64, i64) {
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        list_offsets_request::ListOffsetsTopic::default().with_name(tn(topic)).with_partitions(vec![
            list_offsets_request::ListOffsetsPartition::default().with_partition_index(partition).with_timestamp(ts),
        ]),
    ]);
    let resp = c.send(&req).await.unwrap();
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.offset, p.timestamp)
}
