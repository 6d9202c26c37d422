//! DeleteRecords (moves log start offsets), DescribeLogDirs (sizes per partition and the
//! disk's capacity) and OffsetForLeaderEpoch (end offset of a leader epoch, from the
//! leader epoch cache). DeleteRecords needs DELETE on the topic, DescribeLogDirs DESCRIBE
//! on the cluster, OffsetForLeaderEpoch CLUSTER_ACTION (followers) or DESCRIBE on the topic.

use super::{Ctx, code, sb};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::describe_log_dirs_response::{DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic};
use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::*;
use std::collections::BTreeMap;

pub async fn delete_records(ctx: &Ctx<'_>, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let allowed = acl.allowed(Op::Delete, Resource::Topic(&name));
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index).with_low_watermark(-1);
                    if !allowed {
                        return r.with_error_code(code(E::TopicAuthorizationFailed));
                    }
                    match b.replicas.get(&name, p.partition_index) {
                        None => r.with_error_code(code(E::UnknownTopicOrPartition)),
                        Some(part) => match part.delete_records_before(p.offset) {
                            Ok(lw) => r.with_low_watermark(lw),
                            Err(e) => r.with_error_code(e.code()),
                        },
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}

/// (total, usable) bytes of the filesystem holding `dir`, -1 when unknown.
fn disk_space(dir: &std::path::Path) -> (i64, i64) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return (-1, -1);
    };
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a properly sized out-parameter.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return (-1, -1);
    }
    let frsize = s.f_frsize as i64;
    (s.f_blocks as i64 * frsize, s.f_bavail as i64 * frsize)
}

pub async fn describe_log_dirs(ctx: &Ctx<'_>, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let b = ctx.broker;
    if !ctx.authorize(Op::Describe, Resource::Cluster) {
        return DescribeLogDirsResponse::default().with_error_code(code(E::ClusterAuthorizationFailed));
    }
    let wanted: Option<BTreeMap<String, Vec<i32>>> =
        req.topics.map(|ts| ts.into_iter().map(|t| (t.topic.0.to_string(), t.partitions)).collect());
    let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    let mut all = b.replicas.all();
    all.sort_by(|a, b| (&a.topic, a.index).cmp(&(&b.topic, b.index)));
    for p in all {
        if let Some(w) = &wanted
            && !w.get(&p.topic).is_some_and(|ps| ps.contains(&p.index))
        {
            continue;
        }
        by_topic.entry(p.topic.clone()).or_default().push(
            DescribeLogDirsPartition::default().with_partition_index(p.index).with_partition_size(p.size_bytes() as i64).with_offset_lag(0),
        );
    }
    let dir = b.replicas.data_dir();
    let (total, usable) = disk_space(dir);
    let result = DescribeLogDirsResult::default()
        .with_log_dir(sb(dir.display().to_string()))
        .with_topics(
            by_topic.into_iter().map(|(n, ps)| DescribeLogDirsTopic::default().with_name(TopicName(sb(n))).with_partitions(ps)).collect(),
        )
        .with_total_bytes(total)
        .with_usable_bytes(usable);
    DescribeLogDirsResponse::default().with_results(vec![result])
}

pub async fn offset_for_leader_epoch(ctx: &Ctx<'_>, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let b = ctx.broker;
    let acl = ctx.acl();
    let cluster_action = acl.allowed(Op::ClusterAction, Resource::Cluster);
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.0.to_string();
            let allowed = cluster_action || acl.allowed(Op::Describe, Resource::Topic(&name));
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = EpochEndOffset::default().with_partition(p.partition).with_leader_epoch(-1).with_end_offset(-1);
                    if !allowed {
                        return r.with_error_code(code(E::TopicAuthorizationFailed));
                    }
                    let Some(part) = b.replicas.get(&name, p.partition) else {
                        return r.with_error_code(code(E::UnknownTopicOrPartition));
                    };
                    let epoch = part.leader_epoch();
                    if p.current_leader_epoch >= 0 && p.current_leader_epoch != epoch {
                        let e = if p.current_leader_epoch < epoch { E::FencedLeaderEpoch } else { E::UnknownLeaderEpoch };
                        return r.with_error_code(code(e));
                    }
                    if !part.is_leader() {
                        return r.with_error_code(code(E::NotLeaderOrFollower));
                    }
                    // The leader epoch cache: the largest epoch <= the requested one and
                    // where it ended (the log end for the current epoch).
                    let (e, end) = part.end_offset_for_epoch(p.leader_epoch);
                    r.with_leader_epoch(e).with_end_offset(end)
                })
                .collect();
            OffsetForLeaderTopicResult::default().with_topic(t.topic).with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
