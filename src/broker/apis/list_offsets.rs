//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), earliest local (-4),
//! latest tiered (-5) and by timestamp (the earliest offset whose timestamp is >= target).

use super::{Ctx, code};
use crate::broker::security::acl::{Op, Resource};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::*;
use std::collections::HashSet;

pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL: i64 = -4;
pub const LATEST_TIERED: i64 = -5;

pub async fn handle(ctx: &Ctx<'_>, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let b = ctx.broker;
    let mut seen = HashSet::new();
    let acl = ctx.acl();
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let described = acl.allowed(Op::Describe, Resource::Topic(&name));
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let resp =
                        ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index).with_timestamp(-1).with_offset(-1);
                    if !seen.insert((name.clone(), p.partition_index)) {
                        return resp.with_error_code(code(E::InvalidRequest));
                    }
                    if !described {
                        return resp.with_error_code(code(E::TopicAuthorizationFailed));
                    }
                    let Some(part) = b.replicas.get(&name, p.partition_index) else {
                        return resp.with_error_code(code(E::UnknownTopicOrPartition));
                    };
                    let epoch = part.leader_epoch();
                    // The leader epoch field exists from v4 on.
                    let reported_epoch = if ctx.version >= 4 { epoch } else { -1 };
                    if p.current_leader_epoch >= 0 && p.current_leader_epoch != epoch {
                        let e = if p.current_leader_epoch < epoch { E::FencedLeaderEpoch } else { E::UnknownLeaderEpoch };
                        return resp.with_error_code(code(e));
                    }
                    let o = part.offsets();
                    // What a client of this isolation level may read: LATEST is the LSO for
                    // read_committed (v2+), the HW otherwise; lookups past it find nothing.
                    let fetchable = if ctx.version >= 2 && req.isolation_level == 1 { o.last_stable } else { o.high_watermark };
                    let answer = match p.timestamp {
                        LATEST => Ok(Some((fetchable, -1))),
                        EARLIEST | EARLIEST_LOCAL => Ok(Some((o.log_start, -1))),
                        LATEST_TIERED => Ok(None),
                        MAX_TIMESTAMP => part.max_timestamp(),
                        ts if ts >= 0 => part.offset_for_timestamp(ts),
                        _ => return resp.with_error_code(code(E::InvalidRequest)),
                    };
                    match answer {
                        Ok(Some((offset, _))) if p.timestamp >= 0 && offset >= fetchable => resp.with_leader_epoch(reported_epoch),
                        Ok(Some((offset, ts))) => resp.with_offset(offset).with_timestamp(ts).with_leader_epoch(reported_epoch),
                        Ok(None) => resp.with_leader_epoch(reported_epoch),
                        Err(e) => resp.with_error_code(e.code()),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
