//! # rectifier
//!
//! Runtime-dispatched SIMD kernels for rectified activations — ReLU, leaky ReLU, PReLU and
//! absolute-value rectification — over `f32` and `f64` slices, bit for bit the same on every CPU
//! (AVX-512, AVX2 + FMA, NEON, or the scalar reference).
//!
//! ```
//! let z = [-2.0f32, -0.0, 0.5, f32::NAN];
//! let mut y = [0.0f32; 4];
//! rectifier::relu(&z, &mut y)?;                   // [+0, -0, 0.5, NaN (same bits)]
//! rectifier::leaky_relu(&z, &mut y, 0.01)?;       // [-0.02, -0, 0.5, NaN]
//! rectifier::abs(&z, &mut y)?;                    // [2, +0, 0.5, NaN (sign cleared)]
//! let mut x = z;
//! rectifier::relu_inplace(&mut x)?;
//! # Ok::<(), rectifier::Error>(())
//! ```
//!
//! ## Semantics
//! All rectifiers share the form `h(z) = max(0, z) + a * min(0, z)`: ReLU is `a = 0`, absolute
//! value rectification `a = -1`, leaky ReLU a small fixed `a`, PReLU a learnable `a` per
//! channel. The crate defines them as *selects*, which fixes signed zeros and NaN exactly
//! (the contract is `SPEC.md`; the scalar functions in [`mod@reference`] are that contract in code):
//!
//! | op | result | edge cases |
//! |---|---|---|
//! | [`relu`] | `z < 0 ? +0 : z` | `-0 -> -0`, NaN bits kept (signalling too), `-inf -> +0` |
//! | [`leaky_relu`] | `z > 0 ? z : a * z` (one rounding) | `-0 -> a * -0`, NaN quieted with sign and payload kept |
//! | [`abs`] | `z` with the sign bit cleared | NaN payload kept |
//! | [`prelu`] | `z > 0 ? z : a[c] * z`, `c` from the [`ChannelLayout`] | as `leaky_relu` |
//!
//! `f32::max(z, 0.0)` is *not* ReLU here (it maps NaN to 0), and `max(z, a * z)` is not leaky
//! ReLU (it is wrong for `a > 1` and `a < 0`). An invalid product such as `-inf * 0` gives the
//! x86 default NaN (`0xffc00000` / `0xfff8000000000000`) on every backend, NEON included.
//! Slopes must be finite ([`Error::NonFiniteSlope`]); subnormals are computed exactly and the
//! floating-point environment is never changed.
//!
//! ## Maxout
//! [`maxout`] splits `z` into `G` groups of `k` ([`MaxoutLayout::Interleaved`]: group `g` is
//! `z[g*k..(g+1)*k]`; [`MaxoutLayout::Planar`]: piece `j` of group `g` is `z[j*G + g]`) and
//! writes each group's maximum and its position (`u32`, or `u16`/`u8` when `k` fits, checked):
//! the first NaN wins with its bits, otherwise the earliest maximal element (ties, `-0` vs `+0`
//! included, go to the earliest), as `torch.max(z.view(-1, k), dim=1)`. [`maxout_values`] skips
//! the indices; [`maxout_backward`] scatters `dy` to the winners ([`MaxoutGradMode::Overwrite`]:
//! the rest `+0`; [`MaxoutGradMode::Accumulate`]: added to `dx`).
//!
//! ```
//! use rectifier::MaxoutLayout;
//! let z = [1.0f32, 3.0, -0.0, 0.0];
//! let (mut v, mut i) = ([0.0f32; 2], [0u32; 2]);
//! rectifier::maxout(&z, 2, MaxoutLayout::Interleaved, &mut v, &mut i)?;
//! assert_eq!((v[0], i), (3.0, [1, 0]));
//! assert_eq!(v[1].to_bits(), (-0.0f32).to_bits());
//! # Ok::<(), rectifier::Error>(())
//! ```
//!
//! ## Backends and dispatch
//! [`Backend::detected`] is the best of [`Backend::Avx512`], [`Backend::Avx2`],
//! [`Backend::Neon`] and [`Backend::Scalar`] that the CPU supports, found once and cached. The
//! free functions use [`Backend::active`], which the environment variable `RECTIFIER_BACKEND`
//! (`scalar|avx2|avx512|neon`) can lower but never raise; an unknown or unsupported value is
//! reported on stderr and ignored. [`Rectifier::new`] pins any supported backend (an error,
//! never an illegal instruction, for one the CPU lacks):
//!
//! ```
//! use rectifier::{Backend, Rectifier};
//! for b in rectifier::supported_backends().iter() {
//!     let mut y = [0.0f64; 2];
//!     Rectifier::new(b)?.relu(&[-1.0, 1.0], &mut y)?;
//!     assert_eq!(y, [0.0, 1.0]);
//! }
//! assert!(Rectifier::new(Backend::Neon).is_err() || cfg!(target_arch = "aarch64"));
//! # Ok::<(), rectifier::Error>(())
//! ```
//!
//! ## Layout of the crate
//! - [`mod@reference`]: the scalar specification; [`kernels`]: the SIMD lane rules and loops,
//!   written once over pulp's `Simd` trait; [`arch`]: ISA-specific pieces (streaming stores);
//! - [`backend`]: detection and selection; [`Rectifier`]: the dispatched API;
//! - [`inventory`]: the one table of every public kernel, from which the tests, the benches and
//!   the throughput report are generated.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod arch;
pub mod backend;
mod dispatch;
mod element;
mod error;
pub mod inventory;
pub mod kernels;
mod layout;
mod ops;
pub mod reference;

/// How this copy of the crate was built (written by `build.rs`).
pub mod build_info {
    include!(concat!(env!("OUT_DIR"), "/build_info.rs"));
}

pub use backend::{
    ALL_BACKENDS, BACKEND_ENV_VAR, Backend, BackendSelection, BackendSet, backend_selection,
    supported_backends,
};
pub use dispatch::Rectifier;
pub use element::Element;
pub use error::Error;
pub use layout::ChannelLayout;
pub use ops::forward::{
    abs, abs_inplace, leaky_relu, leaky_relu_inplace, prelu, prelu_inplace, relu, relu_inplace,
};
pub use ops::maxout::{
    MaxoutGradMode, MaxoutIndex, MaxoutLayout, maxout, maxout_backward, maxout_values,
};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
