//! `rk metadata-quorum` (kafka-metadata-quorum.sh): `describe --status` and
//! `describe --replication [--human-readable]` over DescribeQuorum, printed as Kafka prints
//! them (8 padded lines; a tab-terminated table), or as JSON with `--output json`.

use super::common::{ClientArgs, OutputFormat, usage_error};
use super::transactions::pretty_table;
use crate::client::admin_quorum::{QuorumInfo, ReplicaState, connect_bootstrap, describe_quorum, kafka_uuid};
use crate::client::{ClientError, admin_quorum};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct MetadataQuorumArgs {
    /// A comma-separated list of host:port pairs to use for establishing the connection to
    /// the Kafka cluster. Defaults to $RK_BROKERS, then localhost:9092.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    /// A comma-separated list of host:port pairs to use for establishing the connection to
    /// the Kafka controllers (rk sends the same DescribeQuorum to them).
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub bootstrap_controller: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long, global = true, value_name = "FILE")]
    pub command_config: Option<PathBuf>,
    /// An admin client property: key=value (repeatable; wins over --command-config).
    #[arg(long = "command-property", global = true, value_name = "KEY=VALUE")]
    pub command_properties: Vec<String>,
    /// Output format: Kafka's text, or JSON (snake_case keys; timestamps in epoch ms or null).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: QuorumCommand,
}

#[derive(Subcommand, Debug)]
pub enum QuorumCommand {
    /// Describe the metadata quorum info.
    #[command(infer_long_args = true)]
    Describe(DescribeArgs),
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// A short summary of the quorum status and the other provides detailed information
    /// about the status of replication.
    #[arg(long)]
    pub status: bool,
    /// Detailed information about the status of replication.
    #[arg(long)]
    pub replication: bool,
    /// Human-readable output (with --replication): timestamps as "N ms ago".
    #[arg(long)]
    pub human_readable: bool,
}

/// The voter with the lowest log end offset (the first of equals) and how far it trails
/// the leader: Kafka's MaxFollowerLag and MaxFollowerLagTimeMs.
pub fn max_follower_lag(q: &QuorumInfo, leader: usize) -> (i64, i64) {
    let mut min = 0;
    for (i, v) in q.voters.iter().enumerate() {
        if v.log_end_offset < q.voters[min].log_end_offset {
            min = i;
        }
    }
    let (l, f) = (&q.voters[leader], &q.voters[min]);
    let time = if min == leader {
        0
    } else {
        match (l.last_caught_up_timestamp, f.last_caught_up_timestamp) {
            (Some(a), Some(b)) => a - b,
            _ => -1,
        }
    };
    (l.log_end_offset - f.log_end_offset, time)
}

/// Kafka's `Node.toString` in CurrentVoters/CurrentObservers.
fn node_text(q: &QuorumInfo, r: &ReplicaState) -> String {
    let dir = if r.directory_id.is_nil() { "null".to_string() } else { format!("\"{}\"", kafka_uuid(&r.directory_id)) };
    let eps: Vec<String> = q.nodes.get(&r.id).map(|e| e.iter().map(|e| format!("\"{e}\"")).collect()).unwrap_or_default();
    if eps.is_empty() {
        format!("{{\"id\": {}, \"directoryId\": {dir}}}", r.id)
    } else {
        format!("{{\"id\": {}, \"directoryId\": {dir}, \"endpoints\": [{}]}}", r.id, eps.join(", "))
    }
}

fn nodes_text(q: &QuorumInfo, rs: &[ReplicaState]) -> String {
    format!("[{}]", rs.iter().map(|r| node_text(q, r)).collect::<Vec<_>>().join(", "))
}

pub fn status_text(cluster_id: &str, q: &QuorumInfo, leader: usize) -> String {
    let (lag, lag_ms) = max_follower_lag(q, leader);
    format!(
        "ClusterId:              {cluster_id}\nLeaderId:               {}\nLeaderEpoch:            {}\nHighWatermark:          {}\n\
         MaxFollowerLag:         {lag}\nMaxFollowerLagTimeMs:   {lag_ms}\nCurrentVoters:          {}\nCurrentObservers:       {}\n",
        q.leader_id,
        q.leader_epoch,
        q.high_watermark,
        nodes_text(q, &q.voters),
        nodes_text(q, &q.observers)
    )
}

/// Kafka's `relativeTimeMs`: how long ago `ts` was, refused unless 0 < ts ≤ now.
pub fn relative_time_ms(ts: i64, now: i64, desc: &str) -> Result<i64, String> {
    if ts > 0 && ts <= now {
        Ok(now - ts)
    } else {
        Err(format!(
            "Error while computing relative time, possible drift in system clock.\nCurrent timestamp is {now}, {desc} timestamp is {ts}"
        ))
    }
}

/// The rows of `--replication`: the leader, the other voters, then the observers.
pub fn replication_rows(q: &QuorumInfo, leader: usize, human: Option<i64>) -> Result<Vec<Vec<String>>, String> {
    let l = &q.voters[leader];
    let ts = |t: Option<i64>, desc: &str| -> Result<String, String> {
        match (t, human) {
            (None, _) => Ok("-1".into()),
            (Some(t), Some(now)) => Ok(format!("{} ms ago", relative_time_ms(t, now, desc)?)),
            (Some(t), None) => Ok(t.to_string()),
        }
    };
    let followers = q.voters.iter().enumerate().filter(|(i, v)| *i != leader && v.id != l.id).map(|(_, v)| (v, "Follower"));
    let ordered = std::iter::once((l, "Leader")).chain(followers).chain(q.observers.iter().map(|o| (o, "Observer")));
    ordered
        .map(|(r, status)| {
            Ok(vec![
                r.id.to_string(),
                kafka_uuid(&r.directory_id),
                r.log_end_offset.to_string(),
                (l.log_end_offset - r.log_end_offset).to_string(),
                ts(r.last_fetch_timestamp, "last fetch")?,
                ts(r.last_caught_up_timestamp, "last caught up")?,
                status.to_string(),
            ])
        })
        .collect()
}

fn replica_json(q: &QuorumInfo, r: &ReplicaState, with_endpoints: bool) -> Value {
    let dir = if r.directory_id.is_nil() { Value::Null } else { Value::String(kafka_uuid(&r.directory_id)) };
    let mut v = json!({"id": r.id, "directory_id": dir});
    if with_endpoints {
        let eps: Vec<String> = q.nodes.get(&r.id).map(|e| e.iter().map(|e| e.to_string()).collect()).unwrap_or_default();
        v["endpoints"] = json!(eps);
    }
    v
}

fn status_json(cluster_id: &str, q: &QuorumInfo, leader: usize) -> Value {
    let (lag, lag_ms) = max_follower_lag(q, leader);
    json!({
        "cluster_id": cluster_id,
        "leader_id": q.leader_id,
        "leader_epoch": q.leader_epoch,
        "high_watermark": q.high_watermark,
        "max_follower_lag": lag,
        "max_follower_lag_time_ms": lag_ms,
        "current_voters": q.voters.iter().map(|r| replica_json(q, r, true)).collect::<Vec<_>>(),
        "current_observers": q.observers.iter().map(|r| replica_json(q, r, false)).collect::<Vec<_>>(),
    })
}

fn replication_json(rows: &[Vec<String>], q: &QuorumInfo, leader: usize) -> Value {
    let l = &q.voters[leader];
    let all: Vec<&ReplicaState> = std::iter::once(l)
        .chain(q.voters.iter().enumerate().filter(|(i, v)| *i != leader && v.id != l.id).map(|(_, v)| v))
        .chain(&q.observers)
        .collect();
    let out: Vec<Value> = all
        .iter()
        .zip(rows)
        .map(|(r, row)| {
            json!({
                "node_id": r.id,
                "directory_id": if r.directory_id.is_nil() { Value::Null } else { Value::String(kafka_uuid(&r.directory_id)) },
                "log_end_offset": r.log_end_offset,
                "lag": l.log_end_offset - r.log_end_offset,
                "last_fetch_timestamp": r.last_fetch_timestamp,
                "last_caught_up_timestamp": r.last_caught_up_timestamp,
                "status": row[6].to_lowercase(),
            })
        })
        .collect();
    Value::Array(out)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn emit(s: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()
}

fn fail(msg: &str) -> anyhow::Result<i32> {
    eprintln!("{msg}");
    Ok(1)
}

pub fn run(a: MetadataQuorumArgs) -> anyhow::Result<i32> {
    if a.bootstrap_server.is_some() && a.bootstrap_controller.is_some() {
        return usage_error("argument --bootstrap-controller: not allowed with argument --bootstrap-server");
    }
    if let Some(f) = &a.command_config
        && !f.exists()
    {
        return fail(&format!("Properties file {} does not exists!", f.display()));
    }
    let QuorumCommand::Describe(d) = &a.command;
    if d.status && d.replication {
        return usage_error("Only one of --status or --replication should be specified with describe sub-command");
    }
    if !d.status && !d.replication {
        return usage_error("One of --status or --replication must be specified with describe sub-command");
    }
    if d.status && d.human_readable {
        return usage_error("The option --human-readable is only supported along with --replication");
    }
    let client = ClientArgs {
        bootstrap_server: a.bootstrap_server.clone().or_else(|| a.bootstrap_controller.clone()),
        command_config: a.command_config.clone(),
        command_properties: a.command_properties.clone(),
    };
    let cfg = client.config("rk-metadata-quorum")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result: Result<(Option<String>, QuorumInfo), ClientError> = rt.block_on(async {
        let conn = connect_bootstrap(&cfg).await?;
        let cluster_id = if d.status { Some(admin_quorum::cluster_id(&conn).await?) } else { None };
        Ok((cluster_id, describe_quorum(&conn, cfg.request_timeout).await?))
    });
    let (cluster_id, q) = match result {
        Ok(r) => r,
        Err(ClientError::Kafka { message, .. }) => return fail(&message),
        Err(e) => return fail(&e.to_string()),
    };
    let Some(leader) = q.voters.iter().position(|v| v.id == q.leader_id) else {
        return fail(&format!("The quorum has no leader among its voters (leader id {})", q.leader_id));
    };
    let json_out = a.output == OutputFormat::Json;
    if let Some(id) = cluster_id {
        if json_out {
            emit(&format!("{}\n", serde_json::to_string_pretty(&status_json(&id, &q, leader))?))?;
        } else {
            emit(&status_text(&id, &q, leader))?;
        }
        return Ok(0);
    }
    let human = (d.human_readable && !json_out).then(now_ms);
    let rows = match replication_rows(&q, leader, human) {
        Ok(r) => r,
        Err(msg) => return fail(&msg),
    };
    if json_out {
        emit(&format!("{}\n", serde_json::to_string_pretty(&replication_json(&rows, &q, leader))?))?;
    } else {
        let headers = ["NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"];
        emit(&pretty_table(&headers, &rows))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::admin_quorum::Endpoint;
    use uuid::Uuid;

    fn rs(id: i32, leo: i64, caught_up: Option<i64>) -> ReplicaState {
        ReplicaState {
            id,
            directory_id: Uuid::nil(),
            log_end_offset: leo,
            last_fetch_timestamp: caught_up,
            last_caught_up_timestamp: caught_up,
        }
    }

    fn quorum() -> QuorumInfo {
        let mut voters = vec![rs(1, 100, Some(5000)), rs(2, 90, Some(4000)), rs(3, 95, None)];
        voters[1].directory_id = Uuid::from_bytes([0xff; 16]);
        let ep = |h: &str| vec![Endpoint { name: "CONTROLLER".into(), host: h.into(), port: 9093 }];
        QuorumInfo {
            leader_id: 1,
            leader_epoch: 7,
            high_watermark: 99,
            voters,
            observers: vec![rs(4, 80, None)],
            nodes: [(1, ep("h1")), (2, ep("::1"))].into_iter().collect(),
        }
    }

    #[test]
    fn status_prints_kafkas_eight_lines() {
        assert_eq!(
            status_text("abc", &quorum(), 0),
            "ClusterId:              abc\nLeaderId:               1\nLeaderEpoch:            7\nHighWatermark:          99\n\
             MaxFollowerLag:         10\nMaxFollowerLagTimeMs:   1000\n\
             CurrentVoters:          [{\"id\": 1, \"directoryId\": null, \"endpoints\": [\"CONTROLLER://h1:9093\"]}, \
             {\"id\": 2, \"directoryId\": \"_____________________w\", \"endpoints\": [\"CONTROLLER://[::1]:9093\"]}, \
             {\"id\": 3, \"directoryId\": null}]\n\
             CurrentObservers:       [{\"id\": 4, \"directoryId\": null}]\n"
        );
    }

    #[test]
    fn max_lag_rules() {
        let mut q = quorum();
        q.voters[1].log_end_offset = 100;
        q.voters[2].log_end_offset = 100;
        // The leader is the (first) lowest: no lag.
        assert_eq!(max_follower_lag(&q, 0), (0, 0));
        q.voters[2].log_end_offset = 50;
        // The laggard has no caught-up time: -1.
        assert_eq!(max_follower_lag(&q, 0), (50, -1));
        q.voters = vec![rs(1, 10, Some(1))];
        q.observers.clear();
        assert_eq!(max_follower_lag(&q, 0), (0, 0));
    }

    #[test]
    fn replication_rows_and_relative_times() {
        let q = quorum();
        let rows = replication_rows(&q, 0, None).unwrap();
        let t =
            pretty_table(&["NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"], &rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t");
        assert_eq!(lines[1], "1     \tAAAAAAAAAAAAAAAAAAAAAA\t100         \t0  \t5000              \t5000                 \tLeader  \t");
        assert_eq!(lines[3], "3     \tAAAAAAAAAAAAAAAAAAAAAA\t95          \t5  \t-1                \t-1                   \tFollower\t");
        assert_eq!(lines[4], "4     \tAAAAAAAAAAAAAAAAAAAAAA\t80          \t20 \t-1                \t-1                   \tObserver\t");
        let human = replication_rows(&q, 0, Some(6000)).unwrap();
        assert_eq!(human[0][4], "1000 ms ago");
        assert_eq!(human[1][5], "2000 ms ago");
        assert_eq!(human[2][4], "-1");
        let e = replication_rows(&q, 0, Some(4500)).unwrap_err();
        assert_eq!(
            e,
            "Error while computing relative time, possible drift in system clock.\nCurrent timestamp is 4500, last fetch timestamp is 5000"
        );
        assert!(relative_time_ms(0, 10, "x").is_err());
        assert_eq!(relative_time_ms(10, 10, "x"), Ok(0));
    }

    #[test]
    fn json_keys_are_snake_case() {
        let q = quorum();
        let s = status_json("abc", &q, 0);
        assert_eq!(s["max_follower_lag_time_ms"], 1000);
        assert_eq!(s["current_voters"][1]["directory_id"], "_____________________w");
        assert_eq!(s["current_voters"][1]["endpoints"][0], "CONTROLLER://[::1]:9093");
        assert!(s["current_observers"][0].get("endpoints").is_none());
        let rows = replication_rows(&q, 0, None).unwrap();
        let r = replication_json(&rows, &q, 0);
        assert_eq!(r[0]["status"], "leader");
        assert_eq!(r[3]["lag"], 20);
        assert_eq!(r[2]["last_fetch_timestamp"], Value::Null);
    }
}
