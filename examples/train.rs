//! Trains a small network in candle with actigen activations, beside the same network with
//! candle's own, from the same initial weights, on two interleaved spirals.
//!
//! ```text
//! cargo run --release -p actigen-examples --features candle --example train [-- --epochs N --out DIR]
//! ```
//!
//! The network is 2 → 64 → 64 → 2: a learnable Swish (x·σ(βx), β a parameter of the model)
//! after the first layer and a PReLU with one learnable α per channel (PyTorch's
//! `nn.PReLU(64)`) after the second, trained with AdamW on the full batch. The actigen model
//! applies `actigen::candle::Layer` and `ChannelLayer`; the candle model writes the same
//! activations with candle's operations (`x * sigmoid(β·x)` and `candle_nn::PReLU` with 64
//! weights).
//! Printed: a progress bar with both losses per epoch, then the final losses, accuracies, the
//! learned β and the mean of the learned α, and the median time per training step of each. Written: `train-loss.png`
//! (both loss curves) and `train-boundary.png` (the actigen model's decision regions with the
//! data). Exits with status 1 if the two final losses differ by more than the stated tolerance
//! (5% of the candle model's loss, plus 0.01).

use actigen::candle::{ChannelLayer, Layer};
use actigen::{Prelu, Swish};
use candle_core::{D, DType, Device, Module, Result, Tensor, Var};
use candle_nn::{AdamW, Linear, Optimizer, ParamsAdamW};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Points per class.
const PER_CLASS: usize = 500;
/// Hidden width.
const HIDDEN: usize = 64;

/// splitmix64: a small deterministic generator, so both models and every run see the same
/// data and initial weights.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in [−a, a).
    fn sym(&mut self, a: f32) -> f32 {
        (2.0 * self.unit() - 1.0) * a
    }
}

/// Two interleaved spirals with a little noise: `(points [2n, 2], labels [2n])`.
fn spirals(rng: &mut Rng) -> (Vec<f32>, Vec<u32>) {
    let mut xy = Vec::with_capacity(4 * PER_CLASS);
    let mut labels = Vec::with_capacity(2 * PER_CLASS);
    for class in 0..2u32 {
        for i in 0..PER_CLASS {
            let t = 0.25 + 2.75 * i as f32 / PER_CLASS as f32; // turns: radius grows with angle
            let angle = t * std::f32::consts::TAU / 1.75 + class as f32 * std::f32::consts::PI;
            let r = t / 3.0;
            xy.push(r * angle.cos() + rng.sym(0.06));
            xy.push(r * angle.sin() + rng.sym(0.06));
            labels.push(class);
        }
    }
    (xy, labels)
}

/// The initial weights of one linear layer (PyTorch's default: uniform in ±1/√fan_in).
struct Init {
    w: Vec<f32>,
    b: Vec<f32>,
    shape: (usize, usize),
}

fn init(rng: &mut Rng, fan_in: usize, fan_out: usize) -> Init {
    let a = 1.0 / (fan_in as f32).sqrt();
    Init {
        w: (0..fan_in * fan_out).map(|_| rng.sym(a)).collect(),
        b: (0..fan_out).map(|_| rng.sym(a)).collect(),
        shape: (fan_out, fan_in),
    }
}

/// A linear layer from initial weights, its variables appended to `vars`.
fn linear(i: &Init, vars: &mut Vec<Var>, dev: &Device) -> Result<Linear> {
    let w = Var::from_vec(i.w.clone(), i.shape, dev)?;
    let b = Var::from_vec(i.b.clone(), i.shape.0, dev)?;
    let layer = Linear::new(w.as_tensor().clone(), Some(b.as_tensor().clone()));
    vars.extend([w, b]);
    Ok(layer)
}

/// The network; `act1` and `act2` are the activations after the first two layers.
struct Net {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    act1: Box<dyn Module>,
    act2: Box<dyn Module>,
    vars: Vec<Var>,
    /// The learnable β and the per-channel α, for the report.
    beta: Var,
    alpha: Var,
}

impl Net {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.act1.forward(&self.l1.forward(x)?)?;
        let h = self.act2.forward(&self.l2.forward(&h)?)?;
        self.l3.forward(&h)
    }
}

impl Net {
    /// The three layers from `inits`, between them `act1` and `act2`, whose learnable β and α
    /// join the variables.
    fn new(
        inits: &[Init; 3],
        dev: &Device,
        (act1, act2): (Box<dyn Module>, Box<dyn Module>),
        (beta, alpha): (Var, Var),
    ) -> Result<Net> {
        let mut vars = Vec::new();
        let l1 = linear(&inits[0], &mut vars, dev)?;
        let l2 = linear(&inits[1], &mut vars, dev)?;
        let l3 = linear(&inits[2], &mut vars, dev)?;
        vars.extend([beta.clone(), alpha.clone()]);
        Ok(Net {
            l1,
            l2,
            l3,
            act1,
            act2,
            vars,
            beta,
            alpha,
        })
    }
}

/// The network with actigen's activations.
fn actigen_net(inits: &[Init; 3], dev: &Device) -> Result<Net> {
    let (swish, beta) = Layer::learnable(Swish::default(), dev)?;
    let (prelu, alpha) = ChannelLayer::learnable(Prelu::default(), &["alpha"], 1, HIDDEN, dev)?;
    Net::new(
        inits,
        dev,
        (Box::new(swish), Box::new(prelu)),
        (beta, alpha),
    )
}

/// The same network with candle's operations for the activations.
fn candle_net(inits: &[Init; 3], dev: &Device) -> Result<Net> {
    let beta = Var::from_vec(vec![1.0f32], 1, dev)?;
    let alpha = Var::from_vec(vec![0.25f32; HIDDEN], HIDDEN, dev)?;
    let b = beta.as_tensor().clone();
    let swish = move |x: &Tensor| x.mul(&candle_nn::ops::sigmoid(&x.broadcast_mul(&b)?)?);
    let prelu = candle_nn::PReLU::new(alpha.as_tensor().clone(), false);
    Net::new(
        inits,
        dev,
        (Box::new(swish), Box::new(prelu)),
        (beta, alpha),
    )
}

/// One model's training state and record.
struct Run {
    name: &'static str,
    net: Net,
    opt: AdamW,
    losses: Vec<f32>,
    step_times: Vec<f64>,
}

impl Run {
    fn new(name: &'static str, net: Net) -> Result<Self> {
        let params = ParamsAdamW {
            lr: 0.01,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        };
        let opt = AdamW::new(net.vars.clone(), params)?;
        Ok(Run {
            name,
            net,
            opt,
            losses: Vec::new(),
            step_times: Vec::new(),
        })
    }

    /// One full-batch step; records the loss before the update and the step's time.
    fn step(&mut self, x: &Tensor, labels: &Tensor) -> Result<()> {
        let t = Instant::now();
        let logits = self.net.forward(x)?;
        let loss = candle_nn::loss::cross_entropy(&logits, labels)?;
        self.opt.backward_step(&loss)?;
        self.step_times.push(t.elapsed().as_secs_f64());
        self.losses.push(loss.to_scalar::<f32>()?);
        Ok(())
    }

    fn accuracy(&self, x: &Tensor, labels: &Tensor) -> Result<f32> {
        let pred = self.net.forward(x)?.argmax(D::Minus1)?;
        let right = pred.eq(labels)?.to_dtype(DType::F32)?.mean_all()?;
        right.to_scalar::<f32>()
    }

    fn median_step_ms(&self) -> f64 {
        let mut t = self.step_times.clone();
        t.sort_by(f64::total_cmp);
        1e3 * t[t.len() / 2]
    }
}

/// `[#####-----]` for `done` of `total`.
fn bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = WIDTH * done / total.max(1);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(WIDTH - filled))
}

fn plot_losses(path: &Path, runs: &[Run]) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let epochs = runs[0].losses.len();
    let (lo, hi) = runs
        .iter()
        .flat_map(|r| r.losses.iter())
        .fold((f32::INFINITY, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Training loss (cross-entropy, full batch)",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0..epochs, (lo.max(1e-4) * 0.8..hi * 1.2).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss")
        .label_style(("sans-serif", 14))
        .draw()?;
    // actigen's curve wide and pale, candle's narrow on top: where they coincide, both show.
    let styles = [
        RGBColor(31, 119, 180).mix(0.5).stroke_width(7),
        RGBColor(255, 127, 14).stroke_width(2),
    ];
    for (run, style) in runs.iter().zip(styles) {
        chart
            .draw_series(LineSeries::new(
                run.losses.iter().enumerate().map(|(i, &v)| (i, v)),
                style,
            ))?
            .label(run.name)
            .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], style));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    root.present()?;
    Ok(())
}

fn plot_boundary(
    path: &Path,
    run: &Run,
    xy: &[f32],
    labels: &[u32],
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    const GRID: usize = 200;
    const EXTENT: f32 = 1.2;
    let dev = Device::Cpu;
    let cell = 2.0 * EXTENT / GRID as f32;
    let grid: Vec<f32> = (0..GRID * GRID)
        .flat_map(|k| {
            let (i, j) = (k % GRID, k / GRID);
            [
                -EXTENT + (i as f32 + 0.5) * cell,
                -EXTENT + (j as f32 + 0.5) * cell,
            ]
        })
        .collect();
    let g = Tensor::from_vec(grid.clone(), (GRID * GRID, 2), &dev)?;
    let p1: Vec<f32> = candle_nn::ops::softmax(&run.net.forward(&g)?, D::Minus1)?
        .narrow(1, 1, 1)?
        .flatten_all()?
        .to_vec1()?;
    let root = BitMapBackend::new(path, (700, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Decision regions, {} (x·σ(βx) and PReLU)", run.name),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(-EXTENT..EXTENT, -EXTENT..EXTENT)?;
    chart
        .configure_mesh()
        .label_style(("sans-serif", 13))
        .draw()?;
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    chart.draw_series(grid.chunks(2).zip(&p1).map(|(c, &p)| {
        let tint = |a: u8, b: u8| (f32::from(a) * (1.0 - p) + f32::from(b) * p) as u8;
        let colour = RGBColor(tint(198, 255), tint(219, 214), tint(239, 170));
        let h = cell / 2.0;
        Rectangle::new(
            [(c[0] - h, c[1] - h), (c[0] + h, c[1] + h)],
            colour.filled(),
        )
    }))?;
    chart.draw_series(xy.chunks(2).zip(labels).map(|(c, &l)| {
        let colour = if l == 0 { blue } else { orange };
        Circle::new((c[0], c[1]), 2, colour.filled())
    }))?;
    root.present()?;
    Ok(())
}

fn run(epochs: usize, out: &Path) -> std::result::Result<bool, Box<dyn std::error::Error>> {
    register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded DejaVu Sans font could not be loaded")?;
    std::fs::create_dir_all(out)?;
    let dev = Device::Cpu;
    let mut rng = Rng(2024);
    let (xy, labels) = spirals(&mut rng);
    let x = Tensor::from_vec(xy.clone(), (2 * PER_CLASS, 2), &dev)?;
    let y = Tensor::from_vec(labels.clone(), 2 * PER_CLASS, &dev)?;
    let inits = [
        init(&mut rng, 2, HIDDEN),
        init(&mut rng, HIDDEN, HIDDEN),
        init(&mut rng, HIDDEN, 2),
    ];
    let mut runs = [
        Run::new("actigen", actigen_net(&inits, &dev)?)?,
        Run::new("candle", candle_net(&inits, &dev)?)?,
    ];
    let mut err = std::io::stderr();
    for epoch in 1..=epochs {
        for r in &mut runs {
            r.step(&x, &y)?;
        }
        write!(
            err,
            "\r{} epoch {epoch:>4}/{epochs}  loss: actigen {:.4}  candle {:.4}",
            bar(epoch, epochs),
            runs[0].losses[epoch - 1],
            runs[1].losses[epoch - 1]
        )?;
        err.flush()?;
    }
    writeln!(err)?;

    println!(
        "{:<8} {:>10} {:>9} {:>8} {:>10} {:>14}",
        "model", "final loss", "accuracy", "beta", "mean alpha", "ms/step (med)"
    );
    for r in &runs {
        let final_loss =
            candle_nn::loss::cross_entropy(&r.net.forward(&x)?, &y)?.to_scalar::<f32>()?;
        println!(
            "{:<8} {:>10.5} {:>8.1}% {:>8.4} {:>10.4} {:>14.3}",
            r.name,
            final_loss,
            100.0 * r.accuracy(&x, &y)?,
            r.net.beta.as_tensor().to_vec1::<f32>()?[0],
            r.net.alpha.as_tensor().mean_all()?.to_scalar::<f32>()?,
            r.median_step_ms()
        );
    }
    let la = candle_nn::loss::cross_entropy(&runs[0].net.forward(&x)?, &y)?.to_scalar::<f32>()?;
    let lc = candle_nn::loss::cross_entropy(&runs[1].net.forward(&x)?, &y)?.to_scalar::<f32>()?;
    let tolerance = 0.05 * lc + 0.01;
    let agree = (la - lc).abs() <= tolerance;
    println!(
        "final losses differ by {:.5} (tolerance {tolerance:.5}: 5% of candle's + 0.01): {}",
        (la - lc).abs(),
        if agree { "agree" } else { "DISAGREE" }
    );
    println!(
        "step time, actigen / candle: {:.2}",
        runs[0].median_step_ms() / runs[1].median_step_ms()
    );
    let loss_png = out.join("train-loss.png");
    plot_losses(&loss_png, &runs)?;
    println!("wrote {}", loss_png.display());
    let boundary_png = out.join("train-boundary.png");
    plot_boundary(&boundary_png, &runs[0], &xy, &labels)?;
    println!("wrote {}", boundary_png.display());
    Ok(agree)
}

fn main() {
    const USAGE: &str = "usage: train [--epochs N] [--out DIR]
Trains a 2-64-64-2 network with actigen's learnable Swish and PReLU on two spirals, beside the
same network with candle's own activations (same initial weights), for N epochs (default 300);
writes train-loss.png and train-boundary.png to DIR (default: plots). Exit status 1 if the
final losses disagree beyond the tolerance printed.";
    let mut epochs = 300;
    let mut out = PathBuf::from("plots");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--help" | "-h", _) => {
                println!("{USAGE}");
                return;
            }
            ("--epochs", Some(n)) => match n.parse::<usize>() {
                Ok(n) if n > 0 => epochs = n,
                _ => {
                    eprintln!("train: --epochs takes a positive integer, found {n:?}\n{USAGE}");
                    std::process::exit(2);
                }
            },
            ("--out", Some(dir)) => out = PathBuf::from(dir),
            _ => {
                eprintln!("train: unexpected argument {a:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    match run(epochs, &out) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("train: {e}");
            std::process::exit(1);
        }
    }
}
