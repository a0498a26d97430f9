//! Shared test helpers: every supported backend, special values, the length/offset matrix and a
//! bitwise comparison that says where and how two outputs differ.
#![allow(dead_code)]

use rectifier::inventory::{Args, Op, Params};
use rectifier::{Backend, ChannelLayout, Element, Rectifier, supported_backends};

/// One handle per backend this CPU supports, forced (the Highway way: every test runs once per
/// ISA compiled in and supported). The scalar reference is among them.
pub fn backends() -> Vec<Rectifier> {
    let v: Vec<Rectifier> = supported_backends()
        .iter()
        .map(|b| Rectifier::new(b).expect("supported backend"))
        .collect();
    assert!(v.iter().any(|r| r.backend() == Backend::Scalar));
    v
}

/// The SIMD backends this CPU supports (everything but the reference).
pub fn simd_backends() -> Vec<Rectifier> {
    backends()
        .into_iter()
        .filter(|r| r.backend() != Backend::Scalar)
        .collect()
}

pub fn reference() -> Rectifier {
    Rectifier::new(Backend::Scalar).unwrap()
}

/// Lengths 0..=3 * widest tile + 1 (every vector width, unroll and tail), plus a few large ones.
pub fn lengths<T: Element>() -> Vec<usize> {
    let tile = rectifier::kernels::max_tile::<T>();
    let mut v: Vec<usize> = (0..=3 * tile + 1).collect();
    v.extend([1000, 4096 + 3, 65_536 + 17]);
    v
}

/// A small deterministic generator (xorshift64*), so that failures replay.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Element types the tests are generic over, with their special values.
pub trait TestElement: Element {
    /// NaNs (quiet and signalling, both signs, several payloads), zeros, infinities,
    /// subnormals, extremes.
    fn specials() -> Vec<Self>;
    /// A value from raw random bits (any pattern, NaNs included).
    fn from_random_bits(bits: u64) -> Self;
    /// A "normal-looking" value in about [-4, 4].
    fn from_unit(x: f64) -> Self;
    /// Slopes to try: negative, zero, in (0, 1), one, above one, tiny.
    fn slopes() -> Vec<Self>;
    /// The scalar slope ([`Element::Slope`]: `Self`, or `f32` for the half formats) nearest
    /// `x`.
    fn slope_of(x: f64) -> Self::Slope;
    /// Scalar slopes to try: [`TestElement::slopes`] as slopes, and for the half formats also
    /// `f32` slopes the format does not represent (torch's default 0.01 among them).
    fn scalar_slopes() -> Vec<Self::Slope> {
        Self::slopes().into_iter().map(Element::to_slope).collect()
    }
}

impl TestElement for f32 {
    fn specials() -> Vec<f32> {
        [
            0x7fc0_0000u32, // +qNaN
            0xffc0_0000,    // -qNaN (x86 default NaN)
            0x7fc0_1234,    // +qNaN with payload
            0xffd5_5555,    // -qNaN with payload
            0x7f80_0001,    // +sNaN
            0xff80_0abc,    // -sNaN with payload
            0x7fbf_ffff,    // +sNaN, max payload
            0x0000_0000,    // +0
            0x8000_0000,    // -0
            0x7f80_0000,    // +inf
            0xff80_0000,    // -inf
            0x0000_0001,    // +min subnormal
            0x8000_0001,    // -min subnormal
            0x007f_ffff,    // +max subnormal
            0x807f_ffff,    // -max subnormal
            0x0080_0000,    // +MIN_POSITIVE
            0x8080_0000,    // -MIN_POSITIVE
            0x7f7f_ffff,    // MAX
            0xff7f_ffff,    // MIN
            0x3f80_0000,    // 1
            0xbf80_0000,    // -1
        ]
        .map(f32::from_bits)
        .to_vec()
    }
    fn from_random_bits(bits: u64) -> f32 {
        f32::from_bits(bits as u32)
    }
    fn from_unit(x: f64) -> f32 {
        x as f32
    }
    fn slopes() -> Vec<f32> {
        vec![-1.5, -1.0, 0.0, -0.0, 0.01, 0.2, 1.0, 3.75, 1e-40, 1e30]
    }
    fn slope_of(x: f64) -> f32 {
        x as f32
    }
}

impl TestElement for f64 {
    fn specials() -> Vec<f64> {
        [
            0x7ff8_0000_0000_0000u64,
            0xfff8_0000_0000_0000,
            0x7ff8_0000_1234_5678,
            0xfffa_aaaa_aaaa_aaaa,
            0x7ff0_0000_0000_0001,
            0xfff0_0000_0000_0abc,
            0x7ff7_ffff_ffff_ffff,
            0x0000_0000_0000_0000,
            0x8000_0000_0000_0000,
            0x7ff0_0000_0000_0000,
            0xfff0_0000_0000_0000,
            0x0000_0000_0000_0001,
            0x8000_0000_0000_0001,
            0x000f_ffff_ffff_ffff,
            0x800f_ffff_ffff_ffff,
            0x0010_0000_0000_0000,
            0x8010_0000_0000_0000,
            0x7fef_ffff_ffff_ffff,
            0xffef_ffff_ffff_ffff,
            0x3ff0_0000_0000_0000,
            0xbff0_0000_0000_0000,
        ]
        .map(f64::from_bits)
        .to_vec()
    }
    fn from_random_bits(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
    fn from_unit(x: f64) -> f64 {
        x
    }
    fn slopes() -> Vec<f64> {
        vec![-1.5, -1.0, 0.0, -0.0, 0.01, 0.2, 1.0, 3.75, 1e-310, 1e300]
    }
    fn slope_of(x: f64) -> f64 {
        x
    }
}

/// The specials of a half format from their bits.
fn half_specials<T: Element<Bits = u16>>(bits: &[u16]) -> Vec<T> {
    bits.iter().map(|&b| T::from_bits(b)).collect()
}

impl TestElement for rectifier::bf16 {
    fn specials() -> Vec<Self> {
        half_specials(&[
            0x7fc0, // +qNaN
            0xffc0, // -qNaN (the narrowed x86 default NaN)
            0x7fc1, // +qNaN with payload
            0xffd5, // -qNaN with payload
            0x7f81, // +sNaN
            0xff8a, // -sNaN with payload
            0x7fbf, // +sNaN, max payload
            0x0000, 0x8000, // +-0
            0x7f80, 0xff80, // +-inf
            0x0001, 0x8001, // +-min subnormal
            0x007f, 0x807f, // +-max subnormal
            0x0080, 0x8080, // +-MIN_POSITIVE
            0x7f7f, 0xff7f, // MAX, MIN
            0x3f80, 0xbf80, // +-1
        ])
    }
    fn from_random_bits(bits: u64) -> Self {
        Self::from_bits(bits as u16)
    }
    fn from_unit(x: f64) -> Self {
        Self::from_f64(x)
    }
    fn slopes() -> Vec<Self> {
        [-1.5, -1.0, 0.0, -0.0, 0.01, 0.2, 1.0, 3.75, 1e-40, 1e30]
            .map(Self::from_f64)
            .to_vec()
    }
    fn slope_of(x: f64) -> f32 {
        x as f32
    }
    fn scalar_slopes() -> Vec<f32> {
        // The representable slopes, and `f32` ones this format does not represent.
        let mut v: Vec<f32> = Self::slopes().into_iter().map(Element::to_slope).collect();
        v.extend([0.01f32, 0.2, 0.1, -0.3, 1.0 + f32::EPSILON, 1.5, 3e-9]);
        v
    }
}

impl TestElement for rectifier::f16 {
    fn specials() -> Vec<Self> {
        half_specials(&[
            0x7e00, // +qNaN
            0xfe00, // -qNaN (the narrowed x86 default NaN)
            0x7e12, // +qNaN with payload
            0xff55, // -qNaN with payload
            0x7c01, // +sNaN
            0xfcab, // -sNaN with payload
            0x7dff, // +sNaN, max payload
            0x0000, 0x8000, // +-0
            0x7c00, 0xfc00, // +-inf
            0x0001, 0x8001, // +-min subnormal
            0x03ff, 0x83ff, // +-max subnormal
            0x0400, 0x8400, // +-MIN_POSITIVE
            0x7bff, 0xfbff, // MAX, MIN
            0x3c00, 0xbc00, // +-1
        ])
    }
    fn from_random_bits(bits: u64) -> Self {
        Self::from_bits(bits as u16)
    }
    fn from_unit(x: f64) -> Self {
        Self::from_f64(x)
    }
    fn slopes() -> Vec<Self> {
        [-1.5, -1.0, 0.0, -0.0, 0.01, 0.2, 1.0, 3.75, 1e-7, 6e4]
            .map(Self::from_f64)
            .to_vec()
    }
    fn slope_of(x: f64) -> f32 {
        x as f32
    }
    fn scalar_slopes() -> Vec<f32> {
        // The representable slopes, and `f32` ones this format does not represent.
        let mut v: Vec<f32> = Self::slopes().into_iter().map(Element::to_slope).collect();
        v.extend([0.01f32, 0.2, 0.1, -0.3, 1.0 + f32::EPSILON, 1.5, 3e-9]);
        v
    }
}

/// `n` values mixing random normals, special values and raw random bit patterns.
pub fn mixed_data<T: TestElement>(rng: &mut Rng, n: usize) -> Vec<T> {
    let specials = T::specials();
    (0..n)
        .map(|_| match rng.below(8) {
            0 | 1 => specials[rng.below(specials.len())],
            2 => T::from_random_bits(rng.next_u64()),
            _ => T::from_unit((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0),
        })
        .collect()
}

/// Asserts `got` and `want` are equal bit for bit, naming the first difference.
#[track_caller]
pub fn assert_bits_eq<T: Element>(got: &[T], want: &[T], input: &[T], context: &str) {
    assert_eq!(got.len(), want.len(), "{context}: length");
    for i in 0..got.len() {
        let (g, w) = (got[i].to_bits(), want[i].to_bits());
        if g != w {
            let z = input.get(i).map(|v| format!("{:#x}", v.to_bits()));
            panic!(
                "{context}: element {i} of {}: input {} got {g:#x} want {w:#x}",
                got.len(),
                z.unwrap_or_default()
            );
        }
    }
}

/// Canary value written around outputs to catch stores outside a slice.
pub fn canary<T: Element>() -> T {
    T::from_f64(-12345.678)
}

/// The PReLU shapes tried: (channels, layout).
pub fn prelu_shapes() -> Vec<(usize, ChannelLayout)> {
    let mut v = Vec::new();
    for c in [1usize, 2, 3, 5, 16, 17, 64, 300] {
        v.push((c, ChannelLayout::ChannelsLast));
        for s in [1usize, 2, 7, 64, 100] {
            v.push((c, ChannelLayout::ChannelsFirst { spatial: s }));
        }
    }
    // From 1024 channels, channels-last reads the slope rows directly (no pattern).
    v.extend([1024, 1500].map(|c| (c, ChannelLayout::ChannelsLast)));
    v
}

/// One run of `op` on `backend` over `src` placed `offset` elements into a buffer (a
/// misaligned start), with canaries around the output. Returns the output.
#[allow(clippy::too_many_arguments)]
pub fn run_op<T: TestElement>(
    op: Op,
    r: Rectifier,
    src: &[T],
    offset: usize,
    slope: T::Slope,
    slopes: &[T],
    layout: ChannelLayout,
) -> Vec<T> {
    let n = src.len();
    let c = canary::<T>();
    let mut src_buf = vec![c; offset + n + 3];
    src_buf[offset..offset + n].copy_from_slice(src);
    let mut dst_buf = vec![c; offset + n + 3];
    if op.inplace() {
        dst_buf[offset..offset + n].copy_from_slice(src);
    }
    let args = Args {
        src: &src_buf[offset..offset + n],
        dst: &mut dst_buf[offset..offset + n],
        slope,
        slopes,
        layout,
        ..Args::default()
    };
    op.call(r, args)
        .unwrap_or_else(|e| panic!("{} failed: {e}", op.name()));
    for (i, v) in dst_buf.iter().enumerate() {
        if i < offset || i >= offset + n {
            assert_eq!(
                v.to_bits(),
                c.to_bits(),
                "{} on {} wrote outside its output (index {i}, offset {offset}, n {n})",
                op.name(),
                r.backend()
            );
        }
    }
    dst_buf[offset..offset + n].to_vec()
}

/// The out-of-place counterpart of an in-place op (itself for out-of-place ops).
pub fn out_of_place(op: Op) -> Op {
    Op::from_name(op.name().trim_end_matches("_inplace")).expect("counterpart")
}

/// Whether `op` takes each kind of parameter.
pub fn params(op: Op) -> Params {
    op.params()
}
