#![no_main]
//! Arbitrary bytes as a frame on a task's document socket (the shared description).
libfuzzer_sys::fuzz_target!(|data: &[u8]| hero_core::fuzzing::doc_frame(data));
