//! The arena IR: a flat `Vec` of nodes, children before parents, hash-consed.
//!
//! Hash-consing makes equal subexpressions one node, so the value, the derivative and the
//! partial derivatives share work (σ(x) computed once for swish and its two gradients).
//! Constructors simplify as they build (constant folding and the identities 0·a, 1·a, a + 0,
//! a − 0, a/1, −(−a), select(m, a, a)), so the differentiator can apply its rules naively.
//!
//! **Constants carry two values**, the one the formula has when evaluated in `f32` (as the
//! scalar reference function is) and the one it has in `f64` (as the f64 kernels are): folding
//! `(1.0 + 1e-8) - 1.0` gives 0 in f32 and 1e−8 in f64, and each kernel gets its own. Folding is
//! done in each precision with that precision's arithmetic, and only where both results are
//! finite: `1e30 * 1e30` stays a product, so the f32 kernel computes inf at run time exactly as
//! the scalar reference does, and the f64 kernel 1e60. The identities (0·a, 1·a, …) and the
//! rewrite rules see a constant only when both values agree ([`Graph::value`]).

use proc_macro2::Span;
use std::collections::HashMap;

/// Index of a node in the [`Graph`].
pub type Id = usize;

/// Unary operators on values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Un {
    Neg,
    Exp,
    ExpM1,
    Ln,
    Ln1p,
    Tanh,
    Abs,
    Sqrt,
    Sigmoid,
    Softplus,
    Sin,
    Cos,
    Erf,
    Erfc,
}

/// Binary operators on values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    /// `a.powf(e)`, `e` independent of the input (Rust's `f32::powf` semantics).
    Powf,
}

/// Comparisons (they produce masks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// The comparison with its operands swapped: `a op b` is `b op.swapped() a`.
    pub fn swapped(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
        }
    }

    /// The comparison that holds where this one fails, for ordered operands (`a < b` and
    /// `a >= b`; both fail on NaN).
    pub fn negated(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Ge,
            Cmp::Le => Cmp::Gt,
            Cmp::Gt => Cmp::Le,
            Cmp::Ge => Cmp::Lt,
        }
    }
}

/// A node. Value nodes and mask nodes (`Cmp`, `And`, `Or`, `Not`) share the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A literal or folded constant: its f64 bits and its f32 bits (see the module docs).
    Const(u64, u32),
    /// A path to a constant (`std::f32::consts::PI`, `MY_CONST`): index into `Graph::named`.
    Named(usize),
    /// Input `k` (the formula's leading arguments; `x` is input 0 of a one-input formula).
    Input(usize),
    /// Parameter `i`.
    Param(usize),
    Unary(Un, Id),
    Binary(Bin, Id, Id),
    Powi(Id, i32),
    Cmp(Cmp, Id, Id),
    And(Id, Id),
    Or(Id, Id),
    Not(Id),
    /// `if mask { a } else { b }`.
    Select(Id, Id, Id),
    /// The rounding error of `a op b` (`op` one of `Add`, `Sub`, `Mul`) in the precision the
    /// expression is evaluated in: `a op b − fl(a op b)`, exact. 0 in exact arithmetic. Built
    /// only by the `compensated` repair, for the low part of an argument.
    RoundErr(Bin, Id, Id),
    /// `op(u + lo)` (`op` one of `Exp`, `Sigmoid`, `Erfc`) for a correction `lo` below the
    /// rounding of `u` (first order in `lo`; a `lo` that is not within ±1, an overflow's NaN
    /// included, is taken as 0). Built only by the `compensated` repair.
    Shifted(Un, Id, Id),
}

/// The arena.
pub struct Graph {
    pub nodes: Vec<Node>,
    /// Where each node came from (the sub-expression that created it first).
    pub spans: Vec<Span>,
    /// Constant paths, printed as written.
    pub named: Vec<String>,
    index: HashMap<Node, Id>,
    /// Span given to nodes created next.
    pub span: Span,
    /// Whether the kernels compute a product with σ(u)·σ(−u) as one rounded
    /// `mul_sigmoid_product` (the `scaled_products` repair, chosen by the error analysis).
    pub scaled_products: bool,
}

impl Default for Graph {
    fn default() -> Self {
        Graph {
            nodes: Vec::new(),
            spans: Vec::new(),
            named: Vec::new(),
            index: HashMap::new(),
            span: Span::call_site(),
            scaled_products: false,
        }
    }
}

impl Graph {
    /// Interns `node` (no simplification).
    fn intern(&mut self, node: Node) -> Id {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(node);
        self.spans.push(self.span);
        self.index.insert(node, id);
        id
    }

    /// A constant whose f32 value is `v` rounded to f32.
    pub fn constant(&mut self, v: f64) -> Id {
        self.constant2(v, v as f32)
    }

    /// A constant with distinct f64 and f32 values (a folded expression).
    pub fn constant2(&mut self, v64: f64, v32: f32) -> Id {
        // One zero: −0 and +0 behave alike in every rule that folds them.
        let v64 = if v64 == 0.0 { 0.0 } else { v64 };
        let v32 = if v32 == 0.0 { 0.0 } else { v32 };
        self.intern(Node::Const(v64.to_bits(), v32.to_bits()))
    }

    /// Input 0.
    pub fn input(&mut self) -> Id {
        self.input_at(0)
    }

    /// Input `k`.
    pub fn input_at(&mut self, k: usize) -> Id {
        self.intern(Node::Input(k))
    }

    pub fn param(&mut self, i: usize) -> Id {
        self.intern(Node::Param(i))
    }

    pub fn named(&mut self, path: String) -> Id {
        let i = match self.named.iter().position(|p| *p == path) {
            Some(i) => i,
            None => {
                self.named.push(path);
                self.named.len() - 1
            }
        };
        self.intern(Node::Named(i))
    }

    /// Both values of `id` (f64, f32), if it is a constant.
    pub fn consts(&self, id: Id) -> Option<(f64, f32)> {
        match self.nodes[id] {
            Node::Const(b64, b32) => Some((f64::from_bits(b64), f32::from_bits(b32))),
            _ => None,
        }
    }

    /// The value of `id` if it is a constant whose f32 value is its f64 value rounded: the
    /// same number in both kernels, up to the rounding of the literal.
    pub fn value(&self, id: Id) -> Option<f64> {
        let (v64, v32) = self.consts(id)?;
        (v64 as f32 == v32 || (v64.is_nan() && v32.is_nan())).then_some(v64)
    }

    fn is(&self, id: Id, v: f64) -> bool {
        self.consts(id) == Some((v, v as f32))
    }

    pub fn unary(&mut self, op: Un, a: Id) -> Id {
        if let Some((v64, v32)) = self.consts(a) {
            // Exact operations in each precision; the others in f64, rounded once (the scalar
            // reference's f32 functions are within a few ULP of that, as the kernels are).
            let r32 = match op {
                Un::Neg => Some(-v32),
                Un::Abs => Some(v32.abs()),
                Un::Sqrt => Some(v32.sqrt()),
                _ => fold_unary(op, v32 as f64).map(|r| r as f32),
            };
            if let (Some(r64), Some(r32)) = (fold_unary(op, v64), r32)
                && r64.is_finite()
                && r32.is_finite()
            {
                return self.constant2(r64, r32);
            }
        }
        // tanh is odd (and so is our kernel, by construction): tanh(−u) = −tanh(u).
        if op == Un::Tanh
            && let Node::Unary(Un::Neg, u) = self.nodes[a]
        {
            let t = self.unary(Un::Tanh, u);
            return self.neg(t);
        }
        if op == Un::Neg {
            if let Node::Unary(Un::Neg, inner) = self.nodes[a] {
                return inner;
            }
            if let Node::Binary(Bin::Sub, p, q) = self.nodes[a] {
                return self.binary(Bin::Sub, q, p);
            }
        }
        self.intern(Node::Unary(op, a))
    }

    /// `op(a, b)` folded into the sides of a select between constants, where one operand is
    /// such a select, the other a constant, and both sides fold to constants.
    fn fold_into_select(&mut self, op: Bin, a: Id, b: Id) -> Option<Id> {
        let consts = |g: &Self, s: Id| match g.nodes[s] {
            Node::Select(m, p, q) if g.consts(p).is_some() && g.consts(q).is_some() => {
                Some((m, p, q))
            }
            _ => None,
        };
        let (m, p, q, left) = match (consts(self, a), self.consts(b), consts(self, b)) {
            (Some((m, p, q)), Some(_), _) => (m, p, q, true),
            (None, _, Some((m, p, q))) if self.consts(a).is_some() => (m, p, q, false),
            _ => return None,
        };
        let side = |g: &mut Self, k: Id| {
            if left {
                g.binary(op, k, b)
            } else {
                g.binary(op, a, k)
            }
        };
        let (p2, q2) = (side(self, p), side(self, q));
        (self.consts(p2).is_some() && self.consts(q2).is_some()).then(|| self.select(m, p2, q2))
    }

    pub fn neg(&mut self, a: Id) -> Id {
        self.unary(Un::Neg, a)
    }

    pub fn binary(&mut self, op: Bin, a: Id, b: Id) -> Id {
        if let (Some((x64, x32)), Some((y64, y32))) = (self.consts(a), self.consts(b)) {
            let (r64, r32) = (fold_binary(op, x64, y64), fold_binary(op, x32, y32));
            if r64.is_finite() && r32.is_finite() {
                return self.constant2(r64, r32);
            }
        }
        // op(select(m, k₁, k₂), k) = select(m, op(k₁, k), op(k₂, k)) for constants, either
        // side (where both fold): the tie of a clamp's derivative, max(if u > lo { 1 } else
        // { 0 }, 0), is then that select itself.
        if let Some(s) = self.fold_into_select(op, a, b) {
            return s;
        }
        match op {
            Bin::Add => {
                if self.is(a, 0.0) {
                    return b;
                }
                if self.is(b, 0.0) {
                    return a;
                }
                if let Node::Unary(Un::Neg, q) = self.nodes[b] {
                    return self.binary(Bin::Sub, a, q);
                }
                if let Node::Unary(Un::Neg, p) = self.nodes[a] {
                    return self.binary(Bin::Sub, b, p);
                }
            }
            Bin::Sub => {
                if self.is(b, 0.0) {
                    return a;
                }
                if self.is(a, 0.0) {
                    return self.neg(b);
                }
                if a == b {
                    return self.constant(0.0);
                }
                if let Node::Unary(Un::Neg, q) = self.nodes[b] {
                    return self.binary(Bin::Add, a, q);
                }
            }
            Bin::Mul => {
                if self.is(a, 0.0) || self.is(b, 0.0) {
                    return self.constant(0.0);
                }
                if self.is(a, 1.0) {
                    return b;
                }
                if self.is(b, 1.0) {
                    return a;
                }
                if self.is(a, -1.0) {
                    return self.neg(b);
                }
                if self.is(b, -1.0) {
                    return self.neg(a);
                }
                if let (Node::Unary(Un::Neg, p), Node::Unary(Un::Neg, q)) =
                    (self.nodes[a], self.nodes[b])
                {
                    return self.binary(Bin::Mul, p, q);
                }
                // Pull negations out so they cancel or fold: (−p)·b = −(p·b).
                if let Node::Unary(Un::Neg, p) = self.nodes[a] {
                    let m = self.binary(Bin::Mul, p, b);
                    return self.neg(m);
                }
                if let Node::Unary(Un::Neg, q) = self.nodes[b] {
                    let m = self.binary(Bin::Mul, a, q);
                    return self.neg(m);
                }
                // c₁·(c₂·p) = (c₁c₂)·p, where c₁c₂ is normal in both precisions (a product that
                // overflows or underflows would change the value, not only its rounding).
                if let Some((c1_64, c1_32)) = self.consts(a)
                    && let Node::Binary(Bin::Mul, p, q) = self.nodes[b]
                    && let Some((c2_64, c2_32)) = self.consts(p)
                    && (c1_64 * c2_64).is_normal()
                    && (c1_32 * c2_32).is_normal()
                {
                    let c = self.constant2(c1_64 * c2_64, c1_32 * c2_32);
                    return self.binary(Bin::Mul, c, q);
                }
                // (2ʲ·p)·(2ᵏ·σ(u)) = 2ʲ⁺ᵏ·(p·σ(u)): the same value where neither scaled
                // factor under- or overflows, and the exact one where one does (GELU-tanh's
                // ½x·(2σ(u)), whose 2σ(u) is subnormal a little above the result's underflow,
                // becomes x·σ(u), which the forward kernel rounds once). (Only beside a
                // sigmoid, the product the kernels fuse: elsewhere the regrouping moved
                // the log-cosh loss's derivative at subnormal x by 2 subnormal steps.)
                let sigmoid = |g: &Self, id: Id| matches!(g.nodes[id], Node::Unary(Un::Sigmoid, _));
                if let (Node::Binary(Bin::Mul, c1, p), Node::Binary(Bin::Mul, c2, q)) =
                    (self.nodes[a], self.nodes[b])
                    && self.pow2(c1)
                    && self.pow2(c2)
                    && (sigmoid(self, p) || sigmoid(self, q))
                {
                    let (v1, v2) = (self.consts(c1), self.consts(c2));
                    if let (Some((a64, a32)), Some((b64, b32))) = (v1, v2)
                        && (a64 * b64).is_normal()
                        && (a32 * b32).is_normal()
                    {
                        let c = self.constant2(a64 * b64, a32 * b32);
                        let pq = self.binary(Bin::Mul, p, q);
                        return self.binary(Bin::Mul, c, pq);
                    }
                }
                // Constants first, so the rule above finds them.
                if self.consts(b).is_some() && self.consts(a).is_none() {
                    return self.binary(Bin::Mul, b, a);
                }
            }
            Bin::Div => {
                if self.is(b, 1.0) {
                    return a;
                }
                if self.is(a, 0.0) {
                    return self.constant(0.0);
                }
                if let Node::Unary(Un::Neg, p) = self.nodes[a] {
                    let d = self.binary(Bin::Div, p, b);
                    return self.neg(d);
                }
            }
            Bin::Max | Bin::Min => {
                if a == b {
                    return a;
                }
            }
            // a¹ = a, a⁰ = 1 (NaN included, as `f32::powf`).
            Bin::Powf => {
                if self.is(b, 1.0) {
                    return a;
                }
                if self.is(b, 0.0) {
                    return self.constant(1.0);
                }
            }
        }
        // Add and Mul in a canonical order, so a·b and b·a are one node
        // (constants stay first for multiplication: they have no smaller ids by necessity).
        let (a, b) = match op {
            Bin::Add if a > b => (b, a),
            Bin::Mul if a > b && self.consts(a).is_none() => (b, a),
            _ => (a, b),
        };
        self.intern(Node::Binary(op, a, b))
    }

    pub fn add(&mut self, a: Id, b: Id) -> Id {
        self.binary(Bin::Add, a, b)
    }
    pub fn sub(&mut self, a: Id, b: Id) -> Id {
        self.binary(Bin::Sub, a, b)
    }
    pub fn mul(&mut self, a: Id, b: Id) -> Id {
        self.binary(Bin::Mul, a, b)
    }
    pub fn div(&mut self, a: Id, b: Id) -> Id {
        self.binary(Bin::Div, a, b)
    }

    pub fn powi(&mut self, a: Id, n: i32) -> Id {
        match n {
            0 => self.constant(1.0),
            1 => a,
            _ => {
                if let Some((v64, v32)) = self.consts(a) {
                    // `powi` is the same repeated multiplication here as in the kernels.
                    let (r64, r32) = (v64.powi(n), v32.powi(n));
                    if r64.is_finite() && r32.is_finite() {
                        return self.constant2(r64, r32);
                    }
                }
                self.intern(Node::Powi(a, n))
            }
        }
    }

    /// Whether `id` is a constant 0 or ±2ᵏ in both precisions.
    fn pow2(&self, id: Id) -> bool {
        self.consts(id).is_some_and(|(v64, v32)| {
            let p = |v: f64| v == 0.0 || (v.is_finite() && v.abs().log2().fract() == 0.0);
            p(v64) && p(v32 as f64)
        })
    }

    /// `a op b − fl(a op b)` (see [`Node::RoundErr`]); 0 where the operation is exact for
    /// every input: a product with 0 or a power of two, a sum with 0.
    pub fn round_err(&mut self, op: Bin, a: Id, b: Id) -> Id {
        let exact = match op {
            Bin::Mul => self.pow2(a) || self.pow2(b),
            Bin::Add | Bin::Sub => self.is(a, 0.0) || self.is(b, 0.0),
            _ => false,
        };
        if exact || (self.consts(a).is_some() && self.consts(b).is_some()) {
            return self.constant(0.0);
        }
        self.intern(Node::RoundErr(op, a, b))
    }

    /// `op(u + lo)` (see [`Node::Shifted`]); `op(u)` where `lo` is 0.
    pub fn shifted(&mut self, op: Un, u: Id, lo: Id) -> Id {
        if self.is(lo, 0.0) {
            return self.unary(op, u);
        }
        self.intern(Node::Shifted(op, u, lo))
    }

    pub fn cmp(&mut self, op: Cmp, a: Id, b: Id) -> Id {
        self.intern(Node::Cmp(op, a, b))
    }
    pub fn and(&mut self, a: Id, b: Id) -> Id {
        self.intern(Node::And(a, b))
    }
    pub fn or(&mut self, a: Id, b: Id) -> Id {
        self.intern(Node::Or(a, b))
    }
    pub fn not(&mut self, a: Id) -> Id {
        if let Node::Not(inner) = self.nodes[a] {
            return inner;
        }
        self.intern(Node::Not(a))
    }

    pub fn select(&mut self, m: Id, a: Id, b: Id) -> Id {
        if a == b {
            return a;
        }
        // Where m and n cannot both hold: select(m, a, select(n, c, a)) = select(n, c, a) (m
        // holding means n fails), and select(m, select(n, a, b), b) = b. The derivative of
        // min(u, k), `if u < k { du } else if k < u { 0 } else { tie }`, nests them so.
        let nested = |side: Id, other: Id| match self.nodes[side] {
            Node::Select(n, _, d) => d == other && disjoint(self, m, n),
            _ => false,
        };
        if nested(b, a) || nested(a, b) {
            return b;
        }
        self.intern(Node::Select(m, a, b))
    }

    /// The nodes reachable from `roots`, as a mask over the arena.
    pub fn reachable(&self, roots: &[Id]) -> Vec<bool> {
        let mut live = vec![false; self.nodes.len()];
        for &r in roots {
            live[r] = true;
        }
        for id in (0..self.nodes.len()).rev() {
            if live[id] {
                for c in children(self.nodes[id]) {
                    live[c] = true;
                }
            }
        }
        live
    }
}

/// Whether the comparisons `m` and `n` cannot both hold: the same operands (in either order)
/// compared in opposite directions, at least one strictly (u < k and k < u, u ≤ k and u > k).
fn disjoint(g: &Graph, m: Id, n: Id) -> bool {
    let (Node::Cmp(p, a, b), Node::Cmp(q, c, d)) = (g.nodes[m], g.nodes[n]) else {
        return false;
    };
    let q = if (a, b) == (c, d) {
        q
    } else if (a, b) == (d, c) {
        q.swapped()
    } else {
        return false;
    };
    matches!(
        (p, q),
        (Cmp::Lt, Cmp::Gt | Cmp::Ge)
            | (Cmp::Le, Cmp::Gt)
            | (Cmp::Gt, Cmp::Lt | Cmp::Le)
            | (Cmp::Ge, Cmp::Lt)
    )
}

/// `op` applied to a constant in f64; `None` where the compiler leaves it to the kernel.
pub fn fold_unary(op: Un, v: f64) -> Option<f64> {
    Some(match op {
        Un::Neg => -v,
        Un::Exp => v.exp(),
        Un::ExpM1 => v.exp_m1(),
        Un::Ln => v.ln(),
        Un::Ln1p => v.ln_1p(),
        Un::Tanh => v.tanh(),
        Un::Abs => v.abs(),
        Un::Sqrt => v.sqrt(),
        Un::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        Un::Softplus => v.max(0.0) + (-v.abs()).exp().ln_1p(),
        Un::Sin => v.sin(),
        Un::Cos => v.cos(),
        // No erf or erfc in std: left to the kernel.
        Un::Erf | Un::Erfc => return None,
    })
}

/// `op` applied to two constants in one precision (f32 for the f32 value, f64 for the other):
/// IEEE arithmetic, so folding gives what the scalar reference computes.
fn fold_binary<T: Float>(op: Bin, x: T, y: T) -> T {
    match op {
        Bin::Add => x + y,
        Bin::Sub => x - y,
        Bin::Mul => x * y,
        Bin::Div => x / y,
        // As the kernels' `max_num`/`min_num` on non-NaN operands.
        Bin::Max => x.max_of(y),
        Bin::Min => x.min_of(y),
        Bin::Powf => x.powf_of(y),
    }
}

/// The two float types constants are folded in.
trait Float:
    Copy
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
{
    fn max_of(self, o: Self) -> Self;
    fn min_of(self, o: Self) -> Self;
    fn powf_of(self, o: Self) -> Self;
}
macro_rules! float_impl {
    ($t:ty) => {
        impl Float for $t {
            fn max_of(self, o: Self) -> Self {
                self.max(o)
            }
            fn min_of(self, o: Self) -> Self {
                self.min(o)
            }
            fn powf_of(self, o: Self) -> Self {
                self.powf(o)
            }
        }
    };
}
float_impl!(f32);
float_impl!(f64);

/// The operands of a node.
pub fn children(n: Node) -> Vec<Id> {
    match n {
        Node::Const(..) | Node::Named(_) | Node::Input(_) | Node::Param(_) => vec![],
        Node::Unary(_, a) | Node::Powi(a, _) | Node::Not(a) => vec![a],
        Node::Binary(_, a, b)
        | Node::Cmp(_, a, b)
        | Node::And(a, b)
        | Node::Or(a, b)
        | Node::RoundErr(_, a, b)
        | Node::Shifted(_, a, b) => vec![a, b],
        Node::Select(m, a, b) => vec![m, a, b],
    }
}
