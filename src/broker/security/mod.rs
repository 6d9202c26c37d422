//! The broker's security: who a connection is (principal from TLS or SASL), what it may do
//! (ACLs), and how much (client quotas).

pub mod acl;
pub mod quota;

pub mod principal;
pub mod sasl;

/// The principal of an unauthenticated connection (PLAINTEXT, or SSL without a client
/// certificate), as Kafka names it.
pub const ANONYMOUS: &str = "User:ANONYMOUS";

/// The user name of a `User:name` principal (quotas are per user name).
pub fn user_name(principal: &str) -> &str {
    principal.strip_prefix("User:").unwrap_or(principal)
}
