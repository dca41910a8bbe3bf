use actigen::activation;

#[activation]
fn step(x: f32) -> f32 {
    let s = x > 0.0;
    x
}

fn main() {}
