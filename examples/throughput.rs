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
use rectifier::{
    Backend, ChannelLayout, MaxoutGradMode, MaxoutLayout, Rectifier, backend_selection, build_info,
};

#[path = "support/naive.rs"]
mod naive;
use naive::{Naive, naive_native, naive_native_maxout};

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
    /// The maxout group size.
    k: Option<usize>,
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

/// The group sizes of the maxout rows.
const MAXOUT_KS: [usize; 4] = [2, 4, 8, 16];

/// One configuration of an op: its PReLU layout, or its maxout layout and `k`.
struct Variant {
    layout: ChannelLayout,
    maxout_layout: MaxoutLayout,
    k: usize,
    /// The `layout` of the row (`None` for ops without one).
    name: Option<String>,
    /// The `k` of the row (maxout only).
    row_k: Option<usize>,
}

fn variants(op: Op, n: usize) -> Vec<Variant> {
    let plain = |layout, name| Variant {
        layout,
        maxout_layout: MaxoutLayout::Interleaved,
        k: 1,
        name,
        row_k: None,
    };
    match op.params() {
        Params::ChannelSlopes => prelu_layouts(n)
            .into_iter()
            .map(|(l, s)| plain(l, Some(s)))
            .collect(),
        Params::Maxout | Params::MaxoutBackward => {
            let mut v = Vec::new();
            for ml in [MaxoutLayout::Interleaved, MaxoutLayout::Planar] {
                for k in MAXOUT_KS {
                    v.push(Variant {
                        layout: ChannelLayout::ChannelsLast,
                        maxout_layout: ml,
                        k,
                        name: Some(ml.name().to_string()),
                        row_k: Some(k),
                    });
                }
            }
            v
        }
        _ => vec![plain(ChannelLayout::ChannelsLast, None)],
    }
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
    let mut dst: Vec<T> = vec![T::ZERO; max_n];
    let mut ix_out: Vec<u32> = vec![0; max_n];
    let size = core::mem::size_of::<T>();
    // memcpy of the same bytes (half of them read, half written), on byte buffers: a maxout
    // call's byte count need not be a whole number of elements.
    let copy_src: Vec<u8> = (0..max_n * size).map(|i| i as u8).collect();
    let mut copy_dst: Vec<u8> = vec![0; max_n * size];
    let mut memcpy_cache: std::collections::HashMap<usize, f64> = Default::default();
    let slopes: Vec<T> = (0..PRELU_CHANNELS)
        .map(|c| T::from_f64(0.01 * (c + 1) as f64))
        .collect();
    let a = T::from_f64(0.01);
    let backends: Vec<Backend> = rectifier::supported_backends()
        .iter()
        .filter(|b| want(&cfg.backends, b.name()))
        .collect();
    for &n in &cfg.sizes {
        for &op in Op::ALL.iter().filter(|op| want(&cfg.ops, op.name())) {
            for var in variants(op, n) {
                let k = var.k;
                let g = n / k;
                let n = g * k;
                let bytes = op.bytes(n, size, k);
                // (input, output) lengths: maxout reads `n` and writes `G`, its backward the
                // other way round.
                let (in_len, out_len) = match op.params() {
                    Params::Maxout => (n, g),
                    Params::MaxoutBackward => (g, n),
                    _ => (n, n),
                };
                // Backward reads indices: valid ones, spread over the group.
                let mut ix_in: Vec<u32> = (0..g).map(|i| ((i * 7) % k) as u32).collect();
                let ix_len = if op.params() == Params::Maxout { g } else { 0 };
                let ix = &mut ix_out[..ix_len];
                let layout = var.layout;
                let ml = var.maxout_layout;
                let row = |backend: &str, median_ns: f64| Row {
                    op: op.name(),
                    dtype: T::NAME,
                    backend: backend.to_string(),
                    n,
                    bytes,
                    layout: var.name.clone(),
                    k: var.row_k,
                    median_ns,
                };
                if want(&cfg.backends, "memcpy") {
                    let half = bytes / 2;
                    let ns = *memcpy_cache.entry(half).or_insert_with(|| {
                        progress.step(&format!("memcpy {} bytes={}", T::NAME, 2 * half));
                        let (s, d) = (&copy_src[..half], &mut copy_dst[..half]);
                        measure(cfg.budget, || {
                            d.copy_from_slice(black_box(s));
                            black_box(&mut *d);
                        })
                    });
                    rows.push(row("memcpy", ns));
                }
                let src = &src[..in_len];
                let dst = &mut dst[..out_len];
                for (name, native) in [("naive", false), ("naive_native", true)] {
                    if !want(&cfg.backends, name) {
                        continue;
                    }
                    progress.step(&format!(
                        "{} {} {name} n={}",
                        op.name(),
                        T::NAME,
                        size_label(n)
                    ));
                    let ns = if op.params().elementwise() {
                        measure(cfg.budget, || {
                            if native {
                                naive_native(
                                    op,
                                    black_box(src),
                                    dst,
                                    black_box(a),
                                    &slopes,
                                    layout,
                                );
                            } else {
                                T::naive(op, black_box(src), dst, black_box(a), &slopes, layout);
                            }
                            black_box(&mut *dst);
                        })
                    } else {
                        let ixs: &mut [u32] = if op.params() == Params::MaxoutBackward {
                            &mut ix_in
                        } else {
                            &mut *ix
                        };
                        measure(cfg.budget, || {
                            if native {
                                naive_native_maxout(op, black_box(src), dst, ixs, k, ml);
                            } else {
                                T::naive_maxout(op, black_box(src), dst, ixs, k, ml);
                            }
                            black_box(&mut *dst);
                        })
                    };
                    rows.push(row(name, ns));
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
                            slope: black_box(a),
                            slopes: &slopes,
                            layout,
                            k,
                            maxout_layout: ml,
                            indices: if op.params() == Params::MaxoutBackward {
                                &mut ix_in
                            } else {
                                &mut *ix
                            },
                            grad_mode: MaxoutGradMode::Overwrite,
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
        // Progress on a terminal only; a log (CI) gets no carriage-return lines.
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return;
        }
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
             \"layout\": {}, \"k\": {}, \"median_ns\": {:.1}, \"gbps\": {:.4}, \"gelem_s\": {:.4}, \
             \"memcpy_ratio\": {}, \"speedup_vs_naive\": {}}}{}\n",
            r.op,
            r.dtype,
            json_escape(&r.backend),
            r.n,
            r.bytes,
            r.layout.as_ref().map_or("null".to_string(), |l| format!("\"{}\"", json_escape(l))),
            r.k.map_or("null".to_string(), |k| k.to_string()),
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
        .map(|o| variants(*o, 1 << 10).len())
        .sum();
    let total = cfg.dtypes.len() * cfg.sizes.len() * n_ops * (n_backends + 1);
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

    let key = |r: &Row| (r.op, r.dtype, r.n, r.layout.clone(), r.k);
    let lookup = |r: &Row, backend: &str| {
        rows.iter()
            .find(|x| x.backend == backend && key(x) == key(r))
            .map(|x| x.median_ns)
    };
    let memcpy_of = |r: &Row| lookup(r, "memcpy").map(|m| m / r.median_ns);
    let naive_of = |r: &Row| lookup(r, "naive").map(|m| m / r.median_ns);

    let mut last = None;
    for r in &rows {
        let group = (r.op, r.dtype, r.layout.clone(), r.k);
        if last.as_ref() != Some(&group) {
            println!();
            println!(
                "## {} {}{}",
                r.op,
                r.dtype,
                r.layout.as_ref().map_or(String::new(), |l| format!(
                    " [{l}{}]",
                    r.k.map_or(String::new(), |k| format!(", k={k}"))
                ))
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
    // The summary: the active backend against the baselines, one line per op, as Markdown
    // (the README's results table is this section).
    let active = sel.active.name();
    println!("\n## Summary: {active} (the active backend) vs the baselines, same run\n");
    println!("| op | dtype | layout | n | GB/s | x memcpy | x naive | x naive_native |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows.iter().filter(|r| r.backend == active) {
        let ratio =
            |b: &str| lookup(r, b).map_or("-".to_string(), |m| format!("{:.2}", m / r.median_ns));
        println!(
            "| {} | {} | {} | {} | {:.1} | {} | {} | {} |",
            r.op,
            r.dtype,
            r.layout.as_deref().unwrap_or("-").to_string()
                + &r.k.map_or(String::new(), |k| format!(",k={k}")),
            size_label(r.n),
            r.gbps(),
            ratio("memcpy"),
            ratio("naive"),
            ratio("naive_native")
        );
    }
    if let Some(path) = &cfg.json {
        write_json(path, &rows, naive_of, memcpy_of);
        println!("\nwrote {} rows to {path}", rows.len());
    }
}
