//! Activations as [`candle_core`] ops with a backward, so candle's autograd trains through
//! them (feature `candle`).
//!
//! Any activation that runs on all four storage types and can be cloned (every built-in and
//! every `#[activation]` type) applies to a [`Tensor`]:
//!
//! ```
//! use actigen::Swish;
//! use actigen::candle::{Layer, apply};
//! use candle_core::{Device, Module, Tensor, Var};
//!
//! # fn main() -> candle_core::Result<()> {
//! let x = Var::new(&[-2.0f32, 0.5, 3.0], &Device::Cpu)?;
//! // Fixed parameters: the gradient flows to x.
//! let y = apply(&Swish::default(), x.as_tensor())?;
//! let dx = y.sum_all()?.backward()?.get(&x).unwrap().to_vec1::<f32>()?;
//! let s = 1.0 / (1.0 + (-0.5f32).exp()); // swish′(x) = σ(x) + x·σ(x)·(1 − σ(x))
//! assert!((dx[1] - (s + 0.5 * s * (1.0 - s))).abs() < 1e-6);
//!
//! // Learnable parameters: a `Var` holding beta, which receives its gradient too.
//! let (layer, beta) = Layer::learnable(Swish::default(), &Device::Cpu)?;
//! let grads = layer.forward(x.as_tensor())?.sum_all()?.backward()?;
//! let dbeta = grads.get(&beta).unwrap().to_vec1::<f32>()?;
//! assert_eq!(dbeta.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! - **Types:** `F32`, `F64`, `F16` and `BF16` tensors (the half types computed in f32, as the
//!   slice API does); any other dtype is candle's `UnsupportedDTypeForOp` error.
//! - **Layouts:** a contiguous tensor is read where it lies; a strided one (a transpose, a
//!   narrow, a broadcast) is gathered once into a contiguous buffer. Results are contiguous.
//! - **Parameters:** [`apply_with_params`] takes them as a 1-D tensor, in the activation's
//!   declaration order ([`ActivationInfo::param_names`]); its backward returns their gradient,
//!   summed in f64 over all elements as [`Activation::try_backward_with_param_grads`] does. A
//!   value outside a parameter's range is an error, as for [`ActivationInfo::set_param`].
//! - **Per-channel parameters:** [`apply_channels`] and [`ChannelLayer`] take some parameters
//!   with one value per channel along an axis of the tensor (PReLU's alpha as in PyTorch's
//!   `nn.PReLU(C)` and candle-nn's `prelu(Some(C))`, Snake's `a`), through
//!   [`ChannelActivation`]; the backward gives each channel's
//!   gradient.
//! - **Devices:** the CPU only, for now: a tensor on another device is an error that says so.
//!   The backward itself is not differentiable again (no second-order autograd through it).

use crate::builtin::DynActivation;
use crate::channels::{ChannelActivation, Layout as Channels};
use crate::storage::zero;
use crate::{Activation, ActivationInfo, Formula, Storage};
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor, Var};
use half::{bf16, f16};
use std::cell::RefCell;

/// What [`apply`] and [`apply_with_params`] accept: an activation on all four storage types
/// that can be cloned into candle's op graph. Every built-in and `#[activation]` type is one.
pub trait CandleActivation: DynActivation + Clone + 'static {}
impl<A: DynActivation + Clone + 'static> CandleActivation for A {}

/// `f` applied to `x` with the activation's current parameters; `dx = dy·f′(x)` in backward.
pub fn apply<A: CandleActivation>(act: &A, x: &Tensor) -> Result<Tensor> {
    on_cpu(act, x)?;
    x.apply_op1(Op1(act.clone()))
}

/// `f` applied to `x` with the parameters in `params` (a 1-D tensor, one value per parameter
/// in declaration order, any float dtype); backward gives `dx` and the parameters' gradient
/// (summed over every element, in `params`' dtype).
pub fn apply_with_params<A: CandleActivation>(
    act: &A,
    x: &Tensor,
    params: &Tensor,
) -> Result<Tensor> {
    on_cpu(act, x)?;
    on_cpu(act, params)?;
    x.apply_op2(params, Op2(act.clone()))
}

/// An activation as a candle [`Module`](candle_core::Module), with fixed parameters or with
/// learnable ones held in a tensor (a [`Var`]'s, for an optimiser to update).
#[derive(Clone, Debug)]
pub struct Layer<A> {
    act: A,
    params: Option<Tensor>,
}

impl<A: CandleActivation> Layer<A> {
    /// The activation with its own (fixed) parameters.
    pub fn new(act: A) -> Self {
        Layer { act, params: None }
    }

    /// The activation with its parameters in a new [`Var`] on `device` (f32, initialised to the
    /// activation's current values), returned for the optimiser.
    pub fn learnable(act: A, device: &candle_core::Device) -> Result<(Self, Var)> {
        let var = Var::from_vec(act.params(), act.param_names().len(), device)?;
        let layer = Layer {
            act,
            params: Some(var.as_tensor().clone()),
        };
        Ok((layer, var))
    }

    /// The activation with its parameters in `params` (see [`apply_with_params`]).
    pub fn with_params(act: A, params: Tensor) -> Self {
        Layer {
            act,
            params: Some(params),
        }
    }

    /// The activation (its own parameters, not the tensor's).
    pub fn activation(&self) -> &A {
        &self.act
    }

    /// The parameter tensor, if the layer has one.
    pub fn params(&self) -> Option<&Tensor> {
        self.params.as_ref()
    }
}

impl<A: CandleActivation> candle_core::Module for Layer<A> {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match &self.params {
            Some(p) => apply_with_params(&self.act, xs, p),
            None => apply(&self.act, xs),
        }
    }
}

/// `f` applied to `x` with the parameters named in `per_channel` given one value per channel
/// along axis `dim` of `x`, the others the activation's own.
///
/// `values` holds the per-channel values, shape `[per_channel.len(), C]` with `C = x.dim(dim)`,
/// any float dtype (the values are used in f32, as [`ChannelActivation`] takes them). The
/// backward gives `dx` and the values' gradient (same shape and dtype: each channel's sum over
/// its elements, in f64 before the cast). `dim` is 1 for PyTorch's `[N, C, H, W]` and the last
/// axis for a transformer's `[.., C]`.
///
/// ```
/// use actigen::Prelu;
/// use actigen::candle::apply_channels;
/// use candle_core::{Device, Tensor, Var};
///
/// # fn main() -> candle_core::Result<()> {
/// // [N = 1, C = 2, W = 2]: alpha 0.1 in channel 0, 0.3 in channel 1.
/// let x = Var::from_vec(vec![-1.0f32, 2.0, -1.0, -2.0], (1, 2, 2), &Device::Cpu)?;
/// let alpha = Var::from_vec(vec![0.1f32, 0.3], (1, 2), &Device::Cpu)?;
/// let y = apply_channels(&Prelu::default(), x.as_tensor(), 1, &["alpha"], alpha.as_tensor())?;
/// assert_eq!(y.flatten_all()?.to_vec1::<f32>()?, vec![-0.1, 2.0, -0.3, -0.6]);
/// let grads = y.sum_all()?.backward()?;
/// // ∂/∂alpha: Σ x over the channel's elements where x ≤ 0.
/// assert_eq!(grads.get(&alpha).unwrap().to_vec2::<f32>()?, vec![vec![-1.0, -3.0]]);
/// # Ok(())
/// # }
/// ```
pub fn apply_channels<A: CandleActivation + Formula>(
    act: &A,
    x: &Tensor,
    dim: usize,
    per_channel: &[&str],
    values: &Tensor,
) -> Result<Tensor> {
    on_cpu(act, x)?;
    on_cpu(act, values)?;
    let names = param_names::<A>(per_channel)?;
    channel_layout(act, x.dims(), dim)?; // the axis is one of x's
    let channels = x.dims()[dim];
    if values.dims() != [names.len(), channels] {
        return Err(candle_core::Error::Msg(format!(
            "actigen: `{}` with {} per-channel parameter(s) ({}) along axis {dim} of a tensor \
             of shape {:?} takes values of shape [{}, {channels}], got {:?}",
            act.name(),
            names.len(),
            names.join(", "),
            x.dims(),
            names.len(),
            values.dims()
        )));
    }
    let op = ChannelOp {
        act: *act,
        names,
        dim,
    };
    x.apply_op2(values, op)
}

/// An activation with some parameters per channel, as a candle
/// [`Module`](candle_core::Module): [`apply_channels`] with the values in a tensor (a
/// [`Var`]'s, for an optimiser to update).
///
/// ```
/// use actigen::Prelu;
/// use actigen::candle::ChannelLayer;
/// use candle_core::{Device, Module, Tensor};
///
/// # fn main() -> candle_core::Result<()> {
/// // PyTorch's nn.PReLU(16) on [N, 16] rows: one learnable alpha per feature, from 0.25.
/// let (prelu, alpha) = ChannelLayer::learnable(Prelu::default(), &["alpha"], 1, 16, &Device::Cpu)?;
/// assert_eq!(alpha.dims(), &[1, 16]);
/// let x = Tensor::randn(0f32, 1.0, (8, 16), &Device::Cpu)?;
/// let grads = prelu.forward(&x)?.sum_all()?.backward()?;
/// assert_eq!(grads.get(&alpha).unwrap().dims(), &[1, 16]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ChannelLayer<A> {
    act: A,
    names: Vec<&'static str>,
    dim: usize,
    values: Tensor,
}

impl<A: CandleActivation + Formula> ChannelLayer<A> {
    /// The parameters named in `per_channel` learnable per channel along axis `dim` (`C`
    /// channels): a new f32 [`Var`] of shape `[per_channel.len(), C]` on `device`, each row
    /// initialised to the activation's current value of that parameter; the other parameters
    /// stay the activation's own.
    pub fn learnable(
        act: A,
        per_channel: &[&str],
        dim: usize,
        channels: usize,
        device: &candle_core::Device,
    ) -> Result<(Self, Var)> {
        let names = param_names::<A>(per_channel)?;
        let init: Vec<f32> = names
            .iter()
            .flat_map(|n| {
                let v = act.param(n).expect("a parameter of the activation");
                std::iter::repeat_n(v, channels)
            })
            .collect();
        let var = Var::from_vec(init, (names.len(), channels), device)?;
        let layer = ChannelLayer {
            act,
            names,
            dim,
            values: var.as_tensor().clone(),
        };
        Ok((layer, var))
    }

    /// The parameters named in `per_channel` with the per-channel values of `values` (shape
    /// `[per_channel.len(), C]`, see [`apply_channels`]).
    pub fn with_values(act: A, per_channel: &[&str], dim: usize, values: Tensor) -> Result<Self> {
        let names = param_names::<A>(per_channel)?;
        Ok(ChannelLayer {
            act,
            names,
            dim,
            values,
        })
    }

    /// The activation (its shared parameters).
    pub fn activation(&self) -> &A {
        &self.act
    }

    /// The per-channel values, `[per_channel.len(), C]`.
    pub fn values(&self) -> &Tensor {
        &self.values
    }
}

impl<A: CandleActivation + Formula> candle_core::Module for ChannelLayer<A> {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        apply_channels(&self.act, xs, self.dim, &self.names, &self.values)
    }
}

/// The names of `per_channel` as the activation's own (`'static`), each once.
fn param_names<A: Formula>(per_channel: &[&str]) -> Result<Vec<&'static str>> {
    let mut names = Vec::with_capacity(per_channel.len());
    for &name in per_channel {
        let found = A::PARAM_NAMES.iter().find(|p| **p == name).ok_or_else(|| {
            wrap(crate::Error::UnknownParam {
                activation: A::NAME,
                param: name.to_string(),
                accepted: A::PARAM_NAMES,
            })
        })?;
        if names.contains(found) {
            return Err(wrap(crate::Error::ParamGivenTwice { param: found }));
        }
        names.push(*found);
    }
    Ok(names)
}

/// The channel layout of a tensor of shape `dims` with its channels along `dim`
/// (`None` when it has no elements).
fn channel_layout<A: ActivationInfo>(
    act: &A,
    dims: &[usize],
    dim: usize,
) -> Result<Option<Channels>> {
    if dim >= dims.len() {
        return Err(candle_core::Error::Msg(format!(
            "actigen: `{}`: channel axis {dim} is not an axis of a tensor of shape {dims:?}",
            act.name()
        )));
    }
    if dims.contains(&0) {
        return Ok(None);
    }
    let channels = dims[dim];
    let inner: usize = dims[dim + 1..].iter().product();
    Ok(Some(if inner == 1 {
        Channels::ChannelsLast { channels }
    } else {
        Channels::ChannelsFirst { channels, inner }
    }))
}

/// The per-channel values of a `[k, C]` tensor's storage, row by row, in f32.
fn channel_values(s: &CpuStorage, l: &Layout) -> Result<Vec<f32>> {
    Ok(match s {
        CpuStorage::F32(d) => elements(d, l).into_owned(),
        CpuStorage::F64(d) => elements(d, l).iter().map(|&v| v as f32).collect(),
        CpuStorage::F16(d) => elements(d, l).iter().map(|v| v.to_f32()).collect(),
        CpuStorage::BF16(d) => elements(d, l).iter().map(|v| v.to_f32()).collect(),
        other => {
            return Err(candle_core::Error::UnsupportedDTypeForOp(
                other.dtype(),
                "actigen per-channel values",
            ));
        }
    })
}

/// `(name, values)` pairs, as [`ChannelActivation`] takes them.
fn per_channel<'a>(names: &[&'a str], values: &'a [f32]) -> Vec<(&'a str, &'a [f32])> {
    let c = values.len() / names.len().max(1);
    names
        .iter()
        .zip(values.chunks(c.max(1)))
        .map(|(n, v)| (*n, v))
        .collect()
}

/// Applies `f` with per-channel parameters from a tensor.
struct ChannelOp<A> {
    act: A,
    names: Vec<&'static str>,
    dim: usize,
}

impl<A: CandleActivation + Formula> ChannelOp<A> {
    fn forward<T: Storage>(
        &self,
        layout: Option<Channels>,
        values: &[f32],
        x: &[T],
    ) -> Result<Vec<T>>
    where
        A: ChannelActivation<T>,
    {
        let mut y = vec![zero::<T>(); x.len()];
        if let Some(layout) = layout {
            let per = per_channel(&self.names, values);
            self.act
                .try_forward_channels(layout, &per, x, &mut y)
                .map_err(wrap)?;
        }
        Ok(y)
    }
}

impl<A: CandleActivation + Formula> CustomOp2 for ChannelOp<A> {
    fn name(&self) -> &'static str {
        self.act.name()
    }
    fn cpu_fwd(
        &self,
        s: &CpuStorage,
        l: &Layout,
        vs: &CpuStorage,
        vl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let layout = channel_layout(&self.act, l.dims(), self.dim)?;
        let values = channel_values(vs, vl)?;
        let out = match s {
            CpuStorage::F32(d) => {
                CpuStorage::F32(self.forward(layout, &values, &elements(d, l))?)
            }
            CpuStorage::F64(d) => {
                CpuStorage::F64(self.forward(layout, &values, &elements(d, l))?)
            }
            CpuStorage::F16(d) => {
                let y = self.forward(layout, &values, &widen(d, l))?;
                CpuStorage::F16(y.into_iter().map(f16::from_f32).collect())
            }
            CpuStorage::BF16(d) => {
                let y = self.forward(layout, &values, &widen(d, l))?;
                CpuStorage::BF16(y.into_iter().map(bf16::from_f32).collect())
            }
            other => {
                return Err(candle_core::Error::UnsupportedDTypeForOp(
                    other.dtype(),
                    self.act.name(),
                ));
            }
        };
        Ok((out, l.shape().clone()))
    }
    fn bwd(
        &self,
        x: &Tensor,
        values: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let v: Vec<f32> = values.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let op = ChannelBackward {
            act: self.act,
            names: self.names.clone(),
            dim: self.dim,
            values: v,
            grads: RefCell::new(Vec::new()),
        };
        dx_and_param_grads(x, dy, &op, &op.grads, values)
    }
}

/// `dx = dy·∂f/∂x` and the per-channel gradients (kept in `grads`, row by row) in one pass.
struct ChannelBackward<A> {
    act: A,
    names: Vec<&'static str>,
    dim: usize,
    values: Vec<f32>,
    grads: RefCell<Vec<f64>>,
}

impl<A: CandleActivation + Formula> ChannelBackward<A> {
    fn run<T: Storage>(&self, layout: Option<Channels>, x: &[T], dy: &[T]) -> Result<Vec<T>>
    where
        A: ChannelActivation<T>,
    {
        let mut dx = vec![zero::<T>(); x.len()];
        let mut grads = vec![0.0; self.values.len()];
        if let Some(layout) = layout {
            let per = per_channel(&self.names, &self.values);
            let g = self
                .act
                .try_backward_channels_with_param_grads(layout, &per, x, dy, &mut dx)
                .map_err(wrap)?;
            grads.clear();
            for name in &self.names {
                grads.extend_from_slice(g.get(name).expect("an own parameter name"));
            }
        }
        *self.grads.borrow_mut() = grads;
        Ok(dx)
    }
}

impl<A: CandleActivation + Formula> CustomOp2 for ChannelBackward<A> {
    fn name(&self) -> &'static str {
        self.act.name()
    }
    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        xl: &Layout,
        dy: &CpuStorage,
        dyl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        same_shape_and_dtype(x, xl, dy, dyl)?;
        let layout = channel_layout(&self.act, xl.dims(), self.dim)?;
        let out = match (x, dy) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => {
                CpuStorage::F32(self.run(layout, &elements(a, xl), &elements(b, dyl))?)
            }
            (CpuStorage::F64(a), CpuStorage::F64(b)) => {
                CpuStorage::F64(self.run(layout, &elements(a, xl), &elements(b, dyl))?)
            }
            (CpuStorage::F16(a), CpuStorage::F16(b)) => {
                let dx = self.run(layout, &widen(a, xl), &widen(b, dyl))?;
                CpuStorage::F16(dx.into_iter().map(f16::from_f32).collect())
            }
            (CpuStorage::BF16(a), CpuStorage::BF16(b)) => {
                let dx = self.run(layout, &widen(a, xl), &widen(b, dyl))?;
                CpuStorage::BF16(dx.into_iter().map(bf16::from_f32).collect())
            }
            (other, _) => {
                return Err(candle_core::Error::UnsupportedDTypeForOp(
                    other.dtype(),
                    self.act.name(),
                ));
            }
        };
        Ok((out, xl.shape().clone()))
    }
}

/// `dx` from a backward op on `(x, dy)`, and the parameter gradients the op kept in `grads`
/// as a tensor of `params`' shape and dtype.
fn dx_and_param_grads(
    x: &Tensor,
    dy: &Tensor,
    op: &impl CustomOp2,
    grads: &RefCell<Vec<f64>>,
    params: &Tensor,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let dx = x.apply_op2_no_bwd(dy, op)?;
    let dparams = Tensor::from_vec(grads.take(), params.shape(), params.device())?
        .to_dtype(params.dtype())?;
    Ok((Some(dx), Some(dparams)))
}

/// A half-precision tensor's elements in f32.
fn widen<T: Storage<Compute = f32>>(data: &[T], l: &Layout) -> Vec<f32> {
    elements(data, l).iter().map(|v| v.to_compute()).collect()
}

/// The backward's two inputs agree in shape and dtype (candle's errors otherwise).
fn same_shape_and_dtype(x: &CpuStorage, xl: &Layout, dy: &CpuStorage, dyl: &Layout) -> Result<()> {
    if xl.shape() != dyl.shape() {
        return Err(candle_core::Error::ShapeMismatchBinaryOp {
            lhs: xl.shape().clone(),
            rhs: dyl.shape().clone(),
            op: "actigen backward",
        });
    }
    if x.dtype() != dy.dtype() {
        return Err(candle_core::Error::DTypeMismatchBinaryOp {
            lhs: x.dtype(),
            rhs: dy.dtype(),
            op: "actigen backward",
        });
    }
    Ok(())
}

/// A clear error for a tensor that is not on the CPU.
fn on_cpu<A: ActivationInfo>(act: &A, t: &Tensor) -> Result<()> {
    if t.device().is_cpu() {
        Ok(())
    } else {
        Err(candle_core::Error::Msg(format!(
            "actigen: `{}` runs on the CPU only (yet); this tensor is on {:?}: move it with \
             `.to_device(&Device::Cpu)`",
            act.name(),
            t.device().location()
        )))
    }
}

/// An actigen error as a candle one.
fn wrap(e: crate::Error) -> candle_core::Error {
    candle_core::Error::Msg(format!("actigen: {e}"))
}

/// The tensor's elements in row-major order: the storage itself where the layout is
/// contiguous, else gathered once.
fn elements<'a, T: Copy>(data: &'a [T], layout: &Layout) -> std::borrow::Cow<'a, [T]> {
    if let Some((start, end)) = layout.contiguous_offsets() {
        return std::borrow::Cow::Borrowed(&data[start..end]);
    }
    let dims = layout.dims();
    let stride = layout.stride();
    let n = layout.shape().elem_count();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return std::borrow::Cow::Owned(out);
    }
    let mut index = vec![0usize; dims.len()];
    let mut offset = layout.start_offset();
    'outer: loop {
        out.push(data[offset]);
        // The next multi-index, last axis fastest.
        let mut k = dims.len();
        loop {
            if k == 0 {
                break 'outer;
            }
            k -= 1;
            index[k] += 1;
            offset += stride[k];
            if index[k] < dims[k] {
                break;
            }
            offset -= stride[k] * dims[k];
            index[k] = 0;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The parameter values of a 1-D tensor's storage, as f64.
fn param_values(act: &dyn ActivationInfo, s: &CpuStorage, l: &Layout) -> Result<Vec<f64>> {
    let v: Vec<f64> = match s {
        CpuStorage::F32(d) => elements(d, l).iter().map(|&v| f64::from(v)).collect(),
        CpuStorage::F64(d) => elements(d, l).to_vec(),
        CpuStorage::F16(d) => elements(d, l).iter().map(|&v| f64::from(v)).collect(),
        CpuStorage::BF16(d) => elements(d, l).iter().map(|&v| f64::from(v)).collect(),
        other => {
            return Err(candle_core::Error::UnsupportedDTypeForOp(
                other.dtype(),
                act.name(),
            ));
        }
    };
    let want = act.param_names().len();
    if l.dims().len() != 1 || v.len() != want {
        return Err(candle_core::Error::Msg(format!(
            "actigen: `{}` takes a 1-D parameter tensor of {want} value(s) ({}), got shape {:?}",
            act.name(),
            act.param_names().join(", "),
            l.dims()
        )));
    }
    Ok(v)
}

/// `act` with its parameters set from `values` (checked as `set_param` checks them).
fn with_values<A: CandleActivation>(act: &A, values: &[f64]) -> Result<A> {
    let mut a = act.clone();
    for (name, &v) in act.param_names().iter().zip(values) {
        a.set_param(name, v).map_err(wrap)?;
    }
    Ok(a)
}

/// Forward on one storage type.
fn forward_on<T: Storage, A: Activation<T>>(act: &A, data: &[T], l: &Layout) -> Result<Vec<T>> {
    let x = elements(data, l);
    let mut y = vec![zero::<T>(); x.len()];
    act.try_forward_on(
        crate::try_active_isa().map_err(|e| wrap(e.into()))?,
        &x,
        &mut y,
    )
    .map_err(wrap)?;
    Ok(y)
}

/// Forward on whichever storage type `s` holds.
fn forward<A: CandleActivation>(
    act: &A,
    s: &CpuStorage,
    l: &Layout,
) -> Result<(CpuStorage, Shape)> {
    let out = match s {
        CpuStorage::F32(d) => CpuStorage::F32(forward_on(act, d, l)?),
        CpuStorage::F64(d) => CpuStorage::F64(forward_on(act, d, l)?),
        CpuStorage::F16(d) => CpuStorage::F16(forward_on(act, d, l)?),
        CpuStorage::BF16(d) => CpuStorage::BF16(forward_on(act, d, l)?),
        other => {
            return Err(candle_core::Error::UnsupportedDTypeForOp(
                other.dtype(),
                act.name(),
            ));
        }
    };
    Ok((out, l.shape().clone()))
}

/// Applies `f` (no parameters as tensors).
struct Op1<A>(A);

impl<A: CandleActivation> CustomOp1 for Op1<A> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        forward(&self.0, s, l)
    }
    fn bwd(&self, x: &Tensor, _y: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        let op = Backward {
            act: self.0.clone(),
            grads: RefCell::new(Vec::new()),
        };
        Ok(Some(x.apply_op2_no_bwd(dy, &op)?))
    }
}

/// Applies `f` with the parameters of a tensor.
struct Op2<A>(A);

impl<A: CandleActivation> CustomOp2 for Op2<A> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn cpu_fwd(
        &self,
        s: &CpuStorage,
        l: &Layout,
        ps: &CpuStorage,
        pl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let act = with_values(&self.0, &param_values(&self.0, ps, pl)?)?;
        forward(&act, s, l)
    }
    fn bwd(
        &self,
        x: &Tensor,
        params: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let values: Vec<f64> = params.to_dtype(DType::F64)?.to_vec1()?;
        let op = Backward {
            act: with_values(&self.0, &values)?,
            grads: RefCell::new(Vec::new()),
        };
        dx_and_param_grads(x, dy, &op, &op.grads, params)
    }
}

/// `dx = dy·f′(x)` (and the parameter gradients, kept in `grads`) in one pass.
struct Backward<A> {
    act: A,
    grads: RefCell<Vec<f64>>,
}

impl<A: CandleActivation> Backward<A> {
    fn run<T: Storage>(&self, x: &[T], xl: &Layout, dy: &[T], dyl: &Layout) -> Result<Vec<T>>
    where
        A: Activation<T>,
    {
        let (x, dy) = (elements(x, xl), elements(dy, dyl));
        let mut dx = vec![zero::<T>(); x.len()];
        let mut g = vec![0.0; self.act.param_names().len()];
        self.act
            .try_backward_with_param_grads(&x, &dy, &mut dx, &mut g)
            .map_err(wrap)?;
        *self.grads.borrow_mut() = g;
        Ok(dx)
    }
}

impl<A: CandleActivation> CustomOp2 for Backward<A> {
    fn name(&self) -> &'static str {
        self.act.name()
    }
    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        xl: &Layout,
        dy: &CpuStorage,
        dyl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        same_shape_and_dtype(x, xl, dy, dyl)?;
        let out = match (x, dy) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => CpuStorage::F32(self.run(a, xl, b, dyl)?),
            (CpuStorage::F64(a), CpuStorage::F64(b)) => CpuStorage::F64(self.run(a, xl, b, dyl)?),
            (CpuStorage::F16(a), CpuStorage::F16(b)) => {
                CpuStorage::F16(self.run::<f16>(a, xl, b, dyl)?)
            }
            (CpuStorage::BF16(a), CpuStorage::BF16(b)) => {
                CpuStorage::BF16(self.run::<bf16>(a, xl, b, dyl)?)
            }
            (other, _) => {
                return Err(candle_core::Error::UnsupportedDTypeForOp(
                    other.dtype(),
                    self.act.name(),
                ));
            }
        };
        Ok((out, xl.shape().clone()))
    }
}
