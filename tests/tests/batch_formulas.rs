//! The second fuzzer of issue 8: a batch of random formulas compiled in one crate, each
//! checked on every ISA against the same formula evaluated in f64 by plain Rust.
//!
//! The formulas use the language's methods, `let`, `if`/`else`, `max`/`min` and `powi`/`powf`,
//! with domains kept valid (logarithms and roots of 1 + u², denominators 1.5 + tanh u, exp of a
//! tanh) so that values stay finite. For each formula `f`, each of 26 inputs in [−3, 3] and each
//! ISA this CPU has, the generated program compares:
//! - the f64 kernels (forward, and derivative with dy = 1) with the f64 formula and with a
//!   central difference of it (points where the one-sided differences disagree, at a kink,
//!   are skipped);
//! - the f32 forward kernel with the f64 formula, within 1e−4 of max(|f|, 1).
//!
//! A quarter as many formulas take two inputs, `x` and `y` (issue 11's several inputs), and a
//! parameter `a`, and go through `MultiActivation` the same way: forward in f64 and f32, the
//! fused backward's two partials (dy = 1) each against a central difference in its own input,
//! at 26 points of [−3, 3]², the parameter's gradient (summed over the points) against the
//! sum of central differences in `a`, and the macro's second partials
//! (`MultiActivation::hessian`, f64) against central differences of the checked gradient.
//!
//! Each tolerance also allows 64 rounding errors of the formula's own sensitivity to its
//! input, |x·f′(x)| (from one-sided differences, one of them with a step of 1e−10): a formula
//! such as sin((1 + u²)³) with an argument near 1e8 has no accurate f32 value at all.
//!
//! The crate is written to Cargo's scratch folder for tests and built with the workspace's
//! lock file, offline, without debug info (which tripled the build time) and without the
//! runtime's default features (f16/bf16 storage and threads, which the f32/f64 checks do not
//! use: the runtime's build there 44 s -> 34 s). `ACTIGEN_BATCH_FORMULAS` sets the count of
//! one-input formulas (default 24, with 6 of two inputs: about 40 s on this machine, which
//! keeps the workspace's test command within its budget; CI runs 88 and 22); beyond 120
//! formulas they are compiled and run in batches of 120 (600 in one crate exhausted 24 GB in
//! rustc). Files are rewritten only when they change, so a second run (CI's per-ISA runs)
//! reuses the build.

use actigen_tests::Rng;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// A literal typed `f32` (so `(1.50f32).sin()` is not an ambiguous float; the f64 reference
/// gets the same text with `f64`).
fn constant(r: &mut Rng) -> String {
    format!("{:.2}f32", (r.below(600) as f64 - 300.0) / 100.0)
}

/// A random expression over the inputs `vars` and the `let`-bound names in `scope`. (With one
/// input, the same draws as before there were two: the one-input batch is unchanged.)
fn expr(r: &mut Rng, depth: u32, vars: &[&str], scope: &[String]) -> String {
    if depth == 0 || r.below(5) == 0 {
        return match r.below(4) {
            0 | 1 if vars.len() == 1 => vars[0].into(),
            0 | 1 => vars[r.below(vars.len() as u64) as usize].into(),
            2 if !scope.is_empty() => scope[r.below(scope.len() as u64) as usize].clone(),
            _ => constant(r),
        };
    }
    let d = depth - 1;
    let sub = |r: &mut Rng| expr(r, d, vars, scope);
    match r.below(17) {
        0 => format!("({} + {})", sub(r), sub(r)),
        1 => format!("({} - {})", sub(r), sub(r)),
        2 | 3 => format!("({} * {})", sub(r), sub(r)),
        4 => format!("({} / (1.5 + ({}).tanh()))", sub(r), sub(r)),
        5 => format!("({}).tanh().exp()", sub(r)),
        6 => {
            let u = sub(r);
            format!("(1.0 + ({u}) * ({u})).ln()")
        }
        7 => {
            let u = sub(r);
            format!("(1.0 + ({u}) * ({u})).sqrt()")
        }
        8 => format!("({}).tanh()", sub(r)),
        9 => format!("({}).sin()", sub(r)),
        10 => format!("({}).cos()", sub(r)),
        11 => format!("(-({}))", sub(r)),
        12 => format!("({}).abs()", sub(r)),
        13 => format!("({}).max({})", sub(r), sub(r)),
        14 => {
            let n = [2, 3, -1, -2][r.below(4) as usize];
            format!("(2.0 + ({}).tanh()).powi({n})", sub(r))
        }
        15 => {
            let u = sub(r);
            let c = ["0.5", "2.5", "-1.5", "3.0", "1.702"][r.below(5) as usize];
            format!("(1.0 + ({u}) * ({u})).powf({c})")
        }
        _ => format!(
            "if {} > {} {{ {} }} else {{ {} }}",
            sub(r),
            constant(r),
            sub(r),
            sub(r)
        ),
    }
}

/// A random formula body over the inputs `vars`: up to two `let`s, then a value.
fn body(r: &mut Rng, vars: &[&str]) -> String {
    let mut scope = Vec::new();
    let mut text = String::new();
    for k in 0..r.below(3) {
        let v = expr(r, 3, vars, &scope);
        let name = format!("t{k}");
        let _ = write!(text, "let {name} = {v}; ");
        scope.push(name);
    }
    text + &expr(r, 4, vars, &scope)
}

/// A random formula of two inputs, `x` and `y`, and a parameter `a`. A random body may not use
/// one of them once the macro has folded its constant conditions and dropped unused `let`s
/// (the macro then rejects the input, rightly), so the body's value is combined with all
/// three: `v·y + a·x` or `v + a·x·y` (the first SwiGLU's shape, a function of both times one
/// of them).
fn body2(r: &mut Rng) -> String {
    let b = body(r, &["x", "y", "a"]);
    let (lets, value) = match b.rfind("; ") {
        Some(i) => b.split_at(i + 2),
        None => ("", b.as_str()),
    };
    if r.below(2) == 0 {
        format!("{lets}({value}) * y + a * x")
    } else {
        format!("{lets}({value}) + a * x * y")
    }
}

/// The defaults of the two-input formulas' parameter (exact in f32), by formula index.
const DEFAULTS: [&str; 5] = ["0.5", "0.75", "1.25", "1.5", "2.0"];

/// A formula of the batch: its input count (1 or 2) and its body.
#[derive(Clone)]
struct Formula {
    inputs: usize,
    body: String,
}

/// The generated program: every formula as `#[activation]` (f32, the kernels) and as a plain
/// f64 function (the reference), and a `main` that checks them and prints a summary.
fn program(formulas: &[Formula]) -> String {
    let mut src = String::from(
        "#![allow(clippy::all, unused_parens, unused_variables)]\n\
         use actigen::{Activation, Isa, MultiActivation, activation};\n\n",
    );
    for (i, f) in formulas.iter().enumerate() {
        let (b, b64) = (&f.body, f.body.replace("f32", "f64"));
        if f.inputs == 1 {
            let _ = writeln!(src, "#[activation]\npub fn f{i}(x: f32) -> f32 {{ {b} }}");
            let _ = writeln!(src, "pub fn r{i}(x: f64) -> f64 {{ {b64} }}\n");
        } else {
            let d = DEFAULTS[i % DEFAULTS.len()];
            let _ = writeln!(
                src,
                "#[activation]\npub fn f{i}(x: f32, y: f32, #[default({d})] a: f32) -> f32 {{ {b} }}"
            );
            let _ = writeln!(
                src,
                "pub fn r{i}(x: f64, y: f64, a: f64) -> f64 {{ {b64} }}\n\
                 const A{i}: f64 = {d};\n"
            );
        }
    }
    src.push_str(
        r#"
/// `got` within `tol` of `want` relative to max(|want|, 1), plus 64 rounding errors `eps` of
/// the formula's own sensitivity to its input, |x·f′(x)| (sin of an argument near 1e8 is
/// noise in f32 however it is computed).
fn close(got: f64, want: f64, tol: f64, eps: f64, sensitivity: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1.0) + 64.0 * eps * sensitivity
}

fn check<A: Activation<f32> + Activation<f64>>(name: &str, act: &A, r: fn(f64) -> f64, bad: &mut Vec<String>) -> usize {
    let xs: Vec<f64> = (0..26).map(|k| -3.0 + 6.0 * k as f64 / 25.0 + 0.0123).collect();
    let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    let mut checked = 0;
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        let mut y = vec![0f64; xs.len()];
        let mut d = vec![0f64; xs.len()];
        let mut y32 = vec![0f32; xs.len()];
        act.try_forward_on(isa, &xs, &mut y).unwrap();
        act.try_backward_on(isa, &xs, &vec![1.0; xs.len()], &mut d).unwrap();
        act.try_forward_on(isa, &xs32, &mut y32).unwrap();
        for (i, &x) in xs.iter().enumerate() {
            let want = r(x);
            if !want.is_finite() || want.abs() > 1e6 {
                continue;
            }
            let h = 1e-5;
            let (fp, fm) = (r(x + h), r(x - h));
            let central = (fp - fm) / (2.0 * h);
            let (right, left) = ((fp - want) / h, (want - fm) / h);
            // Sensitivity over a step far below any oscillation of the formula.
            let s = 1e-10 * x.abs().max(1.0);
            let slope = ((r(x + s) - want).abs()).max((want - r(x - s)).abs()) / s;
            let sensitivity = x.abs() * slope.max(right.abs()).max(left.abs());
            if !close(y[i], want, 1e-9, f64::EPSILON, sensitivity) {
                bad.push(format!("{isa} {name} f64 f({x}) = {}, want {want}", y[i]));
            }
            let want32 = r(xs32[i] as f64);
            if want32.is_finite()
                && !close(y32[i] as f64, want32, 1e-4, f32::EPSILON as f64, sensitivity)
            {
                bad.push(format!("{isa} {name} f32 f({}) = {}, want {want32}", xs32[i], y32[i]));
            }
            if (right - left).abs() > 1e-3 * right.abs().max(1.0) {
                continue; // a kink (if, abs, max) within h of x, or too ill-conditioned to tell
            }
            if !close(d[i], central, 1e-5, 0.0, 0.0) {
                bad.push(format!("{isa} {name} f'({x}) = {}, want {central}", d[i]));
            }
            checked += 1;
        }
    }
    checked
}

/// [`check`] for a formula of two inputs, at 26 points (x, y) of [−3, 3]², each partial
/// against a central difference in its own input; the sensitivity is |x·∂f/∂x| + |y·∂f/∂y|.
fn check2<A: MultiActivation<f32, 2> + MultiActivation<f64, 2>>(
    name: &str,
    act: &A,
    a: f64,
    ra: fn(f64, f64, f64) -> f64,
    bad: &mut Vec<String>,
) -> usize {
    let r = |x: f64, y: f64| ra(x, y, a);
    let n = 26;
    let xs: Vec<f64> = (0..n).map(|k| -3.0 + 6.0 * k as f64 / 25.0 + 0.0123).collect();
    let ys: Vec<f64> = (0..n).map(|k| 2.9 - 6.0 * ((7 * k) % 26) as f64 / 25.0 + 0.0071).collect();
    let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    let ys32: Vec<f32> = ys.iter().map(|&v| v as f32).collect();
    let ones = vec![1.0f64; n];
    let mut checked = 0;
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        let mut out = vec![0f64; n];
        let mut out32 = vec![0f32; n];
        let (mut dx, mut dy) = (vec![0f64; n], vec![0f64; n]);
        act.try_forward_on(isa, [&xs[..], &ys[..]], &mut out).unwrap();
        act.try_backward_on(isa, [&xs[..], &ys[..]], &ones, [&mut dx[..], &mut dy[..]], None)
            .unwrap();
        act.try_forward_on(isa, [&xs32[..], &ys32[..]], &mut out32).unwrap();
        // The parameter's gradient, Σ ∂f/∂a over the points (dy = 1), against the sum of
        // central differences in `a`, where every point's value is finite and no point is at a
        // kink in `a`.
        let mut grads = [0f64; 1];
        let (mut dx2, mut dy2) = (vec![0f64; n], vec![0f64; n]);
        act.try_backward_on(isa, [&xs[..], &ys[..]], &ones, [&mut dx2[..], &mut dy2[..]], Some(&mut grads[..]))
            .unwrap();
        let (mut sum, mut scale, mut smooth) = (0.0, 0.0, true);
        for i in 0..n {
            let (x, y) = (xs[i], ys[i]);
            let (want, h) = (ra(x, y, a), 1e-5);
            let (fp, fm) = (ra(x, y, a + h), ra(x, y, a - h));
            let (right, left) = ((fp - want) / h, (want - fm) / h);
            smooth &= want.is_finite() && want.abs() <= 1e6
                && (right - left).abs() <= 1e-3 * right.abs().max(1.0);
            sum += (fp - fm) / (2.0 * h);
            scale += ((fp - fm) / (2.0 * h)).abs();
        }
        if smooth {
            if !((grads[0] - sum).abs() <= 1e-5 * scale.max(1.0)) {
                bad.push(format!("{isa} {name} sum of d/da = {}, want {sum}", grads[0]));
            }
            let same = |p: &[f64], q: &[f64]| p.iter().zip(q).all(|(u, v)| u.to_bits() == v.to_bits());
            if !same(&dx2, &dx) || !same(&dy2, &dy) {
                bad.push(format!("{isa} {name} the backward with the parameter's gradient differs"));
            }
            checked += 1;
        }
        for i in 0..n {
            let p = [xs[i], ys[i]];
            let want = r(p[0], p[1]);
            if !want.is_finite() || want.abs() > 1e6 {
                continue;
            }
            let at = |k: usize, h: f64| {
                let mut q = p;
                q[k] += h;
                r(q[0], q[1])
            };
            let h = 1e-5;
            let mut sensitivity = 0.0;
            let mut partials = [None; 2];
            for k in 0..2 {
                let (fp, fm) = (at(k, h), at(k, -h));
                let (right, left) = ((fp - want) / h, (want - fm) / h);
                let s = 1e-10 * p[k].abs().max(1.0);
                let slope = (at(k, s) - want).abs().max((want - at(k, -s)).abs()) / s;
                sensitivity += p[k].abs() * slope.max(right.abs()).max(left.abs());
                // A kink within h of the point (if, abs, max), or too ill-conditioned to tell.
                if (right - left).abs() <= 1e-3 * right.abs().max(1.0) {
                    partials[k] = Some((fp - fm) / (2.0 * h));
                }
            }
            if !close(out[i], want, 1e-9, f64::EPSILON, sensitivity) {
                bad.push(format!("{isa} {name} f64 f({p:?}) = {}, want {want}", out[i]));
            }
            let want32 = r(xs32[i] as f64, ys32[i] as f64);
            if want32.is_finite()
                && !close(out32[i] as f64, want32, 1e-4, f32::EPSILON as f64, sensitivity)
            {
                bad.push(format!(
                    "{isa} {name} f32 f({}, {}) = {}, want {want32}",
                    xs32[i], ys32[i], out32[i]
                ));
            }
            for (k, got) in [dx[i], dy[i]].into_iter().enumerate() {
                if let Some(central) = partials[k] {
                    if !close(got, central, 1e-5, 0.0, 0.0) {
                        bad.push(format!("{isa} {name} d/dx{k} at {p:?} = {got}, want {central}"));
                    }
                    checked += 1;
                }
            }
        }
    }
    // The second partials (one lane, the same on every ISA): each column of the Hessian
    // against a central difference of the f64 gradient (checked above) in that input.
    for i in 0..n {
        let p = [xs[i], ys[i]];
        if !r(p[0], p[1]).is_finite() {
            continue;
        }
        let hessian = MultiActivation::<f64, 2>::hessian(act, p);
        let gradient = |j: usize, h: f64| {
            let mut q = p;
            q[j] += h;
            MultiActivation::<f64, 2>::gradient(act, q)
        };
        let h = 1e-6;
        let g0 = gradient(0, 0.0);
        for j in 0..2 {
            let (gp, gm) = (gradient(j, h), gradient(j, -h));
            for k in 0..2 {
                let (right, left) = ((gp[k] - g0[k]) / h, (g0[k] - gm[k]) / h);
                if !(right - left).is_finite() || (right - left).abs() > 1e-3 * right.abs().max(1.0) {
                    continue; // a kink in the gradient, or too ill-conditioned to tell
                }
                let central = (gp[k] - gm[k]) / (2.0 * h);
                let got = hessian[k][j];
                if !close(got, central, 1e-5, 0.0, 0.0) {
                    bad.push(format!("{name} d2/dx{k}dx{j} at {p:?} = {got}, want {central}"));
                }
                checked += 1;
            }
        }
    }
    checked
}

fn main() {
    let mut bad = Vec::new();
    let mut checked = 0;
"#,
    );
    // The program names its first formula, so the test knows it runs this batch's build.
    let _ = writeln!(
        src,
        "    println!(\"first: {{}}\", {:?});",
        formulas[0].body
    );
    for (i, f) in formulas.iter().enumerate() {
        let camel = format!("F{i}");
        if f.inputs == 1 {
            let _ = writeln!(
                src,
                "    checked += check(\"f{i}\", &{camel}, r{i}, &mut bad);"
            );
        } else {
            let _ = writeln!(
                src,
                "    checked += check2(\"f{i}\", &{camel}::default(), A{i}, r{i}, &mut bad);"
            );
        }
    }
    src.push_str(
        r#"    for b in bad.iter().take(40) {
        println!("{b}");
    }
    println!("checked {checked} points, {} failures", bad.len());
    std::process::exit(i32::from(!bad.is_empty()));
}
"#,
    );
    src
}

/// Formulas per crate: rustc's memory grows with the number of kernels in one crate.
const BATCH: usize = 120;

#[test]
fn random_formulas_compile_and_match_f64() {
    let n: usize = std::env::var("ACTIGEN_BATCH_FORMULAS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut r = Rng(0x5DEE_CE66_D1CE_4E5B);
    let mut formulas: Vec<Formula> = (0..n)
        .map(|_| Formula {
            inputs: 1,
            body: body(&mut r, &["x"]),
        })
        .collect();
    // A quarter as many formulas of two inputs (the multi-input API), from their own seed, so
    // that the one-input formulas stay those of earlier runs.
    let n2 = n / 4;
    let mut r2 = Rng(0x2B99_2DDF_A232_49D6);
    formulas.extend((0..n2).map(|_| Formula {
        inputs: 2,
        body: body2(&mut r2),
    }));
    let mut checked = 0;
    for batch in formulas.chunks(BATCH) {
        checked += run_batch(batch);
    }
    assert!(
        checked >= (n + n2) * 10,
        "only {checked} points were checked for {} formulas",
        n + n2
    );
}

/// Writes `text` to `path` unless it already holds it (Cargo rebuilds on a newer mtime).
fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap();
    }
}

/// Builds and runs one crate of formulas; the number of points it checked.
fn run_batch(formulas: &[Formula]) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("batch-formulas");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"batch-formulas\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nactigen = {{ path = {:?}, default-features = false }}\n\n[workspace]\n\n\
         # Debug info for the kernels' large inlined bodies is most of a debug build's time.\n\
         [profile.dev]\ndebug = false\nincremental = false\n",
        root.join("runtime")
    );
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    write_if_changed(&dir.join("Cargo.toml"), &manifest);
    write_if_changed(&dir.join("Cargo.lock"), &lock);
    write_if_changed(&dir.join("src/main.rs"), &program(formulas));

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["run", "--quiet", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{} formulas: {stdout}", formulas.len());
    assert!(
        out.status.success(),
        "the batch failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("first: {}", formulas[0].body)),
        "the program that ran is not this batch's build:\n{stdout}"
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("checked ")?.split(' ').next()?.parse().ok())
        .expect("a summary line")
}
