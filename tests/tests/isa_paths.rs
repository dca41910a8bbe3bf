//! Every SIMD path against the portable path, for every activation, f32 and f64: lengths
//! 0..=130 and a few large ones, at offsets 0..=15 into a larger buffer, out of place and in
//! place, forward, backward and parameter gradients. Guard elements around each slice must stay
//! untouched. Paths this CPU lacks are skipped, saying so.

use actigen::{Activation, DynActivation, Float, Isa, by_name};
use actigen_tests::{TEN, ulps32, ulps64};

const GUARD: usize = 16;

/// Inputs over the whole range: moderate values, extremes and specials mixed in.
fn inputs(n: usize, seed: u64) -> Vec<f64> {
    let specials = [
        0.0,
        -0.0,
        1e-40,
        -1e-40,
        88.7,
        -88.7,
        1e4,
        -1e4,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            match i % 5 {
                0 => specials[(s % specials.len() as u64) as usize],
                1 => (u - 0.5) * 200.0,
                _ => (u - 0.5) * 20.0,
            }
        })
        .collect()
}

trait Close: Float {
    fn close(a: Self, b: Self) -> bool;
    fn from(v: f64) -> Self;
}
/// Same algorithm on every path: equal up to one rounding (of a subnormal result, or of a
/// `mul_add`) where the portable path's `mul_add` is fused, as on every SIMD path. Where it is
/// not (the x86-64 baseline: no FMA), each path is within its own bound of the truth, and two
/// such results differ by up to 4 ULP (measured here: see the test output).
fn tolerance() -> u64 {
    use actigen::simd::{PortableF32, Vector};
    if <PortableF32 as Vector>::FUSED { 1 } else { 4 }
}

/// The largest difference seen, in ULP, to print.
static WORST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Close for f32 {
    fn close(a: f32, b: f32) -> bool {
        let u = ulps32(a, b as f64);
        WORST.fetch_max(u, std::sync::atomic::Ordering::Relaxed);
        u <= tolerance()
    }
    fn from(v: f64) -> f32 {
        v as f32
    }
}
impl Close for f64 {
    fn close(a: f64, b: f64) -> bool {
        let u = ulps64(a, b).min(u64::MAX as u128) as u64;
        WORST.fetch_max(u, std::sync::atomic::Ordering::Relaxed);
        u <= tolerance()
    }
    fn from(v: f64) -> f64 {
        v
    }
}

fn sentinel<T: Close>() -> T {
    T::from(-12345.678)
}

fn check_guards<T: Close>(buf: &[T], off: usize, len: usize, what: &str) {
    let s = sentinel::<T>();
    for (i, v) in buf.iter().enumerate() {
        if i < off || i >= off + len {
            assert!(
                v.to_f64() == s.to_f64(),
                "{what}: guard element {i} (slice at {off}..{}) was overwritten",
                off + len
            );
        }
    }
}

fn compare<T: Close>(got: &[T], want: &[T], what: &str) {
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            T::close(g, w),
            "{what}: element {i}: {g:?} vs portable {w:?}"
        );
    }
}

/// [`compare`] for derivatives (backward, grad2). Where the portable `mul_add` is not fused,
/// derivatives (longer expressions, which cancel near their zeros, such as tanh′ = 1 − tanh²)
/// may also differ by 4e−6 of the slice's largest |dy·f′|: a bound relative to the scale, as
/// for the parameter gradients. Each path's own accuracy is checked against f64 references in
/// `builtin_accuracy.rs`.
fn compare_derivative<T: Close>(got: &[T], want: &[T], what: &str) {
    let scale = want
        .iter()
        .map(|w| w.to_f64().abs())
        .filter(|w| w.is_finite())
        .fold(0.0, f64::max);
    let fused = tolerance() == 1;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let near = !fused && (g.to_f64() - w.to_f64()).abs() <= 4e-6 * scale;
        assert!(
            near || T::close(g, w),
            "{what}: element {i}: {g:?} vs portable {w:?}"
        );
    }
}

fn run<T: Close>(isa: Isa, act: &(dyn DynActivation + 'static), name: &str)
where
    dyn DynActivation: Activation<T>,
{
    let np = act.param_names().len();
    let mut lengths: Vec<usize> = (0..=130).collect();
    lengths.extend([1000, 4099]);
    for &len in &lengths {
        let x: Vec<T> = inputs(len, len as u64 + 7)
            .into_iter()
            .map(T::from)
            .collect();
        let dy: Vec<T> = inputs(len, len as u64 + 99)
            .into_iter()
            .map(|v| T::from(v.clamp(-3.0, 3.0)))
            .collect();
        // The portable reference.
        let mut y_ref = vec![T::ZERO; len];
        let mut dx_ref = vec![T::ZERO; len];
        let mut g_ref = vec![0.0; np];
        let mut d2_ref = vec![T::ZERO; len];
        act.try_grad2_on(Isa::Portable, &x, &dy, &mut d2_ref)
            .unwrap();
        act.try_forward_on(Isa::Portable, &x, &mut y_ref).unwrap();
        act.try_backward_on(Isa::Portable, &x, &dy, &mut dx_ref)
            .unwrap();
        act.try_backward_fused_on(Isa::Portable, &x, &dy, None, &mut g_ref)
            .unwrap();
        let offsets = if len > 130 { 0..=1 } else { 0..=15 };
        for off in offsets {
            let what = format!("{isa} {name} {} len {len} offset {off}", T::NAME);
            let total = off + len + GUARD;
            // Out of place.
            let mut xb = vec![sentinel::<T>(); total];
            xb[off..off + len].copy_from_slice(&x);
            let mut yb = vec![sentinel::<T>(); total];
            act.try_forward_on(isa, &xb[off..off + len], &mut yb[off..off + len])
                .unwrap();
            check_guards(&yb, off, len, &format!("{what} forward"));
            compare(&yb[off..off + len], &y_ref, &format!("{what} forward"));
            // In place.
            let mut ib = xb.clone();
            act.try_forward_in_place_on(isa, &mut ib[off..off + len])
                .unwrap();
            check_guards(&ib, off, len, &format!("{what} in place"));
            compare(&ib[off..off + len], &y_ref, &format!("{what} in place"));
            // Backward, and fused with the parameter gradients.
            let mut db = vec![sentinel::<T>(); total];
            db[off..off + len].copy_from_slice(&dy);
            let mut dxb = vec![sentinel::<T>(); total];
            act.try_backward_on(
                isa,
                &xb[off..off + len],
                &db[off..off + len],
                &mut dxb[off..off + len],
            )
            .unwrap();
            check_guards(&dxb, off, len, &format!("{what} backward"));
            compare_derivative(&dxb[off..off + len], &dx_ref, &format!("{what} backward"));
            let mut d2b = vec![sentinel::<T>(); total];
            act.try_grad2_on(
                isa,
                &xb[off..off + len],
                &db[off..off + len],
                &mut d2b[off..off + len],
            )
            .unwrap();
            check_guards(&d2b, off, len, &format!("{what} grad2"));
            compare_derivative(&d2b[off..off + len], &d2_ref, &format!("{what} grad2"));
            let mut fb = vec![sentinel::<T>(); total];
            let mut g = vec![0.0; np];
            act.try_backward_fused_on(
                isa,
                &xb[off..off + len],
                &db[off..off + len],
                Some(&mut fb[off..off + len]),
                &mut g,
            )
            .unwrap();
            check_guards(&fb, off, len, &format!("{what} fused"));
            compare_derivative(&fb[off..off + len], &dx_ref, &format!("{what} fused dx"));
            for (a, b) in g.iter().zip(&g_ref) {
                // Sums in another order: compare relative to the sum of magnitudes.
                let mut scale = 0.0;
                let mut parts = vec![T::ZERO; len * np];
                act.try_param_partials_on(Isa::Portable, &x, &mut parts)
                    .unwrap();
                for (p, d) in parts.iter().zip(dy.iter().cycle()) {
                    let t = (p.to_f64() * d.to_f64()).abs();
                    if t.is_finite() {
                        scale += t;
                    }
                }
                let ok = (a.is_nan() && b.is_nan())
                    || a == b
                    || (a - b).abs() <= 1e-5 * scale.max(1e-30);
                assert!(ok, "{what}: parameter gradient {a} vs portable {b}");
            }
        }
    }
}

#[test]
fn every_isa_matches_the_portable_path() {
    let mut ran = 0;
    for isa in Isa::ALL.into_iter().filter(|&i| i != Isa::Portable) {
        if !isa.is_supported() {
            eprintln!("skipping the {isa} path: this CPU does not support it");
            continue;
        }
        for name in TEN {
            let act = by_name(name, &[]).unwrap();
            run::<f32>(isa, &*act, name);
            run::<f64>(isa, &*act, name);
            ran += 1;
        }
    }
    eprintln!(
        "{ran} (ISA, activation) pairs checked against the portable path: max {} ULP apart (tolerance {})",
        WORST.load(std::sync::atomic::Ordering::Relaxed),
        tolerance()
    );
}

#[test]
fn forced_isa_is_the_active_one() {
    // CI runs the suite once per ACTIGEN_ISA value; this test proves the override took effect.
    match std::env::var(actigen::ISA_ENV) {
        Ok(name) if !name.is_empty() => {
            let want = Isa::from_name(&name).expect("CI sets a valid name");
            assert_eq!(actigen::active_isa(), want);
        }
        _ => assert_eq!(actigen::active_isa(), Isa::best_supported()),
    }
}

#[test]
fn unsupported_isa_is_an_error_not_a_fallback() {
    let act = by_name("relu", &[]).unwrap();
    for isa in Isa::ALL {
        let mut y = [0f32; 4];
        let r = act.try_forward_on(isa, &[1.0f32; 4], &mut y);
        assert_eq!(r.is_ok(), isa.is_supported(), "{isa}");
    }
}
