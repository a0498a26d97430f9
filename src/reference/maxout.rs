//! Maxout (`SPEC.md` sections 2 and 3), one group at a time: the rule in code.

use crate::element::Element;
use crate::ops::maxout::{MaxoutGradMode, MaxoutIndex, MaxoutLayout};

/// Whether candidate `c` (at a later position) replaces the running best `best`: never once the
/// best is a NaN (the first NaN wins); a NaN candidate replaces any non-NaN; otherwise only a
/// strictly greater value (`>` is false for equal values and for `-0` vs `+0`, so ties keep the
/// earliest position).
#[inline]
pub fn maxout_replaces<T: Element>(best: T, c: T) -> bool {
    !best.is_nan() && (c.is_nan() || c > best)
}

/// The winner of one group given as an iterator in position order: `(value, position)`.
/// The value keeps the winner's bits. Panics on an empty group.
#[inline]
pub fn maxout_group<T: Element>(mut group: impl Iterator<Item = T>) -> (T, usize) {
    let mut best = group.next().expect("a group has k >= 1 elements");
    let mut at = 0;
    for (j, c) in group.enumerate() {
        if maxout_replaces(best, c) {
            best = c;
            at = j + 1;
        }
    }
    (best, at)
}

/// `a + b` with x86's NaN rule made explicit (so that no backend or compiler can pick another
/// operand's payload: LLVM treats `+` as commutative, and AVX returns its first source NaN):
/// a NaN `a` comes back quieted (sign and payload kept); else a NaN `b` quieted; else the IEEE
/// sum, one rounding, with `inf + -inf` the x86 default NaN ([`Element::DEFAULT_NAN_BITS`]).
#[inline(always)]
pub fn add<T: Element>(a: T, b: T) -> T {
    let quiet = T::DEFAULT_NAN_BITS & !T::SIGN_BITS & !T::from_f64(f64::INFINITY).to_bits();
    if a.is_nan() {
        T::from_bits(a.to_bits() | quiet)
    } else if b.is_nan() {
        T::from_bits(b.to_bits() | quiet)
    } else {
        let r = a + b;
        if r.is_nan() {
            T::from_bits(T::DEFAULT_NAN_BITS)
        } else {
            r
        }
    }
}

/// Forward maxout over `z` (`z.len() = G * k`, validated by the caller): `values[g]` and, when
/// given, `indices[g]` for every group `g` of `layout`.
pub fn maxout<T: Element, I: MaxoutIndex>(
    z: &[T],
    k: usize,
    layout: MaxoutLayout,
    values: &mut [T],
    mut indices: Option<&mut [I]>,
) {
    let groups = values.len();
    debug_assert_eq!(z.len(), groups * k);
    for (g, v) in values.iter_mut().enumerate() {
        let (best, at) = match layout {
            MaxoutLayout::Interleaved => maxout_group(z[g * k..(g + 1) * k].iter().copied()),
            MaxoutLayout::Planar => maxout_group((0..k).map(|j| z[j * groups + g])),
        };
        *v = best;
        if let Some(ix) = indices.as_deref_mut() {
            ix[g] = I::from_usize(at);
        }
    }
}

/// Position in `dx` of piece `j` of group `g`, for `groups` groups of `k`.
#[inline]
pub fn maxout_position(layout: MaxoutLayout, g: usize, j: usize, k: usize, groups: usize) -> usize {
    match layout {
        MaxoutLayout::Interleaved => g * k + j,
        MaxoutLayout::Planar => j * groups + g,
    }
}

/// Backward maxout (`indices` validated `< k` by the caller; `dx.len() = dy.len() * k`).
/// [`MaxoutGradMode::Overwrite`]: `dx[g, indices[g]] = dy[g]` (bits kept), every other element
/// `+0`. [`MaxoutGradMode::Accumulate`]: `dx[g, indices[g]] += dy[g]` (one IEEE addition), every
/// other element untouched.
pub fn maxout_backward<T: Element, I: MaxoutIndex>(
    dy: &[T],
    indices: &[I],
    k: usize,
    layout: MaxoutLayout,
    dx: &mut [T],
    mode: MaxoutGradMode,
) {
    let groups = dy.len();
    debug_assert_eq!(dx.len(), groups * k);
    if mode == MaxoutGradMode::Overwrite {
        dx.fill(T::ZERO);
    }
    for g in 0..groups {
        let p = maxout_position(layout, g, indices[g].to_usize(), k, groups);
        dx[p] = match mode {
            MaxoutGradMode::Overwrite => dy[g],
            MaxoutGradMode::Accumulate => add(dx[p], dy[g]),
        };
    }
}
