//! Series patches (issue 12's "must have 2"): around x = 0, where a formula is 0/0 or cancels
//! (`ln_1p(x)/x`, `sin(x)/x`, `x − sin x`), its Taylor polynomial, used where |x| is below a
//! radius the error analysis chooses (a select, like every branch).
//!
//! The coefficients come from truncated power-series arithmetic over the IR: each node's series
//! at 0 from its operands' (Taylor-mode differentiation: every function's series from the
//! differential equation it satisfies, `exp′ = exp·u′`, `tanh′ = (1 − tanh²)·u′`, …). A quotient
//! whose numerator and denominator both vanish at 0 divides out their common power of x, which
//! is what makes the 0/0 points regular; a difference whose terms cancel leaves exact zeros
//! (coefficients within 1e−14 of cancelling are taken to cancel exactly).
//!
//! A node has no series at 0 (the patch is not made) where it depends on a parameter (the
//! coefficients would change with it), on a value the macro cannot see, or is not analytic at
//! 0 (`|x|`, `sqrt(x)`, a branch that switches at 0, a pole).

use crate::analysis::Env;
use crate::dd::Dd;
use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};

/// Terms computed per series (a quotient that divides out xᵏ keeps `TERMS − k`).
const TERMS: usize = 30;

type Series = Vec<f64>;

/// A node's value at the expansion point: a series, a value without one (|x| and sqrt(x²)
/// at 0: enough for a comparison, as in a regime's select), or a mask's truth there.
#[derive(Clone)]
enum Val {
    S(Series),
    C(f64),
    M(bool),
}

fn snap(r: f64, scale: f64) -> f64 {
    if r.abs() <= 1e-14 * scale { 0.0 } else { r }
}

fn add(a: &Series, b: &Series, sign: f64) -> Series {
    a.iter()
        .zip(b)
        .map(|(&p, &q)| snap(p + sign * q, p.abs() + q.abs()))
        .collect()
}

fn mul(a: &Series, b: &Series) -> Series {
    let n = a.len().min(b.len());
    (0..n)
        .map(|k| {
            let (mut s, mut scale) = (0.0, 0.0);
            for j in 0..=k {
                let t = a[j] * b[k - j];
                s += t;
                scale += t.abs();
            }
            snap(s, scale)
        })
        .collect()
}

/// a/b, dividing out the power of x both share; `None` at a pole.
fn div(a: &Series, b: &Series) -> Option<Series> {
    let n = a.len().min(b.len());
    let k = b.iter().take(n).position(|&v| v != 0.0)?;
    if a[..k].iter().any(|&v| v != 0.0) {
        return None;
    }
    let (a, b) = (&a[k..n], &b[k..n]);
    let mut q: Series = Vec::with_capacity(a.len());
    for m in 0..a.len() {
        let (mut s, mut scale) = (a[m], a[m].abs());
        for j in 1..=m {
            let t = b[j] * q[m - j];
            s -= t;
            scale += t.abs();
        }
        q.push(snap(s, scale) / b[0]);
    }
    Some(q)
}

/// u′ (one term shorter).
fn derivative(u: &Series) -> Series {
    (1..u.len()).map(|k| k as f64 * u[k]).collect()
}

/// w with w(0) = `w0` and w′ = `d` (one term longer than `d`).
fn integral(w0: f64, d: &Series) -> Series {
    std::iter::once(w0)
        .chain(d.iter().enumerate().map(|(k, &v)| v / (k + 1) as f64))
        .collect()
}

/// w with w(0) = `w0` and w′ = h(w)·u′, where `h(w, m)` is the m-th coefficient of h(w)
/// (it may read w's coefficients up to m).
fn ode(u: &Series, w0: f64, h: impl Fn(&Series, usize) -> f64) -> Series {
    let mut w = vec![w0];
    let mut hs = Vec::new();
    for k in 1..u.len() {
        hs.push(h(&w, k - 1));
        let s: f64 = (1..=k).map(|j| j as f64 * u[j] * hs[k - j]).sum();
        w.push(s / k as f64);
    }
    w
}

fn constant(v: f64, n: usize) -> Series {
    let mut s = vec![0.0; n];
    s[0] = v;
    s
}

fn unary(op: Un, a: &Series) -> Option<Series> {
    let a0 = a[0];
    let n = a.len();
    Some(match op {
        Un::Neg => a.iter().map(|v| -v).collect(),
        Un::Abs if a0 > 0.0 => a.clone(),
        Un::Abs if a0 < 0.0 => a.iter().map(|v| -v).collect(),
        Un::Abs => return None,
        Un::Exp | Un::ExpM1 => {
            let mut w = ode(a, a0.exp(), |w, m| w[m]);
            if op == Un::ExpM1 {
                w[0] = a0.exp_m1();
            }
            w
        }
        Un::Ln if a0 > 0.0 => integral(a0.ln(), &div(&derivative(a), a)?),
        Un::Ln1p if a0 > -1.0 => {
            let one_plus = add(&constant(1.0, n), a, 1.0);
            integral(a0.ln_1p(), &div(&derivative(a), &one_plus)?)
        }
        Un::Ln | Un::Ln1p => return None,
        Un::Sqrt if a0 > 0.0 => {
            let w0 = a0.sqrt();
            let mut w = vec![w0];
            for k in 1..n {
                let s: f64 = (1..k).map(|j| w[j] * w[k - j]).sum();
                w.push((a[k] - s) / (2.0 * w0));
            }
            w
        }
        Un::Sqrt => return None,
        Un::Sin | Un::Cos => {
            let (mut s, mut c) = (vec![a0.sin()], vec![a0.cos()]);
            for k in 1..n {
                let ds: f64 = (1..=k).map(|j| j as f64 * a[j] * c[k - j]).sum();
                let dc: f64 = (1..=k).map(|j| j as f64 * a[j] * s[k - j]).sum();
                s.push(ds / k as f64);
                c.push(-dc / k as f64);
            }
            if op == Un::Sin { s } else { c }
        }
        Un::Tanh => ode(a, a0.tanh(), |w, m| {
            let sq: f64 = (0..=m).map(|i| w[i] * w[m - i]).sum();
            if m == 0 { 1.0 - sq } else { -sq }
        }),
        Un::Sigmoid => ode(a, Dd::from(a0).sigmoid().hi, |w, m| {
            let sq: f64 = (0..=m).map(|i| w[i] * w[m - i]).sum();
            w[m] - sq
        }),
        Un::Softplus => {
            let sig = unary(Un::Sigmoid, a)?;
            integral(Dd::from(a0).softplus().hi, &mul(&sig, &derivative(a)))
        }
        Un::Erf | Un::Erfc => {
            let sq = mul(a, a);
            let e = unary(Un::Exp, &sq.iter().map(|v| -v).collect())?;
            let k = std::f64::consts::FRAC_2_SQRT_PI * if op == Un::Erf { 1.0 } else { -1.0 };
            let d: Series = mul(&e, &derivative(a)).iter().map(|v| k * v).collect();
            let w0 = if op == Un::Erf {
                Dd::from(a0).erf().hi
            } else {
                Dd::from(a0).erfc().hi
            };
            integral(w0, &d)
        }
    })
}

/// `op` at a value (for the nodes without a series).
fn unary_at(op: Un, v: f64) -> f64 {
    crate::analysis::unary(crate::analysis::Prec::F64, op, Dd::from(v)).hi
}

fn binary_at(op: Bin, a: f64, b: f64) -> f64 {
    crate::analysis::binary(crate::analysis::Prec::F64, op, Dd::from(a), Dd::from(b)).hi
}

fn powi(a: &Series, n: i32) -> Option<Series> {
    // A power beyond 64 is no Taylor patch's business (and would cost a product per unit).
    if n.unsigned_abs() > 64 {
        return None;
    }
    let mut r = constant(1.0, a.len());
    for _ in 0..n.unsigned_abs() {
        r = mul(&r, a);
    }
    if n < 0 {
        div(&constant(1.0, r.len()), &r)
    } else {
        Some(r)
    }
}

/// The Taylor series at 0 of `root` (as a function of input 0), `TERMS` terms or fewer; `None`
/// where a node has none (see the module docs).
pub fn taylor(g: &Graph, root: Id, env: &Env) -> Option<Series> {
    let live = g.reachable(&[root]);
    let mut vals: Vec<Option<Val>> = vec![None; g.nodes.len()];
    for id in 0..=root {
        if !live[id] {
            continue;
        }
        let s = |i: Id| match &vals[i] {
            Some(Val::S(s)) => Some(s.clone()),
            _ => None,
        };
        let c0 = |i: Id| match &vals[i] {
            Some(Val::S(s)) => Some(s[0]),
            Some(Val::C(c)) => Some(*c),
            _ => None,
        };
        let m = |i: Id| match &vals[i] {
            Some(Val::M(b)) => Some(*b),
            _ => None,
        };
        let has_c = crate::ir::children(g.nodes[id])
            .iter()
            .any(|&c| matches!(vals[c], Some(Val::C(_))));
        // A node without a value at 0 (a pole, a parameter) stays `None`: only the nodes the
        // root takes at 0 must have one (a regime's other branch need not).
        let v = || -> Option<Val> {
            Some(match g.nodes[id] {
                Node::Const(b64, _) => Val::S(constant(f64::from_bits(b64), TERMS)),
                Node::Named(i) => Val::S(constant(env.named[i]?, TERMS)),
                Node::Input(0) => {
                    let mut x = constant(0.0, TERMS);
                    x[1] = 1.0;
                    Val::S(x)
                }
                Node::Input(_) | Node::Param(_) => return None,
                // A rounding error is 0 in exact arithmetic; a shifted function has no series
                // here (the compensated forms are built after the patch at 0 is chosen).
                Node::RoundErr(..) => Val::S(constant(0.0, TERMS)),
                Node::Shifted(..) => return None,
                // Values without a series: only the value at 0 goes on.
                Node::Unary(op, a) if has_c => Val::C(unary_at(op, c0(a)?)),
                Node::Binary(op, a, b) if has_c => Val::C(binary_at(op, c0(a)?, c0(b)?)),
                Node::Powi(a, n) if has_c => Val::C(c0(a)?.powi(n)),
                Node::Unary(Un::Abs | Un::Sqrt, a) if s(a)?[0] == 0.0 => Val::C(0.0),
                Node::Unary(op, a) => Val::S(unary(op, &s(a)?)?),
                Node::Binary(op, a, b) => {
                    let (a, b) = (s(a)?, s(b)?);
                    Val::S(match op {
                        Bin::Add => add(&a, &b, 1.0),
                        Bin::Sub => add(&a, &b, -1.0),
                        Bin::Mul => mul(&a, &b),
                        Bin::Div => div(&a, &b)?,
                        Bin::Max | Bin::Min if a[0] == b[0] => return None,
                        Bin::Max => {
                            if a[0] > b[0] {
                                a
                            } else {
                                b
                            }
                        }
                        Bin::Min => {
                            if a[0] < b[0] {
                                a
                            } else {
                                b
                            }
                        }
                        Bin::Powf => {
                            if b[1..].iter().any(|&v| v != 0.0) || a[0] <= 0.0 {
                                return None;
                            }
                            let ln = unary(Un::Ln, &a)?;
                            unary(Un::Exp, &ln.iter().map(|v| v * b[0]).collect())?
                        }
                    })
                }
                Node::Powi(a, n) => Val::S(powi(&s(a)?, n)?),
                Node::Cmp(op, a, b) => {
                    let (p, q) = (c0(a)?, c0(b)?);
                    if p == q || p.is_nan() || q.is_nan() {
                        return None;
                    }
                    Val::M(match op {
                        Cmp::Lt | Cmp::Le => p < q,
                        Cmp::Gt | Cmp::Ge => p > q,
                    })
                }
                Node::And(a, b) => Val::M(m(a)? && m(b)?),
                Node::Or(a, b) => Val::M(m(a)? || m(b)?),
                Node::Not(a) => Val::M(!m(a)?),
                Node::Select(c, a, b) => vals[if m(c)? { a } else { b }].clone()?,
            })
        };
        // (A closure, so that `?` ends the node, not the walk.)
        #[allow(clippy::redundant_closure_call)]
        {
            vals[id] = v();
        }
    }
    match vals[root].take() {
        Some(Val::S(s)) if s.iter().all(|v| v.is_finite()) => Some(s),
        _ => None,
    }
}

/// The patch of a series: `coeffs` (c₀ first) used where |x| < `radius`, which is
/// `(f64 kernels' radius, f32 kernels' radius)`.
#[derive(Clone, Debug)]
pub struct Patch {
    pub radius: (f64, f64),
    pub coeffs: Vec<f64>,
}

/// The shortest polynomial of `c` whose truncation error at ±`radius` (the series' next terms,
/// which decrease there), relative to the value, is below `tol` for the polynomial and for its
/// first two derivatives; `None` if no degree the series has is enough.
pub fn truncate(c: &[f64], radius: f64, tol: f64) -> Option<Vec<f64>> {
    let eval = |c: &[f64], x: f64| c.iter().rev().fold(0.0, |acc, &v| acc * x + v);
    let d1 = derivative(&c.to_vec());
    let d2 = derivative(&d1);
    let ok = |c: &[f64], n: usize| -> bool {
        // Terms n+1.. of c must be small against the polynomial of degree n at ±radius.
        if n + 3 > c.len() {
            return false;
        }
        [radius, -radius].iter().all(|&x| {
            let tail: f64 = (n + 1..c.len())
                .map(|k| (c[k] * x.powi(k as i32)).abs())
                .sum();
            let head = eval(&c[..=n], x).abs();
            tail <= tol * head || tail == 0.0
        })
    };
    (1..c.len())
        .find(|&n| ok(c, n) && ok(&d1, n - 1) && ok(&d2, n.saturating_sub(2)))
        .map(|n| c[..=n].to_vec())
}

/// `select(|x| < radius, Σ cₖ xᵏ, root)` in Horner form.
pub fn apply(g: &mut Graph, root: Id, patch: &Patch) -> Id {
    let x = g.input();
    let mut p = g.constant(*patch.coeffs.last().unwrap_or(&0.0));
    for &c in patch.coeffs.iter().rev().skip(1) {
        let px = g.mul(p, x);
        let c = g.constant(c);
        p = g.add(px, c);
    }
    let ax = g.unary(Un::Abs, x);
    let r = g.constant2(patch.radius.0, patch.radius.1 as f32);
    let near = g.cmp(Cmp::Lt, ax, r);
    g.select(near, p, root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series_of(build: impl FnOnce(&mut Graph, Id) -> Id) -> Option<Series> {
        let mut g = Graph::default();
        let x = g.input();
        let f = build(&mut g, x);
        let env = Env::new(&g, &[]).unwrap();
        taylor(&g, f, &env)
    }

    fn close(got: &[f64], want: &[f64]) {
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-13 * w.abs().max(1e-300),
                "c{k}: {g} vs {w}"
            );
        }
    }

    /// Factorials as f64.
    fn fact(n: usize) -> f64 {
        (1..=n).map(|k| k as f64).product()
    }

    // Known expansions, from the closed forms (independent of the code under test).
    #[test]
    fn quotients_divide_out_the_common_power_of_x() {
        // ln(1 + x)/x = Σ (−1)ᵏ xᵏ/(k + 1).
        let s = series_of(|g, x| {
            let l = g.unary(Un::Ln1p, x);
            g.div(l, x)
        })
        .unwrap();
        let want: Vec<f64> = (0..20).map(|k| (-1f64).powi(k) / (k + 1) as f64).collect();
        assert_eq!(s.len(), TERMS - 1);
        close(&s, &want);
        // sin(x)/x = Σ (−1)ᵏ x²ᵏ/(2k + 1)!.
        let s = series_of(|g, x| {
            let l = g.unary(Un::Sin, x);
            g.div(l, x)
        })
        .unwrap();
        for k in 0..10 {
            close(
                &s[2 * k..=2 * k],
                &[(-1f64).powi(k as i32) / fact(2 * k + 1)],
            );
            assert_eq!(s[2 * k + 1], 0.0);
        }
        // (1 − cos x)/x² = Σ (−1)ᵏ x²ᵏ/(2k + 2)!: x² divided out, the 1 − 1 cancelled exactly.
        let s = series_of(|g, x| {
            let one = g.constant(1.0);
            let c = g.unary(Un::Cos, x);
            let n = g.sub(one, c);
            let d = g.mul(x, x);
            g.div(n, d)
        })
        .unwrap();
        assert_eq!(s.len(), TERMS - 2);
        for k in 0..8 {
            close(
                &s[2 * k..=2 * k],
                &[(-1f64).powi(k as i32) / fact(2 * k + 2)],
            );
        }
    }

    #[test]
    fn functions_follow_their_differential_equations() {
        // tanh x = x − x³/3 + 2x⁵/15 − 17x⁷/315.
        let s = series_of(|g, x| g.unary(Un::Tanh, x)).unwrap();
        close(
            &s[..8],
            &[
                0.0,
                1.0,
                0.0,
                -1.0 / 3.0,
                0.0,
                2.0 / 15.0,
                0.0,
                -17.0 / 315.0,
            ],
        );
        // σ(x) = 1/2 + x/4 − x³/48 + x⁵/480.
        let s = series_of(|g, x| g.unary(Un::Sigmoid, x)).unwrap();
        close(&s[..6], &[0.5, 0.25, 0.0, -1.0 / 48.0, 0.0, 1.0 / 480.0]);
        // erf x = 2/√π (x − x³/3 + x⁵/10).
        let s = series_of(|g, x| g.unary(Un::Erf, x)).unwrap();
        let k = std::f64::consts::FRAC_2_SQRT_PI;
        close(&s[..6], &[0.0, k, 0.0, -k / 3.0, 0.0, k / 10.0]);
        // sqrt(1 + x²) = 1 + x²/2 − x⁴/8; exp(x) − 1 = x + x²/2 + x³/6.
        let s = series_of(|g, x| {
            let sq = g.mul(x, x);
            let one = g.constant(1.0);
            let a = g.add(one, sq);
            g.unary(Un::Sqrt, a)
        })
        .unwrap();
        close(&s[..5], &[1.0, 0.0, 0.5, 0.0, -0.125]);
        let s = series_of(|g, x| g.unary(Un::ExpM1, x)).unwrap();
        close(&s[..4], &[0.0, 1.0, 0.5, 1.0 / 6.0]);
    }

    #[test]
    fn no_series_where_the_formula_is_not_analytic_at_0() {
        assert!(series_of(|g, x| g.unary(Un::Abs, x)).is_none());
        assert!(series_of(|g, x| g.unary(Un::Sqrt, x)).is_none());
        assert!(series_of(|g, x| g.unary(Un::Ln, x)).is_none());
        let one = |g: &mut Graph| g.constant(1.0);
        assert!(
            series_of(|g, x| {
                let o = one(g);
                g.div(o, x)
            })
            .is_none()
        );
        assert!(
            series_of(|g, x| {
                let z = g.constant(0.0);
                let m = g.cmp(Cmp::Gt, x, z);
                let o = one(g);
                g.select(m, x, o)
            })
            .is_none()
        );
        assert!(
            series_of(|g, x| {
                let p = g.param(0);
                g.mul(p, x)
            })
            .is_none()
        );
    }

    #[test]
    fn truncation_keeps_the_terms_the_radius_needs() {
        // ln(1 + x)/x at radius 1/16: terms fall by 16 each, 2^−30 needs about 9 of them
        // (and its second derivative a few more).
        let c: Vec<f64> = (0..29).map(|k| (-1f64).powi(k) / (k + 1) as f64).collect();
        let p = truncate(&c, 1.0 / 16.0, 2f64.powi(-30)).unwrap();
        assert!((8..=14).contains(&p.len()), "{}", p.len());
        // At radius 1 the series does not converge fast enough.
        assert!(truncate(&c, 1.0, 2f64.powi(-30)).is_none());
    }
}
