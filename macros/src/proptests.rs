//! Property tests of the IR: random formulas from the supported language, differentiated by
//! `diff`, against hyper-dual-number evaluation (exact first and second derivatives, no step
//! size) at random points; and the simplifying constructors and the stability rewrites against
//! a plain f64 evaluation of the unsimplified tree.

use crate::diff::{Var, diff};
use crate::fuzz::Rng;
use crate::ir::{Bin, Cmp, Graph, Id, Node, Un};
use crate::repair::repair;
use crate::rewrite::rewrite;

/// A hyper-dual number a + b·ε₁ + c·ε₂ + d·ε₁ε₂ (ε₁² = ε₂² = 0): seeded with b = c = 1 at x,
/// a function evaluated on it carries f, f′, f′ and f″.
#[derive(Clone, Copy, Debug)]
struct H {
    a: f64,
    b: f64,
    c: f64,
    d: f64,
}

impl H {
    fn cst(v: f64) -> H {
        H {
            a: v,
            b: 0.0,
            c: 0.0,
            d: 0.0,
        }
    }
    fn var(v: f64) -> H {
        H {
            a: v,
            b: 1.0,
            c: 1.0,
            d: 0.0,
        }
    }
    /// g(self) given g, g′, g″ at `self.a`.
    fn chain(self, g0: f64, g1: f64, g2: f64) -> H {
        H {
            a: g0,
            b: g1 * self.b,
            c: g1 * self.c,
            d: g1 * self.d + g2 * self.b * self.c,
        }
    }
    fn add(self, o: H) -> H {
        H {
            a: self.a + o.a,
            b: self.b + o.b,
            c: self.c + o.c,
            d: self.d + o.d,
        }
    }
    fn neg(self) -> H {
        H {
            a: -self.a,
            b: -self.b,
            c: -self.c,
            d: -self.d,
        }
    }
    fn mul(self, o: H) -> H {
        H {
            a: self.a * o.a,
            b: self.a * o.b + self.b * o.a,
            c: self.a * o.c + self.c * o.a,
            d: self.a * o.d + self.b * o.c + self.c * o.b + self.d * o.a,
        }
    }
    fn recip(self) -> H {
        let v = 1.0 / self.a;
        self.chain(v, -v * v, 2.0 * v * v * v)
    }
}

fn sigmoid(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        v.exp() / (1.0 + v.exp())
    }
}

/// A random formula, kept as a tree so it can be evaluated without the IR.
#[derive(Clone, Debug)]
enum T {
    X,
    P,
    C(f64),
    Un(Un, Box<T>),
    Bin(Bin, Box<T>, Box<T>),
    Powi(Box<T>, i32),
    /// if a > b { c } else { d }
    If(Box<T>, Box<T>, Box<T>, Box<T>),
}

/// Random formula of at most `depth`. Domains are kept valid: ln and √ get 1 + u², a quotient's
/// denominator is 1.5 + tanh(u), exp's argument is squashed by tanh.
fn random_formula(r: &mut Rng, depth: u32) -> T {
    if depth == 0 || r.below(5) == 0 {
        return match r.below(3) {
            0 => T::X,
            1 => T::P,
            _ => T::C((r.unit() * 4.0 - 2.0 * 1.0).round() / 2.0 + 0.25),
        };
    }
    let sub = |r: &mut Rng| Box::new(random_formula(r, depth - 1));
    let one_plus_sq = |u: Box<T>| {
        Box::new(T::Bin(
            Bin::Add,
            Box::new(T::C(1.0)),
            Box::new(T::Bin(Bin::Mul, u.clone(), u)),
        ))
    };
    match r.below(19) {
        0 => T::Bin(Bin::Add, sub(r), sub(r)),
        1 => T::Bin(Bin::Sub, sub(r), sub(r)),
        2 | 3 => T::Bin(Bin::Mul, sub(r), sub(r)),
        4 => {
            let den = T::Bin(
                Bin::Add,
                Box::new(T::C(1.5)),
                Box::new(T::Un(Un::Tanh, sub(r))),
            );
            T::Bin(Bin::Div, sub(r), Box::new(den))
        }
        5 => T::Un(Un::Exp, Box::new(T::Un(Un::Tanh, sub(r)))),
        6 => T::Un(Un::ExpM1, Box::new(T::Un(Un::Tanh, sub(r)))),
        7 => T::Un(Un::Ln, one_plus_sq(sub(r))),
        8 => T::Un(Un::Ln1p, Box::new(T::Un(Un::Sigmoid, sub(r)))),
        9 => T::Un(Un::Sqrt, one_plus_sq(sub(r))),
        10 => T::Un(Un::Tanh, sub(r)),
        11 => T::Un(Un::Sigmoid, sub(r)),
        12 => T::Un(Un::Softplus, sub(r)),
        13 => T::Un(Un::Neg, sub(r)),
        14 => T::Powi(sub(r), [2, 3, -1][r.below(3)]),
        15 => T::Un(Un::Sin, sub(r)),
        16 => T::Un(Un::Cos, sub(r)),
        // A positive base; the exponent a parameter or a constant.
        17 => {
            let e = if r.below(2) == 0 {
                T::P
            } else {
                T::C(r.unit() * 5.0 - 2.5)
            };
            T::Bin(Bin::Powf, one_plus_sq(sub(r)), Box::new(e))
        }
        _ => T::If(sub(r), sub(r), sub(r), sub(r)),
    }
}

/// Builds the IR (through the simplifying constructors).
fn build(g: &mut Graph, t: &T) -> Id {
    match t {
        T::X => g.input(),
        T::P => g.param(0),
        T::C(v) => g.constant(*v),
        T::Un(op, a) => {
            let a = build(g, a);
            g.unary(*op, a)
        }
        T::Bin(op, a, b) => {
            let (a, b) = (build(g, a), build(g, b));
            g.binary(*op, a, b)
        }
        T::Powi(a, n) => {
            let a = build(g, a);
            // 1/u with u near 0 is fine for duals but not a fair test of rounding: shift it.
            if *n < 0 {
                let c = g.constant(2.5);
                let t = g.unary(Un::Tanh, a);
                let s = g.add(c, t);
                return g.powi(s, *n);
            }
            g.powi(a, *n)
        }
        T::If(a, b, c, d) => {
            let (a, b) = (build(g, a), build(g, b));
            let m = g.cmp(Cmp::Gt, a, b);
            let (c, d) = (build(g, c), build(g, d));
            g.select(m, c, d)
        }
    }
}

/// The tree on hyper-duals (x seeded, or the parameter seeded).
fn dual(t: &T, x: H, p: H) -> H {
    match t {
        T::X => x,
        T::P => p,
        T::C(v) => H::cst(*v),
        T::Un(op, a) => {
            let a = dual(a, x, p);
            let v = a.a;
            match op {
                Un::Neg => a.neg(),
                Un::Exp => a.chain(v.exp(), v.exp(), v.exp()),
                Un::ExpM1 => a.chain(v.exp_m1(), v.exp(), v.exp()),
                Un::Ln => a.chain(v.ln(), 1.0 / v, -1.0 / (v * v)),
                Un::Ln1p => a.chain(v.ln_1p(), 1.0 / (1.0 + v), -1.0 / ((1.0 + v) * (1.0 + v))),
                Un::Tanh => {
                    let t = v.tanh();
                    let s = 1.0 - t * t;
                    a.chain(t, s, -2.0 * t * s)
                }
                Un::Sigmoid => {
                    let s = sigmoid(v);
                    let d = s * (1.0 - s);
                    a.chain(s, d, d * (1.0 - 2.0 * s))
                }
                Un::Softplus => {
                    let s = sigmoid(v);
                    a.chain(v.max(0.0) + (-v.abs()).exp().ln_1p(), s, s * (1.0 - s))
                }
                Un::Abs => {
                    let s = if v < 0.0 { -1.0 } else { 1.0 };
                    a.chain(v.abs(), s, 0.0)
                }
                Un::Sqrt => {
                    let q = v.sqrt();
                    a.chain(q, 0.5 / q, -0.25 / (q * v))
                }
                Un::Sin => a.chain(v.sin(), v.cos(), -v.sin()),
                Un::Cos => a.chain(v.cos(), -v.sin(), -v.cos()),
                Un::Erf | Un::Erfc => unreachable!("not generated: std has no erf"),
            }
        }
        T::Bin(op, a, b) => {
            let (a, b) = (dual(a, x, p), dual(b, x, p));
            match op {
                Bin::Add => a.add(b),
                Bin::Sub => a.add(b.neg()),
                Bin::Mul => a.mul(b),
                Bin::Div => a.mul(b.recip()),
                Bin::Max => {
                    if a.a > b.a {
                        a
                    } else {
                        b
                    }
                }
                Bin::Min => {
                    if a.a < b.a {
                        a
                    } else {
                        b
                    }
                }
                // aᵇ = exp(b·ln a), a > 0
                Bin::Powf => {
                    let v = a.a;
                    let l = a.chain(v.ln(), 1.0 / v, -1.0 / (v * v));
                    let e = l.mul(b).a.exp();
                    l.mul(b).chain(e, e, e)
                }
            }
        }
        T::Powi(a, n) => {
            let mut u = dual(a, x, p);
            if *n < 0 {
                let t = u.a.tanh();
                let s = 1.0 - t * t;
                u = H::cst(2.5).add(u.chain(t, s, -2.0 * t * s));
            }
            let v = u.a;
            let k = *n as f64;
            u.chain(v.powi(*n), k * v.powi(n - 1), k * (k - 1.0) * v.powi(n - 2))
        }
        T::If(a, b, c, d) => {
            if dual(a, x, p).a > dual(b, x, p).a {
                dual(c, x, p)
            } else {
                dual(d, x, p)
            }
        }
    }
}

/// Evaluates node `id` of `g` in f64 at x with parameter p.
fn eval(g: &Graph, id: Id, x: f64, p: f64) -> f64 {
    let mut v = vec![0.0; g.nodes.len()];
    for i in 0..=id {
        v[i] = match g.nodes[i] {
            Node::Const(b, _) => f64::from_bits(b),
            Node::Input(_) => x,
            Node::Param(_) => p,
            Node::Named(_) => unreachable!("no named constants here"),
            Node::Unary(op, a) => {
                let a = v[a];
                match op {
                    Un::Neg => -a,
                    Un::Exp => a.exp(),
                    Un::ExpM1 => a.exp_m1(),
                    Un::Ln => a.ln(),
                    Un::Ln1p => a.ln_1p(),
                    Un::Tanh => a.tanh(),
                    Un::Abs => a.abs(),
                    Un::Sqrt => a.sqrt(),
                    Un::Sigmoid => sigmoid(a),
                    Un::Softplus => a.max(0.0) + (-a.abs()).exp().ln_1p(),
                    Un::Sin => a.sin(),
                    Un::Cos => a.cos(),
                    Un::Erf | Un::Erfc => unreachable!("not generated: std has no erf"),
                }
            }
            Node::Binary(op, a, b) => {
                let (a, b) = (v[a], v[b]);
                match op {
                    Bin::Add => a + b,
                    Bin::Sub => a - b,
                    Bin::Mul => a * b,
                    Bin::Div => a / b,
                    Bin::Max => a.max(b),
                    Bin::Min => a.min(b),
                    Bin::Powf => a.powf(b),
                }
            }
            Node::Powi(a, n) => v[a].powi(n),
            Node::RoundErr(..) | Node::Shifted(..) => unreachable!("built by repairs only"),
            Node::Cmp(op, a, b) => {
                let r = match op {
                    Cmp::Lt => v[a] < v[b],
                    Cmp::Le => v[a] <= v[b],
                    Cmp::Gt => v[a] > v[b],
                    Cmp::Ge => v[a] >= v[b],
                };
                f64::from(u8::from(r))
            }
            Node::And(a, b) => f64::from(u8::from(v[a] != 0.0 && v[b] != 0.0)),
            Node::Or(a, b) => f64::from(u8::from(v[a] != 0.0 || v[b] != 0.0)),
            Node::Not(a) => f64::from(u8::from(v[a] == 0.0)),
            Node::Select(m, a, b) => {
                if v[m] != 0.0 {
                    v[a]
                } else {
                    v[b]
                }
            }
        }
    }
    v[id]
}

/// `t` built through the simplifying constructors and rewritten, with its first and second
/// derivatives in x.
fn derived(t: &T) -> (Graph, [Id; 3]) {
    let mut g = Graph::default();
    g.input();
    g.param(0);
    let f = build(&mut g, t);
    let (f, _) = rewrite(&mut g, f);
    let dx = diff(&mut g, f, Var::Input(0));
    let dxx = diff(&mut g, dx, Var::Input(0));
    (g, [f, dx, dxx])
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0) || (a.is_nan() && b.is_nan())
}

#[test]
fn derivatives_match_hyper_duals_on_random_formulas() {
    let mut r = Rng(0x2545_F491_4F6C_DD1D);
    let mut checked = 0;
    for case in 0..600 {
        let t = random_formula(&mut r, 5);
        let (mut g, [f, dx, dxx]) = derived(&t);
        let dp = diff(&mut g, f, Var::Param(0));
        for _ in 0..8 {
            let x = r.unit() * 6.0 - 3.0;
            let p = r.unit() * 3.0 - 1.5;
            let hx = dual(&t, H::var(x), H::cst(p));
            let hp = dual(&t, H::cst(x), H::var(p));
            if !(hx.a.is_finite() && hx.b.is_finite() && hx.d.is_finite() && hp.b.is_finite()) {
                continue;
            }
            let ctx = format!("case {case}: {t:?} at x = {x}, p = {p}");
            assert!(close(eval(&g, f, x, p), hx.a), "value: {ctx}");
            assert!(
                close(eval(&g, dx, x, p), hx.b),
                "f': {} vs {}: {ctx}",
                eval(&g, dx, x, p),
                hx.b
            );
            assert!(
                close(eval(&g, dxx, x, p), hx.d),
                "f'': {} vs {}: {ctx}",
                eval(&g, dxx, x, p),
                hx.d
            );
            assert!(
                close(eval(&g, dp, x, p), hp.b),
                "df/dp: {} vs {}: {ctx}",
                eval(&g, dp, x, p),
                hp.b
            );
            checked += 1;
        }
    }
    assert!(checked > 3000, "only {checked} points were checked");
}

#[test]
fn rewrites_preserve_values() {
    // Textbook forms around random inner expressions: the rewritten IR equals the plain formula.
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let u = random_formula(&mut r, 3);
        let e = |t: T| Box::new(T::Un(Un::Exp, Box::new(t)));
        let one = || Box::new(T::C(1.0));
        let forms = [
            T::Un(Un::Ln, Box::new(T::Bin(Bin::Add, one(), e(u.clone())))),
            T::Bin(
                Bin::Div,
                one(),
                Box::new(T::Bin(
                    Bin::Add,
                    one(),
                    e(T::Un(Un::Neg, Box::new(u.clone()))),
                )),
            ),
            T::Bin(Bin::Sub, e(u.clone()), one()),
            T::Bin(
                Bin::Div,
                e(u.clone()),
                Box::new(T::Bin(Bin::Add, one(), e(u.clone()))),
            ),
            T::Bin(
                Bin::Sub,
                one(),
                Box::new(T::Un(Un::Sigmoid, Box::new(u.clone()))),
            ),
        ];
        for t in forms {
            let mut g = Graph::default();
            g.input();
            g.param(0);
            let f = build(&mut g, &t);
            let (f2, _) = rewrite(&mut g, f);
            for _ in 0..4 {
                let (x, p) = (r.unit() * 6.0 - 3.0, r.unit() * 2.0 - 1.0);
                let want = dual(&t, H::cst(x), H::cst(p)).a;
                if want.is_finite() {
                    assert!(close(eval(&g, f, x, p), want), "simplified {t:?}");
                    let got = eval(&g, f2, x, p);
                    assert!(
                        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                        "rewritten {t:?}: {got} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn repairs_preserve_values() {
    // The gated repairs on random formulas and on their derivatives (whose quotient and
    // product rules give common factors and sums to split), and on forms made to match each:
    // the repaired IR has the values of the unrepaired one.
    let mut r = Rng(0xD1B5_4A32_D192_ED03);
    let mut fired = Vec::new();
    let mut checked = 0;
    for case in 0..400 {
        let u = random_formula(&mut r, 4);
        let v = random_formula(&mut r, 3);
        let b = |t: &T| Box::new(t.clone());
        let e = |k: f64, t: &T| {
            let arg = T::Bin(Bin::Mul, Box::new(T::C(k)), Box::new(t.clone()));
            Box::new(T::Un(Un::Exp, Box::new(T::Un(Un::Tanh, Box::new(arg)))))
        };
        let t = match case % 6 {
            0 => u,
            1 => T::Bin(
                Bin::Div,
                Box::new(T::Bin(Bin::Add, b(&u), b(&v))),
                Box::new(T::C(2.0)),
            ),
            2 => T::Bin(
                Bin::Mul,
                Box::new(T::Bin(Bin::Mul, e(0.5, &u), e(0.5, &u))),
                Box::new(T::Bin(Bin::Mul, e(-1.0, &u), b(&v))),
            ),
            3 => T::Bin(
                Bin::Sub,
                Box::new(T::Bin(Bin::Mul, b(&u), b(&v))),
                Box::new(T::Bin(Bin::Mul, b(&v), Box::new(T::C(0.75)))),
            ),
            // ISRU of u (hypot_regime's select, whose derivative holds it again).
            4 => {
                let sq = T::Bin(Bin::Mul, b(&u), b(&u));
                let s = T::Bin(Bin::Add, Box::new(sq), Box::new(T::C(1.0)));
                T::Bin(Bin::Div, b(&u), Box::new(T::Un(Un::Sqrt, Box::new(s))))
            }
            // Softsign of x (its derivative's 1 − (x/(k + |x|))·sign(x)), every other time.
            _ if (case / 6) % 2 == 1 => {
                let k = Box::new(T::C(0.5 + (case % 7) as f64));
                let den = T::Bin(Bin::Add, k, Box::new(T::Un(Un::Abs, Box::new(T::X))));
                T::Bin(Bin::Div, Box::new(T::X), Box::new(den))
            }
            // A select inside a select of the same condition.
            _ => T::If(
                b(&u),
                b(&v),
                Box::new(T::If(b(&u), b(&v), b(&v), Box::new(T::X))),
                b(&u),
            ),
        };
        let (mut g, exprs) = derived(&t);
        let repaired: Vec<Id> = exprs
            .iter()
            .map(|&id| {
                let lift = case % 2 == 0 || (case % 6 == 5 && (case / 6) % 2 == 0);
                let (id, names) = repair(&mut g, id, lift);
                for n in names {
                    if !fired.contains(&n) {
                        fired.push(n);
                    }
                }
                id
            })
            .collect();
        for _ in 0..6 {
            let (x, p) = (r.unit() * 6.0 - 3.0, r.unit() * 3.0 - 1.5);
            for (&a, &b) in exprs.iter().zip(&repaired) {
                let (want, got) = (eval(&g, a, x, p), eval(&g, b, x, p));
                if want.is_finite() {
                    assert!(
                        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                        "case {case}: {t:?} at x = {x}, p = {p}: {got} vs {want}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 5000, "only {checked} values were checked");
    for name in crate::repair::names() {
        assert!(fired.contains(&name), "{name} never fired");
    }
}
