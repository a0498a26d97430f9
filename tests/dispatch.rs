//! Dispatch: detection, forcing a backend, `RECTIFIER_BACKEND`.
//!
//! CI runs this suite on CPUs with and without AVX-512 / AVX2 (natively and under qemu) and sets
//! `RECTIFIER_EXPECT_BACKEND` to what detection must find there.

use std::process::Command;

use rectifier::backend::{BackendSet, select};
use rectifier::{ALL_BACKENDS, BACKEND_ENV_VAR, Backend, Error, Rectifier, supported_backends};

#[test]
fn detected_is_the_best_supported() {
    let s = supported_backends();
    assert!(s.contains(Backend::Scalar));
    let best = Backend::detected();
    assert!(best.is_supported());
    for b in s.iter() {
        assert!(
            b <= best || b == Backend::Neon,
            "{b} supported but {best} detected"
        );
    }
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(
            s.contains(Backend::Avx512),
            std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl")
        );
        assert_eq!(
            s.contains(Backend::Avx2),
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
        );
        assert!(!s.contains(Backend::Neon));
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert_eq!(
            s.contains(Backend::Neon),
            std::arch::is_aarch64_feature_detected!("neon")
        );
        assert!(!s.contains(Backend::Avx2) && !s.contains(Backend::Avx512));
    }
}

/// CI sets `RECTIFIER_EXPECT_BACKEND` to the backend this (real or emulated) CPU must detect.
#[test]
fn detected_matches_ci_expectation() {
    match std::env::var("RECTIFIER_EXPECT_BACKEND") {
        Ok(want) => {
            let want = Backend::from_name(&want).expect("RECTIFIER_EXPECT_BACKEND names a backend");
            assert_eq!(
                Backend::detected(),
                want,
                "supported: {}",
                supported_backends()
            );
        }
        Err(_) => eprintln!(
            "RECTIFIER_EXPECT_BACKEND not set; detected {}",
            Backend::detected()
        ),
    }
}

#[test]
fn forcing_unsupported_is_an_error_not_a_fault() {
    for b in ALL_BACKENDS {
        match Rectifier::new(b) {
            Ok(r) => {
                assert!(b.is_supported());
                // Runs, and the result is right.
                let mut y = [9.0f32; 5];
                r.relu(&[-1.0, 2.0, -0.0, 3.0, -4.0], &mut y).unwrap();
                assert_eq!(
                    y.map(f32::to_bits),
                    [0.0f32, 2.0, -0.0, 3.0, 0.0].map(f32::to_bits)
                );
            }
            Err(e) => {
                assert!(!b.is_supported());
                assert_eq!(
                    e,
                    Error::UnsupportedBackend {
                        requested: b,
                        supported: supported_backends()
                    }
                );
                assert!(e.to_string().contains(b.name()));
            }
        }
    }
}

/// The child half of `env_override_lowers_and_never_raises`: runs in a fresh process with
/// `RECTIFIER_BACKEND` set, and checks what the process chose.
#[test]
fn env_override_child() {
    let Ok(want) = std::env::var("RECTIFIER_TEST_EXPECT_ACTIVE") else {
        return; // only meaningful when spawned by the parent test
    };
    assert_eq!(Backend::active().name(), want);
    assert_eq!(Rectifier::auto().backend().name(), want);
    let sel = rectifier::backend_selection();
    assert_eq!(sel.detected, Backend::detected());
    let problem_expected = std::env::var("RECTIFIER_TEST_EXPECT_PROBLEM").is_ok();
    assert_eq!(sel.env_problem.is_some(), problem_expected, "{sel:?}");
}

fn run_child(value: &str, expect_active: Backend, expect_problem: bool) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "env_override_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(BACKEND_ENV_VAR, value)
    .env("RECTIFIER_TEST_EXPECT_ACTIVE", expect_active.name());
    if expect_problem {
        cmd.env("RECTIFIER_TEST_EXPECT_PROBLEM", "1");
    } else {
        cmd.env_remove("RECTIFIER_TEST_EXPECT_PROBLEM");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child with {BACKEND_ENV_VAR}={value:?} failed:\n{stdout}\n{stderr}"
    );
    if expect_problem {
        assert!(
            stderr.contains("rectifier: RECTIFIER_BACKEND="),
            "not reported: {stderr}"
        );
    }
}

#[test]
fn env_override_lowers_and_never_raises() {
    let detected = Backend::detected();
    // Every supported backend can be chosen (all are at or below the detected one).
    for b in supported_backends().iter() {
        run_child(b.name(), b, false);
    }
    // Unsupported ones are reported and fall back to detection: never raised.
    for b in ALL_BACKENDS.into_iter().filter(|b| !b.is_supported()) {
        run_child(b.name(), detected, true);
    }
    // Unknown values are reported, not ignored.
    run_child("sse9", detected, true);
}

// The pure selection rule (`backend::select`), apart from the process environment.

#[test]
fn env_lowers_never_raises() {
    let avx2_cpu = BackendSet::EMPTY.with(Backend::Scalar).with(Backend::Avx2);
    assert_eq!(select(avx2_cpu, None).active, Backend::Avx2);
    assert_eq!(select(avx2_cpu, Some("scalar")).active, Backend::Scalar);
    let s = select(avx2_cpu, Some("avx512"));
    assert_eq!(s.active, Backend::Avx2);
    assert!(s.env_problem.unwrap().contains("does not support"));
    let s = select(avx2_cpu, Some("fast"));
    assert_eq!(s.active, Backend::Avx2);
    assert!(s.env_problem.unwrap().contains("not a backend name"));
    assert_eq!(select(avx2_cpu, Some("")).active, Backend::Avx2);
    assert_eq!(select(avx2_cpu, Some(" AVX2 ")).active, Backend::Avx2);
}

#[test]
fn set_best_and_display() {
    let s = BackendSet::EMPTY
        .with(Backend::Scalar)
        .with(Backend::Avx2)
        .with(Backend::Avx512);
    assert_eq!(s.best(), Backend::Avx512);
    assert_eq!(s.to_string(), "scalar, avx2, avx512");
    assert_eq!(BackendSet::EMPTY.best(), Backend::Scalar);
}
