//! The raw-buffer API: every op over byte buffers equals the typed API bit for bit; misaligned
//! buffers and byte lengths that are not whole elements are typed errors, and nothing is written.

mod common;

use common::{Rng, backends, mixed_data};
use rectifier::inventory::{Args, Op, Params};
use rectifier::raw::{self, DType, RawArgs};
use rectifier::{ChannelLayout, Error, Subgradient};

#[test]
fn raw_equals_typed_for_every_op() {
    let mut rng = Rng(7);
    for &op in Op::ALL {
        for r in backends() {
            let n = 6 * 11;
            let z: Vec<f64> = mixed_data(&mut rng, n);
            let src: Vec<f64> = mixed_data(&mut rng, n);
            let slopes = [0.5f64, 2.0, 0.25];
            let (slopes, layout): (&[f64], _) = match op.params() {
                Params::ChannelSlopes => (&slopes, ChannelLayout::ChannelsFirst { spatial: 2 }),
                _ => (&[], ChannelLayout::ChannelsLast),
            };
            let mask0: Vec<u64> = (0..rectifier::mask_words(n))
                .map(|i| 0x5a5a_1234 ^ i as u64)
                .collect();
            let (mut dst_t, mut da_t, mut mask_t) =
                (src.clone(), vec![0.0f64; slopes.len()], mask0.clone());
            // Maxout with k = 1: n groups, valid indices (all 0).
            let (mut ix_t, mut ix_r) = (vec![0u32; n], vec![0u32; n]);
            let want = op.call(
                r,
                Args {
                    src: &src,
                    dst: &mut dst_t,
                    z: &z,
                    sub: Subgradient::Left,
                    da: &mut da_t,
                    mask: &mut mask_t,
                    slope: 0.125,
                    slopes,
                    layout,
                    indices: &mut ix_t,
                    ..Args::default()
                },
            );
            let (mut dst_r, mut da_r, mut mask_r) =
                (src.clone(), vec![0.0f64; slopes.len()], mask0.clone());
            let got = raw::call(
                r,
                op,
                DType::F64,
                RawArgs {
                    src: bytemuck::cast_slice(&src),
                    dst: bytemuck::cast_slice_mut(&mut dst_r),
                    z: bytemuck::cast_slice(&z),
                    sub: Subgradient::Left,
                    da: bytemuck::cast_slice_mut(&mut da_r),
                    mask: bytemuck::cast_slice_mut(&mut mask_r),
                    slope: 0.125,
                    slopes: bytemuck::cast_slice(slopes),
                    layout,
                    indices: bytemuck::cast_slice_mut(&mut ix_r),
                    ..RawArgs::default()
                },
            );
            assert_eq!(got, want, "{}", op.name());
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&dst_r),
                bits(&dst_t),
                "{} on {}",
                op.name(),
                r.backend()
            );
            assert_eq!(bits(&da_r), bits(&da_t), "{}", op.name());
            assert_eq!(mask_r, mask_t, "{}", op.name());
            assert_eq!(ix_r, ix_t, "{}", op.name());
        }
    }
}

#[test]
fn misaligned_and_ragged_buffers_are_errors() {
    let r = rectifier::Rectifier::auto();
    let src = [1.0f32; 5];
    let mut dst = [9u32; 5];
    let src_bytes: &[u8] = bytemuck::cast_slice(&src);
    // One byte in: misaligned for f32.
    let args = RawArgs {
        src: &src_bytes[1..17],
        dst: bytemuck::cast_slice_mut(&mut dst[..4]),
        ..RawArgs::default()
    };
    assert_eq!(
        raw::call(r, Op::Relu, DType::F32, args),
        Err(Error::Misaligned {
            what: "src",
            align: 4
        })
    );
    // Not a whole number of f32s.
    let args = RawArgs {
        src: &src_bytes[..6],
        dst: bytemuck::cast_slice_mut(&mut dst[..4]),
        ..RawArgs::default()
    };
    assert!(matches!(
        raw::call(r, Op::Relu, DType::F32, args),
        Err(Error::NotDivisible {
            what: "src",
            len: 6,
            divisor: 4,
            ..
        })
    ));
    // f64 over storage that is only 4-aligned.
    let base = bytemuck::cast_slice::<f32, u8>(&src);
    let off = if (base.as_ptr() as usize).is_multiple_of(8) {
        4
    } else {
        0
    };
    let args = RawArgs {
        src: &base[off..off + 8],
        dst: bytemuck::cast_slice_mut(&mut dst[..2]),
        ..RawArgs::default()
    };
    assert!(matches!(
        raw::call(r, Op::Abs, DType::F64, args),
        Err(Error::Misaligned { align: 8, .. })
    ));
    assert_eq!(dst, [9; 5], "written on error");
    assert_eq!(DType::F32.size(), 4);
    assert_eq!(DType::F64.name(), "f64");
}
