//! DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554): the credentials
//! in the metadata image, described by mechanism and iterations only; changes go to the
//! controller with StoredKey and ServerKey derived here from the client's salted password,
//! which is never stored.

use super::{Ctx, code, sb};
use crate::broker::controller::TopicError;
use crate::broker::controller::scram::{ScramDelete, ScramUpsert};
use crate::broker::security::acl::{Op, Resource};
use crate::security::scram::Mechanism;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{CredentialInfo, DescribeUserScramCredentialsResult};
use kafka_protocol::messages::*;

pub async fn describe(ctx: &Ctx<'_>, req: DescribeUserScramCredentialsRequest) -> DescribeUserScramCredentialsResponse {
    if !ctx.authorize(Op::Describe, Resource::Cluster) {
        return DescribeUserScramCredentialsResponse::default()
            .with_error_code(code(E::ClusterAuthorizationFailed))
            .with_error_message(Some(sb("Cluster authorization failed.")));
    }
    let image = ctx.broker.image();
    // (user, asked more than once); no list or an empty one: every user with a credential.
    let mut users: Vec<(String, bool)> = Vec::new();
    match req.users.as_ref().filter(|u| !u.is_empty()) {
        None => {
            for (name, _) in image.scram.keys() {
                if users.last().is_none_or(|(u, _)| u != name) {
                    users.push((name.clone(), false));
                }
            }
        }
        Some(list) => {
            for u in list {
                let name = u.name.to_string();
                match users.iter_mut().find(|(n, _)| *n == name) {
                    Some(entry) => entry.1 = true,
                    None => users.push((name, false)),
                }
            }
        }
    }
    let results = users
        .into_iter()
        .map(|(user, duplicate)| {
            let r = DescribeUserScramCredentialsResult::default().with_user(sb(user.clone()));
            if duplicate {
                let m = format!("Cannot describe SCRAM credentials for the same user twice in a single request: {user}");
                return r.with_error_code(code(E::DuplicateResource)).with_error_message(Some(sb(m)));
            }
            let infos: Vec<CredentialInfo> = image
                .scram
                .range((user.clone(), i8::MIN)..=(user.clone(), i8::MAX))
                .map(|((_, mechanism), c)| CredentialInfo::default().with_mechanism(*mechanism).with_iterations(c.iterations))
                .collect();
            if infos.is_empty() {
                let m = format!("Attempt to describe a user credential that does not exist: {user}");
                r.with_error_code(code(E::ResourceNotFound)).with_error_message(Some(sb(m)))
            } else {
                r.with_credential_infos(infos)
            }
        })
        .collect();
    DescribeUserScramCredentialsResponse::default().with_results(results)
}

pub async fn alter(ctx: &Ctx<'_>, req: AlterUserScramCredentialsRequest) -> AlterUserScramCredentialsResponse {
    let deletions = req.deletions.iter().map(|d| ScramDelete { name: d.name.to_string(), mechanism: d.mechanism }).collect();
    let upsertions = req
        .upsertions
        .iter()
        .map(|u| {
            // An unknown mechanism gets no keys; the controller refuses it.
            let (stored_key, server_key) = Mechanism::from_code(u.mechanism).map(|m| m.keys(&u.salted_password)).unwrap_or_default();
            ScramUpsert {
                name: u.name.to_string(),
                mechanism: u.mechanism,
                iterations: u.iterations,
                salt: u.salt.to_vec(),
                stored_key,
                server_key,
            }
        })
        .collect();
    let refused = TopicError(code(E::ClusterAuthorizationFailed), "Cluster authorization failed.".into());
    let allowed = ctx.authorize(Op::Alter, Resource::Cluster);
    let results = match if allowed { ctx.broker.controller.alter_scram(deletions, upsertions).await } else { Err(refused) } {
        Ok(r) => r,
        // The whole command failed (no controller): every user named gets that error.
        Err(e) => {
            let mut names: Vec<String> = req.deletions.iter().map(|d| d.name.to_string()).collect();
            names.extend(req.upsertions.iter().map(|u| u.name.to_string()));
            names.dedup();
            names.into_iter().map(|n| (n, Err(e.clone()))).collect()
        }
    };
    let results = results
        .into_iter()
        .map(|(user, outcome)| {
            let r = AlterUserScramCredentialsResult::default().with_user(sb(user));
            match outcome {
                Ok(()) => r,
                Err(TopicError(c, m)) => r.with_error_code(c).with_error_message(Some(sb(m))),
            }
        })
        .collect();
    AlterUserScramCredentialsResponse::default().with_results(results)
}
