//! The public entry points: validate (nothing written on error) -> the handle's backend ->
//! the kernel.

/// Runs `$body` with `$r` a `const bool`: `true` for [`Subgradient::Right`](crate::Subgradient::Right).
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

/// The public methods of [`Rectifier`](crate::Rectifier) that are generic over the element type,
/// compiled once per element type *in this crate*.
///
/// A generic function is compiled in the crate that instantiates it, so a plain generic method
/// would compile every kernel of every backend again in each crate (and each test binary) that
/// calls it. Instead, each public method forwards through a table of function pointers, one
/// static table per element type ([`Entries`]), filled here with the method's body (a private
/// `*_body` method); the caller compiles only the forwarding call.
///
/// Takes a module's table name, its field in [`Entries`], and the methods, written as ordinary
/// methods (`pub fn name<T: Element>(self, ...) -> Result<(), Error> { body }`).
macro_rules! entry_points {
    ($table:ident in $field:ident; $(
        $(#[$attr:meta])*
        pub fn $name:ident<T: Element>($self:ident, $($arg:ident: $ty:ty),* $(,)?)
            -> Result<(), Error> $body:block
    )*) => {
        /// This module's entry points for one element type.
        #[allow(clippy::type_complexity)]
        pub struct $table<T: Element> {
            $($name: fn(Rectifier, $($ty),*) -> Result<(), Error>,)*
        }

        impl<T: Element> $table<T> {
            /// The bodies of the methods, instantiated for `T`.
            pub(crate) const NEW: Self = paste::paste! {
                Self { $($name: Rectifier::[<$name _body>]::<T>,)* }
            };
        }

        impl Rectifier {
            $(
                $(#[$attr])*
                #[inline]
                pub fn $name<T: Element>($self, $($arg: $ty),*) -> Result<(), Error> {
                    (<T as crate::ops::Entry>::entries().$field.$name)($self, $($arg),*)
                }
            )*
        }

        paste::paste! {
            #[allow(clippy::too_many_arguments)]
            impl Rectifier {
                $(
                    fn [<$name _body>]<T: Element>($self, $($arg: $ty),*) -> Result<(), Error>
                        $body
                )*
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

/// Every entry point for the element type `T` (see `entry_points!`).
pub struct Entries<T: Element> {
    pub(crate) forward: forward::Table<T>,
    pub(crate) backward: backward::Table<T>,
    pub(crate) mask: mask::Table<T>,
    pub(crate) maxout: maxout::Table<T>,
    pub(crate) maxout_u8: maxout::IndexedTable<T, u8>,
    pub(crate) maxout_u16: maxout::IndexedTable<T, u16>,
    pub(crate) maxout_u32: maxout::IndexedTable<T, u32>,
}

impl<T: Element> Entries<T> {
    const NEW: Self = Entries {
        forward: forward::Table::NEW,
        backward: backward::Table::NEW,
        mask: mask::Table::NEW,
        maxout: maxout::Table::NEW,
        maxout_u8: maxout::IndexedTable::NEW,
        maxout_u16: maxout::IndexedTable::NEW,
        maxout_u32: maxout::IndexedTable::NEW,
    };
}

/// The element types' tables of entry points (a supertrait of [`Element`]; sealed with it).
pub trait Entry: Sized + 'static {
    /// The static table of `Self`.
    fn entries() -> &'static Entries<Self>
    where
        Self: Element;
}

macro_rules! entries {
    ($($t:ty => $table:ident),*) => {$(
        static $table: Entries<$t> = Entries::NEW;
        impl Entry for $t {
            #[inline]
            fn entries() -> &'static Entries<$t> {
                &$table
            }
        }
    )*};
}
entries!(f32 => F32, f64 => F64, half::bf16 => BF16, half::f16 => F16);

/// Checks that a scalar slope is finite.
pub(crate) fn check_slope<T: Element>(a: T::Slope) -> Result<(), Error> {
    let value: f64 = a.into();
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFiniteSlope { index: 0, value })
    }
}

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
