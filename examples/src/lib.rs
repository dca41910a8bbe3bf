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

#[cfg(test)]
mod tests {
    use super::*;
    use actigen::Activation;
    use actigen::Formula;

    /// f′ and ∂f/∂p against central differences of the f64 forward kernel, away from kinks.
    fn gradients_match_finite_differences<F: Formula + Activation<f64>>(f: F, kinks: &[f64]) {
        for i in 0..400 {
            let x = -6.0 + 12.0 * f64::from(i) / 399.0 + 0.0071;
            if kinks.iter().any(|k| (x - k).abs() < 1e-3) {
                continue;
            }
            let h = 1e-6;
            let fd = (f.value(x + h) - f.value(x - h)) / (2.0 * h);
            let d = f.derivative(x);
            assert!(
                (d - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                "{} f'({x}) = {d}, fd {fd}",
                F::NAME
            );
            let mut parts = vec![0f64; F::PARAM_NAMES.len()];
            f.try_param_partials_on(actigen::Isa::Portable, &[x], &mut parts)
                .unwrap();
            for (j, part) in parts.iter().enumerate() {
                let p = f.param_at(j);
                let (lo, hi) = (p - 1e-3, p + 1e-3);
                let at = |v: f32| {
                    let mut g = f;
                    g.set_param_at(j, v);
                    g.value(x)
                };
                let fd = (at(hi) - at(lo)) / (f64::from(hi) - f64::from(lo));
                assert!(
                    (part - fd).abs() <= 1e-4 * fd.abs().max(1.0),
                    "{} ∂f/∂p{j}({x}) = {part}, fd {fd}",
                    F::NAME
                );
            }
        }
    }

    /// `register_custom` makes each custom activation a name of `by_name` (twice is fine), with
    /// the type's own values and parameters.
    #[test]
    fn custom_activations_are_registered_by_name() {
        register_custom();
        register_custom();
        let x = [-2.5f32, -0.3, 0.0, 1.2, 5.0];
        let own: [(&str, &dyn Activation<f32>); 6] = [
            ("e_swish", &ESwish::default()),
            ("swish2", &Swish2::default()),
            ("mish", &Mish),
            ("gelu", &Gelu),
            ("gelu_tanh", &GeluTanh),
            ("hard_swish", &HardSwish),
        ];
        for (name, act) in own {
            assert!(actigen::builtin::names().contains(&name), "{name}");
            let (mut a, mut b) = ([0.0f32; 5], [0.0f32; 5]);
            actigen::by_name(name, &[]).unwrap().forward(&x, &mut a);
            act.forward(&x, &mut b);
            assert_eq!(a, b, "{name}");
        }
        let e = actigen::by_name("e_swish", &[("beta", 2.0)]).unwrap();
        assert_eq!(actigen::ActivationInfo::params(&*e), vec![2.0]);
    }

    #[test]
    fn custom_activations_have_correct_gradients() {
        gradients_match_finite_differences(ESwish::default(), &[]);
        gradients_match_finite_differences(Swish2::default(), &[]);
        gradients_match_finite_differences(Mish, &[]);
        gradients_match_finite_differences(Gelu, &[]);
        gradients_match_finite_differences(GeluTanh, &[]);
        gradients_match_finite_differences(HardSwish, &[-3.0, 3.0]);
        gradients_match_finite_differences(Snake::new(0.7), &[]);
    }

    #[test]
    fn custom_activations_match_f64_formulas() {
        // Boxed as the tests' lean trait: `dyn DynActivation` would compile every slice pass.
        type Case = (Box<dyn actigen_tests::TestActivation>, fn(f64) -> f64);
        let cases: Vec<Case> = vec![
            (Box::new(Mish), |x| x * (x.exp().ln_1p()).tanh()),
            (Box::new(Gelu), |x| {
                0.5 * x * libm::erfc(-x / std::f64::consts::SQRT_2)
            }),
            // ½x(1 + tanh u) = x·σ(2u), without the cancellation of 1 + tanh u.
            (Box::new(GeluTanh), |x| {
                x / (1.0 + (-2.0 * 0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x)).exp())
            }),
            (Box::new(HardSwish), |x| x * (x + 3.0).clamp(0.0, 6.0) / 6.0),
            (Box::new(Snake::default()), |x| x + x.sin().powi(2)),
        ];
        for (i_case, (act, reference)) in cases.into_iter().enumerate() {
            let tail = 1e-37;
            // GELU's erfc(−u), u = x/√2, has condition number 2u² = x² in its argument, and
            // GELU-tanh's σ(2u) |2u| ≈ 1.6|x| + 0.07|x|³: the f32 rounding of the formulas'
            // constants (1/√2, 0.7978846, 0.044715; the references use their f64 values) is
            // amplified that much. (The arithmetic's own rounding of the argument is not: the
            // kernels carry it, the macro's `compensated` repair.)
            for i in 0..=2000 {
                let x = -10.0 + 0.01 * f64::from(i);
                let condition = match i_case {
                    1 => 1.0 + x * x,
                    2 => 1.0 + 1.6 * x.abs() + 0.08 * x.abs().powi(3),
                    _ => 1.0,
                };
                #[allow(clippy::cast_possible_truncation)]
                let x32 = x as f32;
                let got = actigen_tests::TestPasses::<f32>::value(&*act, x32);
                let want = reference(f64::from(x32));
                assert!(
                    (f64::from(got) - want).abs()
                        <= 4.0 * f64::from(f32::EPSILON) * condition * want.abs() + tail,
                    "{}({x32}) = {got}, want {want}",
                    act.name()
                );
            }
        }
    }
}
