//! # rectifier
//!
//! Runtime-dispatched SIMD kernels for rectified activations, exact to the bit on every CPU.
//! (Initial docs; expanded below as the crate grows.)

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
    leaky_relu_with_mask_inplace, relu_backward_from_mask, relu_backward_from_mask_inplace,
    relu_with_mask, relu_with_mask_inplace,
};
pub use subgradient::Subgradient;
