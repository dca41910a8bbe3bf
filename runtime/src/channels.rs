//! Per-channel parameters: a parameter given one value per channel (PReLU's per-channel alpha
//! in MXNet gluon and PyTorch's `nn.PReLU(num_parameters = C)`, Snake's `a` in BigVGAN,
//! xIELU's `alpha_p` and `alpha_n`), with the layout that says which channel each element is
//! in ([`Layout`]), through [`ChannelActivation`].
//!
//! The kernels are the formula's own, with the parameters read from vectors
//! ([`Formula::forward_raw_with`]): channels-first, each run of `inner` elements of one channel
//! runs with that channel's values splat; channels-last, each row of `C` elements runs with
//! the values loaded lane by lane from the per-channel slices. Either way the loop is the
//! vector loop over a contiguous run, with no division per element. Parameter gradients come
//! back per channel, summed in f64 in a fixed order (the same on every ISA and for every
//! vector width, as for shared parameters).
//!
//! Long slices run on several threads (the rayon pool, as the other drivers): they are cut
//! into pieces of whole periods of the layout (`C · inner` or `C` elements), about
//! [`CHUNK`](crate::parallel::CHUNK) elements each, at the same boundaries on one thread or
//! many; each piece's parameter gradients are summed on their own and the pieces' sums added
//! in piece order, so the results are bit-identical for every thread count.
//!
//! Activations of one input over `f32` and `f64` slices (and the half types through f32
//! copies), and of several inputs (gated units) over `f32` and `f64` slices through
//! [`MultiChannelActivation`].

use crate::activation::{check_isa, check_len, checked_param};
use crate::dispatch::{self, Float, Isa, Job, Storage, try_active_isa};
use crate::driver::{ParamSums, index_mask};
use crate::error::Error;
use crate::formula::{self, Formula, Grads, MAX_PARAMS, ParamVectors};
use crate::parallel;
use crate::simd::{Element, MAX_LANES, Mask, Vector};

mod multi;
pub use multi::MultiChannelActivation;

/// Which channel each element of a slice is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[N, C, inner]` (NCHW, PyTorch's and MXNet's default; `inner` = H·W, 1 for `[N, C]`):
    /// element `i` is in channel `(i / inner) % C`. The length must be a multiple of
    /// `channels · inner`.
    ChannelsFirst {
        /// C.
        channels: usize,
        /// The number of elements of one channel in a row (H·W).
        inner: usize,
    },
    /// `[…, C]` (NHWC, and the last dimension of a transformer's hidden state): element `i`
    /// is in channel `i % C`. The length must be a multiple of `channels`.
    ChannelsLast {
        /// C.
        channels: usize,
    },
}

impl Layout {
    /// The number of channels.
    pub fn channels(self) -> usize {
        match self {
            Layout::ChannelsFirst { channels, .. } | Layout::ChannelsLast { channels } => channels,
        }
    }

    /// Elements of one channel before the next channel starts: `inner` or 1.
    fn run_len(self) -> usize {
        match self {
            Layout::ChannelsFirst { inner, .. } => inner,
            Layout::ChannelsLast { .. } => 1,
        }
    }

    /// The elements of one period: `C · inner` or `C` (0 on overflow).
    fn period(self) -> usize {
        self.channels().checked_mul(self.run_len()).unwrap_or(0)
    }

    /// Elements per piece of the parallel passes: whole periods, as many as fit in
    /// [`CHUNK`](crate::parallel::CHUNK), and at least one.
    fn piece(self) -> usize {
        let p = self.period().max(1);
        p * (crate::parallel::CHUNK / p).max(1)
    }

    /// `Ok` when a slice of `n` elements has this layout.
    fn check(self, n: usize) -> Result<(), Error> {
        let period = self.period();
        if period == 0 || !n.is_multiple_of(period) {
            let inner = match self {
                Layout::ChannelsFirst { inner, .. } => Some(inner),
                Layout::ChannelsLast { .. } => None,
            };
            return Err(Error::ChannelLayout {
                len: n,
                channels: self.channels(),
                inner,
            });
        }
        Ok(())
    }
}

/// Parameter gradients of a per-channel backward: for each parameter, in declaration order,
/// one sum per channel if it was given per channel, else one sum over every element.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelGrads {
    /// The parameters' names, in declaration order.
    pub names: &'static [&'static str],
    /// `sums[j]`: parameter `j`'s gradient, C values or one.
    pub sums: Vec<Vec<f64>>,
}

impl ChannelGrads {
    /// The gradient of the parameter called `name` (C values if it was given per channel).
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        let j = self.names.iter().position(|n| *n == name)?;
        Some(&self.sums[j])
    }
}

/// Per-channel parameter values: `(name, values)` pairs, one value per channel each; the
/// parameters not named keep the activation's own value for every channel.
pub type PerChannel<'a> = [(&'a str, &'a [f32])];

/// The slice API with per-channel parameters, for every activation of one input over `f32`
/// and `f64` slices (and, with the `half` feature, `half::f16` and `half::bf16` slices, through
/// f32 copies).
///
/// ```
/// use actigen::channels::{ChannelActivation, Layout};
/// use actigen::Prelu;
///
/// // [N = 2, C = 3, inner = 2], one alpha per channel (PyTorch's nn.PReLU(3)).
/// let x = [-1.0f32, 1.0, -1.0, 1.0, -1.0, 1.0, -2.0, 2.0, -2.0, 2.0, -2.0, 2.0];
/// let alpha = [0.1f32, 0.2, 0.3];
/// let layout = Layout::ChannelsFirst { channels: 3, inner: 2 };
/// let mut y = [0.0f32; 12];
/// Prelu::default().forward_channels(layout, &[("alpha", &alpha)], &x, &mut y);
/// assert_eq!(&y[..6], &[-0.1, 1.0, -0.2, 1.0, -0.3, 1.0]);
///
/// let (dy, mut dx) = ([1.0f32; 12], [0.0f32; 12]);
/// let g = Prelu::default()
///     .try_backward_channels_with_param_grads(layout, &[("alpha", &alpha)], &x, &dy, &mut dx)
///     .unwrap();
/// assert_eq!(g.get("alpha").unwrap(), &[-3.0, -3.0, -3.0]); // Σ dy·x over x ≤ 0
/// ```
pub trait ChannelActivation<T> {
    /// `y = f(x)` with the parameters of `per_channel` read per channel, on `isa`; an error
    /// (nothing written) if the lengths differ, `x` does not fit the layout, a name is not a
    /// parameter or is given twice, a value slice does not hold one value per channel, or a
    /// value is outside its parameter's range.
    fn try_forward_channels_on(
        &self,
        isa: Isa,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: &[T],
        y: &mut [T],
    ) -> Result<(), Error>;

    /// `dx = dy · ∂f/∂x` with per-channel parameters, on `isa`, and the parameter gradients
    /// when `param_grads` is true (`None` otherwise); errors as
    /// [`ChannelActivation::try_forward_channels_on`].
    #[allow(clippy::too_many_arguments)]
    fn try_backward_channels_on(
        &self,
        isa: Isa,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: &[T],
        dy: &[T],
        dx: &mut [T],
        param_grads: bool,
    ) -> Result<Option<ChannelGrads>, Error>;

    /// `y = f(x)` with per-channel parameters (see
    /// [`ChannelActivation::try_forward_channels_on`]).
    fn try_forward_channels(
        &self,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: &[T],
        y: &mut [T],
    ) -> Result<(), Error> {
        self.try_forward_channels_on(try_active_isa()?, layout, per_channel, x, y)
    }

    /// `y = f(x)` with per-channel parameters.
    ///
    /// # Panics
    /// On the errors of [`ChannelActivation::try_forward_channels_on`] (nothing is written).
    #[track_caller]
    fn forward_channels(&self, layout: Layout, per_channel: &PerChannel<'_>, x: &[T], y: &mut [T]) {
        if let Err(e) = self.try_forward_channels(layout, per_channel, x, y) {
            panic!("actigen: {e}");
        }
    }

    /// `dx = dy · ∂f/∂x` with per-channel parameters.
    fn try_backward_channels(
        &self,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: &[T],
        dy: &[T],
        dx: &mut [T],
    ) -> Result<(), Error> {
        let isa = try_active_isa()?;
        self.try_backward_channels_on(isa, layout, per_channel, x, dy, dx, false)
            .map(|_| ())
    }

    /// `dx = dy · ∂f/∂x` with per-channel parameters.
    ///
    /// # Panics
    /// On the errors of [`ChannelActivation::try_forward_channels_on`] (nothing is written).
    #[track_caller]
    fn backward_channels(
        &self,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: &[T],
        dy: &[T],
        dx: &mut [T],
    ) {
        if let Err(e) = self.try_backward_channels(layout, per_channel, x, dy, dx) {
            panic!("actigen: {e}");
        }
    }

    /// `dx = dy · ∂f/∂x` and the parameter gradients (per channel for the parameters of
    /// `per_channel`), in one pass.
    fn try_backward_channels_with_param_grads(
        &self,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: &[T],
        dy: &[T],
        dx: &mut [T],
    ) -> Result<ChannelGrads, Error> {
        let isa = try_active_isa()?;
        let g = self.try_backward_channels_on(isa, layout, per_channel, x, dy, dx, true)?;
        Ok(g.expect("asked for the parameter gradients"))
    }
}

/// Half-precision slices (`half::f16`, `half::bf16`, with the `half` feature): through f32
/// copies of the inputs (widened exactly) and of the outputs (rounded to nearest, ties to even),
/// as the candle adapter does, so the results are the f32 pass's rounded, bit for bit. The
/// copies cost a pass each way and 4 bytes per element of each slice; the checks run before
/// anything is written.
#[cfg(feature = "half")]
mod halves {
    use super::{ChannelActivation, ChannelGrads, Layout, PerChannel};
    use crate::activation::{check_isa, check_len};
    use crate::dispatch::Isa;
    use crate::error::Error;
    use crate::formula::Formula;
    use crate::storage::{Half, narrow, widen};

    /// `src` widened to f32 on `isa` (supported: checked by the caller).
    pub(super) fn wide<H: Half>(isa: Isa, src: &[H]) -> Vec<f32> {
        let mut w = vec![0.0; src.len()];
        widen(isa, src, &mut w);
        w
    }

    macro_rules! half_channels {
        ($h:ty) => {
            impl<F: Formula> ChannelActivation<$h> for F {
                fn try_forward_channels_on(
                    &self,
                    isa: Isa,
                    layout: Layout,
                    per_channel: &PerChannel<'_>,
                    x: &[$h],
                    y: &mut [$h],
                ) -> Result<(), Error> {
                    check_len("x", x.len(), "y", y.len())?;
                    check_isa(isa)?;
                    let mut out = vec![0.0f32; x.len()];
                    <F as ChannelActivation<f32>>::try_forward_channels_on(
                        self,
                        isa,
                        layout,
                        per_channel,
                        &wide(isa, x),
                        &mut out,
                    )?;
                    narrow(isa, &out, y);
                    Ok(())
                }
                fn try_backward_channels_on(
                    &self,
                    isa: Isa,
                    layout: Layout,
                    per_channel: &PerChannel<'_>,
                    x: &[$h],
                    dy: &[$h],
                    dx: &mut [$h],
                    param_grads: bool,
                ) -> Result<Option<ChannelGrads>, Error> {
                    check_len("x", x.len(), "dy", dy.len())?;
                    check_len("x", x.len(), "dx", dx.len())?;
                    check_isa(isa)?;
                    let mut out = vec![0.0f32; x.len()];
                    let g = <F as ChannelActivation<f32>>::try_backward_channels_on(
                        self,
                        isa,
                        layout,
                        per_channel,
                        &wide(isa, x),
                        &wide(isa, dy),
                        &mut out,
                        param_grads,
                    )?;
                    narrow(isa, &out, dx);
                    Ok(g)
                }
            }
        };
    }

    half_channels!(half::f16);
    half_channels!(half::bf16);
}

/// The per-channel values in the compute type, by parameter index (`None`: shared), after
/// every check.
type Values<'a, T> = [Option<ChannelValues<'a, T>>; MAX_PARAMS];

/// The smallest f32 (or infinity) at or above `x`.
fn ceil32(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) < x { f.next_up() } else { f }
}

/// One parameter's per-channel values in the compute type `T`.
enum ChannelValues<'a, T> {
    /// The caller's slice itself, where `T` is f32 (no copy: for C = 1024 the copy and its
    /// allocation were a tenth of a 4096-element call).
    Given(&'a [f32]),
    /// Converted (f64).
    Converted(Vec<T>),
}

/// An activation's name, parameter names and parameter ranges as constants, for
/// [`resolve_params`]: constants, and that function inlined, so that the range test of a
/// per-channel slice compiles for the activation's own parameters (with them passed as values,
/// prelu_cl's 4096-element forward took 11–26% longer; `bench --acts prelu_cl --sizes 4096`,
/// five interleaved runs).
trait ParamTable {
    const NAME: &'static str;
    const NAMES: &'static [&'static str];
    const RANGES: &'static [(f64, f64)];
}

/// The [`ParamTable`] of an activation of one input.
struct OneInput<F>(core::marker::PhantomData<F>);

impl<F: Formula> ParamTable for OneInput<F> {
    const NAME: &'static str = F::NAME;
    const NAMES: &'static [&'static str] = F::PARAM_NAMES;
    const RANGES: &'static [(f64, f64)] = F::PARAM_RANGES;
}

/// The per-channel values after every check (see [`ChannelActivation::try_forward_channels_on`]).
fn resolve<'a, F: Formula, T: Float>(
    layout: Layout,
    per_channel: &PerChannel<'a>,
    n: usize,
) -> Result<Values<'a, T>, Error> {
    resolve_params::<OneInput<F>, T>(layout, per_channel, n)
}

/// [`resolve`] for the activation of the table `P`.
#[inline(always)]
fn resolve_params<'a, P: ParamTable, T: Float>(
    layout: Layout,
    per_channel: &PerChannel<'a>,
    n: usize,
) -> Result<Values<'a, T>, Error> {
    let (act, names, ranges) = (P::NAME, P::NAMES, P::RANGES);
    layout.check(n)?;
    let c = layout.channels();
    let mut values: Values<T> = Default::default();
    for &(name, vals) in per_channel {
        let j = names
            .iter()
            .position(|p| *p == name)
            .ok_or_else(|| Error::UnknownParam {
                activation: act,
                param: name.to_string(),
                accepted: names,
            })?;
        check_len("channels", c, names[j], vals.len())?;
        if values[j].is_some() {
            return Err(Error::ParamGivenTwice { param: names[j] });
        }
        // Finite and within the declared range, as `set_param` checks one value; the name
        // is resolved once (looked up per value, it cost prelu_cl 1.2 ns per element at
        // n = 4096, C = 1024), and a value that fails gets `set_param`'s error.
        // The test is one branch-free fold (vectorised); the values are walked again only
        // to report the first bad one.
        // In f32 against the range's ends rounded up to f32 (an f32 v has lo ≤ v exactly
        // when ceil32(lo) ≤ v, and v < hi when v < ceil32(hi)): twice the lanes of the f64
        // test, which took a third of prelu_cl's 4096-element call.
        let (lo, hi) = ranges[j];
        let (lo32, hi32) = (ceil32(lo), ceil32(hi));
        let ok = |v: f32| v.is_finite() & (lo32 <= v) & (v < hi32);
        if !vals.iter().fold(true, |all, &v| all & ok(v)) {
            for &v in vals.iter().filter(|&&v| !ok(v)) {
                checked_param(act, names, ranges, name, v.into())?;
            }
        }
        values[j] = Some(if T::DTYPE == <f32 as Storage>::DTYPE {
            ChannelValues::Given(vals)
        } else {
            ChannelValues::Converted(vals.iter().map(|&v| T::from_f64(v.into())).collect())
        });
    }
    Ok(values)
}

impl<F: Formula, T: Float> ChannelActivation<T> for F {
    fn try_forward_channels_on(
        &self,
        isa: Isa,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: &[T],
        y: &mut [T],
    ) -> Result<(), Error> {
        check_len("x", x.len(), "y", y.len())?;
        let values = resolve::<F, T>(layout, per_channel, x.len())?;
        check_isa(isa)?;
        parallel::map_pieces(y, layout.piece(), &|start, y| {
            let job = ChannelPass {
                f: self,
                x: x[start..].as_ptr(),
                dy: core::ptr::null(),
                out: y.as_mut_ptr(),
                n: y.len(),
                layout,
                values: pointers(&values),
                sums: None,
            };
            // SAFETY: ISA checked; x holds as many elements as y (checked above), so it is
            // readable for the piece's n from `start`; the piece is whole periods (a multiple
            // of the period, which divides the length: checked in `resolve`); each
            // per-channel pointer holds C values (checked in `resolve`).
            unsafe { dispatch::run(isa, job) }
        });
        Ok(())
    }

    fn try_backward_channels_on(
        &self,
        isa: Isa,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: &[T],
        dy: &[T],
        dx: &mut [T],
        param_grads: bool,
    ) -> Result<Option<ChannelGrads>, Error> {
        check_len("x", x.len(), "dy", dy.len())?;
        check_len("x", x.len(), "dx", dx.len())?;
        let values = resolve::<F, T>(layout, per_channel, x.len())?;
        check_isa(isa)?;
        let zeros = || zero_sums(&values, layout, F::PARAM_NAMES.len());
        let pieces = parallel::map_pieces(dx, layout.piece(), &|start, dx| {
            let mut sums = if param_grads { zeros() } else { Vec::new() };
            let job = ChannelPass {
                f: self,
                x: x[start..].as_ptr(),
                dy: dy[start..].as_ptr(),
                out: dx.as_mut_ptr(),
                n: dx.len(),
                layout,
                values: pointers(&values),
                sums: param_grads.then_some(&mut sums[..]),
            };
            // SAFETY: as in the forward; dy holds as many elements as dx (checked above).
            unsafe { dispatch::run(isa, job) };
            sums
        });
        Ok(param_grads.then_some(ChannelGrads {
            names: F::PARAM_NAMES,
            sums: add_pieces(zeros(), &pieces),
        }))
    }
}

/// Zeroed parameter sums: C per per-channel parameter, one per shared one (`np` in all).
fn zero_sums<T>(values: &Values<'_, T>, layout: Layout, np: usize) -> Vec<Vec<f64>> {
    (0..np)
        .map(|j| {
            vec![
                0.0;
                if values[j].is_some() {
                    layout.channels()
                } else {
                    1
                }
            ]
        })
        .collect()
}

/// The pieces' sums added into `total` in piece order: one order for every thread count.
fn add_pieces(mut total: Vec<Vec<f64>>, pieces: &[Vec<Vec<f64>>]) -> Vec<Vec<f64>> {
    for piece in pieces {
        for (t, part) in total.iter_mut().zip(piece) {
            for (t, v) in t.iter_mut().zip(part) {
                *t += v;
            }
        }
    }
    total
}

/// The per-channel value slices as pointers (null: shared).
fn pointers<T>(values: &Values<'_, T>) -> [*const T; MAX_PARAMS] {
    let mut p = [core::ptr::null(); MAX_PARAMS];
    for (p, v) in p.iter_mut().zip(values) {
        match v {
            // (`Given` only where T is f32: see `resolve`.)
            Some(ChannelValues::Given(v)) => *p = v.as_ptr().cast::<T>(),
            Some(ChannelValues::Converted(v)) => *p = v.as_ptr(),
            None => {}
        }
    }
    p
}

/// One pass with per-channel parameters: forward when `dy` is null, else `dx = dy·∂f/∂x` and,
/// with `sums`, the parameter gradients (per channel for the per-channel parameters).
struct ChannelPass<'a, F, T> {
    f: &'a F,
    x: *const T,
    dy: *const T,
    out: *mut T,
    n: usize,
    layout: Layout,
    values: [*const T; MAX_PARAMS],
    sums: Option<&'a mut [Vec<f64>]>,
}

/// Where one contiguous run's parameter values come from.
#[derive(Clone, Copy)]
enum Source {
    /// Splat values (channels-first: one channel's run; or no per-channel parameter).
    Splat,
    /// Loaded lane by lane from the per-channel slices at the run's offset within a row
    /// (channels-last).
    Lanes,
}

impl<F: Formula, T: Float> Job<T> for ChannelPass<'_, F, T> {
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = T>>(mut self) {
        // SAFETY: the job's contract, as `walk` wants it.
        unsafe { walk::<_, T, V>(&mut self) }
    }
}

/// What the per-channel passes (one input, and K inputs in `multi`) give [`walk`]: their
/// layout, length, per-channel pointers and sums, and the run of one contiguous span.
trait ChannelWalk<T: Float> {
    /// The job's layout.
    fn layout(&self) -> Layout;
    /// The job's length (whole periods).
    fn len(&self) -> usize;
    /// The per-channel value pointers (null: shared).
    fn values(&self) -> &[*const T; MAX_PARAMS];
    /// The number of parameters.
    fn param_count(&self) -> usize;
    /// The parameter sums to fill, when asked for.
    fn sums(&mut self) -> Option<&mut [Vec<f64>]>;
    /// The parameters as vectors, splat.
    fn base<V: Vector<Elem = T>>(&self, v0: V) -> ParamVectors<V>;
    /// Runs the `len` elements from `start` with the parameter vectors `p` (see
    /// `ChannelPass::run_span`).
    ///
    /// # Safety
    /// `start + len ≤ n`; the CPU supports `V`; with `Lanes`, `len` = C.
    #[allow(clippy::too_many_arguments)]
    unsafe fn span<V: Vector<Elem = T>>(
        &mut self,
        start: usize,
        len: usize,
        source: Source,
        p: &ParamVectors<V>,
        local: &mut ParamSums,
        shared: &mut ParamSums,
    );
}

/// A per-channel job's walk over its runs (channels-first: `inner` elements of one channel,
/// its values splat) or rows (channels-last: C elements, the values loaded lane by lane), and
/// the parameter sums around it: per channel for the per-channel parameters, one sum for the
/// shared ones.
///
/// # Safety
/// The CPU supports `V`; the job's pointers are valid for its length (see [`Job::run`]).
#[inline(always)]
unsafe fn walk<J: ChannelWalk<T>, T: Float, V: Vector<Elem = T>>(job: &mut J) {
    const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES) };
    let n = job.len();
    if n == 0 {
        return;
    }
    let zeros = [T::ZERO; MAX_LANES];
    // SAFETY: the buffer holds MAX_LANES ≥ LANES values (asserted above).
    let v0 = unsafe { V::load(zeros.as_ptr()) };
    let base = job.base(v0);
    let values = *job.values();
    let np = job.param_count();
    let mut shared = ParamSums::new();
    match job.layout() {
        Layout::ChannelsFirst { channels, inner } => {
            // One channel's run's per-channel terms; cleared per run only when the
            // gradients were asked for (zeroing it per run cost the forward 5×).
            let mut local = ParamSums::new();
            let grads = job.sums().is_some();
            // The channel of run b, b mod C, counted rather than divided (a division per
            // run cost [N, 64, 64] about a tenth of its forward).
            let mut c = 0;
            for b in 0..n / inner {
                let mut p = base;
                for (pk, &vk) in p.iter_mut().zip(&values).take(np) {
                    if !vk.is_null() {
                        // SAFETY: a per-channel pointer holds C > c values.
                        *pk = v0.splat_elem(unsafe { *vk.add(c) });
                    }
                }
                if grads {
                    local = ParamSums::new();
                }
                // SAFETY: run b's `inner` elements are within the n of the job.
                unsafe {
                    job.span::<V>(b * inner, inner, Source::Splat, &p, &mut local, &mut shared)
                };
                if let Some(sums) = job.sums() {
                    for (j, s) in sums.iter_mut().enumerate() {
                        if !values[j].is_null() {
                            s[c] += local.total(j);
                        }
                    }
                }
                c += 1;
                if c == channels {
                    c = 0;
                }
            }
        }
        Layout::ChannelsLast { channels } => {
            // Unused channels-last (per-channel terms go straight into the sums).
            let mut local = ParamSums::new();
            for r in 0..n / channels {
                // SAFETY: row r's C elements are within the n of the job.
                unsafe {
                    job.span::<V>(
                        r * channels,
                        channels,
                        Source::Lanes,
                        &base,
                        &mut local,
                        &mut shared,
                    )
                };
            }
        }
    }
    if let Some(sums) = job.sums() {
        for (j, s) in sums.iter_mut().enumerate() {
            if values[j].is_null() {
                s[0] = shared.total(j);
            }
        }
    }
}

/// [`ChannelWalk`] for a pass with the fields `f`, `n`, `layout`, `values`, `sums` and a
/// `run_span` method (`ChannelPass`, and `multi::MultiChannelPass`).
macro_rules! channel_walk {
    () => {
        #[inline(always)]
        fn layout(&self) -> Layout {
            self.layout
        }
        #[inline(always)]
        fn len(&self) -> usize {
            self.n
        }
        #[inline(always)]
        fn values(&self) -> &[*const T; MAX_PARAMS] {
            &self.values
        }
        #[inline(always)]
        fn param_count(&self) -> usize {
            F::PARAM_NAMES.len()
        }
        #[inline(always)]
        fn sums(&mut self) -> Option<&mut [Vec<f64>]> {
            self.sums.as_deref_mut()
        }
        #[inline(always)]
        fn base<V: Vector<Elem = T>>(&self, v0: V) -> ParamVectors<V> {
            self.f.param_vectors(v0)
        }
        #[inline(always)]
        unsafe fn span<V: Vector<Elem = T>>(
            &mut self,
            start: usize,
            len: usize,
            source: Source,
            p: &ParamVectors<V>,
            local: &mut ParamSums,
            shared: &mut ParamSums,
        ) {
            // SAFETY: as the caller promised.
            unsafe { self.run_span::<V>(start, len, source, p, local, shared) }
        }
    };
}
use channel_walk;

impl<F: Formula, T: Float> ChannelWalk<T> for ChannelPass<'_, F, T> {
    channel_walk!();
}

impl<F: Formula, T: Float> ChannelPass<'_, F, T> {
    /// Runs the `len` elements from `start`: whole vectors, then the tail through stack
    /// buffers (so every element sees the same vector code). With [`Source::Lanes`] the
    /// per-channel values are read at offsets `0..len` (a row) and the per-channel gradients
    /// go straight into `sums[j][offset]`; with [`Source::Splat`] they go into `local`.
    ///
    /// # Safety
    /// `start + len ≤ n`; the CPU supports `V`; with `Lanes`, `len` = C.
    #[inline(always)]
    unsafe fn run_span<V: Vector<Elem = T>>(
        &mut self,
        start: usize,
        len: usize,
        source: Source,
        base: &ParamVectors<V>,
        local: &mut ParamSums,
        shared: &mut ParamSums,
    ) {
        // SAFETY (both calls): as the caller promised.
        if self.dy.is_null() {
            return unsafe { self.map_span::<V, false>(start, len, source, base) };
        }
        if self.sums.is_none() {
            return unsafe { self.map_span::<V, true>(start, len, source, base) };
        }
        let l = V::LANES;
        let mask = index_mask::<V>();
        let mut j = 0;
        // SAFETY (the block): as the caller promised, plus the job's contract (x, dy readable
        // and out writable for n elements; per-channel pointers hold C values); partial
        // blocks go through buffers of MAX_LANES ≥ LANES values.
        unsafe {
            while j + l <= len {
                let p = self.params(source, base, j, l);
                let x = V::load(self.x.add(start + j));
                let dy = (!self.dy.is_null()).then(|| V::load(self.dy.add(start + j)));
                let r = self.step(x, dy, &p, j, l, local, shared);
                r.store(self.out.add(start + j));
                j = (j + l) & mask;
            }
            if j < len {
                let rest = len - j;
                let p = self.params(source, base, j, rest);
                let mut bx = [T::ZERO; MAX_LANES];
                core::ptr::copy_nonoverlapping(self.x.add(start + j), bx.as_mut_ptr(), rest);
                let x = V::load(bx.as_ptr());
                let dy = (!self.dy.is_null()).then(|| {
                    let mut bd = [T::ZERO; MAX_LANES];
                    core::ptr::copy_nonoverlapping(self.dy.add(start + j), bd.as_mut_ptr(), rest);
                    V::load(bd.as_ptr())
                });
                let r = self.step(x, dy, &p, j, rest, local, shared);
                let mut out = [T::ZERO; MAX_LANES];
                r.store(out.as_mut_ptr());
                core::ptr::copy_nonoverlapping(out.as_ptr(), self.out.add(start + j), rest);
            }
        }
    }

    /// [`run_span`](Self::run_span) for the passes without parameter gradients: the forward
    /// (`DX` false) or `dx = dy·f′(x)` (`DX` true). Two vectors per step with one NaN test for
    /// both, as the drivers of shared parameters do; the pass is a constant, so the loop
    /// carries no test of which pass it is.
    ///
    /// # Safety
    /// As [`run_span`](Self::run_span); with `DX`, `dy` readable for the job's n elements.
    #[inline(always)]
    unsafe fn map_span<V: Vector<Elem = T>, const DX: bool>(
        &self,
        start: usize,
        len: usize,
        source: Source,
        base: &ParamVectors<V>,
    ) {
        let f = self.f;
        let pass = if DX { Pass::Derivative } else { Pass::Forward };
        let body = |x: V, p: &ParamVectors<V>| {
            if DX {
                f.derivative_raw_with(x, p)
            } else {
                f.forward_raw_with(x, p)
            }
        };
        let l = V::LANES;
        // SAFETY (the block): as the caller promised, plus the job's contract (x, and with DX
        // dy, readable and out writable for n elements from the job's start; per-channel
        // pointers hold C values); the tail goes through buffers of MAX_LANES ≥ LANES values.
        unsafe {
            let (x, out) = (self.x.add(start), self.out.add(start));
            let dy = if DX { self.dy.add(start) } else { self.dy };
            let mask = index_mask::<V>();
            let mut j = 0;
            // Channels-last: two sets that live across the loop, their per-channel vectors
            // loaded per block; channels-first: the run's own (`base`), not copied.
            let mut lanes = (*base, *base);
            while j + 2 * l <= len {
                let (p0, p1) = match source {
                    Source::Splat => (base, base),
                    Source::Lanes => {
                        self.set_params(source, &mut lanes.0, j, l);
                        self.set_params(source, &mut lanes.1, j + l, l);
                        (&lanes.0, &lanes.1)
                    }
                };
                let (x0, x1) = (V::load(x.add(j)), V::load(x.add(j + l)));
                let (mut r0, mut r1) = (body(x0, p0), body(x1, p1));
                if guards_inf::<F>(pass) && (r0.is_nan() | r1.is_nan()).any() {
                    r0 = guard_one(f, pass, x0, p0, r0);
                    r1 = guard_one(f, pass, x1, p1, r1);
                } else {
                    r0 = nan_guard::<F, V>(pass, x0, r0);
                    r1 = nan_guard::<F, V>(pass, x1, r1);
                }
                if DX {
                    r0 = V::load(dy.add(j)) * r0;
                    r1 = V::load(dy.add(j + l)) * r1;
                }
                r0.store(out.add(j));
                r1.store(out.add(j + l));
                j = (j + 2 * l) & mask;
            }
            while j < len {
                let live = l.min(len - j);
                let p = self.params(source, base, j, live);
                let (mut bx, mut bd) = ([T::ZERO; MAX_LANES], [T::ZERO; MAX_LANES]);
                core::ptr::copy_nonoverlapping(x.add(j), bx.as_mut_ptr(), live);
                let xv = V::load(bx.as_ptr());
                let mut r = guard_one(f, pass, xv, &p, body(xv, &p));
                if DX {
                    core::ptr::copy_nonoverlapping(dy.add(j), bd.as_mut_ptr(), live);
                    r = V::load(bd.as_ptr()) * r;
                }
                let mut o = [T::ZERO; MAX_LANES];
                r.store(o.as_mut_ptr());
                core::ptr::copy_nonoverlapping(o.as_ptr(), out.add(j), live);
                j += live;
            }
        }
    }

    /// The parameter vectors of the block at offset `j` of a run (`live` lanes valid).
    ///
    /// # Safety
    /// With `Lanes`, every per-channel pointer readable for `j + live` values.
    #[inline(always)]
    unsafe fn params<V: Vector<Elem = T>>(
        &self,
        source: Source,
        base: &ParamVectors<V>,
        j: usize,
        live: usize,
    ) -> ParamVectors<V> {
        let mut p = *base;
        // SAFETY: as the caller promised.
        unsafe { self.set_params(source, &mut p, j, live) };
        p
    }

    /// With [`Source::Lanes`], sets the per-channel parameters' vectors of `p` to the block
    /// at offset `j` of a row (`live` lanes valid); the shared ones are left as they are.
    /// Updating vectors that live across the loop (rather than copying all `MAX_PARAMS` of
    /// them per block) keeps them in registers: the copies went through the stack.
    ///
    /// # Safety
    /// As [`params`](Self::params).
    #[inline(always)]
    unsafe fn set_params<V: Vector<Elem = T>>(
        &self,
        source: Source,
        p: &mut ParamVectors<V>,
        j: usize,
        live: usize,
    ) {
        if let Source::Lanes = source {
            for (pk, &vk) in p.iter_mut().zip(&self.values).take(F::PARAM_NAMES.len()) {
                if !vk.is_null() {
                    // SAFETY: as the caller promised; the buffer holds MAX_LANES ≥ LANES
                    // values, `live` ≤ LANES of them copied.
                    *pk = unsafe {
                        if live == V::LANES {
                            V::load(vk.add(j))
                        } else {
                            let mut b = [T::ONE; MAX_LANES];
                            core::ptr::copy_nonoverlapping(vk.add(j), b.as_mut_ptr(), live);
                            V::load(b.as_ptr())
                        }
                    };
                }
            }
        }
    }

    /// One block: the forward value, or `dy·∂f/∂x` with the parameter terms added to the
    /// sums (the first `live` lanes; `j` is the block's offset in its run, a multiple of
    /// LANES).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn step<V: Vector<Elem = T>>(
        &mut self,
        x: V,
        dy: Option<V>,
        p: &ParamVectors<V>,
        j: usize,
        live: usize,
        local: &mut ParamSums,
        shared: &mut ParamSums,
    ) -> V {
        let f = self.f;
        let Some(dy) = dy else {
            let mut r = [f.forward_raw_with(x, p); MAX_PARAMS + 1];
            guard(f, Pass::Forward, x, p, &mut r);
            return r[0];
        };
        let Some(sums) = self.sums.as_deref_mut() else {
            let mut r = [f.derivative_raw_with(x, p); MAX_PARAMS + 1];
            guard(f, Pass::Derivative, x, p, &mut r);
            return dy * r[0];
        };
        let mut g = f.grads_raw_with(x, p);
        guard(f, Pass::Grads, x, p, &mut g);
        for (k, s) in sums.iter_mut().enumerate() {
            if self.values[k].is_null() {
                shared.add(k, dy, g[1 + k], j, live);
            } else if let Source::Splat = source_of(self.layout) {
                local.add(k, dy, g[1 + k], j, live);
            } else {
                // Channels-last: lane i is channel j + i.
                let (mut a, mut b) = ([T::ZERO; MAX_LANES], [T::ZERO; MAX_LANES]);
                // SAFETY: both buffers hold MAX_LANES ≥ LANES values.
                unsafe {
                    dy.store(a.as_mut_ptr());
                    g[1 + k].store(b.as_mut_ptr());
                }
                for i in 0..live {
                    s[j + i] += a[i].to_f64() * b[i].to_f64();
                }
            }
        }
        dy * g[0]
    }
}

fn source_of(layout: Layout) -> Source {
    match layout {
        Layout::ChannelsFirst { .. } => Source::Splat,
        Layout::ChannelsLast { .. } => Source::Lanes,
    }
}

/// Which body a block ran.
#[derive(Clone, Copy)]
enum Pass {
    Forward,
    Derivative,
    Grads,
}

/// The body's guards (see [`crate::formula::Guard`]): lanes whose result is NaN are
/// recomputed one by one through the one-lane guarded path with that lane's parameter values
/// (finite limits at ±inf), out of line; then NaN inputs give NaN.
#[inline(always)]
fn guard<F: Formula, V: Vector>(f: &F, pass: Pass, x: V, p: &ParamVectors<V>, r: &mut Grads<V>)
where
    V::Elem: Float,
{
    let (g, outs) = match pass {
        Pass::Forward => (F::GUARDS.forward, 1),
        Pass::Derivative => (F::GUARDS.derivative, 1),
        Pass::Grads => (F::GUARDS.grads, 1 + F::PARAM_NAMES.len()),
    };
    if g.inf {
        let mut nan = r[0].is_nan();
        for v in &r[1..outs] {
            nan = nan | v.is_nan();
        }
        if nan.any() {
            // Through fresh buffers: the caller's vectors never have their address taken (as
            // in `formula::limits_cold`), so the hot loop keeps them in registers.
            let (mut io, mut out) = ((x, *p), *r);
            lanes_cold(f, pass, &mut io, &mut out);
            *r = out;
        }
    }
    if g.nan {
        for v in &mut r[..outs] {
            *v = V::select(x.is_nan(), x, *v);
        }
    }
}

/// Whether the pass's ±inf guard is on (its NaN test runs in the loop).
#[inline(always)]
fn guards_inf<F: Formula>(pass: Pass) -> bool {
    match pass {
        Pass::Forward => F::GUARDS.forward.inf,
        Pass::Derivative => F::GUARDS.derivative.inf,
        Pass::Grads => F::GUARDS.grads.inf,
    }
}

/// The NaN guard alone (NaN inputs give NaN) of a one-result pass.
#[inline(always)]
fn nan_guard<F: Formula, V: Vector>(pass: Pass, x: V, r: V) -> V {
    let g = match pass {
        Pass::Forward => F::GUARDS.forward,
        Pass::Derivative => F::GUARDS.derivative,
        Pass::Grads => F::GUARDS.grads,
    };
    if g.nan {
        V::select(x.is_nan(), x, r)
    } else {
        r
    }
}

/// Both guards of a one-result pass (forward or derivative) on one vector.
#[inline(always)]
fn guard_one<F: Formula, V: Vector>(f: &F, pass: Pass, x: V, p: &ParamVectors<V>, r: V) -> V
where
    V::Elem: Float,
{
    let mut out = [r; MAX_PARAMS + 1];
    guard(f, pass, x, p, &mut out);
    out[0]
}

/// The ±inf guard's slow path with per-lane parameters: each lane with a NaN result is
/// evaluated again on its own, with its parameter values set, through the guarded one-lane
/// path of uniform parameters, and its NaN results replaced.
#[cold]
#[inline(never)]
fn lanes_cold<F: Formula, V: Vector>(
    f: &F,
    pass: Pass,
    io: &mut (V, ParamVectors<V>),
    r: &mut Grads<V>,
) where
    V::Elem: Float,
{
    let np = F::PARAM_NAMES.len();
    let outs = if let Pass::Grads = pass { 1 + np } else { 1 };
    let zero = <V::Elem as Element>::ZERO;
    let (mut xs, mut ps, mut rs) = (
        [zero; MAX_LANES],
        [[zero; MAX_LANES]; MAX_PARAMS],
        [[zero; MAX_LANES]; MAX_PARAMS + 1],
    );
    // SAFETY: every buffer holds MAX_LANES ≥ LANES values.
    unsafe {
        io.0.store(xs.as_mut_ptr());
        for (v, buf) in io.1.iter().zip(&mut ps).take(np) {
            v.store(buf.as_mut_ptr());
        }
        for (v, buf) in r.iter().zip(&mut rs).take(outs) {
            v.store(buf.as_mut_ptr());
        }
    }
    for i in 0..V::LANES {
        if !(0..outs).any(|o| rs[o][i].is_nan()) {
            continue;
        }
        let mut fc = *f;
        for (k, pk) in ps.iter().enumerate().take(np) {
            fc.set_param_at(k, pk[i].to_f64() as f32);
        }
        let xi = xs[i].scalar();
        match pass {
            Pass::Forward => rs[0][i] = formula::forward(&fc, xi).lane(0),
            Pass::Derivative => rs[0][i] = formula::derivative(&fc, xi).lane(0),
            Pass::Grads => {
                // Only the NaN outputs: the others keep the vector's values, as in the
                // guard of shared parameters (`formula::grads`), so both give the same bits.
                let g = formula::grads(&fc, xi);
                for o in 0..outs {
                    if rs[o][i].is_nan() {
                        rs[o][i] = g[o].lane(0);
                    }
                }
            }
        }
    }
    for o in 0..outs {
        // SAFETY: as above.
        r[o] = unsafe { V::load(rs[o].as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::ceil32;

    /// The f32 range test agrees with the f64 one (`lo ≤ v`, `v < hi` on `f64::from(v)`) for
    /// ends that are f32 values, between f32 values, beyond f32's range or below its
    /// subnormals, and infinite, at every f32 next to them.
    #[test]
    fn the_f32_range_test_is_the_f64_one() {
        let ends = [
            0.0,
            -0.0,
            0.1,
            -0.1,
            0.25,
            1e-3,
            1e-50,
            -1e-50,
            1e300,
            -1e300,
            f64::from(f32::MAX),
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.0 + 2f64.powi(-30),
        ];
        for &e in &ends {
            let f = e as f32;
            let mut vs = vec![f, f.next_up(), f.next_down(), 0.0, -0.0, f32::MAX, f32::MIN];
            vs.extend([f.next_up().next_up(), f.next_down().next_down()]);
            for v in vs.into_iter().filter(|v| v.is_finite()) {
                let w = f64::from(v);
                assert_eq!(e <= w, ceil32(e) <= v, "{e:e} <= {v:e}");
                assert_eq!(w < e, v < ceil32(e), "{v:e} < {e:e}");
            }
        }
    }
}
