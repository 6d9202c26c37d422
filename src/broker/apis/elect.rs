//! ElectLeaders (preferred and unclean). With one broker the preferred replica (the first
//! in the assignment) always leads, so every live partition answers ELECTION_NOT_NEEDED,
//! as Kafka does when the preferred leader already leads; replication makes it real.

use super::{Ctx, code, sb};
use crate::broker::metadata::MetadataImage;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::*;
use std::collections::BTreeMap;

const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

fn elect_one(image: &MetadataImage, topic: &str, partition: i32) -> (i16, Option<String>) {
    let Some(p) = image.topic(topic).and_then(|t| t.partitions.get(&partition)) else {
        return (code(E::UnknownTopicOrPartition), Some(format!("The partition {topic}-{partition} does not exist.")));
    };
    let preferred = p.replicas.first().copied().unwrap_or(-1);
    if p.leader >= 0 && p.leader == preferred {
        return (code(E::ElectionNotNeeded), Some("Leader election not needed for topic partition.".into()));
    }
    // Unreachable on one node (the only replica leads); kept explicit for the cluster.
    (code(E::EligibleLeadersNotAvailable), Some(format!("No eligible leader for {topic}-{partition}.")))
}

pub async fn elect_leaders(ctx: &Ctx<'_>, req: ElectLeadersRequest) -> ElectLeadersResponse {
    let election_type = if ctx.version >= 1 { req.election_type } else { PREFERRED };
    if election_type != PREFERRED && election_type != UNCLEAN {
        return ElectLeadersResponse::default().with_error_code(if ctx.version >= 1 { code(E::InvalidRequest) } else { 0 });
    }
    let image = ctx.broker.image();
    let wanted: BTreeMap<String, Vec<i32>> = match req.topic_partitions {
        Some(tps) => {
            let mut m: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for t in tps {
                m.entry(t.topic.0.to_string()).or_default().extend(t.partitions);
            }
            m
        }
        // null = every partition of every topic.
        None => image.topics.values().map(|t| (t.name.clone(), t.partitions.keys().copied().collect())).collect(),
    };
    let results = wanted
        .into_iter()
        .map(|(topic, parts)| {
            let partition_result = parts
                .into_iter()
                .map(|p| {
                    let (c, msg) = elect_one(&image, &topic, p);
                    PartitionResult::default().with_partition_id(p).with_error_code(c).with_error_message(msg.map(sb))
                })
                .collect();
            ReplicaElectionResult::default().with_topic(TopicName(sb(topic))).with_partition_result(partition_result)
        })
        .collect();
    ElectLeadersResponse::default().with_replica_election_results(results)
}
