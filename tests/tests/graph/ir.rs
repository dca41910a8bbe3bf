//! The formula as data (`Formula::IR`, `MultiFormula::IR`): the exported graph evaluates to
//! what the compiled kernels compute, and to the independent f64 references.
//!
//! Every exported expression is fused as its kernel is, so the values agree bit for bit (NaN
//! with NaN).

use actigen::ir::{Ir, Node};
use actigen::simd::{Scalar, Vector};
use actigen::{Formula, MultiFormula, activation};
use actigen_tests::custom::{Gelu, GeluTanh, Mish, Ratio};
use actigen_tests::{battery, close, reference};

const SHIFT: f32 = 0.25;

/// Selects with compound conditions, `max`/`min`, `powf`, `sqrt`, a named constant, ln/exp_m1,
/// sin/cos.
#[activation]
fn mixed(x: f32, #[default(1.5)] p: f32) -> f32 {
    let a = if x > SHIFT && x < 4.0 || x < -3.0 {
        (x.abs() + 1.0).powf(p).sqrt()
    } else {
        x.max(-1.0).min(x * x) * x.exp_m1()
    };
    a + (x * x + 1.0).ln() + x.sin() * x.cos() - (0.5 * x).abs().ln_1p()
}

/// Values agree bit for bit, or are both NaN.
fn agree(got: f64, want: f64) -> bool {
    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
}

/// The graph's expressions against one-input kernel bodies in f64 and f32 over the battery.
fn check_one<F: Formula + Default>() {
    let f = F::default();
    let ir: Ir = F::IR;
    assert_eq!(ir.inputs, 1, "{}", F::NAME);
    assert_eq!(ir.params, F::PARAM_NAMES.len(), "{}", F::NAME);
    assert_eq!(ir.partials.len(), 1 + ir.params, "{}", F::NAME);
    assert!(ir.second.is_some(), "{}", F::NAME);
    assert!(ir.seconds.is_empty(), "{}", F::NAME);
    assert_eq!(
        ir.from_output.is_some(),
        F::FROM_OUTPUT.is_some(),
        "{}",
        F::NAME
    );
    // Children before parents.
    for (i, n) in ir.nodes.iter().enumerate() {
        assert!(n.operands().all(|c| c < i), "{}: node {i} {n:?}", F::NAME);
    }
    let params64: Vec<f64> = F::PARAM_DEFAULTS.iter().map(|&p| p as f64).collect();
    let params32: Vec<f32> = F::PARAM_DEFAULTS.to_vec();
    for x in battery() {
        // f64.
        let xv = Scalar(x);
        let fwd = ir.eval_f64(ir.forward, &[x], &params64);
        let want = f.forward_raw(xv).lane(0);
        assert!(
            agree(fwd, want),
            "{} f({x}): graph {fwd}, kernel {want}",
            F::NAME
        );
        let grads = f.grads_raw(xv);
        for (i, &p) in ir.partials.iter().enumerate() {
            let got = ir.eval_f64(p, &[x], &params64);
            let want = grads[i].lane(0);
            assert!(
                agree(got, want),
                "{} partial {i} at {x}: graph {got}, kernel {want}",
                F::NAME
            );
        }
        let d = ir.eval_f64(ir.partials[0], &[x], &params64);
        let want = f.derivative_raw(xv).lane(0);
        assert!(
            agree(d, want),
            "{} f'({x}): graph {d}, kernel {want}",
            F::NAME
        );
        let d2 = ir.eval_f64(ir.second.unwrap(), &[x], &params64);
        let want = f.second_derivative_raw(xv).lane(0);
        assert!(
            agree(d2, want),
            "{} f''({x}): graph {d2}, kernel {want}",
            F::NAME
        );
        if let Some(fo) = ir.from_output {
            let y = f.forward_raw(xv).lane(0);
            let got = ir.eval_f64(fo, &[y], &params64);
            let want = f.derivative_from_output_raw(Scalar(y)).lane(0);
            assert!(agree(got, want), "{} f'(y = {y}): {got} vs {want}", F::NAME);
        }
        // The checked forward body (the ±inf guard's) where the kernel has one: the same
        // values and the same unreliable lanes.
        if F::GUARDS.forward.inf {
            let ps: Vec<Scalar<f64>> = params64.iter().map(|&p| Scalar(p)).collect();
            let (v, m) = ir.eval_checked(&[ir.forward], &[xv], &ps);
            let (want, want_m) = f.forward_checked(xv);
            assert!(agree(v[0].0, want.0), "{} checked f({x})", F::NAME);
            assert_eq!(m[0].0, want_m.0, "{} checked f({x}): flags", F::NAME);
        }
        // f32: the forward expression, bit for bit.
        let x32 = x as f32;
        let got = ir.eval_f32(ir.forward, &[x32], &params32);
        let want = f.forward_raw(Scalar(x32)).lane(0);
        assert!(
            agree(got as f64, want as f64),
            "{} f32 f({x32}): graph {got}, kernel {want}",
            F::NAME
        );
    }
}

/// The built-ins' exported forward and derivative against the hand-written f64 references.
fn check_reference<F: Formula + Default>(name: &str) {
    let ir = F::IR;
    let r = reference(name);
    let params: Vec<f64> = F::PARAM_DEFAULTS.iter().map(|&p| p as f64).collect();
    for x in (0..=400).map(|i| -20.0 + 0.1 * i as f64) {
        let (f, d, dps) = r(x, &params);
        let got = ir.eval_f64(ir.forward, &[x], &params);
        assert!(close(got, f, 1e-13, 1e-300), "{name}({x}): {got} vs {f}");
        let got = ir.eval_f64(ir.partials[0], &[x], &params);
        assert!(close(got, d, 1e-12, 1e-300), "{name}'({x}): {got} vs {d}");
        for (i, want) in dps.iter().enumerate() {
            let got = ir.eval_f64(ir.partials[1 + i], &[x], &params);
            assert!(
                close(got, *want, 1e-12, 1e-300),
                "∂{name}/∂p{i}({x}): {got} vs {want}"
            );
        }
    }
}

#[test]
fn the_builtins_graphs_match_their_kernels_and_references() {
    use actigen::*;
    macro_rules! each {
        ($($t:ty => $name:literal),*) => {$(
            check_one::<$t>();
            check_reference::<$t>($name);
        )*};
    }
    each!(
        Sigmoid => "sigmoid", Tanh => "tanh", Softsign => "softsign", Relu => "relu",
        Softrelu => "softrelu", Leaky => "leaky", Prelu => "prelu", Elu => "elu",
        Selu => "selu", Swish => "swish"
    );
    check_one::<Snake>();
    check_one::<SnakeBeta>();
    check_one::<Xielu>();
}

#[test]
fn custom_graphs_match_their_kernels() {
    check_one::<Gelu>();
    check_one::<GeluTanh>();
    check_one::<Mish>();
    check_one::<Mixed>();
    // x·σ(x)/… with a ±inf guard: its checked body is compared too.
    check_one::<Ratio>();
    const { assert!(Ratio::GUARDS.forward.inf) };
    // The named constant is a constant node of its value.
    assert!(Mixed::IR.nodes.contains(&Node::Const(SHIFT, SHIFT as f64)));
}

/// The graph's expressions against a K-input formula's kernel bodies.
fn check_multi<F: MultiFormula<2> + Default>() {
    let f = F::default();
    let ir = F::IR;
    assert_eq!(ir.inputs, 2, "{}", F::NAME);
    assert_eq!(ir.partials.len(), 2 + F::PARAM_NAMES.len(), "{}", F::NAME);
    assert!(ir.second.is_none() && ir.from_output.is_none());
    // ∂²/∂g², ∂²/∂g∂u, ∂²/∂u².
    assert_eq!(ir.seconds.len(), 3, "{}", F::NAME);
    let params: Vec<f64> = F::PARAM_DEFAULTS.iter().map(|&p| p as f64).collect();
    let b = battery();
    for (i, &g) in b.iter().enumerate() {
        let u = b[(i * 7 + 3) % b.len()];
        let xs = [Scalar(g), Scalar(u)];
        let got = ir.eval_f64(ir.forward, &[g, u], &params);
        let want = f.forward_raw(xs).lane(0);
        assert!(agree(got, want), "{}({g}, {u}): {got} vs {want}", F::NAME);
        let grads = f.grads_raw(xs);
        for (k, &p) in ir.partials.iter().enumerate() {
            let got = ir.eval_f64(p, &[g, u], &params);
            let want = grads[k].lane(0);
            assert!(
                agree(got, want),
                "{} ∂{k} at ({g}, {u}): {got} vs {want}",
                F::NAME
            );
        }
        let second = f.second_raw(xs);
        for (k, &p) in ir.seconds.iter().enumerate() {
            let got = ir.eval_f64(p, &[g, u], &params);
            let want = second[k].lane(0);
            assert!(
                agree(got, want),
                "{} second partial {k} at ({g}, {u}): {got} vs {want}",
                F::NAME
            );
        }
    }
}

#[test]
fn gated_graphs_match_their_kernels() {
    use actigen::*;
    check_multi::<Swiglu>();
    check_multi::<Geglu>();
    check_multi::<GegluTanh>();
    check_multi::<Reglu>();
    check_multi::<SwigluOai>();
    check_multi::<Glu>();
}
