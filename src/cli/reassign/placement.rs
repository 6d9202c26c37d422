//! Kafka's `AdminUtils.assignReplicasToBrokers`, which `--generate` uses (not the
//! controller's striped placer): round-robin first replicas from a random start, followers
//! at an increasing shift; rack-aware over a rack-alternated broker list when every broker
//! has a rack.

use std::collections::{BTreeMap, BTreeSet};

/// A broker id and its rack (None when unknown or rack awareness is off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerMetadata {
    pub id: i32,
    pub rack: Option<String>,
}

/// Kafka's `InvalidReplicationFactorException` / `InvalidPartitionsException` texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("Number of partitions must be larger than 0.")]
    Partitions,
    #[error("Replication factor must be larger than 0.")]
    ReplicationFactor,
    #[error("Replication factor: {0} larger than available brokers: {1}.")]
    TooFewBrokers(usize, usize),
}

/// Partition id → replicas for `n_partitions` partitions of `rf` replicas. `fixed_start`
/// (≥ 0) replaces both random numbers (the start index and the follower shift), as Kafka's
/// `fixedStartIndex` does; `rand_below(n)` draws one in [0, n) otherwise.
pub fn assign_replicas_to_brokers(
    brokers: &[BrokerMetadata],
    n_partitions: usize,
    rf: usize,
    fixed_start: Option<usize>,
    rand_below: &mut dyn FnMut(usize) -> usize,
) -> Result<BTreeMap<i32, Vec<i32>>, PlacementError> {
    if n_partitions == 0 {
        return Err(PlacementError::Partitions);
    }
    if rf == 0 {
        return Err(PlacementError::ReplicationFactor);
    }
    if rf > brokers.len() {
        return Err(PlacementError::TooFewBrokers(rf, brokers.len()));
    }
    if brokers.iter().all(|b| b.rack.is_none()) {
        let ids: Vec<i32> = brokers.iter().map(|b| b.id).collect();
        Ok(rack_unaware(n_partitions, rf, &ids, fixed_start, rand_below))
    } else {
        Ok(rack_aware(n_partitions, rf, brokers, fixed_start, rand_below))
    }
}

fn replica_index(first: usize, shift: usize, j: usize, n: usize) -> usize {
    let s = 1 + (shift + j) % (n - 1);
    (first + s) % n
}

fn rack_unaware(
    n_partitions: usize,
    rf: usize,
    ids: &[i32],
    fixed: Option<usize>,
    rand_below: &mut dyn FnMut(usize) -> usize,
) -> BTreeMap<i32, Vec<i32>> {
    let n = ids.len();
    let start = fixed.unwrap_or_else(|| rand_below(n));
    let mut shift = fixed.unwrap_or_else(|| rand_below(n));
    let mut out = BTreeMap::new();
    for p in 0..n_partitions {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let mut replicas = vec![ids[first]];
        replicas.extend((0..rf - 1).map(|j| ids[replica_index(first, shift, j, n)]));
        out.insert(p as i32, replicas);
    }
    out
}

/// Kafka's `getRackAlternatedBrokerList`: racks sorted, brokers sorted within a rack, one
/// broker from each rack in turn.
pub fn rack_alternated_broker_list(rack_of: &BTreeMap<i32, String>) -> Vec<i32> {
    let mut by_rack: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (id, rack) in rack_of {
        by_rack.entry(rack).or_default().push(*id);
    }
    let mut iters: Vec<std::vec::IntoIter<i32>> = by_rack.into_values().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(rack_of.len());
    let mut i = 0;
    while out.len() < rack_of.len() {
        if let Some(b) = iters[i].next() {
            out.push(b);
        }
        i = (i + 1) % iters.len();
    }
    out
}

fn rack_aware(
    n_partitions: usize,
    rf: usize,
    brokers: &[BrokerMetadata],
    fixed: Option<usize>,
    rand_below: &mut dyn FnMut(usize) -> usize,
) -> BTreeMap<i32, Vec<i32>> {
    let rack_of: BTreeMap<i32, String> = brokers.iter().map(|b| (b.id, b.rack.clone().unwrap_or_default())).collect();
    let num_racks = rack_of.values().collect::<BTreeSet<_>>().len();
    let list = rack_alternated_broker_list(&rack_of);
    let n = list.len();
    let start = fixed.unwrap_or_else(|| rand_below(n));
    let mut shift = fixed.unwrap_or_else(|| rand_below(n));
    let mut out = BTreeMap::new();
    for p in 0..n_partitions {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let leader = list[first];
        let mut replicas = vec![leader];
        let mut racks: BTreeSet<&str> = BTreeSet::from([rack_of[&leader].as_str()]);
        let mut used: BTreeSet<i32> = BTreeSet::from([leader]);
        let mut k = 0;
        for _ in 0..rf - 1 {
            loop {
                let b = list[replica_index(first, shift * num_racks, k, n)];
                let rack = rack_of[&b].as_str();
                k += 1;
                // Skip a broker whose rack already has a replica while some rack has none,
                // or that already has one while some broker has none.
                if (!racks.contains(rack) || racks.len() == num_racks) && (!used.contains(&b) || used.len() == n) {
                    replicas.push(b);
                    racks.insert(rack);
                    used.insert(b);
                    break;
                }
            }
        }
        out.insert(p as i32, replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn racked(m: &[(i32, &str)]) -> Vec<BrokerMetadata> {
        m.iter().map(|(id, r)| BrokerMetadata { id: *id, rack: Some(r.to_string()) }).collect()
    }

    fn no_rand(_: usize) -> usize {
        panic!("a fixed start index draws no random number")
    }

    #[test]
    fn rack_alternated_list_matches_kafka() {
        let m: BTreeMap<i32, String> = [(0, "rack1"), (1, "rack3"), (2, "rack3"), (3, "rack2"), (4, "rack2"), (5, "rack1")]
            .iter()
            .map(|(i, r)| (*i, r.to_string()))
            .collect();
        assert_eq!(rack_alternated_broker_list(&m), vec![0, 3, 1, 5, 4, 2]);
        let mut m2 = m.clone();
        m2.remove(&5);
        assert_eq!(rack_alternated_broker_list(&m2), vec![0, 3, 1, 4, 2]);
    }

    #[test]
    fn rack_aware_assignment_matches_kafka() {
        // AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers.
        let b = racked(&[(0, "rack1"), (1, "rack3"), (2, "rack3"), (3, "rack2"), (4, "rack2"), (5, "rack1")]);
        let a = assign_replicas_to_brokers(&b, 7, 3, Some(0), &mut no_rand).unwrap();
        let expected: BTreeMap<i32, Vec<i32>> = [
            (0, vec![0, 3, 1]),
            (1, vec![3, 1, 5]),
            (2, vec![1, 5, 4]),
            (3, vec![5, 4, 2]),
            (4, vec![4, 2, 0]),
            (5, vec![2, 0, 3]),
            (6, vec![0, 4, 2]),
        ]
        .into_iter()
        .collect();
        assert_eq!(a, expected);
    }

    #[test]
    fn rack_unaware_assignment_matches_the_javadoc_table() {
        // AdminUtils' javadoc: 5 brokers, 10 partitions, 3 replicas, start 0, shift 0.
        let b: Vec<BrokerMetadata> = (0..5).map(|id| BrokerMetadata { id, rack: None }).collect();
        let a = assign_replicas_to_brokers(&b, 10, 3, Some(0), &mut no_rand).unwrap();
        assert_eq!(a[&0], vec![0, 1, 2]);
        assert_eq!(a[&4], vec![4, 0, 1]);
        assert_eq!(a[&5], vec![0, 2, 3]);
        assert_eq!(a[&9], vec![4, 1, 2]);
    }

    #[test]
    fn random_draws_pick_the_start_and_the_shift() {
        let b: Vec<BrokerMetadata> = [10, 11, 12].iter().map(|id| BrokerMetadata { id: *id, rack: None }).collect();
        let mut draws = vec![1usize, 2].into_iter();
        let a = assign_replicas_to_brokers(&b, 2, 2, None, &mut |n| {
            let d = draws.next().unwrap();
            assert_eq!(n, 3);
            d
        })
        .unwrap();
        // start 1, shift 2: first = 11, follower at 1 + (2 + 0) % 2 = 1 past it.
        assert_eq!(a[&0], vec![11, 12]);
        assert_eq!(a[&1], vec![12, 10]);
    }

    #[test]
    fn errors_are_kafkas() {
        let b: Vec<BrokerMetadata> = (0..2).map(|id| BrokerMetadata { id, rack: None }).collect();
        let e = assign_replicas_to_brokers(&b, 2, 3, Some(0), &mut no_rand).unwrap_err();
        assert_eq!(e.to_string(), "Replication factor: 3 larger than available brokers: 2.");
        assert_eq!(assign_replicas_to_brokers(&b, 0, 1, Some(0), &mut no_rand).unwrap_err(), PlacementError::Partitions);
    }
}
