//! Prints IR expressions in Rust-like infix form, for the generated docs and for the unit
//! tests of the differentiator (`"x * sigmoid(x)"` is easier to check than a node dump).

use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};

/// Names for the input and the parameters.
pub struct Names<'a> {
    pub input: &'a str,
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
        Node::Const(b) if f64::from_bits(b) < 0.0 => 6,
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

/// `id` printed.
pub fn print(g: &Graph, names: &Names<'_>, id: Id) -> String {
    let node = g.nodes[id];
    let p = prec(node);
    // Operand printed, parenthesised if it binds looser (or equally, on the right).
    let sub = |c: Id, right: bool| {
        let s = print(g, names, c);
        let cp = prec(g.nodes[c]);
        // Float arithmetic is not associative: keep the tree's grouping on the right.
        let tight_right = right && matches!(node, Node::Binary(..)) && cp == p;
        if cp < p || tight_right || (cp == p && matches!(node, Node::Unary(Un::Neg, _))) {
            format!("({s})")
        } else {
            s
        }
    };
    match node {
        Node::Const(b) => number(f64::from_bits(b)),
        Node::Named(i) => g.named[i].clone(),
        Node::Input => names.input.to_string(),
        Node::Param(i) => names.params[i].clone(),
        Node::Unary(Un::Neg, a) => format!("-{}", sub(a, false)),
        Node::Unary(op, a) => {
            let f = match op {
                Un::Neg => unreachable!("handled above"),
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
            };
            format!("{f}({})", print(g, names, a))
        }
        Node::Binary(Bin::Max, a, b) => {
            format!("max({}, {})", print(g, names, a), print(g, names, b))
        }
        Node::Binary(Bin::Min, a, b) => {
            format!("min({}, {})", print(g, names, a), print(g, names, b))
        }
        Node::Binary(op, a, b) => {
            let o = match op {
                Bin::Add => "+",
                Bin::Sub => "-",
                Bin::Mul => "*",
                Bin::Div => "/",
                Bin::Max | Bin::Min => unreachable!("handled above"),
            };
            format!("{} {o} {}", sub(a, false), sub(b, true))
        }
        Node::Powi(a, n) => format!("powi({}, {n})", print(g, names, a)),
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
        Node::Select(m, a, b) => format!(
            "if {} {{ {} }} else {{ {} }}",
            print(g, names, m),
            print(g, names, a),
            print(g, names, b)
        ),
    }
}
