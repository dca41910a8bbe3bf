//! Compile-time behaviour of `#[activation]`: mistakes are compile errors pointing at the
//! sub-expression at fault (each `.stderr` is checked), and valid formulas compile and run.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
