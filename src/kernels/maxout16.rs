//! Forward maxout of the half formats ([`half::bf16`], [`half::f16`]) on their 16-bit lanes,
//! on AVX-512 (`V4`): no conversion to `f32`, 32 elements per register.
//!
//! Maxout only compares and selects, so it needs no arithmetic in the format: each element is
//! compared by an order key, a 16-bit signed integer, `|x|` for a positive sign and `-|x|` for
//! a negative one (`|x|` being the bits without the sign). Keys order every non-NaN value as
//! the numbers do, and `-0` and `+0` both have key `0`, so they tie as `SPEC.md` wants. NaNs
//! (`|x|` above the bits of `inf`) are found by one unsigned compare and handled as in
//! [`super::maxout::step`]: a candidate replaces the running best iff the best is not NaN and
//! the candidate is NaN or has a greater key. So the first NaN wins, ties keep the earliest
//! position, and the winner's own bits (signalling NaNs, `-0`) are what is stored.
//!
//! Two drivers, as for `f32`: the planar layout (and `k = 1`) as an element-wise reduction over
//! the `k` planes, 4 registers of 32 groups at a time; and the interleaved layout with `k` = 2,
//! 4, 8, 16 by the same even/odd splits as `maxout::interleaved_pow2`, on 16-bit lanes
//! (`vpermt2w`). Indices are 16-bit lanes (so `k <= 65536`), widened or narrowed to the index
//! type when stored. Other `k`, other ISAs and the interleaved groups left over (fewer than 32)
//! take the `f32` route of `maxout.rs`.

use pulp::Simd;

use crate::element::Element;
use crate::ops::maxout::MaxoutIndex;

/// Whether [`planar`] and [`interleaved_pow2`] run for `S`, `T` and `k`: AVX-512, a half
/// format, and positions that fit 16-bit lanes.
#[inline(always)]
pub fn available<S: Simd, T: Element>(k: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        !T::NATIVE
            && core::mem::size_of::<T>() == 2
            && core::any::TypeId::of::<S>() == core::any::TypeId::of::<pulp::x86::V4>()
            && (1..=1 << 16).contains(&k)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = k;
        false
    }
}

/// The planar layout (and any layout at `k = 1`): `values.len()` groups, piece `j` of group
/// `g` at `z[j * stride + g]`, values to `values`, indices (when `IDX`) to `ix`. Only when
/// [`available`].
#[inline(always)]
pub fn planar<S: Simd, T: Element, I: MaxoutIndex, const IDX: bool>(
    s: S,
    z: &[T],
    stride: usize,
    k: usize,
    values: &mut [T],
    ix: &mut [I],
) {
    assert!(available::<S, T>(k));
    let groups = values.len();
    assert!(groups == 0 || (k - 1) * stride + groups <= z.len());
    assert!(!IDX || ix.len() >= groups);
    #[cfg(target_arch = "x86_64")]
    {
        let _ = s;
        let inf = crate::halves::inf_bits::<T>();
        let mut g = 0;
        while g + 4 * x86::LANES <= groups {
            // SAFETY: `available` said `S` is `V4` (AVX-512 F/BW, in its region); plane `j`'s
            // reads are `z[j * stride + g ..][..128]`, inside `z` since
            // `(k - 1) * stride + g + 128 <= (k - 1) * stride + groups <= z.len()`; the writes
            // are `values[g..][..128]` and `ix[g..][..128]`, inside (checked above).
            unsafe {
                let (zp, vp) = (z.as_ptr().add(g).cast(), values.as_mut_ptr().add(g).cast());
                let ip = ix.as_mut_ptr().wrapping_add(g);
                if x86::planar_block::<I, 4, IDX, true>(zp, stride, k, inf, 128, vp, ip) {
                    x86::planar_block::<I, 4, IDX, false>(zp, stride, k, inf, 128, vp, ip);
                }
            }
            g += 4 * x86::LANES;
        }
        while g < groups {
            let len = x86::LANES.min(groups - g);
            // SAFETY: as above, for `len <= 32` lanes: the masked loads and stores touch only
            // lanes `< len`, all inside the slices.
            unsafe {
                let (zp, vp) = (z.as_ptr().add(g).cast(), values.as_mut_ptr().add(g).cast());
                let ip = ix.as_mut_ptr().wrapping_add(g);
                x86::planar_block::<I, 1, IDX, false>(zp, stride, k, inf, len, vp, ip);
            }
            g += len;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (s, z, stride, k, values, ix);
        unreachable!("maxout16 is x86-only (checked by `available`)");
    }
}

/// Interleaved groups `0 .. 32 * (values.len() / 32)` with `k = K` (2, 4, 8 or 16): group `g`
/// is `z[g * K ..][..K]`. Returns the number of groups done (the caller finishes the rest).
/// Only when [`available`].
#[inline(always)]
pub fn interleaved_pow2<S: Simd, T: Element, I: MaxoutIndex, const K: usize, const IDX: bool>(
    s: S,
    z: &[T],
    values: &mut [T],
    ix: &mut [I],
) -> usize {
    assert!(available::<S, T>(K) && K.is_power_of_two() && (2..=16).contains(&K));
    let groups = values.len();
    assert!(z.len() >= groups * K && (!IDX || ix.len() >= groups));
    #[cfg(target_arch = "x86_64")]
    {
        let _ = s;
        let inf = crate::halves::inf_bits::<T>();
        // SAFETY: `S` is `V4` (checked by `available`).
        let even_first = unsafe { x86::even_first::<K>() };
        let mut g = 0;
        let far = super::maxout::far(z);
        while g + x86::LANES <= groups {
            if far {
                super::maxout::prefetch_ahead(z, g * K, (g + x86::LANES) * K);
            }
            // SAFETY: `V4` as above; the block reads `z[g * K ..][..32 * K]`, inside since
            // `(g + 32) * K <= groups * K <= z.len()`, and writes `values[g..][..32]` and
            // `ix[g..][..32]`, inside (checked above).
            unsafe {
                x86::pow2_block::<I, K, IDX>(
                    z.as_ptr().add(g * K).cast(),
                    inf,
                    &even_first,
                    values.as_mut_ptr().add(g).cast(),
                    ix.as_mut_ptr().wrapping_add(g),
                );
            }
            g += x86::LANES;
        }
        g
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (s, z, values, ix);
        unreachable!("maxout16 is x86-only (checked by `available`)");
    }
}

/// Groups per tile of [`backward_planar`]: the tile's indices, narrowed once to 16-bit lanes,
/// stay in L1 while the `k` planes are written.
#[cfg(target_arch = "x86_64")]
const BACKWARD_TILE: usize = 2048;

/// Planar overwrite backward (and `k = 1`): plane `j` of `dx` is `indices[g] == j ? dy[g] : +0`,
/// on 16-bit lanes (a compare and a zero-masked move; `dy`'s bits as they are). Streaming
/// stores when `nt`. Only when [`available`].
#[inline(always)]
pub fn backward_planar<S: Simd, T: Element, I: MaxoutIndex>(
    s: S,
    dy: &[T],
    indices: &[I],
    k: usize,
    dx: &mut super::maxout::PlanesMut<'_, T>,
    nt: bool,
) {
    assert!(available::<S, T>(k));
    let groups = dy.len();
    assert!(dx.cols() == groups && dx.planes() == k && indices.len() == groups);
    #[cfg(target_arch = "x86_64")]
    {
        let _ = s;
        let mut ibuf = [0u16; BACKWARD_TILE];
        // Planes four (or two) at a time where they share an alignment (the distance between
        // planes is a whole number of vectors): one load of `dy` and of the indices serves four
        // stores. Tiles start on plane 0's vector boundaries (a first tile of its head), so
        // that, where the planes share an alignment, only the first and the last tile have
        // partial vectors. 64 Ki `bf16`, see
        // `super::maxout::backward_planar`.
        let shared = (dx.stride() * size_of::<T>()).is_multiple_of(64);
        let head = if groups > 0 {
            (64 - dx.plane(0).as_ptr() as usize % 64) % 64 / 2
        } else {
            0
        };
        let mut t = 0;
        while t < groups {
            let len = if t == 0 && head > 0 {
                head.min(groups)
            } else {
                BACKWARD_TILE.min(groups - t)
            };
            // Every index is `< k <= 65536` (checked before the kernel), so it fits.
            for (b, &i) in ibuf.iter_mut().zip(&indices[t..t + len]) {
                *b = i.to_u32() as u16;
            }
            let dyt = &dy[t..t + len];
            let mut j = 0;
            macro_rules! rows {
                ($p:literal) => {
                    let outs = dx
                        .planes_at::<$p>(j)
                        .map(|o| o[t..t + len].as_mut_ptr().cast());
                    // SAFETY: `available` said `S` is `V4` (AVX-512 F/BW, in its region);
                    // `dyt`, `ibuf[..len]` and each of `outs` hold `len` elements (the planes
                    // are disjoint rows of `dx`), and the rows share an alignment (`shared`,
                    // or a single row).
                    unsafe {
                        x86::backward_rows::<$p>(
                            dyt.as_ptr().cast(),
                            ibuf.as_ptr(),
                            j as u16,
                            len,
                            outs,
                            nt,
                        );
                    }
                    j += $p;
                };
            }
            while shared && j + 4 <= k {
                rows!(4);
            }
            while shared && j + 2 <= k {
                rows!(2);
            }
            while j < k {
                rows!(1);
            }
            t += len;
        }
        if nt {
            crate::arch::stream_fence();
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (s, nt);
        unreachable!("maxout16 is x86-only (checked by `available`)");
    }
}

/// Interleaved overwrite backward with `k = K` (2, 4, 8 or 16) for groups
/// `0 .. 32 * (dy.len() / 32)`: group `g` of `dx` is `dx[g * K ..][..K]`, `dy[g]` at
/// `indices[g]` and `+0` elsewhere, on 16-bit lanes (`K` = 2: a compare and a zero-masked
/// move per piece, then a perfect shuffle; `K` = 4, 8, 16: one zero-masked permute per output
/// register under a one-hot mask of the indices). Returns the number of groups done
/// (the caller writes the rest). Only when [`available`].
#[inline(always)]
pub fn backward_interleaved_pow2<S: Simd, T: Element, I: MaxoutIndex, const K: usize>(
    s: S,
    dy: &[T],
    indices: &[I],
    dx: &mut [T],
) -> usize {
    assert!(available::<S, T>(K) && K.is_power_of_two() && (2..=16).contains(&K));
    let groups = dy.len();
    assert!(dx.len() == groups * K && indices.len() == groups);
    #[cfg(target_arch = "x86_64")]
    {
        let _ = s;
        let mut g = 0;
        while g + x86::LANES <= groups {
            // SAFETY: `available` said `S` is `V4` (AVX-512 F/BW, in its region); the block
            // reads `dy[g..][..32]` and `indices[g..][..32]` and writes `dx[g * K..][..32 K]`,
            // inside since `g + 32 <= groups` (checked lengths above).
            unsafe {
                let (dy, ix) = (dy.as_ptr().add(g).cast(), indices.as_ptr().add(g));
                let dx = dx.as_mut_ptr().add(g * K).cast();
                if K >= 4 {
                    x86::backward_one_hot_block::<I, K>(dy, ix, dx);
                } else {
                    x86::backward_pow2_block::<I, K>(dy, ix, dx);
                }
            }
            g += x86::LANES;
        }
        g
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (s, dy, indices, dx);
        unreachable!("maxout16 is x86-only (checked by `available`)");
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The AVX-512 code. Every function is `unsafe`: it runs inside pulp's `V4` region (AVX-512
    //! F/BW), which its `#[inline(always)]` callers are compiled into.
    use core::arch::x86_64::*;

    use crate::ops::maxout::MaxoutIndex;

    /// 16-bit lanes per register.
    pub const LANES: usize = 32;

    /// The first `len` lanes (`len <= 32`).
    #[inline(always)]
    fn lanes_mask(len: usize) -> __mmask32 {
        if len >= 32 { !0 } else { (1u32 << len) - 1 }
    }

    /// The order key of each lane (`|x|` or `-|x|`: `-0` and `+0` both `0`) and `|x|`.
    #[inline(always)]
    unsafe fn key_mag(x: __m512i) -> (__m512i, __m512i) {
        // SAFETY: AVX-512 F/BW (the caller's region).
        unsafe {
            let mag = _mm512_and_si512(x, _mm512_set1_epi16(0x7fff));
            let neg = _mm512_movepi16_mask(x);
            (
                _mm512_mask_sub_epi16(mag, neg, _mm512_setzero_si512(), mag),
                mag,
            )
        }
    }

    /// The order key of each lane and whether it is a NaN (`|x| > inf`).
    #[inline(always)]
    unsafe fn classify(x: __m512i, inf: __m512i) -> (__m512i, __mmask32) {
        // SAFETY: AVX-512 F/BW (the caller's region).
        unsafe {
            let (key, mag) = key_mag(x);
            (key, _mm512_cmpgt_epu16_mask(mag, inf))
        }
    }

    /// The fast rule's key: `x` with its magnitude bits flipped where it is negative. Signed
    /// order of these keys is the order of the values, but for `-0` (key `-1`) below `+0` (key
    /// `0`) and the NaNs: positive NaNs above `inf`, negative NaNs below `-1 - inf`. It is its
    /// own inverse (two instructions: `vpsraw`, `vpternlogd`).
    #[inline(always)]
    unsafe fn bit_key(x: __m512i) -> __m512i {
        // SAFETY: AVX-512 F/BW (the caller's region).
        unsafe {
            let sign = _mm512_srai_epi16::<15>(x);
            // x ^ (sign & 0x7fff): truth table 0x78 for (x, sign, 0x7fff).
            _mm512_ternarylogic_epi32::<0x78>(x, sign, _mm512_set1_epi16(0x7fff))
        }
    }

    /// Whether the fast rule's result may differ from the exact one: a lane's best key is a
    /// positive NaN (`> inf`) or `+0` (a `-0` may have come first: they tie), or some candidate
    /// of the lane was a negative NaN (`min < -1 - inf`). Then the caller runs the exact rule.
    #[inline(always)]
    unsafe fn fast_unsure(best: __m512i, min: __m512i, inf: __m512i) -> bool {
        // SAFETY: AVX-512 F/BW (the caller's region).
        unsafe {
            let lim = _mm512_sub_epi16(_mm512_set1_epi16(-1), inf);
            (_mm512_cmpgt_epi16_mask(best, inf)
                | _mm512_cmpeq_epi16_mask(best, _mm512_setzero_si512())
                | _mm512_cmplt_epi16_mask(min, lim))
                != 0
        }
    }

    /// The running best of one register of groups by the exact rule: bits, key, NaN-ness,
    /// position.
    #[derive(Clone, Copy)]
    struct Best {
        bits: __m512i,
        key: __m512i,
        nan: __mmask32,
        at: __m512i,
    }

    impl Best {
        /// The first candidate, at position `at`.
        #[inline(always)]
        unsafe fn first(x: __m512i, inf: __m512i, at: __m512i) -> Best {
            // SAFETY: forwarded.
            let (key, nan) = unsafe { classify(x, inf) };
            Best {
                bits: x,
                key,
                nan,
                at,
            }
        }

        /// The lane rule: `x` (at position `j`, later than every position seen) replaces the
        /// best iff the best is not NaN and `x` is NaN or greater.
        #[inline(always)]
        unsafe fn step<const IDX: bool>(&mut self, x: __m512i, inf: __m512i, j: __m512i) {
            // SAFETY: AVX-512 F/BW (the caller's region).
            unsafe {
                let (key, nan) = classify(x, inf);
                let gt = _mm512_cmpgt_epi16_mask(key, self.key);
                let r = (gt | nan) & !self.nan;
                self.nan |= nan;
                self.bits = _mm512_mask_mov_epi16(self.bits, r, x);
                self.key = _mm512_mask_mov_epi16(self.key, r, key);
                if IDX {
                    self.at = _mm512_mask_mov_epi16(self.at, r, j);
                }
            }
        }
    }

    /// The running best of one register of groups by the fast rule: the greatest bit key (the
    /// earliest on ties), its position, and the least key seen.
    #[derive(Clone, Copy)]
    struct FastBest {
        key: __m512i,
        at: __m512i,
        min: __m512i,
    }

    impl FastBest {
        #[inline(always)]
        unsafe fn first(x: __m512i, at: __m512i) -> FastBest {
            // SAFETY: forwarded.
            let key = unsafe { bit_key(x) };
            FastBest { key, at, min: key }
        }

        /// `x` replaces the best iff its key is greater.
        #[inline(always)]
        unsafe fn step<const IDX: bool>(&mut self, x: __m512i, j: __m512i) {
            // SAFETY: AVX-512 F/BW (the caller's region).
            unsafe {
                let key = bit_key(x);
                self.min = _mm512_min_epi16(self.min, key);
                if IDX {
                    let r = _mm512_cmpgt_epi16_mask(key, self.key);
                    self.key = _mm512_mask_mov_epi16(self.key, r, key);
                    self.at = _mm512_mask_mov_epi16(self.at, r, j);
                } else {
                    self.key = _mm512_max_epi16(self.key, key);
                }
            }
        }
    }

    /// Stores the first `len` lanes of `bits` to `values` and (when `IDX`) of `at` to `ix`,
    /// converted to `I`.
    ///
    /// # Safety
    /// `values[..len]` and (when `IDX`) `ix[..len]` are writable; AVX-512 F/BW.
    #[inline(always)]
    unsafe fn store<I: MaxoutIndex, const IDX: bool>(
        bits: __m512i,
        at: __m512i,
        len: usize,
        values: *mut u16,
        ix: *mut I,
    ) {
        let m = lanes_mask(len);
        // SAFETY: the masked stores write only lanes `< len`, inside the outputs (the caller's
        // guarantee); masked-off lanes are not accessed.
        unsafe {
            _mm512_mask_storeu_epi16(values.cast(), m, bits);
            if IDX {
                match core::mem::size_of::<I>() {
                    1 => _mm256_mask_storeu_epi8(ix.cast(), m, _mm512_cvtepi16_epi8(at)),
                    2 => _mm512_mask_storeu_epi16(ix.cast(), m, at),
                    _ => {
                        let lo = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(at));
                        let hi = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(at));
                        let ix = ix.cast::<u32>();
                        _mm512_mask_storeu_epi32(ix.cast(), m as __mmask16, lo);
                        let m_hi = (m >> 16) as __mmask16;
                        _mm512_mask_storeu_epi32(ix.wrapping_add(16).cast(), m_hi, hi);
                    }
                }
            }
        }
    }

    /// `N` registers of groups (`len` lanes in all: `32 * N`, or `len <= 32` with `N = 1`) of
    /// the planar layout from `z`: plane `j` at `z + j * stride`. With `FAST`, the fast rule,
    /// and nothing stored (returning `true`) if its result may differ: then run the exact rule.
    ///
    /// # Safety
    /// `z[j * stride ..][..len]` readable for `j < k`; `values[..len]`, `ix[..len]` (when
    /// `IDX`) writable; AVX-512 F/BW; `1 <= k <= 65536`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn planar_block<
        I: MaxoutIndex,
        const N: usize,
        const IDX: bool,
        const FAST: bool,
    >(
        z: *const u16,
        stride: usize,
        k: usize,
        inf: u16,
        len: usize,
        values: *mut u16,
        ix: *mut I,
    ) -> bool {
        debug_assert!(len == 32 * N || (N == 1 && len <= 32));
        let m = lanes_mask(len);
        // SAFETY: every load is of `z[j * stride + 32 n ..]`, all 32 lanes inside when
        // `len == 32 N`, masked to the `len` lanes inside otherwise (the caller's guarantee);
        // the stores are `store`'s, within `len`.
        unsafe {
            let inf = _mm512_set1_epi16(inf as i16);
            // (A macro, not a closure: closures do not inherit the target features.)
            macro_rules! load {
                ($p:expr) => {
                    if N == 1 && len < 32 {
                        _mm512_maskz_loadu_epi16(m, $p.cast())
                    } else {
                        _mm512_loadu_si512($p.cast())
                    }
                };
            }
            let zero = _mm512_setzero_si512();
            let l = if N == 1 { len } else { 32 };
            if FAST {
                let mut best = [FastBest::first(zero, zero); N];
                for (n, b) in best.iter_mut().enumerate() {
                    *b = FastBest::first(load!(z.add(32 * n)), zero);
                }
                for j in 1..k {
                    let p = z.add(j * stride);
                    let jv = _mm512_set1_epi16(j as u16 as i16);
                    for (n, b) in best.iter_mut().enumerate() {
                        b.step::<IDX>(load!(p.add(32 * n)), jv);
                    }
                }
                if best.iter().any(|b| fast_unsure(b.key, b.min, inf)) {
                    return true;
                }
                for (n, b) in best.iter().enumerate() {
                    let bits = bit_key(b.key);
                    store::<I, IDX>(bits, b.at, l, values.add(32 * n), ix.wrapping_add(32 * n));
                }
            } else {
                let mut best = [Best::first(zero, inf, zero); N];
                for (n, b) in best.iter_mut().enumerate() {
                    *b = Best::first(load!(z.add(32 * n)), inf, zero);
                }
                for j in 1..k {
                    let p = z.add(j * stride);
                    let jv = _mm512_set1_epi16(j as u16 as i16);
                    for (n, b) in best.iter_mut().enumerate() {
                        b.step::<IDX>(load!(p.add(32 * n)), inf, jv);
                    }
                }
                for (n, b) in best.iter().enumerate() {
                    store::<I, IDX>(b.bits, b.at, l, values.add(32 * n), ix.wrapping_add(32 * n));
                }
            }
            false
        }
    }

    /// `outs[p][v] = ix[v] == j + p ? dy[v] : +0` for `v < len` and each of the `P` rows, the
    /// stores from the first 64-byte boundary of `outs[0]` aligned (streaming ones when `nt`),
    /// a masked head and tail.
    ///
    /// # Safety
    /// `dy[..len]`, `ix[..len]` readable, each `outs[p][..len]` writable (disjoint), all of
    /// `outs` at the same address modulo 64; AVX-512 F/BW.
    #[inline(always)]
    pub unsafe fn backward_rows<const P: usize>(
        dy: *const u16,
        ix: *const u16,
        j: u16,
        len: usize,
        outs: [*mut u16; P],
        nt: bool,
    ) {
        // SAFETY: every access is at `v .. v + 32` with `v + 32 <= len`, or masked to the lanes
        // below `len` (masked-off lanes are not accessed); the aligned and streaming stores
        // are at `outs[p] + v` with `v >= head`, 64-byte aligned since `outs[0] + head` is and
        // the rows share their address modulo 64.
        unsafe {
            let jv: [__m512i; P] =
                core::array::from_fn(|p| _mm512_set1_epi16(j.wrapping_add(p as u16) as i16));
            let head = ((64 - outs[0] as usize % 64) % 64 / 2).min(len);
            if head > 0 {
                let m = lanes_mask(head);
                let d = _mm512_maskz_loadu_epi16(m, dy.cast());
                let i = _mm512_maskz_loadu_epi16(m, ix.cast());
                for p in 0..P {
                    let r = _mm512_maskz_mov_epi16(_mm512_cmpeq_epi16_mask(i, jv[p]), d);
                    _mm512_mask_storeu_epi16(outs[p].cast(), m, r);
                }
            }
            let mut v = head;
            while v + 32 <= len {
                let d = _mm512_loadu_si512(dy.add(v).cast());
                let i = _mm512_loadu_si512(ix.add(v).cast());
                for p in 0..P {
                    let r = _mm512_maskz_mov_epi16(_mm512_cmpeq_epi16_mask(i, jv[p]), d);
                    if nt {
                        _mm512_stream_si512(outs[p].add(v).cast(), r);
                    } else {
                        _mm512_store_si512(outs[p].add(v).cast(), r);
                    }
                }
                v += 32;
            }
            if v < len {
                let m = lanes_mask(len - v);
                let d = _mm512_maskz_loadu_epi16(m, dy.add(v).cast());
                let i = _mm512_maskz_loadu_epi16(m, ix.add(v).cast());
                for p in 0..P {
                    let r = _mm512_maskz_mov_epi16(_mm512_cmpeq_epi16_mask(i, jv[p]), d);
                    _mm512_mask_storeu_epi16(outs[p].add(v).cast(), m, r);
                }
            }
        }
    }

    /// 32 indices from `ix` as 16-bit lanes (each `< 65536`: `k <= 65536`).
    ///
    /// # Safety
    /// `ix[..32]` readable; AVX-512 F/BW.
    #[inline(always)]
    unsafe fn load_indices16<I: MaxoutIndex>(ix: *const I) -> __m512i {
        // SAFETY: the loads read exactly `32 * size_of::<I>()` bytes from `ix`.
        unsafe {
            match core::mem::size_of::<I>() {
                1 => _mm512_cvtepu8_epi16(_mm256_loadu_si256(ix.cast())),
                2 => _mm512_loadu_si512(ix.cast()),
                _ => {
                    let p = ix.cast::<u32>();
                    let lo = _mm512_cvtepi32_epi16(_mm512_loadu_si512(p.cast()));
                    let hi = _mm512_cvtepi32_epi16(_mm512_loadu_si512(p.add(16).cast()));
                    _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
                }
            }
        }
    }

    /// `([a0, b0, a1, b1, .., a15, b15], [a16, b16, .., a31, b31])` on 16-bit lanes: the
    /// inverse of [`split_even_odd`].
    #[inline(always)]
    unsafe fn zip(a: __m512i, b: __m512i) -> (__m512i, __m512i) {
        static LO: [u16; 32] = {
            let mut t = [0u16; 32];
            let mut i = 0;
            while i < 16 {
                t[2 * i] = i as u16;
                t[2 * i + 1] = 32 + i as u16;
                i += 1;
            }
            t
        };
        // SAFETY: AVX-512 BW; `LO` is 64 readable bytes.
        unsafe {
            let lo = _mm512_loadu_si512(LO.as_ptr().cast());
            let hi = _mm512_add_epi16(lo, _mm512_set1_epi16(16));
            (
                _mm512_permutex2var_epi16(a, lo, b),
                _mm512_permutex2var_epi16(a, hi, b),
            )
        }
    }

    /// One block of 32 interleaved groups of `K` pieces of maxout backward (overwrite).
    ///
    /// # Safety
    /// `dy[..32]`, `ix[..32]` readable, `dx[..32 K]` writable; AVX-512 F/BW.
    #[inline(always)]
    pub unsafe fn backward_pow2_block<I: MaxoutIndex, const K: usize>(
        dy: *const u16,
        ix: *const I,
        dx: *mut u16,
    ) {
        // SAFETY: the loads read `dy[..32]` and `ix[..32]`, the stores write `dx[32 i ..][..32]`
        // for `i < K` (the caller's guarantee).
        unsafe {
            let d = _mm512_loadu_si512(dy.cast());
            let iv = load_indices16(ix);
            let mut v = [_mm512_setzero_si512(); K];
            for (j, p) in v.iter_mut().enumerate() {
                let m = _mm512_cmpeq_epi16_mask(iv, _mm512_set1_epi16(j as i16));
                *p = _mm512_maskz_mov_epi16(m, d);
            }
            // log2(K) perfect shuffles: piece `j` of group `l` ends at `32 K`-element offset
            // `l K + j`.
            let mut stages = K;
            while stages > 1 {
                let mut w = v;
                for i in 0..K / 2 {
                    (w[2 * i], w[2 * i + 1]) = zip(v[i], v[K / 2 + i]);
                }
                v = w;
                stages /= 2;
            }
            for (i, x) in v.iter().enumerate() {
                _mm512_storeu_si512(dx.add(32 * i).cast(), *x);
            }
        }
    }

    /// One block of 32 interleaved groups of `K` (4, 8 or 16) pieces of maxout backward
    /// (overwrite) by a one-hot mask: `1 << index` on each group's 16-bit lane (`vpsllvw`;
    /// narrowed to bytes by `vpmovwb` at `K` = 8, two groups to a byte at `K` = 4) is the
    /// block's mask of hits in output order,
    /// so output register `j` (groups `32 j / K ..`) is one zero-masked `vpermw` of `dy` under
    /// its 32 bits: `K` permutes per block instead of `K` compares, `K` masked moves and
    /// `K log2(K) / 2 x 2` permutes of perfect shuffles ([`backward_pow2_block`]).
    ///
    /// # Safety
    /// `dy[..32]`, `ix[..32]` readable (every index below `K`), `dx[..32 K]` writable;
    /// AVX-512 F/BW.
    #[inline(always)]
    pub unsafe fn backward_one_hot_block<I: MaxoutIndex, const K: usize>(
        dy: *const u16,
        ix: *const I,
        dx: *mut u16,
    ) {
        assert!(K == 4 || K == 8 || K == 16);
        // SAFETY: the loads read `dy[..32]` and `ix[..32]`, the stores write `dx[32 j ..][..32]`
        // for `j < K` (the caller's guarantee); `[u16; 32]` and `__m512i` are both 64 plain
        // bytes (the transmute).
        unsafe {
            let d = _mm512_loadu_si512(dy.cast());
            let one_hot = _mm512_sllv_epi16(_mm512_set1_epi16(1), load_indices16(ix));
            // The mask in general registers, 64 bits (two output registers) a word.
            let mut w = [0u64; 8];
            let q = if K == 4 {
                // Two groups' 4 bits to a byte: the low word of each 32-bit lane, or'd with the
                // high word shifted down to bit 4, then narrowed.
                let x = _mm512_or_si512(one_hot, _mm512_srli_epi32::<12>(one_hot));
                let z = _mm_setzero_si128();
                [_mm512_cvtepi32_epi8(x), z, z, z]
            } else if K == 16 {
                [
                    _mm512_castsi512_si128(one_hot),
                    _mm512_extracti32x4_epi32::<1>(one_hot),
                    _mm512_extracti32x4_epi32::<2>(one_hot),
                    _mm512_extracti32x4_epi32::<3>(one_hot),
                ]
            } else {
                let bytes = _mm512_cvtepi16_epi8(one_hot);
                let z = _mm_setzero_si128();
                [
                    _mm256_castsi256_si128(bytes),
                    _mm256_extracti128_si256::<1>(bytes),
                    z,
                    z,
                ]
            };
            for (i, x) in q.iter().enumerate().take(K / 4) {
                w[2 * i] = _mm_cvtsi128_si64(*x) as u64;
                w[2 * i + 1] = _mm_extract_epi64::<1>(*x) as u64;
            }
            // Lane `l` of output register `j` comes from group `32 j / K + l / K`.
            let mut base = [0u16; 32];
            for (l, b) in base.iter_mut().enumerate() {
                *b = (l / K) as u16;
            }
            let base: __m512i = core::mem::transmute(base);
            for j in 0..K {
                let m = (w[j / 2] >> (32 * (j % 2))) as __mmask32;
                let pick = _mm512_add_epi16(base, _mm512_set1_epi16((32 * j / K) as i16));
                let x = _mm512_maskz_permutexvar_epi16(m, pick, d);
                _mm512_storeu_si512(dx.add(32 * j).cast(), x);
            }
        }
    }

    /// Lane `l` of even register `i` after the first split of a block holds piece
    /// `2 (32 i + l) mod K` of its group.
    #[inline(always)]
    pub unsafe fn even_first<const K: usize>() -> [__m512i; K] {
        let mut t = [[0u16; 32]; K];
        for (i, v) in t.iter_mut().enumerate() {
            for (l, x) in v.iter_mut().enumerate() {
                *x = ((2 * (32 * i + l)) % K) as u16;
            }
        }
        // SAFETY: `[u16; 32]` and `__m512i` are both 64 plain bytes.
        t.map(|v| unsafe { core::mem::transmute::<[u16; 32], __m512i>(v) })
    }

    /// `([a0, a2, .., b0, b2, ..], [a1, a3, .., b1, b3, ..])` on 16-bit lanes.
    #[inline(always)]
    unsafe fn split_even_odd(a: __m512i, b: __m512i) -> (__m512i, __m512i) {
        static EVEN: [u16; 32] = {
            let mut t = [0u16; 32];
            let mut i = 0;
            while i < 32 {
                t[i] = 2 * i as u16;
                i += 1;
            }
            t
        };
        // SAFETY: AVX-512 BW; `EVEN` is 64 readable bytes.
        unsafe {
            let even = _mm512_loadu_si512(EVEN.as_ptr().cast());
            let odd = _mm512_add_epi16(even, _mm512_set1_epi16(1));
            (
                _mm512_permutex2var_epi16(a, even, b),
                _mm512_permutex2var_epi16(a, odd, b),
            )
        }
    }

    /// The pair rule: `(o, oa)` (the later pieces) replaces `(e, ea)` iff `e` is not NaN and
    /// `o` is NaN or greater. `FAST`: `e` and `o` are bit keys, and `o` replaces `e` iff it is
    /// greater.
    #[inline(always)]
    unsafe fn pair<const IDX: bool, const FAST: bool>(
        e: __m512i,
        ea: __m512i,
        o: __m512i,
        oa: __m512i,
        inf: __m512i,
    ) -> (__m512i, __m512i) {
        // SAFETY: AVX-512 F/BW (the caller's region).
        unsafe {
            if FAST {
                let at = if IDX {
                    _mm512_mask_mov_epi16(ea, _mm512_cmpgt_epi16_mask(o, e), oa)
                } else {
                    ea
                };
                return (_mm512_max_epi16(e, o), at);
            }
            let (ke, ne) = classify(e, inf);
            let (ko, no) = classify(o, inf);
            let r = (_mm512_cmpgt_epi16_mask(ko, ke) | no) & !ne;
            let at = if IDX {
                _mm512_mask_mov_epi16(ea, r, oa)
            } else {
                ea
            };
            (_mm512_mask_mov_epi16(e, r, o), at)
        }
    }

    /// One block of 32 interleaved groups of `K` pieces from `z` (`32 K` elements): each stage
    /// splits pairs of registers into even and odd stream positions and keeps the better of
    /// each pair, halving the registers. The fast rule on bit keys first, the exact one where
    /// that may differ (a NaN, or a zero result).
    ///
    /// # Safety
    /// `z[..32 K]` readable, `values[..32]` and `ix[..32]` (when `IDX`) writable; AVX-512 F/BW.
    #[inline(always)]
    pub unsafe fn pow2_block<I: MaxoutIndex, const K: usize, const IDX: bool>(
        z: *const u16,
        inf: u16,
        even_first: &[__m512i; K],
        values: *mut u16,
        ix: *mut I,
    ) {
        // SAFETY: the loads are `z[32 i ..][..32]` for `i < K`, inside (the caller's
        // guarantee); the store is `store`'s, 32 lanes.
        unsafe {
            let inf = _mm512_set1_epi16(inf as i16);
            let mut v = [_mm512_setzero_si512(); K];
            let mut keys = v;
            for (i, x) in v.iter_mut().enumerate() {
                *x = _mm512_loadu_si512(z.add(32 * i).cast());
                keys[i] = bit_key(*x);
            }
            let mut min = keys[0];
            for x in &keys[1..] {
                min = _mm512_min_epi16(min, *x);
            }
            let (key, at) = pow2_reduce::<K, IDX, true>(keys, inf, even_first);
            let (bits, at) = if fast_unsure(key, min, inf) {
                pow2_reduce::<K, IDX, false>(v, inf, even_first)
            } else {
                (bit_key(key), at)
            };
            store::<I, IDX>(bits, at, 32, values, ix);
        }
    }

    /// The reduction of [`pow2_block`] by the exact pair rule (`v`: the elements) or the fast
    /// one (`v`: their bit keys; the result is a key).
    #[inline(always)]
    unsafe fn pow2_reduce<const K: usize, const IDX: bool, const FAST: bool>(
        mut v: [__m512i; K],
        inf: __m512i,
        even_first: &[__m512i; K],
    ) -> (__m512i, __m512i) {
        // SAFETY: AVX-512 F/BW (the caller's region).
        unsafe {
            let one = _mm512_set1_epi16(1);
            let mut at = *even_first;
            for i in 0..K / 2 {
                let (e, o) = split_even_odd(v[2 * i], v[2 * i + 1]);
                let ea = even_first[i];
                (v[i], at[i]) = pair::<IDX, FAST>(e, ea, o, _mm512_add_epi16(ea, one), inf);
            }
            let mut m = K / 2;
            while m > 1 {
                for i in 0..m / 2 {
                    let (e, o) = split_even_odd(v[2 * i], v[2 * i + 1]);
                    let (ea, oa) = if IDX {
                        split_even_odd(at[2 * i], at[2 * i + 1])
                    } else {
                        (at[0], at[0])
                    };
                    (v[i], at[i]) = pair::<IDX, FAST>(e, ea, o, oa, inf);
                }
                m /= 2;
            }
            (v[0], at[0])
        }
    }
}
