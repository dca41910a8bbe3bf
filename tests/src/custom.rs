//! Custom activations the graph, shader and GPU tests share (`ir.rs`, `wgsl.rs`, `gpu.rs`):
//! the two GELU forms and Mish (erfc, tanh, softplus and the sigmoid rewrites), and a quotient
//! whose forward body has the ±inf guard.

use actigen::activation;

/// GELU, exact form: x/2·erfc(−x/√2).
#[activation]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * erfc(-x * std::f32::consts::FRAC_1_SQRT_2)
}

/// GELU, tanh form (rewritten by the macro to x·σ(2u)).
#[activation]
pub fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044715 * x.powi(3))).tanh())
}

/// Mish: x·tanh(softplus(x)).
#[activation]
pub fn mish(x: f32) -> f32 {
    x * softplus(x).tanh()
}

/// x·eˣ/(eˣ + 1): NaN (inf/inf) at ±inf in its body, so its forward has the ±inf guard.
#[activation]
pub fn ratio(x: f32) -> f32 {
    x * x.exp() / (x.exp() + 1.0)
}
