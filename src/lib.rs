//! # rectifier
//!
//! Runtime-dispatched SIMD kernels for rectified activations — ReLU, leaky ReLU, PReLU and
//! absolute-value rectification — and maxout over `f32`, `f64`, [`bf16`] and [`f16`](struct@f16) slices, bit
//! for bit the same on every CPU (AVX-512, AVX2 + FMA, NEON, or the scalar reference).
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
//! ## Half precision (`SPEC.md` section 7)
//! [`bf16`] and [`f16`](struct@f16) (the `half` crate's types, re-exported) go through every kernel: the
//! inputs are widened to `f32` (exact), the `f32` rule runs (PReLU slopes widened too; the scalar
//! slope of leaky ReLU is an `f32`, [`Element::Slope`], as in torch), and the result is rounded
//! once to nearest-even. NaNs are truncated, not quieted again, so `relu`, `abs`,
//! maxout and every select return their input's bits (signalling NaNs included), and
//! `-inf * 0` is `0xffc0` / `0xfe00`. The results never depend on the element's position or the
//! ISA (torch's own half-precision NaNs do). The conversions are in [`halves`].
//!
//! ```
//! use rectifier::bf16;
//! let z = [bf16::from_f32(-2.0), bf16::from_bits(0x7f81), bf16::from_f32(0.5)];
//! let mut y = [bf16::ZERO; 3];
//! rectifier::leaky_relu(&z, &mut y, 0.25)?; // an `f32` slope
//! // -2 * 0.25, the signalling NaN quieted by the product (payload kept), 0.5.
//! assert_eq!(y.map(|v| v.to_bits()), [0xbf00, 0x7fc1, 0x3f00]);
//! rectifier::relu(&z, &mut y)?;
//! assert_eq!(y.map(|v| v.to_bits()), [0x0000, 0x7f81, 0x3f00]); // bits kept by a select
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
//! ## Backward (`SPEC.md` section 3)
//!
//! Every rectifier has a corner at `z = 0`, where it has no derivative; the backward kernels
//! take a one-sided derivative there, chosen by [`Subgradient`] (`Left`, the default and
//! PyTorch's convention, or `Right`; see its docs for why and what each returns). Each op has a
//! backward from the forward input `z` (`relu_backward`, `leaky_relu_backward`, `abs_backward`,
//! `prelu_backward`), out of place (`dy -> dx`) and in place (`dx` over `dy`); a backward from
//! the forward output `y` where that is exact (`*_from_output`: `Left` with every slope `> 0`,
//! else an error); the PReLU slope gradient fused with `dx` in one pass
//! ([`prelu_backward_with_slope_grad`], with a fixed, documented summation order:
//! [`reference::prelu_slope_grad`]); and a memory-saving path in which the forward writes one
//! bit per element ([`relu_with_mask`], [`leaky_relu_with_mask`]) and backward reads that
//! instead of `z` ([`relu_backward_from_mask`], ...).
//!
//! ```
//! use rectifier::Subgradient;
//! let z = [-1.0f32, 0.0, 2.0];
//! let mut dx = [0.0f32; 3];
//! rectifier::relu_backward(&z, &[1.0; 3], &mut dx, Subgradient::Left)?;
//! assert_eq!(dx, [0.0, 0.0, 1.0]); // the kink takes the left derivative, 0
//! rectifier::relu_backward(&z, &[1.0; 3], &mut dx, Subgradient::Right)?;
//! assert_eq!(dx, [0.0, 1.0, 1.0]); // ... or the right one, 1
//! # Ok::<(), rectifier::Error>(())
//! ```
//!
//! ## Layout of the crate
//! - [`mod@reference`]: the scalar specification; [`kernels`]: the SIMD lane rules and loops,
//!   written once over pulp's `Simd` trait; [`arch`]: ISA-specific pieces (streaming stores);
//! - [`backend`]: detection and selection; [`Rectifier`]: the dispatched API;
//! - [`inventory`]: the one table of every public kernel, from which the tests, the benches and
//!   the throughput report are generated;
//! - [`ffi`]: the C ABI (header `include/rectifier.h`, generated by `build.rs` from the same
//!   table); [`raw`]: the same kernels over byte buffers and a [`raw::DType`].

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod arch;
pub mod backend;
mod dispatch;
mod element;
mod error;
pub mod ffi;
pub mod halves;
pub mod inventory;
pub mod kernels;
mod layout;
mod ops;
pub mod parallel;
pub mod raw;
pub mod reference;
mod subgradient;

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
pub use half::{bf16, f16};
pub use kernels::mask::mask_words;
pub use layout::ChannelLayout;
pub use ops::backward::{
    abs_backward, abs_backward_inplace, leaky_relu_backward, leaky_relu_backward_from_output,
    leaky_relu_backward_from_output_inplace, leaky_relu_backward_inplace, prelu_backward,
    prelu_backward_from_output, prelu_backward_from_output_inplace, prelu_backward_inplace,
    prelu_backward_with_slope_grad, prelu_backward_with_slope_grad_inplace, relu_backward,
    relu_backward_from_output, relu_backward_from_output_inplace, relu_backward_inplace,
};
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
pub use ops::mask::{
    leaky_relu_backward_from_mask, leaky_relu_backward_from_mask_inplace, leaky_relu_with_mask,
    leaky_relu_with_mask_inplace, prelu_backward_from_mask, prelu_backward_from_mask_inplace,
    prelu_with_mask, prelu_with_mask_inplace, relu_backward_from_mask,
    relu_backward_from_mask_inplace, relu_with_mask, relu_with_mask_inplace,
};
pub use subgradient::Subgradient;
