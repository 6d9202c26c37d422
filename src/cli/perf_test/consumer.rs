//! `rk perf-test consumer`: consumes N records as a group member and prints Kafka's
//! consumer-perf-test CSV header and rows.

use crate::cli::common::{ClientArgs, usage_error};
use crate::client::Cluster;
use crate::client::config::read_properties;
use crate::client::consumer::{Consumer, ConsumerConfig};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct ConsumerPerfArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Topic to consume.
    #[arg(long)]
    pub topic: String,
    /// Number of records to consume.
    #[arg(long, visible_alias = "num-records")]
    pub messages: u64,
    /// Consumer group (default perf-consumer-<random>).
    #[arg(long)]
    pub group: Option<String>,
    /// Start from the latest offset instead of the earliest.
    #[arg(long)]
    pub from_latest: bool,
    /// max.partition.fetch.bytes.
    #[arg(long, default_value_t = 1048576)]
    pub fetch_size: i32,
    /// Accepted for compatibility.
    #[arg(long, hide = true)]
    pub socket_buffer_size: Option<u64>,
    /// Consumer properties file.
    #[arg(long = "consumer.config", value_name = "FILE")]
    pub consumer_config: Option<PathBuf>,
    /// Maximum time between records in milliseconds before giving up.
    #[arg(long, default_value_t = 10000)]
    pub timeout: u64,
    /// Print a row per reporting interval instead of one summary.
    #[arg(long)]
    pub show_detailed_stats: bool,
    /// Milliseconds between detailed rows.
    #[arg(long, default_value_t = 5000)]
    pub reporting_interval: u64,
    /// Date format of start/end times (Java SimpleDateFormat subset).
    #[arg(long, default_value = "yyyy-MM-dd HH:mm:ss:SSS")]
    pub date_format: String,
    /// Do not print the header.
    #[arg(long)]
    pub hide_header: bool,
    /// Accepted for compatibility (rk prints no client metrics yet).
    #[arg(long)]
    pub print_metrics: bool,
    /// Number of consumers (one group) sharing the partitions in this process.
    #[arg(long, default_value_t = 1)]
    pub consumers: usize,
}

/// Counters shared by the consumer tasks.
struct Shared {
    count: AtomicU64,
    bytes: AtomicU64,
    assigned_at_ms: AtomicU64,
    last_record_ms: AtomicU64,
    stop: AtomicBool,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            count: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            assigned_at_ms: AtomicU64::new(u64::MAX),
            last_record_ms: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        }
    }
}

/// Converts the common Java SimpleDateFormat letters to chrono's format.
fn java_date_format(f: &str) -> String {
    f.replace("yyyy", "%Y")
        .replace("MM", "%m")
        .replace("dd", "%d")
        .replace("HH", "%H")
        .replace("mm", "%M")
        .replace("ss", "%S")
        .replace("SSS", "%3f")
}

fn fmt_time(t: chrono::DateTime<chrono::Local>, f: &str) -> String {
    t.format(&java_date_format(f)).to_string()
}

const MB: f64 = 1024.0 * 1024.0;

pub fn run(a: ConsumerPerfArgs) -> anyhow::Result<i32> {
    if a.messages == 0 {
        return usage_error("--messages should be greater than zero");
    }
    let mut props: Vec<(String, String)> = Vec::new();
    if let Some(f) = &a.consumer_config {
        props.extend(read_properties(f).map_err(anyhow::Error::msg)?);
    }
    let group = a.group.clone().unwrap_or_else(|| format!("perf-consumer-{}", rand::random_range(0..100_000)));
    props.push(("group.id".into(), group));
    props.push(("auto.offset.reset".into(), if a.from_latest { "latest" } else { "earliest" }.into()));
    props.push(("max.partition.fetch.bytes".into(), a.fetch_size.to_string()));
    if !props.iter().any(|(k, _)| k == "enable.auto.commit") {
        props.push(("enable.auto.commit".into(), "false".into()));
    }
    let cfg = a.client.config_with("perf-consumer-client", &[], &props.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>())?;
    let ccfg = ConsumerConfig::from_props(&cfg.props).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let header = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
        let detailed_header = "time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
        if !a.hide_header {
            println!("{}", if a.show_detailed_stats { detailed_header } else { header });
        }
        let start_wall = chrono::Local::now();
        let start = Instant::now();
        let shared = Arc::new(Shared::default());
        // Several consumers in one group share the partitions (--consumers N).
        let mut tasks = Vec::new();
        for i in 0..a.consumers.max(1) {
            // Each consumer gets its own connections, as separate clients would: a JoinGroup
            // waiting for the rebalance must not hold up the other members' requests.
            let own = if i == 0 { cluster.clone() } else { Cluster::connect(cluster.cfg.clone()).await? };
            let mut consumer = Consumer::new(own, ccfg.clone());
            consumer.subscribe(vec![a.topic.clone()])?;
            let shared = shared.clone();
            let limit = a.messages;
            tasks.push(tokio::spawn(async move {
                while !shared.stop.load(Ordering::Relaxed) {
                    let recs = match consumer.poll(Duration::from_millis(100)).await {
                        Ok(r) => r,
                        Err(e) => {
                            eprintln!("consumer error: {e}");
                            break;
                        }
                    };
                    if !consumer.assignment().is_empty() {
                        shared.assigned_at_ms.fetch_min(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                    }
                    for r in &recs {
                        if shared.count.fetch_add(1, Ordering::Relaxed) >= limit {
                            break;
                        }
                        let n = (r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len())) as u64;
                        shared.bytes.fetch_add(n, Ordering::Relaxed);
                    }
                    if !recs.is_empty() {
                        shared.last_record_ms.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                    }
                }
                let _ = consumer.close().await;
            }));
        }
        let (mut win_start, mut win_count, mut win_bytes) = (Instant::now(), 0u64, 0u64);
        let mut timed_out = false;
        let (count, bytes) = loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let count = shared.count.load(Ordering::Relaxed).min(a.messages);
            let bytes = shared.bytes.load(Ordering::Relaxed);
            if count >= a.messages {
                break (count, bytes);
            }
            let assigned = shared.assigned_at_ms.load(Ordering::Relaxed);
            let last = shared.last_record_ms.load(Ordering::Relaxed).max(if assigned == u64::MAX { 0 } else { assigned });
            if assigned != u64::MAX && start.elapsed().as_millis() as u64 >= last + a.timeout {
                timed_out = true;
                break (count, bytes);
            }
            if a.show_detailed_stats && win_start.elapsed() >= Duration::from_millis(a.reporting_interval) {
                let secs = win_start.elapsed().as_secs_f64();
                let (dc, db) = (count - win_count, bytes - win_bytes);
                println!(
                    "{}, 0, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}",
                    fmt_time(chrono::Local::now(), &a.date_format),
                    bytes as f64 / MB,
                    db as f64 / MB / secs,
                    count,
                    dc as f64 / secs,
                    0,
                    (secs * 1000.0) as u64,
                    db as f64 / MB / secs,
                    dc as f64 / secs
                );
                (win_start, win_count, win_bytes) = (Instant::now(), count, bytes);
            }
        };
        shared.stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let assigned = shared.assigned_at_ms.load(Ordering::Relaxed);
        let rebalance_ms: Option<u128> = (assigned != u64::MAX).then_some(assigned as u128);
        let elapsed = start.elapsed().as_secs_f64().max(1e-9);
        let reb = rebalance_ms.unwrap_or(0);
        let fetch_secs = (elapsed - reb as f64 / 1000.0).max(1e-9);
        if timed_out {
            println!(
                "WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded. You can use the --timeout option to increase the timeout.",
                a.timeout
            );
        }
        if !a.show_detailed_stats {
            println!(
                "{}, {}, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}",
                fmt_time(start_wall, &a.date_format),
                fmt_time(chrono::Local::now(), &a.date_format),
                bytes as f64 / MB,
                bytes as f64 / MB / elapsed,
                count,
                count as f64 / elapsed,
                reb,
                (fetch_secs * 1000.0) as u64,
                bytes as f64 / MB / fetch_secs,
                count as f64 / fetch_secs
            );
        }
        // Like Kafka: running out of records is reported, not an error.
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn java_date_formats() {
        assert_eq!(super::java_date_format("yyyy-MM-dd HH:mm:ss:SSS"), "%Y-%m-%d %H:%M:%S:%3f");
    }
}
