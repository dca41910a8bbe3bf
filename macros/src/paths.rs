//! The one place generated code names the runtime crate.
//!
//! Every path into `actigen` is built from [`rt`]: the runtime's `#[doc(hidden)] __private`
//! module, which re-exports everything generated code uses (the `Formula` trait and its guard
//! types, `Vector`/`Mask`, the vector math, the scalar functions, `Float`, `Error`,
//! `Activation`, `try_active_isa`, `MAX_PARAMS`). Moving a runtime item is a change there and
//! none here. The runtime crate's path is `::actigen` unless the user gives another with
//! `#[activation(crate = path)]` (a renamed dependency, a framework's re-export; the built-in
//! activations, defined inside the runtime, use `crate = crate`).

use proc_macro2::TokenStream;
use quote::quote;

/// The path of the runtime's contract module, for the runtime crate at `krate`.
pub fn rt(krate: &TokenStream) -> TokenStream {
    quote!(#krate::__private)
}
