//! Symbolic differentiation: one rule per operator, the math above each arm.
//!
//! `y` is the node being differentiated, `a`, `b` its operands and `da`, `db` their derivatives
//! with respect to the variable (`memo[&a]`: operands are differentiated first). Rules reuse `y` where the derivative is written in terms of the
//! value (exp, tanh, sigmoid), so the kernel computes it once for both. The graph's constructors
//! simplify (`1·da`, `0 + …`), so the rules are written without special cases.

use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};
use std::collections::HashMap;

/// What to differentiate with respect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    /// Input `k`.
    Input(usize),
    Param(usize),
}

/// d`root`/d`var`.
///
/// Iterative, not recursive: the nodes under `root` are differentiated in arena order (children
/// before parents), each rule reading its operands' derivatives from `memo`. A formula of
/// thousands of terms therefore costs no stack, only one entry per node.
pub fn diff(g: &mut Graph, root: Id, var: Var) -> Id {
    let live = value_reachable(g, root);
    let mut memo: HashMap<Id, Id> = HashMap::new();
    let span = g.span;
    for y in (0..=root).filter(|&id| live[id]) {
        g.span = g.spans[y];
        let r = rule(g, y, var, &memo);
        memo.insert(y, r);
    }
    g.span = span;
    memo[&root]
}

/// The value nodes `root` depends on: reachable from it without entering a select's condition
/// (masks are not differentiated).
fn value_reachable(g: &Graph, root: Id) -> Vec<bool> {
    let mut live = vec![false; root + 1];
    live[root] = true;
    for id in (0..=root).rev() {
        if !live[id] {
            continue;
        }
        let operands = match g.nodes[id] {
            Node::Select(_, a, b) => vec![a, b],
            n => crate::ir::children(n),
        };
        for c in operands {
            live[c] = true;
        }
    }
    live
}

fn rule(g: &mut Graph, y: Id, var: Var, memo: &HashMap<Id, Id>) -> Id {
    match g.nodes[y] {
        // d c = 0 (and the rounding error of an operation, a constant to the derivative)
        Node::Const(..) | Node::Named(_) | Node::RoundErr(..) => g.constant(0.0),
        // d op(u + lo) = d op(u) (lo is a correction below u's rounding)
        Node::Shifted(op, u, _) => {
            let plain = g.unary(op, u);
            rule(g, plain, var, memo)
        }
        // d xₖ = 1 (w.r.t. xₖ)
        Node::Input(k) => g.constant(if var == Var::Input(k) { 1.0 } else { 0.0 }),
        // d pᵢ = 1 (w.r.t. pᵢ)
        Node::Param(i) => g.constant(if var == Var::Param(i) { 1.0 } else { 0.0 }),
        // d(−a) = −da
        Node::Unary(Un::Neg, a) => {
            let da = memo[&a];
            g.neg(da)
        }
        // d(a ± b) = da ± db
        Node::Binary(op @ (Bin::Add | Bin::Sub), a, b) => {
            let (da, db) = (memo[&a], memo[&b]);
            g.binary(op, da, db)
        }
        // d(a·b) = da·b + a·db
        Node::Binary(Bin::Mul, a, b) => {
            let (da, db) = (memo[&a], memo[&b]);
            let l = g.mul(da, b);
            let r = g.mul(a, db);
            g.add(l, r)
        }
        // d(a/b) = (da − y·db)/b
        Node::Binary(Bin::Div, a, b) => {
            let (da, db) = (memo[&a], memo[&b]);
            let ydb = g.mul(y, db);
            let num = g.sub(da, ydb);
            g.div(num, b)
        }
        // d max(a, b) = if a > b { da } else if b > a { db } else { min(da, db) }
        // (at a tie, the left-hand derivative: relu′(0) = 0, as everywhere in actigen)
        Node::Binary(Bin::Max, a, b) => {
            let (da, db) = (memo[&a], memo[&b]);
            let tie = g.binary(Bin::Min, da, db);
            let b_wins = g.cmp(Cmp::Gt, b, a);
            let inner = g.select(b_wins, db, tie);
            let a_wins = g.cmp(Cmp::Gt, a, b);
            g.select(a_wins, da, inner)
        }
        // d min(a, b) = if a < b { da } else if b < a { db } else { max(da, db) }
        Node::Binary(Bin::Min, a, b) => {
            let (da, db) = (memo[&a], memo[&b]);
            let tie = g.binary(Bin::Max, da, db);
            let b_wins = g.cmp(Cmp::Lt, b, a);
            let inner = g.select(b_wins, db, tie);
            let a_wins = g.cmp(Cmp::Lt, a, b);
            g.select(a_wins, da, inner)
        }
        // d aᵉ = e·aᵉ⁻¹·da + (if |y| ≤ 0 { 0 } else { y·ln a })·de
        // (the first term is right at a = 0, where y·e/a is 0/0; the second, the exponent's,
        // is 0 where y = 0: aᵉ·ln a → 0 as a → 0 for e > 0; `de` is 0 for a constant e)
        Node::Binary(Bin::Powf, a, e) => {
            let (da, de) = (memo[&a], memo[&e]);
            let one = g.constant(1.0);
            let em1 = g.sub(e, one);
            let p = g.binary(Bin::Powf, a, em1);
            let ep = g.mul(e, p);
            let by_base = g.mul(ep, da);
            let zero = g.constant(0.0);
            let ay = g.unary(Un::Abs, y);
            let vanishes = g.cmp(Cmp::Le, ay, zero);
            let ln_a = g.unary(Un::Ln, a);
            let y_ln_a = g.mul(y, ln_a);
            let by_exponent = g.select(vanishes, zero, y_ln_a);
            let by_exponent = g.mul(by_exponent, de);
            g.add(by_base, by_exponent)
        }
        // d eᵃ = y·da
        Node::Unary(Un::Exp, a) => {
            let da = memo[&a];
            g.mul(y, da)
        }
        // d(eᵃ − 1) = eᵃ·da   (eᵃ itself, not y + 1, which loses digits as y → −1)
        Node::Unary(Un::ExpM1, a) => {
            let da = memo[&a];
            let e = g.unary(Un::Exp, a);
            g.mul(e, da)
        }
        // d ln a = da/a
        Node::Unary(Un::Ln, a) => {
            let da = memo[&a];
            g.div(da, a)
        }
        // d ln(1 + a) = da/(1 + a)
        Node::Unary(Un::Ln1p, a) => {
            let da = memo[&a];
            let one = g.constant(1.0);
            let den = g.add(one, a);
            g.div(da, den)
        }
        // d tanh a = 4·σ(2a)·σ(−2a)·da   (= 1 − y², written without the cancellation of
        // 1 − y² as |y| → 1: in f32 it is 0 once y rounds to ±1, where the truth is 6e−8)
        Node::Unary(Un::Tanh, a) => {
            let da = memo[&a];
            let two = g.constant(2.0);
            let a2 = g.mul(two, a);
            let s = g.unary(Un::Sigmoid, a2);
            let na2 = g.neg(a2);
            let sn = g.unary(Un::Sigmoid, na2);
            let four = g.constant(4.0);
            let p = g.mul(s, sn);
            let p = g.mul(four, p);
            g.mul(p, da)
        }
        // d σ(a) = y·σ(−a)·da   (= y·(1 − y), without the cancellation of 1 − y as y → 1;
        // σ(a) and σ(−a) share e^(−|a|) in the kernel)
        Node::Unary(Un::Sigmoid, a) => {
            let da = memo[&a];
            let na = g.neg(a);
            let sn = g.unary(Un::Sigmoid, na);
            let s = g.mul(y, sn);
            g.mul(s, da)
        }
        // d softplus(a) = σ(a)·da
        Node::Unary(Un::Softplus, a) => {
            let da = memo[&a];
            let s = g.unary(Un::Sigmoid, a);
            g.mul(s, da)
        }
        // d sin a = cos(a)·da
        Node::Unary(Un::Sin, a) => {
            let da = memo[&a];
            let c = g.unary(Un::Cos, a);
            g.mul(c, da)
        }
        // d cos a = −sin(a)·da
        Node::Unary(Un::Cos, a) => {
            let da = memo[&a];
            let s = g.unary(Un::Sin, a);
            let m = g.mul(s, da);
            g.neg(m)
        }
        // d erf a = (2/√π)·e^(−a²)·da, d erfc a = −(2/√π)·e^(−a²)·da
        Node::Unary(op @ (Un::Erf | Un::Erfc), a) => {
            let da = memo[&a];
            let aa = g.mul(a, a);
            let naa = g.neg(aa);
            let e = g.unary(Un::Exp, naa);
            let sign = if op == Un::Erf { 1.0 } else { -1.0 };
            let c = g.constant(sign * core::f64::consts::FRAC_2_SQRT_PI);
            let ce = g.mul(c, e);
            g.mul(ce, da)
        }
        // d|a| = if a < 0 { −da } else { da }
        Node::Unary(Un::Abs, a) => {
            let da = memo[&a];
            let zero = g.constant(0.0);
            let m = g.cmp(Cmp::Lt, a, zero);
            let nda = g.neg(da);
            g.select(m, nda, da)
        }
        // d √a = da/(2y)
        Node::Unary(Un::Sqrt, a) => {
            let da = memo[&a];
            let two_y = g.add(y, y);
            g.div(da, two_y)
        }
        // d aⁿ = n·aⁿ⁻¹·da   (for n = i32::MIN, where n − 1 is no i32: n·(aⁿ/a)·da)
        Node::Powi(a, n) => {
            let da = memo[&a];
            let c = g.constant(n as f64);
            let p = match n.checked_sub(1) {
                Some(m) => g.powi(a, m),
                None => {
                    let an = g.powi(a, n);
                    g.div(an, a)
                }
            };
            let np = g.mul(c, p);
            g.mul(np, da)
        }
        // d(if m { a } else { b }) = if m { da } else { db }   (a select, never a mask product)
        Node::Select(m, a, b) => {
            let (da, db) = (memo[&a], memo[&b]);
            g.select(m, da, db)
        }
        // Masks are not differentiated: they only appear as the condition of a select, which
        // `value_reachable` does not enter. (A placeholder keeps this total.)
        Node::Cmp(..) | Node::And(..) | Node::Or(..) | Node::Not(..) => g.constant(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::{Names, print};

    /// Builds `f` over x and one parameter `a`, differentiates, prints.
    fn check(f: impl Fn(&mut Graph, Id, Id) -> Id, var: Var, expected: &str) {
        let mut g = Graph::default();
        let x = g.input();
        let a = g.param(0);
        let y = f(&mut g, x, a);
        let dy = diff(&mut g, y, var);
        let params = ["a".to_string()];
        let names = Names {
            inputs: &["x".to_string()],
            params: &params,
        };
        assert_eq!(print(&g, &names, dy), expected);
    }

    #[rustfmt::skip]
    #[test]
    fn rules() {
        use Var::Param;
        const X: Var = Var::Input(0);
        let p = Param(0);
        check(|g, x, _| g.mul(x, x),                        X, "x + x");
        check(|g, x, a| g.mul(a, x),                        X, "a");
        check(|g, x, a| g.mul(a, x),                        p, "x");
        check(|g, x, _| g.unary(Un::Exp, x),                X, "exp(x)");
        check(|g, x, _| g.unary(Un::ExpM1, x),              X, "exp(x)");
        check(|g, x, _| g.unary(Un::Ln, x),                 X, "1.0 / x");
        check(|g, x, _| g.unary(Un::Ln1p, x),               X, "1.0 / (x + 1.0)");
        check(|g, x, _| g.unary(Un::Tanh, x),               X, "4.0 * (sigmoid(2.0 * x) * sigmoid(-(2.0 * x)))");
        check(|g, x, _| g.unary(Un::Sigmoid, x),            X, "sigmoid(x) * sigmoid(-x)");
        check(|g, x, _| g.unary(Un::Softplus, x),           X, "sigmoid(x)");
        check(|g, x, _| g.unary(Un::Abs, x),                X, "if x < 0.0 { -1.0 } else { 1.0 }");
        check(|g, x, _| g.unary(Un::Sqrt, x),               X, "1.0 / (sqrt(x) + sqrt(x))");
        check(|g, x, _| g.powi(x, 3),                       X, "3.0 * powi(x, 2)");
        check(|g, x, a| g.binary(Bin::Powf, x, a),         X, "a * powf(x, a - 1.0)");
        check(|g, x, a| g.binary(Bin::Powf, x, a),         p, "if abs(powf(x, a)) <= 0.0 { 0.0 } else { powf(x, a) * ln(x) }");
        check(|g, x, _| { let c = g.constant(2.5); g.binary(Bin::Powf, x, c) }, X, "2.5 * powf(x, 1.5)");
        check(|g, x, _| g.powi(x, i32::MIN),                X, "-2147483648.0 * (powi(x, -2147483648) / x)");
        check(|g, x, _| g.powi(x, i32::MIN + 1),            X, "-2147483647.0 * powi(x, -2147483648)");
        check(|g, x, _| g.unary(Un::Sin, x),                X, "cos(x)");
        check(|g, x, _| g.unary(Un::Cos, x),                X, "-sin(x)");
        check(|g, x, _| g.unary(Un::Erf, x),                X, "1.1283791670955126 * exp(-(x * x))");
        check(|g, x, _| g.unary(Un::Erfc, x),               X, "-1.1283791670955126 * exp(-(x * x))");
        check(|g, x, _| { let c = g.constant(1.0); g.div(c, x) }, X, "-(1.0 / x / x)");
        check(|g, x, a| { let s = g.mul(a, x); let s = g.unary(Un::Sigmoid, s); g.mul(x, s) },
              p, "x * (x * (sigmoid(x * a) * sigmoid(-(x * a))))");
        check(|g, x, a| { let z = g.constant(0.0); let m = g.cmp(Cmp::Gt, x, z);
                          let ax = g.mul(a, x); g.select(m, x, ax) },
              X, "if x > 0.0 { 1.0 } else { a }");
        check(|g, x, _| { let z = g.constant(0.0); g.binary(Bin::Max, x, z) },
              X, "if x > 0.0 { 1.0 } else { 0.0 }");
        check(|g, x, _| { let z = g.constant(0.0); g.binary(Bin::Min, x, z) },
              X, "if 0.0 < x { 0.0 } else { 1.0 }");
        // A clamp's derivative: max's tie, max(if x > -1 { 1 } else { 0 }, 0), folds into the
        // select, and min's nested selects merge (x < 1 and 1 < x cannot both hold).
        check(|g, x, _| { let lo = g.constant(-1.0); let hi = g.constant(1.0);
                          let m = g.binary(Bin::Max, x, lo); g.binary(Bin::Min, m, hi) },
              X, "if 1.0 < max(x, -1.0) { 0.0 } else { if x > -1.0 { 1.0 } else { 0.0 } }");
    }
}
