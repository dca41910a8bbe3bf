//! The arena IR: a flat `Vec` of nodes, children before parents, hash-consed.
//!
//! Hash-consing makes equal subexpressions one node, so the value, the derivative and the
//! partial derivatives share work (σ(x) computed once for swish and its two gradients).
//! Constructors simplify as they build (constant folding and the identities 0·a, 1·a, a + 0,
//! a − 0, a/1, −(−a), select(m, a, a)), so the differentiator can apply its rules naively.

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
}

/// Comparisons (they produce masks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// A node. Value nodes and mask nodes (`Cmp`, `And`, `Or`, `Not`) share the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A literal or folded constant, as f64 bits.
    Const(u64),
    /// A path to a constant (`std::f32::consts::PI`, `MY_CONST`): index into `Graph::named`.
    Named(usize),
    /// The input `x`.
    Input,
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
}

impl Default for Graph {
    fn default() -> Self {
        Graph {
            nodes: Vec::new(),
            spans: Vec::new(),
            named: Vec::new(),
            index: HashMap::new(),
            span: Span::call_site(),
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

    pub fn constant(&mut self, v: f64) -> Id {
        // One zero: −0 and +0 behave alike in every rule that folds them.
        let v = if v == 0.0 { 0.0 } else { v };
        self.intern(Node::Const(v.to_bits()))
    }

    pub fn input(&mut self) -> Id {
        self.intern(Node::Input)
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

    /// The constant value of `id`, if it is a constant.
    pub fn value(&self, id: Id) -> Option<f64> {
        match self.nodes[id] {
            Node::Const(b) => Some(f64::from_bits(b)),
            _ => None,
        }
    }

    fn is(&self, id: Id, v: f64) -> bool {
        self.value(id) == Some(v)
    }

    pub fn unary(&mut self, op: Un, a: Id) -> Id {
        if let Some(v) = self.value(a) {
            let r = match op {
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
                Un::Erf | Un::Erfc => f64::NAN,
            };
            if r.is_finite() {
                return self.constant(r);
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

    pub fn neg(&mut self, a: Id) -> Id {
        self.unary(Un::Neg, a)
    }

    pub fn binary(&mut self, op: Bin, a: Id, b: Id) -> Id {
        if let (Some(x), Some(y)) = (self.value(a), self.value(b)) {
            let r = match op {
                Bin::Add => x + y,
                Bin::Sub => x - y,
                Bin::Mul => x * y,
                Bin::Div => x / y,
                Bin::Max => x.max(y),
                Bin::Min => x.min(y),
            };
            if r.is_finite() {
                return self.constant(r);
            }
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
                // c₁·(c₂·p) = (c₁c₂)·p.
                if let Some(c1) = self.value(a)
                    && let Node::Binary(Bin::Mul, p, q) = self.nodes[b]
                    && let Some(c2) = self.value(p)
                {
                    let c = self.constant(c1 * c2);
                    return self.binary(Bin::Mul, c, q);
                }
                // Constants first, so the rule above finds them.
                if self.value(b).is_some() && self.value(a).is_none() {
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
        }
        // Add and Mul in a canonical order, so a·b and b·a are one node
        // (constants stay first for multiplication: they have no smaller ids by necessity).
        let (a, b) = match op {
            Bin::Add if a > b => (b, a),
            Bin::Mul if a > b && self.value(a).is_none() => (b, a),
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
                if let Some(v) = self.value(a) {
                    let r = v.powi(n);
                    if r.is_finite() {
                        return self.constant(r);
                    }
                }
                self.intern(Node::Powi(a, n))
            }
        }
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

/// The operands of a node.
pub fn children(n: Node) -> Vec<Id> {
    match n {
        Node::Const(_) | Node::Named(_) | Node::Input | Node::Param(_) => vec![],
        Node::Unary(_, a) | Node::Powi(a, _) | Node::Not(a) => vec![a],
        Node::Binary(_, a, b) | Node::Cmp(_, a, b) | Node::And(a, b) | Node::Or(a, b) => {
            vec![a, b]
        }
        Node::Select(m, a, b) => vec![m, a, b],
    }
}
