//! Scalar functions a formula may call besides `f32` methods.
//!
//! They make the formula compile as plain Rust (it is re-emitted unchanged as the scalar
//! reference) and compute with the same vector math as the kernels' portable path.

use crate::math;
use crate::simd::Scalar;

/// The logistic function 1/(1 + e⁻ˣ), without overflow.
pub fn sigmoid(x: f32) -> f32 {
    math::sigmoid(Scalar(x)).0
}

/// softplus(x) = ln(1 + eˣ), without overflow.
pub fn softplus(x: f32) -> f32 {
    math::softplus(Scalar(x)).0
}

/// The error function erf(x) = (2/√π)∫₀ˣ e^(−t²) dt.
pub fn erf(x: f32) -> f32 {
    math::erf(Scalar(x)).0
}

/// The complementary error function erfc(x) = 1 − erf(x), without the cancellation of that
/// difference for large x.
pub fn erfc(x: f32) -> f32 {
    math::erfc(Scalar(x)).0
}
