//! Forward element-wise kernels: every op x dtype x supported backend, through the public
//! dispatched API with the backend forced, equals the scalar reference bit for bit.

mod common;

use common::*;
use proptest::prelude::*;
use rectifier::ChannelLayout;
use rectifier::inventory::{Op, Params};

/// Every op on every backend over one input; compares against the reference (and in-place ops
/// against the out-of-place reference).
fn check_all_ops<T: TestElement>(
    src: &[T],
    offset: usize,
    slope: T::Slope,
    shape: (usize, ChannelLayout),
    slopes: &[T],
) {
    let reference = reference();
    for &op in Op::ALL
        .iter()
        .filter(|op| op.params().elementwise() && !op.backward() && !op.writes_mask())
    {
        let (sl, layout) = (&slopes[..shape.0], shape.1);
        if op.params() == Params::ChannelSlopes {
            let period = shape.0 * layout_run(layout);
            if !src.len().is_multiple_of(period) {
                continue;
            }
        }
        let want = run_op(out_of_place(op), reference, src, 0, slope, sl, layout);
        for &r in &backends() {
            let got = run_op(op, r, src, offset, slope, sl, layout);
            let ctx = format!(
                "{} {} on {} (n {}, offset {offset}, slope {slope:?}, shape {shape:?})",
                op.name(),
                T::NAME,
                r.backend(),
                src.len()
            );
            assert_bits_eq(&got, &want, src, &ctx);
        }
    }
}

fn layout_run(layout: ChannelLayout) -> usize {
    match layout {
        ChannelLayout::ChannelsLast => 1,
        ChannelLayout::ChannelsFirst { spatial } => spatial,
    }
}

/// The full length x offset matrix for the element-wise ops (deterministic).
fn matrix<T: TestElement>(offsets: &[usize]) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ T::NAME.len() as u64);
    let slopes_all = T::slopes();
    for n in lengths::<T>() {
        let src: Vec<T> = mixed_data(&mut rng, n);
        let scalar = T::scalar_slopes();
        let slope = scalar[rng.below(scalar.len())];
        let offset = offsets[rng.below(offsets.len())];
        let chan_slopes: Vec<T> = (0..300)
            .map(|_| slopes_all[rng.below(slopes_all.len())])
            .collect();
        check_all_ops(
            &src,
            offset,
            slope,
            (1, ChannelLayout::ChannelsLast),
            &chan_slopes,
        );
    }
}

#[test]
fn matrix_f32() {
    matrix::<f32>(&(0..=15).collect::<Vec<_>>());
}

#[test]
fn matrix_f64() {
    matrix::<f64>(&(0..=15).collect::<Vec<_>>());
}

#[test]
fn matrix_bf16() {
    matrix::<rectifier::bf16>(&(0..=15).collect::<Vec<_>>());
}

#[test]
fn matrix_f16() {
    matrix::<rectifier::f16>(&(0..=15).collect::<Vec<_>>());
}

/// Every slope with every special value, at every offset, on every backend.
fn specials_times_slopes<T: TestElement>() {
    let mut src = T::specials();
    // Repeat so that special values land in the body, the single-vector loop and the tail.
    let base = src.clone();
    for _ in 0..6 {
        src.extend_from_slice(&base);
    }
    // Every scalar slope (for the half formats, `f32` ones they do not represent too), and a
    // channel slope beside it.
    let slopes = T::slopes();
    for (i, a) in T::scalar_slopes().into_iter().enumerate() {
        for offset in 0..=15 {
            check_all_ops(
                &src,
                offset,
                a,
                (1, ChannelLayout::ChannelsLast),
                &[slopes[i % slopes.len()]],
            );
        }
    }
}

#[test]
fn specials_f32() {
    specials_times_slopes::<f32>();
}

#[test]
fn specials_f64() {
    specials_times_slopes::<f64>();
}

#[test]
fn specials_bf16() {
    specials_times_slopes::<rectifier::bf16>();
}

#[test]
fn specials_f16() {
    specials_times_slopes::<rectifier::f16>();
}

/// PReLU over every shape: channels-last and channels-first, short and long periods (the kernel
/// takes different paths for each).
fn prelu_shapes_all<T: TestElement>() {
    let mut rng = Rng(0x1234_5678);
    let slopes_all = T::slopes();
    for (c, layout) in prelu_shapes() {
        let period = c * layout_run(layout);
        for rows in [0usize, 1, 2, 3, 5, 9] {
            let n = period * rows;
            let src: Vec<T> = mixed_data(&mut rng, n);
            let slopes: Vec<T> = (0..c)
                .map(|_| slopes_all[rng.below(slopes_all.len())])
                .collect();
            for &op in &[Op::Prelu, Op::PreluInplace] {
                let want = run_op(
                    Op::Prelu,
                    reference(),
                    &src,
                    0,
                    Default::default(),
                    &slopes,
                    layout,
                );
                for r in backends() {
                    let offset = rng.below(16);
                    let got = run_op(op, r, &src, offset, Default::default(), &slopes, layout);
                    let ctx = format!(
                        "{} {} on {} c={c} {layout:?} rows={rows}",
                        op.name(),
                        T::NAME,
                        r.backend()
                    );
                    assert_bits_eq(&got, &want, &src, &ctx);
                }
            }
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

/// The reference itself against SPEC.md section 1, on hand-picked values (so that the reference
/// cannot drift from the contract unnoticed).
#[test]
fn reference_follows_spec() {
    use rectifier::reference as refr;
    let nan_payload = f32::from_bits(0x7fc0_1234);
    let snan = f32::from_bits(0xff80_0abc);
    // relu
    assert_eq!(refr::relu(-0.0f32).to_bits(), (-0.0f32).to_bits());
    assert_eq!(refr::relu(f32::NEG_INFINITY).to_bits(), 0);
    assert_eq!(refr::relu(snan).to_bits(), snan.to_bits());
    assert_eq!(refr::relu(nan_payload).to_bits(), nan_payload.to_bits());
    assert_eq!(refr::relu(f32::from_bits(1)).to_bits(), 1);
    assert_eq!(refr::relu(f32::from_bits(0x8000_0001)).to_bits(), 0);
    // leaky_relu: -0 -> a * -0
    assert_eq!(refr::leaky_relu(-0.0f32, 0.1).to_bits(), 0x8000_0000);
    assert_eq!(refr::leaky_relu(-0.0f32, -0.1).to_bits(), 0);
    // NaN quieted, sign and payload kept
    assert_eq!(refr::leaky_relu(snan, 0.1).to_bits(), 0xffc0_0abc);
    // inf * 0 is the x86 default NaN
    assert_eq!(
        refr::leaky_relu(f32::NEG_INFINITY, 0.0).to_bits(),
        0xffc0_0000
    );
    assert_eq!(
        refr::leaky_relu(f64::NEG_INFINITY, -0.0).to_bits(),
        0xfff8_0000_0000_0000
    );
    // a > 1 and a < 0 follow the select, not max(z, a*z)
    assert_eq!(refr::leaky_relu(-2.0f32, 3.0), -6.0);
    assert_eq!(refr::leaky_relu(-2.0f32, -1.0), 2.0);
    // abs keeps NaN payloads, clears the sign
    assert_eq!(refr::abs(snan).to_bits(), 0x7f80_0abc);
    assert_eq!(refr::abs(-0.0f64).to_bits(), 0);
}

fn arb_case<T: TestElement>() -> impl Strategy<Value = (Vec<T>, usize, usize, u64)> {
    let tile = rectifier::kernels::max_tile::<T>();
    (0..=3 * tile + 1, 0usize..=15, any::<usize>(), any::<u64>()).prop_map(
        |(n, offset, pick, seed)| {
            let mut rng = Rng(seed | 1);
            (mixed_data::<T>(&mut rng, n), offset, pick, seed)
        },
    )
}

fn prop_body<T: TestElement>(src: Vec<T>, offset: usize, pick: usize, seed: u64) {
    let slopes_all = T::slopes();
    let scalar = T::scalar_slopes();
    let slope = scalar[pick % scalar.len()];
    let mut rng = Rng(seed | 1);
    // a PReLU shape that fits n: channels-last with C dividing n, or channels-first S = 1.
    let n = src.len();
    let divisors: Vec<usize> = (1..=n.clamp(1, 40))
        .filter(|d| n.is_multiple_of(*d))
        .collect();
    let c = divisors[pick % divisors.len()];
    let chan_slopes: Vec<T> = (0..c)
        .map(|_| slopes_all[rng.below(slopes_all.len())])
        .collect();
    let layout = if pick.is_multiple_of(2) {
        ChannelLayout::ChannelsLast
    } else {
        ChannelLayout::ChannelsFirst { spatial: 1 }
    };
    check_all_ops(&src, offset, slope, (c, layout), &chan_slopes);
}

proptest! {
    #[test]
    fn prop_f32((src, offset, pick, seed) in arb_case::<f32>()) {
        prop_body(src, offset, pick, seed);
    }

    #[test]
    fn prop_f64((src, offset, pick, seed) in arb_case::<f64>()) {
        prop_body(src, offset, pick, seed);
    }

    /// Random raw bit patterns (every NaN payload is reachable) through every op.
    #[test]
    fn prop_raw_bits_f32(bits in proptest::collection::vec(any::<u32>(), 0..200), offset in 0usize..=15, a in -4.0f32..4.0) {
        let src: Vec<f32> = bits.into_iter().map(f32::from_bits).collect();
        check_all_ops(&src, offset, a, (1, ChannelLayout::ChannelsLast), &[a]);
    }

    #[test]
    fn prop_raw_bits_f64(bits in proptest::collection::vec(any::<u64>(), 0..100), offset in 0usize..=15, a in -4.0f64..4.0) {
        let src: Vec<f64> = bits.into_iter().map(f64::from_bits).collect();
        check_all_ops(&src, offset, a, (1, ChannelLayout::ChannelsLast), &[a]);
    }
}

/// Outputs past `arch::STREAM_MIN_BYTES` take the streaming-store path on x86 (an aligned body
/// between a generic head and tail): it must equal the reference too, at every start alignment.
fn streaming_path<T: TestElement>() {
    let n = rectifier::arch::STREAM_MIN_BYTES / core::mem::size_of::<T>() + 37;
    let mut rng = Rng(0xfeed);
    let src: Vec<T> = mixed_data(&mut rng, n);
    for op in [Op::Relu, Op::LeakyRelu, Op::Abs] {
        let want = run_op(
            op,
            reference(),
            &src,
            0,
            T::slope_of(0.3),
            &[],
            ChannelLayout::ChannelsLast,
        );
        for r in simd_backends() {
            for offset in [0, 3] {
                let got = run_op(
                    op,
                    r,
                    &src,
                    offset,
                    T::slope_of(0.3),
                    &[],
                    ChannelLayout::ChannelsLast,
                );
                assert_bits_eq(
                    &got,
                    &want,
                    &src,
                    &format!(
                        "{} {} streaming on {} offset {offset}",
                        op.name(),
                        T::NAME,
                        r.backend()
                    ),
                );
            }
        }
    }
}

/// PReLU streams by the size of the whole output: channels-first with long runs, and
/// channels-last with a slope pattern (C = 3 and 300) or whole rows (C = 1500).
fn streaming_prelu<T: TestElement>() {
    let mut rng = Rng(0xbeef);
    let min = rectifier::arch::STREAM_MIN_BYTES / core::mem::size_of::<T>();
    for (c, layout) in [
        (2usize, ChannelLayout::ChannelsFirst { spatial: 70_001 }),
        (3, ChannelLayout::ChannelsLast),
        (300, ChannelLayout::ChannelsLast),
        (1500, ChannelLayout::ChannelsLast),
    ] {
        let period = c * layout_run(layout);
        let src: Vec<T> = mixed_data(&mut rng, min.div_ceil(period) * period);
        let slopes: Vec<T> = (0..c)
            .map(|i| T::from_f64(0.25 - 0.5 * (i % 3) as f64))
            .collect();
        let want = run_op(
            Op::Prelu,
            reference(),
            &src,
            0,
            Default::default(),
            &slopes,
            layout,
        );
        for r in simd_backends() {
            for offset in [0, 5] {
                let got = run_op(
                    Op::Prelu,
                    r.single_threaded(),
                    &src,
                    offset,
                    Default::default(),
                    &slopes,
                    layout,
                );
                let ctx = format!(
                    "prelu {} streaming on {} offset {offset} {layout:?}",
                    T::NAME,
                    r.backend()
                );
                assert_bits_eq(&got, &want, &src, &ctx);
            }
        }
    }
}

#[test]
fn streaming_prelu_f32() {
    streaming_prelu::<f32>();
}

#[test]
fn streaming_prelu_f64() {
    streaming_prelu::<f64>();
}

#[test]
fn streaming_prelu_bf16() {
    streaming_prelu::<rectifier::bf16>();
}

#[test]
fn streaming_prelu_f16() {
    streaming_prelu::<rectifier::f16>();
}

#[test]
fn streaming_path_f32() {
    streaming_path::<f32>();
}

#[test]
fn streaming_path_f64() {
    streaming_path::<f64>();
}

#[test]
fn streaming_path_bf16() {
    streaming_path::<rectifier::bf16>();
}

#[test]
fn streaming_path_f16() {
    streaming_path::<rectifier::f16>();
}
