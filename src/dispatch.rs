//! From a validated call to the kernel of one backend: the [`Rectifier`] handle and [`run`].

use pulp::WithSimd;

use crate::backend::Backend;
use crate::error::Error;

/// A kernel that can run on every backend: through pulp on the SIMD backends (its
/// [`WithSimd`] impl), and as the scalar reference on [`Backend::Scalar`].
pub(crate) trait Kernel: WithSimd {
    /// The same computation by the scalar reference.
    fn reference(self) -> Self::Output;
}

/// Runs `k` on `backend`. `backend` must be supported by this CPU: only [`Rectifier`] calls this,
/// and a `Rectifier` is only made for a supported backend.
#[inline]
pub(crate) fn run<K: Kernel>(backend: Backend, k: K) -> K::Output {
    debug_assert!(backend.is_supported());
    match backend {
        Backend::Scalar => k.reference(),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => {
            // SAFETY: `Rectifier::new` only accepts supported backends, and `Avx2` is supported
            // only when pulp's `V3::is_available()` returned true (AVX2, FMA and the rest of
            // x86-64-v3 are present), which is what `new_unchecked` requires, and F16C was
            // detected, which is what `run_v3` requires.
            unsafe { run_v3(pulp::x86::V3::new_unchecked(), k) }
        }
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => {
            // SAFETY: as above, with `V4::is_available()` (AVX-512 F/BW/CD/DQ/VL) checked when
            // the backend was detected.
            let simd = unsafe { pulp::x86::V4::new_unchecked() };
            pulp::Simd::vectorize(simd, k)
        }
        #[cfg(target_arch = "aarch64")]
        Backend::Neon => {
            // SAFETY: as above, with `Neon::is_available()` checked when the backend was detected.
            let simd = unsafe { pulp::aarch64::Neon::new_unchecked() };
            pulp::Simd::vectorize(simd, k)
        }
        // Backends of another architecture are never supported, so never reach here; the
        // reference is a safe answer all the same.
        #[allow(unreachable_patterns)]
        _ => k.reference(),
    }
}

/// Runs `k` on pulp's `V3` token in a region that also has F16C (the half-precision
/// conversions), which pulp's own `V3::vectorize` does not enable. The kernels' `with_simd` are
/// `#[inline(always)]`, so they are compiled here, with these features.
///
/// # Safety
/// The CPU has every feature of pulp's `V3` (x86-64-v3) and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,bmi1,bmi2,fma,lzcnt,f16c")]
unsafe fn run_v3<K: WithSimd>(simd: pulp::x86::V3, k: K) -> K::Output {
    k.with_simd(simd)
}

/// A handle on one backend, checked once to be supported by this CPU; every kernel is a method.
///
/// The free functions of the crate ([`crate::relu`], ...) use [`Rectifier::auto`]. Make a
/// `Rectifier` for a chosen backend to compare backends, to benchmark, or to pin one:
///
/// ```
/// use rectifier::{Backend, Rectifier};
/// let r = Rectifier::new(Backend::Scalar)?;
/// let mut y = [0.0f32; 3];
/// r.relu(&[-1.0, 0.5, f32::NAN], &mut y)?;
/// assert_eq!(y[..2], [0.0, 0.5]);
/// assert!(y[2].is_nan());
/// # Ok::<(), rectifier::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rectifier {
    backend: Backend,
    parallel: bool,
}

impl Rectifier {
    /// A handle on `backend`, or [`Error::UnsupportedBackend`] if this CPU (or build) lacks it.
    pub fn new(backend: Backend) -> Result<Rectifier, Error> {
        if backend.is_supported() {
            Ok(Rectifier {
                backend,
                parallel: true,
            })
        } else {
            Err(Error::UnsupportedBackend {
                requested: backend,
                supported: crate::backend::supported_backends(),
            })
        }
    }

    /// A handle on [`Backend::active`]: the best backend of this CPU, lowered by
    /// `RECTIFIER_BACKEND`.
    #[inline]
    pub fn auto() -> Rectifier {
        Rectifier {
            backend: Backend::active(),
            parallel: true,
        }
    }

    /// This handle, running every call on the calling thread (no thread pool is touched).
    ///
    /// By default (with the `rayon` feature, on by default) inputs of at least
    /// [`crate::parallel::MIN_PARALLEL_ELEMS`] elements are split across the threads of the
    /// current rayon pool: the global pool, or the caller's own inside `ThreadPool::install`.
    /// The results are identical either way.
    ///
    /// ```
    /// let r = rectifier::Rectifier::auto().single_threaded();
    /// let mut y = vec![0.0f32; 3 << 20];
    /// r.relu(&vec![-1.0f32; 3 << 20], &mut y)?;
    /// assert!(y.iter().all(|&v| v == 0.0));
    /// # Ok::<(), rectifier::Error>(())
    /// ```
    #[inline]
    pub fn single_threaded(self) -> Rectifier {
        Rectifier {
            parallel: false,
            ..self
        }
    }

    /// This handle, splitting large inputs across threads (the default).
    #[inline]
    pub fn multi_threaded(self) -> Rectifier {
        Rectifier {
            parallel: true,
            ..self
        }
    }

    /// Whether large inputs are split across threads (always `false` without the `rayon`
    /// feature).
    #[inline]
    pub fn is_multi_threaded(self) -> bool {
        self.parallel && cfg!(feature = "rayon")
    }

    /// The backend this handle runs.
    #[inline]
    pub fn backend(self) -> Backend {
        self.backend
    }

    /// Runs `k`, split across threads where large (see [`crate::parallel`]).
    #[inline]
    pub(crate) fn run<K>(self, k: K)
    where
        K: Kernel<Output = ()> + crate::parallel::Split + Send,
    {
        crate::parallel::run_split(self.backend, self.parallel, k)
    }

    /// Runs `k` on the calling thread.
    #[inline]
    pub(crate) fn run_single<K: Kernel>(self, k: K) -> K::Output {
        run(self.backend, k)
    }
}

impl Default for Rectifier {
    fn default() -> Self {
        Rectifier::auto()
    }
}
