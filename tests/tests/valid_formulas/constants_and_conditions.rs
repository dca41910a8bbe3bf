// Constant paths, nested `if`/`else if`, `&&`/`||`/`!`, `let` with a type, powi.
use actigen::{Activation, activation};

const KNEE: f32 = 0.5;

#[activation]
fn bumpy(x: f32) -> f32 {
    let s: f32 = x * std::f32::consts::FRAC_1_SQRT_2;
    if x > -KNEE && x < KNEE {
        s.powi(2)
    } else if !(x >= 3.0) || x > 10.0 {
        s.abs() - 0.25 * KNEE
    } else {
        s.tanh()
    }
}

fn main() {
    let mut y = [0.0f64; 2];
    Bumpy.forward(&[0.25, 4.0], &mut y);
    assert!((y[0] - 0.03125).abs() < 1e-12);
    assert!((y[1] - (4.0 * std::f64::consts::FRAC_1_SQRT_2).tanh()).abs() < 1e-12);
}
