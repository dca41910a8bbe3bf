use actigen::activation;

#[activation]
fn blow_up(x: f32) -> f32 {
    x / 0.0
}

fn main() {}
