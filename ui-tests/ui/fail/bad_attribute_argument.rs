use actigen::activation;

#[activation(title = Foo)]
fn named(x: f32) -> f32 {
    x
}

#[activation(crate)]
fn no_path(x: f32) -> f32 {
    x
}

#[activation(crate = "not a path")]
fn not_a_path(x: f32) -> f32 {
    x
}

fn main() {}
