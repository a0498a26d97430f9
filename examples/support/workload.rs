//! The buffers and calls shared by the throughput report and the criterion benches: one
//! workload per dtype, every op of the inventory (and each of its variants: PReLU layouts,
//! maxout layouts and group sizes) runnable on a backend or as a baseline.
#![allow(dead_code)]

use std::hint::black_box;

use rectifier::inventory::{Args, Op, Params};
use rectifier::{ChannelLayout, MaxoutGradMode, MaxoutLayout, Rectifier};

use super::naive::{Naive, naive_native, naive_native_maxout};

/// Channels of the PReLU rows.
pub const PRELU_CHANNELS: usize = 32;
/// The group sizes of the maxout rows.
pub const MAXOUT_KS: [usize; 4] = [2, 4, 8, 16];

/// One configuration of an op: its PReLU layout, or its maxout layout and `k`.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The PReLU layout.
    pub layout: ChannelLayout,
    /// The maxout layout.
    pub maxout_layout: MaxoutLayout,
    /// The maxout group size (1 for other ops).
    pub k: usize,
    /// The `layout` of the row (`None` for ops without one).
    pub name: Option<String>,
    /// The `k` of the row (maxout only).
    pub row_k: Option<usize>,
    /// How maxout's backward writes `dx`.
    pub grad_mode: MaxoutGradMode,
}

impl Variant {
    /// The bytes `op` moves at size `n` in this variant: [`Op::bytes`], plus the reads of `dx`
    /// by maxout's backward in accumulate mode.
    pub fn bytes(&self, op: Op, n: usize, elem_size: usize) -> usize {
        let dx_reads = match self.grad_mode {
            MaxoutGradMode::Accumulate if op.params() == Params::MaxoutBackward => {
                n / self.k * self.k * elem_size
            }
            _ => 0,
        };
        op.bytes(n, elem_size, self.k) + dx_reads
    }
}

/// The variants of `op` at size `n`.
pub fn variants(op: Op, n: usize) -> Vec<Variant> {
    let plain = |layout, name| Variant {
        layout,
        maxout_layout: MaxoutLayout::Interleaved,
        k: 1,
        name,
        row_k: None,
        grad_mode: MaxoutGradMode::Overwrite,
    };
    match op.params() {
        Params::ChannelSlopes => {
            let s = (n / PRELU_CHANNELS).max(1);
            vec![
                plain(
                    ChannelLayout::ChannelsLast,
                    Some(format!("channels_last,C={PRELU_CHANNELS}")),
                ),
                plain(
                    ChannelLayout::ChannelsFirst { spatial: s },
                    Some(format!("channels_first,N=1,C={PRELU_CHANNELS},S={s}")),
                ),
            ]
        }
        Params::Maxout | Params::MaxoutBackward => {
            let modes: &[MaxoutGradMode] = if op.params() == Params::MaxoutBackward {
                &[MaxoutGradMode::Overwrite, MaxoutGradMode::Accumulate]
            } else {
                &[MaxoutGradMode::Overwrite]
            };
            let mut v = Vec::new();
            for &grad_mode in modes {
                for ml in [MaxoutLayout::Interleaved, MaxoutLayout::Planar] {
                    for k in MAXOUT_KS {
                        let name = match grad_mode {
                            MaxoutGradMode::Overwrite => ml.name().to_string(),
                            MaxoutGradMode::Accumulate => format!("{},accumulate", ml.name()),
                        };
                        v.push(Variant {
                            layout: ChannelLayout::ChannelsLast,
                            maxout_layout: ml,
                            k,
                            name: Some(name),
                            row_k: Some(k),
                            grad_mode,
                        });
                    }
                }
            }
            v
        }
        _ => vec![plain(ChannelLayout::ChannelsLast, None)],
    }
}

/// A buffer that starts at a chosen offset within its 4 KiB page (a multiple of 64 bytes, but
/// for the `--index-offset` experiment of the throughput report).
///
/// Large allocations come from `mmap`, so every such buffer starts at the same offset within
/// its page, and a kernel's stores then alias its next loads in the low 12 address bits ("4K
/// aliasing"), which stalls the loads: 64 Ki `bf16` `relu_backward` measured 53 GB/s beside
/// buffers sized for 64 Mi and 100 GB/s beside buffers sized for 64 Ki. Giving `src`, `dy` and
/// `dst` different page offsets makes every row independent of the other sizes in the run.
/// The maxout indices get one too: like the values they are a whole-vector output, and the
/// forward's two output streams at different offsets within a cache line measured about half
/// as fast as at the same offset on an Intel Xeon (64 Ki `f32` `k` = 2, see the README).
pub struct Skewed<T> {
    buf: Vec<T>,
    off: usize,
}

impl<T: Copy> Skewed<T> {
    /// `len` elements from `f(i)`, the first at byte `page_offset` of a 4 KiB page.
    pub fn new(len: usize, page_offset: usize, f: impl Fn(usize) -> T) -> Self {
        let size = core::mem::size_of::<T>();
        let slack = 4096 / size;
        let fill = f(0);
        let mut buf = vec![fill; len + slack];
        let addr = buf.as_ptr() as usize;
        let off = ((page_offset + 4096 - addr % 4096) % 4096) / size;
        for (i, x) in buf[off..off + len].iter_mut().enumerate() {
            *x = f(i);
        }
        buf.truncate(off + len);
        Skewed { buf, off }
    }
}

impl<T> core::ops::Deref for Skewed<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.buf[self.off..]
    }
}

impl<T> core::ops::DerefMut for Skewed<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf[self.off..]
    }
}

/// Inputs and outputs for every op at sizes up to `max_n`.
pub struct Workload<T> {
    /// Forward input; `z` of the backward ops.
    pub src: Skewed<T>,
    /// `dy` of the backward ops.
    pub dy: Skewed<T>,
    /// Output (or the in-place buffer).
    pub dst: Skewed<T>,
    /// PReLU slope gradient.
    pub da: Vec<T>,
    /// Packed mask of the mask ops.
    pub mask: Vec<u64>,
    /// Maxout indices (written by forward, read by backward).
    pub indices: Skewed<u32>,
    /// PReLU slopes.
    pub slopes: Vec<T>,
    /// Leaky ReLU slope.
    pub a: T,
    /// Source and destination of the memcpy roofline, in bytes (a call's byte count need not
    /// be a whole number of elements).
    pub copy_src: Vec<u8>,
    /// See `copy_src`.
    pub copy_dst: Vec<u8>,
}

/// Input values: half negative, no NaNs (the kernels are branch-free, so timing does not
/// depend on the data).
pub fn value(i: usize) -> f64 {
    ((i.wrapping_mul(2_654_435_761) % 2001) as f64 - 1000.0) / 100.0
}

/// The page offset of [`Workload::indices`] (64-byte aligned, distinct from the other buffers').
pub const INDEX_OFFSET: usize = 4032;

impl<T: Naive> Workload<T> {
    /// Buffers for sizes up to `max_n`.
    pub fn new(max_n: usize) -> Self {
        Self::with_index_offset(max_n, INDEX_OFFSET)
    }

    /// [`Workload::new`] with the maxout indices at byte `index_offset` of a page (a multiple
    /// of 4 below 4096) instead of [`INDEX_OFFSET`].
    pub fn with_index_offset(max_n: usize, index_offset: usize) -> Self {
        assert!(index_offset < 4096 && index_offset.is_multiple_of(4));
        let size = core::mem::size_of::<T>();
        // The copy buffers hold the largest call of any op and variant at `max_n`: half its
        // bytes for the memcpy (read from `copy_src`, written to `copy_dst`), and its written
        // bytes for the fill (into `copy_dst`).
        let (mut copy_half, mut fill) = (0, 0);
        for &op in Op::ALL {
            for v in variants(op, max_n) {
                copy_half = copy_half.max(v.bytes(op, max_n, size).div_ceil(2));
                fill = fill.max(op.written_bytes(max_n, size, v.k));
            }
        }
        Workload {
            src: Skewed::new(max_n, 0, |i| T::from_f64(value(i))),
            dy: Skewed::new(max_n, 1344, |i| T::from_f64(value(i.wrapping_mul(7) + 3))),
            dst: Skewed::new(max_n, 2688, |_| T::ZERO),
            da: vec![T::ZERO; PRELU_CHANNELS],
            mask: vec![0; rectifier::mask_words(max_n)],
            indices: Skewed::new(max_n, index_offset, |_| 0),
            slopes: (0..PRELU_CHANNELS)
                .map(|c| T::from_f64(0.01 * (c + 1) as f64))
                .collect(),
            a: T::from_f64(0.01),
            copy_src: (0..copy_half).map(|i| i as u8).collect(),
            copy_dst: vec![0; copy_half.max(fill)],
        }
    }

    /// Sets up the buffers `op` reads at size `n`: the mask of `relu` on `src` for the ops that
    /// read a mask, `dy` in the in-place buffer of in-place backward ops, and valid indices
    /// (spread over the group) for maxout's backward.
    pub fn prepare(&mut self, op: Op, n: usize, v: &Variant) {
        if op.from_mask() {
            let words = rectifier::mask_words(n);
            Rectifier::auto()
                .relu_with_mask(
                    &self.src[..n],
                    &mut self.dst[..n],
                    &mut self.mask[..words],
                    Default::default(),
                )
                .expect("valid call");
        }
        if op.backward() && op.inplace() {
            self.dst[..n].copy_from_slice(&self.dy[..n]);
        }
        if op.params() == Params::MaxoutBackward {
            for (i, ix) in self.indices[..n / v.k].iter_mut().enumerate() {
                *ix = ((i * 7) % v.k) as u32;
            }
        }
    }

    /// `(input length, output length, index length)` of `op` at size `n`.
    fn lens(op: Op, n: usize, k: usize) -> (usize, usize, usize) {
        let g = n / k;
        match op.params() {
            Params::Maxout => (g * k, g, if op == Op::MaxoutValues { 0 } else { g }),
            Params::MaxoutBackward => (g, g * k, g),
            _ => (n, n, 0),
        }
    }

    /// One call of `op` on `r` at size `n`.
    #[inline(never)]
    pub fn run_kernel(&mut self, op: Op, r: Rectifier, n: usize, v: &Variant) {
        let (in_len, out_len, ix_len) = Self::lens(op, n, v.k);
        let (z, src) = if op.backward() {
            (&self.src[..n], &self.dy[..n])
        } else {
            (&[][..], &self.src[..in_len])
        };
        let args = Args {
            src: black_box(src),
            dst: &mut self.dst[..out_len],
            z: black_box(z),
            da: &mut self.da,
            mask: &mut self.mask[..rectifier::mask_words(n)],
            slope: black_box(self.a.to_slope()),
            slopes: &self.slopes,
            layout: v.layout,
            k: v.k,
            maxout_layout: v.maxout_layout,
            indices: &mut self.indices[..ix_len],
            grad_mode: v.grad_mode,
            ..Args::default()
        };
        op.call(r, args).expect("valid call");
        black_box(&mut self.dst);
    }

    /// One call of the naive loop of `op` (compiled for the widest ISA when `native`).
    #[inline(never)]
    pub fn run_naive(&mut self, op: Op, native: bool, n: usize, v: &Variant) {
        let (in_len, out_len, _) = Self::lens(op, n, v.k);
        if !op.params().elementwise() {
            let f = if native {
                naive_native_maxout::<T>
            } else {
                T::naive_maxout
            };
            let ix_len = n / v.k;
            f(
                op,
                black_box(&self.src[..in_len]),
                &mut self.dst[..out_len],
                &mut self.indices[..ix_len],
                v.k,
                v.maxout_layout,
                v.grad_mode,
            );
            black_box(&mut self.dst);
            return;
        }
        let (z, src) = if op.backward() {
            (&self.src[..n], &self.dy[..n])
        } else {
            (&[][..], &self.src[..n])
        };
        let words = rectifier::mask_words(n);
        let f = if native { naive_native::<T> } else { T::naive };
        f(
            op,
            black_box(z),
            black_box(src),
            &mut self.dst[..n],
            black_box(self.a),
            &self.slopes,
            v.layout,
            &mut self.da,
            &mut self.mask[..words],
        );
        black_box(&mut self.dst);
    }

    /// The store-only baseline: `bytes` written (a `memset`, nothing read), the ceiling of an
    /// op bound by its stores.
    #[inline(never)]
    pub fn run_fill(&mut self, bytes: usize) {
        black_box(&mut self.copy_dst[..bytes]).fill(0x3c);
        black_box(&mut self.copy_dst);
    }

    /// One copy of `bytes` bytes (half read, half written): the roofline of an op moving them.
    #[inline(never)]
    pub fn run_memcpy(&mut self, bytes: usize) {
        let m = bytes / 2;
        self.copy_dst[..m].copy_from_slice(black_box(&self.copy_src[..m]));
        black_box(&mut self.copy_dst);
    }
}
