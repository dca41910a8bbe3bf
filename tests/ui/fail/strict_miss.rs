use actigen::activation;

// ISRU's derivative, (1 − (x/s)²)/s with s = √(x² + 1), cancels for large |x|: no repair
// the macro has fixes it, so `strict` fails the build and says where.
#[activation(strict)]
fn isru(x: f32) -> f32 {
    x / (x * x + 1.0).sqrt()
}

// ln(1 + x)/x is 0/0 at 0: the series patch repairs it, and `strict` accepts it.
#[activation(strict)]
fn ln1p_over_x(x: f32) -> f32 {
    x.ln_1p() / x
}

fn main() {}
