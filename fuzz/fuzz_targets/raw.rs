#![no_main]
//! Fuzzes the raw-byte API (`rectifier::raw::call`): misaligned and ragged buffers are errors,
//! nothing written on error, and the typed API's results bit for bit otherwise.
use libfuzzer_sys::fuzz_target;
use rectifier_fuzz::harness::run_raw;

fuzz_target!(|data: &[u8]| run_raw(data));
