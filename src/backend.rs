//! Backends, CPU feature detection, the `RECTIFIER_BACKEND` override and the cached choice.
//!
//! Detection runs once per process; the result is cached in a [`OnceLock`], so the hot path of
//! every kernel pays one load of the cached [`Backend`] and one predictable `match`.

use core::fmt;
use std::sync::OnceLock;

/// A family of kernels compiled for one instruction set.
///
/// Every backend computes bit-for-bit the same results (see `SPEC.md` and the crate docs); they
/// differ only in speed. [`Backend::Scalar`] is the reference implementation: plain loops that are
/// the specification in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Backend {
    /// The scalar reference implementation. Always available.
    Scalar = 0,
    /// x86-64-v3: AVX2 + FMA (pulp's `V3`), 256-bit vectors.
    Avx2 = 1,
    /// x86-64-v4: AVX-512 F/BW/CD/DQ/VL (pulp's `V4`), 512-bit vectors and mask registers.
    Avx512 = 2,
    /// aarch64 Advanced SIMD (NEON), 128-bit vectors.
    Neon = 3,
}

/// Every backend, in the order used for listing.
pub const ALL_BACKENDS: [Backend; 4] = [
    Backend::Scalar,
    Backend::Avx2,
    Backend::Avx512,
    Backend::Neon,
];

impl Backend {
    /// The lowercase name used by `RECTIFIER_BACKEND`, the report and the C ABI.
    ///
    /// ```
    /// assert_eq!(rectifier::Backend::Avx512.name(), "avx512");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
            Backend::Neon => "neon",
        }
    }

    /// Parses a name as written by [`Backend::name`] (ASCII case is ignored).
    ///
    /// ```
    /// use rectifier::Backend;
    /// assert_eq!(Backend::from_name("AVX2"), Some(Backend::Avx2));
    /// assert_eq!(Backend::from_name("sse"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Backend> {
        ALL_BACKENDS
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether this CPU (and this build) can run the backend. Detection runs once and is cached.
    pub fn is_supported(self) -> bool {
        supported().contains(self)
    }

    /// The fastest backend this CPU supports, ignoring `RECTIFIER_BACKEND`.
    pub fn detected() -> Backend {
        supported().best()
    }

    /// The backend the free functions use: [`Backend::detected`], lowered by the environment
    /// variable `RECTIFIER_BACKEND` when it names a supported backend. Cached on first use.
    ///
    /// ```
    /// let b = rectifier::Backend::active();
    /// assert!(b.is_supported());
    /// ```
    pub fn active() -> Backend {
        selection().active
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of backends (a bit set over [`Backend`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BackendSet(u8);

impl BackendSet {
    /// The empty set.
    pub const EMPTY: BackendSet = BackendSet(0);

    /// This set with `b` added.
    pub const fn with(self, b: Backend) -> BackendSet {
        BackendSet(self.0 | (1 << b as u8))
    }

    /// Whether `b` is in the set.
    pub const fn contains(self, b: Backend) -> bool {
        self.0 & (1 << b as u8) != 0
    }

    /// The members, in the order of [`ALL_BACKENDS`].
    pub fn iter(self) -> impl Iterator<Item = Backend> {
        ALL_BACKENDS.into_iter().filter(move |&b| self.contains(b))
    }

    /// The fastest member: AVX-512 over AVX2 over NEON over scalar.
    pub fn best(self) -> Backend {
        [Backend::Avx512, Backend::Avx2, Backend::Neon]
            .into_iter()
            .find(|&b| self.contains(b))
            .unwrap_or(Backend::Scalar)
    }
}

impl fmt::Debug for BackendSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for BackendSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for b in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            f.write_str(b.name())?;
        }
        Ok(())
    }
}

/// The backends this CPU and build support. Detected once, then cached.
///
/// ```
/// let s = rectifier::supported_backends();
/// assert!(s.contains(rectifier::Backend::Scalar));
/// ```
pub fn supported_backends() -> BackendSet {
    supported()
}

fn supported() -> BackendSet {
    static SUPPORTED: OnceLock<BackendSet> = OnceLock::new();
    *SUPPORTED.get_or_init(detect)
}

fn detect() -> BackendSet {
    #[allow(unused_mut)]
    let mut set = BackendSet::EMPTY.with(Backend::Scalar);
    #[cfg(target_arch = "x86_64")]
    {
        // F16C (the `f16` conversions) is part of x86-64-v3 but not of pulp's `V3` token: the
        // AVX2 backend requires it too, and `dispatch::run` enables it.
        let f16c = std::arch::is_x86_feature_detected!("f16c");
        if pulp::x86::V3::is_available() && f16c {
            set = set.with(Backend::Avx2);
        }
        let avx512 = pulp::x86::V4::is_available() && f16c;
        if avx512 {
            set = set.with(Backend::Avx512);
        }
        crate::halves::detect_avx512_bf16(avx512);
    }
    #[cfg(target_arch = "aarch64")]
    {
        if pulp::aarch64::Neon::is_available() {
            set = set.with(Backend::Neon);
        }
    }
    set
}

/// How the active backend was chosen: what was detected, what `RECTIFIER_BACKEND` said, and the
/// result. Returned by [`backend_selection`]; the report prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSelection {
    /// The fastest backend the CPU supports.
    pub detected: Backend,
    /// The raw value of `RECTIFIER_BACKEND`, if set.
    pub env_value: Option<String>,
    /// Why the value of `RECTIFIER_BACKEND` was not used, if it was set and not used.
    pub env_problem: Option<String>,
    /// The backend the free functions use.
    pub active: Backend,
}

/// Name of the environment variable that lowers the automatic backend choice.
pub const BACKEND_ENV_VAR: &str = "RECTIFIER_BACKEND";

/// How the active backend was chosen (cached on first use, like [`Backend::active`]).
pub fn backend_selection() -> &'static BackendSelection {
    selection()
}

fn selection() -> &'static BackendSelection {
    static SELECTION: OnceLock<BackendSelection> = OnceLock::new();
    SELECTION.get_or_init(|| {
        let value = std::env::var(BACKEND_ENV_VAR).ok();
        let sel = select(supported(), value.as_deref());
        if let Some(problem) = &sel.env_problem {
            // Reported, never silently ignored (SPEC section 5).
            eprintln!("rectifier: {problem}");
        }
        sel
    })
}

/// The selection rule of [`backend_selection`] for a CPU that supports `supported`, with
/// `RECTIFIER_BACKEND` set to `env_value`, apart from the process (for tests, and to explain a
/// choice): a supported backend named in `env_value` is used (it can only be at or below the
/// detected one); anything else is reported in `env_problem` and detection is used.
///
/// ```
/// use rectifier::backend::{Backend, BackendSet, select};
/// let avx2_cpu = BackendSet::EMPTY.with(Backend::Scalar).with(Backend::Avx2);
/// assert_eq!(select(avx2_cpu, Some("scalar")).active, Backend::Scalar);
/// // Never raised above what the CPU supports:
/// let s = select(avx2_cpu, Some("avx512"));
/// assert_eq!(s.active, Backend::Avx2);
/// assert!(s.env_problem.is_some());
/// ```
pub fn select(supported: BackendSet, env_value: Option<&str>) -> BackendSelection {
    let detected = supported.best();
    let mut sel = BackendSelection {
        detected,
        env_value: env_value.map(str::to_owned),
        env_problem: None,
        active: detected,
    };
    let Some(value) = env_value else {
        return sel;
    };
    if value.trim().is_empty() {
        return sel;
    }
    match Backend::from_name(value) {
        None => {
            sel.env_problem = Some(format!(
                "{BACKEND_ENV_VAR}={value:?} is not a backend name (expected one of scalar, avx2, avx512, neon); using the detected backend {detected}"
            ));
        }
        Some(b) if !supported.contains(b) => {
            sel.env_problem = Some(format!(
                "{BACKEND_ENV_VAR}={value:?} names a backend this CPU does not support (supported: {supported}); using the detected backend {detected}"
            ));
        }
        Some(b) => sel.active = b,
    }
    sel
}
