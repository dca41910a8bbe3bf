//! The ten activations written in their textbook forms (as the MXNet guide and the papers give
//! them: exp(x) − 1, ln(1 + eˣ), the exp form of tanh, 1/(1 + e⁻ˣ), x/(1 + e^(−βx))) must come
//! out of the macro's stability rewrites as good as the runtime's own definitions: the same
//! bounds against the same f64 references over the full range, ±inf and NaN included.

use actigen::activation;
use actigen_tests::{TestActivation, check_all_isas};

#[activation]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[activation]
fn tanh(x: f32) -> f32 {
    (x.exp() - (-x).exp()) / (x.exp() + (-x).exp())
}

#[activation]
fn softsign(x: f32) -> f32 {
    x / (x.abs() + 1.0)
}

#[activation]
fn relu(x: f32) -> f32 {
    x.max(0.0)
}

#[activation]
fn softrelu(x: f32) -> f32 {
    (1.0 + x.exp()).ln()
}

#[activation]
fn leaky(x: f32, #[default(0.01)] alpha: f32) -> f32 {
    if x > 0.0 { x } else { alpha * x }
}

#[activation]
fn prelu(x: f32, #[default(0.25)] alpha: f32) -> f32 {
    x.max(0.0) + alpha * x.min(0.0)
}

#[activation]
fn elu(x: f32, #[default(1.0)] alpha: f32) -> f32 {
    if x > 0.0 { x } else { alpha * (x.exp() - 1.0) }
}

#[activation]
fn selu(x: f32) -> f32 {
    let lambda = 1.050_700_987_355_480_493_4;
    let alpha = 1.673_263_242_354_377_284_8;
    if x > 0.0 {
        lambda * x
    } else {
        lambda * (alpha * x.exp() - alpha)
    }
}

#[activation]
fn swish(x: f32, #[default(1.0)] beta: f32) -> f32 {
    x / (1.0 + (-beta * x).exp())
}

#[test]
fn textbook_forms_are_as_accurate_as_the_runtime_definitions() {
    let acts: Vec<(&str, Box<dyn TestActivation>)> = vec![
        ("sigmoid", Box::new(Sigmoid)),
        ("tanh", Box::new(Tanh)),
        ("softsign", Box::new(Softsign)),
        ("relu", Box::new(Relu)),
        ("softrelu", Box::new(Softrelu)),
        ("leaky", Box::new(Leaky::default())),
        ("prelu", Box::new(Prelu::default())),
        ("elu", Box::new(Elu::default())),
        ("selu", Box::new(Selu)),
        ("swish", Box::new(Swish::default())),
    ];
    let refs: Vec<_> = acts.iter().map(|(n, a)| (*n, &**a)).collect();
    let failures = check_all_isas("textbook ", &refs);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
