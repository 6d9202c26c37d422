//! `rk perf-test producer`: sends N records at a target rate (or unthrottled) from one or
//! more producers and prints Kafka's periodic and final lines (plus JSON on request).

use crate::cli::common::{ClientArgs, OutputFormat, usage_error};
use crate::client::Cluster;
use crate::client::config::{parse_key_value, read_properties};
use crate::client::producer::{Delivery, Producer, ProducerConfig, ProducerRecord};
use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct ProducerPerfArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Topic to produce to.
    #[arg(long)]
    pub topic: String,
    /// Number of records to send (after any warm-up records).
    #[arg(long, alias = "num-records")]
    pub num_records: u64,
    /// Size of each record in bytes.
    #[arg(long)]
    pub record_size: Option<usize>,
    /// File of payloads (split by --payload-delimiter); one is picked at random per record.
    #[arg(long)]
    pub payload_file: Option<PathBuf>,
    /// Delimiter of --payload-file.
    #[arg(long, default_value = "\\n")]
    pub payload_delimiter: String,
    /// Payloads are the decimal record index.
    #[arg(long)]
    pub payload_monotonic: bool,
    /// Records per second (-1: unthrottled).
    #[arg(long, allow_hyphen_values = true)]
    pub throughput: f64,
    /// Producer properties key=value (values may contain '=').
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    pub producer_props: Vec<String>,
    /// Producer properties file.
    #[arg(long = "producer.config", value_name = "FILE")]
    pub producer_config: Option<PathBuf>,
    /// Records sent first and left out of the steady-state summary (KIP-1052).
    #[arg(long, default_value_t = 0)]
    pub warmup_records: u64,
    /// Milliseconds between periodic lines.
    #[arg(long, default_value_t = 5000)]
    pub reporting_interval: u64,
    /// Number of producers sharing the load in this process.
    #[arg(long, default_value_t = 1)]
    pub producers: usize,
    /// The transactional id to use (takes precedence over transactional.id in
    /// --producer-props/--producer.config). Without it, --transaction-duration-ms uses
    /// performance-producer- followed by a random uuid.
    #[arg(long)]
    pub transactional_id: Option<String>,
    /// The max age of each transaction: commitTransaction is called after this time has
    /// elapsed (default 3000 when transactions are enabled).
    #[arg(long)]
    pub transaction_duration_ms: Option<u64>,
    /// Accepted for compatibility (rk prints no client metrics yet).
    #[arg(long)]
    pub print_metrics: bool,
    /// `json` adds one JSON summary object as the last line.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Counters shared by the producers' delivery callbacks (Kafka's Stats).
struct Stats {
    hist: Histogram<u64>,
    window_hist: Histogram<u64>,
    count: u64,
    bytes: u64,
    window_count: u64,
    window_bytes: u64,
    window_start: Instant,
    errors: u64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            hist: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds"),
            window_hist: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds"),
            count: 0,
            bytes: 0,
            window_count: 0,
            window_bytes: 0,
            window_start: Instant::now(),
            errors: 0,
        }
    }

    fn record(&mut self, latency: Duration, bytes: usize) {
        let us = (latency.as_micros() as u64).max(1);
        let _ = self.hist.record(us);
        let _ = self.window_hist.record(us);
        self.count += 1;
        self.bytes += bytes as u64;
        self.window_count += 1;
        self.window_bytes += bytes as u64;
    }

    fn window_line(&mut self) -> String {
        let secs = self.window_start.elapsed().as_secs_f64().max(1e-9);
        let line = format!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            self.window_count,
            self.window_count as f64 / secs,
            self.window_bytes as f64 / secs / (1024.0 * 1024.0),
            self.window_hist.mean() / 1000.0,
            self.window_hist.max() as f64 / 1000.0
        );
        self.window_hist.reset();
        self.window_count = 0;
        self.window_bytes = 0;
        self.window_start = Instant::now();
        line
    }
}

fn summary(s: &Stats, elapsed: Duration, output: OutputFormat) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rps = s.count as f64 / secs;
    let mbps = s.bytes as f64 / secs / (1024.0 * 1024.0);
    let h = &s.hist;
    println!(
        "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
        s.count,
        rps,
        mbps,
        h.mean() / 1000.0,
        h.max() as f64 / 1000.0,
        super::pct_ms(h, 0.5),
        super::pct_ms(h, 0.95),
        super::pct_ms(h, 0.99),
        super::pct_ms(h, 0.999)
    );
    if output == OutputFormat::Json {
        let j = serde_json::json!({
            "records": s.count,
            "records_per_sec": rps,
            "mb_per_sec": mbps,
            "avg_latency_ms": h.mean() / 1000.0,
            "max_latency_ms": h.max() as f64 / 1000.0,
            "p50_ms": h.value_at_quantile(0.5) as f64 / 1000.0,
            "p95_ms": h.value_at_quantile(0.95) as f64 / 1000.0,
            "p99_ms": h.value_at_quantile(0.99) as f64 / 1000.0,
            "p999_ms": h.value_at_quantile(0.999) as f64 / 1000.0,
            "errors": s.errors,
        });
        println!("{j}");
    }
}

/// Payload source: random A-Z of a fixed size, lines of a file, or the record index.
enum Payloads {
    Fixed(Bytes),
    File(Vec<Bytes>),
    Monotonic,
}

impl Payloads {
    fn next(&self, i: u64) -> Bytes {
        match self {
            Payloads::Fixed(b) => b.clone(),
            Payloads::File(v) => v[rand::random_range(0..v.len())].clone(),
            Payloads::Monotonic => Bytes::from(i.to_string()),
        }
    }
}

pub fn run(a: ProducerPerfArgs) -> anyhow::Result<i32> {
    let sources = [a.record_size.is_some(), a.payload_file.is_some(), a.payload_monotonic].iter().filter(|x| **x).count();
    if sources != 1 {
        return usage_error("Exactly one of --record-size, --payload-file or --payload-monotonic must be specified");
    }
    if a.num_records == 0 {
        return usage_error("--num-records should be greater than zero");
    }
    if a.transaction_duration_ms == Some(0) {
        return usage_error("--transaction-duration-ms should be greater than zero");
    }
    let payloads = if let Some(n) = a.record_size {
        // Kafka fills the payload with random upper-case letters.
        Payloads::Fixed(Bytes::from((0..n).map(|_| b'A' + rand::random_range(0..26u8)).collect::<Vec<u8>>()))
    } else if let Some(f) = &a.payload_file {
        let text = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let delim = a.payload_delimiter.replace("\\n", "\n").replace("\\t", "\t");
        let list: Vec<Bytes> =
            String::from_utf8_lossy(&text).split(&delim).filter(|s| !s.is_empty()).map(|s| Bytes::from(s.to_string())).collect();
        println!("Reading payloads from: {}", std::fs::canonicalize(f).unwrap_or(f.clone()).display());
        println!("Number of messages read: {}", list.len());
        if list.is_empty() {
            anyhow::bail!("File does not contain any payloads");
        }
        Payloads::File(list)
    } else {
        Payloads::Monotonic
    };
    let mut props: Vec<(String, String)> = Vec::new();
    if let Some(f) = &a.producer_config {
        props.extend(read_properties(f).map_err(anyhow::Error::msg)?);
    }
    props.extend(a.producer_props.iter().map(|p| parse_key_value(p)));
    // Transactions as Kafka's tool enables them: a duration, a transactional id flag, or
    // transactional.id among the producer properties.
    let props_txn_id = props.iter().rev().find(|(k, _)| k == "transactional.id").map(|(_, v)| v.clone());
    let txn_id = a
        .transactional_id
        .clone()
        .or(props_txn_id)
        .or_else(|| a.transaction_duration_ms.map(|_| format!("performance-producer-{}", uuid::Uuid::new_v4())));
    let txn_duration = txn_id.as_ref().map(|_| Duration::from_millis(a.transaction_duration_ms.unwrap_or(3000)));
    props.retain(|(k, _)| k != "transactional.id");
    if a.client.bootstrap_server.is_none() && !props.iter().any(|(k, _)| k == "bootstrap.servers") && a.client.command_config.is_none() {
        return usage_error("Either --bootstrap-server or bootstrap.servers in --producer-props/--producer.config must be specified");
    }
    let cfg = a.client.config_with("perf-producer-client", &[], &props.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>())?;
    let pcfg = ProducerConfig::from_props(&cfg.props).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let mut producers = Vec::new();
        for n in 0..a.producers.max(1) {
            let mut pcfg = pcfg.clone();
            if let Some(id) = &txn_id {
                // One transactional id per producer: a second one would fence the first.
                pcfg.transactional_id = Some(if n == 0 { id.clone() } else { format!("{id}-{n}") });
            }
            let p = Producer::new(cluster.clone(), pcfg).await?;
            if txn_id.is_some() {
                p.init_transactions().await.context("initTransactions failed")?;
            }
            producers.push(p);
        }
        // Per producer: records in the open transaction, and when it began.
        let mut txns: Vec<(u64, Instant)> = vec![(0, Instant::now()); producers.len()];
        let stats = Arc::new(Mutex::new(Stats::new()));
        if a.warmup_records > 0 {
            println!("Warmup first {} records. Steady state results will print after the complete test summary.", a.warmup_records);
        }
        let total = a.num_records + a.warmup_records;
        let pb = super::progress(total);
        let start = Instant::now();
        let wall_start_ms = chrono::Utc::now().timestamp_millis();
        let mut steady_start = start;
        let mut steady = Arc::new(Mutex::new(Stats::new()));
        let mut last_report = Instant::now();
        // Unacknowledged records, oldest first; bounded by buffer.memory as Kafka's
        // producer blocks send() when its buffer is full.
        let mut inflight: std::collections::VecDeque<(Instant, usize, bool, Delivery)> = Default::default();
        let mut inflight_bytes = 0usize;
        let mut record = ProducerRecord { topic: a.topic.clone(), ..Default::default() };
        for i in 0..total {
            if i == a.warmup_records && a.warmup_records > 0 {
                println!("Beginning steady state.");
                steady_start = Instant::now();
                steady = Arc::new(Mutex::new(Stats::new()));
            }
            if a.throughput > 0.0 {
                // A steady rate: wait until this record is due.
                let due = start + Duration::from_secs_f64(i as f64 / a.throughput);
                let now = Instant::now();
                if due > now {
                    tokio::time::sleep(due - now).await;
                }
            }
            let value = payloads.next(i);
            let size = value.len();
            let k = (i as usize) % producers.len();
            let p = &producers[k];
            if txn_duration.is_some() && txns[k].0 == 0 {
                p.begin_transaction()?;
                txns[k].1 = Instant::now();
            }
            record.value = Some(value);
            let sent = Instant::now();
            // The record timestamp from the same clock read as the latency start (one
            // clock read per record instead of two).
            record.timestamp = Some(wall_start_ms + sent.duration_since(start).as_millis() as i64);
            let d = p.send(record.clone());
            inflight.push_back((sent, size, i >= a.warmup_records && a.warmup_records > 0, d));
            inflight_bytes += size + 16;
            if let Some(dur) = txn_duration {
                txns[k].0 += 1;
                if sent.duration_since(txns[k].1) >= dur {
                    p.commit_transaction().await.context("commitTransaction failed")?;
                    txns[k].0 = 0;
                }
            }
            while inflight_bytes > pcfg.buffer_memory {
                let (sent, size, st, d) = inflight.pop_front().expect("non-empty");
                inflight_bytes -= size + 16;
                settle(&stats, &steady, st, sent, size, d.acknowledged().await);
            }
            // Settle what is already acknowledged, so latencies and windows stay current.
            while let Some((_, _, _, d)) = inflight.front() {
                if !d.is_done() {
                    break;
                }
                let (sent, size, st, d) = inflight.pop_front().expect("non-empty");
                inflight_bytes -= size + 16;
                settle(&stats, &steady, st, sent, size, d.acknowledged().await);
            }
            if sent.duration_since(last_report) >= Duration::from_millis(a.reporting_interval) {
                last_report = sent;
                let line = stats.lock().expect("stats").window_line();
                match &pb {
                    Some(pb) => pb.println(line),
                    None => println!("{line}"),
                }
            }
            if let Some(pb) = &pb {
                pb.set_position(i + 1);
            }
        }
        for (p, (open, _)) in producers.iter().zip(&txns) {
            if txn_duration.is_some() && *open > 0 {
                p.commit_transaction().await.context("commitTransaction failed")?;
            }
            p.flush().await;
        }
        while let Some((sent, size, st, d)) = inflight.pop_front() {
            settle(&stats, &steady, st, sent, size, d.acknowledged().await);
        }
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
        let elapsed = start.elapsed();
        let errors = {
            let s = stats.lock().expect("stats");
            summary(&s, elapsed, if a.warmup_records > 0 { OutputFormat::Text } else { a.output });
            if a.warmup_records > 0 {
                let st = steady.lock().expect("stats");
                summary(&st, steady_start.elapsed(), a.output);
            }
            s.errors
        };
        for p in producers {
            p.close().await;
        }
        Ok(if errors > 0 { 1 } else { 0 })
    })
}

fn settle(
    stats: &Mutex<Stats>,
    steady: &Mutex<Stats>,
    in_steady: bool,
    sent: Instant,
    size: usize,
    (r, acked): (Result<(), crate::client::ClientError>, Instant),
) {
    match r {
        Ok(()) => {
            // Latency is from send() to acknowledgement, as in Kafka's perf test.
            let lat = acked.saturating_duration_since(sent);
            stats.lock().expect("stats").record(lat, size);
            if in_steady {
                steady.lock().expect("stats").record(lat, size);
            }
        }
        Err(e) => {
            let mut s = stats.lock().expect("stats");
            if s.errors == 0 {
                eprintln!("Error when sending message: {e}");
            }
            s.errors += 1;
        }
    }
}
