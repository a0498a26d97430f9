//! # rectifier
//!
//! Runtime-dispatched SIMD kernels for rectified activations, exact to the bit on every CPU.
//! (Initial docs; expanded below as the crate grows.)
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

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod backend;
mod dispatch;
mod element;
mod error;
pub mod inventory;
pub mod kernels;
mod layout;
mod ops;
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
pub use ops::mask::{
    leaky_relu_backward_from_mask, leaky_relu_backward_from_mask_inplace, leaky_relu_with_mask,
    leaky_relu_with_mask_inplace, prelu_backward_from_mask, prelu_backward_from_mask_inplace,
    prelu_with_mask, prelu_with_mask_inplace, relu_backward_from_mask,
    relu_backward_from_mask_inplace, relu_with_mask, relu_with_mask_inplace,
};
pub use subgradient::Subgradient;
