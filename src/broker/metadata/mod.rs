//! Cluster metadata as a log of records (topic, partition, config, removal) applied to an
//! immutable in-memory image. Handlers read the image; only the controller writes records.
//! The same records are what a Raft quorum will replicate later.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// One metadata change. Stored as the JSON value of a record in `__cluster_metadata-0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    Topic {
        name: String,
        id: Uuid,
    },
    Partition {
        topic_id: Uuid,
        partition: i32,
        replicas: Vec<i32>,
        isr: Vec<i32>,
        leader: i32,
        leader_epoch: i32,
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionImage {
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub leader: i32,
    pub leader_epoch: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopicImage {
    pub name: String,
    pub id: Uuid,
    pub partitions: BTreeMap<i32, PartitionImage>,
    pub configs: BTreeMap<String, String>,
}

impl TopicImage {
    pub fn is_internal(&self) -> bool {
        self.name.starts_with("__")
    }
}

/// The metadata image: an immutable snapshot; a change produces a new image.
#[derive(Debug, Clone, Default)]
pub struct MetadataImage {
    pub topics: BTreeMap<String, Arc<TopicImage>>,
    pub ids: HashMap<Uuid, String>,
    /// Offset of the last applied metadata record + 1.
    pub offset: i64,
}

impl MetadataImage {
    pub fn topic(&self, name: &str) -> Option<&Arc<TopicImage>> {
        self.topics.get(name)
    }
    pub fn topic_by_id(&self, id: &Uuid) -> Option<&Arc<TopicImage>> {
        self.ids.get(id).and_then(|n| self.topics.get(n))
    }

    /// Applies one record. Records that refer to unknown topics are ignored (they can
    /// only come from a log written by a newer version or a removed topic).
    pub fn apply(&mut self, rec: &MetadataRecord) {
        match rec {
            MetadataRecord::Topic { name, id } => {
                self.ids.insert(*id, name.clone());
                self.topics.insert(
                    name.clone(),
                    Arc::new(TopicImage { name: name.clone(), id: *id, partitions: BTreeMap::new(), configs: BTreeMap::new() }),
                );
            }
            MetadataRecord::Partition { topic_id, partition, replicas, isr, leader, leader_epoch } => {
                if let Some(t) = self.topic_mut(topic_id) {
                    t.partitions.insert(
                        *partition,
                        PartitionImage { replicas: replicas.clone(), isr: isr.clone(), leader: *leader, leader_epoch: *leader_epoch },
                    );
                }
            }
            MetadataRecord::TopicConfig { topic_id, name, value } => {
                if let Some(t) = self.topic_mut(topic_id) {
                    match value {
                        Some(v) => t.configs.insert(name.clone(), v.clone()),
                        None => t.configs.remove(name),
                    };
                }
            }
            MetadataRecord::RemoveTopic { id } => {
                if let Some(name) = self.ids.remove(id) {
                    self.topics.remove(&name);
                }
            }
        }
    }

    fn topic_mut(&mut self, id: &Uuid) -> Option<&mut TopicImage> {
        let name = self.ids.get(id)?;
        self.topics.get_mut(name).map(Arc::make_mut)
    }
}

/// Kafka's topic-name rules: 1..=249 chars of [a-zA-Z0-9._-], not "." or "..".
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > 249 {
        return Err(format!("Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_and_remove() {
        let id = Uuid::new_v4();
        let mut img = MetadataImage::default();
        img.apply(&MetadataRecord::Topic { name: "t".into(), id });
        img.apply(&MetadataRecord::Partition { topic_id: id, partition: 0, replicas: vec![1], isr: vec![1], leader: 1, leader_epoch: 0 });
        img.apply(&MetadataRecord::TopicConfig { topic_id: id, name: "retention.ms".into(), value: Some("5".into()) });
        let t = img.topic("t").unwrap();
        assert_eq!(t.partitions.len(), 1);
        assert_eq!(t.configs["retention.ms"], "5");
        img.apply(&MetadataRecord::RemoveTopic { id });
        assert!(img.topic("t").is_none() && img.topic_by_id(&id).is_none());
    }

    #[test]
    fn record_json_round_trip() {
        let r = MetadataRecord::TopicConfig { topic_id: Uuid::nil(), name: "a".into(), value: None };
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<MetadataRecord>(&j).unwrap(), r);
    }

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("a.b-c_1").is_ok());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("bad name").is_err());
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
    }
}
