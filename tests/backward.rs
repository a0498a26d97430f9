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
        .replace("_from_output", "");
    Op::from_name(&name).expect("counterpart")
}

/// Whether backward from the output is allowed for these parameters.
fn from_output_ok<T: TestElement>(op: Op, sub: Subgradient, slope: T, slopes: &[T]) -> bool {
    sub == Subgradient::Left
        && match op.params() {
            Params::None => true,
            Params::Slope => slope > T::ZERO,
            Params::ChannelSlopes => slopes.iter().all(|&a| a > T::ZERO),
        }
}

/// The forward op whose output feeds a `*_from_output` op.
fn forward_of(op: Op) -> Op {
    let name = op.name();
    let fwd = name[..name.find("_backward").unwrap()].to_string();
    Op::from_name(&fwd).expect("forward op")
}

/// One run of a backward op on `r`: `z` and `dy` placed `offset` elements into buffers, with
/// canaries around the output. Returns `dx`.
#[allow(clippy::too_many_arguments)]
fn run_grad<T: TestElement>(
    op: Op,
    r: rectifier::Rectifier,
    z: &[T],
    dy: &[T],
    offset: usize,
    slope: T,
    slopes: &[T],
    layout: ChannelLayout,
    sub: Subgradient,
) -> Vec<T> {
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
    let args = Args {
        src: &dyb[offset..offset + n],
        dst: &mut out[offset..offset + n],
        z: &zb[offset..offset + n],
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
    out[offset..offset + n].to_vec()
}

/// Every backward op, both subgradients, every backend, over one `(z, dy)`.
fn check_all<T: TestElement>(
    z: &[T],
    dy: &[T],
    offset: usize,
    slope: T,
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
            let want = run_grad(from_z(op), reference, z, dy, 0, slope, slopes, layout, sub);
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
                let got = run_grad(op, r, &zarg, dy, offset, slope, slopes, layout, sub);
                let ctx = format!(
                    "{} {} on {} sub {sub} (n {}, offset {offset}, slope {slope:?}, C {}, {layout:?})",
                    op.name(),
                    T::NAME,
                    r.backend(),
                    z.len(),
                    slopes.len()
                );
                assert_bits_eq(&got, &want, z, &ctx);
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
        let offset = rng.below(16);
        check_all(
            &z,
            &dy,
            offset,
            slope,
            &[slope],
            ChannelLayout::ChannelsLast,
        );
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
                slope,
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
        check_all(&z, &dy, 3, slope, &[slope], ChannelLayout::ChannelsLast);
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
            check_all(&z, &dy, rng.below(16), T::ZERO, &slopes, layout);
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
