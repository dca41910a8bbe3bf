//! Half-precision slices (issue 10), exhaustively: for every built-in activation, both half
//! types, every supported ISA and all 65,536 inputs, forward, backward and grad2 must be
//! - bit for bit the half-precision rounding of the f32 kernel's result on the same ISA (the
//!   rounding done here by the `half` crate, an implementation independent of actigen's), and
//! - within 1 half-precision ULP of the f64 reference rounded to the half type (forward and
//!   backward; grad2 inherits the f32 kernel's cancellation near removable points, issue 12);
//!
//! NaN in gives NaN out (the reference is NaN there), and ±inf, ±0 and the subnormal halves are
//! among the inputs. The output-based backward, the fused parameter gradients and the
//! in-place forms are checked against the f32 path and the out-of-place forms.
//!
//! Also: the in-place backward of f32 and f64 slices equals the out-of-place one.

use actigen::half::{bf16, f16};
use actigen::{Activation, DynActivation, Isa, Storage, by_name};
use actigen_tests::Rng;

/// A half type with an independent reference rounding (the `half` crate's).
trait HalfType: Storage<Compute = f32> + PartialEq
where
    dyn DynActivation: Activation<Self>,
{
    fn from_bits(b: u16) -> Self;
    fn bits(self) -> u16;
    /// Exact value, by the `half` crate.
    fn widen(self) -> f32;
    /// `v` rounded to nearest even, by the `half` crate.
    fn round_f32(v: f32) -> Self;
    /// `v` rounded to nearest even, by the `half` crate.
    fn round_f64(v: f64) -> Self;
}

impl HalfType for f16 {
    fn from_bits(b: u16) -> Self {
        f16::from_bits(b)
    }
    fn bits(self) -> u16 {
        self.to_bits()
    }
    fn widen(self) -> f32 {
        self.to_f32()
    }
    fn round_f32(v: f32) -> Self {
        f16::from_f32(v)
    }
    fn round_f64(v: f64) -> Self {
        f16::from_f64(v)
    }
}

impl HalfType for bf16 {
    fn from_bits(b: u16) -> Self {
        bf16::from_bits(b)
    }
    fn bits(self) -> u16 {
        self.to_bits()
    }
    fn widen(self) -> f32 {
        self.to_f32()
    }
    fn round_f32(v: f32) -> Self {
        bf16::from_f32(v)
    }
    fn round_f64(v: f64) -> Self {
        bf16::from_f64(v)
    }
}

/// Adjacent halves differ by 1 (±0 both 0).
fn ordered(b: u16) -> i32 {
    if b & 0x8000 != 0 {
        -i32::from(b & 0x7fff)
    } else {
        i32::from(b)
    }
}

fn is_nan<H: HalfType>(h: H) -> bool
where
    dyn DynActivation: Activation<H>,
{
    h.widen().is_nan()
}

/// Distance in half ULPs; 0 for two NaNs, `u32::MAX` for one.
fn half_ulps<H: HalfType>(got: H, want: H) -> u32
where
    dyn DynActivation: Activation<H>,
{
    match (is_nan(got), is_nan(want)) {
        (true, true) => 0,
        (false, false) => ordered(got.bits()).abs_diff(ordered(want.bits())),
        _ => u32::MAX,
    }
}

/// Bits equal, or both NaN.
fn same<H: HalfType>(a: H, b: H) -> bool
where
    dyn DynActivation: Activation<H>,
{
    a.bits() == b.bits() || (is_nan(a) && is_nan(b))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Forward,
    Backward,
    Grad2,
}

/// The pass `op` with dy = 1, in each storage type.
fn run<T: Storage>(act: &(dyn DynActivation + 'static), isa: Isa, op: Op, x: &[T], one: T) -> Vec<T>
where
    dyn DynActivation: Activation<T>,
{
    let mut out = x.to_vec();
    let dy = vec![one; x.len()];
    match op {
        Op::Forward => act.try_forward_on(isa, x, &mut out),
        Op::Backward => act.try_backward_on(isa, x, &dy, &mut out),
        Op::Grad2 => act.try_grad2_on(isa, x, &dy, &mut out),
    }
    .unwrap();
    out
}

/// Max half-ULP error against the f64 reference over all inputs (forward and backward; 0 for
/// grad2, compared with the f32 kernel only); panics on a bit mismatch with the rounded f32
/// result, or an error above 1 half ULP.
fn exhaustive<H: HalfType>(name: &str, act: &(dyn DynActivation + 'static), isa: Isa, op: Op) -> u32
where
    dyn DynActivation: Activation<H>,
{
    let x: Vec<H> = (0..=u16::MAX).map(H::from_bits).collect();
    let got = run::<H>(act, isa, op, &x, H::from_bits(H::round_f32(1.0).bits()));
    let x32: Vec<f32> = x.iter().map(|h| h.widen()).collect();
    let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
    let y32 = run::<f32>(act, isa, op, &x32, 1.0);
    let y64 = run::<f64>(act, isa, op, &x64, 1.0);
    let mut worst = (0, 0.0f32);
    for i in 0..x.len() {
        let from_f32 = H::round_f32(y32[i]);
        assert!(
            same(got[i], from_f32),
            "{isa} {} {name} {op:?} at {:e}: {:e}, the f32 kernel's {:e} rounds to {:e}",
            H::DTYPE,
            x32[i],
            got[i].widen(),
            y32[i],
            from_f32.widen()
        );
        if op == Op::Grad2 {
            // f″ carries the f32 kernel's own error, which issue 12 is about (sigmoid's
            // f″ = σ(1−σ)(1−2σ) cancels near 0): compared with the f32 kernel only.
            continue;
        }
        let d = half_ulps(got[i], H::round_f64(y64[i]));
        if d > worst.0 {
            worst = (d, x32[i]);
        }
    }
    if worst.0 > 1 {
        panic!(
            "{isa} {} {name} {op:?} at {:e}: {} half ULPs from the f64 reference",
            H::DTYPE,
            worst.1,
            worst.0
        );
    }
    worst.0
}

fn builtins() -> Vec<(&'static str, Box<dyn DynActivation>)> {
    // The ten of the MXNet guide (the names after them are aliases).
    actigen::builtin::NAMES[..10]
        .iter()
        .map(|&n| (n, by_name(n, &[]).unwrap()))
        .collect()
}

fn supported() -> impl Iterator<Item = Isa> {
    Isa::ALL.into_iter().filter(|i| i.is_supported())
}

#[test]
fn every_half_input_rounds_the_f32_kernel_and_is_within_one_half_ulp() {
    let mut table = Vec::new();
    for (name, act) in builtins() {
        for op in [Op::Forward, Op::Backward, Op::Grad2] {
            let mut max = (0, 0);
            for isa in supported() {
                max.0 = max.0.max(exhaustive::<f16>(name, &*act, isa, op));
                max.1 = max.1.max(exhaustive::<bf16>(name, &*act, isa, op));
            }
            if op != Op::Grad2 {
                table.push(format!("{name:>10} {op:>8?}: f16 {} bf16 {}", max.0, max.1));
            }
        }
    }
    eprintln!("max half-ULP error against f64, all 65536 inputs, every ISA:");
    for row in table {
        eprintln!("  {row}");
    }
}

/// The other passes against the f32 path on the same widened inputs, and the in-place forms
/// against the out-of-place ones.
fn other_passes<H: HalfType>(name: &str, act: &(dyn DynActivation + 'static), isa: Isa)
where
    dyn DynActivation: Activation<H>,
{
    let mut rng = Rng(0x5eed ^ name.len() as u64);
    // Every finite half as x, a random finite half as dy.
    let x: Vec<H> = (0..=u16::MAX)
        .map(H::from_bits)
        .filter(|h| h.widen().is_finite())
        .collect();
    let dy: Vec<H> = x
        .iter()
        .map(|_| H::round_f32(rng.uniform_f32(-4.0, 4.0)))
        .collect();
    let (x32, dy32): (Vec<f32>, Vec<f32>) = (
        x.iter().map(|h| h.widen()).collect(),
        dy.iter().map(|h| h.widen()).collect(),
    );
    let n = x.len();
    let all_same = |a: &[H], b: &[H]| a.iter().zip(b).all(|(&p, &q)| same(p, q));
    let rounded = |v: &[f32]| v.iter().map(|&v| H::round_f32(v)).collect::<Vec<H>>();

    // Forward in place.
    let mut y = vec![x[0]; n];
    act.try_forward_on(isa, &x, &mut y).unwrap();
    let mut xy = x.clone();
    act.try_forward_in_place_on(isa, &mut xy).unwrap();
    assert!(
        all_same(&xy, &y),
        "{isa} {} {name}: forward in place",
        H::DTYPE
    );

    // Backward with a real dy, in place over dy.
    let mut dx = vec![x[0]; n];
    act.try_backward_on(isa, &x, &dy, &mut dx).unwrap();
    let mut dx32 = vec![0.0; n];
    Activation::<f32>::try_backward_on(act, isa, &x32, &dy32, &mut dx32).unwrap();
    assert!(
        all_same(&dx, &rounded(&dx32)),
        "{isa} {} {name}: backward",
        H::DTYPE
    );
    let mut dy_dx = dy.clone();
    act.try_backward_in_place_on(isa, &x, &mut dy_dx).unwrap();
    assert!(
        all_same(&dy_dx, &dx),
        "{isa} {} {name}: backward in place",
        H::DTYPE
    );

    // The output-based form (where the activation has one), from the half outputs.
    let mut from_y = vec![x[0]; n];
    if act
        .try_backward_from_output_on(isa, &y, &dy, &mut from_y)
        .is_ok()
    {
        let y32: Vec<f32> = y.iter().map(|h| h.widen()).collect();
        let mut want = vec![0.0; n];
        Activation::<f32>::try_backward_from_output_on(act, isa, &y32, &dy32, &mut want).unwrap();
        assert!(
            all_same(&from_y, &rounded(&want)),
            "{isa} {} {name}: from output",
            H::DTYPE
        );
        let mut y_dx = y.clone();
        act.try_backward_from_output_in_place_on(isa, &mut y_dx, &dy)
            .unwrap();
        assert!(
            all_same(&y_dx, &from_y),
            "{isa} {} {name}: from output in place",
            H::DTYPE
        );
    }

    // The fused pass: dx as above, the parameter gradients as the f32 path's (summed in
    // another order: blocks of 1024, so equal to a relative 1e-12).
    let np = act.param_names().len();
    let mut g = vec![0.0; np];
    let mut fused_dx = vec![x[0]; n];
    act.try_backward_fused_on(isa, &x, &dy, Some(&mut fused_dx), &mut g)
        .unwrap();
    assert!(
        all_same(&fused_dx, &dx),
        "{isa} {} {name}: fused dx",
        H::DTYPE
    );
    let mut g32 = vec![0.0; np];
    Activation::<f32>::try_backward_fused_on(act, isa, &x32, &dy32, None, &mut g32).unwrap();
    for (a, b) in g.iter().zip(&g32) {
        assert!(
            actigen_tests::close(*a, *b, 1e-12, 0.0),
            "{isa} {} {name}: parameter gradient {a:e}, f32 path {b:e}",
            H::DTYPE
        );
    }
    // Per-element partials: the rounded f32 partials.
    let mut partials = vec![x[0]; n * np];
    act.try_param_partials_on(isa, &x, &mut partials).unwrap();
    let mut p32 = vec![0.0; n * np];
    Activation::<f32>::try_param_partials_on(act, isa, &x32, &mut p32).unwrap();
    assert!(
        all_same(&partials, &rounded(&p32)),
        "{isa} {} {name}: partials",
        H::DTYPE
    );
}

#[test]
fn other_passes_match_the_f32_path_and_in_place_matches_out_of_place() {
    for (name, act) in builtins() {
        for isa in supported() {
            other_passes::<f16>(name, &*act, isa);
            other_passes::<bf16>(name, &*act, isa);
        }
    }
}

/// Every length from 0 to 39 and around the 1024-element blocks: the half path (whose loops
/// end with a partial vector pair through a stack buffer) is the f32 slice path's result
/// rounded, bit for bit, for forward, backward (also in place) and grad2, and within one half
/// ULP of the scalar API.
fn every_length<H: HalfType>(act: &(dyn DynActivation + 'static), seed: u64)
where
    dyn DynActivation: Activation<H>,
{
    let mut rng = Rng(seed);
    for n in (0..40).chain([1023, 1024, 1025, 2047, 2048, 2049, 3001]) {
        let x: Vec<H> = (0..n)
            .map(|_| H::round_f32(rng.uniform_f32(-8.0, 8.0)))
            .collect();
        let xf: Vec<f32> = x.iter().map(|h| h.widen()).collect();
        for isa in supported() {
            for op in [Op::Forward, Op::Backward, Op::Grad2] {
                let got = run(act, isa, op, &x, H::round_f32(1.0));
                let want = run::<f32>(act, isa, op, &xf, 1.0);
                for i in 0..n {
                    let w = H::round_f32(want[i]);
                    assert!(
                        same(got[i], w),
                        "{isa} {op:?} n={n} i={i}: {:?} vs the f32 path's {w:?}",
                        got[i]
                    );
                }
            }
            let mut y = vec![H::round_f32(0.0); n];
            act.try_forward_on(isa, &x, &mut y).unwrap();
            let mut d = vec![H::round_f32(1.0); n];
            act.try_backward_in_place_on(isa, &x, &mut d).unwrap();
            let mut dx = vec![H::round_f32(0.0); n];
            act.try_backward_on(isa, &x, &vec![H::round_f32(1.0); n], &mut dx)
                .unwrap();
            for i in 0..n {
                let (v, dv) = (act.value(x[i]), act.derivative(x[i]));
                // The scalar API is one fused lane: at most one f32 ULP from the slice path,
                // which the rounding to the half type can turn into one half ULP.
                assert!(
                    half_ulps(y[i], v) <= 1,
                    "{isa} n={n} i={i}: {:?} vs {v:?}",
                    y[i]
                );
                assert!(
                    half_ulps(d[i], dv) <= 1,
                    "{isa} n={n} i={i}: {:?} vs {dv:?}",
                    d[i]
                );
                assert!(same(d[i], dx[i]), "{isa} n={n} i={i}: in place {:?}", d[i]);
            }
        }
    }
}

#[test]
fn every_length_matches_the_f32_path_and_the_scalar_api() {
    let act = by_name("swish", &[("beta", 1.5)]).unwrap();
    every_length::<bf16>(&*act, 7);
    every_length::<f16>(&*act, 8);
    // Mismatched lengths: an error, nothing written.
    let mut y = [f16::ZERO; 3];
    assert!(act.try_forward(&[f16::ONE; 4], &mut y).is_err());
    assert!(act.try_backward_in_place(&[f16::ONE; 4], &mut y).is_err());
    assert_eq!(y, [f16::ZERO; 3]);
}

#[test]
fn backward_in_place_equals_out_of_place_for_f32_and_f64() {
    fn check<T: Storage + PartialEq>(
        act: &(dyn DynActivation + 'static),
        isa: Isa,
        x: &[T],
        dy: &[T],
    ) where
        dyn DynActivation: Activation<T>,
    {
        let n = x.len();
        let mut dx = dy.to_vec();
        act.try_backward_on(isa, x, dy, &mut dx).unwrap();
        let mut dy_dx = dy.to_vec();
        act.try_backward_in_place_on(isa, x, &mut dy_dx).unwrap();
        let eq = |a: &[T], b: &[T]| {
            a.iter()
                .zip(b)
                .all(|(p, q)| p == q || (format!("{p:?}") == format!("{q:?}")))
        };
        assert!(
            eq(&dy_dx, &dx),
            "{isa} {} {}: backward in place",
            T::DTYPE,
            act.name()
        );
        let mut y = x.to_vec();
        act.try_forward_on(isa, x, &mut y).unwrap();
        let mut from_y = vec![x[0]; n];
        if act
            .try_backward_from_output_on(isa, &y, dy, &mut from_y)
            .is_ok()
        {
            let mut y_dx = y.clone();
            act.try_backward_from_output_in_place_on(isa, &mut y_dx, dy)
                .unwrap();
            assert!(
                eq(&y_dx, &from_y),
                "{isa} {}: from output in place",
                T::DTYPE
            );
        }
        // Wrong lengths: an error, and nothing written.
        let mut short = dy[..n - 1].to_vec();
        let before = short.clone();
        assert!(act.try_backward_in_place_on(isa, x, &mut short).is_err());
        assert!(eq(&short, &before));
    }
    let mut rng = Rng(11);
    let x32: Vec<f32> = (0..1000).map(|_| rng.uniform_f32(-20.0, 20.0)).collect();
    let dy32: Vec<f32> = (0..1000).map(|_| rng.uniform_f32(-2.0, 2.0)).collect();
    let x64: Vec<f64> = x32.iter().map(|&v| v as f64 * 1.000_000_1).collect();
    let dy64: Vec<f64> = dy32.iter().map(|&v| v as f64).collect();
    for (_, act) in builtins() {
        for isa in supported() {
            for n in [1, 17, 1000] {
                check::<f32>(&*act, isa, &x32[..n], &dy32[..n]);
                check::<f64>(&*act, isa, &x64[..n], &dy64[..n]);
            }
        }
    }
}

/// `x · s`: its f32 products land anywhere between the half values, so the rounding of every
/// ISA's half-precision store is checked on more than the built-ins' outputs.
#[actigen::activation]
fn scaled(x: f32, #[default(1.0)] s: f32) -> f32 {
    x * s
}

/// Every half input times scales that make ties (1 + 2⁻¹¹ for f16, 1 + 2⁻⁸ for bf16: exact
/// halfway points at the powers of two), values that round into the subnormals or overflow,
/// and arbitrary ones: the half-precision store of the f32 product `x · s` must equal the
/// `half` crate's rounding of that product, bit for bit (NaN in, NaN out), on every ISA.
fn stores_round_like_the_half_crate<H: HalfType>(tie: f32)
where
    Scaled: Activation<H>,
    dyn DynActivation: Activation<H>,
{
    let x: Vec<H> = (0..=u16::MAX).map(H::from_bits).collect();
    for s in [
        tie, -tie, 0.6180339, 3.1e-5, 1.0e-38, 1.0e4, 6.0e37, -1.3703704, 255.99998,
    ] {
        let act = Scaled::new(s);
        for isa in supported() {
            let mut y = x.clone();
            Activation::<H>::try_forward_on(&act, isa, &x, &mut y).unwrap();
            for (&xi, &yi) in x.iter().zip(&y) {
                let want = H::round_f32(xi.widen() * s);
                assert!(
                    same(yi, want),
                    "{isa}: {:?} · {s:e} stored as {:#06x}, the half crate gives {:#06x}",
                    xi,
                    yi.bits(),
                    want.bits()
                );
            }
        }
    }
}

#[test]
fn half_stores_round_to_nearest_even_on_every_isa() {
    stores_round_like_the_half_crate::<f16>(1.0 + 2f32.powi(-11));
    stores_round_like_the_half_crate::<bf16>(1.0 + 2f32.powi(-8));
}
