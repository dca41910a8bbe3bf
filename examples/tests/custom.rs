//! The custom activations of `actigen_examples` (`custom`, `mxnet`): registered by name,
//! gradients against central differences, values against f64 formulas. (An integration test
//! rather than the library's unit tests: those compiled the whole library a second time.)

use actigen::Activation;
use actigen::Formula;
use actigen_examples::*;

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
