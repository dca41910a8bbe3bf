use actigen::activation;

#[activation]
fn wavy(x: f32) -> f32 {
    x.atan() * 2.0
}

fn main() {}
