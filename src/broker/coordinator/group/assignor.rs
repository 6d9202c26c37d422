//! Server-side assignors of the consumer group protocol (KIP-848), as Kafka names them:
//! `uniform` (balanced and sticky: a member keeps what it had up to its fair share, the
//! rest goes to the least loaded member subscribed to the topic) and `range` (per topic,
//! consecutive ranges to members sorted by instance id, then member id, so co-partitioned
//! topics line up).

use super::consumer::Assignment;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// One member as the assignor sees it.
pub struct MemberSpec<'a> {
    pub member_id: &'a str,
    pub instance_id: Option<&'a str>,
    /// Subscribed topics that exist.
    pub topics: BTreeSet<Uuid>,
    /// Its previous target assignment (for stickiness).
    pub previous: Option<&'a Assignment>,
}

pub const ASSIGNORS: [&str; 2] = ["uniform", "range"];

/// Computes the target assignment of every member. `partitions` gives each topic's count.
pub fn assign(name: &str, members: &[MemberSpec<'_>], partitions: &BTreeMap<Uuid, i32>) -> HashMap<String, Assignment> {
    match name {
        "range" => range(members, partitions),
        _ => uniform(members, partitions),
    }
}

fn sorted<'a, 'b>(members: &'b [MemberSpec<'a>]) -> Vec<&'b MemberSpec<'a>> {
    let mut v: Vec<&MemberSpec<'_>> = members.iter().collect();
    // Static members first, by instance id; then by member id (Kafka's sortMemberIds).
    v.sort_by(|a, b| match (a.instance_id, b.instance_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.member_id.cmp(b.member_id),
    });
    v
}

fn range(members: &[MemberSpec<'_>], partitions: &BTreeMap<Uuid, i32>) -> HashMap<String, Assignment> {
    let order = sorted(members);
    let mut out: HashMap<String, Assignment> = members.iter().map(|m| (m.member_id.to_string(), Assignment::new())).collect();
    for (topic, n) in partitions {
        let subscribed: Vec<&&MemberSpec<'_>> = order.iter().filter(|m| m.topics.contains(topic)).collect();
        if subscribed.is_empty() {
            continue;
        }
        let (quota, mut extra) = (*n as usize / subscribed.len(), *n as usize % subscribed.len());
        let mut next = 0usize;
        for m in subscribed {
            let take = quota + usize::from(extra > 0);
            extra = extra.saturating_sub(1);
            let end = (next + take).min(*n as usize);
            if next < end {
                out.entry(m.member_id.to_string()).or_default().insert(*topic, (next as i32..end as i32).collect());
            }
            next = end;
        }
    }
    out
}

fn uniform(members: &[MemberSpec<'_>], partitions: &BTreeMap<Uuid, i32>) -> HashMap<String, Assignment> {
    let order = sorted(members);
    let mut out: HashMap<String, Assignment> = members.iter().map(|m| (m.member_id.to_string(), Assignment::new())).collect();
    let mut load: HashMap<&str, usize> = members.iter().map(|m| (m.member_id, 0)).collect();
    // Each member's fair share of the partitions it can have: the partitions of its topics
    // divided among the members sharing them, rounded up (exact for the common case where
    // every member subscribes to the same topics).
    let mut sharers: HashMap<Uuid, usize> = HashMap::new();
    for m in members {
        for t in &m.topics {
            *sharers.entry(*t).or_default() += 1;
        }
    }
    let total: usize = partitions.iter().filter(|(t, _)| sharers.contains_key(t)).map(|(_, n)| *n as usize).sum();
    let homogeneous = members.windows(2).all(|w| w[0].topics == w[1].topics);
    let share = |m: &MemberSpec<'_>| -> usize {
        if homogeneous {
            total.div_ceil(members.len().max(1))
        } else {
            m.topics.iter().map(|t| (partitions.get(t).copied().unwrap_or(0) as usize).div_ceil(sharers[t])).sum()
        }
    };
    // In the homogeneous case only `total % members` members may have the extra one.
    let mut extras_left = if homogeneous && !members.is_empty() { total % members.len() } else { usize::MAX };
    let floor = if homogeneous && !members.is_empty() { total / members.len() } else { 0 };
    let mut taken: BTreeSet<(Uuid, i32)> = BTreeSet::new();
    // 1. Stickiness: members keep their previous partitions up to their share.
    for m in &order {
        let Some(prev) = m.previous else { continue };
        let cap = share(m);
        for (t, ps) in prev {
            let Some(n) = partitions.get(t) else { continue };
            if !m.topics.contains(t) {
                continue;
            }
            for p in ps.iter().filter(|p| **p < *n) {
                let l = load[m.member_id];
                if l >= cap || (homogeneous && l >= floor && extras_left == 0) {
                    break;
                }
                if homogeneous && l >= floor {
                    extras_left -= 1;
                }
                taken.insert((*t, *p));
                out.get_mut(m.member_id).expect("member").entry(*t).or_default().insert(*p);
                *load.get_mut(m.member_id).expect("member") += 1;
            }
        }
    }
    // 2. The rest, most constrained topics first, each partition to the least loaded
    //    subscribed member (ties by the sorted order).
    let mut topics: Vec<(&Uuid, &i32)> = partitions.iter().filter(|(t, _)| sharers.contains_key(t)).collect();
    topics.sort_by_key(|(t, _)| sharers[t]);
    for (t, n) in topics {
        for p in 0..*n {
            if taken.contains(&(*t, p)) {
                continue;
            }
            let best = order.iter().filter(|m| m.topics.contains(t)).min_by_key(|m| load[m.member_id]);
            if let Some(m) = best {
                out.get_mut(m.member_id).expect("member").entry(*t).or_default().insert(p);
                *load.get_mut(m.member_id).expect("member") += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(id: &'a str, topics: &[Uuid], previous: Option<&'a Assignment>) -> MemberSpec<'a> {
        MemberSpec { member_id: id, instance_id: None, topics: topics.iter().copied().collect(), previous }
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(|s| s.len()).sum()
    }

    #[test]
    fn uniform_balances_and_sticks() {
        let (t1, t2) = (Uuid::new_v4(), Uuid::new_v4());
        let parts = BTreeMap::from([(t1, 6), (t2, 3)]);
        let first = assign("uniform", &[spec("a", &[t1, t2], None), spec("b", &[t1, t2], None)], &parts);
        assert_eq!(count(&first["a"]) + count(&first["b"]), 9);
        assert!(count(&first["a"]).abs_diff(count(&first["b"])) <= 1);
        // A third member joins: a and b keep most of what they had.
        let second = assign(
            "uniform",
            &[spec("a", &[t1, t2], Some(&first["a"])), spec("b", &[t1, t2], Some(&first["b"])), spec("c", &[t1, t2], None)],
            &parts,
        );
        for m in ["a", "b", "c"] {
            assert_eq!(count(&second[m]), 3, "{m}: {:?}", second[m]);
        }
        for m in ["a", "b"] {
            for (t, ps) in &second[m] {
                assert!(ps.is_subset(&first[m][t]), "{m} moved partitions it could keep");
            }
        }
        let all: BTreeSet<(Uuid, i32)> = second.values().flat_map(|a| a.iter().flat_map(|(t, ps)| ps.iter().map(|p| (*t, *p)))).collect();
        assert_eq!(all.len(), 9, "every partition once");
    }

    #[test]
    fn uniform_respects_subscriptions() {
        let (t1, t2) = (Uuid::new_v4(), Uuid::new_v4());
        let parts = BTreeMap::from([(t1, 4), (t2, 4)]);
        let a = assign("uniform", &[spec("a", &[t1], None), spec("b", &[t1, t2], None)], &parts);
        assert!(a["a"].keys().all(|t| *t == t1));
        assert_eq!(count(&a["a"]) + count(&a["b"]), 8);
        assert_eq!(a["b"][&t2].len(), 4);
    }

    #[test]
    fn range_gives_consecutive_ranges() {
        let t = Uuid::new_v4();
        let a = assign("range", &[spec("b", &[t], None), spec("a", &[t], None)], &BTreeMap::from([(t, 5)]));
        assert_eq!(a["a"][&t], BTreeSet::from([0, 1, 2]));
        assert_eq!(a["b"][&t], BTreeSet::from([3, 4]));
    }
}
