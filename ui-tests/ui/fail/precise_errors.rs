use actigen::activation;

#[activation]
pub fn empty_range(x: f32, #[default(1.5)] #[range(2.0..1.0)] a: f32) -> f32 {
    a * x
}

#[activation]
pub fn qualified_path(x: f32) -> f32 {
    x * <f32>::MAX
}

#[activation]
pub fn generic_path(x: f32) -> f32 {
    x * std::f32::consts::<f32>::PI
}

#[activation]
pub fn exponent_too_big(x: f32) -> f32 {
    x.powi(2147483648)
}

#[activation]
pub fn shadowed_function(x: f32, #[default(1.0)] sigmoid: f32) -> f32 {
    sigmoid(x) * sigmoid
}

fn main() {}
