//! Custom activations defined with `#[activation]`, shared by the examples (`visualize` draws
//! them next to the ten built-ins) and tested below against f64 formulas and finite differences.
//!
//! This is a "user crate": the activations here, and the ten of the `MXNet` guide expanded again
//! in [`mxnet`], are linted with `clippy::pedantic` (denied), which checks that the macro's
//! expansion is clean in someone else's crate.

pub use custom::*;

/// The names [`register_custom`] registers, in order.
pub const CUSTOM_NAMES: [&str; 6] = [
    "e_swish",
    "swish2",
    "mish",
    "gelu",
    "gelu_tanh",
    "hard_swish",
];

/// Registers the custom activations under [`CUSTOM_NAMES`] (once; later calls do nothing), so
/// that `actigen::by_name` builds them: `eval mish`, `bench --acts gelu,hard_swish`, and
/// `visualize` draws them by name, as a user's own binary would after
/// `actigen::builtin::register`.
///
/// # Panics
/// If a built-in took one of the names.
pub fn register_custom() {
    use actigen::builtin::register;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let all = [
            register::<ESwish>(CUSTOM_NAMES[0]),
            register::<Swish2>(CUSTOM_NAMES[1]),
            register::<Mish>(CUSTOM_NAMES[2]),
            register::<Gelu>(CUSTOM_NAMES[3]),
            register::<GeluTanh>(CUSTOM_NAMES[4]),
            register::<HardSwish>(CUSTOM_NAMES[5]),
        ];
        for r in all {
            r.expect("a custom name no built-in takes");
        }
    });
}

/// The custom activations.
#[deny(clippy::pedantic)]
pub mod custom {
    use actigen::activation;

    /// E-swish (Alcaide et al.): beta·x·σ(x), a Swish variant with a scale.
    #[activation]
    pub fn e_swish(x: f32, #[default(1.375)] beta: f32) -> f32 {
        beta * x * sigmoid(x)
    }

    /// Swish with a steeper default slope, x·σ(2x): the "Swish-2" curve of Ramachandran et al.
    #[activation]
    pub fn swish2(x: f32, #[default(2.0)] beta: f32) -> f32 {
        x * sigmoid(beta * x)
    }

    /// Mish (Misra): x·tanh(softplus(x)).
    #[activation]
    pub fn mish(x: f32) -> f32 {
        x * softplus(x).tanh()
    }

    /// GELU (Hendrycks & Gimpel), exact form: x·Φ(x) = ½x(1 + erf(x/√2)).
    ///
    /// As written, 1 + erf(u) cancels for u < −3: below x ≈ −5.5 it is 0 in f32 where the true
    /// value is under 1e−7 in magnitude. The macro rewrites it to erfc(−u) (rule `erfc`), which
    /// keeps the tail down to where GELU underflows (x ≈ −14).
    #[activation]
    pub fn gelu(x: f32) -> f32 {
        0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
    }

    /// GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    #[activation]
    pub fn gelu_tanh(x: f32) -> f32 {
        let inner = 0.797_884_560_802_865_4 * (x + 0.044_715 * x.powi(3));
        0.5 * x * (1.0 + inner.tanh())
    }

    /// Hard-swish (Howard et al., `MobileNetV3`): x·relu6(x + 3)/6.
    #[activation]
    pub fn hard_swish(x: f32) -> f32 {
        x * (x + 3.0).clamp(0.0, 6.0) / 6.0
    }

    /// Snake (Liu Ziyin et al.): x + sin²(a·x)/a, with a learnable frequency a.
    #[activation]
    pub fn snake(x: f32, #[default(1.0)] a: f32) -> f32 {
        x + (a * x).sin().powi(2) / a
    }
}

/// The ten activations of the `MXNet` guide, expanded in this (pedantically linted) user crate.
#[deny(clippy::pedantic)]
pub mod mxnet {
    use actigen::activation;

    /// σ(x).
    #[activation(from_output)]
    pub fn sigmoid(x: f32) -> f32 {
        sigmoid(x)
    }
    /// tanh x.
    #[activation(from_output)]
    pub fn tanh(x: f32) -> f32 {
        x.tanh()
    }
    /// x/(1 + |x|).
    #[activation(from_output)]
    pub fn softsign(x: f32) -> f32 {
        x / (1.0 + x.abs())
    }
    /// max(x, 0).
    #[activation(from_output)]
    pub fn relu(x: f32) -> f32 {
        if x > 0.0 { x } else { 0.0 }
    }
    /// ln(1 + eˣ).
    #[activation(from_output)]
    pub fn softrelu(x: f32) -> f32 {
        softplus(x)
    }
    /// Leaky `ReLU`.
    #[activation(from_output)]
    pub fn leaky(
        x: f32,
        #[default(0.01)]
        #[range(0.0..)]
        alpha: f32,
    ) -> f32 {
        if x > 0.0 { x } else { alpha * x }
    }
    /// `PReLU`.
    #[activation(from_output)]
    pub fn prelu(
        x: f32,
        #[default(0.25)]
        #[range(0.0..)]
        alpha: f32,
    ) -> f32 {
        if x > 0.0 { x } else { alpha * x }
    }
    /// ELU.
    #[activation(from_output)]
    pub fn elu(
        x: f32,
        #[default(1.0)]
        #[range(0.0..)]
        alpha: f32,
    ) -> f32 {
        if x > 0.0 { x } else { alpha * x.exp_m1() }
    }
    /// SELU.
    #[activation(from_output)]
    pub fn selu(x: f32) -> f32 {
        if x > 0.0 {
            1.050_700_987_355_480_5 * x
        } else {
            1.050_700_987_355_480_5 * 1.673_263_242_354_377_3 * x.exp_m1()
        }
    }
    /// Swish.
    #[activation]
    pub fn swish(x: f32, #[default(1.0)] beta: f32) -> f32 {
        x * sigmoid(beta * x)
    }
}
