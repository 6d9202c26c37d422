//! `rk configs` (kafka-configs.sh): describe and alter the configs of topics and brokers,
//! the client quotas of users, clients and IPs, and users' SCRAM credentials, with
//! ConfigCommand's flags, checks and output text; `--output json|table` for scripts.

mod alter;
mod describe;

use super::common::{ClientArgs, usage_error};
use crate::client::Cluster;
use crate::client::admin::Admin;
use anyhow::Context;
use clap::{ArgAction, Args};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ConfigsArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    /// List configs for the given entity.
    #[arg(long)]
    pub describe: bool,
    /// Alter the configuration for the entity.
    #[arg(long)]
    pub alter: bool,
    /// List all configs for the given entity, including static and default ones.
    #[arg(long)]
    pub all: bool,
    /// Type of entity: topics, brokers, users, clients, ips, groups or client-metrics
    /// (repeatable: users and clients).
    #[arg(long = "entity-type", value_name = "TYPE")]
    pub entity_type: Vec<String>,
    /// Name of entity: topic name, broker id, user principal name, client id, ip, group id or
    /// client-metrics subscription.
    #[arg(long = "entity-name", value_name = "NAME")]
    pub entity_name: Vec<String>,
    /// Default entity for clients, users, brokers or ips (applies to the matching --entity-type).
    #[arg(long = "entity-default", action = ArgAction::Count)]
    pub entity_default: u8,
    /// Configs to add: 'k1=v1,k2=[v1,v2,v2],k3=v3' (square brackets group values with commas).
    /// Users also take SCRAM-SHA-256=[iterations=8192,password=secret] and SCRAM-SHA-512=[password=secret].
    #[arg(long = "add-config", value_name = "K=V,...")]
    pub add_config: Option<String>,
    /// A properties file with configs to add.
    #[arg(long = "add-config-file", value_name = "FILE")]
    pub add_config_file: Option<PathBuf>,
    /// Config keys to remove: 'k1,k2'.
    #[arg(long = "delete-config", value_name = "K,...", value_delimiter = ',')]
    pub delete_config: Vec<String>,
    /// The topic's name.
    #[arg(long)]
    pub topic: Option<String>,
    /// The client's id.
    #[arg(long)]
    pub client: Option<String>,
    /// The config defaults for all clients.
    #[arg(long)]
    pub client_defaults: bool,
    /// The user's principal name.
    #[arg(long)]
    pub user: Option<String>,
    /// The config defaults for all users.
    #[arg(long)]
    pub user_defaults: bool,
    /// The broker's id.
    #[arg(long)]
    pub broker: Option<String>,
    /// The config defaults for all brokers.
    #[arg(long)]
    pub broker_defaults: bool,
    /// The IP address.
    #[arg(long)]
    pub ip: Option<String>,
    /// The config defaults for all IPs.
    #[arg(long)]
    pub ip_defaults: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

pub use super::common::ListOutput as Output;

/// Entity types served over --bootstrap-server.
const ENTITY_TYPES: &[&str] = &["topics", "clients", "users", "brokers", "ips", "client-metrics", "groups"];

/// The resolved entity: types and their names ("" = the default entity), paired in order.
#[derive(Debug, Clone)]
pub struct Entities {
    pub types: Vec<String>,
    pub names: Vec<String>,
}

impl ConfigsArgs {
    /// ConfigCommandOptions.entityTypes: --entity-type values, then the shorthand flags.
    fn entity_types(&self) -> Vec<String> {
        let mut out = self.entity_type.clone();
        let flags = [
            (self.topic.is_some(), "topics"),
            (self.client.is_some(), "clients"),
            (self.user.is_some(), "users"),
            (self.broker.is_some(), "brokers"),
            (self.ip.is_some(), "ips"),
            (self.client_defaults, "clients"),
            (self.user_defaults, "users"),
            (self.broker_defaults, "brokers"),
            (self.ip_defaults, "ips"),
        ];
        out.extend(flags.iter().filter(|(on, _)| *on).map(|(_, t)| t.to_string()));
        out
    }

    /// ConfigCommandOptions.entityNames: --entity-name / --entity-default in command-line
    /// order, then the shorthand names, then "" per defaults flag.
    fn entity_names(&self, argv: &[String]) -> Vec<String> {
        let mut order: Vec<bool> = argv
            .iter()
            .filter_map(|a| {
                if a == "--entity-name" || a.starts_with("--entity-name=") {
                    Some(true)
                } else if a == "--entity-default" {
                    Some(false)
                } else {
                    None
                }
            })
            .collect();
        let defaults = self.entity_default as usize;
        if order.iter().filter(|n| **n).count() != self.entity_name.len() || order.len() - self.entity_name.len() != defaults {
            // Not invoked from a command line (tests): names first.
            order = std::iter::repeat_n(true, self.entity_name.len()).chain(std::iter::repeat_n(false, defaults)).collect();
        }
        let mut names = self.entity_name.iter();
        let mut out: Vec<String> =
            order.into_iter().map(|is_name| if is_name { names.next().cloned().unwrap_or_default() } else { String::new() }).collect();
        for v in [&self.topic, &self.client, &self.user, &self.broker, &self.ip].into_iter().flatten() {
            out.push(v.clone());
        }
        for on in [self.client_defaults, self.user_defaults, self.broker_defaults, self.ip_defaults] {
            if on {
                out.push(String::new());
            }
        }
        out
    }

    fn uses_entity_flags(&self) -> bool {
        self.topic.is_some()
            || self.client.is_some()
            || self.user.is_some()
            || self.broker.is_some()
            || self.ip.is_some()
            || self.client_defaults
            || self.user_defaults
            || self.broker_defaults
            || self.ip_defaults
    }

    /// ConfigCommandOptions.checkArgs, with Kafka's messages.
    fn check(&self, argv: &[String]) -> Result<Entities, String> {
        if usize::from(self.alter) + usize::from(self.describe) != 1 {
            return Err("Command must include exactly one action: --describe, --alter".into());
        }
        if self.describe && (self.add_config.is_some() || self.add_config_file.is_some() || !self.delete_config.is_empty()) {
            return Err("Option \"[describe]\" can't be used with option \"[add-config, add-config-file, delete-config]\"".into());
        }
        let types = self.entity_types();
        let mut distinct = types.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() != types.len() {
            let mut dups = types.clone();
            for d in &distinct {
                if let Some(i) = dups.iter().position(|x| x == d) {
                    dups.remove(i);
                }
            }
            return Err(format!("Duplicate entity type(s) specified: {}", dups.join(",")));
        }
        if let Some(t) = types.iter().find(|t| !ENTITY_TYPES.contains(&t.as_str())) {
            return Err(format!(
                "Invalid entity type {t}, the entity type must be one of {} with a --bootstrap-server argument",
                ENTITY_TYPES.join(", ")
            ));
        }
        if types.is_empty() {
            return Err("At least one entity type must be specified".into());
        }
        if types.len() > 1 && distinct != ["clients", "users"] {
            return Err("Only 'users' and 'clients' entity types may be specified together".into());
        }
        if (!self.entity_name.is_empty() || !self.entity_type.is_empty() || self.entity_default > 0) && self.uses_entity_flags() {
            return Err("--entity-{type,name,default} should not be used in conjunction with specific entity flags".into());
        }
        let names = self.entity_names(argv);
        let has_name = names.iter().any(|n| !n.is_empty());
        let has_default = names.iter().any(|n| n.is_empty());
        if has_name && types.iter().any(|t| t == "brokers") {
            for id in self.entity_name.iter().chain(self.broker.iter()) {
                if id.parse::<i32>().is_err() {
                    return Err(format!("The entity name for {} must be a valid integer broker id, but it is: {id}", types[0]));
                }
            }
        }
        if has_name && types.iter().any(|t| t == "ips") {
            for ip in self.entity_name.iter().chain(self.ip.iter()) {
                if !valid_ip_entity(ip) {
                    return Err(format!("The entity name for {} must be a valid IP or resolvable host, but it is: {ip}", types[0]));
                }
            }
        }
        if self.describe && self.entity_default > 0 && !types.iter().any(|t| ["users", "clients", "brokers", "ips"].contains(&t.as_str())) {
            return Err(format!("--entity-default must not be specified with --describe of {}", types.join(",")));
        }
        if self.alter {
            if types.iter().any(|t| ["users", "clients", "brokers", "ips"].contains(&t.as_str())) {
                if !has_name && !has_default {
                    return Err("An entity-name or default entity must be specified with --alter of users, clients, brokers or ips".into());
                }
            } else if !has_name {
                return Err(format!("An entity name must be specified with --alter of {}", types.join(",")));
            }
            if self.add_config.is_some() && self.add_config_file.is_some() {
                return Err("Only one of --add-config or --add-config-file must be specified".into());
            }
            if self.add_config.is_none() && self.add_config_file.is_none() && self.delete_config.is_empty() {
                return Err("At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter".into());
            }
            if types.len() != names.len() {
                return Err("An entity name must be specified for every entity type".into());
            }
        }
        Ok(Entities { types, names })
    }
}

fn valid_ip_entity(ip: &str) -> bool {
    use std::net::ToSocketAddrs;
    ip.parse::<std::net::IpAddr>().is_ok() || (ip, 0).to_socket_addrs().is_ok_and(|mut a| a.next().is_some())
}

/// A Java `Double.toString`: 1024.0, 12.5, 1.0E7, 1.0E-4 (kafka-configs prints quotas so).
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{v:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') { m.to_string() } else { format!("{m}.0") };
        format!("{m}E{e}")
    }
}

/// Splits --add-config like ConfigCommand: by commas outside square brackets, each pair at
/// its '=' outside brackets; brackets are then dropped from the value.
pub fn parse_add_config(s: &str) -> Result<Vec<(String, String)>, String> {
    fn split_outside(s: &str, sep: char) -> Vec<String> {
        let (mut depth, mut cur, mut out) = (0i32, String::new(), Vec::new());
        for c in s.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            if c == sep && depth <= 0 {
                out.push(std::mem::take(&mut cur));
            } else {
                cur.push(c);
            }
        }
        out.push(cur);
        out
    }
    let mut pairs = Vec::new();
    for item in split_outside(s, ',') {
        let kv = split_outside(&item, '=');
        if kv.len() != 2 {
            return Err("Invalid entity config: all configs to be added must be in the format \"key=val\".".into());
        }
        let key = kv[0].trim().to_string();
        let value = kv[1].replace(['[', ']'], "").trim().to_string();
        pairs.push((key, value));
    }
    check_keys(&pairs)?;
    Ok(pairs)
}

fn check_keys(pairs: &[(String, String)]) -> Result<(), String> {
    for (k, _) in pairs {
        if !k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err(format!("Invalid character found for config key: {k}"));
        }
    }
    Ok(())
}

/// Why a command failed: a usage error (exit 2), a refused input (Kafka's
/// InvalidConfigurationException: the message, exit 1) or a failed request (exit 1).
pub(crate) enum Failure {
    Usage(String),
    Invalid(String),
    Error(String),
}

impl From<crate::client::ClientError> for Failure {
    fn from(e: crate::client::ClientError) -> Failure {
        Failure::Error(e.to_string())
    }
}

pub fn run(a: ConfigsArgs) -> anyhow::Result<i32> {
    let argv: Vec<String> = std::env::args().collect();
    let entities = match a.check(&argv) {
        Ok(e) => e,
        Err(m) => return usage_error(&m),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cfg = a.conn.config("rk-configs")?;
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let admin = Admin::new(cluster);
        let result = if a.alter { alter::run(&admin, &a, &entities).await } else { describe::run(&admin, &a, &entities).await };
        match result {
            Ok(()) => Ok(0),
            Err(Failure::Usage(m)) => usage_error(&m),
            Err(Failure::Invalid(m)) => {
                eprintln!("{m}");
                Ok(1)
            }
            Err(Failure::Error(m)) => {
                eprintln!(
                    "Error while executing config command with args '{}'",
                    argv.iter().skip(1).cloned().collect::<Vec<_>>().join(" ")
                );
                eprintln!("{m}");
                Ok(1)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_config_is_split_outside_brackets() {
        let p = parse_add_config("a=1, b = [x,y],SCRAM-SHA-256=[iterations=8192,password=s=cret]").unwrap();
        assert_eq!(
            p,
            vec![("a".into(), "1".into()), ("b".into(), "x,y".into()), ("SCRAM-SHA-256".into(), "iterations=8192,password=s=cret".into())]
        );
        assert!(parse_add_config("a=1=2").is_err());
        assert!(parse_add_config("a b=1").is_err());
    }

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(java_double(1024.0), "1024.0");
        assert_eq!(java_double(12.5), "12.5");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(12345678.0), "1.2345678E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
    }
}
