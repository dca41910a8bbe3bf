//! The one place generated code names the runtime crate.
//!
//! Every path into `actigen` is built from [`rt`], so moving a runtime item is a one-line
//! change here. The runtime declares `extern crate self as actigen`, so the same path works
//! for the ten built-in activations defined inside it.

use proc_macro2::TokenStream;
use quote::quote;

/// The runtime crate's path.
pub fn rt() -> TokenStream {
    quote!(::actigen)
}
