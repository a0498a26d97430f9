//! ISA-specific pieces, used only where an instruction of one ISA makes a measured difference.
//!
//! Each piece sits beside the generic kernel it speeds up and is chosen at compile time from
//! the pulp token type, so the generic kernel stays the single definition of the arithmetic.

#[cfg(target_arch = "x86_64")]
pub mod x86;

/// Whether `S` is one of pulp's x86 SIMD tokens (AVX2 or AVX-512), whose `max` is `maxps`/`maxpd`.
/// A compile-time constant after monomorphisation.
#[inline(always)]
pub fn is_x86_simd<S: pulp::Simd>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use core::any::TypeId;
        TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>()
            || TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Out-of-place element-wise outputs at least this large (in bytes) are written with
/// non-temporal (streaming) stores on x86, which skip the read-for-ownership of the output's
/// cache lines. Below it the output is likely to be read again soon from cache, and streaming
/// stores are slower. Measured on AMD Zen 4 (32 MiB L3), `relu` `f32` on AVX-512 with
/// streaming stores against the naive loop, `--sizes 256Ki,1Mi,2Mi,4Mi,64Mi` of the report:
/// 0.55x at 256 Ki and 1 Mi elements, 0.77x at 2 Mi (8 MiB output), 1.34x at 4 Mi (16 MiB) and
/// about 1.3x at 64 Mi; hence 16 MiB (input plus output no longer fit in L3).
pub const STREAM_MIN_BYTES: usize = 16 << 20;

/// `dst[i] = f(src[i])` with streaming stores where the ISA has them and `dst` is large;
/// otherwise the generic [`crate::kernels::map`]. Returns nothing; same results bit for bit
/// (only the store instruction differs).
#[inline(always)]
pub fn map_large<S: pulp::Simd, T: crate::Element, F: crate::kernels::Unary<T>>(
    s: S,
    f: F,
    src: &[T],
    dst: &mut [T],
) {
    let bytes = core::mem::size_of_val(dst);
    map_part_of(s, f, src, dst, bytes);
    if bytes >= STREAM_MIN_BYTES {
        stream_fence();
    }
}

/// [`map_large`] on a piece of an output of `whole_bytes` bytes: whether to stream is decided by
/// the size of the whole output, not of the piece (PReLU's channel runs are pieces). The caller
/// calls [`stream_fence`] after the last piece.
#[inline(always)]
pub fn map_part_of<S: pulp::Simd, T: crate::Element, F: crate::kernels::Unary<T>>(
    s: S,
    f: F,
    src: &[T],
    dst: &mut [T],
    whole_bytes: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if whole_bytes >= STREAM_MIN_BYTES && x86::map_streaming(s, f, src, dst) {
            return;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = whole_bytes;
    crate::kernels::map(s, f, src, dst)
}

/// [`map_part_of`] with a slope stream: `dst[i] = f(src[i], a[i])`, streaming when the whole
/// output is at least [`STREAM_MIN_BYTES`].
#[inline(always)]
pub fn map_with_slope_part_of<S: pulp::Simd, T: crate::Element, F: crate::kernels::WithSlope<T>>(
    s: S,
    f: F,
    src: &[T],
    a: &[T],
    dst: &mut [T],
    whole_bytes: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if whole_bytes >= STREAM_MIN_BYTES && x86::map_with_slope_streaming(s, f, src, a, dst) {
            return;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = whole_bytes;
    crate::kernels::map_with_slope(s, f, src, a, dst)
}

/// Whether [`split_even_odd`] has an in-register implementation for `S` and `T` (AVX-512 and
/// AVX2; elsewhere maxout's interleaved kernel transposes through a stack buffer).
#[inline(always)]
pub fn has_split_even_odd<S: pulp::Simd, T: crate::Element>() -> bool {
    // Register permutes of the stored lanes: not for the half formats, whose vectors are
    // pairs of widened `f32` vectors.
    #[cfg(target_arch = "x86_64")]
    {
        T::NATIVE && x86::has_split_even_odd::<S>()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The even-position and odd-position elements of the `2 * lanes` elements `a ++ b`, each in
/// order: `([a0, a2, .., b0, b2, ..], [a1, a3, .., b1, b3, ..])`. Only called when
/// [`has_split_even_odd`] is true (panics otherwise).
#[inline(always)]
pub fn split_even_odd<S: pulp::Simd, T: crate::Element>(
    s: S,
    a: T::V<S>,
    b: T::V<S>,
) -> (T::V<S>, T::V<S>) {
    #[cfg(target_arch = "x86_64")]
    {
        x86::split_even_odd::<S, T>(s, a, b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (s, a, b);
        unreachable!("no in-register even/odd split on this architecture")
    }
}

/// Within each 128-bit block of `a` and of `b`, the even-position and the odd-position
/// elements: per block, `([a0, a2, b0, b2], [a1, a3, b1, b3])` for `f32`, `([a0, b0], [a1,
/// b1])` for `f64`. Only called when [`has_split_even_odd`] is true.
#[inline(always)]
pub fn split_in_block<S: pulp::Simd, T: crate::Element>(
    a: T::V<S>,
    b: T::V<S>,
) -> (T::V<S>, T::V<S>) {
    #[cfg(target_arch = "x86_64")]
    {
        x86::split_in_block::<S, T>(a, b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (a, b);
        unreachable!("no in-block split on this architecture")
    }
}

/// The even-numbered and the odd-numbered 128-bit blocks of `a ++ b`, each in order:
/// `([A0, A2, B0, B2], [A1, A3, B1, B3])` on AVX-512, `([A0, B0], [A1, B1])` on AVX2. Only
/// called when [`has_split_even_odd`] is true.
#[inline(always)]
pub fn split_blocks<S: pulp::Simd, T: crate::Element>(
    a: T::V<S>,
    b: T::V<S>,
) -> (T::V<S>, T::V<S>) {
    #[cfg(target_arch = "x86_64")]
    {
        x86::split_blocks::<S, T>(a, b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (a, b);
        unreachable!("no block split on this architecture")
    }
}

/// The inverse of [`split_in_block`]: per 128-bit block, `([e0, o0, e1, o1], [e2, o2, e3,
/// o3])` for `f32`, `([e0, o0], [e1, o1])` for `f64`. Only where [`has_split_even_odd`].
#[inline(always)]
pub fn zip_in_block<S: pulp::Simd, T: crate::Element>(
    e: T::V<S>,
    o: T::V<S>,
) -> (T::V<S>, T::V<S>) {
    #[cfg(target_arch = "x86_64")]
    {
        x86::zip_in_block::<S, T>(e, o)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (e, o);
        unreachable!("no in-block zip on this architecture")
    }
}

/// The inverse of [`split_blocks`]: by 128-bit blocks, `([E0, O0, E1, O1], [E2, O2, E3, O3])`
/// on AVX-512, `([E0, O0], [E1, O1])` on AVX2. Only where [`has_split_even_odd`].
#[inline(always)]
pub fn zip_blocks<S: pulp::Simd, T: crate::Element>(e: T::V<S>, o: T::V<S>) -> (T::V<S>, T::V<S>) {
    #[cfg(target_arch = "x86_64")]
    {
        x86::zip_blocks::<S, T>(e, o)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (e, o);
        unreachable!("no block zip on this architecture")
    }
}

/// The inverse of [`split_even_odd`]: `(e, o)` zipped into `[e0, o0, e1, o1, ..]` (first
/// vector) and its second half. Only called when [`has_split_even_odd`] is true.
#[inline(always)]
pub fn zip_even_odd<S: pulp::Simd, T: crate::Element>(
    s: S,
    e: T::V<S>,
    o: T::V<S>,
) -> (T::V<S>, T::V<S>) {
    #[cfg(target_arch = "x86_64")]
    {
        x86::zip_even_odd::<S, T>(s, e, o)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (s, e, o);
        unreachable!("no in-register zip on this architecture")
    }
}

/// Whether [`stream`] has a non-temporal store for `S` (x86 AVX2 and AVX-512).
#[inline(always)]
pub fn can_stream<S: pulp::Simd>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::has_split_even_odd::<S>()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A non-temporal store of one vector (it skips the read-for-ownership of the line; for
/// outputs of at least [`STREAM_MIN_BYTES`]). Call [`stream_fence`] after the last one.
///
/// # Safety
/// [`can_stream`] is true for `S`, and `dst` is valid for writes and aligned to the vector size.
#[inline(always)]
pub unsafe fn stream<S: pulp::Simd, V: Copy>(dst: *mut V, v: V) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: forwarded from the caller.
        unsafe { x86::stream::<S, V>(dst, v) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (dst, v);
        unreachable!("no streaming store on this architecture")
    }
}

/// Orders earlier [`stream`] stores before any later store (a no-op where there are none).
#[inline(always)]
pub fn stream_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `sfence` is SSE, part of x86-64's baseline.
    unsafe {
        core::arch::x86_64::_mm_sfence()
    };
}

/// Whether [`gather`] exists for `S` (x86 AVX2 and AVX-512).
#[inline(always)]
pub fn has_gather<S: pulp::Simd>() -> bool {
    can_stream::<S>()
}

/// `base[offsets[l]]` in every lane `l` (a hardware gather).
///
/// # Safety
/// [`has_gather`] is true for `S`; `base + offsets[l]` is readable for every lane; offsets fit
/// an `i32` for `f32` lanes.
#[inline(always)]
pub unsafe fn gather<S: pulp::Simd, T: crate::Element>(
    base: *const T,
    offsets: T::U<S>,
) -> T::V<S> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: forwarded from the caller.
        unsafe { x86::gather::<S, T>(base, offsets) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (base, offsets);
        unreachable!("no gather on this architecture")
    }
}

/// Whether [`permute2`] exists for `S` (AVX-512).
#[inline(always)]
pub fn has_permute2<S: pulp::Simd>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::has_permute2::<S>()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Lane `l` is lane `idx[l] mod 2 lanes` of `a ++ b`. Only called when [`has_permute2`].
#[inline(always)]
pub fn permute2<S: pulp::Simd, T: crate::Element>(a: T::V<S>, idx: T::U<S>, b: T::V<S>) -> T::V<S> {
    #[cfg(target_arch = "x86_64")]
    {
        x86::permute2::<S, T>(a, idx, b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (a, idx, b);
        unreachable!("no two-source permute on this architecture")
    }
}

/// Maxout backward (overwrite) at `k = K` (8 or 16) on one vector of `dy` by zero-masked
/// permutes from a one-hot mask of the indices (AVX-512 only; see `x86::expand_one_hot`). Only
/// called when [`has_permute2`] and `T` is `f32` or `f64`.
#[inline(always)]
pub fn expand_one_hot<S: pulp::Simd, T: crate::Element, const K: usize>(
    d: T::V<S>,
    iv: T::U<S>,
    pick: &[T::U<S>; K],
) -> [T::V<S>; K] {
    #[cfg(target_arch = "x86_64")]
    {
        x86::expand_one_hot::<S, T, K>(d, iv, pick)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (d, iv, pick);
        unreachable!("no one-hot expansion on this architecture")
    }
}

/// Whether some lane of `v` is NaN (a single mask test on every x86 backend).
#[inline(always)]
pub fn any_nan<S: pulp::Simd, T: crate::Element>(s: S, v: T::V<S>) -> bool {
    #[cfg(target_arch = "x86_64")]
    if T::NATIVE
        && let Some(b) = x86::any_nan::<S, T>(v)
    {
        return b;
    }
    T::m_any(s, T::m_not(s, T::v_eq(s, v, v)))
}

/// A hint to bring the cache line holding `src[at]` into the caches (`prefetcht0`), or nothing
/// when `at` is past the end of `src` or the architecture has none here. Never faults, changes
/// no result.
#[inline(always)]
pub fn prefetch<T>(src: &[T], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if at < src.len() {
        // SAFETY: `prefetcht0` is SSE, part of x86-64's baseline; it is a hint that never
        // faults, and `at < src.len()` keeps the address inside `src` all the same.
        unsafe {
            use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(src.as_ptr().add(at).cast::<i8>())
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (src, at);
}

/// Stores the 64-bit index lanes of `v` (each `< 2^32`) as `u32` to `out` (exactly one vector's
/// lanes), in one narrowing instruction where the ISA has one; `false` (nothing written) where
/// it has none here. For `f64`'s `u32` indices.
#[inline(always)]
pub fn narrow_indices<S: pulp::Simd, V: Copy>(out: &mut [u32], v: V) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::narrow_indices::<S, V>(out, v)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (out, v);
        false
    }
}
