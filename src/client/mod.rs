//! The rk Kafka client: connections with version negotiation, the cluster view (metadata,
//! routing), admin operations, producer and consumer. Used by every tool and by the
//! integration tests; it speaks only the wire protocol.

pub mod admin;
pub mod admin_acls;
pub mod admin_configs;
pub mod admin_groups;
pub mod admin_logdirs;
pub mod admin_quorum;
pub mod admin_reassign;
pub mod admin_share;
pub mod admin_txn;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod consumer;
pub mod producer;
pub mod security;

pub use cluster::Cluster;
pub use config::ClientConfig;
pub use connection::{ClientError, Connection};
