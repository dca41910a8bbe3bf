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
//! The crate provides:
//! - [`macro@activation`], the attribute macro (from `actigen-macros`);
//! - the ten activations of the MXNet guide ([`Sigmoid`], [`Tanh`], [`Softsign`], [`Relu`],
//!   [`Softrelu`], [`Leaky`], [`Prelu`], [`Elu`], [`Selu`], [`Swish`]) and [`by_name`];
//! - the [`Activation`] slice API, runtime ISA dispatch ([`active_isa`]), the vector layer
//!   ([`simd`]) and the vector math ([`math`]).

#![warn(missing_docs)]

// Generated code names this crate `::actigen`, also inside it.
extern crate self as actigen;

mod activation;
pub mod builtin;
mod dispatch;
mod driver;
pub mod formula;
pub mod functions;
pub mod math;
pub mod simd;

pub use actigen_macros::activation;
pub use activation::{Activation, Error};
pub use builtin::{
    DynActivation, Elu, Leaky, Prelu, Relu, Selu, Sigmoid, Softrelu, Softsign, Swish, Tanh, by_name,
};
pub use dispatch::{ISA_ENV, Isa, IsaError, active_isa, try_active_isa};
pub use driver::Float;
pub use functions::{erf, erfc, sigmoid, softplus};
