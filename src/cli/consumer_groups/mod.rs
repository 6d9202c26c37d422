//! `rk consumer-groups` (kafka-consumer-groups.sh): list, describe (offsets, members,
//! state), reset offsets, delete groups and delete offsets, with Kafka's printf layouts —
//! but errors go to stderr with a non-zero exit.

mod describe;
pub(crate) mod reset;

pub(crate) use super::common::usage_error;
use super::common::{ClientArgs, OutputFormat};
use crate::client::Cluster;
use crate::client::admin::Admin;
use anyhow::Context;
use clap::Args;
use kafka_protocol::error::ResponseError as E;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ConsumerGroupsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// List all consumer groups.
    #[arg(long)]
    pub list: bool,
    /// Describe consumer groups and their lag.
    #[arg(long)]
    pub describe: bool,
    /// Delete consumer groups.
    #[arg(long)]
    pub delete: bool,
    /// Reset the committed offsets of consumer groups.
    #[arg(long)]
    pub reset_offsets: bool,
    /// Delete committed offsets of a group for topics/partitions.
    #[arg(long)]
    pub delete_offsets: bool,
    /// The consumer group (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Apply to all consumer groups.
    #[arg(long)]
    pub all_groups: bool,
    /// Topic scope: topic or topic:0,1,2 (repeatable).
    #[arg(long = "topic", value_name = "TOPIC[:PARTITIONS]")]
    pub topics: Vec<String>,
    /// Reset scope: every topic the group has committed offsets for.
    #[arg(long)]
    pub all_topics: bool,
    /// Describe view: committed offsets and lag (default).
    #[arg(long)]
    pub offsets: bool,
    /// Describe view: members.
    #[arg(long)]
    pub members: bool,
    /// Describe view: group state; with --list, filter by states (comma-separated).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "STATES")]
    pub state: Option<String>,
    /// With --list, filter by group type (classic, consumer).
    #[arg(long = "type", num_args = 0..=1, default_missing_value = "", value_name = "TYPES")]
    pub group_type: Option<String>,
    /// More detail (member assignments; log start offset and total lag in the offsets view).
    #[arg(long)]
    pub verbose: bool,
    /// Print the reset plan only (the default).
    #[arg(long)]
    pub dry_run: bool,
    /// Perform the reset.
    #[arg(long)]
    pub execute: bool,
    /// Print the reset plan as CSV (readable by --from-file).
    #[arg(long)]
    pub export: bool,
    /// Reset to the earliest offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// Reset to the latest offset.
    #[arg(long)]
    pub to_latest: bool,
    /// Reset to the current committed offset (log end where none).
    #[arg(long)]
    pub to_current: bool,
    /// Reset to this offset.
    #[arg(long, allow_hyphen_values = true)]
    pub to_offset: Option<i64>,
    /// Shift the current offset by N (may be negative).
    #[arg(long, allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Reset to the first offset at or after 'YYYY-MM-DDTHH:mm:SS.sss[Z|+HH:mm]'.
    #[arg(long)]
    pub to_datetime: Option<String>,
    /// Reset to the offset by duration from now: PnDTnHnMnS.
    #[arg(long)]
    pub by_duration: Option<String>,
    /// Reset to the offsets in a CSV file (topic,partition,offset or group,topic,partition,offset).
    #[arg(long)]
    pub from_file: Option<PathBuf>,
    /// Admin call timeout in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout: u64,
    /// Output format for --list and --describe.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Kafka's exception text for a group error code, as the Java tool prints it.
pub(crate) fn exception(code: i16) -> String {
    let known = |name: &str, msg: &str| format!("org.apache.kafka.common.errors.{name}: {msg}");
    match E::try_from_code(code) {
        Some(E::NonEmptyGroup) => known("GroupNotEmptyException", "The group is not empty."),
        Some(E::GroupIdNotFound) => known("GroupIdNotFoundException", "The group id does not exist."),
        Some(E::GroupSubscribedToTopic) => {
            known("GroupSubscribedToTopicException", "The consumer group is actively subscribed to the topic")
        }
        Some(E::UnknownTopicOrPartition) => known("UnknownTopicOrPartitionException", "This server does not host this topic-partition."),
        Some(e) => format!("{e}"),
        None => "no error".into(),
    }
}

/// Parses --topic entries: "t" or "t:0,1,2".
pub(crate) fn parse_topic_scopes(items: &[String]) -> anyhow::Result<Vec<(String, Option<Vec<i32>>)>> {
    items
        .iter()
        .map(|s| match s.split_once(':') {
            None => Ok((s.clone(), None)),
            Some((t, ps)) => {
                let parts = ps
                    .split(',')
                    .map(|p| p.trim().parse::<i32>().with_context(|| format!("invalid partition '{p}' in --topic {s}")))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok((t.to_string(), Some(parts)))
            }
        })
        .collect()
}

pub fn run(a: ConsumerGroupsArgs) -> anyhow::Result<i32> {
    let actions = [a.list, a.describe, a.delete, a.reset_offsets, a.delete_offsets].iter().filter(|x| **x).count();
    if actions != 1 {
        return usage_error("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets");
    }
    if (a.describe || a.delete || a.reset_offsets) && a.groups.is_empty() && !a.all_groups {
        return usage_error("Option [describe|delete|reset-offsets] takes one of these options: [all-groups], [group]");
    }
    if a.delete_offsets && (a.groups.len() != 1 || a.topics.is_empty()) {
        return usage_error("Option [delete-offsets] takes the following options: [group], [topic]");
    }
    if a.delete && !a.topics.is_empty() {
        return usage_error("Option [delete] doesn't take the [topic] option");
    }
    if a.describe && [a.offsets, a.members, a.state.is_some()].iter().filter(|x| **x).count() > 1 {
        return usage_error("Option [describe] takes at most one of these options: [members], [offsets], [state]");
    }
    if a.describe && a.state.as_deref().is_some_and(|s| !s.is_empty()) {
        return usage_error("Option [describe] does not take a value for [state]");
    }
    if a.dry_run && a.execute {
        return usage_error("Option [reset-offsets] only accepts one of [execute], [dry-run]");
    }
    let mut cfg = a.client.config("rk-consumer-groups")?;
    cfg.request_timeout = std::time::Duration::from_millis(a.timeout.max(1000));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let admin = Admin::new(cluster);
        let groups =
            if a.all_groups { admin.list_groups(&[], &[]).await?.into_iter().map(|g| g.group_id).collect() } else { a.groups.clone() };
        if a.list {
            list(&admin, &a).await
        } else if a.describe {
            describe::run(&admin, &a, &groups).await
        } else if a.reset_offsets {
            reset::run(&admin, &a, &groups).await
        } else if a.delete {
            delete(&admin, &groups).await
        } else {
            delete_offsets(&admin, &a).await
        }
    })
}

fn split_list(s: &Option<String>) -> Option<Vec<String>> {
    s.as_ref().map(|v| v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
}

async fn list(admin: &Admin, a: &ConsumerGroupsArgs) -> anyhow::Result<i32> {
    let states = split_list(&a.state);
    let types = split_list(&a.group_type);
    let valid_states = ["stable", "empty", "preparingrebalance", "completingrebalance", "dead", "assigning", "reconciling"];
    for s in states.iter().flatten() {
        if !valid_states.contains(&s.to_ascii_lowercase().as_str()) {
            return usage_error(&format!(
                "Invalid state list '{s}'. Valid states are: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, Assigning, Reconciling"
            ));
        }
    }
    let groups = admin.list_groups(states.as_deref().unwrap_or_default(), types.as_deref().unwrap_or_default()).await?;
    let groups: Vec<_> = groups
        .into_iter()
        // As kafka-consumer-groups.sh (ListGroupsOptions.forConsumerGroups): share groups
        // are not consumer groups.
        .filter(|g| g.group_type != "share")
        .filter(|g| states.as_ref().is_none_or(|s| s.is_empty() || s.iter().any(|x| x.eq_ignore_ascii_case(&g.state))))
        .filter(|g| types.as_ref().is_none_or(|t| t.is_empty() || t.iter().any(|x| x.eq_ignore_ascii_case(&g.group_type))))
        .collect();
    if a.output == OutputFormat::Json {
        let v: Vec<_> = groups
            .iter()
            .map(|g| serde_json::json!({"group": g.group_id, "state": g.state, "type": g.group_type, "protocol_type": g.protocol_type}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    if states.is_none() && types.is_none() {
        for g in &groups {
            println!("{}", g.group_id);
        }
        return Ok(0);
    }
    let width = groups.iter().map(|g| g.group_id.len()).max().unwrap_or(0).max(15) + 10;
    let mut header = format!("{:<width$}", "GROUP");
    if types.is_some() {
        header.push_str(&format!(" {:<20}", "TYPE"));
    }
    if states.is_some() {
        header.push_str(&format!(" {:<20}", "STATE"));
    }
    println!("{header}");
    for g in &groups {
        let mut row = format!("{:<width$}", g.group_id);
        if types.is_some() {
            // Kafka's GroupType names: Classic, Consumer, Share.
            let mut t = g.group_type.clone();
            if let Some(c) = t.get_mut(0..1) {
                c.make_ascii_uppercase();
            }
            row.push_str(&format!(" {t:<20}"));
        }
        if states.is_some() {
            row.push_str(&format!(" {:<20}", g.state));
        }
        println!("{row}");
    }
    Ok(0)
}

async fn delete(admin: &Admin, groups: &[String]) -> anyhow::Result<i32> {
    let results = admin.delete_groups(groups).await?;
    let failed: Vec<&(String, i16)> = results.iter().filter(|(_, c)| *c != 0).collect();
    if failed.is_empty() {
        let names: Vec<String> = results.iter().map(|(g, _)| format!("'{g}'")).collect();
        println!("Deletion of requested consumer groups ({}) was successful.", names.join(", "));
        return Ok(0);
    }
    let ok: Vec<String> = results.iter().filter(|(_, c)| *c == 0).map(|(g, _)| format!("'{g}'")).collect();
    if !ok.is_empty() {
        println!("Deletion of requested consumer groups ({}) was successful.", ok.join(", "));
    }
    eprintln!("\nError: Deletion of some consumer groups failed:");
    for (g, c) in failed {
        eprintln!("* Group '{g}' could not be deleted due to: {}", exception(*c));
    }
    Ok(1)
}

async fn delete_offsets(admin: &Admin, a: &ConsumerGroupsArgs) -> anyhow::Result<i32> {
    let group = &a.groups[0];
    let scopes = parse_topic_scopes(&a.topics)?;
    let meta = admin.cluster.refresh(None).await?;
    let mut parts = Vec::new();
    let mut unknown = Vec::new();
    for (t, ps) in &scopes {
        match (ps, meta.topics.get(t)) {
            (Some(ps), _) => parts.extend(ps.iter().map(|p| (t.clone(), *p))),
            (None, Some(m)) => parts.extend(m.partitions.iter().map(|p| (t.clone(), p.index))),
            (None, None) => unknown.push(t.clone()),
        }
    }
    let results = match admin.delete_group_offsets(group, &parts).await {
        Ok(r) => r,
        Err(e) => {
            let msg = match e.code() {
                Some(c) if c == E::GroupIdNotFound.code() => format!("'{group}' does not exist."),
                Some(c) if c == E::NonEmptyGroup.code() => {
                    format!("Deleting offsets of a consumer group '{group}' is forbidden if the group is not empty.")
                }
                _ => e.to_string(),
            };
            eprintln!("\nError: Encounter some unknown error: {msg}");
            return Ok(1);
        }
    };
    let topics: Vec<&str> = scopes.iter().map(|(t, _)| t.as_str()).collect();
    let any_error = results.iter().any(|(_, _, c)| *c != 0) || !unknown.is_empty();
    if any_error {
        println!("Request failed for deleting offsets with topic {} group {group}", topics.join(", "));
    } else {
        println!("Request succeed for deleting offsets with topic {} group {group}", topics.join(", "));
    }
    print!("\n{:<30} {:<15} {:<15}", "TOPIC", "PARTITION", "STATUS");
    for t in &unknown {
        print!("\n{:<30} {:<15} {:<15}", t, "Not Provided", format!("Error: :{}", exception(E::UnknownTopicOrPartition.code())));
    }
    for (t, p, c) in &results {
        let status = if *c == 0 { "Successful".to_string() } else { format!("Error: :{}", exception(*c)) };
        print!("\n{:<30} {:<15} {:<15}", t, p, status);
    }
    println!();
    Ok(if any_error { 1 } else { 0 })
}
