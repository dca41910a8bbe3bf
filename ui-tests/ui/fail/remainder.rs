use actigen::activation;

#[activation]
fn sawtooth(x: f32) -> f32 {
    x % 1.0
}

fn main() {}
