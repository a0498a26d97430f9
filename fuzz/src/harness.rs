//! Turns fuzzer bytes into one call of a kernel of the inventory (op, dtype, layout, channels,
//! slopes, subgradient, length, start offset, data bits, sometimes a malformed shape), runs it
//! on every backend this CPU supports, and requires every backend to agree with the scalar
//! reference bit for bit: outputs, slope gradient, mask, and the error (if any), with nothing
//! written on error. Any disagreement panics (a crash for the fuzzer).
//!
//!
//! [`run_c_abi`] (target `c_abi`) calls the C ABI's `extern "C"` functions through the
//! dispatcher generated from `src/ffi/table.rs` (`tests/common/c_call.rs`, as `tests/ffi.rs`
//! does) with pointers into one allocation; [`run_raw`] (target `raw`) calls
//! `rectifier::raw::call`. Both compare with the typed Rust API.
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
    /// A scalar slope ([`Element::Slope`]) from raw bits.
    fn slope_from_u64_bits(bits: u64) -> Self::Slope;
    /// A scalar slope from `f64`, rounded as `raw::call` rounds it.
    fn slope_of_f64(x: f64) -> Self::Slope;
}
impl FuzzElement for f32 {
    fn from_u64_bits(bits: u64) -> f32 {
        f32::from_bits(bits as u32)
    }
    fn slope_from_u64_bits(bits: u64) -> f32 {
        f32::from_bits(bits as u32)
    }
    fn slope_of_f64(x: f64) -> f32 {
        x as f32
    }
}
impl FuzzElement for f64 {
    fn from_u64_bits(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
    fn slope_from_u64_bits(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
    fn slope_of_f64(x: f64) -> f64 {
        x
    }
}
impl FuzzElement for rectifier::bf16 {
    fn from_u64_bits(bits: u64) -> Self {
        Self::from_bits(bits as u16)
    }
    fn slope_from_u64_bits(bits: u64) -> f32 {
        f32::from_bits(bits as u32)
    }
    fn slope_of_f64(x: f64) -> f32 {
        x as f32
    }
}
impl FuzzElement for rectifier::f16 {
    fn from_u64_bits(bits: u64) -> Self {
        Self::from_bits(bits as u16)
    }
    fn slope_from_u64_bits(bits: u64) -> f32 {
        f32::from_bits(bits as u32)
    }
    fn slope_of_f64(x: f64) -> f32 {
        x as f32
    }
}

/// One fuzz input of `family`.
pub fn run(family: Family, data: &[u8]) {
    let ops = family.ops();
    let mut b = Bytes { data };
    let op = ops[b.byte() as usize % ops.len()];
    // The dtype: f32, f64, bf16, f16 (the low two bits).
    if op.maxout() {
        match b.byte() & 3 {
            0 => run_maxout::<f32>(op, &mut b),
            1 => run_maxout::<f64>(op, &mut b),
            2 => run_maxout::<rectifier::bf16>(op, &mut b),
            _ => run_maxout::<rectifier::f16>(op, &mut b),
        }
        return;
    }
    match b.byte() & 3 {
        0 => run_typed::<f32>(op, &mut b),
        1 => run_typed::<f64>(op, &mut b),
        2 => run_typed::<rectifier::bf16>(op, &mut b),
        _ => run_typed::<rectifier::f16>(op, &mut b),
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
    // The scalar slope is a `T::Slope` (`f32` for the half formats): its own bytes.
    let slope = {
        let bits = b.u64(size_of::<T::Slope>());
        if tame & 1 == 0 {
            T::slope_from_u64_bits(bits)
        } else {
            T::slope_of_f64((bits % 2001) as f64 / 500.0 - 2.0)
        }
    };
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

// ---------------------------------------------------------------------------------------------
// The C ABI (`Family::CAbi`) and the raw-byte API (`run_raw`).

/// The C ABI's dispatcher, generated from `src/ffi/table.rs` (shared with `tests/ffi.rs`).
mod cabi {
    use rectifier::ffi::*;
    include!("../../tests/common/c_call.rs");
}

use cabi::{CallC, Param};
use rectifier::ffi::{
    RECTIFIER_BACKEND_AUTO, RECTIFIER_INTERNAL, RECTIFIER_INVALID_ARGUMENT,
    RECTIFIER_MISALIGNED_POINTER, RECTIFIER_NULL_POINTER, RECTIFIER_OK, RECTIFIER_OVERLAP,
    RECTIFIER_SIZE_OVERFLOW, RECTIFIER_UNSUPPORTED_BACKEND, backend_code, rectifier_status,
    status_of,
};

/// The parameters of the C function of `op` (every op has one: `tests/ffi.rs` checks that the
/// table covers the inventory).
fn signature(op: Op) -> &'static [Param] {
    cabi::SIGNATURES
        .iter()
        .find(|(name, _)| *name == op.name())
        .map(|(_, params)| *params)
        .unwrap_or_else(|| panic!("no C function for {}", op.name()))
}

/// Whether a parameter kind is a buffer, and the size (= alignment) of its element.
fn buffer_elem(kind: &str, size: usize) -> Option<usize> {
    match kind {
        "In" | "Out" | "InOut" => Some(size),
        "MaskIn" | "MaskOut" => Some(8),
        "IndexIn" | "IndexOut" => Some(4),
        _ => None,
    }
}

/// Whether a buffer kind is written by the call.
fn written(kind: &str) -> bool {
    matches!(kind, "Out" | "InOut" | "MaskOut" | "IndexOut")
}

/// The [`Args`] field a buffer parameter of the C table stands for.
fn field(name: &str, kind: &str) -> &'static str {
    match (name, kind) {
        (_, "InOut") => "dst",
        (_, "MaskIn" | "MaskOut") => "mask",
        (_, "IndexIn" | "IndexOut") => "indices",
        ("src" | "dy", "In") => "src",
        ("z" | "y", "In") => "z",
        ("slopes", "In") => "slopes",
        ("dst" | "dx" | "values", "Out") => "dst",
        ("da", "Out") => "da",
        _ => panic!("no Args field for the C parameter {name}: {kind}"),
    }
}

/// The scalar arguments of one call, decoded from the bytes: counts (by name), enumeration
/// values as C passes them (possibly unknown), the slope bits, the backend.
struct Plan {
    counts: Vec<(&'static str, usize)>,
    layout: i32,
    sub: i32,
    maxout_layout: i32,
    grad_mode: i32,
    slope_bits: u64,
    backend: i32,
}

impl Plan {
    fn count(&self, name: &str) -> usize {
        self.counts
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |&(_, v)| v)
    }
}

/// A length that no buffer can have (its size in bytes exceeds `isize::MAX` for every element
/// type), so the call must stop at `RECTIFIER_SIZE_OVERFLOW` (or an earlier check).
const HUGE: [usize; 3] = [
    usize::MAX,
    (isize::MAX as usize) / 4 + 1,
    isize::MAX as usize,
];

/// Decodes the counts and enumeration values of a call of the C function `sig`: mostly a
/// consistent shape (so that kernels run), sometimes one count replaced by anything (lengths
/// stay within what the arena holds, or are `HUGE`).
fn plan(sig: &[Param], b: &mut Bytes) -> Plan {
    let rows = b.byte() as usize % 9;
    let channels = 1 + b.byte() as usize % 4;
    let spatial = b.byte() as usize % 5;
    let groups = b.byte() as usize % 17;
    let k = 1 + b.byte() as usize % 9;
    let n_elem = rows * channels * spatial.max(1);
    let maxout = sig.iter().any(|p| p.0 == "k");
    let n = if maxout { groups * k } else { n_elem };
    let mut counts: Vec<(&'static str, usize)> = sig
        .iter()
        .filter(|p| p.1 == "Count")
        .map(|p| {
            let v = match p.0 {
                "n" => n,
                "channels" => channels,
                "spatial" => spatial,
                "mask_words" => rectifier::mask_words(n),
                "groups" => groups,
                "k" => k,
                other => panic!("no default for the count {other}"),
            };
            (p.0, v)
        })
        .collect();
    let perturb = b.byte();
    if perturb & 3 == 0 && !counts.is_empty() {
        let i = (perturb >> 2) as usize % counts.len();
        let is_len = sig.iter().any(|p| p.2 == Some(counts[i].0));
        let v = b.byte() as usize;
        counts[i].1 = match v % 8 {
            0 => 0,
            1 => HUGE[v / 8 % 3],
            2 if !is_len => 1 << 33,
            3 if !is_len => usize::MAX,
            _ => v % 200,
        };
    }
    let enum_of = |x: u8| -> i32 {
        match x % 16 {
            0..=6 => 0,
            7..=13 => 1,
            14 => -1,
            _ => [2, i32::MAX, i32::MIN][x as usize / 16 % 3],
        }
    };
    let backend = match b.byte() % 16 {
        0..=7 => RECTIFIER_BACKEND_AUTO,
        x @ 8..=11 => (x - 8) as i32,
        12 => -2,
        13 => 4,
        14 => i32::MIN,
        _ => RECTIFIER_BACKEND_AUTO,
    };
    Plan {
        counts,
        layout: enum_of(b.byte()),
        sub: enum_of(b.byte()),
        maxout_layout: enum_of(b.byte()),
        grad_mode: enum_of(b.byte()),
        slope_bits: b.u64(8),
        backend,
    }
}

/// Where one buffer parameter points.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// At this byte offset in the arena.
    At(usize),
    Null,
    /// Near the top of the address space (never dereferenced: its length makes it wrap).
    High,
}

/// The arena's size in bytes: every buffer of a call is a sub-slice of it.
const ARENA: usize = 16384;

/// Places each buffer of `sig` (lengths from `plan`): one after the other (disjoint) or at
/// random offsets (overlaps likely); sometimes NULL, misaligned or near the end of the address
/// space. A buffer whose length is not `HUGE` always lies inside the arena.
fn place(sig: &[Param], plan: &Plan, size: usize, b: &mut Bytes) -> Vec<Place> {
    let random = b.byte() & 1 == 1;
    let mut cursor = 0usize;
    sig.iter()
        .map(|&(_, kind, len)| {
            let Some(elem) = buffer_elem(kind, size) else {
                return Place::Null; // not a buffer
            };
            let len = plan.count(len.expect("a buffer has a length"));
            let how = b.byte();
            let sel = b.u64(2) as usize;
            let huge = len > ARENA / elem;
            match how % 32 {
                0 => return Place::Null,
                1 if len.checked_mul(elem).is_none_or(|bytes| bytes > 7) => return Place::High,
                _ if huge => return Place::At(0),
                _ => {}
            }
            let bytes = len * elem;
            let misalign = if how % 32 == 2 {
                1 + sel % (elem.max(2) - 1)
            } else {
                0
            };
            let off = if random {
                let room = ARENA - bytes - misalign;
                sel % (room + 1) / elem * elem
            } else {
                let start = cursor + (how as usize / 32) * 8;
                let start = if start + bytes + misalign > ARENA {
                    0
                } else {
                    start
                };
                cursor = start + bytes + misalign;
                start
            };
            Place::At(off + misalign)
        })
        .collect()
}

/// The status the C function must return for boundary reasons (backend, NULL, alignment, size,
/// enumeration values, overlap: the checks of `src/ffi/mod.rs`, in their order), if any.
fn boundary_status(
    sig: &[Param],
    plan: &Plan,
    places: &[Place],
    base: usize,
    size: usize,
) -> Option<rectifier_status> {
    match plan.backend {
        RECTIFIER_BACKEND_AUTO => {}
        0..=3 => {
            let supported = rectifier::ALL_BACKENDS
                .iter()
                .any(|&b| backend_code(b) == plan.backend && b.is_supported());
            if !supported {
                return Some(RECTIFIER_UNSUPPORTED_BACKEND);
            }
        }
        _ => return Some(RECTIFIER_INVALID_ARGUMENT),
    }
    let known = |v: i32| v == 0 || v == 1;
    let mut regions: Vec<(usize, usize, bool)> = Vec::new();
    for (&(_, kind, len), place) in sig.iter().zip(places) {
        match kind {
            "Layout" if !known(plan.layout) => return Some(RECTIFIER_INVALID_ARGUMENT),
            "Subgradient" if !known(plan.sub) => return Some(RECTIFIER_INVALID_ARGUMENT),
            "MaxoutLayout" if !known(plan.maxout_layout) => {
                return Some(RECTIFIER_INVALID_ARGUMENT);
            }
            "GradMode" if !known(plan.grad_mode) => return Some(RECTIFIER_INVALID_ARGUMENT),
            _ => {}
        }
        let Some(elem) = buffer_elem(kind, size) else {
            continue;
        };
        let len = plan.count(len.expect("a buffer has a length"));
        if len == 0 {
            continue;
        }
        let addr = match *place {
            Place::Null => return Some(RECTIFIER_NULL_POINTER),
            Place::High => usize::MAX - 7,
            Place::At(off) => base + off,
        };
        if addr % elem != 0 {
            return Some(RECTIFIER_MISALIGNED_POINTER);
        }
        let Some(end) = len
            .checked_mul(elem)
            .filter(|&bytes| bytes <= isize::MAX as usize)
            .and_then(|bytes| addr.checked_add(bytes))
        else {
            return Some(RECTIFIER_SIZE_OVERFLOW);
        };
        regions.push((addr, end, written(kind)));
    }
    for (i, a) in regions.iter().enumerate() {
        for b in &regions[i + 1..] {
            if (a.2 || b.2) && a.0 < b.1 && b.0 < a.1 {
                return Some(RECTIFIER_OVERLAP);
            }
        }
    }
    None
}

fn to_vec<E: Copy>(bytes: &[u8]) -> Vec<E> {
    let n = bytes.len() / size_of::<E>();
    // SAFETY: `n` elements of `E` fit in `bytes`; `E` is a plain number type (every bit pattern
    // valid); the read is unaligned.
    (0..n)
        .map(|i| unsafe { bytes.as_ptr().cast::<E>().add(i).read_unaligned() })
        .collect()
}

fn as_bytes<E: Copy>(v: &[E]) -> &[u8] {
    // SAFETY: a slice of plain numbers viewed as its bytes.
    unsafe { core::slice::from_raw_parts(v.as_ptr().cast::<u8>(), size_of_val(v)) }
}

fn maxout_layout_of(v: i32) -> MaxoutLayout {
    if v == 0 {
        MaxoutLayout::Interleaved
    } else {
        MaxoutLayout::Planar
    }
}

fn grad_mode_of(v: i32) -> MaxoutGradMode {
    if v == 0 {
        MaxoutGradMode::Overwrite
    } else {
        MaxoutGradMode::Accumulate
    }
}

/// One call of a C ABI function from the bytes: op, element type, backend (unknown and
/// unsupported ones too), counts, enumeration values, and pointers into one allocation (NULL,
/// misaligned, overlapping, past the address space). Requires: the status the boundary checks
/// imply (in their order), never `RECTIFIER_INTERNAL`, nothing written (anywhere in the
/// allocation) unless `RECTIFIER_OK`, and otherwise the Rust API's status and outputs, bit for
/// bit.
pub fn run_c_abi(data: &[u8]) {
    let mut b = Bytes { data };
    let op = Op::ALL[b.byte() as usize % Op::ALL.len()];
    if b.byte() & 1 == 0 {
        c_abi_typed::<f32>(op, &mut b);
    } else {
        c_abi_typed::<f64>(op, &mut b);
    }
}

fn c_abi_typed<T: FuzzElement + CallC>(op: Op, b: &mut Bytes) {
    let size = size_of::<T>();
    let sig = signature(op);
    let plan = plan(sig, b);
    let places = place(sig, &plan, size, b);
    let valid_indices = !b.byte().is_multiple_of(4);
    // The arena: the rest of the bytes, repeated (special values come from the seeds).
    let fill: Vec<u8> = if b.data.is_empty() {
        vec![0x7f, 0xc0, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00]
    } else {
        b.data.to_vec()
    };
    let mut arena = vec![0u64; ARENA / 8];
    // SAFETY: the arena's bytes, for filling.
    let bytes = unsafe { core::slice::from_raw_parts_mut(arena.as_mut_ptr().cast::<u8>(), ARENA) };
    for (i, x) in bytes.iter_mut().enumerate() {
        *x = fill[i % fill.len()];
    }
    // Maxout indices in range (mostly), so that backward runs.
    let k = plan.count("k");
    for (&(_, kind, len), place) in sig.iter().zip(&places) {
        if let (true, "IndexIn", &Place::At(off)) = (valid_indices && k > 0, kind, place) {
            let len = plan.count(len.expect("length"));
            if len <= ARENA / 4 && off % 4 == 0 {
                for g in 0..len {
                    let at = off + 4 * g;
                    let v = (bytes[at] as usize % k) as u32;
                    bytes[at..at + 4].copy_from_slice(&v.to_ne_bytes());
                }
            }
        }
    }
    let before = bytes.to_vec();
    let base = bytes.as_ptr() as usize;
    let expected_boundary = boundary_status(sig, &plan, &places, base, size);

    let ptr = |name: &str| -> usize {
        sig.iter()
            .zip(&places)
            .find(|(p, _)| buffer_elem(p.1, size).is_some() && field(p.0, p.1) == name)
            .map_or(0, |(_, place)| match *place {
                Place::Null => 0,
                Place::High => usize::MAX - 7,
                Place::At(off) => base + off,
            })
    };
    let arena_ptr = arena.as_mut_ptr().cast::<u8>();
    let at = |addr: usize| -> *mut u8 {
        if addr == 0 {
            core::ptr::null_mut()
        } else if addr == usize::MAX - 7 {
            core::ptr::without_provenance_mut(addr)
        } else {
            arena_ptr.wrapping_add(addr - base)
        }
    };
    let slope = T::slope_from_u64_bits(plan.slope_bits);
    let raw = cabi::Raw::<T> {
        src: at(ptr("src")).cast_const().cast(),
        dst: at(ptr("dst")).cast(),
        z: at(ptr("z")).cast_const().cast(),
        da: at(ptr("da")).cast(),
        mask: at(ptr("mask")).cast(),
        slopes: at(ptr("slopes")).cast_const().cast(),
        n: plan.count("n"),
        channels: plan.count("channels"),
        mask_words: plan.count("mask_words"),
        spatial: plan.count("spatial"),
        slope,
        layout: plan.layout,
        sub: plan.sub,
        indices: at(ptr("indices")).cast(),
        groups: plan.count("groups"),
        k,
        maxout_layout: plan.maxout_layout,
        grad_mode: plan.grad_mode,
    };
    // SAFETY: every pointer is NULL, or points into the arena with its length inside it, or
    // has a length whose size overflows (`HUGE`, or `High` with more than 7 bytes), which the
    // boundary checks reject before any access.
    let status = unsafe { T::call_c(op.name(), plan.backend, raw) };
    // SAFETY: as above; the call is over.
    let after = unsafe { core::slice::from_raw_parts(arena_ptr.cast_const(), ARENA) }.to_vec();
    let ctx = || {
        format!(
            "{} {} backend {} counts {:?} layout {} sub {} maxout_layout {} grad_mode {} places {:?}",
            op.name(),
            T::NAME,
            plan.backend,
            plan.counts,
            plan.layout,
            plan.sub,
            plan.maxout_layout,
            plan.grad_mode,
            places
        )
    };
    assert_ne!(status, RECTIFIER_INTERNAL, "{}: panicked", ctx());
    if status != RECTIFIER_OK {
        assert!(
            after == before,
            "{}: status {status} but memory was written",
            ctx()
        );
    }
    if let Some(want) = expected_boundary {
        assert_eq!(status, want, "{}: boundary status", ctx());
        return;
    }

    // The Rust API on copies of the same buffers.
    let range = |name: &str| -> Option<(usize, usize)> {
        sig.iter()
            .zip(&places)
            .find(|(p, _)| buffer_elem(p.1, size).is_some() && field(p.0, p.1) == name)
            .map(|(&(_, kind, len), place)| {
                let bytes = plan.count(len.expect("length")) * buffer_elem(kind, size).unwrap();
                match *place {
                    Place::At(off) => (off, off + bytes),
                    _ => (0, 0), // length 0
                }
            })
    };
    let copy = |name: &str| range(name).map_or(&[][..], |(s, e)| &before[s..e]);
    let src: Vec<T> = to_vec(copy("src"));
    let z: Vec<T> = to_vec(copy("z"));
    let slopes: Vec<T> = to_vec(copy("slopes"));
    let mut dst: Vec<T> = to_vec(copy("dst"));
    let mut da: Vec<T> = to_vec(copy("da"));
    let mut mask: Vec<u64> = to_vec(copy("mask"));
    let mut indices: Vec<u32> = to_vec(copy("indices"));
    let r = if plan.backend == RECTIFIER_BACKEND_AUTO {
        Rectifier::auto()
    } else {
        let backend = rectifier::ALL_BACKENDS
            .iter()
            .copied()
            .find(|&b| backend_code(b) == plan.backend)
            .expect("a known backend");
        Rectifier::new(backend).expect("supported")
    };
    let args = Args {
        src: &src,
        dst: &mut dst,
        z: &z,
        sub: if plan.sub == 0 {
            Subgradient::Left
        } else {
            Subgradient::Right
        },
        da: &mut da,
        mask: &mut mask,
        slope,
        slopes: &slopes,
        layout: if plan.layout == 0 {
            ChannelLayout::ChannelsLast
        } else {
            ChannelLayout::ChannelsFirst {
                spatial: plan.count("spatial"),
            }
        },
        k,
        maxout_layout: maxout_layout_of(plan.maxout_layout),
        indices: &mut indices,
        grad_mode: grad_mode_of(plan.grad_mode),
    };
    let want = match op.call(r, args) {
        Ok(()) => RECTIFIER_OK,
        Err(e) => status_of(&e),
    };
    assert_eq!(status, want, "{}: status differs from the Rust API", ctx());
    if status == RECTIFIER_OK {
        let mut expect = before.clone();
        let mut put = |name: &str, v: &[u8]| {
            if let Some((s, e)) = range(name) {
                expect[s..e].copy_from_slice(v);
            }
        };
        put("dst", as_bytes(&dst));
        put("da", as_bytes(&da));
        let written_field = |name: &str| {
            sig.iter().any(|p| {
                written(p.1) && buffer_elem(p.1, size).is_some() && field(p.0, p.1) == name
            })
        };
        if written_field("mask") {
            put("mask", as_bytes(&mask));
        }
        if written_field("indices") {
            put("indices", as_bytes(&indices));
        }
        assert!(
            after == expect,
            "{}: outputs differ from the Rust API",
            ctx()
        );
    }
}

/// One call of the raw-byte API (`rectifier::raw::call`) from the bytes: op, dtype, backend,
/// shape, and for each buffer the op takes a byte slice at an offset (possibly misaligned) of
/// a byte length that may not be a whole number of elements. Requires: no panic; the first
/// buffer (in `raw::call`'s order) that is misaligned or ragged gives its error and nothing is
/// written; otherwise the typed API's result and outputs on aligned copies, bit for bit.
pub fn run_raw(data: &[u8]) {
    use rectifier::raw::{self, DType, RawArgs};
    let mut b = Bytes { data };
    let op = Op::ALL[b.byte() as usize % Op::ALL.len()];
    let dtype = match b.byte() & 3 {
        0 => DType::F32,
        1 => DType::F64,
        2 => DType::BF16,
        _ => DType::F16,
    };
    let size = dtype.size();
    let sig = signature(op);
    let plan = plan(sig, &mut b);
    let r = rectifier::ALL_BACKENDS
        .iter()
        .copied()
        .find(|&x| backend_code(x) == plan.backend && x.is_supported())
        .map_or(Rectifier::auto(), |x| Rectifier::new(x).expect("supported"));
    // (field, byte offset in its allocation, byte length, element size), in `raw::call`'s
    // cast order.
    const ORDER: [&str; 7] = ["src", "dst", "z", "da", "mask", "slopes", "indices"];
    let mut bufs: Vec<(&str, usize, usize, usize)> = Vec::new();
    for name in ORDER {
        let Some(&(_, kind, len)) = sig
            .iter()
            .find(|p| buffer_elem(p.1, size).is_some() && field(p.0, p.1) == name)
        else {
            continue;
        };
        let elem = buffer_elem(kind, size).unwrap();
        let len = plan.count(len.expect("length")).min(300);
        let how = b.byte();
        let offset = if how % 8 == 1 {
            1 + (how as usize / 8) % 7
        } else {
            0
        };
        let bytes = match how % 16 {
            2 => (len * elem).saturating_sub(1 + (how as usize / 16) % 3),
            3 => len * elem + 1 + (how as usize / 16) % 7,
            _ => len * elem,
        };
        bufs.push((name, offset, bytes, elem));
    }
    let fill: Vec<u8> = if b.data.is_empty() {
        vec![0x00, 0x00, 0xc0, 0x7f, 0x01, 0x00, 0x00, 0x80]
    } else {
        b.data.to_vec()
    };
    // Each buffer in an allocation of its own, aligned to 8, then offset.
    let storage = |name: &str| -> Vec<u64> {
        let Some(&(_, offset, bytes, _)) = bufs.iter().find(|x| x.0 == name) else {
            return Vec::new();
        };
        let mut v = vec![0u64; (offset + bytes).div_ceil(8)];
        for (i, w) in v.iter_mut().enumerate() {
            let mut x = [0u8; 8];
            for (j, byte) in x.iter_mut().enumerate() {
                *byte = fill[(i * 8 + j + name.len() * 13) % fill.len()];
            }
            *w = u64::from_ne_bytes(x);
        }
        // Maxout indices mostly in range.
        if name == "indices" && plan.count("k") > 0 && !fill[0].is_multiple_of(4) {
            for w in v.iter_mut() {
                let k = plan.count("k") as u64;
                *w = ((*w & 0xffff_ffff) % k) | (((*w >> 32) % k) << 32);
            }
        }
        v
    };
    let mut store: Vec<Vec<u64>> = ORDER.iter().map(|n| storage(n)).collect();
    let before = store.clone();
    let span = |i: usize| -> (usize, usize) {
        bufs.iter()
            .find(|x| x.0 == ORDER[i])
            .map_or((0, 0), |&(_, off, bytes, _)| (off, off + bytes))
    };
    let spans: Vec<(usize, usize)> = (0..7).map(span).collect();
    // The expected cast error: the first non-empty misaligned or ragged buffer.
    let cast_error = bufs.iter().find_map(|&(name, off, bytes, elem)| {
        if bytes == 0 {
            None
        } else if off % elem != 0 {
            Some(format!("{name}: misaligned"))
        } else if bytes % elem != 0 {
            Some(format!("{name}: ragged"))
        } else {
            None
        }
    });
    let slope = f64::from_bits(plan.slope_bits);
    let args_sub = if plan.sub == 0 {
        Subgradient::Left
    } else {
        Subgradient::Right
    };
    let layout = if plan.layout == 0 {
        ChannelLayout::ChannelsLast
    } else {
        ChannelLayout::ChannelsFirst {
            spatial: plan.count("spatial"),
        }
    };
    let result = {
        let mut it = store.iter_mut();
        let mut next = |i: usize| -> &mut [u8] {
            let v = it.next().expect("7 buffers");
            // SAFETY: the bytes of a Vec<u64>.
            let all = unsafe {
                core::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), v.len() * 8)
            };
            &mut all[spans[i].0..spans[i].1]
        };
        let src = next(0);
        let dst = next(1);
        let z = next(2);
        let da = next(3);
        let mask = next(4);
        let slopes = next(5);
        let indices = next(6);
        raw::call(
            r,
            op,
            dtype,
            RawArgs {
                src,
                dst,
                z,
                sub: args_sub,
                da,
                mask,
                slope,
                slopes,
                layout,
                k: plan.count("k"),
                maxout_layout: maxout_layout_of(plan.maxout_layout),
                indices,
                grad_mode: grad_mode_of(plan.grad_mode),
            },
        )
    };
    let ctx = format!(
        "{} {} counts {:?} bufs {bufs:?} result {result:?}",
        op.name(),
        dtype.name(),
        plan.counts
    );
    if result.is_err() {
        assert!(store == before, "{ctx}: written on error");
    }
    if let Some(why) = cast_error {
        let e = result.expect_err(&ctx);
        let misaligned = matches!(e, rectifier::Error::Misaligned { .. });
        assert_eq!(
            misaligned,
            why.ends_with("misaligned"),
            "{ctx}: expected {why}"
        );
        assert!(
            misaligned || matches!(e, rectifier::Error::NotDivisible { .. }),
            "{ctx}: expected {why}"
        );
        return;
    }
    // The typed API on aligned copies.
    let bytes_of =
        |v: &[u64], i: usize| -> Vec<u8> { as_bytes(v)[spans[i].0..spans[i].1].to_vec() };
    let copies: Vec<Vec<u8>> = (0..7).map(|i| bytes_of(&before[i], i)).collect();
    let outs: Vec<Vec<u8>> = match dtype {
        DType::F32 => typed::<f32>(
            op,
            r,
            &copies,
            slope as f32,
            &plan,
            args_sub,
            layout,
            &result,
        ),
        DType::F64 => typed::<f64>(op, r, &copies, slope, &plan, args_sub, layout, &result),
        DType::BF16 => typed::<rectifier::bf16>(
            op,
            r,
            &copies,
            slope as f32,
            &plan,
            args_sub,
            layout,
            &result,
        ),
        DType::F16 => typed::<rectifier::f16>(
            op,
            r,
            &copies,
            slope as f32,
            &plan,
            args_sub,
            layout,
            &result,
        ),
    };
    if result.is_ok() {
        for (i, out) in outs.iter().enumerate() {
            assert!(
                bytes_of(&store[i], i) == *out,
                "{ctx}: {} differs from the typed API",
                ORDER[i]
            );
        }
    }
}

/// The typed API on `copies` (the raw call's buffers, in `raw::call`'s order); checks the
/// result against `raw_result` and returns the buffers afterwards, as bytes.
#[allow(clippy::too_many_arguments)]
fn typed<T: FuzzElement>(
    op: Op,
    r: Rectifier,
    copies: &[Vec<u8>],
    slope: T::Slope,
    plan: &Plan,
    sub: Subgradient,
    layout: ChannelLayout,
    raw_result: &Result<(), rectifier::Error>,
) -> Vec<Vec<u8>> {
    let src: Vec<T> = to_vec(&copies[0]);
    let mut dst: Vec<T> = to_vec(&copies[1]);
    let z: Vec<T> = to_vec(&copies[2]);
    let mut da: Vec<T> = to_vec(&copies[3]);
    let mut mask: Vec<u64> = to_vec(&copies[4]);
    let slopes: Vec<T> = to_vec(&copies[5]);
    let mut indices: Vec<u32> = to_vec(&copies[6]);
    let result = op.call(
        r,
        Args {
            src: &src,
            dst: &mut dst,
            z: &z,
            sub,
            da: &mut da,
            mask: &mut mask,
            slope,
            slopes: &slopes,
            layout,
            k: plan.count("k"),
            maxout_layout: maxout_layout_of(plan.maxout_layout),
            indices: &mut indices,
            grad_mode: grad_mode_of(plan.grad_mode),
        },
    );
    assert_eq!(
        format!("{result:?}"),
        format!("{raw_result:?}"),
        "{}: raw and typed results differ",
        op.name()
    );
    vec![
        as_bytes(&src).to_vec(),
        as_bytes(&dst).to_vec(),
        as_bytes(&z).to_vec(),
        as_bytes(&da).to_vec(),
        as_bytes(&mask).to_vec(),
        as_bytes(&slopes).to_vec(),
        as_bytes(&indices).to_vec(),
    ]
}
