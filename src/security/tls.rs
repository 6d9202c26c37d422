//! TLS (rustls, TLS 1.2 and 1.3 only) configured from Kafka's `ssl.*` properties, for the
//! broker's SSL/SASL_SSL listeners and for rk's clients. Keys and certificates are PEM:
//! `ssl.keystore.type=PEM` with `ssl.keystore.location` (key and chain in one file) or
//! inline `ssl.keystore.key` + `ssl.keystore.certificate.chain`; trust from
//! `ssl.truststore.location` / `ssl.truststore.certificates`. librdkafka's names
//! (`ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`) are read too, so a
//! client's existing config file works unchanged.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Properties by key (the listener's, already resolved from `listener.name.<l>.` prefixes).
pub type Props = BTreeMap<String, String>;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn get<'a>(p: &'a Props, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| p.get(*k)).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// TLS versions from `ssl.enabled.protocols` (default TLSv1.2,TLSv1.3); older ones are refused.
fn versions(p: &Props) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let Some(list) = get(p, &["ssl.enabled.protocols"]) else {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    };
    let mut out = Vec::new();
    for v in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match v {
            "TLSv1.3" => out.push(&rustls::version::TLS13),
            "TLSv1.2" => out.push(&rustls::version::TLS12),
            other => {
                return Err(format!(
                    "Invalid value {list} for configuration ssl.enabled.protocols: {other} is not supported (TLSv1.2 and TLSv1.3 are)"
                ));
            }
        }
    }
    if out.is_empty() {
        return Err("ssl.enabled.protocols names no protocol".into());
    }
    Ok(out)
}

fn read(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {path}: {e}"))
}

fn certs_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem).collect::<Result<_, _>>().map_err(|e| format!("{what}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{what}: no PEM certificate found"));
    }
    Ok(certs)
}

/// The private key of a PEM file or string. An `ENCRYPTED PRIVATE KEY` (PKCS#8 with
/// PBES2, what Kafka's PEM key stores hold) is decrypted with `password`
/// (`ssl.key.password`).
fn key_from_pem(pem: &[u8], what: &str, password: Option<&str>) -> Result<PrivateKeyDer<'static>, String> {
    let text = std::str::from_utf8(pem).unwrap_or("");
    if let Some(start) = text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let end_marker = "-----END ENCRYPTED PRIVATE KEY-----";
        let end = text[start..]
            .find(end_marker)
            .map(|e| start + e + end_marker.len())
            .ok_or_else(|| format!("{what}: unterminated encrypted key"))?;
        let password = password.ok_or_else(|| format!("{what}: the private key is encrypted and ssl.key.password is not set"))?;
        let (_, doc) = pkcs8::der::Document::from_pem(&text[start..end]).map_err(|e| format!("{what}: bad encrypted key: {e}"))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes()).map_err(|e| format!("{what}: bad encrypted key: {e}"))?;
        let plain = info.decrypt(password).map_err(|_| format!("{what}: cannot decrypt the private key with ssl.key.password"))?;
        return Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("{what}: no usable PEM private key ({e})"))
}

fn refuse_non_pem(p: &Props, key: &str) -> Result<(), String> {
    match get(p, &[key]) {
        Some(t) if !t.eq_ignore_ascii_case("PEM") => Err(format!(
            "Invalid value {t} for configuration {key}: rk reads PEM key and trust stores (convert JKS/PKCS12 with keytool and openssl)"
        )),
        _ => Ok(()),
    }
}

/// The key and certificate chain: (chain, key), or None when none is configured.
pub fn keystore(p: &Props) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
    refuse_non_pem(p, "ssl.keystore.type")?;
    let password = get(p, &["ssl.key.password"]);
    if let (Some(chain), Some(key)) = (get(p, &["ssl.keystore.certificate.chain"]), get(p, &["ssl.keystore.key"])) {
        return Ok(Some((
            certs_from_pem(chain.as_bytes(), "ssl.keystore.certificate.chain")?,
            key_from_pem(key.as_bytes(), "ssl.keystore.key", password)?,
        )));
    }
    if let Some(path) = get(p, &["ssl.keystore.location"]) {
        let pem = read(path, "ssl.keystore.location")?;
        return Ok(Some((certs_from_pem(&pem, path)?, key_from_pem(&pem, path, password)?)));
    }
    if let (Some(cert), Some(key)) = (get(p, &["ssl.certificate.location"]), get(p, &["ssl.key.location"])) {
        return Ok(Some((
            certs_from_pem(&read(cert, "ssl.certificate.location")?, cert)?,
            key_from_pem(&read(key, "ssl.key.location")?, key, password)?,
        )));
    }
    Ok(None)
}

/// The trusted CAs, or None when none is configured.
fn truststore(p: &Props) -> Result<Option<rustls::RootCertStore>, String> {
    refuse_non_pem(p, "ssl.truststore.type")?;
    let certs = if let Some(inline) = get(p, &["ssl.truststore.certificates"]) {
        certs_from_pem(inline.as_bytes(), "ssl.truststore.certificates")?
    } else if let Some(path) = get(p, &["ssl.truststore.location", "ssl.ca.location"]) {
        certs_from_pem(&read(path, "ssl.truststore.location")?, path)?
    } else {
        return Ok(None);
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots.add(c).map_err(|e| format!("truststore: {e}"))?;
    }
    Ok(Some(roots))
}

/// How a listener treats client certificates (`ssl.client.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Requested,
    Required,
}

pub fn client_auth(p: &Props) -> Result<ClientAuth, String> {
    match get(p, &["ssl.client.auth"]).unwrap_or("none").to_ascii_lowercase().as_str() {
        "none" => Ok(ClientAuth::None),
        "requested" => Ok(ClientAuth::Requested),
        "required" => Ok(ClientAuth::Required),
        other => Err(format!("Invalid value {other} for configuration ssl.client.auth: String must be one of: required, requested, none")),
    }
}

/// A listener's TLS server config.
pub fn server_config(p: &Props) -> Result<rustls::ServerConfig, String> {
    let (chain, key) =
        keystore(p)?.ok_or("an SSL listener needs ssl.keystore.location (PEM), or ssl.keystore.certificate.chain and ssl.keystore.key")?;
    let builder =
        rustls::ServerConfig::builder_with_provider(provider()).with_protocol_versions(&versions(p)?).map_err(|e| e.to_string())?;
    let auth = client_auth(p)?;
    let builder = match (auth, truststore(p)?) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => return Err("ssl.client.auth needs ssl.truststore.location (the CAs that sign client certificates)".into()),
        (mode, Some(roots)) => {
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let v = if mode == ClientAuth::Requested { v.allow_unauthenticated() } else { v };
            builder.with_client_cert_verifier(v.build().map_err(|e| e.to_string())?)
        }
    };
    builder.with_single_cert(chain, key).map_err(|e| format!("ssl.keystore: {e}"))
}

/// A server config that reloads itself when the key, certificate or trust files change
/// (checked at most once a second, on new connections): certificates are renewed without
/// a restart, as Kafka's dynamic listener reconfiguration allows. A file that no longer
/// parses keeps the old config in force, with an error logged.
/// A file the TLS config was read from, with its modification time then.
type WatchedFile = (PathBuf, Option<SystemTime>);

pub struct ReloadingServerConfig {
    props: Props,
    state: Mutex<(Arc<rustls::ServerConfig>, Vec<WatchedFile>, Instant)>,
}

fn watched_files(p: &Props) -> Vec<WatchedFile> {
    ["ssl.keystore.location", "ssl.truststore.location", "ssl.certificate.location", "ssl.key.location", "ssl.ca.location"]
        .iter()
        .filter_map(|k| get(p, &[k]))
        .map(|f| (PathBuf::from(f), std::fs::metadata(f).and_then(|m| m.modified()).ok()))
        .collect()
}

impl ReloadingServerConfig {
    pub fn new(props: Props) -> Result<Arc<ReloadingServerConfig>, String> {
        let cfg = Arc::new(server_config(&props)?);
        let files = watched_files(&props);
        Ok(Arc::new(ReloadingServerConfig { props, state: Mutex::new((cfg, files, Instant::now())) }))
    }

    /// The config for a new connection (reloaded first if a file changed).
    pub fn current(&self) -> Arc<rustls::ServerConfig> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.2.elapsed() >= Duration::from_secs(1) {
            s.2 = Instant::now();
            let now = watched_files(&self.props);
            if now != s.1 {
                match server_config(&self.props) {
                    Ok(c) => {
                        tracing::info!("TLS key, certificate or trust store changed: reloaded");
                        s.0 = Arc::new(c);
                        s.1 = now;
                    }
                    Err(e) => tracing::error!("TLS files changed but cannot be loaded ({e}); the previous ones stay in force"),
                }
            }
        }
        s.0.clone()
    }
}

/// Accepts any server certificate chain the trust store verifies, without checking the
/// host name (`ssl.endpoint.identification.algorithm=` empty, as in Kafka).
#[derive(Debug)]
struct NoHostnameVerifier(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for NoHostnameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { .. })) => {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A client's TLS config. Without a configured trust store the system's CA bundle
/// (/etc/ssl/certs/ca-certificates.crt) is used, as the Java client uses the JDK's.
pub fn client_config(p: &Props) -> Result<rustls::ClientConfig, String> {
    let roots = match truststore(p)? {
        Some(r) => r,
        None => {
            let mut r = rustls::RootCertStore::empty();
            if let Ok(pem) = std::fs::read("/etc/ssl/certs/ca-certificates.crt") {
                for c in CertificateDer::pem_slice_iter(&pem).flatten() {
                    let _ = r.add(c);
                }
            }
            r
        }
    };
    let roots = Arc::new(roots);
    let builder =
        rustls::ClientConfig::builder_with_provider(provider()).with_protocol_versions(&versions(p)?).map_err(|e| e.to_string())?;
    let verify_host = p.get("ssl.endpoint.identification.algorithm").map(|v| v.trim().eq_ignore_ascii_case("https")).unwrap_or(true)
        && p.get("enable.ssl.certificate.verification").is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
    let builder = if verify_host {
        builder.with_root_certificates(roots)
    } else {
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider()).build().map_err(|e| e.to_string())?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoHostnameVerifier(inner)))
    };
    match keystore(p)? {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| format!("ssl.keystore: {e}")),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// The subject of a DER certificate as an RFC 2253 distinguished name (most specific RDN
/// first, as Java's X500Principal.getName() prints it): "CN=client,OU=eng,O=acme".
pub fn subject_dn(cert: &[u8]) -> Option<String> {
    use x509_parser::prelude::*;
    let (_, c) = X509Certificate::from_der(cert).ok()?;
    let mut rdns = Vec::new();
    for rdn in c.subject().iter().collect::<Vec<_>>().into_iter().rev() {
        let parts: Vec<String> = rdn
            .iter()
            .map(|a| {
                let oid = a.attr_type();
                let name = x509_parser::objects::oid2abbrev(oid, x509_parser::objects::oid_registry())
                    .map(|s| match s {
                        "stateOrProvinceName" => "ST".to_string(),
                        "emailAddress" => "EMAILADDRESS".to_string(),
                        other => other.to_string(),
                    })
                    .unwrap_or_else(|_| oid.to_id_string());
                let value = a.as_str().unwrap_or("").replace('\\', "\\\\").replace(',', "\\,").replace('+', "\\+");
                format!("{name}={value}")
            })
            .collect();
        rdns.push(parts.join("+"));
    }
    Some(rdns.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl req -subj "/CN=alice/OU=eng/O=acme"`: Java's X500Principal prints the RDNs
    /// last first, "O=acme,OU=eng,CN=alice" (the usual "/C=../O=../CN=.." order prints as
    /// "CN=..,O=..,C=..").
    const CLIENT_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIDMjCCAhqgAwIBAgIUP7kv5u/29I6PuZKff6Tt/hHERqkwDQYJKoZIhvcNAQEL\nBQAwFTETMBEGA1UEAwwKcmstdGVzdC1jYTAeFw0yNjExMjkwNjI1NDFaFw0yNjEy\nMjkwNjI1NDFaMC0xDjAMBgNVBAMMBWFsaWNlMQwwCgYDVQQLDANlbmcxDTALBgNV\nBAoMBGFjbWUwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCRxhn226FE\nRtC4SBewIji2RzbblzjML41F09/PGUOPk+SxuIVz7QbFFvJG+Ksrw321FFzmal+6\nPU6O3fd9Co2JpMSkumh336PsgURjYk7nYpbN8VRuZ7c33nea4fUzyr+wkLvwtC+c\nNT6I+C0U5RgiPEukMwlpmb9lC3h4wgrVQsTm9wdkQNil19PIAJtE6hbGrDeODg4b\n0iLshsgq6/0CQDBzRut/Wnv0RMCm/2G85nzeHXtvUJrE80thLXYUkLwyHspEhllD\nbiD3IKnYdUYoiM6vdwqDM7uORFW33IbQLTsOGbBjlNKwcPodMJAIwZULb9pZ7M2c\nXqGlOppat3uhAgMBAAGjYjBgMBMGA1UdJQQMMAoGCCsGAQUFBwMCMAkGA1UdEwQC\nMAAwHQYDVR0OBBYEFJyxl17lf7MDJ1x83otFNtoCCL1jMB8GA1UdIwQYMBaAFP0H\nlAbg01ZVNbtGe4A/GalMTvwYMA0GCSqGSIb3DQEBCwUAA4IBAQAXWA7qcBWrTXV9\n1Zrd2lcq41eh+/Tq8OwwDMtNWQOOu5dJb4+w3duMIvjBBCWtsz09x5znlBzhUbUM\nhDrlshjrYRUvLbp574Jf6kPIPSWeXbzwd96jWpwn2mrWooTsgGumXFCb85/WPi3z\ndOHK6HcVvrSDKCVDrXcA2dwwXdWNipIC+CnUeK+Virxbiiip/GZnYo2JVxmJ03Zd\n5jK5SQDualfLlVKbrx/cN/c1vQHL2SH8Il3NZLrQXNqD4kkMLkzEtl7CMx33uXgl\nKmBFts4mQh03vhPfFcIYcvhNSSQmMZmaBO1n8VGN4jsoaSYiA9Z41WRyhvHYaz/i\nhzY9sjBl\n-----END CERTIFICATE-----";

    #[test]
    fn subject_dn_prints_rdns_as_java_does() {
        let c = CertificateDer::from_pem_slice(CLIENT_PEM.as_bytes()).unwrap();
        assert_eq!(subject_dn(c.as_ref()).unwrap(), "O=acme,OU=eng,CN=alice");
    }

    /// `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -passout pass:key-secret`
    /// of the P-256 key PLAIN_KEY: a Kafka PEM key store's encrypted key.
    const PLAIN_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgj6s6FBEBF0AAHv/b\nEQKhRE2BG+DmFzcwBL38oxMqakWhRANCAAQonw3lvUoo8K7UpB3wx6t5cBZ5CSVI\nKlTelZ4T9r4l/7CKUrt7VvIFH0ma/mpig9lZW6LNcuG1e5rAx6Xuqqgl\n-----END PRIVATE KEY-----";
    const ENCRYPTED_KEY: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgchoTKnTDlUQICCAAw\nDAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEBvOysJhET01mk3+ZzbAUhAEgZBb\nDpPFY1CTIhZBPPQ5Z7uOAtOz2vVnUxcGXQsw2OhqQ4AjwcqkG7/MKvDDwzruF6Kg\naxcC0UZBtgjZYylEGKo+6I0+6VwuZPtqUU4Fvg3e9kWnc/6Al69sswsL5yGrd4ds\nDNXqnHx+z+jFCmPzMDf5PqfXPvL2jd44N3avzNi2CNKw/cnUDhmsmE/cjIiH6lE=\n-----END ENCRYPTED PRIVATE KEY-----";

    #[test]
    fn encrypted_pkcs8_keys_need_and_take_ssl_key_password() {
        let plain = key_from_pem(PLAIN_KEY.as_bytes(), "k", None).unwrap();
        let decrypted = key_from_pem(ENCRYPTED_KEY.as_bytes(), "k", Some("key-secret")).unwrap();
        assert_eq!(plain.secret_der(), decrypted.secret_der());
        assert!(key_from_pem(ENCRYPTED_KEY.as_bytes(), "k", None).unwrap_err().contains("ssl.key.password is not set"));
        assert!(key_from_pem(ENCRYPTED_KEY.as_bytes(), "k", Some("wrong")).unwrap_err().contains("cannot decrypt"));
    }
}
