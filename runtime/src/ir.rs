//! The formula as data: the expression graph `#[activation]` derived, after its rewrites, as
//! a `const` every generated activation carries ([`Formula::IR`](crate::Formula::IR),
//! [`MultiFormula::IR`](crate::MultiFormula::IR)).
//!
//! The macro emits the CPU kernels itself; a backend for another target (the WGSL backend,
//! feature `gpu`) reads this description instead, so the macro stays free of every backend.
//! The graph holds the forward expression and every derived one (the partial derivatives, the
//! second derivative, the derivative in terms of the output), sharing their common
//! subexpressions, children before parents. It is the graph the CPU kernels are generated
//! from, with the products they fuse as the fused operations ([`Node::MulSigmoid`] in the
//! forward expression, [`Node::SigmoidProduct`] everywhere): evaluated with the runtime's
//! vector math ([`Ir::eval`]), each expression gives the kernel's unguarded value bit for bit.
//!
//! ```
//! use actigen::{Formula, Swish, ir::Node};
//!
//! let ir = <Swish as Formula>::IR;
//! // swish(x) = x·σ(β·x), one rounding: a fused product of x and σ(β·x).
//! assert!(matches!(ir.nodes[ir.forward], Node::LinearMulSigmoid(..)));
//! let (x, beta) = (1.5f64, 1.0f64);
//! let y = ir.eval_f64(ir.forward, &[x], &[beta]);
//! assert!((y - x / (1.0 + (-beta * x).exp())).abs() < 1e-15);
//! ```

use crate::simd::{Element, Scalar, Vector};

/// Unary operations of [`Node::Unary`]: the runtime's vector math of the same name
/// ([`crate::math`]), or the vector operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unary {
    /// −a.
    Neg,
    /// |a|.
    Abs,
    /// √a.
    Sqrt,
    /// eᵃ.
    Exp,
    /// eᵃ − 1.
    ExpM1,
    /// ln a.
    Ln,
    /// ln(1 + a).
    Ln1p,
    /// tanh a.
    Tanh,
    /// σ(a) = 1/(1 + e⁻ᵃ).
    Sigmoid,
    /// ln(1 + eᵃ).
    Softplus,
    /// sin a.
    Sin,
    /// cos a.
    Cos,
    /// The error function.
    Erf,
    /// The complementary error function.
    Erfc,
}

/// Binary operations of [`Node::Binary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Binary {
    /// a + b.
    Add,
    /// a − b.
    Sub,
    /// a · b.
    Mul,
    /// a / b.
    Div,
    /// `a.max(b)` with Rust's semantics: a NaN operand is ignored ([`crate::math::max_num`]).
    Max,
    /// `a.min(b)` with Rust's semantics ([`crate::math::min_num`]).
    Min,
    /// `a.powf(b)` ([`crate::math::powf`]).
    Powf,
}

/// Comparisons of [`Node::Compare`] (ordered: false when an operand is NaN).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compare {
    /// a < b.
    Lt,
    /// a ≤ b.
    Le,
    /// a > b.
    Gt,
    /// a ≥ b.
    Ge,
}

/// One node of the graph. Operands are indices of earlier nodes. Value nodes and mask nodes
/// (`Compare`, `And`, `Or`, `Not`: a truth value per element) share the graph; a `Select`'s
/// first operand and the operands of `And`, `Or`, `Not` are masks, every other operand a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Node {
    /// A constant: its value in `f32` kernels, then in `f64` kernels (a folded expression can
    /// differ between the two precisions beyond rounding).
    Const(f32, f64),
    /// Input `k` (the output y in [`Ir::from_output`]).
    Input(usize),
    /// Parameter `i` (declaration order).
    Param(usize),
    /// A unary operation.
    Unary(Unary, usize),
    /// A binary operation.
    Binary(Binary, usize, usize),
    /// `a.powi(n)`, by repeated squaring ([`crate::math::powi`]).
    Powi(usize, i32),
    /// A comparison (a mask).
    Compare(Compare, usize, usize),
    /// Both masks.
    And(usize, usize),
    /// Either mask.
    Or(usize, usize),
    /// The mask negated.
    Not(usize),
    /// `if m { a } else { b }` per element.
    Select(usize, usize, usize),
    /// σ(a)·σ(−a) with one exponential ([`crate::math::sigmoid_product`]).
    SigmoidProduct(usize),
    /// a·σ(u)·σ(−u) rounded once ([`crate::math::mul_sigmoid_product`]).
    MulSigmoidProduct(usize, usize),
    /// a·(b·σ(u)·σ(−u)) ([`crate::math::mul2_sigmoid_product`]).
    Mul2SigmoidProduct(usize, usize, usize),
    /// a·σ(u) rounded once ([`crate::math::mul_sigmoid`]).
    MulSigmoid(usize, usize),
    /// a·σ(u) rounded once, for `a` and `u` linear in the input, with the limits at ±inf
    /// built in ([`crate::math::linear_mul_sigmoid`]).
    LinearMulSigmoid(usize, usize),
    /// The rounding error of the operation (`Add`, `Sub` or `Mul`): `a op b − fl(a op b)`,
    /// exact ([`crate::math::add_err`], [`crate::math::sub_err`], [`crate::math::mul_err`]);
    /// the low part of a compensated argument (the macro's `compensated` repair).
    RoundErr(Binary, usize, usize),
    /// The function (`Exp`, `Sigmoid` or `Erfc`) at `u + lo`, `lo` the low part of a
    /// compensated argument ([`crate::math::exp_shifted`], [`crate::math::sigmoid_shifted`],
    /// [`crate::math::erfc_shifted`]).
    Shifted(Unary, usize, usize),
    /// a·σ(u + lo) rounded once ([`crate::math::mul_sigmoid_shifted`]).
    MulSigmoidShifted(usize, usize, usize),
    /// a·erfc(u) rounded once ([`crate::math::mul_erfc`]).
    MulErfc(usize, usize),
    /// a·erfc(u + lo) rounded once ([`crate::math::mul_erfc_shifted`]).
    MulErfcShifted(usize, usize, usize),
}

impl Node {
    /// The operands, in order.
    pub fn operands(self) -> impl Iterator<Item = usize> {
        let (n, ops) = match self {
            Node::Const(..) | Node::Input(_) | Node::Param(_) => (0, [0; 3]),
            Node::Unary(_, a) | Node::Powi(a, _) | Node::Not(a) | Node::SigmoidProduct(a) => {
                (1, [a, 0, 0])
            }
            Node::Binary(_, a, b)
            | Node::Compare(_, a, b)
            | Node::And(a, b)
            | Node::Or(a, b)
            | Node::MulSigmoid(a, b)
            | Node::LinearMulSigmoid(a, b)
            | Node::MulErfc(a, b)
            | Node::MulSigmoidProduct(a, b)
            | Node::RoundErr(_, a, b)
            | Node::Shifted(_, a, b) => (2, [a, b, 0]),
            Node::Select(m, a, b)
            | Node::MulSigmoidShifted(m, a, b)
            | Node::MulErfcShifted(m, a, b)
            | Node::Mul2SigmoidProduct(m, a, b) => (3, [m, a, b]),
        };
        ops.into_iter().take(n)
    }

    /// Whether the node is a mask (a truth value per element) rather than a value.
    pub fn is_mask(self) -> bool {
        matches!(
            self,
            Node::Compare(..) | Node::And(..) | Node::Or(..) | Node::Not(_)
        )
    }
}

/// An activation's expressions as one graph (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ir {
    /// The nodes, children before parents.
    pub nodes: &'static [Node],
    /// The number of inputs.
    pub inputs: usize,
    /// The number of parameters.
    pub params: usize,
    /// f.
    pub forward: usize,
    /// The partial derivatives: one per input (∂f/∂x first), then one per parameter.
    pub partials: &'static [usize],
    /// ∂²f/∂x² (formulas of one input).
    pub second: Option<usize>,
    /// The second partials of a formula of several inputs, ∂²f/∂x_i∂x_j for i ≤ j, row by
    /// row (for two inputs: ∂²f/∂x₀², ∂²f/∂x₀∂x₁, ∂²f/∂x₁²; the order of the type's
    /// `SECOND_DERIVATIVES`); empty for one input, whose ∂²f/∂x² is [`Ir::second`].
    pub seconds: &'static [usize],
    /// ∂f/∂x in terms of the output, where the formula has such a form; in this expression
    /// [`Node::Input`]`(0)` stands for the output y.
    pub from_output: Option<usize>,
}

/// The operations [`Ir::eval_with`] hands to its caller: the vector math, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// A unary function other than `Neg`, `Abs`, `Sqrt`.
    Unary(Unary),
    /// A binary operation (the arithmetic too: a backend may treat it specially).
    Binary(Binary),
    /// `sigmoid_product(a)`.
    SigmoidProduct,
    /// `mul_sigmoid_product(a, u)`.
    MulSigmoidProduct,
    /// `mul2_sigmoid_product(a, b, u)`.
    Mul2SigmoidProduct,
    /// `mul_sigmoid(a, u)`.
    MulSigmoid,
    /// `linear_mul_sigmoid(a, u)`.
    LinearMulSigmoid,
    /// `add_err`, `sub_err` or `mul_err` for the operation.
    RoundErr(Binary),
    /// `exp_shifted`, `sigmoid_shifted` or `erfc_shifted` for the function.
    Shifted(Unary),
    /// `mul_sigmoid_shifted(a, u, lo)`.
    MulSigmoidShifted,
    /// `mul_erfc(a, u)`.
    MulErfc,
    /// `mul_erfc_shifted(a, u, lo)`.
    MulErfcShifted,
}

/// The runtime's vector math for `call`.
pub(crate) fn math_call<V: Vector>(call: Call, a: &[V]) -> V {
    use crate::math;
    match call {
        Call::Unary(op) => match op {
            Unary::Neg => -a[0],
            Unary::Abs => a[0].abs(),
            Unary::Sqrt => a[0].sqrt(),
            Unary::Exp => math::exp(a[0]),
            Unary::ExpM1 => math::exp_m1(a[0]),
            Unary::Ln => math::ln(a[0]),
            Unary::Ln1p => math::ln_1p(a[0]),
            Unary::Tanh => math::tanh(a[0]),
            Unary::Sigmoid => math::sigmoid(a[0]),
            Unary::Softplus => math::softplus(a[0]),
            Unary::Sin => math::sin(a[0]),
            Unary::Cos => math::cos(a[0]),
            Unary::Erf => math::erf(a[0]),
            Unary::Erfc => math::erfc(a[0]),
        },
        Call::Binary(op) => match op {
            Binary::Add => a[0] + a[1],
            Binary::Sub => a[0] - a[1],
            Binary::Mul => a[0] * a[1],
            Binary::Div => a[0] / a[1],
            Binary::Max => math::max_num(a[0], a[1]),
            Binary::Min => math::min_num(a[0], a[1]),
            Binary::Powf => math::powf(a[0], a[1]),
        },
        Call::SigmoidProduct => math::sigmoid_product(a[0]),
        Call::MulSigmoidProduct => math::mul_sigmoid_product(a[0], a[1]),
        Call::Mul2SigmoidProduct => math::mul2_sigmoid_product(a[0], a[1], a[2]),
        Call::MulSigmoid => math::mul_sigmoid(a[0], a[1]),
        Call::LinearMulSigmoid => math::linear_mul_sigmoid(a[0], a[1]),
        Call::RoundErr(op) => match op {
            Binary::Add => math::add_err(a[0], a[1]),
            Binary::Sub => math::sub_err(a[0], a[1]),
            _ => math::mul_err(a[0], a[1]),
        },
        Call::Shifted(op) => match op {
            Unary::Exp => math::exp_shifted(a[0], a[1]),
            Unary::Sigmoid => math::sigmoid_shifted(a[0], a[1]),
            _ => math::erfc_shifted(a[0], a[1]),
        },
        Call::MulSigmoidShifted => math::mul_sigmoid_shifted(a[0], a[1], a[2]),
        Call::MulErfc => math::mul_erfc(a[0], a[1]),
        Call::MulErfcShifted => math::mul_erfc_shifted(a[0], a[1], a[2]),
    }
}

/// A node's value during evaluation: a vector or a mask, and with `checked` whether some
/// intermediate it depends on was unreliable.
#[derive(Clone, Copy)]
enum Value<V: Vector> {
    Value(V),
    Mask(V::Mask),
}

impl<V: Vector> Value<V> {
    fn v(self) -> V {
        match self {
            Value::Value(v) => v,
            Value::Mask(_) => unreachable!("a mask where the graph needs a value"),
        }
    }
    fn m(self) -> V::Mask {
        match self {
            Value::Mask(m) => m,
            Value::Value(_) => unreachable!("a value where the graph needs a mask"),
        }
    }
}

impl Ir {
    /// The nodes `root` depends on (itself included), as a mask over [`Ir::nodes`].
    pub fn reachable(&self, roots: &[usize]) -> Vec<bool> {
        let mut live = vec![false; self.nodes.len()];
        for &r in roots {
            live[r] = true;
        }
        for id in (0..self.nodes.len()).rev() {
            if live[id] {
                for c in self.nodes[id].operands() {
                    live[c] = true;
                }
            }
        }
        live
    }

    /// Evaluates expression `root` over vectors, with the runtime's vector math, unguarded
    /// (as the `*_raw` kernel bodies: no NaN or ±inf fix-ups). `inputs` holds one vector per
    /// input, `params` one per parameter.
    ///
    /// An interpreter, for tests and for checking a backend against the graph; the kernels are
    /// compiled code and much faster.
    ///
    /// # Panics
    /// If `root` is not a node of the graph, or `inputs` or `params` is shorter than the graph
    /// needs.
    pub fn eval<V: Vector>(&self, root: usize, inputs: &[V], params: &[V]) -> V {
        self.eval_with(&[root], inputs, params, false, &mut math_call)
            .0[0]
    }

    /// The expressions `roots` as [`Ir::eval`], each with the lanes where an intermediate it
    /// depends on was non-finite or a nonzero subnormal (as the kernels' checked bodies, which
    /// the ±inf guard evaluates at finite stand-ins: a select counts only the branch it takes).
    ///
    /// # Panics
    /// As [`Ir::eval`].
    pub fn eval_checked<V: Vector>(
        &self,
        roots: &[usize],
        inputs: &[V],
        params: &[V],
    ) -> (Vec<V>, Vec<V::Mask>) {
        self.eval_with(roots, inputs, params, true, &mut math_call)
    }

    /// The evaluator behind [`Ir::eval`] and [`Ir::eval_checked`], with the vector math
    /// supplied by `call` (the WGSL backend's records a call of its shader function). Without
    /// `checked` no masks are returned (an empty `Vec`).
    pub(crate) fn eval_with<V: Vector>(
        &self,
        roots: &[usize],
        inputs: &[V],
        params: &[V],
        checked: bool,
        call: &mut dyn FnMut(Call, &[V]) -> V,
    ) -> (Vec<V>, Vec<V::Mask>) {
        let x0 = inputs[0];
        let live = self.reachable(roots);
        let last = roots.iter().copied().max().unwrap_or(0);
        let mut vals: Vec<Option<Value<V>>> = vec![None; last + 1];
        // Per node, whether it can be unreliable, and where.
        let mut flags: Vec<Option<V::Mask>> = vec![None; last + 1];
        for id in 0..=last {
            if !live[id] {
                continue;
            }
            let v = |i: usize| vals[i].expect("operands come first").v();
            let m = |i: usize| vals[i].expect("operands come first").m();
            let node = self.nodes[id];
            let out = match node {
                Node::Const(s, d) => Value::Value(x0.lit(s, d)),
                Node::Input(k) => Value::Value(inputs[k]),
                Node::Param(i) => Value::Value(params[i]),
                Node::Unary(op @ (Unary::Neg | Unary::Abs | Unary::Sqrt), a) => {
                    Value::Value(math_call(Call::Unary(op), &[v(a)]))
                }
                Node::Unary(op, a) => Value::Value(call(Call::Unary(op), &[v(a)])),
                Node::Binary(op, a, b) => Value::Value(call(Call::Binary(op), &[v(a), v(b)])),
                Node::Powi(a, n) => Value::Value(crate::math::powi(v(a), n)),
                Node::Compare(op, a, b) => {
                    let (a, b) = (v(a), v(b));
                    Value::Mask(match op {
                        Compare::Lt => a.lt(b),
                        Compare::Le => a.le(b),
                        Compare::Gt => a.gt(b),
                        Compare::Ge => a.ge(b),
                    })
                }
                Node::And(a, b) => Value::Mask(m(a) & m(b)),
                Node::Or(a, b) => Value::Mask(m(a) | m(b)),
                Node::Not(a) => Value::Mask(!m(a)),
                Node::Select(c, a, b) => Value::Value(V::select(m(c), v(a), v(b))),
                Node::SigmoidProduct(a) => Value::Value(call(Call::SigmoidProduct, &[v(a)])),
                Node::MulSigmoidProduct(a, u) => {
                    Value::Value(call(Call::MulSigmoidProduct, &[v(a), v(u)]))
                }
                Node::Mul2SigmoidProduct(a, b, u) => {
                    Value::Value(call(Call::Mul2SigmoidProduct, &[v(a), v(b), v(u)]))
                }
                Node::MulSigmoid(a, u) => Value::Value(call(Call::MulSigmoid, &[v(a), v(u)])),
                Node::LinearMulSigmoid(a, u) => {
                    Value::Value(call(Call::LinearMulSigmoid, &[v(a), v(u)]))
                }
                Node::RoundErr(op, a, b) => Value::Value(call(Call::RoundErr(op), &[v(a), v(b)])),
                Node::Shifted(op, u, lo) => Value::Value(call(Call::Shifted(op), &[v(u), v(lo)])),
                Node::MulSigmoidShifted(a, u, lo) => {
                    Value::Value(call(Call::MulSigmoidShifted, &[v(a), v(u), v(lo)]))
                }
                Node::MulErfc(a, u) => Value::Value(call(Call::MulErfc, &[v(a), v(u)])),
                Node::MulErfcShifted(a, u, lo) => {
                    Value::Value(call(Call::MulErfcShifted, &[v(a), v(u), v(lo)]))
                }
            };
            if checked {
                // As the macro's checked bodies: leaves are reliable; a mask is unreliable
                // where an operand is; a select where its value, its condition, or the branch
                // it takes is; any other value where it or an operand is.
                let f = |i: usize| flags[i];
                let own = || match out {
                    Value::Value(v) => Some(crate::math::unreliable(v)),
                    Value::Mask(_) => None,
                };
                let or = |a: Option<V::Mask>, b: Option<V::Mask>| match (a, b) {
                    (Some(a), Some(b)) => Some(a | b),
                    (a, None) => a,
                    (None, b) => b,
                };
                flags[id] = match node {
                    Node::Const(..) | Node::Input(_) | Node::Param(_) => None,
                    Node::Compare(..) | Node::And(..) | Node::Or(..) | Node::Not(_) => {
                        node.operands().fold(None, |acc, c| or(acc, f(c)))
                    }
                    Node::Select(c, a, b) => {
                        let mc = m(c);
                        let fa = f(a).map(|fa| mc & fa);
                        let fb = f(b).map(|fb| !mc & fb);
                        or(or(own(), f(c)), or(fa, fb))
                    }
                    // A shift's correction is taken as 0 where it is not finite: not tracked.
                    Node::Shifted(_, u, _) => or(own(), f(u)),
                    Node::MulSigmoidShifted(a, u, _) | Node::MulErfcShifted(a, u, _) => {
                        or(own(), or(f(a), f(u)))
                    }
                    _ => node.operands().fold(own(), |acc, c| or(acc, f(c))),
                };
            }
            vals[id] = Some(out);
        }
        let values = roots
            .iter()
            .map(|&r| vals[r].expect("evaluated").v())
            .collect();
        // (Unchecked: no masks. Checked, a root no intermediate can make unreliable gets the
        // all-false mask, formed only then: the WGSL recorder writes every operation.)
        let masks = if checked {
            roots
                .iter()
                .map(|&r| flags[r].unwrap_or_else(|| x0.lt(x0) & !x0.lt(x0)))
                .collect()
        } else {
            Vec::new()
        };
        (values, masks)
    }

    /// [`Ir::eval`] at one point in `f64`, the parameters given in `f64` (the kernels read
    /// them as `f32` and widen them; pass `p as f32 as f64` to match).
    ///
    /// # Panics
    /// As [`Ir::eval`].
    pub fn eval_f64(&self, root: usize, inputs: &[f64], params: &[f64]) -> f64 {
        let xs: Vec<Scalar<f64>> = inputs.iter().map(|&x| x.one()).collect();
        let ps: Vec<Scalar<f64>> = params.iter().map(|&p| p.one()).collect();
        self.eval(root, &xs, &ps).lane(0)
    }

    /// [`Ir::eval`] at one point in `f32`.
    ///
    /// # Panics
    /// As [`Ir::eval`].
    pub fn eval_f32(&self, root: usize, inputs: &[f32], params: &[f32]) -> f32 {
        let xs: Vec<Scalar<f32>> = inputs.iter().map(|&x| x.one()).collect();
        let ps: Vec<Scalar<f32>> = params.iter().map(|&p| p.one()).collect();
        self.eval(root, &xs, &ps).lane(0)
    }
}
