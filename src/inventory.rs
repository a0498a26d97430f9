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
use crate::subgradient::Subgradient;

/// The arguments of one call, enough for any [`Op`]. Each op reads the fields it needs.
///
/// Backward ops ([`Op::backward`]) read `z` (the forward input, or the forward output for the
/// `*_from_output` ops) and take `dy` from `src` (out-of-place) or from `dst` (in place; `dx`
/// overwrites it). Unused fields can be left at [`Default`]:
/// `Args { src, dst, ..Args::default() }`.
///
/// Maxout ops: forward reads `z` from `src` (`G * k`) and writes the `G` values to `dst` and the
/// indices to `indices`; backward reads `dy` from `src` (`G`) and `indices`, and writes `dx` to
/// `dst` (`G * k`).
#[derive(Debug)]
pub struct Args<'a, T: Element> {
    /// Input of out-of-place ops (ignored by in-place ones); `dy` of out-of-place backward ops.
    pub src: &'a [T],
    /// Output of out-of-place ops; the buffer of in-place ones (`dy` in, `dx` out, for in-place
    /// backward ops).
    pub dst: &'a mut [T],
    /// The forward input `z` of backward ops (the forward output `y` for `*_from_output`).
    pub z: &'a [T],
    /// The side of the kink of backward ops.
    pub sub: Subgradient,
    /// The slope gradient output of `prelu_backward_with_slope_grad*` (one per channel).
    pub da: &'a mut [T],
    /// The packed mask: written by `*_with_mask*`, read by `*_backward_from_mask*`
    /// (`mask_words(n)` words).
    pub mask: &'a mut [u64],
    /// The group size of maxout ops (ignored by the others).
    pub k: usize,
    /// The layout of maxout ops.
    pub maxout_layout: MaxoutLayout,
    /// Maxout indices: written by `maxout`, read by `maxout_backward` (empty for other ops).
    pub indices: &'a mut [u32],
    /// How `maxout_backward` writes `dx`.
    pub grad_mode: MaxoutGradMode,
    /// The slope of `leaky_relu` (an `f32` for the half formats).
    pub slope: T::Slope,
    /// The slope array of `prelu`.
    pub slopes: &'a [T],
    /// The layout of `prelu`.
    pub layout: ChannelLayout,
}

impl<T: Element> Default for Args<'_, T> {
    /// Empty buffers, slope 0, no slopes, channels-last, [`Subgradient::Left`].
    fn default() -> Self {
        Args {
            src: &[],
            dst: &mut [],
            z: &[],
            sub: Subgradient::Left,
            da: &mut [],
            mask: &mut [],
            slope: T::Slope::default(),
            slopes: &[],
            layout: ChannelLayout::ChannelsLast,
            k: 1,
            maxout_layout: MaxoutLayout::Interleaved,
            indices: &mut [],
            grad_mode: MaxoutGradMode::Overwrite,
        }
    }
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
    ReluBackward "relu_backward" inplace=false params=None
        |r, a| r.relu_backward(a.z, a.src, a.dst, a.sub);
    ReluBackwardInplace "relu_backward_inplace" inplace=true params=None
        |r, a| r.relu_backward_inplace(a.z, a.dst, a.sub);
    ReluBackwardFromOutput "relu_backward_from_output" inplace=false params=None
        |r, a| r.relu_backward_from_output(a.z, a.src, a.dst, a.sub);
    ReluBackwardFromOutputInplace "relu_backward_from_output_inplace" inplace=true params=None
        |r, a| r.relu_backward_from_output_inplace(a.z, a.dst, a.sub);
    LeakyReluBackward "leaky_relu_backward" inplace=false params=Slope
        |r, a| r.leaky_relu_backward(a.z, a.src, a.dst, a.slope, a.sub);
    LeakyReluBackwardInplace "leaky_relu_backward_inplace" inplace=true params=Slope
        |r, a| r.leaky_relu_backward_inplace(a.z, a.dst, a.slope, a.sub);
    LeakyReluBackwardFromOutput "leaky_relu_backward_from_output" inplace=false params=Slope
        |r, a| r.leaky_relu_backward_from_output(a.z, a.src, a.dst, a.slope, a.sub);
    LeakyReluBackwardFromOutputInplace "leaky_relu_backward_from_output_inplace" inplace=true
        params=Slope |r, a| r.leaky_relu_backward_from_output_inplace(a.z, a.dst, a.slope, a.sub);
    AbsBackward "abs_backward" inplace=false params=None
        |r, a| r.abs_backward(a.z, a.src, a.dst);
    AbsBackwardInplace "abs_backward_inplace" inplace=true params=None
        |r, a| r.abs_backward_inplace(a.z, a.dst);
    PreluBackward "prelu_backward" inplace=false params=ChannelSlopes
        |r, a| r.prelu_backward(a.z, a.src, a.dst, a.slopes, a.layout, a.sub);
    PreluBackwardInplace "prelu_backward_inplace" inplace=true params=ChannelSlopes
        |r, a| r.prelu_backward_inplace(a.z, a.dst, a.slopes, a.layout, a.sub);
    PreluBackwardFromOutput "prelu_backward_from_output" inplace=false params=ChannelSlopes
        |r, a| r.prelu_backward_from_output(a.z, a.src, a.dst, a.slopes, a.layout, a.sub);
    PreluBackwardFromOutputInplace "prelu_backward_from_output_inplace" inplace=true
        params=ChannelSlopes
        |r, a| r.prelu_backward_from_output_inplace(a.z, a.dst, a.slopes, a.layout, a.sub);
    PreluBackwardWithSlopeGrad "prelu_backward_with_slope_grad" inplace=false params=ChannelSlopes
        |r, a| r.prelu_backward_with_slope_grad(a.z, a.src, a.dst, a.slopes, a.da, a.layout, a.sub);
    PreluBackwardWithSlopeGradInplace "prelu_backward_with_slope_grad_inplace" inplace=true
        params=ChannelSlopes
        |r, a| r.prelu_backward_with_slope_grad_inplace(a.z, a.dst, a.slopes, a.da, a.layout, a.sub);
    ReluWithMask "relu_with_mask" inplace=false params=None
        |r, a| r.relu_with_mask(a.src, a.dst, a.mask, a.sub);
    ReluWithMaskInplace "relu_with_mask_inplace" inplace=true params=None
        |r, a| r.relu_with_mask_inplace(a.dst, a.mask, a.sub);
    LeakyReluWithMask "leaky_relu_with_mask" inplace=false params=Slope
        |r, a| r.leaky_relu_with_mask(a.src, a.dst, a.mask, a.slope, a.sub);
    LeakyReluWithMaskInplace "leaky_relu_with_mask_inplace" inplace=true params=Slope
        |r, a| r.leaky_relu_with_mask_inplace(a.dst, a.mask, a.slope, a.sub);
    ReluBackwardFromMask "relu_backward_from_mask" inplace=false params=None
        |r, a| r.relu_backward_from_mask(a.mask, a.src, a.dst);
    ReluBackwardFromMaskInplace "relu_backward_from_mask_inplace" inplace=true params=None
        |r, a| r.relu_backward_from_mask_inplace(a.mask, a.dst);
    LeakyReluBackwardFromMask "leaky_relu_backward_from_mask" inplace=false params=Slope
        |r, a| r.leaky_relu_backward_from_mask(a.mask, a.src, a.dst, a.slope);
    LeakyReluBackwardFromMaskInplace "leaky_relu_backward_from_mask_inplace" inplace=true
        params=Slope |r, a| r.leaky_relu_backward_from_mask_inplace(a.mask, a.dst, a.slope);
    PreluWithMask "prelu_with_mask" inplace=false params=ChannelSlopes
        |r, a| r.prelu_with_mask(a.src, a.dst, a.mask, a.slopes, a.layout, a.sub);
    PreluWithMaskInplace "prelu_with_mask_inplace" inplace=true params=ChannelSlopes
        |r, a| r.prelu_with_mask_inplace(a.dst, a.mask, a.slopes, a.layout, a.sub);
    PreluBackwardFromMask "prelu_backward_from_mask" inplace=false params=ChannelSlopes
        |r, a| r.prelu_backward_from_mask(a.mask, a.src, a.dst, a.slopes, a.layout);
    PreluBackwardFromMaskInplace "prelu_backward_from_mask_inplace" inplace=true
        params=ChannelSlopes
        |r, a| r.prelu_backward_from_mask_inplace(a.mask, a.dst, a.slopes, a.layout);
    Maxout "maxout" inplace=false params=Maxout
        |r, a| r.maxout(a.src, a.k, a.maxout_layout, a.dst, a.indices);
    MaxoutValues "maxout_values" inplace=false params=Maxout
        |r, a| r.maxout_values(a.src, a.k, a.maxout_layout, a.dst);
    MaxoutBackward "maxout_backward" inplace=false params=MaxoutBackward
        |r, a| r.maxout_backward(a.src, a.indices, a.k, a.maxout_layout, a.dst, a.grad_mode);
}

impl Op {
    /// Whether this is an element-wise backward op: it reads `Args::z` and `Args::sub`, and `dy` from
    /// `Args::src` (or `Args::dst` in place).
    pub fn backward(self) -> bool {
        self.name().contains("_backward") && !self.maxout()
    }

    /// Whether this is a maxout op (`maxout`, `maxout_values`, `maxout_backward`).
    pub fn maxout(self) -> bool {
        self.name().starts_with("maxout")
    }

    /// Whether this backward op takes the forward output `y` in `Args::z` (exact only with
    /// [`Subgradient::Left`] and slopes `> 0`).
    pub fn from_output(self) -> bool {
        self.name().contains("_from_output")
    }

    /// Whether this is a forward op that also writes the packed mask `Args::mask`.
    pub fn writes_mask(self) -> bool {
        self.name().contains("_with_mask")
    }

    /// Whether this backward op reads the packed mask `Args::mask` instead of `Args::z`.
    pub fn from_mask(self) -> bool {
        self.name().contains("_from_mask")
    }

    /// Whether this op writes the PReLU slope gradient `Args::da`.
    pub fn writes_da(self) -> bool {
        self.name().contains("_with_slope_grad")
    }

    /// Bytes moved by one call on `n` elements of `elem_size` bytes (`k`: the maxout group
    /// size, ignored by the other ops). Forward element-wise: every element read once and
    /// written once. Backward: `z` and `dy` read, `dx` written (in place too: `dx` overwrites
    /// `dy`). With a mask (written by forward, read by backward instead of `z`): one element
    /// read, one written, plus the mask (`8 * ceil(n / 64)` bytes). Maxout forward: `n` inputs
    /// read, `G = n / k` values and `G` `u32` indices written (`maxout_values`: no indices);
    /// backward: `G` gradients and `G` indices read, `n` written. The slope array and `da` (one
    /// element per channel) are negligible and not counted.
    pub fn bytes(self, n: usize, elem_size: usize, k: usize) -> usize {
        let g = n / k.max(1);
        match self {
            Op::Maxout => n * elem_size + g * elem_size + g * 4,
            Op::MaxoutValues => n * elem_size + g * elem_size,
            Op::MaxoutBackward => g * elem_size + g * 4 + n * elem_size,
            _ if self.writes_mask() || self.from_mask() => 2 * n * elem_size + 8 * n.div_ceil(64),
            _ if self.backward() => 3 * n * elem_size,
            _ => 2 * n * elem_size,
        }
    }

    /// The bytes of [`Op::bytes`] that the op writes (the rest it reads): the byte count of the
    /// throughput report's store-only baseline (`fill`), the ceiling of an op bound by stores.
    pub fn written_bytes(self, n: usize, elem_size: usize, k: usize) -> usize {
        let g = n / k.max(1);
        match self {
            Op::Maxout => g * elem_size + g * 4,
            Op::MaxoutValues => g * elem_size,
            _ if self.writes_mask() => n * elem_size + 8 * n.div_ceil(64),
            _ => n * elem_size,
        }
    }

    /// Finds an op by its public name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == name)
    }
}
