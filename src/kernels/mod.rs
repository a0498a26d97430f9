//! The SIMD kernels, written once over pulp's [`Simd`] trait and compiled for every backend.
//!
//! A kernel is a lane rule (a [`Unary`] or [`WithSlope`] functor: what happens to one vector)
//! driven by one of the loops below: a full-width body unrolled [`UNROLL`] times, then single
//! vectors, then one masked partial load/store for the tail. The tail runs the same lane rule as
//! the body, so there is no scalar loop that could disagree with it.

pub mod backward;
pub mod forward;
pub mod mask;
pub mod maxout;
pub mod maxout16;

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
    /// The rule on one stored vector: [`Unary::simd`] between the element type's `load` and
    /// `store` (identities for `f32`/`f64`). Rules without arithmetic override it for the half
    /// formats, to work on their 16-bit lanes directly: the same bits, no conversions.
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, x: T::SV<S>) -> T::SV<S> {
        T::store(s, self.simd(s, T::load(s, x)))
    }
    /// The rule on the [`UNROLL`] stored vectors of one iteration of the unrolled body:
    /// [`Unary::simd_stored`] on each, unless the rule has an ISA-specific path for a whole
    /// block (`bf16` leaky ReLU, and PReLU through [`WithSlope::simd_stored_block`], on
    /// AVX-512: one check per block instead of one per vector). Not used by the streaming
    /// stores of large outputs (memory-bound there).
    #[inline(always)]
    fn simd_stored_block<S: Simd>(self, s: S, x: [T::SV<S>; UNROLL]) -> [T::SV<S>; UNROLL] {
        stored_each(s, self, x)
    }
}

/// [`Unary::simd_stored`] on each vector of a block: the default [`Unary::simd_stored_block`].
#[inline(always)]
pub fn stored_each<S: Simd, T: Element, F: Unary<T>>(
    s: S,
    f: F,
    x: [T::SV<S>; UNROLL],
) -> [T::SV<S>; UNROLL] {
    let mut y = x;
    for v in &mut y {
        *v = f.simd_stored(s, *v);
    }
    y
}

/// A lane rule with an input stream and a per-element slope stream (PReLU).
pub trait WithSlope<T: Element>: Copy {
    /// The rule on one element with its slope.
    fn scalar(self, z: T, a: T) -> T;
    /// The same rule on one vector with a vector of slopes, bit for bit.
    fn simd<S: Simd>(self, s: S, z: T::V<S>, a: T::V<S>) -> T::V<S>;
    /// The rule on stored vectors: [`WithSlope::simd`] between the element type's `load`s and
    /// `store` (as [`Unary::simd_stored`]).
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, z: T::SV<S>, a: T::SV<S>) -> T::SV<S> {
        T::store(s, self.simd(s, T::load(s, z), T::load(s, a)))
    }
    /// The rule on the [`UNROLL`] stored vectors of one iteration of the unrolled body and
    /// their slopes, as [`Unary::simd_stored_block`].
    #[inline(always)]
    fn simd_stored_block<S: Simd>(
        self,
        s: S,
        z: [T::SV<S>; UNROLL],
        a: [T::SV<S>; UNROLL],
    ) -> [T::SV<S>; UNROLL] {
        stored_each_with_slope(s, self, z, a)
    }
}

/// [`WithSlope::simd_stored`] on each vector of a block: the default
/// [`WithSlope::simd_stored_block`].
#[inline(always)]
pub fn stored_each_with_slope<S: Simd, T: Element, F: WithSlope<T>>(
    s: S,
    f: F,
    z: [T::SV<S>; UNROLL],
    a: [T::SV<S>; UNROLL],
) -> [T::SV<S>; UNROLL] {
    let mut y = z;
    for (v, a) in y.iter_mut().zip(a) {
        *v = f.simd_stored(s, *v, a);
    }
    y
}

/// Stores `v` to `*dst`, which the caller has just loaded: a plain full-width store, never
/// rewritten by the compiler. Without this, LLVM turns "store `select(m, x, loaded)` back where
/// `loaded` came from" into a masked store (`vmaskmovps`), which is microcoded and very slow on
/// AMD: AVX2 `relu_inplace` `f32` at 64 Ki ran at 0.16x the naive loop that way, 0.95x with this.
/// On AVX-512 masked stores are cheap, but a masked store writes nothing where no lane changed,
/// so its speed depends on the data (a benchmark that re-runs an in-place ReLU on its own output
/// measures that best case, about 2x); plain stores keep every kernel's time data-independent.
#[inline(always)]
pub fn store_in_place<V>(dst: &mut V, v: V) {
    // SAFETY: `dst` is a valid, aligned, exclusive reference, so writing through it is sound;
    // volatile only stops the compiler from merging the store with the select before it.
    unsafe { core::ptr::write_volatile(dst, v) }
}

/// Elements before the first vector-aligned address of `x` (at most `len`): writing aligned
/// vectors matters, because an unaligned 64-byte store or load touches two cache lines.
#[inline(always)]
pub fn head_len<S: Simd, T: Element>(x: &[T]) -> usize {
    let vbytes = core::mem::size_of::<T::SV<S>>();
    let misalign = x.as_ptr() as usize % vbytes;
    (((vbytes - misalign) % vbytes) / core::mem::size_of::<T>()).min(x.len())
}

/// `dst[i] = f(src[i])`. `src.len() == dst.len()`. A masked head brings `dst` to a vector
/// boundary, then [`map_aligned`] does the rest.
#[inline(always)]
pub fn map<S: Simd, T: Element, F: Unary<T>>(s: S, f: F, src: &[T], dst: &mut [T]) {
    let head = head_len::<S, T>(dst);
    let (src_head, src) = src.split_at(head);
    let (dst_head, dst) = dst.split_at_mut(head);
    if head > 0 {
        T::partial_store(s, dst_head, f.simd(s, T::partial_load(s, src_head)));
    }
    map_aligned(s, f, src, dst)
}

/// The body of [`map`]: unrolled full vectors, then one masked tail.
#[inline(always)]
pub fn map_aligned<S: Simd, T: Element, F: Unary<T>>(s: S, f: F, src: &[T], dst: &mut [T]) {
    debug_assert_eq!(src.len(), dst.len());
    let (zs, zt) = T::as_simd::<S>(src);
    let (ys, yt) = T::as_mut_simd::<S>(dst);
    // Equal lengths, so that the indexing below needs no bounds checks.
    let n = ys.len();
    let zs = &zs[..n];
    let mut i = 0;
    while i + UNROLL <= n {
        let block: &[T::SV<S>; UNROLL] = zs[i..i + UNROLL].try_into().unwrap();
        ys[i..i + UNROLL].copy_from_slice(&f.simd_stored_block(s, *block));
        i += UNROLL;
    }
    while i < n {
        ys[i] = f.simd_stored(s, zs[i]);
        i += 1;
    }
    if !zt.is_empty() {
        T::partial_store(s, yt, f.simd(s, T::partial_load(s, zt)));
    }
}

/// `x[i] = f(x[i])`, with a masked head up to the first aligned vector.
#[inline(always)]
pub fn map_inplace<S: Simd, T: Element, F: Unary<T>>(s: S, f: F, x: &mut [T]) {
    let head = head_len::<S, T>(x);
    let (x_head, x) = x.split_at_mut(head);
    if head > 0 {
        let v = f.simd(s, T::partial_load(s, x_head));
        T::partial_store(s, x_head, v);
    }
    let (xs, xt) = T::as_mut_simd::<S>(x);
    let n = xs.len();
    let mut i = 0;
    while i + UNROLL <= n {
        let block: &mut [T::SV<S>; UNROLL] = (&mut xs[i..i + UNROLL]).try_into().unwrap();
        let y = f.simd_stored_block(s, *block);
        for (v, y) in block.iter_mut().zip(y) {
            store_in_place(v, y);
        }
        i += UNROLL;
    }
    while i < n {
        let v = f.simd_stored(s, xs[i]);
        store_in_place(&mut xs[i], v);
        i += 1;
    }
    if !xt.is_empty() {
        let v = f.simd(s, T::partial_load(s, xt));
        T::partial_store(s, xt, v);
    }
}

/// `dst[i] = f(src[i], a[i])`. All three have the same length. Masked head, as [`map`].
#[inline(always)]
pub fn map_with_slope<S: Simd, T: Element, F: WithSlope<T>>(
    s: S,
    f: F,
    src: &[T],
    a: &[T],
    dst: &mut [T],
) {
    debug_assert!(src.len() == dst.len() && a.len() == dst.len());
    let head = head_len::<S, T>(dst);
    let (src_head, src) = src.split_at(head);
    let (a_head, a) = a.split_at(head);
    let (dst_head, dst) = dst.split_at_mut(head);
    if head > 0 {
        let v = f.simd(s, T::partial_load(s, src_head), T::partial_load(s, a_head));
        T::partial_store(s, dst_head, v);
    }
    let (zs, zt) = T::as_simd::<S>(src);
    let (as_, at) = T::as_simd::<S>(a);
    let (ys, yt) = T::as_mut_simd::<S>(dst);
    let n = ys.len();
    let (zs, as_) = (&zs[..n], &as_[..n]);
    let mut i = 0;
    while i + UNROLL <= n {
        let z: &[T::SV<S>; UNROLL] = zs[i..i + UNROLL].try_into().unwrap();
        let a: &[T::SV<S>; UNROLL] = as_[i..i + UNROLL].try_into().unwrap();
        ys[i..i + UNROLL].copy_from_slice(&f.simd_stored_block(s, *z, *a));
        i += UNROLL;
    }
    while i < n {
        ys[i] = f.simd_stored(s, zs[i], as_[i]);
        i += 1;
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
    let head = head_len::<S, T>(x);
    let (x_head, x) = x.split_at_mut(head);
    let (a_head, a) = a.split_at(head);
    if head > 0 {
        let v = f.simd(s, T::partial_load(s, x_head), T::partial_load(s, a_head));
        T::partial_store(s, x_head, v);
    }
    let (xs, xt) = T::as_mut_simd::<S>(x);
    let (as_, at) = T::as_simd::<S>(a);
    let n = xs.len();
    let as_ = &as_[..n];
    let mut i = 0;
    while i + UNROLL <= n {
        let block: &mut [T::SV<S>; UNROLL] = (&mut xs[i..i + UNROLL]).try_into().unwrap();
        let a: &[T::SV<S>; UNROLL] = as_[i..i + UNROLL].try_into().unwrap();
        let y = f.simd_stored_block(s, *block, *a);
        for (v, y) in block.iter_mut().zip(y) {
            store_in_place(v, y);
        }
        i += UNROLL;
    }
    while i < n {
        let v = f.simd_stored(s, xs[i], as_[i]);
        store_in_place(&mut xs[i], v);
        i += 1;
    }
    if !xt.is_empty() {
        let v = f.simd(s, T::partial_load(s, xt), T::partial_load(s, at));
        T::partial_store(s, xt, v);
    }
}

/// A gradient lane rule: `dx = f(z, dy, extra)`, with `K` extra per-element streams (the
/// slopes of PReLU: `K = 1`; none for ReLU, leaky ReLU and `abs`: `K = 0`).
pub trait Grad<T: Element, const K: usize>: Copy {
    /// The rule on one element: the reference.
    fn scalar(self, z: T, dy: T, extra: [T; K]) -> T;
    /// The same rule on one vector, bit for bit.
    fn simd<S: Simd>(self, s: S, z: T::V<S>, dy: T::V<S>, extra: [T::V<S>; K]) -> T::V<S>;
    /// The rule on stored vectors (`z` and `dy` as in memory): [`Grad::simd`] between a load and
    /// a store, unless a rule has a cheaper way for the half formats' 16-bit lanes.
    #[inline(always)]
    fn simd_stored<S: Simd>(
        self,
        s: S,
        z: T::SV<S>,
        dy: T::SV<S>,
        extra: [T::V<S>; K],
    ) -> T::SV<S> {
        T::store(s, self.simd(s, T::load(s, z), T::load(s, dy), extra))
    }
}

/// The gradient driver, for every [`Grad`] rule: `dx[i] = f(z[i], dy[i], extra[..][i])`, with
/// `io` either `dy -> dx` ([`Io::OutOfPlace`]) or `dy` overwritten by `dx` ([`Io::InPlace`]).
/// Every stream has `z.len()` elements. One loop shape for 2 to `2 + K` input streams: an
/// unrolled body, single vectors, then one masked tail through the same rule.
#[inline(always)]
pub fn map_grad<S: Simd, T: Element, F: Grad<T, K>, const K: usize>(
    s: S,
    f: F,
    z: &[T],
    io: Io<'_, T>,
    extra: [&[T]; K],
) {
    debug_assert_eq!(z.len(), io.len());
    let (zs, zt) = T::as_simd::<S>(z);
    let n = zs.len();
    let zs = &zs[..n];
    let zero = T::v_splat(s, T::ZERO);
    // The extra streams cut to the same `n` vectors (so that indexing needs no bounds checks;
    // `K` is a constant, so the loops over `k` unroll away).
    let mut eb: [&[T::SV<S>]; K] = [&[]; K];
    let mut et: [&[T]; K] = [&[]; K];
    for k in 0..K {
        debug_assert_eq!(extra[k].len(), z.len());
        let (b, t) = T::as_simd::<S>(extra[k]);
        eb[k] = &b[..n];
        et[k] = t;
    }
    let mut tail_extra = [zero; K];
    if !zt.is_empty() {
        for k in 0..K {
            tail_extra[k] = T::partial_load(s, et[k]);
        }
    }
    match io {
        Io::OutOfPlace { src: dy, dst: dx } => {
            let (dys, dyt) = T::as_simd::<S>(dy);
            let (dxs, dxt) = T::as_mut_simd::<S>(dx);
            let (dys, dxs) = (&dys[..n], &mut dxs[..n]);
            let mut i = 0;
            while i + UNROLL <= n {
                for j in i..i + UNROLL {
                    let mut e = [zero; K];
                    for k in 0..K {
                        e[k] = T::load(s, eb[k][j]);
                    }
                    dxs[j] = f.simd_stored(s, zs[j], dys[j], e);
                }
                i += UNROLL;
            }
            while i < n {
                let mut e = [zero; K];
                for k in 0..K {
                    e[k] = T::load(s, eb[k][i]);
                }
                dxs[i] = f.simd_stored(s, zs[i], dys[i], e);
                i += 1;
            }
            if !zt.is_empty() {
                let v = f.simd(
                    s,
                    T::partial_load(s, zt),
                    T::partial_load(s, dyt),
                    tail_extra,
                );
                T::partial_store(s, dxt, v);
            }
        }
        Io::InPlace(x) => {
            let (xs, xt) = T::as_mut_simd::<S>(x);
            let xs = &mut xs[..n];
            let mut i = 0;
            while i + UNROLL <= n {
                for j in i..i + UNROLL {
                    let mut e = [zero; K];
                    for k in 0..K {
                        e[k] = T::load(s, eb[k][j]);
                    }
                    let v = f.simd_stored(s, zs[j], xs[j], e);
                    store_in_place(&mut xs[j], v);
                }
                i += UNROLL;
            }
            while i < n {
                let mut e = [zero; K];
                for k in 0..K {
                    e[k] = T::load(s, eb[k][i]);
                }
                let v = f.simd_stored(s, zs[i], xs[i], e);
                store_in_place(&mut xs[i], v);
                i += 1;
            }
            if !zt.is_empty() {
                let v = f.simd(
                    s,
                    T::partial_load(s, zt),
                    T::partial_load(s, xt),
                    tail_extra,
                );
                T::partial_store(s, xt, v);
            }
        }
    }
}

/// The reference loop of a [`Grad`] rule: one element at a time through `F::scalar`, the extra
/// streams given per element by `extra_of(i)`.
pub fn map_grad_reference<T: Element, F: Grad<T, K>, const K: usize>(
    f: F,
    z: &[T],
    io: Io<'_, T>,
    extra_of: impl Fn(usize) -> [T; K],
) {
    match io {
        Io::OutOfPlace { src: dy, dst: dx } => {
            for (i, (x, (&z, &dy))) in dx.iter_mut().zip(z.iter().zip(dy)).enumerate() {
                *x = f.scalar(z, dy, extra_of(i));
            }
        }
        Io::InPlace(x) => {
            for (i, (v, &z)) in x.iter_mut().zip(z).enumerate() {
                *v = f.scalar(z, *v, extra_of(i));
            }
        }
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

    /// Consecutive pieces of `size` elements (the last may be shorter). An iterator rather than
    /// a callback: closures do not inherit the target features of the SIMD region, so a kernel
    /// body inside a closure would not be compiled for the backend's ISA.
    #[inline(always)]
    pub fn chunks(self, size: usize) -> IoChunks<'a, T> {
        debug_assert!(size > 0);
        match self {
            Io::OutOfPlace { src, dst } => {
                IoChunks::OutOfPlace(src.chunks(size).zip(dst.chunks_mut(size)))
            }
            Io::InPlace(x) => IoChunks::InPlace(x.chunks_mut(size)),
        }
    }

    /// The first `mid` elements and the rest (`mid <= len`).
    #[inline(always)]
    pub fn split_at(self, mid: usize) -> (Io<'a, T>, Io<'a, T>) {
        match self {
            Io::OutOfPlace { src, dst } => {
                let (s0, s1) = src.split_at(mid);
                let (d0, d1) = dst.split_at_mut(mid);
                (
                    Io::OutOfPlace { src: s0, dst: d0 },
                    Io::OutOfPlace { src: s1, dst: d1 },
                )
            }
            Io::InPlace(x) => {
                let (x0, x1) = x.split_at_mut(mid);
                (Io::InPlace(x0), Io::InPlace(x1))
            }
        }
    }

    /// The SIMD loop of a [`Unary`] rule.
    #[inline(always)]
    pub fn map<S: Simd, F: Unary<T>>(self, s: S, f: F) {
        match self {
            Io::OutOfPlace { src, dst } => crate::arch::map_large(s, f, src, dst),
            Io::InPlace(x) => map_inplace(s, f, x),
        }
    }

    /// The SIMD loop of a [`WithSlope`] rule; `a.len() == self.len()`. `self` is a piece of
    /// an output of `whole_bytes` bytes (which decides on streaming stores; see [`crate::arch`]).
    #[inline(always)]
    pub fn map_with_slope<S: Simd, F: WithSlope<T>>(self, s: S, f: F, a: &[T], whole_bytes: usize) {
        match self {
            Io::OutOfPlace { src, dst } => {
                crate::arch::map_with_slope_part_of(s, f, src, a, dst, whole_bytes)
            }
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

/// The iterator of [`Io::chunks`].
pub enum IoChunks<'a, T> {
    /// Pieces of `src` and `dst`.
    OutOfPlace(core::iter::Zip<core::slice::Chunks<'a, T>, core::slice::ChunksMut<'a, T>>),
    /// Pieces of the in-place buffer.
    InPlace(core::slice::ChunksMut<'a, T>),
}

impl<'a, T> Iterator for IoChunks<'a, T> {
    type Item = Io<'a, T>;
    #[inline(always)]
    fn next(&mut self) -> Option<Io<'a, T>> {
        match self {
            IoChunks::OutOfPlace(it) => it.next().map(|(src, dst)| Io::OutOfPlace { src, dst }),
            IoChunks::InPlace(it) => it.next().map(Io::InPlace),
        }
    }
}
