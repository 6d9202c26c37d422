//! `rk perf-test e2e`: end-to-end latency. A producer sends records at a fixed rate with
//! its send time inside the payload; a consumer in the same process reads them and
//! records now - send time in an HDR histogram.

use crate::cli::common::{ClientArgs, OutputFormat, usage_error};
use crate::client::Cluster;
use crate::client::admin::{Admin, OffsetSpec};
use crate::client::consumer::{Consumer, ConsumerConfig, StartAt};
use crate::client::producer::{Producer, ProducerConfig, ProducerRecord};
use anyhow::Context;
use bytes::{BufMut, Bytes, BytesMut};
use clap::Args;
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct E2eArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Topic to use (created beforehand).
    #[arg(long)]
    pub topic: String,
    /// Number of records.
    #[arg(long, default_value_t = 10000)]
    pub num_records: u64,
    /// Record size in bytes (at least 16).
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Producer acks: -1/all, 0 or 1.
    #[arg(long, default_value = "1")]
    pub acks: String,
    /// Records per second (0: one at a time, each after the previous arrived).
    #[arg(long, default_value_t = 1000.0)]
    pub throughput: f64,
    /// Give up after this many milliseconds without a record.
    #[arg(long, default_value_t = 10000)]
    pub timeout: u64,
    /// `json` adds one JSON summary object as the last line.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

pub fn run(a: E2eArgs) -> anyhow::Result<i32> {
    if a.record_size < 16 {
        return usage_error("--record-size must be at least 16 bytes (the send time is carried in the record)");
    }
    let cfg = a.client.config_with("rk-e2e-latency", &[], &[format!("acks={}", a.acks), "linger.ms=0".into()])?;
    let pcfg = ProducerConfig::from_props(&cfg.props).map_err(anyhow::Error::msg)?;
    let mut ccfg = ConsumerConfig::from_props(&Default::default()).map_err(anyhow::Error::msg)?;
    ccfg.fetch_max_wait = Duration::from_millis(100);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg.clone()).await.context("cannot reach the cluster")?;
        let topic = cluster.refresh(Some(std::slice::from_ref(&a.topic))).await?.topics.get(&a.topic).filter(|t| t.error == 0).cloned();
        let Some(topic) = topic else { anyhow::bail!("Topic '{}' does not exist (create it first)", a.topic) };
        let parts: Vec<i32> = topic.partitions.iter().map(|p| p.index).collect();
        // The consumer gets its own connections so its long polls never delay produces.
        let ccluster = Cluster::connect(cfg).await?;
        let ends = Admin::new(ccluster.clone()).list_offsets(&a.topic, &parts, OffsetSpec::Latest).await?;
        let mut consumer = Consumer::new(ccluster, ccfg);
        consumer
            .assign(
                ends.into_iter()
                    .map(|(p, r)| Ok((a.topic.clone(), p, StartAt::Offset(r?.0))))
                    .collect::<Result<Vec<_>, crate::client::ClientError>>()?,
            )
            .await?;
        let producer = Producer::new(cluster, pcfg).await?;
        let origin = Instant::now();
        let n = a.num_records;
        let rate = a.throughput;
        let topic_name = a.topic.clone();
        let size = a.record_size;
        let sender = tokio::spawn(async move {
            for i in 0..n {
                if rate > 0.0 {
                    let due = origin + Duration::from_secs_f64(i as f64 / rate);
                    let now = Instant::now();
                    if due > now {
                        tokio::time::sleep(due - now).await;
                    }
                }
                let mut v = BytesMut::with_capacity(size);
                v.put_u64(origin.elapsed().as_nanos() as u64);
                v.put_u64(i);
                v.resize(size, b'x');
                let d = producer.send(ProducerRecord { topic: topic_name.clone(), value: Some(v.freeze()), ..Default::default() });
                if rate <= 0.0 {
                    let _ = d.wait().await;
                }
            }
            producer.close().await;
        });
        let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds");
        let mut last = Instant::now();
        let mut received = 0u64;
        while received < n && last.elapsed() < Duration::from_millis(a.timeout) {
            for r in consumer.poll(Duration::from_millis(100)).await? {
                let v: Bytes = r.value.unwrap_or_default();
                if v.len() < 16 {
                    continue;
                }
                let sent_ns = u64::from_be_bytes(v[0..8].try_into().expect("8 bytes"));
                let lat_us = (origin.elapsed().as_nanos() as u64).saturating_sub(sent_ns) / 1000;
                let _ = hist.record(lat_us.max(1));
                received += 1;
                last = Instant::now();
            }
        }
        let _ = sender.await;
        if received < n {
            eprintln!("WARNING: received {received} of {n} records before the timeout");
        }
        let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
        println!("Avg latency: {:.4} ms", hist.mean() / 1000.0);
        println!("Percentiles: 50th = {}, 99th = {}, 99.9th = {}", ms(0.5) as u64, ms(0.99) as u64, ms(0.999) as u64);
        if a.output == OutputFormat::Json {
            let j = serde_json::json!({
                "records": received, "records_per_sec": rate, "mb_per_sec": rate * size as f64 / (1024.0 * 1024.0),
                "avg_latency_ms": hist.mean() / 1000.0, "max_latency_ms": hist.max() as f64 / 1000.0,
                "p50_ms": ms(0.5), "p95_ms": ms(0.95), "p99_ms": ms(0.99), "p999_ms": ms(0.999),
            });
            println!("{j}");
        }
        Ok(if received < n { 1 } else { 0 })
    })
}
