//! Criterion benchmarks generated from the inventory: every op x dtype x supported backend at
//! 4 Ki, 64 Ki, 1 Mi and 64 Mi elements, with throughput in bytes (read + written), beside the
//! baselines of the same bytes: `memcpy` (`copy_from_slice`, the roofline), `naive` (the loop a
//! user would write) and `naive_native` (that loop compiled for this CPU's widest ISA). The
//! buffers and calls are the throughput report's (`examples/support/`).
//!
//! ```text
//! cargo bench --bench kernels                      # everything (long: filter it)
//! cargo bench --bench kernels -- 'relu/f32/65536'  # a filter (criterion's regex)
//! ```
//!
//! Benchmark ids are `op/dtype[/layout[/k=K]]/backend/n` (the layout for PReLU and maxout, `k`
//! for maxout).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rectifier::inventory::Op;
use rectifier::{Rectifier, supported_backends};

#[path = "../examples/support/naive.rs"]
mod naive;
#[path = "../examples/support/workload.rs"]
mod workload;
use naive::Naive;
use workload::{Workload, variants};

const SIZES: [usize; 4] = [4 << 10, 64 << 10, 1 << 20, 64 << 20];

fn bench_dtype<T: Naive>(c: &mut Criterion) {
    let mut w = Workload::<T>::new(SIZES[SIZES.len() - 1]);
    for &op in Op::ALL {
        for &n in &SIZES {
            for v in variants(op, n) {
                let bytes = v.bytes(op, n, size_of::<T>());
                w.prepare(op, n, &v);
                let suffix = match (&v.name, v.row_k) {
                    (Some(l), Some(k)) => format!("/{l}/k={k}"),
                    (Some(l), None) => format!("/{}", l.split(',').next().unwrap_or(l)),
                    _ => String::new(),
                };
                let mut g = c.benchmark_group(format!("{}/{}{suffix}", op.name(), T::NAME));
                g.throughput(Throughput::Bytes(bytes as u64));
                g.warm_up_time(Duration::from_millis(300));
                if n >= 1 << 20 {
                    g.sample_size(10).measurement_time(Duration::from_secs(2));
                } else {
                    g.measurement_time(Duration::from_secs(1));
                }
                g.bench_function(BenchmarkId::new("memcpy", n), |b| {
                    b.iter(|| w.run_memcpy(bytes))
                });
                for (name, native) in [("naive", false), ("naive_native", true)] {
                    g.bench_function(BenchmarkId::new(name, n), |b| {
                        b.iter(|| w.run_naive(op, native, n, &v))
                    });
                }
                for backend in supported_backends().iter() {
                    let r = Rectifier::new(backend).expect("supported");
                    g.bench_function(BenchmarkId::new(backend.name(), n), |b| {
                        b.iter(|| w.run_kernel(op, r, n, &v))
                    });
                }
                g.finish();
            }
        }
    }
}

fn kernels(c: &mut Criterion) {
    bench_dtype::<f32>(c);
    bench_dtype::<f64>(c);
    bench_dtype::<rectifier::bf16>(c);
    bench_dtype::<rectifier::f16>(c);
}

criterion_group!(benches, kernels);
criterion_main!(benches);
