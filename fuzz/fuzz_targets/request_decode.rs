//! Fuzzes request decoding exactly as the broker's dispatch parses frames: header peek,
//! api/version table checks, header and body decode. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

/// The broker binary's allocator, so wire-sized allocations behave as in `rk server`.
#[global_allocator]
static GLOBAL: rk::alloc::GuardedAlloc = rk::alloc::GuardedAlloc;

fuzz_target!(|data: &[u8]| {
    let _ = rk::broker::apis::decode_request(bytes::Bytes::copy_from_slice(data));
});
