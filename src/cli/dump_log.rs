//! `rk dump-log` (kafka-dump-log.sh): prints the batches and records of log segment files
//! (`.log`) and metadata snapshots (`.checkpoint`) in Kafka's DumpLogSegments layout, with
//! the cluster-metadata and `__consumer_offsets` decoders. It reads files, like Kafka's
//! tool, and never writes them.

use crate::broker::coordinator::group::store::{GroupValue, Key, OffsetValue};
use crate::broker::log::batch::{self, BatchHeader};
use crate::broker::metadata::MetadataRecord;
use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use kafka_protocol::records::{Record, RecordBatchDecoder};
use std::io::Write;
use std::path::Path;

#[derive(Args, Debug)]
pub struct DumpLogArgs {
    /// REQUIRED: The comma separated list of data log files to be dumped.
    #[arg(long, value_name = "file1,file2,...", value_delimiter = ',', required = true)]
    pub files: Vec<String>,
    /// Print the records' content (implied by the decoders).
    #[arg(long)]
    pub print_data_log: bool,
    /// Print every record, not only batch headers (implied by --print-data-log).
    #[arg(long)]
    pub deep_iteration: bool,
    /// Decode values as cluster metadata records (__cluster_metadata).
    #[arg(long)]
    pub cluster_metadata_decoder: bool,
    /// Decode records as __consumer_offsets keys and values.
    #[arg(long)]
    pub offsets_decoder: bool,
    /// Do not print each record's metadata (offset, timestamp, sizes).
    #[arg(long)]
    pub skip_record_metadata: bool,
    /// Stop after this many bytes of batches per file.
    #[arg(long, value_name = "size", default_value_t = i32::MAX as u64)]
    pub max_bytes: u64,
}

pub fn run(a: DumpLogArgs) -> anyhow::Result<i32> {
    let out = std::io::stdout();
    let mut out = out.lock();
    for f in &a.files {
        let path = Path::new(f);
        writeln!(out, "Dumping {f}")?;
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if let Some(stem) = name.strip_suffix(".log") {
            writeln!(out, "Log starting offset: {}", stem.parse::<i64>().unwrap_or(0))?;
        } else if let Some(stem) = name.strip_suffix(".checkpoint") {
            let (offset, epoch) = stem.split_once('-').unwrap_or((stem, "0"));
            let n = |s: &str| s.parse::<i64>().unwrap_or(0);
            writeln!(out, "Snapshot end offset: {}, epoch: {}", n(offset), n(epoch))?;
        } else {
            eprintln!("Ignoring unknown file {f}");
            continue;
        }
        let data = std::fs::read(path).with_context(|| format!("cannot read {f}"))?;
        dump(&a, &data, &name, &mut out)?;
    }
    Ok(0)
}

fn dump(a: &DumpLogArgs, data: &[u8], name: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let print = a.print_data_log || a.cluster_metadata_decoder || a.offsets_decoder;
    let deep = a.deep_iteration || print;
    let mut pos = 0usize;
    while pos < data.len() && (pos as u64) < a.max_bytes {
        let Ok(h) = BatchHeader::parse(&data[pos..]) else { break };
        if pos + h.size > data.len() {
            break;
        }
        let raw = &data[pos..pos + h.size];
        writeln!(out, "{}", batch_line(&h, raw, pos))?;
        if deep {
            let records = RecordBatchDecoder::decode(&mut Bytes::copy_from_slice(raw)).map(|s| s.records).unwrap_or_default();
            for r in records {
                writeln!(out, "{}", record_line(a, &h, &r, print))?;
            }
        }
        pos += h.size;
    }
    if pos < data.len() && a.max_bytes >= i32::MAX as u64 {
        writeln!(out, "Found {} invalid bytes at the end of {name}", data.len() - pos)?;
    }
    Ok(())
}

fn timestamp_type(h: &BatchHeader) -> &'static str {
    if h.is_log_append_time() { "LogAppendTime" } else { "CreateTime" }
}

fn batch_line(h: &BatchHeader, raw: &[u8], pos: usize) -> String {
    let last_seq = if h.base_sequence < 0 { -1 } else { h.base_sequence.wrapping_add(h.last_offset_delta) & i32::MAX };
    let horizon = if h.attributes & 0x40 != 0 { format!("OptionalLong[{}]", h.base_timestamp) } else { "OptionalLong.empty".into() };
    let codec = ["none", "gzip", "snappy", "lz4", "zstd"].get(h.compression() as usize).copied().unwrap_or("unknown");
    let crc = u32::from_be_bytes(raw[17..21].try_into().expect("header checked"));
    format!(
        "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {last_seq} producerId: {} producerEpoch: {} \
         partitionLeaderEpoch: {} isTransactional: {} isControl: {} deleteHorizonMs: {horizon} position: {pos} {}: {} size: {} \
         magic: 2 compresscodec: {codec} crc: {crc} isvalid: {}",
        h.base_offset,
        h.last_offset(),
        h.record_count,
        h.base_sequence,
        h.producer_id,
        h.producer_epoch,
        h.leader_epoch,
        h.is_transactional(),
        h.is_control(),
        timestamp_type(h),
        h.max_timestamp,
        h.size,
        batch::crc_ok(raw),
    )
}

fn text(b: &Option<Bytes>) -> String {
    b.as_ref().map(|v| String::from_utf8_lossy(v).to_string()).unwrap_or_else(|| "null".into())
}

fn record_line(a: &DumpLogArgs, h: &BatchHeader, r: &Record, print: bool) -> String {
    let mut line = String::from("|");
    if !a.skip_record_metadata {
        let size = |b: &Option<Bytes>| b.as_ref().map_or(-1, |v| v.len() as i64);
        let keys: Vec<String> = r.headers.keys().map(|k| k.to_string()).collect();
        line.push_str(&format!(
            " offset: {} {}: {} keySize: {} valueSize: {} sequence: {} headerKeys: [{}]",
            r.offset,
            timestamp_type(h),
            r.timestamp,
            size(&r.key),
            size(&r.value),
            if h.base_sequence < 0 { -1 } else { r.sequence },
            keys.join(",")
        ));
        if h.is_control()
            && let Some(k) = &r.key
            && k.len() >= 4
        {
            let kind = i16::from_be_bytes([k[2], k[3]]);
            let epoch = r.value.as_ref().filter(|v| v.len() >= 6).map_or(-1, |v| i32::from_be_bytes([v[2], v[3], v[4], v[5]]));
            let marker = match kind {
                0 => "ABORT",
                1 => "COMMIT",
                _ => "UNKNOWN",
            };
            line.push_str(&format!(" endTxnMarker: {marker} coordinatorEpoch: {epoch}"));
        }
    }
    if print && !h.is_control() {
        let (key, payload) = if a.cluster_metadata_decoder {
            let payload = match r.value.as_ref().map(|v| MetadataRecord::decode(v)) {
                Some(Ok(_)) => text(&r.value),
                Some(Err(e)) => format!("<unreadable: {e}>"),
                None => "null".into(),
            };
            (None, payload)
        } else if a.offsets_decoder {
            offsets_record(r)
        } else {
            (r.key.as_ref().map(|_| text(&r.key)), text(&r.value))
        };
        if let Some(k) = key {
            line.push_str(&format!(" key: {k}"));
        }
        line.push_str(&format!(" payload: {payload}"));
    }
    line
}

/// `__consumer_offsets` records as JSON, in the spirit of Kafka's OffsetsMessageParser.
fn offsets_record(r: &Record) -> (Option<String>, String) {
    let Some(k) = r.key.clone() else { return (None, text(&r.value)) };
    match Key::decode(k) {
        Ok(Key::Offset { group, topic, partition }) => {
            let key = serde_json::json!({"type": "offset_commit", "data": {"group": group, "topic": topic, "partition": partition}});
            let value = match r.value.clone().map(OffsetValue::decode) {
                None => "<DELETE>".to_string(),
                Some(Ok(v)) => serde_json::json!({"offset": v.offset, "leaderEpoch": v.leader_epoch, "metadata": v.metadata,
                    "commitTimestamp": v.commit_timestamp})
                .to_string(),
                Some(Err(e)) => format!("<unreadable: {e}>"),
            };
            (Some(key.to_string()), value)
        }
        Ok(Key::Group { group }) => {
            let key = serde_json::json!({"type": "group_metadata", "data": {"group": group}});
            let value = match r.value.clone().map(GroupValue::decode) {
                None => "<DELETE>".to_string(),
                Some(Ok(v)) => serde_json::json!({"protocolType": v.protocol_type, "generation": v.generation,
                    "protocol": v.protocol, "leader": v.leader, "members": v.members.iter().map(|m| &m.member_id).collect::<Vec<_>>()})
                .to_string(),
                Some(Err(e)) => format!("<unreadable: {e}>"),
            };
            (Some(key.to_string()), value)
        }
        Err(e) => (Some(format!("<unreadable: {e}>")), text(&r.value)),
    }
}
