//! `rk console-consumer` (kafka-console-consumer.sh): consume by group subscription or
//! explicit partition, print with Kafka's DefaultMessageFormatter (or a kcat-style
//! `--format` template, or JSON per record), and report `Processed a total of N messages`.

use super::common::{ClientArgs, usage_error};
use crate::client::Cluster;
use crate::client::config::{parse_key_value, read_properties};
use crate::client::consumer::{ConsumedRecord, Consumer, ConsumerConfig, StartAt};
use anyhow::Context;
use base64::Engine;
use clap::Args;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct ConsoleConsumerArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The topic to consume.
    #[arg(long)]
    pub topic: Option<String>,
    /// Regular expression of topics to consume (whole-name match).
    #[arg(long, visible_alias = "whitelist")]
    pub include: Option<String>,
    /// Consume only this partition (starts at the end unless --offset/--from-beginning).
    #[arg(long)]
    pub partition: Option<i32>,
    /// Start offset with --partition: earliest, latest or a non-negative number.
    #[arg(long)]
    pub offset: Option<String>,
    /// Start from the earliest offset when the group has no committed offset.
    #[arg(long)]
    pub from_beginning: bool,
    /// The consumer group (default: a random console-consumer-N group without commits).
    #[arg(long)]
    pub group: Option<String>,
    /// Exit after this many messages.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// Exit (cleanly) when no message arrives for this many milliseconds.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Exit once the end of every assigned partition (as of start-up) is reached.
    #[arg(long)]
    pub exit_at_end: bool,
    /// Skip records that cannot be formatted instead of stopping.
    #[arg(long)]
    pub skip_message_on_error: bool,
    /// Only Kafka's DefaultMessageFormatter is built in.
    #[arg(long)]
    pub formatter: Option<String>,
    /// Formatter property: print.timestamp, print.key, print.offset, print.partition,
    /// print.headers, print.value, print.topic, key.separator, line.separator,
    /// headers.separator, null.literal.
    #[arg(long = "property", visible_alias = "formatter-property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
    /// A file of formatter properties.
    #[arg(long, value_name = "FILE")]
    pub formatter_config: Option<PathBuf>,
    /// Key deserializer: StringDeserializer, ByteArrayDeserializer, LongDeserializer,
    /// IntegerDeserializer, ShortDeserializer, DoubleDeserializer.
    #[arg(long)]
    pub key_deserializer: Option<String>,
    /// Value deserializer (same choices as --key-deserializer).
    #[arg(long)]
    pub value_deserializer: Option<String>,
    /// A consumer property: key=value (repeatable).
    #[arg(long = "consumer-property", value_name = "KEY=VALUE")]
    pub consumer_properties: Vec<String>,
    /// A consumer properties file.
    #[arg(long = "consumer.config", value_name = "FILE")]
    pub consumer_config: Option<PathBuf>,
    /// read_uncommitted (default) or read_committed.
    #[arg(long)]
    pub isolation_level: Option<String>,
    /// A kcat-style template: %t topic, %p partition, %o offset, %k key, %v or %s value,
    /// %h headers, %T timestamp, %K key length, %V value length; \n \t \\ escapes.
    #[arg(long)]
    pub format: Option<String>,
    /// Print each record as one JSON object (non-UTF-8 keys/values as base64).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Deser {
    Bytes,
    Long,
    Int,
    Short,
    Double,
}

fn parse_deser(s: Option<&str>) -> Result<Deser, String> {
    let Some(s) = s else { return Ok(Deser::Bytes) };
    match s.rsplit('.').next().unwrap_or(s) {
        "StringDeserializer" | "ByteArrayDeserializer" | "BytesDeserializer" | "ByteBufferDeserializer" => Ok(Deser::Bytes),
        "LongDeserializer" => Ok(Deser::Long),
        "IntegerDeserializer" => Ok(Deser::Int),
        "ShortDeserializer" => Ok(Deser::Short),
        "DoubleDeserializer" => Ok(Deser::Double),
        other => Err(format!("unsupported deserializer {other}")),
    }
}

fn deserialize(d: Deser, b: &[u8]) -> Result<Vec<u8>, String> {
    let fixed = |n: usize| -> Result<&[u8], String> { if b.len() == n { Ok(b) } else { Err(format!("Size of data received is not {n}")) } };
    Ok(match d {
        Deser::Bytes => b.to_vec(),
        Deser::Long => i64::from_be_bytes(fixed(8)?.try_into().expect("8")).to_string().into_bytes(),
        Deser::Int => i32::from_be_bytes(fixed(4)?.try_into().expect("4")).to_string().into_bytes(),
        Deser::Short => i16::from_be_bytes(fixed(2)?.try_into().expect("2")).to_string().into_bytes(),
        Deser::Double => f64::from_be_bytes(fixed(8)?.try_into().expect("8")).to_string().into_bytes(),
    })
}

/// How records are printed.
pub struct Formatter {
    props: BTreeMap<String, String>,
    template: Option<String>,
    json: bool,
    key_deser: Deser,
    value_deser: Deser,
}

impl Formatter {
    fn flag(&self, k: &str, default: bool) -> bool {
        self.props.get(k).map(|v| v.trim().eq_ignore_ascii_case("true")).unwrap_or(default)
    }
    fn get(&self, k: &str, default: &str) -> String {
        self.props.get(k).cloned().unwrap_or_else(|| default.to_string())
    }

    /// Formats one record exactly like Kafka's DefaultMessageFormatter (or the template/JSON).
    pub fn format(&self, r: &ConsumedRecord) -> Result<Vec<u8>, String> {
        let key = r.key.as_ref().map(|k| deserialize(self.key_deser, k)).transpose()?;
        let value = r.value.as_ref().map(|v| deserialize(self.value_deser, v)).transpose()?;
        if self.json {
            return Ok(self.json_line(r, key.as_deref(), value.as_deref()));
        }
        if let Some(t) = &self.template {
            return Ok(self.render_template(t, r, key.as_deref(), value.as_deref()));
        }
        let null = self.get("null.literal", "null").into_bytes();
        let sep = self.get("key.separator", "\t").into_bytes();
        let mut fields: Vec<Vec<u8>> = Vec::new();
        if self.flag("print.topic", false) {
            fields.push(format!("Topic:{}", r.topic).into_bytes());
        }
        if self.flag("print.timestamp", false) {
            fields.push(if r.timestamp < 0 {
                b"NO_TIMESTAMP".to_vec()
            } else {
                format!("{}:{}", if r.log_append_time { "LogAppendTime" } else { "CreateTime" }, r.timestamp).into_bytes()
            });
        }
        if self.flag("print.partition", false) {
            fields.push(format!("Partition:{}", r.partition).into_bytes());
        }
        if self.flag("print.offset", false) {
            fields.push(format!("Offset:{}", r.offset).into_bytes());
        }
        if self.flag("print.headers", false) {
            if r.headers.is_empty() {
                fields.push(b"NO_HEADERS".to_vec());
            } else {
                let hsep = self.get("headers.separator", ",").into_bytes();
                let mut h = Vec::new();
                for (i, (k, v)) in r.headers.iter().enumerate() {
                    if i > 0 {
                        h.extend_from_slice(&hsep);
                    }
                    h.extend_from_slice(k.as_bytes());
                    h.push(b':');
                    h.extend_from_slice(v.as_deref().unwrap_or(&null));
                }
                fields.push(h);
            }
        }
        if self.flag("print.key", false) {
            fields.push(key.unwrap_or_else(|| null.clone()));
        }
        if self.flag("print.value", true) {
            fields.push(value.unwrap_or_else(|| null.clone()));
        }
        let mut out = fields.join(&sep[..]);
        out.extend_from_slice(self.get("line.separator", "\n").as_bytes());
        Ok(out)
    }

    fn render_template(&self, t: &str, r: &ConsumedRecord, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut chars = t.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, chars.peek().copied()) {
                ('%', Some(n)) => {
                    chars.next();
                    match n {
                        't' => out.extend_from_slice(r.topic.as_bytes()),
                        'p' => out.extend_from_slice(r.partition.to_string().as_bytes()),
                        'o' => out.extend_from_slice(r.offset.to_string().as_bytes()),
                        'k' => out.extend_from_slice(key.unwrap_or_default()),
                        'v' | 's' => out.extend_from_slice(value.unwrap_or_default()),
                        'K' => out.extend_from_slice(key.map_or(-1, |k| k.len() as i64).to_string().as_bytes()),
                        'V' | 'S' => out.extend_from_slice(value.map_or(-1, |v| v.len() as i64).to_string().as_bytes()),
                        'T' => out.extend_from_slice(r.timestamp.to_string().as_bytes()),
                        'h' => {
                            let hs: Vec<String> = r
                                .headers
                                .iter()
                                .map(|(k, v)| format!("{k}={}", v.as_deref().map(String::from_utf8_lossy).unwrap_or_default()))
                                .collect();
                            out.extend_from_slice(hs.join(",").as_bytes());
                        }
                        '%' => out.push(b'%'),
                        other => {
                            out.push(b'%');
                            out.extend_from_slice(other.to_string().as_bytes());
                        }
                    }
                }
                ('\\', Some(n)) => {
                    chars.next();
                    match n {
                        'n' => out.push(b'\n'),
                        't' => out.push(b'\t'),
                        'r' => out.push(b'\r'),
                        '\\' => out.push(b'\\'),
                        other => {
                            out.push(b'\\');
                            out.extend_from_slice(other.to_string().as_bytes());
                        }
                    }
                }
                _ => out.extend_from_slice(c.to_string().as_bytes()),
            }
        }
        out
    }

    fn json_line(&self, r: &ConsumedRecord, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
        let mut obj = serde_json::Map::new();
        let mut put = |name: &str, b: Option<&[u8]>| match b {
            None => {
                obj.insert(name.into(), serde_json::Value::Null);
            }
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => {
                    obj.insert(name.into(), s.into());
                }
                Err(_) => {
                    obj.insert(format!("{name}_base64"), base64::engine::general_purpose::STANDARD.encode(b).into());
                }
            },
        };
        put("key", key);
        put("value", value);
        obj.insert("topic".into(), r.topic.clone().into());
        obj.insert("partition".into(), r.partition.into());
        obj.insert("offset".into(), r.offset.into());
        obj.insert("timestamp".into(), r.timestamp.into());
        obj.insert("timestamp_type".into(), if r.log_append_time { "LogAppendTime" } else { "CreateTime" }.into());
        let headers: Vec<serde_json::Value> = r
            .headers
            .iter()
            .map(|(k, v)| {
                let mut h = serde_json::Map::new();
                h.insert("key".into(), k.clone().into());
                match v.as_deref().map(std::str::from_utf8) {
                    None => h.insert("value".into(), serde_json::Value::Null),
                    Some(Ok(s)) => h.insert("value".into(), s.into()),
                    Some(Err(_)) => h.insert(
                        "value_base64".into(),
                        base64::engine::general_purpose::STANDARD.encode(v.as_deref().unwrap_or_default()).into(),
                    ),
                };
                serde_json::Value::Object(h)
            })
            .collect();
        obj.insert("headers".into(), headers.into());
        let mut out = serde_json::to_vec(&serde_json::Value::Object(obj)).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

fn start_offset(a: &ConsoleConsumerArgs) -> Result<StartAt, String> {
    match a.offset.as_deref() {
        Some("earliest") => Ok(StartAt::Earliest),
        Some("latest") => Ok(StartAt::Latest),
        Some(n) => match n.parse::<i64>() {
            Ok(v) if v >= 0 => Ok(StartAt::Offset(v)),
            _ => {
                Err(format!("The provided offset value '{n}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."))
            }
        },
        None if a.from_beginning => Ok(StartAt::Earliest),
        None => Ok(StartAt::Latest),
    }
}

pub fn run(a: ConsoleConsumerArgs) -> anyhow::Result<i32> {
    if a.topic.is_some() == a.include.is_some() {
        return usage_error("Exactly one of --include/--topic is required.");
    }
    if a.partition.is_some() && a.topic.is_none() {
        return usage_error("The topic is required when partition is specified.");
    }
    if a.partition.is_some() && a.group.is_some() {
        return usage_error("Options group and partition cannot be specified together.");
    }
    if a.offset.is_some() && a.partition.is_none() {
        return usage_error("The partition is required when offset is specified.");
    }
    if a.offset.is_some() && a.from_beginning {
        return usage_error("Options from-beginning and offset cannot be specified together.");
    }
    if let Some(f) = &a.formatter
        && !f.ends_with("DefaultMessageFormatter")
    {
        return usage_error(&format!("Only the default formatter is built in, not {f}"));
    }
    let start = match start_offset(&a) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let (key_deser, value_deser) = match (parse_deser(a.key_deserializer.as_deref()), parse_deser(a.value_deserializer.as_deref())) {
        (Ok(k), Ok(v)) => (k, v),
        (Err(e), _) | (_, Err(e)) => return usage_error(&e),
    };
    let mut fprops = BTreeMap::new();
    if let Some(f) = &a.formatter_config {
        fprops.extend(read_properties(f).map_err(anyhow::Error::msg)?);
    }
    fprops.extend(a.properties.iter().map(|p| parse_key_value(p)));
    let formatter = Formatter { props: fprops, template: a.format.clone(), json: a.json, key_deser, value_deser };

    let mut props: Vec<(String, String)> = Vec::new();
    if let Some(f) = &a.consumer_config {
        props.extend(read_properties(f).map_err(anyhow::Error::msg)?);
    }
    props.extend(a.consumer_properties.iter().map(|p| parse_key_value(p)));
    let explicit_reset = props.iter().rev().find(|(k, _)| k == "auto.offset.reset").map(|(_, v)| v.clone());
    if a.from_beginning && explicit_reset.as_deref().is_some_and(|r| r != "earliest") {
        anyhow::bail!("Can't simultaneously specify --from-beginning and 'auto.offset.reset={}'", explicit_reset.unwrap_or_default());
    }
    if let (Some(g), Some((_, pg))) = (&a.group, props.iter().rev().find(|(k, _)| k == "group.id"))
        && g != pg
    {
        return usage_error(&format!("Option [group] and consumer property group.id must match (found {g} and {pg})."));
    }
    let group_from_props = props.iter().any(|(k, _)| k == "group.id");
    if a.partition.is_none() && a.group.is_none() && !group_from_props {
        props.push(("group.id".into(), format!("console-consumer-{}", rand::random_range(0..100_000))));
        if !props.iter().any(|(k, _)| k == "enable.auto.commit") {
            props.push(("enable.auto.commit".into(), "false".into()));
        }
    }
    if let Some(g) = &a.group {
        props.push(("group.id".into(), g.clone()));
    }
    if a.from_beginning {
        props.push(("auto.offset.reset".into(), "earliest".into()));
    }
    if let Some(i) = &a.isolation_level {
        props.push(("isolation.level".into(), i.clone()));
    }
    let cfg = a.client.config_with("console-consumer", &[], &props.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>())?;
    let mut ccfg = ConsumerConfig::from_props(&cfg.props).map_err(anyhow::Error::msg)?;
    if a.partition.is_some() {
        ccfg.group_id = None;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let mut consumer = Consumer::new(cluster.clone(), ccfg);
        match (&a.topic, a.partition, &a.include) {
            (Some(t), Some(p), _) => consumer.assign(vec![(t.clone(), p, start)]).await?,
            (Some(t), None, _) => consumer.subscribe(vec![t.clone()])?,
            (None, _, Some(re)) => {
                consumer.subscribe_pattern(regex::Regex::new(&format!("^(?:{re})$")).context("invalid --include regex")?)?
            }
            _ => unreachable!("validated above"),
        }
        let mut count = 0u64;
        let outcome = consume(&mut consumer, &a, &formatter, &mut count).await;
        eprintln!("Processed a total of {count} messages");
        if let Err(e) = consumer.close().await {
            eprintln!("WARN: closing the consumer failed: {e}");
        }
        match outcome {
            Ok(()) => Ok(0),
            Err(e) if is_broken_pipe(&e) => Ok(0),
            Err(e) => Err(e),
        }
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

async fn consume(consumer: &mut Consumer, a: &ConsoleConsumerArgs, f: &Formatter, count: &mut u64) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut last_record = Instant::now();
    let mut ends: Option<BTreeMap<(String, i32), i64>> = None;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        if a.max_messages.is_some_and(|m| *count >= m) {
            return Ok(());
        }
        let batch = tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            b = consumer.poll(Duration::from_millis(200)) => b?,
        };
        if a.exit_at_end && ends.is_none() && !consumer.assignment().is_empty() {
            ends = Some(consumer.end_offsets().await?);
        }
        let mut out = stdout.lock();
        for r in &batch {
            if a.max_messages.is_some_and(|m| *count >= m) {
                // Not handed out: rewind so a group commit does not skip it.
                consumer.seek(&r.topic, r.partition, r.offset);
                break;
            }
            match f.format(r) {
                Ok(bytes) => out.write_all(&bytes)?,
                Err(e) if a.skip_message_on_error => eprintln!("Error processing message, skipping it: {e}"),
                Err(e) => anyhow::bail!("Error processing message, terminating consumer process: {e}"),
            }
            *count += 1;
        }
        out.flush()?;
        drop(out);
        if !batch.is_empty() {
            last_record = Instant::now();
        }
        if let Some(t) = a.timeout_ms
            && last_record.elapsed() >= Duration::from_millis(t)
        {
            return Ok(());
        }
        if let Some(e) = &ends
            && e.iter().all(|((t, p), end)| consumer.position(t, *p).is_none_or(|pos| pos >= *end))
        {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn rec() -> ConsumedRecord {
        ConsumedRecord {
            topic: "t".into(),
            partition: 0,
            offset: 5,
            timestamp: 1700000000000,
            log_append_time: false,
            leader_epoch: 0,
            key: Some(Bytes::from_static(b"mykey")),
            value: Some(Bytes::from_static(b"myvalue")),
            headers: vec![("h1".into(), Some(Bytes::from_static(b"v1")))],
        }
    }

    fn fmt(props: &[(&str, &str)]) -> Formatter {
        Formatter {
            props: props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            template: None,
            json: false,
            key_deser: Deser::Bytes,
            value_deser: Deser::Bytes,
        }
    }

    #[test]
    fn default_message_formatter_field_order() {
        let all = fmt(&[
            ("print.timestamp", "true"),
            ("print.partition", "true"),
            ("print.offset", "true"),
            ("print.headers", "true"),
            ("print.key", "true"),
        ]);
        assert_eq!(all.format(&rec()).unwrap(), b"CreateTime:1700000000000\tPartition:0\tOffset:5\th1:v1\tmykey\tmyvalue\n");
        assert_eq!(fmt(&[]).format(&rec()).unwrap(), b"myvalue\n");
        let mut r = rec();
        r.value = None;
        r.headers.clear();
        let f = fmt(&[("print.key", "true"), ("print.headers", "true"), ("key.separator", "|"), ("null.literal", "<null>")]);
        assert_eq!(f.format(&r).unwrap(), b"NO_HEADERS|mykey|<null>\n");
    }

    #[test]
    fn templates_and_json() {
        let f = Formatter {
            props: BTreeMap::new(),
            template: Some("%t/%p/%o %k=%v %K\\n".into()),
            json: false,
            key_deser: Deser::Bytes,
            value_deser: Deser::Bytes,
        };
        assert_eq!(f.format(&rec()).unwrap(), b"t/0/5 mykey=myvalue 5\n");
        let mut r = rec();
        r.value = Some(Bytes::from_static(&[0xff, 0x00]));
        let j = Formatter { props: BTreeMap::new(), template: None, json: true, key_deser: Deser::Bytes, value_deser: Deser::Bytes };
        let v: serde_json::Value = serde_json::from_slice(&j.format(&r).unwrap()).unwrap();
        assert_eq!(v["key"], "mykey");
        assert_eq!(v["value_base64"], "/wA=");
        assert_eq!(v["headers"][0]["value"], "v1");
    }
}
