//! Stability rewrites: textbook forms that overflow or cancel become the stable primitives,
//! before differentiation (so derivatives are built from the stable primitives too).
//!
//! | rule | from | to | why |
//! |---|---|---|---|
//! | `softplus` | ln(1 + exp(u)), ln_1p(exp(u)) | softplus(u) | exp overflows above 88.7 |
//! | `log_sigmoid` | ln(sigmoid(u)) | −softplus(−u) | σ underflows to 0 below −88 (ln 0 = −inf) |
//! | `sigmoid` | 1/(1 + exp(−u)) | sigmoid(u) | exp overflows below −88.7; quotient-rule gradient inf/inf |
//! | `sigmoid_mul` | a/(1 + exp(−u)) | a·sigmoid(u) | as above (swish written x/(1 + e⁻ˣ)) |
//! | `sigmoid_ratio` | exp(u)/(1 + exp(u)) | sigmoid(u) | inf/inf above 88.7 |
//! | `sigmoid_complement` | 1 − sigmoid(u) | sigmoid(−u) | cancellation as σ → 1 |
//! | `tanh_complement` | 1 ± tanh(u) | 2·sigmoid(±2u) | cancellation as tanh → ∓1 (GELU's tail) |
//! | `tanh_exp` | (exp(u) − exp(−u))/(exp(u) + exp(−u)) | tanh(u) | inf/inf for \|u\| > 88.7 |
//! | `tanh_exp2` | (exp(2u) − 1)/(exp(2u) + 1) | tanh(u) | inf/inf for u > 44; cancellation near 0 |
//! | `exp_m1` | exp(u) − 1 | exp_m1(u) | cancellation near 0 (ELU: 19% off at −1e−7) |
//! | `exp_m1_neg` | 1 − exp(u) | −exp_m1(u) | as above |
//! | `exp_m1_scaled` | c·exp(u) − c | c·exp_m1(u) | as above (SELU written λ(αeˣ − α)) |
//! | `ln_1p` | ln(1 + u) | ln_1p(u) | cancellation near 0 |
//! | `recip_m1` | 1/(1 + u) − 1, 1 − 1/(1 + u) | −u/(1 + u), u/(1 + u) | cancellation near 0 (d(ln_1p(x) − x)) |
//! | `one_minus_cos` | 1 − cos(u) | 2·sin(u/2)² | cancellation near 0 (0 for \|u\| < 2.4e−4 in f32) |
//! | `exp_difference` | exp(a) − exp(b) | exp_m1(a) − exp_m1(b) where \|a\|, \|b\| ≤ 1 | cancellation near a = b = 0 (2·sinh written eˣ − e⁻ˣ) |
//! | `sqrt_minus_const` | sqrt(u + c²) − c | u/(sqrt(u + c²) + c) where \|u\| ≤ c² | cancellation near u = 0 (squareplus-like forms) |
//! | `hypot_regime` | sqrt(u·u + k) | \|u\|·sqrt(1 + (k/u)/u) where \|u\| > 2⁶⁰ | u·u overflows above 1.8e19 in f32 (ISRU, √(x² + 1)) |
//! | `sqrt_conjugate` | sqrt(u·u + k) − u, u + sqrt(u·u + k) | k/(sqrt(u·u + k) + u) where u > 0, k/(sqrt(u·u + k) − u) where u < 0 | cancellation as u → +∞, −∞ (squareplus) |
//! | `erfc` | 1 − erf(u), 1 + erf(u) | erfc(u), erfc(−u) | cancellation as erf → ±1 (GELU's tail) |
//! | `ln_difference` | ln a − ln b | ln_1p((a − b)/b) where \|a − b\| ≤ \|b\|/2 | cancellation as a → b |
//! | `expm1_quotient` | a/exp_m1(u), exp_m1(u)/a | a·e^(−u/2)·e^(−u/2)/(−exp_m1(−u)), (e^(u/2)/a)·e^(u/2)·(−exp_m1(−u)) where u > 1 | exp_m1 overflows beyond 88.7 where the quotient does not |
//! | `log_cosh` | ln((eᵘ + e⁻ᵘ)/2) | ln_1p(2s²), s = (exp_m1(u/2) − exp_m1(−u/2))/2, where \|u\| ≤ 1, else \|u\| + ln_1p(e^(−2\|u\|)) − ln 2 | cancellation near 0, overflow beyond 88.7 |
//! | `square_denominator` | p/(u·u + k), p/(u·u) | (p/u)/u where \|u\| > 2⁶⁰ (and \|u\| < 2⁻⁶⁰ for p/(u·u)) | u·u overflows (underflows) |
//!
//! `1 + e` matches either operand order. Every rule strictly reduces the expression, or (those
//! with a `where`) puts the matched node itself as the other side of a select, which no rule
//! matches, so the pass terminates. Those keep the original form outside the region
//! where it fails: there the rewritten one is the worse (exp_m1 of two large negative
//! arguments is −1 − −1; u/(sqrt + c) is inf/inf where u overflows; the rescaled hypot costs a
//! division and a square root more). The rules that look for a `sqrt` see through
//! `hypot_regime`'s select to the form as written.

use crate::ir::{Bin, Cmp, Graph, Id, Node, Un, children};

/// The rules, for docs and tests: (name, from, to).
pub const RULES: &[(&str, &str, &str)] = &[
    ("softplus", "ln(1 + exp(u)), ln_1p(exp(u))", "softplus(u)"),
    ("log_sigmoid", "ln(sigmoid(u))", "-softplus(-u)"),
    ("sigmoid", "1/(1 + exp(-u))", "sigmoid(u)"),
    ("sigmoid_mul", "a/(1 + exp(-u))", "a * sigmoid(u)"),
    ("sigmoid_ratio", "exp(u)/(1 + exp(u))", "sigmoid(u)"),
    ("sigmoid_complement", "1 - sigmoid(u)", "sigmoid(-u)"),
    (
        "tanh_complement",
        "1 + tanh(u), 1 - tanh(u)",
        "2 * sigmoid(2u), 2 * sigmoid(-2u)",
    ),
    (
        "tanh_exp",
        "(exp(u) - exp(-u))/(exp(u) + exp(-u))",
        "tanh(u)",
    ),
    ("tanh_exp2", "(exp(2u) - 1)/(exp(2u) + 1)", "tanh(u)"),
    ("exp_m1", "exp(u) - 1", "exp_m1(u)"),
    ("exp_m1_neg", "1 - exp(u)", "-exp_m1(u)"),
    ("exp_m1_scaled", "c * exp(u) - c", "c * exp_m1(u)"),
    ("ln_1p", "ln(1 + u)", "ln_1p(u)"),
    (
        "recip_m1",
        "1/(1 + u) - 1, 1 - 1/(1 + u)",
        "-u/(1 + u), u/(1 + u)",
    ),
    ("erfc", "1 - erf(u), 1 + erf(u)", "erfc(u), erfc(-u)"),
    ("one_minus_cos", "1 - cos(u)", "2 * sin(u/2)^2"),
    (
        "exp_difference",
        "exp(a) - exp(b)",
        "exp_m1(a) - exp_m1(b) where |a|, |b| <= 1",
    ),
    (
        "sqrt_minus_const",
        "sqrt(u + c^2) - c",
        "u/(sqrt(u + c^2) + c) where |u| <= c^2",
    ),
    (
        "hypot_regime",
        "sqrt(u*u + k)",
        "|u| * sqrt(1 + (k/u)/u) where |u| > 2^60",
    ),
    (
        "sqrt_conjugate",
        "sqrt(u*u + k) - u, u + sqrt(u*u + k)",
        "k/(sqrt(u*u + k) + u) where u > 0, k/(sqrt(u*u + k) - u) where u < 0",
    ),
    (
        "ln_difference",
        "ln(a) - ln(b)",
        "ln_1p((a - b)/b) where |a - b| <= |b|/2",
    ),
    (
        "expm1_quotient",
        "a/exp_m1(u), exp_m1(u)/a",
        "a*exp(-u/2)*exp(-u/2)/(-exp_m1(-u)), exp(u/2)/a*exp(u/2)*(-exp_m1(-u)) where u > 1",
    ),
    (
        "log_cosh",
        "ln((exp(u) + exp(-u)) * 0.5), ln((exp(u) + exp(-u)) / 2)",
        "ln_1p(2 s^2), s = (exp_m1(u/2) - exp_m1(-u/2))/2, where |u| <= 1, else |u| + ln_1p(exp(-2|u|)) - ln 2",
    ),
    (
        "square_denominator",
        "p/(u*u + k), p/(u*u)",
        "(p/u)/u where |u| > 2^60 (and, for p/(u*u), where |u| < 2^-60)",
    ),
];

/// Where `square_denominator` also divides twice for p/(u·u): below it u·u is under 2⁻¹²⁰,
/// near f32's subnormals (2⁻¹²⁶), where it loses digits and then underflows to 0.
const TINY_SWITCH: f64 = 8.673_617_379_884_035e-19; // 2^-60

/// Where `hypot_regime` switches to the rescaled form: u·u is far from overflow below it in
/// f32 (2¹²⁰ < 2¹²⁸), and above it k/u/u is below f32's ε for any k < 2⁹⁶.
const HYPOT_SWITCH: f64 = 1_152_921_504_606_846_976.0; // 2^60

/// `from → to` of a rule, for the generated docs.
pub fn describe(name: &str) -> String {
    RULES.iter().find(|r| r.0 == name).map_or_else(
        || name.to_string(),
        |(_, from, to)| format!("{from} → {to}"),
    )
}

/// Rebuilds the expression under `root` with the rules applied bottom-up; returns the new root
/// and the names of the rules that fired.
pub fn rewrite(g: &mut Graph, root: Id) -> (Id, Vec<&'static str>) {
    rewrite_with(g, root, apply)
}

/// One rule of a table applied at a node: the new node and the rule's name, if one matches.
pub type Rule = fn(&mut Graph, Id) -> Option<(Id, &'static str)>;

/// Rebuilds the expression under `root` with `apply`'s rules applied bottom-up (each node's
/// rules again on what a rule built there, until none matches); returns the new root and the
/// names of the rules that fired.
pub fn rewrite_with(
    g: &mut Graph,
    root: Id,
    mut apply: impl FnMut(&mut Graph, Id) -> Option<(Id, &'static str)>,
) -> (Id, Vec<&'static str>) {
    let mut fired = Vec::new();
    let live = g.reachable(&[root]);
    let mut map: Vec<Id> = (0..g.nodes.len()).collect();
    for id in 0..live.len() {
        if !live[id] {
            continue;
        }
        g.span = g.spans[id];
        let node = remap(g.nodes[id], &map);
        let mut new = rebuild(g, node);
        while let Some((next, rule)) = apply(g, new) {
            new = next;
            if !fired.contains(&rule) {
                fired.push(rule);
            }
        }
        map[id] = new;
    }
    (map[root], fired)
}

fn remap(n: Node, map: &[Id]) -> Node {
    match n {
        Node::Unary(op, a) => Node::Unary(op, map[a]),
        Node::Binary(op, a, b) => Node::Binary(op, map[a], map[b]),
        Node::Powi(a, k) => Node::Powi(map[a], k),
        Node::RoundErr(op, a, b) => Node::RoundErr(op, map[a], map[b]),
        Node::Shifted(op, a, b) => Node::Shifted(op, map[a], map[b]),
        Node::Cmp(op, a, b) => Node::Cmp(op, map[a], map[b]),
        Node::And(a, b) => Node::And(map[a], map[b]),
        Node::Or(a, b) => Node::Or(map[a], map[b]),
        Node::Not(a) => Node::Not(map[a]),
        Node::Select(m, a, b) => Node::Select(map[m], map[a], map[b]),
        leaf => {
            debug_assert!(children(leaf).is_empty());
            leaf
        }
    }
}

/// Builds `node` through the simplifying constructors.
fn rebuild(g: &mut Graph, node: Node) -> Id {
    match node {
        Node::Const(b64, b32) => g.constant2(f64::from_bits(b64), f32::from_bits(b32)),
        Node::Input(k) => g.input_at(k),
        Node::Param(i) => g.param(i),
        Node::Named(i) => {
            let name = g.named[i].clone();
            g.named(name)
        }
        Node::Unary(op, a) => g.unary(op, a),
        Node::Binary(op, a, b) => g.binary(op, a, b),
        Node::Powi(a, k) => g.powi(a, k),
        Node::RoundErr(op, a, b) => g.round_err(op, a, b),
        Node::Shifted(op, a, b) => g.shifted(op, a, b),
        Node::Cmp(op, a, b) => g.cmp(op, a, b),
        Node::And(a, b) => g.and(a, b),
        Node::Or(a, b) => g.or(a, b),
        Node::Not(a) => g.not(a),
        Node::Select(m, a, b) => g.select(m, a, b),
    }
}

/// `e` if `id` is `1 + e` (either order).
fn one_plus(g: &Graph, id: Id) -> Option<Id> {
    match g.nodes[id] {
        Node::Binary(Bin::Add, a, b) if g.value(a) == Some(1.0) => Some(b),
        Node::Binary(Bin::Add, a, b) if g.value(b) == Some(1.0) => Some(a),
        _ => None,
    }
}

/// `(u, 1 + u)` if `id` is `1/(1 + u)`.
fn recip_one_plus(g: &Graph, id: Id) -> Option<(Id, Id)> {
    match g.nodes[id] {
        Node::Binary(Bin::Div, one, den) if g.value(one) == Some(1.0) => {
            one_plus(g, den).map(|u| (u, den))
        }
        _ => None,
    }
}

/// `u` if `id` is `exp(u)`.
fn exp_of(g: &Graph, id: Id) -> Option<Id> {
    match g.nodes[id] {
        Node::Unary(Un::Exp, u) => Some(u),
        _ => None,
    }
}

/// `u` if `id` is `tanh(u)`.
fn tanh_of(g: &Graph, id: Id) -> Option<Id> {
    match g.nodes[id] {
        Node::Unary(Un::Tanh, u) => Some(u),
        _ => None,
    }
}

/// `u` if `id` is `erf(u)`.
fn erf_of(g: &Graph, id: Id) -> Option<Id> {
    match g.nodes[id] {
        Node::Unary(Un::Erf, u) => Some(u),
        _ => None,
    }
}

/// 2·sigmoid(±2u).
fn twice_sigmoid(g: &mut Graph, u: Id, negate: bool) -> Id {
    let two = g.constant(2.0);
    let mut w = g.mul(two, u);
    if negate {
        w = g.neg(w);
    }
    let s = g.unary(Un::Sigmoid, w);
    g.mul(two, s)
}

/// `u` if `a` is `c·exp(u)` (either order) with `c` a constant or parameter.
fn scaled_exp(g: &Graph, a: Id, c: Id) -> Option<Id> {
    if !matches!(
        g.nodes[c],
        Node::Const(..) | Node::Param(_) | Node::Named(_)
    ) {
        return None;
    }
    match g.nodes[a] {
        Node::Binary(Bin::Mul, p, q) if p == c => exp_of(g, q),
        Node::Binary(Bin::Mul, p, q) if q == c => exp_of(g, p),
        _ => None,
    }
}

/// `(u, k)` if `s` is `u·u + k` (either order) with `k` a constant ≥ 0.
fn square_plus_const(g: &Graph, s: Id) -> Option<(Id, Id)> {
    let Node::Binary(Bin::Add, p, q) = g.nodes[s] else {
        return None;
    };
    let square = |a: Id| match g.nodes[a] {
        Node::Binary(Bin::Mul, x, y) if x == y => Some(x),
        _ => None,
    };
    let nonneg = |k: Id| {
        g.consts(k)
            .is_some_and(|(k64, k32)| k64 >= 0.0 && k32 >= 0.0)
    };
    match (square(p), square(q)) {
        (Some(u), _) if nonneg(q) => Some((u, q)),
        (_, Some(u)) if nonneg(p) => Some((u, p)),
        _ => None,
    }
}

/// `(k/v)/2`.
fn half_ratio(g: &mut Graph, k: Id, v: Id) -> Id {
    let half = g.constant(0.5);
    let q = g.div(k, v);
    g.mul(q, half)
}

/// `k` if `r` is `sqrt(u·u + k)` (as written, see [`as_written_sqrt`]) for this `u`, with
/// `k` a constant > 0.
pub fn hypot_of(g: &Graph, r: Id, u: Id) -> Option<Id> {
    let Node::Unary(Un::Sqrt, s) = g.nodes[as_written_sqrt(g, r)] else {
        return None;
    };
    let (v, k) = square_plus_const(g, s)?;
    (v == u && g.consts(k).is_some_and(|(k64, k32)| k64 > 0.0 && k32 > 0.0)).then_some(k)
}

/// The `sqrt(s)` as written under `r`: `r` itself, or the plain side of `hypot_regime`'s
/// select.
pub fn as_written_sqrt(g: &Graph, r: Id) -> Id {
    hypot_regime_plain(g, r).unwrap_or(r)
}

/// The plain side of `select(|u| ≤ 2⁶⁰, sqrt(u·u + k), …)` as `hypot_regime` builds it, if
/// `r` is one: only that select, whose two sides are the same function (a user's select of
/// two different forms is not one to see through).
fn hypot_regime_plain(g: &Graph, r: Id) -> Option<Id> {
    let Node::Select(m, plain, _) = g.nodes[r] else {
        return None;
    };
    let Node::Unary(Un::Sqrt, s) = g.nodes[plain] else {
        return None;
    };
    let (u, _) = square_plus_const(g, s)?;
    let Node::Cmp(Cmp::Le, au, switch) = g.nodes[m] else {
        return None;
    };
    (g.nodes[au] == Node::Unary(Un::Abs, u) && g.value(switch) == Some(HYPOT_SWITCH))
        .then_some(plain)
}

/// The written form `exp(a) − exp(b)` under `exp_difference`'s select, if `id` is one (as
/// built by that rule: the sides are the same function).
fn exp_difference_written(g: &Graph, id: Id) -> Option<Id> {
    let Node::Select(m, near, orig) = g.nodes[id] else {
        return None;
    };
    let Node::Binary(Bin::Sub, p, q) = g.nodes[orig] else {
        return None;
    };
    let (a, b) = (exp_of(g, p)?, exp_of(g, q)?);
    let Node::Binary(Bin::Sub, ea, eb) = g.nodes[near] else {
        return None;
    };
    let in_range = |c: Id, v: Id| match g.nodes[c] {
        Node::Cmp(Cmp::Le, av, one) => {
            g.nodes[av] == Node::Unary(Un::Abs, v) && g.value(one) == Some(1.0)
        }
        _ => false,
    };
    let ok = g.nodes[ea] == Node::Unary(Un::ExpM1, a)
        && g.nodes[eb] == Node::Unary(Un::ExpM1, b)
        && matches!(g.nodes[m], Node::And(ca, cb) if in_range(ca, a) && in_range(cb, b));
    ok.then_some(orig)
}

/// `(u, k)` if `r` is `sqrt(u + k)` (either order) with `k` the constant `c²` exactly, in f64
/// and in f32, for the constant `c > 0`.
fn sqrt_of_plus_square(g: &Graph, r: Id, c: Id) -> Option<(Id, Id)> {
    let (c64, c32) = g.consts(c)?;
    let Node::Unary(Un::Sqrt, s) = g.nodes[as_written_sqrt(g, r)] else {
        return None;
    };
    let Node::Binary(Bin::Add, p, q) = g.nodes[s] else {
        return None;
    };
    let square = |k: Id| {
        g.consts(k)
            .is_some_and(|(k64, k32)| c64 * c64 == k64 && c32 * c32 == k32)
    };
    if !(c64 > 0.0 && c32 > 0.0) {
        return None;
    }
    if square(q) {
        Some((p, q))
    } else if square(p) {
        Some((q, p))
    } else {
        None
    }
}

/// `a` if `id` is `ln(a)`.
fn ln_of(g: &Graph, id: Id) -> Option<Id> {
    match g.nodes[id] {
        Node::Unary(Un::Ln, a) => Some(a),
        _ => None,
    }
}

/// `(exp(k·u), −exp_m1(−u))`: the half exponential and the factor 1 − e⁻ᵘ of
/// `expm1_quotient`.
fn half_exp_parts(g: &mut Graph, u: Id, k: f64) -> (Id, Id) {
    let k = g.constant(k);
    let h = g.mul(k, u);
    let e = g.unary(Un::Exp, h);
    let nu = g.neg(u);
    let em = g.unary(Un::ExpM1, nu);
    (e, g.neg(em))
}

/// The mask `u > 1`.
fn above_one(g: &mut Graph, u: Id) -> Id {
    let one = g.constant(1.0);
    g.cmp(Cmp::Gt, u, one)
}

/// `u` if `id` is `(exp(u) + exp(−u))·½` or `(exp(u) + exp(−u))/2` (cosh u as written).
fn half_cosh(g: &Graph, id: Id) -> Option<Id> {
    let sum = match g.nodes[id] {
        Node::Binary(Bin::Mul, c, s) if g.value(c) == Some(0.5) => s,
        Node::Binary(Bin::Div, s, c) if g.value(c) == Some(2.0) => s,
        _ => return None,
    };
    let Node::Binary(Bin::Add, p, q) = g.nodes[sum] else {
        return None;
    };
    let (a, b) = (exp_of(g, p)?, exp_of(g, q)?);
    if g.nodes[b] == Node::Unary(Un::Neg, a) {
        Some(a)
    } else if g.nodes[a] == Node::Unary(Un::Neg, b) {
        Some(b)
    } else {
        None
    }
}

/// `(u, k)` if `den` is `u·u + k` with `k` a constant ≥ 0, or `(u, None)` if it is `u·u` or
/// `u.powi(2)`.
fn square_den(g: &Graph, den: Id) -> Option<(Id, Option<Id>)> {
    if let Some((u, k)) = square_plus_const(g, den) {
        return Some((u, Some(k)));
    }
    match g.nodes[den] {
        Node::Binary(Bin::Mul, x, y) if x == y => Some((x, None)),
        Node::Powi(x, 2) => Some((x, None)),
        _ => None,
    }
}

/// One rule applied at `id`, if any matches.
fn apply(g: &mut Graph, id: Id) -> Option<(Id, &'static str)> {
    match g.nodes[id] {
        // softplus: ln(1 + exp(u)) → softplus(u)
        Node::Unary(Un::Ln, a) if one_plus(g, a).and_then(|e| exp_of(g, e)).is_some() => {
            let u = exp_of(g, one_plus(g, a)?)?;
            Some((g.unary(Un::Softplus, u), "softplus"))
        }
        // softplus: ln_1p(exp(u)) → softplus(u)
        Node::Unary(Un::Ln1p, a) if exp_of(g, a).is_some() => {
            let u = exp_of(g, a)?;
            Some((g.unary(Un::Softplus, u), "softplus"))
        }
        // log_sigmoid: ln(sigmoid(u)) → −softplus(−u)
        Node::Unary(Un::Ln, a) if matches!(g.nodes[a], Node::Unary(Un::Sigmoid, _)) => {
            let Node::Unary(Un::Sigmoid, u) = g.nodes[a] else {
                return None;
            };
            let nu = g.neg(u);
            let sp = g.unary(Un::Softplus, nu);
            Some((g.neg(sp), "log_sigmoid"))
        }
        // ln_1p: ln(1 + u) → ln_1p(u)
        Node::Unary(Un::Ln, a) if one_plus(g, a).is_some() => {
            let u = one_plus(g, a)?;
            Some((g.unary(Un::Ln1p, u), "ln_1p"))
        }
        // exp_m1: exp(u) − 1 → exp_m1(u)
        Node::Binary(Bin::Sub, a, b) if g.value(b) == Some(1.0) && exp_of(g, a).is_some() => {
            let u = exp_of(g, a)?;
            Some((g.unary(Un::ExpM1, u), "exp_m1"))
        }
        // exp_m1_scaled: c·exp(u) − c → c·exp_m1(u)   (c a constant or parameter)
        Node::Binary(Bin::Sub, a, c) if scaled_exp(g, a, c).is_some() => {
            let u = scaled_exp(g, a, c)?;
            let e = g.unary(Un::ExpM1, u);
            Some((g.mul(c, e), "exp_m1_scaled"))
        }
        // tanh_complement: 1 + tanh(u) → 2·sigmoid(2u)
        Node::Binary(Bin::Add, _, _) if one_plus(g, id).and_then(|t| tanh_of(g, t)).is_some() => {
            let u = tanh_of(g, one_plus(g, id)?)?;
            Some((twice_sigmoid(g, u, false), "tanh_complement"))
        }
        // (and 1 − tanh(u) → 2·sigmoid(−2u))
        Node::Binary(Bin::Sub, a, b) if g.value(a) == Some(1.0) && tanh_of(g, b).is_some() => {
            let u = tanh_of(g, b)?;
            Some((twice_sigmoid(g, u, true), "tanh_complement"))
        }
        // erfc: 1 + erf(u) → erfc(−u)   (GELU's Φ: 1 + erf cancels for u < −3)
        Node::Binary(Bin::Add, _, _) if one_plus(g, id).and_then(|e| erf_of(g, e)).is_some() => {
            let u = erf_of(g, one_plus(g, id)?)?;
            let nu = g.neg(u);
            Some((g.unary(Un::Erfc, nu), "erfc"))
        }
        // (and 1 − erf(u) → erfc(u))
        Node::Binary(Bin::Sub, a, b) if g.value(a) == Some(1.0) && erf_of(g, b).is_some() => {
            let u = erf_of(g, b)?;
            Some((g.unary(Un::Erfc, u), "erfc"))
        }
        // recip_m1: 1/(1 + u) − 1 → −u/(1 + u)
        Node::Binary(Bin::Sub, a, b)
            if g.value(b) == Some(1.0) && recip_one_plus(g, a).is_some() =>
        {
            let (u, den) = recip_one_plus(g, a)?;
            let q = g.div(u, den);
            Some((g.neg(q), "recip_m1"))
        }
        // (and 1 − 1/(1 + u) → u/(1 + u))
        Node::Binary(Bin::Sub, a, b)
            if g.value(a) == Some(1.0) && recip_one_plus(g, b).is_some() =>
        {
            let (u, den) = recip_one_plus(g, b)?;
            Some((g.div(u, den), "recip_m1"))
        }
        // exp_m1_neg: 1 − exp(u) → −exp_m1(u)
        Node::Binary(Bin::Sub, a, b) if g.value(a) == Some(1.0) && exp_of(g, b).is_some() => {
            let u = exp_of(g, b)?;
            let e = g.unary(Un::ExpM1, u);
            Some((g.neg(e), "exp_m1_neg"))
        }
        // sigmoid_complement: 1 − sigmoid(u) → sigmoid(−u)
        Node::Binary(Bin::Sub, a, b)
            if g.value(a) == Some(1.0) && matches!(g.nodes[b], Node::Unary(Un::Sigmoid, _)) =>
        {
            let Node::Unary(Un::Sigmoid, u) = g.nodes[b] else {
                return None;
            };
            let nu = g.neg(u);
            Some((g.unary(Un::Sigmoid, nu), "sigmoid_complement"))
        }
        // one_minus_cos: 1 − cos(u) → 2·sin(u/2)²
        Node::Binary(Bin::Sub, a, b)
            if g.value(a) == Some(1.0) && matches!(g.nodes[b], Node::Unary(Un::Cos, _)) =>
        {
            let Node::Unary(Un::Cos, u) = g.nodes[b] else {
                return None;
            };
            let (half, two) = (g.constant(0.5), g.constant(2.0));
            let h = g.mul(half, u);
            let s = g.unary(Un::Sin, h);
            let sq = g.mul(s, s);
            Some((g.mul(two, sq), "one_minus_cos"))
        }
        // exp_difference: exp(a) − exp(b) → exp_m1(a) − exp_m1(b) where |a|, |b| ≤ 1
        Node::Binary(Bin::Sub, p, q) if exp_of(g, p).is_some() && exp_of(g, q).is_some() => {
            let (a, b) = (exp_of(g, p)?, exp_of(g, q)?);
            let (ea, eb) = (g.unary(Un::ExpM1, a), g.unary(Un::ExpM1, b));
            let near = g.sub(ea, eb);
            let one = g.constant(1.0);
            let (aa, ab) = (g.unary(Un::Abs, a), g.unary(Un::Abs, b));
            let (ma, mb) = (g.cmp(Cmp::Le, aa, one), g.cmp(Cmp::Le, ab, one));
            let m = g.and(ma, mb);
            Some((g.select(m, near, id), "exp_difference"))
        }
        // sqrt_minus_const: sqrt(u + c²) − c → u/(sqrt(u + c²) + c) where |u| ≤ c²
        Node::Binary(Bin::Sub, r, c) if sqrt_of_plus_square(g, r, c).is_some() => {
            let (u, k) = sqrt_of_plus_square(g, r, c)?;
            let den = g.add(r, c);
            let near = g.div(u, den);
            let au = g.unary(Un::Abs, u);
            let m = g.cmp(Cmp::Le, au, k);
            Some((g.select(m, near, id), "sqrt_minus_const"))
        }
        // sqrt_conjugate: sqrt(u·u + k) − u → k/(sqrt(u·u + k) + u) where u > 0
        //   (beyond u = 2⁶⁰, where sqrt(u·u + k) rounds to u, as (k/u)/2: no overflow in
        //   r + u, and no inf − inf in the derivative at u = +inf)
        Node::Binary(Bin::Sub, r, u) if hypot_of(g, r, u).is_some() => {
            let k = hypot_of(g, r, u)?;
            let den = g.add(r, u);
            let near = g.div(k, den);
            let far = half_ratio(g, k, u);
            let (zero, switch) = (g.constant(0.0), g.constant(HYPOT_SWITCH));
            let (pos, small) = (g.cmp(Cmp::Gt, u, zero), g.cmp(Cmp::Le, u, switch));
            let conj = g.select(small, near, far);
            Some((g.select(pos, conj, id), "sqrt_conjugate"))
        }
        // (and u + sqrt(u·u + k) → k/(sqrt(u·u + k) − u) where u < 0, either order)
        Node::Binary(Bin::Add, p, q) if hypot_of(g, q, p).or(hypot_of(g, p, q)).is_some() => {
            let (r, u) = if hypot_of(g, q, p).is_some() {
                (q, p)
            } else {
                (p, q)
            };
            let k = hypot_of(g, r, u)?;
            let den = g.sub(r, u);
            let near = g.div(k, den);
            let nu = g.neg(u);
            let far = half_ratio(g, k, nu);
            let zero = g.constant(0.0);
            let switch = g.constant(-HYPOT_SWITCH);
            let (neg, small) = (g.cmp(Cmp::Lt, u, zero), g.cmp(Cmp::Ge, u, switch));
            let conj = g.select(small, near, far);
            Some((g.select(neg, conj, id), "sqrt_conjugate"))
        }
        // ln_difference: ln(a) − ln(b) → ln_1p((a − b)/b) where |a − b| ≤ |b|/2
        //   (there a − b is exact, by Sterbenz's lemma, and ln_1p keeps the small result's
        //   digits, which the difference of two logarithms of size ln(a) loses)
        Node::Binary(Bin::Sub, p, q) if ln_of(g, p).is_some() && ln_of(g, q).is_some() => {
            let (a, b) = (ln_of(g, p)?, ln_of(g, q)?);
            let d = g.sub(a, b);
            let r = g.div(d, b);
            let near = g.unary(Un::Ln1p, r);
            let (ad, ab) = (g.unary(Un::Abs, d), g.unary(Un::Abs, b));
            let half = g.constant(0.5);
            let hb = g.mul(half, ab);
            let m = g.cmp(Cmp::Le, ad, hb);
            Some((g.select(m, near, id), "ln_difference"))
        }
        // log_cosh: ln((exp(u) + exp(−u))·½) → ln_1p(2s²), s = (exp_m1(u/2) − exp_m1(−u/2))/2,
        //   where |u| ≤ 1 (cosh u − 1 = 2 sinh²(u/2), no cancellation), else
        //   |u| + ln_1p(exp(−2|u|)) − ln 2 (no overflow of exp(|u|) beyond 88.7)
        Node::Unary(Un::Ln, a) if half_cosh(g, a).is_some() => {
            let u = half_cosh(g, a)?;
            let (half, mhalf, two, one) = (
                g.constant(0.5),
                g.constant(-0.5),
                g.constant(2.0),
                g.constant(1.0),
            );
            let (h, mh) = (g.mul(half, u), g.mul(mhalf, u));
            let (e1, e2) = (g.unary(Un::ExpM1, h), g.unary(Un::ExpM1, mh));
            let d = g.sub(e1, e2);
            let sh = g.mul(half, d);
            let sq = g.mul(sh, sh);
            let t = g.mul(two, sq);
            let near = g.unary(Un::Ln1p, t);
            let au = g.unary(Un::Abs, u);
            let m2 = g.constant(-2.0);
            let arg = g.mul(m2, au);
            let e = g.unary(Un::Exp, arg);
            let l = g.unary(Un::Ln1p, e);
            let ln2 = g.constant(std::f64::consts::LN_2);
            let s1 = g.add(au, l);
            let far = g.sub(s1, ln2);
            let m = g.cmp(Cmp::Le, au, one);
            Some((g.select(m, near, far), "log_cosh"))
        }
        // hypot_regime: sqrt(u·u + k) → |u|·sqrt(1 + (k/u)/u) where |u| > 2⁶⁰
        Node::Unary(Un::Sqrt, s) if square_plus_const(g, s).is_some() => {
            let (u, k) = square_plus_const(g, s)?;
            let one = g.constant(1.0);
            let au = g.unary(Un::Abs, u);
            let ku = g.div(k, u);
            let kuu = g.div(ku, u);
            let inner = g.add(one, kuu);
            let root = g.unary(Un::Sqrt, inner);
            let far = g.mul(au, root);
            let switch = g.constant(HYPOT_SWITCH);
            let m = g.cmp(Cmp::Le, au, switch);
            Some((g.select(m, id, far), "hypot_regime"))
        }
        Node::Binary(Bin::Div, num, den) => divide(g, num, den),
        // The constructors pull a negation out of a quotient: look inside.
        Node::Unary(Un::Neg, a) => match g.nodes[a] {
            Node::Binary(Bin::Div, num, den) => {
                let (r, rule) = divide(g, num, den)?;
                Some((g.neg(r), rule))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The quotient rules.
fn divide(g: &mut Graph, num: Id, den: Id) -> Option<(Id, &'static str)> {
    // tanh_exp2: (exp(w) − 1)/(exp(w) + 1) → tanh(w/2), and (1 − exp(w))/(1 + exp(w)) →
    // −tanh(w/2)   (the numerators are already ±exp_m1(w))
    let (negated, m) = match g.nodes[num] {
        Node::Unary(Un::Neg, m) => (true, m),
        _ => (false, num),
    };
    if let (Node::Unary(Un::ExpM1, w), Some(e)) = (g.nodes[m], one_plus(g, den))
        && exp_of(g, e) == Some(w)
    {
        let half = g.constant(0.5);
        let u = g.mul(half, w);
        let t = g.unary(Un::Tanh, u);
        return Some((if negated { g.neg(t) } else { t }, "tanh_exp2"));
    }
    // tanh_exp: (exp(u) − exp(−u))/(exp(u) + exp(−u)) → tanh(u)   (the numerator was
    // rewritten first, bottom-up, by exp_difference: its original form is the select's other
    // side)
    let num_orig = exp_difference_written(g, num).unwrap_or(num);
    if let (Node::Binary(Bin::Sub, p, q), Node::Binary(Bin::Add, r, s)) =
        (g.nodes[num_orig], g.nodes[den])
        && let (Some(u), Some(v)) = (exp_of(g, p), exp_of(g, q))
        && g.nodes[v] == Node::Unary(Un::Neg, u)
        && ((r, s) == (p, q) || (r, s) == (q, p))
    {
        return Some((g.unary(Un::Tanh, u), "tanh_exp"));
    }
    // 1 + exp(w) in the denominator: sigmoid forms.
    if let Some(w) = one_plus(g, den).and_then(|e| exp_of(g, e)) {
        // sigmoid_ratio: exp(u)/(1 + exp(u)) → sigmoid(u)
        if exp_of(g, num) == Some(w) {
            return Some((g.unary(Un::Sigmoid, w), "sigmoid_ratio"));
        }
        // sigmoid: 1/(1 + exp(−u)) → sigmoid(u), the case a = 1 of
        // sigmoid_mul: a/(1 + exp(w)) → a·sigmoid(−w)
        let nw = g.neg(w);
        let s = g.unary(Un::Sigmoid, nw);
        let rule = if g.value(num) == Some(1.0) {
            "sigmoid"
        } else {
            "sigmoid_mul"
        };
        return Some((g.mul(num, s), rule));
    }
    // expm1_quotient: a/exp_m1(u) → (a·exp(−u/2))·exp(−u/2)/(−exp_m1(−u)) where u > 1
    //   (exp_m1(u) overflows beyond u = 88.7 where the quotient is a·e⁻ᵘ, finite; the two
    //   halves keep e⁻ᵘ out of the subnormals, which would cost it its digits, until the
    //   result itself is subnormal)
    let expm1_den = match g.nodes[den] {
        Node::Unary(Un::ExpM1, u) => Some(u),
        _ => None,
    };
    if let Some(u) = expm1_den {
        let id = g.div(num, den);
        let (e, c) = half_exp_parts(g, u, -0.5);
        let ae = g.mul(num, e);
        let top = g.mul(ae, e);
        let far = g.div(top, c);
        let m = above_one(g, u);
        return Some((g.select(m, far, id), "expm1_quotient"));
    }
    // (and exp_m1(u)/a → (exp(u/2)/a)·exp(u/2)·(−exp_m1(−u)) where u > 1: exp_m1(u)
    //   overflows while e^u/a may not)
    if let Node::Unary(Un::ExpM1, u) = g.nodes[num] {
        let id = g.div(num, den);
        let (e, c) = half_exp_parts(g, u, 0.5);
        let ea = g.div(e, den);
        let prod = g.mul(ea, e);
        let far = g.mul(prod, c);
        let m = above_one(g, u);
        return Some((g.select(m, far, id), "expm1_quotient"));
    }
    // square_denominator: p/(u·u + k) → (p/u)/u where |u| > 2⁶⁰ (u·u overflows f32 beyond
    //   1.8e19, and the quotient went to 0 or NaN where it is finite); p/(u·u) also where
    //   |u| < 2⁻⁶⁰ (u·u underflows)
    if let Some((u, k)) = square_den(g, den) {
        let id = g.div(num, den);
        let pu = g.div(num, u);
        let far = g.div(pu, u);
        let au = g.unary(Un::Abs, u);
        let big = g.constant(HYPOT_SWITCH);
        let mut m = g.cmp(Cmp::Gt, au, big);
        if k.is_none() {
            let tiny = g.constant(TINY_SWITCH);
            let small = g.cmp(Cmp::Lt, au, tiny);
            m = g.or(m, small);
        }
        return Some((g.select(m, far, id), "square_denominator"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::Lowerer;
    use crate::print::{Names, print};

    /// Lowers a Rust expression over `x` (and parameter `a`), rewrites, prints.
    fn rw(src: &str) -> String {
        let (inputs, params) = (["x".to_string()], ["a".to_string()]);
        let mut l = Lowerer::new(&inputs, &params);
        let e: syn::Expr = syn::parse_str(src).expect("valid Rust");
        let root = l.expr(&e);
        assert!(l.errors.is_empty(), "{src}: lowering failed");
        let mut g = l.g;
        let (root, _) = rewrite(&mut g, root);
        let names = Names {
            inputs: &["x".to_string()],
            params: &params,
        };
        print(&g, &names, root)
    }

    /// Every name an arm returns is in the table (so the docs describe it).
    #[test]
    fn every_rule_an_arm_names_is_listed() {
        let src = include_str!("rewrite.rs");
        let body = &src[src.find("fn apply(").unwrap()..src.find("#[cfg(test)]").unwrap()];
        for piece in body.split('"').skip(1).step_by(2) {
            assert!(
                RULES.iter().any(|r| r.0 == piece),
                "the rule {piece} is not in RULES"
            );
        }
    }

    /// The table in the docs and the match arms stay in step.
    #[test]
    fn every_listed_rule_has_an_arm() {
        let src = include_str!("rewrite.rs");
        for (name, from, to) in RULES {
            assert!(
                src.contains(&format!("// {name}:")),
                "rule {name} ({from} → {to}) has no arm"
            );
        }
    }

    #[rustfmt::skip]
    #[test]
    fn rules() {
        assert_eq!(rw("(1.0 + x.exp()).ln()"),                           "softplus(x)");
        assert_eq!(rw("(x.exp() + 1.0).ln()"),                           "softplus(x)");
        assert_eq!(rw("(a * x).exp().ln_1p()"),                          "softplus(x * a)");
        assert_eq!(rw("sigmoid(x).ln()"),                                "-softplus(-x)");
        assert_eq!(rw("1.0 / (1.0 + (-x).exp())"),                       "sigmoid(x)");
        assert_eq!(rw("x / (1.0 + (-a * x).exp())"),                     "x * sigmoid(x * a)");
        assert_eq!(rw("x.exp() / (1.0 + x.exp())"),                      "sigmoid(x)");
        assert_eq!(rw("1.0 - sigmoid(x)"),                               "sigmoid(-x)");
        assert_eq!(rw("(x.exp() - (-x).exp()) / (x.exp() + (-x).exp())"), "tanh(x)");
        assert_eq!(rw("((2.0 * x).exp() - 1.0) / ((2.0 * x).exp() + 1.0)"), "tanh(x)");
        assert_eq!(rw("(1.0 - (-2.0 * x).exp()) / (1.0 + (-2.0 * x).exp())"), "tanh(x)");
        assert_eq!(rw("a * (x.exp() - 1.0)"),                            "a * exp_m1(x)");
        assert_eq!(rw("1.0 - x.exp()"),                                  "-exp_m1(x)");
        assert_eq!(rw("a * x.exp() - a"),                                "a * exp_m1(x)");
        assert_eq!(rw("1.0 + (a * x).tanh()"),                           "2.0 * sigmoid(2.0 * (x * a))");
        assert_eq!(rw("1.0 - x.tanh()"),                                 "2.0 * sigmoid(-(2.0 * x))");
        assert_eq!(rw("(1.0 + x * x).ln()"),                             "ln_1p(x * x)");
        assert_eq!(rw("1.0 / (1.0 + x) - 1.0"),                          "-(x / (x + 1.0))");
        assert_eq!(rw("1.0 - 1.0 / (x * a + 1.0)"),                      "x * a / (1.0 + x * a)");
        assert_eq!(rw("1.0 + erf(a * x)"),                               "erfc(-(x * a))");
        assert_eq!(rw("erf(x) + 1.0"),                                   "erfc(-x)");
        assert_eq!(rw("1.0 - erf(x)"),                                   "erfc(x)");
        assert_eq!(rw("x * (1.0 + x.exp()).ln().tanh()"),                "x * tanh(softplus(x))");
        assert_eq!(rw("1.0 - x.cos()"),                                  "2.0 * (sin(0.5 * x) * sin(0.5 * x))");
        assert_eq!(rw("x.exp() - (-x).exp()"),
                   "if abs(x) <= 1.0 && abs(-x) <= 1.0 { exp_m1(x) - exp_m1(-x) } else { exp(x) - exp(-x) }");
        // (with hypot_regime on the square root first, bottom-up)
        assert_eq!(rw("(x * x + 4.0).sqrt() - 2.0"),
                   "{ let t1 = if abs(x) <= 1152921504606847000.0 { sqrt(x * x + 4.0) } else { abs(x) * sqrt(1.0 + 4.0 / x / x) }; \
                    if abs(x * x) <= 4.0 { x * x / (2.0 + t1) } else { t1 - 2.0 } }");
        assert_eq!(rw("(1.0 + a * x).sqrt() - 1.0"),
                   "if abs(x * a) <= 1.0 { x * a / (1.0 + sqrt(1.0 + x * a)) } else { sqrt(1.0 + x * a) - 1.0 }");
        assert_eq!(rw("(x * x + 1.0).sqrt()"),
                   "if abs(x) <= 1152921504606847000.0 { sqrt(x * x + 1.0) } else { abs(x) * sqrt(1.0 + 1.0 / x / x) }");
        assert_eq!(rw("(x * x + 1.0).sqrt() - x"),
                   "{ let t1 = if abs(x) <= 1152921504606847000.0 { sqrt(x * x + 1.0) } else { abs(x) * sqrt(1.0 + 1.0 / x / x) }; \
                    if x > 0.0 { if x <= 1152921504606847000.0 { 1.0 / (x + t1) } else { 0.5 * (1.0 / x) } } else { t1 - x } }");
        assert_eq!(rw("x + (x * x + 4.0).sqrt()"),
                   "{ let t1 = if abs(x) <= 1152921504606847000.0 { sqrt(x * x + 4.0) } else { abs(x) * sqrt(1.0 + 4.0 / x / x) }; \
                    if x < 0.0 { if x >= -1152921504606847000.0 { 4.0 / (t1 - x) } else { 0.5 * (4.0 / -x) } } else { x + t1 } }");
        // A select the user wrote is not seen through: its sides are different functions
        // (before this test the first was rewritten as if the select were the square root:
        // x/(x + 2) for x in [−4, 0] instead of x − 2).
        assert_eq!(rw("(if x > 0.0 { (x + 4.0).sqrt() } else { x }) - 2.0"),
                   "(if x > 0.0 { sqrt(x + 4.0) } else { x }) - 2.0");
        assert_eq!(rw("(if x > 0.0 { x } else { x.exp() - (-x).exp() }) / (x.exp() + (-x).exp())"),
                   "(if x > 0.0 { x } else { if abs(x) <= 1.0 && abs(-x) <= 1.0 { exp_m1(x) - exp_m1(-x) } \
                    else { exp(x) - exp(-x) } }) / (exp(x) + exp(-x))");
        assert_eq!(rw("(x + 2.0).ln() - x.ln()"),
                   "if abs(x + 2.0 - x) <= 0.5 * abs(x) { ln_1p((x + 2.0 - x) / x) } else { ln(x + 2.0) - ln(x) }");
        assert_eq!(rw("x / (x * x + 1.0)"),
                   "if abs(x) > 1152921504606847000.0 { x / x / x } else { x / (x * x + 1.0) }");
        assert_eq!(rw("x.sin() / x.powi(2)"),
                   "if abs(x) > 1152921504606847000.0 || abs(x) < 0.0000000000000000008673617379884035 { sin(x) / x / x } \
                    else { sin(x) / powi(x, 2) }");
        assert_eq!(rw("x / x.exp_m1()"),
                   "if x > 1.0 { exp(-0.5 * x) * (x * exp(-0.5 * x)) / -exp_m1(-x) } else { x / exp_m1(x) }");
        assert_eq!(rw("x.exp_m1() / x"),
                   "if x > 1.0 { -(exp_m1(-x) * (exp(0.5 * x) * (exp(0.5 * x) / x))) } else { exp_m1(x) / x }");
        assert_eq!(rw("((x.exp() + (-x).exp()) * 0.5).ln()"),
                   "if abs(x) <= 1.0 { ln_1p(2.0 * (0.5 * (exp_m1(0.5 * x) - exp_m1(-0.5 * x)) * (0.5 * (exp_m1(0.5 * x) - exp_m1(-0.5 * x))))) } \
                    else { abs(x) + ln_1p(exp(-2.0 * abs(x))) - 0.6931471805599453 }");
        // Forms that are already stable are left alone.
        assert_eq!(rw("(2.0 + x.exp()).ln()"),                           "ln(2.0 + exp(x))");
        // 3 is not 2²; 2 is not (√2)² in f32 and f64 both.
        assert_eq!(rw("(x + 3.0).sqrt() - 2.0"),                         "sqrt(x + 3.0) - 2.0");
        assert_eq!(rw("(x + 2.0).sqrt() - 1.4142135623730951"),          "sqrt(x + 2.0) - 1.4142135623730951");
    }
}
