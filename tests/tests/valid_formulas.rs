//! Valid formulas, each written as a user's program (`valid_formulas/*.rs`, with its own
//! imports and a `main` that checks a few values), compiled with the test crate and run.
//!
//! These were trybuild `pass` cases. trybuild builds its crates with `cargo build` once a
//! suite has a `pass` case, and with `cargo check` when it has only `compile_fail` ones: as
//! ordinary tests they spare the UI test a second build of the runtime (147 of the test
//! command's 933 s at ad622fd), and each file still sees only what it imports.

// Some files define activations only to show that they compile, and formulas use the forms
// the language accepts rather than the ones clippy prefers (`!(x >= a)`, `max(..).min(..)`).
#![allow(dead_code, clippy::neg_cmp_op_on_partial_ord, clippy::manual_clamp)]

macro_rules! valid_formulas {
    ($($file:ident),+ $(,)?) => {$(
        mod $file {
            include!(concat!("valid_formulas/", stringify!($file), ".rs"));

            #[test]
            fn compiles_and_runs() {
                main();
            }
        }
    )+};
}

valid_formulas!(
    constants_and_conditions,
    every_method,
    odd_names_and_constants,
    swish_variant,
);
