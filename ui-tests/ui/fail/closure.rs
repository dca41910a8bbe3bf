use actigen::activation;

#[activation]
fn closure(x: f32) -> f32 {
    let f = |v: f32| v * v;
    f(x)
}

fn main() {}
