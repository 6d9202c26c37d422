//! `rk perf-test`: producer and consumer throughput tests with the output of Kafka's
//! kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh, and an end-to-end latency
//! test; latencies are kept in an HDR histogram.

mod consumer;
mod e2e;
mod producer;

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum PerfTestCommand {
    /// Producer throughput and latency (kafka-producer-perf-test.sh).
    Producer(producer::ProducerPerfArgs),
    /// Consumer throughput (kafka-consumer-perf-test.sh).
    Consumer(consumer::ConsumerPerfArgs),
    /// End-to-end latency: produce one record, consume it, repeat (like Kafka's EndToEndLatency).
    E2e(e2e::E2eArgs),
}

pub fn run(cmd: PerfTestCommand) -> anyhow::Result<i32> {
    match cmd {
        PerfTestCommand::Producer(a) => producer::run(a),
        PerfTestCommand::Consumer(a) => consumer::run(a),
        PerfTestCommand::E2e(a) => e2e::run(a),
    }
}

/// Latency percentiles in ms from a histogram of microseconds.
pub(crate) fn pct_ms(h: &hdrhistogram::Histogram<u64>, q: f64) -> u64 {
    h.value_at_quantile(q) / 1000
}

/// A progress bar on a terminal only (never when stderr is piped).
pub(crate) fn progress(total: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(pb)
}
