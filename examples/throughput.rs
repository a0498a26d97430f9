//! The throughput report: every kernel of the inventory x dtype x backend x size on this CPU,
//! beside two baselines of the same bytes measured in the same run: `memcpy`
//! (`copy_from_slice`, the roofline) and `naive` (the loop a user would write), plus
//! `naive_native` (the same loop compiled for this CPU's widest ISA with `#[target_feature]`).
//!
//! ```text
//! cargo run --release --example throughput                 # about a minute
//! cargo run --release --example throughput -- --quick      # a few seconds (CI)
//! cargo run --release --example throughput -- --json out.json --sizes 65536 --ops relu,prelu
//! ```
//!
//! Every figure is a median over repeated samples; ratios (percent of memcpy, speedup over
//! naive) compare rows of the same run.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use rectifier::inventory::{Args, Op, Params};
use rectifier::{Backend, ChannelLayout, Element, Rectifier, backend_selection, build_info};

/// Channels of the PReLU rows.
const PRELU_CHANNELS: usize = 32;

struct Config {
    quick: bool,
    json: Option<String>,
    sizes: Vec<usize>,
    ops: Option<Vec<String>>,
    backends: Option<Vec<String>>,
    dtypes: Vec<String>,
    budget: Duration,
}

fn usage() -> ! {
    eprintln!(
        "usage: throughput [--quick] [--json FILE] [--sizes N,N,..] [--ops NAME,..] \
         [--backends NAME,..] [--dtypes f32,f64] [--budget-ms MS]\n\
         ops: {}\nbackends: scalar, avx2, avx512, neon, memcpy, naive, naive_native",
        Op::ALL
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    std::process::exit(2)
}

fn parse_args() -> Config {
    let mut c = Config {
        quick: false,
        json: None,
        sizes: vec![4 << 10, 64 << 10, 1 << 20, 64 << 20],
        ops: None,
        backends: None,
        dtypes: vec!["f32".into(), "f64".into()],
        budget: Duration::from_millis(40),
    };
    let mut sizes_given = false;
    let mut budget_given = false;
    let mut args = std::env::args().skip(1);
    let list = |v: Option<String>| -> Vec<String> {
        v.unwrap_or_else(|| usage())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => c.quick = true,
            "--json" => c.json = Some(args.next().unwrap_or_else(|| usage())),
            "--sizes" => {
                sizes_given = true;
                c.sizes = list(args.next())
                    .iter()
                    .map(|s| parse_size(s).unwrap_or_else(|| usage()))
                    .collect();
            }
            "--ops" => c.ops = Some(list(args.next())),
            "--backends" => c.backends = Some(list(args.next())),
            "--dtypes" => c.dtypes = list(args.next()),
            "--budget-ms" => {
                budget_given = true;
                let ms: u64 = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| usage());
                c.budget = Duration::from_millis(ms);
            }
            "-h" | "--help" => usage(),
            // `cargo bench` passes `--bench` to every target; ignore it.
            "--bench" => {}
            _ => usage(),
        }
    }
    if c.quick {
        if !sizes_given {
            c.sizes = vec![4 << 10, 64 << 10];
        }
        if !budget_given {
            c.budget = Duration::from_millis(4);
        }
    }
    if let Some(ops) = &c.ops {
        for o in ops {
            if Op::from_name(o).is_none() {
                eprintln!("unknown op {o:?}");
                usage();
            }
        }
    }
    c
}

/// `4096`, `4Ki`, `64Mi`, `1M` (= Mi).
fn parse_size(s: &str) -> Option<usize> {
    let (num, mul) = if let Some(n) = s.strip_suffix("Ki").or_else(|| s.strip_suffix('K')) {
        (n, 1 << 10)
    } else if let Some(n) = s.strip_suffix("Mi").or_else(|| s.strip_suffix('M')) {
        (n, 1 << 20)
    } else {
        (s, 1)
    };
    num.parse::<usize>().ok().map(|n| n * mul)
}

fn size_label(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{}Mi", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{}Ki", n >> 10)
    } else {
        n.to_string()
    }
}

/// One measured row.
struct Row {
    op: &'static str,
    dtype: &'static str,
    backend: String,
    n: usize,
    bytes: usize,
    layout: Option<String>,
    median_ns: f64,
}

impl Row {
    fn gbps(&self) -> f64 {
        self.bytes as f64 / self.median_ns
    }
    fn gelem_s(&self) -> f64 {
        self.n as f64 / self.median_ns
    }
}

/// Median time of one call of `f`, in ns: samples of enough calls to last about 100 us (at
/// least one call), until `budget` is spent (at least 5 samples).
fn measure(budget: Duration, mut f: impl FnMut()) -> f64 {
    // Warm up (page faults, caches, frequency).
    let t = Instant::now();
    f();
    let first = t.elapsed();
    let per_sample = ((Duration::from_micros(100).as_nanos() / first.as_nanos().max(1)) as usize)
        .clamp(1, 1 << 20);
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 5 || (start.elapsed() < budget && samples.len() < 10_000) {
        let t = Instant::now();
        for _ in 0..per_sample {
            f();
        }
        samples.push(t.elapsed().as_nanos() as f64 / per_sample as f64);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// The loops a user would write for each op (no NaN care: `f32::max` for ReLU).
trait Naive: Element {
    #[allow(clippy::too_many_arguments)]
    fn naive(
        op: Op,
        z: &[Self],
        src: &[Self],
        dst: &mut [Self],
        a: Self,
        slopes: &[Self],
        layout: ChannelLayout,
        da: &mut [Self],
        mask: &mut [u64],
    );
}

/// The naive backward loop: `dx[i] = g(z[i], dy[i], i)`, `dy` from `src` (or `dst` in place).
#[inline(always)]
fn naive_grad<T: Copy>(
    z: &[T],
    src: &[T],
    dst: &mut [T],
    inplace: bool,
    g: impl Fn(T, T, usize) -> T,
) {
    if inplace {
        for (i, (x, &z)) in dst.iter_mut().zip(z).enumerate() {
            *x = g(z, *x, i);
        }
    } else {
        for (i, (x, (&z, &dy))) in dst.iter_mut().zip(z.iter().zip(src)).enumerate() {
            *x = g(z, dy, i);
        }
    }
}

macro_rules! naive_impl {
    ($t:ty) => {
        impl Naive for $t {
            #[inline(always)]
            fn naive(
                op: Op,
                z: &[$t],
                src: &[$t],
                dst: &mut [$t],
                a: $t,
                slopes: &[$t],
                layout: ChannelLayout,
                da: &mut [$t],
                mask: &mut [u64],
            ) {
                let c = slopes.len();
                let inplace = op.inplace();
                let channel = |i: usize| match layout {
                    ChannelLayout::ChannelsLast => i % c,
                    ChannelLayout::ChannelsFirst { spatial } => (i / spatial) % c,
                };
                // The loops a user would write for the mask path: the forward loop that also
                // sets bits, and the backward loop that tests them.
                let bit = |mask: &[u64], i: usize| mask[i / 64] >> (i % 64) & 1 == 1;
                match op {
                    Op::ReluWithMask
                    | Op::ReluWithMaskInplace
                    | Op::LeakyReluWithMask
                    | Op::LeakyReluWithMaskInplace => {
                        let leaky =
                            matches!(op, Op::LeakyReluWithMask | Op::LeakyReluWithMaskInplace);
                        mask.fill(0);
                        for i in 0..dst.len() {
                            let z = if inplace { dst[i] } else { src[i] };
                            let pos = z > 0.0;
                            dst[i] = if pos {
                                z
                            } else if leaky {
                                a * z
                            } else {
                                0.0
                            };
                            mask[i / 64] |= (pos as u64) << (i % 64);
                        }
                    }
                    Op::ReluBackwardFromMask | Op::ReluBackwardFromMaskInplace => naive_grad(
                        src,
                        src,
                        dst,
                        inplace,
                        |_, dy, i| if bit(mask, i) { dy } else { 0.0 },
                    ),
                    Op::LeakyReluBackwardFromMask | Op::LeakyReluBackwardFromMaskInplace => {
                        naive_grad(src, src, dst, inplace, |_, dy, i| {
                            if bit(mask, i) { dy } else { a * dy }
                        })
                    }
                    Op::PreluWithMask | Op::PreluWithMaskInplace => {
                        mask.fill(0);
                        for i in 0..dst.len() {
                            let z = if inplace { dst[i] } else { src[i] };
                            let pos = z > 0.0;
                            dst[i] = if pos { z } else { slopes[channel(i)] * z };
                            mask[i / 64] |= (pos as u64) << (i % 64);
                        }
                    }
                    Op::PreluBackwardFromMask | Op::PreluBackwardFromMaskInplace => {
                        naive_grad(src, src, dst, inplace, |_, dy, i| {
                            if bit(mask, i) {
                                dy
                            } else {
                                slopes[channel(i)] * dy
                            }
                        })
                    }
                    Op::ReluBackward
                    | Op::ReluBackwardInplace
                    | Op::ReluBackwardFromOutput
                    | Op::ReluBackwardFromOutputInplace => naive_grad(
                        z,
                        src,
                        dst,
                        inplace,
                        |z, dy, _| if z > 0.0 { dy } else { 0.0 },
                    ),
                    Op::LeakyReluBackward
                    | Op::LeakyReluBackwardInplace
                    | Op::LeakyReluBackwardFromOutput
                    | Op::LeakyReluBackwardFromOutputInplace => naive_grad(
                        z,
                        src,
                        dst,
                        inplace,
                        |z, dy, _| if z > 0.0 { dy } else { a * dy },
                    ),
                    Op::AbsBackward | Op::AbsBackwardInplace => {
                        naive_grad(z, src, dst, inplace, |z, dy, _| {
                            if z > 0.0 {
                                dy
                            } else if z < 0.0 {
                                -dy
                            } else {
                                0.0
                            }
                        })
                    }
                    Op::PreluBackwardWithSlopeGrad | Op::PreluBackwardWithSlopeGradInplace => {
                        // The two-pass version: the slope gradient (reading dy before it is
                        // overwritten), then dx.
                        da.fill(0.0);
                        let dy: &[$t] = if inplace { &*dst } else { src };
                        for (i, (&z, &dy)) in z.iter().zip(dy).enumerate() {
                            if z <= 0.0 {
                                da[channel(i)] += z * dy;
                            }
                        }
                        naive_grad(z, src, dst, inplace, |z, dy, i| {
                            if z > 0.0 { dy } else { slopes[channel(i)] * dy }
                        })
                    }
                    Op::PreluBackward
                    | Op::PreluBackwardInplace
                    | Op::PreluBackwardFromOutput
                    | Op::PreluBackwardFromOutputInplace => {
                        naive_grad(z, src, dst, inplace, |z, dy, i| {
                            if z > 0.0 { dy } else { slopes[channel(i)] * dy }
                        })
                    }
                    Op::Relu => dst.iter_mut().zip(src).for_each(|(y, &z)| *y = z.max(0.0)),
                    Op::ReluInplace => dst.iter_mut().for_each(|y| *y = y.max(0.0)),
                    Op::LeakyRelu => dst
                        .iter_mut()
                        .zip(src)
                        .for_each(|(y, &z)| *y = if z > 0.0 { z } else { a * z }),
                    Op::LeakyReluInplace => dst
                        .iter_mut()
                        .for_each(|y| *y = if *y > 0.0 { *y } else { a * *y }),
                    Op::Abs => dst.iter_mut().zip(src).for_each(|(y, &z)| *y = z.abs()),
                    Op::AbsInplace => dst.iter_mut().for_each(|y| *y = y.abs()),
                    Op::Prelu | Op::PreluInplace => {
                        let inplace = op == Op::PreluInplace;
                        match layout {
                            ChannelLayout::ChannelsLast => {
                                for (i, y) in dst.iter_mut().enumerate() {
                                    let z = if inplace { *y } else { src[i] };
                                    let a = slopes[i % c];
                                    *y = if z > 0.0 { z } else { a * z };
                                }
                            }
                            ChannelLayout::ChannelsFirst { spatial } => {
                                for (i, y) in dst.iter_mut().enumerate() {
                                    let z = if inplace { *y } else { src[i] };
                                    let a = slopes[(i / spatial) % c];
                                    *y = if z > 0.0 { z } else { a * z };
                                }
                            }
                        }
                    }
                }
            }
        }
    };
}
naive_impl!(f32);
naive_impl!(f64);

/// The naive loop compiled for AVX-512 (what `-C target-cpu=native` gives naive code here).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")]
#[allow(clippy::too_many_arguments)]
fn naive_avx512<T: Naive>(
    op: Op,
    z: &[T],
    src: &[T],
    dst: &mut [T],
    a: T,
    slopes: &[T],
    layout: ChannelLayout,
    da: &mut [T],
    mask: &mut [u64],
) {
    T::naive(op, z, src, dst, a, slopes, layout, da, mask)
}

/// The naive loop compiled for AVX2 + FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn naive_avx2<T: Naive>(
    op: Op,
    z: &[T],
    src: &[T],
    dst: &mut [T],
    a: T,
    slopes: &[T],
    layout: ChannelLayout,
    da: &mut [T],
    mask: &mut [u64],
) {
    T::naive(op, z, src, dst, a, slopes, layout, da, mask)
}

#[allow(clippy::too_many_arguments)]
fn naive_native<T: Naive>(
    op: Op,
    z: &[T],
    src: &[T],
    dst: &mut [T],
    a: T,
    slopes: &[T],
    layout: ChannelLayout,
    da: &mut [T],
    mask: &mut [u64],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if Backend::Avx512.is_supported() {
            // SAFETY: the CPU has every feature `naive_avx512` enables (`Backend::Avx512` is
            // supported only when AVX-512 F/BW/CD/DQ/VL and AVX2/FMA are detected).
            return unsafe { naive_avx512(op, z, src, dst, a, slopes, layout, da, mask) };
        }
        if Backend::Avx2.is_supported() {
            // SAFETY: `Backend::Avx2` is supported only when AVX2 and FMA are detected.
            return unsafe { naive_avx2(op, z, src, dst, a, slopes, layout, da, mask) };
        }
    }
    T::naive(op, z, src, dst, a, slopes, layout, da, mask)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn isa_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! feat {
            ($($f:tt),*) => { $( if std::is_x86_feature_detected!($f) { v.push($f); } )* };
        }
        feat!(
            "sse4.2",
            "avx",
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512cd",
            "avx512dq",
            "avx512vl",
            "avx512bf16",
            "avx512fp16",
            "avx512vbmi2"
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! feat {
            ($($f:tt),*) => { $( if std::arch::is_aarch64_feature_detected!($f) { v.push($f); } )* };
        }
        feat!("neon", "fp16", "bf16", "sve", "sve2");
    }
    v
}

fn want(list: &Option<Vec<String>>, name: &str) -> bool {
    list.as_ref().is_none_or(|l| l.iter().any(|x| x == name))
}

fn prelu_layouts(n: usize) -> Vec<(ChannelLayout, String)> {
    let s = (n / PRELU_CHANNELS).max(1);
    vec![
        (
            ChannelLayout::ChannelsLast,
            format!("channels_last,C={PRELU_CHANNELS}"),
        ),
        (
            ChannelLayout::ChannelsFirst { spatial: s },
            format!("channels_first,N=1,C={PRELU_CHANNELS},S={s}"),
        ),
    ]
}

/// All rows for one dtype.
fn run_dtype<T: Naive>(
    cfg: &Config,
    make: impl Fn(usize) -> T,
    rows: &mut Vec<Row>,
    progress: &mut Progress,
) {
    let max_n = *cfg.sizes.iter().max().unwrap_or(&0);
    let src: Vec<T> = (0..max_n).map(&make).collect();
    // `dy` of the backward ops (`src` is their `z`).
    let dy: Vec<T> = (0..max_n).map(|i| make(i.wrapping_mul(7) + 3)).collect();
    let mut dst: Vec<T> = vec![T::ZERO; max_n];
    let mut da: Vec<T> = vec![T::ZERO; PRELU_CHANNELS];
    // The mask of the mask ops: that of relu on `src` (read by the backward-from-mask ops).
    let mut mask: Vec<u64> = vec![0; rectifier::mask_words(max_n)];
    // memcpy buffers for the roofline of up to 3 streams (1.5 n elements copied).
    let copy_src: Vec<T> = vec![T::from_f64(1.0); max_n * 3 / 2 + 1];
    let mut copy_dst: Vec<T> = vec![T::ZERO; max_n * 3 / 2 + 1];
    let slopes: Vec<T> = (0..PRELU_CHANNELS)
        .map(|c| T::from_f64(0.01 * (c + 1) as f64))
        .collect();
    let a = T::from_f64(0.01);
    let backends: Vec<Backend> = rectifier::supported_backends()
        .iter()
        .filter(|b| want(&cfg.backends, b.name()))
        .collect();
    let size = core::mem::size_of::<T>();
    for &n in &cfg.sizes {
        let (src, dy, dst) = (&src[..n], &dy[..n], &mut dst[..n]);
        let words = rectifier::mask_words(n);
        // The roofline of each byte count: a copy moving the same bytes (read + written).
        let mut memcpy_cache: Vec<(usize, f64)> = Vec::new();
        let mut memcpy_ns = |bytes: usize, progress: &mut Progress| {
            if !want(&cfg.backends, "memcpy") {
                return None;
            }
            if let Some(&(_, ns)) = memcpy_cache.iter().find(|(b, _)| *b == bytes) {
                return Some(ns);
            }
            let m = bytes / 2 / size;
            progress.step(&format!("memcpy {} {} bytes", T::NAME, bytes));
            let (cs, cd) = (&copy_src[..m], &mut copy_dst[..m]);
            let ns = measure(cfg.budget, || {
                cd.copy_from_slice(black_box(cs));
                black_box(&mut *cd);
            });
            memcpy_cache.push((bytes, ns));
            Some(ns)
        };
        for &op in Op::ALL.iter().filter(|op| want(&cfg.ops, op.name())) {
            // Backward ops: `z` = `src`, `dy` from `dy` (out of place) or `dst` (in place).
            let (z, src) = if op.backward() {
                (src, dy)
            } else {
                (&[][..], src)
            };
            if op.from_mask() {
                Rectifier::auto()
                    .relu_with_mask(z, &mut dst[..], &mut mask[..words], Default::default())
                    .expect("valid call");
            }
            if op.backward() && op.inplace() {
                dst.copy_from_slice(dy);
            }
            let memcpy_ns = memcpy_ns(op.bytes(n, size), progress);
            let layouts = if op.params() == Params::ChannelSlopes {
                prelu_layouts(n)
                    .into_iter()
                    .map(|(l, s)| (l, Some(s)))
                    .collect()
            } else {
                vec![(ChannelLayout::ChannelsLast, None)]
            };
            for (layout, layout_name) in layouts {
                let row = |backend: &str, median_ns: f64| Row {
                    op: op.name(),
                    dtype: T::NAME,
                    backend: backend.to_string(),
                    n,
                    bytes: op.bytes(n, size),
                    layout: layout_name.clone(),
                    median_ns,
                };
                if let Some(ns) = memcpy_ns {
                    rows.push(row("memcpy", ns));
                }
                for (name, native) in [("naive", false), ("naive_native", true)] {
                    if want(&cfg.backends, name) {
                        progress.step(&format!(
                            "{} {} {name} n={}",
                            op.name(),
                            T::NAME,
                            size_label(n)
                        ));
                        let ns = measure(cfg.budget, || {
                            if native {
                                naive_native(
                                    op,
                                    black_box(z),
                                    black_box(src),
                                    dst,
                                    black_box(a),
                                    &slopes,
                                    layout,
                                    &mut da,
                                    &mut mask[..words],
                                );
                            } else {
                                T::naive(
                                    op,
                                    black_box(z),
                                    black_box(src),
                                    dst,
                                    black_box(a),
                                    &slopes,
                                    layout,
                                    &mut da,
                                    &mut mask[..words],
                                );
                            }
                            black_box(&mut *dst);
                        });
                        rows.push(row(name, ns));
                    }
                }
                for &b in &backends {
                    let r = Rectifier::new(b).expect("supported");
                    progress.step(&format!(
                        "{} {} {b} n={}",
                        op.name(),
                        T::NAME,
                        size_label(n)
                    ));
                    let ns = measure(cfg.budget, || {
                        let args = Args {
                            src: black_box(src),
                            dst: &mut *dst,
                            z: black_box(z),
                            da: &mut da,
                            mask: &mut mask[..words],
                            slope: black_box(a),
                            slopes: &slopes,
                            layout,
                            ..Args::default()
                        };
                        op.call(r, args).expect("valid call");
                        black_box(&mut *dst);
                    });
                    rows.push(row(b.name(), ns));
                }
            }
        }
    }
}

struct Progress {
    done: usize,
    total: usize,
    start: Instant,
}

impl Progress {
    fn step(&mut self, what: &str) {
        self.done += 1;
        eprint!(
            "\r\x1b[K[{:>4}/{:<4} {:>5.1}s] {what}",
            self.done,
            self.total,
            self.start.elapsed().as_secs_f64()
        );
        let _ = std::io::stderr().flush();
    }
}

fn json_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn write_json(
    path: &str,
    rows: &[Row],
    naive_of: impl Fn(&Row) -> Option<f64>,
    memcpy_of: impl Fn(&Row) -> Option<f64>,
) {
    let mut out = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        let opt = |v: Option<f64>| v.map_or("null".to_string(), |x| format!("{x:.4}"));
        out.push_str(&format!(
            "  {{\"op\": \"{}\", \"dtype\": \"{}\", \"backend\": \"{}\", \"threads\": 1, \"n\": {}, \"bytes\": {}, \
             \"layout\": {}, \"median_ns\": {:.1}, \"gbps\": {:.4}, \"gelem_s\": {:.4}, \
             \"memcpy_ratio\": {}, \"speedup_vs_naive\": {}}}{}\n",
            r.op,
            r.dtype,
            json_escape(&r.backend),
            r.n,
            r.bytes,
            r.layout.as_ref().map_or("null".to_string(), |l| format!("\"{}\"", json_escape(l))),
            r.median_ns,
            r.gbps(),
            r.gelem_s(),
            opt(memcpy_of(r)),
            opt(naive_of(r)),
            if i + 1 == rows.len() { "" } else { "," }
        ));
    }
    out.push_str("]\n");
    std::fs::write(path, out).unwrap_or_else(|e| panic!("writing {path}: {e}"));
}

fn main() {
    let cfg = parse_args();
    let sel = backend_selection();
    println!("# rectifier throughput report");
    println!("cpu:        {}", cpu_model());
    println!("isa:        {}", isa_features().join(" "));
    println!(
        "backends:   {} (detected {}, active {})",
        rectifier::supported_backends(),
        sel.detected,
        sel.active
    );
    if let Some(p) = &sel.env_problem {
        println!("note:       {p}");
    }
    println!(
        "build:      {} {} {} opt-level={} features=[{}]",
        build_info::TARGET,
        build_info::RUSTC_VERSION,
        build_info::PROFILE,
        build_info::OPT_LEVEL,
        build_info::FEATURES.join(",")
    );
    println!(
        "method:     single thread; median of samples of ~100 us, {} ms per row; GB/s = (bytes read + written) / time",
        cfg.budget.as_millis()
    );
    if build_info::PROFILE != "release" {
        println!("WARNING:    debug build; run with --release for meaningful numbers");
    }

    let n_backends = rectifier::supported_backends()
        .iter()
        .filter(|b| want(&cfg.backends, b.name()))
        .count()
        + ["naive", "naive_native"]
            .iter()
            .filter(|b| want(&cfg.backends, b))
            .count();
    let n_ops: usize = Op::ALL
        .iter()
        .filter(|o| want(&cfg.ops, o.name()))
        .map(|o| {
            if o.params() == Params::ChannelSlopes {
                2
            } else {
                1
            }
        })
        .sum();
    let total = cfg.dtypes.len() * cfg.sizes.len() * (n_ops * n_backends + 2);
    let mut progress = Progress {
        done: 0,
        total,
        start: Instant::now(),
    };
    let mut rows = Vec::new();
    // Inputs: half negative, no NaNs (timing is data-independent: the kernels are branch-free).
    let value = |i: usize| ((i.wrapping_mul(2_654_435_761) % 2001) as f64 - 1000.0) / 100.0;
    for dt in &cfg.dtypes {
        match dt.as_str() {
            "f32" => run_dtype::<f32>(&cfg, |i| value(i) as f32, &mut rows, &mut progress),
            "f64" => run_dtype::<f64>(&cfg, value, &mut rows, &mut progress),
            other => {
                eprintln!("unknown dtype {other:?}");
                usage()
            }
        }
    }
    eprintln!(
        "\r\x1b[Kdone in {:.1}s",
        progress.start.elapsed().as_secs_f64()
    );

    let key = |r: &Row| (r.op, r.dtype, r.n, r.layout.clone());
    let lookup = |r: &Row, backend: &str| {
        rows.iter()
            .find(|x| x.backend == backend && key(x) == key(r))
            .map(|x| x.median_ns)
    };
    let memcpy_of = |r: &Row| lookup(r, "memcpy").map(|m| m / r.median_ns);
    let naive_of = |r: &Row| lookup(r, "naive").map(|m| m / r.median_ns);

    let mut last = None;
    for r in &rows {
        let group = (r.op, r.dtype, r.layout.clone());
        if last.as_ref() != Some(&group) {
            println!();
            println!(
                "## {} {}{}",
                r.op,
                r.dtype,
                r.layout
                    .as_ref()
                    .map_or(String::new(), |l| format!(" [{l}]"))
            );
            println!(
                "{:>6}  {:<13} {:>11} {:>8} {:>8} {:>8} {:>9}",
                "n", "backend", "median", "GB/s", "Gelem/s", "%memcpy", "x naive"
            );
            last = Some(group);
        }
        let pct = memcpy_of(r).map_or("-".to_string(), |x| format!("{:.0}%", 100.0 * x));
        let sp = naive_of(r).map_or("-".to_string(), |x| format!("{x:.2}x"));
        let t = if r.median_ns >= 1e6 {
            format!("{:.2} ms", r.median_ns / 1e6)
        } else {
            format!("{:.2} us", r.median_ns / 1e3)
        };
        println!(
            "{:>6}  {:<13} {:>11} {:>8.1} {:>8.2} {:>8} {:>9}",
            size_label(r.n),
            r.backend,
            t,
            r.gbps(),
            r.gelem_s(),
            pct,
            sp
        );
    }
    if let Some(path) = &cfg.json {
        write_json(path, &rows, naive_of, memcpy_of);
        println!("\nwrote {} rows to {path}", rows.len());
    }
}
