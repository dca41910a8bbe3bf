use actigen::activation;

// A forgotten `#[default]` makes `alpha` a second input, which the formula does not use.
#[activation]
fn gated(x: f32, alpha: f32) -> f32 {
    x * sigmoid(x)
}

#[activation(from_output)]
fn product(gate: f32, up: f32) -> f32 {
    gate * up
}

fn main() {}
