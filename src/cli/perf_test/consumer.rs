//! `rk perf-test consumer`: consumes N records as a group member and prints Kafka's
//! consumer-perf-test CSV header and rows.

use crate::cli::common::{ClientArgs, usage_error};
use crate::client::Cluster;
use crate::client::config::read_properties;
use crate::client::consumer::{Consumer, ConsumerConfig};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
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
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let mut consumer = Consumer::new(cluster, ccfg);
        consumer.subscribe(vec![a.topic.clone()])?;
        let header = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
        let detailed_header = "time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
        if !a.hide_header {
            println!("{}", if a.show_detailed_stats { detailed_header } else { header });
        }
        let start_wall = chrono::Local::now();
        let start = Instant::now();
        let mut rebalance_ms: Option<u128> = None;
        let (mut count, mut bytes) = (0u64, 0u64);
        let mut last_record = Instant::now();
        let (mut win_start, mut win_count, mut win_bytes) = (Instant::now(), 0u64, 0u64);
        let mut timed_out = false;
        while count < a.messages {
            let recs = consumer.poll(Duration::from_millis(100)).await?;
            if rebalance_ms.is_none() && !consumer.assignment().is_empty() {
                rebalance_ms = Some(start.elapsed().as_millis());
                last_record = Instant::now();
            }
            for r in recs.iter().take((a.messages - count) as usize) {
                let n = (r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len())) as u64;
                count += 1;
                bytes += n;
                win_count += 1;
                win_bytes += n;
            }
            if !recs.is_empty() {
                last_record = Instant::now();
            }
            if last_record.elapsed() >= Duration::from_millis(a.timeout) {
                timed_out = true;
                break;
            }
            if a.show_detailed_stats && win_start.elapsed() >= Duration::from_millis(a.reporting_interval) {
                let secs = win_start.elapsed().as_secs_f64();
                println!(
                    "{}, 0, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}",
                    fmt_time(chrono::Local::now(), &a.date_format),
                    bytes as f64 / MB,
                    win_bytes as f64 / MB / secs,
                    count,
                    win_count as f64 / secs,
                    0,
                    (secs * 1000.0) as u64,
                    win_bytes as f64 / MB / secs,
                    win_count as f64 / secs
                );
                (win_start, win_count, win_bytes) = (Instant::now(), 0, 0);
            }
        }
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
        let _ = consumer.close().await;
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
