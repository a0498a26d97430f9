//! The element types the kernels accept: `f32`, `f64`, and the half formats `bf16` and `f16`
//! (sealed; the half formats are implemented in [`crate::halves`]).
//!
//! [`Element`] is public so that the API can be generic; its SIMD vocabulary lives in the
//! crate-private supertrait `sealed::SimdElement`, which maps each operation to the pulp
//! instruction of the element width. Kernels are written once over that vocabulary.

use core::fmt::Debug;

use bytemuck::Pod;
use pulp::Simd;

/// A floating-point element type the kernels accept: `f32`, `f64`, [`crate::bf16`] or
/// [`crate::f16`](struct@crate::f16). Sealed.
pub trait Element:
    sealed::SimdElement
    + crate::ops::Entry
    + sealed::WideAcc
    + sealed::MaskBits
    + Copy
    + Pod
    + PartialOrd
    + Debug
    + Default
    + Send
    + Sync
    + core::ops::Mul<Output = Self>
    + core::ops::Add<Output = Self>
    + 'static
{
    /// The unsigned integer with the same bits (`u32`, `u64`, or `u16` for the half formats).
    type Bits: Copy
        + Eq
        + Debug
        + Pod
        + core::fmt::LowerHex
        + core::ops::BitAnd<Output = Self::Bits>
        + core::ops::BitOr<Output = Self::Bits>
        + core::ops::BitXor<Output = Self::Bits>
        + core::ops::Not<Output = Self::Bits>;
    /// The type of a scalar slope, the `a` of `leaky_relu` and its backward: `Self` for `f32`
    /// and `f64`; `f32` for the half formats, as PyTorch keeps its scalar slope in `float` (the
    /// product is the `f32` product, rounded once to the format: [`crate::halves`]). Per-channel
    /// PReLU slopes are `Self`.
    type Slope: Copy + Debug + PartialOrd + Default + Send + Sync + Into<f64> + 'static;
    /// The name used by the report and the C ABI: `"f32"`, `"f64"`, `"bf16"` or `"f16"`.
    const NAME: &'static str;
    /// The NaN that x86 produces for an invalid operation such as `inf * 0`:
    /// `0xffc00000` (`f32`) / `0xfff8000000000000` (`f64`); for the half formats, the `f32` one
    /// narrowed: `0xffc0` (`bf16`) / `0xfe00` (`f16`). Every backend returns this pattern
    /// for an invalid product (NEON's own default NaN differs and is rewritten).
    const DEFAULT_NAN_BITS: Self::Bits;
    /// The sign bit alone.
    const SIGN_BITS: Self::Bits;
    /// Positive zero.
    const ZERO: Self;
    /// The raw bits.
    fn to_bits(self) -> Self::Bits;
    /// From raw bits.
    fn from_bits(bits: Self::Bits) -> Self;
    /// `true` unless NaN or infinite.
    fn is_finite(self) -> bool;
    /// `true` for NaN.
    fn is_nan(self) -> bool;
    /// Widened to `f64` (exact).
    fn to_f64(self) -> f64;
    /// As a [`Element::Slope`] (exact: the identity, or widened to `f32`).
    fn to_slope(self) -> Self::Slope;
    /// From `f64`, rounded to nearest (the half formats: to `f32`, then to the format, the
    /// `f32`-then-round rule of `SPEC.md` section 7).
    fn from_f64(x: f64) -> Self;
}

pub(crate) mod sealed {
    use super::*;

    /// The SIMD vocabulary of one element type, over any pulp [`Simd`] token.
    ///
    /// Every method is `#[inline(always)]` so that it is compiled inside the
    /// `#[target_feature]` region pulp opens in `Simd::vectorize`.
    pub trait SimdElement: Sized + Copy + 'static {
        /// A vector of lanes, as the lane rules compute on it: the element's own vector for
        /// `f32`/`f64`; for the half formats, a pair of `f32` vectors (the elements widened).
        type V<S: Simd>: Copy + Pod;
        /// The same lanes as stored in memory: [`Self::V`] for `f32`/`f64`, one register of
        /// 16-bit elements for the half formats. [`Self::load`] and [`Self::store`] convert.
        type SV<S: Simd>: Copy + Pod;
        /// `true` when [`Self::V`] is the stored vector itself (`f32`, `f64`): code that
        /// reinterprets memory as [`Self::V`] (permutes, gathers, raw pointer loads) is only for
        /// these.
        const NATIVE: bool;
        /// A lane mask.
        type M<S: Simd>: Copy + bytemuck::NoUninit;
        /// A vector of unsigned integers as wide as the lanes of [`Self::V`] (`u32` lanes for
        /// `f32`, `u64` for `f64`), selected by the same masks: maxout's index vectors.
        type U<S: Simd>: Copy + Pod;
        /// One lane of [`Self::U`]: `u32` or `u64`.
        type ULane: Copy + Pod + Into<u64> + TryFrom<u64> + From<u32>;

        /// Lanes per vector for `S`.
        fn lanes<S: Simd>() -> usize;
        fn v_splat<S: Simd>(s: S, x: Self) -> Self::V<S>;
        fn v_splat_bits<S: Simd>(s: S, bits: u64) -> Self::V<S>;
        /// A scalar slope in every lane.
        fn v_splat_slope<S: Simd>(s: S, a: <Self as Element>::Slope) -> Self::V<S>
        where
            Self: Element;
        /// `a * z` of one element, the scalar rule: [`crate::reference::mul`] for `f32`/`f64`;
        /// for the half formats, the `f32` product rounded once to the format.
        fn mul_slope(a: <Self as Element>::Slope, z: Self) -> Self
        where
            Self: Element;
        /// A slope from `f64`, rounded to nearest (exact for any value that came from a slope).
        fn slope_from_f64(x: f64) -> <Self as Element>::Slope
        where
            Self: Element;
        /// `x` as whole stored vectors from its start, and the rest.
        fn as_simd<S: Simd>(x: &[Self]) -> (&[Self::SV<S>], &[Self]);
        /// `x` as whole stored vectors from its start, and the rest.
        fn as_mut_simd<S: Simd>(x: &mut [Self]) -> (&mut [Self::SV<S>], &mut [Self]);
        /// A stored vector as the lane rules see it (identity for `f32`/`f64`; the half formats
        /// widen to `f32`, exactly, signalling NaNs kept).
        fn load<S: Simd>(s: S, x: Self::SV<S>) -> Self::V<S>;
        /// A computed vector as stored (identity for `f32`/`f64`; the half formats round to
        /// nearest-even, NaNs truncated: [`crate::halves`]).
        fn store<S: Simd>(s: S, v: Self::V<S>) -> Self::SV<S>;
        /// [`SimdElement::load`] for a rule whose NaN results all come out of an arithmetic
        /// operation (quieted), never as a selected input: such a rule cannot tell a signalling
        /// NaN input from its quieted form, so the half formats may skip keeping signalling
        /// NaNs. The same bits as `load` then `store` for such a rule.
        #[inline(always)]
        fn load_quieting<S: Simd>(s: S, x: Self::SV<S>) -> Self::V<S> {
            Self::load(s, x)
        }
        /// [`SimdElement::store`] of a result whose NaNs are all quiet (a rule as in
        /// [`SimdElement::load_quieting`]): the half formats skip the quiet-bit restoration.
        #[inline(always)]
        fn store_quiet<S: Simd>(s: S, v: Self::V<S>) -> Self::SV<S> {
            Self::store(s, v)
        }
        /// Loads `x.len() <= lanes` elements, the other lanes zero (masked load).
        fn partial_load<S: Simd>(s: S, x: &[Self]) -> Self::V<S>;
        /// Stores the first `x.len() <= lanes` lanes (masked store).
        fn partial_store<S: Simd>(s: S, x: &mut [Self], v: Self::V<S>);
        fn v_gt<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S>;
        fn v_ge<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S>;
        fn v_lt<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S>;
        fn v_le<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S>;
        fn v_eq<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S>;
        fn m_and<S: Simd>(s: S, a: Self::M<S>, b: Self::M<S>) -> Self::M<S>;
        fn m_not<S: Simd>(s: S, a: Self::M<S>) -> Self::M<S>;
        /// `m ? t : f`, lane by lane, bits kept.
        fn v_select<S: Simd>(s: S, m: Self::M<S>, t: Self::V<S>, f: Self::V<S>) -> Self::V<S>;
        /// The ISA's own `max(a, b)` instruction. Its NaN and signed-zero rules differ by ISA:
        /// only for code that has checked the ISA (x86 `maxps`: `b` when either is NaN or both
        /// are zero).
        fn v_max_raw<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
        /// The IEEE product, rounded once (never fused with anything).
        fn v_mul_raw<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
        fn v_and<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
        /// The IEEE sum, by the hardware's NaN rules: maxout uses it to detect NaNs cheaply (a
        /// NaN operand makes it NaN), and its accumulate mode as the sum where no lane is NaN
        /// (then the ISAs agree; `kernels::maxout::accumulate` fixes NaN lanes up).
        fn v_add<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
        /// The largest lane (by the ISA's `max`: only meaningful without NaNs, and either zero
        /// for a `-0`/`+0` tie).
        fn v_reduce_max<S: Simd>(s: S, a: Self::V<S>) -> Self;
        /// Whether any lane of `m` is set.
        fn m_any<S: Simd>(s: S, m: Self::M<S>) -> bool;
        fn u_splat<S: Simd>(s: S, x: u64) -> Self::U<S>;
        /// `m ? t : f` on index vectors, with a mask of [`Self::V`] lanes.
        fn u_select<S: Simd>(s: S, m: Self::M<S>, t: Self::U<S>, f: Self::U<S>) -> Self::U<S>;
        /// Lane-wise `a == b`, as a mask of [`Self::V`] lanes.
        fn u_eq<S: Simd>(s: S, a: Self::U<S>, b: Self::U<S>) -> Self::M<S>;
        /// Wrapping lane-wise sum.
        fn u_add<S: Simd>(s: S, a: Self::U<S>, b: Self::U<S>) -> Self::U<S>;
        fn v_xor<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
        fn default_nan_bits_u64() -> u64;
        fn sign_mask_u64() -> u64;

        /// `a * b` with x86's NaN rules on every ISA: a NaN operand comes back quieted with its
        /// sign and payload (all ISAs agree when only one operand is NaN), and an invalid product
        /// (`inf * 0`) is the x86 default NaN. NEON's default NaN has the opposite sign, so on
        /// aarch64 the invalid lanes are rewritten (compile-time choice; no cost on x86).
        #[inline(always)]
        fn v_mul<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
            let r = Self::v_mul_raw(s, a, b);
            if cfg!(target_arch = "aarch64") {
                let operands_ok = Self::m_and(s, Self::v_eq(s, a, a), Self::v_eq(s, b, b));
                let r_nan = Self::m_not(s, Self::v_eq(s, r, r));
                let invalid = Self::m_and(s, operands_ok, r_nan);
                Self::v_select(
                    s,
                    invalid,
                    Self::v_splat_bits(s, Self::default_nan_bits_u64()),
                    r,
                )
            } else {
                r
            }
        }

        /// `z` with its sign bit cleared.
        #[inline(always)]
        fn v_abs<S: Simd>(s: S, z: Self::V<S>) -> Self::V<S> {
            Self::v_and(s, z, Self::v_splat_bits(s, !Self::sign_mask_u64()))
        }
    }

    /// Lane masks to and from packed bits (bit `k` = lane `k`).
    pub trait MaskBits: SimdElement {
        /// The lanes of `m` as bits `0..lanes`.
        fn mask_to_bits<S: Simd>(s: S, m: Self::M<S>) -> u64;
        /// The mask whose lane `k` is bit `k` of `bits`.
        fn bits_to_mask<S: Simd>(s: S, bits: u64) -> Self::M<S>;
    }

    /// The slope-gradient terms of one vector, accumulated in `f64` lanes.
    pub trait WideAcc: SimdElement {
        /// `f64` vectors per vector of `Self` (1 for `f64`, 2 for `f32`).
        fn per<S: Simd>() -> usize;
        /// `acc[idx..idx + per] += !(z > 0) ? z * dy : +0`, lane by lane in `f64` (lanes in
        /// order: `acc[idx]` holds the low lanes); the product is exact for `f32`, rounded
        /// once for `f64`.
        fn acc_terms<S: Simd>(s: S, acc: &mut [S::f64s], idx: usize, z: Self::V<S>, dy: Self::V<S>);
    }
}

/// The SIMD side of the PReLU slope gradient (`crate::reference::prelu_slope_grad`):
/// terms accumulated in `f64` lanes.
pub(crate) mod wide {
    use pulp::Simd;

    use super::sealed::{SimdElement, WideAcc};

    /// `v` widened to `f64` (exact), low lanes first: `[lanes 0..L/2, lanes L/2..L]`.
    ///
    /// pulp's portable `Simd` trait has no `f32 -> f64` conversion, so the x86 backends call
    /// their own instruction (`vcvtps2pd`); the type test is resolved at compile time. Other
    /// backends go through memory (correct, slower).
    #[inline(always)]
    pub fn widen<S: Simd>(s: S, v: S::f32s) -> [S::f64s; 2] {
        #[cfg(target_arch = "x86_64")]
        {
            use core::any::TypeId;
            use core::mem::transmute_copy;
            use pulp::x86::{V3, V4};
            if TypeId::of::<S>() == TypeId::of::<V4>() {
                // SAFETY: `S` is `V4` (checked above), whose `f32s` is `f32x16` and `f64s` is
                // `f64x8`; `transmute_copy` between identical types is a copy.
                let (s4, v): (V4, pulp::f32x16) =
                    unsafe { (transmute_copy(&s), transmute_copy(&v)) };
                let [lo, hi]: [pulp::f32x8; 2] = bytemuck::cast(v);
                let r = [s4.convert_f32x8_to_f64x8(lo), s4.convert_f32x8_to_f64x8(hi)];
                // SAFETY: as above, `[f64x8; 2]` is `[S::f64s; 2]`.
                return unsafe { transmute_copy(&r) };
            }
            if TypeId::of::<S>() == TypeId::of::<V3>() {
                // SAFETY: `S` is `V3`: `f32s` is `f32x8`, `f64s` is `f64x4`.
                let (s3, v): (V3, pulp::f32x8) =
                    unsafe { (transmute_copy(&s), transmute_copy(&v)) };
                let [lo, hi]: [pulp::f32x4; 2] = bytemuck::cast(v);
                let r = [s3.convert_f32x4_to_f64x4(lo), s3.convert_f32x4_to_f64x4(hi)];
                // SAFETY: `[f64x4; 2]` is `[S::f64s; 2]`.
                return unsafe { transmute_copy(&r) };
            }
        }
        let lanes: &[f32] = bytemuck::cast_slice(core::slice::from_ref(&v));
        let half = lanes.len() / 2;
        let mut wide = [0.0f64; 64];
        for (w, &x) in wide.iter_mut().zip(lanes) {
            *w = x as f64;
        }
        [
            s.partial_load_f64s(&wide[..half]),
            s.partial_load_f64s(&wide[half..2 * half]),
        ]
    }

    /// Bit `k` of every lane mask `m`, read through its bytes: a bitmask (AVX-512: one bit per
    /// lane) or one all-ones/all-zeros integer per lane.
    #[inline(always)]
    fn bits_from_bytes(bytes: &[u8], lanes: usize) -> u64 {
        if bytes.len() < lanes {
            let mut b = [0u8; 8];
            b[..bytes.len()].copy_from_slice(bytes);
            u64::from_le_bytes(b) & (u64::MAX >> (64 - lanes))
        } else {
            let width = bytes.len() / lanes;
            let mut bits = 0;
            for k in 0..lanes {
                bits |= ((bytes[k * width] != 0) as u64) << k;
            }
            bits
        }
    }

    macro_rules! mask_bits {
        ($t:ident, $u:ident, $m:ident, $splat_u:ident, $and_u:ident, $eq_u:ident, $pload_u:ident,
         $b4:ident, $movemask:ident, $v3m:ident, $v3f:ident) => {
            impl super::sealed::MaskBits for $t {
                #[inline(always)]
                fn mask_to_bits<S: Simd>(s: S, m: S::$m) -> u64 {
                    #[cfg(target_arch = "x86_64")]
                    {
                        use core::any::TypeId;
                        use core::mem::transmute_copy;
                        use pulp::x86::{V3, V4};
                        if TypeId::of::<S>() == TypeId::of::<V4>() {
                            // SAFETY: `S` is `V4`, whose mask type here is the bitmask `$b4`.
                            let b: pulp::$b4 = unsafe { transmute_copy(&m) };
                            return b.0 as u64;
                        }
                        if TypeId::of::<S>() == TypeId::of::<V3>() {
                            // SAFETY: `S` is `V3`; its mask is a vector of all-ones/all-zeros
                            // lanes with the layout of `$v3f`.
                            let (s3, v): (V3, core::arch::x86_64::$v3f) =
                                unsafe { (transmute_copy(&s), transmute_copy(&m)) };
                            return s3.avx.$movemask(v) as u32 as u64;
                        }
                    }
                    let _ = s;
                    bits_from_bytes(bytemuck::bytes_of(&m), S::$v3m)
                }
                #[inline(always)]
                fn bits_to_mask<S: Simd>(s: S, bits: u64) -> S::$m {
                    #[cfg(target_arch = "x86_64")]
                    {
                        use core::any::TypeId;
                        use core::mem::transmute_copy;
                        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>() {
                            let b = pulp::$b4(bits as _);
                            // SAFETY: `S` is `V4`, whose mask type here is `$b4`.
                            return unsafe { transmute_copy(&b) };
                        }
                    }
                    const LANE_BITS: [$u; 16] = {
                        let mut a = [0; 16];
                        let mut k = 0;
                        while k < 16 {
                            a[k] = 1 << k;
                            k += 1;
                        }
                        a
                    };
                    let lane_bits = s.$pload_u(&LANE_BITS[..S::$v3m.min(16)]);
                    s.$eq_u(s.$and_u(s.$splat_u(bits as $u), lane_bits), lane_bits)
                }
            }
        };
    }
    mask_bits!(
        f32,
        u32,
        m32s,
        splat_u32s,
        and_u32s,
        equal_u32s,
        partial_load_u32s,
        b16,
        _mm256_movemask_ps,
        F32_LANES,
        __m256
    );
    mask_bits!(
        f64,
        u64,
        m64s,
        splat_u64s,
        and_u64s,
        equal_u64s,
        partial_load_u64s,
        b8,
        _mm256_movemask_pd,
        F64_LANES,
        __m256d
    );

    impl WideAcc for f64 {
        #[inline(always)]
        fn per<S: Simd>() -> usize {
            1
        }
        #[inline(always)]
        fn acc_terms<S: Simd>(s: S, acc: &mut [S::f64s], idx: usize, z: S::f64s, dy: S::f64s) {
            let zero = s.splat_f64s(0.0);
            let keep = <f64 as SimdElement>::m_not(s, s.greater_than_f64s(z, zero));
            let t = s.select_f64s(keep, s.mul_f64s(z, dy), zero);
            acc[idx] = s.add_f64s(acc[idx], t);
        }
    }

    impl WideAcc for f32 {
        #[inline(always)]
        fn per<S: Simd>() -> usize {
            2
        }
        #[inline(always)]
        fn acc_terms<S: Simd>(s: S, acc: &mut [S::f64s], idx: usize, z: S::f32s, dy: S::f32s) {
            #[cfg(target_arch = "x86_64")]
            {
                use core::any::TypeId;
                use core::arch::x86_64::*;
                use core::mem::transmute_copy;
                if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>() {
                    let (a0, a1) = (acc[idx], acc[idx + 1]);
                    // SAFETY: `S` is `V4` (checked above): AVX-512 F/DQ are present, `f32s` is
                    // `f32x16` (the layout of `__m512`) and `f64s` is `f64x8` (`__m512d`).
                    // A merge-masked FMA leaves the lanes outside the mask as they were, which
                    // is what adding the `+0` term does (partial sums are never `-0`, and a NaN
                    // partial sum is already quiet): the same bits as the portable code below,
                    // without zeroing both factors.
                    let (r0, r1): (S::f64s, S::f64s) = unsafe {
                        let (zv, dv): (__m512, __m512) = (transmute_copy(&z), transmute_copy(&dy));
                        let keep = _mm512_cmp_ps_mask::<_CMP_NGT_UQ>(zv, _mm512_setzero_ps());
                        // (A macro, not a closure: closures do not inherit target features.)
                        macro_rules! hi {
                            ($v:expr) => {
                                _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd($v)))
                            };
                        }
                        let (zl, zh) = (
                            _mm512_cvtps_pd(_mm512_castps512_ps256(zv)),
                            _mm512_cvtps_pd(hi!(zv)),
                        );
                        let (dl, dh) = (
                            _mm512_cvtps_pd(_mm512_castps512_ps256(dv)),
                            _mm512_cvtps_pd(hi!(dv)),
                        );
                        let r0 =
                            _mm512_mask3_fmadd_pd(zl, dl, transmute_copy(&a0), keep as __mmask8);
                        let r1 = _mm512_mask3_fmadd_pd(
                            zh,
                            dh,
                            transmute_copy(&a1),
                            (keep >> 8) as __mmask8,
                        );
                        (transmute_copy(&r0), transmute_copy(&r1))
                    };
                    acc[idx] = r0;
                    acc[idx + 1] = r1;
                    return;
                }
            }
            let zero = s.splat_f32s(0.0);
            let keep = s.not_m32s(s.greater_than_f32s(z, zero));
            // Zero both factors outside the mask, so that those lanes add 0 * 0 = +0.
            let [zl, zh] = widen(s, s.select_f32s(keep, z, zero));
            let [dl, dh] = widen(s, s.select_f32s(keep, dy, zero));
            // The product of two widened `f32` is exact in `f64`, so a fused multiply-add
            // (or not: pulp's `mul_add` may be unfused on some ISAs) rounds exactly like
            // `acc + z * dy`: one instruction instead of two, same bits.
            acc[idx] = s.mul_add_f64s(zl, dl, acc[idx]);
            acc[idx + 1] = s.mul_add_f64s(zh, dh, acc[idx + 1]);
        }
    }
}

macro_rules! impl_element {
    ($t:ident, $bits:ident, $name:literal, $default_nan:expr, $sign:expr,
     $lanes:ident, $v:ident, $m:ident,
     $splat:ident, $as_simd:ident, $as_mut_simd:ident, $pload:ident, $pstore:ident,
     $gt:ident, $ge:ident, $lt:ident, $le:ident, $eq:ident, $and_m:ident, $not_m:ident,
     $select:ident, $max:ident, $mul:ident, $and:ident, $xor:ident, $from_u:ident, $splat_u:ident,
     $u:ident, $select_u:ident, $add_u:ident, $eq_u:ident, $addv:ident, $first_true:ident, $rmax:ident) => {
        impl Element for $t {
            type Bits = $bits;
            type Slope = $t;
            const NAME: &'static str = $name;
            const DEFAULT_NAN_BITS: $bits = $default_nan;
            const SIGN_BITS: $bits = $sign;
            const ZERO: $t = 0.0;
            #[inline(always)]
            fn to_bits(self) -> $bits {
                $t::to_bits(self)
            }
            #[inline(always)]
            fn from_bits(bits: $bits) -> $t {
                $t::from_bits(bits)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_slope(self) -> $t {
                self
            }
            #[inline(always)]
            fn from_f64(x: f64) -> $t {
                x as $t
            }
        }

        impl sealed::SimdElement for $t {
            type V<S: Simd> = S::$v;
            type SV<S: Simd> = S::$v;
            const NATIVE: bool = true;
            type M<S: Simd> = S::$m;
            type U<S: Simd> = S::$u;
            type ULane = $bits;

            #[inline(always)]
            fn lanes<S: Simd>() -> usize {
                S::$lanes
            }
            #[inline(always)]
            fn v_splat<S: Simd>(s: S, x: $t) -> S::$v {
                s.$splat(x)
            }
            #[inline(always)]
            fn v_splat_slope<S: Simd>(s: S, a: $t) -> S::$v {
                s.$splat(a)
            }
            #[inline(always)]
            fn mul_slope(a: $t, z: $t) -> $t {
                crate::reference::mul(a, z)
            }
            #[inline(always)]
            fn slope_from_f64(x: f64) -> $t {
                x as $t
            }
            #[inline(always)]
            fn v_splat_bits<S: Simd>(s: S, bits: u64) -> S::$v {
                s.$from_u(s.$splat_u(bits as $bits))
            }
            #[inline(always)]
            fn as_simd<S: Simd>(x: &[$t]) -> (&[S::$v], &[$t]) {
                S::$as_simd(x)
            }
            #[inline(always)]
            fn as_mut_simd<S: Simd>(x: &mut [$t]) -> (&mut [S::$v], &mut [$t]) {
                S::$as_mut_simd(x)
            }
            #[inline(always)]
            fn load<S: Simd>(_: S, x: S::$v) -> S::$v {
                x
            }
            #[inline(always)]
            fn store<S: Simd>(_: S, v: S::$v) -> S::$v {
                v
            }
            #[inline(always)]
            fn partial_load<S: Simd>(s: S, x: &[$t]) -> S::$v {
                s.$pload(x)
            }
            #[inline(always)]
            fn partial_store<S: Simd>(s: S, x: &mut [$t], v: S::$v) {
                s.$pstore(x, v)
            }
            #[inline(always)]
            fn v_gt<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$m {
                s.$gt(a, b)
            }
            #[inline(always)]
            fn v_ge<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$m {
                s.$ge(a, b)
            }
            #[inline(always)]
            fn v_lt<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$m {
                s.$lt(a, b)
            }
            #[inline(always)]
            fn v_le<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$m {
                s.$le(a, b)
            }
            #[inline(always)]
            fn v_eq<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$m {
                s.$eq(a, b)
            }
            #[inline(always)]
            fn m_and<S: Simd>(s: S, a: S::$m, b: S::$m) -> S::$m {
                s.$and_m(a, b)
            }
            #[inline(always)]
            fn m_not<S: Simd>(s: S, a: S::$m) -> S::$m {
                s.$not_m(a)
            }
            #[inline(always)]
            fn v_select<S: Simd>(s: S, m: S::$m, t: S::$v, f: S::$v) -> S::$v {
                s.$select(m, t, f)
            }
            #[inline(always)]
            fn v_max_raw<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$v {
                s.$max(a, b)
            }
            #[inline(always)]
            fn v_mul_raw<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$v {
                s.$mul(a, b)
            }
            #[inline(always)]
            fn v_and<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$v {
                s.$and(a, b)
            }
            #[inline(always)]
            fn v_add<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$v {
                s.$addv(a, b)
            }
            #[inline(always)]
            fn v_reduce_max<S: Simd>(s: S, a: S::$v) -> $t {
                s.$rmax(a)
            }
            #[inline(always)]
            fn m_any<S: Simd>(s: S, m: S::$m) -> bool {
                s.$first_true(m) < S::$lanes
            }
            #[inline(always)]
            fn u_splat<S: Simd>(s: S, x: u64) -> S::$u {
                s.$splat_u(x as $bits)
            }
            #[inline(always)]
            fn u_select<S: Simd>(s: S, m: S::$m, t: S::$u, f: S::$u) -> S::$u {
                s.$select_u(m, t, f)
            }
            #[inline(always)]
            fn u_eq<S: Simd>(s: S, a: S::$u, b: S::$u) -> S::$m {
                s.$eq_u(a, b)
            }
            #[inline(always)]
            fn u_add<S: Simd>(s: S, a: S::$u, b: S::$u) -> S::$u {
                s.$add_u(a, b)
            }
            #[inline(always)]
            fn v_xor<S: Simd>(s: S, a: S::$v, b: S::$v) -> S::$v {
                s.$xor(a, b)
            }
            #[inline(always)]
            fn default_nan_bits_u64() -> u64 {
                $default_nan as u64
            }
            #[inline(always)]
            fn sign_mask_u64() -> u64 {
                $sign as u64
            }
        }
    };
}

impl_element!(
    f32,
    u32,
    "f32",
    0xffc0_0000u32,
    0x8000_0000u32,
    F32_LANES,
    f32s,
    m32s,
    splat_f32s,
    as_simd_f32s,
    as_mut_simd_f32s,
    partial_load_f32s,
    partial_store_f32s,
    greater_than_f32s,
    greater_than_or_equal_f32s,
    less_than_f32s,
    less_than_or_equal_f32s,
    equal_f32s,
    and_m32s,
    not_m32s,
    select_f32s,
    max_f32s,
    mul_f32s,
    and_f32s,
    xor_f32s,
    transmute_f32s_u32s,
    splat_u32s,
    u32s,
    select_u32s,
    add_u32s,
    equal_u32s,
    add_f32s,
    first_true_m32s,
    reduce_max_f32s
);

impl_element!(
    f64,
    u64,
    "f64",
    0xfff8_0000_0000_0000u64,
    0x8000_0000_0000_0000u64,
    F64_LANES,
    f64s,
    m64s,
    splat_f64s,
    as_simd_f64s,
    as_mut_simd_f64s,
    partial_load_f64s,
    partial_store_f64s,
    greater_than_f64s,
    greater_than_or_equal_f64s,
    less_than_f64s,
    less_than_or_equal_f64s,
    equal_f64s,
    and_m64s,
    not_m64s,
    select_f64s,
    max_f64s,
    mul_f64s,
    and_f64s,
    xor_f64s,
    transmute_f64s_u64s,
    splat_u64s,
    u64s,
    select_u64s,
    add_u64s,
    equal_u64s,
    add_f64s,
    first_true_m64s,
    reduce_max_f64s
);
