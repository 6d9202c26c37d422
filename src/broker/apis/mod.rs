//! Request dispatch. ONE table (`APIS`) lists every API the broker serves with its version
//! range and handler; it drives both dispatch and the ApiVersions answer, so an API is
//! advertised exactly when it is served.

mod acls;
pub mod auth;
mod cluster;
mod configs;
mod consumer_groups;
mod describe_topic_partitions;
mod elect;
mod fetch;
mod groups;
mod legacy;
mod list_offsets;
mod log_dirs;
mod metadata;
mod offsets;
mod produce;
mod quorum;
mod quotas;
mod reassign;
mod records;
mod replica_fetch;
mod sasl;
mod scram;
mod share;
mod share_offsets;
mod telemetry;
mod topics;
mod txn;

use crate::broker::Broker;
use crate::broker::network::frame::Frame;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes, decode_request_header_from_buffer};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What the network layer knows about the connection a request came on.
pub struct ConnectionInfo {
    pub client_host: String,
    /// The listener the connection came on (e.g. "PLAINTEXT", "CLIENT").
    pub listener: String,
    /// Its security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    pub security_protocol: String,
    /// Who the client is: "User:alice" after SASL or from a TLS client certificate,
    /// `security::ANONYMOUS` otherwise. Authorization and quotas key on it.
    pub principal: String,
    /// The client's source port (a client-metrics `match` selector, KIP-714).
    pub client_port: u16,
    /// The client's software name and version from its ApiVersions v3+ request (KIP-511),
    /// shared with the connection's pre-authentication ApiVersions.
    pub software: ClientSoftware,
    /// Set by a handler whose client exceeded a quota: the connection reads no further
    /// request for this many ms after sending the response (Kafka mutes the channel,
    /// KIP-219); the response itself carries throttle_time_ms.
    pub throttle_ms: std::sync::atomic::AtomicU64,
}

/// A connection's (software name, version), set by its first ApiVersions v3+.
pub type ClientSoftware = Arc<std::sync::OnceLock<(String, String)>>;

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
type Handler = for<'a> fn(&'a Arc<Broker>, &'a ConnectionInfo, RequestHeader, Bytes) -> BoxFuture<'a, Result<Option<Frame>, ApiError>>;

pub struct Api {
    pub key: ApiKey,
    /// Kafka's request name (metrics label).
    pub name: &'static str,
    /// Lowest version we decode.
    pub min: i16,
    pub max: i16,
    /// Lowest version we advertise (Produce advertises 0 for librdkafka, KAFKA-18659).
    pub advertised_min: i16,
    /// Lowest version served at all: below `min`, the versions Kafka 4.0 removed (KIP-896)
    /// are decoded and answered by `legacy`.
    pub legacy_min: i16,
    handler: Handler,
    decode: fn(Bytes, i16) -> anyhow::Result<()>,
}

/// Request context handed to handlers.
pub struct Ctx<'a> {
    pub broker: &'a Arc<Broker>,
    pub conn: &'a ConnectionInfo,
    pub header: &'a RequestHeader,
    pub version: i16,
}

/// THE table: every served API with its versions, request type and handler. The macro
/// makes one routing fn per entry (decode, handle, encode; handlers returning
/// `MaybeResponse(None)` send nothing, e.g. acks=0 produce) and a decode-only fn (for
/// fuzzing), so dispatch, ApiVersions and the fuzz target can never disagree.
macro_rules! api_table {
    ($( $key:ident [$min:expr, $max:expr, advertised $adv:expr] $req:ty => $handler:path; )*) => {
        pub static APIS: &[Api] = &[$(
            Api {
                key: ApiKey::$key,
                name: stringify!($key),
                min: $min,
                max: $max,
                advertised_min: $adv,
                legacy_min: legacy::min_version(ApiKey::$key, $min),
                handler: {
                    fn route<'a>(b: &'a Arc<Broker>, c: &'a ConnectionInfo, h: RequestHeader, mut body: Bytes) -> BoxFuture<'a, Result<Option<Frame>, ApiError>> {
                        Box::pin(async move {
                            let v = h.request_api_version;
                            let req = <$req>::decode(&mut body, v).map_err(|e| ApiError::Decode(ApiKey::$key, e))?;
                            let ctx = Ctx { broker: b, conn: c, header: &h, version: v };
                            let resp = $handler(&ctx, req).await;
                            IntoResponse::into_frame(resp, ApiKey::$key, v, h.correlation_id)
                        })
                    }
                    route
                },
                decode: {
                    fn decode(mut body: Bytes, v: i16) -> anyhow::Result<()> {
                        <$req>::decode(&mut body, v).map(|_| ())
                    }
                    decode
                },
            },
        )*];
    };
}

/// What a handler returns, turned into the frame to send (None: no response is due).
trait IntoResponse {
    fn into_frame(self, key: ApiKey, version: i16, correlation_id: i32) -> Result<Option<Frame>, ApiError>;
}
impl<T: Encodable + kafka_protocol::protocol::Message> IntoResponse for T {
    fn into_frame(self, key: ApiKey, version: i16, correlation_id: i32) -> Result<Option<Frame>, ApiError> {
        encode_response(key, version, correlation_id, &self).map(|b| Some(Frame::Plain(b)))
    }
}
/// Wrapper for handlers that may send no response.
pub struct MaybeResponse<T>(pub Option<T>);
impl<T: Encodable> IntoResponse for MaybeResponse<T> {
    fn into_frame(self, key: ApiKey, version: i16, correlation_id: i32) -> Result<Option<Frame>, ApiError> {
        self.0.map(|r| encode_response(key, version, correlation_id, &r).map(Frame::Plain)).transpose()
    }
}
/// Fetch: records are sent from the log segments with sendfile (see network::frame).
impl IntoResponse for fetch::FetchReply {
    fn into_frame(self, key: ApiKey, version: i16, correlation_id: i32) -> Result<Option<Frame>, ApiError> {
        let buf = encode_response(key, version, correlation_id, &self.response)?;
        if self.regions.is_empty() {
            return Ok(Some(Frame::Plain(buf)));
        }
        crate::broker::network::frame::splice(buf, &self.nonce, self.regions, version >= 12)
            .map(Some)
            .ok_or_else(|| ApiError::Encode(key, anyhow::anyhow!("records marker not found in the encoded response")))
    }
}

api_table! {
    Produce [3, 13, advertised 0] ProduceRequest => produce::handle;
    Fetch [4, 18, advertised 4] FetchRequest => fetch::handle;
    ListOffsets [1, 10, advertised 1] ListOffsetsRequest => list_offsets::handle;
    Metadata [0, 13, advertised 0] MetadataRequest => metadata::handle;
    OffsetCommit [2, 9, advertised 2] OffsetCommitRequest => offsets::offset_commit;
    OffsetFetch [1, 9, advertised 1] OffsetFetchRequest => offsets::offset_fetch;
    FindCoordinator [0, 6, advertised 0] FindCoordinatorRequest => groups::find_coordinator;
    JoinGroup [0, 9, advertised 0] JoinGroupRequest => groups::join_group;
    Heartbeat [0, 4, advertised 0] HeartbeatRequest => groups::heartbeat;
    LeaveGroup [0, 5, advertised 0] LeaveGroupRequest => groups::leave_group;
    SyncGroup [0, 5, advertised 0] SyncGroupRequest => groups::sync_group;
    DescribeGroups [0, 6, advertised 0] DescribeGroupsRequest => groups::describe_groups;
    ListGroups [0, 5, advertised 0] ListGroupsRequest => groups::list_groups;
    ApiVersions [0, 4, advertised 0] ApiVersionsRequest => api_versions;
    SaslHandshake [0, 1, advertised 0] SaslHandshakeRequest => sasl::sasl_handshake;
    SaslAuthenticate [0, 2, advertised 0] SaslAuthenticateRequest => sasl::sasl_authenticate;
    CreateTopics [2, 7, advertised 2] CreateTopicsRequest => topics::create_topics;
    DeleteTopics [1, 6, advertised 1] DeleteTopicsRequest => topics::delete_topics;
    DeleteRecords [0, 2, advertised 0] DeleteRecordsRequest => records::delete_records;
    OffsetForLeaderEpoch [2, 4, advertised 2] OffsetForLeaderEpochRequest => records::offset_for_leader_epoch;
    DescribeConfigs [1, 4, advertised 1] DescribeConfigsRequest => configs::describe_configs;
    AlterConfigs [0, 2, advertised 0] AlterConfigsRequest => configs::alter_configs;
    DescribeLogDirs [1, 4, advertised 1] DescribeLogDirsRequest => log_dirs::describe_log_dirs;
    AlterReplicaLogDirs [1, 2, advertised 1] AlterReplicaLogDirsRequest => log_dirs::alter_replica_log_dirs;
    CreatePartitions [0, 3, advertised 0] CreatePartitionsRequest => topics::create_partitions;
    DeleteGroups [0, 2, advertised 0] DeleteGroupsRequest => groups::delete_groups;
    ConsumerGroupHeartbeat [0, 1, advertised 0] ConsumerGroupHeartbeatRequest => consumer_groups::heartbeat;
    ShareGroupHeartbeat [1, 1, advertised 1] ShareGroupHeartbeatRequest => share::heartbeat;
    ShareGroupDescribe [1, 1, advertised 1] ShareGroupDescribeRequest => share::describe;
    ShareFetch [1, 1, advertised 1] ShareFetchRequest => share::fetch;
    ShareAcknowledge [1, 1, advertised 1] ShareAcknowledgeRequest => share::acknowledge;
    DescribeShareGroupOffsets [0, 0, advertised 0] DescribeShareGroupOffsetsRequest => share_offsets::describe_offsets;
    AlterShareGroupOffsets [0, 0, advertised 0] AlterShareGroupOffsetsRequest => share_offsets::alter_offsets;
    DeleteShareGroupOffsets [0, 0, advertised 0] DeleteShareGroupOffsetsRequest => share_offsets::delete_offsets;
    ReadShareGroupState [0, 0, advertised 0] ReadShareGroupStateRequest => share::read_state;
    WriteShareGroupState [0, 0, advertised 0] WriteShareGroupStateRequest => share::write_state;
    ConsumerGroupDescribe [0, 1, advertised 0] ConsumerGroupDescribeRequest => consumer_groups::describe;
    IncrementalAlterConfigs [0, 1, advertised 0] IncrementalAlterConfigsRequest => configs::incremental_alter_configs;
    OffsetDelete [0, 0, advertised 0] OffsetDeleteRequest => offsets::offset_delete;
    DescribeCluster [0, 2, advertised 0] DescribeClusterRequest => cluster::describe_cluster;
    ElectLeaders [0, 2, advertised 0] ElectLeadersRequest => elect::elect_leaders;
    InitProducerId [0, 5, advertised 0] InitProducerIdRequest => txn::init_producer_id;
    AddPartitionsToTxn [0, 5, advertised 0] AddPartitionsToTxnRequest => txn::add_partitions_to_txn;
    AddOffsetsToTxn [0, 4, advertised 0] AddOffsetsToTxnRequest => txn::add_offsets_to_txn;
    EndTxn [0, 4, advertised 0] EndTxnRequest => txn::end_txn;
    WriteTxnMarkers [1, 1, advertised 1] WriteTxnMarkersRequest => txn::write_txn_markers;
    TxnOffsetCommit [0, 4, advertised 0] TxnOffsetCommitRequest => txn::txn_offset_commit;
    DescribeProducers [0, 0, advertised 0] DescribeProducersRequest => txn::describe_producers;
    DescribeTransactions [0, 0, advertised 0] DescribeTransactionsRequest => txn::describe_transactions;
    ListTransactions [0, 2, advertised 0] ListTransactionsRequest => txn::list_transactions;
    DescribeQuorum [0, 2, advertised 0] DescribeQuorumRequest => quorum::describe_quorum;
    AlterPartitionReassignments [0, 1, advertised 0] AlterPartitionReassignmentsRequest => reassign::alter;
    ListPartitionReassignments [0, 0, advertised 0] ListPartitionReassignmentsRequest => reassign::list;
    DescribeTopicPartitions [0, 0, advertised 0] DescribeTopicPartitionsRequest => describe_topic_partitions::handle;
    ListConfigResources [0, 1, advertised 0] ListConfigResourcesRequest => configs::list_config_resources;
    DescribeAcls [1, 3, advertised 1] DescribeAclsRequest => acls::describe_acls;
    CreateAcls [1, 3, advertised 1] CreateAclsRequest => acls::create_acls;
    DeleteAcls [1, 3, advertised 1] DeleteAclsRequest => acls::delete_acls;
    DescribeClientQuotas [0, 1, advertised 0] DescribeClientQuotasRequest => quotas::describe;
    AlterClientQuotas [0, 1, advertised 0] AlterClientQuotasRequest => quotas::alter;
    GetTelemetrySubscriptions [0, 0, advertised 0] GetTelemetrySubscriptionsRequest => telemetry::get_subscriptions;
    PushTelemetry [0, 0, advertised 0] PushTelemetryRequest => telemetry::push;
    DescribeUserScramCredentials [0, 0, advertised 0] DescribeUserScramCredentialsRequest => scram::describe;
    AlterUserScramCredentials [0, 0, advertised 0] AlterUserScramCredentialsRequest => scram::alter;
}

fn find(key: ApiKey) -> Option<&'static Api> {
    APIS.iter().find(|a| a.key == key)
}

/// The ApiVersions list. Without a telemetry receiver (client.telemetry.enable=false) Kafka
/// leaves KIP-714's two APIs out, and clients never ask.
fn advertised(b: &Broker) -> Vec<ApiVersion> {
    let telemetry = [ApiKey::GetTelemetrySubscriptions, ApiKey::PushTelemetry];
    APIS.iter()
        .filter(|a| b.config.client_telemetry || !telemetry.contains(&a.key))
        .map(|a| {
            ApiVersion::default().with_api_key(a.key as i16).with_min_version(a.advertised_min.min(a.legacy_min)).with_max_version(a.max)
        })
        .collect()
}

/// The feature levels rk implements, as Kafka 4.0 reports them in ApiVersions v3+ (KIP-584):
/// (name, supported min, supported max, finalized level). metadata.version 25 is 4.0-IV3;
/// group.version 1 is the KIP-848 consumer protocol, share.version 1 the KIP-932 share groups. transaction.version stays at 0: the
/// KIP-890 part 2 protocol (epoch bump per transaction, implicit AddPartitionsToTxn) is not
/// served, and a Java 4.x producer reads a finalized level 2 as leave to use it.
/// Level 0 features are not finalized, as Kafka omits them.
const FEATURES: [(&str, i16, i16, i16); 5] = [
    ("metadata.version", 7, 25, 25),
    ("kraft.version", 0, 0, 0),
    ("group.version", 0, 1, 1),
    ("transaction.version", 0, 0, 0),
    ("share.version", 0, 1, 1),
];

async fn api_versions(ctx: &Ctx<'_>, req: ApiVersionsRequest) -> ApiVersionsResponse {
    use kafka_protocol::messages::api_versions_response::{FinalizedFeatureKey, SupportedFeatureKey};
    if ctx.version >= 3 {
        let _ = ctx.conn.software.set((req.client_software_name.to_string(), req.client_software_version.to_string()));
    }
    let supported = FEATURES
        .iter()
        .map(|(name, min, max, _)| {
            SupportedFeatureKey::default().with_name(StrBytes::from_static_str(name)).with_min_version(*min).with_max_version(*max)
        })
        .collect();
    let finalized = FEATURES
        .iter()
        .filter(|f| f.3 > 0)
        .map(|(name, _, _, level)| {
            FinalizedFeatureKey::default()
                .with_name(StrBytes::from_static_str(name))
                .with_min_version_level(*level)
                .with_max_version_level(*level)
        })
        .collect();
    let resp = ApiVersionsResponse::default().with_api_keys(advertised(ctx.broker));
    if ctx.version < 3 {
        // The feature fields are tagged fields of v3+.
        return resp;
    }
    resp.with_supported_features(supported)
        .with_finalized_features(finalized)
        .with_finalized_features_epoch(ctx.broker.image().offset.max(0))
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
pub async fn dispatch(broker: &Arc<Broker>, conn: &ConnectionInfo, mut frame: Bytes) -> Result<Option<Frame>, ApiError> {
    let key_raw = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let key = ApiKey::try_from(key_raw).map_err(|_| ApiError::UnknownApiKey(key_raw))?;
    let api = find(key).ok_or(ApiError::NotServed(key))?;
    if key == ApiKey::ApiVersions && version > api.max {
        // KIP-511: answer in v0 with UNSUPPORTED_VERSION and our ranges so the client retries.
        let resp = ApiVersionsResponse::default()
            .with_error_code(kafka_protocol::error::ResponseError::UnsupportedVersion.code())
            .with_api_keys(advertised(broker));
        return encode_response(key, 0, correlation_id, &resp).map(|b| Some(Frame::Plain(b)));
    }
    if version < api.legacy_min || version > api.max {
        return Err(ApiError::UnsupportedVersion(key, version));
    }
    let header = decode_request_header_from_buffer(&mut frame).map_err(|e| ApiError::Decode(key, e))?;
    let handler = if version < api.min { legacy::route } else { api.handler };
    if key != ApiKey::ApiVersions {
        // A KRaft broker serves nothing before it caught up with the metadata (a restarted
        // broker's image is behind the quorum's): requests wait, as Kafka's listeners do.
        broker.wait_caught_up().await;
    }
    tracing::trace!(api = ?key, version, correlation_id, client = %conn.client_host, "request");
    let started = std::time::Instant::now();
    let answer = if broker.client_quotas.enabled(crate::broker::security::quota::QuotaType::Request) {
        let client_id = header.client_id.as_ref().map_or(String::new(), |s| s.to_string());
        quotas::request_time(broker, conn, key, version, client_id, handler(broker, conn, header, frame)).await
    } else {
        handler(broker, conn, header, frame).await
    };
    tracing::trace!(api = ?key, correlation_id, "answered");
    broker.metrics.request(api.name, started.elapsed().as_secs_f64() * 1000.0);
    answer
}

/// Parses a request frame exactly as dispatch does (header, version checks, body decode)
/// without handling it. For the fuzz target and tests of malformed input.
pub fn decode_request(mut frame: Bytes) -> Result<ApiKey, ApiError> {
    if frame.len() < 8 {
        return Err(ApiError::Decode(ApiKey::ApiVersions, anyhow::anyhow!("frame shorter than a request header")));
    }
    let key_raw = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let key = ApiKey::try_from(key_raw).map_err(|_| ApiError::UnknownApiKey(key_raw))?;
    let api = find(key).ok_or(ApiError::NotServed(key))?;
    if version < api.legacy_min || version > api.max {
        return Err(ApiError::UnsupportedVersion(key, version));
    }
    decode_request_header_from_buffer(&mut frame).map_err(|e| ApiError::Decode(key, e))?;
    if version < api.min {
        legacy::decode_only(key, frame, version).map_err(|e| ApiError::Decode(key, e))?;
    } else {
        (api.decode)(frame, version).map_err(|e| ApiError::Decode(key, e))?;
    }
    Ok(key)
}

/// Runs coordinator work that appends to a log (group and offset records) without holding
/// up the async workers: tokio moves this worker's other tasks elsewhere meanwhile.
pub(crate) fn on_disk<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Shorthands used by handlers.
pub(crate) fn code(e: kafka_protocol::error::ResponseError) -> i16 {
    e.code()
}
pub(crate) fn sb(s: impl Into<String>) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(s.into())
}
