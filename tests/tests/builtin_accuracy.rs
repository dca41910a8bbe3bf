//! The ten activations against hand-written f64 formulas (`actigen_tests::reference`), on the
//! battery of inputs (linspace(−10, 10, 501) plus the extremes), on every ISA this CPU has:
//! forward within 4 ULP (f32) of the f64 value rounded; gradients within 1e−5 relative or
//! 2⁻²³ absolute. Also: the contracts of the MXNet guide's kinks and limits.

use actigen::{Activation, Isa, by_name};
use actigen_tests::{TEN, battery_f32, close, reference, ulps32};

const GRAD_REL: f64 = 1e-5;
const GRAD_ABS: f64 = 1.0 / 8_388_608.0; // 2^-23

fn isas() -> Vec<Isa> {
    Isa::ALL
        .into_iter()
        .filter(|isa| {
            let ok = isa.is_supported();
            if !ok {
                eprintln!("skipping the {isa} path: this CPU does not support it");
            }
            ok
        })
        .collect()
}

#[test]
fn ten_activations_match_f64_references_on_every_isa() {
    let x = battery_f32();
    let n = x.len();
    let mut failures = Vec::new();
    for isa in isas() {
        for name in TEN {
            let act = by_name(name, &[]).unwrap();
            let params: Vec<f64> = Activation::<f32>::params(&*act)
                .iter()
                .map(|&p| p as f64)
                .collect();
            let np = params.len();
            let reference = reference(name);
            let mut y = vec![0f32; n];
            let mut dx = vec![0f32; n];
            let mut dp = vec![0f32; n * np];
            act.try_forward_on(isa, &x, &mut y).unwrap();
            act.try_backward_on(isa, &x, &vec![1.0; n], &mut dx)
                .unwrap();
            act.try_param_partials_on(isa, &x, &mut dp).unwrap();
            let (mut worst_f, mut worst_g) = (0u64, 0f64);
            for i in 0..n {
                let (f, d, ps) = reference(x[i] as f64, &params);
                let u = ulps32(y[i], f);
                worst_f = worst_f.max(u);
                if u > 4 {
                    failures.push(format!(
                        "{isa} {name} f({:e}) = {:e}, want {:e} ({u} ulp)",
                        x[i], y[i], f
                    ));
                }
                let mut grads = vec![(dx[i] as f64, d, "x".to_string())];
                for (j, p) in ps.iter().enumerate() {
                    grads.push((dp[j * n + i] as f64, *p, format!("p{j}")));
                }
                for (got, want, what) in grads {
                    if !close(got, want, GRAD_REL, GRAD_ABS) {
                        failures.push(format!(
                            "{isa} {name} ∂f/∂{what}({:e}) = {got:e}, want {want:e}",
                            x[i]
                        ));
                    } else if want.is_finite() {
                        // Error as a fraction of the allowed error.
                        let allowed = GRAD_ABS.max(GRAD_REL * want.abs());
                        worst_g = worst_g.max((got - want).abs() / allowed);
                    }
                }
            }
            eprintln!(
                "{isa:6} {name:8} forward max {worst_f} ulp; gradients max error {worst_g:.3} of the tolerance"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
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
