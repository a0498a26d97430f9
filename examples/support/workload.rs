//! The buffers and calls shared by the throughput report and the criterion benches: one
//! workload per dtype, every op of the inventory runnable on a backend or as a baseline.
#![allow(dead_code)]

use std::hint::black_box;

use rectifier::inventory::{Args, Op};
use rectifier::{ChannelLayout, Rectifier};

use super::naive::{Naive, naive_native};

/// Channels of the PReLU rows.
pub const PRELU_CHANNELS: usize = 32;

/// Inputs and outputs for every op at sizes up to `max_n`.
pub struct Workload<T> {
    /// Forward input; `z` of the backward ops.
    pub src: Vec<T>,
    /// `dy` of the backward ops.
    pub dy: Vec<T>,
    /// Output (or the in-place buffer).
    pub dst: Vec<T>,
    /// PReLU slope gradient.
    pub da: Vec<T>,
    /// Packed mask of the mask ops.
    pub mask: Vec<u64>,
    /// PReLU slopes.
    pub slopes: Vec<T>,
    /// Leaky ReLU slope.
    pub a: T,
    /// Source and destination of the memcpy roofline (up to 1.5 n elements).
    pub copy_src: Vec<T>,
    /// See `copy_src`.
    pub copy_dst: Vec<T>,
}

/// Input values: half negative, no NaNs (the kernels are branch-free, so timing does not
/// depend on the data).
pub fn value(i: usize) -> f64 {
    ((i.wrapping_mul(2_654_435_761) % 2001) as f64 - 1000.0) / 100.0
}

impl<T: Naive> Workload<T> {
    /// Buffers for sizes up to `max_n`.
    pub fn new(max_n: usize) -> Self {
        Workload {
            src: (0..max_n).map(|i| T::from_f64(value(i))).collect(),
            dy: (0..max_n)
                .map(|i| T::from_f64(value(i.wrapping_mul(7) + 3)))
                .collect(),
            dst: vec![T::ZERO; max_n],
            da: vec![T::ZERO; PRELU_CHANNELS],
            mask: vec![0; rectifier::mask_words(max_n)],
            slopes: (0..PRELU_CHANNELS)
                .map(|c| T::from_f64(0.01 * (c + 1) as f64))
                .collect(),
            a: T::from_f64(0.01),
            copy_src: vec![T::from_f64(1.0); max_n * 3 / 2 + 1],
            copy_dst: vec![T::ZERO; max_n * 3 / 2 + 1],
        }
    }

    /// Sets up the buffers `op` reads at size `n`: the mask of `relu` on `src` for the ops that
    /// read a mask, and `dy` in the in-place buffer of in-place backward ops.
    pub fn prepare(&mut self, op: Op, n: usize) {
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
    }

    /// One call of `op` on `r` at size `n`.
    #[inline(never)]
    pub fn run_kernel(&mut self, op: Op, r: Rectifier, n: usize, layout: ChannelLayout) {
        let (z, src) = if op.backward() {
            (&self.src[..n], &self.dy[..n])
        } else {
            (&[][..], &self.src[..n])
        };
        let args = Args {
            src: black_box(src),
            dst: &mut self.dst[..n],
            z: black_box(z),
            da: &mut self.da,
            mask: &mut self.mask[..rectifier::mask_words(n)],
            slope: black_box(self.a),
            slopes: &self.slopes,
            layout,
            ..Args::default()
        };
        op.call(r, args).expect("valid call");
        black_box(&mut self.dst);
    }

    /// One call of the naive loop of `op` (compiled for the widest ISA when `native`).
    #[inline(never)]
    pub fn run_naive(&mut self, op: Op, native: bool, n: usize, layout: ChannelLayout) {
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
            layout,
            &mut self.da,
            &mut self.mask[..words],
        );
        black_box(&mut self.dst);
    }

    /// One copy of `bytes` bytes (half read, half written): the roofline of an op moving them.
    #[inline(never)]
    pub fn run_memcpy(&mut self, bytes: usize) {
        let m = bytes / 2 / core::mem::size_of::<T>();
        self.copy_dst[..m].copy_from_slice(black_box(&self.copy_src[..m]));
        black_box(&mut self.copy_dst);
    }
}
