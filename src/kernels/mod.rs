//! The SIMD kernels, written once over pulp's [`Simd`] trait and compiled for every backend.
//!
//! A kernel is a lane rule (a [`Unary`] or [`WithSlope`] functor: what happens to one vector)
//! driven by one of the loops below: a full-width body unrolled [`UNROLL`] times, then single
//! vectors, then one masked partial load/store for the tail. The tail runs the same lane rule as
//! the body, so there is no scalar loop that could disagree with it.

pub mod forward;

use pulp::Simd;

use crate::element::Element;

/// Vectors per iteration of the unrolled body.
pub const UNROLL: usize = 4;

/// The widest tile (lanes x [`UNROLL`]) of any backend for `T`: tests cover lengths up to three
/// times this, plus one.
pub fn max_tile<T: Element>() -> usize {
    // AVX-512 is the widest vector: 64 bytes.
    64 / core::mem::size_of::<T>() * UNROLL
}

/// A lane rule with one input stream.
pub trait Unary<T: Element>: Copy {
    /// The rule on one element: the reference, `SPEC.md` in code.
    fn scalar(self, z: T) -> T;
    /// The same rule on one vector, bit for bit.
    fn simd<S: Simd>(self, s: S, z: T::V<S>) -> T::V<S>;
}

/// A lane rule with an input stream and a per-element slope stream (PReLU).
pub trait WithSlope<T: Element>: Copy {
    /// The rule on one element with its slope.
    fn scalar(self, z: T, a: T) -> T;
    /// The same rule on one vector with a vector of slopes, bit for bit.
    fn simd<S: Simd>(self, s: S, z: T::V<S>, a: T::V<S>) -> T::V<S>;
}

/// `dst[i] = f(src[i])`. `src.len() == dst.len()`.
#[inline(always)]
pub fn map<S: Simd, T: Element, F: Unary<T>>(s: S, f: F, src: &[T], dst: &mut [T]) {
    debug_assert_eq!(src.len(), dst.len());
    let (zs, zt) = T::as_simd::<S>(src);
    let (ys, yt) = T::as_mut_simd::<S>(dst);
    let mut zc = zs.chunks_exact(UNROLL);
    let mut yc = ys.chunks_exact_mut(UNROLL);
    for (z, y) in (&mut zc).zip(&mut yc) {
        for j in 0..UNROLL {
            y[j] = f.simd(s, z[j]);
        }
    }
    for (z, y) in zc.remainder().iter().zip(yc.into_remainder()) {
        *y = f.simd(s, *z);
    }
    if !zt.is_empty() {
        T::partial_store(s, yt, f.simd(s, T::partial_load(s, zt)));
    }
}

/// `x[i] = f(x[i])`.
#[inline(always)]
pub fn map_inplace<S: Simd, T: Element, F: Unary<T>>(s: S, f: F, x: &mut [T]) {
    let (xs, xt) = T::as_mut_simd::<S>(x);
    let mut xc = xs.chunks_exact_mut(UNROLL);
    for v in &mut xc {
        for j in 0..UNROLL {
            v[j] = f.simd(s, v[j]);
        }
    }
    for v in xc.into_remainder() {
        *v = f.simd(s, *v);
    }
    if !xt.is_empty() {
        let v = f.simd(s, T::partial_load(s, xt));
        T::partial_store(s, xt, v);
    }
}

/// `dst[i] = f(src[i], a[i])`. All three have the same length.
#[inline(always)]
pub fn map_with_slope<S: Simd, T: Element, F: WithSlope<T>>(
    s: S,
    f: F,
    src: &[T],
    a: &[T],
    dst: &mut [T],
) {
    debug_assert!(src.len() == dst.len() && a.len() == dst.len());
    let (zs, zt) = T::as_simd::<S>(src);
    let (as_, at) = T::as_simd::<S>(a);
    let (ys, yt) = T::as_mut_simd::<S>(dst);
    let mut zc = zs.chunks_exact(UNROLL);
    let mut ac = as_.chunks_exact(UNROLL);
    let mut yc = ys.chunks_exact_mut(UNROLL);
    for ((z, a), y) in (&mut zc).zip(&mut ac).zip(&mut yc) {
        for j in 0..UNROLL {
            y[j] = f.simd(s, z[j], a[j]);
        }
    }
    for ((z, a), y) in zc
        .remainder()
        .iter()
        .zip(ac.remainder())
        .zip(yc.into_remainder())
    {
        *y = f.simd(s, *z, *a);
    }
    if !zt.is_empty() {
        let v = f.simd(s, T::partial_load(s, zt), T::partial_load(s, at));
        T::partial_store(s, yt, v);
    }
}

/// `x[i] = f(x[i], a[i])`.
#[inline(always)]
pub fn map_with_slope_inplace<S: Simd, T: Element, F: WithSlope<T>>(
    s: S,
    f: F,
    x: &mut [T],
    a: &[T],
) {
    debug_assert_eq!(x.len(), a.len());
    let (xs, xt) = T::as_mut_simd::<S>(x);
    let (as_, at) = T::as_simd::<S>(a);
    let mut xc = xs.chunks_exact_mut(UNROLL);
    let mut ac = as_.chunks_exact(UNROLL);
    for (v, a) in (&mut xc).zip(&mut ac) {
        for j in 0..UNROLL {
            v[j] = f.simd(s, v[j], a[j]);
        }
    }
    for (v, a) in xc.into_remainder().iter_mut().zip(ac.remainder()) {
        *v = f.simd(s, *v, *a);
    }
    if !xt.is_empty() {
        let v = f.simd(s, T::partial_load(s, xt), T::partial_load(s, at));
        T::partial_store(s, xt, v);
    }
}

/// The buffers of an element-wise call: separate input and output, or one buffer in place.
pub enum Io<'a, T> {
    /// `src -> dst`, same length, not overlapping (guaranteed by the borrow checker).
    OutOfPlace {
        /// Input.
        src: &'a [T],
        /// Output.
        dst: &'a mut [T],
    },
    /// One buffer, read and overwritten.
    InPlace(&'a mut [T]),
}

impl<'a, T: Element> Io<'a, T> {
    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Io::OutOfPlace { dst, .. } => dst.len(),
            Io::InPlace(x) => x.len(),
        }
    }

    /// Whether there are no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` on consecutive pieces of `size` elements (the last may be shorter), with the
    /// index of the piece's first element.
    #[inline(always)]
    pub fn for_each_chunk(self, size: usize, mut f: impl FnMut(usize, Io<'_, T>)) {
        debug_assert!(size > 0);
        match self {
            Io::OutOfPlace { src, dst } => {
                for (i, (src, dst)) in src.chunks(size).zip(dst.chunks_mut(size)).enumerate() {
                    f(i * size, Io::OutOfPlace { src, dst });
                }
            }
            Io::InPlace(x) => {
                for (i, x) in x.chunks_mut(size).enumerate() {
                    f(i * size, Io::InPlace(x));
                }
            }
        }
    }

    /// The SIMD loop of a [`Unary`] rule.
    #[inline(always)]
    pub fn map<S: Simd, F: Unary<T>>(self, s: S, f: F) {
        match self {
            Io::OutOfPlace { src, dst } => map(s, f, src, dst),
            Io::InPlace(x) => map_inplace(s, f, x),
        }
    }

    /// The SIMD loop of a [`WithSlope`] rule; `a.len() == self.len()`.
    #[inline(always)]
    pub fn map_with_slope<S: Simd, F: WithSlope<T>>(self, s: S, f: F, a: &[T]) {
        match self {
            Io::OutOfPlace { src, dst } => map_with_slope(s, f, src, a, dst),
            Io::InPlace(x) => map_with_slope_inplace(s, f, x, a),
        }
    }

    /// The reference loop of a [`Unary`] rule: one element at a time through `F::scalar`.
    pub fn map_reference<F: Unary<T>>(self, f: F) {
        match self {
            Io::OutOfPlace { src, dst } => {
                for (y, &z) in dst.iter_mut().zip(src) {
                    *y = f.scalar(z);
                }
            }
            Io::InPlace(x) => {
                for v in x {
                    *v = f.scalar(*v);
                }
            }
        }
    }

    /// The reference loop with a slope per element given by `slope_of(i)`.
    pub fn map_reference_with_slope<F: WithSlope<T>>(self, f: F, slope_of: impl Fn(usize) -> T) {
        match self {
            Io::OutOfPlace { src, dst } => {
                for (i, (y, &z)) in dst.iter_mut().zip(src).enumerate() {
                    *y = f.scalar(z, slope_of(i));
                }
            }
            Io::InPlace(x) => {
                for (i, v) in x.iter_mut().enumerate() {
                    *v = f.scalar(*v, slope_of(i));
                }
            }
        }
    }
}
