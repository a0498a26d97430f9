//! The PReLU slope gradient across threads (SPEC sections 3 and 6): `prelu_backward_with_slope_grad`
//! (out-of-place and in place) gives `da` and `dx` bit-identical on 1 thread and on pools of 2, 3
//! and 7 threads, and equal to the scalar reference, on inputs above the parallel threshold, for
//! shapes of both paths of the summation order (channels-last; channels-first with short and
//! long runs).

mod common;

use common::*;
use rectifier::{ChannelLayout, Rectifier, Subgradient};

/// Finite values of both signs over a wide range of magnitudes (so that the sums depend on
/// their order), with some exact zeros of both signs.
fn wide_data<T: TestElement>(rng: &mut Rng, n: usize) -> Vec<T> {
    (0..n)
        .map(|_| match rng.below(64) {
            0 => T::ZERO,
            1 => T::from_f64(-0.0),
            _ => {
                let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                let e = rng.below(41) as i32 - 20;
                T::from_f64(unit * 2f64.powi(e))
            }
        })
        .collect()
}

/// `(dx, da)` out-of-place and `(dx, da)` in place.
#[allow(clippy::type_complexity)]
fn run<T: TestElement>(
    r: Rectifier,
    z: &[T],
    dy: &[T],
    slopes: &[T],
    layout: ChannelLayout,
    sub: Subgradient,
) -> ((Vec<T>, Vec<T>), (Vec<T>, Vec<T>)) {
    let mut dx = vec![T::ZERO; z.len()];
    let mut da = vec![T::ZERO; slopes.len()];
    r.prelu_backward_with_slope_grad(z, dy, &mut dx, slopes, &mut da, layout, sub)
        .unwrap();
    let mut dx2 = dy.to_vec();
    let mut da2 = vec![T::ZERO; slopes.len()];
    r.prelu_backward_with_slope_grad_inplace(z, &mut dx2, slopes, &mut da2, layout, sub)
        .unwrap();
    ((dx, da), (dx2, da2))
}

fn shapes() -> Vec<(usize, ChannelLayout)> {
    let last = ChannelLayout::ChannelsLast;
    let first = |spatial| ChannelLayout::ChannelsFirst { spatial };
    vec![
        (1, last),
        (3, last),
        (32, last),
        (1000, last),
        (4, first(5)),
        (3, first(48)),
        (3, first(100)),
        (2, first(3000)),
        (5, first(70_001)),
    ]
}

fn slope_grad_threads<T: TestElement>() {
    // Sizes of about 1.3 Mi elements (above the parallel threshold; the data below is tuned so
    // that `da` is made of rounding errors at these sizes).
    let min = rectifier::parallel::MIN_PARALLEL_ELEMS.max(1 << 20);
    let pools: Vec<rayon::ThreadPool> = [2, 3, 7]
        .iter()
        .map(|&t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        })
        .collect();
    let mut rng = Rng(0x51_0fe);
    for (c, layout) in shapes() {
        let len = match layout {
            ChannelLayout::ChannelsLast => 1,
            ChannelLayout::ChannelsFirst { spatial } => spatial,
        };
        let period = c * len;
        // Above the threshold, not a whole number of chunks (an odd number of periods more).
        let half = (min / 2 + min / 6).next_multiple_of(period) + period * 3;
        let n = 2 * half;
        let mut z: Vec<T> = wide_data(&mut rng, n);
        let mut dy: Vec<T> = wide_data(&mut rng, n);
        // The second half cancels the first half's terms exactly (same channels, `-dy`):
        // the exact `da` is 0, and the computed one is made of the rounding errors of the
        // partial sums, which depend on the order of the additions at `f32` precision too.
        for i in half..n {
            z[i] = z[i - half];
            dy[i] = T::from_f64(-dy[i - half].to_f64());
        }
        let slopes: Vec<T> = (0..c)
            .map(|i| T::from_f64(0.01 * (i % 7) as f64 + 0.1))
            .collect();
        let sub = Subgradient::Left;
        let want = run(reference(), &z, &dy, &slopes, layout, sub);
        assert!(
            want.0.1.iter().any(|&v| v != T::ZERO),
            "{} C={c} {layout:?}: da should be rounding errors, not 0",
            T::NAME
        );
        for r in simd_backends() {
            let one = run(r.single_threaded(), &z, &dy, &slopes, layout, sub);
            let ctx = format!("{} C={c} {layout:?} n={n} on {}", T::NAME, r.backend());
            for (got, what) in [(&one.0, "out-of-place"), (&one.1, "in place")] {
                assert_bits_eq(
                    &got.0,
                    &want.0.0,
                    &z,
                    &format!("{ctx} 1 thread {what} (dx)"),
                );
                assert_bits_eq(
                    &got.1,
                    &want.0.1,
                    &slopes,
                    &format!("{ctx} 1 thread {what} (da)"),
                );
            }
            for (pool, t) in pools.iter().zip([2, 3, 7]) {
                let many = pool.install(|| run(r, &z, &dy, &slopes, layout, sub));
                for (got, what) in [(&many.0, "out-of-place"), (&many.1, "in place")] {
                    let ctx = format!("{ctx} {t} threads {what}");
                    assert_bits_eq(&got.0, &want.0.0, &z, &format!("{ctx} (dx)"));
                    assert_bits_eq(&got.1, &want.0.1, &slopes, &format!("{ctx} (da)"));
                }
            }
        }
    }
}

#[test]
fn slope_grad_threads_f32() {
    slope_grad_threads::<f32>();
}

#[test]
fn slope_grad_threads_f64() {
    slope_grad_threads::<f64>();
}

#[test]
fn slope_grad_threads_bf16() {
    slope_grad_threads::<rectifier::bf16>();
}

#[test]
fn slope_grad_threads_f16() {
    slope_grad_threads::<rectifier::f16>();
}
