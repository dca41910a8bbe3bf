//! Reference helpers for the tests: ULP distances, the input battery, and hand-written f64
//! formulas for the ten activations and their derivatives, independent of the code under test;
//! [`elementwise`], the vector math as activations; and [`custom`], formulas several tests share.

pub mod custom;
pub mod elementwise;

use actigen::{Activation, ActivationInfo, Error, Isa, Storage};

/// The passes of [`Activation`] the tests call on activations they box, in one storage type.
///
/// Why not `Box<dyn DynActivation>`: its vtable holds every pass for all four storage types,
/// so boxing an activation compiles all of them on every ISA; the test crate's boxed
/// activations made it the largest part of CI's build (the `limits` test alone took 10
/// minutes). Boxed as [`TestActivation`], an activation compiles these passes in f32 and f64
/// only. Implemented for every `A: Activation<T>`, `dyn DynActivation` included.
pub trait TestPasses<T: Storage> {
    /// [`Activation::value`].
    fn value(&self, x: T) -> T;
    /// [`Activation::derivative`].
    fn derivative(&self, x: T) -> T;
    /// [`Activation::try_forward_on`].
    fn try_forward_on(&self, isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error>;
    /// [`Activation::try_backward_on`].
    fn try_backward_on(&self, isa: Isa, x: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error>;
    /// [`Activation::try_param_partials_on`].
    fn try_param_partials_on(&self, isa: Isa, x: &[T], out: &mut [T]) -> Result<(), Error>;
}

impl<T: Storage, A: Activation<T> + ?Sized> TestPasses<T> for A {
    fn value(&self, x: T) -> T {
        Activation::value(self, x)
    }
    fn derivative(&self, x: T) -> T {
        Activation::derivative(self, x)
    }
    fn try_forward_on(&self, isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error> {
        Activation::try_forward_on(self, isa, x, y)
    }
    fn try_backward_on(&self, isa: Isa, x: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        Activation::try_backward_on(self, isa, x, dy, dx)
    }
    fn try_param_partials_on(&self, isa: Isa, x: &[T], out: &mut [T]) -> Result<(), Error> {
        Activation::try_param_partials_on(self, isa, x, out)
    }
}

/// An activation boxed for the tests: its name and parameters ([`ActivationInfo`]) and
/// [`TestPasses`] in f32 and f64.
pub trait TestActivation: ActivationInfo + TestPasses<f32> + TestPasses<f64> {}
impl<A: ActivationInfo + TestPasses<f32> + TestPasses<f64> + ?Sized> TestActivation for A {}

/// A rayon pool of `threads` threads (the parallel drivers run on the pool that is current).
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// ULP tolerance between the one-lane scalar API (`value`, `derivative`; `mul_add` always fused)
/// and the slice path of the active ISA: 1 where the active path's `mul_add` is fused, 4 on the
/// portable path of a target without FMA (x86-64 baseline), where it rounds twice.
pub fn scalar_vs_slice_ulps() -> u64 {
    use actigen::simd::{PortableF32, Vector};
    if actigen::active_isa() == actigen::Isa::Portable && !<PortableF32 as Vector>::FUSED {
        4
    } else {
        1
    }
}

/// A small xorshift generator: test data reproducible from a seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Uniform in [lo, hi), with 24 random bits.
    pub fn uniform_f32(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }
    /// Uniform in `[lo, hi)`, in f64 (53 random bits).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// Maps a float to an integer so that adjacent floats differ by 1 (−0 and +0 both map to 0).
pub fn ordered32(v: f32) -> i64 {
    let b = v.to_bits() as i32;
    (if b < 0 { i32::MIN.wrapping_sub(b) } else { b }) as i64
}

/// As [`ordered32`] for f64.
pub fn ordered64(v: f64) -> i128 {
    let b = v.to_bits() as i64;
    (if b < 0 { i64::MIN.wrapping_sub(b) } else { b }) as i128
}

/// Distance in f32 ULPs between `got` and `exact` rounded to f32; 0 if both are NaN,
/// `u64::MAX` if exactly one is.
pub fn ulps32(got: f32, exact: f64) -> u64 {
    let want = exact as f32;
    match (got.is_nan(), want.is_nan()) {
        (true, true) => 0,
        (false, false) => (ordered32(got) - ordered32(want)).unsigned_abs(),
        _ => u64::MAX,
    }
}

/// Distance in f64 ULPs; NaN handling as in [`ulps32`].
pub fn ulps64(got: f64, want: f64) -> u128 {
    match (got.is_nan(), want.is_nan()) {
        (true, true) => 0,
        (false, false) => (ordered64(got) - ordered64(want)).unsigned_abs(),
        _ => u128::MAX,
    }
}

/// True if `got` is within `rel` relative or `abs` absolute of `want` (equal infinities and
/// two NaNs count as close).
pub fn close(got: f64, want: f64, rel: f64, abs: f64) -> bool {
    if got.is_nan() || want.is_nan() {
        return got.is_nan() && want.is_nan();
    }
    if got.is_infinite() || want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= abs.max(rel * want.abs())
}

/// linspace(−10, 10, 501) plus the extremes: ±0, ±1e−40 (subnormal in f32), ±1e−7, ±20, ±88.7,
/// ±89, ±100, ±1e4, ±3.4e38, ±inf, NaN.
pub fn battery() -> Vec<f64> {
    let mut v: Vec<f64> = (0..501).map(|i| -10.0 + 20.0 * i as f64 / 500.0).collect();
    for m in [
        0.0,
        1e-40,
        1e-7,
        20.0,
        88.7,
        89.0,
        100.0,
        1e4,
        3.4e38,
        f64::INFINITY,
    ] {
        v.push(m);
        v.push(-m);
    }
    v.push(f64::NAN);
    v
}

/// The battery as f32 values, and those values back in f64 (exactly).
pub fn battery_f32() -> Vec<f32> {
    battery().into_iter().map(|v| v as f32).collect()
}

/// Reference values: `(f, f′, [∂f/∂p…])` in f64 at `x` for `params`.
pub type Reference = fn(x: f64, params: &[f64]) -> (f64, f64, Vec<f64>);

/// σ and σ′ without overflow, written independently of the runtime.
pub fn sigmoid_ref(x: f64) -> (f64, f64) {
    if x.is_nan() {
        return (x, x);
    }
    let e = (-x.abs()).exp();
    let s = if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    (s, e / ((1.0 + e) * (1.0 + e)))
}

/// SELU's λ.
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;
/// SELU's α.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;

fn nan3(x: f64, np: usize) -> Option<(f64, f64, Vec<f64>)> {
    x.is_nan().then(|| (x, x, vec![x; np]))
}

/// Hand-written references for the ten MXNet activations, by name.
pub fn reference(name: &str) -> Reference {
    match name {
        "sigmoid" => |x, _| {
            let (s, d) = sigmoid_ref(x);
            (s, d, vec![])
        },
        "tanh" => |x, _| (x.tanh(), 1.0 / x.cosh().powi(2), vec![]),
        "softsign" => |x, _| {
            let f = if x.is_infinite() {
                x.signum()
            } else {
                x / (1.0 + x.abs())
            };
            (f, 1.0 / (1.0 + x.abs()).powi(2), vec![])
        },
        "relu" => |x, _| {
            if let Some(r) = nan3(x, 0) {
                return r;
            }
            if x > 0.0 {
                (x, 1.0, vec![])
            } else {
                (0.0, 0.0, vec![])
            }
        },
        "softrelu" => |x, _| {
            let f = if x > 0.0 {
                x + (-x).exp().ln_1p()
            } else {
                x.exp().ln_1p()
            };
            (f, sigmoid_ref(x).0, vec![])
        },
        "leaky" | "prelu" => |x, p| {
            if let Some(r) = nan3(x, 1) {
                return r;
            }
            let a = p[0];
            if x > 0.0 {
                (x, 1.0, vec![0.0])
            } else {
                (a * x, a, vec![x])
            }
        },
        "elu" => |x, p| {
            if let Some(r) = nan3(x, 1) {
                return r;
            }
            let a = p[0];
            if x > 0.0 {
                (x, 1.0, vec![0.0])
            } else {
                (a * x.exp_m1(), a * x.exp(), vec![x.exp_m1()])
            }
        },
        "selu" => |x, _| {
            if let Some(r) = nan3(x, 0) {
                return r;
            }
            if x > 0.0 {
                (SELU_LAMBDA * x, SELU_LAMBDA, vec![])
            } else {
                (
                    SELU_LAMBDA * SELU_ALPHA * x.exp_m1(),
                    SELU_LAMBDA * SELU_ALPHA * x.exp(),
                    vec![],
                )
            }
        },
        "swish" => |x, p| {
            if let Some(r) = nan3(x, 1) {
                return r;
            }
            let b = p[0];
            let (s, ds) = sigmoid_ref(b * x);
            if x.is_infinite() {
                // Limits. β = 0: x/2, f′ = ½, ∂f/∂β = x²/4. Otherwise σ(βx) → 1 where βx → +inf
                // (f → x, f′ → 1) and → 0 faster than x grows where βx → −inf (f, f′ → 0);
                // ∂f/∂β = x²σ′(βx) → 0.
                if b == 0.0 {
                    return (x, 0.5, vec![f64::INFINITY]);
                }
                return if b * x > 0.0 {
                    (x, 1.0, vec![0.0])
                } else {
                    (0.0, 0.0, vec![0.0])
                };
            }
            // ds = σ′(βx); products of a huge x with an underflowed ds are 0, as in the limit.
            let xd = if ds == 0.0 { 0.0 } else { x * ds };
            (x * s, s + b * xd, vec![x * xd])
        },
        other => panic!("no reference for {other}"),
    }
}

/// The ten activations' names, in the guide's order.
pub const TEN: [&str; 10] = [
    "sigmoid", "tanh", "softsign", "relu", "softrelu", "leaky", "prelu", "elu", "selu", "swish",
];

/// The vector math functions with their f64 references and ULP targets `(f32, f64)`.
/// A vector math function under test: name, its one-function activation, the f64 reference,
/// and the ULP targets for f32 and f64.
pub struct MathFunction {
    /// The function's name.
    pub name: &'static str,
    /// The function as an activation (so it runs on every ISA through the slice API).
    pub act: Box<dyn TestActivation>,
    /// The reference, in f64.
    pub reference: fn(f64) -> f64,
    /// Max ULP allowed in f32.
    pub max_ulp_f32: u64,
    /// Max ULP allowed in f64.
    pub max_ulp_f64: u128,
}

/// The vector math functions with their f64 references and ULP targets.
pub fn math_functions() -> Vec<MathFunction> {
    use crate::elementwise::*;
    fn sig(x: f64) -> f64 {
        sigmoid_ref(x).0
    }
    fn sp(x: f64) -> f64 {
        if x > 0.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        }
    }
    let f = |name, act: Box<dyn TestActivation>, reference, max_ulp_f32| MathFunction {
        name,
        act,
        reference,
        max_ulp_f32,
        max_ulp_f64: 4,
    };
    vec![
        f("exp", Box::new(Exp), f64::exp, 2),
        f("exp_m1", Box::new(ExpM1), f64::exp_m1, 2),
        f("ln", Box::new(Ln), f64::ln, 2),
        f("ln_1p", Box::new(Ln1p), f64::ln_1p, 2),
        f("tanh", Box::new(Tanh), f64::tanh, 3),
        f("sigmoid", Box::new(Sigmoid), sig, 3),
        f("softplus", Box::new(Softplus), sp, 3),
        f("sin", Box::new(Sin), f64::sin, 2),
        f("cos", Box::new(Cos), f64::cos, 2),
        f("erf", Box::new(Erf), libm::erf, 3),
        // erfc = e^(−x²)·R(x) rounds more often than erf, where erfc is tiny: measured 4 ULP
        // exhaustively in f32 and 5 in f64 (sampled); these targets pin them.
        MathFunction {
            max_ulp_f64: 5,
            ..f("erfc", Box::new(Erfc), libm::erfc, 4)
        },
    ]
}

/// Inputs for the math accuracy tests: `n` random bit patterns (every exponent, subnormals
/// and NaNs included), `n` uniform in [−100, 100], and the special values.
pub fn math_inputs(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut v: Vec<f32> = (0..n).map(|_| f32::from_bits(next() as u32)).collect();
    v.extend((0..n).map(|_| ((next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 200.0));
    v.extend([
        0.0,
        -0.0,
        1e-45,
        -1e-45,
        1e-40,
        -1e-40,
        f32::MIN_POSITIVE,
        1.0,
        -1.0,
        0.5,
        88.72,
        88.73,
        -87.33,
        -103.97,
        -104.0,
        89.0,
        -89.0,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1e-7,
        -1e-7,
        0.3465,
        -0.3465,
        std::f32::consts::LN_2,
        -0.999_999_9,
    ]);
    v
}

/// Gradient tolerance: relative.
pub const GRAD_REL: f64 = 1e-5;
/// Gradient tolerance: absolute (2⁻²³).
pub const GRAD_ABS: f64 = 1.0 / 8_388_608.0;

/// What [`check_against_reference`] measured.
pub struct Report {
    /// Largest forward error, f32 ULP.
    pub forward_ulp: u64,
    /// Largest gradient error as a fraction of the tolerance.
    pub gradient_fraction: f64,
    /// Largest gradient error in f32 ULP where |true gradient| ≥ 1e−6 (below, the absolute
    /// tolerance applies and ULPs of tiny values mean little).
    pub gradient_ulp: u64,
    /// One line per value out of bounds.
    pub failures: Vec<String>,
}

/// `act` on [`battery_f32`] through the slice API on `isa`, against [`reference`]`(name)`:
/// forward within 4 ULP, gradients (∂f/∂x and every ∂f/∂p) within [`GRAD_REL`] or [`GRAD_ABS`].
/// At x = ±inf, a gradient whose limit is infinite may be NaN: the ±inf guard returns a finite
/// limit or NaN, never a value that overflow produced (`actigen::__private::Guard::inf`).
pub fn check_against_reference<A: ActivationInfo + TestPasses<f32> + ?Sized>(
    name: &str,
    act: &A,
    isa: actigen::Isa,
) -> Report {
    let x = battery_f32();
    let n = x.len();
    let params: Vec<f64> = act.params().iter().map(|&p| p as f64).collect();
    let np = params.len();
    let reference = reference(name);
    let mut y = vec![0f32; n];
    let mut dx = vec![0f32; n];
    let mut dp = vec![0f32; n * np];
    act.try_forward_on(isa, &x, &mut y).unwrap();
    act.try_backward_on(isa, &x, &vec![1.0; n], &mut dx)
        .unwrap();
    act.try_param_partials_on(isa, &x, &mut dp).unwrap();
    let mut r = Report {
        forward_ulp: 0,
        gradient_fraction: 0.0,
        gradient_ulp: 0,
        failures: Vec::new(),
    };
    for i in 0..n {
        let (f, d, ps) = reference(x[i] as f64, &params);
        let u = ulps32(y[i], f);
        r.forward_ulp = r.forward_ulp.max(u);
        if u > 4 {
            r.failures.push(format!(
                "{isa} {name} f({:e}) = {:e}, want {f:e} ({u} ulp)",
                x[i], y[i]
            ));
        }
        let mut grads = vec![(dx[i] as f64, d, "x".to_string())];
        for (j, p) in ps.iter().enumerate() {
            grads.push((dp[j * n + i] as f64, *p, format!("p{j}")));
        }
        for (got, want, what) in grads {
            // A true value beyond f32's range is ±inf once rounded.
            let want = if want.abs() > f32::MAX as f64 {
                want as f32 as f64
            } else {
                want
            };
            let infinite_limit_left_nan = x[i].is_infinite() && want.is_infinite() && got.is_nan();
            if !close(got, want, GRAD_REL, GRAD_ABS) && !infinite_limit_left_nan {
                r.failures.push(format!(
                    "{isa} {name} ∂f/∂{what}({:e}) = {got:e}, want {want:e}",
                    x[i]
                ));
            } else if want.is_finite() {
                let allowed = GRAD_ABS.max(GRAD_REL * want.abs());
                r.gradient_fraction = r.gradient_fraction.max((got - want).abs() / allowed);
                if want.abs() >= 1e-6 {
                    r.gradient_ulp = r.gradient_ulp.max(ulps32(got as f32, want));
                }
            }
        }
    }
    r
}

/// [`check_against_reference`] for each `(reference name, activation)` on every ISA this CPU has,
/// printing one line each (`label` first); returns every failure.
pub fn check_all_isas<A: ActivationInfo + TestPasses<f32> + ?Sized>(
    label: &str,
    acts: &[(&str, &A)],
) -> Vec<String> {
    let mut failures = Vec::new();
    for isa in actigen::Isa::ALL {
        if !isa.is_supported() {
            eprintln!("skipping the {isa} path: this CPU does not support it");
            continue;
        }
        for (name, act) in acts {
            let r = check_against_reference(name, *act, isa);
            eprintln!(
                "{isa:6} {label}{name:8} forward max {} ulp; gradients max {} ulp where |f'| >= 1e-6, max error {:.3} of the tolerance",
                r.forward_ulp, r.gradient_ulp, r.gradient_fraction
            );
            failures.extend(r.failures);
        }
    }
    failures
}
