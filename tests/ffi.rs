//! The C ABI, called directly from Rust: every kernel equals the Rust API bit for bit (outputs
//! and status) on every backend this CPU supports; every boundary status (NULL, misaligned,
//! size overflow, overlap, unknown enumeration values, unsupported backend, a caught panic);
//! nothing written on error; the C table covers the inventory.
//!
//! The call of each C function is generated from the ABI's own table (`src/ffi/table.rs`, through
//! `tests/common/c_call.rs`, which the fuzz harness shares), so a row added there is tested here
//! without edits (a new parameter name or kind needs an `arg!` arm there).

mod common;

use common::{Rng, TestElement, backends, mixed_data};
use rectifier::ffi::*;
use rectifier::inventory::{Args, Op, Params};
use rectifier::{
    Backend, ChannelLayout, Element, MaxoutGradMode, MaxoutLayout, Rectifier, Subgradient,
};

include!("common/c_call.rs");

/// Owned buffers of one call.
#[derive(Clone)]
struct Bufs<T: Element> {
    src: Vec<T>,
    dst: Vec<T>,
    z: Vec<T>,
    da: Vec<T>,
    mask: Vec<u64>,
    slopes: Vec<T>,
    slope: T::Slope,
    layout: ChannelLayout,
    sub: Subgradient,
    indices: Vec<u32>,
    /// The C `n` and `groups` (maxout: `src` and `dst` lengths, either way round; passed as they
    /// are, so that they can disagree with `k`).
    n: usize,
    groups: usize,
    k: usize,
    maxout_layout: MaxoutLayout,
    grad_mode: MaxoutGradMode,
}

fn c_maxout_layout(l: MaxoutLayout) -> rectifier_maxout_layout {
    match l {
        MaxoutLayout::Interleaved => RECTIFIER_MAXOUT_INTERLEAVED,
        MaxoutLayout::Planar => RECTIFIER_MAXOUT_PLANAR,
    }
}

fn c_grad_mode(m: MaxoutGradMode) -> rectifier_maxout_grad_mode {
    match m {
        MaxoutGradMode::Overwrite => RECTIFIER_MAXOUT_OVERWRITE,
        MaxoutGradMode::Accumulate => RECTIFIER_MAXOUT_ACCUMULATE,
    }
}

impl<T: Element> Bufs<T> {
    fn raw(&mut self) -> Raw<T> {
        let (layout, spatial) = match self.layout {
            ChannelLayout::ChannelsLast => (RECTIFIER_LAYOUT_CHANNELS_LAST, 0),
            ChannelLayout::ChannelsFirst { spatial } => (RECTIFIER_LAYOUT_CHANNELS_FIRST, spatial),
        };
        Raw {
            src: self.src.as_ptr(),
            dst: self.dst.as_mut_ptr(),
            z: self.z.as_ptr(),
            da: self.da.as_mut_ptr(),
            mask: self.mask.as_mut_ptr(),
            slopes: self.slopes.as_ptr(),
            n: self.n,
            channels: self.slopes.len(),
            mask_words: self.mask.len(),
            spatial,
            slope: self.slope,
            layout,
            sub: match self.sub {
                Subgradient::Left => RECTIFIER_SUBGRADIENT_LEFT,
                Subgradient::Right => RECTIFIER_SUBGRADIENT_RIGHT,
            },
            indices: self.indices.as_mut_ptr(),
            groups: self.groups,
            k: self.k,
            maxout_layout: c_maxout_layout(self.maxout_layout),
            grad_mode: c_grad_mode(self.grad_mode),
        }
    }

    fn call_rust(&mut self, op: Op, r: Rectifier) -> rectifier_status {
        let args = Args {
            src: &self.src,
            dst: &mut self.dst,
            z: &self.z,
            sub: self.sub,
            da: &mut self.da,
            mask: &mut self.mask,
            slope: self.slope,
            slopes: &self.slopes,
            layout: self.layout,
            indices: &mut self.indices,
            k: self.k,
            maxout_layout: self.maxout_layout,
            grad_mode: self.grad_mode,
        };
        match op.call(r, args) {
            Ok(()) => RECTIFIER_OK,
            Err(e) => status_of(&e),
        }
    }

    #[allow(clippy::type_complexity)]
    fn bits(&self) -> (Vec<T::Bits>, Vec<T::Bits>, Vec<u64>, Vec<u32>) {
        (
            self.dst.iter().map(|v| v.to_bits()).collect(),
            self.da.iter().map(|v| v.to_bits()).collect(),
            self.mask.clone(),
            self.indices.clone(),
        )
    }
}

/// Maxout cases: both layouts, both grad modes, groups of data with NaNs, ties and signed
/// zeros; and invalid ones (`k == 0`, `n` not a multiple of `k`, `groups * k != n`, indices
/// `>= k`).
fn maxout_cases<T: TestElement>(op: Op, rng: &mut Rng) -> Vec<Bufs<T>> {
    let mut out = Vec::new();
    let backward = op.params() == Params::MaxoutBackward;
    // (n, groups, k, index bound for backward): valid shapes, then invalid ones.
    let mut shapes: Vec<(usize, usize, usize, u32)> = Vec::new();
    for k in [1usize, 2, 3, 4, 7, 8, 16, 17, 33] {
        for g in [0usize, 1, 5, 19, 40] {
            shapes.push((g * k, g, k, k as u32));
        }
    }
    shapes.extend([
        (0, 0, 0, 1),    // k = 0 (even with n = 0)
        (6, 3, 0, 1),    // k = 0
        (7, 3, 2, 2),    // n not a multiple of k
        (8, 3, 2, 2),    // groups * k != n
        (6, 4, 2, 2),    // groups * k != n
        (12, 3, 4, 5),   // backward: an index >= k may be drawn
        (40, 10, 4, 40), // backward: indices far out of range
    ]);
    for (n, groups, k, bound) in shapes {
        for maxout_layout in [MaxoutLayout::Interleaved, MaxoutLayout::Planar] {
            for grad_mode in [MaxoutGradMode::Overwrite, MaxoutGradMode::Accumulate] {
                if !backward && grad_mode == MaxoutGradMode::Accumulate {
                    continue;
                }
                let (src_len, dst_len) = if backward { (groups, n) } else { (n, groups) };
                // Few distinct values, so that ties (and -0 vs +0) are common.
                let src: Vec<T> = mixed_data::<T>(rng, src_len)
                    .into_iter()
                    .map(|v| {
                        if rng.below(3) == 0 {
                            T::from_f64([0.0, -0.0, 1.0, -1.0][rng.below(4)])
                        } else {
                            v
                        }
                    })
                    .collect();
                let indices: Vec<u32> = if backward {
                    (0..groups)
                        .map(|_| rng.below(bound as usize) as u32)
                        .collect()
                } else {
                    vec![0xdead_beef; groups]
                };
                out.push(Bufs {
                    src,
                    dst: mixed_data::<T>(rng, dst_len),
                    z: Vec::new(),
                    da: Vec::new(),
                    mask: Vec::new(),
                    slopes: Vec::new(),
                    slope: Default::default(),
                    layout: ChannelLayout::ChannelsLast,
                    sub: Subgradient::Left,
                    indices: if op == Op::MaxoutValues {
                        Vec::new()
                    } else {
                        indices
                    },
                    n,
                    groups,
                    k,
                    maxout_layout,
                    grad_mode,
                });
            }
        }
    }
    out
}

fn cases<T: TestElement>(op: Op, rng: &mut Rng) -> Vec<Bufs<T>> {
    if op.maxout() {
        return maxout_cases(op, rng);
    }
    let mut out = Vec::new();
    let shapes: Vec<(usize, ChannelLayout, Vec<f64>)> = match op.params() {
        Params::ChannelSlopes => vec![
            (3, ChannelLayout::ChannelsLast, vec![0.25, 3.0, 0.5]),
            (3, ChannelLayout::ChannelsLast, vec![-1.5, 0.0, 0.2]),
            (
                2,
                ChannelLayout::ChannelsFirst { spatial: 5 },
                vec![0.01, 2.0],
            ),
            (1, ChannelLayout::ChannelsFirst { spatial: 1 }, vec![-0.0]),
        ],
        _ => vec![(1, ChannelLayout::ChannelsLast, vec![0.0])],
    };
    for (channels, layout, slopes) in shapes {
        let period = match layout {
            ChannelLayout::ChannelsLast => channels,
            ChannelLayout::ChannelsFirst { spatial } => channels * spatial,
        };
        for rows in [0usize, 1, 7, 30, 70] {
            let n = period * rows;
            for slope in [0.01, -1.5, 0.0, 2.5] {
                for sub in [Subgradient::Left, Subgradient::Right] {
                    let src = mixed_data::<T>(rng, n);
                    let mut mask: Vec<u64> = (0..rectifier::mask_words(n))
                        .map(|_| rng.next_u64())
                        .collect();
                    if let Some(last) = mask.last_mut().filter(|_| n % 64 != 0) {
                        *last &= (1u64 << (n % 64)) - 1;
                    }
                    let dst = if op.inplace() {
                        mixed_data::<T>(rng, n)
                    } else {
                        vec![T::from_f64(7.25); n]
                    };
                    out.push(Bufs {
                        src,
                        dst,
                        z: mixed_data::<T>(rng, n),
                        da: vec![T::from_f64(-3.5); channels],
                        mask,
                        slopes: slopes.iter().map(|&a| T::from_f64(a)).collect(),
                        slope: T::slope_of(slope),
                        layout,
                        sub,
                        indices: Vec::new(),
                        n,
                        groups: 0,
                        k: 0,
                        maxout_layout: MaxoutLayout::Interleaved,
                        grad_mode: MaxoutGradMode::Overwrite,
                    });
                }
            }
        }
    }
    out
}

fn same_as_rust<T: TestElement + CallC>() {
    let mut rng = Rng(0x5eed_cab1);
    for &op in Op::ALL {
        for case in cases::<T>(op, &mut rng) {
            for r in backends() {
                let mut want = case.clone();
                let want_status = want.call_rust(op, r);
                let mut got = case.clone();
                let raw = got.raw();
                // SAFETY: every pointer comes from a live Vec of the length passed with it.
                let got_status = unsafe { T::call_c(op.name(), ffi_backend(r.backend()), raw) };
                let ctx = format!(
                    "{} {} on {} (n {}, groups {}, k {}, {:?}, {:?}, {:?}, {:?})",
                    op.name(),
                    T::NAME,
                    r.backend(),
                    case.n,
                    case.groups,
                    case.k,
                    case.layout,
                    case.sub,
                    case.maxout_layout,
                    case.grad_mode
                );
                assert_eq!(got_status, want_status, "{ctx}: status");
                assert!(got.bits() == want.bits(), "{ctx}: outputs differ");
                if got_status != RECTIFIER_OK {
                    assert!(got.bits() == case.bits(), "{ctx}: written on error");
                }
            }
        }
    }
}

fn ffi_backend(b: Backend) -> rectifier_backend {
    backend_code(b)
}

#[test]
fn every_kernel_equals_the_rust_api_f32() {
    same_as_rust::<f32>();
}

#[test]
fn every_kernel_equals_the_rust_api_f64() {
    same_as_rust::<f64>();
}

#[test]
fn every_kernel_equals_the_rust_api_bf16() {
    same_as_rust::<rectifier::bf16>();
}

#[test]
fn every_kernel_equals_the_rust_api_f16() {
    same_as_rust::<rectifier::f16>();
}

#[test]
fn the_c_table_covers_the_inventory() {
    let inventory: Vec<&str> = Op::ALL.iter().map(|op| op.name()).collect();
    assert_eq!(TABLE, KERNELS);
    let signed: Vec<&str> = SIGNATURES.iter().map(|(name, _)| *name).collect();
    assert_eq!(signed, TABLE);
    assert_eq!(
        KERNELS,
        inventory.as_slice(),
        "src/ffi/table.rs vs src/inventory.rs"
    );
    let header = include_str!("../include/rectifier.h");
    for k in KERNELS {
        for suffix in [
            "_f32(",
            "_f64(",
            "_bf16(",
            "_f16(",
            "_f32_on(",
            "_f64_on(",
            "_bf16_on(",
            "_f16_on(",
        ] {
            let decl = format!("rectifier_{k}{suffix}");
            assert!(
                header.contains(&decl),
                "{decl} is not in include/rectifier.h"
            );
        }
    }
}

const S: f32 = 7.25;

/// Asserts `status` and that `out` still holds only the sentinel.
#[track_caller]
fn check(status: rectifier_status, want: rectifier_status, out: &[f32]) {
    assert_eq!(
        status,
        want,
        "got {:?}, want {:?}",
        status_message(status),
        status_message(want)
    );
    if want != RECTIFIER_OK {
        assert!(out.iter().all(|&v| v == S), "written on error");
    }
}

#[test]
fn null_pointers() {
    let src = [1.0f32; 4];
    let mut dst = [S; 4];
    let null = core::ptr::null_mut::<f32>();
    unsafe {
        check(
            rectifier_relu_f32(core::ptr::null(), dst.as_mut_ptr(), 4),
            RECTIFIER_NULL_POINTER,
            &dst,
        );
        check(
            rectifier_relu_f32(src.as_ptr(), null, 4),
            RECTIFIER_NULL_POINTER,
            &dst,
        );
        // Length 0: the pointers are never touched, NULL is fine.
        check(
            rectifier_relu_f32(core::ptr::null(), null, 0),
            RECTIFIER_OK,
            &dst,
        );
        check(rectifier_relu_inplace_f32(null, 0), RECTIFIER_OK, &dst);
        // A NULL slope array with channels > 0.
        check(
            rectifier_prelu_f32(
                src.as_ptr(),
                dst.as_mut_ptr(),
                4,
                core::ptr::null(),
                2,
                0,
                0,
            ),
            RECTIFIER_NULL_POINTER,
            &dst,
        );
        // A NULL mask with mask_words > 0.
        check(
            rectifier_relu_with_mask_f32(
                src.as_ptr(),
                dst.as_mut_ptr(),
                4,
                core::ptr::null_mut(),
                1,
                0,
            ),
            RECTIFIER_NULL_POINTER,
            &dst,
        );
    }
}

#[test]
fn misaligned_pointers() {
    let src = [1.0f64; 5];
    let mut dst = [S; 8];
    unsafe {
        let odd = (dst.as_mut_ptr() as *mut u8).add(1).cast::<f32>();
        check(
            rectifier_relu_f32(dst.as_ptr(), odd, 2),
            RECTIFIER_MISALIGNED_POINTER,
            &dst,
        );
        check(
            rectifier_abs_inplace_f32(odd, 2),
            RECTIFIER_MISALIGNED_POINTER,
            &dst,
        );
        // f64 needs 8-byte alignment: an f32-aligned address that is not 8-aligned.
        let base = src.as_ptr() as *const u8;
        let off = if (base as usize).is_multiple_of(8) {
            4
        } else {
            0
        };
        let p4 = base.add(off).cast::<f64>();
        let mut out = [0.0f64; 2];
        assert_eq!(
            rectifier_relu_f64(p4, out.as_mut_ptr(), 2),
            RECTIFIER_MISALIGNED_POINTER
        );
        assert_eq!(out, [0.0; 2]);
        // Misaligned but of length 0: fine.
        check(rectifier_relu_f32(odd, odd, 0), RECTIFIER_OK, &dst);
        // A mask pointer aligned to 4 but not 8.
        let mut words = [0u64; 2];
        let m4 = (words.as_mut_ptr() as *mut u8).add(4).cast::<u64>();
        let src32 = [1.0f32; 4];
        check(
            rectifier_relu_with_mask_f32(src32.as_ptr(), dst.as_mut_ptr(), 4, m4, 1, 0),
            RECTIFIER_MISALIGNED_POINTER,
            &dst,
        );
    }
}

#[test]
fn size_overflow() {
    let src = [1.0f32; 4];
    let mut dst = [S; 4];
    unsafe {
        // n * 4 > isize::MAX
        let n = (isize::MAX as usize) / 4 + 1;
        check(
            rectifier_relu_f32(src.as_ptr(), dst.as_mut_ptr(), n),
            RECTIFIER_SIZE_OVERFLOW,
            &dst,
        );
        check(
            rectifier_relu_inplace_f32(dst.as_mut_ptr(), usize::MAX),
            RECTIFIER_SIZE_OVERFLOW,
            &dst,
        );
        // A buffer that would wrap around the end of the address space (never dereferenced).
        let high = core::ptr::without_provenance::<f32>(usize::MAX - 7);
        check(
            rectifier_relu_f32(high, dst.as_mut_ptr(), 4),
            RECTIFIER_SIZE_OVERFLOW,
            &dst,
        );
        let mut out64 = [0.0f64; 1];
        let n64 = (isize::MAX as usize) / 8 + 1;
        assert_eq!(
            rectifier_abs_f64(out64.as_ptr(), out64.as_mut_ptr(), n64),
            RECTIFIER_SIZE_OVERFLOW
        );
    }
}

#[test]
fn overlap() {
    let mut buf = [S; 16];
    let p = buf.as_mut_ptr();
    unsafe {
        // Partial overlap and exact aliasing are both rejected out of place.
        assert_eq!(rectifier_relu_f32(p, p.add(4), 8), RECTIFIER_OVERLAP);
        assert_eq!(rectifier_relu_f32(p.add(4), p, 8), RECTIFIER_OVERLAP);
        assert_eq!(rectifier_relu_f32(p, p, 8), RECTIFIER_OVERLAP);
        assert_eq!(
            rectifier_leaky_relu_f32(p, p.add(7), 8, 0.5),
            RECTIFIER_OVERLAP
        );
        // Adjacent is fine.
        assert_eq!(rectifier_relu_f32(p, p.add(8), 8), RECTIFIER_OK);
        // In place: z must not overlap dy_dx.
        assert_eq!(
            rectifier_relu_backward_inplace_f32(p, p.add(2), 4, 0),
            RECTIFIER_OVERLAP
        );
        // Read-only buffers may overlap each other (z == dy).
        assert_eq!(
            rectifier_relu_backward_f32(p, p, p.add(8), 8, 0),
            RECTIFIER_OK
        );
        // da overlapping slopes; dx overlapping da.
        let mut a = [0.5f32; 4];
        let pa = a.as_mut_ptr();
        assert_eq!(
            rectifier_prelu_backward_with_slope_grad_f32(p, p, p.add(8), 8, pa, pa, 2, 0, 0, 0),
            RECTIFIER_OVERLAP
        );
        assert_eq!(
            rectifier_prelu_backward_with_slope_grad_f32(
                p,
                p,
                p.add(8),
                8,
                pa,
                p.add(14),
                2,
                0,
                0,
                0
            ),
            RECTIFIER_OVERLAP
        );
        // The mask overlapping the output.
        let mut words = [0u64; 4];
        let w = words.as_mut_ptr();
        assert_eq!(
            rectifier_relu_with_mask_f32(p, w.cast::<f32>(), 2, w, 1, 0),
            RECTIFIER_OVERLAP
        );
    }
}

#[test]
fn enumeration_arguments_and_backends() {
    let src = [1.0f32, -2.0, 0.0, -0.0];
    let mut dst = [S; 4];
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    unsafe {
        check(
            rectifier_relu_backward_f32(s, s, d, 4, 2),
            RECTIFIER_INVALID_ARGUMENT,
            &dst,
        );
        check(
            rectifier_relu_backward_f32(s, s, d, 4, -1),
            RECTIFIER_INVALID_ARGUMENT,
            &dst,
        );
        check(
            rectifier_prelu_f32(s, d, 4, s, 1, 2, 1),
            RECTIFIER_INVALID_ARGUMENT,
            &dst,
        );
        check(
            rectifier_relu_f32_on(4, s, d, 4),
            RECTIFIER_INVALID_ARGUMENT,
            &dst,
        );
        check(
            rectifier_relu_f32_on(-2, s, d, 4),
            RECTIFIER_INVALID_ARGUMENT,
            &dst,
        );
        for b in [
            RECTIFIER_BACKEND_SCALAR,
            RECTIFIER_BACKEND_AVX2,
            RECTIFIER_BACKEND_AVX512,
            RECTIFIER_BACKEND_NEON,
        ] {
            let supported = rectifier_supported_backends() & (1 << b) != 0;
            let want = if supported {
                RECTIFIER_OK
            } else {
                RECTIFIER_UNSUPPORTED_BACKEND
            };
            dst = [S; 4];
            check(rectifier_relu_f32_on(b, s, dst.as_mut_ptr(), 4), want, &dst);
        }
        dst = [S; 4];
        check(
            rectifier_relu_f32_on(RECTIFIER_BACKEND_AUTO, s, dst.as_mut_ptr(), 4),
            RECTIFIER_OK,
            &dst,
        );
    }
    assert_eq!(dst.map(f32::to_bits), [1.0f32.to_bits(), 0, 0, 0x8000_0000]);
}

#[test]
fn kernel_statuses() {
    let src = [1.0f32, -2.0, 0.0, -0.0, 3.0];
    let mut dst = [S; 5];
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    let mut mask = [0u64; 2];
    let m = mask.as_mut_ptr();
    unsafe {
        check(
            rectifier_relu_with_mask_f32(s, d, 5, m, 2, 0),
            RECTIFIER_LENGTH_MISMATCH,
            &dst,
        );
        check(
            rectifier_prelu_f32(s, d, 5, s, 2, 0, 0),
            RECTIFIER_NOT_DIVISIBLE,
            &dst,
        );
        check(
            rectifier_leaky_relu_f32(s, d, 5, f32::NAN),
            RECTIFIER_NON_FINITE_SLOPE,
            &dst,
        );
        check(
            rectifier_leaky_relu_f32(s, d, 5, f32::INFINITY),
            RECTIFIER_NON_FINITE_SLOPE,
            &dst,
        );
        check(
            rectifier_prelu_f32(s, d, 5, s, 0, 0, 0),
            RECTIFIER_INVALID_SHAPE,
            &dst,
        );
        check(
            rectifier_prelu_f32(s, d, 5, s, 1, 1, 0),
            RECTIFIER_INVALID_SHAPE,
            &dst,
        );
        check(
            rectifier_relu_backward_from_output_f32(s, s, d, 5, 1),
            RECTIFIER_FROM_OUTPUT_SUBGRADIENT,
            &dst,
        );
        check(
            rectifier_leaky_relu_backward_from_output_f32(s, s, d, 5, -0.5, 0),
            RECTIFIER_FROM_OUTPUT_SLOPE,
            &dst,
        );
        check(
            rectifier_relu_with_mask_f32(s, d, 5, m, 1, 0),
            RECTIFIER_OK,
            &dst,
        );
    }
    assert_eq!(mask[0], 0b10001);
    assert_eq!(guard_panic_for_tests(), RECTIFIER_INTERNAL);
}

#[test]
fn queries_and_messages() {
    let mut seen = std::collections::HashSet::new();
    for &s in RECTIFIER_STATUS_VALUES {
        let m = status_message(s);
        assert!(!m.is_empty() && seen.insert(m), "status {s}: {m:?}");
        // SAFETY: a static NUL-terminated string.
        let c = unsafe { core::ffi::CStr::from_ptr(rectifier_status_message(s)) };
        assert_eq!(c.to_str().unwrap(), m);
    }
    // Codes are 0, 1, 2, ... in table order (new ones are appended), and every `Error` variant
    // maps to a code of its own (`status_of` is an exhaustive match).
    for (i, &s) in RECTIFIER_STATUS_VALUES.iter().enumerate() {
        assert_eq!(s, i as i32);
    }
    assert!(RECTIFIER_STATUS_VALUES.contains(&RECTIFIER_INTERNAL));
    assert_eq!(status_message(99), "unknown status code");
    assert!(!rectifier_status_message(-5).is_null());
    let bits = rectifier_supported_backends();
    for b in rectifier::ALL_BACKENDS {
        assert_eq!(bits & (1 << backend_code(b)) != 0, b.is_supported(), "{b}");
        assert_eq!(backend_code(b), b as u8 as i32);
        // SAFETY: a static NUL-terminated string.
        let name = unsafe { core::ffi::CStr::from_ptr(rectifier_backend_name(backend_code(b))) };
        assert_eq!(name.to_str().unwrap(), b.name());
    }
    assert!(rectifier_backend_name(17).is_null());
    assert_eq!(rectifier_active_backend(), backend_code(Backend::active()));
    assert_eq!(
        rectifier_detected_backend(),
        backend_code(Backend::detected())
    );
    assert_eq!(rectifier_mask_words(0), 0);
    assert_eq!(rectifier_mask_words(65), 2);
    // SAFETY: a static NUL-terminated string.
    let v = unsafe { core::ffi::CStr::from_ptr(rectifier_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

/// Random lengths, shapes, enumeration values, slopes (NaN and infinities too), backends and
/// NULL pointers, over distinct buffers big enough for any length drawn: no call panics
/// (`RECTIFIER_INTERNAL`), and a call that fails writes nothing.
#[test]
fn random_arguments_never_panic_and_failures_write_nothing() {
    let mut rng = Rng(0xf022);
    let slopes_pool = [0.5f32, -1.0, 0.0, 2.0, f32::NAN, f32::INFINITY, 1e-40, -0.0];
    let mut statuses = std::collections::BTreeSet::new();
    let ops: Vec<Op> = Op::ALL.to_vec();
    assert!(ops.iter().any(|op| op.maxout()));
    for round in 0..4000 {
        let op = ops[round % ops.len()];
        let src: Vec<f32> = mixed_data(&mut rng, 64);
        let z: Vec<f32> = mixed_data(&mut rng, 64);
        let mut dst: Vec<f32> = mixed_data(&mut rng, 64);
        let mut da = vec![9.5f32; 8];
        let mut mask: Vec<u64> = (0..2).map(|_| rng.next_u64()).collect();
        let slopes: Vec<f32> = (0..8).map(|_| slopes_pool[rng.below(8)]).collect();
        // Mostly in range for k <= 8, sometimes not.
        let mut indices: Vec<u32> = (0..64)
            .map(|_| [0, 1, 2, 3, 7, 8, 63, u32::MAX][rng.below(8)])
            .collect();
        let (dst0, da0, mask0, indices0) = (dst.clone(), da.clone(), mask.clone(), indices.clone());
        let pick = |rng: &mut Rng, v: &[i32]| v[rng.below(v.len())];
        let mut raw = Raw {
            src: src.as_ptr(),
            dst: dst.as_mut_ptr(),
            z: z.as_ptr(),
            da: da.as_mut_ptr(),
            mask: mask.as_mut_ptr(),
            slopes: slopes.as_ptr(),
            n: rng.below(65),
            channels: rng.below(9),
            mask_words: rng.below(3),
            spatial: [0, 1, 2, 3, 5, usize::MAX][rng.below(6)],
            slope: slopes_pool[rng.below(8)],
            layout: pick(&mut rng, &[-1, 0, 0, 1, 1, 2]),
            sub: pick(&mut rng, &[-1, 0, 0, 1, 1, 2]),
            indices: indices.as_mut_ptr(),
            groups: rng.below(65),
            k: [0, 1, 1, 2, 3, 4, 8, 64, 1 << 33, usize::MAX][rng.below(10)],
            maxout_layout: pick(&mut rng, &[-1, 0, 0, 1, 1, 2]),
            grad_mode: pick(&mut rng, &[-1, 0, 0, 1, 1, 2]),
        };
        // Maxout: often a consistent shape (groups = n / k), so that the kernels run.
        if op.maxout() && rng.below(2) == 0 && raw.k != 0 {
            raw.n -= raw.n % raw.k;
            raw.groups = raw.n / raw.k;
        }
        // The lengths must fit the buffers (the one thing C cannot check): n <= 64, channels
        // <= 8, mask_words <= 2, groups <= 64. Sometimes a NULL pointer instead.
        match rng.below(13) {
            0 => raw.src = core::ptr::null(),
            1 => raw.dst = core::ptr::null_mut(),
            2 => raw.slopes = core::ptr::null(),
            3 => raw.mask = core::ptr::null_mut(),
            4 => raw.da = core::ptr::null_mut(),
            5 => raw.indices = core::ptr::null_mut(),
            _ => {}
        }
        let backend = pick(&mut rng, &[-2, -1, -1, 0, 1, 2, 3, 4]);
        // SAFETY: every non-null pointer is valid for the largest length that can be drawn.
        let status = unsafe { f32::call_c(op.name(), backend, raw) };
        statuses.insert(status);
        assert_ne!(status, RECTIFIER_INTERNAL, "{} panicked", op.name());
        if status != RECTIFIER_OK {
            let same = dst
                .iter()
                .zip(&dst0)
                .all(|(a, b)| a.to_bits() == b.to_bits())
                && da.iter().zip(&da0).all(|(a, b)| a.to_bits() == b.to_bits())
                && mask == mask0
                && indices == indices0;
            assert!(
                same,
                "{}: status {status} but an output was written",
                op.name()
            );
        }
    }
    // The draw reaches most statuses.
    assert!(statuses.len() >= 10, "{statuses:?}");
    for s in [
        RECTIFIER_OK,
        RECTIFIER_INDEX_TYPE_TOO_NARROW,
        RECTIFIER_INDEX_OUT_OF_RANGE,
    ] {
        assert!(
            statuses.contains(&s),
            "status {s} never drawn: {statuses:?}"
        );
    }
}

/// Maxout's boundary and kernel statuses, with nothing written on failure.
#[test]
fn maxout_statuses() {
    let src = [1.0f32, -2.0, f32::NAN, 0.0, -0.0, 3.0];
    let mut vals = [S; 3];
    let mut idx = [7u32; 4];
    let v = vals.as_mut_ptr();
    let i = idx.as_mut_ptr();
    let s = src.as_ptr();
    let (il, pl) = (RECTIFIER_MAXOUT_INTERLEAVED, RECTIFIER_MAXOUT_PLANAR);
    unsafe {
        // k == 0; n not a multiple of k; groups * k != n.
        check(
            rectifier_maxout_f32(s, v, i, 6, 3, 0, il),
            RECTIFIER_INVALID_SHAPE,
            &vals,
        );
        check(
            rectifier_maxout_f32(s, v, i, 0, 0, 0, il),
            RECTIFIER_INVALID_SHAPE,
            &vals,
        );
        check(
            rectifier_maxout_values_f32(s, v, 6, 3, 0, pl),
            RECTIFIER_INVALID_SHAPE,
            &vals,
        );
        check(
            rectifier_maxout_f32(s, v, i, 5, 2, 2, il),
            RECTIFIER_NOT_DIVISIBLE,
            &vals,
        );
        check(
            rectifier_maxout_f32(s, v, i, 6, 2, 2, il),
            RECTIFIER_LENGTH_MISMATCH,
            &vals,
        );
        check(
            rectifier_maxout_values_f32(s, v, 4, 3, 2, il),
            RECTIFIER_LENGTH_MISMATCH,
            &vals,
        );
        // k beyond u32 (the C ABI's index type); values-only has no index type.
        let big = (u32::MAX as usize) + 2;
        check(
            rectifier_maxout_f32(s, v, i, 0, 0, big, il),
            RECTIFIER_INDEX_TYPE_TOO_NARROW,
            &vals,
        );
        check(
            rectifier_maxout_values_f32(s, v, 0, 0, big, il),
            RECTIFIER_OK,
            &vals,
        );
        // Unknown layout.
        check(
            rectifier_maxout_f32(s, v, i, 6, 3, 2, 2),
            RECTIFIER_INVALID_ARGUMENT,
            &vals,
        );
        check(
            rectifier_maxout_f32(s, v, i, 6, 3, 2, -1),
            RECTIFIER_INVALID_ARGUMENT,
            &vals,
        );
        // NULL and misaligned indices.
        check(
            rectifier_maxout_f32(s, v, core::ptr::null_mut(), 6, 3, 2, il),
            RECTIFIER_NULL_POINTER,
            &vals,
        );
        let odd = (i as *mut u8).add(2).cast::<u32>();
        check(
            rectifier_maxout_f32(s, v, odd, 6, 3, 2, il),
            RECTIFIER_MISALIGNED_POINTER,
            &vals,
        );
        // Indices overlapping the values, or the input.
        let mut buf = [S; 8];
        let b = buf.as_mut_ptr();
        assert_eq!(
            rectifier_maxout_f32(s, b, b.add(2).cast(), 6, 3, 2, il),
            RECTIFIER_OVERLAP
        );
        assert_eq!(
            rectifier_maxout_f32(b, b.add(6), b.cast(), 6, 1, 6, il),
            RECTIFIER_OVERLAP
        );
        assert_eq!(
            rectifier_maxout_f32(b, b.add(6), b.add(7).cast(), 6, 1, 6, il),
            RECTIFIER_OK
        );
        assert!(idx == [7; 4] && vals.iter().all(|&x| x == S));
        // Success: first NaN wins in group 1; -0 before +0 wins in group 2.
        check(
            rectifier_maxout_f32(s, v, i, 6, 3, 2, il),
            RECTIFIER_OK,
            &vals,
        );
        assert_eq!(&idx[..3], &[0, 0, 1]);
        assert_eq!(
            vals.map(f32::to_bits),
            [1.0f32.to_bits(), f32::NAN.to_bits(), 3.0f32.to_bits()]
        );

        // Backward.
        let dy = [1.5f32, -2.5];
        let mut dx = [S; 6];
        let d = dx.as_mut_ptr();
        let (ow, acc) = (RECTIFIER_MAXOUT_OVERWRITE, RECTIFIER_MAXOUT_ACCUMULATE);
        let good = [2u32, 0];
        let bad = [1u32, 3];
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), bad.as_ptr(), d, 2, 6, 3, il, ow),
            RECTIFIER_INDEX_OUT_OF_RANGE,
            &dx,
        );
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), bad.as_ptr(), d, 2, 6, 3, pl, acc),
            RECTIFIER_INDEX_OUT_OF_RANGE,
            &dx,
        );
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), core::ptr::null(), d, 2, 6, 3, il, ow),
            RECTIFIER_NULL_POINTER,
            &dx,
        );
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), good.as_ptr(), d, 2, 6, 3, il, 2),
            RECTIFIER_INVALID_ARGUMENT,
            &dx,
        );
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), good.as_ptr(), d, 2, 6, 0, il, ow),
            RECTIFIER_INVALID_SHAPE,
            &dx,
        );
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), good.as_ptr(), d, 2, 5, 3, il, ow),
            RECTIFIER_NOT_DIVISIBLE,
            &dx,
        );
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), good.as_ptr(), d, 2, 3, 3, il, ow),
            RECTIFIER_LENGTH_MISMATCH,
            &dx,
        );
        // dx overlapping dy or the indices.
        check(
            rectifier_maxout_backward_f32(d, good.as_ptr(), d.add(1), 2, 4, 2, il, ow),
            RECTIFIER_OVERLAP,
            &dx,
        );
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), d.cast_const().cast(), d, 2, 6, 3, il, ow),
            RECTIFIER_OVERLAP,
            &dx,
        );
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), good.as_ptr(), d, 2, 6, 3, il, ow),
            RECTIFIER_OK,
            &dx,
        );
        assert_eq!(dx, [0.0, 0.0, 1.5, -2.5, 0.0, 0.0]);
        check(
            rectifier_maxout_backward_f32(dy.as_ptr(), good.as_ptr(), d, 2, 6, 3, pl, acc),
            RECTIFIER_OK,
            &dx,
        );
        // Planar, G = 2: piece j of group g at j * 2 + g.
        assert_eq!(dx, [0.0, -2.5, 1.5, -2.5, 1.5, 0.0]);
    }
}
