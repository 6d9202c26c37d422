//! `rk topics` (kafka-topics.sh): create, list, describe, alter and delete topics with
//! Kafka's flags and exact output text; `--output json` for scripts.

use super::common::{ClientArgs, OutputFormat, usage_error};
use crate::client::admin::{Admin, NewTopic};
use crate::client::cluster::TopicMeta;
use crate::client::{ClientError, Cluster};
use anyhow::{Context, bail};
use clap::Args;
use kafka_protocol::error::ResponseError as E;
use regex::Regex;
use std::collections::BTreeMap;

#[derive(Args, Debug)]
pub struct TopicsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// List all available topics.
    #[arg(long)]
    pub list: bool,
    /// List details for the given topics.
    #[arg(long)]
    pub describe: bool,
    /// Create a new topic.
    #[arg(long)]
    pub create: bool,
    /// Alter the number of partitions and replica assignment.
    #[arg(long)]
    pub alter: bool,
    /// Delete a topic.
    #[arg(long)]
    pub delete: bool,
    /// The topic to create, alter, describe or delete. A regular expression except with
    /// --create (Kafka's semantics: '.' matches any character).
    #[arg(long)]
    pub topic: Option<String>,
    /// The topic id to describe (Kafka's base64 form).
    #[arg(long)]
    pub topic_id: Option<String>,
    /// The number of partitions for the topic being created or altered.
    #[arg(long)]
    pub partitions: Option<i32>,
    /// The replication factor for each partition of the topic being created.
    #[arg(long)]
    pub replication_factor: Option<i32>,
    /// Manual partition-to-broker assignments: "b1:b2,b3:b4" (comma = partition,
    /// colon = replica).
    #[arg(long)]
    pub replica_assignment: Option<String>,
    /// A topic configuration override for the topic being created: name=value (repeatable).
    #[arg(long = "config", value_name = "NAME=VALUE")]
    pub configs: Vec<String>,
    /// Deprecated in Kafka 4.0: ignored with a warning.
    #[arg(long = "delete-config", value_name = "NAME")]
    pub delete_configs: Vec<String>,
    /// Only act if the topic exists (alter, delete, describe).
    #[arg(long)]
    pub if_exists: bool,
    /// Only create the topic if it does not exist yet.
    #[arg(long)]
    pub if_not_exists: bool,
    /// Exclude internal topics when listing or describing.
    #[arg(long)]
    pub exclude_internal: bool,
    /// Only show under-replicated partitions.
    #[arg(long)]
    pub under_replicated_partitions: bool,
    /// Only show partitions whose ISR count is below min.insync.replicas.
    #[arg(long)]
    pub under_min_isr_partitions: bool,
    /// Only show partitions whose ISR count equals min.insync.replicas.
    #[arg(long)]
    pub at_min_isr_partitions: bool,
    /// Only show partitions whose leader is not available.
    #[arg(long)]
    pub unavailable_partitions: bool,
    /// Only show topics that have configs overridden.
    #[arg(long)]
    pub topics_with_overrides: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

fn topic_id_string(id: &uuid::Uuid) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn join(v: &[i32]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

/// Parses --replica-assignment with Kafka's validation messages.
pub fn parse_assignment(s: &str) -> anyhow::Result<BTreeMap<i32, Vec<i32>>> {
    let mut out = BTreeMap::new();
    let mut rf = None;
    for (i, part) in s.split(',').enumerate() {
        let replicas: Vec<i32> = part
            .split(':')
            .map(|b| b.trim().parse::<i32>().with_context(|| format!("Invalid broker id '{b}' in --replica-assignment")))
            .collect::<anyhow::Result<_>>()?;
        let mut seen = replicas.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != replicas.len() {
            bail!("Partition replica lists may not contain duplicate entries: {}", join(&replicas));
        }
        if let Some(r) = rf
            && r != replicas.len()
        {
            bail!("Partition {i} has different replication factor: [{}]", join(&replicas));
        }
        rf = Some(replicas.len());
        out.insert(i as i32, replicas);
    }
    Ok(out)
}

impl TopicsArgs {
    fn action_count(&self) -> usize {
        [self.list, self.describe, self.create, self.alter, self.delete].iter().filter(|b| **b).count()
    }

    fn matcher(&self) -> anyhow::Result<Option<Regex>> {
        match &self.topic {
            // Kafka's IncludeList is a Java regex matched against the whole name.
            Some(t) => Ok(Some(Regex::new(&format!("^(?:{t})$")).with_context(|| format!("invalid topic regex '{t}'"))?)),
            None => Ok(None),
        }
    }
}

pub fn run(a: TopicsArgs) -> anyhow::Result<i32> {
    if a.action_count() != 1 {
        return usage_error("Command must include exactly one action: --list, --describe, --create, --alter or --delete");
    }
    if (a.create || a.alter || a.delete) && a.topic.is_none() {
        return usage_error("Missing required argument \"[topic]\"");
    }
    if a.alter && !a.configs.is_empty() {
        return usage_error(
            "Option combination \"[bootstrap-server, config]\" can't be used with option \"[alter]\" (To alter topic configurations, the kafka-configs tool can be used.)",
        );
    }
    if a.create && a.replica_assignment.is_some() && (a.partitions.is_some() || a.replication_factor.is_some()) {
        return usage_error("Option \"[replica-assignment]\" can't be used with option \"[partitions]\" or \"[replication-factor]\"");
    }
    if let Some(p) = a.partitions
        && p <= 0
    {
        return usage_error("The partitions must be greater than 0");
    }
    if let Some(rf) = a.replication_factor
        && !(1..=32767).contains(&rf)
    {
        return usage_error("The replication factor must be between 1 and 32767 inclusive");
    }
    if a.alter && a.partitions.is_none() {
        return usage_error("Missing required argument \"[partitions]\"");
    }
    for c in &a.delete_configs {
        eprintln!("WARNING: --delete-config is deprecated and ignored ({c}); use kafka-configs to change topic configs.");
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cfg = a.client.config("rk-topics")?;
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let admin = Admin::new(cluster);
        match run_action(&admin, &a).await {
            Ok(code) => Ok(code),
            Err(e) => {
                eprintln!("Error while executing topic command : {e:#}");
                Ok(1)
            }
        }
    })
}

async fn run_action(admin: &Admin, a: &TopicsArgs) -> anyhow::Result<i32> {
    if a.create {
        return create(admin, a).await;
    }
    let include_internal = !a.exclude_internal;
    let all = admin.describe_topics().await?;
    let matcher = a.matcher()?;
    let mut topics: Vec<TopicMeta> = all
        .into_iter()
        .filter(|t| include_internal || !t.internal)
        .filter(|t| matcher.as_ref().is_none_or(|m| m.is_match(&t.name)))
        .collect();
    if let Some(id) = &a.topic_id {
        topics.retain(|t| topic_id_string(&t.id) == *id);
        if topics.is_empty() && !a.if_exists {
            bail!("TopicId '{id}' does not exist as expected");
        }
    }
    if let Some(t) = &a.topic
        && topics.is_empty()
        && !a.if_exists
        && !a.list
    {
        bail!("Topic '{t}' does not exist as expected");
    }
    if a.list {
        let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
        match a.output {
            OutputFormat::Json => println!("{}", serde_json::to_string(&names)?),
            OutputFormat::Text => {
                for n in names {
                    println!("{n}");
                }
            }
        }
        return Ok(0);
    }
    if a.delete {
        for t in &topics {
            if t.internal {
                bail!("Topic {} is a kafka internal topic and is not allowed to be marked for deletion.", t.name);
            }
            admin.delete_topic(&t.name).await?;
        }
        return Ok(0);
    }
    if a.alter {
        let count = a.partitions.expect("checked above");
        let assignment = a.replica_assignment.as_deref().map(parse_assignment).transpose()?;
        for t in &topics {
            let current = t.partitions.len() as i32;
            let extra = assignment.as_ref().map(|m| m.iter().filter(|(p, _)| **p >= current).map(|(_, r)| r.clone()).collect::<Vec<_>>());
            admin.create_partitions(&t.name, count, extra).await?;
        }
        return Ok(0);
    }
    describe(admin, a, topics).await
}

async fn create(admin: &Admin, a: &TopicsArgs) -> anyhow::Result<i32> {
    let name = a.topic.clone().expect("checked above");
    let mut configs = Vec::new();
    for c in &a.configs {
        let (k, v) = c
            .split_once('=')
            .with_context(|| format!("Invalid topic config: all configs to be added must be in the format \"key=val\": {c}"))?;
        configs.push((k.trim().to_string(), v.trim().to_string()));
    }
    let topic = NewTopic {
        name: name.clone(),
        partitions: a.partitions.unwrap_or(-1),
        replication_factor: a.replication_factor.map(|r| r as i16).unwrap_or(-1),
        assignment: a.replica_assignment.as_deref().map(parse_assignment).transpose()?,
        configs,
    };
    if name.contains('.') || name.contains('_') {
        println!(
            "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both."
        );
    }
    match admin.create_topic(&topic, false).await {
        Ok(()) => println!("Created topic {name}."),
        Err(ClientError::Kafka { code, .. }) if a.if_not_exists && code == E::TopicAlreadyExists.code() => {}
        Err(e) => return Err(e.into()),
    }
    Ok(0)
}

struct PartitionView<'a> {
    topic: &'a TopicMeta,
    partition: &'a crate::client::cluster::PartitionMeta,
}

async fn describe(admin: &Admin, a: &TopicsArgs, topics: Vec<TopicMeta>) -> anyhow::Result<i32> {
    let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    let configs = admin.describe_topic_configs(&names).await?;
    let brokers = admin.cluster.metadata().brokers;
    let report_filter = a.under_replicated_partitions || a.under_min_isr_partitions || a.at_min_isr_partitions || a.unavailable_partitions;
    let mut json = Vec::new();
    for (t, cfg) in topics.iter().zip(configs) {
        let entries = cfg?;
        let overrides: Vec<(String, String)> =
            entries.iter().filter(|e| !e.is_default()).map(|e| (e.name.clone(), e.value.clone().unwrap_or_default())).collect();
        let min_isr: usize =
            entries.iter().find(|e| e.name == "min.insync.replicas").and_then(|e| e.value.as_ref()?.parse().ok()).unwrap_or(1);
        if a.topics_with_overrides && overrides.is_empty() {
            continue;
        }
        let rf = t.partitions.first().map(|p| p.replicas.len()).unwrap_or(0);
        let selected: Vec<PartitionView> = t
            .partitions
            .iter()
            .filter(|p| {
                let leader_live = p.leader >= 0 && brokers.contains_key(&p.leader);
                (!a.under_replicated_partitions || p.isr.len() < p.replicas.len())
                    && (!a.under_min_isr_partitions || p.leader < 0 || p.isr.len() < min_isr)
                    && (!a.at_min_isr_partitions || p.isr.len() == min_isr)
                    && (!a.unavailable_partitions || !leader_live)
            })
            .map(|p| PartitionView { topic: t, partition: p })
            .collect();
        if a.output == OutputFormat::Json {
            json.push(serde_json::json!({
                "topic": t.name,
                "topic_id": topic_id_string(&t.id),
                "internal": t.internal,
                "partition_count": t.partitions.len(),
                "replication_factor": rf,
                "configs": overrides.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                "partitions": selected.iter().map(|v| serde_json::json!({
                    "partition": v.partition.index,
                    "leader": (v.partition.leader >= 0).then_some(v.partition.leader),
                    "leader_epoch": v.partition.leader_epoch,
                    "replicas": v.partition.replicas,
                    "isr": v.partition.isr,
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        if !report_filter {
            let id = if t.id.is_nil() { String::new() } else { format!("\tTopicId: {}", topic_id_string(&t.id)) };
            let cfgs = overrides.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            println!("Topic: {}{id}\tPartitionCount: {}\tReplicationFactor: {rf}\tConfigs: {cfgs}", t.name, t.partitions.len());
        }
        if a.topics_with_overrides {
            continue;
        }
        for v in selected {
            let p = v.partition;
            let leader = if p.leader >= 0 { p.leader.to_string() } else { "none".into() };
            println!(
                "\tTopic: {}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}\tElr: N/A\tLastKnownElr: N/A",
                v.topic.name,
                p.index,
                join(&p.replicas),
                join(&p.isr)
            );
        }
    }
    if a.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_assignment_parsing() {
        let a = parse_assignment("1:2,2:3").unwrap();
        assert_eq!(a[&0], vec![1, 2]);
        assert_eq!(a[&1], vec![2, 3]);
        let e = parse_assignment("1:1").unwrap_err().to_string();
        assert_eq!(e, "Partition replica lists may not contain duplicate entries: 1,1");
        let e = parse_assignment("1:2,3").unwrap_err().to_string();
        assert_eq!(e, "Partition 1 has different replication factor: [3]");
    }
}
