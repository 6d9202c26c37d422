//! The KRaft quorum as the admin client sees it: DescribeQuorum (key 55) for
//! `__cluster_metadata`-0 and the cluster id (DescribeCluster, else Metadata), sent to the
//! first reachable bootstrap address (a broker or a controller).

use super::config::ClientConfig;
use super::connection::{ClientError, Connection};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::time::Duration;
use uuid::Uuid;

/// The metadata log's topic and partition.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// One voter or observer of the metadata log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaState {
    pub id: i32,
    /// The zero uuid when the replica has none (v0-1 responses, or a static voter).
    pub directory_id: Uuid,
    pub log_end_offset: i64,
    /// None when the response says -1 (unknown) or the version lacks it.
    pub last_fetch_timestamp: Option<i64>,
    pub last_caught_up_timestamp: Option<i64>,
}

/// A listener of a voter (DescribeQuorum v2 `Nodes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    /// Kafka's `RaftVoterEndpoint.toString`: `NAME://host:port`, IPv6 hosts bracketed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.name, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.name, self.host, self.port)
        }
    }
}

/// Kafka's `QuorumInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumInfo {
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<ReplicaState>,
    pub observers: Vec<ReplicaState>,
    /// Voter id → its endpoints (empty before v2).
    pub nodes: BTreeMap<i32, Vec<Endpoint>>,
}

/// Errors a retry can fix: the leader moved or is being elected.
fn retriable(code: i16) -> bool {
    [ResponseError::NotLeaderOrFollower, ResponseError::LeaderNotAvailable, ResponseError::NotController, ResponseError::RequestTimedOut]
        .iter()
        .any(|e| e.code() == code)
}

/// A connection to the first reachable bootstrap address.
pub async fn connect_bootstrap(cfg: &ClientConfig) -> Result<Connection, ClientError> {
    let mut last = None;
    for addr in &cfg.bootstrap {
        match Connection::connect_with(addr, &cfg.client_id, &cfg.security).await {
            Ok(mut c) => {
                c.set_timeout(cfg.request_timeout);
                return Ok(c);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| ClientError::Protocol("no bootstrap servers given".into())))
}

/// The cluster id: DescribeCluster when the node has it, else Metadata's.
pub async fn cluster_id(conn: &Connection) -> Result<String, ClientError> {
    if conn.version_for::<DescribeClusterRequest>().is_ok() {
        let resp = conn.send(&DescribeClusterRequest::default()).await?;
        if resp.error_code != 0 {
            return Err(java_err(resp.error_code, resp.error_message.as_deref()));
        }
        return Ok(resp.cluster_id.to_string());
    }
    let resp = conn.send(&MetadataRequest::default().with_topics(Some(Vec::new()))).await?;
    Ok(resp.cluster_id.map(|s| s.to_string()).unwrap_or_default())
}

/// DescribeQuorum for `__cluster_metadata`-0, retried (up to the request timeout) while
/// the answer is a retriable error, with the admin client's checks of the response shape.
pub async fn describe_quorum(conn: &Connection, timeout: Duration) -> Result<QuorumInfo, ClientError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match describe_once(conn).await {
            Err(ClientError::Kafka { code, .. }) if retriable(code) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

async fn describe_once(conn: &Connection) -> Result<QuorumInfo, ClientError> {
    let req = DescribeQuorumRequest::default().with_topics(vec![
        describe_quorum_request::TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
            .with_partitions(vec![describe_quorum_request::PartitionData::default().with_partition_index(0)]),
    ]);
    let resp = conn.send(&req).await?;
    quorum_from_response(resp)
}

/// A broker error with the Java client's message.
fn java_err(code: i16, message: Option<&str>) -> ClientError {
    ClientError::Kafka { code, message: super::admin_reassign::java_message(code, message) }
}

fn unknown_server(msg: String) -> ClientError {
    ClientError::Kafka { code: ResponseError::UnknownServerError.code(), message: msg }
}

/// Kafka's `describeMetadataQuorum` response handling: top-level error, then exactly one
/// topic `__cluster_metadata` with exactly partition 0, then the partition's error.
pub fn quorum_from_response(resp: DescribeQuorumResponse) -> Result<QuorumInfo, ClientError> {
    if resp.error_code != 0 {
        return Err(java_err(resp.error_code, resp.error_message.as_deref()));
    }
    if resp.topics.len() != 1 {
        return Err(unknown_server(format!("DescribeMetadataQuorum received {} topics when 1 was expected", resp.topics.len())));
    }
    let topic = &resp.topics[0];
    if topic.topic_name.0.as_str() != METADATA_TOPIC {
        return Err(unknown_server(format!(
            "DescribeMetadataQuorum received a topic with name {} when {METADATA_TOPIC} was expected",
            topic.topic_name.0.as_str()
        )));
    }
    if topic.partitions.len() != 1 {
        return Err(unknown_server(format!(
            "DescribeMetadataQuorum received a topic {METADATA_TOPIC} with {} partitions when 1 was expected",
            topic.partitions.len()
        )));
    }
    let p = &topic.partitions[0];
    if p.partition_index != 0 {
        return Err(unknown_server(format!(
            "DescribeMetadataQuorum received a single partition with index {} when 0 was expected",
            p.partition_index
        )));
    }
    if p.error_code != 0 {
        return Err(java_err(p.error_code, p.error_message.as_deref()));
    }
    let state = |r: &describe_quorum_response::ReplicaState| ReplicaState {
        id: r.replica_id.0,
        directory_id: r.replica_directory_id,
        log_end_offset: r.log_end_offset,
        last_fetch_timestamp: (r.last_fetch_timestamp != -1).then_some(r.last_fetch_timestamp),
        last_caught_up_timestamp: (r.last_caught_up_timestamp != -1).then_some(r.last_caught_up_timestamp),
    };
    let nodes = resp
        .nodes
        .iter()
        .map(|n| {
            let eps = n.listeners.iter().map(|l| Endpoint { name: l.name.to_string(), host: l.host.to_string(), port: l.port }).collect();
            (n.node_id.0, eps)
        })
        .collect();
    Ok(QuorumInfo {
        leader_id: p.leader_id.0,
        leader_epoch: p.leader_epoch,
        high_watermark: p.high_watermark,
        voters: p.current_voters.iter().map(state).collect(),
        observers: p.observers.iter().map(state).collect(),
        nodes,
    })
}

/// Kafka's `Uuid.toString`: URL-safe base64 of the 16 bytes, without padding.
pub fn kafka_uuid(u: &Uuid) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(u.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(topic: &str, partitions: Vec<i32>) -> DescribeQuorumResponse {
        DescribeQuorumResponse::default().with_topics(vec![
            describe_quorum_response::TopicData::default().with_topic_name(TopicName(StrBytes::from_string(topic.into()))).with_partitions(
                partitions.into_iter().map(|i| describe_quorum_response::PartitionData::default().with_partition_index(i)).collect(),
            ),
        ])
    }

    #[test]
    fn response_shape_is_checked_like_the_admin_client() {
        let e = quorum_from_response(resp("other", vec![0])).unwrap_err().to_string();
        assert_eq!(e, "DescribeMetadataQuorum received a topic with name other when __cluster_metadata was expected");
        let e = quorum_from_response(resp(METADATA_TOPIC, vec![0, 1])).unwrap_err().to_string();
        assert_eq!(e, "DescribeMetadataQuorum received a topic __cluster_metadata with 2 partitions when 1 was expected");
        let e = quorum_from_response(resp(METADATA_TOPIC, vec![3])).unwrap_err().to_string();
        assert_eq!(e, "DescribeMetadataQuorum received a single partition with index 3 when 0 was expected");
        let e = quorum_from_response(DescribeQuorumResponse::default()).unwrap_err().to_string();
        assert_eq!(e, "DescribeMetadataQuorum received 0 topics when 1 was expected");
        assert!(quorum_from_response(resp(METADATA_TOPIC, vec![0])).is_ok());
    }

    #[test]
    fn uuids_print_as_kafka_base64() {
        assert_eq!(kafka_uuid(&Uuid::nil()), "AAAAAAAAAAAAAAAAAAAAAA");
        let u = Uuid::from_bytes([0xff; 16]);
        assert_eq!(kafka_uuid(&u), "_____________________w");
        let ep = Endpoint { name: "CONTROLLER".into(), host: "::1".into(), port: 9093 };
        assert_eq!(ep.to_string(), "CONTROLLER://[::1]:9093");
    }
}
