//! The slice API's contracts: length errors before any write, `by_name`, parameter gradients
//! on long slices, the fused backward.

use actigen::{Activation, Error, Prelu, Swish, by_name};

#[test]
fn mismatched_lengths_are_errors_and_nothing_is_written() {
    let act = Swish::default();
    let x = [1.0f32; 8];
    let mut y = [7.0f32; 7];
    let e = act.try_forward(&x, &mut y).unwrap_err();
    assert_eq!(
        e.to_string(),
        "length mismatch: `x` has 8 elements but `y` has 7; nothing was written"
    );
    assert_eq!(y, [7.0; 7]);
    let mut dx = [7.0f32; 8];
    let e = act.try_backward(&x, &[1.0; 9], &mut dx).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Length {
                found_name: "dy",
                found: 9,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(dx, [7.0; 8]);
    let mut dx = [7.0f32; 3];
    let mut g = [5.0f64; 1];
    assert!(
        act.try_backward_with_param_grads(&x, &[1.0; 8], &mut dx, &mut g)
            .is_err()
    );
    assert_eq!((dx, g), ([7.0; 3], [5.0]));
    assert!(act.try_param_grads(&x, &[1.0; 2]).is_err());
}

#[test]
#[should_panic(expected = "length mismatch: `x` has 2 elements but `y` has 1")]
fn panicking_variant_says_why() {
    Swish::default().forward(&[1.0f32, 2.0], &mut [0.0f32]);
}

#[test]
fn by_name_knows_mxnet_names_and_aliases() {
    for (name, params) in [
        ("sigmoid", 0),
        ("tanh", 0),
        ("softsign", 0),
        ("relu", 0),
        ("softrelu", 0),
        ("softplus", 0),
        ("leaky", 1),
        ("leaky_relu", 1),
        ("prelu", 1),
        ("elu", 1),
        ("selu", 0),
        ("swish", 1),
        ("silu", 1),
        ("snake", 1),
        ("snake_beta", 2),
        ("xielu", 4),
    ] {
        let a = by_name(name, &[]).unwrap();
        assert_eq!(a.param_names().len(), params, "{name}");
    }
    // The per-channel built-ins by name: their parameters set, their values the types' own.
    let x = [-3.0f32, -0.5, 0.0, 0.7, 4.0];
    let by = |name: &str, params: &[(&str, f64)]| {
        let mut y = [0.0f32; 5];
        by_name(name, params).unwrap().forward(&x, &mut y);
        y
    };
    let own = |act: &dyn Activation<f32>| {
        let mut y = [0.0f32; 5];
        act.forward(&x, &mut y);
        y
    };
    let mut snake = actigen::Snake::default();
    actigen::ActivationInfo::set_param(&mut snake, "a", 2.0).unwrap();
    assert_eq!(by("snake", &[("a", 2.0)]), own(&snake));
    // x + sin²(2x)/2 at x = 0.7, in f64.
    let want = 0.7 + (1.4f64).sin().powi(2) / (2.0 + 1e-9);
    assert!((f64::from(by("snake", &[("a", 2.0)])[3]) - want).abs() < 1e-6);
    assert_eq!(by("snake_beta", &[]), own(&actigen::SnakeBeta::default()));
    assert_eq!(by("xielu", &[]), own(&actigen::Xielu::default()));
    let leaky = by_name("leaky_relu", &[("alpha", 0.2)]).unwrap();
    assert_eq!(leaky.params(), vec![0.2]);
    assert_eq!(by_name("prelu", &[]).unwrap().params(), vec![0.25]);
    assert_eq!(by_name("elu", &[]).unwrap().params(), vec![1.0]);
    assert_eq!(by_name("leaky", &[]).unwrap().params(), vec![0.01]);

    let e = by_name("gelu", &[]).err().unwrap().to_string();
    assert!(
        e.starts_with("unknown activation `gelu`; expected one of: sigmoid, tanh"),
        "{e}"
    );
    let e = by_name("elu", &[("beta", 1.0)]).err().unwrap().to_string();
    assert_eq!(e, "`elu` has no parameter `beta`; expected one of: alpha");
    let e = by_name("relu", &[("alpha", 1.0)])
        .err()
        .unwrap()
        .to_string();
    assert_eq!(e, "`relu` has no parameters, got `alpha`");
    for bad in [f64::NAN, f64::INFINITY, 1e39] {
        let e = by_name("swish", &[("beta", bad)]).err().unwrap();
        assert!(matches!(e, Error::NonFiniteParam { .. }), "{e}");
    }
}

#[test]
fn param_grads_stay_accurate_on_ten_million_elements() {
    let n = 10_000_000;
    let x: Vec<f32> = (0..n)
        .map(|i| -5.0 + 10.0 * ((i * 7919) % n) as f32 / n as f32)
        .collect();
    let dy: Vec<f32> = (0..n).map(|i| 0.5 + ((i % 13) as f32) * 0.01).collect();
    let prelu = Prelu::default();
    let got = prelu.param_grads(&x, &dy)[0];
    // ∂prelu/∂alpha = x for x ≤ 0: the exact sum in f64.
    let want: f64 = x
        .iter()
        .zip(&dy)
        .filter(|(x, _)| **x <= 0.0)
        .map(|(&x, &d)| x as f64 * d as f64)
        .sum();
    assert!(((got - want) / want).abs() < 1e-6, "{got} vs {want}");

    let swish = Swish::new(1.3);
    let got = swish.param_grads(&x, &dy)[0];
    let mut parts = vec![0f32; n];
    swish
        .try_param_partials_on(actigen::Isa::Portable, &x, &mut parts)
        .unwrap();
    let want: f64 = parts
        .iter()
        .zip(&dy)
        .map(|(&p, &d)| p as f64 * d as f64)
        .sum();
    assert!(((got - want) / want).abs() < 1e-6, "{got} vs {want}");
}

#[test]
fn fused_backward_equals_separate_passes() {
    let x: Vec<f64> = (0..1000).map(|i| -6.0 + 0.012 * i as f64).collect();
    let dy: Vec<f64> = (0..1000).map(|i| 1.0 + (i % 7) as f64).collect();
    let swish = Swish::new(0.8);
    let mut dx1 = vec![0.0; 1000];
    let mut dx2 = vec![0.0; 1000];
    let mut g = [0.0];
    swish.backward(&x, &dy, &mut dx1);
    swish
        .try_backward_with_param_grads(&x, &dy, &mut dx2, &mut g)
        .unwrap();
    assert_eq!(dx1, dx2);
    let g2 = swish.param_grads(&x, &dy);
    assert!((g[0] - g2[0]).abs() <= 1e-12 * g2[0].abs());
}

#[test]
fn in_place_equals_out_of_place() {
    let x: Vec<f32> = (0..777).map(|i| -20.0 + 0.05 * i as f32).collect();
    for name in actigen_tests::TEN {
        let act = by_name(name, &[]).unwrap();
        let mut y = vec![0f32; x.len()];
        act.forward(&x, &mut y);
        let mut xy = x.clone();
        act.forward_in_place(&mut xy);
        assert_eq!(y, xy, "{name}");
    }
}

/// A framework that re-exports actigen: generated code reaches the runtime through the path
/// given by `crate = ...` (the built-in activations, defined inside the runtime, are the
/// other user: `crate = crate`, with no `::actigen` in scope there).
mod framework {
    pub use actigen as engine;
}

#[actigen::activation(crate = crate::framework::engine)]
fn shifted_softsign(x: f32, #[default(0.5)] c: f32) -> f32 {
    x / (1.0 + x.abs()) + c
}

#[test]
fn an_activation_reaches_the_runtime_through_a_reexport() {
    let act = ShiftedSoftsign::default();
    let x = [-3.0f32, -0.5, 0.0, 0.25, 8.0];
    let (mut y, mut dx) = ([0.0f32; 5], [0.0f32; 5]);
    act.forward(&x, &mut y);
    act.backward(&x, &[1.0; 5], &mut dx);
    for ((&x, &y), &d) in x.iter().zip(&y).zip(&dx) {
        let x = f64::from(x);
        let (want_y, want_d) = (x / (1.0 + x.abs()) + 0.5, 1.0 / (1.0 + x.abs()).powi(2));
        assert!(
            (f64::from(y) - want_y).abs() <= 2e-7,
            "f({x}) = {y}, want {want_y}"
        );
        assert!(
            (f64::from(d) - want_d).abs() <= 2e-7,
            "f'({x}) = {d}, want {want_d}"
        );
    }
    assert_eq!(act.param_grads(&x, &[1.0; 5]), vec![5.0]);
}

/// Every method that panics does so at its caller's line (`#[track_caller]`), where the
/// mistake is, not inside actigen.
#[test]
fn panics_point_at_the_caller() {
    use std::panic::{AssertUnwindSafe, catch_unwind, set_hook, take_hook};
    use std::sync::Mutex;
    use std::thread::{ThreadId, current};
    // The panic hook is global: other tests' panics (on their own threads) are told apart by
    // the thread.
    static SEEN: Mutex<Vec<(ThreadId, String, u32)>> = Mutex::new(Vec::new());
    let previous = take_hook();
    set_hook(Box::new(|info| {
        if let Some(l) = info.location() {
            let seen = (current().id(), l.file().to_string(), l.line());
            SEEN.lock().unwrap().push(seen);
        }
    }));
    /// The line of the call and whether it panicked, with the location the hook saw.
    macro_rules! panics_at {
        ($call:expr) => {{
            let line = line!();
            let panicked = catch_unwind(AssertUnwindSafe(|| {
                $call;
            }))
            .is_err();
            let seen = SEEN.lock().unwrap();
            let here = seen.iter().rev().find(|s| s.0 == current().id()).cloned();
            (stringify!($call), line, panicked, here)
        }};
    }
    let (swish, sigmoid) = (Swish::default(), actigen::Sigmoid);
    let (x, dy) = ([1.0f32; 4], [1.0f32; 3]);
    let mut out = [0.0f32; 4];
    let cases = [
        panics_at!(swish.forward(&x, &mut out[..3])),
        panics_at!(swish.backward(&x, &dy, &mut out)),
        panics_at!(swish.backward_in_place(&x, &mut out[..3])),
        panics_at!(swish.grad2(&x, &dy, &mut out)),
        panics_at!(swish.param_grads(&x, &dy)),
        panics_at!(sigmoid.backward_from_output(&x, &dy, &mut out)),
        panics_at!(sigmoid.backward_from_output_in_place(&mut out, &dy)),
    ];
    set_hook(previous);
    for (call, line, panicked, seen) in cases {
        assert!(panicked, "{call} did not panic");
        let (_, file, at) = seen.unwrap_or_else(|| panic!("{call}: no location recorded"));
        assert!(
            file.ends_with("api.rs") && at == line,
            "{call} panicked at {file}:{at}, not at its call (api.rs:{line})"
        );
    }
}

/// `ActivationInfo`: names and parameters without type annotations, on a boxed activation and a
/// concrete one; a rejected value changes nothing.
#[test]
fn parameters_are_read_and_set_by_name() {
    use actigen::ActivationInfo;
    let mut elu = by_name("elu", &[]).unwrap();
    assert_eq!(
        (elu.name(), elu.param_names(), elu.params()),
        ("elu", &["alpha"][..], vec![1.0])
    );
    elu.set_param("alpha", 0.5).unwrap();
    assert_eq!(elu.param("alpha"), Some(0.5));
    let mut y = [0.0f32];
    elu.forward(&[-1.0f32], &mut y);
    let want = 0.5 * (-1.0f64).exp_m1();
    assert!((f64::from(y[0]) - want).abs() < 1e-7, "{} vs {want}", y[0]);
    for (name, value, error) in [
        (
            "beta",
            1.0,
            "`elu` has no parameter `beta`; expected one of: alpha",
        ),
        ("alpha", f64::NAN, "must be finite"),
        ("alpha", 1e39, "must be finite"),
        ("alpha", -0.5, "is outside its range 0..inf"),
    ] {
        let e = elu.set_param(name, value).unwrap_err().to_string();
        assert!(e.contains(error), "{name} = {value}: {e}");
        assert_eq!(
            elu.params(),
            vec![0.5],
            "{name} = {value} changed the parameter"
        );
    }
    assert_eq!(elu.param("beta"), None);

    let mut swish = Swish::default();
    assert_eq!((swish.name(), swish.params()), ("swish", vec![1.0]));
    swish.set_param("beta", 2.0).unwrap();
    assert_eq!(swish.beta, 2.0);
    assert_eq!(Prelu::default().param("alpha"), Some(0.25));
}

/// A user's activation registered under a name: `by_name` builds it with parameters by name,
/// lists it among the accepted names, and refuses a name that is taken.
#[test]
fn registered_activations_are_built_by_name() {
    use actigen::builtin::{names, register};
    register::<ShiftedSoftsign>("shifted_softsign").unwrap();
    let act = by_name("shifted_softsign", &[("c", -1.0)]).unwrap();
    let mut y = [0.0f32; 2];
    act.forward(&[1.0f32, -3.0], &mut y);
    assert_eq!(y, [0.5 - 1.0, -0.75 - 1.0]);
    assert_eq!(act.params(), vec![-1.0]);
    assert!(names().contains(&"shifted_softsign"));
    for taken in ["shifted_softsign", "swish", "silu"] {
        let e = register::<ShiftedSoftsign>(taken).unwrap_err();
        assert_eq!(e, Error::NameTaken { name: taken });
    }
    let e = by_name("shifted", &[]).err().unwrap().to_string();
    assert!(
        e.ends_with("silu, snake, snake_beta, xielu, shifted_softsign"),
        "{e}"
    );
    assert!(by_name("shifted_softsign", &[("beta", 1.0)]).is_err());
}
