//! Replica placement for new partitions, as Kafka's AdminUtils.assignReplicasToBrokers:
//! leaders spread round-robin from a random start, followers shifted so replica sets
//! differ between partitions, and with `broker.rack` set on every broker, replicas of a
//! partition on as many different racks as possible.

/// A usable broker and its rack.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: i32,
    pub rack: Option<String>,
}

fn replica_index(first: usize, shift: usize, j: usize, n: usize) -> usize {
    let s = 1 + (shift + j) % (n - 1).max(1);
    (first + s) % n
}

/// Brokers ordered rack by rack in turn (racks and brokers sorted), so consecutive
/// entries sit on different racks.
fn rack_alternated(brokers: &[Candidate]) -> Vec<Candidate> {
    let mut racks: std::collections::BTreeMap<&str, Vec<&Candidate>> = std::collections::BTreeMap::new();
    for b in brokers {
        racks.entry(b.rack.as_deref().unwrap_or("")).or_default().push(b);
    }
    for v in racks.values_mut() {
        v.sort_by_key(|b| b.id);
    }
    let longest = racks.values().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::new();
    for i in 0..longest {
        for v in racks.values() {
            if let Some(b) = v.get(i) {
                out.push((*b).clone());
            }
        }
    }
    out
}

/// Replica lists for partitions `first..first+count`; `start` fixes the random choices
/// (tests), None draws them. The caller checked `rf <= brokers.len()`.
pub fn assign(brokers: &[Candidate], first: i32, count: i32, rf: usize, start: Option<usize>) -> Vec<Vec<i32>> {
    let mut sorted = brokers.to_vec();
    sorted.sort_by_key(|b| b.id);
    let n = sorted.len();
    if n == 0 || rf == 0 {
        return Vec::new();
    }
    let draw = || start.unwrap_or_else(|| rand::random_range(0..n));
    let start_index = draw();
    let mut shift = draw();
    let num_racks = sorted.iter().filter_map(|b| b.rack.as_deref()).collect::<std::collections::BTreeSet<_>>().len();
    let rack_aware = num_racks > 0 && sorted.iter().all(|b| b.rack.is_some());
    let list = if rack_aware { rack_alternated(&sorted) } else { sorted };
    let num_racks = num_racks.max(1);
    let mut out = Vec::new();
    for p in first.max(0)..first.max(0) + count {
        let p = p as usize;
        if p > 0 && p.is_multiple_of(n) {
            shift += 1;
        }
        let first_index = (p + start_index) % n;
        let leader = &list[first_index];
        let mut replicas = vec![leader.id];
        if !rack_aware {
            for j in 0..rf - 1 {
                replicas.push(list[replica_index(first_index, shift, j, n)].id);
            }
        } else {
            let mut used_racks = std::collections::BTreeSet::from([leader.rack.clone()]);
            let mut k = 0;
            while replicas.len() < rf {
                let b = &list[replica_index(first_index, shift * num_racks, k, n)];
                k += 1;
                let rack_ok = !used_racks.contains(&b.rack) || used_racks.len() == num_racks;
                let broker_ok = !replicas.contains(&b.id) || replicas.len() == n;
                if rack_ok && broker_ok {
                    replicas.push(b.id);
                    used_racks.insert(b.rack.clone());
                }
                if k > 4 * n * rf {
                    break; // cannot happen with rf <= n; a guard against a loop
                }
            }
        }
        out.push(replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers(racks: &[Option<&str>]) -> Vec<Candidate> {
        racks.iter().enumerate().map(|(i, r)| Candidate { id: i as i32 + 1, rack: r.map(String::from) }).collect()
    }

    #[test]
    fn leaders_spread_and_replicas_are_distinct() {
        let b = brokers(&[None, None, None]);
        let a = assign(&b, 0, 6, 3, Some(0));
        let leaders: Vec<i32> = a.iter().map(|r| r[0]).collect();
        assert_eq!(leaders, vec![1, 2, 3, 1, 2, 3]);
        for r in &a {
            let mut s = r.clone();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), 3, "{r:?}");
        }
    }

    #[test]
    fn racks_get_one_replica_each_when_they_can() {
        let b = brokers(&[Some("a"), Some("a"), Some("b"), Some("b"), Some("c"), Some("c")]);
        for r in assign(&b, 0, 12, 3, None) {
            let racks: std::collections::BTreeSet<_> = r.iter().map(|id| b[(*id - 1) as usize].rack.clone()).collect();
            assert_eq!(racks.len(), 3, "{r:?}");
        }
    }
}
