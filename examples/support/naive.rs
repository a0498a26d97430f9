//! The baselines of the report and the benches: the loop a user would write for each op, and
//! the same loop compiled for this CPU's widest x86 ISA (what `-C target-cpu=native` gives
//! naive code), so that the portable build is compared against a native rebuild in one run.

#[cfg(target_arch = "x86_64")]
use rectifier::Backend;
use rectifier::inventory::Op;
use rectifier::{ChannelLayout, Element, MaxoutLayout};

/// The loops a user would write for each op (no NaN care: `f32::max` for ReLU).
pub trait Naive: Element {
    /// Runs the naive loop of `op` (in-place ops use `dst` only).
    fn naive(
        op: Op,
        src: &[Self],
        dst: &mut [Self],
        a: Self,
        slopes: &[Self],
        layout: ChannelLayout,
    );

    /// The maxout loops a user would write: `chunks(k)` and a fold with `>` (interleaved), or
    /// plane after plane with `>` (planar); backward: zero `dx`, then one store per group.
    /// Forward: `src` is `z`, `dst` the values; backward: `src` is `dy`, `dst` is `dx`.
    fn naive_maxout(
        op: Op,
        src: &[Self],
        dst: &mut [Self],
        indices: &mut [u32],
        k: usize,
        layout: MaxoutLayout,
    );
}

macro_rules! naive_impl {
    ($t:ty) => {
        impl Naive for $t {
            #[inline(always)]
            fn naive(
                op: Op,
                src: &[$t],
                dst: &mut [$t],
                a: $t,
                slopes: &[$t],
                layout: ChannelLayout,
            ) {
                let c = slopes.len();
                match op {
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
                        dst.fill(0.0);
                        for (g, (&d, &i)) in src.iter().zip(indices.iter()).enumerate() {
                            let p = match layout {
                                MaxoutLayout::Interleaved => g * k + i as usize,
                                MaxoutLayout::Planar => i as usize * groups + g,
                            };
                            dst[p] = d;
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

/// The naive loop compiled for AVX-512 (what `-C target-cpu=native` gives naive code here).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")]
fn naive_avx512<T: Naive>(
    op: Op,
    src: &[T],
    dst: &mut [T],
    a: T,
    slopes: &[T],
    layout: ChannelLayout,
) {
    T::naive(op, src, dst, a, slopes, layout)
}

/// The naive loop compiled for AVX2 + FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn naive_avx2<T: Naive>(
    op: Op,
    src: &[T],
    dst: &mut [T],
    a: T,
    slopes: &[T],
    layout: ChannelLayout,
) {
    T::naive(op, src, dst, a, slopes, layout)
}

/// The naive loop compiled for the widest ISA this CPU has.
pub fn naive_native<T: Naive>(
    op: Op,
    src: &[T],
    dst: &mut [T],
    a: T,
    slopes: &[T],
    layout: ChannelLayout,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if Backend::Avx512.is_supported() {
            // SAFETY: the CPU has every feature `naive_avx512` enables (`Backend::Avx512` is
            // supported only when AVX-512 F/BW/CD/DQ/VL and AVX2/FMA are detected).
            return unsafe { naive_avx512(op, src, dst, a, slopes, layout) };
        }
        if Backend::Avx2.is_supported() {
            // SAFETY: `Backend::Avx2` is supported only when AVX2 and FMA are detected.
            return unsafe { naive_avx2(op, src, dst, a, slopes, layout) };
        }
    }
    T::naive(op, src, dst, a, slopes, layout)
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
) {
    T::naive_maxout(op, src, dst, indices, k, layout)
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
) {
    T::naive_maxout(op, src, dst, indices, k, layout)
}

/// The naive maxout loop compiled for the widest ISA this CPU has.
pub fn naive_native_maxout<T: Naive>(
    op: Op,
    src: &[T],
    dst: &mut [T],
    indices: &mut [u32],
    k: usize,
    layout: MaxoutLayout,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if Backend::Avx512.is_supported() {
            // SAFETY: as in `naive_native`.
            return unsafe { naive_maxout_avx512(op, src, dst, indices, k, layout) };
        }
        if Backend::Avx2.is_supported() {
            // SAFETY: as in `naive_native`.
            return unsafe { naive_maxout_avx2(op, src, dst, indices, k, layout) };
        }
    }
    T::naive_maxout(op, src, dst, indices, k, layout)
}
