//! Turns fuzzer bytes into one call of a kernel of the inventory (op, dtype, layout, channels,
//! slopes, subgradient, length, start offset, data bits, sometimes a malformed shape), runs it
//! on every backend this CPU supports, and requires every backend to agree with the scalar
//! reference bit for bit: outputs, slope gradient, mask, and the error (if any), with nothing
//! written on error. Any disagreement panics (a crash for the fuzzer).
//!
//! Used by the `cargo fuzz` targets in `fuzz/fuzz_targets/` and, on stable Rust, by
//! `tests/fuzz_corpus.rs`, which replays the committed corpora.

use rectifier::inventory::{Args, Op, Params};
use rectifier::{
    Backend, ChannelLayout, Element, MaxoutGradMode, MaxoutLayout, Rectifier, Subgradient,
    supported_backends,
};

/// A family of kernels: each fuzz target covers one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Forward element-wise (`relu`, `leaky_relu`, `abs`, `prelu`, in place too).
    Forward,
    /// Backward element-wise, from the input or the output, with the PReLU slope gradient.
    Backward,
    /// The mask path: forward that writes the mask, backward that reads it.
    Mask,
    /// Maxout forward (values and indices, values only).
    MaxoutForward,
    /// Maxout backward (overwrite and accumulate).
    MaxoutBackward,
}

impl Family {
    /// The ops of the family, in inventory order.
    pub fn ops(self) -> Vec<Op> {
        Op::ALL
            .iter()
            .copied()
            .filter(|op| {
                let mask = op.writes_mask() || op.from_mask();
                let maxout = op.maxout();
                match self {
                    Family::Forward => !op.backward() && !mask && !maxout,
                    Family::Backward => op.backward() && !mask,
                    Family::Mask => mask,
                    Family::MaxoutForward => maxout && op.params() == Params::Maxout,
                    Family::MaxoutBackward => op.params() == Params::MaxoutBackward,
                }
            })
            .collect()
    }
}

/// A cursor over the fuzzer's bytes; past the end it yields zeros.
struct Bytes<'a> {
    data: &'a [u8],
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    fn u64(&mut self, n: usize) -> u64 {
        (0..n).fold(0u64, |acc, i| acc | (self.byte() as u64) << (8 * i))
    }
}

/// An element type of the harness.
trait FuzzElement: Element {
    fn from_u64_bits(bits: u64) -> Self;
}
impl FuzzElement for f32 {
    fn from_u64_bits(bits: u64) -> f32 {
        f32::from_bits(bits as u32)
    }
}
impl FuzzElement for f64 {
    fn from_u64_bits(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
}

/// One fuzz input of `family`.
pub fn run(family: Family, data: &[u8]) {
    let ops = family.ops();
    let mut b = Bytes { data };
    let op = ops[b.byte() as usize % ops.len()];
    if op.maxout() {
        if b.byte() & 1 == 0 {
            run_maxout::<f32>(op, &mut b);
        } else {
            run_maxout::<f64>(op, &mut b);
        }
        return;
    }
    if b.byte() & 1 == 0 {
        run_typed::<f32>(op, &mut b);
    } else {
        run_typed::<f64>(op, &mut b);
    }
}

/// Everything a call of one op produces.
#[derive(Debug, PartialEq)]
struct Outcome<B> {
    result: Result<(), String>,
    dst: Vec<B>,
    da: Vec<B>,
    mask: Vec<u64>,
}

fn run_typed<T: FuzzElement>(op: Op, b: &mut Bytes) {
    let size = core::mem::size_of::<T>();
    let flags = b.byte();
    let sub = if flags & 1 == 0 {
        Subgradient::Left
    } else {
        Subgradient::Right
    };
    let offset = (flags >> 1) as usize % 16;
    let malformed = flags >> 5; // 0..8: 1, 2 and 3 make a shape wrong on purpose
    let channels = 1 + b.byte() as usize % 8;
    let layout = match b.byte() {
        x if x & 1 == 0 => ChannelLayout::ChannelsLast,
        x => ChannelLayout::ChannelsFirst {
            spatial: (x >> 1) as usize % 80,
        },
    };
    // Slopes: raw bits (so non-finite ones reach the checks) or tame values.
    let tame = b.byte();
    let slope_of = |b: &mut Bytes| {
        let bits = b.u64(size);
        if tame & 1 == 0 {
            T::from_u64_bits(bits)
        } else {
            T::from_f64((bits % 2001) as f64 / 500.0 - 2.0)
        }
    };
    let slope = slope_of(b);
    let slopes: Vec<T> = (0..channels).map(|_| slope_of(b)).collect();
    // The rest is data: `z` then `dy` (or the forward input), then mask words.
    let rest = b.data;
    let n = rest.len() / (2 * size);
    let elem = |i: usize| {
        let mut bits = 0u64;
        for (k, &x) in rest[i * size..(i + 1) * size].iter().enumerate() {
            bits |= (x as u64) << (8 * k);
        }
        T::from_u64_bits(bits)
    };
    let z: Vec<T> = (0..n).map(elem).collect();
    let dy: Vec<T> = (n..2 * n).map(elem).collect();
    let words = rectifier::mask_words(n);
    let mask_in: Vec<u64> = (0..words)
        .map(|w| {
            z.get(w * 64)
                .map_or(0x5555_5555_5555_5555, |v| v.to_f64().to_bits())
        })
        .collect();

    // Shapes, possibly wrong on purpose.
    let dst_len = if malformed == 1 { n + 1 } else { n };
    let da_len = if malformed == 2 {
        channels + 1
    } else {
        channels
    };
    let mask_len = if malformed == 3 { words + 1 } else { words };

    let run_on = |r: Rectifier| -> Outcome<T::Bits> {
        let canary = T::from_f64(-1234.5);
        let (zz, src) = if op.backward() {
            (&z[..], &dy[..])
        } else {
            (&[][..], &z[..])
        };
        let mut dst_buf = vec![canary; offset + dst_len + 2];
        if op.inplace() {
            let m = src.len().min(dst_len);
            dst_buf[offset..offset + m].copy_from_slice(&src[..m]);
        }
        let before_dst = dst_buf.clone();
        let mut da = vec![canary; da_len];
        let mut mask = vec![0xdead_beef_u64; mask_len];
        if op.from_mask() {
            let m = mask_in.len().min(mask_len);
            mask[..m].copy_from_slice(&mask_in[..m]);
        }
        let before_mask = mask.clone();
        let args = Args {
            src,
            dst: &mut dst_buf[offset..offset + dst_len],
            z: zz,
            sub,
            da: &mut da,
            mask: &mut mask,
            slope,
            slopes: if op.params() == Params::ChannelSlopes {
                &slopes
            } else {
                &[]
            },
            layout,
            ..Args::default()
        };
        let result = op.call(r, args).map_err(|e| e.to_string());
        let bits = |v: &[T]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        // Nothing outside the output, ever; nothing at all on error.
        for (i, (now, was)) in dst_buf.iter().zip(&before_dst).enumerate() {
            let inside = i >= offset && i < offset + dst_len;
            if !inside || result.is_err() {
                assert_eq!(
                    now.to_bits(),
                    was.to_bits(),
                    "{} on {} wrote element {i} (offset {offset}, len {dst_len}) with result {result:?}",
                    op.name(),
                    r.backend()
                );
            }
        }
        if result.is_err() {
            assert!(
                da.iter().all(|v| v.to_bits() == canary.to_bits()),
                "{}: da written on error",
                op.name()
            );
            assert_eq!(mask, before_mask, "{}: mask written on error", op.name());
        }
        Outcome {
            result,
            dst: bits(&dst_buf[offset..offset + dst_len]),
            da: bits(&da),
            mask,
        }
    };

    let want = run_on(Rectifier::new(Backend::Scalar).expect("scalar"));
    for backend in supported_backends()
        .iter()
        .filter(|&b| b != Backend::Scalar)
    {
        let r = Rectifier::new(backend).expect("supported");
        for r in [r.single_threaded(), r] {
            let got = run_on(r);
            assert!(
                got == want,
                "{} {} on {} differs from the reference (n {n}, offset {offset}, layout {layout:?}, \
                 channels {channels}, sub {sub:?}, malformed {malformed}):\n got {got:x?}\nwant {want:x?}",
                op.name(),
                T::NAME,
                backend
            );
        }
    }
}

/// One maxout call: `k`, layout, mode, group count, offsets and data from the bytes; indices
/// for the backward from the bytes too (some out of range on purpose).
fn run_maxout<T: FuzzElement>(op: Op, b: &mut Bytes) {
    let size = core::mem::size_of::<T>();
    let flags = b.byte();
    let k = match flags & 3 {
        0 => 1 + b.byte() as usize % 8,
        1 => 1 + b.byte() as usize % 40,
        2 => [2, 4, 8, 16][b.byte() as usize % 4],
        _ => 1 + b.byte() as usize * 4,
    };
    let layout = if flags & 4 == 0 {
        MaxoutLayout::Interleaved
    } else {
        MaxoutLayout::Planar
    };
    let mode = if flags & 8 == 0 {
        MaxoutGradMode::Overwrite
    } else {
        MaxoutGradMode::Accumulate
    };
    let offset = (flags >> 4) as usize % 16;
    let malformed = b.byte() % 8; // 1: input length not a multiple of k; 2: output length; 3: k = 0
    let bad_index = b.byte();
    let rest = b.data;
    let elem = |i: usize| {
        let mut bits = 0u64;
        for (j, &x) in rest[i * size..(i + 1) * size].iter().enumerate() {
            bits |= (x as u64) << (8 * j);
        }
        T::from_u64_bits(bits)
    };
    let total = rest.len() / size;
    let backward = op.params() == Params::MaxoutBackward;
    // Forward: n = G * k inputs. Backward: G gradients, then `dx`'s initial values (accumulate).
    let groups = if backward { total / (k + 1) } else { total / k };
    let n = groups * k;
    let data: Vec<T> = (0..total).map(elem).collect();
    let (k_call, in_len, out_len) = match malformed {
        1 if !backward => (k, n + 1, groups),
        2 => (
            k,
            if backward { groups } else { n },
            if backward { n + 1 } else { groups + 1 },
        ),
        3 => (
            0,
            if backward { groups } else { n },
            if backward { n } else { groups },
        ),
        _ => (
            k,
            if backward { groups } else { n },
            if backward { n } else { groups },
        ),
    };
    let input: Vec<T> = (0..in_len)
        .map(|i| data.get(i).copied().unwrap_or(T::ZERO))
        .collect();
    let dx0: Vec<T> = (0..out_len)
        .map(|i| data.get(groups + i).copied().unwrap_or(T::ZERO))
        .collect();
    let ix0: Vec<u32> = (0..groups)
        .map(|g| {
            let v = rest.get(g).copied().unwrap_or(0) as usize;
            if bad_index == 7 && g == groups / 2 {
                k as u32
            } else {
                (v % k.max(1)) as u32
            }
        })
        .collect();

    let run_on = |r: Rectifier| {
        let canary = T::from_f64(-4321.5);
        let mut out = vec![canary; offset + out_len + 2];
        if backward {
            out[offset..offset + out_len].copy_from_slice(&dx0);
        }
        let before = out.clone();
        let mut ix = if backward {
            ix0.clone()
        } else {
            vec![u32::MAX; groups]
        };
        let ix_before = ix.clone();
        let args = Args {
            src: &input,
            dst: &mut out[offset..offset + out_len],
            k: k_call,
            maxout_layout: layout,
            indices: &mut ix,
            grad_mode: mode,
            ..Args::default()
        };
        let result = op.call(r, args).map_err(|e| e.to_string());
        for (i, (now, was)) in out.iter().zip(&before).enumerate() {
            if i < offset || i >= offset + out_len || result.is_err() {
                assert_eq!(
                    now.to_bits(),
                    was.to_bits(),
                    "{} on {} wrote element {i} ({result:?})",
                    op.name(),
                    r.backend()
                );
            }
        }
        if result.is_err() {
            assert_eq!(ix, ix_before, "{}: indices written on error", op.name());
        }
        let bits: Vec<T::Bits> = out[offset..offset + out_len]
            .iter()
            .map(|x| x.to_bits())
            .collect();
        (result, bits, ix)
    };
    let want = run_on(Rectifier::new(Backend::Scalar).expect("scalar"));
    for backend in supported_backends()
        .iter()
        .filter(|&b| b != Backend::Scalar)
    {
        let r = Rectifier::new(backend).expect("supported");
        for r in [r.single_threaded(), r] {
            let got = run_on(r);
            assert!(
                got == want,
                "{} {} on {backend} differs from the reference (k {k_call}, {layout:?}, {mode:?}, groups {groups}, offset {offset}, malformed {malformed}):\n got {got:x?}\nwant {want:x?}",
                op.name(),
                T::NAME,
            );
        }
    }
}
