//! The rk Kafka client: connections with version negotiation and pipelining, used by
//! every tool and by the integration tests. It speaks only the wire protocol.

pub mod connection;

pub use connection::{ClientError, Connection};
