use actigen::activation;

#[activation]
fn half(x: f32) -> f32 {
    if x > 0.0 { x }
}

fn main() {}
