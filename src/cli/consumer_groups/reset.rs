//! `--reset-offsets`: every Kafka scenario (earliest, latest, current, offset, shift-by,
//! datetime, duration, from-file), scoped by --topic/--all-topics, clamped to the log
//! range, printed as a plan (dry run), committed (--execute) or exported as CSV.

use super::{ConsumerGroupsArgs, parse_topic_scopes};
use crate::client::admin::{Admin, OffsetSpec};
use anyhow::{Context, bail};
use std::collections::BTreeMap;

pub(crate) type Plan = BTreeMap<(String, i32), i64>;

/// Parses Kafka's --to-datetime format: YYYY-MM-DDTHH:mm:SS.sss with an optional zone
/// (Z, ±HH, ±HH:mm, ±HHmm); no zone means UTC.
pub fn parse_datetime(s: &str) -> anyhow::Result<i64> {
    use chrono::{DateTime, NaiveDateTime};
    let bad = || format!("Error parsing date '{s}': expected yyyy-MM-dd'T'HH:mm:ss.SSS with an optional zone");
    let (base, zone) = match s.find(['Z', '+']).or_else(|| s.rfind('-').filter(|i| *i > 10)) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let naive = NaiveDateTime::parse_from_str(base, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(base, "%Y-%m-%dT%H:%M:%S"))
        .with_context(bad)?;
    let offset_secs = match zone {
        "" | "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i64>()?, 0),
                4 => (digits[..2].parse::<i64>()?, digits[2..].parse::<i64>()?),
                _ => bail!(bad()),
            };
            sign * (h * 3600 + m * 60)
        }
    };
    let utc: DateTime<chrono::Utc> = naive.and_utc();
    Ok(utc.timestamp_millis() - offset_secs * 1000)
}

/// Parses an ISO-8601 duration PnDTnHnMnS (fractions of seconds allowed) into ms.
pub fn parse_duration(s: &str) -> anyhow::Result<i64> {
    let bad = || anyhow::anyhow!("Error parsing duration '{s}': expected PnDTnHnMnS");
    let rest = s.strip_prefix('P').or_else(|| s.strip_prefix('p')).ok_or_else(bad)?;
    let (days, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut ms = 0f64;
    let mut num = String::new();
    for (part, in_time) in [(days, false), (time, true)] {
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                num.push(c);
                continue;
            }
            let n: f64 = num.parse().map_err(|_| bad())?;
            num.clear();
            ms += n * match (c.to_ascii_uppercase(), in_time) {
                ('D', false) => 86_400_000.0,
                ('H', true) => 3_600_000.0,
                ('M', true) => 60_000.0,
                ('S', true) => 1000.0,
                _ => return Err(bad()),
            };
        }
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(ms as i64)
}

/// Reads --from-file CSV: topic,partition,offset (one group) or group,topic,partition,offset.
fn read_csv(path: &std::path::Path) -> anyhow::Result<BTreeMap<String, Plan>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out: BTreeMap<String, Plan> = BTreeMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let (g, t, p, o) = match f.as_slice() {
            [t, p, o] => ("", *t, *p, *o),
            [g, t, p, o] => (*g, *t, *p, *o),
            _ => bail!("Error parsing line {} of {}: expected topic,partition,offset", i + 1, path.display()),
        };
        let p: i32 = p.parse().with_context(|| format!("bad partition on line {}", i + 1))?;
        let o: i64 = o.parse().with_context(|| format!("bad offset on line {}", i + 1))?;
        out.entry(g.to_string()).or_default().insert((t.to_string(), p), o);
    }
    Ok(out)
}

pub(crate) async fn offsets_for(admin: &Admin, parts: &[(String, i32)], spec: OffsetSpec) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in parts {
        by_topic.entry(t).or_default().push(*p);
    }
    let mut out = BTreeMap::new();
    for (t, ps) in by_topic {
        for (p, r) in admin.list_offsets(t, &ps, spec).await? {
            out.insert((t.to_string(), p), r?.0);
        }
    }
    Ok(out)
}

pub async fn run(admin: &Admin, a: &ConsumerGroupsArgs, groups: &[String]) -> anyhow::Result<i32> {
    let scenarios = [
        a.to_earliest,
        a.to_latest,
        a.to_current,
        a.to_offset.is_some(),
        a.shift_by.is_some(),
        a.to_datetime.is_some(),
        a.by_duration.is_some(),
        a.from_file.is_some(),
    ];
    if scenarios.iter().filter(|x| **x).count() != 1 {
        return super::usage_error(
            "Option [reset-offsets] takes exactly one of these options: [to-datetime], [by-duration], [to-earliest], [to-latest], [shift-by], [from-file], [to-current], [to-offset]",
        );
    }
    if a.from_file.is_none() && a.topics.is_empty() && !a.all_topics {
        return super::usage_error("Option [reset-offsets] takes one of these options: [all-topics], [topic]");
    }
    if !a.execute && !a.dry_run && !a.export {
        eprintln!(
            "WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting."
        );
    }
    let from_file = a.from_file.as_deref().map(read_csv).transpose()?;
    let scopes = parse_topic_scopes(&a.topics)?;
    let meta = admin.cluster.refresh(None).await?;
    let mut plans: BTreeMap<String, Plan> = BTreeMap::new();
    for g in groups {
        let d = admin.describe_group(g).await?;
        if d.state != "Empty" && d.state != "Dead" {
            eprintln!("\nError: Assignments can only be reset if the group '{g}' is inactive, but the current state is {}.", d.state);
            return Ok(1);
        }
        let committed = admin.group_offsets(g).await?;
        let parts: Vec<(String, i32)> = if let Some(file) = &from_file {
            file.get(g.as_str()).or_else(|| file.get("")).map(|p| p.keys().cloned().collect()).unwrap_or_default()
        } else if a.all_topics {
            committed.keys().cloned().collect()
        } else {
            let mut v = Vec::new();
            for (t, ps) in &scopes {
                let Some(m) = meta.topics.get(t) else { bail!("Topic '{t}' does not exist") };
                match ps {
                    Some(ps) => v.extend(ps.iter().map(|p| (t.clone(), *p))),
                    None => v.extend(m.partitions.iter().map(|p| (t.clone(), p.index))),
                }
            }
            v
        };
        let earliest = offsets_for(admin, &parts, OffsetSpec::Earliest).await?;
        let latest = offsets_for(admin, &parts, OffsetSpec::Latest).await?;
        let mut plan = Plan::new();
        let by_time = match (&a.to_datetime, &a.by_duration) {
            (Some(dt), _) => Some(parse_datetime(dt)?),
            (_, Some(d)) => Some(chrono::Utc::now().timestamp_millis() - parse_duration(d)?),
            _ => None,
        };
        let timed = match by_time {
            Some(ts) => Some(offsets_for_times(admin, &parts, ts).await?),
            None => None,
        };
        for tp in &parts {
            let (lo, hi) = (earliest[tp], latest[tp]);
            let target = if a.to_earliest {
                lo
            } else if a.to_latest {
                hi
            } else if a.to_current {
                committed.get(tp).copied().unwrap_or(hi)
            } else if let Some(o) = a.to_offset {
                o
            } else if let Some(n) = a.shift_by {
                match committed.get(tp) {
                    Some(c) => c + n,
                    None => bail!("Cannot shift offset for partition {}-{} since there is no current committed offset", tp.0, tp.1),
                }
            } else if let Some(t) = &timed {
                match t.get(tp).copied().flatten() {
                    Some(o) => o,
                    None => {
                        eprintln!("\nWarn: Partition {} from topic {} is empty. Falling back to latest known offset.", tp.1, tp.0);
                        hi
                    }
                }
            } else {
                let file = from_file.as_ref().expect("one scenario");
                file.get(g.as_str()).or_else(|| file.get("")).and_then(|p| p.get(tp)).copied().unwrap_or(hi)
            };
            plan.insert(tp.clone(), clamp(target, lo, hi, tp));
        }
        plans.insert(g.clone(), plan);
    }
    if a.execute {
        for (g, plan) in &plans {
            admin.commit_group_offsets(g, plan).await?;
        }
    }
    if a.export {
        let multi = plans.len() > 1;
        for (g, plan) in &plans {
            for ((t, p), o) in plan {
                if multi {
                    println!("{g},{t},{p},{o}");
                } else {
                    println!("{t},{p},{o}");
                }
            }
        }
        return Ok(0);
    }
    print_plan(&plans);
    Ok(0)
}

/// A reset target kept inside the log's range, with Kafka's notice when it was not.
pub(crate) fn clamp(target: i64, lo: i64, hi: i64, tp: &(String, i32)) -> i64 {
    if target > hi {
        eprintln!("New offset ({target}) is higher than latest offset for topic partition {}-{}. Value will be set to {hi}", tp.0, tp.1);
        hi
    } else if target < lo {
        eprintln!("New offset ({target}) is lower than earliest offset for topic partition {}-{}. Value will be set to {lo}", tp.0, tp.1);
        lo
    } else {
        target
    }
}

/// The reset plan as Kafka prints it (dry run and --execute alike).
pub(crate) fn print_plan(plans: &BTreeMap<String, Plan>) {
    let mut out = format!("\n{:<30} {:<30} {:<10} {:<15}", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
    for (g, plan) in plans {
        for ((t, p), o) in plan {
            out.push_str(&format!("\n{g:<30} {t:<30} {p:<10} {o:<15}"));
        }
    }
    println!("{out}");
}

pub(crate) async fn offsets_for_times(
    admin: &Admin,
    parts: &[(String, i32)],
    ts: i64,
) -> anyhow::Result<BTreeMap<(String, i32), Option<i64>>> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in parts {
        by_topic.entry(t).or_default().push(*p);
    }
    let mut out = BTreeMap::new();
    for (t, ps) in by_topic {
        for (p, r) in admin.list_offsets(t, &ps, OffsetSpec::Timestamp(ts)).await? {
            let o = r?.0;
            out.insert((t.to_string(), p), (o >= 0).then_some(o));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_and_durations() {
        assert_eq!(parse_datetime("1970-01-01T00:00:01.000").unwrap(), 1000);
        assert_eq!(parse_datetime("1970-01-01T01:00:00.000+01:00").unwrap(), 0);
        assert_eq!(parse_datetime("1970-01-01T00:00:00.000-0130").unwrap(), 5_400_000);
        assert_eq!(parse_datetime("2024-02-29T12:00:00.000Z").unwrap(), 1_709_208_000_000);
        assert!(parse_datetime("yesterday").is_err());
        assert_eq!(parse_duration("PT1H").unwrap(), 3_600_000);
        assert_eq!(parse_duration("P1DT2M3.5S").unwrap(), 86_400_000 + 120_000 + 3500);
        assert!(parse_duration("1H").is_err());
    }
}
