use actigen::activation;

#[activation]
fn early(x: f32) -> f32 {
    return x * 2.0;
}

fn main() {}
