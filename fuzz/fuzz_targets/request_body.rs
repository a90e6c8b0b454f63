#![no_main]
//! Arbitrary bytes as a REST body, a query string and a bearer token.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hero_core::fuzzing::request_body(data));
