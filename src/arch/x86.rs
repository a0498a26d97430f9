//! x86-64: non-temporal stores for large out-of-place outputs (`vmovntps` and friends).

use core::any::TypeId;

use pulp::Simd;

use crate::element::Element;
use crate::kernels::{Unary, head_len, map};

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
    let is_v4 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>();
    let is_v3 = TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>();
    if !(is_v4 || is_v3) {
        return false;
    }
    let vbytes = core::mem::size_of::<T::V<S>>();
    debug_assert!(vbytes == 64 && is_v4 || vbytes == 32 && is_v3);
    let esize = core::mem::size_of::<T>();
    let head = head_len::<S, T>(dst);
    let lanes = vbytes / esize;
    let body = (dst.len() - head) / lanes * lanes;
    let (dst_head, rest) = dst.split_at_mut(head);
    let (dst_body, dst_tail) = rest.split_at_mut(body);
    let (src_head, rest) = src.split_at(head);
    let (src_body, src_tail) = rest.split_at(body);
    map(s, f, src_head, dst_head);

    let (zs, _) = T::as_simd::<S>(src_body);
    let out = dst_body.as_mut_ptr().cast::<T::V<S>>();
    for (i, z) in zs.iter().enumerate() {
        let y = f.simd(s, *z);
        // SAFETY: `out.add(i)` is within `dst_body` (`zs` has `body / lanes` vectors and
        // `dst_body` holds exactly `body` elements) and is `vbytes`-aligned, because
        // `dst_body` starts on a `vbytes` boundary and every vector is `vbytes` long. The
        // instruction is available: `S` is `V4` (AVX-512F, checked when the token was made)
        // for 64-byte vectors, or `V3` (AVX) for 32-byte ones.
        unsafe {
            if vbytes == 64 {
                core::arch::x86_64::_mm512_stream_si512(
                    out.add(i).cast(),
                    core::mem::transmute_copy::<T::V<S>, core::arch::x86_64::__m512i>(&y),
                );
            } else {
                core::arch::x86_64::_mm256_stream_si256(
                    out.add(i).cast(),
                    core::mem::transmute_copy::<T::V<S>, core::arch::x86_64::__m256i>(&y),
                );
            }
        }
    }
    // SAFETY: `sfence` is SSE, part of x86-64's baseline. It orders the streaming stores
    // before any later store, so the output is visible like ordinary stores to other threads.
    unsafe { core::arch::x86_64::_mm_sfence() };
    map(s, f, src_tail, dst_tail);
    true
}
