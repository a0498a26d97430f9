//! Backward kernels: every backward op x dtype x supported backend x subgradient, through the
//! public dispatched API with the backend forced, equals the scalar reference bit for bit
//! (lengths 0..=3 * widest tile + 1, start offsets 0..=15, special values in `z` and `dy`,
//! canaries around the output). In-place ops are compared with the out-of-place reference,
//! and backward from the output `y` with backward from `z` where the SPEC says it is exact.

mod common;

use common::*;
use rectifier::inventory::{Args, Op, Params};
use rectifier::{ChannelLayout, Subgradient};

const SUBS: [Subgradient; 2] = [Subgradient::Left, Subgradient::Right];

fn layout_run(layout: ChannelLayout) -> usize {
    match layout {
        ChannelLayout::ChannelsLast => 1,
        ChannelLayout::ChannelsFirst { spatial } => spatial,
    }
}

fn backward_ops() -> Vec<Op> {
    Op::ALL.iter().copied().filter(|op| op.backward()).collect()
}

/// The backward-from-`z` op a `*_from_output*` / `*_inplace` op is compared with.
fn from_z(op: Op) -> Op {
    let name = op
        .name()
        .trim_end_matches("_inplace")
        .replace("_from_output", "")
        .replace("_from_mask", "");
    Op::from_name(&name).expect("counterpart")
}

/// Whether backward from the output is allowed for these parameters.
fn from_output_ok<T: TestElement>(op: Op, sub: Subgradient, slope: T::Slope, slopes: &[T]) -> bool {
    sub == Subgradient::Left
        && match op.params() {
            Params::None => true,
            Params::Slope => slope > Default::default(),
            Params::ChannelSlopes => slopes.iter().all(|&a| a > T::ZERO),
            Params::Maxout | Params::MaxoutBackward => false,
        }
}

/// The forward op whose output feeds a `*_from_output` op.
fn forward_of(op: Op) -> Op {
    let name = op.name();
    let fwd = name[..name.find("_backward").unwrap()].to_string();
    Op::from_name(&fwd).expect("forward op")
}

/// The mask written by the reference forward-with-mask op of a `*_from_mask` op.
fn forward_mask<T: TestElement>(
    op: Op,
    z: &[T],
    slope: T::Slope,
    slopes: &[T],
    layout: ChannelLayout,
    sub: Subgradient,
) -> Vec<u64> {
    let name = op.name().trim_end_matches("_inplace");
    let fwd = format!("{}_with_mask", &name[..name.find("_backward").unwrap()]);
    let fwd = Op::from_name(&fwd).expect("forward with mask");
    let mut y = vec![T::ZERO; z.len()];
    let mut mask = vec![u64::MAX; rectifier::mask_words(z.len())];
    fwd.call(
        reference(),
        Args {
            src: z,
            dst: &mut y,
            mask: &mut mask,
            slope,
            slopes,
            layout,
            sub,
            ..Args::default()
        },
    )
    .unwrap();
    mask
}

/// One run of a backward op on `r`: `z` and `dy` placed `offset` elements into buffers, with
/// canaries around the outputs. Returns `dx`, and `da` for the ops that write it (else empty).
#[allow(clippy::too_many_arguments)]
fn run_grad<T: TestElement>(
    op: Op,
    r: rectifier::Rectifier,
    z: &[T],
    dy: &[T],
    offset: usize,
    slope: T::Slope,
    slopes: &[T],
    layout: ChannelLayout,
    sub: Subgradient,
    mask: &[u64],
) -> (Vec<T>, Vec<T>) {
    let n = z.len();
    let c = canary::<T>();
    let place = |v: &[T]| {
        let mut b = vec![c; offset + n + 3];
        b[offset..offset + n].copy_from_slice(v);
        b
    };
    let (zb, dyb) = (place(z), place(dy));
    let mut out = if op.inplace() {
        place(dy)
    } else {
        vec![c; offset + n + 3]
    };
    let nda = if op.writes_da() { slopes.len() } else { 0 };
    let mut da = vec![c; nda + 2];
    let args = Args {
        src: &dyb[offset..offset + n],
        dst: &mut out[offset..offset + n],
        z: &zb[offset..offset + n],
        da: &mut da[1..1 + nda],
        mask: &mut mask.to_vec(),
        sub,
        slope,
        slopes,
        layout,
        ..Args::default()
    };
    op.call(r, args)
        .unwrap_or_else(|e| panic!("{} on {} failed: {e}", op.name(), r.backend()));
    for (i, v) in out.iter().enumerate() {
        if i < offset || i >= offset + n {
            assert_eq!(
                v.to_bits(),
                c.to_bits(),
                "{} on {} wrote outside its output (index {i}, offset {offset}, n {n})",
                op.name(),
                r.backend()
            );
        }
    }
    assert_eq!(da[0].to_bits(), c.to_bits(), "da written before its start");
    assert_eq!(
        da[nda + 1].to_bits(),
        c.to_bits(),
        "da written after its end"
    );
    (out[offset..offset + n].to_vec(), da[1..1 + nda].to_vec())
}

/// Every backward op, both subgradients, every backend, over one `(z, dy)`.
fn check_all<T: TestElement>(
    z: &[T],
    dy: &[T],
    offset: usize,
    slope: T::Slope,
    slopes: &[T],
    layout: ChannelLayout,
) {
    let reference = reference();
    let period = slopes.len() * layout_run(layout);
    for op in backward_ops() {
        if op.params() == Params::ChannelSlopes && !z.len().is_multiple_of(period) {
            continue;
        }
        for sub in SUBS {
            // Backward from z on the reference is the expected answer for every op.
            let (want, want_da) = run_grad(
                from_z(op),
                reference,
                z,
                dy,
                0,
                slope,
                slopes,
                layout,
                sub,
                &[],
            );
            // The mask of the forward-with-mask op under `sub`, for the `*_from_mask` ops.
            let mask = if op.from_mask() {
                forward_mask(op, z, slope, slopes, layout, sub)
            } else {
                Vec::new()
            };
            // The `z` argument: the forward output for `*_from_output`, where exact.
            let zarg: Vec<T> = if op.from_output() {
                if !from_output_ok(op, sub, slope, slopes) {
                    continue;
                }
                let fwd = forward_of(op);
                run_op(fwd, reference, z, 0, slope, slopes, layout)
            } else {
                z.to_vec()
            };
            for r in backends() {
                let (got, got_da) =
                    run_grad(op, r, &zarg, dy, offset, slope, slopes, layout, sub, &mask);
                let ctx = format!(
                    "{} {} on {} sub {sub} (n {}, offset {offset}, slope {slope:?}, C {}, {layout:?})",
                    op.name(),
                    T::NAME,
                    r.backend(),
                    z.len(),
                    slopes.len()
                );
                assert_bits_eq(&got, &want, z, &ctx);
                assert_bits_eq(&got_da, &want_da, &[], &format!("da of {ctx}"));
            }
        }
    }
}

fn matrix<T: TestElement>() {
    let mut rng = Rng(0x5eed_0000 ^ T::NAME.len() as u64);
    let slopes_all = T::slopes();
    for n in lengths::<T>() {
        let z: Vec<T> = mixed_data(&mut rng, n);
        let dy: Vec<T> = mixed_data(&mut rng, n);
        let slope = slopes_all[rng.below(slopes_all.len())];
        let scalar = T::scalar_slopes();
        let a = scalar[rng.below(scalar.len())];
        let offset = rng.below(16);
        check_all(&z, &dy, offset, a, &[slope], ChannelLayout::ChannelsLast);
    }
}

#[test]
fn matrix_f32() {
    matrix::<f32>();
}

#[test]
fn matrix_f64() {
    matrix::<f64>();
}

#[test]
fn matrix_bf16() {
    matrix::<rectifier::bf16>();
}

#[test]
fn matrix_f16() {
    matrix::<rectifier::f16>();
}

/// `z` exactly at the kink (`+0`, `-0`) and around it, against every special `dy`, every slope
/// (positive ones reach the from-output ops), every offset.
fn kink<T: TestElement>() {
    let specials = T::specials();
    let near: Vec<T> = vec![
        T::ZERO,
        T::from_bits(T::SIGN_BITS),
        specials[11],
        specials[12],
        specials[0],
        specials[4],
    ];
    let n = 3 * rectifier::kernels::max_tile::<T>() + 5;
    let z: Vec<T> = (0..n).map(|i| near[i % near.len()]).collect();
    let dy: Vec<T> = (0..n)
        .map(|i| specials[(i / near.len() + i) % specials.len()])
        .collect();
    for slope in T::slopes() {
        for offset in 0..=15 {
            check_all(
                &z,
                &dy,
                offset,
                slope.to_slope(),
                &[slope],
                ChannelLayout::ChannelsLast,
            );
        }
    }
}

#[test]
fn kink_f32() {
    kink::<f32>();
}

#[test]
fn kink_f64() {
    kink::<f64>();
}

#[test]
fn kink_bf16() {
    kink::<rectifier::bf16>();
}

#[test]
fn kink_f16() {
    kink::<rectifier::f16>();
}

/// Every special `z` against every special `dy` (the full cross product), every slope.
fn specials_cross<T: TestElement>() {
    let sp = T::specials();
    let mut z = Vec::new();
    let mut dy = Vec::new();
    for &a in &sp {
        for &b in &sp {
            z.push(a);
            dy.push(b);
        }
    }
    for slope in T::slopes() {
        check_all(
            &z,
            &dy,
            3,
            slope.to_slope(),
            &[slope],
            ChannelLayout::ChannelsLast,
        );
    }
}

#[test]
fn specials_cross_f32() {
    specials_cross::<f32>();
}

#[test]
fn specials_cross_f64() {
    specials_cross::<f64>();
}

#[test]
fn specials_cross_bf16() {
    specials_cross::<rectifier::bf16>();
}

#[test]
fn specials_cross_f16() {
    specials_cross::<rectifier::f16>();
}

/// PReLU backward over every shape (the kernel takes different paths for each).
fn prelu_shapes_all<T: TestElement>() {
    let mut rng = Rng(0xabcd_ef01);
    let slopes_all = T::slopes();
    for (c, layout) in prelu_shapes() {
        let period = c * layout_run(layout);
        for rows in [0usize, 1, 2, 3, 5] {
            let n = period * rows;
            let z: Vec<T> = mixed_data(&mut rng, n);
            let dy: Vec<T> = mixed_data(&mut rng, n);
            // Alternate between arbitrary slopes and all-positive ones (from-output ops).
            let slopes: Vec<T> = (0..c)
                .map(|_| {
                    let a = slopes_all[rng.below(slopes_all.len())];
                    if rows % 2 == 1 && a <= T::ZERO {
                        T::from_f64(0.5)
                    } else {
                        a
                    }
                })
                .collect();
            check_all(&z, &dy, rng.below(16), Default::default(), &slopes, layout);
        }
    }
}

#[test]
fn prelu_shapes_f32() {
    prelu_shapes_all::<f32>();
}

#[test]
fn prelu_shapes_f64() {
    prelu_shapes_all::<f64>();
}

#[test]
fn prelu_shapes_bf16() {
    prelu_shapes_all::<rectifier::bf16>();
}

#[test]
fn prelu_shapes_f16() {
    prelu_shapes_all::<rectifier::f16>();
}

/// The reference against SPEC.md section 3 on hand-picked values.
#[test]
fn reference_follows_spec() {
    use Subgradient::{Left, Right};
    use rectifier::reference as refr;
    let nz = -0.0f32;
    let snan = f32::from_bits(0xff80_0abc);
    let qnan_neg = f32::from_bits(0xffc0_1234);
    // relu: Left blocks the kink, Right passes it; NaN z passes dy.
    assert_eq!(refr::relu_backward(0.0f32, 5.0, Left).to_bits(), 0);
    assert_eq!(refr::relu_backward(nz, 5.0, Left).to_bits(), 0);
    assert_eq!(refr::relu_backward(nz, -5.0, Left).to_bits(), 0);
    assert_eq!(refr::relu_backward(0.0f32, 5.0, Right), 5.0);
    assert_eq!(refr::relu_backward(nz, 5.0, Right), 5.0);
    assert_eq!(
        refr::relu_backward(f32::NAN, snan, Left).to_bits(),
        snan.to_bits()
    );
    assert_eq!(
        refr::relu_backward(f32::NAN, snan, Right).to_bits(),
        snan.to_bits()
    );
    assert_eq!(refr::relu_backward(-1e-45f32, 5.0, Right).to_bits(), 0);
    // leaky_relu: Left passes dy bits (sNaN too) only for z > 0.
    assert_eq!(
        refr::leaky_relu_backward(1.0f32, snan, 0.5, Left).to_bits(),
        snan.to_bits()
    );
    assert_eq!(refr::leaky_relu_backward(0.0f32, 4.0, 0.5, Left), 2.0);
    assert_eq!(refr::leaky_relu_backward(nz, 4.0, 0.5, Right), 4.0);
    assert_eq!(refr::leaky_relu_backward(f32::NAN, 4.0, 0.5, Left), 2.0);
    assert_eq!(refr::leaky_relu_backward(f32::NAN, 4.0, 0.5, Right), 2.0);
    // a * dy quiets a NaN dy, keeps sign and payload.
    assert_eq!(
        refr::leaky_relu_backward(-1.0f32, snan, 0.5, Left).to_bits(),
        0xffc0_0abc
    );
    // a = 0 times dy = inf is the x86 default NaN.
    assert_eq!(
        refr::leaky_relu_backward(-1.0f32, f32::INFINITY, 0.0, Left).to_bits(),
        0xffc0_0000
    );
    // abs: s = -1, +0, +1; a product, not a sign flip.
    assert_eq!(refr::abs_backward(-2.0f32, 3.0), -3.0);
    assert_eq!(refr::abs_backward(2.0f32, 3.0), 3.0);
    assert_eq!(
        refr::abs_backward(0.0f32, -3.0).to_bits(),
        (-0.0f32).to_bits()
    );
    assert_eq!(refr::abs_backward(nz, 3.0).to_bits(), 0);
    assert_eq!(refr::abs_backward(f32::NAN, 3.0).to_bits(), 0);
    assert_eq!(
        refr::abs_backward(0.0f32, f32::INFINITY).to_bits(),
        0xffc0_0000
    );
    assert_eq!(
        refr::abs_backward(-0.0f64, f64::NEG_INFINITY).to_bits(),
        0xfff8_0000_0000_0000
    );
    // A NaN dy keeps its sign when s = -1 (flipping the sign bit would be wrong), quieted.
    assert_eq!(refr::abs_backward(-2.0f32, qnan_neg).to_bits(), 0xffc0_1234);
    assert_eq!(refr::abs_backward(-2.0f32, snan).to_bits(), 0xffc0_0abc);
    assert_eq!(
        refr::abs_backward(-2.0f32, f32::from_bits(0x7f80_0001)).to_bits(),
        0x7fc0_0001
    );
}

/// Every error path of the backward API: the typed error, a message naming expected and
/// actual, and nothing written (neither `dx` nor the in-place `dy_dx`).
#[test]
fn errors_write_nothing() {
    use rectifier::Error;
    const S: f32 = 7.25;
    let cl = ChannelLayout::ChannelsLast;
    let left = Subgradient::Left;
    for r in backends() {
        let z = [1.0f32, -1.0, 0.0, 2.0];
        let dy = [1.0f32; 4];
        let dy3 = [1.0f32; 3];
        type Call<'a> = Box<dyn Fn(&mut [f32]) -> Result<(), Error> + 'a>;
        // (call, output length, expected error)
        let len_dy = Error::LengthMismatch {
            what: "dy",
            expected: 4,
            actual: 3,
        };
        let len_dx = Error::LengthMismatch {
            what: "dx",
            expected: 4,
            actual: 3,
        };
        let len_io = Error::LengthMismatch {
            what: "dy_dx",
            expected: 4,
            actual: 3,
        };
        let not_left = Error::FromOutputSubgradient {
            expected: Subgradient::Left,
            actual: Subgradient::Right,
        };
        let cases: Vec<(Call, usize, Error)> = vec![
            (
                Box::new(|d| r.relu_backward(&z, &dy3, d, left)),
                4,
                len_dy.clone(),
            ),
            (
                Box::new(|d| r.relu_backward(&z, &dy, d, left)),
                3,
                len_dx.clone(),
            ),
            (
                Box::new(|d| r.relu_backward_inplace(&z, d, left)),
                3,
                len_io.clone(),
            ),
            (Box::new(|d| r.abs_backward(&z, &dy3, d)), 4, len_dy.clone()),
            (Box::new(|d| r.abs_backward(&z, &dy, d)), 3, len_dx.clone()),
            (
                Box::new(|d| r.abs_backward_inplace(&z, d)),
                3,
                len_io.clone(),
            ),
            (
                Box::new(|d| r.leaky_relu_backward(&z, &dy, d, 0.1, left)),
                3,
                len_dx.clone(),
            ),
            (
                Box::new(|d| r.leaky_relu_backward_inplace(&z, d, 0.1, left)),
                3,
                len_io.clone(),
            ),
            (
                Box::new(|d| r.prelu_backward(&z, &dy, d, &[0.1], cl, left)),
                3,
                len_dx.clone(),
            ),
            (
                Box::new(|d| r.prelu_backward_inplace(&z, d, &[0.1], cl, left)),
                3,
                len_io.clone(),
            ),
            (
                Box::new(|d| r.relu_backward_from_output(&z, &dy, d, Subgradient::Right)),
                4,
                not_left.clone(),
            ),
            (
                Box::new(|d| r.relu_backward_from_output_inplace(&z, d, Subgradient::Right)),
                4,
                not_left.clone(),
            ),
            (
                Box::new(|d| {
                    r.leaky_relu_backward_from_output(&z, &dy, d, 0.1, Subgradient::Right)
                }),
                4,
                not_left.clone(),
            ),
            (
                Box::new(|d| r.leaky_relu_backward_from_output(&z, &dy, d, 0.0, left)),
                4,
                Error::FromOutputSlope {
                    index: 0,
                    value: 0.0,
                },
            ),
            (
                Box::new(|d| r.leaky_relu_backward_from_output_inplace(&z, d, -0.5, left)),
                4,
                Error::FromOutputSlope {
                    index: 0,
                    value: -0.5,
                },
            ),
            (
                Box::new(|d| r.prelu_backward_from_output(&z, &dy, d, &[0.5, -0.0], cl, left)),
                4,
                Error::FromOutputSlope {
                    index: 1,
                    value: -0.0,
                },
            ),
            (
                Box::new(|d| {
                    r.prelu_backward_from_output_inplace(&z, d, &[0.5, 0.5], cl, Subgradient::Right)
                }),
                4,
                not_left.clone(),
            ),
            (
                Box::new(|d| r.prelu_backward(&z, &dy, d, &[], cl, left)),
                4,
                Error::InvalidShape {
                    what: "slopes.len() (channel count)",
                    expected: "at least 1",
                    actual: 0,
                },
            ),
            (
                Box::new(|d| r.prelu_backward(&z, &dy, d, &[0.1; 3], cl, left)),
                4,
                Error::NotDivisible {
                    what: "z",
                    len: 4,
                    divisor: 3,
                    divisor_name: "channels",
                },
            ),
            (
                Box::new(|d| {
                    r.prelu_backward_inplace(
                        &z,
                        d,
                        &[0.1; 3],
                        ChannelLayout::ChannelsFirst { spatial: 1 },
                        left,
                    )
                }),
                4,
                Error::NotDivisible {
                    what: "z",
                    len: 4,
                    divisor: 3,
                    divisor_name: "channels * spatial",
                },
            ),
        ];
        for (i, (call, len, want)) in cases.into_iter().enumerate() {
            let mut out = vec![S; len];
            let got = call(&mut out).expect_err("expected an error");
            assert_eq!(got, want, "case {i} on {}", r.backend());
            assert!(
                out.iter().all(|v| *v == S),
                "case {i}: output written on error"
            );
            let msg = got.to_string();
            assert!(!msg.is_empty());
        }
        // The slope gradient: `da` of the wrong length; neither dx nor da written.
        let mut da = [S; 3];
        let mut out = [S; 4];
        assert_eq!(
            r.prelu_backward_with_slope_grad(&z, &dy, &mut out, &[0.1, 0.2], &mut da, cl, left),
            Err(Error::LengthMismatch {
                what: "da",
                expected: 2,
                actual: 3
            })
        );
        assert_eq!(
            r.prelu_backward_with_slope_grad_inplace(&z, &mut out, &[0.1, 0.2], &mut da, cl, left),
            Err(Error::LengthMismatch {
                what: "da",
                expected: 2,
                actual: 3
            })
        );
        assert!(matches!(
            r.prelu_backward_with_slope_grad(&z, &dy3, &mut out, &[0.1], &mut da[..1], cl, left),
            Err(Error::LengthMismatch { what: "dy", .. })
        ));
        assert!(matches!(
            r.prelu_backward_with_slope_grad(&z, &dy, &mut out, &[0.1; 3], &mut da, cl, left),
            Err(Error::NotDivisible { .. })
        ));
        assert!(matches!(
            r.prelu_backward_with_slope_grad(
                &z,
                &dy,
                &mut out,
                &[0.1, f32::NAN],
                &mut da[..2],
                cl,
                left
            ),
            Err(Error::NonFiniteSlope { index: 1, .. })
        ));
        assert_eq!(out, [S; 4]);
        assert_eq!(da, [S; 3]);
        // Non-finite slopes, scalar and per channel, out of place and in place.
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut out = [S; 4];
            let e = r
                .leaky_relu_backward(&z, &dy, &mut out, bad, left)
                .unwrap_err();
            assert!(matches!(e, Error::NonFiniteSlope { index: 0, .. }));
            let e = r
                .leaky_relu_backward_inplace(&z, &mut out, bad, left)
                .unwrap_err();
            assert!(matches!(e, Error::NonFiniteSlope { index: 0, .. }));
            let e = r
                .prelu_backward(&z, &dy, &mut out, &[0.1, bad], cl, left)
                .unwrap_err();
            assert!(matches!(e, Error::NonFiniteSlope { index: 1, .. }));
            let e = r
                .prelu_backward_from_output_inplace(&z, &mut out, &[bad, 0.1], cl, left)
                .unwrap_err();
            assert!(matches!(e, Error::NonFiniteSlope { index: 0, .. }));
            assert_eq!(out, [S; 4]);
        }
    }
    // The messages name expected and actual.
    let m = Error::FromOutputSubgradient {
        expected: Subgradient::Left,
        actual: Subgradient::Right,
    }
    .to_string();
    assert!(m.contains("left") && m.contains("right"), "{m}");
    let m = Error::FromOutputSlope {
        index: 2,
        value: -0.5,
    }
    .to_string();
    assert!(
        m.contains("slope 2") && m.contains("-0.5") && m.contains("> 0"),
        "{m}"
    );
}

/// The exactly rounded sum of `xs` (Shewchuk's algorithm with CPython `math.fsum`'s final
/// rounding); `xs` must not overflow.
fn fsum(xs: &[f64]) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for &x0 in xs {
        let mut x = x0;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                core::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        partials.push(x);
    }
    let mut n = partials.len();
    if n == 0 {
        return 0.0;
    }
    n -= 1;
    let mut hi = partials[n];
    let mut lo = 0.0;
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = partials[n];
        hi = x + y;
        lo = y - (hi - x);
        if lo != 0.0 {
            break;
        }
    }
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

#[test]
fn fsum_is_exact() {
    assert_eq!(fsum(&[1e100, 1.0, -1e100, 1e-100]), 1.0);
    assert_eq!(fsum(&[0.1; 10]), 1.0);
    assert_eq!(fsum(&[1.0, 1e-16, 1e-16]), 1.0000000000000002);
}

/// Adversarial inputs for the slope gradient: `(z, dy)` with every `z <= 0` (every term
/// counts), in three families: heavy cancellation (large terms that cancel in pairs, far apart,
/// around small ones), wide dynamic range (exponents over most of the format), and sorted
/// magnitudes (the worst case for a running sum).
fn adversarial<T: TestElement>(
    rng: &mut Rng,
    n: usize,
    family: usize,
    max_exp: i32,
) -> (Vec<T>, Vec<T>) {
    let unit = |rng: &mut Rng| 1.0 + (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let mut z = Vec::with_capacity(n);
    let mut dy = Vec::with_capacity(n);
    for i in 0..n {
        let (zv, dv) = match family {
            0 => {
                // +-2^40-ish terms cancelling between the first and second half, plus noise.
                let big = (i % 7) as f64 + 1.0;
                let sign = if i < n / 2 { 1.0 } else { -1.0 };
                if i % 3 == 0 {
                    (-unit(rng) * 1e-3, sign * unit(rng))
                } else {
                    (-big * 2f64.powi(20), sign * big * 2f64.powi(20))
                }
            }
            1 => {
                let e1 = (rng.below(2 * max_exp as usize) as i32) - max_exp;
                let e2 = (rng.below(2 * max_exp as usize) as i32) - max_exp;
                let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
                (
                    -unit(rng) * 2f64.powi(e1 / 2),
                    sign * unit(rng) * 2f64.powi(e2 / 2),
                )
            }
            _ => (
                -(i as f64 + 1.0) * unit(rng),
                if i % 2 == 0 { 1.0 } else { -0.999 },
            ),
        };
        z.push(T::from_f64(zv));
        dy.push(T::from_f64(dv));
    }
    (z, dy)
}

/// `da` against the exactly rounded sum of its terms, with the documented bound
/// (`reference::prelu_slope_grad`): `|da - exact| <= d * 2^-53 * sum |t|` with
/// `d = m + ceil(log2 K) + ceil(log2 blocks)`, `m <= 128` terms per slot per block and `K <= 512`
/// slots folded per channel per block, plus the final rounding to `f32` (`2^-24 |exact|`).
/// Also bitwise equal on every backend, and far closer than a naive running sum in `T`.
fn slope_grad_accuracy<T: TestElement>(max_exp: i32) {
    let mut rng = Rng(0x0dd5_eed5);
    let shapes = [
        (3usize, ChannelLayout::ChannelsLast),
        (1, ChannelLayout::ChannelsLast),
        (2, ChannelLayout::ChannelsFirst { spatial: 100 }),
        (5, ChannelLayout::ChannelsFirst { spatial: 7 }),
    ];
    for family in 0..3 {
        for &(c, layout) in &shapes {
            let period = c * layout_run(layout);
            let n = 200_000 / period * period;
            let (z, dy) = adversarial::<T>(&mut rng, n, family, max_exp);
            let slopes = vec![T::from_f64(0.25); c];
            let mut dx = vec![T::ZERO; n];
            let mut want = vec![T::ZERO; c];
            reference()
                .prelu_backward_with_slope_grad(
                    &z,
                    &dy,
                    &mut dx,
                    &slopes,
                    &mut want,
                    layout,
                    Subgradient::Left,
                )
                .unwrap();
            for r in backends() {
                let mut da = vec![T::ZERO; c];
                r.prelu_backward_with_slope_grad(
                    &z,
                    &dy,
                    &mut dx,
                    &slopes,
                    &mut da,
                    layout,
                    Subgradient::Right,
                )
                .unwrap();
                assert_bits_eq(&da, &want, &[], &format!("da on {}", r.backend()));
            }
            let blocks = n.div_ceil(256) as f64;
            let depth = 128.0 + 9.0 + blocks.log2().ceil() + 1.0;
            for (ch, da_ch) in want.iter().enumerate() {
                let terms: Vec<f64> = (0..n)
                    .filter(|&i| layout.channel_of(i, c) == ch)
                    .map(|i| rectifier::reference::backward::slope_grad_term(z[i], dy[i]))
                    .collect();
                let exact = fsum(&terms);
                let abs_sum: f64 = terms.iter().map(|t| t.abs()).sum();
                let got = da_ch.to_f64();
                let final_rounding = if T::NAME == "f32" {
                    2f64.powi(-24) * exact.abs() * 1.01
                } else {
                    0.0
                };
                let bound = depth * 2f64.powi(-53) * abs_sum * 1.01 + final_rounding;
                let err = (got - exact).abs();
                eprintln!(
                    "{} family {family} C={c} {layout:?} ch {ch}: err / (2^-53 sum|t|) = {:.3}, \
                     err / |exact| = {:.2e}, naive {} err / |exact| = {:.2e}",
                    T::NAME,
                    err / (2f64.powi(-53) * abs_sum),
                    err / exact.abs(),
                    T::NAME,
                    (terms
                        .iter()
                        .fold(T::ZERO, |acc, &t| acc + T::from_f64(t))
                        .to_f64()
                        - exact)
                        .abs()
                        / exact.abs()
                );
                // The naive running sum in T, for the record.
                let naive = terms
                    .iter()
                    .fold(T::ZERO, |acc, &t| acc + T::from_f64(t))
                    .to_f64();
                assert!(
                    err <= bound,
                    "{} family {family} C={c} {layout:?} channel {ch}: da {got:e} exact {exact:e} \
                     err {err:e} > bound {bound:e} (sum|t| {abs_sum:e}, naive err {:e})",
                    T::NAME,
                    (naive - exact).abs()
                );
            }
        }
    }
}

#[test]
fn slope_grad_accuracy_f64() {
    slope_grad_accuracy::<f64>(1000);
}

#[test]
fn slope_grad_accuracy_f32() {
    slope_grad_accuracy::<f32>(120);
}

/// Small cases of the slope-gradient contract: the mask `!(z > 0)` for both subgradients,
/// `z = ±0` terms, NaN/inf terms giving the x86 default NaN, `+0` (never `-0`) when there are
/// no or only zero terms, and the in-place form reading `dy` before overwriting it.
#[test]
fn slope_grad_small_cases() {
    let cl = ChannelLayout::ChannelsLast;
    for r in backends() {
        for sub in SUBS {
            let mut dx = [0.0f32; 4];
            let mut da = [9.0f32; 2];
            // channel 0: z = -0 (term -0 * 3 = -0), z = 2 (masked out); channel 1: -1 * 4, NaN.
            let z = [-0.0f32, -1.0, 2.0, f32::NAN];
            let dy = [3.0f32, 4.0, 5.0, 1.0];
            r.prelu_backward_with_slope_grad(&z, &dy, &mut dx, &[0.5, 0.5], &mut da, cl, sub)
                .unwrap();
            assert_eq!(da[0].to_bits(), 0, "+0, not -0 ({})", r.backend());
            assert_eq!(da[1].to_bits(), 0xffc0_0000, "NaN term -> default NaN");
            // inf * 0 at the kink.
            let z = [0.0f64, -1.0];
            let dy = [f64::INFINITY, 1.0];
            let (mut dx, mut da) = ([0.0f64; 2], [0.0f64; 1]);
            r.prelu_backward_with_slope_grad(&z, &dy, &mut dx, &[0.1], &mut da, cl, sub)
                .unwrap();
            assert_eq!(da[0].to_bits(), 0xfff8_0000_0000_0000);
            // Empty input: da = +0.
            let mut da = [5.0f32; 3];
            r.prelu_backward_with_slope_grad(&[], &[], &mut [], &[0.1; 3], &mut da, cl, sub)
                .unwrap();
            assert_eq!(da, [0.0; 3]);
            // In place equals out of place, dx and da.
            let z = [-1.0f32, -2.0, 3.0, -4.0, 5.0, -6.0];
            let dy = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
            let (mut dx, mut da) = ([0.0f32; 6], [0.0f32; 2]);
            r.prelu_backward_with_slope_grad(&z, &dy, &mut dx, &[0.5, 0.25], &mut da, cl, sub)
                .unwrap();
            let (mut x, mut da2) = (dy, [0.0f32; 2]);
            r.prelu_backward_with_slope_grad_inplace(&z, &mut x, &[0.5, 0.25], &mut da2, cl, sub)
                .unwrap();
            assert_eq!(x, dx);
            assert_eq!(da, da2);
            assert_eq!(da, [-1.0, -4.0 - 16.0 - 36.0]);
        }
    }
}

/// The pairwise helpers agree with their definition: `tree` (fast path and recursion),
/// `tree_rows` and `PairwiseStack` give the same bits for every length.
#[test]
fn pairwise_shapes_agree() {
    use rectifier::reference::backward::{PairwiseStack, tree, tree_rows};
    fn tree_def(x: &[f64]) -> f64 {
        match x.len() {
            0 => 0.0,
            1 => x[0],
            n => {
                let m = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
                tree_def(&x[..m]) + tree_def(&x[m..])
            }
        }
    }
    let mut rng = Rng(77);
    for n in 0..140 {
        let x: Vec<f64> = (0..n)
            .map(|_| {
                let e = rng.below(120) as i32 - 60;
                (rng.next_u64() >> 11) as f64 * 2f64.powi(e - 53) - 2f64.powi(e - 1)
            })
            .collect();
        let want = tree_def(&x);
        assert_eq!(tree(&x).to_bits(), want.to_bits(), "tree n={n}");
        let mut st = PairwiseStack::default();
        for &v in &x {
            st.push(v);
        }
        assert_eq!(st.finish().to_bits(), want.to_bits(), "stack n={n}");
        // rows of width 3: position 1 of each row
        let mut rows: Vec<f64> = x.iter().flat_map(|&v| [1.0, v, -v]).collect();
        tree_rows(&mut rows, 3, n);
        if n > 0 {
            assert_eq!(rows[1].to_bits(), want.to_bits(), "rows n={n}");
        }
    }
}
