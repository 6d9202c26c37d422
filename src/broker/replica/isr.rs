//! The leader's half of ISR management (Kafka's AlterPartitionManager): proposals to add a
//! follower that caught up, or drop one that lagged for `replica.lag.time.max.ms`, go to the
//! active controller as AlterPartition; one proposal per partition is in flight, and the
//! partition's state changes only when the committed metadata says so.

use super::Partition;
use crate::broker::controller::partitions::AlterIsr;
use std::sync::{Arc, Weak};
use tokio::sync::mpsc;

/// A partition and the ISR its leader proposes.
type Proposal = (Arc<Partition>, Vec<i32>);

pub struct IsrManager {
    tx: mpsc::UnboundedSender<Proposal>,
    rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Proposal>>>,
}

impl Default for IsrManager {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        IsrManager { tx, rx: std::sync::Mutex::new(Some(rx)) }
    }
}

impl IsrManager {
    /// Queues an ISR proposal (the partition marked it pending).
    pub fn propose(&self, p: Arc<Partition>, isr: Vec<i32>) {
        if let Err(e) = self.tx.send((p, isr)) {
            e.0.0.isr_change_done();
        }
    }

    /// Sends proposals to the controller as they come, each on its own task.
    pub fn start(&self, broker: Weak<crate::broker::Broker>) {
        let Some(mut rx) = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take() else { return };
        tokio::spawn(async move {
            while let Some((p, isr)) = rx.recv().await {
                let Some(b) = broker.upgrade() else { return };
                tokio::spawn(async move {
                    let (leader_epoch, partition_epoch) = p.epochs();
                    let a = AlterIsr {
                        broker: b.config.node_id,
                        broker_epoch: -1,
                        topic_id: p.topic_id,
                        partition: p.index,
                        leader_epoch,
                        partition_epoch,
                        isr: isr.clone(),
                    };
                    match b.controller.alter_partition(a).await {
                        Ok(_) => tracing::info!(topic = %p.topic, partition = p.index, ?isr, "ISR changed"),
                        Err(e) => tracing::debug!(topic = %p.topic, partition = p.index, "AlterPartition refused: {}", e.1),
                    }
                    p.isr_change_done();
                });
            }
        });
    }
}
