#![no_main]
//! Fuzzes the C ABI (`rectifier_<op>_<f32|f64>_on`): boundary statuses in their order, nothing
//! written on failure, and the Rust API's results bit for bit on success.
use libfuzzer_sys::fuzz_target;
use rectifier_fuzz::harness::run_c_abi;

fuzz_target!(|data: &[u8]| run_c_abi(data));
