//! Producer ids: handed out from blocks of 1000 that the controller allocates and records in
//! the metadata log (Kafka's AllocateProducerIds / ProducerIdsRecord), so an id is never
//! given twice, across restarts and brokers.

use crate::broker::controller::Controller;
use kafka_protocol::error::ResponseError as E;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

pub struct ProducerIdManager {
    block: Mutex<Range<i64>>,
    /// Set once the controller runs (it starts after the coordinators it feeds).
    controller: OnceLock<Arc<Controller>>,
    broker: i32,
}

impl ProducerIdManager {
    pub fn new(broker: i32) -> ProducerIdManager {
        ProducerIdManager { block: Mutex::new(0..0), controller: OnceLock::new(), broker }
    }

    pub fn set_controller(&self, controller: Arc<Controller>) {
        let _ = self.controller.set(controller);
    }

    /// The next unused producer id.
    pub async fn next(&self) -> Result<i64, i16> {
        loop {
            {
                let mut b = self.block.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(id) = b.next() {
                    return Ok(id);
                }
            }
            let Some(controller) = self.controller.get() else { return Err(E::CoordinatorLoadInProgress.code()) };
            match controller.allocate_producer_ids(self.broker).await {
                Ok(block) => *self.block.lock().unwrap_or_else(|e| e.into_inner()) = block,
                // Kafka answers a client that must wait for a block with this retriable error.
                Err(_) => return Err(E::CoordinatorLoadInProgress.code()),
            }
        }
    }
}
