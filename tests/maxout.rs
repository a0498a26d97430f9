//! Maxout: every variant (values + `u32`/`u16`/`u8` indices, values only, backward in both modes)
//! x dtype x layout x forced backend equals the scalar reference bit for bit, and the reference
//! follows SPEC.md section 2 (checked against a brute-force reading of the rule).

mod common;

use common::*;
use rectifier::{Error, MaxoutGradMode, MaxoutIndex, MaxoutLayout, Rectifier};

const LAYOUTS: [MaxoutLayout; 2] = [MaxoutLayout::Interleaved, MaxoutLayout::Planar];
const MODES: [MaxoutGradMode; 2] = [MaxoutGradMode::Overwrite, MaxoutGradMode::Accumulate];

/// SPEC.md section 2, read literally: the first NaN and its position; otherwise the first
/// element `m` such that no later element is `> m`.
fn spec_group<T: TestElement>(g: &[T]) -> (T, usize) {
    if let Some(p) = g.iter().position(|x| x.is_nan()) {
        return (g[p], p);
    }
    let p = (0..g.len())
        .find(|&i| g[i + 1..].iter().all(|x| *x <= g[i])) // no NaN here: `<=` is `!(>)`
        .expect("some element has no greater later one");
    (g[p], p)
}

/// Places `data` at `offset` inside a canary-filled buffer of `data.len() + offset + 3`.
fn placed<T: Copy>(data: &[T], offset: usize, canary: T) -> Vec<T> {
    let mut v = vec![canary; offset + data.len() + 3];
    v[offset..offset + data.len()].copy_from_slice(data);
    v
}

#[track_caller]
fn assert_canaries<T: Copy + PartialEq + core::fmt::Debug>(
    buf: &[T],
    offset: usize,
    n: usize,
    canary: T,
    ctx: &str,
) {
    for (i, v) in buf.iter().enumerate() {
        if i < offset || i >= offset + n {
            assert_eq!(*v, canary, "{ctx}: wrote outside the output at {i}");
        }
    }
}

/// The reference's answer (the Scalar backend runs it).
fn reference_forward<T: TestElement>(
    z: &[T],
    k: usize,
    layout: MaxoutLayout,
) -> (Vec<T>, Vec<u32>) {
    let g = z.len() / k;
    let (mut v, mut i) = (vec![T::ZERO; g], vec![0u32; g]);
    reference().maxout(z, k, layout, &mut v, &mut i).unwrap();
    (v, i)
}

fn check_index_type<T: TestElement, I: MaxoutIndex + PartialEq + TryFrom<u32>>(
    r: Rectifier,
    z: &[T],
    k: usize,
    layout: MaxoutLayout,
    want: &(Vec<T>, Vec<u32>),
    offsets: (usize, usize, usize),
    ctx: &str,
) where
    <I as TryFrom<u32>>::Error: core::fmt::Debug,
{
    if k > I::MAX_K {
        return;
    }
    let g = want.0.len();
    let c = canary::<T>();
    let zb = placed(z, offsets.0, c);
    let mut vb = vec![c; offsets.1 + g + 3];
    let ic = I::from_usize(I::MAX_K - 1);
    let mut ib = vec![ic; offsets.2 + g + 3];
    r.maxout(
        &zb[offsets.0..offsets.0 + z.len()],
        k,
        layout,
        &mut vb[offsets.1..offsets.1 + g],
        &mut ib[offsets.2..offsets.2 + g],
    )
    .unwrap();
    let ctx = format!("{ctx} index {} offsets {offsets:?}", I::NAME);
    assert_canaries(
        &vb.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        offsets.1,
        g,
        c.to_bits(),
        &ctx,
    );
    assert_canaries(&ib, offsets.2, g, ic, &ctx);
    assert_bits_eq(&vb[offsets.1..offsets.1 + g], &want.0, &[], &ctx);
    let got: Vec<u32> = ib[offsets.2..offsets.2 + g]
        .iter()
        .map(|i| i.to_usize() as u32)
        .collect();
    if let Some(p) = (0..g).find(|&p| got[p] != want.1[p]) {
        panic!(
            "{ctx}: index of group {p}: got {} want {}",
            got[p], want.1[p]
        );
    }
}

/// Every forward variant on every backend against the reference, for one input.
fn check_forward<T: TestElement>(z: &[T], k: usize, rng: &mut Rng) {
    for layout in LAYOUTS {
        let want = reference_forward(z, k, layout);
        for r in backends() {
            let ctx = format!(
                "maxout {} {layout:?} k={k} G={} on {}",
                T::NAME,
                z.len() / k,
                r.backend()
            );
            let offs = (rng.below(16), rng.below(16), rng.below(16));
            check_index_type::<T, u32>(r, z, k, layout, &want, offs, &ctx);
            check_index_type::<T, u16>(r, z, k, layout, &want, offs, &ctx);
            check_index_type::<T, u8>(r, z, k, layout, &want, offs, &ctx);
            // Values only.
            let g = want.0.len();
            let c = canary::<T>();
            let off = offs.1;
            let mut vb = vec![c; off + g + 3];
            let zb = placed(z, offs.0, c);
            r.maxout_values(
                &zb[offs.0..offs.0 + z.len()],
                k,
                layout,
                &mut vb[off..off + g],
            )
            .unwrap();
            let ctx = format!("{ctx} values only");
            assert_canaries(
                &vb.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                off,
                g,
                c.to_bits(),
                &ctx,
            );
            assert_bits_eq(&vb[off..off + g], &want.0, &[], &ctx);
        }
    }
}

/// Every backward variant on every backend against the reference.
fn check_backward<T: TestElement>(k: usize, groups: usize, rng: &mut Rng) {
    check_backward_with::<T>(k, groups, rng, mixed_data::<T>, &MODES);
}

/// [`check_backward`] with `dy` and the initial `dx` from `data`, in the given modes.
fn check_backward_with<T: TestElement>(
    k: usize,
    groups: usize,
    rng: &mut Rng,
    data: fn(&mut Rng, usize) -> Vec<T>,
    modes: &[MaxoutGradMode],
) {
    let dy: Vec<T> = data(rng, groups);
    let ix: Vec<u32> = (0..groups).map(|_| rng.below(k) as u32).collect();
    let dx0: Vec<T> = data(rng, groups * k);
    let n = groups * k;
    for layout in LAYOUTS {
        for &mode in modes {
            let mut want = dx0.clone();
            reference()
                .maxout_backward(&dy, &ix, k, layout, &mut want, mode)
                .unwrap();
            for r in backends() {
                let ctx = format!(
                    "maxout_backward {} {layout:?} {mode:?} k={k} G={groups} on {}",
                    T::NAME,
                    r.backend()
                );
                let off = rng.below(16);
                let c = canary::<T>();
                let mut dxb = placed(&dx0, off, c);
                let dyb = placed(&dy, rng.below(16), c);
                let o2 = dyb.len() - groups - 3;
                if k <= 256 {
                    let ix8: Vec<u8> = ix.iter().map(|&i| i as u8).collect();
                    let mut d8 = dxb.clone();
                    r.maxout_backward(
                        &dyb[o2..o2 + groups],
                        &ix8,
                        k,
                        layout,
                        &mut d8[off..off + n],
                        mode,
                    )
                    .unwrap();
                    assert_bits_eq(&d8[off..off + n], &want, &dx0, &format!("{ctx} u8"));
                }
                {
                    let ix16: Vec<u16> = ix.iter().map(|&i| i as u16).collect();
                    let mut d16 = dxb.clone();
                    r.maxout_backward(
                        &dyb[o2..o2 + groups],
                        &ix16,
                        k,
                        layout,
                        &mut d16[off..off + n],
                        mode,
                    )
                    .unwrap();
                    assert_bits_eq(&d16[off..off + n], &want, &dx0, &format!("{ctx} u16"));
                }
                r.maxout_backward(
                    &dyb[o2..o2 + groups],
                    &ix,
                    k,
                    layout,
                    &mut dxb[off..off + n],
                    mode,
                )
                .unwrap();
                assert_canaries(
                    &dxb.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    off,
                    n,
                    c.to_bits(),
                    &ctx,
                );
                assert_bits_eq(&dxb[off..off + n], &want, &dx0, &ctx);
            }
        }
    }
}

/// Values built to hit the rules: few distinct values (many ties), both zeros, NaNs with
/// distinct payloads and signs, infinities, subnormals.
fn tie_data<T: TestElement>(rng: &mut Rng, n: usize) -> Vec<T> {
    let sp = T::specials();
    // NaNs (7 of them), then +0, -0, +inf, -inf, subnormals, ...
    let alphabet: Vec<T> = vec![
        T::ZERO,
        sp[8],
        sp[10],
        sp[9],
        sp[11],
        sp[12],
        sp[19],
        sp[20],
        sp[rng.below(7)],
    ];
    (0..n)
        .map(|_| {
            if rng.below(12) == 0 {
                sp[rng.below(7)]
            } else {
                alphabet[rng.below(alphabet.len() - 1)]
            }
        })
        .collect()
}

/// [`tie_data`] without NaNs (kernels take a faster compare when a block holds none): ties,
/// both zeros, infinities (`inf - inf` too), subnormals.
fn clean_data<T: TestElement>(rng: &mut Rng, n: usize) -> Vec<T> {
    let mut v = tie_data::<T>(rng, n);
    let sp = T::specials();
    for x in v.iter_mut().filter(|x| x.is_nan()) {
        *x = sp[7 + rng.below(sp.len() - 7)];
    }
    v
}

fn group_counts<T: TestElement>(k: usize) -> Vec<usize> {
    let tile = rectifier::kernels::max_tile::<T>();
    if k >= 100 {
        return vec![0, 1, 2, 3, 17];
    }
    let mut v: Vec<usize> = (0..=20).collect();
    v.extend([
        31,
        32,
        33,
        tile - 1,
        tile,
        tile + 1,
        2 * tile + 3,
        3 * tile + 1,
        200,
    ]);
    v
}

fn forward_matrix<T: TestElement>(ks: impl Iterator<Item = usize>) {
    let mut rng = Rng(0x5eed_0000 ^ T::NAME.len() as u64);
    for k in ks {
        for g in group_counts::<T>(k) {
            let z: Vec<T> = mixed_data(&mut rng, g * k);
            check_forward(&z, k, &mut rng);
            let z: Vec<T> = tie_data(&mut rng, g * k);
            check_forward(&z, k, &mut rng);
            let mut z: Vec<T> = clean_data(&mut rng, g * k);
            check_forward(&z, k, &mut rng);
            // One NaN in otherwise clean data.
            if !z.is_empty() {
                let p = rng.below(z.len());
                z[p] = T::specials()[rng.below(7)];
                check_forward(&z, k, &mut rng);
            }
        }
    }
}

#[test]
fn forward_f32_small_k() {
    forward_matrix::<f32>(1..=20);
}

#[test]
fn forward_f32_medium_k() {
    forward_matrix::<f32>((21..=40).chain([47, 64, 100, 257, 1000]));
}

#[test]
fn forward_f64_small_k() {
    forward_matrix::<f64>(1..=20);
}

#[test]
fn forward_f64_medium_k() {
    forward_matrix::<f64>((21..=40).chain([47, 64, 100, 257, 1000]));
}

#[test]
fn forward_bf16_small_k() {
    forward_matrix::<rectifier::bf16>(1..=20);
}

#[test]
fn forward_bf16_medium_k() {
    forward_matrix::<rectifier::bf16>((21..=40).chain([47, 64, 100, 257, 1000]));
}

#[test]
fn forward_f16_small_k() {
    forward_matrix::<rectifier::f16>(1..=20);
}

#[test]
fn forward_f16_medium_k() {
    forward_matrix::<rectifier::f16>((21..=40).chain([47, 64, 100, 257, 1000]));
}

/// Every group of length k <= 4 over an alphabet of both zeros, 1, -inf and two NaNs (distinct
/// payloads and signs): the reference against the literal rule, and every backend against it.
fn exhaustive_small<T: TestElement>() {
    let sp = T::specials();
    let alphabet = [sp[7], sp[8], sp[19], sp[10], sp[2], sp[5]];
    let mut rng = Rng(7);
    for k in 1..=4usize {
        let count = alphabet.len().pow(k as u32);
        // Interleaved input: group c is the base-6 digits of c.
        let mut z = Vec::with_capacity(count * k);
        for c in 0..count {
            let mut x = c;
            for _ in 0..k {
                z.push(alphabet[x % alphabet.len()]);
                x /= alphabet.len();
            }
        }
        // Repeat with a shifted start, so that each group meets every lane position.
        let mut zz = z.clone();
        zz.extend_from_slice(&z[k..]);
        zz.extend_from_slice(&z[..k]);
        for z in [z, zz] {
            let (v, i) = reference_forward(&z, k, MaxoutLayout::Interleaved);
            for (g, group) in z.chunks_exact(k).enumerate() {
                let (sv, si) = spec_group(group);
                assert_eq!(
                    (v[g].to_bits(), i[g] as usize),
                    (sv.to_bits(), si),
                    "reference vs SPEC on {:?}",
                    group.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                );
            }
            check_forward(&z, k, &mut rng);
        }
    }
}

#[test]
fn exhaustive_small_f32() {
    exhaustive_small::<f32>();
}

#[test]
fn exhaustive_small_f64() {
    exhaustive_small::<f64>();
}

#[test]
fn exhaustive_small_bf16() {
    exhaustive_small::<rectifier::bf16>();
}

#[test]
fn exhaustive_small_f16() {
    exhaustive_small::<rectifier::f16>();
}

/// NaN payloads from run-time data: several NaNs per group, the first one must win with its bits.
#[test]
fn first_nan_wins_with_its_bits() {
    let payloads = std::hint::black_box([0x7fc0_0001u32, 0xffc0_0002, 0x7f80_0003, 0xff80_0004]);
    for k in [2usize, 3, 4, 5, 8, 16, 17, 33, 100] {
        for first in 0..k {
            let mut z = vec![1.0f32; 40 * k];
            for g in 0..40 {
                let p = f32::from_bits(payloads[g % 4]);
                z[g * k + first] = p;
                for j in first + 1..k {
                    z[g * k + j] = f32::from_bits(payloads[(g + j) % 4]);
                }
            }
            for r in backends() {
                let (mut v, mut i) = (vec![0.0f32; 40], vec![0u32; 40]);
                r.maxout(&z, k, MaxoutLayout::Interleaved, &mut v, &mut i)
                    .unwrap();
                for g in 0..40 {
                    assert_eq!(i[g] as usize, first, "k={k} on {}", r.backend());
                    assert_eq!(v[g].to_bits(), payloads[g % 4], "k={k} on {}", r.backend());
                }
            }
        }
    }
}

#[test]
fn signed_zeros_and_negative_infinity() {
    for r in backends() {
        let z = [
            -0.0f32,
            0.0,
            0.0,
            -0.0,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        let (mut v, mut i) = ([1.0f32; 3], [9u16; 3]);
        r.maxout(&z, 2, MaxoutLayout::Interleaved, &mut v, &mut i)
            .unwrap();
        assert_eq!(i, [0, 0, 0]);
        assert_eq!(
            v.map(f32::to_bits),
            [0x8000_0000, 0, f32::NEG_INFINITY.to_bits()]
        );
    }
}

/// `f32` with `u32` indices, the index output at every offset (in elements, 0 to 15) from the
/// values' within a 64-byte line, the values themselves at a random one: where the two differ,
/// AVX-512 stores each index vector that many lanes early (joined with the previous one), so
/// the first and the last block of a call are partial. Every backend against the reference.
#[test]
fn forward_index_offsets_f32() {
    let mut rng = Rng(0x0ff5_e7ed);
    for k in [1usize, 2, 3, 4, 8, 16] {
        for groups in [0usize, 5, 16, 17, 40, 63, 300] {
            let z: Vec<f32> = mixed_data(&mut rng, groups * k);
            for layout in LAYOUTS {
                let want = reference_forward(&z, k, layout);
                for r in backends() {
                    for d in 0..16 {
                        let c = canary::<f32>();
                        let mut vb = vec![c; groups + 32];
                        let mut ib = vec![u32::MAX; groups + 32];
                        let vo = rng.below(16);
                        let v_at = vb.as_ptr() as usize + 4 * vo;
                        let io = ((v_at + 4 * d).wrapping_sub(ib.as_ptr() as usize) % 64) / 4;
                        r.maxout(
                            &z,
                            k,
                            layout,
                            &mut vb[vo..vo + groups],
                            &mut ib[io..io + groups],
                        )
                        .unwrap();
                        let ctx = format!(
                            "maxout f32 {layout:?} k={k} G={groups} on {}, values at {vo}, \
                             indices {d} elements on (at {io})",
                            r.backend()
                        );
                        let bits: Vec<u32> = vb.iter().map(|x| x.to_bits()).collect();
                        assert_canaries(&bits, vo, groups, c.to_bits(), &ctx);
                        assert_canaries(&ib, io, groups, u32::MAX, &ctx);
                        assert_bits_eq(&vb[vo..vo + groups], &want.0, &[], &ctx);
                        assert_eq!(&ib[io..io + groups], &want.1[..], "{ctx}");
                    }
                }
            }
        }
    }
}

#[test]
fn backward_matrix_f32() {
    let mut rng = Rng(99);
    for k in (1..=40).chain([64, 1000]) {
        for g in group_counts::<f32>(k).into_iter().step_by(3) {
            check_backward::<f32>(k, g, &mut rng);
        }
    }
}

#[test]
fn backward_matrix_f64() {
    let mut rng = Rng(98);
    for k in (1..=40).chain([64, 1000]) {
        for g in group_counts::<f64>(k).into_iter().step_by(3) {
            check_backward::<f64>(k, g, &mut rng);
        }
    }
}

#[test]
fn backward_matrix_bf16() {
    let mut rng = Rng(98);
    for k in (1..=40).chain([64, 1000]) {
        for g in group_counts::<rectifier::bf16>(k).into_iter().step_by(3) {
            check_backward::<rectifier::bf16>(k, g, &mut rng);
        }
    }
}

#[test]
fn backward_matrix_f16() {
    let mut rng = Rng(98);
    for k in (1..=40).chain([64, 1000]) {
        for g in group_counts::<rectifier::f16>(k).into_iter().step_by(3) {
            check_backward::<rectifier::f16>(k, g, &mut rng);
        }
    }
}

/// Group counts that are whole numbers of vectors of every `f32`/`f64` backend, so that all the
/// planes of the planar layout share an alignment (the backward kernels then write planes four,
/// then two, then one at a time: `k` = 6 is 4 + 2, `k` = 7 is 4 + 2 + 1), with one count past a
/// tile of the planar backward (1024 groups).
fn check_backward_aligned_planes<T: TestElement>(seed: u64) {
    let mut rng = Rng(seed);
    for k in [2, 3, 4, 5, 6, 7, 8, 16] {
        for g in [16, 48, 64, 1024 + 64] {
            check_backward::<T>(k, g, &mut rng);
        }
    }
}

#[test]
fn backward_aligned_planes() {
    check_backward_aligned_planes::<f32>(7);
    check_backward_aligned_planes::<f64>(8);
    check_backward_aligned_planes::<rectifier::bf16>(9);
    check_backward_aligned_planes::<rectifier::f16>(10);
}

/// Accumulate mode on data built for the sum's rule: `dx` and `dy` from a few values (NaNs
/// of both signs, quiet and signalling, with distinct payloads; both zeros; both infinities;
/// subnormals), so that NaN + NaN (which one wins), `inf - inf` (the default NaN) and
/// `-0 + +0` meet often, in every vector path (`k` below, at and above the lanes, group
/// counts past several vectors and a planar tile).
#[test]
fn backward_accumulate_rules() {
    fn run<T: TestElement>(seed: u64) {
        let mut rng = Rng(seed);
        let modes = [MaxoutGradMode::Accumulate];
        for k in [1, 2, 3, 4, 8, 16, 17, 32] {
            for g in [1, 7, 16, 33, 64 + 5, 1024 + 37] {
                check_backward_with::<T>(k, g, &mut rng, tie_data::<T>, &modes);
            }
        }
    }
    run::<f32>(21);
    run::<f64>(22);
    run::<rectifier::bf16>(23);
    run::<rectifier::f16>(24);
}

/// Accumulate mode with `dx` starting at every element offset from a 64-byte boundary: the
/// interleaved kernels start their vectors where a group begins on a vector boundary, after a
/// scalar head of groups, which only some offsets produce.
#[test]
fn backward_accumulate_offsets() {
    fn run<T: TestElement>(seed: u64) {
        let mut rng = Rng(seed);
        let size = core::mem::size_of::<T>();
        for k in [2, 4, 8] {
            let groups = 100;
            let n = groups * k;
            let dy: Vec<T> = tie_data(&mut rng, groups);
            let ix: Vec<u32> = (0..groups).map(|_| rng.below(k) as u32).collect();
            let dx0: Vec<T> = tie_data(&mut rng, n);
            for layout in LAYOUTS {
                let mode = MaxoutGradMode::Accumulate;
                let mut want = dx0.clone();
                reference()
                    .maxout_backward(&dy, &ix, k, layout, &mut want, mode)
                    .unwrap();
                for r in backends() {
                    let mut buf = vec![T::ZERO; n + 64 + 64 / size];
                    let aligned = (64 - buf.as_ptr() as usize % 64) % 64 / size;
                    for off in aligned..aligned + 64 / size {
                        let dx = &mut buf[off..off + n];
                        dx.copy_from_slice(&dx0);
                        r.maxout_backward(&dy, &ix, k, layout, dx, mode).unwrap();
                        let ctx = format!(
                            "{} {layout:?} k={k} accumulate on {} at {} bytes past a 64-byte \
                             boundary",
                            T::NAME,
                            r.backend(),
                            (off - aligned) * size
                        );
                        assert_bits_eq(dx, &want, &dx0, &ctx);
                    }
                }
            }
        }
    }
    run::<f32>(31);
    run::<f64>(32);
    run::<rectifier::bf16>(33);
    run::<rectifier::f16>(34);
}

/// Forward then backward: the gradient lands where the maximum was.
#[test]
fn backward_of_forward() {
    let z = [1.0f32, 5.0, 2.0, 7.0, 7.0, 0.0];
    let (mut v, mut i) = ([0.0f32; 2], [0u8; 2]);
    rectifier::maxout(&z, 3, MaxoutLayout::Interleaved, &mut v, &mut i).unwrap();
    assert_eq!((v, i), ([5.0, 7.0], [1, 0]));
    let mut dx = [-0.0f32; 6];
    rectifier::maxout_backward(
        &[1.0, 2.0],
        &i,
        3,
        MaxoutLayout::Interleaved,
        &mut dx,
        MaxoutGradMode::Accumulate,
    )
    .unwrap();
    assert_eq!(
        dx.map(f32::to_bits),
        [-0.0f32, 1.0, -0.0, 2.0, -0.0, -0.0].map(f32::to_bits)
    );
    rectifier::maxout_backward(
        &[1.0, 2.0],
        &i,
        3,
        MaxoutLayout::Interleaved,
        &mut dx,
        MaxoutGradMode::Overwrite,
    )
    .unwrap();
    assert_eq!(
        dx.map(f32::to_bits),
        [0.0f32, 1.0, 0.0, 2.0, 0.0, 0.0].map(f32::to_bits)
    );
}

// ---- errors: the right variant, nothing written, on every backend ----

const SENTINEL: f32 = 7.25;

#[track_caller]
fn expect_forward_err<I: MaxoutIndex + PartialEq>(
    z: &[f32],
    k: usize,
    g_values: usize,
    g_indices: usize,
    want: Error,
) {
    for r in backends() {
        for layout in LAYOUTS {
            let mut v = vec![SENTINEL; g_values];
            let sentinel_i = I::from_usize(3.min(I::MAX_K - 1));
            let mut i = vec![sentinel_i; g_indices];
            let got = r
                .maxout(z, k, layout, &mut v, &mut i)
                .expect_err("an error");
            assert_eq!(got, want, "on {}", r.backend());
            assert!(v.iter().all(|x| *x == SENTINEL) && i.iter().all(|x| *x == sentinel_i));
            let msg = got.to_string();
            assert!(!msg.is_empty());
        }
    }
}

#[test]
fn forward_errors() {
    let z = [1.0f32; 12];
    expect_forward_err::<u32>(
        &z,
        0,
        1,
        1,
        Error::InvalidShape {
            what: "k",
            expected: "a group size k >= 1",
            actual: 0,
        },
    );
    expect_forward_err::<u32>(
        &z,
        5,
        2,
        2,
        Error::NotDivisible {
            what: "z",
            len: 12,
            divisor: 5,
            divisor_name: "k",
        },
    );
    expect_forward_err::<u32>(
        &z,
        4,
        2,
        3,
        Error::LengthMismatch {
            what: "values",
            expected: 3,
            actual: 2,
        },
    );
    expect_forward_err::<u32>(
        &z,
        4,
        3,
        4,
        Error::LengthMismatch {
            what: "indices",
            expected: 3,
            actual: 4,
        },
    );
    let z = vec![1.0f32; 257 * 2];
    expect_forward_err::<u8>(
        &z,
        257,
        2,
        2,
        Error::IndexTypeTooNarrow {
            index_type: "u8",
            max_k: 256,
            k: 257,
        },
    );
    let z = vec![1.0f32; 65_537];
    expect_forward_err::<u16>(
        &z,
        65_537,
        1,
        1,
        Error::IndexTypeTooNarrow {
            index_type: "u16",
            max_k: 65_536,
            k: 65_537,
        },
    );
    // k = 256 fits u8 (indices 0..=255).
    let z = vec![1.0f32; 256];
    let (mut v, mut i) = ([0.0f32], [0u8]);
    rectifier::maxout(&z, 256, MaxoutLayout::Interleaved, &mut v, &mut i).unwrap();
    // Values only: the checks that apply.
    for r in backends() {
        let mut v = vec![SENTINEL; 3];
        assert_eq!(
            r.maxout_values(&[1.0f32; 12], 0, MaxoutLayout::Planar, &mut v),
            Err(Error::InvalidShape {
                what: "k",
                expected: "a group size k >= 1",
                actual: 0
            })
        );
        assert_eq!(
            r.maxout_values(&[1.0f32; 12], 4, MaxoutLayout::Planar, &mut v[..2]),
            Err(Error::LengthMismatch {
                what: "values",
                expected: 3,
                actual: 2
            })
        );
        assert!(v.iter().all(|x| *x == SENTINEL));
    }
    let msg = Error::IndexTypeTooNarrow {
        index_type: "u8",
        max_k: 256,
        k: 300,
    }
    .to_string();
    assert!(
        msg.contains("u8") && msg.contains("256") && msg.contains("300"),
        "{msg}"
    );
}

#[test]
fn backward_errors() {
    let cases: Vec<(usize, usize, usize, Vec<u32>, Error)> = vec![
        (
            0,
            2,
            4,
            vec![0, 0],
            Error::InvalidShape {
                what: "k",
                expected: "a group size k >= 1",
                actual: 0,
            },
        ),
        (
            3,
            2,
            7,
            vec![0, 0],
            Error::NotDivisible {
                what: "dx",
                len: 7,
                divisor: 3,
                divisor_name: "k",
            },
        ),
        (
            3,
            3,
            6,
            vec![0, 0],
            Error::LengthMismatch {
                what: "dy",
                expected: 2,
                actual: 3,
            },
        ),
        (
            3,
            2,
            6,
            vec![0],
            Error::LengthMismatch {
                what: "indices",
                expected: 2,
                actual: 1,
            },
        ),
        (
            3,
            2,
            6,
            vec![0, 3],
            Error::IndexOutOfRange {
                group: 1,
                index: 3,
                k: 3,
            },
        ),
        (
            3,
            4,
            12,
            vec![2, u32::MAX, 1, 7],
            Error::IndexOutOfRange {
                group: 1,
                index: u32::MAX as usize,
                k: 3,
            },
        ),
    ];
    for r in backends() {
        for layout in LAYOUTS {
            for mode in MODES {
                for (k, g, n, ix, want) in &cases {
                    let dy = vec![1.0f32; *g];
                    let mut dx = vec![SENTINEL; *n];
                    let got = r.maxout_backward(&dy, ix, *k, layout, &mut dx, mode);
                    assert_eq!(got, Err(want.clone()), "on {}", r.backend());
                    assert!(dx.iter().all(|x| *x == SENTINEL), "dx written on error");
                }
                let mut dx = vec![SENTINEL; 300];
                assert_eq!(
                    r.maxout_backward(&[1.0f32], &[0u8], 300, layout, &mut dx, mode),
                    Err(Error::IndexTypeTooNarrow {
                        index_type: "u8",
                        max_k: 256,
                        k: 300
                    })
                );
                assert!(dx.iter().all(|x| *x == SENTINEL));
            }
        }
    }
    let msg = Error::IndexOutOfRange {
        group: 1,
        index: 3,
        k: 3,
    }
    .to_string();
    assert!(msg.contains("group 1") && msg.contains('3'), "{msg}");
}

/// Every maxout row of the inventory (what the report and the benches call), through
/// `Op::call`, on every backend, against the reference.
#[test]
fn inventory_rows() {
    use rectifier::inventory::{Args, Op, Params};
    let mut rng = Rng(4242);
    for &op in Op::ALL.iter().filter(|op| !op.params().elementwise()) {
        for layout in LAYOUTS {
            for k in [1usize, 2, 3, 4, 8, 16, 33] {
                let g = 77;
                let bwd = op.params() == Params::MaxoutBackward;
                let src: Vec<f32> = mixed_data(&mut rng, if bwd { g } else { g * k });
                let ix0: Vec<u32> = (0..g).map(|_| rng.below(k) as u32).collect();
                let out_len = if bwd { g * k } else { g };
                let mut results = Vec::new();
                for r in backends() {
                    let mut dst = vec![0.0f32; out_len];
                    let mut ix = if bwd { ix0.clone() } else { vec![0u32; g] };
                    let args = Args {
                        src: &src,
                        dst: &mut dst,
                        slope: 0.0,
                        slopes: &[],
                        layout: rectifier::ChannelLayout::ChannelsLast,
                        k,
                        maxout_layout: layout,
                        indices: &mut ix,
                        grad_mode: MaxoutGradMode::Overwrite,
                        ..Args::default()
                    };
                    op.call(r, args).unwrap();
                    results.push((r.backend(), dst, ix));
                }
                let (_, want, want_ix) = &results[0];
                for (b, got, got_ix) in &results[1..] {
                    let ctx = format!("{} {layout:?} k={k} on {b}", op.name());
                    assert_bits_eq(got, want, &[], &ctx);
                    if op == Op::Maxout {
                        assert_eq!(got_ix, want_ix, "{ctx}");
                    }
                }
            }
        }
    }
    assert_eq!(
        Op::ALL
            .iter()
            .filter(|op| op.params() == Params::Maxout)
            .count(),
        2
    );
}

/// Outputs of 16 MiB and more take the streaming-store paths (aligned starts and not).
#[test]
fn backward_large_outputs() {
    let mut rng = Rng(5);
    let k = 4;
    let groups = (17 << 20) / 4 / k + 5;
    let dy: Vec<f32> = mixed_data(&mut rng, groups);
    let ix: Vec<u32> = (0..groups).map(|_| rng.below(k) as u32).collect();
    for (layout, mode) in LAYOUTS.into_iter().flat_map(|l| MODES.map(|m| (l, m))) {
        let mut want = vec![1.0f32; groups * k];
        reference()
            .maxout_backward(&dy, &ix, k, layout, &mut want, mode)
            .unwrap();
        for r in simd_backends() {
            for off in [0usize, 1, 4] {
                let mut buf = vec![1.0f32; groups * k + 16];
                let dx = &mut buf[off..off + groups * k];
                r.maxout_backward(&dy, &ix, k, layout, dx, mode).unwrap();
                let ctx = format!("large {layout:?} {mode:?} on {} offset {off}", r.backend());
                assert_bits_eq(dx, &want, &[], &ctx);
            }
        }
    }
}

/// Inputs of 16 MiB and more with many planes take the tiled planar path.
#[test]
fn forward_large_planar() {
    let mut rng = Rng(6);
    let k = 16;
    let groups = (17 << 20) / 4 / k + 37;
    let mut z: Vec<f32> = clean_data(&mut rng, groups * k);
    for z in [z.clone(), {
        z[groups * k / 2 + 3] = f32::from_bits(std::hint::black_box(0xffc0_1234));
        z
    }] {
        let want = reference_forward(&z, k, MaxoutLayout::Planar);
        for r in simd_backends() {
            let (mut v, mut i) = (vec![0.0f32; groups], vec![0u8; groups]);
            r.maxout(&z, k, MaxoutLayout::Planar, &mut v, &mut i)
                .unwrap();
            assert_bits_eq(
                &v,
                &want.0,
                &[],
                &format!("large planar on {}", r.backend()),
            );
            assert!(i.iter().zip(&want.1).all(|(a, b)| *a as u32 == *b));
        }
    }
}

/// Inputs of `arch::STREAM_MIN_BYTES` and more: the interleaved fast paths prefetch ahead of
/// their loads (up to the input's end), and outputs that large may be streamed where aligned.
/// Both layouts at `k` = 2 and 16, a NaN near the end, values with indices and values only,
/// outputs placed on a 64-byte boundary and one element past it.
fn forward_large<T: TestElement>() {
    let size = core::mem::size_of::<T>();
    for (layout, k) in [
        (MaxoutLayout::Interleaved, 2),
        (MaxoutLayout::Interleaved, 16),
        (MaxoutLayout::Planar, 2),
    ] {
        let mut rng = Rng(7);
        let groups = rectifier::arch::STREAM_MIN_BYTES / size / k + 37;
        let mut z: Vec<T> = clean_data(&mut rng, groups * k);
        z[groups * k - 5] = T::specials()[0];
        let want = reference_forward(&z, k, layout);
        for r in simd_backends() {
            let mut v = vec![T::ZERO; groups + 64];
            let mut i = vec![0u32; groups + 64];
            let av = (64 - v.as_ptr() as usize % 64) % 64 / size;
            let ai = (64 - i.as_ptr() as usize % 64) % 64 / 4;
            for (ov, oi) in [(av, ai), (av + 1, ai + 1), (av, ai + 1)] {
                let ctx = format!(
                    "{} large {layout:?} k={k} on {} offsets {ov}, {oi}",
                    T::NAME,
                    r.backend()
                );
                let (vo, io) = (&mut v[ov..ov + groups], &mut i[oi..oi + groups]);
                r.maxout(&z, k, layout, vo, io).unwrap();
                assert_bits_eq(vo, &want.0, &[], &ctx);
                assert!(io == want.1, "{ctx}: indices");
                vo.fill(T::ZERO);
                r.maxout_values(&z, k, layout, vo).unwrap();
                assert_bits_eq(vo, &want.0, &[], &format!("{ctx}, values only"));
            }
        }
    }
}

#[test]
fn forward_large_f32() {
    forward_large::<f32>();
}

#[test]
fn forward_large_f64() {
    forward_large::<f64>();
}

#[test]
fn forward_large_bf16() {
    forward_large::<rectifier::bf16>();
}

/// Maxout backward writes `dx` of `arch::STREAM_MIN_BYTES` and more with streaming stores on
/// x86 where its stores are vector-aligned (planar overwrite; interleaved overwrite at `k` = 8
/// and 16 here, and at `k` = lanes; for the half formats on their 16-bit lanes): it must equal
/// the reference too. Starts: on a 64-byte boundary (every path streams), 32 bytes past one
/// (the `f32` `k` = 8 path of AVX-512 still streams, from its second group pair), and
/// misaligned (plain stores). Planar `k` = 7 with a whole number of 64-byte vectors per plane:
/// the planes share an alignment, so they are streamed four, two and one at a time.
fn backward_streaming<T: TestElement>() {
    let cases = [
        (MaxoutLayout::Planar, 4, false),
        (MaxoutLayout::Planar, 7, true),
        (MaxoutLayout::Interleaved, 8, false),
        (MaxoutLayout::Interleaved, 16, false),
    ];
    let size = core::mem::size_of::<T>();
    for (layout, k, shared) in cases {
        let base = rectifier::arch::STREAM_MIN_BYTES / size / k;
        let groups = if shared {
            (base / 64 + 1) * 64
        } else {
            base + 37
        };
        let mut rng = Rng(0x5eed);
        let dy: Vec<T> = mixed_data(&mut rng, groups);
        let ix: Vec<u32> = (0..groups).map(|_| rng.below(k) as u32).collect();
        let n = groups * k;
        let mode = MaxoutGradMode::Overwrite;
        let mut want = vec![T::from_f64(7.0); n];
        reference()
            .maxout_backward(&dy, &ix, k, layout, &mut want, mode)
            .unwrap();
        for r in simd_backends() {
            let mut dx = vec![T::from_f64(7.0); n + 64];
            let aligned = (64 - dx.as_ptr() as usize % 64) % 64 / size;
            for off in [aligned, aligned + 32 / size, aligned + 3] {
                let dx = &mut dx[off..off + n];
                r.maxout_backward(&dy, &ix, k, layout, dx, mode).unwrap();
                let ctx = format!(
                    "{} {layout:?} k={k} streaming on {} offset {off} (aligned {aligned})",
                    T::NAME,
                    r.backend()
                );
                assert_bits_eq(dx, &want, &want, &ctx);
                dx.fill(T::from_f64(7.0));
            }
        }
    }
}

#[test]
fn backward_streaming_f32() {
    backward_streaming::<f32>();
}

#[test]
fn backward_streaming_f64() {
    backward_streaming::<f64>();
}

#[test]
fn backward_streaming_bf16() {
    backward_streaming::<rectifier::bf16>();
}
