//! The C ABI: `extern "C"` functions for every public kernel, `f32`, `f64`, `bf16` and `f16`
//! (the half formats as `uint16_t` bit patterns; `bf16`/`f16` are `repr(transparent)`), with status codes,
//! boundary checks and no unwinding across the boundary. The C header `include/rectifier.h` is
//! generated from the same table (`src/ffi/table.rs`) by `build.rs`.
//!
//! # Naming
//! For each kernel `op` of the crate (`relu`, `prelu_backward_inplace`, ...):
//! - `rectifier_<op>_f32` / `_f64` / `_bf16` / `_f16` run on the active backend
//!   ([`crate::Backend::active`], what the crate's free functions use);
//! - `rectifier_<op>_f32_on` (and `_f64_on`, `_bf16_on`, `_f16_on`) take a `rectifier_backend` first and run
//!   on it (`RECTIFIER_BACKEND_AUTO`: the active one). An unsupported backend is
//!   `RECTIFIER_UNSUPPORTED_BACKEND`, never an illegal instruction.
//!
//! Every kernel returns a `rectifier_status` (`int32_t`; [`RECTIFIER_OK`] is 0). Enumerations
//! that cross the boundary (status, backend, subgradient, layout, maxout layout and grad mode)
//! are plain `int32_t` values and constants, never Rust enums: any integer a C caller passes is
//! a valid value of the parameter, and an unknown one is reported
//! ([`RECTIFIER_INVALID_ARGUMENT`]).
//!
//! # Checks, in order (nothing is written when any fails)
//! 1. the backend ([`RECTIFIER_INVALID_ARGUMENT`], [`RECTIFIER_UNSUPPORTED_BACKEND`]);
//! 2. each parameter in order: a buffer with a non-zero length must be non-NULL
//!    ([`RECTIFIER_NULL_POINTER`]), aligned to its element type
//!    ([`RECTIFIER_MISALIGNED_POINTER`]), and span at most `isize::MAX` bytes without wrapping
//!    around the address space ([`RECTIFIER_SIZE_OVERFLOW`]); an enumeration argument must have
//!    a known value ([`RECTIFIER_INVALID_ARGUMENT`]). A buffer of length 0 is never read or
//!    written and its pointer may be anything, NULL included;
//! 3. overlap: a buffer the function writes must not share a byte with any other buffer of the
//!    call ([`RECTIFIER_OVERLAP`]); buffers that are only read may overlap each other. The
//!    in-place functions (`*_inplace`) take one pointer for their in/out buffer, so exact
//!    aliasing is expressed by calling them, and the out-of-place ones reject it;
//! 4. the kernel's own validation (`SPEC.md` section 4), mapped one to one from [`Error`].
//!
//! Only then are slices made from the pointers and the kernel run.
//!
//! # Panics
//! Every entry point runs its body under [`std::panic::catch_unwind`] and returns
//! [`RECTIFIER_INTERNAL`] if anything panicked (a bug: no input is meant to panic), so no unwind
//! crosses the boundary. (Built with `panic = "abort"`, a panic aborts instead.)
//!
//! # Adding kernels
//! Add one row per kernel to `ffi_kernels!` in `src/ffi/table.rs`, naming its C parameters with
//! the kinds below and the [`crate::Rectifier`] method it calls; both the functions and the
//! header follow. A new [`Error`] variant needs a status in `ffi_enums!` (append, never
//! renumber) and an arm in `status_of` (the match is exhaustive, so the build says so).
//!
//! Parameter kinds: `In(len)` (`const T*`, read), `Out(len)` (`T*`, written, out of place),
//! `InOut(len)` (`T*`, read and written in place), `MaskIn(len)` / `MaskOut(len)`
//! (`const uint64_t*` / `uint64_t*`), `Count` (`size_t`), `Scalar` (the slope [`crate::Element::Slope`] by value: `T`, or `float` for the half formats), `Layout(spatial)`
//! (`rectifier_layout`, with the `size_t` parameter `spatial`), `Subgradient`
//! (`rectifier_subgradient`), `IndexIn(len)` / `IndexOut(len)` (`const uint32_t*` /
//! `uint32_t*`: maxout's argmax indices), `MaxoutLayout` (`rectifier_maxout_layout`) and
//! `GradMode` (`rectifier_maxout_grad_mode`). `len` names the `Count` parameter that is the
//! buffer's length in elements (words for masks). A new kind is one arm each in `ffi_ty!`,
//! `ffi_check!` and `ffi_make!` here and in `build.rs` (`kind_ty`, `kind_doc`).
//!
//! Maxout takes its group count `groups` explicitly (every buffer length is a named `Count`);
//! the kernel checks it against `n` and `k` (`n == groups * k`, else
//! [`RECTIFIER_NOT_DIVISIBLE`] or [`RECTIFIER_LENGTH_MISMATCH`]). Its indices are always
//! `uint32_t` in C, so a `k` above `2^32` is [`RECTIFIER_INDEX_TYPE_TOO_NARROW`].

#![allow(non_camel_case_types)]
#![allow(clippy::too_many_arguments)]

use core::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use half::{bf16, f16};

use crate::backend::{Backend, BackendSet};
use crate::dispatch::Rectifier;
use crate::error::Error;
use crate::layout::ChannelLayout;
use crate::ops::maxout::{MaxoutGradMode, MaxoutLayout};
use crate::subgradient::Subgradient;

macro_rules! ffi_enums {
    ($(
        $(#[doc = $edoc:literal])*
        enum $ename:ident {
            $( $(#[doc = $doc:literal])* $name:ident = $val:literal => $msg:literal, )*
        }
    )*) => {
        $(
            $(#[doc = $edoc])*
            ///
            /// An `int32_t` in C; the values are the constants of the same prefix.
            pub type $ename = i32;
            $( $(#[doc = $doc])* pub const $name: $ename = $val; )*
        )*

        /// The NUL-terminated text of value `v` of the enumeration named `e` (message for
        /// statuses, name for the others).
        fn enum_text(e: &str, v: i32) -> Option<&'static str> {
            $(
                if e == stringify!($ename) {
                    return match v {
                        $( $val => Some(concat!($msg, "\0")), )*
                        _ => None,
                    };
                }
            )*
            None
        }

        $( paste::paste! {
            #[doc = concat!("Every value of `", stringify!($ename), "`, in order.")]
            pub const [<$ename:upper _VALUES>]: &[$ename] = &[$($name),*];
        } )*
    };
}

/// The C type of a parameter of kind `$kind` with element type `$T`.
macro_rules! ffi_ty {
    (In, $T:ty) => { *const $T };
    (Out, $T:ty) => { *mut $T };
    (InOut, $T:ty) => { *mut $T };
    (MaskIn, $T:ty) => { *const u64 };
    (MaskOut, $T:ty) => { *mut u64 };
    (Count, $T:ty) => { usize };
    (Scalar, $T:ty) => { <$T as $crate::Element>::Slope };
    (Layout, $T:ty) => { rectifier_layout };
    (Subgradient, $T:ty) => { rectifier_subgradient };
    (IndexIn, $T:ty) => { *const u32 };
    (IndexOut, $T:ty) => { *mut u32 };
    (MaxoutLayout, $T:ty) => { rectifier_maxout_layout };
    (GradMode, $T:ty) => { rectifier_maxout_grad_mode };
}

/// The boundary check of one parameter: buffers are checked and recorded in `$regions`;
/// enumerations are converted (shadowing the raw value) or rejected.
macro_rules! ffi_check {
    (In, $T:ty, $p:ident, $regions:ident, $len:ident) => {
        $regions.check::<$T>($p, $len, false)?;
    };
    (Out, $T:ty, $p:ident, $regions:ident, $len:ident) => {
        $regions.check::<$T>($p.cast_const(), $len, true)?;
    };
    (InOut, $T:ty, $p:ident, $regions:ident, $len:ident) => {
        $regions.check::<$T>($p.cast_const(), $len, true)?;
    };
    (MaskIn, $T:ty, $p:ident, $regions:ident, $len:ident) => {
        $regions.check::<u64>($p, $len, false)?;
    };
    (MaskOut, $T:ty, $p:ident, $regions:ident, $len:ident) => {
        $regions.check::<u64>($p.cast_const(), $len, true)?;
    };
    (Count, $T:ty, $p:ident, $regions:ident) => {};
    (Scalar, $T:ty, $p:ident, $regions:ident) => {};
    (Layout, $T:ty, $p:ident, $regions:ident, $spatial:ident) => {
        let $p = layout_of($p, $spatial)?;
    };
    (Subgradient, $T:ty, $p:ident, $regions:ident) => {
        let $p = subgradient_of($p)?;
    };
    (IndexIn, $T:ty, $p:ident, $regions:ident, $len:ident) => {
        $regions.check::<u32>($p, $len, false)?;
    };
    (IndexOut, $T:ty, $p:ident, $regions:ident, $len:ident) => {
        $regions.check::<u32>($p.cast_const(), $len, true)?;
    };
    (MaxoutLayout, $T:ty, $p:ident, $regions:ident) => {
        let $p = maxout_layout_of($p)?;
    };
    (GradMode, $T:ty, $p:ident, $regions:ident) => {
        let $p = grad_mode_of($p)?;
    };
}

/// The slice of one buffer parameter, made after every check of the call has passed (other
/// parameters are used as they are, or as `ffi_check!` converted them).
macro_rules! ffi_make {
    (In, $T:ty, $p:ident, $len:ident) => {
        // SAFETY: `Regions::check` proved `$p` non-null (or `$len == 0`, which gives `&[]`),
        // aligned for `$T`, and `$len * size_of::<$T>() <= isize::MAX` without wrapping;
        // `check_overlap` proved that no buffer written by this call shares a byte with it, so
        // no `&mut` made below aliases it. That the memory is allocated, initialized and not
        // written by anyone else during the call is the caller's contract (`# Safety`); every
        // bit pattern is a valid `$T`.
        let $p = unsafe { slice_ref::<$T>($p, $len) };
    };
    (Out, $T:ty, $p:ident, $len:ident) => {
        // SAFETY: as for `In`, and the overlap check proved this buffer disjoint from every
        // other buffer of the call, so this `&mut` is the only reference to its bytes.
        let $p = unsafe { slice_mut::<$T>($p, $len) };
    };
    (InOut, $T:ty, $p:ident, $len:ident) => {
        // SAFETY: as for `Out`.
        let $p = unsafe { slice_mut::<$T>($p, $len) };
    };
    (MaskIn, $T:ty, $p:ident, $len:ident) => {
        // SAFETY: as for `In`, with `u64` elements.
        let $p = unsafe { slice_ref::<u64>($p, $len) };
    };
    (MaskOut, $T:ty, $p:ident, $len:ident) => {
        // SAFETY: as for `Out`, with `u64` elements.
        let $p = unsafe { slice_mut::<u64>($p, $len) };
    };
    (IndexIn, $T:ty, $p:ident, $len:ident) => {
        // SAFETY: as for `In`, with `u32` elements.
        let $p = unsafe { slice_ref::<u32>($p, $len) };
    };
    (IndexOut, $T:ty, $p:ident, $len:ident) => {
        // SAFETY: as for `Out`, with `u32` elements.
        let $p = unsafe { slice_mut::<u32>($p, $len) };
    };
    ($kind:ident, $T:ty, $p:ident $(, $len:ident)?) => {};
}

macro_rules! ffi_kernel {
    ($T:ident, $op:ident, [$($doc:literal)*],
     ($($p:ident : $kind:ident $(($len:ident))?),*), $method:ident ($($arg:ident),*)) => {
        paste::paste! {
            $(#[doc = $doc])*
            ///
            #[doc = concat!("On `", stringify!($T), "` elements, on the active backend. ",
                "Returns `RECTIFIER_OK` or the reason nothing was written (see the module docs ",
                "for the checks and their order).")]
            ///
            /// # Safety
            /// Every pointer with a non-zero length must be valid for reads (inputs) or reads and
            /// writes (outputs) of that many initialized elements, and no other thread may write
            /// (or, for outputs, read) that memory during the call. NULL, misaligned, oversized
            /// and overlapping buffers are detected and reported, not undefined.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn [<rectifier_ $op _ $T>](
                $($p: ffi_ty!($kind, $T)),*
            ) -> rectifier_status {
                // SAFETY: the caller's contract is the same, and is passed on unchanged.
                unsafe { [<rectifier_ $op _ $T _on>](RECTIFIER_BACKEND_AUTO, $($p),*) }
            }

            $(#[doc = $doc])*
            ///
            #[doc = concat!("On `", stringify!($T), "` elements, on `backend` ",
                "(`RECTIFIER_BACKEND_AUTO`: the active one).")]
            ///
            /// # Safety
            #[doc = concat!("As [`rectifier_", stringify!($op), "_", stringify!($T), "`].")]
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn [<rectifier_ $op _ $T _on>](
                backend: rectifier_backend,
                $($p: ffi_ty!($kind, $T)),*
            ) -> rectifier_status {
                guard(|| {
                    let rect = rectifier_on(backend)?;
                    let mut regions = Regions::new();
                    $( ffi_check!($kind, $T, $p, regions $(, $len)?); )*
                    regions.check_overlap()?;
                    $( ffi_make!($kind, $T, $p $(, $len)?); )*
                    rect.$method($($arg),*).map_err(|e| status_of(&e))
                })
            }
        }
    };
}

macro_rules! ffi_kernels {
    ($(
        $(#[doc = $doc:literal])*
        $op:ident ( $( $p:ident : $kind:ident $(($len:ident))? ),* $(,)? )
            => $method:ident ( $($arg:ident),* $(,)? );
    )*) => {
        $(
            ffi_kernel!(f32, $op, [$($doc)*], ($($p : $kind $(($len))?),*), $method ($($arg),*));
            ffi_kernel!(f64, $op, [$($doc)*], ($($p : $kind $(($len))?),*), $method ($($arg),*));
            ffi_kernel!(bf16, $op, [$($doc)*], ($($p : $kind $(($len))?),*), $method ($($arg),*));
            ffi_kernel!(f16, $op, [$($doc)*], ($($p : $kind $(($len))?),*), $method ($($arg),*));
        )*

        /// The kernel names of the C ABI, in table order (`"relu"`, ...): each has
        /// `rectifier_<name>_f32`, `_f64`, `_bf16`, `_f16`, and each with `_on`.
        pub const KERNELS: &[&str] = &[$(stringify!($op)),*];
    };
}

macro_rules! ffi_functions {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident ( $($p:ident : $ty:ty),* ) -> $ret:ty $body:block
    )*) => {
        $(
            $(#[doc = $doc])*
            #[unsafe(no_mangle)]
            pub extern "C" fn $name($($p: $ty),*) -> $ret $body
        )*
    };
}

include!("table.rs");

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the version contains a NUL"),
    };

/// The status code of a kernel error (one code per [`Error`] variant).
pub fn status_of(e: &Error) -> rectifier_status {
    match e {
        Error::LengthMismatch { .. } => RECTIFIER_LENGTH_MISMATCH,
        Error::NotDivisible { .. } => RECTIFIER_NOT_DIVISIBLE,
        Error::NonFiniteSlope { .. } => RECTIFIER_NON_FINITE_SLOPE,
        Error::InvalidShape { .. } => RECTIFIER_INVALID_SHAPE,
        Error::FromOutputSubgradient { .. } => RECTIFIER_FROM_OUTPUT_SUBGRADIENT,
        Error::FromOutputSlope { .. } => RECTIFIER_FROM_OUTPUT_SLOPE,
        Error::UnsupportedBackend { .. } => RECTIFIER_UNSUPPORTED_BACKEND,
        Error::Misaligned { .. } => RECTIFIER_MISALIGNED_POINTER,
        Error::IndexTypeTooNarrow { .. } => RECTIFIER_INDEX_TYPE_TOO_NARROW,
        Error::IndexOutOfRange { .. } => RECTIFIER_INDEX_OUT_OF_RANGE,
    }
}

/// The message of a status code (as `rectifier_status_message`, without the NUL).
pub fn status_message(status: rectifier_status) -> &'static str {
    let m = enum_text("rectifier_status", status).unwrap_or("unknown status code\0");
    &m[..m.len() - 1]
}

fn status_message_ptr(status: rectifier_status) -> *const c_char {
    enum_text("rectifier_status", status)
        .unwrap_or("unknown status code\0")
        .as_ptr()
        .cast()
}

fn backend_name_ptr(backend: rectifier_backend) -> *const c_char {
    enum_text("rectifier_backend", backend).map_or(core::ptr::null(), |s| s.as_ptr().cast())
}

/// The `rectifier_backend` value of a backend.
pub const fn backend_code(b: Backend) -> rectifier_backend {
    match b {
        Backend::Scalar => RECTIFIER_BACKEND_SCALAR,
        Backend::Avx2 => RECTIFIER_BACKEND_AVX2,
        Backend::Avx512 => RECTIFIER_BACKEND_AVX512,
        Backend::Neon => RECTIFIER_BACKEND_NEON,
    }
}

fn backend_bits(s: BackendSet) -> u32 {
    s.iter().fold(0, |acc, b| acc | 1 << backend_code(b))
}

fn rectifier_on(backend: rectifier_backend) -> Result<Rectifier, rectifier_status> {
    let b = match backend {
        RECTIFIER_BACKEND_AUTO => return Ok(Rectifier::auto()),
        RECTIFIER_BACKEND_SCALAR => Backend::Scalar,
        RECTIFIER_BACKEND_AVX2 => Backend::Avx2,
        RECTIFIER_BACKEND_AVX512 => Backend::Avx512,
        RECTIFIER_BACKEND_NEON => Backend::Neon,
        _ => return Err(RECTIFIER_INVALID_ARGUMENT),
    };
    Rectifier::new(b).map_err(|e| status_of(&e))
}

fn layout_of(layout: rectifier_layout, spatial: usize) -> Result<ChannelLayout, rectifier_status> {
    match layout {
        RECTIFIER_LAYOUT_CHANNELS_LAST => Ok(ChannelLayout::ChannelsLast),
        RECTIFIER_LAYOUT_CHANNELS_FIRST => Ok(ChannelLayout::ChannelsFirst { spatial }),
        _ => Err(RECTIFIER_INVALID_ARGUMENT),
    }
}

fn maxout_layout_of(l: rectifier_maxout_layout) -> Result<MaxoutLayout, rectifier_status> {
    match l {
        RECTIFIER_MAXOUT_INTERLEAVED => Ok(MaxoutLayout::Interleaved),
        RECTIFIER_MAXOUT_PLANAR => Ok(MaxoutLayout::Planar),
        _ => Err(RECTIFIER_INVALID_ARGUMENT),
    }
}

fn grad_mode_of(m: rectifier_maxout_grad_mode) -> Result<MaxoutGradMode, rectifier_status> {
    match m {
        RECTIFIER_MAXOUT_OVERWRITE => Ok(MaxoutGradMode::Overwrite),
        RECTIFIER_MAXOUT_ACCUMULATE => Ok(MaxoutGradMode::Accumulate),
        _ => Err(RECTIFIER_INVALID_ARGUMENT),
    }
}

fn subgradient_of(s: rectifier_subgradient) -> Result<Subgradient, rectifier_status> {
    match s {
        RECTIFIER_SUBGRADIENT_LEFT => Ok(Subgradient::Left),
        RECTIFIER_SUBGRADIENT_RIGHT => Ok(Subgradient::Right),
        _ => Err(RECTIFIER_INVALID_ARGUMENT),
    }
}

/// Runs `f`, turning a panic into [`RECTIFIER_INTERNAL`]. The panic payload is leaked rather
/// than dropped: its destructor could panic again, outside `catch_unwind`.
fn guard(f: impl FnOnce() -> Result<(), rectifier_status>) -> rectifier_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => RECTIFIER_OK,
        Ok(Err(status)) => status,
        Err(payload) => {
            core::mem::forget(payload);
            RECTIFIER_INTERNAL
        }
    }
}

/// Runs `f`, returning `fallback` if it panicked (for the query functions).
fn guard_value<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            core::mem::forget(payload);
            fallback
        }
    }
}

/// The test hook for [`guard`]: runs a closure that panics, through the same path as every
/// entry point. Returns [`RECTIFIER_INTERNAL`].
#[doc(hidden)]
pub fn guard_panic_for_tests() -> rectifier_status {
    guard(|| panic!("rectifier: deliberate panic (test of the C boundary guard)"))
}

/// The byte range of one non-empty buffer of a call, and whether the call writes it.
#[derive(Clone, Copy)]
struct Region {
    start: usize,
    end: usize,
    written: bool,
}

/// The buffers of one call (at most 8: the widest kernel has 5).
struct Regions {
    list: [Region; 8],
    len: usize,
}

impl Regions {
    fn new() -> Regions {
        Regions {
            list: [Region {
                start: 0,
                end: 0,
                written: false,
            }; 8],
            len: 0,
        }
    }

    /// Checks one buffer of `len` elements of `T` at `p` and records its byte range.
    fn check<T>(&mut self, p: *const T, len: usize, written: bool) -> Result<(), rectifier_status> {
        if len == 0 {
            return Ok(()); // never dereferenced: `slice_ref`/`slice_mut` give an empty slice
        }
        if p.is_null() {
            return Err(RECTIFIER_NULL_POINTER);
        }
        if !p.is_aligned() {
            return Err(RECTIFIER_MISALIGNED_POINTER);
        }
        let bytes = len
            .checked_mul(size_of::<T>())
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or(RECTIFIER_SIZE_OVERFLOW)?;
        let start = p.addr();
        let end = start.checked_add(bytes).ok_or(RECTIFIER_SIZE_OVERFLOW)?;
        // More buffers than slots would be a bug in the table: a panic, caught by `guard`.
        self.list[self.len] = Region {
            start,
            end,
            written,
        };
        self.len += 1;
        Ok(())
    }

    /// [`RECTIFIER_OVERLAP`] if a written buffer shares a byte with any other buffer.
    fn check_overlap(&self) -> Result<(), rectifier_status> {
        let list = &self.list[..self.len];
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                if (a.written || b.written) && a.start < b.end && b.start < a.end {
                    return Err(RECTIFIER_OVERLAP);
                }
            }
        }
        Ok(())
    }
}

/// `&[]` for `len == 0` (whatever `p` is), else the slice at `p`.
///
/// # Safety
/// For `len > 0`: `p` is non-null, aligned, valid for reads of `len` initialized `T`s, spans at
/// most `isize::MAX` bytes, and is not written through any other reference during `'a`.
unsafe fn slice_ref<'a, T>(p: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: the caller's contract above is exactly `from_raw_parts`'s.
        unsafe { core::slice::from_raw_parts(p, len) }
    }
}

/// `&mut []` for `len == 0` (whatever `p` is), else the slice at `p`.
///
/// # Safety
/// As [`slice_ref`], valid for writes too, and not accessed through any other reference during
/// `'a`.
unsafe fn slice_mut<'a, T>(p: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 {
        &mut []
    } else {
        // SAFETY: the caller's contract above is exactly `from_raw_parts_mut`'s.
        unsafe { core::slice::from_raw_parts_mut(p, len) }
    }
}
