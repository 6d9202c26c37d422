//! Client configuration: bootstrap servers, client id, timeouts and connection security,
//! from flags and Java .properties files (`--command-config`, `--producer.config`, …) in
//! Kafka's key names.

use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub bootstrap: Vec<String>,
    pub client_id: String,
    pub request_timeout: Duration,
    /// TLS and SASL settings (security.protocol, ssl.*, sasl.*).
    pub security: super::security::Security,
    /// Every property given (file first, then command-line properties), for the
    /// producer/consumer settings that read from it.
    pub props: BTreeMap<String, String>,
}

pub use crate::properties::read_properties;

/// Splits `key=value` on the first `=` (values may contain `=`; a missing value is "").
pub fn parse_key_value(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
        None => (s.trim().to_string(), String::new()),
    }
}

impl ClientConfig {
    /// `bootstrap` from the flag wins over `bootstrap.servers` in the properties.
    pub fn new(bootstrap: Option<&str>, props: Vec<(String, String)>, default_client_id: &str) -> Result<ClientConfig, String> {
        let props: BTreeMap<String, String> = props.into_iter().collect();
        let servers = bootstrap
            .map(str::to_string)
            .or_else(|| props.get("bootstrap.servers").cloned())
            .or_else(|| std::env::var("RK_BROKERS").ok())
            .ok_or("--bootstrap-server must be specified")?;
        let bootstrap: Vec<String> = servers.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        for b in &bootstrap {
            let ok = b.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            if !ok {
                return Err(format!("Invalid url in bootstrap.servers: {b}"));
            }
        }
        if bootstrap.is_empty() {
            return Err("--bootstrap-server must be specified".into());
        }
        let request_timeout = match props.get("request.timeout.ms") {
            Some(v) => {
                Duration::from_millis(v.trim().parse().map_err(|_| format!("Invalid value {v} for configuration request.timeout.ms"))?)
            }
            None => Duration::from_secs(30),
        };
        let client_id = props.get("client.id").cloned().unwrap_or_else(|| default_client_id.to_string());
        let security = super::security::Security::from_props(&props)?;
        Ok(ClientConfig { bootstrap, client_id, request_timeout, security, props })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_and_bad_urls_are_refused() {
        let c = ClientConfig::new(Some("a:1,b:2"), vec![("bootstrap.servers".into(), "c:3".into())], "x").unwrap();
        assert_eq!(c.bootstrap, vec!["a:1", "b:2"]);
        assert_eq!(c.client_id, "x");
        assert!(ClientConfig::new(Some("nohost"), vec![], "x").is_err());
        assert_eq!(parse_key_value("a=b=c"), ("a".into(), "b=c".into()));
    }
}
