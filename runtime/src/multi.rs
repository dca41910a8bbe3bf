//! The slice API of activations with several inputs: gated units such as SwiGLU.
//!
//! A formula whose leading arguments are several inputs (`fn swiglu(gate: f32, up: f32)`)
//! implements [`MultiActivation<T, K>`] for K inputs, instead of [`Activation`](crate::Activation).
//! Inputs go in as an array of K slices, gradients come out as an array of K slices, in the
//! formula's argument order:
//!
//! ```
//! use actigen::{MultiActivation, Swiglu};
//! let (gate, up) = ([1.0f32, -2.0, 0.5], [2.0f32, 1.0, -1.0]);
//! let mut y = [0.0f32; 3];
//! Swiglu.forward([&gate, &up], &mut y);
//! let silu = |g: f32| g / (1.0 + (-g).exp());
//! assert!((y[0] - silu(1.0) * 2.0).abs() < 1e-6);
//!
//! // The fused backward: both input gradients in one pass over gate, up and dy.
//! let (mut d_gate, mut d_up) = ([0.0f32; 3], [0.0f32; 3]);
//! Swiglu.backward([&gate, &up], &[1.0; 3], [&mut d_gate, &mut d_up]);
//! assert!((d_up[0] - silu(1.0)).abs() < 1e-6); // ∂(silu(g)·u)/∂u = silu(g)
//! ```
//!
//! Lengths are checked before anything is written (every input, `dy`, `y` and every gradient
//! have one length). The kernels run the whole formula and all its partial derivatives in one
//! pass: the backward reads each input and `dy` once and writes each gradient once, and the
//! in-place form ([`MultiActivation::backward_in_place`]) writes the gradients over the inputs,
//! so a training step needs no gradient buffers of its own. Parameter gradients are summed as
//! for one input (f64 from the first product, one order on every ISA and thread count).

use crate::activation::{check_isa, check_len, ok_or_panic};
use crate::dispatch::{self, Float, Isa, Storage, try_active_isa};
use crate::driver::{Io, MultiBackward, MultiForward, MultiSecond};
use crate::error::Error;
use crate::formula::{self, MAX_INPUTS, MultiFormula};
use crate::parallel::{self, CHUNK};
use crate::{ActivationInfo, simd::Vector};

/// The names the length errors give the gradient slices.
const DX_NAMES: [&str; MAX_INPUTS] = ["dx[0]", "dx[1]", "dx[2]", "dx[3]"];

/// An activation of K inputs over slices of `T` (`f32`, `f64`, and with the `half` feature
/// `half::f16` and `half::bf16`, computed in f32): forward, the fused backward, parameter
/// gradients. Implemented by every type `#[activation]` generates from a formula with K ≥ 2
/// inputs; see the [module docs](crate::multi).
///
/// Generic code over the input count names K:
///
/// ```
/// use actigen::MultiActivation;
/// fn sum_of_outputs<const K: usize, A: MultiActivation<f32, K>>(act: &A, x: [&[f32]; K]) -> f32 {
///     let mut y = vec![0.0; x[0].len()];
///     act.forward(x, &mut y);
///     y.iter().sum()
/// }
/// let s = sum_of_outputs(&actigen::Reglu, [&[1.0, -1.0][..], &[3.0, 3.0][..]]);
/// assert_eq!(s, 3.0); // relu(1)·3 + relu(−1)·3
/// ```
pub trait MultiActivation<T: Storage, const K: usize>: ActivationInfo {
    /// `y = f(x₀, …)` on a given ISA.
    fn try_forward_on(&self, isa: Isa, x: [&[T]; K], y: &mut [T]) -> Result<(), Error>;
    /// In one pass on a given ISA: `dx[k] = dy · ∂f/∂x_k` for every input, and, when `grads`
    /// is given (one entry per parameter), `grads[j] = Σᵢ dyᵢ · ∂f/∂pⱼ`.
    fn try_backward_on(
        &self,
        isa: Isa,
        x: [&[T]; K],
        dy: &[T],
        dx: [&mut [T]; K],
        grads: Option<&mut [f64]>,
    ) -> Result<(), Error>;
    /// As [`MultiActivation::try_backward_on`], with each gradient written over its input
    /// (`x_dx[k]` holds x_k on entry and dy · ∂f/∂x_k on return).
    fn try_backward_in_place_on(
        &self,
        isa: Isa,
        x_dx: [&mut [T]; K],
        dy: &[T],
        grads: Option<&mut [f64]>,
    ) -> Result<(), Error>;
    /// `Σᵢ dyᵢ · ∂f/∂pⱼ` for each parameter `j` on a given ISA, without the input gradients.
    fn try_param_grads_on(&self, isa: Isa, x: [&[T]; K], dy: &[T]) -> Result<Vec<f64>, Error>;
    /// On a given ISA: `out[j] = dy · Σ_k v[k] · ∂²f/∂x_k∂x_j` for every input j, in one pass:
    /// each element's Hessian of f (in the inputs) applied to `v`, times `dy`. This is the
    /// double backward of [`MultiActivation::try_backward_on`]: for its `dx[k] = dy·∂f/∂x_k`,
    /// the gradient of `Σ_k v[k]·dx[k]` with respect to `x[j]` (its gradient with respect to
    /// `dy` is `Σ_k v[k]·∂f/∂x_k`, a plain backward). The second partials are the macro's
    /// (see the type's docs), with the same guards as the other passes.
    ///
    /// Not callable on `dyn` activations (`multi_by_name`'s): their vtables would compile these
    /// kernels for every ISA and slice type of every built-in gated unit into every build.
    fn try_grad2_on(
        &self,
        isa: Isa,
        x: [&[T]; K],
        dy: &[T],
        v: [&[T]; K],
        out: [&mut [T]; K],
    ) -> Result<(), Error>
    where
        Self: Sized;
    /// The second partials at one point: `h[i][j] = ∂²f/∂x_i∂x_j` (symmetric; one lane, as
    /// [`MultiActivation::value`]).
    ///
    /// ```
    /// use actigen::{MultiActivation, Reglu};
    /// // relu(g)·u: ∂²/∂g∂u = [g > 0], the rest 0.
    /// assert_eq!(Reglu.hessian([2.0f32, 3.0]), [[0.0, 1.0], [1.0, 0.0]]);
    /// ```
    ///
    /// Not callable on `dyn` activations, as [`MultiActivation::try_grad2_on`].
    fn hessian(&self, x: [T; K]) -> [[T; K]; K]
    where
        Self: Sized;
    /// f at one point (one lane, with a fused `mul_add` on every target).
    ///
    /// ```
    /// use actigen::{MultiActivation, Reglu};
    /// assert_eq!(Reglu.value([2.0f32, 3.0]), 6.0);
    /// assert_eq!(Reglu.gradient([2.0f32, 3.0]), [3.0, 2.0]);
    /// ```
    fn value(&self, x: [T; K]) -> T;
    /// The partial derivatives with respect to the inputs at one point.
    fn gradient(&self, x: [T; K]) -> [T; K];

    /// `y = f(x₀, …)`; an error if the lengths differ (nothing is written).
    fn try_forward(&self, x: [&[T]; K], y: &mut [T]) -> Result<(), Error> {
        self.try_forward_on(try_active_isa()?, x, y)
    }
    /// `y = f(x₀, …)`.
    ///
    /// # Panics
    /// If the lengths differ (nothing is written), or if `ACTIGEN_ISA` is invalid.
    #[track_caller]
    fn forward(&self, x: [&[T]; K], y: &mut [T]) {
        ok_or_panic(self.try_forward(x, y))
    }
    /// `out[j] = dy · Σ_k v[k] · ∂²f/∂x_k∂x_j` (see [`MultiActivation::try_grad2_on`]); an
    /// error if the lengths differ (nothing is written).
    fn try_grad2(
        &self,
        x: [&[T]; K],
        dy: &[T],
        v: [&[T]; K],
        out: [&mut [T]; K],
    ) -> Result<(), Error>
    where
        Self: Sized,
    {
        self.try_grad2_on(try_active_isa()?, x, dy, v, out)
    }
    /// `out[j] = dy · Σ_k v[k] · ∂²f/∂x_k∂x_j`: the double backward (see
    /// [`MultiActivation::try_grad2_on`]).
    ///
    /// # Panics
    /// If the lengths differ (nothing is written), or if `ACTIGEN_ISA` is invalid.
    ///
    /// ```
    /// use actigen::{MultiActivation, Swiglu};
    /// // silu(g)·u: ∂²/∂u² = 0, so v = (0, 1) gives (∂²/∂g∂u, 0) = (silu′(g), 0).
    /// let (g, u) = ([0.5f32], [2.0f32]);
    /// let (mut og, mut ou) = ([0.0f32], [0.0f32]);
    /// Swiglu.grad2([&g, &u], &[1.0], [&[0.0], &[1.0]], [&mut og, &mut ou]);
    /// let s = 1.0 / (1.0 + (-0.5f32).exp());
    /// assert!((og[0] - (s + 0.5 * s * (1.0 - s))).abs() < 1e-6);
    /// assert_eq!(ou[0], 0.0);
    /// ```
    #[track_caller]
    fn grad2(&self, x: [&[T]; K], dy: &[T], v: [&[T]; K], out: [&mut [T]; K])
    where
        Self: Sized,
    {
        ok_or_panic(self.try_grad2(x, dy, v, out))
    }
    /// `dx[k] = dy · ∂f/∂x_k` for every input, in one pass; an error if the lengths differ.
    fn try_backward(&self, x: [&[T]; K], dy: &[T], dx: [&mut [T]; K]) -> Result<(), Error> {
        self.try_backward_on(try_active_isa()?, x, dy, dx, None)
    }
    /// `dx[k] = dy · ∂f/∂x_k` for every input, in one pass.
    ///
    /// # Panics
    /// If the lengths differ (nothing is written), or if `ACTIGEN_ISA` is invalid.
    #[track_caller]
    fn backward(&self, x: [&[T]; K], dy: &[T], dx: [&mut [T]; K]) {
        ok_or_panic(self.try_backward(x, dy, dx))
    }
    /// The input gradients and the parameter gradients (`grads`, one per parameter) in one
    /// pass; an error if the lengths differ.
    ///
    /// ```
    /// use actigen::{MultiActivation, SwigluOai};
    /// let act = SwigluOai::default(); // gpt-oss: alpha = 1.702, limit = 7
    /// let (gate, up, dy) = ([0.5f32, 9.0], [1.0f32, -8.0], [1.0f32, 1.0]);
    /// let (mut dg, mut du, mut grads) = ([0.0f32; 2], [0.0f32; 2], [0.0f64; 2]);
    /// act.try_backward_with_param_grads([&gate, &up], &dy, [&mut dg, &mut du], &mut grads)
    ///     .unwrap();
    /// assert_eq!((dg[1], du[1]), (0.0, 0.0)); // both clamped at 9 and −8: no gradient
    /// ```
    fn try_backward_with_param_grads(
        &self,
        x: [&[T]; K],
        dy: &[T],
        dx: [&mut [T]; K],
        grads: &mut [f64],
    ) -> Result<(), Error> {
        self.try_backward_on(try_active_isa()?, x, dy, dx, Some(grads))
    }
    /// The input gradients written over the inputs, in one pass; an error if the lengths
    /// differ (nothing is written).
    fn try_backward_in_place(&self, x_dx: [&mut [T]; K], dy: &[T]) -> Result<(), Error> {
        self.try_backward_in_place_on(try_active_isa()?, x_dx, dy, None)
    }
    /// The input gradients written over the inputs, in one pass (Liger-Kernel's memory
    /// saving: the inputs are not needed after the backward).
    ///
    /// # Panics
    /// If the lengths differ (nothing is written), or if `ACTIGEN_ISA` is invalid.
    ///
    /// ```
    /// use actigen::{MultiActivation, Reglu};
    /// let (mut gate, mut up) = ([2.0f64, -1.0], [3.0f64, 5.0]);
    /// Reglu.backward_in_place([&mut gate, &mut up], &[1.0, 1.0]);
    /// assert_eq!((gate, up), ([3.0, 0.0], [2.0, 0.0])); // ∂/∂gate = up·[gate > 0], ∂/∂up = relu(gate)
    /// ```
    #[track_caller]
    fn backward_in_place(&self, x_dx: [&mut [T]; K], dy: &[T]) {
        ok_or_panic(self.try_backward_in_place(x_dx, dy))
    }
    /// [`MultiActivation::backward_in_place`] with the parameter gradients (`grads`, one per
    /// parameter); an error if the lengths differ (nothing is written).
    fn try_backward_in_place_with_param_grads(
        &self,
        x_dx: [&mut [T]; K],
        dy: &[T],
        grads: &mut [f64],
    ) -> Result<(), Error> {
        self.try_backward_in_place_on(try_active_isa()?, x_dx, dy, Some(grads))
    }
    /// `Σᵢ dyᵢ · ∂f/∂pⱼ` for each parameter `j`; an error if the lengths differ.
    fn try_param_grads(&self, x: [&[T]; K], dy: &[T]) -> Result<Vec<f64>, Error> {
        self.try_param_grads_on(try_active_isa()?, x, dy)
    }
    /// `Σᵢ dyᵢ · ∂f/∂pⱼ` for each parameter `j`, in declaration order.
    ///
    /// # Panics
    /// If the lengths differ, or if `ACTIGEN_ISA` is invalid.
    #[track_caller]
    fn param_grads(&self, x: [&[T]; K], dy: &[T]) -> Vec<f64> {
        match self.try_param_grads(x, dy) {
            Ok(g) => g,
            Err(e) => panic!("actigen: {e}"),
        }
    }
}

/// The common length of the inputs, or the error naming the first that differs.
pub(crate) fn input_len<S, const K: usize>(
    names: [&'static str; K],
    x: &[&[S]; K],
) -> Result<usize, Error> {
    let n = x[0].len();
    for k in 1..K {
        check_len(names[0], n, names[k], x[k].len())?;
    }
    Ok(n)
}

/// `y = f(x₀, …)` after the length and ISA checks (nothing is written on error).
fn run_forward<F: MultiFormula<K>, S: Io, const K: usize>(
    f: &F,
    isa: Isa,
    x: [&[S]; K],
    y: &mut [S],
) -> Result<(), Error> {
    let n = input_len(F::INPUT_NAMES, &x)?;
    check_len(F::INPUT_NAMES[0], n, "y", y.len())?;
    check_isa(isa)?;
    parallel::chunks(n, [y], &mut [], &|start, [y], _| {
        let job = MultiForward {
            f,
            x: x.map(|x| x[start..].as_ptr()),
            y: y.as_mut_ptr(),
            n: y.len(),
        };
        // SAFETY: ISA checked above; every input holds n elements, so each is readable for
        // the chunk's y.len() elements from `start`; y is the chunk's own piece.
        unsafe { dispatch::run(isa, job) }
    });
    Ok(())
}

/// Where the backward's input gradients go.
enum Gradients<'a, S, const K: usize> {
    /// Not computed (parameter gradients only).
    None,
    /// Into their own slices.
    Into([&'a mut [S]; K]),
    /// Over the inputs, which these slices hold on entry.
    OverInputs([&'a mut [S]; K]),
}

/// The backward's length checks (nothing is written on error): the common length n.
fn check_backward<F: MultiFormula<K>, S, const K: usize>(
    x: &[&[S]; K],
    dy: &[S],
    dx: &Gradients<'_, S, K>,
    grads: Option<&[f64]>,
) -> Result<usize, Error> {
    let names = F::INPUT_NAMES;
    let n = match dx {
        Gradients::OverInputs(xd) => {
            for k in 1..K {
                check_len(names[0], xd[0].len(), names[k], xd[k].len())?;
            }
            xd[0].len()
        }
        Gradients::None | Gradients::Into(_) => input_len(names, x)?,
    };
    check_len(names[0], n, "dy", dy.len())?;
    if let Gradients::Into(d) = dx {
        for k in 0..K {
            check_len(names[0], n, DX_NAMES[k], d[k].len())?;
        }
    }
    if let Some(g) = grads {
        check_len("params", F::PARAM_NAMES.len(), "grads", g.len())?;
    }
    Ok(n)
}

/// The fused backward after the length and ISA checks (nothing is written on error): the
/// input gradients as `dx` says, the parameter gradients into `grads` when given. `x` is
/// ignored for [`Gradients::OverInputs`].
fn run_backward<F: MultiFormula<K>, S: Io, const K: usize>(
    f: &F,
    isa: Isa,
    x: [&[S]; K],
    dy: &[S],
    dx: Gradients<'_, S, K>,
    grads: Option<&mut [f64]>,
) -> Result<(), Error> {
    let n = check_backward::<F, S, K>(&x, dy, &dx, grads.as_deref())?;
    let mut no_grads = [];
    let sums = grads.unwrap_or(&mut no_grads[..]);
    check_isa(isa)?;
    sums.fill(0.0);
    let len = |start: usize| CHUNK.min(n - start);
    // SAFETY (the three `dispatch::run` calls): ISA checked above; every slice holds n
    // elements (checked above), so each is valid for the chunk's `len(start)` elements from
    // `start`, and the output pieces are the chunk's own; in place, the driver reads each
    // block of every input before it writes that block's gradients.
    match dx {
        Gradients::None => parallel::chunks::<S, 0>(n, [], sums, &|start, [], sums| {
            let job = MultiBackward::<F, S, K> {
                f,
                x: x.map(|x| x[start..].as_ptr()),
                dy: dy[start..].as_ptr(),
                dx: None,
                n: len(start),
                sums,
            };
            unsafe { dispatch::run(isa, job) }
        }),
        Gradients::Into(d) => parallel::chunks(n, d, sums, &|start, d, sums| {
            let job = MultiBackward {
                f,
                x: x.map(|x| x[start..].as_ptr()),
                dy: dy[start..].as_ptr(),
                dx: Some(d.map(|d| d.as_mut_ptr())),
                n: len(start),
                sums,
            };
            unsafe { dispatch::run(isa, job) }
        }),
        Gradients::OverInputs(xd) => parallel::chunks(n, xd, sums, &|start, xd, sums| {
            let p = xd.map(|d| d.as_mut_ptr());
            let job = MultiBackward {
                f,
                x: p.map(|p| p.cast_const()),
                dy: dy[start..].as_ptr(),
                dx: Some(p),
                n: len(start),
                sums,
            };
            unsafe { dispatch::run(isa, job) }
        }),
    }
    Ok(())
}

/// The names the length errors give `grad2`'s `v` and `out` slices.
const V_NAMES: [&str; MAX_INPUTS] = ["v[0]", "v[1]", "v[2]", "v[3]"];
const OUT_NAMES: [&str; MAX_INPUTS] = ["out[0]", "out[1]", "out[2]", "out[3]"];

/// `out[j] = dy · Σ_k v[k] · ∂²f/∂x_k∂x_j` after the length and ISA checks (nothing is written
/// on error).
fn run_second<F: MultiFormula<K>, S: Io, const K: usize>(
    f: &F,
    isa: Isa,
    x: [&[S]; K],
    dy: &[S],
    v: [&[S]; K],
    out: [&mut [S]; K],
) -> Result<(), Error> {
    let n = input_len(F::INPUT_NAMES, &x)?;
    let first = F::INPUT_NAMES[0];
    check_len(first, n, "dy", dy.len())?;
    for k in 0..K {
        check_len(first, n, V_NAMES[k], v[k].len())?;
    }
    for k in 0..K {
        check_len(first, n, OUT_NAMES[k], out[k].len())?;
    }
    check_isa(isa)?;
    parallel::chunks(n, out, &mut [], &|start, out, _| {
        let len = out[0].len();
        let job = MultiSecond {
            f,
            x: x.map(|x| x[start..].as_ptr()),
            dy: dy[start..].as_ptr(),
            v: v.map(|v| v[start..].as_ptr()),
            out: out.map(|o| o.as_mut_ptr()),
            n: len,
        };
        // SAFETY: ISA checked above; every input, dy and every v hold n elements, so each is
        // readable for the chunk's `len` elements from `start`; the outputs are the chunk's
        // own pieces, which no input overlaps (shared and exclusive borrows).
        unsafe { dispatch::run(isa, job) }
    });
    Ok(())
}

/// `[x₀, …]` as one-lane vectors of the compute type.
fn scalars<S: Storage, const K: usize>(x: [S; K]) -> [<S::Compute as Float>::Scalar; K] {
    x.map(|v| v.to_compute().scalar())
}

/// The trait's methods, for one storage type `$t` (with the generic parameters `$($g)*`).
macro_rules! multi_activation {
    ([$($g:tt)*] $t:ty) => {
        impl<F: MultiFormula<K>, $($g)* const K: usize> MultiActivation<$t, K> for F
        where
            F: ActivationInfo,
        {
            fn try_forward_on(&self, isa: Isa, x: [&[$t]; K], y: &mut [$t]) -> Result<(), Error> {
                run_forward(self, isa, x, y)
            }
            fn try_backward_on(
                &self,
                isa: Isa,
                x: [&[$t]; K],
                dy: &[$t],
                dx: [&mut [$t]; K],
                grads: Option<&mut [f64]>,
            ) -> Result<(), Error> {
                run_backward(self, isa, x, dy, Gradients::Into(dx), grads)
            }
            fn try_backward_in_place_on(
                &self,
                isa: Isa,
                x_dx: [&mut [$t]; K],
                dy: &[$t],
                grads: Option<&mut [f64]>,
            ) -> Result<(), Error> {
                let none: [&[$t]; K] = [&[]; K];
                run_backward(self, isa, none, dy, Gradients::OverInputs(x_dx), grads)
            }
            fn try_param_grads_on(
                &self,
                isa: Isa,
                x: [&[$t]; K],
                dy: &[$t],
            ) -> Result<Vec<f64>, Error> {
                let mut g = vec![0.0; F::PARAM_NAMES.len()];
                run_backward(self, isa, x, dy, Gradients::None, Some(&mut g))?;
                Ok(g)
            }
            fn try_grad2_on(
                &self,
                isa: Isa,
                x: [&[$t]; K],
                dy: &[$t],
                v: [&[$t]; K],
                out: [&mut [$t]; K],
            ) -> Result<(), Error> {
                run_second(self, isa, x, dy, v, out)
            }
            fn hessian(&self, x: [$t; K]) -> [[$t; K]; K] {
                let h = formula::multi_second(self, scalars(x));
                let mut out = [[x[0]; K]; K];
                for (i, row) in out.iter_mut().enumerate() {
                    for (j, o) in row.iter_mut().enumerate() {
                        *o = <$t>::from_compute(h[formula::second_index(K, i, j)].lane(0));
                    }
                }
                out
            }
            fn value(&self, x: [$t; K]) -> $t {
                <$t>::from_compute(formula::multi_forward(self, scalars(x)).lane(0))
            }
            fn gradient(&self, x: [$t; K]) -> [$t; K] {
                let g = formula::multi_grads::<F, _, K, false>(self, scalars(x));
                let mut out = [x[0]; K];
                for k in 0..K {
                    out[k] = <$t>::from_compute(g[k].lane(0));
                }
                out
            }
        }
    };
}

multi_activation!([T: Float,] T);
// The half types run the f32 kernels with half loads and stores (`crate::driver::Io`), as the
// one-input forward and backward do: a training step's passes. Through f32 blocks instead (as
// the one-input `grad2` does), bf16 SwiGLU on AVX-512 took 1.16–1.18× as long and f16 1.29×
// (`bench --acts swiglu --dtype f16,bf16`), for 7 fewer kernel copies per unit in the build.
#[cfg(feature = "half")]
multi_activation!([] half::f16);
#[cfg(feature = "half")]
multi_activation!([] half::bf16);
