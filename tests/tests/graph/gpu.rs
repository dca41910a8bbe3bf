//! The GPU path (wgpu; on CI, lavapipe: Vulkan on the CPU) against the CPU kernels, for every
//! pass of every built-in, gated unit and custom example, over the input battery (±0,
//! subnormals, ±88.7, ±1e4, ±3.4e38, ±inf, NaN) and a dense grid.
//!
//! Where no adapter exists the tests say so and pass, unless `ACTIGEN_REQUIRE_GPU` is set
//! (CI sets it after installing lavapipe): then a missing adapter fails them.
//!
//! The GPU computes the CPU's vector math and guards (see `actigen::wgsl`), so the values
//! agree within `FWD_ULP` ULP (the device's division and flushing aside), gradients within
//! `GRAD_REL` relative (plus `GRAD_ABS` of the local scale); a result subnormal on the CPU may
//! be ±0 or lose digits on the GPU.

use actigen::gpu::Gpu;
use actigen::ir::{Node, Unary};
use actigen::{Activation, Error, Formula, Isa, MultiActivation, MultiFormula};
use actigen_tests::custom::{Gelu, GeluTanh, Mish, Ratio};
use actigen_tests::{Rng, battery_f32, ordered32};

/// The GPU, or `None` (skipped) where none exists and none is required.
fn gpu() -> Option<Gpu> {
    match Gpu::new() {
        Ok(g) => {
            eprintln!("GPU tests on {}", g.adapter_name());
            Some(g)
        }
        Err(e) if std::env::var_os("ACTIGEN_REQUIRE_GPU").is_none() => {
            eprintln!("GPU tests skipped: {e}");
            None
        }
        Err(e) => panic!("ACTIGEN_REQUIRE_GPU is set and {e}"),
    }
}

/// The battery, a grid over [−20, 20], and random values over ±1e4, in increasing order
/// (NaN last), so that neighbours are close inputs.
fn inputs() -> Vec<f32> {
    let mut v = battery_f32();
    v.extend((0..4001).map(|i| -20.0 + i as f32 * 0.01));
    let mut r = Rng(7);
    v.extend((0..2000).map(|_| r.uniform_f32(-1e4, 1e4)));
    v.sort_by(f32::total_cmp);
    v
}

/// Per element, the largest finite |v| among its neighbours (50 on each side: ±0.5 on the
/// dense grid): the scale of the terms a gradient near one of its zeros cancels.
fn local_scale(v: &[f32]) -> Vec<f32> {
    (0..v.len())
        .map(|i| {
            v[i.saturating_sub(50)..(i + 51).min(v.len())]
                .iter()
                .filter(|x| x.is_finite())
                .fold(0.0f32, |m, x| m.max(x.abs()))
        })
        .collect()
}

/// The CPU path compared with: the portable one, whose math takes the same paths as the
/// GPU's (no fused multiply-add: polynomials in pairs, Dekker's exact products); on an
/// x86-64 baseline build its `mul_add` rounds twice, as lavapipe's `fma` does.
const P: Isa = Isa::Portable;

/// Below this magnitude a result may have passed through subnormal intermediates.
const TINY: f32 = 1e-30;

/// Forward values agree within this many ULP.
const FWD_ULP: i64 = 4;
/// Gradients agree within this relative error of the larger magnitude, plus `GRAD_ABS` of the
/// local scale (near a zero of the gradient, where the GPU's and the CPU's roundings of the
/// terms it cancels show).
const GRAD_REL: f32 = 1e-5;
/// See [`GRAD_REL`]; the allowance the CPU paths have between them near a derivative's zeros
/// (`isa_paths`).
const GRAD_ABS: f32 = 4e-6;

/// `gpu` and `cpu` agree as values of a forward pass.
fn same_value(gpu: f32, cpu: f32) -> bool {
    if gpu.is_nan() || cpu.is_nan() {
        return gpu.is_nan() && cpu.is_nan();
    }
    if cpu != 0.0 && cpu.abs() < TINY {
        // Subnormal, or computed through subnormal intermediates (GeGLU at (−13.3, 13.85):
        // gelu(g) is 1.5e−39): flushed, or digits lost to the device's handling of
        // subnormals (lavapipe keeps them, but its scaling rounds twice, as the AVX2 path's
        // does; AVX-512's `vscalef` once).
        return gpu == 0.0 || (gpu - cpu).abs() <= 1e-2 * cpu.abs();
    }
    (ordered32(gpu) - ordered32(cpu)).abs() <= FWD_ULP
}

/// `gpu` and `cpu` agree as gradients, `scale` the local scale (see [`local_scale`]).
fn same_grad(gpu: f32, cpu: f32, scale: f32) -> bool {
    if gpu.is_nan() || cpu.is_nan() {
        return gpu.is_nan() && cpu.is_nan();
    }
    if gpu.is_infinite() || cpu.is_infinite() {
        return gpu == cpu;
    }
    let big = gpu.abs().max(cpu.abs());
    big < 1e-30 || (gpu - cpu).abs() <= GRAD_REL * big + GRAD_ABS * scale
}

/// Every element of a gradient pass agrees (`what` names it in the message).
fn same_grads(what: &str, x: &[f32], gpu: &[f32], cpu: &[f32]) {
    let scale = local_scale(cpu);
    for i in 0..x.len() {
        assert!(
            same_grad(gpu[i], cpu[i], scale[i]),
            "{what} at {}: GPU {}, CPU {} (scale {})",
            x[i],
            gpu[i],
            cpu[i],
            scale[i]
        );
    }
}

/// Every pass of a one-input activation against the CPU's f32 kernels.
fn check_one<F: Formula + Default>(gpu: &Gpu) {
    let f = F::default();
    let name = F::NAME;
    // sin and cos are NaN on the GPU beyond |x| = 65,536 (see `actigen::wgsl`): compared up
    // to there (and at ±inf, where the limit search uses the stand-ins below it).
    let trig = F::IR
        .nodes
        .iter()
        .any(|n| matches!(n, Node::Unary(Unary::Sin | Unary::Cos, _)));
    let x: Vec<f32> = inputs()
        .into_iter()
        .filter(|v| !trig || v.abs() <= 65536.0 || v.is_infinite())
        .collect();
    if trig {
        let mut y = [0.0f32];
        gpu.forward(&f, &[1e5], &mut y).unwrap();
        assert!(y[0].is_nan(), "{name}(1e5) on the GPU: {}", y[0]);
    }
    let n = x.len();
    let mut y = vec![0.0f32; n];
    gpu.forward(&f, &x, &mut y).unwrap();
    let mut want = vec![0.0f32; n];
    f.try_forward_on(P, &x, &mut want).unwrap();
    for i in 0..n {
        assert!(
            same_value(y[i], want[i]),
            "{name}({}): GPU {}, CPU {}",
            x[i],
            y[i],
            want[i]
        );
    }
    let mut r = Rng(11);
    let dy: Vec<f32> = (0..n).map(|_| r.uniform_f32(-2.0, 2.0)).collect();
    let mut dx = vec![0.0f32; n];
    let grads = gpu.backward(&f, &x, &dy, &mut dx).unwrap();
    let mut want_dx = vec![0.0f32; n];
    f.try_backward_on(P, &x, &dy, &mut want_dx).unwrap();
    same_grads(&format!("{name}'"), &x, &dx, &want_dx);
    // Parameter gradients over the finite inputs (an infinite partial makes the sum inf or
    // NaN on both).
    let finite: Vec<usize> = (0..n)
        .filter(|&i| x[i].is_finite() && x[i].abs() < 1e3)
        .collect();
    let xf: Vec<f32> = finite.iter().map(|&i| x[i]).collect();
    let dyf: Vec<f32> = finite.iter().map(|&i| dy[i]).collect();
    let mut dxf = vec![0.0f32; xf.len()];
    let grads_f = gpu.backward(&f, &xf, &dyf, &mut dxf).unwrap();
    let mut want_g = vec![0.0f64; F::PARAM_NAMES.len()];
    f.try_backward_fused_on(P, &xf, &dyf, None, &mut want_g)
        .unwrap();
    assert_eq!(grads.len(), F::PARAM_NAMES.len());
    for (j, (&g, &w)) in grads_f.iter().zip(&want_g).enumerate() {
        // Σ|dy·∂f/∂p| bounds the f32 sums' rounding.
        let mut partials = vec![0.0f32; xf.len() * want_g.len()];
        f.try_param_partials_on(P, &xf, &mut partials).unwrap();
        let mass: f64 = (0..xf.len())
            .map(|i| (dyf[i] as f64 * partials[j * xf.len() + i] as f64).abs())
            .sum();
        assert!(
            (g - w).abs() <= 1e-5 * mass + 1e-30,
            "{name} ∂/∂p{j}: GPU {g}, CPU {w} (Σ|·| {mass})"
        );
    }
    let mut d2 = vec![0.0f32; n];
    gpu.grad2(&f, &x, &dy, &mut d2).unwrap();
    let mut want_d2 = vec![0.0f32; n];
    f.try_grad2_on(P, &x, &dy, &mut want_d2).unwrap();
    same_grads(&format!("{name}''"), &x, &d2, &want_d2);
    if F::FROM_OUTPUT.is_some() {
        let mut dx = vec![0.0f32; n];
        gpu.backward_from_output(&f, &want, &dy, &mut dx).unwrap();
        let mut cpu = vec![0.0f32; n];
        f.try_backward_from_output_on(P, &want, &dy, &mut cpu)
            .unwrap();
        same_grads(&format!("{name}' from y"), &want, &dx, &cpu);
    } else {
        let mut dx = vec![7.0f32; n];
        let e = gpu
            .backward_from_output(&f, &want, &dy, &mut dx)
            .unwrap_err();
        assert!(matches!(e, Error::NoBackwardFromOutput { .. }), "{e}");
        assert!(dx.iter().all(|&v| v == 7.0), "nothing written");
    }
}

#[test]
fn the_builtins_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    use actigen::*;
    macro_rules! each {
        ($($t:ty),*) => {$( check_one::<$t>(&gpu); )*};
    }
    each!(
        Sigmoid, Tanh, Softsign, Relu, Softrelu, Leaky, Prelu, Elu, Selu, Swish
    );
}

// A test of its own, so the two run side by side (compiling the shaders is most of the time).
#[test]
fn the_other_one_input_activations_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    use actigen::*;
    macro_rules! each {
        ($($t:ty),*) => {$( check_one::<$t>(&gpu); )*};
    }
    each!(Snake, SnakeBeta, Xielu, Gelu, GeluTanh, Mish, Ratio);
}

/// Forward and backward of a gated unit against the CPU's.
fn check_multi<F: MultiFormula<2> + MultiActivation<f32, 2> + Default>(gpu: &Gpu) {
    let f = F::default();
    let name = F::NAME;
    let a = inputs();
    let n = a.len();
    let b: Vec<f32> = (0..n).map(|i| a[(i * 7 + 3) % n]).collect();
    let mut y = vec![0.0f32; n];
    gpu.forward_multi(&f, [&a, &b], &mut y).unwrap();
    let mut want = vec![0.0f32; n];
    f.try_forward_on(P, [&a, &b], &mut want).unwrap();
    for i in 0..n {
        assert!(
            same_value(y[i], want[i]),
            "{name}({}, {}): GPU {}, CPU {}",
            a[i],
            b[i],
            y[i],
            want[i]
        );
    }
    let mut r = Rng(5);
    let dy: Vec<f32> = (0..n).map(|_| r.uniform_f32(-2.0, 2.0)).collect();
    let (mut d0, mut d1) = (vec![0.0f32; n], vec![0.0f32; n]);
    gpu.backward_multi(&f, [&a, &b], &dy, [&mut d0, &mut d1])
        .unwrap();
    let (mut w0, mut w1) = (vec![0.0f32; n], vec![0.0f32; n]);
    f.try_backward_on(P, [&a, &b], &dy, [&mut w0, &mut w1], None)
        .unwrap();
    same_grads(&format!("{name} ∂0"), &a, &d0, &w0);
    same_grads(&format!("{name} ∂1"), &a, &d1, &w1);
    // The double backward: out_j = dy · Σ_k v_k · ∂²f/∂x_k∂x_j.
    let v0: Vec<f32> = (0..n).map(|_| r.uniform_f32(-2.0, 2.0)).collect();
    let v1: Vec<f32> = (0..n).map(|_| r.uniform_f32(-2.0, 2.0)).collect();
    let (mut s0, mut s1) = (vec![0.0f32; n], vec![0.0f32; n]);
    gpu.grad2_multi(&f, [&a, &b], &dy, [&v0, &v1], [&mut s0, &mut s1])
        .unwrap();
    let (mut t0, mut t1) = (vec![0.0f32; n], vec![0.0f32; n]);
    f.try_grad2_on(P, [&a, &b], &dy, [&v0, &v1], [&mut t0, &mut t1])
        .unwrap();
    same_grads(&format!("{name} grad2 0"), &a, &s0, &t0);
    same_grads(&format!("{name} grad2 1"), &a, &s1, &t1);
    // Parameter gradients over the finite inputs, as for one input: within 1e−5 of
    // Σ|dy·∂f/∂p| (which bounds the f32 sums' rounding) of the CPU's.
    if F::PARAM_NAMES.is_empty() {
        return;
    }
    let keep: Vec<usize> = (0..n)
        .filter(|&i| a[i].abs() < 1e3 && b[i].abs() < 1e3)
        .collect();
    let pick = |v: &[f32]| -> Vec<f32> { keep.iter().map(|&i| v[i]).collect() };
    let (af, bf, dyf) = (pick(&a), pick(&b), pick(&dy));
    let m = af.len();
    let (mut e0, mut e1) = (vec![0.0f32; m], vec![0.0f32; m]);
    let got = gpu
        .backward_multi(&f, [&af, &bf], &dyf, [&mut e0, &mut e1])
        .unwrap();
    let want = f.try_param_grads_on(P, [&af, &bf], &dyf).unwrap();
    assert_eq!(got.len(), F::PARAM_NAMES.len());
    assert_eq!(want.len(), got.len());
    // Each element's |dy·∂f/∂p|, from the CPU one element at a time.
    let each: Vec<Vec<f64>> = (0..m)
        .map(|i| {
            f.try_param_grads_on(P, [&af[i..=i], &bf[i..=i]], &dyf[i..=i])
                .unwrap()
        })
        .collect();
    for (j, (&g, &w)) in got.iter().zip(&want).enumerate() {
        let mass: f64 = each.iter().map(|e| e[j].abs()).sum();
        assert!(
            w.is_finite() && mass > 0.0,
            "{name}: ∂/∂{} over {m} inputs is {w} (mass {mass}): not a test",
            F::PARAM_NAMES[j]
        );
        assert!(
            (g - w).abs() <= 1e-5 * mass,
            "{name}: ∂/∂{}: GPU {g}, CPU {w} (Σ|dy·∂f/∂p| = {mass})",
            F::PARAM_NAMES[j]
        );
    }
}

#[test]
fn gated_units_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    use actigen::*;
    check_multi::<Swiglu>(&gpu);
    check_multi::<Geglu>(&gpu);
    check_multi::<GegluTanh>(&gpu);
    check_multi::<Reglu>(&gpu);
    check_multi::<SwigluOai>(&gpu);
    check_multi::<Glu>(&gpu);
}

#[test]
fn bad_lengths_are_errors_and_write_nothing() {
    let Some(gpu) = gpu() else { return };
    let f = actigen::Swish::default();
    let mut y = vec![3.0f32; 4];
    let e = gpu.forward(&f, &[1.0; 5], &mut y).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Length {
                expected: 5,
                found: 4,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(y, [3.0; 4]);
    let mut dx = vec![3.0f32; 5];
    let e = gpu.backward(&f, &[1.0; 5], &[1.0; 4], &mut dx).unwrap_err();
    assert!(matches!(e, Error::Length { .. }), "{e}");
    assert_eq!(dx, [3.0; 5]);
    // The double backward of a gated unit: a v of another length.
    let (mut o0, mut o1) = (vec![3.0f32; 5], vec![3.0f32; 5]);
    let one = [1.0f32; 5];
    let e = gpu
        .grad2_multi(
            &actigen::Swiglu,
            [&one, &one],
            &one,
            [&one, &[1.0; 4]],
            [&mut o0, &mut o1],
        )
        .unwrap_err();
    assert!(matches!(e, Error::Length { found: 4, .. }), "{e}");
    assert_eq!((o0, o1), (vec![3.0; 5], vec![3.0; 5]));
    // Empty slices: nothing to do, zero gradients.
    let none: &[f32] = &[];
    assert_eq!(gpu.backward(&f, none, none, &mut []).unwrap(), vec![0.0]);
}

/// Forward: the largest error in ULP against the f64 value of the graph (`Ir::eval_f64`: the
/// f64 kernels' arithmetic), over results that are normal in f32; derivative (backward with
/// dy = 1): the largest relative error where |f′| is at least 1e−6 of its largest value.
fn accuracy_row<F: Formula + Default>(gpu: &Gpu, x: &[f32]) -> String {
    let f = F::default();
    let ir = F::IR;
    let params: Vec<f64> = F::PARAM_DEFAULTS.iter().map(|&p| p as f64).collect();
    let n = x.len();
    let (mut y, mut c) = (vec![0.0f32; n], vec![0.0f32; n]);
    gpu.forward(&f, x, &mut y).unwrap();
    f.try_forward_on(P, x, &mut c).unwrap();
    let ones = vec![1.0f32; n];
    let (mut dg, mut dc) = (vec![0.0f32; n], vec![0.0f32; n]);
    gpu.backward(&f, x, &ones, &mut dg).unwrap();
    f.try_backward_on(P, x, &ones, &mut dc).unwrap();
    let (mut ulp_g, mut ulp_c, mut rel_g, mut rel_c) = (0u64, 0u64, 0.0f64, 0.0f64);
    let (mut ulp_at, mut ulp32, mut ulp32_at) = (0.0f32, 0u64, 0.0f32);
    // The graph with its constants' f32 values (what an f32 formula's literals mean, and the
    // macro's analysis measures the f32 kernels against), evaluated in f64.
    let nodes32: Vec<Node> = ir
        .nodes
        .iter()
        .map(|&n| match n {
            Node::Const(s, _) => Node::Const(s, f64::from(s)),
            n => n,
        })
        .collect();
    let ir32 = actigen::ir::Ir {
        nodes: Box::leak(nodes32.into_boxed_slice()),
        ..ir
    };
    let d_ref: Vec<f64> = x
        .iter()
        .map(|&v| ir.eval_f64(ir.partials[0], &[v as f64], &params))
        .collect();
    let d_max = d_ref
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for i in 0..n {
        let r = ir.eval_f64(ir.forward, &[x[i] as f64], &params);
        if r.is_finite() && r.abs() >= f32::MIN_POSITIVE as f64 && r.abs() <= f32::MAX as f64 {
            ulp_g = ulp_g.max(actigen_tests::ulps32(y[i], r));
            let u = actigen_tests::ulps32(c[i], r);
            if u > ulp_c {
                (ulp_c, ulp_at) = (u, x[i]);
            }
            let r32 = ir32.eval_f64(ir32.forward, &[x[i] as f64], &params);
            let u = actigen_tests::ulps32(c[i], r32);
            if u > ulp32 {
                (ulp32, ulp32_at) = (u, x[i]);
            }
        }
        let d = d_ref[i];
        if d.is_finite() && d.abs() >= 1e-6 * d_max && d.abs() <= f32::MAX as f64 {
            rel_g = rel_g.max((dg[i] as f64 - d).abs() / d.abs());
            rel_c = rel_c.max((dc[i] as f64 - d).abs() / d.abs());
        }
    }
    format!(
        "| {} | {ulp_g} | {ulp_c} (x = {ulp_at}) | {ulp32} (x = {ulp32_at}) | {rel_g:.1e} | {rel_c:.1e} |",
        F::NAME
    )
}

/// The GPU's accuracy table (issue 14's closing note):
/// `cargo test -p actigen-tests --test graph -- --ignored --nocapture accuracy_table`.
#[test]
#[ignore = "prints a table; run by hand"]
fn accuracy_table() {
    let Some(gpu) = gpu() else { return };
    use actigen::*;
    let mut x: Vec<f32> = (0..=400_000).map(|i| -100.0 + i as f32 * 0.0005).collect();
    x.extend(
        actigen_tests::battery_f32()
            .into_iter()
            .filter(|v| v.is_finite()),
    );
    println!(
        "on {}; {} inputs: [-100, 100] step 5e-4 and the battery's finite values",
        gpu.adapter_name(),
        x.len()
    );
    println!(
        "| activation | GPU fwd max ULP | portable fwd max ULP | portable, f32 constants | GPU f′ max rel | portable f′ max rel |"
    );
    println!("|---|---|---|---|---|---|");
    macro_rules! each {
        ($($t:ty),*) => {$( println!("{}", accuracy_row::<$t>(&gpu, &x)); )*};
    }
    each!(
        Sigmoid, Tanh, Softsign, Relu, Softrelu, Leaky, Prelu, Elu, Selu, Swish, Gelu, GeluTanh,
        Mish
    );
}

/// A half type of the GPU passes, for the tests generic over both.
trait Half: actigen::gpu::GpuElement + std::fmt::Display {
    const ZERO: Self;
    fn from_bits(b: u16) -> Self;
    fn to_bits(self) -> u16;
    fn to_f32(self) -> f32;
    /// `half`'s rounding (independent of actigen's).
    fn from_f32(v: f32) -> Self;
}

macro_rules! half_type {
    ($t:ty) => {
        impl Half for $t {
            const ZERO: Self = <$t>::ZERO;
            fn from_bits(b: u16) -> Self {
                <$t>::from_bits(b)
            }
            fn to_bits(self) -> u16 {
                <$t>::to_bits(self)
            }
            fn to_f32(self) -> f32 {
                <$t>::to_f32(self)
            }
            fn from_f32(v: f32) -> Self {
                <$t>::from_f32(v)
            }
        }
    };
}
half_type!(half::f16);
half_type!(half::bf16);

/// Every value of the half type but the last (an odd count: the last entry is half used), in
/// bit order.
fn all_halves<H: Half>() -> Vec<H> {
    (0..u16::MAX).map(H::from_bits).collect()
}

/// `a` and the rounding of `b` are the same (both NaN counts as the same).
fn rounds_to<H: Half>(a: H, b: f32) -> bool {
    let want = H::from_f32(b);
    a.to_bits() == want.to_bits() || (a.to_f32().is_nan() && want.to_f32().is_nan())
}

/// The half-precision passes of `F` over every value of `H`: each result is the f32 pass's
/// result at the same (widened) input, rounded to nearest even (`half`'s rounding, independent
/// of actigen's); the parameter gradients agree within 1e−5 of Σ|dy·∂f/∂p|.
fn check_half<F: Formula + Default, H: Half>(gpu: &Gpu) {
    let f = F::default();
    let name = F::NAME;
    let x: Vec<H> = all_halves();
    let n = x.len();
    let x32: Vec<f32> = x.iter().map(|v| v.to_f32()).collect();
    let (mut y, mut y32) = (vec![H::ZERO; n], vec![0.0f32; n]);
    gpu.forward(&f, &x, &mut y).unwrap();
    gpu.forward(&f, &x32, &mut y32).unwrap();
    for i in 0..n {
        assert!(
            rounds_to(y[i], y32[i]),
            "{name}({}): half pass {}, f32 pass {} (bits {:#06x})",
            x32[i],
            y[i],
            y32[i],
            y[i].to_bits()
        );
    }
    let mut r = Rng(9);
    let dy: Vec<H> = (0..n)
        .map(|_| H::from_f32(r.uniform_f32(-2.0, 2.0)))
        .collect();
    let dy32: Vec<f32> = dy.iter().map(|v| v.to_f32()).collect();
    let (mut dx, mut dx32) = (vec![H::ZERO; n], vec![0.0f32; n]);
    let g = gpu.backward(&f, &x, &dy, &mut dx).unwrap();
    let g32 = gpu.backward(&f, &x32, &dy32, &mut dx32).unwrap();
    for i in 0..n {
        assert!(
            rounds_to(dx[i], dx32[i]),
            "{name}′({}): half pass {}, f32 pass {}",
            x32[i],
            dx[i],
            dx32[i]
        );
    }
    assert_eq!(g.len(), g32.len());
    if g.is_empty() {
        return;
    }
    // Over the finite inputs below 1e3 (the sums are the same terms in another tree).
    let keep: Vec<usize> = (0..n).filter(|&i| x32[i].abs() < 1e3).collect();
    let xk: Vec<H> = keep.iter().map(|&i| x[i]).collect();
    let dyk: Vec<H> = keep.iter().map(|&i| dy[i]).collect();
    let (xk32, dyk32): (Vec<f32>, Vec<f32>) = keep.iter().map(|&i| (x32[i], dy32[i])).unzip();
    let m = keep.len();
    let got = gpu.backward(&f, &xk, &dyk, &mut vec![H::ZERO; m]).unwrap();
    let want = gpu
        .backward(&f, &xk32, &dyk32, &mut vec![0.0f32; m])
        .unwrap();
    // Σ|dy·∂f/∂p| bounds the f32 sums' rounding.
    let mut partials = vec![0.0f32; m * got.len()];
    f.try_param_partials_on(P, &xk32, &mut partials).unwrap();
    for (j, (&a, &b)) in got.iter().zip(&want).enumerate() {
        let mass: f64 = (0..m)
            .map(|i| (dyk32[i] as f64 * partials[j * m + i] as f64).abs())
            .sum();
        assert!(mass > 0.0 && b.is_finite(), "{name}: not a test");
        assert!(
            (a - b).abs() <= 1e-5 * mass,
            "{name}: ∂/∂{}: half pass {a}, f32 pass {b} (Σ|dy·∂f/∂p| = {mass})",
            F::PARAM_NAMES[j]
        );
    }
}

/// SwiGLU's half-precision passes against its f32 passes, rounded.
fn check_half_gated<H: Half>(gpu: &Gpu) {
    let f = actigen::Swiglu;
    let a: Vec<H> = all_halves();
    let n = a.len();
    let b: Vec<H> = (0..n).map(|i| a[(i * 7 + 3) % n]).collect();
    let wide = |v: &[H]| -> Vec<f32> { v.iter().map(|h| h.to_f32()).collect() };
    let (a32, b32) = (wide(&a), wide(&b));
    let (mut y, mut y32) = (vec![H::ZERO; n], vec![0.0f32; n]);
    gpu.forward_multi(&f, [&a, &b], &mut y).unwrap();
    gpu.forward_multi(&f, [&a32, &b32], &mut y32).unwrap();
    assert!((0..n).all(|i| rounds_to(y[i], y32[i])), "swiglu forward");
    let dy: Vec<H> = (0..n).map(|i| a[(i * 3 + 1) % n]).collect();
    let dy32 = wide(&dy);
    let (mut d0, mut d1) = (vec![H::ZERO; n], vec![H::ZERO; n]);
    let (mut e0, mut e1) = (vec![0.0f32; n], vec![0.0f32; n]);
    gpu.backward_multi(&f, [&a, &b], &dy, [&mut d0, &mut d1])
        .unwrap();
    gpu.backward_multi(&f, [&a32, &b32], &dy32, [&mut e0, &mut e1])
        .unwrap();
    assert!((0..n).all(|i| rounds_to(d0[i], e0[i]) && rounds_to(d1[i], e1[i])));
    let v: Vec<H> = (0..n).map(|i| a[(i * 5 + 2) % n]).collect();
    let v32 = wide(&v);
    gpu.grad2_multi(&f, [&a, &b], &dy, [&v, &dy], [&mut d0, &mut d1])
        .unwrap();
    gpu.grad2_multi(&f, [&a32, &b32], &dy32, [&v32, &dy32], [&mut e0, &mut e1])
        .unwrap();
    assert!(
        (0..n).all(|i| rounds_to(d0[i], e0[i]) && rounds_to(d1[i], e1[i])),
        "swiglu grad2"
    );
}

// One test, one device: the f32 passes' pipelines are compiled once for both half types
// (lavapipe's shader compilation is most of the GPU tests' time).
#[test]
fn half_passes_are_the_f32_passes_rounded() {
    let Some(gpu) = gpu() else { return };
    use actigen::*;
    // Outputs over the whole binary16 range: subnormal (σ), ties and every mantissa
    // (softsign), overflow to inf (selu(65504) = 68825), a parameter gradient (swish).
    check_half::<Sigmoid, half::f16>(&gpu);
    check_half::<Softsign, half::f16>(&gpu);
    check_half::<Selu, half::f16>(&gpu);
    check_half::<Swish, half::f16>(&gpu);
    check_half_gated::<half::f16>(&gpu);
    // bfloat16 shares f32's range: no overflow to test.
    check_half::<Sigmoid, half::bf16>(&gpu);
    check_half::<Softsign, half::bf16>(&gpu);
    check_half::<Swish, half::bf16>(&gpu);
    check_half_gated::<half::bf16>(&gpu);
}

/// The device-buffer f16 pass over an odd count leaves the high half of the last entry as it
/// was (it is not an element of the pass).
#[test]
fn f16_buffers_keep_what_is_beyond_n() {
    let Some(gpu) = gpu() else { return };
    use actigen::gpu::wgpu;
    use actigen::wgsl::Storage;
    let f = actigen::Sigmoid;
    let x: Vec<half::f16> = [0.5f32, -1.0, 3.0]
        .iter()
        .map(|&v| half::f16::from_f32(v))
        .collect();
    let sentinel = half::f16::from_f32(1234.0);
    let xb = gpu.buffer(&x);
    let yb = gpu.buffer(&[sentinel; 4]);
    gpu.forward_buffers_as(&f, Storage::F16, &xb, &yb, 3)
        .unwrap();
    // Read the whole output buffer back (8 bytes).
    let d = gpu.device();
    let staging = d.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 8,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = d.create_command_encoder(&Default::default());
    enc.copy_buffer_to_buffer(&yb, 0, &staging, 0, 8);
    gpu.queue().submit([enc.finish()]);
    staging.map_async(wgpu::MapMode::Read, .., |_| {});
    d.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    let bytes = staging.get_mapped_range(..).unwrap().to_vec();
    let got: Vec<half::f16> = bytes
        .chunks_exact(2)
        .map(|b| half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])))
        .collect();
    let mut y32 = vec![0.0f32; 3];
    let x32: Vec<f32> = x.iter().map(|v| v.to_f32()).collect();
    gpu.forward(&f, &x32, &mut y32).unwrap();
    for i in 0..3 {
        assert!(rounds_to(got[i], y32[i]), "{i}: {} vs {}", got[i], y32[i]);
    }
    assert_eq!(got[3].to_bits(), sentinel.to_bits(), "beyond n");
}
