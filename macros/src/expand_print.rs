//! A developer's aid, not run by default: prints what `#[activation]` expands a formula into.
//!
//! ```text
//! ACTIGEN_EXPAND='fn isru(x: f32) -> f32 { x / (x * x + 1.0).sqrt() }' \
//!     cargo test -p actigen-macros --lib -- --ignored --nocapture print_expansion
//! ```
//!
//! (`ACTIGEN_EXPAND_ATTR` gives the attribute's arguments, e.g. `strict`.) The output is the
//! token stream as one line; `tools/expansion_diff.py` compares the kernels it holds between
//! two commits.

#[test]
#[ignore]
fn print_expansion() {
    let item = std::env::var("ACTIGEN_EXPAND").expect("ACTIGEN_EXPAND holds the function");
    let attr = std::env::var("ACTIGEN_EXPAND_ATTR").unwrap_or_default();
    let attr: proc_macro2::TokenStream = attr.parse().expect("attribute arguments");
    let item: proc_macro2::TokenStream = item.parse().expect("a Rust function");
    println!("{}", crate::expand::activation(attr, item));
}
