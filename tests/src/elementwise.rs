//! The vector math functions (`actigen::math`) as one-function activations, to evaluate them
//! over slices on any ISA (`Exp.try_forward_on(isa, &x, &mut y)`); the tests and the
//! `accuracy` example measure the math through them. The forward kernel of each is exactly the
//! vector math function of the same name, unguarded.

use actigen::activation;

/// eˣ
#[activation]
pub fn exp(x: f32) -> f32 {
    x.exp()
}
/// eˣ − 1
#[activation]
pub fn exp_m1(x: f32) -> f32 {
    x.exp_m1()
}
/// ln x
#[activation]
pub fn ln(x: f32) -> f32 {
    x.ln()
}
/// ln(1 + x)
#[activation]
pub fn ln_1p(x: f32) -> f32 {
    x.ln_1p()
}
/// tanh x
#[activation]
pub fn tanh(x: f32) -> f32 {
    x.tanh()
}
/// σ(x)
#[activation]
pub fn sigmoid(x: f32) -> f32 {
    sigmoid(x)
}
/// softplus(x)
#[activation]
pub fn softplus(x: f32) -> f32 {
    softplus(x)
}
/// sin x
#[activation]
pub fn sin(x: f32) -> f32 {
    x.sin()
}
/// cos x
#[activation]
pub fn cos(x: f32) -> f32 {
    x.cos()
}
/// erf x
#[activation]
pub fn erf(x: f32) -> f32 {
    erf(x)
}
/// erfc x
#[activation]
pub fn erfc(x: f32) -> f32 {
    erfc(x)
}
