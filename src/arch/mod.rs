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
    map_part_of(s, f, src, dst, core::mem::size_of_val(dst))
}

/// [`map_large`] on a piece of an output of `whole_bytes` bytes: whether to stream is decided by
/// the size of the whole output, not of the piece (PReLU's channel runs are pieces).
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
