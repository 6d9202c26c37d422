//! `rk configs --alter`: topic and broker configs (IncrementalAlterConfigs SET/DELETE),
//! client quotas of users, clients and IPs, and users' SCRAM credentials, with
//! ConfigCommand's checks and messages.

use super::describe::{quota_type, singular};
use super::{ConfigsArgs, Entities, Failure, Output, parse_add_config};
use crate::client::admin::Admin;
use crate::client::admin_configs::{RESOURCE_BROKER, RESOURCE_CLIENT_METRICS, RESOURCE_GROUP, RESOURCE_TOPIC, ScramChange};
use crate::security::scram::{MIN_ITERATIONS, Mechanism};
use serde_json::json;

/// QuotaConfig.isClientOrUserQuotaConfig.
const CLIENT_QUOTA_KEYS: &[&str] = &["producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"];
/// DynamicConfig.Ip.names.
const IP_QUOTA_KEYS: &[&str] = &["connection_creation_rate"];
/// ConfigCommand's DefaultScramIterations.
const DEFAULT_SCRAM_ITERATIONS: i32 = 4096;

fn is_scram(k: &str) -> bool {
    Mechanism::from_name(k).is_some()
}

/// Scala's rendering of a key collection in ConfigCommand's messages.
fn scala_set(keys: &[&String]) -> String {
    format!("Set({})", keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))
}

fn configs_to_add(a: &ConfigsArgs) -> Result<Vec<(String, String)>, Failure> {
    let mut pairs = Vec::new();
    if let Some(f) = &a.add_config_file {
        pairs.extend(crate::client::config::read_properties(f).map_err(Failure::Usage)?);
    }
    if let Some(s) = &a.add_config {
        pairs.extend(parse_add_config(s).map_err(Failure::Usage)?);
    }
    Ok(pairs)
}

pub(super) async fn run(admin: &Admin, a: &ConfigsArgs, e: &Entities) -> Result<(), Failure> {
    let add = configs_to_add(a)?;
    let delete: Vec<String> = a.delete_config.iter().map(|k| k.trim().to_string()).collect();
    let (head_type, head_name) = (e.types[0].as_str(), e.names[0].as_str());
    match head_type {
        "topics" | "brokers" | "groups" | "client-metrics" => resource(admin, head_type, head_name, &add, &delete).await?,
        "users" | "clients" => {
            let scram_add: Vec<&(String, String)> = add.iter().filter(|(k, _)| is_scram(k)).collect();
            let scram_delete: Vec<&String> = delete.iter().filter(|k| is_scram(k)).collect();
            let unknown_add: Vec<&String> =
                add.iter().map(|(k, _)| k).filter(|k| !is_scram(k) && !CLIENT_QUOTA_KEYS.contains(&k.as_str())).collect();
            let unknown_delete: Vec<&String> = delete.iter().filter(|k| !is_scram(k) && !CLIENT_QUOTA_KEYS.contains(&k.as_str())).collect();
            let quota_changes = add.iter().any(|(k, _)| CLIENT_QUOTA_KEYS.contains(&k.as_str()))
                || delete.iter().any(|k| CLIENT_QUOTA_KEYS.contains(&k.as_str()));
            if head_type == "clients" || e.types.len() == 2 {
                if !unknown_add.is_empty() || !scram_add.is_empty() {
                    let names: Vec<&String> = unknown_add.iter().copied().chain(scram_add.iter().map(|(k, _)| k)).collect();
                    return Err(Failure::Usage(format!(
                        "Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected config names: {}",
                        scala_set(&names)
                    )));
                }
                if !unknown_delete.is_empty() || !scram_delete.is_empty() {
                    let names: Vec<&String> = unknown_delete.iter().chain(scram_delete.iter()).copied().collect();
                    return Err(Failure::Usage(format!(
                        "Only quota configs can be deleted for 'clients' using --bootstrap-server. Unexpected config names: {}",
                        scala_set(&names)
                    )));
                }
            } else {
                if !unknown_add.is_empty() {
                    return Err(Failure::Usage(format!(
                        "Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: {}",
                        scala_set(&unknown_add)
                    )));
                }
                if !unknown_delete.is_empty() {
                    return Err(Failure::Usage(format!(
                        "Only quota and SCRAM credential configs can be deleted for 'users' using --bootstrap-server. Unexpected config names: {}",
                        scala_set(&unknown_delete)
                    )));
                }
                if !scram_add.is_empty() || !scram_delete.is_empty() {
                    if e.names.iter().any(|n| n.is_empty()) {
                        return Err(Failure::Usage(
                            "The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server."
                                .into(),
                        ));
                    }
                    if quota_changes {
                        return Err(Failure::Usage(
                            "Cannot alter both quota and SCRAM credential configs simultaneously for 'users' using --bootstrap-server."
                                .into(),
                        ));
                    }
                }
            }
            if quota_changes {
                quotas(admin, e, &add, &delete).await?;
            } else {
                scram(admin, head_name, &scram_add, &scram_delete).await?;
            }
        }
        _ => {
            let unknown: Vec<&str> = add
                .iter()
                .map(|(k, _)| k.as_str())
                .chain(delete.iter().map(String::as_str))
                .filter(|k| !IP_QUOTA_KEYS.contains(k))
                .collect();
            if !unknown.is_empty() {
                return Err(Failure::Usage(format!(
                    "Only connection quota configs can be added for 'ips' using --bootstrap-server. Unexpected config names: {}",
                    unknown.join(",")
                )));
            }
            quotas(admin, e, &add, &delete).await?;
        }
    }
    match a.output {
        Output::Json => println!("{}", json!({"entity_type": e.types, "entity_name": e.names, "updated": true})),
        _ if head_name.is_empty() => println!("Completed updating default config for {head_type} in the cluster."),
        _ => println!("Completed updating config for {} {head_name}.", singular(head_type)),
    }
    Ok(())
}

/// alterResourceConfig: every key to delete must be set on the entity now.
async fn resource(admin: &Admin, entity_type: &str, name: &str, add: &[(String, String)], delete: &[String]) -> Result<(), Failure> {
    let (resource, own_source) = match (entity_type, name.is_empty()) {
        ("topics", _) => (RESOURCE_TOPIC, 1),
        ("groups", _) => (RESOURCE_GROUP, 8),
        ("client-metrics", _) => (RESOURCE_CLIENT_METRICS, 7),
        (_, false) => (RESOURCE_BROKER, 2),
        (_, true) => (RESOURCE_BROKER, 3),
    };
    let current = admin.describe_configs(resource, name).await.map_err(|e| Failure::Invalid(e.to_string()))?;
    let invalid: Vec<&str> =
        delete.iter().filter(|k| !current.iter().any(|c| &c.name == *k && c.source == own_source)).map(String::as_str).collect();
    if !invalid.is_empty() {
        return Err(Failure::Invalid(format!("Invalid config(s): {}", invalid.join(","))));
    }
    let ops: Vec<(String, i8, Option<String>)> = add
        .iter()
        .map(|(k, v)| (k.clone(), 0, Some(v.clone())))
        .chain(delete.iter().map(|k| (k.clone(), 1, Some(String::new()))))
        .collect();
    admin.alter_resource_configs(resource, name, &ops).await?;
    Ok(())
}

/// alterQuotaConfigs: the entity's current quotas first (keys to delete must be set).
async fn quotas(admin: &Admin, e: &Entities, add: &[(String, String)], delete: &[String]) -> Result<(), Failure> {
    let current = super::describe::quotas(admin, e).await?;
    let current: Vec<&String> = current.first().map(|(_, v)| v.iter().map(|(k, _)| k).collect()).unwrap_or_default();
    let invalid: Vec<&str> = delete.iter().filter(|k| !current.contains(k)).map(String::as_str).collect();
    if !invalid.is_empty() {
        return Err(Failure::Invalid(format!("Invalid config(s): {}", invalid.join(","))));
    }
    let entity: Vec<(String, Option<String>)> =
        e.types.iter().zip(&e.names).map(|(t, n)| (quota_type(t).to_string(), (!n.is_empty()).then(|| n.clone()))).collect();
    let mut ops = Vec::new();
    for (k, v) in add {
        let value: f64 = v.trim().parse().map_err(|_| Failure::Usage(format!("Cannot parse quota configuration value for {k}: {v}")))?;
        ops.push((k.clone(), Some(value)));
    }
    ops.extend(delete.iter().map(|k| (k.clone(), None)));
    admin.alter_client_quotas(&entity, &ops, false).await?;
    Ok(())
}

/// alterUserScramCredentialConfigs: `[iterations=N,]password=P` per mechanism.
async fn scram(admin: &Admin, user: &str, add: &[&(String, String)], delete: &[&String]) -> Result<(), Failure> {
    let mut changes = Vec::new();
    for k in delete {
        let mechanism = Mechanism::from_name(k).ok_or_else(|| Failure::Usage(format!("Unknown SCRAM mechanism {k}")))?;
        changes.push(ScramChange::Delete { user: user.to_string(), mechanism });
    }
    for (k, v) in add {
        let mechanism = Mechanism::from_name(k).ok_or_else(|| Failure::Usage(format!("Unknown SCRAM mechanism {k}")))?;
        let bad = || Failure::Usage(format!("Invalid credential property {}={v}", mechanism.name()));
        let (iterations, password) = match v.strip_prefix("iterations=") {
            Some(rest) => {
                let (n, p) = rest.split_once(",password=").ok_or_else(bad)?;
                let n: i32 = if n.is_empty() { -1 } else { n.parse().map_err(|_| bad())? };
                (if n == -1 { DEFAULT_SCRAM_ITERATIONS } else { n }, p)
            }
            None => (DEFAULT_SCRAM_ITERATIONS, v.strip_prefix("password=").ok_or_else(bad)?),
        };
        if iterations < MIN_ITERATIONS {
            return Err(Failure::Usage(format!(
                "Iterations {iterations} is less than the minimum {MIN_ITERATIONS} required for {}",
                mechanism.name()
            )));
        }
        changes.push(ScramChange::Upsert { user: user.to_string(), mechanism, iterations, password: password.to_string() });
    }
    admin.alter_user_scram(&changes).await?;
    Ok(())
}
