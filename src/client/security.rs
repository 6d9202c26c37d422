//! How rk's client secures its connections, from the same properties the Java client and
//! librdkafka read: `security.protocol` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), the
//! `ssl.*` trust and key settings, and SASL credentials — `sasl.mechanism` with
//! `sasl.username` / `sasl.password` (librdkafka) or `sasl.jaas.config` (Java), and for
//! OAUTHBEARER a token (`sasl.oauthbearer.token`) or an unsecured development token
//! (`unsecuredLoginStringClaim_sub` in JAAS, or librdkafka's `sasl.oauthbearer.config`).

use crate::security::scram::{Mechanism, ScramClient};
use crate::security::{jaas, tls};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl Protocol {
    pub fn parse(s: &str) -> Result<Protocol, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(Protocol::Plaintext),
            "SSL" => Ok(Protocol::Ssl),
            "SASL_PLAINTEXT" => Ok(Protocol::SaslPlaintext),
            "SASL_SSL" => Ok(Protocol::SaslSsl),
            other => Err(format!(
                "Invalid value {other} for configuration security.protocol: String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
            )),
        }
    }
    pub fn tls(self) -> bool {
        matches!(self, Protocol::Ssl | Protocol::SaslSsl)
    }
    pub fn sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }
}

/// SASL credentials for one mechanism.
#[derive(Clone)]
pub enum SaslCredentials {
    Plain {
        user: String,
        password: String,
    },
    Scram {
        mechanism: Mechanism,
        user: String,
        password: String,
    },
    /// A fixed token, or an unsecured one made fresh (principal, scope, lifetime s) per login.
    OAuthToken(String),
    OAuthUnsecured {
        principal: String,
        scope: Option<String>,
        life_s: i64,
    },
}

impl std::fmt::Debug for SaslCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.mechanism())
    }
}

impl SaslCredentials {
    pub fn mechanism(&self) -> &'static str {
        match self {
            SaslCredentials::Plain { .. } => "PLAIN",
            SaslCredentials::Scram { mechanism, .. } => mechanism.name(),
            SaslCredentials::OAuthToken(_) | SaslCredentials::OAuthUnsecured { .. } => "OAUTHBEARER",
        }
    }

    /// The first message of an exchange, and the state the later steps need.
    pub fn start(&self) -> (Vec<u8>, Option<ScramClient>) {
        match self {
            SaslCredentials::Plain { user, password } => (format!("\0{user}\0{password}").into_bytes(), None),
            SaslCredentials::Scram { mechanism, user, password } => {
                let c = ScramClient::new(*mechanism, user, password);
                (c.client_first().into_bytes(), Some(c))
            }
            SaslCredentials::OAuthToken(t) => (format!("n,,\u{1}auth=Bearer {t}\u{1}\u{1}").into_bytes(), None),
            SaslCredentials::OAuthUnsecured { principal, scope, life_s } => {
                let t = unsecured_token(principal, scope.as_deref(), *life_s);
                (format!("n,,\u{1}auth=Bearer {t}\u{1}\u{1}").into_bytes(), None)
            }
        }
    }
}

/// An unsecured JWS (`alg: none`), as Kafka's OAuthBearerUnsecuredLoginCallbackHandler makes.
pub fn unsecured_token(principal: &str, scope: Option<&str>, life_s: i64) -> String {
    use base64::Engine;
    let e = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let mut claims = serde_json::json!({"sub": principal, "iat": now, "exp": now + life_s});
    if let Some(s) = scope {
        claims["scope"] = serde_json::Value::String(s.to_string());
    }
    format!("{}.{}.", e(&serde_json::json!({"alg": "none"})), e(&claims))
}

/// A client's connection security.
#[derive(Clone, Debug)]
pub struct Security {
    pub protocol: Protocol,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub sasl: Option<SaslCredentials>,
}

impl Default for Security {
    fn default() -> Self {
        Security::plaintext()
    }
}

impl Security {
    pub fn plaintext() -> Security {
        Security { protocol: Protocol::Plaintext, tls: None, sasl: None }
    }

    /// From client properties; errors name the property, as Kafka's config errors do.
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<Security, String> {
        let protocol = Protocol::parse(props.get("security.protocol").map(String::as_str).unwrap_or("PLAINTEXT"))?;
        let tls = if protocol.tls() { Some(Arc::new(tls::client_config(props)?)) } else { None };
        let sasl = if protocol.sasl() { Some(sasl_credentials(props)?) } else { None };
        Ok(Security { protocol, tls, sasl })
    }
}

fn sasl_credentials(props: &BTreeMap<String, String>) -> Result<SaslCredentials, String> {
    let mechanism = props.get("sasl.mechanism").or_else(|| props.get("sasl.mechanisms")).map(|m| m.trim().to_ascii_uppercase());
    let mechanism = mechanism.unwrap_or_else(|| "GSSAPI".into());
    let jaas = match props.get("sasl.jaas.config") {
        Some(t) if !t.trim().is_empty() => Some(jaas::parse(t)?),
        _ => None,
    };
    let opt = |k: &str| jaas.as_ref().and_then(|j| j.options.get(k)).cloned();
    let user = props.get("sasl.username").cloned().or_else(|| opt("username"));
    let password = props.get("sasl.password").cloned().or_else(|| opt("password"));
    let need = |v: Option<String>, what: &str| {
        v.ok_or_else(|| format!("SASL {mechanism} needs {what} (sasl.{what}, or {what}=\"...\" in sasl.jaas.config)"))
    };
    match mechanism.as_str() {
        "PLAIN" => Ok(SaslCredentials::Plain { user: need(user, "username")?, password: need(password, "password")? }),
        "SCRAM-SHA-256" | "SCRAM-SHA-512" => Ok(SaslCredentials::Scram {
            mechanism: Mechanism::from_name(&mechanism).unwrap_or(Mechanism::Sha256),
            user: need(user, "username")?,
            password: need(password, "password")?,
        }),
        "OAUTHBEARER" => {
            if let Some(t) = props.get("sasl.oauthbearer.token").filter(|t| !t.trim().is_empty()) {
                return Ok(SaslCredentials::OAuthToken(t.trim().to_string()));
            }
            // librdkafka: sasl.oauthbearer.config="principal=alice scope=a,b lifeSeconds=3600".
            let rd: BTreeMap<String, String> = props
                .get("sasl.oauthbearer.config")
                .map(|c| c.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect())
                .unwrap_or_default();
            let principal = rd.get("principal").cloned().or_else(|| opt("unsecuredLoginStringClaim_sub"));
            let principal = principal.ok_or(
                "SASL OAUTHBEARER needs a token: sasl.oauthbearer.token, or for unsecured development tokens unsecuredLoginStringClaim_sub in sasl.jaas.config (or principal= in sasl.oauthbearer.config)",
            )?;
            let scope = rd.get("scope").cloned().or_else(|| opt("unsecuredLoginListClaim_scope"));
            let life_s = rd
                .get("lifeSeconds")
                .cloned()
                .or_else(|| opt("unsecuredLoginLifetimeSeconds"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(3600);
            Ok(SaslCredentials::OAuthUnsecured { principal, scope, life_s })
        }
        other => Err(format!(
            "SASL mechanism {other} is not supported by rk's client (sasl.mechanism may be PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(v: &[(&str, &str)]) -> BTreeMap<String, String> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn credentials_from_librdkafka_and_java_style_properties() {
        let s = Security::from_props(&props(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="pw";"#),
        ]))
        .unwrap();
        assert_eq!(s.protocol, Protocol::SaslPlaintext);
        assert!(matches!(s.sasl, Some(SaslCredentials::Scram { mechanism: Mechanism::Sha512, ref user, .. }) if user == "alice"));
        let s = Security::from_props(&props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "bob"),
            ("sasl.password", "x"),
        ]))
        .unwrap();
        assert_eq!(s.sasl.unwrap().start().0, b"\0bob\0x");
        let e = Security::from_props(&props(&[("security.protocol", "SASL_PLAINTEXT")])).unwrap_err();
        assert!(e.contains("GSSAPI"), "{e}");
        assert!(Security::from_props(&props(&[("security.protocol", "bogus")])).is_err());
        let s = Security::from_props(&props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.oauthbearer.config", "principal=carol"),
        ]))
        .unwrap();
        assert!(matches!(s.sasl, Some(SaslCredentials::OAuthUnsecured { ref principal, .. }) if principal == "carol"));
    }
}
