//! Issue 8's classes of silent wrong values, each pinned against an independent reference (the
//! scalar reference function, Rust's `f32::powf`/`f64::powf`, f64 evaluation or exact sums),
//! on every ISA this CPU has.

use actigen::Formula;
use actigen::{Activation, Error, Isa, activation, by_name};
use actigen_tests::{Rng, battery_f32, close, ulps32};

fn isas() -> impl Iterator<Item = Isa> {
    Isa::ALL.into_iter().filter(|i| i.is_supported())
}

/// The inputs of [`battery_f32`] with both signs of every value.
fn inputs() -> Vec<f32> {
    let mut x = battery_f32();
    x.extend(battery_f32().iter().map(|v| -v));
    x
}

fn forward32(act: &impl Activation<f32>, isa: Isa, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0f32; x.len()];
    act.try_forward_on(isa, x, &mut y).unwrap();
    y
}

fn forward64(act: &impl Activation<f64>, isa: Isa, x: &[f64]) -> Vec<f64> {
    let mut y = vec![0f64; x.len()];
    act.try_forward_on(isa, x, &mut y).unwrap();
    y
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

#[activation]
// The point of the test: 1 + 1e−8 rounds to 1 in f32, not in f64.
#[allow(clippy::eq_op)]
fn folded_cancellation(x: f32) -> f32 {
    x * ((1.0 + 1e-8) - 1.0)
}

#[activation]
fn folded_overflow(x: f32) -> f32 {
    x * (1e30 * 1e30)
}

/// Constants are folded in the precision of each kernel: the f32 kernel is the scalar reference
/// (which computes in f32: (1 + 1e−8) − 1 = 0, 1e30·1e30 = inf), the f64 kernel the same formula
/// in f64. At x = ±inf the kernels give the limit (0·x → 0 in f32, where the scalar reference's
/// 0·inf is NaN).
#[test]
fn constants_are_folded_per_precision() {
    let x = inputs();
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for isa in isas() {
        let y = forward32(&FoldedCancellation, isa, &x);
        let z = forward32(&FoldedOverflow, isa, &x);
        for i in 0..x.len() {
            let (mut want_y, want_z) = (folded_cancellation(x[i]), folded_overflow(x[i]));
            if x[i].is_infinite() {
                want_y = 0.0;
            }
            assert!(
                same(y[i] as f64, want_y as f64),
                "{isa} (1+1e-8)-1 at {}: {} vs {want_y}",
                x[i],
                y[i]
            );
            assert!(
                same(z[i] as f64, want_z as f64),
                "{isa} 1e30*1e30 at {}: {} vs {want_z}",
                x[i],
                z[i]
            );
        }
        let y = forward64(&FoldedCancellation, isa, &x64);
        let z = forward64(&FoldedOverflow, isa, &x64);
        for i in 0..x.len() {
            #[allow(clippy::eq_op)] // as in the formula
            let want_y = x64[i] * ((1.0f64 + 1e-8) - 1.0);
            let want_z = x64[i] * (1e30f64 * 1e30);
            assert!(
                same(y[i], want_y),
                "{isa} f64 (1+1e-8)-1 at {}: {} vs {want_y}",
                x64[i],
                y[i]
            );
            assert!(
                same(z[i], want_z),
                "{isa} f64 1e30*1e30 at {}: {} vs {want_z}",
                x64[i],
                z[i]
            );
        }
    }
}

#[activation]
fn overflow_in_derivative(x: f32) -> f32 {
    3e38 * x.powi(3)
}

/// A constant that overflows f32 only in the derivative (3·3e38): the derivative is inf where
/// the true value exceeds f32::MAX and right elsewhere.
#[test]
fn derivative_constants_that_overflow_f32() {
    for isa in isas() {
        let x = [1.0f32, 0.5, 0.1, -0.1, 1e-3];
        let mut d = [0f32; 5];
        OverflowInDerivative
            .try_backward_on(isa, &x, &[1.0; 5], &mut d)
            .unwrap();
        for (i, &v) in x.iter().enumerate() {
            let want = 9e38 * (v as f64).powi(2);
            assert!(
                ulps32(d[i], want) <= 4,
                "{isa} at {v}: {} vs {want:e}",
                d[i]
            );
        }
    }
}

#[activation]
fn power_of_min(x: f32) -> f32 {
    x.powi(-2147483648)
}

#[activation]
fn power_near_min(x: f32) -> f32 {
    x.powi(-2147483647)
}

/// `powi` at the ends of i32: no wrapped exponent in the first or second derivative.
#[test]
fn powi_exponents_at_the_ends_of_i32() {
    assert_eq!(PowerOfMin.value(1.0f32), 1.0);
    assert_eq!(PowerOfMin.value(0.5f32), f32::INFINITY);
    assert_eq!(PowerOfMin.value(2.0f32), 0.0);
    // d/dx x^n = n·x^(n−1) with n = i32::MIN (n − 1 is no i32).
    assert_eq!(PowerOfMin.derivative(1.0f64), -2147483648.0);
    // f″ = n(n−1)·x^(n−2): a wrapped n − 2 (= i32::MAX) gives e^(+0.002) instead of e^(−0.002).
    let n = -2147483647.0f64;
    let x = 1.0f64 + 1e-12;
    let want = n * (n - 1.0) * ((n - 2.0) * (x - 1.0).ln_1p()).exp();
    let got = PowerNearMin.second_derivative(x);
    assert!(close(got, want, 1e-5, 0.0), "f'' = {got:e}, want {want:e}");
}

#[activation]
fn cube(x: f32) -> f32 {
    x.powf(3.0)
}

#[activation]
fn square(x: f32) -> f32 {
    x.powf(2.0)
}

#[activation]
fn power(x: f32, #[default(2.5)] p: f32) -> f32 {
    x.powf(p)
}

/// True if `got` is `want` up to `rel` relative error, with the same class (NaN, ±inf, ±0).
fn powf_close(got: f64, want: f64, rel: f64) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if want.is_infinite() || want == 0.0 {
        return got == want;
    }
    close(got, want, rel, 0.0)
}

/// `powf` has `f32::powf`'s semantics everywhere: a negative base with an integral exponent, ±0,
/// ±inf, NaN; and derivatives that are right at 0.
#[test]
fn powf_matches_std_powf() {
    let x = inputs();
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for isa in isas() {
        for (label, got) in [
            ("cube", forward32(&Cube, isa, &x)),
            ("square", forward32(&Square, isa, &x)),
        ] {
            let e = if label == "cube" { 3.0 } else { 2.0 };
            for i in 0..x.len() {
                let want = (x[i] as f64).powf(e);
                assert!(
                    ulps32(got[i], want) <= 2,
                    "{isa} {label} at {}: {} vs {want:e}",
                    x[i],
                    got[i]
                );
            }
        }
        for p in [2.5f32, 3.0, -1.0, -2.0, 0.0, 0.5, 1.0, -0.5, 7.0] {
            let act = Power::new(p);
            let got = forward32(&act, isa, &x);
            let got64 = forward64(&act, isa, &x64);
            for i in 0..x.len() {
                let want = x[i].powf(p) as f64;
                let want64 = x64[i].powf(p as f64);
                assert!(
                    powf_close(got[i] as f64, want, 2e-6),
                    "{isa} powf({}, {p}) = {}, want {want:e}",
                    x[i],
                    got[i]
                );
                assert!(
                    powf_close(got64[i], want64, 1e-13),
                    "{isa} f64 powf({}, {p}) = {}, want {want64:e}",
                    x64[i],
                    got64[i]
                );
            }
        }
    }
    // f′(0) = 0 for x², x³ and x^2.5 (the exp·ln form gave NaN), and ∂f/∂p = 0 at x = 0.
    assert_eq!(Square.derivative(0.0f32), 0.0);
    assert_eq!(Cube.derivative(0.0f32), 0.0);
    assert_eq!(Power::new(2.5).derivative(0.0f32), 0.0);
    assert_eq!(Cube.derivative(-2.0f32), 12.0);
    assert_eq!(Power::new(3.0).derivative(-2.0f32), 12.0);
    assert_eq!(Power::new(2.5).param_grads(&[0.0f32], &[1.0]), vec![0.0]);
    let dp = Power::new(2.5).param_grads(&[2.0f64], &[1.0])[0];
    assert!(
        close(dp, 2f64.powf(2.5) * 2f64.ln(), 1e-12, 0.0),
        "∂f/∂p at 2: {dp}"
    );
}

#[activation]
fn log1p_minus_x(x: f32) -> f32 {
    x.ln_1p() - x
}

/// The stability rewrites run on derivatives too: d(ln_1p(x) − x) = 1/(1 + x) − 1 cancels near
/// 0 and is computed as −x/(1 + x).
#[test]
fn derivatives_are_rewritten_for_stability() {
    assert!(
        Log1pMinusX::DERIVATIVES[0].contains("x / (x + 1.0)")
            || Log1pMinusX::DERIVATIVES[0].contains("x / (1.0 + x)"),
        "{}",
        Log1pMinusX::DERIVATIVES[0]
    );
    for isa in isas() {
        let x = [1e-7f32, -1e-7, 1e-4, 3e-3, -0.2, 5.0];
        let mut d = [0f32; 6];
        Log1pMinusX
            .try_backward_on(isa, &x, &[1.0; 6], &mut d)
            .unwrap();
        for (i, &v) in x.iter().enumerate() {
            let v = v as f64;
            let want = -v / (1.0 + v);
            assert!(
                ulps32(d[i], want) <= 4,
                "{isa} at {v:e}: {:e} vs {want:e}",
                d[i]
            );
        }
    }
}

/// Σ over the slice, exactly rounded: the products dy·x of f32 values are exact in f64, and
/// their sum is accumulated in i128 fixed point (2⁻¹⁷⁰ units, enough for the values used).
fn exact_sum(x: &[f32], dy: &[f32]) -> f64 {
    let mut acc: i128 = 0;
    for (&a, &b) in x.iter().zip(dy) {
        let p = a as f64 * b as f64;
        acc += (p * 2f64.powi(60)) as i128;
    }
    acc as f64 / 2f64.powi(60)
}

/// PReLU's ∂/∂alpha near ±3.4e38 (the f32 block sums overflowed on one path and not another),
/// and random slices: bit-identical on every ISA and close to the exact sum.
#[test]
fn parameter_gradients_reduce_in_f64_identically_on_every_isa() {
    let prelu = by_name("prelu", &[]).unwrap();
    let n = 37;
    let x = vec![-3.4e38f32; n];
    let dy = vec![1.0f32; n];
    for isa in isas() {
        let mut g = [0.0];
        prelu
            .try_backward_fused_on(isa, &x, &dy, None, &mut g)
            .unwrap();
        assert_eq!(g[0], -3.4e38f32 as f64 * n as f64, "{isa}");
    }
    // Random slices of every length up to 300 (every tail and alignment of every ISA).
    let mut rng = Rng(0x1234_5678_9abc_def0);
    let mut next = || rng.uniform_f32(-4.0, 4.0);
    for len in 0..300 {
        let x: Vec<f32> = (0..len).map(|_| next()).collect();
        let dy: Vec<f32> = (0..len).map(|_| next()).collect();
        // For x ≤ 0, ∂prelu/∂alpha = x; the reference masks the rest.
        let masked: Vec<f32> = x.iter().map(|&v| if v > 0.0 { 0.0 } else { v }).collect();
        let want = exact_sum(&masked, &dy);
        let mut first: Option<f64> = None;
        for isa in isas() {
            let mut g = [0.0];
            prelu
                .try_backward_fused_on(isa, &x, &dy, None, &mut g)
                .unwrap();
            assert!(
                close(g[0], want, 1e-13, 1e-13),
                "{isa} len {len}: {} vs {want}",
                g[0]
            );
            match first {
                None => first = Some(g[0]),
                Some(f) => assert_eq!(g[0].to_bits(), f.to_bits(), "{isa} len {len} differs"),
            }
        }
    }
}

#[activation]
fn kinked(x: f32) -> f32 {
    if x > 0.0 { 2.0 * x + 1.0 } else { x.exp() }
}

/// Where rounding can put outputs of both branches on the threshold (here y = 1 at x = 1e−9
/// and at x = 0), there is no backward from the output: it would pick the wrong branch.
#[test]
fn no_backward_from_output_where_rounding_can_pick_the_wrong_branch() {
    assert_eq!(kinked(1e-9), 1.0);
    assert_eq!(kinked(0.0), 1.0);
    assert!(Kinked::FROM_OUTPUT.is_none());
    let mut dx = [0f32; 1];
    assert_eq!(
        Activation::<f32>::try_backward_from_output_on(
            &Kinked,
            Isa::Portable,
            &[1.0],
            &[1.0],
            &mut dx
        ),
        Err(Error::NoBackwardFromOutput {
            activation: "kinked"
        })
    );
}

#[activation]
fn chain_of_twelve(x: f32) -> f32 {
    let a1 = x * x + x;
    let a2 = a1 * a1 + a1;
    let a3 = a2 * a2 + a2;
    let a4 = a3 * a3 + a3;
    let a5 = a4 * a4 + a4;
    let a6 = a5 * a5 + a5;
    let a7 = a6 * a6 + a6;
    let a8 = a7 * a7 + a7;
    let a9 = a8 * a8 + a8;
    let a10 = a9 * a9 + a9;
    let a11 = a10 * a10 + a10;
    a11 * a11 + a11
}

/// The chain that once took 28 s and 1.6 GB to check: its docs are linear in its size (`let`s
/// for the shared subexpressions), and its value and derivative match dual numbers in f64.
#[test]
fn shared_subexpressions_print_linearly_and_compute_right() {
    assert!(
        ChainOfTwelve::FORMULA.len() < 2000,
        "{}",
        ChainOfTwelve::FORMULA.len()
    );
    assert!(ChainOfTwelve::SECOND_DERIVATIVE.len() < 20_000);
    for x in [1e-3f64, -1e-3, 2e-4, -0.5] {
        // (a, da) through the chain.
        let (mut a, mut da) = (x, 1.0);
        for _ in 0..12 {
            (a, da) = (a * a + a, 2.0 * a * da + da);
        }
        let y = ChainOfTwelve.value(x);
        let d = ChainOfTwelve.derivative(x);
        assert!(close(y, a, 1e-12, 0.0), "f({x}) = {y}, want {a}");
        assert!(close(d, da, 1e-12, 0.0), "f'({x}) = {d}, want {da}");
    }
}

/// GELU, for its `erf` (whose far tail is a branch on any lane, as sigmoid's is).
#[activation]
fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Signalling NaNs (quiet bit clear; payloads at both ends, both signs).
const SNAN32: [u32; 3] = [0x7f80_0001, 0xff81_0000, 0x7fbf_ffff];
const SNAN64: [u64; 2] = [0x7ff0_0000_0000_0001, 0xfff7_ffff_ffff_ffff];

/// Every pass of `act` at `x` (dy = `dy`), as four slices: forward, backward, grad2, and
/// backward from the output (empty where the activation has no such form).
macro_rules! passes {
    ($act:expr, $isa:expr, $x:expr, $dy:expr) => {{
        let (act, isa, x, dy) = ($act, $isa, $x, $dy);
        let n = x.len();
        let (mut y, mut dx, mut g2, mut dxo) =
            (vec![x[0]; n], vec![x[0]; n], vec![x[0]; n], vec![x[0]; n]);
        act.try_forward_on(isa, x, &mut y).unwrap();
        act.try_backward_on(isa, x, dy, &mut dx).unwrap();
        act.try_grad2_on(isa, x, dy, &mut g2).unwrap();
        if act
            .try_backward_from_output_on(isa, &y, dy, &mut dxo)
            .is_err()
        {
            dxo.clear();
        }
        [y, dx, g2, dxo]
    }};
}

/// The check of [`a_signalling_nan_leaves_the_other_lanes_alone`] at one input, in `$t`.
macro_rules! check_lanes {
    ($t:ty, $snans:expr, $act:expr, $isa:expr, $x:expr, $name:expr) => {{
        const N: usize = 64;
        let (x, dy): ($t, $t) = ($x, 0.75);
        let alone = passes!($act, $isa, &[x; N][..], &[dy; N][..]);
        for &s in &$snans {
            let s = <$t>::from_bits(s);
            let mix = |v: $t| (0..N).map(|i| if i % 2 == 0 { v } else { s }).collect::<Vec<$t>>();
            let mixed = passes!($act, $isa, &mix(x)[..], &mix(dy)[..]);
            for (p, (a, m)) in alone.iter().zip(&mixed).enumerate() {
                for (i, &v) in m.iter().enumerate() {
                    let ok = if i % 2 == 0 {
                        v.to_bits() == a[0].to_bits() || (v.is_nan() && a[0].is_nan())
                    } else {
                        v.is_nan()
                    };
                    assert!(
                        ok,
                        "{} {} {} pass {p} at x = {x:e} next to NaN {:#x}: lane {i} {v:e}, alone {:e}",
                        $isa,
                        stringify!($t),
                        $name,
                        s.to_bits(),
                        a[0]
                    );
                }
            }
        }
    }};
}

/// A signalling NaN in one lane must not change the other lanes of its vector. It once did on
/// aarch64's portable path: LLVM turns "any lane below t" into "the lanes' minNum below t",
/// and `fminnm` returns NaN when an operand is a *signalling* NaN, so sigmoid's rare-lane test
/// said "none" and σ(−100), next to a signalling NaN, came out 0 (and σ″(−inf) NaN). Each
/// input is checked in a slice that alternates it with signalling NaNs (x and dy) against a
/// slice of it alone: bit for bit, and NaN in the NaN lanes.
#[test]
fn a_signalling_nan_leaves_the_other_lanes_alone() {
    for &name in &actigen::builtin::NAMES {
        check_lanes_of(name, &*by_name(name, &[]).unwrap());
    }
    check_lanes_of("gelu_erf", &GeluErf);
}

fn check_lanes_of<A: Activation<f32> + Activation<f64> + ?Sized>(name: &str, act: &A) {
    let xs: Vec<f32> = inputs().into_iter().filter(|v| !v.is_nan()).collect();
    for isa in isas() {
        for &x in &xs {
            check_lanes!(f32, SNAN32, act, isa, x, name);
            check_lanes!(f64, SNAN64, act, isa, x as f64, name);
        }
    }
}
