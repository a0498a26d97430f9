//! Backward rules (`SPEC.md` section 3), one element at a time.
//!
//! `dy` is the upstream gradient, the result is `dx`. The kink `z = ±0` follows
//! [`Subgradient`]; a NaN `z` is on neither side of it (it is not `> 0`, not `>= 0`, not `<= 0`
//! and not `< 0`), and each rule below says where it goes.

use super::forward::mul;
use crate::element::Element;
use crate::subgradient::Subgradient;

/// ReLU backward. `Left`: `if z <= 0 { +0 } else { dy }` (a NaN `z` passes `dy`). `Right`:
/// `if z < 0 { +0 } else { dy }`. Where `dy` passes, its bits pass unchanged.
#[inline]
pub fn relu_backward<T: Element>(z: T, dy: T, sub: Subgradient) -> T {
    let blocked = match sub {
        Subgradient::Left => z <= T::ZERO,
        Subgradient::Right => z < T::ZERO,
    };
    if blocked { T::ZERO } else { dy }
}

/// Leaky ReLU backward with slope `a`. `Left`: `if z > 0 { dy } else { a * dy }` (a NaN `z`
/// gives `a * dy`). `Right`: `if z >= 0 { dy } else { a * dy }`. Where `dy` passes, its bits
/// pass unchanged (a signalling NaN included: a select, not `dy * 1.0`); `a * dy` follows
/// [`mul`] (for the half formats, the `f32` product rounded once).
#[inline]
pub fn leaky_relu_backward<T: Element>(z: T, dy: T, a: T::Slope, sub: Subgradient) -> T {
    let linear = match sub {
        Subgradient::Left => z > T::ZERO,
        Subgradient::Right => z >= T::ZERO,
    };
    if linear { dy } else { T::mul_slope(a, dy) }
}

/// PReLU input gradient of one element: [`leaky_relu_backward`] with its channel's slope.
#[inline]
pub fn prelu_backward<T: Element>(z: T, dy: T, a_c: T, sub: Subgradient) -> T {
    leaky_relu_backward(z, dy, a_c.to_slope(), sub)
}

/// The sign `s` of `abs` backward: `-1` for `z < 0`, `+1` for `z > 0`, `+0` for `z = ±0` and
/// for NaN.
#[inline]
pub fn abs_backward_sign<T: Element>(z: T) -> T {
    if z < T::ZERO {
        T::from_f64(-1.0)
    } else if z > T::ZERO {
        T::from_f64(1.0)
    } else {
        T::ZERO
    }
}

/// `abs` backward: `dy * s` as an IEEE product ([`mul`]) with `s` from [`abs_backward_sign`].
/// So at the kink `dx` is `±0` with `dy`'s sign, or the invalid-product NaN when `dy = ±inf`;
/// a NaN `dy` comes back quieted with its sign and payload, also when `s = -1` (a product, not
/// a sign flip). The same for both [`Subgradient`] values (0 is the subgradient at the kink).
#[inline]
pub fn abs_backward<T: Element>(z: T, dy: T) -> T {
    mul(dy, abs_backward_sign(z))
}

/// The PReLU slope gradient `da[c] = sum over i in channel c with !(z_i > 0) of z_i * dy_i`,
/// with its summation order (part of the contract, identical on every backend).
///
/// # Terms
/// Each element contributes the term `t_i = z_i * dy_i` where `!(z_i > 0)` (torch's mask: `±0`
/// and NaN `z` included, for both [`Subgradient`] values), and `+0` elsewhere. Terms are `f64`:
/// for `f32` the product of the two values widened to `f64`, which is exact; for `f64` the
/// product rounded once (never fused with the sum).
///
/// # Order
/// Partial sums start at `+0` (so `da` is never `-0`). The input is cut into fixed blocks
/// (never by the thread count):
/// - **pattern path** (channels-last, or channels-first with `S < 64`): `p = C * S` is the
///   period, `u = lcm(p, 16)`; the pattern is `P = 32` when `u` divides 32 (`p` is 1, 2, 4, 8,
///   16 or 32: the slots then fit in registers), else `P = u * ceil(256 / u)`; blocks are
///   `B = P * max(1, 2048 / P)` elements. In each block, slot `k` (`0 <= k < P`) sums the terms of the elements `i` with
///   `i % P == k`, one after the other in increasing `i`. The block's value for channel `c` is
///   then [`tree_rows`] over the `P / p` copies of the period (`q[o]`, `0 <= o < p`), then
///   [`tree`] over the `S` offsets `q[c * S .. (c + 1) * S]`.
/// - **run path** (channels-first with `S >= 64`): blocks are `2048` elements. A block is cut
///   at run boundaries into pieces (a run is the `S` elements of one channel of one batch
///   item); channel `c` has 32 slots per block, and the element at offset `j` of a piece of
///   channel `c` adds its term to slot `j % 32`, in increasing `i`. The block's value for
///   channel `c` (if the block holds any of its elements) is [`tree`] over its 32 slots.
///
/// The values of one channel from successive blocks (those that hold elements of it) are
/// combined by [`PairwiseStack`], the tree `T(x[0..n]) = T(x[0..m]) + T(x[m..n])` with `m` the
/// largest power of two below `n` ([`tree`]'s shape). The result is rounded once to `T`, and a
/// NaN result is the x86 default NaN ([`Element::DEFAULT_NAN_BITS`]), whatever the NaN payloads
/// of the inputs.
///
/// # Splitting (threads)
/// Blocks depend on the shape only. The tree over blocks is a sequence of perfect subtrees of
/// `2^k` consecutive blocks (largest first), so work split at multiples of `2^k` blocks can
/// compute its subtrees independently and combine them in the same order. (On the run path the
/// tree runs over the blocks that hold elements of the channel.) The multi-threaded kernels do
/// exactly this: on the pattern path, chunks of `2^k` whole blocks (`k` fixed by the shape)
/// return their [`PairwiseRows`], appended in order with [`PairwiseRows::append`]; on the run
/// path, chunks of whole blocks return their `(channel, block value)` pairs, pushed in order.
/// The additions are those of one sequential pass, whatever the number of threads.
///
/// # Accuracy
/// Every term goes through at most `m + ceil(log2 K) + ceil(log2 blocks)` additions, where `m`
/// is the number of terms of one slot in one block (`<= 64` on the run path and on the pattern
/// path with `P = 32`, `<= 8` on the pattern path otherwise) and `K` the number of slots folded per channel per block. So
/// `|da - exact| <= (m + ceil(log2 K) + ceil(log2 blocks)) * 2^-53 * sum |t_i|` (plus the final
/// rounding to `f32`): no worse than pairwise summation with a base case of 128 terms (as in
/// NumPy). For `f32` the terms are exact and the `f64` sum is far more accurate than the
/// result's precision. `tests/backward.rs` checks the bound against an exactly rounded sum on
/// adversarial data.
pub fn prelu_slope_grad<T: Element>(
    z: &[T],
    dy: &[T],
    slopes_len: usize,
    layout: crate::layout::ChannelLayout,
    da: &mut [T],
) {
    let c = slopes_len;
    let n = z.len();
    let mut stacks = vec![PairwiseStack::default(); c];
    if n > 0 {
        let run = layout.run();
        if run < SLOPE_GRAD_MIN_RUN {
            let (p, pat, block) = pattern_geometry(c, run);
            let mut acc = vec![0.0f64; pat];
            for b0 in (0..n).step_by(block) {
                acc.fill(0.0);
                for i in b0..(b0 + block).min(n) {
                    acc[i % pat] += slope_grad_term(z[i], dy[i]);
                }
                fold_pattern_block(&mut acc, p, run, &mut stacks);
            }
        } else {
            let mut slots = vec![[0.0f64; RUN_SLOTS]; c];
            let mut touched = Vec::new();
            for b0 in (0..n).step_by(RUN_BLOCK) {
                let b1 = (b0 + RUN_BLOCK).min(n);
                let mut i = b0;
                while i < b1 {
                    // The piece: from `i` to the end of its run or of the block.
                    let ch = (i / run) % c;
                    let end = ((i / run + 1) * run).min(b1);
                    if !touched.contains(&ch) {
                        touched.push(ch);
                    }
                    for (j, k) in (i..end).enumerate() {
                        slots[ch][j % RUN_SLOTS] += slope_grad_term(z[k], dy[k]);
                    }
                    i = end;
                }
                fold_run_block(&mut slots, &mut touched, &mut stacks);
            }
        }
    }
    for (d, st) in da.iter_mut().zip(&stacks) {
        *d = slope_grad_finish(st.finish());
    }
}

/// Channels-first runs at least this long take the run path of [`prelu_slope_grad`].
pub const SLOPE_GRAD_MIN_RUN: usize = 64;
/// The pattern of the pattern path covers at least this many elements, unless the period
/// divides [`SLOPE_GRAD_SMALL_PATTERN`].
pub const SLOPE_GRAD_MIN_PATTERN: usize = 256;
/// The pattern of the pattern path when `lcm(period, 16)` divides it (slots in registers).
pub const SLOPE_GRAD_SMALL_PATTERN: usize = RUN_SLOTS;
/// Target block length (elements) of both paths.
pub const SLOPE_GRAD_BLOCK: usize = 2048;
/// Block length of the run path.
const RUN_BLOCK: usize = SLOPE_GRAD_BLOCK;
/// Slots per channel per block on the run path.
pub const RUN_SLOTS: usize = 32;

/// `(p, P, B)`: period, pattern and block length of the pattern path.
#[inline]
pub(crate) fn pattern_geometry(channels: usize, run: usize) -> (usize, usize, usize) {
    let p = channels * run;
    // A whole number of periods and of 16 elements (so that every vector width divides it).
    let unit = p / gcd(p, 16) * 16;
    let pat = if SLOPE_GRAD_SMALL_PATTERN.is_multiple_of(unit) {
        SLOPE_GRAD_SMALL_PATTERN
    } else {
        unit * SLOPE_GRAD_MIN_PATTERN.div_ceil(unit)
    };
    let block = pat * (SLOPE_GRAD_BLOCK / pat).max(1);
    (p, pat, block)
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The term of one element of the slope gradient: `!(z > 0) ? z * dy : +0`, in `f64`; exact
/// for `f32` (a product of two widened `f32` is exact in `f64`).
#[inline]
pub fn slope_grad_term<T: Element>(z: T, dy: T) -> f64 {
    if z > T::ZERO {
        0.0
    } else {
        z.to_f64() * dy.to_f64()
    }
}

/// The `f64` sum rounded once to `T`; a NaN sum is the x86 default NaN.
#[inline]
pub fn slope_grad_finish<T: Element>(sum: f64) -> T {
    if sum.is_nan() {
        T::from_bits(T::DEFAULT_NAN_BITS)
    } else {
        T::from_f64(sum)
    }
}

/// The largest power of two strictly below `n` (`n >= 2`).
#[inline]
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The pairwise sum `T(x[0..n]) = T(x[0..m]) + T(x[m..n])`, `m` the largest power of two below
/// `n`; `+0` for an empty slice.
pub fn tree(x: &[f64]) -> f64 {
    match x.len() {
        0 => 0.0,
        1 => x[0],
        n if n.is_power_of_two() && n <= 64 => {
            // The perfect tree, level by level: adjacent pairs (the same additions).
            let mut buf = [0.0f64; 64];
            buf[..n].copy_from_slice(x);
            let mut w = n / 2;
            while w >= 1 {
                for i in 0..w {
                    buf[i] = buf[2 * i] + buf[2 * i + 1];
                }
                w /= 2;
            }
            buf[0]
        }
        n => {
            let m = split_point(n);
            tree(&x[..m]) + tree(&x[m..])
        }
    }
}

/// [`tree`] applied position by position to `rows` consecutive rows of `width` values: the
/// result is left in the first row.
pub fn tree_rows(x: &mut [f64], width: usize, rows: usize) {
    if rows <= 1 {
        return;
    }
    let m = split_point(rows);
    // The perfect tree over the first m rows, in place, level by level.
    let mut stride = 1;
    while stride < m {
        let mut r = 0;
        while r < m {
            let (a, b) = x[r * width..].split_at_mut(stride * width);
            for (u, v) in a[..width].iter_mut().zip(&b[..width]) {
                *u += *v;
            }
            r += 2 * stride;
        }
        stride *= 2;
    }
    tree_rows(&mut x[m * width..], width, rows - m);
    let (a, b) = x.split_at_mut(m * width);
    for (u, v) in a[..width].iter_mut().zip(&b[..width]) {
        *u += *v;
    }
}

/// A running pairwise sum over a stream of values, with [`tree`]'s shape whatever the count
/// (a binary counter of perfect subtrees).
#[derive(Debug, Clone, Default)]
pub struct PairwiseStack {
    items: Vec<(u32, f64)>,
}

impl PairwiseStack {
    /// Appends the next value.
    #[inline]
    pub fn push(&mut self, v: f64) {
        let mut item = (0u32, v);
        while let Some(&(level, left)) = self.items.last() {
            if level != item.0 {
                break;
            }
            self.items.pop();
            item = (level + 1, left + item.1);
        }
        self.items.push(item);
    }

    /// The sum of every value pushed (`+0` if none).
    pub fn finish(&self) -> f64 {
        let mut it = self.items.iter().rev();
        match it.next() {
            None => 0.0,
            Some(&(_, last)) => it.fold(last, |acc, &(_, v)| v + acc),
        }
    }
}

/// The end of a pattern-path block: `acc` (the `P` slots, padded) folded per channel and
/// pushed; `acc` is left for the caller to reset.
pub(crate) fn fold_pattern_block(
    acc: &mut [f64],
    period: usize,
    run: usize,
    stacks: &mut [PairwiseStack],
) {
    let (_, pat, _) = pattern_geometry(stacks.len(), run);
    tree_rows(&mut acc[..pat], period, pat / period);
    for (ch, st) in stacks.iter_mut().enumerate() {
        st.push(tree(&acc[ch * run..(ch + 1) * run]));
    }
}

/// [`PairwiseStack`] for every channel at once, when every block holds every channel (the
/// pattern path): one binary counter shared by the channels, merges done row by row (so they
/// vectorize). Gives the same sums as one [`PairwiseStack`] per channel.
#[derive(Debug, Clone)]
pub struct PairwiseRows {
    width: usize,
    count: u64,
    /// Row `l` (of `width` values) holds the perfect subtree of `2^l` blocks when bit `l` of
    /// `count` is set.
    levels: Vec<f64>,
    carry: Vec<f64>,
}

impl PairwiseRows {
    /// An empty sum of rows of `width` values.
    pub fn new(width: usize) -> Self {
        PairwiseRows {
            width,
            count: 0,
            levels: Vec::new(),
            carry: vec![0.0; width],
        }
    }

    /// Appends the next row (`width` values).
    #[inline]
    pub fn push(&mut self, row: &[f64]) {
        self.push_subtree(0, row);
    }

    /// Appends the perfect subtree of `2^level` rows whose sums are `row`: the same sums as
    /// pushing those rows one by one, provided the number of rows pushed so far is a multiple
    /// of `2^level` (checked).
    // `left + right` spelled out: the older (left) subtree is the first operand, as in `tree`.
    #[allow(clippy::assign_op_pattern)]
    #[inline]
    pub fn push_subtree(&mut self, level: usize, row: &[f64]) {
        assert!(
            level < 63 && self.count & ((1u64 << level) - 1) == 0,
            "PairwiseRows::push_subtree: {} rows pushed, not a multiple of 2^{level}",
            self.count
        );
        let w = self.width;
        self.carry.copy_from_slice(&row[..w]);
        let first = level;
        let mut level = level;
        while self.count & (1 << level) != 0 {
            let left = &self.levels[level * w..(level + 1) * w];
            for (c, &l) in self.carry.iter_mut().zip(left) {
                *c = l + *c;
            }
            level += 1;
        }
        if self.levels.len() < (level + 1) * w {
            self.levels.resize((level + 1) * w, 0.0);
        }
        self.levels[level * w..(level + 1) * w].copy_from_slice(&self.carry);
        self.count += 1 << first;
    }

    /// Appends every row summed by `other` (of the same width), as if they were pushed one by
    /// one: its perfect subtrees, largest first, with [`PairwiseRows::push_subtree`]. So the
    /// number of rows pushed to `self` so far must be a multiple of `2^k`, `2^k` the largest
    /// power of two `<= other`'s count (always true when it is a multiple of `other`'s count
    /// rounded up to a power of two). This is how work split at such multiples (threads)
    /// combines into exactly the sums of one sequential pass.
    pub fn append(&mut self, other: &PairwiseRows) {
        assert_eq!(
            self.width, other.width,
            "PairwiseRows::append: widths differ"
        );
        let w = self.width;
        for level in (0..64).rev() {
            if other.count & (1 << level) != 0 {
                self.push_subtree(level, &other.levels[level * w..(level + 1) * w]);
            }
        }
    }

    /// The number of rows pushed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The width of the rows.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The sums, position by position, into `out` (`+0` if no row was pushed).
    pub fn finish(&self, out: &mut [f64]) {
        let w = self.width;
        out[..w].fill(0.0);
        let mut first = true;
        for level in 0..64 {
            if self.count & (1 << level) != 0 {
                let row = &self.levels[level * w..(level + 1) * w];
                for (o, &v) in out.iter_mut().zip(row) {
                    *o = if first { v } else { v + *o };
                }
                first = false;
            }
        }
    }
}

/// The end of a pattern-path block, for all channels at once: `acc` folded as in
/// [`fold_pattern_block`], the channel values written to `row` (`C` values).
pub(crate) fn fold_pattern_block_row(acc: &mut [f64], period: usize, run: usize, row: &mut [f64]) {
    let c = row.len();
    let (_, pat, _) = pattern_geometry(c, run);
    tree_rows(&mut acc[..pat], period, pat / period);
    if run == 1 {
        row.copy_from_slice(&acc[..c]);
    } else {
        for (ch, r) in row.iter_mut().enumerate() {
            *r = tree(&acc[ch * run..(ch + 1) * run]);
        }
    }
}

/// The end of a run-path block: the slots of every touched channel folded and pushed, and
/// reset to `+0`.
pub(crate) fn fold_run_block(
    slots: &mut [[f64; RUN_SLOTS]],
    touched: &mut Vec<usize>,
    stacks: &mut [PairwiseStack],
) {
    for &ch in touched.iter() {
        stacks[ch].push(tree(&slots[ch]));
        slots[ch] = [0.0; RUN_SLOTS];
    }
    touched.clear();
}

/// The bit that the forward-with-mask kernels store for ReLU: `1` where backward passes `dy`
/// unchanged under `sub` (`Left`: `!(z <= 0)`, NaN included; `Right`: `!(z < 0)`).
#[inline]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(z <= 0)` is true for NaN, unlike `z > 0`.
pub fn relu_mask_bit<T: Element>(z: T, sub: Subgradient) -> bool {
    match sub {
        Subgradient::Left => !(z <= T::ZERO),
        Subgradient::Right => !(z < T::ZERO),
    }
}

/// The bit of leaky ReLU / PReLU: `1` on the linear side (`Left`: `z > 0`; `Right`: `z >= 0`).
#[inline]
pub fn leaky_relu_mask_bit<T: Element>(z: T, sub: Subgradient) -> bool {
    match sub {
        Subgradient::Left => z > T::ZERO,
        Subgradient::Right => z >= T::ZERO,
    }
}

/// ReLU backward from a mask bit: `bit ? dy : +0` (equal to [`relu_backward`] when the bit
/// came from [`relu_mask_bit`] with the same subgradient).
#[inline]
pub fn relu_backward_from_bit<T: Element>(bit: bool, dy: T) -> T {
    if bit { dy } else { T::ZERO }
}

/// Leaky ReLU backward from a mask bit: `bit ? dy : a * dy`.
#[inline]
pub fn leaky_relu_backward_from_bit<T: Element>(bit: bool, dy: T, a: T::Slope) -> T {
    if bit { dy } else { T::mul_slope(a, dy) }
}
