// Valid Rust that once made the macro panic or compute the wrong thing: raw and underscored
// function names, a parameter named like a formula function, literals and folded constants
// that overflow f32, `powi` at the ends of i32.
use actigen::{Activation, activation};

#[activation]
pub fn r#match(x: f32) -> f32 {
    x * 2.0
}

#[activation]
pub fn _leading_underscore(x: f32) -> f32 {
    x.tanh()
}

#[activation]
pub fn scaled(x: f32, #[default(2.0)] erf: f32) -> f32 {
    erf * x + erfc(x)
}

#[activation]
#[allow(overflowing_literals)]
pub fn huge_literal(x: f32) -> f32 {
    x * 1e39
}

#[activation]
pub fn huge_product(x: f32) -> f32 {
    x * (1e30 * 1e30) + 3e38 * x.powi(3)
}

#[activation]
pub fn extreme_powers(x: f32) -> f32 {
    x.powi(-2147483648) + x.powi(2147483647) + x.powi(-2147483647)
}

fn main() {
    let mut y = [0.0f32; 2];
    Match.forward(&[1.0, 2.0], &mut y);
    assert_eq!(y, [2.0, 4.0]);
    LeadingUnderscore.forward(&[0.0, 0.0], &mut y);
    assert_eq!(y, [0.0, 0.0]);
    assert_eq!(scaled(1.0, 3.0), 3.0 + actigen::erfc(1.0));
    HugeLiteral.forward(&[1.0, -1.0], &mut y);
    assert_eq!(y, [f32::INFINITY, f32::NEG_INFINITY]);
    assert_eq!(huge_literal(1.0), f32::INFINITY);
    let _ = (HugeProduct, ExtremePowers);
}
