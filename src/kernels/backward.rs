//! Backward kernels (`SPEC.md` section 3): the lane rules of the gradients of `relu`,
//! `leaky_relu`, `abs` and `prelu`, and the kernels that drive them through [`map_grad`].
//!
//! The side of the kink is a const parameter (`RIGHT`), chosen once per call by the public
//! API, so that the vector body has no branch on it.

use pulp::{Simd, WithSimd};

use super::{Grad, Io, map_grad, map_grad_reference};
use crate::dispatch::Kernel;
use crate::element::Element;
use crate::layout::ChannelLayout;
use crate::reference;
use crate::reference::backward::{
    PairwiseRows, PairwiseStack, RUN_SLOTS, SLOPE_GRAD_BLOCK, SLOPE_GRAD_MIN_RUN,
    SLOPE_GRAD_SMALL_PATTERN, fold_pattern_block_row, fold_run_block, pattern_geometry,
    slope_grad_finish, tree,
};
use crate::subgradient::Subgradient;

const fn sub(right: bool) -> Subgradient {
    if right {
        Subgradient::Right
    } else {
        Subgradient::Left
    }
}

/// ReLU backward: `Left` blocks `z <= 0`, `Right` blocks `z < 0`; a blocked lane is `+0`, the
/// others keep `dy`'s bits.
#[derive(Clone, Copy)]
pub struct ReluGrad<const RIGHT: bool>;

impl<T: Element, const RIGHT: bool> Grad<T, 0> for ReluGrad<RIGHT> {
    #[inline(always)]
    fn scalar(self, z: T, dy: T, _: [T; 0]) -> T {
        reference::relu_backward(z, dy, sub(RIGHT))
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>, dy: T::V<S>, _: [T::V<S>; 0]) -> T::V<S> {
        let zero = T::v_splat(s, T::ZERO);
        let blocked = if RIGHT {
            T::v_lt(s, z, zero)
        } else {
            T::v_le(s, z, zero)
        };
        T::v_select(s, blocked, zero, dy)
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, z: T::SV<S>, dy: T::SV<S>, e: [T::V<S>; 0]) -> T::SV<S> {
        // The half formats: a select on the 16-bit lanes (no conversion; same bits).
        match crate::halves::relu_grad16::<S, T>(RIGHT, z, dy) {
            Some(dx) => dx,
            None => T::store(
                s,
                <Self as Grad<T, 0>>::simd(self, s, T::load(s, z), T::load(s, dy), e),
            ),
        }
    }
}

/// Leaky ReLU / PReLU backward lane rule with a vector of slopes: `dy` on the linear side
/// (`z > 0`, or `z >= 0` with `RIGHT`), `a * dy` elsewhere (NaN `z` included).
#[inline(always)]
fn leaky_grad<S: Simd, T: Element, const RIGHT: bool>(
    s: S,
    z: T::V<S>,
    dy: T::V<S>,
    a: T::V<S>,
) -> T::V<S> {
    let zero = T::v_splat(s, T::ZERO);
    let linear = if RIGHT {
        T::v_ge(s, z, zero)
    } else {
        T::v_gt(s, z, zero)
    };
    T::v_select(s, linear, dy, T::v_mul(s, a, dy))
}

/// [`leaky_grad`] on stored vectors: for the half formats on AVX-512, the side of 0 is taken on
/// the 16-bit lanes of `z` and `dy`'s bits are selected there, so that only `dy` is widened
/// (quieting: a NaN `dy` reaches the result only through the product, which quiets it) and
/// only the product is rounded. The same bits as the widened rule.
#[inline(always)]
fn leaky_grad_stored<S: Simd, T: Element, const RIGHT: bool>(
    s: S,
    z: T::SV<S>,
    dy: T::SV<S>,
    a: T::V<S>,
) -> T::SV<S> {
    if let Some(linear) = crate::halves::linear16::<S, T>(RIGHT, z) {
        let product = T::store_quiet(s, T::v_mul(s, a, T::load_quieting(s, dy)));
        if let Some(dx) = crate::halves::select16::<S, T>(linear, dy, product) {
            return dx;
        }
    }
    T::store(
        s,
        leaky_grad::<S, T, RIGHT>(s, T::load(s, z), T::load(s, dy), a),
    )
}

/// Leaky ReLU backward with a scalar slope.
#[derive(Clone, Copy)]
pub struct LeakyReluGrad<A, const RIGHT: bool> {
    /// The slope (finite): a [`Element::Slope`].
    pub a: A,
}

impl<T: Element, const RIGHT: bool> Grad<T, 0> for LeakyReluGrad<T::Slope, RIGHT> {
    #[inline(always)]
    fn scalar(self, z: T, dy: T, _: [T; 0]) -> T {
        reference::leaky_relu_backward(z, dy, self.a, sub(RIGHT))
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>, dy: T::V<S>, _: [T::V<S>; 0]) -> T::V<S> {
        leaky_grad::<S, T, RIGHT>(s, z, dy, T::v_splat_slope(s, self.a))
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, z: T::SV<S>, dy: T::SV<S>, _: [T::V<S>; 0]) -> T::SV<S> {
        leaky_grad_stored::<S, T, RIGHT>(s, z, dy, T::v_splat_slope(s, self.a))
    }
}

/// PReLU input-gradient lane rule: the slope of each lane is the extra stream.
#[derive(Clone, Copy)]
pub struct PreluGrad<const RIGHT: bool>;

impl<T: Element, const RIGHT: bool> Grad<T, 1> for PreluGrad<RIGHT> {
    #[inline(always)]
    fn scalar(self, z: T, dy: T, [a]: [T; 1]) -> T {
        reference::prelu_backward(z, dy, a, sub(RIGHT))
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>, dy: T::V<S>, [a]: [T::V<S>; 1]) -> T::V<S> {
        leaky_grad::<S, T, RIGHT>(s, z, dy, a)
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, z: T::SV<S>, dy: T::SV<S>, [a]: [T::V<S>; 1]) -> T::SV<S> {
        leaky_grad_stored::<S, T, RIGHT>(s, z, dy, a)
    }
}

/// `abs` backward: `dy * s`, `s = -1, +0, +1` for `z < 0`, `z = ±0` or NaN, `z > 0`, as an
/// IEEE product with x86's NaN rules ([`Element`]'s `v_mul`), never a sign flip.
#[derive(Clone, Copy)]
pub struct AbsGrad;

impl<T: Element> Grad<T, 0> for AbsGrad {
    #[inline(always)]
    fn scalar(self, z: T, dy: T, _: [T; 0]) -> T {
        reference::abs_backward(z, dy)
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>, dy: T::V<S>, _: [T::V<S>; 0]) -> T::V<S> {
        let zero = T::v_splat(s, T::ZERO);
        let sign = T::v_select(
            s,
            T::v_lt(s, z, zero),
            T::v_splat(s, T::from_f64(-1.0)),
            T::v_select(
                s,
                T::v_gt(s, z, zero),
                T::v_splat(s, T::from_f64(1.0)),
                zero,
            ),
        );
        T::v_mul(s, dy, sign)
    }
}

/// An element-wise gradient kernel: a [`Grad`] rule without extra streams over `z` and an
/// [`Io`] (`dy -> dx`, or `dy` in place).
pub struct GradKernel<'a, T, F> {
    /// The rule.
    pub f: F,
    /// The forward input (or, where exact, the forward output).
    pub z: &'a [T],
    /// `dy -> dx`, or `dy` overwritten.
    pub io: Io<'a, T>,
}

impl<T: Element, F: Grad<T, 0>> WithSimd for GradKernel<'_, T, F> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        map_grad(s, self.f, self.z, self.io, [])
    }
}

impl<T: Element, F: Grad<T, 0>> Kernel for GradKernel<'_, T, F> {
    fn reference(self) {
        map_grad_reference(self.f, self.z, self.io, |_| [])
    }
}

/// Channels-first runs at least this long use a scalar slope per run.
pub(crate) const MIN_RUN: usize = 64;
/// A materialised slope pattern covers at least this many elements.
pub(crate) const MIN_PATTERN: usize = 256;
/// Patterns up to this length live on the stack.
const STACK_PATTERN: usize = 512;

/// The slope of every position of `len` elements (a whole number of periods), built period by
/// period without a division per element.
#[inline(always)]
pub(crate) fn fill_pattern<T: Element>(pattern: &mut [T], slopes: &[T], run: usize) {
    let period = slopes.len() * run;
    let (first, rest) = pattern.split_at_mut(period);
    for (piece, &a) in first.chunks_exact_mut(run).zip(slopes) {
        piece.fill(a);
    }
    for copy in rest.chunks_exact_mut(period) {
        copy.copy_from_slice(first);
    }
}

/// PReLU input gradient over a validated shape (`io.len()` a multiple of the period).
pub struct PreluGradKernel<'a, T, const RIGHT: bool> {
    /// The forward input (or output, where exact).
    pub z: &'a [T],
    /// `dy -> dx`, or `dy` in place.
    pub io: Io<'a, T>,
    /// One slope per channel.
    pub slopes: &'a [T],
    /// The layout.
    pub layout: ChannelLayout,
}

impl<T: Element, const RIGHT: bool> WithSimd for PreluGradKernel<'_, T, RIGHT> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let PreluGradKernel {
            z,
            io,
            slopes,
            layout,
        } = self;
        if io.is_empty() {
            return;
        }
        let c = slopes.len();
        let run = layout.run();
        if run >= MIN_RUN {
            // Long channels-first runs: a scalar slope per run. (Loops, not closures.)
            for (j, (zp, piece)) in z.chunks(run).zip(io.chunks(run)).enumerate() {
                let f = LeakyReluGrad::<T::Slope, RIGHT> {
                    a: slopes[j % c].to_slope(),
                };
                map_grad(s, f, zp, piece, []);
            }
            return;
        }
        let period = c * run;
        if run == 1 && period >= MIN_PATTERN {
            for (zp, piece) in z.chunks(period).zip(io.chunks(period)) {
                let n = piece.len();
                map_grad(s, PreluGrad::<RIGHT>, zp, piece, [&slopes[..n]]);
            }
            return;
        }
        let len = period * MIN_PATTERN.div_ceil(period);
        let mut stack = [T::ZERO; STACK_PATTERN];
        let mut heap = Vec::new();
        let pattern: &mut [T] = if len <= STACK_PATTERN {
            &mut stack[..len]
        } else {
            heap.resize(len, T::ZERO);
            &mut heap
        };
        fill_pattern(pattern, slopes, run);
        let pattern = &*pattern;
        for (zp, piece) in z.chunks(len).zip(io.chunks(len)) {
            let n = piece.len();
            map_grad(s, PreluGrad::<RIGHT>, zp, piece, [&pattern[..n]]);
        }
    }
}

impl<T: Element, const RIGHT: bool> Kernel for PreluGradKernel<'_, T, RIGHT> {
    fn reference(self) {
        let PreluGradKernel {
            z,
            io,
            slopes,
            layout,
        } = self;
        map_grad_reference(PreluGrad::<RIGHT>, z, io, |i| {
            [slopes[layout.channel_of(i, slopes.len())]]
        })
    }
}

/// One piece of the fused PReLU backward: `dx` as [`PreluGrad`] with the slope `a` (or
/// `a_slice[i]` with `SLICE`), and the slope-gradient terms added to `acc`: element vector `j`
/// goes to `acc[j * per ..]`, wrapped modulo [`RUN_SLOTS`] `f64` lanes with `WRAP` (the run
/// path's slots; they are kept in registers over the piece, which is the same order of
/// additions), else `acc` covers the whole piece (the pattern path).
#[inline(always)]
fn fused_piece<S: Simd, T: Element, const RIGHT: bool, const WRAP: bool, const SLICE: bool>(
    s: S,
    z: &[T],
    io: Io<'_, T>,
    a: T,
    a_slice: &[T],
    acc: &mut [S::f64s],
) {
    // (No closures on this path: they would not inherit the target features.)
    let per = T::per::<S>();
    // Slot vectors of the run path, and element vectors per round of them.
    let wrap = RUN_SLOTS / S::F64_LANES;
    let group = wrap / per;
    let (zs, zt) = T::as_simd::<S>(z);
    let n = zs.len();
    let zs = &zs[..n];
    let (asl, at) = if SLICE {
        let (b, t) = T::as_simd::<S>(a_slice);
        (&b[..n], t)
    } else {
        (&[][..], &[][..])
    };
    let a_splat = T::v_splat(s, a);
    let zero = s.splat_f64s(0.0);
    // The body over dy (`$dys[j]`) and dx (`$dxs[j]`), out-of-place or in place.
    macro_rules! body {
        ($dys:ident, $dxs:ident, $dyt:ident, $dxt:ident) => {{
            let mut j = 0;
            if WRAP {
                // Whole rounds of the slots, with the slots in registers.
                let mut r = [zero; RUN_SLOTS / 2];
                r[..wrap].copy_from_slice(&acc[..wrap]);
                while j + group <= n {
                    for k in 0..group {
                        let (zv, dyv) = (T::load(s, zs[j + k]), T::load(s, $dys[j + k]));
                        T::acc_terms(s, &mut r, k * per, zv, dyv);
                        $dxs[j + k] = T::store(s, leaky_grad::<S, T, RIGHT>(s, zv, dyv, a_splat));
                    }
                    j += group;
                }
                acc[..wrap].copy_from_slice(&r[..wrap]);
            }
            // The rest (all of the pattern path): `acc[(j - j0) * per]` with `j0` where the
            // rounds stopped (a multiple of `group`, so the same slot as `(j * per) % wrap`).
            let j0 = j;
            while j < n {
                let (zv, dyv) = (T::load(s, zs[j]), T::load(s, $dys[j]));
                let av = if SLICE { T::load(s, asl[j]) } else { a_splat };
                T::acc_terms(s, acc, (j - j0) * per, zv, dyv);
                $dxs[j] = T::store(s, leaky_grad::<S, T, RIGHT>(s, zv, dyv, av));
                j += 1;
            }
            if !zt.is_empty() {
                let (zv, dyv) = (T::partial_load(s, zt), T::partial_load(s, $dyt));
                let av = if SLICE {
                    T::partial_load(s, at)
                } else {
                    a_splat
                };
                T::acc_terms(s, acc, (n - j0) * per, zv, dyv);
                T::partial_store(s, $dxt, leaky_grad::<S, T, RIGHT>(s, zv, dyv, av));
            }
        }};
    }
    match io {
        Io::OutOfPlace { src: dy, dst: dx } => {
            let (dys, dyt) = T::as_simd::<S>(dy);
            let (dxs, dxt) = T::as_mut_simd::<S>(dx);
            let (dys, dxs) = (&dys[..n], &mut dxs[..n]);
            body!(dys, dxs, dyt, dxt)
        }
        Io::InPlace(x) => {
            let (xs, xt) = T::as_mut_simd::<S>(x);
            let xs = &mut xs[..n];
            // In place, dy and dx are the same vectors (each read before it is written).
            body!(xs, xs, xt, xt)
        }
    }
}

/// PReLU backward with the slope gradient fused in the same pass: `dx` as
/// [`PreluGradKernel`], and `da` in the order of [`reference::prelu_slope_grad`] (the masked
/// tail adds `0 * 0 = +0` terms, which change no partial sum: partial sums start at `+0` and so
/// are never `-0`).
pub struct PreluSlopeGradKernel<'a, T, const RIGHT: bool> {
    /// The forward input.
    pub z: &'a [T],
    /// `dy -> dx`, or `dy` in place.
    pub io: Io<'a, T>,
    /// One slope per channel.
    pub slopes: &'a [T],
    /// The slope gradient (`slopes.len()` elements), overwritten.
    pub da: &'a mut [T],
    /// The layout.
    pub layout: ChannelLayout,
}

/// One pattern-path block when the pattern is [`SLOPE_GRAD_SMALL_PATTERN`] elements (the
/// block, or the last one, cut anywhere): `dx` written, and the terms of element `j` of the
/// block added to slot `j % P` of `acc` (`+0` on entry), in increasing `j`, with the slots and
/// the slopes of the pattern in registers.
#[inline(always)]
fn small_pattern_block<S: Simd, T: Element, const RIGHT: bool>(
    s: S,
    z: &[T],
    io: Io<'_, T>,
    pattern: &[T],
    acc: &mut [S::f64s],
) {
    // (No closures on this path: they would not inherit the target features.)
    const PAT: usize = SLOPE_GRAD_SMALL_PATTERN;
    let per = T::per::<S>();
    let lanes = per * S::F64_LANES;
    // Element vectors per pattern, and slot vectors (`f64`).
    let group = PAT / lanes;
    let wrap = PAT / S::F64_LANES;
    let (zs, zt) = T::as_simd::<S>(z);
    let n = zs.len();
    let (ps, _) = T::as_simd::<S>(&pattern[..PAT]);
    let zero = s.splat_f64s(0.0);
    macro_rules! body {
        ($dys:ident, $dxs:ident, $dyt:ident, $dxt:ident) => {{
            let mut r = [zero; RUN_SLOTS / 2];
            r[..wrap].copy_from_slice(&acc[..wrap]);
            let mut j = 0;
            while j + group <= n {
                for k in 0..group {
                    let (zv, dyv) = (T::load(s, zs[j + k]), T::load(s, $dys[j + k]));
                    T::acc_terms(s, &mut r, k * per, zv, dyv);
                    $dxs[j + k] =
                        T::store(s, leaky_grad::<S, T, RIGHT>(s, zv, dyv, T::load(s, ps[k])));
                }
                j += group;
            }
            acc[..wrap].copy_from_slice(&r[..wrap]);
            // The rest: vector `j` starts at slot `(j % group) * lanes`.
            while j < n {
                let k = j % group;
                let (zv, dyv) = (T::load(s, zs[j]), T::load(s, $dys[j]));
                T::acc_terms(s, acc, k * per, zv, dyv);
                $dxs[j] = T::store(s, leaky_grad::<S, T, RIGHT>(s, zv, dyv, T::load(s, ps[k])));
                j += 1;
            }
            if !zt.is_empty() {
                let k = n % group;
                let (zv, dyv) = (T::partial_load(s, zt), T::partial_load(s, $dyt));
                let av = T::partial_load(s, &pattern[k * lanes..k * lanes + zt.len()]);
                T::acc_terms(s, acc, k * per, zv, dyv);
                T::partial_store(s, $dxt, leaky_grad::<S, T, RIGHT>(s, zv, dyv, av));
            }
        }};
    }
    match io {
        Io::OutOfPlace { src: dy, dst: dx } => {
            let (dys, dyt) = T::as_simd::<S>(dy);
            let (dxs, dxt) = T::as_mut_simd::<S>(dx);
            let (dys, dxs) = (&dys[..n], &mut dxs[..n]);
            body!(dys, dxs, dyt, dxt)
        }
        Io::InPlace(x) => {
            let (xs, xt) = T::as_mut_simd::<S>(x);
            let xs = &mut xs[..n];
            // In place, dy and dx are the same vectors (each read before it is written).
            body!(xs, xs, xt, xt)
        }
    }
}

/// The pattern path of the slope gradient over whole blocks (`z` starts at a block boundary,
/// so at channel 0 of the pattern `pattern`): `dx` written, one row of `C` block values pushed
/// to `rows` per block.
#[inline(always)]
fn pattern_blocks<S: Simd, T: Element, const RIGHT: bool>(
    s: S,
    z: &[T],
    io: Io<'_, T>,
    pattern: &[T],
    run: usize,
    rows: &mut PairwiseRows,
) {
    let c = rows.width();
    let (p, pat, block) = pattern_geometry(c, run);
    // Room for the last vector of a piece (up to 32 lanes: the half formats on AVX-512).
    let mut acc = vec![0.0f64; pat.next_multiple_of(32)];
    let mut row = vec![0.0f64; c];
    for (zb, iob) in z.chunks(block).zip(io.chunks(block)) {
        acc.fill(0.0);
        if pat == SLOPE_GRAD_SMALL_PATTERN {
            let (av, _) = S::as_mut_simd_f64s(&mut acc);
            small_pattern_block::<S, T, RIGHT>(s, zb, iob, &pattern[..pat], av);
            fold_pattern_block_row(&mut acc, p, run, &mut row);
            rows.push(&row);
            continue;
        }
        for (zp, piece) in zb.chunks(pat).zip(iob.chunks(pat)) {
            let m = zp.len();
            let (av, _) = S::as_mut_simd_f64s(&mut acc);
            fused_piece::<S, T, RIGHT, false, true>(s, zp, piece, T::ZERO, &pattern[..m], av);
        }
        fold_pattern_block_row(&mut acc, p, run, &mut row);
        rows.push(&row);
    }
}

/// The run path of the slope gradient over whole blocks of [`SLOPE_GRAD_BLOCK`] elements,
/// `z[0]` being element `start` of the input (a multiple of the block): `dx` written, and per
/// block the `(channel, block value)` pairs of the channels it holds (in order of first
/// appearance) pushed to `stacks`, or appended to `pairs` when `stacks` is `None`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn run_blocks<S: Simd, T: Element, const RIGHT: bool>(
    s: S,
    z: &[T],
    io: Io<'_, T>,
    slopes: &[T],
    run: usize,
    start: usize,
    pairs: &mut Vec<(usize, f64)>,
    mut stacks: Option<&mut [PairwiseStack]>,
) {
    let c = slopes.len();
    let mut slots = vec![[0.0f64; RUN_SLOTS]; c];
    let mut touched: Vec<usize> = Vec::new();
    for (bi, (zb, iob)) in z
        .chunks(SLOPE_GRAD_BLOCK)
        .zip(io.chunks(SLOPE_GRAD_BLOCK))
        .enumerate()
    {
        let b0 = start + bi * SLOPE_GRAD_BLOCK;
        let (mut i, mut zr, mut ior) = (b0, zb, iob);
        while !zr.is_empty() {
            // The piece: from `i` to the end of its run or of the block.
            let ch = (i / run) % c;
            let len = ((i / run + 1) * run - i).min(zr.len());
            if !touched.contains(&ch) {
                touched.push(ch);
            }
            let (zp, zrest) = zr.split_at(len);
            let (piece, iorest) = ior.split_at(len);
            let (av, _) = S::as_mut_simd_f64s(&mut slots[ch]);
            fused_piece::<S, T, RIGHT, true, false>(s, zp, piece, slopes[ch], &[], av);
            (i, zr, ior) = (i + len, zrest, iorest);
        }
        match stacks.as_deref_mut() {
            Some(st) => fold_run_block(&mut slots, &mut touched, st),
            None => {
                for &ch in touched.iter() {
                    pairs.push((ch, tree(&slots[ch])));
                    slots[ch] = [0.0; RUN_SLOTS];
                }
                touched.clear();
            }
        }
    }
}

impl<T: Element, const RIGHT: bool> WithSimd for PreluSlopeGradKernel<'_, T, RIGHT> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let PreluSlopeGradKernel {
            z,
            io,
            slopes,
            da,
            layout,
        } = self;
        let c = slopes.len();
        let n = z.len();
        let run = layout.run();
        if n > 0 && run < SLOPE_GRAD_MIN_RUN {
            let (_, pat, _) = pattern_geometry(c, run);
            let mut pattern = vec![T::ZERO; pat];
            fill_pattern(&mut pattern, slopes, run);
            let mut rows = PairwiseRows::new(c);
            pattern_blocks::<S, T, RIGHT>(s, z, io, &pattern, run, &mut rows);
            let mut sums = vec![0.0f64; c];
            rows.finish(&mut sums);
            for (d, &v) in da.iter_mut().zip(&sums) {
                *d = slope_grad_finish(v);
            }
            return;
        }
        let mut stacks = vec![PairwiseStack::default(); c];
        if n > 0 {
            run_blocks::<S, T, RIGHT>(s, z, io, slopes, run, 0, &mut Vec::new(), Some(&mut stacks));
        }
        for (d, st) in da.iter_mut().zip(&stacks) {
            *d = slope_grad_finish(st.finish());
        }
    }
}

/// The slope-gradient partial result of a chunk of whole blocks (threads).
pub enum SlopeGradPart {
    /// Pattern path: the chunk's block rows, summed as [`PairwiseRows`] does.
    Rows(PairwiseRows),
    /// Run path: the chunk's `(channel, block value)` pairs, in the sequential order.
    Pairs(Vec<(usize, f64)>),
}

/// A chunk of whole slope-gradient blocks of a [`PreluSlopeGradKernel`]: `dx` written, and the
/// chunk's [`SlopeGradPart`] returned, to be combined in order on the calling thread.
pub struct SlopeGradChunk<'a, T, const RIGHT: bool> {
    /// The forward input of the chunk.
    pub z: &'a [T],
    /// `dy -> dx`, or `dy` in place, of the chunk.
    pub io: Io<'a, T>,
    /// One slope per channel.
    pub slopes: &'a [T],
    /// Pattern path: the slope of every position of the pattern; run path: empty.
    pub pattern: &'a [T],
    /// The layout.
    pub layout: ChannelLayout,
    /// The index of `z[0]` in the whole input (a multiple of the block length).
    pub start: usize,
    /// The block length (cuts are at its multiples).
    pub block: usize,
}

impl<T: Element, const RIGHT: bool> WithSimd for SlopeGradChunk<'_, T, RIGHT> {
    type Output = SlopeGradPart;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> SlopeGradPart {
        let c = self.slopes.len();
        let run = self.layout.run();
        if run < SLOPE_GRAD_MIN_RUN {
            let mut rows = PairwiseRows::new(c);
            pattern_blocks::<S, T, RIGHT>(s, self.z, self.io, self.pattern, run, &mut rows);
            SlopeGradPart::Rows(rows)
        } else {
            let mut pairs = Vec::new();
            run_blocks::<S, T, RIGHT>(
                s,
                self.z,
                self.io,
                self.slopes,
                run,
                self.start,
                &mut pairs,
                None,
            );
            SlopeGradPart::Pairs(pairs)
        }
    }
}

impl<T: Element, const RIGHT: bool> Kernel for SlopeGradChunk<'_, T, RIGHT> {
    /// The same code on pulp's portable 256-bit emulation (the order, and so the bits, are
    /// the reference's on every lane width). Not used by [`PreluSlopeGradKernel::run_on`],
    /// which keeps the scalar backend on the calling thread.
    fn reference(self) -> SlopeGradPart {
        self.with_simd(pulp::Scalar256b)
    }
}

impl<T: Element, const RIGHT: bool> crate::parallel::Split for SlopeGradChunk<'_, T, RIGHT> {
    fn len(&self) -> usize {
        self.z.len()
    }
    fn granule(&self) -> usize {
        self.block
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (z0, z1) = self.z.split_at(mid);
        let (a, b) = self.io.split_at(mid);
        (
            SlopeGradChunk {
                z: z0,
                io: a,
                ..self
            },
            SlopeGradChunk {
                z: z1,
                io: b,
                start: self.start + mid,
                ..self
            },
        )
    }
}

/// Extra memory of the slope-gradient chunk results held at once (one wave), in bytes.
#[cfg(feature = "rayon")]
const WAVE_BYTES: usize = 4 << 20;

impl<T: Element, const RIGHT: bool> PreluSlopeGradKernel<'_, T, RIGHT> {
    /// Runs on `r`: across threads when `r` is multi-threaded, the backend a SIMD one and the
    /// input at least [`crate::parallel::MIN_PARALLEL_ELEMS`] long; else on the calling thread.
    ///
    /// Across threads, the input is cut into chunks of `2^k` whole blocks on the pattern path
    /// (`2^k` fixed by the shape) and of a fixed number of blocks on the run path. Each chunk
    /// writes its `dx` and returns its block values ([`SlopeGradPart`]); the calling thread
    /// combines them in order: pattern rows as perfect subtrees into one [`PairwiseRows`]
    /// ([`PairwiseRows::append`], which gives exactly the sums of one sequential pass), run
    /// pairs pushed one by one into the channels' [`PairwiseStack`]s. So `da` is the same bits
    /// for any thread count. Chunks run in waves, so that the results held at once stay
    /// within about `WAVE_BYTES`.
    pub(crate) fn run_on(self, r: crate::dispatch::Rectifier) {
        #[cfg(feature = "rayon")]
        {
            if r.is_multi_threaded()
                && r.backend() != crate::backend::Backend::Scalar
                && self.z.len() >= crate::parallel::MIN_PARALLEL_ELEMS
            {
                return self.run_parallel(r.backend());
            }
        }
        r.run_single(self)
    }

    #[cfg(feature = "rayon")]
    fn run_parallel(self, backend: crate::backend::Backend) {
        use crate::parallel::{CHUNK_ELEMS, Split, run_collect};
        let PreluSlopeGradKernel {
            z,
            io,
            slopes,
            da,
            layout,
        } = self;
        let c = slopes.len();
        let run = layout.run();
        let pattern_path = run < SLOPE_GRAD_MIN_RUN;
        let mut pattern = Vec::new();
        let (block, blocks_per_chunk, part_bytes) = if pattern_path {
            let (_, pat, block) = pattern_geometry(c, run);
            pattern.resize(pat, T::ZERO);
            fill_pattern(&mut pattern, slopes, run);
            // A power of two, so that chunk results are perfect subtrees.
            let bpc = 1usize << (CHUNK_ELEMS / block).max(1).ilog2();
            (block, bpc, 8 * c * (bpc.ilog2() as usize + 1))
        } else {
            let bpc = CHUNK_ELEMS / SLOPE_GRAD_BLOCK;
            // At most one piece per run and one more per block.
            let pairs = bpc * (SLOPE_GRAD_BLOCK / run + 2);
            (SLOPE_GRAD_BLOCK, bpc, 16 * pairs)
        };
        let chunk = block * blocks_per_chunk;
        let wave = chunk * (WAVE_BYTES / part_bytes).clamp(2, 16);
        let mut rows = PairwiseRows::new(c);
        let mut stacks = vec![PairwiseStack::default(); c];
        let mut rest = SlopeGradChunk::<T, RIGHT> {
            z,
            io,
            slopes,
            pattern: &pattern,
            layout,
            start: 0,
            block,
        };
        let mut parts = Vec::new();
        while rest.len() > 0 {
            let take = wave.min(rest.len());
            let (head, tail) = rest.split_at(take);
            rest = tail;
            run_collect(backend, chunk, head, &mut parts);
            for part in parts.drain(..) {
                match part {
                    SlopeGradPart::Rows(r) => rows.append(&r),
                    SlopeGradPart::Pairs(v) => {
                        for (ch, x) in v {
                            stacks[ch].push(x);
                        }
                    }
                }
            }
        }
        if pattern_path {
            let mut sums = vec![0.0f64; c];
            rows.finish(&mut sums);
            for (d, &v) in da.iter_mut().zip(&sums) {
                *d = slope_grad_finish(v);
            }
        } else {
            for (d, st) in da.iter_mut().zip(&stacks) {
                *d = slope_grad_finish(st.finish());
            }
        }
    }
}

impl<T: Element, const RIGHT: bool> Kernel for PreluSlopeGradKernel<'_, T, RIGHT> {
    fn reference(self) {
        let PreluSlopeGradKernel {
            z,
            io,
            slopes,
            da,
            layout,
        } = self;
        // The reference takes two passes; `da` reads `dy` before `dx` may overwrite it.
        let dy = match &io {
            Io::OutOfPlace { src, .. } => *src,
            Io::InPlace(x) => &**x,
        };
        reference::prelu_slope_grad(z, dy, slopes.len(), layout, da);
        PreluGradKernel::<T, RIGHT> {
            z,
            io,
            slopes,
            layout,
        }
        .reference();
    }
}

impl<'a, T: Element, F: Copy> crate::parallel::Split for GradKernel<'a, T, F> {
    fn len(&self) -> usize {
        self.io.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (z0, z1) = self.z.split_at(mid);
        let (a, b) = self.io.split_at(mid);
        (
            GradKernel {
                f: self.f,
                z: z0,
                io: a,
            },
            GradKernel {
                f: self.f,
                z: z1,
                io: b,
            },
        )
    }
}

impl<'a, T: Element, const RIGHT: bool> crate::parallel::Split for PreluGradKernel<'a, T, RIGHT> {
    fn len(&self) -> usize {
        self.io.len()
    }
    /// Whole periods, so that every piece starts at channel 0.
    fn granule(&self) -> usize {
        self.slopes.len() * self.layout.run()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let PreluGradKernel {
            z,
            io,
            slopes,
            layout,
        } = self;
        let (z0, z1) = z.split_at(mid);
        let (a, b) = io.split_at(mid);
        (
            PreluGradKernel {
                z: z0,
                io: a,
                slopes,
                layout,
            },
            PreluGradKernel {
                z: z1,
                io: b,
                slopes,
                layout,
            },
        )
    }
}
