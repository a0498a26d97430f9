//! Raw-buffer entry points, for frameworks that hold untyped byte buffers and a dtype tag.
//!
//! [`call`] runs any kernel of the [`inventory`](crate::inventory) on byte slices: each buffer
//! is cast to the element type with [`bytemuck::try_cast_slice`], so a buffer that is not
//! aligned to the element type is [`Error::Misaligned`] and a byte length that is not a whole
//! number of elements is [`Error::NotDivisible`]: errors, never panics, and nothing is written.
//! The lengths are then checked by the kernel as usual, in elements.
//!
//! ```
//! use rectifier::inventory::Op;
//! use rectifier::raw::{self, DType, RawArgs};
//! use rectifier::Rectifier;
//!
//! // Untyped buffers as a framework holds them (here backed by f32 storage, so aligned).
//! let z = [-1.0f32, 2.0];
//! let mut y = [0.0f32; 2];
//! let args = RawArgs {
//!     src: bytemuck::cast_slice(&z),
//!     dst: bytemuck::cast_slice_mut(&mut y),
//!     ..RawArgs::default()
//! };
//! raw::call(Rectifier::auto(), Op::Relu, DType::F32, args)?;
//! assert_eq!(y, [0.0, 2.0]);
//! // A byte length that is not a whole number of f32s is an error, not a panic.
//! let bad = RawArgs { src: &[0u8; 3], dst: &mut [], ..RawArgs::default() };
//! assert!(raw::call(Rectifier::auto(), Op::Relu, DType::F32, bad).is_err());
//! # Ok::<(), rectifier::Error>(())
//! ```

use crate::dispatch::Rectifier;
use crate::element::Element;
use crate::error::Error;
use crate::inventory::{Args, Op};
use crate::layout::ChannelLayout;
use crate::ops::maxout::{MaxoutGradMode, MaxoutLayout};
use crate::subgradient::Subgradient;

/// The element type of raw buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// `f32`, 4 bytes, aligned to 4.
    F32,
    /// `f64`, 8 bytes, aligned to 8.
    F64,
    /// `bf16` ([`crate::bf16`]), 2 bytes, aligned to 2.
    BF16,
    /// `f16` ([`crate::f16`](struct@crate::f16), IEEE binary16), 2 bytes, aligned to 2.
    F16,
}

impl DType {
    /// The size of one element in bytes (also its alignment).
    pub const fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
            DType::BF16 | DType::F16 => 2,
        }
    }

    /// `"f32"`, `"f64"`, `"bf16"` or `"f16"`.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::BF16 => "bf16",
            DType::F16 => "f16",
        }
    }
}

/// The arguments of one raw call: [`Args`] with byte buffers. Each op reads the fields it needs
/// (see [`Args`]); unused ones can be left at [`Default`].
#[derive(Debug)]
pub struct RawArgs<'a> {
    /// Input of out-of-place ops; `dy` of out-of-place backward ops.
    pub src: &'a [u8],
    /// Output of out-of-place ops; the buffer of in-place ones.
    pub dst: &'a mut [u8],
    /// The forward input `z` (or output `y`) of backward ops.
    pub z: &'a [u8],
    /// The side of the kink of backward ops.
    pub sub: Subgradient,
    /// The slope gradient output of `prelu_backward_with_slope_grad*`.
    pub da: &'a mut [u8],
    /// The packed mask, as bytes of native-endian `u64` words (aligned to 8).
    pub mask: &'a mut [u8],
    /// The slope of `leaky_relu`, rounded to the type of the slope, [`crate::Element::Slope`]
    /// (`f32` for [`DType::F32`] and the half formats): exact for any value that came from one.
    pub slope: f64,
    /// The slope array of `prelu`.
    pub slopes: &'a [u8],
    /// The layout of `prelu`.
    pub layout: ChannelLayout,
    /// The group size of maxout ops.
    pub k: usize,
    /// The layout of maxout ops.
    pub maxout_layout: MaxoutLayout,
    /// Maxout indices, as bytes of native-endian `u32` (aligned to 4): written by `maxout`,
    /// read by `maxout_backward`.
    pub indices: &'a mut [u8],
    /// How `maxout_backward` writes `dx`.
    pub grad_mode: MaxoutGradMode,
}

impl Default for RawArgs<'_> {
    /// Empty buffers, slope 0, channels-last, [`Subgradient::Left`].
    fn default() -> Self {
        RawArgs {
            src: &[],
            dst: &mut [],
            z: &[],
            sub: Subgradient::Left,
            da: &mut [],
            mask: &mut [],
            slope: 0.0,
            slopes: &[],
            layout: ChannelLayout::ChannelsLast,
            k: 1,
            maxout_layout: MaxoutLayout::Interleaved,
            indices: &mut [],
            grad_mode: MaxoutGradMode::Overwrite,
        }
    }
}

/// Runs `op` on `r`'s backend over byte buffers of `dtype` elements. Every buffer is cast
/// first (misaligned: [`Error::Misaligned`]; not a whole number of elements:
/// [`Error::NotDivisible`]), then the op validates as usual. Nothing is written on error.
pub fn call(r: Rectifier, op: Op, dtype: DType, args: RawArgs<'_>) -> Result<(), Error> {
    match dtype {
        DType::F32 => call_typed::<f32>(r, op, args),
        DType::F64 => call_typed::<f64>(r, op, args),
        DType::BF16 => call_typed::<half::bf16>(r, op, args),
        DType::F16 => call_typed::<half::f16>(r, op, args),
    }
}

fn call_typed<T: Element>(r: Rectifier, op: Op, a: RawArgs<'_>) -> Result<(), Error> {
    let src = cast::<T>("src", a.src)?;
    let dst = cast_mut::<T>("dst", a.dst)?;
    let z = cast::<T>("z", a.z)?;
    let da = cast_mut::<T>("da", a.da)?;
    let mask = cast_mut::<u64>("mask", a.mask)?;
    let slopes = cast::<T>("slopes", a.slopes)?;
    let indices = cast_mut::<u32>("indices", a.indices)?;
    op.call(
        r,
        Args {
            src,
            dst,
            z,
            sub: a.sub,
            da,
            mask,
            slope: T::slope_from_f64(a.slope),
            slopes,
            layout: a.layout,
            k: a.k,
            maxout_layout: a.maxout_layout,
            indices,
            grad_mode: a.grad_mode,
        },
    )
}

fn cast_error<T>(what: &'static str, len: usize, e: bytemuck::PodCastError) -> Error {
    match e {
        bytemuck::PodCastError::TargetAlignmentGreaterAndInputNotAligned => Error::Misaligned {
            what,
            align: align_of::<T>(),
        },
        _ => Error::NotDivisible {
            what,
            len,
            divisor: size_of::<T>(),
            divisor_name: "the element size in bytes",
        },
    }
}

/// `bytes` as a slice of `T` (an empty slice whatever its address).
pub fn cast<'a, T: bytemuck::Pod>(what: &'static str, bytes: &'a [u8]) -> Result<&'a [T], Error> {
    if bytes.is_empty() {
        return Ok(&[]);
    }
    bytemuck::try_cast_slice(bytes).map_err(|e| cast_error::<T>(what, bytes.len(), e))
}

/// `bytes` as a mutable slice of `T` (an empty slice whatever its address).
pub fn cast_mut<'a, T: bytemuck::Pod>(
    what: &'static str,
    bytes: &'a mut [u8],
) -> Result<&'a mut [T], Error> {
    if bytes.is_empty() {
        return Ok(&mut []);
    }
    let len = bytes.len();
    bytemuck::try_cast_slice_mut(bytes).map_err(|e| cast_error::<T>(what, len, e))
}
