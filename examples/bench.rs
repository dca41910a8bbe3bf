//! Throughput of the generated kernels: median ns per element, single thread.
//!
//! ```text
//! cargo run --release --example bench -- [--json] [--acts a,b] [--sizes 4096,262144]
//!                                        [--isa scalar|avx2|avx512|all] [--f64]
//! ```
//!
//! Forward reads x and writes y; backward reads x and dy and writes dx (as the peers in
//! PEERS.md were measured). Rows `copy` (forward) and `mul` (backward, dx = x·dy) are the
//! memory floors. Each case is timed in 21 samples of enough iterations to last about 2 ms,
//! after a warm-up; the median is printed.

use actigen::{Activation, Isa, by_name};
use std::hint::black_box;
use std::time::{Duration, Instant};

const ACTS: [&str; 10] = [
    "sigmoid", "tanh", "softsign", "relu", "softrelu", "leaky", "prelu", "elu", "selu", "swish",
];

struct Options {
    json: bool,
    acts: Vec<String>,
    sizes: Vec<usize>,
    isas: Vec<Isa>,
    f64: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("bench: {msg}");
    eprintln!(
        "usage: bench [--json] [--acts a,b,...] [--sizes n,n,...] [--isa scalar|avx2|avx512|all] [--f64]"
    );
    std::process::exit(2)
}

fn parse_options() -> Options {
    let mut o = Options {
        json: false,
        acts: ACTS.iter().map(|s| s.to_string()).collect(),
        sizes: vec![4096, 262_144, 4_194_304],
        isas: vec![actigen::try_active_isa().unwrap_or_else(|e| usage(&e.to_string()))],
        f64: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--json" => o.json = true,
            "--f64" => o.f64 = true,
            "--acts" => o.acts = value().split(',').map(str::to_string).collect(),
            "--sizes" => {
                o.sizes = value()
                    .split(',')
                    .map(|s| {
                        s.parse()
                            .unwrap_or_else(|_| usage(&format!("bad size {s:?}")))
                    })
                    .collect()
            }
            "--isa" => {
                let v = value();
                o.isas = if v == "all" {
                    Isa::ALL.into_iter().filter(|i| i.is_supported()).collect()
                } else {
                    let isa =
                        Isa::from_name(&v).unwrap_or_else(|| usage(&format!("unknown ISA {v:?}")));
                    if !isa.is_supported() {
                        usage(&format!("this CPU does not support {isa}"));
                    }
                    vec![isa]
                }
            }
            _ => usage(&format!("unknown argument {a:?}")),
        }
    }
    for a in &o.acts {
        if a != "copy" && a != "mul" && by_name(a, &[]).is_err() {
            usage(&format!("unknown activation {a:?}"));
        }
    }
    o
}

/// Median ns per element of `f` over `n` elements.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut iters = 0u64;
    while start.elapsed() < Duration::from_millis(2) {
        f();
        iters += 1;
    }
    let iters = iters.max(1);
    let mut samples: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_nanos() as f64 / (iters as f64 * n as f64)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Deterministic inputs in [−10, 10].
fn inputs(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 20.0 - 10.0
        })
        .collect()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn mul_floor_avx512<T: Copy + std::ops::Mul<Output = T>>(x: &[T], dy: &[T], dx: &mut [T]) {
    for ((d, &a), &b) in dx.iter_mut().zip(x).zip(dy) {
        *d = a * b;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn mul_floor_avx2<T: Copy + std::ops::Mul<Output = T>>(x: &[T], dy: &[T], dx: &mut [T]) {
    for ((d, &a), &b) in dx.iter_mut().zip(x).zip(dy) {
        *d = a * b;
    }
}

fn mul_floor<T: Copy + std::ops::Mul<Output = T>>(isa: Isa, x: &[T], dy: &[T], dx: &mut [T]) {
    match isa {
        // SAFETY: the ISA was checked to be supported when the options were parsed.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { mul_floor_avx512(x, dy, dx) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { mul_floor_avx2(x, dy, dx) },
        _ => {
            for ((d, &a), &b) in dx.iter_mut().zip(x).zip(dy) {
                *d = a * b;
            }
        }
    }
}

fn run<T>(o: &Options, isa: Isa, convert: fn(f64) -> T)
where
    T: actigen::Float + std::ops::Mul<Output = T>,
    dyn actigen::DynActivation: Activation<T>,
{
    for &n in &o.sizes {
        let x: Vec<T> = inputs(n, 1).into_iter().map(convert).collect();
        let dy: Vec<T> = inputs(n, 2).into_iter().map(convert).collect();
        let mut out: Vec<T> = vec![T::ZERO; n];
        let mut rows: Vec<(String, &str, f64)> = Vec::new();
        for act in &o.acts {
            match act.as_str() {
                "copy" => rows.push((
                    act.clone(),
                    "fwd",
                    time(n, || {
                        out.copy_from_slice(black_box(&x));
                        black_box(&mut out);
                    }),
                )),
                "mul" => rows.push((
                    act.clone(),
                    "bwd",
                    time(n, || {
                        mul_floor(isa, black_box(&x), black_box(&dy), &mut out);
                        black_box(&mut out);
                    }),
                )),
                name => {
                    let a = by_name(name, &[]).expect("checked in parse_options");
                    let a: &dyn actigen::DynActivation = &*a;
                    let fwd = time(n, || {
                        a.try_forward_on(isa, black_box(&x), &mut out).unwrap();
                        black_box(&mut out);
                    });
                    let bwd = time(n, || {
                        a.try_backward_on(isa, black_box(&x), black_box(&dy), &mut out)
                            .unwrap();
                        black_box(&mut out);
                    });
                    rows.push((act.clone(), "fwd", fwd));
                    rows.push((act.clone(), "bwd", bwd));
                }
            }
        }
        for (act, pass, ns) in rows {
            if o.json {
                println!(
                    "{{\"act\":\"{act}\",\"pass\":\"{pass}\",\"n\":{n},\"isa\":\"{isa}\",\"dtype\":\"{}\",\"ns_per_elem\":{ns:.4}}}",
                    T::NAME
                );
            } else {
                println!(
                    "{:<9} {:<4} {:>8} {:<7} {:<4} {:>8.4}",
                    act,
                    pass,
                    n,
                    isa.name(),
                    T::NAME,
                    ns
                );
            }
        }
    }
}

fn main() {
    let mut o = parse_options();
    if !o.acts.iter().any(|a| a == "copy") && o.acts.len() == ACTS.len() {
        o.acts.push("copy".into());
        o.acts.push("mul".into());
    }
    if !o.json {
        println!(
            "{:<9} {:<4} {:>8} {:<7} {:<4} {:>8}",
            "act", "pass", "n", "isa", "type", "ns/elem"
        );
    }
    for isa in o.isas.clone() {
        if o.f64 {
            run::<f64>(&o, isa, |v| v);
        } else {
            run::<f32>(&o, isa, |v| v as f32);
        }
    }
}
