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

/// Stores `v` at `ptr` with a non-temporal store.
///
/// # Safety
/// `streamable::<S>()` is true (so a token of `S` exists: the CPU has AVX, and AVX-512F for
/// 64-byte vectors), and `ptr` is valid for writes and aligned to the vector's size.
#[inline(always)]
unsafe fn stream<S: Simd, T: Element>(ptr: *mut T::V<S>, v: T::V<S>) {
    use core::arch::x86_64::{__m256i, __m512i, _mm256_stream_si256, _mm512_stream_si512};
    // SAFETY: the caller's contract; `transmute_copy` reads exactly the vector's bytes, which
    // are plain data of the same size as the intrinsic's type.
    unsafe {
        if core::mem::size_of::<T::V<S>>() == 64 {
            _mm512_stream_si512(
                ptr.cast(),
                core::mem::transmute_copy::<T::V<S>, __m512i>(&v),
            );
        } else {
            _mm256_stream_si256(
                ptr.cast(),
                core::mem::transmute_copy::<T::V<S>, __m256i>(&v),
            );
        }
    }
}

/// `(head, body)`: elements before the first vector-aligned address of `dst`, then the number
/// of elements in whole aligned vectors after it.
#[inline(always)]
fn plan<S: Simd, T: Element>(dst: &[T]) -> (usize, usize) {
    let head = head_len::<S, T>(dst);
    let lanes = T::lanes::<S>();
    (head, (dst.len() - head) / lanes * lanes)
}

/// Orders the streaming stores before any later store (`sfence`, SSE: x86-64 baseline), so
/// the output is visible like ordinary stores to other threads.
#[inline(always)]
fn fence() {
    // SAFETY: `sfence` is part of x86-64's baseline instruction set and has no operands.
    unsafe { core::arch::x86_64::_mm_sfence() };
}

/// `dst[i] = f(src[i])` with the aligned body of `dst` written by non-temporal stores, then an
/// `sfence`. The unaligned head and the tail go through the generic [`map`]. Returns `false`
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
    let out = dst_body.as_mut_ptr().cast::<T::V<S>>();
    for (i, z) in zs.iter().enumerate() {
        // SAFETY: `streamable` holds; `out.add(i)` is within `dst_body` (`zs` has exactly
        // `body / lanes` vectors) and aligned, since `dst_body` starts on a vector boundary.
        unsafe { stream::<S, T>(out.add(i), f.simd(s, *z)) };
    }
    fence();
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
    let out = dst_body.as_mut_ptr().cast::<T::V<S>>();
    for (i, (z, av)) in zs.iter().zip(avs).enumerate() {
        // SAFETY: as in `map_streaming`.
        unsafe { stream::<S, T>(out.add(i), f.simd(s, *z, *av)) };
    }
    fence();
    map_with_slope(s, f, src_tail, a_tail, dst_tail);
    true
}
