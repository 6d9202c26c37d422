//! `rk transactions abort`: aborts an open (hanging) transaction on one partition, named
//! by its start offset (producer id, epoch and coordinator epoch are then looked up with
//! DescribeProducers) or by explicit ids for brokers older than 3.0. Prints nothing on
//! success, as Kafka does (`--output json` prints what was aborted).

use super::{fail, fail_plain, print_json};
use crate::cli::common::{OutputFormat, usage_error};
use crate::client::admin::Admin;
use crate::client::admin_txn::{AbortSpec, tp_string};
use clap::Args;
use serde_json::json;

#[derive(Args, Debug)]
pub struct AbortArgs {
    /// Topic name.
    #[arg(long)]
    pub topic: String,
    /// Partition number.
    #[arg(long)]
    pub partition: i32,
    /// Start offset of the transaction to abort.
    #[arg(long, value_name = "OFFSET", help_heading = "Brokers on versions 3.0 and above")]
    pub start_offset: Option<i64>,
    /// Producer id.
    #[arg(long, value_name = "ID", help_heading = "Brokers on versions older than 3.0")]
    pub producer_id: Option<i64>,
    /// Producer epoch.
    #[arg(long, value_name = "EPOCH", help_heading = "Brokers on versions older than 3.0")]
    pub producer_epoch: Option<i16>,
    /// Coordinator epoch (a negative value is sent as 0).
    #[arg(long, value_name = "EPOCH", allow_hyphen_values = true, help_heading = "Brokers on versions older than 3.0")]
    pub coordinator_epoch: Option<i32>,
}

/// The flag combinations Kafka refuses (exit code 2 here).
pub fn check(a: &AbortArgs) -> Option<i32> {
    let msg = if a.start_offset.is_none() && a.producer_id.is_none() {
        "The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)"
    } else if a.start_offset.is_none() && a.producer_epoch.is_none() {
        "Missing required argument --producer-epoch"
    } else if a.start_offset.is_none() && a.coordinator_epoch.is_none() {
        "Missing required argument --coordinator-epoch"
    } else {
        return None;
    };
    usage_error(msg).ok()
}

pub async fn run(admin: &Admin, a: &AbortArgs, out: OutputFormat) -> anyhow::Result<i32> {
    let tp = (a.topic.clone(), a.partition);
    let spec = match (a.start_offset, a.producer_id, a.producer_epoch, a.coordinator_epoch) {
        (Some(offset), ..) => {
            let mut results = admin.describe_producers(std::slice::from_ref(&tp), None).await;
            let producers = match results.remove(&tp) {
                Some(Ok(p)) => p,
                Some(Err(e)) => return fail(&format!("Failed to validate producer state for partition {}", tp_string(&tp)), &e),
                None => anyhow::bail!("no DescribeProducers result for {}", tp_string(&tp)),
            };
            let Some(p) = producers.iter().find(|p| p.current_txn_start_offset == Some(offset)) else {
                return fail_plain(&format!(
                    "Could not find any open transactions starting at offset {offset} on partition {}",
                    tp_string(&tp)
                ));
            };
            AbortSpec {
                partition: tp,
                producer_id: p.producer_id,
                // DescribeProducers carries the epoch as an int32; markers take an int16.
                producer_epoch: p.producer_epoch as i16,
                coordinator_epoch: p.coordinator_epoch.unwrap_or(0),
            }
        }
        (None, Some(producer_id), Some(producer_epoch), Some(coordinator_epoch)) => AbortSpec {
            partition: tp,
            producer_id,
            producer_epoch,
            // A transaction that hung before its producer's first marker shows -1: 0 is no
            // larger than any coordinator epoch the partition can have seen.
            coordinator_epoch: coordinator_epoch.max(0),
        },
        _ => return usage_error("The transaction to abort must be identified either with --start-offset or with all three ids"),
    };
    if let Err(e) = admin.abort_transaction(&spec).await {
        return fail(&format!("Failed to abort transaction {spec}"), &e);
    }
    if out == OutputFormat::Json {
        print_json(&json!({
            "aborted": {
                "topic": spec.partition.0,
                "partition": spec.partition.1,
                "producer_id": spec.producer_id,
                "producer_epoch": spec.producer_epoch,
                "coordinator_epoch": spec.coordinator_epoch,
            }
        }))?;
    }
    Ok(0)
}
