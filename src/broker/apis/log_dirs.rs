//! DescribeLogDirs (each log dir with its partitions' sizes, a moving partition's future
//! copy, and the disk's capacity) and AlterReplicaLogDirs (move partitions between log
//! dirs in the background; a partition not hosted yet is created in the dir asked for).
//! DescribeLogDirs needs DESCRIBE on the cluster, AlterReplicaLogDirs ALTER.

use super::{Ctx, code, sb};
use crate::broker::replica::log_dirs::disk_space;
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::alter_replica_log_dirs_response::{AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult};
use kafka_protocol::messages::describe_log_dirs_response::{DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic};
use kafka_protocol::messages::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Bytes of the regular files in a directory (a future copy's progress).
fn dir_size(dir: &std::path::Path) -> i64 {
    std::fs::read_dir(dir).map(|es| es.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len() as i64).sum()).unwrap_or(0)
}

pub async fn describe_log_dirs(ctx: &Ctx<'_>, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let b = ctx.broker;
    if !ctx.authorize(Op::Describe, Resource::Cluster) {
        return DescribeLogDirsResponse::default().with_error_code(code(E::ClusterAuthorizationFailed));
    }
    let wanted: Option<BTreeMap<String, Vec<i32>>> =
        req.topics.map(|ts| ts.into_iter().map(|t| (t.topic.0.to_string(), t.partitions)).collect());
    let dirs = &b.replicas.log_dirs;
    // log dir → topic → partitions
    let mut by_dir: BTreeMap<PathBuf, BTreeMap<String, Vec<DescribeLogDirsPartition>>> =
        dirs.dirs.iter().map(|d| (d.clone(), BTreeMap::new())).collect();
    let mut all = b.replicas.all();
    all.sort_by(|a, b| (&a.topic, a.index).cmp(&(&b.topic, b.index)));
    for p in all {
        if let Some(w) = &wanted
            && !w.get(&p.topic).is_some_and(|ps| ps.contains(&p.index))
        {
            continue;
        }
        let pdir = p.dir();
        let Some(home) = dirs.log_dir_of(&pdir) else { continue };
        let entry =
            DescribeLogDirsPartition::default().with_partition_index(p.index).with_partition_size(p.size_bytes() as i64).with_offset_lag(0);
        by_dir.entry(home.clone()).or_default().entry(p.topic.clone()).or_default().push(entry);
        if dirs.is_moving(&p.topic, p.index) {
            // The future copy being made in another log dir (Kafka's is_future_key).
            let name = pdir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            for d in dirs.dirs.iter().filter(|d| *d != home) {
                let future = d.join(format!("{name}.{}-future", p.topic_id.simple()));
                if future.is_dir() {
                    let size = dir_size(&future);
                    let f = DescribeLogDirsPartition::default()
                        .with_partition_index(p.index)
                        .with_partition_size(size)
                        .with_is_future_key(true);
                    by_dir.entry(d.clone()).or_default().entry(p.topic.clone()).or_default().push(f);
                }
            }
        }
    }
    let results = by_dir
        .into_iter()
        .map(|(dir, topics)| {
            let (total, usable) = disk_space(&dir);
            DescribeLogDirsResult::default()
                .with_log_dir(sb(dir.display().to_string()))
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(n, ps)| DescribeLogDirsTopic::default().with_name(TopicName(sb(n))).with_partitions(ps))
                        .collect(),
                )
                .with_total_bytes(total)
                .with_usable_bytes(usable)
        })
        .collect();
    DescribeLogDirsResponse::default().with_results(results)
}

pub async fn alter_replica_log_dirs(ctx: &Ctx<'_>, req: AlterReplicaLogDirsRequest) -> AlterReplicaLogDirsResponse {
    let b = ctx.broker;
    let allowed = ctx.authorize(Op::Alter, Resource::Cluster);
    let mut results: BTreeMap<String, Vec<AlterReplicaLogDirPartitionResult>> = BTreeMap::new();
    for d in req.dirs {
        let path = PathBuf::from(d.path.as_str());
        let known = b.replicas.log_dirs.dirs.contains(&path);
        for t in d.topics {
            for idx in t.partitions {
                let err = if !allowed {
                    code(E::ClusterAuthorizationFailed)
                } else if !known {
                    code(E::LogDirNotFound)
                } else {
                    start_move(ctx, &t.name.0, idx, path.clone())
                };
                results
                    .entry(t.name.0.to_string())
                    .or_default()
                    .push(AlterReplicaLogDirPartitionResult::default().with_partition_index(idx).with_error_code(err));
            }
        }
    }
    AlterReplicaLogDirsResponse::default().with_results(
        results
            .into_iter()
            .map(|(t, ps)| AlterReplicaLogDirTopicResult::default().with_topic_name(TopicName(sb(t))).with_partitions(ps))
            .collect(),
    )
}

/// Starts moving one partition (in the background, as Kafka's future replica); a partition
/// not hosted here yet is created in `dir` when it is.
fn start_move(ctx: &Ctx<'_>, topic: &str, index: i32, dir: PathBuf) -> i16 {
    let b = ctx.broker;
    let Some(p) = b.replicas.get(topic, index) else {
        if b.image().topic(topic).is_some_and(|t| t.partitions.contains_key(&index)) {
            b.replicas.log_dirs.prefer(topic, index, dir);
            return 0;
        }
        return code(E::UnknownTopicOrPartition);
    };
    if p.dir().parent() == Some(dir.as_path()) || !b.replicas.log_dirs.start_move(topic, index) {
        return 0;
    }
    let broker = b.clone();
    tokio::task::spawn_blocking(move || {
        let dirs = &broker.replicas.log_dirs;
        if let Err(e) = crate::broker::replica::log_dirs::relocate(dirs, &p, &dir) {
            tracing::error!(topic = %p.topic, partition = p.index, to = %dir.display(), "moving the partition failed: {e}");
        }
        dirs.end_move(&p.topic, p.index);
    });
    0
}
