//! The memory-saving training path: forward that also writes a packed bit mask (one bit per
//! element; layout in [`crate::kernels::mask`]), and backward that reads the mask instead of
//! `z`. Backward from the mask equals backward from `z` under the [`Subgradient`] given to the
//! forward call, bit for bit.
//!
//! `abs` has no 1-bit mask (its gradient has three values), and the PReLU slope gradient needs
//! `z` itself (the mask path gives the PReLU input gradient only).

use super::{check_slope, check_slopes};
use crate::dispatch::Rectifier;
use crate::element::Element;
use crate::error::{Error, check_len};
use crate::kernels::Io;
use crate::kernels::mask::{
    FromMaskKernel, LeakyReluFromMask, LeakyReluMask, MaskForwardKernel, ReluFromMask, ReluMask,
    Slopes, mask_words,
};
use crate::layout::ChannelLayout;
use crate::subgradient::Subgradient;

impl Rectifier {
    fn mask_fwd<T: Element>(
        self,
        io: Io<'_, T>,
        mask: &mut [u64],
        slopes: Slopes<'_, T>,
        relu: bool,
        sub: Subgradient,
    ) {
        if relu {
            by_side!(sub, R => self.run(MaskForwardKernel { f: ReluMask::<R>, io, slopes, mask }))
        } else {
            by_side!(sub, R => self.run(MaskForwardKernel { f: LeakyReluMask::<R>, io, slopes, mask }))
        }
    }

    fn relu_mask_fwd<T: Element>(self, io: Io<'_, T>, mask: &mut [u64], sub: Subgradient) {
        self.mask_fwd(io, mask, Slopes::One(T::Slope::default()), true, sub)
    }

    fn leaky_mask_fwd<T: Element>(
        self,
        io: Io<'_, T>,
        mask: &mut [u64],
        a: T::Slope,
        sub: Subgradient,
    ) {
        self.mask_fwd(io, mask, Slopes::One(a), false, sub)
    }
}

entry_points! {
    Table in mask;

    /// [`Rectifier::relu`] that also writes `mask` (`ceil(n / 64)` words): bit `i % 64` of
    /// word `i / 64` is `1` where ReLU backward under `sub` passes `dy` (`Left`: `!(z <= 0)`;
    /// `Right`: `!(z < 0)`). Errors: lengths differ, wrong mask length.
    pub fn relu_with_mask<T: Element>(
        self,
        src: &[T],
        dst: &mut [T],
        mask: &mut [u64],
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dst", src.len(), dst.len())?;
        check_len("mask", mask_words(src.len()), mask.len())?;
        self.relu_mask_fwd(Io::OutOfPlace { src, dst }, mask, sub);
        Ok(())
    }

    /// [`Rectifier::relu_with_mask`] in place.
    pub fn relu_with_mask_inplace<T: Element>(
        self,
        x: &mut [T],
        mask: &mut [u64],
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("mask", mask_words(x.len()), mask.len())?;
        self.relu_mask_fwd(Io::InPlace(x), mask, sub);
        Ok(())
    }

    /// [`Rectifier::leaky_relu`] that also writes `mask`: bit `1` on the linear side under
    /// `sub` (`Left`: `z > 0`; `Right`: `z >= 0`). Errors: lengths, mask length, non-finite `a`.
    pub fn leaky_relu_with_mask<T: Element>(
        self,
        src: &[T],
        dst: &mut [T],
        mask: &mut [u64],
        a: T::Slope,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dst", src.len(), dst.len())?;
        check_len("mask", mask_words(src.len()), mask.len())?;
        check_slope::<T>(a)?;
        self.leaky_mask_fwd(Io::OutOfPlace { src, dst }, mask, a, sub);
        Ok(())
    }

    /// [`Rectifier::leaky_relu_with_mask`] in place.
    pub fn leaky_relu_with_mask_inplace<T: Element>(
        self,
        x: &mut [T],
        mask: &mut [u64],
        a: T::Slope,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("mask", mask_words(x.len()), mask.len())?;
        check_slope::<T>(a)?;
        self.leaky_mask_fwd(Io::InPlace(x), mask, a, sub);
        Ok(())
    }

    /// ReLU backward from the mask of [`Rectifier::relu_with_mask`]: `dx[i] = bit ? dy[i] : +0`.
    /// Errors: lengths differ, wrong mask length.
    pub fn relu_backward_from_mask<T: Element>(
        self,
        mask: &[u64],
        dy: &[T],
        dx: &mut [T],
    ) -> Result<(), Error> {
        check_len("dx", dy.len(), dx.len())?;
        check_len("mask", mask_words(dy.len()), mask.len())?;
        self.run(FromMaskKernel {
            f: ReluFromMask,
            mask,
            io: Io::OutOfPlace { src: dy, dst: dx },
            slopes: Slopes::One(T::Slope::default()),
        });
        Ok(())
    }

    /// [`Rectifier::relu_backward_from_mask`] in place.
    pub fn relu_backward_from_mask_inplace<T: Element>(
        self,
        mask: &[u64],
        dy_dx: &mut [T],
    ) -> Result<(), Error> {
        check_len("mask", mask_words(dy_dx.len()), mask.len())?;
        self.run(FromMaskKernel {
            f: ReluFromMask,
            mask,
            io: Io::InPlace(dy_dx),
            slopes: Slopes::One(T::Slope::default()),
        });
        Ok(())
    }

    /// Leaky ReLU backward from the mask of [`Rectifier::leaky_relu_with_mask`]:
    /// `dx[i] = bit ? dy[i] : a * dy[i]`. Errors: lengths, mask length, non-finite `a`.
    pub fn leaky_relu_backward_from_mask<T: Element>(
        self,
        mask: &[u64],
        dy: &[T],
        dx: &mut [T],
        a: T::Slope,
    ) -> Result<(), Error> {
        check_len("dx", dy.len(), dx.len())?;
        check_len("mask", mask_words(dy.len()), mask.len())?;
        check_slope::<T>(a)?;
        self.run(FromMaskKernel {
            f: LeakyReluFromMask,
            mask,
            io: Io::OutOfPlace { src: dy, dst: dx },
            slopes: Slopes::One(a),
        });
        Ok(())
    }

    /// [`Rectifier::leaky_relu_backward_from_mask`] in place.
    pub fn leaky_relu_backward_from_mask_inplace<T: Element>(
        self,
        mask: &[u64],
        dy_dx: &mut [T],
        a: T::Slope,
    ) -> Result<(), Error> {
        check_len("mask", mask_words(dy_dx.len()), mask.len())?;
        check_slope::<T>(a)?;
        self.run(FromMaskKernel {
            f: LeakyReluFromMask,
            mask,
            io: Io::InPlace(dy_dx),
            slopes: Slopes::One(a),
        });
        Ok(())
    }

    /// [`Rectifier::prelu`] that also writes `mask`: bit `1` on the linear side under `sub`
    /// (`Left`: `z > 0`; `Right`: `z >= 0`). Errors: as [`Rectifier::prelu`], plus the mask
    /// length.
    pub fn prelu_with_mask<T: Element>(
        self,
        src: &[T],
        dst: &mut [T],
        mask: &mut [u64],
        slopes: &[T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dst", src.len(), dst.len())?;
        check_len("mask", mask_words(src.len()), mask.len())?;
        layout.validate("src", src.len(), slopes.len())?;
        check_slopes(slopes)?;
        let sl = Slopes::PerChannel(slopes, layout);
        self.mask_fwd(Io::OutOfPlace { src, dst }, mask, sl, false, sub);
        Ok(())
    }

    /// [`Rectifier::prelu_with_mask`] in place.
    pub fn prelu_with_mask_inplace<T: Element>(
        self,
        x: &mut [T],
        mask: &mut [u64],
        slopes: &[T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("mask", mask_words(x.len()), mask.len())?;
        layout.validate("x", x.len(), slopes.len())?;
        check_slopes(slopes)?;
        let sl = Slopes::PerChannel(slopes, layout);
        self.mask_fwd(Io::InPlace(x), mask, sl, false, sub);
        Ok(())
    }

    /// PReLU input gradient from the mask of [`Rectifier::prelu_with_mask`]:
    /// `dx[i] = bit ? dy[i] : slopes[c] * dy[i]`. Errors: as [`Rectifier::prelu_backward`],
    /// plus the mask length.
    pub fn prelu_backward_from_mask<T: Element>(
        self,
        mask: &[u64],
        dy: &[T],
        dx: &mut [T],
        slopes: &[T],
        layout: ChannelLayout,
    ) -> Result<(), Error> {
        check_len("dx", dy.len(), dx.len())?;
        check_len("mask", mask_words(dy.len()), mask.len())?;
        layout.validate("dy", dy.len(), slopes.len())?;
        check_slopes(slopes)?;
        self.run(FromMaskKernel {
            f: LeakyReluFromMask,
            mask,
            io: Io::OutOfPlace { src: dy, dst: dx },
            slopes: Slopes::PerChannel(slopes, layout),
        });
        Ok(())
    }

    /// [`Rectifier::prelu_backward_from_mask`] in place.
    pub fn prelu_backward_from_mask_inplace<T: Element>(
        self,
        mask: &[u64],
        dy_dx: &mut [T],
        slopes: &[T],
        layout: ChannelLayout,
    ) -> Result<(), Error> {
        check_len("mask", mask_words(dy_dx.len()), mask.len())?;
        layout.validate("dy_dx", dy_dx.len(), slopes.len())?;
        check_slopes(slopes)?;
        self.run(FromMaskKernel {
            f: LeakyReluFromMask,
            mask,
            io: Io::InPlace(dy_dx),
            slopes: Slopes::PerChannel(slopes, layout),
        });
        Ok(())
    }
}

/// ReLU with its backward mask on the active backend: see [`Rectifier::relu_with_mask`].
///
/// ```
/// use rectifier::{Subgradient, mask_words};
/// let z = [-1.0f32, 0.0, 2.0];
/// let (mut y, mut mask) = ([0.0f32; 3], vec![0u64; mask_words(3)]);
/// rectifier::relu_with_mask(&z, &mut y, &mut mask, Subgradient::Left)?;
/// assert_eq!(mask, [0b100]);
/// let mut dx = [0.0f32; 3];
/// rectifier::relu_backward_from_mask(&mask, &[5.0; 3], &mut dx)?;
/// assert_eq!(dx, [0.0, 0.0, 5.0]);
/// # Ok::<(), rectifier::Error>(())
/// ```
pub fn relu_with_mask<T: Element>(
    src: &[T],
    dst: &mut [T],
    mask: &mut [u64],
    sub: Subgradient,
) -> Result<(), Error> {
    Rectifier::auto().relu_with_mask(src, dst, mask, sub)
}

/// ReLU with its mask, in place, on the active backend.
pub fn relu_with_mask_inplace<T: Element>(
    x: &mut [T],
    mask: &mut [u64],
    sub: Subgradient,
) -> Result<(), Error> {
    Rectifier::auto().relu_with_mask_inplace(x, mask, sub)
}

/// Leaky ReLU with its mask on the active backend.
pub fn leaky_relu_with_mask<T: Element>(
    src: &[T],
    dst: &mut [T],
    mask: &mut [u64],
    a: T::Slope,
    sub: Subgradient,
) -> Result<(), Error> {
    Rectifier::auto().leaky_relu_with_mask(src, dst, mask, a, sub)
}

/// Leaky ReLU with its mask, in place, on the active backend.
pub fn leaky_relu_with_mask_inplace<T: Element>(
    x: &mut [T],
    mask: &mut [u64],
    a: T::Slope,
    sub: Subgradient,
) -> Result<(), Error> {
    Rectifier::auto().leaky_relu_with_mask_inplace(x, mask, a, sub)
}

/// ReLU backward from the mask on the active backend.
pub fn relu_backward_from_mask<T: Element>(
    mask: &[u64],
    dy: &[T],
    dx: &mut [T],
) -> Result<(), Error> {
    Rectifier::auto().relu_backward_from_mask(mask, dy, dx)
}

/// ReLU backward from the mask, in place, on the active backend.
pub fn relu_backward_from_mask_inplace<T: Element>(
    mask: &[u64],
    dy_dx: &mut [T],
) -> Result<(), Error> {
    Rectifier::auto().relu_backward_from_mask_inplace(mask, dy_dx)
}

/// Leaky ReLU backward from the mask on the active backend.
pub fn leaky_relu_backward_from_mask<T: Element>(
    mask: &[u64],
    dy: &[T],
    dx: &mut [T],
    a: T::Slope,
) -> Result<(), Error> {
    Rectifier::auto().leaky_relu_backward_from_mask(mask, dy, dx, a)
}

/// Leaky ReLU backward from the mask, in place, on the active backend.
pub fn leaky_relu_backward_from_mask_inplace<T: Element>(
    mask: &[u64],
    dy_dx: &mut [T],
    a: T::Slope,
) -> Result<(), Error> {
    Rectifier::auto().leaky_relu_backward_from_mask_inplace(mask, dy_dx, a)
}

/// PReLU with its backward mask on the active backend: see [`Rectifier::prelu_with_mask`].
pub fn prelu_with_mask<T: Element>(
    src: &[T],
    dst: &mut [T],
    mask: &mut [u64],
    slopes: &[T],
    layout: ChannelLayout,
    sub: Subgradient,
) -> Result<(), Error> {
    Rectifier::auto().prelu_with_mask(src, dst, mask, slopes, layout, sub)
}

/// PReLU with its mask, in place, on the active backend.
pub fn prelu_with_mask_inplace<T: Element>(
    x: &mut [T],
    mask: &mut [u64],
    slopes: &[T],
    layout: ChannelLayout,
    sub: Subgradient,
) -> Result<(), Error> {
    Rectifier::auto().prelu_with_mask_inplace(x, mask, slopes, layout, sub)
}

/// PReLU input gradient from the mask on the active backend.
pub fn prelu_backward_from_mask<T: Element>(
    mask: &[u64],
    dy: &[T],
    dx: &mut [T],
    slopes: &[T],
    layout: ChannelLayout,
) -> Result<(), Error> {
    Rectifier::auto().prelu_backward_from_mask(mask, dy, dx, slopes, layout)
}

/// PReLU input gradient from the mask, in place, on the active backend.
pub fn prelu_backward_from_mask_inplace<T: Element>(
    mask: &[u64],
    dy_dx: &mut [T],
    slopes: &[T],
    layout: ChannelLayout,
) -> Result<(), Error> {
    Rectifier::auto().prelu_backward_from_mask_inplace(mask, dy_dx, slopes, layout)
}
