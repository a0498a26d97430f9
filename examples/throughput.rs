//! The throughput report: every kernel of the inventory x dtype x backend x size on this CPU,
//! beside two baselines of the same bytes measured in the same run: `memcpy`
//! (`copy_from_slice`, the roofline) and `naive` (the loop a user would write), plus
//! `naive_native` (the same loop compiled for this CPU's widest ISA with `#[target_feature]`).
//! `--backends ...,fill` adds a third, store-only baseline: a `memset` of the bytes the op
//! writes, whose %memcpy is the ceiling of an op bound by its stores (maxout backward at large
//! `k` writes `k` times what it reads, and a copy's stores are only half its bytes).
//!
//! ```text
//! cargo run --release --example throughput                 # about two and a half minutes
//! cargo run --release --example throughput -- --quick      # a few seconds (CI)
//! cargo run --release --example throughput -- --json out.json --sizes 65536 --ops relu,prelu
//! ```
//!
//! Every figure is a median over repeated samples; ratios (percent of memcpy, speedup over
//! naive) compare rows of the same run.

use std::io::Write;
use std::time::{Duration, Instant};

use rectifier::inventory::Op;
use rectifier::{Backend, Rectifier, backend_selection, build_info};

#[path = "support/naive.rs"]
mod naive;
#[path = "support/workload.rs"]
mod workload;
use naive::Naive;
use workload::{INDEX_OFFSET, Workload, variants};

struct Config {
    quick: bool,
    json: Option<String>,
    sizes: Vec<usize>,
    ops: Option<Vec<String>>,
    backends: Option<Vec<String>>,
    dtypes: Vec<String>,
    budget: Duration,
    threads: Option<Vec<usize>>,
    index_offset: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: throughput [--quick] [--json FILE] [--sizes N,N,..] [--ops NAME,..] \
         [--backends NAME,..] [--dtypes f32,f64,bf16,f16] [--budget-ms MS] [--threads N,N,..] \
         [--index-offset BYTES]\n\
         --sizes: default 64Ki,64Mi (4Ki and 1Mi are the other usual ones)\n\
         --backends: default all supported, memcpy, naive and naive_native below 16 Mi; from 16 Mi on \
         memcpy and the active backend only, unless named\n\
         --threads: thread counts of the kernel rows (default: 1, and 1..=cores at 64 Mi and up)\n\
         --index-offset: byte offset of the maxout indices within a 4 KiB page (default {}; \
         the values are at 2688: a different offset within a cache line makes the forward's \
         two output streams split lines differently)\n\
         ops: {}\nbackends: scalar, avx2, avx512, neon, memcpy, naive, naive_native, fill (only when named)",
        INDEX_OFFSET,
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
        sizes: vec![64 << 10, 64 << 20],
        ops: None,
        backends: None,
        dtypes: vec!["f32".into(), "f64".into(), "bf16".into(), "f16".into()],
        budget: Duration::from_millis(40),
        threads: None,
        index_offset: INDEX_OFFSET,
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
            "--threads" => {
                c.threads = Some(
                    list(args.next())
                        .iter()
                        .map(|s| {
                            s.parse()
                                .ok()
                                .filter(|&t| t >= 1)
                                .unwrap_or_else(|| usage())
                        })
                        .collect(),
                );
            }
            "--budget-ms" => {
                budget_given = true;
                let ms: u64 = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| usage());
                c.budget = Duration::from_millis(ms);
            }
            "--index-offset" => {
                c.index_offset = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|&b: &usize| b < 4096 && b.is_multiple_of(4))
                    .unwrap_or_else(|| usage());
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
    threads: usize,
    n: usize,
    bytes: usize,
    layout: Option<String>,
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
    // At least 5 samples; 3 for calls so long that 5 would overrun the budget (64 Mi rows).
    let min = if first * 4 > budget { 3 } else { 5 };
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < min || (start.elapsed() < budget && samples.len() < 10_000) {
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

/// All rows for one dtype.
fn run_dtype<T: Naive>(cfg: &Config, rows: &mut Vec<Row>, progress: &mut Progress) {
    let max_n = *cfg.sizes.iter().max().unwrap_or(&0);
    let mut w = Workload::<T>::with_index_offset(max_n, cfg.index_offset);
    let size = core::mem::size_of::<T>();
    for &n in &cfg.sizes {
        let backends = row_backends(cfg, n);
        // The roofline of each byte count: a copy moving the same bytes (read + written).
        let mut memcpy_cache: Vec<(usize, f64)> = Vec::new();
        for &op in Op::ALL.iter().filter(|op| want(&cfg.ops, op.name())) {
            for v in variants(op, n) {
                let bytes = v.bytes(op, n, size);
                let memcpy_ns = if !want(&cfg.backends, "memcpy") {
                    None
                } else if let Some(&(_, ns)) = memcpy_cache.iter().find(|(b, _)| *b == bytes) {
                    Some(ns)
                } else {
                    progress.step(&format!("memcpy {} {bytes} bytes", T::NAME));
                    let ns = measure(cfg.budget, || w.run_memcpy(bytes));
                    memcpy_cache.push((bytes, ns));
                    Some(ns)
                };
                w.prepare(op, n, &v);
                let row = |backend: &str, threads: usize, median_ns: f64| Row {
                    op: op.name(),
                    dtype: T::NAME,
                    backend: backend.to_string(),
                    threads,
                    n,
                    bytes,
                    layout: v.name.clone(),
                    k: v.row_k,
                    median_ns,
                };
                if let Some(ns) = memcpy_ns {
                    rows.push(row("memcpy", 1, ns));
                }
                // Opt-in (named in --backends): the op's written bytes alone, stored by a
                // `memset`; its %memcpy is the ceiling of an op bound by stores.
                if cfg
                    .backends
                    .as_ref()
                    .is_some_and(|l| l.iter().any(|x| x == "fill"))
                {
                    let written = op.written_bytes(n, size, v.k);
                    progress.step(&format!("fill {} {written} bytes", T::NAME));
                    let ns = measure(cfg.budget, || w.run_fill(written));
                    rows.push(row("fill", 1, ns));
                }
                for (name, native) in [("naive", false), ("naive_native", true)] {
                    if naive_rows(cfg, n).contains(&name) {
                        progress.step(&format!(
                            "{} {} {name} n={}",
                            op.name(),
                            T::NAME,
                            size_label(n)
                        ));
                        let ns = measure(cfg.budget, || w.run_naive(op, native, n, &v));
                        rows.push(row(name, 1, ns));
                    }
                }
                for &b in &backends {
                    for &t in &thread_counts(cfg, n) {
                        let r = Rectifier::new(b).expect("supported");
                        progress.step(&format!(
                            "{} {} {b} n={} threads={t}",
                            op.name(),
                            T::NAME,
                            size_label(n)
                        ));
                        let ns = if t == 1 {
                            let r = r.single_threaded();
                            measure(cfg.budget, || w.run_kernel(op, r, n, &v))
                        } else {
                            in_pool(t, || measure(cfg.budget, || w.run_kernel(op, r, n, &v)))
                        };
                        rows.push(row(b.name(), t, ns));
                    }
                }
            }
        }
    }
}

/// The number of measurements `run_dtype` makes for `cfg` (one [`Progress::step`] each): per
/// dtype and size, one memcpy per distinct byte count, and per op variant the fill (when
/// named), the naive loops and every backend at every thread count.
fn count_steps(cfg: &Config) -> usize {
    let fill = cfg
        .backends
        .as_ref()
        .is_some_and(|l| l.iter().any(|x| x == "fill"));
    let mut total = 0;
    for dt in &cfg.dtypes {
        let size = match dt.as_str() {
            "f64" => 8,
            "f32" => 4,
            _ => 2,
        };
        for &n in &cfg.sizes {
            let (n_backends, n_naive) = (row_backends(cfg, n).len(), naive_rows(cfg, n).len());
            let mut copies = Vec::new();
            for &op in Op::ALL.iter().filter(|op| want(&cfg.ops, op.name())) {
                for v in variants(op, n) {
                    let bytes = v.bytes(op, n, size);
                    if want(&cfg.backends, "memcpy") && !copies.contains(&bytes) {
                        copies.push(bytes);
                        total += 1;
                    }
                    total += usize::from(fill) + n_naive + n_backends * thread_counts(cfg, n).len();
                }
            }
        }
    }
    total
}

/// From this size on, a run that names no `--backends` measures only the active backend (and
/// memcpy): every backend moves memory at about the same rate there, and the other backends'
/// and the naive loops' rows (scalar ones take up to a second each) made the default run take
/// over 20 minutes.
const LARGE: usize = 16 << 20;

/// The backends of the kernel rows at size `n`: those named (all supported ones by default;
/// only the active one from [`LARGE`] on, unless named).
fn row_backends(cfg: &Config, n: usize) -> Vec<Backend> {
    let active = backend_selection().active;
    rectifier::supported_backends()
        .iter()
        .filter(|b| want(&cfg.backends, b.name()))
        .filter(|&b| cfg.backends.is_some() || n < LARGE || b == active)
        .collect()
}

/// The naive loops measured at size `n`: those named (both by default, below [`LARGE`]).
fn naive_rows(cfg: &Config, n: usize) -> Vec<&'static str> {
    ["naive", "naive_native"]
        .into_iter()
        .filter(|b| want(&cfg.backends, b))
        .filter(|_| cfg.backends.is_some() || n < LARGE)
        .collect()
}

/// The thread counts of the kernel rows at size `n`.
fn thread_counts(cfg: &Config, n: usize) -> Vec<usize> {
    if let Some(t) = &cfg.threads {
        return t.clone();
    }
    if n >= 64 << 20 && cfg!(feature = "rayon") {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        (1..=cores).collect()
    } else {
        vec![1]
    }
}

/// Runs `f` inside a rayon pool of `threads` threads (built once per count).
#[cfg(feature = "rayon")]
fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    use std::sync::Mutex;
    static POOLS: Mutex<Vec<(usize, &'static rayon::ThreadPool)>> = Mutex::new(Vec::new());
    let pool = {
        let mut pools = POOLS.lock().unwrap();
        match pools.iter().find(|(t, _)| *t == threads) {
            Some(&(_, p)) => p,
            None => {
                let p: &'static rayon::ThreadPool = Box::leak(Box::new(
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .expect("thread pool"),
                ));
                pools.push((threads, p));
                p
            }
        }
    };
    pool.install(f)
}

/// Without the `rayon` feature every call runs on the calling thread.
#[cfg(not(feature = "rayon"))]
fn in_pool<R: Send>(_threads: usize, f: impl FnOnce() -> R + Send) -> R {
    f()
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
            "  {{\"op\": \"{}\", \"dtype\": \"{}\", \"backend\": \"{}\", \"threads\": {}, \"n\": {}, \"bytes\": {}, \
             \"layout\": {}, \"k\": {}, \"median_ns\": {:.1}, \"gbps\": {:.4}, \"gelem_s\": {:.4}, \
             \"memcpy_ratio\": {}, \"speedup_vs_naive\": {}}}{}\n",
            r.op,
            r.dtype,
            json_escape(&r.backend),
            r.threads,
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
    if rectifier::supported_backends().contains(Backend::Avx512) {
        println!(
            "bf16:       avx512 rounds with {} ({} turns the instruction off)",
            if rectifier::halves::avx512_bf16_in_use() {
                "AVX512-BF16 vcvtne2ps2bf16"
            } else {
                "integer arithmetic"
            },
            rectifier::halves::NO_AVX512_BF16_ENV_VAR
        );
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
        "method:     median of samples of ~100 us, {} ms per row; GB/s = (bytes read + written) / time",
        cfg.budget.as_millis()
    );
    // The crate's dev profile compiles the release profile's code (Cargo.toml), so the warning
    // is about the optimisation level, not the profile's name.
    if build_info::OPT_LEVEL != "3" {
        println!(
            "WARNING:    built at opt-level {}; run with --release for meaningful numbers",
            build_info::OPT_LEVEL
        );
    }

    let mut progress = Progress {
        done: 0,
        total: count_steps(&cfg),
        start: Instant::now(),
    };
    let mut rows = Vec::new();
    for dt in &cfg.dtypes {
        match dt.as_str() {
            "f32" => run_dtype::<f32>(&cfg, &mut rows, &mut progress),
            "f64" => run_dtype::<f64>(&cfg, &mut rows, &mut progress),
            "bf16" => run_dtype::<rectifier::bf16>(&cfg, &mut rows, &mut progress),
            "f16" => run_dtype::<rectifier::f16>(&cfg, &mut rows, &mut progress),
            other => {
                eprintln!("unknown dtype {other:?}");
                usage()
            }
        }
    }
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprint!("\r\x1b[K");
    }
    eprintln!(
        "measured {} rows in {:.1}s",
        rows.len(),
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
                r.layout
                    .as_ref()
                    .map_or(String::new(), |l| format!(" [{l}]")),
            );
            println!(
                "{:>6}  {:<13} {:>3} {:>11} {:>8} {:>8} {:>8} {:>9}",
                "n", "backend", "thr", "median", "GB/s", "Gelem/s", "%memcpy", "x naive"
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
            "{:>6}  {:<13} {:>3} {:>11} {:>8.1} {:>8.2} {:>8} {:>9}",
            size_label(r.n),
            r.backend,
            r.threads,
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
    println!("| op | dtype | layout | n | threads | GB/s | x memcpy | x naive | x naive_native |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows.iter().filter(|r| r.backend == active) {
        let ratio =
            |b: &str| lookup(r, b).map_or("-".to_string(), |m| format!("{:.2}", m / r.median_ns));
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {} | {} | {} |",
            r.op,
            r.dtype,
            r.layout.as_deref().unwrap_or("-"),
            size_label(r.n),
            r.threads,
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
