// The C functions of the ABI's table, called from Rust by name: `<T as CallC>::call_c(op,
// backend, raw)` calls `rectifier_<op>_<T>_on(backend, ...)` with the arguments its row names,
// taken from a `Raw`; `SIGNATURES` lists each row's parameters (name, kind, length parameter).
// Generated from `src/ffi/table.rs` like the functions themselves, so a new row is callable
// without edits (a new parameter name or kind needs an `arg!` arm).
//
// `include!`d by `tests/ffi.rs` and by the fuzz harness (`fuzz/src/harness.rs`, also replayed
// by `tests/fuzz_corpus.rs`), in a scope that has `use rectifier::ffi::*;`.

use rectifier::{bf16, f16};

/// One parameter of a C kernel: its name, its kind (`In`, `Count`, ...) and the name of the
/// `Count` parameter that is its length (buffers only).
pub type Param = (&'static str, &'static str, Option<&'static str>);

/// `Some("len")` for a buffer parameter `p: Kind(len)`, `None` for the others.
macro_rules! len_name {
    () => {
        None
    };
    ($len:ident) => {
        Some(stringify!($len))
    };
}

/// The pointers and scalars of one C call (each function takes the ones it names).
#[derive(Clone, Copy)]
pub struct Raw<T: rectifier::Element> {
    pub src: *const T,
    pub dst: *mut T,
    pub z: *const T,
    pub da: *mut T,
    pub mask: *mut u64,
    pub slopes: *const T,
    pub n: usize,
    pub channels: usize,
    pub mask_words: usize,
    pub spatial: usize,
    pub slope: T::Slope,
    pub layout: rectifier_layout,
    pub sub: rectifier_subgradient,
    pub indices: *mut u32,
    pub groups: usize,
    pub k: usize,
    pub maxout_layout: rectifier_maxout_layout,
    pub grad_mode: rectifier_maxout_grad_mode,
}

/// The argument of C parameter `$p` (of kind `$kind`) taken from `$r`.
macro_rules! arg {
    (In, src, $r:ident) => {
        $r.src
    };
    (In, dy, $r:ident) => {
        $r.src
    };
    (In, z, $r:ident) => {
        $r.z
    };
    (In, y, $r:ident) => {
        $r.z
    };
    (In, slopes, $r:ident) => {
        $r.slopes
    };
    (Out, dst, $r:ident) => {
        $r.dst
    };
    (Out, dx, $r:ident) => {
        $r.dst
    };
    (Out, values, $r:ident) => {
        $r.dst
    };
    (IndexIn, indices, $r:ident) => {
        $r.indices.cast_const()
    };
    (IndexOut, indices, $r:ident) => {
        $r.indices
    };
    (Count, groups, $r:ident) => {
        $r.groups
    };
    (Count, k, $r:ident) => {
        $r.k
    };
    (MaxoutLayout, layout, $r:ident) => {
        $r.maxout_layout
    };
    (GradMode, mode, $r:ident) => {
        $r.grad_mode
    };
    (Out, da, $r:ident) => {
        $r.da
    };
    (InOut, $p:ident, $r:ident) => {
        $r.dst
    };
    (MaskIn, mask, $r:ident) => {
        $r.mask.cast_const()
    };
    (MaskOut, mask, $r:ident) => {
        $r.mask
    };
    (Count, n, $r:ident) => {
        $r.n
    };
    (Count, channels, $r:ident) => {
        $r.channels
    };
    (Count, mask_words, $r:ident) => {
        $r.mask_words
    };
    (Count, spatial, $r:ident) => {
        $r.spatial
    };
    (Scalar, slope, $r:ident) => {
        $r.slope
    };
    (Layout, layout, $r:ident) => {
        $r.layout
    };
    (Subgradient, subgradient, $r:ident) => {
        $r.sub
    };
}

pub trait CallC: rectifier::Element {
    /// Calls `rectifier_<op>_<T>_on(backend, ...)`.
    ///
    /// # Safety
    /// The C function's contract: every pointer it takes with a non-zero length is valid for
    /// that many elements (or is rejected by its boundary checks before any access).
    unsafe fn call_c(op: &str, backend: rectifier_backend, r: Raw<Self>) -> rectifier_status;
}

macro_rules! ffi_enums {
    ($($t:tt)*) => {};
}
macro_rules! ffi_functions {
    ($($t:tt)*) => {};
}
/// `CallC` for element type `$t`: `rectifier_<op>_<t>_on` by name.
macro_rules! impl_call_c {
    ($t:ident, [$( $op:ident ( $($p:ident : $kind:ident),* ) )*]) => {
        impl CallC for $t {
            unsafe fn call_c(op: &str, backend: rectifier_backend, r: Raw<$t>) -> rectifier_status {
                paste::paste! { match op {
                    // SAFETY: the caller's contract.
                    $( stringify!($op) => unsafe {
                        [<rectifier_ $op _ $t _on>](backend, $(arg!($kind, $p, r)),*)
                    }, )*
                    _ => panic!("no C function for {op}"),
                } }
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
        /// The kernel names of the table, in order.
        #[allow(dead_code)]
        pub const TABLE: &[&str] = &[$(stringify!($op)),*];
        /// The parameters of each kernel of the table, in order.
        #[allow(dead_code)]
        pub const SIGNATURES: &[(&str, &[Param])] = &[$(
            (stringify!($op), &[$((stringify!($p), stringify!($kind), len_name!($($len)?))),*]),
        )*];
        impl_call_c!(f32, [$( $op ( $($p : $kind),* ) )*]);
        impl_call_c!(f64, [$( $op ( $($p : $kind),* ) )*]);
        impl_call_c!(bf16, [$( $op ( $($p : $kind),* ) )*]);
        impl_call_c!(f16, [$( $op ( $($p : $kind),* ) )*]);
    };
}

include!("../../src/ffi/table.rs");

