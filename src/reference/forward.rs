//! Forward element-wise rules (`SPEC.md` section 1), one element at a time, and the plain loops
//! that apply them to slices.

use crate::element::Element;

/// `a * b` as x86 computes it: one IEEE rounding; a single NaN operand comes back quieted with
/// its sign and payload kept; an invalid product (`±inf * ±0`) is the x86 default NaN
/// ([`Element::DEFAULT_NAN_BITS`]) on every platform (aarch64's own default NaN is positive and is
/// rewritten here).
#[inline]
pub fn mul<T: Element>(a: T, b: T) -> T {
    let r = a * b;
    if r.is_nan() && !a.is_nan() && !b.is_nan() {
        T::from_bits(T::DEFAULT_NAN_BITS)
    } else {
        r
    }
}

/// ReLU: `if z < 0 { +0 } else { z }`.
///
/// `-0` stays `-0`, a NaN keeps its bits (signalling NaNs too), `-inf` becomes `+0`, subnormals
/// are kept. (`f32::max(z, 0.0)` is not this: it maps NaN to 0.)
#[inline]
pub fn relu<T: Element>(z: T) -> T {
    if z < T::ZERO { T::ZERO } else { z }
}

/// Leaky ReLU with slope `a`: `if z > 0 { z } else { a * z }`, with [`mul`]'s rounding and NaN rules.
///
/// `-0` becomes `a * -0`; a NaN becomes `a * NaN` (quieted, payload and sign kept). Any finite
/// `a` is valid, including 0, negative and above 1. For the half formats `a` is an `f32` and
/// `a * z` is the `f32` product rounded once to the format ([`crate::halves`]).
#[inline]
pub fn leaky_relu<T: Element>(z: T, a: T::Slope) -> T {
    if z > T::ZERO { z } else { T::mul_slope(a, z) }
}

/// Absolute-value rectification: `z` with its sign bit cleared (NaN payloads kept).
#[inline]
pub fn abs<T: Element>(z: T) -> T {
    T::from_bits(z.to_bits() & !T::SIGN_BITS)
}

/// PReLU of one element: [`leaky_relu`] with the slope of its channel.
#[inline]
pub fn prelu<T: Element>(z: T, a_c: T) -> T {
    leaky_relu(z, a_c.to_slope())
}
