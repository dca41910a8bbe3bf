//! Lowering: the formula's body (syn) → the arena IR.
//!
//! The language: `let` bindings, `if`/`else` on comparisons joined by `&&`, `||`, `!`;
//! `+ - * /`, unary `-`; float literals; paths to constants; the methods in [`METHODS`]; the
//! free functions in [`FUNCTIONS`]. Anything else is an error pointing at the sub-expression
//! at fault. Lowering goes on after an error (with a placeholder) so that every mistake in the
//! formula is reported in one build.

use crate::ir::{Bin, Cmp, Graph, Id, Un};
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{BinOp, Block, Expr, Lit, Pat, Stmt, UnOp};

/// Methods of `f32` a formula may call, with their argument counts.
pub const METHODS: &[(&str, usize)] = &[
    ("exp", 0),
    ("exp_m1", 0),
    ("ln", 0),
    ("ln_1p", 0),
    ("tanh", 0),
    ("abs", 0),
    ("sqrt", 0),
    ("sin", 0),
    ("cos", 0),
    ("recip", 0),
    ("max", 1),
    ("min", 1),
    ("clamp", 2),
    ("powi", 1),
    ("powf", 1),
];

/// Free functions from `actigen` a formula may call (one argument each).
pub const FUNCTIONS: &[&str] = &["sigmoid", "softplus", "erf", "erfc"];

/// Methods that exist on `f32` but have no useful derivative.
const NOT_DIFFERENTIABLE: &[&str] = &[
    "floor",
    "ceil",
    "round",
    "trunc",
    "fract",
    "signum",
    "rem_euclid",
    "div_euclid",
];

pub struct Lowerer<'a> {
    pub g: Graph,
    inputs: &'a [String],
    params: &'a [String],
    /// `let` bindings in scope, innermost last.
    scope: Vec<(String, Id)>,
    pub errors: Vec<syn::Error>,
    /// Current nesting of `expr`/`cond` (bounded by [`MAX_NESTING`]).
    depth: usize,
    too_deep_reported: bool,
}

impl<'a> Lowerer<'a> {
    pub fn new(inputs: &'a [String], params: &'a [String]) -> Self {
        let mut g = Graph::default();
        // Inputs and parameters get the lowest ids: inputs 0..K, then the parameters.
        for k in 0..inputs.len() {
            g.input_at(k);
        }
        for i in 0..params.len() {
            g.param(i);
        }
        Lowerer {
            g,
            inputs,
            params,
            scope: Vec::new(),
            errors: Vec::new(),
            depth: 0,
            too_deep_reported: false,
        }
    }

    fn error(&mut self, at: impl Spanned, msg: impl std::fmt::Display) -> Id {
        self.errors.push(syn::Error::new(at.span(), msg));
        self.g.constant(0.0)
    }

    /// A block: `let` statements, then the value.
    pub fn block(&mut self, b: &Block) -> Id {
        let depth = self.scope.len();
        let errors_before = self.errors.len();
        let mut value = None;
        for (i, stmt) in b.stmts.iter().enumerate() {
            let last = i + 1 == b.stmts.len();
            match stmt {
                Stmt::Local(local) => {
                    let Some(init) = &local.init else {
                        self.error(local, "a `let` needs a value: `let name = expression;`");
                        continue;
                    };
                    if let Some((_, diverge)) = &init.diverge {
                        self.error(diverge, "`let … else` is not supported in a formula");
                    }
                    let v = self.expr(&init.expr);
                    if let Some(name) = self.binding(&local.pat) {
                        self.scope.push((name, v));
                    }
                }
                Stmt::Expr(e, None) if last => value = Some(self.expr(e)),
                Stmt::Expr(e, _) => {
                    let msg = match e {
                        Expr::Assign(_) => {
                            "assignment is not supported: a formula is pure, bind values with `let`"
                        }
                        Expr::Return(_) => {
                            "`return` is not supported: the formula's value is its last expression"
                        }
                        Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
                            "loops are not supported in a formula"
                        }
                        _ => "a statement without `let` has no effect in a formula",
                    };
                    self.error(e, msg);
                }
                Stmt::Item(item) => {
                    self.error(item, "items inside a formula are not supported");
                }
                Stmt::Macro(m) => {
                    self.error(m, "macros are not supported in a formula");
                }
            }
        }
        self.scope.truncate(depth);
        match value {
            Some(v) => v,
            // A block whose statements were already wrong needs no second error.
            None if self.errors.len() > errors_before => self.g.constant(0.0),
            None => self.error(b, "the formula must end with an expression (its value)"),
        }
    }

    /// The name a `let` pattern binds, or an error.
    fn binding(&mut self, pat: &Pat) -> Option<String> {
        match pat {
            Pat::Ident(p) => {
                if p.mutability.is_some() {
                    self.error(
                        p.mutability,
                        "`mut` is not supported: a formula is pure, bind a new name with `let`",
                    );
                    return None;
                }
                if p.by_ref.is_some() || p.subpat.is_some() {
                    self.error(p, "expected a plain name: `let name = …;`");
                    return None;
                }
                let name = p.ident.to_string();
                if self.inputs.contains(&name) {
                    self.error(&p.ident, format!("`{name}` shadows an input"));
                    return None;
                }
                if self.params.contains(&name) {
                    self.error(&p.ident, format!("`{name}` shadows a parameter"));
                    return None;
                }
                Some(name)
            }
            Pat::Type(t) => {
                let ty = &t.ty;
                if quote::quote!(#ty).to_string() != "f32" {
                    self.error(ty, "expected `f32`: formulas are written in f32");
                }
                self.binding(&t.pat)
            }
            _ => {
                self.error(pat, "expected a plain name: `let name = …;`");
                None
            }
        }
    }

    /// A value expression.
    pub fn expr(&mut self, e: &Expr) -> Id {
        if self.depth >= MAX_NESTING {
            return self.too_deep(e);
        }
        self.depth += 1;
        let saved = self.g.span;
        self.g.span = node_span(e);
        let id = self.expr_inner(e);
        self.g.span = saved;
        self.depth -= 1;
        id
    }

    /// The error for an expression nested deeper than [`MAX_NESTING`] (reported once).
    fn too_deep(&mut self, e: &Expr) -> Id {
        if self.too_deep_reported {
            return self.g.constant(0.0);
        }
        self.too_deep_reported = true;
        self.error(
            node_span(e),
            format!(
                "the formula nests more than {MAX_NESTING} levels deep here; bind parts of it \
                 with `let` (a long chain `a + b + c + …` is fine: it is not nesting)"
            ),
        )
    }

    /// A chain of binary arithmetic `((a + b) - c) * d …`, lowered along its left spine with a
    /// loop: a sum of thousands of terms is as deep as it is long, and must not cost stack.
    fn arithmetic_chain(&mut self, top: &syn::ExprBinary) -> Id {
        let mut spine = vec![top];
        let mut left = &*top.left;
        while let Expr::Binary(b) = left
            && arithmetic(b.op).is_some()
        {
            spine.push(b);
            left = &b.left;
        }
        let mut acc = self.expr(left);
        for b in spine.into_iter().rev() {
            let r = self.expr(&b.right);
            self.g.span = b.op.span();
            acc = match arithmetic(b.op) {
                Some(Bin::Div) if self.g.value(r) == Some(0.0) => {
                    self.error(&b.right, "division by a constant zero")
                }
                Some(op) => self.g.binary(op, acc, r),
                None => acc,
            };
        }
        acc
    }

    fn expr_inner(&mut self, e: &Expr) -> Id {
        match e {
            Expr::Lit(l) => match &l.lit {
                Lit::Float(f) => {
                    if !matches!(f.suffix(), "" | "f32") {
                        return self.error(f, "expected an `f32` literal");
                    }
                    match f.base10_parse::<f64>() {
                        Ok(v) => self.g.constant(v),
                        Err(err) => self.error(f, err),
                    }
                }
                Lit::Int(i) => self.error(
                    i,
                    format!("expected a float literal, found the integer `{i}`: write `{i}.0`"),
                ),
                other => self.error(other, "expected a number"),
            },
            Expr::Path(p) => {
                if p.qself.is_none()
                    && p.path.leading_colon.is_none()
                    && let Some(ident) = p.path.get_ident()
                {
                    let name = ident.to_string();
                    if let Some((_, id)) = self.scope.iter().rev().find(|(n, _)| *n == name) {
                        return *id;
                    }
                    if let Some(k) = self.inputs.iter().position(|n| *n == name) {
                        return self.g.input_at(k);
                    }
                    if let Some(i) = self.params.iter().position(|n| *n == name) {
                        return self.g.param(i);
                    }
                }
                // A constant: a plain path such as `std::f32::consts::PI` or `MY_CONST`. The
                // kernels re-emit it as written, so it must be one without a qualified self type
                // or generic arguments.
                if let Some(q) = &p.qself {
                    let ty = &q.ty;
                    return self.error(
                        e,
                        format!(
                            "expected a constant path such as `f32::MAX`, found a qualified path \
                             `<{}>::…`: write it without the angle brackets",
                            quote::quote!(#ty)
                        ),
                    );
                }
                if let Some(seg) = p.path.segments.iter().find(|s| !s.arguments.is_none()) {
                    return self.error(
                        &seg.arguments,
                        "expected a constant path such as `std::f32::consts::PI`, found generic \
                         arguments",
                    );
                }
                let path = &p.path;
                let text = quote::quote!(#path).to_string().replace(' ', "");
                self.g.named(text)
            }
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Block(b) if b.label.is_none() => self.block(&b.block),
            Expr::Unary(u) => match u.op {
                UnOp::Neg(_) => {
                    let a = self.expr(&u.expr);
                    self.g.neg(a)
                }
                _ => self.error(u, "only unary `-` is supported on values"),
            },
            Expr::Binary(b) if arithmetic(b.op).is_some() => self.arithmetic_chain(b),
            Expr::Binary(b) => match b.op {
                BinOp::Rem(_) => self.error(b.op, "`%` is not differentiable"),
                BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) => {
                    self.error(b, "a comparison is only allowed as an `if` condition")
                }
                _ => self.error(b.op, "unsupported operator: expected `+ - * /`"),
            },
            Expr::MethodCall(m) => self.method(m),
            Expr::Call(c) => self.call(c),
            Expr::If(i) => {
                let cond = self.cond(&i.cond);
                let then = self.block(&i.then_branch);
                let Some((_, other)) = &i.else_branch else {
                    return self.error(i, "an `if` in a formula needs an `else`");
                };
                let other = self.expr(other);
                self.g.select(cond, then, other)
            }
            Expr::Return(_) => self.error(
                e,
                "`return` is not supported: the formula's value is its last expression",
            ),
            Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
                self.error(e, "loops are not supported in a formula")
            }
            Expr::Closure(_) => self.error(e, "closures are not supported in a formula"),
            Expr::Assign(_) => self.error(
                e,
                "assignment is not supported: a formula is pure, bind values with `let`",
            ),
            Expr::Macro(_) => self.error(e, "macros are not supported in a formula"),
            Expr::Cast(_) => self.error(e, "casts are not supported: formulas are written in f32"),
            _ => self.error(e, "unsupported expression in a formula"),
        }
    }

    fn method(&mut self, m: &syn::ExprMethodCall) -> Id {
        let name = m.method.to_string();
        if m.turbofish.is_some() {
            return self.error(&m.turbofish, "type arguments are not supported here");
        }
        let Some(&(_, arity)) = METHODS.iter().find(|(n, _)| *n == name) else {
            if NOT_DIFFERENTIABLE.contains(&name.as_str()) {
                return self.error(
                    &m.method,
                    format!(
                        "`{name}` is not differentiable (its derivative is 0 or undefined \
                         everywhere); write the steps with `if`/`else` instead"
                    ),
                );
            }
            let list: Vec<_> = METHODS.iter().map(|(n, _)| *n).collect();
            return self.error(
                &m.method,
                format!(
                    "unsupported method `{name}`; expected one of: {}",
                    list.join(", ")
                ),
            );
        };
        if m.args.len() != arity {
            return self.error(
                &m.method,
                format!(
                    "`{name}` takes {arity} argument{}, found {}",
                    if arity == 1 { "" } else { "s" },
                    m.args.len()
                ),
            );
        }
        let a = self.expr(&m.receiver);
        let un = |op| Some(op);
        let op = match name.as_str() {
            "exp" => un(Un::Exp),
            "exp_m1" => un(Un::ExpM1),
            "ln" => un(Un::Ln),
            "ln_1p" => un(Un::Ln1p),
            "tanh" => un(Un::Tanh),
            "abs" => un(Un::Abs),
            "sqrt" => un(Un::Sqrt),
            "sin" => un(Un::Sin),
            "cos" => un(Un::Cos),
            _ => None,
        };
        if let Some(op) = op {
            return self.g.unary(op, a);
        }
        match name.as_str() {
            // 1/a
            "recip" => {
                let one = self.g.constant(1.0);
                self.g.div(one, a)
            }
            // min(max(a, lo), hi), as f32::clamp
            "clamp" => {
                let (lo, hi) = (self.expr(&m.args[0]), self.expr(&m.args[1]));
                let m1 = self.g.binary(Bin::Max, a, lo);
                self.g.binary(Bin::Min, m1, hi)
            }
            // The exponent may not depend on x. An integral constant exponent up to 4 in
            // magnitude is `powi` (exact products, the same values as `f32::powf`, and
            // derivatives that are right at 0); any other is `f32::powf` itself.
            "powf" => {
                let c = self.expr(&m.args[0]);
                if self.g.reachable(&[c])[..self.inputs.len()].contains(&true) {
                    return self.error(
                        &m.args[0],
                        "`powf`'s exponent must be a constant or a parameter, not depend on the input",
                    );
                }
                match self.g.value(c) {
                    Some(v) if v.fract() == 0.0 && v.abs() <= 4.0 => self.g.powi(a, v as i32),
                    _ => self.g.binary(Bin::Powf, a, c),
                }
            }
            "max" | "min" => {
                let b = self.expr(&m.args[0]);
                let op = if name == "max" { Bin::Max } else { Bin::Min };
                self.g.binary(op, a, b)
            }
            "powi" => match (int_literal(&m.args[0]), int_literal_wide(&m.args[0])) {
                (Some(n), _) => self.g.powi(a, n),
                (None, Some(n)) => self.error(
                    &m.args[0],
                    format!("the exponent {n} does not fit `powi`'s `i32`"),
                ),
                (None, None) => self.error(
                    &m.args[0],
                    "expected an integer literal exponent, such as `powi(2)`",
                ),
            },
            _ => unreachable!("every entry of METHODS is handled"),
        }
    }

    fn call(&mut self, c: &syn::ExprCall) -> Id {
        let name = match &*c.func {
            Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
            _ => None,
        };
        let Some(name) = name else {
            return self.error(&c.func, "expected a function name such as `sigmoid`");
        };
        if FUNCTIONS.contains(&name.as_str())
            && (self.inputs.contains(&name)
                || self.params.contains(&name)
                || self.scope.iter().any(|(n, _)| *n == name))
        {
            return self.error(
                &c.func,
                format!(
                    "`{name}` here is a value of this formula (an argument or a `let`), not the \
                     function `{name}`: rename the value to call the function"
                ),
            );
        }
        if !FUNCTIONS.contains(&name.as_str()) {
            return self.error(
                &c.func,
                format!(
                    "unknown function `{name}`; expected one of: {}",
                    FUNCTIONS.join(", ")
                ),
            );
        }
        if c.args.len() != 1 {
            return self.error(
                &c.func,
                format!("`{name}` takes 1 argument, found {}", c.args.len()),
            );
        }
        let a = self.expr(&c.args[0]);
        let op = match name.as_str() {
            "sigmoid" => Un::Sigmoid,
            "softplus" => Un::Softplus,
            "erfc" => Un::Erfc,
            _ => Un::Erf,
        };
        self.g.unary(op, a)
    }

    /// A condition: comparisons joined by `&&`, `||`, `!`.
    fn cond(&mut self, e: &Expr) -> Id {
        if self.depth >= MAX_NESTING {
            return self.too_deep(e);
        }
        self.depth += 1;
        let saved = self.g.span;
        self.g.span = node_span(e);
        let id = match e {
            Expr::Paren(p) => self.cond(&p.expr),
            Expr::Group(g) => self.cond(&g.expr),
            Expr::Unary(u) if matches!(u.op, UnOp::Not(_)) => {
                let a = self.cond(&u.expr);
                self.g.not(a)
            }
            Expr::Binary(b) => match b.op {
                BinOp::And(_) | BinOp::Or(_) => {
                    let (l, r) = (self.cond(&b.left), self.cond(&b.right));
                    if matches!(b.op, BinOp::And(_)) {
                        self.g.and(l, r)
                    } else {
                        self.g.or(l, r)
                    }
                }
                BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) => {
                    let op = match b.op {
                        BinOp::Lt(_) => Cmp::Lt,
                        BinOp::Le(_) => Cmp::Le,
                        BinOp::Gt(_) => Cmp::Gt,
                        _ => Cmp::Ge,
                    };
                    let (l, r) = (self.expr(&b.left), self.expr(&b.right));
                    self.g.cmp(op, l, r)
                }
                BinOp::Eq(_) | BinOp::Ne(_) => self.error(
                    b.op,
                    "`==` and `!=` are not supported in conditions: use `<`, `<=`, `>` or `>=`",
                ),
                _ => self.error(e, "expected a comparison such as `x > 0.0`"),
            },
            _ => self.error(e, "expected a comparison such as `x > 0.0`"),
        };
        self.g.span = saved;
        self.depth -= 1;
        id
    }
}

/// How deep a formula may nest (parentheses, calls, blocks, `if`s), in syntax-tree levels.
/// Lowering recurses once per level; beyond this, a compile error says so instead of risking
/// rustc's stack. Chains of binary arithmetic do not count: they are lowered with a loop.
pub const MAX_NESTING: usize = 256;

/// The binary arithmetic operator of `op`, if it is one.
fn arithmetic(op: BinOp) -> Option<Bin> {
    match op {
        BinOp::Add(_) => Some(Bin::Add),
        BinOp::Sub(_) => Some(Bin::Sub),
        BinOp::Mul(_) => Some(Bin::Mul),
        BinOp::Div(_) => Some(Bin::Div),
        _ => None,
    }
}

/// A span for the IR node made from `e`, found without walking `e`'s subtree (syn's `span()`
/// turns the whole subtree into tokens, which is quadratic over a long chain): the operator,
/// method or function token of composite expressions, the expression itself for leaves.
fn node_span(e: &Expr) -> Span {
    match e {
        Expr::Binary(b) => b.op.span(),
        Expr::Unary(u) => u.op.span(),
        Expr::MethodCall(m) => m.method.span(),
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => p.span(),
            _ => c.paren_token.span.join(),
        },
        Expr::Paren(p) => p.paren_token.span.join(),
        Expr::If(i) => i.if_token.span(),
        Expr::Block(b) => b.block.brace_token.span.join(),
        Expr::Lit(_) | Expr::Path(_) => e.span(),
        _ => Span::call_site(),
    }
}

/// An integer literal that fits `i32`, possibly negated (`-2147483648` included).
fn int_literal(e: &Expr) -> Option<i32> {
    int_literal_wide(e).and_then(|n| i32::try_from(n).ok())
}

/// An integer literal as i128 (wide enough that one negation cannot overflow for any literal
/// that fits i64), possibly negated.
fn int_literal_wide(e: &Expr) -> Option<i128> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) if matches!(i.suffix(), "" | "i32") => {
                i.base10_parse::<u64>().ok().map(i128::from)
            }
            _ => None,
        },
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => int_literal_wide(&u.expr).map(|n| -n),
        Expr::Paren(p) => int_literal_wide(&p.expr),
        _ => None,
    }
}
