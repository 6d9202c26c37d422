//! `--generate`: the current assignment of the topics to move and a proposal over
//! `--broker-list`, placed as Kafka's `AdminUtils.assignReplicasToBrokers` places them.

use super::java_order::{duplicates, hash_set_order, java_set_string};
use super::placement::{BrokerMetadata, assign_replicas_to_brokers};
use super::{emit, json};
use crate::client::admin::Admin;
use crate::client::admin_reassign::BrokerNode;
use crate::client::admin_txn::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// Kafka's `parseGenerateAssignmentArgs`: the broker list and the topics, without
/// duplicates.
pub fn parse_args(topics_json: &str, broker_list: &str) -> anyhow::Result<(Vec<i32>, Vec<String>)> {
    let mut brokers = Vec::new();
    // Java's String.split drops trailing empty strings.
    let mut items: Vec<&str> = broker_list.split(',').collect();
    while items.len() > 1 && items.last() == Some(&"") {
        items.pop();
    }
    for s in items {
        brokers.push(s.parse::<i32>().map_err(|_| anyhow::anyhow!("For input string: \"{s}\""))?);
    }
    let dups = duplicates(&brokers);
    if !dups.is_empty() {
        anyhow::bail!("Broker list contains duplicate entries: {}", java_set_string(&dups));
    }
    let topics = json::parse_topics(topics_json).map_err(anyhow::Error::msg)?;
    let dups = duplicates(&topics);
    if !dups.is_empty() {
        anyhow::bail!("List of topics to reassign contains duplicate entries: {}", java_set_string(&dups));
    }
    Ok((brokers, topics))
}

/// Kafka's `getBrokerMetadata`: the cluster's brokers that are in the list, in the
/// cluster's order, with racks only when rack awareness is on (all or none must have one).
pub fn broker_metadata(nodes: &[BrokerNode], brokers: &[i32], rack_aware: bool) -> anyhow::Result<Vec<BrokerMetadata>> {
    let out: Vec<BrokerMetadata> = nodes
        .iter()
        .filter(|n| brokers.contains(&n.id))
        .map(|n| BrokerMetadata { id: n.id, rack: if rack_aware { n.rack.clone() } else { None } })
        .collect();
    let rackless = out.iter().filter(|b| b.rack.is_none()).count();
    if rack_aware && rackless != 0 && rackless != out.len() {
        anyhow::bail!(
            "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information."
        );
    }
    Ok(out)
}

/// Kafka's `calculateAssignment`: per topic, as many partitions as it has, with the
/// replication factor of its first partition in Java's HashMap order.
pub fn calculate(
    current: &BTreeMap<TopicPartition, Vec<i32>>,
    brokers: &[BrokerMetadata],
    rand_below: &mut dyn FnMut(usize) -> usize,
) -> anyhow::Result<BTreeMap<TopicPartition, Vec<i32>>> {
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for tp in hash_set_order(current.keys().cloned()) {
        let (t, _) = current.get_key_value(&tp).expect("a key of current").0;
        first.entry(t.as_str()).or_insert(current[&tp].len());
        *count.entry(t.as_str()).or_default() += 1;
    }
    let mut out = BTreeMap::new();
    for (topic, n) in count {
        let assigned = assign_replicas_to_brokers(brokers, n, first[topic], None, rand_below)?;
        for (p, replicas) in assigned {
            out.insert((topic.to_string(), p), replicas);
        }
    }
    Ok(out)
}

pub async fn run(admin: &Admin, topics_json: &str, broker_list: &str, rack_aware: bool) -> anyhow::Result<i32> {
    let (brokers, topics) = parse_args(topics_json, broker_list)?;
    let topics: BTreeSet<String> = topics.into_iter().collect();
    let current = admin.replica_assignment(&hash_set_order(topics)).await.map_err(anyhow::Error::msg)?;
    let nodes = admin.describe_cluster_nodes().await?;
    let metadata = broker_metadata(&nodes, &brokers, rack_aware)?;
    let mut rng = rand::rng();
    let proposed = calculate(&current, &metadata, &mut |n| rand::Rng::random_range(&mut rng, 0..n))?;
    let none = BTreeMap::new();
    emit(&format!(
        "Current partition replica assignment\n{}\n\nProposed partition reassignment configuration\n{}\n",
        json::format_reassignment(&current, &none),
        json::format_reassignment(&proposed, &none)
    ))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_args_are_checked_like_kafka() {
        let t = "{\"topics\": [{\"topic\": \"foo\"}], \"version\":1}";
        assert_eq!(parse_args(t, "1,1,2").unwrap_err().to_string(), "Broker list contains duplicate entries: [1]");
        assert_eq!(parse_args(t, "5,2,3,4,5").unwrap_err().to_string(), "Broker list contains duplicate entries: [5]");
        assert_eq!(parse_args(t, "5,2,3,4").unwrap(), (vec![5, 2, 3, 4], vec!["foo".to_string()]));
        assert_eq!(parse_args(t, "5,2,").unwrap().0, vec![5, 2]);
        assert_eq!(parse_args(t, "1,x").unwrap_err().to_string(), "For input string: \"x\"");
        let two = "{\"topics\": [{\"topic\": \"foo\"},{\"topic\": \"foo\"}], \"version\":1}";
        assert_eq!(parse_args(two, "5,2,3,4").unwrap_err().to_string(), "List of topics to reassign contains duplicate entries: [foo]");
    }

    #[test]
    fn rack_information_must_be_complete() {
        let nodes = vec![
            BrokerNode { id: 0, rack: Some("rack0".into()) },
            BrokerNode { id: 1, rack: Some("rack1".into()) },
            BrokerNode { id: 2, rack: None },
        ];
        let m = broker_metadata(&nodes, &[0, 1], true).unwrap();
        assert_eq!(m, vec![BrokerMetadata { id: 0, rack: Some("rack0".into()) }, BrokerMetadata { id: 1, rack: Some("rack1".into()) }]);
        assert!(broker_metadata(&nodes, &[0, 1], false).unwrap().iter().all(|b| b.rack.is_none()));
        let e = broker_metadata(&nodes, &[1, 2], true).unwrap_err().to_string();
        assert!(e.starts_with("Not all brokers have rack information."), "{e}");
        // Unknown brokers are left out, so the placement sees fewer brokers.
        assert_eq!(broker_metadata(&nodes, &[2, 9], true).unwrap().len(), 1);
    }

    #[test]
    fn proposals_keep_partition_counts_and_replication_factors() {
        let current: BTreeMap<TopicPartition, Vec<i32>> =
            [(("foo".into(), 0), vec![0, 1, 2]), (("foo".into(), 1), vec![1, 2, 3]), (("bar".into(), 0), vec![2, 3])].into_iter().collect();
        let brokers: Vec<BrokerMetadata> = [0, 1, 3].iter().map(|id| BrokerMetadata { id: *id, rack: None }).collect();
        let p = calculate(&current, &brokers, &mut |_| 0).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[&("foo".to_string(), 0)], vec![0, 1, 3]);
        assert_eq!(p[&("foo".to_string(), 1)], vec![1, 3, 0]);
        assert_eq!(p[&("bar".to_string(), 0)], vec![0, 1]);
        let e = calculate(&current, &brokers[..2], &mut |_| 0).unwrap_err().to_string();
        assert_eq!(e, "Replication factor: 3 larger than available brokers: 2.");
    }
}
