//! Forward element-wise activations: `relu`, `leaky_relu`, `abs`, `prelu`, out-of-place and in
//! place, as methods of [`Rectifier`] and as free functions on the active backend.

use super::{check_slope, check_slopes};
use crate::dispatch::Rectifier;
use crate::element::Element;
use crate::error::{Error, check_len};
use crate::kernels::Io;
use crate::kernels::forward::{Abs, LeakyRelu, MapKernel, PreluKernel, Relu};
use crate::layout::ChannelLayout;

entry_points! {
    Table in forward;

    /// `dst[i] = relu(src[i])`: `+0` where `src[i] < 0`, else `src[i]`'s bits (NaN and `-0`
    /// included). Error if the lengths differ.
    pub fn relu<T: Element>(self, src: &[T], dst: &mut [T]) -> Result<(), Error> {
        check_len("dst", src.len(), dst.len())?;
        self.run(MapKernel {
            f: Relu,
            io: Io::OutOfPlace { src, dst },
        });
        Ok(())
    }

    /// [`Rectifier::relu`] in place.
    pub fn relu_inplace<T: Element>(self, x: &mut [T]) -> Result<(), Error> {
        self.run(MapKernel {
            f: Relu,
            io: Io::InPlace(x),
        });
        Ok(())
    }

    /// `dst[i] = src[i] > 0 ? src[i] : a * src[i]`, one rounding. Error if the lengths differ or
    /// `a` is not finite.
    pub fn leaky_relu<T: Element>(self, src: &[T], dst: &mut [T], a: T::Slope) -> Result<(), Error> {
        check_len("dst", src.len(), dst.len())?;
        check_slope::<T>(a)?;
        self.run(MapKernel {
            f: LeakyRelu { a },
            io: Io::OutOfPlace { src, dst },
        });
        Ok(())
    }

    /// [`Rectifier::leaky_relu`] in place.
    pub fn leaky_relu_inplace<T: Element>(self, x: &mut [T], a: T::Slope) -> Result<(), Error> {
        check_slope::<T>(a)?;
        self.run(MapKernel {
            f: LeakyRelu { a },
            io: Io::InPlace(x),
        });
        Ok(())
    }

    /// `dst[i] = |src[i]|`: the sign bit cleared, NaN payloads kept. Error if the lengths differ.
    pub fn abs<T: Element>(self, src: &[T], dst: &mut [T]) -> Result<(), Error> {
        check_len("dst", src.len(), dst.len())?;
        self.run(MapKernel {
            f: Abs,
            io: Io::OutOfPlace { src, dst },
        });
        Ok(())
    }

    /// [`Rectifier::abs`] in place.
    pub fn abs_inplace<T: Element>(self, x: &mut [T]) -> Result<(), Error> {
        self.run(MapKernel {
            f: Abs,
            io: Io::InPlace(x),
        });
        Ok(())
    }

    /// PReLU: `dst[i] = src[i] > 0 ? src[i] : slopes[c] * src[i]`, `c` the channel of element
    /// `i` in `layout`, with `slopes.len()` channels. Errors: lengths differ, no slopes, a
    /// non-finite slope, or a length that is not a whole number of `layout` periods.
    pub fn prelu<T: Element>(
        self,
        src: &[T],
        dst: &mut [T],
        slopes: &[T],
        layout: ChannelLayout,
    ) -> Result<(), Error> {
        check_len("dst", src.len(), dst.len())?;
        layout.validate("src", src.len(), slopes.len())?;
        check_slopes(slopes)?;
        self.run(PreluKernel {
            io: Io::OutOfPlace { src, dst },
            slopes,
            layout,
        });
        Ok(())
    }

    /// [`Rectifier::prelu`] in place.
    pub fn prelu_inplace<T: Element>(
        self,
        x: &mut [T],
        slopes: &[T],
        layout: ChannelLayout,
    ) -> Result<(), Error> {
        layout.validate("x", x.len(), slopes.len())?;
        check_slopes(slopes)?;
        self.run(PreluKernel {
            io: Io::InPlace(x),
            slopes,
            layout,
        });
        Ok(())
    }
}

/// ReLU on the active backend: `dst[i] = src[i] < 0 ? +0 : src[i]`.
///
/// ```
/// let mut y = [1.0f32; 4];
/// rectifier::relu(&[-2.0, -0.0, 3.0, f32::NEG_INFINITY], &mut y)?;
/// assert_eq!(y.map(f32::to_bits), [0.0f32, -0.0, 3.0, 0.0].map(f32::to_bits));
/// # Ok::<(), rectifier::Error>(())
/// ```
pub fn relu<T: Element>(src: &[T], dst: &mut [T]) -> Result<(), Error> {
    Rectifier::auto().relu(src, dst)
}

/// ReLU in place on the active backend.
///
/// ```
/// let mut x = [-1.0f64, 2.0];
/// rectifier::relu_inplace(&mut x)?;
/// assert_eq!(x, [0.0, 2.0]);
/// # Ok::<(), rectifier::Error>(())
/// ```
pub fn relu_inplace<T: Element>(x: &mut [T]) -> Result<(), Error> {
    Rectifier::auto().relu_inplace(x)
}

/// Leaky ReLU on the active backend: `dst[i] = src[i] > 0 ? src[i] : a * src[i]`.
///
/// ```
/// let mut y = [0.0f32; 3];
/// rectifier::leaky_relu(&[-2.0, 3.0, -0.0], &mut y, 0.5)?;
/// assert_eq!(y.map(f32::to_bits), [-1.0f32, 3.0, -0.0].map(f32::to_bits));
/// // A non-finite slope is an error, and nothing is written.
/// assert!(rectifier::leaky_relu(&[1.0f32; 3], &mut y, f32::NAN).is_err());
/// # Ok::<(), rectifier::Error>(())
/// ```
pub fn leaky_relu<T: Element>(src: &[T], dst: &mut [T], a: T::Slope) -> Result<(), Error> {
    Rectifier::auto().leaky_relu(src, dst, a)
}

/// Leaky ReLU in place on the active backend.
pub fn leaky_relu_inplace<T: Element>(x: &mut [T], a: T::Slope) -> Result<(), Error> {
    Rectifier::auto().leaky_relu_inplace(x, a)
}

/// Absolute-value rectification on the active backend: `dst[i] = |src[i]|` (sign bit cleared).
///
/// ```
/// let mut y = [0.0f32; 2];
/// rectifier::abs(&[-2.5, -0.0], &mut y)?;
/// assert_eq!(y.map(f32::to_bits), [2.5f32, 0.0].map(f32::to_bits));
/// # Ok::<(), rectifier::Error>(())
/// ```
pub fn abs<T: Element>(src: &[T], dst: &mut [T]) -> Result<(), Error> {
    Rectifier::auto().abs(src, dst)
}

/// Absolute-value rectification in place on the active backend.
pub fn abs_inplace<T: Element>(x: &mut [T]) -> Result<(), Error> {
    Rectifier::auto().abs_inplace(x)
}

/// PReLU on the active backend: a learnable slope per channel.
///
/// ```
/// use rectifier::ChannelLayout;
/// // Two rows of three channels (channels-last).
/// let z = [-1.0f32, -1.0, -1.0, 2.0, -2.0, 2.0];
/// let mut y = [0.0f32; 6];
/// rectifier::prelu(&z, &mut y, &[0.1, 0.2, 0.3], ChannelLayout::ChannelsLast)?;
/// assert_eq!(y, [-0.1, -0.2, -0.3, 2.0, -0.4, 2.0]);
/// // [N=1, C=3, S=2] channels-first: channel c covers two consecutive elements.
/// rectifier::prelu(&z, &mut y, &[0.1, 0.2, 0.3], ChannelLayout::ChannelsFirst { spatial: 2 })?;
/// assert_eq!(y, [-0.1, -0.1, -0.2, 2.0, -0.6, 2.0]);
/// # Ok::<(), rectifier::Error>(())
/// ```
pub fn prelu<T: Element>(
    src: &[T],
    dst: &mut [T],
    slopes: &[T],
    layout: ChannelLayout,
) -> Result<(), Error> {
    Rectifier::auto().prelu(src, dst, slopes, layout)
}

/// PReLU in place on the active backend.
pub fn prelu_inplace<T: Element>(
    x: &mut [T],
    slopes: &[T],
    layout: ChannelLayout,
) -> Result<(), Error> {
    Rectifier::auto().prelu_inplace(x, slopes, layout)
}
