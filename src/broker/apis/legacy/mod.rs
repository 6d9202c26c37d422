//! The request versions Kafka 3.9 served and 4.0 removed (KIP-896), kept so clients from
//! before 2019 (sarama 1.22, kafka-python with an old `api_version`, librdkafka 0.x) go
//! on working: Produce v0–2 and Fetch v0–3 (message formats v0/v1, up- and
//! down-converted by `log::message_set`), ListOffsets v0, OffsetCommit v0–1, OffsetFetch
//! v0, CreateTopics v0–1, DeleteTopics v0, DescribeConfigs v0 and (in `admin`) the ACL
//! APIs v0, DescribeLogDirs / AlterReplicaLogDirs v0 and OffsetForLeaderEpoch v0–1.
//!
//! The kafka-protocol crate only carries Kafka 4's versions, so each old request is decoded
//! here into the crate's request of the nearest version, handled by the API's own handler
//! (with `Ctx::version` set to that version), and its answer written in the old layout.

use super::{ApiError, BoxFuture, ConnectionInfo, Ctx, MaybeResponse, fetch, offsets, produce, sb};
use crate::broker::Broker;
use crate::broker::log::message_set;
use crate::broker::network::frame::{self, Frame};
use anyhow::{Context, bail};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::sync::Arc;

mod admin;

/// The lowest version served for each API (the crate's lowest where nothing older is).
pub const fn min_version(key: ApiKey, crate_min: i16) -> i16 {
    match key {
        ApiKey::Produce | ApiKey::Fetch | ApiKey::ListOffsets | ApiKey::OffsetCommit | ApiKey::OffsetFetch => 0,
        ApiKey::CreateTopics | ApiKey::DeleteTopics | ApiKey::DescribeConfigs => 0,
        ApiKey::DescribeAcls | ApiKey::CreateAcls | ApiKey::DeleteAcls => 0,
        ApiKey::DescribeLogDirs | ApiKey::AlterReplicaLogDirs | ApiKey::OffsetForLeaderEpoch => 0,
        _ => crate_min,
    }
}

/// What a compressed legacy wrapper may inflate to (the v2 path's floor, see Limits).
const UP_CONVERT_BUDGET: u64 = 64 << 20;

// --- reading the old layouts (non-flexible versions only) ---

fn need(b: &Bytes, n: usize) -> anyhow::Result<()> {
    if b.remaining() < n {
        bail!("the request ends early");
    }
    Ok(())
}
fn i8_(b: &mut Bytes) -> anyhow::Result<i8> {
    need(b, 1)?;
    Ok(b.get_i8())
}
fn i16_(b: &mut Bytes) -> anyhow::Result<i16> {
    need(b, 2)?;
    Ok(b.get_i16())
}
fn i32_(b: &mut Bytes) -> anyhow::Result<i32> {
    need(b, 4)?;
    Ok(b.get_i32())
}
fn i64_(b: &mut Bytes) -> anyhow::Result<i64> {
    need(b, 8)?;
    Ok(b.get_i64())
}
fn nullable_string(b: &mut Bytes) -> anyhow::Result<Option<StrBytes>> {
    let len = i16_(b)?;
    if len < 0 {
        return Ok(None);
    }
    need(b, len as usize)?;
    let raw = b.split_to(len as usize);
    Ok(Some(StrBytes::from_utf8(raw).context("a string is not UTF-8")?))
}
fn string(b: &mut Bytes) -> anyhow::Result<StrBytes> {
    nullable_string(b)?.context("a non-nullable string is null")
}
fn nullable_bytes(b: &mut Bytes) -> anyhow::Result<Option<Bytes>> {
    let len = i32_(b)?;
    if len < 0 {
        return Ok(None);
    }
    need(b, len as usize)?;
    Ok(Some(b.split_to(len as usize)))
}
/// An array of `item`s; the count is checked against what is left (each item takes at
/// least `min_item` bytes) before anything is allocated.
fn array<T>(b: &mut Bytes, min_item: usize, mut item: impl FnMut(&mut Bytes) -> anyhow::Result<T>) -> anyhow::Result<Vec<T>> {
    let n = i32_(b)?;
    if n < 0 {
        return Ok(Vec::new());
    }
    if (n as usize).saturating_mul(min_item) > b.remaining() {
        bail!("an array of {n} items does not fit in the request");
    }
    (0..n).map(|_| item(b)).collect()
}
fn end(b: &Bytes) -> anyhow::Result<()> {
    if b.has_remaining() {
        bail!("{} bytes after the request's last field", b.remaining());
    }
    Ok(())
}

// --- writing the old layouts ---

fn put_str(o: &mut BytesMut, s: &str) {
    o.put_i16(s.len() as i16);
    o.put_slice(s.as_bytes());
}
fn put_nullable_str(o: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_str(o, s),
        None => o.put_i16(-1),
    }
}
fn put_array<T>(o: &mut BytesMut, items: &[T], mut each: impl FnMut(&mut BytesMut, &T)) {
    o.put_i32(items.len() as i32);
    for i in items {
        each(o, i);
    }
}
/// A response frame: size, the v0 response header (correlation id), then the body.
fn response(correlation_id: i32, body: impl FnOnce(&mut BytesMut)) -> Frame {
    let mut o = BytesMut::with_capacity(64);
    o.put_i32(0);
    o.put_i32(correlation_id);
    body(&mut o);
    let len = (o.len() - 4) as i32;
    o[..4].copy_from_slice(&len.to_be_bytes());
    Frame::Plain(o)
}
/// A response the crate encodes at `version` (same layout as the old one), minus the
/// throttle_time_ms the newer version put first when `strip_throttle`.
fn crate_response<R: Encodable>(key: ApiKey, correlation_id: i32, r: &R, version: i16, strip_throttle: bool) -> Result<Frame, ApiError> {
    let mut body = BytesMut::new();
    r.encode(&mut body, version).map_err(|e| ApiError::Encode(key, e))?;
    let body = if strip_throttle { body.split_off(4) } else { body };
    Ok(response(correlation_id, |o| o.put_slice(&body)))
}

// --- decoding each old request into the crate's request ---

/// Produce v0–2: acks, timeout, topics; each partition's message set up-converted (or the
/// error that partition is answered with).
type Refused = Vec<(String, i32, i16)>;
fn produce_request(mut b: Bytes) -> anyhow::Result<(ProduceRequest, Refused)> {
    let acks = i16_(&mut b)?;
    let timeout = i32_(&mut b)?;
    let mut refused = Vec::new();
    let topics = array(&mut b, 6, |b| {
        let name = string(b)?;
        let parts = array(b, 8, |b| Ok((i32_(b)?, nullable_bytes(b)?)))?;
        let mut data = Vec::new();
        for (index, set) in parts {
            match message_set::up_convert(set.unwrap_or_default(), UP_CONVERT_BUDGET) {
                Ok(batch) => {
                    data.push(produce_request::PartitionProduceData::default().with_index(index).with_records(Some(batch.freeze())))
                }
                Err(e) => {
                    tracing::debug!(topic = %name, partition = index, "legacy produce refused: {e}");
                    refused.push((name.to_string(), index, e.code()));
                }
            }
        }
        Ok(produce_request::TopicProduceData::default().with_name(TopicName(name)).with_partition_data(data))
    })?;
    end(&b)?;
    Ok((ProduceRequest::default().with_acks(acks).with_timeout_ms(timeout).with_topic_data(topics), refused))
}

/// Fetch v0–3 as a sessionless, read_uncommitted v4 fetch.
fn fetch_request(mut b: Bytes, v: i16) -> anyhow::Result<FetchRequest> {
    let _replica_id = i32_(&mut b)?; // old followers are not served: read as a consumer
    let max_wait = i32_(&mut b)?;
    let min_bytes = i32_(&mut b)?;
    let max_bytes = if v >= 3 { i32_(&mut b)? } else { i32::MAX };
    let topics = array(&mut b, 6, |b| {
        let topic = TopicName(string(b)?);
        let partitions = array(b, 16, |b| {
            Ok(fetch_request::FetchPartition::default()
                .with_partition(i32_(b)?)
                .with_fetch_offset(i64_(b)?)
                .with_partition_max_bytes(i32_(b)?)
                .with_current_leader_epoch(-1)
                .with_log_start_offset(-1))
        })?;
        Ok(fetch_request::FetchTopic::default().with_topic(topic).with_partitions(partitions))
    })?;
    end(&b)?;
    Ok(FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait)
        .with_min_bytes(min_bytes)
        .with_max_bytes(max_bytes)
        .with_session_epoch(-1)
        .with_topics(topics))
}

/// ListOffsets v0: (replica, topics[name, partitions[index, timestamp, max offsets]]).
fn list_offsets_request(mut b: Bytes) -> anyhow::Result<(ListOffsetsRequest, Vec<i32>)> {
    let replica = i32_(&mut b)?;
    let mut max_offsets = Vec::new();
    let topics = array(&mut b, 6, |b| {
        let name = TopicName(string(b)?);
        let partitions = array(b, 16, |b| {
            let p = list_offsets_request::ListOffsetsPartition::default()
                .with_partition_index(i32_(b)?)
                .with_timestamp(i64_(b)?)
                .with_current_leader_epoch(-1);
            max_offsets.push(i32_(b)?);
            Ok(p)
        })?;
        Ok(list_offsets_request::ListOffsetsTopic::default().with_name(name).with_partitions(partitions))
    })?;
    end(&b)?;
    Ok((ListOffsetsRequest::default().with_replica_id(BrokerId(replica)).with_topics(topics), max_offsets))
}

/// OffsetCommit v0 (no generation: a simple consumer's commit) and v1 (generation, member,
/// a per-partition commit timestamp that Kafka 2.1 already ignored).
fn offset_commit_request(mut b: Bytes, v: i16) -> anyhow::Result<OffsetCommitRequest> {
    let group = GroupId(string(&mut b)?);
    let (generation, member) = if v >= 1 { (i32_(&mut b)?, string(&mut b)?) } else { (-1, StrBytes::default()) };
    let topics = array(&mut b, 6, |b| {
        let name = TopicName(string(b)?);
        let partitions = array(b, 14, |b| {
            let index = i32_(b)?;
            let offset = i64_(b)?;
            if v >= 1 {
                i64_(b)?;
            }
            Ok(offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(index)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(-1)
                .with_committed_metadata(nullable_string(b)?))
        })?;
        Ok(offset_commit_request::OffsetCommitRequestTopic::default().with_name(name).with_partitions(partitions))
    })?;
    end(&b)?;
    Ok(OffsetCommitRequest::default()
        .with_group_id(group)
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(member)
        .with_retention_time_ms(-1)
        .with_topics(topics))
}

/// Old requests whose layout is a newer version's: (version to decode as, bytes to append
/// for the fields the newer version added at the end).
fn same_layout(key: ApiKey, v: i16) -> Option<(i16, &'static [u8])> {
    match (key, v) {
        (ApiKey::OffsetFetch, 0) => Some((1, &[])),
        (ApiKey::DeleteTopics, 0) => Some((1, &[])),
        (ApiKey::CreateTopics, 1) => Some((2, &[])),
        // v0 has no validate_only.
        (ApiKey::CreateTopics, 0) => Some((2, &[0])),
        // v0 has no include_synonyms.
        (ApiKey::DescribeConfigs, 0) => Some((1, &[0])),
        // v1 only changed how throttling is reported.
        (ApiKey::DescribeLogDirs, 0) => Some((1, &[])),
        (ApiKey::AlterReplicaLogDirs, 0) => Some((1, &[])),
        _ => None,
    }
}
/// Decodes an old request of a newer version's layout; returns it with that version (the
/// one to handle and answer it at).
fn as_newer<R: Decodable>(body: Bytes, key: ApiKey, v: i16) -> anyhow::Result<(R, i16)> {
    let (newer, tail) = same_layout(key, v).context("no newer layout")?;
    let mut b = if tail.is_empty() {
        body
    } else {
        let mut o = BytesMut::from(&body[..]);
        o.put_slice(tail);
        o.freeze()
    };
    let r = R::decode(&mut b, newer)?;
    end(&b)?;
    Ok((r, newer))
}

/// Decodes an old request without handling it (the fuzz target and `decode_request`).
pub fn decode_only(key: ApiKey, body: Bytes, v: i16) -> anyhow::Result<()> {
    match key {
        ApiKey::Produce => produce_request(body).map(|_| ()),
        ApiKey::Fetch => fetch_request(body, v).map(|_| ()),
        ApiKey::ListOffsets => list_offsets_request(body).map(|_| ()),
        ApiKey::OffsetCommit => offset_commit_request(body, v).map(|_| ()),
        ApiKey::OffsetFetch => as_newer::<OffsetFetchRequest>(body, key, v).map(|_| ()),
        ApiKey::DeleteTopics => as_newer::<DeleteTopicsRequest>(body, key, v).map(|_| ()),
        ApiKey::CreateTopics => as_newer::<CreateTopicsRequest>(body, key, v).map(|_| ()),
        ApiKey::DescribeConfigs => as_newer::<DescribeConfigsRequest>(body, key, v).map(|_| ()),
        ApiKey::DescribeLogDirs => as_newer::<DescribeLogDirsRequest>(body, key, v).map(|_| ()),
        ApiKey::AlterReplicaLogDirs => as_newer::<AlterReplicaLogDirsRequest>(body, key, v).map(|_| ()),
        ApiKey::DescribeAcls => admin::describe_acls_request(body).map(|_| ()),
        ApiKey::CreateAcls => admin::create_acls_request(body).map(|_| ()),
        ApiKey::DeleteAcls => admin::delete_acls_request(body).map(|_| ()),
        ApiKey::OffsetForLeaderEpoch => admin::offset_for_leader_epoch_request(body).map(|_| ()),
        _ => bail!("version {v} of {key:?} is not served"),
    }
}

/// Handles one old-version request (the dispatch table's route for versions below the
/// crate's).
pub fn route<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionInfo,
    h: RequestHeader,
    body: Bytes,
) -> BoxFuture<'a, Result<Option<Frame>, ApiError>> {
    Box::pin(async move {
        let key = ApiKey::try_from(h.request_api_key).map_err(|_| ApiError::UnknownApiKey(h.request_api_key))?;
        let v = h.request_api_version;
        let id = h.correlation_id;
        let bad = |e: anyhow::Error| ApiError::Decode(key, e);
        let ctx = |version: i16| Ctx { broker: b, conn: c, header: &h, version };
        // An old version with a newer one's layout, answered in the crate's encoding of that
        // version (minus the throttle_time_ms it put first, with `strip`).
        macro_rules! same_layout_route {
            ($req:ty, $handler:path, $strip:expr) => {{
                let (req, at) = as_newer::<$req>(body, key, v).map_err(bad)?;
                let resp = $handler(&ctx(at), req).await;
                crate_response(key, id, &resp, at, $strip).map(Some)
            }};
        }
        match key {
            ApiKey::Produce => {
                let (req, refused) = produce_request(body).map_err(bad)?;
                let MaybeResponse(resp) = produce::handle(&ctx(3), req).await;
                Ok(resp.map(|r| produce_response(id, r, refused, v)))
            }
            ApiKey::Fetch => {
                let req = fetch_request(body, v).map_err(bad)?;
                let offsets: Offsets = req
                    .topics
                    .iter()
                    .flat_map(|t| t.partitions.iter().map(|p| ((t.topic.0.to_string(), p.partition), p.fetch_offset)))
                    .collect();
                let reply = fetch::handle(&ctx(4), req).await;
                // Reading the regions and converting them touches the disk and decompresses.
                let magic = if v >= 2 { 1 } else { 0 };
                let resp = tokio::task::spawn_blocking(move || down_convert(reply, &offsets, magic))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                Ok(Some(fetch_response(id, &resp, v)))
            }
            ApiKey::ListOffsets => {
                let (req, max_offsets) = list_offsets_request(body).map_err(bad)?;
                let resp = super::list_offsets::handle(&ctx(1), req).await;
                Ok(Some(list_offsets_response(id, &resp, &max_offsets)))
            }
            ApiKey::OffsetCommit => {
                let req = offset_commit_request(body, v).map_err(bad)?;
                let resp = offsets::offset_commit(&ctx(2), req).await;
                crate_response(key, id, &resp, 2, false).map(Some)
            }
            ApiKey::OffsetFetch => same_layout_route!(OffsetFetchRequest, offsets::offset_fetch, false),
            ApiKey::DeleteTopics => same_layout_route!(DeleteTopicsRequest, super::topics::delete_topics, true),
            ApiKey::CreateTopics => {
                let (req, at) = as_newer::<CreateTopicsRequest>(body, key, v).map_err(bad)?;
                let resp = super::topics::create_topics(&ctx(at), req).await;
                Ok(Some(response(id, |o| {
                    put_array(o, &resp.topics, |o, t| {
                        put_str(o, &t.name.0);
                        o.put_i16(t.error_code);
                        if v >= 1 {
                            put_nullable_str(o, t.error_message.as_deref());
                        }
                    })
                })))
            }
            ApiKey::DescribeConfigs => {
                let (req, at) = as_newer::<DescribeConfigsRequest>(body, key, v).map_err(bad)?;
                let resp = super::configs::describe_configs(&ctx(at), req).await;
                Ok(Some(admin::describe_configs_response(id, &resp)))
            }
            ApiKey::DescribeLogDirs => same_layout_route!(DescribeLogDirsRequest, super::log_dirs::describe_log_dirs, false),
            ApiKey::AlterReplicaLogDirs => same_layout_route!(AlterReplicaLogDirsRequest, super::log_dirs::alter_replica_log_dirs, false),
            ApiKey::DescribeAcls => {
                let req = admin::describe_acls_request(body).map_err(bad)?;
                let resp = super::acls::describe_acls(&ctx(1), req).await;
                Ok(Some(admin::describe_acls_response(id, &resp)))
            }
            ApiKey::CreateAcls => {
                let req = admin::create_acls_request(body).map_err(bad)?;
                let resp = super::acls::create_acls(&ctx(1), req).await;
                crate_response(key, id, &resp, 1, false).map(Some)
            }
            ApiKey::DeleteAcls => {
                let req = admin::delete_acls_request(body).map_err(bad)?;
                let resp = super::acls::delete_acls(&ctx(1), req).await;
                Ok(Some(admin::delete_acls_response(id, &resp)))
            }
            ApiKey::OffsetForLeaderEpoch => {
                let req = admin::offset_for_leader_epoch_request(body).map_err(bad)?;
                let resp = super::records::offset_for_leader_epoch(&ctx(2), req).await;
                Ok(Some(admin::offset_for_leader_epoch_response(id, &resp, v)))
            }
            _ => Err(ApiError::UnsupportedVersion(key, v)),
        }
    })
}

// --- writing each old response ---

fn produce_response(id: i32, mut r: ProduceResponse, refused: Refused, v: i16) -> Frame {
    for (topic, index, code) in refused {
        let p =
            PartitionProduceResponse::default().with_index(index).with_error_code(code).with_base_offset(-1).with_log_append_time_ms(-1);
        match r.responses.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(t) => t.partition_responses.push(p),
            None => r.responses.push(TopicProduceResponse::default().with_name(TopicName(sb(topic))).with_partition_responses(vec![p])),
        }
    }
    response(id, |o| {
        put_array(o, &r.responses, |o, t| {
            put_str(o, &t.name.0);
            put_array(o, &t.partition_responses, |o, p| {
                o.put_i32(p.index);
                o.put_i16(p.error_code);
                o.put_i64(p.base_offset);
                if v >= 2 {
                    o.put_i64(p.log_append_time_ms);
                }
            });
        });
        if v >= 1 {
            o.put_i32(r.throttle_time_ms);
        }
    })
}

/// The fetched v2 batches of each partition (regions left in the segment files are read
/// now) as message sets of `magic`; a partition that cannot be read or converted is
/// answered KAFKA_STORAGE_ERROR / CORRUPT_MESSAGE.
type Offsets = std::collections::HashMap<(String, i32), i64>;
fn down_convert(reply: fetch::FetchReply, offsets: &Offsets, magic: i8) -> FetchResponse {
    let fetch::FetchReply { mut response, regions, nonce } = reply;
    let mut next_region = 0;
    let partitions = response.responses.iter_mut().flat_map(|t| {
        let topic = t.topic.0.to_string();
        t.partitions.iter_mut().map(move |p| (topic.clone(), p))
    });
    for (topic, p) in partitions {
        let from = offsets.get(&(topic, p.partition_index)).copied().unwrap_or(0);
        let mut records = p.records.take().unwrap_or_default();
        if next_region < regions.len() && records == frame::marker(&nonce, next_region) {
            let r = &regions[next_region];
            next_region += 1;
            let mut buf = vec![0u8; r.len];
            match std::os::unix::fs::FileExt::read_exact_at(&*r.file, &mut buf, r.pos) {
                Ok(()) => records = Bytes::from(buf),
                Err(e) => {
                    tracing::error!("cannot read the log for a legacy fetch: {e}");
                    p.error_code = kafka_protocol::error::ResponseError::KafkaStorageError.code();
                    records = Bytes::new();
                }
            }
        }
        p.records = Some(match message_set::down_convert(&records, from, magic) {
            Ok(set) => set.freeze(),
            Err(e) => {
                p.error_code = e.code();
                Bytes::new()
            }
        });
    }
    response
}

fn fetch_response(id: i32, r: &FetchResponse, v: i16) -> Frame {
    response(id, |o| {
        if v >= 1 {
            o.put_i32(r.throttle_time_ms);
        }
        put_array(o, &r.responses, |o, t| {
            put_str(o, &t.topic.0);
            put_array(o, &t.partitions, |o, p| {
                o.put_i32(p.partition_index);
                o.put_i16(p.error_code);
                o.put_i64(p.high_watermark);
                let records = p.records.as_deref().unwrap_or_default();
                o.put_i32(records.len() as i32);
                o.put_slice(records);
            });
        });
    })
}

/// ListOffsets v0 answers a list of offsets: the one found (Kafka listed segment base
/// offsets after it, up to max_num_offsets; clients ask for one).
fn list_offsets_response(id: i32, r: &ListOffsetsResponse, max_offsets: &[i32]) -> Frame {
    let mut max = max_offsets.iter();
    response(id, |o| {
        put_array(o, &r.topics, |o, t| {
            put_str(o, &t.name.0);
            put_array(o, &t.partitions, |o, p| {
                o.put_i32(p.partition_index);
                o.put_i16(p.error_code);
                let wanted = max.next().is_some_and(|m| *m > 0);
                let found = wanted && p.error_code == 0 && p.offset >= 0;
                o.put_i32(found as i32);
                if found {
                    o.put_i64(p.offset);
                }
            });
        });
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
