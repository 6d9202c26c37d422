//! Producer ids: handed out from blocks of 1000 that the controller allocates and records in
//! the metadata log (Kafka's AllocateProducerIds / ProducerIdsRecord), so an id is never
//! given twice, across restarts and brokers.

use crate::broker::controller::Controller;
use kafka_protocol::error::ResponseError as E;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub struct ProducerIdManager {
    block: Mutex<Range<i64>>,
    /// Set once the controller runs (it starts after the coordinators it feeds).
    controller: OnceLock<Arc<Controller>>,
    broker: i32,
    /// One block request at a time; callers wait for it briefly.
    fetching: tokio::sync::Mutex<()>,
}

/// How long a request waits for a new block before it is answered
/// COORDINATOR_LOAD_IN_PROGRESS (the client retries): a controller failing over must not
/// hold InitProducerId past the client's request timeout (1.5 s for the console producer).
const BLOCK_WAIT: Duration = Duration::from_millis(500);

impl ProducerIdManager {
    pub fn new(broker: i32) -> ProducerIdManager {
        ProducerIdManager { block: Mutex::new(0..0), controller: OnceLock::new(), broker, fetching: tokio::sync::Mutex::new(()) }
    }

    pub fn set_controller(&self, controller: Arc<Controller>) {
        let _ = self.controller.set(controller);
    }

    fn take(&self) -> Option<i64> {
        self.block.lock().unwrap_or_else(|e| e.into_inner()).next()
    }

    /// The next unused producer id.
    pub async fn next(self: &Arc<Self>) -> Result<i64, i16> {
        if let Some(id) = self.take() {
            return Ok(id);
        }
        if self.controller.get().is_none() {
            return Err(E::CoordinatorLoadInProgress.code());
        }
        // The block request runs on its own task, so a request that stops waiting does not
        // cancel it: the next InitProducerId finds the block ready.
        let me = self.clone();
        let fetch = tokio::spawn(async move {
            let _one = me.fetching.lock().await;
            if me.block.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
                let Some(controller) = me.controller.get() else { return };
                if let Ok(block) = controller.allocate_producer_ids(me.broker).await {
                    *me.block.lock().unwrap_or_else(|e| e.into_inner()) = block;
                }
            }
        });
        let _ = tokio::time::timeout(BLOCK_WAIT, fetch).await;
        // Kafka answers a client that must wait for a block with this retriable error.
        self.take().ok_or(E::CoordinatorLoadInProgress.code())
    }
}
