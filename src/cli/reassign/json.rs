//! The JSON files of `kafka-reassign-partitions.sh`: the topics-to-move file, the
//! reassignment file (with optional `log_dirs`) and Kafka's compact output format, with the
//! texts of Kafka's `DecodeJson`/`JsonObject` errors and of its validations.

use super::java_order::{duplicates, java_set_string};
use crate::client::admin_logdirs::TopicPartitionReplica;
use crate::client::admin_txn::{TopicPartition, tp_string};
use serde_json::Value;
use std::collections::BTreeMap;

/// The log directory meaning "wherever the broker likes".
pub const ANY_LOG_DIR: &str = "any";

/// A reassignment file: partitions with their target replicas (file order), and the
/// replicas with an explicit log directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reassignment {
    pub partitions: Vec<(TopicPartition, Vec<i32>)>,
    pub log_dirs: BTreeMap<TopicPartitionReplica, String>,
}

fn field<'a>(obj: &'a Value, name: &str) -> Result<&'a Value, String> {
    obj.get(name).ok_or_else(|| format!("No such field exists: `{name}`"))
}

fn as_object(v: &Value) -> Result<&Value, String> {
    if v.is_object() { Ok(v) } else { Err(format!("Expected JSON object, received {v}")) }
}

fn as_array(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array().ok_or_else(|| format!("Expected JSON array, received {v}"))
}

/// Jackson's `isInt()`: an integral number that fits an int.
fn to_int(v: &Value) -> Result<i32, String> {
    v.as_i64().and_then(|i| i32::try_from(i).ok()).ok_or_else(|| format!("Expected `Integer` value, received {v}"))
}

fn to_string(v: &Value) -> Result<String, String> {
    v.as_str().map(str::to_string).ok_or_else(|| format!("Expected `String` value, received {v}"))
}

fn to_list<T>(v: &Value, f: impl Fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    let a = v.as_array().ok_or_else(|| format!("Expected `JSON array` value, received {v}"))?;
    a.iter().map(f).collect()
}

fn version(obj: &Value) -> Result<i32, String> {
    match obj.get("version") {
        Some(v) => to_int(v),
        None => Ok(1),
    }
}

/// `--topics-to-move-json-file`: `{"topics":[{"topic":"foo"}],"version":1}`.
pub fn parse_topics(text: &str) -> Result<Vec<String>, String> {
    let js: Value = serde_json::from_str(text).map_err(|_| "The input string is not a valid JSON".to_string())?;
    let obj = as_object(&js)?;
    match version(obj)? {
        1 => match obj.get("topics") {
            Some(t) => as_array(t)?.iter().map(|e| to_string(field(as_object(e)?, "topic")?)).collect(),
            None => Ok(Vec::new()),
        },
        v => Err(format!("Not supported version field value {v}")),
    }
}

/// A reassignment file, before `--execute`'s extra validation (`--verify` and `--cancel`
/// take it as it is).
pub fn parse_reassignment(text: &str) -> Result<Reassignment, String> {
    let js: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let obj = as_object(&js)?;
    let v = version(obj)?;
    if v != 1 {
        return Err(format!("Not supported version field value {v}"));
    }
    let mut out = Reassignment::default();
    let Some(parts) = obj.get("partitions") else { return Ok(out) };
    for p in as_array(parts)? {
        let p = as_object(p)?;
        let topic = to_string(field(p, "topic")?)?;
        let partition = to_int(field(p, "partition")?)?;
        let replicas = to_list(field(p, "replicas")?, to_int)?;
        let dirs = match p.get("log_dirs") {
            Some(d) => to_list(d, to_string)?,
            None => vec![ANY_LOG_DIR.to_string(); replicas.len()],
        };
        if replicas.len() != dirs.len() {
            return Err(format!(
                "Size of replicas list {} is different from size of log dirs list {} for partition {topic}-{partition}",
                java_set_string(&replicas),
                java_set_string(&dirs)
            ));
        }
        for (r, d) in replicas.iter().zip(&dirs) {
            if d != ANY_LOG_DIR {
                out.log_dirs.insert((topic.clone(), partition, *r), d.clone());
            }
        }
        out.partitions.push(((topic, partition), replicas));
    }
    Ok(out)
}

/// `--execute`'s checks: not empty, no empty replica list, no duplicate partition, no
/// duplicate replica. Returns the targets by partition.
pub fn validate_for_execute(r: &Reassignment) -> Result<BTreeMap<TopicPartition, Vec<i32>>, String> {
    if r.partitions.is_empty() {
        return Err("Partition reassignment list cannot be empty".into());
    }
    if r.partitions.iter().any(|(_, rs)| rs.is_empty()) {
        return Err("Partition replica list cannot be empty".into());
    }
    let tps: Vec<TopicPartition> = r.partitions.iter().map(|(tp, _)| tp.clone()).collect();
    let dup_parts = duplicates(&tps);
    if !dup_parts.is_empty() {
        let list: Vec<String> = dup_parts.iter().map(tp_string).collect();
        return Err(format!("Partition reassignment contains duplicate topic partitions: {}", list.join(",")));
    }
    let dup_replicas: Vec<String> = r
        .partitions
        .iter()
        .filter_map(|(tp, rs)| {
            let d = duplicates(rs);
            (!d.is_empty()).then(|| {
                let ids: Vec<String> = d.iter().map(i32::to_string).collect();
                format!("{} contains multiple entries for {}", tp_string(tp), ids.join(","))
            })
        })
        .collect();
    if !dup_replicas.is_empty() {
        return Err(format!("Partition replica lists may not contain duplicate entries: {}", dup_replicas.join(". ")));
    }
    Ok(r.partitions.iter().cloned().collect())
}

/// Kafka's `formatAsReassignmentJson`: compact, partitions sorted by (topic, partition),
/// one log dir per replica (`"any"` unless given).
pub fn format_reassignment(parts: &BTreeMap<TopicPartition, Vec<i32>>, log_dirs: &BTreeMap<TopicPartitionReplica, String>) -> String {
    let entries: Vec<String> = parts
        .iter()
        .map(|((t, p), replicas)| {
            let dirs: Vec<Value> = replicas
                .iter()
                .map(|r| Value::String(log_dirs.get(&(t.clone(), *p, *r)).cloned().unwrap_or_else(|| ANY_LOG_DIR.to_string())))
                .collect();
            let ids: Vec<String> = replicas.iter().map(i32::to_string).collect();
            format!(
                "{{\"topic\":{},\"partition\":{p},\"replicas\":[{}],\"log_dirs\":{}}}",
                Value::String(t.clone()),
                ids.join(","),
                Value::Array(dirs)
            )
        })
        .collect();
    format!("{{\"version\":1,\"partitions\":[{}]}}", entries.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> TopicPartition {
        (t.to_string(), p)
    }

    #[test]
    fn format_matches_kafkas_compact_json() {
        let parts: BTreeMap<TopicPartition, Vec<i32>> = [(tp("foo", 1), vec![4, 5, 6]), (tp("bar", 0), vec![7, 8])].into_iter().collect();
        assert_eq!(
            format_reassignment(&parts, &BTreeMap::new()),
            "{\"version\":1,\"partitions\":[{\"topic\":\"bar\",\"partition\":0,\"replicas\":[7,8],\"log_dirs\":[\"any\",\"any\"]},\
             {\"topic\":\"foo\",\"partition\":1,\"replicas\":[4,5,6],\"log_dirs\":[\"any\",\"any\",\"any\"]}]}"
        );
        let dirs = [(("bar".to_string(), 0, 8), "/d".to_string())].into_iter().collect();
        assert!(format_reassignment(&parts, &dirs).contains("\"log_dirs\":[\"any\",\"/d\"]"));
        assert_eq!(format_reassignment(&BTreeMap::new(), &BTreeMap::new()), "{\"version\":1,\"partitions\":[]}");
    }

    #[test]
    fn execute_validation_uses_kafkas_messages() {
        let e = |s: &str| validate_for_execute(&parse_reassignment(s).unwrap()).unwrap_err();
        assert_eq!(e("{\"version\":1,\"partitions\":[]}"), "Partition reassignment list cannot be empty");
        assert_eq!(e("{\"version\":1}"), "Partition reassignment list cannot be empty");
        assert_eq!(e("{\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[]}]}"), "Partition replica list cannot be empty");
        assert_eq!(
            e("{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[0,1],\"log_dirs\":[\"any\",\"any\"]},\
               {\"topic\":\"foo\",\"partition\":0,\"replicas\":[2,3,4],\"log_dirs\":[\"any\",\"any\",\"any\"]}]}"),
            "Partition reassignment contains duplicate topic partitions: foo-0"
        );
        assert_eq!(
            e("{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[0,0],\"log_dirs\":[\"/abc\",\"/def\"]},\
               {\"topic\":\"foo\",\"partition\":1,\"replicas\":[2,3,2,3]}]}"),
            "Partition replica lists may not contain duplicate entries: foo-0 contains multiple entries for 0. \
             foo-1 contains multiple entries for 2,3"
        );
    }

    #[test]
    fn parsing_reads_log_dirs_and_reports_kafkas_errors() {
        let r = parse_reassignment(
            "{\"version\":1,\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[1,2,3],\"log_dirs\":[\"/tmp/a\",\"any\",\"/tmp/c\"]}]}",
        )
        .unwrap();
        assert_eq!(r.partitions, vec![(tp("foo", 0), vec![1, 2, 3])]);
        let dirs: Vec<_> = r.log_dirs.into_iter().collect();
        assert_eq!(dirs, vec![(("foo".into(), 0, 1), "/tmp/a".into()), (("foo".into(), 0, 3), "/tmp/c".into())]);
        let e = |s: &str| parse_reassignment(s).unwrap_err();
        assert_eq!(
            e("{\"partitions\":[{\"topic\":\"foo\",\"partition\":0,\"replicas\":[1,2],\"log_dirs\":[\"any\"]}]}"),
            "Size of replicas list [1, 2] is different from size of log dirs list [any] for partition foo-0"
        );
        assert_eq!(e("{\"partitions\":[{\"partition\":0,\"replicas\":[1]}]}"), "No such field exists: `topic`");
        assert_eq!(
            e("{\"partitions\":[{\"topic\":\"foo\",\"partition\":\"0\",\"replicas\":[1]}]}"),
            "Expected `Integer` value, received \"0\""
        );
        assert_eq!(e("{\"version\":2,\"partitions\":[]}"), "Not supported version field value 2");
        assert_eq!(e("[1]"), "Expected JSON object, received [1]");
        assert!(parse_reassignment("{invalid_json").is_err());
    }

    #[test]
    fn topics_file_parsing() {
        assert_eq!(parse_topics("{\"topics\": [{\"topic\": \"foo\"},{\"topic\": \"bar\"}], \"version\":1}").unwrap(), vec!["foo", "bar"]);
        assert_eq!(parse_topics("{\"version\":1}").unwrap(), Vec::<String>::new());
        assert_eq!(parse_topics("{nope").unwrap_err(), "The input string is not a valid JSON");
        assert_eq!(parse_topics("{\"topics\":[{\"topic\":1}]}").unwrap_err(), "Expected `String` value, received 1");
    }
}
