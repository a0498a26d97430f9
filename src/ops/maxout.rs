//! Maxout (`SPEC.md` sections 2 and 3): forward with indices, values only, and backward, as
//! methods of [`Rectifier`] and free functions on the active backend.

use crate::dispatch::Rectifier;
use crate::element::Element;
use crate::error::{Error, check_len};
use crate::kernels::maxout::{
    MaxoutBackwardKernel, MaxoutGrad, MaxoutIndexCheck, MaxoutKernel, PlanesMut,
};

/// Where the `k` pieces of a maxout group are in memory (`G` groups, `z.len() = G * k`).
///
/// ```
/// use rectifier::MaxoutLayout;
/// // G = 3 groups of k = 2: piece 1 of group 2.
/// assert_eq!(MaxoutLayout::Interleaved.position(2, 1, 2, 3), 5); // z[g * k + j]
/// assert_eq!(MaxoutLayout::Planar.position(2, 1, 2, 3), 5); // z[j * G + g]
/// assert_eq!(MaxoutLayout::Planar.position(0, 1, 2, 3), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaxoutLayout {
    /// Group `g` is `z[g*k .. (g+1)*k]` (the `[G, k]` row-major view, `torch` `view(-1, k)`).
    Interleaved,
    /// Piece `j` of group `g` is `z[j*G + g]`: `k` planes of `G` values (the outputs of `k`
    /// separate linear maps, one after the other).
    Planar,
}

impl MaxoutLayout {
    /// The position in `z` (or `dx`) of piece `j` of group `g`, for `groups` groups of `k`.
    #[inline]
    pub fn position(self, g: usize, j: usize, k: usize, groups: usize) -> usize {
        crate::reference::maxout_position(self, g, j, k, groups)
    }

    /// The name used by the report: `"interleaved"` or `"planar"`.
    pub const fn name(self) -> &'static str {
        match self {
            MaxoutLayout::Interleaved => "interleaved",
            MaxoutLayout::Planar => "planar",
        }
    }
}

/// How the maxout backward pass writes `dx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaxoutGradMode {
    /// `dx[g, indices[g]] = dy[g]` (bits kept), every other element of the group `+0`.
    Overwrite,
    /// `dx[g, indices[g]] += dy[g]` (one IEEE addition, NaN operands by x86's rule: a NaN `dx`
    /// wins over a NaN `dy`, quieted; see [`crate::reference::add`]); the other elements are
    /// not touched (adding their `+0` gradient is skipped, so a `-0` there stays `-0`).
    Accumulate,
}

pub(crate) mod private {
    use super::{Element, IndexedTable};
    use crate::ops::Entries;

    pub trait Sealed: Sized + 'static {
        /// The entry points of the maxout methods with `Self` indices, in `T`'s table.
        fn indexed<T: Element>(e: &'static Entries<T>) -> &'static IndexedTable<T, Self>;
        /// The same slice as `u32`s when `Self` is `u32`, else `None`.
        fn as_u32s(s: &mut [Self]) -> Option<&mut [u32]>;
    }
}

/// An integer type for maxout indices: `u32`, or `u16` / `u8` to save memory when `k` fits
/// (checked: a `k` the type cannot hold is [`Error::IndexTypeTooNarrow`], never a truncation).
/// Sealed.
pub trait MaxoutIndex:
    private::Sealed + Copy + Default + Send + Sync + core::fmt::Debug + 'static
{
    /// `"u8"`, `"u16"` or `"u32"`.
    const NAME: &'static str;
    /// The largest group size whose positions `0..k` the type holds.
    const MAX_K: usize;
    /// From a position `< MAX_K`.
    fn from_usize(i: usize) -> Self;
    /// From a lane of a SIMD index vector, known `< MAX_K`.
    fn from_u64(i: u64) -> Self;
    /// As a position.
    fn to_usize(self) -> usize;
    /// As a `u32` (lossless).
    fn to_u32(self) -> u32;
}

macro_rules! impl_index {
    ($($t:ident)*) => {$( paste::paste! {
        impl private::Sealed for $t {
            #[inline]
            fn indexed<T: Element>(e: &'static crate::ops::Entries<T>) -> &'static IndexedTable<T, $t> {
                &e.[<maxout_ $t>]
            }
            #[inline(always)]
            fn as_u32s(s: &mut [$t]) -> Option<&mut [u32]> {
                // Only `u32` is 4 bytes wide, and a `u32` slice casts to itself.
                if size_of::<$t>() == 4 {
                    bytemuck::try_cast_slice_mut(s).ok()
                } else {
                    None
                }
            }
        }
        impl MaxoutIndex for $t {
            const NAME: &'static str = stringify!($t);
            const MAX_K: usize = $t::MAX as usize + 1;
            #[inline(always)]
            fn from_usize(i: usize) -> $t {
                i as $t
            }
            #[inline(always)]
            fn from_u64(i: u64) -> $t {
                i as $t
            }
            #[inline(always)]
            fn to_usize(self) -> usize {
                self as usize
            }
            #[inline(always)]
            fn to_u32(self) -> u32 {
                self as u32
            }
        }
    })*};
}
impl_index!(u8 u16 u32);

/// `k >= 1` and (when an index type is involved) `k <= I::MAX_K`.
fn check_k<I: MaxoutIndex>(k: usize, with_indices: bool) -> Result<(), Error> {
    if k == 0 {
        return Err(Error::InvalidShape {
            what: "k",
            expected: "a group size k >= 1",
            actual: 0,
        });
    }
    if with_indices && k > I::MAX_K {
        return Err(Error::IndexTypeTooNarrow {
            index_type: I::NAME,
            max_k: I::MAX_K,
            k,
        });
    }
    Ok(())
}

/// `len` a multiple of `k`; returns the group count.
fn groups_of(what: &'static str, len: usize, k: usize) -> Result<usize, Error> {
    if len.is_multiple_of(k) {
        Ok(len / k)
    } else {
        Err(Error::NotDivisible {
            what,
            len,
            divisor: k,
            divisor_name: "k",
        })
    }
}

/// Every index `< k`, or the first group whose index is not (`indices[0]` is group `start`).
/// One pass that the compiler vectorises (a max in the index's width, then a search only on
/// failure). Called by [`MaxoutIndexCheck`], inside the SIMD region, before anything is written.
#[inline(always)]
pub(crate) fn check_indices<I: MaxoutIndex>(
    indices: &[I],
    k: usize,
    start: usize,
) -> Result<(), Error> {
    let max = indices.iter().fold(0u32, |m, &i| m.max(i.to_u32()));
    if indices.is_empty() || (max as usize) < k {
        return Ok(());
    }
    let group = indices
        .iter()
        .position(|&i| i.to_usize() >= k)
        .expect("an index >= k exists");
    Err(Error::IndexOutOfRange {
        group: start + group,
        index: indices[group].to_usize(),
        k,
    })
}

/// [`check_indices`] of a whole call on `r`: across threads for many indices (in runs of
/// [`crate::parallel::CHUNK_ELEMS`]; the first failing run's error, so the same error for any
/// thread count), else on the calling thread.
fn check_indices_on<I: MaxoutIndex>(r: Rectifier, indices: &[I], k: usize) -> Result<(), Error> {
    let check = MaxoutIndexCheck {
        indices,
        k,
        start: 0,
    };
    #[cfg(feature = "rayon")]
    {
        use crate::parallel::{CHUNK_ELEMS, MIN_PARALLEL_ELEMS, run_collect};
        if r.is_multi_threaded() && indices.len() >= MIN_PARALLEL_ELEMS {
            let mut parts = Vec::new();
            run_collect(r.backend(), CHUNK_ELEMS, check, &mut parts);
            return parts.into_iter().collect();
        }
    }
    r.run_single(check)
}

/// The maxout entry points with an index type `I` for one element type (see `entry_points!`).
#[allow(clippy::type_complexity)]
pub struct IndexedTable<T: Element, I: 'static> {
    maxout: fn(Rectifier, &[T], usize, MaxoutLayout, &mut [T], &mut [I]) -> Result<(), Error>,
    maxout_backward: fn(
        Rectifier,
        &[T],
        &[I],
        usize,
        MaxoutLayout,
        &mut [T],
        MaxoutGradMode,
    ) -> Result<(), Error>,
}

impl<T: Element, I: MaxoutIndex> IndexedTable<T, I> {
    /// The bodies, instantiated for `T` and `I`.
    pub(crate) const NEW: Self = IndexedTable {
        maxout: Rectifier::maxout_body::<T, I>,
        maxout_backward: Rectifier::maxout_backward_body::<T, I>,
    };
}

impl Rectifier {
    /// Maxout forward: for each of the `G = z.len() / k` groups of `layout`, `values[g]` is the
    /// group's maximum and `indices[g]` its position in the group (`0..k`). The first NaN of a
    /// group wins (bits kept); otherwise the earliest maximal element (ties, `-0` vs `+0`
    /// included, go to the earliest position). Equals `torch.max(z.view(-1, k), dim=1)` for the
    /// interleaved layout.
    ///
    /// Errors (nothing written): `k == 0`, `k` too large for `I`, `z.len()` not a multiple of
    /// `k`, `values` or `indices` not of length `G`.
    #[inline]
    pub fn maxout<T: Element, I: MaxoutIndex>(
        self,
        z: &[T],
        k: usize,
        layout: MaxoutLayout,
        values: &mut [T],
        indices: &mut [I],
    ) -> Result<(), Error> {
        (I::indexed(T::entries()).maxout)(self, z, k, layout, values, indices)
    }

    /// Maxout backward: `dx` (`G * k` elements in `layout`) from the upstream gradient `dy`
    /// (`G`) and the forward pass's `indices` (`G`), by `mode` ([`MaxoutGradMode`]).
    ///
    /// Errors (nothing written): `k == 0`, `k` too large for `I`, `dx.len()` not a multiple of
    /// `k`, `dy` or `indices` not of length `G = dx.len() / k`, an index `>= k`.
    #[inline]
    pub fn maxout_backward<T: Element, I: MaxoutIndex>(
        self,
        dy: &[T],
        indices: &[I],
        k: usize,
        layout: MaxoutLayout,
        dx: &mut [T],
        mode: MaxoutGradMode,
    ) -> Result<(), Error> {
        (I::indexed(T::entries()).maxout_backward)(self, dy, indices, k, layout, dx, mode)
    }

    fn maxout_body<T: Element, I: MaxoutIndex>(
        self,
        z: &[T],
        k: usize,
        layout: MaxoutLayout,
        values: &mut [T],
        indices: &mut [I],
    ) -> Result<(), Error> {
        check_k::<I>(k, true)?;
        let groups = groups_of("z", z.len(), k)?;
        check_len("values", groups, values.len())?;
        check_len("indices", groups, indices.len())?;
        self.run(MaxoutKernel {
            z,
            k,
            layout,
            stride: groups,
            values,
            indices: Some(indices),
        });
        Ok(())
    }

    fn maxout_backward_body<T: Element, I: MaxoutIndex>(
        self,
        dy: &[T],
        indices: &[I],
        k: usize,
        layout: MaxoutLayout,
        dx: &mut [T],
        mode: MaxoutGradMode,
    ) -> Result<(), Error> {
        check_k::<I>(k, true)?;
        let groups = groups_of("dx", dx.len(), k)?;
        check_len("dy", groups, dy.len())?;
        check_len("indices", groups, indices.len())?;
        // Every index first, before anything is written (a kernel, so that the check is
        // compiled for the backend's ISA); then the writes, split across threads where large.
        check_indices_on(self, indices, k)?;
        let whole_bytes = size_of_val(dx);
        let dx = match layout {
            MaxoutLayout::Interleaved => MaxoutGrad::Interleaved(dx),
            MaxoutLayout::Planar => MaxoutGrad::Planar(PlanesMut::new(dx, k)),
        };
        self.run(MaxoutBackwardKernel {
            dy,
            indices,
            k,
            dx,
            mode,
            whole_bytes,
        });
        Ok(())
    }
}

entry_points! {
    Table in maxout;

    /// Maxout forward, values only (inference): [`Rectifier::maxout`] without the indices.
    pub fn maxout_values<T: Element>(
        self,
        z: &[T],
        k: usize,
        layout: MaxoutLayout,
        values: &mut [T],
    ) -> Result<(), Error> {
        check_k::<u32>(k, false)?;
        let groups = groups_of("z", z.len(), k)?;
        check_len("values", groups, values.len())?;
        self.run(MaxoutKernel::<T, u32> {
            z,
            k,
            layout,
            stride: groups,
            values,
            indices: None,
        });
        Ok(())
    }
}

/// Maxout forward on the active backend: see [`Rectifier::maxout`].
///
/// ```
/// use rectifier::MaxoutLayout;
/// let z = [1.0f32, 3.0, -0.0, 0.0, f32::NAN, 9.0];
/// let (mut v, mut i) = ([0.0f32; 3], [0u8; 3]);
/// rectifier::maxout(&z, 2, MaxoutLayout::Interleaved, &mut v, &mut i)?;
/// assert_eq!(i, [1, 0, 0]); // -0 vs +0: the earliest; a NaN wins
/// assert_eq!(v[1].to_bits(), (-0.0f32).to_bits());
/// assert!(v[2].is_nan());
/// # Ok::<(), rectifier::Error>(())
/// ```
pub fn maxout<T: Element, I: MaxoutIndex>(
    z: &[T],
    k: usize,
    layout: MaxoutLayout,
    values: &mut [T],
    indices: &mut [I],
) -> Result<(), Error> {
    Rectifier::auto().maxout(z, k, layout, values, indices)
}

/// Maxout forward, values only, on the active backend: see [`Rectifier::maxout_values`].
///
/// ```
/// use rectifier::MaxoutLayout;
/// let z = [1.0f64, 3.0, 2.0, /* plane 1: */ 0.0, 4.0, -1.0];
/// let mut v = [0.0f64; 3];
/// rectifier::maxout_values(&z, 2, MaxoutLayout::Planar, &mut v)?;
/// assert_eq!(v, [1.0, 4.0, 2.0]);
/// # Ok::<(), rectifier::Error>(())
/// ```
pub fn maxout_values<T: Element>(
    z: &[T],
    k: usize,
    layout: MaxoutLayout,
    values: &mut [T],
) -> Result<(), Error> {
    Rectifier::auto().maxout_values(z, k, layout, values)
}

/// Maxout backward on the active backend: see [`Rectifier::maxout_backward`].
///
/// ```
/// use rectifier::{MaxoutGradMode, MaxoutLayout};
/// let mut dx = [5.0f32; 4];
/// rectifier::maxout_backward(&[1.5, 2.5], &[1u32, 0], 2, MaxoutLayout::Interleaved, &mut dx,
///     MaxoutGradMode::Overwrite)?;
/// assert_eq!(dx, [0.0, 1.5, 2.5, 0.0]);
/// # Ok::<(), rectifier::Error>(())
/// ```
pub fn maxout_backward<T: Element, I: MaxoutIndex>(
    dy: &[T],
    indices: &[I],
    k: usize,
    layout: MaxoutLayout,
    dx: &mut [T],
    mode: MaxoutGradMode,
) -> Result<(), Error> {
    Rectifier::auto().maxout_backward(dy, indices, k, layout, dx, mode)
}
