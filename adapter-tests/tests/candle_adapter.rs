//! The candle adapter (`actigen::candle`): forward equals the slice API on every dtype and
//! layout, candle's autograd gets `dy·f′(x)` and the parameter gradients (checked against the
//! slice API and against f64 central differences), and bad input is a candle error.

use actigen::candle::{Layer, apply, apply_with_params};
use actigen::{Activation, Elu, Leaky, Prelu, Swish, Tanh};
use candle_core::{DType, Device, Module, Tensor, Var};

fn inputs(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 * 0.618_034).fract() - 0.5) * 12.0)
        .collect()
}

#[test]
fn forward_matches_the_slice_api_on_every_dtype_and_layout() -> candle_core::Result<()> {
    let act = Swish::default();
    let x = inputs(6 * 7);
    let mut want = x.clone();
    act.forward(&x, &mut want);
    let t = Tensor::from_vec(x.clone(), (6, 7), &Device::Cpu)?;
    let y: Vec<f32> = apply(&act, &t)?.flatten_all()?.to_vec1()?;
    assert_eq!(y, want);
    // A transposed (strided) tensor: gathered, result in the transpose's row-major order.
    let tt = t.t()?;
    assert!(!tt.is_contiguous());
    let y: Vec<f32> = apply(&act, &tt)?.flatten_all()?.to_vec1()?;
    let want_t: Vec<f32> = apply(&act, &tt.contiguous()?)?.flatten_all()?.to_vec1()?;
    assert_eq!(y, want_t);
    // A narrowed tensor (an offset into the storage), still contiguous.
    let n = t.narrow(0, 2, 3)?;
    let y: Vec<f32> = apply(&act, &n)?.flatten_all()?.to_vec1()?;
    assert_eq!(y, want[14..35]);
    // Every float dtype: the slice API on the same values.
    for dtype in [DType::F64, DType::F16, DType::BF16] {
        let td = t.to_dtype(dtype)?;
        let got = apply(&act, &td)?
            .to_dtype(DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?;
        let want: Vec<f64> = match dtype {
            DType::F64 => {
                let xs: Vec<f64> = td.flatten_all()?.to_vec1()?;
                let mut y = xs.clone();
                act.forward(&xs, &mut y);
                y
            }
            DType::F16 => {
                let xs: Vec<half::f16> = td.flatten_all()?.to_vec1()?;
                let mut y = xs.clone();
                act.forward(&xs, &mut y);
                y.iter().map(|v| v.to_f64()).collect()
            }
            _ => {
                let xs: Vec<half::bf16> = td.flatten_all()?.to_vec1()?;
                let mut y = xs.clone();
                act.forward(&xs, &mut y);
                y.iter().map(|v| v.to_f64()).collect()
            }
        };
        assert_eq!(got, want, "{dtype:?}");
    }
    Ok(())
}

/// Σ wᵢ·f(xᵢ) in f64 with f's scalar f64 formula, for central differences.
fn loss64(f: impl Fn(f64) -> f64, x: &[f64], w: &[f64]) -> f64 {
    x.iter().zip(w).map(|(&x, &w)| w * f(x)).sum()
}

#[test]
fn autograd_gets_the_input_gradient() -> candle_core::Result<()> {
    let act = Elu::default();
    let x = inputs(40);
    let w: Vec<f32> = (0..40).map(|i| 1.0 - i as f32 / 20.0).collect();
    let xv = Var::from_vec(x.clone(), 40, &Device::Cpu)?;
    let wt = Tensor::from_vec(w.clone(), 40, &Device::Cpu)?;
    let loss = apply(&act, xv.as_tensor())?.mul(&wt)?.sum_all()?;
    let grads = loss.backward()?;
    let dx: Vec<f32> = grads.get(&xv).expect("x has a gradient").to_vec1()?;
    let mut want = vec![0.0f32; 40];
    act.backward(&x, &w, &mut want);
    assert_eq!(dx, want, "the slice API's backward, bit for bit");
    // Independent: central differences of the f64 formula (ELU, alpha = 1).
    let elu = |v: f64| if v > 0.0 { v } else { v.exp_m1() };
    for i in 0..40 {
        let xi = f64::from(x[i]);
        if xi.abs() < 1e-3 {
            continue; // the kink
        }
        let h = 1e-6;
        let fd = f64::from(w[i]) * (elu(xi + h) - elu(xi - h)) / (2.0 * h);
        assert!(
            (f64::from(dx[i]) - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
            "x = {xi}: {} vs {fd}",
            dx[i]
        );
    }
    // On a transposed view, too.
    let m = Var::from_vec(x.clone(), (5, 8), &Device::Cpu)?;
    let loss = apply(&Tanh, &m.as_tensor().t()?)?.sqr()?.sum_all()?;
    let g: Vec<f32> = loss.backward()?.get(&m).unwrap().flatten_all()?.to_vec1()?;
    for (i, &gi) in g.iter().enumerate() {
        let t = f64::from(x[i]).tanh();
        let want = 2.0 * t * (1.0 - t * t);
        assert!((f64::from(gi) - want).abs() <= 1e-6, "{i}: {gi} vs {want}");
    }
    Ok(())
}

#[test]
fn learnable_parameters_get_their_gradient() -> candle_core::Result<()> {
    let x = inputs(64);
    let w: Vec<f32> = (0..64).map(|i| (i as f32 * 0.37).sin()).collect();
    let xt = Tensor::from_vec(x.clone(), 64, &Device::Cpu)?;
    let wt = Tensor::from_vec(w.clone(), 64, &Device::Cpu)?;

    // Swish's beta, from 1.5.
    let mut act = Swish::default();
    actigen::ActivationInfo::set_param(&mut act, "beta", 1.5).unwrap();
    let (layer, beta) = Layer::learnable(act, &Device::Cpu)?;
    assert_eq!(beta.as_tensor().to_vec1::<f32>()?, vec![1.5]);
    let loss = layer.forward(&xt)?.mul(&wt)?.sum_all()?;
    let g: Vec<f32> = loss
        .backward()?
        .get(&beta)
        .expect("beta has a gradient")
        .to_vec1()?;
    let want = act.param_grads(&x, &w);
    assert_eq!(
        f64::from(g[0]),
        want[0] as f32 as f64,
        "the slice API's sum"
    );
    let swish = |b: f64| move |v: f64| v / (1.0 + (-b * v).exp());
    let x64: Vec<f64> = x.iter().map(|&v| v.into()).collect();
    let w64: Vec<f64> = w.iter().map(|&v| v.into()).collect();
    let h = 1e-6;
    let fd = (loss64(swish(1.5 + h), &x64, &w64) - loss64(swish(1.5 - h), &x64, &w64)) / (2.0 * h);
    assert!(
        (f64::from(g[0]) - fd).abs() <= 1e-4 * (1.0 + fd.abs()),
        "{} vs {fd}",
        g[0]
    );

    // PReLU's alpha in an f64 parameter tensor: the gradient comes back in f64.
    let alpha = Var::from_vec(vec![0.2f64], 1, &Device::Cpu)?;
    let x64t = xt.to_dtype(DType::F64)?;
    let loss = apply_with_params(&Prelu::default(), &x64t, alpha.as_tensor())?
        .mul(&wt.to_dtype(DType::F64)?)?
        .sum_all()?;
    let grads = loss.backward()?;
    let ga: Vec<f64> = grads.get(&alpha).unwrap().to_vec1()?;
    let exact: f64 = x64
        .iter()
        .zip(&w64)
        .filter(|(x, _)| **x <= 0.0)
        .map(|(x, w)| x * w)
        .sum();
    assert!(
        (ga[0] - exact).abs() <= 1e-12 * (1.0 + exact.abs()),
        "{} vs {exact}",
        ga[0]
    );
    Ok(())
}

#[test]
fn bad_input_is_a_candle_error() -> candle_core::Result<()> {
    let x = Tensor::from_vec(inputs(8), 8, &Device::Cpu)?;
    // A parameter tensor of the wrong length.
    let p = Tensor::from_vec(vec![0.1f32, 0.2], 2, &Device::Cpu)?;
    let e = apply_with_params(&Leaky::default(), &x, &p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("1-D parameter tensor of 1 value(s) (alpha)"),
        "{e}"
    );
    // A parameter outside its declared range (leaky's alpha ≥ 0).
    let p = Tensor::from_vec(vec![-0.5f32], 1, &Device::Cpu)?;
    let e = apply_with_params(&Leaky::default(), &x, &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside its range"), "{e}");
    // An integer tensor.
    let xi = Tensor::from_vec(vec![1u32, 2, 3], 3, &Device::Cpu)?;
    let e = apply(&Swish::default(), &xi).unwrap_err();
    assert!(
        matches!(
            e,
            candle_core::Error::UnsupportedDTypeForOp(DType::U32, "swish")
        ),
        "{e}"
    );
    Ok(())
}
