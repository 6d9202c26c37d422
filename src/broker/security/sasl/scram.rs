//! SCRAM-SHA-256/512 on the broker (Kafka's ScramSaslServer): checks the client's proof
//! against the StoredKey kept in the metadata image and proves itself with the ServerKey.
//! Unknown users get a made-up salt and fail at the proof, so a client cannot tell which
//! users exist.

use super::{AuthFailure, SaslServer, Step};
use crate::broker::metadata::MetadataImage;
use crate::security::scram::{self, Mechanism, attr, attributes};
use base64::Engine;
use std::sync::Arc;

enum State {
    ReceiveClientFirst,
    ReceiveClientFinal { user: String, client_first_bare: String, server_first: String, nonce: String },
    Done,
}

pub struct ScramServer {
    mechanism: Mechanism,
    image: Arc<MetadataImage>,
    state: State,
}

impl ScramServer {
    pub fn new(mechanism: Mechanism, image: Arc<MetadataImage>) -> ScramServer {
        ScramServer { mechanism, image, state: State::ReceiveClientFirst }
    }

    fn failed(&self) -> AuthFailure {
        AuthFailure(format!(
            "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
            self.mechanism.name()
        ))
    }

    fn credential(&self, user: &str) -> Option<&crate::broker::metadata::ScramCredentialImage> {
        self.image.scram.get(&(user.to_string(), self.mechanism.code()))
    }
}

impl SaslServer for ScramServer {
    fn step(&mut self, token: &[u8]) -> Result<Step, AuthFailure> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let text = std::str::from_utf8(token).map_err(|_| AuthFailure("Invalid SCRAM message: not UTF-8".into()))?;
        match std::mem::replace(&mut self.state, State::Done) {
            State::ReceiveClientFirst => {
                // gs2-header: "n,," or "y,,"; channel binding ("p=") and authzid are refused.
                let (gs2, bare) = text
                    .strip_prefix("n,")
                    .or_else(|| text.strip_prefix("y,"))
                    .and_then(|r| r.split_once(','))
                    .ok_or_else(|| AuthFailure("Invalid SCRAM client first message".into()))?;
                if !gs2.is_empty() && gs2.strip_prefix("a=").is_none() {
                    return Err(AuthFailure("Invalid SCRAM client first message".into()));
                }
                // Extensions follow the nonce; `tokenauth=true` asks for delegation tokens.
                if bare.contains(",tokenauth=") {
                    return Err(AuthFailure("Delegation tokens are not supported by this broker".into()));
                }
                let attrs = attributes(bare).ok_or_else(|| AuthFailure("Invalid SCRAM client first message".into()))?;
                let user = attr(&attrs, 'n').and_then(scram::unescape_name).ok_or_else(|| AuthFailure("Invalid SCRAM username".into()))?;
                let client_nonce = attr(&attrs, 'r').filter(|r| !r.is_empty()).ok_or_else(|| AuthFailure("Invalid SCRAM nonce".into()))?;
                if let Some(a) = gs2.strip_prefix("a=")
                    && a != user
                {
                    return Err(AuthFailure(
                        "Authentication failed: Client requested an authorization id that is different from username".into(),
                    ));
                }
                let (salt, iterations) = match self.credential(&user) {
                    Some(c) => (c.salt.clone(), c.iterations),
                    // Unknown user: a stable fake salt so the answer looks like any other.
                    None => (self.mechanism.hmac(b"rk-unknown-user", user.as_bytes())[..16].to_vec(), scram::MIN_ITERATIONS),
                };
                let nonce = format!("{client_nonce}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(scram::random_bytes(24)));
                let server_first = format!("r={nonce},s={},i={iterations}", b64.encode(&salt));
                self.state =
                    State::ReceiveClientFinal { user, client_first_bare: bare.to_string(), server_first: server_first.clone(), nonce };
                Ok(Step::Challenge(server_first.into_bytes()))
            }
            State::ReceiveClientFinal { user, client_first_bare, server_first, nonce } => {
                let attrs = attributes(text).ok_or_else(|| AuthFailure("Invalid SCRAM client final message".into()))?;
                if attr(&attrs, 'r') != Some(nonce.as_str()) {
                    return Err(AuthFailure("Invalid SCRAM client final message: nonce mismatch".into()));
                }
                let proof_b64 = attr(&attrs, 'p').ok_or_else(|| AuthFailure("Invalid SCRAM client final message: no proof".into()))?;
                let proof = b64.decode(proof_b64).map_err(|_| self.failed())?;
                let without_proof = text.rsplit_once(",p=").map(|(a, _)| a).ok_or_else(|| self.failed())?;
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let cred = self.credential(&user).ok_or_else(|| self.failed())?;
                let signature = self.mechanism.hmac(&cred.stored_key, auth_message.as_bytes());
                if proof.len() != signature.len() {
                    return Err(self.failed());
                }
                let client_key = scram::xor(&proof, &signature);
                if !scram::constant_time_eq(&self.mechanism.hash(&client_key), &cred.stored_key) {
                    return Err(self.failed());
                }
                let server_signature = self.mechanism.hmac(&cred.server_key, auth_message.as_bytes());
                let response = format!("v={}", b64.encode(server_signature)).into_bytes();
                Ok(Step::Done { response, user, expires_at_ms: None })
            }
            State::Done => Err(AuthFailure("Unexpected SCRAM message after authentication completed".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::metadata::MetadataRecord;
    use crate::security::scram::ScramClient;

    fn image_with(user: &str, password: &str, m: Mechanism) -> Arc<MetadataImage> {
        let salt = scram::random_bytes(16);
        let salted = m.salted_password(password.as_bytes(), &salt, 4096);
        let (stored, server) = m.keys(&salted);
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut img = MetadataImage::default();
        img.apply(&MetadataRecord::UserScramCredential {
            name: user.into(),
            mechanism: m.code(),
            salt: b64.encode(salt),
            stored_key: b64.encode(stored),
            server_key: b64.encode(server),
            iterations: 4096,
        });
        Arc::new(img)
    }

    fn exchange(m: Mechanism, img: Arc<MetadataImage>, user: &str, password: &str) -> Result<String, AuthFailure> {
        let mut client = ScramClient::new(m, user, password);
        let mut server = ScramServer::new(m, img);
        let Step::Challenge(first) = server.step(client.client_first().as_bytes())? else { panic!("challenge expected") };
        let fin = client.client_final(std::str::from_utf8(&first).unwrap()).unwrap();
        match server.step(fin.as_bytes())? {
            Step::Done { response, user, .. } => {
                client.verify_server_final(std::str::from_utf8(&response).unwrap()).unwrap();
                Ok(user)
            }
            Step::Challenge(_) => panic!("done expected"),
        }
    }

    #[test]
    fn client_and_server_agree_and_wrong_passwords_fail() {
        for m in [Mechanism::Sha256, Mechanism::Sha512] {
            let img = image_with("alice", "alice-secret", m);
            assert_eq!(exchange(m, img.clone(), "alice", "alice-secret").unwrap(), "alice");
            let e = exchange(m, img.clone(), "alice", "nope").unwrap_err();
            assert!(e.0.contains("invalid credentials"), "{e}");
            assert!(exchange(m, img, "mallory", "x").is_err(), "unknown users fail at the proof");
        }
    }
}
