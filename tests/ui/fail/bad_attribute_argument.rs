use actigen::activation;

#[activation(title = Foo)]
fn named(x: f32) -> f32 {
    x
}

fn main() {}
