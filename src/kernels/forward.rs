//! Forward element-wise kernels (`SPEC.md` section 1): the lane rules of `relu`, `leaky_relu`,
//! `abs` and `prelu`, and the kernels that drive them.

use pulp::{Simd, WithSimd};

use super::{Io, Unary, WithSlope};
use crate::dispatch::Kernel;
use crate::element::Element;
use crate::layout::ChannelLayout;
use crate::reference;

/// ReLU: `z < 0 ? +0 : z`. A select on a compare, so NaN (unordered, not `< 0`) and `-0` keep
/// their bits on every ISA; no `max` instruction is involved.
#[derive(Clone, Copy)]
pub struct Relu;

impl<T: Element> Unary<T> for Relu {
    #[inline(always)]
    fn scalar(self, z: T) -> T {
        reference::relu(z)
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>) -> T::V<S> {
        let zero = T::v_splat(s, T::ZERO);
        if crate::arch::is_x86_simd::<S>() {
            // x86 `maxps(0, z)` returns its second operand `z` when `z` is NaN or both are zero:
            // exactly this rule, in one instruction (the select below needs two).
            T::v_max_raw(s, zero, z)
        } else {
            T::v_select(s, T::v_lt(s, z, zero), zero, z)
        }
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, x: T::SV<S>) -> T::SV<S> {
        // The half formats: a select on the 16-bit lanes (no conversion; same bits).
        match crate::halves::bits16::<S, T>(crate::halves::Bits16::Relu, x) {
            Some(y) => y,
            None => T::store(s, <Self as Unary<T>>::simd(self, s, T::load(s, x))),
        }
    }
}

/// Leaky ReLU with a scalar slope: `z > 0 ? z : a * z`.
#[derive(Clone, Copy)]
pub struct LeakyRelu<A> {
    /// The slope (finite): a [`Element::Slope`].
    pub a: A,
}

impl<T: Element> Unary<T> for LeakyRelu<T::Slope> {
    #[inline(always)]
    fn scalar(self, z: T) -> T {
        reference::leaky_relu(z, self.a)
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>) -> T::V<S> {
        <Prelu as WithSlope<T>>::simd(Prelu, s, z, T::v_splat_slope(s, self.a))
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, x: T::SV<S>) -> T::SV<S> {
        // A NaN `z` is never selected (it is not `> 0`): it goes through the product, which
        // quiets it, so every NaN result is quiet (see `Prelu::simd_stored`).
        T::store_quiet(s, <Self as Unary<T>>::simd(self, s, T::load_quieting(s, x)))
    }
    #[inline(always)]
    fn simd_stored_block<S: Simd>(
        self,
        s: S,
        x: [T::SV<S>; super::UNROLL],
    ) -> [T::SV<S>; super::UNROLL] {
        // `bf16` on AVX-512 with AVX512-BF16: a path with one check per block.
        match crate::halves::leaky_relu_block::<S, T>(self.a, x) {
            Some(y) => y,
            None => super::stored_each::<S, T, Self>(s, self, x),
        }
    }
}

/// Absolute-value rectification: clear the sign bit.
#[derive(Clone, Copy)]
pub struct Abs;

impl<T: Element> Unary<T> for Abs {
    #[inline(always)]
    fn scalar(self, z: T) -> T {
        reference::abs(z)
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>) -> T::V<S> {
        T::v_abs(s, z)
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, x: T::SV<S>) -> T::SV<S> {
        // The half formats: the sign bit cleared on the 16-bit lanes (no conversion).
        match crate::halves::bits16::<S, T>(crate::halves::Bits16::Abs, x) {
            Some(y) => y,
            None => T::store(s, <Self as Unary<T>>::simd(self, s, T::load(s, x))),
        }
    }
}

/// PReLU lane rule: `z > 0 ? z : a * z` with a vector of per-lane slopes.
#[derive(Clone, Copy)]
pub struct Prelu;

impl<T: Element> WithSlope<T> for Prelu {
    #[inline(always)]
    fn scalar(self, z: T, a: T) -> T {
        reference::prelu(z, a)
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>, a: T::V<S>) -> T::V<S> {
        T::v_select(
            s,
            T::v_gt(s, z, T::v_splat(s, T::ZERO)),
            z,
            T::v_mul(s, a, z),
        )
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, z: T::SV<S>, a: T::SV<S>) -> T::SV<S> {
        // A NaN `z` is not `> 0`, so it goes through `a * z` (the slopes are finite), which
        // quiets it; `-inf * 0` gives the (quiet) default NaN. No NaN result is a selected
        // input, so the quieting load and quiet store give the same bits as `load`/`store`.
        let (z, a) = (T::load_quieting(s, z), T::load_quieting(s, a));
        T::store_quiet(s, <Self as WithSlope<T>>::simd(self, s, z, a))
    }
}

/// [`Prelu`] with the [`SlopePlan`](crate::halves::SlopePlan) of the call's slopes: the `bf16`
/// block path on AVX-512 ([`crate::halves::prelu_block`]). The same bits as [`Prelu`].
#[derive(Clone, Copy)]
pub(crate) struct PreluPlanned(pub(crate) crate::halves::SlopePlan);

impl<T: Element> WithSlope<T> for PreluPlanned {
    #[inline(always)]
    fn scalar(self, z: T, a: T) -> T {
        <Prelu as WithSlope<T>>::scalar(Prelu, z, a)
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>, a: T::V<S>) -> T::V<S> {
        <Prelu as WithSlope<T>>::simd(Prelu, s, z, a)
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, z: T::SV<S>, a: T::SV<S>) -> T::SV<S> {
        <Prelu as WithSlope<T>>::simd_stored(Prelu, s, z, a)
    }
    #[inline(always)]
    fn simd_stored_block<S: Simd>(
        self,
        s: S,
        z: [T::SV<S>; super::UNROLL],
        a: [T::SV<S>; super::UNROLL],
    ) -> [T::SV<S>; super::UNROLL] {
        match crate::halves::prelu_block::<S, T>(self.0, z, a) {
            Some(y) => y,
            None => super::stored_each_with_slope::<S, T, Self>(s, self, z, a),
        }
    }
}

/// An element-wise kernel: a [`Unary`] rule over an [`Io`].
pub struct MapKernel<'a, T, F> {
    /// The rule.
    pub f: F,
    /// The buffers.
    pub io: Io<'a, T>,
}

impl<T: Element, F: Unary<T>> WithSimd for MapKernel<'_, T, F> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        self.io.map(s, self.f)
    }
}

impl<T: Element, F: Unary<T>> Kernel for MapKernel<'_, T, F> {
    fn reference(self) {
        self.io.map_reference(self.f)
    }
}

/// Channels-first runs at least this long are processed run by run with a scalar slope;
/// shorter ones go through a materialised slope pattern.
const MIN_RUN: usize = 64;
/// A materialised slope pattern is repeated to at least this many elements, so that the
/// per-piece overhead (head, tail, loop set-up) is amortised. 64 Ki elements, 64 channels
/// (channels-last), AVX-512, x memcpy: 256: `bf16` 0.37, `f32` 0.78; 1024: 0.48 and 0.89;
/// 4096 (heap pattern): 0.52 and 0.63.
const MIN_PATTERN: usize = 1024;
/// Patterns up to this length live on the stack.
const STACK_PATTERN: usize = 2048;

/// PReLU over a validated shape: `slopes.len() >= 1` channels, `io.len()` a multiple of the
/// layout's period.
pub struct PreluKernel<'a, T> {
    /// The buffers.
    pub io: Io<'a, T>,
    /// One slope per channel (finite).
    pub slopes: &'a [T],
    /// Where the channel of an element comes from.
    pub layout: ChannelLayout,
}

impl<T: Element> WithSimd for PreluKernel<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let bytes = core::mem::size_of::<T>() * self.io.len();
        self.pieces(s);
        // Orders the streaming stores of the pieces, if any (one `sfence` per call, not per
        // piece).
        if bytes >= crate::arch::STREAM_MIN_BYTES {
            crate::arch::stream_fence();
        }
    }
}

impl<T: Element> PreluKernel<'_, T> {
    /// The pieces of [`PreluKernel`]'s `with_simd`.
    #[inline(always)]
    fn pieces<S: Simd>(self, s: S) {
        let PreluKernel { io, slopes, layout } = self;
        let c = slopes.len();
        let run = layout.run();
        if io.is_empty() {
            return;
        }
        let whole_bytes = core::mem::size_of::<T>() * io.len();
        if run >= MIN_RUN {
            // Channels-first with long runs: each run of S elements has one slope.
            // (A loop, not a closure: see `Io::chunks`.)
            for (j, piece) in io.chunks(run).enumerate() {
                let f = LeakyRelu {
                    a: slopes[j % c].to_slope(),
                };
                match piece {
                    Io::OutOfPlace { src, dst } => {
                        crate::arch::map_part_of(s, f, src, dst, whole_bytes)
                    }
                    inplace => inplace.map(s, f),
                }
            }
            return;
        }
        // The `bf16` block path on AVX-512, if the slopes allow it (else `None`, a constant for
        // every other type and backend).
        let plan = crate::halves::SlopePlan::new::<S, T>(slopes.iter().map(|a| {
            let a: f64 = a.to_slope().into();
            a as f32
        }));
        let period = c * run;
        if run == 1 && period >= MIN_PATTERN {
            // Channels-last with many channels: each row reads the slope array directly.
            for piece in io.chunks(period) {
                let n = piece.len();
                match plan {
                    Some(plan) => {
                        piece.map_with_slope(s, PreluPlanned(plan), &slopes[..n], whole_bytes)
                    }
                    None => piece.map_with_slope(s, Prelu, &slopes[..n], whole_bytes),
                }
            }
            return;
        }
        // Short periods: materialise the slope of every position of `reps` periods (no more
        // than the input holds: `io.len()` is a nonzero multiple of `period`).
        let reps = MIN_PATTERN.div_ceil(period).min(io.len() / period);
        let len = period * reps;
        let mut stack = [T::ZERO; STACK_PATTERN];
        let mut heap = Vec::new();
        let pattern: &mut [T] = if len <= STACK_PATTERN {
            &mut stack[..len]
        } else {
            heap.resize(len, T::ZERO);
            &mut heap
        };
        // One period (runs of `run` equal slopes, channel after channel), then copies of it:
        // no division per element.
        let (first, rest) = pattern.split_at_mut(period);
        for (piece, &a) in first.chunks_exact_mut(run).zip(slopes) {
            piece.fill(a);
        }
        for copy in rest.chunks_exact_mut(period) {
            copy.copy_from_slice(first);
        }
        let pattern = &*pattern;
        for piece in io.chunks(len) {
            let n = piece.len();
            match plan {
                Some(plan) => {
                    piece.map_with_slope(s, PreluPlanned(plan), &pattern[..n], whole_bytes)
                }
                None => piece.map_with_slope(s, Prelu, &pattern[..n], whole_bytes),
            }
        }
    }
}

impl<T: Element> Kernel for PreluKernel<'_, T> {
    fn reference(self) {
        let PreluKernel { io, slopes, layout } = self;
        io.map_reference_with_slope(Prelu, |i| slopes[layout.channel_of(i, slopes.len())])
    }
}

impl<'a, T: Element, F: Copy> crate::parallel::Split for MapKernel<'a, T, F> {
    fn len(&self) -> usize {
        self.io.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a, b) = self.io.split_at(mid);
        (
            MapKernel { f: self.f, io: a },
            MapKernel { f: self.f, io: b },
        )
    }
}

impl<'a, T: Element> crate::parallel::Split for PreluKernel<'a, T> {
    fn len(&self) -> usize {
        self.io.len()
    }
    /// Whole periods, so that every piece starts at channel 0.
    fn granule(&self) -> usize {
        self.slopes.len() * self.layout.run()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let PreluKernel { io, slopes, layout } = self;
        let (a, b) = io.split_at(mid);
        (
            PreluKernel {
                io: a,
                slopes,
                layout,
            },
            PreluKernel {
                io: b,
                slopes,
                layout,
            },
        )
    }
}
