//! Per-channel parameters (`actigen::channels`): PReLU with a per-channel alpha (MXNet gluon's
//! and PyTorch's semantics), Snake with a per-channel `a`, SnakeBeta, and xIELU with
//! per-channel `alpha_p` and `alpha_n`, channels-first and channels-last, on every ISA:
//! each element bit for bit what the activation with that channel's values gives on a
//! one-element slice, against f64 references written here (values, input partials, and the
//! per-channel parameter gradients summed in f64), and the errors.
//!
//! Run with `--nocapture` to see the measured errors.

use actigen::channels::{ChannelActivation, ChannelGrads, Layout, MultiChannelActivation};
use actigen::{
    Activation, ActivationInfo, Error, Isa, MultiActivation, Prelu, Snake, SnakeBeta, Xielu,
};
use actigen_tests::{Rng, battery, close, pool, sigmoid_ref};

/// `(f, [∂f/∂x, ∂f/∂p₀, …])` in f64 at `x` with the parameters `p` (declaration order).
type Reference = fn(x: f64, p: &[f64]) -> (f64, Vec<f64>);

fn prelu_ref(x: f64, p: &[f64]) -> (f64, Vec<f64>) {
    // PyTorch: max(0, x) + a·min(0, x); ∂/∂a = min(0, x).
    let a = p[0];
    if x > 0.0 {
        (x, vec![1.0, 0.0])
    } else {
        (a * x, vec![a, x])
    }
}

/// BigVGAN's Snake: x + sin²(a·x)/(a + 1e−9).
fn snake_ref(x: f64, p: &[f64]) -> (f64, Vec<f64>) {
    let (a, d) = (p[0], p[0] + 1e-9);
    let s = (a * x).sin();
    let s2 = (2.0 * a * x).sin();
    (
        x + s * s / d,
        vec![1.0 + s2 * a / d, (x * s2 * d - s * s) / (d * d)],
    )
}

/// BigVGAN's SnakeBeta: x + sin²(alpha·x)/(beta + 1e−9).
fn snake_beta_ref(x: f64, p: &[f64]) -> (f64, Vec<f64>) {
    let (a, d) = (p[0], p[1] + 1e-9);
    let s = (a * x).sin();
    let s2 = (2.0 * a * x).sin();
    (
        x + s * s / d,
        vec![1.0 + s2 * a / d, x * s2 / d, -s * s / (d * d)],
    )
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

/// Hugging Face transformers' XIELUActivation (Apertus), with its partials.
fn xielu_ref(x: f64, p: &[f64]) -> (f64, Vec<f64>) {
    let (ap, an, beta, eps) = (p[0], p[1], p[2], p[3]);
    let (spp, spn) = (softplus(ap), softplus(an));
    let alpha_n = beta + spn;
    if x > 0.0 {
        let f = spp * x * x + beta * x;
        let sp = sigmoid_ref(ap).0;
        (f, vec![2.0 * spp * x + beta, sp * x * x, 0.0, x, 0.0])
    } else {
        let m = x.min(eps);
        let e = m.exp_m1() - x;
        let dm = if x < eps { 1.0 } else { 0.0 };
        let sn = sigmoid_ref(an).0;
        (
            e * alpha_n + beta * x,
            vec![
                (dm * m.exp() - 1.0) * alpha_n + beta,
                0.0,
                e * sn,
                e + x,
                (1.0 - dm) * m.exp() * alpha_n,
            ],
        )
    }
}

/// The layouts each case runs on (C channels).
fn layouts(c: usize) -> Vec<Layout> {
    vec![
        Layout::ChannelsFirst {
            channels: c,
            inner: 1,
        },
        Layout::ChannelsFirst {
            channels: c,
            inner: 7,
        },
        Layout::ChannelsFirst {
            channels: c,
            inner: 37,
        },
        Layout::ChannelsLast { channels: c },
    ]
}

/// The channel of element `i`.
fn channel_of(layout: Layout, i: usize) -> usize {
    match layout {
        Layout::ChannelsFirst { channels, inner } => (i / inner) % channels,
        Layout::ChannelsLast { channels } => i % channels,
    }
}

/// Inputs for `n` elements: uniform in [−6, 6] with every eleventh from the battery of
/// extremes (±0, subnormals, ±88.7, ±1e4, ±3.4e38, ±inf, NaN).
fn inputs(n: usize, seed: u64, extremes: bool) -> Vec<f32> {
    let b = battery();
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            if extremes && i % 11 == 3 {
                b[500 + (i / 11) % (b.len() - 500)] as f32
            } else {
                rng.uniform(-6.0, 6.0) as f32
            }
        })
        .collect()
}

/// Equal bits, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// One activation's case: which parameters are given per channel, and their values.
struct Case<A> {
    act: A,
    per_channel: Vec<(&'static str, Vec<f32>)>,
    reference: Reference,
}

impl<A> Case<A>
where
    A: ChannelActivation<f32> + Activation<f32> + ActivationInfo + Clone,
{
    fn pc(&self) -> Vec<(&'static str, &[f32])> {
        self.per_channel.iter().map(|(n, v)| (*n, &v[..])).collect()
    }

    /// The activation with channel `c`'s values.
    fn at_channel(&self, c: usize) -> A {
        let mut a = self.act.clone();
        for (name, v) in &self.per_channel {
            a.set_param(name, v[c] as f64).unwrap();
        }
        a
    }

    /// Every element against the one-element slice of the activation with its channel's
    /// values, bit for bit, on every ISA and layout; the parameter gradients against the
    /// f64 sums of those one-element gradients.
    fn matches_uniform(&self) {
        let c = self.per_channel[0].1.len();
        for layout in layouts(c) {
            let period = c * match layout {
                Layout::ChannelsFirst { inner, .. } => inner,
                Layout::ChannelsLast { .. } => 1,
            };
            let n = 3 * period;
            let x = inputs(n, 11 + n as u64, true);
            let dy = inputs(n, 12 + n as u64, false);
            for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
                let mut y = vec![0.0f32; n];
                self.act
                    .try_forward_channels_on(isa, layout, &self.pc(), &x, &mut y)
                    .unwrap();
                let (mut dx, mut dxg) = (vec![0.0f32; n], vec![0.0f32; n]);
                self.act
                    .try_backward_channels_on(isa, layout, &self.pc(), &x, &dy, &mut dx, false)
                    .unwrap();
                let g: Option<ChannelGrads> = self
                    .act
                    .try_backward_channels_on(isa, layout, &self.pc(), &x, &dy, &mut dxg, true)
                    .unwrap();
                assert!(g.is_some());
                let np = self.act.param_names().len();
                let mut want = vec![vec![0.0f64; c]; np];
                let mut scale = vec![vec![0.0f64; c]; np];
                for i in 0..n {
                    let ch = channel_of(layout, i);
                    let a = self.at_channel(ch);
                    let (mut y1, mut d1, mut dg1) = ([0.0f32], [0.0f32], [0.0f32]);
                    a.try_forward_on(isa, &x[i..=i], &mut y1).unwrap();
                    a.try_backward_on(isa, &x[i..=i], &dy[i..=i], &mut d1)
                        .unwrap();
                    let mut pg = vec![0.0f64; np];
                    a.try_backward_fused_on(isa, &x[i..=i], &dy[i..=i], Some(&mut dg1), &mut pg)
                        .unwrap();
                    let at = format!("{} {layout:?} on {isa}, x[{i}] = {}", self.act.name(), x[i]);
                    // At ±inf too: both paths search for the limit on the one-lane vector.
                    assert!(same(y[i], y1[0]), "{at}: y {} vs {}", y[i], y1[0]);
                    assert!(same(dx[i], d1[0]), "{at}: dx {} vs {}", dx[i], d1[0]);
                    assert!(
                        same(dxg[i], dg1[0]),
                        "{at}: dx (fused) {} vs {}",
                        dxg[i],
                        dg1[0]
                    );
                }
                // The sums, on the inputs with the infinities and NaN replaced by 0 (their
                // gradients are the one-element path's, checked above), against the f64 sums
                // of the one-element gradients.
                let finite: Vec<f32> = x
                    .iter()
                    .map(|v| if v.is_finite() { *v } else { 0.0 })
                    .collect();
                for i in 0..n {
                    let ch = channel_of(layout, i);
                    let mut pg = vec![0.0f64; np];
                    self.at_channel(ch)
                        .try_backward_fused_on(isa, &finite[i..=i], &dy[i..=i], None, &mut pg)
                        .unwrap();
                    for j in 0..np {
                        want[j][ch] += pg[j];
                        scale[j][ch] += pg[j].abs();
                    }
                }
                let g = self
                    .act
                    .try_backward_channels_on(isa, layout, &self.pc(), &finite, &dy, &mut dxg, true)
                    .unwrap()
                    .unwrap();
                for (j, name) in self.act.param_names().iter().enumerate() {
                    let got = g.get(name).unwrap();
                    let per_channel = self.per_channel.iter().any(|(n, _)| n == name);
                    if per_channel {
                        assert_eq!(got.len(), c);
                        for ch in 0..c {
                            // NaN where an input's gradient is (Snake's sin(a·x) at
                            // x = 3.4e38, where a·x overflows).
                            assert!(
                                close(got[ch], want[j][ch], 0.0, 1e-12 * scale[j][ch].max(1e-300)),
                                "{} ∂/∂{name}[{ch}] {layout:?} on {isa}: {} vs {}",
                                self.act.name(),
                                got[ch],
                                want[j][ch]
                            );
                        }
                    } else {
                        assert_eq!(got.len(), 1);
                        let (w, s): (f64, f64) = (want[j].iter().sum(), scale[j].iter().sum());
                        assert!(
                            close(got[0], w, 0.0, 1e-12 * s.max(1e-300)),
                            "{} ∂/∂{name} {layout:?} on {isa}: {} vs {w}",
                            self.act.name(),
                            got[0]
                        );
                    }
                }
            }
        }
    }

    /// Values and input partials against the f64 reference (|x| ≤ 6), and the per-channel
    /// parameter gradients against f64 sums of dy·∂f/∂p; returns the largest errors
    /// (forward in f32 ε of its terms' size, dx relative to max(1, |∂f/∂x|)·|dy|, gradient sums
    /// relative to Σ|terms|).
    fn against_reference(&self) -> (u64, f64, f64) {
        let c = self.per_channel[0].1.len();
        let (mut fwd, mut part, mut sums) = (0u64, 0.0f64, 0.0f64);
        for layout in layouts(c) {
            let n = 5
                * c
                * match layout {
                    Layout::ChannelsFirst { inner, .. } => inner,
                    Layout::ChannelsLast { .. } => 1,
                };
            let x = inputs(n, 21 + n as u64, false);
            let dy = inputs(n, 22 + n as u64, false);
            let mut y = vec![0.0f32; n];
            let mut dx = vec![0.0f32; n];
            self.act.forward_channels(layout, &self.pc(), &x, &mut y);
            let g = self
                .act
                .try_backward_channels_with_param_grads(layout, &self.pc(), &x, &dy, &mut dx)
                .unwrap();
            let np = self.act.param_names().len();
            let mut want = vec![vec![0.0f64; c]; np];
            let mut scale = vec![vec![0.0f64; c]; np];
            for i in 0..n {
                let ch = channel_of(layout, i);
                let p: Vec<f64> = self
                    .at_channel(ch)
                    .params()
                    .iter()
                    .map(|&v| v as f64)
                    .collect();
                let (f, d) = (self.reference)(x[i] as f64, &p);
                // In f32 ε of the larger of |f| and |x| (the terms' size: Snake's x + sin²/a
                // and xIELU's negative branch cancel near their roots).
                let size = f.abs().max(x[i].abs() as f64).max(1e-30);
                let e = ((y[i] as f64 - f).abs() / size / f32::EPSILON as f64).ceil() as u64;
                fwd = fwd.max(e);
                let want_dx = dy[i] as f64 * d[0];
                let rel = (dx[i] as f64 - want_dx).abs()
                    / (dy[i] as f64).abs().max(1e-30)
                    / d[0].abs().max(1.0);
                part = part.max(rel);
                for j in 0..np {
                    want[j][ch] += dy[i] as f64 * d[1 + j];
                    scale[j][ch] += (dy[i] as f64 * d[1 + j]).abs();
                }
            }
            for (j, name) in self.act.param_names().iter().enumerate() {
                if let Some(got) = g.get(name).filter(|g| g.len() == c) {
                    for ch in 0..c {
                        let err = (got[ch] - want[j][ch]).abs() / scale[j][ch].max(1e-30);
                        sums = sums.max(err);
                    }
                }
            }
        }
        (fwd, part, sums)
    }
}

fn values(c: usize, lo: f64, hi: f64, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    (0..c).map(|_| rng.uniform(lo, hi) as f32).collect()
}

fn prelu_case(c: usize) -> Case<Prelu> {
    Case {
        act: Prelu::default(),
        per_channel: vec![("alpha", values(c, -0.5, 0.9, 1))],
        reference: prelu_ref,
    }
}

fn snake_case(c: usize) -> Case<Snake> {
    Case {
        act: Snake::default(),
        per_channel: vec![("a", values(c, 0.2, 3.0, 2))],
        reference: snake_ref,
    }
}

fn snake_beta_case(c: usize) -> Case<SnakeBeta> {
    Case {
        act: SnakeBeta::default(),
        per_channel: vec![
            ("alpha", values(c, 0.2, 3.0, 3)),
            ("beta", values(c, 0.3, 2.0, 4)),
        ],
        reference: snake_beta_ref,
    }
}

fn xielu_case(c: usize) -> Case<Xielu> {
    Case {
        act: Xielu::default(),
        per_channel: vec![
            ("alpha_p", values(c, -1.0, 1.0, 5)),
            ("alpha_n", values(c, -2.0, 0.5, 6)),
        ],
        reference: xielu_ref,
    }
}

#[test]
fn each_element_is_its_channels_activation_on_every_isa_and_layout() {
    for c in [1, 3, 17, 40] {
        prelu_case(c).matches_uniform();
        snake_case(c).matches_uniform();
        snake_beta_case(c).matches_uniform();
        xielu_case(c).matches_uniform();
    }
}

#[test]
fn against_f64_references() {
    let report = |name: &str, (fwd, part, sums): (u64, f64, f64), bounds: (u64, f64, f64)| {
        println!(
            "{name:<11} forward {fwd:>3} ε, dx {part:.2e}, per-channel gradient sums {sums:.2e}"
        );
        assert!(
            fwd <= bounds.0 && part <= bounds.1 && sums <= bounds.2,
            "{name}: ({fwd}, {part:e}, {sums:e}) over the bounds {bounds:?}"
        );
    };
    for c in [3, 17] {
        report("prelu", prelu_case(c).against_reference(), (1, 1e-7, 1e-12));
        report("snake", snake_case(c).against_reference(), (8, 1e-5, 1e-5));
        report(
            "snake_beta",
            snake_beta_case(c).against_reference(),
            (8, 1e-5, 1e-5),
        );
        report("xielu", xielu_case(c).against_reference(), (8, 1e-5, 1e-5));
    }
}

/// PyTorch's nn.PReLU(num_parameters = C) on [N, C] (channels-first with inner = 1), written
/// out: y = max(0, x) + a_c·min(0, x), ∂a_c = Σ_n dy·min(0, x).
#[test]
fn prelu_has_pytorchs_semantics() {
    let (n, c) = (6, 4);
    let alpha = [0.25f32, -0.1, 0.0, 2.0];
    let x = inputs(n * c, 31, false);
    let dy = inputs(n * c, 32, false);
    let layout = Layout::ChannelsFirst {
        channels: c,
        inner: 1,
    };
    let mut y = vec![0.0f32; n * c];
    let mut dx = vec![0.0f32; n * c];
    Prelu::default().forward_channels(layout, &[("alpha", &alpha)], &x, &mut y);
    let g = Prelu::default()
        .try_backward_channels_with_param_grads(layout, &[("alpha", &alpha)], &x, &dy, &mut dx)
        .unwrap();
    let mut want_g = [0.0f64; 4];
    for i in 0..n * c {
        let a = alpha[i % c];
        assert_eq!(y[i], x[i].max(0.0) + a * x[i].min(0.0), "y[{i}]");
        assert_eq!(dx[i], dy[i] * if x[i] > 0.0 { 1.0 } else { a }, "dx[{i}]");
        want_g[i % c] += dy[i] as f64 * x[i].min(0.0) as f64;
    }
    for (got, want) in g.get("alpha").unwrap().iter().zip(want_g) {
        assert!(close(*got, want, 1e-12, 1e-12), "{got} vs {want}");
    }
}

/// [N, C] as channels-first with inner = 1 and as channels-last: the same element-to-channel
/// map, so the same bits, per-channel gradient sums included (a shared parameter's sum runs
/// in another order: within 1e−15).
#[test]
fn channels_first_with_inner_one_is_channels_last() {
    let case = xielu_case(19);
    let n = 19 * 9;
    let x = inputs(n, 41, false);
    let dy = inputs(n, 42, false);
    let run = |layout: Layout| forward_and_grads(&case, layout, &x, &dy);
    let first = run(Layout::ChannelsFirst {
        channels: 19,
        inner: 1,
    });
    let last = run(Layout::ChannelsLast { channels: 19 });
    assert_eq!((&first.0, &first.1), (&last.0, &last.1));
    for (j, name) in first.2.names.iter().enumerate() {
        let (a, b) = (&first.2.sums[j], &last.2.sums[j]);
        if case.per_channel.iter().any(|(n, _)| n == name) {
            assert_eq!(a, b, "{name}");
        } else {
            assert!(close(a[0], b[0], 1e-15, 0.0), "{name}: {a:?} vs {b:?}");
        }
    }
}

/// Per-channel values equal to the activation's own give the plain slice API's results.
#[test]
fn uniform_values_give_the_plain_api() {
    let act = Snake::new(1.7);
    let x = inputs(1000, 51, true);
    let dy = inputs(1000, 52, false);
    let a = [1.7f32; 10];
    for layout in [
        Layout::ChannelsFirst {
            channels: 10,
            inner: 25,
        },
        Layout::ChannelsLast { channels: 10 },
    ] {
        let (mut y, mut y2) = (vec![0.0f32; 1000], vec![0.0f32; 1000]);
        act.forward_channels(layout, &[("a", &a)], &x, &mut y);
        act.forward(&x, &mut y2);
        assert!(y.iter().zip(&y2).all(|(a, b)| same(*a, *b)), "{layout:?}");
        let (mut dx, mut dx2) = (vec![0.0f32; 1000], vec![0.0f32; 1000]);
        act.backward_channels(layout, &[("a", &a)], &x, &dy, &mut dx);
        act.backward(&x, &dy, &mut dx2);
        assert!(dx.iter().zip(&dx2).all(|(a, b)| same(*a, *b)), "{layout:?}");
    }
}

#[test]
fn f64_slices() {
    let alpha = [0.1f32, 0.2, 0.3];
    let x: Vec<f64> = (0..30).map(|i| i as f64 - 15.5).collect();
    let mut y = vec![0.0f64; 30];
    let layout = Layout::ChannelsLast { channels: 3 };
    Prelu::default().forward_channels(layout, &[("alpha", &alpha)], &x, &mut y);
    for i in 0..30 {
        let want = if x[i] > 0.0 {
            x[i]
        } else {
            alpha[i % 3] as f64 * x[i]
        };
        assert_eq!(y[i], want);
    }
}

/// Bad input: an error naming the problem, and nothing written.
#[test]
fn bad_input_is_an_error_and_nothing_is_written() {
    let act = Prelu::default();
    let x = vec![1.0f32; 12];
    let dy = vec![1.0f32; 12];
    let three = [0.1f32; 3];
    let cf = |channels, inner| Layout::ChannelsFirst { channels, inner };
    // (layout, per-channel values, y's length, a piece of the message)
    type Bad<'a> = (Layout, Vec<(&'a str, &'a [f32])>, usize, &'a str);
    let cases: Vec<Bad> = vec![
        (
            cf(3, 3),
            vec![("alpha", &three)],
            12,
            "not [N, C = 3, inner = 3]",
        ),
        (cf(0, 1), vec![("alpha", &three)], 12, "not [N, C = 0"),
        (cf(3, 0), vec![("alpha", &three)], 12, "inner = 0"),
        (
            Layout::ChannelsLast { channels: 5 },
            vec![],
            12,
            "not [.., C = 5]",
        ),
        (cf(4, 1), vec![("alpha", &three)], 12, "`alpha` has 3"),
        (cf(3, 1), vec![("beta", &three)], 12, "no parameter `beta`"),
        (
            cf(3, 1),
            vec![("alpha", &three), ("alpha", &three)],
            12,
            "given twice",
        ),
        (
            cf(3, 1),
            vec![("alpha", &[0.1, f32::NAN, 0.1])],
            12,
            "must be finite",
        ),
        (cf(3, 1), vec![("alpha", &three)], 11, "length mismatch"),
    ];
    for (layout, pc, ylen, msg) in cases {
        let mut y = vec![7.0f32; ylen];
        let e = act
            .try_forward_channels(layout, &pc, &x, &mut y)
            .unwrap_err();
        assert!(e.to_string().contains(msg), "{layout:?}: {e}");
        assert!(y.iter().all(|v| *v == 7.0));
        let mut dx = vec![7.0f32; ylen];
        let e = act
            .try_backward_channels_with_param_grads(layout, &pc, &x, &dy, &mut dx)
            .unwrap_err();
        assert!(e.to_string().contains(msg), "{layout:?}: {e}");
        assert!(dx.iter().all(|v| *v == 7.0));
    }
    // A range: Snake's has none, Elu's alpha is at least 0.
    let mut y = vec![7.0f32; 4];
    let e = actigen::Elu::default()
        .try_forward_channels(
            Layout::ChannelsLast { channels: 2 },
            &[("alpha", &[1.0, -1.0])],
            &[1.0; 4],
            &mut y,
        )
        .unwrap_err();
    assert!(matches!(e, Error::ParamOutOfRange { .. }), "{e}");
    assert!(y.iter().all(|v| *v == 7.0));
}

/// Bits of a slice, NaN payloads ignored.
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter()
        .map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() })
        .collect()
}

#[test]
fn any_thread_count_gives_the_same_bits() {
    // Long enough to be split (2 · CHUNK elements and more), in pieces of whole periods: many
    // periods per piece, and a period longer than a piece's target (one period per piece).
    let cases = [
        (
            Layout::ChannelsFirst {
                channels: 3,
                inner: 1000,
            },
            50,
        ),
        (Layout::ChannelsLast { channels: 1024 }, 150),
        (
            Layout::ChannelsFirst {
                channels: 2,
                inner: 70_000,
            },
            2,
        ),
    ];
    for (layout, periods) in cases {
        let case = xielu_case(layout.channels());
        let n = periods * layout_period(layout);
        let x = inputs(n, 31, true);
        let dy = inputs(n, 32, false);
        let run = |threads: usize| {
            pool(threads).install(|| {
                let (y, dx, g) = forward_and_grads(&case, layout, &x, &dy);
                (bits(&y), bits(&dx), g.sums)
            })
        };
        let one = run(1);
        // The pieces keep each element in its channel: the first element of every period
        // and the last element, against the one-element slice with that channel's values.
        for i in (0..n).step_by(layout_period(layout)).chain([n - 1]) {
            let a = case.at_channel(channel_of(layout, i));
            let mut y1 = [0.0f32];
            a.forward(&x[i..=i], &mut y1);
            assert_eq!(one.0[i], bits(&y1)[0], "{layout:?}: y[{i}]");
        }
        for threads in [2, 3] {
            let many = run(threads);
            assert!(
                one.0 == many.0,
                "{layout:?}: y differs on {threads} threads"
            );
            assert!(
                one.1 == many.1,
                "{layout:?}: dx differs on {threads} threads"
            );
            let same_sums = one
                .2
                .iter()
                .zip(&many.2)
                .all(|(a, b)| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits()));
            assert!(same_sums, "{layout:?}: sums {:?} vs {:?}", one.2, many.2);
        }
    }
}

/// Elements of one period of the layout.
fn layout_period(layout: Layout) -> usize {
    match layout {
        Layout::ChannelsFirst { channels, inner } => channels * inner,
        Layout::ChannelsLast { channels } => channels,
    }
}

/// A case's forward, and its backward with the parameter gradients, on the active ISA.
fn forward_and_grads(
    case: &Case<Xielu>,
    layout: Layout,
    x: &[f32],
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, ChannelGrads) {
    let (mut y, mut dx) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
    case.act.forward_channels(layout, &case.pc(), x, &mut y);
    let g = case
        .act
        .try_backward_channels_with_param_grads(layout, &case.pc(), x, dy, &mut dx)
        .unwrap();
    (y, dx, g)
}

/// f16 and bf16 slices: the f32 pass on the widened inputs, rounded to nearest even, bit for
/// bit (forward, backward, and the same parameter sums), every ISA and layout, extremes
/// included; a bad value slice is an error with nothing written.
#[test]
fn half_slices_are_the_f32_pass_rounded() {
    trait Half: Copy + PartialEq + std::fmt::Debug {
        fn of(v: f32) -> Self;
        fn wide(self) -> f32;
    }
    impl Half for half::bf16 {
        fn of(v: f32) -> Self {
            Self::from_f32(v)
        }
        fn wide(self) -> f32 {
            self.to_f32()
        }
    }
    impl Half for half::f16 {
        fn of(v: f32) -> Self {
            Self::from_f32(v)
        }
        fn wide(self) -> f32 {
            self.to_f32()
        }
    }
    fn check<H: Half, A>(name: &str, act: &A, per_channel: &[(&str, &[f32])])
    where
        A: ChannelActivation<f32> + ChannelActivation<H>,
    {
        let (to, from) = (H::of, H::wide);
        let c = per_channel[0].1.len();
        for layout in layouts(c) {
            let n = 3 * layout_period(layout);
            let x: Vec<H> = inputs(n, 17, true).into_iter().map(to).collect();
            let dy: Vec<H> = inputs(n, 18, false).into_iter().map(to).collect();
            let (xw, dyw): (Vec<f32>, Vec<f32>) = (
                x.iter().map(|&v| from(v)).collect(),
                dy.iter().map(|&v| from(v)).collect(),
            );
            for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
                let (mut y, mut yw) = (vec![to(0.0); n], vec![0f32; n]);
                act.try_forward_channels_on(isa, layout, per_channel, &x, &mut y)
                    .unwrap();
                act.try_forward_channels_on(isa, layout, per_channel, &xw, &mut yw)
                    .unwrap();
                let (mut d, mut dw) = (vec![to(0.0); n], vec![0f32; n]);
                let g = act
                    .try_backward_channels_on(isa, layout, per_channel, &x, &dy, &mut d, true)
                    .unwrap();
                let gw = act
                    .try_backward_channels_on(isa, layout, per_channel, &xw, &dyw, &mut dw, true)
                    .unwrap();
                for i in 0..n {
                    let (want, dwant) = (to(yw[i]), to(dw[i]));
                    let nan = |v: H| from(v).is_nan();
                    assert!(
                        y[i] == want || (nan(y[i]) && nan(want)),
                        "{isa} {name} {layout:?} forward at {i}: {:?} vs {want:?}",
                        y[i]
                    );
                    assert!(
                        d[i] == dwant || (nan(d[i]) && nan(dwant)),
                        "{isa} {name} {layout:?} backward at {i}: {:?} vs {dwant:?}",
                        d[i]
                    );
                }
                assert_eq!(
                    format!("{g:?}"),
                    format!("{gw:?}"),
                    "{isa} {name} {layout:?}"
                );
            }
        }
        // A value slice without one value per channel: an error, nothing written.
        let short = &per_channel[0].1[..c - 1];
        let bad = [(per_channel[0].0, short)];
        let layout = Layout::ChannelsLast { channels: c };
        let x = vec![to(1.0); c];
        let mut y = vec![to(7.0); c];
        assert!(act.try_forward_channels(layout, &bad, &x, &mut y).is_err());
        assert!(y.iter().all(|&v| v == to(7.0)), "{name}: written on error");
    }
    let (p, s) = (prelu_case(5), snake_case(6));
    let pr: Vec<(&str, &[f32])> = p.per_channel.iter().map(|(n, v)| (*n, &v[..])).collect();
    let sr: Vec<(&str, &[f32])> = s.per_channel.iter().map(|(n, v)| (*n, &v[..])).collect();
    check::<half::bf16, _>("prelu bf16", &p.act, &pr);
    check::<half::bf16, _>("snake bf16", &s.act, &sr);
    check::<half::f16, _>("prelu f16", &p.act, &pr);
    check::<half::f16, _>("snake f16", &s.act, &sr);
}

/// Gated units with per-channel parameters (`MultiChannelActivation`): gpt-oss's SwiGLU with
/// `alpha` and `limit` given per channel, on every ISA and layout, f32 and f64: every element
/// is its channel's activation through the plain multi-input API (parameters set to that
/// channel's values, the element alone), bit for bit, forward and both input gradients; the
/// parameter sums are the sums of those elements' own terms (within 1e−12 of the terms'
/// magnitude: another order of addition).
#[test]
fn gated_units_per_channel_are_each_channels_activation() {
    gated_per_channel::<f32>();
    gated_per_channel::<f64>();
}

fn gated_per_channel<T>()
where
    T: actigen::Storage + Copy + std::fmt::Debug + From<f32> + Into<f64> + 'static,
    actigen::SwigluOai: MultiChannelActivation<T, 2> + MultiActivation<T, 2>,
{
    // C = 37: rows of whole vectors and a partial one (channels-last).
    for c in [5, 37] {
        gated_per_channel_of::<T>(c);
    }
}

fn gated_per_channel_of<T>(c: usize)
where
    T: actigen::Storage + Copy + std::fmt::Debug + From<f32> + Into<f64> + 'static,
    actigen::SwigluOai: MultiChannelActivation<T, 2> + MultiActivation<T, 2>,
{
    let alpha = values(c, 0.5, 3.0, 41);
    let limit = values(c, 1.0, 9.0, 42);
    let pc = [("alpha", &alpha[..]), ("limit", &limit[..])];
    let same_t = |a: T, b: T| {
        let (a, b): (f64, f64) = (a.into(), b.into());
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    };
    for layout in layouts(c) {
        let n = 3 * layout_period(layout);
        for extremes in [true, false] {
            let conv = |v: Vec<f32>| -> Vec<T> { v.into_iter().map(T::from).collect() };
            let g = conv(inputs(n, 43, extremes));
            let u = conv(inputs(n, 44, extremes));
            let dy = conv(inputs(n, 45, false));
            for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
                let act = actigen::SwigluOai::default();
                let mut y = vec![T::from(7.0); n];
                act.try_forward_channels_on(isa, layout, &pc, [&g, &u], &mut y)
                    .unwrap();
                let (mut dg, mut du) = (vec![T::from(7.0); n], vec![T::from(7.0); n]);
                let sums = act
                    .try_backward_channels_on(
                        isa,
                        layout,
                        &pc,
                        [&g, &u],
                        &dy,
                        [&mut dg, &mut du],
                        true,
                    )
                    .unwrap()
                    .unwrap();
                // Without the parameter gradients, the same input gradients.
                let (mut dg2, mut du2) = (vec![T::from(7.0); n], vec![T::from(7.0); n]);
                act.try_backward_channels_on(
                    isa,
                    layout,
                    &pc,
                    [&g, &u],
                    &dy,
                    [&mut dg2, &mut du2],
                    false,
                )
                .unwrap();
                let (mut want, mut scale) = (vec![vec![0.0f64; c]; 2], vec![vec![0.0f64; c]; 2]);
                for i in 0..n {
                    let ch = channel_of(layout, i);
                    let mut a = act;
                    a.set_param("alpha", alpha[ch].into()).unwrap();
                    a.set_param("limit", limit[ch].into()).unwrap();
                    let x1 = [&g[i..=i], &u[i..=i]];
                    let mut y1 = [T::from(0.0)];
                    a.try_forward_on(isa, x1, &mut y1).unwrap();
                    let (mut g1, mut u1, mut p1) = ([T::from(0.0)], [T::from(0.0)], [0.0f64; 2]);
                    a.try_backward_on(isa, x1, &dy[i..=i], [&mut g1, &mut u1], Some(&mut p1))
                        .unwrap();
                    let at = format!(
                        "{isa} {layout:?} element {i} (channel {ch}) at {:?}",
                        [g[i], u[i]]
                    );
                    assert!(same_t(y[i], y1[0]), "{at}: y {:?} vs {:?}", y[i], y1[0]);
                    assert!(
                        same_t(dg[i], g1[0]),
                        "{at}: d/dgate {:?} vs {:?}",
                        dg[i],
                        g1[0]
                    );
                    assert!(
                        same_t(du[i], u1[0]),
                        "{at}: d/dup {:?} vs {:?}",
                        du[i],
                        u1[0]
                    );
                    assert!(
                        same_t(dg2[i], g1[0]) && same_t(du2[i], u1[0]),
                        "{at}: without sums"
                    );
                    for j in 0..2 {
                        want[j][ch] += p1[j];
                        scale[j][ch] += p1[j].abs();
                    }
                }
                for (j, name) in ["alpha", "limit"].into_iter().enumerate() {
                    let got = sums.get(name).unwrap();
                    assert_eq!(got.len(), c);
                    for ch in 0..c {
                        let (g, w) = (got[ch], want[j][ch]);
                        let ok =
                            (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-12 * scale[j][ch];
                        assert!(ok, "{isa} {layout:?} {name}[{ch}]: {g} vs {w}");
                    }
                    if !extremes {
                        assert!(got.iter().all(|v| v.is_finite()), "{name}: {got:?}");
                    }
                }
            }
        }
    }
}

/// The gated per-channel API's bad input: an error, and nothing written.
#[test]
fn gated_per_channel_bad_input_is_an_error_and_nothing_is_written() {
    let act = actigen::SwigluOai::default();
    let (g, u, dy) = (vec![1.0f32; 12], vec![1.0f32; 12], vec![1.0f32; 12]);
    let u11 = vec![1.0f32; 11];
    let three = [1.5f32; 3];
    let cl = |channels| Layout::ChannelsLast { channels };
    // (layout, per-channel values, up, y's length, a piece of the message)
    type Bad<'a> = (Layout, Vec<(&'a str, &'a [f32])>, &'a [f32], usize, &'a str);
    let cases: Vec<Bad> = vec![
        (cl(3), vec![("alpha", &three)], &u11, 12, "length mismatch"),
        (cl(3), vec![("alpha", &three)], &u, 11, "length mismatch"),
        (cl(5), vec![], &u, 12, "not [.., C = 5]"),
        (cl(4), vec![("alpha", &three)], &u, 12, "`alpha` has 3"),
        (cl(3), vec![("beta", &three)], &u, 12, "no parameter `beta`"),
        (cl(3), vec![("limit", &[1.0, -1.0, 1.0])], &u, 12, "limit"),
    ];
    for (layout, pc, up, ylen, msg) in cases {
        let mut y = vec![7.0f32; ylen];
        let e = act
            .try_forward_channels(layout, &pc, [&g, up], &mut y)
            .unwrap_err();
        assert!(e.to_string().contains(msg), "{layout:?}: {e}");
        assert!(y.iter().all(|v| *v == 7.0));
        let (mut dg, mut du) = (vec![7.0f32; ylen], vec![7.0f32; 12]);
        let e = act
            .try_backward_channels_with_param_grads(layout, &pc, [&g, up], &dy, [&mut dg, &mut du])
            .unwrap_err();
        assert!(e.to_string().contains(msg), "{layout:?}: {e}");
        assert!(dg.iter().chain(&du).all(|v| *v == 7.0));
    }
}

/// The gated per-channel passes give the same bits on any number of threads (pieces of whole
/// periods, sums added in piece order), long enough to be split.
#[test]
fn gated_per_channel_any_thread_count_gives_the_same_bits() {
    let layout = Layout::ChannelsLast { channels: 1024 };
    let n = 150 * 1024;
    let alpha = values(1024, 0.5, 3.0, 51);
    let pc = [("alpha", &alpha[..])];
    let (g, u, dy) = (
        inputs(n, 52, true),
        inputs(n, 53, true),
        inputs(n, 54, false),
    );
    let act = actigen::SwigluOai::default();
    let run = |threads: usize| {
        pool(threads).install(|| {
            let mut y = vec![0.0f32; n];
            act.forward_channels(layout, &pc, [&g, &u], &mut y);
            let (mut dg, mut du) = (vec![0.0f32; n], vec![0.0f32; n]);
            let s = act
                .try_backward_channels_with_param_grads(
                    layout,
                    &pc,
                    [&g, &u],
                    &dy,
                    [&mut dg, &mut du],
                )
                .unwrap();
            let sums: Vec<Vec<u64>> = s
                .sums
                .iter()
                .map(|v| v.iter().map(|x| x.to_bits()).collect())
                .collect();
            (bits(&y), bits(&dg), bits(&du), sums)
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        assert!(one == run(threads), "differs on {threads} threads");
    }
}

/// The gated per-channel API on f16 and bf16 slices: the f32 pass on the widened inputs,
/// rounded to nearest even, bit for bit (forward, both input gradients, the same parameter
/// sums), every ISA and layout, extremes included; a short value slice writes nothing.
#[test]
fn gated_per_channel_half_slices_are_the_f32_pass_rounded() {
    fn check<H: Copy + PartialEq + std::fmt::Debug>(to: fn(f32) -> H, from: fn(H) -> f32)
    where
        actigen::SwigluOai: MultiChannelActivation<H, 2> + MultiChannelActivation<f32, 2>,
    {
        let c = 6;
        let (alpha, limit) = (values(c, 0.5, 3.0, 61), values(c, 1.0, 9.0, 62));
        let pc = [("alpha", &alpha[..]), ("limit", &limit[..])];
        let act = actigen::SwigluOai::default();
        let nan = |v: H| from(v).is_nan();
        for layout in layouts(c) {
            let n = 3 * layout_period(layout);
            let half = |seed, extremes| -> Vec<H> {
                inputs(n, seed, extremes).into_iter().map(to).collect()
            };
            let (g, u, dy) = (half(63, true), half(64, true), half(65, false));
            let w = |v: &[H]| -> Vec<f32> { v.iter().map(|&h| from(h)).collect() };
            let (gw, uw, dyw) = (w(&g), w(&u), w(&dy));
            for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
                let (mut y, mut yw) = (vec![to(0.0); n], vec![0f32; n]);
                act.try_forward_channels_on(isa, layout, &pc, [&g, &u], &mut y)
                    .unwrap();
                act.try_forward_channels_on(isa, layout, &pc, [&gw, &uw], &mut yw)
                    .unwrap();
                let (mut dg, mut du) = (vec![to(0.0); n], vec![to(0.0); n]);
                let (mut dgw, mut duw) = (vec![0f32; n], vec![0f32; n]);
                let s = act
                    .try_backward_channels_on(
                        isa,
                        layout,
                        &pc,
                        [&g, &u],
                        &dy,
                        [&mut dg, &mut du],
                        true,
                    )
                    .unwrap();
                let sw = act
                    .try_backward_channels_on(
                        isa,
                        layout,
                        &pc,
                        [&gw, &uw],
                        &dyw,
                        [&mut dgw, &mut duw],
                        true,
                    )
                    .unwrap();
                for i in 0..n {
                    for (what, got, want) in [
                        ("y", y[i], yw[i]),
                        ("d/dgate", dg[i], dgw[i]),
                        ("d/dup", du[i], duw[i]),
                    ] {
                        let want = to(want);
                        assert!(
                            got == want || (nan(got) && nan(want)),
                            "{isa} {layout:?} {what} at {i}: {got:?} vs {want:?}"
                        );
                    }
                }
                assert_eq!(format!("{s:?}"), format!("{sw:?}"), "{isa} {layout:?}");
            }
        }
        let short = [("alpha", &alpha[..c - 1])];
        let layout = Layout::ChannelsLast { channels: c };
        let ones = vec![to(1.0); c];
        let mut y = vec![to(7.0); c];
        assert!(
            act.try_forward_channels(layout, &short, [&ones, &ones], &mut y)
                .is_err()
        );
        assert!(y.iter().all(|&v| v == to(7.0)), "written on error");
    }
    check::<half::bf16>(half::bf16::from_f32, half::bf16::to_f32);
    check::<half::f16>(half::f16::from_f32, half::f16::to_f32);
}
