//! Which fix-ups a kernel body needs (see `actigen::formula::Guard`).
//!
//! Two questions, answered conservatively from the expression alone:
//! - **NaN propagation.** Arithmetic and the math functions turn a NaN input into a NaN
//!   output by themselves; a select, `max` or `min` may not (`if x > 0.0 { x } else { 0.0 }` is
//!   0 at NaN). If any root may drop a NaN, the runtime restores it afterwards.
//! - **NaN at ±inf.** A body can evaluate inf·0, inf − inf or inf/inf at x = ±inf although the
//!   function has a limit there (`x·σ(x)` at −inf). Each node gets a magnitude bound and a
//!   "may be zero" flag; an operation that may see those operand pairs marks the body, and the
//!   runtime re-evaluates such lanes at ±MAX.

use crate::ir::{Bin, Graph, Id, Node, Un};

/// Guard flags for the body computing `roots`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags {
    pub nan: bool,
    pub inf: bool,
}

pub fn flags(g: &Graph, roots: &[Id]) -> Flags {
    let prop = propagation(g);
    let live = g.reachable(roots);
    let facts = bounds(g);
    let inf = (0..g.nodes.len()).any(|id| live[id] && may_make_nan(g, &facts, id));
    Flags {
        nan: roots.iter().any(|&r| !prop[r]),
        inf,
    }
}

/// Per node: does a NaN input always give NaN here?
fn propagation(g: &Graph) -> Vec<bool> {
    let mut p = vec![false; g.nodes.len()];
    for id in 0..g.nodes.len() {
        p[id] = match g.nodes[id] {
            Node::Input => true,
            Node::Const(_) | Node::Named(_) | Node::Param(_) => false,
            Node::Unary(_, a) | Node::Powi(a, _) => p[a],
            Node::Binary(Bin::Max | Bin::Min, ..) => false,
            Node::Binary(_, a, b) => p[a] || p[b],
            Node::Select(_, a, b) => p[a] && p[b],
            Node::Cmp(..) | Node::And(..) | Node::Or(..) | Node::Not(..) => false,
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
            Node::Const(b) => {
                let v = f64::from_bits(b);
                Fact {
                    bound: v.abs(),
                    zero: v == 0.0,
                }
            }
            // Parameters and named constants are finite but of unknown size.
            Node::Param(_) | Node::Named(_) => Fact {
                bound: f32::MAX as f64,
                zero: true,
            },
            Node::Input => unknown,
            Node::Unary(op, a) => {
                let a = f[a];
                let bound = match op {
                    Un::Neg | Un::Abs => a.bound,
                    Un::Tanh | Un::Sigmoid | Un::Sin | Un::Cos | Un::Erf => 1.0,
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
            Node::Binary(op, a, b) => {
                let (a, b) = (f[a], f[b]);
                let bound = match op {
                    Bin::Add | Bin::Sub => a.bound + b.bound,
                    Bin::Mul => a.bound * b.bound,
                    Bin::Div => f64::INFINITY,
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
