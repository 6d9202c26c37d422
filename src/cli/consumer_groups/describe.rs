//! `--describe` views of rk consumer-groups: offsets (default), members and state, laid out
//! with Kafka's printf widths; `--verbose` adds the log start offset and total lag.

use super::ConsumerGroupsArgs;
use crate::cli::common::OutputFormat;
use crate::client::admin::{Admin, OffsetSpec};
use crate::client::admin_groups::GroupDescription;
use std::collections::{BTreeMap, BTreeSet};

/// One row of the offsets view.
struct OffsetRow {
    topic: String,
    partition: i32,
    current: Option<i64>,
    log_start: Option<i64>,
    log_end: Option<i64>,
    consumer: String,
    host: String,
    client: String,
}

impl OffsetRow {
    fn lag(&self) -> Option<i64> {
        Some((self.log_end? - self.current?).max(0))
    }
}

fn dash(v: Option<i64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

async fn watermarks(admin: &Admin, tps: &BTreeSet<(String, i32)>) -> BTreeMap<(String, i32), (Option<i64>, Option<i64>)> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in tps {
        by_topic.entry(t).or_default().push(*p);
    }
    let mut out = BTreeMap::new();
    for (t, ps) in by_topic {
        let ends = admin.list_offsets(t, &ps, OffsetSpec::Latest).await.unwrap_or_default();
        let starts = admin.list_offsets(t, &ps, OffsetSpec::Earliest).await.unwrap_or_default();
        for (p, r) in ends {
            let start = starts.iter().find(|(sp, _)| *sp == p).and_then(|(_, r)| r.as_ref().ok().map(|x| x.0));
            out.insert((t.to_string(), p), (start, r.ok().map(|x| x.0)));
        }
    }
    out
}

async fn offset_rows(admin: &Admin, d: &GroupDescription) -> anyhow::Result<Vec<OffsetRow>> {
    let committed = admin.group_offsets(&d.group_id).await?;
    let mut members: Vec<_> = d.members.iter().filter(|m| !m.assignment.is_empty()).collect();
    // Kafka: members by number of partitions (descending), partitions ascending.
    members.sort_by_key(|m| std::cmp::Reverse(m.assignment.len()));
    let mut all: BTreeSet<(String, i32)> = committed.keys().cloned().collect();
    for m in &members {
        all.extend(m.assignment.iter().cloned());
    }
    let marks = watermarks(admin, &all).await;
    let mut rows = Vec::new();
    let mut assigned = BTreeSet::new();
    for m in members {
        for tp in &m.assignment {
            assigned.insert(tp.clone());
            let (ls, le) = marks.get(tp).copied().unwrap_or((None, None));
            rows.push(OffsetRow {
                topic: tp.0.clone(),
                partition: tp.1,
                current: committed.get(tp).copied(),
                log_start: ls,
                log_end: le,
                consumer: m.member_id.clone(),
                host: m.host.clone(),
                client: m.client_id.clone(),
            });
        }
    }
    for (tp, off) in &committed {
        if assigned.contains(tp) {
            continue;
        }
        let (ls, le) = marks.get(tp).copied().unwrap_or((None, None));
        rows.push(OffsetRow {
            topic: tp.0.clone(),
            partition: tp.1,
            current: Some(*off),
            log_start: ls,
            log_end: le,
            consumer: "-".into(),
            host: "-".into(),
            client: "-".into(),
        });
    }
    Ok(rows)
}

pub async fn run(admin: &Admin, a: &ConsumerGroupsArgs, groups: &[String]) -> anyhow::Result<i32> {
    let mut failed = false;
    let mut json = Vec::new();
    for g in groups {
        let d = admin.describe_group(g).await?;
        if d.state == "Dead" {
            eprintln!("\nError: Consumer group '{g}' does not exist.");
            failed = true;
            continue;
        }
        if a.members {
            print_members(&d, a, &mut json);
        } else if a.state.is_some() {
            print_state(&d, a, &mut json);
        } else {
            let rows = offset_rows(admin, &d).await?;
            match d.state.as_str() {
                "Empty" => eprintln!("\nConsumer group '{g}' has no active members."),
                "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => {
                    eprintln!("\nWarning: Consumer group '{g}' is rebalancing.")
                }
                _ => {}
            }
            print_offsets(g, &rows, a, &mut json);
        }
    }
    if a.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(if failed { 1 } else { 0 })
}

fn print_offsets(group: &str, rows: &[OffsetRow], a: &ConsumerGroupsArgs, json: &mut Vec<serde_json::Value>) {
    if a.output == OutputFormat::Json {
        json.push(serde_json::json!({
            "group": group,
            "total_lag": rows.iter().filter_map(|r| r.lag()).sum::<i64>(),
            "partitions": rows.iter().map(|r| serde_json::json!({
                "topic": r.topic, "partition": r.partition, "current_offset": r.current, "log_start_offset": r.log_start,
                "log_end_offset": r.log_end, "lag": r.lag(), "consumer_id": r.consumer, "host": r.host, "client_id": r.client,
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    let gw = group.len().max(15);
    let tw = rows.iter().map(|r| r.topic.len()).max().unwrap_or(0).max(15);
    let cw = rows.iter().map(|r| r.consumer.len()).max().unwrap_or(0).max(15);
    let hw = rows.iter().map(|r| r.host.len()).max().unwrap_or(0).max(15);
    let line = |cols: [&str; 9], start: Option<&str>| {
        let mut s = format!("\n{:<gw$} {:<tw$} {:<10} ", cols[0], cols[1], cols[2]);
        if let Some(ls) = start {
            s.push_str(&format!("{:<16} ", ls));
        }
        s.push_str(&format!("{:<15} {:<15} {:<15} {:<cw$} {:<hw$} {}", cols[3], cols[4], cols[5], cols[6], cols[7], cols[8]));
        s
    };
    let mut out = line(
        ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"],
        a.verbose.then_some("LOG-START-OFFSET"),
    );
    for r in rows {
        let cols = [
            group,
            &r.topic,
            &r.partition.to_string(),
            &dash(r.current),
            &dash(r.log_end),
            &dash(r.lag()),
            &r.consumer,
            &r.host,
            &r.client,
        ];
        let ls = dash(r.log_start);
        out.push_str(&line(cols, a.verbose.then_some(ls.as_str())));
    }
    println!("{out}");
    if a.verbose {
        let mut per_topic: BTreeMap<&str, i64> = BTreeMap::new();
        for r in rows {
            *per_topic.entry(&r.topic).or_default() += r.lag().unwrap_or(0);
        }
        for (t, l) in per_topic {
            println!("TOPIC-LAG {t} {l}");
        }
        println!("TOTAL-LAG {}", rows.iter().filter_map(|r| r.lag()).sum::<i64>());
    }
}

fn assignment_text(a: &BTreeSet<(String, i32)>) -> String {
    if a.is_empty() {
        return "-".into();
    }
    let mut by_topic: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (t, p) in a {
        by_topic.entry(t).or_default().push(p.to_string());
    }
    by_topic
        .into_iter()
        .map(|(t, mut ps)| {
            // Kafka sorts partitions as strings here (so 10 sorts before 2).
            ps.sort();
            format!("{t}({})", ps.join(","))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Width of the assignment columns of the KIP-848 members view.
fn modern_widths(d: &GroupDescription) -> usize {
    d.members
        .iter()
        .flat_map(|m| [assignment_text(&m.assignment).len(), assignment_text(&m.target_assignment.clone().unwrap_or_default()).len()])
        .max()
        .unwrap_or(0)
        .max(20)
}

fn print_members(d: &GroupDescription, a: &ConsumerGroupsArgs, json: &mut Vec<serde_json::Value>) {
    if a.output == OutputFormat::Json {
        json.push(serde_json::json!({
            "group": d.group_id, "state": d.state,
            "members": d.members.iter().map(|m| serde_json::json!({
                "consumer_id": m.member_id, "group_instance_id": m.instance_id, "host": m.host, "client_id": m.client_id,
                "partitions": m.assignment.len(), "assignment": m.assignment.iter().map(|(t, p)| format!("{t}-{p}")).collect::<Vec<_>>(),
                "member_epoch": m.epoch,
                "target_assignment": m.target_assignment.as_ref().map(|a| a.iter().map(|(t, p)| format!("{t}-{p}")).collect::<Vec<_>>()),
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    if d.members.is_empty() {
        eprintln!("\nConsumer group '{}' has no active members.", d.group_id);
    }
    let gw = d.group_id.len().max(15);
    let cw = d.members.iter().map(|m| m.member_id.len()).max().unwrap_or(0).max(15);
    let statics = d.members.iter().any(|m| m.instance_id.is_some());
    let iw = d.members.iter().map(|m| m.instance_id.as_deref().unwrap_or("").len()).max().unwrap_or(0).max(17);
    let hw = d.members.iter().map(|m| m.host.len()).max().unwrap_or(0).max(15);
    let lw = d.members.iter().map(|m| m.client_id.len()).max().unwrap_or(0).max(15);
    let row = |g: &str, c: &str, i: &str, h: &str, cl: &str, n: &str| {
        let mut s = format!("{g:<gw$} {c:<cw$} ");
        if statics {
            s.push_str(&format!("{i:<iw$} "));
        }
        s.push_str(&format!("{h:<hw$} {cl:<lw$} {n:<15} "));
        s
    };
    // A consumer-protocol group (KIP-848) shows epochs and target assignments (KIP-1099).
    let modern = a.verbose && d.epochs.is_some();
    let mut header = format!("\n{}", row("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS"));
    if modern {
        let w = modern_widths(d);
        header.push_str(&format!(
            "{:<15} {:<w$} {:<15} {:<w$} UPGRADED",
            "CURRENT-EPOCH", "CURRENT-ASSIGNMENT", "TARGET-EPOCH", "TARGET-ASSIGNMENT"
        ));
    } else if a.verbose {
        header.push_str("ASSIGNMENT");
    }
    println!("{header}");
    for m in &d.members {
        let mut line =
            row(&d.group_id, &m.member_id, m.instance_id.as_deref().unwrap_or("-"), &m.host, &m.client_id, &m.assignment.len().to_string());
        if modern {
            let w = modern_widths(d);
            let target = m.target_assignment.clone().unwrap_or_default();
            let target_epoch = d.epochs.map(|(_, t)| t).unwrap_or(-1);
            line.push_str(&format!(
                "{:<15} {:<w$} {:<15} {:<w$} {}",
                m.epoch.unwrap_or(-1),
                assignment_text(&m.assignment),
                target_epoch,
                assignment_text(&target),
                m.epoch.is_some()
            ));
        } else if a.verbose {
            line.push_str(&assignment_text(&m.assignment));
        }
        println!("{line}");
    }
}

fn print_state(d: &GroupDescription, a: &ConsumerGroupsArgs, json: &mut Vec<serde_json::Value>) {
    let coordinator = format!("{}:{}  ({})", d.coordinator.1, d.coordinator.2, d.coordinator.0);
    if a.output == OutputFormat::Json {
        json.push(serde_json::json!({
            "group": d.group_id, "coordinator": {"id": d.coordinator.0, "host": d.coordinator.1, "port": d.coordinator.2},
            "assignment_strategy": d.assignment_strategy, "state": d.state, "members": d.members.len(),
            "group_type": d.group_type,
            "group_epoch": d.epochs.map(|e| e.0), "target_assignment_epoch": d.epochs.map(|e| e.1),
        }));
        return;
    }
    let kw = coordinator.len().max(25);
    // --verbose on a consumer-protocol group adds its epochs (KIP-1099).
    if let (true, Some((ge, te))) = (a.verbose, d.epochs) {
        println!(
            "\n{:<kw$} {:<25} {:<20} {:<15} {:<15} {:<25} #MEMBERS\n{:<kw$} {:<25} {:<20} {:<15} {:<15} {:<25} {}",
            "GROUP",
            "COORDINATOR (ID)",
            "ASSIGNMENT-STRATEGY",
            "STATE",
            "GROUP-EPOCH",
            "TARGET-ASSIGNMENT-EPOCH",
            d.group_id,
            coordinator,
            d.assignment_strategy,
            d.state,
            ge,
            te,
            d.members.len()
        );
        return;
    }
    println!(
        "\n{:<kw$} {:<25} {:<20} {:<15} #MEMBERS\n{:<kw$} {:<25} {:<20} {:<15} {}",
        "GROUP",
        "COORDINATOR (ID)",
        "ASSIGNMENT-STRATEGY",
        "STATE",
        d.group_id,
        coordinator,
        d.assignment_strategy,
        d.state,
        d.members.len()
    );
}
