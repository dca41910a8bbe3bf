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
