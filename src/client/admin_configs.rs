//! Admin operations behind kafka-configs.sh: DescribeConfigs with synonyms and
//! IncrementalAlterConfigs for one resource, Describe/AlterClientQuotas and
//! Describe/AlterUserScramCredentials (the salt is made here and only the salted password
//! is sent, as Kafka's admin client does).

use super::admin::Admin;
use super::connection::ClientError;
use crate::security::scram::{self, Mechanism};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn check(code: i16, message: Option<&StrBytes>) -> Result<(), ClientError> {
    if code == 0 { Ok(()) } else { Err(ClientError::kafka_msg(code, message.map(|m| m.as_str()))) }
}

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
pub const RESOURCE_GROUP: i8 = 32;
/// A KIP-714 client-metrics subscription.
pub const RESOURCE_CLIENT_METRICS: i8 = 16;

/// One described config with its synonyms (name, value, source).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DescribedConfig {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
    pub sensitive: bool,
    pub read_only: bool,
    pub synonyms: Vec<(String, Option<String>, i8)>,
}

/// Kafka's ConfigEntry.ConfigSource names, by wire code.
pub fn source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

/// A quota entity: (entity type, name; None = the default entity).
pub type QuotaEntity = Vec<(String, Option<String>)>;

/// A filter component of DescribeClientQuotas: an exact name, the default, or any.
#[derive(Debug, Clone)]
pub enum QuotaMatch {
    Exact(String),
    Default,
    Any,
}

/// An AlterUserScramCredentials change.
#[derive(Debug, Clone)]
pub enum ScramChange {
    Upsert { user: String, mechanism: Mechanism, iterations: i32, password: String },
    Delete { user: String, mechanism: Mechanism },
}

impl Admin {
    /// The node a resource's request goes to: a broker's own configs to that broker.
    fn node_for(resource_type: i8, name: &str) -> Option<i32> {
        if resource_type == RESOURCE_BROKER { name.parse().ok() } else { None }
    }

    /// DescribeConfigs of one resource, with synonyms.
    pub async fn describe_configs(&self, resource_type: i8, name: &str) -> Result<Vec<DescribedConfig>, ClientError> {
        let req = DescribeConfigsRequest::default().with_include_synonyms(true).with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(sb(name))
                .with_configuration_keys(None),
        ]);
        let resp = self.cluster.send(Self::node_for(resource_type, name), &req).await?;
        let r = resp.results.into_iter().next().ok_or_else(|| ClientError::Protocol("empty DescribeConfigs response".into()))?;
        check(r.error_code, r.error_message.as_ref())?;
        Ok(r.configs
            .into_iter()
            .map(|c| DescribedConfig {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                source: c.config_source,
                sensitive: c.is_sensitive,
                read_only: c.read_only,
                synonyms: c.synonyms.into_iter().map(|s| (s.name.to_string(), s.value.map(|v| v.to_string()), s.source)).collect(),
            })
            .collect())
    }

    /// ListConfigResources (ListClientMetricsResources at v0): the names of the resources of
    /// the given types (v0 lists only client-metrics subscriptions).
    pub async fn list_config_resources(&self, resource_types: &[i8]) -> Result<Vec<(i8, String)>, ClientError> {
        let req = ListConfigResourcesRequest::default().with_resource_types(resource_types.to_vec());
        let resp = self.cluster.send(None, &req).await?;
        check(resp.error_code, None)?;
        Ok(resp.config_resources.into_iter().map(|r| (r.resource_type, r.resource_name.to_string())).collect())
    }

    /// The client-metrics subscriptions' names, sorted.
    pub async fn client_metrics_names(&self) -> Result<Vec<String>, ClientError> {
        let mut names: Vec<String> = self
            .list_config_resources(&[RESOURCE_CLIENT_METRICS])
            .await?
            .into_iter()
            .filter(|(t, _)| *t == RESOURCE_CLIENT_METRICS)
            .map(|(_, n)| n)
            .collect();
        names.sort();
        Ok(names)
    }

    /// IncrementalAlterConfigs of one resource: (name, op 0 SET / 1 DELETE, value).
    pub async fn alter_resource_configs(
        &self,
        resource_type: i8,
        name: &str,
        ops: &[(String, i8, Option<String>)],
    ) -> Result<(), ClientError> {
        let configs = ops
            .iter()
            .map(|(k, op, v)| {
                incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(sb(k))
                    .with_config_operation(*op)
                    .with_value(v.as_deref().map(sb))
            })
            .collect();
        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(sb(name))
                .with_configs(configs),
        ]);
        let resp = self.cluster.send(Self::node_for(resource_type, name), &req).await?;
        let r = resp.responses.first().ok_or_else(|| ClientError::Protocol("empty IncrementalAlterConfigs response".into()))?;
        check(r.error_code, r.error_message.as_ref())
    }

    /// DescribeClientQuotas: the entities matching every component, with their values.
    pub async fn describe_client_quotas(
        &self,
        components: &[(String, QuotaMatch)],
        strict: bool,
    ) -> Result<Vec<(QuotaEntity, Vec<(String, f64)>)>, ClientError> {
        let components = components
            .iter()
            .map(|(t, m)| {
                let c = describe_client_quotas_request::ComponentData::default().with_entity_type(sb(t));
                match m {
                    QuotaMatch::Exact(n) => c.with_match_type(0).with_match(Some(sb(n))),
                    QuotaMatch::Default => c.with_match_type(1).with_match(None),
                    QuotaMatch::Any => c.with_match_type(2).with_match(None),
                }
            })
            .collect();
        let req = DescribeClientQuotasRequest::default().with_components(components).with_strict(strict);
        let resp = self.cluster.send(None, &req).await?;
        check(resp.error_code, resp.error_message.as_ref())?;
        Ok(resp
            .entries
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let entity = e.entity.into_iter().map(|d| (d.entity_type.to_string(), d.entity_name.map(|n| n.to_string()))).collect();
                (entity, e.values.into_iter().map(|v| (v.key.to_string(), v.value)).collect())
            })
            .collect())
    }

    /// AlterClientQuotas of one entity: (key, Some(value) to set, None to remove).
    pub async fn alter_client_quotas(
        &self,
        entity: &QuotaEntity,
        ops: &[(String, Option<f64>)],
        validate_only: bool,
    ) -> Result<(), ClientError> {
        let entry = alter_client_quotas_request::EntryData::default()
            .with_entity(
                entity
                    .iter()
                    .map(|(t, n)| {
                        alter_client_quotas_request::EntityData::default().with_entity_type(sb(t)).with_entity_name(n.as_deref().map(sb))
                    })
                    .collect(),
            )
            .with_ops(
                ops.iter()
                    .map(|(k, v)| {
                        alter_client_quotas_request::OpData::default().with_key(sb(k)).with_value(v.unwrap_or(0.0)).with_remove(v.is_none())
                    })
                    .collect(),
            );
        let req = AlterClientQuotasRequest::default().with_entries(vec![entry]).with_validate_only(validate_only);
        let resp = self.cluster.send(None, &req).await?;
        for e in &resp.entries {
            check(e.error_code, e.error_message.as_ref())?;
        }
        Ok(())
    }

    /// DescribeUserScramCredentials: per user, (mechanism, iterations) or the error.
    pub async fn describe_user_scram(
        &self,
        users: Option<&[String]>,
    ) -> Result<Vec<(String, Result<Vec<(Mechanism, i32)>, ClientError>)>, ClientError> {
        let req = DescribeUserScramCredentialsRequest::default().with_users(
            users.map(|u| u.iter().map(|n| describe_user_scram_credentials_request::UserName::default().with_name(sb(n))).collect()),
        );
        let resp = self.cluster.send(None, &req).await?;
        check(resp.error_code, resp.error_message.as_ref())?;
        Ok(resp
            .results
            .into_iter()
            .map(|r| {
                let user = r.user.to_string();
                let outcome = check(r.error_code, r.error_message.as_ref()).map(|_| {
                    r.credential_infos.iter().filter_map(|c| Mechanism::from_code(c.mechanism).map(|m| (m, c.iterations))).collect()
                });
                (user, outcome)
            })
            .collect())
    }

    /// AlterUserScramCredentials: a random salt per upsert, the salted password sent;
    /// the first user error is returned.
    pub async fn alter_user_scram(&self, changes: &[ScramChange]) -> Result<(), ClientError> {
        let mut req = AlterUserScramCredentialsRequest::default();
        for c in changes {
            match c {
                ScramChange::Delete { user, mechanism } => req.deletions.push(
                    alter_user_scram_credentials_request::ScramCredentialDeletion::default()
                        .with_name(sb(user))
                        .with_mechanism(mechanism.code()),
                ),
                ScramChange::Upsert { user, mechanism, iterations, password } => {
                    let salt = scram::random_bytes(32);
                    let salted = mechanism.salted_password(password.as_bytes(), &salt, (*iterations).max(1) as u32);
                    req.upsertions.push(
                        alter_user_scram_credentials_request::ScramCredentialUpsertion::default()
                            .with_name(sb(user))
                            .with_mechanism(mechanism.code())
                            .with_iterations(*iterations)
                            .with_salt(salt.into())
                            .with_salted_password(salted.into()),
                    );
                }
            }
        }
        let resp = self.cluster.send(None, &req).await?;
        for r in &resp.results {
            check(r.error_code, r.error_message.as_ref())?;
        }
        Ok(())
    }
}
