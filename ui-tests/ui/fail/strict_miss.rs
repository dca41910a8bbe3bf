use actigen::activation;

// sin(3.3·x): the product overflows to ±inf near f32::MAX (sin is NaN there, the value is
// finite), and far out the argument's rounding leaves no digit of sin near its zeros: no repair
// the macro has fixes either, so `strict` fails the build and says where.
#[activation(strict)]
fn wave(x: f32) -> f32 {
    (3.3 * x).sin()
}

// GELU's tanh form lost 90 ULP for x around −9, where the f32 rounding of tanh's argument is
// amplified by the tail's exponential (1 + tanh u = 2σ(2u) ≈ 2e^(2u)): the `compensated`
// repair carries the argument's rounding errors, and `strict` accepts it.
#[activation(strict)]
fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044715 * x * x * x)).tanh())
}

// ln(1 + x)/x is 0/0 at 0: the series patch repairs it, and `strict` accepts it.
#[activation(strict)]
fn ln1p_over_x(x: f32) -> f32 {
    x.ln_1p() / x
}

// ISRU's derivative, (1 − (x/s)²)/s with s = √(x² + 1), cancels for large |x|: the repairs
// (`select_lift`, `ratio_double`, `pythagorean`) make it 1/(x² + 1)/s, and `strict` accepts it.
#[activation(strict)]
fn isru(x: f32) -> f32 {
    x / (x * x + 1.0).sqrt()
}

fn main() {}
