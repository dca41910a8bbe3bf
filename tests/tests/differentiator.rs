//! The differentiator against central finite differences in f64, on formulas beyond the ten,
//! with parameters; and the derived kernels against each other (value vs slice, f64 vs f32).
//!
//! Finite differences use the f64 forward kernel, which shares no code with the derived
//! derivative kernels: a wrong rule shows up as a mismatch.

use actigen::Formula;
use actigen::{Activation, activation};

#[activation]
fn cubic_ratio(x: f32) -> f32 {
    x.powi(3) / (1.0 + x * x)
}

#[activation]
fn gauss(x: f32, #[default(0.7)] width: f32) -> f32 {
    let z = x / width;
    (-(z * z)).exp()
}

#[activation]
fn mish(x: f32) -> f32 {
    x * softplus(x).tanh()
}

#[activation]
fn hyp(x: f32, #[default(1.5)] a: f32, #[default(-0.25)] b: f32) -> f32 {
    (x * x + a * a).sqrt() + b * x.ln_1p().abs()
}

#[activation]
fn clipped(x: f32, #[default(0.5)] lo: f32) -> f32 {
    let y = x.max(lo).min(2.0);
    y * y.exp_m1() - x.abs().ln() * 0.1
}

#[activation]
fn piecewise(x: f32, #[default(2.0)] k: f32) -> f32 {
    if x < -1.0 {
        k * (x + 1.0) - 0.5
    } else if x <= 1.0 {
        0.5 * x * x - 0.5 + sigmoid(k * x) * 0.0
    } else {
        (x - 1.0).tanh() + 0.0 * k
    }
}

#[activation]
fn reciprocal_exp(x: f32, #[default(3.0)] c: f32) -> f32 {
    c / (1.0 + (c * x).exp()) + x.powi(-2)
}

#[activation]
fn erfc_tail(x: f32, #[default(0.8)] a: f32) -> f32 {
    x * erfc(a * x) + 0.25 * (1.0 - erf(x))
}

/// Central difference of `f` at `x` with a relative step.
fn central(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// f′ and every ∂f/∂p of `act` against central differences at the points `xs`.
fn check<F: Formula + Activation<f64>>(act: F, xs: &[f64]) {
    let np = F::PARAM_NAMES.len();
    for &x in xs {
        let want = central(|t| act.value(t), x);
        let got = act.derivative(x);
        let tol = 1e-6 * want.abs().max(1.0);
        assert!(
            (got - want).abs() <= tol,
            "{} f'({x}) = {got}, finite difference {want}",
            F::NAME
        );
        let mut parts = vec![0f64; np];
        act.try_param_partials_on(actigen::Isa::Portable, &[x], &mut parts)
            .unwrap();
        for (j, &part) in parts.iter().enumerate() {
            // The parameter is stored in f32: use a wide step and the f32-rounded points.
            let p = act.param_at(j);
            let h = 1e-3 * p.abs().max(1.0);
            let (lo, hi) = (p - h, p + h);
            let at = |v: f32| {
                let mut a = act;
                a.set_param_at(j, v);
                a.value(x)
            };
            let want = (at(hi) - at(lo)) / (hi as f64 - lo as f64);
            let tol = 1e-4 * want.abs().max(1.0);
            assert!(
                (part - want).abs() <= tol,
                "{} ∂f/∂{}({x}) = {part}, finite difference {want}",
                F::NAME,
                F::PARAM_NAMES[j]
            );
        }
    }
}

fn points(avoid: &[f64]) -> Vec<f64> {
    (0..200)
        .map(|i| -4.9 + 9.8 * i as f64 / 199.0 + 0.0123)
        .filter(|x| avoid.iter().all(|k| (x - k).abs() > 1e-3))
        .collect()
}

#[test]
fn derivatives_match_finite_differences() {
    check(CubicRatio, &points(&[]));
    check(Gauss::default(), &points(&[]));
    check(Mish, &points(&[]));
    check(
        Hyp::default(),
        &points(&[-1.0, 0.0])
            .into_iter()
            .filter(|&x| x > -1.0)
            .collect::<Vec<_>>(),
    );
    check(Clipped::default(), &points(&[0.0, 0.5, 2.0]));
    check(Piecewise::default(), &points(&[-1.0, 1.0]));
    check(ReciprocalExp::default(), &points(&[0.0]));
    check(ErfcTail::default(), &points(&[]));
}

#[test]
fn second_derivatives_of_the_ten_match_finite_differences() {
    check(actigen::Sigmoid, &points(&[]));
    check(actigen::Tanh, &points(&[]));
    check(actigen::Softsign, &points(&[0.0]));
    check(actigen::Softrelu, &points(&[]));
    check(actigen::Elu::default(), &points(&[0.0]));
    check(actigen::Selu, &points(&[0.0]));
    check(actigen::Swish::default(), &points(&[]));
    check(actigen::Swish::new(1.7), &points(&[]));
}

#[test]
fn second_derivatives_are_finite_where_the_truth_is() {
    // σ″ = σ(1−σ)(1−2σ), tanh″ = −2 tanh (1 − tanh²): finite (mostly 0) at the extremes.
    for x in [
        -1e4f32,
        -100.0,
        -89.0,
        -20.0,
        0.0,
        20.0,
        89.0,
        100.0,
        1e4,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ] {
        for name in [
            "sigmoid", "tanh", "softrelu", "swish", "elu", "selu", "softsign",
        ] {
            let a = actigen::by_name(name, &[]).unwrap();
            let v = Activation::<f32>::second_derivative(&*a, x);
            assert!(v.is_finite(), "{name}''({x}) = {v}");
        }
    }
    let s = |x: f64| actigen_tests::sigmoid_ref(x).0;
    for x in [-30.0f64, -5.0, -0.5, 0.0, 0.7, 4.0, 30.0] {
        let want = s(x) * s(-x) * (1.0 - 2.0 * s(x));
        let got = Activation::<f64>::second_derivative(&actigen::Sigmoid, x);
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1e-300) + 1e-300,
            "sigmoid''({x}) = {got}, want {want}"
        );
    }
}

#[test]
fn grad2_over_slices_equals_the_scalar_second_derivative() {
    let x: Vec<f32> = (0..333).map(|i| -8.0 + 0.05 * i as f32).collect();
    let dy: Vec<f32> = (0..333).map(|i| 0.5 + (i % 3) as f32).collect();
    for name in actigen_tests::TEN {
        let a = actigen::by_name(name, &[]).unwrap();
        let mut out = vec![0f32; x.len()];
        a.grad2(&x, &dy, &mut out);
        let tol = actigen_tests::scalar_vs_slice_ulps();
        // Without FMA (tol > 1), f″'s cancellations near its zeros also allow 4e−6 of the
        // largest |dy·f″| (as in `isa_paths.rs`).
        let want: Vec<f32> = (0..x.len())
            .map(|i| dy[i] * Activation::<f32>::second_derivative(&*a, x[i]))
            .collect();
        let scale = want.iter().fold(0f32, |m, w| m.max(w.abs())) as f64;
        for i in 0..x.len() {
            let near = tol > 1 && (out[i] as f64 - want[i] as f64).abs() <= 4e-6 * scale;
            assert!(
                near || actigen_tests::ulps32(out[i], want[i] as f64) <= tol,
                "{name}: {} vs {}",
                out[i],
                want[i]
            );
        }
        assert!(a.try_grad2(&x, &dy[1..], &mut out).is_err());
    }
}

#[test]
fn docs_show_the_derived_derivatives() {
    assert_eq!(<Mish as Formula>::FORMULA, "x * tanh(softplus(x))");
    assert_eq!(<Gauss as Formula>::DERIVATIVES.len(), 2);
    assert_eq!(Gauss::default().width, 0.7);
    assert_eq!(Hyp::new(2.0, 3.0), Hyp { a: 2.0, b: 3.0 });
}

#[test]
fn value_matches_the_slice_path_and_f64_matches_f32() {
    let xs: Vec<f32> = (0..2001).map(|i| -50.0 + 0.05 * i as f32).collect();
    for name in actigen_tests::TEN {
        let act = actigen::by_name(name, &[]).unwrap();
        let mut y = vec![0f32; xs.len()];
        let mut dx = vec![0f32; xs.len()];
        act.forward(&xs, &mut y);
        act.backward(&xs, &vec![1.0; xs.len()], &mut dx);
        let x64: Vec<f64> = xs.iter().map(|&v| v as f64).collect();
        let mut y64 = vec![0f64; xs.len()];
        act.forward(&x64, &mut y64);
        // Without FMA (the portable path on the x86-64 baseline: tolerance above 1 ULP), the
        // derivative's cancellations near its zeros (swish′ at x ≈ −1.28, σ + x·σσ) also allow
        // 4e−6 of the largest |f′| (as in `isa_paths.rs`): the scalar API's kernel is fused and
        // evaluates its polynomials by Horner's rule, the unfused path in pairs.
        let unfused = actigen_tests::scalar_vs_slice_ulps() > 1;
        let scale = dx.iter().fold(0f32, |m, d| m.max(d.abs())) as f64;
        for i in 0..xs.len() {
            let (v, d) = (
                Activation::<f32>::value(&*act, xs[i]),
                Activation::<f32>::derivative(&*act, xs[i]),
            );
            assert!(
                actigen_tests::ulps32(y[i], v as f64) <= actigen_tests::scalar_vs_slice_ulps(),
                "{name} value({}) = {v} vs slice {}",
                xs[i],
                y[i]
            );
            let near = unfused && (dx[i] as f64 - d as f64).abs() <= 4e-6 * scale;
            assert!(
                near || actigen_tests::close(dx[i] as f64, d as f64, 1e-6, 1e-30),
                "{name}: derivative({}) = {d} vs slice {}",
                xs[i],
                dx[i]
            );
            // The f64 kernel rounded to f32 agrees with the f32 kernel within the f32 bound.
            assert!(
                actigen_tests::ulps32(y[i], y64[i]) <= 4,
                "{name}({}): f32 {} vs f64 {}",
                xs[i],
                y[i],
                y64[i]
            );
        }
    }
}

#[activation]
fn scaled_swish(x: f32, #[default(1.0)] beta: f32) -> f32 {
    -2.0 * x * sigmoid(beta * x)
}

#[activation]
fn param_times_swish(x: f32, #[default(1.0)] beta: f32) -> f32 {
    beta * x * sigmoid(x)
}

#[activation]
fn square_times_sigmoid(x: f32) -> f32 {
    x * x * sigmoid(x)
}

/// `c·x · σ(k·x)` resolves x = ±inf inside the fused product, so its forward kernel carries no
/// ±inf guard; a factor that may be zero (a parameter) or grows faster keeps the guard. Either
/// way the values at ±inf are the limits, and the finite values match f64 within 2 ULP.
#[test]
fn products_with_a_sigmoid_get_the_limits_at_infinity() {
    use actigen_tests::{sigmoid_ref, ulps32};
    // Checked when the test compiles.
    const {
        assert!(!<ScaledSwish as Formula>::GUARDS.forward.inf);
        assert!(<ParamTimesSwish as Formula>::GUARDS.forward.inf);
        assert!(<SquareTimesSigmoid as Formula>::GUARDS.forward.inf);
    }
    let inf = f64::INFINITY;
    let x = [f32::NEG_INFINITY, -3.0, -1.0, 0.0, 0.5, 2.0, f32::INFINITY];
    let mut y = [0f32; 7];
    let check = |what: &str, y: &[f32], at_minus_inf: f64, at_inf: f64, f: &dyn Fn(f64) -> f64| {
        for (&xi, &yi) in x.iter().zip(y) {
            let want = match xi {
                f32::NEG_INFINITY => at_minus_inf,
                f32::INFINITY => at_inf,
                _ => f(xi as f64),
            };
            assert!(
                ulps32(yi, want) <= 2,
                "{what} at {xi}: {yi:e}, want {want:e}"
            );
        }
    };
    for isa in actigen::Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        for (beta, at_minus_inf, at_inf) in [(1.0, 0.0, -inf), (-1.0, inf, 0.0), (0.0, inf, -inf)] {
            ScaledSwish::new(beta)
                .try_forward_on(isa, &x, &mut y)
                .unwrap();
            let f = |x: f64| -2.0 * x * sigmoid_ref(beta as f64 * x).0;
            check(
                &format!("{isa} -2x·σ({beta}x)"),
                &y,
                at_minus_inf,
                at_inf,
                &f,
            );
        }
        ParamTimesSwish::new(0.5)
            .try_forward_on(isa, &x, &mut y)
            .unwrap();
        let f = |x: f64| 0.5 * x * sigmoid_ref(x).0;
        check(&format!("{isa} 0.5·x·σ(x)"), &y, 0.0, inf, &f);
        SquareTimesSigmoid.try_forward_on(isa, &x, &mut y).unwrap();
        let f = |x: f64| x * x * sigmoid_ref(x).0;
        check(&format!("{isa} x²·σ(x)"), &y, 0.0, inf, &f);
        // (x²σ)′ = 2xσ + x²σσ(−x): NaN at ±MAX (x² overflows), settled to 0 at −inf by the
        // smaller stand-ins; at +inf it grows without bound, and the guard gives no finite value.
        SquareTimesSigmoid
            .try_backward_on(isa, &x, &[1.0; 7], &mut y)
            .unwrap();
        assert_eq!(y[0], 0.0, "{isa} (x²σ)′(−inf)");
        assert!(!y[6].is_finite(), "{isa} (x²σ)′(+inf) = {}", y[6]);
    }
}
