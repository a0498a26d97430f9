//! The half formats, [`bf16`] and [`f16`](struct@f16) (the `half` crate's types): stored as 16 bits,
//! computed as `f32` (`SPEC.md` section 7).
//!
//! Every kernel widens its half inputs to `f32` (exact, signalling NaNs kept), runs the `f32`
//! lane rule, and rounds the `f32` result to the half format once, to nearest-even ([`f32_to_bf16`], [`f32_to_f16`]).
//! A NaN result is truncated to the half format (sign, exponent, the top payload bits, the
//! quiet bit as the `f32` had it): so `relu`, `abs`, maxout and every select give back the
//! input's bits, signalling NaNs included, and a quieted NaN stays quiet. Products are
//! quieted by the `f32` rule, and the invalid product `-inf * 0` is `0xffc0` (`bf16`) /
//! `0xfe00` (`f16`), the `f32` default NaN `0xffc00000` narrowed.
//!
//! Slopes: the scalar slope of `leaky_relu` and its backward ([`Element::Slope`]) is an `f32`,
//! as PyTorch keeps its Python-float slope in `float` without rounding it to the half format:
//! `a * z` is the `f32` product of `a` and the widened `z`, rounded once (so torch's default
//! 0.01, which is not a `bf16`, gives torch's results). PReLU's weights are a tensor of the
//! element type, as in torch, and are widened exactly like the data.
//!
//! The SIMD code keeps a vector of half elements as one register of 16-bit lanes in memory and
//! as two `f32` vectors in the lane rules (the crate-private `SimdElement` of the half types maps
//! every operation to the `f32` one, applied to both). The conversions:
//! - AVX-512: `f16` through `vcvtph2ps`/`vcvtps2ph` (rounding to nearest-even), whose NaN
//!   handling (they quiet signalling NaNs) is undone with one masked `xor` of the quiet bit;
//!   `bf16` widened by a zero-extend and shift, and rounded by AVX512-BF16's `vcvtne2ps2bf16`
//!   where the CPU has it ([`avx512_bf16_in_use`]). That instruction flushes subnormals to zero
//!   and quiets signalling NaNs, which `SPEC.md` does not allow, so a vector holding either
//!   (one `vfpclassps` per 16 lanes tells) is rounded with integer arithmetic instead, as on
//!   CPUs without the instruction: the same bits either way. Leaky ReLU and PReLU forward have
//!   a block path (`x86::prelu_bf16_v4`): 4 vectors at once, widened without shuffles, with
//!   one check of the inputs per block instead (a block that could give a subnormal result
//!   takes the per-vector path).
//! - Rules whose NaN results all come out of a product (leaky ReLU and PReLU forward, with or
//!   without the mask) skip the `f16` signalling-NaN fixes on x86: the product quiets such a
//!   NaN anyway (`SimdElement::load_quieting`).
//! - Rules without arithmetic work on the 16-bit lanes, with no conversion at all: `relu`,
//!   `abs` and ReLU backward (from `z` or from the output) on AVX-512 and AVX2; ReLU with its
//!   mask, ReLU backward from the mask, maxout forward (planar, interleaved `k` = 2, 4, 8, 16)
//!   and maxout backward (planar; interleaved `k` = 2, 4, 8, 16) on AVX-512 only (order keys, see `kernels::maxout16`); AVX2
//!   and NEON widen for those.
//! - Leaky ReLU and PReLU backward (from `z`, from the output, from the mask) on AVX-512: the
//!   side of 0 is taken on the 16-bit lanes (`linear16`) and `dy`'s bits are selected there
//!   (`select16`), so only `dy` is widened and only the product `a * dy` is rounded (half the
//!   conversions of the widened rule for `f16`).
//! - AVX2: the conversions as on AVX-512, with F16C for `f16` (part of x86-64-v3; the AVX2
//!   backend requires it) and integer rounding for `bf16`.
//! - NEON: `f16` through `fcvtl`/`fcvtn` (the same quiet-bit fix as x86), `bf16` by shifts and
//!   integer rounding.
//! - Other tokens: through memory and the scalar conversions below.

use core::any::TypeId;

use half::{bf16, f16};
use pulp::Simd;

use crate::element::Element;
use crate::element::sealed::{MaskBits, SimdElement, WideAcc};

/// Whether the AVX-512 backend rounds `f32` to `bf16` with AVX512-BF16's `vcvtne2ps2bf16`:
/// set once by the backend detection (see [`avx512_bf16_in_use`]).
#[cfg(target_arch = "x86_64")]
static AVX512_BF16: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Name of the environment variable that, when set (to anything), keeps the AVX-512 backend
/// from using AVX512-BF16's `vcvtne2ps2bf16` for the `bf16` rounding (it then rounds with
/// integer arithmetic, as on a CPU without the instruction). The results are the same bits
/// either way; this exists to test and to benchmark the two paths on one machine. Read once,
/// with the backend detection.
pub const NO_AVX512_BF16_ENV_VAR: &str = "RECTIFIER_NO_AVX512_BF16";

/// Whether the AVX-512 backend rounds `f32` results to `bf16` with AVX512-BF16's
/// `vcvtne2ps2bf16` (on vectors with no signalling NaN and no subnormal lane, where it rounds as
/// `SPEC.md` does; the other vectors round with integer arithmetic). True when the CPU has
/// AVX-512 and AVX512-BF16 and [`NO_AVX512_BF16_ENV_VAR`] is not set.
///
/// ```
/// // Whatever the answer, every backend gives the same bits.
/// let _ = rectifier::halves::avx512_bf16_in_use();
/// ```
pub fn avx512_bf16_in_use() -> bool {
    crate::backend::supported_backends(); // runs the detection once
    avx512_bf16()
}

#[inline(always)]
fn avx512_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        AVX512_BF16.load(core::sync::atomic::Ordering::Relaxed)
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Part of the backend detection: turns on the AVX512-BF16 rounding where the CPU has it.
#[cfg(target_arch = "x86_64")]
pub(crate) fn detect_avx512_bf16(avx512: bool) {
    let on = avx512
        && std::arch::is_x86_feature_detected!("avx512bf16")
        && std::env::var_os(NO_AVX512_BF16_ENV_VAR).is_none();
    AVX512_BF16.store(on, core::sync::atomic::Ordering::Relaxed);
}

/// `bf16` bits widened to `f32`: exact (a shift; NaN payloads and signalling NaNs kept).
#[inline]
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// `x` rounded to `bf16` bits, to nearest-even (overflow to infinity, subnormals rounded, not
/// flushed); a NaN is truncated (sign and the top 7 payload bits kept, not quieted).
#[inline]
pub fn f32_to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        (b >> 16) as u16
    } else {
        ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
    }
}

/// `f16` bits widened to `f32`: exact (subnormals normalised, NaN payloads and signalling NaNs
/// kept).
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7fff;
    let mag = if em >= 0x7c00 {
        0x7f80_0000 | ((em & 0x3ff) << 13)
    } else if em >= 0x0400 {
        (em << 13) + 0x3800_0000
    } else {
        // A subnormal (or zero): em * 2^-24, exact in f32.
        (em as f32 * (1.0 / 16_777_216.0)).to_bits()
    };
    f32::from_bits(sign | mag)
}

/// `x` rounded to `f16` bits, to nearest-even (overflow to infinity, subnormals rounded); a
/// NaN is truncated (sign and the top 10 payload bits kept, not quieted).
#[inline]
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        (((b >> 16) & 0x8000) | 0x7c00 | ((b >> 13) & 0x3ff)) as u16
    } else {
        f16::from_f32(x).to_bits()
    }
}

/// One of the two half formats: its scalar conversions and the choice of SIMD conversion.
pub(crate) trait HalfFormat: bytemuck::Pod {
    /// `true` for `f16`, `false` for `bf16`.
    const F16: bool;
    fn bits(self) -> u16;
    fn of_bits(bits: u16) -> Self;
    #[inline(always)]
    fn widen(self) -> f32 {
        if Self::F16 {
            f16_to_f32(self.bits())
        } else {
            bf16_to_f32(self.bits())
        }
    }
    #[inline(always)]
    fn narrow(x: f32) -> Self {
        Self::of_bits(if Self::F16 {
            f32_to_f16(x)
        } else {
            f32_to_bf16(x)
        })
    }
}

impl HalfFormat for bf16 {
    const F16: bool = false;
    #[inline(always)]
    fn bits(self) -> u16 {
        self.to_bits()
    }
    #[inline(always)]
    fn of_bits(bits: u16) -> Self {
        bf16::from_bits(bits)
    }
}

impl HalfFormat for f16 {
    const F16: bool = true;
    #[inline(always)]
    fn bits(self) -> u16 {
        self.to_bits()
    }
    #[inline(always)]
    fn of_bits(bits: u16) -> Self {
        f16::from_bits(bits)
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    //! The conversions on NEON (baseline on aarch64). `f16` through `fcvtl`/`fcvtn` (inline
    //! assembly: the intrinsics on `float16x4_t` are not stable Rust), which quiet signalling
    //! NaNs as x86 does, undone the same way; `bf16` by shifts and integer rounding.
    use core::arch::aarch64::*;
    use core::arch::asm;

    /// 8 `bf16` -> 2 x 4 `f32`.
    #[inline(always)]
    pub fn bf16_widen(x: uint16x8_t) -> [float32x4_t; 2] {
        // SAFETY: NEON is part of the aarch64 baseline; these are register operations.
        unsafe {
            let lo = vshlq_n_u32::<16>(vmovl_u16(vget_low_u16(x)));
            let hi = vshlq_n_u32::<16>(vmovl_high_u16(x));
            [vreinterpretq_f32_u32(lo), vreinterpretq_f32_u32(hi)]
        }
    }

    /// 4 `f32` rounded so that their high 16 bits are the `bf16` results (NaNs truncated).
    #[inline(always)]
    fn bf16_round(v: float32x4_t) -> uint32x4_t {
        // SAFETY: as above.
        unsafe {
            let b = vreinterpretq_u32_f32(v);
            let lsb = vandq_u32(vshrq_n_u32::<16>(b), vdupq_n_u32(1));
            let r = vaddq_u32(vaddq_u32(b, vdupq_n_u32(0x7fff)), lsb);
            let num = vceqq_f32(v, v);
            vbslq_u32(num, r, b)
        }
    }

    /// 2 x 4 `f32` -> 8 `bf16`, to nearest-even, NaNs truncated.
    #[inline(always)]
    pub fn bf16_narrow(a: float32x4_t, b: float32x4_t) -> uint16x8_t {
        // SAFETY: as above.
        unsafe { vshrn_high_n_u32::<16>(vshrn_n_u32::<16>(bf16_round(a)), bf16_round(b)) }
    }

    /// 8 `f16` -> 2 x 4 `f32`, exact (signalling NaNs kept).
    #[inline(always)]
    pub fn f16_widen(x: uint16x8_t) -> [float32x4_t; 2] {
        let (lo, hi): (float32x4_t, float32x4_t);
        // SAFETY: `fcvtl`/`fcvtl2` (FP and AdvSIMD, aarch64 baseline) only read and write the
        // named registers; no memory, no stack, no flags that Rust relies on.
        unsafe {
            asm!(
                "fcvtl {lo:v}.4s, {x:v}.4h",
                "fcvtl2 {hi:v}.4s, {x:v}.8h",
                x = in(vreg) x,
                lo = out(vreg) lo,
                hi = out(vreg) hi,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        // SAFETY: register operations (NEON baseline).
        unsafe {
            // Signalling NaNs (`|h|` in `0x7c01..=0x7dff`): `fcvtl` set their quiet bit.
            let m = vandq_u16(x, vdupq_n_u16(0x7fff));
            let snan = vcltq_u16(vsubq_u16(m, vdupq_n_u16(0x7c01)), vdupq_n_u16(0x1ff));
            let snan = vreinterpretq_s16_u16(snan);
            let q = vdupq_n_u32(0x0040_0000);
            let fix_lo = vandq_u32(vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(snan))), q);
            let fix_hi = vandq_u32(vreinterpretq_u32_s32(vmovl_high_s16(snan)), q);
            [
                vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(lo), fix_lo)),
                vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(hi), fix_hi)),
            ]
        }
    }

    /// 2 x 4 `f32` -> 8 `f16`, to nearest-even (FPCR's default mode), NaNs truncated.
    #[inline(always)]
    pub fn f16_narrow(a: float32x4_t, b: float32x4_t) -> uint16x8_t {
        let h: uint16x8_t;
        // SAFETY: `fcvtn`/`fcvtn2` only read and write the named registers; `h` is an `out`
        // (not `lateout`) operand, so it is not allocated to `a` or `b`, which `fcvtn2` reads
        // after `fcvtn` wrote `h`.
        unsafe {
            asm!(
                "fcvtn {h:v}.4h, {a:v}.4s",
                "fcvtn2 {h:v}.8h, {b:v}.4s",
                a = in(vreg) a,
                b = in(vreg) b,
                h = out(vreg) h,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        // SAFETY: register operations (NEON baseline).
        unsafe {
            // NaNs whose quiet bit was clear: `fcvtn` set it; clear it again.
            macro_rules! snan {
                ($v:expr) => {{
                    let y = vandq_u32(vreinterpretq_u32_f32($v), vdupq_n_u32(0x7fff_ffff));
                    vmovn_u32(vandq_u32(
                        vcgtq_u32(y, vdupq_n_u32(0x7f80_0000)),
                        vcltq_u32(y, vdupq_n_u32(0x7fc0_0000)),
                    ))
                }};
            }
            let k = vcombine_u16(snan!(a), snan!(b));
            veorq_u16(h, vandq_u16(k, vdupq_n_u16(0x200)))
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The conversions on AVX-512 (`V4`) and AVX2 + F16C (`V3`). Every function is `unsafe`:
    //! its caller must run on a CPU with the features named, inside pulp's token region (so
    //! that the intrinsics inline).
    use core::arch::x86_64::*;

    const QUIET_F32: i32 = 0x0040_0000;

    /// 32 `f16` -> 2 x 16 `f32`, exact. AVX-512 F/BW.
    #[inline(always)]
    pub unsafe fn f16_widen_v4(x: __m512i) -> [__m512; 2] {
        // SAFETY: the caller guarantees AVX-512 F/BW.
        unsafe {
            let lo = _mm512_cvtph_ps(_mm512_castsi512_si256(x));
            let hi = _mm512_cvtph_ps(_mm512_extracti64x4_epi64::<1>(x));
            // Signalling NaNs (`|h|` in `0x7c01..=0x7dff`): `vcvtph2ps` set their quiet bit;
            // clear it again. (Rare: one compare decides, the fix is off the hot path.)
            let m = _mm512_and_si512(x, _mm512_set1_epi16(0x7fff));
            let d = _mm512_sub_epi16(m, _mm512_set1_epi16(0x7c01));
            let snan: __mmask32 = _mm512_cmplt_epu16_mask(d, _mm512_set1_epi16(0x1ff));
            if snan == 0 {
                return [lo, hi];
            }
            let q = _mm512_set1_epi32(QUIET_F32);
            // (Macros, not closures: closures do not inherit the target features.)
            macro_rules! fix {
                ($v:expr, $k:expr) => {
                    _mm512_castsi512_ps(_mm512_mask_xor_epi32(
                        _mm512_castps_si512($v),
                        $k,
                        _mm512_castps_si512($v),
                        q,
                    ))
                };
            }
            [
                fix!(lo, snan as __mmask16),
                fix!(hi, (snan >> 16) as __mmask16),
            ]
        }
    }

    /// 2 x 16 `f32` -> 32 `f16`, to nearest-even, NaNs truncated. AVX-512 F/BW.
    #[inline(always)]
    pub unsafe fn f16_narrow_v4(a: __m512, b: __m512) -> __m512i {
        // SAFETY: the caller guarantees AVX-512 F/BW.
        unsafe {
            const R: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
            let h = _mm512_inserti64x4::<1>(
                _mm512_castsi256_si512(_mm512_cvtps_ph::<R>(a)),
                _mm512_cvtps_ph::<R>(b),
            );
            // `vcvtps2ph` quiets NaNs; where the `f32` NaN had its quiet bit clear, clear it
            // again. Any NaN at all is rare: one compare on the result decides.
            let m = _mm512_and_si512(h, _mm512_set1_epi16(0x7fff));
            if _mm512_cmpgt_epu16_mask(m, _mm512_set1_epi16(0x7c00)) == 0 {
                return h;
            }
            macro_rules! snan {
                ($v:expr) => {{
                    let y =
                        _mm512_and_si512(_mm512_castps_si512($v), _mm512_set1_epi32(0x7fff_ffff));
                    _mm512_cmpgt_epu32_mask(y, _mm512_set1_epi32(0x7f80_0000))
                        & _mm512_cmplt_epu32_mask(y, _mm512_set1_epi32(0x7fc0_0000))
                }};
            }
            let k = _mm512_kunpackw(snan!(b) as __mmask32, snan!(a) as __mmask32);
            _mm512_mask_mov_epi16(h, k, _mm512_xor_si512(h, _mm512_set1_epi16(0x200)))
        }
    }

    /// 16 `bf16` -> 16 `f32`. AVX-512 F.
    #[inline(always)]
    pub unsafe fn bf16_widen_v4(h: __m256i) -> __m512 {
        // SAFETY: the caller guarantees AVX-512 F.
        unsafe { _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h))) }
    }

    /// 16 `f32` rounded so that their high 16 bits are the `bf16` results. AVX-512 F.
    #[inline(always)]
    pub unsafe fn bf16_round_v4(v: __m512) -> __m512i {
        // SAFETY: the caller guarantees AVX-512 F.
        unsafe {
            let b = _mm512_castps_si512(v);
            let lsb = _mm512_and_si512(_mm512_srli_epi32::<16>(b), _mm512_set1_epi32(1));
            let r = _mm512_add_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x7fff)), lsb);
            let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
            _mm512_mask_mov_epi32(r, nan, b)
        }
    }

    /// The lanes of `z` (32 elements of a half format whose `+inf` is `inf`) that ReLU blocks:
    /// `right`: `z < 0`, i.e. `z` in `[0x8001, 0x8000 | inf]` (negative, not `-0`, not NaN);
    /// otherwise `z <= 0`: also `+0` and `-0`. AVX-512 F/BW.
    #[inline(always)]
    pub unsafe fn relu_blocked_v4(right: bool, z: __m512i, inf: i16) -> __mmask32 {
        // SAFETY: the caller guarantees AVX-512 F/BW.
        unsafe {
            if right {
                let d = _mm512_sub_epi16(z, _mm512_set1_epi16(0x8001u16 as i16));
                _mm512_cmplt_epu16_mask(d, _mm512_set1_epi16(inf))
            } else {
                let d = _mm512_sub_epi16(z, _mm512_set1_epi16(0x8000u16 as i16));
                _mm512_cmple_epu16_mask(d, _mm512_set1_epi16(inf))
                    | _mm512_cmpeq_epi16_mask(z, _mm512_setzero_si512())
            }
        }
    }

    /// 2 x 16 `f32` -> 32 `bf16` by AVX512-BF16's `vcvtne2ps2bf16` (nearest-even), or `None`
    /// if a lane is a signalling NaN or a subnormal. The instruction quiets NaNs and flushes subnormal
    /// inputs to zero, which `SPEC.md` does not allow, so the caller rounds those vectors with
    /// integers ([`bf16_round_v4`]). Every other lane rounds as [`super::f32_to_bf16`] does: a
    /// normal `f32` never rounds to a subnormal `bf16` (the formats share their exponent range),
    /// so the instruction's flush of subnormal results never applies.
    ///
    /// # Safety
    /// The CPU has AVX-512 F/DQ and AVX512-BF16.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq")]
    pub unsafe fn bf16_narrow_v4_cvt(a: __m512, b: __m512) -> Option<__m512i> {
        // `vfpclassps` classes: 0x20 subnormal, 0x80 signalling NaN. (A quiet NaN is fine: the
        // instruction truncates it, and the quiet bit it sets is already set.)
        const SPECIAL: i32 = 0x20 | 0x80;
        if _mm512_fpclass_ps_mask::<SPECIAL>(a) | _mm512_fpclass_ps_mask::<SPECIAL>(b) != 0 {
            return None;
        }
        // SAFETY: the caller guarantees AVX512-BF16 and AVX-512 F; no lane is subnormal or a
        // signalling NaN (checked above).
        Some(unsafe { cvtne2ps2bf16_v4(a, b) })
    }

    /// `vcvtne2ps2bf16` with no check: `lo`'s 16 results in the low half, `hi`'s in the high
    /// half. Subnormal lanes are flushed to zero and signalling NaNs quieted, so the caller
    /// must know that neither occurs (see [`prelu_bf16_v4`]).
    ///
    /// # Safety
    /// The CPU has AVX-512 F and AVX512-BF16.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn cvtne2ps2bf16_v4(lo: __m512, hi: __m512) -> __m512i {
        let h: __m512i;
        // SAFETY: the caller guarantees AVX512-BF16 (the instruction) and AVX-512 F (the `zmm`
        // registers); `vcvtne2ps2bf16` reads and writes only the named registers (no memory,
        // no stack, no flags: it neither raises nor records floating-point exceptions). Its
        // last operand gives the low 16 results.
        unsafe {
            core::arch::asm!(
                "vcvtne2ps2bf16 {h}, {hi}, {lo}",
                h = lateout(zmm_reg) h,
                lo = in(zmm_reg) lo,
                hi = in(zmm_reg) hi,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        h
    }

    /// The smallest `|z|` bits (`bf16`) that cannot give a subnormal `f32` product with a
    /// slope of magnitude at least `min_abs_a` (nonzero), nor be subnormal themselves: at
    /// least 0x0080, the smallest normal. `2^-126 / |a|` is at most 2^23 (`|a| >= 2^-149`);
    /// rounded to `f32` it may be below the exact quotient, hence the margin of 2 steps.
    pub fn subnormal_threshold(min_abs_a: f32) -> i16 {
        let q = (f32::MIN_POSITIVE as f64 / min_abs_a as f64) as f32;
        ((q.to_bits() >> 16) + 2).clamp(0x0080, 0x7f80) as i16
    }

    /// `z > 0 ? z : a * z` on 4 x 32 `bf16` (stored bits) with AVX512-BF16, or `None` if a
    /// lane of the block could give a subnormal `f32` result (the caller then runs the generic
    /// rule, which rounds those with integers). `a` holds each vector's slopes as `f32`, even
    /// elements then odd ones (see below); `min` and `t` are the caller's promises about every
    /// slope: `a != 0`, `a > 1` if `min` and `a < 0` or `a <= 1` otherwise, and `t` is
    /// [`subnormal_threshold`] of the smallest `|a|`. The same bits as the generic rule, by
    /// three choices that save instructions (about 10 per 32 elements instead of 17):
    ///
    /// - No widening shuffles: the even elements widen as `x << 16`, the odd ones as
    ///   `x & 0xffff_0000`, and one `vpermw` puts the two halves of `vcvtne2ps2bf16`'s result
    ///   back in order.
    /// - `z > 0 ? z : a * z` is `maxps(z, a * z)` for `a < 0` and `0 < a <= 1`, and
    ///   `minps(z, a * z)` for `a > 1`: the product is on the side of `z` that the rule drops
    ///   (rounding is monotonic), and `maxps`/`minps` return their second operand, `a * z`,
    ///   when either is NaN (then `a * z` is `z` quieted, `a` being finite and nonzero) or both
    ///   are zeros (`z = ±0`, where the rule gives `a * z`). `a = 0` is not allowed (`0 * inf`
    ///   is NaN where the rule gives `inf`).
    /// - The subnormal check runs on the inputs, once per block: an `f32` result is subnormal
    ///   only if `|z| < 2^-126 / |a|` or `z` is subnormal. The smallest `|z|` bits of the
    ///   block are taken by `min` over `x & 0x7fff` (zeros count as small there: then a second
    ///   look that excludes them).
    ///
    /// # Safety
    /// The CPU has AVX-512 F/BW/DQ and AVX512-BF16.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512dq")]
    pub unsafe fn prelu_bf16_v4(
        min: bool,
        t: i16,
        x: [__m512i; 4],
        a: [[__m512; 2]; 4],
    ) -> Option<[__m512i; 4]> {
        static ZIP: [u16; 32] = {
            let mut t = [0u16; 32];
            let mut i = 0;
            while i < 16 {
                t[2 * i] = i as u16;
                t[2 * i + 1] = 16 + i as u16;
                i += 1;
            }
            t
        };
        let abs = _mm512_set1_epi16(0x7fff);
        let mut small = _mm512_and_si512(x[0], abs);
        for v in &x[1..] {
            small = _mm512_min_epu16(small, _mm512_and_si512(*v, abs));
        }
        if _mm512_cmplt_epu16_mask(small, _mm512_set1_epi16(t)) != 0 {
            // Some `|z|` below `t`; maybe only zeros. `(x - 1) & 0x7fff` is `|z| - 1` for
            // nonzero `z` and 0x7fff for the zeros.
            let one = _mm512_set1_epi16(1);
            let mut small = abs;
            for v in &x {
                small = _mm512_min_epu16(small, _mm512_and_si512(_mm512_sub_epi16(*v, one), abs));
            }
            if _mm512_cmplt_epu16_mask(small, _mm512_set1_epi16(t - 1)) != 0 {
                return None;
            }
        }
        // SAFETY: `ZIP` is 64 readable bytes.
        let zip = unsafe { _mm512_loadu_si512(ZIP.as_ptr().cast()) };
        let high = _mm512_set1_epi32(0xffff_0000_u32 as i32);
        let mut y = x;
        // (Two loops, so that the choice of `min`/`max` is made once per block.)
        macro_rules! rule {
            ($op:ident) => {
                for (v, [ae, ao]) in y.iter_mut().zip(a) {
                    let even = _mm512_castsi512_ps(_mm512_slli_epi32::<16>(*v));
                    let odd = _mm512_castsi512_ps(_mm512_and_si512(*v, high));
                    let even = $op(even, _mm512_mul_ps(ae, even));
                    let odd = $op(odd, _mm512_mul_ps(ao, odd));
                    // SAFETY: the caller guarantees AVX512-BF16; no lane is subnormal (checked
                    // above) and none is a signalling NaN (a product is never one).
                    let h = unsafe { cvtne2ps2bf16_v4(even, odd) };
                    *v = _mm512_permutexvar_epi16(zip, h);
                }
            };
        }
        if min {
            rule!(_mm512_min_ps);
        } else {
            rule!(_mm512_max_ps);
        }
        Some(y)
    }

    /// `bf16` slopes (stored bits) as the `f32` pairs of [`prelu_bf16_v4`]: even elements,
    /// odd elements. AVX-512 F.
    #[inline(always)]
    pub unsafe fn bf16_even_odd_v4(a: __m512i) -> [__m512; 2] {
        // SAFETY: the caller guarantees AVX-512 F.
        unsafe {
            let high = _mm512_set1_epi32(0xffff_0000_u32 as i32);
            [
                _mm512_castsi512_ps(_mm512_slli_epi32::<16>(a)),
                _mm512_castsi512_ps(_mm512_and_si512(a, high)),
            ]
        }
    }

    /// The odd 16-bit lanes of `a` then of `b` (the high halves of their 32-bit lanes).
    #[inline(always)]
    pub unsafe fn high_halves_v4(a: __m512i, b: __m512i) -> __m512i {
        static ODD: [u16; 32] = {
            let mut t = [0u16; 32];
            let mut i = 0;
            while i < 32 {
                t[i] = 2 * i as u16 + 1;
                i += 1;
            }
            t
        };
        // SAFETY: the caller guarantees AVX-512 BW; `ODD` is 64 readable bytes.
        unsafe {
            let idx = _mm512_loadu_si512(ODD.as_ptr().cast());
            _mm512_permutex2var_epi16(a, idx, b)
        }
    }

    /// 8 `f16` -> 8 `f32`, exact. AVX2 + F16C.
    #[inline(always)]
    pub unsafe fn f16_widen_v3(h: __m128i) -> __m256 {
        // SAFETY: the caller guarantees AVX2 and F16C.
        unsafe {
            let f = _mm256_castps_si256(_mm256_cvtph_ps(h));
            let m = _mm_and_si128(h, _mm_set1_epi16(0x7fff));
            let snan = _mm_and_si128(
                _mm_cmpgt_epi16(m, _mm_set1_epi16(0x7c00)),
                _mm_cmplt_epi16(m, _mm_set1_epi16(0x7e00)),
            );
            let fix = _mm256_and_si256(_mm256_cvtepi16_epi32(snan), _mm256_set1_epi32(QUIET_F32));
            _mm256_castsi256_ps(_mm256_xor_si256(f, fix))
        }
    }

    /// 8 `f32` -> 8 `f16`, to nearest-even, NaNs truncated. AVX2 + F16C.
    #[inline(always)]
    pub unsafe fn f16_narrow_v3(v: __m256) -> __m128i {
        // SAFETY: the caller guarantees AVX2 and F16C.
        unsafe {
            let h = _mm256_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT }>(v);
            let y = _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7fff_ffff));
            let snan = _mm256_and_si256(
                _mm256_cmpgt_epi32(y, _mm256_set1_epi32(0x7f80_0000)),
                _mm256_cmpgt_epi32(_mm256_set1_epi32(0x7fc0_0000), y),
            );
            let snan16 = _mm_packs_epi32(
                _mm256_castsi256_si128(snan),
                _mm256_extracti128_si256::<1>(snan),
            );
            _mm_xor_si128(h, _mm_and_si128(snan16, _mm_set1_epi16(0x200)))
        }
    }

    /// 8 `bf16` -> 8 `f32`. AVX2.
    #[inline(always)]
    pub unsafe fn bf16_widen_v3(h: __m128i) -> __m256 {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h))) }
    }

    /// 8 `f32` -> their `bf16` results in the low 16 bits of each 32-bit lane. AVX2.
    #[inline(always)]
    pub unsafe fn bf16_round_v3(v: __m256) -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe {
            let b = _mm256_castps_si256(v);
            let lsb = _mm256_and_si256(_mm256_srli_epi32::<16>(b), _mm256_set1_epi32(1));
            let r = _mm256_add_epi32(_mm256_add_epi32(b, _mm256_set1_epi32(0x7fff)), lsb);
            let nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
            _mm256_srli_epi32::<16>(_mm256_blendv_epi8(r, b, nan))
        }
    }

    /// Two vectors of 8 `u32` lanes (each `<= 0xffff`) packed to 16 `u16`, in order. AVX2.
    #[inline(always)]
    pub unsafe fn pack_v3(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(a, b)) }
    }
}

// The block paths below take 4 vectors.
const _: () = assert!(crate::kernels::UNROLL == 4);

/// The conditions of the `bf16` block path of leaky ReLU and PReLU on AVX-512 with
/// AVX512-BF16 ([`x86::prelu_bf16_v4`]), checked on the slopes: once per call for PReLU, once
/// per block of 4 vectors for leaky ReLU (one slope: a few flops).
#[derive(Clone, Copy, Debug)]
// (Read only by the x86 path.)
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct SlopePlan {
    /// Every slope is `> 1` (`minps`); otherwise every slope is `< 0` or in `(0, 1]` (`maxps`).
    min: bool,
    /// The subnormal threshold of the smallest `|a|`.
    t: i16,
}

impl SlopePlan {
    /// The plan for these slopes (as `f32`: `bf16` slopes widen exactly), or `None` if the block
    /// path does not apply: not `bf16` on AVX-512 with AVX512-BF16, a zero slope, or slopes on
    /// both sides of 1.
    #[inline(always)]
    pub(crate) fn new<S: Simd, T: Element>(slopes: impl Iterator<Item = f32>) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
            && TypeId::of::<T>() == TypeId::of::<bf16>()
            && avx512_bf16()
        {
            let (mut above, mut below, mut min_abs) = (false, false, f32::INFINITY);
            for a in slopes {
                // (The public ops refuse non-finite slopes; the kernels are public too.)
                if a == 0.0 || !a.is_finite() {
                    return None;
                }
                above |= a > 1.0;
                below |= a <= 1.0;
                min_abs = min_abs.min(a.abs());
            }
            if above && below || !min_abs.is_finite() {
                return None;
            }
            return Some(SlopePlan {
                min: above,
                t: x86::subnormal_threshold(min_abs),
            });
        }
        let _ = slopes;
        None
    }
}

/// Leaky ReLU with slope `a` on [`UNROLL`](crate::kernels::UNROLL) stored vectors of `T` by the
/// `bf16` block path ([`x86::prelu_bf16_v4`]) where it applies. `None`: the caller runs the
/// generic rule. The same bits either way.
#[inline(always)]
pub(crate) fn leaky_relu_block<S: Simd, T: Element>(
    a: T::Slope,
    x: [T::SV<S>; crate::kernels::UNROLL],
) -> Option<[T::SV<S>; crate::kernels::UNROLL]> {
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<T>() == TypeId::of::<bf16>() {
        use core::arch::x86_64::*;
        use core::mem::transmute_copy as tc;
        // SAFETY: `T` is `bf16`, whose `Slope` is `f32`.
        let a: f32 = unsafe { tc(&a) };
        let plan = SlopePlan::new::<S, T>(core::iter::once(a))?;
        // SAFETY: there is a plan, so `S` is `V4` (AVX-512 F/BW/DQ, in its region) and the CPU
        // has AVX512-BF16; `T::SV<S>` is `u16x32` (64 bytes, as `__m512i`).
        return unsafe {
            let x: [__m512i; crate::kernels::UNROLL] = tc(&x);
            let a = _mm512_set1_ps(a);
            let y = x86::prelu_bf16_v4(plan.min, plan.t, x, [[a; 2]; crate::kernels::UNROLL])?;
            Some(tc(&y))
        };
    }
    let _ = (a, x);
    None
}

/// PReLU on [`UNROLL`](crate::kernels::UNROLL) stored vectors of `T` and their stored slopes
/// `a` by the `bf16` block path, under the `plan` of the call's slopes. `None`: the caller runs
/// the generic rule.
#[inline(always)]
pub(crate) fn prelu_block<S: Simd, T: Element>(
    plan: SlopePlan,
    x: [T::SV<S>; crate::kernels::UNROLL],
    a: [T::SV<S>; crate::kernels::UNROLL],
) -> Option<[T::SV<S>; crate::kernels::UNROLL]> {
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
        && TypeId::of::<T>() == TypeId::of::<bf16>()
        && avx512_bf16()
    {
        use core::arch::x86_64::*;
        use core::mem::transmute_copy as tc;
        // SAFETY: `S` is `V4` (AVX-512 F/BW/DQ, in its region), `T` is `bf16` and the CPU has
        // AVX512-BF16 (checked just above: a plan, which is not tied to `S` and `T`, is not
        // taken as proof); `T::SV<S>` is `u16x32` (64 bytes, as `__m512i`).
        return unsafe {
            let x: [__m512i; crate::kernels::UNROLL] = tc(&x);
            let a: [__m512i; crate::kernels::UNROLL] = tc(&a);
            let a = [
                x86::bf16_even_odd_v4(a[0]),
                x86::bf16_even_odd_v4(a[1]),
                x86::bf16_even_odd_v4(a[2]),
                x86::bf16_even_odd_v4(a[3]),
            ];
            let y = x86::prelu_bf16_v4(plan.min, plan.t, x, a)?;
            Some(tc(&y))
        };
    }
    let _ = (plan, x, a);
    None
}

/// A register of 16-bit elements widened to two `f32` vectors (lanes in order). With
/// `SNAN = false` (for the rules of [`SimdElement::load_quieting`]), an `f16` signalling NaN
/// may come out quieted (the x86 conversion instructions quiet them; that saves the fix).
#[inline(always)]
pub(crate) fn widen<S: Simd, H: HalfFormat, const SNAN: bool>(s: S, x: S::u16s) -> [S::f32s; 2] {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        use core::mem::transmute_copy as tc;
        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>() {
            // SAFETY: `S` is `V4`: AVX-512 F/BW/CD/DQ/VL are present and we run in its region;
            // `u16s` is `u16x32` (64 bytes, as `__m512i`), `f32s` is `f32x16` (`__m512`).
            unsafe {
                let x: __m512i = tc(&x);
                let (lo, hi) = (_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64::<1>(x));
                let r = if H::F16 && !SNAN {
                    [_mm512_cvtph_ps(lo), _mm512_cvtph_ps(hi)]
                } else if H::F16 {
                    x86::f16_widen_v4(x)
                } else {
                    [x86::bf16_widen_v4(lo), x86::bf16_widen_v4(hi)]
                };
                return tc(&r);
            }
        }
        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>() {
            // SAFETY: `S` is `V3`: AVX2 is present, and F16C too (the AVX2 backend requires it
            // and `crate::dispatch::run` enables it); `u16s` is `u16x16` (`__m256i`), `f32s`
            // is `f32x8` (`__m256`).
            unsafe {
                let x: __m256i = tc(&x);
                let (lo, hi) = (_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x));
                let r = if H::F16 && !SNAN {
                    [_mm256_cvtph_ps(lo), _mm256_cvtph_ps(hi)]
                } else if H::F16 {
                    // Any NaN among the 16? (Rare: then the exact fix per half.)
                    let m = _mm256_and_si256(x, _mm256_set1_epi16(0x7fff));
                    let nan = _mm256_cmpgt_epi16(m, _mm256_set1_epi16(0x7c00));
                    if _mm256_testz_si256(nan, nan) == 1 {
                        [_mm256_cvtph_ps(lo), _mm256_cvtph_ps(hi)]
                    } else {
                        [x86::f16_widen_v3(lo), x86::f16_widen_v3(hi)]
                    }
                } else {
                    [x86::bf16_widen_v3(lo), x86::bf16_widen_v3(hi)]
                };
                return tc(&r);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    if TypeId::of::<S>() == TypeId::of::<pulp::aarch64::Neon>() {
        use core::mem::transmute_copy as tc;
        // SAFETY: `S` is pulp's `Neon`: `u16s` is `u16x8` (16 bytes, as `uint16x8_t`) and
        // `f32s` is `f32x4` (`float32x4_t`).
        unsafe {
            let x: core::arch::aarch64::uint16x8_t = tc(&x);
            let r = if H::F16 {
                neon::f16_widen(x)
            } else {
                neon::bf16_widen(x)
            };
            return tc(&r);
        }
    }
    let lanes = S::F32_LANES.min(32);
    let src: &[H] = bytemuck::cast_slice(bytemuck::bytes_of(&x));
    let mut wide = [0.0f32; 64];
    for (w, h) in wide[..2 * lanes].iter_mut().zip(src) {
        *w = h.widen();
    }
    [
        s.partial_load_f32s(&wide[..lanes]),
        s.partial_load_f32s(&wide[lanes..2 * lanes]),
    ]
}

/// Two `f32` vectors rounded to one register of 16-bit elements (lanes in order). With
/// `SNAN = false` the `f32` NaNs must all be quiet ([`SimdElement::store_quiet`]): then the
/// x86 `f16` conversions need no quiet-bit fix.
#[inline(always)]
pub(crate) fn narrow<S: Simd, H: HalfFormat, const SNAN: bool>(s: S, v: [S::f32s; 2]) -> S::u16s {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        use core::mem::transmute_copy as tc;
        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>() {
            // SAFETY: as in `widen`: `S` is `V4`, the types are `[__m512; 2]` and `__m512i`.
            unsafe {
                let [a, b]: [__m512; 2] = tc(&v);
                let r = if H::F16 && !SNAN {
                    const R: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
                    _mm512_inserti64x4::<1>(
                        _mm512_castsi256_si512(_mm512_cvtps_ph::<R>(a)),
                        _mm512_cvtps_ph::<R>(b),
                    )
                } else if H::F16 {
                    x86::f16_narrow_v4(a, b)
                } else {
                    // (`avx512_bf16()` is true only when the CPU has AVX512-BF16, and `V4`
                    // has AVX-512 F/DQ: the safety condition of `bf16_narrow_v4_cvt`. Its
                    // relaxed load, once per 32 results, stays in the loop: replacing it by a
                    // constant measured the same, 64 Ki `bf16` `leaky_relu` 53.4 and 53.5 GB/s,
                    // `prelu` 41.4 and 41.9.)
                    let fast = if avx512_bf16() {
                        x86::bf16_narrow_v4_cvt(a, b)
                    } else {
                        None
                    };
                    match fast {
                        Some(h) => h,
                        None => x86::high_halves_v4(x86::bf16_round_v4(a), x86::bf16_round_v4(b)),
                    }
                };
                return tc(&r);
            }
        }
        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>() {
            // SAFETY: as in `widen`: `S` is `V3` with F16C, the types are `[__m256; 2]` and
            // `__m256i`.
            unsafe {
                let [a, b]: [__m256; 2] = tc(&v);
                let r = if H::F16 {
                    const R: i32 = _MM_FROUND_TO_NEAREST_INT;
                    let h = _mm256_set_m128i(_mm256_cvtps_ph::<R>(b), _mm256_cvtps_ph::<R>(a));
                    // Any NaN result? (Rare: then the exact fix per half.)
                    let m = _mm256_and_si256(h, _mm256_set1_epi16(0x7fff));
                    let nan = _mm256_cmpgt_epi16(m, _mm256_set1_epi16(0x7c00));
                    if !SNAN || _mm256_testz_si256(nan, nan) == 1 {
                        h
                    } else {
                        _mm256_set_m128i(x86::f16_narrow_v3(b), x86::f16_narrow_v3(a))
                    }
                } else {
                    x86::pack_v3(x86::bf16_round_v3(a), x86::bf16_round_v3(b))
                };
                return tc(&r);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    if TypeId::of::<S>() == TypeId::of::<pulp::aarch64::Neon>() {
        use core::mem::transmute_copy as tc;
        // SAFETY: as in `widen`: `[f32x4; 2]` is `[float32x4_t; 2]`, `u16x8` is `uint16x8_t`.
        unsafe {
            let [a, b]: [core::arch::aarch64::float32x4_t; 2] = tc(&v);
            let r = if H::F16 {
                neon::f16_narrow(a, b)
            } else {
                neon::bf16_narrow(a, b)
            };
            return tc(&r);
        }
    }
    let lanes = S::F32_LANES.min(32);
    let mut wide = [0.0f32; 64];
    wide[..lanes].copy_from_slice(bytemuck::cast_slice(bytemuck::bytes_of(&v[0])));
    wide[lanes..2 * lanes].copy_from_slice(bytemuck::cast_slice(bytemuck::bytes_of(&v[1])));
    let mut out = [0u16; 64];
    for (o, &w) in out.iter_mut().zip(&wide[..2 * lanes]) {
        *o = H::narrow(w).bits();
    }
    let _ = s;
    load_u16s::<S>(&out[..2 * lanes])
}

/// The first `x.len()` lanes of a register of 16-bit lanes from `x`, the others zero (the
/// masked head and tail load of the half formats). AVX-512: one masked `vmovdqu16`; elsewhere
/// through a stack buffer (pulp's own `partial_load_u16s` does not build for `V4`).
#[inline(always)]
fn load_u16s<S: Simd>(x: &[u16]) -> S::u16s {
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>() && x.len() <= 32 {
        use core::arch::x86_64::*;
        let mask = (u64::MAX >> (64 - x.len().max(1))) as u32 * (!x.is_empty()) as u32;
        // SAFETY: `S` is `V4` (AVX-512 BW present, in its region); the masked load reads only
        // the `x.len()` lanes of `mask`, all inside `x` (masked-off lanes are not accessed and
        // cannot fault); `u16s` is `u16x32`, 64 bytes like `__m512i`.
        return unsafe {
            core::mem::transmute_copy(&_mm512_maskz_loadu_epi16(mask, x.as_ptr().cast()))
        };
    }
    let mut buf = [0u16; 64];
    buf[..x.len()].copy_from_slice(x);
    bytemuck::pod_read_unaligned(&bytemuck::bytes_of(&buf)[..core::mem::size_of::<S::u16s>()])
}

/// The lane mask of a half vector: the masks of its two `f32` vectors.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct MaskPair<M>(pub [M; 2]);

// SAFETY: `MaskPair<M>` is `[M; 2]` (transparent), whose elements are contiguous with no padding
// (an array's size is a multiple of its element's alignment), and `M` has no uninit bytes.
unsafe impl<M: bytemuck::NoUninit> bytemuck::NoUninit for MaskPair<M> {}

/// A rule of the half formats on their 16-bit lanes, with no conversion (where the rule is a
/// select or a bit operation, so its result is one of its inputs' bit patterns).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bits16 {
    /// `z < 0 ? +0 : z`: `z` in `[0x8001, 0x8000 | inf]` (negative, not `-0`, not NaN) -> `+0`.
    /// That is [`relu_grad16`]'s `Right` rule with `dy = z`, which it calls.
    Relu,
    /// The sign bit cleared.
    Abs,
}

/// The bits of `+inf` in the half format `T`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn inf_bits<T: Element>() -> u16 {
    let inf = T::from_f64(f64::INFINITY);
    let b = bytemuck::bytes_of(&inf);
    u16::from_le_bytes([b[0], b[1]])
}

/// `rule` on one stored vector of the half format `T`, on x86 (`V4`: AVX-512 BW; `V3`: AVX2);
/// `None` for other tokens or element types (the caller widens to `f32` instead).
#[inline(always)]
pub(crate) fn bits16<S: Simd, T: Element>(rule: Bits16, x: T::SV<S>) -> Option<T::SV<S>> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        use core::mem::{size_of, transmute_copy as tc};
        if T::NATIVE {
            return None;
        }
        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>() && size_of::<T::SV<S>>() == 64 {
            // SAFETY: `S` is `V4` (AVX-512 F/BW present, in its region); the stored vector of a
            // half format is `u16x32`, 64 bytes like `__m512i` (checked).
            unsafe {
                let v: __m512i = tc(&x);
                let r = match rule {
                    Bits16::Relu => return relu_grad16::<S, T>(true, x, x),
                    Bits16::Abs => _mm512_and_si512(v, _mm512_set1_epi16(0x7fff)),
                };
                return Some(tc(&r));
            }
        }
        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>() && size_of::<T::SV<S>>() == 32 {
            // SAFETY: `S` is `V3` (AVX2 present, in its region); the stored vector is `u16x16`,
            // 32 bytes like `__m256i` (checked).
            unsafe {
                let v: __m256i = tc(&x);
                let r = match rule {
                    Bits16::Relu => return relu_grad16::<S, T>(true, x, x),
                    Bits16::Abs => _mm256_and_si256(v, _mm256_set1_epi16(0x7fff)),
                };
                return Some(tc(&r));
            }
        }
    }
    let _ = (rule, x);
    None
}

/// ReLU backward on stored vectors of the half format `T` (x86 `V4`/`V3`): `dy`'s bits where
/// `z` passes, `+0` where it is blocked: `Left` blocks `z <= 0`, i.e. `z` is `+0` or in
/// `[0x8000, 0x8000 | inf]` (`-0`, negative, `-inf`); `Right` blocks `z < 0`, `z` in
/// `[0x8001, 0x8000 | inf]`. NaNs (above `0x8000 | inf`, or above `inf`) pass. No conversion:
/// the same bits as the widened rule. `None` for other tokens or element types.
#[inline(always)]
pub(crate) fn relu_grad16<S: Simd, T: Element>(
    right: bool,
    z: T::SV<S>,
    dy: T::SV<S>,
) -> Option<T::SV<S>> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        use core::mem::{size_of, transmute_copy as tc};
        if T::NATIVE {
            return None;
        }
        let inf = inf_bits::<T>() as i16;
        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>() && size_of::<T::SV<S>>() == 64 {
            // SAFETY: `S` is `V4` (AVX-512 F/BW present, in its region); the stored vectors of
            // a half format are `u16x32`, 64 bytes like `__m512i` (checked).
            unsafe {
                let (z, dy): (__m512i, __m512i) = (tc(&z), tc(&dy));
                let blocked = x86::relu_blocked_v4(right, z, inf);
                return Some(tc(&_mm512_maskz_mov_epi16(!blocked, dy)));
            }
        }
        if TypeId::of::<S>() == TypeId::of::<pulp::x86::V3>() && size_of::<T::SV<S>>() == 32 {
            // SAFETY: `S` is `V3` (AVX2 present, in its region); the stored vectors are
            // `u16x16`, 32 bytes like `__m256i` (checked).
            unsafe {
                let (z, dy): (__m256i, __m256i) = (tc(&z), tc(&dy));
                // `d <= m` (unsigned) <=> `min(d, m) == d`.
                let blocked = if right {
                    let d = _mm256_sub_epi16(z, _mm256_set1_epi16(0x8001u16 as i16));
                    _mm256_cmpeq_epi16(_mm256_min_epu16(d, _mm256_set1_epi16(inf - 1)), d)
                } else {
                    let d = _mm256_sub_epi16(z, _mm256_set1_epi16(0x8000u16 as i16));
                    _mm256_or_si256(
                        _mm256_cmpeq_epi16(_mm256_min_epu16(d, _mm256_set1_epi16(inf)), d),
                        _mm256_cmpeq_epi16(z, _mm256_setzero_si256()),
                    )
                };
                return Some(tc(&_mm256_andnot_si256(blocked, dy)));
            }
        }
    }
    let _ = (right, z, dy);
    None
}

/// The lanes of a stored vector `z` of the half format `T` on the linear side of leaky ReLU
/// and PReLU backward (AVX-512 only), bit `l` for lane `l`: `z > 0`, i.e. `z` in `[1, inf]`, or
/// with `right` `z >= 0`, also `+0` and `-0`. NaNs are on neither side of 0, so not linear
/// (they take the product, as in the widened rule). No conversion. `None` for other tokens or
/// element types.
#[inline(always)]
pub(crate) fn linear16<S: Simd, T: Element>(right: bool, z: T::SV<S>) -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        use core::mem::{size_of, transmute_copy as tc};
        if !T::NATIVE
            && TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
            && size_of::<T::SV<S>>() == 64
        {
            let inf = inf_bits::<T>() as i16;
            // SAFETY: `S` is `V4` (AVX-512 F/BW present, in its region); the stored vector of
            // a half format is `u16x32`, 64 bytes like `__m512i` (checked).
            unsafe {
                let z: __m512i = tc(&z);
                // `z - 1 < inf` (unsigned): `z` in `[1, inf]`.
                let d = _mm512_sub_epi16(z, _mm512_set1_epi16(1));
                let mut linear = _mm512_cmplt_epu16_mask(d, _mm512_set1_epi16(inf));
                if right {
                    // `z << 1 == 0`: `+0` or `-0`.
                    linear |=
                        _mm512_testn_epi16_mask(_mm512_add_epi16(z, z), _mm512_add_epi16(z, z));
                }
                return Some(u64::from(linear));
            }
        }
    }
    let _ = (right, z);
    None
}

/// `pass ? a : b` per lane on stored vectors of the half format `T`, `pass` bit `l` for lane
/// `l` (AVX-512 only: one masked move). `None` for other tokens or element types.
#[inline(always)]
pub(crate) fn select16<S: Simd, T: Element>(
    pass: u64,
    a: T::SV<S>,
    b: T::SV<S>,
) -> Option<T::SV<S>> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        use core::mem::{size_of, transmute_copy as tc};
        if !T::NATIVE
            && TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
            && size_of::<T::SV<S>>() == 64
        {
            // SAFETY: as in `linear16`.
            unsafe {
                let (a, b): (__m512i, __m512i) = (tc(&a), tc(&b));
                return Some(tc(&_mm512_mask_mov_epi16(b, pass as __mmask32, a)));
            }
        }
    }
    let _ = (pass, a, b);
    None
}

/// ReLU forward with its mask bits on a stored vector of the half format `T` (AVX-512 only):
/// `(relu(z), pass)`, `pass` bit `l` set where lane `l` is not blocked (`z >= 0` or NaN with
/// `right`, `z > 0` or NaN without). The same bits as the widened rule: the forward is
/// [`relu_grad16`]'s, the bits are its blocked lanes inverted. `None` for other tokens or
/// element types.
#[inline(always)]
pub(crate) fn relu_mask16<S: Simd, T: Element>(
    right: bool,
    z: T::SV<S>,
) -> Option<(T::SV<S>, u64)> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        use core::mem::{size_of, transmute_copy as tc};
        if !T::NATIVE
            && TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
            && size_of::<T::SV<S>>() == 64
        {
            let inf = inf_bits::<T>() as i16;
            // SAFETY: `S` is `V4` (AVX-512 F/BW present, in its region); the stored vector of
            // a half format is `u16x32`, 64 bytes like `__m512i` (checked).
            unsafe {
                let v: __m512i = tc(&z);
                let neg = x86::relu_blocked_v4(true, v, inf);
                let blocked = if right {
                    neg
                } else {
                    x86::relu_blocked_v4(false, v, inf)
                };
                let y = _mm512_maskz_mov_epi16(!neg, v);
                return Some((tc(&y), u64::from(!blocked)));
            }
        }
    }
    let _ = (right, z);
    None
}

/// `pass ? dy : +0` per lane on a stored vector of the half format `T`, `pass` bit `l` for lane
/// `l` (AVX-512 only: one zero-masked move). `None` for other tokens or element types.
#[inline(always)]
pub(crate) fn select_or_zero16<S: Simd, T: Element>(pass: u64, dy: T::SV<S>) -> Option<T::SV<S>> {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        use core::mem::{size_of, transmute_copy as tc};
        if !T::NATIVE
            && TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>()
            && size_of::<T::SV<S>>() == 64
        {
            // SAFETY: as in `relu_mask16`.
            unsafe {
                let dy: __m512i = tc(&dy);
                return Some(tc(&_mm512_maskz_mov_epi16(pass as __mmask32, dy)));
            }
        }
    }
    let _ = (pass, dy);
    None
}

macro_rules! impl_half {
    ($t:ident, $name:literal, $default_nan:expr) => {
        impl Element for $t {
            type Bits = u16;
            type Slope = f32;
            const NAME: &'static str = $name;
            const DEFAULT_NAN_BITS: u16 = $default_nan;
            const SIGN_BITS: u16 = 0x8000;
            const ZERO: $t = $t::from_bits(0);
            #[inline(always)]
            fn to_bits(self) -> u16 {
                $t::to_bits(self)
            }
            #[inline(always)]
            fn from_bits(bits: u16) -> $t {
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
                HalfFormat::widen(self) as f64
            }
            #[inline(always)]
            fn to_slope(self) -> f32 {
                HalfFormat::widen(self)
            }
            /// Rounded to `f32` first, then to the half format (the `f32`-then-round rule).
            #[inline(always)]
            fn from_f64(x: f64) -> $t {
                <$t as HalfFormat>::narrow(x as f32)
            }
        }

        impl SimdElement for $t {
            type V<S: Simd> = [S::f32s; 2];
            type SV<S: Simd> = S::u16s;
            const NATIVE: bool = false;
            type M<S: Simd> = MaskPair<S::m32s>;
            type U<S: Simd> = [S::u32s; 2];
            type ULane = u32;

            #[inline(always)]
            fn lanes<S: Simd>() -> usize {
                2 * S::F32_LANES
            }
            #[inline(always)]
            fn v_splat<S: Simd>(s: S, x: $t) -> Self::V<S> {
                let v = s.splat_f32s(HalfFormat::widen(x));
                [v, v]
            }
            #[inline(always)]
            fn v_splat_slope<S: Simd>(s: S, a: f32) -> Self::V<S> {
                let v = s.splat_f32s(a);
                [v, v]
            }
            /// The `f32` product (x86's NaN rules), rounded once (NaNs truncated).
            #[inline(always)]
            fn mul_slope(a: f32, z: $t) -> $t {
                <$t as HalfFormat>::narrow(crate::reference::mul(a, HalfFormat::widen(z)))
            }
            #[inline(always)]
            fn slope_from_f64(x: f64) -> f32 {
                x as f32
            }
            #[inline(always)]
            fn v_splat_bits<S: Simd>(s: S, bits: u64) -> Self::V<S> {
                let v = f32::v_splat_bits(s, bits);
                [v, v]
            }
            #[inline(always)]
            fn as_simd<S: Simd>(x: &[$t]) -> (&[S::u16s], &[$t]) {
                let n = x.len() / Self::lanes::<S>() * Self::lanes::<S>();
                let (body, tail) = x.split_at(n);
                (bytemuck::cast_slice(body), tail)
            }
            #[inline(always)]
            fn as_mut_simd<S: Simd>(x: &mut [$t]) -> (&mut [S::u16s], &mut [$t]) {
                let n = x.len() / Self::lanes::<S>() * Self::lanes::<S>();
                let (body, tail) = x.split_at_mut(n);
                (bytemuck::cast_slice_mut(body), tail)
            }
            #[inline(always)]
            fn load<S: Simd>(s: S, x: S::u16s) -> Self::V<S> {
                widen::<S, $t, true>(s, x)
            }
            #[inline(always)]
            fn store<S: Simd>(s: S, v: Self::V<S>) -> S::u16s {
                narrow::<S, $t, true>(s, v)
            }
            #[inline(always)]
            fn load_quieting<S: Simd>(s: S, x: S::u16s) -> Self::V<S> {
                widen::<S, $t, false>(s, x)
            }
            #[inline(always)]
            fn store_quiet<S: Simd>(s: S, v: Self::V<S>) -> S::u16s {
                narrow::<S, $t, false>(s, v)
            }
            #[inline(always)]
            fn partial_load<S: Simd>(s: S, x: &[$t]) -> Self::V<S> {
                widen::<S, $t, true>(s, load_u16s::<S>(bytemuck::cast_slice(x)))
            }
            #[inline(always)]
            fn partial_store<S: Simd>(s: S, x: &mut [$t], v: Self::V<S>) {
                let sv = narrow::<S, $t, true>(s, v);
                #[cfg(target_arch = "x86_64")]
                if TypeId::of::<S>() == TypeId::of::<pulp::x86::V4>() && x.len() <= 32 {
                    use core::arch::x86_64::*;
                    let n = x.len();
                    let mask = (u64::MAX >> (64 - n.max(1))) as u32 * (n != 0) as u32;
                    // SAFETY: `S` is `V4` (AVX-512 BW, in its region); the masked store writes
                    // only the `n` lanes of `mask`, all inside `x`; `u16s` is 64 bytes like
                    // `__m512i`.
                    unsafe {
                        _mm512_mask_storeu_epi16(
                            x.as_mut_ptr().cast(),
                            mask,
                            core::mem::transmute_copy(&sv),
                        )
                    };
                    return;
                }
                let x: &mut [u8] = bytemuck::cast_slice_mut(x);
                let n = x.len();
                x.copy_from_slice(&bytemuck::bytes_of(&sv)[..n]);
            }
            #[inline(always)]
            fn v_gt<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S> {
                MaskPair([f32::v_gt(s, a[0], b[0]), f32::v_gt(s, a[1], b[1])])
            }
            #[inline(always)]
            fn v_ge<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S> {
                MaskPair([f32::v_ge(s, a[0], b[0]), f32::v_ge(s, a[1], b[1])])
            }
            #[inline(always)]
            fn v_lt<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S> {
                MaskPair([f32::v_lt(s, a[0], b[0]), f32::v_lt(s, a[1], b[1])])
            }
            #[inline(always)]
            fn v_le<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S> {
                MaskPair([f32::v_le(s, a[0], b[0]), f32::v_le(s, a[1], b[1])])
            }
            #[inline(always)]
            fn v_eq<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::M<S> {
                MaskPair([f32::v_eq(s, a[0], b[0]), f32::v_eq(s, a[1], b[1])])
            }
            #[inline(always)]
            fn m_and<S: Simd>(s: S, a: Self::M<S>, b: Self::M<S>) -> Self::M<S> {
                MaskPair([f32::m_and(s, a.0[0], b.0[0]), f32::m_and(s, a.0[1], b.0[1])])
            }
            #[inline(always)]
            fn m_not<S: Simd>(s: S, a: Self::M<S>) -> Self::M<S> {
                MaskPair([f32::m_not(s, a.0[0]), f32::m_not(s, a.0[1])])
            }
            #[inline(always)]
            fn v_select<S: Simd>(s: S, m: Self::M<S>, t: Self::V<S>, f: Self::V<S>) -> Self::V<S> {
                [
                    f32::v_select(s, m.0[0], t[0], f[0]),
                    f32::v_select(s, m.0[1], t[1], f[1]),
                ]
            }
            #[inline(always)]
            fn v_max_raw<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                [f32::v_max_raw(s, a[0], b[0]), f32::v_max_raw(s, a[1], b[1])]
            }
            #[inline(always)]
            fn v_mul_raw<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                [f32::v_mul_raw(s, a[0], b[0]), f32::v_mul_raw(s, a[1], b[1])]
            }
            #[inline(always)]
            fn v_and<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                [f32::v_and(s, a[0], b[0]), f32::v_and(s, a[1], b[1])]
            }
            #[inline(always)]
            fn v_add<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                [f32::v_add(s, a[0], b[0]), f32::v_add(s, a[1], b[1])]
            }
            #[inline(always)]
            fn v_reduce_max<S: Simd>(s: S, a: Self::V<S>) -> $t {
                <$t as HalfFormat>::narrow(f32::v_reduce_max(s, f32::v_max_raw(s, a[0], a[1])))
            }
            #[inline(always)]
            fn m_any<S: Simd>(s: S, m: Self::M<S>) -> bool {
                f32::m_any(s, m.0[0]) || f32::m_any(s, m.0[1])
            }
            #[inline(always)]
            fn u_splat<S: Simd>(s: S, x: u64) -> Self::U<S> {
                let u = f32::u_splat(s, x);
                [u, u]
            }
            #[inline(always)]
            fn u_select<S: Simd>(s: S, m: Self::M<S>, t: Self::U<S>, f: Self::U<S>) -> Self::U<S> {
                [
                    f32::u_select(s, m.0[0], t[0], f[0]),
                    f32::u_select(s, m.0[1], t[1], f[1]),
                ]
            }
            #[inline(always)]
            fn u_eq<S: Simd>(s: S, a: Self::U<S>, b: Self::U<S>) -> Self::M<S> {
                MaskPair([f32::u_eq(s, a[0], b[0]), f32::u_eq(s, a[1], b[1])])
            }
            #[inline(always)]
            fn u_add<S: Simd>(s: S, a: Self::U<S>, b: Self::U<S>) -> Self::U<S> {
                [f32::u_add(s, a[0], b[0]), f32::u_add(s, a[1], b[1])]
            }
            #[inline(always)]
            fn v_xor<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                [f32::v_xor(s, a[0], b[0]), f32::v_xor(s, a[1], b[1])]
            }
            /// The compute lanes are `f32`: their default NaN.
            #[inline(always)]
            fn default_nan_bits_u64() -> u64 {
                f32::default_nan_bits_u64()
            }
            /// The compute lanes are `f32`: their sign bit.
            #[inline(always)]
            fn sign_mask_u64() -> u64 {
                f32::sign_mask_u64()
            }
        }

        impl MaskBits for $t {
            #[inline(always)]
            fn mask_to_bits<S: Simd>(s: S, m: Self::M<S>) -> u64 {
                f32::mask_to_bits(s, m.0[0]) | (f32::mask_to_bits(s, m.0[1]) << S::F32_LANES)
            }
            #[inline(always)]
            fn bits_to_mask<S: Simd>(s: S, bits: u64) -> Self::M<S> {
                MaskPair([
                    f32::bits_to_mask(s, bits),
                    f32::bits_to_mask(s, bits >> S::F32_LANES),
                ])
            }
        }

        impl WideAcc for $t {
            #[inline(always)]
            fn per<S: Simd>() -> usize {
                4
            }
            #[inline(always)]
            fn acc_terms<S: Simd>(
                s: S,
                acc: &mut [S::f64s],
                idx: usize,
                z: Self::V<S>,
                dy: Self::V<S>,
            ) {
                f32::acc_terms(s, acc, idx, z[0], dy[0]);
                f32::acc_terms(s, acc, idx + 2, z[1], dy[1]);
            }
        }
    };
}

impl_half!(bf16, "bf16", 0xffc0);
impl_half!(f16, "f16", 0xfe00);
