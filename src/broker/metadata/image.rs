//! MetadataImage: the immutable in-memory state that metadata records are applied to (in
//! log order, by the publisher and by the controller), and MetadataDelta, what one
//! published batch changed, handed to every listener.

use super::MetadataRecord;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionImage {
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub leader: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    /// A reassignment in progress (replicas = target ∪ removing).
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// A registered broker.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerImage {
    pub id: i32,
    pub epoch: i64,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    /// Client listeners: (name, host, port).
    pub listeners: Vec<(String, String, u16)>,
    pub fenced: bool,
    pub in_controlled_shutdown: bool,
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
    /// Producer ids below this one are handed out (never reused, across restarts too).
    pub next_producer_id: i64,
    /// Registered brokers (KRaft mode; empty for a single node).
    pub brokers: BTreeMap<i32, BrokerImage>,
    /// Dynamic broker configs: (broker or -1 for all, name) → value.
    pub broker_configs: BTreeMap<(i32, String), String>,
    /// Group configs: (group, name) → value.
    pub group_configs: BTreeMap<(String, String), String>,
    /// Client-metrics subscriptions (KIP-714): (subscription, name) → value.
    pub client_metrics: BTreeMap<(String, String), String>,
    /// ACLs by id (the authorizer indexes them per image).
    pub acls: BTreeMap<Uuid, crate::broker::security::acl::AclBinding>,
    /// SCRAM credentials: (user, mechanism) → credential.
    pub scram: BTreeMap<(String, i8), ScramCredentialImage>,
    /// Client quotas: entity → key → value.
    pub client_quotas: BTreeMap<QuotaEntity, BTreeMap<String, f64>>,
    /// Offset of the last applied metadata record + 1.
    pub offset: i64,
}

/// A stored SCRAM credential (salted, never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredentialImage {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

/// A client quota entity: (entity type, name) pairs sorted by type; name None is the
/// entity type's default (`<default>` in kafka-configs.sh).
pub type QuotaEntity = Vec<(String, Option<String>)>;

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
            MetadataRecord::Partition { topic_id, partition, replicas, isr, leader, leader_epoch, partition_epoch, adding, removing } => {
                if let Some(t) = self.topic_mut(topic_id) {
                    t.partitions.insert(
                        *partition,
                        PartitionImage {
                            replicas: replicas.clone(),
                            isr: isr.clone(),
                            leader: *leader,
                            leader_epoch: *leader_epoch,
                            partition_epoch: *partition_epoch,
                            adding: adding.clone(),
                            removing: removing.clone(),
                        },
                    );
                }
            }
            MetadataRecord::RegisterBroker { id, epoch, host, port, rack, listeners } => {
                self.brokers.insert(
                    *id,
                    BrokerImage {
                        id: *id,
                        epoch: *epoch,
                        host: host.clone(),
                        port: *port,
                        rack: rack.clone(),
                        listeners: listeners.clone(),
                        fenced: true,
                        in_controlled_shutdown: false,
                    },
                );
            }
            MetadataRecord::BrokerChange { id, epoch, fenced, in_controlled_shutdown } => {
                if let Some(b) = self.brokers.get_mut(id).filter(|b| b.epoch == *epoch) {
                    if let Some(f) = fenced {
                        b.fenced = *f;
                    }
                    if let Some(s) = in_controlled_shutdown {
                        b.in_controlled_shutdown = *s;
                    }
                }
            }
            MetadataRecord::GroupConfig { group, name, value } => match value {
                Some(v) => {
                    self.group_configs.insert((group.clone(), name.clone()), v.clone());
                }
                None => {
                    self.group_configs.remove(&(group.clone(), name.clone()));
                }
            },
            MetadataRecord::ClientMetricsConfig { subscription, name, value } => match value {
                Some(v) => {
                    self.client_metrics.insert((subscription.clone(), name.clone()), v.clone());
                }
                None => {
                    self.client_metrics.remove(&(subscription.clone(), name.clone()));
                }
            },
            MetadataRecord::BrokerConfig { broker, name, value } => match value {
                Some(v) => {
                    self.broker_configs.insert((*broker, name.clone()), v.clone());
                }
                None => {
                    self.broker_configs.remove(&(*broker, name.clone()));
                }
            },
            MetadataRecord::UnregisterBroker { id, epoch } => {
                if self.brokers.get(id).is_some_and(|b| b.epoch == *epoch) {
                    self.brokers.remove(id);
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
            MetadataRecord::ProducerIds { next_producer_id, .. } => {
                self.next_producer_id = self.next_producer_id.max(*next_producer_id);
            }
            MetadataRecord::AccessControlEntry { id, acl } => {
                self.acls.insert(*id, acl.clone());
            }
            MetadataRecord::RemoveAccessControlEntry { id } => {
                self.acls.remove(id);
            }
            MetadataRecord::UserScramCredential { name, mechanism, salt, stored_key, server_key, iterations } => {
                use base64::Engine;
                let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap_or_default();
                let cred = ScramCredentialImage {
                    salt: b64(salt),
                    stored_key: b64(stored_key),
                    server_key: b64(server_key),
                    iterations: *iterations,
                };
                self.scram.insert((name.clone(), *mechanism), cred);
            }
            MetadataRecord::RemoveUserScramCredential { name, mechanism } => {
                self.scram.remove(&(name.clone(), *mechanism));
            }
            MetadataRecord::ClientQuota { entity, key, value } => {
                let mut entity = entity.clone();
                entity.sort();
                match value {
                    Some(v) => {
                        self.client_quotas.entry(entity).or_default().insert(key.clone(), *v);
                    }
                    None => {
                        if let Some(m) = self.client_quotas.get_mut(&entity) {
                            m.remove(key);
                            if m.is_empty() {
                                self.client_quotas.remove(&entity);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The records that rebuild this image from nothing (a snapshot's content).
    pub fn to_records(&self) -> Vec<MetadataRecord> {
        let mut out = Vec::new();
        for t in self.topics.values() {
            out.push(MetadataRecord::Topic { name: t.name.clone(), id: t.id });
            for (k, v) in &t.configs {
                out.push(MetadataRecord::TopicConfig { topic_id: t.id, name: k.clone(), value: Some(v.clone()) });
            }
            for (p, s) in &t.partitions {
                out.push(MetadataRecord::partition(t.id, *p, s));
            }
        }
        for ((broker, name), value) in &self.broker_configs {
            out.push(MetadataRecord::BrokerConfig { broker: *broker, name: name.clone(), value: Some(value.clone()) });
        }
        for ((group, name), value) in &self.group_configs {
            out.push(MetadataRecord::GroupConfig { group: group.clone(), name: name.clone(), value: Some(value.clone()) });
        }
        for ((subscription, name), value) in &self.client_metrics {
            out.push(MetadataRecord::ClientMetricsConfig {
                subscription: subscription.clone(),
                name: name.clone(),
                value: Some(value.clone()),
            });
        }
        for b in self.brokers.values() {
            out.push(MetadataRecord::RegisterBroker {
                id: b.id,
                epoch: b.epoch,
                host: b.host.clone(),
                port: b.port,
                rack: b.rack.clone(),
                listeners: b.listeners.clone(),
            });
            out.push(MetadataRecord::BrokerChange {
                id: b.id,
                epoch: b.epoch,
                fenced: Some(b.fenced),
                in_controlled_shutdown: Some(b.in_controlled_shutdown),
            });
        }
        if self.next_producer_id > 0 {
            out.push(MetadataRecord::ProducerIds { broker: -1, next_producer_id: self.next_producer_id });
        }
        for (id, a) in &self.acls {
            out.push(MetadataRecord::AccessControlEntry { id: *id, acl: a.clone() });
        }
        for ((name, mechanism), c) in &self.scram {
            use base64::Engine;
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
            out.push(MetadataRecord::UserScramCredential {
                name: name.clone(),
                mechanism: *mechanism,
                salt: b64(&c.salt),
                stored_key: b64(&c.stored_key),
                server_key: b64(&c.server_key),
                iterations: c.iterations,
            });
        }
        for (entity, values) in &self.client_quotas {
            for (key, value) in values {
                out.push(MetadataRecord::ClientQuota { entity: entity.clone(), key: key.clone(), value: Some(*value) });
            }
        }
        out
    }

    /// A dynamic broker config in force for `broker` (its own, else the cluster default).
    pub fn broker_config(&self, broker: i32, name: &str) -> Option<&String> {
        self.broker_configs.get(&(broker, name.to_string())).or_else(|| self.broker_configs.get(&(-1, name.to_string())))
    }

    /// Brokers that may lead and host replicas: registered, not fenced, not shutting down.
    pub fn usable_brokers(&self) -> impl Iterator<Item = &BrokerImage> {
        self.brokers.values().filter(|b| !b.fenced && !b.in_controlled_shutdown)
    }

    fn topic_mut(&mut self, id: &Uuid) -> Option<&mut TopicImage> {
        let name = self.ids.get(id)?;
        self.topics.get_mut(name).map(Arc::make_mut)
    }
}

/// What one published batch changed: the image before and after, and the records. Each
/// listener derives what it needs (the replica manager: partitions to open, reconfigure
/// or delete; the coordinators: partitions they now lead or no longer lead).
pub struct MetadataDelta<'a> {
    pub prev: &'a MetadataImage,
    pub next: &'a Arc<MetadataImage>,
    pub records: &'a [MetadataRecord],
}

impl MetadataDelta<'_> {
    /// Topics (by id) that existed before and are gone now.
    pub fn removed_topics(&self) -> impl Iterator<Item = &Arc<TopicImage>> {
        self.prev.topics.values().filter(|t| self.next.topic_by_id(&t.id).is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_and_remove() {
        let id = Uuid::new_v4();
        let mut img = MetadataImage::default();
        img.apply(&MetadataRecord::Topic { name: "t".into(), id });
        img.apply(&MetadataRecord::new_partition(id, 0, vec![1]));
        img.apply(&MetadataRecord::TopicConfig { topic_id: id, name: "retention.ms".into(), value: Some("5".into()) });
        let t = img.topic("t").unwrap();
        assert_eq!(t.partitions.len(), 1);
        assert_eq!(t.configs["retention.ms"], "5");
        img.apply(&MetadataRecord::RemoveTopic { id });
        assert!(img.topic("t").is_none() && img.topic_by_id(&id).is_none());
    }

    #[test]
    fn snapshot_records_rebuild_the_image() {
        let id = Uuid::new_v4();
        let mut img = MetadataImage::default();
        img.apply(&MetadataRecord::Topic { name: "t".into(), id });
        img.apply(&MetadataRecord::TopicConfig { topic_id: id, name: "retention.ms".into(), value: Some("5".into()) });
        img.apply(&MetadataRecord::ProducerIds { broker: 1, next_producer_id: 2000 });
        let mut again = MetadataImage::default();
        for r in img.to_records() {
            again.apply(&r);
        }
        assert_eq!(again.topics, img.topics);
        assert_eq!(again.next_producer_id, 2000);
    }
}
