//! Figures for many topics at once, cheap enough for a page with thousands of topics:
//! earliest and latest offsets with one ListOffsets request per leader and spec, and topic
//! sizes with one DescribeLogDirs request per broker (each partition counted once, at its
//! leader).

use crate::client::admin::Admin;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

/// (earliest, latest) per (topic, partition); partitions whose leader does not answer are
/// left out.
pub async fn offsets(admin: &Admin, topics: &[(String, Vec<i32>)]) -> BTreeMap<(String, i32), (i64, i64)> {
    let meta = admin.cluster.metadata();
    let mut by_leader: BTreeMap<i32, BTreeMap<&str, Vec<i32>>> = BTreeMap::new();
    for (t, parts) in topics {
        let Some(tm) = meta.topics.get(t) else { continue };
        for p in parts {
            if let Some(pm) = tm.partitions.iter().find(|x| x.index == *p).filter(|x| x.leader >= 0) {
                by_leader.entry(pm.leader).or_default().entry(t.as_str()).or_default().push(*p);
            }
        }
    }
    let mut found: BTreeMap<(String, i32), [Option<i64>; 2]> = BTreeMap::new();
    for (leader, topics) in by_leader {
        for (slot, ts) in [(0usize, -2i64), (1, -1)] {
            let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(
                topics
                    .iter()
                    .map(|(t, ps)| {
                        list_offsets_request::ListOffsetsTopic::default()
                            .with_name(TopicName(StrBytes::from_string(t.to_string())))
                            .with_partitions(
                                ps.iter()
                                    .map(|p| {
                                        list_offsets_request::ListOffsetsPartition::default().with_partition_index(*p).with_timestamp(ts)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
            let Ok(resp) = admin.cluster.send(Some(leader), &req).await else { continue };
            for t in resp.topics {
                for p in t.partitions.into_iter().filter(|p| p.error_code == 0) {
                    found.entry((t.name.to_string(), p.partition_index)).or_default()[slot] = Some(p.offset);
                }
            }
        }
    }
    found.into_iter().filter_map(|(k, [e, l])| Some((k, (e?, l?)))).collect()
}

/// Bytes per topic (each partition's size at its leader); empty when brokers do not answer
/// DescribeLogDirs.
pub async fn sizes(admin: &Admin) -> BTreeMap<String, i64> {
    let meta = admin.cluster.metadata();
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for broker in meta.brokers.keys() {
        let Ok(resp) = admin.cluster.send(Some(*broker), &DescribeLogDirsRequest::default().with_topics(None)).await else { continue };
        for dir in resp.results.into_iter().filter(|d| d.error_code == 0) {
            for t in dir.topics {
                let name = t.name.to_string();
                let led: i64 = t
                    .partitions
                    .iter()
                    .filter(|p| !p.is_future_key)
                    .filter(|p| {
                        meta.topics
                            .get(&name)
                            .and_then(|tm| tm.partitions.iter().find(|x| x.index == p.partition_index))
                            .is_some_and(|x| x.leader == *broker)
                    })
                    .map(|p| p.partition_size)
                    .sum();
                *out.entry(name).or_default() += led;
            }
        }
    }
    out
}

/// Bytes, human-readable (KiB, MiB, GiB).
pub fn human(n: i64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n.max(0) as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", units[u]) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_sizes() {
        assert_eq!(super::human(512), "512 B");
        assert_eq!(super::human(1536), "1.5 KiB");
        assert_eq!(super::human(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
