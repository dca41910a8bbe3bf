use actigen::activation;

#[activation(from_output)]
fn swish(x: f32, #[default(1.0)] beta: f32) -> f32 {
    x * sigmoid(beta * x)
}

fn main() {}
