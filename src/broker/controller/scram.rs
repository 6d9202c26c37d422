//! SCRAM credential commands of the controller (Kafka's ScramControlManager): upserts and
//! deletions validated per user (a user with one bad change gets nothing changed), then
//! written as UserScramCredential / RemoveUserScramCredential records.

use super::{Outcome, TopicError};
use crate::broker::metadata::{MetadataImage, MetadataRecord};
use crate::security::scram::{MAX_ITERATIONS, MIN_ITERATIONS, Mechanism};
use kafka_protocol::error::ResponseError as E;
use serde::{Deserialize, Serialize};

/// A credential to store: the broker derived the keys from the client's salted password,
/// so neither the password nor the salted password reaches the metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScramUpsert {
    pub name: String,
    pub mechanism: i8,
    pub iterations: i32,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScramDelete {
    pub name: String,
    pub mechanism: i8,
}

fn err(e: E, m: &str) -> TopicError {
    TopicError(e.code(), m.to_string())
}

/// validateScramUsernameAndMechanism.
fn check_name_and_mechanism(name: &str, mechanism: i8) -> Outcome<()> {
    if name.is_empty() {
        return Err(err(E::UnacceptableCredential, "Username must not be empty"));
    }
    if Mechanism::from_code(mechanism).is_none() {
        return Err(err(E::UnsupportedSaslMechanism, "Unknown SCRAM mechanism"));
    }
    Ok(())
}

fn check_upsert(u: &ScramUpsert) -> Outcome<()> {
    check_name_and_mechanism(&u.name, u.mechanism)?;
    if u.iterations < MIN_ITERATIONS {
        return Err(err(E::UnacceptableCredential, "Too few iterations"));
    }
    if u.iterations > MAX_ITERATIONS {
        return Err(err(E::UnacceptableCredential, "Too many iterations"));
    }
    Ok(())
}

fn check_delete(img: &MetadataImage, d: &ScramDelete) -> Outcome<()> {
    check_name_and_mechanism(&d.name, d.mechanism)?;
    if !img.scram.contains_key(&(d.name.clone(), d.mechanism)) {
        return Err(err(E::ResourceNotFound, "Attempt to delete a user credential that does not exist"));
    }
    Ok(())
}

/// One result per user (in order of first mention) and the records of the users whose
/// every change is valid. Two changes of the same user and mechanism in one request are
/// DUPLICATE_RESOURCE.
pub(super) fn plan_alter(
    img: &MetadataImage,
    deletions: &[ScramDelete],
    upsertions: &[ScramUpsert],
) -> (Vec<(String, Outcome<()>)>, Vec<MetadataRecord>) {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut users: Vec<(String, Outcome<()>, Vec<MetadataRecord>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let ops = deletions
        .iter()
        .map(|d| {
            (
                d.name.clone(),
                d.mechanism,
                check_delete(img, d),
                MetadataRecord::RemoveUserScramCredential { name: d.name.clone(), mechanism: d.mechanism },
            )
        })
        .chain(upsertions.iter().map(|u| {
            let rec = MetadataRecord::UserScramCredential {
                name: u.name.clone(),
                mechanism: u.mechanism,
                salt: b64(&u.salt),
                stored_key: b64(&u.stored_key),
                server_key: b64(&u.server_key),
                iterations: u.iterations,
            };
            (u.name.clone(), u.mechanism, check_upsert(u), rec)
        }));
    for (name, mechanism, mut outcome, rec) in ops {
        if !seen.insert((name.clone(), mechanism)) {
            outcome = Err(err(E::DuplicateResource, "A user credential cannot be altered twice in the same request"));
        }
        let i = match users.iter().position(|(n, _, _)| *n == name) {
            Some(i) => i,
            None => {
                users.push((name.clone(), Ok(()), Vec::new()));
                users.len() - 1
            }
        };
        let entry = &mut users[i];
        match outcome {
            // The first error of a user is its answer.
            Err(e) if entry.1.is_ok() => entry.1 = Err(e),
            Err(_) => {}
            Ok(()) => entry.2.push(rec),
        }
    }
    let mut records = Vec::new();
    let results = users
        .into_iter()
        .map(|(name, outcome, recs)| {
            if outcome.is_ok() {
                records.extend(recs);
            }
            (name, outcome)
        })
        .collect();
    (results, records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, mechanism: i8, iterations: i32) -> ScramUpsert {
        ScramUpsert { name: name.into(), mechanism, iterations, salt: vec![1], stored_key: vec![2], server_key: vec![3] }
    }

    #[test]
    fn validates_like_kafka() {
        let img = MetadataImage::default();
        let codes = |dels: &[ScramDelete], ups: &[ScramUpsert]| -> Vec<(String, i16)> {
            plan_alter(&img, dels, ups).0.into_iter().map(|(n, o)| (n, o.err().map_or(0, |e| e.0))).collect()
        };
        assert_eq!(codes(&[], &[up("", 1, 4096)]), vec![("".into(), E::UnacceptableCredential.code())]);
        assert_eq!(codes(&[], &[up("a", 3, 4096)]), vec![("a".into(), E::UnsupportedSaslMechanism.code())]);
        assert_eq!(codes(&[], &[up("a", 1, 4095)]), vec![("a".into(), E::UnacceptableCredential.code())]);
        assert_eq!(codes(&[], &[up("a", 1, 16385)]), vec![("a".into(), E::UnacceptableCredential.code())]);
        assert_eq!(codes(&[ScramDelete { name: "a".into(), mechanism: 1 }], &[]), vec![("a".into(), E::ResourceNotFound.code())]);
        let dup = codes(&[ScramDelete { name: "a".into(), mechanism: 1 }], &[up("a", 1, 4096)]);
        assert_eq!(dup, vec![("a".into(), E::ResourceNotFound.code())], "first error wins");
        let (res, recs) = plan_alter(&img, &[], &[up("a", 1, 4096), up("a", 1, 8192), up("b", 2, 8192)]);
        assert_eq!(res[0].1.as_ref().unwrap_err().0, E::DuplicateResource.code());
        assert!(res[1].1.is_ok());
        assert_eq!(recs.len(), 1, "only b's credential is written");
        let (res, recs) = plan_alter(&img, &[], &[up("a", 1, 4096), up("a", 2, 8192)]);
        assert!(res.iter().all(|r| r.1.is_ok()) && recs.len() == 2, "two mechanisms of one user are fine");
    }
}
