//! The `ndarray` adapter (`actigen::ndarray::NdActivation`): every layout gives, element by
//! element, what the slice API gives on the same values (itself tested against f64 references
//! elsewhere), results keep a contiguous input's memory order, non-contiguous inputs are read
//! and written where they lie, shape mismatches are errors that write nothing; plus an f64
//! check of the values themselves.

use actigen::ndarray::NdActivation;
use actigen::{Activation, Error, Prelu, Sigmoid, Swish, by_name};
use half::{bf16, f16};
use ndarray::{Array, Array1, Array2, Array3, ArrayD, Axis, IxDyn, ShapeBuilder, s};

/// Inputs spanning the interesting range: negatives, zero, the sigmoid tail, large values.
fn value(i: usize) -> f64 {
    let t = (i as f64 * 0.618_034).fract();
    match i % 7 {
        0 => 0.0,
        1 => -100.0 * t,
        2 => 30.0 * t,
        _ => 16.0 * t - 8.0,
    }
}

/// `f` applied through the slice API to `x`'s elements in logical (standard) order.
fn slice_forward<T: actigen::Storage, A: Activation<T> + ?Sized>(act: &A, x: &[T]) -> Vec<T> {
    let mut y = x.to_vec();
    act.forward(x, &mut y);
    y
}

fn bits<T: Copy + Into<f64>>(v: impl IntoIterator<Item = T>) -> Vec<u64> {
    v.into_iter().map(|t| t.into().to_bits()).collect()
}

/// Forward on `x` (any layout) against the slice API on its elements in logical order; the
/// result has `x`'s shape, and `x`'s strides when `x` is contiguous.
fn check_forward<A: Activation<f32> + ?Sized>(act: &A, x: &ndarray::ArrayViewD<f32>, what: &str) {
    let logical: Vec<f32> = x.iter().copied().collect();
    let want = slice_forward(act, &logical);
    let y = act.forward_array(x);
    assert_eq!(y.shape(), x.shape(), "{what}: shape");
    assert_eq!(
        bits(y.iter().copied()),
        bits(want.iter().copied()),
        "{what}: values"
    );
    if x.as_slice_memory_order().is_some() {
        assert_eq!(y.strides(), x.strides(), "{what}: memory order kept");
    } else {
        assert!(y.is_standard_layout(), "{what}: standard order");
    }
    // In place, on an owned copy of the same layout (or the view's own parent below).
    let mut z = x.to_owned();
    act.forward_array_in_place(&mut z);
    assert_eq!(
        bits(z.iter().copied()),
        bits(want.iter().copied()),
        "{what}: in place"
    );
}

fn base(shape: &[usize]) -> ArrayD<f32> {
    let n = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| value(i) as f32).collect()).unwrap()
}

#[test]
fn forward_matches_the_slice_api_on_every_layout() {
    let act = Swish::default();
    let a = base(&[3, 5, 7]);
    check_forward(&act, &a.view(), "standard");
    let f = Array::from_shape_vec((3, 5, 7).f(), a.iter().copied().collect())
        .unwrap()
        .into_dyn();
    assert!(f.t().is_standard_layout());
    check_forward(&act, &f.view(), "fortran");
    let p = a.view().permuted_axes(vec![1, 2, 0]);
    check_forward(&act, &p, "permuted");
    let r = a.slice(s![..;-1, .., ..]).into_dyn();
    assert!(r.as_slice_memory_order().is_some());
    check_forward(&act, &r, "reversed axis");
    let strided = a.slice(s![.., 1..;2, ..]).into_dyn();
    assert!(strided.as_slice_memory_order().is_none());
    check_forward(&act, &strided, "strided");
    let b = Array1::from_iter((0..7).map(|i| value(i) as f32));
    let bc = b.broadcast((4, 7)).unwrap().into_dyn();
    check_forward(&act, &bc, "broadcast");
    check_forward(&act, &base(&[0, 4]).view(), "empty");
    check_forward(&act, &base(&[]).view(), "zero-dimensional");
    // Long enough for the slice API's threads, Fortran order.
    let big = Array::from_shape_vec(
        (1024, 600).f(),
        (0..614_400).map(|i| value(i) as f32).collect(),
    )
    .unwrap()
    .into_dyn();
    check_forward(&act, &big.view(), "large, fortran");
}

#[test]
fn in_place_on_a_strided_view_writes_only_its_elements() {
    let act = Sigmoid;
    let mut a = base(&[4, 6]).into_dimensionality::<ndarray::Ix2>().unwrap();
    let before = a.clone();
    act.forward_array_in_place(&mut a.slice_mut(s![.., ..;3]));
    for ((i, j), &v) in a.indexed_iter() {
        let want = if j % 3 == 0 {
            act.value(before[[i, j]])
        } else {
            before[[i, j]]
        };
        assert_eq!(v.to_bits(), want.to_bits(), "[{i}, {j}]");
    }
}

#[test]
fn forward_is_close_to_f64() {
    let act = Swish::default();
    let x = Array3::from_shape_fn((4, 8, 32), |(i, j, k)| value(i * 256 + j * 32 + k) as f32);
    let y = act.forward_array(&x.t());
    for (&xv, &yv) in x.t().iter().zip(y.iter()) {
        let e = f64::from(xv) / (1.0 + (-f64::from(xv)).exp());
        let err = (f64::from(yv) - e).abs();
        assert!(
            err <= 4.0 * f64::from(f32::EPSILON) * e.abs() + 1e-44,
            "swish({xv}) = {yv}, f64 {e}"
        );
    }
}

/// Backward (out of place, in place, with parameter gradients) on `x` and `dy` of the given
/// layouts, against the slice API on the logical-order elements.
fn check_backward(x: &ndarray::ArrayViewD<f32>, dy: &ndarray::ArrayViewD<f32>, what: &str) {
    let act = Prelu::default();
    let xl: Vec<f32> = x.iter().copied().collect();
    let dyl: Vec<f32> = dy.iter().copied().collect();
    let mut want = vec![0.0f32; xl.len()];
    act.backward(&xl, &dyl, &mut want);
    let dx = act.backward_array(x, dy);
    assert_eq!(dx.shape(), x.shape(), "{what}");
    assert_eq!(
        bits(dx.iter().copied()),
        bits(want.iter().copied()),
        "{what}: dx"
    );

    let mut dy_dx = dy.to_owned();
    act.backward_array_in_place(x, &mut dy_dx);
    assert_eq!(
        bits(dy_dx.iter().copied()),
        bits(want.iter().copied()),
        "{what}: in place"
    );

    let (dx2, g) = act.try_backward_with_param_grads_array(x, dy).unwrap();
    assert_eq!(
        bits(dx2.iter().copied()),
        bits(want.iter().copied()),
        "{what}: fused dx"
    );
    let g2 = act.try_param_grads_array(x, dy).unwrap();
    assert_eq!(g, g2, "{what}: fused and separate parameter gradients");
    // Independent: Σ dy·∂f/∂alpha = Σ_{x ≤ 0} dy·x in f64 (exact products, tiny sums).
    let exact: f64 = xl
        .iter()
        .zip(&dyl)
        .filter(|(x, _)| **x <= 0.0)
        .map(|(&x, &d)| f64::from(x) * f64::from(d))
        .sum();
    assert!(
        (g[0] - exact).abs() <= 1e-12 * exact.abs().max(1.0),
        "{what}: {} vs {exact}",
        g[0]
    );
}

#[test]
fn backward_matches_the_slice_api_on_every_layout() {
    let x = base(&[6, 10]);
    let dy = x.mapv(|v| 0.5 - v / 64.0);
    check_backward(&x.view(), &dy.view(), "both standard");
    let xf = Array::from_shape_vec((6, 10).f(), x.iter().copied().collect())
        .unwrap()
        .into_dyn();
    let dyf = Array::from_shape_vec((6, 10).f(), dy.iter().copied().collect())
        .unwrap()
        .into_dyn();
    check_backward(&xf.view(), &dyf.view(), "both fortran");
    check_backward(&xf.view(), &dy.view(), "fortran x, standard dy");
    check_backward(
        &x.slice(s![.., ..;2]).into_dyn(),
        &dy.slice(s![.., 1..;2]).into_dyn(),
        "strided",
    );
    let row = Array1::from_iter((0..10).map(|i| i as f32 - 4.5));
    check_backward(
        &x.view(),
        &row.broadcast((6, 10)).unwrap().into_dyn(),
        "broadcast dy",
    );
}

#[test]
fn shape_mismatches_are_errors_and_write_nothing() {
    let act = Prelu::default();
    let x = Array2::<f32>::from_elem((3, 4), -1.0);
    let dy = Array2::<f32>::from_elem((4, 3), 2.0);
    let err = act.try_backward_array(&x, &dy).unwrap_err();
    assert_eq!(
        err,
        Error::Shape {
            expected_name: "x",
            expected: vec![3, 4],
            found_name: "dy",
            found: vec![4, 3],
        }
    );
    assert!(err.to_string().contains("shape mismatch"), "{err}");
    let mut dy_dx = dy.clone();
    assert!(matches!(
        act.try_backward_array_in_place(&x, &mut dy_dx),
        Err(Error::Shape { .. })
    ));
    assert_eq!(dy_dx, dy, "nothing written");
    assert!(act.try_param_grads_array(&x, &dy).is_err());
    assert!(act.try_backward_with_param_grads_array(&x, &dy).is_err());
    let panicked = std::panic::catch_unwind(|| act.backward_array(&x, &dy));
    assert!(panicked.is_err());
}

#[test]
fn half_types_and_dynamic_activations() {
    let act = by_name("swish", &[("beta", 1.5)]).unwrap();
    assert_eq!(act.name(), "swish");
    let x32 = Array2::from_shape_fn((9, 33), |(i, j)| value(i * 33 + j) as f32 / 4.0);
    let xh = x32.mapv(f16::from_f32);
    let yh = act.forward_array(&xh.t());
    let wanth = slice_forward(&*act, &xh.t().iter().copied().collect::<Vec<_>>());
    assert_eq!(
        yh.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        wanth.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    let xb = x32.mapv(bf16::from_f32);
    let mut yb = xb.clone();
    act.forward_array_in_place(&mut yb.slice_mut(s![.., ..;2]));
    for ((i, j), v) in yb.indexed_iter() {
        let want = if j % 2 == 0 {
            Activation::<bf16>::value(&*act, xb[[i, j]])
        } else {
            xb[[i, j]]
        };
        assert_eq!(v.to_bits(), want.to_bits(), "[{i}, {j}]");
    }
    let x64 = x32.mapv(f64::from);
    let dy = Array2::<f64>::ones((9, 33));
    let (dx, g) = act.try_backward_with_param_grads_array(&x64, &dy).unwrap();
    let mut want = vec![0.0; x64.len()];
    let mut gw = vec![0.0; 1];
    act.try_backward_with_param_grads(
        x64.as_slice().unwrap(),
        dy.as_slice().unwrap(),
        &mut want,
        &mut gw,
    )
    .unwrap();
    assert_eq!(dx.as_slice().unwrap(), &want[..]);
    assert_eq!(g, gw);
    assert_eq!(dx.len_of(Axis(1)), 33);
}
