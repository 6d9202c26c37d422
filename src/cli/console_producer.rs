//! `rk console-producer` (kafka-console-producer.sh): lines from stdin or a file become
//! records, parsed like Kafka's LineMessageReader (keys, headers, null markers).

use super::common::{ClientArgs, usage_error};
use crate::client::Cluster;
use crate::client::config::{parse_key_value, read_properties};
use crate::client::producer::{Producer, ProducerConfig, ProducerRecord, parse_compression};
use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use regex::Regex;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ConsoleProducerArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Deprecated alias of --bootstrap-server.
    #[arg(long, hide = true)]
    pub broker_list: Option<String>,
    /// The topic to produce to.
    #[arg(long)]
    pub topic: String,
    /// Read lines from this file instead of stdin.
    #[arg(long, value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// Send each record synchronously, one at a time.
    #[arg(long)]
    pub sync: bool,
    /// Compression codec: none, gzip, snappy, lz4 or zstd (the flag alone means gzip).
    #[arg(long, num_args = 0..=1, default_missing_value = "gzip", value_name = "CODEC")]
    pub compression_codec: Option<String>,
    /// batch.size in bytes.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Retries for retriable errors.
    #[arg(long)]
    pub message_send_max_retries: Option<u32>,
    /// retry.backoff.ms.
    #[arg(long)]
    pub retry_backoff_ms: Option<u64>,
    /// linger.ms: how long a record may wait for its batch to fill (Kafka's default 1000).
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// acks: -1/all, 0 or 1.
    #[arg(long, value_name = "ACKS")]
    pub request_required_acks: Option<String>,
    /// request.timeout.ms.
    #[arg(long)]
    pub request_timeout_ms: Option<u64>,
    /// Accepted for compatibility (metadata is refreshed on demand).
    #[arg(long, hide = true)]
    pub metadata_expiry_ms: Option<u64>,
    /// Accepted for compatibility.
    #[arg(long, hide = true)]
    pub max_block_ms: Option<u64>,
    /// Accepted for compatibility.
    #[arg(long, hide = true)]
    pub max_memory_bytes: Option<u64>,
    /// batch.size (Kafka's older name).
    #[arg(long)]
    pub max_partition_memory_bytes: Option<usize>,
    /// Accepted for compatibility.
    #[arg(long, hide = true)]
    pub socket_buffer_size: Option<u64>,
    /// Only Kafka's default reader is built in.
    #[arg(long)]
    pub line_reader: Option<String>,
    /// Reader property: parse.key, key.separator, parse.headers, headers.delimiter,
    /// headers.separator, headers.key.separator, null.marker, ignore.error.
    #[arg(long = "property", visible_alias = "reader-property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
    /// A file of reader properties (--property wins).
    #[arg(long, value_name = "FILE")]
    pub reader_config: Option<PathBuf>,
    /// A producer property: key=value (repeatable).
    #[arg(long = "producer-property", value_name = "KEY=VALUE")]
    pub producer_properties: Vec<String>,
    /// A producer properties file.
    #[arg(long = "producer.config", value_name = "FILE")]
    pub producer_config: Option<PathBuf>,
}

/// Kafka's LineMessageReader settings.
#[derive(Debug, Clone)]
pub struct LineReader {
    pub parse_key: bool,
    pub key_separator: String,
    pub parse_headers: bool,
    pub headers_delimiter: String,
    pub headers_separator: Regex,
    pub headers_key_separator: String,
    pub ignore_error: bool,
    pub null_marker: Option<String>,
}

/// A parsed line: (key, value, headers).
pub type ParsedLine = (Option<Bytes>, Option<Bytes>, Vec<(String, Option<Bytes>)>);

impl LineReader {
    pub fn from_props(p: &BTreeMap<String, String>) -> anyhow::Result<LineReader> {
        let get = |k: &str, d: &str| p.get(k).cloned().unwrap_or_else(|| d.to_string());
        let bool_of = |k: &str| p.get(k).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let r = LineReader {
            parse_key: bool_of("parse.key"),
            key_separator: get("key.separator", "\t"),
            parse_headers: bool_of("parse.headers"),
            headers_delimiter: get("headers.delimiter", "\t"),
            headers_separator: Regex::new(&get("headers.separator", ",")).context("invalid headers.separator regex")?,
            headers_key_separator: get("headers.key.separator", ":"),
            ignore_error: bool_of("ignore.error"),
            null_marker: p.get("null.marker").cloned(),
        };
        if r.headers_delimiter == r.headers_separator.as_str() {
            bail!("headers.delimiter and headers.separator may not be equal");
        }
        if r.headers_separator.as_str() == r.headers_key_separator {
            bail!("headers.separator and headers.key.separator may not be equal");
        }
        if let Some(m) = &r.null_marker {
            if *m == r.key_separator {
                bail!("null.marker and key.separator may not be equal");
            }
            if *m == r.headers_separator.as_str() {
                bail!("null.marker and headers.separator may not be equal");
            }
            if *m == r.headers_delimiter {
                bail!("null.marker and headers.delimiter may not be equal");
            }
            if *m == r.headers_key_separator {
                bail!("null.marker and headers.key.separator may not be equal");
            }
        }
        Ok(r)
    }

    fn nullable(&self, s: &str) -> Option<Bytes> {
        match &self.null_marker {
            Some(m) if m == s => None,
            _ => Some(Bytes::copy_from_slice(s.as_bytes())),
        }
    }

    /// Parses `[headers<delimiter>][key<separator>]value` (line numbers start at 1).
    pub fn parse(&self, line: &str, line_no: usize) -> anyhow::Result<ParsedLine> {
        let mut rest = line;
        let mut headers = Vec::new();
        if self.parse_headers {
            match rest.find(&self.headers_delimiter) {
                Some(i) => {
                    let block = &rest[..i];
                    rest = &rest[i + self.headers_delimiter.len()..];
                    if block != self.null_marker.as_deref().unwrap_or("\u{0}") {
                        for h in self.headers_separator.split(block).filter(|h| !h.is_empty()) {
                            match h.find(&self.headers_key_separator) {
                                Some(j) => {
                                    let k = &h[..j];
                                    if self.null_marker.as_deref() == Some(k) {
                                        bail!("Header key cannot match null marker string value {k}");
                                    }
                                    headers.push((k.to_string(), self.nullable(&h[j + self.headers_key_separator.len()..])));
                                }
                                None if self.ignore_error => headers.push((h.to_string(), None)),
                                None => bail!("No header key separator found in pair '{h}' on line number {line_no}"),
                            }
                        }
                    }
                }
                None if self.ignore_error => {}
                None => bail!("No headers delimiter found on line number {line_no}: '{line}'"),
            }
        }
        let (key, value) = if self.parse_key {
            match rest.find(&self.key_separator) {
                Some(i) => (self.nullable(&rest[..i]), self.nullable(&rest[i + self.key_separator.len()..])),
                None if self.ignore_error => (None, self.nullable(rest)),
                None => bail!("No key separator found on line number {line_no}: '{line}'"),
            }
        } else {
            (None, self.nullable(rest))
        };
        Ok((key, value, headers))
    }
}

fn producer_props(a: &ConsoleProducerArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut props = Vec::new();
    if let Some(f) = &a.producer_config {
        props.extend(read_properties(f).map_err(anyhow::Error::msg)?);
    }
    props.extend(a.producer_properties.iter().map(|p| parse_key_value(p)));
    // Explicit flags win over properties (Kafka's maybeMergeOptions).
    let mut flag = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            props.push((k.to_string(), v));
        }
    };
    flag("acks", a.request_required_acks.clone());
    flag("linger.ms", a.timeout.map(|v| v.to_string()));
    flag("batch.size", a.max_partition_memory_bytes.or(a.batch_size).map(|v| v.to_string()));
    flag("retries", a.message_send_max_retries.map(|v| v.to_string()));
    flag("retry.backoff.ms", a.retry_backoff_ms.map(|v| v.to_string()));
    flag("request.timeout.ms", a.request_timeout_ms.map(|v| v.to_string()));
    flag("compression.type", a.compression_codec.clone());
    Ok(props)
}

pub fn run(mut a: ConsoleProducerArgs) -> anyhow::Result<i32> {
    if a.client.bootstrap_server.is_none() {
        a.client.bootstrap_server = a.broker_list.clone();
    }
    if let Some(r) = &a.line_reader
        && !r.ends_with("LineMessageReader")
    {
        return usage_error(&format!("Only the built-in line reader is supported, not {r}"));
    }
    if let Some(c) = &a.compression_codec
        && let Err(e) = parse_compression(c)
    {
        return usage_error(&e);
    }
    let mut reader_props: BTreeMap<String, String> = BTreeMap::new();
    if let Some(f) = &a.reader_config {
        reader_props.extend(read_properties(f).map_err(anyhow::Error::msg)?);
    }
    reader_props.extend(a.properties.iter().map(|p| parse_key_value(p)));
    let reader = LineReader::from_props(&reader_props)?;
    let mut props = producer_props(&a)?;
    if !props.iter().any(|(k, _)| k == "linger.ms") {
        props.push(("linger.ms".into(), "1000".into()));
    }
    if !props.iter().any(|(k, _)| k == "request.timeout.ms") {
        props.push(("request.timeout.ms".into(), "1500".into()));
    }
    // --message-send-max-retries defaults to 3 (Kafka's maybeMergeOptions).
    if !props.iter().any(|(k, _)| k == "retries") {
        props.push(("retries".into(), "3".into()));
    }
    let cfg = a.client.config_with("console-producer", &[], &props.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>())?;
    let pcfg = ProducerConfig::from_props(&cfg.props).map_err(anyhow::Error::msg)?;
    let input: Box<dyn BufRead + Send> = match &a.input_file {
        Some(f) => Box::new(std::io::BufReader::new(std::fs::File::open(f).with_context(|| format!("cannot open {}", f.display()))?)),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let prompt = a.input_file.is_none() && std::io::stdin().is_terminal();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let cluster = Cluster::connect(cfg).await.context("cannot reach the cluster")?;
        let transactional = pcfg.transactional_id.is_some();
        let producer = Producer::new(cluster, pcfg).await?;
        // With transactional.id the whole input is one transaction, committed at the end
        // of input (aborted when any record failed), so consumers reading committed data
        // see all of it or none.
        if transactional {
            producer.init_transactions().await.context("initTransactions failed")?;
            producer.begin_transaction()?;
        }
        let mut failures = 0usize;
        let mut pending = Vec::new();
        let (line_tx, mut line_rx) = tokio::sync::mpsc::channel::<std::io::Result<String>>(1024);
        // stdin is blocking: read it on its own thread.
        std::thread::spawn(move || {
            let mut input = input;
            loop {
                if prompt {
                    print!(">");
                    let _ = std::io::stdout().flush();
                }
                let mut line = String::new();
                match input.read_line(&mut line) {
                    Ok(0) => return,
                    Ok(_) => {
                        let l = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_string();
                        if line_tx.blocking_send(Ok(l)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = line_tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        let mut line_no = 0;
        while let Some(line) = line_rx.recv().await {
            let line = line.context("cannot read input")?;
            line_no += 1;
            let (key, value, headers) = reader.parse(&line, line_no)?;
            let value_len = value.as_ref().map_or(0, |v| v.len());
            let key_text = key.as_ref().map(|k| String::from_utf8_lossy(k).to_string()).unwrap_or_else(|| "null".into());
            let record = ProducerRecord { topic: a.topic.clone(), key, value, headers, ..Default::default() };
            let delivery = producer.send(record);
            if a.sync {
                if let Err(e) = delivery.wait().await {
                    eprintln!(
                        "Error when sending message to topic {} with key: {key_text}, value: {value_len} bytes with error: {e}",
                        a.topic
                    );
                    failures += 1;
                }
            } else {
                pending.push((key_text, value_len, delivery));
            }
        }
        producer.flush().await;
        for (key_text, value_len, d) in pending {
            if let Err(e) = d.wait().await {
                eprintln!("Error when sending message to topic {} with key: {key_text}, value: {value_len} bytes with error: {e}", a.topic);
                failures += 1;
            }
        }
        if transactional {
            if failures == 0 {
                producer.commit_transaction().await.context("commitTransaction failed")?;
            } else {
                eprintln!("{failures} record(s) failed: aborting the transaction");
                producer.abort_transaction().await.context("abortTransaction failed")?;
            }
        }
        producer.close().await;
        Ok(if failures > 0 { 1 } else { 0 })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(props: &[(&str, &str)]) -> LineReader {
        LineReader::from_props(&props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap()
    }

    #[test]
    fn kafka_line_grammar() {
        let r = reader(&[("parse.key", "true"), ("parse.headers", "true"), ("null.marker", "NULL")]);
        let (k, v, h) = r.parse("h1:v1,h2:NULL\tkey\tvalue", 1).unwrap();
        assert_eq!(k.as_deref(), Some(&b"key"[..]));
        assert_eq!(v.as_deref(), Some(&b"value"[..]));
        assert_eq!(h, vec![("h1".to_string(), Some(Bytes::from_static(b"v1"))), ("h2".to_string(), None)]);
        let (k, v, _) = r.parse("\tNULL\tNULL", 1).unwrap();
        assert_eq!((k, v), (None, None));
        let (k, _, h) = r.parse("\t\tv", 1).unwrap();
        assert_eq!((k, h.len()), (Some(Bytes::new()), 0), "an empty key is not null");
        let e = reader(&[("parse.key", "true")]).parse("novalue", 3).unwrap_err().to_string();
        assert_eq!(e, "No key separator found on line number 3: 'novalue'");
        let (k, v, _) = reader(&[("parse.key", "true"), ("ignore.error", "true")]).parse("novalue", 3).unwrap();
        assert_eq!((k, v.as_deref()), (None, Some(&b"novalue"[..])));
        let (k, _, _) = reader(&[("parse.key", "true"), ("key.separator", "::")]).parse("a::b::c", 1).unwrap();
        assert_eq!(k.as_deref(), Some(&b"a"[..]));
        assert!(LineReader::from_props(&[("null.marker".to_string(), "\t".to_string())].into_iter().collect()).is_err());
    }
}
