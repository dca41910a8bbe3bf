//! Backward from the output: f′(x) written in terms of y = f(x) alone, so a framework can free x
//! (MXNet and PyTorch hand-write this for their built-ins; here it is derived).
//!
//! The result is an expression in which the graph's `Input` node stands for **y**. Rules, with
//! `c` independent of x and `h` the inner expression:
//! - x → 1;  c·h → c·D_h(y/c) (c·x → c, c·eˣ → y, c·(eˣ − 1) → y + c);  h ± c → D_h(y ∓ c);
//!   −h → D_h(−y)
//! - on x itself: eˣ → y, eˣ − 1 → y + 1, tanh → 1 − y², σ → y(1 − y),
//!   softplus → −exp_m1(−y), ln → e⁻ʸ, ln_1p → e⁻ʸ, √ → 1/(2y); x/(1 + |x|) → (1 − |y|)²
//! - `if x > c { A } else { B }` (and <, ≥, ≤) → `if y > t { D_A } else { D_B }`, t = f(c): valid
//!   when f is monotone across the branch point, which is checked: one side strictly
//!   increasing, the other non-decreasing, and the two meeting in order at c. A parameter factor
//!   must be declared non-negative with `#[range(0.0..)]`.
//!
//! Anything else (swish: x·σ(βx) is not monotone) has no such form, with the reason.

use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};
use std::cell::Cell;

/// The id of the input node (the lowerer creates it first); in a result it stands for y.
const X: Id = 0;

/// Declared parameter ranges `(lo, hi)`.
pub type Ranges<'a> = &'a [(f64, f64)];

/// The derivative in terms of the output, or why there is none.
pub fn from_output(
    g: &mut Graph,
    f: Id,
    ranges: Ranges<'_>,
    names: &[String],
) -> Result<Id, String> {
    let y = g.input();
    let ctx = Ctx {
        ranges,
        names,
        depth: Cell::new(0),
    };
    ctx.d(g, f, y)
}

/// How deep the inversion recurses before it gives up (with that reason): the forms it inverts
/// are short chains, and the bound keeps a formula of thousands of terms off the stack.
const MAX_DEPTH: usize = 128;

struct Ctx<'a> {
    ranges: Ranges<'a>,
    names: &'a [String],
    /// Current recursion depth of `d` and `increasing`.
    depth: Cell<usize>,
}

/// Whether `id` depends on x.
fn depends_on_x(g: &Graph, id: Id) -> bool {
    let live = g.reachable(&[id]);
    live[X] && matches!(g.nodes[X], Node::Input(0))
}

impl Ctx<'_> {
    /// Runs `step` one level deeper, or refuses past [`MAX_DEPTH`].
    fn nested<T>(&self, step: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
        if self.depth.get() >= MAX_DEPTH {
            return Err(format!(
                "the formula nests more than {MAX_DEPTH} operations deep around x"
            ));
        }
        self.depth.set(self.depth.get() + 1);
        let r = step();
        self.depth.set(self.depth.get() - 1);
        r
    }

    /// f′ in terms of `y`, the value of `f`.
    fn d(&self, g: &mut Graph, f: Id, y: Id) -> Result<Id, String> {
        self.nested(|| self.d_at(g, f, y))
    }

    fn d_at(&self, g: &mut Graph, f: Id, y: Id) -> Result<Id, String> {
        if !depends_on_x(g, f) {
            return Ok(g.constant(0.0));
        }
        let one = g.constant(1.0);
        match g.nodes[f] {
            Node::Input(_) => Ok(one),
            Node::Unary(Un::Neg, h) => {
                let ny = g.neg(y);
                let d = self.d(g, h, ny)?;
                Ok(g.neg(d))
            }
            Node::Binary(op @ (Bin::Add | Bin::Sub), a, b) => {
                let (h, c, h_first) = match (depends_on_x(g, a), depends_on_x(g, b)) {
                    (true, false) => (a, b, true),
                    (false, true) => (b, a, false),
                    _ => return Err("a sum of two terms that both depend on x".into()),
                };
                // y = h + c → h = y − c;  y = h − c → h = y + c;  y = c − h → h = c − y.
                match (op, h_first) {
                    (Bin::Add, _) => {
                        let yh = g.sub(y, c);
                        self.d(g, h, yh)
                    }
                    (Bin::Sub, true) => {
                        let yh = g.add(y, c);
                        self.d(g, h, yh)
                    }
                    _ => {
                        let yh = g.sub(c, y);
                        let d = self.d(g, h, yh)?;
                        Ok(g.neg(d))
                    }
                }
            }
            Node::Binary(Bin::Mul, a, b) => {
                let (c, h) = match (depends_on_x(g, a), depends_on_x(g, b)) {
                    (false, true) => (a, b),
                    (true, false) => (b, a),
                    _ => {
                        return Err("it multiplies two factors that both depend on x, so it is \
                                    not monotone in general and y does not determine x"
                            .into());
                    }
                };
                match g.nodes[h] {
                    // c·x → c;  c·eˣ → y;  c·(eˣ − 1) → y + c
                    Node::Input(_) => Ok(c),
                    Node::Unary(Un::Exp, X) => Ok(y),
                    Node::Unary(Un::ExpM1, X) => Ok(g.add(y, c)),
                    _ => {
                        let yh = g.div(y, c);
                        let d = self.d(g, h, yh)?;
                        Ok(g.mul(c, d))
                    }
                }
            }
            // softsign: x/(1 + |x|) → (1 − |y|)²
            Node::Binary(Bin::Div, X, b) if is_one_plus_abs_x(g, b) => {
                let ay = g.unary(Un::Abs, y);
                let s = g.sub(one, ay);
                Ok(g.mul(s, s))
            }
            Node::Unary(op, X) => Ok(match op {
                Un::Exp => y,
                Un::ExpM1 => g.add(y, one),
                Un::Tanh => {
                    let yy = g.mul(y, y);
                    g.sub(one, yy)
                }
                Un::Sigmoid => {
                    let c = g.sub(one, y);
                    g.mul(y, c)
                }
                Un::Softplus => {
                    let ny = g.neg(y);
                    let e = g.unary(Un::ExpM1, ny);
                    g.neg(e)
                }
                Un::Ln | Un::Ln1p => {
                    let ny = g.neg(y);
                    g.unary(Un::Exp, ny)
                }
                Un::Sqrt => {
                    let two_y = g.add(y, y);
                    g.div(one, two_y)
                }
                Un::Abs | Un::Neg => {
                    return Err("|x| forgets the sign of x".into());
                }
                Un::Sin | Un::Cos => {
                    return Err("sin and cos are periodic, so y does not determine x".into());
                }
                Un::Erf | Un::Erfc => {
                    return Err(
                        "erf′ = e^(−x²) needs x, and erf has no inverse in the language".into(),
                    );
                }
            }),
            Node::Select(m, a, b) => self.branch(g, m, a, b, y),
            _ => Err("the formula is not monotone in a form actigen can invert".into()),
        }
    }

    /// `if x op c { a } else { b }`.
    fn branch(&self, g: &mut Graph, m: Id, a: Id, b: Id, y: Id) -> Result<Id, String> {
        let (op, c) = match g.nodes[m] {
            Node::Cmp(op, X, q) if !depends_on_x(g, q) => (op, q),
            Node::Cmp(op, p, X) if !depends_on_x(g, p) => (op.swapped(), p),
            _ => {
                return Err("the condition is not a single comparison of x with a constant".into());
            }
        };
        // Which side must be strictly increasing, and where the threshold comes from.
        let (strict, loose, t_from) = match op {
            Cmp::Gt | Cmp::Lt => (a, b, b),
            Cmp::Ge | Cmp::Le => (b, a, a),
        };
        self.increasing(g, strict, true)?;
        self.increasing(g, loose, false)?;
        let at_c = |g: &mut Graph, h: Id| -> Result<f64, String> {
            let v = substitute(g, h, c);
            g.value(v)
                .ok_or_else(|| "the branches' values at the branch point are not constants".into())
        };
        let (va, vb) = (at_c(g, a)?, at_c(g, b)?);
        // Right-hand side (x > c or x ≥ c) must not lie below the left-hand side at c.
        let ordered = match op {
            Cmp::Gt | Cmp::Ge => va >= vb,
            Cmp::Lt | Cmp::Le => va <= vb,
        };
        if !ordered {
            return Err("the branches jump downwards at the branch point".into());
        }
        let t = substitute(g, t_from, c);
        self.robust_under_rounding(g, c, t, strict)?;
        let da = self.d(g, a, y)?;
        let db = self.d(g, b, y)?;
        let cond = g.cmp(op, y, t);
        Ok(g.select(cond, da, db))
    }

    /// Checks that `h` is non-decreasing in x (strictly, with `strict`).
    fn increasing(&self, g: &Graph, h: Id, strict: bool) -> Result<(), String> {
        self.nested(|| self.increasing_at(g, h, strict))
    }

    fn increasing_at(&self, g: &Graph, h: Id, strict: bool) -> Result<(), String> {
        if !depends_on_x(g, h) {
            return if strict {
                Err("a constant branch where x must determine y".into())
            } else {
                Ok(())
            };
        }
        match g.nodes[h] {
            Node::Input(_) => Ok(()),
            Node::Unary(
                Un::Exp
                | Un::ExpM1
                | Un::Tanh
                | Un::Sigmoid
                | Un::Softplus
                | Un::Ln
                | Un::Ln1p
                | Un::Sqrt,
                u,
            ) => self.increasing(g, u, strict),
            Node::Binary(Bin::Add | Bin::Sub, p, q) if !depends_on_x(g, q) => {
                self.increasing(g, p, strict)
            }
            Node::Binary(Bin::Add, p, q) if !depends_on_x(g, p) => self.increasing(g, q, strict),
            Node::Binary(Bin::Mul, p, q) => {
                let (c, u) = if depends_on_x(g, q) { (p, q) } else { (q, p) };
                if depends_on_x(g, c) {
                    return Err("a product of two factors that both depend on x".into());
                }
                self.non_negative(g, c, strict)?;
                self.increasing(g, u, strict)
            }
            _ => Err("a branch actigen cannot show to be increasing".into()),
        }
    }

    /// Checks that the branch test on y picks the same branch as the test on x for every
    /// float x, not only in exact arithmetic. Rounding can put outputs of both branches onto
    /// the threshold (`if x > 0.0 { 2.0*x + 1.0 } else { x.exp() }` gives y = 1 = t at
    /// x = 1e−9 and at x = 0), so the inversion is generated only where it is a sign test that
    /// rounding cannot fool: the branch point and the threshold are both 0, and the strict side
    /// maps every x of its side to a nonzero value of the same sign ([`Ctx::keeps_sign`]).
    /// The other side is non-decreasing with value 0 at 0, which faithfully rounded operations
    /// keep on its side of 0.
    fn robust_under_rounding(&self, g: &Graph, c: Id, t: Id, strict: Id) -> Result<(), String> {
        if g.value(c) != Some(0.0) || g.value(t) != Some(0.0) {
            return Err(
                "the branch point or its output is not 0, so rounding can put outputs of both \
                 branches on the threshold and y cannot tell which branch x was on"
                    .into(),
            );
        }
        self.keeps_sign(g, strict)
    }

    /// Checks that `h` maps every float x ≠ 0 to a nonzero value with the sign of x: x itself,
    /// `k·h` with a factor k ≥ 1 (a constant, or a parameter declared `#[range(1.0..)]`), and
    /// `exp_m1(h)`, `tanh(h)`, which return a tiny argument as itself and never 0.
    fn keeps_sign(&self, g: &Graph, h: Id) -> Result<(), String> {
        self.nested(|| match g.nodes[h] {
            Node::Input(_) => Ok(()),
            Node::Unary(Un::ExpM1 | Un::Tanh, u) => self.keeps_sign(g, u),
            Node::Binary(Bin::Mul, p, q) => {
                let (k, u) = if depends_on_x(g, q) { (p, q) } else { (q, p) };
                let at_least_one = match g.nodes[k] {
                    Node::Const(..) => g.consts(k).is_some_and(|(a, b)| a >= 1.0 && b >= 1.0),
                    Node::Param(i) => self.ranges[i].0 >= 1.0,
                    _ => false,
                };
                if !at_least_one {
                    return Err("a factor below 1 on the branch that must be strictly \
                                increasing can round a tiny output to 0, where y no longer \
                                tells the branches apart"
                        .into());
                }
                self.keeps_sign(g, u)
            }
            _ => Err(
                "the strictly increasing branch is not one whose outputs keep the sign of \
                      x under rounding (x, k·x with k ≥ 1, exp_m1, tanh)"
                    .into(),
            ),
        })
    }

    /// Checks `c ≥ 0` (or `> 0` with `strict`) for a constant, or a parameter's declared range.
    fn non_negative(&self, g: &Graph, c: Id, strict: bool) -> Result<(), String> {
        match g.nodes[c] {
            Node::Const(..) => {
                // The smaller of the two values (f64 and f32 kernels) decides.
                let (v64, v32) = g.consts(c).unwrap_or((f64::NAN, f32::NAN));
                let v = v64.min(v32 as f64);
                if v > 0.0 || (!strict && v == 0.0) {
                    Ok(())
                } else {
                    Err(format!("the factor {v} is not positive"))
                }
            }
            Node::Param(i) => {
                let lo = self.ranges[i].0;
                if lo > 0.0 || (!strict && lo >= 0.0) {
                    Ok(())
                } else {
                    let p = &self.names[i];
                    Err(format!(
                        "`{p}` may be negative, which makes the formula non-monotone: declare `#[range(0.0..)]` on `{p}`"
                    ))
                }
            }
            _ => Err("a factor whose sign actigen cannot see".into()),
        }
    }
}

/// `1 + |x|` in either order.
fn is_one_plus_abs_x(g: &Graph, id: Id) -> bool {
    let abs_x = |n: Id| g.nodes[n] == Node::Unary(Un::Abs, X);
    match g.nodes[id] {
        Node::Binary(Bin::Add, p, q) => {
            (g.value(p) == Some(1.0) && abs_x(q)) || (g.value(q) == Some(1.0) && abs_x(p))
        }
        _ => false,
    }
}

/// `h` with x replaced by `c` (rebuilt through the folding constructors).
pub fn substitute(g: &mut Graph, h: Id, c: Id) -> Id {
    let live = g.reachable(&[h]);
    let mut map: Vec<Id> = (0..g.nodes.len()).collect();
    map[X] = c;
    for id in 1..live.len() {
        if !live[id] {
            continue;
        }
        map[id] = match g.nodes[id] {
            Node::Unary(op, a) => g.unary(op, map[a]),
            Node::Binary(op, a, b) => g.binary(op, map[a], map[b]),
            Node::Powi(a, k) => g.powi(map[a], k),
            Node::Cmp(op, a, b) => g.cmp(op, map[a], map[b]),
            Node::And(a, b) => g.and(map[a], map[b]),
            Node::Or(a, b) => g.or(map[a], map[b]),
            Node::Not(a) => g.not(map[a]),
            Node::Select(m, a, b) => g.select(map[m], map[a], map[b]),
            _ => id,
        };
    }
    map[h]
}
