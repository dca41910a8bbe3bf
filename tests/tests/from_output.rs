//! Backward from the output: for the nine activations whose derivative can be written in terms
//! of y = f(x), `backward_from_output(y, dy)` must agree with the f64 reference derivative at x,
//! within the tolerance of `backward(x, dy)` widened by what rounding y to f32 loses: the
//! derivative's slope in y (at most 2 for these nine) times y's spacing. Near saturation y is
//! exactly ±1 and no method can recover a derivative below that spacing. Swish has no such form.

use actigen::Formula;
use actigen::{Error, Isa, by_name};
use actigen_tests::{GRAD_ABS, GRAD_REL, battery_f32, close, reference};

#[test]
fn eight_activations_have_a_backward_from_the_output() {
    let x = battery_f32();
    let n = x.len();
    for name in [
        "sigmoid", "tanh", "softsign", "relu", "softrelu", "leaky", "elu", "selu",
    ] {
        let act = by_name(name, &[]).unwrap();
        let params: Vec<f64> = act.params().iter().map(|&p| p as f64).collect();
        for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            let mut y = vec![0f32; n];
            act.try_forward_on(isa, &x, &mut y).unwrap();
            let mut dx = vec![0f32; n];
            act.try_backward_from_output_on(isa, &y, &vec![1.0; n], &mut dx)
                .unwrap();
            for i in 0..n {
                let want = reference(name)(x[i] as f64, &params).1;
                let spacing = (y[i].abs().max(f32::MIN_POSITIVE) as f64) * f32::EPSILON as f64;
                assert!(
                    close(dx[i] as f64, want, GRAD_REL, GRAD_ABS + 2.0 * spacing),
                    "{isa} {name}: from the output y = {:e} (x = {:e}): {:e}, want {want:e}",
                    y[i],
                    x[i],
                    dx[i]
                );
            }
        }
    }
}

#[test]
fn the_derived_forms_are_the_textbook_ones() {
    assert_eq!(actigen::Sigmoid::FROM_OUTPUT, Some("y * (1.0 - y)"));
    assert_eq!(actigen::Tanh::FROM_OUTPUT, Some("1.0 - y * y"));
    assert_eq!(
        actigen::Relu::FROM_OUTPUT,
        Some("if y > 0.0 { 1.0 } else { 0.0 }")
    );
    assert_eq!(
        actigen::Elu::FROM_OUTPUT,
        Some("if y > 0.0 { 1.0 } else { y + alpha }")
    );
    assert_eq!(
        actigen::Softsign::FROM_OUTPUT,
        Some("(1.0 - abs(y)) * (1.0 - abs(y))")
    );
    assert_eq!(actigen::Softrelu::FROM_OUTPUT, Some("-exp_m1(-y)"));
    assert_eq!(actigen::Swish::FROM_OUTPUT, None);
}

#[test]
fn swish_and_prelu_have_none_and_ranges_are_enforced() {
    for name in ["swish", "prelu"] {
        let act = by_name(name, &[]).unwrap();
        let mut dx = [0f32; 2];
        let e = act
            .try_backward_from_output_on(Isa::Portable, &[1.0f32, 2.0], &[1.0, 1.0], &mut dx)
            .unwrap_err();
        assert!(
            matches!(e, Error::NoBackwardFromOutput { activation } if activation == name),
            "{e}"
        );
    }
    // PReLU's alpha may be negative (a learned value can be, as in gluon and PyTorch).
    let prelu = by_name("prelu", &[("alpha", -0.5)]).unwrap();
    let mut y = [0f32; 3];
    prelu.forward(&[-2.0f32, 0.0, 3.0], &mut y);
    assert_eq!(y, [1.0, -0.0, 3.0]);

    let e = by_name("elu", &[("alpha", -1.0)]).err().unwrap();
    assert_eq!(
        e.to_string(),
        "parameter `alpha` = -1 is outside its range 0..inf"
    );
    let elu = actigen::Elu::new(-1.0);
    let e = elu
        .try_backward_from_output(&[0.5f32], &[1.0], &mut [0.0])
        .unwrap_err();
    assert!(matches!(e, Error::ParamOutOfRange { .. }), "{e}");
    // A valid one through the inherent method.
    let mut dx = [0f64; 3];
    actigen::Elu::new(0.5).backward_from_output(&[-0.25f64, 0.0, 2.0], &[2.0, 2.0, 2.0], &mut dx);
    assert_eq!(dx, [2.0 * (-0.25 + 0.5), 2.0 * 0.5, 2.0]);
}
