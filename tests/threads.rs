//! Multi-threading (SPEC section 6): every kernel gives bit-identical results on 1 thread and
//! on pools of 2, 3 and 7 threads, on inputs above the parallel threshold.

mod common;

use common::*;
use rectifier::inventory::{Args, Op, Params};
use rectifier::{ChannelLayout, MaxoutLayout, Rectifier};

/// Output of `op` on `r` over `src` (and `dy` for backward ops), `da` and mask included.
fn run_all<T: TestElement>(
    op: Op,
    r: Rectifier,
    z: &[T],
    dy: &[T],
    slopes: &[T],
    layout: ChannelLayout,
    maxout_layout: MaxoutLayout,
) -> (Vec<T>, Vec<T>, Vec<u64>, Vec<u32>) {
    let n = z.len();
    if op.maxout() {
        // k = 3: forward `z` (n) -> G values and indices; backward dy (G), indices -> dx (n).
        let k = 3;
        let g = n / k;
        let backward = op == Op::MaxoutBackward;
        let mut dst = vec![T::ZERO; if backward { n } else { g }];
        let mut ix: Vec<u32> = (0..g).map(|i| (i % k) as u32).collect();
        let args = Args {
            src: if backward { &dy[..g] } else { z },
            dst: &mut dst,
            k,
            maxout_layout,
            indices: if op == Op::MaxoutValues {
                &mut []
            } else {
                &mut ix
            },
            ..Args::default()
        };
        op.call(r, args)
            .unwrap_or_else(|e| panic!("{}: {e}", op.name()));
        return (dst, vec![], vec![], ix);
    }
    let (zz, src) = if op.backward() { (z, dy) } else { (&[][..], z) };
    let mut dst = if op.inplace() {
        src.to_vec()
    } else {
        vec![T::ZERO; n]
    };
    let mut da = vec![T::ZERO; slopes.len()];
    let mut mask = vec![0u64; rectifier::mask_words(n)];
    if op.from_mask() {
        let mut tmp = vec![T::ZERO; n];
        reference()
            .relu_with_mask(z, &mut tmp, &mut mask, Default::default())
            .unwrap();
    }
    let args = Args {
        src,
        dst: &mut dst,
        z: zz,
        da: &mut da,
        mask: &mut mask,
        slope: T::from_f64(0.25),
        slopes,
        layout,
        ..Args::default()
    };
    op.call(r, args)
        .unwrap_or_else(|e| panic!("{}: {e}", op.name()));
    (dst, da, mask, vec![])
}

fn threads_equal<T: TestElement>() {
    // Above the threshold, not a whole number of chunks, a whole number of PReLU periods (4 * 96).
    let n = (rectifier::parallel::MIN_PARALLEL_ELEMS * 2).next_multiple_of(384) + 384 * 7;
    let mut rng = Rng(0x5eed);
    let z: Vec<T> = mixed_data(&mut rng, n);
    let dy: Vec<T> = mixed_data(&mut rng, n);
    let slopes: Vec<T> = (0..4).map(|i| T::from_f64(0.1 * i as f64 + 0.05)).collect();
    let pools: Vec<rayon::ThreadPool> = [2, 3, 7]
        .iter()
        .map(|&t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
        })
        .collect();
    for &op in Op::ALL {
        let layouts: Vec<(ChannelLayout, MaxoutLayout)> = match op.params() {
            Params::ChannelSlopes => vec![
                (ChannelLayout::ChannelsLast, MaxoutLayout::Interleaved),
                (
                    ChannelLayout::ChannelsFirst { spatial: 96 },
                    MaxoutLayout::Interleaved,
                ),
            ],
            Params::Maxout | Params::MaxoutBackward => vec![
                (ChannelLayout::ChannelsLast, MaxoutLayout::Interleaved),
                (ChannelLayout::ChannelsLast, MaxoutLayout::Planar),
            ],
            _ => vec![(ChannelLayout::ChannelsLast, MaxoutLayout::Interleaved)],
        };
        for (layout, ml) in layouts {
            for r in simd_backends().into_iter().chain([reference()]) {
                let one = run_all(op, r.single_threaded(), &z, &dy, &slopes, layout, ml);
                for (pool, t) in pools.iter().zip([2, 3, 7]) {
                    let many = pool.install(|| run_all(op, r, &z, &dy, &slopes, layout, ml));
                    let ctx = format!(
                        "{} {} on {} with {t} threads {layout:?} {ml:?}",
                        op.name(),
                        T::NAME,
                        r.backend()
                    );
                    assert_bits_eq(&many.0, &one.0, &z, &ctx);
                    assert_bits_eq(&many.1, &one.1, &slopes, &format!("{ctx} (da)"));
                    assert_eq!(many.2, one.2, "{ctx} (mask)");
                    assert_eq!(many.3, one.3, "{ctx} (indices)");
                }
            }
        }
    }
}

#[test]
fn threads_equal_f32() {
    threads_equal::<f32>();
}

#[test]
fn threads_equal_f64() {
    threads_equal::<f64>();
}

#[test]
fn single_threaded_handle() {
    let r = Rectifier::auto();
    assert_eq!(r.is_multi_threaded(), cfg!(feature = "rayon"));
    assert!(!r.single_threaded().is_multi_threaded());
    assert_eq!(r.single_threaded().multi_threaded(), r);
}
