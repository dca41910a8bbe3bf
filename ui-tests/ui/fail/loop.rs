use actigen::activation;

#[activation]
fn looped(x: f32) -> f32 {
    let y = x;
    for _ in 0..3 {
        y * 2.0;
    }
    y
}

fn main() {}
