//! The scalar reference implementation: the specification (`SPEC.md`) in code.
//!
//! Plain loops, one element at a time, written to be obviously correct rather than fast. Every
//! SIMD kernel is tested bit for bit against these functions, and [`Backend::Scalar`] runs them.
//!
//! [`Backend::Scalar`]: crate::Backend::Scalar

pub mod backward;
pub mod forward;
pub mod maxout;

pub use backward::*;
pub use forward::*;
pub use maxout::*;
