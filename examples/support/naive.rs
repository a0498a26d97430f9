//! The baselines of the report and the benches: the loop a user would write for each op, and
//! the same loop compiled for this CPU's widest x86 ISA (what `-C target-cpu=native` gives
//! naive code), so that the portable build is compared against a native rebuild in one run.
#![allow(dead_code)]

#[cfg(target_arch = "x86_64")]
use rectifier::Backend;
use rectifier::inventory::Op;
use rectifier::{ChannelLayout, Element, MaxoutGradMode, MaxoutLayout};

/// The loops a user would write for each op (no NaN care: `f32::max` for ReLU).
pub trait Naive: Element {
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

    /// The maxout loops a user would write: `chunks(k)` and a fold with `>` (interleaved), or
    /// plane after plane with `>` (planar); backward: zero `dx`, then one store per group (or,
    /// in accumulate `mode`, one `+=` per group).
    /// Forward: `src` is `z`, `dst` the values; backward: `src` is `dy`, `dst` is `dx`.
    fn naive_maxout(
        op: Op,
        src: &[Self],
        dst: &mut [Self],
        indices: &mut [u32],
        k: usize,
        layout: MaxoutLayout,
        mode: MaxoutGradMode,
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

/// `abs` as a user would call it: the inherent method of `f32`/`f64`; the half types have none,
/// so through `f32` (`bf16::from_f32(z.to_f32().abs())`).
trait NaiveAbs {
    fn abs(self) -> Self;
}

impl NaiveAbs for f32 {
    #[inline(always)]
    fn abs(self) -> f32 {
        f32::abs(self)
    }
}

impl NaiveAbs for f64 {
    #[inline(always)]
    fn abs(self) -> f64 {
        f64::abs(self)
    }
}

impl NaiveAbs for rectifier::bf16 {
    #[inline(always)]
    fn abs(self) -> Self {
        Self::from_f32(self.to_f32().abs())
    }
}

impl NaiveAbs for rectifier::f16 {
    #[inline(always)]
    fn abs(self) -> Self {
        Self::from_f32(self.to_f32().abs())
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
                            let pos = z > <$t as Element>::ZERO;
                            dst[i] = if pos {
                                z
                            } else if leaky {
                                a * z
                            } else {
                                <$t as Element>::ZERO
                            };
                            mask[i / 64] |= (pos as u64) << (i % 64);
                        }
                    }
                    Op::ReluBackwardFromMask | Op::ReluBackwardFromMaskInplace => {
                        naive_grad(src, src, dst, inplace, |_, dy, i| {
                            if bit(mask, i) {
                                dy
                            } else {
                                <$t as Element>::ZERO
                            }
                        })
                    }
                    Op::LeakyReluBackwardFromMask | Op::LeakyReluBackwardFromMaskInplace => {
                        naive_grad(src, src, dst, inplace, |_, dy, i| {
                            if bit(mask, i) { dy } else { a * dy }
                        })
                    }
                    Op::PreluWithMask | Op::PreluWithMaskInplace => {
                        mask.fill(0);
                        for i in 0..dst.len() {
                            let z = if inplace { dst[i] } else { src[i] };
                            let pos = z > <$t as Element>::ZERO;
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
                    | Op::ReluBackwardFromOutputInplace => {
                        naive_grad(z, src, dst, inplace, |z, dy, _| {
                            if z > <$t as Element>::ZERO {
                                dy
                            } else {
                                <$t as Element>::ZERO
                            }
                        })
                    }
                    Op::LeakyReluBackward
                    | Op::LeakyReluBackwardInplace
                    | Op::LeakyReluBackwardFromOutput
                    | Op::LeakyReluBackwardFromOutputInplace => {
                        naive_grad(z, src, dst, inplace, |z, dy, _| {
                            if z > <$t as Element>::ZERO {
                                dy
                            } else {
                                a * dy
                            }
                        })
                    }
                    Op::AbsBackward | Op::AbsBackwardInplace => {
                        naive_grad(z, src, dst, inplace, |z, dy, _| {
                            if z > <$t as Element>::ZERO {
                                dy
                            } else if z < <$t as Element>::ZERO {
                                -dy
                            } else {
                                <$t as Element>::ZERO
                            }
                        })
                    }
                    Op::PreluBackwardWithSlopeGrad | Op::PreluBackwardWithSlopeGradInplace => {
                        // The two-pass version: the slope gradient (reading dy before it is
                        // overwritten), then dx.
                        da.fill(<$t as Element>::ZERO);
                        let dy: &[$t] = if inplace { &*dst } else { src };
                        for (i, (&z, &dy)) in z.iter().zip(dy).enumerate() {
                            if z <= <$t as Element>::ZERO {
                                da[channel(i)] += z * dy;
                            }
                        }
                        naive_grad(z, src, dst, inplace, |z, dy, i| {
                            if z > <$t as Element>::ZERO {
                                dy
                            } else {
                                slopes[channel(i)] * dy
                            }
                        })
                    }
                    Op::PreluBackward
                    | Op::PreluBackwardInplace
                    | Op::PreluBackwardFromOutput
                    | Op::PreluBackwardFromOutputInplace => {
                        naive_grad(z, src, dst, inplace, |z, dy, i| {
                            if z > <$t as Element>::ZERO {
                                dy
                            } else {
                                slopes[channel(i)] * dy
                            }
                        })
                    }
                    Op::Relu => dst
                        .iter_mut()
                        .zip(src)
                        .for_each(|(y, &z)| *y = z.max(<$t as Element>::ZERO)),
                    Op::ReluInplace => dst
                        .iter_mut()
                        .for_each(|y| *y = y.max(<$t as Element>::ZERO)),
                    Op::LeakyRelu => dst
                        .iter_mut()
                        .zip(src)
                        .for_each(|(y, &z)| *y = if z > <$t as Element>::ZERO { z } else { a * z }),
                    Op::LeakyReluInplace => dst.iter_mut().for_each(|y| {
                        *y = if *y > <$t as Element>::ZERO {
                            *y
                        } else {
                            a * *y
                        }
                    }),
                    Op::Abs => dst
                        .iter_mut()
                        .zip(src)
                        .for_each(|(y, &z)| *y = NaiveAbs::abs(z)),
                    Op::AbsInplace => dst.iter_mut().for_each(|y| *y = NaiveAbs::abs(*y)),
                    Op::Prelu | Op::PreluInplace => {
                        let inplace = op == Op::PreluInplace;
                        match layout {
                            ChannelLayout::ChannelsLast => {
                                for (i, y) in dst.iter_mut().enumerate() {
                                    let z = if inplace { *y } else { src[i] };
                                    let a = slopes[i % c];
                                    *y = if z > <$t as Element>::ZERO { z } else { a * z };
                                }
                            }
                            ChannelLayout::ChannelsFirst { spatial } => {
                                for (i, y) in dst.iter_mut().enumerate() {
                                    let z = if inplace { *y } else { src[i] };
                                    let a = slopes[(i / spatial) % c];
                                    *y = if z > <$t as Element>::ZERO { z } else { a * z };
                                }
                            }
                        }
                    }
                    Op::Maxout | Op::MaxoutValues | Op::MaxoutBackward => {
                        panic!("maxout ops go through naive_maxout")
                    }
                }
            }

            #[inline(always)]
            fn naive_maxout(
                op: Op,
                src: &[$t],
                dst: &mut [$t],
                indices: &mut [u32],
                k: usize,
                layout: MaxoutLayout,
                mode: MaxoutGradMode,
            ) {
                match (op, layout) {
                    (Op::Maxout, MaxoutLayout::Interleaved) => {
                        for ((g, v), ix) in
                            src.chunks(k).zip(dst.iter_mut()).zip(indices.iter_mut())
                        {
                            let (bi, bv) =
                                g.iter().enumerate().fold((0, g[0]), |(bi, bv), (j, &x)| {
                                    if x > bv { (j, x) } else { (bi, bv) }
                                });
                            *v = bv;
                            *ix = bi as u32;
                        }
                    }
                    (Op::MaxoutValues, MaxoutLayout::Interleaved) => {
                        for (g, v) in src.chunks(k).zip(dst.iter_mut()) {
                            *v = g.iter().fold(g[0], |b, &x| if x > b { x } else { b });
                        }
                    }
                    (Op::Maxout | Op::MaxoutValues, MaxoutLayout::Planar) => {
                        let groups = dst.len();
                        let with_idx = op == Op::Maxout;
                        dst.copy_from_slice(&src[..groups]);
                        if with_idx {
                            indices.fill(0);
                        }
                        for j in 1..k {
                            let plane = &src[j * groups..(j + 1) * groups];
                            if with_idx {
                                for ((v, ix), &x) in
                                    dst.iter_mut().zip(indices.iter_mut()).zip(plane)
                                {
                                    if x > *v {
                                        *v = x;
                                        *ix = j as u32;
                                    }
                                }
                            } else {
                                for (v, &x) in dst.iter_mut().zip(plane) {
                                    *v = if x > *v { x } else { *v };
                                }
                            }
                        }
                    }
                    (Op::MaxoutBackward, _) => {
                        let groups = src.len();
                        let acc = mode == MaxoutGradMode::Accumulate;
                        if !acc {
                            dst.fill(<$t as Element>::ZERO);
                        }
                        for (g, (&d, &i)) in src.iter().zip(indices.iter()).enumerate() {
                            let p = match layout {
                                MaxoutLayout::Interleaved => g * k + i as usize,
                                MaxoutLayout::Planar => i as usize * groups + g,
                            };
                            dst[p] = if acc { dst[p] + d } else { d };
                        }
                    }
                    _ => panic!("not a maxout op"),
                }
            }
        }
    };
}
naive_impl!(f32);
naive_impl!(f64);
naive_impl!(rectifier::bf16);
naive_impl!(rectifier::f16);

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
/// The naive loop compiled for the widest ISA this CPU has.
pub fn naive_native<T: Naive>(
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

/// The naive maxout loop compiled for AVX-512.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")]
fn naive_maxout_avx512<T: Naive>(
    op: Op,
    src: &[T],
    dst: &mut [T],
    indices: &mut [u32],
    k: usize,
    layout: MaxoutLayout,
    mode: MaxoutGradMode,
) {
    T::naive_maxout(op, src, dst, indices, k, layout, mode)
}

/// The naive maxout loop compiled for AVX2 + FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn naive_maxout_avx2<T: Naive>(
    op: Op,
    src: &[T],
    dst: &mut [T],
    indices: &mut [u32],
    k: usize,
    layout: MaxoutLayout,
    mode: MaxoutGradMode,
) {
    T::naive_maxout(op, src, dst, indices, k, layout, mode)
}

/// The naive maxout loop compiled for the widest ISA this CPU has.
pub fn naive_native_maxout<T: Naive>(
    op: Op,
    src: &[T],
    dst: &mut [T],
    indices: &mut [u32],
    k: usize,
    layout: MaxoutLayout,
    mode: MaxoutGradMode,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if Backend::Avx512.is_supported() {
            // SAFETY: as in `naive_native`.
            return unsafe { naive_maxout_avx512(op, src, dst, indices, k, layout, mode) };
        }
        if Backend::Avx2.is_supported() {
            // SAFETY: as in `naive_native`.
            return unsafe { naive_maxout_avx2(op, src, dst, indices, k, layout, mode) };
        }
    }
    T::naive_maxout(op, src, dst, indices, k, layout, mode)
}
