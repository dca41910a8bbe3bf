//! The MXNet guide's figures, drawn with actigen's kernels: each activation and its gradient
//! over 501 points on [−10, 10], one PNG per activation plus an overview of all of them.
//!
//! ```text
//! cargo run --release --example visualize [-- --out DIR]
//! ```
//!
//! Fonts are embedded (DejaVu Sans, through plotters' ab_glyph backend), so it runs on a machine
//! with no system fonts.

use actigen::{Activation, DynActivation, by_name};
use actigen_examples::{ESwish, Gelu, GeluTanh, HardSwish, Mish, Snake, Swish2};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::{Path, PathBuf};

/// One figure: file stem, title, the activation.
struct Figure {
    stem: &'static str,
    title: &'static str,
    act: Box<dyn Curve>,
}

/// What a figure needs of an activation: the f32 forward and backward passes. The custom
/// activations are boxed as this, not as `dyn DynActivation`, whose vtable compiles every pass
/// for four element types on every ISA: with it this example's release build took 524 s of
/// CI's time on a 2-core machine.
trait Curve {
    fn forward(&self, x: &[f32], y: &mut [f32]);
    fn backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]);
}

impl<A: Activation<f32>> Curve for A {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        Activation::forward(self, x, y);
    }
    fn backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        Activation::backward(self, x, dy, dx);
    }
}

/// A built-in, as [`by_name`] returns it (its kernels are compiled in the runtime).
struct Builtin(Box<dyn DynActivation>);

impl Curve for Builtin {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        Activation::<f32>::forward(&*self.0, x, y);
    }
    fn backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        Activation::<f32>::backward(&*self.0, x, dy, dx);
    }
}

fn figures() -> Vec<Figure> {
    let builtin = |stem, title, name, params: &[(&str, f64)]| Figure {
        stem,
        title,
        act: Box::new(Builtin(
            by_name(name, params).expect("a built-in activation"),
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
        Figure {
            stem: "swish2",
            title: "Swish-2 (custom)",
            act: Box::new(Swish2::default()),
        },
        Figure {
            stem: "e_swish",
            title: "E-swish (custom)",
            act: Box::new(ESwish::default()),
        },
        Figure {
            stem: "mish",
            title: "Mish (custom)",
            act: Box::new(Mish),
        },
        Figure {
            stem: "gelu",
            title: "GELU (custom, erf form)",
            act: Box::new(Gelu),
        },
        Figure {
            stem: "gelu_tanh",
            title: "GELU (custom, tanh form)",
            act: Box::new(GeluTanh),
        },
        Figure {
            stem: "hard_swish",
            title: "Hard-swish (custom)",
            act: Box::new(HardSwish),
        },
        Figure {
            stem: "snake",
            title: "Snake (custom, a = 1)",
            act: Box::new(Snake::default()),
        },
    ]
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

fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    fig: &Figure,
    scale: f64,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let (x, y, d) = curves(&*fig.act);
    let (lo, hi) = y
        .iter()
        .chain(&d)
        .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let pad = ((hi - lo) * 0.06).max(0.05);
    let font = |s: f64| ("sans-serif", (s * scale) as u32);
    let mut chart = ChartBuilder::on(area)
        .caption(fig.title, font(26.0))
        .margin((12.0 * scale) as u32)
        .x_label_area_size((36.0 * scale) as u32)
        .y_label_area_size((48.0 * scale) as u32)
        .build_cartesian_2d(-10f32..10f32, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("value")
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let name = fig.title.split(' ').next().unwrap_or(fig.title);
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    let width = (2.0 * scale).max(1.0) as u32;
    chart
        .draw_series(LineSeries::new(
            x.iter().copied().zip(y.iter().copied()),
            blue.stroke_width(width),
        ))?
        .label(format!("{name} activation"))
        .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], blue.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            x.iter().copied().zip(d.iter().copied()),
            orange.stroke_width(width),
        ))?
        .label(format!("{name} gradient"))
        .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], orange.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(font(15.0))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

fn run(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded DejaVu Sans font could not be loaded")?;
    std::fs::create_dir_all(out)?;
    let figs = figures();
    for fig in &figs {
        let path = out.join(format!("{}.png", fig.stem));
        let root = BitMapBackend::new(&path, (640, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root, fig, 1.0)?;
        root.present()?;
        println!("wrote {}", path.display());
    }
    let path = out.join("overview.png");
    let root = BitMapBackend::new(&path, (1800, 2000)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((5, 4));
    for (fig, panel) in figs.iter().zip(&panels) {
        draw(panel, fig, 0.8)?;
    }
    root.present()?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() {
    const USAGE: &str = "usage: visualize [--out DIR]
Draws each built-in activation and its derivative (and the custom examples) as PNGs in DIR
(default: plots), with an overview.png of all of them.";
    let mut out = PathBuf::from("plots");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
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
    if let Err(e) = run(&out) {
        eprintln!("visualize: {e}");
        std::process::exit(1);
    }
}
