//! Fetch from a follower (replica id ≥ 0; Kafka's Partition.fetchRecords for replicas):
//! reads up to the log end, not the HW; records the follower's position (which moves the
//! HW, so acks=all produces complete, and may let it join the ISR); answers a follower
//! whose last fetched epoch ended earlier on this leader with the diverging epoch so it
//! truncates (KIP-320); long-polls like a consumer fetch.

use super::Ctx;
use crate::broker::network::frame;
use crate::broker::replica::{FetchIsolation, IsrChange, Partition};
use crate::broker::security::acl::{Op, Resource};
use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::fetch_response::{EpochEndOffset, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Wanted {
    topic: String,
    topic_id: uuid::Uuid,
    partition: i32,
    fetch_offset: i64,
    current_leader_epoch: i32,
    last_fetched_epoch: i32,
    max_bytes: usize,
    handle: Option<Arc<Partition>>,
    /// This follower's replica is throttled (a reassignment's catch-up).
    throttled: bool,
}

use super::fetch::error_data;

/// Checks a follower's request against this partition; records its fetch. Err: answer
/// this now (an error, or the diverging epoch).
fn check(ctx: &Ctx<'_>, replica: i32, w: &Wanted) -> Option<PartitionData> {
    let Some(p) = &w.handle else { return Some(error_data(w.partition, E::UnknownTopicOrPartition)) };
    if !p.is_leader() {
        return Some(error_data(w.partition, E::NotLeaderOrFollower));
    }
    let (epoch, _) = p.epochs();
    if w.current_leader_epoch >= 0 && w.current_leader_epoch != epoch {
        let e = if w.current_leader_epoch < epoch { E::FencedLeaderEpoch } else { E::UnknownLeaderEpoch };
        return Some(error_data(w.partition, e));
    }
    if w.last_fetched_epoch >= 0 {
        let (e, end) = p.epoch_end(w.last_fetched_epoch);
        if e != w.last_fetched_epoch || end < w.fetch_offset {
            let o = p.offsets();
            return Some(
                PartitionData::default()
                    .with_partition_index(w.partition)
                    .with_high_watermark(o.high_watermark)
                    .with_last_stable_offset(o.last_stable)
                    .with_log_start_offset(o.log_start)
                    .with_diverging_epoch(EpochEndOffset::default().with_epoch(e).with_end_offset(end))
                    .with_records(Some(Bytes::new())),
            );
        }
    }
    let now = crate::broker::log::now_ms();
    // A fenced or shutting-down broker would be refused by the controller: proposing it on
    // every fetch while it catches up is only noise.
    let may_join = ctx.broker.image().brokers.get(&replica).is_none_or(|b| !b.fenced && !b.in_controlled_shutdown);
    if let IsrChange::Expand(isr) = p.follower_fetched(replica, w.fetch_offset, now, may_join) {
        ctx.broker.isr.propose(p.clone(), isr);
    }
    None
}

pub async fn handle(ctx: &Ctx<'_>, req: FetchRequest, replica: i32) -> super::fetch::FetchReply {
    let b = ctx.broker;
    let by_id = ctx.version >= 13;
    // A follower needs CLUSTER_ACTION on the cluster (brokers are usually super users).
    if !ctx.authorize(Op::ClusterAction, Resource::Cluster) {
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let r = if by_id { FetchableTopicResponse::default().with_topic_id(t.topic_id) } else { FetchableTopicResponse::default() };
                r.with_topic(t.topic.clone())
                    .with_partitions(t.partitions.iter().map(|p| error_data(p.partition, E::TopicAuthorizationFailed)).collect())
            })
            .collect();
        return FetchResponse::default().with_responses(topics).into();
    }
    let image = b.image();
    let wanted: Vec<Wanted> = req
        .topics
        .iter()
        .flat_map(|t| {
            let (topic, topic_id) = if by_id {
                (image.ids.get(&t.topic_id).cloned().unwrap_or_default(), t.topic_id)
            } else {
                let n = t.topic.0.to_string();
                let id = image.topic(&n).map(|x| x.id).unwrap_or_default();
                (n, id)
            };
            t.partitions.iter().map(move |p| Wanted {
                topic: topic.clone(),
                topic_id,
                partition: p.partition,
                fetch_offset: p.fetch_offset,
                current_leader_epoch: if ctx.version >= 9 { p.current_leader_epoch } else { -1 },
                last_fetched_epoch: if ctx.version >= 12 { p.last_fetched_epoch } else { -1 },
                max_bytes: p.partition_max_bytes.max(0) as usize,
                handle: None,
                throttled: false,
            })
        })
        .map(|mut w| {
            w.handle = b.replicas.get(&w.topic, w.partition);
            w.throttled = image
                .topic(&w.topic)
                .and_then(|t| t.configs.get("leader.replication.throttled.replicas"))
                // Entries name the broker throttled as a leader (this one), as Kafka parses them.
                .is_some_and(|l| crate::broker::replica::throttle::is_throttled(l, w.partition, b.config.node_id));
            w
        })
        .collect();
    let rate = image
        .broker_config(b.config.node_id, "leader.replication.throttled.rate")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(i64::MAX);
    // Errors and divergence are answered at once; the rest is read (and waited for).
    let early: Vec<Option<PartitionData>> = wanted.iter().map(|w| check(ctx, replica, w)).collect();
    let max_bytes = if req.max_bytes <= 0 { i32::MAX as usize } else { req.max_bytes as usize };
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let watched: Vec<Arc<Partition>> = wanted.iter().filter_map(|w| w.handle.clone()).collect();
    let shared = Arc::new((wanted, early));
    let min_bytes = req.min_bytes.max(0) as usize;
    let outcomes = b
        .replicas
        .wait_for_data(&watched, min_bytes, deadline, || {
            let shared = shared.clone();
            async move {
                let replicas = b.replicas.clone();
                tokio::task::spawn_blocking(move || read_pass(&shared.0, &shared.1, max_bytes, &replicas.throttle, rate))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
            }
        })
        .await;
    let nonce: [u8; 12] = rand::random();
    let mut regions = Vec::new();
    let mut responses: Vec<FetchableTopicResponse> = Vec::new();
    for (w, (mut data, region)) in shared.0.iter().zip(outcomes) {
        let same = responses.last().is_some_and(|t| if by_id { t.topic_id == w.topic_id } else { t.topic.0.as_str() == w.topic });
        if !same {
            responses.push(if by_id {
                FetchableTopicResponse::default().with_topic_id(w.topic_id)
            } else {
                FetchableTopicResponse::default().with_topic(TopicName(super::sb(w.topic.clone())))
            });
        }
        if let Some(r) = region {
            data.records = Some(frame::marker(&nonce, regions.len()));
            regions.push(r);
        }
        responses.last_mut().expect("pushed").partitions.push(data);
    }
    super::fetch::FetchReply { response: FetchResponse::default().with_responses(responses), regions, nonce }
}

type Read = (PartitionData, Option<crate::broker::log::FileRegion>);

/// One read of every partition: (outcomes, bytes found, answer now?).
fn read_pass(
    wanted: &[Wanted],
    early: &[Option<PartitionData>],
    max_bytes: usize,
    throttle: &crate::broker::replica::throttle::Throttle,
    rate: i64,
) -> (Vec<Read>, usize, bool) {
    let mut total = 0usize;
    let mut answer_now = false;
    let out = wanted
        .iter()
        .zip(early)
        .map(|(w, e)| {
            if let Some(d) = e {
                answer_now = true;
                return (d.clone(), None);
            }
            let Some(p) = &w.handle else { return (error_data(w.partition, E::UnknownTopicOrPartition), None) };
            let mut limit = w.max_bytes.min(max_bytes.saturating_sub(total));
            if w.throttled {
                limit = throttle.take(rate, limit);
            }
            let base = PartitionData::default().with_partition_index(w.partition).with_records(Some(Bytes::new()));
            // A throttled replica gets nothing while the bucket is empty (not even one batch).
            match p.read_region(w.fetch_offset, limit, total == 0 && !(w.throttled && limit == 0), FetchIsolation::LogEnd) {
                Ok((region, o)) => {
                    let data = base
                        .with_high_watermark(o.high_watermark)
                        .with_last_stable_offset(o.last_stable)
                        .with_log_start_offset(o.log_start);
                    if let Some(r) = &region {
                        total += r.len;
                    }
                    (data, region)
                }
                Err(e) => {
                    answer_now = true;
                    let o = p.offsets();
                    let data = base
                        .with_error_code(e.code())
                        .with_high_watermark(o.high_watermark)
                        .with_last_stable_offset(o.last_stable)
                        .with_log_start_offset(o.log_start);
                    (data, None)
                }
            }
        })
        .collect();
    (out, total, answer_now)
}
