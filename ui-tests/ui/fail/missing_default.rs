use actigen::activation;

// An argument after a parameter is a parameter: it needs a default (leading arguments without
// one are inputs).
#[activation]
fn scaled(x: f32, #[default(1.0)] beta: f32, alpha: f32) -> f32 {
    alpha * x * beta
}

fn main() {}
