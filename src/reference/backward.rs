//! Backward rules (`SPEC.md` section 3), one element at a time.
//!
//! `dy` is the upstream gradient, the result is `dx`. The kink `z = ±0` follows
//! [`Subgradient`]; a NaN `z` is on neither side of it (it is not `> 0`, not `>= 0`, not `<= 0`
//! and not `< 0`), and each rule below says where it goes.

use super::forward::mul;
use crate::element::Element;
use crate::subgradient::Subgradient;

/// ReLU backward. `Left`: `if z <= 0 { +0 } else { dy }` (a NaN `z` passes `dy`). `Right`:
/// `if z < 0 { +0 } else { dy }`. Where `dy` passes, its bits pass unchanged.
#[inline]
pub fn relu_backward<T: Element>(z: T, dy: T, sub: Subgradient) -> T {
    let blocked = match sub {
        Subgradient::Left => z <= T::ZERO,
        Subgradient::Right => z < T::ZERO,
    };
    if blocked { T::ZERO } else { dy }
}

/// Leaky ReLU backward with slope `a`. `Left`: `if z > 0 { dy } else { a * dy }` (a NaN `z`
/// gives `a * dy`). `Right`: `if z >= 0 { dy } else { a * dy }`. Where `dy` passes, its bits
/// pass unchanged (a signalling NaN included: a select, not `dy * 1.0`); `a * dy` follows
/// [`mul`].
#[inline]
pub fn leaky_relu_backward<T: Element>(z: T, dy: T, a: T, sub: Subgradient) -> T {
    let linear = match sub {
        Subgradient::Left => z > T::ZERO,
        Subgradient::Right => z >= T::ZERO,
    };
    if linear { dy } else { mul(a, dy) }
}

/// PReLU input gradient of one element: [`leaky_relu_backward`] with its channel's slope.
#[inline]
pub fn prelu_backward<T: Element>(z: T, dy: T, a_c: T, sub: Subgradient) -> T {
    leaky_relu_backward(z, dy, a_c, sub)
}

/// The sign `s` of `abs` backward: `-1` for `z < 0`, `+1` for `z > 0`, `+0` for `z = ±0` and
/// for NaN.
#[inline]
pub fn abs_backward_sign<T: Element>(z: T) -> T {
    if z < T::ZERO {
        T::from_f64(-1.0)
    } else if z > T::ZERO {
        T::from_f64(1.0)
    } else {
        T::ZERO
    }
}

/// `abs` backward: `dy * s` as an IEEE product ([`mul`]) with `s` from [`abs_backward_sign`].
/// So at the kink `dx` is `±0` with `dy`'s sign, or the invalid-product NaN when `dy = ±inf`;
/// a NaN `dy` comes back quieted with its sign and payload, also when `s = -1` (a product, not
/// a sign flip). The same for both [`Subgradient`] values (0 is the subgradient at the kink).
#[inline]
pub fn abs_backward<T: Element>(z: T, dy: T) -> T {
    mul(dy, abs_backward_sign(z))
}
