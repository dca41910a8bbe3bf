//! Which fix-ups a kernel body needs (see `actigen::__private::Guard`).
//!
//! Two questions, answered conservatively from the expression alone:
//! - **NaN propagation.** Arithmetic and the math functions turn a NaN input into a NaN
//!   output by themselves; a select, `max` or `min` may not (`if x > 0.0 { x } else { 0.0 }` is
//!   0 at NaN). If any root may drop a NaN, the runtime restores it afterwards.
//! - **NaN at ±inf.** A body can evaluate inf·0, inf − inf or inf/inf at x = ±inf although the
//!   function has a limit there (`x·σ(x)` at −inf). Each node gets a magnitude bound and a
//!   "may be zero" flag; an operation that may see those operand pairs marks the body, and the
//!   runtime re-evaluates such lanes at ±MAX. The one exception is `c·x · σ(k·x)` (swish and
//!   its scaled forms), emitted as `linear_mul_sigmoid`, which returns the limits itself: in an
//!   experiment, disabling the guard's check took swish's forward kernel from 0.168 to 0.145
//!   ns/element (`bench --acts swish`, AVX-512).

use std::collections::HashMap;

use crate::ir::{Bin, Graph, Id, Node, Un};

/// Guard flags for the body computing `roots`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags {
    pub nan: bool,
    pub inf: bool,
}

/// Guard flags for the body computing `roots`. `absorbing` maps each node emitted as
/// `linear_mul_sigmoid(a, u)` (see [`linear_mul_sigmoid`]) to its operand `a`: such a node gives
/// the limit at x = ±inf by itself, so only a NaN in `a` reaches its result.
pub fn flags(g: &Graph, roots: &[Id], absorbing: &HashMap<Id, Id>) -> Flags {
    // Every input of the graph (a formula's inputs are all interned, used or not).
    let props: Vec<Vec<bool>> = g
        .nodes
        .iter()
        .filter_map(|n| match *n {
            Node::Input(k) => Some(propagation(g, k)),
            _ => None,
        })
        .collect();
    let facts = bounds(g);
    // Per node: may it be NaN at x = ±inf although no input is NaN? (Conservatively, any
    // operand that may be NaN makes the node NaN.)
    let mut nan_at_inf = vec![false; g.nodes.len()];
    for id in 0..g.nodes.len() {
        nan_at_inf[id] = match absorbing.get(&id) {
            Some(&a) => nan_at_inf[a],
            None => {
                may_make_nan(g, &facts, id)
                    || crate::ir::children(g.nodes[id])
                        .into_iter()
                        .any(|c| nan_at_inf[c])
            }
        };
    }
    Flags {
        nan: props.iter().any(|p| roots.iter().any(|&r| !p[r])),
        inf: roots.iter().any(|&r| nan_at_inf[r]),
    }
}

/// Whether `a·σ(u)` may be emitted as `linear_mul_sigmoid(a, u)`: `a = c·x` with a nonzero
/// constant `c`, and `u = k·x` with `k` any constant or parameter. At x = ±inf, `a` is then ±inf
/// and `u` is ±inf, or NaN exactly when k = 0 (where u ≡ 0 for finite x), which are the cases
/// the runtime function resolves to the limit.
/// Both must scale the same input: with two inputs, `a` could be ±inf where `u` is finite.
pub fn linear_mul_sigmoid(g: &Graph, a: Id, u: Id) -> bool {
    match (scaled_input(g, a, false), scaled_input(g, u, true)) {
        (Some(i), Some(j)) => i == j,
        _ => false,
    }
}

/// `Some(k)` if `id` is `c·xₖ` (through negations and products with constants); `c` may be
/// zero, a parameter or a named constant only with `any_factor`.
fn scaled_input(g: &Graph, id: Id, any_factor: bool) -> Option<usize> {
    let factor = |k: Id| match g.nodes[k] {
        Node::Const(..) => any_factor || g.consts(k).is_some_and(|(a, b)| a != 0.0 && b != 0.0),
        Node::Param(_) | Node::Named(_) => any_factor,
        _ => false,
    };
    match g.nodes[id] {
        Node::Input(k) => Some(k),
        Node::Unary(Un::Neg, c) => scaled_input(g, c, any_factor),
        Node::Binary(Bin::Mul, k, c) if factor(k) => scaled_input(g, c, any_factor),
        Node::Binary(Bin::Mul, c, k) if factor(k) => scaled_input(g, c, any_factor),
        _ => None,
    }
}

/// Per node: does a NaN in input `k` always give NaN here?
///
/// A select takes the branch its condition picks when the input is NaN, where that is known:
/// every comparison (`<`, `<=`, `>`, `>=`, on every path) is false when an operand is NaN, so
/// `if x > 0.0 { 1.0 } else { α·eˣ }` is `α·eˣ` at NaN, which is NaN (elu's derivative: no
/// fix-up needed), while `if x > 0.0 { x } else { 0.0 }` is 0 there (relu: fixed up).
fn propagation(g: &Graph, k: usize) -> Vec<bool> {
    let mut p = vec![false; g.nodes.len()];
    // Per mask node: its value whenever input k is NaN, where the expression decides it.
    let mut at_nan: Vec<Option<bool>> = vec![None; g.nodes.len()];
    for id in 0..g.nodes.len() {
        p[id] = match g.nodes[id] {
            Node::Input(j) => j == k,
            Node::Const(..) | Node::Named(_) | Node::Param(_) => false,
            // (A shift's correction is taken as 0 where it is NaN.)
            Node::Unary(_, a) | Node::Powi(a, _) | Node::Shifted(_, a, _) => p[a],
            Node::RoundErr(_, a, b) => p[a] || p[b],
            Node::Binary(Bin::Max | Bin::Min, ..) => false,
            Node::Binary(_, a, b) => p[a] || p[b],
            Node::Select(m, a, b) => match at_nan[m] {
                Some(true) => p[a],
                Some(false) => p[b],
                None => p[a] && p[b],
            },
            Node::Cmp(..) | Node::And(..) | Node::Or(..) | Node::Not(..) => false,
        };
        at_nan[id] = match g.nodes[id] {
            Node::Cmp(_, a, b) if p[a] || p[b] => Some(false),
            Node::Not(m) => at_nan[m].map(|v| !v),
            Node::And(a, b) => match (at_nan[a], at_nan[b]) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Node::Or(a, b) => match (at_nan[a], at_nan[b]) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            _ => None,
        };
    }
    p
}

/// A magnitude bound (inf when unbounded) and whether the value may be zero.
#[derive(Clone, Copy)]
struct Fact {
    bound: f64,
    zero: bool,
}

/// Past f32::MAX a bound is as good as infinite: the value may overflow.
fn clamp(b: f64) -> f64 {
    if b.is_nan() || b > f32::MAX as f64 {
        f64::INFINITY
    } else {
        b
    }
}

fn bounds(g: &Graph) -> Vec<Fact> {
    let unknown = Fact {
        bound: f64::INFINITY,
        zero: true,
    };
    let mut f: Vec<Fact> = Vec::with_capacity(g.nodes.len());
    for id in 0..g.nodes.len() {
        let fact = match g.nodes[id] {
            Node::Const(b64, b32) => {
                let (v64, v32) = (f64::from_bits(b64), f32::from_bits(b32));
                Fact {
                    bound: clamp(v64.abs().max(v32.abs() as f64)),
                    zero: v64 == 0.0 || v32 == 0.0,
                }
            }
            // Parameters and named constants are finite but of unknown size.
            Node::Param(_) | Node::Named(_) => Fact {
                bound: f32::MAX as f64,
                zero: true,
            },
            Node::Input(_) => unknown,
            Node::Unary(op, a) | Node::Shifted(op, a, _) => {
                let mut a = f[a];
                if matches!(g.nodes[id], Node::Shifted(..)) {
                    // The correction is within ±1.
                    a.bound += 1.0;
                }
                let bound = match op {
                    Un::Neg | Un::Abs => a.bound,
                    Un::Tanh | Un::Sigmoid | Un::Sin | Un::Cos | Un::Erf => 1.0,
                    Un::Erfc => 2.0,
                    Un::Exp => a.bound.exp(),
                    Un::ExpM1 => a.bound.exp(),
                    Un::Softplus => a.bound + 1.0,
                    Un::Sqrt => a.bound.sqrt(),
                    Un::Ln | Un::Ln1p => f64::INFINITY,
                };
                Fact {
                    bound: clamp(bound),
                    zero: true,
                }
            }
            Node::Powi(a, n) => Fact {
                bound: if n > 0 {
                    clamp(f[a].bound.powi(n))
                } else {
                    f64::INFINITY
                },
                zero: true,
            },
            // (A rounding error is at most its operation's result: bounded as that.)
            Node::Binary(op, a, b) | Node::RoundErr(op, a, b) => {
                let (a, b) = (f[a], f[b]);
                let bound = match op {
                    Bin::Add | Bin::Sub => a.bound + b.bound,
                    Bin::Mul => a.bound * b.bound,
                    Bin::Div | Bin::Powf => f64::INFINITY,
                    Bin::Max | Bin::Min => a.bound.max(b.bound),
                };
                Fact {
                    bound: clamp(bound),
                    zero: true,
                }
            }
            Node::Select(_, a, b) => Fact {
                bound: f[a].bound.max(f[b].bound),
                zero: f[a].zero || f[b].zero,
            },
            Node::Cmp(..) | Node::And(..) | Node::Or(..) | Node::Not(..) => unknown,
        };
        f.push(fact);
    }
    f
}

fn may_make_nan(g: &Graph, f: &[Fact], id: Id) -> bool {
    let inf = |x: Id| f[x].bound.is_infinite();
    match g.nodes[id] {
        // inf − inf
        Node::Binary(Bin::Add | Bin::Sub, a, b) => inf(a) && inf(b),
        // inf · 0
        Node::Binary(Bin::Mul, a, b) => (inf(a) && f[b].zero) || (inf(b) && f[a].zero),
        // inf/inf, 0/0
        Node::Binary(Bin::Div, a, b) => (inf(a) && inf(b)) || (f[a].zero && f[b].zero),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Cmp;

    /// `if cond(x) { a } else { b }` over one input, with `b` NaN-propagating or not.
    fn select(cond: impl Fn(&mut Graph, Id) -> Id, a_is_x: bool, b_is_x: bool) -> bool {
        let mut g = Graph::default();
        let x = g.input();
        let zero = g.constant(0.0);
        let one = g.constant(1.0);
        let m = cond(&mut g, x);
        let a = if a_is_x { g.unary(Un::Exp, x) } else { one };
        let b = if b_is_x { g.unary(Un::Exp, x) } else { zero };
        let r = g.select(m, a, b);
        propagation(&g, 0)[r]
    }

    #[test]
    fn a_select_propagates_nan_through_the_branch_a_nan_input_takes() {
        let gt = |g: &mut Graph, x: Id| {
            let zero = g.constant(0.0);
            g.cmp(Cmp::Gt, x, zero)
        };
        // Comparisons with a NaN operand are false: the else branch is taken.
        assert!(select(gt, false, true));
        assert!(!select(gt, true, false));
        assert!(select(gt, true, true));
        assert!(!select(gt, false, false));
        // Negated: the then branch.
        let not_gt = |g: &mut Graph, x: Id| {
            let m = gt(g, x);
            g.not(m)
        };
        assert!(select(not_gt, true, false));
        assert!(!select(not_gt, false, true));
        // And / Or of a known and an unknown condition (a parameter's comparison).
        let with_param = |or: bool| {
            move |g: &mut Graph, x: Id| {
                let m = gt(g, x);
                let p = g.param(0);
                let zero = g.constant(0.0);
                let q = g.cmp(Cmp::Lt, p, zero);
                if or { g.or(m, q) } else { g.and(m, q) }
            }
        };
        assert!(select(with_param(false), false, true));
        assert!(!select(with_param(false), true, false));
        // x > 0 || p < 0 at NaN is p < 0: unknown, both branches must propagate.
        assert!(!select(with_param(true), false, true));
        assert!(!select(with_param(true), true, false));
        assert!(select(with_param(true), true, true));
        // A condition that does not depend on the input decides nothing.
        let on_param = |g: &mut Graph, _x: Id| {
            let p = g.param(0);
            let zero = g.constant(0.0);
            g.cmp(Cmp::Gt, p, zero)
        };
        assert!(!select(on_param, false, true));
        assert!(select(on_param, true, true));
    }
}
