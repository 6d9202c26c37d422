//! DescribeClientQuotas and AlterClientQuotas (KIP-546), and where the client quotas are
//! applied to requests: produce bytes, consumer fetch bytes, request handling time and
//! controller mutations (the arithmetic is in `security::quota`). Each hook costs one
//! atomic load when no quota of its type is configured.

use super::fetch::FetchReply;
use super::{ApiError, ConnectionInfo, Ctx, code, sb};
use crate::broker::Broker;
use crate::broker::controller::quotas::QuotaAlteration;
use crate::broker::controller::{CreatedTopic, DeletedTopic, NewPartitions, Outcome, TopicError, TopicRef, TopicSpec};
use crate::broker::network::frame::{Frame, FramePart};
use crate::broker::security::acl::{Op, Resource};
use crate::broker::security::quota::{Mutation, QuotaType};
use crate::broker::security::user_name;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Encodable;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const MATCH_EXACT: i8 = 0;
const MATCH_DEFAULT: i8 = 1;
const MATCH_SPECIFIED: i8 = 2;

/// ClientQuotasImage.describe: the filter's checks, then every entity that matches.
pub async fn describe(ctx: &Ctx<'_>, req: DescribeClientQuotasRequest) -> DescribeClientQuotasResponse {
    let fail = |e: E, m: String| DescribeClientQuotasResponse::default().with_error_code(code(e)).with_error_message(Some(sb(m)));
    if !ctx.authorize(Op::DescribeConfigs, Resource::Cluster) {
        return fail(E::ClusterAuthorizationFailed, "Cluster authorization failed.".into());
    }
    let mut exact: HashMap<String, Option<String>> = HashMap::new();
    let mut specified: HashSet<String> = HashSet::new();
    for c in &req.components {
        let t = c.entity_type.to_string();
        if t.is_empty() {
            return fail(E::InvalidRequest, "Invalid empty entity type.".into());
        }
        if exact.contains_key(&t) || specified.contains(&t) {
            return fail(E::InvalidRequest, format!("Entity type {t} cannot appear more than once in the filter."));
        }
        if !matches!(t.as_str(), "user" | "client-id" | "ip") {
            return fail(E::UnsupportedVersion, format!("Unsupported entity type {t}"));
        }
        match (c.match_type, &c._match) {
            (MATCH_EXACT, Some(m)) => {
                exact.insert(t, Some(m.to_string()));
            }
            (MATCH_EXACT, None) => {
                return fail(E::InvalidRequest, "Request specified MATCH_TYPE_EXACT, but set match string to null.".into());
            }
            (MATCH_DEFAULT, None) => {
                exact.insert(t, None);
            }
            (MATCH_DEFAULT, Some(_)) => {
                return fail(E::InvalidRequest, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.".into());
            }
            (MATCH_SPECIFIED, None) => {
                specified.insert(t);
            }
            (MATCH_SPECIFIED, Some(_)) => {
                return fail(E::InvalidRequest, "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.".into());
            }
            (other, _) => return fail(E::InvalidRequest, format!("Unknown match type {other}")),
        }
    }
    let has = |t: &str| exact.contains_key(t) || specified.contains(t);
    if has("ip") && (has("user") || has("client-id")) {
        return fail(
            E::InvalidRequest,
            "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component."
                .into(),
        );
    }
    let image = ctx.broker.image();
    let entries = image
        .client_quotas
        .iter()
        .filter(|(entity, _)| {
            (!req.strict || entity.len() == exact.len() + specified.len())
                && exact.iter().all(|(t, name)| entity.iter().any(|(et, en)| et == t && en == name))
                && specified.iter().all(|t| entity.iter().any(|(et, _)| et == t))
        })
        .map(|(entity, values)| {
            EntryData::default()
                .with_entity(
                    entity
                        .iter()
                        .map(|(t, n)| EntityData::default().with_entity_type(sb(t.clone())).with_entity_name(n.clone().map(sb)))
                        .collect(),
                )
                .with_values(values.iter().map(|(k, v)| ValueData::default().with_key(sb(k.clone())).with_value(*v)).collect())
        })
        .collect();
    DescribeClientQuotasResponse::default().with_entries(Some(entries))
}

pub async fn alter(ctx: &Ctx<'_>, req: AlterClientQuotasRequest) -> AlterClientQuotasResponse {
    let alterations: Vec<QuotaAlteration> = req
        .entries
        .iter()
        .map(|e| QuotaAlteration {
            entity: e.entity.iter().map(|d| (d.entity_type.to_string(), d.entity_name.as_ref().map(|n| n.to_string()))).collect(),
            ops: e.ops.iter().map(|o| (o.key.to_string(), (!o.remove).then_some(o.value))).collect(),
        })
        .collect();
    // Kafka: ALTER_CONFIGS on the cluster, else every entry is refused.
    let outcomes = if ctx.authorize(Op::AlterConfigs, Resource::Cluster) {
        ctx.broker.controller.alter_client_quotas(alterations, req.validate_only).await
    } else {
        let refused = TopicError(code(E::ClusterAuthorizationFailed), "Cluster authorization failed.".into());
        alterations.iter().map(|_| Err(refused.clone())).collect()
    };
    let entries = req
        .entries
        .iter()
        .zip(outcomes)
        .map(|(e, outcome)| {
            let entity = e
                .entity
                .iter()
                .map(|d| {
                    alter_client_quotas_response::EntityData::default()
                        .with_entity_type(d.entity_type.clone())
                        .with_entity_name(d.entity_name.clone())
                })
                .collect();
            let r = alter_client_quotas_response::EntryData::default().with_entity(entity);
            match outcome {
                Ok(()) => r,
                Err(TopicError(c, m)) => r.with_error_code(c).with_error_message(Some(sb(m))),
            }
        })
        .collect();
    AlterClientQuotasResponse::default().with_entries(entries)
}

fn client_id<'a>(ctx: &'a Ctx<'_>) -> &'a str {
    ctx.header.client_id.as_ref().map_or("", |s| s.as_str())
}

/// Mutes the connection for `ms` after the response (KIP-219) and returns it for the
/// response's throttle_time_ms.
fn throttle(conn: &ConnectionInfo, ms: i64) -> i32 {
    if ms > 0 {
        conn.throttle_ms.fetch_max(ms as u64, Ordering::Relaxed);
    }
    ms.clamp(0, i32::MAX as i64) as i32
}

/// Produce: the request's size counts against producer_byte_rate.
pub(super) fn produce(ctx: &Ctx<'_>, req: &ProduceRequest) -> i32 {
    let q = &ctx.broker.client_quotas;
    if !q.enabled(QuotaType::Produce) {
        return 0;
    }
    let size = req.compute_size(ctx.version).unwrap_or(0) as f64;
    let ms = q.record(QuotaType::Produce, user_name(&ctx.conn.principal), client_id(ctx), size, crate::broker::log::now_ms());
    throttle(ctx.conn, ms)
}

/// A consumer's fetch takes at most what its quota allows in one full window, so one
/// fetch cannot earn a throttle of many windows (Kafka's getMaxValueInQuotaWindow).
pub(super) fn fetch_max_bytes(ctx: &Ctx<'_>, max_bytes: usize) -> usize {
    let q = &ctx.broker.client_quotas;
    match q.max_value_in_window(QuotaType::Fetch, user_name(&ctx.conn.principal), client_id(ctx)) {
        Some(cap) => max_bytes.min(cap.max(1.0) as usize),
        None => max_bytes,
    }
}

/// A consumer's Fetch: the response size counts against consumer_byte_rate; a throttled
/// client gets an empty response (its data is read again after the throttle), as Kafka's.
pub(super) fn fetch(ctx: &Ctx<'_>, mut reply: FetchReply) -> FetchReply {
    let q = &ctx.broker.client_quotas;
    if !q.enabled(QuotaType::Fetch) {
        return reply;
    }
    let size = reply.response.compute_size(ctx.version).unwrap_or(0) + reply.regions.iter().map(|r| r.len).sum::<usize>();
    let (user, client, now) = (user_name(&ctx.conn.principal), client_id(ctx), crate::broker::log::now_ms());
    let ms = q.record(QuotaType::Fetch, user, client, size as f64, now);
    if ms > 0 {
        q.unrecord(QuotaType::Fetch, user, client, size as f64, now);
        reply.response.responses.clear();
        reply.regions.clear();
    }
    reply.response.throttle_time_ms = throttle(ctx.conn, ms);
    reply
}

/// Runs a topic mutation under controller_mutation_rate: each item takes its partitions as
/// permits; from `strict_since` an item arriving with the quota exhausted is refused with
/// THROTTLING_QUOTA_EXCEEDED (older versions are only throttled). Outcomes stay aligned
/// with `items`; the second value is the throttle time for the response.
pub(super) async fn mutations<T, O, F, Fut>(
    ctx: &Ctx<'_>,
    items: Vec<T>,
    permits: impl Fn(&T) -> i64,
    strict_since: i16,
    run: F,
) -> (Vec<Outcome<O>>, i32)
where
    F: FnOnce(Vec<T>) -> Fut,
    Fut: Future<Output = Vec<Outcome<O>>>,
{
    let q = &ctx.broker.client_quotas;
    if !q.enabled(QuotaType::ControllerMutation) {
        return (run(items).await, 0);
    }
    let (user, client, now) = (user_name(&ctx.conn.principal), client_id(ctx), crate::broker::log::now_ms());
    let strict = ctx.version >= strict_since;
    let mut worst = 0;
    let mut refused = Vec::with_capacity(items.len());
    let mut allowed = Vec::with_capacity(items.len());
    for item in items {
        match q.mutation(user, client, permits(&item).max(0) as f64, strict, now) {
            Mutation::Allowed(ms) => {
                worst = worst.max(ms);
                refused.push(false);
                allowed.push(item);
            }
            Mutation::Refused(ms) => {
                worst = worst.max(ms);
                refused.push(true);
            }
        }
    }
    let mut done = run(allowed).await.into_iter();
    let exceeded = || TopicError(code(E::ThrottlingQuotaExceeded), "The throttling quota has been exceeded.".into());
    let outcomes = refused.into_iter().map(|r| if r { Err(exceeded()) } else { done.next().unwrap_or_else(|| Err(exceeded())) }).collect();
    (outcomes, throttle(ctx.conn, worst))
}

/// The request quota (request_percentage): the time spent handling the request (the
/// handler's polls, not its waits, like Kafka's request thread time) as a percentage of
/// one thread, recorded when it is answered. The throttle goes into throttle_time_ms of
/// the responses that carry it first in the body, and always mutes the connection.
pub(super) async fn request_time(
    broker: &Arc<Broker>,
    conn: &ConnectionInfo,
    key: ApiKey,
    version: i16,
    client_id: String,
    handler: impl Future<Output = Result<Option<Frame>, ApiError>>,
) -> Result<Option<Frame>, ApiError> {
    let mut busy = Duration::ZERO;
    let mut handler = std::pin::pin!(handler);
    let answer = std::future::poll_fn(|cx| {
        let t = Instant::now();
        let r = handler.as_mut().poll(cx);
        busy += t.elapsed();
        r
    })
    .await;
    // Inter-broker traffic is exempt, as Kafka exempts cluster actions: a broker's client id
    // alone is not enough, its principal must hold CLUSTER_ACTION (with ACLs enforced).
    let broker_client = (client_id == "rk-broker" || client_id == "rk-replica-fetcher")
        && broker.authorizer.check(|| broker.image(), &conn.principal, &conn.client_host).allowed(Op::ClusterAction, Resource::Cluster);
    if matches!(key, ApiKey::WriteTxnMarkers | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate) || broker_client {
        return answer;
    }
    let percent = busy.as_nanos() as f64 * 100.0 / 1e9;
    let ms = broker.client_quotas.record(QuotaType::Request, user_name(&conn.principal), &client_id, percent, crate::broker::log::now_ms());
    if ms <= 0 {
        return answer;
    }
    let ms = throttle(conn, ms);
    answer.map(|frame| frame.map(|f| patch_throttle(f, key, version, ms)))
}

/// The first version whose response body starts with throttle_time_ms.
fn throttle_first_since(key: ApiKey) -> Option<i16> {
    use ApiKey::*;
    Some(match key {
        Fetch | FindCoordinator | Heartbeat | LeaveGroup | SyncGroup | DescribeGroups | ListGroups | DeleteTopics => 1,
        ListOffsets | JoinGroup | CreateTopics | OffsetForLeaderEpoch => 2,
        Metadata | OffsetCommit | OffsetFetch => 3,
        DeleteRecords
        | InitProducerId
        | AddPartitionsToTxn
        | AddOffsetsToTxn
        | EndTxn
        | TxnOffsetCommit
        | DescribeAcls
        | CreateAcls
        | DeleteAcls
        | DescribeConfigs
        | AlterConfigs
        | AlterReplicaLogDirs
        | DescribeLogDirs
        | CreatePartitions
        | DeleteGroups
        | ElectLeaders
        | IncrementalAlterConfigs
        | AlterPartitionReassignments
        | ListPartitionReassignments
        | DescribeClientQuotas
        | AlterClientQuotas
        | DescribeUserScramCredentials
        | AlterUserScramCredentials
        | DescribeCluster
        | DescribeProducers
        | DescribeTransactions
        | ListTransactions => 0,
        _ => return None,
    })
}

/// Raises the encoded throttle_time_ms to at least `ms` (size prefix, response header,
/// then the field).
fn patch_throttle(frame: Frame, key: ApiKey, version: i16, ms: i32) -> Frame {
    if throttle_first_since(key).is_none_or(|v| version < v) {
        return frame;
    }
    let at = 4 + 4 + if key.response_header_version(version) >= 1 { 1 } else { 0 };
    let patch = |b: &mut [u8]| {
        if let Some(field) = b.get_mut(at..at + 4) {
            let old = i32::from_be_bytes([field[0], field[1], field[2], field[3]]);
            field.copy_from_slice(&old.max(ms).to_be_bytes());
        }
    };
    match frame {
        Frame::Plain(mut b) => {
            patch(&mut b);
            Frame::Plain(b)
        }
        Frame::Spliced(mut parts) => {
            if let Some(FramePart::Bytes(first)) = parts.first_mut() {
                let mut copy = first.to_vec();
                patch(&mut copy);
                *first = copy.into();
            }
            Frame::Spliced(parts)
        }
    }
}

/// CreateTopics under the mutation quota (strict from v6): a topic takes its partitions.
pub(super) async fn create_topics(ctx: &Ctx<'_>, specs: Vec<TopicSpec>, validate_only: bool) -> (Vec<Outcome<CreatedTopic>>, i32) {
    let permits = |s: &TopicSpec| s.assignment.as_ref().map_or(s.partitions as i64, |a| a.len() as i64);
    mutations(ctx, specs, permits, 6, |s| ctx.broker.controller.create_topics(s, validate_only, false)).await
}

/// DeleteTopics under the mutation quota (strict from v5): a topic takes its partitions.
pub(super) async fn delete_topics(ctx: &Ctx<'_>, targets: Vec<TopicRef>) -> (Vec<Outcome<DeletedTopic>>, i32) {
    let image = ctx.broker.image();
    let permits = |t: &TopicRef| {
        let topic = match &t.name {
            Some(n) => image.topic(n),
            None => image.topic_by_id(&t.id),
        };
        topic.map_or(0, |t| t.partitions.len() as i64)
    };
    mutations(ctx, targets, permits, 5, |t| ctx.broker.controller.delete_topics(t)).await
}

/// CreatePartitions under the mutation quota (strict from v3): the partitions added.
pub(super) async fn create_partitions(ctx: &Ctx<'_>, items: Vec<NewPartitions>, validate_only: bool) -> (Vec<Outcome<()>>, i32) {
    let image = ctx.broker.image();
    let permits = |n: &NewPartitions| n.count as i64 - image.topic(&n.topic).map_or(0, |t| t.partitions.len() as i64);
    mutations(ctx, items, permits, 3, |i| ctx.broker.controller.create_partitions(i, validate_only)).await
}
