//! Throughput of the generated kernels: median ns per element, single thread.
//!
//! ```text
//! cargo run --release --example bench -- [--json] [--acts a,b] [--sizes 4096,262144]
//!                                        [--isa NAME,NAME|all] [--dtype f32,f64,f16,bf16]
//!                                        [--threads N] [--f64] [--naive] [--list-isas]
//! ```
//!
//! `NAME` is an ISA of the runtime's table (`--list-isas` prints them, with whether this CPU
//! supports each). `--naive` adds the naive Rust loops of each activation (f32, built for the
//! crate's target), the least any path must beat. `--dtype` picks the slice types (f32 by
//! default; `--f64` is `--dtype f64`): the half types are computed in f32, block by block.
//! `--threads N` runs everything on a rayon pool of N threads (default 1: single-thread
//! figures); slices of at least `actigen::parallel::THRESHOLD` elements are then split.
//!
//! Forward reads x and writes y; backward reads x and dy and writes dx (as the peers in
//! PEERS.md were measured). Rows `copy` (forward, `copy_from_slice`) and `mul` (backward of
//! f(x) = x on the ISA: reads x and dy, writes dx) are the memory floors. Each case is timed in
//! 21 samples of enough iterations to last about 2 ms, after a warm-up; the median is printed.
//!
//! The gated units (`--acts swiglu,geglu_tanh,reglu,floor2`, any of
//! `actigen::builtin::MULTI_NAMES`) take two inputs of n elements each: forward reads both and
//! writes y, backward reads both and dy and writes both gradients. Row `floor2` is their
//! memory floor through the same drivers: f(a, b) = a + b, whose forward moves three streams
//! and whose backward moves five. For f32 the gated units also get a `grad2` row in release
//! builds, their double backward (`MultiActivation::grad2`: seven streams).
//!
//! Rows `prelu_cf` and `prelu_cl` are PReLU with one alpha per channel (`actigen::channels`):
//! `[N, 64, 64]` channels-first and `[.., 1024]` channels-last, f32 and f64; compare with row
//! `prelu` (one alpha). Row `swiglu_oai_cl` (release builds) is gpt-oss's SwiGLU with one alpha
//! per channel of a `[.., 1024]` hidden state (`MultiChannelActivation`); compare with row
//! `swiglu_oai`.

use actigen::builtin::{DynMultiActivation, MULTI_NAMES, multi_by_name};
use actigen::channels::{ChannelActivation, Layout, MultiChannelActivation};
use actigen::{Activation, Isa, MultiActivation, by_name, half};
use std::hint::black_box;
use std::time::{Duration, Instant};

const ACTS: [&str; 10] = [
    "sigmoid", "tanh", "softsign", "relu", "softrelu", "leaky", "prelu", "elu", "selu", "swish",
];

const DTYPES: [&str; 4] = ["f32", "f64", "f16", "bf16"];

struct Options {
    json: bool,
    acts: Vec<String>,
    sizes: Vec<usize>,
    isas: Vec<Isa>,
    dtypes: Vec<String>,
    threads: usize,
    naive: bool,
    list_isas: bool,
    gpu: bool,
}

const USAGE: &str = "usage: bench [--json] [--acts a,b,...] [--sizes n,n,...] [--isa NAME,NAME|all]
             [--dtype f32,f64,f16,bf16] [--threads N] [--f64] [--naive] [--list-isas] [--gpu]
  --acts      activations (default: the ten built-ins; any name of actigen::by_name, the
              examples' registered custom ones included: mish, gelu, hard_swish, ...); gated units (swiglu, geglu,
              geglu_tanh, reglu, swiglu_oai, glu) and their floor, floor2, take two inputs
              (f32, release builds: also their double backward, pass grad2);
              prelu_cf ([N, 64, 64]) and prelu_cl ([.., 1024]): PReLU with one alpha per
              channel (f32 and f64); swiglu_oai_cl ([.., 1024]): swiglu_oai with one alpha
              per channel (release builds)
  --sizes     slice lengths, each at least 1 (default 4096,262144,4194304)
  --isa       ISAs of the runtime's table, or all the CPU supports (default: the active one)
  --dtype     slice types (default f32; --f64 is --dtype f64)
  --threads   a rayon pool of N threads (default 1)
  --naive     add the naive Rust loops
  --json      one JSON object per row
  --list-isas print the ISAs and whether this CPU supports each, and exit
  --gpu       (feature gpu) instead: swish, gelu_tanh and swiglu forward and backward on the
              GPU (wgpu, device buffers of each --dtype but f64, each call waited for), rows
              with isa \"wgpu\", and
              the device's copy of one buffer to another (row copy, forward)
Prints the median ns per element of each (activation, pass, size, type, ISA).";

fn usage(msg: &str) -> ! {
    eprintln!("bench: {msg}");
    eprintln!("{USAGE}");
    std::process::exit(2)
}

fn parse_options() -> Options {
    let mut o = Options {
        json: false,
        acts: ACTS.iter().map(|s| s.to_string()).collect(),
        sizes: vec![4096, 262_144, 4_194_304],
        isas: vec![actigen::try_active_isa().unwrap_or_else(|e| usage(&e.to_string()))],
        dtypes: vec!["f32".into()],
        threads: 1,
        naive: false,
        list_isas: false,
        gpu: false,
    };
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        std::process::exit(0);
    }
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--json" => o.json = true,
            "--f64" => o.dtypes = vec!["f64".into()],
            "--threads" => {
                o.threads = value()
                    .parse()
                    .ok()
                    .filter(|&t| t >= 1)
                    .unwrap_or_else(|| usage("--threads needs a positive integer"))
            }
            "--dtype" => {
                o.dtypes = value().split(',').map(str::to_string).collect();
                if let Some(d) = o.dtypes.iter().find(|d| !DTYPES.contains(&d.as_str())) {
                    usage(&format!(
                        "unknown --dtype {d} (one of {})",
                        DTYPES.join(", ")
                    ));
                }
            }
            "--naive" => o.naive = true,
            "--list-isas" => o.list_isas = true,
            "--gpu" => o.gpu = true,
            "--acts" => o.acts = value().split(',').map(str::to_string).collect(),
            "--sizes" => {
                o.sizes = value()
                    .split(',')
                    .map(|s| {
                        s.parse()
                            .ok()
                            .filter(|&n: &usize| n >= 1)
                            .unwrap_or_else(|| {
                                usage(&format!("bad size {s:?}: a length of at least 1"))
                            })
                    })
                    .collect()
            }
            "--isa" => {
                let v = value();
                o.isas = if v == "all" {
                    Isa::ALL.into_iter().filter(|i| i.is_supported()).collect()
                } else {
                    v.split(',')
                        .map(|name| {
                            let isa = Isa::from_name(name)
                                .unwrap_or_else(|| usage(&format!("unknown ISA {name:?}")));
                            if !isa.is_supported() {
                                usage(&format!("this CPU does not support {isa}"));
                            }
                            isa
                        })
                        .collect()
                }
            }
            _ => usage(&format!("unknown argument {a:?}")),
        }
    }
    for a in &o.acts {
        let gated = a == "floor2" || MULTI_NAMES.contains(&a.as_str());
        let special =
            ["copy", "mul", "prelu_cf", "prelu_cl", "swiglu_oai_cl"].contains(&a.as_str());
        if !special && !gated && by_name(a, &[]).is_err() {
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

/// f(x) = x: its backward (dx = dy·1, reading x and dy, writing dx) is the two-input memory
/// floor on each ISA, through the same drivers as every kernel.
#[actigen::activation]
fn linear(x: f32) -> f32 {
    x
}

/// f(a, b) = a + b: the two-input memory floor (forward: three streams, backward: five).
#[actigen::activation]
fn floor2(a: f32, b: f32) -> f32 {
    a + b
}

/// Median ns/element (per element of one input) of a two-input unit's forward and backward.
fn time_gated<T: actigen::Storage, A: MultiActivation<T, 2> + ?Sized>(
    act: &A,
    isa: Isa,
    x: [&[T]; 2],
    dy: &[T],
    out: [&mut [T]; 2],
) -> (f64, f64) {
    let n = dy.len();
    let [o0, o1] = out;
    let fwd = time(n, || {
        act.try_forward_on(isa, black_box(x), &mut *o0).unwrap();
        black_box(&mut *o0);
    });
    let bwd = time(n, || {
        act.try_backward_on(isa, black_box(x), black_box(dy), [&mut *o0, &mut *o1], None)
            .unwrap();
        black_box(&mut *o0);
    });
    (fwd, bwd)
}

/// Median ns/element of one naive loop pair (forward `f`, derivative `d`), monomorphised so each
/// closure is inlined into its loop as a hand-written loop would be.
fn time_naive(
    n: usize,
    x: &[f32],
    dy: &[f32],
    out: &mut [f32],
    f: impl Fn(f32) -> f32,
    d: impl Fn(f32) -> f32,
) -> (f64, f64) {
    let fwd = time(n, || {
        for (y, &v) in out.iter_mut().zip(black_box(x)) {
            *y = f(v);
        }
        black_box(&mut *out);
    });
    let bwd = time(n, || {
        for ((g, &v), &e) in out.iter_mut().zip(black_box(x)).zip(black_box(dy)) {
            *g = e * d(v);
        }
        black_box(&mut *out);
    });
    (fwd, bwd)
}

/// The naive loops a user would write by hand (`f32` methods, std's libm), built for the
/// crate's target (plain x86-64 unless RUSTFLAGS says otherwise): the least any path must beat.
/// Median ns/element for `acts`, forward and backward, at size `n`.
fn run_naive(o: &Options, n: usize) -> Vec<(String, &'static str, f64)> {
    const SELU_L: f32 = 1.050_701;
    const SELU_A: f32 = 1.673_263_2;
    fn sig(x: f32) -> f32 {
        1.0 / (1.0 + (-x).exp())
    }
    let x: Vec<f32> = inputs(n, 1).into_iter().map(|v| v as f32).collect();
    let dy: Vec<f32> = inputs(n, 2).into_iter().map(|v| v as f32).collect();
    let mut out = vec![0f32; n];
    let o_ = &mut out;
    let mut rows = Vec::new();
    for act in &o.acts {
        let (x, dy) = (&x[..], &dy[..]);
        let (fwd, bwd) = match act.as_str() {
            "sigmoid" => time_naive(n, x, dy, o_, sig, |v| sig(v) * (1.0 - sig(v))),
            "tanh" => time_naive(n, x, dy, o_, |v| v.tanh(), |v| 1.0 - v.tanh() * v.tanh()),
            "softsign" => time_naive(
                n,
                x,
                dy,
                o_,
                |v| v / (1.0 + v.abs()),
                |v| 1.0 / ((1.0 + v.abs()) * (1.0 + v.abs())),
            ),
            "relu" => time_naive(
                n,
                x,
                dy,
                o_,
                |v| v.max(0.0),
                |v| if v > 0.0 { 1.0 } else { 0.0 },
            ),
            "softrelu" => time_naive(n, x, dy, o_, |v| v.exp().ln_1p(), sig),
            "leaky" => time_naive(
                n,
                x,
                dy,
                o_,
                |v| if v > 0.0 { v } else { 0.01 * v },
                |v| if v > 0.0 { 1.0 } else { 0.01 },
            ),
            "prelu" => time_naive(
                n,
                x,
                dy,
                o_,
                |v| if v > 0.0 { v } else { 0.25 * v },
                |v| if v > 0.0 { 1.0 } else { 0.25 },
            ),
            "elu" => time_naive(
                n,
                x,
                dy,
                o_,
                |v| if v > 0.0 { v } else { v.exp_m1() },
                |v| if v > 0.0 { 1.0 } else { v.exp() },
            ),
            "selu" => time_naive(
                n,
                x,
                dy,
                o_,
                |v| {
                    if v > 0.0 {
                        SELU_L * v
                    } else {
                        SELU_L * SELU_A * v.exp_m1()
                    }
                },
                |v| {
                    if v > 0.0 {
                        SELU_L
                    } else {
                        SELU_L * SELU_A * v.exp()
                    }
                },
            ),
            "swish" => time_naive(
                n,
                x,
                dy,
                o_,
                |v| v / (1.0 + (-v).exp()),
                |v| sig(v) * (1.0 + v * (1.0 - sig(v))),
            ),
            _ => continue,
        };
        rows.push((act.clone(), "fwd", fwd));
        rows.push((act.clone(), "bwd", bwd));
    }
    rows
}

fn run<T>(o: &Options, isa: Isa, convert: fn(f64) -> T)
where
    T: actigen::Storage,
    dyn actigen::DynActivation: Activation<T>,
    dyn DynMultiActivation: MultiActivation<T, 2>,
    Linear: Activation<T>,
    Floor2: MultiActivation<T, 2>,
{
    for &n in &o.sizes {
        let x: Vec<T> = inputs(n, 1).into_iter().map(convert).collect();
        let dy: Vec<T> = inputs(n, 2).into_iter().map(convert).collect();
        let x2: Vec<T> = inputs(n, 3).into_iter().map(convert).collect();
        let mut out: Vec<T> = vec![convert(0.0); n];
        let mut out2: Vec<T> = vec![convert(0.0); n];
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
                        Linear
                            .try_backward_on(isa, black_box(&x), black_box(&dy), &mut out)
                            .unwrap();
                        black_box(&mut out);
                    }),
                )),
                "floor2" => {
                    let (fwd, bwd) =
                        time_gated(&Floor2, isa, [&x, &x2], &dy, [&mut out, &mut out2]);
                    rows.push((act.clone(), "fwd", fwd));
                    rows.push((act.clone(), "bwd", bwd));
                }
                // Per-channel rows: `run_channels` (f32 and f64 only).
                "prelu_cf" | "prelu_cl" | "swiglu_oai_cl" => {}
                name if MULTI_NAMES.contains(&name) => {
                    let a = multi_by_name(name, &[]).expect("checked in parse_options");
                    let a: &dyn DynMultiActivation = &*a;
                    let (fwd, bwd) = time_gated(a, isa, [&x, &x2], &dy, [&mut out, &mut out2]);
                    rows.push((act.clone(), "fwd", fwd));
                    rows.push((act.clone(), "bwd", bwd));
                }
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
        print_rows(o, &rows, n, isa.name(), T::DTYPE);
    }
}

/// The per-channel PReLU rows (`prelu_cf`: `[N, 64, 64]` channels-first; `prelu_cl`:
/// `[.., 1024]` channels-last; alpha from 0.05 to 0.5 over the channels), at the sizes the
/// layout divides; compare with row `prelu` (one alpha).
fn run_channels<T: actigen::Float>(o: &Options, isa: Isa, convert: fn(f64) -> T)
where
    actigen::Prelu: ChannelActivation<T>,
    actigen::SwigluOai: MultiChannelActivation<T, 2>,
{
    for &n in &o.sizes {
        let x: Vec<T> = inputs(n, 1).into_iter().map(convert).collect();
        let dy: Vec<T> = inputs(n, 2).into_iter().map(convert).collect();
        let mut out: Vec<T> = vec![convert(0.0); n];
        let mut rows: Vec<(String, &str, f64)> = Vec::new();
        for act in &o.acts {
            if act == "swiglu_oai_cl" {
                if let Some((fwd, bwd)) = time_swiglu_oai_cl(isa, &x, &dy, convert) {
                    rows.push((act.clone(), "fwd", fwd));
                    rows.push((act.clone(), "bwd", bwd));
                }
                continue;
            }
            let layout = match act.as_str() {
                "prelu_cf" => Layout::ChannelsFirst {
                    channels: 64,
                    inner: 64,
                },
                "prelu_cl" => Layout::ChannelsLast { channels: 1024 },
                _ => continue,
            };
            let c = layout.channels();
            let alpha: Vec<f32> = (0..c).map(|i| 0.05 + 0.45 * i as f32 / c as f32).collect();
            let pc = [("alpha", &alpha[..])];
            let prelu = actigen::Prelu::default();
            if prelu
                .try_forward_channels_on(isa, layout, &pc, &x, &mut out)
                .is_err()
            {
                continue; // n is not a multiple of the layout's period
            }
            let fwd = time(n, || {
                prelu
                    .try_forward_channels_on(isa, layout, &pc, black_box(&x), &mut out)
                    .unwrap();
                black_box(&mut out);
            });
            let bwd = time(n, || {
                prelu
                    .try_backward_channels_on(
                        isa,
                        layout,
                        &pc,
                        black_box(&x),
                        black_box(&dy),
                        &mut out,
                        false,
                    )
                    .unwrap();
                black_box(&mut out);
            });
            rows.push((act.clone(), "fwd", fwd));
            rows.push((act.clone(), "bwd", bwd));
        }
        if !rows.is_empty() {
            print_rows(o, &rows, n, isa.name(), T::DTYPE);
        }
    }
}

/// Row `swiglu_oai_cl`, release builds only (as `run_grad2`: its kernels, unoptimised, are
/// compiled in the debug build the test command makes of every example; with them the test
/// step's build took 4 min 28 s in CI against 4 min 20 s, in a slower hour).
#[cfg(debug_assertions)]
fn time_swiglu_oai_cl<T: actigen::Float>(
    _: Isa,
    _: &[T],
    _: &[T],
    _: fn(f64) -> T,
) -> Option<(f64, f64)> {
    None
}

/// Row `swiglu_oai_cl`: forward and backward (input gradients) of gpt-oss's SwiGLU over a
/// `[.., 1024]` hidden state with one alpha per channel (1.5 to 2.0), on the gated rows'
/// inputs (gate `x`, up from seed 3); the medians in ns per element (`None` where n is not a
/// multiple of 1024).
#[cfg(not(debug_assertions))]
fn time_swiglu_oai_cl<T: actigen::Float>(
    isa: Isa,
    x: &[T],
    dy: &[T],
    convert: fn(f64) -> T,
) -> Option<(f64, f64)>
where
    actigen::SwigluOai: MultiChannelActivation<T, 2>,
{
    let n = x.len();
    if !n.is_multiple_of(1024) {
        return None;
    }
    let layout = Layout::ChannelsLast { channels: 1024 };
    let alpha: Vec<f32> = (0..1024).map(|i| 1.5 + 0.5 * i as f32 / 1024.0).collect();
    let pc = [("alpha", &alpha[..])];
    let act = actigen::SwigluOai::default();
    let up: Vec<T> = inputs(n, 3).into_iter().map(convert).collect();
    let (mut y, mut d0, mut d1) = (
        vec![convert(0.0); n],
        vec![convert(0.0); n],
        vec![convert(0.0); n],
    );
    let fwd = time(n, || {
        act.try_forward_channels_on(isa, layout, &pc, black_box([x, &up]), &mut y)
            .unwrap();
        black_box(&mut y);
    });
    let bwd = time(n, || {
        act.try_backward_channels_on(
            isa,
            layout,
            &pc,
            black_box([x, &up]),
            black_box(dy),
            [&mut d0, &mut d1],
            false,
        )
        .unwrap();
        black_box((&mut d0, &mut d1));
    });
    Some((fwd, bwd))
}

/// The gated units' double backward, `MultiActivation::grad2` (f32; rows with pass `grad2`):
/// `out[j] = dy · Σ_k v[k]·∂²f/∂x_k∂x_j` reads both inputs, dy and both of v and writes both
/// outputs, seven streams (the backward moves five: compare with its row and `floor2`'s).
/// Typed calls, one per unit: `grad2` is not on the `dyn` values of `multi_by_name`. Release
/// builds only: they instantiate the six units' kernels in this crate, and unoptimised (the
/// debug build the test command makes of every example) that took 110 s instead of 3.
#[cfg(debug_assertions)]
fn run_grad2(_: &Options, _: Isa) {}

/// See the other `run_grad2`.
#[cfg(not(debug_assertions))]
fn run_grad2(o: &Options, isa: Isa) {
    fn time_grad2<A: MultiActivation<f32, 2>>(
        act: &A,
        isa: Isa,
        x: [&[f32]; 2],
        dy: &[f32],
        v: [&[f32]; 2],
        out: [&mut [f32]; 2],
    ) -> f64 {
        let [o0, o1] = out;
        time(dy.len(), || {
            act.try_grad2_on(
                isa,
                black_box(x),
                black_box(dy),
                black_box(v),
                [&mut *o0, &mut *o1],
            )
            .unwrap();
            black_box(&mut *o0);
        })
    }
    for &n in &o.sizes {
        let f = |seed| -> Vec<f32> { inputs(n, seed).into_iter().map(|v| v as f32).collect() };
        let (x, x2, dy, v0, v1) = (f(1), f(3), f(2), f(4), f(5));
        let (mut out, mut out2) = (vec![0f32; n], vec![0f32; n]);
        let mut rows: Vec<(String, &str, f64)> = Vec::new();
        for act in &o.acts {
            let args = ([&x[..], &x2[..]], &dy[..], [&v0[..], &v1[..]]);
            let out = [&mut out[..], &mut out2[..]];
            let ns = match act.as_str() {
                "swiglu" => time_grad2(&actigen::Swiglu, isa, args.0, args.1, args.2, out),
                "geglu" => time_grad2(&actigen::Geglu, isa, args.0, args.1, args.2, out),
                "geglu_tanh" => time_grad2(&actigen::GegluTanh, isa, args.0, args.1, args.2, out),
                "reglu" => time_grad2(&actigen::Reglu, isa, args.0, args.1, args.2, out),
                "swiglu_oai" => time_grad2(
                    &actigen::SwigluOai::default(),
                    isa,
                    args.0,
                    args.1,
                    args.2,
                    out,
                ),
                "glu" => time_grad2(&actigen::Glu, isa, args.0, args.1, args.2, out),
                _ => continue,
            };
            rows.push((act.clone(), "grad2", ns));
        }
        if !rows.is_empty() {
            print_rows(o, &rows, n, isa.name(), "f32");
        }
    }
}

fn print_rows(o: &Options, rows: &[(String, &str, f64)], n: usize, isa: &str, dtype: &str) {
    let threads = o.threads;
    for (act, pass, ns) in rows {
        if o.json {
            println!(
                "{{\"act\":\"{act}\",\"pass\":\"{pass}\",\"n\":{n},\"isa\":\"{isa}\",\"dtype\":\"{dtype}\",\"threads\":{threads},\"ns_per_elem\":{ns:.4}}}"
            );
        } else {
            println!("{act:<9} {pass:<4} {n:>8} {isa:<8} {dtype:<4} {threads:>7} {ns:>8.4}");
        }
    }
}

fn main() {
    // The examples' custom activations by name (`--acts mish,gelu`), as a user's registered ones.
    actigen_examples::register_custom();
    let mut o = parse_options();
    if !o.acts.iter().any(|a| a == "copy") && o.acts.len() == ACTS.len() {
        o.acts.push("copy".into());
        o.acts.push("mul".into());
    }
    if o.list_isas {
        // One line per ISA in the runtime's table: the list CI iterates over.
        for isa in Isa::ALL {
            let status = if isa.is_supported() {
                "supported"
            } else {
                "unsupported"
            };
            println!("{} {status}", isa.name());
        }
        return;
    }
    if !o.json {
        println!(
            "{:<9} {:<4} {:>8} {:<8} {:<4} {:>7} {:>8}",
            "act", "pass", "n", "isa", "type", "threads", "ns/elem"
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(o.threads)
        .build()
        .unwrap_or_else(|e| usage(&format!("cannot start {} threads: {e}", o.threads)));
    if o.gpu {
        run_gpu(&o);
        return;
    }
    pool.install(|| run_all(&o));
}

/// `--gpu`: the issue's three activations on the GPU's device buffers, and the copy floor,
/// for each `--dtype` of f32, f16 and bf16 (the half types two to a `u32`, computed in f32).
#[cfg(feature = "gpu")]
fn run_gpu(o: &Options) {
    use actigen::wgsl::Storage;
    use actigen::{Swiglu, Swish, gpu::Gpu};
    use actigen_examples::GeluTanh;
    let gpu = Gpu::new().unwrap_or_else(|e| {
        eprintln!("bench: {e}");
        std::process::exit(1)
    });
    eprintln!("bench --gpu on {}", gpu.adapter_name());
    let fail = |e: actigen::Error| -> ! {
        eprintln!("bench: {e}");
        std::process::exit(1)
    };
    for &n in &o.sizes {
        for dtype in &o.dtypes {
            let storage = match dtype.as_str() {
                "f32" => Storage::F32,
                "f16" => Storage::F16,
                "bf16" => Storage::Bf16,
                _ => {
                    eprintln!("bench --gpu: no {dtype} on the GPU (f32, f16, bf16)");
                    continue;
                }
            };
            // A buffer of the values in the dtype's storage.
            let buffer = |v: &[f32]| match storage {
                Storage::F32 => gpu.buffer(v),
                Storage::F16 => gpu.buffer(
                    &v.iter()
                        .map(|&x| half::f16::from_f32(x))
                        .collect::<Vec<_>>(),
                ),
                Storage::Bf16 => gpu.buffer(
                    &v.iter()
                        .map(|&x| half::bf16::from_f32(x))
                        .collect::<Vec<_>>(),
                ),
            };
            // The copy floor copies the same bytes: n f32s, or ⌈n/2⌉ pairs of halves.
            let words = if storage == Storage::F32 {
                n
            } else {
                n.div_ceil(2)
            };
            let xs: Vec<f32> = inputs(n, 1).iter().map(|&v| v as f32).collect();
            let us: Vec<f32> = inputs(n, 2).iter().map(|&v| v as f32).collect();
            let (x, u, dy) = (buffer(&xs), buffer(&us), buffer(&us));
            let zeros = vec![0.0f32; n];
            let (y, dx, du) = (buffer(&zeros), buffer(&zeros), buffer(&zeros));
            let mut rows = vec![(
                "copy".to_string(),
                "fwd",
                time(n, || gpu.copy(&x, &y, words).unwrap_or_else(|e| fail(e))),
            )];
            let swish = Swish::default();
            rows.push((
                "swish".into(),
                "fwd",
                time(n, || {
                    gpu.forward_buffers_as(&swish, storage, &x, &y, n)
                        .unwrap_or_else(|e| fail(e))
                }),
            ));
            rows.push((
                "swish".into(),
                "bwd",
                time(n, || {
                    gpu.backward_buffers_as(&swish, storage, &x, &dy, &dx, n)
                        .map(drop)
                        .unwrap_or_else(|e| fail(e))
                }),
            ));
            rows.push((
                "gelu_tanh".into(),
                "fwd",
                time(n, || {
                    gpu.forward_buffers_as(&GeluTanh, storage, &x, &y, n)
                        .unwrap_or_else(|e| fail(e))
                }),
            ));
            rows.push((
                "gelu_tanh".into(),
                "bwd",
                time(n, || {
                    gpu.backward_buffers_as(&GeluTanh, storage, &x, &dy, &dx, n)
                        .map(drop)
                        .unwrap_or_else(|e| fail(e))
                }),
            ));
            rows.push((
                "swiglu".into(),
                "fwd",
                time(n, || {
                    gpu.forward_multi_buffers_as(&Swiglu, storage, [&x, &u], &y, n)
                        .unwrap_or_else(|e| fail(e))
                }),
            ));
            rows.push((
                "swiglu".into(),
                "bwd",
                time(n, || {
                    gpu.backward_multi_buffers_as(&Swiglu, storage, [&x, &u], &dy, [&dx, &du], n)
                        .map(drop)
                        .unwrap_or_else(|e| fail(e))
                }),
            ));
            print_rows(o, &rows, n, "wgpu", dtype);
        }
    }
}

#[cfg(not(feature = "gpu"))]
fn run_gpu(_: &Options) {
    usage(
        "--gpu needs the `gpu` feature: cargo run --release --features gpu --example bench -- --gpu",
    );
}

fn run_all(o: &Options) {
    for isa in o.isas.clone() {
        for dtype in o.dtypes.clone() {
            match dtype.as_str() {
                "f64" => {
                    run::<f64>(o, isa, |v| v);
                    run_channels::<f64>(o, isa, |v| v);
                }
                "f16" => run::<half::f16>(o, isa, half::f16::from_f64),
                "bf16" => run::<half::bf16>(o, isa, half::bf16::from_f64),
                _ => {
                    run::<f32>(o, isa, |v| v as f32);
                    run_channels::<f32>(o, isa, |v| v as f32);
                    run_grad2(o, isa);
                }
            }
        }
    }
    if o.naive {
        for &n in &o.sizes {
            print_rows(o, &run_naive(o, n), n, "naive", "f32");
        }
    }
}
