//! Criterion benchmarks generated from the inventory: every op x dtype x supported backend at
//! 4 Ki, 64 Ki, 1 Mi and 64 Mi elements, with throughput in bytes (read + written), beside the
//! baselines of the same bytes: `memcpy` (`copy_from_slice`, the roofline), `naive` (the loop a
//! user would write) and `naive_native` (that loop compiled for this CPU's widest ISA).
//!
//! ```text
//! cargo bench --bench kernels                      # everything (about 15 minutes)
//! cargo bench --bench kernels -- 'relu/f32/65536'  # a filter (criterion's regex)
//! ```
//!
//! Benchmark ids are `op/dtype/n/backend`, plus the layout for PReLU and the layout and `k`
//! for maxout.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rectifier::inventory::{Args, Op, Params};
use rectifier::{ChannelLayout, MaxoutGradMode, MaxoutLayout, Rectifier, supported_backends};

#[path = "../examples/support/naive.rs"]
mod naive;
use naive::{Naive, naive_native, naive_native_maxout};

const SIZES: [usize; 4] = [4 << 10, 64 << 10, 1 << 20, 64 << 20];
const CHANNELS: usize = 32;
/// The group sizes of the maxout benches.
const MAXOUT_KS: [usize; 4] = [2, 4, 8, 16];

fn bench_dtype<T: Naive>(c: &mut Criterion, value: impl Fn(usize) -> T) {
    let max = SIZES[SIZES.len() - 1];
    let src: Vec<T> = (0..max).map(value).collect();
    let mut dst = vec![T::ZERO; max];
    let mut ix_out = vec![0u32; max];
    let slopes: Vec<T> = (0..CHANNELS)
        .map(|i| T::from_f64(0.01 * (i + 1) as f64))
        .collect();
    let a = T::from_f64(0.01);
    for &op in Op::ALL {
        for &n in &SIZES {
            // (PReLU layout, maxout layout, k, id suffix)
            let variants: Vec<(ChannelLayout, MaxoutLayout, usize, String)> = match op.params() {
                Params::ChannelSlopes => vec![
                    (
                        ChannelLayout::ChannelsLast,
                        MaxoutLayout::Interleaved,
                        1,
                        "/channels_last".to_string(),
                    ),
                    (
                        ChannelLayout::ChannelsFirst {
                            spatial: n / CHANNELS,
                        },
                        MaxoutLayout::Interleaved,
                        1,
                        "/channels_first".to_string(),
                    ),
                ],
                Params::Maxout | Params::MaxoutBackward => {
                    let mut v = Vec::new();
                    for ml in [MaxoutLayout::Interleaved, MaxoutLayout::Planar] {
                        for k in MAXOUT_KS {
                            v.push((
                                ChannelLayout::ChannelsLast,
                                ml,
                                k,
                                format!("/{}/k={k}", ml.name()),
                            ));
                        }
                    }
                    v
                }
                _ => vec![(
                    ChannelLayout::ChannelsLast,
                    MaxoutLayout::Interleaved,
                    1,
                    String::new(),
                )],
            };
            for (layout, ml, k, lname) in variants {
                let groups = n / k;
                let (in_len, out_len, ix_len) = match op.params() {
                    Params::Maxout => (n, groups, groups),
                    Params::MaxoutBackward => (groups, n, 0),
                    _ => (n, n, 0),
                };
                let mut ix_in: Vec<u32> = (0..groups).map(|i| ((i * 7) % k) as u32).collect();
                let ix = &mut ix_out[..ix_len];
                let mut g = c.benchmark_group(format!("{}/{}{lname}", op.name(), T::NAME));
                g.throughput(Throughput::Bytes(op.bytes(n, size_of::<T>(), k) as u64));
                if n >= 1 << 20 {
                    g.sample_size(10).warm_up_time(Duration::from_millis(300));
                    g.measurement_time(Duration::from_secs(2));
                } else {
                    g.warm_up_time(Duration::from_millis(300));
                    g.measurement_time(Duration::from_secs(1));
                }
                let (src, dst) = (&src[..in_len], &mut dst[..out_len]);
                // memcpy of the same bytes: half read, half written.
                let copy_len = (op.bytes(n, size_of::<T>(), k) / 2 / size_of::<T>()).min(n);
                g.bench_function(BenchmarkId::new("memcpy", n), |b| {
                    let (s, d) = (&src_full(src, copy_len), &mut vec![T::ZERO; copy_len]);
                    b.iter(|| d.copy_from_slice(black_box(s)))
                });
                let is_bwd = op.params() == Params::MaxoutBackward;
                if op.params().elementwise() {
                    g.bench_function(BenchmarkId::new("naive", n), |b| {
                        b.iter(|| T::naive(op, black_box(src), dst, black_box(a), &slopes, layout))
                    });
                    g.bench_function(BenchmarkId::new("naive_native", n), |b| {
                        b.iter(|| {
                            naive_native(op, black_box(src), dst, black_box(a), &slopes, layout)
                        })
                    });
                } else {
                    g.bench_function(BenchmarkId::new("naive", n), |b| {
                        let ixs: &mut [u32] = if is_bwd { &mut ix_in } else { &mut *ix };
                        b.iter(|| T::naive_maxout(op, black_box(src), dst, ixs, k, ml))
                    });
                    g.bench_function(BenchmarkId::new("naive_native", n), |b| {
                        let ixs: &mut [u32] = if is_bwd { &mut ix_in } else { &mut *ix };
                        b.iter(|| naive_native_maxout(op, black_box(src), dst, ixs, k, ml))
                    });
                }
                for backend in supported_backends().iter() {
                    let r = Rectifier::new(backend).expect("supported");
                    g.bench_function(BenchmarkId::new(backend.name(), n), |b| {
                        b.iter(|| {
                            let args = Args {
                                src: black_box(src),
                                dst: &mut *dst,
                                slope: black_box(a),
                                slopes: &slopes,
                                layout,
                                k,
                                maxout_layout: ml,
                                indices: if is_bwd { &mut ix_in } else { &mut *ix },
                                grad_mode: MaxoutGradMode::Overwrite,
                            };
                            op.call(r, args).expect("valid call")
                        })
                    });
                }
                g.finish();
            }
        }
    }
}

/// `len` elements: `src` repeated (a copy).
fn src_full<T: Copy>(src: &[T], len: usize) -> Vec<T> {
    src.iter().copied().cycle().take(len).collect()
}

fn kernels(c: &mut Criterion) {
    let value = |i: usize| ((i.wrapping_mul(2_654_435_761) % 2001) as f64 - 1000.0) / 100.0;
    bench_dtype::<f32>(c, |i| value(i) as f32);
    bench_dtype::<f64>(c, value);
}

criterion_group!(benches, kernels);
criterion_main!(benches);
