//! The crate's error type.
//!
//! Every public entry point validates its arguments before it touches any output: when an
//! [`Error`] is returned, no output buffer has been written.

use core::fmt;

use crate::backend::{Backend, BackendSet};
use crate::subgradient::Subgradient;

/// What went wrong with a call. Each variant names what was expected and what came.
///
/// When a function returns an `Error`, none of its outputs has been written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// Two buffers that must have related lengths do not.
    LengthMismatch {
        /// The buffer whose length is wrong (for example `"dst"`).
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        actual: usize,
    },
    /// A length that must be a multiple of a shape parameter is not.
    NotDivisible {
        /// The buffer whose length is wrong.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The shape parameter it must be a multiple of (channel count, group size, ...).
        divisor: usize,
        /// The name of that parameter (for example `"channels * spatial"`).
        divisor_name: &'static str,
    },
    /// A slope (`a` of leaky ReLU, or an element of a PReLU slope array) is NaN or infinite.
    NonFiniteSlope {
        /// Index into the slope array (0 for a scalar slope).
        index: usize,
        /// The value found, widened to `f64`.
        value: f64,
    },
    /// A shape parameter is out of its range (for example an empty slope array).
    InvalidShape {
        /// The parameter.
        what: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        actual: usize,
    },
    /// Backward from the forward output `y` was asked with a [`Subgradient`] for which it is not
    /// exact (`y = +0` comes from `z < 0` and from `z = +0` alike): pass the input `z` instead.
    FromOutputSubgradient {
        /// The subgradient backward from the output supports.
        expected: Subgradient,
        /// The one asked for.
        actual: Subgradient,
    },
    /// Backward from the forward output `y` was asked with a slope `<= 0` (then the sign of `y`
    /// no longer tells the side of `z`): pass the input `z` instead.
    FromOutputSlope {
        /// Index into the slope array (0 for a scalar slope).
        index: usize,
        /// The slope found, widened to `f64`.
        value: f64,
    },
    /// The maxout group size `k` does not fit the chosen index type (positions `0..k` must be
    /// representable; indices are never truncated).
    IndexTypeTooNarrow {
        /// The index type (`"u8"`, `"u16"`, `"u32"`).
        index_type: &'static str,
        /// The largest `k` it can hold.
        max_k: usize,
        /// The `k` asked for.
        k: usize,
    },
    /// A maxout index (an input of the backward pass) is not a position inside its group.
    IndexOutOfRange {
        /// The group whose index is wrong.
        group: usize,
        /// The index found.
        index: usize,
        /// The group size; indices must be `< k`.
        k: usize,
    },
    /// The backend asked for is not supported by this CPU (or not compiled in).
    UnsupportedBackend {
        /// The backend asked for.
        requested: Backend,
        /// The backends this CPU supports.
        supported: BackendSet,
    },
    /// A raw byte buffer ([`crate::raw`]) is not aligned to its element type.
    Misaligned {
        /// The buffer.
        what: &'static str,
        /// The alignment it must have, in bytes.
        align: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(
                f,
                "`{what}` has length {actual}, expected length {expected}"
            ),
            Error::NotDivisible {
                what,
                len,
                divisor,
                divisor_name,
            } => write!(
                f,
                "`{what}` has length {len}, expected a multiple of {divisor_name} = {divisor}"
            ),
            Error::NonFiniteSlope { index, value } => {
                write!(f, "slope {index} is {value}, expected a finite value")
            }
            Error::InvalidShape {
                what,
                expected,
                actual,
            } => write!(f, "`{what}` is {actual}, expected {expected}"),
            Error::FromOutputSubgradient { expected, actual } => write!(
                f,
                "backward from the forward output is exact only with subgradient `{expected}`, \
                 got `{actual}`; pass the forward input z instead"
            ),
            Error::FromOutputSlope { index, value } => write!(
                f,
                "slope {index} is {value}, expected a slope > 0 (backward from the forward \
                 output is exact only when every slope is > 0); pass the forward input z instead"
            ),
            Error::IndexTypeTooNarrow {
                index_type,
                max_k,
                k,
            } => write!(
                f,
                "maxout group size k = {k} does not fit index type `{index_type}`, expected k <= {max_k}"
            ),
            Error::IndexOutOfRange { group, index, k } => write!(
                f,
                "maxout index of group {group} is {index}, expected an index < k = {k}"
            ),
            Error::UnsupportedBackend {
                requested,
                supported,
            } => write!(
                f,
                "backend `{requested}` is not supported by this CPU or build; supported: {supported}"
            ),
            Error::Misaligned { what, align } => write!(
                f,
                "`{what}` is not aligned to its element type, expected an address that is a multiple of {align}"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// `Ok(())` when `actual == expected`, else [`Error::LengthMismatch`].
#[inline]
pub(crate) fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}
