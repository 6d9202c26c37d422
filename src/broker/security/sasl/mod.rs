//! SASL on the broker (Kafka's SaslServerAuthenticator mechanisms): the per-listener
//! configuration (`sasl.enabled.mechanisms`, JAAS, OAUTHBEARER validation,
//! `connections.max.reauth.ms`) and one server per exchange. PLAIN lives here; SCRAM and
//! OAUTHBEARER in their own files. The connection-level protocol (SaslHandshake,
//! SaslAuthenticate, v0 raw tokens, re-authentication) is in `broker::network::auth`.

pub mod oauth;
pub mod scram;

use crate::broker::metadata::MetadataImage;
use crate::security::jaas;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Mechanisms rk serves.
pub const SUPPORTED: [&str; 4] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

/// What one step of an exchange produced.
#[derive(Debug)]
pub enum Step {
    /// Send this challenge and wait for the client's next token.
    Challenge(Vec<u8>),
    /// Authenticated: the last server message (may be empty), the principal name (without
    /// "User:") and, for tokens, when the credential expires (ms since the epoch).
    Done { response: Vec<u8>, user: String, expires_at_ms: Option<i64> },
}

/// A refused exchange: the message the client gets (Kafka's wording).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct AuthFailure(pub String);

/// One authentication exchange.
pub trait SaslServer: Send {
    fn step(&mut self, token: &[u8]) -> Result<Step, AuthFailure>;
}

/// A listener's SASL settings.
pub struct SaslConfig {
    pub mechanisms: Vec<String>,
    /// PLAIN: user → password (`user_<name>` options of the PLAIN JAAS entry).
    plain_users: HashMap<String, String>,
    oauth: Option<Arc<oauth::Validator>>,
    /// connections.max.reauth.ms (0: sessions do not expire).
    pub reauth_ms: i64,
    /// sasl.server.max.receive.size: the largest token accepted before authentication.
    pub max_receive: usize,
}

fn jaas_for(props: &BTreeMap<String, String>, mechanism: &str) -> Result<Option<jaas::JaasConfig>, String> {
    let key = format!("{}.sasl.jaas.config", mechanism.to_ascii_lowercase());
    match props.get(&key).or_else(|| props.get("sasl.jaas.config")) {
        Some(text) if !text.trim().is_empty() => jaas::parse(text).map(Some).map_err(|e| format!("{key}: {e}")),
        _ => Ok(None),
    }
}

impl SaslConfig {
    /// Builds a listener's SASL config from its properties (`BrokerConfig::listener_props`).
    pub fn from_props(listener: &str, props: &BTreeMap<String, String>) -> Result<SaslConfig, String> {
        let enabled = props.get("sasl.enabled.mechanisms").map(String::as_str).unwrap_or("GSSAPI");
        let mechanisms: Vec<String> = enabled.split(',').map(|m| m.trim().to_ascii_uppercase()).filter(|m| !m.is_empty()).collect();
        if mechanisms.is_empty() {
            return Err(format!("listener {listener}: sasl.enabled.mechanisms is empty"));
        }
        if let Some(m) = mechanisms.iter().find(|m| !SUPPORTED.contains(&m.as_str())) {
            return Err(format!(
                "listener {listener}: SASL mechanism {m} is not supported by rk (sasl.enabled.mechanisms may list {})",
                SUPPORTED.join(", ")
            ));
        }
        let mut plain_users = HashMap::new();
        if mechanisms.iter().any(|m| m == "PLAIN") {
            let j = jaas_for(props, "PLAIN")?.ok_or_else(|| {
                format!(
                    "listener {listener}: PLAIN needs listener.name.{}.plain.sasl.jaas.config with user_<name>=\"password\" entries",
                    listener.to_ascii_lowercase()
                )
            })?;
            for (k, v) in &j.options {
                if let Some(user) = k.strip_prefix("user_") {
                    plain_users.insert(user.to_string(), v.clone());
                }
            }
        }
        let oauth = if mechanisms.iter().any(|m| m == "OAUTHBEARER") {
            let options = jaas_for(props, "OAUTHBEARER")?.map(|j| j.options).unwrap_or_default();
            Some(Arc::new(oauth::Validator::from_props(props, &options)?))
        } else {
            None
        };
        let reauth_ms = props.get("connections.max.reauth.ms").and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        let max_receive = props.get("sasl.server.max.receive.size").and_then(|v| v.trim().parse().ok()).unwrap_or(524_288);
        Ok(SaslConfig { mechanisms, plain_users, oauth, reauth_ms, max_receive })
    }

    /// A server for `mechanism` (None when it is not enabled here). SCRAM reads the
    /// credentials of the metadata image current at the handshake.
    pub fn server(&self, mechanism: &str, image: Arc<MetadataImage>) -> Option<Box<dyn SaslServer>> {
        if !self.mechanisms.iter().any(|m| m == mechanism) {
            return None;
        }
        match mechanism {
            "PLAIN" => Some(Box::new(Plain { users: self.plain_users.clone() })),
            "OAUTHBEARER" => self.oauth.clone().map(|v| Box::new(oauth::OAuthServer::new(v)) as Box<dyn SaslServer>),
            m => {
                crate::security::scram::Mechanism::from_name(m).map(|m| Box::new(scram::ScramServer::new(m, image)) as Box<dyn SaslServer>)
            }
        }
    }
}

/// PLAIN (RFC 4616): `authzid NUL authcid NUL password` checked against the JAAS users.
struct Plain {
    users: HashMap<String, String>,
}

impl SaslServer for Plain {
    fn step(&mut self, token: &[u8]) -> Result<Step, AuthFailure> {
        let invalid = || AuthFailure("Authentication failed: Invalid username or password".into());
        let text = std::str::from_utf8(token).map_err(|_| invalid())?;
        let parts: Vec<&str> = text.split('\0').collect();
        let [authzid, user, password] = parts[..] else {
            return Err(AuthFailure("Invalid SASL/PLAIN response: expected 3 tokens".into()));
        };
        if user.is_empty() {
            return Err(AuthFailure("Authentication failed: username not specified".into()));
        }
        if password.is_empty() {
            return Err(AuthFailure("Authentication failed: password not specified".into()));
        }
        match self.users.get(user) {
            Some(expected) if crate::security::scram::constant_time_eq(expected.as_bytes(), password.as_bytes()) => {}
            _ => return Err(invalid()),
        }
        if !authzid.is_empty() && authzid != user {
            return Err(AuthFailure("Authentication failed: Client requested an authorization id that is different from username".into()));
        }
        Ok(Step::Done { response: Vec::new(), user: user.to_string(), expires_at_ms: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(v: &[(&str, &str)]) -> BTreeMap<String, String> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn plain_checks_jaas_users() {
        let p = props(&[
            ("sasl.enabled.mechanisms", "PLAIN"),
            ("plain.sasl.jaas.config", r#"org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="s3cret";"#),
        ]);
        let c = SaslConfig::from_props("SASL_PLAINTEXT", &p).unwrap();
        let img = Arc::new(MetadataImage::default());
        assert!(c.server("SCRAM-SHA-256", img.clone()).is_none(), "not enabled");
        let mut s = c.server("PLAIN", img.clone()).unwrap();
        assert!(matches!(s.step(b"\0alice\0s3cret"), Ok(Step::Done { ref user, .. }) if user == "alice"));
        let mut s = c.server("PLAIN", img.clone()).unwrap();
        assert_eq!(s.step(b"\0alice\0wrong").unwrap_err().0, "Authentication failed: Invalid username or password");
        let mut s = c.server("PLAIN", img).unwrap();
        assert!(s.step(b"bob\0alice\0s3cret").is_err(), "authzid must be the user");
    }

    #[test]
    fn config_errors_are_clear() {
        let e = SaslConfig::from_props("X", &props(&[])).err().unwrap();
        assert!(e.contains("GSSAPI is not supported"), "{e}");
        let e = SaslConfig::from_props("X", &props(&[("sasl.enabled.mechanisms", "PLAIN")])).err().unwrap();
        assert!(e.contains("plain.sasl.jaas.config"), "{e}");
    }
}
