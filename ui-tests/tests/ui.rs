//! Compile-time behaviour of `#[activation]`: mistakes are compile errors pointing at the
//! sub-expression at fault (each `.stderr` is checked). Valid formulas compile and run in the
//! test crate's `valid_formulas.rs`: with only `compile_fail` cases trybuild checks (`cargo
//! check`) rather than builds, so the runtime's kernels are not compiled a second time here.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
}
