//! Fuzzes request decoding exactly as the broker's dispatch parses frames: header peek,
//! api/version table checks, header and body decode. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rk::broker::apis::decode_request(bytes::Bytes::copy_from_slice(data));
});
