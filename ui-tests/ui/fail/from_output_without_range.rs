use actigen::activation;

#[activation(from_output)]
fn leaky(x: f32, #[default(0.01)] alpha: f32) -> f32 {
    if x > 0.0 { x } else { alpha * x }
}

fn main() {}
