//! The ten activations against hand-written f64 formulas (`actigen_tests::reference`), on the
//! battery of inputs (linspace(−10, 10, 501) plus the extremes), on every ISA this CPU has:
//! forward within 4 ULP (f32) of the f64 value rounded; gradients within 1e−5 relative or
//! 2⁻²³ absolute. Also: the contracts of the MXNet guide's kinks and limits.

use actigen::{Activation, by_name};
use actigen_tests::{TEN, check_all_isas};

fn assert_none(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ten_activations_match_f64_references_on_every_isa() {
    let acts: Vec<_> = TEN.iter().map(|&n| (n, by_name(n, &[]).unwrap())).collect();
    let refs: Vec<_> = acts.iter().map(|(n, a)| (*n, &**a)).collect();
    let failures = check_all_isas("", &refs);
    assert_none(&failures);
}

/// Swish's forward kernel resolves x = ±inf itself (no guard; see
/// `actigen::math::linear_mul_sigmoid`): the limits and the battery for β of either sign, tiny,
/// huge and zero. The β are powers of two, so β·x is exact and the 4 ULP bound applies to the
/// kernel alone (for other β the f32 product β·x rounds before σ, as in the scalar formula).
#[test]
fn swish_for_every_sign_of_beta() {
    let betas = [
        2.0,
        0.5,
        2f64.powi(-100),
        2f64.powi(100),
        0.0,
        -0.5,
        -1.0,
        -2.0,
    ];
    let acts: Vec<_> = betas
        .iter()
        .map(|&b| (b, by_name("swish", &[("beta", b)]).unwrap()))
        .collect();
    let mut failures = Vec::new();
    for (b, act) in &acts {
        failures.extend(check_all_isas(
            &format!("beta={b:e} "),
            &[("swish", &**act)],
        ));
    }
    assert_none(&failures);
}

/// For β that is not a power of two, the f32 product β·x rounds before σ (as in the scalar
/// formula): the kernel is within 4 ULP of x·σ(fl(βx)) evaluated in f64, on every ISA, and the
/// printed figure is its distance from the exact x·σ(βx), which that rounding dominates.
#[test]
fn swish_error_beyond_the_bound_is_the_rounding_of_beta_x() {
    use actigen_tests::{battery_f32, sigmoid_ref, ulps32};
    let x: Vec<f32> = battery_f32()
        .into_iter()
        .filter(|v| v.is_finite())
        .collect();
    let mut y = vec![0f32; x.len()];
    for beta in [-3.0f32, 0.3, 1.702] {
        let act = by_name("swish", &[("beta", beta as f64)]).unwrap();
        for isa in actigen::Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            act.try_forward_on(isa, &x, &mut y).unwrap();
            let (mut to_rounded, mut to_exact) = (0, 0);
            for (&xi, &yi) in x.iter().zip(&y) {
                let rounded = xi as f64 * sigmoid_ref((beta * xi) as f64).0;
                let exact = xi as f64 * sigmoid_ref(beta as f64 * xi as f64).0;
                to_rounded = to_rounded.max(ulps32(yi, rounded));
                to_exact = to_exact.max(ulps32(yi, exact));
            }
            eprintln!(
                "{isa:6} swish beta={beta}: max {to_rounded} ulp from x·σ(fl(βx)), {to_exact} ulp from x·σ(βx)"
            );
            assert!(to_rounded <= 4, "{isa} beta={beta}: {to_rounded} ulp");
        }
    }
}

#[test]
fn kinks_and_limits_follow_mxnet() {
    let d = |name: &str, x: f32| -> f32 {
        Activation::<f32>::derivative(&*by_name(name, &[]).unwrap(), x)
    };
    let f =
        |name: &str, x: f32| -> f32 { Activation::<f32>::value(&*by_name(name, &[]).unwrap(), x) };
    assert_eq!(d("relu", 0.0), 0.0);
    assert_eq!(d("leaky", 0.0), 0.01);
    assert_eq!(d("prelu", 0.0), 0.25);
    assert_eq!(
        d("selu", 0.0),
        (actigen_tests::SELU_LAMBDA * actigen_tests::SELU_ALPHA) as f32
    );
    assert_eq!(f("softrelu", 100.0), 100.0);
    let s = f("sigmoid", -100.0);
    assert!(
        (s as f64 - 3.720075976020836e-44).abs() <= 1.5e-45,
        "sigmoid(-100) = {s:e}"
    );
    assert_eq!(f("softsign", f32::INFINITY), 1.0);
    assert_eq!(f("softsign", f32::NEG_INFINITY), -1.0);
    assert_eq!(f("swish", f32::NEG_INFINITY), 0.0);
    assert_eq!(d("swish", f32::INFINITY), 1.0);
    for name in TEN {
        assert!(f(name, f32::NAN).is_nan(), "{name}(NaN) must be NaN");
        assert!(d(name, f32::NAN).is_nan(), "{name}'(NaN) must be NaN");
    }
    // Subnormals are not flushed.
    assert_eq!(f("relu", 1e-40), 1e-40);
    assert_eq!(f("tanh", 1e-40), 1e-40);
}
