//! Fuzzes record-batch validation the way a produce request is handled: header parsing,
//! CRC/length validation, and for batches that pass, record decoding, the null-key check
//! of compacted topics and re-encoding for topic compression. Must never panic.
#![no_main]
use kafka_protocol::records::Compression;
use libfuzzer_sys::fuzz_target;

/// The broker binary's allocator, so wire-sized allocations behave as in `rk server`.
#[global_allocator]
static GLOBAL: rk::alloc::GuardedAlloc = rk::alloc::GuardedAlloc;
use rk::broker::log::{batch, cleaner, codec};

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
        if batch::validate(buf).is_ok() {
            let _ = cleaner::require_keys(buf);
            let _ = codec::recompress(buf, Compression::Lz4);
        }
    }
});
