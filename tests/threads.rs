//! Multi-threading (SPEC section 6): every kernel gives bit-identical results on 1 thread and
//! on pools of 2, 3 and 7 threads, on inputs above the parallel threshold.

mod common;

use common::*;
use rectifier::inventory::{Args, Op, Params};
use rectifier::parallel::{CHUNK_ELEMS, MIN_PARALLEL_ELEMS};
use rectifier::{ChannelLayout, Error, MaxoutGradMode, MaxoutIndex, MaxoutLayout, Rectifier};

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
        slope: T::slope_of(0.25),
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
fn threads_equal_bf16() {
    threads_equal::<rectifier::bf16>();
}

#[test]
fn threads_equal_f16() {
    threads_equal::<rectifier::f16>();
}

/// Pools of 2, 3 and 7 threads.
fn pools() -> Vec<(usize, rayon::ThreadPool)> {
    [2, 3, 7]
        .iter()
        .map(|&t| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            (t, pool)
        })
        .collect()
}

/// Runs `f` on `r` on one thread, then on every pool: each must give `f`'s result on the scalar
/// reference on one thread, bit for bit (`f` returns its outputs as bits).
fn same_on_all_threads(
    pools: &[(usize, rayon::ThreadPool)],
    ctx: &str,
    f: &(dyn Fn(Rectifier) -> Vec<u64> + Sync),
) {
    let want = f(reference().single_threaded());
    for r in simd_backends().into_iter().chain([reference()]) {
        let one = f(r.single_threaded());
        assert!(
            one == want,
            "{ctx} on {}: one thread != reference",
            r.backend()
        );
        for (t, pool) in pools {
            let many = pool.install(|| f(r.multi_threaded()));
            if let Some(i) = (0..one.len()).find(|&i| many[i] != one[i]) {
                panic!(
                    "{ctx} on {} with {t} threads: output {i} of {} is {:#x}, one thread gives {:#x}",
                    r.backend(),
                    one.len(),
                    many[i],
                    one[i]
                );
            }
        }
    }
}

fn bits<T: TestElement>(v: &[T]) -> impl Iterator<Item = u64> + '_ {
    v.iter().map(|x| {
        let b = x.to_bits();
        let mut w = [0u8; 8];
        let bytes = bytemuck::bytes_of(&b);
        w[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(w)
    })
}

/// Planar (and interleaved) maxout forward with indices of type `I` and values only.
fn forward_case<T: TestElement, I: MaxoutIndex>(
    pools: &[(usize, rayon::ThreadPool)],
    z: &[T],
    k: usize,
    layout: MaxoutLayout,
) {
    let groups = z.len() / k;
    let ctx = format!(
        "maxout {} {layout:?} k = {k}, {groups} groups, {}",
        T::NAME,
        I::NAME
    );
    same_on_all_threads(pools, &ctx, &|r| {
        let (mut v, mut i) = (vec![T::ZERO; groups], vec![I::default(); groups]);
        r.maxout(z, k, layout, &mut v, &mut i).unwrap();
        bits(&v)
            .chain(i.iter().map(|x| x.to_u32().into()))
            .collect()
    });
    let ctx = format!(
        "maxout_values {} {layout:?} k = {k}, {groups} groups",
        T::NAME
    );
    same_on_all_threads(pools, &ctx, &|r| {
        let mut v = vec![T::ZERO; groups];
        r.maxout_values(z, k, layout, &mut v).unwrap();
        bits(&v).collect()
    });
}

/// Maxout backward with indices of type `I`, both modes (accumulating onto `dx0`).
fn backward_case<T: TestElement, I: MaxoutIndex>(
    pools: &[(usize, rayon::ThreadPool)],
    dy: &[T],
    ix: &[u32],
    dx0: &[T],
    k: usize,
    layout: MaxoutLayout,
    modes: &[MaxoutGradMode],
) {
    let ix: Vec<I> = ix.iter().map(|&i| I::from_usize(i as usize)).collect();
    for &mode in modes {
        let ctx = format!(
            "maxout_backward {} {layout:?} {mode:?} k = {k}, {} groups, {}",
            T::NAME,
            dy.len(),
            I::NAME
        );
        same_on_all_threads(pools, &ctx, &|r| {
            let mut dx = dx0.to_vec();
            r.maxout_backward(dy, &ix, k, layout, &mut dx, mode)
                .unwrap();
            bits(&dx).collect()
        });
    }
}

const LAYOUTS: [MaxoutLayout; 2] = [MaxoutLayout::Planar, MaxoutLayout::Interleaved];
const MODES: [MaxoutGradMode; 2] = [MaxoutGradMode::Overwrite, MaxoutGradMode::Accumulate];

/// Every maxout op, both layouts, every index type holding `k`, above the threshold: several
/// chunks and a partial one, group counts not a multiple of 16.
fn maxout_threads<T: TestElement>() {
    let pools = pools();
    let mut rng = Rng(0x3a0);
    for k in [2, 3, 8, 16, 100] {
        let mut groups = 5 * CHUNK_ELEMS / 2 / k + 7;
        if groups.is_multiple_of(16) {
            groups += 1;
        }
        let n = groups * k;
        assert!(n >= MIN_PARALLEL_ELEMS && !groups.is_multiple_of(16));
        let z: Vec<T> = mixed_data(&mut rng, n);
        let dy: Vec<T> = mixed_data(&mut rng, groups);
        let dx0: Vec<T> = mixed_data(&mut rng, n);
        let ix: Vec<u32> = (0..groups).map(|_| rng.below(k) as u32).collect();
        for layout in LAYOUTS {
            forward_case::<T, u8>(&pools, &z, k, layout);
            forward_case::<T, u16>(&pools, &z, k, layout);
            forward_case::<T, u32>(&pools, &z, k, layout);
            backward_case::<T, u8>(&pools, &dy, &ix, &dx0, k, layout, &MODES);
            backward_case::<T, u16>(&pools, &dy, &ix, &dx0, k, layout, &MODES);
            backward_case::<T, u32>(&pools, &dy, &ix, &dx0, k, layout, &MODES);
        }
    }
}

#[test]
fn maxout_threads_f32() {
    maxout_threads::<f32>();
}

#[test]
fn maxout_threads_f64() {
    maxout_threads::<f64>();
}

#[test]
fn maxout_threads_bf16() {
    maxout_threads::<rectifier::bf16>();
}

#[test]
fn maxout_threads_f16() {
    maxout_threads::<rectifier::f16>();
}

/// Outputs of 16 MiB and more (streaming stores, tiled planar forward), cut into chunks.
#[test]
fn maxout_threads_large() {
    let pools = pools();
    let mut rng = Rng(0x3a1);
    let k = 16;
    let groups = (17 << 20) / 4 / k + 37;
    let z: Vec<f32> = mixed_data(&mut rng, groups * k);
    let dy: Vec<f32> = mixed_data(&mut rng, groups);
    let ix: Vec<u32> = (0..groups).map(|_| rng.below(k) as u32).collect();
    let dx0 = vec![1.0f32; groups * k];
    for layout in LAYOUTS {
        forward_case::<f32, u8>(&pools, &z, k, layout);
        backward_case::<f32, u8>(&pools, &dy, &ix, &dx0, k, layout, &MODES[..1]);
    }
}

/// A bad index under several threads: the first one is reported, whatever the thread count,
/// and nothing is written.
#[test]
fn maxout_backward_error_threads() {
    let pools = pools();
    let mut rng = Rng(0x3a2);
    let k = 2;
    // Enough indices for the check itself to be cut into chunks.
    let groups = 3 * CHUNK_ELEMS + 5;
    assert!(groups >= MIN_PARALLEL_ELEMS);
    let dy: Vec<f32> = mixed_data(&mut rng, groups);
    let dx0: Vec<f32> = mixed_data(&mut rng, groups * k);
    for bad in [
        vec![CHUNK_ELEMS + 3, 2 * CHUNK_ELEMS + 1, groups - 1],
        vec![groups - 1],
        vec![7, groups / 2],
    ] {
        let mut ix: Vec<u8> = (0..groups).map(|_| rng.below(k) as u8).collect();
        for (n, &g) in bad.iter().enumerate() {
            ix[g] = (k + n) as u8;
        }
        let want = Error::IndexOutOfRange {
            group: bad[0],
            index: k,
            k,
        };
        for layout in LAYOUTS {
            for mode in MODES {
                for r in simd_backends().into_iter().chain([reference()]) {
                    let run = |r: Rectifier| {
                        let mut dx = dx0.clone();
                        let e = r.maxout_backward(&dy, &ix, k, layout, &mut dx, mode);
                        let ctx = format!("{layout:?} {mode:?} on {}, bad {bad:?}", r.backend());
                        assert_eq!(e, Err(want.clone()), "{ctx}");
                        assert_bits_eq(&dx, &dx0, &[], &format!("{ctx}: dx written"));
                    };
                    run(r.single_threaded());
                    for (_, pool) in &pools {
                        pool.install(|| run(r.multi_threaded()));
                    }
                }
            }
        }
    }
}

#[test]
fn single_threaded_handle() {
    let r = Rectifier::auto();
    assert_eq!(r.is_multi_threaded(), cfg!(feature = "rayon"));
    assert!(!r.single_threaded().is_multi_threaded());
    assert_eq!(r.single_threaded().multi_threaded(), r);
}
