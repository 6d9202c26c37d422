//! Request dispatch. ONE table (`APIS`) lists every API the broker serves with its version
//! range and handler; it drives both dispatch and the ApiVersions answer, so an API is
//! advertised exactly when it is served.

mod cluster;
mod configs;
mod fetch;
mod groups;
mod list_offsets;
mod metadata;
mod offsets;
mod produce;
mod records;
mod topics;

pub use topics::{TopicSpec, commit as commit_topic_change, plan_create};

use crate::broker::Broker;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, decode_request_header_from_buffer};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What the network layer knows about the connection a request came on.
pub struct ConnectionInfo {
    pub client_host: String,
}

/// Failures that close the connection (Kafka closes it for these too).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    #[error("api {0:?} is not served by this broker")]
    NotServed(ApiKey),
    #[error("unsupported version {1} for api {0:?}")]
    UnsupportedVersion(ApiKey, i16),
    #[error("malformed {0:?} request: {1}")]
    Decode(ApiKey, anyhow::Error),
    #[error("cannot encode {0:?} response: {1}")]
    Encode(ApiKey, anyhow::Error),
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type Handler = for<'a> fn(&'a Arc<Broker>, &'a ConnectionInfo, RequestHeader, Bytes) -> BoxFuture<'a, Result<Option<BytesMut>, ApiError>>;

pub struct Api {
    pub key: ApiKey,
    /// Lowest version we decode.
    pub min: i16,
    pub max: i16,
    /// Lowest version we advertise (Produce advertises 0 for librdkafka, KAFKA-18659).
    pub advertised_min: i16,
    handler: Handler,
}

/// Request context handed to handlers.
pub struct Ctx<'a> {
    pub broker: &'a Arc<Broker>,
    pub conn: &'a ConnectionInfo,
    pub header: &'a RequestHeader,
    pub version: i16,
}

/// Defines a routing fn that decodes `$req`, runs `$handler` and encodes its response
/// (handlers returning `Option` send no response on `None`, e.g. acks=0 produce).
macro_rules! route {
    ($name:ident, $key:ident, $req:ty, $handler:path) => {
        fn $name<'a>(
            b: &'a Arc<Broker>,
            c: &'a ConnectionInfo,
            h: RequestHeader,
            mut body: Bytes,
        ) -> BoxFuture<'a, Result<Option<BytesMut>, ApiError>> {
            Box::pin(async move {
                let v = h.request_api_version;
                let req = <$req>::decode(&mut body, v).map_err(|e| ApiError::Decode(ApiKey::$key, e))?;
                let ctx = Ctx { broker: b, conn: c, header: &h, version: v };
                let resp = $handler(&ctx, req).await;
                match IntoResponse::into_option(resp) {
                    Some(r) => encode_response(ApiKey::$key, v, h.correlation_id, &r).map(Some),
                    None => Ok(None),
                }
            })
        }
    };
}

trait IntoResponse {
    type R: Encodable;
    fn into_option(self) -> Option<Self::R>;
}
impl<T: Encodable + kafka_protocol::protocol::Message> IntoResponse for T {
    type R = T;
    fn into_option(self) -> Option<T> {
        Some(self)
    }
}
/// Wrapper for handlers that may send no response.
pub struct MaybeResponse<T>(pub Option<T>);
impl<T: Encodable> IntoResponse for MaybeResponse<T> {
    type R = T;
    fn into_option(self) -> Option<T> {
        self.0
    }
}

route!(r_api_versions, ApiVersions, ApiVersionsRequest, api_versions);
route!(r_metadata, Metadata, MetadataRequest, metadata::handle);
route!(r_produce, Produce, ProduceRequest, produce::handle);
route!(r_fetch, Fetch, FetchRequest, fetch::handle);
route!(r_list_offsets, ListOffsets, ListOffsetsRequest, list_offsets::handle);
route!(r_create_topics, CreateTopics, CreateTopicsRequest, topics::create_topics);
route!(r_delete_topics, DeleteTopics, DeleteTopicsRequest, topics::delete_topics);
route!(r_create_partitions, CreatePartitions, CreatePartitionsRequest, topics::create_partitions);
route!(r_describe_configs, DescribeConfigs, DescribeConfigsRequest, configs::describe_configs);
route!(r_alter_configs, AlterConfigs, AlterConfigsRequest, configs::alter_configs);
route!(r_incremental_alter_configs, IncrementalAlterConfigs, IncrementalAlterConfigsRequest, configs::incremental_alter_configs);
route!(r_describe_cluster, DescribeCluster, DescribeClusterRequest, cluster::describe_cluster);
route!(r_delete_records, DeleteRecords, DeleteRecordsRequest, records::delete_records);
route!(r_describe_log_dirs, DescribeLogDirs, DescribeLogDirsRequest, records::describe_log_dirs);
route!(r_find_coordinator, FindCoordinator, FindCoordinatorRequest, groups::find_coordinator);
route!(r_join_group, JoinGroup, JoinGroupRequest, groups::join_group);
route!(r_sync_group, SyncGroup, SyncGroupRequest, groups::sync_group);
route!(r_heartbeat, Heartbeat, HeartbeatRequest, groups::heartbeat);
route!(r_leave_group, LeaveGroup, LeaveGroupRequest, groups::leave_group);
route!(r_list_groups, ListGroups, ListGroupsRequest, groups::list_groups);
route!(r_describe_groups, DescribeGroups, DescribeGroupsRequest, groups::describe_groups);
route!(r_delete_groups, DeleteGroups, DeleteGroupsRequest, groups::delete_groups);
route!(r_offset_commit, OffsetCommit, OffsetCommitRequest, offsets::offset_commit);
route!(r_offset_fetch, OffsetFetch, OffsetFetchRequest, offsets::offset_fetch);
route!(r_offset_delete, OffsetDelete, OffsetDeleteRequest, offsets::offset_delete);
route!(r_offset_for_leader_epoch, OffsetForLeaderEpoch, OffsetForLeaderEpochRequest, records::offset_for_leader_epoch);

const fn api(key: ApiKey, min: i16, max: i16, handler: Handler) -> Api {
    Api { key, min, max, advertised_min: min, handler }
}

/// THE table: every served API, its versions and its handler.
pub static APIS: &[Api] = &[
    Api { key: ApiKey::Produce, min: 3, max: 13, advertised_min: 0, handler: r_produce },
    api(ApiKey::Fetch, 4, 18, r_fetch),
    api(ApiKey::ListOffsets, 1, 10, r_list_offsets),
    api(ApiKey::Metadata, 0, 13, r_metadata),
    api(ApiKey::OffsetCommit, 2, 9, r_offset_commit),
    api(ApiKey::OffsetFetch, 1, 9, r_offset_fetch),
    api(ApiKey::FindCoordinator, 0, 6, r_find_coordinator),
    api(ApiKey::JoinGroup, 0, 9, r_join_group),
    api(ApiKey::Heartbeat, 0, 4, r_heartbeat),
    api(ApiKey::LeaveGroup, 0, 5, r_leave_group),
    api(ApiKey::SyncGroup, 0, 5, r_sync_group),
    api(ApiKey::DescribeGroups, 0, 6, r_describe_groups),
    api(ApiKey::ListGroups, 0, 5, r_list_groups),
    api(ApiKey::ApiVersions, 0, 4, r_api_versions),
    api(ApiKey::CreateTopics, 2, 7, r_create_topics),
    api(ApiKey::DeleteTopics, 1, 6, r_delete_topics),
    api(ApiKey::DeleteRecords, 0, 2, r_delete_records),
    api(ApiKey::OffsetForLeaderEpoch, 2, 4, r_offset_for_leader_epoch),
    api(ApiKey::DescribeConfigs, 1, 4, r_describe_configs),
    api(ApiKey::AlterConfigs, 0, 2, r_alter_configs),
    api(ApiKey::DescribeLogDirs, 1, 4, r_describe_log_dirs),
    api(ApiKey::CreatePartitions, 0, 3, r_create_partitions),
    api(ApiKey::IncrementalAlterConfigs, 0, 1, r_incremental_alter_configs),
    api(ApiKey::DeleteGroups, 0, 2, r_delete_groups),
    api(ApiKey::OffsetDelete, 0, 0, r_offset_delete),
    api(ApiKey::DescribeCluster, 0, 2, r_describe_cluster),
];

fn find(key: ApiKey) -> Option<&'static Api> {
    APIS.iter().find(|a| a.key == key)
}

fn advertised() -> Vec<ApiVersion> {
    APIS.iter()
        .map(|a| ApiVersion::default().with_api_key(a.key as i16).with_min_version(a.advertised_min).with_max_version(a.max))
        .collect()
}

async fn api_versions(_ctx: &Ctx<'_>, _req: ApiVersionsRequest) -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(advertised())
}

/// Encodes a response frame (size prefix, header version by api/version, body).
pub fn encode_response<R: Encodable>(key: ApiKey, version: i16, correlation_id: i32, resp: &R) -> Result<BytesMut, ApiError> {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, key.response_header_version(version))
        .map_err(|e| ApiError::Encode(key, e))?;
    resp.encode(&mut buf, version).map_err(|e| ApiError::Encode(key, e))?;
    let len = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf)
}

/// Routes one request frame. `Ok(None)` means no response is due (acks=0).
pub async fn dispatch(broker: &Arc<Broker>, conn: &ConnectionInfo, mut frame: Bytes) -> Result<Option<BytesMut>, ApiError> {
    let key_raw = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let key = ApiKey::try_from(key_raw).map_err(|_| ApiError::UnknownApiKey(key_raw))?;
    let api = find(key).ok_or(ApiError::NotServed(key))?;
    if key == ApiKey::ApiVersions && version > api.max {
        // KIP-511: answer in v0 with UNSUPPORTED_VERSION and our ranges so the client retries.
        let resp = ApiVersionsResponse::default()
            .with_error_code(kafka_protocol::error::ResponseError::UnsupportedVersion.code())
            .with_api_keys(advertised());
        return encode_response(key, 0, correlation_id, &resp).map(Some);
    }
    if version < api.min || version > api.max {
        return Err(ApiError::UnsupportedVersion(key, version));
    }
    let header = decode_request_header_from_buffer(&mut frame).map_err(|e| ApiError::Decode(key, e))?;
    (api.handler)(broker, conn, header, frame).await
}

/// Shorthands used by handlers.
pub(crate) fn code(e: kafka_protocol::error::ResponseError) -> i16 {
    e.code()
}
pub(crate) fn sb(s: impl Into<String>) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(s.into())
}
