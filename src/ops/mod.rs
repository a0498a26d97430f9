//! The public entry points: validate (nothing written on error) -> the handle's backend ->
//! the kernel.

/// Runs `$body` with `$r` a `const bool`: `true` for [`Subgradient::Right`].
macro_rules! by_side {
    ($sub:expr, $r:ident => $body:expr) => {
        match $sub {
            Subgradient::Left => {
                const $r: bool = false;
                $body
            }
            Subgradient::Right => {
                const $r: bool = true;
                $body
            }
        }
    };
}

pub mod backward;
pub mod forward;
pub mod mask;
pub mod maxout;

use crate::element::Element;
use crate::error::Error;

/// Checks that every slope is finite (O(number of slopes), never per element).
pub(crate) fn check_slopes<T: Element>(slopes: &[T]) -> Result<(), Error> {
    match slopes.iter().position(|a| !a.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFiniteSlope {
            index,
            value: slopes[index].to_f64(),
        }),
    }
}
