//! The memory-saving training path: forward kernels that also write a packed bit mask of the
//! branch taken, and backward kernels that read the mask instead of `z` (1 bit per element
//! instead of 32 or 64).
//!
//! **Mask layout.** `mask[w]` is a `u64`; its bit `k` (value `1 << k`) belongs to element
//! `64 * w + k`. A mask for `n` elements has [`mask_words`]`(n) = ceil(n / 64)` words; the unused
//! high bits of the last word are `0`. A bit is `1` where backward passes `dy` unchanged under
//! the [`Subgradient`](crate::Subgradient) given to the forward call (see
//! [`reference::relu_mask_bit`] and [`reference::leaky_relu_mask_bit`]), so backward from the
//! mask equals backward from `z` with that subgradient, bit for bit.
//!
//! The drivers take the input 64 elements (one mask word) at a time: whole vectors, then one
//! masked partial vector, through the same lane rule.

use pulp::{Simd, WithSimd};

use super::Io;
use crate::dispatch::Kernel;
use crate::element::Element;
use crate::layout::ChannelLayout;
use crate::reference;

/// Words of the mask of `n` elements: `ceil(n / 64)`.
#[inline]
pub const fn mask_words(n: usize) -> usize {
    n.div_ceil(64)
}

/// A forward lane rule that also reports, per lane, whether backward passes `dy`. `a` is the
/// slope of the lane (ignored by ReLU).
pub trait MaskRule<T: Element>: Copy {
    /// `(y, bit)` of one element: the reference.
    fn scalar(self, z: T, a: T::Slope) -> (T, bool);
    /// The same on one vector.
    fn simd<S: Simd>(self, s: S, z: T::V<S>, a: T::V<S>) -> (T::V<S>, T::M<S>);
    /// The same on one stored vector, the mask as bits (bit `l` for lane `l`): [`MaskRule::simd`]
    /// between the element type's `load` and `store`. ReLU overrides it for the half formats
    /// (no conversion: the same bits).
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, z: T::SV<S>, a: T::V<S>) -> (T::SV<S>, u64) {
        let (y, m) = self.simd(s, T::load(s, z), a);
        (T::store(s, y), T::mask_to_bits(s, m))
    }
}

/// A backward lane rule from the mask: `dx = pass ? dy : g(dy, a)`.
pub trait FromMaskRule<T: Element>: Copy {
    /// One element: the reference.
    fn scalar(self, pass: bool, dy: T, a: T::Slope) -> T;
    /// The same on one vector.
    fn simd<S: Simd>(self, s: S, pass: T::M<S>, dy: T::V<S>, a: T::V<S>) -> T::V<S>;
    /// The same on one stored vector, `pass` as bits (bit `l` for lane `l`, higher bits
    /// ignored): [`FromMaskRule::simd`] between the element type's `load` and `store`. ReLU
    /// overrides it for the half formats (no conversion: the same bits).
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, pass: u64, dy: T::SV<S>, a: T::V<S>) -> T::SV<S> {
        T::store(s, self.simd(s, T::bits_to_mask(s, pass), T::load(s, dy), a))
    }
}

/// ReLU forward with its mask bit.
#[derive(Clone, Copy)]
pub struct ReluMask<const RIGHT: bool>;

impl<T: Element, const RIGHT: bool> MaskRule<T> for ReluMask<RIGHT> {
    #[inline(always)]
    fn scalar(self, z: T, _: T::Slope) -> (T, bool) {
        (reference::relu(z), reference::relu_mask_bit(z, side(RIGHT)))
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>, _: T::V<S>) -> (T::V<S>, T::M<S>) {
        let zero = T::v_splat(s, T::ZERO);
        let y = T::v_select(s, T::v_lt(s, z, zero), zero, z);
        let blocked = if RIGHT {
            T::v_lt(s, z, zero)
        } else {
            T::v_le(s, z, zero)
        };
        (y, T::m_not(s, blocked))
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, z: T::SV<S>, a: T::V<S>) -> (T::SV<S>, u64) {
        match crate::halves::relu_mask16::<S, T>(RIGHT, z) {
            Some(r) => r,
            None => {
                let (y, m) = <Self as MaskRule<T>>::simd(self, s, T::load(s, z), a);
                (T::store(s, y), T::mask_to_bits(s, m))
            }
        }
    }
}

/// Leaky ReLU / PReLU forward with its mask bit (the slope per lane).
#[derive(Clone, Copy)]
pub struct LeakyReluMask<const RIGHT: bool>;

impl<T: Element, const RIGHT: bool> MaskRule<T> for LeakyReluMask<RIGHT> {
    #[inline(always)]
    fn scalar(self, z: T, a: T::Slope) -> (T, bool) {
        (
            reference::leaky_relu(z, a),
            reference::leaky_relu_mask_bit(z, side(RIGHT)),
        )
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, z: T::V<S>, a: T::V<S>) -> (T::V<S>, T::M<S>) {
        let zero = T::v_splat(s, T::ZERO);
        let gt = T::v_gt(s, z, zero);
        let y = T::v_select(s, gt, z, T::v_mul(s, a, z));
        let pass = if RIGHT { T::v_ge(s, z, zero) } else { gt };
        (y, pass)
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, z: T::SV<S>, a: T::V<S>) -> (T::SV<S>, u64) {
        // As `LeakyRelu`: a NaN `z` goes through the product, so every NaN result is quiet and
        // the quieting load / quiet store give the same bits (the mask bit of a NaN is the
        // same for a signalling NaN and its quieted form: neither compares).
        //
        // The half formats on AVX-512: the sides of 0 taken on the 16-bit lanes (no compare of
        // the widened lanes, no packing of two masks into bits), and `z`'s bits selected there.
        if let Some(gt) = crate::halves::linear16::<S, T>(false, z) {
            let product = T::store_quiet(s, T::v_mul(s, a, T::load_quieting(s, z)));
            if let Some(y) = crate::halves::select16::<S, T>(gt, z, product) {
                let pass = if RIGHT {
                    crate::halves::linear16::<S, T>(true, z).unwrap_or(gt)
                } else {
                    gt
                };
                return (y, pass);
            }
        }
        let (y, m) = <Self as MaskRule<T>>::simd(self, s, T::load_quieting(s, z), a);
        (T::store_quiet(s, y), T::mask_to_bits(s, m))
    }
}

/// ReLU backward from the mask: `pass ? dy : +0`.
#[derive(Clone, Copy)]
pub struct ReluFromMask;

impl<T: Element> FromMaskRule<T> for ReluFromMask {
    #[inline(always)]
    fn scalar(self, pass: bool, dy: T, _: T::Slope) -> T {
        reference::relu_backward_from_bit(pass, dy)
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, pass: T::M<S>, dy: T::V<S>, _: T::V<S>) -> T::V<S> {
        T::v_select(s, pass, dy, T::v_splat(s, T::ZERO))
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, pass: u64, dy: T::SV<S>, a: T::V<S>) -> T::SV<S> {
        match crate::halves::select_or_zero16::<S, T>(pass, dy) {
            Some(dx) => dx,
            None => {
                let m = T::bits_to_mask(s, pass);
                T::store(
                    s,
                    <Self as FromMaskRule<T>>::simd(self, s, m, T::load(s, dy), a),
                )
            }
        }
    }
}

/// Leaky ReLU / PReLU backward from the mask: `pass ? dy : a * dy`.
#[derive(Clone, Copy)]
pub struct LeakyReluFromMask;

impl<T: Element> FromMaskRule<T> for LeakyReluFromMask {
    #[inline(always)]
    fn scalar(self, pass: bool, dy: T, a: T::Slope) -> T {
        reference::leaky_relu_backward_from_bit(pass, dy, a)
    }
    #[inline(always)]
    fn simd<S: Simd>(self, s: S, pass: T::M<S>, dy: T::V<S>, a: T::V<S>) -> T::V<S> {
        T::v_select(s, pass, dy, T::v_mul(s, a, dy))
    }
    #[inline(always)]
    fn simd_stored<S: Simd>(self, s: S, pass: u64, dy: T::SV<S>, a: T::V<S>) -> T::SV<S> {
        // The half formats on AVX-512: `dy`'s bits selected on the 16-bit lanes, so that only
        // the product is rounded (a NaN `dy` reaches it only through the product, which quiets
        // it: the quieting load and quiet store give the same bits).
        let product = T::store_quiet(s, T::v_mul(s, a, T::load_quieting(s, dy)));
        match crate::halves::select16::<S, T>(pass, dy, product) {
            Some(dx) => dx,
            None => {
                let m = T::bits_to_mask(s, pass);
                T::store(
                    s,
                    <Self as FromMaskRule<T>>::simd(self, s, m, T::load(s, dy), a),
                )
            }
        }
    }
}

const fn side(right: bool) -> crate::Subgradient {
    if right {
        crate::Subgradient::Right
    } else {
        crate::Subgradient::Left
    }
}

/// Where the slope of each element comes from.
#[derive(Clone, Copy)]
pub enum Slopes<'a, T: Element> {
    /// One slope for all (`0` for ReLU, where it is unused).
    One(T::Slope),
    /// One slope per channel of `layout` (a validated shape).
    PerChannel(&'a [T], ChannelLayout),
}

impl<T: Element> Slopes<'_, T> {
    /// The slope of element `i`.
    #[inline]
    fn of(self, i: usize) -> T::Slope {
        match self {
            Slopes::One(a) => a,
            Slopes::PerChannel(sl, layout) => sl[layout.channel_of(i, sl.len())].to_slope(),
        }
    }

    /// The slopes of elements `i0 .. i0 + buf.len()`, run by run (no division per element).
    #[inline(always)]
    fn fill(self, buf: &mut [T], i0: usize) {
        let Slopes::PerChannel(sl, layout) = self else {
            return;
        };
        let (c, run) = (sl.len(), layout.run());
        let (mut i, mut k) = (i0, 0);
        while k < buf.len() {
            if run == 1 {
                let ch = i % c;
                let len = (c - ch).min(buf.len() - k);
                buf[k..k + len].copy_from_slice(&sl[ch..ch + len]);
                (i, k) = (i + len, k + len);
            } else {
                let len = (run - i % run).min(buf.len() - k);
                buf[k..k + len].fill(sl[(i / run) % c]);
                (i, k) = (i + len, k + len);
            }
        }
    }
}

/// The slopes of one chunk of 64 elements (the last may be shorter).
enum ChunkSlopes<'b, T> {
    /// One slope for the whole chunk.
    One(T),
    /// One slope per element.
    Each(&'b [T]),
}

/// Per-channel slopes, chunk by chunk, without a scalar fill per chunk where it can: a
/// channels-first chunk inside one run of a channel is one slope, and channels-last slopes
/// are repeated once into a pattern (`c + 64` elements) that holds every chunk's slopes as one
/// slice. (Filling a buffer per chunk and loading it back cost more than the kernel: 64 Ki
/// `f32` `prelu_with_mask` ran at 0.34x memcpy channels-last and 0.47x channels-first.)
struct PerChannel<'a, T: Element> {
    slopes: Slopes<'a, T>,
    pattern: Vec<T>,
    buf: [T; 64],
}

impl<'a, T: Element> PerChannel<'a, T> {
    fn new(slopes: Slopes<'a, T>) -> Self {
        let pattern = match slopes {
            Slopes::PerChannel(sl, ChannelLayout::ChannelsLast) => {
                sl.iter().copied().cycle().take(sl.len() + 64).collect()
            }
            _ => Vec::new(),
        };
        PerChannel {
            slopes,
            pattern,
            buf: [T::ZERO; 64],
        }
    }

    /// The slopes of elements `i0 .. i0 + n` (`n <= 64`).
    #[inline(always)]
    fn chunk(&mut self, i0: usize, n: usize) -> ChunkSlopes<'_, T> {
        match self.slopes {
            Slopes::PerChannel(sl, ChannelLayout::ChannelsLast) => {
                let off = i0 % sl.len();
                ChunkSlopes::Each(&self.pattern[off..off + n])
            }
            Slopes::PerChannel(sl, ChannelLayout::ChannelsFirst { spatial })
                if n > 0 && i0 / spatial == (i0 + n - 1) / spatial =>
            {
                ChunkSlopes::One(sl[(i0 / spatial) % sl.len()])
            }
            _ => {
                self.slopes.fill(&mut self.buf[..n], i0);
                ChunkSlopes::Each(&self.buf[..n])
            }
        }
    }
}

/// The mask word of one chunk of at most 64 elements, with `y` written; the slopes are
/// `a_chunk` (with `SLICE`) or `a`.
#[inline(always)]
fn emit_chunk<S: Simd, T: Element, F: MaskRule<T>, const SLICE: bool>(
    s: S,
    f: F,
    io: Io<'_, T>,
    a: T::V<S>,
    a_chunk: &[T],
) -> u64 {
    let lanes = T::lanes::<S>();
    macro_rules! body {
        ($zs:ident, $zt:ident, $ys:ident, $yt:ident) => {{
            let n = $ys.len();
            let (ab, at) = if SLICE {
                let (b, t) = T::as_simd::<S>(a_chunk);
                (&b[..n], t)
            } else {
                (&[][..], &[][..])
            };
            let mut bits = 0u64;
            for j in 0..n {
                let av = if SLICE { T::load(s, ab[j]) } else { a };
                let (y, m) = f.simd_stored(s, $zs[j], av);
                $ys[j] = y;
                bits |= m << (j * lanes);
            }
            if !$zt.is_empty() {
                let av = if SLICE { T::partial_load(s, at) } else { a };
                let (y, m) = f.simd(s, T::partial_load(s, $zt), av);
                let valid = (1u64 << $zt.len()) - 1;
                T::partial_store(s, $yt, y);
                bits |= (T::mask_to_bits(s, m) & valid) << (n * lanes);
            }
            bits
        }};
    }
    match io {
        Io::OutOfPlace { src, dst } => {
            let (zs, zt) = T::as_simd::<S>(src);
            let (ys, yt) = T::as_mut_simd::<S>(dst);
            let zs = &zs[..ys.len()];
            body!(zs, zt, ys, yt)
        }
        Io::InPlace(x) => {
            let (xs, xt) = T::as_mut_simd::<S>(x);
            body!(xs, xt, xs, xt)
        }
    }
}

/// One chunk of at most 64 elements of backward from the mask word `word`.
#[inline(always)]
fn from_mask_chunk<S: Simd, T: Element, F: FromMaskRule<T>, const SLICE: bool>(
    s: S,
    f: F,
    word: u64,
    io: Io<'_, T>,
    a: T::V<S>,
    a_chunk: &[T],
) {
    let lanes = T::lanes::<S>();
    macro_rules! body {
        ($dys:ident, $dyt:ident, $dxs:ident, $dxt:ident) => {{
            let n = $dxs.len();
            let (ab, at) = if SLICE {
                let (b, t) = T::as_simd::<S>(a_chunk);
                (&b[..n], t)
            } else {
                (&[][..], &[][..])
            };
            for j in 0..n {
                let av = if SLICE { T::load(s, ab[j]) } else { a };
                let v = f.simd_stored(s, word >> (j * lanes), $dys[j], av);
                super::store_in_place(&mut $dxs[j], v);
            }
            if !$dyt.is_empty() {
                let av = if SLICE { T::partial_load(s, at) } else { a };
                let m = T::bits_to_mask(s, word >> (n * lanes));
                let v = f.simd(s, m, T::partial_load(s, $dyt), av);
                T::partial_store(s, $dxt, v);
            }
        }};
    }
    match io {
        Io::OutOfPlace { src, dst } => {
            let (dys, dyt) = T::as_simd::<S>(src);
            let (dxs, dxt) = T::as_mut_simd::<S>(dst);
            let dys = &dys[..dxs.len()];
            body!(dys, dyt, dxs, dxt)
        }
        Io::InPlace(x) => {
            let (xs, xt) = T::as_mut_simd::<S>(x);
            body!(xs, xt, xs, xt)
        }
    }
}

/// Forward with the mask: `io` by the [`MaskRule`] with `slopes`, and `mask`
/// (`mask_words(io.len())` words) written.
pub struct MaskForwardKernel<'a, T: Element, F> {
    /// The rule.
    pub f: F,
    /// `z -> y`, or in place.
    pub io: Io<'a, T>,
    /// The slopes.
    pub slopes: Slopes<'a, T>,
    /// The mask, overwritten.
    pub mask: &'a mut [u64],
}

impl<T: Element, F: MaskRule<T>> WithSimd for MaskForwardKernel<'_, T, F> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let MaskForwardKernel {
            f,
            io,
            slopes,
            mask,
        } = self;
        match slopes {
            Slopes::One(a) => {
                let a = T::v_splat_slope(s, a);
                for (chunk, word) in io.chunks(64).zip(mask.iter_mut()) {
                    *word = emit_chunk::<S, T, F, false>(s, f, chunk, a, &[]);
                }
            }
            Slopes::PerChannel(..) => {
                let zero = T::v_splat(s, T::ZERO);
                let mut per = PerChannel::new(slopes);
                for (w, (chunk, word)) in io.chunks(64).zip(mask.iter_mut()).enumerate() {
                    *word = match per.chunk(w * 64, chunk.len()) {
                        ChunkSlopes::One(a) => {
                            emit_chunk::<S, T, F, false>(s, f, chunk, T::v_splat(s, a), &[])
                        }
                        ChunkSlopes::Each(a) => emit_chunk::<S, T, F, true>(s, f, chunk, zero, a),
                    };
                }
            }
        }
    }
}

impl<T: Element, F: MaskRule<T>> Kernel for MaskForwardKernel<'_, T, F> {
    fn reference(self) {
        let MaskForwardKernel {
            f,
            io,
            slopes,
            mask,
        } = self;
        mask.fill(0);
        for (i, chunk) in io.chunks(1).enumerate() {
            let a = slopes.of(i);
            let bit = match chunk {
                Io::OutOfPlace { src, dst } => {
                    let (y, bit) = f.scalar(src[0], a);
                    dst[0] = y;
                    bit
                }
                Io::InPlace(x) => {
                    let (y, bit) = f.scalar(x[0], a);
                    x[0] = y;
                    bit
                }
            };
            mask[i / 64] |= (bit as u64) << (i % 64);
        }
    }
}

/// Backward from the mask: `dy -> dx` (or in place) by the [`FromMaskRule`] with `slopes`.
pub struct FromMaskKernel<'a, T: Element, F> {
    /// The rule.
    pub f: F,
    /// The mask (`mask_words(io.len())` words).
    pub mask: &'a [u64],
    /// `dy -> dx`, or `dy` in place.
    pub io: Io<'a, T>,
    /// The slopes.
    pub slopes: Slopes<'a, T>,
}

impl<T: Element, F: FromMaskRule<T>> WithSimd for FromMaskKernel<'_, T, F> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let FromMaskKernel {
            f,
            mask,
            io,
            slopes,
        } = self;
        match slopes {
            Slopes::One(a) => {
                let a = T::v_splat_slope(s, a);
                for (chunk, &word) in io.chunks(64).zip(mask) {
                    from_mask_chunk::<S, T, F, false>(s, f, word, chunk, a, &[]);
                }
            }
            Slopes::PerChannel(..) => {
                let zero = T::v_splat(s, T::ZERO);
                let mut per = PerChannel::new(slopes);
                for (w, (chunk, &word)) in io.chunks(64).zip(mask).enumerate() {
                    match per.chunk(w * 64, chunk.len()) {
                        ChunkSlopes::One(a) => {
                            let a = T::v_splat(s, a);
                            from_mask_chunk::<S, T, F, false>(s, f, word, chunk, a, &[])
                        }
                        ChunkSlopes::Each(a) => {
                            from_mask_chunk::<S, T, F, true>(s, f, word, chunk, zero, a)
                        }
                    }
                }
            }
        }
    }
}

impl<T: Element, F: FromMaskRule<T>> Kernel for FromMaskKernel<'_, T, F> {
    fn reference(self) {
        let FromMaskKernel {
            f,
            mask,
            io,
            slopes,
        } = self;
        for (i, chunk) in io.chunks(1).enumerate() {
            let bit = mask[i / 64] >> (i % 64) & 1 == 1;
            let a = slopes.of(i);
            match chunk {
                Io::OutOfPlace { src, dst } => dst[0] = f.scalar(bit, src[0], a),
                Io::InPlace(x) => x[0] = f.scalar(bit, x[0], a),
            }
        }
    }
}

#[cfg_attr(not(feature = "rayon"), allow(dead_code))]
impl<T: Element> Slopes<'_, T> {
    /// Pieces must start at multiples of this many elements: whole mask words, and whole
    /// channel periods for per-channel slopes.
    fn granule(self) -> usize {
        match self {
            Slopes::One(_) => 64,
            Slopes::PerChannel(sl, layout) => crate::parallel::lcm(64, sl.len() * layout.run()),
        }
    }
}

impl<'a, T: Element, F: Copy> crate::parallel::Split for MaskForwardKernel<'a, T, F> {
    fn len(&self) -> usize {
        self.io.len()
    }
    fn granule(&self) -> usize {
        self.slopes.granule()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let MaskForwardKernel {
            f,
            io,
            slopes,
            mask,
        } = self;
        let (a, b) = io.split_at(mid);
        let (m0, m1) = mask.split_at_mut(mid / 64);
        (
            MaskForwardKernel {
                f,
                io: a,
                slopes,
                mask: m0,
            },
            MaskForwardKernel {
                f,
                io: b,
                slopes,
                mask: m1,
            },
        )
    }
}

impl<'a, T: Element, F: Copy> crate::parallel::Split for FromMaskKernel<'a, T, F> {
    fn len(&self) -> usize {
        self.io.len()
    }
    fn granule(&self) -> usize {
        self.slopes.granule()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let FromMaskKernel {
            f,
            mask,
            io,
            slopes,
        } = self;
        let (a, b) = io.split_at(mid);
        let (m0, m1) = mask.split_at(mid / 64);
        (
            FromMaskKernel {
                f,
                mask: m0,
                io: a,
                slopes,
            },
            FromMaskKernel {
                f,
                mask: m1,
                io: b,
                slopes,
            },
        )
    }
}
