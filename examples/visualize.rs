//! The MXNet guide's figures, drawn with actigen's kernels: each activation and, below it on its
//! own axis, its gradient, over 501 points on [−10, 10]; one PNG per activation (and SVG with
//! `--svg`) plus an overview of all of them. PNGs are drawn at 3× and averaged down, so lines
//! and text are anti-aliased.
//!
//! ```text
//! cargo run --release --example visualize [-- --out DIR] [--svg]
//! cargo run --release --features gpu --example visualize -- --gpu   # the GPU path draws
//! ```
//!
//! With `--gpu` (feature `gpu`) the one-input figures are computed on the GPU (wgpu: Vulkan,
//! Metal, DX12 or GL; lavapipe where there is no GPU), each curve also on the CPU and the
//! largest difference printed; the gated units' maps stay on the CPU.
//!
//! The gated units (two inputs: `actigen::builtin::MULTI_NAMES`) are drawn as heat maps over
//! (x₀, x₁) ∈ [−4, 4]², beside their two partial derivatives, each with a colour bar: one PNG
//! per unit.
//!
//! Fonts are embedded (DejaVu Sans, through plotters' ab_glyph backend), so it runs on a machine
//! with no system fonts.

use actigen::builtin::{DynMultiActivation, MULTI_NAMES, multi_by_name};
use actigen::{Activation, ActivationInfo, DynActivation, MultiActivation, by_name};
use actigen_examples::{Snake, register_custom};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::{Path, PathBuf};

/// One figure: file stem, title, the activation.
struct Figure {
    stem: &'static str,
    title: &'static str,
    act: Box<dyn Curve>,
}

/// What a figure needs of an activation: the f32 forward and backward passes, and its
/// parameters for the title. The custom activations are boxed as this, not as
/// `dyn DynActivation`, whose vtable compiles every pass for four element types on every ISA:
/// with it this example's release build took 524 s of CI's time on a 2-core machine.
trait Curve {
    fn forward(&self, x: &[f32], y: &mut [f32]);
    fn backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]);
    fn params(&self) -> Vec<(&'static str, f32)>;
}

impl<A: Activation<f32>> Curve for A {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        Activation::forward(self, x, y);
    }
    fn backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        Activation::backward(self, x, dy, dx);
    }
    fn params(&self) -> Vec<(&'static str, f32)> {
        self.param_names()
            .iter()
            .copied()
            .zip(ActivationInfo::params(self))
            .collect()
    }
}

/// A built-in or registered activation, as [`by_name`] returns it.
struct Builtin(Box<dyn DynActivation>);

impl Curve for Builtin {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        Activation::<f32>::forward(&*self.0, x, y);
    }
    fn backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        Activation::<f32>::backward(&*self.0, x, dy, dx);
    }
    fn params(&self) -> Vec<(&'static str, f32)> {
        self.0
            .param_names()
            .iter()
            .copied()
            .zip(self.0.params())
            .collect()
    }
}

fn figures() -> Vec<Figure> {
    // The custom ones are drawn by name too, through `actigen::builtin::register`.
    register_custom();
    let builtin = |stem, title, name, params: &[(&str, f64)]| Figure {
        stem,
        title,
        act: Box::new(Builtin(
            by_name(name, params).expect("a built-in or registered activation"),
        )),
    };
    vec![
        builtin("sigmoid", "Sigmoid", "sigmoid", &[]),
        builtin("tanh", "Tanh", "tanh", &[]),
        builtin("softsign", "SoftSign", "softsign", &[]),
        builtin("relu", "ReLU", "relu", &[]),
        builtin("softrelu", "SoftReLU", "softrelu", &[]),
        // The guide draws LeakyReLU with alpha = 0.05.
        builtin("leaky", "LeakyReLU", "leaky", &[("alpha", 0.05)]),
        builtin("prelu", "PReLU", "prelu", &[]),
        builtin("elu", "ELU", "elu", &[]),
        builtin("selu", "SELU", "selu", &[]),
        builtin("swish", "Swish", "swish", &[]),
        builtin("swish2", "Swish-2 (custom)", "swish2", &[]),
        builtin("e_swish", "E-swish (custom)", "e_swish", &[]),
        builtin("mish", "Mish (custom)", "mish", &[]),
        builtin("gelu", "GELU (custom, erf form)", "gelu", &[]),
        builtin("gelu_tanh", "GELU (custom, tanh form)", "gelu_tanh", &[]),
        builtin("hard_swish", "Hard-swish (custom)", "hard_swish", &[]),
        Figure {
            stem: "snake",
            title: "Snake (custom)",
            act: Box::new(Snake::default()),
        },
    ]
}

/// An activation computed on the GPU (`--gpu`), beside its CPU form for the check.
#[cfg(feature = "gpu")]
struct OnGpu<F> {
    gpu: std::sync::Arc<actigen::gpu::Gpu>,
    act: F,
}

#[cfg(feature = "gpu")]
impl<F: actigen::Formula + Activation<f32>> Curve for OnGpu<F> {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        self.gpu
            .forward(&self.act, x, y)
            .unwrap_or_else(|e| fail(e));
        let mut cpu = vec![0.0; x.len()];
        Activation::forward(&self.act, x, &mut cpu);
        report(F::NAME, "f", y, &cpu);
    }
    fn backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        self.gpu
            .backward(&self.act, x, dy, dx)
            .unwrap_or_else(|e| fail(e));
        let mut cpu = vec![0.0; x.len()];
        Activation::backward(&self.act, x, dy, &mut cpu);
        report(F::NAME, "f′", dx, &cpu);
    }
    fn params(&self) -> Vec<(&'static str, f32)> {
        Curve::params(&self.act)
    }
}

/// Exits with the GPU's error.
#[cfg(feature = "gpu")]
fn fail(e: actigen::Error) -> ! {
    eprintln!("visualize: {e}");
    std::process::exit(1)
}

/// Prints the largest difference between the GPU's and the CPU's values.
#[cfg(feature = "gpu")]
fn report(name: &str, what: &str, gpu: &[f32], cpu: &[f32]) {
    let worst = gpu
        .iter()
        .zip(cpu)
        .map(|(g, c)| ((g - c).abs() / c.abs().max(1e-30), *g, *c))
        .fold((0.0f32, 0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
    if worst.0 == 0.0 {
        println!("  {name} {what}: the GPU's values equal the CPU's");
    } else {
        println!(
            "  {name} {what}: largest relative difference GPU/CPU {:.1e} ({} vs {})",
            worst.0, worst.1, worst.2
        );
    }
}

/// The one-input figures, computed on the GPU.
#[cfg(feature = "gpu")]
fn gpu_figures() -> Result<Vec<Figure>, actigen::Error> {
    use actigen::*;
    use actigen_examples::{ESwish, Gelu, GeluTanh, HardSwish, Mish, Swish2};
    let gpu = std::sync::Arc::new(gpu::Gpu::new()?);
    println!("drawing from the GPU path on {}", gpu.adapter_name());
    fn fig<F: Formula + Activation<f32>>(
        gpu: &std::sync::Arc<gpu::Gpu>,
        stem: &'static str,
        title: &'static str,
        act: F,
    ) -> Figure {
        Figure {
            stem,
            title,
            act: Box::new(OnGpu {
                gpu: gpu.clone(),
                act,
            }),
        }
    }
    Ok(vec![
        fig(&gpu, "sigmoid", "Sigmoid (GPU)", Sigmoid),
        fig(&gpu, "tanh", "Tanh (GPU)", Tanh),
        fig(&gpu, "softsign", "SoftSign (GPU)", Softsign),
        fig(&gpu, "relu", "ReLU (GPU)", Relu),
        fig(&gpu, "softrelu", "SoftReLU (GPU)", Softrelu),
        fig(&gpu, "leaky", "LeakyReLU (GPU)", Leaky::new(0.05)),
        fig(&gpu, "prelu", "PReLU (GPU)", Prelu::default()),
        fig(&gpu, "elu", "ELU (GPU)", Elu::default()),
        fig(&gpu, "selu", "SELU (GPU)", Selu),
        fig(&gpu, "swish", "Swish (GPU)", Swish::default()),
        fig(&gpu, "swish2", "Swish-2 (custom, GPU)", Swish2::default()),
        fig(&gpu, "e_swish", "E-swish (custom, GPU)", ESwish::default()),
        fig(&gpu, "mish", "Mish (custom, GPU)", Mish),
        fig(&gpu, "gelu", "GELU (custom, erf form, GPU)", Gelu),
        fig(&gpu, "gelu_tanh", "GELU (custom, tanh form, GPU)", GeluTanh),
        fig(&gpu, "hard_swish", "Hard-swish (custom, GPU)", HardSwish),
        fig(&gpu, "snake", "Snake (custom, GPU)", Snake::default()),
    ])
}

/// x, f(x), f′(x) over linspace(−10, 10, 501), through the slice API.
fn curves(act: &dyn Curve) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..501).map(|i| -10.0 + 20.0 * i as f32 / 500.0).collect();
    let mut y = vec![0.0; x.len()];
    let mut dydx = vec![0.0; x.len()];
    act.forward(&x, &mut y);
    act.backward(&x, &vec![1.0; x.len()], &mut dydx);
    (x, y, dydx)
}

/// A tick label: at most four significant decimals, no trailing zeros, and never "-0".
fn tick(v: f32) -> String {
    let s = format!("{:.4}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    match s {
        "-0" | "" => "0".to_string(),
        _ => s.to_string(),
    }
}

/// The title with the parameters' values: "LeakyReLU (alpha = 0.05)".
fn title(fig: &Figure) -> String {
    let params = fig.act.params();
    if params.is_empty() {
        return fig.title.to_string();
    }
    let list = params
        .iter()
        .map(|(n, v)| format!("{n} = {}", tick(*v)))
        .collect::<Vec<_>>()
        .join(", ");
    // "Snake (custom)" becomes "Snake (custom, a = 1)".
    match fig.title.strip_suffix(')') {
        Some(open) => format!("{open}, {list})"),
        None => format!("{} ({list})", fig.title),
    }
}

/// A y range for `v` with a margin, never empty (a constant curve gets ±0.05).
fn y_range(v: &[f32]) -> std::ops::Range<f32> {
    let (lo, hi) = v
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let pad = ((hi - lo) * 0.08).max(0.05);
    (lo - pad)..(hi + pad)
}

/// One panel: `v` against `x` in `colour`, with its own y axis.
#[allow(clippy::too_many_arguments)]
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: Option<&str>,
    y_desc: &str,
    x: &[f32],
    v: &[f32],
    colour: RGBColor,
    scale: f64,
    x_labels: bool,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let font = |s: f64| ("sans-serif", (s * scale) as u32);
    let mut builder = ChartBuilder::on(area);
    if let Some(c) = caption {
        builder.caption(c, font(24.0));
    }
    let mut chart = builder
        .margin((10.0 * scale) as u32)
        .x_label_area_size((if x_labels { 34.0 } else { 10.0 } * scale) as u32)
        .y_label_area_size((56.0 * scale) as u32)
        .build_cartesian_2d(-10f32..10f32, y_range(v))?;
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc)
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .y_labels(6);
    if x_labels {
        mesh.x_desc("x");
    } else {
        mesh.x_labels(0);
    }
    mesh.draw()?;
    let width = (2.5 * scale).max(1.0) as u32;
    chart.draw_series(LineSeries::new(
        x.iter().copied().zip(v.iter().copied()),
        colour.stroke_width(width),
    ))?;
    Ok(())
}

/// A figure: the activation on top, its gradient below on its own axis (so a gradient much
/// smaller than the function is not squashed flat).
fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    fig: &Figure,
    scale: f64,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let (x, y, d) = curves(&*fig.act);
    let (_, h) = area.dim_in_pixel();
    let (top, bottom) = area.split_vertically((f64::from(h) * 0.56) as u32);
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(230, 110, 0);
    panel(&top, Some(&title(fig)), "f(x)", &x, &y, blue, scale, false)?;
    panel(&bottom, None, "f′(x)", &x, &d, orange, scale, true)?;
    Ok(())
}

/// Draws `f` onto a `(w, h)` image rendered at `SUPERSAMPLE`× and averaged down (anti-aliased
/// lines and text), written to `path` as PNG.
fn png(
    path: &Path,
    (w, h): (u32, u32),
    f: impl Fn(
        &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
        f64,
    ) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(), Box<dyn std::error::Error>> {
    const SUPERSAMPLE: u32 = 3;
    let (bw, bh) = (w * SUPERSAMPLE, h * SUPERSAMPLE);
    let mut big = vec![0u8; (bw * bh * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut big, (bw, bh)).into_drawing_area();
        root.fill(&WHITE)?;
        f(&root, f64::from(SUPERSAMPLE))?;
        root.present()?;
    }
    let mut small = vec![0u8; (w * h * 3) as usize];
    let n = SUPERSAMPLE * SUPERSAMPLE;
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut sum = 0u32;
                for dy in 0..SUPERSAMPLE {
                    for dx in 0..SUPERSAMPLE {
                        let (sx, sy) = (x * SUPERSAMPLE + dx, y * SUPERSAMPLE + dy);
                        sum += u32::from(big[((sy * bw + sx) * 3 + c) as usize]);
                    }
                }
                small[((y * w + x) * 3 + c) as usize] = ((sum + n / 2) / n) as u8;
            }
        }
    }
    image::save_buffer(path, &small, w, h, image::ColorType::Rgb8)?;
    Ok(())
}

/// Points per side of a heat map's grid.
const GRID: usize = 121;
/// The heat maps' square: [−EXTENT, EXTENT]².
const EXTENT: f32 = 4.0;

/// A gated unit over the grid: x₀ along the horizontal axis, x₁ along the vertical, row by row
/// from the bottom; the value and the two partial derivatives (dy = 1).
fn surfaces(act: &dyn DynMultiActivation) -> [Vec<f32>; 3] {
    let axis: Vec<f32> = (0..GRID)
        .map(|i| -EXTENT + 2.0 * EXTENT * i as f32 / (GRID - 1) as f32)
        .collect();
    let x0: Vec<f32> = (0..GRID * GRID).map(|k| axis[k % GRID]).collect();
    let x1: Vec<f32> = (0..GRID * GRID).map(|k| axis[k / GRID]).collect();
    let n = x0.len();
    let (mut y, mut d0, mut d1) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    MultiActivation::<f32, 2>::forward(act, [&x0, &x1], &mut y);
    MultiActivation::<f32, 2>::backward(act, [&x0, &x1], &vec![1.0; n], [&mut d0, &mut d1]);
    [y, d0, d1]
}

/// A diverging colour for `t` in [−1, 1]: blue below 0, white at 0, red above.
fn diverging(t: f64) -> RGBColor {
    let t = t.clamp(-1.0, 1.0);
    let (end, t) = if t >= 0.0 {
        ((178.0, 24.0, 43.0), t)
    } else {
        ((33.0, 102.0, 172.0), -t)
    };
    let mix = |e: f64| (255.0 + (e - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

/// One heat map of `v` (see [`surfaces`]) with its colour bar to the right, symmetric about 0
/// (so white is 0 in every panel).
fn heat_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    axes: (&str, &str),
    v: &[f32],
    scale: f64,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let font = |s: f64| ("sans-serif", (s * scale) as u32);
    let m = v
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let m = if m > 0.0 { m } else { 1.0 };
    let (w, _) = area.dim_in_pixel();
    let (map, bar) = area.split_horizontally((f64::from(w) * 0.8) as u32);
    let mut chart = ChartBuilder::on(&map)
        .caption(caption, font(20.0))
        .margin((8.0 * scale) as u32)
        .x_label_area_size((34.0 * scale) as u32)
        .y_label_area_size((40.0 * scale) as u32)
        .build_cartesian_2d(-EXTENT..EXTENT, -EXTENT..EXTENT)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .label_style(font(13.0))
        .axis_desc_style(font(15.0))
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .draw()?;
    let half = EXTENT / (GRID - 1) as f32;
    chart.draw_series((0..GRID * GRID).map(|k| {
        let step = 2.0 * EXTENT / (GRID - 1) as f32;
        let (x, y) = (
            -EXTENT + step * (k % GRID) as f32,
            -EXTENT + step * (k / GRID) as f32,
        );
        Rectangle::new(
            [(x - half, y - half), (x + half, y + half)],
            diverging(f64::from(v[k] / m)).filled(),
        )
    }))?;
    let mut bar = ChartBuilder::on(&bar)
        .margin_top((38.0 * scale) as u32)
        .margin_bottom((42.0 * scale) as u32)
        .margin_right((8.0 * scale) as u32)
        .y_label_area_size((44.0 * scale) as u32)
        .build_cartesian_2d(0f32..1f32, -m..m)?;
    bar.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .label_style(font(12.0))
        .y_label_formatter(&|v| tick(*v))
        .y_labels(5)
        .draw()?;
    const STEPS: usize = 100;
    bar.draw_series((0..STEPS).map(|i| {
        let lo = -m + 2.0 * m * i as f32 / STEPS as f32;
        let hi = -m + 2.0 * m * (i + 1) as f32 / STEPS as f32;
        let t = f64::from((lo + hi) / 2.0 / m);
        Rectangle::new([(0.0, lo), (1.0, hi)], diverging(t).filled())
    }))?;
    Ok(())
}

/// A gated unit's figure: its value and its two partial derivatives side by side.
fn draw_gated<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    name: &str,
    act: &dyn DynMultiActivation,
    scale: f64,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let [a, b] = [act.input_names()[0], act.input_names()[1]];
    let surfaces = surfaces(act);
    let captions = [
        format!("{name}({a}, {b})"),
        format!("∂{name}/∂{a}"),
        format!("∂{name}/∂{b}"),
    ];
    for ((panel, v), caption) in area
        .split_evenly((1, 3))
        .iter()
        .zip(&surfaces)
        .zip(&captions)
    {
        heat_panel(panel, caption, (a, b), v, scale)?;
    }
    Ok(())
}

fn run(out: &Path, svg: bool, on_gpu: bool) -> Result<(), Box<dyn std::error::Error>> {
    register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded DejaVu Sans font could not be loaded")?;
    std::fs::create_dir_all(out)?;
    #[cfg(feature = "gpu")]
    let figs = if on_gpu { gpu_figures()? } else { figures() };
    #[cfg(not(feature = "gpu"))]
    let figs = {
        if on_gpu {
            return Err(
                "--gpu needs the `gpu` feature: cargo run --release --features gpu \
                        --example visualize -- --gpu"
                    .into(),
            );
        }
        figures()
    };
    for fig in &figs {
        let path = out.join(format!("{}.png", fig.stem));
        png(&path, (640, 560), |root, scale| draw(root, fig, scale))?;
        println!("wrote {}", path.display());
        if svg {
            let path = out.join(format!("{}.svg", fig.stem));
            let root = SVGBackend::new(&path, (640, 560)).into_drawing_area();
            root.fill(&WHITE)?;
            draw(&root, fig, 1.0)?;
            root.present()?;
            println!("wrote {}", path.display());
        }
    }
    let path = out.join("overview.png");
    png(&path, (1800, 2300), |root, scale| {
        for (fig, panel) in figs.iter().zip(&root.split_evenly((5, 4))) {
            draw(panel, fig, 0.8 * scale)?;
        }
        Ok(())
    })?;
    println!("wrote {}", path.display());
    for name in MULTI_NAMES {
        let act = multi_by_name(name, &[])?;
        let path = out.join(format!("{name}.png"));
        png(&path, (1500, 480), |root, scale| {
            draw_gated(root, name, &*act, scale)
        })?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn main() {
    const USAGE: &str = "usage: visualize [--out DIR] [--svg] [--gpu]
Draws each built-in activation and its derivative (and the custom examples) as PNGs in DIR
(default: plots), with an overview.png of all of them, and each gated unit as heat maps of
its value and partial derivatives; --svg also writes the one-input figures as SVG; --gpu
(feature gpu) computes the one-input figures on the GPU and prints how far they are from
the CPU's.";
    let mut out = PathBuf::from("plots");
    let (mut svg, mut on_gpu) = (false, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--svg" {
            svg = true;
            continue;
        }
        if a == "--gpu" {
            on_gpu = true;
            continue;
        }
        match (a.as_str(), args.next()) {
            ("--help" | "-h", _) => {
                println!("{USAGE}");
                return;
            }
            ("--out", Some(dir)) => out = PathBuf::from(dir),
            _ => {
                eprintln!("visualize: expected --out DIR, found {a:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = run(&out, svg, on_gpu) {
        eprintln!("visualize: {e}");
        std::process::exit(1);
    }
}
