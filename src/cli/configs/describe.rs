//! `rk configs --describe`: topic and broker configs (dynamic ones, or all with --all),
//! client quotas and SCRAM credentials, in ConfigCommand's text, JSON or a table.

use super::{ConfigsArgs, Entities, Failure, Output, java_double};
use crate::client::admin::Admin;
use crate::client::admin_configs::{
    QuotaEntity, QuotaMatch, RESOURCE_BROKER, RESOURCE_CLIENT_METRICS, RESOURCE_GROUP, RESOURCE_TOPIC, source_name,
};
use comfy_table::Table;
use kafka_protocol::error::ResponseError as E;
use serde_json::{Value, json};

pub(super) async fn run(admin: &Admin, a: &ConfigsArgs, e: &Entities) -> Result<(), Failure> {
    match e.types[0].as_str() {
        "topics" | "brokers" | "groups" | "client-metrics" => resources(admin, a, &e.types[0], e.names.first()).await,
        "users" | "clients" => {
            let quotas = quotas(admin, e).await?;
            // SCRAM credentials only for users alone and not their default.
            let scram = if !e.types.iter().any(|t| t == "clients") && !e.names.iter().any(|n| n.is_empty()) {
                scram(admin, &e.names).await?
            } else {
                Vec::new()
            };
            print_quotas(a.output, &quotas, Some(&scram));
            Ok(())
        }
        _ => {
            let quotas = quotas(admin, e).await?;
            print_quotas(a.output, &quotas, None);
            Ok(())
        }
    }
}

/// The entity type's singular (ConfigCommand's `entityType.dropRight(1)`).
pub(super) fn singular(t: &str) -> &str {
    t.strip_suffix('s').unwrap_or(t)
}

async fn resources(admin: &Admin, a: &ConfigsArgs, entity_type: &str, name: Option<&String>) -> Result<(), Failure> {
    let (resource, topics) = match entity_type {
        "topics" => (RESOURCE_TOPIC, true),
        "groups" => (RESOURCE_GROUP, false),
        "client-metrics" => (RESOURCE_CLIENT_METRICS, false),
        _ => (RESOURCE_BROKER, false),
    };
    let groups = resource == RESOURCE_GROUP;
    let subscriptions = resource == RESOURCE_CLIENT_METRICS;
    let names: Vec<String> = match name {
        Some(n) => vec![n.clone()],
        None if topics => admin.list_topics(true).await?,
        None if groups => admin.list_groups(&[], &[]).await?.into_iter().map(|g| g.group_id).collect(),
        None if subscriptions => admin.client_metrics_names().await?,
        None => {
            let meta = admin.cluster.refresh(None).await?;
            meta.brokers.keys().map(|id| id.to_string()).chain([String::new()]).collect()
        }
    };
    let (mut json_out, mut table) = (Vec::new(), Table::new());
    table.set_header(vec!["ENTITY", "NAME", "VALUE", "SOURCE", "SENSITIVE"]);
    for name in names {
        // Without --all only the entity's own dynamic configs are shown.
        let wanted = match (topics, name.is_empty()) {
            _ if a.all => None,
            _ if groups => Some(8),
            _ if subscriptions => Some(7),
            (true, _) => Some(1),
            (false, false) => Some(2),
            (false, true) => Some(3),
        };
        let mut configs = admin.describe_configs(resource, &name).await.map_err(|e| match e.code() {
            Some(c) if c == E::UnknownTopicOrPartition.code() => Failure::Invalid(e.to_string()),
            _ => Failure::from(e),
        })?;
        configs.retain(|c| wanted.is_none_or(|s| c.source == s));
        configs.sort_by(|x, y| x.name.cmp(&y.name));
        let header = if name.is_empty() {
            format!("Default configs for {entity_type} in the cluster are:")
        } else {
            format!("{} configs for {} {name} are:", if a.all { "All" } else { "Dynamic" }, singular(entity_type))
        };
        match a.output {
            Output::Text => {
                println!("{header}");
                for c in &configs {
                    let synonyms: Vec<String> = c
                        .synonyms
                        .iter()
                        .map(|(n, v, s)| format!("{}:{n}={}", source_name(*s), v.as_deref().unwrap_or("null")))
                        .collect();
                    println!(
                        "  {}={} sensitive={} synonyms={{{}}}",
                        c.name,
                        c.value.as_deref().unwrap_or("null"),
                        c.sensitive,
                        synonyms.join(", ")
                    );
                }
            }
            Output::Json => json_out.push(json!({
                "entity_type": entity_type,
                "entity_name": name,
                "configs": configs.iter().map(|c| json!({
                    "name": c.name,
                    "value": c.value,
                    "source": source_name(c.source),
                    "sensitive": c.sensitive,
                    "read_only": c.read_only,
                    "synonyms": c.synonyms.iter().map(|(n, v, s)| json!({"name": n, "value": v, "source": source_name(*s)})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })),
            Output::Table => {
                let entity = if name.is_empty() { "<default>".to_string() } else { name.clone() };
                for c in &configs {
                    let value = c.value.clone().unwrap_or_else(|| "null".into());
                    table.add_row(vec![entity.clone(), c.name.clone(), value, source_name(c.source).to_string(), c.sensitive.to_string()]);
                }
            }
        }
    }
    match a.output {
        Output::Json => println!("{}", Value::Array(json_out)),
        Output::Table => println!("{table}"),
        Output::Text => {}
    }
    Ok(())
}

/// The quota entity type of a kafka-configs entity type.
pub(super) fn quota_type(t: &str) -> &'static str {
    match t {
        "users" => "user",
        "clients" => "client-id",
        _ => "ip",
    }
}

/// getAllClientQuotasConfigs: a strict filter of the given types, each by name, default
/// ("") or any (no name given).
pub(super) async fn quotas(admin: &Admin, e: &Entities) -> Result<Vec<(QuotaEntity, Vec<(String, f64)>)>, Failure> {
    if e.names.len() > e.types.len() {
        return Err(Failure::Usage("More entity names specified than entity types".into()));
    }
    let components: Vec<(String, QuotaMatch)> = e
        .types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let m = match e.names.get(i) {
                Some(n) if n.is_empty() => QuotaMatch::Default,
                Some(n) => QuotaMatch::Exact(n.clone()),
                None => QuotaMatch::Any,
            };
            (quota_type(t).to_string(), m)
        })
        .collect();
    let mut out = admin.describe_client_quotas(&components, true).await?;
    for (_, values) in &mut out {
        values.sort_by(|x, y| x.0.cmp(&y.0));
    }
    Ok(out)
}

/// "user-principal 'alice', client-id 'app'" / "the default user-principal".
fn entity_text(entity: &QuotaEntity) -> String {
    let mut parts = Vec::new();
    for (t, label) in [("user", "user-principal"), ("client-id", "client-id"), ("ip", "ip")] {
        if let Some((_, name)) = entity.iter().find(|(et, _)| et == t) {
            parts.push(match name {
                Some(n) => format!("{label} '{n}'"),
                None => format!("the default {label}"),
            });
        }
    }
    parts.join(", ")
}

/// Per user: its credentials (mechanism name, iterations) or the error text.
type ScramDescription = Vec<(String, Result<Vec<(String, i32)>, String>)>;

async fn scram(admin: &Admin, users: &[String]) -> Result<ScramDescription, Failure> {
    let asked = (!users.is_empty()).then_some(users);
    let described = admin.describe_user_scram(asked).await?;
    Ok(described
        .into_iter()
        // Users without credentials are left out (DescribeUserScramCredentialsResult.users).
        .filter(|(_, r)| !matches!(r, Err(e) if e.code() == Some(E::ResourceNotFound.code())))
        .map(|(user, r)| {
            let r = r.map(|v| v.into_iter().map(|(m, i)| (m.name().to_string(), i)).collect()).map_err(|e| {
                let class = e.code().and_then(kafka_protocol::error::ResponseError::try_from_code).map(|c| format!("{c:?}Exception"));
                format!("{}: {e}", class.unwrap_or_else(|| "KafkaException".into()))
            });
            (user, r)
        })
        .collect())
}

fn print_quotas(output: Output, quotas: &[(QuotaEntity, Vec<(String, f64)>)], scram: Option<&ScramDescription>) {
    let scram = scram.map(|s| s.as_slice()).unwrap_or_default();
    match output {
        Output::Text => {
            for (entity, values) in quotas {
                let v: Vec<String> = values.iter().map(|(k, v)| format!("{k}={}", java_double(*v))).collect();
                println!("Quota configs for {} are {}", entity_text(entity), v.join(", "));
            }
            for (user, r) in scram {
                match r {
                    Ok(creds) => {
                        let c: Vec<String> = creds.iter().map(|(m, i)| format!("{m}=iterations={i}")).collect();
                        println!("SCRAM credential configs for user-principal '{user}' are {}", c.join(", "));
                    }
                    Err(e) => println!("Error retrieving SCRAM credential configs for user-principal '{user}': {e}"),
                }
            }
        }
        Output::Json => {
            let q: Vec<Value> = quotas
                .iter()
                .map(|(entity, values)| {
                    let ent: serde_json::Map<String, Value> = entity.iter().map(|(t, n)| (t.clone(), json!(n))).collect();
                    let vals: serde_json::Map<String, Value> = values.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                    json!({"entity": ent, "values": vals})
                })
                .collect();
            let s: Vec<Value> = scram
                .iter()
                .map(|(user, r)| match r {
                    Ok(c) => json!({"user": user, "credentials": c.iter().map(|(m, i)| json!({"mechanism": m, "iterations": i})).collect::<Vec<_>>()}),
                    Err(e) => json!({"user": user, "error": e}),
                })
                .collect();
            println!("{}", json!({"quotas": q, "scram_credentials": s}));
        }
        Output::Table => {
            let mut t = Table::new();
            t.set_header(vec!["ENTITY", "KEY", "VALUE"]);
            for (entity, values) in quotas {
                for (k, v) in values {
                    t.add_row(vec![entity_text(entity), k.clone(), java_double(*v)]);
                }
            }
            for (user, r) in scram {
                for (m, i) in r.as_ref().map(|c| c.as_slice()).unwrap_or_default() {
                    t.add_row(vec![format!("user-principal '{user}'"), m.clone(), format!("iterations={i}")]);
                }
            }
            println!("{t}");
        }
    }
}
