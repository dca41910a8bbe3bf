//! The slice API every generated activation implements.
//!
//! Lengths are checked before anything is written: a mismatch is an [`Error`] from the `try_`
//! methods, and a panic (with the same message) from the others. Kernels run on
//! [`active_isa`](crate::active_isa) unless an `_on` method names the ISA.

use crate::dispatch::{self, Float, Isa, IsaError, try_active_isa};
use crate::driver::{
    BackwardFused, BackwardPass, Forward, FromOutputPass, Grad2Pass, Pair, PairKernel,
    ParamPartials,
};
use crate::error::Error;
use crate::formula::{self, Formula};
use core::fmt;

fn check_len(
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

fn check_isa(isa: Isa) -> Result<(), Error> {
    if isa.is_supported() {
        Ok(())
    } else {
        Err(IsaError::Unsupported(isa).into())
    }
}

/// A two-input pass `out = K(a, dy)` after the length and ISA checks (nothing is written on
/// error).
fn run_pair<F: Formula, T: Float, K: PairKernel>(
    f: &F,
    isa: Isa,
    (a_name, a): (&'static str, &[T]),
    dy: &[T],
    (out_name, out): (&'static str, &mut [T]),
) -> Result<(), Error> {
    check_len(a_name, a.len(), "dy", dy.len())?;
    check_len(a_name, a.len(), out_name, out.len())?;
    check_isa(isa)?;
    let job = Pair::<F, T, K> {
        f,
        a: a.as_ptr(),
        b: dy.as_ptr(),
        out: out.as_mut_ptr(),
        n: a.len(),
        kernel: core::marker::PhantomData,
    };
    // SAFETY: ISA checked above; the three slices are valid for n elements.
    unsafe { dispatch::run(isa, job) };
    Ok(())
}

/// Every parameter of `f` within its declared range.
pub(crate) fn check_ranges<F: Formula>(f: &F) -> Result<(), Error> {
    for (i, &(lo, hi)) in F::PARAM_RANGES.iter().enumerate() {
        let v = f.param(i) as f64;
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

fn ok_or_panic(r: Result<(), Error>) {
    if let Err(e) = r {
        panic!("actigen: {e}");
    }
}

/// An activation over slices of `T` (`f32` or `f64`): forward, backward, parameter gradients.
///
/// Implemented by every type `#[activation]` generates. Parameter gradients are summed in
/// `f64` from the first product (`dy·∂f/∂p` formed in f64), in one fixed order on every ISA:
/// the sums are bit-identical across ISAs, long slices (10⁷ elements) keep their accuracy, and
/// no partial sum overflows where the total is finite.
pub trait Activation<T: Float>: Send + Sync + fmt::Debug {
    /// The activation's name (its formula function's name).
    fn name(&self) -> &'static str;
    /// Parameter names, in declaration order.
    fn param_names(&self) -> &'static [&'static str];
    /// Current parameter values, in declaration order.
    fn params(&self) -> Vec<f32>;

    /// `y = f(x)` on a given ISA.
    fn try_forward_on(&self, isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error>;
    /// `xy = f(xy)` on a given ISA.
    fn try_forward_in_place_on(&self, isa: Isa, xy: &mut [T]) -> Result<(), Error>;
    /// `dx = dy · f′(x)` on a given ISA.
    fn try_backward_on(&self, isa: Isa, x: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error>;
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
    fn forward(&self, x: &[T], y: &mut [T]) {
        ok_or_panic(self.try_forward(x, y))
    }
    /// `xy = f(xy)`.
    ///
    /// # Panics
    /// If `ACTIGEN_ISA` is invalid.
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
    fn backward(&self, x: &[T], dy: &[T], dx: &mut [T]) {
        ok_or_panic(self.try_backward(x, dy, dx))
    }
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
    fn param_grads(&self, x: &[T], dy: &[T]) -> Vec<f64> {
        match self.try_param_grads(x, dy) {
            Ok(g) => g,
            Err(e) => panic!("actigen: {e}"),
        }
    }
}

impl<F: Formula, T: Float> Activation<T> for F {
    fn name(&self) -> &'static str {
        F::NAME
    }
    fn param_names(&self) -> &'static [&'static str] {
        F::PARAM_NAMES
    }
    fn params(&self) -> Vec<f32> {
        (0..F::PARAM_NAMES.len()).map(|i| self.param(i)).collect()
    }

    fn try_forward_on(&self, isa: Isa, x: &[T], y: &mut [T]) -> Result<(), Error> {
        check_len("x", x.len(), "y", y.len())?;
        check_isa(isa)?;
        let job = Forward {
            f: self,
            x: x.as_ptr(),
            y: y.as_mut_ptr(),
            n: x.len(),
        };
        // SAFETY: ISA checked above; x and y valid for n elements.
        unsafe { dispatch::run(isa, job) };
        Ok(())
    }

    fn try_forward_in_place_on(&self, isa: Isa, xy: &mut [T]) -> Result<(), Error> {
        check_isa(isa)?;
        let p = xy.as_mut_ptr();
        let job = Forward {
            f: self,
            x: p,
            y: p,
            n: xy.len(),
        };
        // SAFETY: ISA checked above; `p` valid for n reads and writes, and the driver reads
        // each block before writing it.
        unsafe { dispatch::run(isa, job) };
        Ok(())
    }

    fn try_backward_on(&self, isa: Isa, x: &[T], dy: &[T], dx: &mut [T]) -> Result<(), Error> {
        run_pair::<F, T, BackwardPass>(self, isa, ("x", x), dy, ("dx", dx))
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
        let job = BackwardFused {
            f: self,
            x: x.as_ptr(),
            dy: dy.as_ptr(),
            dx: dx.map(|d| d.as_mut_ptr()),
            n: x.len(),
            sums: grads,
        };
        // SAFETY: ISA checked above; slices valid for n elements.
        unsafe { dispatch::run(isa, job) };
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
        if F::FROM_OUTPUT.is_none() {
            return Err(Error::NoBackwardFromOutput {
                activation: F::NAME,
            });
        }
        check_ranges(self)?;
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
