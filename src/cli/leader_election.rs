//! `rk leader-election` (kafka-leader-election.sh): preferred or unclean elections for one
//! partition, all partitions, or a JSON file of partitions, printed as Kafka prints them.

use super::common::{ClientArgs, usage_error};
use crate::client::{ClientError, Cluster};
use anyhow::Context;
use clap::{Args, ValueEnum};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ElectionType {
    Preferred,
    Unclean,
}

#[derive(Args, Debug)]
pub struct LeaderElectionArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Admin client properties file (Kafka's --admin.config).
    #[arg(long = "admin.config", value_name = "FILE")]
    pub admin_config: Option<PathBuf>,
    /// Type of election: preferred or unclean.
    #[arg(long, value_enum, ignore_case = true)]
    pub election_type: Option<ElectionType>,
    /// The topic of the partition to elect a leader for (with --partition).
    #[arg(long)]
    pub topic: Option<String>,
    /// The partition to elect a leader for (with --topic).
    #[arg(long)]
    pub partition: Option<i32>,
    /// Elect leaders for every partition.
    #[arg(long)]
    pub all_topic_partitions: bool,
    /// A JSON file: {"partitions":[{"topic":"foo","partition":1},...]}.
    #[arg(long, value_name = "FILE")]
    pub path_to_json_file: Option<PathBuf>,
}

/// Reads the partitions of a --path-to-json-file with Kafka's validation messages.
pub fn parse_partitions_json(text: &str) -> anyhow::Result<Vec<(String, i32)>> {
    let v: serde_json::Value = serde_json::from_str(text).context("invalid JSON in --path-to-json-file")?;
    let parts = v.get("partitions").and_then(|p| p.as_array()).context("Replica election data is missing \"partitions\" field")?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut dups = Vec::new();
    for p in parts {
        let topic = p.get("topic").and_then(|t| t.as_str()).context("partition entry is missing \"topic\"")?;
        let partition = p.get("partition").and_then(|t| t.as_i64()).context("partition entry is missing \"partition\"")? as i32;
        if !seen.insert((topic.to_string(), partition)) {
            dups.push(format!("{topic}-{partition}"));
        }
        out.push((topic.to_string(), partition));
    }
    if !dups.is_empty() {
        anyhow::bail!("Replica election data contains duplicate partitions: {}", dups.join(","));
    }
    Ok(out)
}

pub fn run(a: LeaderElectionArgs) -> anyhow::Result<i32> {
    let Some(election) = a.election_type else {
        return usage_error("Missing required option(s) [election-type]");
    };
    let ways = [a.topic.is_some() || a.partition.is_some(), a.all_topic_partitions, a.path_to_json_file.is_some()];
    if ways.iter().filter(|w| **w).count() != 1 {
        return usage_error("One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file");
    }
    if a.topic.is_some() != a.partition.is_some() {
        return usage_error(if a.topic.is_some() {
            "Missing required option(s) [partition]"
        } else {
            "Missing required option(s) [topic]"
        });
    }
    let partitions: Option<Vec<(String, i32)>> = match (&a.topic, a.partition, &a.path_to_json_file) {
        (Some(t), Some(p), _) => Some(vec![(t.clone(), p)]),
        (_, _, Some(f)) => {
            Some(parse_partitions_json(&std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?)?)
        }
        _ => None,
    };
    let files: Vec<&PathBuf> = a.admin_config.iter().collect();
    let cfg = a.client.config_with("rk-leader-election", &files, &[])?;
    let label = match election {
        ElectionType::Preferred => "PREFERRED",
        ElectionType::Unclean => "UNCLEAN",
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let req = ElectLeadersRequest::default()
            .with_election_type(if election == ElectionType::Preferred { 0 } else { 1 })
            .with_timeout_ms(30_000)
            .with_topic_partitions(partitions.map(|ps| {
                let mut by_topic: std::collections::BTreeMap<String, Vec<i32>> = Default::default();
                for (t, p) in ps {
                    by_topic.entry(t).or_default().push(p);
                }
                by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        elect_leaders_request::TopicPartitions::default()
                            .with_topic(TopicName(StrBytes::from_string(t)))
                            .with_partitions(ps)
                    })
                    .collect()
            }));
        let controller = cluster.metadata().controller;
        let resp = cluster.send((controller >= 0).then_some(controller), &req).await?;
        if resp.error_code != 0 {
            return Err(ClientError::kafka(resp.error_code).into());
        }
        let (mut ok, mut noop, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        let mut results: Vec<(String, i32, i16, Option<String>)> = resp
            .replica_election_results
            .iter()
            .flat_map(|t| {
                t.partition_result
                    .iter()
                    .map(move |p| (t.topic.0.to_string(), p.partition_id, p.error_code, p.error_message.as_ref().map(|m| m.to_string())))
            })
            .collect();
        results.sort();
        for (t, p, c, msg) in results {
            let tp = format!("{t}-{p}");
            match c {
                0 => ok.push(tp),
                c if c == E::ElectionNotNeeded.code() => noop.push(tp),
                c => failed.push((tp, ClientError::kafka_msg(c, msg.as_deref()))),
            }
        }
        if !ok.is_empty() {
            println!("Successfully completed leader election ({label}) for partitions {}", ok.join(", "));
        }
        if !noop.is_empty() {
            println!("Valid replica already elected for partitions {}", noop.join(", "));
        }
        if !failed.is_empty() {
            for (tp, e) in &failed {
                println!("Error completing leader election ({label}) for partition: {tp}: {e}");
            }
            eprintln!("{} replica(s) could not be elected", failed.len());
            return Ok(1);
        }
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_file_validation() {
        let p = parse_partitions_json(r#"{"partitions":[{"topic":"a","partition":1},{"topic":"b","partition":0}]}"#).unwrap();
        assert_eq!(p, vec![("a".to_string(), 1), ("b".to_string(), 0)]);
        let e = parse_partitions_json(r#"{"partitions":[{"topic":"a","partition":1},{"topic":"a","partition":1}]}"#).unwrap_err();
        assert_eq!(e.to_string(), "Replica election data contains duplicate partitions: a-1");
        let e = parse_partitions_json(r#"{"x":[]}"#).unwrap_err();
        assert_eq!(e.to_string(), "Replica election data is missing \"partitions\" field");
    }
}
