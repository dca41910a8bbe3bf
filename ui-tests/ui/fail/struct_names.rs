use actigen::activation;

// No identifier in UpperCamelCase: a name must be given.
#[activation]
pub fn _1x(x: f32) -> f32 {
    x
}

// A struct without parameters is also a value: it would collide with the function.
#[activation(name = same)]
pub fn same(x: f32) -> f32 {
    x
}

// Two names for one struct.
#[activation(name = A, name = B)]
pub fn twice(x: f32) -> f32 {
    x
}

fn main() {}
