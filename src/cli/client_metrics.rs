//! `rk client-metrics` (kafka-client-metrics.sh, KIP-714): list, describe, alter and delete
//! client-metrics subscriptions — which metrics matching clients push and how often — with
//! ClientMetricsCommand's flags, checks and text; `--output json|table` for list/describe.

use super::common::{ClientArgs, usage_error};
use crate::client::Cluster;
use crate::client::admin::Admin;
use crate::client::admin_configs::RESOURCE_CLIENT_METRICS;
use anyhow::Context;
use clap::Args;
use serde_json::json;

pub use super::common::ListOutput as Output;

#[derive(Args, Debug)]
pub struct ClientMetricsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Alter the configuration for the client metrics resource.
    #[arg(long)]
    pub alter: bool,
    /// Delete the configuration for the client metrics resource.
    #[arg(long)]
    pub delete: bool,
    /// List configurations for the client metrics resource.
    #[arg(long)]
    pub describe: bool,
    /// List the client metrics resources.
    #[arg(long)]
    pub list: bool,
    /// Name of client metrics configuration resource.
    #[arg(long)]
    pub name: Option<String>,
    /// Generate a UUID to use as the name.
    #[arg(long)]
    pub generate_name: bool,
    /// The metrics push interval in milliseconds.
    #[arg(long, value_name = "PUSH INTERVAL", allow_hyphen_values = true)]
    pub interval: Option<i32>,
    /// Matching selector 'k1=v1,k2=v2' (regular expressions). Selectors: client_id,
    /// client_instance_id, client_software_name, client_software_version,
    /// client_source_address, client_source_port.
    #[arg(long = "match", value_name = "K1=V1,K2=V2", value_delimiter = ',')]
    pub match_: Option<Vec<String>>,
    /// Telemetry metric name prefixes 'm1,m2' ('*' for all).
    #[arg(long, value_name = "M1,M2", value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    /// Output format for --list and --describe.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// ClientMetricsCommandOptions.checkArgs: one action, and the options each allows.
fn check(a: &ClientMetricsArgs) -> Result<(), String> {
    if [a.alter, a.delete, a.describe, a.list].iter().filter(|x| **x).count() != 1 {
        return Err("Command must include exactly one action: --alter, --delete, --describe or --list.".into());
    }
    let alter_only = [
        ("generate-name", a.generate_name),
        ("interval", a.interval.is_some()),
        ("match", a.match_.is_some()),
        ("metrics", a.metrics.is_some()),
    ];
    let action = if a.delete {
        "delete"
    } else if a.describe {
        "describe"
    } else {
        "list"
    };
    if !a.alter {
        let mut bad: Vec<&str> = alter_only.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
        if a.list && a.name.is_some() {
            bad.insert(0, "name");
        }
        if let Some(first) = bad.first() {
            return Err(format!("Option \"[{action}]\" can't be used with option \"[{first}]\""));
        }
    }
    if a.alter && a.name.is_some() == a.generate_name {
        return Err("One of --name or --generate-name must be specified with --alter.".into());
    }
    if a.delete && a.name.is_none() {
        return Err("A client metrics resource name must be specified with --delete.".into());
    }
    Ok(())
}

pub fn run(a: ClientMetricsArgs) -> anyhow::Result<i32> {
    if let Err(m) = check(&a) {
        return usage_error(&m);
    }
    let cfg = a.client.config("rk-client-metrics")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let admin = Admin::new(cluster);
        match execute(&admin, &a).await {
            Ok(()) => Ok(0),
            Err(e) => {
                println!("Error while executing client metrics command : {e}");
                Ok(1)
            }
        }
    })
}

async fn execute(admin: &Admin, a: &ClientMetricsArgs) -> Result<(), crate::client::ClientError> {
    if a.alter {
        let name = match &a.name {
            Some(n) => n.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let mut set: Vec<(String, String)> = Vec::new();
        if let Some(i) = a.interval {
            set.push(("interval.ms".into(), i.to_string()));
        }
        if let Some(m) = &a.metrics {
            set.push(("metrics".into(), m.join(",")));
        }
        if let Some(m) = &a.match_ {
            set.push(("match".into(), m.join(",")));
        }
        // An empty value deletes the config, as ClientMetricsCommand sends it.
        let ops: Vec<(String, i8, Option<String>)> =
            set.into_iter().map(|(k, v)| if v.is_empty() { (k, 1, None) } else { (k, 0, Some(v)) }).collect();
        admin.alter_resource_configs(RESOURCE_CLIENT_METRICS, &name, &ops).await?;
        println!("Altered client metrics config for {name}.");
        return Ok(());
    }
    if a.delete {
        let name = a.name.clone().unwrap_or_default();
        let current = admin.describe_configs(RESOURCE_CLIENT_METRICS, &name).await?;
        let ops: Vec<(String, i8, Option<String>)> = current.into_iter().map(|c| (c.name, 1, None)).collect();
        admin.alter_resource_configs(RESOURCE_CLIENT_METRICS, &name, &ops).await?;
        println!("Deleted client metrics config for {name}.");
        return Ok(());
    }
    let names: Vec<String> = match (&a.name, a.describe) {
        (Some(n), true) => vec![n.clone()],
        _ => admin.client_metrics_names().await?,
    };
    if a.list {
        match a.output {
            Output::Text => println!("{}", names.join("\n")),
            Output::Json => println!("{}", json!(names)),
            Output::Table => {
                let mut t = comfy_table::Table::new();
                t.set_header(vec!["NAME"]);
                names.iter().for_each(|n| {
                    t.add_row(vec![n.clone()]);
                });
                println!("{t}");
            }
        }
        return Ok(());
    }
    let mut described = Vec::new();
    for n in names {
        let configs = admin.describe_configs(RESOURCE_CLIENT_METRICS, &n).await?;
        described.push((n, configs.into_iter().map(|c| (c.name, c.value.unwrap_or_default())).collect::<Vec<_>>()));
    }
    match a.output {
        Output::Text => {
            for (n, configs) in &described {
                println!("Client metrics configs for {n} are:");
                for (k, v) in configs {
                    println!("  {k}={v}");
                }
            }
        }
        Output::Json => {
            let v: Vec<_> = described
                .iter()
                .map(
                    |(n, c)| json!({"name": n, "configs": c.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>()}),
                )
                .collect();
            println!("{}", serde_json::Value::Array(v));
        }
        Output::Table => {
            let mut t = comfy_table::Table::new();
            t.set_header(vec!["NAME", "METRICS", "INTERVAL.MS", "MATCH"]);
            for (n, c) in &described {
                let get = |k: &str| c.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone()).unwrap_or_default();
                t.add_row(vec![n.clone(), get("metrics"), get("interval.ms"), get("match")]);
            }
            println!("{t}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        a: ClientMetricsArgs,
    }

    fn checked(args: &[&str]) -> Result<(), String> {
        let cli = Cli::try_parse_from(std::iter::once("rk").chain(args.iter().copied())).map_err(|e| e.to_string())?;
        check(&cli.a)
    }

    #[test]
    fn argument_checks_follow_client_metrics_command() {
        assert!(checked(&["--list", "--describe"]).unwrap_err().contains("exactly one action"));
        assert!(checked(&["--alter", "--metrics", "x"]).unwrap_err().contains("One of --name or --generate-name"));
        assert!(checked(&["--alter", "--name", "a", "--generate-name"]).unwrap_err().contains("One of --name"));
        assert!(checked(&["--delete"]).unwrap_err().contains("name must be specified with --delete"));
        assert!(
            checked(&["--describe", "--interval", "5"]).unwrap_err().contains("\"[describe]\" can't be used with option \"[interval]\"")
        );
        assert!(checked(&["--list", "--name", "a"]).unwrap_err().contains("[name]"));
        checked(&["--alter", "--generate-name", "--metrics", "a,b", "--match", "client_id=x,client_software_name=y"]).unwrap();
        checked(&["--describe", "--name", "a"]).unwrap();
    }
}
