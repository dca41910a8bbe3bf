//! The slice API every generated activation implements.
//!
//! Lengths are checked before anything is written: a mismatch is an [`Error`] from the `try_`
//! methods, and a panic (with the same message) from the others. Kernels run on
//! [`active_isa`](crate::active_isa) unless an `_on` method names the ISA.

use crate::dispatch::Storage;
use crate::dispatch::{self, Float, Isa, IsaError, try_active_isa};
use crate::driver::{
    BackwardFused, BackwardPass, Forward, FromOutputPass, Grad2Pass, Io, Pair, PairKernel,
    ParamPartials,
};
use crate::error::Error;
use crate::formula::{self, Formula};
use crate::parallel;
use core::fmt;

pub(crate) fn check_len(
    expected_name: &'static str,
    expected: usize,
    found_name: &'static str,
    found: usize,
) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::Length {
            expected_name,
            expected,
            found_name,
            found,
        })
    }
}

pub(crate) fn check_isa(isa: Isa) -> Result<(), Error> {
    if isa.is_supported() {
        Ok(())
    } else {
        Err(IsaError::Unsupported(isa).into())
    }
}

/// Runs the two-input pass `out = K(a, b)` on `isa`.
///
/// # Safety
/// `isa` supported; `a`, `b` readable and `out` writable for `n` elements. `out` may equal `a`
/// or `b`: the driver reads each block of both inputs before it writes that block.
unsafe fn pair_raw<F: Formula, S: Io, K: PairKernel>(
    f: &F,
    isa: Isa,
    a: *const S,
    b: *const S,
    out: *mut S,
    n: usize,
) {
    let job = Pair::<F, S, K> {
        f,
        a,
        b,
        out,
        n,
        kernel: core::marker::PhantomData,
    };
    // SAFETY: as the caller promised.
    unsafe { dispatch::run(isa, job) };
}

/// A two-input pass `out = K(a, dy)` after the length and ISA checks (nothing is written on
/// error).
fn run_pair<F: Formula, S: Io, K: PairKernel>(
    f: &F,
    isa: Isa,
    (a_name, a): (&'static str, &[S]),
    dy: &[S],
    (out_name, out): (&'static str, &mut [S]),
) -> Result<(), Error> {
    check_len(a_name, a.len(), "dy", dy.len())?;
    check_len(a_name, a.len(), out_name, out.len())?;
    check_isa(isa)?;
    parallel::each3(a, dy, out, &|a, dy, out| {
        // SAFETY: ISA checked above; the three (sub)slices are valid for a.len() elements.
        unsafe { pair_raw::<F, S, K>(f, isa, a.as_ptr(), dy.as_ptr(), out.as_mut_ptr(), a.len()) }
    });
    Ok(())
}

/// `y = f(x)` after the length and ISA checks (nothing is written on error).
fn run_forward<F: Formula, S: Io>(f: &F, isa: Isa, x: &[S], y: &mut [S]) -> Result<(), Error> {
    check_len("x", x.len(), "y", y.len())?;
    check_isa(isa)?;
    parallel::each2(x, y, &|x, y| {
        let job = Forward {
            f,
            x: x.as_ptr(),
            y: y.as_mut_ptr(),
            n: x.len(),
        };
        // SAFETY: ISA checked above; x and y valid for n elements.
        unsafe { dispatch::run(isa, job) }
    });
    Ok(())
}

/// `xy = f(xy)` after the ISA check.
fn run_forward_in_place<F: Formula, S: Io>(f: &F, isa: Isa, xy: &mut [S]) -> Result<(), Error> {
    check_isa(isa)?;
    parallel::each1(xy, &|xy| {
        let p = xy.as_mut_ptr();
        let job = Forward {
            f,
            x: p,
            y: p,
            n: xy.len(),
        };
        // SAFETY: ISA checked above; `p` valid for n reads and writes, and the driver reads
        // each block before writing it.
        unsafe { dispatch::run(isa, job) }
    });
    Ok(())
}

/// Which input of a two-input pass the output is written over.
#[derive(Clone, Copy)]
enum Over {
    /// The first (x, or y for the output-based form).
    A,
    /// The second (dy).
    Dy,
}

/// A two-input pass whose output is written over one of its inputs: `over` says which, and
/// `inout` is that input; `other` is the other one.
fn run_pair_in_place<F: Formula, S: Io, K: PairKernel>(
    f: &F,
    isa: Isa,
    over: Over,
    (inout_name, inout): (&'static str, &mut [S]),
    (other_name, other): (&'static str, &[S]),
) -> Result<(), Error> {
    check_len(inout_name, inout.len(), other_name, other.len())?;
    check_isa(isa)?;
    parallel::each2(other, inout, &|other, inout| {
        let (p, q, n) = (inout.as_mut_ptr(), other.as_ptr(), inout.len());
        let (a, b) = match over {
            Over::A => (p.cast_const(), q),
            Over::Dy => (q, p.cast_const()),
        };
        // SAFETY: ISA checked above; both (sub)slices valid for n elements; the output is
        // `inout` itself, which the driver reads block by block before writing (`pair_raw`).
        unsafe { pair_raw::<F, S, K>(f, isa, a, b, p, n) }
    });
    Ok(())
}

/// Every parameter of `f` within its declared range.
pub(crate) fn check_ranges<F: Formula>(f: &F) -> Result<(), Error> {
    for (i, &(lo, hi)) in F::PARAM_RANGES.iter().enumerate() {
        let v = f.param_at(i) as f64;
        if !(lo <= v && v < hi) {
            return Err(Error::ParamOutOfRange {
                param: F::PARAM_NAMES[i].to_string(),
                value: v,
                lo,
                hi,
            });
        }
    }
    Ok(())
}

/// The output-based backward applies: `f` has the form, and its parameters are in range.
pub(crate) fn check_from_output<F: Formula>(f: &F) -> Result<(), Error> {
    if F::FROM_OUTPUT.is_none() {
        return Err(Error::NoBackwardFromOutput {
            activation: F::NAME,
        });
    }
    check_ranges(f)
}

#[track_caller]
pub(crate) fn ok_or_panic(r: Result<(), Error>) {
    if let Err(e) = r {
        panic!("actigen: {e}");
    }
}

/// An activation's name and parameters, the same for every element type: read and set by
/// name. A supertrait of [`Activation`], so `act.name()` and `act.params()` need no type
/// annotation, on a concrete activation and on a boxed [`DynActivation`](crate::DynActivation)
/// alike.
///
/// ```
/// use actigen::{ActivationInfo, Swish, by_name};
/// let mut act = by_name("leaky", &[]).unwrap();
/// assert_eq!((act.name(), act.param_names()), ("leaky", &["alpha"][..]));
/// act.set_param("alpha", 0.1).unwrap();
/// assert_eq!(act.param("alpha"), Some(0.1));
/// assert!(act.set_param("alpha", f64::NAN).is_err()); // nothing changed
/// assert!(act.set_param("beta", 1.0).is_err());
/// assert_eq!(act.params(), vec![0.1]);
/// assert_eq!(Swish::default().params(), vec![1.0]);
/// ```
pub trait ActivationInfo: Send + Sync + fmt::Debug {
    /// The activation's name (its formula function's name).
    fn name(&self) -> &'static str;
    /// The inputs' names, in argument order: one for an [`Activation`], K for a
    /// [`MultiActivation`](crate::MultiActivation).
    fn input_names(&self) -> Vec<&'static str>;
    /// Parameter names, in declaration order.
    fn param_names(&self) -> &'static [&'static str];
    /// Current parameter values, in declaration order.
    fn params(&self) -> Vec<f32>;
    /// The parameter called `name`, if there is one.
    fn param(&self, name: &str) -> Option<f32>;
    /// Sets the parameter called `name` to `value` rounded to f32: an error, with nothing
    /// changed, if there is no such parameter ([`Error::UnknownParam`]), the value is not
    /// finite in f32 ([`Error::NonFiniteParam`]) or outside the parameter's declared range
    /// ([`Error::ParamOutOfRange`]).
    fn set_param(&mut self, name: &str, value: f64) -> Result<(), Error>;
}

impl<F: Formula> ActivationInfo for F {
    fn name(&self) -> &'static str {
        F::NAME
    }
    fn input_names(&self) -> Vec<&'static str> {
        vec![F::INPUT_NAME]
    }
    fn param_names(&self) -> &'static [&'static str] {
        F::PARAM_NAMES
    }
    fn params(&self) -> Vec<f32> {
        (0..F::PARAM_NAMES.len())
            .map(|i| self.param_at(i))
            .collect()
    }
    fn param(&self, name: &str) -> Option<f32> {
        let i = F::PARAM_NAMES.iter().position(|p| *p == name)?;
        Some(self.param_at(i))
    }
    fn set_param(&mut self, name: &str, value: f64) -> Result<(), Error> {
        let (i, v) = checked_param(F::NAME, F::PARAM_NAMES, F::PARAM_RANGES, name, value)?;
        self.set_param_at(i, v);
        Ok(())
    }
}

/// [`ActivationInfo::set_param`]'s checks, shared by every activation (the K-input ones'
/// `ActivationInfo` is generated): the index of the parameter called `name` and `value`
/// rounded to f32, or the error.
pub fn checked_param(
    activation: &'static str,
    names: &'static [&'static str],
    ranges: &[(f64, f64)],
    name: &str,
    value: f64,
) -> Result<(usize, f32), Error> {
    let i = names
        .iter()
        .position(|p| *p == name)
        .ok_or_else(|| Error::UnknownParam {
            activation,
            param: name.to_string(),
            accepted: names,
        })?;
    let v = value as f32;
    if !value.is_finite() || !v.is_finite() {
        return Err(Error::NonFiniteParam {
            param: name.to_string(),
            value,
        });
    }
    let (lo, hi) = ranges[i];
    if !(lo <= f64::from(v) && f64::from(v) < hi) {
        return Err(Error::ParamOutOfRange {
            param: name.to_string(),
            value: f64::from(v),
            lo,
            hi,
        });
    }
    Ok((i, v))
}

/// An activation over slices of `T` (`f32`, `f64`, and with the `half` feature `half::f16`
/// and `half::bf16`: see [`Storage`]): forward, backward, parameter gradients.
///
/// Implemented by every type `#[activation]` generates. Half-precision slices are computed in
/// f32: each result is the half-precision rounding of the f32 kernel's. Parameter gradients are
/// summed in `f64` from the first product (`dy·∂f/∂p` formed in f64), in one fixed order on
/// every ISA: the sums are bit-identical across ISAs, long slices (10⁷ elements) keep their
/// accuracy, and no partial sum overflows where the total is finite.
pub trait Activation<T: Storage>: ActivationInfo {
    /// `y = f(x)` on a given ISA.
    ///
    /// ```
    /// use actigen::{Activation, Isa, Tanh};
    /// // Every ISA this CPU supports gives the same result within 1 ULP (here: exactly).
    /// let x = [0.5f32; 20];
    /// for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
    ///     let mut y = [0.0f32; 20];
    ///     Tanh.try_forward_on(isa, &x, &mut y).unwrap();
    ///     assert!((y[7] - 0.5f32.tanh()).abs() <= f32::EPSILON);
    /// }
    /// ```
    fn try_forward_on(&self, isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error>;
    /// `xy = f(xy)` on a given ISA.
    fn try_forward_in_place_on(&self, isa: Isa, xy: &mut [T]) -> Result<(), Error>;
    /// `dx = dy · f′(x)` on a given ISA.
    fn try_backward_on(&self, isa: Isa, x: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error>;
    /// `dy_dx = dy · f′(x)`, written over `dy` (frameworks reuse gradient buffers), on a given
    /// ISA.
    fn try_backward_in_place_on(&self, isa: Isa, x: &[T], dy_dx: &mut [T]) -> Result<(), Error>;
    /// `y_dx = dy · f′` computed from the output `y = f(x)` and written over `y`, on a given ISA
    /// (errors as [`Activation::try_backward_from_output_on`]).
    fn try_backward_from_output_in_place_on(
        &self,
        isa: Isa,
        y_dx: &mut [T],
        dy: &[T],
    ) -> Result<(), Error>;
    /// In one pass: `dx = dy · f′(x)` when `dx` is given, and `grads[j] = Σᵢ dyᵢ · ∂f/∂pⱼ(xᵢ)`.
    /// `grads` must have one entry per parameter.
    fn try_backward_fused_on(
        &self,
        isa: Isa,
        x: &[T],
        dy: &[T],
        dx: Option<&mut [T]>,
        grads: &mut [f64],
    ) -> Result<(), Error>;
    /// Per-element partial derivatives: `out[j·n + i] = ∂f/∂pⱼ(x[i])`, `out.len() = n · params`.
    ///
    /// ```
    /// use actigen::{Activation, Prelu, active_isa};
    /// let mut out = [0.0f32; 3];
    /// Prelu::default().try_param_partials_on(active_isa(), &[-2.0, 0.0, 3.0], &mut out).unwrap();
    /// assert_eq!(out, [-2.0, 0.0, 0.0]); // ∂(αx)/∂α = x where x ≤ 0
    /// ```
    fn try_param_partials_on(&self, isa: Isa, x: &[T], out: &mut [T]) -> Result<(), Error>;
    /// `out = dy · f″(x)` (double backward: gradient penalties, physics-informed networks) on a
    /// given ISA.
    fn try_grad2_on(&self, isa: Isa, x: &[T], dy: &[T], out: &mut [T]) -> Result<(), Error>;
    /// `dx = dy · f′` computed from the output `y = f(x)` on a given ISA; an error if the
    /// activation has no such form (see `Formula::FROM_OUTPUT`) or a parameter is outside its
    /// declared range (the form relies on it).
    fn try_backward_from_output_on(
        &self,
        isa: Isa,
        y: &[T],
        dy: &[T],
        dx: &mut [T],
    ) -> Result<(), Error>;
    /// f(x) for one value (one lane, with a fused `mul_add` on every target).
    ///
    /// ```
    /// use actigen::{Activation, Sigmoid};
    /// assert_eq!(Sigmoid.value(0.0f64), 0.5);
    /// assert!((Sigmoid.derivative(0.0f32) - 0.25).abs() < 1e-7);
    /// assert!(Sigmoid.second_derivative(0.0f64).abs() < 1e-15); // σ″(0) = 0
    /// ```
    fn value(&self, x: T) -> T;
    /// f′(x) for one value (one lane, with a fused `mul_add` on every target).
    fn derivative(&self, x: T) -> T;
    /// f″(x) for one value (one lane, with a fused `mul_add` on every target).
    fn second_derivative(&self, x: T) -> T;

    /// `out = dy · f″(x)`; an error if the lengths differ.
    fn try_grad2(&self, x: &[T], dy: &[T], out: &mut [T]) -> Result<(), Error> {
        self.try_grad2_on(try_active_isa()?, x, dy, out)
    }
    /// `out = dy · f″(x)`.
    ///
    /// # Panics
    /// If the three lengths differ (nothing is written), or if `ACTIGEN_ISA` is invalid.
    ///
    /// ```
    /// use actigen::{Activation, Softrelu};
    /// // softplus″(x) = σ(x)·σ(−x): 1/4 at 0.
    /// let mut out = [0.0f64; 1];
    /// Softrelu.grad2(&[0.0], &[2.0], &mut out);
    /// assert!((out[0] - 0.5).abs() < 1e-15);
    /// ```
    #[track_caller]
    fn grad2(&self, x: &[T], dy: &[T], out: &mut [T]) {
        ok_or_panic(self.try_grad2(x, dy, out))
    }

    /// `y = f(x)`; an error if the lengths differ.
    fn try_forward(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        self.try_forward_on(try_active_isa()?, x, y)
    }
    /// `y = f(x)`.
    ///
    /// # Panics
    /// If `x.len() != y.len()` (nothing is written), or if `ACTIGEN_ISA` is invalid.
    ///
    /// ```
    /// use actigen::{Activation, Relu};
    /// let mut y = [0.0f32; 3];
    /// Relu.forward(&[-1.0, 0.5, f32::NAN], &mut y);
    /// assert_eq!(y[..2], [0.0, 0.5]);
    /// assert!(y[2].is_nan()); // NaN in, NaN out
    /// ```
    #[track_caller]
    fn forward(&self, x: &[T], y: &mut [T]) {
        ok_or_panic(self.try_forward(x, y))
    }
    /// `xy = f(xy)`.
    ///
    /// # Panics
    /// If `ACTIGEN_ISA` is invalid.
    ///
    /// ```
    /// use actigen::{Activation, Softsign};
    /// let mut xy = [3.0f64, -1.0, f64::INFINITY];
    /// Softsign.forward_in_place(&mut xy);
    /// assert_eq!(xy, [0.75, -0.5, 1.0]); // the limit at +inf, not inf/inf
    /// ```
    #[track_caller]
    fn forward_in_place(&self, xy: &mut [T]) {
        ok_or_panic(
            try_active_isa()
                .map_err(Error::from)
                .and_then(|isa| self.try_forward_in_place_on(isa, xy)),
        )
    }
    /// `dx = dy · f′(x)`; an error if the lengths differ.
    fn try_backward(&self, x: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        self.try_backward_on(try_active_isa()?, x, dy, dx)
    }
    /// `dx = dy · f′(x)`.
    ///
    /// # Panics
    /// If the three lengths differ (nothing is written), or if `ACTIGEN_ISA` is invalid.
    ///
    /// ```
    /// use actigen::{Activation, Elu};
    /// let mut dx = [0.0f64; 2];
    /// Elu::default().backward(&[-1.0, 2.0], &[1.0, 3.0], &mut dx);
    /// assert!((dx[0] - (-1.0f64).exp()).abs() < 1e-15); // elu′(x) = eˣ for x ≤ 0
    /// assert_eq!(dx[1], 3.0);
    /// ```
    #[track_caller]
    fn backward(&self, x: &[T], dy: &[T], dx: &mut [T]) {
        ok_or_panic(self.try_backward(x, dy, dx))
    }
    /// `dy_dx = dy · f′(x)`, written over `dy`; an error if the lengths differ.
    fn try_backward_in_place(&self, x: &[T], dy_dx: &mut [T]) -> Result<(), Error> {
        self.try_backward_in_place_on(try_active_isa()?, x, dy_dx)
    }
    /// `dy_dx = dy · f′(x)`, written over `dy`.
    ///
    /// # Panics
    /// If the two lengths differ (nothing is written), or if `ACTIGEN_ISA` is invalid.
    ///
    /// ```
    /// use actigen::{Activation, Leaky};
    /// let mut grad = [2.0f32, 2.0]; // dy, replaced by dx
    /// Leaky::default().backward_in_place(&[-5.0, 5.0], &mut grad);
    /// assert_eq!(grad, [0.02, 2.0]);
    /// ```
    #[track_caller]
    fn backward_in_place(&self, x: &[T], dy_dx: &mut [T]) {
        ok_or_panic(self.try_backward_in_place(x, dy_dx))
    }
    /// `y_dx = dy · f′` from the output `y`, written over `y`; an error if the lengths differ,
    /// the activation has no output-based form, or a parameter is outside its range.
    fn try_backward_from_output_in_place(&self, y_dx: &mut [T], dy: &[T]) -> Result<(), Error> {
        self.try_backward_from_output_in_place_on(try_active_isa()?, y_dx, dy)
    }
    /// `y_dx = dy · f′` from the output `y`, written over `y`.
    ///
    /// # Panics
    /// Where [`Activation::try_backward_from_output_in_place`] returns an error (nothing is
    /// written).
    ///
    /// ```
    /// use actigen::{Activation, Sigmoid};
    /// let mut y = [0.0f32; 2];
    /// Sigmoid.forward(&[0.0, 2.0], &mut y);
    /// Sigmoid.backward_from_output_in_place(&mut y, &[1.0, 1.0]); // x is not needed
    /// assert!((y[0] - 0.25).abs() < 1e-7);
    /// ```
    #[track_caller]
    fn backward_from_output_in_place(&self, y_dx: &mut [T], dy: &[T]) {
        ok_or_panic(self.try_backward_from_output_in_place(y_dx, dy))
    }
    /// `dx = dy · f′(x)` and the parameter gradients in one pass.
    ///
    /// ```
    /// use actigen::{Activation, Swish};
    /// let (x, dy) = ([1.0f64, -2.0], [1.0, 1.0]);
    /// let (mut dx, mut g) = ([0.0; 2], [0.0; 1]);
    /// Swish::default().try_backward_with_param_grads(&x, &dy, &mut dx, &mut g).unwrap();
    /// // ∂(x·σ(βx))/∂β = x²·σ(βx)·σ(−βx), summed over the elements, at β = 1.
    /// let s = |v: f64| 1.0 / (1.0 + (-v).exp());
    /// let want: f64 = x.iter().map(|&v| v * v * s(v) * s(-v)).sum();
    /// assert!((g[0] - want).abs() < 1e-15);
    /// ```
    /// `dx = dy · f′(x)` and the parameter gradients in one pass.
    fn try_backward_with_param_grads(
        &self,
        x: &[T],
        dy: &[T],
        dx: &mut [T],
        grads: &mut [f64],
    ) -> Result<(), Error> {
        self.try_backward_fused_on(try_active_isa()?, x, dy, Some(dx), grads)
    }
    /// `Σᵢ dyᵢ · ∂f/∂pⱼ(xᵢ)` for each parameter `j`; an error if the lengths differ.
    fn try_param_grads(&self, x: &[T], dy: &[T]) -> Result<Vec<f64>, Error> {
        let mut g = vec![0.0; self.param_names().len()];
        self.try_backward_fused_on(try_active_isa()?, x, dy, None, &mut g)?;
        Ok(g)
    }
    /// `Σᵢ dyᵢ · ∂f/∂pⱼ(xᵢ)` for each parameter `j`, in declaration order.
    ///
    /// # Panics
    /// If `x.len() != dy.len()`, or if `ACTIGEN_ISA` is invalid.
    ///
    /// ```
    /// use actigen::{Activation, Prelu};
    /// // ∂(αx)/∂α = x for x ≤ 0: the sum of dy·x there.
    /// let g = Prelu::default().param_grads(&[-1.0f32, -3.0, 4.0], &[2.0, 1.0, 1.0]);
    /// assert_eq!(g, vec![-5.0]);
    /// ```
    #[track_caller]
    fn param_grads(&self, x: &[T], dy: &[T]) -> Vec<f64> {
        match self.try_param_grads(x, dy) {
            Ok(g) => g,
            Err(e) => panic!("actigen: {e}"),
        }
    }
}

impl<F: Formula, T: Float> Activation<T> for F {
    fn try_forward_on(&self, isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error> {
        run_forward(self, isa, x, y)
    }

    fn try_forward_in_place_on(&self, isa: Isa, xy: &mut [T]) -> Result<(), Error> {
        run_forward_in_place(self, isa, xy)
    }

    fn try_backward_on(&self, isa: Isa, x: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        run_pair::<F, T, BackwardPass>(self, isa, ("x", x), dy, ("dx", dx))
    }

    fn try_backward_in_place_on(&self, isa: Isa, x: &[T], dy_dx: &mut [T]) -> Result<(), Error> {
        run_pair_in_place::<F, T, BackwardPass>(self, isa, Over::Dy, ("dy_dx", dy_dx), ("x", x))
    }

    fn try_backward_from_output_in_place_on(
        &self,
        isa: Isa,
        y_dx: &mut [T],
        dy: &[T],
    ) -> Result<(), Error> {
        check_from_output(self)?;
        run_pair_in_place::<F, T, FromOutputPass>(self, isa, Over::A, ("y_dx", y_dx), ("dy", dy))
    }

    fn try_backward_fused_on(
        &self,
        isa: Isa,
        x: &[T],
        dy: &[T],
        dx: Option<&mut [T]>,
        grads: &mut [f64],
    ) -> Result<(), Error> {
        check_len("x", x.len(), "dy", dy.len())?;
        if let Some(dx) = &dx {
            check_len("x", x.len(), "dx", dx.len())?;
        }
        check_len("params", F::PARAM_NAMES.len(), "grads", grads.len())?;
        check_isa(isa)?;
        grads.fill(0.0);
        parallel::sum_chunks(x, dy, dx, grads, &|x, dy, dx, sums| {
            let job = BackwardFused {
                f: self,
                x: x.as_ptr(),
                dy: dy.as_ptr(),
                dx: dx.map(|d| d.as_mut_ptr()),
                n: x.len(),
                sums,
            };
            // SAFETY: ISA checked above; the (sub)slices are valid for n elements.
            unsafe { dispatch::run(isa, job) }
        });
        Ok(())
    }

    fn try_param_partials_on(&self, isa: Isa, x: &[T], out: &mut [T]) -> Result<(), Error> {
        let np = F::PARAM_NAMES.len();
        check_len("x × params", x.len() * np, "out", out.len())?;
        check_isa(isa)?;
        let job = ParamPartials {
            f: self,
            x: x.as_ptr(),
            out: out.as_mut_ptr(),
            n: x.len(),
        };
        // SAFETY: ISA checked above; x valid for n elements, out for n·np.
        unsafe { dispatch::run(isa, job) };
        Ok(())
    }

    fn try_grad2_on(&self, isa: Isa, x: &[T], dy: &[T], out: &mut [T]) -> Result<(), Error> {
        run_pair::<F, T, Grad2Pass>(self, isa, ("x", x), dy, ("out", out))
    }

    fn try_backward_from_output_on(
        &self,
        isa: Isa,
        y: &[T],
        dy: &[T],
        dx: &mut [T],
    ) -> Result<(), Error> {
        check_from_output(self)?;
        run_pair::<F, T, FromOutputPass>(self, isa, ("y", y), dy, ("dx", dx))
    }

    fn second_derivative(&self, x: T) -> T {
        use crate::simd::Vector;
        formula::second_derivative(self, x.scalar()).lane(0)
    }

    fn value(&self, x: T) -> T {
        use crate::simd::Vector;
        formula::forward(self, x.scalar()).lane(0)
    }

    fn derivative(&self, x: T) -> T {
        use crate::simd::Vector;
        formula::derivative(self, x.scalar()).lane(0)
    }
}

/// The half-precision slices. Forward and backward (the passes a training step runs on every
/// activation) are the f32 kernels with half-precision loads and stores (`crate::driver::Io`),
/// above in the generic helpers. The other passes (`grad2`, the output-based backward, the
/// fused backward with parameter gradients, the parameter partials) run here, on blocks of
/// `BLOCK` elements widened into f32 stack buffers, through the f32 kernels (see
/// [`crate::storage`]): the results are the same roundings of the f32 kernel's results, and no
/// half-precision copy of those kernels is compiled (for `grad2` and the output-based form,
/// that was two of every activation's five elementwise kernels on every ISA, twice).
#[cfg(feature = "half")]
mod halves {
    use super::*;
    use crate::formula::MAX_PARAMS;
    use crate::storage::{Half, narrow, widen};

    /// Elements per block: three f32 buffers of 4 KiB, well inside the L1 cache, and long
    /// enough that the per-block dispatch is noise.
    const BLOCK: usize = 1024;

    /// `(start, len)` of consecutive blocks of at most `block` elements covering `0..n`.
    fn blocks(n: usize, block: usize) -> impl Iterator<Item = (usize, usize)> {
        (0..n).step_by(block).map(move |s| (s, block.min(n - s)))
    }

    fn backward_fused<F: Formula, H: Half>(
        f: &F,
        isa: Isa,
        x: &[H],
        dy: &[H],
        dx: Option<&mut [H]>,
        grads: &mut [f64],
    ) -> Result<(), Error> {
        check_len("x", x.len(), "dy", dy.len())?;
        if let Some(dx) = &dx {
            check_len("x", x.len(), "dx", dx.len())?;
        }
        let np = F::PARAM_NAMES.len();
        check_len("params", np, "grads", grads.len())?;
        check_isa(isa)?;
        grads.fill(0.0);
        parallel::sum_chunks(x, dy, dx, grads, &|x, dy, mut dx, sums| {
            let (mut bx, mut bd, mut bo) = ([0f32; BLOCK], [0f32; BLOCK], [0f32; BLOCK]);
            let mut block_sums = [0f64; MAX_PARAMS];
            for (s, l) in blocks(x.len(), BLOCK) {
                let r = s..s + l;
                widen(isa, &x[r.clone()], &mut bx[..l]);
                widen(isa, &dy[r.clone()], &mut bd[..l]);
                let g = &mut block_sums[..sums.len()];
                let (bx, bd) = (&bx[..l], &bd[..l]);
                // Lengths equal and the ISA supported: cannot fail.
                let _ = match dx {
                    Some(_) => {
                        let bo = Some(&mut bo[..l]);
                        Activation::<f32>::try_backward_fused_on(f, isa, bx, bd, bo, g)
                    }
                    None => Activation::<f32>::try_backward_fused_on(f, isa, bx, bd, None, g),
                };
                // Block sums added in block order (and chunk sums in chunk order): one order
                // for every ISA and thread count.
                for (total, &b) in sums.iter_mut().zip(g.iter()) {
                    *total += b;
                }
                if let Some(dx) = dx.as_deref_mut() {
                    narrow(isa, &bo[..l], &mut dx[r]);
                }
            }
        });
        Ok(())
    }

    /// `out = K(a, dy)` on blocks widened to f32, through the f32 kernel; `a: None` reads `a`
    /// from `out` (in place). Lengths checked here (nothing is written on error).
    fn pair_blocks<F: Formula, H: Half, K: PairKernel>(
        f: &F,
        isa: Isa,
        a: Option<(&'static str, &[H])>,
        dy: &[H],
        (out_name, out): (&'static str, &mut [H]),
    ) -> Result<(), Error> {
        if let Some((a_name, a)) = a {
            check_len(a_name, a.len(), "dy", dy.len())?;
            check_len(a_name, a.len(), out_name, out.len())?;
        } else {
            check_len(out_name, out.len(), "dy", dy.len())?;
        }
        check_isa(isa)?;
        // One block: widen `a` (or `out`) and `dy`, run the f32 pass over the first buffer in
        // place, round back into `out`.
        let block = |a: Option<&[H]>, dy: &[H], out: &mut [H]| {
            let (mut ba, mut bd) = ([0f32; BLOCK], [0f32; BLOCK]);
            for (s, l) in blocks(dy.len(), BLOCK) {
                let r = s..s + l;
                widen(
                    isa,
                    a.map_or(&out[r.clone()], |a| &a[r.clone()]),
                    &mut ba[..l],
                );
                widen(isa, &dy[r.clone()], &mut bd[..l]);
                let p = ba.as_mut_ptr();
                // SAFETY: ISA checked above; both buffers hold `l` elements; the output is the
                // first input, which `pair_raw` allows.
                unsafe { pair_raw::<F, f32, K>(f, isa, p, bd.as_ptr(), p, l) };
                narrow(isa, &ba[..l], &mut out[r]);
            }
        };
        match a {
            Some((_, a)) => parallel::each3(a, dy, out, &|a, dy, out| block(Some(a), dy, out)),
            None => parallel::each2(dy, out, &|dy, out| block(None, dy, out)),
        }
        Ok(())
    }

    fn param_partials<F: Formula, H: Half>(
        f: &F,
        isa: Isa,
        x: &[H],
        out: &mut [H],
    ) -> Result<(), Error> {
        let (n, np) = (x.len(), F::PARAM_NAMES.len());
        check_len("x × params", n * np, "out", out.len())?;
        check_isa(isa)?;
        if np == 0 {
            return Ok(());
        }
        // Blocks short enough that all partials of a block fit one buffer.
        let block = BLOCK / np;
        let (mut bx, mut bo) = ([0f32; BLOCK], [0f32; BLOCK]);
        for (s, l) in blocks(n, block) {
            widen(isa, &x[s..s + l], &mut bx[..l]);
            // Lengths l and np·l, the ISA supported: cannot fail.
            let _ = Activation::<f32>::try_param_partials_on(f, isa, &bx[..l], &mut bo[..np * l]);
            for j in 0..np {
                narrow(
                    isa,
                    &bo[j * l..(j + 1) * l],
                    &mut out[j * n + s..j * n + s + l],
                );
            }
        }
        Ok(())
    }

    macro_rules! half_activation {
        ($h:ty) => {
            impl<F: Formula> Activation<$h> for F {
                fn try_forward_on(&self, isa: Isa, x: &[$h], y: &mut [$h]) -> Result<(), Error> {
                    run_forward(self, isa, x, y)
                }
                fn try_forward_in_place_on(&self, isa: Isa, xy: &mut [$h]) -> Result<(), Error> {
                    run_forward_in_place(self, isa, xy)
                }
                fn try_backward_on(
                    &self,
                    isa: Isa,
                    x: &[$h],
                    dy: &[$h],
                    dx: &mut [$h],
                ) -> Result<(), Error> {
                    run_pair::<F, $h, BackwardPass>(self, isa, ("x", x), dy, ("dx", dx))
                }
                fn try_backward_in_place_on(
                    &self,
                    isa: Isa,
                    x: &[$h],
                    dy_dx: &mut [$h],
                ) -> Result<(), Error> {
                    run_pair_in_place::<F, $h, BackwardPass>(
                        self,
                        isa,
                        Over::Dy,
                        ("dy_dx", dy_dx),
                        ("x", x),
                    )
                }
                fn try_backward_from_output_in_place_on(
                    &self,
                    isa: Isa,
                    y_dx: &mut [$h],
                    dy: &[$h],
                ) -> Result<(), Error> {
                    check_from_output(self)?;
                    pair_blocks::<F, $h, FromOutputPass>(self, isa, None, dy, ("y_dx", y_dx))
                }
                fn try_backward_fused_on(
                    &self,
                    isa: Isa,
                    x: &[$h],
                    dy: &[$h],
                    dx: Option<&mut [$h]>,
                    grads: &mut [f64],
                ) -> Result<(), Error> {
                    backward_fused(self, isa, x, dy, dx, grads)
                }
                fn try_param_partials_on(
                    &self,
                    isa: Isa,
                    x: &[$h],
                    out: &mut [$h],
                ) -> Result<(), Error> {
                    param_partials(self, isa, x, out)
                }
                fn try_grad2_on(
                    &self,
                    isa: Isa,
                    x: &[$h],
                    dy: &[$h],
                    out: &mut [$h],
                ) -> Result<(), Error> {
                    pair_blocks::<F, $h, Grad2Pass>(self, isa, Some(("x", x)), dy, ("out", out))
                }
                fn try_backward_from_output_on(
                    &self,
                    isa: Isa,
                    y: &[$h],
                    dy: &[$h],
                    dx: &mut [$h],
                ) -> Result<(), Error> {
                    check_from_output(self)?;
                    pair_blocks::<F, $h, FromOutputPass>(self, isa, Some(("y", y)), dy, ("dx", dx))
                }
                fn value(&self, x: $h) -> $h {
                    <$h>::from_compute(Activation::<f32>::value(self, x.to_compute()))
                }
                fn derivative(&self, x: $h) -> $h {
                    <$h>::from_compute(Activation::<f32>::derivative(self, x.to_compute()))
                }
                fn second_derivative(&self, x: $h) -> $h {
                    <$h>::from_compute(Activation::<f32>::second_derivative(self, x.to_compute()))
                }
            }
        };
    }

    half_activation!(half::f16);
    half_activation!(half::bf16);
}
