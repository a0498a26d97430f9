//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/*`) and the regression inputs
//! (`fuzz/regressions/<target>/*`) through the fuzz harness on stable Rust, so every input the
//! fuzzers found interesting stays tested by `cargo test`.

#[path = "../fuzz/src/harness.rs"]
mod harness;

use harness::{Family, run, run_c_abi, run_raw};

fn replay(target: &str, family: Family) {
    replay_with(target, |data| run(family, data));
}

fn replay_with(target: &str, run: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for f in files.iter().filter(|f| f.is_file()) {
            let data = std::fs::read(f).unwrap();
            let result = std::panic::catch_unwind(|| run(&data));
            assert!(result.is_ok(), "fuzz input {} fails", f.display());
            count += 1;
        }
    }
    assert!(count > 0, "no corpus for {target}");
    eprintln!("{target}: replayed {count} inputs");
}

#[test]
fn corpus_forward() {
    replay("forward", Family::Forward);
}

#[test]
fn corpus_backward() {
    replay("backward", Family::Backward);
}

#[test]
fn corpus_mask() {
    replay("mask", Family::Mask);
}

#[test]
fn corpus_maxout_forward() {
    replay("maxout_forward", Family::MaxoutForward);
}

#[test]
fn corpus_maxout_backward() {
    replay("maxout_backward", Family::MaxoutBackward);
}

#[test]
fn corpus_c_abi() {
    replay_with("c_abi", run_c_abi);
}

#[test]
fn corpus_raw() {
    replay_with("raw", run_raw);
}
