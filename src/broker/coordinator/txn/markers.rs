//! Completing a transaction: a COMMIT or ABORT control batch (Kafka's 78-byte marker) is
//! written to every partition of the transaction with the producer's epoch and this
//! coordinator's epoch; markers on `__consumer_offsets` also settle the transaction's
//! offsets in the group coordinator. Once every partition has its marker, the id moves to
//! CompleteCommit / CompleteAbort.

use super::state::{TxnMetadata, TxnState};
use super::{TransactionCoordinator, TxnShard, code};
use crate::broker::coordinator::group::store::OFFSETS_TOPIC;
use crate::broker::log::producer_state::{EndMarker, end_marker_batch};
use crate::broker::log::{AppendOrigin, now_ms};
use crate::broker::replica::PendingAppend;
use kafka_protocol::error::ResponseError as E;
use std::sync::Arc;
use std::time::Duration;

/// How often a marker is tried on a partition that answers with a retriable error.
const MARKER_ATTEMPTS: u32 = 50;

impl TransactionCoordinator {
    /// Writes the markers of a transaction in PrepareCommit/PrepareAbort and then its
    /// Complete state, in the background.
    pub(super) fn spawn_completion(self: &Arc<Self>, shard: Arc<TxnShard>, m: TxnMetadata) {
        let me = self.clone();
        self.runtime.spawn(async move {
            let commit = m.state == TxnState::PrepareCommit;
            let marker = EndMarker { commit, coordinator_epoch: shard.coordinator_epoch };
            for (topic, partition) in &m.partitions {
                if let Err(c) = me.write_marker(topic, *partition, m.producer_id, m.producer_epoch, marker).await {
                    // Fenced (a newer epoch wrote there) or out of attempts: the transaction
                    // stays prepared and is finished by the next coordinator to load it.
                    tracing::warn!(transactional_id = %m.transactional_id, topic, partition, "could not write a transaction marker (error {c})");
                    return;
                }
            }
            let done = if commit { TxnState::CompleteCommit } else { TxnState::CompleteAbort };
            let now = now_ms();
            let result = me
                .transition(&shard, &m.transactional_id, |current| {
                    let cur = current.ok_or(code(E::InvalidProducerIdMapping))?;
                    if cur.state != m.state || cur.producer_id != m.producer_id || cur.producer_epoch != m.producer_epoch {
                        return Ok(None);
                    }
                    cur.prepare(done, now).map(Some).map_err(|_| code(E::InvalidTxnState))
                })
                .await;
            if let Err(c) = result {
                tracing::warn!(transactional_id = %m.transactional_id, "could not complete a transaction (error {c})");
            }
        });
    }

    /// Appends one marker (retrying what is retriable). A partition that no longer exists
    /// needs none.
    pub async fn write_marker(&self, topic: &str, partition: i32, pid: i64, epoch: i16, marker: EndMarker) -> Result<(), i16> {
        for attempt in 0..MARKER_ATTEMPTS {
            match self.write_marker_once(topic, partition, pid, epoch, marker).await {
                Ok(()) => return Ok(()),
                Err(c)
                    if c == code(E::InvalidProducerEpoch) || c == code(E::TransactionCoordinatorFenced) || c == code(E::CorruptMessage) =>
                {
                    return Err(c);
                }
                // A deleted partition needs no marker.
                Err(c) if c == code(E::UnknownTopicOrPartition) => return Ok(()),
                Err(c) if c == code(E::UnknownServerError) => return Err(c),
                Err(_) => tokio::time::sleep(Duration::from_millis(100 * (attempt as u64 + 1).min(10))).await,
            }
        }
        Err(code(E::RequestTimedOut))
    }

    /// One attempt at the partition's leader: here, or (a cluster) another broker through
    /// WriteTxnMarkers.
    async fn write_marker_once(&self, topic: &str, partition: i32, pid: i64, epoch: i16, marker: EndMarker) -> Result<(), i16> {
        let local = self.replicas.get(topic, partition).is_some_and(|p| p.is_leader());
        let broker = self.broker.get().and_then(|w| w.upgrade());
        match broker {
            Some(b) if !local && b.quorum.is_some() => remote_marker(&b, topic, partition, pid, epoch, marker).await,
            _ => self.write_marker_local(topic, partition, pid, epoch, marker).await,
        }
    }

    /// One attempt here, every error returned as is: what the WriteTxnMarkers API answers
    /// (an admin aborting a hanging transaction retries or looks for the new leader itself).
    pub async fn write_marker_local(&self, topic: &str, partition: i32, pid: i64, epoch: i16, marker: EndMarker) -> Result<(), i16> {
        let Some(part) = self.replicas.get(topic, partition) else { return Err(code(E::UnknownTopicOrPartition)) };
        let buf = end_marker_batch(pid, epoch, marker, now_ms());
        let appended = self
            .replicas
            .append_records(
                vec![PendingAppend { partition: part, buf, result: None, guard: None }],
                -1,
                Duration::from_secs(30),
                AppendOrigin::Coordinator,
            )
            .await;
        match appended.into_iter().next().and_then(|a| a.result) {
            Some(Ok(_)) => {
                if topic == OFFSETS_TOPIC {
                    self.groups.complete_txn(partition, pid, marker.commit);
                }
                Ok(())
            }
            Some(Err(e)) => Err(e.code()),
            None => Err(code(E::UnknownServerError)),
        }
    }
}

/// WriteTxnMarkers to the partition's leader (another broker). A partition of a deleted
/// topic answers UNKNOWN_TOPIC_OR_PARTITION, as a local one does; no leader is retriable.
async fn remote_marker(b: &crate::broker::Broker, topic: &str, partition: i32, pid: i64, epoch: i16, marker: EndMarker) -> Result<(), i16> {
    use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
    use kafka_protocol::messages::*;
    let image = b.image();
    let Some(t) = image.topic(topic) else { return Err(code(E::UnknownTopicOrPartition)) };
    let Some(p) = t.partitions.get(&partition) else { return Err(code(E::UnknownTopicOrPartition)) };
    let Some(leader) = b.endpoints().into_iter().find(|e| e.id == p.leader) else { return Err(code(E::LeaderNotAvailable)) };
    let req = WriteTxnMarkersRequest::default().with_markers(vec![
        WritableTxnMarker::default()
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_transaction_result(marker.commit)
            .with_coordinator_epoch(marker.coordinator_epoch)
            .with_topics(vec![
                WritableTxnMarkerTopic::default()
                    .with_name(TopicName(kafka_protocol::protocol::StrBytes::from_string(topic.to_string())))
                    .with_partition_indexes(vec![partition]),
            ]),
    ]);
    let addr = format!("{}:{}", leader.host, leader.port);
    match b.interbroker.send(leader.id, &addr, &req, Duration::from_secs(30)).await {
        Ok(r) => match r.markers.iter().flat_map(|m| m.topics.iter()).flat_map(|t| t.partitions.iter()).map(|p| p.error_code).next() {
            Some(0) => Ok(()),
            Some(c) => Err(c),
            None => Err(code(E::UnknownServerError)),
        },
        Err(_) => Err(code(E::NetworkException)),
    }
}
