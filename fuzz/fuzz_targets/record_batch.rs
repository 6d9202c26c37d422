//! Fuzzes record-batch validation the way a produce request is handled: header parsing,
//! the LogValidator (framing, CRC, every record, bounded decompression) and, for batches
//! that pass, re-encoding for topic compression; and the legacy message sets' up- and
//! down-conversion. Must never panic.
#![no_main]
use kafka_protocol::records::Compression;
use libfuzzer_sys::fuzz_target;

/// The broker binary's allocator, so wire-sized allocations behave as in `rk server`.
#[global_allocator]
static GLOBAL: rk::alloc::GuardedAlloc = rk::alloc::GuardedAlloc;
use rk::broker::log::{batch, codec, message_set, validator};

fuzz_target!(|data: &[u8]| {
    let _ = batch::BatchHeader::parse(data);
    let _ = batch::walk(data).count();
    // Fix the CRC up so the fuzzer also reaches the decoders behind the CRC check.
    let mut owned = data.to_vec();
    if owned.len() >= batch::HEADER_LEN {
        let crc = crc32c::crc32c(&owned[21..]);
        owned[17..21].copy_from_slice(&crc.to_be_bytes());
    }
    for buf in [data, &owned[..]] {
        let limits = validator::Limits {
            compact: true,
            log_append_time: false,
            max_message_bytes: 1 << 20,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: i64::MAX,
        };
        // What the broker does before appending: full validation, then (only for a valid
        // batch) re-encoding for a topic codec.
        if validator::validate_client_batch(buf, &limits, 0).is_ok() {
            let _ = codec::recompress(buf, Compression::Lz4);
            // What an old fetch does with a stored (so validated) batch.
            let _ = message_set::down_convert(buf, 0, 1);
        }
    }
    // The legacy formats (KIP-896 versions): a produced message set up-converted.
    let _ = message_set::up_convert(bytes::Bytes::copy_from_slice(data), 1 << 20);
});
