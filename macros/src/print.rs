//! Prints IR expressions in Rust-like infix form, for the generated docs and for the unit
//! tests of the differentiator (`"x * sigmoid(x)"` is easier to check than a node dump).
//!
//! The IR is a DAG; printed as a tree, a subexpression shared k ways is printed k times, and a
//! chain of `let a2 = a1 * a1 + a1;` doubles the text at every step (twelve of them once made
//! a 620 MB rmeta). So a shared subexpression of some size gets a `let`, and so does any node
//! nested too deep (which also bounds this printer's recursion): the printed text is linear in
//! the DAG, `{ let t1 = …; t1 * t1 + t1 }`. Small formulas print as before, without `let`s.

use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};

/// Names for the inputs and the parameters.
pub struct Names<'a> {
    pub inputs: &'a [String],
    pub params: &'a [String],
}

/// Operator precedence, loosest first.
fn prec(n: Node) -> u8 {
    match n {
        Node::Select(..) => 0,
        Node::Or(..) => 1,
        Node::And(..) => 2,
        Node::Cmp(..) => 3,
        Node::Binary(Bin::Add | Bin::Sub, ..) => 4,
        Node::Binary(Bin::Mul | Bin::Div, ..) => 5,
        Node::Unary(Un::Neg, _) | Node::Not(_) => 6,
        Node::Const(b, _) if f64::from_bits(b) < 0.0 => 6,
        _ => 7,
    }
}

fn number(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// A shared subexpression gets a `let` once its printed form has this many nodes.
const SHARED_MIN_SIZE: usize = 12;
/// A node nested deeper than this (counting up to the nearest `let`) gets a `let`.
const MAX_DEPTH: usize = 40;

/// `id` printed, with `let`s for large shared and deep subexpressions (see the module docs).
pub fn print(g: &Graph, names: &Names<'_>, id: Id) -> String {
    let live = g.reachable(&[id]);
    let mut uses = vec![0usize; id + 1];
    for n in (0..=id).filter(|&n| live[n]) {
        for c in crate::ir::children(g.nodes[n]) {
            uses[c] += 1;
        }
    }
    // In arena order (operands first): the printed size and depth of each node, counting a
    // bound operand as one name, and whether the node is bound.
    let mut size = vec![0usize; id + 1];
    let mut depth = vec![0usize; id + 1];
    let mut bound: Vec<Option<String>> = vec![None; id + 1];
    let mut next = 0;
    let mut lets = Vec::new();
    for n in (0..=id).filter(|&n| live[n]) {
        let children = crate::ir::children(g.nodes[n]);
        let (mut s, mut d) = (1usize, 1usize);
        for &c in &children {
            let (cs, cd) = if bound[c].is_some() {
                (1, 0)
            } else {
                (size[c], depth[c])
            };
            s = s.saturating_add(cs);
            d = d.max(cd + 1);
        }
        size[n] = s;
        depth[n] = d;
        let shared = uses[n] >= 2 && s >= SHARED_MIN_SIZE;
        if n != id && !children.is_empty() && (shared || d > MAX_DEPTH) {
            let name = loop {
                next += 1;
                let t = format!("t{next}");
                if !names.inputs.contains(&t) && !names.params.contains(&t) {
                    break t;
                }
            };
            lets.push(format!("let {name} = {};", expr(g, names, &bound, n)));
            bound[n] = Some(name);
        }
    }
    let value = expr(g, names, &bound, id);
    if lets.is_empty() {
        value
    } else {
        format!("{{ {} {value} }}", lets.join(" "))
    }
}

/// `id` printed as one expression, with the names of bound operands.
fn expr(g: &Graph, names: &Names<'_>, bound: &[Option<String>], id: Id) -> String {
    let node = g.nodes[id];
    let p = prec(node);
    let print = |c: Id| match &bound[c] {
        Some(name) => name.clone(),
        None => expr(g, names, bound, c),
    };
    let prec_of = |c: Id| {
        if bound[c].is_some() {
            7
        } else {
            prec(g.nodes[c])
        }
    };
    // Operand printed, parenthesised if it binds looser (or equally, on the right).
    let sub = |c: Id, right: bool| {
        let s = print(c);
        let cp = prec_of(c);
        // Float arithmetic is not associative: keep the tree's grouping on the right.
        let tight_right = right && matches!(node, Node::Binary(..)) && cp == p;
        if cp < p || tight_right || (cp == p && matches!(node, Node::Unary(Un::Neg, _))) {
            format!("({s})")
        } else {
            s
        }
    };
    match node {
        Node::Const(b, _) => number(f64::from_bits(b)),
        Node::Named(i) => g.named[i].clone(),
        Node::Input(k) => names.inputs[k].clone(),
        Node::Param(i) => names.params[i].clone(),
        Node::Unary(Un::Neg, a) => format!("-{}", sub(a, false)),
        Node::Unary(op, a) => format!("{}({})", function(op), print(a)),
        // op(u + lo), lo below u's rounding.
        Node::Shifted(op, u, lo) => {
            format!("{}_shifted({}, {})", function(op), print(u), print(lo))
        }
        // a op b − fl(a op b).
        Node::RoundErr(op, a, b) => {
            let f = match op {
                Bin::Add => "add_err",
                Bin::Sub => "sub_err",
                _ => "mul_err",
            };
            format!("{f}({}, {})", print(a), print(b))
        }
        Node::Binary(Bin::Max, a, b) => {
            format!("max({}, {})", print(a), print(b))
        }
        Node::Binary(Bin::Min, a, b) => {
            format!("min({}, {})", print(a), print(b))
        }
        Node::Binary(Bin::Powf, a, b) => {
            format!("powf({}, {})", print(a), print(b))
        }
        Node::Binary(op, a, b) => {
            let o = match op {
                Bin::Add => "+",
                Bin::Sub => "-",
                Bin::Mul => "*",
                Bin::Div => "/",
                Bin::Max | Bin::Min | Bin::Powf => unreachable!("handled above"),
            };
            format!("{} {o} {}", sub(a, false), sub(b, true))
        }
        Node::Powi(a, n) => format!("powi({}, {n})", print(a)),
        Node::Cmp(op, a, b) => {
            let o = match op {
                Cmp::Lt => "<",
                Cmp::Le => "<=",
                Cmp::Gt => ">",
                Cmp::Ge => ">=",
            };
            format!("{} {o} {}", sub(a, false), sub(b, true))
        }
        Node::And(a, b) => format!("{} && {}", sub(a, false), sub(b, true)),
        Node::Or(a, b) => format!("{} || {}", sub(a, false), sub(b, true)),
        Node::Not(a) => format!("!{}", sub(a, false)),
        Node::Select(m, a, b) => {
            format!("if {} {{ {} }} else {{ {} }}", print(m), print(a), print(b))
        }
    }
}

/// The name a unary function is printed with (`Neg` is printed as `-`).
fn function(op: Un) -> &'static str {
    match op {
        Un::Neg => "neg",
        Un::Exp => "exp",
        Un::ExpM1 => "exp_m1",
        Un::Ln => "ln",
        Un::Ln1p => "ln_1p",
        Un::Tanh => "tanh",
        Un::Abs => "abs",
        Un::Sqrt => "sqrt",
        Un::Sigmoid => "sigmoid",
        Un::Softplus => "softplus",
        Un::Sin => "sin",
        Un::Cos => "cos",
        Un::Erf => "erf",
        Un::Erfc => "erfc",
    }
}
