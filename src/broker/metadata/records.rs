//! The metadata record format of `__cluster_metadata`: one JSON object per record value,
//! readable by a person (`rk dump-log --cluster-metadata-decoder`) and versioned by its
//! `v` field so a cluster of mixed rk versions can read what older versions wrote and
//! refuse, loudly, what a newer version wrote.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The record format version this build writes; it reads every version up to it.
/// v0: records without a `v` field (rk 0.1); v1: adds `partition_epoch`, `ProducerIds`;
/// v2: brokers (`RegisterBroker`, `BrokerChange`, `UnregisterBroker`) and reassignments
/// (`adding`/`removing` of `Partition`); v3: security (`AccessControlEntry`,
/// `UserScramCredential`, `ClientQuota` and their removals).
pub const RECORD_VERSION: u16 = 3;

/// One metadata change, as Kafka's KRaft records (TopicRecord, PartitionRecord,
/// ConfigRecord, RemoveTopicRecord, ProducerIdsRecord, ...) but as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    Topic {
        name: String,
        id: Uuid,
    },
    /// A partition's full state (creation, or a change written by the controller).
    Partition {
        topic_id: Uuid,
        partition: i32,
        replicas: Vec<i32>,
        isr: Vec<i32>,
        leader: i32,
        leader_epoch: i32,
        /// Bumped on every change of the partition (Kafka's partition epoch).
        #[serde(default)]
        partition_epoch: i32,
        /// A reassignment in progress: replicas being added and removed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        adding: Vec<i32>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removing: Vec<i32>,
    },
    /// A topic config override (value None removes it).
    TopicConfig {
        topic_id: Uuid,
        name: String,
        value: Option<String>,
    },
    RemoveTopic {
        id: Uuid,
    },
    /// A block of producer ids handed out: ids below `next_producer_id` are taken.
    ProducerIds {
        broker: i32,
        next_producer_id: i64,
    },
    /// A broker (re)registered: its incarnation `epoch` (the record's metadata offset),
    /// the client listener it serves and its rack. It starts fenced.
    RegisterBroker {
        id: i32,
        epoch: i64,
        host: String,
        port: u16,
        #[serde(default)]
        rack: Option<String>,
        /// Every client listener: (name, host, port); Metadata answers with the endpoints
        /// of the listener the request came on.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        listeners: Vec<(String, String, u16)>,
    },
    /// A registered broker's state changed (Kafka's BrokerRegistrationChangeRecord).
    BrokerChange {
        id: i32,
        epoch: i64,
        #[serde(default)]
        fenced: Option<bool>,
        #[serde(default)]
        in_controlled_shutdown: Option<bool>,
    },
    UnregisterBroker {
        id: i32,
        epoch: i64,
    },
    /// A dynamic broker config (broker -1: the cluster-wide default); value None removes it.
    BrokerConfig {
        broker: i32,
        name: String,
        value: Option<String>,
    },
    /// A group config (KIP-848: consumer.session.timeout.ms, consumer.heartbeat.interval.ms);
    /// value None removes it.
    GroupConfig {
        group: String,
        name: String,
        value: Option<String>,
    },
    /// A client-metrics subscription's config (KIP-714: metrics, interval.ms, match; Kafka's
    /// ConfigRecord of resource type CLIENT_METRICS); value None removes it.
    ClientMetricsConfig {
        subscription: String,
        name: String,
        value: Option<String>,
    },
    /// An ACL (Kafka's AccessControlEntryRecord); codes are the wire protocol's
    /// (resource type, pattern type, operation, permission type).
    AccessControlEntry {
        id: Uuid,
        #[serde(flatten)]
        acl: crate::broker::security::acl::AclBinding,
    },
    RemoveAccessControlEntry {
        id: Uuid,
    },
    /// A SCRAM credential (Kafka's UserScramCredentialRecord): mechanism 1 SCRAM-SHA-256,
    /// 2 SCRAM-SHA-512; salt and keys base64. The password itself is never stored.
    UserScramCredential {
        name: String,
        mechanism: i8,
        salt: String,
        stored_key: String,
        server_key: String,
        iterations: i32,
    },
    RemoveUserScramCredential {
        name: String,
        mechanism: i8,
    },
    /// A client quota (Kafka's ClientQuotaRecord): the entity as (entity type, name; None =
    /// the default entity) pairs, e.g. [("user","alice"),("client-id",None)]; value None
    /// removes the key.
    ClientQuota {
        entity: Vec<(String, Option<String>)>,
        key: String,
        value: Option<f64>,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    v: u16,
    #[serde(flatten)]
    record: std::borrow::Cow<'a, MetadataRecord>,
}

/// Why a stored record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("metadata record version {0} was written by a newer rk (this one reads up to {RECORD_VERSION})")]
    TooNew(u16),
    #[error("unreadable metadata record: {0}")]
    Format(#[from] serde_json::Error),
}

impl MetadataRecord {
    /// A new partition: every replica in sync, the first one leading, epochs 0.
    pub fn new_partition(topic_id: Uuid, partition: i32, replicas: Vec<i32>) -> MetadataRecord {
        MetadataRecord::Partition {
            topic_id,
            partition,
            isr: replicas.clone(),
            leader: replicas.first().copied().unwrap_or(-1),
            replicas,
            leader_epoch: 0,
            partition_epoch: 0,
            adding: Vec::new(),
            removing: Vec::new(),
        }
    }

    /// A partition's full state as a record (every change writes the whole state).
    pub fn partition(topic_id: Uuid, partition: i32, p: &super::PartitionImage) -> MetadataRecord {
        MetadataRecord::Partition {
            topic_id,
            partition,
            replicas: p.replicas.clone(),
            isr: p.isr.clone(),
            leader: p.leader,
            leader_epoch: p.leader_epoch,
            partition_epoch: p.partition_epoch,
            adding: p.adding.clone(),
            removing: p.removing.clone(),
        }
    }

    /// The record value as stored: `{"v":1,"type":"Topic",...}`.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&Envelope { v: RECORD_VERSION, record: std::borrow::Cow::Borrowed(self) }).expect("metadata records serialise")
    }

    pub fn decode(value: &[u8]) -> Result<MetadataRecord, RecordError> {
        let e: Envelope<'static> = serde_json::from_slice(value)?;
        if e.v > RECORD_VERSION {
            return Err(RecordError::TooNew(e.v));
        }
        Ok(e.record.into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_carries_the_version() {
        let r = MetadataRecord::TopicConfig { topic_id: Uuid::nil(), name: "a".into(), value: None };
        let bytes = r.encode();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\"v\":3,\"type\":\"TopicConfig\""), "{text}");
        assert_eq!(MetadataRecord::decode(&bytes).unwrap(), r);
    }

    #[test]
    fn reads_version_zero_and_refuses_newer() {
        let v0 = br#"{"type":"Partition","topic_id":"00000000-0000-0000-0000-000000000000","partition":0,"replicas":[1],"isr":[1],"leader":1,"leader_epoch":0}"#;
        let r = MetadataRecord::decode(v0).unwrap();
        assert!(matches!(r, MetadataRecord::Partition { partition_epoch: 0, .. }));
        let newer = br#"{"v":99,"type":"RemoveTopic","id":"00000000-0000-0000-0000-000000000000"}"#;
        assert!(matches!(MetadataRecord::decode(newer), Err(RecordError::TooNew(99))));
        assert!(MetadataRecord::decode(b"{\"v\":1,\"type\":\"Bogus\"}").is_err());
    }
}
