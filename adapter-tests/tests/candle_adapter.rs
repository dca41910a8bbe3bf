//! The candle adapter (`actigen::candle`): forward equals the slice API on every dtype and
//! layout, candle's autograd gets `dy·f′(x)` and the parameter gradients (checked against the
//! slice API and against f64 central differences), per-channel parameters (against candle's own
//! ops, the per-channel slice API and central differences), and bad input is a candle error.

use actigen::candle::{ChannelLayer, Layer, apply, apply_channels, apply_with_params};
use actigen::channels::{ChannelActivation, Layout};
use actigen::{Activation, Elu, Leaky, Prelu, Swish, Tanh, Xielu};
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

/// `x` of shape `dims` (a permuted copy when `permuted`, so the tensor is strided).
fn tensor(dims: &[usize], permuted: bool) -> candle_core::Result<Tensor> {
    let n = dims.iter().product();
    if !permuted {
        return Tensor::from_vec(inputs(n), dims, &Device::Cpu);
    }
    let rev: Vec<usize> = dims.iter().rev().copied().collect();
    let t = Tensor::from_vec(inputs(n), rev, &Device::Cpu)?;
    let order: Vec<usize> = (0..dims.len()).rev().collect();
    t.permute(order)
}

#[test]
fn per_channel_prelu_is_candles_own_ops_with_their_gradients() -> candle_core::Result<()> {
    // (shape, channel axis, strided): channels-first with H·W = 5, channels-last, axis 0, and a
    // permuted (strided) tensor.
    let cases: [(&[usize], usize, bool); 4] = [
        (&[3, 4, 5], 1, false),
        (&[6, 8], 1, false),
        (&[4, 3, 2], 0, false),
        (&[3, 4, 5], 1, true),
    ];
    for (dims, dim, permuted) in cases {
        let x = Var::from_tensor(&tensor(dims, permuted)?)?;
        let c = dims[dim];
        let alphas: Vec<f32> = (0..c).map(|k| 0.05 + 0.1 * k as f32).collect();
        let alpha = Var::from_vec(alphas.clone(), (1, c), &Device::Cpu)?;
        let n: usize = dims.iter().product();
        let w = Tensor::from_vec(
            (0..n).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(),
            dims,
            &Device::Cpu,
        )?;
        let y = apply_channels(
            &Prelu::default(),
            x.as_tensor(),
            dim,
            &["alpha"],
            alpha.as_tensor(),
        )?;
        let grads = y.mul(&w)?.sum_all()?.backward()?;

        // The reference: relu(x) + alpha·min(x, 0) with alpha broadcast along the axis.
        let mut shape = vec![1; dims.len()];
        shape[dim] = c;
        let a = alpha.as_tensor().reshape(shape)?.broadcast_as(dims)?;
        let y_ref = x
            .as_tensor()
            .relu()?
            .add(&x.as_tensor().minimum(0f32)?.mul(&a)?)?;
        let grads_ref = y_ref.mul(&w)?.sum_all()?.backward()?;

        let flat = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
        let what = format!(
            "{dims:?} along {dim}{}",
            if permuted { " (strided)" } else { "" }
        );
        assert_eq!(flat(&y)?, flat(&y_ref)?, "y, {what}");
        let dx = flat(grads.get(&x).unwrap())?;
        let dx_ref = flat(grads_ref.get(&x).unwrap())?;
        for (i, (g, r)) in dx.iter().zip(&dx_ref).enumerate() {
            assert!(
                (g - r).abs() <= 1e-6 * r.abs().max(1.0),
                "dx[{i}], {what}: {g} vs {r}"
            );
        }
        // dalpha[k]: Σ w·x over channel k's elements with x ≤ 0, in f64.
        let (xs, ws) = (flat(x.as_tensor())?, flat(&w)?);
        let (xs, ws) = (xs.as_slice(), ws.as_slice());
        let index = |i: usize| {
            let inner: usize = dims[dim + 1..].iter().product();
            (i / inner) % c
        };
        let mut exact = vec![0.0f64; c];
        let mut scale = vec![0.0f64; c];
        for i in 0..n {
            if xs[i] <= 0.0 {
                exact[index(i)] += f64::from(ws[i]) * f64::from(xs[i]);
                scale[index(i)] += (f64::from(ws[i]) * f64::from(xs[i])).abs();
            }
        }
        let da = flat(grads.get(&alpha).unwrap())?;
        let da_ref = flat(grads_ref.get(&alpha).unwrap())?;
        for k in 0..c {
            let (g, r, e) = (f64::from(da[k]), f64::from(da_ref[k]), exact[k]);
            assert!(
                (g - e).abs() <= 1e-7 * (1.0 + scale[k]),
                "dalpha[{k}], {what}: {g} vs {e}"
            );
            assert!(
                (r - e).abs() <= 1e-5 * (1.0 + scale[k]),
                "candle's dalpha[{k}], {what}: {r} vs {e}"
            );
        }
    }
    Ok(())
}

#[test]
fn per_channel_values_are_the_slice_apis_on_every_dtype() -> candle_core::Result<()> {
    // xIELU with alpha_p and alpha_n per channel, [5, 6] channels-last.
    let (rows, c) = (5, 6);
    let x = inputs(rows * c);
    let dy: Vec<f32> = (0..rows * c).map(|i| (i as f32 * 0.71).cos()).collect();
    let ap: Vec<f32> = (0..c).map(|k| -0.5 + 0.2 * k as f32).collect();
    let an: Vec<f32> = (0..c).map(|k| -1.2 + 0.15 * k as f32).collect();
    let act = Xielu::default();
    let per: [(&str, &[f32]); 2] = [("alpha_p", &ap), ("alpha_n", &an)];
    let layout = Layout::ChannelsLast { channels: c };
    let mut y = vec![0.0f32; x.len()];
    act.forward_channels(layout, &per, &x, &mut y);
    let mut dx = vec![0.0f32; x.len()];
    let g = act
        .try_backward_channels_with_param_grads(layout, &per, &x, &dy, &mut dx)
        .unwrap();
    let mut values = ap.clone();
    values.extend_from_slice(&an);

    for dtype in [DType::F32, DType::F64, DType::F16, DType::BF16] {
        let xt = Var::from_tensor(
            &Tensor::from_vec(x.clone(), (rows, c), &Device::Cpu)?.to_dtype(dtype)?,
        )?;
        let vt = Var::from_tensor(
            &Tensor::from_vec(values.clone(), (2, c), &Device::Cpu)?.to_dtype(dtype)?,
        )?;
        let dyt = Tensor::from_vec(dy.clone(), (rows, c), &Device::Cpu)?.to_dtype(dtype)?;
        let yt = apply_channels(
            &act,
            xt.as_tensor(),
            1,
            &["alpha_p", "alpha_n"],
            vt.as_tensor(),
        )?;
        assert_eq!(yt.dtype(), dtype);
        let grads = yt.mul(&dyt)?.sum_all()?.backward()?;
        let as64 = |t: &Tensor| t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>();
        let (got_y, got_dx, got_dv) = (
            as64(&yt)?,
            as64(grads.get(&xt).unwrap())?,
            as64(grads.get(&vt).unwrap())?,
        );
        match dtype {
            DType::F32 => {
                // Bit for bit the slice API's, the values' gradient in rows [alpha_p; alpha_n].
                let f = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
                assert_eq!(got_y, f(&y));
                assert_eq!(got_dx, f(&dx));
                let mut want: Vec<f64> = g.get("alpha_p").unwrap().to_vec();
                want.extend_from_slice(g.get("alpha_n").unwrap());
                let want: Vec<f64> = want.iter().map(|&v| f64::from(v as f32)).collect();
                assert_eq!(got_dv, want);
            }
            DType::F64 => {
                // The f64 slice API, and the values' gradient against central differences of
                // the adapter's own forward.
                let x64: Vec<f64> = x.iter().map(|&v| v.into()).collect();
                let mut y64 = x64.clone();
                act.forward_channels(layout, &per, &x64, &mut y64);
                assert_eq!(got_y, y64);
                let loss = |v: &[f64]| -> candle_core::Result<f64> {
                    let vt = Tensor::from_vec(v.to_vec(), (2, c), &Device::Cpu)?;
                    let y = apply_channels(
                        &act,
                        &xt.as_tensor().detach(),
                        1,
                        &["alpha_p", "alpha_n"],
                        &vt,
                    )?;
                    y.mul(&dyt)?.sum_all()?.to_scalar::<f64>()
                };
                let v64: Vec<f64> = values.iter().map(|&v| v.into()).collect();
                for j in 0..2 * c {
                    // Steps the f32 values can hold (the kernels read the values in f32).
                    let h = 1.0 / 1024.0;
                    let (mut up, mut down) = (v64.clone(), v64.clone());
                    up[j] += h;
                    down[j] -= h;
                    let fd = (loss(&up)? - loss(&down)?) / (2.0 * h);
                    assert!(
                        (got_dv[j] - fd).abs() <= 1e-4 * (1.0 + fd.abs()),
                        "value {j}: {} vs {fd}",
                        got_dv[j]
                    );
                }
            }
            _ => {
                // Half types: computed in f32 from the half inputs, rounded once.
                let xs = as64(xt.as_tensor())?;
                let x32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
                let d32: Vec<f32> = as64(&dyt)?.iter().map(|&v| v as f32).collect();
                let v32: Vec<f32> = as64(vt.as_tensor())?.iter().map(|&v| v as f32).collect();
                let per: [(&str, &[f32]); 2] = [("alpha_p", &v32[..c]), ("alpha_n", &v32[c..])];
                let mut y = vec![0.0f32; x.len()];
                act.forward_channels(layout, &per, &x32, &mut y);
                let mut dx = vec![0.0f32; x.len()];
                act.backward_channels(layout, &per, &x32, &d32, &mut dx);
                let round = |v: &[f32]| -> Vec<f64> {
                    if dtype == DType::F16 {
                        v.iter().map(|&v| half::f16::from_f32(v).to_f64()).collect()
                    } else {
                        v.iter()
                            .map(|&v| half::bf16::from_f32(v).to_f64())
                            .collect()
                    }
                };
                assert_eq!(got_y, round(&y), "{dtype:?}");
                assert_eq!(got_dx, round(&dx), "{dtype:?}");
            }
        }
    }
    Ok(())
}

#[test]
fn per_channel_bad_input_is_a_candle_error() -> candle_core::Result<()> {
    let x = Tensor::from_vec(inputs(12), (3, 4), &Device::Cpu)?;
    let alpha = Tensor::from_vec(vec![0.1f32; 4], (1, 4), &Device::Cpu)?;
    let err = |r: candle_core::Result<Tensor>| r.unwrap_err().to_string();
    // Not a parameter; a parameter named twice.
    let e = err(apply_channels(&Prelu::default(), &x, 1, &["beta"], &alpha));
    assert!(e.contains("beta") && e.contains("alpha"), "{e}");
    let two = Tensor::from_vec(vec![0.1f32; 8], (2, 4), &Device::Cpu)?;
    let e = err(apply_channels(
        &Prelu::default(),
        &x,
        1,
        &["alpha", "alpha"],
        &two,
    ));
    assert!(e.contains("given twice"), "{e}");
    // Values of the wrong shape for the axis, and an axis the tensor lacks.
    let e = err(apply_channels(&Prelu::default(), &x, 0, &["alpha"], &alpha));
    assert!(
        e.contains("takes values of shape [1, 3], got [1, 4]"),
        "{e}"
    );
    let e = err(apply_channels(&Prelu::default(), &x, 2, &["alpha"], &alpha));
    assert!(e.contains("channel axis 2 is not an axis"), "{e}");
    // A value outside the parameter's range (leaky's alpha ≥ 0).
    let bad = Tensor::from_vec(vec![0.1f32, -0.5, 0.1, 0.1], (1, 4), &Device::Cpu)?;
    let e = err(apply_channels(&Leaky::default(), &x, 1, &["alpha"], &bad));
    assert!(e.contains("outside its range"), "{e}");
    // No elements: an empty result, and a zero gradient.
    let empty = Var::from_tensor(&Tensor::zeros((0, 4), DType::F32, &Device::Cpu)?)?;
    let a = Var::from_tensor(&alpha)?;
    let y = apply_channels(
        &Prelu::default(),
        empty.as_tensor(),
        1,
        &["alpha"],
        a.as_tensor(),
    )?;
    assert_eq!(y.dims(), &[0, 4]);
    let g = y.sum_all()?.backward()?;
    assert_eq!(g.get(&a).unwrap().to_vec2::<f32>()?, vec![vec![0.0; 4]]);
    // A layer's learnable values start at the activation's own.
    let (layer, values) =
        ChannelLayer::learnable(Xielu::default(), &["alpha_n"], 1, 4, &Device::Cpu)?;
    let want = actigen::ActivationInfo::param(&Xielu::default(), "alpha_n").unwrap();
    assert_eq!(values.as_tensor().to_vec2::<f32>()?, vec![vec![want; 4]]);
    assert_eq!(layer.forward(&x)?.dims(), &[3, 4]);
    Ok(())
}
