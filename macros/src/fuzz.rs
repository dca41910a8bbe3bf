//! Fuzzing the expansion: random formulas and random token streams go through
//! [`crate::expand::activation`] directly (no rustc). The expansion must never panic, and what it
//! returns must parse as Rust items (a working expansion, or `compile_error!`s next to the
//! original function).
//!
//! The formulas mix the language's every construct with the inputs that broke it before:
//! literals that overflow f32 (also only after folding, or only in a derivative), `powi`
//! exponents at the ends of `i32`, raw and underscore names, paths with generic arguments,
//! deep nesting. `ACTIGEN_FUZZ_CASES` raises the number of cases (CI runs the default).

use crate::expand::activation;
use proc_macro2::TokenStream;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A small xorshift generator (also used by `proptests`): cases are reproducible from the seed.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
    /// From the valid list, or one time in eight from the odd one.
    pub fn pick2<'a>(&mut self, (valid, odd): (&[&'a str], &[&'a str])) -> &'a str {
        if self.below(8) == 0 {
            self.pick(odd)
        } else {
            self.pick(valid)
        }
    }
}

/// Literals (valid, then odd: overflowing f32 or f64, subnormal, below the subnormals).
const LITERALS: (&[&str], &[&str]) = (
    &[
        "0.0",
        "-0.0",
        "1.0",
        "2.0",
        "0.5",
        "0.1",
        "1e-8",
        "3.0",
        "1.702",
        "1e30",
        "3.4e38",
        "3.4028235e38",
        "1e38",
        "1e-45",
        "1e-38",
        "16777217.0",
        "0.0f32",
        "2.5f32",
    ],
    &[
        "1e39", "1e-46", "1e308", "1e309", "1e400", "1e-400", "1.0f64", "1",
    ],
);
/// Paths where a constant is expected (valid, then odd).
const PATHS: (&[&str], &[&str]) = (
    &[
        "f32::MAX",
        "f32::MIN_POSITIVE",
        "std::f32::consts::PI",
        "core::f32::consts::E",
        "f32::INFINITY",
        "f32::NAN",
        "f32::EPSILON",
        "::std::f32::consts::LN_2",
    ],
    &[
        "<f32>::MAX",
        "Vec::<f32>::new",
        "std::f32::consts::<f32>::PI",
        "self::MY_CONST",
        "Self::C",
        "MY_CONST",
        "<f32 as Tr>::C",
        "f32::MAX::<u8>",
    ],
);
/// `powi` exponents: small ones, then the ends of i32 and beyond.
const EXPONENTS: (&[&str], &[&str]) = (
    &["0", "1", "2", "3", "-1", "-2", "31", "(-3)"],
    &[
        "2147483647",
        "-2147483647",
        "-2147483648",
        "2147483648",
        "-2147483649",
        "99999999999999999999999",
        "2i32",
        "2u8",
        "2.0",
        "x",
    ],
);
const UNARY_METHODS: (&[&str], &[&str]) = (
    &[
        "exp", "exp_m1", "ln", "ln_1p", "tanh", "abs", "sqrt", "sin", "cos", "recip",
    ],
    &["floor", "to_degrees", "exp2"],
);
const FUNCTIONS: (&[&str], &[&str]) = (
    &["sigmoid", "softplus", "erf", "erfc"],
    &["unknown_fn", "f32::exp", "std::process::exit"],
);
/// Function names: plain, then raw, underscored, keyword-like, non-ASCII.
const FN_NAMES: (&[&str], &[&str]) = (
    &["f", "my_swish", "a__b", "x_", "f2_3", "café"],
    &[
        "r#match", "r#fn", "_", "_1x", "__", "_f", "relu", "Relu", "r#Self_", "self_", "self",
    ],
);
/// Parameter names, then ones that shadow formula functions or are raw.
const PARAM_NAMES: (&[&str], &[&str]) = (
    &["a", "beta", "x1", "gamma"],
    &["erf", "sigmoid", "softplus", "erfc", "r#type", "_"],
);

/// A random expression over `x` and the parameters `params`, at most `depth` deep.
pub fn expr(r: &mut Rng, depth: u32, params: &[&str]) -> String {
    if depth == 0 || r.below(6) == 0 {
        return match r.below(5) {
            0 | 1 => "x".to_string(),
            2 if !params.is_empty() => params[r.below(params.len())].to_string(),
            3 => r.pick2(PATHS).to_string(),
            _ => r.pick2(LITERALS).to_string(),
        };
    }
    let d = depth - 1;
    match r.below(12) {
        0 => format!("({} + {})", expr(r, d, params), expr(r, d, params)),
        1 => format!("({} - {})", expr(r, d, params), expr(r, d, params)),
        2 => format!("({} * {})", expr(r, d, params), expr(r, d, params)),
        3 => format!("({} / {})", expr(r, d, params), expr(r, d, params)),
        4 => format!("-{}", expr(r, d, params)),
        5 => format!("({}).{}()", expr(r, d, params), r.pick2(UNARY_METHODS)),
        6 => format!("{}({})", r.pick2(FUNCTIONS), expr(r, d, params)),
        7 => format!("({}).powi({})", expr(r, d, params), r.pick2(EXPONENTS)),
        8 => format!("({}).powf({})", expr(r, d, params), r.pick2(LITERALS)),
        9 => format!(
            "if {} > {} {{ {} }} else {{ {} }}",
            expr(r, d, params),
            r.pick2(LITERALS),
            expr(r, d, params),
            expr(r, d, params)
        ),
        10 => format!(
            "({}).{}({})",
            expr(r, d, params),
            r.pick(&["max", "min"]),
            expr(r, d, params)
        ),
        _ => format!(
            "{{ let t = {}; t * t + {} }}",
            expr(r, d, params),
            expr(r, d, params)
        ),
    }
}

/// A random `#[activation]` function and attribute.
pub fn formula(r: &mut Rng) -> (String, String) {
    let n = r.below(3);
    let mut params = Vec::new();
    while params.len() < n {
        let p = r.pick2(PARAM_NAMES);
        if !params.contains(&p) {
            params.push(p);
        }
    }
    let attr = match r.below(12) {
        0 => "name = Custom".to_string(),
        1 => "from_output".to_string(),
        2 => "name = A, name = B".to_string(),
        3 => "name = r#fn".to_string(),
        _ => String::new(),
    };
    let decls: String = params
        .iter()
        .map(|p| {
            let range = match r.below(12) {
                0 | 1 => "#[range(-2.0..)] ",
                2 => "#[range(2.0..1.0)] ",
                3 => "#[range(..1e39)] ",
                _ => "",
            };
            let default = r.pick2((&["1.0", "0.5", "-1.0", "0.25"], &["1e39", "2", "f32::NAN"]));
            format!(", {range}#[default({default})] {p}: f32")
        })
        .collect();
    let depth = 1 + r.below(6) as u32;
    let body = expr(r, depth, &params);
    let name = r.pick2(FN_NAMES);
    (
        attr,
        format!("pub fn {name}(x: f32{decls}) -> f32 {{ {body} }}"),
    )
}

/// Tokens for the soup.
const TOKENS: &[&str] = &[
    "x",
    "(",
    ")",
    "{",
    "}",
    "+",
    "-",
    "*",
    "/",
    "1.0",
    "1e39",
    ".",
    "exp",
    "(",
    ")",
    "let",
    "=",
    ";",
    "if",
    "else",
    ">",
    "<",
    "&&",
    "||",
    "!",
    "powi",
    "2147483648",
    "-",
    "as",
    "f32",
    "::",
    "<",
    ">",
    "sigmoid",
    ",",
    "return",
    "loop",
    "r#match",
    "'a",
    "#",
    "[",
    "]",
    "x",
    "x",
];

/// A random token stream as the body of a formula (most are not valid Rust, some are).
pub fn soup(r: &mut Rng) -> String {
    let n = r.below(24);
    let toks: Vec<&str> = (0..n).map(|_| r.pick(TOKENS)).collect();
    format!("fn f(x: f32) -> f32 {{ {} }}", toks.join(" "))
}

/// Expands `attr`/`item`: whether the expansion is free of `compile_error!`, or the message
/// of a panic or of output that is not Rust items.
pub fn check(attr: &str, item: &str) -> Result<bool, String> {
    let (Ok(attr), Ok(item)) = (attr.parse::<TokenStream>(), item.parse::<TokenStream>()) else {
        return Ok(false); // not even tokens: rustc would reject it before the macro runs
    };
    let out = catch_unwind(AssertUnwindSafe(|| activation(attr, item))).map_err(|e| {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("panicked: {msg}")
    })?;
    let clean = !out.to_string().contains("compile_error");
    syn::parse2::<syn::File>(out).map_err(|e| format!("expansion is not Rust: {e}"))?;
    Ok(clean)
}

fn cases() -> usize {
    std::env::var("ACTIGEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// `check` on every case, the cases split across the CPU's threads (each expansion is
/// independent; the order of the results is the cases' order).
fn check_all(cases: &[(String, String)]) -> Vec<Result<bool, String>> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let per = cases.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = cases
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(|(a, i)| check(a, i)).collect::<Vec<_>>()))
            .collect();
        parts.into_iter().flat_map(|p| p.join().unwrap()).collect()
    })
}

#[test]
fn random_formulas_never_panic() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut failures = Vec::new();
    let mut clean = 0;
    let n = cases();
    let formulas: Vec<(String, String)> = (0..n).map(|_| formula(&mut r)).collect();
    let results = check_all(&formulas);
    assert_eq!(results.len(), n);
    for ((attr, item), result) in formulas.iter().zip(results) {
        match result {
            Ok(c) => clean += usize::from(c),
            Err(e) => failures.push(format!("#[activation({attr})] {item}\n  {e}")),
        }
    }
    // The generator must reach the code generator, not only the error paths.
    assert!(
        clean * 5 >= n,
        "only {clean} of {n} random formulas expanded without errors"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

#[test]
fn random_token_streams_never_panic() {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let mut failures = Vec::new();
    for _ in 0..cases() {
        let item = soup(&mut r);
        if let Err(e) = check("", &item) {
            failures.push(format!("{item}\n  {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}
