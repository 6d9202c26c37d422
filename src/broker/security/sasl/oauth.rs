//! OAUTHBEARER (RFC 7628, KIP-255/KIP-768) on the broker. Two validators, as Kafka has:
//! unsecured JWS tokens (`alg: none`, for development; Kafka's
//! OAuthBearerUnsecuredValidatorCallbackHandler and its `unsecuredValidator*` JAAS options)
//! and, when `sasl.oauthbearer.jwks.endpoint.url` is set, signed JWTs checked against the
//! keys of a JWKS file (RS256/384/512, ES256/384), with `exp`, `nbf`, `iss` and `aud`.

use super::{AuthFailure, SaslServer, Step};
use base64::Engine;
use ring::signature;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A JWKS file's keys and the modification time they were read at.
type JwksKeys = (Option<SystemTime>, Vec<Value>);

/// How tokens are checked.
pub struct Validator {
    principal_claim: String,
    scope_claim: String,
    required_scopes: Vec<String>,
    skew_ms: i64,
    audience: Vec<String>,
    issuer: Option<String>,
    /// Signed tokens: the JWKS file, re-read when it changes (keys rotate).
    jwks: Option<(PathBuf, Mutex<JwksKeys>)>,
}

fn invalid(msg: impl Into<String>) -> AuthFailure {
    AuthFailure(format!("Authentication failed: {}", msg.into()))
}

fn b64url(s: &str) -> Result<Vec<u8>, AuthFailure> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| invalid("the token is not base64url"))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Validator {
    pub fn from_props(props: &BTreeMap<String, String>, jaas: &BTreeMap<String, String>) -> Result<Validator, String> {
        let p = |k: &str| {
            props.get(&format!("oauthbearer.{k}")).or_else(|| props.get(k)).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
        };
        let list = |v: Option<String>| -> Vec<String> {
            v.map(|s| s.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()).unwrap_or_default()
        };
        let jwks = match p("sasl.oauthbearer.jwks.endpoint.url") {
            None => None,
            Some(url) => {
                let path = match url.strip_prefix("file://").or_else(|| url.strip_prefix("file:")) {
                    Some(p) => PathBuf::from(p),
                    None if url.starts_with("http://") || url.starts_with("https://") => {
                        return Err(format!(
                            "sasl.oauthbearer.jwks.endpoint.url {url}: rk reads JWKS from a file (file:///path/jwks.json); save the endpoint's keys to a file"
                        ));
                    }
                    None => PathBuf::from(url),
                };
                let keys = load_jwks(&path)?;
                Some((path, Mutex::new(keys)))
            }
        };
        let unsecured = |k: &str| jaas.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(Validator {
            principal_claim: unsecured("unsecuredValidatorPrincipalClaimName")
                .or_else(|| p("sasl.oauthbearer.sub.claim.name"))
                .unwrap_or("sub".into()),
            scope_claim: unsecured("unsecuredValidatorScopeClaimName")
                .or_else(|| p("sasl.oauthbearer.scope.claim.name"))
                .unwrap_or("scope".into()),
            required_scopes: list(unsecured("unsecuredValidatorRequiredScope")),
            skew_ms: unsecured("unsecuredValidatorAllowableClockSkewMs")
                .and_then(|v| v.parse().ok())
                .or_else(|| p("sasl.oauthbearer.clock.skew.seconds").and_then(|v| v.parse::<i64>().ok()).map(|s| s * 1000))
                .unwrap_or(if jwks.is_some() { 30_000 } else { 0 }),
            audience: list(p("sasl.oauthbearer.expected.audience")),
            issuer: p("sasl.oauthbearer.expected.issuer"),
            jwks,
        })
    }

    /// Validates a compact JWS; Ok((principal, expiry ms)).
    pub fn validate(&self, token: &str) -> Result<(String, i64), AuthFailure> {
        let parts: Vec<&str> = token.split('.').collect();
        let [h, c, sig] = parts[..] else { return Err(invalid("the token is not a compact JWS (header.claims.signature)")) };
        let header: Value = serde_json::from_slice(&b64url(h)?).map_err(|_| invalid("the token header is not JSON"))?;
        let claims: Value = serde_json::from_slice(&b64url(c)?).map_err(|_| invalid("the token claims are not JSON"))?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        match &self.jwks {
            None => {
                if alg != "none" || !sig.is_empty() {
                    return Err(invalid(
                        "unsecured tokens only are accepted here (alg none, no signature); configure sasl.oauthbearer.jwks.endpoint.url for signed tokens",
                    ));
                }
            }
            Some(_) => self.verify_signature(&header, alg, &format!("{h}.{c}"), &b64url(sig)?)?,
        }
        let num = |k: &str| claims.get(k).and_then(Value::as_f64);
        let now = now_ms();
        let exp = num("exp").ok_or_else(|| invalid("the token has no exp claim"))?;
        let exp_ms = (exp * 1000.0) as i64;
        if now - self.skew_ms >= exp_ms {
            return Err(invalid(format!("the token expired at {exp_ms} ms (now {now} ms)")));
        }
        if let Some(iat) = num("iat")
            && (iat * 1000.0) as i64 > now + self.skew_ms.max(30_000)
        {
            return Err(invalid("the token was issued in the future (iat)"));
        }
        if let Some(nbf) = num("nbf")
            && (nbf * 1000.0) as i64 > now + self.skew_ms
        {
            return Err(invalid("the token is not valid yet (nbf)"));
        }
        let principal = claims
            .get(&self.principal_claim)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| invalid(format!("the token has no {} claim", self.principal_claim)))?;
        if !self.required_scopes.is_empty() {
            let scopes: Vec<String> = match claims.get(&self.scope_claim) {
                Some(Value::String(s)) => s.split(' ').map(String::from).collect(),
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
                _ => Vec::new(),
            };
            if let Some(missing) = self.required_scopes.iter().find(|r| !scopes.contains(r)) {
                return Err(invalid(format!("the token lacks the required scope {missing}")));
            }
        }
        if let Some(iss) = &self.issuer
            && claims.get("iss").and_then(Value::as_str) != Some(iss.as_str())
        {
            return Err(invalid(format!("the token's issuer is not {iss}")));
        }
        if !self.audience.is_empty() {
            let aud: Vec<&str> = match claims.get("aud") {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !aud.iter().any(|a| self.audience.iter().any(|e| e == a)) {
                return Err(invalid("the token's audience is not an expected one"));
            }
        }
        Ok((principal.to_string(), exp_ms))
    }

    fn verify_signature(&self, header: &Value, alg: &str, signed: &str, sig: &[u8]) -> Result<(), AuthFailure> {
        let Some((path, keys)) = &self.jwks else { return Err(invalid("no JWKS configured")) };
        let mut k = keys.lock().unwrap_or_else(|e| e.into_inner());
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if mtime != k.0
            && let Ok(fresh) = load_jwks(path)
        {
            *k = fresh;
        }
        let kid = header.get("kid").and_then(Value::as_str);
        let candidates: Vec<&Value> = k.1.iter().filter(|j| kid.is_none() || j.get("kid").and_then(Value::as_str) == kid).collect();
        if candidates.is_empty() {
            return Err(invalid(format!("no key in the JWKS matches the token's kid {}", kid.unwrap_or("(none)"))));
        }
        for jwk in candidates {
            if verify_with(jwk, alg, signed.as_bytes(), sig) {
                return Ok(());
            }
        }
        Err(invalid("the token's signature does not verify"))
    }
}

fn load_jwks(path: &PathBuf) -> Result<JwksKeys, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read the JWKS {}: {e}", path.display()))?;
    let v: Value = serde_json::from_slice(&text).map_err(|e| format!("the JWKS {} is not JSON: {e}", path.display()))?;
    let keys =
        v.get("keys").and_then(Value::as_array).cloned().ok_or_else(|| format!("the JWKS {} has no \"keys\" array", path.display()))?;
    Ok((std::fs::metadata(path).and_then(|m| m.modified()).ok(), keys))
}

/// Verifies a JWS signature with one JWK.
fn verify_with(jwk: &Value, alg: &str, msg: &[u8], sig: &[u8]) -> bool {
    let field = |k: &str| jwk.get(k).and_then(Value::as_str).and_then(|s| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok());
    match (jwk.get("kty").and_then(Value::as_str), alg) {
        (Some("RSA"), "RS256" | "RS384" | "RS512") => {
            let (Some(n), Some(e)) = (field("n"), field("e")) else { return false };
            let params = match alg {
                "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
                _ => &signature::RSA_PKCS1_2048_8192_SHA512,
            };
            signature::RsaPublicKeyComponents { n: &n, e: &e }.verify(params, msg, sig).is_ok()
        }
        (Some("EC"), "ES256" | "ES384") => {
            let (Some(x), Some(y)) = (field("x"), field("y")) else { return false };
            let params = if alg == "ES256" { &signature::ECDSA_P256_SHA256_FIXED } else { &signature::ECDSA_P384_SHA384_FIXED };
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            signature::UnparsedPublicKey::new(params, point).verify(msg, sig).is_ok()
        }
        _ => false,
    }
}

/// One OAUTHBEARER exchange: the client's initial response carries the token.
pub struct OAuthServer {
    validator: Arc<Validator>,
}

impl OAuthServer {
    pub fn new(validator: Arc<Validator>) -> OAuthServer {
        OAuthServer { validator }
    }
}

impl SaslServer for OAuthServer {
    fn step(&mut self, token: &[u8]) -> Result<Step, AuthFailure> {
        let text = std::str::from_utf8(token).map_err(|_| invalid("the OAUTHBEARER message is not UTF-8"))?;
        // gs2-header, then kvsep (0x01) separated key=value pairs, ended by kvsep kvsep.
        let mut items = text.split('\u{1}');
        let gs2 = items.next().unwrap_or("");
        if !gs2.starts_with("n,") && !gs2.starts_with("y,") {
            return Err(invalid("invalid OAUTHBEARER client first message"));
        }
        let bearer = items
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "auth")
            .and_then(|(_, v)| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or_else(|| invalid("the OAUTHBEARER message has no auth=Bearer token"))?;
        let (user, exp) = self.validator.validate(bearer.trim())?;
        if let Some(authzid) = gs2.split(',').nth(1).and_then(|a| a.strip_prefix("a="))
            && authzid != user
        {
            return Err(invalid("the authorization id differs from the token's principal"));
        }
        Ok(Step::Done { response: Vec::new(), user, expires_at_ms: Some(exp) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsecured(claims: &str) -> String {
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.", e(r#"{"alg":"none"}"#), e(claims))
    }

    fn message(token: &str) -> Vec<u8> {
        format!("n,,\u{1}auth=Bearer {token}\u{1}\u{1}").into_bytes()
    }

    #[test]
    fn unsecured_tokens_are_checked_for_expiry_and_scope() {
        let jaas: BTreeMap<String, String> = [("unsecuredValidatorRequiredScope".to_string(), "kafka".to_string())].into();
        let v = Arc::new(Validator::from_props(&BTreeMap::new(), &jaas).unwrap());
        let exp = now_ms() / 1000 + 3600;
        let good = unsecured(&format!(r#"{{"sub":"bob","exp":{exp},"scope":"kafka other"}}"#));
        match OAuthServer::new(v.clone()).step(&message(&good)).unwrap() {
            Step::Done { user, expires_at_ms, .. } => {
                assert_eq!(user, "bob");
                assert_eq!(expires_at_ms, Some(exp * 1000));
            }
            other => panic!("{other:?}"),
        }
        let expired = unsecured(&format!(r#"{{"sub":"bob","exp":{},"scope":"kafka"}}"#, exp - 7200));
        assert!(OAuthServer::new(v.clone()).step(&message(&expired)).unwrap_err().0.contains("expired"));
        let no_scope = unsecured(&format!(r#"{{"sub":"bob","exp":{exp}}}"#));
        assert!(OAuthServer::new(v.clone()).step(&message(&no_scope)).unwrap_err().0.contains("scope"));
        assert!(OAuthServer::new(v).step(b"garbage").is_err());
    }

    /// A signed token (ES256) checked against a JWKS file: signature, kid, issuer, audience.
    #[test]
    fn signed_tokens_are_checked_against_the_jwks() {
        use ring::rand::SystemRandom;
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = SystemRandom::new();
        let key = |seed: &str| {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
            (seed.to_string(), kp)
        };
        let (good_kid, good) = key("k1");
        let (_, other) = key("k2");
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let point = good.public_key().as_ref();
        let jwks =
            serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": good_kid, "x": b64(&point[1..33]), "y": b64(&point[33..])}]});
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, jwks.to_string()).unwrap();
        let props: BTreeMap<String, String> = [
            ("sasl.oauthbearer.jwks.endpoint.url".to_string(), format!("file://{}", path.display())),
            ("sasl.oauthbearer.expected.audience".to_string(), "rk".to_string()),
            ("sasl.oauthbearer.expected.issuer".to_string(), "https://idp.example".to_string()),
        ]
        .into();
        let v = Validator::from_props(&props, &BTreeMap::new()).unwrap();
        let exp = now_ms() / 1000 + 600;
        let sign = |kp: &EcdsaKeyPair, kid: &str, claims: serde_json::Value| {
            let head = b64(serde_json::json!({"alg": "ES256", "kid": kid}).to_string().as_bytes());
            let body = b64(claims.to_string().as_bytes());
            let sig = kp.sign(&rng, format!("{head}.{body}").as_bytes()).unwrap();
            format!("{head}.{body}.{}", b64(sig.as_ref()))
        };
        let claims = serde_json::json!({"sub": "erin", "exp": exp, "iss": "https://idp.example", "aud": ["rk", "other"]});
        assert_eq!(v.validate(&sign(&good, "k1", claims.clone())).unwrap().0, "erin");
        assert!(v.validate(&sign(&other, "k1", claims.clone())).unwrap_err().0.contains("signature"));
        assert!(v.validate(&sign(&good, "nope", claims.clone())).unwrap_err().0.contains("kid"));
        let wrong_aud = serde_json::json!({"sub": "erin", "exp": exp, "iss": "https://idp.example", "aud": "else"});
        assert!(v.validate(&sign(&good, "k1", wrong_aud)).unwrap_err().0.contains("audience"));
        let wrong_iss = serde_json::json!({"sub": "erin", "exp": exp, "iss": "https://evil.example", "aud": "rk"});
        assert!(v.validate(&sign(&good, "k1", wrong_iss)).unwrap_err().0.contains("issuer"));
        let unsigned = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims.to_string().as_bytes()));
        assert!(v.validate(&unsigned).is_err(), "alg none is refused when a JWKS is configured");
        assert!(
            Validator::from_props(
                &[("sasl.oauthbearer.jwks.endpoint.url".to_string(), "https://idp.example/jwks".to_string())].into(),
                &BTreeMap::new()
            )
            .is_err()
        );
    }
}
