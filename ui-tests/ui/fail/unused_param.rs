use actigen::activation;

#[activation]
fn forgot(x: f32, #[default(1.0)] beta: f32) -> f32 {
    x * sigmoid(x)
}

fn main() {}
