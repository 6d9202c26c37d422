//! Requests from this broker to another over the Kafka protocol (Kafka's inter-broker
//! channel): transaction markers to partition leaders, verification of transactional
//! writes with a remote transaction coordinator. One connection per broker, opened on
//! demand at the address the metadata registers, dropped when it fails.

use crate::client::{ClientError, Connection};
use kafka_protocol::protocol::Request;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
pub struct InterBroker {
    /// The inter-broker listener's TLS/SASL (set at start; plaintext by default).
    pub security: std::sync::OnceLock<crate::client::security::Security>,
    conns: tokio::sync::Mutex<HashMap<(i32, String), Arc<Connection>>>,
}

impl InterBroker {
    /// Sends `req` to broker `node` at `addr` (host:port) and waits for the answer.
    pub async fn send<R: Request>(&self, node: i32, addr: &str, req: &R, timeout: Duration) -> Result<R::Response, ClientError> {
        let key = (node, addr.to_string());
        let conn = {
            let mut conns = self.conns.lock().await;
            match conns.get(&key) {
                Some(c) => c.clone(),
                None => {
                    let security = self.security.get().cloned().unwrap_or_default();
                    let mut c = Connection::connect_with(addr, "rk-broker", &security).await?;
                    c.set_timeout(timeout);
                    let c = Arc::new(c);
                    conns.insert(key.clone(), c.clone());
                    c
                }
            }
        };
        let r = conn.send(req).await;
        if r.is_err() {
            self.conns.lock().await.remove(&key);
        }
        r
    }
}
