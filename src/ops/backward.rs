//! Backward (gradient) kernels: `relu`, `leaky_relu`, `abs`, `prelu` (input gradient, and the
//! slope gradient fused in the same pass), from the forward input `z`, and from the forward
//! output `y` where that is exact. Out-of-place (`dy -> dx`) and in place (`dx` over `dy`).

use super::{check_slope, check_slopes};
use crate::dispatch::Rectifier;
use crate::element::Element;
use crate::error::{Error, check_len};
use crate::kernels::Io;
use crate::kernels::backward::{
    AbsGrad, GradKernel, LeakyReluGrad, PreluGradKernel, PreluSlopeGradKernel, ReluGrad,
};
use crate::layout::ChannelLayout;
use crate::subgradient::Subgradient;

/// `z`, `dy` and `dx` have one length.
fn check_oop<T>(z: &[T], dy: &[T], dx: &[T]) -> Result<(), Error> {
    check_len("dy", z.len(), dy.len())?;
    check_len("dx", z.len(), dx.len())
}

/// Backward from the output needs [`Subgradient::Left`].
fn check_left(sub: Subgradient) -> Result<(), Error> {
    if sub == Subgradient::Left {
        Ok(())
    } else {
        Err(Error::FromOutputSubgradient {
            expected: Subgradient::Left,
            actual: sub,
        })
    }
}

/// Leaky ReLU backward from the output needs [`Subgradient::Left`] and a slope `> 0`.
fn check_from_output_slope<T: Element>(a: T::Slope, sub: Subgradient) -> Result<(), Error> {
    check_left(sub)?;
    let value: f64 = a.into();
    if value > 0.0 {
        Ok(())
    } else {
        Err(Error::FromOutputSlope { index: 0, value })
    }
}

/// Backward from the output needs [`Subgradient::Left`] and every slope `> 0`.
fn check_from_output<T: Element>(slopes: &[T], sub: Subgradient) -> Result<(), Error> {
    check_left(sub)?;
    // The slopes are finite here (checked first), so `<= 0` is the complement of `> 0`.
    match slopes.iter().position(|&a| a <= T::ZERO) {
        None => Ok(()),
        Some(index) => Err(Error::FromOutputSlope {
            index,
            value: slopes[index].to_f64(),
        }),
    }
}

impl Rectifier {
    fn relu_grad<T: Element>(self, z: &[T], io: Io<'_, T>, sub: Subgradient) {
        by_side!(sub, R => self.run(GradKernel { f: ReluGrad::<R>, z, io }))
    }

    fn leaky_grad<T: Element>(self, z: &[T], io: Io<'_, T>, a: T::Slope, sub: Subgradient) {
        by_side!(sub, R => self.run(GradKernel { f: LeakyReluGrad::<T::Slope, R> { a }, z, io }))
    }

    fn prelu_grad<T: Element>(
        self,
        z: &[T],
        io: Io<'_, T>,
        slopes: &[T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) {
        by_side!(sub, R => self.run(PreluGradKernel::<T, R> { z, io, slopes, layout }))
    }

    #[allow(clippy::too_many_arguments)]
    fn prelu_slope_grad<T: Element>(
        self,
        z: &[T],
        io: Io<'_, T>,
        slopes: &[T],
        da: &mut [T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) {
        by_side!(sub, R => PreluSlopeGradKernel::<T, R> { z, io, slopes, da, layout }.run_on(self))
    }
}

entry_points! {
    Table in backward;

    /// ReLU backward: `dx[i] = +0` where `z[i] <= 0` (`Left`) or `z[i] < 0` (`Right`), else
    /// `dy[i]`'s bits (a NaN `z` passes `dy`). Error if the lengths differ.
    pub fn relu_backward<T: Element>(
        self,
        z: &[T],
        dy: &[T],
        dx: &mut [T],
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_oop(z, dy, dx)?;
        self.relu_grad(z, Io::OutOfPlace { src: dy, dst: dx }, sub);
        Ok(())
    }

    /// [`Rectifier::relu_backward`] in place: `dy_dx` holds `dy` and receives `dx`.
    pub fn relu_backward_inplace<T: Element>(
        self,
        z: &[T],
        dy_dx: &mut [T],
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dy_dx", z.len(), dy_dx.len())?;
        self.relu_grad(z, Io::InPlace(dy_dx), sub);
        Ok(())
    }

    /// ReLU backward from the forward output `y = relu(z)`: exact, and equal to
    /// [`Rectifier::relu_backward`] on `z`, only with [`Subgradient::Left`] (`y > 0` exactly
    /// when `z > 0`, and `y` is NaN exactly when `z` is). `Right` is
    /// [`Error::FromOutputSubgradient`].
    pub fn relu_backward_from_output<T: Element>(
        self,
        y: &[T],
        dy: &[T],
        dx: &mut [T],
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_oop(y, dy, dx)?;
        check_from_output::<T>(&[], sub)?;
        self.relu_grad(y, Io::OutOfPlace { src: dy, dst: dx }, sub);
        Ok(())
    }

    /// [`Rectifier::relu_backward_from_output`] in place.
    pub fn relu_backward_from_output_inplace<T: Element>(
        self,
        y: &[T],
        dy_dx: &mut [T],
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dy_dx", y.len(), dy_dx.len())?;
        check_from_output::<T>(&[], sub)?;
        self.relu_grad(y, Io::InPlace(dy_dx), sub);
        Ok(())
    }

    /// Leaky ReLU backward: `dx[i] = dy[i]` (bits kept) where `z[i] > 0` (`Left`) or
    /// `z[i] >= 0` (`Right`), else `a * dy[i]` (one rounding; a NaN `z` takes this side).
    /// Errors: lengths differ, `a` not finite.
    pub fn leaky_relu_backward<T: Element>(
        self,
        z: &[T],
        dy: &[T],
        dx: &mut [T],
        a: T::Slope,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_oop(z, dy, dx)?;
        check_slope::<T>(a)?;
        self.leaky_grad(z, Io::OutOfPlace { src: dy, dst: dx }, a, sub);
        Ok(())
    }

    /// [`Rectifier::leaky_relu_backward`] in place.
    pub fn leaky_relu_backward_inplace<T: Element>(
        self,
        z: &[T],
        dy_dx: &mut [T],
        a: T::Slope,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dy_dx", z.len(), dy_dx.len())?;
        check_slope::<T>(a)?;
        self.leaky_grad(z, Io::InPlace(dy_dx), a, sub);
        Ok(())
    }

    /// Leaky ReLU backward from the forward output `y`: exact only with
    /// [`Subgradient::Left`] and `a > 0` (then `y > 0` exactly when `z > 0`); otherwise
    /// [`Error::FromOutputSubgradient`] or [`Error::FromOutputSlope`].
    pub fn leaky_relu_backward_from_output<T: Element>(
        self,
        y: &[T],
        dy: &[T],
        dx: &mut [T],
        a: T::Slope,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_oop(y, dy, dx)?;
        check_slope::<T>(a)?;
        check_from_output_slope::<T>(a, sub)?;
        self.leaky_grad(y, Io::OutOfPlace { src: dy, dst: dx }, a, sub);
        Ok(())
    }

    /// [`Rectifier::leaky_relu_backward_from_output`] in place.
    pub fn leaky_relu_backward_from_output_inplace<T: Element>(
        self,
        y: &[T],
        dy_dx: &mut [T],
        a: T::Slope,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dy_dx", y.len(), dy_dx.len())?;
        check_slope::<T>(a)?;
        check_from_output_slope::<T>(a, sub)?;
        self.leaky_grad(y, Io::InPlace(dy_dx), a, sub);
        Ok(())
    }

    /// `abs` backward: `dx[i] = dy[i] * s`, an IEEE product with `s = -1, +0, +1` for
    /// `z[i] < 0`, `z[i] = ±0` or NaN, `z[i] > 0` (so a NaN `dy` keeps its sign, and `±inf` at
    /// the kink is the invalid-product NaN). No [`Subgradient`]: 0 is the subgradient at the
    /// kink either way. Error if the lengths differ.
    pub fn abs_backward<T: Element>(self, z: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        check_oop(z, dy, dx)?;
        self.run(GradKernel {
            f: AbsGrad,
            z,
            io: Io::OutOfPlace { src: dy, dst: dx },
        });
        Ok(())
    }

    /// [`Rectifier::abs_backward`] in place.
    pub fn abs_backward_inplace<T: Element>(self, z: &[T], dy_dx: &mut [T]) -> Result<(), Error> {
        check_len("dy_dx", z.len(), dy_dx.len())?;
        self.run(GradKernel {
            f: AbsGrad,
            z,
            io: Io::InPlace(dy_dx),
        });
        Ok(())
    }

    /// PReLU input gradient: [`Rectifier::leaky_relu_backward`] with the slope of each
    /// element's channel in `layout`. Errors: lengths differ, no slopes, a non-finite slope, a
    /// length that is not a whole number of periods.
    pub fn prelu_backward<T: Element>(
        self,
        z: &[T],
        dy: &[T],
        dx: &mut [T],
        slopes: &[T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_oop(z, dy, dx)?;
        layout.validate("z", z.len(), slopes.len())?;
        check_slopes(slopes)?;
        self.prelu_grad(z, Io::OutOfPlace { src: dy, dst: dx }, slopes, layout, sub);
        Ok(())
    }

    /// [`Rectifier::prelu_backward`] in place.
    pub fn prelu_backward_inplace<T: Element>(
        self,
        z: &[T],
        dy_dx: &mut [T],
        slopes: &[T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dy_dx", z.len(), dy_dx.len())?;
        layout.validate("z", z.len(), slopes.len())?;
        check_slopes(slopes)?;
        self.prelu_grad(z, Io::InPlace(dy_dx), slopes, layout, sub);
        Ok(())
    }

    /// PReLU input gradient from the forward output `y`: exact only with
    /// [`Subgradient::Left`] and every slope `> 0`; otherwise an error naming the first bad
    /// slope.
    pub fn prelu_backward_from_output<T: Element>(
        self,
        y: &[T],
        dy: &[T],
        dx: &mut [T],
        slopes: &[T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_oop(y, dy, dx)?;
        layout.validate("y", y.len(), slopes.len())?;
        check_slopes(slopes)?;
        check_from_output(slopes, sub)?;
        self.prelu_grad(y, Io::OutOfPlace { src: dy, dst: dx }, slopes, layout, sub);
        Ok(())
    }

    /// [`Rectifier::prelu_backward_from_output`] in place.
    pub fn prelu_backward_from_output_inplace<T: Element>(
        self,
        y: &[T],
        dy_dx: &mut [T],
        slopes: &[T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dy_dx", y.len(), dy_dx.len())?;
        layout.validate("y", y.len(), slopes.len())?;
        check_slopes(slopes)?;
        check_from_output(slopes, sub)?;
        self.prelu_grad(y, Io::InPlace(dy_dx), slopes, layout, sub);
        Ok(())
    }

    /// PReLU backward with the slope gradient, in one pass over `z` and `dy`: `dx` as
    /// [`Rectifier::prelu_backward`], and `da[c] = sum over i in channel c with !(z[i] > 0) of
    /// z[i] * dy[i]` (the same mask for both [`Subgradient`] values), summed in the fixed order
    /// of [`crate::reference::prelu_slope_grad`] (identical on every backend, `f64`
    /// accumulation, pairwise across blocks). `da` is overwritten (not accumulated into).
    /// Errors: as [`Rectifier::prelu_backward`], plus `da.len() != slopes.len()`.
    #[allow(clippy::too_many_arguments)]
    pub fn prelu_backward_with_slope_grad<T: Element>(
        self,
        z: &[T],
        dy: &[T],
        dx: &mut [T],
        slopes: &[T],
        da: &mut [T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_oop(z, dy, dx)?;
        layout.validate("z", z.len(), slopes.len())?;
        check_slopes(slopes)?;
        check_len("da", slopes.len(), da.len())?;
        self.prelu_slope_grad(
            z,
            Io::OutOfPlace { src: dy, dst: dx },
            slopes,
            da,
            layout,
            sub,
        );
        Ok(())
    }

    /// [`Rectifier::prelu_backward_with_slope_grad`] in place (`dx` over `dy`; `da` is computed
    /// from `dy` before it is overwritten, in the same pass).
    pub fn prelu_backward_with_slope_grad_inplace<T: Element>(
        self,
        z: &[T],
        dy_dx: &mut [T],
        slopes: &[T],
        da: &mut [T],
        layout: ChannelLayout,
        sub: Subgradient,
    ) -> Result<(), Error> {
        check_len("dy_dx", z.len(), dy_dx.len())?;
        layout.validate("z", z.len(), slopes.len())?;
        check_slopes(slopes)?;
        check_len("da", slopes.len(), da.len())?;
        self.prelu_slope_grad(z, Io::InPlace(dy_dx), slopes, da, layout, sub);
        Ok(())
    }
}

/// Generates the free function of a [`Rectifier`] method on [`Rectifier::auto`].
macro_rules! free_fns {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*); )*) => {$(
        $(#[$doc])*
        pub fn $name<T: Element>($($arg: $ty),*) -> Result<(), Error> {
            Rectifier::auto().$name($($arg),*)
        }
    )*};
}

free_fns! {
    /// ReLU backward on the active backend: see [`Rectifier::relu_backward`].
    ///
    /// ```
    /// use rectifier::Subgradient;
    /// let z = [-1.0f32, 0.0, 2.0, f32::NAN];
    /// let mut dx = [9.0f32; 4];
    /// rectifier::relu_backward(&z, &[1.0; 4], &mut dx, Subgradient::Left)?;
    /// assert_eq!(dx, [0.0, 0.0, 1.0, 1.0]);
    /// rectifier::relu_backward(&z, &[1.0; 4], &mut dx, Subgradient::Right)?;
    /// assert_eq!(dx, [0.0, 1.0, 1.0, 1.0]);
    /// # Ok::<(), rectifier::Error>(())
    /// ```
    fn relu_backward(z: &[T], dy: &[T], dx: &mut [T], sub: Subgradient);
    /// ReLU backward in place on the active backend.
    fn relu_backward_inplace(z: &[T], dy_dx: &mut [T], sub: Subgradient);
    /// ReLU backward from the forward output on the active backend (`Left` only).
    ///
    /// ```
    /// use rectifier::{Error, Subgradient};
    /// let y = [0.0f32, 0.0, 2.0]; // relu of [-1, 0, 2]
    /// let mut dx = [9.0f32; 3];
    /// rectifier::relu_backward_from_output(&y, &[1.0; 3], &mut dx, Subgradient::Left)?;
    /// assert_eq!(dx, [0.0, 0.0, 1.0]);
    /// let e = rectifier::relu_backward_from_output(&y, &[1.0; 3], &mut dx, Subgradient::Right);
    /// assert!(matches!(e, Err(Error::FromOutputSubgradient { .. })));
    /// # Ok::<(), rectifier::Error>(())
    /// ```
    fn relu_backward_from_output(y: &[T], dy: &[T], dx: &mut [T], sub: Subgradient);
    /// ReLU backward from the forward output, in place, on the active backend.
    fn relu_backward_from_output_inplace(y: &[T], dy_dx: &mut [T], sub: Subgradient);
    /// Leaky ReLU backward on the active backend: see [`Rectifier::leaky_relu_backward`].
    ///
    /// ```
    /// use rectifier::Subgradient;
    /// let mut dx = [0.0f32; 3];
    /// rectifier::leaky_relu_backward(&[-1.0, 0.0, 1.0], &[2.0; 3], &mut dx, 0.25, Subgradient::Left)?;
    /// assert_eq!(dx, [0.5, 0.5, 2.0]);
    /// # Ok::<(), rectifier::Error>(())
    /// ```
    fn leaky_relu_backward(z: &[T], dy: &[T], dx: &mut [T], a: T::Slope, sub: Subgradient);
    /// Leaky ReLU backward in place on the active backend.
    fn leaky_relu_backward_inplace(z: &[T], dy_dx: &mut [T], a: T::Slope, sub: Subgradient);
    /// Leaky ReLU backward from the forward output on the active backend (`Left`, `a > 0`).
    fn leaky_relu_backward_from_output(y: &[T], dy: &[T], dx: &mut [T], a: T::Slope, sub: Subgradient);
    /// Leaky ReLU backward from the forward output, in place, on the active backend.
    fn leaky_relu_backward_from_output_inplace(y: &[T], dy_dx: &mut [T], a: T::Slope, sub: Subgradient);
    /// `abs` backward on the active backend: see [`Rectifier::abs_backward`].
    ///
    /// ```
    /// let mut dx = [0.0f32; 3];
    /// rectifier::abs_backward(&[-1.0, -0.0, 2.0], &[3.0, -3.0, 3.0], &mut dx)?;
    /// assert_eq!(dx.map(f32::to_bits), [-3.0f32, -0.0, 3.0].map(f32::to_bits));
    /// # Ok::<(), rectifier::Error>(())
    /// ```
    fn abs_backward(z: &[T], dy: &[T], dx: &mut [T]);
    /// `abs` backward in place on the active backend.
    fn abs_backward_inplace(z: &[T], dy_dx: &mut [T]);
    /// PReLU input gradient on the active backend: see [`Rectifier::prelu_backward`].
    fn prelu_backward(z: &[T], dy: &[T], dx: &mut [T], slopes: &[T], layout: ChannelLayout, sub: Subgradient);
    /// PReLU input gradient in place on the active backend.
    fn prelu_backward_inplace(z: &[T], dy_dx: &mut [T], slopes: &[T], layout: ChannelLayout, sub: Subgradient);
    /// PReLU input gradient from the forward output on the active backend (`Left`, slopes `> 0`).
    fn prelu_backward_from_output(y: &[T], dy: &[T], dx: &mut [T], slopes: &[T], layout: ChannelLayout, sub: Subgradient);
    /// PReLU backward with the fused slope gradient on the active backend: see
    /// [`Rectifier::prelu_backward_with_slope_grad`].
    ///
    /// ```
    /// use rectifier::{ChannelLayout, Subgradient};
    /// let z = [-1.0f32, 2.0, -3.0, -0.5];
    /// let (mut dx, mut da) = ([0.0f32; 4], [0.0f32; 2]);
    /// rectifier::prelu_backward_with_slope_grad(
    ///     &z, &[1.0; 4], &mut dx, &[0.25, 0.5], &mut da, ChannelLayout::ChannelsLast, Subgradient::Left,
    /// )?;
    /// assert_eq!(dx, [0.25, 1.0, 0.25, 0.5]);
    /// assert_eq!(da, [-4.0, -0.5]);
    /// # Ok::<(), rectifier::Error>(())
    /// ```
    fn prelu_backward_with_slope_grad(z: &[T], dy: &[T], dx: &mut [T], slopes: &[T], da: &mut [T], layout: ChannelLayout, sub: Subgradient);
    /// PReLU backward with the fused slope gradient, in place, on the active backend.
    fn prelu_backward_with_slope_grad_inplace(z: &[T], dy_dx: &mut [T], slopes: &[T], da: &mut [T], layout: ChannelLayout, sub: Subgradient);
    /// PReLU input gradient from the forward output, in place, on the active backend.
    fn prelu_backward_from_output_inplace(y: &[T], dy_dx: &mut [T], slopes: &[T], layout: ChannelLayout, sub: Subgradient);
}
