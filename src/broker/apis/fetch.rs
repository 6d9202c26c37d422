//! Fetch: reads whole batches from partition logs within max_bytes/partition_max_bytes
//! (consumers below the high watermark; read_committed below the last stable offset),
//! long-polls (max_wait_ms/min_bytes) in the replica manager's purgatory, and runs
//! incremental fetch sessions (KIP-227).

use super::{Ctx, code};
use crate::broker::fetch_session::{FINAL_EPOCH, FetchSession, INITIAL_EPOCH, SessionError, SessionPartition};
use crate::broker::log::FileRegion;
use crate::broker::log::LogError;
use crate::broker::network::frame;
use crate::broker::replica::{FetchIsolation, Partition};
use crate::broker::security::acl::{Op, Resource};
use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

const READ_COMMITTED: i8 = 1;

/// A Fetch response whose records are still in the log: `response` carries a marker per
/// region in place of the records, replaced at send time (network::frame).
pub struct FetchReply {
    pub response: FetchResponse,
    pub regions: Vec<FileRegion>,
    pub nonce: [u8; 12],
}

impl From<FetchResponse> for FetchReply {
    fn from(response: FetchResponse) -> FetchReply {
        FetchReply { response, regions: Vec::new(), nonce: [0; 12] }
    }
}

struct Outcome {
    data: PartitionData,
    /// Records already read into `data` (small regions).
    has_records: bool,
    /// The records to send, still in the segment file.
    region: Option<FileRegion>,
    /// (high watermark, log start) reported, to detect news in sessions.
    offsets: Option<(i64, i64)>,
    is_error: bool,
}

pub(super) fn error_data(idx: i32, e: E) -> PartitionData {
    PartitionData::default()
        .with_partition_index(idx)
        .with_error_code(code(e))
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_records(Some(Bytes::new()))
}

fn read_one(p: Option<&Arc<Partition>>, sp: &SessionPartition, limit: usize, min_one: bool, committed: bool) -> Outcome {
    let Some(part) = p else {
        let e = if sp.topic.is_empty() { E::UnknownTopicId } else { E::UnknownTopicOrPartition };
        return Outcome { data: error_data(sp.partition, e), region: None, has_records: false, offsets: None, is_error: true };
    };
    if !part.is_leader() {
        return Outcome {
            data: error_data(sp.partition, E::NotLeaderOrFollower),
            region: None,
            has_records: false,
            offsets: None,
            is_error: true,
        };
    }
    let epoch = part.leader_epoch();
    if sp.current_leader_epoch >= 0 && sp.current_leader_epoch != epoch {
        let e = if sp.current_leader_epoch < epoch { E::FencedLeaderEpoch } else { E::UnknownLeaderEpoch };
        return Outcome { data: error_data(sp.partition, e), region: None, has_records: false, offsets: None, is_error: true };
    }
    let base = PartitionData::default().with_partition_index(sp.partition).with_preferred_read_replica(BrokerId(-1));
    let base = if committed { base.with_aborted_transactions(Some(Vec::new())) } else { base };
    let isolation = if committed { FetchIsolation::Committed } else { FetchIsolation::HighWatermark };
    match part.read_region(sp.fetch_offset, limit, min_one, isolation) {
        Err(LogError::Deleted) => Outcome {
            data: error_data(sp.partition, E::UnknownTopicOrPartition),
            region: None,
            has_records: false,
            offsets: None,
            is_error: true,
        },
        Ok((region, o)) => Outcome {
            // read_committed: the aborted transactions among the batches sent, which the
            // client drops (Kafka's FetchResponse.AbortedTransactions).
            data: match (&region, committed) {
                (Some(r), true) => base.with_aborted_transactions(Some(
                    part.aborted_txns(sp.fetch_offset, r.next_offset)
                        .into_iter()
                        .map(|(pid, first)| {
                            fetch_response::AbortedTransaction::default().with_producer_id(ProducerId(pid)).with_first_offset(first)
                        })
                        .collect(),
                )),
                _ => base,
            }
            .with_high_watermark(o.high_watermark)
            .with_last_stable_offset(o.last_stable)
            .with_log_start_offset(o.log_start)
            .with_records(Some(Bytes::new())),
            region,
            has_records: false,
            offsets: Some((o.high_watermark, o.log_start)),
            is_error: false,
        },
        Err(e) => {
            let o = part.offsets();
            Outcome {
                data: base
                    .with_error_code(e.code())
                    .with_high_watermark(o.high_watermark)
                    .with_last_stable_offset(o.last_stable)
                    .with_log_start_offset(o.log_start)
                    .with_records(Some(Bytes::new())),
                region: None,
                has_records: false,
                offsets: Some((o.high_watermark, o.log_start)),
                is_error: true,
            }
        }
    }
}

/// One read of every partition of a fetch: (outcomes, bytes found, answer now?). Regions
/// too small for sendfile are read into memory here, off the async workers.
fn read_pass(
    parts: &[SessionPartition],
    handles: &[Option<Arc<Partition>>],
    max_bytes: usize,
    committed: bool,
) -> (Vec<Outcome>, usize, bool) {
    let mut total = 0usize;
    let mut any_error = false;
    let outcomes = parts
        .iter()
        .zip(handles)
        .map(|(sp, h)| {
            let limit = (sp.max_bytes.max(0) as usize).min(max_bytes.saturating_sub(total));
            let mut o = read_one(h.as_ref(), sp, limit, total == 0 && sp.max_bytes > 0, committed);
            if let Some(r) = o.region.as_ref() {
                total += r.len;
                if r.len < frame::SENDFILE_MIN {
                    let mut buf = vec![0u8; r.len];
                    match std::os::unix::fs::FileExt::read_exact_at(&*r.file, &mut buf, r.pos) {
                        Ok(()) => {
                            o.data.records = Some(Bytes::from(buf));
                            o.region = None;
                            o.has_records = true;
                        }
                        Err(e) => {
                            tracing::error!(topic = %sp.topic, partition = sp.partition, "cannot read the log: {e}");
                            o.data.error_code = code(E::KafkaStorageError);
                            o.region = None;
                            o.is_error = true;
                        }
                    }
                }
            }
            any_error |= o.is_error;
            o
        })
        .collect();
    (outcomes, total, any_error)
}

pub async fn handle(ctx: &Ctx<'_>, req: FetchRequest) -> FetchReply {
    let replica = if ctx.version >= 15 { req.replica_state.replica_id.0 } else { req.replica_id.0 };
    if replica >= 0 {
        return super::replica_fetch::handle(ctx, req, replica).await;
    }
    let b = ctx.broker;
    let by_id = ctx.version >= 13;
    let image = b.image();
    let resolve = |name: &TopicName, id: uuid::Uuid| -> (String, uuid::Uuid) {
        if by_id {
            (image.ids.get(&id).cloned().unwrap_or_default(), id)
        } else {
            let n = name.0.to_string();
            let id = image.topic(&n).map(|t| t.id).unwrap_or_default();
            (n, id)
        }
    };
    let requested: Vec<SessionPartition> = req
        .topics
        .iter()
        .flat_map(|t| {
            let (topic, topic_id) = resolve(&t.topic, t.topic_id);
            t.partitions.iter().map(move |p| SessionPartition {
                topic: topic.clone(),
                topic_id,
                partition: p.partition,
                fetch_offset: p.fetch_offset,
                max_bytes: p.partition_max_bytes,
                current_leader_epoch: if ctx.version >= 9 { p.current_leader_epoch } else { -1 },
                last_sent: None,
            })
        })
        .collect();

    // Session bookkeeping (v7+): decide between sessionless, new session and incremental.
    let mut session_id = 0;
    let mut incremental: Option<FetchSession> = None;
    let mut new_session = false;
    if ctx.version >= 7 {
        let mut cache = b.fetch_sessions.lock().unwrap_or_else(|e| e.into_inner());
        match (req.session_id, req.session_epoch) {
            (0, FINAL_EPOCH) => {}
            (id, FINAL_EPOCH) => cache.remove(id),
            (id, INITIAL_EPOCH) => {
                if id != 0 {
                    cache.remove(id);
                }
                new_session = true;
            }
            (id, epoch) => match cache.take(id, epoch) {
                Ok(mut s) => {
                    for p in requested.iter().cloned() {
                        s.upsert(p);
                    }
                    for f in &req.forgotten_topics_data {
                        let (topic, _) = resolve(&f.topic, f.topic_id);
                        for p in &f.partitions {
                            s.forget(&topic, *p);
                        }
                    }
                    session_id = id;
                    incremental = Some(s);
                }
                Err(e) => {
                    let err = match e {
                        SessionError::NotFound => E::FetchSessionIdNotFound,
                        SessionError::InvalidEpoch => E::InvalidFetchSessionEpoch,
                    };
                    return FetchResponse::default().with_error_code(code(err)).into();
                }
            },
        }
    }
    let mut parts: Vec<SessionPartition> = match &incremental {
        Some(s) => s.partitions.clone(),
        None => requested,
    };
    // READ on each topic: a refused partition is answered TOPIC_AUTHORIZATION_FAILED and
    // not read (an unknown topic id stays UNKNOWN_TOPIC_ID).
    let acl = ctx.acl();
    let denied: Vec<bool> = parts.iter().map(|p| !p.topic.is_empty() && !acl.allowed(Op::Read, Resource::Topic(&p.topic))).collect();
    let handles: Vec<Option<Arc<Partition>>> =
        parts.iter().zip(&denied).map(|(p, d)| if *d { None } else { b.replicas.get(&p.topic, p.partition) }).collect();

    let committed = req.isolation_level == READ_COMMITTED;
    let max_bytes = super::quotas::fetch_max_bytes(ctx, if req.max_bytes <= 0 { i32::MAX as usize } else { req.max_bytes as usize });
    let min_bytes = req.min_bytes.max(0) as usize;
    let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    let watched: Vec<Arc<Partition>> = handles.iter().flatten().cloned().collect();
    // Each read pass runs on a blocking thread (index lookups and small reads touch the
    // disk when the page cache does not hold the data).
    let shared = Arc::new((parts.clone(), handles));
    let outcomes = b
        .replicas
        .wait_for_data(&watched, min_bytes, deadline, || {
            let shared = shared.clone();
            async move {
                tokio::task::spawn_blocking(move || read_pass(&shared.0, &shared.1, max_bytes, committed))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
            }
        })
        .await;

    // Build the response; an incremental session only reports partitions with news.
    let mut responses: Vec<FetchableTopicResponse> = Vec::new();
    let nonce: [u8; 12] = rand::random();
    let mut regions = Vec::new();
    for ((sp, mut o), denied) in parts.iter_mut().zip(outcomes).zip(denied) {
        if denied {
            o.data = error_data(sp.partition, E::TopicAuthorizationFailed);
        }
        let has_records = o.region.is_some() || o.has_records;
        let changed = o.offsets != sp.last_sent;
        sp.last_sent = o.offsets;
        if incremental.is_some() && !(has_records || changed || o.is_error) {
            continue;
        }
        let same_topic = responses.last().is_some_and(|t| if by_id { t.topic_id == sp.topic_id } else { t.topic.0.as_str() == sp.topic });
        if !same_topic {
            let t = if by_id {
                FetchableTopicResponse::default().with_topic_id(sp.topic_id)
            } else {
                FetchableTopicResponse::default().with_topic(TopicName(super::sb(sp.topic.clone())))
            };
            responses.push(t);
        }
        let mut sent = o.data.records.as_ref().map_or(0, |r| r.len());
        if let Some(r) = o.region.take() {
            sent = r.len;
            o.data.records = Some(frame::marker(&nonce, regions.len()));
            regions.push(r);
        }
        b.metrics.fetched(&sp.topic, sent, o.data.error_code);
        responses.last_mut().expect("pushed").partitions.push(o.data);
    }
    {
        let mut cache = b.fetch_sessions.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::broker::log::now_ms();
        if let Some(mut s) = incremental {
            s.partitions = parts;
            cache.put_back(session_id, s, now);
        } else if new_session {
            session_id = cache.create(parts, req.replica_id.0 >= 0, now).unwrap_or(0);
        }
    }
    let reply = FetchReply { response: FetchResponse::default().with_session_id(session_id).with_responses(responses), regions, nonce };
    super::quotas::fetch(ctx, reply)
}
