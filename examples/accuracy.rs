//! Exhaustive accuracy sweep: one vector math function (or the swish activation's forward
//! kernel, β = 1) over all 2³² f32 inputs, against std's f64 function (musl's erf and erfc, from
//! the `libm` crate, for those), on the active (or given) ISA. Prints the max ULP error and where it
//! occurs.
//!
//! ```text
//! cargo run --release --example accuracy -- exp|exp_m1|ln|ln_1p|tanh|sigmoid|softplus|sin|cos|erf|erfc|swish [--isa avx512]
//! ```
//!
//! Runs on every core (the f64 reference dominates the time); about a minute on 2 cores.

use actigen::{Activation, Isa};
use actigen_tests::elementwise::{
    Cos, Erf, Erfc, Exp, ExpM1, Ln, Ln1p, Sigmoid, Sin, Softplus, Tanh,
};

fn sigmoid64(x: f64) -> f64 {
    let e = (-x.abs()).exp();
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

fn softplus64(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn swish64(x: f64) -> f64 {
    // x·σ(x) → −0 at −inf (the f64 product there is −inf·0).
    if x == f64::NEG_INFINITY {
        -0.0
    } else {
        x * sigmoid64(x)
    }
}

fn ordered(v: f32) -> i64 {
    let b = v.to_bits() as i32;
    (if b < 0 { i32::MIN.wrapping_sub(b) } else { b }) as i64
}

/// ULP distance to the rounded reference; NaN vs non-NaN is a failure (u64::MAX).
fn ulps(got: f32, exact: f64) -> u64 {
    let want = exact as f32;
    match (got.is_nan(), want.is_nan()) {
        (true, true) => 0,
        (false, false) => (ordered(got) - ordered(want)).unsigned_abs(),
        _ => u64::MAX,
    }
}

/// The one pass this program runs: f32 forward on a chosen ISA. The functions are boxed as
/// this, not as `dyn DynActivation`, whose vtable would compile every pass for four element
/// types on every ISA.
trait ForwardF32: Sync {
    fn forward_f32_on(&self, isa: Isa, x: &[f32], y: &mut [f32]) -> Result<(), actigen::Error>;
}

impl<A: Activation<f32> + Sync> ForwardF32 for A {
    fn forward_f32_on(&self, isa: Isa, x: &[f32], y: &mut [f32]) -> Result<(), actigen::Error> {
        self.try_forward_on(isa, x, y)
    }
}

const USAGE: &str = "usage: accuracy [FUNCTION] [--isa NAME]
  FUNCTION  exp (default), exp_m1, ln, ln_1p, tanh, sigmoid, softplus, sin, cos, erf, erfc, swish
  --isa     a supported ISA (bench --list-isas; default: the active one)
Measures the function's f32 kernel on all 2^32 inputs against an f64 reference: max ULP error.";

fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "exp".to_string());
    let mut isa = actigen::try_active_isa().unwrap_or_else(|e| {
        eprintln!("accuracy: {e}");
        std::process::exit(2)
    });
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().and_then(|v| Isa::from_name(&v))) {
            ("--isa", Some(i)) if i.is_supported() => isa = i,
            _ => {
                eprintln!("accuracy: expected --isa with a supported ISA, found {a:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let (act, reference): (Box<dyn ForwardF32>, fn(f64) -> f64) = match name.as_str() {
        "exp" => (Box::new(Exp), f64::exp),
        "exp_m1" => (Box::new(ExpM1), f64::exp_m1),
        "ln" => (Box::new(Ln), f64::ln),
        "ln_1p" => (Box::new(Ln1p), f64::ln_1p),
        "tanh" => (Box::new(Tanh), f64::tanh),
        "sigmoid" => (Box::new(Sigmoid), sigmoid64),
        "softplus" => (Box::new(Softplus), softplus64),
        "sin" => (Box::new(Sin), f64::sin),
        "cos" => (Box::new(Cos), f64::cos),
        "erf" => (Box::new(Erf), libm::erf),
        "erfc" => (Box::new(Erfc), libm::erfc),
        "swish" => (Box::new(actigen::builtin::Swish::default()), swish64),
        other => {
            eprintln!("accuracy: unknown function {other:?}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let chunks: u64 = 1 << 12;
    let per_chunk = (1u64 << 32) / chunks;
    let start = std::time::Instant::now();
    let act: &dyn ForwardF32 = &*act;
    let results: Vec<(u64, f32, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut x = vec![0f32; per_chunk as usize];
                    let mut y = vec![0f32; per_chunk as usize];
                    let (mut worst, mut at, mut over_1) = (0u64, 0f32, 0u64);
                    let mut c = t;
                    while c < chunks {
                        for (i, v) in x.iter_mut().enumerate() {
                            *v = f32::from_bits((c * per_chunk + i as u64) as u32);
                        }
                        act.forward_f32_on(isa, &x, &mut y).expect("supported ISA");
                        for (&xi, &yi) in x.iter().zip(&y) {
                            let u = ulps(yi, reference(xi as f64));
                            if u > 1 {
                                over_1 += 1;
                            }
                            if u > worst {
                                (worst, at) = (u, xi);
                            }
                        }
                        c += threads;
                    }
                    (worst, at, over_1)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    let (worst, at) = results.iter().fold(
        (0, 0f32),
        |acc, r| if r.0 > acc.0 { (r.0, r.1) } else { acc },
    );
    let over: u64 = results.iter().map(|r| r.2).sum();
    println!(
        "{name} on {isa}: max error {worst} ulp at x = {at:e} (0x{:08x}); {over} of 2^32 inputs above 1 ulp; {:.1} s",
        at.to_bits(),
        start.elapsed().as_secs_f64()
    );
}
