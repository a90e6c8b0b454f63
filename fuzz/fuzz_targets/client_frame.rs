#![no_main]
//! Arbitrary bytes as a client WebSocket frame.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hero_core::fuzzing::client_frame(data));
