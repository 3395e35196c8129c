//! The upgrade response parser and checker, fed arbitrary server bytes in
//! arbitrary read sizes.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::handshake_response(data));
