use actigen::activation;

#[activation]
fn shadow(x: f32, #[default(1.0)] beta: f32) -> f32 {
    let beta = beta * 2.0;
    x * beta
}

fn main() {}
