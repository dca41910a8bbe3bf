//! Per-channel parameters for activations of several inputs (gated units: gpt-oss's clamped
//! SwiGLU with one `alpha` per channel, or any formula of K inputs with parameters), through
//! [`MultiChannelActivation`]: the same layouts, checks, threads and gradient sums as
//! [`ChannelActivation`](super::ChannelActivation) for one input.
//!
//! The kernels are the formula's own, with the parameters read from vectors
//! ([`MultiFormula::forward_raw_with`]); one vector per step over each contiguous run (a
//! channel's `inner` elements channels-first, a row of `C` channels-last), the last partial
//! vector through stack buffers, so every element sees the same vector code.

use super::{
    ChannelGrads, ChannelWalk, Layout, ParamTable, PerChannel, Source, add_pieces, channel_walk,
    pointers, resolve_params, walk, zero_sums,
};
use crate::activation::{check_isa, check_len};
use crate::dispatch::{self, Float, Isa, Job, try_active_isa};
use crate::driver::ParamSums;
use crate::error::Error;
use crate::formula::{self, MAX_PARAMS, MultiFormula, MultiGrads, ParamVectors};
use crate::multi::input_len;
use crate::parallel;
use crate::simd::{Element, MAX_LANES, Mask, Vector};

/// The slice API with per-channel parameters for activations of K inputs over `f32` and `f64`
/// slices (and, with the `half` feature, `half::f16` and `half::bf16` slices, through f32
/// copies): the counterpart of [`ChannelActivation`](super::ChannelActivation) (same layouts,
/// same checks, same parameter gradients per channel) with the inputs and the input gradients
/// as arrays of K slices, as [`MultiActivation`](crate::MultiActivation) takes them.
///
/// ```
/// use actigen::channels::{Layout, MultiChannelActivation};
/// use actigen::{ActivationInfo, MultiActivation, SwigluOai};
///
/// // gpt-oss's clamped SwiGLU over [rows = 2, C = 3] (channels-last), one alpha per channel.
/// let gate = [1.0f32, -2.0, 3.0, 0.5, 8.0, -1.0];
/// let up = [2.0f32, 1.0, -1.0, 0.0, 9.0, 4.0];
/// let alpha = [1.0f32, 1.702, 2.0];
/// let layout = Layout::ChannelsLast { channels: 3 };
/// let act = SwigluOai::default();
/// let mut y = [0.0f32; 6];
/// act.forward_channels(layout, &[("alpha", &alpha)], [&gate, &up], &mut y);
///
/// // Channel 2's elements are the activation's with alpha = 2, bit for bit.
/// let mut a2 = act;
/// a2.set_param("alpha", 2.0).unwrap();
/// let mut y2 = [0.0f32; 6];
/// a2.forward([&gate, &up], &mut y2);
/// assert_eq!((y[2], y[5]), (y2[2], y2[5]));
///
/// let (dy, mut dg, mut du) = ([1.0f32; 6], [0.0f32; 6], [0.0f32; 6]);
/// let g = act
///     .try_backward_channels_with_param_grads(
///         layout,
///         &[("alpha", &alpha)],
///         [&gate, &up],
///         &dy,
///         [&mut dg, &mut du],
///     )
///     .unwrap();
/// assert_eq!(g.get("alpha").unwrap().len(), 3); // one sum per channel
/// assert_eq!(g.get("limit").unwrap().len(), 1); // shared: one sum
/// ```
pub trait MultiChannelActivation<T, const K: usize> {
    /// `y = f(x₀, …)` with the parameters of `per_channel` read per channel, on `isa`; an
    /// error (nothing written) if the lengths differ, the inputs do not fit the layout, a name
    /// is not a parameter or is given twice, a value slice does not hold one value per channel,
    /// or a value is outside its parameter's range.
    fn try_forward_channels_on(
        &self,
        isa: Isa,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: [&[T]; K],
        y: &mut [T],
    ) -> Result<(), Error>;

    /// In one pass on `isa`: `dx[k] = dy · ∂f/∂x_k` for every input with per-channel
    /// parameters, and the parameter gradients when `param_grads` is true (`None` otherwise);
    /// errors as [`MultiChannelActivation::try_forward_channels_on`].
    #[allow(clippy::too_many_arguments)]
    fn try_backward_channels_on(
        &self,
        isa: Isa,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: [&[T]; K],
        dy: &[T],
        dx: [&mut [T]; K],
        param_grads: bool,
    ) -> Result<Option<ChannelGrads>, Error>;

    /// `y = f(x₀, …)` with per-channel parameters (see
    /// [`MultiChannelActivation::try_forward_channels_on`]).
    fn try_forward_channels(
        &self,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: [&[T]; K],
        y: &mut [T],
    ) -> Result<(), Error> {
        self.try_forward_channels_on(try_active_isa()?, layout, per_channel, x, y)
    }

    /// `y = f(x₀, …)` with per-channel parameters.
    ///
    /// # Panics
    /// On the errors of [`MultiChannelActivation::try_forward_channels_on`] (nothing is
    /// written).
    #[track_caller]
    fn forward_channels(
        &self,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: [&[T]; K],
        y: &mut [T],
    ) {
        if let Err(e) = self.try_forward_channels(layout, per_channel, x, y) {
            panic!("actigen: {e}");
        }
    }

    /// `dx[k] = dy · ∂f/∂x_k` with per-channel parameters.
    fn try_backward_channels(
        &self,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: [&[T]; K],
        dy: &[T],
        dx: [&mut [T]; K],
    ) -> Result<(), Error> {
        let isa = try_active_isa()?;
        self.try_backward_channels_on(isa, layout, per_channel, x, dy, dx, false)
            .map(|_| ())
    }

    /// `dx[k] = dy · ∂f/∂x_k` with per-channel parameters.
    ///
    /// # Panics
    /// On the errors of [`MultiChannelActivation::try_forward_channels_on`] (nothing is
    /// written).
    #[track_caller]
    fn backward_channels(
        &self,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: [&[T]; K],
        dy: &[T],
        dx: [&mut [T]; K],
    ) {
        if let Err(e) = self.try_backward_channels(layout, per_channel, x, dy, dx) {
            panic!("actigen: {e}");
        }
    }

    /// `dx[k] = dy · ∂f/∂x_k` and the parameter gradients (per channel for the parameters of
    /// `per_channel`), in one pass.
    fn try_backward_channels_with_param_grads(
        &self,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: [&[T]; K],
        dy: &[T],
        dx: [&mut [T]; K],
    ) -> Result<ChannelGrads, Error> {
        let isa = try_active_isa()?;
        let g = self.try_backward_channels_on(isa, layout, per_channel, x, dy, dx, true)?;
        Ok(g.expect("asked for the parameter gradients"))
    }
}

impl<F: MultiFormula<K>, T: Float, const K: usize> MultiChannelActivation<T, K> for F {
    fn try_forward_channels_on(
        &self,
        isa: Isa,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: [&[T]; K],
        y: &mut [T],
    ) -> Result<(), Error> {
        let n = input_len(F::INPUT_NAMES, &x)?;
        check_len(F::INPUT_NAMES[0], n, "y", y.len())?;
        let values = resolve_params::<Inputs<F, K>, T>(layout, per_channel, n)?;
        check_isa(isa)?;
        parallel::map_pieces(y, layout.piece(), &|start, y| {
            let job = MultiChannelPass {
                f: self,
                x: x.map(|x| x[start..].as_ptr()),
                dy: core::ptr::null(),
                out: [y.as_mut_ptr(); K],
                n: y.len(),
                layout,
                values: pointers(&values),
                sums: None,
            };
            // SAFETY: ISA checked; every input holds as many elements as y (checked above),
            // so each is readable for the piece's n from `start`; the piece is whole periods
            // (the period divides the length: checked in `resolve_params`); each per-channel
            // pointer holds C values (checked there too). The forward writes out[0] only.
            unsafe { dispatch::run(isa, job) }
        });
        Ok(())
    }

    fn try_backward_channels_on(
        &self,
        isa: Isa,
        layout: Layout,
        per_channel: &PerChannel<'_>,
        x: [&[T]; K],
        dy: &[T],
        dx: [&mut [T]; K],
        param_grads: bool,
    ) -> Result<Option<ChannelGrads>, Error> {
        let n = input_len(F::INPUT_NAMES, &x)?;
        check_len(F::INPUT_NAMES[0], n, "dy", dy.len())?;
        for d in &dx {
            check_len(F::INPUT_NAMES[0], n, "dx", d.len())?;
        }
        let values = resolve_params::<Inputs<F, K>, T>(layout, per_channel, n)?;
        check_isa(isa)?;
        let zeros = || zero_sums(&values, layout, F::PARAM_NAMES.len());
        let pieces = parallel::map_pieces_of(n, dx, layout.piece(), &|start, dx| {
            let mut sums = if param_grads { zeros() } else { Vec::new() };
            let job = MultiChannelPass {
                f: self,
                x: x.map(|x| x[start..].as_ptr()),
                dy: dy[start..].as_ptr(),
                n: dx[0].len(),
                out: dx.map(|d| d.as_mut_ptr()),
                layout,
                values: pointers(&values),
                sums: param_grads.then_some(&mut sums[..]),
            };
            // SAFETY: as in the forward; dy and every dx hold n elements (checked above), the
            // dx pieces are this piece's own.
            unsafe { dispatch::run(isa, job) };
            sums
        });
        Ok(param_grads.then_some(ChannelGrads {
            names: F::PARAM_NAMES,
            sums: add_pieces(zeros(), &pieces),
        }))
    }
}

/// The [`ParamTable`] of an activation of K inputs.
struct Inputs<F, const K: usize>(core::marker::PhantomData<F>);

impl<F: MultiFormula<K>, const K: usize> ParamTable for Inputs<F, K> {
    const NAME: &'static str = F::NAME;
    const NAMES: &'static [&'static str] = F::PARAM_NAMES;
    const RANGES: &'static [(f64, f64)] = F::PARAM_RANGES;
}

/// One pass with per-channel parameters over K inputs: forward into `out[0]` when `dy` is
/// null, else `out[k] = dy·∂f/∂x_k` and, with `sums`, the parameter gradients.
struct MultiChannelPass<'a, F, T, const K: usize> {
    f: &'a F,
    x: [*const T; K],
    dy: *const T,
    out: [*mut T; K],
    n: usize,
    layout: Layout,
    values: [*const T; MAX_PARAMS],
    sums: Option<&'a mut [Vec<f64>]>,
}

impl<F: MultiFormula<K>, T: Float, const K: usize> Job<T> for MultiChannelPass<'_, F, T, K> {
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = T>>(mut self) {
        // SAFETY: the job's contract, as `walk` wants it.
        unsafe { walk::<_, T, V>(&mut self) }
    }
}

impl<F: MultiFormula<K>, T: Float, const K: usize> ChannelWalk<T>
    for MultiChannelPass<'_, F, T, K>
{
    channel_walk!();
}

impl<F: MultiFormula<K>, T: Float, const K: usize> MultiChannelPass<'_, F, T, K> {
    /// Runs the `len` elements from `start`, one vector per step, the last partial one through
    /// stack buffers. With [`Source::Lanes`] the per-channel values are read at offsets
    /// `0..len` (a row) and the per-channel gradients go straight into `sums[j][offset]`; with
    /// [`Source::Splat`] they go into `local`.
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
        let l = V::LANES;
        let mut j = 0;
        let backward = !self.dy.is_null();
        let grads = self.sums.is_some();
        // SAFETY (the block): as the caller promised, plus the job's contract (the inputs and
        // dy readable, the outputs writable, for n elements; per-channel pointers hold C
        // values); `part` and `put` go through buffers of MAX_LANES ≥ LANES values.
        unsafe {
            // Two whole vectors per step, one NaN test for both (as the drivers of shared
            // parameters do): one vector per step with its own test and the tail's buffers
            // took the forward 1.9x as long as the shared parameters' at n = 4096.
            // Channels-last: two sets that live across the loop, their per-channel vectors
            // loaded per block (copying all MAX_PARAMS vectors per block went through the
            // stack); channels-first: the run's own (`base`), not copied.
            let mut lanes = (*base, *base);
            while j + 2 * l <= len {
                let (p0, p1) = match source {
                    Source::Splat => (base, base),
                    Source::Lanes => {
                        self.set_params::<V>(&mut lanes.0, j, l);
                        self.set_params::<V>(&mut lanes.1, j + l, l);
                        (&lanes.0, &lanes.1)
                    }
                };
                let at = |k: usize, o: usize| V::load(self.x[k].add(start + o));
                let x0: [V; K] = core::array::from_fn(|k| at(k, j));
                let x1: [V; K] = core::array::from_fn(|k| at(k, j + l));
                if !backward {
                    let (r0, r1) = (
                        self.f.forward_raw_with(x0, p0),
                        self.f.forward_raw_with(x1, p1),
                    );
                    // One test of both blocks' results and inputs, the guards only where it
                    // finds a lane (as `formula::multi_forward2`).
                    let g = F::GUARDS.forward;
                    let rare = g.inf && formula::multi_rare2(g, [&x0, &x1], [&[r0], &[r1]]).any();
                    let (r0, r1) = if rare {
                        (
                            self.forward_guards(x0, p0, r0),
                            self.forward_guards(x1, p1, r1),
                        )
                    } else if g.nan && !g.inf {
                        (formula::multi_nan(&x0, r0), formula::multi_nan(&x1, r1))
                    } else {
                        (r0, r1)
                    };
                    r0.store(self.out[0].add(start + j));
                    r1.store(self.out[0].add(start + j + l));
                } else if grads {
                    self.backward2::<V, true>(start, j, (x0, x1), (p0, p1), local, shared);
                } else {
                    self.backward2::<V, false>(start, j, (x0, x1), (p0, p1), local, shared);
                }
                j += 2 * l;
            }
            while j < len {
                let live = l.min(len - j);
                let p = self.params::<V>(source, base, j, live);
                let xs: [V; K] = core::array::from_fn(|k| part(self.x[k].add(start + j), live));
                if !backward {
                    let r = self.f.forward_raw_with(xs, &p);
                    put(
                        self.forward_guards(xs, &p, r),
                        self.out[0].add(start + j),
                        live,
                    );
                } else {
                    let dy = part(self.dy.add(start + j), live);
                    if grads {
                        let g = self.grads::<V, true>(xs, &p);
                        for (gk, out) in g.iter().zip(self.out) {
                            put(dy * *gk, out.add(start + j), live);
                        }
                        self.add_sums(dy, &g, j, live, local, shared);
                    } else {
                        let g = self.grads::<V, false>(xs, &p);
                        for (gk, out) in g.iter().zip(self.out) {
                            put(dy * *gk, out.add(start + j), live);
                        }
                    }
                }
                j += live;
            }
        }
    }

    /// The backward at the two whole blocks at offsets `j` and `j + LANES` of the span from
    /// `start`: the input gradients stored, and with `P` the parameter terms summed. Each `P`
    /// its own loop body, so that without `P` the parameters' partials are never read and
    /// LLVM drops them (one body for both, with a run-time test before the sums, computed them
    /// on every block).
    ///
    /// # Safety
    /// As for [`Self::run_span`], with both blocks inside the span.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn backward2<V: Vector<Elem = T>, const P: bool>(
        &mut self,
        start: usize,
        j: usize,
        x: ([V; K], [V; K]),
        p: (&ParamVectors<V>, &ParamVectors<V>),
        local: &mut ParamSums,
        shared: &mut ParamSums,
    ) {
        let l = V::LANES;
        // SAFETY: as the caller promised (dy readable and the outputs writable at both blocks).
        unsafe {
            let (dy0, dy1) = (
                V::load(self.dy.add(start + j)),
                V::load(self.dy.add(start + j + l)),
            );
            let (g0, g1) = self.grads2::<V, P>(x, p);
            for k in 0..K {
                (dy0 * g0[k]).store(self.out[k].add(start + j));
                (dy1 * g1[k]).store(self.out[k].add(start + j + l));
            }
            if P {
                self.add_sums(dy0, &g0, j, l, local, shared);
                self.add_sums(dy1, &g1, j + l, l, local, shared);
            }
        }
    }

    /// The partials at two blocks with their guards, one NaN test for both (see `grads`).
    #[inline(always)]
    fn grads2<V: Vector<Elem = T>, const P: bool>(
        &self,
        (x0, x1): ([V; K], [V; K]),
        (p0, p1): (&ParamVectors<V>, &ParamVectors<V>),
    ) -> (MultiGrads<V>, MultiGrads<V>) {
        let g = F::GUARDS.grads;
        let outs = K + if P { F::PARAM_NAMES.len() } else { 0 };
        let (r0, r1) = (self.f.grads_raw_with(x0, p0), self.f.grads_raw_with(x1, p1));
        // One test of both blocks' partials and inputs, the guards (their selects included)
        // only where it finds a lane, as `formula::multi_grads2` (the NaN guard's selects on
        // every block cost the per-channel backward about 2%).
        let rare = (g.inf || g.nan)
            && formula::multi_rare2(g, [&x0, &x1], [&r0[..outs], &r1[..outs]]).any();
        if rare {
            return (
                self.grads_guards::<V, P>(x0, p0, r0),
                self.grads_guards::<V, P>(x1, p1, r1),
            );
        }
        (r0, r1)
    }

    /// The parameter vectors of the block at offset `j` of a run (`live` lanes valid): with
    /// [`Source::Lanes`], each per-channel parameter's values at the row's offsets `j..`.
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
        if let Source::Lanes = source {
            // SAFETY: as the caller promised.
            unsafe { self.set_params::<V>(&mut p, j, live) };
        }
        p
    }

    /// Sets the per-channel parameters' vectors of `p` to the values at offsets `j..` of a
    /// row (`live` lanes valid; channels-last); the shared ones are left as they are.
    ///
    /// # Safety
    /// Every per-channel pointer readable for `j + live` values.
    #[inline(always)]
    unsafe fn set_params<V: Vector<Elem = T>>(
        &self,
        p: &mut ParamVectors<V>,
        j: usize,
        live: usize,
    ) {
        for (pk, &vk) in p.iter_mut().zip(&self.values).take(F::PARAM_NAMES.len()) {
            if !vk.is_null() {
                // SAFETY: as the caller promised. (The unused lanes of a partial block read 1,
                // a value every parameter's formula takes.)
                *pk = unsafe { part_or(vk.add(j), live, T::ONE) };
            }
        }
    }

    /// The forward's guards on one block's result `r`: the ±inf guard's slow path where `r`
    /// has NaN lanes, then the NaN guard.
    #[inline(always)]
    fn forward_guards<V: Vector<Elem = T>>(&self, xs: [V; K], p: &ParamVectors<V>, mut r: V) -> V {
        let g = F::GUARDS.forward;
        if g.inf && r.is_nan().any() {
            // Through fresh buffers, as in `formula::limits_cold`: the loop's own vectors
            // never have their address taken (they stayed in memory, and the pass took 3x
            // as long).
            let (mut io, mut out) = ((xs, *p), [r; crate::formula::MAX_INPUTS + MAX_PARAMS]);
            lanes_cold::<F, V, K, false>(self.f, true, &mut io, &mut out);
            r = out[0];
        }
        if g.nan {
            r = formula::multi_nan(&xs, r);
        }
        r
    }

    /// The partials at one block with their guards: the inputs', and with `P` the parameters'.
    #[inline(always)]
    fn grads<V: Vector<Elem = T>, const P: bool>(
        &self,
        xs: [V; K],
        p: &ParamVectors<V>,
    ) -> MultiGrads<V> {
        let r = self.f.grads_raw_with(xs, p);
        self.grads_guards::<V, P>(xs, p, r)
    }

    /// The partials' guards on one block's `r` (see [`Self::forward_guards`]).
    #[inline(always)]
    fn grads_guards<V: Vector<Elem = T>, const P: bool>(
        &self,
        xs: [V; K],
        p: &ParamVectors<V>,
        mut r: MultiGrads<V>,
    ) -> MultiGrads<V> {
        let outs = K + if P { F::PARAM_NAMES.len() } else { 0 };
        if F::GUARDS.grads.inf {
            let mut nan = r[0].is_nan();
            for v in &r[1..outs] {
                nan = nan | v.is_nan();
            }
            if nan.any() {
                // Through fresh buffers (see `forward_guards`), only the wanted partials (the
                // others, passed too, were computed on every block for nothing: the backward
                // without parameter sums took 1.8x the shared parameters' time).
                let (mut io, mut out) =
                    ((xs, *p), [xs[0]; crate::formula::MAX_INPUTS + MAX_PARAMS]);
                out[..outs].copy_from_slice(&r[..outs]);
                lanes_cold::<F, V, K, P>(self.f, false, &mut io, &mut out);
                r[..outs].copy_from_slice(&out[..outs]);
            }
        }
        self.nan_guards::<V, P>(&xs, r)
    }

    /// The NaN guard of the partials: lanes with a NaN input are NaN.
    #[inline(always)]
    fn nan_guards<V: Vector<Elem = T>, const P: bool>(
        &self,
        xs: &[V; K],
        mut r: MultiGrads<V>,
    ) -> MultiGrads<V> {
        let outs = K + if P { F::PARAM_NAMES.len() } else { 0 };
        if F::GUARDS.grads.nan {
            for v in &mut r[..outs] {
                *v = formula::multi_nan(xs, *v);
            }
        }
        r
    }

    /// The parameter terms `dy·∂f/∂p_k` of one block (offset `j` in its run, `live` lanes)
    /// into the sums: shared parameters into `shared`, per-channel ones into `local`
    /// (channels-first) or straight into `sums[k][j + i]` (channels-last, lane i is channel
    /// j + i).
    #[inline(always)]
    fn add_sums<V: Vector<Elem = T>>(
        &mut self,
        dy: V,
        g: &MultiGrads<V>,
        j: usize,
        live: usize,
        local: &mut ParamSums,
        shared: &mut ParamSums,
    ) {
        let Some(sums) = self.sums.as_deref_mut() else {
            return;
        };
        for (k, s) in sums.iter_mut().enumerate() {
            let gk = g[K + k];
            if self.values[k].is_null() {
                shared.add(k, dy, gk, j, live);
            } else if let Layout::ChannelsFirst { .. } = self.layout {
                local.add(k, dy, gk, j, live);
            } else {
                let (mut a, mut b) = ([T::ZERO; MAX_LANES], [T::ZERO; MAX_LANES]);
                // SAFETY: both buffers hold MAX_LANES ≥ LANES values.
                unsafe {
                    dy.store(a.as_mut_ptr());
                    gk.store(b.as_mut_ptr());
                }
                for i in 0..live {
                    s[j + i] += a[i].to_f64() * b[i].to_f64();
                }
            }
        }
    }
}

/// `live` values from `src` as a vector (the other lanes 0).
///
/// # Safety
/// `src` readable for `live ≤ LANES` values; the CPU supports `V`.
#[inline(always)]
unsafe fn part<V: Vector>(src: *const V::Elem, live: usize) -> V {
    // SAFETY: as the caller promised.
    unsafe { part_or(src, live, V::Elem::ZERO) }
}

/// `live` values from `src` as a vector, the other lanes `fill`.
///
/// # Safety
/// As [`part`].
#[inline(always)]
unsafe fn part_or<V: Vector>(src: *const V::Elem, live: usize, fill: V::Elem) -> V {
    // SAFETY: as the caller promised; the buffer holds MAX_LANES ≥ LANES values.
    unsafe {
        if live == V::LANES {
            V::load(src)
        } else {
            let mut b = [fill; MAX_LANES];
            core::ptr::copy_nonoverlapping(src, b.as_mut_ptr(), live);
            V::load(b.as_ptr())
        }
    }
}

/// The first `live` lanes of `v` into `dst`.
///
/// # Safety
/// `dst` writable for `live ≤ LANES` values; the CPU supports `V`.
#[inline(always)]
unsafe fn put<V: Vector>(v: V, dst: *mut V::Elem, live: usize) {
    // SAFETY: as the caller promised; the buffer holds MAX_LANES ≥ LANES values.
    unsafe {
        if live == V::LANES {
            v.store(dst)
        } else {
            let mut b = [V::Elem::ZERO; MAX_LANES];
            v.store(b.as_mut_ptr());
            core::ptr::copy_nonoverlapping(b.as_ptr(), dst, live);
        }
    }
}

/// The ±inf guard's slow path with per-lane parameters (see `channels::lanes_cold`): each
/// lane with a NaN result is evaluated again on its own, with its parameter values set,
/// through the guarded one-lane path of shared parameters (`formula::multi_forward`, or
/// `multi_grads` whose NaN outputs alone are taken), so it gets the shared path's bits.
#[cold]
#[inline(never)]
fn lanes_cold<F: MultiFormula<K>, V: Vector, const K: usize, const P: bool>(
    f: &F,
    forward: bool,
    io: &mut ([V; K], ParamVectors<V>),
    r: &mut MultiGrads<V>,
) where
    V::Elem: Float,
{
    let np = F::PARAM_NAMES.len();
    let outs = if forward {
        1
    } else {
        K + if P { np } else { 0 }
    };
    let zero = <V::Elem as Element>::ZERO;
    let slots = crate::formula::MAX_INPUTS + MAX_PARAMS;
    let mut xs = [[zero; MAX_LANES]; crate::formula::MAX_INPUTS];
    let mut ps = [[zero; MAX_LANES]; MAX_PARAMS];
    let mut rs = [[zero; MAX_LANES]; crate::formula::MAX_INPUTS + MAX_PARAMS];
    // SAFETY: every buffer holds MAX_LANES ≥ LANES values.
    unsafe {
        for (v, buf) in io.0.iter().zip(&mut xs) {
            v.store(buf.as_mut_ptr());
        }
        for (v, buf) in io.1.iter().zip(&mut ps).take(np) {
            v.store(buf.as_mut_ptr());
        }
        for (v, buf) in r.iter().zip(&mut rs).take(outs.min(slots)) {
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
        let xi: [_; K] = core::array::from_fn(|k| xs[k][i].scalar());
        if forward {
            rs[0][i] = formula::multi_forward(&fc, xi).lane(0);
        } else {
            let g = formula::multi_grads::<F, _, K, P>(&fc, xi);
            for o in 0..outs {
                if rs[o][i].is_nan() {
                    rs[o][i] = g[o].lane(0);
                }
            }
        }
    }
    for o in 0..outs {
        // SAFETY: as above.
        r[o] = unsafe { V::load(rs[o].as_ptr()) };
    }
}

/// Half-precision slices (`half::f16`, `half::bf16`, with the `half` feature), as for one input
/// (see `channels::halves`): through f32 copies of the inputs (widened exactly) and of the
/// outputs (rounded to nearest, ties to even), so the results are the f32 pass's rounded, bit
/// for bit; the checks run before anything is written.
#[cfg(feature = "half")]
mod halves {
    use super::MultiChannelActivation;
    use crate::activation::{check_isa, check_len};
    use crate::channels::halves::wide;
    use crate::channels::{ChannelGrads, Layout, PerChannel};
    use crate::dispatch::Isa;
    use crate::error::Error;
    use crate::formula::MultiFormula;
    use crate::multi::input_len;
    use crate::storage::narrow;

    macro_rules! half_multi_channels {
        ($h:ty) => {
            impl<F: MultiFormula<K>, const K: usize> MultiChannelActivation<$h, K> for F {
                fn try_forward_channels_on(
                    &self,
                    isa: Isa,
                    layout: Layout,
                    per_channel: &PerChannel<'_>,
                    x: [&[$h]; K],
                    y: &mut [$h],
                ) -> Result<(), Error> {
                    let n = input_len(F::INPUT_NAMES, &x)?;
                    check_len(F::INPUT_NAMES[0], n, "y", y.len())?;
                    check_isa(isa)?;
                    let xw = x.map(|x| wide(isa, x));
                    let mut out = vec![0.0f32; n];
                    <F as MultiChannelActivation<f32, K>>::try_forward_channels_on(
                        self,
                        isa,
                        layout,
                        per_channel,
                        core::array::from_fn(|k| &xw[k][..]),
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
                    x: [&[$h]; K],
                    dy: &[$h],
                    dx: [&mut [$h]; K],
                    param_grads: bool,
                ) -> Result<Option<ChannelGrads>, Error> {
                    let n = input_len(F::INPUT_NAMES, &x)?;
                    check_len(F::INPUT_NAMES[0], n, "dy", dy.len())?;
                    for d in &dx {
                        check_len(F::INPUT_NAMES[0], n, "dx", d.len())?;
                    }
                    check_isa(isa)?;
                    let xw = x.map(|x| wide(isa, x));
                    let mut outs: [Vec<f32>; K] = core::array::from_fn(|_| vec![0.0f32; n]);
                    let g = {
                        let mut it = outs.iter_mut();
                        <F as MultiChannelActivation<f32, K>>::try_backward_channels_on(
                            self,
                            isa,
                            layout,
                            per_channel,
                            core::array::from_fn(|k| &xw[k][..]),
                            &wide(isa, dy),
                            core::array::from_fn(|_| &mut it.next().expect("K outputs")[..]),
                            param_grads,
                        )?
                    };
                    for (d, o) in dx.into_iter().zip(&outs) {
                        narrow(isa, o, d);
                    }
                    Ok(g)
                }
            }
        };
    }

    half_multi_channels!(half::f16);
    half_multi_channels!(half::bf16);
}
