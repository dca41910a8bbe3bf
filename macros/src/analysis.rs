//! Error analysis at expansion time (issue 12's "must have 1").
//!
//! The formula and each derived expression are evaluated on a sample of inputs three ways:
//! as the f32 kernels compute them (every operation rounded to f32, the math functions taken as
//! correctly rounded, which the kernels are to within a few ULP), as the f64 kernels do, and in
//! double-double ([`crate::dd`], about 106 bits) as the reference. The sample is dense where
//! floating point breaks: every power of two of the f32 range (so 0 is approached through the
//! subnormals), the same times 1.5, a fine grid on ±10, ±`f32::MAX`, and points closing in on
//! each place where a sum, a difference or a comparison of the expression changes sign (where
//! terms cancel or a branch switches) and where any intermediate value leaves f32's range
//! (past which the result may still be finite). Points where the reference itself is NaN (an undefined
//! value, or inf − inf in double-double at the ends of the range) are not scored.
//!
//! It is a measurement, not a proof: a loss between samples, or one the reference shares (a
//! cancellation of more than 106 bits), goes unseen. `tests/` holds the independent check, the
//! mpmath suite.

use crate::dd::Dd;
use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};

/// The targets (issue 12): forward within 4 f32 ULP, derivatives within 1e−4 relative.
pub const FWD_ULP: f64 = 4.0;
pub const DERIV_REL: f64 = 1e-4;
const MIN_SUB32: f64 = 1.401_298_464_324_817e-45;

/// How a node is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prec {
    /// Every operation's result rounded to f32, as the f32 kernels.
    F32,
    /// In f64, as the f64 kernels.
    F64,
    /// Double-double: the reference.
    Ref,
    /// Double-double with the constants' f32 values: the f32 kernels' reference wherever a
    /// constant's f32 value is not its f64 value (a literal such as 0.044715 or
    /// `std::f32::consts::FRAC_1_SQRT_2`, rounded; a folded constant that differs between the
    /// precisions: `(1.0 + 1e-8) - 1.0` is 0 in f32). The f32 kernels mean the f32 values, as
    /// the scalar function does.
    Ref32,
}

/// Whether a constant reachable in `live` has an f32 value that is not its f64 value rounded
/// (a constant subexpression that folds differently in f32, see `ir`).
pub fn diverging_consts(g: &Graph, live: &[bool]) -> bool {
    (0..g.nodes.len()).any(|id| live[id] && g.consts(id).is_some() && g.value(id).is_none())
}

/// Whether a constant reachable in `live` has an f32 value other than its f64 value (the f32
/// kernels are then measured against [`Prec::Ref32`]).
fn f32_consts(g: &Graph, live: &[bool], env: &Env) -> bool {
    (0..g.nodes.len()).any(|id| {
        live[id]
            && match g.nodes[id] {
                Node::Const(b64, b32) => f32::from_bits(b32) as f64 != f64::from_bits(b64),
                Node::Named(i) => env.named[i].is_some_and(|v| v as f32 as f64 != v),
                _ => false,
            }
    })
}

/// What the analysis needs besides the graph: the parameters' values (their defaults) and the
/// values of named constants (`None` for one the macro cannot see, such as a user's `const`).
pub struct Env<'a> {
    pub params: &'a [f64],
    pub named: Vec<Option<f64>>,
}

impl<'a> Env<'a> {
    /// The environment of `g` with `params`; `None` if a named constant's value is unknown.
    pub fn new(g: &Graph, params: &'a [f64]) -> Result<Self, String> {
        let named = g.named.iter().map(|p| std_const(p)).collect::<Vec<_>>();
        if let Some(i) = named.iter().position(Option::is_none) {
            return Err(format!(
                "the formula uses `{}`, whose value the macro cannot see",
                g.named[i]
            ));
        }
        Ok(Env { params, named })
    }
}

/// The value of a `std::f32::consts` / `core::f32::consts` path (or of its f64 twin).
fn std_const(path: &str) -> Option<f64> {
    let compact: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    let last = compact.rsplit("::").next()?;
    let prefix_ok = ["std::f32::consts::", "core::f32::consts::", "f32::consts::"]
        .iter()
        .chain(&["std::f64::consts::", "core::f64::consts::", "f64::consts::"])
        .any(|p| compact.trim_start_matches("::").starts_with(p));
    if !prefix_ok {
        return None;
    }
    use std::f64::consts as c;
    Some(match last {
        "PI" => c::PI,
        "TAU" => c::TAU,
        "E" => c::E,
        "SQRT_2" => c::SQRT_2,
        "FRAC_1_SQRT_2" => c::FRAC_1_SQRT_2,
        "FRAC_2_SQRT_PI" => c::FRAC_2_SQRT_PI,
        "FRAC_1_PI" => c::FRAC_1_PI,
        "FRAC_2_PI" => c::FRAC_2_PI,
        "FRAC_PI_2" => c::FRAC_PI_2,
        "FRAC_PI_3" => c::FRAC_PI_3,
        "FRAC_PI_4" => c::FRAC_PI_4,
        "FRAC_PI_6" => c::FRAC_PI_6,
        "FRAC_PI_8" => c::FRAC_PI_8,
        "LN_2" => c::LN_2,
        "LN_10" => c::LN_10,
        "LOG2_E" => c::LOG2_E,
        "LOG10_E" => c::LOG10_E,
        "LOG2_10" => c::LOG2_10,
        "LOG10_2" => c::LOG10_2,
        _ => return None,
    })
}

fn r32(v: f64) -> Dd {
    Dd::from(v as f32 as f64)
}

fn mask(b: bool) -> Dd {
    Dd::from(if b { 1.0 } else { 0.0 })
}

/// `op(a)` in `prec`.
pub fn unary(prec: Prec, op: Un, a: Dd) -> Dd {
    if matches!(prec, Prec::Ref | Prec::Ref32) {
        return match op {
            Un::Neg => -a,
            Un::Exp => a.exp(),
            Un::ExpM1 => a.exp_m1(),
            Un::Ln => a.ln(),
            Un::Ln1p => a.ln_1p(),
            Un::Tanh => a.tanh(),
            Un::Abs => a.abs(),
            Un::Sqrt => a.sqrt(),
            Un::Sigmoid => a.sigmoid(),
            Un::Softplus => a.softplus(),
            Un::Sin => a.sin_cos().0,
            Un::Cos => a.sin_cos().1,
            Un::Erf => a.erf(),
            Un::Erfc => a.erfc(),
        };
    }
    // The f64 functions constant folding uses (erf and erfc, which std lacks, from the
    // reference).
    let r = match crate::ir::fold_unary(op, a.hi) {
        Some(r) => r,
        None if op == Un::Erf => a.erf().hi,
        None => a.erfc().hi,
    };
    if prec == Prec::F32 {
        r32(r)
    } else {
        Dd::from(r)
    }
}

/// `op(a, b)` in `prec`.
pub fn binary(prec: Prec, op: Bin, a: Dd, b: Dd) -> Dd {
    let max_num = |a: Dd, b: Dd, take_a: bool| {
        if a.hi.is_nan() {
            b
        } else if b.hi.is_nan() || take_a {
            a
        } else {
            b
        }
    };
    match prec {
        Prec::Ref | Prec::Ref32 => match op {
            Bin::Add => a + b,
            Bin::Sub => a - b,
            Bin::Mul => a * b,
            Bin::Div => a / b,
            Bin::Max => max_num(a, b, a.hi >= b.hi),
            Bin::Min => max_num(a, b, a.hi <= b.hi),
            Bin::Powf => a.powf(b),
        },
        Prec::F64 => Dd::from(match op {
            Bin::Add => a.hi + b.hi,
            Bin::Sub => a.hi - b.hi,
            Bin::Mul => a.hi * b.hi,
            Bin::Div => a.hi / b.hi,
            Bin::Max => a.hi.max(b.hi),
            Bin::Min => a.hi.min(b.hi),
            Bin::Powf => a.hi.powf(b.hi),
        }),
        Prec::F32 => {
            let (x, y) = (a.hi as f32, b.hi as f32);
            Dd::from(match op {
                Bin::Add => x + y,
                Bin::Sub => x - y,
                Bin::Mul => x * y,
                Bin::Div => x / y,
                Bin::Max => x.max(y),
                Bin::Min => x.min(y),
                Bin::Powf => x.powf(y),
            } as f64)
        }
    }
}

/// Evaluates every node marked in `live` at input `x` (inputs beyond the first are not
/// analysed), into `out` (one value per node; masks are 1 or 0).
///
/// `fuse` models the forward kernels, where every `a · σ(u)` is one rounded operation
/// (elsewhere only σ(u)·σ(−u) is).
pub fn eval(
    g: &Graph,
    live: &[bool],
    (prec, fuse): (Prec, bool),
    x: f64,
    env: &Env,
    out: &mut Vec<Dd>,
) {
    out.clear();
    out.resize(g.nodes.len(), Dd::ZERO);
    let round = |v: f64| {
        if prec == Prec::F32 {
            r32(v)
        } else {
            Dd::from(v)
        }
    };
    for id in 0..g.nodes.len() {
        if !live[id] {
            continue;
        }
        let v = |i: Id| out[i];
        let r = match g.nodes[id] {
            Node::Const(b64, b32) => match prec {
                Prec::F32 | Prec::Ref32 => Dd::from(f32::from_bits(b32) as f64),
                _ => Dd::from(f64::from_bits(b64)),
            },
            Node::Named(i) => {
                let v = env.named[i].unwrap_or(f64::NAN);
                match prec {
                    Prec::F32 | Prec::Ref32 => r32(v),
                    _ => Dd::from(v),
                }
            }
            Node::Input(_) => round(x),
            Node::Param(i) => round(env.params[i]),
            Node::Unary(op, a) => unary(prec, op, v(a)),
            Node::Binary(Bin::Mul, a, b) if prec == Prec::F32 && fused(g, a, b, fuse) => {
                // Rounded once, as the kernels' fused products (`sigmoid_product` and
                // `mul_sigmoid_product`, and `mul_sigmoid` and `mul_erfc` in the forward
                // kernels).
                let sigmoid = |u: Id| unary(Prec::F64, Un::Sigmoid, v(u)).hi;
                let exact = |i: Id| match g.nodes[i] {
                    Node::Unary(op @ (Un::Sigmoid | Un::Erfc), u) => unary(Prec::F64, op, v(u)).hi,
                    Node::Binary(Bin::Mul, p, q) if sigmoid_pair(g, p, q) => {
                        sigmoid(p_arg(g, p)) * sigmoid(p_arg(g, q))
                    }
                    Node::Shifted(op @ (Un::Sigmoid | Un::Erfc), u, lo) => {
                        let at = Dd::from(v(u).hi) + Dd::from(shift(v(lo).hi));
                        unary(Prec::Ref, op, at).hi
                    }
                    _ => v(i).hi,
                };
                // With σ(p)·σ(−p), the other operand as the kernel has it (`mul_sigmoid_product`).
                let pair = |i: Id| g.scaled_products && is_pair(g, i);
                // A chain a·(c·σ′): `mul2_sigmoid_product`, rounded once too.
                let chain = |i: Id| match g.nodes[i] {
                    Node::Binary(Bin::Mul, c, p) if pair(p) => Some((c, p)),
                    Node::Binary(Bin::Mul, p, c) if pair(p) => Some((c, p)),
                    _ => None,
                };
                r32(if pair(b) {
                    v(a).hi * exact(b)
                } else if pair(a) {
                    v(b).hi * exact(a)
                } else if let Some((c, p)) = chain(b) {
                    v(a).hi * v(c).hi * exact(p)
                } else if let Some((c, p)) = chain(a) {
                    v(b).hi * v(c).hi * exact(p)
                } else {
                    exact(a) * exact(b)
                })
            }
            Node::Binary(op, a, b) => binary(prec, op, v(a), v(b)),
            Node::RoundErr(op, a, b) => round_err(prec, op, v(a), v(b)),
            Node::Shifted(op, u, lo) => match prec {
                Prec::Ref | Prec::Ref32 => unary(prec, op, v(u) + v(lo)),
                _ => {
                    let at = Dd::from(v(u).hi) + Dd::from(shift(v(lo).hi));
                    round(unary(Prec::Ref, op, at).hi)
                }
            },
            Node::Powi(a, n) => match prec {
                Prec::Ref | Prec::Ref32 => v(a).powi(n),
                Prec::F64 => Dd::from(v(a).hi.powi(n)),
                Prec::F32 => Dd::from((v(a).hi as f32).powi(n) as f64),
            },
            Node::Cmp(op, a, b) => {
                let (p, q) = (v(a).hi, v(b).hi);
                let (p, q) = if matches!(prec, Prec::Ref | Prec::Ref32) && p == q {
                    (v(a).lo, v(b).lo)
                } else {
                    (p, q)
                };
                mask(match op {
                    Cmp::Lt => p < q,
                    Cmp::Le => p <= q,
                    Cmp::Gt => p > q,
                    Cmp::Ge => p >= q,
                })
            }
            Node::And(a, b) => mask(v(a).hi != 0.0 && v(b).hi != 0.0),
            Node::Or(a, b) => mask(v(a).hi != 0.0 || v(b).hi != 0.0),
            Node::Not(a) => mask(v(a).hi == 0.0),
            Node::Select(m, a, b) => {
                if v(m).hi != 0.0 {
                    v(a)
                } else {
                    v(b)
                }
            }
        };
        out[id] = r;
    }
}

/// The correction of a [`Node::Shifted`] as the kernels take it: 0 unless within ±1.
fn shift(lo: f64) -> f64 {
    if lo.abs() <= 1.0 { lo } else { 0.0 }
}

/// `a op b − fl(a op b)` in `prec` (see [`Node::RoundErr`]): 0 in the references.
fn round_err(prec: Prec, op: Bin, a: Dd, b: Dd) -> Dd {
    let exact = |p: f64, q: f64| match op {
        Bin::Add => Dd::from(p) + Dd::from(q),
        Bin::Sub => Dd::from(p) - Dd::from(q),
        _ => Dd::from(p) * Dd::from(q),
    };
    match prec {
        Prec::Ref | Prec::Ref32 => Dd::ZERO,
        Prec::F64 => {
            let e = exact(a.hi, b.hi);
            Dd::from(e.lo)
        }
        Prec::F32 => {
            let (x, y) = (a.hi as f32, b.hi as f32);
            let rounded = binary(Prec::F32, op, a, b).hi;
            let e = exact(x as f64, y as f64) - Dd::from(rounded);
            r32(e.hi)
        }
    }
}

/// Whether `a · b` is σ(p)·σ(−p) (the kernels' `sigmoid_product`).
fn sigmoid_pair(g: &Graph, a: Id, b: Id) -> bool {
    match (g.nodes[a], g.nodes[b]) {
        (Node::Unary(Un::Sigmoid, p), Node::Unary(Un::Sigmoid, q)) => {
            g.nodes[q] == Node::Unary(Un::Neg, p) || g.nodes[p] == Node::Unary(Un::Neg, q)
        }
        _ => false,
    }
}

/// Whether node `i` is σ(p)·σ(−p).
pub fn is_pair(g: &Graph, i: Id) -> bool {
    matches!(g.nodes[i], Node::Binary(Bin::Mul, p, q) if sigmoid_pair(g, p, q))
}

/// The argument of a sigmoid node.
fn p_arg(g: &Graph, s: Id) -> Id {
    match g.nodes[s] {
        Node::Unary(Un::Sigmoid, u) => u,
        _ => unreachable!("a sigmoid_pair operand"),
    }
}

/// Whether the kernels compute `a · b` as one rounded operation (see `expand::fused_products`).
fn fused(g: &Graph, a: Id, b: Id, mul_sigmoid: bool) -> bool {
    // A product with σ(p)·σ(−p), or with c·σ(p)·σ(−p): `mul_sigmoid_product` and
    // `mul2_sigmoid_product`, in every kernel, with the `scaled_products` repair.
    let product = |i: Id| match g.nodes[i] {
        Node::Binary(Bin::Mul, p, q) => sigmoid_pair(g, p, q) || is_pair(g, p) || is_pair(g, q),
        _ => false,
    };
    if g.scaled_products && (product(a) || product(b)) {
        return true;
    }
    if [a, b].iter().any(|&i| {
        matches!(
            g.nodes[i],
            Node::Shifted(Un::Sigmoid | Un::Erfc, ..) | Node::Unary(Un::Erfc, _)
        )
    }) {
        return mul_sigmoid;
    }
    let arg = |i: Id| match g.nodes[i] {
        Node::Unary(Un::Sigmoid, u) => Some(u),
        _ => None,
    };
    match (arg(a), arg(b)) {
        (Some(p), Some(q)) => {
            g.nodes[q] == Node::Unary(Un::Neg, p)
                || g.nodes[p] == Node::Unary(Un::Neg, q)
                || mul_sigmoid
        }
        (Some(_), None) | (None, Some(_)) => mul_sigmoid,
        (None, None) => false,
    }
}

/// The base sample: ±0, ±2^k and ±1.5·2^k over the f32 range, ±i/16 up to 10, ±`f32::MAX`.
pub fn base_samples() -> Vec<f64> {
    let mut xs = vec![0.0];
    for k in -149..=127 {
        xs.push(2f64.powi(k));
        if k > -149 && k < 127 {
            xs.push(1.5 * 2f64.powi(k));
        }
    }
    for i in 1..=160 {
        xs.push(i as f64 / 16.0);
    }
    xs.push(f32::MAX as f64);
    let neg: Vec<f64> = xs.iter().filter(|&&v| v > 0.0).map(|v| -v).collect();
    xs.extend(neg);
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs
}

/// More samples closing in on the points where an addition, a subtraction or a comparison in
/// `roots`' expressions changes sign between two base samples (at most `MAX_ROOTS` of them):
/// each point r found by bisection in f64, then r·(1 ± 2^−k) for k = 3, 6, …, 21 and r itself.
///
/// The zero crossings of `roots` themselves away from 0 (|x| > 2^−8) are not approached (nor
/// a sign change inside the same interval, which is usually the same point): the
/// relative error of any rounded evaluation is unbounded at a simple root (swish′ at
/// x = −1.278), which says nothing about the formula's form.
///
/// Likewise where an intermediate value leaves f32's range between two base samples of one
/// sign (at most `MAX_OVERFLOWS` of them): the threshold t found by bisection, and
/// t·(1 ± 2^−k) (k = 3, 6, …, 21). Past an intermediate's overflow the result is often still
/// finite for a while (e^x·e^x·e^−x/x…), where a form that overflows early loses it all.
fn refine(g: &Graph, live: &[bool], env: &Env, xs: &[f64], roots: &[Id]) -> Vec<f64> {
    const MAX_ROOTS: usize = 16;
    const MAX_OVERFLOWS: usize = 16;
    let big = |v: f64| v.abs() > f64::from(f32::MAX);
    let values: Vec<Id> = (0..g.nodes.len())
        .filter(|&id| live[id] && !matches!(g.nodes[id], Node::Cmp(..) | Node::Const(..)))
        .collect();
    let mut overflows: Vec<(f64, f64, Id)> = Vec::new();
    let mut prev_big: Option<(f64, Vec<bool>)> = None;
    let watched: Vec<Id> = (0..g.nodes.len())
        .filter(|&id| {
            live[id]
                && matches!(
                    g.nodes[id],
                    Node::Binary(Bin::Add | Bin::Sub, ..) | Node::Cmp(..)
                )
        })
        .collect();
    let sign_of = |vals: &[Dd], id: Id| -> f64 {
        match g.nodes[id] {
            Node::Cmp(_, a, b) => (vals[a].hi - vals[b].hi).signum(),
            _ => vals[id].hi.signum(),
        }
    };
    let mut vals = Vec::new();
    let mut prev: Option<(f64, Vec<f64>)> = None;
    let mut brackets = Vec::new();
    for &x in xs {
        eval(g, live, (Prec::F64, false), x, env, &mut vals);
        let signs: Vec<f64> = watched
            .iter()
            .chain(roots)
            .map(|&id| sign_of(&vals, id))
            .collect();
        let bigs: Vec<bool> = values.iter().map(|&id| big(vals[id].hi)).collect();
        if let Some((px, pb)) = &prev_big
            && (*px > 0.0) == (x > 0.0)
        {
            // At most two nodes per interval (nodes that overflow together, as every use of
            // one exponential, share a threshold), and one interval per node and side of 0.
            let mut here = 0;
            for (k, (&b, &p)) in bigs.iter().zip(pb).enumerate() {
                let seen = overflows
                    .iter()
                    .any(|o| o.2 == values[k] && (o.0 > 0.0) == (x > 0.0));
                if b != p && !seen && here < 2 && overflows.len() < MAX_OVERFLOWS {
                    overflows.push((*px, x, values[k]));
                    here += 1;
                }
            }
        }
        prev_big = Some((x, bigs));
        if let Some((px, ps)) = &prev {
            let n = watched.len();
            // Where a scored expression crosses 0 itself (away from 0), the interval is left.
            let own = x.abs() > 2f64.powi(-8)
                && signs[n..].iter().zip(&ps[n..]).any(|(s, p)| s * p < 0.0);
            for (k, (&s, &p)) in signs[..n].iter().zip(ps).enumerate() {
                if s * p < 0.0 && (*px > 0.0) == (x > 0.0) && !own && brackets.len() < MAX_ROOTS {
                    brackets.push((*px, x, watched[k]));
                }
            }
        }
        prev = Some((x, signs));
    }
    let mut extra = Vec::new();
    let around = |r: f64, extra: &mut Vec<f64>| {
        extra.push(r as f32 as f64);
        for k in (3..=21).step_by(3) {
            let d = 2f64.powi(-k);
            extra.push((r * (1.0 + d)) as f32 as f64);
            extra.push((r * (1.0 - d)) as f32 as f64);
        }
    };
    for (mut lo, mut hi, id) in overflows {
        eval(g, live, (Prec::F64, false), lo, env, &mut vals);
        let big_lo = big(vals[id].hi);
        // (30 halvings: the threshold to 2⁻³⁰ of the interval, beyond f32's precision.)
        for _ in 0..30 {
            let mid = 0.5 * (lo + hi);
            eval(g, live, (Prec::F64, false), mid, env, &mut vals);
            if big(vals[id].hi) == big_lo {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        around(0.5 * (lo + hi), &mut extra);
    }
    for (mut lo, mut hi, id) in brackets {
        eval(g, live, (Prec::F64, false), lo, env, &mut vals);
        let s_lo = sign_of(&vals, id);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            eval(g, live, (Prec::F64, false), mid, env, &mut vals);
            if sign_of(&vals, id) == s_lo {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        around(0.5 * (lo + hi), &mut extra);
    }
    extra
}

/// The error of an f32 result `got` against the reference `want`, in f32 ULPs of the
/// reference (forward) or relative with an absolute slack of the smallest subnormal
/// (derivatives). Infinite where `got` is NaN or ±inf and the reference is finite, or where
/// the reference overflows f32 and `got` is not that infinity. `None` where the reference is NaN.
pub fn error32(got: f64, want: Dd, deriv: bool) -> Option<f64> {
    let w = want.hi;
    if w.is_nan() {
        return None;
    }
    let w32 = w as f32;
    if w32.is_infinite() {
        return Some(if got == w32 as f64 {
            0.0
        } else {
            f64::INFINITY
        });
    }
    if !got.is_finite() {
        return Some(f64::INFINITY);
    }
    let diff = ((Dd::from(got) - want).hi).abs();
    Some(if deriv {
        let d = (diff - MIN_SUB32).max(0.0);
        if d == 0.0 { 0.0 } else { d / w.abs() }
    } else {
        let e = (w.abs().log2().floor() as i32).max(-126) - 23;
        diff / 2f64.powi(e)
    })
}

/// The error of an f64 result, in f64 ULPs (forward) or relative (derivatives).
fn error64(got: f64, want: Dd, deriv: bool) -> Option<f64> {
    let w = want.hi;
    if w.is_nan() {
        return None;
    }
    if w.is_infinite() || !got.is_finite() {
        return Some(if got == w { 0.0 } else { f64::INFINITY });
    }
    let diff = ((Dd::from(got) - want).hi).abs();
    Some(if deriv {
        if diff <= f64::from_bits(1) {
            0.0
        } else {
            diff / w.abs()
        }
    } else {
        let e = (w.abs().log2().floor() as i32).max(-1022) - 52;
        diff / 2f64.powi(e)
    })
}

/// One expression's measured errors.
#[derive(Clone, Debug)]
pub struct Measured {
    /// Worst f32 error (ULP or relative, see [`error32`]) and its input.
    pub worst32: (f64, f64),
    /// Worst f64 error and its input.
    pub worst64: (f64, f64),
    /// The sample inputs where the f32 error exceeds the target, ascending.
    pub lossy32: Vec<f64>,
    /// How many of `lossy32` have a true value of normal f32 magnitude or beyond: the losses
    /// a rewrite can repair (a value in the subnormals has lost digits to the format itself,
    /// which only a fused operation returns).
    pub lossy32_normal: usize,
    /// The f32 errors that are not 0, with their inputs.
    pub errors32: Vec<(f64, f64)>,
    /// The f64 errors that are not 0, with their inputs.
    pub errors64: Vec<(f64, f64)>,
    /// Whether this is a derivative (relative error) or the forward (ULP).
    pub deriv: bool,
}

impl Measured {
    pub fn meets(&self) -> bool {
        self.lossy32.is_empty()
    }
}

/// The samples for `roots`: the base sample plus the refinement around sign changes.
pub fn samples(g: &Graph, roots: &[Id], env: &Env) -> Vec<f64> {
    let live = g.reachable(roots);
    let mut xs = base_samples();
    let extra = refine(g, &live, env, &xs, roots);
    xs.extend(extra);
    xs.retain(|x| x.is_finite());
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs
}

/// Measures each of `roots` (`deriv[i]` says which are derivatives) on `xs`.
pub fn measure(g: &Graph, roots: &[Id], deriv: &[bool], env: &Env, xs: &[f64]) -> Vec<Measured> {
    let live = g.reachable(roots);
    let mut out: Vec<Measured> = deriv
        .iter()
        .map(|&d| Measured {
            worst32: (0.0, 0.0),
            worst64: (0.0, 0.0),
            lossy32: Vec::new(),
            lossy32_normal: 0,
            errors32: Vec::new(),
            errors64: Vec::new(),
            deriv: d,
        })
        .collect();
    let (mut v32, mut v64, mut vref) = (Vec::new(), Vec::new(), Vec::new());
    let (mut below, mut above, mut fwd32) = (Vec::new(), Vec::new(), Vec::new());
    let diverging = f32_consts(g, &live, env);
    let mut vref32 = Vec::new();
    for &x in xs {
        eval(g, &live, (Prec::F32, false), x, env, &mut v32);
        if !deriv[0] {
            eval(g, &live, (Prec::F32, true), x, env, &mut fwd32);
            v32[roots[0]] = fwd32[roots[0]];
        }
        eval(g, &live, (Prec::F64, false), x, env, &mut v64);
        eval(g, &live, (Prec::Ref, false), x, env, &mut vref);
        // A removable singularity: the reference is NaN (0/0) but has a limit, the same from
        // both neighbouring f32 values; that limit is the value there.
        if roots.iter().any(|&r| vref[r].hi.is_nan()) {
            let (lo, hi) = f32_neighbours(x);
            eval(g, &live, (Prec::Ref, false), lo, env, &mut below);
            eval(g, &live, (Prec::Ref, false), hi, env, &mut above);
            for &r in roots {
                let (a, b) = (below[r].hi, above[r].hi);
                if vref[r].hi.is_nan()
                    && a.is_finite()
                    && b.is_finite()
                    && (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
                {
                    vref[r] = Dd::from(0.5 * (a + b));
                }
            }
        }
        if diverging {
            eval(g, &live, (Prec::Ref32, false), x, env, &mut vref32);
        }
        let ref32 = if diverging { &vref32 } else { &vref };
        for (m, &r) in out.iter_mut().zip(roots) {
            let bound = if m.deriv { DERIV_REL } else { FWD_ULP };
            if let Some(e) = error32(v32[r].hi, ref32[r], m.deriv) {
                if e > m.worst32.0 || e.is_nan() {
                    m.worst32 = (e, x);
                }
                if e > bound {
                    m.lossy32.push(x);
                    if ref32[r].hi.abs() >= f64::from(f32::MIN_POSITIVE) {
                        m.lossy32_normal += 1;
                    }
                }
                if e > 0.0 {
                    m.errors32.push((x, e));
                }
            }
            if let Some(e) = error64(v64[r].hi, vref[r], m.deriv)
                && e > 0.0
            {
                if e > m.worst64.0 {
                    m.worst64 = (e, x);
                }
                m.errors64.push((x, e));
            }
        }
    }
    out
}

/// The f32 values next to `x` on either side.
fn f32_neighbours(x: f64) -> (f64, f64) {
    let v = x as f32;
    let step = |v: f32, up: bool| -> f32 {
        if v == 0.0 {
            let m = f32::from_bits(1);
            return if up { m } else { -m };
        }
        let b = v.to_bits();
        f32::from_bits(if (v > 0.0) == up { b + 1 } else { b - 1 })
    };
    (step(v, false) as f64, step(v, true) as f64)
}

/// `e` as the docs print an error: ULPs as integers, relative errors in two digits.
pub fn show(e: f64, deriv: bool) -> String {
    if e.is_infinite() {
        "NaN or ±inf where the value is finite".to_string()
    } else if deriv {
        format!("{e:.1e} relative")
    } else if e >= 1e6 {
        format!("{e:.1e} ULP")
    } else {
        format!("{} ULP", e.ceil())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Var, diff};

    fn graph(build: impl FnOnce(&mut Graph, Id) -> Id) -> (Graph, Id) {
        let mut g = Graph::default();
        let x = g.input();
        let f = build(&mut g, x);
        (g, f)
    }

    fn measure_one(g: &Graph, f: Id, deriv: bool) -> Measured {
        let env = Env::new(g, &[]).unwrap();
        let xs = samples(g, &[f], &env);
        measure(g, &[f], &[deriv], &env, &xs).remove(0)
    }

    #[test]
    fn sees_the_cancellation_of_x_minus_sin_x_and_nothing_in_sin_x() {
        let (g, f) = graph(|g, x| {
            let s = g.unary(Un::Sin, x);
            g.sub(x, s)
        });
        let m = measure_one(&g, f, false);
        assert!(!m.meets());
        // Lost near 0 (a relative error of 1 where x − sin x rounds to 0 in f32), not far out.
        assert!(m.lossy32.iter().all(|x| x.abs() < 1.0), "{:?}", m.lossy32);
        assert!(m.worst32.0 > 1e6, "{:?}", m.worst32);
        let (g, f) = graph(|g, x| g.unary(Un::Sin, x));
        let m = measure_one(&g, f, false);
        assert!(m.meets(), "{:?}", m.worst32);
        assert!(m.worst32.0 <= 0.5 + 1e-9, "{:?}", m.worst32);
    }

    #[test]
    fn sees_nan_at_a_removable_singularity_and_overflow_of_an_intermediate() {
        // ln(1 + x)/x: 0/0 at x = 0.
        let (g, f) = graph(|g, x| {
            let l = g.unary(Un::Ln1p, x);
            g.div(l, x)
        });
        let m = measure_one(&g, f, false);
        assert_eq!(m.worst32.0, f64::INFINITY);
        assert!(m.lossy32.contains(&0.0));
        // x/(x·x + 1): 0 once x·x overflows f32 (x > 1.8e19), where the value is 1/x.
        let (g, f) = graph(|g, x| {
            let sq = g.mul(x, x);
            let one = g.constant(1.0);
            let d = g.add(sq, one);
            g.div(x, d)
        });
        let m = measure_one(&g, f, false);
        assert!(m.lossy32.iter().all(|x| x.abs() > 1e19), "{:?}", m.lossy32);
        assert!(!m.lossy32.is_empty());
    }

    #[test]
    fn derivative_errors_are_relative_and_found_in_the_derived_expression() {
        // sin(x)/x: the value is fine away from 0, its derivative (x cos x − sin x)/x² cancels
        // near 0 with a relative error of about 3ε/x², past 1e−4 below |x| ≈ 0.04.
        let (mut g, f) = graph(|g, x| {
            let s = g.unary(Un::Sin, x);
            g.div(s, x)
        });
        let d = diff(&mut g, f, Var::Input(0));
        let m = measure_one(&g, d, true);
        let worst_far = m.lossy32.iter().fold(0f64, |a, x| a.max(x.abs()));
        assert!(worst_far > 1e-2 && worst_far < 0.2, "{worst_far}");
    }

    #[test]
    fn error_units() {
        let one_ulp_at_1 = 2f64.powi(-23);
        assert_eq!(error32(1.0 + one_ulp_at_1, Dd::ONE, false), Some(1.0));
        assert_eq!(error32(f64::NAN, Dd::ONE, false), Some(f64::INFINITY));
        assert_eq!(error32(1.0, Dd::from(f64::NAN), false), None);
        assert_eq!(
            error32(f32::MAX as f64, Dd::from(1e39), false),
            Some(f64::INFINITY)
        );
        assert_eq!(error32(f64::INFINITY, Dd::from(1e39), false), Some(0.0));
        // Subnormal: one ULP is 2^−149; a derivative gets that much absolute slack.
        assert_eq!(
            error32(2.0 * MIN_SUB32, Dd::from(MIN_SUB32), false),
            Some(1.0)
        );
        assert_eq!(error32(MIN_SUB32, Dd::ZERO, true), Some(0.0));
        assert_eq!(
            error32(1.1, Dd::ONE, true).map(|e| (e * 1e6).round()),
            Some(1e5)
        );
        assert_eq!(
            std_const("std :: f32 :: consts :: FRAC_1_SQRT_2"),
            Some(std::f64::consts::FRAC_1_SQRT_2)
        );
        assert_eq!(std_const("MY_CONST"), None);
    }
}
