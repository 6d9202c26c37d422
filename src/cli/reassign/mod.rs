//! `rk reassign-partitions` (kafka-reassign-partitions.sh): --generate, --execute,
//! --verify, --cancel and --list with Kafka's flags, texts and quirks. This file owns the
//! flags, Kafka's action/argument validation (usage errors exit 2) and dispatch.

mod execute;
mod generate;
mod java_order;
mod json;
mod placement;
mod verify;

use super::common::{ClientArgs, usage_error};
use crate::client::Cluster;
use crate::client::admin::Admin;
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
pub struct ReassignArgs {
    /// Verify if the reassignment completed as specified by the --reassignment-json-file
    /// option. If there is a throttle engaged for the replicas specified, and the rebalance
    /// has completed, the throttle will be removed.
    #[arg(long)]
    pub verify: bool,
    /// Generate a candidate partition reassignment configuration. Note that this only
    /// generates a candidate assignment, it does not execute it.
    #[arg(long)]
    pub generate: bool,
    /// Kick off the reassignment as specified by the --reassignment-json-file option.
    #[arg(long)]
    pub execute: bool,
    /// Cancel an active reassignment.
    #[arg(long)]
    pub cancel: bool,
    /// List all active partition reassignments.
    #[arg(long)]
    pub list: bool,
    /// The server(s) to use for bootstrapping: host:port[,host:port]. Defaults to
    /// $RK_BROKERS, then localhost:9092.
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    /// The controller to use for reassignment (--cancel and --list only); rk sends the
    /// same Kafka-protocol requests to it.
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_controller: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long, value_name = "FILE")]
    pub command_config: Option<PathBuf>,
    /// An admin client property: key=value (repeatable; wins over --command-config).
    #[arg(long = "command-property", value_name = "KEY=VALUE")]
    pub command_properties: Vec<String>,
    /// The JSON file with the partition reassignment configuration:
    /// {"partitions":[{"topic":"foo","partition":1,"replicas":[1,2,3],"log_dirs":["dir1","dir2","dir3"]}],"version":1}.
    /// "log_dirs" is optional; when given it has one entry per replica, "any" or an
    /// absolute log directory path on that broker.
    #[arg(long, value_name = "FILE")]
    pub reassignment_json_file: Option<PathBuf>,
    /// Generate a reassignment configuration to move the partitions of the specified
    /// topics to the brokers of --broker-list: {"topics":[{"topic":"foo"},{"topic":"foo1"}],"version":1}.
    #[arg(long, value_name = "FILE")]
    pub topics_to_move_json_file: Option<PathBuf>,
    /// The brokers to which the partitions need to be reassigned, as "0,1,2" (with
    /// --topics-to-move-json-file).
    #[arg(long, value_name = "BROKERLIST")]
    pub broker_list: Option<String>,
    /// Disable rack aware replica assignment.
    #[arg(long)]
    pub disable_rack_aware: bool,
    /// Throttle the movement of partitions between brokers to this many bytes/sec (with
    /// --execute; resubmit with --additional to change it). Default: no throttle.
    #[arg(long, value_name = "B/S", allow_negative_numbers = true)]
    pub throttle: Option<i64>,
    /// Throttle the movement of replicas between log directories of a broker to this many
    /// bytes/sec. Default: no throttle.
    #[arg(long, value_name = "B/S", allow_negative_numbers = true)]
    pub replica_alter_log_dirs_throttle: Option<i64>,
    /// The maximum time in ms to wait for log directory replica assignment to begin.
    /// [default: 10000]
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub timeout: Option<i64>,
    /// Execute this reassignment in addition to any other ongoing ones (also used to
    /// change the throttle of an ongoing reassignment).
    #[arg(long)]
    pub additional: bool,
    /// Do not modify broker or topic throttles.
    #[arg(long)]
    pub preserve_throttles: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Generate,
    Execute,
    Verify,
    Cancel,
    List,
}

/// The options given, named as jopt prints them, in Kafka's declaration order.
fn given(a: &ReassignArgs) -> Vec<&'static str> {
    let flags = [
        (a.verify, "verify"),
        (a.generate, "generate"),
        (a.execute, "execute"),
        (a.cancel, "cancel"),
        (a.list, "list"),
        (a.bootstrap_server.is_some(), "bootstrap-server"),
        (a.command_config.is_some() || !a.command_properties.is_empty(), "command-config"),
        (a.reassignment_json_file.is_some(), "reassignment-json-file"),
        (a.topics_to_move_json_file.is_some(), "topics-to-move-json-file"),
        (a.broker_list.is_some(), "broker-list"),
        (a.bootstrap_controller.is_some(), "bootstrap-controller"),
        (a.disable_rack_aware, "disable-rack-aware"),
        (a.throttle.is_some(), "throttle"),
        (a.replica_alter_log_dirs_throttle.is_some(), "replica-alter-log-dirs-throttle"),
        (a.timeout.is_some(), "timeout"),
        (a.additional, "additional"),
        (a.preserve_throttles, "preserve-throttles"),
    ];
    flags.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect()
}

/// Kafka's `validateAndParseArgs`: exactly one action, one bootstrap kind, the action's
/// required arguments, and no argument the action does not take.
fn validate(a: &ReassignArgs) -> Result<Action, String> {
    let actions: Vec<Action> = [
        (a.generate, Action::Generate),
        (a.execute, Action::Execute),
        (a.verify, Action::Verify),
        (a.cancel, Action::Cancel),
        (a.list, Action::List),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, act)| *act)
    .collect();
    if actions.len() != 1 {
        return Err("Command must include exactly one action: --generate, --execute, --verify, --cancel, --list".into());
    }
    let action = actions[0];
    if a.bootstrap_server.is_some() && a.bootstrap_controller.is_some() {
        return Err("Please don't specify both --bootstrap-server and --bootstrap-controller".into());
    }
    let bootstrap = if a.bootstrap_controller.is_some() { "bootstrap-controller" } else { "bootstrap-server" };
    let (name, required, permitted): (&str, &[&str], Vec<&str>) = match action {
        Action::Verify => ("verify", &["reassignment-json-file"], vec!["bootstrap-server", "command-config", "preserve-throttles"]),
        Action::Generate => (
            "generate",
            &["topics-to-move-json-file", "broker-list"],
            vec!["bootstrap-server", "broker-list", "command-config", "disable-rack-aware"],
        ),
        Action::Execute => (
            "execute",
            &["reassignment-json-file"],
            vec!["additional", "bootstrap-server", "command-config", "throttle", "replica-alter-log-dirs-throttle", "timeout"],
        ),
        Action::Cancel => ("cancel", &["reassignment-json-file"], vec![bootstrap, "command-config", "preserve-throttles", "timeout"]),
        Action::List => ("list", &[], vec![bootstrap, "command-config"]),
    };
    let given = given(a);
    if let Some(missing) = required.iter().find(|r| !given.contains(r)) {
        return Err(format!("Missing required argument \"[{missing}]\""));
    }
    if let Some(bad) = given.iter().find(|g| **g != name && !required.contains(g) && !permitted.contains(g)) {
        return Err(format!("Option \"[{bad}]\" can't be used with action \"[{name}]\""));
    }
    Ok(action)
}

/// Writes to stdout now (a closed pipe ends the command quietly through main).
pub(crate) fn emit(s: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()
}

/// Kafka's `TerseException`: the message alone, exit code 1.
pub(crate) fn terse(msg: &str) -> anyhow::Result<i32> {
    eprintln!("{msg}");
    Ok(1)
}

/// `s` when `n` is not 1, as Kafka pluralizes.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn read_file(p: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{} ({e})", p.display()))
}

pub fn run(a: ReassignArgs) -> anyhow::Result<i32> {
    let action = match validate(&a) {
        Ok(act) => act,
        Err(msg) => return usage_error(&msg),
    };
    // Files are read before connecting, as Kafka's handleAction reads them first.
    let file = match action {
        Action::Generate => Some(read_file(a.topics_to_move_json_file.as_ref().expect("validated"))?),
        Action::List => None,
        _ => Some(read_file(a.reassignment_json_file.as_ref().expect("validated"))?),
    };
    let client = ClientArgs {
        bootstrap_server: a.bootstrap_server.clone().or_else(|| a.bootstrap_controller.clone()),
        command_config: a.command_config.clone(),
        command_properties: a.command_properties.clone(),
    };
    let cfg = client.config("reassign-partitions-tool")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let admin = Admin::new(cluster);
        let text = file.unwrap_or_default();
        match action {
            Action::Generate => generate::run(&admin, &text, a.broker_list.as_deref().unwrap_or(""), !a.disable_rack_aware).await,
            Action::Execute => {
                let opts = execute::ExecuteOpts {
                    additional: a.additional,
                    throttle: a.throttle.unwrap_or(-1),
                    log_dir_throttle: a.replica_alter_log_dirs_throttle.unwrap_or(-1),
                    timeout_ms: a.timeout.unwrap_or(10_000),
                };
                execute::run(&admin, &text, &opts).await
            }
            Action::Verify => verify::verify(&admin, &text, a.preserve_throttles).await,
            Action::Cancel => verify::cancel(&admin, &text, a.preserve_throttles, a.timeout.unwrap_or(10_000)).await,
            Action::List => verify::list(&admin).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut ReassignArgs)) -> Result<Action, String> {
        let mut a = ReassignArgs { bootstrap_server: Some("localhost:1234".into()), ..Default::default() };
        f(&mut a);
        validate(&a)
    }

    #[test]
    fn actions_and_arguments_are_checked_like_kafka() {
        let one = "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list";
        assert_eq!(args(|_| ()).unwrap_err(), one);
        assert_eq!(
            args(|a| {
                a.execute = true;
                a.verify = true;
            })
            .unwrap_err(),
            one
        );
        assert_eq!(args(|a| a.execute = true).unwrap_err(), "Missing required argument \"[reassignment-json-file]\"");
        assert_eq!(args(|a| a.generate = true).unwrap_err(), "Missing required argument \"[topics-to-move-json-file]\"");
        assert_eq!(
            args(|a| {
                a.generate = true;
                a.topics_to_move_json_file = Some("f".into());
            })
            .unwrap_err(),
            "Missing required argument \"[broker-list]\""
        );
        assert_eq!(
            args(|a| {
                a.generate = true;
                a.topics_to_move_json_file = Some("f".into());
                a.broker_list = Some("1,2".into());
                a.throttle = Some(100);
            })
            .unwrap_err(),
            "Option \"[throttle]\" can't be used with action \"[generate]\""
        );
        assert_eq!(
            args(|a| {
                a.verify = true;
                a.reassignment_json_file = Some("f".into());
                a.broker_list = Some("1".into());
            })
            .unwrap_err(),
            "Option \"[broker-list]\" can't be used with action \"[verify]\""
        );
        assert_eq!(
            args(|a| {
                a.list = true;
                a.bootstrap_controller = Some("c:1".into());
            })
            .unwrap_err(),
            "Please don't specify both --bootstrap-server and --bootstrap-controller"
        );
        assert_eq!(args(|a| a.list = true), Ok(Action::List));
    }

    #[test]
    fn bootstrap_controller_only_serves_cancel_and_list() {
        let ctl = |f: fn(&mut ReassignArgs)| {
            let mut a = ReassignArgs { bootstrap_controller: Some("c:1".into()), ..Default::default() };
            f(&mut a);
            validate(&a)
        };
        assert_eq!(
            ctl(|a| {
                a.cancel = true;
                a.reassignment_json_file = Some("f".into());
            }),
            Ok(Action::Cancel)
        );
        assert_eq!(
            ctl(|a| {
                a.generate = true;
                a.topics_to_move_json_file = Some("f".into());
                a.broker_list = Some("1".into());
            })
            .unwrap_err(),
            "Option \"[bootstrap-controller]\" can't be used with action \"[generate]\""
        );
        assert_eq!(
            ctl(|a| {
                a.execute = true;
                a.reassignment_json_file = Some("f".into());
            })
            .unwrap_err(),
            "Option \"[bootstrap-controller]\" can't be used with action \"[execute]\""
        );
    }
}
