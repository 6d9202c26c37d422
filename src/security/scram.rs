//! SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka uses it (KIP-84): key
//! derivation (what AlterUserScramCredentials and the broker's credential store hold), the
//! message attributes, and the proofs. Both sides of the exchange live here so the client
//! and the broker can never disagree on the arithmetic.

use ring::{digest, hmac, pbkdf2};
use std::num::NonZeroU32;

/// The two SCRAM mechanisms Kafka offers, with their protocol codes (ScramMechanism).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    Sha256,
    Sha512,
}

/// Kafka's bounds on iterations (ScramMechanism.minIterations / maxIterations).
pub const MIN_ITERATIONS: i32 = 4096;
pub const MAX_ITERATIONS: i32 = 16384;

impl Mechanism {
    pub fn from_code(code: i8) -> Option<Mechanism> {
        match code {
            1 => Some(Mechanism::Sha256),
            2 => Some(Mechanism::Sha512),
            _ => None,
        }
    }
    pub fn code(self) -> i8 {
        match self {
            Mechanism::Sha256 => 1,
            Mechanism::Sha512 => 2,
        }
    }
    pub fn from_name(name: &str) -> Option<Mechanism> {
        match name.trim().to_ascii_uppercase().as_str() {
            "SCRAM-SHA-256" => Some(Mechanism::Sha256),
            "SCRAM-SHA-512" => Some(Mechanism::Sha512),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha256 => "SCRAM-SHA-256",
            Mechanism::Sha512 => "SCRAM-SHA-512",
        }
    }
    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Mechanism::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Mechanism::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }
    fn hmac_algorithm(self) -> hmac::Algorithm {
        match self {
            Mechanism::Sha256 => hmac::HMAC_SHA256,
            Mechanism::Sha512 => hmac::HMAC_SHA512,
        }
    }
    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Mechanism::Sha256 => &digest::SHA256,
            Mechanism::Sha512 => &digest::SHA512,
        }
    }
    fn len(self) -> usize {
        self.digest().output_len()
    }

    /// SaltedPassword := Hi(Normalize(password), salt, i).
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.len()];
        let n = NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN);
        pbkdf2::derive(self.pbkdf2(), n, salt, password, &mut out);
        out
    }

    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(self.hmac_algorithm(), key), data).as_ref().to_vec()
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.digest(), data).as_ref().to_vec()
    }

    /// The stored credential for a salted password: (StoredKey, ServerKey).
    pub fn keys(self, salted_password: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let client_key = self.hmac(salted_password, b"Client Key");
        let stored_key = self.hash(&client_key);
        let server_key = self.hmac(salted_password, b"Server Key");
        (stored_key, server_key)
    }
}

/// A random nonce or salt of `n` bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    b
}

/// Equality that takes the same time wherever the inputs differ (proof checks).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// XOR of two equal-length byte strings.
pub fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// `saslname` escaping of RFC 5802 (',' → "=2C", '=' → "=3D").
pub fn escape_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// Undoes `escape_name`; None for a malformed escape.
pub fn unescape_name(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// The attributes of a SCRAM message (`a=b,c=d`), in order. A value may contain '='.
pub fn attributes(msg: &str) -> Option<Vec<(char, &str)>> {
    msg.split(',')
        .map(|kv| {
            let mut chars = kv.chars();
            let k = chars.next()?;
            (chars.next()? == '=').then_some((k, &kv[2..]))
        })
        .collect()
}

/// The attribute `key` of a parsed message.
pub fn attr<'a>(attrs: &[(char, &'a str)], key: char) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The client's side of one exchange: client-first, then client-final from the server's
/// first message, then the server signature check.
pub struct ScramClient {
    mechanism: Mechanism,
    password: String,
    nonce: String,
    client_first_bare: String,
    expected_server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    pub fn new(mechanism: Mechanism, user: &str, password: &str) -> ScramClient {
        use base64::Engine;
        let nonce = base64::engine::general_purpose::STANDARD_NO_PAD.encode(random_bytes(24));
        let client_first_bare = format!("n={},r={nonce}", escape_name(user));
        ScramClient { mechanism, password: password.to_string(), nonce, client_first_bare, expected_server_signature: None }
    }

    /// `n,,n=user,r=nonce`
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// The client-final message for the server-first message.
    pub fn client_final(&mut self, server_first: &str) -> Result<String, String> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let attrs = attributes(server_first).ok_or("malformed server-first message")?;
        if let Some(e) = attr(&attrs, 'e') {
            return Err(format!("the server refused: {e}"));
        }
        let nonce = attr(&attrs, 'r').ok_or("server-first message without a nonce")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() <= self.nonce.len() {
            return Err("the server's nonce does not extend ours".into());
        }
        let salt = b64.decode(attr(&attrs, 's').ok_or("server-first message without a salt")?).map_err(|_| "bad salt")?;
        let iterations: u32 = attr(&attrs, 'i').and_then(|i| i.parse().ok()).ok_or("server-first message without iterations")?;
        if !(MIN_ITERATIONS as u32..=MAX_ITERATIONS as u32 * 16).contains(&iterations) {
            return Err(format!("unacceptable iteration count {iterations}"));
        }
        let m = self.mechanism;
        let salted = m.salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = m.hmac(&salted, b"Client Key");
        let stored_key = m.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = m.hmac(&stored_key, auth_message.as_bytes());
        let proof = xor(&client_key, &client_signature);
        let server_key = m.hmac(&salted, b"Server Key");
        self.expected_server_signature = Some(m.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", b64.encode(proof)))
    }

    /// Checks the server-final message (`v=signature` or `e=error`).
    pub fn verify_server_final(&self, server_final: &str) -> Result<(), String> {
        use base64::Engine;
        let attrs = attributes(server_final).ok_or("malformed server-final message")?;
        if let Some(e) = attr(&attrs, 'e') {
            return Err(format!("the server refused: {e}"));
        }
        let v = attr(&attrs, 'v').ok_or("server-final message without a signature")?;
        let sig = base64::engine::general_purpose::STANDARD.decode(v).map_err(|_| "bad server signature")?;
        match &self.expected_server_signature {
            Some(expected) if constant_time_eq(expected, &sig) => Ok(()),
            _ => Err("the server's signature is invalid".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example (user "user", password "pencil").
    #[test]
    fn rfc7677_vector() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let m = Mechanism::Sha256;
        let salt = b64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = m.salted_password(b"pencil", &salt, 4096);
        let client_first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let client_key = m.hmac(&salted, b"Client Key");
        let (stored, server_key) = m.keys(&salted);
        let proof = xor(&client_key, &m.hmac(&stored, auth.as_bytes()));
        assert_eq!(b64.encode(proof), "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        assert_eq!(b64.encode(m.hmac(&server_key, auth.as_bytes())), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    #[test]
    fn names_escape_and_attributes_parse() {
        assert_eq!(escape_name("a=b,c"), "a=3Db=2Cc");
        assert_eq!(unescape_name("a=3Db=2Cc").unwrap(), "a=b,c");
        assert!(unescape_name("a=4x").is_none());
        let a = attributes("r=abc,s=x==,i=4096").unwrap();
        assert_eq!(attr(&a, 's'), Some("x=="));
        assert!(attributes("bogus").is_none());
    }
}
