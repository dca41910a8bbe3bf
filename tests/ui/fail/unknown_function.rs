use actigen::activation;

#[activation]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erfc(x))
}

fn main() {}
