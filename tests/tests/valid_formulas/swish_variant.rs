// A Swish variant with a learnable slope and a scale, and a renamed struct.
use actigen::{Activation, activation};

/// E-swish-like: scale·x·σ(beta·x).
#[activation(name = ScaledSwish)]
pub fn scaled_swish(x: f32, #[default(1.0)] beta: f32, #[default(1.25)] scale: f32) -> f32 {
    scale * x * sigmoid(beta * x)
}

fn main() {
    let a = ScaledSwish::default();
    assert_eq!((a.beta, a.scale), (1.0, 1.25));
    let mut y = [0.0f32; 3];
    a.forward(&[-1.0, 0.0, 1.0], &mut y);
    assert!((y[2] - 1.25 * 0.7310586).abs() < 1e-6);
    assert!((scaled_swish(1.0, 1.0, 1.25) - y[2]).abs() < 1e-6);
}
