//! x86-64: non-temporal stores for large out-of-place outputs (`vmovntps` and friends).

use core::any::TypeId;

use pulp::Simd;

use crate::element::Element;
use crate::kernels::{Unary, WithSlope, head_len, map, map_with_slope};

/// Whether `S` has non-temporal stores of its vector width here (pulp's `V3` or `V4`).
#[inline(always)]
fn streamable<S: Simd>() -> bool {
    TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
        || TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>()
}

/// `(head, body)`: elements before the first vector-aligned address of `dst`, then the number
/// of elements in whole aligned vectors after it.
#[inline(always)]
fn plan<S: Simd, T: Element>(dst: &[T]) -> (usize, usize) {
    let head = head_len::<S, T>(dst);
    let lanes = T::lanes::<S>();
    (head, (dst.len() - head) / lanes * lanes)
}

/// `dst[i] = f(src[i])` with the aligned body of `dst` written by non-temporal stores. The
/// caller issues [`super::stream_fence`] once after its last piece (one `sfence` per piece would
/// cost more than the stores save when a kernel streams many short pieces). The unaligned head and the tail go through the generic [`map`]. Returns `false`
/// (and does nothing) when `S` is not an x86 SIMD token, so the caller falls back.
#[inline(always)]
pub fn map_streaming<S: Simd, T: Element, F: Unary<T>>(
    s: S,
    f: F,
    src: &[T],
    dst: &mut [T],
) -> bool {
    if !streamable::<S>() {
        return false;
    }
    let (head, body) = plan::<S, T>(dst);
    let (dst_head, rest) = dst.split_at_mut(head);
    let (dst_body, dst_tail) = rest.split_at_mut(body);
    let (src_head, rest) = src.split_at(head);
    let (src_body, src_tail) = rest.split_at(body);
    map(s, f, src_head, dst_head);
    let (zs, _) = T::as_simd::<S>(src_body);
    let out = dst_body.as_mut_ptr().cast::<T::SV<S>>();
    for (i, z) in zs.iter().enumerate() {
        // SAFETY: `streamable` holds; `out.add(i)` is within `dst_body` (`zs` has exactly
        // `body / lanes` vectors) and aligned, since `dst_body` starts on a vector boundary.
        unsafe { stream::<S, _>(out.add(i), f.simd_stored(s, *z)) };
    }
    map(s, f, src_tail, dst_tail);
    true
}

/// `dst[i] = f(src[i], a[i])` as [`map_streaming`] (PReLU with a slope stream).
#[inline(always)]
pub fn map_with_slope_streaming<S: Simd, T: Element, F: WithSlope<T>>(
    s: S,
    f: F,
    src: &[T],
    a: &[T],
    dst: &mut [T],
) -> bool {
    if !streamable::<S>() {
        return false;
    }
    let (head, body) = plan::<S, T>(dst);
    let (dst_head, rest) = dst.split_at_mut(head);
    let (dst_body, dst_tail) = rest.split_at_mut(body);
    let (src_head, rest) = src.split_at(head);
    let (src_body, src_tail) = rest.split_at(body);
    let (a_head, rest) = a.split_at(head);
    let (a_body, a_tail) = rest.split_at(body);
    map_with_slope(s, f, src_head, a_head, dst_head);
    let (zs, _) = T::as_simd::<S>(src_body);
    let (avs, _) = T::as_simd::<S>(a_body);
    let out = dst_body.as_mut_ptr().cast::<T::SV<S>>();
    for (i, (z, av)) in zs.iter().zip(avs).enumerate() {
        // SAFETY: as in `map_streaming`.
        unsafe {
            stream::<S, _>(
                out.add(i),
                T::store(s, f.simd(s, T::load(s, *z), T::load(s, *av))),
            )
        };
    }
    map_with_slope(s, f, src_tail, a_tail, dst_tail);
    true
}

/// Whether `S` is an x86 token with an even/odd split (AVX-512 `vpermt2ps`/`vpermt2pd`, or
/// AVX2 lane permutes).
#[inline(always)]
pub fn has_split_even_odd<S: Simd>() -> bool {
    TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
        || TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>()
}

/// See [`crate::arch::split_even_odd`]. AVX-512: one two-source permute per output
/// (`vpermt2ps`/`vpermt2pd`). AVX2: an in-lane permute of each input, then 128-bit halves
/// combined (`vpermps` + `vperm2f128`, `vpermpd` + `vperm2f128`).
#[inline(always)]
pub fn split_even_odd<S: Simd, T: Element>(_s: S, a: T::V<S>, b: T::V<S>) -> (T::V<S>, T::V<S>) {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    let is_v4 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>();
    let is_v3 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>();
    let f32_ = size_of::<T>() == 4;
    // SAFETY (all intrinsics): `S` is `V4` (AVX-512F present, checked when the token was made)
    // for the 512-bit ones and `V3` (AVX2) for the 256-bit ones; `transmute_copy` converts
    // between pulp's vector types and the `core::arch` ones of the same size (64 or 32 bytes,
    // checked by the vector width of the token).
    unsafe {
        if is_v4 && f32_ {
            let (a, b): (__m512, __m512) = (tc(&a), tc(&b));
            let ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            let io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            (
                tc(&_mm512_permutex2var_ps(a, ie, b)),
                tc(&_mm512_permutex2var_ps(a, io, b)),
            )
        } else if is_v4 {
            let (a, b): (__m512d, __m512d) = (tc(&a), tc(&b));
            let ie = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
            let io = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
            (
                tc(&_mm512_permutex2var_pd(a, ie, b)),
                tc(&_mm512_permutex2var_pd(a, io, b)),
            )
        } else if is_v3 && f32_ {
            let (a, b): (__m256, __m256) = (tc(&a), tc(&b));
            let p = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
            let (pa, pb) = (
                _mm256_permutevar8x32_ps(a, p),
                _mm256_permutevar8x32_ps(b, p),
            );
            (
                tc(&_mm256_permute2f128_ps::<0x20>(pa, pb)),
                tc(&_mm256_permute2f128_ps::<0x31>(pa, pb)),
            )
        } else if is_v3 {
            let (a, b): (__m256d, __m256d) = (tc(&a), tc(&b));
            let (pa, pb) = (
                _mm256_permute4x64_pd::<0b11_01_10_00>(a),
                _mm256_permute4x64_pd::<0b11_01_10_00>(b),
            );
            (
                tc(&_mm256_permute2f128_pd::<0x20>(pa, pb)),
                tc(&_mm256_permute2f128_pd::<0x31>(pa, pb)),
            )
        } else {
            unreachable!("split_even_odd on a token without it")
        }
    }
}

/// See [`crate::arch::split_in_block`]. AVX-512: `vshufps` `0x88`/`0xDD` (`f32`),
/// `vunpcklpd`/`vunpckhpd` (`f64`); AVX2 the same on 256 bits. Single-cycle in-lane shuffles,
/// where [`split_even_odd`] needs two-source permutes.
#[inline(always)]
pub fn split_in_block<S: Simd, T: Element>(a: T::V<S>, b: T::V<S>) -> (T::V<S>, T::V<S>) {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    let is_v4 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>();
    let is_v3 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>();
    let f32_ = size_of::<T>() == 4;
    // SAFETY: as in `split_even_odd` (`V4`: AVX-512F, 64-byte vectors; `V3`: AVX, 32 bytes).
    unsafe {
        if is_v4 && f32_ {
            let (a, b): (__m512, __m512) = (tc(&a), tc(&b));
            (
                tc(&_mm512_shuffle_ps::<0x88>(a, b)),
                tc(&_mm512_shuffle_ps::<0xDD>(a, b)),
            )
        } else if is_v4 {
            let (a, b): (__m512d, __m512d) = (tc(&a), tc(&b));
            (tc(&_mm512_unpacklo_pd(a, b)), tc(&_mm512_unpackhi_pd(a, b)))
        } else if is_v3 && f32_ {
            let (a, b): (__m256, __m256) = (tc(&a), tc(&b));
            (
                tc(&_mm256_shuffle_ps::<0x88>(a, b)),
                tc(&_mm256_shuffle_ps::<0xDD>(a, b)),
            )
        } else if is_v3 {
            let (a, b): (__m256d, __m256d) = (tc(&a), tc(&b));
            (tc(&_mm256_unpacklo_pd(a, b)), tc(&_mm256_unpackhi_pd(a, b)))
        } else {
            unreachable!("split_in_block on a token without it")
        }
    }
}

/// See [`crate::arch::split_blocks`]. AVX-512: `vshuff32x4`/`vshuff64x2` `0x88`/`0xDD`;
/// AVX2: `vperm2f128` `0x20`/`0x31`.
#[inline(always)]
pub fn split_blocks<S: Simd, T: Element>(a: T::V<S>, b: T::V<S>) -> (T::V<S>, T::V<S>) {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    let is_v4 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>();
    let is_v3 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>();
    // SAFETY: as in `split_even_odd`; 128-bit block moves are the same for any lane type.
    unsafe {
        if is_v4 {
            let (a, b): (__m512, __m512) = (tc(&a), tc(&b));
            (
                tc(&_mm512_shuffle_f32x4::<0x88>(a, b)),
                tc(&_mm512_shuffle_f32x4::<0xDD>(a, b)),
            )
        } else if is_v3 {
            let (a, b): (__m256, __m256) = (tc(&a), tc(&b));
            (
                tc(&_mm256_permute2f128_ps::<0x20>(a, b)),
                tc(&_mm256_permute2f128_ps::<0x31>(a, b)),
            )
        } else {
            unreachable!("split_blocks on a token without it")
        }
    }
}

/// See [`crate::arch::zip_in_block`]: `vunpcklps`/`vunpckhps` (`vunpcklpd`/`vunpckhpd`), on
/// 512 or 256 bits.
#[inline(always)]
pub fn zip_in_block<S: Simd, T: Element>(e: T::V<S>, o: T::V<S>) -> (T::V<S>, T::V<S>) {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    let is_v4 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>();
    let is_v3 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>();
    let f32_ = size_of::<T>() == 4;
    // SAFETY: as in `split_even_odd`.
    unsafe {
        if is_v4 && f32_ {
            let (e, o): (__m512, __m512) = (tc(&e), tc(&o));
            (tc(&_mm512_unpacklo_ps(e, o)), tc(&_mm512_unpackhi_ps(e, o)))
        } else if is_v4 {
            let (e, o): (__m512d, __m512d) = (tc(&e), tc(&o));
            (tc(&_mm512_unpacklo_pd(e, o)), tc(&_mm512_unpackhi_pd(e, o)))
        } else if is_v3 && f32_ {
            let (e, o): (__m256, __m256) = (tc(&e), tc(&o));
            (tc(&_mm256_unpacklo_ps(e, o)), tc(&_mm256_unpackhi_ps(e, o)))
        } else if is_v3 {
            let (e, o): (__m256d, __m256d) = (tc(&e), tc(&o));
            (tc(&_mm256_unpacklo_pd(e, o)), tc(&_mm256_unpackhi_pd(e, o)))
        } else {
            unreachable!("zip_in_block on a token without it")
        }
    }
}

/// See [`crate::arch::zip_blocks`]. AVX-512: `vpermt2ps` by 128-bit blocks; AVX2:
/// `vperm2f128` `0x20`/`0x31`.
#[inline(always)]
pub fn zip_blocks<S: Simd, T: Element>(e: T::V<S>, o: T::V<S>) -> (T::V<S>, T::V<S>) {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    let is_v4 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>();
    let is_v3 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>();
    // SAFETY: as in `split_even_odd`; block moves are the same for any lane type.
    unsafe {
        if is_v4 {
            let (e, o): (__m512, __m512) = (tc(&e), tc(&o));
            let lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
            let hi =
                _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
            (
                tc(&_mm512_permutex2var_ps(e, lo, o)),
                tc(&_mm512_permutex2var_ps(e, hi, o)),
            )
        } else if is_v3 {
            let (e, o): (__m256, __m256) = (tc(&e), tc(&o));
            (
                tc(&_mm256_permute2f128_ps::<0x20>(e, o)),
                tc(&_mm256_permute2f128_ps::<0x31>(e, o)),
            )
        } else {
            unreachable!("zip_blocks on a token without it")
        }
    }
}

/// See [`crate::arch::zip_even_odd`]. AVX-512: `vpermt2ps`/`vpermt2pd`; AVX2: in-lane unpacks,
/// then 128-bit halves combined.
#[inline(always)]
pub fn zip_even_odd<S: Simd, T: Element>(_s: S, e: T::V<S>, o: T::V<S>) -> (T::V<S>, T::V<S>) {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    let is_v4 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>();
    let is_v3 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>();
    let f32_ = size_of::<T>() == 4;
    // SAFETY: as in `split_even_odd`.
    unsafe {
        if is_v4 && f32_ {
            let (e, o): (__m512, __m512) = (tc(&e), tc(&o));
            let il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            let ih =
                _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            (
                tc(&_mm512_permutex2var_ps(e, il, o)),
                tc(&_mm512_permutex2var_ps(e, ih, o)),
            )
        } else if is_v4 {
            let (e, o): (__m512d, __m512d) = (tc(&e), tc(&o));
            let il = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
            let ih = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
            (
                tc(&_mm512_permutex2var_pd(e, il, o)),
                tc(&_mm512_permutex2var_pd(e, ih, o)),
            )
        } else if is_v3 && f32_ {
            let (e, o): (__m256, __m256) = (tc(&e), tc(&o));
            let (l, h) = (_mm256_unpacklo_ps(e, o), _mm256_unpackhi_ps(e, o));
            (
                tc(&_mm256_permute2f128_ps::<0x20>(l, h)),
                tc(&_mm256_permute2f128_ps::<0x31>(l, h)),
            )
        } else if is_v3 {
            let (e, o): (__m256d, __m256d) = (tc(&e), tc(&o));
            let (l, h) = (_mm256_unpacklo_pd(e, o), _mm256_unpackhi_pd(e, o));
            (
                tc(&_mm256_permute2f128_pd::<0x20>(l, h)),
                tc(&_mm256_permute2f128_pd::<0x31>(l, h)),
            )
        } else {
            unreachable!("zip_even_odd on a token without it")
        }
    }
}

/// See [`crate::arch::stream`].
///
/// # Safety
/// `S` is `V4` or `V3`; `V` is one register of `S` (64 bytes on `V4`, 32 on `V3`; anything
/// else panics); `dst` is valid for writes and aligned to the vector size.
#[inline(always)]
pub unsafe fn stream<S: Simd, V: Copy>(dst: *mut V, v: V) {
    let is_v4 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>();
    // SAFETY: the caller guarantees the token (AVX-512F for the 64-byte store, which is only
    // taken on `V4`; AVX for the 32-byte one) and an aligned, writable `dst`; the transmutes
    // are between equal-sized vectors (checked).
    unsafe {
        if is_v4 && size_of::<V>() == 64 {
            core::arch::x86_64::_mm512_stream_si512(
                dst.cast(),
                core::mem::transmute_copy::<V, core::arch::x86_64::__m512i>(&v),
            );
        } else {
            assert_eq!(
                size_of::<V>(),
                32,
                "a streaming store of one whole register"
            );
            core::arch::x86_64::_mm256_stream_si256(
                dst.cast(),
                core::mem::transmute_copy::<V, core::arch::x86_64::__m256i>(&v),
            );
        }
    }
}

/// See [`crate::arch::gather`]: `vgatherdps` / `vgatherqpd` (AVX-512 and AVX2).
///
/// # Safety
/// `S` is `V4` or `V3`; `base + offsets[l]` is readable for every lane `l`; every offset fits
/// an `i32` (`f32`) or `i64` (`f64`).
#[inline(always)]
pub unsafe fn gather<S: Simd, T: Element>(base: *const T, offsets: T::U<S>) -> T::V<S> {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    let is_v4 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>();
    let f32_ = size_of::<T>() == 4;
    // SAFETY: forwarded from the caller (token, readable lanes); the transmutes are between
    // equal-sized vector types (the index vector has the lane width of the data vector).
    unsafe {
        if is_v4 && f32_ {
            tc(&_mm512_i32gather_ps::<4>(tc(&offsets), base.cast()))
        } else if is_v4 {
            tc(&_mm512_i64gather_pd::<8>(tc(&offsets), base.cast()))
        } else if f32_ {
            tc(&_mm256_i32gather_ps::<4>(base.cast(), tc(&offsets)))
        } else {
            tc(&_mm256_i64gather_pd::<8>(base.cast(), tc(&offsets)))
        }
    }
}

/// Whether [`permute2`] exists for `S` (AVX-512 only: `vpermt2ps`/`vpermt2pd`).
#[inline(always)]
pub fn has_permute2<S: Simd>() -> bool {
    TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
}

/// Lane `l` of the result is lane `idx[l] mod 2 lanes` of `a ++ b` (`vpermt2ps`/`vpermt2pd`).
/// Only called when [`has_permute2`] is true.
#[inline(always)]
pub fn permute2<S: Simd, T: Element>(a: T::V<S>, idx: T::U<S>, b: T::V<S>) -> T::V<S> {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    assert!(has_permute2::<S>());
    // SAFETY: `S` is `V4` (asserted; AVX-512F checked when the token was made); the transmutes
    // are between 64-byte vectors.
    unsafe {
        if size_of::<T>() == 4 {
            tc(&_mm512_permutex2var_ps(tc(&a), tc(&idx), tc(&b)))
        } else {
            tc(&_mm512_permutex2var_pd(tc(&a), tc(&idx), tc(&b)))
        }
    }
}

/// Maxout backward (overwrite) at `k = K` (8 or 16) on one vector of `dy`, 16 groups of `f32`
/// or 8 of `f64` (AVX-512: `S` is `V4`; only called when [`has_permute2`] is true): lane `l` of
/// output vector `j` is `d[pick[j][l]]` where its position in its group is the index
/// `iv[pick[j][l]]` of that group, else `+0`. The hits are one one-hot mask, `K` bits per group
/// (`1 << iv[g]` by a shift, narrowed to bytes or words by one `vpmov*`, moved to general
/// registers), and each output vector is one zero-masked permute under its lanes' bits of it. `pick[j][l]`
/// must be `(j lanes + l) / K` and every index below `K` (the caller validated them).
#[inline(always)]
pub fn expand_one_hot<S: Simd, T: Element, const K: usize>(
    d: T::V<S>,
    iv: T::U<S>,
    pick: &[T::U<S>; K],
) -> [T::V<S>; K] {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    assert!(has_permute2::<S>() && T::NATIVE && size_of::<T::V<S>>() == 64);
    assert!(K == 8 || K == 16);
    // SAFETY: `S` is `V4` (asserted; AVX-512 F/BW/DQ/VL checked when the token was made), in
    // whose region this inlines; `T` is `f32` or `f64` (native, asserted) with 64-byte
    // vectors (asserted), so every transmute is between 64-byte vectors.
    unsafe {
        // The one-hot mask, bit `g K + p` for position `p` of group `g`, in general registers
        // (`vmovq`/`vpextrq`: a round trip through memory measured slower), 64 bits a word.
        let mut w = [0u64; 4];
        if size_of::<T>() == 4 {
            let one_hot = _mm512_sllv_epi32(_mm512_set1_epi32(1), tc(&iv));
            let (lo, hi) = if K == 8 {
                (_mm512_cvtepi32_epi8(one_hot), _mm_setzero_si128())
            } else {
                let x = _mm512_cvtepi32_epi16(one_hot);
                (_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x))
            };
            w = [
                _mm_cvtsi128_si64(lo) as u64,
                _mm_extract_epi64::<1>(lo) as u64,
                _mm_cvtsi128_si64(hi) as u64,
                _mm_extract_epi64::<1>(hi) as u64,
            ];
        } else {
            let one_hot = _mm512_sllv_epi64(_mm512_set1_epi64(1), tc(&iv));
            let x = if K == 8 {
                _mm512_cvtepi64_epi8(one_hot)
            } else {
                _mm512_cvtepi64_epi16(one_hot)
            };
            w[0] = _mm_cvtsi128_si64(x) as u64;
            if K == 16 {
                w[1] = _mm_extract_epi64::<1>(x) as u64;
            }
        }
        let lanes = 64 / size_of::<T>();
        let mut out: [T::V<S>; K] = tc(&[d; K]);
        // (A loop, not `array::from_fn`: closures do not inherit the target features.)
        for (j, o) in out.iter_mut().enumerate() {
            let bit = j * lanes;
            let m = w[bit / 64] >> (bit % 64);
            *o = if size_of::<T>() == 4 {
                tc(&_mm512_maskz_permutexvar_ps(m as u16, tc(&pick[j]), tc(&d)))
            } else {
                tc(&_mm512_maskz_permutexvar_pd(m as u8, tc(&pick[j]), tc(&d)))
            };
        }
        out
    }
}

/// Whether some lane of `v` is NaN, by `vcmpps` + `vmovmskps` on AVX2 (pulp's generic mask
/// test scans the lanes one by one there); `None` for other tokens (the caller's generic test
/// is already a single mask test on AVX-512).
#[inline(always)]
pub fn any_nan<S: Simd, T: Element>(v: T::V<S>) -> Option<bool> {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    if TypeId::of::<S>() != TypeId::of::<pulp::x86::V3>() {
        return None;
    }
    // SAFETY: `S` is `V3` (AVX checked when the token was made); 32-byte transmutes.
    unsafe {
        Some(if size_of::<T>() == 4 {
            let a: __m256 = tc(&v);
            _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_UNORD_Q>(a, a)) != 0
        } else {
            let a: __m256d = tc(&v);
            _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_UNORD_Q>(a, a)) != 0
        })
    }
}

/// See [`crate::arch::narrow_indices`]: AVX-512 `vpmovqd` (8 lanes). `false` for other tokens
/// (nothing written): on AVX2 a `vpermd` of the even halves measured slower than lane by lane
/// (64 Ki `f64` interleaved `k` = 4: 0.47x -> 0.43x memcpy).
#[inline(always)]
pub fn narrow_indices<S: Simd, V: Copy>(out: &mut [u32], v: V) -> bool {
    use core::arch::x86_64::*;
    use core::mem::transmute_copy as tc;
    if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>() && size_of::<V>() == 64 {
        assert!(out.len() == 8);
        // SAFETY: `S` is `V4` (AVX-512F, checked when the token was made); `V` is a 64-byte
        // vector (checked); `out` holds 8 `u32`, the 32 bytes written (unaligned store).
        unsafe {
            let n = _mm512_cvtepi64_epi32(tc::<V, __m512i>(&v));
            _mm256_storeu_si256(out.as_mut_ptr().cast(), n);
        }
        true
    } else {
        false
    }
}
