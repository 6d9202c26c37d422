//! Security pieces shared by the broker and the client: SCRAM (RFC 5802/7677) message
//! formats and key derivation, and TLS configuration from Kafka's `ssl.*` properties.

pub mod jaas;
pub mod scram;
pub mod tls;
