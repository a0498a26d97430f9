//! Maxout kernels (`SPEC.md` sections 2 and 3), written once over pulp's [`Simd`].
//!
//! The lane rule ([`step`]) keeps a running `(best value, best index)` per lane; a candidate at a
//! later position replaces the best iff `best is not NaN and !(c <= best)`. `!(c <= best)` is
//! `c > best` or `c` NaN (given a non-NaN best), and is false for equal values and for `-0` vs
//! `+0`, so the first NaN wins and ties keep the earliest position. Only compares and selects:
//! no `max` instruction, whose NaN and signed-zero results differ by ISA.
//!
//! The compares are the bottleneck (AVX-512 on Zen 4 runs two per step at half rate), so every
//! driver first runs [`step_fast`] (`c > best`: one compare, exact when no candidate is NaN)
//! and sums the candidates on the adders; a NaN sum (a NaN candidate, or a harmless `inf - inf`)
//! makes it redo the block with [`step`]. 64 Ki `f32` planar `k` = 16: 0.60x -> 0.87x memcpy.
//!
//! Drivers bring each group's pieces into the lanes of the rule:
//! - **planar** (and `k = 1`): vectors across `G` groups, one load per plane: an element-wise
//!   reduction over the `k` planes (tiled, 4 planes per pass, for `k > 8` on large inputs);
//! - **interleaved, `k` = 2, 4, 8, 16**: blocks of `lanes` groups split, stage by stage, into
//!   the earlier and the later halves of each group's pieces in registers, reducing each
//!   stage's pair at once (AVX-512 and AVX2; in-lane and 128-bit block shuffles where the
//!   positions allow, else two-source permutes: `Pow2Plan`);
//! - **interleaved, other small `k`**: planes assembled by chains of two-source permutes
//!   (AVX-512, `k <= 8`), else by hardware gathers (AVX2/AVX-512), else (NEON, tails) through
//!   a stack transposition;
//! - **interleaved, large `k`** (`k >= 2 * lanes`, above 16): within the group, vectors of
//!   consecutive pieces, then a cross-lane reduction by (first NaN, greater, smaller index).
//! - **the half formats**: on AVX-512, the planar layout and interleaved `k` = 2, 4, 8, 16 run
//!   on their 16-bit lanes ([`super::maxout16`]), and so does backward overwrite (planar, and
//!   interleaved `k` = 2, 4, 8, 16); everything else widens blocks of groups to `f32` and runs the
//!   drivers above (`interleaved_via_f32`).
//!
//! Backward: planar overwrite by compare + select per plane (four, then two, planes per load
//! where the planes share an alignment; two when accumulating); interleaved overwrite by zipping planes in registers (`k` = 2,
//! 4, 8, 16 below `lanes`, undoing the forward's splits: `Pow2Unzip`; at `k` = 8 of 16 lanes
//! by permutes from `dy` and the indices), or
//! two broadcasts per group (`k >= lanes`), else a scalar scatter after zeroing. Accumulate
//! mode: planar `k <= 16` (`f64`: 4) and interleaved `k` = 1, 2, 4, 8 below `lanes` read
//! each vector of `dx` and add `dy` where the position is the index (interleaved: `dy` and the
//! indices zipped in registers; `f32`/`f64` on x86, the half formats at `k` = 2 and 4 on their
//! widened `f32` vectors); otherwise a scalar scatter, which touches one element per group, or
//! for the half formats the winners gathered into vectors.
//! Outputs of 16 MiB and more are written with streaming stores on x86 where the stores are
//! vector-aligned (planar overwrite; interleaved overwrite at `k` = 2, 4, 8, 16 and `lanes`).

use pulp::{Simd, WithSimd};

use super::{UNROLL, head_len};
use crate::dispatch::Kernel;
use crate::element::Element;
use crate::error::Error;
use crate::ops::maxout::{MaxoutGradMode, MaxoutIndex, MaxoutLayout, check_indices};
use crate::reference;

/// One step of the lane rule: candidate `c` (at position `j`, later than every position seen by
/// this lane) against the running `(best, at)`.
#[inline(always)]
pub fn step<S: Simd, T: Element>(
    s: S,
    best: &mut T::V<S>,
    at: &mut T::U<S>,
    c: T::V<S>,
    j: T::U<S>,
) {
    let replace = T::m_and(
        s,
        T::m_not(s, T::v_le(s, c, *best)),
        T::v_eq(s, *best, *best),
    );
    *best = T::v_select(s, replace, c, *best);
    *at = T::u_select(s, replace, j, *at);
}

/// [`step`] without the NaN handling: `c` replaces `best` iff `c > best` (ordered). Equal to
/// [`step`] as long as no candidate is NaN (a NaN first element stays, since nothing compares
/// greater than it); one compare instead of two. The callers check, with `any_nan_in`,
/// that the candidates held no NaN, and redo the work with [`step`] when they did.
#[inline(always)]
pub fn step_fast<S: Simd, T: Element>(
    s: S,
    best: &mut T::V<S>,
    at: &mut T::U<S>,
    c: T::V<S>,
    j: T::U<S>,
) {
    let replace = T::v_gt(s, c, *best);
    *best = if crate::arch::is_x86_simd::<S>() {
        // x86's `max(c, best)` is `c > best ? c : best` (`best` when they are equal, `-0`
        // against `+0` too), the select below, except with a NaN, which the callers redo.
        // It takes the compare and the masked move off the chain from one `best` to the
        // next. 64 Ki, AVX-512 (a Zen 5), seven alternating runs of the report against the
        // select (the command of `planar_blocks_k`), median x memcpy: interleaved `f32`
        // `k` = 8 0.56 -> 0.61, values only `k` = 8/16 0.58/0.56 -> 0.64/0.67; `f64` `k` = 8
        // 0.51 -> 0.57, values only `k` = 4/8 0.72/0.58 -> 0.88/0.84; the rest within noise.
        T::v_max_raw(s, c, *best)
    } else {
        T::v_select(s, replace, c, *best)
    };
    *at = T::u_select(s, replace, j, *at);
}

/// The lane rule, exact ([`step`]) or fast ([`step_fast`]).
#[inline(always)]
fn step_rule<S: Simd, T: Element, const FAST: bool>(
    s: S,
    best: &mut T::V<S>,
    at: &mut T::U<S>,
    c: T::V<S>,
    j: T::U<S>,
) {
    if FAST {
        step_fast::<S, T>(s, best, at, c, j)
    } else {
        step::<S, T>(s, best, at, c, j)
    }
}

/// Whether some lane of `sum` is NaN. For a sum of maxout candidates: then some candidate was
/// NaN (or the sum met `inf - inf`, a harmless false alarm); sums run on the adders, beside the
/// compares. Also the check of [`accumulate`].
#[inline(always)]
fn any_nan_in<S: Simd, T: Element>(s: S, sum: T::V<S>) -> bool {
    crate::arch::any_nan::<S, T>(s, sum)
}

/// The sum of the `N` vectors of `v` (`N` a power of two) as a balanced tree, for
/// [`any_nan_in`]: a NaN among them makes it NaN. `log2(N)` dependent sums instead of `N - 1`
/// (3 cycles each: a serial sum of 16 vectors is a 45-cycle chain per block).
#[inline(always)]
fn tree_sum<S: Simd, T: Element, const N: usize>(s: S, v: &[T::V<S>; N]) -> T::V<S> {
    const { assert!(N.is_power_of_two()) };
    let mut w = *v;
    let mut m = N;
    while m > 1 {
        m /= 2;
        for i in 0..m {
            w[i] = T::v_add(s, w[i], w[i + m]);
        }
    }
    w[0]
}

/// A full vector from `p` (any alignment).
///
/// # Safety
/// `p .. p + lanes` must be readable.
#[inline(always)]
unsafe fn load<S: Simd, T: Element>(s: S, p: *const T) -> T::V<S> {
    // SAFETY: the caller guarantees `lanes` readable elements, which is the size of `SV<S>`;
    // `SV<S>` is plain data.
    T::load(s, unsafe {
        core::ptr::read_unaligned(p.cast::<T::SV<S>>())
    })
}

/// Stores `v` to `out[..lanes]` (`out.len() >= lanes`).
#[inline(always)]
fn store<S: Simd, T: Element>(s: S, out: &mut [T], v: T::V<S>) {
    assert!(out.len() >= T::lanes::<S>());
    let v = T::store(s, v);
    // SAFETY: checked just above that `lanes` elements (the size of `SV<S>`) are writable.
    unsafe { core::ptr::write_unaligned(out.as_mut_ptr().cast::<T::SV<S>>(), v) }
}

/// Stores the first `out.len() <= lanes` lanes of the index vector `at`, converted to `I`
/// (every lane is `< I::MAX_K`, checked by the caller's validation of `k`).
#[inline(always)]
fn store_indices<S: Simd, T: Element, I: MaxoutIndex>(out: &mut [I], at: T::U<S>) {
    let lanes = T::lanes::<S>();
    if out.len() == lanes && size_of::<I>() == size_of::<T::ULane>() {
        // SAFETY: `out` holds exactly `lanes` elements of the lane width, and the only index
        // type of that width is the lane type itself (`u32` for `f32`), so this is a plain copy.
        unsafe { core::ptr::write_unaligned(out.as_mut_ptr().cast::<T::U<S>>(), at) };
        return;
    }
    let src: &[T::ULane] = bytemuck::cast_slice(core::slice::from_ref(&at));
    for (o, &x) in out.iter_mut().zip(src) {
        *o = I::from_u64(x.into());
    }
}

/// `[0, 1, ..., lanes - 1]`.
#[inline(always)]
fn iota<S: Simd, T: Element>(s: S) -> T::U<S> {
    let mut v = T::u_splat(s, 0);
    let lanes: &mut [T::ULane] = bytemuck::cast_slice_mut(core::slice::from_mut(&mut v));
    for (i, l) in lanes.iter_mut().enumerate() {
        *l = T::ULane::try_from(i as u64).ok().expect("lane index fits");
    }
    v
}

/// `N` vectors of groups `g .. g + N * lanes` of `k` planes at `stride` elements apart in `z`
/// (plane `j` of group `g` at `z[j * stride + g]`): values to `values[g..]`, indices (when
/// `IDX`) to `ix[g..]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn planar_full<
    S: Simd,
    T: Element,
    I: MaxoutIndex,
    const N: usize,
    const IDX: bool,
    const SHIFT: bool,
    const K: usize,
>(
    s: S,
    z: &[T],
    stride: usize,
    k: usize,
    g: usize,
    values: &mut [T],
    ix: &mut [I],
    out: Stores,
    shifted: &mut ShiftedIndices<S, T>,
    first: usize,
) {
    let lanes = T::lanes::<S>();
    assert!(k >= 1 && (K == 0 || K == k) && (k - 1) * stride + g + N * lanes <= z.len());
    let (mut best, mut at, nan) = planar_reduce::<S, T, N, true, K>(s, z.as_ptr(), stride, k, g);
    if nan {
        (best, at, _) = planar_reduce::<S, T, N, false, K>(s, z.as_ptr(), stride, k, g);
    }
    for u in 0..N {
        let o = g + u * lanes;
        out.values::<S, T>(s, &mut values[o..], best[u]);
        if IDX {
            index_block::<S, T, I, SHIFT>(out, shifted, ix, first, o, at[u]);
        }
    }
}

/// The reduction of [`planar_full`]: `N` vectors of groups from `g` over `k` planes at
/// `stride`, by the fast rule (then also whether a candidate may have been NaN) or the exact
/// one. `K`: `k` as a constant (the plane loop unrolled), or 0. The caller has checked that
/// every element read is inside the input at `base`.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn planar_reduce<S: Simd, T: Element, const N: usize, const FAST: bool, const K: usize>(
    s: S,
    base: *const T,
    stride: usize,
    k: usize,
    g: usize,
) -> ([T::V<S>; N], [T::U<S>; N], bool) {
    let lanes = T::lanes::<S>();
    let k = if K > 0 { K } else { k };
    // SAFETY (every `load` below): the caller checked `(k - 1) * stride + g + N * lanes` is
    // within the input.
    // (Loops, not `array::from_fn`: a closure would not inherit the SIMD target features.)
    let mut best = [T::v_splat(s, T::ZERO); N];
    for (u, b) in best.iter_mut().enumerate() {
        *b = unsafe { load::<S, T>(s, base.add(g + u * lanes)) };
    }
    let mut sum = [T::v_splat(s, T::ZERO); N];
    let mut at = [T::u_splat(s, 0); N];
    let mut jv = T::u_splat(s, 0);
    let one = T::u_splat(s, 1);
    let mut row = base;
    for _ in 1..k {
        jv = T::u_add(s, jv, one);
        // SAFETY: see above; `row` stays inside the input (at most `(k - 1) * stride` on).
        row = unsafe { row.add(stride) };
        for u in 0..N {
            let c = unsafe { load::<S, T>(s, row.add(g + u * lanes)) };
            if FAST {
                sum[u] = T::v_add(s, sum[u], c);
            }
            step_rule::<S, T, FAST>(s, &mut best[u], &mut at[u], c, jv);
        }
    }
    let mut nan = false;
    if FAST {
        let mut total = sum[0];
        for x in &sum[1..] {
            total = T::v_add(s, total, *x);
        }
        nan = any_nan_in::<S, T>(s, total);
    }
    (best, at, nan)
}

/// Groups `g .. g + len` (`len < lanes`) of the planes as in [`planar_full`], by masked loads
/// and stores.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn planar_partial<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    stride: usize,
    k: usize,
    g: usize,
    len: usize,
    values: &mut [T],
    ix: &mut [I],
) {
    let mut best = T::partial_load(s, &z[g..g + len]);
    let mut at = T::u_splat(s, 0);
    for j in 1..k {
        let c = T::partial_load(s, &z[j * stride + g..j * stride + g + len]);
        step::<S, T>(s, &mut best, &mut at, c, T::u_splat(s, j as u64));
    }
    T::partial_store(s, &mut values[g..g + len], best);
    if IDX {
        store_indices::<S, T, I>(&mut ix[g..g + len], at);
    }
}

/// Above this many planes, [`planar`] runs 8 vectors of groups at once (more independent
/// chains of steps): 64 Ki `f32`, `k` = 16: 0.59x -> 0.61x memcpy, `k` = 8: 0.62x -> 0.66x.
/// (Tiles reading 4 planes per pass, against L1 set conflicts between planes, measured slower:
/// 0.43x at `k` = 16.)
const MANY_PLANES: usize = 4;

/// Planes read at once by [`planar_tile`].
const PLANES_PER_PASS: usize = 4;
/// Vectors of groups per tile of [`planar_tile`] (2048 `f32` groups on AVX-512: 8 KiB runs of
/// each plane per pass).
const TILE_VECTORS: usize = 128;

/// `TILE_VECTORS` vectors of groups from `g` of the planar layout with many planes, reading
/// [`PLANES_PER_PASS`] planes per pass over the tile (the running best waits in L1 between
/// passes): fewer concurrent DRAM streams. Used for `k > 8` and inputs of at least
/// [`crate::arch::STREAM_MIN_BYTES`]: `f32` `k` = 16 on AVX-512 (a noisy, shared machine)
/// 4 Mi: 11.4 -> 15.4 GB/s, 16 Mi: 7.6 -> 8.3, 64 Mi: about 5 -> 6.8; slower in cache
/// (64 Ki: 0.59x -> 0.50x memcpy) and at `k` = 8 (4 Mi: 27 -> 14.5 GB/s).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn planar_tile<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool, const SHIFT: bool>(
    s: S,
    z: &[T],
    stride: usize,
    k: usize,
    g: usize,
    values: &mut [T],
    ix: &mut [I],
    out: Stores,
    shifted: &mut ShiftedIndices<S, T>,
    first: usize,
) {
    let lanes = T::lanes::<S>();
    assert!(k >= 1 && (k - 1) * stride + g + TILE_VECTORS * lanes <= z.len());
    let mut best = [T::v_splat(s, T::ZERO); TILE_VECTORS];
    let mut at = [T::u_splat(s, 0); TILE_VECTORS];
    if planar_tile_reduce::<S, T, true>(s, z.as_ptr(), stride, k, g, &mut best, &mut at) {
        planar_tile_reduce::<S, T, false>(s, z.as_ptr(), stride, k, g, &mut best, &mut at);
    }
    for u in 0..TILE_VECTORS {
        let o = g + u * lanes;
        out.values::<S, T>(s, &mut values[o..], best[u]);
        if IDX {
            index_block::<S, T, I, SHIFT>(out, shifted, ix, first, o, at[u]);
        }
    }
}

/// The reduction of [`planar_tile`] by the fast rule (returning whether a candidate may have
/// been NaN) or the exact one. The caller checked the furthest element read is in the input.
#[inline(always)]
fn planar_tile_reduce<S: Simd, T: Element, const FAST: bool>(
    s: S,
    base: *const T,
    stride: usize,
    k: usize,
    g: usize,
    best: &mut [T::V<S>; TILE_VECTORS],
    at: &mut [T::U<S>; TILE_VECTORS],
) -> bool {
    let lanes = T::lanes::<S>();
    for (u, b) in best.iter_mut().enumerate() {
        // SAFETY: (every `load`) the caller checked `(k - 1) * stride + g + TILE_VECTORS *
        // lanes` is within the input.
        *b = unsafe { load::<S, T>(s, base.add(g + u * lanes)) };
    }
    *at = [T::u_splat(s, 0); TILE_VECTORS];
    let mut sum = T::v_splat(s, T::ZERO);
    let mut j0 = 1;
    while j0 < k {
        let j1 = (j0 + PLANES_PER_PASS).min(k);
        for u in 0..TILE_VECTORS {
            let (mut b, mut a) = (best[u], at[u]);
            let mut part = T::v_splat(s, T::ZERO);
            for j in j0..j1 {
                let c = unsafe { load::<S, T>(s, base.add(j * stride + g + u * lanes)) };
                if FAST {
                    part = T::v_add(s, part, c);
                }
                step_rule::<S, T, FAST>(s, &mut b, &mut a, c, T::u_splat(s, j as u64));
            }
            if FAST {
                sum = T::v_add(s, sum, part);
            }
            best[u] = b;
            at[u] = a;
        }
        j0 = j1;
    }
    FAST && any_nan_in::<S, T>(s, sum)
}

/// The planar layout (and any layout at `k = 1`): `values.len()` groups, plane `j` of group `g`
/// at `z[j * stride + g]`. `stride` is the group count of the whole input; a chunk of groups
/// `g0..` (a thread's share) passes `z[g0..]` and its own `values`, `ix`.
#[inline(always)]
fn planar<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    stride: usize,
    k: usize,
    values: &mut [T],
    ix: &mut [I],
) {
    let groups = values.len();
    let head = head_len::<S, T>(values);
    if head > 0 {
        planar_partial::<S, T, I, IDX>(s, z, stride, k, 0, head, values, ix);
    }
    let mut g = head;
    // Decided on the whole input (`k * stride` elements, a slice's length: no overflow, even for
    // a huge `k` with no groups), so a chunk takes the path the whole would.
    let whole_bytes = size_of::<T>() * (k * stride);
    let large = whole_bytes >= crate::arch::STREAM_MIN_BYTES;
    let ixg: &[I] = if IDX { &ix[g..] } else { &[] };
    let out = Stores::new::<S, T, I, IDX>(large, false, &values[g..], ixg);
    // (The shifting copy only where it can be taken, `u32` indices of `f32`, and at `k <= 4`,
    // see `ShiftedIndices`.)
    let shifted = if IDX && !out.indices && size_of::<I>() == size_of::<T>() && k <= MANY_PLANES {
        ShiftedIndices::<S, T>::new::<I>(s, &values[g..], ixg)
    } else {
        None
    };
    if let Some(mut sh) = shifted {
        let first = g;
        g = planar_blocks_k::<S, T, I, IDX, true>(
            s, z, stride, k, g, values, ix, out, large, &mut sh,
        );
        if g > first {
            sh.finish::<I>(ix, g);
        }
    } else {
        let mut sh = ShiftedIndices::unused(s);
        g = planar_blocks_k::<S, T, I, IDX, false>(
            s, z, stride, k, g, values, ix, out, large, &mut sh,
        );
    }
    out.fence();
    if g < groups {
        planar_partial::<S, T, I, IDX>(s, z, stride, k, g, groups - g, values, ix);
    }
}

/// [`planar_blocks`] with `k` as a constant at `k` = 2, 4 and 8, where the plane loop of each
/// block is short enough to unroll whole (`k` = 8 with indices on 4 vectors of groups, not 8,
/// which unrolled gained only without indices). 64 Ki, AVX-512 (a Zen 5), alternating runs of
/// the report (`--sizes 64Ki --threads 1 --dtypes f32,f64 --ops maxout,maxout_values
/// --backends memcpy,avx512 --budget-ms 100`; README, "On a Zen 5"), median x memcpy: five
/// runs against the build before, `k` = 4 `f32` 0.48 -> 0.82, `f64` 0.48 -> 0.83, `k` = 2
/// `f32` 0.77 -> 0.94; seven runs adding `k` = 8: `f32` 0.55 -> 0.71, `f64` 0.48 -> 0.65,
/// values only 0.50 -> 0.71 and 0.50 -> 0.70. At `k` = 16 it measured no faster (`f32` 0.47 ->
/// 0.44), so that keeps the loop. The shifting index writer (`SHIFT`) is only taken at
/// `k <= 4`, so its copy has no `k` = 8.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn planar_blocks_k<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool, const SHIFT: bool>(
    s: S,
    z: &[T],
    stride: usize,
    k: usize,
    g: usize,
    values: &mut [T],
    ix: &mut [I],
    out: Stores,
    large: bool,
    sh: &mut ShiftedIndices<S, T>,
) -> usize {
    macro_rules! with_k {
        ($k:literal) => {
            planar_blocks::<S, T, I, IDX, SHIFT, $k>(s, z, stride, k, g, values, ix, out, large, sh)
        };
    }
    match k {
        2 => with_k!(2),
        4 => with_k!(4),
        8 if !SHIFT => with_k!(8),
        _ => with_k!(0),
    }
}

/// The whole vectors of [`planar`] from group `g` (on a vector boundary of `values`), in
/// order; returns the first group not done. `SHIFT`: indices by `sh`, from `g` on. `K`: `k`
/// as a constant, or 0.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn planar_blocks<
    S: Simd,
    T: Element,
    I: MaxoutIndex,
    const IDX: bool,
    const SHIFT: bool,
    const K: usize,
>(
    s: S,
    z: &[T],
    stride: usize,
    k: usize,
    mut g: usize,
    values: &mut [T],
    ix: &mut [I],
    out: Stores,
    large: bool,
    sh: &mut ShiftedIndices<S, T>,
) -> usize {
    let groups = values.len();
    let lanes = T::lanes::<S>();
    let first = g;
    if k > 2 * PLANES_PER_PASS && large {
        while g + TILE_VECTORS * lanes <= groups {
            planar_tile::<S, T, I, IDX, SHIFT>(s, z, stride, k, g, values, ix, out, sh, first);
            g += TILE_VECTORS * lanes;
        }
    }
    // AVX2 (16 registers for 8 x (best, index, sum)) measured better with 4 vectors at
    // `k` = 8 (53 -> 63 GB/s, 64 Ki `f32`) and with 8 at `k` = 16 (45 -> 54).
    // (A constant `k` with indices takes 4: see `planar_blocks_k`.)
    if k > MANY_PLANES && (size_of::<T::V<S>>() == 64 || k > 8) && (K == 0 || !IDX) {
        while g + 8 * lanes <= groups {
            planar_full::<S, T, I, 8, IDX, SHIFT, K>(
                s, z, stride, k, g, values, ix, out, sh, first,
            );
            g += 8 * lanes;
        }
    }
    while g + UNROLL * lanes <= groups {
        planar_full::<S, T, I, UNROLL, IDX, SHIFT, K>(
            s, z, stride, k, g, values, ix, out, sh, first,
        );
        g += UNROLL * lanes;
    }
    while g + lanes <= groups {
        planar_full::<S, T, I, 1, IDX, SHIFT, K>(s, z, stride, k, g, values, ix, out, sh, first);
        g += lanes;
    }
    g
}

/// The stack buffer of the transposing path: `k * lanes` elements, `k < 2 * lanes` (see
/// `forward`), `lanes <= 32` (the half formats on AVX-512).
const TRANSPOSE_BUF: usize = 64 * 32;

/// Groups `g .. g + len` (`len <= lanes`) of the interleaved layout through a transposition in
/// a stack buffer (`k * lanes <= TRANSPOSE_BUF`), then the planar rule.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn interleaved_block<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    k: usize,
    g: usize,
    len: usize,
    buf: &mut [T; TRANSPOSE_BUF],
    values: &mut [T],
    ix: &mut [I],
) {
    let lanes = T::lanes::<S>();
    let src = &z[g * k..(g + len) * k];
    let buf = &mut buf[..k * lanes];
    for (l, group) in src.chunks_exact(k).enumerate() {
        for (j, &x) in group.iter().enumerate() {
            buf[j * lanes + l] = x;
        }
    }
    let mut best = T::load(s, T::as_simd::<S>(&buf[..lanes]).0[0]);
    let mut at = T::u_splat(s, 0);
    for j in 1..k {
        let c = T::load(s, T::as_simd::<S>(&buf[j * lanes..(j + 1) * lanes]).0[0]);
        step::<S, T>(s, &mut best, &mut at, c, T::u_splat(s, j as u64));
    }
    if len == lanes {
        store::<S, T>(s, &mut values[g..], best);
    } else {
        T::partial_store(s, &mut values[g..g + len], best);
    }
    if IDX {
        store_indices::<S, T, I>(&mut ix[g..g + len], at);
    }
}

/// How far ahead (in bytes) [`prefetch_ahead`] asks for the input of the interleaved fast
/// paths. The hardware prefetcher alone left a one-core read of a large input well short of
/// DRAM's rate; 64 Mi `f32` values only (AVX-512, a shared Intel Xeon: ratios to memcpy
/// within one run), `k` = 4/8/16, no prefetch 0.87/0.87/0.91x, 1 KiB ahead 0.76/0.86/0.85x,
/// 4 KiB 0.96/0.97/0.97x, 8 KiB 0.99/1.03/1.05x, 16 KiB 0.98/0.95/1.02x; every other line
/// instead of every line lost most of the gain.
pub(crate) const PREFETCH_AHEAD: usize = 8192;

/// Whether [`prefetch_ahead`] is worth its loads for the input `z`: only when it
/// is too large to stay in cache ([`crate::arch::STREAM_MIN_BYTES`]).
#[inline(always)]
pub(crate) fn far<T>(z: &[T]) -> bool {
    size_of_val(z) >= crate::arch::STREAM_MIN_BYTES
}

/// A software prefetch of every cache line of `z[from..to]` moved [`PREFETCH_AHEAD`] bytes
/// on (lines past the end of `z` are skipped). Changes no result.
#[inline(always)]
pub(crate) fn prefetch_ahead<T>(z: &[T], from: usize, to: usize) {
    let line = 64 / size_of::<T>();
    let ahead = PREFETCH_AHEAD / size_of::<T>();
    let mut at = from + ahead;
    while at < to + ahead {
        crate::arch::prefetch(z, at);
        at += line;
    }
}

/// How a forward path writes its whole vectors of values and indices: plain stores, or
/// streaming (non-temporal) stores, which skip the read-for-ownership of the output's lines, for
/// an input of [`crate::arch::STREAM_MIN_BYTES`] and more (its outputs would not stay in cache
/// anyway) on the ISAs that have them, each output only where its stores are vector-aligned.
/// Indices stream only as the lane type itself (`u32` for `f32`). 64 Mi, AVX-512 (a shared
/// Xeon), three alternating runs against the build before both, median x memcpy (glibc's copy
/// streams too): `f32` planar `k` = 2/4/8/16 0.41/0.44/0.96/0.79 -> 0.71/0.78/1.10/0.94, `f64`
/// planar `k` = 2 0.43 -> 0.75; `f32` interleaved 0.44/0.49/0.71/0.66 -> 0.75/0.67/0.91/0.91
/// together with the prefetch of [`prefetch_ahead`]. No change at 64 Ki (not used there).
/// Tried and not kept: `f64`'s `u32` indices streamed as 32-byte `vpmovqd` results (AVX-512,
/// where 32-byte aligned). 64 Mi `f64`, three alternating runs: interleaved `k` = 2 0.69 ->
/// 0.57x memcpy, `k` = 4/8/16 and planar within +0.05 (noise at 64 Mi); and the extra branch in
/// [`Stores::indices`] cost the in-cache planar path (64 Ki, seven runs, `k` = 4/8/16 1.00/0.97/
/// 0.94 -> 0.93/0.73/0.79; with `vpmovqd` also in planar, 0.95/0.92/0.90).
#[derive(Clone, Copy)]
struct Stores {
    values: bool,
    indices: bool,
    /// `f64`'s `u32` indices by [`crate::arch::narrow_indices`] (one instruction) instead of
    /// lane by lane; set by the interleaved paths at `k >= 4`. 64 Ki `f64` interleaved,
    /// AVX-512 (a Xeon), five alternating runs, median x memcpy: `k` = 4/8/16
    /// 0.67/0.57/0.56 -> 0.86/0.62/0.64; at `k` = 2 it lost, 0.82 -> 0.61 (probably
    /// `vpmovqd` on the shuffle port that `k` = 2's splits keep busy); planar unchanged.
    narrow: bool,
}

impl Stores {
    /// The stores for vectors written from `values[0]` and `ix[0]` on (then every `lanes`
    /// elements), of a call whose input is `large`.
    #[inline(always)]
    fn new<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
        large: bool,
        narrow: bool,
        values: &[T],
        ix: &[I],
    ) -> Stores {
        let can = large && crate::arch::can_stream::<S>();
        // A streaming store writes one whole register of `S`: not the half formats' 16-byte
        // storage vectors or their 64-byte (two-register) index vectors on AVX2.
        let whole = |bytes: usize| bytes == size_of::<S::f32s>();
        let at = |p: usize, a: usize| p.is_multiple_of(a);
        let (vb, ib) = (size_of::<T::SV<S>>(), size_of::<T::U<S>>());
        Stores {
            values: can && whole(vb) && at(values.as_ptr() as usize, vb),
            indices: can
                && IDX
                && whole(ib)
                && size_of::<I>() == size_of::<T::ULane>()
                && at(ix.as_ptr() as usize, ib),
            narrow,
        }
    }

    /// Stores `v` to `out[..lanes]`.
    #[inline(always)]
    fn values<S: Simd, T: Element>(self, s: S, out: &mut [T], v: T::V<S>) {
        put::<S, T>(s, out, v, self.values)
    }

    /// Stores the index vector `at` to `out` (`out.len() <= lanes`; streamed only when whole).
    #[inline(always)]
    fn indices<S: Simd, T: Element, I: MaxoutIndex>(self, out: &mut [I], at: T::U<S>) {
        let bytes = size_of::<T::U<S>>();
        if self.indices && out.len() == T::lanes::<S>() {
            assert!(size_of_val(out) == bytes && (out.as_ptr() as usize).is_multiple_of(bytes));
            // SAFETY: `indices` is only set where `arch::can_stream::<S>()`; the assert checks
            // that `out` is exactly one aligned index vector (`I` is the lane type).
            unsafe { crate::arch::stream::<S, T::U<S>>(out.as_mut_ptr().cast(), at) }
        } else if self.narrow
            && out.len() == T::lanes::<S>()
            && size_of::<T::ULane>() == 8
            && let Some(out32) = crate::ops::maxout::private::Sealed::as_u32s(out)
        {
            if !crate::arch::narrow_indices::<S, T::U<S>>(out32, at) {
                store_indices::<S, T, I>(out, at)
            }
        } else {
            store_indices::<S, T, I>(out, at)
        }
    }

    /// Orders the streaming stores before what follows (after the last of them).
    #[inline(always)]
    fn fence(self) {
        if self.values || self.indices {
            crate::arch::stream_fence();
        }
    }
}

/// Index vectors stored `d` lanes early, so that each store starts at the same offset within a
/// cache line as the values' store of the same block: where the two outputs' offsets differ,
/// each block's index vector is joined with the previous one's last `d` lanes by one
/// two-source permute. On AVX-512 with indices of the lane width (`u32` indices of `f32`), at
/// `k <= 4` (the interleaved power-of-two and the planar paths), where the stores weigh most.
/// 64 Ki `f32` on a shared Xeon, values on a line boundary and indices 16 bytes past one
/// (throughput report `--index-offset 1040`), three alternating runs against the build
/// without, median x memcpy: interleaved `k` = 2 0.54 -> 0.94, planar `k` = 2, 4 0.52, 0.70
/// -> 0.96, 1.03 (both outputs aligned: 0.93, 0.97, 1.14). At `k` = 8 and 16 it lost a little
/// (planar 1.01, 1.05 -> 0.96, 0.98), so those keep the plain stores.
struct ShiftedIndices<S: Simd, T: Element> {
    /// How many lanes early (`1..lanes`).
    d: usize,
    /// Lane `l` of the joined vector is lane `l + lanes - d` of `previous ++ current`.
    table: T::U<S>,
    /// The last block's index vector.
    carry: T::U<S>,
}

impl<S: Simd, T: Element> ShiftedIndices<S, T> {
    /// The writer for index vectors stored to `ix[..]` beside value vectors stored to
    /// `values[..]` (then every `lanes` elements), or `None` where the offsets agree or the
    /// ISA or the index type does not allow it.
    #[inline(always)]
    fn new<I: MaxoutIndex>(s: S, values: &[T], ix: &[I]) -> Option<Self> {
        let lanes = T::lanes::<S>();
        let line = 64;
        if !crate::arch::has_permute2::<S>()
            || size_of::<I>() != size_of::<T::ULane>()
            || size_of::<I>() != size_of::<T>()
            || size_of::<T::U<S>>() != line
        {
            return None;
        }
        let diff = (ix.as_ptr() as usize).wrapping_sub(values.as_ptr() as usize) % line;
        if diff == 0 || !diff.is_multiple_of(size_of::<I>()) {
            return None;
        }
        let d = diff / size_of::<I>();
        let mut table = T::u_splat(s, 0);
        let t: &mut [T::ULane] = bytemuck::cast_slice_mut(core::slice::from_mut(&mut table));
        for (l, x) in t.iter_mut().enumerate() {
            *x = T::ULane::try_from((l + lanes - d) as u64)
                .ok()
                .expect("lane index fits");
        }
        Some(ShiftedIndices {
            d,
            table,
            carry: T::u_splat(s, 0),
        })
    }

    /// A writer for the copies of the loops that do not shift (never called).
    #[inline(always)]
    fn unused(s: S) -> Self {
        ShiftedIndices {
            d: 0,
            table: T::u_splat(s, 0),
            carry: T::u_splat(s, 0),
        }
    }

    /// Block `b` (its first group at `ix[b]`; `b` is `first` for the first block, then grows
    /// by `lanes`): stores the whole vector `d` lanes early, `ix[b - d..b - d + lanes]`, or for
    /// the first block only its first `lanes - d` lanes, to `ix[b..b + lanes - d]`.
    #[inline(always)]
    fn put<I: MaxoutIndex>(&mut self, ix: &mut [I], first: usize, b: usize, at: T::U<S>) {
        let lanes = T::lanes::<S>();
        if b == first {
            store_indices::<S, T, I>(&mut ix[b..b + lanes - self.d], at);
        } else {
            let joined = crate::arch::permute2::<S, T>(
                bytemuck::cast(self.carry),
                self.table,
                bytemuck::cast(at),
            );
            let at = b - self.d;
            store_indices::<S, T, I>(&mut ix[at..at + lanes], bytemuck::cast(joined));
        }
        self.carry = at;
    }

    /// After the last block, which ended at `ix[end]`: its last `d` lanes to `ix[end - d..end]`.
    #[inline(always)]
    fn finish<I: MaxoutIndex>(&self, ix: &mut [I], end: usize) {
        let lanes = T::lanes::<S>();
        let src: &[T::ULane] = bytemuck::cast_slice(core::slice::from_ref(&self.carry));
        for (o, &x) in ix[end - self.d..end].iter_mut().zip(&src[lanes - self.d..]) {
            *o = I::from_u64(x.into());
        }
    }
}

/// Stores block `b`'s index vector `at` (groups `b .. b + lanes`): by `shifted` where `SHIFT`
/// (`first`: the first block's `b`), else by `out`. (A constant, so that the loops calling it
/// come in two copies and keep the shifted writer's carry in a register.)
#[inline(always)]
fn index_block<S: Simd, T: Element, I: MaxoutIndex, const SHIFT: bool>(
    out: Stores,
    shifted: &mut ShiftedIndices<S, T>,
    ix: &mut [I],
    first: usize,
    b: usize,
    at: T::U<S>,
) {
    if SHIFT {
        shifted.put::<I>(ix, first, b, at)
    } else {
        out.indices::<S, T, I>(&mut ix[b..b + T::lanes::<S>()], at)
    }
}

/// Groups `g .. end` (whole vectors of `lanes` groups) of the interleaved layout with `k = K` (a
/// power of two `<= 16`), reduced while they are transposed in registers. Returns the first
/// group not done (`g` itself where the ISA has no in-register split).
///
/// A block of `lanes` groups is `K` vectors. Each stage pairs the vectors and splits each pair
/// into the earlier and the later halves of every group's current piece ranges, lane by lane
/// ([`Split`]), then reduces the two by the lane rule (the later half's pieces all come after
/// the earlier's, so ties keep the earliest): `log2(K)` stages halve the vectors down to one,
/// lane `l` holding group `l`. `K` values are shuffled at the first stage and `K / 2`, `K / 4`,
/// ... (plus as many index vectors) later, instead of `K log2(K)` for a full transposition.
/// [`Pow2Plan`] picks each stage's shuffle: in-lane and 128-bit-block shuffles where the
/// groups' positions allow, two-source permutes elsewhere.
///
/// Tried and not kept, at `K = lanes` (64 Ki `f32` `k` = 16, AVX-512): a tree of `vmaxps`
/// without indices, then each index as the group's first lane equal to its maximum (a compare
/// and a bit scan per group). Values only: 3.9 us against 3.9 us; with indices 8.1 us against
/// 5.1 us (the per-group compare, mask move and scalar store cost more than the index permutes
/// and selects they replace). Also the masks of those compares gathered into a vector (16
/// `vcmpps` against broadcasts of the maxima, then one vector bit scan): 7.5 us against 4.8
/// (LLVM moves each mask through a general register and inserts it).
#[inline(always)]
fn interleaved_pow2<S: Simd, T: Element, I: MaxoutIndex, const K: usize, const IDX: bool>(
    s: S,
    z: &[T],
    g: usize,
    end: usize,
    values: &mut [T],
    ix: &mut [I],
) -> usize {
    if !crate::arch::has_split_even_odd::<S, T>() {
        return g;
    }
    let plan = Pow2Plan::<S, T, K>::new(s);
    // Two copies of the loop, so the in-cache one carries no prefetch or streaming test.
    if far(z) {
        pow2_blocks::<S, T, I, K, IDX, true>(s, z, g, end, values, ix, &plan)
    } else {
        pow2_blocks::<S, T, I, K, IDX, false>(s, z, g, end, values, ix, &plan)
    }
}

/// The block loop of [`interleaved_pow2`]; `FAR`: the input is large (prefetch ahead, stream
/// the outputs where aligned).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pow2_blocks<
    S: Simd,
    T: Element,
    I: MaxoutIndex,
    const K: usize,
    const IDX: bool,
    const FAR: bool,
>(
    s: S,
    z: &[T],
    mut g: usize,
    end: usize,
    values: &mut [T],
    ix: &mut [I],
    plan: &Pow2Plan<S, T, K>,
) -> usize {
    let lanes = T::lanes::<S>();
    assert!(end * K <= z.len() && end <= values.len() && (!IDX || end <= ix.len()));
    let one = T::u_splat(s, 1);
    let ixg: &[I] = if IDX { &ix[g..] } else { &[] };
    let out = Stores::new::<S, T, I, IDX>(FAR, K >= 4, &values[g..], ixg);
    let first = g;
    let mut shifted = if IDX && !out.indices && K <= 4 {
        ShiftedIndices::<S, T>::new::<I>(s, &values[g..], ixg)
    } else {
        None
    };
    while g + lanes <= end {
        if FAR {
            prefetch_ahead(z, g * K, (g + lanes) * K);
        }
        let p = z[g * K..].as_ptr();
        let mut v = [T::v_splat(s, T::ZERO); K];
        for (a, x) in v.iter_mut().enumerate() {
            let o = Pow2Plan::<S, T, K>::slot(a);
            // SAFETY: `o < K` and `(g + lanes) * K <= end * K <= z.len()`: the `K` vectors
            // are inside `z`.
            *x = unsafe { load::<S, T>(s, p.add(o * lanes)) };
        }
        // The fast rule unless a candidate is NaN (a sum of the block on the adders tells).
        let sum = tree_sum::<S, T, K>(s, &v);
        let (best, at) = if any_nan_in::<S, T>(s, sum) {
            pow2_reduce::<S, T, K, IDX, false>(s, v, plan, one)
        } else {
            pow2_reduce::<S, T, K, IDX, true>(s, v, plan, one)
        };
        out.values::<S, T>(s, &mut values[g..], best);
        if let Some(sh) = shifted.as_mut() {
            sh.put::<I>(ix, first, g, at);
        } else if IDX {
            out.indices::<S, T, I>(&mut ix[g..g + lanes], at);
        }
        g += lanes;
    }
    if let Some(sh) = shifted.as_ref()
        && g > first
    {
        sh.finish::<I>(ix, g);
    }
    out.fence();
    g
}

/// How a stage of [`interleaved_pow2`] splits a pair of vectors `(a, b)` into `(e, o)`, where
/// lane `l` of `e` and of `o` hold the same group's earlier and later half of a piece range.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Split {
    /// [`crate::arch::split_even_odd`] (two-source permutes); keeps the groups in order.
    EvenOdd,
    /// [`crate::arch::split_in_block`] (in-lane shuffles).
    InBlock,
    /// [`crate::arch::split_blocks`] (128-bit block shuffles).
    Blocks,
    /// No shuffle: `a` and `b` hold the same groups, lane by lane (a group spans vectors).
    Vertical,
    /// Two-source permutes ([`crate::arch::permute2`]) by tables that also put the groups in
    /// order; the last stage only.
    Permute,
}

/// The stages of [`interleaved_pow2`] for `K` on `S` and `T`, worked out once per call.
///
/// Think of a block's element positions in bits: the low `log2 K` are the piece, the rest the
/// group; the low `log2 lanes` bits of a position are its lane. Every stage must split on the
/// lowest piece bit not yet reduced (so each lane's two halves are adjacent ranges, the
/// earlier in `e`). An in-block split removes the lane's lowest bit and an in-block or block
/// split puts the pair's bit into the lane; the choices below end with lane `l` holding group
/// `l` (or end with [`Split::Permute`], which places the groups). When `K > lanes`, a group
/// spans `K / lanes` vectors: the vectors are loaded in an order ([`Pow2Plan::slot`]) that
/// leaves those high piece bits to the last stages, which need no shuffle
/// ([`Split::Vertical`]). [`Pow2Plan::new`] follows every element's position through the
/// stages to build the tables and the first stage's indices, and (debug builds) checks the
/// two rules. 64 Ki `f32` (Zen 4, `vshufps` at twice the rate of `vpermt2ps`): `k` = 16
/// forward 4.8 -> 4.3 us per call.
struct Pow2Plan<S: Simd, T: Element, const K: usize> {
    /// The earlier half's piece (index) in each lane at the first stage, for pair `i < K / 2`.
    first: [T::U<S>; K],
    /// The tables of [`Split::Permute`] (earlier half, later half).
    tables: (T::U<S>, T::U<S>),
}

impl<S: Simd, T: Element, const K: usize> Pow2Plan<S, T, K> {
    /// The splits of each stage; see the type's documentation.
    #[inline(always)]
    fn splits() -> [Split; 4] {
        use Split::*;
        // AVX-512 is the token with a two-source permute, AVX2 the other one with the split.
        let v4 = crate::arch::has_permute2::<S>();
        match (v4, size_of::<T>() == 4, K) {
            (true, true, 4) => [InBlock, Permute, EvenOdd, EvenOdd],
            (true, true, 8) => [InBlock, InBlock, Permute, EvenOdd],
            (true, true, 16) => [InBlock, InBlock, Blocks, Blocks],
            (true, false, 4) => [InBlock, Permute, EvenOdd, EvenOdd],
            (true, false, 8) => [InBlock, Blocks, Blocks, EvenOdd],
            (true, false, 16) => [InBlock, Blocks, Blocks, Vertical],
            (false, true, 8) => [InBlock, InBlock, Blocks, EvenOdd],
            (false, true, 16) => [InBlock, InBlock, Blocks, Vertical],
            (false, false, 4) => [InBlock, Blocks, EvenOdd, EvenOdd],
            (false, false, 8) => [InBlock, Blocks, Vertical, EvenOdd],
            (false, false, 16) => [InBlock, Blocks, Vertical, Vertical],
            _ => [EvenOdd; 4],
        }
    }

    /// Slot `a` of a block holds the vector at `slot(a) * lanes` elements.
    #[inline(always)]
    fn slot(a: usize) -> usize {
        let lanes = T::lanes::<S>();
        if K > lanes {
            a / lanes + (K / lanes) * (a % lanes)
        } else {
            a
        }
    }

    #[inline(always)]
    fn new(s: S) -> Self {
        const { assert!(K.is_power_of_two() && K >= 2 && K <= 16) };
        let lanes = T::lanes::<S>();
        let splits = Self::splits();
        let order: [usize; K] = core::array::from_fn(Self::slot);
        // Each element's position in the block, followed through the stages.
        let mut pos = [T::u_splat(s, 0); K];
        for (p, &o) in pos.iter_mut().zip(&order) {
            let lanes_of: &mut [T::ULane] = bytemuck::cast_slice_mut(core::slice::from_mut(p));
            for (l, x) in lanes_of.iter_mut().enumerate() {
                *x = T::ULane::from((o * lanes + l) as u32);
            }
        }
        let mut plan = Pow2Plan {
            first: [T::u_splat(s, 0); K],
            tables: (T::u_splat(s, 0), T::u_splat(s, 0)),
        };
        let (mut m, mut stage) = (K, 0);
        while m > 1 {
            if splits[stage] == Split::Permute {
                assert!(m == 2 && crate::arch::has_permute2::<S>());
                plan.tables = permute_tables::<S, T, K>(s, pos[0], pos[1]);
            }
            for i in 0..m / 2 {
                let (e, o) = split_pair_u::<S, T, K>(s, &plan, stage, pos[2 * i], pos[2 * i + 1]);
                if cfg!(debug_assertions) {
                    let e: &[T::ULane] = bytemuck::cast_slice(core::slice::from_ref(&e));
                    let o: &[T::ULane] = bytemuck::cast_slice(core::slice::from_ref(&o));
                    for (&e, &o) in e.iter().zip(o) {
                        let (e, o): (u64, u64) = (e.into(), o.into());
                        let half = 1u64 << stage;
                        assert!(e % (2 * half) == 0 && o == e + half, "{splits:?} {stage}");
                    }
                }
                if stage == 0 {
                    let x: &mut [T::ULane] =
                        bytemuck::cast_slice_mut(core::slice::from_mut(&mut plan.first[i]));
                    let e: &[T::ULane] = bytemuck::cast_slice(core::slice::from_ref(&e));
                    for (x, &e) in x.iter_mut().zip(e) {
                        let e: u64 = e.into();
                        *x = T::ULane::from((e % K as u64) as u32);
                    }
                }
                pos[i] = e;
            }
            m /= 2;
            stage += 1;
        }
        if cfg!(debug_assertions) {
            let last: &[T::ULane] = bytemuck::cast_slice(core::slice::from_ref(&pos[0]));
            for (l, &x) in last.iter().enumerate() {
                let x: u64 = x.into();
                assert_eq!(x, (l * K) as u64, "{splits:?}: groups out of order");
            }
        }
        plan
    }
}

/// The tables of [`Split::Permute`] at the last stage of [`Pow2Plan`]: lane `l` of the earlier
/// (later) half is the lane of `a ++ b` holding piece 0 (`K / 2`) of group `l`, given the
/// block positions `pa`, `pb` the lanes hold.
#[inline(always)]
fn permute_tables<S: Simd, T: Element, const K: usize>(
    s: S,
    pa: T::U<S>,
    pb: T::U<S>,
) -> (T::U<S>, T::U<S>) {
    let (mut te, mut to) = (T::u_splat(s, 0), T::u_splat(s, 0));
    let pair = [pa, pb];
    let at: &[T::ULane] = bytemuck::cast_slice(&pair);
    let e: &mut [T::ULane] = bytemuck::cast_slice_mut(core::slice::from_mut(&mut te));
    let o: &mut [T::ULane] = bytemuck::cast_slice_mut(core::slice::from_mut(&mut to));
    let mut found = 0;
    for (src, &p) in at.iter().enumerate() {
        let p: u64 = p.into();
        let (group, piece) = ((p / K as u64) as usize, p % K as u64);
        let src = T::ULane::from(src as u32);
        if piece == 0 {
            e[group] = src;
            found += 1;
        } else if piece == (K / 2) as u64 {
            o[group] = src;
            found += 1;
        }
    }
    assert_eq!(found, 2 * e.len(), "a permute stage that is not the last");
    (te, to)
}

/// Stage `stage` of [`Pow2Plan`] on a pair of vectors of the lane rule's values.
#[inline(always)]
fn split_pair<S: Simd, T: Element, const K: usize>(
    s: S,
    plan: &Pow2Plan<S, T, K>,
    stage: usize,
    a: T::V<S>,
    b: T::V<S>,
) -> (T::V<S>, T::V<S>) {
    // (`splits()` is a constant once monomorphised and `stage` a literal: the `match` folds.)
    match Pow2Plan::<S, T, K>::splits()[stage] {
        Split::EvenOdd => crate::arch::split_even_odd::<S, T>(s, a, b),
        Split::InBlock => crate::arch::split_in_block::<S, T>(a, b),
        Split::Blocks => crate::arch::split_blocks::<S, T>(a, b),
        Split::Vertical => (a, b),
        Split::Permute => (
            crate::arch::permute2::<S, T>(a, plan.tables.0, b),
            crate::arch::permute2::<S, T>(a, plan.tables.1, b),
        ),
    }
}

/// [`split_pair`] on index vectors (the same moves, on lanes of the same width).
#[inline(always)]
fn split_pair_u<S: Simd, T: Element, const K: usize>(
    s: S,
    plan: &Pow2Plan<S, T, K>,
    stage: usize,
    a: T::U<S>,
    b: T::U<S>,
) -> (T::U<S>, T::U<S>) {
    let (e, o) = split_pair::<S, T, K>(s, plan, stage, bytemuck::cast(a), bytemuck::cast(b));
    (bytemuck::cast(e), bytemuck::cast(o))
}

/// The reduction of one block of [`interleaved_pow2`] (`K` loaded vectors, in the plan's
/// order), by the exact or the fast rule.
#[inline(always)]
fn pow2_reduce<S: Simd, T: Element, const K: usize, const IDX: bool, const FAST: bool>(
    s: S,
    mut v: [T::V<S>; K],
    plan: &Pow2Plan<S, T, K>,
    one: T::U<S>,
) -> (T::V<S>, T::U<S>) {
    let mut at = plan.first;
    // One call per stage with a literal `stage` (a loop over the stages measured 2x slower at
    // `K` = 16: not unrolled, the vectors went through the stack and each split was a branch).
    pow2_stage::<S, T, K, IDX, FAST>(s, &mut v, &mut at, plan, one, 0);
    if K >= 4 {
        pow2_stage::<S, T, K, IDX, FAST>(s, &mut v, &mut at, plan, one, 1);
    }
    if K >= 8 {
        pow2_stage::<S, T, K, IDX, FAST>(s, &mut v, &mut at, plan, one, 2);
    }
    if K >= 16 {
        pow2_stage::<S, T, K, IDX, FAST>(s, &mut v, &mut at, plan, one, 3);
    }
    (v[0], at[0])
}

/// Stage `stage` of [`pow2_reduce`]: the `K >> stage` vectors (and their indices) paired and
/// reduced into the first half of `v` (and `at`).
#[inline(always)]
fn pow2_stage<S: Simd, T: Element, const K: usize, const IDX: bool, const FAST: bool>(
    s: S,
    v: &mut [T::V<S>; K],
    at: &mut [T::U<S>; K],
    plan: &Pow2Plan<S, T, K>,
    one: T::U<S>,
    stage: usize,
) {
    for i in 0..(K >> stage) / 2 {
        let (mut e, o) = split_pair::<S, T, K>(s, plan, stage, v[2 * i], v[2 * i + 1]);
        let (mut ea, oa) = if stage == 0 {
            (plan.first[i], T::u_add(s, plan.first[i], one))
        } else if IDX {
            split_pair_u::<S, T, K>(s, plan, stage, at[2 * i], at[2 * i + 1])
        } else {
            (at[0], at[0])
        };
        step_rule::<S, T, FAST>(s, &mut e, &mut ea, o, oa);
        v[i] = e;
        at[i] = ea;
    }
}

/// Backward's inverse of [`Pow2Plan`]: `K` planes (plane `j`: piece `j` of `lanes` groups)
/// to the `K` vectors of those groups in the interleaved layout, undoing the plan's splits as
/// a whole transposition. The forward splits of a stage, keeping both halves, send a chunk of
/// `m` vectors to its `m / 2` earlier halves then its `m / 2` later ones; after all stages,
/// slot `r` holds plane `bit_reverse(r)` ([`Pow2Unzip::plane_in`]). Undone from the last
/// stage to the first, by the inverse of each split: in-lane unpacks for
/// [`Split::InBlock`], block moves for [`Split::Blocks`], inverse tables for
/// [`Split::Permute`], [`crate::arch::zip_even_odd`] for [`Split::EvenOdd`]. Only for
/// `K <= lanes`.
struct Pow2Unzip<S: Simd, T: Element, const K: usize> {
    /// The inverse of the plan's [`Split::Permute`] tables: lane `l` of the first (second)
    /// output is lane `tables.0[l]` (`tables.1[l]`) of `e ++ o`.
    tables: (T::U<S>, T::U<S>),
}

impl<S: Simd, T: Element, const K: usize> Pow2Unzip<S, T, K> {
    #[inline(always)]
    fn new(s: S) -> Self {
        let lanes = T::lanes::<S>();
        assert!(K <= lanes);
        let plan = Pow2Plan::<S, T, K>::new(s);
        let mut inv = [T::u_splat(s, 0); 2];
        if Pow2Plan::<S, T, K>::splits().contains(&Split::Permute) {
            let fwd = [plan.tables.0, plan.tables.1];
            let fwd: &[T::ULane] = bytemuck::cast_slice(&fwd);
            let inv: &mut [T::ULane] = bytemuck::cast_slice_mut(&mut inv);
            // Output lane `x` of `e ++ o` came from source lane `fwd[x]` of `a ++ b`.
            for (x, &src) in fwd.iter().enumerate() {
                let src: u64 = src.into();
                inv[src as usize] = T::ULane::from(x as u32);
            }
        }
        Pow2Unzip {
            tables: (inv[0], inv[1]),
        }
    }

    /// The plane that goes into slot `r`: `r` bit-reversed over `log2 K` bits.
    #[inline(always)]
    fn plane_in(r: usize) -> usize {
        let bits = K.trailing_zeros();
        if bits == 0 {
            r
        } else {
            r.reverse_bits() >> (usize::BITS - bits)
        }
    }

    /// The planes (slot `r` holding plane [`Self::plane_in`]`(r)`) to the interleaved vectors,
    /// in order.
    #[inline(always)]
    fn planes_to_groups(&self, s: S, mut v: [T::V<S>; K]) -> [T::V<S>; K] {
        // One call per stage with a literal `stage`, last stage first (see `pow2_reduce`).
        if K >= 16 {
            self.unzip_stage(s, &mut v, 3);
        }
        if K >= 8 {
            self.unzip_stage(s, &mut v, 2);
        }
        if K >= 4 {
            self.unzip_stage(s, &mut v, 1);
        }
        self.unzip_stage(s, &mut v, 0);
        v
    }

    /// Undoes stage `stage`: in each chunk of `m = K >> stage` slots, the pair (`i`,
    /// `m / 2 + i`) becomes slots `2 i` and `2 i + 1`.
    #[inline(always)]
    fn unzip_stage(&self, s: S, v: &mut [T::V<S>; K], stage: usize) {
        let m = K >> stage;
        let w = *v;
        for c in (0..K).step_by(m) {
            for i in 0..m / 2 {
                let (e, o) = (w[c + i], w[c + m / 2 + i]);
                let (a, b) = match Pow2Plan::<S, T, K>::splits()[stage] {
                    Split::EvenOdd => crate::arch::zip_even_odd::<S, T>(s, e, o),
                    Split::InBlock => crate::arch::zip_in_block::<S, T>(e, o),
                    Split::Blocks => crate::arch::zip_blocks::<S, T>(e, o),
                    Split::Vertical => (e, o),
                    Split::Permute => (
                        crate::arch::permute2::<S, T>(e, self.tables.0, o),
                        crate::arch::permute2::<S, T>(e, self.tables.1, o),
                    ),
                };
                v[c + 2 * i] = a;
                v[c + 2 * i + 1] = b;
            }
        }
    }
}

/// The largest `k` of [`interleaved_chain`].
const MAX_CHAIN_K: usize = 8;

/// Groups `g .. end` (whole vectors of `lanes` groups) of the interleaved layout with
/// `3 <= k <= MAX_CHAIN_K` (and `k <= lanes`): the `k` vectors of a block are loaded, and
/// plane `j` is assembled by a chain of `k - 1` two-source permutes (`vpermt2ps`; AVX-512
/// only). Returns the first group not done. 64 Ki `f32` (Zen 4): `k` = 3: 15.3 GB/s by
/// gathers -> 73 GB/s (0.82x memcpy), `k` = 5: 14.0 -> 45.3, `k` = 6: 13.7 -> 38.9.
#[inline(always)]
fn interleaved_chain<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    k: usize,
    mut g: usize,
    end: usize,
    values: &mut [T],
    ix: &mut [I],
) -> usize {
    let lanes = T::lanes::<S>();
    if !T::NATIVE
        || !crate::arch::has_permute2::<S>()
        || !(2..=MAX_CHAIN_K).contains(&k)
        || k > lanes
    {
        return g;
    }
    assert!(end * k <= z.len() && end <= values.len() && (!IDX || end <= ix.len()));
    // table[j][i]: the permute merging vector `i` into plane `j` (for `i = 1`, vectors 0 and
    // 1). Lane `l` of plane `j` is block position `p = l k + j`, in vector `p / lanes`.
    let mut table = [[T::u_splat(s, 0); MAX_CHAIN_K]; MAX_CHAIN_K];
    for (j, row) in table.iter_mut().enumerate().take(k) {
        for (i, v) in row.iter_mut().enumerate().take(k).skip(1) {
            let lanes_of: &mut [T::ULane] = bytemuck::cast_slice_mut(core::slice::from_mut(v));
            for (l, x) in lanes_of.iter_mut().enumerate() {
                let p = l * k + j;
                let (vec, at) = (p / lanes, p % lanes);
                let sel = if i == 1 {
                    if vec == 0 { at } else { lanes + at }
                } else if vec == i {
                    lanes + at
                } else {
                    l
                };
                *x = T::ULane::from(sel as u32);
            }
        }
    }
    let mut v = [T::v_splat(s, T::ZERO); MAX_CHAIN_K];
    while g + lanes <= end {
        let p = z[g * k..].as_ptr();
        let mut sum = T::v_splat(s, T::ZERO);
        for (i, x) in v.iter_mut().enumerate().take(k) {
            // SAFETY: `(g + lanes) * k <= end * k <= z.len()`: the `k` vectors are inside `z`.
            *x = unsafe { load::<S, T>(s, p.add(i * lanes)) };
            sum = T::v_add(s, sum, *x);
        }
        let (best, at) = if any_nan_in::<S, T>(s, sum) {
            chain_reduce::<S, T, false>(s, &v, &table, k)
        } else {
            chain_reduce::<S, T, true>(s, &v, &table, k)
        };
        store::<S, T>(s, &mut values[g..], best);
        if IDX {
            store_indices::<S, T, I>(&mut ix[g..g + lanes], at);
        }
        g += lanes;
    }
    g
}

/// One block of [`interleaved_chain`].
#[inline(always)]
fn chain_reduce<S: Simd, T: Element, const FAST: bool>(
    s: S,
    v: &[T::V<S>; MAX_CHAIN_K],
    table: &[[T::U<S>; MAX_CHAIN_K]; MAX_CHAIN_K],
    k: usize,
) -> (T::V<S>, T::U<S>) {
    let mut best = crate::arch::permute2::<S, T>(v[0], table[0][1], v[1]);
    for i in 2..k {
        best = crate::arch::permute2::<S, T>(best, table[0][i], v[i]);
    }
    let mut at = T::u_splat(s, 0);
    // (Index loops: the iterator form measured 3x slower here, 73 -> 26 GB/s at k = 3.)
    #[allow(clippy::needless_range_loop)]
    for j in 1..k {
        let mut c = crate::arch::permute2::<S, T>(v[0], table[j][1], v[1]);
        for i in 2..k {
            c = crate::arch::permute2::<S, T>(c, table[j][i], v[i]);
        }
        step_rule::<S, T, FAST>(s, &mut best, &mut at, c, T::u_splat(s, j as u64));
    }
    (best, at)
}

/// Groups `g .. end` (whole vectors of `lanes` groups) of the interleaved layout with any
/// small `k`, plane vectors fetched by hardware gathers (`vgatherdps`, stride `k`). Returns the
/// first group not done (`g` itself where the ISA has no gather). Against the stack
/// transposition it replaces, 64 Ki `f32` on AVX-512 (Zen 4, where gathers are slow): `k` = 3
/// 5.3 -> 15.3 GB/s, `k` = 12: 7.0 -> 12.4 GB/s.
#[inline(always)]
fn interleaved_gather<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    k: usize,
    mut g: usize,
    end: usize,
    values: &mut [T],
    ix: &mut [I],
) -> usize {
    let lanes = T::lanes::<S>();
    if !T::NATIVE || !crate::arch::has_gather::<S>() || k * lanes > i32::MAX as usize {
        return g;
    }
    assert!(end * k <= z.len() && end <= values.len() && (!IDX || end <= ix.len()));
    let mut offsets = T::u_splat(s, 0);
    for (l, x) in bytemuck::cast_slice_mut::<T::U<S>, T::ULane>(core::slice::from_mut(&mut offsets))
        .iter_mut()
        .enumerate()
    {
        *x = T::ULane::from((l * k) as u32);
    }
    while g + lanes <= end {
        // SAFETY (in `gather_reduce`): lane `l` of plane `j` reads `z[(g + l) * k + j]`, below
        // `(g + lanes) * k <= end * k <= z.len()`.
        let base = z[g * k..].as_ptr();
        let (mut best, mut at, nan) = gather_reduce::<S, T, true>(s, base, offsets, k);
        if nan {
            (best, at, _) = gather_reduce::<S, T, false>(s, base, offsets, k);
        }
        store::<S, T>(s, &mut values[g..], best);
        if IDX {
            store_indices::<S, T, I>(&mut ix[g..g + lanes], at);
        }
        g += lanes;
    }
    g
}

/// One block of [`interleaved_gather`], by the fast rule (and whether a candidate may have
/// been NaN) or the exact one.
#[inline(always)]
fn gather_reduce<S: Simd, T: Element, const FAST: bool>(
    s: S,
    base: *const T,
    offsets: T::U<S>,
    k: usize,
) -> (T::V<S>, T::U<S>, bool) {
    // SAFETY: the caller guarantees every `base + offsets[l] + j`, `j < k`, is in the input,
    // and `has_gather`.
    let mut best = unsafe { crate::arch::gather::<S, T>(base, offsets) };
    let mut at = T::u_splat(s, 0);
    let mut sum = T::v_splat(s, T::ZERO);
    for j in 1..k {
        let c = unsafe { crate::arch::gather::<S, T>(base.add(j), offsets) };
        if FAST {
            sum = T::v_add(s, sum, c);
        }
        step_rule::<S, T, FAST>(s, &mut best, &mut at, c, T::u_splat(s, j as u64));
    }
    (best, at, FAST && any_nan_in::<S, T>(s, sum))
}

/// The interleaved layout with `2 <= k`, small enough for the transposing path.
#[inline(always)]
fn interleaved_small<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    k: usize,
    values: &mut [T],
    ix: &mut [I],
) {
    let groups = values.len();
    let lanes = T::lanes::<S>();
    let mut buf = [T::ZERO; TRANSPOSE_BUF];
    let head = head_len::<S, T>(values);
    if head > 0 {
        interleaved_block::<S, T, I, IDX>(s, z, k, 0, head, &mut buf, values, ix);
    }
    let mut g = head;
    g = match k {
        2 => interleaved_pow2::<S, T, I, 2, IDX>(s, z, g, groups, values, ix),
        4 => interleaved_pow2::<S, T, I, 4, IDX>(s, z, g, groups, values, ix),
        8 => interleaved_pow2::<S, T, I, 8, IDX>(s, z, g, groups, values, ix),
        16 => interleaved_pow2::<S, T, I, 16, IDX>(s, z, g, groups, values, ix),
        _ => g,
    };
    if k <= MAX_CHAIN_K {
        g = interleaved_chain::<S, T, I, IDX>(s, z, k, g, groups, values, ix);
    }
    g = interleaved_gather::<S, T, I, IDX>(s, z, k, g, groups, values, ix);
    while g < groups {
        let len = lanes.min(groups - g);
        interleaved_block::<S, T, I, IDX>(s, z, k, g, len, &mut buf, values, ix);
        g += len;
    }
}

/// Whether `(v, i)` beats `(bv, bi)` in the cross-lane reduction: a NaN beats any number and
/// an earlier NaN; otherwise greater, or equal (`-0 == +0`) at a smaller index.
#[inline(always)]
fn lane_beats<T: Element>(v: T, i: u64, bv: T, bi: u64) -> bool {
    match (v.is_nan(), bv.is_nan()) {
        (true, true) => i < bi,
        (true, false) => true,
        (false, true) => false,
        (false, false) => v > bv || (v == bv && i < bi),
    }
}

/// The interleaved layout with `k >= lanes`: each group by vectors of consecutive pieces.
#[inline(always)]
fn interleaved_large<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    k: usize,
    values: &mut [T],
    ix: &mut [I],
) {
    let lanes = T::lanes::<S>();
    debug_assert!(k >= lanes);
    let iota = iota::<S, T>(s);
    for (g, group) in z.chunks_exact(k).enumerate() {
        // The fast rule unless the group holds a NaN (then the exact rule and the exact
        // cross-lane reduction).
        let (best, at, nan) = group_reduce::<S, T, true>(s, group, iota);
        let (bv, bi) = if nan {
            let (best, at, _) = group_reduce::<S, T, false>(s, group, iota);
            // The lanes as stored elements (exact: every lane holds one of the group's values).
            let stored = T::store(s, best);
            let bl: &[T] = bytemuck::cast_slice(core::slice::from_ref(&stored));
            let il: &[T::ULane] = bytemuck::cast_slice(core::slice::from_ref(&at));
            let (mut bv, mut bi) = (bl[0], il[0].into());
            for (&v, &i) in bl.iter().zip(il).skip(1) {
                let i: u64 = i.into();
                if lane_beats(v, i, bv, bi) {
                    (bv, bi) = (v, i);
                }
            }
            (bv, bi)
        } else {
            // No NaN: the maximum value, then the smallest index among the lanes holding it
            // (`==`, so `-0` and `+0` tie); the value's bits are read back from the group.
            let m = T::v_reduce_max(s, best);
            // The lanes as stored elements (exact: every lane holds one of the group's values).
            let stored = T::store(s, best);
            let bl: &[T] = bytemuck::cast_slice(core::slice::from_ref(&stored));
            let il: &[T::ULane] = bytemuck::cast_slice(core::slice::from_ref(&at));
            let mut bi = u64::MAX;
            for (&v, &i) in bl.iter().zip(il) {
                let i: u64 = i.into();
                if v == m && i < bi {
                    bi = i;
                }
            }
            (group[bi as usize], bi)
        };
        values[g] = bv;
        if IDX {
            ix[g] = I::from_u64(bi);
        }
    }
}

/// The lane-wise reduction of one group of [`interleaved_large`] (`k >= lanes`), by the fast
/// rule (and whether a piece may be NaN) or the exact one.
#[inline(always)]
fn group_reduce<S: Simd, T: Element, const FAST: bool>(
    s: S,
    group: &[T],
    iota: T::U<S>,
) -> (T::V<S>, T::U<S>, bool) {
    let lanes = T::lanes::<S>();
    let k = group.len();
    let full = k / lanes;
    let (vs, _) = T::as_simd::<S>(group);
    let v0 = T::load(s, vs[0]);
    let mut best = v0;
    let mut at = iota;
    let mut sum = v0;
    let step_v = T::u_splat(s, lanes as u64);
    let mut jv = iota;
    for &c in &vs[1..full] {
        let c = T::load(s, c);
        jv = T::u_add(s, jv, step_v);
        if FAST {
            sum = T::v_add(s, sum, c);
        }
        step_rule::<S, T, FAST>(s, &mut best, &mut at, c, jv);
    }
    if full * lanes < k {
        // The last `lanes` pieces, overlapping the previous vector: in every lane the
        // position still grows, and a piece seen twice (in two lanes) has the same index.
        let c = T::load(s, T::as_simd::<S>(&group[k - lanes..]).0[0]);
        if FAST {
            sum = T::v_add(s, sum, c);
        }
        let j = T::u_add(s, iota, T::u_splat(s, (k - lanes) as u64));
        step_rule::<S, T, FAST>(s, &mut best, &mut at, c, j);
    }
    (best, at, FAST && any_nan_in::<S, T>(s, sum))
}

/// `src` (a half format) widened into `dst` (same length), exactly.
#[inline(always)]
fn widen_into<S: Simd, T: Element>(s: S, src: &[T], dst: &mut [f32]) {
    let lanes = T::lanes::<S>();
    // The half formats compute on `lanes` `f32` lanes, in order.
    debug_assert!(!T::NATIVE && size_of::<T::V<S>>() == lanes * 4);
    let (vs, tail) = T::as_simd::<S>(src);
    let (body, rest) = dst.split_at_mut(vs.len() * lanes);
    for (v, out) in vs.iter().zip(body.chunks_exact_mut(lanes)) {
        let w = T::load(s, *v);
        out.copy_from_slice(bytemuck::cast_slice(core::slice::from_ref(&w)));
    }
    if !tail.is_empty() {
        let w = T::partial_load(s, tail);
        rest.copy_from_slice(
            &bytemuck::cast_slice::<_, f32>(core::slice::from_ref(&w))[..tail.len()],
        );
    }
}

/// `src` (`f32` values of a half format) narrowed into `dst` (same length): exact.
#[inline(always)]
fn narrow_from<S: Simd, T: Element>(s: S, src: &[f32], dst: &mut [T]) {
    let lanes = T::lanes::<S>();
    debug_assert!(!T::NATIVE && size_of::<T::V<S>>() == lanes * 4);
    let (ds, dt) = T::as_mut_simd::<S>(dst);
    let (body, rest) = src.split_at(ds.len() * lanes);
    for (d, w) in ds.iter_mut().zip(body.chunks_exact(lanes)) {
        *d = T::store(s, bytemuck::pod_read_unaligned(bytemuck::cast_slice(w)));
    }
    if !dt.is_empty() {
        let mut buf = [0.0f32; 64];
        buf[..rest.len()].copy_from_slice(rest);
        let v = bytemuck::pod_read_unaligned(bytemuck::cast_slice(&buf[..lanes]));
        T::partial_store(s, dt, v);
    }
}

/// Elements of `z` per block of [`interleaved_via_f32`] (in L1 as `f32`).
const VIA_F32_BLOCK: usize = 4096;

/// The interleaved layout of the half formats: blocks of groups widened to `f32` (exact), the
/// `f32` kernel (its register transposes, permutes and gathers work on `f32` lanes), and the
/// values narrowed back (exact: each is one of its group's elements). Indices are the `f32`
/// kernel's, since the values and their order are the same.
#[inline(always)]
fn interleaved_via_f32<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    k: usize,
    values: &mut [T],
    ix: &mut [I],
) {
    let groups = values.len();
    let block = (VIA_F32_BLOCK / k).max(1).min(groups);
    let mut zbuf = vec![0.0f32; block * k];
    let mut vbuf = vec![0.0f32; block];
    let f32_lanes = S::F32_LANES;
    let mut g = 0;
    while g < groups {
        let len = block.min(groups - g);
        let (zb, vb) = (&mut zbuf[..len * k], &mut vbuf[..len]);
        widen_into::<S, T>(s, &z[g * k..(g + len) * k], zb);
        let ixb: &mut [I] = if IDX { &mut ix[g..g + len] } else { &mut [] };
        if k <= 16 || k < 2 * f32_lanes {
            interleaved_small::<S, f32, I, IDX>(s, zb, k, vb, ixb);
        } else {
            interleaved_large::<S, f32, I, IDX>(s, zb, k, vb, ixb);
        }
        narrow_from::<S, T>(s, vb, &mut values[g..g + len]);
        g += len;
    }
}

/// Forward maxout on one backend; `values.len()` groups, `ix` of the same length when `IDX`.
/// `stride`: see [`MaxoutKernel::stride`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn forward<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    k: usize,
    layout: MaxoutLayout,
    stride: usize,
    values: &mut [T],
    ix: &mut [I],
) {
    let lanes = T::lanes::<S>();
    let planar_stride = match layout {
        MaxoutLayout::Planar => Some(stride),
        _ if k == 1 => Some(values.len()),
        _ => None,
    };
    if let Some(stride) = planar_stride {
        if super::maxout16::available::<S, T>(k) {
            super::maxout16::planar::<S, T, I, IDX>(s, z, stride, k, values, ix)
        } else {
            planar::<S, T, I, IDX>(s, z, stride, k, values, ix)
        }
    } else if !T::NATIVE {
        // The half formats: 16-bit lanes where they can, the `f32` route for the rest.
        let g = if super::maxout16::available::<S, T>(k) {
            match k {
                2 => super::maxout16::interleaved_pow2::<S, T, I, 2, IDX>(s, z, values, ix),
                4 => super::maxout16::interleaved_pow2::<S, T, I, 4, IDX>(s, z, values, ix),
                8 => super::maxout16::interleaved_pow2::<S, T, I, 8, IDX>(s, z, values, ix),
                16 => super::maxout16::interleaved_pow2::<S, T, I, 16, IDX>(s, z, values, ix),
                _ => 0,
            }
        } else {
            0
        };
        let ix_rest: &mut [I] = if IDX { &mut ix[g..] } else { &mut [] };
        interleaved_via_f32::<S, T, I, IDX>(s, &z[g * k..], k, &mut values[g..], ix_rest)
    } else if k <= 16 || k < 2 * lanes {
        interleaved_small::<S, T, I, IDX>(s, z, k, values, ix)
    } else {
        interleaved_large::<S, T, I, IDX>(s, z, k, values, ix)
    }
}

/// Forward maxout over a validated call: `z.len() = values.len() * k`, `indices` (if any) of
/// length `values.len()`, `k` within the index type. (A chunk of a planar call, made by its
/// `Split`, covers groups `g0..g0 + values.len()` of `stride`: `z` is the call's `z[g0..]`.)
pub struct MaxoutKernel<'a, T, I> {
    /// The input.
    pub z: &'a [T],
    /// The group size (`>= 1`).
    pub k: usize,
    /// Where each group's pieces are.
    pub layout: MaxoutLayout,
    /// Planar: the distance between planes in `z`, the whole call's group count
    /// (`values.len()` unless the kernel is a chunk). Unused by the interleaved layout.
    pub stride: usize,
    /// One value per group.
    pub values: &'a mut [T],
    /// One index per group, or none (values only).
    pub indices: Option<&'a mut [I]>,
}

impl<T: Element, I: MaxoutIndex> WithSimd for MaxoutKernel<'_, T, I> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let MaxoutKernel {
            z,
            k,
            layout,
            stride,
            values,
            indices,
        } = self;
        match indices {
            Some(ix) => forward::<S, T, I, true>(s, z, k, layout, stride, values, ix),
            None => forward::<S, T, I, false>(s, z, k, layout, stride, values, &mut []),
        }
    }
}

impl<T: Element, I: MaxoutIndex> Kernel for MaxoutKernel<'_, T, I> {
    fn reference(self) {
        let MaxoutKernel {
            z,
            k,
            layout,
            stride,
            values,
            mut indices,
        } = self;
        if layout == MaxoutLayout::Interleaved || stride == values.len() {
            return reference::maxout(z, k, layout, values, indices);
        }
        // A chunk of planar groups: the same rule, group by group, at `stride`.
        for (g, v) in values.iter_mut().enumerate() {
            let (best, at) = reference::maxout_group((0..k).map(|j| z[j * stride + g]));
            *v = best;
            if let Some(ix) = indices.as_deref_mut() {
                ix[g] = I::from_usize(at);
            }
        }
    }
}

/// The columns `g0..g0 + cols` of the `planes` rows (`stride` elements apart) of a buffer: a
/// range of groups of a planar `dx`. Like a `&mut [T]`, an exclusive borrow of its elements:
/// [`PlanesMut::split_cols`] cuts one into two views of disjoint columns, which can be written
/// from two threads.
pub struct PlanesMut<'a, T> {
    /// Element `(0, 0)` of the view.
    ptr: *mut T,
    planes: usize,
    stride: usize,
    cols: usize,
    /// The buffer, borrowed exclusively for `'a`.
    buf: core::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: a `PlanesMut` is an exclusive borrow of its elements (the views of one buffer cover
// disjoint elements), so sending it to another thread is sending a `&mut [T]`: sound for `T: Send`.
unsafe impl<T: Send> Send for PlanesMut<'_, T> {}

impl<'a, T> PlanesMut<'a, T> {
    /// All of `buf` as `planes` rows of `buf.len() / planes` (panics unless `planes >= 1` divides
    /// `buf.len()`).
    pub fn new(buf: &'a mut [T], planes: usize) -> PlanesMut<'a, T> {
        assert!(planes >= 1 && buf.len().is_multiple_of(planes));
        let cols = buf.len() / planes;
        PlanesMut {
            ptr: buf.as_mut_ptr(),
            planes,
            stride: cols,
            cols,
            buf: core::marker::PhantomData,
        }
    }

    /// The number of rows.
    #[inline(always)]
    pub fn planes(&self) -> usize {
        self.planes
    }

    /// The distance between rows, in elements.
    #[inline(always)]
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The number of columns (groups) of the view.
    #[inline(always)]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The view's part of row `j` (panics unless `j < planes`).
    #[inline(always)]
    pub fn plane(&mut self, j: usize) -> &mut [T] {
        assert!(j < self.planes);
        // SAFETY: the view was made by `new` from a buffer of `planes * stride` elements, then
        // maybe cut by `split_cols`, which keeps `offset + cols <= stride` (`offset` the column of
        // `ptr` in the buffer); so row `j`'s `cols` elements, from `j * stride + offset`, lie
        // within the buffer, and belong to this view alone (the buffer is borrowed mutably for
        // `'a`; views of one buffer have disjoint columns). `&mut self` keeps this slice unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.add(j * self.stride), self.cols) }
    }

    /// The view's parts of rows `j .. j + P` (panics unless `j + P <= planes`, checked without
    /// overflow).
    #[inline(always)]
    pub fn planes_at<const P: usize>(&mut self, j: usize) -> [&mut [T]; P] {
        assert!(P <= self.planes && j <= self.planes - P);
        // SAFETY: as in `plane`, each row `j + p < planes` lies in the buffer and belongs to this
        // view alone; distinct rows are `stride >= cols` elements apart, so the `P` slices are
        // disjoint; `&mut self` keeps them unique for their lifetime.
        core::array::from_fn(|p| unsafe {
            core::slice::from_raw_parts_mut(self.ptr.add((j + p) * self.stride), self.cols)
        })
    }

    /// The view's columns `..mid` and `mid..` (panics unless `mid <= cols`).
    pub fn split_cols(self, mid: usize) -> (PlanesMut<'a, T>, PlanesMut<'a, T>) {
        assert!(mid <= self.cols);
        let right = PlanesMut {
            // SAFETY: `mid <= cols`, so `ptr + mid` is within (or one past the end of) row 0's
            // part, which lies in the buffer (see `plane`).
            ptr: unsafe { self.ptr.add(mid) },
            cols: self.cols - mid,
            ..self
        };
        (PlanesMut { cols: mid, ..self }, right)
    }

    /// The whole buffer, when the view is all of it (`cols == stride`: no other view exists).
    pub fn into_whole(self) -> Result<&'a mut [T], PlanesMut<'a, T>> {
        if self.cols != self.stride {
            return Err(self);
        }
        // SAFETY: `offset + cols <= stride` with `cols == stride` means `offset = 0`: the view
        // covers the whole buffer, `planes * stride` elements from `ptr`, borrowed for `'a`.
        Ok(unsafe { core::slice::from_raw_parts_mut(self.ptr, self.planes * self.stride) })
    }
}

/// The `dx` of a maxout backward call (or a chunk of one) in its layout.
pub enum MaxoutGrad<'a, T> {
    /// Whole groups, `k` consecutive elements each.
    Interleaved(&'a mut [T]),
    /// The `k` planes of a range of groups.
    Planar(PlanesMut<'a, T>),
}

/// Backward maxout over a validated call: `dx` holds `dy.len()` groups of `k`, `indices` of
/// length `dy.len()`, every index `< k` (checked before: [`MaxoutIndexCheck`]).
pub struct MaxoutBackwardKernel<'a, T, I> {
    /// Upstream gradient, one per group.
    pub dy: &'a [T],
    /// The forward pass's indices.
    pub indices: &'a [I],
    /// The group size.
    pub k: usize,
    /// The result, in its layout.
    pub dx: MaxoutGrad<'a, T>,
    /// Overwrite or accumulate.
    pub mode: MaxoutGradMode,
    /// The size in bytes of the whole call's `dx` (this kernel may be a chunk of it): decides on
    /// streaming stores.
    pub whole_bytes: usize,
}

/// The largest `k` whose planar accumulate reads and writes every plane with vectors; above it
/// the scalar scatter (`f32`, `f64`) or [`accumulate_gathered`] (the half formats), which touch
/// one element per group, are faster. 64 Ki elements, AVX-512, vector against scalar: `f32`
/// `k` = 16: 6.0 us against 9.4 us, `k` = 32: 7.5 against 4.4; `f64` `k` = 4: 13.8 against
/// 14.5, `k` = 8: 14.5 against 9.1; `bf16` `k` = 16: 8.0 against 14.8 (gathered 14.2), `k` =
/// 64: 8.0 against 3.7 (gathered 2.2).
#[inline(always)]
fn max_planar_accumulate_k<T: Element>() -> usize {
    if size_of::<T>() >= 8 { 4 } else { 16 }
}

/// Groups per tile of the planar backward path: the tile's gradients and indices stay in L1
/// while the `k` planes are written. (The indices used to be widened to index lanes once per
/// tile, into a buffer; widening them as they are loaded, one `vpmovzxdq` from memory for
/// `u32` indices of `f64`, measured faster: 64 Ki `f64` `k` = 8, 10.1 -> 7.2 us.)
const BACKWARD_TILE: usize = 1024;

impl<T: Element, I: MaxoutIndex> WithSimd for MaxoutBackwardKernel<'_, T, I> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let MaxoutBackwardKernel {
            dy,
            indices,
            k,
            dx,
            mode,
            whole_bytes,
        } = self;
        let large = whole_bytes >= crate::arch::STREAM_MIN_BYTES;
        match (dx, mode) {
            (MaxoutGrad::Planar(mut dx), MaxoutGradMode::Overwrite) => {
                backward_planar::<S, T, I, false>(s, dy, indices, k, &mut dx, large)
            }
            (MaxoutGrad::Planar(mut dx), MaxoutGradMode::Accumulate) => {
                if k <= max_planar_accumulate_k::<T>() {
                    backward_planar::<S, T, I, true>(s, dy, indices, k, &mut dx, large)
                } else if !T::NATIVE {
                    accumulate_gathered::<S, T, I>(s, dy, indices, Winners::Planar(&mut dx))
                } else {
                    scatter_planar(dy, indices, &mut dx, mode)
                }
            }
            (MaxoutGrad::Interleaved(dx), MaxoutGradMode::Overwrite) if k == 1 => {
                let mut dx = PlanesMut::new(dx, 1);
                backward_planar::<S, T, I, false>(s, dy, indices, k, &mut dx, large)
            }
            (MaxoutGrad::Interleaved(dx), MaxoutGradMode::Overwrite)
                if k >= T::lanes::<S>() && !one_hot_backward::<S, T>(k, false) =>
            {
                backward_interleaved_large::<S, T, I>(s, dy, indices, k, dx, large)
            }
            (MaxoutGrad::Interleaved(dx), MaxoutGradMode::Overwrite)
                if matches!(k, 2 | 4 | 8 | 16) && super::maxout16::available::<S, T>(k) =>
            {
                // The half formats on AVX-512: 16-bit lanes. At `k` = 4, 8 and 16 by a one-hot
                // mask of the indices: 64 Ki, median of five alternating runs against
                // `c1c3532`, `bf16` `k` = 8 52.7 -> 87.6 GB/s (perfect shuffles before), `k` =
                // 16 30.4 -> 89.2 (the zero fill and scalar scatter before; the shuffles were
                // slower still there); against `f817358`, `k` = 4 79.2 -> 83.3.
                let g = match k {
                    16 => super::maxout16::backward_interleaved_pow2::<S, T, I, 16>(
                        s, dy, indices, dx,
                    ),
                    2 => {
                        super::maxout16::backward_interleaved_pow2::<S, T, I, 2>(s, dy, indices, dx)
                    }
                    4 => {
                        super::maxout16::backward_interleaved_pow2::<S, T, I, 4>(s, dy, indices, dx)
                    }
                    _ => {
                        super::maxout16::backward_interleaved_pow2::<S, T, I, 8>(s, dy, indices, dx)
                    }
                };
                let dx = &mut dx[g * k..];
                dx.fill(T::ZERO);
                let layout = MaxoutLayout::Interleaved;
                scatter(&dy[g..], &indices[g..], k, layout, dx, mode);
            }
            (MaxoutGrad::Interleaved(dx), MaxoutGradMode::Overwrite) => {
                let g = match k {
                    2 => backward_interleaved_pow2::<S, T, I, 2, false>(s, dy, indices, dx, large),
                    4 => backward_interleaved_pow2::<S, T, I, 4, false>(s, dy, indices, dx, large),
                    8 => backward_interleaved_pow2::<S, T, I, 8, false>(s, dy, indices, dx, large),
                    16 => {
                        backward_interleaved_pow2::<S, T, I, 16, false>(s, dy, indices, dx, large)
                    }
                    _ => 0,
                };
                let dx = &mut dx[g * k..];
                dx.fill(T::ZERO);
                let layout = MaxoutLayout::Interleaved;
                scatter(&dy[g..], &indices[g..], k, layout, dx, mode);
            }
            (MaxoutGrad::Interleaved(dx), MaxoutGradMode::Accumulate) if k == 1 => {
                let mut dx = PlanesMut::new(dx, 1);
                backward_planar::<S, T, I, true>(s, dy, indices, k, &mut dx, large)
            }
            (MaxoutGrad::Interleaved(dx), MaxoutGradMode::Accumulate) => {
                // `k` below `lanes`: vectors of whole groups (`f32`, `f64` on x86; the half
                // formats at `k` = 2 and 4). From `k = lanes` on, the scalar scatter touches one
                // element per group, less than a vector of each; the half formats, whose scalar
                // sums convert in software, gather the winners into vectors instead.
                let g = match k {
                    _ if k >= T::lanes::<S>() => 0,
                    2 if !T::NATIVE => {
                        backward_interleaved_pow2_halves::<S, T, I, 2>(s, dy, indices, dx)
                    }
                    4 if !T::NATIVE => {
                        backward_interleaved_pow2_halves::<S, T, I, 4>(s, dy, indices, dx)
                    }
                    _ if !T::NATIVE => 0,
                    2 => backward_interleaved_pow2::<S, T, I, 2, true>(s, dy, indices, dx, large),
                    4 => backward_interleaved_pow2::<S, T, I, 4, true>(s, dy, indices, dx, large),
                    8 => backward_interleaved_pow2::<S, T, I, 8, true>(s, dy, indices, dx, large),
                    _ => 0,
                };
                let (dy, ix, dx) = (&dy[g..], &indices[g..], &mut dx[g * k..]);
                if !T::NATIVE {
                    accumulate_gathered::<S, T, I>(s, dy, ix, Winners::Interleaved(dx, k))
                } else {
                    scatter(dy, ix, k, MaxoutLayout::Interleaved, dx, mode)
                }
            }
        }
    }
}

/// A full vector of indices `ix[..lanes]`, widened to index lanes.
#[inline(always)]
fn load_indices<S: Simd, T: Element, I: MaxoutIndex>(s: S, ix: &[I]) -> T::U<S> {
    let mut u = T::u_splat(s, 0);
    let lanes: &mut [T::ULane] = bytemuck::cast_slice_mut(core::slice::from_mut(&mut u));
    for (l, &i) in lanes.iter_mut().zip(ix) {
        *l = T::ULane::from(i.to_u32());
    }
    u
}

/// Stores a full vector to `out[..lanes]`; with a non-temporal store when `nt` (then `out`
/// must start on a vector boundary, checked).
#[inline(always)]
fn put<S: Simd, T: Element>(s: S, out: &mut [T], v: T::V<S>, nt: bool) {
    if nt {
        let vbytes = size_of::<T::SV<S>>();
        assert!(out.len() >= T::lanes::<S>() && (out.as_ptr() as usize).is_multiple_of(vbytes));
        // SAFETY: `nt` is only set where `arch::can_stream::<S>()`; the assert checks the
        // length and the alignment.
        unsafe { crate::arch::stream::<S, T::SV<S>>(out.as_mut_ptr().cast(), T::store(s, v)) }
    } else {
        store::<S, T>(s, out, v)
    }
}

/// Planar backward (and interleaved `k = 1`), element-wise with each plane's writes aligned.
/// Overwrite: plane `j` is `indices[g] == j ? dy[g] : +0`, streamed when the whole `dx` is
/// `large`. Accumulate (`ACC`): plane `j` is `indices[g] == j ? dx + dy[g] : dx` by the rule
/// of [`accumulate`] (64 Ki `f32` `k` = 2, AVX-512: 29 us by a scalar scatter, 7.7 us).
#[inline(always)]
fn backward_planar<S: Simd, T: Element, I: MaxoutIndex, const ACC: bool>(
    s: S,
    dy: &[T],
    indices: &[I],
    k: usize,
    dx: &mut PlanesMut<'_, T>,
    large: bool,
) {
    let groups = dy.len();
    assert!(dx.cols() == groups && dx.planes() == k);
    let nt = !ACC && crate::arch::can_stream::<S>() && large;
    if !ACC && super::maxout16::available::<S, T>(k) {
        return super::maxout16::backward_planar::<S, T, I>(s, dy, indices, k, dx, nt);
    }
    // Planes four (then two) at a time where they share an alignment (the distance between
    // planes is a whole number of vectors): each load of `dy` and of the indices then serves
    // four stores (two when accumulating, see below). 64 Ki `f32` `k` = 16: 5.2 us -> 3.7 us for pairs (one plane at a time: two
    // loads per store). Four at a time first measured slower (4.3 us), while the loop still
    // indexed slices; with the pointer loop of `planes_pass`, a scratch benchmark of 64 Ki
    // `f32` (aligned `dx`, random indices) gave, in one run, `k` = 4 / 8 / 16: pairs 3.7 /
    // 3.3 / 3.0 us, fours 3.4 / 3.0 / 2.7 us.
    let pairs = (dx.stride * size_of::<T>()).is_multiple_of(size_of::<T::SV<S>>());
    // Tiles start on plane 0's vector boundaries (a first tile of `head` groups where plane 0
    // is not aligned), so that, where the planes share an alignment, only the first and the
    // last tile have partial vectors.
    let head = if groups > 0 {
        head_len::<S, T>(dx.planes_at::<1>(0)[0])
    } else {
        0
    };
    let mut t = 0;
    while t < groups {
        let len = if t == 0 && head > 0 {
            head
        } else {
            BACKWARD_TILE.min(groups - t)
        };
        let dyt = &dy[t..t + len];
        let ixt = &indices[t..t + len];
        let mut j = 0;
        // (Accumulate reads each plane too: four planes at a time measured slower there, 64 Ki
        // `f32` `k` = 16: 76-105 -> 64-66 GB/s.)
        while !ACC && pairs && j + 4 <= k {
            let outs = dx.planes_at::<4>(j).map(|p| &mut p[t..t + len]);
            planes_pass::<S, T, I, 4, ACC>(s, dyt, ixt, j, outs, nt);
            j += 4;
        }
        while pairs && j + 2 <= k {
            let outs = dx.planes_at::<2>(j).map(|p| &mut p[t..t + len]);
            planes_pass::<S, T, I, 2, ACC>(s, dyt, ixt, j, outs, nt);
            j += 2;
        }
        for j in j..k {
            let outs = dx.planes_at::<1>(j).map(|p| &mut p[t..t + len]);
            planes_pass::<S, T, I, 1, ACC>(s, dyt, ixt, j, outs, nt);
        }
        t += len;
    }
    if nt {
        crate::arch::stream_fence();
    }
}

/// What the winning lane of `dx` becomes: `dy` (overwrite), or `old + dy` by [`accumulate`]
/// (`ACC`).
#[inline(always)]
fn hit<S: Simd, T: Element, const ACC: bool>(s: S, old: T::V<S>, d: T::V<S>) -> T::V<S> {
    if ACC {
        accumulate::<S, T>(s, old, d)
    } else {
        d
    }
}

/// Planes `j .. j + P` of one tile of [`backward_planar`]: `outs[p][x]` is
/// `ix[x] == j + p ? dyt[x] : +0` (overwrite), or `ix[x] == j + p ? outs[p][x] + dyt[x] :
/// outs[p][x]` (`ACC`). The planes share an alignment (`P = 1`, or the caller checked), so one
/// head brings all of them to a vector boundary.
#[inline(always)]
fn planes_pass<S: Simd, T: Element, I: MaxoutIndex, const P: usize, const ACC: bool>(
    s: S,
    dyt: &[T],
    ix: &[I],
    j: usize,
    mut outs: [&mut [T]; P],
    nt: bool,
) {
    let lanes = T::lanes::<S>();
    let len = dyt.len();
    assert!(ix.len() == len && outs.iter().all(|o| o.len() == len));
    let zero = T::v_splat(s, T::ZERO);
    let jv: [T::U<S>; P] = core::array::from_fn(|p| T::u_splat(s, (j + p) as u64));
    let head = head_len::<S, T>(outs[0]);
    if head > 0 {
        let d = T::partial_load(s, &dyt[..head]);
        let iv = load_indices::<S, T, I>(s, ix);
        for (out, &jv) in outs.iter_mut().zip(&jv) {
            let old = if ACC {
                T::partial_load(s, &out[..head])
            } else {
                zero
            };
            let x = T::v_select(s, T::u_eq(s, iv, jv), hit::<S, T, ACC>(s, old, d), old);
            T::partial_store(s, &mut out[..head], x);
        }
    }
    // The body through raw pointers: the loop then holds no bounds checks and keeps its
    // pointers in registers (64 Ki `f32`, `k` = 16: 3.9 us -> 3.0 us with slices; the loop was
    // bound by its scalar instructions and stack reloads, not by the stores).
    let end = head + (len - head) / lanes * lanes;
    // The indices are read in place where they are of the lane type (`u32` indices of `f32`),
    // else widened as they are loaded (`vpmovzxdq` for `u32` indices of `f64`).
    let same = core::any::TypeId::of::<I>() == core::any::TypeId::of::<T::ULane>();
    let (dyp, ixp) = (dyt.as_ptr(), ix.as_ptr());
    let outp: [*mut T; P] = core::array::from_fn(|p| outs[p].as_mut_ptr());
    let aligned = outp
        .iter()
        .all(|&o| (o as usize + head * size_of::<T>()).is_multiple_of(size_of::<T::SV<S>>()));
    // (A tile shorter than its head has no full vector: nothing to align.)
    assert!(
        !nt || end == head || aligned,
        "streaming stores need vector-aligned planes"
    );
    let mut v = head;
    while v < end {
        // SAFETY: `v + lanes <= end <= len`, and `dyt`, `ix` and every `outs[p]` hold `len`
        // elements (asserted above), so each read and write below is inside its slice (the
        // slices of `outs` are disjoint planes, and none overlaps `dyt` or `ix`, which are
        // shared borrows). `nt` stores need `can_stream::<S>()` (the caller sets `nt` only
        // then) and vector alignment: `outs[p] + head` is aligned (asserted above) and `v -
        // head` is a multiple of `lanes`.
        unsafe {
            let d = load::<S, T>(s, dyp.add(v));
            let iv: T::U<S> = if same {
                debug_assert_eq!(size_of::<T::U<S>>(), lanes * size_of::<I>());
                core::ptr::read_unaligned(ixp.add(v).cast())
            } else {
                load_indices::<S, T, I>(s, core::slice::from_raw_parts(ixp.add(v), lanes))
            };
            for p in 0..P {
                let o = outp[p].add(v);
                let old = if ACC { load::<S, T>(s, o) } else { zero };
                let x = T::v_select(s, T::u_eq(s, iv, jv[p]), hit::<S, T, ACC>(s, old, d), old);
                if nt {
                    crate::arch::stream::<S, T::SV<S>>(o.cast(), T::store(s, x));
                } else {
                    core::ptr::write_unaligned(o.cast::<T::SV<S>>(), T::store(s, x));
                }
            }
        }
        v += lanes;
    }
    if v < len {
        let d = T::partial_load(s, &dyt[v..]);
        let iv = load_indices::<S, T, I>(s, &ix[v..]);
        for (out, &jv) in outs.iter_mut().zip(&jv) {
            let old = if ACC {
                T::partial_load(s, &out[v..])
            } else {
                zero
            };
            let x = T::v_select(s, T::u_eq(s, iv, jv), hit::<S, T, ACC>(s, old, d), old);
            T::partial_store(s, &mut out[v..], x);
        }
    }
}

/// Interleaved overwrite with `k >= lanes`, group by group: every vector of the group is
/// `position == indices[g] ? dy[g] : +0`, from two broadcasts (no permutes). A group whose `k`
/// is not a multiple of `lanes` ends with a vector overlapping the previous one (the same
/// values written twice). At `k = lanes`, streamed when the whole `dx` is `large` and this
/// part of it starts on a vector boundary.
#[inline(always)]
fn backward_interleaved_large<S: Simd, T: Element, I: MaxoutIndex>(
    s: S,
    dy: &[T],
    indices: &[I],
    k: usize,
    dx: &mut [T],
    large: bool,
) {
    let lanes = T::lanes::<S>();
    debug_assert!(k >= lanes);
    let zero = T::v_splat(s, T::ZERO);
    let iota = iota::<S, T>(s);
    let step_v = T::u_splat(s, lanes as u64);
    if k == lanes {
        // One vector per group: a loop without the inner loop and its tail (64 Ki `f32`
        // `k` = 16: 0.54x -> 1.00x memcpy), streamed when `dx` is large and aligned.
        let aligned = (dx.as_ptr() as usize).is_multiple_of(size_of::<T::SV<S>>());
        let nt = aligned && crate::arch::can_stream::<S>() && large;
        for ((chunk, &d), &i) in dx.chunks_exact_mut(lanes).zip(dy).zip(indices) {
            let iv = T::u_splat(s, i.to_u32() as u64);
            let x = T::v_select(s, T::u_eq(s, iota, iv), T::v_splat(s, d), zero);
            put::<S, T>(s, chunk, x, nt);
        }
        if nt {
            crate::arch::stream_fence();
        }
        return;
    }
    let last = T::u_add(s, iota, T::u_splat(s, (k - lanes) as u64));
    for ((chunk, &d), &i) in dx.chunks_exact_mut(k).zip(dy).zip(indices) {
        let d = T::v_splat(s, d);
        let iv = T::u_splat(s, i.to_u32() as u64);
        let mut pos = iota;
        let mut c = 0;
        while c + lanes <= k {
            store::<S, T>(
                s,
                &mut chunk[c..],
                T::v_select(s, T::u_eq(s, pos, iv), d, zero),
            );
            pos = T::u_add(s, pos, step_v);
            c += lanes;
        }
        if c < k {
            store::<S, T>(
                s,
                &mut chunk[k - lanes..],
                T::v_select(s, T::u_eq(s, last, iv), d, zero),
            );
        }
    }
}

/// Whether interleaved backward at `k` takes the one-hot path of [`backward_interleaved_pow2`]
/// (AVX-512, overwrite): `f32` at `k` = 8 and `f64` at `k` = 16, where it measured faster.
/// Alternating runs against `477d34e`, 64 Ki, median GB/s: `f32` `k` = 8 79 -> 91 (against
/// its permutes from `dy`), `f64` `k` = 16 72 -> 85 (against [`backward_interleaved_large`]);
/// slower at `f32` `k` = 16 (74 against 98) and `f64` `k` = 8 (92 against 96), where
/// [`backward_interleaved_large`]'s one compare and select per vector stays.
#[inline(always)]
fn one_hot_backward<S: Simd, T: Element>(k: usize, acc: bool) -> bool {
    let bytes = size_of::<T>();
    !acc && T::NATIVE
        && (k == 8 && bytes == 4 || k == 16 && bytes == 8)
        && crate::arch::has_permute2::<S>()
}

/// Interleaved backward with `k = K` (a power of two `<= 16`), `lanes` groups at a time.
/// Overwrite: the `K` planes `indices == j ? dy : +0` zipped in registers into `K` vectors of
/// `dx`, streamed when the whole `dx` is `large`. Accumulate (`ACC`): `dy` and the indices
/// zipped with themselves (each repeated over its group's `K` positions), then each vector of
/// `dx` is `position == index ? dx + dy : dx` by the rule of [`accumulate`]. Returns the
/// number of groups done (0 where the ISA has no in-register zip).
#[inline(always)]
fn backward_interleaved_pow2<
    S: Simd,
    T: Element,
    I: MaxoutIndex,
    const K: usize,
    const ACC: bool,
>(
    s: S,
    dy: &[T],
    indices: &[I],
    dx: &mut [T],
    large: bool,
) -> usize {
    let lanes = T::lanes::<S>();
    // Overwrite at `f32` `K` = 8 and `f64` `K` = 16 (AVX-512, see `one_hot_backward`): one
    // zero-masked permute per output vector, its mask a lane's worth of bits of a one-hot mask
    // of the block's indices (`arch::expand_one_hot`).
    let one_hot = one_hot_backward::<S, T>(K, ACC);
    // (`pos` below, the position of each lane in its group, needs whole groups per vector.)
    if !crate::arch::has_split_even_odd::<S, T>() || K > lanes && !one_hot {
        return 0;
    }
    let groups = dy.len();
    assert!(dx.len() == groups * K && indices.len() == groups);
    let zero = T::v_splat(s, T::ZERO);
    // Start where `dx[g * K]` is on a vector boundary, if some `g` is (the groups before it go
    // through the caller's scalar path); then the stores are aligned, and streamed when large.
    let head = head_len::<S, T>(dx);
    let g0 = if head.is_multiple_of(K) { head / K } else { 0 };
    let aligned = (dx[g0 * K..].as_ptr() as usize).is_multiple_of(size_of::<T::SV<S>>());
    let nt = !ACC && aligned && crate::arch::can_stream::<S>() && large;
    if g0 > 0 {
        let mode = if ACC {
            MaxoutGradMode::Accumulate
        } else {
            dx[..g0 * K].fill(T::ZERO);
            MaxoutGradMode::Overwrite
        };
        let layout = MaxoutLayout::Interleaved;
        scatter(
            &dy[..g0],
            &indices[..g0],
            K,
            layout,
            &mut dx[..g0 * K],
            mode,
        );
    }
    // Accumulate at `K` = 8 with 16 lanes (`f32` on AVX-512; overwrite takes the one-hot path
    // below), each output vector straight from `dy` and
    // the indices by two one-source permutes (`vpermt2ps` with both sources the same), a
    // compare and a select: 4 operations per vector instead of 5 (compare, select and three
    // perfect shuffles). 64 Ki `f32`: 63 -> 78 GB/s (0.58x -> 0.68x memcpy); at `K` = 4 both
    // ways measured the same (4 operations each), so the shuffles stay there. Against
    // `Pow2Unzip` (8 permutes and 16 in-lane unpacks per 8 vectors), 78 against 74 GB/s (three
    // alternating runs). `pick[j]` holds the group of each lane of output vector `j`, `pos` its
    // position in the group.
    let by_permutes = K == 8 && lanes == 16 && crate::arch::has_permute2::<S>();
    let pick: [T::U<S>; K] = core::array::from_fn(|j| {
        let mut u = T::u_splat(s, 0);
        let l: &mut [T::ULane] = bytemuck::cast_slice_mut(core::slice::from_mut(&mut u));
        for (x, o) in l.iter_mut().enumerate() {
            *o = T::ULane::from(((j * lanes + x) / K) as u32);
        }
        u
    });
    let pos = {
        let mut u = T::u_splat(s, 0);
        let l: &mut [T::ULane] = bytemuck::cast_slice_mut(core::slice::from_mut(&mut u));
        for (x, o) in l.iter_mut().enumerate() {
            *o = T::ULane::from((x % K) as u32);
        }
        u
    };
    let mut g = g0;
    while one_hot && g + lanes <= groups {
        let d = T::load(s, T::as_simd::<S>(&dy[g..g + lanes]).0[0]);
        let iv = load_indices::<S, T, I>(s, &indices[g..g + lanes]);
        let x = crate::arch::expand_one_hot::<S, T, K>(d, iv, &pick);
        let out = &mut dx[g * K..(g + lanes) * K];
        for (j, &x) in x.iter().enumerate() {
            put::<S, T>(s, &mut out[j * lanes..], x, nt);
        }
        g += lanes;
    }
    while by_permutes && g + lanes <= groups {
        let d = T::load(s, T::as_simd::<S>(&dy[g..g + lanes]).0[0]);
        let iv: T::V<S> = bytemuck::cast(load_indices::<S, T, I>(s, &indices[g..g + lanes]));
        let out = &mut dx[g * K..(g + lanes) * K];
        for (j, &p) in pick.iter().enumerate() {
            let ij: T::U<S> = bytemuck::cast(crate::arch::permute2::<S, T>(iv, p, iv));
            let dj = crate::arch::permute2::<S, T>(d, p, d);
            let old = if ACC {
                T::load(s, T::as_simd::<S>(&out[j * lanes..(j + 1) * lanes]).0[0])
            } else {
                zero
            };
            let x = T::v_select(s, T::u_eq(s, ij, pos), hit::<S, T, ACC>(s, old, dj), old);
            put::<S, T>(s, &mut out[j * lanes..], x, nt);
        }
        g += lanes;
    }
    while ACC && g + lanes <= groups {
        let d = T::load(s, T::as_simd::<S>(&dy[g..g + lanes]).0[0]);
        let iv: T::V<S> = bytemuck::cast(load_indices::<S, T, I>(s, &indices[g..g + lanes]));
        let de = zip_planes::<S, T, K>(s, [d; K]);
        let ie = zip_planes::<S, T, K>(s, [iv; K]);
        let out = &mut dx[g * K..(g + lanes) * K];
        for j in 0..K {
            let o = &mut out[j * lanes..(j + 1) * lanes];
            let old = T::load(s, T::as_simd::<S>(o).0[0]);
            let m = T::u_eq(s, bytemuck::cast(ie[j]), pos);
            store::<S, T>(
                s,
                o,
                T::v_select(s, m, accumulate::<S, T>(s, old, de[j]), old),
            );
        }
        g += lanes;
    }
    let unzip = if ACC || by_permutes || one_hot {
        None
    } else {
        Some(Pow2Unzip::<S, T, K>::new(s))
    };
    while let Some(unzip) = &unzip
        && g + lanes <= groups
    {
        let d = T::load(s, T::as_simd::<S>(&dy[g..g + lanes]).0[0]);
        let iv = load_indices::<S, T, I>(s, &indices[g..g + lanes]);
        let mut v = [zero; K];
        for (r, p) in v.iter_mut().enumerate() {
            let j = Pow2Unzip::<S, T, K>::plane_in(r);
            *p = T::v_select(s, T::u_eq(s, iv, T::u_splat(s, j as u64)), d, zero);
        }
        let out = &mut dx[g * K..(g + lanes) * K];
        for (j, &x) in unzip.planes_to_groups(s, v).iter().enumerate() {
            put::<S, T>(s, &mut out[j * lanes..], x, nt);
        }
        g += lanes;
    }
    if nt {
        crate::arch::stream_fence();
    }
    g
}

/// `x + d` by the accumulate rule of `SPEC.md` ([`reference::add`]): a NaN `x` comes back
/// quieted with its bits, else a NaN `d`, else the IEEE sum, whose invalid case (`inf - inf`)
/// is the default NaN. The hardware sum agrees with the rule unless a lane is NaN: which
/// operand's NaN an ISA returns when both are (and LLVM may swap the operands of a sum), and
/// NEON's default NaN, differ. So a vector whose sum holds a NaN (one compare tells) is fixed
/// up: `y + y` is the quieted `y` for a NaN `y` on every ISA (both operands are the same NaN).
#[inline(always)]
fn accumulate<S: Simd, T: Element>(s: S, x: T::V<S>, d: T::V<S>) -> T::V<S> {
    let r = T::v_add(s, x, d);
    if !any_nan_in::<S, T>(s, r) {
        return r;
    }
    let fixed = T::v_select(
        s,
        nan_lanes::<S, T>(s, x),
        T::v_add(s, x, x),
        T::v_select(
            s,
            nan_lanes::<S, T>(s, d),
            T::v_add(s, d, d),
            T::v_splat_bits(s, T::default_nan_bits_u64()),
        ),
    );
    T::v_select(s, nan_lanes::<S, T>(s, r), fixed, r)
}

/// The NaN lanes of `v`.
#[inline(always)]
fn nan_lanes<S: Simd, T: Element>(s: S, v: T::V<S>) -> T::M<S> {
    T::m_not(s, T::v_eq(s, v, v))
}

/// Interleaved accumulate of the half formats with `k = K` (a power of two, at most the `f32`
/// lanes), `lanes` groups at a time: the accumulate of [`backward_interleaved_pow2`] on the
/// widened `f32` vectors (a vector of half elements is two of them). `dy` is loaded and
/// widened once; each half of it (and its indices) is zipped with itself over the `K`
/// positions of its groups, then each vector of `dx` is widened, `position == index ? dx + dy
/// : dx` on both `f32` halves, and rounded back (selected lanes keep their bits). Returns the
/// number of groups done (0 where the ISA has no in-register zip). Used at `k` = 2 and 4:
/// 64 Ki elements, AVX-512, against [`accumulate_gathered`]: `bf16` `k` = 2: 10.3 us against
/// 37 us, `k` = 4: 9.1 against 18.8, `k` = 8: 9.2 against 9.4, `k` = 16: 11.4 against 5.0
/// (`f16` alike; AVX2 `k` = 8: 14.3 against 10.8).
#[inline(always)]
fn backward_interleaved_pow2_halves<S: Simd, T: Element, I: MaxoutIndex, const K: usize>(
    s: S,
    dy: &[T],
    indices: &[I],
    dx: &mut [T],
) -> usize {
    use crate::element::sealed::SimdElement;
    let lanes = T::lanes::<S>();
    let half = f32::lanes::<S>();
    let two = size_of::<T::V<S>>() == 2 * size_of::<S::f32s>() && lanes == 2 * half;
    if T::NATIVE || !two || K > half || !crate::arch::has_split_even_odd::<S, f32>() {
        return 0;
    }
    let groups = dy.len();
    assert!(dx.len() == groups * K && indices.len() == groups);
    // Lane `x` of every zipped vector is position `x mod K` of its group.
    let pos = {
        let mut u = f32::u_splat(s, 0);
        let l: &mut [u32] = bytemuck::cast_slice_mut(core::slice::from_mut(&mut u));
        for (x, o) in l.iter_mut().enumerate() {
            *o = (x % K) as u32;
        }
        u
    };
    let mut g = 0;
    while g + lanes <= groups {
        let d: [S::f32s; 2] = bytemuck::cast(T::load(s, T::as_simd::<S>(&dy[g..g + lanes]).0[0]));
        let out = &mut dx[g * K..(g + lanes) * K];
        for (p, &dp) in d.iter().enumerate() {
            let ix = &indices[g + p * half..g + (p + 1) * half];
            let iv: S::f32s = bytemuck::cast(load_indices::<S, f32, I>(s, ix));
            let de = zip_planes::<S, f32, K>(s, [dp; K]);
            let ie = zip_planes::<S, f32, K>(s, [iv; K]);
            // The `K` zipped vectors are the `K / 2` vectors of `dx` of these `half` groups.
            let part = &mut out[p * half * K..(p + 1) * half * K];
            for (j, o) in part.chunks_exact_mut(lanes).enumerate() {
                let old: [S::f32s; 2] = bytemuck::cast(T::load(s, T::as_simd::<S>(o).0[0]));
                let mut new = old;
                for (m, x) in new.iter_mut().enumerate() {
                    let e = 2 * j + m;
                    let hit = f32::u_eq(s, bytemuck::cast(ie[e]), pos);
                    let sum = accumulate::<S, f32>(s, old[m], de[e]);
                    *x = f32::v_select(s, hit, sum, old[m]);
                }
                store::<S, T>(s, o, bytemuck::cast(new));
            }
        }
        g += lanes;
    }
    g
}

/// `K` planes (plane `j`: position `j` of `lanes` groups) zipped into the `K` vectors of those
/// groups in the interleaved layout, by log2(K) perfect shuffles (the inverse of
/// `interleaved_pow2`'s unshuffles). Only where [`crate::arch::has_split_even_odd`].
#[inline(always)]
fn zip_planes<S: Simd, T: Element, const K: usize>(s: S, mut v: [T::V<S>; K]) -> [T::V<S>; K] {
    let mut stages = K;
    while stages > 1 {
        let mut w = v;
        for i in 0..K / 2 {
            let (a, b) = crate::arch::zip_even_odd::<S, T>(s, v[i], v[K / 2 + i]);
            w[2 * i] = a;
            w[2 * i + 1] = b;
        }
        v = w;
        stages /= 2;
    }
    v
}

/// The most lanes of any vector ([`accumulate_gathered`]'s buffer): 32, the half formats on
/// AVX-512.
const GATHER_MAX: usize = 32;

/// Where the winners of [`accumulate_gathered`] live: `dx` in either layout.
enum Winners<'b, 'a, T> {
    /// Groups of `k` consecutive elements.
    Interleaved(&'b mut [T], usize),
    /// Planes.
    Planar(&'b mut PlanesMut<'a, T>),
}

impl<T> Winners<'_, '_, T> {
    /// Element `i` of group `g` (panics outside `dx`).
    #[inline(always)]
    fn at(&mut self, g: usize, i: usize) -> &mut T {
        match self {
            Winners::Interleaved(dx, k) => &mut dx[g * *k + i],
            Winners::Planar(dx) => &mut dx.plane(i)[g],
        }
    }
}

/// Accumulate mode, `lanes` groups at a time: each group's winning element of `dx` copied to a
/// buffer (a plain copy of its bits), the buffer and `dy` added as vectors by [`accumulate`],
/// and the sums copied back. Touches one element per group, as a scalar scatter does, with the
/// arithmetic in vectors: for the half formats, whose scalar sum converts each operand in
/// software. 64 Ki elements, AVX-512, interleaved, scalar against gathered: `bf16` `k` = 2:
/// 86 us against 37 us, `k` = 16: 11.0 against 5.0; `f16` `k` = 2: 145 against 41. (`f32`
/// `k` = 2: 19 against 40: its scalar sum is one instruction.)
#[inline(always)]
fn accumulate_gathered<S: Simd, T: Element, I: MaxoutIndex>(
    s: S,
    dy: &[T],
    indices: &[I],
    mut dx: Winners<'_, '_, T>,
) {
    let lanes = T::lanes::<S>();
    assert!(lanes <= GATHER_MAX && indices.len() == dy.len());
    let mut w = [T::ZERO; GATHER_MAX];
    let mut g = 0;
    while g < dy.len() {
        let len = lanes.min(dy.len() - g);
        let ix = &indices[g..g + len];
        for (l, (x, &i)) in w.iter_mut().zip(ix).enumerate() {
            *x = *dx.at(g + l, i.to_usize());
        }
        if len == lanes {
            let x = T::load(s, T::as_simd::<S>(&w[..lanes]).0[0]);
            let d = T::load(s, T::as_simd::<S>(&dy[g..g + lanes]).0[0]);
            store::<S, T>(s, &mut w, accumulate::<S, T>(s, x, d));
        } else {
            let x = T::partial_load(s, &w[..len]);
            let d = T::partial_load(s, &dy[g..g + len]);
            T::partial_store(s, &mut w[..len], accumulate::<S, T>(s, x, d));
        }
        for (l, (&x, &i)) in w.iter().zip(ix).enumerate() {
            *dx.at(g + l, i.to_usize()) = x;
        }
        g += len;
    }
}

/// `x + d` by the rule of [`reference::add`]: the hardware sum where it is not NaN (then no
/// operand was NaN and it is the IEEE sum the rule gives), else the rule itself.
#[inline(always)]
fn add_scalar<T: Element>(x: T, d: T) -> T {
    let r = x + d;
    if r.is_nan() { reference::add(x, d) } else { r }
}

/// `dx[position of (g, indices[g])] = dy[g]` or `+= dy[g]`.
#[inline(always)]
fn scatter<T: Element, I: MaxoutIndex>(
    dy: &[T],
    indices: &[I],
    k: usize,
    layout: MaxoutLayout,
    dx: &mut [T],
    mode: MaxoutGradMode,
) {
    match layout {
        MaxoutLayout::Interleaved => {
            for ((chunk, &d), &i) in dx.chunks_exact_mut(k).zip(dy).zip(indices) {
                let x = &mut chunk[i.to_usize()];
                *x = match mode {
                    MaxoutGradMode::Overwrite => d,
                    MaxoutGradMode::Accumulate => add_scalar(*x, d),
                };
            }
        }
        MaxoutLayout::Planar => scatter_planar(dy, indices, &mut PlanesMut::new(dx, k), mode),
    }
}

/// `dx[indices[g], g] = dy[g]` or `+= dy[g]` on planes (`dx.cols() == dy.len()`).
#[inline(always)]
fn scatter_planar<T: Element, I: MaxoutIndex>(
    dy: &[T],
    indices: &[I],
    dx: &mut PlanesMut<'_, T>,
    mode: MaxoutGradMode,
) {
    assert_eq!(dx.cols(), dy.len());
    for (g, (&d, &i)) in dy.iter().zip(indices).enumerate() {
        let x = &mut dx.plane(i.to_usize())[g];
        *x = match mode {
            MaxoutGradMode::Overwrite => d,
            MaxoutGradMode::Accumulate => add_scalar(*x, d),
        };
    }
}

impl<T: Element, I: MaxoutIndex> Kernel for MaxoutBackwardKernel<'_, T, I> {
    fn reference(self) {
        let MaxoutBackwardKernel {
            dy,
            indices,
            k,
            dx,
            mode,
            ..
        } = self;
        let (layout, dx) = match dx {
            MaxoutGrad::Interleaved(dx) => (MaxoutLayout::Interleaved, dx),
            MaxoutGrad::Planar(dx) => match dx.into_whole() {
                Ok(dx) => (MaxoutLayout::Planar, dx),
                Err(mut dx) => {
                    // A chunk of planar groups: the reference's rule, on the chunk's columns.
                    if mode == MaxoutGradMode::Overwrite {
                        for j in 0..k {
                            dx.plane(j).fill(T::ZERO);
                        }
                    }
                    for (g, (&d, &i)) in dy.iter().zip(indices).enumerate() {
                        let x = &mut dx.plane(i.to_usize())[g];
                        *x = match mode {
                            MaxoutGradMode::Overwrite => d,
                            MaxoutGradMode::Accumulate => reference::add(*x, d),
                        };
                    }
                    return;
                }
            },
        };
        reference::maxout_backward(dy, indices, k, layout, dx, mode)
    }
}

/// The index check of maxout backward, run before anything is written: every index `< k`, or
/// [`Error::IndexOutOfRange`] naming the first group (numbered in the whole call) whose index
/// is not. `indices` are the call's groups `start..`.
pub struct MaxoutIndexCheck<'a, I> {
    /// The forward pass's indices.
    pub indices: &'a [I],
    /// The group size.
    pub k: usize,
    /// The group of `indices[0]` in the whole call.
    pub start: usize,
}

impl<I: MaxoutIndex> WithSimd for MaxoutIndexCheck<'_, I> {
    type Output = Result<(), Error>;
    /// (Here the check is compiled for the backend's ISA.)
    #[inline(always)]
    fn with_simd<S: Simd>(self, _s: S) -> Result<(), Error> {
        check_indices(self.indices, self.k, self.start)
    }
}

impl<I: MaxoutIndex> Kernel for MaxoutIndexCheck<'_, I> {
    fn reference(self) -> Result<(), Error> {
        check_indices(self.indices, self.k, self.start)
    }
}

/// Cut into runs of indices: the calling thread reports the first failing run's error, which is
/// the first bad index of the call whatever the cut.
impl<I: MaxoutIndex> crate::parallel::Split for MaxoutIndexCheck<'_, I> {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a, b) = self.indices.split_at(mid);
        (
            MaxoutIndexCheck { indices: a, ..self },
            MaxoutIndexCheck {
                indices: b,
                start: self.start + mid,
                ..self
            },
        )
    }
}

/// Interleaved: cut at whole groups of `z`. Planar: cut at groups (columns of every plane),
/// each `k` elements of work; a chunk of groups `g0..` reads `z[g0..]` at the call's `stride`.
impl<'a, T: Element, I: MaxoutIndex> crate::parallel::Split for MaxoutKernel<'a, T, I> {
    fn len(&self) -> usize {
        match self.layout {
            MaxoutLayout::Interleaved => self.z.len(),
            MaxoutLayout::Planar => self.values.len(),
        }
    }
    fn granule(&self) -> usize {
        match self.layout {
            MaxoutLayout::Interleaved => self.k,
            MaxoutLayout::Planar => 1,
        }
    }
    fn unit_elems(&self) -> usize {
        match self.layout {
            MaxoutLayout::Interleaved => 1,
            MaxoutLayout::Planar => self.k,
        }
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let MaxoutKernel {
            z,
            k,
            layout,
            stride,
            values,
            indices,
        } = self;
        // Interleaved: `mid` elements of `z` are `mid / k` groups; planar: `mid` groups start
        // at `z[mid]` in plane 0.
        let (z0, z1, groups) = match layout {
            MaxoutLayout::Interleaved => {
                let (z0, z1) = z.split_at(mid);
                (z0, z1, mid / k)
            }
            MaxoutLayout::Planar => (z, &z[mid..], mid),
        };
        let (v0, v1) = values.split_at_mut(groups);
        let (i0, i1) = match indices {
            Some(ix) => {
                let (a, b) = ix.split_at_mut(groups);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        (
            MaxoutKernel {
                z: z0,
                k,
                layout,
                stride,
                values: v0,
                indices: i0,
            },
            MaxoutKernel {
                z: z1,
                k,
                layout,
                stride,
                values: v1,
                indices: i1,
            },
        )
    }
}

/// Interleaved: cut at whole groups of `dx`. Planar: cut at groups (columns of every plane),
/// each `k` elements of work.
impl<'a, T: Element, I: MaxoutIndex> crate::parallel::Split for MaxoutBackwardKernel<'a, T, I> {
    fn len(&self) -> usize {
        match &self.dx {
            MaxoutGrad::Interleaved(dx) => dx.len(),
            MaxoutGrad::Planar(dx) => dx.cols(),
        }
    }
    fn granule(&self) -> usize {
        match self.dx {
            MaxoutGrad::Interleaved(_) => self.k,
            MaxoutGrad::Planar(_) => 1,
        }
    }
    fn unit_elems(&self) -> usize {
        match self.dx {
            MaxoutGrad::Interleaved(_) => 1,
            MaxoutGrad::Planar(_) => self.k,
        }
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let MaxoutBackwardKernel {
            dy,
            indices,
            k,
            dx,
            mode,
            whole_bytes,
        } = self;
        let (dx0, dx1, groups) = match dx {
            MaxoutGrad::Interleaved(dx) => {
                let (a, b) = dx.split_at_mut(mid);
                (
                    MaxoutGrad::Interleaved(a),
                    MaxoutGrad::Interleaved(b),
                    mid / k,
                )
            }
            MaxoutGrad::Planar(dx) => {
                let (a, b) = dx.split_cols(mid);
                (MaxoutGrad::Planar(a), MaxoutGrad::Planar(b), mid)
            }
        };
        let (dy0, dy1) = dy.split_at(groups);
        let (i0, i1) = indices.split_at(groups);
        (
            MaxoutBackwardKernel {
                dy: dy0,
                indices: i0,
                k,
                dx: dx0,
                mode,
                whole_bytes,
            },
            MaxoutBackwardKernel {
                dy: dy1,
                indices: i1,
                k,
                dx: dx1,
                mode,
                whole_bytes,
            },
        )
    }
}
