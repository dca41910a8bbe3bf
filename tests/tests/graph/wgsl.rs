//! The WGSL backend's shaders parse and validate (naga, the shader compiler wgpu uses) for
//! every pass of every built-in, gated unit and custom formula, with f32, binary16 and
//! bfloat16 storage, and the passes an activation lacks are errors.

// `everything` negates a comparison on purpose: the graph's `Not`.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use actigen::wgsl::{Pass, Source, Storage};
use actigen::{Error, activation};
use actigen_tests::custom::{Gelu, GeluTanh, Mish};

/// Every operation of the formula language.
#[activation]
fn everything(x: f32, #[default(1.5)] p: f32) -> f32 {
    let a = if x > 0.25 && x < 4.0 || !(x >= -3.0) {
        (x.abs() + 1.0).powf(p).sqrt()
    } else {
        x.max(-1.0).min(x * x) * x.exp_m1() / (1.0 + x.exp())
    };
    a + (x * x + 1.0).ln() + x.sin() * x.cos() - (0.5 * x).abs().ln_1p() + erf(x) + sigmoid(x)
}

/// Parses and validates `src`, with the error in the panic message.
fn validate(name: &str, pass: Pass, src: &str) {
    if std::env::var_os("ACTIGEN_DUMP_WGSL").is_some() {
        std::fs::write(format!("/tmp/{name}_{pass:?}.wgsl"), src).unwrap();
    }
    let module = match naga::front::wgsl::parse_str(src) {
        Ok(m) => m,
        Err(e) => panic!("{name} {pass:?}: {}", e.emit_to_string(src)),
    };
    let mut v = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    );
    if let Err(e) = v.validate(&module) {
        panic!("{name} {pass:?}: {}", e.emit_to_string(src));
    }
}

fn all_passes(src: Source) {
    let one = src.ir.inputs == 1;
    for (pass, storage) in [
        Pass::Forward,
        Pass::Backward,
        Pass::Grad2,
        Pass::BackwardFromOutput,
    ]
    .into_iter()
    .flat_map(|p| [(p, Storage::F32), (p, Storage::F16), (p, Storage::Bf16)])
    {
        match src.wgsl_as(pass, storage) {
            Ok(s) => validate(src.name, pass, &s),
            Err(Error::NoBackwardFromOutput { .. }) => {
                assert!(pass == Pass::BackwardFromOutput && src.ir.from_output.is_none())
            }
            Err(Error::MultiInput { inputs, .. }) => {
                // Grad2 of several inputs is the double backward; only the from-output
                // form needs one input.
                assert!(!one && inputs == src.ir.inputs && pass == Pass::BackwardFromOutput)
            }
            Err(e) => panic!("{}: {e}", src.name),
        }
    }
}

#[test]
fn every_shader_validates() {
    use actigen::*;
    macro_rules! one {
        ($($t:ty),*) => {$( all_passes(Source::of::<$t>()); )*};
    }
    macro_rules! two {
        ($($t:ty),*) => {$( all_passes(Source::of_multi::<$t, 2>()); )*};
    }
    one!(
        Sigmoid, Tanh, Softsign, Relu, Softrelu, Leaky, Prelu, Elu, Selu, Swish, Snake, SnakeBeta,
        Xielu, Gelu, GeluTanh, Mish, Everything
    );
    two!(Swiglu, Geglu, GegluTanh, Reglu, SwigluOai, Glu);
}
