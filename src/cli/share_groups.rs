//! `rk share-groups` (kafka-share-groups.sh, KIP-932): list share groups, describe their
//! start offsets and lag, members or state, reset or delete their start offsets, and
//! delete them. Kafka's column layouts; errors
//! on stderr with a non-zero exit.

use super::common::{ClientArgs, OutputFormat, usage_error};
use crate::client::Cluster;
use crate::client::admin::{Admin, OffsetSpec};
use crate::client::admin_groups::GroupDescription;
use anyhow::Context;
use clap::Args;
use std::collections::BTreeMap;

#[derive(Args, Debug)]
pub struct ShareGroupsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// List all share groups.
    #[arg(long)]
    pub list: bool,
    /// Describe share groups: start offsets and lag (default), members or state.
    #[arg(long)]
    pub describe: bool,
    /// Delete share groups (only groups without active members).
    #[arg(long)]
    pub delete: bool,
    /// Reset the start offsets of an inactive share group (--dry-run shows the plan).
    #[arg(long)]
    pub reset_offsets: bool,
    /// Delete the start offsets of topics from an inactive share group.
    #[arg(long)]
    pub delete_offsets: bool,
    /// The topic, as TOPIC or TOPIC:P1,P2 for --reset-offsets (repeatable).
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// Reset the start offsets of every topic the group has offsets for.
    #[arg(long)]
    pub all_topics: bool,
    /// Reset to the earliest offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// Reset to the latest offset.
    #[arg(long)]
    pub to_latest: bool,
    /// Reset to the first offset at or after 'YYYY-MM-DDTHH:mm:SS.sss[Z|+HH:mm]'.
    #[arg(long)]
    pub to_datetime: Option<String>,
    /// Reset to this offset.
    #[arg(long, allow_hyphen_values = true)]
    pub to_offset: Option<i64>,
    /// Print the reset plan only (the default).
    #[arg(long)]
    pub dry_run: bool,
    /// Perform the reset.
    #[arg(long)]
    pub execute: bool,
    /// The share group (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Apply to all share groups.
    #[arg(long)]
    pub all_groups: bool,
    /// Describe view: start offsets and lag (default).
    #[arg(long)]
    pub offsets: bool,
    /// Describe view: members.
    #[arg(long)]
    pub members: bool,
    /// Describe view: group state; with --list, filter by states (comma-separated).
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "STATES")]
    pub state: Option<String>,
    /// More detail (member epochs; group and assignment epochs).
    #[arg(long)]
    pub verbose: bool,
    /// Admin call timeout in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout: u64,
    /// Output format for --list and --describe.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

pub fn run(a: ShareGroupsArgs) -> anyhow::Result<i32> {
    if [a.list, a.describe, a.delete, a.reset_offsets, a.delete_offsets].iter().filter(|x| **x).count() != 1 {
        return usage_error("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets");
    }
    if (a.describe || a.delete) && a.groups.is_empty() && !a.all_groups {
        return usage_error("Option [describe|delete] takes one of these options: [all-groups], [group]");
    }
    if (a.reset_offsets || a.delete_offsets) && a.groups.len() != 1 {
        return usage_error("Option [reset-offsets|delete-offsets] takes exactly one --group");
    }
    if a.delete_offsets && a.topics.is_empty() {
        return usage_error("Option [delete-offsets] takes the [topic] option");
    }
    if a.reset_offsets {
        let scenarios = [a.to_earliest, a.to_latest, a.to_datetime.is_some(), a.to_offset.is_some()];
        if scenarios.iter().filter(|x| **x).count() != 1 {
            return usage_error(
                "Option [reset-offsets] takes exactly one of these options: [to-datetime], [to-earliest], [to-latest], [to-offset]",
            );
        }
        if a.topics.is_empty() != a.all_topics {
            return usage_error("Option [reset-offsets] takes one of these options: [all-topics], [topic]");
        }
        if a.dry_run && a.execute {
            return usage_error("Option [reset-offsets] takes at most one of these options: [dry-run], [execute]");
        }
    }
    if a.describe && [a.offsets, a.members, a.state.is_some()].iter().filter(|x| **x).count() > 1 {
        return usage_error("Option [describe] takes at most one of these options: [members], [offsets], [state]");
    }
    let mut cfg = a.client.config("rk-share-groups")?;
    cfg.request_timeout = std::time::Duration::from_millis(a.timeout.max(1000));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let admin = Admin::new(cluster);
        let share_groups = admin.list_groups(&[], &["share".to_string()]).await?;
        let share_groups: Vec<_> = share_groups.into_iter().filter(|g| g.group_type == "share").collect();
        if a.list {
            return list(&a, &share_groups);
        }
        let groups: Vec<String> = if a.all_groups { share_groups.iter().map(|g| g.group_id.clone()).collect() } else { a.groups.clone() };
        if a.delete {
            return delete(&admin, &groups).await;
        }
        if a.reset_offsets {
            return reset_offsets(&admin, &a, &groups[0]).await;
        }
        if a.delete_offsets {
            return delete_offsets(&admin, &a, &groups[0]).await;
        }
        let mut rc = 0;
        let mut json = Vec::new();
        for g in &groups {
            let Some(d) = admin.describe_share_group(g).await? else {
                eprintln!("Error: Share group '{g}' does not exist.");
                rc = 1;
                continue;
            };
            if a.members {
                print_members(&a, &d, &mut json);
            } else if a.state.is_some() {
                print_state(&a, &d, &mut json);
            } else {
                print_offsets(&admin, &a, &d, &mut json).await?;
            }
        }
        if a.output == OutputFormat::Json {
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Ok(rc)
    })
}

fn list(a: &ShareGroupsArgs, groups: &[crate::client::admin_groups::GroupListing]) -> anyhow::Result<i32> {
    let states: Option<Vec<String>> =
        a.state.as_ref().map(|s| s.split(',').map(|x| x.trim().to_ascii_lowercase()).filter(|x| !x.is_empty()).collect());
    for s in states.iter().flatten() {
        if !["stable", "empty", "dead"].contains(&s.as_str()) {
            return usage_error(&format!("Invalid state list '{s}'. Valid states are: Stable, Empty, Dead"));
        }
    }
    let shown: Vec<_> =
        groups.iter().filter(|g| states.as_ref().is_none_or(|s| s.is_empty() || s.contains(&g.state.to_ascii_lowercase()))).collect();
    if a.output == OutputFormat::Json {
        let v: Vec<_> = shown.iter().map(|g| serde_json::json!({"group": g.group_id, "state": g.state})).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if states.is_some() {
        let w = shown.iter().map(|g| g.group_id.len()).max().unwrap_or(0).max(15);
        println!("{:<w$} STATE", "GROUP");
        for g in shown {
            println!("{:<w$} {}", g.group_id, g.state);
        }
    } else {
        for g in shown {
            println!("{}", g.group_id);
        }
    }
    Ok(0)
}

async fn print_offsets(admin: &Admin, a: &ShareGroupsArgs, d: &GroupDescription, json: &mut Vec<serde_json::Value>) -> anyhow::Result<()> {
    let starts = admin.share_group_offsets(&d.group_id).await?;
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in starts.keys() {
        by_topic.entry(t).or_default().push(*p);
    }
    let mut ends = BTreeMap::new();
    for (t, ps) in by_topic {
        for (p, r) in admin.list_offsets(t, &ps, OffsetSpec::Latest).await.unwrap_or_default() {
            if let Ok((o, _)) = r {
                ends.insert((t.to_string(), p), o);
            }
        }
    }
    // Lag: records from the start offset to the end, some of which may be delivered already.
    let lag = |k: &(String, i32), start: i64| ends.get(k).filter(|_| start >= 0).map(|e| (e - start).max(0));
    if a.output == OutputFormat::Json {
        for (k, s) in &starts {
            json.push(serde_json::json!({"group": d.group_id, "topic": k.0, "partition": k.1, "start_offset": s, "lag": lag(k, *s)}));
        }
        return Ok(());
    }
    if d.members.is_empty() {
        eprintln!("\nShare group '{}' has no active members.", d.group_id);
    }
    if starts.is_empty() {
        return Ok(());
    }
    let gw = d.group_id.len().max(15);
    let tw = starts.keys().map(|k| k.0.len()).max().unwrap_or(0).max(15);
    println!("{:<gw$} {:<tw$} {:<10} {:<13} LAG", "GROUP", "TOPIC", "PARTITION", "START-OFFSET");
    for (k, s) in &starts {
        let start = if *s < 0 { "-".to_string() } else { s.to_string() };
        let l = lag(k, *s).map_or("-".to_string(), |x| x.to_string());
        println!("{:<gw$} {:<tw$} {:<10} {:<13} {}", d.group_id, k.0, k.1, start, l);
    }
    Ok(())
}

fn print_members(a: &ShareGroupsArgs, d: &GroupDescription, json: &mut Vec<serde_json::Value>) {
    let assignment = |m: &crate::client::admin_groups::MemberDescription| {
        m.assignment.iter().map(|(t, p)| format!("{t}:{p}")).collect::<Vec<_>>().join(",")
    };
    if a.output == OutputFormat::Json {
        for m in &d.members {
            json.push(serde_json::json!({"group": d.group_id, "member_id": m.member_id, "host": m.host, "client_id": m.client_id,
                "member_epoch": m.epoch, "partitions": m.assignment.len(), "assignment": assignment(m)}));
        }
        return;
    }
    if d.members.is_empty() {
        eprintln!("\nShare group '{}' has no active members.", d.group_id);
        return;
    }
    let gw = d.group_id.len().max(15);
    let iw = d.members.iter().map(|m| m.member_id.len()).max().unwrap_or(0).max(15);
    let hw = d.members.iter().map(|m| m.host.len()).max().unwrap_or(0).max(15);
    let cw = d.members.iter().map(|m| m.client_id.len()).max().unwrap_or(0).max(15);
    let epoch = if a.verbose { format!("{:<13}", "MEMBER-EPOCH") + " " } else { String::new() };
    println!("{:<gw$} {:<iw$} {:<hw$} {:<cw$} {epoch}{:<12} ASSIGNMENT", "GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS");
    for m in &d.members {
        let epoch = if a.verbose { format!("{:<13} ", m.epoch.unwrap_or(-1)) } else { String::new() };
        println!(
            "{:<gw$} {:<iw$} {:<hw$} {:<cw$} {epoch}{:<12} {}",
            d.group_id,
            m.member_id,
            m.host,
            m.client_id,
            m.assignment.len(),
            assignment(m)
        );
    }
}

fn print_state(a: &ShareGroupsArgs, d: &GroupDescription, json: &mut Vec<serde_json::Value>) {
    let (id, host, port) = &d.coordinator;
    let (group_epoch, assignment_epoch) = d.epochs.unwrap_or((-1, -1));
    if a.output == OutputFormat::Json {
        json.push(serde_json::json!({"group": d.group_id, "coordinator": {"id": id, "host": host, "port": port}, "state": d.state,
            "members": d.members.len(), "group_epoch": group_epoch, "assignment_epoch": assignment_epoch}));
        return;
    }
    let coordinator = format!("{host}:{port}  ({id})");
    let gw = d.group_id.len().max(15);
    let cw = coordinator.len().max(25);
    if a.verbose {
        println!("{:<gw$} {:<cw$} {:<15} {:<12} {:<25} #MEMBERS", "GROUP", "COORDINATOR (ID)", "STATE", "GROUP-EPOCH", "ASSIGNMENT-EPOCH");
        println!(
            "{:<gw$} {:<cw$} {:<15} {:<12} {:<25} {}",
            d.group_id,
            coordinator,
            d.state,
            group_epoch,
            assignment_epoch,
            d.members.len()
        );
    } else {
        println!("{:<gw$} {:<cw$} {:<15} #MEMBERS", "GROUP", "COORDINATOR (ID)", "STATE");
        println!("{:<gw$} {:<cw$} {:<15} {}", d.group_id, coordinator, d.state, d.members.len());
    }
}

async fn delete(admin: &Admin, groups: &[String]) -> anyhow::Result<i32> {
    let results = admin.delete_groups(groups).await?;
    let failed: Vec<_> = results.iter().filter(|(_, c)| *c != 0).collect();
    if failed.is_empty() {
        let names = groups.iter().map(|g| format!("'{g}'")).collect::<Vec<_>>().join(", ");
        println!("Deletion of requested share groups ({names}) was successful.");
        return Ok(0);
    }
    eprintln!("Deletion of some share groups failed:");
    for (g, c) in failed {
        eprintln!("* Share group '{g}' could not be deleted due to: {}", super::consumer_groups::exception(*c));
    }
    Ok(1)
}

/// --reset-offsets: the new start offsets, clamped to each log's range, printed as a plan
/// and written with --execute (the group must be inactive).
async fn reset_offsets(admin: &Admin, a: &ShareGroupsArgs, group: &str) -> anyhow::Result<i32> {
    use super::consumer_groups::reset;
    let Some(d) = admin.describe_share_group(group).await? else {
        eprintln!("Error: Share group '{group}' does not exist.");
        return Ok(1);
    };
    if !d.members.is_empty() {
        eprintln!("\nError: Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.", d.state);
        return Ok(1);
    }
    if !a.execute && !a.dry_run {
        eprintln!(
            "WARN: No action will be performed as the --execute option is missing. You should add the --dry-run option explicitly if you are scripting this command."
        );
    }
    let parts: Vec<(String, i32)> = if a.all_topics {
        admin.share_group_offsets(group).await?.into_keys().collect()
    } else {
        let meta = admin.cluster.refresh(None).await?;
        let mut v = Vec::new();
        for (t, ps) in super::consumer_groups::parse_topic_scopes(&a.topics)? {
            let Some(m) = meta.topics.get(&t) else { anyhow::bail!("Topic '{t}' does not exist") };
            match ps {
                Some(ps) => v.extend(ps.into_iter().map(|p| (t.clone(), p))),
                None => v.extend(m.partitions.iter().map(|p| (t.clone(), p.index))),
            }
        }
        v
    };
    let earliest = reset::offsets_for(admin, &parts, OffsetSpec::Earliest).await?;
    let latest = reset::offsets_for(admin, &parts, OffsetSpec::Latest).await?;
    let timed = match &a.to_datetime {
        Some(dt) => Some(reset::offsets_for_times(admin, &parts, reset::parse_datetime(dt)?).await?),
        None => None,
    };
    let mut plan = reset::Plan::new();
    for tp in &parts {
        let (lo, hi) = (earliest[tp], latest[tp]);
        let target = match (&timed, a.to_offset) {
            _ if a.to_earliest => lo,
            (Some(t), _) => t.get(tp).copied().flatten().unwrap_or(hi),
            (None, Some(o)) => o,
            _ => hi,
        };
        plan.insert(tp.clone(), reset::clamp(target, lo, hi, tp));
    }
    if a.execute {
        let failed: Vec<_> = admin.alter_share_group_offsets(group, &plan).await?.into_iter().filter(|(_, c)| *c != 0).collect();
        for ((t, p), c) in &failed {
            eprintln!("Error: the start offset of {t}-{p} was not reset: {}", super::consumer_groups::exception(*c));
        }
        if !failed.is_empty() {
            return Ok(1);
        }
    }
    reset::print_plan(&BTreeMap::from([(group.to_string(), plan)]));
    Ok(0)
}

/// --delete-offsets: forgets the topics' start offsets (the group must be inactive).
async fn delete_offsets(admin: &Admin, a: &ShareGroupsArgs, group: &str) -> anyhow::Result<i32> {
    let results = match admin.delete_share_group_offsets(group, &a.topics).await {
        Ok(r) => r,
        Err(e) => match e.code() {
            Some(c) => {
                eprintln!("Error: Deletion of offsets failed due to: {}", super::consumer_groups::exception(c));
                return Ok(1);
            }
            None => return Err(e.into()),
        },
    };
    let tw = results.keys().map(|t| t.len()).max().unwrap_or(0).max(30);
    println!("\n{:<tw$} STATUS", "TOPIC");
    for (t, c) in &results {
        let status = if *c == 0 { "Successful".to_string() } else { format!("Error: {}", super::consumer_groups::exception(*c)) };
        println!("{t:<tw$} {status}");
    }
    Ok(if results.values().all(|c| *c == 0) { 0 } else { 1 })
}
