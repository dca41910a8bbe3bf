use actigen::activation;

#[activation]
fn scaled(x: f32, alpha: f32) -> f32 {
    alpha * x
}

fn main() {}
