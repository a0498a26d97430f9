//! Which one-sided derivative the backward kernels take at the kink.

/// The derivative chosen at the kink `z = 0` of a rectifier.
///
/// ReLU, leaky ReLU, PReLU and `|z|` are piecewise linear with a corner at `z = 0`: the slope
/// just left of 0 (`0`, `a`, `a[c]`, `-1`) differs from the slope just right of it (`1`), so
/// there is no derivative at exactly 0, only a set of subgradients between the two one-sided
/// slopes. Training needs *a* number there; gradient descent converges with any subgradient,
/// and an input lands exactly on `±0` often enough (ReLU outputs, padding, sparse data) that the
/// choice must be fixed for results to be reproducible. Frameworks take a one-sided derivative:
/// it is one of the two slopes the function actually has, it needs no extra compare, and it
/// keeps `dx` equal to either `dy` or `a * dy`.
///
/// For `abs` the subgradient at the kink is `0` whichever side is chosen (the two sides are `-1`
/// and `+1`; `0` is the symmetric choice, as in PyTorch), so `abs` backward ignores this value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Subgradient {
    /// The left derivative at `z = ±0` (PyTorch's convention, the default): ReLU passes `+0`,
    /// leaky ReLU / PReLU pass `a * dy`. Only `z > 0` counts as the linear side.
    #[default]
    Left,
    /// The right derivative at `z = ±0`: every op passes `dy` unchanged. `z >= 0` counts as the
    /// linear side.
    Right,
}

impl Subgradient {
    /// `"left"` or `"right"`.
    pub const fn name(self) -> &'static str {
        match self {
            Subgradient::Left => "left",
            Subgradient::Right => "right",
        }
    }
}

impl core::fmt::Display for Subgradient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
