use actigen::activation;

#[activation]
fn gelu(x: f32) -> f32 {
    x * normal_cdf(x)
}

fn main() {}
