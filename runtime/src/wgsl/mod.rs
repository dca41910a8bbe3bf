//! WGSL compute shaders from an activation's graph ([`crate::ir`]): forward, backward (with
//! the parameter gradients reduced per workgroup), double backward and backward from the
//! output, for any `#[activation]` (feature `wgsl`; the `gpu` feature runs them through wgpu).
//!
//! **One source of truth.** The macro exports the graph; this module translates it. The vector
//! math (exp, exp_m1, ln, ln_1p, tanh, sigmoid, softplus, sin, cos, erf, erfc and the fused
//! sigmoid products) is not rewritten for the GPU: the runtime's own `crate::math` runs on a
//! vector type that records WGSL instead of computing (`rec`), so each shader function is that
//! code, with its coefficients, its range reductions and its special cases. The NaN and ±inf
//! guards are recorded the same way from the CPU's guard code, so the GPU's limits at ±inf are
//! the CPU's.
//!
//! **Accuracy on a GPU.** The recorded math is exact where the CPU's is, given IEEE `f32`
//! arithmetic. WGSL (and Vulkan under it) allows less: division within 2.5 ULP, `sqrt` within
//! a few ULP, subnormals flushed to zero. Where a device does that, the results follow: the
//! sigmoid family divides once (up to ~2 ULP more), and values that are subnormal in `f32`
//! (|y| < 1.2e−38, for example σ(x) below x ≈ −87) become ±0 on a device that flushes. `fma`
//! is not taken as fused (Vulkan allows a multiply and an add; lavapipe's is that): the math takes
//! its paths that need no fused multiply-add, as on the portable CPU path, whose error bounds
//! it therefore has. sin and cos beyond the reduction's range
//! (|x| > 65,536), where the CPU reduces in `f64`, are NaN on the GPU (WGSL has no `f64`, and
//! GPUs' own `sin`/`cos` are arbitrary there).
//!
//! GPU compilers may reassociate floating-point arithmetic (Mesa does, and WGSL cannot mark an
//! operation precise), which breaks the range reductions' exact steps: on lavapipe, eˣ was off
//! by up to 17 ULP. So every `fma` result, and the few values the math marks with
//! `Vector::keep`, pass through `ag_opaque` (an XOR with a zero read from the `info` buffer),
//! which no compiler can see through; with it lavapipe's eˣ is within 1 ULP, as the CPU's.
//!
//! **Layout.** Every shader has one entry point, `main`, with `@workgroup_size(256)`, launched
//! over a 2-D grid of workgroups (`x` at most 65,535; element `i = (wg.y · n_wg.x + wg.x) · 256
//! + local`), and these storage buffers in group 0:
//! - binding 0, `info: array<u32>`: `info[0]` = the entry count of the arrays below (n, the
//!   element count, for [`Storage::F32`]; ⌈n/2⌉ for [`Storage::F16`]), `info[1]` = 0 (read
//!   as the zero of `ag_opaque`), `info[2]` = n;
//! - binding 1, `params: array<f32>`: the parameters in declaration order (absent when there
//!   are none);
//! - then, per [`Pass`]: the inputs and outputs listed there, in order, each `array<f32>` of
//!   n elements ([`Source::wgsl`]), or `array<u32>` of ⌈n/2⌉ binary16 pairs
//!   ([`Source::wgsl_as`] with [`Storage::F16`]); for [`Pass::Backward`] of a formula with P > 0 parameters, last,
//!   `sums: array<f32>`, one row of P per workgroup: `sums[w·P + j] = Σ dy·∂f/∂pⱼ` over
//!   workgroup w's elements (a fixed-order tree in `f32`), for the host to add up in `f64`.

mod rec;

use crate::error::Error;
use crate::formula::{
    Checked, Formula, Guard, MAX_INPUTS, MAX_PARAMS, MultiFormula, MultiGradMasks, MultiGrads,
    second_index, stand_in_search,
};
use crate::ir::{Binary, Call, Ir, Unary};
use crate::simd::Vector;
use rec::{Rec, RecMask};
use std::fmt::Write as _;
use std::sync::OnceLock;

/// The threads of a workgroup (elements per workgroup).
pub const WORKGROUP_SIZE: u32 = 256;

/// The most workgroups along a grid dimension (WebGPU's default limit).
pub const MAX_GRID_X: u32 = 65_535;

/// A pass of an activation, as one compute shader. Buffers after `info` and `params` (see the
/// module docs), in order:
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pass {
    /// `x₀ … x_{K−1}` (read), `y` (written): `y = f(x)`.
    Forward,
    /// `x₀ … x_{K−1}`, `dy` (read), `dx₀ … dx_{K−1}` (written), then `sums` if the formula has
    /// parameters: `dxₖ = dy · ∂f/∂xₖ`, and the parameter gradients' workgroup sums.
    Backward,
    /// One input: `x`, `dy` (read), `out` (written): `out = dy · f″(x)`. K inputs: `x₀ …
    /// x_{K−1}`, `dy`, `v₀ … v_{K−1}` (read), `out₀ … out_{K−1}` (written): `outⱼ = dy · Σₖ vₖ ·
    /// ∂²f/∂xₖ∂xⱼ`, the double backward (as the CPU's `MultiActivation::grad2`).
    Grad2,
    /// `y`, `dy` (read), `dx` (written): `dx = dy · f′` from the output `y = f(x)` (formulas
    /// with a from-output form).
    BackwardFromOutput,
}

/// An activation's graph and guards, whatever its number of inputs: what the shaders are
/// built from.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    /// The activation's name.
    pub name: &'static str,
    /// Its graph.
    pub ir: Ir,
    /// The guard of the forward body.
    pub forward: Guard,
    /// The guard of ∂f/∂x (one input) or of the partials (several).
    pub derivative: Guard,
    /// The guard of the body of all partials.
    pub grads: Guard,
    /// The guard of ∂²f/∂x² (one input) or of the second partials (several).
    pub second: Guard,
    /// The guard of the from-output form.
    pub from_output: Guard,
}

impl Source {
    /// The graph and guards of a one-input activation.
    pub fn of<F: Formula>() -> Source {
        let g = F::GUARDS;
        Source {
            name: F::NAME,
            ir: F::IR,
            forward: g.forward,
            derivative: g.derivative,
            grads: g.grads,
            second: g.second,
            from_output: g.from_output,
        }
    }

    /// The graph and guards of a K-input activation.
    pub fn of_multi<F: MultiFormula<K>, const K: usize>() -> Source {
        let g = F::GUARDS;
        Source {
            name: F::NAME,
            ir: F::IR,
            forward: g.forward,
            derivative: g.grads,
            grads: g.grads,
            second: g.second,
            from_output: g.grads,
        }
    }

    /// The WGSL of `pass` (see [`Pass`] for its buffers).
    ///
    /// # Errors
    /// [`Error::NoBackwardFromOutput`] for [`Pass::BackwardFromOutput`] where the activation
    /// has no from-output form; [`Error::MultiInput`] for [`Pass::BackwardFromOutput`] of a
    /// formula with several inputs.
    pub fn wgsl(&self, pass: Pass) -> Result<String, Error> {
        self.wgsl_as(pass, Storage::F32)
    }

    /// The WGSL of `pass` with its inputs and outputs stored as `storage` (the parameters and
    /// the parameter sums stay `f32`).
    ///
    /// # Errors
    /// As [`Source::wgsl`].
    pub fn wgsl_as(&self, pass: Pass, storage: Storage) -> Result<String, Error> {
        let k = self.ir.inputs;
        if k > 1 && pass == Pass::BackwardFromOutput {
            return Err(Error::MultiInput {
                name: self.name.to_string(),
                inputs: k,
            });
        }
        if pass == Pass::BackwardFromOutput && self.ir.from_output.is_none() {
            return Err(Error::NoBackwardFromOutput {
                activation: self.name,
            });
        }
        Ok(shader(self, pass, storage))
    }
}

/// How a shader's inputs and outputs are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// `array<f32>`, one element per entry.
    F32,
    /// IEEE binary16, two elements per `u32` entry (element 2m in the low half of entry m),
    /// `array<u32>`: no device feature needed. Each element is widened exactly, computed in
    /// `f32` as with [`Storage::F32`], and rounded to nearest, ties to even, in integer
    /// arithmetic (WGSL leaves the rounding of its own `f16` conversion to the device), so a
    /// result is the rounding of the `f32` pass's; a NaN is stored as the quiet NaN `0x7e00`
    /// with its sign, as the CPU's `half::f16` path stores it. `info[0]` counts the entries
    /// (⌈n/2⌉), `info[2]` the elements: for odd n the last entry's high half is left as it was.
    F16,
    /// bfloat16, two elements per `u32` entry as [`Storage::F16`]: widened exactly (the upper
    /// half of an f32), rounded to nearest even (a NaN keeps its upper half with the quiet bit
    /// set), as the CPU's `half::bf16` path rounds.
    Bf16,
}

/// binary16 bits (the low 16 of `h`) widened to f32 exactly, in integer arithmetic; and an f32
/// rounded to binary16 bits (nearest, ties to even; overflow to ±inf, NaN to ±0x7e00).
const F16_LIBRARY: &str = "fn ag_widen(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 0u) {
        if (m == 0u) {
            return bitcast<f32>(sign);
        }
        // m·2⁻²⁴ with m's leading bit at position b: 2^(b − 24)·(m / 2^b).
        let b = firstLeadingBit(m);
        return bitcast<f32>(sign | ((b + 103u) << 23u) | ((m << (23u - b)) & 0x7fffffu));
    }
    if (e == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
    }
    return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

fn ag_narrow(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 16u) & 0x8000u;
    let a = b & 0x7fffffffu;
    if (a > 0x7f800000u) {
        return sign | 0x7e00u;
    }
    // From 65520 (halfway between 65504 and 2¹⁶) on: ±inf.
    if (a >= 0x477ff000u) {
        return sign | 0x7c00u;
    }
    // Normal in binary16 (from 2⁻¹⁴): rebias, round away 13 bits (a carry may reach the
    // exponent, as it should).
    if (a >= 0x38800000u) {
        let r = a - 0x38000000u;
        return sign | ((r + 0xfffu + ((r >> 13u) & 1u)) >> 13u);
    }
    // Subnormal or zero: |x|·2²⁴ rounded; below 2⁻²⁵ (and f32 subnormals) that is 0.
    let e = a >> 23u;
    if (e < 102u) {
        return sign;
    }
    let mant = (a & 0x7fffffu) | 0x800000u;
    let shift = 126u - e;
    let q = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    let up = rem > half || (rem == half && (q & 1u) == 1u);
    return sign | (q + select(0u, 1u, up));
}
";

/// bfloat16 bits widened (exact) and an f32 rounded to bfloat16 bits (nearest, ties to even;
/// NaN: its upper half, quiet).
const BF16_LIBRARY: &str = "fn ag_widen(h: u32) -> f32 {
    return bitcast<f32>(h << 16u);
}

fn ag_narrow(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return (b >> 16u) | 0x40u;
    }
    return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}
";

/// Two f32 values rounded into one entry (`ag_narrow`), the high half kept from `old` unless
/// `both`.
const PACK: &str = "fn ag_pack(a: f32, b: f32, both: bool, old: u32) -> u32 {
    return ag_narrow(a) | (select(old >> 16u, ag_narrow(b), both) << 16u);
}
";

/// A unary function of the vector math, on recorded values.
type UnaryFn = fn(Rec) -> Rec;
/// A binary one.
type BinaryFn = fn(Rec, Rec) -> Rec;
/// A ternary one.
type TernaryFn = fn(Rec, Rec, Rec) -> Rec;

/// The vector math as WGSL functions (`ag_exp`, `ag_sigmoid`, …), recorded once.
pub fn math_library() -> &'static str {
    static LIB: OnceLock<String> = OnceLock::new();
    LIB.get_or_init(|| {
        use crate::math;
        let mut out = String::from(rec::PRELUDE);
        let unary: [(&str, UnaryFn); 11] = [
            ("exp", math::exp),
            ("exp_m1", math::exp_m1),
            ("ln", math::ln),
            ("ln_1p", math::ln_1p),
            ("tanh", math::tanh),
            ("sigmoid", math::sigmoid),
            ("softplus", math::softplus),
            ("sin", math::sin),
            ("cos", math::cos),
            ("erf", math::erf),
            ("erfc", math::erfc),
        ];
        for (name, f) in unary {
            out.push('\n');
            out.push_str(&rec::function(
                &format!("fn ag_{name}(a: f32) -> f32"),
                || f(Rec::arg("a")).name(),
            ));
        }
        out.push('\n');
        out.push_str(&rec::function(
            "fn ag_sigmoid_product(a: f32) -> f32",
            || math::sigmoid_product(Rec::arg("a")).name(),
        ));
        let binary: [(&str, BinaryFn); 13] = [
            ("mul_sigmoid", math::mul_sigmoid),
            ("mul_sigmoid_product", math::mul_sigmoid_product),
            ("mul_erfc", math::mul_erfc),
            ("linear_mul_sigmoid", math::linear_mul_sigmoid),
            ("max_num", math::max_num),
            ("min_num", math::min_num),
            ("powf", math::powf),
            ("add_err", math::add_err),
            ("sub_err", math::sub_err),
            ("mul_err", math::mul_err),
            ("exp_shifted", math::exp_shifted),
            ("sigmoid_shifted", math::sigmoid_shifted),
            ("erfc_shifted", math::erfc_shifted),
        ];
        for (name, f) in binary {
            out.push('\n');
            out.push_str(&rec::function(
                &format!("fn ag_{name}(a: f32, b: f32) -> f32"),
                || f(Rec::arg("a"), Rec::arg("b")).name(),
            ));
        }
        let ternary: [(&str, TernaryFn); 3] = [
            ("mul2_sigmoid_product", math::mul2_sigmoid_product),
            ("mul_sigmoid_shifted", math::mul_sigmoid_shifted),
            ("mul_erfc_shifted", math::mul_erfc_shifted),
        ];
        for (name, f) in ternary {
            out.push('\n');
            out.push_str(&rec::function(
                &format!("fn ag_{name}(a: f32, b: f32, c: f32) -> f32"),
                || f(Rec::arg("a"), Rec::arg("b"), Rec::arg("c")).name(),
            ));
        }
        out
    })
}

/// The WGSL function the recorded bodies call for `call`.
fn call_name(call: Call) -> &'static str {
    match call {
        Call::Unary(op) => match op {
            Unary::Exp => "ag_exp",
            Unary::ExpM1 => "ag_exp_m1",
            Unary::Ln => "ag_ln",
            Unary::Ln1p => "ag_ln_1p",
            Unary::Tanh => "ag_tanh",
            Unary::Sigmoid => "ag_sigmoid",
            Unary::Softplus => "ag_softplus",
            Unary::Sin => "ag_sin",
            Unary::Cos => "ag_cos",
            Unary::Erf => "ag_erf",
            Unary::Erfc => "ag_erfc",
            Unary::Neg | Unary::Abs | Unary::Sqrt => unreachable!("inline operations"),
        },
        Call::Binary(op) => match op {
            Binary::Max => "ag_max_num",
            Binary::Min => "ag_min_num",
            Binary::Powf => "ag_powf",
            _ => unreachable!("inline operations"),
        },
        Call::SigmoidProduct => "ag_sigmoid_product",
        Call::MulSigmoidProduct => "ag_mul_sigmoid_product",
        Call::Mul2SigmoidProduct => "ag_mul2_sigmoid_product",
        Call::MulSigmoid => "ag_mul_sigmoid",
        Call::LinearMulSigmoid => "ag_linear_mul_sigmoid",
        Call::RoundErr(op) => match op {
            Binary::Add => "ag_add_err",
            Binary::Sub => "ag_sub_err",
            _ => "ag_mul_err",
        },
        Call::Shifted(op) => match op {
            Unary::Exp => "ag_exp_shifted",
            Unary::Sigmoid => "ag_sigmoid_shifted",
            _ => "ag_erfc_shifted",
        },
        Call::MulSigmoidShifted => "ag_mul_sigmoid_shifted",
        Call::MulErfc => "ag_mul_erfc",
        Call::MulErfcShifted => "ag_mul_erfc_shifted",
    }
}

/// Records a call of the math library's function for `call`, or the formula's arithmetic.
/// Every result is kept from reassociation and contraction (see `Vector::keep`): a CPU rounds
/// each operation of the formula where it stands, and so must the GPU for the same values
/// (GeGLU-tanh's argument `x + 0.044715·x³` amplifies the rounding of its product 100-fold;
/// lavapipe moved a multiplication by 1e38 into eˣ's final scaling, so that e^−104 was not
/// rounded to 0 first).
fn record_call(call: Call, args: &[Rec]) -> Rec {
    if let Call::Binary(op @ (Binary::Add | Binary::Sub | Binary::Mul | Binary::Div)) = call {
        return crate::ir::math_call(Call::Binary(op), args).keep();
    }
    let names: Vec<String> = args.iter().map(|a| a.name()).collect();
    Rec::expr(format!("{}({})", call_name(call), names.join(", "))).keep()
}

/// The number of slots of a checked body's result (`Chk`).
const SLOTS: usize = MAX_INPUTS + MAX_PARAMS;

/// One body: which roots, its guard, and how its ±inf search runs.
struct Body<'a> {
    /// The name suffix of its functions.
    tag: &'a str,
    roots: Vec<usize>,
    guard: Guard,
    /// `(zeros, subnormal_counts)` of [`stand_in_search`].
    search: (bool, bool),
}

/// `x0, x1, …, p0, p1, …` as a parameter list (`f32` each).
fn arg_list(k: usize, p: usize, decl: bool) -> String {
    let ty = if decl { ": f32" } else { "" };
    let mut v: Vec<String> = (0..k).map(|i| format!("x{i}{ty}")).collect();
    v.extend((0..p).map(|j| format!("p{j}{ty}")));
    v.join(", ")
}

/// The value type of a body with `n` roots.
fn ret_type(n: usize) -> String {
    if n == 1 {
        "f32".into()
    } else {
        format!("array<f32, {n}>")
    }
}

/// `names` as a value of [`ret_type`].
fn ret_value(names: &[String]) -> String {
    if names.len() == 1 {
        names[0].clone()
    } else {
        format!("array<f32, {}>({})", names.len(), names.join(", "))
    }
}

/// The recorded input and parameter arguments.
fn args(k: usize, p: usize) -> (Vec<Rec>, Vec<Rec>) {
    let xs = (0..k).map(|i| Rec::arg(&format!("x{i}"))).collect();
    let ps = (0..p).map(|j| Rec::arg(&format!("p{j}"))).collect();
    (xs, ps)
}

/// The functions of one body: `b_TAG` (the plain body), and with a ±inf guard `c_TAG` (the
/// checked body) and `l_TAG` (the search), then `g_TAG` (the guarded body).
fn body_functions(src: &Source, body: &Body, out: &mut String) {
    let ir = &src.ir;
    let (k, p, n) = (ir.inputs, ir.params, body.roots.len());
    let tag = body.tag;
    let decl = arg_list(k, p, true);
    let call = arg_list(k, p, false);
    // The plain body.
    out.push_str(&rec::function(
        &format!("fn b_{tag}({decl}) -> {}", ret_type(n)),
        || {
            let (xs, ps) = args(k, p);
            let (vals, _) = ir.eval_with(&body.roots, &xs, &ps, false, &mut record_call);
            ret_value(&vals.iter().map(|v| v.name()).collect::<Vec<_>>())
        },
    ));
    out.push('\n');
    if body.guard.inf {
        // The checked body: values and a bit mask of the unreliable ones.
        out.push_str(&rec::function(
            &format!("fn c_{tag}({decl}) -> Chk"),
            || {
                let (xs, ps) = args(k, p);
                let (vals, masks) = ir.eval_with(&body.roots, &xs, &ps, true, &mut record_call);
                let mut v: Vec<String> = vals.iter().map(|v| v.name()).collect();
                v.resize(SLOTS, "0.0f".into());
                let bits: Vec<String> = masks
                    .iter()
                    .enumerate()
                    .map(|(i, m)| format!("select(0u, {}u, {})", 1u32 << i, m.name()))
                    .collect();
                format!(
                    "Chk(array<f32, {SLOTS}>({}), {})",
                    v.join(", "),
                    if bits.is_empty() {
                        "0u".into()
                    } else {
                        bits.join(" | ")
                    }
                )
            },
        ));
        out.push('\n');
        // The search, recorded from the CPU's.
        let rdecl: Vec<String> = (0..n).map(|i| format!("r{i}: f32")).collect();
        out.push_str(&rec::function(
            &format!(
                "fn l_{tag}({decl}, {}) -> {}",
                rdecl.join(", "),
                ret_type(n)
            ),
            || {
                let (xs, ps) = args(k, p);
                let rs: Vec<Rec> = (0..n).map(|i| Rec::arg(&format!("r{i}"))).collect();
                let out = match k {
                    1 => search::<1>(&xs, &ps, &rs, body),
                    2 => search::<2>(&xs, &ps, &rs, body),
                    3 => search::<3>(&xs, &ps, &rs, body),
                    _ => search::<4>(&xs, &ps, &rs, body),
                };
                ret_value(&out.iter().map(|v| v.name()).collect::<Vec<_>>())
            },
        ));
        out.push('\n');
    }
    // The guarded body.
    let mut g = format!("fn g_{tag}({decl}) -> {} {{\n", ret_type(n));
    let _ = writeln!(g, "    var r = b_{tag}({call});");
    let elems: Vec<String> = if n == 1 {
        vec!["r".into()]
    } else {
        (0..n).map(|i| format!("r[{i}]")).collect()
    };
    let isnan = |v: &str| format!("((bitcast<u32>({v}) & 0x7fffffffu) > 0x7f800000u)");
    if body.guard.inf {
        let any_nan: Vec<String> = elems.iter().map(|e| isnan(e)).collect();
        let _ = writeln!(g, "    if ({}) {{", any_nan.join(" || "));
        let _ = writeln!(g, "        r = l_{tag}({call}, {});", elems.join(", "));
        g.push_str("    }\n");
    }
    if body.guard.nan {
        // One input: a NaN input gives NaN (the input itself); several: their sum, NaN
        // wherever one of them is.
        let xs: Vec<String> = (0..k).map(|i| format!("x{i}")).collect();
        let nan: Vec<String> = xs.iter().map(|x| isnan(x)).collect();
        let _ = writeln!(g, "    let nan_in = {};", nan.join(" || "));
        let _ = writeln!(g, "    let source = {};", xs.join(" + "));
        for e in &elems {
            let _ = writeln!(g, "    {e} = select({e}, source, nan_in);");
        }
    }
    g.push_str("    return r;\n}\n\n");
    out.push_str(&g);
}

/// The ±inf search of `body`, recorded (see [`stand_in_search`]).
fn search<const K: usize>(xs: &[Rec], ps: &[Rec], rs: &[Rec], body: &Body) -> Vec<Rec> {
    let x: [Rec; K] = core::array::from_fn(|i| xs[i]);
    let n = rs.len();
    let mut r: MultiGrads<Rec> = [rs[0]; SLOTS];
    r[..n].copy_from_slice(rs);
    let tag = body.tag;
    let checked: Checked<'_, Rec, K> = &mut |s: &[Rec; K]| {
        let mut args: Vec<String> = s.iter().map(|v| v.name()).collect();
        args.extend(ps.iter().map(|v| v.name()));
        let c = Rec::expr(format!("c_{tag}({})", args.join(", ")));
        let values: MultiGrads<Rec> =
            core::array::from_fn(|i| Rec::expr(format!("{}.v[{i}]", c.name())));
        let masks: MultiGradMasks<Rec> = core::array::from_fn(|i| {
            RecMask::expr(format!("({}.q & {}u) != 0u", c.name(), 1u32 << i))
        });
        (values, masks)
    };
    stand_in_search(&x, &mut r, n, body.search, checked);
    r[..n].to_vec()
}

/// The shader of `pass` (checked by [`Source::wgsl`]).
fn shader(src: &Source, pass: Pass, storage: Storage) -> String {
    // Half-precision storage, two elements per u32 entry.
    let f16 = storage != Storage::F32;
    let ir = &src.ir;
    let (k, p) = (ir.inputs, ir.params);
    let one = k == 1;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// actigen: {} ({pass:?}), generated from the activation's graph.\n",
        src.name
    );
    let _ = writeln!(
        out,
        "struct Chk {{\n    v: array<f32, {SLOTS}>,\n    q: u32,\n}}\n"
    );
    out.push_str(math_library());
    out.push('\n');
    if f16 {
        out.push_str(if storage == Storage::F16 {
            F16_LIBRARY
        } else {
            BF16_LIBRARY
        });
        out.push('\n');
        out.push_str(PACK);
        out.push('\n');
    }
    // Bodies.
    let search = (one, !one);
    let mut bodies = Vec::new();
    match pass {
        Pass::Forward => bodies.push(Body {
            tag: "f",
            roots: vec![ir.forward],
            guard: src.forward,
            search,
        }),
        Pass::Backward => {
            if one {
                bodies.push(Body {
                    tag: "d",
                    roots: vec![ir.partials[0]],
                    guard: src.derivative,
                    search,
                });
                if p > 0 {
                    bodies.push(Body {
                        tag: "g",
                        roots: ir.partials.to_vec(),
                        guard: src.grads,
                        search: (true, true),
                    });
                }
            } else {
                bodies.push(Body {
                    tag: "g",
                    roots: ir.partials.to_vec(),
                    guard: src.grads,
                    search,
                });
            }
        }
        Pass::Grad2 => bodies.push(Body {
            tag: "s",
            roots: if one {
                vec![ir.second.expect("a formula of one input has f″")]
            } else {
                ir.seconds.to_vec()
            },
            guard: src.second,
            search,
        }),
        Pass::BackwardFromOutput => bodies.push(Body {
            tag: "o",
            roots: vec![ir.from_output.expect("checked")],
            guard: src.from_output,
            search,
        }),
    }
    for b in &bodies {
        body_functions(src, b, &mut out);
    }
    // Buffers.
    out.push_str("@group(0) @binding(0) var<storage, read> info: array<u32>;\n");
    if p > 0 {
        out.push_str("@group(0) @binding(1) var<storage, read> params: array<f32>;\n");
    }
    let mut binding = 2;
    let mut buffer = |out: &mut String, name: &str, write: bool| {
        let access = if write { "read_write" } else { "read" };
        // The parameter sums stay f32.
        let ty = if f16 && name != "sums" { "u32" } else { "f32" };
        let _ = writeln!(
            out,
            "@group(0) @binding({binding}) var<storage, {access}> {name}: array<{ty}>;"
        );
        binding += 1;
    };
    match pass {
        Pass::Forward => {
            for i in 0..k {
                buffer(&mut out, &format!("in{i}"), false);
            }
            buffer(&mut out, "out_y", true);
        }
        Pass::Backward => {
            for i in 0..k {
                buffer(&mut out, &format!("in{i}"), false);
            }
            buffer(&mut out, "in_dy", false);
            for i in 0..k {
                buffer(&mut out, &format!("out_dx{i}"), true);
            }
            if p > 0 {
                buffer(&mut out, "sums", true);
            }
        }
        Pass::Grad2 if !one => {
            for i in 0..k {
                buffer(&mut out, &format!("in{i}"), false);
            }
            buffer(&mut out, "in_dy", false);
            for i in 0..k {
                buffer(&mut out, &format!("in_v{i}"), false);
            }
            for i in 0..k {
                buffer(&mut out, &format!("out_dx{i}"), true);
            }
        }
        Pass::Grad2 | Pass::BackwardFromOutput => {
            buffer(&mut out, "in0", false);
            buffer(&mut out, "in_dy", false);
            buffer(&mut out, "out_dx0", true);
        }
    }
    let reduce = pass == Pass::Backward && p > 0;
    if reduce {
        let _ = writeln!(
            out,
            "var<workgroup> red: array<f32, {}>;",
            WORKGROUP_SIZE as usize * p
        );
    }
    // The entry point.
    let _ = writeln!(
        out,
        "\n@compute @workgroup_size({WORKGROUP_SIZE})\nfn main(\n    @builtin(workgroup_id) wg: vec3<u32>,\n    @builtin(num_workgroups) nwg: vec3<u32>,\n    @builtin(local_invocation_index) lid: u32,\n) {{"
    );
    let _ = writeln!(out, "    let group = wg.y * nwg.x + wg.x;");
    let _ = writeln!(out, "    let i = group * {WORKGROUP_SIZE}u + lid;");
    let _ = writeln!(out, "    let live = i < info[0];");
    // The zero of `ag_opaque`, which the compiler cannot know.
    let _ = writeln!(out, "    ag_zero = info[1];");
    for j in 0..p {
        let _ = writeln!(out, "    let p{j} = params[{j}];");
    }
    let pargs: Vec<String> = (0..p).map(|j| format!("p{j}")).collect();
    let with = |xs: Vec<String>| {
        let mut a = xs;
        a.extend(pargs.iter().cloned());
        a.join(", ")
    };
    if reduce {
        for j in 0..p {
            let _ = writeln!(out, "    var s{j} = 0.0f;");
        }
    }
    out.push_str("    if (live) {\n");
    // The lanes of one entry: one element in f32, two (low and high halves) in f16.
    let lanes: &[&str] = if f16 { &["l", "h"] } else { &[""] };
    let load = |out: &mut String, name: &str, buf: &str| {
        if f16 {
            let _ = writeln!(out, "        let w_{name} = {buf}[i];");
            let _ = writeln!(out, "        let {name}l = ag_widen(w_{name} & 0xffffu);");
            let _ = writeln!(out, "        let {name}h = ag_widen(w_{name} >> 16u);");
        } else {
            let _ = writeln!(out, "        let {name} = {buf}[i];");
        }
    };
    if f16 {
        out.push_str("        let both = 2u * i + 1u < info[2];\n");
    }
    for i in 0..k {
        load(&mut out, &format!("x{i}"), &format!("in{i}"));
    }
    // `buf[i] = value`, with the value per lane (`l` the lane's suffix).
    let store = |out: &mut String, buf: &str, value: &dyn Fn(&str) -> String| {
        if f16 {
            let _ = writeln!(
                out,
                "        {buf}[i] = ag_pack({}, {}, both, {buf}[i]);",
                value("l"),
                value("h")
            );
        } else {
            let _ = writeln!(out, "        {buf}[i] = {};", value(""));
        }
    };
    // The inputs of lane `l`, then the parameters.
    let call = |body: &str, l: &str| {
        let xs: Vec<String> = (0..k).map(|i| format!("x{i}{l}")).collect();
        format!("{body}({})", with(xs))
    };
    // s_j += dy·r[at] over the lanes (the high lane only where it is an element).
    let sum = |out: &mut String, j: usize, at: usize| {
        let terms: Vec<String> = lanes
            .iter()
            .map(|l| {
                let t = format!("dy{l} * r{l}[{at}]");
                if *l == "h" {
                    format!("select(0.0f, {t}, both)")
                } else {
                    t
                }
            })
            .collect();
        let _ = writeln!(out, "        s{j} = {};", terms.join(" + "));
    };
    match pass {
        Pass::Forward => store(&mut out, "out_y", &|l| call("g_f", l)),
        Pass::Backward => {
            load(&mut out, "dy", "in_dy");
            if one {
                store(&mut out, "out_dx0", &|l| {
                    format!("dy{l} * {}", call("g_d", l))
                });
                if reduce {
                    for l in lanes {
                        let _ = writeln!(out, "        let r{l} = {};", call("g_g", l));
                    }
                    for j in 0..p {
                        sum(&mut out, j, 1 + j);
                    }
                }
            } else {
                for l in lanes {
                    let _ = writeln!(out, "        let r{l} = {};", call("g_g", l));
                }
                for i in 0..k {
                    store(&mut out, &format!("out_dx{i}"), &|l| {
                        format!("dy{l} * r{l}[{i}]")
                    });
                }
                for j in 0..p {
                    sum(&mut out, j, k + j);
                }
            }
        }
        Pass::Grad2 if !one => {
            load(&mut out, "dy", "in_dy");
            for i in 0..k {
                load(&mut out, &format!("v{i}"), &format!("in_v{i}"));
            }
            for l in lanes {
                let _ = writeln!(out, "        let r{l} = {};", call("g_s", l));
            }
            // out_j = dy · Σ_i v_i · ∂²f/∂x_i∂x_j, the terms in the CPU's order.
            for j in 0..k {
                store(&mut out, &format!("out_dx{j}"), &|l| {
                    let terms: Vec<String> = (0..k)
                        .map(|i| format!("v{i}{l} * r{l}[{}]", second_index(k, i, j)))
                        .collect();
                    format!("dy{l} * ({})", terms.join(" + "))
                });
            }
        }
        Pass::Grad2 | Pass::BackwardFromOutput => {
            load(&mut out, "dy", "in_dy");
            let body = if pass == Pass::Grad2 { "g_s" } else { "g_o" };
            store(&mut out, "out_dx0", &|l| {
                format!("dy{l} * {}", call(body, l))
            });
        }
    }
    out.push_str("    }\n");
    if reduce {
        // A fixed-order tree over the workgroup, per parameter.
        for j in 0..p {
            let _ = writeln!(out, "    red[{j}u * {WORKGROUP_SIZE}u + lid] = s{j};");
        }
        let _ = writeln!(out, "    workgroupBarrier();");
        let _ = writeln!(
            out,
            "    for (var step = {}u; step > 0u; step = step >> 1u) {{",
            WORKGROUP_SIZE / 2
        );
        out.push_str("        if (lid < step) {\n");
        for j in 0..p {
            let b = j * WORKGROUP_SIZE as usize;
            let _ = writeln!(
                out,
                "            red[{b}u + lid] = red[{b}u + lid] + red[{b}u + lid + step];"
            );
        }
        out.push_str("        }\n        workgroupBarrier();\n    }\n");
        out.push_str("    if (lid == 0u) {\n");
        for j in 0..p {
            let b = j * WORKGROUP_SIZE as usize;
            let _ = writeln!(out, "        sums[group * {p}u + {j}u] = red[{b}u];");
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}
