//! The `#[activation]` attribute macro of [actigen](https://docs.rs/actigen).
//!
//! Use it through the `actigen` crate, which re-exports it and provides the runtime the
//! generated code calls. Pipeline, one module each: `parse` the function, `lower` its body to an
//! arena `ir`, apply the stability `rewrite`s, `diff`erentiate symbolically (and find the
//! derivative in terms of the `output` where one exists), measure the accuracy (`analysis`,
//! against the `dd` reference), apply the gated `repair`s where it finds a loss and patch one
//! at 0 with a `series` (`accuracy`), decide the kernels' `guards`, and
//! `expand` into the original function, a parameter struct and SIMD-generic kernel bodies.

mod accuracy;
mod analysis;
mod dd;
mod diff;
mod expand;
mod export;
#[cfg(test)]
mod expand_print;
#[cfg(test)]
mod fuzz;
mod guards;
mod ir;
mod lower;
mod output;
mod parse;
mod paths;
mod print;
#[cfg(test)]
mod proptests;
mod repair;
mod rewrite;
mod series;

use proc_macro::TokenStream;

/// Turns a scalar `f32` formula into an activation with derived gradients and SIMD kernels.
///
/// ```ignore
/// use actigen::activation;
///
/// #[activation]
/// pub fn swish(x: f32, #[default(1.0)] beta: f32) -> f32 {
///     x * sigmoid(beta * x)
/// }
/// // generates `Swish { beta }`, implementing `actigen::Activation<f32>` and `<f64>`.
/// ```
///
/// The first argument is the input; each further argument is a parameter with a
/// `#[default(value)]`. `#[activation(name = MyName)]` renames the generated struct (by
/// default the function's name in UpperCamelCase); `#[activation(from_output)]` requires the
/// backward pass from the output (a compile error says why where f′ cannot be written in terms
/// of f); `#[activation(strict)]` fails the build where the macro's accuracy analysis finds the
/// f32 kernels of the forward or a first derivative missing its targets after every repair;
/// `#[activation(crate = path)]` names the runtime crate where it is not `::actigen`
/// (a renamed dependency, a framework's re-export). The formula language, the attributes and
/// what the kernels guarantee are in `actigen::guide`
/// (<https://docs.rs/actigen/latest/actigen/guide/index.html>), with runnable examples.
#[proc_macro_attribute]
pub fn activation(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::activation(attr.into(), item.into()).into()
}
