//! The frame receive path (decoding, UTF-8, limits, control frames), fed
//! arbitrary server bytes split at arbitrary points.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::frame_receive(data));
