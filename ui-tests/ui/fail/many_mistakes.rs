use actigen::activation;

// Every mistake is reported in one build.
#[activation]
fn messy(x: f32, #[default(1.0)] a: f32) -> f32 {
    let y = x.floor();
    let z = foo(x) + x.atan();
    a * y * z % 2.0
}

fn main() {}
