//! The error analysis applied: measure the formula and its derivatives (`analysis`), try the
//! gated repairs (`repair`) where the forward or a first derivative loses, patch a loss around
//! x = 0 with the Taylor polynomial (`series`) where that helps, and say what was measured in
//! the generated docs (and, under `strict`, fail the build where a target is missed).

use crate::analysis::{self, Env, Measured, show};
use crate::diff::{Var, diff};
use crate::ir::{Graph, Id};
use crate::repair::{compensate, repair};
use crate::rewrite::rewrite;
use crate::series::{self, Patch};

/// The expressions of a one-input formula: the forward, ∂f/∂x, each ∂f/∂pᵢ and ∂²f/∂x².
#[derive(Clone)]
pub struct Exprs {
    pub root: Id,
    pub dx: Id,
    pub dps: Vec<Id>,
    pub d2: Id,
    /// The stability rewrites that fired deriving these expressions (for the generated docs:
    /// those of the expressions emitted, not of a version the analysis discarded).
    pub rewrites: Vec<&'static str>,
}

impl Exprs {
    fn list(&self) -> Vec<Id> {
        let mut v = vec![self.root, self.dx];
        v.extend(&self.dps);
        v.push(self.d2);
        v
    }
}

/// What the analysis found and did.
pub struct Outcome {
    /// The expressions to emit (patched where a patch fired).
    pub exprs: Exprs,
    /// The "measured accuracy" section of the generated docs.
    pub doc: String,
    /// Where the f32 kernels of the forward or a first derivative miss a target (for `strict`).
    pub misses: Vec<String>,
}

/// f64 targets used to choose the f64 kernels' patch radius: the forward within 4 f64 ULP,
/// derivatives within 2^−30 relative.
const DERIV_REL_64: f64 = 9.313_225_746_154_785e-10;

/// Where `m`'s f32 error exceeds a tenth of its target within 1 of 0, if that reaches down to
/// |x| ≤ 2^−8 (a loss around 0, which a series at 0 can patch): the largest such |x|. (The
/// margin covers the kernels' math functions, a few ULP from correctly rounded where the
/// analysis assumes them exact.)
fn band(m: &Measured) -> Option<f64> {
    let bound = if m.deriv {
        analysis::DERIV_REL / 10.0
    } else {
        analysis::FWD_ULP
    };
    let near: Vec<f64> = m
        .errors32
        .iter()
        .filter(|e| e.1 > bound)
        .map(|e| e.0.abs())
        .filter(|&a| a < 1.0)
        .collect();
    let lo = near.iter().cloned().fold(f64::INFINITY, f64::min);
    (lo <= 2f64.powi(-8)).then(|| near.iter().cloned().fold(0.0, f64::max))
}

/// The power of two above `v` (at least 2^−126, a normal f32).
fn pow2_above(v: f64) -> f64 {
    2f64.powi((v.max(2f64.powi(-127)).log2().floor() as i32) + 1)
}

#[cfg(test)]
thread_local! {
    /// Skips the analysis (to time the expansion without it).
    pub static SKIP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Analyses `exprs`, patches where that helps, and describes the result. `derive` builds the
/// derivatives of a (patched) forward expression as the expansion does. `names` are the
/// input's and the parameters' names.
pub fn analyse(
    g: &mut Graph,
    exprs: Exprs,
    params: &[f64],
    names: (&str, &[String]),
    derive: &mut dyn FnMut(&mut Graph, Id) -> Exprs,
) -> Outcome {
    #[cfg(test)]
    if SKIP.with(|s| s.get()) {
        return Outcome {
            exprs,
            doc: "\nAccuracy not measured (skipped).\n".to_string(),
            misses: Vec::new(),
        };
    }
    let env = match Env::new(g, params) {
        Ok(e) => e,
        Err(why) => {
            return Outcome {
                exprs,
                doc: format!("\nAccuracy not measured at expansion time: {why}.\n"),
                misses: Vec::new(),
            };
        }
    };
    let (input, pnames) = names;
    let deriv: Vec<bool> = std::iter::once(false)
        .chain(std::iter::repeat_n(true, exprs.dps.len() + 2))
        .collect();
    let list = exprs.list();
    let mut xs = analysis::samples(g, &list, &env);
    let before = analysis::measure(g, &list, &deriv, &env, &xs);

    // A patch at 0, if the forward or ∂f/∂x loses accuracy around 0 in f32 (not for a loss in
    // ∂²f/∂x² alone: the built-ins' second derivatives cancel around 0, σ″ = σ′(1 − 2σ), and
    // their kernels must stay as they are).
    let mut chosen = (exprs.clone(), before.clone(), None::<Patch>);
    let f32_band = [0, 1]
        .iter()
        .filter_map(|&i| band(&before[i]))
        .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
    // (Not where a folded constant differs between the precisions: one polynomial could not
    // mean both.)
    if let Some(b32) = f32_band
        && !analysis::diverging_consts(g, &g.reachable(&[exprs.root]))
        && let Some(c) = series::taylor(g, exprs.root, &env)
    {
        let r32 = pow2_above(b32);
        // The f64 kernels' radius: past their own loss, from the same sample.
        let r64 = pow2_above(f64_lossy(&before).unwrap_or(0.0)).min(r32);
        let p32 = series::truncate(&c, r32, 2f64.powi(-30));
        let p64 = series::truncate(&c, r64, 2f64.powi(-55));
        if r32 <= 1.0
            && let (Some(p32), Some(p64)) = (p32, p64)
        {
            let coeffs = if p32.len() >= p64.len() { p32 } else { p64 };
            let patch = Patch {
                radius: (r64, r32),
                coeffs,
            };
            let root = series::apply(g, exprs.root, &patch);
            let patched = derive(g, root);
            let plist = patched.list();
            let after = analysis::measure(g, &plist, &deriv, &env, &xs);
            // Kept if it leaves fewer losing inputs in the forward and ∂f/∂x, and no new ones
            // in ∂²f/∂x².
            let lost = |m: &[Measured], i: usize| m[i].lossy32.len();
            let last = list.len() - 1;
            if lost(&after, 0) + lost(&after, 1) < lost(&before, 0) + lost(&before, 1)
                || (lost(&after, 0) + lost(&after, 1) == lost(&before, 0) + lost(&before, 1)
                    && lost(&after, last) < lost(&before, last))
            {
                chosen = (patched, after, Some(patch));
            }
        }
    }
    let (mut exprs, mut before, patch) = chosen;

    // The gated repairs, where the forward or a first derivative still loses in f32 at an input
    // whose true value is a normal f32 or beyond. (Not for a loss in the subnormals alone: the
    // built-ins' derivatives lose there, tanh′ = 4σ(2x)σ(−2x) below x = −44, and their kernels
    // must stay as they are.)
    let mut repairs = Vec::new();
    let list = exprs.list();
    if before[..list.len() - 1]
        .iter()
        .any(|m| m.lossy32_normal > 0)
    {
        let size = |g: &Graph, l: &[Id]| g.reachable(l).iter().filter(|&&b| b).count();
        let first_order =
            |m: &[Measured]| -> usize { m[..m.len() - 1].iter().map(|m| m.lossy32.len()).sum() };
        let base_size = size(g, &list);
        // The smaller set first; all of them only where it leaves a first-order loss; the
        // compensated arguments alone last (a rule of the table may lose where they do not).
        let mut best: Option<Candidate> = None;
        for (lift, table) in [(false, true), (true, true), (false, false)] {
            if best.as_ref().is_some_and(|b| b.0 == 0) {
                break;
            }
            let (mut repaired, mut fired) = if table {
                let (root, mut fired) = repair(g, exprs.root, lift);
                let mut repaired = derive(g, root);
                repair_derived(g, &mut repaired, &mut fired, lift);
                (repaired, fired)
            } else {
                (exprs.clone(), Vec::new())
            };
            // Compensated arguments in the forward alone (its derivatives, checked to 1e−4
            // relative, keep the plain arguments and the products the kernels fuse).
            let (root, compensated) = compensate(g, repaired.root);
            if compensated {
                repaired.root = root;
                fired.push(crate::repair::COMPENSATED.0);
            }
            let rlist = repaired.list();
            // (Not where the kernels would grow beyond three times their size.)
            if fired.is_empty() || size(g, &rlist) > 3 * base_size {
                continue;
            }
            // Both measured on the samples of both (the repaired forms have intermediates of
            // their own, whose overflow points the first sample did not approach).
            xs.extend(analysis::samples(g, &rlist, &env));
            xs.sort_by(f64::total_cmp);
            xs.dedup();
            before = analysis::measure(g, &list, &deriv, &env, &xs);
            let after = analysis::measure(g, &rlist, &deriv, &env, &xs);
            let lost = |m: &[Measured]| m.iter().map(|m| m.lossy32.len()).collect::<Vec<_>>();
            let (b, a) = (lost(&before), lost(&after));
            // Kept where no expression loses more and one loses less (and, of the two sets,
            // the one leaving fewer first-order losses).
            let fewer = first_order(&after);
            if a.iter().zip(&b).all(|(a, b)| a <= b)
                && a != b
                && best.as_ref().is_none_or(|b| fewer < b.0)
            {
                best = Some((fewer, repaired, after, fired));
            }
        }
        if let Some((_, repaired, after, fired)) = best {
            exprs = repaired;
            before = after;
            repairs = fired;
        }
    }
    // Products with σ(u)·σ(−u) rounded once (`scaled_products`), where the forward or a first
    // derivative still loses anywhere, the subnormals included: kept where no expression loses
    // more and one loses less (swish′ and tanh′ below the normal range; a formula that loses
    // nowhere, or not there, keeps the plain product; one without such a product is not
    // measured again).
    let list = exprs.list();
    let live = g.reachable(&list);
    let has_product = (0..g.nodes.len()).any(|i| live[i] && analysis::is_pair(g, i));
    if has_product && before[..list.len() - 1].iter().any(|m| !m.meets()) {
        g.scaled_products = true;
        let after = analysis::measure(g, &list, &deriv, &env, &xs);
        let lost = |m: &[Measured]| m.iter().map(|m| m.lossy32.len()).collect::<Vec<_>>();
        let (b, a) = (lost(&before), lost(&after));
        if a.iter().zip(&b).all(|(a, b)| a <= b) && a != b {
            before = after;
            repairs.push(crate::repair::SCALED_PRODUCTS.0);
        } else {
            g.scaled_products = false;
        }
    }
    let measured = before;

    let mut label = vec!["f".to_string(), format!("∂f/∂{input}")];
    label.extend(pnames.iter().map(|p| format!("∂f/∂{p}")));
    label.push(format!("∂²f/∂{input}²"));
    let mut doc = format!(
        "\nAccuracy measured at expansion time (the macro's error analysis: {} inputs from ±0 \
         through the subnormals to ±3.4e38, each expression evaluated as the f32 and the f64 \
         kernels compute it and in double-double; parameters at their defaults; targets: the \
         forward within {} ULP, derivatives within {:.0e} relative):\n",
        xs.len(),
        analysis::FWD_ULP,
        analysis::DERIV_REL
    );
    let mut misses = Vec::new();
    for (i, (m, l)) in measured.iter().zip(&label).enumerate() {
        let met = if m.meets() {
            ""
        } else {
            " (misses the target)"
        };
        doc.push_str(&format!(
            "- {l}: f32 worst {} at {input} = {:e}{met}; f64 worst {} at {input} = {:e}\n",
            show(m.worst32.0, m.deriv),
            m.worst32.1 as f32,
            show(m.worst64.0, m.deriv),
            m.worst64.1
        ));
        if !m.meets() && i + 1 < measured.len() {
            misses.push(format!(
                "{l}: {} at {input} = {:e} ({} of {} inputs miss the target)",
                show(m.worst32.0, m.deriv),
                m.worst32.1 as f32,
                m.lossy32.len(),
                xs.len()
            ));
        }
    }
    if !repairs.is_empty() {
        doc.push_str(&format!(
            "\nRepaired where the analysis found a loss (kept as they left fewer inputs losing):\n{}",
            repairs
                .iter()
                .map(|r| format!("- `{}`\n", crate::repair::describe(r)))
                .collect::<String>()
        ));
    }
    if let Some(p) = &patch {
        let pow2 = |r: f64| format!("2^{} ({:.2e})", r.log2().round(), r);
        doc.push_str(&format!(
            "\nRepaired: a series patch, the Taylor polynomial of degree {} at 0 (derived by the \
             macro) where |{input}| < {} in the f32 kernels, < {} in the f64 kernels.\n",
            p.coeffs.len() - 1,
            pow2(p.radius.1),
            pow2(p.radius.0)
        ));
    }
    Outcome { exprs, doc, misses }
}

/// A set of repairs tried: its first-order losses, the repaired expressions, their
/// measurements, and the repairs that fired.
type Candidate = (usize, Exprs, Vec<Measured>, Vec<&'static str>);

/// Applies the repairs to each first derivative of `e`, then derives ∂²f/∂x² again from the
/// repaired ∂f/∂x (the derivative of a cancelling form cancels too) and repairs it; adds the
/// names of the repairs that fired.
fn repair_derived(g: &mut Graph, e: &mut Exprs, fired: &mut Vec<&'static str>, lift: bool) {
    let mut one = |g: &mut Graph, id: &mut Id| {
        let (new, f) = repair(g, *id, lift);
        *id = new;
        crate::expand::add_names(fired, f);
    };
    let dx = e.dx;
    one(g, &mut e.dx);
    for d in &mut e.dps {
        one(g, d);
    }
    if e.dx != dx {
        let d2 = diff(g, e.dx, Var::Input(0));
        let (d2, rewrites) = rewrite(g, d2);
        e.d2 = d2;
        crate::expand::add_names(&mut e.rewrites, rewrites);
    }
    one(g, &mut e.d2);
}

/// The largest |x| < 1 where an f64 result misses its target (see [`DERIV_REL_64`]), if any.
fn f64_lossy(measured: &[Measured]) -> Option<f64> {
    measured
        .iter()
        .flat_map(|m| {
            let bound = if m.deriv {
                DERIV_REL_64
            } else {
                analysis::FWD_ULP
            };
            m.errors64
                .iter()
                .filter(move |e| e.1 > bound)
                .map(|e| e.0.abs())
        })
        .filter(|&a| a < 1.0)
        .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))))
}

#[cfg(test)]
mod tests {
    use super::SKIP;
    use crate::expand::activation;
    use proc_macro2::TokenStream;

    fn expand(attr: &str, item: &str) -> String {
        let attr: TokenStream = attr.parse().unwrap();
        let item: TokenStream = item.parse().unwrap();
        activation(attr, item).to_string()
    }

    #[test]
    fn a_removable_singularity_gets_a_series_patch_and_strict_accepts_it() {
        let out = expand("strict", "fn f(x: f32) -> f32 { x.ln_1p() / x }");
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("Repaired: a series patch"), "{out}");
        // The patched forward is a select on |x| against the radius.
        assert!(out.contains("Accuracy measured at expansion time"), "{out}");
    }

    #[test]
    fn formulas_without_a_loss_at_0_are_left_as_they_are() {
        for item in [
            "fn s(x: f32) -> f32 { sigmoid(x) }",
            "fn sw(x: f32, #[default(1.0)] beta: f32) -> f32 { x * sigmoid(beta * x) }",
            "fn e(x: f32, #[default(1.0)] alpha: f32) -> f32 { if x > 0.0 { x } else { alpha * x.exp_m1() } }",
            "fn t(x: f32) -> f32 { x.tanh() }",
            "fn g(x: f32) -> f32 { 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)) }",
        ] {
            let out = expand("", item);
            assert!(!out.contains("compile_error"), "{item}: {out}");
            assert!(!out.contains("series patch"), "{item}: {out}");
            assert!(
                out.contains("Accuracy measured at expansion time"),
                "{item}"
            );
        }
    }

    #[test]
    fn the_gelus_arguments_are_compensated_and_strict_accepts_them() {
        // The f32 rounding of the argument, amplified in the tail: by 2u² in erfc(u), by |2u|
        // where 1 + tanh u = 2σ(2u) ≈ 2e^(2u) (30 and 34 ULP at x = −9.4 before `compensated`).
        for item in [
            "fn gelu(x: f32) -> f32 { 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)) }",
            "fn gelu_tanh(x: f32) -> f32 { 0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044715 * x * x * x)).tanh()) }",
            "fn gelu_tanh3(x: f32) -> f32 { 0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044715 * x.powi(3))).tanh()) }",
        ] {
            let out = expand("strict", item);
            assert!(!out.contains("compile_error"), "{item}: {out}");
            assert!(out.contains("_shifted"), "{item}: {out}");
            assert!(
                out.contains("exp_shifted(u, lo)"),
                "{item}: the repair is not listed: {out}"
            );
        }
    }

    #[test]
    fn strict_fails_the_build_where_a_target_is_missed_and_says_where() {
        // sin(3.3·x): the argument overflows to ±inf (sin NaN) where the value is finite, and
        // it loses its digits near sin's zeros far out (no repair for either).
        let item = "fn s(x: f32) -> f32 { (x * 3.3).sin() }";
        let out = expand("", item);
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("(misses the target)"), "{out}");
        let out = expand("strict", item);
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains("`strict`: the f32 kernels of `s` miss the accuracy targets"),
            "{out}"
        );
        assert!(out.contains("f: "), "{out}");
        // x/(x·x + 1), which lost everything once x·x overflowed, meets the targets since
        // `square_denominator`; ISRU, whose derivative cancelled, since the repairs.
        for item in [
            "fn r(x: f32) -> f32 { x / (x * x + 1.0) }",
            "fn isru(x: f32) -> f32 { x / (x * x + 1.0).sqrt() }",
        ] {
            let out = expand("strict", item);
            assert!(!out.contains("compile_error"), "{out}");
        }
    }

    #[test]
    fn the_repairs_are_kept_where_they_help_and_listed() {
        // ISRU's derivative: the quotient rule's 1 − (x/r)², r = √(x² + 1).
        let out = expand("", "fn isru(x: f32) -> f32 { x / (x * x + 1.0).sqrt() }");
        assert!(
            out.contains("Repaired where the analysis found a loss"),
            "{out}"
        );
        assert!(
            out.contains("1.0 / (x * x + 1.0) / sqrt(x * x + 1.0)"),
            "{out}"
        );
        // ∂²f/∂x², derived again from the repaired ∂f/∂x, has a square denominator the
        // stability rewrites split; the docs list that rewrite too.
        assert!(out.contains("p/(u*u + k), p/(u*u) → (p/u)/u"), "{out}");
        // squareplus: x + √(x² + 4) overflowed at 1.7e38 before the halving.
        let out = expand(
            "",
            "fn sp(x: f32) -> f32 { (x + (x * x + 4.0).sqrt()) / 2.0 }",
        );
        assert!(out.contains("p/c ± q/c"), "{out}");
        // A formula that loses only where its values are subnormal gets the one repair for
        // that, `scaled_products` (tanh′ = 4σ(2x)σ(−2x) beyond |x| = 44), not the table's.
        let out = expand("", "fn t(x: f32) -> f32 { x.tanh() }");
        let repaired = out
            .split("Repaired where the analysis found a loss")
            .nth(1)
            .unwrap_or_else(|| panic!("{out}"));
        let listed = repaired
            .split("\\n")
            .filter(|l| l.starts_with("- `"))
            .count();
        assert_eq!(listed, 1, "{out}");
        assert!(repaired.contains("mul_sigmoid_product(a, u)"), "{out}");
        assert!(out.contains("math :: mul_sigmoid_product"), "{out}");
        // Softsign's derivative, (1 − x/(1 + |x|)·sign(x))/(1 + |x|) as the quotient rule
        // gives it, lost every digit beyond |x| = 2^24: 1/(1 + |x|)/(1 + |x|) now.
        let out = expand("", "fn s(x: f32) -> f32 { x / (1.0 + x.abs()) }");
        assert!(out.contains("1 - a/(k + a)"), "{out}");
        assert!(
            out.contains("∂f/∂x = `1.0 / (1.0 + abs(x)) / (1.0 + abs(x))`"),
            "{out}"
        );
        // One that loses nowhere is left as it is.
        let out = expand("", "fn s(x: f32) -> f32 { x / (2.0 + x * x) }");
        assert!(!out.contains("Repaired"), "{out}");
    }

    #[test]
    fn a_constant_the_macro_cannot_see_is_said_so() {
        let out = expand("", "fn k(x: f32) -> f32 { x * MY_SCALE }");
        assert!(
            out.contains("Accuracy not measured at expansion time: the formula uses `MY_SCALE`"),
            "{out}"
        );
    }

    /// The analysis's share of the build: times the expansion of the accuracy suite's 27
    /// formulas (`examples/accuracy_suite.rs`) with the analysis and without it, and prints
    /// both per formula. A measurement, so not run by default (shared machines are noisy):
    /// `cargo test -p actigen-macros --lib -- --ignored --nocapture analysis_time`, the macro
    /// at opt-level 2 as the workspace's dev profile builds it; add `--config
    /// 'profile.dev.package.actigen-macros.opt-level=0'` (after `--lib`) for the unoptimised
    /// macro of users' builds (cargo's default for proc macros).
    #[test]
    #[ignore]
    fn analysis_time_per_formula() {
        let formulas = [
            "fn x_minus_sin(x: f32) -> f32 { x - x.sin() }",
            "fn sqrt_sq4_minus_2(x: f32) -> f32 { (x * x + 4.0).sqrt() - 2.0 }",
            "fn one_minus_cos(x: f32) -> f32 { 1.0 - x.cos() }",
            "fn exp_minus_exp_neg(x: f32) -> f32 { x.exp() - (-x).exp() }",
            "fn hypot_minus_x(x: f32) -> f32 { (x * x + 1.0).sqrt() - x }",
            "fn gelu_tanh(x: f32) -> f32 { 0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044715 * x * x * x)).tanh()) }",
            "fn gelu_erf(x: f32) -> f32 { 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)) }",
            "fn ln_cosh(x: f32) -> f32 { ((x.exp() + (-x).exp()) * 0.5).ln() }",
            "fn bent_identity(x: f32) -> f32 { ((x * x + 1.0).sqrt() - 1.0) / 2.0 + x }",
            "fn squareplus(x: f32) -> f32 { (x + (x * x + 4.0).sqrt()) / 2.0 }",
            "fn log_sigmoid_naive(x: f32) -> f32 { -((-x).exp() + 1.0).ln() }",
            "fn swish_naive(x: f32) -> f32 { x / (1.0 + (-x).exp()) }",
            "fn softplus_naive(x: f32) -> f32 { (1.0 + x.exp()).ln() }",
            "fn tanh_naive(x: f32) -> f32 { (x.exp() - (-x).exp()) / (x.exp() + (-x).exp()) }",
            "fn expm1_naive(x: f32) -> f32 { x.exp() - 1.0 }",
            "fn ln1p_over_x(x: f32) -> f32 { x.ln_1p() / x }",
            "fn expm1_over_x(x: f32) -> f32 { x.exp_m1() / x }",
            "fn sinc(x: f32) -> f32 { x.sin() / x }",
            "fn one_minus_cos_over_sq(x: f32) -> f32 { (1.0 - x.cos()) / (x * x) }",
            "fn x_over_expm1(x: f32) -> f32 { x / x.exp_m1() }",
            "fn sqrt1p_sq_minus_1_over_sq(x: f32) -> f32 { ((1.0 + x * x).sqrt() - 1.0) / (x * x) }",
            "fn tanh_over_x(x: f32) -> f32 { x.tanh() / x }",
            "fn x_over_sq_plus_1(x: f32) -> f32 { x / (x * x + 1.0) }",
            "fn hypot_1(x: f32) -> f32 { (x * x + 1.0).sqrt() }",
            "fn isru(x: f32) -> f32 { x / (x * x + 1.0).sqrt() }",
            "fn sigmoid_ratio(x: f32) -> f32 { x.exp() / (1.0 + x.exp()) }",
            "fn bce_target_03(x: f32) -> f32 { -(0.3 * sigmoid(x).ln() + 0.7 * (1.0 - sigmoid(x)).ln()) }",
        ];
        let time = |f: &dyn Fn()| {
            let mut t: Vec<f64> = (0..5)
                .map(|_| {
                    let t0 = std::time::Instant::now();
                    f();
                    t0.elapsed().as_secs_f64()
                })
                .collect();
            t.sort_by(f64::total_cmp);
            t[2]
        };
        let (mut total, mut worst) = (0.0, 0.0f64);
        for item in formulas {
            let with = time(&|| assert!(expand("", item).contains("Accuracy measured")));
            SKIP.with(|s| s.set(true));
            let without = time(&|| assert!(expand("", item).contains("not measured")));
            SKIP.with(|s| s.set(false));
            let added = with - without;
            println!(
                "{:<60} {:>7.1} ms with, {:>7.1} ms without, {:>6.1} ms added",
                &item[..item.find('(').unwrap()],
                with * 1e3,
                without * 1e3,
                added * 1e3
            );
            total += added;
            worst = worst.max(added);
        }
        println!(
            "added per formula: mean {:.1} ms, worst {:.1} ms",
            total / formulas.len() as f64 * 1e3,
            worst * 1e3
        );
    }
}
