//! # actigen
//!
//! Write an activation function as a scalar Rust formula; get its exact gradient and fast,
//! numerically stable SIMD forward and backward kernels, derived at compile time.
//!
//! ```
//! use actigen::{Activation, activation};
//!
//! /// Swish with a learnable slope.
//! #[activation]
//! pub fn my_swish(x: f32, #[default(1.0)] beta: f32) -> f32 {
//!     x * sigmoid(beta * x)
//! }
//!
//! let act = MySwish::default();
//! let x = [-2.0f32, 0.0, 3.0];
//! let mut y = [0.0f32; 3];
//! act.forward(&x, &mut y);
//! let mut dx = [0.0f32; 3];
//! act.backward(&x, &[1.0; 3], &mut dx);          // dx = f'(x)
//! let dbeta = act.param_grads(&x, &[1.0; 3]);     // Σ ∂f/∂beta
//! assert!((y[2] - 3.0 / (1.0 + (-3.0f32).exp())).abs() < 1e-6);
//! assert_eq!(dbeta.len(), 1);
//! ```
//!
//! The [`guide`] teaches the formula language, the macro's attributes, its rewrites and the
//! kernels' guarantees, with runnable examples. The crate provides:
//! - [`macro@activation`], the attribute macro (from `actigen-macros`);
//! - the ten activations of the MXNet guide ([`Sigmoid`], [`Tanh`], [`Softsign`], [`Relu`],
//!   [`Softrelu`], [`Leaky`], [`Prelu`], [`Elu`], [`Selu`], [`Swish`]) and [`by_name`]
//!   (which also builds activations you [`register`](builtin::register));
//! - six gated units of two inputs ([`Swiglu`], [`Geglu`], [`GegluTanh`], [`Reglu`],
//!   [`SwigluOai`], [`Glu`]) and [`builtin::multi_by_name`]; any formula with several inputs
//!   gets the [`MultiActivation`] slice API (fused backward, gradients in place);
//! - per-channel parameters ([`channels::ChannelActivation`]: PReLU's alpha per channel,
//!   channels-first or channels-last, gradients per channel), with [`Snake`], [`SnakeBeta`]
//!   and [`Xielu`] among the built-ins;
//! - the [`Activation`] slice API, [`ActivationInfo`] (name and parameters, read and set by
//!   name) and the [`Formula`] each activation implements (its formula and derivatives,
//!   printed);
//! - runtime ISA dispatch ([`Isa`], [`active_isa`]): AVX-512F, AVX2+FMA, NEON, and a portable
//!   4-lane path for every other CPU;
//! - slices of `f32`, `f64` and (feature `half`, on by default) [`half::f16`] and
//!   [`half::bf16`], computed in f32 ([`Storage`]);
//! - long slices split across the current rayon pool's threads, with results bit-identical to
//!   one thread ([`parallel`], feature `rayon`, on by default);
//! - (feature `ndarray`) `actigen::ndarray::NdActivation`: the slice API on `ndarray` arrays
//!   of any dimension and layout;
//! - (feature `candle`) `actigen::candle`: activations as candle ops with a backward, learnable
//!   parameters as tensors;
//! - (feature `wgsl`) `actigen::wgsl`: WGSL compute shaders for any activation, translated
//!   from its graph, with the runtime's own vector math recorded as WGSL; (feature `gpu`)
//!   `actigen::gpu::Gpu`: those shaders run through wgpu, on device buffers or host slices;
//! - each activation's expressions as data ([`ir`], [`Formula::IR`]): the graph the macro
//!   derived, for backends other than the CPU kernels, with an interpreter;
//! - the vector layer ([`simd`]) and the vector math ([`math`]), for code that wants them.

#![warn(missing_docs)]

// Modules in dependency order: each uses only those above it.
pub(crate) mod tables; // the vector math's constants (data only)
pub mod simd; // the vector trait and one file per ISA
mod dispatch; // the ISA table: detection, per-ISA vector types, trampolines
pub mod math; // the vector math over `simd::Vector`
pub mod ir; // the formula as data (`Formula::IR`), for backends other than the CPU kernels
mod functions; // scalar functions a formula may call
mod formula; // the `Formula` trait the macro implements, and the guards
mod error; // `Error`
mod driver; // slice passes, generic over the vector type
pub mod parallel; // chunks across the current rayon pool's threads
mod storage; // storage types (f32, f64, f16, bf16) and their conversions
mod activation; // the slice API over every `Formula`
pub mod multi; // the slice API over every `MultiFormula` (several inputs)
pub mod channels; // per-channel parameters (`ChannelActivation`, `MultiChannelActivation`)
pub mod builtin; // the ten activations and `by_name`
#[cfg(feature = "wgsl")]
pub mod wgsl; // WGSL compute shaders from the graph (`ir`)
#[cfg(feature = "gpu")]
pub mod gpu; // the WGSL shaders run through wgpu
#[cfg(feature = "ndarray")]
pub mod ndarray; // `NdActivation`: the slice API on `ndarray` arrays
#[cfg(feature = "candle")]
pub mod candle; // activations as candle ops with a backward
#[doc = include_str!("guide.md")]
pub mod guide {} // the formula language, the attributes, the guarantees (docs only)

pub use actigen_macros::activation;
pub use activation::{Activation, ActivationInfo};
pub use builtin::{
    DynActivation, Elu, Geglu, GegluTanh, Glu, Leaky, Prelu, Reglu, Relu, Selu, Sigmoid, Snake,
    SnakeBeta, Softrelu, Softsign, Swiglu, SwigluOai, Swish, Tanh, Xielu, by_name,
};
pub use dispatch::Storage;
pub use dispatch::{Float, ISA_ENV, Isa, IsaError, active_isa, try_active_isa};
pub use error::Error;
pub use formula::{Formula, MultiFormula};
pub use functions::{erf, erfc, sigmoid, softplus};
#[cfg(feature = "half")]
pub use half;
pub use multi::MultiActivation;
pub use parallel::set_parallel;

/// The contract with `#[activation]`: every item generated code names, behind one path (the
/// macro builds each path from `paths.rs`, and each expansion checks the shared constants with
/// a `const` assertion). Not public API: it changes with the macro, in lockstep.
#[doc(hidden)]
pub mod __private {
    pub use crate::activation::checked_param;
    pub use crate::dispatch::IsaVectors;
    pub use crate::formula::{
        GradMasks, Grads, Guard, Guards, MAX_INPUTS, MAX_PARAMS, MultiGradMasks, MultiGrads,
        MultiGuards, ParamVectors,
    };
    pub use crate::ir;
    pub use crate::simd::{Mask, Vector};
    pub use crate::{
        Activation, ActivationInfo, Error, Float, Formula, MultiFormula, Storage, try_active_isa,
    };

    /// The vector math the kernel bodies call.
    pub mod math {
        pub use crate::math::{
            add_err, cos, erf, erfc, erfc_shifted, exp, exp_m1, exp_shifted, linear_mul_sigmoid,
            ln, ln_1p, max_num, min_num, mul_erfc, mul_erfc_shifted, mul_err, mul_sigmoid,
            mul_sigmoid_product, mul_sigmoid_shifted, mul2_sigmoid_product, powf, powi, sigmoid,
            sigmoid_product, sigmoid_shifted, sin, softplus, sub_err, tanh, unreliable,
        };
    }

    /// The scalar functions a formula may call, brought into scope in the re-emitted function.
    pub mod functions {
        pub use crate::functions::{erf, erfc, sigmoid, softplus};
    }
}
