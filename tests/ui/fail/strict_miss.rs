use actigen::activation;

// GELU's tanh form loses over 100 ULP for x around −9, where the f32 rounding of tanh's
// argument is amplified by the tail's exponential (1 + tanh u = 2σ(2u) ≈ 2e^(2u)): no repair
// the macro has fixes it, so `strict` fails the build and says where.
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
