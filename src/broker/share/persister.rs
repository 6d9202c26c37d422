//! The share-state persister (Kafka's Persister): reads and writes a share partition's
//! start offset at the group's coordinator — in this broker's group coordinator when it
//! hosts the group, else at the coordinating broker with ReadShareGroupState /
//! WriteShareGroupState (inter-broker APIs; rk's share coordinator is the group
//! coordinator, so the state sits next to the group's offsets in `__consumer_offsets`).

use crate::broker::Broker;
use crate::broker::coordinator::group::store::{OFFSETS_TOPIC, partition_for};
use crate::broker::replica::Partition;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The coordinating broker of `group`: (node id, host:port on the inter-broker listener).
fn coordinator(b: &Broker, group: &str) -> Result<(i32, String), i16> {
    let image = b.image();
    let p = partition_for(group, b.groups.cfg.offsets_partitions);
    let leader =
        image.topic(OFFSETS_TOPIC).and_then(|t| t.partitions.get(&p)).map(|x| x.leader).ok_or(E::CoordinatorNotAvailable.code())?;
    let e = b.endpoints().into_iter().find(|e| e.id == leader).ok_or(E::CoordinatorNotAvailable.code())?;
    Ok((e.id, format!("{}:{}", e.host, e.port)))
}

fn hosted_here(b: &Broker, group: &str) -> Result<bool, i16> {
    match b.groups.shard(group) {
        Ok(_) => Ok(true),
        Err(c) if c == E::NotCoordinator.code() && b.quorum.is_some() => Ok(false),
        Err(c) => Err(c),
    }
}

/// The persisted start offset of (group, partition): None when none was written.
pub async fn read_start(b: &Broker, group: &str, part: &Partition) -> Result<Option<i64>, i16> {
    if hosted_here(b, group)? {
        return b.groups.share_load_start(group, &part.topic, part.index);
    }
    let (node, addr) = coordinator(b, group)?;
    use read_share_group_state_request as rq;
    let req = ReadShareGroupStateRequest::default().with_group_id(StrBytes::from_string(group.to_string())).with_topics(vec![
        rq::ReadStateData::default()
            .with_topic_id(part.topic_id)
            .with_partitions(vec![rq::PartitionData::default().with_partition(part.index).with_leader_epoch(part.leader_epoch())]),
    ]);
    let resp = b.interbroker.send(node, &addr, &req, TIMEOUT).await.map_err(|_| E::CoordinatorNotAvailable.code())?;
    let r = resp.results.iter().flat_map(|t| t.partitions.iter()).next().ok_or(E::UnknownServerError.code())?;
    match r.error_code {
        0 if r.start_offset < 0 => Ok(None),
        0 => Ok(Some(r.start_offset)),
        c => Err(c),
    }
}

/// Stores the start offset of (group, partition) at the group's coordinator.
pub async fn write_start(b: &Broker, group: &str, part: &Partition, start: i64) -> Result<(), i16> {
    if hosted_here(b, group)? {
        return crate::broker::apis::on_disk(|| b.groups.share_store_start(&b.replicas, group, &part.topic, part.index, start));
    }
    let (node, addr) = coordinator(b, group)?;
    use write_share_group_state_request as wq;
    let req = WriteShareGroupStateRequest::default().with_group_id(StrBytes::from_string(group.to_string())).with_topics(vec![
        wq::WriteStateData::default().with_topic_id(part.topic_id).with_partitions(vec![
            wq::PartitionData::default()
                .with_partition(part.index)
                .with_leader_epoch(part.leader_epoch())
                .with_state_epoch(0)
                .with_start_offset(start),
        ]),
    ]);
    let resp = b.interbroker.send(node, &addr, &req, TIMEOUT).await.map_err(|_| E::CoordinatorNotAvailable.code())?;
    match resp.results.iter().flat_map(|t| t.partitions.iter()).next().map(|p| p.error_code) {
        Some(0) => Ok(()),
        Some(c) => Err(c),
        None => Err(E::UnknownServerError.code()),
    }
}
