//! Half precision (`bf16`, `f16`), exhaustively: every one of the 65,536 bit patterns through
//! every op of the inventory on every backend, bit for bit against the reference; and the
//! reference against `SPEC.md` section 7, computed here from the `f32` kernels: widen (exact),
//! the `f32` op, round once to nearest-even (NaNs truncated).

mod common;

use common::*;
use rectifier::halves::{bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16};
use rectifier::inventory::{Args, Op, Params};
use rectifier::{
    Backend, ChannelLayout, Element, MaxoutGradMode, MaxoutLayout, Rectifier, Subgradient, bf16,
    f16, mask_words,
};

/// All 65,536 patterns, in order.
fn all<T: Element<Bits = u16>>() -> Vec<T> {
    (0..=u16::MAX).map(T::from_bits).collect()
}

/// All 65,536 patterns in another order (`i * 40503 mod 2^16`, a bijection), so that `z[i]` and
/// `dy[i]` meet in many combinations while each stream still holds every pattern once.
fn shuffled<T: Element<Bits = u16>>() -> Vec<T> {
    (0..=u16::MAX as u32)
        .map(|i| T::from_bits((i.wrapping_mul(40503) & 0xffff) as u16))
        .collect()
}

/// One op's outputs: `dst`, `da`, the mask, or the error.
type Outcome = Result<(Vec<u16>, Vec<u16>, Vec<u64>), String>;

fn bits<T: Element<Bits = u16>>(x: &[T]) -> Vec<u16> {
    x.iter().map(|v| v.to_bits()).collect()
}

#[allow(clippy::too_many_arguments)]
fn run_elementwise<T: TestElement + Element<Bits = u16>>(
    op: Op,
    r: Rectifier,
    z: &[T],
    dy: &[T],
    slope: T::Slope,
    slopes: &[T],
    sub: Subgradient,
    mask_in: &[u64],
) -> Outcome {
    let n = z.len();
    let mut dst: Vec<T> = if op.inplace() {
        if op.backward() || op.from_mask() {
            dy.to_vec()
        } else {
            z.to_vec()
        }
    } else {
        vec![canary::<T>(); n]
    };
    let mut da = vec![canary::<T>(); slopes.len()];
    let mut mask = mask_in.to_vec();
    let src = if op.backward() || op.from_mask() {
        dy
    } else {
        z
    };
    let args = Args {
        src,
        dst: &mut dst,
        z,
        sub,
        da: &mut da,
        mask: &mut mask,
        slope,
        slopes,
        layout: ChannelLayout::ChannelsLast,
        ..Args::default()
    };
    op.call(r, args).map_err(|e| e.to_string())?;
    Ok((bits(&dst), bits(&da), mask))
}

/// Every element-wise op (forward, backward, mask, slope gradient), every backend, both
/// subgradients, several slopes: every pattern as `z` and as `dy`.
fn every_elementwise_op<T: TestElement + Element<Bits = u16>>() {
    let z: Vec<T> = all();
    let dy: Vec<T> = shuffled();
    let n = z.len();
    let mut rng = Rng(0x5eed ^ T::NAME.len() as u64);
    let mask_in: Vec<u64> = (0..mask_words(n)).map(|_| rng.next_u64()).collect();
    let reference = reference();
    let slopes_all = T::slopes();
    // The scalar slopes are `f32`s, some of which the format does not represent.
    let scalar = T::scalar_slopes();
    for &op in Op::ALL.iter().filter(|op| op.params().elementwise()) {
        for sub in [Subgradient::Left, Subgradient::Right] {
            for (si, &slope) in scalar.iter().enumerate() {
                // Ops without slopes need one pass; PReLU takes 1, 3 or 4 channels.
                if op.params() == Params::None && si > 0 {
                    break;
                }
                let slopes: Vec<T> = (0..[1, 4, 2][si % 3])
                    .map(|c| slopes_all[(si + c) % slopes_all.len()])
                    .collect();
                let want = run_elementwise(op, reference, &z, &dy, slope, &slopes, sub, &mask_in);
                for r in simd_backends() {
                    let got = run_elementwise(op, r, &z, &dy, slope, &slopes, sub, &mask_in);
                    if got != want {
                        let first = match (&got, &want) {
                            (Ok(g), Ok(w)) => (0..n).find(|&i| g.0[i] != w.0[i]).map(|i| {
                                format!(
                                    "first at {i}: z {:#06x} dy {:#06x}: got {:#06x}, want {:#06x}",
                                    z[i].to_bits(),
                                    dy[i].to_bits(),
                                    g.0[i],
                                    w.0[i]
                                )
                            }),
                            _ => None,
                        };
                        panic!(
                            "{} {} on {} ({sub:?}, slope {slope:?}, {} channels) differs from \
                             the reference: {first:?} (da or mask or error: {:?} vs {:?})",
                            op.name(),
                            T::NAME,
                            r.backend(),
                            slopes.len(),
                            got.as_ref().map(|g| (&g.1, g.2 == mask_in)),
                            want.as_ref().map(|w| (&w.1, w.2 == mask_in)),
                        );
                    }
                }
            }
        }
    }
}

/// Leaky ReLU and PReLU forward over every pattern but the subnormals, in the shuffled order,
/// every backend against the reference: with no subnormal input, most blocks of 128 elements
/// pass the input check of the AVX-512 `bf16` block path (`halves::x86::prelu_bf16_v4`), zeros
/// (which pass it only at its second look) and the other specials included, and blocks of
/// inputs just above the subnormal threshold of each slope pass it too. Slope sets of every
/// kind: one, all above 1 and distinct, all at most 1 and distinct (negative ones too), mixed
/// (no block path), with a zero (none either).
fn forward_block_path<T: TestElement + Element<Bits = u16>>() {
    // Subnormal: exponent field zero, not a zero.
    let exponent: u16 = if T::NAME == "bf16" { 0x7f80 } else { 0x7c00 };
    let mut z: Vec<T> = shuffled::<T>()
        .into_iter()
        .filter(|v| v.to_bits() & exponent != 0 || v.to_bits() & 0x7fff == 0)
        .collect();
    // A whole number of rows for 1 to 4 channels.
    z.truncate(z.len() / 12 * 12);
    // The same with every fifth element a zero (`+0` and `-0` in turn, at both parities).
    let zeros: Vec<T> = (z.iter().enumerate())
        .map(|(i, &v)| match i % 10 {
            0 => T::from_bits(0),
            5 => T::from_bits(0x8000),
            _ => v,
        })
        .collect();
    let reference = reference();
    let sets: [&[f64]; 6] = [
        &[1.5, 3.75, 6e4],
        &[0.01, 0.2, 1.0, -1.5],
        &[0.2, 0.01],
        &[-0.3, -1e-30],
        &[0.2, 3.75],
        &[0.01, 0.0],
    ];
    for (name, z) in ["leaky_relu", "leaky_relu_inplace", "prelu", "prelu_inplace"]
        .into_iter()
        .flat_map(|name| [(name, &z), (name, &zeros)])
    {
        let op = Op::from_name(name).expect("an op of the inventory");
        for set in sets {
            let slopes: Vec<T> = set.iter().map(|&a| T::from_f64(a)).collect();
            for (i, &a) in set.iter().enumerate() {
                // Leaky ReLU: each slope of the set; PReLU: the whole set, once.
                if op.params() != Params::Slope && i > 0 {
                    break;
                }
                let slope = T::slope_of(a);
                let run = |r| run_elementwise(op, r, z, z, slope, &slopes, Subgradient::Left, &[]);
                let want = run(reference);
                assert!(want.is_ok(), "{name} {set:?}: {want:?}");
                for r in simd_backends() {
                    let got = run(r);
                    if got != want {
                        let first = match (&got, &want) {
                            (Ok(g), Ok(w)) => (0..z.len()).find(|&i| g.0[i] != w.0[i]).map(|i| {
                                format!(
                                    "first at {i}: z {:#06x}: got {:#06x}, want {:#06x}",
                                    z[i].to_bits(),
                                    g.0[i],
                                    w.0[i]
                                )
                            }),
                            _ => None,
                        };
                        panic!(
                            "{name} {} on {}, slopes {set:?}: {first:?}",
                            T::NAME,
                            r.backend()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn forward_block_path_bf16() {
    forward_block_path::<bf16>();
}

#[test]
fn forward_block_path_f16() {
    forward_block_path::<f16>();
}

#[test]
fn every_pattern_every_elementwise_op_bf16() {
    every_elementwise_op::<bf16>();
}

#[test]
fn every_pattern_every_elementwise_op_f16() {
    every_elementwise_op::<f16>();
}

/// Maxout forward (values and `u32` indices) and backward (both modes), both layouts,
/// `k` in {1, 2, 3, 4, 8, 16}: every pattern in `z`, every backend against the reference.
fn every_maxout<T: TestElement + Element<Bits = u16>>() {
    let z: Vec<T> = shuffled();
    let n = z.len();
    let reference = reference();
    for k in [1, 2, 3, 4, 8, 16] {
        let g = n / k;
        let z = &z[..g * k];
        for layout in [MaxoutLayout::Interleaved, MaxoutLayout::Planar] {
            let forward = |r: Rectifier| {
                let (mut v, mut ix) = (vec![canary::<T>(); g], vec![u32::MAX; g]);
                r.maxout(z, k, layout, &mut v, &mut ix).unwrap();
                (bits(&v), ix)
            };
            let (want_v, want_ix) = forward(reference);
            let dy: Vec<T> = all::<T>()[..g].to_vec();
            let dx0: Vec<T> = all::<T>()[n - g * k..].to_vec();
            let backward = |r: Rectifier, mode: MaxoutGradMode| {
                let mut dx = dx0.clone();
                r.maxout_backward(&dy, &want_ix, k, layout, &mut dx, mode)
                    .unwrap();
                bits(&dx)
            };
            for r in simd_backends() {
                let ctx = format!("{} k {k} {layout:?} on {}", T::NAME, r.backend());
                let (v, ix) = forward(r);
                assert!(v == want_v, "maxout values {ctx}");
                assert!(ix == want_ix, "maxout indices {ctx}");
                for mode in [MaxoutGradMode::Overwrite, MaxoutGradMode::Accumulate] {
                    assert!(
                        backward(r, mode) == backward(reference, mode),
                        "maxout_backward {mode:?} {ctx}"
                    );
                }
            }
            // Maxout is exact on the bits: every value is one of its group's elements.
            for (gi, &j) in want_ix.iter().enumerate() {
                let p = match layout {
                    MaxoutLayout::Interleaved => gi * k + j as usize,
                    MaxoutLayout::Planar => j as usize * g + gi,
                };
                assert_eq!(want_v[gi], z[p].to_bits(), "k {k} {layout:?} group {gi}");
            }
        }
    }
}

#[test]
fn every_pattern_maxout_bf16() {
    every_maxout::<bf16>();
}

#[test]
fn every_pattern_maxout_f16() {
    every_maxout::<f16>();
}

/// A half format's own conversions, for the rule below.
trait Half: TestElement + Element<Bits = u16, Slope = f32> {
    fn widen(self) -> f32;
    fn narrow(x: f32) -> Self;
    /// The `half` crate's rounding (an independent implementation) of a non-NaN `f32`.
    fn half_crate_round(x: f32) -> u16;
    /// The `half` crate's widening of a non-NaN value.
    fn half_crate_widen(self) -> f32;
}

impl Half for bf16 {
    fn widen(self) -> f32 {
        bf16_to_f32(self.to_bits())
    }
    fn narrow(x: f32) -> Self {
        bf16::from_bits(f32_to_bf16(x))
    }
    fn half_crate_round(x: f32) -> u16 {
        bf16::from_f32(x).to_bits()
    }
    fn half_crate_widen(self) -> f32 {
        self.to_f32()
    }
}

impl Half for f16 {
    fn widen(self) -> f32 {
        f16_to_f32(self.to_bits())
    }
    fn narrow(x: f32) -> Self {
        f16::from_bits(f32_to_f16(x))
    }
    fn half_crate_round(x: f32) -> u16 {
        f16::from_f32(x).to_bits()
    }
    fn half_crate_widen(self) -> f32 {
        self.to_f32()
    }
}

/// The reference of every forward and backward op equals "widen, the `f32` op, round once",
/// where the `f32` op runs through the crate's `f32` API; and the conversions agree with the
/// `half` crate (an independent implementation) on every non-NaN value, and keep NaN bits.
fn follows_the_f32_rule<T: Half>() {
    let scalar = Rectifier::new(Backend::Scalar).unwrap();
    let z: Vec<T> = all();
    let dy: Vec<T> = shuffled();
    let (zf, dyf): (Vec<f32>, Vec<f32>) = (
        z.iter().map(|v| v.widen()).collect(),
        dy.iter().map(|v| v.widen()).collect(),
    );
    for (v, w) in z.iter().zip(&zf) {
        if !w.is_nan() {
            assert_eq!(w.to_bits(), T::half_crate_widen(*v).to_bits(), "widen");
            assert_eq!(
                T::half_crate_round(*w),
                v.to_bits(),
                "widen of {:#06x}",
                v.to_bits()
            );
        } else {
            assert_eq!(T::narrow(*w).to_bits(), v.to_bits(), "NaN round trip");
        }
    }
    let n = z.len();
    for op in [
        Op::Relu,
        Op::LeakyRelu,
        Op::Abs,
        Op::Prelu,
        Op::ReluBackward,
        Op::LeakyReluBackward,
        Op::AbsBackward,
        Op::PreluBackward,
    ] {
        for sub in [Subgradient::Left, Subgradient::Right] {
            let channel = T::slopes();
            for (i, &slope) in T::scalar_slopes().iter().enumerate() {
                let slopes = [channel[i % channel.len()]];
                let mut got = vec![T::ZERO; n];
                let src = if op.backward() { &dy } else { &z };
                op.call(
                    scalar,
                    Args {
                        src,
                        dst: &mut got,
                        z: &z,
                        sub,
                        slope,
                        slopes: &slopes,
                        ..Args::default()
                    },
                )
                .unwrap();
                let mut wide = vec![0.0f32; n];
                let srcf = if op.backward() { &dyf } else { &zf };
                let (af, asf) = (slope, [slopes[0].widen()]);
                op.call(
                    scalar,
                    Args {
                        src: srcf,
                        dst: &mut wide,
                        z: &zf,
                        sub,
                        slope: af,
                        slopes: &asf,
                        ..Args::default()
                    },
                )
                .unwrap();
                for i in 0..n {
                    let w = T::narrow(wide[i]);
                    assert_eq!(
                        got[i].to_bits(),
                        w.to_bits(),
                        "{} {} {sub:?} slope {slope:?}: z {:#06x} dy {:#06x}",
                        op.name(),
                        T::NAME,
                        z[i].to_bits(),
                        dy[i].to_bits()
                    );
                    if !wide[i].is_nan() {
                        assert_eq!(w.to_bits(), T::half_crate_round(wide[i]), "rounding");
                    }
                }
                if op.params() == Params::None {
                    break;
                }
            }
        }
    }
}

#[test]
fn reference_is_the_f32_rule_bf16() {
    follows_the_f32_rule::<bf16>();
}

#[test]
fn reference_is_the_f32_rule_f16() {
    follows_the_f32_rule::<f16>();
}

/// The NaN rules of `SPEC.md` section 7 on a few literal cases.
#[test]
fn nan_rules_literal() {
    let r = Rectifier::new(Backend::Scalar).unwrap();
    for r in std::iter::once(r).chain(simd_backends()) {
        // relu keeps a signalling NaN's bits; leaky_relu quiets it (the f32 product does).
        let z = [bf16::from_bits(0x7f81), bf16::from_bits(0xff80)];
        let mut y = [bf16::ZERO; 2];
        r.relu(&z, &mut y).unwrap();
        assert_eq!(bits(&y), [0x7f81, 0x0000]);
        r.leaky_relu(&z, &mut y, 0.5).unwrap();
        assert_eq!(bits(&y), [0x7fc1, 0xff80]);
        let z = [f16::from_bits(0x7c01), f16::from_bits(0xfc00)];
        let mut y = [f16::ZERO; 2];
        r.relu(&z, &mut y).unwrap();
        assert_eq!(bits(&y), [0x7c01, 0x0000]);
        r.leaky_relu(&z, &mut y, 0.5).unwrap();
        assert_eq!(bits(&y), [0x7e01, 0xfc00]);
        // The invalid product -inf * 0 is the narrowed x86 default NaN.
        let mut y = [bf16::ZERO; 1];
        r.leaky_relu(&[bf16::from_bits(0xff80)], &mut y, 0.0)
            .unwrap();
        assert_eq!(y[0].to_bits(), 0xffc0, "{}", r.backend());
        let mut y = [f16::ZERO; 1];
        r.leaky_relu(&[f16::from_bits(0xfc00)], &mut y, 0.0)
            .unwrap();
        assert_eq!(y[0].to_bits(), 0xfe00, "{}", r.backend());
    }
}

/// The scalar slope of the half formats is an `f32`, as in torch (`negval` stays a `float`):
/// `leaky_relu` with torch's default 0.01 is the `f32` product rounded once, computed here with
/// the `half` crate, on every backend and every non-NaN pattern; and that differs from rounding
/// the slope to the format first for some inputs (so this test tells the two apart).
fn slope_is_f32<T: Half>() {
    let z: Vec<T> = all::<T>().into_iter().filter(|v| !v.is_nan()).collect();
    let a = 0.01f32;
    let want: Vec<u16> = z
        .iter()
        .map(|&v| {
            if v.widen() > 0.0 {
                v.to_bits()
            } else {
                T::half_crate_round(v.widen() * a)
            }
        })
        .collect();
    let a_rounded = T::narrow(a).widen();
    assert_ne!(a_rounded, a, "0.01 is not a {}", T::NAME);
    let differ = z
        .iter()
        .filter(|&&v| v.widen() <= 0.0)
        .filter(|&&v| {
            T::half_crate_round(v.widen() * a) != T::half_crate_round(v.widen() * a_rounded)
        })
        .count();
    assert!(differ > 0, "no input tells the slopes apart");
    let mut y = vec![T::ZERO; z.len()];
    let mut dx = vec![T::ZERO; z.len()];
    let minus_one = vec![T::narrow(-1.0); z.len()];
    for r in std::iter::once(reference()).chain(simd_backends()) {
        r.leaky_relu(&z, &mut y, a).unwrap();
        assert_eq!(bits(&y), want, "{} leaky_relu on {}", T::NAME, r.backend());
        // Backward with dy = z at z = -1 (negative side): a * dy, the same products.
        r.leaky_relu_backward(&minus_one, &z, &mut dx, a, Subgradient::Left)
            .unwrap();
        assert_eq!(
            bits(&dx),
            want_neg(&z, a),
            "{} leaky_relu_backward on {}",
            T::NAME,
            r.backend()
        );
    }
}

/// `a * dy` of every element, rounded once (the negative side of leaky ReLU backward).
fn want_neg<T: Half>(dy: &[T], a: f32) -> Vec<u16> {
    dy.iter()
        .map(|&v| T::half_crate_round(v.widen() * a))
        .collect()
}

#[test]
fn slope_is_f32_bf16() {
    slope_is_f32::<bf16>();
}

#[test]
fn slope_is_f32_f16() {
    slope_is_f32::<f16>();
}

/// Maxout data with one kind of special value per input, so that no other special value
/// sends a block to the exact rule and hides it (the exhaustive test above mixes every kind
/// in every block): positive NaNs of rising payloads (the first must win, not the greatest
/// bits), negative NaNs, and `-0` before `+0` (they tie: the `-0` must win). Many groups, so
/// full vectors of every backend run; `k` in {1, 2, 3, 4, 8, 16}, both layouts, `u32` and
/// `u8` indices, against the reference.
fn maxout_one_special_kind<T: TestElement + Element<Bits = u16>>() {
    let inf = T::from_f64(f64::INFINITY).to_bits();
    let kinds: [(&str, [u16; 3]); 4] = [
        ("positive NaNs", [inf + 1, inf + 2, inf + 3]),
        (
            "negative NaNs",
            [0x8000 | (inf + 1), 0x8000 | (inf + 3), 0x8000 | (inf + 2)],
        ),
        ("-0 before +0", [0x8000, 0x0000, 0x0000]),
        ("+0 before -0", [0x0000, 0x8000, 0x0000]),
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as u32
    };
    let reference = reference();
    for (what, specials) in kinds {
        for k in [1usize, 2, 3, 4, 8, 16] {
            let g = 300;
            // Finite, non-zero values below the specials' groups' maximum where the specials
            // are zeros (negative), so that the zeros are the maximum.
            let mut z: Vec<T> = (0..g * k)
                .map(|_| {
                    let x = -1.0 - (next() % 1000) as f64 / 8.0;
                    let x = if specials[0] & 0x7fff != 0 && next() % 2 == 0 {
                        -x
                    } else {
                        x
                    };
                    T::from_f64(x)
                })
                .collect();
            // About a third of the groups get the specials at rising positions.
            for gi in (0..g).filter(|gi| gi % 3 == 0) {
                let mut pos: Vec<usize> = (0..k).collect();
                let m = specials.len().min(k);
                for i in 0..m {
                    let j = i + next() as usize % (k - i);
                    pos.swap(i, j);
                }
                let mut chosen = pos[..m].to_vec();
                chosen.sort();
                for (&p, &b) in chosen.iter().zip(&specials) {
                    z[gi * k + p] = T::from_bits(b);
                }
            }
            for layout in [MaxoutLayout::Interleaved, MaxoutLayout::Planar] {
                // The planar layout of the same groups: piece `j` of group `gi` at `j g + gi`.
                let zl: Vec<T> = match layout {
                    MaxoutLayout::Planar => (0..g * k).map(|i| z[(i % g) * k + i / g]).collect(),
                    _ => z.clone(),
                };
                let forward = |r: Rectifier| {
                    let (mut v, mut ix) = (vec![canary::<T>(); g], vec![u32::MAX; g]);
                    r.maxout(&zl, k, layout, &mut v, &mut ix).unwrap();
                    let (mut v8, mut ix8) = (vec![canary::<T>(); g], vec![u8::MAX; g]);
                    r.maxout(&zl, k, layout, &mut v8, &mut ix8).unwrap();
                    let mut vv = vec![canary::<T>(); g];
                    r.maxout_values(&zl, k, layout, &mut vv).unwrap();
                    (bits(&v), ix, bits(&v8), ix8, bits(&vv))
                };
                let want = forward(reference);
                for r in simd_backends() {
                    let got = forward(r);
                    assert!(
                        got == want,
                        "{} maxout, {what}, k {k} {layout:?} on {}",
                        T::NAME,
                        r.backend()
                    );
                }
            }
        }
    }
}

#[test]
fn maxout_one_special_kind_bf16() {
    maxout_one_special_kind::<bf16>();
}

#[test]
fn maxout_one_special_kind_f16() {
    maxout_one_special_kind::<f16>();
}

/// The AVX512-BF16 rounding is in use exactly when the CPU has AVX-512 (the backend) and
/// AVX512-BF16 and `RECTIFIER_NO_AVX512_BF16` is not set (CI runs this file both ways), so
/// the tests above exercise the path they are meant to.
#[test]
fn avx512_bf16_switch() {
    #[cfg(target_arch = "x86_64")]
    let cpu = rectifier::supported_backends().contains(Backend::Avx512)
        && std::arch::is_x86_feature_detected!("avx512bf16");
    #[cfg(not(target_arch = "x86_64"))]
    let cpu = false;
    let off = std::env::var_os(rectifier::halves::NO_AVX512_BF16_ENV_VAR).is_some();
    assert_eq!(rectifier::halves::avx512_bf16_in_use(), cpu && !off);
}
