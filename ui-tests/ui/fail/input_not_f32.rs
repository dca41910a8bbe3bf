use actigen::activation;

#[activation]
fn double(x: f64) -> f32 {
    2.0 * x
}

fn main() {}
