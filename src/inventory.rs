//! The inventory: every public kernel, named once.
//!
//! The tests, the criterion benches and the throughput report all iterate over [`Op::ALL`], so a
//! kernel added to the table below is tested, benchmarked and reported without further edits,
//! and nothing can be covered in one place and forgotten in another.

use crate::dispatch::Rectifier;
use crate::element::Element;
use crate::error::Error;
use crate::layout::ChannelLayout;
use crate::ops::maxout::{MaxoutGradMode, MaxoutLayout};

/// The arguments of one call, enough for any [`Op`]. Each op reads the fields it needs.
///
/// Maxout ops: forward reads `z` from `src` (`G * k`) and writes the `G` values to `dst` and the
/// indices to `indices`; backward reads `dy` from `src` (`G`) and `indices`, and writes `dx` to
/// `dst` (`G * k`).
#[derive(Debug)]
pub struct Args<'a, T> {
    /// Input of out-of-place ops (ignored by in-place ones).
    pub src: &'a [T],
    /// Output of out-of-place ops; the buffer of in-place ones.
    pub dst: &'a mut [T],
    /// The group size of maxout ops (ignored by the others).
    pub k: usize,
    /// The layout of maxout ops.
    pub maxout_layout: MaxoutLayout,
    /// Maxout indices: written by `maxout`, read by `maxout_backward` (empty for other ops).
    pub indices: &'a mut [u32],
    /// How `maxout_backward` writes `dx`.
    pub grad_mode: MaxoutGradMode,
    /// The slope of `leaky_relu`.
    pub slope: T,
    /// The slope array of `prelu`.
    pub slopes: &'a [T],
    /// The layout of `prelu`.
    pub layout: ChannelLayout,
}

/// What kind of arguments an op takes (for generating inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Params {
    /// None besides the data.
    None,
    /// A scalar slope (`Args::slope`).
    Slope,
    /// A slope array and a layout (`Args::slopes`, `Args::layout`).
    ChannelSlopes,
    /// Maxout forward: `Args::k`, `Args::maxout_layout`; `src` has `n = G * k` elements, `dst`
    /// (and `indices`) `G`.
    Maxout,
    /// Maxout backward: `Args::k`, `Args::maxout_layout`, `Args::grad_mode`; `src` (`dy`) and
    /// `indices` have `G` elements, `dst` (`dx`) `n = G * k`.
    MaxoutBackward,
}

impl Params {
    /// Whether the op maps `n` elements to `n` elements (the activations), as opposed to
    /// maxout's `n` to `n / k` (or back).
    pub const fn elementwise(self) -> bool {
        matches!(self, Params::None | Params::Slope | Params::ChannelSlopes)
    }
}

macro_rules! inventory {
    ($( $op:ident $name:literal inplace=$inplace:literal params=$params:ident
        |$r:ident, $a:ident| $call:expr; )*) => {
        /// Every public kernel. `name()` is the public function's name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op { $(
            #[doc = concat!("[`crate::", $name, "`]")]
            $op,
        )* }

        impl Op {
            /// Every op, in table order.
            pub const ALL: &'static [Op] = &[$(Op::$op),*];

            /// The public function's name (`"relu"`, `"relu_inplace"`, ...).
            pub const fn name(self) -> &'static str {
                match self { $(Op::$op => $name,)* }
            }

            /// Whether the op overwrites its input (`Args::dst` only).
            pub const fn inplace(self) -> bool {
                match self { $(Op::$op => $inplace,)* }
            }

            /// The parameters the op takes besides the data.
            pub const fn params(self) -> Params {
                match self { $(Op::$op => Params::$params,)* }
            }

            /// Calls the op on `r`'s backend.
            pub fn call<T: Element>(self, r: Rectifier, args: Args<'_, T>) -> Result<(), Error> {
                match self { $(Op::$op => { let ($r, $a) = (r, args); $call })* }
            }
        }
    };
}

inventory! {
    Relu "relu" inplace=false params=None |r, a| r.relu(a.src, a.dst);
    ReluInplace "relu_inplace" inplace=true params=None |r, a| r.relu_inplace(a.dst);
    LeakyRelu "leaky_relu" inplace=false params=Slope |r, a| r.leaky_relu(a.src, a.dst, a.slope);
    LeakyReluInplace "leaky_relu_inplace" inplace=true params=Slope
        |r, a| r.leaky_relu_inplace(a.dst, a.slope);
    Abs "abs" inplace=false params=None |r, a| r.abs(a.src, a.dst);
    AbsInplace "abs_inplace" inplace=true params=None |r, a| r.abs_inplace(a.dst);
    Prelu "prelu" inplace=false params=ChannelSlopes
        |r, a| r.prelu(a.src, a.dst, a.slopes, a.layout);
    PreluInplace "prelu_inplace" inplace=true params=ChannelSlopes
        |r, a| r.prelu_inplace(a.dst, a.slopes, a.layout);
    Maxout "maxout" inplace=false params=Maxout
        |r, a| r.maxout(a.src, a.k, a.maxout_layout, a.dst, a.indices);
    MaxoutValues "maxout_values" inplace=false params=Maxout
        |r, a| r.maxout_values(a.src, a.k, a.maxout_layout, a.dst);
    MaxoutBackward "maxout_backward" inplace=false params=MaxoutBackward
        |r, a| r.maxout_backward(a.src, a.indices, a.k, a.maxout_layout, a.dst, a.grad_mode);
}

impl Op {
    /// Bytes moved by one call on `n` elements of `elem_size` bytes (`k`: the maxout group
    /// size, ignored by the other ops). Element-wise ops: every element read once and written
    /// once (the slope array is negligible and not counted). Maxout forward: `n` inputs read,
    /// `G = n / k` values and `G` `u32` indices written (`maxout_values`: no indices); backward:
    /// `G` gradients and `G` indices read, `n` written.
    pub const fn bytes(self, n: usize, elem_size: usize, k: usize) -> usize {
        let g = n / k;
        match self {
            Op::Maxout => n * elem_size + g * elem_size + g * 4,
            Op::MaxoutValues => n * elem_size + g * elem_size,
            Op::MaxoutBackward => g * elem_size + g * 4 + n * elem_size,
            _ => 2 * n * elem_size,
        }
    }

    /// Finds an op by its public name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == name)
    }
}
