//! Evaluates an activation on numbers read from stdin, through the slice API.
//!
//! ```text
//! echo "-1 0 1 inf nan" | cargo run --release --example eval -- swish beta=2 [--f64]
//! ```
//!
//! Prints one line per input: `x y dydx` and then ∂y/∂p for each parameter (per element), in
//! Rust's shortest round-trip formatting (`{:?}`: exponents for very small and large values). Forward, backward with dy = 1 and the per-element
//! parameter partials are each one slice call. A bad name, parameter or number is reported on
//! stderr with exit code 2; output that cannot be written (a closed pipe, as in `eval … | head
//! -1`, or a full disk, as with `> /dev/full`) is reported on stderr with exit code 1, never
//! lost silently and never a panic.

use actigen::{Activation, DynActivation, Float, by_name};
use std::fmt::Display;
use std::io::{Read, Write};
use std::process::exit;

const USAGE: &str = "usage: eval NAME [PARAM=VALUE ...] [--f64] < numbers
  NAME          an activation of actigen::by_name (sigmoid tanh softsign relu softrelu leaky
                prelu elu selu swish, softplus leaky_relu silu, snake snake_beta xielu), or
                a custom one of the examples, registered by name (e_swish swish2 mish gelu
                gelu_tanh hard_swish)
  PARAM=VALUE   a parameter (each at most once; the others keep their defaults)
  --f64         compute in f64 (default f32; an input that overflows or underflows f32 is
                reported on stderr)
Prints `x y dydx dy/dp...` per input number (whitespace-separated on stdin).";

fn fail(msg: impl Display) -> ! {
    eprintln!("eval: {msg}");
    eprintln!("{USAGE}");
    exit(2)
}

fn print_rows<T: Float>(act: &(dyn DynActivation + 'static), x: &[T])
where
    dyn DynActivation: Activation<T>,
{
    let n = x.len();
    let np = act.param_names().len();
    let mut y = vec![T::ZERO; n];
    let mut dydx = vec![T::ZERO; n];
    let mut partials = vec![T::ZERO; n * np];
    act.try_forward(x, &mut y).unwrap_or_else(|e| fail(e));
    act.try_backward(x, &vec![T::ONE; n], &mut dydx)
        .unwrap_or_else(|e| fail(e));
    let isa = actigen::try_active_isa().unwrap_or_else(|e| fail(e));
    act.try_param_partials_on(isa, x, &mut partials)
        .unwrap_or_else(|e| fail(e));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = (0..n)
        .try_for_each(|i| {
            write!(out, "{:?} {:?} {:?}", x[i], y[i], dydx[i])?;
            for j in 0..np {
                write!(out, " {:?}", partials[j * n + i])?;
            }
            writeln!(out)
        })
        .and_then(|()| out.flush());
    if let Err(e) = written {
        eprintln!("eval: cannot write the output: {e}");
        exit(1)
    }
}

fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    actigen_examples::register_custom();
    let mut args = std::env::args().skip(1);
    let name = args
        .next()
        .unwrap_or_else(|| fail("missing the activation name"));
    let mut params: Vec<(String, f64)> = Vec::new();
    let mut double = false;
    for a in args {
        if a == "--f64" {
            double = true;
            continue;
        }
        let Some((k, v)) = a.split_once('=') else {
            fail(format!("expected PARAM=VALUE, found {a:?}"));
        };
        let v: f64 = v
            .parse()
            .unwrap_or_else(|_| fail(format!("{v:?} is not a number")));
        if params.iter().any(|(p, _)| p == k) {
            fail(format!("parameter {k:?} given twice"));
        }
        params.push((k.to_string(), v));
    }
    let refs: Vec<(&str, f64)> = params.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let act = by_name(&name, &refs).unwrap_or_else(|e| fail(e));

    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .unwrap_or_else(|e| fail(e));
    let parse = |t: &str| -> f64 {
        t.parse::<f64>()
            .unwrap_or_else(|_| fail(format!("{t:?} is not a number")))
    };
    let xs: Vec<f64> = input.split_whitespace().map(parse).collect();
    if double {
        print_rows::<f64>(&*act, &xs);
    } else {
        let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
        let (mut overflow, mut underflow) = (0usize, 0usize);
        for (&wide, &v32) in xs.iter().zip(&xs32) {
            if wide.is_finite() && v32.is_infinite() {
                overflow += 1;
            } else if wide != 0.0 && v32 == 0.0 {
                underflow += 1;
            }
        }
        if overflow + underflow > 0 {
            eprintln!(
                "eval: warning: {overflow} input(s) overflow f32 (computed as ±inf) and \
                 {underflow} underflow it (computed as ±0); --f64 keeps them"
            );
        }
        print_rows::<f32>(&*act, &xs32);
    }
}
