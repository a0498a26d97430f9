//! The memory-saving path: forward-with-mask ops equal the forward ops on `y` and the
//! reference on the mask, bit for bit, on every backend (lengths 0..=3 * tile + 1 and more,
//! offsets 0..=15, special values, both subgradients), with nothing written outside `y` or the
//! mask; the mask bits follow the documented layout; errors write nothing. (Backward from the
//! mask equals backward from `z` in tests/backward.rs.)

mod common;

use common::*;
use rectifier::inventory::{Args, Op};
use rectifier::{Error, Subgradient, mask_words};

/// The forward-with-mask ops with a scalar or no slope (PReLU: `prelu_shapes_*` below).
fn mask_ops() -> Vec<Op> {
    Op::ALL
        .iter()
        .copied()
        .filter(|o| o.writes_mask() && o.params() != rectifier::inventory::Params::ChannelSlopes)
        .collect()
}

/// `(y, mask)` of one forward-with-mask op on `r`, with canaries around both.
fn run_mask<T: TestElement>(
    op: Op,
    r: rectifier::Rectifier,
    z: &[T],
    offset: usize,
    slope: T::Slope,
    sub: Subgradient,
) -> (Vec<T>, Vec<u64>) {
    let n = z.len();
    let c = canary::<T>();
    let mut zb = vec![c; offset + n + 3];
    zb[offset..offset + n].copy_from_slice(z);
    let mut out = if op.inplace() {
        zb.clone()
    } else {
        vec![c; offset + n + 3]
    };
    let w = mask_words(n);
    const MC: u64 = 0xdead_beef_dead_beef;
    let mut mask = vec![MC; w + 2];
    op.call(
        r,
        Args {
            src: &zb[offset..offset + n],
            dst: &mut out[offset..offset + n],
            mask: &mut mask[1..1 + w],
            slope,
            sub,
            ..Args::default()
        },
    )
    .unwrap_or_else(|e| panic!("{} failed: {e}", op.name()));
    for (i, v) in out.iter().enumerate() {
        if i < offset || i >= offset + n {
            assert_eq!(v.to_bits(), c.to_bits(), "{} wrote outside y", op.name());
        }
    }
    assert_eq!(mask[0], MC, "mask written before its start");
    assert_eq!(mask[w + 1], MC, "mask written after its end");
    (out[offset..offset + n].to_vec(), mask[1..1 + w].to_vec())
}

fn check<T: TestElement>(z: &[T], offset: usize, slope: T) {
    let reference = reference();
    for op in mask_ops() {
        let plain = Op::from_name(&op.name().replace("_with_mask", "")).unwrap();
        let want_y = run_op(
            out_of_place(plain),
            reference,
            z,
            0,
            slope.to_slope(),
            &[slope],
            rectifier::ChannelLayout::ChannelsLast,
        );
        for sub in [Subgradient::Left, Subgradient::Right] {
            let oop = Op::from_name(op.name().trim_end_matches("_inplace")).unwrap();
            let (_, want_mask) = run_mask(oop, reference, z, 0, slope.to_slope(), sub);
            // The documented layout: bit i % 64 of word i / 64, high bits of the last word 0.
            for (i, &zi) in z.iter().enumerate() {
                let bit = want_mask[i / 64] >> (i % 64) & 1 == 1;
                let expect = if op.name().starts_with("relu") {
                    rectifier::reference::relu_mask_bit(zi, sub)
                } else {
                    rectifier::reference::leaky_relu_mask_bit(zi, sub)
                };
                assert_eq!(bit, expect, "mask bit {i}");
            }
            if !z.len().is_multiple_of(64) {
                assert_eq!(
                    want_mask[z.len() / 64] >> (z.len() % 64),
                    0,
                    "unused bits set"
                );
            }
            for r in backends() {
                let (y, mask) = run_mask(op, r, z, offset, slope.to_slope(), sub);
                let ctx = format!(
                    "{} {} on {} sub {sub} n {} offset {offset}",
                    op.name(),
                    T::NAME,
                    r.backend(),
                    z.len()
                );
                assert_bits_eq(&y, &want_y, z, &ctx);
                assert_eq!(mask, want_mask, "mask of {ctx}");
            }
        }
    }
}

fn matrix<T: TestElement>() {
    let mut rng = Rng(0x3a5c_0001);
    let slopes = T::slopes();
    for n in lengths::<T>() {
        let z: Vec<T> = mixed_data(&mut rng, n);
        check(&z, rng.below(16), slopes[rng.below(slopes.len())]);
    }
    // Every special value, at the kink, at every offset.
    let mut z = T::specials();
    for _ in 0..5 {
        z.extend(T::specials());
    }
    for offset in 0..=15 {
        check(&z, offset, T::from_f64(0.5));
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

#[test]
fn mask_errors_write_nothing() {
    for r in backends() {
        let z = [1.0f32; 65];
        let mut y = [7.0f32; 65];
        let mut mask = [9u64; 1];
        let want = Error::LengthMismatch {
            what: "mask",
            expected: 2,
            actual: 1,
        };
        assert_eq!(
            r.relu_with_mask(&z, &mut y, &mut mask, Subgradient::Left),
            Err(want.clone())
        );
        assert_eq!(
            r.relu_with_mask_inplace(&mut y, &mut mask, Subgradient::Left),
            Err(want.clone())
        );
        assert_eq!(
            r.leaky_relu_with_mask(&z, &mut y, &mut mask, 0.1, Subgradient::Right),
            Err(want.clone())
        );
        assert_eq!(
            r.relu_backward_from_mask(&mask, &z, &mut y),
            Err(want.clone())
        );
        assert_eq!(
            r.leaky_relu_backward_from_mask_inplace(&mask, &mut y, 0.1),
            Err(want.clone())
        );
        assert!(y.iter().all(|&v| v == 7.0) && mask == [9]);
        let mut mask2 = [9u64; 2];
        assert!(matches!(
            r.leaky_relu_with_mask(&z, &mut y, &mut mask2, f32::NAN, Subgradient::Left),
            Err(Error::NonFiniteSlope { .. })
        ));
        assert!(matches!(
            r.relu_backward_from_mask(&mask2, &z, &mut y[..64]),
            Err(Error::LengthMismatch { what: "dx", .. })
        ));
        assert!(y.iter().all(|&v| v == 7.0) && mask2 == [9, 9]);
    }
}

/// PReLU with a mask over every shape: `y` equals `prelu`, the mask equals the reference's, on
/// every backend, both subgradients, both layouts.
fn prelu_shapes_all<T: TestElement>() {
    let mut rng = Rng(0x9999);
    let slopes_all = T::slopes();
    for (c, layout) in prelu_shapes() {
        let run = match layout {
            rectifier::ChannelLayout::ChannelsLast => 1,
            rectifier::ChannelLayout::ChannelsFirst { spatial } => spatial,
        };
        for rows in [0usize, 1, 3] {
            let n = c * run * rows;
            let z: Vec<T> = mixed_data(&mut rng, n);
            let slopes: Vec<T> = (0..c)
                .map(|_| slopes_all[rng.below(slopes_all.len())])
                .collect();
            let want_y = run_op(
                Op::Prelu,
                reference(),
                &z,
                0,
                Default::default(),
                &slopes,
                layout,
            );
            for sub in [Subgradient::Left, Subgradient::Right] {
                let want_mask =
                    prelu_mask(Op::PreluWithMask, reference(), &z, 0, &slopes, layout, sub).1;
                for r in backends() {
                    for op in [Op::PreluWithMask, Op::PreluWithMaskInplace] {
                        let offset = rng.below(16);
                        let (y, mask) = prelu_mask(op, r, &z, offset, &slopes, layout, sub);
                        let ctx = format!(
                            "{} {} on {} C={c} {layout:?} rows={rows} sub {sub}",
                            op.name(),
                            T::NAME,
                            r.backend()
                        );
                        assert_bits_eq(&y, &want_y, &z, &ctx);
                        assert_eq!(mask, want_mask, "mask of {ctx}");
                    }
                }
            }
        }
    }
}

fn prelu_mask<T: TestElement>(
    op: Op,
    r: rectifier::Rectifier,
    z: &[T],
    offset: usize,
    slopes: &[T],
    layout: rectifier::ChannelLayout,
    sub: Subgradient,
) -> (Vec<T>, Vec<u64>) {
    let n = z.len();
    let mut zb = vec![T::ZERO; offset + n];
    zb[offset..].copy_from_slice(z);
    let mut out = if op.inplace() {
        zb.clone()
    } else {
        vec![T::ZERO; offset + n]
    };
    let mut mask = vec![u64::MAX; mask_words(n)];
    op.call(
        r,
        Args {
            src: &zb[offset..],
            dst: &mut out[offset..],
            mask: &mut mask,
            slopes,
            layout,
            sub,
            ..Args::default()
        },
    )
    .unwrap();
    (out[offset..].to_vec(), mask)
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
