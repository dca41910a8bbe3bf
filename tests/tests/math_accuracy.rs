//! Accuracy of the vector math on every ISA: over 2 million sampled f32 inputs per function
//! (`ACTIGEN_MATH_SAMPLES` sets the count; CI sets 2²⁴ under qemu on aarch64), half random bit
//! patterns over the whole range, half uniform in [−100, 100], and the special values, against std's f64 functions; f64 kernels against std's f64 on the same inputs.
//! Targets: ≤ 2 ULP for exp, exp_m1, ln, ln_1p; ≤ 3 ULP for tanh, sigmoid, softplus;
//! f64 ≤ 4 ULP. The exhaustive sweep over all 2³² f32 inputs is the `accuracy` example.

use actigen::Isa;
use actigen_tests::{MathFunction, math_functions, math_inputs, ulps32, ulps64};

#[test]
fn vector_math_meets_its_ulp_targets_on_every_isa() {
    let samples = std::env::var("ACTIGEN_MATH_SAMPLES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(2_000_000);
    let x = math_inputs(samples / 2, 42);
    eprintln!(
        "{} inputs per function (ACTIGEN_MATH_SAMPLES={samples})",
        x.len()
    );
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let functions = math_functions();
    let mut jobs = Vec::new();
    for isa in Isa::ALL {
        if !isa.is_supported() {
            eprintln!("skipping the {isa} path: this CPU does not support it");
            continue;
        }
        jobs.extend(functions.iter().map(|f| (isa, f)));
    }
    // One (ISA, function) pair per job, on every core (qemu runs 2^24 samples per function).
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut results: Vec<(usize, String, Vec<String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(isa, f)) = jobs.get(j) else { break };
                        let (line, failures) = measure(isa, f, &x, &x64);
                        done.push((j, line, failures));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    results.sort_by_key(|r| r.0);
    let mut failures = Vec::new();
    for (_, line, f) in results {
        eprintln!("{line}");
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The worst f32 and f64 errors of `f` on `isa` over the inputs: a line to print, and failures.
fn measure(isa: Isa, f: &MathFunction, x: &[f32], x64: &[f64]) -> (String, Vec<String>) {
    let (name, act, reference) = (f.name, &f.act, f.reference);
    let (max32, max64) = (f.max_ulp_f32, f.max_ulp_f64);
    let mut y = vec![0f32; x.len()];
    act.try_forward_on(isa, x, &mut y).unwrap();
    let (mut worst, mut at) = (0, 0.0);
    for (&xi, &yi) in x.iter().zip(&y) {
        let u = ulps32(yi, reference(xi as f64));
        if u > worst {
            (worst, at) = (u, xi);
        }
    }
    let mut y64 = vec![0f64; x64.len()];
    act.try_forward_on(isa, x64, &mut y64).unwrap();
    let (mut worst64, mut at64) = (0, 0.0);
    for (&xi, &yi) in x64.iter().zip(&y64) {
        let u = ulps64(yi, reference(xi));
        if u > worst64 {
            (worst64, at64) = (u, xi);
        }
    }
    let line = format!(
        "{isa:8} {name:8} f32 max {worst} ulp (at {at:e}); f64 max {worst64} ulp (at {at64:e})"
    );
    let mut failures = Vec::new();
    if worst > max32 {
        failures.push(format!(
            "{isa} {name} f32: {worst} ulp at {at:e} (target {max32})"
        ));
    }
    if worst64 > max64 {
        failures.push(format!(
            "{isa} {name} f64: {worst64} ulp at {at64:e} (target {max64})"
        ));
    }
    (line, failures)
}

/// `2^100 · σ(x)`: its derivative `2^100 · σ(x)σ(−x)` is emitted as one `mul_sigmoid_product`.
#[actigen::activation]
fn scaled_sigmoid(x: f32) -> f32 {
    1.267_650_6e30 * sigmoid(x)
}

/// A product with σ(x)σ(−x) (the derivatives of swish, tanh, SwiGLU) keeps full precision where
/// σ(x)σ(−x) alone is subnormal (|x| from 87.3 to 104 in f32): the kernels form it from
/// e^(−|x|)'s mantissa and scale at the end (`math::mul_sigmoid_product`). The derivative of
/// `2^100·σ(x)` against `2^100·e^(−|x|)/(1 + e^(−|x|))²` in f64 (libm), on a grid over
/// [−180, 180] and the math inputs: within 4 ULP on every ISA (σ(x)σ(−x)'s own bound), within 2
/// where the product is scaled last (|x| > 80), where the product of the rounded subnormal
/// σ(x)σ(−x) misses by thousands (checked at x = 100).
#[test]
fn a_product_with_the_sigmoid_product_is_scaled_last() {
    use actigen::{Activation, Formula, ir::Node};
    let ir = <ScaledSigmoid as Formula>::IR;
    assert!(
        matches!(ir.nodes[ir.partials[0]], Node::MulSigmoidProduct(..)),
        "the derivative's product is fused: {:?}",
        ir.nodes[ir.partials[0]]
    );
    let scale = 2f64.powi(100);
    let exact = |x: f64| {
        let e = libm::exp(-x.abs());
        scale * e / ((1.0 + e) * (1.0 + e))
    };
    let mut x: Vec<f32> = (0..36_001).map(|i| -180.0 + i as f32 * 1e-2).collect();
    x.extend(math_inputs(20_000, 11));
    let want: Vec<f64> = x.iter().map(|&v| exact(v as f64)).collect();
    // The unfused product misses: σ(100)σ(−100) = 3.7e-44 is 26 subnormal steps in f32.
    let unfused = (scale as f32) * (exact(100.0) / scale) as f32;
    assert!(ulps32(unfused, exact(100.0)) > 1000);
    let mut failures = Vec::new();
    for isa in Isa::ALL {
        if !isa.is_supported() {
            eprintln!("skipping the {isa} path: this CPU does not support it");
            continue;
        }
        let mut dx = vec![0f32; x.len()];
        ScaledSigmoid
            .try_backward_on(isa, &x, &vec![1f32; x.len()], &mut dx)
            .unwrap();
        let (worst, at) = x
            .iter()
            .zip(&dx)
            .zip(&want)
            .map(|((&xi, &di), &w)| (ulps32(di, w), xi))
            .fold((0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        let tail = x
            .iter()
            .zip(&dx)
            .zip(&want)
            .filter(|((xi, _), _)| xi.abs() > 80.0)
            .map(|((_, &di), &w)| ulps32(di, w))
            .max()
            .unwrap_or(0);
        eprintln!("{isa:8} d/dx 2^100·σ(x): max {worst} ulp (at {at:e}), {tail} beyond |x| = 80");
        if worst > 4 || tail > 2 {
            failures.push(format!(
                "{isa}: {worst} ulp at {at:e}, {tail} beyond |x| = 80"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The built-in swish's derivatives, ∂/∂x = σ(βx) + x·(β·σ′(βx)) and ∂/∂β = x·(x·σ′(βx)),
/// keep their digits where σ′(βx) = σ(βx)σ(−βx) alone is subnormal (the `scaled_products`
/// repair: `mul2_sigmoid_product`, scaled last from the factors' mantissas): within 1e−4
/// relative plus one subnormal step of an f64 evaluation, on every ISA, for β = 1 and 0.5 over a
/// grid through |βx| = 210 and the math inputs, and ∂/∂β for β = 1e−18 at x up to 3e38 (where
/// x·x overflows but x·x·σ′(βx) does not: ∂/∂β = 3.7e−4 at x = 1e20).
#[test]
fn swish_derivatives_keep_their_subnormal_digits() {
    use actigen::{Activation, Swish};
    let tiny = f64::from(f32::from_bits(1));
    let want = |x: f64, beta: f64| {
        let u = beta * x;
        let e = libm::exp(-u.abs());
        let sp = e / ((1.0 + e) * (1.0 + e));
        let s = if u >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        };
        (s + x * beta * sp, x * x * sp)
    };
    let mut failures = Vec::new();
    for beta in [1.0f32, 0.5, 1e-18] {
        let x: Vec<f32> = if beta < 1e-3 {
            (0..4000)
                .map(|i| 1e19f32 * 1.0025f32.powi(i))
                .filter(|v| v.is_finite())
                .flat_map(|v| [v, -v])
                .collect()
        } else {
            let mut x: Vec<f32> = (0..42_001)
                .map(|i| (-210.0 + i as f32 * 1e-2) / beta)
                .collect();
            x.extend(
                math_inputs(20_000, 13)
                    .into_iter()
                    .filter(|v| v.is_finite()),
            );
            x
        };
        let act = Swish::new(beta);
        for isa in Isa::ALL {
            if !isa.is_supported() {
                continue;
            }
            let (mut dx, mut dbeta) = (vec![0f32; x.len()], vec![0f32; x.len()]);
            act.try_backward_on(isa, &x, &vec![1f32; x.len()], &mut dx)
                .unwrap();
            act.try_param_partials_on(isa, &x, &mut dbeta).unwrap();
            let mut worst = (0.0f64, 0.0f32, "");
            for (i, &xi) in x.iter().enumerate() {
                let (wx, wb) = want(f64::from(xi), f64::from(beta));
                for (got, w, name) in [(dx[i], wx, "d/dx"), (dbeta[i], wb, "d/dbeta")] {
                    // (At β = 1e−18, x·(β·σ′) is not scored: β·σ′ is subnormal where |βx| < 80,
                    // on the fast lanes, which keep the plain product.)
                    if !(w as f32).is_finite() || (beta < 1e-3 && name == "d/dx") {
                        continue;
                    }
                    let err = (f64::from(got) - w).abs();
                    let rel = if err <= tiny {
                        0.0
                    } else {
                        (err - tiny) / w.abs()
                    };
                    // (A NaN result is the worst.)
                    if rel.is_nan() || rel > worst.0 {
                        worst = (rel, xi, name);
                    }
                }
            }
            eprintln!(
                "{isa:8} swish(beta = {beta:e}): worst {:.2e} relative ({} at x = {:e})",
                worst.0, worst.2, worst.1
            );
            if worst.0.is_nan() || worst.0 > 1e-4 {
                failures.push(format!(
                    "{isa} beta = {beta:e}: {} off by {:.2e} at x = {:e}",
                    worst.2, worst.0, worst.1
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `2^100 · erfc(x)`: the product is emitted as one `mul_erfc`, scaled last.
#[actigen::activation]
fn scaled_erfc(x: f32) -> f32 {
    1.267_650_6e30 * erfc(x)
}

/// A product with an erfc keeps full precision where erfc alone is subnormal (x from 9.2 to
/// 10.5 in f32): the kernels form it from e^(−x²)'s mantissa and scale at the end
/// (`math::mul_erfc`). Against `2^100 · erfc(x)` in f64 (libm), on a grid over [−2, 10.5) and
/// the math inputs below 10.5 (beyond, erfc is taken as 0, fused or not): within erfc's own
/// 4 ULP on every ISA, where the product of the rounded subnormal erfc misses by thousands
/// (checked at x = 10).
#[test]
fn a_product_with_erfc_is_scaled_last() {
    use actigen::{Activation, Formula, ir::Node};
    let ir = <ScaledErfc as Formula>::IR;
    assert!(
        matches!(ir.nodes[ir.forward], Node::MulErfc(..)),
        "the forward product is fused: {:?}",
        ir.nodes[ir.forward]
    );
    let scale = 2f64.powi(100);
    let mut x: Vec<f32> = (0..12_500).map(|i| -2.0 + i as f32 * 1e-3).collect();
    x.extend(
        math_inputs(20_000, 7)
            .into_iter()
            .filter(|v| v.is_nan() || *v < 10.5),
    );
    let want: Vec<f64> = x.iter().map(|&v| scale * libm::erfc(v as f64)).collect();
    // The unfused product misses: erfc(10) = 2.09e-45 is one subnormal step in f32.
    let unfused = (scale as f32) * (libm::erfc(10.0) as f32);
    assert!(ulps32(unfused, scale * libm::erfc(10.0)) > 1000);
    let mut failures = Vec::new();
    for isa in Isa::ALL {
        if !isa.is_supported() {
            eprintln!("skipping the {isa} path: this CPU does not support it");
            continue;
        }
        let mut y = vec![0f32; x.len()];
        ScaledErfc.try_forward_on(isa, &x, &mut y).unwrap();
        let (worst, at) = x
            .iter()
            .zip(&y)
            .zip(&want)
            .map(|((&xi, &yi), &w)| (ulps32(yi, w), xi))
            .fold((0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        eprintln!("{isa:8} 2^100·erfc(x): max {worst} ulp (at {at:e})");
        if worst > 4 {
            failures.push(format!("{isa}: {worst} ulp at {at:e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
