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

/// Softsign's derivative where it is small: 1/(1 + |x|)² in f64, within 1e−6 relative (the
/// battery's 2⁻²³ absolute slack says nothing there). As the quotient rule gives it,
/// (1 − x/(1 + |x|)·sign(x))/(1 + |x|), it lost 3% at x = 1e6 and every digit beyond 2²⁴
/// (0 for 1/x²); the `complement_ratio` repair makes it 1/(1 + |x|)/(1 + |x|). The second
/// derivative, −2·sign(x)/(1 + |x|)³, within 1e−5 where that is a normal f32. Every ISA, the
/// slice passes and the scalar API.
#[test]
fn softsign_derivatives_keep_their_digits_for_large_inputs() {
    let act = by_name("softsign", &[]).unwrap();
    let mut xs: Vec<f32> = Vec::new();
    for e in 0..=38 {
        for m in [1.0f32, 1.7, 3.3, 7.9] {
            let v = m * 10f32.powi(e);
            if v.is_finite() {
                xs.push(v);
                xs.push(-v);
            }
        }
    }
    xs.extend([
        16_777_216.0,
        16_777_217.0,
        3.4e38,
        -3.4e38,
        0.0,
        -0.0,
        1e-30,
    ]);
    let n = xs.len();
    for isa in actigen::Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        let (mut d, mut d2) = (vec![0.0f32; n], vec![0.0f32; n]);
        Activation::<f32>::try_backward_on(&*act, isa, &xs, &vec![1.0; n], &mut d).unwrap();
        Activation::<f32>::try_grad2_on(&*act, isa, &xs, &vec![1.0; n], &mut d2).unwrap();
        for (i, &x) in xs.iter().enumerate() {
            let q = 1.0 + (x as f64).abs();
            let want = 1.0 / (q * q);
            let got = d[i] as f64;
            let scalar = Activation::<f32>::derivative(&*act, x) as f64;
            let slack = f32::from_bits(1) as f64;
            for (what, v) in [("backward", got), ("derivative", scalar)] {
                assert!(
                    (v - want).abs() <= 1e-6 * want + slack,
                    "softsign {what} on {isa} at {x:e}: {v:e}, want {want:e}"
                );
            }
            let want2 = -2.0 * (x as f64).signum() / (q * q * q);
            // (At ±0 the one-sided values differ: ∓2.)
            if x != 0.0 && want2.abs() >= f32::MIN_POSITIVE as f64 {
                let got2 = d2[i] as f64;
                assert!(
                    (got2 - want2).abs() <= 1e-5 * want2.abs(),
                    "softsign f'' on {isa} at {x:e}: {got2:e}, want {want2:e}"
                );
            }
        }
    }
}

/// The sigmoid forms switch to their tail form below x = −87 (f32) and −708 (f64), where the
/// fast form's e^(−x) would leave its one-step scaling (and, in f32, σ(x) nears the subnormal
/// range). On both sides of that switch, and beyond it on the other side (σ(x)σ(−x) for large
/// positive x), sigmoid and swish forward and backward stay within the bounds of the battery,
/// on every ISA, against f64 references (f32) and e^x from std (f64, where σ(x) = e^x/(1 + e^x)
/// is e^x within 1e−300 relative).
#[test]
fn sigmoid_forms_keep_their_accuracy_across_the_tail_switch() {
    use actigen_tests::{reference, ulps32, ulps64};
    let mut failures = Vec::new();
    // f32: x in [−90, −78] and [78, 90] in steps of 2⁻⁷, and the switch's neighbours.
    let mut x32: Vec<f32> = (0..=1536)
        .flat_map(|i| [-90.0 + i as f32 / 128.0, 78.0 + i as f32 / 128.0])
        .collect();
    for s in [-87.0f32, -80.0, 87.0, 80.0] {
        x32.extend([
            s,
            f32::from_bits(s.to_bits() - 1),
            f32::from_bits(s.to_bits() + 1),
        ]);
    }
    // f64: x in [−712, −695] in steps of 2⁻⁶, and the switch's neighbours.
    let mut x64: Vec<f64> = (0..=1088).map(|i| -712.0 + i as f64 / 64.0).collect();
    for s in [-708.0f64, -700.0] {
        x64.extend([
            s,
            f64::from_bits(s.to_bits() - 1),
            f64::from_bits(s.to_bits() + 1),
        ]);
    }
    for name in ["sigmoid", "swish"] {
        let act = by_name(name, &[]).unwrap();
        let p = act.params().iter().map(|&v| v as f64).collect::<Vec<_>>();
        let f = reference(name);
        for isa in actigen::Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            let n = x32.len();
            let (mut y, mut d) = (vec![0f32; n], vec![0f32; n]);
            Activation::<f32>::try_forward_on(&*act, isa, &x32, &mut y).unwrap();
            Activation::<f32>::try_backward_on(&*act, isa, &x32, &vec![1.0; n], &mut d).unwrap();
            let (mut fwd, mut bwd) = ((0, 0.0), (0, 0.0));
            for i in 0..n {
                let (want, dwant, _) = f(x32[i] as f64, &p);
                let (u, v) = (ulps32(y[i], want), ulps32(d[i], dwant));
                if u > fwd.0 {
                    fwd = (u, x32[i]);
                }
                if v > bwd.0 {
                    bwd = (v, x32[i]);
                }
            }
            eprintln!("{isa:6} f32 {name}: forward {fwd:?}, backward {bwd:?} (ulp, at x)");
            if fwd.0 > 4 || bwd.0 > 8 {
                failures.push(format!(
                    "{isa} f32 {name}: forward {fwd:?}, backward {bwd:?}"
                ));
            }
            let n = x64.len();
            let (mut y, mut d) = (vec![0f64; n], vec![0f64; n]);
            Activation::<f64>::try_forward_on(&*act, isa, &x64, &mut y).unwrap();
            Activation::<f64>::try_backward_on(&*act, isa, &x64, &vec![1.0; n], &mut d).unwrap();
            let (mut fwd, mut bwd) = ((0, 0.0), (0, 0.0));
            for i in 0..n {
                // sigmoid: σ = σ′ = e^x; swish: x·e^x, and σ + x·σ′ = (1 + x)·e^x, formed as
                // (x·h)·h with h = e^(x/2), so the factor e^x is not rounded to a subnormal first.
                let (x, h) = (x64[i], (x64[i] / 2.0).exp());
                let (want, dwant) = if name == "sigmoid" {
                    (x.exp(), x.exp())
                } else {
                    (x * h * h, (1.0 + x) * h * h)
                };
                let (u, v) = (ulps64(y[i], want), ulps64(d[i], dwant));
                if u > fwd.0 {
                    fwd = (u, x);
                }
                if v > bwd.0 {
                    bwd = (v, x);
                }
            }
            eprintln!("{isa:6} f64 {name}: forward {fwd:?}, backward {bwd:?} (ulp, at x)");
            if fwd.0 > 4 || bwd.0 > 8 {
                failures.push(format!(
                    "{isa} f64 {name}: forward {fwd:?}, backward {bwd:?}"
                ));
            }
        }
    }
    assert_none(&failures);
}
