//! The element types the kernels accept: `f32` and `f64` (sealed).
//!
//! [`Element`] is public so that the API can be generic; its SIMD vocabulary lives in the
//! crate-private supertrait `sealed::SimdElement`, which maps each operation to the pulp
//! instruction of the element width. Kernels are written once over that vocabulary.

use core::fmt::Debug;

use bytemuck::Pod;
use pulp::Simd;

/// A floating-point element type the kernels accept: `f32` or `f64`. Sealed.
pub trait Element:
    sealed::SimdElement
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
    /// The unsigned integer with the same bits (`u32` or `u64`).
    type Bits: Copy
        + Eq
        + Debug
        + Pod
        + core::fmt::LowerHex
        + core::ops::BitAnd<Output = Self::Bits>
        + core::ops::BitOr<Output = Self::Bits>
        + core::ops::BitXor<Output = Self::Bits>
        + core::ops::Not<Output = Self::Bits>;
    /// The name used by the report and the C ABI: `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// The NaN that x86 produces for an invalid operation such as `inf * 0`:
    /// `0xffc00000` (`f32`) / `0xfff8000000000000` (`f64`). Every backend returns this pattern
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
    /// From `f64`, rounded to nearest.
    fn from_f64(x: f64) -> Self;
}

pub(crate) mod sealed {
    use super::*;

    /// The SIMD vocabulary of one element type, over any pulp [`Simd`] token.
    ///
    /// Every method is `#[inline(always)]` so that it is compiled inside the
    /// `#[target_feature]` region pulp opens in `Simd::vectorize`.
    pub trait SimdElement: Sized + Copy + 'static {
        /// A vector of lanes.
        type V<S: Simd>: Copy + Pod;
        /// A lane mask.
        type M<S: Simd>: Copy;
        /// A vector of unsigned integers as wide as the lanes of [`Self::V`] (`u32` lanes for
        /// `f32`, `u64` for `f64`), selected by the same masks: maxout's index vectors.
        type U<S: Simd>: Copy + Pod;
        /// One lane of [`Self::U`]: `u32` or `u64`.
        type ULane: Copy + Pod + Into<u64> + TryFrom<u64> + From<u32>;

        /// Lanes per vector for `S`.
        fn lanes<S: Simd>() -> usize;
        fn v_splat<S: Simd>(s: S, x: Self) -> Self::V<S>;
        fn v_splat_bits<S: Simd>(s: S, bits: u64) -> Self::V<S>;
        fn as_simd<S: Simd>(x: &[Self]) -> (&[Self::V<S>], &[Self]);
        fn as_mut_simd<S: Simd>(x: &mut [Self]) -> (&mut [Self::V<S>], &mut [Self]);
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
        /// The IEEE product, rounded once (never fused with anything).
        fn v_mul_raw<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
        fn v_and<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
        /// The IEEE sum (used only to detect NaNs cheaply: a NaN operand makes it NaN).
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
}

macro_rules! impl_element {
    ($t:ident, $bits:ident, $name:literal, $default_nan:expr, $sign:expr,
     $lanes:ident, $v:ident, $m:ident,
     $splat:ident, $as_simd:ident, $as_mut_simd:ident, $pload:ident, $pstore:ident,
     $gt:ident, $ge:ident, $lt:ident, $le:ident, $eq:ident, $and_m:ident, $not_m:ident,
     $select:ident, $mul:ident, $and:ident, $xor:ident, $from_u:ident, $splat_u:ident,
     $u:ident, $select_u:ident, $add_u:ident, $eq_u:ident, $addv:ident, $first_true:ident, $rmax:ident) => {
        impl Element for $t {
            type Bits = $bits;
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
            fn from_f64(x: f64) -> $t {
                x as $t
            }
        }

        impl sealed::SimdElement for $t {
            type V<S: Simd> = S::$v;
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
