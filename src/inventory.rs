//! The inventory: every public kernel, named once.
//!
//! The tests, the criterion benches and the throughput report all iterate over [`Op::ALL`], so a
//! kernel added to the table below is tested, benchmarked and reported without further edits,
//! and nothing can be covered in one place and forgotten in another.

use crate::dispatch::Rectifier;
use crate::element::Element;
use crate::error::Error;
use crate::layout::ChannelLayout;

/// The arguments of one call, enough for any [`Op`]. Each op reads the fields it needs.
#[derive(Debug)]
pub struct Args<'a, T> {
    /// Input of out-of-place ops (ignored by in-place ones).
    pub src: &'a [T],
    /// Output of out-of-place ops; the buffer of in-place ones.
    pub dst: &'a mut [T],
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
}

impl Op {
    /// Bytes moved by one call on `n` elements of `elem_size` bytes: every element read once and
    /// written once (the slope array is negligible and not counted).
    pub const fn bytes(self, n: usize, elem_size: usize) -> usize {
        2 * n * elem_size
    }

    /// Finds an op by its public name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == name)
    }
}
