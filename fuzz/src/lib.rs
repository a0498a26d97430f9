//! The fuzz harness (shared with the stable corpus-replay test `tests/fuzz_corpus.rs`).
pub mod harness;
