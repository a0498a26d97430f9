//! Splitting large inputs across threads (`SPEC.md` section 6).
//!
//! A kernel that can be cut (the crate-private `Split` trait) is cut into chunks whose boundaries depend only on the
//! input's length and structure ([`chunk_len`]: a fixed number of elements, rounded to whole
//! channel periods / mask words and to 64-byte boundaries), never on the number of threads. The
//! chunks run through `rayon::join` (so inside the caller's pool when the call is made from
//! `ThreadPool::install`, else the global pool). Element-wise kernels compute every output
//! element independently of the others, so the results are bit-identical for any thread count
//! by construction; the tests check it anyway.
//!
//! Maxout is cut at whole groups: interleaved `z` / `dx` into runs of groups, planar ones into
//! ranges of groups (the same columns of every plane; about [`CHUNK_ELEMS`]` / k` groups, a
//! multiple of 16). Every group's result depends on that group alone. Maxout backward first
//! checks every index (itself in runs of indices across threads; the first bad index is the
//! error, for any thread count) and writes nothing on error, then writes `dx` chunk by chunk.
//!
//! Inputs below [`MIN_PARALLEL_ELEMS`] elements run on the calling thread without touching the
//! pool.

use crate::backend::Backend;
use crate::dispatch::{Kernel, run};

/// A kernel whose work can be cut into independent kernels at unit boundaries: elements for
/// most kernels; groups (columns across the `k` planes) for planar maxout, where each unit is
/// `k` elements.
#[cfg_attr(not(feature = "rayon"), allow(dead_code))]
pub(crate) trait Split: Sized {
    /// The number of units of the input.
    fn len(&self) -> usize;
    /// Cuts must be at multiples of this many units (a channel period, a mask word...).
    fn granule(&self) -> usize {
        1
    }
    /// Elements per unit (the threshold and the chunk length count elements).
    fn unit_elems(&self) -> usize {
        1
    }
    /// The kernels of units `..mid` and `mid..`. `mid` is a multiple of [`Split::granule`].
    fn split_at(self, mid: usize) -> (Self, Self);
}

/// Inputs with fewer elements run on the calling thread, without touching the pool.
///
/// Measured on this 2-core Zen 4 (quiet), `f32` on AVX-512, one thread against two with the
/// split forced down to 32 Ki elements: `relu`, `relu_inplace` and `relu_backward` gain nothing
/// up to 256 Ki elements (one [`CHUNK_ELEMS`] chunk: nothing to share), and 1.86x, 1.87x and
/// 1.91x at 512 Ki (two chunks); at 1 Mi the default build gives 1.83x, 1.66x and 2.03x
/// (`cargo run --release --example throughput -- --sizes 256Ki,512Ki,1Mi --threads 1,2
/// --ops relu,relu_inplace,relu_backward --dtypes f32`). Hence two chunks.
pub const MIN_PARALLEL_ELEMS: usize = 2 * CHUNK_ELEMS;

/// Target chunk length in elements.
pub const CHUNK_ELEMS: usize = 256 << 10;

/// The chunk length for `n` elements cut at multiples of `granule`: a multiple of `granule` and
/// of 16 elements (so chunk starts keep the 64-byte alignment of the buffer), about
/// [`CHUNK_ELEMS`]. Depends on the shape only.
pub fn chunk_len(granule: usize, _n: usize) -> usize {
    chunk_units(granule, 1)
}

/// The chunk length, in units of `unit_elems` elements each, of an input cut at multiples of
/// `granule` units: a multiple of `granule` and of 16 units, about [`CHUNK_ELEMS`] elements
/// (at least one granule). With `unit_elems = 1`, [`chunk_len`]. Planar maxout cuts its
/// groups (units of `k` elements) this way: 16 groups keep the 64-byte alignment of `f32`
/// planes whose group count is a multiple of 16. Depends on the shape only.
pub(crate) fn chunk_units(granule: usize, unit_elems: usize) -> usize {
    let unit = lcm(granule.max(1), 16);
    unit * CHUNK_ELEMS
        .div_ceil(unit_elems.max(1))
        .div_ceil(unit)
        .max(1)
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Least common multiple.
pub(crate) fn lcm(a: usize, b: usize) -> usize {
    a / gcd(a, b) * b
}

/// Runs `k` on `backend`, cut into chunks across threads when `parallel` and the input is
/// large enough; on the calling thread otherwise.
#[inline]
pub(crate) fn run_split<K>(backend: Backend, parallel: bool, k: K)
where
    K: Kernel<Output = ()> + Split + Send,
{
    #[cfg(feature = "rayon")]
    {
        if parallel && k.len().saturating_mul(k.unit_elems()) >= MIN_PARALLEL_ELEMS {
            let chunk = chunk_units(k.granule(), k.unit_elems());
            return run_chunks(backend, chunk, k);
        }
    }
    #[cfg(not(feature = "rayon"))]
    let _ = parallel;
    run(backend, k)
}

/// Divide and conquer at chunk boundaries: the cut points are multiples of `chunk`, so the
/// chunks are the same whatever the recursion and the number of threads.
#[cfg(feature = "rayon")]
fn run_chunks<K>(backend: Backend, chunk: usize, k: K)
where
    K: Kernel<Output = ()> + Split + Send,
{
    let chunks = k.len().div_ceil(chunk);
    if chunks <= 1 {
        return run(backend, k);
    }
    let (a, b) = k.split_at(chunks / 2 * chunk);
    rayon::join(
        || run_chunks(backend, chunk, a),
        || run_chunks(backend, chunk, b),
    );
}

/// Runs `k` cut into chunks of `chunk` elements across threads (as [`run_split`] does) and
/// appends the chunks' outputs to `out`, in the order of the chunks.
#[cfg(feature = "rayon")]
pub(crate) fn run_collect<K>(backend: Backend, chunk: usize, k: K, out: &mut Vec<K::Output>)
where
    K: Kernel + Split + Send,
    K::Output: Send,
{
    let chunks = k.len().div_ceil(chunk);
    if chunks <= 1 {
        out.push(run(backend, k));
        return;
    }
    let (a, b) = k.split_at(chunks / 2 * chunk);
    let mut right = Vec::new();
    rayon::join(
        || run_collect(backend, chunk, a, out),
        || run_collect(backend, chunk, b, &mut right),
    );
    out.append(&mut right);
}
