// Every supported method and free function in one formula, with a parameter gradient.
use actigen::{Activation, activation};

#[activation]
fn kitchen_sink(x: f32, #[default(2.0)] k: f32) -> f32 {
    let a = x.exp() - x.exp_m1() + (x * x + 1.0).ln() + x.abs().ln_1p();
    let b = x.tanh() + (x * x + k).sqrt() + x.max(-1.0).min(1.0) + x.powi(3);
    a + b + sigmoid(k * x) + softplus(x) - 1.0 / (2.0 + x * x)
}

fn main() {
    let f = KitchenSink::default();
    let g = f.param_grads(&[0.5f32, -0.5], &[1.0, 1.0]);
    assert_eq!(g.len(), 1);
    assert!(g[0].is_finite());
}
