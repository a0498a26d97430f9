//! Records how the crate was built (target, compiler, profile, cargo features, baseline target
//! features) as constants in `rectifier::build_info`, which the throughput report prints so that
//! every published number says what produced it.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let var = |k: &str| env::var(k).unwrap_or_default();
    let mut features: Vec<String> = env::vars()
        .filter_map(|(k, _)| {
            k.strip_prefix("CARGO_FEATURE_")
                .map(|f| f.to_lowercase().replace('_', "-"))
        })
        .collect();
    features.sort();
    let target_features = var("CARGO_CFG_TARGET_FEATURE");
    let source = format!(
        "/// The target triple the crate was compiled for.\n\
         pub const TARGET: &str = {:?};\n\
         /// `rustc --version` of the compiler that built the crate.\n\
         pub const RUSTC_VERSION: &str = {:?};\n\
         /// The cargo profile (`debug` or `release`).\n\
         pub const PROFILE: &str = {:?};\n\
         /// `opt-level` of that profile.\n\
         pub const OPT_LEVEL: &str = {:?};\n\
         /// The crate's cargo features that were enabled.\n\
         pub const FEATURES: &[&str] = &{:?};\n\
         /// Target features enabled for the whole build (the baseline; the SIMD backends enable\n\
         /// their own at run time, whatever this says).\n\
         pub const BASELINE_TARGET_FEATURES: &str = {:?};\n",
        var("TARGET"),
        rustc_version,
        var("PROFILE"),
        var("OPT_LEVEL"),
        features,
        target_features,
    );
    let path = out.join("build_info.rs");
    // Only rewrite when the content changes, so that builds stay incremental.
    if fs::read_to_string(&path).ok().as_deref() != Some(source.as_str()) {
        fs::write(&path, source).expect("write build_info.rs");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTFLAGS");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
}
