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
//! Benchmark ids are `op/dtype/n/backend`, plus the layout for PReLU.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rectifier::inventory::{Args, Op, Params};
use rectifier::{ChannelLayout, Rectifier, supported_backends};

#[path = "../examples/support/naive.rs"]
mod naive;
use naive::{Naive, naive_native};

const SIZES: [usize; 4] = [4 << 10, 64 << 10, 1 << 20, 64 << 20];
const CHANNELS: usize = 32;

fn bench_dtype<T: Naive>(c: &mut Criterion, value: impl Fn(usize) -> T) {
    let max = SIZES[SIZES.len() - 1];
    let src: Vec<T> = (0..max).map(value).collect();
    let mut dst = vec![T::ZERO; max];
    let slopes: Vec<T> = (0..CHANNELS)
        .map(|i| T::from_f64(0.01 * (i + 1) as f64))
        .collect();
    let a = T::from_f64(0.01);
    for &op in Op::ALL {
        for &n in &SIZES {
            let layouts = if op.params() == Params::ChannelSlopes {
                vec![
                    (ChannelLayout::ChannelsLast, "/channels_last".to_string()),
                    (
                        ChannelLayout::ChannelsFirst {
                            spatial: n / CHANNELS,
                        },
                        "/channels_first".to_string(),
                    ),
                ]
            } else {
                vec![(ChannelLayout::ChannelsLast, String::new())]
            };
            for (layout, lname) in layouts {
                let mut g = c.benchmark_group(format!("{}/{}{lname}", op.name(), T::NAME));
                g.throughput(Throughput::Bytes(op.bytes(n, size_of::<T>()) as u64));
                if n >= 1 << 20 {
                    g.sample_size(10).warm_up_time(Duration::from_millis(300));
                    g.measurement_time(Duration::from_secs(2));
                } else {
                    g.warm_up_time(Duration::from_millis(300));
                    g.measurement_time(Duration::from_secs(1));
                }
                let (src, dst) = (&src[..n], &mut dst[..n]);
                g.bench_function(BenchmarkId::new("memcpy", n), |b| {
                    b.iter(|| dst.copy_from_slice(black_box(src)))
                });
                g.bench_function(BenchmarkId::new("naive", n), |b| {
                    b.iter(|| T::naive(op, black_box(src), dst, black_box(a), &slopes, layout))
                });
                g.bench_function(BenchmarkId::new("naive_native", n), |b| {
                    b.iter(|| naive_native(op, black_box(src), dst, black_box(a), &slopes, layout))
                });
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

fn kernels(c: &mut Criterion) {
    let value = |i: usize| ((i.wrapping_mul(2_654_435_761) % 2001) as f64 - 1000.0) / 100.0;
    bench_dtype::<f32>(c, |i| value(i) as f32);
    bench_dtype::<f64>(c, value);
}

criterion_group!(benches, kernels);
criterion_main!(benches);
