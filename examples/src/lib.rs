//! Custom activations defined with `#[activation]`, shared by the examples (`visualize` draws
//! them next to the ten built-ins) and by their tests.

use actigen::activation;

/// E-swish (Alcaide et al.): beta·x·σ(x), a Swish variant with a fixed slope and a scale.
#[activation]
pub fn e_swish(x: f32, #[default(1.375)] beta: f32) -> f32 {
    beta * x * sigmoid(x)
}

/// Swish with a steeper default slope, x·σ(2x): the "Swish-2" curve of Ramachandran et al.
#[activation]
pub fn swish2(x: f32, #[default(2.0)] beta: f32) -> f32 {
    x * sigmoid(beta * x)
}

/// Mish (Misra): x·tanh(softplus(x)).
#[activation]
pub fn mish(x: f32) -> f32 {
    x * softplus(x).tanh()
}
