#![no_main]
//! Fuzzes the maxout backward kernels on every backend against the scalar reference.
use libfuzzer_sys::fuzz_target;
use rectifier_fuzz::harness::{Family, run};

fuzz_target!(|data: &[u8]| run(Family::MaxoutBackward, data));
