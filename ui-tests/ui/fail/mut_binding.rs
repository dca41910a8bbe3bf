use actigen::activation;

#[activation]
fn mutable(x: f32) -> f32 {
    let mut y = x * x;
    y = y + 1.0;
    y
}

fn main() {}
